/* nifti.c: NIfTI-1 in C: a header checker that runs before ITK reads a file (ITK's reader
 * silently repairs zero or NaN voxel sizes and zero-fills truncated gzip streams), and the
 * writer. The writer stores the geometry twice: in the standard float32 qform/sform (RAS), and
 * with full double precision in a comment extension that our reader prefers when it agrees with
 * the sform, so a round trip keeps every voxel's world position to far better than 1e-6 mm. */
#define _POSIX_C_SOURCE 200809L
#include "image_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define EXT_TAG "cardiotwin-geometry 1"

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

/* Checks a NIfTI-1/NIfTI-2 file (plain or gzip): the header's sizes, dimensions against the
 * voxel limit and voxel sizes, then that all the voxel data is there (for gzip by inflating the
 * whole stream, since ITK's reader silently zero-fills a truncated one). */
static int parse_extension(const unsigned char *e, int64_t n, int sw, ctw_nifti_exact *x);

int ctw_nifti_check(ctw_ctx *ctx, const char *path, ctw_nifti_exact *exact)
{
	unsigned char h[4096]; /* the header and the extensions we write */
	unsigned char *buf = NULL;
	int64_t dim[8], nvox = 1, bitpix, vox_offset, need, have;
	double pixdim[8];
	int n, sw = 0, v2, i, gzerr = Z_OK, ret = CTW_OK;
	gzFile gz = gzopen(path, "rb");

	if (!gz)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	n = gzread(gz, h, sizeof(h));
	if (n < 348) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
				"truncated NIfTI header (%d of at least 348 bytes)", n < 0 ? 0 : n);
		goto out;
	}
	if (hdr_i32(h, 0, 0) == 348 || hdr_i32(h, 0, 1) == 348) {
		v2 = 0;
		sw = hdr_i32(h, 0, 0) != 348;
	} else if (hdr_i32(h, 0, 0) == 540 || hdr_i32(h, 0, 1) == 540) {
		v2 = 1;
		sw = hdr_i32(h, 0, 0) != 540;
		if (n < 540) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "truncated NIfTI-2 header");
			goto out;
		}
	} else {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "not a NIfTI file (header size field is wrong)");
		goto out;
	}
	for (i = 0; i < 8; i++) {
		dim[i] = v2 ? hdr_i64(h, 16 + 8 * i, sw) : hdr_i16(h, 40 + 2 * i, sw);
		pixdim[i] = v2 ? hdr_f64(h, 104 + 8 * i, sw) : hdr_f32(h, 76 + 4 * i, sw);
	}
	bitpix = v2 ? hdr_i16(h, 14, sw) : hdr_i16(h, 72, sw);
	vox_offset = v2 ? hdr_i64(h, 168, sw) : (int64_t)hdr_f32(h, 108, sw);
	if (dim[0] < 1 || dim[0] > 7) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "bad number of dimensions %lld in the NIfTI header",
				(long long)dim[0]);
		goto out;
	}
	for (i = 1; i <= dim[0]; i++) {
		if (dim[i] < 1) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "dimension %d is %lld in the NIfTI header", i,
					(long long)dim[i]);
			goto out;
		}
		if (dim[i] > ctw_ctx_max_voxels(ctx) / nvox) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
					"the NIfTI header claims more than %lld voxels (limit); the header is "
					"corrupt or the image too large",
					(long long)ctw_ctx_max_voxels(ctx));
			goto out;
		}
		nvox *= dim[i];
		if (i <= 3 && (!isfinite(pixdim[i]) || pixdim[i] <= 0.0)) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
					"voxel size along axis %d is %g in the NIfTI header; must be finite and > 0",
					i - 1, pixdim[i]);
			goto out;
		}
	}
	if (bitpix <= 0 || bitpix % 8 || bitpix > 256 || vox_offset < (v2 ? 540 : 348)) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "bad bits per voxel (%lld) or data offset (%lld) in "
				"the NIfTI header", (long long)bitpix, (long long)vox_offset);
		goto out;
	}
	/* Our geometry extension, if any, lies between the header and the voxel data. */
	memset(exact, 0, sizeof(*exact));
	if (!v2 && h[348] && n > 352)
		parse_extension(h + 352, (vox_offset < n ? vox_offset : n) - 352, sw, exact);
	/* Count the bytes after the header; gzread reads plain files as they are. */
	need = vox_offset + nvox * (bitpix / 8);
	have = n;
	if (have < need && !(buf = ctw_malloc(ctx, 1 << 16))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	while (have < need) {
		int k = gzread(gz, buf, 1 << 16);
		if (k <= 0) {
			gzerror(gz, &gzerr);
			break;
		}
		have += k;
	}
	if (have < need || (gzerr != Z_OK && gzerr != Z_STREAM_END))
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
				"truncated or corrupt: %lld bytes of voxel data expected, %lld found",
				(long long)(need - vox_offset), (long long)(have > vox_offset ? have - vox_offset : 0));
