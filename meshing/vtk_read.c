/* vtk_read.c: a fast C reader for the VTU and VTP files cardiotwin writes (vtk_write.c) and any
 * other file of the same layout: appended raw data, UInt32 or UInt64 headers, no compressor or
 * vtkZLibDataCompressor, little-endian, tetrahedra (VTU) or triangles (VTP). The file is mapped,
 * its XML head scanned for the DataArray tags, and the zlib blocks inflated on all cores.
 *
 * Anything else (inline or base64 data, other compressors, big-endian, other cell types) is
 * "not handled": the caller then reads the file with VTK (meshio_vtk.cxx). What is handled is
 * checked as strictly as VTK would: every offset and size against the file, every block's size
 * after inflation, every index against the point count; a lie gives CTW_ERR_FORMAT naming the
 * file, never a read outside it. */
#define _POSIX_C_SOURCE 200809L
#include "mesh.h"
#include "workers_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_ARRAYS 128
#define HEAD_MAX ((size_t)1 << 20) /* the XML head must end within the first MiB */

enum { SEC_NONE, SEC_FIELD, SEC_POINTDATA, SEC_CELLDATA, SEC_POINTS, SEC_CELLS, SEC_POLYS, SEC_OTHER_CELLS };

typedef struct xarray {
	char name[64];
	int type; /* index into types[] */
	int n_comp, section;
	uint64_t offset;
} xarray;

static const struct {
	const char *name;
	int size, is_int, is_signed;
} types[] = { { "Float64", 8, 0, 1 }, { "Float32", 4, 0, 1 }, { "Int8", 1, 1, 1 },   { "UInt8", 1, 1, 0 },
	      { "Int16", 2, 1, 1 },   { "UInt16", 2, 1, 0 },  { "Int32", 4, 1, 1 },  { "UInt32", 4, 1, 0 },
	      { "Int64", 8, 1, 1 },   { "UInt64", 8, 1, 0 } };

typedef struct vx {
	ctw_ctx *ctx;
	const char *path;
	const unsigned char *map;
	size_t len, data0; /* data0: the byte after '_' */
	int hsize, zlib;
	int64_t n_points, n_cells, n_polys, n_other; /* n_other: verts, lines, strips */
	xarray arr[MAX_ARRAYS];
	int n_arr;
} vx;

/* ---- the XML head ---------------------------------------------------------------------------- */

/* The value of attribute name in the tag [p, end) into out; 0 when absent or too long. */
static int attr(const char *p, const char *end, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	for (const char *q = p; q + n + 2 < end; q++) {
		if ((q[-1] != ' ' && q[-1] != '\n' && q[-1] != '\t' && q[-1] != '\r') || memcmp(q, name, n) ||
		    q[n] != '=' || q[n + 1] != '"')
			continue;
		const char *v = q + n + 2, *e = memchr(v, '"', (size_t)(end - v));
		if (!e || (size_t)(e - v) >= size)
			return 0;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = 0;
		return 1;
	}
	return 0;
}

static int attr_i64(const char *p, const char *end, const char *name, int64_t *v)
{
	char buf[32], *e;
	if (!attr(p, end, name, buf, sizeof(buf)))
		return 0;
	errno = 0;
	*v = strtoll(buf, &e, 10);
	return !errno && e != buf && *e == 0;
}

static int is_tag(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name); /* end: the tag's '>' */
	return (size_t)(end - p) >= n && !memcmp(p, name, n) &&
	       (p + n == end || p[n] == ' ' || p[n] == '/' || p[n] == '\n' || p[n] == '\t' || p[n] == '\r');
}

/* Parses the head of x->map. Returns CTW_OK with *handled = 1 when the layout is one this reader
 * takes, *handled = 0 when not (nothing reported), or CTW_ERR_FORMAT. */
