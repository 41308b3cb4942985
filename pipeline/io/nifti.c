/* nifti.c: NIfTI-1 in C: a header checker that runs before ITK reads a file (ITK's reader
 * silently repairs zero or NaN voxel sizes and zero-fills truncated gzip streams), and the
 * writer. The writer stores the geometry twice: in the standard float32 qform/sform (RAS), and
 * with full double precision in a comment extension that our reader prefers when it agrees with
 * the sform, so a round trip keeps every voxel's world position to far better than 1e-6 mm. */
#define _POSIX_C_SOURCE 200809L
#include "image_int.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
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
 * voxel limit and voxel sizes, type codes, scaling, and the orientation matrices (ITK aborts on
 * a non-finite sform and silently repairs a bad quaternion), then that all the voxel data is
 * there and nothing more than a little: for gzip by inflating the whole stream up to its
 * trailer, bounded by the declared size (ITK's reader silently zero-fills a truncated stream and
 * ignores a bad CRC). */
static int parse_extension(const unsigned char *e, int64_t n, int sw, ctw_nifti_exact *x);

/* Bits per voxel of a NIfTI datatype code, 0 when unknown. */
static int datatype_bits(int64_t code)
{
	static const int table[][2] = { { 2, 8 },     { 4, 16 },    { 8, 32 },    { 16, 32 },   { 32, 64 },
					{ 64, 64 },   { 128, 24 },  { 256, 8 },   { 512, 16 },  { 768, 32 },
					{ 1024, 64 }, { 1280, 64 }, { 1536, 128 }, { 1792, 128 }, { 2048, 256 },
					{ 2304, 32 } };
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i][0] == code)
			return table[i][1];
	return 0;
}

static double det3(double m[3][3])
{
	return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
	       m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/* Non-zero when the 3x3 part of m is singular (relative to its column lengths). */
static int singular(double m[3][3])
{
	double len = 1.0;
	for (int c = 0; c < 3; c++)
		len *= sqrt(m[0][c] * m[0][c] + m[1][c] * m[1][c] + m[2][c] * m[2][c]);
	return !(len > 0.0) || !(fabs(det3(m)) > 1e-6 * len);
}

/* The header fields of h (n bytes read) that ITK would trust or repair silently. */
static int check_header(ctw_ctx *ctx, const char *path, const unsigned char *h, int v2, int sw,
			const double pixdim[8])
{
	const char *what = v2 ? "NIfTI-2" : "NIfTI";
	int64_t datatype = v2 ? hdr_i16(h, 12, sw) : hdr_i16(h, 70, sw);
	int64_t bitpix = v2 ? hdr_i16(h, 14, sw) : hdr_i16(h, 72, sw);
	int64_t qcode = v2 ? hdr_i32(h, 344, sw) : hdr_i16(h, 252, sw);
	int64_t scode = v2 ? hdr_i32(h, 348, sw) : hdr_i16(h, 254, sw);
	double slope = v2 ? hdr_f64(h, 176, sw) : hdr_f32(h, 112, sw);
	double inter = v2 ? hdr_f64(h, 184, sw) : hdr_f32(h, 116, sw);
	double q[3], qo[3], srow[3][4], m[3][3];
	int bits = datatype_bits(datatype), i, j;

	if (v2 ? memcmp(h + 4, "n+2\0\r\n\032\n", 8) != 0 : memcmp(h + 344, "n+1", 4) != 0) {
		const unsigned char *g = h + (v2 ? 4 : 344);
		if (!v2 && memcmp(g, "ni1", 4) == 0)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "the NIfTI header says its voxels are in a separate .img file (magic 'ni1'); "
					 "convert the .hdr/.img pair to a single .nii file");
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "bad %s magic '%c%c%c' (Analyze 7.5 or a damaged header); Analyze files are "
				 "not accepted since their orientation is undefined: convert the image to NIfTI",
				 what, isprint(g[0]) ? g[0] : '?', isprint(g[1]) ? g[1] : '?', isprint(g[2]) ? g[2] : '?');
	}
	if (!bits)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "unknown voxel datatype code %lld in the %s header",
				 (long long)datatype, what);
	if (bitpix != bits)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "bits per voxel (%lld) disagree with the datatype code %lld (%d bits) in the %s "
				 "header; the header is corrupt",
				 (long long)bitpix, (long long)datatype, bits, what);
	if (!isfinite(slope) || !isfinite(inter) || (slope != 0.0 && fabs(slope) > 1e30))
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "intensity scaling (scl_slope %g, scl_inter %g) is not finite in the %s header",
				 slope, inter, what);
	if (qcode < 0 || qcode > 5 || scode < 0 || scode > 5)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "bad qform_code %lld or sform_code %lld in the %s header",
				 (long long)qcode, (long long)scode, what);
	for (i = 0; i < 3; i++) {
		q[i] = v2 ? hdr_f64(h, 352 + 8 * i, sw) : hdr_f32(h, 256 + 4 * i, sw);
		qo[i] = v2 ? hdr_f64(h, 376 + 8 * i, sw) : hdr_f32(h, 268 + 4 * i, sw);
		for (j = 0; j < 4; j++)
			srow[i][j] = v2 ? hdr_f64(h, 400 + 32 * i + 8 * j, sw) : hdr_f32(h, 280 + 16 * i + 4 * j, sw);
	}
	if (qcode > 0) {
		double b2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2];
		for (i = 0; i < 3; i++)
			if (!isfinite(q[i]) || !isfinite(qo[i]))
				return ctw_error(ctx, CTW_ERR_FORMAT, path,
						 "the qform (quaternion %g %g %g, offset %g %g %g) is not finite in the "
						 "%s header",
						 q[0], q[1], q[2], qo[0], qo[1], qo[2], what);
		if (!(b2 <= 1.0 + 1e-4))
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "the qform quaternion (%g %g %g) is longer than 1 in the %s header; the "
					 "orientation is undefined",
					 q[0], q[1], q[2], what);
		/* pixdim[1..dim[0]] > 0 was checked by the caller (a missing axis counts as 1 mm) */
		if (!isfinite(pixdim[0]))
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "qfac (pixdim[0]) is %g in the %s header",
					 pixdim[0], what);
	}
	if (scode > 0) {
		for (i = 0; i < 3; i++)
			for (j = 0; j < 4; j++)
				if (!isfinite(srow[i][j]))
					return ctw_error(ctx, CTW_ERR_FORMAT, path,
							 "the sform row %c holds %g in the %s header; the orientation "
							 "matrix must be finite",
							 "xyz"[i], srow[i][j], what);
		for (i = 0; i < 3; i++)
			for (j = 0; j < 3; j++)
				m[i][j] = srow[i][j];
		if (singular(m))
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "the sform matrix of the %s header is singular (determinant %g); the "
					 "orientation is undefined",
					 what, det3(m));
	}
	return CTW_OK;
}

