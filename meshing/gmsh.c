/* gmsh.c: reader of Gmsh MSH 4.1 meshes (ASCII and binary, either byte order) into a ctw_mesh_in.
 *
 * The whole file is read into memory; every count is checked against the bytes left before
 * anything is allocated for it, so a lying header gives CTW_ERR_FORMAT, never a huge allocation.
 * Sections: $MeshFormat (4.1 only), $PhysicalNames, $Entities (entity -> physical tags),
 * $Nodes (tags may be sparse: mapped to 0-based indices in file order), $Elements (4-node
 * tetrahedra, 3-node triangles, points; other types are counted and skipped); any other section
 * is skipped. Physical names give the meaning: triangles of BASE, ENDO/LV_ENDO(CARDIUM),
 * RV_ENDO(CARDIUM), EPI(CARDIUM) get ctw_surface_id markers (others 0), a physical point EPIPT or
 * APEX the apex node, volume groups the region tags (LV/MYOCARDIUM 1, RV 2, else the number). */
#include "mesh.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPE 128 /* element types counted in the log (others as "other") */

typedef struct entity {
	int dim, tag;
	int64_t phys_off, n_phys; /* into rd.phys */
} entity;

typedef struct physname {
	int dim, tag;
	char name[64];
} physname;

typedef struct block { /* a block of tetrahedra, triangles or points of one entity */
	int dim, tag, type;
	int64_t first, n; /* into tets, tris or pts */
} block;

typedef struct rd {
	ctw_ctx *ctx;
	const char *path;
	char *buf; /* the file, NUL-terminated */
	size_t len, pos;
	long line;     /* line of pos (meaningful in ASCII files) */
	int have_format, binary, swap, dsize;
	const char *section;
	physname *names;
	int64_t n_names;
	entity *ents;
	int64_t n_ents;
	int32_t *phys;
	int64_t n_phys, cap_phys;
	double *xyz;
	int64_t n_nodes;
	int64_t *node_tag;     /* tag of node i, while reading                */
	int32_t *dense;        /* tag - tag_lo -> index, or NULL: sorted map   */
	int64_t tag_lo, tag_span;
	int64_t *sorted;       /* (tag, index) pairs sorted by tag             */
	int32_t *tets, *tris, *pts;
	int64_t n_tets, n_tris, n_pts, cap_tets, cap_tris, cap_pts;
	block *blocks;
	int64_t n_blocks, cap_blocks;
	int64_t ignored[MAX_TYPE + 1];
	int have_nodes, have_elements;
} rd;

/* ---- errors and low-level reading -------------------------------------------------------------- */

static int bad(rd *r, const char *fmt, ...) CTW_PRINTF(2, 3);
static int bad(rd *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->binary && r->have_format)
		return ctw_error(r->ctx, CTW_ERR_FORMAT, r->path, "byte %zu%s%s: %s", r->pos,
				 r->section ? " in " : "", r->section ? r->section : "", msg);
	return ctw_error(r->ctx, CTW_ERR_FORMAT, r->path, "line %ld%s%s: %s", r->line, r->section ? " in " : "",
			 r->section ? r->section : "", msg);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_ws(rd *r)
{
	while (r->pos < r->len && is_space(r->buf[r->pos]))
		r->line += r->buf[r->pos++] == '\n';
}

static size_t left(const rd *r)
{
	return r->len - r->pos;
}

static int eof(rd *r, const char *what)
{
	return bad(r, "unexpected end of file (reading %s)", what);
}

/* ASCII integer token. */
static int a_int(rd *r, int64_t *v, const char *what)
{
	uint64_t u = 0;
	int neg = 0, nd = 0;

	skip_ws(r);
	if (r->pos >= r->len)
		return eof(r, what);
	if (r->buf[r->pos] == '-' || r->buf[r->pos] == '+')
		neg = r->buf[r->pos++] == '-';
	while (r->pos < r->len && r->buf[r->pos] >= '0' && r->buf[r->pos] <= '9') {
		if (u > (uint64_t)INT64_MAX / 10)
			return bad(r, "%s is too large", what);
		u = 10 * u + (uint64_t)(r->buf[r->pos++] - '0');
		nd++;
	}
	if (!nd || (r->pos < r->len && !is_space(r->buf[r->pos])) || u > (uint64_t)INT64_MAX)
		return bad(r, "bad %s (expected an integer)", what);
	*v = neg ? -(int64_t)u : (int64_t)u;
	return CTW_OK;
}

