/* surface.c: triangle surfaces (ctw_surface): allocation, repair (merge points, drop degenerate,
 * duplicate and non-manifold triangles, orient outwards), checks (closed, manifold, free of
 * self-intersections), hole capping and integral measures. Pure C.
 *
 * Edges are found by a counting sort of the 3*n half-edges by their smaller vertex, then a small
 * sort by the larger one inside each bucket (O(n), no hashing). Half-edge h = 3*t + k runs from
 * corner k to corner (k+1)%3 of triangle t. Self-intersections are found on a uniform grid of
 * cells about two mean edges wide (cells sorted by a radix sort, so empty cells cost nothing);
 * each pair of triangles is tested in the one cell holding the low corner of the overlap of their
 * bounding boxes. */
#include "mesh.h"

#define CTW_PI 3.14159265358979323846

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HINT_OPEN "holes in the label map or a surface file with openings: cap them"
#define HINT_NM_EDGE "two parts touch along an edge: separate them (segment) or resample finer"
#define HINT_NM_VERT "two parts touch at a point: separate them (segment) or resample finer"
#define HINT_ISECT                                                                                 \
	"a wall thinner than about two voxels, or two structures touching: resample finer "        \
	"(segment --iso) or thicken the wall (segment --min-wall)"

/* ---- small helpers ------------------------------------------------------------------------- */

/* n elements of size bytes (at least one byte, so an empty array is not mistaken for a failure). */
static void *alloc_n(ctw_ctx *ctx, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return ctw_calloc(ctx, n, size); /* sets the overflow message */
	return ctw_malloc(ctx, n ? n * size : 1);
}

