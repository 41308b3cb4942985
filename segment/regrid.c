/* regrid.c: label maps on other grids than their image: comparison of grids and nearest-
 * neighbour resampling in world coordinates (a label map from nnU-Net or a viewer often has
 * another crop, spacing or orientation than the image it belongs to). */
#include "segment.h"

#include <math.h>
#include <string.h>

int ctw_same_grid(const ctw_volume *a, const ctw_volume *b, double tol)
{
	for (int c = 0; c < 3; c++) {
		if (a->dim[c] != b->dim[c] || fabs(a->spacing[c] - b->spacing[c]) > tol ||
		    fabs(a->origin[c] - b->origin[c]) > tol)
			return 0;
		for (int r = 0; r < 3; r++)
			if (fabs(a->direction[r][c] - b->direction[r][c]) > tol)
				return 0;
	}
	return 1;
}

/* The inverse of the 3x3 matrix m (direction times spacing); 0 when singular. */
static int invert3(double m[3][3], double inv[3][3])
{
	double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
		     m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
		     m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
	if (fabs(det) < 1e-12)
		return 0;
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++) {
			int r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3;
			inv[r][c] = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
		}
	return 1;
}

/* World point -> continuous index of v, through inv = (direction * spacing)^-1. */
static void to_index(const ctw_volume *v, double inv[3][3], const double p[3], double ijk[3])
{
	double d[3] = { p[0] - v->origin[0], p[1] - v->origin[1], p[2] - v->origin[2] };
	for (int r = 0; r < 3; r++)
		ijk[r] = inv[r][0] * d[0] + inv[r][1] * d[1] + inv[r][2] * d[2];
}

static void affine_of(const ctw_volume *v, double m[3][3])
{
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			m[r][c] = v->direction[r][c] * v->spacing[c];
}

int ctw_seg_resample_to(ctw_ctx *ctx, const char *what, const ctw_volume *lab, const ctw_volume *like,
			ctw_volume **out, int64_t *lost)
{
	double m_lab[3][3], inv_lab[3][3], m_like[3][3], inv_like[3][3];
	ctw_volume *v;
	int64_t i, j, k, n_lab = 0, n_out = 0;
	int ret;

	*out = NULL;
	*lost = 0;
	affine_of(lab, m_lab);
	affine_of(like, m_like);
	if (!invert3(m_lab, inv_lab) || !invert3(m_like, inv_like))
		return ctw_error(ctx, CTW_ERR_FORMAT, what, "degenerate grid (singular direction or spacing)");
	if ((ret = ctw_volume_new(ctx, like->dim, CTW_U8, &v)))
		return ret;
	ctw_volume_copy_geometry(v, like);
	for (k = 0; k < like->dim[2]; k++) {
		for (j = 0; j < like->dim[1]; j++)
			for (i = 0; i < like->dim[0]; i++) {
				double ijk[3] = { (double)i, (double)j, (double)k }, p[3], q[3];
				int64_t a, b, c;
				ctw_volume_index_to_world(like, ijk, p);
				to_index(lab, inv_lab, p, q);
				a = (int64_t)floor(q[0] + 0.5);
				b = (int64_t)floor(q[1] + 0.5);
				c = (int64_t)floor(q[2] + 0.5);
				if (a < 0 || b < 0 || c < 0 || a >= lab->dim[0] || b >= lab->dim[1] || c >= lab->dim[2])
					continue;
				double x = ctw_volume_get(lab, a + lab->dim[0] * (b + lab->dim[1] * c));
				((uint8_t *)v->data)[i + like->dim[0] * (j + like->dim[1] * k)] = (uint8_t)x;
				n_out += x != 0;
			}
		if (ctw_progress(ctx, "regrid", (double)k + 1, (double)like->dim[2])) {
			ctw_volume_free(ctx, v);
			return ctw_error(ctx, CTW_ERR_CANCELLED, "regrid", "cancelled");
		}
	}
	/* labelled voxels of lab whose centres fall outside like's grid */
	for (k = 0; k < lab->dim[2]; k++)
		for (j = 0; j < lab->dim[1]; j++)
			for (i = 0; i < lab->dim[0]; i++) {
				double ijk[3] = { (double)i, (double)j, (double)k }, p[3], q[3];
				if (ctw_volume_get(lab, i + lab->dim[0] * (j + lab->dim[1] * k)) == 0)
					continue;
				n_lab++;
				ctw_volume_index_to_world(lab, ijk, p);
				to_index(like, inv_like, p, q);
				for (int c = 0; c < 3; c++)
					if (q[c] < -0.5 || q[c] >= like->dim[c] - 0.5) {
						(*lost)++;
						break;
					}
			}
	if (n_lab > 0 && n_out == 0) {
		ctw_volume_free(ctx, v);
		return ctw_error(ctx, CTW_ERR_FORMAT, what,
				 "the label map does not overlap the image: none of its %lld labelled voxels "
				 "lies inside the image's field of view (check both files' geometry)",
				 (long long)n_lab);
	}
	*out = v;
	return CTW_OK;
}
