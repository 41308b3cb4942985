/* test_cleanup.c: the label-map clean-up chain of segment/cleanup.c: isotropic resampling
 * (Gaussian argmax and shape-based) checked in world coordinates, largest component and island
 * reassignment, hole filling, walls from distance maps, separation of touching labels, padding,
 * cancellation and allocation faults. */
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

#include "ctw.h"
#include "fault_alloc.h"
#include "segment.h"

#define PI 3.14159265358979323846

/* ---- helpers ------------------------------------------------------------------------------ */

static ctw_volume *new_map(ctw_ctx *ctx, int64_t nx, int64_t ny, int64_t nz, double sx, double sy,
			   double sz)
{
	const int64_t dim[3] = { nx, ny, nz };
	ctw_volume *v;
	if (ctw_volume_new(ctx, dim, CTW_U8, &v))
		return NULL;
	v->spacing[0] = sx;
	v->spacing[1] = sy;
	v->spacing[2] = sz;
	return v;
}

/* An oblique geometry: rotated by 30 degrees about z and 20 about x, origin off zero. */
static void set_oblique(ctw_volume *v)
{
	const double a = 30.0 * PI / 180.0, b = 20.0 * PI / 180.0;
	const double rz[3][3] = { { cos(a), -sin(a), 0 }, { sin(a), cos(a), 0 }, { 0, 0, 1 } };
	const double rx[3][3] = { { 1, 0, 0 }, { 0, cos(b), -sin(b) }, { 0, sin(b), cos(b) } };
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++) {
			double s = 0;
			for (int t = 0; t < 3; t++)
				s += rz[r][t] * rx[t][c];
			v->direction[r][c] = s;
		}
	v->origin[0] = 10.0;
	v->origin[1] = -20.0;
	v->origin[2] = 5.5;
}

static uint8_t *vox(const ctw_volume *v, int64_t i, int64_t j, int64_t k)
{
	return (uint8_t *)v->data + (k * v->dim[1] + j) * v->dim[0] + i;
}

static void world(const ctw_volume *v, double i, double j, double k, double xyz[3])
{
	const double ijk[3] = { i, j, k };
	ctw_volume_index_to_world(v, ijk, xyz);
}

/* Continuous index of a world point (direction orthonormal). */
static void to_index(const ctw_volume *v, const double xyz[3], double ijk[3])
{
	for (int c = 0; c < 3; c++) {
		double s = 0;
		for (int r = 0; r < 3; r++)
			s += v->direction[r][c] * (xyz[r] - v->origin[r]);
		ijk[c] = s / v->spacing[c];
	}
}

static double dist3(const double a[3], const double b[3])
{
	return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
		    (a[2] - b[2]) * (a[2] - b[2]));
}

static int64_t count_value(const ctw_volume *v, int value)
{
	int64_t n = ctw_volume_count(v), k = 0;
	for (int64_t p = 0; p < n; p++)
		k += ((const uint8_t *)v->data)[p] == value;
	return k;
}

/* Labels every voxel whose centre lies within radius r (mm) of world point c. */
static void paint_ball(ctw_volume *v, const double c[3], double r, int value)
{
	for (int64_t k = 0; k < v->dim[2]; k++)
		for (int64_t j = 0; j < v->dim[1]; j++)
			for (int64_t i = 0; i < v->dim[0]; i++) {
				double x[3];
				world(v, (double)i, (double)j, (double)k, x);
				if (dist3(x, c) <= r)
					*vox(v, i, j, k) = (uint8_t)value;
			}
}

static void paint_box(ctw_volume *v, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k0,
		      int64_t k1, int value)
{
	for (int64_t k = k0; k < k1; k++)
		for (int64_t j = j0; j < j1; j++)
			for (int64_t i = i0; i < i1; i++)
				*vox(v, i, j, k) = (uint8_t)value;
}

/* Volume (mm^3) and world centroid of a label. */
static double label_volume(const ctw_volume *v, int value, double centre[3])
{
	double s[3] = { 0, 0, 0 };
	int64_t n = 0;
	for (int64_t k = 0; k < v->dim[2]; k++)
		for (int64_t j = 0; j < v->dim[1]; j++)
			for (int64_t i = 0; i < v->dim[0]; i++) {
				double x[3];
				if (*vox(v, i, j, k) != value)
					continue;
				world(v, (double)i, (double)j, (double)k, x);
				for (int c = 0; c < 3; c++)
					s[c] += x[c];
				n++;
			}
	for (int c = 0; c < 3; c++)
		centre[c] = n ? s[c] / (double)n : NAN;
	return (double)n * v->spacing[0] * v->spacing[1] * v->spacing[2];
}

/* Whether voxel (i,j,k) and all its in-grid 26-neighbours hold the same value. */
static int interior(const ctw_volume *v, int64_t i, int64_t j, int64_t k)
{
	uint8_t x = *vox(v, i, j, k);
	for (int64_t kk = k - 1; kk <= k + 1; kk++)
		for (int64_t jj = j - 1; jj <= j + 1; jj++)
			for (int64_t ii = i - 1; ii <= i + 1; ii++) {
				if (ii < 0 || jj < 0 || kk < 0 || ii >= v->dim[0] || jj >= v->dim[1] ||
				    kk >= v->dim[2])
					continue;
				if (*vox(v, ii, jj, kk) != x)
					return 0;
			}
	return 1;
}

