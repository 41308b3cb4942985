/* dicom_series.c: DICOM files grouped into series, each series into slice positions and cine
 * phases; the choice of one 3D stack with its geometry taken from the slice positions (not from
 * SliceThickness) and every check a stack needs; the de-identified study record. */
#define _POSIX_C_SOURCE 200809L
#include "image_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sha256.h"

#define SAME_POSITION_MM 0.01
#define SAME_COSINE 1e-4

static void cross(const double a[3], const double b[3], double c[3])
{
	c[0] = a[1] * b[2] - a[2] * b[1];
	c[1] = a[2] * b[0] - a[0] * b[2];
	c[2] = a[0] * b[1] - a[1] * b[0];
}

static double dot(const double a[3], const double b[3])
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static int same_iop(const ctw_dicom_file *a, const ctw_dicom_file *b)
{
	for (int c = 0; c < 6; c++)
		if (fabs(a->iop[c] - b->iop[c]) > SAME_COSINE)
			return 0;
	return a->has_iop == b->has_iop;
}

static double time_key(const ctw_dicom_file *f)
{
	if (!isnan(f->trigger_time))
		return f->trigger_time;
	if (!isnan(f->temporal_pos))
		return f->temporal_pos;
	return (double)f->instance;
}

typedef struct sort_item {
	ctw_dicom_file *f;
	double along, t;
} sort_item;

static int by_along_then_time(const void *a, const void *b)
{
	const sort_item *x = a, *y = b;
	if (fabs(x->along - y->along) > SAME_POSITION_MM)
		return x->along < y->along ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->f->instance < y->f->instance ? -1 : x->f->instance > y->f->instance;
}

static int by_size(const void *a, const void *b)
{
	const ctw_dicom_series *x = a, *y = b;
	if (x->n_files != y->n_files)
		return y->n_files - x->n_files;
	return strcmp(x->uid, y->uid);
}

static int same_position(const ctw_dicom_file *a, const ctw_dicom_file *b)
{
	double d[3] = { a->ipp[0] - b->ipp[0], a->ipp[1] - b->ipp[1], a->ipp[2] - b->ipp[2] };
	if (!a->has_ipp || !b->has_ipp)
		return a->instance == b->instance;
	return sqrt(dot(d, d)) <= SAME_POSITION_MM;
}

/* Orders one series along its normal, then by time, and counts orientations, positions and
 * phases. */
static int organise(ctw_ctx *ctx, ctw_dicom_series *g)
{
	sort_item *it = ctw_calloc(ctx, (size_t)g->n_files, sizeof(*it));
	double normal[3] = { 0, 0, 0 };
	int i, run = 1;

	if (!it)
		return CTW_ERR_NOMEM;
	if (g->files[0]->has_iop)
		cross(g->files[0]->iop, g->files[0]->iop + 3, normal);
	for (i = 0; i < g->n_files; i++) {
		it[i].f = g->files[i];
		it[i].along = it[i].f->has_ipp && g->files[0]->has_iop ? dot(normal, it[i].f->ipp)
								       : (double)it[i].f->instance;
		it[i].t = time_key(it[i].f);
	}
	qsort(it, (size_t)g->n_files, sizeof(*it), by_along_then_time);
	for (i = 0; i < g->n_files; i++) {
		g->files[i] = it[i].f;
		if (i > 0 && !g->dup[0] && same_position(it[i].f, it[i - 1].f) && it[i].t == it[i - 1].t &&
		    it[i].f->instance == it[i - 1].f->instance) {
			g->dup[0] = it[i - 1].f;
			g->dup[1] = it[i].f;
		}
	}
	ctw_free(ctx, it);

	g->n_orientations = 1;
	for (i = 1; i < g->n_files; i++) {
		int j, seen = 0;
		for (j = 0; j < i && !seen; j++)
			seen = same_iop(g->files[i], g->files[j]);
		g->n_orientations += !seen;
	}
	g->n_positions = 1;
	g->n_phases = 1;
	g->phases_regular = 1;
	for (i = 1; i <= g->n_files; i++) {
		if (i < g->n_files && same_position(g->files[i], g->files[i - 1])) {
			run++;
			continue;
		}
		if (run > g->n_phases) {
			g->phases_regular = i == run; /* only the first run so far */
			g->n_phases = run;
		} else if (run != g->n_phases) {
			g->phases_regular = 0;
		}
		if (i < g->n_files)
			g->n_positions++;
		run = 1;
	}
	return CTW_OK;
}

/* The substitute key of a file without SeriesInstanceUID: attributes every image of one series
 * shares (not the position). */
static void derived_key(const ctw_dicom_file *f, char *buf, size_t cap)
{
	snprintf(buf, cap, "study=%s|number=%s|description=%s|modality=%s|size=%dx%d|iop=%.4f,%.4f,%.4f,%.4f,%.4f,%.4f",
		 f->study_uid, f->series_number, f->description, f->modality, f->rows, f->cols,
		 f->has_iop ? f->iop[0] + 0.0 : 9.0, f->iop[1] + 0.0, f->iop[2] + 0.0, f->iop[3] + 0.0,
		 f->iop[4] + 0.0, f->iop[5] + 0.0);
}

/* The grouping key of a file: its SeriesInstanceUID, or "~" and a digest of derived_key(). */
static void group_key(const ctw_dicom_file *f, char key[65])
{
	char text[512], hex[65];
	unsigned char dg[32];
	ctw_sha256 h;
	if (f->series_uid[0]) {
		memcpy(key, f->series_uid, 65);
		return;
	}
	derived_key(f, text, sizeof(text));
	ctw_sha256_init(&h);
	ctw_sha256_update(&h, text, strlen(text));
	ctw_sha256_final(&h, dg);
	ctw_hex(dg, sizeof(dg), hex);
	snprintf(key, 65, "~%.63s", hex);
}

static int ctw_dicom_stacks(ctw_ctx *ctx, ctw_dicom_scan *s);

