/* test_contours.c: the Sunnybrook contour reader (real files, bad files, allocation faults) and
 * the polygon fill and area of segment/contours. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "shared_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contours.h"
#include "ctw.h"
#include "fault_alloc.h"
#include "fs.h"

#define SCD_CONTOURS CTW_SHARED_DATA "/sunnybrook_scd/final_data/contourfiles"
#define PI 3.14159265358979323846

/* ---- helpers ------------------------------------------------------------------------------ */

/* A contour over a caller-owned array of n points. */
static ctw_contour poly(double *xy, int n)
{
	ctw_contour c;
	memset(&c, 0, sizeof(c));
	c.n = n;
	c.xy = xy;
	return c;
}

static long count_value(const uint8_t *mask, size_t n, uint8_t value)
{
	long k = 0;
	for (size_t i = 0; i < n; i++)
		k += mask[i] == value;
	return k;
}

/* Classic crossing-number test (PNPOLY, W. R. Franklin), independent of the scanline code. */
static int pnpoly(const ctw_contour *c, double x, double y)
{
	int in = 0;
	for (int i = 0, j = c->n - 1; i < c->n; j = i++) {
		double xi = c->xy[2 * i], yi = c->xy[2 * i + 1], xj = c->xy[2 * j], yj = c->xy[2 * j + 1];
		if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
			in = !in;
	}
	return in;
}

/* Fills c into a fresh rows x cols mask and checks every pixel against pnpoly; returns the count. */
static long check_against_pnpoly(const ctw_contour *c, int rows, int cols)
{
	uint8_t *mask = calloc((size_t)rows * cols, 1);
	long k = 0;
	assert_non_null(mask);
	ctw_contour_fill(c, rows, cols, mask, 1);
	for (int r = 0; r < rows; r++)
		for (int col = 0; col < cols; col++) {
			int in = pnpoly(c, col, r);
			assert_int_equal(mask[(size_t)r * cols + col], in);
			k += in;
		}
	free(mask);
	return k;
}

/* ---- fill and area on synthetic polygons ---------------------------------------------------- */

static void test_contours_fill_rectangle(void **state)
{
	enum { ROWS = 20, COLS = 30 };
	uint8_t mask[ROWS * COLS];
	/* half-integer corners: columns 3..10 and rows 4..7 have their centres inside */
	double half[] = { 2.5, 3.5, 10.5, 3.5, 10.5, 7.5, 2.5, 7.5 };
	double half_cw[] = { 2.5, 3.5, 2.5, 7.5, 10.5, 7.5, 10.5, 3.5 };
	/* integer corners: the half-open rule takes columns 2..9, rows 3..6, exactly the area */
	double whole[] = { 2, 3, 10, 3, 10, 7, 2, 7 };
	/* partly outside the grid on every side */
	double big[] = { -5.5, -3.5, 40.5, -3.5, 40.5, 25.5, -5.5, 25.5 };
	ctw_contour c;
	(void)state;

	for (int v = 0; v < 2; v++) {
		c = poly(v ? half_cw : half, 4);
		memset(mask, 7, sizeof(mask));
		ctw_contour_fill(&c, ROWS, COLS, mask, 1);
		for (int r = 0; r < ROWS; r++)
			for (int col = 0; col < COLS; col++) {
				int in = col >= 3 && col <= 10 && r >= 4 && r <= 7;
				assert_int_equal(mask[r * COLS + col], in ? 1 : 7);
			}
		assert_int_equal(count_value(mask, sizeof(mask), 1), 32);
		assert_true(fabs(ctw_contour_area(&c) - 32.0) < 1e-12);
	}

	c = poly(whole, 4);
	memset(mask, 0, sizeof(mask));
	ctw_contour_fill(&c, ROWS, COLS, mask, 3);
	assert_int_equal(count_value(mask, sizeof(mask), 3), 32);
	assert_int_equal(mask[3 * COLS + 2], 3);
	assert_int_equal(mask[6 * COLS + 9], 3);
	assert_int_equal(mask[7 * COLS + 9], 0);
	assert_int_equal(mask[6 * COLS + 10], 0);

	c = poly(big, 4);
	memset(mask, 0, sizeof(mask));
	ctw_contour_fill(&c, ROWS, COLS, mask, 1);
	assert_int_equal(count_value(mask, sizeof(mask), 1), ROWS * COLS);

	/* entirely outside: nothing happens */
	for (int i = 0; i < 8; i += 2)
		big[i] += 100;
	memset(mask, 0, sizeof(mask));
	ctw_contour_fill(&c, ROWS, COLS, mask, 1);
	assert_int_equal(count_value(mask, sizeof(mask), 1), 0);
}

static void test_contours_fill_circle(void **state)
{
	enum { N = 360, SIZE = 100 };
	double xy[2 * N], R = 30.0;
	uint8_t *mask = calloc(SIZE * SIZE, 1);
	ctw_contour c = poly(xy, N);
	long k;
	(void)state;

	assert_non_null(mask);
	for (int i = 0; i < N; i++) {
		xy[2 * i] = 50.3 + R * cos(2 * PI * i / N);
		xy[2 * i + 1] = 49.7 + R * sin(2 * PI * i / N);
	}
	ctw_contour_fill(&c, SIZE, SIZE, mask, 1);
	k = count_value(mask, SIZE * SIZE, 1);
	print_message("circle R=30: %ld pixels, pi R^2 = %.1f (%.3f %%)\n", k, PI * R * R,
		      100 * (k - PI * R * R) / (PI * R * R));
	assert_true(fabs(k - PI * R * R) <= 0.01 * PI * R * R);
	/* the inscribed 360-gon: n/2 R^2 sin(2 pi/n) */
	assert_true(fabs(ctw_contour_area(&c) - N / 2.0 * R * R * sin(2 * PI / N)) < 1e-9);
	free(mask);

	/* clipped by the grid: a quarter of the circle, plus the half rows and columns on the
	 * two axes (about R pixels), lies in a grid whose corner is its centre */
	for (int i = 0; i < N; i++) {
		xy[2 * i] -= 50.3;
		xy[2 * i + 1] -= 49.7;
	}
	mask = calloc(SIZE * SIZE, 1);
	assert_non_null(mask);
	ctw_contour_fill(&c, SIZE, SIZE, mask, 1);
	k = count_value(mask, SIZE * SIZE, 1);
	assert_true(fabs(k - (PI * R * R / 4 + R)) <= 0.01 * PI * R * R / 4);
	free(mask);
}

