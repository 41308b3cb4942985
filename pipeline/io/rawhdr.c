/* rawhdr.c: NRRD and MetaImage headers checked in C before ITK sees the file. ITK's readers
 * hang on a negative NDims, read voxels that are not there as zeros (short, truncated or
 * corrupt compressed data: MetaIO only prints a line), read /dev/zero as a data file, and
 * repair NaN spacings silently. Here: the header's sizes, type, encoding, spacings, directions
 * and origin are parsed and checked, the data file must be a regular file, and all the voxel
 * data must be there (compressed streams inflated to their end, bounded by the declared size). */
#define _POSIX_C_SOURCE 200809L
#include "image_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#define HDR_MAX (1 << 16)
#define MAXD 16

enum { ENC_RAW, ENC_GZIP, ENC_ZLIB, ENC_ASCII };

typedef struct hdr {
	int nrrd;
	int ndim;                 /* 0 until given */
	int64_t size[MAXD];
	int nsize;
	int bytes;                /* per component, 0 until given */
	int channels;
	int encoding;
	double dir[MAXD][3];      /* axis vectors (spacing included) or unit vectors (MetaImage) */
	int ndir, dir_none;
	double spacing[MAXD];
	int nspacing;
	double origin[3];
	int norigin;
	int64_t skip;             /* byte skip / HeaderSize: -1 = data at the end */
	int64_t line_skip;
	char datafile[1024];      /* "" = in this file */
	int64_t data_start;       /* offset of the data in this file */
	int64_t compressed_size;  /* MetaImage CompressedDataSize, -1 unknown */
} hdr;

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Parses up to max numbers separated by blanks, commas or parentheses; -1 on a bad token. */
static int numbers(const char *s, double *out, int max)
{
	int n = 0;
	while (*s) {
		char *end;
		double x;
		while (*s && (isspace((unsigned char)*s) || *s == ',' || *s == '(' || *s == ')'))
			s++;
		if (!*s)
			break;
		x = strtod(s, &end);
		if (end == s)
			return -1;
		if (n < max)
			out[n] = x;
		n++;
		s = end;
	}
	return n;
}

static int integers(const char *s, int64_t *out, int max)
{
	int n = 0;
	while (*s) {
		char *end;
		long long x;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (end == s || errno || (*end && !isspace((unsigned char)*end)))
			return -1;
		if (n < max)
			out[n] = x;
		n++;
		s = end;
	}
	return n;
}

static int type_bytes(const char *t, int nrrd)
{
	static const struct {
		const char *name;
		int bytes;
	} nr[] = { { "char", 1 },	    { "signed char", 1 },  { "int8", 1 },	  { "int8_t", 1 },
		   { "uchar", 1 },	    { "unsigned char", 1 }, { "uint8", 1 },	   { "uint8_t", 1 },
		   { "short", 2 },	    { "short int", 2 },	   { "signed short", 2 }, { "signed short int", 2 },
		   { "int16", 2 },	    { "int16_t", 2 },	   { "ushort", 2 },	   { "unsigned short", 2 },
		   { "unsigned short int", 2 }, { "uint16", 2 },  { "uint16_t", 2 },	   { "int", 4 },
		   { "signed int", 4 },	    { "int32", 4 },	   { "int32_t", 4 },	   { "uint", 4 },
		   { "unsigned int", 4 },   { "uint32", 4 },	   { "uint32_t", 4 },	   { "longlong", 8 },
		   { "long long", 8 },	    { "long long int", 8 }, { "signed long long", 8 },
		   { "signed long long int", 8 }, { "int64", 8 }, { "int64_t", 8 },	   { "ulonglong", 8 },
		   { "unsigned long long", 8 }, { "unsigned long long int", 8 }, { "uint64", 8 },
		   { "uint64_t", 8 },	    { "float", 4 },	   { "double", 8 } },
	  met[] = { { "MET_CHAR", 1 },	 { "MET_UCHAR", 1 },	{ "MET_SHORT", 2 },	{ "MET_USHORT", 2 },
		    { "MET_INT", 4 },	 { "MET_UINT", 4 },	{ "MET_LONG", 4 },	{ "MET_ULONG", 4 },
		    { "MET_LONG_LONG", 8 }, { "MET_ULONG_LONG", 8 }, { "MET_FLOAT", 4 }, { "MET_DOUBLE", 8 } };
	size_t i;
	if (nrrd) {
		for (i = 0; i < sizeof(nr) / sizeof(nr[0]); i++)
			if (strcasecmp(t, nr[i].name) == 0)
				return nr[i].bytes;
	} else {
		for (i = 0; i < sizeof(met) / sizeof(met[0]); i++)
			if (strcmp(t, met[i].name) == 0)
				return met[i].bytes;
	}
	return 0;
}

