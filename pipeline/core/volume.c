/* volume.c: ctw_volume, a 3D grid of voxels with its LPS geometry. */
#include "ctw.h"

#include <math.h>
#include <string.h>

size_t ctw_dtype_size(ctw_dtype t)
{
	switch (t) {
	case CTW_U8:
		return 1;
	case CTW_I16:
	case CTW_U16:
		return 2;
	case CTW_I32:
	case CTW_F32:
		return 4;
	}
	return 0;
}

const char *ctw_dtype_name(ctw_dtype t)
{
	switch (t) {
	case CTW_U8:
		return "uint8";
	case CTW_I16:
		return "int16";
	case CTW_U16:
		return "uint16";
	case CTW_I32:
		return "int32";
	case CTW_F32:
		return "float32";
	}
	return "unknown";
}

int ctw_volume_new(ctw_ctx *ctx, const int64_t dim[3], ctw_dtype dtype, ctw_volume **out)
{
	ctw_volume *v;
	int64_t n = 1;
	int i;

	*out = NULL;
	if (!ctw_dtype_size(dtype))
		return ctw_error(ctx, CTW_ERR_INVALID, "volume", "unknown voxel type %d", (int)dtype);
	for (i = 0; i < 3; i++) {
		if (dim[i] < 1)
			return ctw_error(ctx, CTW_ERR_INVALID, "volume",
					 "dimension %d is %lld; must be at least 1", i, (long long)dim[i]);
		if (dim[i] > ctw_ctx_max_voxels(ctx) / n)
			return ctw_error(ctx, CTW_ERR_INVALID, "volume",
					 "%lld x %lld x %lld voxels exceed the limit of %lld",
					 (long long)dim[0], (long long)dim[1], (long long)dim[2],
					 (long long)ctw_ctx_max_voxels(ctx));
		n *= dim[i];
	}
	v = ctw_calloc(ctx, 1, sizeof(*v));
	if (!v)
		return CTW_ERR_NOMEM;
	v->data = ctw_calloc(ctx, (size_t)n, ctw_dtype_size(dtype));
	if (!v->data) {
		ctw_free(ctx, v);
		return CTW_ERR_NOMEM;
	}
	memcpy(v->dim, dim, sizeof(v->dim));
	v->dtype = dtype;
	for (i = 0; i < 3; i++) {
		v->spacing[i] = 1.0;
		v->direction[i][i] = 1.0;
	}
	*out = v;
	return CTW_OK;
}

void ctw_volume_free(ctw_ctx *ctx, ctw_volume *v)
{
	if (!v)
		return;
	ctw_free(ctx, v->data);
	ctw_free(ctx, v);
}

int64_t ctw_volume_count(const ctw_volume *v)
{
	return v->dim[0] * v->dim[1] * v->dim[2];
}

void ctw_volume_copy_geometry(ctw_volume *dst, const ctw_volume *src)
{
	memcpy(dst->spacing, src->spacing, sizeof(dst->spacing));
	memcpy(dst->origin, src->origin, sizeof(dst->origin));
	memcpy(dst->direction, src->direction, sizeof(dst->direction));
}

void ctw_volume_ijk_to_world(const ctw_volume *v, double m[4][4])
{
	int r, c;

	for (r = 0; r < 3; r++) {
		for (c = 0; c < 3; c++)
			m[r][c] = v->direction[r][c] * v->spacing[c];
		m[r][3] = v->origin[r];
		m[3][r] = 0.0;
	}
	m[3][3] = 1.0;
}

void ctw_volume_index_to_world(const ctw_volume *v, const double ijk[3], double xyz[3])
{
	int r, c;

	for (r = 0; r < 3; r++) {
		xyz[r] = v->origin[r];
		for (c = 0; c < 3; c++)
			xyz[r] += v->direction[r][c] * v->spacing[c] * ijk[c];
	}
}

int ctw_volume_world_to_index(const ctw_volume *v, const double xyz[3], double ijk[3])
{
	double m[3][3], d[3], det;
	int r, c;

	for (r = 0; r < 3; r++) {
		for (c = 0; c < 3; c++)
			m[r][c] = v->direction[r][c] * v->spacing[c];
		d[r] = xyz[r] - v->origin[r];
	}
	det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
	      m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
	if (det == 0.0 || !isfinite(det))
		return 0;
	/* Cramer's rule: ijk[c] = det(m with column c replaced by d) / det */
	for (c = 0; c < 3; c++) {
		double t[3][3];
		memcpy(t, m, sizeof(t));
		for (r = 0; r < 3; r++)
			t[r][c] = d[r];
		ijk[c] = (t[0][0] * (t[1][1] * t[2][2] - t[1][2] * t[2][1]) - t[0][1] * (t[1][0] * t[2][2] - t[1][2] * t[2][0]) +
			  t[0][2] * (t[1][0] * t[2][1] - t[1][1] * t[2][0])) /
			 det;
	}
	return 1;
}

