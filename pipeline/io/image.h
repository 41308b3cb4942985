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
	int phase, n_phases;    /* the phase read (1-based) and the phases there are: DICOM
				 * series' phases, a 4-D NIfTI's volumes; 0 when not chosen */
	char phase_rule[96];    /* DICOM: how an `ed` phase was chosen; "" otherwise         */
	int stack, n_stacks;    /* DICOM: the stack read (1-based; 0: by --series) and the
				 * stacks of parallel series found (see ctw_dicom_find_stack) */
} ctw_image_info;

/* Which stack of a DICOM directory to read, which volume of a 4-D NIfTI (phase only). */
typedef struct ctw_read_opts {
	const char *series; /* NULL: the only series; or its number, id or UID (see info)      */
	int phase;          /* 0: a single-phase series; N >= 1: phase N; -1: end-diastole.
			     * Image files: N is volume N of a 4-D NIfTI (a cine; refused
			     * without N), 1 of a 3-D image; -1 is refused (DICOM only)      */
	int allow_gaps;     /* resample unevenly spaced slices instead of refusing them       */
	int stack;          /* 0: none (series as above); -1: auto (the stack with the most
			     * slice positions); N >= 1: stack N as `info` lists it. A stack is
			     * the series with parallel planes and one grid, stacked along the
			     * normal (a short-axis stack exported one series per slice). With
			     * neither series nor stack, several series: the auto stack when it
			     * is unambiguous. series and stack both set: an error.            */
} ctw_read_opts;
#define CTW_READ_OPTS_INIT { NULL, 0, 0, 0 }

/* The only metadata that leaves an input (DESIGN.md §7): no names, IDs, dates beyond the year,
 * institutions or UIDs; the UIDs only as HMAC-SHA256 under the installation's secret salt. */
typedef struct ctw_study_record {
	char modality[17];          /* "CT", "MR", "" when unknown                         */
	char manufacturer[65];      /* printable ASCII                                       */
	double field_strength_t;    /* NAN when unknown                                      */
	double pixel_spacing[2];    /* mm, between rows and between columns; 0 when unknown */
	int study_year;             /* 0 when unknown                                        */
	char study_hash[65];        /* hex HMAC-SHA256 of the StudyInstanceUID ("" only for
				     * non-DICOM inputs)                                      */
	char series_hash[65];       /* likewise for the SeriesInstanceUID                    */
	int phase, n_phases;        /* the cine phase read (1-based) and the phases there are */
	char phase_rule[96];        /* how an `ed` phase was chosen; "" when given by number  */
	int study_uid_derived;      /* no StudyInstanceUID: study_hash is of a substitute key */
	int series_uid_derived;     /* likewise for the series                                 */
} ctw_study_record;

/* Reads the header of an image file or of the stack of a DICOM directory that opts select, and
 * checks it (CTW_ERR_IO: missing or unreadable; CTW_ERR_FORMAT: not an image, bad header, over
 * the voxel limit, no such series or phase, uneven slices, ...). No voxel data is read.
 * opts may be NULL (defaults). */
CTW_API int ctw_image_read_info(ctw_ctx *ctx, const char *path, const ctw_read_opts *opts,
				ctw_image_info *info);

/* Reads an image as a 3D volume of type dtype (0: the file's own type, or float32 when that has
 * no ctw_dtype). 2D images become one slice; 4D images are refused, except one volume of a 4-D
 * NIfTI that opts->phase selects (only its bytes are read). Return codes as above.
 * When rec is not NULL it receives the study record (mostly empty for non-DICOM files).
 * On success *out is a new volume; free it with ctw_volume_free(). */
CTW_API int ctw_image_read_opts(ctw_ctx *ctx, const char *path, const ctw_read_opts *opts,
				ctw_dtype dtype, ctw_volume **out, ctw_study_record *rec);
/* The phases of one stack read one after the other without scanning a DICOM directory again
 * for each (automatic segmentation reads them all): open finds the stack opts select (its
 * phase is ignored), read reads phase N (as opts.phase: 0 for a single phase, N >= 1, or
 * CTW_PHASE_ED) like ctw_image_read_opts(). Image files are read again for each phase (a
 * 4-D NIfTI reads only that volume). ctw_cine_close(ctx, NULL) is a no-op. */
typedef struct ctw_cine ctw_cine;
CTW_API int ctw_cine_open(ctw_ctx *ctx, const char *path, const ctw_read_opts *opts, ctw_cine **out);
CTW_API int ctw_cine_read(ctw_ctx *ctx, ctw_cine *c, int phase, ctw_dtype dtype, ctw_volume **out,
			  ctw_study_record *rec);
CTW_API void ctw_cine_close(ctw_ctx *ctx, ctw_cine *c);
/* ctw_image_read_opts() with default options and no record. */
CTW_API int ctw_image_read(ctw_ctx *ctx, const char *path, ctw_dtype dtype, ctw_volume **out);

/* Writes rec as a JSON object to path (atomically). CTW_ERR_IO on failure. */
CTW_API int ctw_study_record_write_json(ctw_ctx *ctx, const ctw_study_record *rec,
					const char *path);

/* Writes v as NIfTI-1 (.nii or .nii.gz by the name), geometry converted to RAS. NIfTI-1 stores
 * the geometry in float32: positions are exact to about 1e-7 relative. CTW_ERR_IO on failure;
 * path is replaced atomically. */
CTW_API int ctw_image_write_nifti(ctw_ctx *ctx, const ctw_volume *v, const char *path);

/* Writes a label map as NIfTI like ctw_image_write_nifti(), with its base plane (when set) in
 * cardiotwin's extension, where the mesher finds it. */
CTW_API int ctw_labelmap_write_nifti(ctw_ctx *ctx, const ctw_labelmap *lm, const char *path);

/* Reads a label map of canonical values written by cardiotwin (or any NIfTI label map holding
 * canonical values), with its base plane when stored. CTW_ERR_FORMAT for non-canonical values
 * (map them with `cardiotwin segment --preset`). On success *out is new; ctw_labelmap_free(). */
CTW_API int ctw_labelmap_read_nifti(ctw_ctx *ctx, const char *path, ctw_labelmap **out);

/* 1 when the NIfTI file at path carries a base plane (cardiotwin's extension), filling point
 * and normal; 0 otherwise (errors are not reported here). */
CTW_API int ctw_image_base_plane(ctw_ctx *ctx, const char *path, double point[3], double normal[3]);

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
