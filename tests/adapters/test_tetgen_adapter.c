/* test_tetgen_adapter.c: volume meshing through the TetGen adapter (mesh_tetgen.cxx, in process)
 * and ctw_tetgen_mesh (tetgen_run.c, in a forked child). A unit cube and an icosphere are meshed
 * and the output is checked by its properties: volume, boundary markers per face (also where
 * TetGen split the input triangles), tet orientation, dihedral angles and radius-edge ratios.
 * Bad surfaces (flat, self-intersecting, bad index, NaN, open) and a timeout must come back as
 * CTW_ERR_EXTERNAL messages without killing the test or leaving a child process behind.
 *
 * Also a benchmark mode (bench/tetgen-overhead.sh):
 *   test_tetgen_adapter --bench fork|inproc|smesh FREQ MAX_VOLUME STEM
 * meshes an icosphere of radius 10 and 20*FREQ^2 triangles with "pq1.5/10a<MAX_VOLUME>Q" (fork:
 * ctw_tetgen_mesh, inproc: ctw_tetgen_run) and prints the wall time; smesh writes STEM.smesh. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctw.h"
#include "mesh.h"
#include "mesh_tetgen.h"

#define CTW_PI 3.14159265358979323846

/* ---- surfaces built here (test-owned, malloc) -------------------------------------------------- */

static ctw_surface *surf_alloc(int64_t np, int64_t nt)
{
	ctw_surface *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->n_points = np;
	s->n_tris = nt;
	s->xyz = calloc((size_t)(3 * np), sizeof(double));
	s->tris = calloc((size_t)(3 * nt), sizeof(int32_t));
	s->marker = calloc((size_t)nt, sizeof(int32_t));
	assert_true(s->xyz && s->tris && s->marker);
	return s;
}

static void surf_free(ctw_surface *s)
{
	if (!s)
		return;
	free(s->xyz);
	free(s->tris);
	free(s->marker);
	free(s);
}

/* Face markers of the cube: the outward normal's axis and sign. */
enum { M_ZLO = 1, M_ZHI, M_YLO, M_YHI, M_XHI, M_XLO };

static int cube_marker_of(int axis, int hi)
{
	static const int m[3][2] = { { M_XLO, M_XHI }, { M_YLO, M_YHI }, { M_ZLO, M_ZHI } };
	return m[axis][hi];
}

/* Appends an axis-aligned cube [o, o+size]^3 (8 points, 12 outward triangles, markers 1..6) at
 * point offset p0 and triangle offset t0. */
static void put_cube(ctw_surface *s, int64_t p0, int64_t t0, const double o[3], double size)
{
	static const int tri[12][3] = { { 0, 3, 2 }, { 0, 2, 1 }, { 4, 5, 6 }, { 4, 6, 7 },
					{ 0, 1, 5 }, { 0, 5, 4 }, { 2, 3, 7 }, { 2, 7, 6 },
					{ 1, 2, 6 }, { 1, 6, 5 }, { 0, 4, 7 }, { 0, 7, 3 } };
	static const int mk[6] = { M_ZLO, M_ZHI, M_YLO, M_YHI, M_XHI, M_XLO };
	for (int i = 0; i < 8; i++) {
		s->xyz[3 * (p0 + i) + 0] = o[0] + size * ((i == 1 || i == 2 || i == 5 || i == 6) ? 1 : 0);
		s->xyz[3 * (p0 + i) + 1] = o[1] + size * ((i == 2 || i == 3 || i == 6 || i == 7) ? 1 : 0);
		s->xyz[3 * (p0 + i) + 2] = o[2] + size * (i >= 4 ? 1 : 0);
	}
	for (int t = 0; t < 12; t++) {
		for (int k = 0; k < 3; k++)
			s->tris[3 * (t0 + t) + k] = (int32_t)(p0 + tri[t][k]);
		s->marker[t0 + t] = mk[t / 2];
	}
}

static ctw_surface *make_cube(void)
{
	static const double o[3] = { 0, 0, 0 };
	ctw_surface *s = surf_alloc(8, 12);
	put_cube(s, 0, 0, o, 1.0);
	return s;
}

/* Icosphere of the given radius: the icosahedron with every edge split into freq segments
 * (20*freq^2 triangles; freq 8 = three midpoint subdivisions), points pushed onto the sphere.
 * Shared points are computed once from their edge, so they are bitwise identical. Markers: 1. */
