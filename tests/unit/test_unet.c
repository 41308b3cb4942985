/* test_unet.c: the segmenter's C inference (segment/unet.c) on tiny networks written here in the
 * file format of segment/train/ARCHITECTURE.md with pseudo-random weights, against a direct
 * nested-loop reference (double sums, no im2col, no BLAS) computed here; the same bytes for 1,
 * 2 and 3 threads; the load errors (missing, truncated, wrong magic, NaN weight, bad header,
 * wrong checksum: CTW_ERR_INTERNAL naming the file and both checksums); bad sizes; cancellation;
 * every allocation failure without a leak. Needs no torch (t190 compares with PyTorch). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctw.h"
#include "fault_alloc.h"
#include "sha256.h"
#include "unet.h"

/* ---- a tiny network: shape, weights in file order, the file ---------------------------------- */

typedef struct tnet {
	int L, ncls, ch[8];
	float mm;
	size_t np;
	float *p; /* file order (ARCHITECTURE.md) */
	unsigned char *file;
	size_t nfile, hlen;
} tnet;

static uint32_t rng_state;

static float rnd(void) /* uniform in [-1, 1) */
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (float)((double)(rng_state >> 8) / 8388608.0 - 1.0);
}

static size_t conv_n(int cin, int cout, int k)
{
	return (size_t)cin * cout * k * k + (size_t)cout;
}

static size_t count(const tnet *t)
{
	size_t n = 0;
	int i;
	for (i = 0; i < t->L; i++)
		n += conv_n(i ? t->ch[i - 1] : 1, t->ch[i], 3) + conv_n(t->ch[i], t->ch[i], 3);
	for (i = t->L - 2; i >= 0; i--)
		n += conv_n(t->ch[i + 1], t->ch[i], 2) + conv_n(2 * t->ch[i], t->ch[i], 3) +
		     conv_n(t->ch[i], t->ch[i], 3);
	return n + conv_n(t->ch[0], t->ncls, 1);
}

static void put32(unsigned char *d, uint32_t v)
{
	d[0] = (unsigned char)v;
	d[1] = (unsigned char)(v >> 8);
	d[2] = (unsigned char)(v >> 16);
	d[3] = (unsigned char)(v >> 24);
}

/* Makes the network and its file bytes (header padded to hpad extra bytes). Weights are scaled
 * by 1/sqrt(fan-in) so the activations stay O(1). */
static void tnet_make(tnet *t, int L, const int *ch, int ncls, uint32_t seed, int hpad)
{
	size_t k, i, pos = 0;
	int l;
	memset(t, 0, sizeof(*t));
	t->L = L;
	t->ncls = ncls;
	t->mm = 1.6f;
	for (l = 0; l < L; l++)
		t->ch[l] = ch[l];
	t->np = count(t);
	t->p = malloc(t->np * sizeof(float));
	rng_state = seed;
	/* a crude fan-in scale per tensor: walk the same order as count() */
#define FILL(cin, cout, kk)                                                                  \
	do {                                                                                 \
		size_t nw = (size_t)(cin) * (cout) * (kk) * (kk);                            \
		float s = 1.5f / sqrtf((float)((cin) * (kk) * (kk)));                        \
		for (k = 0; k < nw; k++)                                                     \
			t->p[pos++] = s * rnd();                                             \
		for (k = 0; k < (size_t)(cout); k++)                                         \
			t->p[pos++] = 0.1f * rnd();                                          \
	} while (0)
	for (l = 0; l < L; l++) {
		FILL(l ? ch[l - 1] : 1, ch[l], 3);
		FILL(ch[l], ch[l], 3);
	}
	for (l = L - 2; l >= 0; l--) {
		FILL(ch[l + 1], ch[l], 2);
		FILL(2 * ch[l], ch[l], 3);
		FILL(ch[l], ch[l], 3);
	}
	FILL(ch[0], ncls, 1);
#undef FILL
	assert_int_equal(pos, t->np);
	t->hlen = 28 + 4 * (size_t)L + (size_t)hpad;
	t->nfile = t->hlen + 4 * t->np;
	t->file = calloc(1, t->nfile);
	memcpy(t->file, "CTWUNET1", 8);
	put32(t->file + 8, (uint32_t)t->hlen);
	put32(t->file + 12, (uint32_t)L);
	put32(t->file + 16, 1);
	put32(t->file + 20, (uint32_t)ncls);
	memcpy(t->file + 24, &t->mm, 4); /* the test machine is little endian (x86-64) */
	for (l = 0; l < L; l++)
		put32(t->file + 28 + 4 * l, (uint32_t)ch[l]);
	for (i = 0; i < t->np; i++)
		memcpy(t->file + t->hlen + 4 * i, &t->p[i], 4);
}

