/* metrics.c: evaluation of a test label map against a reference (specs/segmentation.md §4.1):
 * Dice, Jaccard and volumes per label, and medpy's surface distances (HD, HD95, ASSD) from two
 * exact Euclidean distance transforms per label (edt.h). */
#include "segment.h"

#include "edt.h"

#include <math.h>
#include <stdlib.h>

/* Bits of the per-voxel code array: membership of ref and test, and their surfaces. */
enum { IN_REF = 1, IN_TEST = 2, SURF_REF = 4, SURF_TEST = 8 };

static int check_grids(ctw_ctx *ctx, const ctw_volume *ref, const ctw_volume *test)
{
	const int64_t *r = ref->dim, *t = test->dim;
	int i;

	for (i = 0; i < 3; i++)
		if (r[i] != t[i])
			return ctw_error(ctx, CTW_ERR_INVALID, "evaluate",
					 "grids differ: ref is %lldx%lldx%lld voxels, test %lldx%lldx%lld",
					 (long long)r[0], (long long)r[1], (long long)r[2], (long long)t[0],
					 (long long)t[1], (long long)t[2]);
	for (i = 0; i < 3; i++) {
		double a = ref->spacing[i], b = test->spacing[i];
		if (!isfinite(a) || a <= 0.0 || !isfinite(b) || b <= 0.0)
			return ctw_error(ctx, CTW_ERR_INVALID, "evaluate",
					 "voxel spacing along axis %d is %g (ref) and %g (test); must be "
					 "finite and > 0", i, a, b);
		if (fabs(a - b) > 1e-6 * fmax(a, b))
			return ctw_error(ctx, CTW_ERR_INVALID, "evaluate",
					 "grids differ: ref spacing is %g x %g x %g mm, test %g x %g x %g mm",
					 ref->spacing[0], ref->spacing[1], ref->spacing[2], test->spacing[0],
					 test->spacing[1], test->spacing[2]);
	}
	return CTW_OK;
}

/* ORs bit into code[i] for every voxel of v equal to label, typed loops for the integer types. */
static void mark_label(const ctw_volume *v, int label, uint8_t bit, uint8_t *code, int64_t n)
{
	int64_t i;

	switch (v->dtype) {
	case CTW_U8: {
		const uint8_t *p = v->data;
		if (label < 0 || label > UINT8_MAX)
			return;
		for (i = 0; i < n; i++)
			code[i] |= (uint8_t)(p[i] == label ? bit : 0);
		return;
	}
	case CTW_U16: {
		const uint16_t *p = v->data;
		if (label < 0 || label > UINT16_MAX)
			return;
		for (i = 0; i < n; i++)
			code[i] |= (uint8_t)(p[i] == label ? bit : 0);
		return;
	}
	case CTW_I16: {
		const int16_t *p = v->data;
		if (label < INT16_MIN || label > INT16_MAX)
			return;
		for (i = 0; i < n; i++)
			code[i] |= (uint8_t)(p[i] == label ? bit : 0);
		return;
	}
	case CTW_I32: {
		const int32_t *p = v->data;
		for (i = 0; i < n; i++)
			code[i] |= (uint8_t)(p[i] == label ? bit : 0);
		return;
	}
	case CTW_F32:
		break;
	}
	for (i = 0; i < n; i++)
		code[i] |= (uint8_t)(ctw_volume_get(v, i) == (double)label ? bit : 0);
}

/* Sets SURF_REF/SURF_TEST on the voxels of each mask that have a 6-neighbour outside it (or
 * outside the volume): the mask minus its erosion by the 6-neighbourhood cross, with
 * background beyond the border (scipy's binary_erosion, border_value 0, as medpy uses it).
 * Counts the surface voxels of each. */
static void mark_surfaces(const int64_t dim[3], uint8_t *code, int64_t *n_sref, int64_t *n_stest)
{
	const int64_t nx = dim[0], ny = dim[1], nz = dim[2], sy = nx, sz = nx * ny;
	int64_t i, j, k, a = 0, b = 0;

	for (k = 0; k < nz; k++)
		for (j = 0; j < ny; j++) {
			uint8_t *row = code + k * sz + j * sy;
			for (i = 0; i < nx; i++) {
				uint8_t c = row[i], nb, s;
				if (!(c & (IN_REF | IN_TEST)))
					continue;
				/* the masks every 6-neighbour belongs to; 0 beyond the border */
				nb = IN_REF | IN_TEST;
				nb &= i > 0 ? row[i - 1] : 0;
				nb &= i < nx - 1 ? row[i + 1] : 0;
				nb &= j > 0 ? row[i - sy] : 0;
				nb &= j < ny - 1 ? row[i + sy] : 0;
				nb &= k > 0 ? row[i - sz] : 0;
				nb &= k < nz - 1 ? row[i + sz] : 0;
				s = (uint8_t)(c & ~nb & (IN_REF | IN_TEST));
				row[i] = (uint8_t)(c | s << 2);
				a += (s & IN_REF) != 0;
				b += (s & IN_TEST) != 0;
			}
		}
	*n_sref = a;
	*n_stest = b;
}

/* Distances (mm) from the voxels with bit `from` to the nearest voxel with bit `to`, appended to
 * d[0..): one EDT of the `to` surface over the whole grid. *sum receives their sum and *max
 * their maximum. */
