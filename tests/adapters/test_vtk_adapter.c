/* test_vtk_adapter.c: the VTK adapter of the meshing stage. A voxelised ball on oblique and
 * left-handed grids gives a closed, outward surface of the right volume at the right world
 * place; clipping keeps half of it and closes the cut with marked planar caps (markers of the
 * other triangles kept); decimation reaches the target edge length; VTP and VTU files read back
 * (the VTU through VTK's own Python reader); bad files and empty masks fail cleanly. Volumes and
 * closedness are measured here with independent code. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctw.h"
#include "mesh.h"

#define R_BALL 20.0
#define PI 3.14159265358979323846

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ctw_vtk_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- independent measurements ---------------------------------------------------------------- */

static double volume(const ctw_surface *s)
{
	double v = 0;
	for (int64_t t = 0; t < s->n_tris; t++) {
		const double *a = s->xyz + 3 * s->tris[3 * t], *b = s->xyz + 3 * s->tris[3 * t + 1],
			     *c = s->xyz + 3 * s->tris[3 * t + 2];
		/* divergence theorem with the centroid-based flux of F = x/3 through each triangle */
		double n[3] = { (b[1] - a[1]) * (c[2] - a[2]) - (b[2] - a[2]) * (c[1] - a[1]),
				(b[2] - a[2]) * (c[0] - a[0]) - (b[0] - a[0]) * (c[2] - a[2]),
				(b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]) };
		for (int r = 0; r < 3; r++)
			v += (a[r] + b[r] + c[r]) / 3.0 * n[r] / 6.0;
	}
	return v;
}

static double edge_mean(const ctw_surface *s)
{
	double sum = 0;
	for (int64_t t = 0; t < s->n_tris; t++)
		for (int e = 0; e < 3; e++) {
			const double *u = s->xyz + 3 * s->tris[3 * t + e], *w = s->xyz + 3 * s->tris[3 * t + (e + 1) % 3];
			sum += sqrt((u[0] - w[0]) * (u[0] - w[0]) + (u[1] - w[1]) * (u[1] - w[1]) +
				    (u[2] - w[2]) * (u[2] - w[2]));
		}
	return sum / (3.0 * (double)s->n_tris);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Number of directed edges that break "closed, edge-manifold, consistently oriented": each
 * directed edge must occur once and its reverse once. */
static int64_t edge_problems(const ctw_surface *s)
{
	const uint64_t n = (uint64_t)s->n_points;
	int64_t m = 3 * s->n_tris, bad = 0;
	uint64_t *k = malloc(sizeof(uint64_t) * (size_t)m);
	assert_non_null(k);
	for (int64_t t = 0; t < s->n_tris; t++)
		for (int e = 0; e < 3; e++)
			k[3 * t + e] = (uint64_t)s->tris[3 * t + e] * n + (uint64_t)s->tris[3 * t + (e + 1) % 3];
	qsort(k, (size_t)m, sizeof(uint64_t), cmp_u64);
	for (int64_t i = 0; i < m; i++) {
		uint64_t rev = (k[i] % n) * n + k[i] / n;
		if ((i > 0 && k[i] == k[i - 1]) || !bsearch(&rev, k, (size_t)m, sizeof(uint64_t), cmp_u64))
			bad++;
	}
	free(k);
	return bad;
}

/* ---- the ball phantom --------------------------------------------------------------------------- */

static void rotation(double a, double b, double c, double d[3][3])
{
	double ca = cos(a), sa = sin(a), cb = cos(b), sb = sin(b), cc = cos(c), sc = sin(c);
	double rz[3][3] = { { ca, -sa, 0 }, { sa, ca, 0 }, { 0, 0, 1 } };
	double ry[3][3] = { { cb, 0, sb }, { 0, 1, 0 }, { -sb, 0, cb } };
	double rx[3][3] = { { 1, 0, 0 }, { 0, cc, -sc }, { 0, sc, cc } };
	double t[3][3];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			t[i][j] = 0;
			for (int k = 0; k < 3; k++)
				t[i][j] += ry[i][k] * rx[k][j];
		}
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			d[i][j] = 0;
			for (int k = 0; k < 3; k++)
				d[i][j] += rz[i][k] * t[k][j];
		}
}

