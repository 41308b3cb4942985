/* test_export_qa.c: the QA pictures and report.html (export/qa.c). A structured LV (ctw_lvgen)
 * with LDRB fibres is drawn; the PNGs are read back with libpng (size, 8-bit RGB, the tEXt frame),
 * two runs must give identical bytes, the 50 % section must cover the analytic ellipsoidal
 * annulus area within 5 %, the LV-only sections must be red and never blue, the helix colours must
 * be of the + end near the endocardium and of the - end near the epicardium, a mesh retagged half
 * RV must put the RV on the side the frame says. report.html must pass `xmllint --html`, name the
 * case and every picture, list the warnings first and escape everything. Failure paths: a
 * directory that is a file, a full disk (/dev/full) behind a picture and behind the report, an
 * unreadable metrics file (CTW_ERR_IO naming the file), allocation failures (CTW_ERR_NOMEM, no
 * leaks), a model without fibres or fields (only what can be drawn; stale pictures removed). The
 * label slices: colours, contours, orientation; with an image on another grid under them, the
 * blood pool bright and the background dark, contours solid, image NULL as before, a bad image
 * refused with nothing written. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctw.h"
#include "export.h"
#include "fault_alloc.h"
#include "fibers.h"

#define PI_D 3.14159265358979323846

static char tmpdir[64];

static const char *const pics[5] = { "sections_region.png", "sections_helix.png", "surfaces.png", "quality.png",
				     "helix_profile.png" };

static const char *tmp_path(const char *name)
{
	static char buf[8][512];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

static const char *fresh_dir(const char *name)
{
	const char *p = tmp_path(name);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(mkdir(p, 0777), 0);
	return p;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long len;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)len + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)len, f), (size_t)len);
	s[len] = '\0';
	fclose(f);
	if (n)
		*n = (size_t)len;
	return s;
}

static int exists(const char *dir, const char *name)
{
	char p[700];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

/* ---- the LV with fibres ---------------------------------------------------------------------------- */

typedef struct lv {
	ctw_ctx *ctx;
	ctw_tetmesh *m;
	int64_t apex;
	ctw_fiber_result res;
	ctw_model md;
} lv;

static lv *lv_new(void)
{
	lv *L = calloc(1, sizeof(*L));
	ctw_fiber_opts o = CTW_FIBER_OPTS_INIT;
	assert_non_null(L);
	L->ctx = ctw_ctx_new();
	assert_int_equal(ctw_lvgen(L->ctx, &(ctw_lvgen_opts){ 7, 10, 17, 20, 5, 4, 20, 40 }, &L->m, &L->apex), CTW_OK);
	o.apex_node = L->apex;
	assert_int_equal(ctw_fibers_compute(L->ctx, "lv", L->m, 0, &o, &L->res), CTW_OK);
	L->md = (ctw_model){ L->m,
			     L->res.fiber->values,
			     L->res.sheet->values,
			     (const ctw_field *const *)L->res.fields,
			     L->res.n_fields,
			     L->apex,
			     "case-007" };
	return L;
}

static void lv_free(lv *L)
{
	ctw_fiber_result_release(L->ctx, &L->res);
	ctw_tetmesh_free(L->ctx, L->m);
	ctw_ctx_free(L->ctx);
	free(L);
}

/* ---- PNG reading --------------------------------------------------------------------------------- */

typedef struct pic {
	int w, h, color_type, bit_depth;
	unsigned char *rgb;
	char frame[2048];
} pic;

static int read_png_file(const char *path, pic *p)
{
	FILE *f = fopen(path, "rb");
	png_structp png;
	png_infop info;
	png_textp text;
	int nt = 0;

	memset(p, 0, sizeof(*p));
	if (!f)
		return -1;
	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_read_struct(&png, &info, NULL);
		fclose(f);
		return -1;
	}
	png_init_io(png, f);
	png_read_info(png, info);
	p->w = (int)png_get_image_width(png, info);
	p->h = (int)png_get_image_height(png, info);
	p->color_type = png_get_color_type(png, info);
	p->bit_depth = png_get_bit_depth(png, info);
	if (p->color_type == PNG_COLOR_TYPE_RGB && p->bit_depth == 8) {
		p->rgb = malloc((size_t)3 * p->w * p->h);
		for (int y = 0; y < p->h; y++)
			png_read_row(png, p->rgb + (size_t)3 * p->w * y, NULL);
		png_read_end(png, info);
	}
	if (png_get_text(png, info, &text, &nt) > 0)
		for (int i = 0; i < nt; i++)
			if (!strcmp(text[i].key, "ctw:frame"))
				snprintf(p->frame, sizeof(p->frame), "%s", text[i].text);
	png_destroy_read_struct(&png, &info, NULL);
	fclose(f);
	return 0;
}

static void read_pic(const char *dir, const char *name, pic *p)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/qa/%s", dir, name);
	assert_int_equal(read_png_file(path, p), 0);
	assert_int_equal(p->w, 800);
	assert_int_equal(p->h, 600);
	assert_int_equal(p->color_type, PNG_COLOR_TYPE_RGB);
	assert_int_equal(p->bit_depth, 8);
	assert_non_null(p->rgb);
}

static const unsigned char *px(const pic *p, int x, int y)
{
	return p->rgb + 3 * ((size_t)y * p->w + x);
}

/* The section frame from the tEXt chunk. */
typedef struct frame {
	double s, u0, v0, cx[3], cy, axis[3], right[3], up[3], level[3];
	char from[32];
} frame;