static void *zalloc_n(ctw_ctx *ctx, size_t n, size_t size)
{
	return ctw_calloc(ctx, n ? n : 1, size);
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

static double dist3(const double *a, const double *b)
{
	double d[3];
	sub3(a, b, d);
	return sqrt(dot3(d, d));
}

static int he_from(const int32_t *tris, int64_t h)
{
	return tris[h];
}

static int he_to(const int32_t *tris, int64_t h)
{
	return tris[h - h % 3 + (h % 3 + 1) % 3];
}

/* Bounding box of the points; returns the diagonal (0 when there are no points). */
static double bbox_points(const double *xyz, int64_t n, double lo[3], double hi[3])
{
	int64_t i;
	int k;

	for (k = 0; k < 3; k++) {
		lo[k] = n ? xyz[k] : 0.0;
		hi[k] = lo[k];
	}
	for (i = 1; i < n; i++)
		for (k = 0; k < 3; k++) {
			double v = xyz[3 * i + k];
			if (v < lo[k])
				lo[k] = v;
			if (v > hi[k])
				hi[k] = v;
		}
	return sqrt((hi[0] - lo[0]) * (hi[0] - lo[0]) + (hi[1] - lo[1]) * (hi[1] - lo[1]) +
		    (hi[2] - lo[2]) * (hi[2] - lo[2]));
}

static int check_indices(ctw_ctx *ctx, const ctw_surface *s)
{
	int64_t i;

	if (s->n_points < 0 || s->n_tris < 0 || s->n_points > INT32_MAX || s->n_tris > INT32_MAX / 4)
		return ctw_error(ctx, CTW_ERR_INVALID, "surface", "bad surface size %lld/%lld",
				 (long long)s->n_points, (long long)s->n_tris);
	for (i = 0; i < 3 * s->n_tris; i++)
		if (s->tris[i] < 0 || s->tris[i] >= s->n_points)
			return ctw_error(ctx, CTW_ERR_INVALID, "surface",
					 "triangle %lld refers to point %d of %lld", (long long)(i / 3),
					 (int)s->tris[i], (long long)s->n_points);
	return CTW_OK;
}

/* ---- edge map ------------------------------------------------------------------------------ */

typedef struct edge_map {
	int64_t n_edges;
	int32_t *he;    /* 3*n_tris half-edges grouped by edge, then by half-edge number */
	int32_t *first; /* n_edges + 1: edge e is he[first[e] .. first[e+1]) */
} edge_map;

typedef struct ekey {
	int32_t hi, h; /* larger vertex of the half-edge, half-edge */
} ekey;

static int ekey_cmp(const void *a, const void *b)
{
	const ekey *x = a, *y = b;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return (x->h > y->h) - (x->h < y->h);
}

static void ekey_sort(ekey *k, int64_t n)
{
	int64_t i, j;

	if (n > 32) {
		qsort(k, (size_t)n, sizeof(*k), ekey_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		ekey t = k[i];
		for (j = i; j > 0 && ekey_cmp(&k[j - 1], &t) > 0; j--)
			k[j] = k[j - 1];
		k[j] = t;
	}
}

static void edge_map_release(ctw_ctx *ctx, edge_map *em)
{
	ctw_free(ctx, em->he);
	ctw_free(ctx, em->first);
	memset(em, 0, sizeof(*em));
}

/* Groups the half-edges of tris (indices checked) by undirected edge. CTW_ERR_NOMEM. */
static int edge_map_build(ctw_ctx *ctx, const int32_t *tris, int64_t n_tris, int64_t n_points,
			  edge_map *em)
{
	int64_t nh = 3 * n_tris, h, i, v;
	int32_t *start = NULL;
	ekey *keys = NULL;
	int ret = CTW_ERR_NOMEM;

	memset(em, 0, sizeof(*em));
	if (!(start = zalloc_n(ctx, (size_t)n_points + 1, sizeof(*start))) ||
	    !(keys = alloc_n(ctx, (size_t)nh, sizeof(*keys))) ||
	    !(em->he = alloc_n(ctx, (size_t)nh, sizeof(*em->he))) ||
	    !(em->first = alloc_n(ctx, (size_t)nh + 1, sizeof(*em->first))))
		goto out;
	for (h = 0; h < nh; h++) {
		int a = he_from(tris, h), b = he_to(tris, h);
		start[(a < b ? a : b) + 1]++;
	}
	for (v = 0; v < n_points; v++)
		start[v + 1] += start[v];
	/* scatter; afterwards start[v] is the end of bucket v (the start of bucket v + 1) */
	for (h = 0; h < nh; h++) {
		int a = he_from(tris, h), b = he_to(tris, h);
		int lo = a < b ? a : b;
		keys[start[lo]].hi = a < b ? b : a;
		keys[start[lo]].h = (int32_t)h;
		start[lo]++;
	}
	for (v = 0; v < n_points; v++) {
		int64_t b0 = v ? start[v - 1] : 0, b1 = start[v];
		ekey_sort(keys + b0, b1 - b0);
		for (i = b0; i < b1; i++) {
			if (i == b0 || keys[i].hi != keys[i - 1].hi)
				em->first[em->n_edges++] = (int32_t)i;
			em->he[i] = keys[i].h;
		}
	}
	em->first[em->n_edges] = (int32_t)nh;
	ret = CTW_OK;
out:
	ctw_free(ctx, start);
	ctw_free(ctx, keys);
	if (ret)
		edge_map_release(ctx, em);
	return ret;
}

/* ---- union-find ---------------------------------------------------------------------------- */

static int32_t uf_find(int32_t *p, int32_t x)
{
	while (p[x] != x) {
		p[x] = p[p[x]];
		x = p[x];
	}
	return x;
}

/* Returns 1 when x and y were in different sets (now joined). */
static int uf_union(int32_t *p, int32_t x, int32_t y)
{
	x = uf_find(p, x);
	y = uf_find(p, y);
	if (x == y)
		return 0;
	if (x < y)
		p[y] = x;
	else
		p[x] = y;
	return 1;
}

/* ---- allocation ---------------------------------------------------------------------------- */

int ctw_surface_new(ctw_ctx *ctx, int64_t n_points, int64_t n_tris, ctw_surface **out)
{
	ctw_surface *s;

	*out = NULL;
	if (n_points < 0 || n_tris < 0 || n_points > INT32_MAX || n_tris > INT32_MAX / 4)
		return ctw_error(ctx, CTW_ERR_INVALID, "surface", "bad surface size %lld/%lld",
				 (long long)n_points, (long long)n_tris);
	s = ctw_calloc(ctx, 1, sizeof(*s));
	if (!s)
		return CTW_ERR_NOMEM;
	s->n_points = n_points;
	s->n_tris = n_tris;
	if (!(s->xyz = alloc_n(ctx, 3 * (size_t)n_points, sizeof(double))) ||
	    !(s->tris = alloc_n(ctx, 3 * (size_t)n_tris, sizeof(int32_t))) ||
	    !(s->marker = zalloc_n(ctx, (size_t)n_tris, sizeof(int32_t)))) {
		ctw_surface_free(ctx, s);
		return CTW_ERR_NOMEM;
	}
	*out = s;
	return CTW_OK;
}

void ctw_surface_free(ctw_ctx *ctx, ctw_surface *s)
{
	if (!s)
		return;
	ctw_free(ctx, s->xyz);
	ctw_free(ctx, s->tris);
	ctw_free(ctx, s->marker);
	ctw_free(ctx, s);
}

/* ---- measures ------------------------------------------------------------------------------ */

double ctw_surface_volume(const ctw_surface *s)
{
	const double *o;
	double v = 0.0;
	int64_t t;

	if (s->n_tris <= 0)
		return 0.0;
	o = s->xyz + 3 * s->tris[0]; /* reference point: exact for closed surfaces, fewer digits lost */
	for (t = 0; t < s->n_tris; t++) {
		double a[3], b[3], c[3], n[3];
		sub3(s->xyz + 3 * s->tris[3 * t], o, a);
		sub3(s->xyz + 3 * s->tris[3 * t + 1], o, b);
		sub3(s->xyz + 3 * s->tris[3 * t + 2], o, c);
		cross3(b, c, n);
		v += dot3(a, n);
	}
	return v / 6.0;
}

static double tri_area(const double *xyz, const int32_t *t)
{
	double e1[3], e2[3], n[3];
	sub3(xyz + 3 * t[1], xyz + 3 * t[0], e1);
	sub3(xyz + 3 * t[2], xyz + 3 * t[0], e2);
	cross3(e1, e2, n);
	return 0.5 * sqrt(dot3(n, n));
}

double ctw_surface_area(const ctw_surface *s)
{
	double a = 0.0;
	int64_t t;

	for (t = 0; t < s->n_tris; t++)
		a += tri_area(s->xyz, s->tris + 3 * t);
	return a;
}

/* The mean over the three edges of every triangle: on a closed surface every edge is counted
 * twice, so this equals the mean over unique edges. */
double ctw_surface_mean_edge(const ctw_surface *s)
{
	double sum = 0.0;
	int64_t h;

	if (s->n_tris <= 0)
		return 0.0;
	for (h = 0; h < 3 * s->n_tris; h++)
		sum += dist3(s->xyz + 3 * he_from(s->tris, h), s->xyz + 3 * he_to(s->tris, h));
	return sum / (double)(3 * s->n_tris);
}

/* ---- repair -------------------------------------------------------------------------------- */

/* rep[i]: the point that point i merges into (itself when kept), points closer than eps =
 * 1e-6 of the bounding-box diagonal merging into the first of them. Hash grid with cells of
 * 2 eps: the eps-ball of a point meets at most the 2x2x2 cells nearest to it. */
static int merge_points(ctw_ctx *ctx, const ctw_surface *s, double diag, const double lo[3],
			int32_t *rep, int64_t *n_merged)
{
	int64_t n = s->n_points, i, size = 16;
	double eps = 1e-6 * diag, cell = 2.0 * eps;
	uint64_t *keys = NULL;
	int32_t *head = NULL, *next = NULL;
	int shift = 60, ret = CTW_ERR_NOMEM;

	*n_merged = 0;
	if (!(diag > 0.0) || !isfinite(diag)) {
		/* all points equal (merged into the first), or coordinates not finite (left alone) */
		for (i = 0; i < n; i++)
			rep[i] = diag == 0.0 ? 0 : (int32_t)i;
		*n_merged = diag == 0.0 && n ? n - 1 : 0;
		return CTW_OK;
	}
	while (size < 2 * n) {
		size *= 2;
		shift--;
	}
	if (!(keys = zalloc_n(ctx, (size_t)size, sizeof(*keys))) ||
	    !(head = alloc_n(ctx, (size_t)size, sizeof(*head))) ||
	    !(next = alloc_n(ctx, (size_t)n, sizeof(*next))))
		goto out;
	for (i = 0; i < n; i++) {
		const double *p = s->xyz + 3 * i;
		int64_t c[3], d[3], own = -1;
		int k, corner, found = 0;
		for (k = 0; k < 3; k++) {
			double f = (p[k] - lo[k]) / cell;
			c[k] = (int64_t)floor(f);
			d[k] = f - (double)c[k] < 0.5 ? -1 : 1;
		}
		for (corner = 0; corner < 8 && !found; corner++) {
			uint64_t key = 0, slot;
			int32_t j;
			for (k = 0; k < 3; k++) {
				/* + 2: the cell below the first is 1, so no key is 0 (empty) */
				int64_t q = c[k] + ((corner >> k) & 1 ? d[k] : 0) + 2;
				key |= (uint64_t)q << (21 * k);
			}
			slot = (key * 0x9E3779B97F4A7C15ull) >> shift;
			while (keys[slot] && keys[slot] != key)
				slot = (slot + 1) & (uint64_t)(size - 1);
			if (corner == 0) {
				own = (int64_t)slot;
				if (!keys[slot]) {
					keys[slot] = key;
					head[slot] = -1;
				}
			}
			if (keys[slot] != key)
				continue;
			for (j = head[slot]; j >= 0; j = next[j])
				if (dist3(p, s->xyz + 3 * (int64_t)j) <= eps) {
					rep[i] = j;
					found = 1;
					break;
				}
		}
		if (found) {
			(*n_merged)++;
		} else {
			rep[i] = (int32_t)i;
			next[i] = head[own];
			head[own] = (int32_t)i;
		}
	}
	ret = CTW_OK;
out:
	ctw_free(ctx, keys);
	ctw_free(ctx, head);
	ctw_free(ctx, next);
	return ret;
}

/* Moves the triangles with keep[t] != 0 to the front (order kept, markers with them). */
static void compact_tris(ctw_surface *s, const uint8_t *keep)
{
	int64_t t, w = 0;

	for (t = 0; t < s->n_tris; t++) {
		if (!keep[t])
			continue;
		if (w != t) {
			memmove(s->tris + 3 * w, s->tris + 3 * t, 3 * sizeof(int32_t));
			s->marker[w] = s->marker[t];
		}
		w++;
	}
	s->n_tris = w;
}

typedef struct tkey {
	int32_t b, c, t; /* middle and largest vertex, triangle */
} tkey;

static int tkey_cmp(const void *x, const void *y)
{
	const tkey *a = x, *b = y;
	if (a->b != b->b)
		return a->b < b->b ? -1 : 1;
	if (a->c != b->c)
		return a->c < b->c ? -1 : 1;
	return (a->t > b->t) - (a->t < b->t);
}

static void tkey_sort(tkey *k, int64_t n)
{
	int64_t i, j;

	if (n > 32) {
		qsort(k, (size_t)n, sizeof(*k), tkey_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		tkey t = k[i];
		for (j = i; j > 0 && tkey_cmp(&k[j - 1], &t) > 0; j--)
			k[j] = k[j - 1];
		k[j] = t;
	}
}

static void sort3(const int32_t *t, int32_t *s)
{
	int32_t a = t[0], b = t[1], c = t[2], x;
	if (a > b) {
		x = a;
		a = b;
		b = x;
	}
	if (b > c) {
		x = b;
		b = c;
		c = x;
	}
	if (a > b) {
		x = a;
		a = b;
		b = x;
	}
	s[0] = a;
	s[1] = b;
	s[2] = c;
}

/* Clears keep[t] of every triangle with the same vertex set as an earlier one. */
static int mark_duplicates(ctw_ctx *ctx, const ctw_surface *s, uint8_t *keep, int64_t *n_dup)
{
	int64_t n = s->n_tris, t, v, i;
	int32_t *start = NULL;
	tkey *keys = NULL;

	*n_dup = 0;
	if (!(start = zalloc_n(ctx, (size_t)s->n_points + 1, sizeof(*start))) ||
	    !(keys = alloc_n(ctx, (size_t)n, sizeof(*keys)))) {
		ctw_free(ctx, start);
		return CTW_ERR_NOMEM;
	}
	for (t = 0; t < n; t++) {
		int32_t q[3];
		sort3(s->tris + 3 * t, q);
		start[q[0] + 1]++;
	}
	for (v = 0; v < s->n_points; v++)
		start[v + 1] += start[v];
	for (t = 0; t < n; t++) {
		int32_t q[3];
		sort3(s->tris + 3 * t, q);
		keys[start[q[0]]].b = q[1];
		keys[start[q[0]]].c = q[2];
		keys[start[q[0]]].t = (int32_t)t;
		start[q[0]]++;
	}
	for (v = 0; v < s->n_points; v++) {
		int64_t b0 = v ? start[v - 1] : 0, b1 = start[v];
		tkey_sort(keys + b0, b1 - b0);
		for (i = b0 + 1; i < b1; i++)
			if (keys[i].b == keys[i - 1].b && keys[i].c == keys[i - 1].c) {
				keep[keys[i].t] = 0;
				(*n_dup)++;
			}
	}
	ctw_free(ctx, start);
	ctw_free(ctx, keys);
	return CTW_OK;
}

/* Sign of orient2d(l, h, q) in the xy-plane for the edge from point il to point ih (il < ih, so
 * both triangles of an edge get the same value), with q moved by (eps, eps^2) when it lies on the
 * edge's line (simulation of simplicity): a ray through an edge or a vertex then hits exactly one
 * of the triangles around it, or none. 0 only for an edge that is a point in projection. */
static int edge_side(const double *xyz, int32_t il, int32_t ih, const double *q)
{
	const double *l = xyz + 3 * (int64_t)il, *h = xyz + 3 * (int64_t)ih;
	double dx = h[0] - l[0], dy = h[1] - l[1];
	double o = dx * (q[1] - l[1]) - dy * (q[0] - l[0]);

	if (o != 0.0)
		return o > 0.0 ? 1 : -1;
	if (dy != 0.0)
		return dy > 0.0 ? -1 : 1;
	return dx > 0.0 ? 1 : dx < 0.0 ? -1 : 0;
}

/* The ray from q towards +z crosses triangle c (above q). */
static int ray_hits(const double *xyz, const int32_t *c, const double *q)
{
	const double *a = xyz + 3 * (int64_t)c[0];
	double e1[3], e2[3], n[3], z;
	int k, side[3];

	for (k = 0; k < 3; k++) {
		int32_t i = c[k], j = c[(k + 1) % 3];
		side[k] = i < j ? edge_side(xyz, i, j, q) : -edge_side(xyz, j, i, q);
		if (!side[k])
			return 0;
	}
	if (side[0] != side[1] || side[1] != side[2])
		return 0;
	sub3(xyz + 3 * (int64_t)c[1], a, e1);
	sub3(xyz + 3 * (int64_t)c[2], a, e2);
	cross3(e1, e2, n);
	if (n[2] == 0.0)
		return 0;
	z = a[2] - (n[0] * (q[0] - a[0]) + n[1] * (q[1] - a[1])) / n[2];
	return z > q[2];
}

/* depth[c] = 1 when a point of component c (sample, 3 per component) lies inside an odd number of
 * the other components: the parity of the crossings of a ray towards +z with their triangles,
 * found through a grid over the xy bounding box of the live triangles. */
static int nesting_parity(ctw_ctx *ctx, const ctw_surface *s, const uint8_t *keep,
			  const int32_t *comp, const double *sample, int64_t n_comp, uint8_t *depth)
{
	int64_t n = s->n_tris, n_live = 0, t, i, nx, ny, n_ent = 0;
	double lo[2] = { HUGE_VAL, HUGE_VAL }, hi[2] = { -HUGE_VAL, -HUGE_VAL }, h, ext, size = 0.0;
	int32_t *start = NULL, *ent = NULL;
	int k, pass;

	memset(depth, 0, (size_t)n_comp);
	if (n_comp < 2)
		return CTW_OK;
	for (t = 0; t < n; t++) {
		if (!keep[t])
			continue;
		n_live++;
		for (i = 0; i < 2; i++) {
			double bl = HUGE_VAL, bh = -HUGE_VAL;
			for (k = 0; k < 3; k++) {
				double v = s->xyz[3 * (int64_t)s->tris[3 * t + k] + i];
				bl = v < bl ? v : bl;
				bh = v > bh ? v : bh;
			}
			lo[i] = bl < lo[i] ? bl : lo[i];
			hi[i] = bh > hi[i] ? bh : hi[i];
			size += bh - bl;
		}
	}
	ext = fmax(hi[0] - lo[0], hi[1] - lo[1]);
	if (!(ext > 0.0) || !isfinite(ext))
		return CTW_OK;
	/* about one cell per triangle, but not smaller than the triangles' mean xy extent */
	h = sqrt(fmax(hi[0] - lo[0], 1e-3 * ext) * fmax(hi[1] - lo[1], 1e-3 * ext) / (double)n_live);
	h = fmax(h, size / (2.0 * (double)n_live));
	nx = (int64_t)floor((hi[0] - lo[0]) / h) + 1;
	ny = (int64_t)floor((hi[1] - lo[1]) / h) + 1;
	while ((double)nx * (double)ny > 4.0 * (double)n_live + 64.0) {
		h *= 1.2;
		nx = (int64_t)floor((hi[0] - lo[0]) / h) + 1;
		ny = (int64_t)floor((hi[1] - lo[1]) / h) + 1;
	}
	if (!(start = zalloc_n(ctx, (size_t)(nx * ny) + 1, sizeof(*start))))
		return CTW_ERR_NOMEM;
	/* pass 0 counts the cells of every triangle's xy box, pass 1 fills them */
	for (pass = 0; pass < 2; pass++) {
		for (t = 0; t < n; t++) {
			int64_t x0, x1, y0, y1, x, y;
			double bl[2] = { HUGE_VAL, HUGE_VAL }, bh[2] = { -HUGE_VAL, -HUGE_VAL };
			if (!keep[t])
				continue;
			for (k = 0; k < 3; k++)
				for (i = 0; i < 2; i++) {
					double v = s->xyz[3 * (int64_t)s->tris[3 * t + k] + i];
					bl[i] = v < bl[i] ? v : bl[i];
					bh[i] = v > bh[i] ? v : bh[i];
				}
			x0 = (int64_t)floor((bl[0] - lo[0]) / h);
			x1 = (int64_t)floor((bh[0] - lo[0]) / h);
			y0 = (int64_t)floor((bl[1] - lo[1]) / h);
			y1 = (int64_t)floor((bh[1] - lo[1]) / h);
			x1 = x1 >= nx ? nx - 1 : x1;
			y1 = y1 >= ny ? ny - 1 : y1;
			for (y = y0; y <= y1; y++)
				for (x = x0; x <= x1; x++) {
					if (pass == 0)
						n_ent++, start[x + nx * y + 1]++;
					else
						ent[start[x + nx * y]++] = (int32_t)t;
				}
		}
		if (pass == 0) {
			for (i = 0; i < nx * ny; i++)
				start[i + 1] += start[i];
			if (n_ent > INT32_MAX || !(ent = alloc_n(ctx, (size_t)n_ent, sizeof(*ent)))) {
				ctw_free(ctx, start);
				return n_ent > INT32_MAX ? ctw_error(ctx, CTW_ERR_NOMEM, "surface",
								     "too many grid entries") : CTW_ERR_NOMEM;
			}
		}
	}
	for (i = nx * ny; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;
	for (i = 0; i < n_comp; i++) {
		const double *q = sample + 3 * i;
		int64_t x = (int64_t)floor((q[0] - lo[0]) / h), y = (int64_t)floor((q[1] - lo[1]) / h), j;
		int parity = 0;
		x = x < 0 ? 0 : x >= nx ? nx - 1 : x;
		y = y < 0 ? 0 : y >= ny ? ny - 1 : y;
		for (j = start[x + nx * y]; j < start[x + nx * y + 1]; j++) {
			int32_t u = ent[j];
			if (comp[u] != i && ray_hits(s->xyz, s->tris + 3 * (int64_t)u, q))
				parity ^= 1;
		}
		depth[i] = (uint8_t)parity;
	}
	ctw_free(ctx, start);
	ctw_free(ctx, ent);
	return CTW_OK;
}

/* Orients the live triangles: breadth-first over the manifold neighbours nb[] (half-edge
 * opposite each half-edge, -1 for none) per component, then flips each whole component whose
 * signed volume has the wrong sign for its nesting: a component inside an odd number of others
 * (the inner wall of a shell, a cavity) encloses negative volume, the others positive. */
static int orient(ctw_ctx *ctx, ctw_surface *s, const uint8_t *keep, const int32_t *nb,
		  int64_t *n_flipped)
{
	int64_t n = s->n_tris, t, i, head, tail, n_comp = 0, cap = 16;
	int32_t *comp = NULL, *queue = NULL;
	uint8_t *flip = NULL, *depth = NULL;
	double *vol = NULL, *sample = NULL, ref[3] = { 0, 0, 0 };
	int ret = CTW_ERR_NOMEM;

	*n_flipped = 0;
	if (!(comp = alloc_n(ctx, (size_t)n, sizeof(*comp))) ||
	    !(queue = alloc_n(ctx, (size_t)n, sizeof(*queue))) ||
	    !(flip = zalloc_n(ctx, (size_t)n, 1)) ||
	    !(vol = alloc_n(ctx, (size_t)cap, sizeof(*vol))) ||
	    !(sample = alloc_n(ctx, 3 * (size_t)cap, sizeof(*sample))))
		goto out;
	for (t = 0; t < n; t++)
		comp[t] = -1;
	for (t = 0; t < n; t++)
		if (keep[t]) {
			memcpy(ref, s->xyz + 3 * (int64_t)s->tris[3 * t], sizeof(ref));
			break;
		}
	for (t = 0; t < n; t++) {
		const int32_t *c = s->tris + 3 * t;
		if (!keep[t] || comp[t] >= 0)
			continue;
		if (n_comp == cap) {
			double *v2, *s2;
			if (!(v2 = ctw_realloc(ctx, vol, 2 * (size_t)cap * sizeof(*vol))))
				goto out;
			vol = v2;
			if (!(s2 = ctw_realloc(ctx, sample, 6 * (size_t)cap * sizeof(*sample))))
				goto out;
			sample = s2;
			cap *= 2;
		}
		vol[n_comp] = 0.0;
		for (i = 0; i < 3; i++)
			sample[3 * n_comp + i] = (s->xyz[3 * (int64_t)c[0] + i] +
						  s->xyz[3 * (int64_t)c[1] + i] +
						  s->xyz[3 * (int64_t)c[2] + i]) / 3.0;
		head = tail = 0;
		queue[tail++] = (int32_t)t;
		comp[t] = (int32_t)n_comp;
		while (head < tail) {
			int32_t u = queue[head++];
			const int32_t *cu = s->tris + 3 * (int64_t)u;
			double a[3], b[3], d[3], x[3];
			int k;
			sub3(s->xyz + 3 * (int64_t)cu[0], ref, a);
			sub3(s->xyz + 3 * (int64_t)cu[1], ref, b);
			sub3(s->xyz + 3 * (int64_t)cu[2], ref, d);
			cross3(b, d, x);
			vol[n_comp] += (flip[u] ? -1.0 : 1.0) * dot3(a, x);
			for (k = 0; k < 3; k++) {
				int64_t h = 3 * (int64_t)u + k, g = nb[h];
				int32_t w;
				int same;
				if (g < 0)
					continue;
				w = (int32_t)(g / 3);
				if (!keep[w] || comp[w] >= 0)
					continue;
				/* consistent when the two run the edge in opposite directions */
				same = he_from(s->tris, h) == he_from(s->tris, g);
				flip[w] = (uint8_t)(flip[u] ^ same);
				comp[w] = (int32_t)n_comp;
				queue[tail++] = w;
			}
		}
		n_comp++;
	}
	if (!(depth = alloc_n(ctx, (size_t)n_comp, 1)))
		goto out;
	if ((ret = nesting_parity(ctx, s, keep, comp, sample, n_comp, depth)))
		goto out;
	for (t = 0; t < n; t++) {
		if (!keep[t])
			continue;
		if ((vol[comp[t]] < 0.0) != (depth[comp[t]] == 1))
			flip[t] ^= 1;
		if (flip[t]) {
			int32_t x = s->tris[3 * t + 1];
			s->tris[3 * t + 1] = s->tris[3 * t + 2];
			s->tris[3 * t + 2] = x;
			(*n_flipped)++;
		}
	}
	ret = CTW_OK;
out:
	ctw_free(ctx, comp);
	ctw_free(ctx, queue);
	ctw_free(ctx, flip);
	ctw_free(ctx, depth);
	ctw_free(ctx, vol);
	ctw_free(ctx, sample);
	return ret;
}

/* Removes triangles so that every edge has at most two: on such an edge the first live triangle
 * (lowest index) is kept with the first later one running the edge the other way (a consistently
 * oriented pair), or else the second; the rest go. Greedy in edge order. Fills nb[] with the
 * opposite half-edge across each edge that ends up with exactly two live triangles. */
static int make_manifold(ctw_ctx *ctx, ctw_surface *s, uint8_t *keep, int32_t *nb,
			 int64_t *n_removed)
{
	edge_map em;
	int64_t e, i;
	int ret;

	*n_removed = 0;
	ret = edge_map_build(ctx, s->tris, s->n_tris, s->n_points, &em);
	if (ret)
		return ret;
	for (i = 0; i < 3 * s->n_tris; i++)
		nb[i] = -1;
	for (e = 0; e < em.n_edges; e++) {
		int64_t b0 = em.first[e], b1 = em.first[e + 1], k0 = -1, k1 = -1, alive = 0;
		for (i = b0; i < b1; i++)
			alive += keep[em.he[i] / 3];
		if (alive < 2)
			continue;
		for (i = b0; i < b1; i++) {
			int32_t h = em.he[i];
			if (!keep[h / 3])
				continue;
			if (k0 < 0)
				k0 = h;
			else if (k1 < 0 && he_from(s->tris, h) == he_to(s->tris, k0))
				k1 = h;
		}
		if (k1 < 0)
			for (i = b0; i < b1; i++)
				if (keep[em.he[i] / 3] && em.he[i] != k0) {
					k1 = em.he[i];
					break;
				}
		if (alive > 2)
			for (i = b0; i < b1; i++) {
				int32_t h = em.he[i];
				if (keep[h / 3] && h != k0 && h != k1) {
					keep[h / 3] = 0;
					(*n_removed)++;
				}
			}
		nb[k0] = (int32_t)k1;
		nb[k1] = (int32_t)k0;
	}
	edge_map_release(ctx, &em);
	return CTW_OK;
}

/* Order of work: (1) merge points closer than 1e-6 of the bounding-box diagonal into the first
 * of them (hash grid); (2) drop triangles with a repeated vertex or twice their area below 1e-12
 * of the diagonal squared; (3) drop later triangles with the same vertex set as an earlier one
 * (either orientation); (4) on each edge with more than two triangles keep the first and the
 * first later one running the edge the other way (else the second), greedily in edge order;
 * (5) orient each edge-connected component by a breadth-first walk from its lowest triangle,
 * then flip whole components so that those inside an odd number of other components (the inner
 * wall of a shell, cavities) enclose negative volume and all others positive, nesting found by
 * ray parity; (6) compact: unused points removed, markers kept with their triangles, order
 * kept. The arrays are compacted in place and not shrunk. Sets the repair fields of rep only.
 * CTW_ERR_INVALID for indices out of range; CTW_ERR_NOMEM, after which s is still a valid
 * surface, possibly partly repaired. Removing degenerate or non-manifold triangles can leave
 * holes (a zero-area sliver between two others, say): ctw_surface_check reports them. */
int ctw_surface_repair(ctw_ctx *ctx, ctw_surface *s, ctw_surface_report *rep)
{
	return ctw_surface_repair_merge(ctx, s, 0.0, rep);
}

int ctw_surface_repair_merge(ctw_ctx *ctx, ctw_surface *s, double merge_mm, ctw_surface_report *rep)
{
	double lo[3], hi[3], diag, thr;
	int32_t *map = NULL, *nb = NULL;
	uint8_t *keep = NULL;
	int64_t t, i, w;
	int ret;

	rep->merged_points = rep->removed_degenerate = rep->removed_duplicate = 0;
	rep->removed_nonmanifold = rep->flipped = 0;
	ret = check_indices(ctx, s);
	if (ret)
		return ret;
	ret = CTW_ERR_NOMEM;
	diag = bbox_points(s->xyz, s->n_points, lo, hi);
	if (!(map = alloc_n(ctx, (size_t)s->n_points, sizeof(*map))) ||
	    !(keep = alloc_n(ctx, (size_t)s->n_tris, 1)))
		goto out;
	if ((ret = merge_points(ctx, s, merge_mm > 1e-6 * diag ? merge_mm / 1e-6 : diag, lo, map, &rep->merged_points)))
		goto out;
	/* degenerate: a repeated vertex, or twice the area below 1e-12 of the diagonal squared */
	thr = 1e-12 * diag * diag;
	for (t = 0; t < s->n_tris; t++) {
		int32_t *c = s->tris + 3 * t;
		double e1[3], e2[3], x[3];
		for (i = 0; i < 3; i++)
			c[i] = map[c[i]];
		keep[t] = 1;
		if (c[0] == c[1] || c[1] == c[2] || c[0] == c[2]) {
			keep[t] = 0;
		} else {
			sub3(s->xyz + 3 * c[1], s->xyz + 3 * c[0], e1);
			sub3(s->xyz + 3 * c[2], s->xyz + 3 * c[0], e2);
			cross3(e1, e2, x);
			if (!(dot3(x, x) > thr * thr))
				keep[t] = 0;
		}
		rep->removed_degenerate += !keep[t];
	}
	compact_tris(s, keep);
	for (t = 0; t < s->n_tris; t++)
		keep[t] = 1;
	if ((ret = mark_duplicates(ctx, s, keep, &rep->removed_duplicate)))
		goto out;
	compact_tris(s, keep);
	for (t = 0; t < s->n_tris; t++)
		keep[t] = 1;
	ret = CTW_ERR_NOMEM;
	if (!(nb = alloc_n(ctx, 3 * (size_t)s->n_tris, sizeof(*nb))))
		goto out;
	if ((ret = make_manifold(ctx, s, keep, nb, &rep->removed_nonmanifold)))
		goto out;
	if ((ret = orient(ctx, s, keep, nb, &rep->flipped)))
		goto out;
	compact_tris(s, keep);
	/* drop unused points */
	for (i = 0; i < s->n_points; i++)
		map[i] = -1;
	for (i = 0; i < 3 * s->n_tris; i++)
		map[s->tris[i]] = 0;
	for (i = 0, w = 0; i < s->n_points; i++) {
		if (map[i] < 0)
			continue;
		map[i] = (int32_t)w;
		if (w != i)
			memmove(s->xyz + 3 * w, s->xyz + 3 * i, 3 * sizeof(double));
		w++;
	}
	s->n_points = w;
	for (i = 0; i < 3 * s->n_tris; i++)
		s->tris[i] = map[s->tris[i]];
	ret = CTW_OK;
out:
	ctw_free(ctx, map);
	ctw_free(ctx, keep);
	ctw_free(ctx, nb);
	return ret;
}

/* ---- triangle-triangle tests --------------------------------------------------------------- */

static double orient2(const double *a, const double *b, const double *c)
{
	return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

/* Closed 2D segments pq and rs intersect. */
static int seg_seg_2d(const double *p, const double *q, const double *r, const double *s)
{
	double d1 = orient2(r, s, p), d2 = orient2(r, s, q), d3 = orient2(p, q, r),
	       d4 = orient2(p, q, s);
	int k;

	if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)))
		return 1;
	/* collinear touching cases */
	if (d1 == 0 || d2 == 0 || d3 == 0 || d4 == 0) {
		const double *x[4][3] = { { r, s, p }, { r, s, q }, { p, q, r }, { p, q, s } };
		double d[4] = { d1, d2, d3, d4 };
		for (k = 0; k < 4; k++) {
			const double *a = x[k][0], *b = x[k][1], *c = x[k][2];
			if (d[k] == 0 && fmin(a[0], b[0]) <= c[0] && c[0] <= fmax(a[0], b[0]) &&
			    fmin(a[1], b[1]) <= c[1] && c[1] <= fmax(a[1], b[1]))
				return 1;
		}
	}
	return 0;
}

/* Closed 2D point-in-triangle. */
static int point_in_tri_2d(const double *p, const double *a, const double *b, const double *c)
{
	double d1 = orient2(a, b, p), d2 = orient2(b, c, p), d3 = orient2(c, a, p);
	int neg = d1 < 0 || d2 < 0 || d3 < 0, pos = d1 > 0 || d2 > 0 || d3 > 0;
	return !(neg && pos);
}

/* Coplanar triangles (normal n) overlap, projected on the plane of n's two smaller axes. */
static int coplanar_overlap(const double *n, const double *const v[3], const double *const u[3])
{
	double V[3][2], U[3][2];
	int ax = 0, i, j, i0, i1;

	if (fabs(n[1]) > fabs(n[ax]))
		ax = 1;
	if (fabs(n[2]) > fabs(n[ax]))
		ax = 2;
	i0 = ax == 0 ? 1 : 0;
	i1 = ax == 2 ? 1 : 2;
	for (i = 0; i < 3; i++) {
		V[i][0] = v[i][i0];
		V[i][1] = v[i][i1];
		U[i][0] = u[i][i0];
		U[i][1] = u[i][i1];
	}
	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			if (seg_seg_2d(V[i], V[(i + 1) % 3], U[j], U[(j + 1) % 3]))
				return 1;
	return point_in_tri_2d(V[0], U[0], U[1], U[2]) || point_in_tri_2d(U[0], V[0], V[1], V[2]);
}

/* Drops axis ax: the 2D coordinates of p on the plane of the other two. */
static void proj2(const double *p, int ax, double *q)
{
	q[0] = p[ax == 0 ? 1 : 0];
	q[1] = p[ax == 2 ? 1 : 2];
}

/* Edge pq of one triangle (dp, dq: signed distances to the plane of t, 0 when within the
 * tolerance) meets triangle t, projected along its normal's largest axis ax. */
static int edge_meets_tri(const double *p, const double *q, double dp, double dq,
			  const double *const t[3], int ax)
{
	double T[3][2], P[2], Q[2];
	int i;

	if ((dp > 0 && dq > 0) || (dp < 0 && dq < 0))
		return 0;
	for (i = 0; i < 3; i++)
		proj2(t[i], ax, T[i]);
	if (dp == 0 && dq == 0) { /* in the plane */
		proj2(p, ax, P);
		proj2(q, ax, Q);
		for (i = 0; i < 3; i++)
			if (seg_seg_2d(P, Q, T[i], T[(i + 1) % 3]))
				return 1;
		return point_in_tri_2d(P, T[0], T[1], T[2]);
	}
	if (dp == 0) {
		proj2(p, ax, P);
	} else if (dq == 0) {
		proj2(q, ax, P);
	} else {
		double x[3], f = dp / (dp - dq);
		for (i = 0; i < 3; i++)
			x[i] = p[i] + (q[i] - p[i]) * f;
		proj2(x, ax, P);
	}
	return point_in_tri_2d(P, T[0], T[1], T[2]);
}

static int largest_axis(const double *n)
{
	int ax = 0;
	if (fabs(n[1]) > fabs(n[ax]))
		ax = 1;
	if (fabs(n[2]) > fabs(n[ax]))
		ax = 2;
	return ax;
}

/* Triangles v and u (no shared vertex) intersect or touch; distances to the other's plane below
 * tol count as zero. Not coplanar, any intersection ends on an edge of one of them, so the six
 * edge-triangle tests decide; with one in the other's plane, a 2D overlap test. */
static int tri_tri(const double *const v[3], const double *const u[3], double tol)
{
	double n1[3], n2[3], e1[3], e2[3], du[3], dv[3], l1, l2;
	int i;

	sub3(v[1], v[0], e1);
	sub3(v[2], v[0], e2);
	cross3(e1, e2, n1);
	l1 = sqrt(dot3(n1, n1));
	if (l1 == 0.0)
		return 0;
	for (i = 0; i < 3; i++) {
		double d[3];
		sub3(u[i], v[0], d);
		du[i] = dot3(n1, d) / l1;
		if (fabs(du[i]) <= tol)
			du[i] = 0.0;
	}
	if ((du[0] > 0 && du[1] > 0 && du[2] > 0) || (du[0] < 0 && du[1] < 0 && du[2] < 0))
		return 0;
	sub3(u[1], u[0], e1);
	sub3(u[2], u[0], e2);
	cross3(e1, e2, n2);
	l2 = sqrt(dot3(n2, n2));
	if (l2 == 0.0)
		return 0;
	for (i = 0; i < 3; i++) {
		double d[3];
		sub3(v[i], u[0], d);
		dv[i] = dot3(n2, d) / l2;
		if (fabs(dv[i]) <= tol)
			dv[i] = 0.0;
	}
	if ((dv[0] > 0 && dv[1] > 0 && dv[2] > 0) || (dv[0] < 0 && dv[1] < 0 && dv[2] < 0))
		return 0;
	if (du[0] == 0 && du[1] == 0 && du[2] == 0)
		return coplanar_overlap(n1, v, u);
	if (dv[0] == 0 && dv[1] == 0 && dv[2] == 0)
		return coplanar_overlap(n2, v, u);
	{
		int a1 = largest_axis(n1), a2 = largest_axis(n2);
		for (i = 0; i < 3; i++) {
			int j = (i + 1) % 3;
			if (edge_meets_tri(u[i], u[j], du[i], du[j], v, a1) ||
			    edge_meets_tri(v[i], v[j], dv[i], dv[j], u, a2))
				return 1;
		}
	}
	return 0;
}

/* Segment pq properly crosses the interior of triangle abc (not merely touching, margin rel). */
static int seg_cross_tri(const double *p, const double *q, const double *a, const double *b,
			 const double *c, double rel)
{
	double e1[3], e2[3], n[3], d[3], x[3], sp, sq, ln, w[3], area2, l[3];
	int k;

	sub3(b, a, e1);
	sub3(c, a, e2);
	cross3(e1, e2, n);
	ln = sqrt(dot3(n, n));
	if (ln == 0.0)
		return 0;
	sub3(p, a, d);
	sp = dot3(n, d) / ln;
	sub3(q, a, d);
	sq = dot3(n, d) / ln;
	if (!((sp > 0 && sq < 0) || (sp < 0 && sq > 0)))
		return 0;
	if (fmin(fabs(sp), fabs(sq)) <= rel * dist3(p, q))
		return 0;
	for (k = 0; k < 3; k++)
		x[k] = p[k] + (q[k] - p[k]) * sp / (sp - sq);
	/* barycentric coordinates from sub-areas, signed along n */
	area2 = ln * ln;
	{
		const double *t[3] = { a, b, c };
		for (k = 0; k < 3; k++) {
			double f[3], g[3], m[3];
			sub3(t[(k + 1) % 3], x, f);
			sub3(t[(k + 2) % 3], x, g);
			cross3(f, g, m);
			w[k] = dot3(m, n) / area2;
		}
	}
	for (k = 0; k < 3; k++)
		l[k] = w[k];
	return l[0] > rel && l[1] > rel && l[2] > rel;
}

/* Unit normal of triangle (a, b, c); 0 when degenerate. */
static int unit_normal(const double *a, const double *b, const double *c, double *n)
{
	double e1[3], e2[3], l;
	sub3(b, a, e1);
	sub3(c, a, e2);
	cross3(e1, e2, n);
	l = sqrt(dot3(n, n));
	if (l == 0.0)
		return 0;
	n[0] /= l;
	n[1] /= l;
	n[2] /= l;
	return 1;
}

#define ADJ_REL 1e-9  /* margins of the tests between neighbours */
#define FOLD_TAN 1e-6 /* an edge neighbour folded back closer than this angle overlaps */

/* Triangles sharing edge ab, with c and d their third vertices: they overlap only when folded
 * flat onto each other (d in c's plane, on c's side of ab). */
static int edge_neighbours_overlap(const double *a, const double *b, const double *c,
				   const double *d)
{
	double n[3], e[3], m[3], dc[3], dd[3], h, sc, sd, le;

	if (!unit_normal(a, b, c, n))
		return 0;
	sub3(b, a, e);
	le = sqrt(dot3(e, e));
	cross3(n, e, m); /* in plane, across ab, length le */
	sub3(c, a, dc);
	sub3(d, a, dd);
	sc = dot3(dc, m) / le;
	sd = dot3(dd, m) / le;
	h = dot3(dd, n);
	return sc * sd > 0.0 && fabs(h) <= FOLD_TAN * fabs(sd);
}

/* Triangles abc and ade sharing only vertex a overlap beyond a. Not coplanar: the far edge of one
 * crosses the other. Coplanar: their angular sectors at a overlap. */
static int vertex_neighbours_overlap(const double *a, const double *b, const double *c,
				     const double *d, const double *e)
{
	double n1[3], n2[3], x[3], y[3], sd, se, sb, sc, scale;

	/* quick exact exit: d and e strictly on one side of abc's plane (or b and c of ade's), so
	 * the triangles meet only at a */
	sub3(b, a, x);
	sub3(c, a, y);
	cross3(x, y, n1);
	sub3(d, a, x);
	sd = dot3(n1, x);
	sub3(e, a, y);
	se = dot3(n1, y);
	if ((sd > 0 && se > 0) || (sd < 0 && se < 0))
		return 0;
	cross3(x, y, n2);
	sub3(b, a, x);
	sb = dot3(n2, x);
	sub3(c, a, x);
	sc = dot3(n2, x);
	if ((sb > 0 && sc > 0) || (sb < 0 && sc < 0))
		return 0;
	if (!unit_normal(a, b, c, n1) || !unit_normal(a, d, e, n2))
		return 0;
	scale = fmax(fmax(dist3(a, b), dist3(a, c)), fmax(dist3(a, d), dist3(a, e)));
	sub3(d, a, x);
	sd = dot3(n1, x);
	sub3(e, a, x);
	se = dot3(n1, x);
	sub3(b, a, x);
	sb = dot3(n2, x);
	sub3(c, a, x);
	sc = dot3(n2, x);
	if (fabs(sd) <= FOLD_TAN * scale && fabs(se) <= FOLD_TAN * scale &&
	    fabs(sb) <= FOLD_TAN * scale && fabs(sc) <= FOLD_TAN * scale) {
		/* coplanar: sectors in the plane of n1 */
		double u1[3], u2[3], w1[3], w2[3], t[3];
		double s12, s1w, sw2, s12b, s1v, sv2;
		const double *ray[2] = { w1, w2 };
		int k;
		sub3(b, a, u1);
		sub3(c, a, u2);
		sub3(d, a, w1);
		sub3(e, a, w2);
		cross3(u1, u2, t);
		s12 = dot3(t, n1);
		for (k = 0; k < 2; k++) {
			cross3(u1, ray[k], t);
			s1w = dot3(t, n1);
			cross3(ray[k], u2, t);
			sw2 = dot3(t, n1);
			if (s1w * s12 > ADJ_REL * scale * scale && sw2 * s12 > ADJ_REL * scale * scale)
				return 1;
		}
		cross3(w1, w2, t);
		s12b = dot3(t, n1);
		{
			const double *ray2[2] = { u1, u2 };
			for (k = 0; k < 2; k++) {
				cross3(w1, ray2[k], t);
				s1v = dot3(t, n1);
				cross3(ray2[k], w2, t);
				sv2 = dot3(t, n1);
				if (s1v * s12b > ADJ_REL * scale * scale &&
				    sv2 * s12b > ADJ_REL * scale * scale)
					return 1;
			}
		}
		/* identical sectors */
		cross3(u1, w1, t);
		if (sqrt(dot3(t, t)) <= ADJ_REL * scale * scale && dot3(u1, w1) > 0) {
			cross3(u2, w2, t);
			if (sqrt(dot3(t, t)) <= ADJ_REL * scale * scale && dot3(u2, w2) > 0)
				return 1;
		}
		cross3(u1, w2, t);
		if (sqrt(dot3(t, t)) <= ADJ_REL * scale * scale && dot3(u1, w2) > 0) {
			cross3(u2, w1, t);
			if (sqrt(dot3(t, t)) <= ADJ_REL * scale * scale && dot3(u2, w1) > 0)
				return 1;
		}
		return 0;
	}
	return seg_cross_tri(d, e, a, b, c, ADJ_REL) || seg_cross_tri(b, c, a, d, e, ADJ_REL);
}

/* Triangles ta and tb of s intersect (beyond what neighbours share). */
static int tris_intersect(const ctw_surface *s, int32_t ta, int32_t tb, double tol)
{
	const int32_t *A = s->tris + 3 * (int64_t)ta, *B = s->tris + 3 * (int64_t)tb;
	const double *v[3], *u[3];
	int i, j, shared = 0, ia[3], ib[3];

	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			if (A[i] == B[j]) {
				ia[shared] = i;
				ib[shared] = j;
				shared++;
			}
	for (i = 0; i < 3; i++) {
		v[i] = s->xyz + 3 * (int64_t)A[i];
		u[i] = s->xyz + 3 * (int64_t)B[i];
	}
	if (shared == 0)
		return tri_tri(v, u, tol);
	if (shared >= 3)
		return 1; /* the same triangle twice */
	if (shared == 2) {
		int ca = 3 - ia[0] - ia[1], cb = 3 - ib[0] - ib[1];
		return edge_neighbours_overlap(v[ia[0]], v[ia[1]], v[ca], u[cb]);
	}
	return vertex_neighbours_overlap(v[ia[0]], v[(ia[0] + 1) % 3], v[(ia[0] + 2) % 3],
					 u[(ib[0] + 1) % 3], u[(ib[0] + 2) % 3]);
}

/* Stable LSD radix sort of (key, val) pairs by key < 2^bits, 16 bits a pass. */
static int radix_sort(ctw_ctx *ctx, uint32_t *key, int32_t *val, int64_t n, int bits)
{
	uint32_t *k2 = NULL;
	int32_t *v2 = NULL;
	int64_t *cnt = NULL, i;
	int shift;

	if (!(k2 = alloc_n(ctx, (size_t)n, sizeof(*k2))) || !(v2 = alloc_n(ctx, (size_t)n, sizeof(*v2))) ||
	    !(cnt = alloc_n(ctx, 65536, sizeof(*cnt)))) {
		ctw_free(ctx, k2);
		ctw_free(ctx, v2);
		return CTW_ERR_NOMEM;
	}
	for (shift = 0; shift < bits; shift += 16) {
		int64_t sum = 0;
		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (i = 0; i < n; i++)
			cnt[(key[i] >> shift) & 0xffff]++;
		for (i = 0; i < 65536; i++) {
			int64_t c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++) {
			int64_t p = cnt[(key[i] >> shift) & 0xffff]++;
			k2[p] = key[i];
			v2[p] = val[i];
		}
		memcpy(key, k2, (size_t)n * sizeof(*key));
		memcpy(val, v2, (size_t)n * sizeof(*val));
	}
	ctw_free(ctx, k2);
	ctw_free(ctx, v2);
	ctw_free(ctx, cnt);
	return CTW_OK;
}

/* Counts intersecting pairs of triangles; *where is the midpoint of the centroids of the first
 * pair (lowest triangle numbers). */
static int find_intersections(ctw_ctx *ctx, const ctw_surface *s, int64_t *count, double where[3])
{
	int64_t n = s->n_tris, t, e, n_ent = 0, dims[3], ncells, best_a = -1, best_b = -1;
	double lo[3], hi[3], diag, h, tol;
	float *box = NULL;
	uint32_t *key = NULL;
	int32_t *val = NULL;
	int bits, k, ret = CTW_ERR_NOMEM;

	*count = 0;
	if (n < 2)
		return CTW_OK;
	diag = bbox_points(s->xyz, s->n_points, lo, hi);
	if (!(diag > 0.0) || !isfinite(diag))
		return CTW_OK;
	tol = 1e-9 * diag;
	h = 2.0 * ctw_surface_mean_edge(s);
	if (!(h > 1e-6 * diag))
		h = 1e-6 * diag;
	for (;;) {
		double nc = 1.0;
		for (k = 0; k < 3; k++)
			nc *= floor((hi[k] - lo[k] + 2 * tol) / h) + 1.0;
		if (nc < 2147483647.0)
			break;
		h *= 1.25;
	}
	for (k = 0; k < 3; k++)
		dims[k] = (int64_t)floor((hi[k] - lo[k] + 2 * tol) / h) + 1;
	ncells = dims[0] * dims[1] * dims[2];
	for (bits = 1; bits < 32 && (1ll << bits) < ncells; bits++)
		;
	if (!(box = alloc_n(ctx, 6 * (size_t)n, sizeof(*box))))
		goto out;
	/* boxes grown by tol and rounded outwards to float; count cell entries */
	for (t = 0; t < n; t++) {
		float *b = box + 6 * t;
		int64_t c0[3], c1[3];
		for (k = 0; k < 3; k++) {
			double l = HUGE_VAL, u = -HUGE_VAL;
			int j;
			for (j = 0; j < 3; j++) {
				double x = s->xyz[3 * (int64_t)s->tris[3 * t + j] + k];
				l = fmin(l, x);
				u = fmax(u, x);
			}
			l -= tol;
			u += tol;
			b[k] = (float)l;
			if ((double)b[k] > l)
				b[k] = nextafterf(b[k], -HUGE_VALF);
			b[3 + k] = (float)u;
			if ((double)b[3 + k] < u)
				b[3 + k] = nextafterf(b[3 + k], HUGE_VALF);
			c0[k] = (int64_t)floor(((double)b[k] - lo[k] + tol) / h);
			c1[k] = (int64_t)floor(((double)b[3 + k] - lo[k] + tol) / h);
			c0[k] = c0[k] < 0 ? 0 : c0[k] >= dims[k] ? dims[k] - 1 : c0[k];
			c1[k] = c1[k] < 0 ? 0 : c1[k] >= dims[k] ? dims[k] - 1 : c1[k];
		}
		n_ent += (c1[0] - c0[0] + 1) * (c1[1] - c0[1] + 1) * (c1[2] - c0[2] + 1);
	}
	if (!(key = alloc_n(ctx, (size_t)n_ent, sizeof(*key))) ||
	    !(val = alloc_n(ctx, (size_t)n_ent, sizeof(*val))))
		goto out;
	e = 0;
	for (t = 0; t < n; t++) {
		const float *b = box + 6 * t;
		int64_t c0[3], c1[3], x, y, z;
		for (k = 0; k < 3; k++) {
			c0[k] = (int64_t)floor(((double)b[k] - lo[k] + tol) / h);
			c1[k] = (int64_t)floor(((double)b[3 + k] - lo[k] + tol) / h);
			c0[k] = c0[k] < 0 ? 0 : c0[k] >= dims[k] ? dims[k] - 1 : c0[k];
			c1[k] = c1[k] < 0 ? 0 : c1[k] >= dims[k] ? dims[k] - 1 : c1[k];
		}
		for (z = c0[2]; z <= c1[2]; z++)
			for (y = c0[1]; y <= c1[1]; y++)
				for (x = c0[0]; x <= c1[0]; x++) {
					key[e] = (uint32_t)(x + dims[0] * (y + dims[1] * z));
					val[e++] = (int32_t)t;
				}
	}
	if ((ret = radix_sort(ctx, key, val, n_ent, bits)))
		goto out;
	for (e = 0; e < n_ent;) {
		int64_t e1 = e, i, j;
		uint32_t cell = key[e];
		while (e1 < n_ent && key[e1] == cell)
			e1++;
		for (i = e; i < e1; i++) {
			int32_t ta = val[i];
			const float *ba = box + 6 * (int64_t)ta;
			for (j = i + 1; j < e1; j++) {
				int32_t tb = val[j];
				const float *bb = box + 6 * (int64_t)tb;
				int64_t own[3];
				if (ba[0] > bb[3] || bb[0] > ba[3] || ba[1] > bb[4] || bb[1] > ba[4] ||
				    ba[2] > bb[5] || bb[2] > ba[5])
					continue;
				/* test the pair only in the cell of the low corner of the box overlap */
				for (k = 0; k < 3; k++) {
					double m = (double)(ba[k] > bb[k] ? ba[k] : bb[k]);
					own[k] = (int64_t)floor((m - lo[k] + tol) / h);
					own[k] = own[k] < 0 ? 0 : own[k] >= dims[k] ? dims[k] - 1 : own[k];
				}
				if ((uint32_t)(own[0] + dims[0] * (own[1] + dims[1] * own[2])) != cell)
					continue;
				if (!tris_intersect(s, ta, tb, tol))
					continue;
				(*count)++;
				if (best_a < 0 || ta < best_a || (ta == best_a && tb < best_b)) {
					best_a = ta;
					best_b = tb;
				}
			}
		}
		e = e1;
	}
	if (best_a >= 0)
		for (k = 0; k < 3; k++) {
			double c = 0.0;
			int j;
			for (j = 0; j < 3; j++)
				c += s->xyz[3 * (int64_t)s->tris[3 * best_a + j] + k] +
				     s->xyz[3 * (int64_t)s->tris[3 * best_b + j] + k];
			where[k] = c / 6.0;
		}
	ret = CTW_OK;
out:
	ctw_free(ctx, box);
	ctw_free(ctx, key);
	ctw_free(ctx, val);
	return ret;
}

/* ---- check --------------------------------------------------------------------------------- */

static void edge_mid(const ctw_surface *s, int64_t h, double *w)
{
	const double *a = s->xyz + 3 * (int64_t)he_from(s->tris, h),
		     *b = s->xyz + 3 * (int64_t)he_to(s->tris, h);
	w[0] = 0.5 * (a[0] + b[0]);
	w[1] = 0.5 * (a[1] + b[1]);
	w[2] = 0.5 * (a[2] + b[2]);
}

/* Sets the check fields of rep (the repair fields are left alone). Everything is counted; the
 * message, rep->problem ("<what>, first at (x, y, z) mm; <hint>", without the "surface: " of the
 * context's message) and rep->where describe the first kind found in the order: boundary edges
 * (where: the edge's midpoint), non-manifold edges (likewise), non-manifold vertices other than
 * the ends of non-manifold edges (the vertex), intersecting pairs (the midpoint of the centroids
 * of the pair with the lowest triangle numbers). Pairs sharing an edge count only when folded
 * flat onto each other (within 1e-6 rad); pairs sharing a vertex only when the far edge of one
 * properly crosses the other or, coplanar, their corners at the vertex overlap; other pairs when
 * they intersect or touch (plane distances below 1e-9 of the bounding-box diagonal count as 0).
 * Connected components join triangles through edges. Points used by no triangle are ignored.
 * CTW_ERR_INVALID for indices out of range, CTW_ERR_NOMEM. */
int ctw_surface_check(ctw_ctx *ctx, const ctw_surface *s, ctw_surface_report *rep)
{
	edge_map em = { 0, NULL, NULL };
	int32_t *tp = NULL, *cp = NULL, *deg = NULL, *merged = NULL;
	uint8_t *on_nm = NULL;
	double w_open[3] = { 0, 0, 0 }, w_nme[3] = { 0, 0, 0 }, w_nmv[3] = { 0, 0, 0 },
	       w_int[3] = { 0, 0, 0 };
	int64_t e, i, t, v;
	int ret;

	rep->boundary_edges = rep->nonmanifold_edges = rep->nonmanifold_vertices = 0;
	rep->intersecting_pairs = 0;
	rep->n_components = 0;
	rep->where[0] = rep->where[1] = rep->where[2] = 0.0;
	rep->problem[0] = '\0';
	ret = check_indices(ctx, s);
	if (ret)
		return ret;
	if ((ret = edge_map_build(ctx, s->tris, s->n_tris, s->n_points, &em)))
		return ret;
	ret = CTW_ERR_NOMEM;
	if (!(tp = alloc_n(ctx, (size_t)s->n_tris, sizeof(*tp))) ||
	    !(cp = alloc_n(ctx, 3 * (size_t)s->n_tris, sizeof(*cp))) ||
	    !(deg = zalloc_n(ctx, (size_t)s->n_points, sizeof(*deg))) ||
	    !(merged = zalloc_n(ctx, (size_t)s->n_points, sizeof(*merged))) ||
	    !(on_nm = zalloc_n(ctx, (size_t)s->n_points, 1)))
		goto out;
	for (t = 0; t < s->n_tris; t++)
		tp[t] = (int32_t)t;
	for (i = 0; i < 3 * s->n_tris; i++) {
		cp[i] = (int32_t)i;
		deg[s->tris[i]]++;
	}
	for (e = 0; e < em.n_edges; e++) {
		int64_t b0 = em.first[e], b1 = em.first[e + 1];
		for (i = b0 + 1; i < b1; i++)
			uf_union(tp, em.he[b0] / 3, em.he[i] / 3);
		if (b1 - b0 == 1) {
			if (!rep->boundary_edges++)
				edge_mid(s, em.he[b0], w_open);
		} else if (b1 - b0 > 2) {
			if (!rep->nonmanifold_edges++)
				edge_mid(s, em.he[b0], w_nme);
			on_nm[he_from(s->tris, em.he[b0])] = 1;
			on_nm[he_to(s->tris, em.he[b0])] = 1;
		} else {
			/* join the corners of the two triangles at each end of the edge */
			int32_t h1 = em.he[b0], h2 = em.he[b0 + 1];
			int32_t n1 = (int32_t)(h1 - h1 % 3 + (h1 % 3 + 1) % 3);
			int32_t n2 = (int32_t)(h2 - h2 % 3 + (h2 % 3 + 1) % 3);
			if (s->tris[h1] == s->tris[h2]) {
				merged[s->tris[h1]] += uf_union(cp, h1, h2);
				merged[s->tris[n1]] += uf_union(cp, n1, n2);
			} else {
				merged[s->tris[h1]] += uf_union(cp, h1, n2);
				merged[s->tris[n1]] += uf_union(cp, n1, h2);
			}
		}
	}
	for (t = 0; t < s->n_tris; t++)
		rep->n_components += tp[t] == t;
	for (v = 0; v < s->n_points; v++)
		if (deg[v] - merged[v] > 1 && !on_nm[v])
			if (!rep->nonmanifold_vertices++)
				memcpy(w_nmv, s->xyz + 3 * v, sizeof(w_nmv));
	edge_map_release(ctx, &em);
	ctw_free(ctx, cp);
	cp = NULL;
	if ((ret = find_intersections(ctx, s, &rep->intersecting_pairs, w_int)))
		goto out;
	ret = CTW_OK;
	{
		const double *w = NULL;
		char what[96];
		const char *hint = NULL;
		if (rep->boundary_edges) {
			snprintf(what, sizeof(what), "not closed: %lld boundary edges",
				 (long long)rep->boundary_edges);
			w = w_open;
			hint = HINT_OPEN;
		} else if (rep->nonmanifold_edges) {
			snprintf(what, sizeof(what), "%lld non-manifold edges",
				 (long long)rep->nonmanifold_edges);
			w = w_nme;
			hint = HINT_NM_EDGE;
		} else if (rep->nonmanifold_vertices) {
			snprintf(what, sizeof(what), "%lld non-manifold vertices",
				 (long long)rep->nonmanifold_vertices);
			w = w_nmv;
			hint = HINT_NM_VERT;
		} else if (rep->intersecting_pairs) {
			snprintf(what, sizeof(what), "%lld pairs of triangles intersect",
				 (long long)rep->intersecting_pairs);
			w = w_int;
			hint = HINT_ISECT;
		}
		if (w) {
			memcpy(rep->where, w, sizeof(rep->where));
			if (snprintf(rep->problem, sizeof(rep->problem),
				     "%s, first at (%.1f, %.1f, %.1f) mm; %s", what, w[0], w[1], w[2],
				     hint) >= (int)sizeof(rep->problem))
				rep->problem[sizeof(rep->problem) - 1] = '\0'; /* truncated */
			ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "surface", "%s", rep->problem);
		}
	}
out:
	edge_map_release(ctx, &em);
	ctw_free(ctx, tp);
	ctw_free(ctx, cp);
	ctw_free(ctx, deg);
	ctw_free(ctx, merged);
	ctw_free(ctx, on_nm);
	return ret;
}

/* ---- hole capping -------------------------------------------------------------------------- */

/* Boundary half-edges (edges with one triangle) are walked head to tail into loops; each loop
 * gets its centroid as a new point (appended after the others) and a fan of triangles running
 * its edges the other way (appended after the others), so the caps are oriented like the surface
 * around them. Expects a consistently oriented surface (ctw_surface_repair); a walk that cannot
 * be continued (boundary edges pointing against each other) leaves that opening uncapped and
 * uncounted. A fan over a strongly non-planar loop can intersect the surface: check afterwards.
 * CTW_ERR_INVALID for indices out of range, CTW_ERR_NOMEM (s unchanged but for the capacity of
 * its arrays). */
int ctw_surface_cap_holes(ctw_ctx *ctx, ctw_surface *s, int cap_marker, int *n_holes)
{
	edge_map em = { 0, NULL, NULL };
	int32_t *bh = NULL, *start = NULL, *loop_he = NULL, *loop_first = NULL;
	uint8_t *used = NULL;
	int64_t nb = 0, e, i, v, n_loops = 0, n_loop_he = 0, new_pts, new_tris;
	int ret;

	*n_holes = 0;
	if ((ret = check_indices(ctx, s)))
		return ret;
	if ((ret = edge_map_build(ctx, s->tris, s->n_tris, s->n_points, &em)))
		return ret;
	ret = CTW_ERR_NOMEM;
	for (e = 0; e < em.n_edges; e++)
		nb += em.first[e + 1] - em.first[e] == 1;
	if (!nb) {
		ret = CTW_OK;
		goto out;
	}
	if (!(bh = alloc_n(ctx, (size_t)nb, sizeof(*bh))) ||
	    !(start = zalloc_n(ctx, (size_t)s->n_points + 1, sizeof(*start))) ||
	    !(used = zalloc_n(ctx, (size_t)nb, 1)) ||
	    !(loop_he = alloc_n(ctx, (size_t)nb, sizeof(*loop_he))) ||
	    !(loop_first = alloc_n(ctx, (size_t)nb + 1, sizeof(*loop_first))))
		goto out;
	/* boundary half-edges grouped by their start vertex */
	for (e = 0; e < em.n_edges; e++)
		if (em.first[e + 1] - em.first[e] == 1)
			start[he_from(s->tris, em.he[em.first[e]]) + 1]++;
	for (v = 0; v < s->n_points; v++)
		start[v + 1] += start[v];
	for (e = 0; e < em.n_edges; e++)
		if (em.first[e + 1] - em.first[e] == 1) {
			int32_t h = em.he[em.first[e]];
			bh[start[he_from(s->tris, h)]++] = h;
		}
	for (v = s->n_points; v > 0; v--)
		start[v] = start[v - 1];
	start[0] = 0;
	edge_map_release(ctx, &em);
	for (i = 0; i < nb; i++) {
		int64_t len = 0, cur = i;
		int from0, ok = 0;
		if (used[i])
			continue;
		from0 = he_from(s->tris, bh[i]);
		for (;;) {
			int to, j;
			used[cur] = 1;
			loop_he[n_loop_he + len++] = bh[cur];
			to = he_to(s->tris, bh[cur]);
			if (to == from0) {
				ok = 1;
				break;
			}
			cur = -1;
			for (j = start[to]; j < start[to + 1]; j++)
				if (!used[j]) {
					cur = j;
					break;
				}
			if (cur < 0)
				break;
		}
		if (!ok || len < 3)
			continue;
		loop_first[n_loops++] = (int32_t)n_loop_he;
		n_loop_he += len;
	}
	loop_first[n_loops] = (int32_t)n_loop_he;
	new_pts = s->n_points + n_loops;
	new_tris = s->n_tris + n_loop_he;
	if (new_pts > INT32_MAX || new_tris > INT32_MAX / 4) {
		ret = ctw_error(ctx, CTW_ERR_INVALID, "surface", "too many triangles to cap the holes");
		goto out;
	}
	{
		double *x = ctw_realloc(ctx, s->xyz, 3 * (size_t)(new_pts ? new_pts : 1) * sizeof(double));
		int32_t *tr, *mk;
		if (!x)
			goto out;
		s->xyz = x;
		tr = ctw_realloc(ctx, s->tris, 3 * (size_t)new_tris * sizeof(int32_t));
		if (!tr)
			goto out;
		s->tris = tr;
		mk = ctw_realloc(ctx, s->marker, (size_t)new_tris * sizeof(int32_t));
		if (!mk)
			goto out;
		s->marker = mk;
	}
	for (e = 0; e < n_loops; e++) {
		int64_t c = s->n_points + e, j;
		double *p = s->xyz + 3 * c;
		int64_t len = loop_first[e + 1] - loop_first[e];
		p[0] = p[1] = p[2] = 0.0;
		for (j = loop_first[e]; j < loop_first[e + 1]; j++) {
			const double *q = s->xyz + 3 * (int64_t)he_from(s->tris, loop_he[j]);
			p[0] += q[0];
			p[1] += q[1];
			p[2] += q[2];
		}
		p[0] /= (double)len;
		p[1] /= (double)len;
		p[2] /= (double)len;
	}
	for (e = 0; e < n_loops; e++) {
		int64_t j;
		for (j = loop_first[e]; j < loop_first[e + 1]; j++) {
			int64_t t = s->n_tris + j;
			s->tris[3 * t] = he_to(s->tris, loop_he[j]);
			s->tris[3 * t + 1] = he_from(s->tris, loop_he[j]);
			s->tris[3 * t + 2] = (int32_t)(s->n_points + e);
			s->marker[t] = cap_marker;
		}
	}
	s->n_points = new_pts;
	s->n_tris = new_tris;
	*n_holes = (int)n_loops;
	ret = CTW_OK;
out:
	edge_map_release(ctx, &em);
	ctw_free(ctx, bh);
	ctw_free(ctx, start);
	ctw_free(ctx, used);
	ctw_free(ctx, loop_he);
	ctw_free(ctx, loop_first);
	return ret;
}

/* ---- improvement: edge flips and tangential relaxation --------------------------------------- */

typedef struct edge_rec {
	int32_t a, b;  /* a < b */
	int32_t t[2];  /* the two triangles (closed manifold surface) */
} edge_rec;

static int by_edge(const void *x, const void *y)
{
	const edge_rec *p = x, *q = y;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b;
}

/* Sorts n edge records by (a, b) in linear time, stably (as glibc's merge sort did): a counting
 * sort by a (0 <= a < n_points), then an insertion sort by b inside each bucket, which holds the
 * few edges of one vertex. CTW_ERR_NOMEM. */
static int sort_edges(ctw_ctx *ctx, int64_t n_points, edge_rec *e, int64_t n)
{
	int64_t *start = ctw_calloc(ctx, (size_t)n_points + 1, sizeof(int64_t));
	edge_rec *tmp = ctw_malloc(ctx, sizeof(edge_rec) * (size_t)(n ? n : 1));
	if (!start || !tmp) {
		ctw_free(ctx, start);
		ctw_free(ctx, tmp);
		return CTW_ERR_NOMEM;
	}
	for (int64_t i = 0; i < n; i++)
		start[e[i].a + 1]++;
	for (int64_t v = 0; v < n_points; v++)
		start[v + 1] += start[v];
	for (int64_t i = 0; i < n; i++)
		tmp[start[e[i].a]++] = e[i];
	/* start[v] is now the end of bucket v */
	for (int64_t v = 0, lo = 0; v < n_points; lo = start[v++])
		for (int64_t i = lo + 1; i < start[v]; i++) {
			edge_rec x = tmp[i];
			int64_t j = i;
			for (; j > lo && tmp[j - 1].b > x.b; j--)
				tmp[j] = tmp[j - 1];
			tmp[j] = x;
		}
	memcpy(e, tmp, sizeof(edge_rec) * (size_t)n);
	ctw_free(ctx, start);
	ctw_free(ctx, tmp);
	return CTW_OK;
}

static void tri_normal(const double *xyz, const int32_t *t, double n[3])
{
	const double *a = xyz + 3 * t[0], *b = xyz + 3 * t[1], *c = xyz + 3 * t[2];
	double u[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] }, v[3] = { c[0] - a[0], c[1] - a[1], c[2] - a[2] }, l;
	n[0] = u[1] * v[2] - u[2] * v[1];
	n[1] = u[2] * v[0] - u[0] * v[2];
	n[2] = u[0] * v[1] - u[1] * v[0];
	l = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
	if (l > 0)
		for (int k = 0; k < 3; k++)
			n[k] /= l;
}