/* A ball of radius R_BALL voxelised on a 48^3 grid of 1 mm voxels, oblique (left-handed when
 * asked: the j axis flipped); *centre receives its world centre. */
static ctw_surface *ball_surface(ctw_ctx *ctx, int left_handed, double centre[3])
{
	const double ci[3] = { 23.4, 23.7, 23.2 };
	int64_t dim[3] = { 48, 48, 48 };
	ctw_volume g = { 0 };
	uint8_t *mask = malloc(48 * 48 * 48);
	ctw_surface *s = NULL;
	assert_non_null(mask);
	memcpy(g.dim, dim, sizeof(dim));
	g.spacing[0] = g.spacing[1] = g.spacing[2] = 1.0;
	g.origin[0] = -31.5, g.origin[1] = 12.25, g.origin[2] = 104.0;
	rotation(0.4, -0.3, 0.7, g.direction);
	if (left_handed)
		for (int r = 0; r < 3; r++)
			g.direction[r][1] = -g.direction[r][1];
	g.dtype = CTW_U8;
	for (int k = 0; k < 48; k++)
		for (int j = 0; j < 48; j++)
			for (int i = 0; i < 48; i++) {
				double d2 = (i - ci[0]) * (i - ci[0]) + (j - ci[1]) * (j - ci[1]) + (k - ci[2]) * (k - ci[2]);
				mask[(k * 48 + j) * 48 + i] = d2 <= R_BALL * R_BALL ? 1 : 0;
			}
	ctw_volume_index_to_world(&g, ci, centre);
	assert_int_equal(ctw_vtk_mask_surface(ctx, &g, mask, 20, 0.1, &s), CTW_OK);
	free(mask);
	return s;
}

static void check_ball(const ctw_surface *s, const double c[3])
{
	const double v0 = 4.0 / 3.0 * PI * R_BALL * R_BALL * R_BALL, v = volume(s);
	double worst = 0;
	assert_true(s->n_tris > 1000);
	assert_int_equal(edge_problems(s), 0);
	assert_true(v > 0);
	assert_true(fabs(v - v0) < 0.01 * v0);
	for (int64_t i = 0; i < s->n_points; i++) {
		const double *p = s->xyz + 3 * i;
		double r = sqrt((p[0] - c[0]) * (p[0] - c[0]) + (p[1] - c[1]) * (p[1] - c[1]) + (p[2] - c[2]) * (p[2] - c[2]));
		worst = fmax(worst, fabs(r - R_BALL));
	}
	assert_true(worst < 1.5);
	print_message("ball: %lld triangles, volume %.1f (exact %.1f), worst radius error %.2f mm, mean edge %.2f mm\n",
		      (long long)s->n_tris, v, v0, worst, edge_mean(s));
}

static void test_vtk_mask_surface_oblique(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	double c[3];
	(void)state;
	ctw_surface *s = ball_surface(ctx, 0, c);
	check_ball(s, c);
	ctw_surface_free(ctx, s);
	ctw_ctx_free(ctx);
}

static void test_vtk_mask_surface_left_handed(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	double c[3];
	(void)state;
	ctw_surface *s = ball_surface(ctx, 1, c);
	check_ball(s, c);
	ctw_surface_free(ctx, s);
	ctw_ctx_free(ctx);
}