#define BAD(...) return ctw_error(ctx, CTW_ERR_FORMAT, path, __VA_ARGS__)

/* One "key: value" (NRRD) or "Key = Value" (MetaImage) line. */
static int field(ctw_ctx *ctx, const char *path, hdr *h, const char *key, char *val)
{
	const char *fmt = h->nrrd ? "NRRD" : "MetaImage";
	int n;

	if (h->nrrd ? strcmp(key, "dimension") == 0 : strcmp(key, "NDims") == 0) {
		int64_t d;
		if (integers(val, &d, 1) != 1 || d < 1 || d > MAXD)
			BAD("bad number of dimensions '%s' in the %s header", val, fmt);
		h->ndim = (int)d;
	} else if (h->nrrd ? strcmp(key, "sizes") == 0 : strcmp(key, "DimSize") == 0) {
		if ((n = integers(val, h->size, MAXD)) < 1 || n > MAXD)
			BAD("bad sizes '%s' in the %s header", val, fmt);
		h->nsize = n;
	} else if (h->nrrd ? strcmp(key, "type") == 0 : strcmp(key, "ElementType") == 0) {
		if (!(h->bytes = type_bytes(val, h->nrrd)))
			BAD("unsupported voxel type '%s' in the %s header", val, fmt);
	} else if (h->nrrd && strcmp(key, "encoding") == 0) {
		if (!strcmp(val, "raw"))
			h->encoding = ENC_RAW;
		else if (!strcmp(val, "gzip") || !strcmp(val, "gz"))
			h->encoding = ENC_GZIP;
		else if (!strcmp(val, "ascii") || !strcmp(val, "text") || !strcmp(val, "txt"))
			h->encoding = ENC_ASCII;
		else
			BAD("unsupported NRRD encoding '%s'; raw, gzip or ascii are read", val);
	} else if (!h->nrrd && strcmp(key, "CompressedData") == 0) {
		if (!strcasecmp(val, "true"))
			h->encoding = ENC_ZLIB;
		else if (strcasecmp(val, "false"))
			BAD("bad CompressedData '%s' in the MetaImage header", val);
	} else if (!h->nrrd && strcmp(key, "BinaryData") == 0) {
		if (!strcasecmp(val, "false"))
			BAD("text (BinaryData = False) MetaImage files are not supported");
		if (strcasecmp(val, "true"))
			BAD("bad BinaryData '%s' in the MetaImage header", val);
	} else if (!h->nrrd && strcmp(key, "CompressedDataSize") == 0) {
		if (integers(val, &h->compressed_size, 1) != 1 || h->compressed_size < 1)
			BAD("bad CompressedDataSize '%s' in the MetaImage header", val);
	} else if (!h->nrrd && strcmp(key, "ElementNumberOfChannels") == 0) {
		int64_t c;
		if (integers(val, &c, 1) != 1 || c < 1 || c > 64)
			BAD("bad ElementNumberOfChannels '%s' in the MetaImage header", val);
		h->channels = (int)c;
	} else if (!h->nrrd && strcmp(key, "ObjectType") == 0) {
		if (strcmp(val, "Image"))
			BAD("MetaImage ObjectType '%s'; an Image is expected", val);
	} else if (h->nrrd ? strcmp(key, "space directions") == 0
			   : (!strcmp(key, "TransformMatrix") || !strcmp(key, "Rotation") || !strcmp(key, "Orientation"))) {
		if (h->nrrd) {
			/* "(x,y,z) (x,y,z) none ..." */
			char *s = val;
			h->ndir = 0;
			while (*s && h->ndir < MAXD) {
				char *end;
				while (isspace((unsigned char)*s))
					s++;
				if (!*s)
					break;
				if (!strncmp(s, "none", 4)) {
					h->dir_none++;
					s += 4;
					continue;
				}
				if (*s != '(' || !(end = strchr(s, ')')))
					BAD("bad space directions '%s' in the NRRD header", val);
				*end = '\0';
				if (numbers(s + 1, h->dir[h->ndir], 3) != 3)
					BAD("space direction '%s)' of the NRRD header is not a 3-vector", s);
				h->ndir++;
				s = end + 1;
			}
		} else {
			double m[MAXD * MAXD];
			int i;
			n = numbers(val, m, MAXD * MAXD);
			if (n < 1)
				BAD("bad %s '%s' in the MetaImage header", key, val);
			if (n == 9)
				for (i = 0; i < 9; i++)
					h->dir[i / 3][i % 3] = m[i];
			else if (n == 4) /* 2-D */
				for (i = 0; i < 4; i++)
					h->dir[i / 2][i % 2] = m[i];
			else
				BAD("%s of the MetaImage header has %d values", key, n);
			h->ndir = n == 9 ? 3 : 2;
		}
	} else if (h->nrrd ? (!strcmp(key, "spacings")) : (!strcmp(key, "ElementSpacing") || !strcmp(key, "ElementSize"))) {
		if (h->nrrd || !strcmp(key, "ElementSpacing") || !h->nspacing) {
			if ((n = numbers(val, h->spacing, MAXD)) < 1)
				BAD("bad %s '%s' in the %s header", key, val, fmt);
			h->nspacing = n;
		}
	} else if (h->nrrd ? !strcmp(key, "space origin") : (!strcmp(key, "Offset") || !strcmp(key, "Position") || !strcmp(key, "Origin"))) {
		if ((n = numbers(val, h->origin, 3)) < 1 || n > 3)
			BAD("bad %s '%s' in the %s header", key, val, fmt);
		h->norigin = n;
	} else if (h->nrrd ? (!strcmp(key, "byte skip") || !strcmp(key, "byteskip")) : !strcmp(key, "HeaderSize")) {
		if (integers(val, &h->skip, 1) != 1 || h->skip < -1)
			BAD("bad %s '%s' in the %s header", key, val, fmt);
	} else if (h->nrrd && (!strcmp(key, "line skip") || !strcmp(key, "lineskip"))) {
		if (integers(val, &h->line_skip, 1) != 1 || h->line_skip < 0 || h->line_skip > 1000000)
			BAD("bad line skip '%s' in the NRRD header", val);
	} else if (h->nrrd ? (!strcmp(key, "data file") || !strcmp(key, "datafile")) : !strcmp(key, "ElementDataFile")) {
		if (!strcmp(val, "LIST") || strchr(val, '%') || strchr(val, ' '))
			BAD("data split over several files ('%s') is not supported; join it into one file", val);
		if (h->nrrd || strcmp(val, "LOCAL"))
			snprintf(h->datafile, sizeof(h->datafile), "%s", val);
	}
	return CTW_OK;
}