/* Smallest angle (radians) of triangle p, q, r. */
static double min_angle(const double *p, const double *q, const double *r)
{
	const double *v[3] = { p, q, r };
	double best = CTW_PI;
	for (int k = 0; k < 3; k++) {
		const double *o = v[k], *x = v[(k + 1) % 3], *y = v[(k + 2) % 3];
		double u[3] = { x[0] - o[0], x[1] - o[1], x[2] - o[2] }, w[3] = { y[0] - o[0], y[1] - o[1], y[2] - o[2] };
		double nu = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]), nw = sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
		double c = nu > 0 && nw > 0 ? (u[0] * w[0] + u[1] * w[1] + u[2] * w[2]) / (nu * nw) : 1;
		best = fmin(best, acos(fmax(-1, fmin(1, c))));
	}
	return best;
}

/* The vertex of triangle t that is neither a nor b. */
static int32_t third(const int32_t *t, int32_t a, int32_t b)
{
	for (int k = 0; k < 3; k++)
		if (t[k] != a && t[k] != b)
			return t[k];
	return -1;
}

/* One pass of edge flips: an edge shared by two nearly coplanar triangles (normals within
 * 10 degrees) of the same marker is flipped when that raises the smaller of their smallest
 * angles and the new edge does not exist yet. Returns the number of flips, -1 out of memory. */