int ctw_dicom_group(ctw_ctx *ctx, ctw_dicom_scan *s)
{
	int i, j, ret;
	char (*keys)[65];
	s->series = ctw_calloc(ctx, (size_t)(s->n_files ? s->n_files : 1), sizeof(*s->series));
	keys = ctw_calloc(ctx, (size_t)(s->n_files ? s->n_files : 1), sizeof(*keys));
	if (!s->series || !keys) {
		ctw_free(ctx, keys);
		return CTW_ERR_NOMEM;
	}
	for (i = 0; i < s->n_files; i++) {
		group_key(&s->files[i], keys[i]);
		for (j = 0; j < s->n_series; j++)
			if (!strcmp(s->series[j].uid, keys[i]))
				break;
		if (j == s->n_series) {
			memcpy(s->series[j].uid, keys[i], sizeof(s->series[j].uid));
			s->series[j].uid_derived = !s->files[i].series_uid[0];
			s->n_series++;
		}
		s->series[j].n_files++;
	}
	for (j = 0; j < s->n_series; j++) {
		ctw_dicom_series *g = &s->series[j];
		int n = 0;
		g->files = ctw_calloc(ctx, (size_t)g->n_files, sizeof(*g->files));
		if (!g->files) {
			ctw_free(ctx, keys);
			return CTW_ERR_NOMEM;
		}
		for (i = 0; i < s->n_files; i++)
			if (!strcmp(g->uid, keys[i]))
				g->files[n++] = &s->files[i];
		/* a damaged file is this series' when its UID says so or could not be read */
		for (i = 0; i < s->n_skipped_corrupt && !g->damaged; i++)
			if (!s->damaged[i].series_uid[0] || !strcmp(s->damaged[i].series_uid, g->uid))
				g->damaged = s->damaged[i].path;
		if ((ret = organise(ctx, g))) {
			ctw_free(ctx, keys);
			return ret;
		}
	}
	ctw_free(ctx, keys);
	qsort(s->series, (size_t)s->n_series, sizeof(*s->series), by_size);
	return ctw_dicom_stacks(ctx, s);
}

static void keyed_hash(ctw_ctx *ctx, const char *text, char hex[65])
{
	unsigned char mac[32];
	size_t n;
	const unsigned char *salt = ctw_ctx_salt(ctx, &n);
	if (!text[0]) {
		hex[0] = '\0';
		return;
	}
	ctw_hmac_sha256(salt, n, text, strlen(text), mac);
	ctw_hex(mac, sizeof(mac), hex);
}

void ctw_dicom_series_hash(ctw_ctx *ctx, const ctw_dicom_series *s, char hex[65])
{
	const ctw_dicom_file *f = s->files[0];
	char text[600];
	if (!s->uid_derived) {
		keyed_hash(ctx, s->uid, hex);
		return;
	}
	derived_key(f, text, sizeof(text) - 100);
	snprintf(text + strlen(text), 100, "|first=%.3f,%.3f,%.3f", f->has_ipp ? f->ipp[0] + 0.0 : 0.0,
		 f->has_ipp ? f->ipp[1] + 0.0 : 0.0, f->has_ipp ? f->ipp[2] + 0.0 : 0.0);
	keyed_hash(ctx, text, hex);
}

void ctw_dicom_series_id(ctw_ctx *ctx, const ctw_dicom_series *s, char id[13])
{
	char hex[65];
	ctw_dicom_series_hash(ctx, s, hex);
	snprintf(id, 13, "%.12s", hex);
}

int ctw_dicom_find_series(ctw_ctx *ctx, const char *path, const ctw_dicom_scan *scan,
			  const char *sel, const ctw_dicom_series **out)
{
	size_t n = sel ? strlen(sel) : 0, i;
	int k, found = -1, digits = n > 0, hex = n >= 6;

	*out = NULL;
	if (scan->n_series == 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "no DICOM image series found (%d other files, %d damaged DICOM files skipped)",
				 scan->n_skipped_other, scan->n_skipped_corrupt);
	if (!sel) {
		if (scan->n_series > 1)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "%d series; choose one with --series (numbers and ids: cardiotwin info '%s')",
					 scan->n_series, path);
		*out = &scan->series[0];
		return CTW_OK;
	}
	for (i = 0; i < n; i++) {
		digits &= isdigit((unsigned char)sel[i]) != 0;
		hex &= isxdigit((unsigned char)sel[i]) != 0;
	}
	if (digits && n < 6) {
		k = atoi(sel);
		if (k >= 1 && k <= scan->n_series)
			found = k - 1;
	}
	for (k = 0; found < 0 && k < scan->n_series; k++) {
		char id[13];
		ctw_dicom_series_id(ctx, &scan->series[k], id);
		if ((hex && n <= 12 && strncasecmp(id, sel, n) == 0) ||
		    (!scan->series[k].uid_derived && strcmp(scan->series[k].uid, sel) == 0))
			found = k;
	}
	if (found < 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "no series '%s' (give a number 1..%d, an id or a UID; cardiotwin info '%s' lists them)",
				 sel, scan->n_series, path);
	*out = &scan->series[found];
	return CTW_OK;
}

/* ---- stacks: series with parallel planes and one grid, stacked along their normal ---- */

#define PARALLEL_COS 0.99984769515639124 /* cos(1 degree) */
#define SAME_SPACING_MM 1e-3

/* A series that can join a stack of several: one orientation, every image placed. */
static int stackable(const ctw_dicom_series *g)
{
	if (g->n_orientations != 1 || !g->files[0]->has_iop || !g->phases_regular)
		return 0;
	for (int i = 0; i < g->n_files; i++)
		if (!g->files[i]->has_ipp)
			return 0;
	return 1;
}

