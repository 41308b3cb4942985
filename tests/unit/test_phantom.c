/* test_phantom.c: the analytic heart phantom: exact volumes against voxel counts and closed forms,
 * placement, intensities, noise reproducibility and statistics, RV wall thickness, option checks,
 * cancellation, allocation failures and the truth.xml writer. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctw.h"
#include "fault_alloc.h"
#include "phantom.h"

static void make(ctw_ctx *ctx, ctw_phantom_kind kind, double spacing, double noise, uint64_t seed,
		 ctw_volume **img, ctw_labelmap **lab, ctw_phantom_truth *t)
{
	ctw_phantom_opts o = CTW_PHANTOM_OPTS_INIT;
	int ret;

	o.kind = kind;
	o.spacing_mm = spacing;
	o.noise_sd = noise;
	o.seed = seed;
	ret = ctw_phantom_make(ctx, &o, img, lab, t);
	if (ret)
		fail_msg("ctw_phantom_make: %s", ctw_errmsg(ctx));
}

/* World point of local heart-frame point l. */
static void to_world(const ctw_phantom_truth *t, const double l[3], double w[3])
{
	for (int r = 0; r < 3; r++)
		w[r] = t->centre[r] + t->rotation[r][0] * l[0] + t->rotation[r][1] * l[1] +
		       t->rotation[r][2] * l[2];
}

static int label_at_local(const ctw_phantom_truth *t, const double l[3])
{
	double w[3];
	to_world(t, l, w);
	return ctw_phantom_label_at(t, w);
}

/* Voxel-counted volume of every label within 1 % of the analytic one (expected: well within
 * 0.5 %), and nothing but the phantom's labels in the map. */
static void check_volumes(ctw_phantom_kind kind)
{
	static int64_t counts[256];
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *img;
	ctw_labelmap *lab;
	ctw_phantom_truth t;
	int64_t total = 0;
	double vox;

	make(ctx, kind, 1.0, 0.0, 1, &img, &lab, &t);
	assert_int_equal(t.n_labels, kind == CTW_PHANTOM_BIV ? 4 : 2);
	vox = t.spacing_mm * t.spacing_mm * t.spacing_mm;
	ctw_labelmap_count(lab, counts, 256);
	for (int i = 0; i < t.n_labels; i++) {
		double v = (double)counts[t.label[i]] * vox;
		assert_string_equal(t.name[i], ctw_label_name(t.label[i]));
		assert_true(t.volume_mm3[i] > 10000.0);
		if (fabs(v - t.volume_mm3[i]) > 0.01 * t.volume_mm3[i])
			fail_msg("label %d: %g voxel mm^3 vs %g exact", t.label[i], v,
				 t.volume_mm3[i]);
		assert_true(fabs(v - t.volume_mm3[i]) < 0.005 * t.volume_mm3[i]);
		total += counts[t.label[i]];
	}
	assert_int_equal(total + counts[0], ctw_volume_count(lab->grid));
	ctw_volume_free(ctx, img);
	ctw_labelmap_free(ctx, lab);
	ctw_ctx_free(ctx);
}

static void test_phantom_lv_volumes_match_truth(void **state)
{
	(void)state;
	check_volumes(CTW_PHANTOM_LV);
}

static void test_phantom_biv_volumes_match_truth(void **state)
{
	(void)state;
	check_volumes(CTW_PHANTOM_BIV);
}

/* The quadrature used for the RV labels reproduces the LV closed forms, which match an
 * independent evaluation of V(b, a, h) = pi b^2 [(h + a) - (h^3 + a^3) / 3a^2]. */