static void parse_frame(const char *t, frame *fr)
{
	const char *q;
	assert_non_null(q = strstr(t, "px_per_mm="));
	assert_int_equal(sscanf(q,
				"px_per_mm=%lf u0=%lf v0=%lf cx=%lf,%lf,%lf cy=%lf axis=%lf,%lf,%lf "
				"right=%lf,%lf,%lf up=%lf,%lf,%lf levels=%lf,%lf,%lf axis_from=%31s",
				&fr->s, &fr->u0, &fr->v0, &fr->cx[0], &fr->cx[1], &fr->cx[2], &fr->cy, &fr->axis[0],
				&fr->axis[1], &fr->axis[2], &fr->right[0], &fr->right[1], &fr->right[2], &fr->up[0],
				&fr->up[1], &fr->up[2], &fr->level[0], &fr->level[1], &fr->level[2], fr->from),
			 20);
}

/* Pixel of world point p in panel k. */
static void to_px(const frame *fr, int k, const double p[3], double *x, double *y)
{
	const double u = p[0] * fr->right[0] + p[1] * fr->right[1] + p[2] * fr->right[2];
	const double v = p[0] * fr->up[0] + p[1] * fr->up[1] + p[2] * fr->up[2];
	*x = fr->cx[k] + fr->s * (u - fr->u0);
	*y = fr->cy - fr->s * (v - fr->v0);
}

static int is_blue(const unsigned char *c)
{
	return c[2] > c[0] + 60 && c[2] > c[1] + 40;
}

static int is_red(const unsigned char *c)
{
	return c[0] > c[2] + 60 && c[0] > c[1] + 60;
}

/* ---- tests ---------------------------------------------------------------------------------------- */

static const char *metrics_file(void)
{
	const char *p = tmp_path("metrics.csv");
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("metric,value\npoints,12345\nnote,\"a<b, c\"\nmin_dihedral_deg,12.5\n", f);
	assert_int_equal(fclose(f), 0);
	return p;
}

static void test_export_qa_pictures_valid(void **state)
{
	lv *L = *state;
	const char *d = fresh_dir("valid");
	const char *const warn[2] = { "low Dice 0.71 <check> & review", "second warning" };
	pic p;

	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d, metrics_file(), warn, 2), CTW_OK);
	for (int i = 0; i < 5; i++) {
		read_pic(d, pics[i], &p);
		free(p.rgb);
	}
	assert_true(exists(d, "report.html"));
}

static void test_export_qa_deterministic(void **state)
{
	lv *L = *state;
	const char *a = fresh_dir("det_a"), *b = fresh_dir("det_b");
	const char *metrics = metrics_file();

	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, a, metrics, NULL, 0), CTW_OK);
	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, b, metrics, NULL, 0), CTW_OK);
	for (int i = 0; i < 6; i++) {
		char pa[700], pb[700];
		size_t na, nb;
		const char *name = i < 5 ? pics[i] : NULL;
		snprintf(pa, sizeof(pa), "%s/%s%s", a, name ? "qa/" : "", name ? name : "report.html");
		snprintf(pb, sizeof(pb), "%s/%s%s", b, name ? "qa/" : "", name ? name : "report.html");
		char *sa = slurp(pa, &na), *sb = slurp(pb, &nb);
		assert_non_null(sa);
		assert_non_null(sb);
		assert_int_equal(na, nb);
		assert_memory_equal(sa, sb, na);
		free(sa);
		free(sb);
	}
}

/* LV only: red, never blue; the 50 % section's area is the analytic annulus within 5 %. */
static void test_export_qa_sections_area(void **state)
{
	lv *L = *state;
	const char *d = fresh_dir("area");
	pic p;
	frame fr;
	int64_t red = 0, blue = 0, lv_px = 0;

	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	read_pic(d, "sections_region.png", &p);
	parse_frame(p.frame, &fr);
	assert_string_equal(fr.from, "psi_ab");
	/* the long axis of lvgen is +z (apex at z = -20, base plane z = 5) */
	assert_true(fabs(fr.axis[2] - 1) < 1e-3);
	assert_true(fabs(fr.level[1] - -7.5) < 0.05);
	for (int y = 0; y < p.h; y++)
		for (int x = 0; x < p.w; x++) {
			const unsigned char *c = px(&p, x, y);
			red += is_red(c);
			blue += is_blue(c);
			/* the LV colour, in the middle panel above the legend */
			lv_px += x >= 267 && x < 533 && y < 540 && c[0] == 214 && c[1] == 62 && c[2] == 62;
		}
	assert_true(red > 1000);
	assert_int_equal(blue, 0);
	const double z = fr.level[1];
	const double ro2 = 100 * (1 - z * z / 400), ri2 = 49 * (1 - z * z / 289);
	const double analytic = PI_D * (ro2 - ri2), measured = (double)lv_px / (fr.s * fr.s);
	print_message("50 %% section: %.2f mm^2 drawn, %.2f mm^2 analytic (%.0f px/mm)\n", measured, analytic, fr.s);
	assert_true(fabs(measured / analytic - 1) < 0.05);
	/* the three panels grow from apex to base: 25 % < 50 % < 75 % in area */
	int64_t panel[3] = { 0, 0, 0 };
	for (int y = 0; y < 540; y++)
		for (int x = 0; x < p.w; x++) {
			const unsigned char *c = px(&p, x, y);
			if (c[0] == 214 && c[1] == 62 && c[2] == 62)
				panel[x < 267 ? 0 : x < 533 ? 1 : 2]++;
		}
	assert_true(panel[0] > 0 && panel[0] < panel[1] && panel[1] < panel[2]);
	free(p.rgb);
}

/* Mean (red - blue) of the coloured, non-glyph pixels of panel 1 between radii r0 and r1 (mm). */
static double band_redness(const pic *p, const frame *fr, double r0, double r1, int *n)
{
	double sum = 0;
	double c0x, c0y;
	const double o[3] = { 0, 0, fr->level[1] };
	to_px(fr, 1, o, &c0x, &c0y);
	*n = 0;
	for (int y = 30; y < 540; y++)
		for (int x = 267; x < 533; x++) {
			const double r = hypot(x + 0.5 - c0x, y + 0.5 - c0y) / fr->s;
			const unsigned char *c = px(p, x, y);
			if (r < r0 || r > r1 || c[0] + c[1] + c[2] < 200 || (c[0] == 255 && c[1] == 255 && c[2] == 255))
				continue;
			sum += (double)c[0] - c[2];
			(*n)++;
		}
	return *n ? sum / *n : 0;
}