static void test_vtk_mask_surface_empty(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	int64_t dim[3] = { 5, 4, 3 };
	ctw_volume *g = NULL;
	uint8_t mask[60] = { 0 };
	ctw_surface *s = (ctw_surface *)&dim; /* must be reset */
	(void)state;
	assert_int_equal(ctw_volume_new(ctx, dim, CTW_U8, &g), CTW_OK);
	assert_int_equal(ctw_vtk_mask_surface(ctx, g, mask, 10, 0.1, &s), CTW_ERR_EXTERNAL);
	assert_null(s);
	assert_non_null(strstr(ctw_errmsg(ctx), "empty"));
	/* a single voxel in the corner still gives a closed surface (padding) */
	mask[0] = 1;
	assert_int_equal(ctw_vtk_mask_surface(ctx, g, mask, 0, 0.1, &s), CTW_OK);
	assert_int_equal(edge_problems(s), 0);
	assert_true(volume(s) > 0);
	ctw_surface_free(ctx, s);
	ctw_volume_free(ctx, g);
	ctw_ctx_free(ctx);
}

/* ---- clip and cap ------------------------------------------------------------------------------ */

static void test_vtk_clip_cap_ball(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	double c[3], n[3] = { 0.3, 0.5, 0.8 }, len = sqrt(0.98);
	ctw_surface *s, *h = NULL;
	int64_t n_cap = 0, per[3] = { 0 };
	double cap_area = 0;
	(void)state;
	s = ball_surface(ctx, 0, c);
	for (int64_t t = 0; t < s->n_tris; t++)
		s->marker[t] = 10 + (int32_t)(t % 3);
	for (int r = 0; r < 3; r++)
		n[r] /= len;
	assert_int_equal(ctw_vtk_clip_cap(ctx, s, c, n, 4, &h), CTW_OK);
	assert_int_equal(edge_problems(h), 0);
	assert_true(fabs(volume(h) - volume(s) / 2) < 0.02 * volume(s) / 2);
	for (int64_t i = 0; i < h->n_points; i++) {
		const double *p = h->xyz + 3 * i;
		assert_true((p[0] - c[0]) * n[0] + (p[1] - c[1]) * n[1] + (p[2] - c[2]) * n[2] < 1e-5);
	}
	for (int64_t t = 0; t < h->n_tris; t++) {
		if (h->marker[t] == 4) {
			const double *p[3];
			double e1[3], e2[3], cr[3];
			n_cap++;
			for (int k = 0; k < 3; k++) {
				p[k] = h->xyz + 3 * h->tris[3 * t + k];
				double d = (p[k][0] - c[0]) * n[0] + (p[k][1] - c[1]) * n[1] + (p[k][2] - c[2]) * n[2];
				assert_true(fabs(d) < 1e-5);
			}
			for (int r = 0; r < 3; r++)
				e1[r] = p[1][r] - p[0][r], e2[r] = p[2][r] - p[0][r];
			cr[0] = e1[1] * e2[2] - e1[2] * e2[1];
			cr[1] = e1[2] * e2[0] - e1[0] * e2[2];
			cr[2] = e1[0] * e2[1] - e1[1] * e2[0];
			cap_area += (cr[0] * n[0] + cr[1] * n[1] + cr[2] * n[2]) / 2; /* outward = +n */
		} else {
			assert_true(h->marker[t] >= 10 && h->marker[t] <= 12);
			per[h->marker[t] - 10]++;
		}
	}
	assert_true(n_cap > 50);
	assert_true(fabs(cap_area - PI * R_BALL * R_BALL) < 0.03 * PI * R_BALL * R_BALL);
	for (int k = 0; k < 3; k++)
		assert_true(per[k] > (h->n_tris - n_cap) / 4);
	print_message("hemisphere: %lld triangles (%lld cap), volume %.1f, cap area %.1f (disc %.1f)\n",
		      (long long)h->n_tris, (long long)n_cap, volume(h), cap_area, PI * R_BALL * R_BALL);

	/* nothing left: the whole ball on the removed side */
	double far[3] = { c[0] - 50 * n[0], c[1] - 50 * n[1], c[2] - 50 * n[2] };
	ctw_surface *none = (ctw_surface *)&n_cap;
	assert_int_equal(ctw_vtk_clip_cap(ctx, s, far, n, 4, &none), CTW_ERR_EXTERNAL);
	assert_null(none);
	ctw_surface_free(ctx, h);
	ctw_surface_free(ctx, s);
	ctw_ctx_free(ctx);
}