int ctw_check_geometry(ctw_ctx *ctx, const char *what, const ctw_volume *v)
{
	int i, j, r;

	for (i = 0; i < 3; i++) {
		if (!isfinite(v->spacing[i]) || v->spacing[i] <= 0.0)
			return ctw_error(ctx, CTW_ERR_FORMAT, what,
					 "voxel spacing along axis %d is %g; must be finite and > 0", i,
					 v->spacing[i]);
		if (!isfinite(v->origin[i]))
			return ctw_error(ctx, CTW_ERR_FORMAT, what, "origin is not finite");
	}
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++) {
			double d = 0.0;
			for (r = 0; r < 3; r++)
				d += v->direction[r][i] * v->direction[r][j];
			if (!isfinite(d) || fabs(d - (i == j)) > 1e-3)
				return ctw_error(ctx, CTW_ERR_FORMAT, what,
						 "direction matrix is not orthonormal (axes %d and %d)", i, j);
		}
	}
	return CTW_OK;
}

double ctw_volume_get(const ctw_volume *v, int64_t n)
{
	switch (v->dtype) {
	case CTW_U8:
		return ((const uint8_t *)v->data)[n];
	case CTW_I16:
		return ((const int16_t *)v->data)[n];
	case CTW_U16:
		return ((const uint16_t *)v->data)[n];
	case CTW_I32:
		return ((const int32_t *)v->data)[n];
	case CTW_F32:
		return ((const float *)v->data)[n];
	}
	return 0.0;
}

static double clamp_round(double x, double lo, double hi)
{
	if (x != x)
		return 0.0;
	x = floor(x + 0.5);
	return x < lo ? lo : x > hi ? hi : x;
}

void ctw_volume_set(ctw_volume *v, int64_t n, double x)
{
	switch (v->dtype) {
	case CTW_U8:
		((uint8_t *)v->data)[n] = (uint8_t)clamp_round(x, 0, UINT8_MAX);
		break;
	case CTW_I16:
		((int16_t *)v->data)[n] = (int16_t)clamp_round(x, INT16_MIN, INT16_MAX);
		break;
	case CTW_U16:
		((uint16_t *)v->data)[n] = (uint16_t)clamp_round(x, 0, UINT16_MAX);
		break;
	case CTW_I32:
		((int32_t *)v->data)[n] = (int32_t)clamp_round(x, INT32_MIN, INT32_MAX);
		break;
	case CTW_F32:
		((float *)v->data)[n] = (float)x;
		break;
	}
}

int ctw_volume_convert(ctw_ctx *ctx, const ctw_volume *in, ctw_dtype dtype, ctw_volume **out)
{
	ctw_volume *v;
	int64_t n, count = ctw_volume_count(in);
	int ret;

	*out = NULL;
	ret = ctw_volume_new(ctx, in->dim, dtype, &v);
	if (ret)
		return ret;
	ctw_volume_copy_geometry(v, in);
	if (dtype == in->dtype)
		memcpy(v->data, in->data, (size_t)count * ctw_dtype_size(dtype));
	else
		for (n = 0; n < count; n++)
			ctw_volume_set(v, n, ctw_volume_get(in, n));
	*out = v;
	return CTW_OK;
}

void ctw_volume_orientation(const ctw_volume *v, char out[4])
{
	static const char pos[3] = { 'L', 'P', 'S' }, neg[3] = { 'R', 'A', 'I' };
	int used[3] = { 0, 0, 0 };
	int c, r;

	/* Greedy: the axis with the largest cosine first, so oblique grids still get 3 distinct
	 * letters. */
	for (c = 0; c < 3; c++)
		out[c] = '?';
	out[3] = '\0';
	for (int pass = 0; pass < 3; pass++) {
		double best = -1.0;
		int bc = -1, br = -1;
		for (c = 0; c < 3; c++) {
			if (out[c] != '?')
				continue;
			for (r = 0; r < 3; r++) {
				if (!used[r] && fabs(v->direction[r][c]) > best) {
					best = fabs(v->direction[r][c]);
					bc = c;
					br = r;
				}
			}
		}
		if (bc < 0)
			break;
		used[br] = 1;
		out[bc] = v->direction[br][bc] >= 0 ? pos[br] : neg[br];
	}
}
