/* qa.c: the QA pictures of a package (DESIGN.md §7a) and report.html, drawn in C with the
 * rasteriser of raster.c and written with libpng: short-axis sections coloured by region and by
 * helix angle (with fibre glyphs), the boundary surfaces by tag from the front and the back, the
 * dihedral-angle histogram and the transmural helix profile, and, when the package has a label
 * map, three orthogonal slices of it coloured by label with the label borders drawn (over the image
 * in grey when it is given, the labels then tinted with alpha 0.35). Everything is
 * a linear pass over the mesh (sections: the tetrahedra cut by three planes; surfaces: z-buffered
 * triangles) or the voxels (label slices: one pass for the centroid, then the panel pixels),
 * single threaded, so the same input gives the same bytes.
 *
 * The frame: the long axis a (apex -> base) is the mean gradient of psi_ab when the model has it,
 * else the apex node -> centroid of the base triangles, else the principal axis of the nodes;
 * "up" is the anterior direction (-y of the LPS world frame) made orthogonal to a (else +z, +x);
 * right = a x up. The sections are seen from the apex (anterior up, the patient's left on the
 * right, as cardiac short-axis images are shown); the surfaces from anterior and posterior with
 * the base up. Each sections PNG carries its mapping in a tEXt chunk "ctw:frame". */
#define _POSIX_C_SOURCE 200809L
#include "export.h"
#include "qa_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define QA_PI 3.14159265358979323846
#define QA_W 800
#define QA_H 600
#define QA_N_PICS 6
#define QA_GLYPH_STEP 12 /* px between fibre glyphs */

enum { PIC_REGION, PIC_HELIX, PIC_SURF, PIC_QUALITY, PIC_PROFILE, PIC_LABELS };
static const char *const pic_name[QA_N_PICS] = { "sections_region.png", "sections_helix.png", "surfaces.png",
						 "quality.png", "helix_profile.png", "labels.png" };
/* The order of the report: the label map (the mesh's input) first. */
static const int report_order[QA_N_PICS] = { PIC_LABELS, PIC_REGION, PIC_HELIX, PIC_SURF, PIC_QUALITY, PIC_PROFILE };

static const uint8_t C_BLACK[3] = { 0, 0, 0 }, C_GRID[3] = { 225, 225, 225 }, C_AXIS[3] = { 90, 90, 90 },
		     C_GLYPH[3] = { 25, 25, 25 }, C_NAN[3] = { 150, 150, 150 }, C_RED5[3] = { 200, 30, 30 },
		     C_ORANGE10[3] = { 235, 140, 0 }, C_BAR[3] = { 95, 115, 165 };

/* Region colours: 1 LV red, 2 RV blue, 3 septum purple, then a few more; < 1 grey. */
static const uint8_t region_rgb[8][3] = { { 214, 62, 62 },  { 52, 101, 200 }, { 150, 80, 170 }, { 70, 160, 90 },
					  { 225, 150, 40 }, { 60, 170, 170 }, { 160, 110, 70 }, { 200, 100, 160 } };

static const uint8_t *region_colour(int tag)
{
	static const uint8_t grey[3] = { 120, 120, 120 };
	return tag >= 1 ? region_rgb[(tag - 1) % 8] : grey;
}

static void region_label(int tag, int from_fiber_region, char *buf, size_t n)
{
	if (tag == 1)
		snprintf(buf, n, "LV");
	else if (tag == 2)
		snprintf(buf, n, "RV");
	else if (tag == 3 && from_fiber_region)
		snprintf(buf, n, "SEPTUM");
	else
		snprintf(buf, n, "REGION %d", tag);
}

/* Surface colours by ctw_surface_id (epi is drawn translucent). */
static const uint8_t surf_rgb[5][3] = {
	{ 120, 120, 120 }, { 150, 150, 150 }, { 214, 62, 62 }, { 52, 101, 200 }, { 235, 195, 40 }
};

/* The diverging map for -90..+90 degrees (Moreland's cool-warm: blue, light grey at 0, red). */
static void helix_colour(double deg, uint8_t c[3])
{
	static const uint8_t k[9][3] = { { 59, 76, 192 },   { 98, 130, 234 },  { 141, 176, 254 },
					 { 184, 208, 249 }, { 221, 221, 221 }, { 245, 196, 173 },
					 { 244, 154, 123 }, { 222, 96, 77 },   { 180, 4, 38 } };
	if (!isfinite(deg)) {
		memcpy(c, C_NAN, 3);
		return;
	}
	double t = (deg + 90) / 180 * 8;
	t = t < 0 ? 0 : t > 8 ? 8 : t;
	int i = (int)t;
	i = i > 7 ? 7 : i;
	const double f = t - i;
	for (int a = 0; a < 3; a++)
		c[a] = (uint8_t)lround(k[i][a] + f * (k[i + 1][a] - k[i][a]));
}

static double dot3(const double *a, const double *b)
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross3(const double *a, const double *b, double *c)
{
	c[0] = a[1] * b[2] - a[2] * b[1];
	c[1] = a[2] * b[0] - a[0] * b[2];
	c[2] = a[0] * b[1] - a[1] * b[0];
}

static double normalize3(double *a)
{
	const double n = sqrt(dot3(a, a));
	if (n > 0 && isfinite(n))
		for (int i = 0; i < 3; i++)
			a[i] /= n;
	return n;
}

/* ---- state ---------------------------------------------------------------------------------------- */

typedef struct qa_poly {
	int32_t tet;
	int16_t panel, n;
	double uv[4][2]; /* mm, in (right, up) */
} qa_poly;

typedef struct qa {
	ctw_ctx *ctx;
	const ctw_model *md;
	const ctw_tetmesh *m;
	const char *dir;
	char qadir[4096];
	const ctw_field *helix, *fregion, *phi_epi, *psi;
	char notes[8][256];
	int n_notes;
	/* the frame */
	double axis[3], right[3], up[3], hmin, hmax, level[3];
	const char *axis_from, *axis_token;
	/* sections */
	qa_poly *poly;
	int64_t n_poly, cap_poly;
	double px_per_mm, u0, v0, cx[3], cy, bar_mm;
	int64_t nan_helix;
	int region_seen[9]; /* tags 1..8, [0]: others */
	/* surfaces */
	int tag_seen[5];
	double surf_px_per_mm, surf_bar_mm;
	/* quality */
	int64_t n_angles, below5, below10, degenerate;
	double min_angle, max_angle;
	/* profile */
	int profile_from_fiber_region;
	/* label slices */
	const ctw_volume *labels;
	const ctw_volume *image;    /* drawn in grey under the labels, or NULL            */
	int64_t lbl_lo[3], lbl_hi[3]; /* index bounding box of the labelled voxels (lo > hi: none) */
	int lbl_under_image;        /* labels.png shows the image under the labels       */
	int lbl_slice[3];           /* index of the slice along the normal of panel p     */
	int lbl_normal[3];          /* index axis (0 i, 1 j, 2 k) normal to panel p       */
	const char *lbl_plane[3];   /* "AXIAL", "CORONAL", "SAGITTAL" or "PLANE"          */
	const char *lbl_centre_of;  /* what the slices go through                         */
	double lbl_px_per_mm, lbl_bar_mm;
	int lbl_anatomical;
	uint8_t lbl_seen[65536 / 8]; /* label values in the panels                         */
	/* per picture: drawn or why not */
	int drawn[QA_N_PICS];
	char why_not[QA_N_PICS][160];
} qa;

static void note(qa *q, const char *fmt, ...) CTW_PRINTF(2, 3);
static void note(qa *q, const char *fmt, ...)
{
	va_list ap;
	if (q->n_notes >= 8)
		return;
	va_start(ap, fmt);
	vsnprintf(q->notes[q->n_notes++], sizeof(q->notes[0]), fmt, ap);
	va_end(ap);
}

/* A field of the model by name with the expected location and size and one component; NULL (and
 * a note when it is there but does not fit). */
static const ctw_field *find_field(qa *q, const char *name, ctw_field_loc loc)
{
	const int64_t n = loc == CTW_ON_POINTS ? q->m->n_points : q->m->n_tets;
	for (int i = 0; i < q->md->n_fields; i++) {
		const ctw_field *f = q->md->fields ? q->md->fields[i] : NULL;
		if (!f || strcmp(f->name, name))
			continue;
		if (f->loc != loc || f->n_comp != 1 || f->n != n || !f->values) {
			note(q, "field '%s' ignored: expected one value per %s (%lld), found %d x %lld on %s", name,
			     loc == CTW_ON_POINTS ? "node" : "tetrahedron", (long long)n, f->n_comp, (long long)f->n,
			     f->loc == CTW_ON_POINTS ? "nodes" : "cells");
			return NULL;
		}
		return f;
	}
	return NULL;
}

static int point_ok(const double *p)
{
	return isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2]);
}

/* ---- the long axis and the frame ------------------------------------------------------------------ */

