/* image_itk.h: the C interface of the ITK adapter (image_itk.cxx). Only image.c calls it; it
 * does no validation beyond what ITK does, image.c checks headers and limits. */
#ifndef CTW_IMAGE_ITK_H
#define CTW_IMAGE_ITK_H

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Header of an image file (NIfTI, NRRD, MetaImage, ...). CTW_ERR_FORMAT when ITK cannot read
 * it. DICOM directories are handled in C (dicom.c), with only the pixels decoded here. */
int ctw_itk_read_info(ctw_ctx *ctx, const char *path, ctw_image_info *info);
/* Reads voxels into v->data, which the caller allocated with v->dim = info dims and v->dtype.
 * Geometry fields of v are set from the file. */
int ctw_itk_read(ctw_ctx *ctx, const char *path, ctw_volume *v);
/* Decodes one single-frame grey-scale DICOM image (any transfer syntax GDCM decodes) into
 * out[rows*cols], row by row, rescale slope and intercept applied. CTW_ERR_FORMAT when it
 * cannot, or when its size is not cols x rows. */
int ctw_itk_read_dicom_slice(ctw_ctx *ctx, const char *path, int rows, int cols, float *out);
/* Writes v to path with the ITK writer its extension selects. */
int ctw_itk_write(ctw_ctx *ctx, const ctw_volume *v, const char *path);
/* Writes v (right-handed direction) as a series dir/IM0001.dcm ... into an existing dir. */
int ctw_itk_write_dicom(ctw_ctx *ctx, const ctw_volume *v, const char *dir,
			const ctw_dicom_meta *meta);
const char *ctw_itk_version_string(void);
const char *ctw_gdcm_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