/* 1 when b's planes are parallel to a's and on the same grid (phases apart). */
static int same_grid(const ctw_dicom_series *a, const ctw_dicom_series *b)
{
	const ctw_dicom_file *x = a->files[0], *y = b->files[0];
	return x->rows == y->rows && x->cols == y->cols && x->has_spacing && y->has_spacing &&
	       fabs(x->pixel_spacing[0] - y->pixel_spacing[0]) <= SAME_SPACING_MM &&
	       fabs(x->pixel_spacing[1] - y->pixel_spacing[1]) <= SAME_SPACING_MM &&
	       dot(x->iop, y->iop) >= PARALLEL_COS && dot(x->iop + 3, y->iop + 3) >= PARALLEL_COS &&
	       !strcmp(x->study_uid, y->study_uid);
}

/* Position of every slice of series g along normal nrm, ascending (n_positions values). */
static void positions(const ctw_dicom_series *g, const double nrm[3], double *out)
{
	int i, k = 0;
	for (i = 0; i < g->n_files; i++)
		if (i == 0 || !same_position(g->files[i], g->files[i - 1]))
			out[k++] = dot(nrm, g->files[i]->ipp);
}

static int lowest_member(const ctw_dicom_stackdef *d)
{
	int m = d->members[0];
	for (int i = 1; i < d->n_members; i++)
		m = d->members[i] < m ? d->members[i] : m;
	return m;
}

