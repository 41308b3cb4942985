/* model.c: what every writer shares: orienting a mesh and finding the tetrahedron behind each
 * boundary triangle (faces bucketed by their smallest node, O(n)), the format list of --formats,
 * the model checks, and checked, buffered output with fast, correctly rounded number formatting
 * (glibc's printf of ~10^7 doubles takes seconds; this takes a fraction). */
#include "writers_int.h"

#include "fs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- boundary triangles and their tetrahedra ------------------------------------------------- */

static void sort3(int32_t a, int32_t b, int32_t c, int32_t s[3])
{
	int32_t t;
	if (a > b) t = a, a = b, b = t;
	if (b > c) t = b, b = c, c = t;
	if (a > b) t = a, a = b, b = t;
	s[0] = a, s[1] = b, s[2] = c;
}

static int tri_error(ctw_ctx *ctx, const char *what, const ctw_tetmesh *m, int64_t i, const char *problem)
{
	const int32_t *v = m->tris + 3 * i;
	const char *name = ctw_surface_name(m->tri_marker[i]);
	double c[3];
	int k;

	for (k = 0; k < 3; k++)
		c[k] = (m->xyz[3 * v[0] + k] + m->xyz[3 * v[1] + k] + m->xyz[3 * v[2] + k]) / 3.0;
	return ctw_error(ctx, CTW_ERR_FORMAT, what,
			 "boundary triangle %lld (%s, nodes %d %d %d, centroid %.3f %.3f %.3f mm) %s", (long long)i,
			 name ? name : "untagged", (int)v[0], (int)v[1], (int)v[2], c[0], c[1], c[2], problem);
}

int ctw_tetmesh_tri_owners(ctw_ctx *ctx, const char *what, const ctw_tetmesh *m, int32_t **owner,
			   int32_t **opposite)
{
	int32_t *head = NULL, *list = NULL, *k1 = NULL, *k2 = NULL, *own = NULL, *opp = NULL;
	int64_t i, t, n_tris = m->n_tris;
	int ret;

	*owner = NULL;
	*opposite = NULL;
	if ((ret = ctw_tetmesh_check(ctx, what, m)) != CTW_OK)
		return ret;
	head = ctw_calloc(ctx, (size_t)m->n_points + 1, sizeof(*head));
	list = ctw_malloc(ctx, sizeof(*list) * (size_t)(n_tris ? n_tris : 1));
	k1 = ctw_malloc(ctx, sizeof(*k1) * (size_t)(n_tris ? n_tris : 1));
	k2 = ctw_malloc(ctx, sizeof(*k2) * (size_t)(n_tris ? n_tris : 1));
	own = ctw_malloc(ctx, sizeof(*own) * (size_t)(n_tris ? n_tris : 1));
	opp = ctw_malloc(ctx, sizeof(*opp) * (size_t)(n_tris ? n_tris : 1));
	if (!head || !list || !k1 || !k2 || !own || !opp) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	/* bucket the triangles by their smallest node (counting sort) */
	for (i = 0; i < n_tris; i++) {
		int32_t s[3];
		const int32_t *v = m->tris + 3 * i;
		if (v[0] == v[1] || v[1] == v[2] || v[0] == v[2]) {
			ret = tri_error(ctx, what, m, i, "repeats a node");
			goto out;
		}
		sort3(v[0], v[1], v[2], s);
		head[s[0] + 1]++;
		k1[i] = s[1];
		k2[i] = s[2];
		own[i] = -1;
	}
	for (i = 0; i < m->n_points; i++)
		head[i + 1] += head[i];
	for (i = 0; i < n_tris; i++) {
		int32_t s[3];
		const int32_t *v = m->tris + 3 * i;
		sort3(v[0], v[1], v[2], s);
		list[head[s[0]]++] = (int32_t)i;
	}
	for (i = m->n_points; i > 0; i--) /* head[] was advanced to the bucket ends: shift back */
		head[i] = head[i - 1];
	head[0] = 0;
	for (i = 0; i < m->n_points; i++) /* duplicates */
		for (int32_t a = head[i]; a < head[i + 1]; a++)
			for (int32_t b = a + 1; b < head[i + 1]; b++)
				if (k1[list[a]] == k1[list[b]] && k2[list[a]] == k2[list[b]]) {
					char msg[64];
					int32_t lo = list[a] < list[b] ? list[a] : list[b];
					int32_t hi = list[a] < list[b] ? list[b] : list[a];
					snprintf(msg, sizeof(msg), "has the nodes of boundary triangle %d", (int)lo);
					ret = tri_error(ctx, what, m, hi, msg);
					goto out;
				}
	/* every face of every tetrahedron: look it up in its smallest node's bucket */
	for (t = 0; t < m->n_tets; t++) {
		const int32_t *c = m->tets + 4 * t;
		int j;
		for (j = 0; j < 4; j++) {
			int32_t s[3];
			sort3(c[(j + 1) & 3], c[(j + 2) & 3], c[(j + 3) & 3], s);
			for (int32_t a = head[s[0]]; a < head[s[0] + 1]; a++) {
				int32_t tri = list[a];
				if (k1[tri] != s[1] || k2[tri] != s[2])
					continue;
				if (own[tri] >= 0) {
					char msg[96];
					snprintf(msg, sizeof(msg),
						 "is a face of two tetrahedra (%d and %lld), not a boundary face",
						 (int)own[tri], (long long)t);
					ret = tri_error(ctx, what, m, tri, msg);
					goto out;
				}
				own[tri] = (int32_t)t;
				opp[tri] = c[j];
			}
		}
	}
	for (i = 0; i < n_tris; i++)
		if (own[i] < 0) {
			ret = tri_error(ctx, what, m, i, "is not a face of any tetrahedron");
			goto out;
		}
	*owner = own;
	*opposite = opp;
	own = opp = NULL;
	ret = CTW_OK;
out:
	ctw_free(ctx, head);
	ctw_free(ctx, list);
	ctw_free(ctx, k1);
	ctw_free(ctx, k2);
	ctw_free(ctx, own);
	ctw_free(ctx, opp);
	return ret;
}

