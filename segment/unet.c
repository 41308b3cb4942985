/* unet.c: the segmenter's U-Net in C (unet.h; the network and the file: train/ARCHITECTURE.md).
 *
 * One slice at a time through a per-thread workspace: 3x3 convolutions as im2col (in bands of
 * rows, so the column buffer stays small) times the weights with cblas_sgemm, bias and ReLU;
 * 2x2 max pooling; the 2x2 stride-2 transposed convolution as one sgemm (cout*4 x pixels)
 * scattered to the finer grid; the skip and the up-sampled halves written side by side into one
 * buffer (skip first), so concatenation copies nothing. Every number of a slice is computed by
 * one thread with the same band sizes whatever the thread count, and OpenBLAS runs on the
 * calling thread only, so the logits are the same bytes for any thread count.
 */
#define _POSIX_C_SOURCE 200809L
#include "unet.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sha256.h"

#define MAGIC "CTWUNET1"
#define MAX_FILE_BYTES ((uint64_t)1 << 30) /* the shipped file is ~8 MiB                 */
#define MAX_HEADER_BYTES 4096u
#define MAX_SIDE 8192                      /* largest h or w forward() takes             */
#define MAX_THREADS 64
#define COL_FLOATS ((size_t)1 << 20)       /* im2col band budget: 4 MiB per thread       */

typedef struct conv {
	const float *w; /* Conv2d (cout, cin, k, k); ConvTranspose2d (cin, cout, 2, 2) */
	const float *b; /* cout                                                         */
	int cin, cout, k;
} conv;

struct ctw_unet {
	ctw_unet_info info;
	float *params;
	conv enc[CTW_UNET_MAX_LEVELS][2];
	conv up[CTW_UNET_MAX_LEVELS];     /* up[i]: channels[i+1] -> channels[i] */
	conv dec[CTW_UNET_MAX_LEVELS][2]; /* dec[i]: 2 channels[i] -> channels[i] */
	conv head;
};

/* ---- loading ------------------------------------------------------------------------------ */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float lef32(const unsigned char *p)
{
	uint32_t u = le32(p);
	float f;
	memcpy(&f, &u, sizeof(f));
	return f;
}

static const char HINT[] = "reinstall cardiotwin (the weights come with it)";

/* The number of floats of a conv (weights and bias), accumulated into *total. */
static uint64_t add_conv(uint64_t *total, int cin, int cout, int k)
{
	uint64_t n = (uint64_t)cin * (uint64_t)cout * (uint64_t)k * (uint64_t)k + (uint64_t)cout;
	*total += n;
	return n;
}

/* The number of parameters the header's shape implies. */
static uint64_t param_count(const ctw_unet_info *in)
{
	uint64_t t = 0;
	int i, L = in->n_levels;
	const int *c = in->channels;

	for (i = 0; i < L; i++) {
		add_conv(&t, i ? c[i - 1] : in->in_channels, c[i], 3);
		add_conv(&t, c[i], c[i], 3);
	}
	for (i = L - 2; i >= 0; i--) {
		add_conv(&t, c[i + 1], c[i], 2);
		add_conv(&t, 2 * c[i], c[i], 3);
		add_conv(&t, c[i], c[i], 3);
	}
	add_conv(&t, c[0], in->n_classes, 1);
	return t;
}

/* Points cv at the next tensors of p (advancing *pos). */
static void take(conv *cv, const float *p, size_t *pos, int cin, int cout, int k)
{
	cv->w = p + *pos;
	*pos += (size_t)cin * (size_t)cout * (size_t)k * (size_t)k;
	cv->b = p + *pos;
	*pos += (size_t)cout;
	cv->cin = cin;
	cv->cout = cout;
	cv->k = k;
}