static void test_contours_fill_against_brute_force(void **state)
{
	/* vertices chosen so that no pixel centre lies on an edge */
	double tri[] = { 3.3, 4.7, 40.1, 12.9, 17.6, 38.2 };
	double star[10];
	double comb[] = { 2.2, 2.3, 30.7, 2.4, 30.6, 20.1, 24.3, 20.2, 24.1, 6.6, 18.2, 6.7,
			  18.4, 20.3, 12.1, 20.4, 12.3, 6.8, 8.1, 6.9, 8.2, 20.2, 2.1, 20.3 };
	ctw_contour c;
	long k;
	(void)state;

	c = poly(tri, 3);
	k = check_against_pnpoly(&c, 48, 50);
	assert_true(k > 0);
	assert_true(fabs(k - ctw_contour_area(&c)) < 0.05 * ctw_contour_area(&c));

	/* a pentagram: the even-odd rule leaves its central pentagon empty */
	for (int i = 0; i < 5; i++) {
		star[2 * i] = 25.13 + 20 * cos(2 * PI * (2 * i) / 5 + 0.1);
		star[2 * i + 1] = 24.91 + 20 * sin(2 * PI * (2 * i) / 5 + 0.1);
	}
	c = poly(star, 5);
	k = check_against_pnpoly(&c, 50, 50);
	assert_true(k > 0);
	{
		uint8_t mask[50 * 50] = { 0 };
		ctw_contour_fill(&c, 50, 50, mask, 1);
		assert_int_equal(mask[25 * 50 + 25], 0);
	}

	/* a notch from below whose tip (15,10) touches row 10 from inside: the two crossings there
	 * cancel and the row stays filled from 5 to 24 */
	{
		double notch[] = { 5, 0, 25, 0, 25, 20, 15, 10, 5, 20 };
		uint8_t mask[30 * 30] = { 0 };
		c = poly(notch, 5);
		ctw_contour_fill(&c, 30, 30, mask, 1);
		for (int col = 0; col < 30; col++)
			assert_int_equal(mask[10 * 30 + col], col >= 5 && col < 25);
		assert_int_equal(mask[15 * 30 + 15], 0);
		assert_int_equal(mask[15 * 30 + 9], 1);
		assert_int_equal(mask[15 * 30 + 10], 0);
	}

	/* non-convex: a comb with three teeth */
	c = poly(comb, 12);
	check_against_pnpoly(&c, 25, 35);
}

/* Fills a and b (which share an edge) separately and together; no pixel may be in both, and the
 * union must have the expected pixel count. */
static void check_shared_edge(double *a, int na, double *b, int nb, int rows, int cols, long union_px)
{
	size_t n = (size_t)rows * cols;
	uint8_t *ma = calloc(n, 1), *mb = calloc(n, 1), *both = calloc(n, 1);
	ctw_contour ca = poly(a, na), cb = poly(b, nb);
	long ka, kb, overlap = 0;

	assert_true(ma && mb && both);
	ctw_contour_fill(&ca, rows, cols, ma, 1);
	ctw_contour_fill(&cb, rows, cols, mb, 1);
	ctw_contour_fill(&ca, rows, cols, both, 1);
	ctw_contour_fill(&cb, rows, cols, both, 2);
	ka = count_value(ma, n, 1);
	kb = count_value(mb, n, 1);
	for (size_t i = 0; i < n; i++)
		overlap += ma[i] && mb[i];
	assert_int_equal(overlap, 0);
	assert_int_equal(ka + kb, union_px);
	assert_int_equal(count_value(both, n, 1), ka);
	assert_int_equal(count_value(both, n, 2), kb);
	assert_int_equal(count_value(both, n, 0), (long)n - union_px);
	free(ma);
	free(mb);
	free(both);
}

