/* test_meshing_surface.c: the pure-C parts of the meshing stage (meshing/surface.c, quality.c)
 * on surfaces and tetrahedral meshes built here: icospheres and cubes against analytic volumes
 * and areas, holes, touching and interpenetrating parts, repair of a scrambled sphere and of
 * nested shells, tetrahedron quality against hand-computed angles, boundary faces, point
 * distances against brute force, and allocation faults. With CTW_BENCH set in the environment it
 * also times repair, check and quality on about a million elements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctw.h"
#include "fault_alloc.h"
#include "mesh.h"

#define PI 3.14159265358979323846

/* |a - b| <= tol (false for NaN), with both values in the message. */
#define assert_near(a, b, tol)                                                                     \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		if (!(fabs(a_ - b_) <= (tol)))                                                     \
			fail_msg("%s = %.17g, expected %.17g (within %g)", #a, a_, b_, (double)(tol)); \
	} while (0)

/* ---- builders ------------------------------------------------------------------------------ */

/* A growable triangle soup (plain malloc; turned into a ctw_surface by to_surface). */
typedef struct soup {
	int64_t np, nt, cap_p, cap_t;
	double *xyz;
	int32_t *tris;
} soup;

static int32_t soup_point(soup *s, double x, double y, double z)
{
	if (s->np == s->cap_p) {
		s->cap_p = s->cap_p ? 2 * s->cap_p : 64;
		s->xyz = realloc(s->xyz, 3 * (size_t)s->cap_p * sizeof(double));
		assert_non_null(s->xyz);
	}
	s->xyz[3 * s->np] = x;
	s->xyz[3 * s->np + 1] = y;
	s->xyz[3 * s->np + 2] = z;
	return (int32_t)s->np++;
}

static void soup_tri(soup *s, int32_t a, int32_t b, int32_t c)
{
	if (s->nt == s->cap_t) {
		s->cap_t = s->cap_t ? 2 * s->cap_t : 64;
		s->tris = realloc(s->tris, 3 * (size_t)s->cap_t * sizeof(int32_t));
		assert_non_null(s->tris);
	}
	s->tris[3 * s->nt] = a;
	s->tris[3 * s->nt + 1] = b;
	s->tris[3 * s->nt + 2] = c;
	s->nt++;
}

static void soup_free(soup *s)
{
	free(s->xyz);
	free(s->tris);
	memset(s, 0, sizeof(*s));
}

static const double *weld_base;

static int weld_cmp(const void *x, const void *y)
{
	const double *a = weld_base + 3 * *(const int64_t *)x, *b = weld_base + 3 * *(const int64_t *)y;
	for (int k = 0; k < 3; k++)
		if (a[k] != b[k])
			return a[k] < b[k] ? -1 : 1;
	return 0;
}

/* Merges points with exactly equal coordinates (an independent reference, not the library's). */
static void weld(soup *s)
{
	int64_t *ord = malloc((size_t)s->np * sizeof(*ord)), i, n = 0;
	int32_t *map = malloc((size_t)s->np * sizeof(*map));
	double *xyz = malloc(3 * (size_t)s->np * sizeof(double));

	assert_true(ord && map && xyz);
	for (i = 0; i < s->np; i++)
		ord[i] = i;
	weld_base = s->xyz;
	qsort(ord, (size_t)s->np, sizeof(*ord), weld_cmp);
	for (i = 0; i < s->np; i++) {
		if (i == 0 || weld_cmp(&ord[i], &ord[i - 1])) {
			memcpy(xyz + 3 * n, s->xyz + 3 * ord[i], 3 * sizeof(double));
			n++;
		}
		map[ord[i]] = (int32_t)(n - 1);
	}
	for (i = 0; i < 3 * s->nt; i++)
		s->tris[i] = map[s->tris[i]];
	free(s->xyz);
	s->xyz = xyz;
	s->np = s->cap_p = n;
	free(ord);
	free(map);
}

/* Icosahedron with every face cut into f*f triangles, projected on the sphere (c, r), outwards.
 * Points on shared face edges are computed identically and welded. 20 f^2 triangles. */
static void icosphere(soup *s, int f, const double c[3], double r)
{
	const double p = (1.0 + sqrt(5.0)) / 2.0;
	const double V[12][3] = { { -1, p, 0 }, { 1, p, 0 },  { -1, -p, 0 }, { 1, -p, 0 },
				  { 0, -1, p }, { 0, 1, p },  { 0, -1, -p }, { 0, 1, -p },
				  { p, 0, -1 }, { p, 0, 1 },  { -p, 0, -1 }, { -p, 0, 1 } };
	const int F[20][3] = { { 0, 11, 5 }, { 0, 5, 1 },  { 0, 1, 7 },   { 0, 7, 10 }, { 0, 10, 11 },
			       { 1, 5, 9 },  { 5, 11, 4 }, { 11, 10, 2 }, { 10, 7, 6 }, { 7, 1, 8 },
			       { 3, 9, 4 },  { 3, 4, 2 },  { 3, 2, 6 },   { 3, 6, 8 },  { 3, 8, 9 },
			       { 4, 9, 5 },  { 2, 4, 11 }, { 6, 2, 10 },  { 8, 6, 7 },  { 9, 8, 1 } };
	int32_t *q = malloc((size_t)(f + 1) * (size_t)(f + 1) * sizeof(*q));

	assert_non_null(q);
	for (int fi = 0; fi < 20; fi++) {
		const double *A = V[F[fi][0]], *B = V[F[fi][1]], *C = V[F[fi][2]];
		for (int a = 0; a <= f; a++)
			for (int b = 0; a + b <= f; b++) {
				double x[3], l;
				int w = f - a - b;
				for (int k = 0; k < 3; k++)
					x[k] = ((double)w * A[k] + (double)a * B[k] + (double)b * C[k]) / f;
				l = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
				q[a * (f + 1) + b] = soup_point(s, c[0] + r * x[0] / l, c[1] + r * x[1] / l,
								c[2] + r * x[2] / l);
			}
		for (int a = 0; a < f; a++)
			for (int b = 0; a + b < f; b++) {
				soup_tri(s, q[a * (f + 1) + b], q[(a + 1) * (f + 1) + b], q[a * (f + 1) + b + 1]);
				if (a + b + 2 <= f)
					soup_tri(s, q[(a + 1) * (f + 1) + b], q[(a + 1) * (f + 1) + b + 1],
						 q[a * (f + 1) + b + 1]);
			}
	}
	free(q);
	weld(s);
}

/* Axis-aligned box [lo, hi] with every face cut into n*n squares of two triangles, outwards. */
static void box(soup *s, const double lo[3], const double hi[3], int n)
{
	for (int d = 0; d < 3; d++)
		for (int side = 0; side < 2; side++) {
			int d1 = (d + 1) % 3, d2 = (d + 2) % 3;
			int32_t *q = malloc((size_t)(n + 1) * (size_t)(n + 1) * sizeof(*q));
			assert_non_null(q);
			for (int a = 0; a <= n; a++)
				for (int b = 0; b <= n; b++) {
					double x[3];
					x[d] = side ? hi[d] : lo[d];
					x[d1] = a == n ? hi[d1] : lo[d1] + (hi[d1] - lo[d1]) * a / n;
					x[d2] = b == n ? hi[d2] : lo[d2] + (hi[d2] - lo[d2]) * b / n;
					q[a * (n + 1) + b] = soup_point(s, x[0], x[1], x[2]);
				}
			for (int a = 0; a < n; a++)
				for (int b = 0; b < n; b++) {
					int32_t v00 = q[a * (n + 1) + b], v10 = q[(a + 1) * (n + 1) + b],
						v11 = q[(a + 1) * (n + 1) + b + 1], v01 = q[a * (n + 1) + b + 1];
					if (side) {
						soup_tri(s, v00, v10, v11);
						soup_tri(s, v00, v11, v01);
					} else {
						soup_tri(s, v00, v11, v10);
						soup_tri(s, v00, v01, v11);
					}
				}
			free(q);
		}
	weld(s);
}