static void tnet_free(tnet *t)
{
	free(t->p);
	free(t->file);
}

static char *tmp_path(const char *name)
{
	static char buf[4][256];
	static int k;
	char *b = buf[k++ % 4];
	snprintf(b, 256, "/tmp/ctw_test_unet_%d_%s", (int)getpid(), name);
	return b;
}

static void write_bytes(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* ---- the reference: direct loops in double --------------------------------------------------- */

typedef struct map {
	int c, h, w;
	double *v;
} map;

static map map_new(int c, int h, int w)
{
	map m = { c, h, w, calloc((size_t)c * h * w, sizeof(double)) };
	return m;
}

#define AT(m, ch, y, x) ((m).v[((size_t)(ch) * (m).h + (size_t)(y)) * (m).w + (size_t)(x)])

/* 3x3 convolution, padding 1, bias, ReLU; weights (cout, cin, 3, 3) at *pp, advanced. */
static map ref_conv3(map in, int cout, const float **pp)
{
	const float *w = *pp, *b = w + (size_t)cout * in.c * 9;
	map o = map_new(cout, in.h, in.w);
	int co, ci, y, x, ky, kx;
	for (co = 0; co < cout; co++)
		for (y = 0; y < in.h; y++)
			for (x = 0; x < in.w; x++) {
				double s = b[co];
				for (ci = 0; ci < in.c; ci++)
					for (ky = 0; ky < 3; ky++)
						for (kx = 0; kx < 3; kx++) {
							int yy = y + ky - 1, xx = x + kx - 1;
							if (yy < 0 || yy >= in.h || xx < 0 || xx >= in.w)
								continue;
							s += (double)w[((co * in.c + ci) * 3 + ky) * 3 + kx] *
							     AT(in, ci, yy, xx);
						}
				AT(o, co, y, x) = s > 0 ? s : 0;
			}
	*pp = b + cout;
	return o;
}

static map ref_pool(map in)
{
	map o = map_new(in.c, in.h / 2, in.w / 2);
	int c, y, x;
	for (c = 0; c < in.c; c++)
		for (y = 0; y < o.h; y++)
			for (x = 0; x < o.w; x++) {
				double m = AT(in, c, 2 * y, 2 * x);
				m = fmax(m, AT(in, c, 2 * y, 2 * x + 1));
				m = fmax(m, AT(in, c, 2 * y + 1, 2 * x));
				AT(o, c, y, x) = fmax(m, AT(in, c, 2 * y + 1, 2 * x + 1));
			}
	return o;
}

/* ConvTranspose2d(k 2, stride 2): weights (cin, cout, 2, 2). */
static map ref_up(map in, int cout, const float **pp)
{
	const float *w = *pp, *b = w + (size_t)in.c * cout * 4;
	map o = map_new(cout, in.h * 2, in.w * 2);
	int co, ci, y, x, dy, dx;
	for (co = 0; co < cout; co++)
		for (y = 0; y < o.h; y++)
			for (x = 0; x < o.w; x++) {
				double s = b[co];
				dy = y % 2;
				dx = x % 2;
				for (ci = 0; ci < in.c; ci++)
					s += (double)w[((ci * cout + co) * 2 + dy) * 2 + dx] * AT(in, ci, y / 2, x / 2);
				AT(o, co, y, x) = s;
			}
	*pp = b + cout;
	return o;
}

static map ref_cat(map a, map b)
{
	map o = map_new(a.c + b.c, a.h, a.w);
	size_t na = (size_t)a.c * a.h * a.w;
	memcpy(o.v, a.v, na * sizeof(double));
	memcpy(o.v + na, b.v, (size_t)b.c * b.h * b.w * sizeof(double));
	return o;
}

/* The network on one slice (h x w floats) into out (ncls x h x w doubles). */
static void ref_forward(const tnet *t, const float *slice, int h, int w, double *out)
{
	map skip[8] = { { 0, 0, 0, NULL } }, x = map_new(1, h, w), y;
	const float *p = t->p;
	int i, c, k;
	for (k = 0; k < h * w; k++)
		x.v[k] = slice[k];
	for (i = 0; i < t->L; i++) {
		if (i)
			x = ref_pool(x); /* x was skip[i - 1]: kept */
		y = ref_conv3(x, t->ch[i], &p);
		free(x.v);
		x = ref_conv3(y, t->ch[i], &p);
		free(y.v);
		skip[i] = x;
	}
	x = skip[t->L - 1];
	for (i = t->L - 2; i >= 0; i--) {
		map u = ref_up(x, t->ch[i], &p), cat = ref_cat(skip[i], u);
		free(u.v);
		free(x.v);
		free(skip[i].v);
		y = ref_conv3(cat, t->ch[i], &p);
		free(cat.v);
		x = ref_conv3(y, t->ch[i], &p);
		free(y.v);
	}
	/* head: 1x1, no activation */
	for (c = 0; c < t->ncls; c++)
		for (k = 0; k < h * w; k++) {
			double s = p[(size_t)t->ncls * t->ch[0] + c];
			int ci;
			for (ci = 0; ci < t->ch[0]; ci++)
				s += (double)p[c * t->ch[0] + ci] * x.v[(size_t)ci * h * w + k];
			out[(size_t)c * h * w + k] = s;
		}
	p += (size_t)t->ncls * t->ch[0] + t->ncls;
	assert_int_equal((size_t)(p - t->p), t->np);
	free(x.v);
}

static float *random_input(int n, int h, int w, uint32_t seed)
{
	float *in = malloc((size_t)n * h * w * sizeof(float));
	size_t k;
	rng_state = seed;
	for (k = 0; k < (size_t)n * h * w; k++)
		in[k] = 0.5f + 0.5f * rnd();
	return in;
}

/* Loads t's file through the library and checks the forward pass against the reference. */
static void check_against_reference(int L, const int *ch, int ncls, int n, int h, int w, int threads)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_unet *net = NULL;
	tnet t;
	const char *path = tmp_path("ref.bin");
	float *in, *out;
	double *ref, maxd = 0, maxv = 0;
	size_t hw = (size_t)h * w, k;
	int s;

	tnet_make(&t, L, ch, ncls, 1234u + (uint32_t)L, 0);
	write_bytes(path, t.file, t.nfile);
	assert_int_equal(ctw_unet_load(ctx, path, NULL, &net), CTW_OK);
	assert_int_equal(ctw_unet_get_info(net)->n_params, t.np);
	assert_int_equal(ctw_unet_get_info(net)->multiple, 1 << (L - 1));
	in = random_input(n, h, w, 99);
	out = malloc((size_t)n * ncls * hw * sizeof(float));
	ref = malloc((size_t)ncls * hw * sizeof(double));
	assert_int_equal(ctw_unet_forward(ctx, net, in, n, h, w, out, threads), CTW_OK);
	for (s = 0; s < n; s++) {
		ref_forward(&t, in + s * hw, h, w, ref);
		for (k = 0; k < ncls * hw; k++) {
			double d = fabs(ref[k] - (double)out[s * ncls * hw + k]);
			maxd = d > maxd ? d : maxd;
			maxv = fabs(ref[k]) > maxv ? fabs(ref[k]) : maxv;
		}
	}
	print_message("L %d, %d slices %dx%d: max |logit| %.3g, max abs difference %.3g\n", L, n, h, w, maxv,
		      maxd);
	assert_true(maxv > 0.05); /* not a degenerate all-zero network */
	assert_true(maxd <= 1e-4);
	free(in);
	free(out);
	free(ref);
	ctw_unet_free(ctx, net);
	ctw_ctx_free(ctx);
	tnet_free(&t);
	unlink(path);
}