static int parse_head(vx *x, const char *kind, int *handled)
{
	const char *s = (const char *)x->map, *lim = s + (x->len < HEAD_MAX ? x->len : HEAD_MAX), *p = s, *app = NULL;
	int section = SEC_NONE, seen_file = 0, seen_piece = 0;
	char buf[64];

	*handled = 0;
	for (const char *q = s; q + 13 < lim; q++)
		if (*q == '<' && !memcmp(q, "<AppendedData", 13)) {
			app = q;
			break;
		}
	if (!app)
		return CTW_OK;
	while ((p = memchr(p, '<', (size_t)(app - p))) != NULL) {
		const char *t = p + 1, *end = memchr(t, '>', (size_t)(app - t));
		if (!end)
			return CTW_OK;
		p = end + 1;
		if (*t == '?' || *t == '!')
			continue;
		if (*t == '/') {
			t++;
			if (is_tag(t, end, "FieldData") || is_tag(t, end, "PointData") || is_tag(t, end, "CellData") ||
			    is_tag(t, end, "Points") || is_tag(t, end, "Cells") || is_tag(t, end, "Polys") ||
			    is_tag(t, end, "Verts") || is_tag(t, end, "Lines") || is_tag(t, end, "Strips"))
				section = SEC_NONE;
			continue;
		}
		if (is_tag(t, end, "VTKFile")) {
			if (!attr(t, end, "type", buf, sizeof(buf)) || strcmp(buf, kind))
				return CTW_OK;
			if (!attr(t, end, "byte_order", buf, sizeof(buf)) || strcmp(buf, "LittleEndian"))
				return CTW_OK;
			x->hsize = 4;
			if (attr(t, end, "header_type", buf, sizeof(buf))) {
				if (!strcmp(buf, "UInt64"))
					x->hsize = 8;
				else if (strcmp(buf, "UInt32"))
					return CTW_OK;
			}
			x->zlib = 0;
			if (attr(t, end, "compressor", buf, sizeof(buf))) {
				if (strcmp(buf, "vtkZLibDataCompressor"))
					return CTW_OK;
				x->zlib = 1;
			}
			seen_file = 1;
		} else if (is_tag(t, end, "Piece")) {
			if (seen_piece++) /* one piece only */
				return CTW_OK;
			int64_t v;
			x->n_points = attr_i64(t, end, "NumberOfPoints", &v) ? v : -1;
			x->n_cells = attr_i64(t, end, "NumberOfCells", &v) ? v : 0;
			x->n_polys = attr_i64(t, end, "NumberOfPolys", &v) ? v : 0;
			x->n_other = 0;
			if (attr_i64(t, end, "NumberOfVerts", &v))
				x->n_other += v;
			if (attr_i64(t, end, "NumberOfLines", &v))
				x->n_other += v;
			if (attr_i64(t, end, "NumberOfStrips", &v))
				x->n_other += v;
			if (x->n_points < 0 || x->n_cells < 0 || x->n_polys < 0 || x->n_other < 0)
				return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "bad counts in <Piece>");
		} else if (is_tag(t, end, "FieldData")) {
			section = end[-1] == '/' ? SEC_NONE : SEC_FIELD;
		} else if (is_tag(t, end, "PointData")) {
			section = end[-1] == '/' ? SEC_NONE : SEC_POINTDATA;
		} else if (is_tag(t, end, "CellData")) {
			section = end[-1] == '/' ? SEC_NONE : SEC_CELLDATA;
		} else if (is_tag(t, end, "Points")) {
			section = SEC_POINTS;
		} else if (is_tag(t, end, "Cells")) {
			section = SEC_CELLS;
		} else if (is_tag(t, end, "Polys")) {
			section = SEC_POLYS;
		} else if (is_tag(t, end, "Verts") || is_tag(t, end, "Lines") || is_tag(t, end, "Strips")) {
			section = SEC_OTHER_CELLS;
		} else if (is_tag(t, end, "DataArray")) {
			xarray *a;
			int64_t v;
			if (x->n_arr == MAX_ARRAYS || !attr(t, end, "format", buf, sizeof(buf)) || strcmp(buf, "appended"))
				return CTW_OK;
			a = &x->arr[x->n_arr++];
			memset(a, 0, sizeof(*a));
			if (!attr(t, end, "type", buf, sizeof(buf)))
				return CTW_OK;
			a->type = -1;
			for (int k = 0; k < (int)(sizeof(types) / sizeof(types[0])); k++)
				if (!strcmp(buf, types[k].name))
					a->type = k;
			if (a->type < 0 || !attr(t, end, "Name", a->name, sizeof(a->name)))
				return CTW_OK;
			a->n_comp = attr_i64(t, end, "NumberOfComponents", &v) ? (v >= 1 && v <= 64 ? (int)v : -1) : 1;
			if (a->n_comp < 0 || !attr_i64(t, end, "offset", &v) || v < 0)
				return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "DataArray '%s': bad NumberOfComponents or offset",
						 a->name);
			a->offset = (uint64_t)v;
			a->section = section;
		}
	}
	{ /* <AppendedData encoding="raw"> then white space and '_' */
		const char *end = memchr(app, '>', (size_t)(lim - app)), *q;
		if (!end || !attr(app + 1, end, "encoding", buf, sizeof(buf)) || strcmp(buf, "raw"))
			return CTW_OK;
		for (q = end + 1; q < lim && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'); q++)
			;
		if (q >= lim || *q != '_')
			return CTW_OK;
		x->data0 = (size_t)(q + 1 - s);
	}
	if (!seen_file || seen_piece != 1)
		return CTW_OK;
	*handled = 1;
	return CTW_OK;
}