static int stack_order(const void *a, const void *b)
{
	const ctw_dicom_stackdef *x = a, *y = b;
	if (x->n_positions != y->n_positions)
		return y->n_positions - x->n_positions;
	if (x->n_images != y->n_images)
		return y->n_images - x->n_images;
	return lowest_member(x) - lowest_member(y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int ctw_dicom_stacks(ctw_ctx *ctx, ctw_dicom_scan *s)
{
	int i, j, k, ret;
	int *group = ctw_calloc(ctx, (size_t)(s->n_series ? s->n_series : 1), sizeof(int));
	double *pos = NULL, nrm[3];

	s->left_out = ctw_calloc(ctx, (size_t)(s->n_series ? s->n_series : 1), sizeof(int));
	s->stacks = ctw_calloc(ctx, (size_t)(s->n_series ? s->n_series : 1), sizeof(*s->stacks));
	if (!group || !s->left_out || !s->stacks) {
		ctw_free(ctx, group);
		return CTW_ERR_NOMEM;
	}
	/* group[i]: the stack (0-based, before sorting) series i joins */
	for (i = 0; i < s->n_series; i++) {
		const ctw_dicom_series *g = &s->series[i];
		group[i] = -1;
		for (k = 0; k < s->n_stacks && stackable(g); k++) {
			const ctw_dicom_series *r = &s->series[s->stacks[k].members[0]];
			if (!stackable(r) || !same_grid(r, g))
				continue;
			if (r->n_phases != g->n_phases) {
				s->left_out[i] = k + 1; /* renumbered below */
				continue;
			}
			group[i] = k;
			break;
		}
		if (group[i] >= 0)
			s->left_out[i] = 0;
		if (group[i] < 0) {
			ctw_dicom_stackdef *d = &s->stacks[s->n_stacks];
			d->members = ctw_calloc(ctx, (size_t)s->n_series, sizeof(int));
			if (!d->members) {
				ctw_free(ctx, group);
				return CTW_ERR_NOMEM;
			}
			d->conflict[0] = d->conflict[1] = -1;
			group[i] = s->n_stacks++;
		}
		{
			ctw_dicom_stackdef *d = &s->stacks[group[i]];
			d->members[d->n_members++] = i;
			d->n_images += g->n_files;
			d->n_phases = g->n_phases;
		}
	}
	ctw_free(ctx, group);
	for (k = 0; k < s->n_stacks; k++) {
		ctw_dicom_stackdef *d = &s->stacks[k];
		const ctw_dicom_series *r = &s->series[d->members[0]];
		int n = 0;
		if (d->n_members == 1) {
			d->series = r;
			d->n_positions = r->n_positions;
			continue;
		}
		/* positions of all members along the first's normal: distinct, else a conflict */
		cross(r->files[0]->iop, r->files[0]->iop + 3, nrm);
		for (i = 0; i < d->n_members; i++)
			n += s->series[d->members[i]].n_positions;
		pos = ctw_calloc(ctx, (size_t)n, sizeof(double) * 2);
		if (!pos)
			return CTW_ERR_NOMEM;
		n = 0;
		for (i = 0; i < d->n_members; i++) {
			const ctw_dicom_series *g = &s->series[d->members[i]];
			positions(g, nrm, pos + 2 * n);
			for (j = g->n_positions - 1; j >= 0; j--) { /* spread to (position, member) pairs */
				pos[2 * (n + j)] = pos[2 * n + j];
				pos[2 * (n + j) + 1] = d->members[i];
			}
			n += g->n_positions;
		}
		qsort(pos, (size_t)n, sizeof(double) * 2, cmp_double);
		d->n_positions = n > 0;
		for (i = 1; i < n; i++) {
			int same = fabs(pos[2 * i] - pos[2 * (i - 1)]) <= SAME_POSITION_MM;
			d->n_positions += !same;
			if (same && d->conflict[0] < 0 && pos[2 * i + 1] != pos[2 * (i - 1) + 1]) {
				d->conflict[0] = (int)pos[2 * (i - 1) + 1];
				d->conflict[1] = (int)pos[2 * i + 1];
			}
		}
		/* members by their first position (the series' index rides along) */
		for (i = 0; i < d->n_members; i++) {
			pos[2 * i] = dot(nrm, s->series[d->members[i]].files[0]->ipp);
			pos[2 * i + 1] = d->members[i];
		}
		qsort(pos, (size_t)d->n_members, sizeof(double) * 2, cmp_double);
		for (i = 0; i < d->n_members; i++)
			d->members[i] = (int)pos[2 * i + 1];
		ctw_free(ctx, pos);
		pos = NULL;
		/* the merged series: every member's files, organised as one series */
		{
			ctw_dicom_series *m = &d->merged;
			const ctw_dicom_series *first = &s->series[d->members[0]];
			memcpy(m->uid, first->uid, sizeof(m->uid));
			m->uid_derived = first->uid_derived;
			m->n_files = d->n_images;
			m->files = ctw_calloc(ctx, (size_t)m->n_files, sizeof(*m->files));
			if (!m->files)
				return CTW_ERR_NOMEM;
			n = 0;
			for (i = 0; i < d->n_members; i++) {
				const ctw_dicom_series *g = &s->series[d->members[i]];
				for (j = 0; j < g->n_files; j++)
					m->files[n++] = g->files[j];
				if (!m->damaged)
					m->damaged = g->damaged;
				d->tilted |= !same_iop(g->files[0], first->files[0]);
			}
			if ((ret = organise(ctx, m)))
				return ret;
			if (d->tilted)
				m->n_orientations = 1; /* within 1 degree: stacked on the first's grid */
			d->series = m;
		}
	}
	/* sort; left_out[] refers to stacks by their first member until renumbered */
	for (i = 0; i < s->n_series; i++)
		if (s->left_out[i])
			s->left_out[i] = -1 - s->stacks[s->left_out[i] - 1].members[0];
	qsort(s->stacks, (size_t)s->n_stacks, sizeof(*s->stacks), stack_order);
	for (i = 0; i < s->n_series; i++)
		for (k = 0; s->left_out[i] < 0 && k < s->n_stacks; k++)
			for (j = 0; j < s->stacks[k].n_members; j++)
				if (s->stacks[k].members[j] == -1 - s->left_out[i])
					s->left_out[i] = k + 1;
	/* a stack's merged series moved with it: point again */
	for (k = 0; k < s->n_stacks; k++)
		if (s->stacks[k].n_members > 1)
			s->stacks[k].series = &s->stacks[k].merged;
	return CTW_OK;
}

void ctw_dicom_stack_describe(const ctw_dicom_scan *scan, int k, char *buf, size_t cap)
{
	const ctw_dicom_stackdef *d = &scan->stacks[k];
	if (d->n_members > 1)
		snprintf(buf, cap, "%d series, %d slices x %d phases", d->n_members, d->n_positions, d->n_phases);
	else
		snprintf(buf, cap, "series %d, %d slice%s x %d phase%s", d->members[0] + 1, d->n_positions,
			 d->n_positions == 1 ? "" : "s", d->n_phases, d->n_phases == 1 ? "" : "s");
}

/* The auto stack when it is unambiguous: at least 3 positions and more than any other stack. */
static int auto_unambiguous(const ctw_dicom_scan *scan)
{
	return scan->n_stacks >= 1 && scan->stacks[0].n_positions >= 3 &&
	       (scan->n_stacks == 1 || scan->stacks[1].n_positions < scan->stacks[0].n_positions);
}

int ctw_dicom_find_stack(ctw_ctx *ctx, const char *path, const ctw_dicom_scan *scan, const char *sel,
			 int stack, const ctw_dicom_series **out, int *number)
{
	const ctw_dicom_stackdef *d;
	char list[400];
	size_t len = 0;
	int k;

	*out = NULL;
	*number = 0;
	if (sel && stack)
		return ctw_error(ctx, CTW_ERR_INVALID, path, "--series and --stack both given; give one");
	if (sel || (!stack && scan->n_series <= 1))
		return ctw_dicom_find_series(ctx, path, scan, sel, out);
	if (scan->n_stacks == 0)
		return ctw_dicom_find_series(ctx, path, scan, NULL, out); /* the "none found" message */
	if (!stack && !auto_unambiguous(scan)) {
		for (k = 0; k < scan->n_stacks && len + 80 < sizeof(list); k++) {
			char one[96];
			ctw_dicom_stack_describe(scan, k, one, sizeof(one));
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d: %s", k ? "; " : "", k + 1, one);
			len = len < sizeof(list) ? len : sizeof(list) - 1;
		}
		if (k < scan->n_stacks)
			snprintf(list + len, sizeof(list) - len, "; ...");
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "%d series in %d stacks and no clear short-axis stack (stacks %s); choose one with "
				 "--stack N or --series (cardiotwin info '%s' lists them)",
				 scan->n_series, scan->n_stacks, list, path);
	}
	if (stack > scan->n_stacks)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "no stack %d: there %s %d (cardiotwin info '%s' lists them)",
				 stack, scan->n_stacks == 1 ? "is" : "are", scan->n_stacks, path);
	k = stack > 0 ? stack - 1 : 0;
	d = &scan->stacks[k];
	if (d->conflict[0] >= 0) {
		char a[13], b[13];
		ctw_dicom_series_id(ctx, &scan->series[d->conflict[0]], a);
		ctw_dicom_series_id(ctx, &scan->series[d->conflict[1]], b);
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "series %d (id %s) and series %d (id %s) of stack %d image the same slice position; "
				 "remove one, or read one with --series",
				 d->conflict[0] + 1, a, d->conflict[1] + 1, b, k + 1);
	}
	if (d->tilted)
		ctw_log(ctx, CTW_LOG_WARN, path,
			"the series of stack %d are not exactly parallel (within 1 degree): stacked on the grid of "
			"the first", k + 1);
	if (stack <= 0)
		ctw_log(ctx, CTW_LOG_INFO, path, "stack %d of %d chosen (auto: the most slice positions, %d)", k + 1,
			scan->n_stacks, d->n_positions);
	*out = d->series;
	*number = k + 1;
	return CTW_OK;
}

/* Transfer syntaxes whose pixel data GDCM decodes: native (0) or encapsulated (1); -1: not read. */
static int syntax_kind(const char *uid)
{
	static const char *const native[] = { "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", NULL };
	static const char *const encapsulated[] = { "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
						    "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
						    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
						    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
						    "1.2.840.10008.1.2.5",    NULL };
	for (int i = 0; native[i]; i++)
		if (!strcmp(uid, native[i]))
			return 0;
	for (int i = 0; encapsulated[i]; i++)
		if (!strcmp(uid, encapsulated[i]))
			return 1;
	return -1;
}