static int directed(ctw_ctx *ctx, const ctw_volume *g, const uint8_t *code, uint8_t from, uint8_t to,
		    uint8_t *feature, float *dist, double *d, double *sum, double *max)
{
	const int64_t n = ctw_volume_count(g);
	double s = 0.0, m = 0.0;
	int64_t i, k = 0;
	int ret;

	for (i = 0; i < n; i++)
		feature[i] = (code[i] & to) != 0;
	ret = ctw_edt_sq(ctx, g->dim, g->spacing, feature, dist);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		double x;
		if (!(code[i] & from))
			continue;
		x = sqrt((double)dist[i]);
		d[k++] = x;
		s += x;
		if (x > m)
			m = x;
	}
	*sum = s;
	*max = m;
	return CTW_OK;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The q-th quantile of d[0..n) (n > 0, sorted here) as numpy.percentile's default 'linear'
 * method computes it: index (n-1)*q, then numpy's _lerp between its floor and the next one. */
static double quantile_linear(double *d, int64_t n, double q)
{
	double v = (double)(n - 1) * q, t, a, b, diff;
	int64_t lo;

	qsort(d, (size_t)n, sizeof(*d), cmp_double);
	lo = (int64_t)floor(v);
	if (lo >= n - 1)
		return d[n - 1];
	t = v - (double)lo;
	a = d[lo];
	b = d[lo + 1];
	diff = b - a;
	return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

int ctw_evaluate(ctw_ctx *ctx, const ctw_volume *ref, const ctw_volume *test, const int *labels, int n,
		 ctw_label_metrics *out)
{
	uint8_t *code = NULL, *feature = NULL;
	float *dist = NULL;
	double *d = NULL, voxel_ml;
	int64_t count, i;
	int ret, l;

	if (!ref || !test || n < 0 || (n > 0 && (!labels || !out)))
		return ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "missing volume, labels or output");
	ret = check_grids(ctx, ref, test);
	if (ret)
		return ret;
	if (n == 0)
		return CTW_OK;
	count = ctw_volume_count(ref);
	voxel_ml = ref->spacing[0] * ref->spacing[1] * ref->spacing[2] / 1000.0;
	code = ctw_malloc(ctx, (size_t)count);
	feature = ctw_malloc(ctx, (size_t)count);
	dist = ctw_malloc(ctx, sizeof(float) * (size_t)count);
	if (!code || !feature || !dist) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (l = 0; l < n; l++) {
		ctw_label_metrics *m = &out[l];
		int64_t n_ref = 0, n_test = 0, n_both = 0, n_sref, n_stest;
		double sum_rt, sum_tr, max_rt, max_tr;

		if (ctw_progress(ctx, "evaluate", l, n)) {
			ret = ctw_error(ctx, CTW_ERR_CANCELLED, "evaluate", "cancelled");
			goto out;
		}
		for (i = 0; i < count; i++)
			code[i] = 0;
		mark_label(ref, labels[l], IN_REF, code, count);
		mark_label(test, labels[l], IN_TEST, code, count);
		for (i = 0; i < count; i++) {
			n_ref += code[i] & IN_REF;
			n_test += (code[i] & IN_TEST) >> 1;
			n_both += (code[i] & (IN_REF | IN_TEST)) == (IN_REF | IN_TEST);
		}
		m->label = labels[l];
		m->n_ref = n_ref;
		m->n_test = n_test;
		if (n_ref + n_test == 0) {
			m->dice = 1.0;
			m->jaccard = 1.0;
		} else {
			m->dice = 2.0 * (double)n_both / (double)(n_ref + n_test);
			m->jaccard = (double)n_both / (double)(n_ref + n_test - n_both);
		}
		m->vol_ref_ml = (double)n_ref * voxel_ml;
		m->vol_test_ml = (double)n_test * voxel_ml;
		m->vol_diff_ml = m->vol_test_ml - m->vol_ref_ml;
		m->hd = m->hd95 = m->assd = NAN;
		if (n_ref == 0 || n_test == 0)
			continue;

		/* a non-empty mask always has surface voxels, so both counts are > 0 here */
		mark_surfaces(ref->dim, code, &n_sref, &n_stest);
		d = ctw_malloc(ctx, sizeof(double) * (size_t)(n_sref + n_stest));
		if (!d) {
			ret = CTW_ERR_NOMEM;
			goto out;
		}
		ret = directed(ctx, ref, code, SURF_REF, SURF_TEST, feature, dist, d, &sum_rt, &max_rt);
		if (!ret)
			ret = directed(ctx, ref, code, SURF_TEST, SURF_REF, feature, dist, d + n_sref,
				       &sum_tr, &max_tr);
		if (ret)
			goto out;
		m->hd = fmax(max_rt, max_tr);
		m->assd = 0.5 * (sum_rt / (double)n_sref + sum_tr / (double)n_stest);
		m->hd95 = quantile_linear(d, n_sref + n_stest, 0.95);
		ctw_free(ctx, d);
		d = NULL;
	}
	if (ctw_progress(ctx, "evaluate", n, n))
		ret = ctw_error(ctx, CTW_ERR_CANCELLED, "evaluate", "cancelled");
out:
	ctw_free(ctx, code);
	ctw_free(ctx, feature);
	ctw_free(ctx, dist);
	ctw_free(ctx, d);
	return ret;
}
