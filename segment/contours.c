/* contours.c: reads the Sunnybrook expert contour files (one closed polygon per file) and fills
 * polygons onto a 2D pixel grid with an even-odd scanline rule. */
#define _POSIX_C_SOURCE 200809L
#include "contours.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

#define MAX_COORD 1e5                       /* |x|, |y| above this is not a pixel coordinate */
#define MAX_FILE_BYTES ((long)64 << 20)     /* a contour file larger than this is refused    */
#define MAX_DEPTH 32                        /* directory levels below dir                    */

/* ---- file names ------------------------------------------------------------------------- */

/* Classifies a file name: 1 for a contour file (sets *instance and *kind), 0 for another file, -1
 * for a contour file name without an instance number. */
static int contour_name(const char *name, int64_t *instance, ctw_contour_kind *kind)
{
	const char *mark = strstr(name, "-icontour-");
	size_t len = strlen(name);
	const char *p;

	*kind = CTW_CONTOUR_ENDO;
	if (!mark) {
		mark = strstr(name, "-ocontour-");
		*kind = CTW_CONTOUR_EPI;
	}
	if (!mark || len < 4 || strcmp(name + len - 4, ".txt") != 0)
		return 0;
	/* the last run of 4 or more digits before the mark */
	for (p = mark; p > name;) {
		const char *end = p, *q;
		while (p > name && !(p[-1] >= '0' && p[-1] <= '9'))
			p--;
		end = p;
		while (p > name && p[-1] >= '0' && p[-1] <= '9')
			p--;
		if (end - p >= 4 && end - p <= 18) {
			int64_t v = 0;
			for (q = p; q < end; q++)
				v = 10 * v + (*q - '0');
			*instance = v;
			return 1;
		}
	}
	return -1;
}

/* ---- the directory walk ------------------------------------------------------------------ */

typedef struct walk {
	ctw_ctx *ctx;
	ctw_contour_set *set;
	int cap;
} walk;

static int add_candidate(walk *w, char *path, int64_t instance, ctw_contour_kind kind)
{
	ctw_contour_set *s = w->set;

	if (s->n == w->cap) {
		int cap = w->cap ? 2 * w->cap : 32;
		ctw_contour *c = ctw_realloc(w->ctx, s->c, sizeof(*c) * (size_t)cap);
		if (!c)
			return CTW_ERR_NOMEM;
		s->c = c;
		w->cap = cap;
	}
	memset(&s->c[s->n], 0, sizeof(s->c[s->n]));
	s->c[s->n].instance = instance;
	s->c[s->n].kind = kind;
	s->c[s->n].path = path;
	s->n++;
	return CTW_OK;
}

/* Visits one directory entry: recurses into directories, collects contour files (taking path) and
 * counts other regular files. Frees path unless it was collected. */
static int walk_dir(walk *w, const char *dir, int depth);

static int visit(walk *w, char *path, const char *name, int depth)
{
	struct stat st;
	int64_t instance = 0;
	ctw_contour_kind kind;
	int ret = CTW_OK, k;

	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		ret = walk_dir(w, path, depth + 1);
		ctw_free(w->ctx, path);
		return ret;
	}
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) { /* dangling link, fifo, device... */
		ctw_free(w->ctx, path);
		return CTW_OK;
	}
	k = contour_name(name, &instance, &kind);
	if (k == 1)
		ret = add_candidate(w, path, instance, kind);
	else if (k == -1)
		ret = ctw_error(w->ctx, CTW_ERR_FORMAT, path,
				"no instance number (a group of 4 or more digits) in the file name");
	else
		w->set->n_skipped++;
	if (k != 1 || ret)
		ctw_free(w->ctx, path);
	return ret;
}