static void test_phantom_quadrature_matches_closed_form(void **state)
{
	ctw_phantom_opts o = CTW_PHANTOM_OPTS_INIT;
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_phantom_truth t;
	const double pi = 3.14159265358979323846;

	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		o.kind = (ctw_phantom_kind)kind;
		assert_int_equal(ctw_phantom_truth_init(ctx, &o, &t), CTW_OK);
		double h = t.base_z, a0 = t.lv_endo_a, b0 = t.lv_endo_b, a1 = t.lv_epi_a,
		       b1 = t.lv_epi_b;
		double blood = pi * b0 * b0 * ((h + a0) - (h * h * h + a0 * a0 * a0) / (3 * a0 * a0));
		double epi = pi * b1 * b1 * ((h + a1) - (h * h * h + a1 * a1 * a1) / (3 * a1 * a1));
		double ex1 = ctw_phantom_label_volume(&t, CTW_LBL_LV_BLOOD, CTW_PHANTOM_EXACT);
		double ex2 = ctw_phantom_label_volume(&t, CTW_LBL_LV_MYO, CTW_PHANTOM_EXACT);
		double q1 = ctw_phantom_label_volume(&t, CTW_LBL_LV_BLOOD, CTW_PHANTOM_QUADRATURE);
		double q2 = ctw_phantom_label_volume(&t, CTW_LBL_LV_MYO, CTW_PHANTOM_QUADRATURE);
		assert_true(fabs(ex1 - blood) <= 1e-12 * blood);
		assert_true(fabs(ex2 - (epi - blood)) <= 1e-12 * ex2);
		assert_true(fabs(q1 - ex1) <= 1e-9 * ex1);
		assert_true(fabs(q2 - ex2) <= 1e-9 * ex2);
		assert_true(t.volume_mm3[0] == ex1 && t.volume_mm3[1] == ex2);
	}
	/* RV labels exist only in the BiV phantom; o.kind is BiV here */
	assert_true(ctw_phantom_label_volume(&t, CTW_LBL_RV_BLOOD, CTW_PHANTOM_EXACT) > 0.0);
	assert_true(ctw_phantom_label_volume(&t, CTW_LBL_RV_MYO, CTW_PHANTOM_EXACT) > 0.0);
	assert_true(ctw_phantom_label_volume(&t, CTW_LBL_LA_BLOOD, CTW_PHANTOM_EXACT) == -1.0);
	o.kind = CTW_PHANTOM_LV;
	assert_int_equal(ctw_phantom_truth_init(ctx, &o, &t), CTW_OK);
	assert_true(ctw_phantom_label_volume(&t, CTW_LBL_RV_BLOOD, CTW_PHANTOM_EXACT) == -1.0);
	ctw_ctx_free(ctx);
}

/* Proper rotation with the apex left-anterior-inferior and the RV right-anterior of the LV; an
 * axis-aligned grid with a round, non-zero origin; the heart well inside the field of view;
 * labels by the same test as ctw_phantom_label_at(); the base plane on the label map. */
static void test_phantom_placement(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *img;
	ctw_labelmap *lab;
	ctw_phantom_truth t;
	double(*R)[3];
	const uint8_t *lbl;
	double det;
	int64_t i, j, k, n = 0, lo[3] = { INT64_MAX, INT64_MAX, INT64_MAX }, hi[3] = { 0, 0, 0 };

	(void)state;
	make(ctx, CTW_PHANTOM_BIV, 1.0, 0.0, 1, &img, &lab, &t);
	R = t.rotation;
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++) {
			double d = R[0][a] * R[0][b] + R[1][a] * R[1][b] + R[2][a] * R[2][b];
			assert_true(fabs(d - (a == b)) < 1e-12);
		}
	det = R[0][0] * (R[1][1] * R[2][2] - R[1][2] * R[2][1]) -
	      R[0][1] * (R[1][0] * R[2][2] - R[1][2] * R[2][0]) +
	      R[0][2] * (R[1][0] * R[2][1] - R[1][1] * R[2][0]);
	assert_true(fabs(det - 1.0) < 1e-12);
	/* long axis (apex to base) right (-x), posterior (+y), superior (+z) in LPS */
	assert_true(R[0][2] < -0.5 && R[1][2] > 0.2 && R[2][2] > 0.5);
	/* local x (towards the RV) mostly anterior (-y) and right (-x) */
	assert_true(R[1][0] < -0.7 && R[0][0] < -0.3);
	assert_int_equal(img->dtype, CTW_I16);
	assert_int_equal(lab->grid->dtype, CTW_U8);
	for (int c = 0; c < 3; c++) {
		assert_int_equal(img->dim[c], lab->grid->dim[c]);
		assert_int_equal(img->dim[c], t.dim[c]);
		assert_true(img->spacing[c] == 1.0 && lab->grid->spacing[c] == 1.0);
		assert_true(img->origin[c] == t.origin[c] && lab->grid->origin[c] == t.origin[c]);
		assert_true(img->origin[c] != 0.0 && img->origin[c] == floor(img->origin[c]));
		for (int r = 0; r < 3; r++)
			assert_true(img->direction[r][c] == (r == c) &&
				    lab->grid->direction[r][c] == (r == c));
		assert_true(lab->base_normal[c] == t.long_axis[c]);
		assert_true(lab->base_point[c] == t.base_point[c]);
	}
	assert_true(lab->has_base_plane);
	assert_int_equal(ctw_check_geometry(ctx, "phantom", img), CTW_OK);
	lbl = lab->grid->data;
	for (k = 0; k < t.dim[2]; k++)
		for (j = 0; j < t.dim[1]; j++)
			for (i = 0; i < t.dim[0]; i++, n++) {
				int64_t ijk[3] = { i, j, k };
				if (!lbl[n])
					continue;
				for (int c = 0; c < 3; c++) {
					lo[c] = ijk[c] < lo[c] ? ijk[c] : lo[c];
					hi[c] = ijk[c] > hi[c] ? ijk[c] : hi[c];
				}
				if (n % 97 == 0) { /* a sample of voxels: same label as the point test */
					double p[3] = { t.origin[0] + (double)i, t.origin[1] + (double)j,
							t.origin[2] + (double)k };
					assert_int_equal(ctw_phantom_label_at(&t, p), lbl[n]);
				}
			}
	/* heart + 3.5 mm fat + 20 mm margin, bounded conservatively: >= 23 voxels of room */
	for (int c = 0; c < 3; c++) {
		assert_true(lo[c] >= 23 && t.dim[c] - 1 - hi[c] >= 23);
		assert_true(lo[c] <= 40 && t.dim[c] - 1 - hi[c] <= 40); /* and roughly centred */
	}
	ctw_volume_free(ctx, img);
	ctw_labelmap_free(ctx, lab);
	ctw_ctx_free(ctx);
}