static ctw_surface *to_surface(ctw_ctx *ctx, const soup *s)
{
	ctw_surface *out = NULL;
	assert_int_equal(ctw_surface_new(ctx, s->np, s->nt, &out), CTW_OK);
	memcpy(out->xyz, s->xyz, 3 * (size_t)s->np * sizeof(double));
	memcpy(out->tris, s->tris, 3 * (size_t)s->nt * sizeof(int32_t));
	return out;
}

/* Appends b to a (indices shifted) and welds exact duplicates. */
static void soup_append(soup *a, const soup *b)
{
	int64_t off = a->np;
	for (int64_t i = 0; i < b->np; i++)
		soup_point(a, b->xyz[3 * i], b->xyz[3 * i + 1], b->xyz[3 * i + 2]);
	for (int64_t t = 0; t < b->nt; t++)
		soup_tri(a, (int32_t)(b->tris[3 * t] + off), (int32_t)(b->tris[3 * t + 1] + off),
			 (int32_t)(b->tris[3 * t + 2] + off));
	weld(a);
}

/* Structured mesh of the box [0, n*h]^3: n^3 cubes of six positive Kuhn tetrahedra (all around
 * the cube's (0,0,0)-(1,1,1) diagonal, so the mesh is conforming). */
static ctw_tetmesh *kuhn_box(ctw_ctx *ctx, int n, double h)
{
	static const int perm[6][3] = { { 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 },
					{ 0, 2, 1 }, { 2, 1, 0 }, { 1, 0, 2 } }; /* 3 even, 3 odd */
	int64_t np = (int64_t)(n + 1) * (n + 1) * (n + 1), nt = 6 * (int64_t)n * n * n, t = 0;
	ctw_tetmesh *m = NULL;

	assert_int_equal(ctw_tetmesh_new(ctx, np, nt, 0, &m), CTW_OK);
	for (int k = 0; k <= n; k++)
		for (int j = 0; j <= n; j++)
			for (int i = 0; i <= n; i++) {
				int64_t p = i + (n + 1) * (j + (int64_t)(n + 1) * k);
				m->xyz[3 * p] = i * h;
				m->xyz[3 * p + 1] = j * h;
				m->xyz[3 * p + 2] = k * h;
			}
	for (int k = 0; k < n; k++)
		for (int j = 0; j < n; j++)
			for (int i = 0; i < n; i++)
				for (int q = 0; q < 6; q++) {
					int x[3] = { i, j, k };
					int32_t *c = m->tets + 4 * t;
					for (int v = 0; v < 4; v++) {
						if (v > 0)
							x[perm[q][v - 1]]++;
						c[v] = (int32_t)(x[0] + (n + 1) * (x[1] + (n + 1) * x[2]));
					}
					if (q >= 3) { /* odd permutation: negative, made positive */
						int32_t s = c[2];
						c[2] = c[3];
						c[3] = s;
					}
					m->region[t++] = 1;
				}
	return m;
}

static uint64_t rng_state = 88172645463325252ull;

static double rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double now(void)
{
	struct timespec ts;
	timespec_get(&ts, TIME_UTC);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double sphere_vol(double r)
{
	return 4.0 / 3.0 * PI * r * r * r;
}

/* ---- surfaces ------------------------------------------------------------------------------ */

static void test_meshing_surface_sphere_measures(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double c[3] = { 1.0, -2.0, 3.0 };
	double prev_err = HUGE_VAL;

	(void)state;
	for (int f = 4; f <= 32; f *= 2) {
		soup s = { 0 };
		ctw_surface *surf;
		ctw_surface_report rep;
		double v, a, err;

		icosphere(&s, f, c, 10.0);
		assert_int_equal(s.nt, 20 * f * f);
		assert_int_equal(s.np, 10 * f * f + 2); /* Euler: V = T/2 + 2 */
		surf = to_surface(ctx, &s);
		v = ctw_surface_volume(surf);
		a = ctw_surface_area(surf);
		err = fabs(v / sphere_vol(10.0) - 1.0);
		assert_true(v > 0.0);
		assert_true(err < prev_err); /* converges from below */
		prev_err = err;
		if (f >= 16) {
			assert_near(v / sphere_vol(10.0), 1.0, 0.01);
			assert_near(a / (4.0 * PI * 100.0), 1.0, 0.01);
		}
		/* mean edge of a frequency-f icosphere: about the arc 1.1 r / f */
		assert_near(ctw_surface_mean_edge(surf), 1.1 * 10.0 / f, 0.15 * 10.0 / f);
		assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
		assert_int_equal(rep.boundary_edges, 0);
		assert_int_equal(rep.nonmanifold_edges, 0);
		assert_int_equal(rep.nonmanifold_vertices, 0);
		assert_int_equal(rep.intersecting_pairs, 0);
		assert_int_equal(rep.n_components, 1);
		assert_string_equal(rep.problem, "");
		ctw_surface_free(ctx, surf);
		soup_free(&s);
	}
	ctw_ctx_free(ctx);
}

static void test_meshing_surface_cube(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double lo[3] = { 0, 0, 0 }, hi[3] = { 1, 1, 1 };

	(void)state;
	for (int n = 1; n <= 5; n += 2) {
		soup s = { 0 };
		ctw_surface *surf;
		ctw_surface_report rep;
		box(&s, lo, hi, n);
		assert_int_equal(s.nt, 12 * n * n);
		surf = to_surface(ctx, &s);
		assert_near(ctw_surface_volume(surf), 1.0, 1e-14);
		assert_near(ctw_surface_area(surf), 6.0, 1e-13);
		/* flat faces: coplanar neighbours must not count as intersecting */
		assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
		assert_int_equal(rep.intersecting_pairs, 0);
		assert_int_equal(rep.n_components, 1);
		ctw_surface_free(ctx, surf);
		soup_free(&s);
	}
	/* flat faces made slightly uneven: still no intersections */
	for (double jit = 1e-9; jit < 1e-2; jit *= 100.0) {
		soup s = { 0 };
		ctw_surface *surf;
		ctw_surface_report rep;
		box(&s, lo, hi, 6);
		for (int64_t i = 0; i < 3 * s.np; i++)
			s.xyz[i] += jit * (rnd() - 0.5);
		surf = to_surface(ctx, &s);
		assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
		ctw_surface_free(ctx, surf);
		soup_free(&s);
	}
	/* the middle point of the top face slid sideways within the face: its triangles fold over
	 * their neighbours in the plane */
	{
		soup s = { 0 };
		ctw_surface *surf;
		ctw_surface_report rep;
		box(&s, lo, hi, 4);
		for (int64_t i = 0; i < s.np; i++)
			if (s.xyz[3 * i] == 0.5 && s.xyz[3 * i + 1] == 0.5 && s.xyz[3 * i + 2] == 1.0)
				s.xyz[3 * i] = 0.9; /* past its neighbours at 0.75, still inside the face */
		surf = to_surface(ctx, &s);
		assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_EXTERNAL);
		assert_true(rep.intersecting_pairs > 0);
		assert_int_equal(rep.boundary_edges, 0);
		assert_near(rep.where[2], 1.0, 1e-12);
		ctw_surface_free(ctx, surf);
		soup_free(&s);
	}
	ctw_ctx_free(ctx);
}