/* Checks the geometry and sizes once the header is parsed. */
static int check_geometry(ctw_ctx *ctx, const char *path, hdr *h, int64_t *nvox)
{
	const char *fmt = h->nrrd ? "NRRD" : "MetaImage";
	int i, j, sd;

	if (!h->ndim || !h->nsize || !h->bytes)
		BAD("the %s header lacks its %s", fmt,
		    !h->ndim ? "number of dimensions" : !h->nsize ? "sizes" : "voxel type");
	if (h->nsize != h->ndim)
		BAD("the %s header gives %d sizes for %d dimensions", fmt, h->nsize, h->ndim);
	*nvox = 1;
	for (i = 0; i < h->ndim; i++) {
		if (h->size[i] < 1)
			BAD("size %lld along axis %d in the %s header", (long long)h->size[i], i, fmt);
		if (h->size[i] > ctw_ctx_max_voxels(ctx) / *nvox)
			BAD("%s header sizes exceed the limit of %lld voxels", fmt, (long long)ctw_ctx_max_voxels(ctx));
		*nvox *= h->size[i];
	}
	sd = h->ndim < 3 ? h->ndim : 3; /* spatial axes */
	if (h->nspacing) {
		if (h->nspacing < sd)
			BAD("the %s header gives %d spacings for %d dimensions", fmt, h->nspacing, h->ndim);
		for (i = 0; i < sd; i++)
			if (!isfinite(h->spacing[i]) || h->spacing[i] <= 0 || h->spacing[i] > 1e6)
				BAD("voxel spacing along axis %d is %g in the %s header; must be finite, > 0 and "
				    "at most 1e6 mm",
				    i, h->spacing[i], fmt);
	}
	if (h->norigin) {
		for (i = 0; i < h->norigin; i++)
			if (!isfinite(h->origin[i]) || fabs(h->origin[i]) > 1e9)
				BAD("the origin in the %s header is not finite (or beyond 1e9 mm)", fmt);
	}
	if (h->dir_none && h->ndir < sd)
		BAD("a spatial axis of the NRRD image has no space direction ('none')");
	if (h->ndir) {
		double len[3] = { 1, 1, 1 }, det;
		int n = h->ndir < 3 ? h->ndir : 3, dims = h->nrrd ? 3 : n;
		if (h->ndir < sd)
			BAD("the %s header gives %d directions for %d dimensions", fmt, h->ndir, h->ndim);
		for (i = 0; i < n; i++) {
			double s = 0;
			for (j = 0; j < dims; j++) {
				if (!isfinite(h->dir[i][j]))
					BAD("the direction of axis %d in the %s header is not finite", i, fmt);
				s += h->dir[i][j] * h->dir[i][j];
			}
			len[i] = sqrt(s);
			if (!(len[i] > 0) || !isfinite(len[i]) || len[i] > 1e6)
				BAD("the direction of axis %d in the %s header has length %g", i, fmt, len[i]);
		}
		if (n == 3) {
			double (*d)[3] = h->dir;
			det = d[0][0] * (d[1][1] * d[2][2] - d[1][2] * d[2][1]) - d[0][1] * (d[1][0] * d[2][2] - d[1][2] * d[2][0]) +
			      d[0][2] * (d[1][0] * d[2][1] - d[1][1] * d[2][0]);
			if (!(fabs(det) > 1e-6 * len[0] * len[1] * len[2]))
				BAD("the direction matrix in the %s header is singular; the orientation is undefined", fmt);
		} else if (n == 2) {
			det = h->dir[0][0] * h->dir[1][1] - h->dir[0][1] * h->dir[1][0];
			if (!h->nrrd && !(fabs(det) > 1e-6 * len[0] * len[1]))
				BAD("the direction matrix in the %s header is singular; the orientation is undefined", fmt);
		}
	}
	return CTW_OK;
}