#define MAX_POSITION_MM 1e6 /* a patient position beyond 1 km is a broken header */

/* Checks one file's header before anything is allocated for it. */
static int check_file(ctw_ctx *ctx, const ctw_dicom_file *f, const ctw_dicom_file *f0, int n)
{
	const int kind = syntax_kind(f->syntax);
	uint64_t need = (uint64_t)f->rows * (uint64_t)f->cols * (uint64_t)(f->bits_allocated / 8);

	if (f->bad[0])
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
				 "invalid %s (not a number, not finite, a wrong number of values or a wrong "
				 "length); the header is damaged",
				 f->bad);
	if (kind < 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
				 "transfer syntax '%s' is not supported; convert the file with gdcmconv --raw",
				 f->syntax);
	if (kind != (f->pixel_len == 0xFFFFFFFFu))
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
				 "the pixel data is %s but the transfer syntax '%s' says %s; the file is damaged",
				 kind ? "not compressed" : "compressed (encapsulated)", f->syntax,
				 kind ? "compressed" : "not compressed");
	if (f->samples != 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "%d samples per pixel; grey-scale images are expected",
				 f->samples);
	if (f->frames != 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
				 f->frames > 1 ? "multi-frame image (%d frames); not supported yet, export single frames"
					       : "NumberOfFrames is %d; one frame is expected",
				 f->frames);
	if (f->bits_allocated != 8 && f->bits_allocated != 16 && f->bits_allocated != 32)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "%d bits allocated per pixel; 8, 16 or 32 expected",
				 f->bits_allocated);
	if (f->bits_stored == 0 || f->bits_stored > f->bits_allocated)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "BitsStored %d with BitsAllocated %d; 1..%d expected",
				 f->bits_stored, f->bits_allocated, f->bits_allocated);
	if (f->high_bit >= 0 && f->high_bit != (f->bits_stored > 0 ? f->bits_stored : f->bits_allocated) - 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "HighBit %d with BitsStored %d; HighBit is BitsStored - 1",
				 f->high_bit, f->bits_stored > 0 ? f->bits_stored : f->bits_allocated);
	if (f->pixel_rep != 0 && f->pixel_rep != 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "PixelRepresentation %d; 0 or 1 expected", f->pixel_rep);
	if (!f->has_spacing)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "no PixelSpacing; the geometry is unknown");
	for (int c = 0; c < 2; c++)
		if (!isfinite(f->pixel_spacing[c]) || f->pixel_spacing[c] <= 0 || f->pixel_spacing[c] > 1e4)
			return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
					 "PixelSpacing %g\\%g; both must be finite and > 0", f->pixel_spacing[0],
					 f->pixel_spacing[1]);
	if (kind == 0 && f->pixel_len != need && f->pixel_len != need + (need & 1))
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
				 "pixel data holds %u bytes; %d x %d pixels of %d bits need %llu (Rows or Columns "
				 "wrong, or the file truncated)",
				 f->pixel_len, f->cols, f->rows, f->bits_allocated, (unsigned long long)need);
	/* the rescaled values must fit a float32 voxel: |slope| in [1e-20, 1e20], |intercept| <= 1e20 */
	if (!isfinite(f->slope) || !isfinite(f->intercept) || !(fabs(f->slope) >= 1e-20) || fabs(f->slope) > 1e20 ||
	    fabs(f->intercept) > 1e20)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "RescaleSlope %g, RescaleIntercept %g; a finite slope of "
				 "magnitude 1e-20..1e20 and a finite intercept expected", f->slope, f->intercept);
	if (!isfinite(f->gantry_tilt) || fabs(f->gantry_tilt) > 360)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "GantryDetectorTilt %g degrees", f->gantry_tilt);
	if (n > 1 && (!f->has_ipp || !f->has_iop))
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
				 "no ImagePositionPatient or ImageOrientationPatient; cannot stack the slices");
	if (f->has_ipp)
		for (int c = 0; c < 3; c++)
			if (!(fabs(f->ipp[c]) <= MAX_POSITION_MM))
				return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
						 "ImagePositionPatient %g\\%g\\%g is more than 1 km from the origin; the "
						 "header is damaged", f->ipp[0], f->ipp[1], f->ipp[2]);
	if (f->has_iop) {
		double r2 = dot(f->iop, f->iop), c2 = dot(f->iop + 3, f->iop + 3), rc = dot(f->iop, f->iop + 3);
		if (!(fabs(r2 - 1) < 1e-3 && fabs(c2 - 1) < 1e-3 && fabs(rc) < 1e-3))
			return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
					 "ImageOrientationPatient is not two orthogonal unit vectors");
	}
	if (f != f0) {
		if (f->rows != f0->rows || f->cols != f0->cols)
			return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "%d x %d pixels, other slices have %d x %d",
					 f->cols, f->rows, f0->cols, f0->rows);
		if (fabs(f->pixel_spacing[0] - f0->pixel_spacing[0]) > 1e-4 * f0->pixel_spacing[0] ||
		    fabs(f->pixel_spacing[1] - f0->pixel_spacing[1]) > 1e-4 * f0->pixel_spacing[1])
			return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "PixelSpacing differs from the other slices");
	}
	return CTW_OK;
}

void ctw_dicom_stack_free(ctw_ctx *ctx, ctw_dicom_stack *st)
{
	if (!st)
		return;
	ctw_free(ctx, st->files);
	ctw_free(ctx, st->pos);
	ctw_free(ctx, st);
}

/* The voxel type that holds a file's rescaled values exactly. */
static ctw_dtype stack_dtype(const ctw_dicom_file *f)
{
	if (f->slope != 1.0 || f->intercept != floor(f->intercept) || f->bits_allocated == 32)
		return CTW_F32;
	if (f->intercept != 0.0)
		return CTW_I32;
	if (f->bits_allocated == 8)
		return f->pixel_rep ? CTW_I16 : CTW_U8;
	return f->pixel_rep ? CTW_I16 : CTW_U16;
}