static void test_meshing_surface_hole(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double c[3] = { 0, 0, 0 };
	soup s = { 0 };
	ctw_surface *surf;
	ctw_surface_report rep;
	double v0, cen[3] = { 0, 0, 0 }, edge;
	int n_holes = -1;
	int64_t t_rm = 100, nt0;

	(void)state;
	icosphere(&s, 16, c, 10.0);
	surf = to_surface(ctx, &s);
	v0 = ctw_surface_volume(surf);
	edge = ctw_surface_mean_edge(surf);
	for (int k = 0; k < 3; k++)
		for (int j = 0; j < 3; j++)
			cen[k] += surf->xyz[3 * surf->tris[3 * t_rm + j] + k] / 3.0;
	/* remove triangle t_rm (move the last one into its place) */
	surf->n_tris--;
	memcpy(surf->tris + 3 * t_rm, surf->tris + 3 * surf->n_tris, 3 * sizeof(int32_t));
	nt0 = surf->n_tris;
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_EXTERNAL);
	assert_int_equal(ctw_errcode(ctx), CTW_ERR_EXTERNAL);
	assert_int_equal(rep.boundary_edges, 3);
	assert_int_equal(rep.nonmanifold_edges, 0);
	assert_int_equal(rep.nonmanifold_vertices, 0);
	assert_int_equal(rep.intersecting_pairs, 0);
	assert_true(sqrt(pow(rep.where[0] - cen[0], 2) + pow(rep.where[1] - cen[1], 2) +
			 pow(rep.where[2] - cen[2], 2)) < edge);
	assert_non_null(strstr(ctw_errmsg(ctx), "surface: not closed: 3 boundary edges, first at ("));
	assert_non_null(strstr(ctw_errmsg(ctx), "mm; holes in the label map"));
	assert_non_null(strstr(rep.problem, "not closed"));

	assert_int_equal(ctw_surface_cap_holes(ctx, surf, CTW_SURF_BASE, &n_holes), CTW_OK);
	assert_int_equal(n_holes, 1);
	assert_int_equal(surf->n_tris, nt0 + 3);
	assert_int_equal(surf->n_points, s.np + 1);
	for (int64_t t = nt0; t < surf->n_tris; t++)
		assert_int_equal(surf->marker[t], CTW_SURF_BASE);
	assert_int_equal(surf->marker[0], 0);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
	assert_near(ctw_surface_volume(surf), v0, 1e-12 * v0);
	/* nothing left to cap */
	assert_int_equal(ctw_surface_cap_holes(ctx, surf, 7, &n_holes), CTW_OK);
	assert_int_equal(n_holes, 0);
	ctw_surface_free(ctx, surf);

	/* a big opening (a polar cap of the sphere removed) and a second, small one */
	surf = to_surface(ctx, &s);
	{
		int64_t w = 0, removed = 0;
		for (int64_t t = 0; t < surf->n_tris; t++) {
			double z = 0.0;
			for (int j = 0; j < 3; j++)
				z += surf->xyz[3 * surf->tris[3 * t + j] + 2] / 3.0;
			if (z > 8.0 || t == 7) {
				removed++;
				continue;
			}
			memmove(surf->tris + 3 * w, surf->tris + 3 * t, 3 * sizeof(int32_t));
			w++;
		}
		surf->n_tris = w;
		assert_true(removed > 20);
	}
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_EXTERNAL);
	assert_true(rep.boundary_edges > 10);
	assert_int_equal(ctw_surface_cap_holes(ctx, surf, 4, &n_holes), CTW_OK);
	assert_int_equal(n_holes, 2);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
	/* the flat cap at z ~ 8 cuts off a spherical cap of height ~2 */
	{
		double hcap = 10.0 - 8.0, vcap = PI * hcap * hcap * (3 * 10.0 - hcap) / 3.0;
		assert_near(ctw_surface_volume(surf), v0 - vcap, 0.05 * vcap);
	}
	ctw_surface_free(ctx, surf);
	soup_free(&s);
	ctw_ctx_free(ctx);
}

/* Rim ears trimmed, an opening fan-capped, then remeshed: closed, manifold, free of
 * intersections, regular triangles near the target edge, volume and the cap's marker kept. */
static void test_meshing_surface_remesh(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double c[3] = { 0, 0, 0 };
	soup s = { 0 };
	ctw_surface *surf;
	ctw_surface_report rep;
	int n_holes = 0;
	int64_t ears = -1, splits = 0, collapses = 0, w = 0, nbase = 0;
	double v0, worst = 180.0, edge = 1.0;

	(void)state;
	icosphere(&s, 16, c, 10.0);
	surf = to_surface(ctx, &s);
	for (int64_t t = 0; t < surf->n_tris; t++) { /* a polar opening */
		double z = 0.0;
		for (int j = 0; j < 3; j++)
			z += surf->xyz[3 * surf->tris[3 * t + j] + 2] / 3.0;
		if (z > 8.0)
			continue;
		memmove(surf->tris + 3 * w, surf->tris + 3 * t, 3 * sizeof(int32_t));
		w++;
	}
	surf->n_tris = w;
	assert_int_equal(ctw_surface_trim_ears(ctx, surf, &ears), CTW_OK);
	assert_true(ears >= 0);
	assert_int_equal(ctw_surface_cap_holes(ctx, surf, CTW_SURF_BASE, &n_holes), CTW_OK);
	assert_int_equal(n_holes, 1);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
	v0 = ctw_surface_volume(surf);
	assert_int_equal(ctw_surface_remesh(ctx, surf, edge, 10, &splits, &collapses), CTW_OK);
	assert_true(splits > 0 && collapses > 0);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
	assert_near(ctw_surface_volume(surf), v0, 0.01 * v0);
	assert_true(ctw_surface_mean_edge(surf) > 0.7 * edge && ctw_surface_mean_edge(surf) < 1.2 * edge);
	for (int64_t t = 0; t < surf->n_tris; t++) {
		const double *p[3] = { surf->xyz + 3 * surf->tris[3 * t], surf->xyz + 3 * surf->tris[3 * t + 1],
				       surf->xyz + 3 * surf->tris[3 * t + 2] };
		for (int k = 0; k < 3; k++) {
			const double *o = p[k], *x = p[(k + 1) % 3], *y = p[(k + 2) % 3];
			double u[3] = { x[0] - o[0], x[1] - o[1], x[2] - o[2] }, v[3] = { y[0] - o[0], y[1] - o[1], y[2] - o[2] };
			double cs = (u[0] * v[0] + u[1] * v[1] + u[2] * v[2]) /
				    sqrt((u[0] * u[0] + u[1] * u[1] + u[2] * u[2]) * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]));
			worst = fmin(worst, acos(cs) * 180.0 / PI);
		}
		nbase += surf->marker[t] == CTW_SURF_BASE;
	}
	assert_true(worst > 10.0);
	assert_true(nbase > 20); /* the fan of long slivers became a cap of regular triangles */
	ctw_surface_free(ctx, surf);
	soup_free(&s);
	ctw_ctx_free(ctx);
}

