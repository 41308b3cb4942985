/* quality.c: quality of tetrahedral meshes (dihedral angles, radius-edge ratios, degenerate and
 * inverted elements, volume, edge length), their boundary faces, and point-set distances
 * (uniform grid). Pure C. */
#include "mesh.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CTW_PI 3.14159265358979323846

static void *alloc_n(ctw_ctx *ctx, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return ctw_calloc(ctx, n, size); /* sets the overflow message */
	return ctw_malloc(ctx, n ? n * size : 1);
}

static void sub3(const double *a, const double *b, double *r)
{
	r[0] = a[0] - b[0];
	r[1] = a[1] - b[1];
	r[2] = a[2] - b[2];
}

static void cross3(const double *a, const double *b, double *r)
{
	r[0] = a[1] * b[2] - a[2] * b[1];
	r[1] = a[2] * b[0] - a[0] * b[2];
	r[2] = a[0] * b[1] - a[1] * b[0];
}

static double dot3(const double *a, const double *b)
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* Six times the signed volume of tet c of xyz. */
static double vol6(const double *xyz, const int32_t *c)
{
	double a[3], b[3], d[3], x[3];
	sub3(xyz + 3 * (int64_t)c[1], xyz + 3 * (int64_t)c[0], a);
	sub3(xyz + 3 * (int64_t)c[2], xyz + 3 * (int64_t)c[0], b);
	sub3(xyz + 3 * (int64_t)c[3], xyz + 3 * (int64_t)c[0], d);
	cross3(b, d, x);
	return dot3(a, x);
}

/* ---- selection ----------------------------------------------------------------------------- */

static void fswap(float *a, float *b)
{
	float t = *a;
	*a = *b;
	*b = t;
}

/* Rearranges a[0..n) so that a[k] is the k-th smallest, with nothing larger before it and
 * nothing smaller after it (Hoare's selection, median of three pivots). */