static ctw_surface *make_icosphere(double radius, int freq)
{
	const double t = (1.0 + sqrt(5.0)) / 2.0;
	const double v[12][3] = { { -1, t, 0 }, { 1, t, 0 },  { -1, -t, 0 }, { 1, -t, 0 },
				  { 0, -1, t }, { 0, 1, t },  { 0, -1, -t }, { 0, 1, -t },
				  { t, 0, -1 }, { t, 0, 1 },  { -t, 0, -1 }, { -t, 0, 1 } };
	static const int f[20][3] = { { 0, 11, 5 }, { 0, 5, 1 },  { 0, 1, 7 },   { 0, 7, 10 }, { 0, 10, 11 },
				      { 1, 5, 9 },   { 5, 11, 4 }, { 11, 10, 2 }, { 10, 7, 6 }, { 7, 1, 8 },
				      { 3, 9, 4 },   { 3, 4, 2 },  { 3, 2, 6 },   { 3, 6, 8 },  { 3, 8, 9 },
				      { 4, 9, 5 },   { 2, 4, 11 }, { 6, 2, 10 },  { 8, 6, 7 },  { 9, 8, 1 } };
	const int n = freq;
	int edges[30][2], ne = 0;
	int64_t np = 12 + 30 * (int64_t)(n - 1) + 20 * (int64_t)(n - 1) * (n - 2) / 2;
	ctw_surface *s = surf_alloc(np, 20 * (int64_t)n * n);
	int64_t next, nt = 0;
	int *grid = malloc(sizeof(int) * (size_t)(n + 1) * (size_t)(n + 1));

	assert_non_null(grid);
	/* the 30 edges, in a canonical direction (a < b) */
	for (int i = 0; i < 20; i++)
		for (int k = 0; k < 3; k++) {
			int a = f[i][k], b = f[i][(k + 1) % 3], found = 0;
			if (a > b) {
				int x = a;
				a = b;
				b = x;
			}
			for (int e = 0; e < ne; e++)
				found |= edges[e][0] == a && edges[e][1] == b;
			if (!found) {
				edges[ne][0] = a;
				edges[ne][1] = b;
				ne++;
			}
		}
	assert_int_equal(ne, 30);
	/* corners, then edge points */
	for (int i = 0; i < 12; i++)
		for (int c = 0; c < 3; c++)
			s->xyz[3 * i + c] = v[i][c];
	next = 12;
	for (int e = 0; e < 30; e++)
		for (int k = 1; k < n; k++, next++)
			for (int c = 0; c < 3; c++)
				s->xyz[3 * next + c] = v[edges[e][0]][c] +
						       (v[edges[e][1]][c] - v[edges[e][0]][c]) * k / n;
	for (int i = 0; i < 20; i++) {
		int A = f[i][0], B = f[i][1], C = f[i][2];
		/* grid[i1*(n+1)+i2]: point A + (B-A) i1/n + (C-A) i2/n */
		for (int i1 = 0; i1 <= n; i1++)
			for (int i2 = 0; i1 + i2 <= n; i2++) {
				int idx = -1, a = -1, b = -1, k = 0;
				if (i1 == 0 && i2 == 0)
					idx = A;
				else if (i1 == n)
					idx = B;
				else if (i2 == n)
					idx = C;
				else if (i2 == 0)
					a = A, b = B, k = i1; /* on AB */
				else if (i1 == 0)
					a = A, b = C, k = i2; /* on AC */
				else if (i1 + i2 == n)
					a = B, b = C, k = i2; /* on BC */
				if (a >= 0) {
					int e;
					if (a > b) {
						int x = a;
						a = b;
						b = x;
						k = n - k;
					}
					for (e = 0; e < 30; e++)
						if (edges[e][0] == a && edges[e][1] == b)
							break;
					idx = 12 + e * (n - 1) + (k - 1);
				} else if (idx < 0) {
					idx = (int)next++;
					for (int c = 0; c < 3; c++)
						s->xyz[3 * idx + c] = v[A][c] + (v[B][c] - v[A][c]) * i1 / n +
								      (v[C][c] - v[A][c]) * i2 / n;
				}
				grid[i1 * (n + 1) + i2] = idx;
			}
		for (int i1 = 0; i1 < n; i1++)
			for (int i2 = 0; i1 + i2 < n; i2++) {
				int p = grid[i1 * (n + 1) + i2], q = grid[(i1 + 1) * (n + 1) + i2],
				    r = grid[i1 * (n + 1) + i2 + 1];
				s->tris[3 * nt] = p, s->tris[3 * nt + 1] = q, s->tris[3 * nt + 2] = r;
				s->marker[nt++] = 1;
				if (i1 + i2 + 1 < n) {
					int w = grid[(i1 + 1) * (n + 1) + i2 + 1];
					s->tris[3 * nt] = q, s->tris[3 * nt + 1] = w, s->tris[3 * nt + 2] = r;
					s->marker[nt++] = 1;
				}
			}
	}
	free(grid);
	assert_int_equal(next, np);
	assert_int_equal(nt, s->n_tris);
	for (int64_t i = 0; i < np; i++) {
		double *p = s->xyz + 3 * i, l = sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
		for (int c = 0; c < 3; c++)
			p[c] *= radius / l;
	}
	return s;
}