/* Unit cube, faces marked 1..6 (-x, +x, -y, +y, -z, +z), clipped at z = 0.5 keeping z <= 0.5:
 * every output triangle's marker follows from its normal. */
static void test_vtk_clip_cap_cube_markers(void **state)
{
	static const int32_t quads[6][4] = { { 0, 4, 6, 2 }, { 1, 3, 7, 5 }, { 0, 1, 5, 4 },
					     { 2, 6, 7, 3 }, { 0, 2, 3, 1 }, { 4, 5, 7, 6 } };
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_surface *s, *h = NULL;
	double p[3] = { 0.2, 0.7, 0.5 }, n[3] = { 0, 0, 2 };
	(void)state;
	assert_int_equal(ctw_surface_new(ctx, 8, 12, &s), CTW_OK);
	for (int i = 0; i < 8; i++)
		for (int r = 0; r < 3; r++)
			s->xyz[3 * i + r] = (i >> r) & 1;
	for (int f = 0; f < 6; f++) {
		const int32_t *q = quads[f];
		int32_t t[6] = { q[0], q[1], q[2], q[0], q[2], q[3] };
		memcpy(s->tris + 6 * f, t, sizeof(t));
		s->marker[2 * f] = s->marker[2 * f + 1] = f + 1;
	}
	assert_true(fabs(volume(s) - 1.0) < 1e-12);
	assert_int_equal(ctw_vtk_clip_cap(ctx, s, p, n, 7, &h), CTW_OK);
	assert_int_equal(edge_problems(h), 0);
	assert_true(fabs(volume(h) - 0.5) < 1e-9);
	for (int64_t t = 0; t < h->n_tris; t++) {
		const double *a = h->xyz + 3 * h->tris[3 * t], *b = h->xyz + 3 * h->tris[3 * t + 1],
			     *c = h->xyz + 3 * h->tris[3 * t + 2];
		double nr[3] = { (b[1] - a[1]) * (c[2] - a[2]) - (b[2] - a[2]) * (c[1] - a[1]),
				 (b[2] - a[2]) * (c[0] - a[0]) - (b[0] - a[0]) * (c[2] - a[2]),
				 (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]) };
		int axis = 0;
		for (int r = 1; r < 3; r++)
			if (fabs(nr[r]) > fabs(nr[axis]))
				axis = r;
		int want = nr[axis] > 0 && axis == 2 ? 7 : 1 + 2 * axis + (nr[axis] > 0);
		assert_int_equal(h->marker[t], want);
	}
	ctw_surface_free(ctx, h);
	ctw_surface_free(ctx, s);
	ctw_ctx_free(ctx);
}

/* ---- decimation --------------------------------------------------------------------------------- */

/* Smallest angle (degrees) of triangle t. */
static double min_angle(const ctw_surface *s, int64_t t)
{
	double best = 180;
	for (int k = 0; k < 3; k++) {
		const double *a = s->xyz + 3 * s->tris[3 * t + k], *b = s->xyz + 3 * s->tris[3 * t + (k + 1) % 3],
			     *c = s->xyz + 3 * s->tris[3 * t + (k + 2) % 3];
		double u[3], v[3], uv = 0, uu = 0, vv = 0;
		for (int r = 0; r < 3; r++)
			u[r] = b[r] - a[r], v[r] = c[r] - a[r], uv += u[r] * v[r], uu += u[r] * u[r], vv += v[r] * v[r];
		best = fmin(best, acos(fmax(-1.0, fmin(1.0, uv / sqrt(uu * vv)))) * 180 / PI);
	}
	return best;
}