static void test_meshing_surface_touching_vertex(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double c0[3] = { 0, 0, 0 };
	soup a = { 0 }, b = { 0 };
	ctw_surface *surf;
	ctw_surface_report rep;
	double v[3], cb[3];

	(void)state;
	icosphere(&a, 8, c0, 10.0);
	/* the icosahedron corner (-1, phi, 0): computed exactly like its antipode (1, -phi, 0) */
	{
		const double dir[3] = { -1.0, (1.0 + sqrt(5.0)) / 2.0, 0.0 };
		double best = -HUGE_VAL;
		for (int64_t i = 0; i < a.np; i++) {
			double d = 0.0;
			for (int k = 0; k < 3; k++)
				d += dir[k] * a.xyz[3 * i + k];
			if (d > best) {
				best = d;
				memcpy(v, a.xyz + 3 * i, sizeof(v));
			}
		}
	}
	for (int k = 0; k < 3; k++)
		cb[k] = 2.0 * v[k];
	icosphere(&b, 8, cb, 10.0);
	soup_append(&a, &b);
	assert_int_equal(a.np, 2 * (10 * 64 + 2) - 1);
	surf = to_surface(ctx, &a);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_EXTERNAL);
	assert_int_equal(rep.boundary_edges, 0);
	assert_int_equal(rep.nonmanifold_edges, 0);
	assert_int_equal(rep.nonmanifold_vertices, 1);
	assert_int_equal(rep.intersecting_pairs, 0);
	assert_int_equal(rep.n_components, 2);
	assert_near(rep.where[0], v[0], 1e-12);
	assert_near(rep.where[1], v[1], 1e-12);
	assert_near(rep.where[2], v[2], 1e-12);
	assert_non_null(strstr(ctw_errmsg(ctx), "surface: 1 non-manifold vertices, first at"));
	assert_non_null(strstr(ctw_errmsg(ctx), "touch at a point"));
	ctw_surface_free(ctx, surf);
	soup_free(&a);
	soup_free(&b);
	ctw_ctx_free(ctx);
}

static void test_meshing_surface_touching_edge(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double lo1[3] = { 0, 0, 0 }, hi1[3] = { 1, 1, 1 }, lo2[3] = { 1, 1, 0 },
		     hi2[3] = { 2, 2, 1 };
	soup a = { 0 }, b = { 0 };
	ctw_surface *surf;
	ctw_surface_report rep;

	(void)state;
	box(&a, lo1, hi1, 2);
	box(&b, lo2, hi2, 2);
	soup_append(&a, &b);
	surf = to_surface(ctx, &a);
	assert_near(ctw_surface_volume(surf), 2.0, 1e-13);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_EXTERNAL);
	assert_int_equal(rep.boundary_edges, 0);
	assert_int_equal(rep.nonmanifold_edges, 2); /* the shared edge is cut in two */
	assert_int_equal(rep.nonmanifold_vertices, 0);
	assert_int_equal(rep.intersecting_pairs, 0);
	assert_int_equal(rep.n_components, 1);
	assert_near(rep.where[0], 1.0, 1e-12);
	assert_near(rep.where[1], 1.0, 1e-12);
	assert_true(rep.where[2] > 0.0 && rep.where[2] < 1.0);
	assert_non_null(strstr(ctw_errmsg(ctx), "surface: 2 non-manifold edges, first at (1.0, 1.0, "));
	assert_non_null(strstr(ctw_errmsg(ctx), "touch along an edge"));

	/* repair keeps two triangles per edge: the edges become manifold, holes open */
	{
		ctw_surface_report rr;
		memset(&rr, 0, sizeof(rr));
		assert_int_equal(ctw_surface_repair(ctx, surf, &rr), CTW_OK);
		assert_int_equal(rr.removed_nonmanifold, 4);
		assert_int_equal(rr.merged_points, 0);
		assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_EXTERNAL);
		assert_int_equal(rep.nonmanifold_edges, 0);
		assert_true(rep.boundary_edges > 0);
	}
	ctw_surface_free(ctx, surf);
	soup_free(&a);
	soup_free(&b);
	ctw_ctx_free(ctx);
}

static void test_meshing_surface_interpenetrating(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double c0[3] = { 0, 0, 0 }, c1[3] = { 15, 0, 0 }, c2[3] = { 20.5, 0, 0 };
	soup a = { 0 }, b = { 0 }, g = { 0 };
	ctw_surface *surf;
	ctw_surface_report rep;
	double rad;

	(void)state;
	icosphere(&a, 16, c0, 10.0);
	icosphere(&b, 16, c1, 10.0);
	soup_append(&a, &b);
	surf = to_surface(ctx, &a);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_EXTERNAL);
	assert_int_equal(rep.boundary_edges, 0);
	assert_int_equal(rep.nonmanifold_edges, 0);
	assert_int_equal(rep.nonmanifold_vertices, 0);
	assert_int_equal(rep.n_components, 2);
	/* the circle x = 7.5, radius sqrt(100 - 56.25) = 6.61 crosses about 2 pi 6.61 / 0.6 edges */
	assert_true(rep.intersecting_pairs > 50);
	rad = sqrt(rep.where[1] * rep.where[1] + rep.where[2] * rep.where[2]);
	assert_near(rep.where[0], 7.5, 1.0);
	assert_near(rad, 6.61, 1.0);
	assert_non_null(strstr(ctw_errmsg(ctx), "pairs of triangles intersect, first at ("));
	assert_non_null(strstr(ctw_errmsg(ctx),
			       "mm; a wall thinner than about two voxels, or two structures touching: "
			       "resample finer (segment --iso) or thicken the wall (segment --min-wall)"));
	ctw_surface_free(ctx, surf);

	/* 0.5 mm apart: fine */
	icosphere(&g, 16, c0, 10.0);
	soup_free(&b);
	icosphere(&b, 16, c2, 10.0);
	soup_append(&g, &b);
	surf = to_surface(ctx, &g);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
	assert_int_equal(rep.n_components, 2);
	ctw_surface_free(ctx, surf);
	soup_free(&a);
	soup_free(&b);
	soup_free(&g);
	ctw_ctx_free(ctx);
}

/* A smooth but bumpy closed surface (radius modulated, points jittered): no false positives. */
static void test_meshing_surface_no_false_positives(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double c0[3] = { 0, 0, 0 };
	soup s = { 0 };
	ctw_surface *surf;
	ctw_surface_report rep;

	(void)state;
	icosphere(&s, 40, c0, 1.0);
	for (int64_t i = 0; i < s.np; i++) {
		double *p = s.xyz + 3 * i;
		double r = 30.0 * (1.0 + 0.2 * sin(3 * p[0]) * cos(2 * p[1]) + 0.1 * p[2] * p[2]);
		for (int k = 0; k < 3; k++)
			p[k] = p[k] * r + 0.02 * (rnd() - 0.5);
	}
	surf = to_surface(ctx, &s);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
	/* a fold: one vertex pushed through the opposite side of the surface */
	surf->xyz[0] = -surf->xyz[0] * 1.5;
	surf->xyz[1] = -surf->xyz[1] * 1.5;
	surf->xyz[2] = -surf->xyz[2] * 1.5;
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_EXTERNAL);
	assert_true(rep.intersecting_pairs > 0);
	ctw_surface_free(ctx, surf);
	soup_free(&s);
	ctw_ctx_free(ctx);
}

