/* dicom.c: a DICOM directory scanner. Each file is parsed element by element (Part 5: explicit
 * and implicit VR little endian, sequences and items of defined or undefined length,
 * encapsulated pixel data), every length checked against the file size, so a damaged file is
 * skipped with a count instead of reaching GDCM, whose Debian build aborts on some of them. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "dicom.h"
#include "fs.h"
#include "image_int.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define UNDEFINED 0xFFFFFFFFu
#define MAX_DEPTH 16

typedef struct reader {
	const unsigned char *p, *end;
	int explicit_vr;
	ctw_dicom_file *f;
} reader;

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Copies a string value without padding spaces and NULs. */
static void str_value(const unsigned char *v, uint32_t n, char *out, size_t cap)
{
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\0'))
		n--;
	while (n > 0 && v[0] == ' ') {
		v++;
		n--;
	}
	if (n >= cap)
		n = (uint32_t)cap - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

/* Parses up to max backslash-separated decimals; returns how many were read. */
static int decimals(const unsigned char *v, uint32_t n, double *out, int max)
{
	char buf[256], *s, *end;
	int k = 0;
	str_value(v, n, buf, sizeof(buf));
	for (s = buf; k < max; s = end + 1) {
		double x = strtod(s, &end);
		if (end == s || !isfinite(x))
			return k;
		while (*end == ' ')
			end++;
		if (*end != '\\' && *end != '\0')
			return k; /* "1.5abc": not a decimal string */
		out[k++] = x;
		if (*end != '\\')
			break;
	}
	return k;
}

/* Notes the first attribute whose value is present but invalid. */
static void mark_bad(ctw_dicom_file *f, const char *name)
{
	if (!f->bad[0])
		snprintf(f->bad, sizeof(f->bad), "%s", name);
}

/* A decimal string attribute of exactly want values: writes them and returns 1; returns 0 when
 * the attribute is empty (absent) and marks it bad (returning 0) when it is invalid: not
 * numbers, non-finite, too few or too many values. The output is left unchanged unless valid. */
static int decimal_attr(ctw_dicom_file *f, const char *name, const unsigned char *v, uint32_t n,
			double *out, int want)
{
	double tmp[8];
	char buf[256];
	int k;
	str_value(v, n, buf, sizeof(buf));
	if (!buf[0])
		return 0;
	k = decimals(v, n, tmp, want + 1);
	if (k != want) {
		mark_bad(f, name);
		return 0;
	}
	memcpy(out, tmp, sizeof(double) * (size_t)want);
	return 1;
}

/* An unsigned short (US) attribute: its value, or 0 when empty; marks a wrong length bad. */
static int us_attr(ctw_dicom_file *f, const char *name, const unsigned char *v, uint32_t n)
{
	if (n == 0)
		return 0;
	if (n != 2) {
		mark_bad(f, name);
		return 0;
	}
	return rd16(v);
}

static int int_value(const unsigned char *v, uint32_t n, int *ok)
{
	char buf[32], *end;
	long x;
	str_value(v, n, buf, sizeof(buf));
	x = strtol(buf, &end, 10);
	*ok = buf[0] && *end == '\0' && x >= -1000000 && x <= 1000000;
	return *ok ? (int)x : 0;
}

static void take(reader *r, uint16_t g, uint16_t e, const unsigned char *v, uint32_t n, int depth)
{
	ctw_dicom_file *f = r->f;
	char buf[64];
	int ok;
	if (depth > 0)
		return;
	switch (((uint32_t)g << 16) | e) {
	case 0x00020010:
		str_value(v, n, f->syntax, sizeof(f->syntax));
		break;
	case 0x00080020:
		str_value(v, n, f->study_date, sizeof(f->study_date));
		break;
	case 0x00080060:
		str_value(v, n, f->modality, sizeof(f->modality));
		break;
	case 0x00080070:
		str_value(v, n, f->manufacturer, sizeof(f->manufacturer));
		break;
	case 0x0008103E:
		str_value(v, n, f->description, sizeof(f->description));
		break;
	case 0x00180050:
		decimals(v, n, &f->thickness, 1); /* informative only: the geometry uses positions */
		break;
	case 0x00180087:
		decimals(v, n, &f->field_strength, 1);
		break;
	case 0x00181060:
		decimal_attr(f, "TriggerTime", v, n, &f->trigger_time, 1);
		break;
	case 0x00181120:
		decimal_attr(f, "GantryDetectorTilt", v, n, &f->gantry_tilt, 1);
		break;
	case 0x0020000D:
		str_value(v, n, f->study_uid, sizeof(f->study_uid));
		break;
	case 0x0020000E:
		str_value(v, n, f->series_uid, sizeof(f->series_uid));
		break;
	case 0x00200011:
		str_value(v, n, f->series_number, sizeof(f->series_number));
		break;
	case 0x00200013:
		str_value(v, n, buf, sizeof(buf));
		f->instance = buf[0] ? strtoll(buf, NULL, 10) : -1;
		break;
	case 0x00200032:
		f->has_ipp = decimal_attr(f, "ImagePositionPatient", v, n, f->ipp, 3);
		break;
	case 0x00200037:
		f->has_iop = decimal_attr(f, "ImageOrientationPatient", v, n, f->iop, 6);
		break;
	case 0x00200100:
		decimals(v, n, &f->temporal_pos, 1);
		break;
	case 0x00280002:
		f->samples = us_attr(f, "SamplesPerPixel", v, n);
		break;
	case 0x00280008:
		f->frames = int_value(v, n, &ok);
		if (!ok) {
			f->frames = 0;
			mark_bad(f, "NumberOfFrames");
		}
		break;
	case 0x00280010:
		f->rows = us_attr(f, "Rows", v, n);
		break;
	case 0x00280011:
		f->cols = us_attr(f, "Columns", v, n);
		break;
	case 0x00280030:
		f->has_spacing = decimal_attr(f, "PixelSpacing", v, n, f->pixel_spacing, 2);
		break;
	case 0x00280100:
		f->bits_allocated = us_attr(f, "BitsAllocated", v, n);
		break;
	case 0x00280101:
		f->bits_stored = n ? us_attr(f, "BitsStored", v, n) : -1;
		break;
	case 0x00280102:
		f->high_bit = n ? us_attr(f, "HighBit", v, n) : -1;
		break;
	case 0x00280103:
		f->pixel_rep = us_attr(f, "PixelRepresentation", v, n);
		break;
	case 0x00281052:
		decimal_attr(f, "RescaleIntercept", v, n, &f->intercept, 1);
		break;
	case 0x00281053:
		decimal_attr(f, "RescaleSlope", v, n, &f->slope, 1);
		break;
	case 0x7FE00010:
		f->has_pixels = 1;
		f->pixel_len = n;
		break;
	}
}

/* Walks data elements until the end of the buffer or, inside an item of undefined length, its
 * delimiter. Returns 0, or -1 when the data is malformed. meta: only group 0002 (the file meta
 * information, always explicit VR little endian). */
static int walk(reader *r, int depth, int meta)
{
	if (depth > MAX_DEPTH)
		return -1;
	while (r->p < r->end) {
		const unsigned char *start = r->p;
		uint16_t g, e;
		uint32_t len;
		int long_len = 0, sq = 0;
		if (r->end - r->p < 8)
			return -1;
		g = rd16(r->p);
		e = rd16(r->p + 2);
		if (meta && g != 0x0002)
			return 0;
		if (g == 0xFFFE) { /* item delimiter ends an item of undefined length */
			r->p += 8;
			if (e == 0xE00D && depth > 0)
				return 1;
			return -1;
		}
		if (r->explicit_vr || meta) {
			char vr[3] = { (char)r->p[4], (char)r->p[5], 0 };
			if (vr[0] < 'A' || vr[0] > 'Z' || vr[1] < 'A' || vr[1] > 'Z')
				return -1;
			long_len = strstr("OB OD OF OL OV OW SQ SV UC UN UR UT UV", vr) != NULL;
			sq = !strcmp(vr, "SQ");
			if (long_len) {
				if (r->end - r->p < 12)
					return -1;
				len = rd32(r->p + 8);
				r->p += 12;
			} else {
				len = rd16(r->p + 6);
				r->p += 8;
			}
		} else {
			len = rd32(r->p + 4);
			r->p += 8;
		}
		if (len == UNDEFINED) {
			/* a sequence (or encapsulated pixel data): items until the sequence delimiter */
			for (;;) {
				uint16_t ig, ie;
				uint32_t ilen;
				if (r->end - r->p < 8)
					return -1;
				ig = rd16(r->p);
				ie = rd16(r->p + 2);
				ilen = rd32(r->p + 4);
				r->p += 8;
				if (ig != 0xFFFE)
					return -1;
				if (ie == 0xE0DD)
					break;
				if (ie != 0xE000)
					return -1;
				if (ilen == UNDEFINED) {
					if (g == 0x7FE0 || walk(r, depth + 1, 0) != 1)
						return -1;
				} else {
					if (ilen > (uint32_t)(r->end - r->p))
						return -1;
					if (sq || !r->explicit_vr) {
						reader sub = *r;
						sub.end = r->p + ilen;
						if (g != 0x7FE0 && walk(&sub, depth + 1, 0) < 0)
							return -1;
					}
					r->p += ilen;
				}
			}
			if (g == 0x7FE0 && e == 0x0010)
				take(r, g, e, r->p, UNDEFINED, depth);
			continue;
		}
		if (len > (uint32_t)(r->end - r->p))
			return -1;
		take(r, g, e, r->p, len, depth);
		r->p += len;
		(void)start;
	}
	return 0;
}

int ctw_dicom_parse(const unsigned char *buf, size_t n, ctw_dicom_file *f)
{
	reader r;

	memset(f, 0, sizeof(*f));
	f->instance = -1;
	f->trigger_time = f->temporal_pos = f->field_strength = NAN;
	f->slope = 1.0;
	f->samples = f->frames = 1;
	f->bits_stored = f->high_bit = -1;
	if (n < 132 || memcmp(buf + 128, "DICM", 4) != 0)
		return 0;
	memset(&r, 0, sizeof(r));
	r.f = f;
	r.p = buf + 132;
	r.end = buf + n;
	if (walk(&r, 0, 1) < 0 || !f->syntax[0])
		return -1;
	if (!strcmp(f->syntax, "1.2.840.10008.1.2"))
		r.explicit_vr = 0;
	else if (!strcmp(f->syntax, "1.2.840.10008.1.2.2") || !strcmp(f->syntax, "1.2.840.10008.1.2.1.99"))
		return -1; /* big endian or deflated: not supported */
	else
		r.explicit_vr = 1; /* explicit little endian, and every compressed syntax */
	if (walk(&r, 0, 0) < 0)
		return -1;
	if (f->has_pixels && (f->rows <= 0 || f->cols <= 0)) {
		mark_bad(f, f->rows <= 0 ? "Rows" : "Columns");
		return -1; /* pixel data of no size */
	}
	if (f->rows <= 0 || f->cols <= 0)
		return 0; /* not an image: DICOMDIR, structured report, ... */
	return f->has_pixels ? 1 : -1;
}

/* 1 when the file name says DICOM (.dcm, any case). */
static int dcm_name(const char *path)
{
	size_t n = strlen(path);
	return n > 4 && path[n - 4] == '.' && (path[n - 3] | 0x20) == 'd' && (path[n - 2] | 0x20) == 'c' &&
	       (path[n - 1] | 0x20) == 'm';
}

/* Parses one file into f: ctw_dicom_parse()'s codes, or -2 when out of memory. A file named
 * .dcm without the DICOM preamble is damaged (-1; a file truncated before byte 132), not other. */
static int parse_file(ctw_ctx *ctx, const char *path, ctw_dicom_file *f)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	struct stat st;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	if (!fp)
		return 0;
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > ((int64_t)1 << 31))
		goto out;
	if (st.st_size < 132 || !ctw_is_dicom_file(path)) {
		if (dcm_name(path)) {
			snprintf(f->bad, sizeof(f->bad), "the DICOM preamble");
			ret = -1;
		}
		goto out;
	}
	buf = ctw_malloc(ctx, (size_t)st.st_size);
	if (!buf) {
		ret = -2;
		goto out;
	}
	if (fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size)
		goto out;
	ret = ctw_dicom_parse(buf, (size_t)st.st_size, f);
	if (ret == 1 && !(f->path = ctw_strdup(ctx, path)))
		ret = -2;