/* ---- array data ------------------------------------------------------------------------------ */

static uint64_t get_u(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

typedef struct inflate_job {
	const unsigned char *src;
	const uint64_t *coff, *csize; /* per block: offset into src, compressed size */
	unsigned char *dst;
	uint64_t n_blocks, bs, last;  /* bs: block size; last: size of the last block */
	int id, n_threads, failed;
} inflate_job;

static void *inflate_blocks(void *arg)
{
	inflate_job *j = arg;
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK) {
		j->failed = 1;
		return NULL;
	}
	for (uint64_t b = (uint64_t)j->id; b < j->n_blocks; b += (uint64_t)j->n_threads) {
		uint64_t want = b + 1 == j->n_blocks ? j->last : j->bs;
		z.next_in = (Bytef *)(uintptr_t)(j->src + j->coff[b]);
		z.avail_in = (uInt)j->csize[b];
		z.next_out = j->dst + b * j->bs;
		z.avail_out = (uInt)want;
		if (inflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out != want) {
			j->failed = 1;
			break;
		}
		inflateReset(&z);
	}
	inflateEnd(&z);
	return NULL;
}

/* The bytes of array a (expecting exactly n_bytes), into a new buffer *out (ctw_malloc'd). */
static int array_bytes(vx *x, const xarray *a, uint64_t n_bytes, unsigned char **out)
{
	const uint64_t avail = x->len - x->data0;
	const unsigned char *p;
	unsigned char *dst;
	const int h = x->hsize;

	*out = NULL;
	if (a->offset > avail || avail - a->offset < (uint64_t)h)
		return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "array '%s': offset %llu beyond the end of the file", a->name,
				 (unsigned long long)a->offset);
	if (n_bytes > (uint64_t)SIZE_MAX / 2)
		return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "array '%s' too large", a->name);
	p = x->map + x->data0 + a->offset;
	if (!(dst = ctw_malloc(x->ctx, (size_t)(n_bytes ? n_bytes : 1))))
		return CTW_ERR_NOMEM;
	if (!x->zlib) {
		if (get_u(p, h) != n_bytes || avail - a->offset - (uint64_t)h < n_bytes) {
			ctw_free(x->ctx, dst);
			return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "array '%s': %llu bytes declared, %llu expected or past the end of the file",
					 a->name, (unsigned long long)get_u(p, h), (unsigned long long)n_bytes);
		}
		memcpy(dst, p + h, (size_t)n_bytes);
		*out = dst;
		return CTW_OK;
	}
	{
		uint64_t nb, bs, last, total, off, *coff = NULL, *csize = NULL;
		const uint64_t room = avail - a->offset;
		int ret = CTW_OK;
		if (room < 3 * (uint64_t)h) {
			ctw_free(x->ctx, dst);
			return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "array '%s': compression header past the end of the file", a->name);
		}
		nb = get_u(p, h);
		bs = get_u(p + h, h);
		last = get_u(p + 2 * h, h);
		if (!last)
			last = bs;
		total = nb ? (nb - 1) * bs + last : 0;
		if ((nb && (bs == 0 || bs > (1u << 30) || last > bs)) || nb > room / (uint64_t)h || total != n_bytes ||
		    (nb && (nb - 1) > n_bytes / bs)) {
			ctw_free(x->ctx, dst);
			return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path,
					 "array '%s': compression header (%llu blocks of %llu bytes, last %llu) does not give the %llu bytes expected",
					 a->name, (unsigned long long)nb, (unsigned long long)bs, (unsigned long long)last,
					 (unsigned long long)n_bytes);
		}
		if (!nb) {
			*out = dst;
			return CTW_OK;
		}
		coff = ctw_malloc(x->ctx, sizeof(uint64_t) * (size_t)nb);
		csize = ctw_malloc(x->ctx, sizeof(uint64_t) * (size_t)nb);
		if (!coff || !csize) {
			ret = CTW_ERR_NOMEM;
			goto done;
		}
		off = (3 + nb) * (uint64_t)h;
		for (uint64_t b = 0; b < nb; b++) {
			csize[b] = get_u(p + (3 + b) * (uint64_t)h, h);
			coff[b] = off;
			if (off > room || csize[b] > room - off || csize[b] > UINT32_MAX) {
				ret = ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "array '%s': compressed block %llu past the end of the file",
						a->name, (unsigned long long)b);
				goto done;
			}
			off += csize[b];
		}
		{
			int nt = ctw_worker_count();
			inflate_job jobs[CTW_MAX_WORKERS];
			if ((uint64_t)nt > nb)
				nt = (int)nb;
			for (int i = 0; i < nt; i++)
				jobs[i] = (inflate_job){ p, coff, csize, dst, nb, bs, last, i, nt, 0 };
			ctw_run_workers(inflate_blocks, jobs, sizeof(jobs[0]), nt);
			for (int i = 0; i < nt; i++)
				if (jobs[i].failed)
					ret = ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "array '%s': corrupt zlib data", a->name);
		}
	done:
		ctw_free(x->ctx, coff);
		ctw_free(x->ctx, csize);
		if (ret) {
			ctw_free(x->ctx, dst);
			return ret;
		}
		*out = dst;
		return CTW_OK;
	}
}