static int a_dbl(rd *r, double *v, const char *what)
{
	char *end;

	skip_ws(r);
	if (r->pos >= r->len)
		return eof(r, what);
	*v = strtod(r->buf + r->pos, &end); /* stops at the terminating NUL at the latest */
	if (end == r->buf + r->pos || (end < r->buf + r->len && !is_space(*end)) || !isfinite(*v))
		return bad(r, "bad %s (expected a finite number)", what);
	r->pos = (size_t)(end - r->buf);
	return CTW_OK;
}

static void get_raw(rd *r, void *dst, size_t n)
{
	unsigned char *d = dst;

	memcpy(d, r->buf + r->pos, n);
	r->pos += n;
	if (r->swap)
		for (size_t i = 0; i < n / 2; i++) {
			unsigned char t = d[i];
			d[i] = d[n - 1 - i];
			d[n - 1 - i] = t;
		}
}

/* An `int` of the format (ASCII token or 4 binary bytes). */
static int get_int(rd *r, int64_t *v, const char *what)
{
	int32_t i;

	if (!r->binary)
		return a_int(r, v, what);
	if (left(r) < 4)
		return eof(r, what);
	get_raw(r, &i, 4);
	*v = i;
	return CTW_OK;
}

/* A `size_t` of the format (non-negative). */
static int get_size(rd *r, int64_t *v, const char *what)
{
	if (!r->binary) {
		int ret = a_int(r, v, what);
		if (!ret && *v < 0)
			return bad(r, "negative %s", what);
		return ret;
	}
	if (left(r) < (size_t)r->dsize)
		return eof(r, what);
	if (r->dsize == 4) {
		uint32_t u;
		get_raw(r, &u, 4);
		*v = u;
	} else {
		uint64_t u;
		get_raw(r, &u, 8);
		if (u > (uint64_t)INT64_MAX)
			return bad(r, "%s is too large", what);
		*v = (int64_t)u;
	}
	return CTW_OK;
}

static int get_dbl(rd *r, double *v, const char *what)
{
	if (!r->binary)
		return a_dbl(r, v, what);
	if (left(r) < 8)
		return eof(r, what);
	get_raw(r, v, 8);
	if (!isfinite(*v))
		return bad(r, "%s is not finite", what);
	return CTW_OK;
}

/* A count that must fit in what is left of the file at min_bytes per item. */
static int get_count(rd *r, int64_t *n, size_t min_bytes, const char *what)
{
	int ret = get_size(r, n, what);

	if (!ret && (uint64_t)*n > left(r) / min_bytes)
		return bad(r, "%s %lld is more than the rest of the file can hold", what, (long long)*n);
	return ret;
}

/* Bytes per item at least: ASCII "1 " per number, binary its size. */
static size_t per(const rd *r, int n_int, int n_size, int n_dbl)
{
	size_t n = r->binary ? 4u * (size_t)n_int + (size_t)r->dsize * (size_t)n_size + 8u * (size_t)n_dbl
			     : 2u * (size_t)(n_int + n_size + n_dbl);
	return n ? n : 1;
}

/* After a section's name in a binary file the data starts after the end of that line. */
static int end_of_line(rd *r)
{
	while (r->pos < r->len && r->buf[r->pos] != '\n') {
		if (r->buf[r->pos] != ' ' && r->buf[r->pos] != '\r' && r->buf[r->pos] != '\t')
			return bad(r, "unexpected text after the section name");
		r->pos++;
	}
	if (r->pos >= r->len)
		return eof(r, "the section's data");
	r->pos++;
	r->line++;
	return CTW_OK;
}

/* Reads the next "$Word" token into name (at most cap-1 bytes). */
static int get_marker(rd *r, char *name, size_t cap)
{
	size_t n = 0;

	skip_ws(r);
	if (r->pos >= r->len || r->buf[r->pos] != '$')
		return bad(r, "%s", r->have_format ? "expected a section marker ($...)"
						   : "not a Gmsh mesh file (it does not start with $MeshFormat)");
	while (r->pos < r->len && !is_space(r->buf[r->pos])) {
		if (n + 1 < cap)
			name[n++] = r->buf[r->pos];
		r->pos++;
	}
	name[n] = 0;
	return CTW_OK;
}

static int expect_end(rd *r, const char *sec)
{
	char name[64], want[72];

	snprintf(want, sizeof(want), "$End%s", sec + 1);
	skip_ws(r);
	if (r->pos >= r->len)
		return eof(r, want);
	if (get_marker(r, name, sizeof(name)) || strcmp(name, want))
		return bad(r, "expected %s (a count in the section is wrong or the file is cut)", want);
	return CTW_OK;
}