static void select_kth(float *a, int64_t n, int64_t k)
{
	int64_t lo = 0, hi = n - 1;

	while (hi > lo) {
		int64_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
		float pivot;
		if (a[mid] < a[lo])
			fswap(&a[mid], &a[lo]);
		if (a[hi] < a[lo])
			fswap(&a[hi], &a[lo]);
		if (a[hi] < a[mid])
			fswap(&a[hi], &a[mid]);
		pivot = a[mid];
		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				fswap(&a[i], &a[j]);
				i++;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

/* Order-preserving integer of a float (not NaN): negative ones flipped, below positive ones. */
static uint32_t float_key(float x)
{
	uint32_t u;
	memcpy(&u, &x, sizeof(u));
	return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* The k-th and (k+1)-th smallest of a[0..n) (k + 1 < n; a is reordered): a count of a into bins
 * by the top 16 bits of float_key finds their bins, whose few elements move to the front for
 * select_kth; two linear passes instead of selecting among all n. */
static int select_pair(ctw_ctx *ctx, float *a, int64_t n, int64_t k, float *lo, float *hi)
{
	int64_t *count = ctw_calloc(ctx, 65536, sizeof(int64_t)), base = 0, m = 0, i;
	uint32_t b0, b1;

	if (!count)
		return CTW_ERR_NOMEM;
	for (i = 0; i < n; i++)
		count[float_key(a[i]) >> 16]++;
	for (b0 = 0; base + count[b0] <= k; b0++)
		base += count[b0];
	b1 = b0; /* the bin of the (k+1)-th: b0 or the next one not empty */
	if (k + 1 >= base + count[b0])
		for (b1 = b0 + 1; !count[b1]; b1++)
			;
	for (i = 0; i < n; i++) {
		uint32_t b = float_key(a[i]) >> 16;
		if (b >= b0 && b <= b1) {
			float x = a[m];
			a[m++] = a[i];
			a[i] = x;
		}
	}
	select_kth(a, m, k - base);
	*lo = a[k - base];
	*hi = HUGE_VALF;
	for (i = k - base + 1; i < m; i++)
		*hi = a[i] < *hi ? a[i] : *hi;
	ctw_free(ctx, count);
	return CTW_OK;
}

/* ---- quality ------------------------------------------------------------------------------- */

static int radius_edge_bin(double r)
{
	static const double upper[CTW_RADIUS_EDGE_BINS - 1] = { 0.7, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0 };
	int b = 0;

	/* the bounds ascend: the bin is the number of them not above r (no branch to mispredict) */
	for (int i = 0; i < CTW_RADIUS_EDGE_BINS - 1; i++)
		b += !(r < upper[i]);
	return b;
}

/* The measures of tetrahedra [lo, hi), which it reorients positively. The mesh is halved over
 * two threads; both floating sums must come out as summed in order over all tetrahedra, so the
 * second half keeps each tetrahedron's terms (v/6 and its six edges) for the first to add after
 * its own. */
typedef struct quality_part {
	const double *xyz;
	int32_t *tets;
	float *cosa;   /* 6 cosines per tetrahedron, of the whole mesh */
	double *terms; /* NULL: summed here; else 7 per tetrahedron from lo */
	double thr, volume, sum_edge, min_c, max_c, max_radius_edge;
	int64_t lo, hi, n_pos, n_neg, n_degenerate, radius_edge_hist[CTW_RADIUS_EDGE_BINS];
} quality_part;

static void *quality_run(void *arg)
{
	static const int pair[6][2] = { { 0, 1 }, { 0, 2 }, { 0, 3 }, { 1, 2 }, { 1, 3 }, { 2, 3 } };
	/* on a copy: no cache line shared with the other thread */
	quality_part part = *(quality_part *)arg, *w = &part;
	int k;

	for (int64_t t = w->lo; t < w->hi; t++) {
		int32_t *c = w->tets + 4 * t;
		const double *p[4];
		double v = vol6(w->xyz, c), e[3][3], nrm[4][3], len[4], lmin = HUGE_VAL, num[3], x[3],
		       R, ratio, *term = w->terms ? w->terms + 7 * (t - w->lo) : NULL;
		if (v > w->thr)
			w->n_pos++;
		else if (v < -w->thr)
			w->n_neg++;
		if (v < 0.0) {
			int32_t s = c[2];
			c[2] = c[3];
			c[3] = s;
			v = -v;
		}
		if (v <= w->thr)
			w->n_degenerate++;
		if (term)
			term[0] = v / 6.0;
		else
			w->volume += v / 6.0;
		for (k = 0; k < 4; k++)
			p[k] = w->xyz + 3 * (int64_t)c[k];
		for (k = 0; k < 6; k++) {
			double d[3], l;
			sub3(p[pair[k][1]], p[pair[k][0]], d);
			l = sqrt(dot3(d, d));
			if (term)
				term[1 + k] = l;
			else
				w->sum_edge += l;
			lmin = l < lmin ? l : lmin;
		}
		/* circumradius: |a|^2 (b x c) + |b|^2 (c x a) + |c|^2 (a x b) over 2 a.(b x c) */
		for (k = 0; k < 3; k++)
			sub3(p[k + 1], p[0], e[k]);
		num[0] = num[1] = num[2] = 0.0;
		for (k = 0; k < 3; k++) {
			double wk = dot3(e[k], e[k]);
			cross3(e[(k + 1) % 3], e[(k + 2) % 3], x);
			num[0] += wk * x[0];
			num[1] += wk * x[1];
			num[2] += wk * x[2];
		}
		R = v > 0.0 ? sqrt(dot3(num, num)) / (2.0 * v) : INFINITY;
		ratio = lmin > 0.0 ? R / lmin : INFINITY;
		w->radius_edge_hist[radius_edge_bin(ratio)]++;
		if (ratio > w->max_radius_edge)
			w->max_radius_edge = ratio;
		/* outward normals of the faces opposite corners 0..3 (positive orientation) */
		{
			double a[3], b[3];
			sub3(p[2], p[1], a);
			sub3(p[3], p[1], b);
			cross3(a, b, nrm[0]);
			sub3(p[3], p[0], a);
			sub3(p[2], p[0], b);
			cross3(a, b, nrm[1]);
			sub3(p[1], p[0], a);
			sub3(p[3], p[0], b);
			cross3(a, b, nrm[2]);
			sub3(p[2], p[0], a);
			sub3(p[1], p[0], b);
			cross3(a, b, nrm[3]);
		}
		for (k = 0; k < 4; k++)
			len[k] = sqrt(dot3(nrm[k], nrm[k]));
		/* cosines only: acos is decreasing, so the extremes and the median need just four
		 * (an angle of 0 for a flat face is a cosine of 1) */
		for (k = 0; k < 6; k++) {
			int f = pair[k][0], g = pair[k][1];
			double l = len[f] * len[g], cs = 1.0;
			if (l > 0.0) {
				cs = -dot3(nrm[f], nrm[g]) / l;
				cs = cs > 1.0 ? 1.0 : cs < -1.0 ? -1.0 : cs;
			}
			w->cosa[6 * t + k] = (float)cs;
			w->min_c = cs < w->min_c ? cs : w->min_c;
			w->max_c = cs > w->max_c ? cs : w->max_c;
		}
	}
	*(quality_part *)arg = part;
	return NULL;
}

/* Dihedral angles: the angle at the edge shared by the faces opposite corners k and l is pi minus
 * the angle between their outward normals; the median is the mean of the two middle values of
 * all 6*n_tets angles. The radius-edge ratio of a flat tetrahedron is INFINITY. The mean edge is
 * over the six edges of every tetrahedron (an edge counts once per tetrahedron holding it).
 * n_boundary_tris is m->n_tris. Degenerate tetrahedra take no part in the majority vote of
 * orientations nor in n_inverted, but are still reoriented by their (noisy) sign. The result
 * does not depend on the threads: without the second one, this one does both halves. */
int ctw_mesh_quality_measure(ctw_ctx *ctx, ctw_tetmesh *m, ctw_mesh_quality *q)
{
	double lo[3], hi[3], bvol, thr;
	int64_t i, n = m->n_tets;
	quality_part w[2];
	pthread_t th;
	int started = 0, ret, k;

	memset(q, 0, sizeof(*q));
	q->n_points = m->n_points;
	q->n_tets = m->n_tets;
	q->n_boundary_tris = m->n_tris;
	if ((ret = ctw_tetmesh_check(ctx, "mesh", m)))
		return ret;
	if (n <= 0)
		return CTW_OK;
	for (k = 0; k < 3; k++) {
		lo[k] = m->n_points ? m->xyz[k] : 0.0;
		hi[k] = lo[k];
	}
	for (i = 1; i < m->n_points; i++)
		for (k = 0; k < 3; k++) {
			double v = m->xyz[3 * i + k];
			lo[k] = v < lo[k] ? v : lo[k];
			hi[k] = v > hi[k] ? v : hi[k];
		}
	bvol = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
	thr = 6.0 * 1e-12 * bvol; /* on six times the volume */
	memset(w, 0, sizeof(w));
	for (k = 0; k < 2; k++) {
		w[k].xyz = m->xyz;
		w[k].tets = m->tets;
		w[k].thr = thr;
		w[k].min_c = HUGE_VAL;
		w[k].max_c = -HUGE_VAL;
		w[k].lo = n * k / 2;
		w[k].hi = n * (k + 1) / 2;
	}
	if (!(w[0].cosa = w[1].cosa = alloc_n(ctx, 6 * (size_t)n, sizeof(float))) ||
	    !(w[1].terms = alloc_n(ctx, 7 * (size_t)(w[1].hi - w[1].lo), sizeof(double)))) {
		ctw_free(ctx, w[0].cosa);
		return CTW_ERR_NOMEM;
	}
	/* without a second thread, all on this one */
	started = pthread_create(&th, NULL, quality_run, &w[1]) == 0;
	if (!started) {
		w[0].hi = n;
		w[1].lo = w[1].hi = n;
	}
	quality_run(&w[0]);
	if (started)
		pthread_join(th, NULL);
	for (i = 0; i < w[1].hi - w[1].lo; i++) {
		w[0].volume += w[1].terms[7 * i];
		for (k = 1; k < 7; k++)
			w[0].sum_edge += w[1].terms[7 * i + k];
	}
	ctw_free(ctx, w[1].terms);
	q->n_inverted = w[0].n_pos + w[1].n_pos >= w[0].n_neg + w[1].n_neg ? w[0].n_neg + w[1].n_neg
									    : w[0].n_pos + w[1].n_pos;
	q->n_degenerate = w[0].n_degenerate + w[1].n_degenerate;
	q->volume_mm3 = w[0].volume;
	for (k = 0; k < CTW_RADIUS_EDGE_BINS; k++)
		q->radius_edge_hist[k] = w[0].radius_edge_hist[k] + w[1].radius_edge_hist[k];
	/* the first half's on ties, as in one pass */
	q->max_radius_edge =
		w[1].max_radius_edge > w[0].max_radius_edge ? w[1].max_radius_edge : w[0].max_radius_edge;
	q->min_dihedral_deg = acos(w[1].max_c > w[0].max_c ? w[1].max_c : w[0].max_c) * (180.0 / CTW_PI);
	q->max_dihedral_deg = acos(w[1].min_c < w[0].min_c ? w[1].min_c : w[0].min_c) * (180.0 / CTW_PI);
	q->mean_edge_mm = w[0].sum_edge / (6.0 * (double)n);
	{
		/* the angles' h-th and (h-1)-th smallest are the cosines' (na-1-h)-th and (na-h)-th */
		int64_t na = 6 * n, h = na / 2, kc = na - 1 - h;
		float at, above;
		if (!(ret = select_pair(ctx, w[0].cosa, na, kc, &at, &above)))
			q->median_dihedral_deg = 0.5 * (acos((double)above) + acos((double)at)) * (180.0 / CTW_PI);
	}
	ctw_free(ctx, w[0].cosa);
	return ret;
}

/* ---- boundary ------------------------------------------------------------------------------ */

typedef struct fkey {
	int32_t b, c, f; /* middle and largest node, face 4*t + k */
} fkey;

static int fkey_cmp(const void *x, const void *y)
{
	const fkey *a = x, *b = y;
	if (a->b != b->b)
		return a->b < b->b ? -1 : 1;
	if (a->c != b->c)
		return a->c < b->c ? -1 : 1;
	return (a->f > b->f) - (a->f < b->f);
}

/* (middle, largest) as one number: nodes are not negative, so this orders like fkey_cmp */
static uint64_t fkey_bc(const fkey *k)
{
	return (uint64_t)(uint32_t)k->b << 32 | (uint32_t)k->c;
}

static void fkey_sort(fkey *k, int64_t n)
{
	int64_t i, j;

	/* insertion sort on the packed pair up to a bucket's usual size (a node is the smallest of
	 * up to ~130 faces); qsort only for the rare large ones */
	if (n > 160) {
		qsort(k, (size_t)n, sizeof(*k), fkey_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		fkey t = k[i];
		uint64_t tk = fkey_bc(&t);
		for (j = i; j > 0 && fkey_bc(&k[j - 1]) > tk; j--)
			k[j] = k[j - 1];
		k[j] = t;
	}
}

/* Corners of the face opposite corner k, outward for a positively oriented tetrahedron. */
static const int face_corners[4][3] = { { 1, 2, 3 }, { 0, 3, 2 }, { 0, 1, 3 }, { 0, 2, 1 } };

/* The sorted node triples of the faces opposite corners 0..3 of c, from the corners' ranks:
 * no branches to mispredict (ties ranked by corner, so duplicate nodes still sort) */
static void tet_faces_sorted(const int32_t *c, int32_t s[4][3])
{
	int32_t v[4];
	int r[4], j, k;

	for (k = 0; k < 4; k++) {
		r[k] = 0;
		for (j = 0; j < 4; j++)
			r[k] += (c[j] < c[k]) | ((j < k) & (c[j] == c[k]));
	}
	for (k = 0; k < 4; k++)
		v[r[k]] = c[k];
	for (k = 0; k < 4; k++) {
		s[k][0] = v[r[k] == 0];
		s[k][1] = v[1 + (r[k] <= 1)];
		s[k][2] = v[2 + (r[k] <= 2)];
	}
}

/* Faces are sorted by their sorted node triple (counting sort by the smallest node, then a small
 * sort per bucket); the faces found once are output in the order of their tetrahedron and corner,
 * each oriented with its tetrahedron's fourth node behind it (by that tetrahedron's sign, so the
 * mesh need not be oriented). CTW_ERR_FORMAT for node indices out of range (ctw_tetmesh_check),
 * CTW_ERR_INVALID for more than 2^29 tetrahedra, CTW_ERR_NOMEM. */
int ctw_tetmesh_boundary(ctw_ctx *ctx, const ctw_tetmesh *m, int32_t **tris, int32_t **tet_of,
			 int64_t *n)
{
	int64_t nf = 4 * m->n_tets, f, v, i, nb = 0;
	int32_t *start = NULL, *ot = NULL, *oo = NULL;
	uint8_t *once = NULL;
	fkey *keys = NULL;
	int ret;

	*tris = NULL;
	*tet_of = NULL;
	*n = 0;
	if ((ret = ctw_tetmesh_check(ctx, "mesh", m)))
		return ret;
	if (m->n_tets > INT32_MAX / 4)
		return ctw_error(ctx, CTW_ERR_INVALID, "mesh", "too many tetrahedra (%lld)",
				 (long long)m->n_tets);
	ret = CTW_ERR_NOMEM;
	if (!(start = ctw_calloc(ctx, (size_t)m->n_points + 1, sizeof(*start))) ||
	    !(keys = alloc_n(ctx, (size_t)nf, sizeof(*keys))) ||
	    !(once = ctw_calloc(ctx, (size_t)nf + 1, 1)))
		goto out;
	for (f = 0; f < nf; f += 4) {
		int32_t s[4][3];
		tet_faces_sorted(m->tets + f, s);
		for (int k = 0; k < 4; k++)
			start[s[k][0] + 1]++;
	}
	for (v = 0; v < m->n_points; v++)
		start[v + 1] += start[v];
	for (f = 0; f < nf; f += 4) {
		int32_t s[4][3];
		tet_faces_sorted(m->tets + f, s);
		for (int k = 0; k < 4; k++) {
			fkey *e = &keys[start[s[k][0]]++];
			e->b = s[k][1];
			e->c = s[k][2];
			e->f = (int32_t)f + k;
		}
	}
	for (v = 0; v < m->n_points; v++) {
		int64_t b0 = v ? start[v - 1] : 0, b1 = start[v];
		fkey_sort(keys + b0, b1 - b0);
		for (i = b0; i < b1;) {
			int64_t j = i + 1;
			while (j < b1 && keys[j].b == keys[i].b && keys[j].c == keys[i].c)
				j++;
			if (j - i == 1) {
				once[keys[i].f] = 1;
				nb++;
			}
			i = j;
		}
	}
	ctw_free(ctx, keys);
	keys = NULL;
	if (!(ot = alloc_n(ctx, 3 * (size_t)nb, sizeof(*ot))) ||
	    !(oo = alloc_n(ctx, (size_t)nb, sizeof(*oo))))
		goto out;
	for (f = 0, i = 0; f < nf; f++) {
		const int32_t *c = m->tets + 4 * (f / 4);
		int k = (int)(f % 4), neg;
		if (!once[f])
			continue;
		neg = vol6(m->xyz, c) < 0.0;
		ot[3 * i] = c[face_corners[k][0]];
		ot[3 * i + 1] = c[face_corners[k][neg ? 2 : 1]];
		ot[3 * i + 2] = c[face_corners[k][neg ? 1 : 2]];
		oo[i] = (int32_t)(f / 4);
		i++;
	}
	*tris = ot;
	*tet_of = oo;
	*n = nb;
	ot = oo = NULL;
	ret = CTW_OK;
out:
	ctw_free(ctx, start);
	ctw_free(ctx, keys);
	ctw_free(ctx, once);
	ctw_free(ctx, ot);
	ctw_free(ctx, oo);
	return ret;
}

/* ---- point distance ------------------------------------------------------------------------ */

/* Cell index of coordinate x on an axis starting at lo with cells h wide, clamped to [0, dim). */
static int64_t cell_of(double x, double lo, double h, int64_t dim)
{
	double f = (x - lo) / h;
	if (!(f >= 0.0))
		return 0;
	if (f >= (double)dim)
		return dim - 1;
	return (int64_t)f;
}

/* The grid over b has about nb cells (at most 4 nb + 64) of edge h = (box volume / nb)^(1/3),
 * flat extents counted as 1e-3 of the largest. For each point of a, rings of cells around its
 * (clamped) cell are searched until the best distance is at most r*h after ring r: every point
 * further out is at least that far. */
int ctw_point_distance(ctw_ctx *ctx, const double *a, int64_t na, const double *b, int64_t nb,
		       double *mean, double *max)
{
	double lo[3], hi[3], ext[3], emax = 0.0, h, sum = 0.0, worst = 0.0;
	int64_t dims[3], ncells, i, k, *start = NULL, *idx = NULL;
	int ret = CTW_ERR_NOMEM;

	*mean = *max = 0.0;
	if (nb <= 0)
		return ctw_error(ctx, CTW_ERR_INVALID, "distance", "no points to measure the distance to");
	if (na <= 0)
		return CTW_OK;
	for (k = 0; k < 3; k++)
		lo[k] = hi[k] = b[k];
	for (i = 1; i < nb; i++)
		for (k = 0; k < 3; k++) {
			double v = b[3 * i + k];
			lo[k] = v < lo[k] ? v : lo[k];
			hi[k] = v > hi[k] ? v : hi[k];
		}
	for (k = 0; k < 3; k++) {
		ext[k] = hi[k] - lo[k];
		emax = ext[k] > emax ? ext[k] : emax;
	}
	if (!(emax > 0.0) || !isfinite(emax)) {
		h = 1.0;
		dims[0] = dims[1] = dims[2] = 1;
	} else {
		double vol = 1.0;
		for (k = 0; k < 3; k++)
			vol *= ext[k] > 1e-3 * emax ? ext[k] : 1e-3 * emax;
		h = cbrt(vol / (double)nb);
		for (;;) {
			for (k = 0; k < 3; k++)
				dims[k] = (int64_t)floor(ext[k] / h) + 1;
			if ((double)dims[0] * (double)dims[1] * (double)dims[2] <= 4.0 * (double)nb + 64.0)
				break;
			h *= 1.2;
		}
	}
	ncells = dims[0] * dims[1] * dims[2];
	if (!(start = ctw_calloc(ctx, (size_t)ncells + 1, sizeof(*start))) ||
	    !(idx = alloc_n(ctx, (size_t)nb, sizeof(*idx))))
		goto out;
	for (i = 0; i < nb; i++) {
		const double *p = b + 3 * i;
		int64_t cx = cell_of(p[0], lo[0], h, dims[0]), cy = cell_of(p[1], lo[1], h, dims[1]),
			cz = cell_of(p[2], lo[2], h, dims[2]);
		start[cx + dims[0] * (cy + dims[1] * cz) + 1]++;
	}
	for (i = 0; i < ncells; i++)
		start[i + 1] += start[i];
	for (i = 0; i < nb; i++) {
		const double *p = b + 3 * i;
		int64_t cx = cell_of(p[0], lo[0], h, dims[0]), cy = cell_of(p[1], lo[1], h, dims[1]),
			cz = cell_of(p[2], lo[2], h, dims[2]);
		idx[start[cx + dims[0] * (cy + dims[1] * cz)]++] = i;
	}
	for (i = ncells; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;
	for (i = 0; i < na; i++) {
		const double *p = a + 3 * i;
		int64_t c[3], r, rmax = 0;
		double best = HUGE_VAL;
		c[0] = cell_of(p[0], lo[0], h, dims[0]);
		c[1] = cell_of(p[1], lo[1], h, dims[1]);
		c[2] = cell_of(p[2], lo[2], h, dims[2]);
		for (k = 0; k < 3; k++) {
			int64_t x = c[k] > dims[k] - 1 - c[k] ? c[k] : dims[k] - 1 - c[k];
			rmax = x > rmax ? x : rmax;
		}
		for (r = 0; r <= rmax; r++) {
			int64_t x, y, z;
			for (z = c[2] - r; z <= c[2] + r; z++) {
				if (z < 0 || z >= dims[2])
					continue;
				for (y = c[1] - r; y <= c[1] + r; y++) {
					int full = z == c[2] - r || z == c[2] + r || y == c[1] - r ||
						   y == c[1] + r;
					if (y < 0 || y >= dims[1])
						continue;
					for (x = c[0] - r; x <= c[0] + r; x += full ? 1 : 2 * (r ? r : 1)) {
						int64_t cell, j;
						if (x < 0 || x >= dims[0])
							continue;
						cell = x + dims[0] * (y + dims[1] * z);
						for (j = start[cell]; j < start[cell + 1]; j++) {
							const double *qq = b + 3 * idx[j];
							double d[3], d2;
							sub3(p, qq, d);
							d2 = dot3(d, d);
							best = d2 < best ? d2 : best;
						}
					}
				}
			}
			if (best <= (double)r * h * (double)r * h)
				break;
		}
		best = sqrt(best);
		sum += best;
		worst = best > worst ? best : worst;
	}
	*mean = sum / (double)na;
	*max = worst;
	ret = CTW_OK;
out:
	ctw_free(ctx, start);
	ctw_free(ctx, idx);
	return ret;
}