/* Inflates the compressed stream of f from its position: all of it must decode (to its end,
 * with a good check value) to at least need bytes, and not much more. */
static int check_compressed(ctw_ctx *ctx, const char *path, FILE *f, int64_t need, int64_t limit_in)
{
	unsigned char in[1 << 15], out[1 << 16];
	int64_t got = 0, slack = (1 << 20) + need / 16, read_in = 0;
	z_stream z;
	int zr = Z_OK, ret = CTW_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return ctw_error(ctx, CTW_ERR_NOMEM, path, "cannot start zlib");
	while (zr != Z_STREAM_END) {
		size_t want = sizeof(in);
		if (limit_in >= 0 && (int64_t)want > limit_in - read_in)
			want = (size_t)(limit_in - read_in);
		if (z.avail_in == 0) {
			z.avail_in = want ? (unsigned)fread(in, 1, want, f) : 0;
			z.next_in = in;
			read_in += z.avail_in;
			if (z.avail_in == 0)
				break;
		}
		z.next_out = out;
		z.avail_out = sizeof(out);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END)
			break;
		got += (int64_t)(sizeof(out) - z.avail_out);
		if (got > need + slack)
			break;
	}
	inflateEnd(&z);
	if (got > need + slack)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
				"the compressed voxel data inflate to more than the %lld bytes the header declares; "
				"the header or the data is corrupt",
				(long long)need);
	else if (zr != Z_STREAM_END)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "truncated or corrupt compressed voxel data (%s)",
				zr == Z_OK || zr == Z_BUF_ERROR ? "the stream ends early" : z.msg ? z.msg : "bad data");
	else if (got < need)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
				"truncated: %lld bytes of voxel data expected, %lld found", (long long)need, (long long)got);
	return ret;
}