int ctw_model_orient(ctw_ctx *ctx, const char *what, ctw_tetmesh *m, int64_t *flipped_tets,
		     int64_t *flipped_tris)
{
	int32_t *own = NULL, *opp = NULL;
	int64_t i, nt = 0, nf = 0;
	int ret;

	if (flipped_tets)
		*flipped_tets = 0;
	if (flipped_tris)
		*flipped_tris = 0;
	if ((ret = ctw_tetmesh_check(ctx, what, m)) != CTW_OK)
		return ret;
	for (i = 0; i < m->n_tets; i++)
		if (ctw_tetmesh_tet_volume(m, i) < 0) {
			int32_t *c = m->tets + 4 * i, x = c[2];
			c[2] = c[3];
			c[3] = x;
			nt++;
		}
	if ((ret = ctw_tetmesh_tri_owners(ctx, what, m, &own, &opp)) != CTW_OK)
		return ret;
	for (i = 0; i < m->n_tris; i++) {
		int32_t *v = m->tris + 3 * i;
		const double *a = m->xyz + 3 * v[0], *b = m->xyz + 3 * v[1], *c = m->xyz + 3 * v[2],
			     *d = m->xyz + 3 * opp[i];
		double u[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] };
		double w[3] = { c[0] - a[0], c[1] - a[1], c[2] - a[2] };
		double n[3] = { u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0] };
		if (n[0] * (d[0] - a[0]) + n[1] * (d[1] - a[1]) + n[2] * (d[2] - a[2]) > 0) {
			int32_t x = v[1];
			v[1] = v[2];
			v[2] = x;
			nf++;
		}
	}
	ctw_free(ctx, own);
	ctw_free(ctx, opp);
	if (flipped_tets)
		*flipped_tets = nt;
	if (flipped_tris)
		*flipped_tris = nf;
	return CTW_OK;
}

/* ---- --formats ---------------------------------------------------------------------------------- */

