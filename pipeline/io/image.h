/* image.h: reading and writing images (NIfTI, NRRD, MetaImage, DICOM series) as ctw_volume.
 *
 * Geometry is LPS millimetres in memory whatever the file stores. Every reader checks the header
 * (dimensions against the context's voxel limit, finite positive spacing, an orthonormal
 * direction) before it allocates, and every writer publishes its output atomically.
 */
#ifndef CTW_IMAGE_H
#define CTW_IMAGE_H

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctw_image_info {
	char format[16];        /* "NIfTI", "NRRD", "MetaImage", "DICOM", ...               */
	int ndim;               /* dimensionality stored in the file (2..4 accepted)        */
	int64_t dim[4];         /* voxels per axis; dim[3] = 1 unless 4D                     */
	double spacing[3];      /* mm                                                        */
	double origin[3];       /* LPS mm                                                    */
	double direction[3][3]; /* direction[r][c]: column c = LPS unit vector of axis c     */
	ctw_dtype dtype;        /* the closest ctw_dtype to the file's voxel type           */
	char pixel_type[16];    /* the file's own component type: "int16", "float64", ...   */
	int n_components;       /* 1 for scalar images                                       */
	int n_files;            /* DICOM: files in the series read; otherwise 1              */
	int n_series;           /* DICOM: series found in the directory; otherwise 1         */
} ctw_image_info;

/* Reads the header of an image file or of the largest DICOM series in a directory and checks it
 * (CTW_ERR_IO: missing or unreadable; CTW_ERR_FORMAT: not an image, bad header, over the voxel
 * limit). No voxel data is read. */
CTW_API int ctw_image_read_info(ctw_ctx *ctx, const char *path, ctw_image_info *info);

/* Reads an image as a 3D volume of type dtype (0: the file's own type, or float32 when that has
 * no ctw_dtype). 2D images become one slice; 4D images are refused. Return codes as above.
 * On success *out is a new volume; free it with ctw_volume_free(). */
CTW_API int ctw_image_read(ctw_ctx *ctx, const char *path, ctw_dtype dtype, ctw_volume **out);

/* Writes v as NIfTI-1 (.nii or .nii.gz by the name), geometry converted to RAS. NIfTI-1 stores
 * the geometry in float32: positions are exact to about 1e-7 relative. CTW_ERR_IO on failure;
 * path is replaced atomically. */
CTW_API int ctw_image_write_nifti(ctw_ctx *ctx, const ctw_volume *v, const char *path);

/* Minimal, non-identifying DICOM metadata for a written series. */
typedef struct ctw_dicom_meta {
	const char *modality;           /* "CT" or "MR"                               */
	const char *series_description; /* e.g. "cardiotwin phantom"                 */
} ctw_dicom_meta;

/* Writes v (integer voxel types only; float is refused) as one DICOM series of 2D slices
 * (dir/IM0001.dcm, ...), each with its own ImagePositionPatient and the shared
 * ImageOrientationPatient, fresh UIDs and no patient data. A left-handed grid is written with
 * its slices reversed, so the world position of every voxel is kept. dir is created (or
 * replaced) atomically. */
CTW_API int ctw_image_write_dicom(ctw_ctx *ctx, const ctw_volume *v, const char *dir,
				  const ctw_dicom_meta *meta);

/* Versions of the imaging libraries, for --version and provenance. */
CTW_API const char *ctw_itk_version(void);
CTW_API const char *ctw_gdcm_version(void);

#ifdef __cplusplus
}
#endif
#endif