out:
	ctw_free(ctx, buf);
	gzclose(gz);
	if (ret)
		memset(exact, 0, sizeof(*exact));
	else if (exact->present && (exact->dim[0] != dim[1] || exact->dim[1] != (dim[0] > 1 ? dim[2] : 1) ||
				       exact->dim[2] != (dim[0] > 2 ? dim[3] : 1)))
		exact->present = 0;
	return ret;
}

/* Finds our geometry comment among the extensions e[0..n) (each: esize, ecode, data). */
static int parse_extension(const unsigned char *e, int64_t n, int sw, ctw_nifti_exact *x)
{
	while (n >= 8) {
		int64_t esize = hdr_i32(e, 0, sw), ecode = hdr_i32(e, 4, sw);
		char text[1024];
		if (esize < 8 || esize > n)
			return 0;
		if (ecode == 6 && esize - 8 < (int64_t)sizeof(text)) {
			long long d0, d1, d2;
			double *s = x->spacing, *o = x->origin, (*d)[3] = x->direction;
			memcpy(text, e + 8, (size_t)(esize - 8));
			text[esize - 8] = '\0';
			if (sscanf(text,
				   EXT_TAG " lps size %lld %lld %lld spacing %lg %lg %lg origin %lg %lg %lg "
					   "direction %lg %lg %lg %lg %lg %lg %lg %lg %lg",
				   &d0, &d1, &d2, &s[0], &s[1], &s[2], &o[0], &o[1], &o[2], &d[0][0], &d[0][1],
				   &d[0][2], &d[1][0], &d[1][1], &d[1][2], &d[2][0], &d[2][1], &d[2][2]) == 18) {
				const char *bp = strstr(text, " base-plane ");
				double *q = x->plane;
				x->has_plane = bp && sscanf(bp, " base-plane %lg %lg %lg %lg %lg %lg", &q[0], &q[1], &q[2],
							    &q[3], &q[4], &q[5]) == 6;
				x->dim[0] = d0;
				x->dim[1] = d1;
				x->dim[2] = d2;
				x->present = 1;
				return 1;
			}
		}
		e += esize;
		n -= esize;
	}
	return 0;
}

/* ---- writer --------------------------------------------------------------------------------- */

static void put_i16(unsigned char *h, int off, int v)
{
	int16_t x = (int16_t)v;
	memcpy(h + off, &x, 2);
}

static void put_i32(unsigned char *h, int off, int32_t v)
{
	memcpy(h + off, &v, 4);
}

static void put_f32(unsigned char *h, int off, double v)
{
	float x = (float)v;
	memcpy(h + off, &x, 4);
}

/* Quaternion (b, c, d) of a proper rotation r (nifti1_io's mat44_to_quatern, r orthonormal). */
static void quaternion(double r[3][3], double q[3])
{
	double a = r[0][0] + r[1][1] + r[2][2] + 1.0, b, c, d;

	if (a > 0.5) {
		a = 0.5 * sqrt(a);
		b = 0.25 * (r[2][1] - r[1][2]) / a;
		c = 0.25 * (r[0][2] - r[2][0]) / a;
		d = 0.25 * (r[1][0] - r[0][1]) / a;
	} else {
		double xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]), yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]),
		       zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
		if (xd > 1.0) {
			b = 0.5 * sqrt(xd);
			c = 0.25 * (r[0][1] + r[1][0]) / b;
			d = 0.25 * (r[0][2] + r[2][0]) / b;
			a = 0.25 * (r[2][1] - r[1][2]) / b;
		} else if (yd > 1.0) {
			c = 0.5 * sqrt(yd);
			b = 0.25 * (r[0][1] + r[1][0]) / c;
			d = 0.25 * (r[1][2] + r[2][1]) / c;
			a = 0.25 * (r[0][2] - r[2][0]) / c;
		} else {
			d = 0.5 * sqrt(zd);
			b = 0.25 * (r[0][2] + r[2][0]) / d;
			c = 0.25 * (r[1][2] + r[2][1]) / d;
			a = 0.25 * (r[1][0] - r[0][1]) / d;
		}
		if (a < 0.0) {
			b = -b;
			c = -c;
			d = -d;
		}
	}
	q[0] = b;
	q[1] = c;
	q[2] = d;
}