static void test_contours_fill_shared_edge(void **state)
{
	/* two squares sharing the vertical edge x = 20 (pixel centres on it), a and b run in
	 * opposite directions; the union is 20 x 10 with integer corners: 200 pixels */
	double sq_a[] = { 10, 10, 20, 10, 20, 20, 10, 20 };
	double sq_b[] = { 20, 10, 20, 20, 30, 20, 30, 10 };
	/* the same squares sharing the horizontal edge y = 20 */
	double sq_c[] = { 10, 10, 20, 10, 20, 20, 10, 20 };
	double sq_d[] = { 10, 20, 20, 20, 20, 30, 10, 30 };
	/* a sloped shared edge (20,10)-(23,40) passing exactly through centres (21,20), (22,30) */
	double q_a[] = { 10, 10, 20, 10, 23, 40, 10, 40 };
	double q_b[] = { 20, 10, 30, 10, 30, 40, 23, 40 };
	/* half-integer squares sharing x = 20.5 (no centre on it): union 20 x 10 centres */
	double h_a[] = { 10.5, 10.5, 20.5, 10.5, 20.5, 20.5, 10.5, 20.5 };
	double h_b[] = { 30.5, 10.5, 30.5, 20.5, 20.5, 20.5, 20.5, 10.5 };
	/* a sloped edge (0.2,0)-(32.2,40) through centres (1,1), (5,6), (9,11)...: evaluated from
	 * either end in floating point, the crossings differ in the last bit, on either side of
	 * those integers; the union is the 40 x 40 square */
	double s_a[] = { 0, 0, 0.2, 0, 32.2, 40, 0, 40 };
	double s_b[] = { 0.2, 0, 40, 0, 40, 40, 32.2, 40 };
	(void)state;

	check_shared_edge(s_a, 4, s_b, 4, 45, 45, 1600);
	check_shared_edge(sq_a, 4, sq_b, 4, 40, 40, 200);
	check_shared_edge(sq_c, 4, sq_d, 4, 40, 40, 200);
	check_shared_edge(q_a, 4, q_b, 4, 50, 50, 600);
	check_shared_edge(h_a, 4, h_b, 4, 40, 40, 200);
	/* a fan of triangles round a centre with sloped, irrational shared edges tiles the disc */
	{
		enum { K = 7 };
		double ring[2 * K], tri[K][6], cx = 25.0, cy = 25.0;
		uint8_t *sum = calloc(50 * 50, 1);
		double all[2 * K];
		uint8_t *ref = calloc(50 * 50, 1);
		ctw_contour whole = poly(all, K);
		assert_true(sum && ref);
		for (int i = 0; i < K; i++) {
			ring[2 * i] = cx + 17 * cos(2 * PI * i / K);
			ring[2 * i + 1] = cy + 17 * sin(2 * PI * i / K);
			all[2 * i] = ring[2 * i];
			all[2 * i + 1] = ring[2 * i + 1];
		}
		for (int i = 0; i < K; i++) {
			int j = (i + 1) % K;
			double t[6] = { cx, cy, ring[2 * i], ring[2 * i + 1], ring[2 * j], ring[2 * j + 1] };
			ctw_contour c;
			uint8_t *m = calloc(50 * 50, 1);
			assert_non_null(m);
			memcpy(tri[i], t, sizeof(t));
			c = poly(tri[i], 3);
			ctw_contour_fill(&c, 50, 50, m, 1);
			for (int p = 0; p < 50 * 50; p++)
				sum[p] += m[p];
			free(m);
		}
		ctw_contour_fill(&whole, 50, 50, ref, 1);
		for (int p = 0; p < 50 * 50; p++)
			assert_int_equal(sum[p], ref[p]);
		free(sum);
		free(ref);
	}
}

static void test_contours_area(void **state)
{
	double rect[] = { 1, 2, 9, 2, 9, 6, 1, 6 };         /* 8 x 4 */
	double rect_cw[] = { 1, 2, 1, 6, 9, 6, 9, 2 };
	double tri[] = { 0, 0, 4, 0, 0, 3 };                /* 6 */
	double ell[] = { 0, 0, 6, 0, 6, 2, 2, 2, 2, 5, 0, 5 }; /* L: 12 + 6 */
	double far[] = { 1e5, 1e5, 1e5 + 3, 1e5, 1e5 + 3, 1e5 + 0.5, 1e5, 1e5 + 0.5 };
	double closed[] = { 0, 0, 4, 0, 0, 3, 0, 0 };        /* first point repeated: still 6 */
	double line[] = { 0, 0, 1, 1, 2, 2 };
	ctw_contour c;
	(void)state;
	NEED_SHARED(SCD_CONTOURS);

	c = poly(rect, 4);
	assert_true(fabs(ctw_contour_area(&c) - 32) < 1e-12);
	c = poly(rect_cw, 4);
	assert_true(fabs(ctw_contour_area(&c) - 32) < 1e-12);
	c = poly(tri, 3);
	assert_true(fabs(ctw_contour_area(&c) - 6) < 1e-12);
	c = poly(ell, 6);
	assert_true(fabs(ctw_contour_area(&c) - 18) < 1e-12);
	c = poly(far, 4);
	assert_true(fabs(ctw_contour_area(&c) - 1.5) < 1e-9);
	c = poly(closed, 4);
	assert_true(fabs(ctw_contour_area(&c) - 6) < 1e-12);
	c = poly(line, 3);
	assert_true(ctw_contour_area(&c) == 0);
	c = poly(tri, 2);
	assert_true(ctw_contour_area(&c) == 0);
}

/* ---- the real Sunnybrook contours ---------------------------------------------------------- */

static int phase_of(int64_t instance)
{
	return (int)((instance - 1) % 20) + 1;
}

typedef struct scd_case {
	const char *id;
	int n_endo, n_epi, es_phase, ed_phase; /* ED: the phase with both contours */
} scd_case;