/* Checks the header of the file's bytes into *in; on failure writes why into why. */
static int parse_header(const unsigned char *d, size_t n, ctw_unet_info *in, char *why, size_t wn)
{
	uint32_t hlen, L, cin, ncls;
	float mm;
	uint64_t np, want;
	int i;

	if (n < 28 || memcmp(d, MAGIC, 8) != 0) {
		snprintf(why, wn, n < 8 ? "%zu bytes, too short for a weights file"
					: "not a weights file (no '" MAGIC "' magic)", n);
		return -1;
	}
	hlen = le32(d + 8);
	L = le32(d + 12);
	cin = le32(d + 16);
	ncls = le32(d + 20);
	mm = lef32(d + 24);
	if (L < 1 || L > CTW_UNET_MAX_LEVELS) {
		snprintf(why, wn, "%u levels (1 to %d)", (unsigned)L, CTW_UNET_MAX_LEVELS);
		return -1;
	}
	if (hlen % 4 || hlen < 28 + 4 * L || hlen > MAX_HEADER_BYTES) {
		snprintf(why, wn, "header length %u (a multiple of 4 from %u to %u)", (unsigned)hlen,
			 (unsigned)(28 + 4 * L), MAX_HEADER_BYTES);
		return -1;
	}
	if (n < hlen) {
		snprintf(why, wn, "truncated in the header (%zu of %u bytes)", n, (unsigned)hlen);
		return -1;
	}
	if (cin != 1) {
		snprintf(why, wn, "%u input channels (1)", (unsigned)cin);
		return -1;
	}
	if (ncls < 2 || ncls > 16) {
		snprintf(why, wn, "%u classes (2 to 16)", (unsigned)ncls);
		return -1;
	}
	if (!isfinite(mm) || mm < 0.1f || mm > 10.0f) {
		snprintf(why, wn, "pixel size %g mm (0.1 to 10)", (double)mm);
		return -1;
	}
	memset(in, 0, sizeof(*in));
	in->n_levels = (int)L;
	in->in_channels = (int)cin;
	in->n_classes = (int)ncls;
	in->pixel_mm = (double)mm;
	in->multiple = 1 << (L - 1);
	for (i = 0; i < (int)L; i++) {
		uint32_t c = le32(d + 28 + 4 * (size_t)i);
		if (c < 1 || c > 1024) {
			snprintf(why, wn, "level %d has %u channels (1 to 1024)", i, (unsigned)c);
			return -1;
		}
		in->channels[i] = (int)c;
	}
	for (i = 28 + 4 * (int)L; i < (int)hlen; i++)
		if (d[i]) {
			snprintf(why, wn, "non-zero header padding at byte %d", i);
			return -1;
		}
	np = param_count(in);
	want = (uint64_t)hlen + 4 * np;
	if ((uint64_t)n != want) {
		snprintf(why, wn, "%zu bytes where its header implies %llu (%s)", n,
			 (unsigned long long)want, (uint64_t)n < want ? "truncated" : "trailing bytes");
		return -1;
	}
	in->n_params = (size_t)np;
	in->file_bytes = n;
	return 0;
}

/* Reads the whole file (at most MAX_FILE_BYTES) into a new buffer. */
static int read_all(ctw_ctx *ctx, const char *path, unsigned char **out, size_t *n_out)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	unsigned char *d = NULL;
	size_t n;

	*out = NULL;
	*n_out = 0;
	if (!f)
		return ctw_error(ctx, CTW_ERR_INTERNAL, path, "cannot open the segmenter's weights: %s; %s",
				 strerror(errno), HINT);
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return ctw_error(ctx, CTW_ERR_INTERNAL, path, "the segmenter's weights are not a regular file; %s",
				 HINT);
	}
	if ((uint64_t)st.st_size > MAX_FILE_BYTES) {
		fclose(f);
		return ctw_error(ctx, CTW_ERR_INTERNAL, path,
				 "corrupt segmenter weights: %lld bytes, more than 1 GiB; %s",
				 (long long)st.st_size, HINT);
	}
	n = (size_t)st.st_size;
	if (!(d = ctw_malloc(ctx, n ? n : 1))) {
		fclose(f);
		return CTW_ERR_NOMEM;
	}
	if (n && fread(d, 1, n, f) != n) {
		int e = ferror(f) ? errno : 0;
		fclose(f);
		ctw_free(ctx, d);
		return ctw_error(ctx, CTW_ERR_INTERNAL, path, "cannot read the segmenter's weights: %s; %s",
				 e ? strerror(e) : "the file shrank while read", HINT);
	}
	fclose(f);
	*out = d;
	*n_out = n;
	return CTW_OK;
}