static void test_export_qa_helix_colours(void **state)
{
	lv *L = *state;
	const char *d = fresh_dir("helix");
	pic p;
	frame fr;
	int n_in, n_out, dark = 0;

	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	read_pic(d, "sections_helix.png", &p);
	parse_frame(p.frame, &fr);
	const double z = fr.level[1];
	const double ri = 7 * sqrt(1 - z * z / 289), ro = 10 * sqrt(1 - z * z / 400), w = ro - ri;
	const double inner = band_redness(&p, &fr, ri + 0.05 * w, ri + 0.2 * w, &n_in);
	const double outer = band_redness(&p, &fr, ro - 0.2 * w, ro - 0.05 * w, &n_out);
	print_message("helix: inner band red-blue %.0f (%d px), outer %.0f (%d px)\n", inner, n_in, outer, n_out);
	assert_true(n_in > 200 && n_out > 200);
	assert_true(inner > 60);       /* +60 at the endocardium: the red end */
	assert_true(outer < -60);      /* -60 at the epicardium: the blue end */
	for (int y = 30; y < 540; y++) /* fibre glyphs are drawn */
		for (int x = 0; x < 800; x++)
			dark += px(&p, x, y)[0] == 25;
	assert_true(dark > 100);
	free(p.rgb);
}

/* Half the tetrahedra (x > 0, the patient's left) retagged RV: blue appears on the right of each
 * panel (the frame puts +x on the right when seen from the apex with anterior up). */
static void test_export_qa_regions_sides(void **state)
{
	lv *L = *state;
	const char *d = fresh_dir("sides");
	int32_t *saved = malloc((size_t)L->m->n_tets * sizeof(int32_t));
	pic p;
	frame fr;
	int64_t blue_right = 0, blue_left = 0, red_left = 0, red_right = 0;

	memcpy(saved, L->m->region, (size_t)L->m->n_tets * sizeof(int32_t));
	for (int64_t t = 0; t < L->m->n_tets; t++) {
		double cx = 0;
		for (int a = 0; a < 4; a++)
			cx += L->m->xyz[3 * (int64_t)L->m->tets[4 * t + a]];
		L->m->region[t] = cx > 0 ? 2 : 1;
	}
	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	memcpy(L->m->region, saved, (size_t)L->m->n_tets * sizeof(int32_t));
	free(saved);
	read_pic(d, "sections_region.png", &p);
	parse_frame(p.frame, &fr);
	assert_true(fabs(fr.right[0] - 1) < 1e-3); /* anterior (-y) up, so +x is on the right */
	double c0x, c0y;
	const double o[3] = { 0, 0, fr.level[1] };
	to_px(&fr, 1, o, &c0x, &c0y);
	for (int y = 30; y < 540; y++)
		for (int x = 267; x < 533; x++) {
			const unsigned char *c = px(&p, x, y);
			blue_right += is_blue(c) && x > c0x;
			blue_left += is_blue(c) && x < c0x;
			red_right += is_red(c) && x > c0x;
			red_left += is_red(c) && x < c0x;
		}
	assert_true(blue_right > 1000 && red_left > 1000);
	assert_true(blue_left < blue_right / 50 && red_right < red_left / 50);
	free(p.rgb);
}

static void test_export_qa_surfaces(void **state)
{
	lv *L = *state;
	const char *d = fresh_dir("surf");
	pic p;
	int64_t yellow = 0, grey = 0, reddish = 0;

	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	read_pic(d, "surfaces.png", &p);
	for (int y = 30; y < 540; y++)
		for (int x = 0; x < 800; x++) {
			const unsigned char *c = px(&p, x, y);
			yellow += c[0] > 150 && c[1] > 120 && c[2] < 60 && y < 300; /* the base, at the top */
			grey += c[0] == c[1] && c[1] == c[2] && c[0] > 150 && c[0] < 250;
			reddish += c[0] > c[1] + 30 && c[0] > c[2] + 30; /* lv_endo seen through the epi */
		}
	assert_true(yellow > 0);
	assert_true(grey > 1000);
	assert_true(reddish > 1000);
	free(p.rgb);
}