/* Without noise, voxels deep in a blood pool are exactly 350 HU and deep in myocardium 100 HU;
 * no labelled voxel sees lung (its value is never below the fat's); lung and soft tissue exist. */
static void test_phantom_noiseless_intensities(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *img;
	ctw_labelmap *lab;
	ctw_phantom_truth t;
	const int16_t *pix;
	const uint8_t *lbl;
	int64_t i, j, k, nx, nxy, n_blood = 0, n_myo = 0, n_lung = 0, n_soft = 0;

	(void)state;
	make(ctx, CTW_PHANTOM_BIV, 1.0, 0.0, 1, &img, &lab, &t);
	pix = img->data;
	lbl = lab->grid->data;
	nx = t.dim[0];
	nxy = t.dim[0] * t.dim[1];
	for (k = 1; k + 1 < t.dim[2]; k++)
		for (j = 1; j + 1 < t.dim[1]; j++)
			for (i = 1; i + 1 < t.dim[0]; i++) {
				int64_t n = i + nx * j + nxy * k;
				int same = 1, l = lbl[n];
				if (l)
					assert_true(pix[n] >= t.hu_fat);
				n_lung += pix[n] == t.hu_lung;
				n_soft += pix[n] == t.hu_soft && !l;
				if (!l)
					continue;
				for (int d = 0; d < 27 && same; d++)
					same = lbl[n + (d % 3 - 1) + nx * (d / 3 % 3 - 1) +
						   nxy * (d / 9 - 1)] == l;
				if (!same)
					continue;
				if (l == CTW_LBL_LV_BLOOD || l == CTW_LBL_RV_BLOOD) {
					assert_int_equal(pix[n], 350);
					n_blood++;
				} else {
					assert_int_equal(pix[n], 100);
					n_myo++;
				}
			}
	assert_true(n_blood > 100000 && n_myo > 50000 && n_lung > 1000 && n_soft > 100000);
	ctw_volume_free(ctx, img);
	ctw_labelmap_free(ctx, lab);
	ctw_ctx_free(ctx);
}

/* The same seed gives identical bytes, another seed different ones; labels do not change. */
static void test_phantom_seed_reproducible(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *a, *b, *c;
	ctw_labelmap *la, *lb, *lc;
	ctw_phantom_truth t;
	size_t bytes, lbytes;

	(void)state;
	make(ctx, CTW_PHANTOM_BIV, 2.0, 20.0, 42, &a, &la, &t);
	make(ctx, CTW_PHANTOM_BIV, 2.0, 20.0, 42, &b, &lb, &t);
	make(ctx, CTW_PHANTOM_BIV, 2.0, 20.0, 43, &c, &lc, &t);
	bytes = (size_t)ctw_volume_count(a) * sizeof(int16_t);
	lbytes = (size_t)ctw_volume_count(a);
	assert_memory_equal(a->data, b->data, bytes);
	assert_true(memcmp(a->data, c->data, bytes) != 0);
	assert_memory_equal(la->grid->data, lb->grid->data, lbytes);
	assert_memory_equal(la->grid->data, lc->grid->data, lbytes);
	ctw_volume_free(ctx, a);
	ctw_volume_free(ctx, b);
	ctw_volume_free(ctx, c);
	ctw_labelmap_free(ctx, la);
	ctw_labelmap_free(ctx, lb);
	ctw_labelmap_free(ctx, lc);
	ctw_ctx_free(ctx);
}

