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

/* Reads volume t (1-based) of a 4-D NIfTI-1 file (plain or gzip) that passed ctw_nifti_check()
 * into v->data, which the caller allocated: v->dim the file's first three dimensions, v->dtype
 * any type. Only that volume's bytes are read (gzip: inflated up to them). The voxels are what
 * ctw_itk_read() gives for a 3-D file holding the same data (byte order, scl_slope/scl_inter,
 * conversion to v->dtype); v's geometry is left to the caller, who takes it from the header
 * as for a 3-D file. CTW_ERR_IO when unreadable, CTW_ERR_FORMAT when the file changed, is
 * truncated or holds a non-scalar type, CTW_ERR_NOMEM. */
int ctw_nifti_read_frame(ctw_ctx *ctx, const char *path, int t, ctw_volume *v);

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