out:
	ctw_free(ctx, buf);
	fclose(fp);
	return ret;
}

int ctw_is_dicom_file(const char *path)
{
	unsigned char b[132];
	struct stat st;
	FILE *fp = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL; /* no FIFO */
	int yes = fp && fread(b, 1, sizeof(b), fp) == sizeof(b) && memcmp(b + 128, "DICM", 4) == 0;
	if (fp)
		fclose(fp);
	return yes;
}

/* nftw has no user pointer: the scan in progress. */
static struct {
	ctw_ctx *ctx;
	ctw_dicom_scan *scan;
	int cap, status;
	const char *dir; /* as the caller named it; paths are reported under this name */
	size_t top_len;  /* length of the name nftw walks ("dir/.")                    */
} walking;

/* Adds one file of the walk to the scan (or counts it as skipped). */
static int add_file(ctw_dicom_scan *s, const char *path)
{
	ctw_dicom_file f;
	int k = parse_file(walking.ctx, path, &f);

	if (k == 0)
		s->n_skipped_other++;
	if (k == -1) {
		ctw_dicom_damaged *d = ctw_realloc(walking.ctx, s->damaged, sizeof(*d) * (size_t)(s->n_skipped_corrupt + 1));
		if (!d)
			return CTW_ERR_NOMEM;
		s->damaged = d;
		d += s->n_skipped_corrupt;
		memcpy(d->series_uid, f.series_uid, sizeof(d->series_uid));
		if (!(d->path = ctw_strdup(walking.ctx, path)))
			return CTW_ERR_NOMEM;
		s->n_skipped_corrupt++;
		ctw_log(walking.ctx, CTW_LOG_WARN, path, "skipped: damaged DICOM file");
	}
	if (k != 1)
		return k == -2 ? CTW_ERR_NOMEM : CTW_OK;
	if (s->n_files == walking.cap) {
		int cap = walking.cap ? 2 * walking.cap : 64;
		ctw_dicom_file *n = ctw_realloc(walking.ctx, s->files, sizeof(*n) * (size_t)cap);
		if (!n) {
			ctw_free(walking.ctx, f.path);
			return CTW_ERR_NOMEM;
		}
		s->files = n;
		walking.cap = cap;
	}
	s->files[s->n_files++] = f;
	return CTW_OK;
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	size_t n = strlen(walking.dir);
	char *name;
	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode)) /* FIFOs, devices: never opened (a hang) */
		return 0;
	if (strlen(path) <= walking.top_len) /* the scan of a single file */
		return (walking.status = add_file(walking.scan, path)) != CTW_OK;
	/* report "dir/sub/file" under the caller's name, not nftw's "dir/./sub/file" */
	name = ctw_malloc(walking.ctx, n + strlen(path) + 2);
	if (!name) {
		walking.status = CTW_ERR_NOMEM;
		return 1;
	}
	sprintf(name, "%s%s%s", walking.dir, n && walking.dir[n - 1] == '/' ? "" : "/", path + walking.top_len + 1);
	walking.status = add_file(walking.scan, name);
	ctw_free(walking.ctx, name);
	return walking.status != CTW_OK;
}

