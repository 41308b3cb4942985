/* dicom.h: DICOM in C: a parser that walks every file's data elements itself (GDCM asserts, i.e.
 * aborts, on some damaged files), a recursive directory scanner that skips what is not DICOM
 * or is damaged, series grouped by orientation, slice position and time (cine stacks), the
 * choice of one 3D stack (series, phase) with its geometry from the slice positions, and the
 * de-identified study record. Pixel decoding is GDCM's (image_itk.cxx). */
#ifndef CTW_DICOM_H
#define CTW_DICOM_H

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctw_dicom_file {
	char *path;
	char study_uid[65], series_uid[65], syntax[65];
	char modality[17], manufacturer[65], description[65], study_date[17], series_number[13];
	int64_t instance;          /* InstanceNumber, -1 when absent                          */
	int rows, cols;            /* 0 when absent                                           */
	int samples, bits_allocated, pixel_rep, frames;
	int bits_stored, high_bit; /* -1 when absent                                          */
	double pixel_spacing[2];   /* PixelSpacing: between rows, between columns (mm)        */
	double thickness;          /* SliceThickness (mm), 0 when absent                      */
	int has_spacing;
	double ipp[3], iop[6];     /* ImagePositionPatient, ImageOrientationPatient (LPS)     */
	int has_ipp, has_iop;
	double trigger_time;       /* TriggerTime (ms), NAN when absent                       */
	double temporal_pos;       /* TemporalPositionIdentifier, NAN when absent             */
	double field_strength;     /* MagneticFieldStrength (T), NAN when absent              */
	double slope, intercept;   /* RescaleSlope/Intercept (1, 0 when absent)               */
	double gantry_tilt;        /* GantryDetectorTilt (degrees), 0 when absent             */
	int has_pixels;
	uint32_t pixel_len;        /* bytes; 0xFFFFFFFF for encapsulated (compressed) pixels   */
	char bad[48];              /* the first attribute present with an invalid value: not a
				    * number, non-finite, too few values, a wrong length; "" if none */
} ctw_dicom_file;

/* A file that looks like DICOM (the preamble, or a .dcm name) but could not be parsed. */
typedef struct ctw_dicom_damaged {
	char *path;
	char series_uid[65];       /* as far as it could be read; "" when not reached          */
} ctw_dicom_damaged;

typedef struct ctw_dicom_series {
	char uid[65];
	int n_files;
	ctw_dicom_file **files;    /* borrowed from the scan; by position along the normal, then time */
	int n_orientations;        /* distinct ImageOrientationPatient values                 */
	int n_positions;           /* distinct slice positions                                */
	int n_phases;              /* most files at one position (cine phases)                */
	int phases_regular;        /* every position has n_phases files                       */
	const char *damaged;       /* a damaged file that may belong to the series, or NULL   */
	const ctw_dicom_file *dup[2]; /* two images of one position, time and instance, or NULL */
	int uid_derived;           /* no SeriesInstanceUID: uid is a key of other attributes  */
} ctw_dicom_series;

/* A stack: series with parallel planes (row and column cosines within 1 degree) and matching
 * grids (rows, columns, pixel spacing within 1e-3 mm, phase count), one study; a series that
 * joins no other is a stack of its own. */
typedef struct ctw_dicom_stackdef {
	int n_members;
	int *members;              /* indices into scan->series, by slice position             */
	ctw_dicom_series merged;   /* several members: all their files as one series          */
	const ctw_dicom_series *series; /* what stacks are built from: the member or &merged  */
	int n_positions, n_phases, n_images;
	int conflict[2];           /* two members imaging one slice position, or -1, -1       */
	int tilted;                /* members not exactly parallel (within 1 degree)          */
} ctw_dicom_stackdef;

typedef struct ctw_dicom_scan {
	int n_files;               /* readable DICOM image files                              */
	ctw_dicom_file *files;
	int n_skipped_other;       /* files that are not DICOM images                         */
	int n_skipped_corrupt;     /* DICOM files that are truncated or malformed             */
	ctw_dicom_damaged *damaged; /* those files (n_skipped_corrupt of them)                */
	int n_series;
	ctw_dicom_series *series;  /* most files first                                        */
	int n_stacks;
	ctw_dicom_stackdef *stacks; /* most slice positions first, then most images, then the
				     * lowest series number: stacks[0] is the `auto` choice   */
	int *left_out;             /* per series: parallel to stack k (1-based) and on its grid
				    * but with another phase count; 0 when not               */
} ctw_dicom_scan;

/* Parses a DICOM file held in buf[0..n): 1 for an image (fills *f, path NULL), 0 for data that
 * is not DICOM or not an image (no Rows), -1 for a truncated or malformed file, including an
 * image without pixel data. Never reads outside buf. */
CTW_API int ctw_dicom_parse(const unsigned char *buf, size_t n, ctw_dicom_file *f);

/* 1 when path is a regular file with the DICOM preamble ("DICM" at byte 128). */
CTW_API int ctw_is_dicom_file(const char *path);

/* Scans path recursively (or the single file path). Damaged files are logged as warnings and
 * counted. CTW_ERR_IO when path cannot be read; an empty result is not an error here. On
 * success *out is new; free it with ctw_dicom_scan_free(). */
CTW_API int ctw_dicom_scan_dir(ctw_ctx *ctx, const char *path, ctw_dicom_scan **out);
CTW_API void ctw_dicom_scan_free(ctw_ctx *ctx, ctw_dicom_scan *s);

/* The series selected by sel (NULL: the only series; else its 1-based number as `info` lists
 * it, its id as `info` prints it, or its SeriesInstanceUID). CTW_ERR_FORMAT naming path when
 * there is none or the choice is ambiguous. */