static double polyhedron_volume(const ctw_surface *s)
{
	double vol = 0;
	for (int64_t t = 0; t < s->n_tris; t++) {
		const double *a = s->xyz + 3 * s->tris[3 * t], *b = s->xyz + 3 * s->tris[3 * t + 1],
			     *c = s->xyz + 3 * s->tris[3 * t + 2];
		vol += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) +
			a[2] * (b[0] * c[1] - b[1] * c[0])) /
		       6.0;
	}
	return vol;
}

/* ---- mesh measures ----------------------------------------------------------------------------- */

static void sub(const double *a, const double *b, double *d)
{
	d[0] = a[0] - b[0], d[1] = a[1] - b[1], d[2] = a[2] - b[2];
}
static double dot(const double *a, const double *b)
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
static void cross(const double *a, const double *b, double *c)
{
	c[0] = a[1] * b[2] - a[2] * b[1];
	c[1] = a[2] * b[0] - a[0] * b[2];
	c[2] = a[0] * b[1] - a[1] * b[0];
}

/* Smallest of the six interior dihedral angles of tet t, degrees. */
static double min_dihedral(const ctw_tetmesh *m, int64_t t)
{
	static const int e[6][4] = { { 0, 1, 2, 3 }, { 0, 2, 1, 3 }, { 0, 3, 1, 2 },
				     { 1, 2, 0, 3 }, { 1, 3, 0, 2 }, { 2, 3, 0, 1 } };
	double best = 180;
	for (int k = 0; k < 6; k++) {
		const double *pi = m->xyz + 3 * m->tets[4 * t + e[k][0]], *pj = m->xyz + 3 * m->tets[4 * t + e[k][1]],
			     *pk = m->xyz + 3 * m->tets[4 * t + e[k][2]], *pl = m->xyz + 3 * m->tets[4 * t + e[k][3]];
		double d[3], u[3], w[3], de, a;
		sub(pj, pi, d);
		sub(pk, pi, u);
		sub(pl, pi, w);
		de = dot(d, d);
		a = dot(u, d) / de;
		for (int c = 0; c < 3; c++)
			u[c] -= a * d[c];
		a = dot(w, d) / de;
		for (int c = 0; c < 3; c++)
			w[c] -= a * d[c];
		a = acos(fmax(-1.0, fmin(1.0, dot(u, w) / sqrt(dot(u, u) * dot(w, w))))) * 180.0 / CTW_PI;
		if (a < best)
			best = a;
	}
	return best;
}

/* Circumradius over shortest edge of tet t. */
static double radius_edge(const ctw_tetmesh *m, int64_t t)
{
	const double *p0 = m->xyz + 3 * m->tets[4 * t];
	double a[3], b[3], c[3], bc[3], ca[3], ab[3], o[3], den, emin = INFINITY;
	const int32_t *v = m->tets + 4 * t;
	sub(m->xyz + 3 * v[1], p0, a);
	sub(m->xyz + 3 * v[2], p0, b);
	sub(m->xyz + 3 * v[3], p0, c);
	cross(b, c, bc);
	cross(c, a, ca);
	cross(a, b, ab);
	den = 2 * dot(a, bc);
	for (int k = 0; k < 3; k++)
		o[k] = (dot(a, a) * bc[k] + dot(b, b) * ca[k] + dot(c, c) * ab[k]) / den;
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++) {
			double d[3];
			sub(m->xyz + 3 * v[i], m->xyz + 3 * v[j], d);
			emin = fmin(emin, sqrt(dot(d, d)));
		}
	return sqrt(dot(o, o)) / emin;
}

static int cmp_tri(const void *a, const void *b)
{
	const int32_t *x = a, *y = b;
	for (int k = 0; k < 3; k++)
		if (x[k] != y[k])
			return x[k] < y[k] ? -1 : 1;
	return 0;
}

static void sort3(int32_t *t)
{
	int32_t x;
	if (t[0] > t[1])
		x = t[0], t[0] = t[1], t[1] = x;
	if (t[1] > t[2])
		x = t[1], t[1] = t[2], t[2] = x;
	if (t[0] > t[1])
		x = t[0], t[0] = t[1], t[1] = x;
}