static int grow(rd *r, void **p, int64_t *cap, int64_t need, size_t elem)
{
	int64_t c = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return CTW_OK;
	while (c < need)
		c = c > INT64_MAX / 2 ? need : 2 * c;
	if ((uint64_t)c > SIZE_MAX / elem)
		return ctw_error(r->ctx, CTW_ERR_NOMEM, r->path, "out of memory");
	q = ctw_realloc(r->ctx, *p, (size_t)c * elem);
	if (!q)
		return CTW_ERR_NOMEM;
	*p = q;
	*cap = c;
	return CTW_OK;
}

static int ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'a' && *a <= 'z' ? (char)(*a - 32) : *a, y = *b >= 'a' && *b <= 'z' ? (char)(*b - 32) : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

/* ---- sections ------------------------------------------------------------------------------------ */

static int read_format(rd *r)
{
	char ver[16];
	size_t n = 0;
	int64_t type, dsize;
	int ret;

	skip_ws(r);
	while (r->pos < r->len && !is_space(r->buf[r->pos]) && n + 1 < sizeof(ver))
		ver[n++] = r->buf[r->pos++];
	ver[n] = 0;
	if (strcmp(ver, "4.1"))
		return bad(r, "MSH version '%s' is not supported (only 4.1; re-save with gmsh -format msh41)", ver);
	if ((ret = a_int(r, &type, "file type")) || (ret = a_int(r, &dsize, "data size")))
		return ret;
	if (type != 0 && type != 1)
		return bad(r, "file type %lld (expected 0 ASCII or 1 binary)", (long long)type);
	if (dsize != 4 && dsize != 8)
		return bad(r, "data size %lld (expected 4 or 8)", (long long)dsize);
	r->binary = (int)type;
	r->dsize = (int)dsize;
	if (r->binary) {
		int32_t one;
		if ((ret = end_of_line(r)))
			return ret;
		if (left(r) < 4)
			return eof(r, "the byte-order mark");
		memcpy(&one, r->buf + r->pos, 4);
		if (one == 1)
			r->swap = 0;
		else if (one == 0x01000000)
			r->swap = 1;
		else
			return bad(r, "bad byte-order mark (expected the integer 1)");
		r->pos += 4;
	}
	r->have_format = 1;
	return CTW_OK;
}

static int read_names(rd *r)
{
	int64_t n, dim, tag;
	int ret;

	if ((ret = a_int(r, &n, "number of physical names")))
		return ret;
	if (n < 0 || (uint64_t)n > left(r) / 6)
		return bad(r, "%lld physical names is more than the rest of the file can hold", (long long)n);
	ctw_free(r->ctx, r->names);
	r->n_names = 0;
	if (!(r->names = ctw_calloc(r->ctx, (size_t)n + 1, sizeof(physname))))
		return CTW_ERR_NOMEM;
	for (int64_t i = 0; i < n; i++) {
		physname *p = &r->names[i];
		size_t k = 0;
		if ((ret = a_int(r, &dim, "physical dimension")) || (ret = a_int(r, &tag, "physical tag")))
			return ret;
		if (dim < 0 || dim > 3 || tag < INT32_MIN || tag > INT32_MAX)
			return bad(r, "bad physical group %lld %lld", (long long)dim, (long long)tag);
		skip_ws(r);
		if (r->pos >= r->len || r->buf[r->pos] != '"')
			return bad(r, "physical name is not quoted");
		for (r->pos++; r->pos < r->len && r->buf[r->pos] != '"'; r->pos++) {
			if (r->buf[r->pos] == '\n')
				return bad(r, "unterminated physical name");
			if (k + 1 < sizeof(p->name))
				p->name[k++] = r->buf[r->pos];
		}
		if (r->pos >= r->len)
			return eof(r, "a physical name");
		r->pos++;
		p->dim = (int)dim;
		p->tag = (int)tag;
		r->n_names = i + 1;
	}
	return CTW_OK;
}