static void test_meshing_surface_repair(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double c0[3] = { 5, 5, 5 };
	soup s = { 0 };
	ctw_surface *surf;
	ctw_surface_report rep;
	int64_t n_flip = 0, nt, np;
	double v0;

	(void)state;
	icosphere(&s, 12, c0, 10.0);
	nt = s.nt;
	np = s.np;
	{
		ctw_surface *ref = to_surface(ctx, &s);
		v0 = ctw_surface_volume(ref);
		ctw_surface_free(ctx, ref);
	}
	/* a triangle soup: every corner its own (slightly moved) point; every 7th triangle
	 * flipped; plus a duplicate (reversed) triangle and a degenerate one */
	assert_int_equal(ctw_surface_new(ctx, 3 * nt + 1, nt + 2, &surf), CTW_OK);
	for (int64_t t = 0; t < nt; t++) {
		int flip = t % 7 == 3;
		for (int j = 0; j < 3; j++) {
			int64_t p = 3 * t + j;
			for (int k = 0; k < 3; k++)
				surf->xyz[3 * p + k] = s.xyz[3 * s.tris[3 * t + j] + k] + 1e-8 * (rnd() - 0.5);
		}
		surf->tris[3 * t] = (int32_t)(3 * t);
		surf->tris[3 * t + 1] = (int32_t)(3 * t + (flip ? 2 : 1));
		surf->tris[3 * t + 2] = (int32_t)(3 * t + (flip ? 1 : 2));
		surf->marker[t] = (int32_t)(t % 5);
		n_flip += flip;
	}
	surf->tris[3 * nt] = 0;
	surf->tris[3 * nt + 1] = 2;
	surf->tris[3 * nt + 2] = 1; /* triangle 0 again, reversed */
	surf->marker[nt] = 99;
	for (int k = 0; k < 3; k++)
		surf->xyz[3 * (3 * nt) + k] = surf->xyz[k] + 0.5; /* a lone point */
	surf->tris[3 * (nt + 1)] = 4;
	surf->tris[3 * (nt + 1) + 1] = 4;
	surf->tris[3 * (nt + 1) + 2] = 5;
	surf->marker[nt + 1] = 99;
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_EXTERNAL);

	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ctw_surface_repair(ctx, surf, &rep), CTW_OK);
	assert_int_equal(rep.merged_points, 3 * nt - np);
	assert_int_equal(rep.removed_degenerate, 1);
	assert_int_equal(rep.removed_duplicate, 1);
	assert_int_equal(rep.removed_nonmanifold, 0);
	assert_int_equal(rep.flipped, n_flip);
	assert_int_equal(surf->n_tris, nt);
	assert_int_equal(surf->n_points, np);
	for (int64_t t = 0; t < nt; t++)
		assert_int_equal(surf->marker[t], (int32_t)(t % 5));
	assert_near(ctw_surface_volume(surf), v0, 1e-6 * v0);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);

	/* turned inside out: everything flipped back */
	for (int64_t t = 0; t < surf->n_tris; t++) {
		int32_t x = surf->tris[3 * t + 1];
		surf->tris[3 * t + 1] = surf->tris[3 * t + 2];
		surf->tris[3 * t + 2] = x;
	}
	assert_true(ctw_surface_volume(surf) < 0.0);
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ctw_surface_repair(ctx, surf, &rep), CTW_OK);
	assert_int_equal(rep.flipped, nt);
	assert_int_equal(rep.merged_points, 0);
	assert_near(ctw_surface_volume(surf), v0, 1e-6 * v0);
	ctw_surface_free(ctx, surf);
	soup_free(&s);
	ctw_ctx_free(ctx);
}

/* A shell (sphere in a sphere) and a separate ball: the inner wall encloses negative volume. */
static void test_meshing_surface_repair_nested(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double c0[3] = { 0, 0, 0 }, c1[3] = { 30, 0, 0 };
	soup a = { 0 }, b = { 0 }, d = { 0 };
	ctw_surface *surf;
	ctw_surface_report rep;
	double want = sphere_vol(10.0) - sphere_vol(6.0) + sphere_vol(3.0);

	(void)state;
	icosphere(&a, 16, c0, 10.0);
	icosphere(&b, 16, c0, 6.0);
	icosphere(&d, 8, c1, 3.0);
	soup_append(&a, &b);
	soup_append(&a, &d);
	surf = to_surface(ctx, &a);
	/* all three outwards: the inner one must be flipped */
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ctw_surface_repair(ctx, surf, &rep), CTW_OK);
	assert_int_equal(rep.flipped, b.nt);
	assert_near(ctw_surface_volume(surf), want, 0.01 * want);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
	assert_int_equal(rep.n_components, 3);
	/* again: nothing to do */
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ctw_surface_repair(ctx, surf, &rep), CTW_OK);
	assert_int_equal(rep.flipped, 0);
	ctw_surface_free(ctx, surf);
	soup_free(&a);
	soup_free(&b);
	soup_free(&d);
	ctw_ctx_free(ctx);
}

/* Nested boxes whose inner sample ray runs exactly along an edge line of the outer box (x = 0.5
 * on its top face), and a ball with many cavities, each holding an island: depth parity. */
static void test_meshing_surface_repair_nesting(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double lo[3] = { 0, 0, 0 }, hi[3] = { 1, 1, 1 };
	const double ilo[2][3] = { { 0.5, 0.5, 0.2 }, { 0.3, 0.3, 0.2 } },
		     ihi[2][3] = { { 0.7, 0.7, 0.4 }, { 0.5, 0.5, 0.4 } };
	const double c0[3] = { 0, 0, 0 };
	ctw_surface_report rep;

	(void)state;
	for (int v = 0; v < 2; v++) {
		soup a = { 0 }, b = { 0 };
		ctw_surface *surf;
		box(&a, lo, hi, 2);
		box(&b, ilo[v], ihi[v], 1);
		soup_append(&a, &b);
		surf = to_surface(ctx, &a);
		memset(&rep, 0, sizeof(rep));
		assert_int_equal(ctw_surface_repair(ctx, surf, &rep), CTW_OK);
		assert_int_equal(rep.flipped, 12);
		assert_near(ctw_surface_volume(surf), 1.0 - 0.008, 1e-12);
		ctw_surface_free(ctx, surf);
		soup_free(&a);
		soup_free(&b);
	}
	{
		soup a = { 0 };
		ctw_surface *surf;
		double want = 0.0;
		int64_t n_in = 0;
		icosphere(&a, 24, c0, 20.0);
		surf = to_surface(ctx, &a);
		want = ctw_surface_volume(surf);
		ctw_surface_free(ctx, surf);
		/* cavities of radius 1.2 on a lattice of 3 mm (so none overlap), each with an island */
		for (int i = -4; i <= 4; i++)
			for (int j = -4; j <= 4; j++)
				for (int k = -4; k <= 4; k++) {
					double c[3] = { 3.0 * i, 3.0 * j, 3.0 * k };
					soup b = { 0 }, d = { 0 };
					ctw_surface *tmp;
					if (c[0] * c[0] + c[1] * c[1] + c[2] * c[2] > 12.0 * 12.0 ||
					    (7 * i + 3 * j + k + 100) % 5)
						continue;
					icosphere(&b, 3, c, 1.2);
					icosphere(&d, 2, c, 0.6);
					tmp = to_surface(ctx, &b);
					want -= ctw_surface_volume(tmp);
					ctw_surface_free(ctx, tmp);
					tmp = to_surface(ctx, &d);
					want += ctw_surface_volume(tmp);
					ctw_surface_free(ctx, tmp);
					n_in += b.nt;
					soup_append(&a, &b);
					soup_append(&a, &d);
					soup_free(&b);
					soup_free(&d);
				}
		assert_true(n_in > 20 * 180);
		surf = to_surface(ctx, &a);
		memset(&rep, 0, sizeof(rep));
		assert_int_equal(ctw_surface_repair(ctx, surf, &rep), CTW_OK);
		assert_near(ctw_surface_volume(surf), want, 1e-9 * want);
		assert_int_equal(rep.flipped, n_in); /* the cavities, not the islands */
		assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
		ctw_surface_free(ctx, surf);
		soup_free(&a);
	}
	ctw_ctx_free(ctx);
}