static int stack_geometry(ctw_ctx *ctx, const char *path, ctw_dicom_stack *st, int allow_gaps)
{
	const ctw_dicom_file *f0 = st->files[0];
	double row[3] = { 1, 0, 0 }, col[3] = { 0, 1, 0 }, nrm[3], len, mean;
	int i, c;

	if (f0->has_iop) {
		/* The cosines as given, not re-orthogonalised: DICOM places pixel (i, j) at
		 * IPP + i*dx*row + j*dy*col with these vectors, and rounding makes them non-orthogonal
		 * by ~1e-6, which is 1e-3 mm across a 300 mm field of view. */
		memcpy(row, f0->iop, sizeof(row));
		memcpy(col, f0->iop + 3, sizeof(col));
	} else {
		ctw_log(ctx, CTW_LOG_WARN, f0->path, "no ImageOrientationPatient; axial orientation assumed");
	}
	cross(row, col, nrm);
	len = sqrt(dot(nrm, nrm));
	for (c = 0; c < 3; c++)
		nrm[c] /= len;
	for (i = 0; i < st->n; i++)
		st->pos[i] = st->files[i]->has_ipp ? dot(nrm, st->files[i]->ipp) : 0.0;
	st->min_step = INFINITY;
	st->max_step = 0;
	for (i = 1; i < st->n; i++) {
		double d = st->pos[i] - st->pos[i - 1], off[3], perp;
		for (c = 0; c < 3; c++)
			off[c] = st->files[i]->ipp[c] - st->files[i - 1]->ipp[c] - d * nrm[c];
		perp = sqrt(dot(off, off));
		if (perp > 1e-3 * fabs(d) + 0.01 && (!same_iop(st->files[i], f0) || !same_iop(st->files[i - 1], f0)))
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "slices not parallel: '%s' is offset by %.3g mm across the slice normal from the "
					 "slice before, its plane tilted against the first slice's (a stack of series within "
					 "1 degree of parallel); read the series apart with --series",
					 st->files[i]->path, perp);
		if (perp > 1e-3 * fabs(d) + 0.01 || st->files[i]->gantry_tilt != 0.0)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "gantry tilt or sheared stack: '%s' is offset by %.3g mm across the slice "
					 "normal from the slice before; resample it to an orthogonal grid first",
					 st->files[i]->path, perp);
		st->min_step = fmin(st->min_step, d);
		st->max_step = fmax(st->max_step, d);
	}
	for (c = 0; c < 3; c++)
		st->origin[c] = f0->has_ipp ? f0->ipp[c] : 0.0;
	if (st->n > 1) {
		mean = (st->pos[st->n - 1] - st->pos[0]) / (st->n - 1);
		st->uneven = st->max_step - mean > 0.01 * mean || mean - st->min_step > 0.01 * mean;
		st->spacing[2] = mean;
		st->dim[2] = st->n;
		if (st->uneven && !allow_gaps) {
			for (i = 1; i < st->n; i++)
				if (fabs(st->pos[i] - st->pos[i - 1] - mean) > 0.01 * mean)
					break;
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "slice positions are unevenly spaced: %.4g mm between '%s' and '%s', %.4g "
					 "mm on average (a slice missing?); --allow-gaps resamples them",
					 st->pos[i] - st->pos[i - 1], st->files[i - 1]->path, st->files[i]->path, mean);
		}
		if (!st->uneven) {
			/* Least-squares fit of ipp_k = origin + k * step * normal: positions are rounded in
			 * the files, and the fit halves the worst error against taking the end slices. */
			double ib = (st->n - 1) / 2.0, num = 0, den = 0, mipp[3] = { 0, 0, 0 };
			for (i = 0; i < st->n; i++)
				for (c = 0; c < 3; c++)
					mipp[c] += st->files[i]->ipp[c] / st->n;
			for (i = 0; i < st->n; i++) {
				num += (i - ib) * (st->pos[i] - dot(nrm, mipp));
				den += (i - ib) * (i - ib);
			}
			st->spacing[2] = num / den;
			for (c = 0; c < 3; c++)
				st->origin[c] = mipp[c] - ib * st->spacing[2] * nrm[c];
		}
		if (st->uneven) {
			double extent = st->pos[st->n - 1] - st->pos[0];
			st->dim[2] = (int64_t)floor(extent / st->min_step + 0.5) + 1;
			st->spacing[2] = extent / (double)(st->dim[2] - 1);
			st->resampled = 1;
			if (allow_gaps == 1)
				ctw_log(ctx, CTW_LOG_WARN, path,
				"slices unevenly spaced (%.4g to %.4g mm): %d slices resampled to %lld of %.4g mm",
				st->min_step, st->max_step, st->n, (long long)st->dim[2], st->spacing[2]);
		}
	} else {
		st->spacing[2] = f0->thickness > 0 ? f0->thickness : 1.0;
		st->dim[2] = 1;
	}
	st->dim[0] = f0->cols;
	st->dim[1] = f0->rows;
	st->spacing[0] = f0->pixel_spacing[1]; /* between columns: along i */
	st->spacing[1] = f0->pixel_spacing[0]; /* between rows: along j    */
	for (c = 0; c < 3; c++) {
		st->direction[c][0] = row[c];
		st->direction[c][1] = col[c];
		st->direction[c][2] = nrm[c];
	}
	if (st->dim[2] > ctw_ctx_max_voxels(ctx) / (st->dim[0] * st->dim[1]))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "%lld x %lld x %lld voxels exceed the limit of %lld",
				 (long long)st->dim[0], (long long)st->dim[1], (long long)st->dim[2],
				 (long long)ctw_ctx_max_voxels(ctx));
	st->dtype = st->resampled ? CTW_F32 : stack_dtype(f0);
	return CTW_OK;
}