static int read_entities(rd *r)
{
	int64_t num[4], v;
	double d;
	int ret;

	for (int k = 0; k < 4; k++)
		if ((ret = get_count(r, &num[k], per(r, 1, 1, 3), "number of entities")))
			return ret;
	if ((uint64_t)(num[0] + num[1] + num[2] + num[3]) > left(r) / per(r, 1, 1, 3))
		return bad(r, "the entity counts are more than the rest of the file can hold");
	ctw_free(r->ctx, r->ents);
	r->n_ents = 0;
	if (!(r->ents = ctw_calloc(r->ctx, (size_t)(num[0] + num[1] + num[2] + num[3]) + 1, sizeof(entity))))
		return CTW_ERR_NOMEM;
	for (int dim = 0; dim < 4; dim++)
		for (int64_t i = 0; i < num[dim]; i++) {
			entity *e = &r->ents[r->n_ents];
			int64_t np, nb;
			if ((ret = get_int(r, &v, "entity tag")))
				return ret;
			if (v < INT32_MIN || v > INT32_MAX)
				return bad(r, "bad entity tag %lld", (long long)v);
			e->dim = dim;
			e->tag = (int)v;
			for (int c = 0; c < (dim ? 6 : 3); c++)
				if ((ret = get_dbl(r, &d, "entity coordinates")))
					return ret;
			if ((ret = get_count(r, &np, per(r, 1, 0, 0), "number of physical tags")))
				return ret;
			if ((ret = grow(r, (void **)&r->phys, &r->cap_phys, r->n_phys + np, sizeof(int32_t))))
				return ret;
			e->phys_off = r->n_phys;
			e->n_phys = np;
			for (int64_t j = 0; j < np; j++) {
				if ((ret = get_int(r, &v, "physical tag")))
					return ret;
				if (v < -INT32_MAX || v > INT32_MAX)
					return bad(r, "bad physical tag %lld", (long long)v);
				r->phys[r->n_phys++] = (int32_t)(v < 0 ? -v : v); /* sign: orientation only */
			}
			if (dim) {
				if ((ret = get_count(r, &nb, per(r, 1, 0, 0), "number of bounding entities")))
					return ret;
				for (int64_t j = 0; j < nb; j++)
					if ((ret = get_int(r, &v, "bounding entity")))
						return ret;
			}
			r->n_ents++;
		}
	return CTW_OK;
}

static int cmp_pair(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Builds the tag -> index map: dense when the tags are compact, else sorted pairs. */
static int map_nodes(rd *r)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN, n = r->n_nodes;

	for (int64_t i = 0; i < n; i++) {
		lo = r->node_tag[i] < lo ? r->node_tag[i] : lo;
		hi = r->node_tag[i] > hi ? r->node_tag[i] : hi;
	}
	if (n && hi - lo < 2 * n + 1024) {
		r->tag_lo = lo;
		r->tag_span = hi - lo + 1;
		if (!(r->dense = ctw_malloc(r->ctx, sizeof(int32_t) * (size_t)r->tag_span)))
			return CTW_ERR_NOMEM;
		for (int64_t t = 0; t < r->tag_span; t++)
			r->dense[t] = -1;
		for (int64_t i = 0; i < n; i++) {
			int32_t *slot = &r->dense[r->node_tag[i] - lo];
			if (*slot >= 0)
				return bad(r, "node tag %lld is defined twice", (long long)r->node_tag[i]);
			*slot = (int32_t)i;
		}
	} else if (n) {
		if (!(r->sorted = ctw_malloc(r->ctx, sizeof(int64_t) * 2 * (size_t)n)))
			return CTW_ERR_NOMEM;
		for (int64_t i = 0; i < n; i++) {
			r->sorted[2 * i] = r->node_tag[i];
			r->sorted[2 * i + 1] = i;
		}
		qsort(r->sorted, (size_t)n, 2 * sizeof(int64_t), cmp_pair);
		for (int64_t i = 1; i < n; i++)
			if (r->sorted[2 * i] == r->sorted[2 * i - 2])
				return bad(r, "node tag %lld is defined twice", (long long)r->sorted[2 * i]);
	}
	ctw_free(r->ctx, r->node_tag);
	r->node_tag = NULL;
	return CTW_OK;
}

static int32_t node_index(const rd *r, int64_t tag)
{
	if (r->dense)
		return tag >= r->tag_lo && tag - r->tag_lo < r->tag_span ? r->dense[tag - r->tag_lo] : -1;
	if (r->sorted) {
		int64_t a = 0, b = r->n_nodes;
		while (a < b) {
			int64_t m = a + (b - a) / 2;
			if (r->sorted[2 * m] < tag)
				a = m + 1;
			else
				b = m;
		}
		if (a < r->n_nodes && r->sorted[2 * a] == tag)
			return (int32_t)r->sorted[2 * a + 1];
	}
	return -1;
}