static void test_meshing_surface_bad_input(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_surface *surf = NULL;
	ctw_surface_report rep;
	int n_holes;

	(void)state;
	assert_int_equal(ctw_surface_new(ctx, -1, 0, &surf), CTW_ERR_INVALID);
	assert_null(surf);
	assert_int_equal(ctw_surface_new(ctx, 3, 1, &surf), CTW_OK);
	memset(surf->xyz, 0, 9 * sizeof(double));
	surf->tris[0] = 0;
	surf->tris[1] = 1;
	surf->tris[2] = 3;
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_ERR_INVALID);
	assert_non_null(strstr(ctw_errmsg(ctx), "triangle 0 refers to point 3 of 3"));
	assert_int_equal(ctw_surface_repair(ctx, surf, &rep), CTW_ERR_INVALID);
	assert_int_equal(ctw_surface_cap_holes(ctx, surf, 1, &n_holes), CTW_ERR_INVALID);
	/* all points equal: everything degenerate */
	surf->tris[2] = 2;
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ctw_surface_repair(ctx, surf, &rep), CTW_OK);
	assert_int_equal(rep.merged_points, 2);
	assert_int_equal(rep.removed_degenerate, 1);
	assert_int_equal(surf->n_tris, 0);
	assert_int_equal(surf->n_points, 0);
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
	assert_near(ctw_surface_volume(surf), 0.0, 0.0);
	assert_near(ctw_surface_mean_edge(surf), 0.0, 0.0);
	ctw_surface_free(ctx, surf);
	ctw_surface_free(ctx, NULL);
	ctw_ctx_free(ctx);
}

/* ---- tetrahedral meshes -------------------------------------------------------------------- */

static ctw_tetmesh *single_tet(ctw_ctx *ctx, const double p[4][3])
{
	ctw_tetmesh *m = NULL;
	assert_int_equal(ctw_tetmesh_new(ctx, 4, 1, 0, &m), CTW_OK);
	memcpy(m->xyz, p, 12 * sizeof(double));
	for (int i = 0; i < 4; i++)
		m->tets[i] = i;
	return m;
}

