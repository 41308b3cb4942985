/* image.c: checked image reading and atomic writing; the file formats themselves are read by
 * the ITK adapter (image_itk.cxx). NIfTI headers are checked here first, independently of ITK,
 * because its NIfTI reader silently repairs zero or NaN voxel sizes. */
#define _POSIX_C_SOURCE 200809L
#include "image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dicom.h"
#include "fs.h"
#include "image_int.h"
#include "image_itk.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Replaces the float32 geometry ITK read from a NIfTI file by the exact one we stored beside it,
 * when both describe the same grid (they differ if another tool edited the header). */
static void use_exact_geometry(ctw_ctx *ctx, const char *path, const ctw_nifti_exact *x,
			       ctw_image_info *info)
{
	double worst = 0;
	for (int c = 0; c < 3; c++) {
		if (x->dim[c] != info->dim[c])
			return;
		worst = fmax(worst, fabs(x->spacing[c] - info->spacing[c]) / x->spacing[c]);
		worst = fmax(worst, fabs(x->origin[c] - info->origin[c]) / fmax(1.0, fabs(x->origin[c])));
		for (int r = 0; r < 3; r++)
			worst = fmax(worst, fabs(x->direction[r][c] - info->direction[r][c]));
	}
	if (worst > 1e-5) {
		ctw_log(ctx, CTW_LOG_WARN, path,
			"the exact geometry stored by cardiotwin disagrees with the header (edited by "
			"another tool?); using the header");
		return;
	}
	memcpy(info->spacing, x->spacing, sizeof(info->spacing));
	memcpy(info->origin, x->origin, sizeof(info->origin));
	memcpy(info->direction, x->direction, sizeof(info->direction));
}

/* The DICOM series to read from a directory (or a single DICOM file): the largest one, checked
 * to form a 3D grid. On success *scan is new and *files a new list of its paths (borrowed from
 * the scan); free both. */
static int pick_series(ctw_ctx *ctx, const char *path, ctw_image_info *info, ctw_dicom_scan **scan,
		       const char ***files)
{
	const ctw_dicom_series *s;
	int ret, i;

	*files = NULL;
	ret = ctw_dicom_scan_dir(ctx, path, scan);
	if (ret)
		return ret;
	if ((*scan)->n_series == 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "no DICOM series found (%d other files, %d damaged DICOM files skipped)",
				 (*scan)->n_skipped_other, (*scan)->n_skipped_corrupt);
	s = &(*scan)->series[0];
	if ((*scan)->n_series > 1)
		ctw_log(ctx, CTW_LOG_WARN, path, "%d series found; reading the largest (%d files)",
			(*scan)->n_series, s->n_files);
	ret = ctw_dicom_series_check(ctx, path, s);
	if (ret)
		return ret;
	*files = ctw_calloc(ctx, (size_t)s->n_files, sizeof(**files));
	if (!*files)
		return CTW_ERR_NOMEM;
	for (i = 0; i < s->n_files; i++)
		(*files)[i] = s->files[i]->path;
	info->n_series = (*scan)->n_series;
	return CTW_OK;
}

/* Reads and checks the header; for DICOM also returns the series' files (free both). */
static int read_info(ctw_ctx *ctx, const char *path, ctw_image_info *info, ctw_dicom_scan **scan,
		     const char ***files)
{
	ctw_nifti_exact exact = { 0 };
	struct stat st;
	int ret, n_series = 1;
	int64_t n = 1;

	*scan = NULL;
	*files = NULL;
	memset(info, 0, sizeof(*info));
	if (stat(path, &st) != 0)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	if (S_ISDIR(st.st_mode) || ctw_is_dicom_file(path)) {
		ret = pick_series(ctx, path, info, scan, files);
		if (ret)
			return ret;
		n_series = info->n_series;
	} else if (ends_with(path, ".nii") || ends_with(path, ".nii.gz")) {
		ret = ctw_nifti_check(ctx, path, &exact);
		if (ret)
			return ret;
	}
	ret = ctw_itk_read_info(ctx, path, *files, *scan ? (*scan)->series[0].n_files : 0, info);
	if (ret)
		return ret;
	info->n_series = n_series;
	if (exact.present)
		use_exact_geometry(ctx, path, &exact, info);
	if (info->ndim < 2 || info->ndim > 4 || (info->ndim == 4 && info->dim[3] > 1))
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "%dD image with %lld volumes; a single 2D or 3D image is expected", info->ndim,
				 (long long)info->dim[3]);
	if (info->n_components != 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "%d components per voxel; a scalar image is expected", info->n_components);
	for (int i = 0; i < 3; i++) {
		if (info->dim[i] < 1 || info->dim[i] > ctw_ctx_max_voxels(ctx) / n)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "%lld x %lld x %lld voxels exceed the limit of %lld",
					 (long long)info->dim[0], (long long)info->dim[1], (long long)info->dim[2],
					 (long long)ctw_ctx_max_voxels(ctx));
		n *= info->dim[i];
	}
	{
		ctw_volume g;
		memset(&g, 0, sizeof(g));
		memcpy(g.spacing, info->spacing, sizeof(g.spacing));
		memcpy(g.origin, info->origin, sizeof(g.origin));
		memcpy(g.direction, info->direction, sizeof(g.direction));
		ret = ctw_check_geometry(ctx, path, &g);
	}
	return ret;
}

int ctw_image_read_info(ctw_ctx *ctx, const char *path, ctw_image_info *info)
{
	ctw_dicom_scan *scan;
	const char **files;
	int ret = read_info(ctx, path, info, &scan, &files);
	ctw_free(ctx, files);
	ctw_dicom_scan_free(ctx, scan);
	return ret;
}