/* Eigenvector of the largest eigenvalue of the symmetric 3x3 C (cyclic Jacobi). */
static void principal_axis(double C[3][3], double v[3])
{
	double V[3][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
	for (int sweep = 0; sweep < 50; sweep++) {
		const double off = C[0][1] * C[0][1] + C[0][2] * C[0][2] + C[1][2] * C[1][2];
		if (off <= 1e-30 * (C[0][0] * C[0][0] + C[1][1] * C[1][1] + C[2][2] * C[2][2]) || off == 0)
			break;
		for (int p = 0; p < 2; p++)
			for (int r = p + 1; r < 3; r++) {
				if (C[p][r] == 0)
					continue;
				const double th = (C[r][r] - C[p][p]) / (2 * C[p][r]);
				const double t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
				const double c = 1 / sqrt(t * t + 1), s = t * c;
				for (int k = 0; k < 3; k++) { /* C = J^T C J */
					const double a = C[k][p], b = C[k][r];
					C[k][p] = c * a - s * b;
					C[k][r] = s * a + c * b;
				}
				for (int k = 0; k < 3; k++) {
					const double a = C[p][k], b = C[r][k];
					C[p][k] = c * a - s * b;
					C[r][k] = s * a + c * b;
				}
				for (int k = 0; k < 3; k++) {
					const double a = V[k][p], b = V[k][r];
					V[k][p] = c * a - s * b;
					V[k][r] = s * a + c * b;
				}
			}
	}
	int best = 0;
	for (int k = 1; k < 3; k++)
		if (C[k][k] > C[best][best])
			best = k;
	for (int k = 0; k < 3; k++)
		v[k] = V[k][best];
}

static void find_axis(qa *q)
{
	const ctw_tetmesh *m = q->m;
	double base[3] = { 0, 0, 0 }, cen[3] = { 0, 0, 0 }, a[3] = { 0, 0, 0 };
	int64_t nb = 0, nc = 0;
	const int64_t apex = q->md->apex_node;
	const int apex_ok = apex >= 0 && apex < m->n_points && point_ok(m->xyz + 3 * apex);

	for (int64_t i = 0; i < m->n_tris; i++) {
		if (m->tri_marker[i] != CTW_SURF_BASE)
			continue;
		for (int c = 0; c < 3; c++) {
			const double *p = m->xyz + 3 * (int64_t)m->tris[3 * i + c];
			if (!point_ok(p))
				continue;
			for (int k = 0; k < 3; k++)
				base[k] += p[k];
			nb++;
		}
	}
	for (int k = 0; k < 3 && nb; k++)
		base[k] /= (double)nb;
	for (int64_t i = 0; i < m->n_points; i++)
		if (point_ok(m->xyz + 3 * i)) {
			for (int k = 0; k < 3; k++)
				cen[k] += m->xyz[3 * i + k];
			nc++;
		}
	for (int k = 0; k < 3 && nc; k++)
		cen[k] /= (double)nc;

	q->axis_from = NULL;
	if (q->psi) { /* sum over tetrahedra of |V| grad psi = sign(det) (d1 e2xe3 + d2 e3xe1 + d3 e1xe2) / 6 */
		const double *psi = q->psi->values;
		double scale = 0;
		for (int64_t t = 0; t < m->n_tets; t++) {
			const int32_t *v = m->tets + 4 * t;
			const double *p0 = m->xyz + 3 * (int64_t)v[0];
			double e[3][3], c[3][3], d[3], g[3];
			for (int j = 0; j < 3; j++) {
				const double *pj = m->xyz + 3 * (int64_t)v[j + 1];
				for (int k = 0; k < 3; k++)
					e[j][k] = pj[k] - p0[k];
				d[j] = psi[v[j + 1]] - psi[v[0]];
			}
			cross3(e[1], e[2], c[0]);
			cross3(e[2], e[0], c[1]);
			cross3(e[0], e[1], c[2]);
			const double det = dot3(e[0], c[0]);
			for (int k = 0; k < 3; k++)
				g[k] = (det < 0 ? -1 : 1) * (d[0] * c[0][k] + d[1] * c[1][k] + d[2] * c[2][k]);
			if (!isfinite(g[0]) || !isfinite(g[1]) || !isfinite(g[2]))
				continue;
			for (int k = 0; k < 3; k++)
				a[k] += g[k];
			scale += sqrt(dot3(g, g));
		}
		if (scale > 0 && sqrt(dot3(a, a)) > 1e-6 * scale) {
			q->axis_from = "the mean gradient of psi_ab";
			q->axis_token = "psi_ab";
		}
	}
	if (!q->axis_from && apex_ok && nb) {
		for (int k = 0; k < 3; k++)
			a[k] = base[k] - m->xyz[3 * apex + k];
		if (normalize3(a) > 0) {
			q->axis_from = "the apex node to the centroid of the base triangles";
			q->axis_token = "apex_to_base";
		}
	}
	if (!q->axis_from) {
		double C[3][3] = { { 0 } };
		for (int64_t i = 0; i < m->n_points; i++) {
			const double *p = m->xyz + 3 * i;
			if (!point_ok(p))
				continue;
			for (int r = 0; r < 3; r++)
				for (int c = 0; c < 3; c++)
					C[r][c] += (p[r] - cen[r]) * (p[c] - cen[c]);
		}
		principal_axis(C, a);
		double ref[3] = { 0, 0, 0 };
		if (nb)
			for (int k = 0; k < 3; k++)
				ref[k] = base[k] - cen[k];
		else if (apex_ok)
			for (int k = 0; k < 3; k++)
				ref[k] = cen[k] - m->xyz[3 * apex + k];
		if (dot3(ref, ref) > 0) {
			if (dot3(a, ref) < 0)
				for (int k = 0; k < 3; k++)
					a[k] = -a[k];
		} else {
			int big = 0;
			for (int k = 1; k < 3; k++)
				if (fabs(a[k]) > fabs(a[big]))
					big = k;
			if (a[big] < 0)
				for (int k = 0; k < 3; k++)
					a[k] = -a[k];
		}
		q->axis_from = "the principal axis of the nodes";
		q->axis_token = "principal";
	}
	if (!(normalize3(a) > 0))
		a[0] = a[1] = 0, a[2] = 1;
	memcpy(q->axis, a, sizeof(a));

	/* up: anterior (LPS -y), else superior (+z), else +x, orthogonal to the axis */
	static const double cand[3][3] = { { 0, -1, 0 }, { 0, 0, 1 }, { 1, 0, 0 } };
	for (int c = 0; c < 3; c++) {
		const double d = dot3(cand[c], a);
		for (int k = 0; k < 3; k++)
			q->up[k] = cand[c][k] - d * a[k];
		if (normalize3(q->up) > 0.3)
			break;
	}
	cross3(a, q->up, q->right);
	normalize3(q->right);
}

/* ---- sections --------------------------------------------------------------------------------------- */

static int push_poly(qa *q, const qa_poly *p)
{
	if (q->n_poly == q->cap_poly) {
		const int64_t cap = q->cap_poly ? 2 * q->cap_poly : 4096;
		qa_poly *np = ctw_realloc(q->ctx, q->poly, (size_t)cap * sizeof(*np));
		if (!np)
			return CTW_ERR_NOMEM;
		q->poly = np;
		q->cap_poly = cap;
	}
	q->poly[q->n_poly++] = *p;
	return CTW_OK;
}

/* The point where the plane h = L crosses the edge (i, j) of tetrahedron v, in (right, up). */
static void edge_cut(const qa *q, const int32_t *v, const double *h, int i, int j, double L, double uv[2])
{
	const double *a = q->m->xyz + 3 * (int64_t)v[i], *b = q->m->xyz + 3 * (int64_t)v[j];
	const double t = (L - h[i]) / (h[j] - h[i]);
	double p[3];
	for (int k = 0; k < 3; k++)
		p[k] = a[k] + t * (b[k] - a[k]);
	uv[0] = dot3(p, q->right);
	uv[1] = dot3(p, q->up);
}

/* The heights of the nodes, the levels, and the polygons where the planes cut the tetrahedra. */
static int cut_sections(qa *q)
{
	const ctw_tetmesh *m = q->m;
	double *h = ctw_malloc(q->ctx, (size_t)(m->n_points ? m->n_points : 1) * sizeof(double));
	int ret = CTW_OK;

	if (!h)
		return CTW_ERR_NOMEM;
	for (int64_t i = 0; i < m->n_points; i++)
		h[i] = point_ok(m->xyz + 3 * i) ? dot3(m->xyz + 3 * i, q->axis) : NAN;
	q->hmin = INFINITY;
	q->hmax = -INFINITY;
	for (int64_t t = 0; t < 4 * m->n_tets; t++) {
		const double x = h[m->tets[t]];
		if (isfinite(x)) {
			q->hmin = fmin(q->hmin, x);
			q->hmax = fmax(q->hmax, x);
		}
	}
	if (!(q->hmin < q->hmax))
		goto out;
	for (int k = 0; k < 3; k++)
		q->level[k] = q->hmin + 0.25 * (k + 1) * (q->hmax - q->hmin);
	for (int64_t t = 0; t < m->n_tets; t++) {
		const int32_t *v = m->tets + 4 * t;
		const double ht[4] = { h[v[0]], h[v[1]], h[v[2]], h[v[3]] };
		double lo = ht[0], hi = ht[0];
		for (int a = 1; a < 4; a++)
			lo = fmin(lo, ht[a]), hi = fmax(hi, ht[a]);
		if (!isfinite(lo) || !isfinite(hi) || isnan(ht[0] + ht[1] + ht[2] + ht[3]))
			continue;
		for (int k = 0; k < 3; k++) {
			const double L = q->level[k];
			if (!(lo < L && L <= hi))
				continue;
			int up[4], nu = 0, dn[4], nd = 0;
			for (int a = 0; a < 4; a++)
				if (ht[a] >= L)
					up[nu++] = a;
				else
					dn[nd++] = a;
			qa_poly p = { (int32_t)t, (int16_t)k, 0, { { 0 } } };
			if (nu == 1 || nd == 1) { /* a triangle around the lone corner */
				const int lone = nu == 1 ? up[0] : dn[0];
				const int *oth = nu == 1 ? dn : up;
				for (int a = 0; a < 3; a++)
					edge_cut(q, v, ht, lone, oth[a], L, p.uv[a]);
				p.n = 3;
			} else { /* a quadrilateral: edges ac, ad, bd, bc in turn */
				edge_cut(q, v, ht, up[0], dn[0], L, p.uv[0]);
				edge_cut(q, v, ht, up[0], dn[1], L, p.uv[1]);
				edge_cut(q, v, ht, up[1], dn[1], L, p.uv[2]);
				edge_cut(q, v, ht, up[1], dn[0], L, p.uv[3]);
				p.n = 4;
			}
			if ((ret = push_poly(q, &p)))
				goto out;
		}
	}
out:
	ctw_free(q->ctx, h);
	return ret;
}

/* A round scale-bar length (mm) that is 40..160 px at px_per_mm. */
static double bar_length(double px_per_mm)
{
	static const double c[] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 };
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (c[i] * px_per_mm >= 40)
			return c[i];
	return 5000;
}

static void draw_scale_bar(ctw_img *im, int x_right, int y, double px_per_mm, double mm)
{
	char buf[32];
	const int len = (int)lround(mm * px_per_mm);
	snprintf(buf, sizeof(buf), "%g MM", mm);
	ctw_img_rect(im, x_right - len, y, x_right, y + 4, C_BLACK);
	ctw_img_rect(im, x_right - len, y - 4, x_right - len + 1, y + 8, C_BLACK);
	ctw_img_rect(im, x_right - 1, y - 4, x_right, y + 8, C_BLACK);
	ctw_img_text(im, x_right - len / 2 - ctw_img_text_width(buf, 2) / 2, y + 12, buf, 2, C_BLACK);
}

/* Legend: a box and a label per present region tag, left to right from x. */
static int draw_region_legend(ctw_img *im, int x, int y, const int seen[9], int from_fiber_region)
{
	char buf[32];
	for (int tag = 1; tag <= 9; tag++) {
		const int t = tag == 9 ? 0 : tag;
		if (!seen[t])
			continue;
		region_label(t == 0 ? 0 : t, from_fiber_region, buf, sizeof(buf));
		if (t == 0)
			snprintf(buf, sizeof(buf), "OTHER");
		ctw_img_rect(im, x, y, x + 16, y + 16, region_colour(t));
		ctw_img_frame(im, x, y, x + 16, y + 16, C_AXIS);
		ctw_img_text(im, x + 22, y + 1, buf, 2, C_BLACK);
		x += 22 + ctw_img_text_width(buf, 2) + 18;
	}
	return x;
}

#define SEC_TOP 30
#define SEC_H 510

static int write_png(qa *q, int pic, const ctw_img *im, const char *frame)
{
	char path[4200];
	const char *keys[2] = { "Software", "ctw:frame" };
	const char *vals[2] = { "cardiotwin " CTW_VERSION, frame };
	snprintf(path, sizeof(path), "%s/%s", q->qadir, pic_name[pic]);
	int ret = ctw_img_write_png(q->ctx, im, path, keys, vals, frame ? 2 : 1);
	if (!ret)
		q->drawn[pic] = 1;
	return ret;
}

