/* voxelcheck.h: checks on label-map voxels that both the segment stage (before it hands a map
 * on) and the mesh stage (before it meshes one) run, so segment never writes a map mesh refuses:
 * the labelled extent of a 3-D heart, and the myocardium's voxel topology (walls one voxel thin,
 * parts touching only along an edge or at a corner). Pure C, bottom floor. */
#ifndef CTW_VOXELCHECK_H
#define CTW_VOXELCHECK_H

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A heart spans at least this many voxels along every axis of its labelled bounding box. */
#define CTW_MIN_EXTENT_VOXELS 3

/* CTW_ERR_FORMAT naming `what` when the labelled (non-zero) voxels of the integer volume v span
 * fewer than CTW_MIN_EXTENT_VOXELS voxels along some axis (a 2-D map, one slice, a line): no
 * 3-D model can be built from it. No labelled voxel at all passes (callers report emptiness in
 * their own words). */
CTW_API int ctw_labels_check_extent(ctw_ctx *ctx, const char *what, const ctw_volume *v);

typedef struct ctw_voxel_topology {
	int64_t tissue;      /* voxels of the mask                                               */
	int64_t thin;        /* voxels with no mask on both sides along some axis                */
	int64_t first_thin;  /* index of the first such voxel, -1 when none                     */
	int64_t touching;    /* voxels with a 26-neighbour in another 6-connected component     */
	int64_t first_touch[2]; /* the first such pair of voxels, -1 when none                  */
	int64_t components;  /* 6-connected components of the mask                              */
} ctw_voxel_topology;

/* Measures the topology of mask (one byte per voxel of g, non-zero = tissue). */
CTW_API int ctw_voxel_topology_measure(ctw_ctx *ctx, const ctw_volume *g, const uint8_t *mask,
				       ctw_voxel_topology *t);

/* Whether a surface mesher refuses t: any touching pair, or more than 50 thin voxels making
 * more than 0.5 % of the tissue. */
CTW_API int ctw_voxel_topology_fails(const ctw_voxel_topology *t);

#ifdef __cplusplus
}
#endif
#endif
