/* surface_file.c: checks of a surface file's own counts before VTK reads it (issue 12): a
 * legacy VTK file's POINTS/POLYGONS/... counts bounded by the file's size (a header claiming
 * 99,999,999 points must not make VTK allocate and read for minutes), its cell lists walked
 * (every cell's size, the total, every index inside the point count), and a binary STL's size
 * exactly 84 + 50 n (a truncated one is refused, not capped). Errors are CTW_ERR_FORMAT naming
 * the file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mesh.h"

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && !strcmp(s + n - k, suf);
}

/* The line starting at p (up to end) begins with keyword kw followed by a blank. */
static const char *find_kw(const char *buf, const char *end, const char *kw, const char *from)
{
	size_t k = strlen(kw);
	for (const char *p = from; p && p + k < end; p++) {
		p = memchr(p, kw[0], (size_t)(end - p));
		if (!p || p + k >= end)
			return NULL;
		if ((p == buf || p[-1] == '\n') && !memcmp(p, kw, k) && (p[k] == ' ' || p[k] == '\t'))
			return p + k;
	}
	return NULL;
}

static const char *next_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl + 1 : end;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks a cell list of n cells in `size` integers at p (ASCII text or big-endian int32). */
static int walk_cells(ctw_ctx *ctx, const char *path, const char *what, const char *p, const char *end, int binary,
		      long long n, long long size, long long n_points)
{
	long long used = 0;
	char *e;

	for (long long c = 0; c < n; c++) {
		long long k, id;
		if (binary) {
			if (end - p < 4)
				goto short_;
			k = (int32_t)be32((const unsigned char *)p);
			p += 4;
		} else {
			k = strtoll(p, &e, 10);
			if (e == p)
				goto short_;
			p = e;
		}
		if (k < 1 || k > size - used - 1)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "%s cell %lld has %lld points, which does not fit the "
					 "list size %lld; hint: the file is corrupt", what, c, k, size);
		used += k + 1;
		for (long long j = 0; j < k; j++) {
			if (binary) {
				if (end - p < 4)
					goto short_;
				id = (int32_t)be32((const unsigned char *)p);
				p += 4;
			} else {
				id = strtoll(p, &e, 10);
				if (e == p)
					goto short_;
				p = e;
			}
			if (id < 0 || id >= n_points)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "%s cell %lld refers to point %lld of %lld; hint: "
						 "the file is corrupt", what, c, id, n_points);
		}
	}
	if (used != size)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "%s: %lld cells use %lld numbers, the header says %lld; hint: the "
				 "file is corrupt", what, n, used, size);
	return CTW_OK;
short_:
	return ctw_error(ctx, CTW_ERR_FORMAT, path, "%s: the file ends inside the list of %lld cells (truncated?)", what, n);
}