static int read_nodes(rd *r)
{
	int64_t nb, n, lo, hi, got = 0, dim, tag, par, k, t;
	double x;
	int ret;

	if (r->have_nodes)
		return bad(r, "a second $Nodes section");
	r->have_nodes = 1;
	if ((ret = get_count(r, &nb, per(r, 3, 1, 0), "number of node blocks")) ||
	    (ret = get_count(r, &n, per(r, 0, 1, 3), "number of nodes")) || (ret = get_size(r, &lo, "minimum node tag")) ||
	    (ret = get_size(r, &hi, "maximum node tag")))
		return ret;
	if (n > INT32_MAX)
		return bad(r, "%lld nodes are too many (at most %d)", (long long)n, INT32_MAX);
	if (!(r->xyz = ctw_malloc(r->ctx, sizeof(double) * 3 * (size_t)(n ? n : 1))) ||
	    !(r->node_tag = ctw_malloc(r->ctx, sizeof(int64_t) * (size_t)(n ? n : 1))))
		return CTW_ERR_NOMEM;
	r->n_nodes = n;
	for (int64_t b = 0; b < nb; b++) {
		if ((ret = get_int(r, &dim, "entity dimension")) || (ret = get_int(r, &tag, "entity tag")) ||
		    (ret = get_int(r, &par, "parametric flag")) ||
		    (ret = get_count(r, &k, per(r, 0, 1, 3), "number of nodes in the block")))
			return ret;
		if (dim < 0 || dim > 3 || par < 0 || par > 1)
			return bad(r, "bad node block header (dimension %lld, parametric %lld)", (long long)dim,
				   (long long)par);
		if (k > n - got)
			return bad(r, "the node blocks hold more than the %lld nodes of the header", (long long)n);
		for (int64_t i = 0; i < k; i++) {
			if ((ret = get_size(r, &t, "node tag")))
				return ret;
			r->node_tag[got + i] = t;
		}
		for (int64_t i = 0; i < k; i++) {
			for (int c = 0; c < 3; c++)
				if ((ret = get_dbl(r, &r->xyz[3 * (got + i) + c], "node coordinate")))
					return ret;
			for (int64_t c = 0; c < (par ? dim : 0); c++)
				if ((ret = get_dbl(r, &x, "parametric coordinate")))
					return ret;
		}
		got += k;
	}
	if (got != n)
		return bad(r, "the node blocks hold %lld nodes, the header says %lld", (long long)got, (long long)n);
	return map_nodes(r);
}

static int nodes_of_type(int64_t type)
{
	static const int nn[] = { 0, 2, 3, 4, 4, 8, 6, 5, 3, 6, 9, 10, 27, 18, 14, 1, 8, 20, 15, 13, 9, 10, 12, 15, 15, 21,
				  4, 5, 6, 20, 35, 56 };
	if (type >= 0 && type < (int64_t)(sizeof(nn) / sizeof(nn[0])))
		return nn[type];
	return type == 92 ? 64 : type == 93 ? 125 : 0;
}

/* Skips n lines (ASCII, for element types of unknown size). */
static int skip_lines(rd *r, int64_t n)
{
	for (int64_t i = 0; i <= n; i++) { /* the rest of the block header's line, then n lines */
		const char *nl = memchr(r->buf + r->pos, '\n', left(r));
		if (!nl)
			return i == n ? CTW_OK : eof(r, "elements");
		r->pos = (size_t)(nl - r->buf) + 1;
		r->line++;
	}
	return CTW_OK;
}