/* Every output voxel whose centre falls in the interior of a labelled region of the input (its
 * nearest input voxel and all that voxel's 26-neighbours agree) holds that label. Returns the
 * number of voxels checked. */
static int64_t check_world_agreement(const ctw_volume *in, const ctw_volume *out)
{
	int64_t checked = 0;
	for (int64_t k = 0; k < out->dim[2]; k++)
		for (int64_t j = 0; j < out->dim[1]; j++)
			for (int64_t i = 0; i < out->dim[0]; i++) {
				double x[3], q[3];
				int64_t a, b, c;
				world(out, (double)i, (double)j, (double)k, x);
				to_index(in, x, q);
				a = (int64_t)floor(q[0] + 0.5);
				b = (int64_t)floor(q[1] + 0.5);
				c = (int64_t)floor(q[2] + 0.5);
				if (a < 0 || b < 0 || c < 0 || a >= in->dim[0] || b >= in->dim[1] ||
				    c >= in->dim[2] || !interior(in, a, b, c))
					continue;
				if (*vox(out, i, j, k) != *vox(in, a, b, c))
					fail_msg("output (%lld,%lld,%lld) holds %d, input (%lld,%lld,%lld) %d",
						 (long long)i, (long long)j, (long long)k, *vox(out, i, j, k),
						 (long long)a, (long long)b, (long long)c, *vox(in, a, b, c));
				checked++;
			}
	return checked;
}

/* The output grid covers the input's physical extent: the first voxel's corner coincides. */
static void check_grid(const ctw_volume *in, const ctw_volume *out, double iso)
{
	double a[3], b[3];
	for (int c = 0; c < 3; c++) {
		double want = floor((double)in->dim[c] * in->spacing[c] / iso + 0.5);
		assert_int_equal(out->dim[c], want < 1 ? 1 : (int64_t)want);
		assert_true(out->spacing[c] == iso);
		for (int r = 0; r < 3; r++)
			assert_true(out->direction[r][c] == in->direction[r][c]);
	}
	world(in, -0.5, -0.5, -0.5, a);
	world(out, -0.5, -0.5, -0.5, b);
	assert_true(dist3(a, b) < 1e-9);
}

/* ---- resampling ------------------------------------------------------------------------------- */

static void test_cleanup_resample_sphere(void **state)
{
	const double isos[2] = { 0.5, 2.0 };
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *in = new_map(ctx, 28, 28, 28, 1, 1, 1);
	double c[3], vin, cin[3];
	(void)state;

	assert_non_null(in);
	set_oblique(in);
	world(in, 13.7, 14.2, 13.4, c);
	paint_ball(in, c, 10.0, 1);
	vin = label_volume(in, 1, cin);
	for (int m = 0; m < 2; m++) {
		for (int t = 0; t < 2; t++) {
			ctw_volume *out = NULL;
			double vout, cout[3];
			int64_t checked;
			assert_int_equal(ctw_seg_resample_iso(ctx, in, isos[t], (ctw_resample_method)m, 0, &out),
					 CTW_OK);
			check_grid(in, out, isos[t]);
			vout = label_volume(out, 1, cout);
			print_message("sphere %s -> %.1f mm: volume %.0f vs %.0f mm3 (%+.2f%%), centre off %.3f mm\n",
				      m ? "shape" : "gaussian", isos[t], vout, vin, 100.0 * (vout / vin - 1.0),
				      dist3(cout, cin));
			assert_true(fabs(vout / vin - 1.0) < 0.03);
			assert_true(dist3(cout, cin) < 0.25);
			/* interior points by the analytic sphere, and by the input's own voxels */
			for (int64_t k = 0; k < out->dim[2]; k++)
				for (int64_t j = 0; j < out->dim[1]; j++)
					for (int64_t i = 0; i < out->dim[0]; i++) {
						double x[3], d;
						world(out, (double)i, (double)j, (double)k, x);
						d = dist3(x, c);
						if (d < 10.0 - 1.5)
							assert_int_equal(*vox(out, i, j, k), 1);
						else if (d > 10.0 + 1.5)
							assert_int_equal(*vox(out, i, j, k), 0);
					}
			checked = check_world_agreement(in, out);
			assert_true(checked > ctw_volume_count(out) / 2);
			ctw_volume_free(ctx, out);
		}
	}
	ctw_volume_free(ctx, in);
	ctw_ctx_free(ctx);
}

