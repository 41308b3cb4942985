/* vtk_write.c: VTK XML files (VTU, VTP) written in C: appended raw binary data, UInt64 headers,
 * and either no compressor or vtkZLibDataCompressor, the layout VTK's own writer produces and
 * every VTK-based reader (ParaView, meshio, VTK's Python module) reads.
 *
 * Why not VTK's writer: it compresses its 32 KiB blocks one after another on one core and first
 * copies every array into VTK objects. Here the blocks of all arrays are compressed on all cores
 * (a window of blocks at a time, one zlib stream per thread); the result is the same bytes
 * whatever the number of threads, since each block is compressed on its own.
 *
 * Layout of one compressed array: UInt64 header {number of blocks, block size, size of the
 * last block when partial (else 0), compressed size of each block}, then the blocks. Raw: UInt64
 * byte count, then the bytes. Connectivity and offsets are Int32 (VTK reads any integer type). */
#define _POSIX_C_SOURCE 200809L
#include "mesh.h"
#include "workers_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK 32768        /* uncompressed bytes per block, as VTK */
#define WINDOW 256         /* blocks compressed per round: 8 MiB in, bounded scratch memory */

static int compress_on = 1; /* ctw_vtk_set_compression() */

void ctw_vtk_set_compression(int on)
{
	compress_on = on != 0;
}

typedef struct xarr {
	const char *name, *type; /* VTK type name */
	int n_comp;
	int64_t n_tuples;
	const void *data;
	size_t bytes;
	unsigned char *packed; /* compressed: header and blocks */
	size_t packed_len;
} xarr;

typedef struct window {
	const unsigned char *src;
	size_t src_len;            /* bytes of this window */
	int n_blocks, n_threads;
	unsigned char *out;        /* n_blocks * bound */
	size_t bound;
	uLong *len;                /* compressed size per block */
	int strategy;              /* zlib's: Z_DEFAULT_STRATEGY or Z_HUFFMAN_ONLY */
} window;

typedef struct worker {
	window *w;
	int id, failed;
} worker;

static void *compress_blocks(void *arg)
{
	worker *k = arg;
	window *w = k->w;
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* level 1: the others cost seconds per million tets */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15, 8, w->strategy) != Z_OK) {
		k->failed = 1;
		return NULL;
	}
	for (int b = k->id; b < w->n_blocks; b += w->n_threads) {
		size_t off = (size_t)b * BLOCK, n = w->src_len - off < BLOCK ? w->src_len - off : BLOCK;
		z.next_in = (Bytef *)(uintptr_t)(w->src + off);
		z.avail_in = (uInt)n;
		z.next_out = w->out + (size_t)b * w->bound;
		z.avail_out = (uInt)w->bound;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
			k->failed = 1;
			break;
		}
		w->len[b] = z.total_out;
		deflateReset(&z);
	}
	deflateEnd(&z);
	return NULL;
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i)); /* the files say LittleEndian */
}

/* The strategy for an array, from a trial on its first block: data that LZ77 matching barely
 * shrinks (doubles such as coordinates and fibres: 95 % of their size) is Huffman-coded only,
 * which gives the same size 2.5 times faster; everything else gets the usual deflate. */
static int strategy_of(const xarr *a, unsigned char *scratch, size_t bound)
{
	z_stream z;
	size_t n = a->bytes < BLOCK ? a->bytes : BLOCK, got;
	memset(&z, 0, sizeof(z));
	if (!n || deflateInit(&z, 1) != Z_OK)
		return Z_DEFAULT_STRATEGY;
	z.next_in = (Bytef *)(uintptr_t)a->data;
	z.avail_in = (uInt)n;
	z.next_out = scratch;
	z.avail_out = (uInt)bound;
	got = deflate(&z, Z_FINISH) == Z_STREAM_END ? z.total_out : n;
	deflateEnd(&z);
	return got * 10 > n * 9 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY;
}

