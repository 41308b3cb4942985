/* test_metrics.c: ctw_evaluate (segment/metrics.c) on synthetic masks with hand-computed answers
 * and against an independent brute-force reference (surfaces by explicit neighbour tests,
 * distances by an O(n^2) search over surface voxels), plus empty masks, mismatched grids,
 * cancellation and allocation faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctw.h"
#include "fault_alloc.h"
#include "segment.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* |a - b| <= tol (false for NaN), with both values in the message (cmocka 1.1.5 has no
 * assert_double_equal). */
#define assert_near(a, b, tol)                                                                     \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		if (!(fabs(a_ - b_) <= (tol)))                                                     \
			fail_msg("%s = %.17g, expected %.17g (within %g)", #a, a_, b_, (double)(tol)); \
	} while (0)

static ctw_volume *new_vol(ctw_ctx *ctx, int64_t nx, int64_t ny, int64_t nz, ctw_dtype t,
			   double sx, double sy, double sz)
{
	int64_t dim[3] = { nx, ny, nz };
	ctw_volume *v = NULL;
	assert_int_equal(ctw_volume_new(ctx, dim, t, &v), CTW_OK);
	v->spacing[0] = sx;
	v->spacing[1] = sy;
	v->spacing[2] = sz;
	return v;
}

static int64_t idx(const ctw_volume *v, int64_t i, int64_t j, int64_t k)
{
	return i + v->dim[0] * (j + v->dim[1] * k);
}

/* Sets voxels of the box [lo, hi) (index space) to value. */
static void fill_box(ctw_volume *v, const int lo[3], const int hi[3], int value)
{
	for (int k = lo[2]; k < hi[2]; k++)
		for (int j = lo[1]; j < hi[1]; j++)
			for (int i = lo[0]; i < hi[0]; i++)
				ctw_volume_set(v, idx(v, i, j, k), value);
}

static void fill_sphere(ctw_volume *v, double cx, double cy, double cz, double r, int value)
{
	for (int64_t k = 0; k < v->dim[2]; k++)
		for (int64_t j = 0; j < v->dim[1]; j++)
			for (int64_t i = 0; i < v->dim[0]; i++) {
				double dx = (double)i - cx, dy = (double)j - cy, dz = (double)k - cz;
				if (dx * dx + dy * dy + dz * dz <= r * r)
					ctw_volume_set(v, idx(v, i, j, k), value);
			}
}

static int in_mask(const ctw_volume *v, int label, int64_t i, int64_t j, int64_t k)
{
	if (i < 0 || j < 0 || k < 0 || i >= v->dim[0] || j >= v->dim[1] || k >= v->dim[2])
		return 0;
	return ctw_volume_get(v, idx(v, i, j, k)) == label;
}

/* Surface voxel centres (mm, spacing only) of {v == label}: mask voxels with a 6-neighbour
 * outside the mask or outside the volume. Returns the count; *xyz is malloc'ed (3 per point). */
static long brute_surface(const ctw_volume *v, int label, double **xyz)
{
	static const int off[6][3] = { { -1, 0, 0 }, { 1, 0, 0 }, { 0, -1, 0 },
				       { 0, 1, 0 },  { 0, 0, -1 }, { 0, 0, 1 } };
	long n = 0;
	double *p = malloc(sizeof(double) * 3 * (size_t)ctw_volume_count(v));
	assert_non_null(p);
	for (int64_t k = 0; k < v->dim[2]; k++)
		for (int64_t j = 0; j < v->dim[1]; j++)
			for (int64_t i = 0; i < v->dim[0]; i++) {
				int surf = 0;
				if (!in_mask(v, label, i, j, k))
					continue;
				for (int o = 0; o < 6; o++)
					surf |= !in_mask(v, label, i + off[o][0], j + off[o][1],
							 k + off[o][2]);
				if (!surf)
					continue;
				p[3 * n] = (double)i * v->spacing[0];
				p[3 * n + 1] = (double)j * v->spacing[1];
				p[3 * n + 2] = (double)k * v->spacing[2];
				n++;
			}
	*xyz = p;
	return n;
}

