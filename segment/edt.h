/* edt.h: exact Euclidean distance transforms on anisotropic 3D grids (Felzenszwalb and
 * Huttenlocher's separable algorithm, linear in the number of voxels), the building block of
 * surface distances, walls of given thickness and shape-based interpolation. */
#ifndef CTW_EDT_H
#define CTW_EDT_H

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For every voxel of a dim[0] x dim[1] x dim[2] grid (i fastest) with the given spacing (mm),
 * the squared distance in mm^2 to the nearest voxel whose feature[] is non-zero (voxel centres),
 * written to out_sq; INFINITY everywhere when there is none. CTW_ERR_NOMEM, CTW_ERR_CANCELLED
 * (progress "edt"). */
CTW_API int ctw_edt_sq(ctw_ctx *ctx, const int64_t dim[3], const double spacing[3],
		       const uint8_t *feature, float *out_sq);

/* Signed distance (mm) to the boundary of the set {mask != 0}, negative inside: inside voxels
 * get h - (distance to the nearest outside voxel), outside voxels (distance to the nearest
 * inside voxel) - h, with h half the smallest spacing, so the zero level lies between the two
 * layers of voxels. An empty mask gives +INFINITY everywhere, a full one -INFINITY.
 * CTW_ERR_NOMEM, CTW_ERR_CANCELLED. */
CTW_API int ctw_signed_distance(ctw_ctx *ctx, const int64_t dim[3], const double spacing[3],
				const uint8_t *mask, float *out);

#ifdef __cplusplus
}
#endif
#endif