static int read_elements(rd *r)
{
	int64_t nb, n, lo, hi, got = 0, dim, tag, type, k, v;
	int ret;

	if (r->have_elements)
		return bad(r, "a second $Elements section");
	if (!r->have_nodes)
		return bad(r, "$Elements before $Nodes");
	r->have_elements = 1;
	if ((ret = get_count(r, &nb, per(r, 3, 1, 0), "number of element blocks")) ||
	    (ret = get_count(r, &n, per(r, 0, 2, 0), "number of elements")) ||
	    (ret = get_size(r, &lo, "minimum element tag")) || (ret = get_size(r, &hi, "maximum element tag")))
		return ret;
	for (int64_t b = 0; b < nb; b++) {
		int32_t **arr = NULL;
		int64_t *cnt = NULL, *cap = NULL;
		int nn;
		if ((ret = get_int(r, &dim, "entity dimension")) || (ret = get_int(r, &tag, "entity tag")) ||
		    (ret = get_int(r, &type, "element type")))
			return ret;
		nn = nodes_of_type(type);
		if ((ret = get_count(r, &k, per(r, 0, 1 + (nn ? nn : 1), 0), "number of elements in the block")))
			return ret;
		if (k > n - got)
			return bad(r, "the element blocks hold more than the %lld elements of the header", (long long)n);
		got += k;
		if (dim < 0 || dim > 3 || tag < INT32_MIN || tag > INT32_MAX)
			return bad(r, "bad element block header (dimension %lld, entity %lld)", (long long)dim, (long long)tag);
		if (type == 4)
			arr = &r->tets, cnt = &r->n_tets, cap = &r->cap_tets;
		else if (type == 2)
			arr = &r->tris, cnt = &r->n_tris, cap = &r->cap_tris;
		else if (type == 15)
			arr = &r->pts, cnt = &r->n_pts, cap = &r->cap_pts;
		if (!arr) {
			r->ignored[type >= 0 && type < MAX_TYPE ? type : MAX_TYPE] += k;
			if (!nn) {
				if (r->binary)
					return bad(r, "element type %lld is unknown: its size is unknown", (long long)type);
				if ((ret = skip_lines(r, k)))
					return ret;
				continue;
			}
			for (int64_t i = 0; i < k * (1 + nn); i++)
				if ((ret = get_size(r, &v, "element data")))
					return ret;
			continue;
		}
		if ((ret = grow(r, (void **)arr, cap, *cnt + k, sizeof(int32_t) * (size_t)nn)) ||
		    (ret = grow(r, (void **)&r->blocks, &r->cap_blocks, r->n_blocks + 1, sizeof(block))))
			return ret;
		r->blocks[r->n_blocks++] = (block){ (int)dim, (int)tag, (int)type, *cnt, k };
		for (int64_t i = 0; i < k; i++) {
			int32_t *e = *arr + (*cnt + i) * nn;
			if ((ret = get_size(r, &v, "element tag")))
				return ret;
			for (int c = 0; c < nn; c++) {
				if ((ret = get_size(r, &v, "element node")))
					return ret;
				if ((e[c] = node_index(r, v)) < 0)
					return bad(r, "an element refers to node tag %lld, which $Nodes does not define",
						   (long long)v);
			}
		}
		*cnt += k;
	}
	if (got != n)
		return bad(r, "the element blocks hold %lld elements, the header says %lld", (long long)got, (long long)n);
	return CTW_OK;
}

/* Skips an unknown section up to its $End marker. */
static int skip_section(rd *r, const char *name)
{
	char want[72];
	size_t wl;

	snprintf(want, sizeof(want), "$End%s", name + 1);
	wl = strlen(want);
	for (size_t p = r->pos; p + wl <= r->len; p++) {
		if (r->buf[p] == '\n')
			r->line++;
		else if (r->buf[p] == '$' && !memcmp(r->buf + p, want, wl) && (p + wl == r->len || is_space(r->buf[p + wl]))) {
			r->pos = p + wl;
			return CTW_OK;
		}
	}
	r->pos = r->len;
	return bad(r, "section %s has no %s", name, want);
}

/* ---- meaning of the physical groups -------------------------------------------------------------- */

static const entity *find_entity(const rd *r, int dim, int tag)
{
	for (int64_t i = 0; i < r->n_ents; i++)
		if (r->ents[i].dim == dim && r->ents[i].tag == tag)
			return &r->ents[i];
	return NULL;
}

static const char *phys_name(const rd *r, int dim, int tag)
{
	for (int64_t i = 0; i < r->n_names; i++)
		if (r->names[i].dim == dim && r->names[i].tag == tag)
			return r->names[i].name;
	return NULL;
}

static int surface_of(const char *name)
{
	static const struct {
		const char *name;
		int id;
	} map[] = { { "BASE", CTW_SURF_BASE },		{ "ENDO", CTW_SURF_LV_ENDO },
		    { "LV_ENDO", CTW_SURF_LV_ENDO },	{ "ENDOCARDIUM", CTW_SURF_LV_ENDO },
		    { "LV_ENDOCARDIUM", CTW_SURF_LV_ENDO }, { "RV_ENDO", CTW_SURF_RV_ENDO },
		    { "RV_ENDOCARDIUM", CTW_SURF_RV_ENDO }, { "EPI", CTW_SURF_EPI },
		    { "EPICARDIUM", CTW_SURF_EPI } };
	for (size_t i = 0; name && i < sizeof(map) / sizeof(map[0]); i++)
		if (ieq(name, map[i].name))
			return map[i].id;
	return CTW_SURF_NONE;
}