/* An anisotropic oblique grid with two labels: world positions agree after resampling. */
static void test_cleanup_resample_anisotropic_world(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *in = new_map(ctx, 30, 22, 16, 0.8, 1.5, 2.5);
	double c[3], c2[3];
	(void)state;

	assert_non_null(in);
	set_oblique(in);
	world(in, 12.3, 10.1, 7.6, c);
	world(in, 19.0, 11.0, 8.0, c2);
	paint_ball(in, c, 9.0, 1);
	paint_ball(in, c2, 6.0, 4);
	for (int m = 0; m < 2; m++) {
		const double isos[2] = { 0.7, 1.3 };
		for (int t = 0; t < 2; t++) {
			ctw_volume *out = NULL;
			assert_int_equal(ctw_seg_resample_iso(ctx, in, isos[t], (ctw_resample_method)m, 0, &out),
					 CTW_OK);
			check_grid(in, out, isos[t]);
			assert_true(check_world_agreement(in, out) > 1000);
			assert_true(count_value(out, 1) > 0 && count_value(out, 4) > 0);
			ctw_volume_free(ctx, out);
		}
	}
	ctw_volume_free(ctx, in);
	ctw_ctx_free(ctx);
}

/* Shape-based interpolation of a thick-slice cone: the radius changes linearly between slices
 * instead of in steps, and the input voxels keep their labels. */
static void test_cleanup_resample_shape_cone(void **state)
{
	enum { NX = 64, NY = 64, NZ = 12 };
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *in = new_map(ctx, NX, NY, NZ, 1, 1, 8), *out = NULL;
	const double cx = 31.6, cy = 32.3;
	int64_t kept = 0, total = 0;
	double worst = 0;
	(void)state;

	assert_non_null(in);
	in->origin[2] = -40.0;
	for (int k = 0; k < NZ; k++) {
		double r = 26.0 - 2.0 * k;
		for (int j = 0; j < NY; j++)
			for (int i = 0; i < NX; i++)
				if ((i - cx) * (i - cx) + (j - cy) * (j - cy) <= r * r)
					*vox(in, i, j, k) = 1;
	}
	assert_int_equal(ctw_seg_resample_iso(ctx, in, 1.0, CTW_RESAMPLE_SHAPE, 0, &out), CTW_OK);
	check_grid(in, out, 1.0);
	assert_int_equal(out->dim[2], 96);
	/* radius per output slice (from its area) against the linear interpolation of the slices */
	for (int64_t o = 0; o < out->dim[2]; o++) {
		double t = ((double)o - 3.5) / 8.0, area = 0, r, want;
		for (int64_t j = 0; j < NY; j++)
			for (int64_t i = 0; i < NX; i++)
				area += *vox(out, i, j, o) == 1;
		if (t < 0 || t > NZ - 1)
			continue;
		r = sqrt(area / PI);
		want = 26.0 - 2.0 * t;
		if (fabs(r - want) > worst)
			worst = fabs(r - want);
		assert_true(fabs(r - want) < 1.0);
		/* mid-planes: strictly between the neighbouring slices' radii */
		if (o % 8 == 7 || o % 8 == 0) {
			int k0 = (int)floor(t);
			if (t - k0 > 0.3 && t - k0 < 0.7) {
				assert_true(r < 26.0 - 2.0 * k0 - 0.5);
				assert_true(r > 26.0 - 2.0 * (k0 + 1) + 0.5);
			}
		}
	}
	print_message("cone: worst radius error %.3f mm over the slices\n", worst);
	/* each labelled input voxel's centre keeps its label */
	for (int64_t k = 0; k < NZ; k++)
		for (int64_t j = 0; j < NY; j++)
			for (int64_t i = 0; i < NX; i++) {
				double x[3], q[3];
				if (*vox(in, i, j, k) != 1)
					continue;
				world(in, (double)i, (double)j, (double)k, x);
				to_index(out, x, q);
				total++;
				kept += *vox(out, (int64_t)floor(q[0] + 0.5), (int64_t)floor(q[1] + 0.5),
					     (int64_t)floor(q[2] + 0.5)) == 1;
			}
	print_message("cone: %lld of %lld labelled input voxels keep their label\n", (long long)kept,
		      (long long)total);
	assert_true((double)kept >= 0.98 * (double)total);
	ctw_volume_free(ctx, out);
	ctw_volume_free(ctx, in);
	ctw_ctx_free(ctx);
}

/* Gaussian argmax on a ball inside a shell keeps both labels with about their volumes. */
static void test_cleanup_resample_gaussian_nested(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *in = new_map(ctx, 30, 30, 30, 1, 1, 1);
	double c[3] = { 14.6, 15.2, 14.9 }, tmp[3], v1, v2;
	(void)state;

	assert_non_null(in);
	paint_ball(in, c, 10.0, 2);
	paint_ball(in, c, 6.0, 1);
	v1 = label_volume(in, 1, tmp);
	v2 = label_volume(in, 2, tmp);
	for (int t = 0; t < 3; t++) {
		const double iso[3] = { 0.5, 1.0, 1.5 }, sigma[3] = { 0, 0.8, 0 };
		ctw_volume *out = NULL;
		double w1, w2;
		assert_int_equal(ctw_seg_resample_iso(ctx, in, iso[t], CTW_RESAMPLE_GAUSSIAN, sigma[t], &out),
				 CTW_OK);
		w1 = label_volume(out, 1, tmp);
		w2 = label_volume(out, 2, tmp);
		print_message("nested -> %.1f mm: ball %.0f/%.0f, shell %.0f/%.0f mm3\n", iso[t], w1, v1, w2,
			      v2);
		assert_true(fabs(w1 / v1 - 1.0) < 0.06);
		assert_true(fabs(w2 / v2 - 1.0) < 0.06);
		assert_true(check_world_agreement(in, out) > 0);
		ctw_volume_free(ctx, out);
	}
	ctw_volume_free(ctx, in);
	ctw_ctx_free(ctx);
}