static int walk_dir(walk *w, const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;
	int ret = CTW_OK;

	if (depth > MAX_DEPTH)
		return ctw_error(w->ctx, CTW_ERR_IO, dir, "more than %d directory levels", MAX_DEPTH);
	d = opendir(dir);
	if (!d)
		return ctw_error(w->ctx, CTW_ERR_IO, dir, "cannot read directory: %s", strerror(errno));
	for (;;) {
		char *path;
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				ret = ctw_error(w->ctx, CTW_ERR_IO, dir, "cannot read directory: %s",
						strerror(errno));
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		ret = ctw_path_join(w->ctx, dir, e->d_name, &path);
		if (!ret)
			ret = visit(w, path, e->d_name, depth);
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}

/* ---- parsing one file -------------------------------------------------------------------- */

/* Reads the whole file into *buf (capacity *cap, grown as needed, NUL-terminated); *len gets
 * its length. */
static int slurp(ctw_ctx *ctx, const char *path, char **buf, size_t *cap, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	int ret = CTW_OK;

	*len = 0;
	if (!fp)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	for (;;) {
		size_t got;
		if (*cap - *len < 2) {
			size_t ncap = *cap ? 2 * *cap : 16384;
			char *nb;
			if (ncap > (size_t)MAX_FILE_BYTES + 2) {
				ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
						"larger than %ld MiB; not a contour file", MAX_FILE_BYTES >> 20);
				break;
			}
			nb = ctw_realloc(ctx, *buf, ncap);
			if (!nb) {
				ret = CTW_ERR_NOMEM;
				break;
			}
			*buf = nb;
			*cap = ncap;
		}
		got = fread(*buf + *len, 1, *cap - *len - 1, fp);
		*len += got;
		if (got == 0) {
			if (ferror(fp))
				ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot read: %s", strerror(errno));
			break;
		}
	}
	fclose(fp);
	if (!ret)
		(*buf)[*len] = '\0';
	return ret;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Parses one number at *s (no leading blanks allowed: strtod would skip newlines too), which must
 * end before end. */
static int parse_number(const char **s, const char *end, double *v)
{
	char *stop;

	if (*s >= end || is_blank(**s) || **s == '\n')
		return 0;
	*v = strtod(*s, &stop);
	if (stop == *s || stop > end)
		return 0;
	*s = stop;
	return 1;
}

/* Parses the text of one contour file into c->xy and c->n. */
static int parse_contour(ctw_ctx *ctx, const char *buf, size_t len, ctw_contour *c)
{
	const char *s = buf, *end = buf + len;
	size_t n_lines = 1, i;
	int line = 0, n = 0;

	for (i = 0; i < len; i++)
		n_lines += buf[i] == '\n';
	if (n_lines > (size_t)INT32_MAX / 2)
		return ctw_error(ctx, CTW_ERR_FORMAT, c->path, "too many lines");
	c->xy = ctw_malloc(ctx, sizeof(*c->xy) * 2 * n_lines);
	if (!c->xy)
		return CTW_ERR_NOMEM;
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		double x, y;
		if (!eol)
			eol = end;
		line++;
		while (s < eol && is_blank(*s))
			s++;
		if (s == eol) { /* blank line */
			s = eol + 1;
			continue;
		}
		if (memchr(s, '\0', (size_t)(eol - s)) || !parse_number(&s, eol, &x) || s == eol ||
		    !is_blank(*s))
			goto malformed;
		while (s < eol && is_blank(*s))
			s++;
		if (!parse_number(&s, eol, &y))
			goto malformed;
		while (s < eol && is_blank(*s))
			s++;
		if (s != eol)
			goto malformed;
		if (!isfinite(x) || !isfinite(y))
			return ctw_error(ctx, CTW_ERR_FORMAT, c->path, "line %d: coordinate is not a finite number",
					 line);
		if (fabs(x) > MAX_COORD || fabs(y) > MAX_COORD)
			return ctw_error(ctx, CTW_ERR_FORMAT, c->path,
					 "line %d: coordinate (%g, %g) out of range (|x|, |y| <= %g)", line, x,
					 y, MAX_COORD);
		c->xy[2 * n] = x;
		c->xy[2 * n + 1] = y;
		n++;
		s = eol + 1;
	}
	c->n = n;
	if (n == 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, c->path, "empty file: no points");
	if (n < 3)
		return ctw_error(ctx, CTW_ERR_FORMAT, c->path, "only %d point%s; a contour needs at least 3",
				 n, n == 1 ? "" : "s");
	return CTW_OK;
malformed:
	return ctw_error(ctx, CTW_ERR_FORMAT, c->path, "line %d: expected two numbers 'x y'", line);
}

static int by_instance_kind(const void *a, const void *b)
{
	const ctw_contour *x = a, *y = b;
	if (x->instance != y->instance)
		return x->instance < y->instance ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->path, y->path);
}

int ctw_contours_read_dir(ctw_ctx *ctx, const char *dir, ctw_contour_set **out)
{
	ctw_contour_set *s;
	walk w;
	char *buf = NULL;
	size_t cap = 0, len;
	int ret, i;

	*out = NULL;
	s = ctw_calloc(ctx, 1, sizeof(*s));
	if (!s)
		return CTW_ERR_NOMEM;
	w.ctx = ctx;
	w.set = s;
	w.cap = 0;
	ret = walk_dir(&w, dir, 0);
	if (ret)
		goto out;
	if (s->n == 0) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, dir,
				"no contour file (*-icontour-*.txt or *-ocontour-*.txt) found");
		goto out;
	}
	qsort(s->c, (size_t)s->n, sizeof(*s->c), by_instance_kind);
	for (i = 1; i < s->n; i++) {
		if (s->c[i].instance == s->c[i - 1].instance && s->c[i].kind == s->c[i - 1].kind) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, dir, "two %s contours for instance %lld: '%s' and '%s'",
					s->c[i].kind == CTW_CONTOUR_ENDO ? "endocardial" : "epicardial",
					(long long)s->c[i].instance, s->c[i - 1].path, s->c[i].path);
			goto out;
		}
	}
	for (i = 0; i < s->n; i++) {
		ret = slurp(ctx, s->c[i].path, &buf, &cap, &len);
		if (!ret)
			ret = parse_contour(ctx, buf, len, &s->c[i]);
		if (ret)
			goto out;
	}