static int64_t flip_pass(ctw_ctx *ctx, ctw_surface *s)
{
	const int64_t ne = 3 * s->n_tris;
	edge_rec *e = ctw_malloc(ctx, sizeof(edge_rec) * (size_t)(ne ? ne : 1));
	uint8_t *touched = ctw_calloc(ctx, (size_t)(s->n_tris ? s->n_tris : 1), 1);
	int64_t n = 0, flips = 0, i;

	if (!e || !touched) {
		ctw_free(ctx, e);
		ctw_free(ctx, touched);
		return -1;
	}
	for (int64_t t = 0; t < s->n_tris; t++)
		for (int k = 0; k < 3; k++) {
			int32_t a = s->tris[3 * t + k], b = s->tris[3 * t + (k + 1) % 3];
			e[n].a = a < b ? a : b;
			e[n].b = a < b ? b : a;
			e[n].t[0] = (int32_t)t;
			e[n].t[1] = -1;
			n++;
		}
	if (sort_edges(ctx, s->n_points, e, n)) {
		ctw_free(ctx, e);
		ctw_free(ctx, touched);
		return -1;
	}
	for (i = 0; i + 1 < n; i++) {
		int32_t t0, t1, c, d, a, b;
		double n0[3], n1[3], before, after;
		int32_t *T0, *T1;
		if (e[i].a != e[i + 1].a || e[i].b != e[i + 1].b || (i + 2 < n && e[i + 2].a == e[i].a && e[i + 2].b == e[i].b))
			continue; /* not an edge of exactly two triangles */
		t0 = e[i].t[0];
		t1 = e[i + 1].t[0];
		if (touched[t0] || touched[t1] || s->marker[t0] != s->marker[t1])
			continue;
		T0 = s->tris + 3 * t0;
		T1 = s->tris + 3 * t1;
		/* orient: T0 = (a, b, c), T1 = (b, a, d) */
		for (int k = 0; k < 3; k++)
			if ((T0[k] == e[i].a || T0[k] == e[i].b) && (T0[(k + 1) % 3] == e[i].a || T0[(k + 1) % 3] == e[i].b)) {
				a = T0[k];
				b = T0[(k + 1) % 3];
				goto found;
			}
		continue;
	found:
		c = third(T0, a, b);
		d = third(T1, a, b);
		if (c < 0 || d < 0 || c == d)
			continue;
		tri_normal(s->xyz, T0, n0);
		tri_normal(s->xyz, T1, n1);
		if (n0[0] * n1[0] + n0[1] * n1[1] + n0[2] * n1[2] < cos(10.0 * CTW_PI / 180.0))
			continue;
		before = fmin(min_angle(s->xyz + 3 * a, s->xyz + 3 * b, s->xyz + 3 * c),
			      min_angle(s->xyz + 3 * b, s->xyz + 3 * a, s->xyz + 3 * d));
		after = fmin(min_angle(s->xyz + 3 * c, s->xyz + 3 * d, s->xyz + 3 * b),
			     min_angle(s->xyz + 3 * d, s->xyz + 3 * c, s->xyz + 3 * a));
		if (after <= before * 1.05)
			continue;
		{ /* the new edge c-d must not exist: search the sorted edge list */
			edge_rec key = { c < d ? c : d, c < d ? d : c, { 0, 0 } };
			if (bsearch(&key, e, (size_t)n, sizeof(*e), by_edge))
				continue;
		}
		{ /* the flipped triangles keep the orientation: (c, d, b) and (d, c, a) */
			int32_t n2[3];
			double m0[3], m1[3];
			T0[0] = c;
			T0[1] = d;
			T0[2] = b;
			T1[0] = d;
			T1[1] = c;
			T1[2] = a;
			tri_normal(s->xyz, T0, m0);
			tri_normal(s->xyz, T1, m1);
			if (m0[0] * n0[0] + m0[1] * n0[1] + m0[2] * n0[2] < 0.5 || m1[0] * n1[0] + m1[1] * n1[1] + m1[2] * n1[2] < 0.5) {
				T0[0] = a; T0[1] = b; T0[2] = c;
				T1[0] = b; T1[1] = a; T1[2] = d;
				continue;
			}
			(void)n2;
		}
		touched[t0] = touched[t1] = 1;
		flips++;
	}
	ctw_free(ctx, e);
	ctw_free(ctx, touched);
	return flips;
}