static void test_export_qa_report(void **state)
{
	lv *L = *state;
	const char *d = fresh_dir("report");
	const char *const warn[2] = { "low Dice 0.71 <check> & review", "volume mismatch 7 %" };
	ctw_model md = L->md;
	char path[700], cmd[800];

	md.title = "case <&> \"1\"";
	assert_int_equal(ctw_qa_write(L->ctx, &md, NULL, NULL, d, metrics_file(), warn, 2), CTW_OK);
	snprintf(path, sizeof(path), "%s/report.html", d);
	char *s = slurp(path, NULL);
	assert_non_null(s);
	assert_non_null(strstr(s, "<title>QA report: case &lt;&amp;&gt; &quot;1&quot;</title>"));
	assert_null(strstr(s, "<&>"));
	for (int i = 0; i < 5; i++)
		assert_non_null(strstr(s, pics[i]));
	const char *w1 = strstr(s, "low Dice 0.71 &lt;check&gt; &amp; review");
	const char *met = strstr(s, "id=\"metrics\"");
	assert_non_null(w1);
	assert_non_null(met);
	assert_true(w1 < met); /* warnings first */
	assert_non_null(strstr(s, "<td>12345</td>"));
	assert_non_null(strstr(s, "<td>a&lt;b, c</td>"));
	assert_non_null(strstr(s, "<th>metric</th><th>value</th>"));
	assert_null(strstr(s, tmpdir)); /* nothing but the case id identifies the case */
	assert_null(strstr(s, "<script"));
	assert_null(strstr(s, "http"));
	free(s);
	if (system("command -v xmllint >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "xmllint --html --noout '%s'", path);
		assert_int_equal(system(cmd), 0);
	} else {
		print_message("xmllint missing: HTML check skipped\n");
	}
	/* the case id, plainly */
	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	s = slurp(path, NULL);
	assert_non_null(strstr(s, "<h1>QA report: case-007</h1>"));
	assert_non_null(strstr(s, "No warnings"));
	free(s);
}

static void test_export_qa_io_errors(void **state)
{
	lv *L = *state;
	const char *d = fresh_dir("io");
	char file[700], link[700];

	/* a directory that is a regular file */
	snprintf(file, sizeof(file), "%s/plain", d);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, file, NULL, NULL, 0), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(L->ctx), "sections_region.png"));
	/* a full disk behind a picture, then behind the report */
	const char *d2 = fresh_dir("io_full");
	snprintf(link, sizeof(link), "%s/qa", d2);
	assert_int_equal(mkdir(link, 0777), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(link, sizeof(link), "%s/%s", d2, i == 0 ? "qa/surfaces.png" : "report.html");
		assert_int_equal(symlink("/dev/full", link), 0);
		assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d2, NULL, NULL, 0), CTW_ERR_IO);
		assert_non_null(strstr(ctw_errmsg(L->ctx), i == 0 ? "qa/surfaces.png" : "report.html"));
		unlink(link);
	}
	/* an unreadable metrics file */
	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d2, tmp_path("no-such.csv"), NULL, 0), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(L->ctx), "no-such.csv"));
	/* bad arguments */
	assert_int_equal(ctw_qa_write(L->ctx, NULL, NULL, NULL, d2, NULL, NULL, 0), CTW_ERR_INVALID);
	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, NULL, NULL, NULL, 0), CTW_ERR_INVALID);
	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d2, NULL, NULL, 2), CTW_ERR_INVALID);
	assert_int_equal(ctw_qa_write(L->ctx, &L->md, NULL, NULL, d2, NULL, NULL, 0), CTW_OK);
}

/* No fibres and no fields: sections by region, surfaces and quality; the helix pictures are not
 * drawn, stale ones are removed, the report says why. Then no fields and no boundary triangles
 * and no apex (the principal axis), and a field of the wrong size (ignored, noted). */