/* Checks that m->tris is exactly the set of faces of one tetrahedron (the mesh boundary). */
static void assert_tris_are_boundary(const ctw_tetmesh *m)
{
	static const int fc[4][3] = { { 1, 2, 3 }, { 0, 2, 3 }, { 0, 1, 3 }, { 0, 1, 2 } };
	int32_t *faces = malloc(sizeof(int32_t) * 12 * (size_t)m->n_tets), *bnd, *tris;
	int64_t nb = 0;
	assert_non_null(faces);
	for (int64_t t = 0; t < m->n_tets; t++)
		for (int f = 0; f < 4; f++) {
			for (int k = 0; k < 3; k++)
				faces[12 * t + 3 * f + k] = m->tets[4 * t + fc[f][k]];
			sort3(faces + 12 * t + 3 * f);
		}
	qsort(faces, (size_t)(4 * m->n_tets), 3 * sizeof(int32_t), cmp_tri);
	bnd = malloc(sizeof(int32_t) * 12 * (size_t)m->n_tets);
	assert_non_null(bnd);
	for (int64_t i = 0; i < 4 * m->n_tets;) {
		int64_t j = i + 1;
		while (j < 4 * m->n_tets && !cmp_tri(faces + 3 * i, faces + 3 * j))
			j++;
		assert_true(j - i <= 2); /* a face is shared by at most two tets */
		if (j - i == 1)
			memcpy(bnd + 3 * nb++, faces + 3 * i, 3 * sizeof(int32_t));
		i = j;
	}
	tris = malloc(sizeof(int32_t) * 3 * (size_t)m->n_tris);
	assert_non_null(tris);
	memcpy(tris, m->tris, sizeof(int32_t) * 3 * (size_t)m->n_tris);
	for (int64_t i = 0; i < m->n_tris; i++)
		sort3(tris + 3 * i);
	qsort(tris, (size_t)m->n_tris, 3 * sizeof(int32_t), cmp_tri);
	assert_int_equal(nb, m->n_tris);
	assert_memory_equal(bnd, tris, sizeof(int32_t) * 3 * (size_t)nb);
	free(faces);
	free(bnd);
	free(tris);
}

/* Counts tets by the sign of ctw_tetmesh_tet_volume; returns |total volume|. */
static double orientation(const ctw_tetmesh *m, int64_t *pos, int64_t *neg)
{
	double vol = 0;
	*pos = *neg = 0;
	for (int64_t t = 0; t < m->n_tets; t++) {
		double v = ctw_tetmesh_tet_volume(m, t);
		*pos += v > 0;
		*neg += v < 0;
		vol += fabs(v);
	}
	return vol;
}

/* No child process left behind, zombie or running. */
static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

#define ANGLE_MARGIN 0.5 /* degrees */
#define RATIO_MARGIN 0.05

typedef struct quality {
	double dmin, remax;                   /* over all tets                          */
	double dmin_interior, remax_interior; /* over tets without a boundary vertex    */
	int64_t bad_angle, bad_re;            /* tets beyond the asked bound + margin   */
} quality;

static void measure_quality(const ctw_tetmesh *m, double ratio, double angle, quality *q)
{
	char *on_bnd = calloc((size_t)m->n_points, 1);
	assert_non_null(on_bnd);
	for (int64_t i = 0; i < 3 * m->n_tris; i++)
		on_bnd[m->tris[i]] = 1;
	q->dmin = q->dmin_interior = 180;
	q->remax = q->remax_interior = 0;
	q->bad_angle = q->bad_re = 0;
	for (int64_t t = 0; t < m->n_tets; t++) {
		double d = min_dihedral(m, t), re = radius_edge(m, t);
		int nb = 0;
		for (int k = 0; k < 4; k++)
			nb += on_bnd[m->tets[4 * t + k]];
		q->dmin = fmin(q->dmin, d);
		q->remax = fmax(q->remax, re);
		if (!nb) {
			q->dmin_interior = fmin(q->dmin_interior, d);
			q->remax_interior = fmax(q->remax_interior, re);
		}
		q->bad_angle += d < angle - ANGLE_MARGIN;
		q->bad_re += re > ratio + RATIO_MARGIN;
	}
	free(on_bnd);
}

static int mesh(ctw_ctx *ctx, const ctw_surface *s, double ratio, double angle, double vol, double timeout,
		ctw_tetmesh **out)
{
	ctw_tetgen_opts o = CTW_TETGEN_OPTS_INIT;
	int ret;
	o.max_radius_edge = ratio;
	o.min_dihedral_deg = angle;
	o.max_volume_mm3 = vol;
	o.timeout_s = timeout;
	ret = ctw_tetgen_mesh(ctx, s, &o, out);
	assert_no_children();
	return ret;
}

/* ---- tests --------------------------------------------------------------------------------------- */

static void test_tetgen_version(void **state)
{
	(void)state;
	assert_string_equal(ctw_tetgen_version(), "1.5");
}