static void check_case(const scd_case *k)
{
	enum { ROWS = 256, COLS = 256 };
	char dir[512];
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_contour_set *s;
	uint8_t *mi = malloc(ROWS * COLS), *mo = malloc(ROWS * COLS);
	int n_endo = 0, n_epi = 0, n_es = 0, n_ed = 0;
	double worst = 0, worst_enclosed = 1, ed_area = 0, es_area = 0;
	long ed_px = 0;
	const char *worst_path = "";

	assert_true(ctx && mi && mo);
	snprintf(dir, sizeof(dir), "%s/%s", SCD_CONTOURS, k->id);
	assert_int_equal(ctw_contours_read_dir(ctx, dir, &s), CTW_OK);
	assert_int_equal(s->n_skipped, 0);
	for (int i = 0; i < s->n; i++) {
		const ctw_contour *c = &s->c[i];
		double area = ctw_contour_area(c), err;
		long px;
		char name[64];

		if (i > 0)
			assert_true(c->instance > s->c[i - 1].instance ||
				    (c->instance == s->c[i - 1].instance && c->kind > s->c[i - 1].kind));
		snprintf(name, sizeof(name), "IM-0001-%04lld-%ccontour-manual.txt", (long long)c->instance,
			 c->kind == CTW_CONTOUR_ENDO ? 'i' : 'o');
		assert_non_null(strstr(c->path, name));
		assert_true(c->n >= 3);
		for (int p = 0; p < 2 * c->n; p++)
			assert_true(c->xy[p] > 0 && c->xy[p] < 256);

		memset(mi, 0, ROWS * COLS);
		ctw_contour_fill(c, ROWS, COLS, mi, 1);
		px = count_value(mi, ROWS * COLS, 1);
		err = fabs(px - area) / area;
		if (err > worst) {
			worst = err;
			worst_path = c->path;
		}
		if (c->kind == CTW_CONTOUR_ENDO) {
			n_endo++;
			if (phase_of(c->instance) == k->ed_phase) {
				n_ed++;
				ed_area += area;
				ed_px += px;
			} else {
				assert_int_equal(phase_of(c->instance), k->es_phase);
				n_es++;
				es_area += area;
			}
		} else {
			long in_i = 0, in_both = 0;
			double f;
			n_epi++;
			assert_int_equal(phase_of(c->instance), k->ed_phase);
			/* the i-contour of the same instance comes just before */
			assert_true(i > 0);
			assert_int_equal(s->c[i - 1].instance, c->instance);
			assert_int_equal(s->c[i - 1].kind, CTW_CONTOUR_ENDO);
			memset(mo, 0, ROWS * COLS);
			ctw_contour_fill(&s->c[i - 1], ROWS, COLS, mo, 1);
			for (int p = 0; p < ROWS * COLS; p++) {
				in_i += mo[p];
				in_both += mo[p] && mi[p];
			}
			f = (double)in_both / (double)in_i;
			if (f < worst_enclosed)
				worst_enclosed = f;
			assert_true(f >= 0.98);
			assert_true(area > ctw_contour_area(&s->c[i - 1]));
		}
	}
	print_message("%s: %d contours (%d i, %d o), worst |fill - area|/area %.2f %% (%s), "
		      "worst i-in-o %.2f %%, ED (phase %d) i-area %.1f px^2 shoelace / %ld px filled, "
		      "ES (phase %d) %.1f\n",
		      k->id, s->n, n_endo, n_epi, 100 * worst, strrchr(worst_path, '/') + 1,
		      100 * worst_enclosed, k->ed_phase, ed_area, ed_px, k->es_phase, es_area);
	assert_int_equal(n_endo, k->n_endo);
	assert_int_equal(n_epi, k->n_epi);
	assert_int_equal(n_ed, k->n_endo / 2);
	assert_int_equal(n_es, k->n_endo / 2);
	assert_true(worst <= 0.03);
	assert_true(ed_area > es_area); /* SOURCES.md §1: the phase with both contours is ED */
	ctw_contour_set_free(ctx, s);
	assert_int_equal(ctw_errcode(ctx), CTW_OK);
	ctw_ctx_free(ctx);
	free(mi);
	free(mo);
}

static void test_contours_sunnybrook_hf_i_1(void **state)
{
	const scd_case k = { "SC-HF-I-1", 18, 9, 8, 19 };
	(void)state;
	NEED_SHARED(SCD_CONTOURS);
	check_case(&k);
}

static void test_contours_sunnybrook_hf_i_4(void **state)
{
	const scd_case k = { "SC-HF-I-4", 20, 10, 7, 20 };
	(void)state;
	NEED_SHARED(SCD_CONTOURS);
	check_case(&k);
}

static void test_contours_sunnybrook_both_cases(void **state)
{
	/* the parent of both cases: 38 i + 19 o, no instance appears in both */
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_contour_set *s;
	(void)state;
	NEED_SHARED(SCD_CONTOURS);
	assert_int_equal(ctw_contours_read_dir(ctx, SCD_CONTOURS "/", &s), CTW_OK);
	assert_int_equal(s->n, 57);
	ctw_contour_set_free(ctx, s);
	ctw_contour_set_free(ctx, NULL);
	ctw_ctx_free(ctx);
}

/* ---- bad inputs ----------------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *fp;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}

/* Writes text as the contour file name into a new directory below base and reads that directory;
 * checks the status and that the message holds each of the given fragments (NULL-terminated). */
static void check_bad(ctw_ctx *ctx, const char *base, const char *name, const char *text, int want,
		      ...)
{
	static int serial;
	char dir[512];
	ctw_contour_set *s = (ctw_contour_set *)&s;
	const char *frag;
	va_list ap;

	snprintf(dir, sizeof(dir), "%s/case%d", base, serial++);
	assert_int_equal(mkdir(dir, 0777), 0);
	if (name)
		write_file(dir, name, text);
	assert_int_equal(ctw_contours_read_dir(ctx, dir, &s), want);
	assert_null(s);
	assert_int_equal(ctw_errcode(ctx), want);
	va_start(ap, want);
	while ((frag = va_arg(ap, const char *)) != NULL) {
		if (!strstr(ctw_errmsg(ctx), frag))
			fail_msg("message '%s' lacks '%s'", ctw_errmsg(ctx), frag);
	}
	va_end(ap);
	ctw_clear_error(ctx);
}