static void test_meshing_quality_regular_tet(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double p[4][3] = { { 1, 1, 1 }, { 1, -1, -1 }, { -1, 1, -1 }, { -1, -1, 1 } };
	const double dih = acos(1.0 / 3.0) * 180.0 / PI;
	ctw_tetmesh *m = single_tet(ctx, p);
	ctw_mesh_quality q;

	(void)state;
	assert_true(ctw_tetmesh_tet_volume(m, 0) < 0.0); /* given negatively */
	assert_int_equal(ctw_mesh_quality_measure(ctx, m, &q), CTW_OK);
	assert_near(ctw_tetmesh_tet_volume(m, 0), 8.0 / 3.0, 1e-12); /* reoriented */
	assert_int_equal(m->tets[2], 3);
	assert_int_equal(m->tets[3], 2);
	assert_int_equal(q.n_tets, 1);
	assert_int_equal(q.n_points, 4);
	assert_near(q.min_dihedral_deg, dih, 1e-9);
	assert_near(q.max_dihedral_deg, dih, 1e-9);
	assert_near(q.median_dihedral_deg, dih, 1e-5); /* stored as float */
	assert_near(dih, 70.528779, 1e-6);
	assert_near(q.max_radius_edge, sqrt(6.0) / 4.0, 1e-12);
	assert_int_equal(q.radius_edge_hist[0], 1);
	assert_int_equal(q.n_degenerate, 0);
	assert_int_equal(q.n_inverted, 0);
	assert_near(q.volume_mm3, 8.0 / 3.0, 1e-12);
	assert_near(q.mean_edge_mm, 2.0 * sqrt(2.0), 1e-12);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

static void test_meshing_quality_cube(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = kuhn_box(ctx, 1, 1.0);
	ctw_mesh_quality q;
	int64_t total = 0;

	(void)state;
	assert_int_equal(ctw_mesh_quality_measure(ctx, m, &q), CTW_OK);
	assert_int_equal(q.n_tets, 6);
	assert_near(q.volume_mm3, 1.0, 1e-14);
	/* the Kuhn simplex 1 >= x >= y >= z >= 0: dihedral angles 45, 45, 60, 90, 90, 90 */
	assert_near(q.min_dihedral_deg, 45.0, 1e-9);
	assert_near(q.max_dihedral_deg, 90.0, 1e-9);
	assert_near(q.median_dihedral_deg, 75.0, 1e-5); /* (60 + 90) / 2 of 12x45, 6x60, 18x90 */
	assert_near(q.max_radius_edge, sqrt(3.0) / 2.0, 1e-12);
	assert_int_equal(q.radius_edge_hist[2], 6);
	for (int b = 0; b < CTW_RADIUS_EDGE_BINS; b++)
		total += q.radius_edge_hist[b];
	assert_int_equal(total, 6);
	assert_int_equal(q.n_inverted, 0);
	assert_int_equal(q.n_degenerate, 0);
	assert_near(q.mean_edge_mm, (3.0 + 2.0 * sqrt(2.0) + sqrt(3.0)) / 6.0, 1e-12);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

static void test_meshing_quality_bad_tets(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *k = kuhn_box(ctx, 1, 1.0), *m = NULL;
	ctw_mesh_quality q;

	(void)state;
	/* the cube's six plus a flat one on its bottom face, one of the six turned over */
	assert_int_equal(ctw_tetmesh_new(ctx, 8, 7, 0, &m), CTW_OK);
	memcpy(m->xyz, k->xyz, 24 * sizeof(double));
	memcpy(m->tets, k->tets, 24 * sizeof(int32_t));
	m->tets[4 * 6] = 0;
	m->tets[4 * 6 + 1] = 1;
	m->tets[4 * 6 + 2] = 3;
	m->tets[4 * 6 + 3] = 2; /* (0,0,0) (1,0,0) (1,1,0) (0,1,0) */
	{
		int32_t x = m->tets[4 * 2 + 2];
		m->tets[4 * 2 + 2] = m->tets[4 * 2 + 3];
		m->tets[4 * 2 + 3] = x;
	}
	assert_true(ctw_tetmesh_tet_volume(m, 2) < 0.0);
	assert_int_equal(ctw_mesh_quality_measure(ctx, m, &q), CTW_OK);
	assert_int_equal(q.n_inverted, 1);
	assert_int_equal(q.n_degenerate, 1);
	assert_near(q.volume_mm3, 1.0, 1e-14);
	for (int64_t t = 0; t < 7; t++)
		assert_true(ctw_tetmesh_tet_volume(m, t) >= 0.0);
	assert_near(q.min_dihedral_deg, 0.0, 1e-9);
	assert_near(q.max_dihedral_deg, 180.0, 1e-9);
	assert_true(isinf(q.max_radius_edge));
	assert_int_equal(q.radius_edge_hist[CTW_RADIUS_EDGE_BINS - 1], 1);
	/* measured again: nothing inverted any more */
	assert_int_equal(ctw_mesh_quality_measure(ctx, m, &q), CTW_OK);
	assert_int_equal(q.n_inverted, 0);

	/* a majority of negative tets: the positive one is the odd one out */
	for (int64_t t = 0; t < 6; t++) {
		int32_t x = k->tets[4 * t + 2];
		k->tets[4 * t + 2] = k->tets[4 * t + 3];
		k->tets[4 * t + 3] = x;
	}
	{
		int32_t x = k->tets[4 * 5 + 2];
		k->tets[4 * 5 + 2] = k->tets[4 * 5 + 3];
		k->tets[4 * 5 + 3] = x;
	}
	assert_int_equal(ctw_mesh_quality_measure(ctx, k, &q), CTW_OK);
	assert_int_equal(q.n_inverted, 1);

	/* empty mesh */
	ctw_tetmesh_free(ctx, m);
	assert_int_equal(ctw_tetmesh_new(ctx, 0, 0, 0, &m), CTW_OK);
	assert_int_equal(ctw_mesh_quality_measure(ctx, m, &q), CTW_OK);
	assert_int_equal(q.n_tets, 0);
	ctw_tetmesh_free(ctx, m);
	ctw_tetmesh_free(ctx, k);
	ctw_ctx_free(ctx);
}

/* Boundary triangles of a structured box: count, outward orientation (the enclosed volume), each
 * belonging to its tetrahedron, and closed and manifold as a surface. */
static void check_box_boundary(ctw_ctx *ctx, ctw_tetmesh *m, int n, double h)
{
	int32_t *tris = NULL, *tet_of = NULL;
	int64_t nb = -1;
	ctw_surface *s = NULL;
	ctw_surface_report rep;
	double side = n * h;

	assert_int_equal(ctw_tetmesh_boundary(ctx, m, &tris, &tet_of, &nb), CTW_OK);
	assert_int_equal(nb, 12 * (int64_t)n * n);
	assert_int_equal(ctw_surface_new(ctx, m->n_points, nb, &s), CTW_OK);
	memcpy(s->xyz, m->xyz, 3 * (size_t)m->n_points * sizeof(double));
	memcpy(s->tris, tris, 3 * (size_t)nb * sizeof(int32_t));
	for (int64_t i = 0; i < nb; i++) {
		const int32_t *c = m->tets + 4 * tet_of[i];
		for (int j = 0; j < 3; j++) {
			int found = 0;
			for (int v = 0; v < 4; v++)
				found |= c[v] == tris[3 * i + j];
			assert_true(found);
		}
		/* outward: the normal points away from the box centre */
		{
			const double *a = m->xyz + 3 * tris[3 * i], *b = m->xyz + 3 * tris[3 * i + 1],
				     *d = m->xyz + 3 * tris[3 * i + 2];
			double u[3], w[3], nn[3], cc = 0.0;
			for (int k = 0; k < 3; k++) {
				u[k] = b[k] - a[k];
				w[k] = d[k] - a[k];
			}
			nn[0] = u[1] * w[2] - u[2] * w[1];
			nn[1] = u[2] * w[0] - u[0] * w[2];
			nn[2] = u[0] * w[1] - u[1] * w[0];
			for (int k = 0; k < 3; k++)
				cc += nn[k] * ((a[k] + b[k] + d[k]) / 3.0 - side / 2.0);
			assert_true(cc > 0.0);
		}
	}
	assert_near(ctw_surface_volume(s), side * side * side, 1e-9 * side * side * side);
	assert_near(ctw_surface_area(s), 6.0 * side * side, 1e-9 * side * side);
	assert_int_equal(ctw_surface_check(ctx, s, &rep), CTW_OK);
	ctw_surface_free(ctx, s);
	ctw_free(ctx, tris);
	ctw_free(ctx, tet_of);
}

static void test_meshing_boundary(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = kuhn_box(ctx, 1, 1.0);
	int32_t *tris = NULL, *tet_of = NULL;
	int64_t nb = -1;

	(void)state;
	check_box_boundary(ctx, m, 1, 1.0);
	/* orientation follows each tetrahedron's own sign */
	for (int64_t t = 0; t < m->n_tets; t += 2) {
		int32_t x = m->tets[4 * t];
		m->tets[4 * t] = m->tets[4 * t + 1];
		m->tets[4 * t + 1] = x;
	}
	check_box_boundary(ctx, m, 1, 1.0);
	ctw_tetmesh_free(ctx, m);
	m = kuhn_box(ctx, 5, 0.5);
	check_box_boundary(ctx, m, 5, 0.5);
	ctw_tetmesh_free(ctx, m);
	/* no tetrahedra: no faces */
	assert_int_equal(ctw_tetmesh_new(ctx, 0, 0, 0, &m), CTW_OK);
	assert_int_equal(ctw_tetmesh_boundary(ctx, m, &tris, &tet_of, &nb), CTW_OK);
	assert_int_equal(nb, 0);
	ctw_free(ctx, tris);
	ctw_free(ctx, tet_of);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

/* ---- point distance ------------------------------------------------------------------------ */

static void brute_distance(const double *a, int64_t na, const double *b, int64_t nb, double *mean,
			   double *max)
{
	double sum = 0.0, worst = 0.0;
	for (int64_t i = 0; i < na; i++) {
		double best = HUGE_VAL;
		for (int64_t j = 0; j < nb; j++) {
			double d2 = 0.0;
			for (int k = 0; k < 3; k++)
				d2 += (a[3 * i + k] - b[3 * j + k]) * (a[3 * i + k] - b[3 * j + k]);
			best = d2 < best ? d2 : best;
		}
		best = sqrt(best);
		sum += best;
		worst = best > worst ? best : worst;
	}
	*mean = sum / (double)na;
	*max = worst;
}

static void test_meshing_point_distance(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const double c0[3] = { 2, 3, 4 };
	soup a = { 0 }, b = { 0 }, d = { 0 };
	double mean, max, bm, bx;

	(void)state;
	icosphere(&a, 16, c0, 10.0);
	icosphere(&b, 16, c0, 9.0);
	assert_int_equal(ctw_point_distance(ctx, a.xyz, a.np, b.xyz, b.np, &mean, &max), CTW_OK);
	assert_near(mean, 1.0, 1e-9);
	assert_near(max, 1.0, 1e-9);
	/* a coarser inner sphere: against brute force */
	icosphere(&d, 5, c0, 9.0);
	assert_int_equal(ctw_point_distance(ctx, a.xyz, a.np, d.xyz, d.np, &mean, &max), CTW_OK);
	brute_distance(a.xyz, a.np, d.xyz, d.np, &bm, &bx);
	assert_near(mean, bm, 1e-12);
	assert_near(max, bx, 1e-12);
	assert_true(mean > 1.0 && mean < 2.0);
	/* and the other way round (points far outside the grid of b) */
	assert_int_equal(ctw_point_distance(ctx, d.xyz, d.np, a.xyz, a.np, &mean, &max), CTW_OK);
	brute_distance(d.xyz, d.np, a.xyz, a.np, &bm, &bx);
	assert_near(mean, bm, 1e-12);
	assert_near(max, bx, 1e-12);
	/* random clouds, a flat one among them */
	{
		enum { NA = 700, NB = 900 };
		static double pa[3 * NA], pb[3 * NB];
		for (int trial = 0; trial < 3; trial++) {
			for (int i = 0; i < 3 * NA; i++)
				pa[i] = 40.0 * rnd() - 10.0;
			for (int i = 0; i < NB; i++) {
				pb[3 * i] = 20.0 * rnd();
				pb[3 * i + 1] = trial == 1 ? 5.0 : 20.0 * rnd() * rnd();
				pb[3 * i + 2] = trial == 2 ? 1.0 : 20.0 * rnd();
			}
			assert_int_equal(ctw_point_distance(ctx, pa, NA, pb, NB, &mean, &max), CTW_OK);
			brute_distance(pa, NA, pb, NB, &bm, &bx);
			assert_near(mean, bm, 1e-12);
			assert_near(max, bx, 1e-12);
		}
		/* a single point */
		assert_int_equal(ctw_point_distance(ctx, pa, NA, pb, 1, &mean, &max), CTW_OK);
		brute_distance(pa, NA, pb, 1, &bm, &bx);
		assert_near(mean, bm, 1e-12);
		assert_near(max, bx, 1e-12);
	}
	assert_int_equal(ctw_point_distance(ctx, a.xyz, a.np, b.xyz, 0, &mean, &max), CTW_ERR_INVALID);
	assert_int_equal(ctw_point_distance(ctx, a.xyz, 0, b.xyz, b.np, &mean, &max), CTW_OK);
	assert_near(mean, 0.0, 0.0);
	soup_free(&a);
	soup_free(&b);
	soup_free(&d);
	ctw_ctx_free(ctx);
}

/* ---- allocation faults --------------------------------------------------------------------- */

static void test_meshing_surface_alloc_faults(void **state)
{
	const double c0[3] = { 0, 0, 0 }, c1[3] = { 0, 0, 0 };
	soup a = { 0 }, b = { 0 };
	fault_alloc f;
	long n;

	(void)state;
	icosphere(&a, 4, c0, 10.0);
	icosphere(&b, 4, c1, 5.0);
	soup_append(&a, &b);
	for (int which = 0; which < 5; which++) {
		for (n = 2;; n++) {
			ctw_ctx *ctx = fault_ctx(&f, 0);
			ctw_surface *s;
			ctw_surface_report rep;
			ctw_tetmesh *m = NULL;
			int ret = CTW_OK, holes;

			assert_non_null(ctx);
			s = to_surface(ctx, &a);
			if (which == 2)
				s->n_tris -= 3; /* holes to cap */
			if (which >= 3)
				m = kuhn_box(ctx, 2, 1.0);
			f.fail_at = f.calls + n - 1;
			switch (which) {
			case 0:
				ret = ctw_surface_repair(ctx, s, &rep);
				break;
			case 1:
				ret = ctw_surface_check(ctx, s, &rep);
				break;
			case 2:
				ret = ctw_surface_cap_holes(ctx, s, 1, &holes);
				break;
			case 3:
				ret = ctw_mesh_quality_measure(ctx, m, &(ctw_mesh_quality){ 0 });
				break;
			default: {
				int32_t *tr = NULL, *to = NULL;
				int64_t nb;
				ret = ctw_tetmesh_boundary(ctx, m, &tr, &to, &nb);
				if (ret) {
					assert_null(tr);
					assert_null(to);
				}
				ctw_free(ctx, tr);
				ctw_free(ctx, to);
			}
			}
			f.fail_at = 0;
			if (ret != CTW_OK) {
				assert_int_equal(ret, CTW_ERR_NOMEM);
				assert_non_null(strstr(ctw_errmsg(ctx), "out of memory"));
				/* a failed call leaves a valid surface behind */
				if (which <= 2)
					assert_int_equal(ctw_surface_check(ctx, s, &rep) == CTW_ERR_NOMEM, 0);
			}
			ctw_surface_free(ctx, s);
			ctw_tetmesh_free(ctx, m);
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			if (ret == CTW_OK)
				break;
			assert_true(n < 200);
		}
		print_message("meshing call %d: %ld allocations, each failure checked\n", which, n - 2);
	}
	soup_free(&a);
	soup_free(&b);
}

/* ---- timings (CTW_BENCH) ------------------------------------------------------------------- */

static void test_meshing_bench(void **state)
{
	ctw_ctx *ctx;
	const double c0[3] = { 0, 0, 0 };
	soup s = { 0 };
	ctw_surface *surf;
	ctw_surface_report rep;
	ctw_mesh_quality q;
	ctw_tetmesh *m;
	double t0, t1, t2, t3;
	int32_t *tris, *tet_of;
	int64_t nb;

	(void)state;
	if (!getenv("CTW_BENCH")) {
		skip();
		return;
	}
	ctx = ctw_ctx_new();
	icosphere(&s, 224, c0, 50.0); /* 1,003,520 triangles */
	surf = to_surface(ctx, &s);
	memset(&rep, 0, sizeof(rep));
	t0 = now();
	assert_int_equal(ctw_surface_repair(ctx, surf, &rep), CTW_OK);
	t1 = now();
	assert_int_equal(ctw_surface_check(ctx, surf, &rep), CTW_OK);
	t2 = now();
	print_message("sphere %lld triangles, %lld points, mean edge %.3f mm: repair %.3f s, check %.3f s\n",
		      (long long)surf->n_tris, (long long)surf->n_points, ctw_surface_mean_edge(surf),
		      t1 - t0, t2 - t1);
	/* the same scrambled into a soup with every 5th triangle flipped */
	{
		ctw_surface *soupy = NULL;
		int64_t nt = surf->n_tris;
		assert_int_equal(ctw_surface_new(ctx, 3 * nt, nt, &soupy), CTW_OK);
		for (int64_t t = 0; t < nt; t++)
			for (int j = 0; j < 3; j++) {
				memcpy(soupy->xyz + 9 * t + 3 * j, surf->xyz + 3 * surf->tris[3 * t + j],
				       3 * sizeof(double));
				soupy->tris[3 * t + j] = (int32_t)(3 * t + (t % 5 ? j : (3 - j) % 3));
			}
		t0 = now();
		assert_int_equal(ctw_surface_repair(ctx, soupy, &rep), CTW_OK);
		t1 = now();
		print_message("soup of %lld triangles (%lld merged, %lld flipped): repair %.3f s\n",
			      (long long)nt, (long long)rep.merged_points, (long long)rep.flipped, t1 - t0);
		assert_int_equal(soupy->n_points, surf->n_points);
		ctw_surface_free(ctx, soupy);
	}
	ctw_surface_free(ctx, surf);
	soup_free(&s);

	m = kuhn_box(ctx, 55, 1.0); /* 998,250 tets */
	t0 = now();
	assert_int_equal(ctw_mesh_quality_measure(ctx, m, &q), CTW_OK);
	t1 = now();
	assert_int_equal(ctw_tetmesh_boundary(ctx, m, &tris, &tet_of, &nb), CTW_OK);
	t2 = now();
	{
		double mean, max;
		assert_int_equal(ctw_point_distance(ctx, m->xyz, m->n_points, m->xyz, m->n_points,
						    &mean, &max), CTW_OK);
		t3 = now();
		assert_near(max, 0.0, 0.0);
	}
	print_message("kuhn box %lld tets, %lld points: quality %.3f s, boundary (%lld faces) %.3f s, "
		      "point distance %.3f s\n",
		      (long long)m->n_tets, (long long)m->n_points, t1 - t0, (long long)nb, t2 - t1, t3 - t2);
	assert_near(q.min_dihedral_deg, 45.0, 1e-9);
	ctw_free(ctx, tris);
	ctw_free(ctx, tet_of);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meshing_surface_sphere_measures),
		cmocka_unit_test(test_meshing_surface_cube),
		cmocka_unit_test(test_meshing_surface_hole),
		cmocka_unit_test(test_meshing_surface_remesh),
		cmocka_unit_test(test_meshing_surface_touching_vertex),
		cmocka_unit_test(test_meshing_surface_touching_edge),
		cmocka_unit_test(test_meshing_surface_interpenetrating),
		cmocka_unit_test(test_meshing_surface_no_false_positives),
		cmocka_unit_test(test_meshing_surface_repair),
		cmocka_unit_test(test_meshing_surface_repair_nested),
		cmocka_unit_test(test_meshing_surface_repair_nesting),
		cmocka_unit_test(test_meshing_surface_bad_input),
		cmocka_unit_test(test_meshing_quality_regular_tet),
		cmocka_unit_test(test_meshing_quality_cube),
		cmocka_unit_test(test_meshing_quality_bad_tets),
		cmocka_unit_test(test_meshing_boundary),
		cmocka_unit_test(test_meshing_point_distance),
		cmocka_unit_test(test_meshing_surface_alloc_faults),
		cmocka_unit_test(test_meshing_bench),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