/* Element i of a decoded array of type t, as a double or as an integer (exact for integers). */
static double elem_f(const unsigned char *b, int t, int64_t i)
{
	const unsigned char *p = b + (size_t)i * (size_t)types[t].size;
	switch (t) {
	case 0: { double v; memcpy(&v, p, 8); return v; }
	case 1: { float v; memcpy(&v, p, 4); return v; }
	case 2: return (int8_t)p[0];
	case 3: return p[0];
	case 4: { int16_t v; memcpy(&v, p, 2); return v; }
	case 5: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 6: { int32_t v; memcpy(&v, p, 4); return v; }
	case 7: { uint32_t v; memcpy(&v, p, 4); return v; }
	case 8: { int64_t v; memcpy(&v, p, 8); return (double)v; }
	default: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
	}
}

/* Integer element i (integer types; -1 for UInt64 values above INT64_MAX, caught by range
 * checks), or via an exactly integral double for float types (else *ok = 0). */
static int64_t elem_i(const unsigned char *b, int t, int64_t i, int *ok)
{
	const unsigned char *p = b + (size_t)i * (size_t)types[t].size;
	if (t == 8) {
		int64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	if (t == 9) {
		uint64_t v;
		memcpy(&v, p, 8);
		return v > INT64_MAX ? -1 : (int64_t)v;
	}
	double d = elem_f(b, t, i);
	if (!(d == floor(d)) || fabs(d) > 9e15) {
		*ok = 0;
		return 0;
	}
	return (int64_t)d;
}

/* Reads the integer array a of n values into out (int32), each in [lo, hi]. */
static int read_ints(vx *x, const xarray *a, int64_t n, int64_t lo, int64_t hi, int32_t *out, const char *what)
{
	unsigned char *b = NULL;
	int ret;
	if (a->n_comp != 1)
		return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "%s array '%s' has %d components", what, a->name, a->n_comp);
	if ((ret = array_bytes(x, a, (uint64_t)n * (uint64_t)types[a->type].size, &b)))
		return ret;
	if (a->type == 6 && lo >= INT32_MIN && hi <= INT32_MAX) { /* Int32: copy, then check */
		memcpy(out, b, sizeof(int32_t) * (size_t)n);
		for (int64_t i = 0; i < n && !ret; i++)
			if (out[i] < lo || out[i] > hi)
				ret = ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "%s array '%s': value %d (entry %lld) out of range",
						what, a->name, (int)out[i], (long long)i);
	} else {
		for (int64_t i = 0; i < n && !ret; i++) {
			int ok = 1;
			int64_t v = elem_i(b, a->type, i, &ok);
			if (!ok || v < lo || v > hi)
				ret = ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "%s array '%s': entry %lld is out of range or not an integer",
						what, a->name, (long long)i);
			else
				out[i] = (int32_t)v;
		}
	}
	ctw_free(x->ctx, b);
	return ret;
}