/* image - noiseless image has mean ~0, SD within 5 % of noise_sd and a Gaussian shape. */
static void test_phantom_noise_statistics(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *clean, *noisy;
	ctw_labelmap *l1, *l2;
	ctw_phantom_truth t;
	const double sd = 25.0;
	double s1 = 0.0, s2 = 0.0, mean, var;
	int64_t n, count, within = 0;

	(void)state;
	make(ctx, CTW_PHANTOM_LV, 2.0, 0.0, 7, &clean, &l1, &t);
	make(ctx, CTW_PHANTOM_LV, 2.0, sd, 7, &noisy, &l2, &t);
	count = ctw_volume_count(clean);
	for (n = 0; n < count; n++) {
		double d = ctw_volume_get(noisy, n) - ctw_volume_get(clean, n);
		s1 += d;
		s2 += d * d;
		within += fabs(d) <= sd;
	}
	mean = s1 / (double)count;
	var = s2 / (double)count - mean * mean;
	assert_true(fabs(mean) < 0.2); /* standard error ~0.04 HU */
	assert_true(fabs(sqrt(var) - sd) < 0.05 * sd);
	/* Gaussian: 68.3 % within one SD (the clean image's rounding blurs this a little) */
	assert_true(fabs((double)within / (double)count - 0.6827) < 0.01);
	ctw_volume_free(ctx, clean);
	ctw_volume_free(ctx, noisy);
	ctw_labelmap_free(ctx, l1);
	ctw_labelmap_free(ctx, l2);
	ctw_ctx_free(ctx);
}

/* Along the ray from the RV centre through local +x (the free wall), the RV myocardium is
 * exactly rv_wall thick at the equator and r_epi(z) - r_endo(z) elsewhere; along the endocardial
 * normal it stays within [3, 4] mm everywhere on the free wall. Found by bisection on the label
 * function, through the placement transform. */
static double boundary(const ctw_phantom_truth *t, const double p[3], const double dir[3],
		       double s0, double s1, int inside)
{
	for (int it = 0; it < 60; it++) {
		double m = 0.5 * (s0 + s1), q[3] = { p[0] + m * dir[0], p[1] + m * dir[1],
						     p[2] + m * dir[2] };
		if (label_at_local(t, q) == inside)
			s0 = m;
		else
			s1 = m;
	}
	return 0.5 * (s0 + s1);
}

static double ell_r(double b, double a, double z)
{
	return b * sqrt(1.0 - z * z / (a * a));
}

static void test_phantom_rv_wall_thickness(void **state)
{
	ctw_phantom_opts o = CTW_PHANTOM_OPTS_INIT;
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_phantom_truth t;
	double tmin = INFINITY, tmax = 0.0;
	int measured = 0;

	(void)state;
	o.kind = CTW_PHANTOM_BIV;
	assert_int_equal(ctw_phantom_truth_init(ctx, &o, &t), CTW_OK);
	const double d = t.rv_offset, b = t.rv_endo_b, a = t.rv_endo_a, w = t.rv_wall;
	for (double z = -40.0; z <= 10.0; z += 10.0) {
		double p[3] = { d, 0.0, z }, dir[3] = { 1.0, 0.0, 0.0 };
		double r2 = boundary(&t, p, dir, 1.0, 60.0, CTW_LBL_RV_BLOOD);
		double r3 = boundary(&t, p, dir, r2 + 0.01, 60.0, CTW_LBL_RV_MYO);
		assert_true(fabs(r2 - ell_r(b, a, z)) < 1e-9);
		assert_true(fabs((r3 - r2) - (ell_r(b + w, a + w, z) - ell_r(b, a, z))) < 1e-9);
		if (z == 0.0)
			assert_true(fabs(r3 - r2 - w) < 1e-9);
	}
	/* normal thickness over the free-wall meridian, skipping where the ray leaves through the
	 * base plane or the RV tip is inside the LV */
	for (double phi = -1.5; phi < 0.3; phi += 0.01) {
		double e[3] = { d + b * cos(phi), 0.0, a * sin(phi) };
		double n[3] = { cos(phi) / b, 0.0, sin(phi) / a }, len = hypot(n[0], n[2]), s, q[3];
		n[0] /= len;
		n[2] /= len;
		q[0] = e[0] - 0.01 * n[0];
		q[1] = 0.0;
		q[2] = e[2] - 0.01 * n[2];
		if (label_at_local(&t, q) != CTW_LBL_RV_BLOOD)
			continue;
		s = boundary(&t, e, n, -0.01, 10.0, CTW_LBL_RV_MYO);
		if (e[2] + s * n[2] > t.base_z - 0.5)
			continue;
		tmin = fmin(tmin, s);
		tmax = fmax(tmax, s);
		measured++;
	}
	assert_true(measured > 100);
	if (tmin < 3.0 || tmax > 4.0)
		fail_msg("RV normal wall thickness in [%g, %g] mm", tmin, tmax);
	ctw_ctx_free(ctx);
}