/* The first position (0-based) with fewer than n_phases images, its first file index, its count,
 * and a full position's first file index for reference. */
static void short_position(const ctw_dicom_series *s, int *pos, int *first, int *count, int *ref)
{
	int i, p = 0, start = 0;
	*pos = *first = *count = *ref = -1;
	for (i = 1; i <= s->n_files; i++) {
		if (i < s->n_files && same_position(s->files[i], s->files[i - 1]))
			continue;
		if (i - start < s->n_phases && *pos < 0) {
			*pos = p;
			*first = start;
			*count = i - start;
		}
		if (i - start == s->n_phases && *ref < 0)
			*ref = start;
		p++;
		start = i;
	}
}

/* CTW_ERR_FORMAT naming path: a slice position lacks a cine image; which phase, when the trigger
 * times tell. */
static int missing_image(ctw_ctx *ctx, const char *path, const ctw_dicom_series *s)
{
	int pos, first, count, ref, miss = 0;
	short_position(s, &pos, &first, &count, &ref);
	if (pos < 0 || ref < 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "some slice positions have fewer images than others");
	/* Which phase: the slices may be acquired at different heart rates, so the times are
	 * compared within the slice. A gap of about two steps between two images is the missing
	 * phase; none: the first phase is missing when the first image starts more than a step later
	 * (relative to its step) than a full slice's first image, else the last one is. */
	if (count >= 2) {
		double steps[64], m, mref, t0;
		int n = 0, ok = 1;
		for (int i = 0; i < count && ok; i++)
			ok = !isnan(s->files[first + i]->trigger_time);
		for (int i = 0; i < s->n_phases && ok; i++)
			ok = !isnan(s->files[ref + i]->trigger_time);
		for (int i = 0; ok && i + 1 < count && n < 64; i++)
			steps[n++] = s->files[first + i + 1]->trigger_time - s->files[first + i]->trigger_time;
		if (ok && n > 0) {
			double sorted[64];
			memcpy(sorted, steps, sizeof(double) * (size_t)n);
			for (int i = 1; i < n; i++)
				for (int j = i; j > 0 && sorted[j] < sorted[j - 1]; j--) {
					double x = sorted[j];
					sorted[j] = sorted[j - 1];
					sorted[j - 1] = x;
				}
			m = sorted[n / 2];
			mref = (s->files[ref + s->n_phases - 1]->trigger_time - s->files[ref]->trigger_time) /
			       (s->n_phases - 1);
			t0 = s->files[first]->trigger_time;
			for (int i = 0; i < n && !miss && m > 0; i++)
				if (steps[i] > 1.5 * m)
					miss = i + 2;
			if (!miss && m > 0 && mref > 0)
				miss = t0 / m > s->files[ref]->trigger_time / mref + 0.5 ? 1 : s->n_phases;
		}
	}
	if (miss)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "slice %d of %d (the slice of '%s') has %d images, the other slices %d: phase %d "
				 "is missing there; every slice needs every cine phase and a missing image cannot "
				 "be repaired, add the missing file",
				 pos + 1, s->n_positions, s->files[first]->path, count, s->n_phases, miss);
	return ctw_error(ctx, CTW_ERR_FORMAT, path,
			 "slice %d of %d (the slice of '%s') has %d images, the other slices %d: a cine phase is "
			 "missing there; every slice needs every cine phase and a missing image cannot be "
			 "repaired, add the missing file",
			 pos + 1, s->n_positions, s->files[first]->path, count, s->n_phases);
}

int ctw_dicom_ed_phase(ctw_ctx *ctx, const char *path, const ctw_dicom_series *s, const double *lv_blood,
		       int *phase, char *rule, size_t cap)
{
	int best = 0, n_times = 0;
	double tmin = INFINITY, tmax = -INFINITY, best_t = INFINITY;
	*phase = 0;
	if (lv_blood) {
		for (int ph = 1; ph <= s->n_phases; ph++)
			if (lv_blood[ph - 1] > 0 && (!best || lv_blood[ph - 1] > lv_blood[best - 1]))
				best = ph;
		if (!best)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "no phase has an LV blood volume (no endocardial contour or label); give --phase N");
		snprintf(rule, cap, "ed = phase %d of %d: the largest LV blood volume (%.4g mL)", best, s->n_phases,
			 lv_blood[best - 1]);
	} else if (s->n_phases == 1) {
		best = 1;
		snprintf(rule, cap, "ed = phase 1 of 1: a single phase");
	} else {
		/* each phase's mean trigger time over the slice positions */
		for (int ph = 1; ph <= s->n_phases; ph++) {
			double sum = 0;
			int n = 0, run = 0;
			for (int i = 0; i < s->n_files; i++, run++) {
				if (i > 0 && !same_position(s->files[i], s->files[i - 1]))
					run = 0;
				if (run == ph - 1 && !isnan(s->files[i]->trigger_time)) {
					sum += s->files[i]->trigger_time;
					n++;
				}
			}
			if (!n)
				continue;
			n_times++;
			tmin = fmin(tmin, sum / n);
			tmax = fmax(tmax, sum / n);
			if (sum / n < best_t) {
				best_t = sum / n;
				best = ph;
			}
		}
		if (n_times < s->n_phases || !(tmax - tmin > 1e-6))
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "the %d cine phases %s (real-time cine?): end-diastole cannot be told from "
					 "trigger times; pass --phase N (1..%d)",
					 s->n_phases, n_times < s->n_phases ? "lack TriggerTime" : "share one trigger time",
					 s->n_phases);
		snprintf(rule, cap, "ed = phase %d of %d: the smallest trigger time (%.6g ms)", best, s->n_phases,
			 best_t);
	}
	*phase = best;
	ctw_log(ctx, CTW_LOG_INFO, path, "%s", rule);
	return CTW_OK;
}