int ctw_surface_improve(ctw_ctx *ctx, ctw_surface *s, int iterations, int64_t *flips)
{
	const int64_t np = s->n_points, nt = s->n_tris;
	double *sum = ctw_malloc(ctx, sizeof(double) * 3 * (size_t)(np ? np : 1)),
	       *nrm = ctw_malloc(ctx, sizeof(double) * 3 * (size_t)(np ? np : 1));
	int32_t *cnt = ctw_malloc(ctx, sizeof(int32_t) * (size_t)(np ? np : 1)),
		*mark = ctw_malloc(ctx, sizeof(int32_t) * (size_t)(np ? np : 1));
	int ret = CTW_OK;

	*flips = 0;
	if (!sum || !nrm || !cnt || !mark) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (int it = 0; it < iterations; it++) {
		int64_t f = flip_pass(ctx, s);
		if (f < 0) {
			ret = CTW_ERR_NOMEM;
			goto out;
		}
		*flips += f;
		/* tangential relaxation of vertices inside one marker's region; the rims where markers
		 * meet stay put, so a planar base stays planar and its border does not move */
		memset(sum, 0, sizeof(double) * 3 * (size_t)np);
		memset(nrm, 0, sizeof(double) * 3 * (size_t)np);
		memset(cnt, 0, sizeof(int32_t) * (size_t)np);
		for (int64_t v = 0; v < np; v++)
			mark[v] = INT32_MIN;
		for (int64_t t = 0; t < nt; t++) {
			const int32_t *T = s->tris + 3 * t;
			double n[3];
			tri_normal(s->xyz, T, n);
			for (int k = 0; k < 3; k++) {
				int32_t v = T[k];
				if (mark[v] == INT32_MIN)
					mark[v] = s->marker[t];
				else if (mark[v] != s->marker[t])
					mark[v] = INT32_MAX; /* on a rim */
				for (int j = 1; j <= 2; j++)
					for (int c = 0; c < 3; c++)
						sum[3 * v + c] += 0.5 * s->xyz[3 * T[(k + j) % 3] + c];
				cnt[v]++;
				for (int c = 0; c < 3; c++)
					nrm[3 * v + c] += n[c];
			}
		}
		for (int64_t v = 0; v < np; v++) {
			double d[3], l, dn;
			if (!cnt[v] || mark[v] == INT32_MAX)
				continue;
			l = sqrt(nrm[3 * v] * nrm[3 * v] + nrm[3 * v + 1] * nrm[3 * v + 1] + nrm[3 * v + 2] * nrm[3 * v + 2]);
			if (l == 0)
				continue;
			for (int c = 0; c < 3; c++) {
				nrm[3 * v + c] /= l;
				d[c] = sum[3 * v + c] / cnt[v] - s->xyz[3 * v + c];
			}
			dn = d[0] * nrm[3 * v] + d[1] * nrm[3 * v + 1] + d[2] * nrm[3 * v + 2];
			for (int c = 0; c < 3; c++)
				s->xyz[3 * v + c] += 0.5 * (d[c] - dn * nrm[3 * v + c]);
		}
	}
out:
	ctw_free(ctx, sum);
	ctw_free(ctx, nrm);
	ctw_free(ctx, cnt);
	ctw_free(ctx, mark);
	return ret;
}