static void test_phantom_bad_opts(void **state)
{
	const double spacing[] = { 0.0, NAN, INFINITY, -1.0, 0.09, 5.01 };
	const double noise[] = { -1.0, NAN, INFINITY };
	ctw_phantom_opts o = CTW_PHANTOM_OPTS_INIT;
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *img = (ctw_volume *)&o;
	ctw_labelmap *lab = (ctw_labelmap *)&o;
	ctw_phantom_truth t;

	(void)state;
	for (size_t i = 0; i < sizeof(spacing) / sizeof(spacing[0]); i++) {
		o.spacing_mm = spacing[i];
		assert_int_equal(ctw_phantom_make(ctx, &o, &img, &lab, &t), CTW_ERR_INVALID);
		assert_null(img);
		assert_null(lab);
		assert_non_null(strstr(ctw_errmsg(ctx), "phantom: spacing"));
	}
	o.spacing_mm = 1.0;
	for (size_t i = 0; i < sizeof(noise) / sizeof(noise[0]); i++) {
		o.noise_sd = noise[i];
		assert_int_equal(ctw_phantom_make(ctx, &o, &img, &lab, &t), CTW_ERR_INVALID);
		assert_non_null(strstr(ctw_errmsg(ctx), "phantom: noise"));
	}
	o.noise_sd = 0.0;
	o.kind = (ctw_phantom_kind)7;
	assert_int_equal(ctw_phantom_truth_init(ctx, &o, &t), CTW_ERR_INVALID);
	/* a grid above the context's voxel limit */
	o.kind = CTW_PHANTOM_LV;
	ctw_ctx_set_max_voxels(ctx, 1000);
	assert_int_equal(ctw_phantom_make(ctx, &o, &img, &lab, &t), CTW_ERR_INVALID);
	assert_null(img);
	ctw_ctx_free(ctx);
}

static int cancel_at_third(void *ud, const char *stage, double fraction)
{
	int *calls = ud;
	assert_string_equal(stage, "phantom");
	assert_true(fraction >= 0.0 && fraction <= 1.0);
	return ++*calls >= 3;
}

static int record_progress(void *ud, const char *stage, double fraction)
{
	double *last = ud;
	(void)stage;
	assert_true(fraction >= *last);
	*last = fraction;
	return 0;
}

/* Cancelling through the progress callback returns CTW_ERR_CANCELLED and frees everything;
 * without cancelling, progress rises to 1. */
static void test_phantom_cancel(void **state)
{
	ctw_phantom_opts o = CTW_PHANTOM_OPTS_INIT;
	fault_alloc f;
	ctw_ctx *ctx = fault_ctx(&f, 0);
	ctw_volume *img;
	ctw_labelmap *lab;
	double last = 0.0;
	int calls = 0;

	(void)state;
	o.spacing_mm = 2.0;
	ctw_ctx_set_progress(ctx, cancel_at_third, &calls);
	assert_int_equal(ctw_phantom_make(ctx, &o, &img, &lab, NULL), CTW_ERR_CANCELLED);
	assert_null(img);
	assert_null(lab);
	assert_int_equal(calls, 3);
	assert_string_equal(ctw_errmsg(ctx), "phantom: cancelled");
	assert_int_equal(f.live, 1); /* the context */
	ctw_ctx_set_progress(ctx, record_progress, &last);
	assert_int_equal(ctw_phantom_make(ctx, &o, &img, &lab, NULL), CTW_OK);
	assert_true(last == 1.0);
	ctw_volume_free(ctx, img);
	ctw_labelmap_free(ctx, lab);
	ctw_ctx_free(ctx);
	assert_int_equal(f.live, 0);
}