static void test_forward_reference(void **state)
{
	const int c2[] = { 3, 5 }, c3[] = { 4, 6, 8 }, c1[] = { 3 }, c5[] = { 4, 6, 8, 8, 10 };
	(void)state;
	check_against_reference(2, c2, 3, 2, 8, 8, 1);
	check_against_reference(3, c3, 4, 3, 12, 20, 2);
	check_against_reference(1, c1, 2, 1, 5, 3, 1);
	check_against_reference(5, c5, 4, 2, 32, 48, 2);
}

/* Convolutions whose im2col goes in several bands of rows (2^20 floats: 9 cin w floats a row),
 * uneven ones included: wide slices (dec a: 9*24*2048 floats a row, 2 rows a band; enc b at
 * level 0: 7 rows a band for 10 rows). */
static void test_forward_bands(void **state)
{
	const int c[] = { 8, 12 };
	(void)state;
	check_against_reference(2, c, 3, 1, 10, 2048, 1);
}

static void test_threads_identical(void **state)
{
	const int ch[] = { 4, 8, 8 };
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_unet *net = NULL;
	tnet t;
	const char *path = tmp_path("thr.bin");
	const int n = 7, h = 16, w = 24, ncls = 4;
	size_t m = (size_t)n * ncls * h * w;
	float *in, *o[4];
	int k;

	(void)state;
	tnet_make(&t, 3, ch, ncls, 77u, 8);
	write_bytes(path, t.file, t.nfile);
	assert_int_equal(ctw_unet_load(ctx, path, NULL, &net), CTW_OK);
	in = random_input(n, h, w, 5);
	for (k = 0; k < 4; k++) {
		o[k] = malloc(m * sizeof(float));
		memset(o[k], 0xff, m * sizeof(float));
		assert_int_equal(ctw_unet_forward(ctx, net, in, n, h, w, o[k], k), CTW_OK); /* 0 = 2 */
	}
	assert_memory_equal(o[0], o[1], m * sizeof(float));
	assert_memory_equal(o[1], o[2], m * sizeof(float));
	assert_memory_equal(o[1], o[3], m * sizeof(float));
	/* more threads than slices */
	assert_int_equal(ctw_unet_forward(ctx, net, in, 1, h, w, o[3], 5), CTW_OK);
	assert_memory_equal(o[1], o[3], m / n * sizeof(float));
	for (k = 0; k < 4; k++)
		free(o[k]);
	free(in);
	ctw_unet_free(ctx, net);
	ctw_ctx_free(ctx);
	tnet_free(&t);
	unlink(path);
}