static void test_tetgen_cube(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_surface *s = make_cube();
	ctw_tetmesh *m = NULL, *m2 = NULL;
	int64_t pos, neg, split = 0, outward = 0;
	double area[7] = { 0 };
	quality q;
	(void)state;

	assert_int_equal(mesh(ctx, s, 1.5, 10, 0.001, 0, &m), CTW_OK);
	assert_non_null(m);
	assert_int_equal(ctw_tetmesh_check(ctx, "cube", m), CTW_OK);
	assert_true(m->n_tets > 1000); /* 1 / 0.001 at least */
	assert_true(fabs(orientation(m, &pos, &neg) - 1.0) < 1e-9);
	assert_true(fabs(fabs(ctw_tetmesh_volume(m)) - 1.0) < 1e-9);
	assert_int_equal(pos, m->n_tets); /* pinned: the integrator relies on it */
	print_message("cube: %lld points, %lld tets, %lld boundary triangles; TetGen's tets are %s "
		      "((p1-p0).((p2-p0)x(p3-p0)) %s 0)\n",
		      (long long)m->n_points, (long long)m->n_tets, (long long)m->n_tris,
		      neg ? "negatively oriented" : "positively oriented", neg ? "<" : ">");
	for (int64_t t = 0; t < m->n_tets; t++)
		assert_int_equal(m->region[t], 0);

	/* every boundary triangle lies on a cube face and carries that face's marker */
	assert_true(m->n_tris > 12);
	assert_tris_are_boundary(m);
	for (int64_t i = 0; i < m->n_tris; i++) {
		const double *a = m->xyz + 3 * m->tris[3 * i], *b = m->xyz + 3 * m->tris[3 * i + 1],
			     *c = m->xyz + 3 * m->tris[3 * i + 2];
		double u[3], w[3], n[3], cen[3], len;
		int axis = 0;
		sub(b, a, u);
		sub(c, a, w);
		cross(u, w, n);
		len = sqrt(dot(n, n));
		for (int k = 1; k < 3; k++)
			if (fabs(n[k]) > fabs(n[axis]))
				axis = k;
		assert_true(fabs(n[axis]) > (1 - 1e-9) * len); /* axis-aligned */
		for (int k = 0; k < 3; k++)
			cen[k] = (a[k] + b[k] + c[k]) / 3;
		assert_true(fabs(cen[axis]) < 1e-12 || fabs(cen[axis] - 1) < 1e-12);
		assert_int_equal(m->tri_marker[i], cube_marker_of(axis, cen[axis] > 0.5));
		area[m->tri_marker[i]] += len / 2;
		outward += (n[axis] > 0) == (cen[axis] > 0.5);
		split += 1;
	}
	assert_int_equal(outward, 0); /* pinned: boundary faces point into their tet */
	for (int k = 1; k <= 6; k++)
		assert_true(fabs(area[k] - 1.0) < 1e-9);
	print_message("cube: boundary triangles are %s (%lld of %lld outward)\n",
		      outward == split ? "oriented outwards" : outward == 0 ? "oriented inwards" : "mixed",
		      (long long)outward, (long long)split);

	measure_quality(m, 1.5, 10, &q);
	print_message("cube: min dihedral %.2f deg (asked 10), radius-edge max %.3f (asked 1.5)\n", q.dmin,
		      q.remax);
	assert_true(q.dmin >= 10 - ANGLE_MARGIN);
	assert_true(q.remax <= 1.5 + RATIO_MARGIN);

	/* the fork + pipe transport gives exactly what the in-process call gives */
	assert_int_equal(ctw_tetgen_run(ctx, s, "pq1.5/10a0.001", &m2), CTW_OK);
	assert_int_equal(m2->n_points, m->n_points);
	assert_int_equal(m2->n_tets, m->n_tets);
	assert_int_equal(m2->n_tris, m->n_tris);
	assert_memory_equal(m2->xyz, m->xyz, sizeof(double) * 3 * (size_t)m->n_points);
	assert_memory_equal(m2->tets, m->tets, sizeof(int32_t) * 4 * (size_t)m->n_tets);
	assert_memory_equal(m2->tris, m->tris, sizeof(int32_t) * 3 * (size_t)m->n_tris);
	assert_memory_equal(m2->tri_marker, m->tri_marker, sizeof(int32_t) * (size_t)m->n_tris);

	ctw_tetmesh_free(ctx, m);
	ctw_tetmesh_free(ctx, m2);
	surf_free(s);
	ctw_ctx_free(ctx);
}