/* Both section pictures: region colours, and helix colours with fibre glyphs when possible. */
static int draw_sections(qa *q)
{
	ctw_img reg = { 0, 0, NULL }, hel = { 0, 0, NULL };
	int32_t *ids = NULL;
	const int want_helix = q->helix != NULL;
	int ret;
	char frame[1024];

	if ((ret = cut_sections(q)))
		goto out;
	if (q->n_poly == 0) {
		snprintf(q->why_not[PIC_REGION], sizeof(q->why_not[0]), "no tetrahedra with finite coordinates to cut");
		snprintf(q->why_not[PIC_HELIX], sizeof(q->why_not[0]), "no tetrahedra with finite coordinates to cut");
		goto out;
	}
	double umin = INFINITY, umax = -INFINITY, vmin = INFINITY, vmax = -INFINITY;
	for (int64_t i = 0; i < q->n_poly; i++)
		for (int a = 0; a < q->poly[i].n; a++) {
			umin = fmin(umin, q->poly[i].uv[a][0]);
			umax = fmax(umax, q->poly[i].uv[a][0]);
			vmin = fmin(vmin, q->poly[i].uv[a][1]);
			vmax = fmax(vmax, q->poly[i].uv[a][1]);
		}
	const double pw = QA_W / 3.0, bw = fmax(umax - umin, 1e-9), bh = fmax(vmax - vmin, 1e-9);
	q->px_per_mm = fmin((pw - 16) / bw, (SEC_H - 16) / bh);
	q->u0 = 0.5 * (umin + umax);
	q->v0 = 0.5 * (vmin + vmax);
	q->cy = SEC_TOP + SEC_H / 2.0;
	for (int k = 0; k < 3; k++)
		q->cx[k] = (k + 0.5) * pw;
	q->bar_mm = bar_length(q->px_per_mm);
	snprintf(frame, sizeof(frame),
		 "px_per_mm=%.9g u0=%.9g v0=%.9g cx=%.9g,%.9g,%.9g cy=%.9g axis=%.9g,%.9g,%.9g "
		 "right=%.9g,%.9g,%.9g up=%.9g,%.9g,%.9g levels=%.9g,%.9g,%.9g axis_from=%s "
		 "(pixel x = cx[k] + px_per_mm (p.right - u0), y = cy - px_per_mm (p.up - v0))",
		 q->px_per_mm, q->u0, q->v0, q->cx[0], q->cx[1], q->cx[2], q->cy, q->axis[0], q->axis[1], q->axis[2],
		 q->right[0], q->right[1], q->right[2], q->up[0], q->up[1], q->up[2], q->level[0], q->level[1],
		 q->level[2], q->axis_token);

	if ((ret = ctw_img_init(q->ctx, &reg, QA_W, QA_H)) ||
	    (want_helix && (ret = ctw_img_init(q->ctx, &hel, QA_W, QA_H))))
		goto out;
	if (want_helix && q->md->fiber && !(ids = ctw_malloc(q->ctx, (size_t)QA_W * QA_H * sizeof(int32_t)))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	if (ids)
		for (size_t i = 0; i < (size_t)QA_W * QA_H; i++)
			ids[i] = -1;
	for (int64_t i = 0; i < q->n_poly; i++) {
		const qa_poly *p = q->poly + i;
		double xy[4][2];
		for (int a = 0; a < p->n; a++) {
			xy[a][0] = q->cx[p->panel] + q->px_per_mm * (p->uv[a][0] - q->u0);
			xy[a][1] = q->cy - q->px_per_mm * (p->uv[a][1] - q->v0);
		}
		const int tag = q->m->region[p->tet];
		q->region_seen[tag >= 1 && tag <= 8 ? tag : 0] = 1;
		ctw_img_poly(&reg, (const double(*)[2])xy, p->n, region_colour(tag), 1, NULL, 0);
		if (want_helix) {
			uint8_t c[3];
			const double hv = q->helix->values[p->tet];
			helix_colour(hv, c);
			q->nan_helix += !isfinite(hv);
			ctw_img_poly(&hel, (const double(*)[2])xy, p->n, c, 1, ids, p->tet);
		}
	}
	/* fibre glyphs: the in-plane part of the fibre of the tetrahedron under each grid point */
	if (ids) {
		const double half = 0.42 * QA_GLYPH_STEP;
		for (int y = SEC_TOP + QA_GLYPH_STEP / 2; y < SEC_TOP + SEC_H; y += QA_GLYPH_STEP)
			for (int x = QA_GLYPH_STEP / 2; x < QA_W; x += QA_GLYPH_STEP) {
				const int32_t t = ids[(size_t)y * QA_W + (size_t)x];
				if (t < 0)
					continue;
				const double *f = q->md->fiber + 3 * (int64_t)t;
				const double fu = dot3(f, q->right), fv = dot3(f, q->up);
				if (!isfinite(fu) || !isfinite(fv))
					continue;
				ctw_img_line(&hel, x + 0.5 - half * fu, y + 0.5 + half * fv, x + 0.5 + half * fu,
					     y + 0.5 - half * fv, 1, C_GLYPH);
			}
	}
	/* labels, separators, legends, scale bars */
	for (int pic = 0; pic < 2; pic++) {
		ctw_img *im = pic == 0 ? &reg : &hel;
		if (pic == 1 && !want_helix)
			continue;
		for (int k = 0; k < 3; k++) {
			char buf[32];
			snprintf(buf, sizeof(buf), "%d%%", 25 * (k + 1));
			ctw_img_text(im, (int)lround(q->cx[k]) - ctw_img_text_width(buf, 2) / 2, 8, buf, 2, C_BLACK);
			if (k)
				ctw_img_rect(im, (int)lround(k * pw), SEC_TOP, (int)lround(k * pw) + 1, SEC_TOP + SEC_H,
					     C_GRID);
		}
		draw_scale_bar(im, QA_W - 16, QA_H - 40, q->px_per_mm, q->bar_mm);
	}
	draw_region_legend(&reg, 16, QA_H - 42, q->region_seen, 0);
	if ((ret = write_png(q, PIC_REGION, &reg, frame)))
		goto out;
	if (want_helix) {
		/* the colour bar -90..+90 with ticks every 30 degrees */
		const int x0 = 130, x1 = 490, y0 = QA_H - 52;
		for (int x = x0; x < x1; x++) {
			uint8_t c[3];
			helix_colour(-90 + 180 * (x - x0 + 0.5) / (x1 - x0), c);
			ctw_img_rect(&hel, x, y0, x + 1, y0 + 16, c);
		}
		ctw_img_frame(&hel, x0 - 1, y0 - 1, x1 + 1, y0 + 17, C_AXIS);
		for (int d = -90; d <= 90; d += 30) {
			char buf[16];
			const int x = x0 + (int)lround((d + 90) / 180.0 * (x1 - x0));
			snprintf(buf, sizeof(buf), "%d", d);
			ctw_img_rect(&hel, x, y0 + 16, x + 1, y0 + 21, C_BLACK);
			ctw_img_text(&hel, x - ctw_img_text_width(buf, 2) / 2 + 1, y0 + 25, buf, 2, C_BLACK);
		}
		ctw_img_text(&hel, 16, y0 + 2, "HELIX", 2, C_BLACK);
		if (q->nan_helix) {
			ctw_img_rect(&hel, x1 + 14, y0, x1 + 30, y0 + 16, C_NAN);
			ctw_img_text(&hel, x1 + 36, y0 + 2, "NONE", 2, C_BLACK);
		}
		if ((ret = write_png(q, PIC_HELIX, &hel, frame)))
			goto out;
	}
out:
	ctw_free(q->ctx, ids);
	ctw_img_release(q->ctx, &reg);
	ctw_img_release(q->ctx, &hel);
	ctw_free(q->ctx, q->poly);
	q->poly = NULL;
	q->n_poly = q->cap_poly = 0;
	return ret;
}

/* ---- label slices ----------------------------------------------------------------------------------- */

#define LBL_TOP 30
#define LBL_H 460 /* the panels lie in [LBL_TOP, LBL_TOP + LBL_H) */
#define LBL_LEGEND_Y 546

static const uint8_t C_CONTOUR[3] = { 25, 25, 25 };

/* The fixed label palette (documented at ctw_qa_write): blood pools light, walls saturated, valves
 * yellow, the background light grey; other values a mid tone derived from the value (never as
 * dark as the contours). */
static void label_colour(unsigned v, uint8_t c[3])
{
	static const struct {
		uint16_t v;
		uint8_t c[3];
	} pal[] = { { 0, { 230, 230, 230 } },   { 1, { 250, 185, 185 } },   { 2, { 200, 40, 40 } },
		    { 3, { 175, 200, 245 } },   { 4, { 250, 215, 165 } },   { 5, { 185, 225, 195 } },
		    { 6, { 235, 200, 235 } },   { 7, { 195, 235, 240 } },   { 8, { 215, 190, 150 } },
		    { 9, { 215, 190, 150 } },   { 10, { 215, 190, 150 } },  { 11, { 215, 190, 150 } },
		    { 12, { 240, 225, 150 } },  { 13, { 200, 200, 240 } },  { 14, { 200, 200, 240 } },
		    { 103, { 40, 90, 200 } },   { 104, { 220, 130, 30 } },  { 105, { 40, 150, 80 } },
		    { 106, { 170, 60, 160 } },  { 107, { 30, 150, 160 } },  { 201, { 245, 220, 0 } },
		    { 202, { 245, 220, 0 } },   { 203, { 245, 220, 0 } },   { 204, { 245, 220, 0 } },
		    { 250, { 200, 120, 120 } }, { 251, { 235, 200, 235 } }, { 252, { 215, 190, 150 } } };
	for (size_t i = 0; i < sizeof(pal) / sizeof(pal[0]); i++)
		if (pal[i].v == v) {
			memcpy(c, pal[i].c, 3);
			return;
		}
	c[0] = (uint8_t)(80 + (v * 53u) % 150);
	c[1] = (uint8_t)(80 + (v * 97u) % 150);
	c[2] = (uint8_t)(80 + (v * 31u) % 150);
}

static unsigned label_at(const ctw_volume *v, int64_t n)
{
	return v->dtype == CTW_U8 ? ((const uint8_t *)v->data)[n] : ((const uint16_t *)v->data)[n];
}

/* A CTW_ERR_INVALID unless v is a label grid the slices can be drawn from. */
static int check_labels(ctw_ctx *ctx, const ctw_volume *v)
{
	if (v->dtype != CTW_U8 && v->dtype != CTW_U16)
		return ctw_error(ctx, CTW_ERR_INVALID, "qa", "label map of type %s; expected uint8 or uint16",
				 ctw_dtype_name(v->dtype));
	for (int c = 0; c < 3; c++) {
		if (v->dim[c] < 1 || v->dim[c] > INT32_MAX)
			return ctw_error(ctx, CTW_ERR_INVALID, "qa", "label map dimension %d is %lld", c,
					 (long long)v->dim[c]);
		if (!isfinite(v->spacing[c]) || !(v->spacing[c] > 0))
			return ctw_error(ctx, CTW_ERR_INVALID, "qa",
					 "label map spacing %d is %g; must be finite and > 0", c, v->spacing[c]);
		for (int r = 0; r < 3; r++)
			if (!isfinite(v->direction[r][c]))
				return ctw_error(ctx, CTW_ERR_INVALID, "qa", "label map direction is not finite");
	}
	if (v->dim[0] > INT64_MAX / v->dim[1] || v->dim[0] * v->dim[1] > INT64_MAX / v->dim[2])
		return ctw_error(ctx, CTW_ERR_INVALID, "qa", "label map too large");
	if (!v->data)
		return ctw_error(ctx, CTW_ERR_INVALID, "qa", "label map without voxels");
	return CTW_OK;
}

/* A CTW_ERR_INVALID unless v is an image the slices can be drawn over. */
static int check_image(ctw_ctx *ctx, const ctw_volume *v)
{
	if (v->dtype != CTW_U8 && v->dtype != CTW_I16 && v->dtype != CTW_U16 && v->dtype != CTW_I32 &&
	    v->dtype != CTW_F32)
		return ctw_error(ctx, CTW_ERR_INVALID, "qa", "image of unknown type %d", (int)v->dtype);
	for (int c = 0; c < 3; c++) {
		if (v->dim[c] < 1 || v->dim[c] > INT32_MAX)
			return ctw_error(ctx, CTW_ERR_INVALID, "qa", "image dimension %d is %lld", c,
					 (long long)v->dim[c]);
		if (!isfinite(v->spacing[c]) || !(v->spacing[c] > 0))
			return ctw_error(ctx, CTW_ERR_INVALID, "qa", "image spacing %d is %g; must be finite and > 0",
					 c, v->spacing[c]);
		if (!isfinite(v->origin[c]))
			return ctw_error(ctx, CTW_ERR_INVALID, "qa", "image origin is not finite");
		for (int r = 0; r < 3; r++)
			if (!isfinite(v->direction[r][c]))
				return ctw_error(ctx, CTW_ERR_INVALID, "qa", "image direction is not finite");
	}
	if (v->dim[0] > INT64_MAX / v->dim[1] || v->dim[0] * v->dim[1] > INT64_MAX / v->dim[2])
		return ctw_error(ctx, CTW_ERR_INVALID, "qa", "image too large");
	if (!v->data)
		return ctw_error(ctx, CTW_ERR_INVALID, "qa", "image without voxels");
	double ijk[3], xyz[3] = { v->origin[0], v->origin[1], v->origin[2] };
	if (!ctw_volume_world_to_index(v, xyz, ijk))
		return ctw_error(ctx, CTW_ERR_INVALID, "qa", "image grid is degenerate");
	return CTW_OK;
}

static int cmp_float(const void *a, const void *b)
{
	const float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* The grey window of the image: its 1st and 99th percentiles (linear interpolation) over the
 * voxels inside the bounding box of the labelled voxels (mapped through world coordinates), or
 * over the whole image when that box is empty or misses the image. At most ~2^20 voxels are
 * used (an even stride over the box); NaN voxels are skipped. */
static int image_window(qa *q, double *lo, double *hi)
{
	const ctw_volume *im = q->image, *v = q->labels;
	int64_t a[3] = { 0, 0, 0 }, b[3] = { im->dim[0] - 1, im->dim[1] - 1, im->dim[2] - 1 };
	if (q->lbl_hi[0] >= q->lbl_lo[0]) {
		double mn[3] = { INFINITY, INFINITY, INFINITY }, mx[3] = { -INFINITY, -INFINITY, -INFINITY };
		for (int corner = 0; corner < 8; corner++) {
			double ijk[3], xyz[3], t[3];
			for (int c = 0; c < 3; c++)
				ijk[c] = (corner >> c) & 1 ? (double)q->lbl_hi[c] + 0.5 : (double)q->lbl_lo[c] - 0.5;
			ctw_volume_index_to_world(v, ijk, xyz);
			ctw_volume_world_to_index(im, xyz, t);
			for (int c = 0; c < 3; c++)
				mn[c] = fmin(mn[c], t[c]), mx[c] = fmax(mx[c], t[c]);
		}
		int empty = 0;
		int64_t a2[3], b2[3];
		for (int c = 0; c < 3; c++) {
			const double l = fmax(0, ceil(mn[c] - 0.5)), h = fmin((double)(im->dim[c] - 1), floor(mx[c] + 0.5));
			if (!(l <= h)) {
				empty = 1;
				break;
			}
			a2[c] = (int64_t)l, b2[c] = (int64_t)h;
		}
		if (!empty)
			memcpy(a, a2, sizeof(a)), memcpy(b, b2, sizeof(b));
	}
	const int64_t nbox = (b[0] - a[0] + 1) * (b[1] - a[1] + 1) * (b[2] - a[2] + 1);
	const int64_t stride = nbox > (1 << 20) ? (nbox + (1 << 20) - 1) / (1 << 20) : 1;
	float *val = ctw_malloc(q->ctx, (size_t)(nbox / stride + 1) * sizeof(*val));
	if (!val)
		return CTW_ERR_NOMEM;
	int64_t n = 0, cnt = 0;
	for (int64_t k = a[2]; k <= b[2]; k++)
		for (int64_t j = a[1]; j <= b[1]; j++)
			for (int64_t i = a[0]; i <= b[0]; i++, cnt++) {
				if (cnt % stride)
					continue;
				const double x = ctw_volume_get(im, i + im->dim[0] * (j + im->dim[1] * k));
				if (isfinite(x) && n < nbox / stride + 1)
					val[n++] = (float)x;
			}
	*lo = *hi = 0;
	if (n) {
		qsort(val, (size_t)n, sizeof(*val), cmp_float);
		const double p1 = 0.01 * (double)(n - 1), p99 = 0.99 * (double)(n - 1);
		const int64_t i1 = (int64_t)p1, i99 = (int64_t)p99;
		*lo = val[i1] + (p1 - (double)i1) * (i1 + 1 < n ? val[i1 + 1] - val[i1] : 0);
		*hi = val[i99] + (p99 - (double)i99) * (i99 + 1 < n ? val[i99 + 1] - val[i99] : 0);
	}
	ctw_free(q->ctx, val);
	return CTW_OK;
}

typedef struct lbl_panel {
	int n, h, v;         /* index axes: normal, horizontal (to the right), vertical (down)     */
	int hflip, vflip;    /* 1: the index decreases to the right / downwards                    */
	int slice, x0, y0, w, ht; /* the slice index; the panel's pixels [x0, x0+w) x [y0, y0+ht) */
} lbl_panel;

/* The three panels: when each index axis has its own dominant LPS axis, axial (anterior up, the
 * patient's left on the right), coronal (superior up, left on the right) and sagittal (superior up,
 * anterior on the left), as radiology shows them; else the index planes k, j, i with the lower
 * remaining index to the right and the other down. */
static void label_panels(qa *q, lbl_panel P[3])
{
	const ctw_volume *v = q->labels;
	int wa_of[3] = { -1, -1, -1 }, sg[3];
	for (int c = 0; c < 3; c++) {
		int best = 0;
		for (int r = 1; r < 3; r++)
			if (fabs(v->direction[r][c]) > fabs(v->direction[best][c]))
				best = r;
		sg[c] = v->direction[best][c] < 0 ? -1 : 1;
		wa_of[best] = c;
	}
	q->lbl_anatomical = wa_of[0] >= 0 && wa_of[1] >= 0 && wa_of[2] >= 0;
	for (int p = 0; p < 3; p++) {
		lbl_panel *L = P + p;
		memset(L, 0, sizeof(*L));
		if (q->lbl_anatomical) {
			static const char *const names[3] = { "AXIAL", "CORONAL", "SAGITTAL" };
			const int wn = 2 - p;                 /* world normal: z, y, x       */
			const int hw = wn == 0 ? 1 : 0;       /* right: +x (left), sagittal +y */
			const int vw = wn == 2 ? 1 : 2;       /* down: +y (posterior), else -z */
			L->n = wa_of[wn];
			L->h = wa_of[hw];
			L->v = wa_of[vw];
			L->hflip = sg[L->h] < 0;
			L->vflip = wn == 2 ? sg[L->v] < 0 : sg[L->v] > 0;
			q->lbl_plane[p] = names[p];
		} else {
			L->n = 2 - p;
			L->h = L->n == 0 ? 1 : 0;
			L->v = L->n == 2 ? 1 : 2;
			q->lbl_plane[p] = "PLANE";
		}
		q->lbl_normal[p] = L->n;
	}
}

/* The slices through the centroid of the myocardium voxels (lv_myo, rv_myo), else of the non-zero
 * voxels, else the centre of the grid. One pass over the voxels. */
static void label_centre(qa *q, int slice[3])
{
	const ctw_volume *v = q->labels;
	double sm[3] = { 0, 0, 0 }, sa[3] = { 0, 0, 0 };
	int64_t nm = 0, na = 0, n = 0;
	for (int c = 0; c < 3; c++)
		q->lbl_lo[c] = v->dim[c], q->lbl_hi[c] = -1;
	for (int64_t k = 0; k < v->dim[2]; k++)
		for (int64_t j = 0; j < v->dim[1]; j++)
			for (int64_t i = 0; i < v->dim[0]; i++, n++) {
				const unsigned l = label_at(v, n);
				if (!l)
					continue;
				sa[0] += (double)i, sa[1] += (double)j, sa[2] += (double)k, na++;
				const int64_t ix[3] = { i, j, k };
				for (int c = 0; c < 3; c++) {
					q->lbl_lo[c] = ix[c] < q->lbl_lo[c] ? ix[c] : q->lbl_lo[c];
					q->lbl_hi[c] = ix[c] > q->lbl_hi[c] ? ix[c] : q->lbl_hi[c];
				}
				if (l == CTW_LBL_LV_MYO || l == CTW_LBL_RV_MYO)
					sm[0] += (double)i, sm[1] += (double)j, sm[2] += (double)k, nm++;
			}
	q->lbl_centre_of = nm ? "the myocardium (lv_myo, rv_myo)" : na ? "the labelled voxels" : "the grid";
	for (int c = 0; c < 3; c++) {
		const double m = nm ? sm[c] / (double)nm : na ? sa[c] / (double)na : 0.5 * (double)(v->dim[c] - 1);
		int64_t s = (int64_t)floor(m + 0.5);
		slice[c] = (int)(s < 0 ? 0 : s >= v->dim[c] ? v->dim[c] - 1 : s);
	}
}

/* The legend: a box and a name per label value seen, in rows from LBL_LEGEND_Y. */
static void label_legend(qa *q, ctw_img *im)
{
	int x = 16, row = 0, left = 0;
	for (unsigned l = 0; l < 65536; l++)
		left += (q->lbl_seen[l / 8] >> (l % 8)) & 1;
	for (unsigned l = 0; l < 65536; l++) {
		char buf[40];
		uint8_t c[3];
		if (!((q->lbl_seen[l / 8] >> (l % 8)) & 1))
			continue;
		const char *name = ctw_label_name((int)l);
		if (name)
			snprintf(buf, sizeof(buf), "%s", name);
		else
			snprintf(buf, sizeof(buf), "LABEL %u", l);
		for (char *s = buf; *s; s++)
			*s = *s == '_' ? ' ' : *s;
		const int need = 22 + ctw_img_text_width(buf, 2);
		if (x + need > QA_W - 16) {
			if (row == 1) {
				snprintf(buf, sizeof(buf), "+%d MORE", left);
				ctw_img_text(im, x, LBL_LEGEND_Y + 24 + 1, buf, 2, C_BLACK);
				return;
			}
			row++, x = 16;
		}
		const int y = LBL_LEGEND_Y + 24 * row;
		label_colour(l, c);
		ctw_img_rect(im, x, y, x + 16, y + 16, c);
		ctw_img_frame(im, x, y, x + 16, y + 16, C_AXIS);
		ctw_img_text(im, x + 22, y + 1, buf, 2, C_BLACK);
		x += need + 18;
		left--;
	}
}

/* labels.png: three orthogonal slices of the label map, coloured by label, contours dark. */
static int draw_labels(qa *q)
{
	const ctw_volume *v = q->labels;
	ctw_img im = { 0, 0, NULL };
	uint16_t *lab = NULL;
	int16_t *grey = NULL; /* the image's grey level per panel pixel, -1 outside it */
	lbl_panel P[3];
	int slice[3], ret;
	double wlo = 0, whi = 0;
	char frame[1400];
	const double pw = QA_W / 3.0;

	label_panels(q, P);
	label_centre(q, slice);
	double s = INFINITY;
	for (int p = 0; p < 3; p++) {
		P[p].slice = q->lbl_slice[p] = slice[P[p].n];
		s = fmin(s, fmin((pw - 16) / ((double)v->dim[P[p].h] * v->spacing[P[p].h]),
				 LBL_H / ((double)v->dim[P[p].v] * v->spacing[P[p].v])));
	}
	q->lbl_px_per_mm = s;
	q->lbl_bar_mm = bar_length(s);
	if ((ret = ctw_img_init(q->ctx, &im, QA_W, QA_H)))
		goto out;
	if (!(lab = ctw_malloc(q->ctx, (size_t)(pw + 1) * LBL_H * sizeof(*lab))) ||
	    (q->image && !(grey = ctw_malloc(q->ctx, (size_t)(pw + 1) * LBL_H * sizeof(*grey))))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	if (q->image && (ret = image_window(q, &wlo, &whi)))
		goto out;
	q->lbl_under_image = q->image != NULL;
	int len = snprintf(frame, sizeof(frame), "px_per_mm=%.9g dim=%lld,%lld,%lld spacing=%.9g,%.9g,%.9g", s,
			   (long long)v->dim[0], (long long)v->dim[1], (long long)v->dim[2], v->spacing[0],
			   v->spacing[1], v->spacing[2]);
	for (int p = 0; p < 3; p++) {
		lbl_panel *L = P + p;
		const double cx = (p + 0.5) * pw;
		const int64_t dh = v->dim[L->h], dv = v->dim[L->v];
		int64_t idx[3];
		char buf[48];
		L->w = (int)fmax(1, lround((double)dh * v->spacing[L->h] * s));
		L->ht = (int)fmax(1, lround((double)dv * v->spacing[L->v] * s));
		L->w = L->w > (int)pw ? (int)pw : L->w;
		L->ht = L->ht > LBL_H ? LBL_H : L->ht;
		L->x0 = (int)lround(cx - L->w / 2.0);
		L->y0 = LBL_TOP + (LBL_H - L->ht) / 2;
		idx[L->n] = L->slice;
		for (int y = 0; y < L->ht; y++) {
			int64_t b = (int64_t)((y + 0.5) * (double)dv / L->ht);
			b = b >= dv ? dv - 1 : b;
			idx[L->v] = L->vflip ? dv - 1 - b : b;
			for (int x = 0; x < L->w; x++) {
				int64_t a = (int64_t)((x + 0.5) * (double)dh / L->w);
				a = a >= dh ? dh - 1 : a;
				idx[L->h] = L->hflip ? dh - 1 - a : a;
				const unsigned l = label_at(v, idx[0] + v->dim[0] * (idx[1] + v->dim[1] * idx[2]));
				lab[(size_t)y * (size_t)L->w + (size_t)x] = (uint16_t)l;
				q->lbl_seen[l / 8] |= (uint8_t)(1u << (l % 8));
				if (grey) {
					const ctw_volume *iv = q->image;
					const double ijk[3] = { (double)idx[0], (double)idx[1], (double)idx[2] };
					double xyz[3], t[3];
					int64_t m[3];
					int g = -1, in = 1;
					ctw_volume_index_to_world(v, ijk, xyz);
					ctw_volume_world_to_index(iv, xyz, t);
					for (int c = 0; c < 3 && in; c++) {
						const double r = floor(t[c] + 0.5);
						in = r >= 0 && r < (double)iv->dim[c];
						m[c] = in ? (int64_t)r : 0;
					}
					if (in) {
						const double val = ctw_volume_get(iv, m[0] + iv->dim[0] * (m[1] + iv->dim[1] * m[2]));
						if (isfinite(val))
							g = whi > wlo ? (int)lround(255.0 * fmin(1, fmax(0, (val - wlo) / (whi - wlo))))
								      : val > whi ? 255 : val < wlo ? 0 : 128;
					}
					grey[(size_t)y * (size_t)L->w + (size_t)x] = (int16_t)g;
				}
			}
		}
		for (int y = 0; y < L->ht; y++)
			for (int x = 0; x < L->w; x++) {
				const uint16_t *c = lab + (size_t)y * (size_t)L->w + (size_t)x;
				const int edge = (x > 0 && c[-1] != *c) || (x + 1 < L->w && c[1] != *c) ||
						 (y > 0 && c[-L->w] != *c) || (y + 1 < L->ht && c[L->w] != *c);
				uint8_t rgb[3];
				if (edge)
					memcpy(rgb, C_CONTOUR, 3);
				else
					label_colour(*c, rgb);
				if (!edge && grey) {
					const int g = grey[(size_t)y * (size_t)L->w + (size_t)x];
					uint8_t bg[3];
					label_colour(0, bg);
					for (int ch = 0; ch < 3; ch++) {
						const double under = g < 0 ? bg[ch] : g;
						rgb[ch] = (uint8_t)lround(*c ? 0.35 * rgb[ch] + 0.65 * under : under);
					}
				}
				ctw_img_put(&im, L->x0 + x, L->y0 + y, rgb);
			}
		snprintf(buf, sizeof(buf), "%s %c=%d", q->lbl_plane[p], "IJK"[L->n], L->slice);
		ctw_img_text(&im, (int)lround(cx) - ctw_img_text_width(buf, 2) / 2, 8, buf, 2, C_BLACK);
		if (p)
			ctw_img_rect(&im, (int)lround(p * pw), LBL_TOP, (int)lround(p * pw) + 1, LBL_TOP + LBL_H,
				     C_GRID);
		const int blen = (int)lround(q->lbl_bar_mm * s);
		draw_scale_bar(&im, (int)lround(cx) + blen / 2, LBL_TOP + LBL_H + 16, s, q->lbl_bar_mm);
		if (len > 0 && (size_t)len < sizeof(frame))
			len += snprintf(frame + len, sizeof(frame) - (size_t)len,
					" panel%d=%s:normal=%c:slice=%d:x0=%d:y0=%d:w=%d:h=%d"
					":h_axis=%c:h_flip=%d:v_axis=%c:v_flip=%d",
					p, q->lbl_plane[p], "ijk"[L->n], L->slice, L->x0, L->y0, L->w, L->ht,
					"ijk"[L->h], L->hflip, "ijk"[L->v], L->vflip);
	}
	if (len > 0 && (size_t)len < sizeof(frame))
		snprintf(frame + len, sizeof(frame) - (size_t)len,
			 " (pixel (x,y) of a panel shows the voxel with index[normal]=slice, "
			 "index[h_axis]=floor((x-x0+0.5)*dim[h_axis]/w), index[v_axis]=floor((y-y0+0.5)*dim[v_axis]/h), "
			 "each as dim-1-index when flipped)");
	if (q->image && strlen(frame) + 1 < sizeof(frame))
		snprintf(frame + strlen(frame), sizeof(frame) - strlen(frame),
			 " underlay=image (the image voxel nearest to the label voxel centre, grey from the 1st to the "
			 "99th percentile, labels blended with alpha 0.35)");
	label_legend(q, &im);
	ret = write_png(q, PIC_LABELS, &im, frame);
out:
	ctw_free(q->ctx, lab);
	ctw_free(q->ctx, grey);
	ctw_img_release(q->ctx, &im);
	return ret;
}

/* ---- surfaces --------------------------------------------------------------------------------------- */

#define SURF_TOP 30
#define SURF_H 510
#define SURF_PW (QA_W / 2)

typedef struct zlayer {
	float *z_op, *z_epi, *k_epi;
	uint8_t *c_op;
} zlayer;

/* Rasterises the triangle s[3] (panel pixels, depth) into the layer: opaque (colour c) or epi. */
static void raster_tri(zlayer *L, const double s[3][3], int epi, const uint8_t c[3], double k)
{
	const double area = (s[1][0] - s[0][0]) * (s[2][1] - s[0][1]) - (s[2][0] - s[0][0]) * (s[1][1] - s[0][1]);
	if (!(fabs(area) > 1e-12))
		return;
	double xmin = fmin(s[0][0], fmin(s[1][0], s[2][0])), xmax = fmax(s[0][0], fmax(s[1][0], s[2][0]));
	double ymin = fmin(s[0][1], fmin(s[1][1], s[2][1])), ymax = fmax(s[0][1], fmax(s[1][1], s[2][1]));
	int i0 = (int)floor(fmax(xmin, 0)), i1 = (int)ceil(fmin(xmax, SURF_PW));
	int j0 = (int)floor(fmax(ymin, 0)), j1 = (int)ceil(fmin(ymax, SURF_H));
	for (int j = j0; j < j1; j++)
		for (int i = i0; i < i1; i++) {
			const double x = i + 0.5, y = j + 0.5;
			const double w0 = ((s[1][0] - x) * (s[2][1] - y) - (s[2][0] - x) * (s[1][1] - y)) / area;
			const double w1 = ((s[2][0] - x) * (s[0][1] - y) - (s[0][0] - x) * (s[2][1] - y)) / area;
			const double w2 = 1 - w0 - w1;
			if (w0 < 0 || w1 < 0 || w2 < 0)
				continue;
			const float z = (float)(w0 * s[0][2] + w1 * s[1][2] + w2 * s[2][2]);
			const size_t at = (size_t)j * SURF_PW + (size_t)i;
			if (epi) {
				if (z < L->z_epi[at]) {
					L->z_epi[at] = z;
					L->k_epi[at] = (float)k;
				}
			} else if (z < L->z_op[at]) {
				L->z_op[at] = z;
				for (int a = 0; a < 3; a++)
					L->c_op[3 * at + a] = (uint8_t)lround(c[a] * k);
			}
		}
}

/* The base rim: the edges of the base triangles as 2-pixel lines over the composited panel where
 * they are not behind any surface (within tol), so an edge-on base still shows. */
static void base_edges(const qa *q, const zlayer *L, ctw_img *im, int ox, const double f[3], const double r[3],
		       double s, double uc, double vc, double tol)
{
	const ctw_tetmesh *m = q->m;
	for (int64_t i = 0; i < m->n_tris; i++) {
		if (m->tri_marker[i] != CTW_SURF_BASE)
			continue;
		for (int e = 0; e < 3; e++) {
			const double *a = m->xyz + 3 * (int64_t)m->tris[3 * i + e];
			const double *b = m->xyz + 3 * (int64_t)m->tris[3 * i + (e + 1) % 3];
			if (!point_ok(a) || !point_ok(b))
				continue;
			const double ax = SURF_PW / 2.0 + s * (dot3(a, r) - uc),
				     ay = SURF_H / 2.0 - s * (dot3(a, q->axis) - vc);
			const double bx = SURF_PW / 2.0 + s * (dot3(b, r) - uc),
				     by = SURF_H / 2.0 - s * (dot3(b, q->axis) - vc);
			const double az = dot3(a, f), bz = dot3(b, f);
			const int steps = (int)ceil(fmin(fmax(fabs(bx - ax), fabs(by - ay)), 4096));
			for (int k = 0; k <= steps; k++) {
				const double t = steps ? (double)k / steps : 0;
				const int x = (int)floor(ax + t * (bx - ax)), y = (int)floor(ay + t * (by - ay));
				const double z = az + t * (bz - az);
				for (int dy = -1; dy <= 0; dy++)
					for (int dx = -1; dx <= 0; dx++) {
						const int xx = x + dx, yy = y + dy;
						if (xx < 0 || yy < 0 || xx >= SURF_PW || yy >= SURF_H)
							continue;
						const size_t at = (size_t)yy * SURF_PW + (size_t)xx;
						if (z <= fmin(L->z_op[at], L->z_epi[at]) + tol)
							ctw_img_put(im, ox + xx, SURF_TOP + yy,
								    surf_rgb[CTW_SURF_BASE]);
					}
			}
		}
	}
}

static int draw_surfaces(qa *q)
{
	const ctw_tetmesh *m = q->m;
	ctw_img im = { 0, 0, NULL };
	zlayer L = { NULL, NULL, NULL, NULL };
	const size_t np = (size_t)SURF_PW * SURF_H;
	double ant_r[3], ant_f[3];
	int ret = CTW_OK;

	/* anterior view: looking posteriorly (forward = -up), screen right = forward x axis */
	for (int k = 0; k < 3; k++)
		ant_f[k] = -q->up[k];
	cross3(ant_f, q->axis, ant_r);
	double umin = INFINITY, umax = -INFINITY, vmin = INFINITY, vmax = -INFINITY;
	int64_t n_ok = 0;
	for (int64_t i = 0; i < m->n_tris; i++) {
		const int32_t *v = m->tris + 3 * i;
		const double *p[3] = { m->xyz + 3 * (int64_t)v[0], m->xyz + 3 * (int64_t)v[1],
				       m->xyz + 3 * (int64_t)v[2] };
		if (!point_ok(p[0]) || !point_ok(p[1]) || !point_ok(p[2]))
			continue;
		n_ok++;
		for (int c = 0; c < 3; c++) {
			const double u = dot3(p[c], ant_r), w = dot3(p[c], q->axis);
			umin = fmin(umin, u), umax = fmax(umax, u), vmin = fmin(vmin, w), vmax = fmax(vmax, w);
		}
	}
	if (!n_ok) {
		snprintf(q->why_not[PIC_SURF], sizeof(q->why_not[0]), "the mesh has no boundary triangles");
		return CTW_OK;
	}
	const double s = fmin((SURF_PW - 16) / fmax(umax - umin, 1e-9), (SURF_H - 16) / fmax(vmax - vmin, 1e-9));
	const double uc = 0.5 * (umin + umax), vc = 0.5 * (vmin + vmax);
	q->surf_px_per_mm = s;
	q->surf_bar_mm = bar_length(s);
	if ((ret = ctw_img_init(q->ctx, &im, QA_W, QA_H)))
		goto out;
	if (!(L.z_op = ctw_malloc(q->ctx, np * sizeof(float))) || !(L.z_epi = ctw_malloc(q->ctx, np * sizeof(float))) ||
	    !(L.k_epi = ctw_malloc(q->ctx, np * sizeof(float))) || !(L.c_op = ctw_malloc(q->ctx, 3 * np))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (int view = 0; view < 2; view++) {
		const double sg = view == 0 ? 1 : -1; /* posterior: forward and right reversed */
		double f[3], r[3];
		for (int k = 0; k < 3; k++)
			f[k] = sg * ant_f[k], r[k] = sg * ant_r[k];
		for (size_t i = 0; i < np; i++)
			L.z_op[i] = L.z_epi[i] = INFINITY;
		for (int64_t i = 0; i < m->n_tris; i++) {
			const int32_t *v = m->tris + 3 * i;
			const double *p[3] = { m->xyz + 3 * (int64_t)v[0], m->xyz + 3 * (int64_t)v[1],
					       m->xyz + 3 * (int64_t)v[2] };
			if (!point_ok(p[0]) || !point_ok(p[1]) || !point_ok(p[2]))
				continue;
			const int tag = m->tri_marker[i] >= 1 && m->tri_marker[i] <= 4 ? m->tri_marker[i] : 0;
			double e1[3], e2[3], n[3], sc[3][3];
			for (int k = 0; k < 3; k++)
				e1[k] = p[1][k] - p[0][k], e2[k] = p[2][k] - p[0][k];
			cross3(e1, e2, n);
			const double k = 0.3 + 0.7 * (normalize3(n) > 0 ? fabs(dot3(n, f)) : 0);
			for (int c = 0; c < 3; c++) {
				sc[c][0] = SURF_PW / 2.0 + s * (dot3(p[c], r) - sg * uc);
				sc[c][1] = SURF_H / 2.0 - s * (dot3(p[c], q->axis) - vc);
				sc[c][2] = dot3(p[c], f);
			}
			q->tag_seen[tag] = 1;
			raster_tri(&L, (const double(*)[3])sc, tag == CTW_SURF_EPI, surf_rgb[tag], k);
		}
		for (int j = 0; j < SURF_H; j++)
			for (int i = 0; i < SURF_PW; i++) {
				const size_t at = (size_t)j * SURF_PW + (size_t)i;
				uint8_t c[3] = { 255, 255, 255 };
				if (isfinite(L.z_op[at]))
					memcpy(c, L.c_op + 3 * at, 3);
				if (L.z_epi[at] < L.z_op[at]) /* the epicardium in front: 45 % over what is behind */
					for (int a = 0; a < 3; a++)
						c[a] = (uint8_t)lround(0.45 * surf_rgb[CTW_SURF_EPI][a] * L.k_epi[at] +
								       0.55 * c[a]);
				ctw_img_put(&im, view * SURF_PW + i, SURF_TOP + j, c);
			}
		base_edges(q, &L, &im, view * SURF_PW, f, r, s, sg * uc, vc, 0.01 * fmax(umax - umin, vmax - vmin));
		const char *lab = view == 0 ? "ANTERIOR" : "POSTERIOR";
		ctw_img_text(&im, view * SURF_PW + SURF_PW / 2 - ctw_img_text_width(lab, 2) / 2, 8, lab, 2, C_BLACK);
	}
	ctw_img_rect(&im, SURF_PW, SURF_TOP, SURF_PW + 1, SURF_TOP + SURF_H, C_GRID);
	{
		static const char *const names[5] = { "OTHER", "EPI", "LV ENDO", "RV ENDO", "BASE" };
		int x = 16;
		for (int t = 1; t <= 5; t++) {
			const int tag = t % 5;
			if (!q->tag_seen[tag])
				continue;
			uint8_t c[3];
			for (int a = 0; a < 3; a++) /* the epicardium as it looks over white */
				c[a] = tag == CTW_SURF_EPI ? (uint8_t)lround(0.45 * surf_rgb[1][a] + 0.55 * 255)
							   : surf_rgb[tag][a];
			ctw_img_rect(&im, x, QA_H - 42, x + 16, QA_H - 26, c);
			ctw_img_frame(&im, x, QA_H - 42, x + 16, QA_H - 26, C_AXIS);
			ctw_img_text(&im, x + 22, QA_H - 41, names[tag], 2, C_BLACK);
			x += 22 + ctw_img_text_width(names[tag], 2) + 18;
		}
	}
	draw_scale_bar(&im, QA_W - 16, QA_H - 40, s, q->surf_bar_mm);
	ret = write_png(q, PIC_SURF, &im, NULL);
out:
	ctw_free(q->ctx, L.z_op);
	ctw_free(q->ctx, L.z_epi);
	ctw_free(q->ctx, L.k_epi);
	ctw_free(q->ctx, L.c_op);
	ctw_img_release(q->ctx, &im);
	return ret;
}

/* ---- plots ------------------------------------------------------------------------------------------ */

#define PL_X0 90
#define PL_X1 770
#define PL_Y0 40
#define PL_Y1 520

static void dashed_vline(ctw_img *im, int x, int y0, int y1, int width, const uint8_t c[3])
{
	for (int y = y0; y < y1; y += 10)
		ctw_img_rect(im, x - width / 2, y, x - width / 2 + width, y + 6 < y1 ? y + 6 : y1, c);
}

static void plot_frame(ctw_img *im)
{
	ctw_img_rect(im, PL_X0, PL_Y1, PL_X1 + 1, PL_Y1 + 1, C_BLACK);
	ctw_img_rect(im, PL_X0, PL_Y0, PL_X0 + 1, PL_Y1 + 1, C_BLACK);
}

static void text_centred(ctw_img *im, int x, int y, const char *s)
{
	ctw_img_text(im, x - ctw_img_text_width(s, 2) / 2, y, s, 2, C_BLACK);
}

static void text_right(ctw_img *im, int x, int y, const char *s)
{
	ctw_img_text(im, x - ctw_img_text_width(s, 2), y, s, 2, C_BLACK);
}

static int draw_quality(qa *q)
{
	const ctw_tetmesh *m = q->m;
	enum { NB = 90 };
	int64_t hist[NB] = { 0 };
	double edge[NB + 1]; /* cos of the bin edges 0, 2, ..., 180 degrees (decreasing) */
	static const int pair[6][2] = { { 0, 1 }, { 0, 2 }, { 0, 3 }, { 1, 2 }, { 1, 3 }, { 2, 3 } };
	const double c5 = cos(5 * QA_PI / 180), c10 = cos(10 * QA_PI / 180);
	double cmax = -2, cmin = 2;
	ctw_img im = { 0, 0, NULL };
	int ret;

	for (int b = 0; b <= NB; b++)
		edge[b] = cos(2.0 * b * QA_PI / 180);
	for (int64_t t = 0; t < m->n_tets; t++) {
		const int32_t *v = m->tets + 4 * t;
		const double *p0 = m->xyz + 3 * (int64_t)v[0];
		double e[3][3], g[4][3], gg[4];
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 3; k++)
				e[j][k] = m->xyz[3 * (int64_t)v[j + 1] + k] - p0[k];
		/* face normals (gradients of the barycentric coordinates, up to one common factor) */
		cross3(e[1], e[2], g[1]);
		cross3(e[2], e[0], g[2]);
		cross3(e[0], e[1], g[3]);
		for (int k = 0; k < 3; k++)
			g[0][k] = -(g[1][k] + g[2][k] + g[3][k]);
		int bad = 0;
		for (int a = 0; a < 4; a++) {
			gg[a] = dot3(g[a], g[a]);
			bad |= !(gg[a] > 0) || !isfinite(gg[a]);
		}
		const double det = dot3(e[0], g[1]);
		if (bad || !(fabs(det) > 0)) {
			q->degenerate++;
			hist[0] += 6;
			q->n_angles += 6;
			q->below5 += 6;
			q->below10 += 6;
			cmax = 1;
			continue;
		}
		for (int pp = 0; pp < 6; pp++) {
			const int a = pair[pp][0], b = pair[pp][1];
			double c = -dot3(g[a], g[b]) / sqrt(gg[a] * gg[b]);
			c = c > 1 ? 1 : c < -1 ? -1 : c;
			cmax = fmax(cmax, c);
			cmin = fmin(cmin, c);
			/* the bin: edge[lo] >= c > edge[lo + 1] */
			int lo = 0, hi = NB;
			while (hi - lo > 1) {
				const int mid = (lo + hi) / 2;
				if (c > edge[mid])
					hi = mid;
				else
					lo = mid;
			}
			hist[lo]++;
			q->n_angles++;
			q->below5 += c > c5;
			q->below10 += c > c10;
		}
	}
	if (!q->n_angles) {
		snprintf(q->why_not[PIC_QUALITY], sizeof(q->why_not[0]), "the mesh has no tetrahedra");
		return CTW_OK;
	}
	q->min_angle = acos(cmax) * 180 / QA_PI;
	q->max_angle = cmin <= 1 ? acos(cmin) * 180 / QA_PI : 0;
	if ((ret = ctw_img_init(q->ctx, &im, QA_W, QA_H)))
		return ret;
	int64_t hmax = 1;
	for (int b = 0; b < NB; b++)
		hmax = hist[b] > hmax ? hist[b] : hmax;
	const double ltop = log10((double)hmax + 1);
	/* decades */
	for (int64_t d = 1; d <= hmax; d *= 10) {
		char buf[24];
		const int y = PL_Y1 - (int)lround((PL_Y1 - PL_Y0) * log10((double)d + 1) / ltop);
		ctw_img_rect(&im, PL_X0 + 1, y, PL_X1, y + 1, C_GRID);
		if (d < 10000)
			snprintf(buf, sizeof(buf), "%lld", (long long)d);
		else
			snprintf(buf, sizeof(buf), "1E%d", (int)lround(log10((double)d)));
		text_right(&im, PL_X0 - 8, y - 7, buf);
		if (d > INT64_MAX / 10)
			break;
	}
	for (int b = 0; b < NB; b++) {
		if (!hist[b])
			continue;
		const int x0 = PL_X0 + 1 + (int)lround((double)b * (PL_X1 - PL_X0) / NB);
		const int x1 = PL_X0 + (int)lround((double)(b + 1) * (PL_X1 - PL_X0) / NB);
		const int y = PL_Y1 - (int)lround((PL_Y1 - PL_Y0) * log10((double)hist[b] + 1) / ltop);
		ctw_img_rect(&im, x0, y, x1, PL_Y1, b < 5 ? C_RED5 : C_BAR);
	}
	plot_frame(&im);
	for (int d = 0; d <= 180; d += 30) {
		char buf[16];
		const int x = PL_X0 + (int)lround(d / 180.0 * (PL_X1 - PL_X0));
		snprintf(buf, sizeof(buf), "%d", d);
		ctw_img_rect(&im, x, PL_Y1, x + 1, PL_Y1 + 6, C_BLACK);
		text_centred(&im, x, PL_Y1 + 10, buf);
	}
	dashed_vline(&im, PL_X0 + (int)lround(5 / 180.0 * (PL_X1 - PL_X0)), PL_Y0, PL_Y1, 2, C_RED5);
	dashed_vline(&im, PL_X0 + (int)lround(10 / 180.0 * (PL_X1 - PL_X0)), PL_Y0, PL_Y1, 2, C_ORANGE10);
	text_centred(&im, (PL_X0 + PL_X1) / 2, PL_Y1 + 34, "DIHEDRAL ANGLE (DEG)");
	ctw_img_text(&im, PL_X0 - 60, 12, "DIHEDRAL ANGLES (LOG COUNT)", 2, C_BLACK);
	{
		char buf[96];
		snprintf(buf, sizeof(buf), "MIN %.1f  <5: %lld  <10: %lld", q->min_angle, (long long)q->below5,
			 (long long)q->below10);
		text_right(&im, PL_X1, 12, buf);
	}
	ret = write_png(q, PIC_QUALITY, &im, NULL);
	ctw_img_release(q->ctx, &im);
	return ret;
}

static int draw_profile(qa *q)
{
	enum { NB = 10, NR = 9 };
	const ctw_tetmesh *m = q->m;
	const ctw_field *reg = q->fregion;
	double sum[NR][NB] = { { 0 } }, sq[NR][NB] = { { 0 } };
	int64_t cnt[NR][NB] = { { 0 } };
	ctw_img im = { 0, 0, NULL };
	int ret;

	q->profile_from_fiber_region = reg != NULL;
	for (int64_t t = 0; t < m->n_tets; t++) {
		const double h = q->helix->values[t];
		double pe = 0;
		for (int a = 0; a < 4; a++)
			pe += 0.25 * q->phi_epi->values[m->tets[4 * t + a]];
		if (!isfinite(h) || !isfinite(pe))
			continue;
		int g = reg ? (isfinite(reg->values[t]) ? (int)lround(reg->values[t]) : 0) : m->region[t];
		g = g >= 1 && g <= 8 ? g : 0;
		int b = (int)floor(pe * NB);
		b = b < 0 ? 0 : b >= NB ? NB - 1 : b;
		cnt[g][b]++;
		sum[g][b] += h;
		sq[g][b] += h * h;
	}
	if ((ret = ctw_img_init(q->ctx, &im, QA_W, QA_H)))
		return ret;
#define PX(x) (PL_X0 + (x) * (PL_X1 - PL_X0))
#define PY(y) (PL_Y1 - ((fmax(-90, fmin(90, (y))) + 90) / 180) * (PL_Y1 - PL_Y0))
	for (int d = -90; d <= 90; d += 30) {
		char buf[16];
		const int y = (int)lround(PY(d));
		ctw_img_rect(&im, PL_X0 + 1, y, PL_X1, y + 1, d == 0 ? C_AXIS : C_GRID);
		snprintf(buf, sizeof(buf), "%d", d);
		text_right(&im, PL_X0 - 8, y - 7, buf);
	}
	int seen[NR] = { 0 };
	for (int g = 1; g <= NR; g++) {
		const int r = g % NR;
		double mean[NB], sd[NB];
		for (int b = 0; b < NB; b++) {
			const double n = (double)cnt[r][b];
			mean[b] = n > 0 ? sum[r][b] / n : NAN;
			sd[b] = n > 1 ? sqrt(fmax(0, (sq[r][b] - sum[r][b] * sum[r][b] / n) / (n - 1))) : 0;
			seen[r] |= n > 0;
		}
		if (!seen[r])
			continue;
		const uint8_t *c = region_colour(r);
		for (int b = 0; b + 1 < NB; b++) { /* the +- sd band between neighbouring bins */
			if (isnan(mean[b]) || isnan(mean[b + 1]))
				continue;
			const double xa = PX((b + 0.5) / NB), xb = PX((b + 1.5) / NB);
			const double band[4][2] = { { xa, PY(mean[b] - sd[b]) },
						    { xa, PY(mean[b] + sd[b]) },
						    { xb, PY(mean[b + 1] + sd[b + 1]) },
						    { xb, PY(mean[b + 1] - sd[b + 1]) } };
			ctw_img_poly(&im, band, 4, c, 0.22, NULL, 0);
		}
		for (int b = 0; b < NB; b++) {
			if (isnan(mean[b]))
				continue;
			const double x = PX((b + 0.5) / NB), y = PY(mean[b]);
			if (b + 1 < NB && !isnan(mean[b + 1]))
				ctw_img_line(&im, x, y, PX((b + 1.5) / NB), PY(mean[b + 1]), 3, c);
			ctw_img_rect(&im, (int)floor(x) - 3, (int)floor(y) - 3, (int)floor(x) + 4, (int)floor(y) + 4,
				     c);
		}
	}
	plot_frame(&im);
	for (int k = 0; k <= 5; k++) {
		char buf[16];
		const int x = (int)lround(PX(k / 5.0));
		snprintf(buf, sizeof(buf), "%g", k / 5.0);
		ctw_img_rect(&im, x, PL_Y1, x + 1, PL_Y1 + 6, C_BLACK);
		text_centred(&im, x, PL_Y1 + 10, buf);
	}
	text_centred(&im, PL_X0, PL_Y1 + 30, "ENDO");
	text_centred(&im, PL_X1, PL_Y1 + 30, "EPI");
	text_centred(&im, (PL_X0 + PL_X1) / 2, PL_Y1 + 34, "TRANSMURAL DEPTH PHI_EPI");
	ctw_img_text(&im, PL_X0 - 60, 12, "HELIX ANGLE (DEG), MEAN AND SD", 2, C_BLACK);
	{
		int x = PL_X1 - 8;
		char buf[32];
		for (int g = NR; g >= 1; g--) { /* legend, right-aligned at the top */
			const int r = g % NR;
			if (!seen[r])
				continue;
			if (r)
				region_label(r, q->profile_from_fiber_region, buf, sizeof(buf));
			else
				snprintf(buf, sizeof(buf), "OTHER");
			x -= ctw_img_text_width(buf, 2);
			ctw_img_text(&im, x, PL_Y0 + 8, buf, 2, C_BLACK);
			x -= 22;
			ctw_img_rect(&im, x, PL_Y0 + 7, x + 16, PL_Y0 + 23, region_colour(r));
			x -= 18;
		}
	}
#undef PX
#undef PY
	ret = write_png(q, PIC_PROFILE, &im, NULL);
	ctw_img_release(q->ctx, &im);
	return ret;
}

/* ---- report.html -------------------------------------------------------------------------------------- */

/* Writes s escaped for HTML text and attributes; control characters become '?', bytes that are
 * not UTF-8 become U+FFFD. */
static void html_put(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		const unsigned c = *p;
		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c == '\'')
			fputs("&#39;", f);
		else if (c == '\t' || c == '\n')
			fputc((int)c, f);
		else if (c < 0x20 || c == 0x7f)
			fputc('?', f);
		else if (c < 0x80)
			fputc((int)c, f);
		else {
			/* a well-formed UTF-8 sequence (no overlongs, surrogates or > U+10FFFF) */
			int n = c >= 0xc2 && c <= 0xdf   ? 1
				: c >= 0xe0 && c <= 0xef ? 2
				: c >= 0xf0 && c <= 0xf4 ? 3
							 : -1;
			int ok = n > 0;
			for (int k = 1; ok && k <= n; k++)
				ok = (p[k] & 0xc0) == 0x80;
			if (ok && n == 2 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)))
				ok = 0;
			if (ok && n == 3 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)))
				ok = 0;
			if (!ok) {
				fputs("\xef\xbf\xbd", f);
			} else {
				fwrite(p, 1, (size_t)n + 1, f);
				p += n;
			}
		}
		p++;
	}
}