/* The load fails with CTW_ERR_INTERNAL and a message naming path and containing want (and, if
 * given, want2). */
static void load_fails(const char *path, const char *sha, const char *want, const char *want2)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_unet *net = (ctw_unet *)1;
	assert_int_equal(ctw_unet_load(ctx, path, sha, &net), CTW_ERR_INTERNAL);
	assert_null(net);
	assert_int_equal(ctw_exit_code(ctw_errcode(ctx)), 4);
	if (!strstr(ctw_errmsg(ctx), path) || !strstr(ctw_errmsg(ctx), want) ||
	    (want2 && !strstr(ctw_errmsg(ctx), want2)))
		fail_msg("message '%s' lacks '%s' / '%s' / '%s'", ctw_errmsg(ctx), path, want,
			 want2 ? want2 : "");
	ctw_ctx_free(ctx);
}

static void mutate_fails(const tnet *t, size_t off, uint32_t v, const char *want)
{
	const char *path = tmp_path("mut.bin");
	unsigned char *d = malloc(t->nfile);
	memcpy(d, t->file, t->nfile);
	put32(d + off, v);
	write_bytes(path, d, t->nfile);
	load_fails(path, NULL, want, NULL);
	free(d);
	unlink(path);
}

static void test_load_errors(void **state)
{
	const int ch[] = { 3, 5 };
	const char *path = tmp_path("err.bin");
	unsigned char *d;
	char good[65], bad[65];
	unsigned char dig[32];
	tnet t;
	size_t cut;
	float nan = NAN, inf = INFINITY, mm;
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_unet *net = NULL;

	(void)state;
	tnet_make(&t, 2, ch, 4, 3u, 0);
	ctw_sha256_mem(t.file, t.nfile, dig);
	ctw_hex(dig, 32, good);

	/* missing */
	unlink(path);
	load_fails(path, good, "cannot open", "No such file");
	/* a directory */
	load_fails("/tmp", NULL, "not a regular file", NULL);

	/* good, with the right checksum (either case) */
	write_bytes(path, t.file, t.nfile);
	assert_int_equal(ctw_unet_load(ctx, path, good, &net), CTW_OK);
	assert_string_equal(ctw_unet_get_info(net)->sha256, good);
	assert_int_equal(ctw_unet_get_info(net)->file_bytes, t.nfile);
	assert_true(fabs(ctw_unet_get_info(net)->pixel_mm - 1.6) < 1e-6);
	ctw_unet_free(ctx, net);
	{
		char up[65];
		size_t i;
		for (i = 0; i < 65; i++)
			up[i] = (char)(good[i] >= 'a' && good[i] <= 'f' ? good[i] - 32 : good[i]);
		assert_int_equal(ctw_unet_load(ctx, path, up, &net), CTW_OK);
		ctw_unet_free(ctx, net);
	}

	/* wrong checksum: both named */
	memcpy(bad, good, 65);
	bad[10] = bad[10] == '0' ? '1' : '0';
	load_fails(path, bad, good, bad);
	load_fails(path, "abc", good, "expected abc");

	/* truncated at many offsets, and one byte too many */
	for (cut = 0; cut < t.nfile; cut += cut < 64 ? 1 : 37) {
		write_bytes(path, t.file, cut);
		load_fails(path, NULL, "corrupt segmenter weights", NULL);
		load_fails(path, good, "corrupt segmenter weights", good); /* the checksums too */
	}
	d = malloc(t.nfile + 1);
	memcpy(d, t.file, t.nfile);
	d[t.nfile] = 0;
	write_bytes(path, d, t.nfile + 1);
	load_fails(path, NULL, "trailing bytes", NULL);

	/* wrong magic */
	memcpy(d, t.file, t.nfile);
	d[7] = '2';
	write_bytes(path, d, t.nfile);
	load_fails(path, NULL, "magic", NULL);

	/* NaN and infinite weights, at the first and the last parameter */
	memcpy(d, t.file, t.nfile);
	memcpy(d + t.hlen, &nan, 4);
	write_bytes(path, d, t.nfile);
	load_fails(path, NULL, "parameter 0", NULL);
	memcpy(d, t.file, t.nfile);
	memcpy(d + t.nfile - 4, &inf, 4);
	write_bytes(path, d, t.nfile);
	load_fails(path, NULL, "is inf", NULL);
	free(d);

	/* header fields */
	mutate_fails(&t, 8, 30, "header length");  /* not a multiple of 4 */
	mutate_fails(&t, 8, 0, "header length");
	mutate_fails(&t, 8, 40, "corrupt segmenter weights"); /* padding over weights or size */
	mutate_fails(&t, 8, 0xffffffffu, "header length");
	mutate_fails(&t, 12, 0, "0 levels");
	mutate_fails(&t, 12, 9, "9 levels");
	mutate_fails(&t, 12, 1, "corrupt segmenter weights"); /* padding or size */
	mutate_fails(&t, 16, 2, "input channels");
	mutate_fails(&t, 20, 1, "1 classes");
	mutate_fails(&t, 20, 17, "17 classes");
	mutate_fails(&t, 28, 0, "0 channels");
	mutate_fails(&t, 32, 1025, "1025 channels");
	mutate_fails(&t, 32, 4, "bytes where its header implies");
	memcpy(&mm, &nan, 4);
	{
		uint32_t u;
		const float bad_mm[] = { NAN, INFINITY, 0.0f, 0.05f, -1.6f, 11.0f };
		size_t i;
		for (i = 0; i < sizeof(bad_mm) / sizeof(bad_mm[0]); i++) {
			memcpy(&u, &bad_mm[i], 4);
			mutate_fails(&t, 24, u, "pixel size");
		}
	}
	(void)mm;
	unlink(path);
	ctw_ctx_free(ctx);
	tnet_free(&t);
}