static void test_export_qa_without_fields(void **state)
{
	lv *L = *state;
	const char *d = fresh_dir("bare");
	ctw_model md = { L->m, NULL, NULL, NULL, 0, -1, "bare" };
	char path[700];
	pic p;

	snprintf(path, sizeof(path), "%s/qa", d);
	assert_int_equal(mkdir(path, 0777), 0);
	snprintf(path, sizeof(path), "%s/qa/sections_helix.png", d);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(ctw_qa_write(L->ctx, &md, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	assert_true(exists(d, "qa/sections_region.png"));
	assert_true(exists(d, "qa/surfaces.png"));
	assert_true(exists(d, "qa/quality.png"));
	assert_false(exists(d, "qa/sections_helix.png"));
	assert_false(exists(d, "qa/helix_profile.png"));
	read_pic(d, "sections_region.png", &p);
	frame fr;
	parse_frame(p.frame, &fr);
	assert_string_equal(fr.from, "principal"); /* no apex given, no psi_ab */
	assert_true(fabs(fabs(fr.axis[2]) - 1) < 1e-6);
	assert_true(fr.axis[2] > 0); /* towards the base triangles */
	free(p.rgb);
	snprintf(path, sizeof(path), "%s/report.html", d);
	char *s = slurp(path, NULL);
	assert_non_null(strstr(s, "Not drawn"));
	assert_non_null(strstr(s, "helix_angle"));
	free(s);

	/* apex, no fields: the apex -> base axis */
	md.apex_node = L->apex;
	assert_int_equal(ctw_qa_write(L->ctx, &md, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	read_pic(d, "sections_region.png", &p);
	parse_frame(p.frame, &fr);
	assert_string_equal(fr.from, "apex_to_base");
	assert_true(fabs(fr.axis[2] - 1) < 1e-9);
	free(p.rgb);

	/* no boundary triangles, no apex; a helix field of the wrong size */
	ctw_tetmesh m2 = *L->m;
	m2.n_tris = 0;
	ctw_field bad = *L->res.helix_angle;
	bad.n = 5;
	const ctw_field *fl[1] = { &bad };
	ctw_model md2 = { &m2, NULL, NULL, fl, 1, -1, "bare2" };
	assert_int_equal(ctw_qa_write(L->ctx, &md2, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	assert_true(exists(d, "qa/sections_region.png"));
	assert_false(exists(d, "qa/surfaces.png"));
	assert_false(exists(d, "qa/sections_helix.png"));
	s = slurp(path, NULL);
	assert_non_null(strstr(s, "field &#39;helix_angle&#39; ignored"));
	free(s);

	/* nothing at all: an empty mesh gives a report and no pictures */
	ctw_tetmesh m3 = { 0, 0, 0, NULL, NULL, NULL, NULL, NULL };
	ctw_model md3 = { &m3, NULL, NULL, NULL, 0, -1, "empty" };
	assert_int_equal(ctw_qa_write(L->ctx, &md3, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	for (int i = 0; i < 5; i++) {
		char name[64];
		snprintf(name, sizeof(name), "qa/%s", pics[i]);
		assert_false(exists(d, name));
	}
	assert_true(exists(d, "report.html"));
}

static void test_export_qa_nomem(void **state)
{
	lv *L = *state;
	char d[600], metrics[600];
	int ret = CTW_ERR_NOMEM;
	long n;

	snprintf(d, sizeof(d), "%s", fresh_dir("nomem"));
	snprintf(metrics, sizeof(metrics), "%s", metrics_file());

	for (n = 2; n < 500 && ret == CTW_ERR_NOMEM; n++) {
		fault_alloc fa;
		ctw_ctx *ctx = fault_ctx(&fa, n);
		assert_non_null(ctx);
		ret = ctw_qa_write(ctx, &L->md, NULL, NULL, d, metrics, NULL, 0);
		if (ret != CTW_OK && ret != CTW_ERR_NOMEM)
			print_message("fail_at %ld: %d %s\n", n, ret, ctw_errmsg(ctx));
		assert_true(ret == CTW_OK || ret == CTW_ERR_NOMEM);
		ctw_ctx_free(ctx);
		assert_int_equal(fa.live, 0);
	}
	assert_int_equal(ret, CTW_OK);
	assert_true(n > 5);
}

/* ---- label slices ------------------------------------------------------------------------------------ */

/* A blood pool (label 1, r < 10 mm) in a myocardial shell (label 2, r < 16 mm) around voxel
 * (20, 15, 10) of a 41 x 31 x 21 grid of 1.0 x 1.5 x 2.5 mm (identity direction, so axial,
 * coronal and sagittal panels), and three markers beyond the shell on the + side of each axis:
 * label 3 at i >= 38 (the patient's left), 4 at j >= 28 (posterior), 5 at k >= 18 (superior). */
static ctw_volume *shell_volume(ctw_ctx *ctx, ctw_dtype t)
{
	const int64_t dim[3] = { 41, 31, 21 };
	ctw_volume *v;
	int64_t n = 0;
	assert_int_equal(ctw_volume_new(ctx, dim, t, &v), CTW_OK);
	v->spacing[0] = 1.0;
	v->spacing[1] = 1.5;
	v->spacing[2] = 2.5;
	v->origin[0] = -100; /* geometry that must not matter */
	v->origin[1] = 40;
	for (int k = 0; k < 21; k++)
		for (int j = 0; j < 31; j++)
			for (int i = 0; i < 41; i++, n++) {
				const double x = (i - 20) * 1.0, y = (j - 15) * 1.5, z = (k - 10) * 2.5;
				const double r = sqrt(x * x + y * y + z * z);
				unsigned l = r < 10 ? 1 : r < 16 ? 2 : 0;
				if (i >= 38 && abs(j - 15) <= 2 && abs(k - 10) <= 1)
					l = 3;
				if (j >= 28 && abs(i - 20) <= 2 && abs(k - 10) <= 1)
					l = 4;
				if (k >= 18 && abs(i - 20) <= 2 && abs(j - 15) <= 2)
					l = 5;
				if (t == CTW_U8)
					((uint8_t *)v->data)[n] = (uint8_t)l;
				else
					((uint16_t *)v->data)[n] = (uint16_t)l;
			}
	return v;
}

/* One tetrahedron: the mesh pictures cost next to nothing, so the label tests stay fast. */
static ctw_model tet_model(ctw_ctx *ctx, ctw_tetmesh **m)
{
	static const double xyz[12] = { 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10 };
	assert_int_equal(ctw_tetmesh_new(ctx, 4, 1, 0, m), CTW_OK);
	memcpy((*m)->xyz, xyz, sizeof(xyz));
	for (int a = 0; a < 4; a++)
		(*m)->tets[a] = a;
	(*m)->region[0] = 1;
	return (ctw_model){ *m, NULL, NULL, NULL, 0, 0, "case-007" };
}

static const unsigned char C_BG[3] = { 230, 230, 230 }, C_LVB[3] = { 250, 185, 185 }, C_LVM[3] = { 200, 40, 40 },
			   C_CON[3] = { 25, 25, 25 }, C_L3[3] = { 175, 200, 245 }, C_L4[3] = { 250, 215, 165 },
			   C_L5[3] = { 185, 225, 195 };

static int same(const unsigned char *a, const unsigned char *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

typedef struct panel {
	int x0, y0, x1, y1; /* the non-white pixels of the column, [x0, x1) x [y0, y1) */
	double cx, cy, s;   /* centre (pixels) and px per mm                          */
} panel;

/* The colour at d mm from the panel centre towards (dx, dy) (screen, y down). */
static const unsigned char *at_mm(const pic *p, const panel *P, int dx, int dy, double d)
{
	return px(p, (int)floor(P->cx + dx * d * P->s), (int)floor(P->cy + dy * d * P->s));
}

/* The first contour pixel from the centre towards (dx, dy), in mm; -1 when none. */
static double first_contour(const pic *p, const panel *P, int dx, int dy, double from_mm)
{
	for (double d = from_mm * P->s; d < 200; d += 1) {
		const int x = (int)floor(P->cx + dx * d), y = (int)floor(P->cy + dy * d);
		if (x < P->x0 || x >= P->x1 || y < P->y0 || y >= P->y1)
			return -1;
		if (same(px(p, x, y), C_CON))
			return d / P->s;
	}
	return -1;
}

static void test_export_qa_labels(void **state)
{
	lv *L = *state;
	ctw_tetmesh *m;
	const ctw_model md = tet_model(L->ctx, &m);
	const char *d = fresh_dir("labels"), *d16 = fresh_dir("labels16");
	ctw_volume *v = shell_volume(L->ctx, CTW_U8), *v16 = shell_volume(L->ctx, CTW_U16);
	/* panels left to right: axial (i right, j down), coronal (i right, k up), sagittal (j right, k up) */
	static const int h_ax[3] = { 0, 0, 1 }, v_ax[3] = { 1, 2, 2 };
	const double ext[3] = { 41 * 1.0, 31 * 1.5, 21 * 2.5 }, sp[3] = { 1.0, 1.5, 2.5 };
	pic p;

	assert_int_equal(ctw_qa_write(L->ctx, &md, v, NULL, d, NULL, NULL, 0), CTW_OK);
	read_pic(d, "labels.png", &p);
	/* the tEXt frame names the planes and the slices through the shell's centre */
	assert_non_null(strstr(p.frame, "panel0=AXIAL:normal=k:slice=10:"));
	assert_non_null(strstr(p.frame, "panel1=CORONAL:normal=j:slice=15:"));
	assert_non_null(strstr(p.frame, "panel2=SAGITTAL:normal=i:slice=20:"));
	for (int k = 0; k < 3; k++) {
		panel P = { 800, 600, 0, 0, 0, 0, 0 };
		for (int y = 30; y < 490; y++)
			for (int x = k * 800 / 3 + 1; x < (k + 1) * 800 / 3; x++) {
				const unsigned char *c = px(&p, x, y);
				if (c[0] == 255 && c[1] == 255 && c[2] == 255)
					continue;
				if (c[0] == 225 && c[1] == 225 && c[2] == 225) /* the column separator */
					continue;
				P.x0 = x < P.x0 ? x : P.x0;
				P.y0 = y < P.y0 ? y : P.y0;
				P.x1 = x + 1 > P.x1 ? x + 1 : P.x1;
				P.y1 = y + 1 > P.y1 ? y + 1 : P.y1;
			}
		const double w = P.x1 - P.x0, h = P.y1 - P.y0;
		/* physical aspect: w / h = extent(h axis) / extent(v axis), within a pixel each */
		P.s = w / ext[h_ax[k]];
		assert_true(fabs(h - P.s * ext[v_ax[k]]) <= 2);
		assert_true(P.s > 4 && P.s < 8);
		P.cx = 0.5 * (P.x0 + P.x1);
		P.cy = 0.5 * (P.y0 + P.y1);
		assert_true(same(at_mm(&p, &P, 0, 0, 0), C_LVB));
		/* each of the four directions: blood, contour at r = 10, myocardium, contour at r = 16, background */
		for (int dir = 0; dir < 4; dir++) {
			const int dx = dir == 0 ? 1 : dir == 1 ? -1 : 0, dy = dir == 2 ? 1 : dir == 3 ? -1 : 0;
			const double s_ax = sp[dx ? h_ax[k] : v_ax[k]], tol = 2 / P.s;
			const double r1 = first_contour(&p, &P, dx, dy, 0), r2 = first_contour(&p, &P, dx, dy, 13);
			if (!(r1 >= 10 - s_ax / 2 - tol && r1 <= 10 + tol) ||
			    !(r2 >= 16 - s_ax / 2 - tol && r2 <= 16 + tol))
				print_message("panel %d dir %d: contours at %.2f and %.2f mm (spacing %g)\n", k, dir,
					      r1, r2, s_ax);
			assert_true(r1 >= 10 - s_ax / 2 - tol && r1 <= 10 + tol);
			assert_true(r2 >= 16 - s_ax / 2 - tol && r2 <= 16 + tol);
			assert_true(same(at_mm(&p, &P, dx, dy, 5), C_LVB));
			assert_true(same(at_mm(&p, &P, dx, dy, 13), C_LVM));
			assert_true(same(at_mm(&p, &P, dx, dy, 16.9), C_BG));
		}
		/* orientation: the markers on their side, background on the other */
		if (k == 0) { /* axial: left (+i) to the right, posterior (+j) down */
			assert_true(same(at_mm(&p, &P, 1, 0, 19.2), C_L3));
			assert_true(same(at_mm(&p, &P, -1, 0, 19.2), C_BG));
			assert_true(same(at_mm(&p, &P, 0, 1, 21), C_L4));
			assert_true(same(at_mm(&p, &P, 0, -1, 21), C_BG));
		} else if (k == 1) { /* coronal: left to the right, superior (+k) up */
			assert_true(same(at_mm(&p, &P, 1, 0, 19.2), C_L3));
			assert_true(same(at_mm(&p, &P, 0, -1, 22), C_L5));
			assert_true(same(at_mm(&p, &P, 0, 1, 22), C_BG));
		} else { /* sagittal: posterior to the right, superior up */
			assert_true(same(at_mm(&p, &P, 1, 0, 21), C_L4));
			assert_true(same(at_mm(&p, &P, -1, 0, 21), C_BG));
			assert_true(same(at_mm(&p, &P, 0, -1, 22), C_L5));
		}
	}
	free(p.rgb);
	/* the report shows it first, with its caption */
	char path[700];
	snprintf(path, sizeof(path), "%s/report.html", d);
	char *s = slurp(path, NULL);
	assert_non_null(s);
	const char *fig = strstr(s, "<img src=\"qa/labels.png\"");
	const char *reg = strstr(s, "<img src=\"qa/sections_region.png\"");
	assert_non_null(fig);
	assert_non_null(reg);
	assert_true(fig < reg);
	assert_non_null(strstr(s, "AXIAL K=10, CORONAL J=15 and SAGITTAL I=20"));
	assert_non_null(strstr(s, "the base cut"));
	assert_null(strstr(s, "<li>qa/labels.png")); /* not among the pictures not drawn */
	free(s);
	/* uint16 gives the same bytes */
	assert_int_equal(ctw_qa_write(L->ctx, &md, v16, NULL, d16, NULL, NULL, 0), CTW_OK);
	{
		char pa[700], pb[700];
		size_t na, nb;
		snprintf(pa, sizeof(pa), "%s/qa/labels.png", d);
		snprintf(pb, sizeof(pb), "%s/qa/labels.png", d16);
		char *sa = slurp(pa, &na), *sb = slurp(pb, &nb);
		assert_non_null(sa);
		assert_non_null(sb);
		assert_int_equal(na, nb);
		assert_memory_equal(sa, sb, na);
		free(sa);
		free(sb);
	}
	ctw_volume_free(L->ctx, v);
	ctw_volume_free(L->ctx, v16);
	ctw_tetmesh_free(L->ctx, m);
}

/* Without a label map: no labels.png (a stale one removed) and the report as it was. */
static void test_export_qa_labels_none(void **state)
{
	lv *L = *state;
	ctw_tetmesh *m;
	const ctw_model md = tet_model(L->ctx, &m);
	const char *d = fresh_dir("labels_none"), *ref = fresh_dir("labels_ref");
	ctw_volume *v = shell_volume(L->ctx, CTW_U8);
	char pa[700], pb[700];
	size_t na, nb;

	assert_int_equal(ctw_qa_write(L->ctx, &md, v, NULL, d, NULL, NULL, 0), CTW_OK);
	assert_true(exists(d, "qa/labels.png"));
	assert_int_equal(ctw_qa_write(L->ctx, &md, NULL, NULL, d, NULL, NULL, 0), CTW_OK);
	assert_false(exists(d, "qa/labels.png"));
	assert_int_equal(ctw_qa_write(L->ctx, &md, NULL, NULL, ref, NULL, NULL, 0), CTW_OK);
	assert_false(exists(ref, "qa/labels.png"));
	snprintf(pa, sizeof(pa), "%s/report.html", d);
	snprintf(pb, sizeof(pb), "%s/report.html", ref);
	char *sa = slurp(pa, &na), *sb = slurp(pb, &nb);
	assert_non_null(sa);
	assert_non_null(sb);
	assert_null(strstr(sa, "labels"));
	assert_int_equal(na, nb);
	assert_memory_equal(sa, sb, na);
	free(sa);
	free(sb);
	ctw_volume_free(L->ctx, v);
	ctw_tetmesh_free(L->ctx, m);
}

/* A label map that cannot be drawn: CTW_ERR_INVALID before anything is written. */
static void test_export_qa_labels_invalid(void **state)
{
	lv *L = *state;
	ctw_tetmesh *m;
	const ctw_model md = tet_model(L->ctx, &m);
	ctw_volume *v = shell_volume(L->ctx, CTW_U8), *f32;
	const int64_t dim[3] = { 4, 4, 4 };
	char cmd[700];

	assert_int_equal(ctw_volume_new(L->ctx, dim, CTW_F32, &f32), CTW_OK);
	for (int c = 0; c < 5; c++) {
		const char *d = fresh_dir("labels_bad");
		ctw_volume bad = *v;
		if (c == 1)
			bad.dim[1] = 0;
		else if (c == 2)
			bad.spacing[2] = 0;
		else if (c == 3)
			bad.data = NULL;
		else if (c == 4)
			bad.direction[0][0] = NAN;
		assert_int_equal(ctw_qa_write(L->ctx, &md, c == 0 ? f32 : &bad, NULL, d, NULL, NULL, 0), CTW_ERR_INVALID);
		assert_non_null(strstr(ctw_errmsg(L->ctx), "label map"));
		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", d); /* nothing half written */
		assert_int_equal(system(cmd), 0);
	}
	/* allocation failures while drawing it: CTW_ERR_NOMEM, no leaks, until it succeeds */
	{
		const char *d = fresh_dir("labels_nomem");
		int ret = CTW_ERR_NOMEM;
		long n;
		for (n = 2; n < 200 && ret == CTW_ERR_NOMEM; n++) {
			fault_alloc fa;
			ctw_ctx *ctx = fault_ctx(&fa, n);
			assert_non_null(ctx);
			ret = ctw_qa_write(ctx, &md, v, NULL, d, NULL, NULL, 0);
			assert_true(ret == CTW_OK || ret == CTW_ERR_NOMEM);
			ctw_ctx_free(ctx);
			assert_int_equal(fa.live, 0);
		}
		assert_int_equal(ret, CTW_OK);
		assert_true(exists(d, "qa/labels.png"));
	}
	ctw_volume_free(L->ctx, f32);
	ctw_volume_free(L->ctx, v);
	ctw_tetmesh_free(L->ctx, m);
}

/* An image of the shell on another grid (half the spacing, another origin; int16): 1000 inside the
 * blood pool (r < 10 mm around the shell's centre), 100 elsewhere. */
static ctw_volume *shell_image(ctw_ctx *ctx)
{
	const int64_t dim[3] = { 90, 70, 45 };
	ctw_volume *im;
	int64_t n = 0;
	assert_int_equal(ctw_volume_new(ctx, dim, CTW_I16, &im), CTW_OK);
	im->spacing[0] = 0.5;
	im->spacing[1] = 0.75;
	im->spacing[2] = 1.25;
	im->origin[0] = -103.3;
	im->origin[1] = 37.1;
	im->origin[2] = -2.2;
	for (int k = 0; k < 45; k++)
		for (int j = 0; j < 70; j++)
			for (int i = 0; i < 90; i++, n++) {
				/* the labels' centre voxel (20, 15, 10) is at (-80, 62.5, 25) */
				const double x = -103.3 + 0.5 * i + 80, y = 37.1 + 0.75 * j - 62.5, z = -2.2 + 1.25 * k - 25;
				((int16_t *)im->data)[n] = (int16_t)(sqrt(x * x + y * y + z * z) < 10 ? 1000 : 100);
			}
	return im;
}

/* The image under the labels: bright blood pool, dark background, contours still solid; NULL as
 * before; a bad image refused before anything is written. */
static void test_export_qa_labels_image(void **state)
{
	lv *L = *state;
	ctw_tetmesh *m;
	const ctw_model md = tet_model(L->ctx, &m);
	const char *d = fresh_dir("labels_img"), *dn = fresh_dir("labels_noimg"), *dn2 = fresh_dir("labels_noimg2");
	ctw_volume *v = shell_volume(L->ctx, CTW_U8), *im = shell_image(L->ctx);
	pic p;
	char path[700], cmd[700];

	assert_int_equal(ctw_qa_write(L->ctx, &md, v, im, d, NULL, NULL, 0), CTW_OK);
	read_pic(d, "labels.png", &p);
	assert_non_null(strstr(p.frame, "underlay=image"));
	for (int k = 0; k < 3; k++) {
		char key[32];
		int x0, y0, w, h;
		snprintf(key, sizeof(key), "panel%d=", k);
		const char *f = strstr(p.frame, key);
		assert_non_null(f);
		f = strstr(f, ":x0=");
		assert_non_null(f);
		assert_int_equal(sscanf(f, ":x0=%d:y0=%d:w=%d:h=%d", &x0, &y0, &w, &h), 4);
		panel P = { x0, y0, x0 + w, y0 + h, x0 + 0.5 * w, y0 + 0.5 * h, 0 };
		P.s = w / (k < 2 ? 41 * 1.0 : 31 * 1.5);
		const unsigned char *blood = at_mm(&p, &P, 0, 0, 0), *bg = at_mm(&p, &P, -1, 0, 17.5),
				    *myo = at_mm(&p, &P, -1, 0, 13);
		/* blood pool: label tint over white; background outside the shell: pure grey (black) */
		assert_true(blood[0] + blood[1] + blood[2] > 600);
		assert_true(bg[0] == bg[1] && bg[1] == bg[2]);
		assert_true(blood[0] + blood[1] + blood[2] > bg[0] + bg[1] + bg[2] + 300);
		assert_true(bg[0] < 40);
		/* the myocardium: its red over the dark image, not the plain label colour */
		assert_true(myo[0] > myo[1] + 30 && !same(myo, C_LVM));
		/* the contours as without the image, at the same radii */
		for (int dir = 0; dir < 2; dir++) {
			const double r1 = first_contour(&p, &P, dir ? -1 : 1, 0, 0);
			const double r2 = first_contour(&p, &P, dir ? -1 : 1, 0, 13);
			assert_true(r1 > 8 && r1 < 11);
			assert_true(r2 > 14 && r2 < 17);
		}
	}
	free(p.rgb);
	snprintf(path, sizeof(path), "%s/report.html", d);
	char *s = slurp(path, NULL);
	assert_non_null(s);
	assert_non_null(strstr(s, "The image is shown under the labels"));
	free(s);
	/* image NULL: exactly the picture and report without the parameter (the pixels pinned by
	 * test_export_qa_labels), and not the one with the image */
	assert_int_equal(ctw_qa_write(L->ctx, &md, v, NULL, dn, NULL, NULL, 0), CTW_OK);
	assert_int_equal(ctw_qa_write(L->ctx, &md, v, NULL, dn2, NULL, NULL, 0), CTW_OK);
	{
		char pa[700], pb[700], pc[700];
		size_t na, nb, nc;
		snprintf(pa, sizeof(pa), "%s/qa/labels.png", dn);
		snprintf(pb, sizeof(pb), "%s/qa/labels.png", dn2);
		snprintf(pc, sizeof(pc), "%s/qa/labels.png", d);
		char *sa = slurp(pa, &na), *sb = slurp(pb, &nb), *sc = slurp(pc, &nc);
		assert_non_null(sa);
		assert_non_null(sb);
		assert_non_null(sc);
		assert_int_equal(na, nb);
		assert_memory_equal(sa, sb, na);
		assert_true(na != nc || memcmp(sa, sc, na) != 0);
		free(sa);
		free(sb);
		free(sc);
		snprintf(pa, sizeof(pa), "%s/report.html", dn);
		sa = slurp(pa, NULL);
		assert_non_null(sa);
		assert_null(strstr(sa, "image is shown"));
		free(sa);
		read_pic(dn, "labels.png", &p);
		assert_null(strstr(p.frame, "underlay"));
		free(p.rgb);
	}
	/* a bad image: CTW_ERR_INVALID naming it, nothing written (with or without labels) */
	for (int c = 0; c < 4; c++) {
		const char *db = fresh_dir("labels_img_bad");
		ctw_volume bad = *im;
		if (c == 0)
			bad.dtype = (ctw_dtype)99;
		else if (c == 1)
			bad.dim[2] = 0;
		else if (c == 2)
			bad.spacing[0] = NAN;
		else
			bad.data = NULL;
		assert_int_equal(ctw_qa_write(L->ctx, &md, c == 3 ? NULL : v, &bad, db, NULL, NULL, 0), CTW_ERR_INVALID);
		assert_non_null(strstr(ctw_errmsg(L->ctx), "image"));
		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", db);
		assert_int_equal(system(cmd), 0);
	}
	/* allocation failures with the image: CTW_ERR_NOMEM, no leaks, until it succeeds */
	{
		const char *dm = fresh_dir("labels_img_nomem");
		int ret = CTW_ERR_NOMEM;
		for (long n = 2; n < 200 && ret == CTW_ERR_NOMEM; n++) {
			fault_alloc fa;
			ctw_ctx *ctx = fault_ctx(&fa, n);
			assert_non_null(ctx);
			ret = ctw_qa_write(ctx, &md, v, im, dm, NULL, NULL, 0);
			assert_true(ret == CTW_OK || ret == CTW_ERR_NOMEM);
			ctw_ctx_free(ctx);
			assert_int_equal(fa.live, 0);
		}
		assert_int_equal(ret, CTW_OK);
	}
	ctw_volume_free(L->ctx, im);
	ctw_volume_free(L->ctx, v);
	ctw_tetmesh_free(L->ctx, m);
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ctw_qa_XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	*state = lv_new();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	lv_free(*state);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_qa_pictures_valid), cmocka_unit_test(test_export_qa_deterministic),
		cmocka_unit_test(test_export_qa_sections_area),  cmocka_unit_test(test_export_qa_helix_colours),
		cmocka_unit_test(test_export_qa_regions_sides),  cmocka_unit_test(test_export_qa_surfaces),
		cmocka_unit_test(test_export_qa_report),         cmocka_unit_test(test_export_qa_io_errors),
		cmocka_unit_test(test_export_qa_without_fields), cmocka_unit_test(test_export_qa_nomem),
		cmocka_unit_test(test_export_qa_labels),         cmocka_unit_test(test_export_qa_labels_none),
		cmocka_unit_test(test_export_qa_labels_invalid),
		cmocka_unit_test(test_export_qa_labels_image),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