static void test_cleanup_resample_args(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *in = new_map(ctx, 4, 4, 4, 1, 1, 1), *out = (ctw_volume *)&out, *w16;
	const int64_t dim[3] = { 4, 4, 4 };
	(void)state;

	assert_int_equal(ctw_seg_resample_iso(ctx, in, 0.0, CTW_RESAMPLE_SHAPE, 0, &out), CTW_ERR_INVALID);
	assert_null(out);
	assert_int_equal(ctw_seg_resample_iso(ctx, in, NAN, CTW_RESAMPLE_SHAPE, 0, &out), CTW_ERR_INVALID);
	assert_int_equal(ctw_seg_resample_iso(ctx, in, 1, (ctw_resample_method)7, 0, &out), CTW_ERR_INVALID);
	assert_int_equal(ctw_seg_resample_iso(ctx, in, 1, CTW_RESAMPLE_GAUSSIAN, -1, &out), CTW_ERR_INVALID);
	assert_int_equal(ctw_volume_new(ctx, dim, CTW_U16, &w16), CTW_OK);
	assert_int_equal(ctw_seg_resample_iso(ctx, w16, 1, CTW_RESAMPLE_GAUSSIAN, 0, &out), CTW_ERR_INVALID);
	assert_non_null(strstr(ctw_errmsg(ctx), "uint8"));
	assert_int_equal(ctw_seg_largest_component(ctx, w16, NULL), CTW_ERR_INVALID);
	ctw_volume_free(ctx, w16);
	/* a single-voxel input and an all-background input */
	*vox(in, 1, 1, 1) = 7;
	assert_int_equal(ctw_seg_resample_iso(ctx, in, 100.0, CTW_RESAMPLE_GAUSSIAN, 0, &out), CTW_OK);
	assert_int_equal(out->dim[0] * out->dim[1] * out->dim[2], 1);
	ctw_volume_free(ctx, out);
	*vox(in, 1, 1, 1) = 0;
	assert_int_equal(ctw_seg_resample_iso(ctx, in, 0.5, CTW_RESAMPLE_SHAPE, 0, &out), CTW_OK);
	assert_int_equal(count_value(out, 0), 512);
	ctw_volume_free(ctx, out);
	memset(in->data, 3, 64);
	assert_int_equal(ctw_seg_resample_iso(ctx, in, 0.5, CTW_RESAMPLE_SHAPE, 0, &out), CTW_OK);
	assert_int_equal(count_value(out, 3), 512);
	ctw_volume_free(ctx, out);
	ctw_volume_free(ctx, in);
	ctw_ctx_free(ctx);
}

/* ---- components and holes ----------------------------------------------------------------------- */

