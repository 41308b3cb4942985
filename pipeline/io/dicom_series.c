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
	for (i = 0; i < g->n_files; i++)
		g->files[i] = it[i].f;
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

int ctw_dicom_group(ctw_ctx *ctx, ctw_dicom_scan *s)
{
	int i, j, ret;
	s->series = ctw_calloc(ctx, (size_t)(s->n_files ? s->n_files : 1), sizeof(*s->series));
	if (!s->series)
		return CTW_ERR_NOMEM;
	for (i = 0; i < s->n_files; i++) {
		for (j = 0; j < s->n_series; j++)
			if (!strcmp(s->series[j].uid, s->files[i].series_uid))
				break;
		if (j == s->n_series) {
			memcpy(s->series[j].uid, s->files[i].series_uid, sizeof(s->series[j].uid));
			s->n_series++;
		}
		s->series[j].n_files++;
	}
	for (j = 0; j < s->n_series; j++) {
		ctw_dicom_series *g = &s->series[j];
		int n = 0;
		g->files = ctw_calloc(ctx, (size_t)g->n_files, sizeof(*g->files));
		if (!g->files)
			return CTW_ERR_NOMEM;
		for (i = 0; i < s->n_files; i++)
			if (!strcmp(g->uid, s->files[i].series_uid))
				g->files[n++] = &s->files[i];
		if ((ret = organise(ctx, g)))
			return ret;
	}
	qsort(s->series, (size_t)s->n_series, sizeof(*s->series), by_size);
	return CTW_OK;
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

void ctw_dicom_series_id(ctw_ctx *ctx, const ctw_dicom_series *s, char id[13])
{
	char hex[65];
	keyed_hash(ctx, s->uid, hex);
	snprintf(id, 13, "%.12s", hex[0] ? hex : "000000000000");
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
		if ((hex && n <= 12 && strncasecmp(id, sel, n) == 0) || strcmp(scan->series[k].uid, sel) == 0)
			found = k;
	}
	if (found < 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "no series '%s' (give a number 1..%d, an id or a UID; cardiotwin info '%s' lists them)",
				 sel, scan->n_series, path);
	*out = &scan->series[found];
	return CTW_OK;
}

/* Checks one file's header before anything is allocated for it. */
static int check_file(ctw_ctx *ctx, const ctw_dicom_file *f, const ctw_dicom_file *f0, int n)
{
	const int native = !strcmp(f->syntax, "1.2.840.10008.1.2") || !strcmp(f->syntax, "1.2.840.10008.1.2.1");
	uint64_t need = (uint64_t)f->rows * (uint64_t)f->cols * (uint64_t)(f->bits_allocated / 8);

	if (f->samples != 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "%d samples per pixel; grey-scale images are expected",
				 f->samples);
	if (f->frames > 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
				 "multi-frame image (%d frames); not supported yet, export single frames", f->frames);
	if (f->bits_allocated != 8 && f->bits_allocated != 16 && f->bits_allocated != 32)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "%d bits allocated per pixel; 8, 16 or 32 expected",
				 f->bits_allocated);
	if (!f->has_spacing)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "no PixelSpacing; the geometry is unknown");
	for (int c = 0; c < 2; c++)
		if (!isfinite(f->pixel_spacing[c]) || f->pixel_spacing[c] <= 0 || f->pixel_spacing[c] > 1e4)
			return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
					 "PixelSpacing %g\\%g; both must be finite and > 0", f->pixel_spacing[0],
					 f->pixel_spacing[1]);
	if (native && f->pixel_len < need)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
				 "pixel data holds %u bytes; %d x %d pixels of %d bits need %llu", f->pixel_len,
				 f->cols, f->rows, f->bits_allocated, (unsigned long long)need);
	if (!isfinite(f->slope) || !isfinite(f->intercept) || f->slope == 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path, "bad RescaleSlope/RescaleIntercept");
	if (n > 1 && (!f->has_ipp || !f->has_iop))
		return ctw_error(ctx, CTW_ERR_FORMAT, f->path,
				 "no ImagePositionPatient or ImageOrientationPatient; cannot stack the slices");
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

int ctw_dicom_stack_build(ctw_ctx *ctx, const char *path, const ctw_dicom_series *s, int phase,
			  int allow_gaps, ctw_dicom_stack **out)
{
	ctw_dicom_stack *st;
	int i, run, k = 0, ret;

	*out = NULL;
	if (s->n_orientations > 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "the series mixes %d slice orientations (a localizer?); it is not one 3D stack",
				 s->n_orientations);
	if (phase == CTW_PHASE_NONE && s->n_phases > 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "the series has %d images at each slice position (cine phases); choose one "
				 "with --phase 1..%d or --phase ed",
				 s->n_phases, s->n_phases);
	if (phase == CTW_PHASE_ED || phase == CTW_PHASE_NONE)
		phase = 1;
	if (phase < 1 || phase > s->n_phases)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "no phase %d: the series has %d phase%s", phase,
				 s->n_phases, s->n_phases == 1 ? "" : "s");
	st = ctw_calloc(ctx, 1, sizeof(*st));
	if (!st)
		return CTW_ERR_NOMEM;
	st->phase = phase;
	st->n_phases = s->n_phases;
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
	keyed_hash(ctx, f->study_uid, rec->study_hash);
	keyed_hash(ctx, f->series_uid, rec->series_hash);
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