int ctw_formats_parse(ctw_ctx *ctx, const char *list, unsigned *bits)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = { { "opencarp", CTW_FMT_OPENCARP }, { "vtk", CTW_FMT_VTK },	     { "gmsh", CTW_FMT_GMSH },
		      { "febio", CTW_FMT_FEBIO },	{ "tetgen", CTW_FMT_TETGEN }, { "all", CTW_FMT_ALL } };
	const char *p = list;
	unsigned b = 0;

	if (!list)
		return ctw_error(ctx, CTW_ERR_INVALID, "export", "no formats given");
	for (;;) {
		const char *s, *e;
		size_t n, k;
		while (*p == ' ' || *p == '\t')
			p++;
		s = p;
		while (*p && *p != ',')
			p++;
		e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		n = (size_t)(e - s);
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strlen(names[k].name) == n && memcmp(names[k].name, s, n) == 0)
				break;
		if (k == sizeof(names) / sizeof(names[0])) {
			if (n == 0)
				return ctw_error(ctx, CTW_ERR_INVALID, "export", "empty entry in format list '%s'; %s",
						 list, "expected opencarp, vtk, gmsh, febio, tetgen or all");
			return ctw_error(ctx, CTW_ERR_INVALID, "export", "unknown format '%.*s'; %s", (int)n, s,
					 "expected opencarp, vtk, gmsh, febio, tetgen or all");
		}
		b |= names[k].bit;
		if (!*p)
			break;
		p++;
	}
	*bits = b;
	return CTW_OK;
}

/* ---- model checks --------------------------------------------------------------------------------- */

void ctw_model_surface_counts(const ctw_model *md, int64_t count[5])
{
	int64_t i;
	memset(count, 0, 5 * sizeof(count[0]));
	for (i = 0; i < md->mesh->n_tris; i++)
		count[md->mesh->tri_marker[i]]++;
}

static int all_finite(const double *v, int64_t n, int64_t *bad)
{
	int64_t i;
	for (i = 0; i < n; i++)
		if (!isfinite(v[i])) {
			*bad = i;
			return 0;
		}
	return 1;
}

int ctw_model_check(ctw_ctx *ctx, const ctw_model *md, const char *fmt)
{
	const ctw_tetmesh *m = md ? md->mesh : NULL;
	int64_t i, bad;
	int ret;

	if (!m)
		return ctw_error(ctx, CTW_ERR_INVALID, fmt, "no mesh");
	if (m->n_tets < 1 || m->n_points < 4)
		return ctw_error(ctx, CTW_ERR_INVALID, fmt, "the mesh has no tetrahedra");
	if ((ret = ctw_tetmesh_check(ctx, fmt, m)) != CTW_OK)
		return ret;
	for (i = 0; i < m->n_tets; i++)
		if (m->region[i] < 1)
			return ctw_error(ctx, CTW_ERR_INVALID, fmt, "tetrahedron %lld has region tag %d; expected >= 1",
					 (long long)i, (int)m->region[i]);
	for (i = 0; i < m->n_tris; i++)
		if (!ctw_surface_name(m->tri_marker[i]))
			return ctw_error(ctx, CTW_ERR_INVALID, fmt,
					 "boundary triangle %lld has surface id %d; expected 1 (epi), 2 (lv_endo), "
					 "3 (rv_endo) or 4 (base)",
					 (long long)i, (int)m->tri_marker[i]);
	if (!all_finite(m->xyz, 3 * m->n_points, &bad))
		return ctw_error(ctx, CTW_ERR_INVALID, fmt, "node %lld has a non-finite coordinate",
				 (long long)(bad / 3));
	if (!md->fiber != !md->sheet)
		return ctw_error(ctx, CTW_ERR_INVALID, fmt, "fibre and sheet must be given together");
	if (md->fiber && (!all_finite(md->fiber, 3 * m->n_tets, &bad) || !all_finite(md->sheet, 3 * m->n_tets, &bad)))
		return ctw_error(ctx, CTW_ERR_INVALID, fmt, "tetrahedron %lld has a non-finite fibre or sheet",
				 (long long)(bad / 3));
	if (md->apex_node < -1 || md->apex_node >= m->n_points)
		return ctw_error(ctx, CTW_ERR_INVALID, fmt, "apex node %lld out of range (%lld nodes)",
				 (long long)md->apex_node, (long long)m->n_points);
	if (md->n_fields < 0 || (md->n_fields > 0 && !md->fields))
		return ctw_error(ctx, CTW_ERR_INVALID, fmt, "bad field list");
	for (i = 0; i < md->n_fields; i++) {
		const ctw_field *f = md->fields[i];
		int64_t want = f && f->loc == CTW_ON_POINTS ? m->n_points : m->n_tets;
		if (!f || !f->name[0] || f->n_comp < 1 || f->n != want || !f->values)
			return ctw_error(ctx, CTW_ERR_INVALID, fmt, "field %lld ('%s') does not fit the mesh",
					 (long long)i, f ? f->name : "");
	}
	return CTW_OK;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return x < y ? -1 : x > y;
}