CTW_API int ctw_dicom_find_series(ctw_ctx *ctx, const char *path, const ctw_dicom_scan *scan,
				  const char *sel, const ctw_dicom_series **out);

/* The series to build from, by opts-like selectors: sel as ctw_dicom_find_series() (NULL: none),
 * stack 0 (none), -1 (auto: stacks[0]) or N (1-based). With neither and several series, the
 * auto stack when it is unambiguous (at least 3 slice positions, more than any other stack),
 * else CTW_ERR_FORMAT listing the stacks. A stack whose members image
 * one position twice: CTW_ERR_FORMAT naming both series. Both given: CTW_ERR_INVALID. *number receives the stack number
 * (0 for --series). */
CTW_API int ctw_dicom_find_stack(ctw_ctx *ctx, const char *path, const ctw_dicom_scan *scan,
				 const char *sel, int stack, const ctw_dicom_series **out, int *number);

/* One line describing stack k (0-based) for info and messages: "12 series, 12 slices x 20
 * phases". */
CTW_API void ctw_dicom_stack_describe(const ctw_dicom_scan *scan, int k, char *buf, size_t cap);

/* Public id of a series: the first 12 hex digits of its keyed hash, HMAC-SHA256(salt,
 * SeriesInstanceUID), or, for files without one, HMAC-SHA256(salt, a key of stable attributes:
 * StudyInstanceUID, SeriesNumber, SeriesDescription, Modality, Rows, Columns, the orientation and
 * the first slice position), so series without UIDs still get ids of their own. */
CTW_API void ctw_dicom_series_id(ctw_ctx *ctx, const ctw_dicom_series *s, char id[13]);
/* The keyed hash (64 hex digits) the id is the start of. */
CTW_API void ctw_dicom_series_hash(ctw_ctx *ctx, const ctw_dicom_series *s, char hex[65]);

/* The one meaning of `ed` (end-diastole) in cardiotwin. With lv_blood (n_phases values, the LV
 * blood volume of each phase from labels or contours; 0 or less: no data for the phase): the
 * phase of the largest volume. Without (NULL): the phase of the smallest TriggerTime (a single
 * phase is phase 1); CTW_ERR_FORMAT naming path when the phases share one trigger time or have
 * none (real-time cine): there is no way to tell end-diastole, --phase N is needed. *phase is
 * 1-based; rule (cap bytes) receives the rule that chose it, for logs and provenance; it is also
 * logged at info level. */
CTW_API int ctw_dicom_ed_phase(ctw_ctx *ctx, const char *path, const ctw_dicom_series *s,
			       const double *lv_blood, int *phase, char *rule, size_t cap);

/* One 3D stack of a series: one file per slice position for one phase, sorted along the slice
 * normal, and its grid. */
typedef struct ctw_dicom_stack {
	int n;                     /* slices                                                  */
	const ctw_dicom_file **files;
	double *pos;               /* position of each slice along the normal (mm)            */
	int64_t dim[3];            /* columns, rows, slices (after resampling, if any)         */
	double spacing[3], origin[3], direction[3][3]; /* LPS; k = row x column cosines      */
	int phase, n_phases;       /* 1-based phase chosen, phases in the series              */
	double min_step, max_step; /* smallest and largest distance between slices (mm)       */
	int uneven;                /* steps differ from their mean by more than 1 %           */
	int resampled;             /* dim[2] slices resampled from n uneven ones (allow_gaps) */
	char phase_rule[96];       /* how the phase was chosen (ed: the rule), "" for --phase N */
	ctw_dtype dtype;           /* voxel type that holds the rescaled values               */
} ctw_dicom_stack;

#define CTW_PHASE_NONE 0 /* the series must have a single phase      */
#define CTW_PHASE_ED (-1) /* end-diastole: see ctw_dicom_ed_phase() (trigger time here) */

/* Builds the stack of phase `phase` (1-based, by TriggerTime order at each position; or
 * CTW_PHASE_ED, or CTW_PHASE_NONE) of series s and checks it: no damaged file that may be one of
 * its images, no duplicate image, every slice position with every phase (a missing cine image is
 * refused naming its slice and phase), the same size, pixel spacing and
 * orientation on every slice, no gantry tilt, evenly spaced slices (within 1 %) unless
 * allow_gaps (then dim[2] slices at the smallest spacing are to be interpolated; logged when
 * allow_gaps is 1, not when 2, which only describes), the voxel limit; every file's header (no
 * invalid value, spacing > 0 and finite, positions within 1 km, unit orthogonal orientation,
 * rescale finite and slope not 0, bits consistent, pixel data of exactly Rows x Columns, one
 * frame, grey scale, a transfer syntax that is read and matches the pixel data). CTW_ERR_FORMAT naming path, or the file at fault. On success *out is
 * new; free it with ctw_dicom_stack_free(). */
CTW_API int ctw_dicom_stack_build(ctw_ctx *ctx, const char *path, const ctw_dicom_series *s,
				  int phase, int allow_gaps, ctw_dicom_stack **out);
CTW_API void ctw_dicom_stack_free(ctw_ctx *ctx, ctw_dicom_stack *st);

/* Finds the image with InstanceNumber `instance` in s: its slice position (0-based, along the
 * normal, as in a stack) and its phase (1-based). Returns 1 when found, 0 when not. */
CTW_API int ctw_dicom_locate(const ctw_dicom_series *s, int64_t instance, int *position,
			     int *phase);

/* The de-identified study record of a series (DESIGN.md §7): nothing else leaves the input. */
CTW_API void ctw_dicom_study_record(ctw_ctx *ctx, const ctw_dicom_series *s,
				    ctw_study_record *rec);

#ifdef __cplusplus
}
#endif
#endif