static int hex_equal(const char *a, const char *b)
{
	size_t i;
	for (i = 0; i < 64; i++) {
		int x = a[i], y = b[i];
		if (x >= 'A' && x <= 'F')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'F')
			y += 'a' - 'A';
		if (!x || x != y)
			return 0;
	}
	return b[64] == '\0';
}

int ctw_unet_load(ctw_ctx *ctx, const char *path, const char *expected_sha256, ctw_unet **out)
{
	unsigned char *d = NULL, dig[32];
	size_t n = 0, pos = 0, k;
	ctw_unet *net = NULL;
	ctw_unet_info info;
	char why[256], sums[200] = "";
	int ret, i, L;
	const int *c;

	if (!out || !path)
		return ctw_error(ctx, CTW_ERR_INVALID, "unet", "no weights path or output");
	*out = NULL;
	if ((ret = read_all(ctx, path, &d, &n)))
		return ret;
	ctw_sha256_mem(d, n, dig);
	memset(&info, 0, sizeof(info));
	if (expected_sha256) {
		char got[65];
		ctw_hex(dig, sizeof(dig), got);
		if (!hex_equal(got, expected_sha256))
			snprintf(sums, sizeof(sums), " (SHA-256 %s, expected %.64s)", got, expected_sha256);
	}
	if (parse_header(d, n, &info, why, sizeof(why))) {
		ret = ctw_error(ctx, CTW_ERR_INTERNAL, path, "corrupt segmenter weights: %s%s; %s", why, sums,
				HINT);
		goto out;
	}
	ctw_hex(dig, sizeof(dig), info.sha256);
	if (sums[0]) {
		ret = ctw_error(ctx, CTW_ERR_INTERNAL, path,
				"segmenter weights with SHA-256 %s, expected %.64s; the file is damaged or "
				"not this version's: %s",
				info.sha256, expected_sha256, HINT);
		goto out;
	}
	if (!(net = ctw_calloc(ctx, 1, sizeof(*net))) ||
	    !(net->params = ctw_malloc(ctx, info.n_params * sizeof(float)))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	{
		const unsigned char *p = d + (n - 4 * info.n_params);
		for (k = 0; k < info.n_params; k++) {
			float v = lef32(p + 4 * k);
			if (!isfinite(v)) {
				ret = ctw_error(ctx, CTW_ERR_INTERNAL, path,
						"corrupt segmenter weights: parameter %zu (byte %zu) is %g%s; %s", k,
						(size_t)(n - 4 * info.n_params) + 4 * k, (double)v, sums, HINT);
				goto out;
			}
			net->params[k] = v;
		}
	}
	net->info = info;
	L = info.n_levels;
	c = info.channels;
	for (i = 0; i < L; i++) {
		take(&net->enc[i][0], net->params, &pos, i ? c[i - 1] : 1, c[i], 3);
		take(&net->enc[i][1], net->params, &pos, c[i], c[i], 3);
	}
	for (i = L - 2; i >= 0; i--) {
		take(&net->up[i], net->params, &pos, c[i + 1], c[i], 2);
		take(&net->dec[i][0], net->params, &pos, 2 * c[i], c[i], 3);
		take(&net->dec[i][1], net->params, &pos, c[i], c[i], 3);
	}
	take(&net->head, net->params, &pos, c[0], info.n_classes, 1);
	if (pos != info.n_params) {
		ret = ctw_error(ctx, CTW_ERR_INTERNAL, path, "weights layout mismatch (%zu of %zu)", pos,
				info.n_params);
		goto out;
	}
	*out = net;
	net = NULL;
	ret = CTW_OK;
out:
	ctw_unet_free(ctx, net);
	ctw_free(ctx, d);
	return ret;
}

void ctw_unet_free(ctw_ctx *ctx, ctw_unet *net)
{
	if (!net)
		return;
	ctw_free(ctx, net->params);
	ctw_free(ctx, net);
}

const ctw_unet_info *ctw_unet_get_info(const ctw_unet *net)
{
	return net ? &net->info : NULL;
}

/* ---- kernels ------------------------------------------------------------------------------ */

/* Rows of a band of a 3x3 convolution with cin channels on rows of w pixels. */
static int band_rows(int cin, int w, int h)
{
	size_t per_row = (size_t)cin * 9 * (size_t)w;
	size_t r = COL_FLOATS / per_row;
	if (r < 1)
		r = 1;
	return r > (size_t)h ? h : (int)r;
}

/* out (cout x h x w) = ReLU(conv3x3(in (cin x h x w), padding 1) + bias); col: the band buffer. */
static void conv3(const conv *cv, const float *in, float *out, int h, int w, float *col)
{
	const size_t hw = (size_t)h * (size_t)w;
	const int K = cv->cin * 9;
	int rows = band_rows(cv->cin, w, h), y0;

	for (y0 = 0; y0 < h; y0 += rows) {
		int y1 = y0 + rows < h ? y0 + rows : h, ci, ky, kx, y;
		size_t N = (size_t)(y1 - y0) * (size_t)w;
		float *dst = col;
		for (ci = 0; ci < cv->cin; ci++) {
			const float *src = in + (size_t)ci * hw;
			for (ky = 0; ky < 3; ky++)
				for (kx = 0; kx < 3; kx++)
					for (y = y0; y < y1; y++) {
						int sy = y + ky - 1;
						if (sy < 0 || sy >= h) {
							memset(dst, 0, (size_t)w * sizeof(float));
						} else {
							/* x + kx - 1 inside the row but at its two ends */
							const float *row = src + (size_t)sy * (size_t)w;
							dst[0] = kx >= 1 && kx - 1 < w ? row[kx - 1] : 0.0f;
							if (w > 2)
								memcpy(dst + 1, row + kx, (size_t)(w - 2) * sizeof(float));
							if (w > 1)
								dst[w - 1] = kx <= 1 ? row[w - 2 + kx] : 0.0f;
						}
						dst += w;
					}
		}
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->cout, (int)N, K, 1.0f, cv->w, K,
			    col, (int)N, 0.0f, out + (size_t)y0 * (size_t)w, (int)hw);
		for (ci = 0; ci < cv->cout; ci++) {
			float *o = out + (size_t)ci * hw + (size_t)y0 * (size_t)w, b = cv->b[ci];
			size_t j;
			for (j = 0; j < N; j++) {
				float v = o[j] + b;
				o[j] = v > 0.0f ? v : 0.0f;
			}
		}
	}
}