int ctw_model_regions(ctw_ctx *ctx, const ctw_model *md, int32_t **tags, int64_t **counts, int *n)
{
	const ctw_tetmesh *m = md->mesh;
	int32_t *tg = NULL, *copy = NULL, hi = 0;
	int64_t *ct = NULL, i;
	int k = 0, cap = 0;

	*tags = NULL;
	*counts = NULL;
	*n = 0;
	for (i = 0; i < m->n_tets; i++)
		if (m->region[i] > hi)
			hi = m->region[i];
	if (hi < 65536) { /* counting */
		int64_t *hist = ctw_calloc(ctx, (size_t)hi + 1, sizeof(*hist));
		if (!hist)
			return CTW_ERR_NOMEM;
		for (i = 0; i < m->n_tets; i++)
			hist[m->region[i]]++;
		for (i = 0; i <= hi; i++)
			cap += hist[i] > 0;
		tg = ctw_malloc(ctx, sizeof(*tg) * (size_t)cap);
		ct = ctw_malloc(ctx, sizeof(*ct) * (size_t)cap);
		if (tg && ct)
			for (i = 0; i <= hi; i++)
				if (hist[i] > 0) {
					tg[k] = (int32_t)i;
					ct[k++] = hist[i];
				}
		ctw_free(ctx, hist);
	} else { /* sort a copy */
		if (!(copy = ctw_malloc(ctx, sizeof(*copy) * (size_t)m->n_tets)))
			return CTW_ERR_NOMEM;
		memcpy(copy, m->region, sizeof(*copy) * (size_t)m->n_tets);
		qsort(copy, (size_t)m->n_tets, sizeof(*copy), cmp_i32);
		for (i = 0; i < m->n_tets; i++)
			cap += i == 0 || copy[i] != copy[i - 1];
		tg = ctw_malloc(ctx, sizeof(*tg) * (size_t)cap);
		ct = ctw_malloc(ctx, sizeof(*ct) * (size_t)cap);
		if (tg && ct)
			for (i = 0; i < m->n_tets; i++) {
				if (i == 0 || copy[i] != copy[i - 1]) {
					tg[k] = copy[i];
					ct[k++] = 0;
				}
				ct[k - 1]++;
			}
		ctw_free(ctx, copy);
	}
	if (!tg || !ct) {
		ctw_free(ctx, tg);
		ctw_free(ctx, ct);
		return CTW_ERR_NOMEM;
	}
	*tags = tg;
	*counts = ct;
	*n = k;
	return CTW_OK;
}

void ctw_region_name(char out[32], int32_t tag)
{
	if (tag == 1)
		strcpy(out, "LV");
	else if (tag == 2)
		strcpy(out, "RV");
	else
		snprintf(out, 32, "region_%d", (int)tag);
}

int ctw_remove_stale(ctw_ctx *ctx, const char *dir, const char *name)
{
	char *path = NULL;
	int ret = ctw_path_join(ctx, dir, name, &path);

	if (ret != CTW_OK)
		return ret;
	if (remove(path) != 0 && errno != ENOENT)
		ret = ctw_error(ctx, CTW_ERR_IO, "export", "cannot remove stale '%s': %s", path, strerror(errno));
	ctw_free(ctx, path);
	return ret;
}

void ctw_title_line(char out[256], const char *s, const char *fallback)
{
	size_t n = 0;

	if (!s || !*s)
		s = fallback;
	for (; *s && n < 200; s++) {
		char c = *s >= 0x20 && *s < 0x7f ? *s : '_';
		if (c == '-' && n > 0 && out[n - 1] == '-')
			c = '_';
		out[n++] = c;
	}
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '-')) /* no "--->" at a comment's end */
		n--;
	out[n] = 0;
}

/* ---- number formatting ------------------------------------------------------------------------------ */