int ctw_dicom_stack_build(ctw_ctx *ctx, const char *path, const ctw_dicom_series *s, int phase,
			  int allow_gaps, ctw_dicom_stack **out)
{
	ctw_dicom_stack *st;
	char rule[96] = "";
	int i, run, k = 0, ret;

	*out = NULL;
	if (s->damaged)
		return ctw_error(ctx, CTW_ERR_FORMAT, s->damaged,
				 "damaged DICOM file (truncated or malformed) that may be an image of the series "
				 "in '%s'; replace it, or remove it if it is not one",
				 path);
	if (s->dup[0])
		return ctw_error(ctx, CTW_ERR_FORMAT, s->dup[1]->path,
				 "the same image as '%s' (one position, time and instance number); remove one",
				 s->dup[0]->path);
	if (s->n_orientations > 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "the series mixes %d slice orientations (a localizer?); it is not one 3D stack",
				 s->n_orientations);
	if (s->n_phases > 1 && !s->phases_regular)
		return missing_image(ctx, path, s);
	if (phase == CTW_PHASE_NONE && s->n_phases > 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "the series has %d images at each slice position (cine phases); choose one "
				 "with --phase 1..%d or --phase ed",
				 s->n_phases, s->n_phases);
	if (phase == CTW_PHASE_ED && (ret = ctw_dicom_ed_phase(ctx, path, s, NULL, &phase, rule, sizeof(rule))))
		return ret;
	if (phase == CTW_PHASE_NONE)
		phase = 1;
	if (phase < 1 || phase > s->n_phases)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "no phase %d: the series has %d phase%s", phase,
				 s->n_phases, s->n_phases == 1 ? "" : "s");
	st = ctw_calloc(ctx, 1, sizeof(*st));
	if (!st)
		return CTW_ERR_NOMEM;
	st->phase = phase;
	st->n_phases = s->n_phases;
	snprintf(st->phase_rule, sizeof(st->phase_rule), "%s", rule);
	if (!(st->files = ctw_calloc(ctx, (size_t)s->n_positions, sizeof(*st->files))) ||
	    !(st->pos = ctw_calloc(ctx, (size_t)s->n_positions, sizeof(*st->pos)))) {
		ctw_dicom_stack_free(ctx, st);
		return CTW_ERR_NOMEM;
	}
	/* the phase-th file of each position run */
	for (i = 0, run = 0; i < s->n_files; i++, run++) {
		if (i > 0 && !same_position(s->files[i], s->files[i - 1])) {
			if (run < phase) {
				ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
						"the slice of '%s' has %d phase%s, not %d: a phase is missing there",
						s->files[i - 1]->path, run, run == 1 ? "" : "s", phase);
				goto fail;
			}
			run = 0;
		}
		if (run == phase - 1)
			st->files[k++] = s->files[i];
	}
	if (run < phase || k != s->n_positions) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "the last slice has %d phases, not %d", run, phase);
		goto fail;
	}
	st->n = k;
	for (i = 0; i < st->n; i++)
		if ((ret = check_file(ctx, st->files[i], st->files[0], st->n)))
			goto fail;
	if ((ret = stack_geometry(ctx, path, st, allow_gaps)))
		goto fail;
	*out = st;
	return CTW_OK;
fail:
	ctw_dicom_stack_free(ctx, st);
	return ret;
}

/* Copies printable ASCII only, so a record cannot carry control characters or markup. */
static void printable(const char *in, char *out, size_t cap)
{
	size_t k = 0;
	for (; *in && k + 1 < cap; in++)
		if (*in >= 32 && *in < 127 && *in != '"' && *in != '\\' && *in != '<' && *in != '>' && *in != '&')
			out[k++] = *in;
	out[k] = '\0';
}

void ctw_dicom_study_record(ctw_ctx *ctx, const ctw_dicom_series *s, ctw_study_record *rec)
{
	const ctw_dicom_file *f = s->files[0];
	memset(rec, 0, sizeof(*rec));
	printable(f->modality, rec->modality, sizeof(rec->modality));
	printable(f->manufacturer, rec->manufacturer, sizeof(rec->manufacturer));
	rec->field_strength_t = f->field_strength;
	if (f->has_spacing) {
		rec->pixel_spacing[0] = f->pixel_spacing[0];
		rec->pixel_spacing[1] = f->pixel_spacing[1];
	}
	if (strlen(f->study_date) >= 4 && isdigit((unsigned char)f->study_date[0]) &&
	    isdigit((unsigned char)f->study_date[1]) && isdigit((unsigned char)f->study_date[2]) &&
	    isdigit((unsigned char)f->study_date[3])) {
		int y = (f->study_date[0] - '0') * 1000 + (f->study_date[1] - '0') * 100 +
			(f->study_date[2] - '0') * 10 + (f->study_date[3] - '0');
		rec->study_year = y >= 1900 && y <= 2200 ? y : 0;
	}
	ctw_dicom_series_hash(ctx, s, rec->series_hash);
	rec->series_uid_derived = s->uid_derived;
	if (f->study_uid[0]) {
		keyed_hash(ctx, f->study_uid, rec->study_hash);
	} else {
		/* no StudyInstanceUID: the series' key stands for the study, said so in the record */
		char text[96];
		snprintf(text, sizeof(text), "study-of-series=%s", rec->series_hash);
		keyed_hash(ctx, text, rec->study_hash);
		rec->study_uid_derived = 1;
	}
	rec->n_phases = s->n_phases;
}

int ctw_dicom_locate(const ctw_dicom_series *s, int64_t instance, int *position, int *phase)
{
	int i, pos = 0, run = 0;
	for (i = 0; i < s->n_files; i++, run++) {
		if (i > 0 && !same_position(s->files[i], s->files[i - 1])) {
			pos++;
			run = 0;
		}
		if (s->files[i]->instance == instance) {
			*position = pos;
			*phase = run + 1;
			return 1;
		}
	}
	return 0;
}