/* 2x2 max pooling, stride 2: in (c x h x w) -> out (c x h/2 x w/2). */
static void maxpool(const float *in, float *out, int c, int h, int w)
{
	int ch, y, x, h2 = h / 2, w2 = w / 2;
	for (ch = 0; ch < c; ch++) {
		const float *s = in + (size_t)ch * (size_t)h * (size_t)w;
		float *d = out + (size_t)ch * (size_t)h2 * (size_t)w2;
		for (y = 0; y < h2; y++)
			for (x = 0; x < w2; x++) {
				const float *p = s + (size_t)(2 * y) * (size_t)w + (size_t)(2 * x);
				float a = p[0] > p[1] ? p[0] : p[1];
				float b = p[w] > p[w + 1] ? p[w] : p[w + 1];
				*d++ = a > b ? a : b;
			}
	}
}

/* 2x2 stride-2 transposed convolution: in (cin x hs x ws) -> out (cout x 2hs x 2ws), via
 * tmp (cout*4 x hs*ws) = W^T in. */
static void upconv(const conv *cv, const float *in, float *out, int hs, int ws, float *tmp)
{
	const int N = hs * ws, M = cv->cout * 4, w = 2 * ws;
	const size_t hw = (size_t)4 * (size_t)N;
	int co, y, x, dy, dx;

	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, cv->cin, 1.0f, cv->w, M, in, N, 0.0f,
		    tmp, N);
	for (co = 0; co < cv->cout; co++) {
		float b = cv->b[co], *o = out + (size_t)co * hw;
		for (dy = 0; dy < 2; dy++)
			for (dx = 0; dx < 2; dx++) {
				const float *t = tmp + (size_t)(co * 4 + dy * 2 + dx) * (size_t)N;
				for (y = 0; y < hs; y++)
					for (x = 0; x < ws; x++)
						o[(size_t)(2 * y + dy) * (size_t)w + (size_t)(2 * x + dx)] =
							t[(size_t)y * (size_t)ws + (size_t)x] + b;
			}
	}
}