out:
	ctw_free(ctx, buf);
	if (ret) {
		ctw_contour_set_free(ctx, s);
		return ret;
	}
	*out = s;
	return CTW_OK;
}

void ctw_contour_set_free(ctw_ctx *ctx, ctw_contour_set *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		ctw_free(ctx, s->c[i].xy);
		ctw_free(ctx, s->c[i].path);
	}
	ctw_free(ctx, s->c);
	ctw_free(ctx, s);
}

/* ---- geometry ----------------------------------------------------------------------------- */

double ctw_contour_area(const ctw_contour *c)
{
	double sum = 0, x0, y0;
	int i;

	if (c->n < 3)
		return 0;
	x0 = c->xy[0]; /* relative to the first point, for accuracy far from the origin */
	y0 = c->xy[1];
	for (i = 0; i < c->n; i++) {
		int j = i + 1 < c->n ? i + 1 : 0;
		double ax = c->xy[2 * i] - x0, ay = c->xy[2 * i + 1] - y0;
		double bx = c->xy[2 * j] - x0, by = c->xy[2 * j + 1] - y0;
		sum += ax * by - bx * ay;
	}
	return fabs(sum) / 2;
}

/* Where the edge a-b crosses the scanline at row y, with the half-open rule lo.y <= y < hi.y
 * (horizontal edges never cross). The edge is always evaluated from its lower end, so an edge that
 * two polygons share gives the same x in both, whichever way each polygon runs. */
static int crossing(const double *a, const double *b, double y, double *x)
{
	const double *lo = a, *hi = b;

	if (a[1] > b[1]) {
		lo = b;
		hi = a;
	}
	if (!(lo[1] <= y && y < hi[1]))
		return 0;
	*x = lo[0] + (y - lo[1]) * (hi[0] - lo[0]) / (hi[1] - lo[1]);
	return 1;
}

/* Sets the pixels of row r with xa <= col < xb. */
static void fill_span(uint8_t *row, int cols, double xa, double xb, uint8_t value)
{
	double a = ceil(xa), b = ceil(xb);
	int col;

	if (a < 0)
		a = 0;
	if (b > cols)
		b = cols;
	if (!(a < b)) /* also when either is NaN */
		return;
	for (col = (int)a; col < (int)b; col++)
		row[col] = value;
}

void ctw_contour_fill(const ctw_contour *c, int rows, int cols, uint8_t *mask, uint8_t value)
{
	double ymin = HUGE_VAL, ymax = -HUGE_VAL;
	int i, r, r0, r1;

	if (c->n < 3 || rows <= 0 || cols <= 0)
		return;
	for (i = 0; i < c->n; i++) {
		double y = c->xy[2 * i + 1];
		if (y < ymin)
			ymin = y;
		if (y > ymax)
			ymax = y;
	}
	ymin = ceil(ymin);
	ymax = floor(ymax);
	if (!(ymin <= ymax) || ymax < 0 || ymin > rows - 1)
		return;
	r0 = ymin < 0 ? 0 : (int)ymin;
	r1 = ymax > rows - 1 ? rows - 1 : (int)ymax;
	for (r = r0; r <= r1; r++) {
		uint8_t *row = mask + (size_t)r * (size_t)cols;
		double y = r, cur = 0, start = 0;
		int inside = 0, have_cur = 0;
		/* Visit the crossings left to right without storing them (no allocator here): each pass
		 * finds the smallest crossing right of the previous one and how often it occurs. Rows of
		 * real contours cross the polygon a few times, so this costs a few passes over the edges. */
		for (;;) {
			double m = HUGE_VAL, x;
			int count = 0;
			for (i = 0; i < c->n; i++) {
				int j = i + 1 < c->n ? i + 1 : 0;
				if (!crossing(c->xy + 2 * i, c->xy + 2 * j, y, &x) || isnan(x) ||
				    (have_cur && !(x > cur)))
					continue;
				if (count == 0 || x < m) {
					m = x;
					count = 1;
				} else if (x == m) {
					count++;
				}
			}
			if (count == 0)
				break;
			if (count & 1) {
				if (inside)
					fill_span(row, cols, start, m, value);
				else
					start = m;
				inside = !inside;
			}
			cur = m;
			have_cur = 1;
		}
	}
}