static int cancel_at;
static int n_progress;

static int progress_cb(void *ud, const char *stage, double f)
{
	(void)ud;
	assert_string_equal(stage, "segment");
	assert_true(f >= 0 && f <= 1);
	return ++n_progress >= cancel_at;
}

static void test_forward_errors_and_cancel(void **state)
{
	const int ch[] = { 3, 5, 6 };
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_unet *net = NULL;
	const char *path = tmp_path("can.bin");
	tnet t;
	float *in = random_input(6, 16, 16, 1), *out = malloc(6 * 4 * 256 * sizeof(float));
	int thr;

	(void)state;
	tnet_make(&t, 3, ch, 4, 9u, 0);
	write_bytes(path, t.file, t.nfile);
	assert_int_equal(ctw_unet_load(ctx, path, NULL, &net), CTW_OK);
	/* sizes: not multiples of 4, zero, negative, too many threads */
	assert_int_equal(ctw_unet_forward(ctx, net, in, 1, 14, 16, out, 1), CTW_ERR_INVALID);
	assert_non_null(strstr(ctw_errmsg(ctx), "multiples of 4"));
	assert_int_equal(ctw_unet_forward(ctx, net, in, 1, 16, 2, out, 1), CTW_ERR_INVALID);
	assert_int_equal(ctw_unet_forward(ctx, net, in, 0, 16, 16, out, 1), CTW_ERR_INVALID);
	assert_int_equal(ctw_unet_forward(ctx, net, in, -1, 16, 16, out, 1), CTW_ERR_INVALID);
	assert_int_equal(ctw_unet_forward(ctx, net, in, 1, 16, 1 << 20, out, 1), CTW_ERR_INVALID);
	assert_int_equal(ctw_unet_forward(ctx, net, in, 1, 16, 16, out, -1), CTW_ERR_INVALID);
	assert_int_equal(ctw_unet_forward(ctx, net, in, 1, 16, 16, out, 1000), CTW_ERR_INVALID);
	assert_int_equal(ctw_unet_forward(ctx, net, NULL, 1, 16, 16, out, 1), CTW_ERR_INVALID);
	in[300] = NAN;
	assert_int_equal(ctw_unet_forward(ctx, net, in, 2, 16, 16, out, 1), CTW_ERR_INVALID);
	assert_non_null(strstr(ctw_errmsg(ctx), "slice 1"));
	in[300] = 0.5f;
	/* progress per slice; cancellation with 1 and 2 threads */
	ctw_ctx_set_progress(ctx, progress_cb, NULL);
	for (thr = 1; thr <= 2; thr++) {
		cancel_at = 1000;
		n_progress = 0;
		ctw_clear_error(ctx);
		assert_int_equal(ctw_unet_forward(ctx, net, in, 6, 16, 16, out, thr), CTW_OK);
		if (n_progress != 7) /* 0, 1, ..., 6 slices done */
			fail_msg("%d threads: %d progress calls", thr, n_progress);
		cancel_at = 2;
		n_progress = 0;
		assert_int_equal(ctw_unet_forward(ctx, net, in, 6, 16, 16, out, thr), CTW_ERR_CANCELLED);
		assert_int_equal(ctw_errcode(ctx), CTW_ERR_CANCELLED);
	}
	free(in);
	free(out);
	ctw_unet_free(ctx, net);
	ctw_ctx_free(ctx);
	tnet_free(&t);
	unlink(path);
}