/* ASCII numbers from p up to the next line that starts with a letter (a keyword) or the end. */
static long long count_numbers(const char *p, const char *end)
{
	long long n = 0;
	int in = 0, bol = 0;
	for (; p < end; p++) {
		char c = *p;
		if (bol && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z' && c != 'e' && c != 'n' && c != 'i')))
			break;
		bol = c == '\n';
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			in = 0;
		else if (!in) {
			in = 1;
			n++;
		}
	}
	return n;
}

static int check_legacy(ctw_ctx *ctx, const char *path, const char *buf, long long len)
{
	static const char *const cells[] = { "VERTICES", "LINES", "POLYGONS", "TRIANGLE_STRIPS" };
	const char *end = buf + len, *p, *q;
	int binary;
	long long n_points = -1, per, n_cells = 0;
	char *e;

	if (len < 20 || memcmp(buf, "# vtk DataFile", 14))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "not a legacy VTK file (no '# vtk DataFile' line)");
	q = next_line(next_line(buf, end), end); /* the format line */
	binary = end - q >= 6 && !memcmp(q, "BINARY", 6);
	per = binary ? 4 : 2;
	if ((p = find_kw(buf, end, "POINTS", buf))) {
		n_points = strtoll(p, &e, 10);
		int dbl = strstr(e, "double") && strstr(e, "double") < next_line(e, end);
		if (e == p || n_points < 0 || n_points > len / (3 * (binary && dbl ? 8 : per)))
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "the header claims %s points, more than the file's %lld bytes "
					 "can hold; hint: the file is corrupt or truncated", e == p ? "unreadable" : p, len);
	}
	if (p) {
		const char *d = next_line(p, end);
		int dbl = strstr(p, "double") && strstr(p, "double") < d;
		long long have = binary ? (long long)(end - d) / (dbl ? 8 : 4) : count_numbers(d, end);
		if (binary ? have < 3 * n_points : have != 3 * n_points)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "POINTS %lld needs %lld coordinates, the file has %lld%s; hint: "
					 "the file is corrupt or truncated", n_points, 3 * n_points, have, binary ? " bytes' worth" : "");
	}
	for (size_t c = 0; c < sizeof(cells) / sizeof(cells[0]); c++) {
		long long n, size;
		if (!(p = find_kw(buf, end, cells[c], buf)))
			continue;
		n = strtoll(p, &e, 10);
		size = e == p ? -1 : strtoll(e, &e, 10);
		if (n < 0 || size < 0 || size > len / per || n > size)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "the header claims %lld %s in %lld numbers, more than the "
					 "file's %lld bytes can hold; hint: the file is corrupt or truncated", n, cells[c], size, len);
		if (n_points < 0)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "%s before any POINTS", cells[c]);
		if (!strncmp(next_line(p, end), "OFFSETS", 7))
			continue; /* the 5.1 layout: VTK checks offsets itself; counts are bounded above */
		{
			int ret = walk_cells(ctx, path, cells[c], next_line(p, end), end, binary, n, size, n_points);
			if (ret)
				return ret;
		}
		n_cells += n;
	}
	if ((p = find_kw(buf, end, "CELL_DATA", buf))) {
		long long n = strtoll(p, &e, 10);
		if (e == p || n != n_cells)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "CELL_DATA for %lld cells, but the file has %lld cells; hint: "
					 "the file is corrupt", n, n_cells);
		/* the values of the first SCALARS (one component) array after it */
		const char *sc = find_kw(buf, end, "SCALARS", p), *lt;
		if (sc && (lt = find_kw(buf, end, "LOOKUP_TABLE", sc))) {
			const char *d = next_line(lt, end), *le = next_line(sc, end);
			const char *sp = memchr(sc, ' ', (size_t)(le - sc));
			long long ncomp = 1;
			if (sp && (sp = memchr(sp + 1, ' ', (size_t)(le - sp - 1))))
				ncomp = strtoll(sp + 1, NULL, 10) > 0 ? strtoll(sp + 1, NULL, 10) : 1;
			if (ncomp <= 4) {
				long long have = binary ? (long long)(end - d) / 4 : count_numbers(d, end);
				if (have < ncomp * n)
					return ctw_error(ctx, CTW_ERR_FORMAT, path, "cell SCALARS hold %lld values for %lld cells; hint: "
							 "the file is corrupt or truncated", have, n);
			}
		}
	}
	if ((p = find_kw(buf, end, "POINT_DATA", buf))) {
		long long n = strtoll(p, &e, 10);
		if (e == p || n != n_points)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "POINT_DATA for %lld points, but the file has %lld points; "
					 "hint: the file is corrupt", n, n_points);
	}
	return CTW_OK;
}

static int check_stl(ctw_ctx *ctx, const char *path, const char *buf, long long len)
{
	uint32_t n;
	long long need;
	int ascii = len >= 5 && !memcmp(buf, "solid", 5);

	if (ascii) {
		/* ASCII when it has text facets; binary files may also start with "solid" */
		const char *end = buf + len;
		for (const char *p = buf; p < end; p++)
			if (*p == '\0')
				ascii = 0;
		if (ascii)
			return CTW_OK;
	}
	if (len < 84)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "a binary STL needs at least 84 bytes, the file has %lld "
				 "(truncated?)", len);
	n = (uint32_t)(unsigned char)buf[80] | (uint32_t)(unsigned char)buf[81] << 8 |
	    (uint32_t)(unsigned char)buf[82] << 16 | (uint32_t)(unsigned char)buf[83] << 24;
	need = 84 + 50LL * n;
	if (n == 0 || need != len)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "a binary STL of %u triangles has %lld bytes, the file has %lld "
				 "(truncated or corrupt)", n, need, len);
	return CTW_OK;
}