int ctw_nifti_check(ctw_ctx *ctx, const char *path, ctw_nifti_exact *exact)
{
	unsigned char h[4096]; /* the header and the extensions we write */
	unsigned char *buf = NULL;
	int64_t dim[8], nvox = 1, bitpix, vox_offset, need, have, slack;
	double pixdim[8], off;
	int n, sw = 0, v2, i, gzerr = Z_OK, ret = CTW_OK;
	const char *gzmsg = NULL;
	struct stat st;
	gzFile gz;

	memset(exact, 0, sizeof(*exact));
	if (stat(path, &st) != 0)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "not a regular file (%s); a NIfTI file is expected",
				 S_ISDIR(st.st_mode) ? "a directory" : "a device, pipe or socket");
	gz = gzopen(path, "rb");
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
	off = v2 ? (double)hdr_i64(h, 168, sw) : hdr_f32(h, 108, sw);
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
	if ((ret = check_header(ctx, path, h, v2, sw, pixdim)))
		goto out;
	if (v2) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
				"NIfTI-2 files are not supported (the ITK reader of this build reads NIfTI-1 "
				"only); convert it to NIfTI-1 (e.g. with nibabel)");
		goto out;
	}
	if (!(off >= (v2 ? 540 : 348) && off <= (double)(1 << 30) && off == floor(off))) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "bad voxel data offset (vox_offset %g) in the NIfTI header",
				off);
		goto out;
	}
	vox_offset = (int64_t)off;
	/* Our geometry extension, if any, lies between the header and the voxel data. */
	{
		int64_t hs = v2 ? 540 : 348, end = vox_offset < n ? vox_offset : n;
		if (h[hs] && end > hs + 4 && (ret = parse_extension(h + hs + 4, end - hs - 4, sw, exact)) < 0) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
					"cardiotwin's geometry extension holds a non-finite value%s; the file is "
					"corrupt (write it again with cardiotwin)",
					ret == -2 ? " or a zero base-plane normal" : "");
			goto out;
		}
		ret = CTW_OK;
	}
	/* Count the bytes after the header; gzread reads plain files as they are. Read to the end
	 * (the gzip trailer's CRC and length are checked there), but never much past the declared
	 * size, so a small file that inflates to gigabytes is refused quickly. */
	need = vox_offset + nvox * (bitpix / 8);
	slack = (1 << 20) + need / 16;
	have = n;
	if (!(buf = ctw_malloc(ctx, 1 << 16))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		int k = gzread(gz, buf, 1 << 16);
		if (k <= 0) {
			gzmsg = gzerror(gz, &gzerr);
			break;
		}
		have += k;
		if (have > need + slack)
			break;
	}
	if (have < need)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
				"truncated or corrupt: %lld bytes of voxel data expected, %lld found",
				(long long)(need - vox_offset), (long long)(have > vox_offset ? have - vox_offset : 0));
	else if (have > need + slack)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
				"more than %lld bytes follow the %lld bytes of voxel data the NIfTI header declares; "
				"the header is corrupt",
				(long long)slack, (long long)(need - vox_offset));
	else if (gzerr != Z_OK && gzerr != Z_STREAM_END)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "corrupt gzip stream (%s): truncated or damaged file",
				gzmsg && *gzmsg ? gzmsg : "read error");