static const xarray *find(const vx *x, int section, const char *name)
{
	for (int i = 0; i < x->n_arr; i++)
		if (x->arr[i].section == section && (!name || !strcmp(x->arr[i].name, name)))
			return &x->arr[i];
	return NULL;
}

/* Cells of k corners: connectivity into conn (n * k), offsets checked to be k, 2k, ... */
static int read_cells(vx *x, int section, int64_t n, int k, int32_t *conn)
{
	const xarray *c = find(x, section, "connectivity"), *o = find(x, section, "offsets");
	int32_t *off = NULL;
	int ret;
	if (!c || !o)
		return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "cells without connectivity or offsets");
	if (n > INT32_MAX / k)
		return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "too many cells (%lld)", (long long)n);
	if (!(off = ctw_malloc(x->ctx, sizeof(int32_t) * (size_t)(n ? n : 1))))
		return CTW_ERR_NOMEM;
	if (!(ret = read_ints(x, o, n, 0, (int64_t)k * n, off, "cell")))
		for (int64_t i = 0; i < n; i++)
			if (off[i] != (int64_t)k * (i + 1)) {
				ret = ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "cell %lld has %lld corners; only %s are read",
						(long long)i, (long long)(off[i] - (i ? off[i - 1] : 0)),
						k == 4 ? "tetrahedra" : "triangles");
				break;
			}
	ctw_free(x->ctx, off);
	if (!ret)
		ret = read_ints(x, c, (int64_t)k * n, 0, x->n_points - 1, conn, "connectivity");
	return ret;
}

static int read_points(vx *x, double *xyz)
{
	const xarray *a = find(x, SEC_POINTS, NULL);
	unsigned char *b = NULL;
	int ret;
	if (!a || a->n_comp != 3 || types[a->type].is_int)
		return ctw_error(x->ctx, CTW_ERR_FORMAT, x->path, "no points of 3 floating-point components");
	if ((ret = array_bytes(x, a, (uint64_t)x->n_points * 3 * (uint64_t)types[a->type].size, &b)))
		return ret;
	if (a->type == 0)
		memcpy(xyz, b, sizeof(double) * 3 * (size_t)x->n_points);
	else
		for (int64_t i = 0; i < 3 * x->n_points; i++)
			xyz[i] = elem_f(b, a->type, i);
	ctw_free(x->ctx, b);
	return CTW_OK;
}

/* ---- files ----------------------------------------------------------------------------------- */