/* 1x1 convolution with bias, no activation: in (cin x hw) -> out (cout x hw). */
static void conv1(const conv *cv, const float *in, float *out, size_t hw)
{
	int co;
	size_t j;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->cout, (int)hw, cv->cin, 1.0f, cv->w,
		    cv->cin, in, (int)hw, 0.0f, out, (int)hw);
	for (co = 0; co < cv->cout; co++) {
		float *o = out + (size_t)co * hw, b = cv->b[co];
		for (j = 0; j < hw; j++)
			o[j] += b;
	}
}

/* ---- one slice ----------------------------------------------------------------------------- */

/* A thread's buffers: cat[i] holds level i's skip then its up-sampled half (2 c[i] x hi x wi);
 * deep the last level's block output; ta, tb the intermediate maps; col the im2col band. */
typedef struct workspace {
	float *cat[CTW_UNET_MAX_LEVELS];
	float *deep, *ta, *tb, *col;
} workspace;

typedef struct plan {
	size_t cat[CTW_UNET_MAX_LEVELS], deep, t, col; /* floats of each buffer */
} plan;

static size_t mul_ok(size_t a, size_t b, int *ovf)
{
	if (b && a > SIZE_MAX / 4 / b)
		*ovf = 1;
	return *ovf ? 0 : a * b;
}

/* The buffer sizes for h x w slices; non-zero on overflow. */
static int make_plan(const ctw_unet_info *in, int h, int w, plan *p)
{
	int i, L = in->n_levels, ovf = 0;
	memset(p, 0, sizeof(*p));
	for (i = 0; i < L; i++) {
		int hi = h >> i, wi = w >> i;
		size_t hw = mul_ok((size_t)hi, (size_t)wi, &ovf);
		int cprev = i ? in->channels[i - 1] : 1;
		int cmax = in->channels[i] > cprev ? in->channels[i] : cprev;
		size_t t = mul_ok((size_t)cmax, hw, &ovf), col, row;
		if (i < L - 1)
			p->cat[i] = mul_ok(2 * (size_t)in->channels[i], hw, &ovf);
		else
			p->deep = mul_ok((size_t)in->channels[i], hw, &ovf);
		if (t > p->t)
			p->t = t;
		/* the widest conv at this level: dec a (2 c[i]) or enc a (c[i-1]) or enc b (c[i]) */
		cmax = 2 * in->channels[i] > cmax ? 2 * in->channels[i] : cmax;
		/* a conv of c <= cmax channels takes 9 c wi rows(c) <= min(9 cmax wi hi,
		 * max(9 cmax wi, COL_FLOATS)) floats (band_rows) */
		row = mul_ok((size_t)cmax * 9, (size_t)wi, &ovf);
		col = row > COL_FLOATS ? row : COL_FLOATS;
		if (col > mul_ok(row, (size_t)hi, &ovf))
			col = row * (size_t)hi;
		if (col > p->col)
			p->col = col;
	}
	return ovf;
}

