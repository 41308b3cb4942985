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
#include <zlib.h>

#include "fs.h"
#include "image_itk.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static uint16_t swap16(uint16_t x)
{
	return (uint16_t)((x >> 8) | (x << 8));
}

static uint32_t swap32(uint32_t x)
{
	return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}

static uint64_t swap64(uint64_t x)
{
	return ((uint64_t)swap32((uint32_t)x) << 32) | swap32((uint32_t)(x >> 32));
}

/* Field readers for a header buffer in either byte order. */
static int64_t hdr_i16(const unsigned char *h, int off, int sw)
{
	uint16_t x;
	memcpy(&x, h + off, 2);
	return (int16_t)(sw ? swap16(x) : x);
}

static int64_t hdr_i32(const unsigned char *h, int off, int sw)
{
	uint32_t x;
	memcpy(&x, h + off, 4);
	return (int32_t)(sw ? swap32(x) : x);
}

static int64_t hdr_i64(const unsigned char *h, int off, int sw)
{
	uint64_t x;
	memcpy(&x, h + off, 8);
	return (int64_t)(sw ? swap64(x) : x);
}

static double hdr_f32(const unsigned char *h, int off, int sw)
{
	uint32_t x;
	float f;
	memcpy(&x, h + off, 4);
	x = sw ? swap32(x) : x;
	memcpy(&f, &x, 4);
	return f;
}

static double hdr_f64(const unsigned char *h, int off, int sw)
{
	uint64_t x;
	double d;
	memcpy(&x, h + off, 8);
	x = sw ? swap64(x) : x;
	memcpy(&d, &x, 8);
	return d;
}

/* Checks a NIfTI-1/NIfTI-2 header (plain or gzip): sizes, dimensions against the voxel limit,
 * voxel sizes, and for uncompressed files that the voxel data is all there. */
static int check_nifti(ctw_ctx *ctx, const char *path)
{
	unsigned char h[540];
	int64_t dim[8], nvox = 1, bitpix, vox_offset;
	double pixdim[8];
	int n, sw = 0, v2, i;
	gzFile gz = gzopen(path, "rb");

	if (!gz)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	n = gzread(gz, h, sizeof(h));
	gzclose(gz);
	if (n < 348)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "truncated NIfTI header (%d of at least 348 bytes)", n < 0 ? 0 : n);
	if (hdr_i32(h, 0, 0) == 348 || hdr_i32(h, 0, 1) == 348) {
		v2 = 0;
		sw = hdr_i32(h, 0, 0) != 348;
	} else if (hdr_i32(h, 0, 0) == 540 || hdr_i32(h, 0, 1) == 540) {
		v2 = 1;
		sw = hdr_i32(h, 0, 0) != 540;
		if (n < 540)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "truncated NIfTI-2 header");
	} else {
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "not a NIfTI file (header size field is wrong)");
	}
	for (i = 0; i < 8; i++) {
		dim[i] = v2 ? hdr_i64(h, 16 + 8 * i, sw) : hdr_i16(h, 40 + 2 * i, sw);
		pixdim[i] = v2 ? hdr_f64(h, 104 + 8 * i, sw) : hdr_f32(h, 76 + 4 * i, sw);
	}
	bitpix = v2 ? hdr_i16(h, 14, sw) : hdr_i16(h, 72, sw);
	vox_offset = v2 ? hdr_i64(h, 168, sw) : (int64_t)hdr_f32(h, 108, sw);
	if (dim[0] < 1 || dim[0] > 7)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "bad number of dimensions %lld in the NIfTI header",
				 (long long)dim[0]);
	for (i = 1; i <= dim[0]; i++) {
		if (dim[i] < 1)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "dimension %d is %lld in the NIfTI header", i,
					 (long long)dim[i]);
		if (dim[i] > ctw_ctx_max_voxels(ctx) / nvox)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "the NIfTI header claims more than %lld voxels (limit); the header is "
					 "corrupt or the image too large",
					 (long long)ctw_ctx_max_voxels(ctx));
		nvox *= dim[i];
		if (i <= 3 && (!isfinite(pixdim[i]) || pixdim[i] <= 0.0))
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "voxel size along axis %d is %g in the NIfTI header; must be finite and > 0",
					 i - 1, pixdim[i]);
	}
	if (bitpix <= 0 || bitpix % 8 || bitpix > 256)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "bad bits per voxel %lld in the NIfTI header",
				 (long long)bitpix);
	if (ends_with(path, ".nii")) {
		struct stat st;
		int64_t need = vox_offset + nvox * (bitpix / 8);
		if (stat(path, &st) == 0 && (int64_t)st.st_size < need)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "truncated: %lld bytes of voxel data expected, the file has %lld",
					 (long long)(need - vox_offset), (long long)(st.st_size - vox_offset));
	}
	return CTW_OK;
}

int ctw_image_read_info(ctw_ctx *ctx, const char *path, ctw_image_info *info)
{
	struct stat st;
	int ret, is_dir;
	int64_t n = 1;

	memset(info, 0, sizeof(*info));
	if (stat(path, &st) != 0)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	is_dir = S_ISDIR(st.st_mode);
	if (!is_dir && (ends_with(path, ".nii") || ends_with(path, ".nii.gz"))) {
		ret = check_nifti(ctx, path);
		if (ret)
			return ret;
	}
	ret = ctw_itk_read_info(ctx, path, is_dir, info);
	if (ret)
		return ret;
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

int ctw_image_read(ctw_ctx *ctx, const char *path, ctw_dtype dtype, ctw_volume **out)
{
	ctw_image_info info;
	ctw_volume *v;
	int ret;

	*out = NULL;
	ret = ctw_image_read_info(ctx, path, &info);
	if (ret)
		return ret;
	ret = ctw_volume_new(ctx, info.dim, dtype ? dtype : info.dtype, &v);
	if (ret)
		return ret;
	ret = ctw_itk_read(ctx, path, ctw_is_dir(path), v);
	if (!ret)
		ret = ctw_check_geometry(ctx, path, v);
	if (ret) {
		ctw_volume_free(ctx, v);
		return ret;
	}
	*out = v;
	return CTW_OK;
}

int ctw_image_write_nifti(ctw_ctx *ctx, const ctw_volume *v, const char *path)
{
	char *tmp = NULL;
	int ret;

	if (!ends_with(path, ".nii") && !ends_with(path, ".nii.gz"))
		return ctw_error(ctx, CTW_ERR_INVALID, path, "a NIfTI file name ends in .nii or .nii.gz");
	ret = ctw_check_geometry(ctx, path, v);
	if (ret)
		return ret;
	ret = ctw_tmp_sibling(ctx, path, &tmp);
	if (ret)
		return ret;
	ret = ctw_itk_write(ctx, v, tmp);
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