/* One CSV field from *s (RFC 4180 quotes) into buf; advances past the comma. Returns 1 when a
 * comma followed (another field comes). */
static int csv_field(const char **s, char *buf, size_t n)
{
	const char *p = *s;
	size_t k = 0;
	if (*p == '"') {
		for (p++; *p; p++) {
			if (*p == '"' && p[1] == '"')
				p++;
			else if (*p == '"') {
				p++;
				break;
			}
			if (k + 1 < n)
				buf[k++] = *p;
		}
		while (*p && *p != ',')
			p++;
	} else {
		for (; *p && *p != ','; p++)
			if (k + 1 < n)
				buf[k++] = *p;
	}
	buf[k] = '\0';
	*s = *p == ',' ? p + 1 : p;
	return *p == ',';
}

static void csv_row(FILE *f, const char *line, const char *cell)
{
	char buf[1024];
	int more;
	fputs("<tr>", f);
	do {
		more = csv_field(&line, buf, sizeof(buf));
		fprintf(f, "<%s>", cell);
		html_put(f, buf);
		fprintf(f, "</%s>", cell);
	} while (more);
	fputs("</tr>\n", f);
}

/* The metrics file as a table (at most 1 MiB of it). CTW_ERR_IO naming it when it cannot be read. */
static int metrics_table(ctw_ctx *ctx, FILE *f, const char *path)
{
	FILE *in = fopen(path, "rb");
	char *text;
	size_t n;
	int ret = CTW_OK;

	if (!in)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot read: %s", strerror(errno));
	if (!(text = ctw_malloc(ctx, (1u << 20) + 1))) {
		fclose(in);
		return CTW_ERR_NOMEM;
	}
	n = fread(text, 1, 1u << 20, in);
	if (ferror(in))
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot read: %s", strerror(errno));
	fclose(in);
	if (ret)
		goto out;
	text[n] = '\0';
	fputs("<table class=\"metrics\">\n", f);
	int first = 1;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len) {
			/* a header row, unless the file has none */
			const int header = first && strncmp(line, "metric", 6) == 0 && (line[6] == ',' || !line[6]);
			if (first && !header)
				csv_row(f, "metric,value", "th");
			csv_row(f, line, header ? "th" : "td");
			first = 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	fputs("</table>\n", f);
out:
	ctw_free(ctx, text);
	return ret;
}