static void test_contours_bad_inputs(void **state)
{
	char base[] = "/tmp/ctw_contours_XXXXXX", dir[600];
	const char *f = "IM-0001-0048-icontour-manual.txt";
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_contour_set *s;
	(void)state;

	assert_non_null(ctx);
	assert_non_null(mkdtemp(base));
	check_bad(ctx, base, f, "", CTW_ERR_FORMAT, f, "empty", NULL);
	check_bad(ctx, base, f, "\n  \n\r\n", CTW_ERR_FORMAT, f, "empty", NULL);
	check_bad(ctx, base, f, "1 2\n3 4\n5\n6 7\n", CTW_ERR_FORMAT, f, "line 3", NULL);
	check_bad(ctx, base, f, "1 2\n3 4\n5 \n6 7\n", CTW_ERR_FORMAT, f, "line 3", NULL);
	check_bad(ctx, base, f, "1 2\nnan 4\n5 6\n", CTW_ERR_FORMAT, f, "line 2", "finite", NULL);
	check_bad(ctx, base, f, "1 2\n3 inf\n5 6\n", CTW_ERR_FORMAT, f, "line 2", "finite", NULL);
	check_bad(ctx, base, f, "1 2\n0x3 4\n5 6\n", CTW_ERR_FORMAT, f, "line 2", "two numbers", NULL);
	check_bad(ctx, base, f, "1 2\n3 4\n5 6\nhello world\n", CTW_ERR_FORMAT, f, "line 4", NULL);
	check_bad(ctx, base, f, "1 2\n3 4\n5 6 7\n", CTW_ERR_FORMAT, f, "line 3", NULL);
	check_bad(ctx, base, f, "1 2\n3,4\n5 6\n", CTW_ERR_FORMAT, f, "line 2", NULL);
	check_bad(ctx, base, f, "1 2\n3 4x\n5 6\n", CTW_ERR_FORMAT, f, "line 2", NULL);
	check_bad(ctx, base, f, "1 2\n3 4\n", CTW_ERR_FORMAT, f, "2 distinct points", NULL);
	check_bad(ctx, base, f, "1 2\n3 4e6\n5 6\n", CTW_ERR_FORMAT, f, "line 2", "range", NULL);
	check_bad(ctx, base, f, "1 2\n-100001 4\n5 6\n", CTW_ERR_FORMAT, f, "line 2", "range", NULL);
	check_bad(ctx, base, f, "1 2\n3 1e400\n5 6\n", CTW_ERR_FORMAT, f, "line 2", NULL);
	check_bad(ctx, base, "IM-icontour-manual.txt", "1 2\n3 4\n5 6\n", CTW_ERR_FORMAT,
		  "IM-icontour-manual.txt", "instance", NULL);
	/* issue 12 item 8: names meant as contour files but not following the pattern */
	check_bad(ctx, base, "IM-0001-0048-icontour.txt", "1 2\n3 4\n5 6\n", CTW_ERR_FORMAT,
		  "IM-0001-0048-icontour.txt", "named like a contour file", NULL);
	check_bad(ctx, base, "IM-0001-0048-icontour-manual.TXT", "1 2\n3 4\n5 6\n", CTW_ERR_FORMAT,
		  "IM-0001-0048-icontour-manual.TXT", "named like a contour file", NULL);
	check_bad(ctx, base, "IM-0001-0048-OContour-manual.txt", "1 2\n3 4\n5 6\n", CTW_ERR_FORMAT,
		  "IM-0001-0048-OContour-manual.txt", "named like a contour file", NULL);
	/* repeated points are one: three copies of a point and a closing repeat */
	check_bad(ctx, base, f, "1 2\n1 2\n1 2\n", CTW_ERR_FORMAT, f, "only 1 distinct point", NULL);
	check_bad(ctx, base, f, "1 2\n3 4\n1 2\n", CTW_ERR_FORMAT, f, "only 2 distinct points", NULL);
	{ /* more points than any expert contour: refused (bounds the self-intersection test) */
		size_t cap = (size_t)(CTW_CONTOUR_MAX_POINTS + 1) * 24 + 1, used = 0;
		char *big = malloc(cap);
		assert_non_null(big);
		for (int i = 0; i <= CTW_CONTOUR_MAX_POINTS; i++)
			used += (size_t)snprintf(big + used, cap - used, "%d %d\n", i, i % 7);
		check_bad(ctx, base, f, big, CTW_ERR_FORMAT, f, "more than", NULL);
		free(big);
	}
	/* a directory without contour files: other files (a papillary contour) are not enough */
	check_bad(ctx, base, "IM-0001-0048-p1contour-manual.txt", "1 2\n3 4\n5 6\n", CTW_ERR_FORMAT,
		  "no contour file", NULL);
	check_bad(ctx, base, NULL, NULL, CTW_ERR_FORMAT, "no contour file", NULL);
	/* a missing directory, a file given as the directory */
	snprintf(dir, sizeof(dir), "%s/missing", base);
	s = (ctw_contour_set *)&s;
	assert_int_equal(ctw_contours_read_dir(ctx, dir, &s), CTW_ERR_IO);
	assert_null(s);
	assert_non_null(strstr(ctw_errmsg(ctx), dir));
	snprintf(dir, sizeof(dir), "%s/case0/%s", base, f);
	assert_int_equal(ctw_contours_read_dir(ctx, dir, &s), CTW_ERR_IO);

	/* two files for the same instance and kind, in different subdirectories */
	snprintf(dir, sizeof(dir), "%s/dup", base);
	assert_int_equal(mkdir(dir, 0777), 0);
	snprintf(dir, sizeof(dir), "%s/dup/a", base);
	assert_int_equal(mkdir(dir, 0777), 0);
	write_file(dir, f, "1 2\n3 4\n5 6\n");
	snprintf(dir, sizeof(dir), "%s/dup/b", base);
	assert_int_equal(mkdir(dir, 0777), 0);
	write_file(dir, f, "1 2\n3 4\n5 6\n");
	snprintf(dir, sizeof(dir), "%s/dup", base);
	assert_int_equal(ctw_contours_read_dir(ctx, dir, &s), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "instance 48"));

	assert_int_equal(ctw_rm_rf(ctx, base), CTW_OK);
	ctw_ctx_free(ctx);
}