out:
	ctw_free(ctx, buf);
	if (gzclose(gz) != Z_OK && !ret)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "corrupt gzip stream: truncated or damaged file");
	if (ret)
		memset(exact, 0, sizeof(*exact));
	else if (exact->present && (exact->dim[0] != dim[1] || exact->dim[1] != (dim[0] > 1 ? dim[2] : 1) ||
				       exact->dim[2] != (dim[0] > 2 ? dim[3] : 1)))
		exact->present = 0;
	return ret;
}

/* Finds our geometry comment among the extensions e[0..n) (each: esize, ecode, data): 1 found,
 * 0 none, -1 a non-finite or non-positive value in it, -2 a zero base-plane normal. */
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
				for (int k = 0; k < 18; k++) {
					double val = k < 3 ? s[k] : k < 6 ? o[k - 3] : d[(k - 6) / 3][(k - 6) % 3];
					if (!isfinite(val) || (k < 3 && val <= 0))
						return -1;
				}
				if (x->has_plane) {
					double len = sqrt(q[3] * q[3] + q[4] * q[4] + q[5] * q[5]);
					for (int k = 0; k < 6; k++)
						if (!isfinite(q[k]))
							return -1;
					if (!(len > 1e-9) || !isfinite(len))
						return -2;
					for (int k = 3; k < 6; k++)
						q[k] /= len;
				}
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
	errno = 0;
	if (gzclose(gz) != Z_OK)
		return ctw_error(ctx, CTW_ERR_EXTERNAL, path, "cannot write: %s", errno ? strerror(errno) : "write error");
	return CTW_OK;
fail:
	{
		int err = errno;
		gzclose(gz);
		return ctw_error(ctx, CTW_ERR_EXTERNAL, path, "cannot write: %s", err ? strerror(err) : "write error");
	}
}

/* ---- one volume of a 4-D file --------------------------------------------------------------- */

#define RAW_AS(T)                               \
	do {                                    \
		T x_;                           \
		memcpy(&x_, p, sizeof(x_));     \
		*f = (float)x_;                 \
		*d = (double)x_;                \
	} while (0)

/* The voxel at p (datatype code, host byte order) cast to float directly, as ITK casts it (a
 * 64-bit integer rounds once), and to double. */
static void raw_value(const unsigned char *p, int64_t code, float *f, double *d)
{
	switch (code) {
	case 2: RAW_AS(uint8_t); break;
	case 4: RAW_AS(int16_t); break;
	case 8: RAW_AS(int32_t); break;
	case 16: RAW_AS(float); break;
	case 64: RAW_AS(double); break;
	case 256: RAW_AS(int8_t); break;
	case 512: RAW_AS(uint16_t); break;
	case 768: RAW_AS(uint32_t); break;
	case 1024: RAW_AS(int64_t); break;
	case 1280: RAW_AS(uint64_t); break;
	default: *f = 0.0f, *d = 0.0; break;
	}
}

/* x truncated toward zero (a C cast, as ITK converts) and clamped to [lo, hi]; NaN is 0. */
static double trunc_clamp(double x, double lo, double hi)
{
	if (x != x)
		return 0.0;
	x = trunc(x);
	return x < lo ? lo : x > hi ? hi : x;
}

/* Stores the frame's voxels raw[0..n) (file type, file byte order) in v as ITK's reader does for a
 * 3-D file: an integer type scaled by scl_slope/scl_inter becomes float first, the scaling is
 * computed in double and rounded to float (to double for float64 data), and the result is cast
 * to v's type. */