/* ---- openings: trimming rim ears ------------------------------------------------------------- */

int ctw_surface_trim_ears(ctw_ctx *ctx, ctw_surface *s, int64_t *removed)
{
	int ret;

	*removed = 0;
	if ((ret = check_indices(ctx, s)))
		return ret;
	for (int pass = 0; pass < 100; pass++) {
		edge_map em = { 0, NULL, NULL };
		uint8_t *nb = NULL, *keep = NULL;
		int64_t n = 0;
		if ((ret = edge_map_build(ctx, s->tris, s->n_tris, s->n_points, &em)))
			return ret;
		if (!(nb = zalloc_n(ctx, (size_t)s->n_tris, 1)) || !(keep = alloc_n(ctx, (size_t)s->n_tris, 1))) {
			ctw_free(ctx, nb);
			edge_map_release(ctx, &em);
			return CTW_ERR_NOMEM;
		}
		for (int64_t e = 0; e < em.n_edges; e++)
			if (em.first[e + 1] - em.first[e] == 1)
				nb[em.he[em.first[e]] / 3]++;
		edge_map_release(ctx, &em);
		for (int64_t t = 0; t < s->n_tris; t++) {
			keep[t] = nb[t] < 2;
			n += !keep[t];
		}
		if (n)
			compact_tris(s, keep);
		ctw_free(ctx, nb);
		ctw_free(ctx, keep);
		*removed += n;
		if (!n)
			break;
	}
	return CTW_OK;
}