static void test_contours_lenient_layout(void **state)
{
	/* CRLF, tabs, blank lines, no final newline, nested directories, other files skipped */
	char base[] = "/tmp/ctw_contours_XXXXXX", dir[600];
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_contour_set *s;
	(void)state;

	assert_non_null(ctx);
	assert_non_null(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/x/y", base);
	assert_int_equal(ctw_mkdir_p(ctx, dir), CTW_OK);
	write_file(dir, "IM-0001-0120-ocontour-manual.txt", "1.5\t2.5\r\n\r\n 10.5  2.5 \r\n10.5 8.5");
	write_file(dir, "IM-0001-0120-icontour-manual.txt", "2 3\n9 3\n9 8\n\n");
	write_file(dir, "IM-0001-0120-p1contour-manual.txt", "garbage");
	write_file(base, "IM-0001-0007-icontour-auto.txt", "0 0\n1e5 0\n0 -1e5\n");
	write_file(base, "notes.txt", "x");
	assert_int_equal(ctw_contours_read_dir(ctx, base, &s), CTW_OK);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->n_skipped, 2);
	assert_int_equal(s->n_unrelated, 1); /* notes.txt, not the papillary contour */
	assert_non_null(strstr(s->unrelated, "notes.txt"));
	assert_null(strstr(s->unrelated, "p1contour"));
	assert_int_equal(s->c[0].instance, 7);
	assert_int_equal(s->c[1].instance, 120);
	assert_int_equal(s->c[1].kind, CTW_CONTOUR_ENDO);
	assert_int_equal(s->c[2].kind, CTW_CONTOUR_EPI);
	assert_int_equal(s->c[2].n, 3);
	assert_true(s->c[2].xy[0] == 1.5 && s->c[2].xy[1] == 2.5 && s->c[2].xy[5] == 8.5);
	assert_true(fabs(ctw_contour_area(&s->c[2]) - 27) < 1e-12);
	assert_true(fabs(ctw_contour_area(&s->c[0]) - 5e9) < 1);
	ctw_contour_set_free(ctx, s);
	assert_int_equal(ctw_rm_rf(ctx, base), CTW_OK);
	ctw_ctx_free(ctx);
}

/* ---- checks (issue 12 item 8) ------------------------------------------------------------------ */

static void test_contours_self_intersection(void **state)
{
	double sq[] = { 0, 0, 10, 0, 10, 10, 0, 10 };
	double bow[] = { 0, 0, 10, 10, 10, 0, 0, 10 };       /* a bow tie: edges 0 and 2 cross */
	double touch[] = { 0, 0, 10, 0, 5, 5, 10, 10, 0, 10, 5, 5 }; /* vertex 2 = vertex 5 */
	double spike[] = { 0, 0, 10, 0, 10, 10, 5, 10, 5, 20, 5, 10, 0, 10 }; /* there and back */
	ctw_contour c;
	double x, y;
	(void)state;

	c = poly(sq, 4);
	assert_false(ctw_contour_self_intersects(&c, &x, &y));
	c = poly(bow, 4);
	assert_true(ctw_contour_self_intersects(&c, &x, &y));
	c = poly(touch, 6);
	assert_true(ctw_contour_self_intersects(&c, &x, &y));
	c = poly(spike, 7);
	assert_true(ctw_contour_self_intersects(&c, &x, &y));
	/* a fine circle of 4000 points is simple */
	{
		static double circ[2 * 4000];
		for (int i = 0; i < 4000; i++) {
			circ[2 * i] = 100 + 50 * cos(2 * PI * i / 4000);
			circ[2 * i + 1] = 100 + 50 * sin(2 * PI * i / 4000);
		}
		c = poly(circ, 4000);
		assert_false(ctw_contour_self_intersects(&c, &x, &y));
	}
}

/* Circles of radius r centred at (cx, cy), 360 points. */
static void circle(double *xy, double cx, double cy, double r)
{
	for (int i = 0; i < 360; i++) {
		xy[2 * i] = cx + r * cos(2 * PI * i / 360);
		xy[2 * i + 1] = cy + r * sin(2 * PI * i / 360);
	}
}