int ctw_dicom_scan_dir(ctw_ctx *ctx, const char *dir, ctw_dicom_scan **out)
{
	ctw_dicom_scan *s;
	size_t n = strlen(dir);
	char *top;
	int ret;

	*out = NULL;
	s = ctw_calloc(ctx, 1, sizeof(*s));
	top = ctw_malloc(ctx, n + 3);
	if (!s || !top) {
		ctw_free(ctx, s);
		ctw_free(ctx, top);
		return CTW_ERR_NOMEM;
	}
	walking.ctx = ctx;
	walking.scan = s;
	walking.cap = 0;
	walking.status = CTW_OK;
	/* Symlinks inside the tree are not followed (no cycles); the top one is, by its trailing
	 * slash, so a directory of cohort pseudonyms linking to the studies works. */
	memcpy(top, dir, n + 1);
	if (ctw_is_dir(dir))
		strcat(top, "/."); /* glibc strips a plain trailing slash */
	walking.dir = dir;
	walking.top_len = strlen(top);
	if (nftw(top, visit, 32, FTW_PHYS) < 0 && walking.status == CTW_OK)
		walking.status = ctw_error(ctx, CTW_ERR_IO, dir, "cannot read directory: %s", strerror(errno));
	ctw_free(ctx, top);
	ret = walking.status;
	if (!ret)
		ret = ctw_dicom_group(ctx, s);
	if (ret) {
		if (ret == CTW_ERR_NOMEM)
			ctw_error(ctx, CTW_ERR_NOMEM, dir, "out of memory while scanning");
		ctw_dicom_scan_free(ctx, s);
		return ret;
	}
	*out = s;
	return CTW_OK;
}

void ctw_dicom_scan_free(ctw_ctx *ctx, ctw_dicom_scan *s)
{
	int i;
	if (!s)
		return;
	for (i = 0; i < s->n_files; i++)
		ctw_free(ctx, s->files[i].path);
	for (i = 0; i < s->n_skipped_corrupt; i++)
		ctw_free(ctx, s->damaged[i].path);
	ctw_free(ctx, s->damaged);
	for (i = 0; s->series && i < s->n_series; i++)
		ctw_free(ctx, s->series[i].files);
	for (i = 0; s->stacks && i < s->n_stacks; i++) {
		ctw_free(ctx, s->stacks[i].members);
		ctw_free(ctx, s->stacks[i].merged.files);
	}
	ctw_free(ctx, s->stacks);
	ctw_free(ctx, s->left_out);
	ctw_free(ctx, s->series);
	ctw_free(ctx, s->files);
	ctw_free(ctx, s);
}