/* ---- isotropic remeshing: split, collapse, flip, relax ------------------------------------- */

static double elen(const ctw_surface *s, int32_t a, int32_t b)
{
	return dist3(s->xyz + 3 * a, s->xyz + 3 * b);
}

/* The edges of s with their (first two) triangles; t[1] = -1 on a boundary, and edges of more
 * than two triangles get t[1] = -2 (left alone). Sorted by (a, b). */
static int rm_edges(ctw_ctx *ctx, const ctw_surface *s, edge_rec **out, int64_t *n_out)
{
	edge_rec *e = ctw_malloc(ctx, sizeof(edge_rec) * (size_t)(3 * s->n_tris + 1));
	int64_t n = 0, w = 0;
	if (!e)
		return CTW_ERR_NOMEM;
	for (int64_t t = 0; t < s->n_tris; t++)
		for (int k = 0; k < 3; k++) {
			int32_t a = s->tris[3 * t + k], b = s->tris[3 * t + (k + 1) % 3];
			e[n].a = a < b ? a : b;
			e[n].b = a < b ? b : a;
			e[n].t[0] = (int32_t)t;
			e[n].t[1] = -1;
			n++;
		}
	if (sort_edges(ctx, s->n_points, e, n)) {
		ctw_free(ctx, e);
		return CTW_ERR_NOMEM;
	}
	for (int64_t i = 0; i < n;) {
		int64_t j = i + 1;
		while (j < n && e[j].a == e[i].a && e[j].b == e[i].b)
			j++;
		e[w] = e[i];
		e[w].t[1] = j - i == 2 ? e[i + 1].t[0] : j - i == 1 ? -1 : -2;
		w++;
		i = j;
	}
	*out = e;
	*n_out = w;
	return CTW_OK;
}

/* Whether edge r is a feature: a boundary, non-manifold, or between two markers. */
static int rm_feature(const ctw_surface *s, const edge_rec *r)
{
	return r->t[1] < 0 || s->marker[r->t[0]] != s->marker[r->t[1]];
}