static void test_contours_pair_measure(void **state)
{
	static double en[720], ep[720];
	ctw_contour a, b;
	ctw_contour_pair m;
	ctw_ctx *ctx = ctw_ctx_new();
	(void)state;

	assert_non_null(ctx);
	/* concentric: blood radius 20 px, epicardium 28 px, 1.5 mm pixels: a 12 mm wall everywhere */
	circle(en, 100, 100, 20);
	circle(ep, 100, 100, 28);
	a = poly(en, 360), b = poly(ep, 360);
	assert_int_equal(ctw_contour_pair_measure(ctx, &a, &b, 200, 200, 1.5, 1.5, &m), CTW_OK);
	assert_true(m.n_blood > 1200 && m.n_outside == 0);
	assert_true(fabs(m.wall_min - 12) < 0.05 && fabs(m.wall_max - 12) < 0.05 && fabs(m.wall_mean - 12) < 0.05);
	/* the epicardium shifted by 10 px to +x: 20 mm more on the right, 8 mm past on the left */
	circle(ep, 110, 100, 28);
	assert_int_equal(ctw_contour_pair_measure(ctx, &a, &b, 200, 200, 1.5, 1.5, &m), CTW_OK);
	assert_true(m.n_outside > 0 && (double)m.n_outside / (double)m.n_blood < 0.1);
	assert_true(fabs(m.wall[0] - 27) < 0.1);   /* +x: 28 + 10 - 20 px */
	assert_true(fabs(m.wall[36] + 3) < 0.1);   /* -x: 28 - 10 - 20 px */
	assert_true(fabs(m.wall_max - 27) < 0.1 && fabs(m.wall_min + 3) < 0.1);
	/* anisotropic pixels: 1 mm along x, 2 mm along y */
	circle(ep, 100, 100, 28);
	assert_int_equal(ctw_contour_pair_measure(ctx, &a, &b, 200, 200, 1.0, 2.0, &m), CTW_OK);
	assert_true(fabs(m.wall[0] - 8) < 0.05 && fabs(m.wall[18] - 16) < 0.05);
	/* disjoint: every blood pixel outside (the rays then measure nothing useful) */
	circle(ep, 170, 170, 20);
	assert_int_equal(ctw_contour_pair_measure(ctx, &a, &b, 200, 200, 1.0, 1.0, &m), CTW_OK);
	assert_true(m.n_blood > 0 && m.n_outside == m.n_blood);
	ctw_ctx_free(ctx);
}

static void test_warn_strict(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	(void)state;

	assert_non_null(ctx);
	assert_int_equal(ctw_ctx_n_warnings(ctx), 0);
	assert_int_equal(ctw_warn(ctx, "a.txt", "odd %d", 1), CTW_OK);
	ctw_log(ctx, CTW_LOG_WARN, "b.txt", "odd %d", 2);
	ctw_log(ctx, CTW_LOG_INFO, "c.txt", "fine");
	assert_int_equal(ctw_ctx_n_warnings(ctx), 2);
	assert_string_equal(ctw_ctx_warning(ctx, 0), "a.txt: odd 1");
	assert_string_equal(ctw_ctx_warning(ctx, 1), "b.txt: odd 2");
	assert_null(ctw_ctx_warning(ctx, 2));
	ctw_ctx_set_strict(ctx, 1);
	assert_int_equal(ctw_warn(ctx, "d.txt", "odd %d", 3), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "d.txt: odd 3"));
	assert_non_null(strstr(ctw_errmsg(ctx), "--strict"));
	for (int i = 0; i < 100; i++)
		ctw_log(ctx, CTW_LOG_WARN, NULL, "%d", i);
	assert_int_equal(ctw_ctx_n_warnings(ctx), 102);
	assert_non_null(ctw_ctx_warning(ctx, CTW_MAX_KEPT_WARNINGS - 1));
	assert_null(ctw_ctx_warning(ctx, CTW_MAX_KEPT_WARNINGS));
	ctw_ctx_free(ctx);
}

/* ---- mask outlines and APD (evaluate --contours) ---------------------------------------------- */

static void outline_of(ctw_ctx *ctx, const uint8_t *m, int rows, int cols, ctw_contour *o)
{
	assert_int_equal(ctw_mask_outline(ctx, m, rows, cols, o), CTW_OK);
}

static void test_mask_outline(void **state)
{
	static uint8_t m[64 * 64];
	static double xy[720];
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_contour o, c;
	(void)state;

	assert_non_null(ctx);
	/* empty */
	outline_of(ctx, m, 5, 4, &o);
	assert_int_equal(o.n, 0);
	assert_null(o.xy);
	/* one pixel (column 2, row 1): a diamond through the four edge midpoints, area 1/2 */
	memset(m, 0, sizeof(m));
	m[1 * 4 + 2] = 1;
	outline_of(ctx, m, 5, 4, &o);
	assert_int_equal(o.n, 4);
	assert_true(fabs(ctw_contour_area(&o) - 0.5) < 1e-12);
	for (int k = 0; k < 4; k++)
		assert_true(fabs(fabs(o.xy[2 * k] - 2) + fabs(o.xy[2 * k + 1] - 1) - 0.5) < 1e-12);
	ctw_free(ctx, o.xy);
	/* a 3 x 2 block at the border of the slice (the padding closes it): 10 vertices, area 6 - 4/8 */
	memset(m, 0, sizeof(m));
	for (int r = 0; r < 2; r++)
		for (int col = 0; col < 3; col++)
			m[r * 4 + col] = 1;
	outline_of(ctx, m, 5, 4, &o);
	assert_int_equal(o.n, 10);
	assert_true(fabs(ctw_contour_area(&o) - 5.5) < 1e-12);
	ctw_free(ctx, o.xy);
	/* a 7 x 7 square ring round a 3 x 3 hole: the outer loop is the largest */
	memset(m, 0, sizeof(m));
	for (int r = 1; r < 8; r++)
		for (int col = 1; col < 8; col++)
			m[r * 10 + col] = !(r >= 3 && r <= 5 && col >= 3 && col <= 5);
	outline_of(ctx, m, 10, 10, &o);
	assert_true(fabs(ctw_contour_area(&o) - 48.5) < 1e-12);
	ctw_free(ctx, o.xy);
	/* two pixels touching at a corner are joined: 2 x 1/2 - 2/8 + 3/4 */
	memset(m, 0, sizeof(m));
	m[1 * 5 + 1] = m[2 * 5 + 2] = 1;
	outline_of(ctx, m, 5, 5, &o);
	assert_true(fabs(ctw_contour_area(&o) - 1.5) < 1e-12);
	ctw_free(ctx, o.xy);
	/* the other diagonal too */
	memset(m, 0, sizeof(m));
	m[1 * 5 + 2] = m[2 * 5 + 1] = 1;
	outline_of(ctx, m, 5, 5, &o);
	assert_true(fabs(ctw_contour_area(&o) - 1.5) < 1e-12);
	ctw_free(ctx, o.xy);
	/* a filled circle of 20 px: its outline vertices lie within half a pixel of the circle (the
	 * mean distance about a quarter pixel), its area is the disc's */
	memset(m, 0, sizeof(m));
	circle(xy, 31.3, 30.6, 20);
	c = poly(xy, 360);
	ctw_contour_fill(&c, 64, 64, m, 1);
	outline_of(ctx, m, 64, 64, &o);
	assert_true(ctw_contour_apd(&o, &c, 1, 1) < 0.3);
	assert_true(ctw_contour_apd(&c, &o, 1, 1) < 0.3);
	assert_true(fabs(ctw_contour_area(&o) - PI * 400) < 0.01 * PI * 400);
	ctw_free(ctx, o.xy);
	ctw_ctx_free(ctx);
}