/* An integer attribute name="..." inside the tag [t, end); -1 when absent, -2 when not a number. */
static long long xml_attr(const char *t, const char *end, const char *name)
{
	size_t k = strlen(name);
	for (const char *p = t; p + k + 2 < end; p++)
		if ((p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\t') && !memcmp(p, name, k) && p[k] == '=' && p[k + 1] == '"') {
			char *e;
			long long v = strtoll(p + k + 2, &e, 10);
			return e == p + k + 2 || *e != '"' ? -2 : v;
		}
	return -1;
}

static int xml_attr_is(const char *t, const char *end, const char *name, const char *value)
{
	char pat[64];
	size_t k;
	snprintf(pat, sizeof(pat), " %s=\"%s\"", name, value);
	k = strlen(pat);
	for (const char *p = t; p + k <= end; p++)
		if (!memcmp(p, pat, k))
			return 1;
	return 0;
}

/* A .vtp with inline ASCII arrays (the layout VTK's XML reader trusts blindly: a short cell array
 * crashes it): every array's number of values against the piece's counts, the offsets walked and
 * the connectivity's indices checked. Appended and binary arrays are left to the readers. */
static int check_vtp(ctw_ctx *ctx, const char *path, const char *buf, long long len)
{
	const char *end = buf + len, *p = buf, *piece = NULL;
	long long np = -1, ncells = 0, last_off = -1, n_off = -1;
	const char *conn = NULL, *conn_end = NULL, *sec = "";

	while ((p = memchr(p, '<', (size_t)(end - p)))) {
		const char *t = p + 1, *te = memchr(t, '>', (size_t)(end - t));
		if (!te)
			return CTW_OK; /* malformed XML: VTK's parser says so (it does not crash on it) */
		p = te + 1;
		if (!strncmp(t, "Piece", 5) && (t[5] == ' ' || t[5] == '>')) {
			if (piece)
				return CTW_OK; /* several pieces: VTK's business */
			piece = t;
			np = xml_attr(t, te, "NumberOfPoints");
			ncells = 0;
			for (int k = 0; k < 4; k++) {
				static const char *const nm[4] = { "NumberOfVerts", "NumberOfLines", "NumberOfStrips", "NumberOfPolys" };
				long long v = xml_attr(t, te, nm[k]);
				if (v < -1 || v > len)
					return ctw_error(ctx, CTW_ERR_FORMAT, path, "%s=%lld in <Piece>: negative or more than the file's "
							 "%lld bytes can hold; hint: the file is corrupt", nm[k], v, len);
				if (v > 0)
					ncells += v;
			}
			if (np < 0 || np > len)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "NumberOfPoints=%lld in <Piece>: missing, negative or more "
						 "than the file's %lld bytes can hold; hint: the file is corrupt", np, len);
		} else if (!strncmp(t, "PointData", 9) || !strncmp(t, "CellData", 8) || !strncmp(t, "Points", 6) ||
			   !strncmp(t, "Polys", 5) || !strncmp(t, "Verts", 5) || !strncmp(t, "Lines", 5) ||
			   !strncmp(t, "Strips", 6) || !strncmp(t, "FieldData", 9)) {
			sec = t;
		} else if (!strncmp(t, "DataArray", 9) && piece && te[-1] != '/') {
			const char *close = strstr(p, "</DataArray>");
			long long ncomp = xml_attr(t, te, "NumberOfComponents"), n = 0, want = -1;
			int is_off = xml_attr_is(t, te, "Name", "offsets"), is_conn = xml_attr_is(t, te, "Name", "connectivity");
			if (!close)
				return CTW_OK; /* malformed XML: left to VTK's parser */
			if (!xml_attr_is(t, te, "format", "ascii")) {
				p = close;
				continue;
			}
			if (ncomp == -1)
				ncomp = 1;
			if (ncomp < 1 || ncomp > 1000)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "a <DataArray> with NumberOfComponents=%lld", ncomp);
			for (const char *q = p; q < close;) {
				while (q < close && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
					q++;
				if (q >= close)
					break;
				n++;
				{
					char *e;
					double v = strtod(q, &e);
					if (e == q || !isfinite(v) || (e < close && !(*e == ' ' || *e == '\n' || *e == '\r' || *e == '\t')))
						return ctw_error(ctx, CTW_ERR_FORMAT, path, "value %lld of a %.*s array is '%.*s', not a finite "
								 "number; hint: the file is corrupt", n, (int)strcspn(sec, " >"), sec,
								 (int)strcspn(q, " \n\r\t<"), q);
				}
				while (q < close && !(*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
					q++;
			}
			if (!strncmp(sec, "Points", 6))
				want = 3 * np;
			else if (!strncmp(sec, "PointData", 9))
				want = ncomp * np;
			else if (!strncmp(sec, "CellData", 8))
				want = ncomp * ncells;
			if (want >= 0 && n != want)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "a %.*s array holds %lld values, %lld expected from the "
						 "<Piece> counts; hint: the file is corrupt or truncated", (int)strcspn(sec, " >"), sec, n, want);
			if (!strncmp(sec, "Polys", 5) && is_off) {
				/* offsets: one per polygon, increasing from >= 1 */
				long long prev = 0, v = 0;
				char *e;
				const char *q = p;
				n_off = 0;
				for (long long k = 0; k < n; k++) {
					v = strtoll(q, &e, 10);
					if (e == q || v <= prev)
						return ctw_error(ctx, CTW_ERR_FORMAT, path, "polygon offset %lld is %s after %lld: offsets must "
								 "increase; hint: the file is corrupt", k, e == q ? "not a number" : "not larger", prev);
					prev = v;
					q = e;
					n_off++;
				}
				last_off = prev;
			} else if (!strncmp(sec, "Polys", 5) && is_conn) {
				conn = p;
				conn_end = close;
			}
			p = close;
		}
	}
	if (piece && conn) {
		long long n = 0, want = xml_attr(piece, end, "NumberOfPolys");
		char *e;
		if (want < 0)
			want = 0;
		if (n_off != want)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "%lld polygon offsets for NumberOfPolys=%lld; hint: the file is "
					 "corrupt", n_off, want);
		for (const char *q = conn;; n++) {
			long long v = strtoll(q, &e, 10);
			if (e == q || e > conn_end)
				break;
			if (v < 0 || v >= np)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "polygon connectivity entry %lld refers to point %lld of "
						 "%lld; hint: the file is corrupt", n, v, np);
			q = e;
		}
		if (n != (last_off < 0 ? 0 : last_off))
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "the polygon connectivity has %lld entries, the offsets end at "
					 "%lld; hint: the file is corrupt", n, last_off);
	}
	return CTW_OK;
}