int ctw_nifti_write(ctw_ctx *ctx, const ctw_volume *v, const double *plane, const char *path)
{
	static const struct {
		ctw_dtype t;
		int code;
	} codes[] = { { CTW_U8, 2 }, { CTW_I16, 4 }, { CTW_I32, 8 }, { CTW_F32, 16 }, { CTW_U16, 512 } };
	unsigned char h[352];
	char ext[1024];
	double ras[3][3], q[3], qfac = 1.0;
	int64_t count = ctw_volume_count(v), done = 0;
	size_t bytes = (size_t)count * ctw_dtype_size(v->dtype);
	int esize, datatype = 0, i, r;
	const int is_gz = strlen(path) > 3 && strcmp(path + strlen(path) - 3, ".gz") == 0;
	gzFile gz;

	for (i = 0; i < (int)(sizeof(codes) / sizeof(codes[0])); i++)
		if (codes[i].t == v->dtype)
			datatype = codes[i].code;
	if (v->dim[0] > 32767 || v->dim[1] > 32767 || v->dim[2] > 32767 || !datatype)
		return ctw_error(ctx, CTW_ERR_INVALID, path, "cannot store %s %lld x %lld x %lld in NIfTI-1",
				 ctw_dtype_name(v->dtype), (long long)v->dim[0], (long long)v->dim[1],
				 (long long)v->dim[2]);

	/* the geometry extension: text padded with NULs to a multiple of 16 bytes with its header */
	memset(ext, 0, sizeof(ext));
	i = snprintf(ext, sizeof(ext),
		     EXT_TAG " lps size %lld %lld %lld spacing %.17g %.17g %.17g origin %.17g %.17g %.17g "
			     "direction %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g",
		     (long long)v->dim[0], (long long)v->dim[1], (long long)v->dim[2], v->spacing[0],
		     v->spacing[1], v->spacing[2], v->origin[0], v->origin[1], v->origin[2],
		     v->direction[0][0], v->direction[0][1], v->direction[0][2], v->direction[1][0],
		     v->direction[1][1], v->direction[1][2], v->direction[2][0], v->direction[2][1],
		     v->direction[2][2]);
	if (plane)
		i += snprintf(ext + i, sizeof(ext) - (size_t)i, " base-plane %.17g %.17g %.17g %.17g %.17g %.17g",
			      plane[0], plane[1], plane[2], plane[3], plane[4], plane[5]);
	esize = (i + 1 + 8 + 15) / 16 * 16;

	memset(h, 0, sizeof(h));
	put_i32(h, 0, 348);
	put_i16(h, 40, 3);
	for (i = 0; i < 3; i++)
		put_i16(h, 42 + 2 * i, (int)v->dim[i]);
	for (i = 3; i < 7; i++)
		put_i16(h, 42 + 2 * i, 1);
	put_i16(h, 70, datatype);
	put_i16(h, 72, (int)(8 * ctw_dtype_size(v->dtype)));
	/* LPS -> RAS: negate the first two rows */
	for (r = 0; r < 3; r++)
		for (i = 0; i < 3; i++)
			ras[r][i] = (r < 2 ? -1.0 : 1.0) * v->direction[r][i];
	if (ras[0][0] * (ras[1][1] * ras[2][2] - ras[1][2] * ras[2][1]) -
		    ras[0][1] * (ras[1][0] * ras[2][2] - ras[1][2] * ras[2][0]) +
		    ras[0][2] * (ras[1][0] * ras[2][1] - ras[1][1] * ras[2][0]) <
	    0) {
		qfac = -1.0;
		for (r = 0; r < 3; r++)
			ras[r][2] = -ras[r][2];
	}
	quaternion(ras, q);
	put_f32(h, 76, qfac);
	for (i = 0; i < 3; i++)
		put_f32(h, 80 + 4 * i, v->spacing[i]);
	put_f32(h, 108, 352 + esize);           /* vox_offset */
	put_f32(h, 112, 1.0);                   /* scl_slope  */
	h[123] = 2;                             /* xyzt_units: mm */
	snprintf((char *)h + 148, 80, "cardiotwin %s", CTW_VERSION);
	put_i16(h, 252, 1);                     /* qform_code: scanner */
	put_i16(h, 254, 1);                     /* sform_code: scanner */
	for (i = 0; i < 3; i++) {
		put_f32(h, 256 + 4 * i, q[i]);
		put_f32(h, 268 + 4 * i, (i < 2 ? -1.0 : 1.0) * v->origin[i]);
		for (r = 0; r < 3; r++) /* srow_x, srow_y, srow_z */
			put_f32(h, 280 + 16 * i + 4 * r,
				(i < 2 ? -1.0 : 1.0) * v->direction[i][r] * v->spacing[r]);
		put_f32(h, 280 + 16 * i + 12, (i < 2 ? -1.0 : 1.0) * v->origin[i]);
	}
	memcpy(h + 344, "n+1", 4);
	h[348] = 1; /* extender: extensions follow */

	gz = gzopen(path, is_gz ? "wb6" : "wbT");
	if (!gz)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot create: %s", strerror(errno));
	{
		unsigned char eh[8];
		memcpy(eh, &esize, 4);
		put_i32(eh, 4, 6); /* NIFTI_ECODE_COMMENT */
		if (gzwrite(gz, h, sizeof(h)) != (int)sizeof(h) || gzwrite(gz, eh, 8) != 8 ||
		    gzwrite(gz, ext, (unsigned)(esize - 8)) != esize - 8)
			goto fail;
	}
	while ((size_t)done < bytes) {
		unsigned chunk = bytes - (size_t)done > (1u << 24) ? 1u << 24 : (unsigned)(bytes - (size_t)done);
		if (gzwrite(gz, (const char *)v->data + done, chunk) != (int)chunk)
			goto fail;
		done += chunk;
	}
	if (gzclose(gz) != Z_OK)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s (disk full?)", strerror(errno));
	return CTW_OK;
fail:
	gzclose(gz);
	return ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s (disk full?)", strerror(errno));
}