/* Compresses a->data into a->packed. CTW_ERR_NOMEM, CTW_ERR_EXTERNAL (zlib). */
static int pack(ctw_ctx *ctx, xarr *a, const char *path)
{
	const size_t nb = (a->bytes + BLOCK - 1) / BLOCK, bound = compressBound(BLOCK);
	const int nt = ctw_worker_count();
	size_t cap = 8 * (3 + nb) + a->bytes / 2 + 64, used = 8 * (3 + nb);
	unsigned char *scratch = ctw_malloc(ctx, WINDOW * bound);
	uLong *len = ctw_malloc(ctx, sizeof(uLong) * WINDOW);
	int ret = CTW_OK, strategy;

	a->packed = ctw_malloc(ctx, cap);
	if (!scratch || !len || !a->packed) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	put_u64(a->packed, nb);
	put_u64(a->packed + 8, BLOCK);
	put_u64(a->packed + 16, a->bytes % BLOCK);
	strategy = strategy_of(a, scratch, bound);
	for (size_t b0 = 0; b0 < nb; b0 += WINDOW) {
		window w = { (const unsigned char *)a->data + b0 * BLOCK, 0, (int)(nb - b0 < WINDOW ? nb - b0 : WINDOW),
			     0, scratch, bound, len, strategy };
		worker k[CTW_MAX_WORKERS];
		w.src_len = a->bytes - b0 * BLOCK < (size_t)w.n_blocks * BLOCK ? a->bytes - b0 * BLOCK : (size_t)w.n_blocks * BLOCK;
		w.n_threads = nt < w.n_blocks ? nt : w.n_blocks;
		for (int i = 0; i < w.n_threads; i++)
			k[i] = (worker){ &w, i, 0 };
		ctw_run_workers(compress_blocks, k, sizeof(k[0]), w.n_threads);
		for (int i = 0; i < w.n_threads; i++)
			if (k[i].failed) {
				ret = ctw_error(ctx, CTW_ERR_EXTERNAL, path, "zlib cannot compress array '%s'", a->name);
				goto out;
			}
		for (int b = 0; b < w.n_blocks; b++) {
			if (used + len[b] > cap) {
				size_t ncap = cap + cap / 2 + len[b];
				unsigned char *p = ctw_realloc(ctx, a->packed, ncap);
				if (!p) {
					ret = CTW_ERR_NOMEM;
					goto out;
				}
				a->packed = p;
				cap = ncap;
			}
			put_u64(a->packed + 8 * (3 + b0 + (size_t)b), len[b]);
			memcpy(a->packed + used, scratch + (size_t)b * bound, len[b]);
			used += len[b];
		}
	}
	a->packed_len = used;
out:
	ctw_free(ctx, scratch);
	ctw_free(ctx, len);
	return ret;
}

static size_t stored_len(const xarr *a)
{
	return compress_on ? a->packed_len : 8 + a->bytes;
}

static void array_tag(FILE *f, const xarr *a, size_t offset, int field_data)
{
	fprintf(f, "%s<DataArray type=\"%s\" Name=\"%s\"", field_data ? "      " : "        ", a->type, a->name);
	if (a->n_comp > 1)
		fprintf(f, " NumberOfComponents=\"%d\"", a->n_comp);
	if (field_data)
		fprintf(f, " NumberOfTuples=\"%lld\"", (long long)a->n_tuples);
	fprintf(f, " format=\"appended\" offset=\"%zu\"/>\n", offset);
}

/* Writes the file: the XML head naming every array, then the appended data. sec[0] is the
 * field data (skipped when empty), then the piece opens and sec[1..] follow; each section's
 * lines go around its arrays [first, first + n). The arrays are packed first, so every offset is
 * known before the head is written. */
typedef struct section {
	const char *open, *close;
	int first, n;
} section;