static void test_cleanup_largest_component(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = new_map(ctx, 40, 40, 40, 1, 1, 1), *ref;
	double c[3] = { 12, 20, 20 };
	int64_t changed = -1, n1, n2;
	(void)state;

	assert_non_null(v);
	paint_ball(v, c, 8.0, 1);
	paint_box(v, 26, 38, 10, 30, 10, 30, 2);
	paint_box(v, 31, 33, 19, 21, 19, 21, 1); /* island of 1 inside 2: 8 voxels */
	*vox(v, 3, 3, 3) = 2;                    /* island of 2 in background       */
	paint_box(v, 36, 38, 2, 4, 2, 4, 2);     /* 2x2x2 island of 2 in background...        */
	*vox(v, 37, 4, 4) = 5;                   /* ...touching a lone 5 only diagonally       */
	n1 = count_value(v, 1);
	n2 = count_value(v, 2);
	assert_int_equal(ctw_volume_new(ctx, v->dim, CTW_U8, &ref), CTW_OK);
	memcpy(ref->data, v->data, 64000);
	assert_int_equal(ctw_seg_largest_component(ctx, v, &changed), CTW_OK);
	/* island of 1 -> 2 (8), single 2 -> 0 (1), 2x2x2 block of 2 -> 0 (8); label 5 is its own
	 * largest component */
	assert_int_equal(changed, 17);
	assert_int_equal(count_value(v, 1), n1 - 8);
	assert_int_equal(count_value(v, 2), n2 + 8 - 9);
	assert_int_equal(*vox(v, 31, 19, 19), 2);
	assert_int_equal(*vox(v, 32, 20, 20), 2);
	assert_int_equal(*vox(v, 3, 3, 3), 0);
	assert_int_equal(*vox(v, 36, 2, 2), 0);
	assert_int_equal(*vox(v, 37, 4, 4), 5);
	assert_int_equal(*vox(v, 12, 20, 20), 1);
	/* running again changes nothing */
	assert_int_equal(ctw_seg_largest_component(ctx, v, &changed), CTW_OK);
	assert_int_equal(changed, 0);
	ctw_volume_free(ctx, ref);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

/* An island touching two labels goes, as a whole, to the one with more distinct neighbouring
 * voxels. */
static void test_cleanup_largest_component_vote(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = new_map(ctx, 20, 20, 20, 1, 1, 1);
	int64_t changed;
	(void)state;

	paint_box(v, 0, 10, 0, 20, 0, 20, 1);   /* the big component of 1          */
	paint_box(v, 12, 20, 0, 20, 0, 20, 3);  /* 3 on the other side             */
	paint_box(v, 10, 12, 0, 20, 0, 10, 3);  /* ...reaching the 1 block below   */
	paint_box(v, 10, 12, 0, 20, 10, 20, 0); /* background gap above            */
	paint_box(v, 11, 12, 5, 7, 5, 15, 1);   /* island of 1: 20 voxels, mostly in 3 */
	*vox(v, 11, 15, 15) = 1;                /* 17 background neighbours against 9 of 3     */
	assert_int_equal(ctw_seg_largest_component(ctx, v, &changed), CTW_OK);
	assert_int_equal(changed, 21);
	assert_int_equal(*vox(v, 11, 5, 6), 3);
	assert_int_equal(*vox(v, 11, 5, 14), 3); /* the island voted as one: 3 outnumbers 0 */
	assert_int_equal(*vox(v, 11, 15, 15), 0);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

/* Floods whose front and islands outgrow the initial queue and list (their growth, wrap-around
 * and allocation failures). */
static ctw_volume *big_map(ctw_ctx *ctx)
{
	ctw_volume *v = new_map(ctx, 220, 200, 30, 1, 1, 1);
	if (!v)
		return NULL;
	memset(v->data, 2, 220 * 200 * 30);
	paint_box(v, 0, 220, 0, 200, 0, 2, 0);
	paint_box(v, 10, 30, 10, 30, 5, 10, 1);      /* 2000 voxels of 1...                   */
	paint_box(v, 100, 150, 40, 140, 4, 20, 1);   /* ...and the largest 1                   */
	paint_box(v, 60, 62, 60, 62, 10, 12, 3);     /* the only component of 3: kept        */
	paint_box(v, 70, 72, 60, 61, 10, 11, 0);     /* a hole of 2 voxels                    */
	return v;
}

static void test_cleanup_largest_component_big(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = big_map(ctx);
	int64_t changed, n2;
	long n;
	(void)state;

	n2 = count_value(v, 2);
	assert_int_equal(ctw_seg_largest_component(ctx, v, &changed), CTW_OK);
	assert_int_equal(changed, 2000);
	assert_int_equal(count_value(v, 2), n2 + 2000);
	assert_int_equal(count_value(v, 3), 8);
	assert_int_equal(count_value(v, 1), 50 * 100 * 16);
	assert_int_equal(count_value(v, 0), 220 * 200 * 2 + 2);
	assert_int_equal(ctw_seg_fill_holes(ctx, v, &changed), CTW_OK);
	assert_int_equal(changed, 2);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
	for (n = 1;; n++) {
		fault_alloc f;
		ctw_ctx *fc = fault_ctx(&f, 0);
		int ret;
		assert_non_null(fc);
		v = big_map(fc);
		f.fail_at = f.calls + n;
		ret = ctw_seg_largest_component(fc, v, &changed);
		if (ret == CTW_OK) {
			assert_int_equal(changed, 2000);
			ctw_volume_free(fc, v);
			ctw_ctx_free(fc);
			assert_int_equal(f.live, 0);
			break;
		}
		assert_int_equal(ret, CTW_ERR_NOMEM);
		assert_int_equal(count_value(v, 1), 2000 + 50 * 100 * 16); /* unchanged */
		ctw_volume_free(fc, v);
		ctw_ctx_free(fc);
		assert_int_equal(f.live, 0);
		assert_true(n < 1000);
	}
	print_message("largest component on 220x200x30: %ld allocations, each failure checked\n", n - 1);
}

static void test_cleanup_fill_holes(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = new_map(ctx, 50, 30, 30, 1, 1, 1);
	double c[3] = { 14, 15, 15 };
	int64_t changed = -1, cavity, outside;
	(void)state;

	paint_ball(v, c, 10.0, 2);
	paint_ball(v, c, 5.0, 0);
	cavity = 0;
	for (int64_t k = 0; k < 30; k++)
		for (int64_t j = 0; j < 30; j++)
			for (int64_t i = 0; i < 30; i++) {
				double x[3] = { (double)i, (double)j, (double)k };
				cavity += dist3(x, c) <= 5.0;
			}
	/* a box of label 4 with a cavity opened to the outside by a channel: not a hole */
	paint_box(v, 32, 46, 8, 22, 8, 22, 4);
	paint_box(v, 35, 43, 11, 19, 11, 19, 0);
	paint_box(v, 38, 40, 14, 16, 19, 22, 0);
	/* a one-voxel hole inside label 4's wall */
	*vox(v, 33, 9, 9) = 0;
	outside = count_value(v, 0) - cavity - 1;
	assert_int_equal(ctw_seg_fill_holes(ctx, v, &changed), CTW_OK);
	assert_int_equal(changed, cavity + 1);
	assert_int_equal(*vox(v, 14, 15, 15), 2);
	assert_int_equal(*vox(v, 33, 9, 9), 4);
	assert_int_equal(*vox(v, 39, 15, 15), 0);
	assert_int_equal(count_value(v, 0), outside);
	assert_int_equal(*vox(v, 0, 0, 0), 0);
	assert_int_equal(ctw_seg_fill_holes(ctx, v, &changed), CTW_OK);
	assert_int_equal(changed, 0);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

/* ---- walls ---------------------------------------------------------------------------------------- */

static void test_cleanup_add_wall(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = new_map(ctx, 34, 34, 30, 1.0, 0.9, 1.25), *ref;
	double c[3];
	int64_t changed = -1, n = 34 * 34 * 30, nb = 0, nwall = 0, *bnd;
	(void)state;

	set_oblique(v);
	world(v, 16.2, 17.1, 14.3, c);
	paint_ball(v, c, 10.0, 3);
	paint_box(v, 25, 34, 0, 34, 20, 30, 5); /* another label within reach of the wall */
	assert_int_equal(ctw_volume_new(ctx, v->dim, CTW_U8, &ref), CTW_OK);
	ctw_volume_copy_geometry(ref, v);
	memcpy(ref->data, v->data, (size_t)n);
	assert_int_equal(ctw_seg_add_wall(ctx, v, 3, 4, 3.5, &changed), CTW_OK);
	/* brute force: distance from each voxel to the label-3 voxels on the boundary of the ball */
	bnd = malloc(sizeof(int64_t) * (size_t)n);
	for (int64_t k = 0; k < 30; k++)
		for (int64_t j = 0; j < 34; j++)
			for (int64_t i = 0; i < 34; i++)
				if (*vox(ref, i, j, k) == 3 && !interior(ref, i, j, k))
					bnd[nb++] = (k * 34 + j) * 34 + i;
	for (int64_t k = 0; k < 30; k++)
		for (int64_t j = 0; j < 34; j++)
			for (int64_t i = 0; i < 34; i++) {
				uint8_t was = *vox(ref, i, j, k), now = *vox(v, i, j, k);
				double x[3], d = INFINITY;
				if (was != 0) {
					assert_int_equal(now, was);
					continue;
				}
				world(v, (double)i, (double)j, (double)k, x);
				for (int64_t b = 0; b < nb; b++) {
					double y[3];
					int64_t p = bnd[b];
					world(v, (double)(p % 34), (double)(p / 34 % 34), (double)(p / (34 * 34)), y);
					d = fmin(d, dist3(x, y));
				}
				if (d <= 3.5 - 1e-9)
					assert_int_equal(now, 4);
				else if (d > 3.5 + 1e-9)
					assert_int_equal(now, 0);
				nwall += now == 4;
			}
	assert_int_equal(changed, nwall);
	assert_true(nwall > 1000);
	assert_int_equal(count_value(v, 5), count_value(ref, 5));
	free(bnd);
	assert_int_equal(ctw_seg_add_wall(ctx, v, 3, 4, -1, &changed), CTW_ERR_INVALID);
	assert_int_equal(ctw_seg_add_wall(ctx, v, 0, 4, 1, &changed), CTW_ERR_INVALID);
	assert_int_equal(ctw_seg_add_wall(ctx, v, 3, 256, 1, &changed), CTW_ERR_INVALID);
	ctw_volume_free(ctx, ref);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

/* No voxel of a has a 26-neighbour of b. */
static int contact26(const ctw_volume *v, int a, int b)
{
	for (int64_t k = 0; k < v->dim[2]; k++)
		for (int64_t j = 0; j < v->dim[1]; j++)
			for (int64_t i = 0; i < v->dim[0]; i++) {
				if (*vox(v, i, j, k) != a)
					continue;
				for (int64_t kk = k - 1; kk <= k + 1; kk++)
					for (int64_t jj = j - 1; jj <= j + 1; jj++)
						for (int64_t ii = i - 1; ii <= i + 1; ii++)
							if (ii >= 0 && jj >= 0 && kk >= 0 && ii < v->dim[0] &&
							    jj < v->dim[1] && kk < v->dim[2] && *vox(v, ii, jj, kk) == b)
								return 1;
			}
	return 0;
}

static void test_cleanup_separate(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	(void)state;

	for (int layers = 1; layers <= 2; layers++) {
		ctw_volume *v = new_map(ctx, 20, 12, 12, 1, 1, 1);
		int64_t changed = -1;
		paint_box(v, 0, 10, 0, 12, 0, 12, 1);
		paint_box(v, 10, 20, 0, 12, 0, 12, 3);
		assert_true(contact26(v, 1, 3));
		assert_int_equal(ctw_seg_separate(ctx, v, 1, 3, 2, layers, &changed), CTW_OK);
		assert_int_equal(changed, 144 * layers);
		for (int64_t i = 0; i < 20; i++)
			assert_int_equal(*vox(v, i, 5, 6), i < 10 ? 1 : i < 10 + layers ? 2 : 3);
		assert_false(contact26(v, 1, 3));
		ctw_volume_free(ctx, v);
	}
	/* a staircase interface and an existing wall label elsewhere that must not grow */
	{
		ctw_volume *v = new_map(ctx, 24, 24, 8, 1, 1, 1);
		int64_t changed = -1, want = 0;
		for (int64_t k = 0; k < 8; k++)
			for (int64_t j = 0; j < 24; j++)
				for (int64_t i = 0; i < 24; i++)
					*vox(v, i, j, k) = i + j < 24 ? 1 : 3;
		paint_box(v, 20, 24, 20, 24, 0, 8, 2); /* existing 2, far from 1 */
		for (int64_t k = 0; k < 8; k++)
			for (int64_t j = 0; j < 24; j++)
				for (int64_t i = 0; i < 24; i++)
					want += *vox(v, i, j, k) == 3 && i + j >= 24 && i + j <= 25;
		assert_int_equal(ctw_seg_separate(ctx, v, 1, 3, 2, 1, &changed), CTW_OK);
		assert_int_equal(changed, want);
		assert_false(contact26(v, 1, 3));
		assert_int_equal(*vox(v, 19, 19, 3), 3); /* next to the old 2 block: untouched */
		assert_int_equal(ctw_seg_separate(ctx, v, 1, 3, 2, 0, &changed), CTW_OK);
		assert_int_equal(changed, 0);
		assert_int_equal(ctw_seg_separate(ctx, v, 1, 1, 2, 1, &changed), CTW_ERR_INVALID);
		assert_int_equal(ctw_seg_separate(ctx, v, 1, 3, 3, 1, &changed), CTW_ERR_INVALID);
		ctw_volume_free(ctx, v);
	}
	ctw_ctx_free(ctx);
}

/* ---- padding -------------------------------------------------------------------------------------- */

static void test_cleanup_pad(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = new_map(ctx, 7, 5, 4, 0.7, 1.1, 2.5), *out = NULL;
	(void)state;

	set_oblique(v);
	for (int64_t p = 0; p < 140; p++)
		((uint8_t *)v->data)[p] = (uint8_t)(1 + p % 200);
	assert_int_equal(ctw_seg_pad(ctx, v, 3, &out), CTW_OK);
	assert_int_equal(out->dim[0], 13);
	assert_int_equal(out->dim[1], 11);
	assert_int_equal(out->dim[2], 10);
	for (int64_t k = 0; k < out->dim[2]; k++)
		for (int64_t j = 0; j < out->dim[1]; j++)
			for (int64_t i = 0; i < out->dim[0]; i++) {
				int64_t a = i - 3, b = j - 3, c = k - 3;
				if (a < 0 || b < 0 || c < 0 || a >= 7 || b >= 5 || c >= 4) {
					assert_int_equal(*vox(out, i, j, k), 0);
				} else {
					double x[3], y[3];
					world(out, (double)i, (double)j, (double)k, x);
					world(v, (double)a, (double)b, (double)c, y);
					assert_true(dist3(x, y) < 1e-9);
					assert_int_equal(*vox(out, i, j, k), *vox(v, a, b, c));
				}
			}
	ctw_volume_free(ctx, out);
	assert_int_equal(ctw_seg_pad(ctx, v, 0, &out), CTW_OK);
	assert_memory_equal(out->data, v->data, 140);
	ctw_volume_free(ctx, out);
	assert_int_equal(ctw_seg_pad(ctx, v, -1, &out), CTW_ERR_INVALID);
	assert_null(out);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

/* ---- cancellation and allocation faults ---------------------------------------------------------- */

/* A map exercising every operation: ball of 1 in a shell of 2, island of 1, cavity in 3, 1-3
 * contact. */
static ctw_volume *busy_map(ctw_ctx *ctx)
{
	ctw_volume *v = new_map(ctx, 24, 20, 10, 1, 1, 2);
	double c[3] = { 8, 10, 10 };
	if (!v)
		return NULL;
	paint_ball(v, c, 7.0, 2);
	paint_ball(v, c, 4.0, 1);
	paint_box(v, 16, 23, 2, 18, 1, 9, 3);
	paint_box(v, 18, 20, 8, 10, 4, 6, 0);
	paint_box(v, 15, 16, 8, 12, 3, 7, 1);
	*vox(v, 20, 16, 2) = 1;
	return v;
}

enum { OP_GAUSS, OP_SHAPE, OP_LARGEST, OP_HOLES, OP_WALL, OP_SEPARATE, OP_PAD, N_OPS };
static const char *const op_names[N_OPS] = { "resample gaussian", "resample shape", "largest component",
					     "fill holes", "add wall", "separate", "pad" };

static int run_op(ctw_ctx *ctx, int op, ctw_volume *v, ctw_volume **out)
{
	int64_t changed;
	*out = NULL;
	switch (op) {
	case OP_GAUSS:
		return ctw_seg_resample_iso(ctx, v, 0.6, CTW_RESAMPLE_GAUSSIAN, 0, out);
	case OP_SHAPE:
		return ctw_seg_resample_iso(ctx, v, 0.6, CTW_RESAMPLE_SHAPE, 0, out);
	case OP_LARGEST:
		return ctw_seg_largest_component(ctx, v, &changed);
	case OP_HOLES:
		return ctw_seg_fill_holes(ctx, v, &changed);
	case OP_WALL:
		return ctw_seg_add_wall(ctx, v, 2, 4, 2.0, &changed);
	case OP_SEPARATE:
		return ctw_seg_separate(ctx, v, 1, 3, 2, 2, &changed);
	default:
		return ctw_seg_pad(ctx, v, 2, out);
	}
}

static int count_calls(void *ud, const char *stage, double fraction)
{
	long *calls = ud;
	(void)stage;
	assert_true(fraction >= 0 && fraction <= 1);
	(*calls)++;
	return 0;
}

static int cancel_at(void *ud, const char *stage, double fraction)
{
	long *left = ud;
	(void)stage;
	(void)fraction;
	return --*left <= 0;
}

static void test_cleanup_cancel(void **state)
{
	(void)state;
	for (int op = 0; op < OP_PAD; op++) {
		ctw_ctx *ctx = ctw_ctx_new();
		ctw_volume *v = busy_map(ctx), *out;
		uint8_t before[24 * 20 * 10];
		long calls = 0;

		memcpy(before, v->data, sizeof(before));
		ctw_ctx_set_progress(ctx, count_calls, &calls);
		assert_int_equal(run_op(ctx, op, v, &out), CTW_OK);
		ctw_volume_free(ctx, out);
		assert_true(calls >= 2);
		for (long at = 1; at <= calls; at += calls / 2) {
			long left = at;
			ctw_volume *w = busy_map(ctx);
			ctw_ctx_set_progress(ctx, cancel_at, &left);
			assert_int_equal(run_op(ctx, op, w, &out), CTW_ERR_CANCELLED);
			assert_null(out);
			assert_int_equal(ctw_errcode(ctx), CTW_ERR_CANCELLED);
			assert_memory_equal(w->data, before, sizeof(before)); /* unchanged */
			ctw_volume_free(ctx, w);
		}
		ctw_volume_free(ctx, v);
		ctw_ctx_free(ctx);
	}
}

static void test_cleanup_alloc_faults(void **state)
{
	(void)state;
	for (int op = 0; op < N_OPS; op++) {
		long n;
		for (n = 1;; n++) {
			fault_alloc f;
			ctw_ctx *ctx = fault_ctx(&f, 0);
			ctw_volume *v, *out = (ctw_volume *)&out;
			uint8_t before[24 * 20 * 10];
			int ret;

			assert_non_null(ctx);
			v = busy_map(ctx);
			assert_non_null(v);
			memcpy(before, v->data, sizeof(before));
			f.fail_at = f.calls + n;
			ret = run_op(ctx, op, v, &out);
			if (ret == CTW_OK) {
				ctw_volume_free(ctx, out);
				ctw_volume_free(ctx, v);
				ctw_ctx_free(ctx);
				assert_int_equal(f.live, 0);
				break;
			}
			assert_int_equal(ret, CTW_ERR_NOMEM);
			assert_null(out);
			assert_int_equal(ctw_errcode(ctx), CTW_ERR_NOMEM);
			assert_memory_equal(v->data, before, sizeof(before));
			ctw_volume_free(ctx, v);
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			assert_true(n < 1000);
		}
		print_message("%s: %ld allocations, each failure checked\n", op_names[op], n - 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cleanup_resample_sphere),
		cmocka_unit_test(test_cleanup_resample_anisotropic_world),
		cmocka_unit_test(test_cleanup_resample_shape_cone),
		cmocka_unit_test(test_cleanup_resample_gaussian_nested),
		cmocka_unit_test(test_cleanup_resample_args),
		cmocka_unit_test(test_cleanup_largest_component),
		cmocka_unit_test(test_cleanup_largest_component_vote),
		cmocka_unit_test(test_cleanup_largest_component_big),
		cmocka_unit_test(test_cleanup_fill_holes),
		cmocka_unit_test(test_cleanup_add_wall),
		cmocka_unit_test(test_cleanup_separate),
		cmocka_unit_test(test_cleanup_pad),
		cmocka_unit_test(test_cleanup_cancel),
		cmocka_unit_test(test_cleanup_alloc_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