static void label_blocks(rd *r, int32_t *region, int32_t *marker, int64_t *apex)
{
	for (int64_t b = 0; b < r->n_blocks; b++) {
		const block *bl = &r->blocks[b];
		const entity *e = find_entity(r, bl->dim, bl->tag);
		int64_t np = e ? e->n_phys : 0;
		const int32_t *ph = e ? r->phys + e->phys_off : NULL;
		if (bl->type == 4) {
			int32_t reg = 1;
			if (np) {
				const char *nm = phys_name(r, 3, ph[0]);
				reg = nm && (ieq(nm, "LV") || ieq(nm, "MYOCARDIUM")) ? 1 : nm && ieq(nm, "RV") ? 2 : ph[0];
			} else {
				ctw_log(r->ctx, CTW_LOG_INFO, "gmsh", "%s: volume %d has no physical group: region 1", r->path,
					bl->tag);
			}
			for (int64_t i = 0; i < bl->n; i++)
				region[bl->first + i] = reg;
		} else if (bl->type == 2) {
			int id = CTW_SURF_NONE;
			for (int64_t j = 0; j < np && !id; j++)
				id = surface_of(phys_name(r, 2, ph[j]));
			if (!id) {
				const char *nm = np ? phys_name(r, 2, ph[0]) : NULL;
				char grp[96];
				if (np)
					snprintf(grp, sizeof(grp), "physical group %d%s%.64s%s", (int)ph[0], nm ? " \"" : "",
						 nm ? nm : "", nm ? "\"" : "");
				else
					snprintf(grp, sizeof(grp), "no physical group");
				ctw_log(r->ctx, CTW_LOG_WARN, "gmsh",
					"%s: %lld triangles of surface %d (%s) are not a known boundary (BASE, ENDO, LV_ENDO, "
					"RV_ENDO, EPI): marker 0",
					r->path, (long long)bl->n, bl->tag, grp);
			}
			for (int64_t i = 0; i < bl->n; i++)
				marker[bl->first + i] = id;
		} else if (bl->type == 15 && *apex < 0 && bl->n > 0) {
			for (int64_t j = 0; j < np; j++) {
				const char *nm = phys_name(r, 0, ph[j]);
				if (nm && (ieq(nm, "EPIPT") || ieq(nm, "APEX"))) {
					*apex = r->pts[bl->first];
					break;
				}
			}
		}
	}
}

static void rd_free(rd *r)
{
	ctw_ctx *c = r->ctx;
	ctw_free(c, r->buf);
	ctw_free(c, r->names);
	ctw_free(c, r->ents);
	ctw_free(c, r->phys);
	ctw_free(c, r->xyz);
	ctw_free(c, r->node_tag);
	ctw_free(c, r->dense);
	ctw_free(c, r->sorted);
	ctw_free(c, r->tets);
	ctw_free(c, r->tris);
	ctw_free(c, r->pts);
	ctw_free(c, r->blocks);
}

static int load(rd *r)
{
	FILE *f = fopen(r->path, "rb");
	long n;
	int ret = CTW_OK;

	if (!f)
		return ctw_error(r->ctx, CTW_ERR_IO, r->path, "cannot open: %s", strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		ret = ctw_error(r->ctx, CTW_ERR_IO, r->path, "cannot read: %s", strerror(errno));
	} else if (!(r->buf = ctw_malloc(r->ctx, (size_t)n + 1))) {
		ret = CTW_ERR_NOMEM;
	} else if (fread(r->buf, 1, (size_t)n, f) != (size_t)n) {
		ret = ctw_error(r->ctx, CTW_ERR_IO, r->path, "cannot read: %s", ferror(f) ? strerror(errno) : "short read");
	} else {
		r->buf[n] = 0;
		r->len = (size_t)n;
	}
	fclose(f);
	return ret;
}