static int write_file(ctw_ctx *ctx, const char *path, const char *kind, const char *piece, const section *sec,
		      int n_sec, xarr *arr, int n_arr)
{
	static const uint16_t one = 1;
	FILE *f = NULL;
	size_t offset = 0;
	int ret = CTW_OK;

	if (compress_on)
		for (int i = 0; i < n_arr; i++)
			if ((ret = pack(ctx, &arr[i], path)))
				goto out;
	if (!(f = fopen(path, "wb"))) {
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot create: %s", strerror(errno));
		goto out;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	fprintf(f, "<?xml version=\"1.0\"?>\n<VTKFile type=\"%s\" version=\"1.0\" byte_order=\"%s\" header_type=\"UInt64\"%s>\n"
		"  <%s>\n", kind, *(const unsigned char *)&one ? "LittleEndian" : "BigEndian",
		compress_on ? " compressor=\"vtkZLibDataCompressor\"" : "", kind);
	for (int s = 0; s < n_sec; s++) {
		if (s == 0 && !sec[s].n)
			continue;
		if (s == 1)
			fputs(piece, f);
		fputs(sec[s].open, f);
		for (int i = sec[s].first; i < sec[s].first + sec[s].n; i++) {
			array_tag(f, &arr[i], offset, s == 0);
			offset += stored_len(&arr[i]);
		}
		fputs(sec[s].close, f);
	}
	fprintf(f, "    </Piece>\n  </%s>\n  <AppendedData encoding=\"raw\">\n   _", kind);
	for (int i = 0; i < n_arr; i++) {
		if (compress_on) {
			fwrite(arr[i].packed, 1, arr[i].packed_len, f);
		} else {
			unsigned char h[8];
			put_u64(h, arr[i].bytes);
			fwrite(h, 1, 8, f);
			fwrite(arr[i].data, 1, arr[i].bytes, f);
		}
	}
	fputs("\n  </AppendedData>\n</VTKFile>\n", f);
	if (ferror(f) | fflush(f)) {
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno ? errno : EIO));
		goto out;
	}
	if (fclose(f)) {
		f = NULL;
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno));
		goto out;
	}
	f = NULL;
out:
	if (f)
		fclose(f);
	for (int i = 0; i < n_arr; i++) {
		ctw_free(ctx, arr[i].packed);
		arr[i].packed = NULL;
	}
	if (ret) { /* nothing half written (a regular file only: never /dev/full and the like) */
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			unlink(path);
	}
	return ret;
}

/* Cell connectivity as Int32 offsets (k, 2k, ...) for n cells of k corners. */
static int32_t *offsets_of(ctw_ctx *ctx, int64_t n, int k)
{
	int32_t *o = ctw_malloc(ctx, sizeof(int32_t) * (size_t)(n ? n : 1));
	if (o)
		for (int64_t i = 0; i < n; i++)
			o[i] = (int32_t)(k * (i + 1));
	return o;
}

static xarr arr_of(const char *name, const char *type, int n_comp, int64_t n_tuples, const void *data, size_t elem)
{
	xarr a = { name, type, n_comp, n_tuples, data, elem * (size_t)n_comp * (size_t)n_tuples, NULL, 0 };
	return a;
}

int ctw_vtk_write_vtu(ctw_ctx *ctx, const ctw_tetmesh *m, const ctw_field *const *fields, int n_fields,
		      const char *const *int_names, const int64_t *int_values, int n_ints, const char *path)
{
	xarr *arr = NULL;
	int32_t *off = NULL;
	uint8_t *types = NULL;
	char piece[160];
	int n = 0, n_pt = 0, n_cell = 0, ret;

	if ((ret = ctw_tetmesh_check(ctx, path, m)))
		return ret;
	if (m->n_tets > INT32_MAX / 4)
		return ctw_error(ctx, CTW_ERR_INVALID, path, "too many tetrahedra for Int32 connectivity (%lld)",
				 (long long)m->n_tets);
	for (int i = 0; i < n_fields; i++) {
		const ctw_field *f = fields[i];
		const int64_t want = f->loc == CTW_ON_CELLS ? m->n_tets : m->n_points;
		if (f->n != want || f->n_comp < 1 || !f->name[0])
			return ctw_error(ctx, CTW_ERR_INVALID, path, "field '%s' has %lld values of %d components for %lld %s",
					 f->name, (long long)f->n, f->n_comp, (long long)want,
					 f->loc == CTW_ON_CELLS ? "cells" : "points");
		n_cell += f->loc == CTW_ON_CELLS;
	}
	n_pt = n_fields - n_cell;
	arr = ctw_calloc(ctx, (size_t)(n_ints + n_fields + 5), sizeof(*arr));
	off = offsets_of(ctx, m->n_tets, 4);
	types = ctw_malloc(ctx, (size_t)(m->n_tets ? m->n_tets : 1));
	if (!arr || !off || !types) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	memset(types, 10, (size_t)m->n_tets); /* VTK_TETRA */
	for (int i = 0; i < n_ints; i++)
		arr[n++] = arr_of(int_names[i], "Int64", 1, 1, &int_values[i], sizeof(int64_t));
	for (int i = 0; i < n_fields; i++)
		if (fields[i]->loc != CTW_ON_CELLS)
			arr[n++] = arr_of(fields[i]->name, "Float64", fields[i]->n_comp, fields[i]->n, fields[i]->values, sizeof(double));
	arr[n++] = arr_of("tag", "Int32", 1, m->n_tets, m->region, sizeof(int32_t));
	for (int i = 0; i < n_fields; i++)
		if (fields[i]->loc == CTW_ON_CELLS)
			arr[n++] = arr_of(fields[i]->name, "Float64", fields[i]->n_comp, fields[i]->n, fields[i]->values, sizeof(double));
	arr[n++] = arr_of("Points", "Float64", 3, m->n_points, m->xyz, sizeof(double));
	arr[n++] = arr_of("connectivity", "Int32", 1, 4 * m->n_tets, m->tets, sizeof(int32_t));
	arr[n++] = arr_of("offsets", "Int32", 1, m->n_tets, off, sizeof(int32_t));
	arr[n++] = arr_of("types", "UInt8", 1, m->n_tets, types, 1);
	snprintf(piece, sizeof(piece), "    <Piece NumberOfPoints=\"%lld\" NumberOfCells=\"%lld\">\n", (long long)m->n_points,
		 (long long)m->n_tets);
	{
		const section sec[] = {
			{ "    <FieldData>\n", "    </FieldData>\n", 0, n_ints },
			{ "      <PointData>\n", "      </PointData>\n", n_ints, n_pt },
			{ "      <CellData Scalars=\"tag\">\n", "      </CellData>\n", n_ints + n_pt, 1 + n_cell },
			{ "      <Points>\n", "      </Points>\n", n - 4, 1 },
			{ "      <Cells>\n", "      </Cells>\n", n - 3, 3 },
		};
		ret = write_file(ctx, path, "UnstructuredGrid", piece, sec, 5, arr, n);
	}
out:
	ctw_free(ctx, arr);
	ctw_free(ctx, off);
	ctw_free(ctx, types);
	return ret;
}

