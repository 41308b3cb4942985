/* image_int.h: private helpers of the image I/O module (NIfTI in C). */
#ifndef CTW_IMAGE_INT_H
#define CTW_IMAGE_INT_H

#include "image.h"

/* The exact (double precision) geometry cardiotwin stores in a NIfTI comment extension, since
 * NIfTI-1's own fields are float32. */
typedef struct ctw_nifti_exact {
	int present;
	int64_t dim[3];
	double spacing[3], origin[3], direction[3][3]; /* LPS */
	int has_plane;
	double plane[6];  /* base plane of a label map: point (LPS mm), unit normal */
} ctw_nifti_exact;

/* Checks a NIfTI-1/2 file, plain or gzip: header fields, dimensions against the voxel limit,
 * voxel sizes, and that all voxel data is present. Fills *exact from cardiotwin's geometry
 * extension when there is one. CTW_ERR_IO when unreadable, CTW_ERR_FORMAT when bad. */
int ctw_nifti_check(ctw_ctx *ctx, const char *path, ctw_nifti_exact *exact);

/* Writes v as NIfTI-1 (gzip when path ends in .gz) with qform and sform in RAS and the exact
 * geometry (and the base plane, point and normal, when plane is not NULL) as an extension. Not
 * atomic: the caller writes to a temporary name. CTW_ERR_IO. */
int ctw_nifti_write(ctw_ctx *ctx, const ctw_volume *v, const double *plane, const char *path);

/* Checks a NRRD (.nrrd/.nhdr) or MetaImage (.mha/.mhd) file before ITK reads it: header fields
 * (dimensions, sizes against the voxel limit, type, encoding, finite positive spacings, finite
 * non-singular directions, finite origin), a regular data file, and all the voxel data present
 * (compressed data inflated to its end, bounded by the declared size). CTW_ERR_FORMAT when bad. */
int ctw_rawhdr_check(ctw_ctx *ctx, const char *path);

#include "dicom.h"

/* Groups the files of a scan into series (dicom_series.c), sorted, with their counts. */
int ctw_dicom_group(ctw_ctx *ctx, ctw_dicom_scan *s);

#endif