/* Splits edges longer than hi at their midpoints (each triangle once per pass). Returns the
 * number of splits, -1 out of memory. */
static int64_t rm_split(ctw_ctx *ctx, ctw_surface *s, double hi)
{
	edge_rec *e = NULL;
	uint8_t *touched = NULL;
	int64_t n = 0, nlong = 0, done = 0;
	if (rm_edges(ctx, s, &e, &n))
		return -1;
	for (int64_t i = 0; i < n; i++)
		nlong += e[i].t[1] >= 0 && elen(s, e[i].a, e[i].b) > hi;
	if (!nlong || s->n_points + nlong > INT32_MAX || s->n_tris + 2 * nlong > INT32_MAX / 4) {
		ctw_free(ctx, e);
		return 0;
	}
	{
		double *x = ctw_realloc(ctx, s->xyz, sizeof(double) * 3 * (size_t)(s->n_points + nlong));
		int32_t *tr, *mk;
		if (x)
			s->xyz = x;
		tr = x ? ctw_realloc(ctx, s->tris, sizeof(int32_t) * 3 * (size_t)(s->n_tris + 2 * nlong)) : NULL;
		if (tr)
			s->tris = tr;
		mk = tr ? ctw_realloc(ctx, s->marker, sizeof(int32_t) * (size_t)(s->n_tris + 2 * nlong)) : NULL;
		if (mk)
			s->marker = mk;
		touched = mk ? zalloc_n(ctx, (size_t)(s->n_tris + 2 * nlong), 1) : NULL;
		if (!touched) {
			ctw_free(ctx, e);
			return -1;
		}
	}
	for (int64_t i = 0; i < n; i++) {
		const edge_rec *r = &e[i];
		int32_t m;
		if (r->t[1] < 0 || touched[r->t[0]] || touched[r->t[1]] || elen(s, r->a, r->b) <= hi)
			continue;
		m = (int32_t)s->n_points++;
		for (int c = 0; c < 3; c++)
			s->xyz[3 * m + c] = 0.5 * (s->xyz[3 * r->a + c] + s->xyz[3 * r->b + c]);
		for (int j = 0; j < 2; j++) {
			int32_t *T = s->tris + 3 * r->t[j], *N = s->tris + 3 * s->n_tris;
			memcpy(N, T, 3 * sizeof(int32_t));
			for (int k = 0; k < 3; k++) {
				if (T[k] == r->b)
					T[k] = m; /* (.., a, m, ..) */
				if (N[k] == r->a)
					N[k] = m; /* (.., m, b, ..) */
			}
			s->marker[s->n_tris] = s->marker[r->t[j]];
			touched[r->t[j]] = touched[s->n_tris] = 1;
			s->n_tris++;
		}
		done++;
	}
	ctw_free(ctx, e);
	ctw_free(ctx, touched);
	return done;
}

/* Removes points no triangle uses and renumbers. CTW_ERR_NOMEM. */
static int rm_compact_points(ctw_ctx *ctx, ctw_surface *s)
{
	int32_t *map = alloc_n(ctx, (size_t)s->n_points, sizeof(int32_t));
	int64_t k = 0;
	if (!map)
		return CTW_ERR_NOMEM;
	for (int64_t v = 0; v < s->n_points; v++)
		map[v] = -1;
	for (int64_t i = 0; i < 3 * s->n_tris; i++)
		map[s->tris[i]] = 0;
	for (int64_t v = 0; v < s->n_points; v++)
		if (map[v] == 0) {
			memmove(s->xyz + 3 * k, s->xyz + 3 * v, 3 * sizeof(double));
			map[v] = (int32_t)k++;
		}
	for (int64_t i = 0; i < 3 * s->n_tris; i++)
		s->tris[i] = map[s->tris[i]];
	s->n_points = k;
	ctw_free(ctx, map);
	return CTW_OK;
}

typedef struct rm_short {
	double len;
	int64_t e;
} rm_short;

static int by_len(const void *x, const void *y)
{
	const rm_short *p = x, *q = y;
	return (p->len > q->len) - (p->len < q->len);
}

/* Whether collapsing a into b (a removed, its triangles moved to b) keeps the surface valid:
 * only the two triangles of the edge vanish (link condition), no neighbour of the edge drops to
 * two triangles, no triangle turns by more than 30 degrees or gets an edge longer than hi. */
static int rm_can_collapse(const ctw_surface *s, const int64_t *vs, const int32_t *vt, int32_t a, int32_t b,
			   int32_t t0, int32_t t1, const int32_t *deg, double hi)
{
	int32_t c = third(s->tris + 3 * t0, a, b), d = third(s->tris + 3 * t1, a, b);
	int common = 0;
	if (c < 0 || d < 0 || c == d || deg[c] <= 3 || deg[d] <= 3)
		return 0;
	/* link condition: common neighbours of a and b are c and d only */
	for (int64_t i = vs[a]; i < vs[a + 1]; i++) {
		const int32_t *T = s->tris + 3 * vt[i];
		for (int k = 0; k < 3; k++) {
			int32_t x = T[k];
			int seen = 0;
			if (x == a || x == b)
				continue;
			for (int64_t i2 = vs[a]; i2 < i && !seen; i2++)
				for (int k2 = 0; k2 < 3; k2++)
					seen |= s->tris[3 * vt[i2] + k2] == x;
			for (int k2 = 0; k2 < k; k2++)
				seen |= T[k2] == x;
			if (seen)
				continue;
			for (int64_t j = vs[b]; j < vs[b + 1]; j++) {
				const int32_t *U = s->tris + 3 * vt[j];
				if (U[0] == x || U[1] == x || U[2] == x) {
					common++;
					break;
				}
			}
		}
	}
	if (common != 2)
		return 0;
	for (int64_t i = vs[a]; i < vs[a + 1]; i++) {
		int32_t t = vt[i], U[3];
		double n0[3], n1[3];
		if (t == t0 || t == t1)
			continue;
		memcpy(U, s->tris + 3 * t, sizeof(U));
		tri_normal(s->xyz, U, n0);
		for (int k = 0; k < 3; k++)
			if (U[k] == a)
				U[k] = b;
		tri_normal(s->xyz, U, n1);
		if (dot3(n0, n1) < 0.866 || min_angle(s->xyz + 3 * U[0], s->xyz + 3 * U[1], s->xyz + 3 * U[2]) < 0.02)
			return 0;
		for (int k = 0; k < 3; k++)
			if (U[k] != b && elen(s, b, U[k]) > hi)
				return 0;
	}
	return 1;
}

/* Collapses edges shorter than lo, shortest first, each vertex's neighbourhood once per pass.
 * Feature vertices (on a rim between markers) move only along their feature line, corners not
 * at all. Returns the number of collapses, -1 out of memory. */
static int64_t rm_collapse(ctw_ctx *ctx, ctw_surface *s, double lo, double hi)
{
	edge_rec *e = NULL;
	rm_short *sh = NULL;
	int64_t n = 0, ns = 0, done = 0, *vs = NULL;
	int32_t *vt = NULL, *deg = NULL, *nfeat = NULL;
	uint8_t *locked = NULL, *dead = NULL;
	const int64_t np = s->n_points, nt = s->n_tris;

	if (rm_edges(ctx, s, &e, &n))
		return -1;
	if (!(sh = alloc_n(ctx, (size_t)n, sizeof(*sh))) || !(vs = zalloc_n(ctx, (size_t)np + 1, sizeof(*vs))) ||
	    !(vt = alloc_n(ctx, 3 * (size_t)nt, sizeof(*vt))) || !(deg = zalloc_n(ctx, (size_t)np, sizeof(*deg))) ||
	    !(nfeat = zalloc_n(ctx, (size_t)np, sizeof(*nfeat))) || !(locked = zalloc_n(ctx, (size_t)np, 1)) ||
	    !(dead = zalloc_n(ctx, (size_t)nt, 1))) {
		done = -1;
		goto out;
	}
	for (int64_t i = 0; i < 3 * nt; i++) {
		vs[s->tris[i] + 1]++;
		deg[s->tris[i]]++;
	}
	for (int64_t v = 0; v < np; v++)
		vs[v + 1] += vs[v];
	{
		int64_t *fill = alloc_n(ctx, (size_t)np, sizeof(*fill));
		if (!fill) {
			done = -1;
			goto out;
		}
		memcpy(fill, vs, sizeof(*fill) * (size_t)np);
		for (int64_t i = 0; i < 3 * nt; i++)
			vt[fill[s->tris[i]]++] = (int32_t)(i / 3);
		ctw_free(ctx, fill);
	}
	for (int64_t i = 0; i < n; i++) {
		if (rm_feature(s, &e[i])) {
			nfeat[e[i].a]++;
			nfeat[e[i].b]++;
		}
		if (e[i].t[1] >= 0) {
			double l = elen(s, e[i].a, e[i].b);
			if (l < lo) {
				sh[ns].len = l;
				sh[ns++].e = i;
			}
		}
	}
	qsort(sh, (size_t)ns, sizeof(*sh), by_len);
	for (int64_t i = 0; i < ns; i++) {
		const edge_rec *r = &e[sh[i].e];
		int32_t a = r->a, b = r->b, tmp;
		int feat = rm_feature(s, r), ok = 0;
		if (locked[a] || locked[b] || dead[r->t[0]] || dead[r->t[1]])
			continue;
		/* a is removed: prefer removing the vertex with fewer feature edges */
		if (nfeat[a] > nfeat[b]) {
			tmp = a;
			a = b;
			b = tmp;
		}
		for (int dir = 0; dir < 2 && !ok; dir++) {
			if (dir) {
				tmp = a;
				a = b;
				b = tmp;
			}
			if (!(nfeat[a] == 0 || (nfeat[a] == 2 && feat && nfeat[b] >= 1)))
				continue;
			ok = rm_can_collapse(s, vs, vt, a, b, r->t[0], r->t[1], deg, hi);
		}
		if (!ok)
			continue;
		dead[r->t[0]] = dead[r->t[1]] = 1;
		for (int64_t j = vs[a]; j < vs[a + 1]; j++)
			for (int k = 0; k < 3; k++) {
				int32_t *T = s->tris + 3 * vt[j];
				locked[T[k]] = 1;
				if (T[k] == a && !dead[vt[j]])
					T[k] = b;
			}
		for (int64_t j = vs[b]; j < vs[b + 1]; j++)
			for (int k = 0; k < 3; k++)
				locked[s->tris[3 * vt[j] + k]] = 1;
		done++;
	}
	if (done) {
		for (int64_t t = 0; t < nt; t++)
			dead[t] = !dead[t]; /* keep */
		compact_tris(s, dead);
		if (rm_compact_points(ctx, s))
			done = -1;
	}
out:
	ctw_free(ctx, e);
	ctw_free(ctx, sh);
	ctw_free(ctx, vs);
	ctw_free(ctx, vt);
	ctw_free(ctx, deg);
	ctw_free(ctx, nfeat);
	ctw_free(ctx, locked);
	ctw_free(ctx, dead);
	return done;
}

int ctw_surface_remesh(ctw_ctx *ctx, ctw_surface *s, double edge_mm, int iterations, int64_t *splits,
		       int64_t *collapses)
{
	const double hi = 4.0 / 3.0 * edge_mm, lo = 0.8 * edge_mm;
	int ret;

	*splits = *collapses = 0;
	if (!(edge_mm > 0))
		return ctw_error(ctx, CTW_ERR_INVALID, "surface", "remesh: edge length must be positive");
	if ((ret = check_indices(ctx, s)))
		return ret;
	for (int it = 0; it < iterations; it++) {
		int64_t k, f, changed = 0;
		for (int pass = 0; pass < 8; pass++) {
			if (ctw_ctx_past_deadline(ctx, "remesh"))
				return CTW_ERR_CANCELLED;
			if ((k = rm_split(ctx, s, hi)) < 0)
				return CTW_ERR_NOMEM;
			*splits += k;
			changed += k;
			if (!k)
				break;
		}
		for (int pass = 0; pass < 4; pass++) {
			if ((k = rm_collapse(ctx, s, lo, hi)) < 0)
				return CTW_ERR_NOMEM;
			*collapses += k;
			changed += k;
			if (!k)
				break;
		}
		if ((ret = ctw_surface_improve(ctx, s, 1, &f)))
			return ret;
		if (!changed && !f)
			break;
	}
	return CTW_OK;
}