static void test_tetgen_icosphere_quality(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_surface *s = make_icosphere(10.0, 8);
	ctw_tetmesh *m = NULL;
	const double ratio = 1.5, angle = 12;
	double ref = polyhedron_volume(s), vol;
	int64_t pos, neg, inward = 0;
	quality q;
	(void)state;

	assert_int_equal(s->n_tris, 1280);
	assert_int_equal(s->n_points, 642);
	assert_true(ref > 0.95 * 4.0 / 3.0 * CTW_PI * 1000 && ref < 4.0 / 3.0 * CTW_PI * 1000);
	assert_int_equal(mesh(ctx, s, ratio, angle, 2.0, 0, &m), CTW_OK);
	vol = orientation(m, &pos, &neg);
	assert_int_equal(pos, m->n_tets);
	assert_true(fabs(vol - ref) < 0.01 * ref);
	assert_tris_are_boundary(m);
	for (int64_t i = 0; i < m->n_tris; i++) {
		const double *a = m->xyz + 3 * m->tris[3 * i], *b = m->xyz + 3 * m->tris[3 * i + 1],
			     *c = m->xyz + 3 * m->tris[3 * i + 2];
		double u[3], w[3], n[3];
		sub(b, a, u);
		sub(c, a, w);
		cross(u, w, n);
		inward += dot(n, a) < 0;
		assert_int_equal(m->tri_marker[i], 1);
	}
	assert_int_equal(inward, m->n_tris); /* TetGen orients boundary faces towards their tet */
	measure_quality(m, ratio, angle, &q);
	print_message("icosphere: %lld tets, volume %.6f (polyhedron %.6f, rel. %.1e); min dihedral %.2f "
		      "deg (asked %g; interior %.2f), %lld below by more than %g; radius-edge max %.3f "
		      "(asked %g; interior %.3f), %lld above by more than %g\n",
		      (long long)m->n_tets, vol, ref, fabs(vol - ref) / ref, q.dmin, angle, q.dmin_interior,
		      (long long)q.bad_angle, ANGLE_MARGIN, q.remax, ratio, q.remax_interior,
		      (long long)q.bad_re, RATIO_MARGIN);
	/* TetGen 1.5 meets both bounds away from the boundary (tets without a boundary vertex); next
	 * to a curved (faceted) boundary it leaves a few tets with an edge or face on the boundary
	 * above them. The cube, with flat faces, meets both everywhere. */
	assert_true(q.dmin_interior >= angle - ANGLE_MARGIN);
	assert_true(q.remax_interior <= ratio + RATIO_MARGIN);
	assert_true(q.bad_angle <= m->n_tets / 100);
	assert_true(q.bad_re <= m->n_tets / 100);
	assert_true(q.dmin > 5.0);
	ctw_tetmesh_free(ctx, m);
	surf_free(s);
	ctw_ctx_free(ctx);
}

static void expect_external(const ctw_surface *s, double vol, double timeout, const char *needle,
			    const char *needle2)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = (ctw_tetmesh *)&m; /* must be reset to NULL */
	int ret = mesh(ctx, s, 1.5, 10, vol, timeout, &m);
	const char *msg = ctw_errmsg(ctx);
	print_message("%s\n", msg);
	assert_int_equal(ret, CTW_ERR_EXTERNAL);
	assert_null(m);
	assert_true(strncmp(msg, "tetgen: ", 8) == 0);
	assert_true(strstr(msg, needle) || (needle2 && strstr(msg, needle2)));
	ctw_ctx_free(ctx);
}

static void test_tetgen_flat(void **state)
{
	ctw_surface *s = make_cube();
	(void)state;
	for (int i = 0; i < 8; i++)
		s->xyz[3 * i + 2] = 0;
	/* Debian's libtet asserts (abort) on this: a crash, or a message from TetGen */
	expect_external(s, 0, 0, "crashed", "input");
	surf_free(s);
}

static void test_tetgen_intersecting(void **state)
{
	static const double o1[3] = { 0, 0, 0 }, o2[3] = { 0.5, 0.5, 0.5 };
	ctw_surface *s = surf_alloc(16, 24);
	(void)state;
	put_cube(s, 0, 0, o1, 1.0);
	put_cube(s, 8, 12, o2, 1.0);
	/* without the terminatetetgen() fix of mesh_tetgen.cxx, Debian's libtet segfaults here */
	expect_external(s, 0, 0, "the surface self-intersects", "crashed (signal 11");
	surf_free(s);
}

static void test_tetgen_open_surface(void **state)
{
	ctw_surface *s = make_cube();
	(void)state;
	s->n_tris = 11; /* one triangle short: a hole */
	expect_external(s, 0, 0, "no tetrahedra produced", NULL);
	surf_free(s);
}