int ctw_vtk_write_vtp(ctw_ctx *ctx, const double *xyz, int64_t n_points, const int32_t *tris, const int32_t *marker,
		      int64_t n_tris, const char *array, const char *path)
{
	xarr arr[4];
	int32_t *off = NULL;
	char piece[200];
	int n = 0, ret;

	if (n_points < 0 || n_tris < 0 || n_tris > INT32_MAX / 3 || (n_points && !xyz) || (n_tris && !tris))
		return ctw_error(ctx, CTW_ERR_INVALID, path, "bad surface: %lld points, %lld triangles", (long long)n_points,
				 (long long)n_tris);
	for (int64_t i = 0; i < 3 * n_tris; i++)
		if (tris[i] < 0 || tris[i] >= n_points)
			return ctw_error(ctx, CTW_ERR_INVALID, path, "triangle %lld refers to point %d of %lld",
					 (long long)(i / 3), (int)tris[i], (long long)n_points);
	if (!(off = offsets_of(ctx, n_tris, 3)))
		return CTW_ERR_NOMEM;
	if (marker)
		arr[n++] = arr_of(array && array[0] ? array : "marker", "Int32", 1, n_tris, marker, sizeof(int32_t));
	arr[n++] = arr_of("Points", "Float64", 3, n_points, xyz, sizeof(double));
	arr[n++] = arr_of("connectivity", "Int32", 1, 3 * n_tris, tris, sizeof(int32_t));
	arr[n++] = arr_of("offsets", "Int32", 1, n_tris, off, sizeof(int32_t));
	snprintf(piece, sizeof(piece), "    <Piece NumberOfPoints=\"%lld\" NumberOfVerts=\"0\" NumberOfLines=\"0\" "
		 "NumberOfStrips=\"0\" NumberOfPolys=\"%lld\">\n", (long long)n_points, (long long)n_tris);
	{
		const section sec[] = {
			{ "", "", 0, 0 },
			{ "      <PointData>\n", "      </PointData>\n", 0, 0 },
			{ "      <CellData>\n", "      </CellData>\n", 0, marker != NULL },
			{ "      <Points>\n", "      </Points>\n", n - 3, 1 },
			{ "      <Polys>\n", "      </Polys>\n", n - 2, 2 },
		};
		ret = write_file(ctx, path, "PolyData", piece, sec, 5, arr, n);
	}
	ctw_free(ctx, off);
	return ret;
}