static void caption(qa *q, FILE *f, int pic)
{
	char buf[2400];
	switch (pic) {
	case PIC_REGION:
		snprintf(
		    buf, sizeof(buf),
		    "Cross-sections perpendicular to the long axis (from %s) at 25, 50 and 75 %% of the "
		    "apex-to-base height (left to right; %.1f, %.1f and %.1f mm along the axis), seen from the apex "
		    "towards the base with anterior up, so the patient's left is on the right, all on one scale "
		    "(the black bar is %g mm). Every tetrahedron cut by a plane is filled with its region colour: "
		    "LV red, RV blue. Look for closed rings of plausible, even wall thickness, the RV attached "
		    "to the LV at the septum, and nothing else: holes, jagged walls, islands or a region with the "
		    "wrong colour mean a meshing or tagging problem.",
		    q->axis_from, q->level[0], q->level[1], q->level[2], q->bar_mm);
		break;
	case PIC_HELIX:
		snprintf(buf, sizeof(buf),
			 "The same sections coloured by the fibre helix angle of each tetrahedron: blue -90\xc2\xb0, "
			 "light grey 0\xc2\xb0, red +90\xc2\xb0 (the bar below)%s%s. The helix should turn smoothly "
			 "from + at the endocardium to \xe2\x88\x92 at the epicardium all around the wall; a sudden "
			 "colour jump mid-wall means a fibre discontinuity, a uniform colour across the wall means "
			 "the transmural field is wrong.",
			 q->md->fiber ? ". Short dark lines: the fibre direction projected onto the plane on a "
					"12-pixel grid (short where the fibre crosses the plane steeply)"
				      : "",
			 q->nan_helix ? "; mid grey: no value" : "");
		break;
	case PIC_SURF:
		snprintf(buf, sizeof(buf),
			 "The boundary triangles by tag, orthographic views from anterior (left) and posterior "
			 "(right) with the base up, flat shaded: epicardium translucent grey, LV endocardium red, "
			 "RV endocardium blue, base yellow (scale bar %g mm). Look for each surface where it belongs "
			 "and a base only at the top: a patch of the wrong colour means mis-tagged faces, which "
			 "become wrong boundary conditions in the solver.",
			 q->surf_bar_mm);
		break;
	case PIC_QUALITY:
		snprintf(buf, sizeof(buf),
			 "Histogram of the six dihedral angles of every tetrahedron (2\xc2\xb0 bins, counts on a log "
			 "scale; bars below 10\xc2\xb0 in red, dashed lines at 5\xc2\xb0 and 10\xc2\xb0). "
			 "%lld angles: smallest %.2f\xc2\xb0, largest %.2f\xc2\xb0, %lld below 5\xc2\xb0, %lld below "
			 "10\xc2\xb0%s. Look for one hump in the middle and empty tails: slivers (below 5\xc2\xb0, "
			 "or close to 180\xc2\xb0) make the stiffness matrix ill-conditioned and the solution "
			 "inaccurate, and explicit solvers need tiny time steps.",
			 (long long)q->n_angles, q->min_angle, q->max_angle, (long long)q->below5,
			 (long long)q->below10, q->degenerate ? " (degenerate tetrahedra counted as 0\xc2\xb0)" : "");
		break;
	case PIC_LABELS:
		snprintf(buf, sizeof(buf),
			 "Orthogonal slices of the label map (labels.nii.gz) through the centroid of %s: %s %c=%d, "
			 "%s %c=%d and %s %c=%d (index plane and voxel index, 0-based), left to right, at the voxel "
			 "size of the grid and all on one scale (the black bars are %g mm)%s. %s"
			 "and the borders between labels are drawn dark. Look for labels that follow the anatomy%s: "
			 "a closed myocardium of even "
			 "thickness around each blood pool, no holes in the wall, no islands of a label away from its "
			 "structure, and the base cut as one flat, clean plane across the ventricles in the long-axis "
			 "views. What is wrong here is wrong in the mesh too.",
			 q->lbl_centre_of, q->lbl_plane[0], "IJK"[q->lbl_normal[0]], q->lbl_slice[0],
			 q->lbl_plane[1], "IJK"[q->lbl_normal[1]], q->lbl_slice[1], q->lbl_plane[2],
			 "IJK"[q->lbl_normal[2]], q->lbl_slice[2], q->lbl_bar_mm,
			 q->lbl_anatomical ? "; axial with anterior up and the patient's left on the right, coronal and "
					     "sagittal with superior up (sagittal: anterior on the left)"
					   : "; the grid is oblique, so the index planes are shown with the lower "
					     "in-plane index increasing to the right and the other downwards",
			 q->lbl_under_image
			     ? "The image is shown under the labels in grey (the nearest image voxel; black to white "
			       "from the 1st to the 99th percentile of the image around the labels; light grey outside "
			       "the image); each labelled voxel is tinted with the colour of its label (legend below; "
			       "background untinted) "
			     : "Each voxel is filled with the colour of its label (legend below; background light grey) ",
			 q->lbl_under_image ? " of the image: the blood pools bright, the walls on the muscle, the "
					      "borders on the image's edges"
					    : "");
		break;
	default:
		snprintf(buf, sizeof(buf),
			 "Mean helix angle (line and squares) \xc2\xb1 one standard deviation (band) against "
			 "transmural depth phi_epi (0 endocardium, 1 epicardium; bins 0.1, per tetrahedron the mean "
			 "of its nodes) for each %s. Look for a smooth, nearly linear fall from the endocardial to the "
			 "epicardial angle of the rule (e.g. +60\xc2\xb0 to \xe2\x88\x92"
			 "60\xc2\xb0) with narrow "
			 "bands; a kink, a step or a wide band means discontinuous fibres or a bad transmural field.",
			 q->profile_from_fiber_region ? "fibre region (LV, RV, septum)" : "mesh region");
		break;
	}
	html_put(f, buf);
}