static void test_tetgen_bad_index(void **state)
{
	ctw_surface *s = make_cube();
	(void)state;
	s->tris[3 * 5 + 1] = 8;
	expect_external(s, 0, 0, "triangle 5 refers to point 8 of 8", NULL);
	s->tris[3 * 5 + 1] = -1;
	expect_external(s, 0, 0, "triangle 5 refers to point -1 of 8", NULL);
	s->tris[3 * 5 + 1] = s->tris[3 * 5];
	expect_external(s, 0, 0, "triangle 5 repeats point", NULL);
	s->n_points = 3;
	expect_external(s, 0, 0, "too small", NULL);
	surf_free(s);
}

static void test_tetgen_nan(void **state)
{
	ctw_surface *s = make_cube();
	(void)state;
	s->xyz[3 * 6 + 1] = NAN;
	expect_external(s, 0, 0, "point 6 has a non-finite coordinate", NULL);
	s->xyz[3 * 6 + 1] = INFINITY;
	expect_external(s, 0, 0, "point 6 has a non-finite coordinate", NULL);
	surf_free(s);
}

static void test_tetgen_bad_options(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_surface *s = make_cube();
	ctw_tetmesh *m = NULL;
	(void)state;
	assert_int_equal(mesh(ctx, s, 0.5, 10, 0, 0, &m), CTW_ERR_INVALID);
	assert_int_equal(mesh(ctx, s, 1.5, NAN, 0, 0, &m), CTW_ERR_INVALID);
	assert_int_equal(mesh(ctx, s, 1.5, 10, -1, 0, &m), CTW_ERR_INVALID);
	assert_int_equal(mesh(ctx, s, 1.5, 10, 0, -1, &m), CTW_ERR_INVALID);
	assert_null(m);
	/* the in-process adapter refuses switches that would drop markers or renumber */
	assert_int_equal(ctw_tetgen_run(ctx, s, "pqB", &m), CTW_ERR_INVALID);
	assert_int_equal(ctw_tetgen_run(ctx, s, "pqz", &m), CTW_ERR_INVALID);
	assert_int_equal(ctw_tetgen_run(ctx, s, "pqo2", &m), CTW_ERR_INVALID); /* second order */
	assert_null(m);
	/* NULL options: the defaults */
	assert_int_equal(ctw_tetgen_mesh(ctx, s, NULL, &m), CTW_OK);
	assert_non_null(m);
	ctw_tetmesh_free(ctx, m);
	surf_free(s);
	ctw_ctx_free(ctx);
}

static void test_tetgen_timeout(void **state)
{
	ctw_surface *s = make_icosphere(10.0, 16);
	struct timespec t0, t1;
	double dt;
	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* ~4189 mm^3 / 1e-4: tens of millions of tets, hours of work */
	expect_external(s, 1e-4, 0.001, "gave up after 0.001 s", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
	print_message("timeout: returned after %.3f s\n", dt);
	assert_true(dt < 2.0);
	surf_free(s);
}

/* The child must not write out stdio buffers it inherited: "once" is in the file once. */
static void test_tetgen_stdio_not_duplicated(void **state)
{
	char path[] = "/tmp/ctw_tgstdio_XXXXXX", buf[64] = { 0 };
	int fd = mkstemp(path);
	FILE *fp;
	ctw_surface *s = make_cube();
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = NULL;
	(void)state;
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs("once", fp); /* buffered, not yet written */
	assert_int_equal(mesh(ctx, s, 1.5, 10, 0, 0, &m), CTW_OK);
	ctw_tetmesh_free(ctx, m);
	s->n_tris = 11; /* and on the error path */
	assert_int_equal(mesh(ctx, s, 1.5, 10, 0, 0, &m), CTW_ERR_EXTERNAL);
	assert_int_equal(fclose(fp), 0);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, fp), 4);
	assert_string_equal(buf, "once");
	fclose(fp);
	unlink(path);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
	surf_free(s);
}

/* An allocator failing the Nth call, but only in the parent process (the child has a copy). */
typedef struct parent_fault {
	long calls, fail_at, live;
	pid_t parent;
} parent_fault;

static void *pf_malloc(void *ud, size_t n)
{
	parent_fault *f = ud;
	void *p;
	if (getpid() == f->parent && ++f->calls == f->fail_at)
		return NULL;
	p = malloc(n ? n : 1);
	if (getpid() == f->parent)
		f->live += p != NULL;
	return p;
}
static void *pf_realloc(void *ud, void *p, size_t n)
{
	parent_fault *f = ud;
	void *q;
	if (getpid() == f->parent && ++f->calls == f->fail_at)
		return NULL;
	q = realloc(p, n ? n : 1);
	if (getpid() == f->parent)
		f->live += q && !p;
	return q;
}
static void pf_free(void *ud, void *p)
{
	parent_fault *f = ud;
	if (getpid() == f->parent)
		f->live -= p != NULL;
	free(p);
}