static void test_vtk_decimate(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	double c[3], n[3] = { 0, 0, 1 }, worst_cap = 180, drift = 0;
	ctw_surface *s, *h = NULL, *d = NULL, *dh = NULL, *hd = NULL, *same = NULL;
	int64_t n_cap = 0, thin = 0;
	(void)state;
	s = ball_surface(ctx, 0, c);
	/* the closed ball */
	assert_int_equal(ctw_vtk_decimate(ctx, s, 2.0, &d), CTW_OK);
	assert_int_equal(edge_problems(d), 0);
	assert_true(fabs(edge_mean(d) - 2.0) < 0.25 * 2.0);
	assert_true(fabs(volume(d) - volume(s)) < 0.02 * volume(s));
	for (int64_t t = 0; t < d->n_tris; t++)
		assert_int_equal(d->marker[t], 0);
	print_message("decimated: %lld -> %lld triangles, mean edge %.2f mm, volume %.1f -> %.1f\n",
		      (long long)s->n_tris, (long long)d->n_tris, edge_mean(d), volume(s), volume(d));
	/* then clipped: an exactly planar cap of well-shaped triangles. The plane is 0.37 mm off the
	 * voxel-aligned centre, as the mesher's planes are: through the centre itself, where the cut
	 * runs through many vertices, the cap can still come out with bad edges (which the mesher's
	 * surface check reports; a known gap, see issue #5's note) */
	c[2] += 0.37;
	assert_int_equal(ctw_vtk_clip_cap(ctx, d, c, n, 4, &dh), CTW_OK);
	assert_int_equal(edge_problems(dh), 0);
	for (int64_t t = 0; t < dh->n_tris; t++) {
		if (dh->marker[t] != 4)
			continue;
		n_cap++;
		for (int k = 0; k < 3; k++)
			assert_true(fabs(dh->xyz[3 * dh->tris[3 * t + k] + 2] - c[2]) < 1e-9);
		worst_cap = fmin(worst_cap, min_angle(dh, t));
		thin += min_angle(dh, t) < 20;
	}
	print_message("then clipped: %lld triangles, %lld on the cap (%lld with an angle < 20 deg, smallest %.1f deg)\n",
		      (long long)dh->n_tris, (long long)n_cap, (long long)thin, worst_cap);
	assert_true(n_cap > 100);
	assert_true(thin < n_cap / 10); /* the mesher improves the cap further (ctw_surface_improve) */
	/* clipped first, then decimated: closed, the cap planar to about 1e-3 of the edge */
	assert_int_equal(ctw_vtk_clip_cap(ctx, s, c, n, 4, &h), CTW_OK);
	assert_int_equal(ctw_vtk_decimate(ctx, h, 2.0, &hd), CTW_OK);
	assert_int_equal(edge_problems(hd), 0);
	assert_true(fabs(volume(hd) - volume(h)) < 0.02 * volume(h));
	for (int64_t i = 0; i < hd->n_points; i++)
		drift = fmax(drift, hd->xyz[3 * i + 2] - c[2]);
	assert_true(drift < 2e-3 * 2.0);
	print_message("clipped then decimated: %lld triangles, vertices at most %.1e mm beyond the plane\n",
		      (long long)hd->n_tris, drift);
	/* already coarse enough: an unchanged copy */
	assert_int_equal(ctw_vtk_decimate(ctx, d, 1.0, &same), CTW_OK);
	assert_int_equal(same->n_tris, d->n_tris);
	assert_memory_equal(same->tris, d->tris, sizeof(int32_t) * 3 * (size_t)d->n_tris);
	ctw_surface_free(ctx, same);
	ctw_surface_free(ctx, hd);
	ctw_surface_free(ctx, dh);
	ctw_surface_free(ctx, d);
	ctw_surface_free(ctx, h);
	ctw_surface_free(ctx, s);
	ctw_ctx_free(ctx);
}

/* ---- files ------------------------------------------------------------------------------------ */