static void ws_free(ctw_ctx *ctx, workspace *s)
{
	int i;
	for (i = 0; i < CTW_UNET_MAX_LEVELS; i++)
		ctw_free(ctx, s->cat[i]);
	ctw_free(ctx, s->deep);
	ctw_free(ctx, s->ta);
	ctw_free(ctx, s->tb);
	ctw_free(ctx, s->col);
	memset(s, 0, sizeof(*s));
}

static int ws_alloc(ctw_ctx *ctx, const ctw_unet_info *in, const plan *p, workspace *s)
{
	int i;
	memset(s, 0, sizeof(*s));
	for (i = 0; i < in->n_levels - 1; i++)
		if (!(s->cat[i] = ctw_malloc(ctx, p->cat[i] * sizeof(float))))
			goto fail;
	if (!(s->deep = ctw_malloc(ctx, p->deep * sizeof(float))) ||
	    !(s->ta = ctw_malloc(ctx, p->t * sizeof(float))) ||
	    !(s->tb = ctw_malloc(ctx, p->t * sizeof(float))) ||
	    !(s->col = ctw_malloc(ctx, p->col * sizeof(float))))
		goto fail;
	return CTW_OK;
fail:
	ws_free(ctx, s);
	return CTW_ERR_NOMEM;
}

/* The network on one h x w slice into logits (n_classes x h x w). */
static void forward_slice(const ctw_unet *net, const float *in, int h, int w, float *logits,
			  workspace *s)
{
	const ctw_unet_info *nfo = &net->info;
	int L = nfo->n_levels, i;
	const float *x = in;

	for (i = 0; i < L; i++) {
		int hi = h >> i, wi = w >> i;
		float *dst = i < L - 1 ? s->cat[i] : s->deep;
		if (i > 0) {
			maxpool(x, s->tb, nfo->channels[i - 1], h >> (i - 1), w >> (i - 1));
			x = s->tb;
		}
		conv3(&net->enc[i][0], x, s->ta, hi, wi, s->col);
		conv3(&net->enc[i][1], s->ta, dst, hi, wi, s->col);
		x = dst;
	}
	for (i = L - 2; i >= 0; i--) {
		int hi = h >> i, wi = w >> i;
		size_t half = (size_t)nfo->channels[i] * (size_t)hi * (size_t)wi;
		upconv(&net->up[i], x, s->cat[i] + half, hi / 2, wi / 2, s->ta);
		conv3(&net->dec[i][0], s->cat[i], s->ta, hi, wi, s->col);
		conv3(&net->dec[i][1], s->ta, s->cat[i], hi, wi, s->col);
		x = s->cat[i];
	}
	conv1(&net->head, x, logits, (size_t)h * (size_t)w);
}

/* ---- threads ------------------------------------------------------------------------------- */

typedef struct job {
	const ctw_unet *net;
	const float *in;
	float *logits;
	int n, h, w;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int next, done, stop;
} job;

typedef struct worker {
	job *j;
	workspace ws;
} worker;

static void *work(void *arg)
{
	worker *wk = arg;
	job *j = wk->j;
	const size_t hw = (size_t)j->h * (size_t)j->w;
	const size_t ncls = (size_t)j->net->info.n_classes;

	for (;;) {
		int s;
		pthread_mutex_lock(&j->mu);
		s = j->stop || j->next >= j->n ? -1 : j->next++;
		pthread_mutex_unlock(&j->mu);
		if (s < 0)
			break;
		forward_slice(j->net, j->in + (size_t)s * hw, j->h, j->w, j->logits + (size_t)s * ncls * hw,
			      &wk->ws);
		pthread_mutex_lock(&j->mu);
		j->done++;
		pthread_cond_signal(&j->cv);
		pthread_mutex_unlock(&j->mu);
	}
	return NULL;
}

static int cancelled(ctw_ctx *ctx)
{
	if (ctw_errcode(ctx) != CTW_ERR_CANCELLED)
		ctw_error(ctx, CTW_ERR_CANCELLED, "segment", "cancelled");
	return CTW_ERR_CANCELLED;
}