/* Maps path. CTW_ERR_IO naming it. */
static int map_file(vx *x)
{
	struct stat st;
	int fd = open(x->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctw_error(x->ctx, CTW_ERR_IO, x->path, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return ctw_error(x->ctx, CTW_ERR_IO, x->path, "not a regular file");
	}
	x->len = (size_t)st.st_size;
	x->map = x->len ? mmap(NULL, x->len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (x->len && x->map == MAP_FAILED) {
		x->map = NULL;
		return ctw_error(x->ctx, CTW_ERR_IO, x->path, "cannot map: %s", strerror(errno));
	}
	return CTW_OK;
}

static void unmap_file(vx *x)
{
	if (x->map)
		munmap((void *)(uintptr_t)x->map, x->len);
	x->map = NULL;
}

static int open_vx(ctw_ctx *ctx, const char *path, const char *kind, vx *x, int *handled)
{
	static const uint16_t one = 1;
	int ret;
	memset(x, 0, sizeof(*x));
	x->ctx = ctx;
	x->path = path;
	*handled = 0;
	if ((ret = map_file(x)))
		return ret;
	if (!*(const unsigned char *)&one || !x->map || (ret = parse_head(x, kind, handled)) || !*handled) {
		unmap_file(x);
		*handled = ret ? 1 : 0;
		return ret;
	}
	return CTW_OK;
}

/* Point or cell data arrays of a section as fields, as the VTK reader copies them (skip: a name
 * that is not a field, e.g. the tag). */
static int read_fields(vx *x, int section, ctw_field_loc loc, int64_t n, const char *skip, ctw_field **fl, int *nf)
{
	for (int i = 0; i < x->n_arr; i++) {
		const xarray *a = &x->arr[i];
		unsigned char *b = NULL;
		ctw_field *f = NULL;
		int ret;
		if (a->section != section || !a->name[0] || (skip && !strcmp(a->name, skip)))
			continue;
		if (strlen(a->name) > 31 || a->n_comp > 9) {
			ctw_log(x->ctx, CTW_LOG_INFO, "vtk", "%s: array '%s' skipped (%s)", x->path, a->name,
				strlen(a->name) > 31 ? "name longer than 31 bytes" : "more than 9 components");
			continue;
		}
		if ((ret = ctw_field_new(x->ctx, a->name, loc, a->n_comp, n, &f)))
			return ret;
		fl[(*nf)++] = f;
		if ((ret = array_bytes(x, a, (uint64_t)n * (uint64_t)a->n_comp * (uint64_t)types[a->type].size, &b)))
			return ret;
		if (a->type == 0)
			memcpy(f->values, b, sizeof(double) * (size_t)n * (size_t)a->n_comp);
		else
			for (int64_t k = 0; k < n * a->n_comp; k++)
				f->values[k] = elem_f(b, a->type, k);
		ctw_free(x->ctx, b);
	}
	return CTW_OK;
}

int ctw_vtu_read(ctw_ctx *ctx, const char *path, ctw_mesh_in *out, int *handled)
{
	vx x;
	ctw_tetmesh *m = NULL;
	ctw_field **fl = NULL;
	unsigned char *b = NULL;
	int nf = 0, ret;

	memset(out, 0, sizeof(*out));
	out->apex_node = -1;
	if ((ret = open_vx(ctx, path, "UnstructuredGrid", &x, handled)) || !*handled)
		return ret;
	{ /* only tetrahedra: else VTK reads the file (and names the cell type) */
		const xarray *ty = find(&x, SEC_CELLS, "types");
		if (!ty || ty->n_comp != 1 || !types[ty->type].is_int || types[ty->type].size != 1) {
			*handled = 0;
			goto out;
		}
		if ((ret = array_bytes(&x, ty, (uint64_t)x.n_cells, &b)))
			goto out;
		for (int64_t c = 0; c < x.n_cells; c++)
			if (b[c] != 10) {
				*handled = 0;
				goto out;
			}
	}
	if (x.n_cells == 0) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "holds no cells (expected tetrahedra)");
		goto out;
	}
	if (x.n_points > INT32_MAX || x.n_cells > INT32_MAX / 4) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "too large (%lld points, %lld cells)", (long long)x.n_points,
				(long long)x.n_cells);
		goto out;
	}
	if (!(fl = ctw_calloc(ctx, MAX_ARRAYS, sizeof(*fl)))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	if ((ret = ctw_tetmesh_new(ctx, x.n_points, x.n_cells, 0, &m)) || (ret = read_points(&x, m->xyz)) ||
	    (ret = read_cells(&x, SEC_CELLS, x.n_cells, 4, m->tets)))
		goto out;
	{
		const xarray *tag = find(&x, SEC_CELLDATA, "tag");
		if (tag) {
			if ((ret = read_ints(&x, tag, x.n_cells, INT32_MIN, INT32_MAX, m->region, "cell")))
				goto out;
		} else {
			for (int64_t c = 0; c < x.n_cells; c++)
				m->region[c] = 1;
		}
	}
	{
		const xarray *ap = find(&x, SEC_FIELD, "apex_node");
		if (ap) {
			int32_t v;
			/* field data holds one tuple; the array's size is read from its header */
			if ((ret = read_ints(&x, ap, 1, -1, x.n_points - 1, &v, "field data")))
				goto out;
			out->apex_node = v;
		}
	}
	if ((ret = read_fields(&x, SEC_POINTDATA, CTW_ON_POINTS, x.n_points, NULL, fl, &nf)) ||
	    (ret = read_fields(&x, SEC_CELLDATA, CTW_ON_CELLS, x.n_cells, "tag", fl, &nf)))
		goto out;
	out->mesh = m;
	m = NULL;
	if (nf) {
		out->fields = fl;
		out->n_fields = nf;
		fl = NULL;
		nf = 0;
	}
	ctw_log(ctx, CTW_LOG_DEBUG, "vtk", "%s: %lld points, %lld tetrahedra, %d fields, apex node %lld (C reader)", path,
		(long long)out->mesh->n_points, (long long)out->mesh->n_tets, out->n_fields, (long long)out->apex_node);
out:
	ctw_free(ctx, b);
	ctw_tetmesh_free(ctx, m);
	for (int i = 0; i < nf; i++)
		ctw_field_free(ctx, fl[i]);
	ctw_free(ctx, fl);
	unmap_file(&x); /* out is filled only once everything has been read */
	return ret;
}

