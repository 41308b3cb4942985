/* edt.c: exact Euclidean distance transforms (Felzenszwalb & Huttenlocher, "Distance Transforms
 * of Sampled Functions", 2012): a 1D lower envelope of parabolas per line, along each axis in
 * turn, with the axis spacing folded into the sample positions. */
#include "edt.h"

#include <math.h>
#include <string.h>

/* 1D squared distance transform of f[0..n) sampled at k*h, in place through the scratch
 * arrays v (int, n), z (double, n+1) and d (double, n). */
static void edt_1d(double *f, int64_t n, double h, int64_t *v, double *z, double *d)
{
	int64_t k = 0, q;

	/* skip leading samples at infinity: they cannot be parabola vertices */
	for (q = 0; q < n && isinf(f[q]); q++)
		;
	if (q == n)
		return;
	v[0] = q;
	z[0] = -INFINITY;
	z[1] = INFINITY;
	for (q = q + 1; q < n; q++) {
		double s;
		if (isinf(f[q]))
			continue;
		for (;;) {
			double xq = q * h, xv = v[k] * h;
			s = ((f[q] + xq * xq) - (f[v[k]] + xv * xv)) / (2.0 * (xq - xv));
			if (s > z[k] || k == 0)
				break;
			k--;
		}
		if (s <= z[k]) { /* k == 0 and the new parabola dominates everywhere */
			v[0] = q;
			z[0] = -INFINITY;
			z[1] = INFINITY;
			continue;
		}
		k++;
		v[k] = q;
		z[k] = s;
		z[k + 1] = INFINITY;
	}
	k = 0;
	for (q = 0; q < n; q++) {
		double x = q * h, dx;
		while (z[k + 1] < x)
			k++;
		dx = x - v[k] * h;
		d[q] = dx * dx + f[v[k]];
	}
	memcpy(f, d, sizeof(double) * (size_t)n);
}

int ctw_edt_sq(ctw_ctx *ctx, const int64_t dim[3], const double spacing[3], const uint8_t *feature,
	       float *out)
{
	const int64_t nx = dim[0], ny = dim[1], nz = dim[2], nmax = nx > ny ? (nx > nz ? nx : nz) : (ny > nz ? ny : nz);
	int64_t stride[3] = { 1, nx, nx * ny }, n = nx * ny * nz, i;
	double *f = ctw_malloc(ctx, sizeof(double) * (size_t)nmax), *z = ctw_malloc(ctx, sizeof(double) * (size_t)(nmax + 1)),
	       *d = ctw_malloc(ctx, sizeof(double) * (size_t)nmax);
	int64_t *v = ctw_malloc(ctx, sizeof(int64_t) * (size_t)nmax);
	int ret = CTW_OK, axis;

	if (!f || !z || !d || !v) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		out[i] = feature[i] ? 0.0f : INFINITY;
	for (axis = 0; axis < 3; axis++) {
		const int64_t len = dim[axis], st = stride[axis];
		const int64_t a1 = axis == 0 ? 1 : 0, a2 = axis == 2 ? 1 : 2; /* the other two axes */
		for (int64_t p = 0; p < dim[a2]; p++) {
			for (int64_t q = 0; q < dim[a1]; q++) {
				int64_t base = p * stride[a2] + q * stride[a1];
				int any = 0;
				for (int64_t k = 0; k < len; k++) {
					f[k] = out[base + k * st];
					any |= !isinf(f[k]);
				}
				if (!any)
					continue;
				edt_1d(f, len, spacing[axis], v, z, d);
				for (int64_t k = 0; k < len; k++)
					out[base + k * st] = (float)f[k];
			}
			if (ctw_progress(ctx, "edt", (double)(axis * dim[a2] + p + 1), 3.0 * (double)dim[a2])) {
				ret = ctw_error(ctx, CTW_ERR_CANCELLED, "edt", "cancelled");
				goto out;
			}
		}
	}
out:
	ctw_free(ctx, f);
	ctw_free(ctx, z);
	ctw_free(ctx, d);
	ctw_free(ctx, v);
	return ret;
}

int ctw_signed_distance(ctw_ctx *ctx, const int64_t dim[3], const double spacing[3], const uint8_t *mask,
			float *out)
{
	const int64_t n = dim[0] * dim[1] * dim[2];
	double h = fmin(spacing[0], fmin(spacing[1], spacing[2])) * 0.5;
	uint8_t *inv = ctw_malloc(ctx, (size_t)n);
	float *tmp = ctw_malloc(ctx, sizeof(float) * (size_t)n);
	int ret;

	if (!inv || !tmp) {
		ctw_free(ctx, inv);
		ctw_free(ctx, tmp);
		return CTW_ERR_NOMEM;
	}
	for (int64_t i = 0; i < n; i++)
		inv[i] = !mask[i];
	ret = ctw_edt_sq(ctx, dim, spacing, mask, out);  /* to the nearest inside voxel  */
	if (!ret)
		ret = ctw_edt_sq(ctx, dim, spacing, inv, tmp); /* to the nearest outside voxel */
	if (!ret)
		for (int64_t i = 0; i < n; i++)
			out[i] = mask[i] ? (isinf(tmp[i]) ? -INFINITY : (float)(h - sqrt(tmp[i])))
					 : (isinf(out[i]) ? INFINITY : (float)(sqrt(out[i]) - h));
	ctw_free(ctx, inv);
	ctw_free(ctx, tmp);
	return ret;
}