int ctw_unet_forward(ctw_ctx *ctx, const ctw_unet *net, const float *in, int n, int h, int w,
		     float *logits, int threads)
{
	const ctw_unet_info *nfo;
	worker wk[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	int started = 0, nt, t, ret = CTW_OK, ovf = 0;
	size_t hw, k, total;
	plan p;
	job j;

	if (!net || !in || !logits)
		return ctw_error(ctx, CTW_ERR_INVALID, "segment", "no network, input or output");
	nfo = &net->info;
	if (n < 1 || h < nfo->multiple || w < nfo->multiple || h > MAX_SIDE || w > MAX_SIDE ||
	    h % nfo->multiple || w % nfo->multiple)
		return ctw_error(ctx, CTW_ERR_INVALID, "segment",
				 "%d slices of %d x %d pixels: the network takes 1 or more slices whose sides are "
				 "multiples of %d up to %d",
				 n, h, w, nfo->multiple, MAX_SIDE);
	if (threads < 0 || threads > MAX_THREADS)
		return ctw_error(ctx, CTW_ERR_INVALID, "segment", "%d threads (0 for 2, up to %d)", threads,
				 MAX_THREADS);
	hw = (size_t)h * (size_t)w;
	total = mul_ok(mul_ok(hw, (size_t)n, &ovf), (size_t)nfo->n_classes, &ovf);
	if (ovf || make_plan(nfo, h, w, &p))
		return ctw_error(ctx, CTW_ERR_INVALID, "segment", "%d slices of %d x %d pixels: too large", n,
				 h, w);
	(void)total;
	for (k = 0; k < hw * (size_t)n; k++)
		if (!isfinite(in[k]))
			return ctw_error(ctx, CTW_ERR_INVALID, "segment", "input pixel %zu of slice %zu is %g",
					 k % hw, k / hw, (double)in[k]);
	nt = threads ? threads : 2;
	if (nt > n)
		nt = n;
	openblas_set_num_threads(1);
	memset(wk, 0, sizeof(wk));
	for (t = 0; t < nt; t++)
		if ((ret = ws_alloc(ctx, nfo, &p, &wk[t].ws)))
			goto out;
	memset(&j, 0, sizeof(j));
	j.net = net;
	j.in = in;
	j.logits = logits;
	j.n = n;
	j.h = h;
	j.w = w;
	if (nt == 1) {
		int s;
		for (s = 0; s < n; s++) {
			if (ctw_progress(ctx, "segment", (double)s, (double)n)) {
				ret = cancelled(ctx);
				goto out;
			}
			forward_slice(net, in + (size_t)s * hw, h, w, logits + (size_t)s * nfo->n_classes * hw,
				      &wk[0].ws);
		}
		ctw_progress(ctx, "segment", (double)n, (double)n);
		goto out;
	}
	pthread_mutex_init(&j.mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	for (t = 0; t < nt; t++) {
		wk[t].j = &j;
		if (pthread_create(&tid[t], NULL, work, &wk[t]) != 0)
			break;
		started++;
	}
	if (!started) {
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "segment", "cannot start a thread");
	} else {
		/* started < nt still finishes: the started workers take every slice */
		int seen = -1, stop = 0;
		pthread_mutex_lock(&j.mu);
		for (;;) {
			int d = j.done, fin = d >= n || (j.stop && j.next == d);
			if (d != seen && !j.stop) {
				/* every count once, even when several slices ended meanwhile */
				seen++;
				pthread_mutex_unlock(&j.mu);
				stop = ctw_progress(ctx, "segment", (double)seen, (double)n);
				pthread_mutex_lock(&j.mu);
				if (stop && seen < n)
					j.stop = 1;
				continue;
			}
			if (fin)
				break;
			pthread_cond_wait(&j.cv, &j.mu);
		}
		pthread_mutex_unlock(&j.mu);
		if (j.stop)
			ret = cancelled(ctx);
	}
	for (t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	pthread_cond_destroy(&j.cv);
	pthread_mutex_destroy(&j.mu);
out:
	for (t = 0; t < nt; t++)
		ws_free(ctx, &wk[t].ws);
	return ret;
}