int ctw_vtp_read_tris(ctw_ctx *ctx, const char *path, const char *array, int64_t n_points, int32_t **tris,
		      int32_t **marker, int64_t *n_tris, int *handled)
{
	vx x;
	int32_t *t = NULL, *mk = NULL;
	int ret;

	*tris = *marker = NULL;
	*n_tris = 0;
	if ((ret = open_vx(ctx, path, "PolyData", &x, handled)) || !*handled)
		return ret;
	if (x.n_points != n_points) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "holds %lld points, the mesh %lld (the surfaces must use the mesh's points)",
				(long long)x.n_points, (long long)n_points);
		goto out;
	}
	if (x.n_other) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "holds vertices, lines or strips; only triangles are read");
		goto out;
	}
	if (x.n_polys > INT32_MAX / 3) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "too many triangles (%lld)", (long long)x.n_polys);
		goto out;
	}
	t = ctw_malloc(ctx, sizeof(int32_t) * 3 * (size_t)(x.n_polys ? x.n_polys : 1));
	mk = ctw_calloc(ctx, (size_t)(x.n_polys ? x.n_polys : 1), sizeof(int32_t));
	if (!t || !mk) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	if (x.n_polys && (ret = read_cells(&x, SEC_POLYS, x.n_polys, 3, t)))
		goto out;
	if (array) {
		const xarray *a = find(&x, SEC_CELLDATA, array);
		if (!a) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "has no cell array '%s' (surface markers)", array);
			goto out;
		}
		if ((ret = read_ints(&x, a, x.n_polys, INT32_MIN, INT32_MAX, mk, "cell")))
			goto out;
	}
	*tris = t;
	*marker = mk;
	*n_tris = x.n_polys;
	t = mk = NULL;
out:
	ctw_free(ctx, t);
	ctw_free(ctx, mk);
	unmap_file(&x);
	return ret;
}
