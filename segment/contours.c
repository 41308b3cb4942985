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

/* Whether name holds word in any case. */
static int has_word_nocase(const char *name, const char *word)
{
	size_t n = strlen(word);
	for (; *name; name++) {
		size_t i = 0;
		while (i < n && name[i] && (name[i] | 0x20) == word[i])
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

/* Classifies a file name: 1 for a contour file (sets *instance and *kind), 0 for another file, 2
 * for a papillary contour file, -1 for a contour file name without an instance number, -2 for a
 * name that looks like a contour file's but does not follow the pattern. */
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
	if (!mark || len < 4 || strcmp(name + len - 4, ".txt") != 0) {
		if (has_word_nocase(name, "icontour") || has_word_nocase(name, "ocontour"))
			return -2;
		return has_word_nocase(name, "p1contour") || has_word_nocase(name, "p2contour") ? 2 : 0;
	}
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
	else if (k == -2)
		ret = ctw_error(w->ctx, CTW_ERR_FORMAT, path,
				"named like a contour file but not as one; name it like IM-0001-0048-icontour-manual.txt "
				"(or -ocontour-), or move it out of the contour directory");
	else {
		ctw_contour_set *s = w->set;
		s->n_skipped++;
		if (k == 0 && s->n_unrelated++ < 3) {
			size_t used = strlen(s->unrelated);
			if (snprintf(s->unrelated + used, sizeof(s->unrelated) - used, "%s%s", used ? "', '" : "",
				     path) < 0)
				s->unrelated[used] = '\0';
		}
	}
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
	/* decimal only: strtod also takes hexadecimal (inf and nan are refused as not finite) */
	for (const char *p = *s; p < stop; p++)
		if (*p == 'x' || *p == 'X')
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
		/* a point repeating the one before is dropped (the polygon is the same): real files
		 * repeat their first point at the end, and repeats would hide neighbouring edges */
		if (!(n > 0 && c->xy[2 * n - 2] == x && c->xy[2 * n - 1] == y)) {
			c->xy[2 * n] = x;
			c->xy[2 * n + 1] = y;
			n++;
		}
		s = eol + 1;
	}
	while (n > 1 && c->xy[2 * n - 2] == c->xy[0] && c->xy[2 * n - 1] == c->xy[1])
		n--;
	c->n = n;
	if (n > CTW_CONTOUR_MAX_POINTS)
		return ctw_error(ctx, CTW_ERR_FORMAT, c->path, "%d points, more than %d; not an expert contour", n,
				 CTW_CONTOUR_MAX_POINTS);
	if (n == 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, c->path, "empty file: no points");
	if (n < 3)
		return ctw_error(ctx, CTW_ERR_FORMAT, c->path, "only %d distinct point%s; a contour needs at least 3",
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

/* ---- checks ------------------------------------------------------------------------------- */

/* Sign of the turn a-b-c: 1 left, -1 right, 0 collinear. */
static int turn(const double *a, const double *b, const double *c)
{
	double v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
	return (v > 0) - (v < 0);
}

static int on_segment(const double *a, const double *b, const double *p)
{
	return fmin(a[0], b[0]) <= p[0] && p[0] <= fmax(a[0], b[0]) && fmin(a[1], b[1]) <= p[1] &&
	       p[1] <= fmax(a[1], b[1]);
}

/* Whether segments ab and cd share a point. */
static int segments_meet(const double *a, const double *b, const double *c, const double *d)
{
	int t1 = turn(a, b, c), t2 = turn(a, b, d), t3 = turn(c, d, a), t4 = turn(c, d, b);

	if (t1 * t2 < 0 && t3 * t4 < 0)
		return 1;
	return (t1 == 0 && on_segment(a, b, c)) || (t2 == 0 && on_segment(a, b, d)) ||
	       (t3 == 0 && on_segment(c, d, a)) || (t4 == 0 && on_segment(c, d, b));
}

int ctw_contour_self_intersects(const ctw_contour *c, double *x, double *y)
{
	const int n = c->n;
	const double *p = c->xy;

	for (int i = 0; i < n; i++) {
		const double *a = p + 2 * i, *b = p + 2 * ((i + 1) % n);
		double bx0 = fmin(a[0], b[0]), bx1 = fmax(a[0], b[0]), by0 = fmin(a[1], b[1]), by1 = fmax(a[1], b[1]);
		if (a[0] == b[0] && a[1] == b[1])
			continue;
		/* edges j > i + 1, not the one closing onto edge i */
		for (int j = i + 2; j < n; j++) {
			const double *q = p + 2 * j, *r = p + 2 * ((j + 1) % n);
			if ((j + 1) % n == i || (q[0] == r[0] && q[1] == r[1]))
				continue;
			if (fmax(q[0], r[0]) < bx0 || fmin(q[0], r[0]) > bx1 || fmax(q[1], r[1]) < by0 ||
			    fmin(q[1], r[1]) > by1)
				continue;
			if (segments_meet(a, b, q, r)) {
				*x = q[0];
				*y = q[1];
				return 1;
			}
		}
	}
	return 0;
}

/* The area centroid of the polygon in mm (the mean of its points when it has no area). */
static void centroid_mm(const ctw_contour *c, double sx, double sy, double *cx, double *cy)
{
	double a = 0, mx = 0, my = 0, x0 = c->xy[0], y0 = c->xy[1];

	for (int i = 0; i < c->n; i++) {
		int j = (i + 1) % c->n;
		double xi = c->xy[2 * i] - x0, yi = c->xy[2 * i + 1] - y0, xj = c->xy[2 * j] - x0,
		       yj = c->xy[2 * j + 1] - y0, w = xi * yj - xj * yi;
		a += w;
		mx += (xi + xj) * w;
		my += (yi + yj) * w;
	}
	if (fabs(a) > 1e-9) {
		*cx = (x0 + mx / (3 * a)) * sx;
		*cy = (y0 + my / (3 * a)) * sy;
		return;
	}
	mx = my = 0;
	for (int i = 0; i < c->n; i++)
		mx += c->xy[2 * i], my += c->xy[2 * i + 1];
	*cx = mx / c->n * sx;
	*cy = my / c->n * sy;
}

/* The farthest crossing (mm) of the ray from (cx, cy) along (dx, dy) with the polygon, 0 when none. */
static double ray_reach(const ctw_contour *c, double sx, double sy, double cx, double cy, double dx, double dy)
{
	double best = 0;

	for (int i = 0; i < c->n; i++) {
		int j = (i + 1) % c->n;
		double ax = c->xy[2 * i] * sx - cx, ay = c->xy[2 * i + 1] * sy - cy;
		double ex = c->xy[2 * j] * sx - cx - ax, ey = c->xy[2 * j + 1] * sy - cy - ay;
		double den = dx * ey - dy * ex, t, u;
		if (fabs(den) < 1e-12)
			continue;
		t = (ax * ey - ay * ex) / den; /* along the ray */
		u = (ax * dy - ay * dx) / den; /* along the edge */
		if (t >= 0 && u >= -1e-9 && u <= 1 + 1e-9 && t > best) /* a vertex hit: both edges, rounded */
			best = t;
	}
	return best;
}

int ctw_contour_pair_measure(ctw_ctx *ctx, const ctw_contour *endo, const ctw_contour *epi, int rows, int cols,
			     double sx, double sy, ctw_contour_pair *out)
{
	const size_t np = (size_t)rows * (size_t)cols;
	uint8_t *m = ctw_calloc(ctx, np ? np : 1, 2);
	enum { RAYS = CTW_CONTOUR_RAYS };
	double cx, cy, sum = 0;

	memset(out, 0, sizeof(*out));
	if (!m)
		return CTW_ERR_NOMEM;
	ctw_contour_fill(endo, rows, cols, m, 1);
	ctw_contour_fill(epi, rows, cols, m + np, 1);
	for (size_t i = 0; i < np; i++)
		if (m[i]) {
			out->n_blood++;
			out->n_outside += !m[np + i];
		}
	ctw_free(ctx, m);
	centroid_mm(endo, sx, sy, &cx, &cy);
	out->wall_min = HUGE_VAL;
	out->wall_max = -HUGE_VAL;
	for (int k = 0; k < RAYS; k++) {
		double a = 2 * 3.14159265358979323846 * k / RAYS, dx = cos(a), dy = sin(a);
		double w = ray_reach(epi, sx, sy, cx, cy, dx, dy) - ray_reach(endo, sx, sy, cx, cy, dx, dy);
		out->wall[k] = w;
		out->wall_min = fmin(out->wall_min, w);
		out->wall_max = fmax(out->wall_max, w);
		sum += w;
	}
	out->wall_mean = sum / RAYS;
	return CTW_OK;
}