int ctw_surface_file_check(ctw_ctx *ctx, const char *path)
{
	struct stat st;
	FILE *f;
	char *buf;
	long long len;
	int ret = CTW_OK;

	if (stat(path, &st))
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ctw_error(ctx, CTW_ERR_IO, path, "not a regular file");
	len = (long long)st.st_size;
	if (len == 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "empty file");
	if (!ends_with(path, ".vtk") && !ends_with(path, ".stl") && !ends_with(path, ".vtp"))
		return CTW_OK;
	if (len > ((long long)1 << 31))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "%lld bytes: too large for a surface; hint: decimate it", len);
	if (!(f = fopen(path, "rb")))
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	buf = ctw_malloc(ctx, (size_t)len + 1);
	if (!buf) {
		fclose(f);
		return CTW_ERR_NOMEM;
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len)
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot read: %s", strerror(errno));
	fclose(f);
	buf[len] = '\0';
	if (!ret)
		ret = ends_with(path, ".vtk")   ? check_legacy(ctx, path, buf, len)
		      : ends_with(path, ".vtp") ? check_vtp(ctx, path, buf, len)
						: check_stl(ctx, path, buf, len);
	ctw_free(ctx, buf);
	return ret;
}

int ctw_surface_sane(ctw_ctx *ctx, const char *path, const ctw_surface *s, double edge_mm)
{
	double lo[3] = { 1e308, 1e308, 1e308 }, hi[3] = { -1e308, -1e308, -1e308 }, ext = 0, area, est;

	if (s->n_points < 4 || s->n_tris < 4)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "%lld points and %lld triangles cannot enclose a volume",
				 (long long)s->n_points, (long long)s->n_tris);
	for (int64_t i = 0; i < s->n_points; i++)
		for (int c = 0; c < 3; c++) {
			double x = s->xyz[3 * i + c];
			if (!isfinite(x) || fabs(x) > 1e6)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "point %lld has the coordinate %g, %s; hint: repair the "
						 "surface (a non-finite or absurd point is not something to guess around)",
						 (long long)i, x, isfinite(x) ? "more than 1 km from the origin" : "not a finite number");
			lo[c] = fmin(lo[c], x);
			hi[c] = fmax(hi[c], x);
		}
	for (int64_t i = 0; i < 3 * s->n_tris; i++)
		if (s->tris[i] < 0 || s->tris[i] >= s->n_points)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "triangle %lld refers to point %d of %lld",
					 (long long)(i / 3), (int)s->tris[i], (long long)s->n_points);
	for (int c = 0; c < 3; c++)
		ext = fmax(ext, hi[c] - lo[c]);
	if (!(ext >= 2 * edge_mm))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "the surface is %g mm across, less than twice the edge length %g mm; "
				 "hint: check the units of the file (mm expected) or pass a smaller --edge-length", ext, edge_mm);
	area = ctw_surface_area(s);
	if (!(area > 1e-6 * ext * ext))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "the triangles have no area (%g mm^2 for a surface %g mm across): "
				 "degenerate; hint: repair the surface", area, ext);
	est = area / (0.433 * edge_mm * edge_mm);
	if (!(est <= 2e6))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "the surface (%g mm across, %.3g mm^2) would need about %.3g triangles "
				 "at the edge length %g mm (limit 2e6); hint: pass a larger --edge-length or check the units of "
				 "the file (mm expected)", ext, area, est, edge_mm);
	return CTW_OK;
}