static const double pow10tab[23] = { 1e0,  1e1,	 1e2,  1e3,  1e4,  1e5,	 1e6,  1e7,  1e8,  1e9,	 1e10, 1e11,
				     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
static const uint64_t pow10u[16] = { 1ull,
				     10ull,
				     100ull,
				     1000ull,
				     10000ull,
				     100000ull,
				     1000000ull,
				     10000000ull,
				     100000000ull,
				     1000000000ull,
				     10000000000ull,
				     100000000000ull,
				     1000000000000ull,
				     10000000000000ull,
				     100000000000000ull,
				     1000000000000000ull };

static size_t fmt_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

size_t ctw_fmt_int(char *out, int64_t v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
	}
	return fmt_u64(out, (uint64_t)v);
}

static size_t trim_zeros(char *out, size_t n)
{
	char *dot = memchr(out, '.', n);
	if (dot) {
		while (n > 0 && out[n - 1] == '0')
			n--;
		if (n > 0 && out[n - 1] == '.')
			n--;
	}
	if (n == 2 && out[0] == '-' && out[1] == '0') /* "-0" */
		out[0] = '0', n = 1;
	return n;
}

size_t ctw_fmt_fixed(char *out, double x, int d, int trim)
{
	double ax = fabs(x), y, f, frac;
	uint64_t q, ip, fp;
	size_t n = 0;
	char tmp[48];
	int k;

	if (!isfinite(x) || d < 0 || d > 15 || !((y = ax * pow10tab[d]) < 4503599627370496.0)) { /* 2^52 */
		int len = ax < 1e20 && d >= 0 && d <= 15 ? snprintf(tmp, sizeof(tmp), "%.*f", d, x)
							: snprintf(tmp, sizeof(tmp), "%.17g", x);
		n = len > 0 ? (size_t)len : 0;
		if (n > 47)
			n = 47;
		memcpy(out, tmp, n);
		return trim ? trim_zeros(out, n) : n;
	}
	/* y = |x| 10^d rounded; y < 2^52 so its ulp <= 1/2 and floor(y), y - floor(y) are exact. The
	 * exact product differs from y by less than half an ulp, which can only matter when y lies
	 * exactly on a half: then the sign of the residual (fma, exact) decides, and a zero residual
	 * is a true tie, rounded to even as glibc does. */
	f = floor(y);
	frac = y - f;
	q = (uint64_t)f;
	if (frac > 0.5)
		q++;
	else if (frac == 0.5) {
		double r = fma(ax, pow10tab[d], -y);
		if (r > 0 || (r == 0 && (q & 1)))
			q++;
	}
	if (signbit(x) && !(trim && q == 0))
		out[n++] = '-';
	ip = q / pow10u[d];
	fp = q % pow10u[d];
	n += fmt_u64(out + n, ip);
	if (d > 0) {
		if (trim && fp == 0)
			return n;
		out[n++] = '.';
		for (k = d - 1; k >= 0; k--) {
			out[n + (size_t)k] = (char)('0' + fp % 10);
			fp /= 10;
		}
		n += (size_t)d;
		if (trim)
			while (out[n - 1] == '0')
				n--;
	}
	return n;
}

size_t ctw_fmt_sig(char *out, double x)
{
	double ax = fabs(x);
	int e, d;

	if (x == 0) {
		out[0] = '0';
		return 1;
	}
	if (!(ax >= 1e-5 && ax < 1e9)) {
		char tmp[48];
		int len = snprintf(tmp, sizeof(tmp), "%.9g", x);
		size_t n = len > 0 ? (size_t)len : 0;
		memcpy(out, tmp, n);
		return n;
	}
	static const double bound[13] = { 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8 };
	for (e = -5; e < 8 && ax >= bound[e + 5]; e++) /* 10^e <= ax < 10^(e+1) */
		;
	d = 8 - e; /* 9 significant digits */
	return ctw_fmt_fixed(out, x, d, 1);
}

/* ---- checked, buffered output ---------------------------------------------------------------------- */