static void test_tetgen_alloc_faults(void **state)
{
	ctw_surface *s = make_cube();
	(void)state;
	for (long n = 2;; n++) {
		parent_fault f = { 0, n, 0, getpid() };
		ctw_allocator a = { pf_malloc, pf_realloc, pf_free, &f };
		ctw_ctx *ctx = ctw_ctx_new_with(&a);
		ctw_tetmesh *m = NULL;
		int ret;
		assert_non_null(ctx);
		ret = mesh(ctx, s, 1.5, 10, 0.01, 0, &m);
		if (ret == CTW_OK) {
			ctw_tetmesh_free(ctx, m);
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			assert_true(n > 3);
			break;
		}
		assert_int_equal(ret, CTW_ERR_NOMEM);
		assert_null(m);
		ctw_ctx_free(ctx);
		assert_int_equal(f.live, 0);
	}
	surf_free(s);
}

/* ---- benchmark mode ------------------------------------------------------------------------------ */

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench(int argc, char **argv)
{
	ctw_ctx *ctx;
	ctw_surface *s;
	ctw_tetmesh *m = NULL;
	ctw_tetgen_opts o = CTW_TETGEN_OPTS_INIT;
	struct rusage self, kids;
	char sw[128];
	double t0, t1;
	int ret;

	if (argc != 6) {
		fprintf(stderr, "usage: %s --bench fork|inproc|smesh FREQ MAX_VOLUME STEM\n", argv[0]);
		return 1;
	}
	s = make_icosphere(10.0, atoi(argv[3]));
	o.max_volume_mm3 = atof(argv[4]);
	if (!strcmp(argv[2], "smesh")) {
		char path[1024];
		FILE *fp;
		snprintf(path, sizeof(path), "%s.smesh", argv[5]);
		fp = fopen(path, "w");
		if (!fp)
			return 1;
		fprintf(fp, "%lld 3 0 0\n", (long long)s->n_points);
		for (int64_t i = 0; i < s->n_points; i++)
			fprintf(fp, "%lld %.17g %.17g %.17g\n", (long long)i, s->xyz[3 * i], s->xyz[3 * i + 1],
				s->xyz[3 * i + 2]);
		fprintf(fp, "%lld 1\n", (long long)s->n_tris);
		for (int64_t i = 0; i < s->n_tris; i++)
			fprintf(fp, "3 %d %d %d %d\n", s->tris[3 * i], s->tris[3 * i + 1], s->tris[3 * i + 2],
				s->marker[i]);
		fprintf(fp, "0\n0\n");
		ret = fclose(fp);
		printf("wrote %s: %lld points, %lld triangles\n", path, (long long)s->n_points,
		       (long long)s->n_tris);
		surf_free(s);
		return ret ? 1 : 0;
	}
	ctx = ctw_ctx_new();
	t0 = wall();
	if (!strcmp(argv[2], "fork")) {
		ret = ctw_tetgen_mesh(ctx, s, &o, &m);
	} else {
		snprintf(sw, sizeof(sw), "pq%.12g/%.12ga%.12gQ", o.max_radius_edge, o.min_dihedral_deg,
			 o.max_volume_mm3);
		ret = ctw_tetgen_run(ctx, s, sw, &m);
	}
	t1 = wall();
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	if (ret) {
		fprintf(stderr, "%s\n", ctw_errmsg(ctx));
		return 1;
	}
	printf("%s: %lld triangles -> %lld points, %lld tets, %lld boundary triangles in %.3f s wall; "
	       "max RSS self %ld MiB, child %ld MiB\n",
	       argv[2], (long long)s->n_tris, (long long)m->n_points, (long long)m->n_tets,
	       (long long)m->n_tris, t1 - t0, self.ru_maxrss / 1024, kids.ru_maxrss / 1024);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
	surf_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tetgen_version),
		cmocka_unit_test(test_tetgen_cube),
		cmocka_unit_test(test_tetgen_icosphere_quality),
		cmocka_unit_test(test_tetgen_flat),
		cmocka_unit_test(test_tetgen_intersecting),
		cmocka_unit_test(test_tetgen_open_surface),
		cmocka_unit_test(test_tetgen_bad_index),
		cmocka_unit_test(test_tetgen_nan),
		cmocka_unit_test(test_tetgen_bad_options),
		cmocka_unit_test(test_tetgen_timeout),
		cmocka_unit_test(test_tetgen_stdio_not_duplicated),
		cmocka_unit_test(test_tetgen_alloc_faults),
	};
	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return bench(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