/* Nearest-point distance from each of a[0..na) to b[0..nb), written to d; returns their sum. */
static double brute_directed(const double *a, long na, const double *b, long nb, double *d)
{
	double sum = 0.0;
	for (long s = 0; s < na; s++) {
		double best = INFINITY;
		for (long t = 0; t < nb; t++) {
			double dx = a[3 * s] - b[3 * t], dy = a[3 * s + 1] - b[3 * t + 1],
			       dz = a[3 * s + 2] - b[3 * t + 2], q = dx * dx + dy * dy + dz * dz;
			if (q < best)
				best = q;
		}
		d[s] = sqrt(best);
		sum += d[s];
	}
	return sum;
}

static int cmp_dbl(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

typedef struct ref_dist {
	double hd, hd95, assd;
} ref_dist;

/* medpy's hd, hd95 (numpy percentile, linear) and assd for one label, by brute force. */
static ref_dist brute_metrics(const ctw_volume *ref, const ctw_volume *test, int label)
{
	double *a, *b, *d, sa, sb;
	long na = brute_surface(ref, label, &a), nb = brute_surface(test, label, &b), n = na + nb, lo;
	double pos;
	ref_dist r;

	assert_true(na > 0 && nb > 0);
	d = malloc(sizeof(double) * (size_t)n);
	assert_non_null(d);
	sa = brute_directed(a, na, b, nb, d);
	sb = brute_directed(b, nb, a, na, d + na);
	qsort(d, (size_t)n, sizeof(double), cmp_dbl);
	r.hd = d[n - 1];
	pos = 0.95 * (double)(n - 1);
	lo = (long)pos;
	r.hd95 = lo + 1 < n ? d[lo] + (d[lo + 1] - d[lo]) * (pos - (double)lo) : d[lo];
	r.assd = (sa / (double)na + sb / (double)nb) / 2.0;
	free(a);
	free(b);
	free(d);
	return r;
}

static void check_against_brute(const ctw_volume *ref, const ctw_volume *test, int label,
				const ctw_label_metrics *m)
{
	ref_dist r = brute_metrics(ref, test, label);
	print_message("label %d: hd %.6f (brute %.6f) hd95 %.6f (%.6f) assd %.6f (%.6f)\n", label,
		      m->hd, r.hd, m->hd95, r.hd95, m->assd, r.assd);
	assert_near(m->hd, r.hd, 1e-9);
	assert_near(m->hd95, r.hd95, 1e-9);
	assert_near(m->assd, r.assd, 1e-9);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_metrics_identity(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = new_vol(ctx, 30, 26, 22, CTW_U8, 1.0, 1.0, 1.0);
	int labels[2] = { 1, 2 };
	ctw_label_metrics m[2];

	(void)state;
	srand(12345);
	/* a random blob: a union of random balls, and a second label beside it */
	for (int b = 0; b < 8; b++)
		fill_sphere(v, 8 + rand() % 14, 8 + rand() % 10, 7 + rand() % 8, 2 + rand() % 5, 1);
	for (int64_t i = 0; i < ctw_volume_count(v); i++)
		if (((const uint8_t *)v->data)[i] == 0 && rand() % 7 == 0)
			((uint8_t *)v->data)[i] = 2;
	assert_int_equal(ctw_evaluate(ctx, v, v, labels, 2, m), CTW_OK);
	for (int l = 0; l < 2; l++) {
		assert_int_equal(m[l].label, labels[l]);
		assert_true(m[l].n_ref > 100);
		assert_int_equal(m[l].n_ref, m[l].n_test);
		assert_near(m[l].dice, 1.0, 0.0);
		assert_near(m[l].jaccard, 1.0, 0.0);
		assert_near(m[l].hd, 0.0, 0.0);
		assert_near(m[l].hd95, 0.0, 0.0);
		assert_near(m[l].assd, 0.0, 0.0);
		assert_near(m[l].vol_diff_ml, 0.0, 0.0);
	}
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

/* Cubes of side 10 at x in [2,12) and [4,14). Surface of A to surface of B, by hand: A's x=2 face
 * is 2 from B's x=4 face (every other B surface voxel is farther); A's x=3 column of the side
 * faces is 1 from B's side faces at x=4; A's side faces at x >= 4 lie on B's side faces (0); A's
 * x=11 face is min(2, distance to B's side faces) <= 2 from B. So HD = 2 exactly; likewise B to A. */
static void test_metrics_offset_cubes(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *ref = new_vol(ctx, 18, 14, 14, CTW_U8, 1.0, 1.0, 1.0);
	ctw_volume *test = new_vol(ctx, 18, 14, 14, CTW_U8, 1.0, 1.0, 1.0);
	const int alo[3] = { 2, 2, 2 }, ahi[3] = { 12, 12, 12 }, blo[3] = { 4, 2, 2 },
		  bhi[3] = { 14, 12, 12 };
	int label = 1;
	ctw_label_metrics m;

	(void)state;
	fill_box(ref, alo, ahi, 1);
	fill_box(test, blo, bhi, 1);
	assert_int_equal(ctw_evaluate(ctx, ref, test, &label, 1, &m), CTW_OK);
	assert_int_equal(m.n_ref, 1000);
	assert_int_equal(m.n_test, 1000);
	assert_near(m.dice, 0.8, 1e-12);
	assert_near(m.jaccard, 800.0 / 1200.0, 1e-12);
	assert_near(m.hd, 2.0, 1e-12);
	assert_near(m.vol_ref_ml, 1.0, 1e-12);
	assert_near(m.vol_test_ml, 1.0, 1e-12);
	assert_near(m.vol_diff_ml, 0.0, 1e-12);
	check_against_brute(ref, test, label, &m);
	/* the surface distances are symmetric under swapping ref and test */
	{
		ctw_label_metrics s;
		assert_int_equal(ctw_evaluate(ctx, test, ref, &label, 1, &s), CTW_OK);
		assert_near(s.hd95, m.hd95, 1e-12);
		assert_near(s.assd, m.assd, 1e-12);
	}
	ctw_volume_free(ctx, ref);
	ctw_volume_free(ctx, test);
	ctw_ctx_free(ctx);
}

/* Offset boxes on an anisotropic grid, the second label in uint16 with a value above 255, one box
 * touching the volume border (its border voxels are surface). */
static void test_metrics_anisotropic(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *ref = new_vol(ctx, 22, 13, 9, CTW_U16, 0.5, 1.0, 2.0);
	ctw_volume *test = new_vol(ctx, 22, 13, 9, CTW_U16, 0.5, 1.0, 2.0);
	const int alo[3] = { 3, 2, 1 }, ahi[3] = { 15, 9, 6 }, blo[3] = { 5, 3, 2 }, bhi[3] = { 19, 11, 7 };
	const int clo[3] = { 0, 0, 6 }, chi[3] = { 8, 5, 9 }, dlo[3] = { 1, 0, 7 }, dhi[3] = { 10, 4, 9 };
	int labels[2] = { 1, 500 };
	ctw_label_metrics m[2];
	int64_t both = 0;

	(void)state;
	fill_box(ref, alo, ahi, 1);
	fill_box(test, blo, bhi, 1);
	fill_box(ref, clo, chi, 500);
	fill_box(test, dlo, dhi, 500);
	assert_int_equal(ctw_evaluate(ctx, ref, test, labels, 2, m), CTW_OK);
	for (int64_t i = 0; i < ctw_volume_count(ref); i++)
		both += ctw_volume_get(ref, i) == 1 && ctw_volume_get(test, i) == 1;
	assert_int_equal(m[0].n_ref, 12 * 7 * 5);
	assert_int_equal(m[0].n_test, 14 * 8 * 5);
	assert_int_equal(both, 10 * 6 * 4);
	assert_near(m[0].dice, 2.0 * 240 / (420 + 560), 1e-12);
	assert_near(m[0].jaccard, 240.0 / (420 + 560 - 240), 1e-12);
	assert_near(m[0].vol_ref_ml, 420 * 1.0 / 1000, 1e-12);
	assert_near(m[0].vol_diff_ml, 140 * 1.0 / 1000, 1e-12);
	check_against_brute(ref, test, 1, &m[0]);
	assert_int_equal(m[1].label, 500);
	assert_int_equal(m[1].n_ref, 8 * 5 * 3);
	assert_int_equal(m[1].n_test, 9 * 4 * 2);
	check_against_brute(ref, test, 500, &m[1]);
	ctw_volume_free(ctx, ref);
	ctw_volume_free(ctx, test);
	ctw_ctx_free(ctx);
}

static void test_metrics_concentric_spheres(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *ref = new_vol(ctx, 31, 31, 31, CTW_U8, 1.0, 1.0, 1.0);
	ctw_volume *test = new_vol(ctx, 31, 31, 31, CTW_U8, 1.0, 1.0, 1.0);
	int label = 3;
	ctw_label_metrics m;

	(void)state;
	fill_sphere(ref, 15, 15, 15, 10, 3);
	fill_sphere(test, 15, 15, 15, 12, 3);
	assert_int_equal(ctw_evaluate(ctx, ref, test, &label, 1, &m), CTW_OK);
	print_message("spheres r=10, 12: dice %.4f (ideal %.4f) hd %.4f hd95 %.4f assd %.4f\n", m.dice,
		      2.0 * 1000 / (1000 + 1728), m.hd, m.hd95, m.assd);
	assert_near(m.dice, 2.0 * 1000 / (1000 + 1728), 0.02);
	assert_near(m.jaccard, (double)m.n_ref / (double)m.n_test, 1e-12); /* ref inside test */
	assert_near(m.hd, 2.0, 0.5);
	assert_near(m.assd, 2.0, 0.5);
	assert_true(m.hd95 <= m.hd);
	check_against_brute(ref, test, label, &m);
	ctw_volume_free(ctx, ref);
	ctw_volume_free(ctx, test);
	ctw_ctx_free(ctx);
}

static void test_metrics_empty(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *ref = new_vol(ctx, 10, 10, 10, CTW_U8, 1.0, 1.0, 2.0);
	ctw_volume *test = new_vol(ctx, 10, 10, 10, CTW_U8, 1.0, 1.0, 2.0);
	const int lo[3] = { 2, 2, 2 }, hi[3] = { 6, 6, 6 };
	int labels[3] = { 7, 1, 2 }; /* 7: both empty; 1: only in ref; 2: only in test */
	ctw_label_metrics m[3];

	(void)state;
	fill_box(ref, lo, hi, 1);
	fill_box(test, lo, hi, 2);
	assert_int_equal(ctw_evaluate(ctx, ref, test, labels, 3, m), CTW_OK);
	assert_near(m[0].dice, 1.0, 0.0);
	assert_near(m[0].jaccard, 1.0, 0.0);
	assert_int_equal(m[0].n_ref + m[0].n_test, 0);
	assert_near(m[0].vol_diff_ml, 0.0, 0.0);
	for (int l = 0; l < 3; l++) {
		assert_true(isnan(m[l].hd));
		assert_true(isnan(m[l].hd95));
		assert_true(isnan(m[l].assd));
	}
	for (int l = 1; l < 3; l++) {
		assert_near(m[l].dice, 0.0, 0.0);
		assert_near(m[l].jaccard, 0.0, 0.0);
	}
	assert_int_equal(m[1].n_ref, 64);
	assert_int_equal(m[1].n_test, 0);
	assert_near(m[1].vol_ref_ml, 0.128, 1e-12);
	assert_near(m[1].vol_diff_ml, -0.128, 1e-12);
	assert_int_equal(m[2].n_ref, 0);
	assert_int_equal(m[2].n_test, 64);
	assert_near(m[2].vol_diff_ml, 0.128, 1e-12);
	/* n = 0 is a no-op */
	assert_int_equal(ctw_evaluate(ctx, ref, test, NULL, 0, NULL), CTW_OK);
	ctw_volume_free(ctx, ref);
	ctw_volume_free(ctx, test);
	ctw_ctx_free(ctx);
}

static void test_metrics_grids_differ(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *ref = new_vol(ctx, 10, 10, 10, CTW_U8, 1.0, 1.0, 2.0);
	ctw_volume *test = new_vol(ctx, 10, 10, 9, CTW_U8, 1.0, 1.0, 2.0);
	ctw_volume *test2 = new_vol(ctx, 10, 10, 10, CTW_U8, 1.0, 1.0, 2.5);
	ctw_volume *test3 = new_vol(ctx, 10, 10, 10, CTW_U8, 1.0, 1.0, 2.0 * (1 + 1e-9));
	int label = 1;
	ctw_label_metrics m;

	(void)state;
	assert_int_equal(ctw_evaluate(ctx, ref, test, &label, 1, &m), CTW_ERR_INVALID);
	assert_non_null(strstr(ctw_errmsg(ctx), "grids differ"));
	assert_non_null(strstr(ctw_errmsg(ctx), "10x10x9"));
	assert_int_equal(ctw_evaluate(ctx, ref, test2, &label, 1, &m), CTW_ERR_INVALID);
	assert_non_null(strstr(ctw_errmsg(ctx), "grids differ"));
	assert_non_null(strstr(ctw_errmsg(ctx), "2.5"));
	/* spacing equal within 1e-6 relative is the same grid */
	assert_int_equal(ctw_evaluate(ctx, ref, test3, &label, 1, &m), CTW_OK);
	assert_true(isnan(m.hd));
	ctw_volume_free(ctx, ref);
	ctw_volume_free(ctx, test);
	ctw_volume_free(ctx, test2);
	ctw_volume_free(ctx, test3);
	ctw_ctx_free(ctx);
}

static int cancel_at_second(void *ud, const char *stage, double fraction)
{
	int *calls = ud;
	(void)fraction;
	if (strcmp(stage, "evaluate") != 0)
		return 0;
	return ++*calls >= 2;
}

static void test_metrics_cancel(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = new_vol(ctx, 12, 12, 12, CTW_U8, 1.0, 1.0, 1.0);
	const int lo[3] = { 2, 2, 2 }, hi[3] = { 8, 8, 8 };
	int labels[2] = { 1, 1 }, calls = 0;
	ctw_label_metrics m[2];

	(void)state;
	fill_box(v, lo, hi, 1);
	ctw_ctx_set_progress(ctx, cancel_at_second, &calls);
	assert_int_equal(ctw_evaluate(ctx, v, v, labels, 2, m), CTW_ERR_CANCELLED);
	assert_int_equal(calls, 2);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static void test_metrics_alloc_faults(void **state)
{
	ctw_ctx *plain = ctw_ctx_new();
	ctw_volume *ref = new_vol(plain, 16, 12, 10, CTW_U8, 1.0, 0.5, 2.0);
	ctw_volume *test = new_vol(plain, 16, 12, 10, CTW_U8, 1.0, 0.5, 2.0);
	const int alo[3] = { 2, 2, 2 }, ahi[3] = { 10, 9, 7 }, blo[3] = { 4, 3, 2 }, bhi[3] = { 13, 10, 8 };
	int labels[3] = { 1, 9, 2 };
	ctw_label_metrics want[3], m[3];
	fault_alloc f;
	long n;

	(void)state;
	fill_box(ref, alo, ahi, 1);
	fill_box(test, blo, bhi, 1);
	fill_box(ref, blo, bhi, 2);
	fill_box(test, alo, ahi, 2);
	assert_int_equal(ctw_evaluate(plain, ref, test, labels, 3, want), CTW_OK);
	for (n = 2;; n++) {
		ctw_ctx *ctx = fault_ctx(&f, n);
		int ret;

		assert_non_null(ctx);
		ret = ctw_evaluate(ctx, ref, test, labels, 3, m);
		if (ret == CTW_OK) {
			for (int l = 0; l < 3; l++) {
				assert_near(m[l].dice, want[l].dice, 0.0);
				if (l != 1)
					assert_near(m[l].hd95, want[l].hd95, 0.0);
			}
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			break;
		}
		assert_int_equal(ret, CTW_ERR_NOMEM);
		assert_int_equal(ctw_errcode(ctx), CTW_ERR_NOMEM);
		assert_non_null(strstr(ctw_errmsg(ctx), "out of memory"));
		ctw_ctx_free(ctx);
		assert_int_equal(f.live, 0);
		assert_true(n < 1000);
	}
	print_message("ctw_evaluate with 3 labels: %ld allocations, each failure checked\n", n - 2);
	ctw_volume_free(plain, ref);
	ctw_volume_free(plain, test);
	ctw_ctx_free(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_identity),
		cmocka_unit_test(test_metrics_offset_cubes),
		cmocka_unit_test(test_metrics_anisotropic),
		cmocka_unit_test(test_metrics_concentric_spheres),
		cmocka_unit_test(test_metrics_empty),
		cmocka_unit_test(test_metrics_grids_differ),
		cmocka_unit_test(test_metrics_cancel),
		cmocka_unit_test(test_metrics_alloc_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