/* Every allocation of load and forward failing in turn: CTW_ERR_NOMEM, nothing leaked. */
static void test_alloc_failures(void **state)
{
	const int ch[] = { 3, 5 };
	const char *path = tmp_path("oom.bin");
	float *in = random_input(3, 8, 8, 2), *out = malloc(3 * 3 * 64 * sizeof(float));
	tnet t;
	long k;
	int done = 0;

	(void)state;
	tnet_make(&t, 2, ch, 3, 11u, 0);
	write_bytes(path, t.file, t.nfile);
	for (k = 2; !done && k < 200; k++) {
		fault_alloc f;
		ctw_ctx *ctx = fault_ctx(&f, k);
		ctw_unet *net = NULL;
		int r;
		assert_non_null(ctx);
		r = ctw_unet_load(ctx, path, NULL, &net);
		if (r == CTW_OK) {
			r = ctw_unet_forward(ctx, net, in, 3, 8, 8, out, 2);
			done = r == CTW_OK;
		}
		assert_true(r == CTW_OK || r == CTW_ERR_NOMEM);
		ctw_unet_free(ctx, net);
		ctw_ctx_free(ctx);
		assert_int_equal(f.live, 0);
	}
	assert_true(done);
	free(in);
	free(out);
	tnet_free(&t);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_reference),
		cmocka_unit_test(test_forward_bands),
		cmocka_unit_test(test_threads_identical),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_forward_errors_and_cancel),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