static void test_vtk_vtp_round_trip(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	double c[3], n[3] = { 1, 0, 0 };
	ctw_surface *s, *h = NULL, *r = NULL;
	int has = -1;
	(void)state;
	s = ball_surface(ctx, 0, c);
	assert_int_equal(ctw_vtk_clip_cap(ctx, s, c, n, 4, &h), CTW_OK);
	for (int64_t t = 0; t < h->n_tris; t++)
		if (h->marker[t] != 4)
			h->marker[t] = 1 + (int32_t)(t % 2);
	const char *path = tmp_path("hemi.vtp");
	assert_int_equal(ctw_vtk_write_vtp(ctx, h->xyz, h->n_points, h->tris, h->marker, h->n_tris, "surface", path),
			 CTW_OK);
	assert_int_equal(ctw_vtk_read_surface(ctx, path, "surface", &r, &has), CTW_OK);
	assert_int_equal(has, 1);
	assert_int_equal(r->n_points, h->n_points);
	assert_int_equal(r->n_tris, h->n_tris);
	assert_memory_equal(r->tris, h->tris, sizeof(int32_t) * 3 * (size_t)h->n_tris);
	assert_memory_equal(r->marker, h->marker, sizeof(int32_t) * (size_t)h->n_tris);
	assert_memory_equal(r->xyz, h->xyz, sizeof(double) * 3 * (size_t)h->n_points);
	ctw_surface_free(ctx, r);
	r = NULL;
	/* without the array: markers 0 */
	assert_int_equal(ctw_vtk_read_surface(ctx, path, "nope", &r, &has), CTW_OK);
	assert_int_equal(has, 0);
	assert_int_equal(r->marker[0], 0);
	ctw_surface_free(ctx, r);
	ctw_surface_free(ctx, h);
	ctw_surface_free(ctx, s);
	ctw_ctx_free(ctx);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Runs f with stderr redirected to a file; returns how many bytes were written to it. */
static long quiet_call(int (*f)(ctw_ctx *, const char *), ctw_ctx *ctx, const char *path, int *ret)
{
	const char *log = tmp_path("stderr.txt");
	int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct stat st;
	assert_true(saved >= 0 && fd >= 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	*ret = f(ctx, path);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(stat(log, &st), 0);
	return (long)st.st_size;
}

static int read_any(ctw_ctx *ctx, const char *path)
{
	ctw_surface *s = NULL;
	int has = 7, ret = ctw_vtk_read_surface(ctx, path, "surface", &s, &has);
	if (ret == CTW_OK)
		ctw_surface_free(ctx, s);
	else
		assert_null(s);
	assert_int_equal(has, 0);
	return ret;
}

static void test_vtk_read_bad_files(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	int ret;
	(void)state;
	assert_int_equal(read_any(ctx, tmp_path("missing.vtp")), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), "missing.vtp"));

	static const char *bad[] = { "text.vtp", "text.vtk", "text.stl", "text.obj" };
	for (int i = 0; i < 4; i++) {
		const char *p = tmp_path(bad[i]);
		write_text(p, "this is not a surface file\n");
		assert_int_equal(quiet_call(read_any, ctx, p, &ret), 0);
		assert_int_equal(ret, CTW_ERR_FORMAT);
		assert_non_null(strstr(ctw_errmsg(ctx), bad[i]));
		print_message("%s: %s\n", bad[i], ctw_errmsg(ctx));
	}
	/* a truncated VTP */
	write_text(tmp_path("cut.vtp"), "<?xml version=\"1.0\"?>\n<VTKFile type=\"PolyData\" version=\"0.1\">\n<PolyData>\n");
	assert_int_equal(quiet_call(read_any, ctx, tmp_path("cut.vtp"), &ret), 0);
	assert_int_equal(ret, CTW_ERR_FORMAT);
	ctw_ctx_free(ctx);
}

