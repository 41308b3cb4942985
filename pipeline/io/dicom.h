/* dicom.h: a DICOM directory scanner in C. It walks every file's data elements itself (GDCM
 * asserts, i.e. aborts, on some corrupt files), skips what is not DICOM or is damaged, groups
 * the files by series and sorts a series along its slice normal. */
#ifndef CTW_DICOM_H
#define CTW_DICOM_H

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctw_dicom_file {
	char *path;
	char series_uid[65];
	char modality[17];
	int64_t instance;      /* InstanceNumber, -1 when absent                       */
	int rows, cols;
	double ipp[3], iop[6]; /* ImagePositionPatient, ImageOrientationPatient (LPS) */
	int has_ipp, has_iop, has_pixels;
	double trigger_time;   /* ms, NAN when absent                                  */
} ctw_dicom_file;

typedef struct ctw_dicom_series {
	char uid[65];
	int n_files;
	ctw_dicom_file **files; /* borrowed from the scan, sorted along the slice normal */
} ctw_dicom_series;

typedef struct ctw_dicom_scan {
	int n_files;            /* readable DICOM image files                          */
	ctw_dicom_file *files;
	int n_skipped_other;    /* files that are not DICOM                            */
	int n_skipped_corrupt;  /* DICOM files that are truncated or malformed         */
	int n_series;
	ctw_dicom_series *series; /* largest first                                      */
} ctw_dicom_scan;

/* Scans dir recursively. CTW_ERR_IO when dir cannot be read; an empty result is not an error
 * here. On success *out is new; free it with ctw_dicom_scan_free(). */
CTW_API int ctw_dicom_scan_dir(ctw_ctx *ctx, const char *dir, ctw_dicom_scan **out);
CTW_API void ctw_dicom_scan_free(ctw_ctx *ctx, ctw_dicom_scan *s);

/* Parses a DICOM file held in buf[0..n): 1 for an image (fills *f, path NULL), 0 for data that
 * is not DICOM or holds no image, -1 for a truncated or malformed file. Never reads outside
 * buf. */
CTW_API int ctw_dicom_parse(const unsigned char *buf, size_t n, ctw_dicom_file *f);

/* 1 when path is a regular file with the DICOM preamble ("DICM" at byte 128). */
CTW_API int ctw_is_dicom_file(const char *path);

/* Checks that a series forms one 3D grid: the same orientation and size on every slice, no two
 * slices at one position, and slice positions evenly spaced (within 1 %). CTW_ERR_FORMAT naming
 * dir and the first problem. */
CTW_API int ctw_dicom_series_check(ctw_ctx *ctx, const char *dir, const ctw_dicom_series *s);

#ifdef __cplusplus
}
#endif
#endif