static int write_report(qa *q, const char *metrics_csv, const char *const *warnings, int n_warnings)
{
	char path[4200];
	const ctw_tetmesh *m = q->m;
	const char *title = q->md->title && q->md->title[0] ? q->md->title : "(untitled)";
	int ret = CTW_OK;
	FILE *f;

	snprintf(path, sizeof(path), "%s/report.html", q->dir);
	if (!(f = fopen(path, "w")))
		return ctw_error(q->ctx, CTW_ERR_IO, path, "cannot create: %s", strerror(errno));
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>QA report: ", f);
	html_put(f, title);
	fputs("</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:2em;max-width:60em;color:#222}\n"
	      "h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.5em;border-bottom:1px solid #ccc}\n"
	      ".warnings{background:#fff3cd;border:2px solid #d39e00;padding:0.5em 1em}\n"
	      ".warnings li{color:#7a4b00;font-weight:bold}\n"
	      ".ok{background:#e8f5e9;border:1px solid #7cb342;padding:0.5em 1em}\n"
	      "table.metrics{border-collapse:collapse}table.metrics td,table.metrics th{border:1px solid #bbb;"
	      "padding:2px 8px;text-align:left}table.metrics th{background:#eee}\n"
	      ".figure{margin:1.5em 0}.figure img{border:1px solid #ccc;max-width:100%;height:auto}\n"
	      ".caption{font-size:0.95em}\n"
	      "</style>\n</head>\n<body>\n<h1>QA report: ",
	      f);
	html_put(f, title);
	fputs("</h1>\n<h2 id=\"warnings\">Warnings</h2>\n", f);
	if (n_warnings > 0 || q->n_notes > 0) {
		fputs("<div class=\"warnings\">\n<ul>\n", f);
		for (int i = 0; i < n_warnings; i++) {
			fputs("<li>", f);
			html_put(f, warnings[i]);
			fputs("</li>\n", f);
		}
		for (int i = 0; i < q->n_notes; i++) {
			fputs("<li>QA: ", f);
			html_put(f, q->notes[i]);
			fputs("</li>\n", f);
		}
		fputs("</ul>\n</div>\n", f);
	} else {
		fputs("<p class=\"ok\">No warnings.</p>\n", f);
	}
	fputs("<h2 id=\"metrics\">Metrics</h2>\n", f);
	if (metrics_csv) {
		if ((ret = metrics_table(q->ctx, f, metrics_csv)))
			goto out;
	} else {
		fputs("<p>No metrics were given.</p>\n", f);
	}
	fprintf(f, "<p>Mesh: %lld nodes, %lld tetrahedra, %lld boundary triangles; fibres: %s. Long axis from ",
		(long long)m->n_points, (long long)m->n_tets, (long long)m->n_tris, q->md->fiber ? "yes" : "no");
	html_put(f, q->axis_from ? q->axis_from : "-");
	double ax[3];
	for (int k = 0; k < 3; k++) /* no "-0.0000" */
		ax[k] = fabs(q->axis[k]) < 5e-5 ? 0 : q->axis[k];
	fprintf(f, ": (%.4f, %.4f, %.4f) in the LPS world frame.</p>\n", ax[0], ax[1], ax[2]);
	fputs("<h2 id=\"pictures\">Pictures</h2>\n<p>Written: ", f);
	int first = 1;
	for (int o = 0; o < QA_N_PICS; o++) {
		const int p = report_order[o];
		if (q->drawn[p]) {
			fprintf(f, "%sqa/%s", first ? "" : ", ", pic_name[p]);
			first = 0;
		}
	}
	fputs(first ? "none.</p>\n" : ".</p>\n", f);
	for (int o = 0; o < QA_N_PICS; o++) {
		const int p = report_order[o];
		if (!q->drawn[p])
			continue;
		fprintf(f,
			"<div class=\"figure\" id=\"%.*s\">\n<p><img src=\"qa/%s\" width=\"%d\" height=\"%d\" "
			"alt=\"%s\"></p>\n<p class=\"caption\"><b>qa/%s</b>: ",
			(int)(strlen(pic_name[p]) - 4), pic_name[p], pic_name[p], QA_W, QA_H, pic_name[p], pic_name[p]);
		caption(q, f, p);
		fputs("</p>\n</div>\n", f);
	}
	first = 1;
	for (int o = 0; o < QA_N_PICS; o++) {
		const int p = report_order[o];
		if (q->drawn[p] || (p == PIC_LABELS && !q->labels)) /* no label map: not a missing picture */
			continue;
		if (first)
			fputs("<h2 id=\"not-drawn\">Not drawn</h2>\n<ul>\n", f);
		first = 0;
		fprintf(f, "<li>qa/%s: ", pic_name[p]);
		html_put(f, q->why_not[p][0] ? q->why_not[p] : "not available");
		fputs("</li>\n", f);
	}
	if (!first)
		fputs("</ul>\n", f);
	fputs("</body>\n</html>\n", f);
out:
	if (ferror(f) && !ret)
		ret = ctw_error(q->ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno));
	if (fclose(f) && !ret)
		ret = ctw_error(q->ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno));
	if (ret)
		remove(path);
	return ret;
}