static void test_contour_apd(void **state)
{
	static double a[720], b[720];
	double sq[8] = { 0, 0, 10, 0, 10, 10, 0, 10 }, pts[6] = { 5, 2, 5, -3, 13, 13 };
	ctw_contour ca, cb, s = poly(sq, 4), p = poly(pts, 3), none = poly(NULL, 0);
	(void)state;

	/* concentric circles of 20 and 23 px on 1.5 mm pixels: 4.5 mm both ways */
	circle(a, 50, 50, 20);
	circle(b, 50, 50, 23);
	ca = poly(a, 360), cb = poly(b, 360);
	assert_true(fabs(ctw_contour_apd(&ca, &cb, 1.5, 1.5) - 4.5) < 0.01);
	assert_true(fabs(ctw_contour_apd(&cb, &ca, 1.5, 1.5) - 4.5) < 0.01);
	/* the perpendicular foot on an edge, an edge's end, anisotropic pixels (1 x 2 mm):
	 * (5, 2) -> 2 px in y = 4 mm; (5, -3) -> 6 mm; (13, 13) -> the corner, sqrt(3^2 + 6^2) */
	assert_true(fabs(ctw_contour_apd(&p, &s, 1, 2) - (4 + 6 + sqrt(45)) / 3) < 1e-12);
	/* no points */
	assert_true(isnan(ctw_contour_apd(&none, &s, 1, 1)));
	assert_true(isnan(ctw_contour_apd(&p, &none, 1, 1)));
}

static void test_mask_outline_alloc_faults(void **state)
{
	static uint8_t m[20 * 20];
	long n;
	(void)state;

	for (int r = 5; r < 12; r++)
		for (int col = 4; col < 15; col++)
			m[r * 20 + col] = 1;
	for (n = 2;; n++) {
		fault_alloc f;
		ctw_ctx *ctx = fault_ctx(&f, n);
		ctw_contour o;
		int ret;
		assert_non_null(ctx);
		ret = ctw_mask_outline(ctx, m, 20, 20, &o);
		if (ret == CTW_OK) {
			assert_true(o.n == 36);
			ctw_free(ctx, o.xy);
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			break;
		}
		assert_int_equal(ret, CTW_ERR_NOMEM);
		assert_int_equal(o.n, 0);
		ctw_ctx_free(ctx);
		assert_int_equal(f.live, 0);
		assert_true(n < 20);
	}
}

/* ---- allocation faults ------------------------------------------------------------------------ */

static void test_contours_alloc_faults(void **state)
{
	long n;
	(void)state;
	NEED_SHARED(SCD_CONTOURS);

	for (n = 2;; n++) { /* allocation 1 is the context itself */
		fault_alloc f;
		ctw_ctx *ctx = fault_ctx(&f, n);
		ctw_contour_set *s = (ctw_contour_set *)&s;
		int ret;

		assert_non_null(ctx);
		ret = ctw_contours_read_dir(ctx, SCD_CONTOURS "/SC-HF-I-1", &s);
		if (ret == CTW_OK) {
			assert_int_equal(s->n, 27);
			ctw_contour_set_free(ctx, s);
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			break;
		}
		assert_int_equal(ret, CTW_ERR_NOMEM);
		assert_null(s);
		assert_int_equal(ctw_errcode(ctx), CTW_ERR_NOMEM);
		assert_non_null(strstr(ctw_errmsg(ctx), "out of memory"));
		ctw_ctx_free(ctx);
		assert_int_equal(f.live, 0);
		assert_true(n < 1000);
	}
	print_message("ctw_contours_read_dir on SC-HF-I-1: %ld allocations, each failure checked\n",
		      n - 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contours_fill_rectangle),
		cmocka_unit_test(test_contours_fill_circle),
		cmocka_unit_test(test_contours_fill_against_brute_force),
		cmocka_unit_test(test_contours_fill_shared_edge),
		cmocka_unit_test(test_contours_area),
		cmocka_unit_test(test_contours_sunnybrook_hf_i_1),
		cmocka_unit_test(test_contours_sunnybrook_hf_i_4),
		cmocka_unit_test(test_contours_sunnybrook_both_cases),
		cmocka_unit_test(test_contours_bad_inputs),
		cmocka_unit_test(test_contours_lenient_layout),
		cmocka_unit_test(test_contours_alloc_faults),
		cmocka_unit_test(test_contours_self_intersection),
		cmocka_unit_test(test_contours_pair_measure),
		cmocka_unit_test(test_warn_strict),
		cmocka_unit_test(test_mask_outline),
		cmocka_unit_test(test_contour_apd),
		cmocka_unit_test(test_mask_outline_alloc_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