int ctw_image_read(ctw_ctx *ctx, const char *path, ctw_dtype dtype, ctw_volume **out)
{
	ctw_image_info info;
	ctw_dicom_scan *scan;
	const char **files;
	ctw_volume *v = NULL;
	int ret;

	*out = NULL;
	ret = read_info(ctx, path, &info, &scan, &files);
	if (!ret)
		ret = ctw_volume_new(ctx, info.dim, dtype ? dtype : info.dtype, &v);
	if (!ret)
		ret = ctw_itk_read(ctx, path, files, info.n_files, v);
	if (!ret) {
		memcpy(v->spacing, info.spacing, sizeof(v->spacing));
		memcpy(v->origin, info.origin, sizeof(v->origin));
		memcpy(v->direction, info.direction, sizeof(v->direction));
		ret = ctw_check_geometry(ctx, path, v);
	}
	ctw_free(ctx, files);
	ctw_dicom_scan_free(ctx, scan);
	if (ret) {
		ctw_volume_free(ctx, v);
		return ret;
	}
	*out = v;
	return CTW_OK;
}

/* The directory part of path ("." when none), in buf. */
static const char *parent_dir(const char *path, char *buf, size_t n)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return ".";
	snprintf(buf, n, "%.*s", (int)(slash == path ? 1 : slash - path), path);
	return buf;
}

int ctw_image_write_nifti(ctw_ctx *ctx, const ctw_volume *v, const char *path)
{
	char *tmp = NULL, dir[4096];
	int ret;

	if (!ends_with(path, ".nii") && !ends_with(path, ".nii.gz"))
		return ctw_error(ctx, CTW_ERR_INVALID, path, "a NIfTI file name ends in .nii or .nii.gz");
	ret = ctw_check_geometry(ctx, path, v);
	if (ret)
		return ret;
	if (!ctw_is_dir(parent_dir(path, dir, sizeof(dir))) || access(dir, W_OK) != 0)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot write: directory '%s' %s", dir,
				 ctw_is_dir(dir) ? "is not writable" : "does not exist");
	ret = ctw_tmp_sibling(ctx, path, &tmp);
	if (ret)
		return ret;
	ret = ctw_nifti_write(ctx, v, tmp);
	if (!ret)
		ret = ctw_publish(ctx, tmp, path);
	if (ret)
		remove(tmp);
	ctw_free(ctx, tmp);
	return ret;
}

/* A right-handed copy of v's geometry (k reversed when det(direction) < 0), voxels reordered to
 * match, so that DICOM's slice normal (row × column) is the k axis. On success *out is new. */
static int right_handed(ctw_ctx *ctx, const ctw_volume *v, ctw_volume **out)
{
	const double(*d)[3] = v->direction;
	double det = d[0][0] * (d[1][1] * d[2][2] - d[1][2] * d[2][1]) -
		     d[0][1] * (d[1][0] * d[2][2] - d[1][2] * d[2][0]) +
		     d[0][2] * (d[1][0] * d[2][1] - d[1][1] * d[2][0]);
	size_t slice = (size_t)(v->dim[0] * v->dim[1]) * ctw_dtype_size(v->dtype);
	ctw_volume *w;
	int ret, r;

	ret = ctw_volume_convert(ctx, v, v->dtype, &w);
	if (ret || det > 0) {
		*out = w;
		return ret;
	}
	for (int64_t k = 0; k < v->dim[2]; k++)
		memcpy((char *)w->data + (size_t)k * slice,
		       (const char *)v->data + (size_t)(v->dim[2] - 1 - k) * slice, slice);
	for (r = 0; r < 3; r++) {
		w->origin[r] += d[r][2] * v->spacing[2] * (double)(v->dim[2] - 1);
		w->direction[r][2] = -d[r][2];
	}
	*out = w;
	return CTW_OK;
}

int ctw_image_write_dicom(ctw_ctx *ctx, const ctw_volume *v, const char *dir,
			  const ctw_dicom_meta *meta)
{
	ctw_volume *w = NULL;
	char *tmp = NULL;
	int ret;

	ret = ctw_check_geometry(ctx, dir, v);
	if (ret)
		return ret;
	if (v->dtype != CTW_U8 && v->dtype != CTW_I16 && v->dtype != CTW_U16)
		return ctw_error(ctx, CTW_ERR_INVALID, dir,
				 "DICOM series are written from 8 or 16-bit integer volumes, not %s",
				 ctw_dtype_name(v->dtype));
	if ((ret = right_handed(ctx, v, &w)) || (ret = ctw_tmp_sibling(ctx, dir, &tmp)))
		goto out;
	if (mkdir(tmp, 0777) != 0) {
		ret = ctw_error(ctx, CTW_ERR_IO, dir, "cannot create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	ret = ctw_itk_write_dicom(ctx, w, tmp, meta);
	if (!ret)
		ret = ctw_publish(ctx, tmp, dir);
	if (ret) {
		ctw_status code = ctw_errcode(ctx);
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", ctw_errmsg(ctx));
		ctw_rm_rf(ctx, tmp);
		ctw_error(ctx, code, NULL, "%s", msg);
	}
out:
	ctw_volume_free(ctx, w);
	ctw_free(ctx, tmp);
	return ret;
}

const char *ctw_itk_version(void)
{
	return ctw_itk_version_string();
}

const char *ctw_gdcm_version(void)
{
	return ctw_gdcm_version_string();
}