int ctw_out_open(ctw_ctx *ctx, ctw_out *o, const char *dir, const char *name)
{
	int ret;

	memset(o, 0, sizeof(*o));
	o->ctx = ctx;
	if ((ret = ctw_path_join(ctx, dir, name, &o->path)) != CTW_OK)
		return ret;
	if (!(o->buf = ctw_malloc(ctx, CTW_OUT_BUF))) {
		ctw_free(ctx, o->path);
		o->path = NULL;
		return CTW_ERR_NOMEM;
	}
	o->f = fopen(o->path, "wb");
	if (!o->f) {
		ret = ctw_error(ctx, CTW_ERR_IO, "export", "cannot create '%s': %s", o->path, strerror(errno));
		ctw_free(ctx, o->buf);
		ctw_free(ctx, o->path);
		o->buf = o->path = NULL;
		return ret;
	}
	/* Our buffer hands fwrite whole 1 MiB chunks, which glibc passes straight to write(2);
	 * the stdio buffer (also 1 MiB) only matters for the last chunk. */
	setvbuf(o->f, NULL, _IOFBF, CTW_OUT_BUF);
	return CTW_OK;
}

void ctw_out_flush(ctw_out *o)
{
	if (o->pos && !o->failed && fwrite(o->buf, 1, o->pos, o->f) != o->pos) {
		o->failed = 1;
		o->err = errno;
	}
	o->pos = 0;
}

int ctw_out_close(ctw_out *o, int ret)
{
	ctw_ctx *ctx = o->ctx;

	if (!o->f) {
		ctw_free(ctx, o->buf);
		ctw_free(ctx, o->path);
		memset(o, 0, sizeof(*o));
		return ret;
	}
	ctw_out_flush(o);
	if (!o->failed && fflush(o->f) != 0) {
		o->failed = 1;
		o->err = errno;
	}
	if (!o->failed && ferror(o->f)) {
		o->failed = 1;
		o->err = EIO;
	}
	if (fclose(o->f) != 0 && !o->failed) {
		o->failed = 1;
		o->err = errno;
	}
	if (o->failed && ret == CTW_OK)
		ret = ctw_error(ctx, CTW_ERR_IO, "export", "cannot write '%s': %s", o->path,
				o->err ? strerror(o->err) : "write error");
	if (ret != CTW_OK)
		remove(o->path); /* never leave a partial file behind */
	ctw_free(ctx, o->buf);
	ctw_free(ctx, o->path);
	memset(o, 0, sizeof(*o));
	return ret;
}

static inline char *out_room(ctw_out *o, size_t n)
{
	if (o->pos + n > CTW_OUT_BUF)
		ctw_out_flush(o);
	return o->buf + o->pos;
}

void ctw_out_mem(ctw_out *o, const char *s, size_t n)
{
	while (n > 0) {
		size_t k = CTW_OUT_BUF - o->pos;
		if (k == 0) {
			ctw_out_flush(o);
			continue;
		}
		if (k > n)
			k = n;
		memcpy(o->buf + o->pos, s, k);
		o->pos += k;
		s += k;
		n -= k;
	}
}

void ctw_out_str(ctw_out *o, const char *s)
{
	ctw_out_mem(o, s, strlen(s));
}

void ctw_out_printf(ctw_out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->failed = 1;
		o->err = EINVAL;
		return;
	}
	if ((size_t)n < sizeof(tmp)) {
		ctw_out_mem(o, tmp, (size_t)n);
		return;
	}
	{
		char *big = ctw_malloc(o->ctx, (size_t)n + 1);
		if (!big) {
			o->failed = 1;
			o->err = ENOMEM;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		ctw_out_mem(o, big, (size_t)n);
		ctw_free(o->ctx, big);
	}
}

void ctw_out_char(ctw_out *o, char c)
{
	*out_room(o, 1) = c;
	o->pos++;
}

void ctw_out_int(ctw_out *o, int64_t v)
{
	o->pos += ctw_fmt_int(out_room(o, 24), v);
}

void ctw_out_fixed(ctw_out *o, double x, int decimals)
{
	o->pos += ctw_fmt_fixed(out_room(o, 48), x, decimals, 0);
}

void ctw_out_short(ctw_out *o, double x, int decimals)
{
	o->pos += ctw_fmt_fixed(out_room(o, 48), x, decimals, 1);
}

void ctw_out_sig(ctw_out *o, double x)
{
	o->pos += ctw_fmt_sig(out_room(o, 48), x);
}