/* Failing each allocation in turn gives CTW_ERR_NOMEM, NULL outputs and no leak. */
static void test_phantom_alloc_failures(void **state)
{
	ctw_phantom_opts o = CTW_PHANTOM_OPTS_INIT;
	long n;

	(void)state;
	o.kind = CTW_PHANTOM_BIV;
	o.spacing_mm = 4.0;
	for (n = 2;; n++) { /* allocation 1 is the context itself */
		fault_alloc f;
		ctw_ctx *ctx = fault_ctx(&f, n);
		ctw_volume *img;
		ctw_labelmap *lab;
		int ret;
		assert_non_null(ctx);
		ret = ctw_phantom_make(ctx, &o, &img, &lab, NULL);
		if (ret == CTW_OK) {
			ctw_volume_free(ctx, img);
			ctw_labelmap_free(ctx, lab);
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			break;
		}
		assert_int_equal(ret, CTW_ERR_NOMEM);
		assert_null(img);
		assert_null(lab);
		ctw_ctx_free(ctx);
		assert_int_equal(f.live, 0);
	}
	assert_true(n > 4);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* truth.xml carries every label with its exact volume (round-tripping %.17g). */
static void test_phantom_write_truth(void **state)
{
	ctw_phantom_opts o = CTW_PHANTOM_OPTS_INIT;
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_phantom_truth t;
	char path[] = "/tmp/ctw_truth_XXXXXX";
	char *xml, key[64];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	o.kind = CTW_PHANTOM_BIV;
	o.seed = 18446744073709551615u;
	assert_int_equal(ctw_phantom_truth_init(ctx, &o, &t), CTW_OK);
	assert_int_equal(ctw_phantom_write_truth(ctx, &t, path), CTW_OK);
	xml = slurp(path);
	remove(path);
	assert_non_null(strstr(xml, "<?xml version=\"1.0\""));
	assert_non_null(strstr(xml, "<phantom kind=\"biv\" spacing_mm=\"1\" noise_sd=\"0\" "
				    "seed=\"18446744073709551615\">"));
	assert_non_null(strstr(xml, "<geometry "));
	assert_non_null(strstr(xml, "rv_wall_mm=\"3.5\""));
	assert_non_null(strstr(xml, "</phantom>\n"));
	for (int i = 0; i < t.n_labels; i++) {
		const char *p;
		snprintf(key, sizeof(key), "<label value=\"%d\" name=\"%s\" volume_mm3=\"", t.label[i],
			 t.name[i]);
		p = strstr(xml, key);
		assert_non_null(p);
		assert_true(strtod(p + strlen(key), NULL) == t.volume_mm3[i]);
	}
	free(xml);
	ctw_ctx_free(ctx);
}

static void test_phantom_write_truth_unwritable(void **state)
{
	ctw_phantom_opts o = CTW_PHANTOM_OPTS_INIT;
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_phantom_truth t;

	(void)state;
	assert_int_equal(ctw_phantom_truth_init(ctx, &o, &t), CTW_OK);
	assert_int_equal(ctw_phantom_write_truth(ctx, &t, "/nonexistent/dir/truth.xml"), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), "/nonexistent/dir/truth.xml"));
	if (access("/dev/full", W_OK) == 0) /* a full disk: the error shows at flush or close */
		assert_int_equal(ctw_phantom_write_truth(ctx, &t, "/dev/full"), CTW_ERR_EXTERNAL); /* exit 3 */
	ctw_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phantom_lv_volumes_match_truth),
		cmocka_unit_test(test_phantom_biv_volumes_match_truth),
		cmocka_unit_test(test_phantom_quadrature_matches_closed_form),
		cmocka_unit_test(test_phantom_placement),
		cmocka_unit_test(test_phantom_noiseless_intensities),
		cmocka_unit_test(test_phantom_seed_reproducible),
		cmocka_unit_test(test_phantom_noise_statistics),
		cmocka_unit_test(test_phantom_rv_wall_thickness),
		cmocka_unit_test(test_phantom_bad_opts),
		cmocka_unit_test(test_phantom_cancel),
		cmocka_unit_test(test_phantom_alloc_failures),
		cmocka_unit_test(test_phantom_write_truth),
		cmocka_unit_test(test_phantom_write_truth_unwritable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