static void test_vtk_write_vtu(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = NULL;
	ctw_field *fiber = NULL, *phi = NULL;
	static const double xyz[15] = { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1 };
	static const int32_t tets[8] = { 0, 1, 2, 3, 1, 2, 3, 4 };
	const char *names[1] = { "apex_node" };
	const int64_t values[1] = { 3 };
	char cmd[1024], line[256] = "", head[512] = "";
	(void)state;
	assert_int_equal(ctw_tetmesh_new(ctx, 5, 2, 0, &m), CTW_OK);
	memcpy(m->xyz, xyz, sizeof(xyz));
	memcpy(m->tets, tets, sizeof(tets));
	m->region[0] = 1, m->region[1] = 2;
	assert_int_equal(ctw_field_new(ctx, "fiber", CTW_ON_CELLS, 3, 2, &fiber), CTW_OK);
	assert_int_equal(ctw_field_new(ctx, "phi", CTW_ON_POINTS, 1, 5, &phi), CTW_OK);
	fiber->values[0] = 1, fiber->values[4] = 0.6, fiber->values[5] = 0.8;
	for (int i = 0; i < 5; i++)
		phi->values[i] = 0.25 * i;
	const ctw_field *fields[2] = { fiber, phi };
	const char *path = tmp_path("mesh.vtu");
	assert_int_equal(ctw_vtk_write_vtu(ctx, m, fields, 2, names, values, 1, path), CTW_OK);

	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_true(fread(head, 1, sizeof(head) - 1, f) > 100);
	fclose(f);
	assert_non_null(strstr(head, "vtkZLibDataCompressor"));

	/* read back with VTK's own reader */
	if (access("/usr/bin/python3", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 -c \"\nimport sys\ntry:\n import vtk\nexcept ImportError:\n print('novtk'); sys.exit(0)\n"
			 "r=vtk.vtkXMLUnstructuredGridReader(); r.SetFileName('%s'); r.Update(); g=r.GetOutput()\n"
			 "c=g.GetCellData(); t=c.GetArray('tag'); fb=c.GetArray('fiber'); p=g.GetPointData().GetArray('phi')\n"
			 "a=g.GetFieldData().GetArray('apex_node')\n"
			 "print(g.GetNumberOfPoints(), g.GetNumberOfCells(), g.GetCellType(1), t.GetValue(0), t.GetValue(1),"
			 " fb.GetNumberOfComponents(), '%%.2f' %% fb.GetComponent(1, 2), '%%.2f' %% p.GetValue(4), a.GetValue(0), t.GetDataTypeAsString())\n\" 2>&1",
			 path);
		FILE *py = popen(cmd, "r");
		assert_non_null(py);
		if (!fgets(line, sizeof(line), py))
			line[0] = 0;
		pclose(py);
		print_message("python vtk: %s", line);
		if (strncmp(line, "novtk", 5) != 0)
			assert_string_equal(line, "5 2 10 1 2 3 0.80 1.00 3 int\n");
	}
	/* an unwritable path */
	assert_int_equal(ctw_vtk_write_vtu(ctx, m, fields, 2, names, values, 1, tmp_path("no/such/dir/m.vtu")),
			 CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), "m.vtu"));
	print_message("%s\n", ctw_errmsg(ctx));
	/* a field of the wrong size */
	phi->n = 4;
	assert_int_equal(ctw_vtk_write_vtu(ctx, m, fields, 2, names, values, 1, path), CTW_ERR_INVALID);
	ctw_field_free(ctx, fiber);
	ctw_field_free(ctx, phi);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vtk_mask_surface_oblique),
		cmocka_unit_test(test_vtk_mask_surface_left_handed),
		cmocka_unit_test(test_vtk_mask_surface_empty),
		cmocka_unit_test(test_vtk_clip_cap_ball),
		cmocka_unit_test(test_vtk_clip_cap_cube_markers),
		cmocka_unit_test(test_vtk_decimate),
		cmocka_unit_test(test_vtk_vtp_round_trip),
		cmocka_unit_test(test_vtk_read_bad_files),
		cmocka_unit_test(test_vtk_write_vtu),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