/* ---- entry ------------------------------------------------------------------------------------------ */

int ctw_qa_write(ctw_ctx *ctx, const ctw_model *md, const ctw_volume *labels, const ctw_volume *image,
		 const char *dir, const char *metrics_csv, const char *const *warnings, int n_warnings)
{
	qa *q;
	int ret = CTW_OK;

	if (!md || !md->mesh || !dir || !dir[0] || n_warnings < 0 || (n_warnings > 0 && !warnings))
		return ctw_error(ctx, CTW_ERR_INVALID, "qa", "bad arguments (model, directory or warnings missing)");
	for (int i = 0; i < n_warnings; i++)
		if (!warnings[i])
			return ctw_error(ctx, CTW_ERR_INVALID, "qa", "warning %d is NULL", i);
	if (strlen(dir) > 4000)
		return ctw_error(ctx, CTW_ERR_INVALID, "qa", "directory name too long");
	if ((ret = ctw_tetmesh_check(ctx, "qa", md->mesh)) || (labels && (ret = check_labels(ctx, labels))) ||
	    (image && (ret = check_image(ctx, image))))
		return ret;
	if (!(q = ctw_calloc(ctx, 1, sizeof(*q))))
		return CTW_ERR_NOMEM;
	q->ctx = ctx;
	q->md = md;
	q->m = md->mesh;
	q->dir = dir;
	q->labels = labels;
	q->image = image;
	snprintf(q->qadir, sizeof(q->qadir), "%s/qa", dir);
	if (mkdir(q->qadir, 0777) && errno != EEXIST) {
		char path[4200];
		const int e = errno;
		snprintf(path, sizeof(path), "%s/%s", q->qadir, pic_name[0]);
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot create directory '%s': %s", q->qadir, strerror(e));
		goto out;
	}
	q->helix = find_field(q, "helix_angle", CTW_ON_CELLS);
	q->fregion = find_field(q, "fiber_region", CTW_ON_CELLS);
	q->phi_epi = find_field(q, "phi_epi", CTW_ON_POINTS);
	q->psi = find_field(q, "psi_ab", CTW_ON_POINTS);
	find_axis(q);
	if (!q->helix) {
		snprintf(q->why_not[PIC_HELIX], sizeof(q->why_not[0]), "the model has no usable helix_angle field");
		snprintf(q->why_not[PIC_PROFILE], sizeof(q->why_not[0]), "the model has no usable helix_angle field");
	} else if (!q->phi_epi) {
		snprintf(q->why_not[PIC_PROFILE], sizeof(q->why_not[0]), "the model has no usable phi_epi field");
	}
	if (q->m->n_tets == 0) {
		snprintf(q->why_not[PIC_REGION], sizeof(q->why_not[0]), "the mesh has no tetrahedra");
		snprintf(q->why_not[PIC_HELIX], sizeof(q->why_not[0]), "the mesh has no tetrahedra");
	}
	if (labels && (ret = draw_labels(q)))
		goto out;
	if (q->m->n_tets > 0 && (ret = draw_sections(q)))
		goto out;
	if (ctw_progress(ctx, "qa", 1, 5)) {
		ret = ctw_error(ctx, CTW_ERR_CANCELLED, "qa", "cancelled");
		goto out;
	}
	if ((ret = draw_surfaces(q)))
		goto out;
	if (ctw_progress(ctx, "qa", 2, 5)) {
		ret = ctw_error(ctx, CTW_ERR_CANCELLED, "qa", "cancelled");
		goto out;
	}
	if ((ret = draw_quality(q)))
		goto out;
	if (q->helix && q->phi_epi && q->m->n_tets > 0 && (ret = draw_profile(q)))
		goto out;
	if (ctw_progress(ctx, "qa", 4, 5)) {
		ret = ctw_error(ctx, CTW_ERR_CANCELLED, "qa", "cancelled");
		goto out;
	}
	/* a picture not drawn this time must not survive from an earlier run */
	for (int p = 0; p < QA_N_PICS; p++)
		if (!q->drawn[p]) {
			char path[4200];
			snprintf(path, sizeof(path), "%s/%s", q->qadir, pic_name[p]);
			remove(path);
		}
	ret = write_report(q, metrics_csv, warnings, n_warnings);
	if (!ret)
		ctw_progress(ctx, "qa", 5, 5);
out:
	ctw_free(ctx, q->poly);
	ctw_free(ctx, q);
	return ret;
}