static void frame_convert(unsigned char *raw, int64_t n, int64_t code, int size, int sw, double slope,
			  double inter, ctw_volume *v)
{
	const int rescale = fabs(slope) > DBL_EPSILON && (fabs(slope - 1.0) > DBL_EPSILON || fabs(inter) > DBL_EPSILON);

	for (int64_t i = 0; i < n; i++) {
		unsigned char *p = raw + i * size;
		float f;
		double d;
		if (sw)
			for (int a = 0, b = size - 1; a < b; a++, b--) {
				unsigned char c = p[a];
				p[a] = p[b];
				p[b] = c;
			}
		raw_value(p, code, &f, &d);
		if (rescale && code == 64) {
			d = d * slope + inter;
			f = (float)d;
		} else if (rescale) {
			f = (float)((double)f * slope + inter);
			d = f;
		}
		switch (v->dtype) {
		case CTW_U8:
			((uint8_t *)v->data)[i] = (uint8_t)trunc_clamp(d, 0, UINT8_MAX);
			break;
		case CTW_I16:
			((int16_t *)v->data)[i] = (int16_t)trunc_clamp(d, INT16_MIN, INT16_MAX);
			break;
		case CTW_U16:
			((uint16_t *)v->data)[i] = (uint16_t)trunc_clamp(d, 0, UINT16_MAX);
			break;
		case CTW_I32:
			((int32_t *)v->data)[i] = (int32_t)trunc_clamp(d, INT32_MIN, INT32_MAX);
			break;
		case CTW_F32:
			((float *)v->data)[i] = f;
			break;
		}
	}
}

int ctw_nifti_read_frame(ctw_ctx *ctx, const char *path, int t, ctw_volume *v)
{
	unsigned char h[348], *raw = NULL;
	int64_t dim[8], code, size, nvox = 1, start, bytes, done = 0;
	double off, slope, inter;
	int sw, i, ret = CTW_OK;
	struct stat st;
	gzFile gz;

	if (stat(path, &st) != 0)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	gz = gzopen(path, "rb");
	if (!gz)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	if (gzread(gz, h, sizeof(h)) != (int)sizeof(h) || (hdr_i32(h, 0, 0) != 348 && hdr_i32(h, 0, 1) != 348)) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "not a NIfTI-1 file (changed while reading?)");
		goto out;
	}
	sw = hdr_i32(h, 0, 0) != 348;
	for (i = 0; i < 8; i++)
		dim[i] = hdr_i16(h, 40 + 2 * i, sw);
	code = hdr_i16(h, 70, sw);
	size = hdr_i16(h, 72, sw) / 8;
	off = hdr_f32(h, 108, sw);
	slope = hdr_f32(h, 112, sw);
	inter = hdr_f32(h, 116, sw);
	if (dim[0] < 4 || t < 1 || t > dim[4] || dim[1] != v->dim[0] || dim[2] != v->dim[1] || dim[3] != v->dim[2] ||
	    !(off >= 348 && off <= (double)(1 << 30))) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "image size changed while reading");
		goto out;
	}
	if (!(code == 2 || code == 4 || code == 8 || code == 16 || code == 64 || code == 256 || code == 512 ||
	      code == 768 || code == 1024 || code == 1280) ||
	    8 * size != datatype_bits(code)) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
				"voxel datatype code %lld is not read from a 4-D NIfTI file (scalar integer or "
				"float types only)",
				(long long)code);
		goto out;
	}
	for (i = 1; i <= 3; i++) {
		if (dim[i] < 1 || dim[i] > ctw_ctx_max_voxels(ctx) / nvox) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "image size changed while reading");
			goto out;
		}
		nvox *= dim[i];
	}
	/* the frame's bytes: [start, start + bytes), overflow-checked, within a plain file */
	bytes = nvox * size;
	if ((int64_t)(t - 1) > (INT64_MAX - (int64_t)off - bytes) / bytes) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "volume %d lies beyond any file size", t);
		goto out;
	}
	start = (int64_t)off + (int64_t)(t - 1) * bytes;
	if (gzdirect(gz) && start + bytes > (int64_t)st.st_size) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "truncated: volume %d ends at byte %lld of %lld", t,
				(long long)(start + bytes), (long long)st.st_size);
		goto out;
	}
	if (!(raw = ctw_malloc(ctx, (size_t)bytes))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	if (gzseek(gz, (z_off_t)start, SEEK_SET) != (z_off_t)start) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "truncated or corrupt: cannot reach volume %d", t);
		goto out;
	}
	while (done < bytes) {
		unsigned chunk = bytes - done > (1 << 30) ? 1u << 30 : (unsigned)(bytes - done);
		int k = gzread(gz, raw + done, chunk);
		if (k <= 0)
			break;
		done += k;
	}
	if (done < bytes) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "truncated or corrupt: %lld of the %lld bytes of volume %d read",
				(long long)done, (long long)bytes, t);
		goto out;
	}
	frame_convert(raw, nvox, code, (int)size, sw, slope, inter, v);
out:
	ctw_free(ctx, raw);
	if (gzclose(gz) != Z_OK && !ret)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "corrupt gzip stream: truncated or damaged file");
	return ret;
}