int ctw_gmsh_read(ctw_ctx *ctx, const char *path, ctw_mesh_in *out)
{
	rd r;
	char name[64];
	ctw_tetmesh *m = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	out->apex_node = -1;
	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.path = path;
	r.line = 1;
	if ((ret = load(&r)))
		goto out;
	for (;;) {
		skip_ws(&r);
		if (r.pos >= r.len)
			break;
		r.section = NULL;
		if ((ret = get_marker(&r, name, sizeof(name))))
			goto out;
		if (!r.have_format && strcmp(name, "$MeshFormat")) {
			ret = bad(&r, "not a Gmsh mesh: it does not start with $MeshFormat");
			goto out;
		}
		r.section = name;
		if (r.binary && strcmp(name, "$PhysicalNames") && (ret = end_of_line(&r)))
			goto out;
		if (!strcmp(name, "$MeshFormat"))
			ret = r.have_format ? bad(&r, "a second $MeshFormat") : read_format(&r);
		else if (!strcmp(name, "$PhysicalNames"))
			ret = read_names(&r);
		else if (!strcmp(name, "$Entities"))
			ret = read_entities(&r);
		else if (!strcmp(name, "$Nodes"))
			ret = read_nodes(&r);
		else if (!strcmp(name, "$Elements"))
			ret = read_elements(&r);
		else {
			ctw_log(ctx, CTW_LOG_DEBUG, "gmsh", "%s: skipping section %s", path, name);
			if (!(ret = skip_section(&r, name)))
				continue;
		}
		if (ret || (ret = expect_end(&r, name)))
			goto out;
	}
	r.section = NULL;
	if (!r.have_format || !r.have_nodes || !r.n_tets) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "%s",
				!r.have_format ? "not a Gmsh mesh: no $MeshFormat"
				: !r.have_nodes ? "no $Nodes section"
						: "no 4-node tetrahedra (element type 4)");
		goto out;
	}
	if ((ret = ctw_tetmesh_new(ctx, r.n_nodes, r.n_tets, r.n_tris, &m)))
		goto out;
	memcpy(m->xyz, r.xyz, sizeof(double) * 3 * (size_t)r.n_nodes);
	memcpy(m->tets, r.tets, sizeof(int32_t) * 4 * (size_t)r.n_tets);
	if (r.n_tris)
		memcpy(m->tris, r.tris, sizeof(int32_t) * 3 * (size_t)r.n_tris);
	/* orientation: a zero-volume tetrahedron is refused (no sound repair), an inverted one (negative
	   volume, Gmsh's convention is positive) is turned and counted */
	for (int64_t t = 0; t < m->n_tets; t++) {
		int32_t *v = m->tets + 4 * t;
		const double *a = m->xyz + 3 * v[0], *b = m->xyz + 3 * v[1], *c = m->xyz + 3 * v[2], *d = m->xyz + 3 * v[3];
		double u[3], w[3], z[3], vol, L = 0;
		for (int k = 0; k < 3; k++) {
			u[k] = b[k] - a[k];
			w[k] = c[k] - a[k];
			z[k] = d[k] - a[k];
			L = fmax(L, fmax(fabs(u[k]), fmax(fabs(w[k]), fabs(z[k]))));
		}
		vol = u[0] * (w[1] * z[2] - w[2] * z[1]) - u[1] * (w[0] * z[2] - w[2] * z[0]) + u[2] * (w[0] * z[1] - w[1] * z[0]);
		if (!isfinite(vol) || fabs(vol) <= 1e-12 * L * L * L) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "tetrahedron %lld (nodes %d %d %d %d) has %s volume; hint: "
					"repair the mesh (no sound fibre field on a flat element)", (long long)t, (int)v[0],
					(int)v[1], (int)v[2], (int)v[3], isfinite(vol) ? "zero" : "a non-finite");
			goto out;
		}
		if (vol < 0) {
			int32_t tmp = v[2];
			v[2] = v[3];
			v[3] = tmp;
			out->n_reoriented++;
		}
	}
	if (out->n_reoriented)
		ctw_log(ctx, CTW_LOG_WARN, path, "%lld of %lld tetrahedra were inverted (negative volume) and were reoriented",
			(long long)out->n_reoriented, (long long)m->n_tets);
	label_blocks(&r, m->region, m->tri_marker, &out->apex_node);
	{
		int64_t per_id[5] = { 0 };
		char buf[256] = "";
		size_t off = 0;
		for (int64_t t = 0; t < m->n_tris; t++)
			per_id[m->tri_marker[t]]++;
		for (int k = 0; k <= MAX_TYPE; k++)
			if (r.ignored[k]) {
				if (off < sizeof(buf) - 32)
					off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld of type %s%d",
								off ? ", " : "; ignored ", (long long)r.ignored[k],
								k == MAX_TYPE ? ">=" : "", k);
			}
		ctw_log(ctx, CTW_LOG_INFO, "gmsh",
			"%s: %lld nodes, %lld tetrahedra, %lld triangles (epi %lld, lv_endo %lld, rv_endo %lld, base %lld, "
			"untagged %lld), apex node %lld%s",
			path, (long long)m->n_points, (long long)m->n_tets, (long long)m->n_tris, (long long)per_id[1],
			(long long)per_id[2], (long long)per_id[3], (long long)per_id[4], (long long)per_id[0],
			(long long)out->apex_node, buf);
	}
	out->mesh = m;
	m = NULL;
out:
	ctw_tetmesh_free(ctx, m);
	rd_free(&r);
	return ret;
}