/* Counts the numbers of a text (ascii) data section. */
static int check_ascii(ctw_ctx *ctx, const char *path, FILE *f, int64_t nvox)
{
	char tok[128];
	int64_t n = 0;
	int c, len = 0;

	for (;;) {
		c = fgetc(f);
		if (c == EOF || isspace(c) || c == ',') {
			if (len) {
				char *end;
				tok[len] = '\0';
				strtod(tok, &end);
				if (*end)
					BAD("'%s' in the text voxel data is not a number", tok);
				if (++n > nvox + nvox / 16 + 1024)
					BAD("more text voxel values than the header's %lld", (long long)nvox);
				len = 0;
			}
			if (c == EOF)
				break;
		} else if (len < (int)sizeof(tok) - 1) {
			tok[len++] = (char)c;
		} else {
			BAD("an overlong token in the text voxel data");
		}
	}
	if (n < nvox)
		BAD("truncated: %lld text voxel values expected, %lld found", (long long)nvox, (long long)n);
	return CTW_OK;
}

int ctw_rawhdr_check(ctw_ctx *ctx, const char *path)
{
	char *buf = NULL, *line, *next, data_path[4096];
	hdr h;
	FILE *f = NULL, *df = NULL;
	struct stat st, dst;
	int64_t nvox = 0, need, avail, start;
	size_t n;
	int ret = CTW_OK, ended = 0;

	memset(&h, 0, sizeof(h));
	h.channels = 1;
	h.compressed_size = -1;
	if (stat(path, &st) != 0)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "not a regular file; an image file is expected");
	if (!(f = fopen(path, "rb")))
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	if (!(buf = ctw_malloc(ctx, HDR_MAX + 1))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	n = fread(buf, 1, HDR_MAX, f);
	buf[n] = '\0';
	h.nrrd = n >= 8 && !memcmp(buf, "NRRD000", 7);
	if (!h.nrrd && !strstr(buf, "NDims") && !strstr(buf, "ObjectType")) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "not a NRRD or MetaImage file (no header found)");
		goto out;
	}
	/* header lines; the data (when in this file) starts after them */
	for (line = buf; line < buf + n && !ended; line = next) {
		char *nl = memchr(line, '\n', (size_t)(buf + n - line)), *key, *val;
		if (!nl) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "the header does not end (no data follows it)");
			goto out;
		}
		*nl = '\0';
		next = nl + 1;
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (h.nrrd) {
			if (line == buf)
				continue; /* the magic */
			if (!*line) {
				ended = 1;
				break;
			}
			if (line[0] == '#' || !(val = strstr(line, ":")))
				continue;
			if (val[1] == '=')
				continue; /* key/value pair */
			*val = '\0';
			key = trim(line);
			val = trim(val + 1);
		} else {
			if (!(val = strchr(line, '=')))
				continue;
			*val = '\0';
			key = trim(line);
			val = trim(val + 1);
		}
		if ((ret = field(ctx, path, &h, key, val)))
			goto out;
		if (!h.nrrd && !strcmp(key, "ElementDataFile"))
			ended = 1;
	}
	if (!ended) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "the %s header does not end%s", h.nrrd ? "NRRD" : "MetaImage",
				h.nrrd ? " (no blank line)" : " (no ElementDataFile)");
		goto out;
	}
	h.data_start = next - buf;
	if ((ret = check_geometry(ctx, path, &h, &nvox)))
		goto out;
	if (h.channels != 1) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "%d components per voxel; a scalar image is expected",
				h.channels);
		goto out;
	}
	need = nvox * h.bytes;
	/* the data: this file after the header, or a detached file beside the header */
	if (h.datafile[0]) {
		const char *slash = strrchr(path, '/');
		if (h.datafile[0] == '/' || !slash)
			snprintf(data_path, sizeof(data_path), "%s", h.datafile);
		else
			snprintf(data_path, sizeof(data_path), "%.*s/%s", (int)(slash - path), path, h.datafile);
		if (stat(data_path, &dst) != 0) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "its data file '%s' cannot be opened: %s", data_path,
					strerror(errno));
			goto out;
		}
		if (!S_ISREG(dst.st_mode)) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "its data file '%s' is not a regular file", data_path);
			goto out;
		}
		if (!(df = fopen(data_path, "rb"))) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "its data file '%s' cannot be opened: %s", data_path,
					strerror(errno));
			goto out;
		}
		start = 0;
		avail = dst.st_size;
	} else {
		df = f;
		f = NULL;
		start = h.data_start;
		avail = st.st_size - start;
	}
	if (h.skip == -1) {
		if (h.encoding != ENC_RAW) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "a data offset of -1 (at the end) needs raw data");
			goto out;
		}
		if (avail < need)
			goto truncated;
		goto out; /* the last need bytes */
	}
	if (h.skip > avail) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "the header skips %lld bytes; only %lld follow",
				(long long)h.skip, (long long)avail);
		goto out;
	}
	if (!h.nrrd && h.skip > 0 && !h.datafile[0]) {
		/* HeaderSize in a .mha counts from the start of the file */
		start = h.skip;
		avail = st.st_size - start;
	} else {
		start += h.skip;
		avail -= h.skip;
	}
	if (fseeko(df, (off_t)start, SEEK_SET) != 0) {
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot read: %s", strerror(errno));
		goto out;
	}
	for (int64_t k = 0; k < h.line_skip; k++) {
		int c;
		while ((c = fgetc(df)) != EOF && c != '\n')
			avail--;
		avail--;
		if (c == EOF)
			goto truncated;
	}
	switch (h.encoding) {
	case ENC_RAW:
		if (avail < need)
			goto truncated;
		if (avail > need + 64 && !h.datafile[0]) { /* more than a stray newline */
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
					"%lld bytes of voxel data follow the header, which declares %lld; the header "
					"is corrupt",
					(long long)avail, (long long)need);
			goto out;
		}
		break;
	case ENC_GZIP:
	case ENC_ZLIB:
		if (h.compressed_size > avail) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
					"CompressedDataSize %lld exceeds the %lld bytes that follow the header",
					(long long)h.compressed_size, (long long)avail);
			goto out;
		}
		ret = check_compressed(ctx, path, df, need, h.compressed_size);
		break;
	case ENC_ASCII:
		ret = check_ascii(ctx, path, df, nvox);
		break;
	}
	goto out;
truncated:
	ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "truncated: %lld bytes of voxel data expected, %lld found",
			(long long)need, (long long)(avail > 0 ? avail : 0));
out:
	if (df)
		fclose(df);
	if (f)
		fclose(f);
	ctw_free(ctx, buf);
	return ret;
}
