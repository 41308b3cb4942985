/* automr.c: automatic segmentation of a cine MR short-axis stack (see automr.h). */
#include "automr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"
#include "seglog.h"


enum { BG = 0, LVB = 1, MYO = 2, RVB = 3, N_CLASSES = 4 };

/* ---- before the network: normalisation and resampling ---------------------------------------- */

static float select_kth(float *a, int64_t n, int64_t k)
{
	int64_t lo = 0, hi = n - 1;
	while (lo < hi) {
		float pivot = a[lo + (hi - lo) / 2];
		int64_t i = lo, j = hi;
		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				float t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return a[k];
}

/* The training data's normalisation: the volume clipped at its 99th percentile, then min-max
 * to 0..1. *lo and *hi receive the minimum and the clip. */
static int norm_range(ctw_ctx *ctx, const ctw_volume *v, double *lo, double *hi)
{
	int64_t n = ctw_volume_count(v), m = 0;
	float *a = ctw_malloc(ctx, sizeof(float) * (size_t)n);
	double mn = INFINITY;

	if (!a)
		return CTW_ERR_NOMEM;
	for (int64_t i = 0; i < n; i++) {
		double x = ctw_volume_get(v, i);
		if (isfinite(x)) {
			a[m++] = (float)x;
			if (x < mn)
				mn = x;
		}
	}
	if (!m) {
		ctw_free(ctx, a);
		return ctw_error(ctx, CTW_ERR_FORMAT, "segment", "the image holds no finite intensity");
	}
	*lo = mn;
	*hi = select_kth(a, m, (int64_t)floor(0.99 * (double)(m - 1) + 0.5));
	ctw_free(ctx, a);
	return CTW_OK;
}

typedef struct netgrid {
	int x0, y0, x1, y1;      /* the crop on the image (pixels; x1, y1 exclusive)      */
	int wn, hn;              /* the crop in network pixels                              */
	int w, h, px, py;        /* the network's input (multiples) and the crop's offset   */
	double fx, fy;           /* image pixels per network pixel                          */
} netgrid;

static int plan_grid(ctw_ctx *ctx, const ctw_unet_info *ni, const ctw_volume *img, const int *crop, netgrid *g)
{
	int m = ni->multiple;
	g->x0 = crop ? crop[0] : 0;
	g->y0 = crop ? crop[1] : 0;
	g->x1 = crop ? crop[2] : (int)img->dim[0];
	g->y1 = crop ? crop[3] : (int)img->dim[1];
	if (g->x0 < 0 || g->y0 < 0 || g->x1 > img->dim[0] || g->y1 > img->dim[1] || g->x1 <= g->x0 || g->y1 <= g->y0)
		return ctw_error(ctx, CTW_ERR_INVALID, "segment", "crop %d,%d..%d,%d outside the image", g->x0, g->y0,
				 g->x1, g->y1);
	g->wn = (int)lround((g->x1 - g->x0) * img->spacing[0] / ni->pixel_mm);
	g->hn = (int)lround((g->y1 - g->y0) * img->spacing[1] / ni->pixel_mm);
	if (g->wn < 16 || g->hn < 16 || g->wn > 2048 || g->hn > 2048)
		return ctw_error(ctx, CTW_ERR_FORMAT, "segment",
				 "a slice of %d x %d pixels of %.3g x %.3g mm is %d x %d pixels of the network's "
				 "%.3g mm: not a cardiac field of view (16 to 2048 are accepted)",
				 g->x1 - g->x0, g->y1 - g->y0, img->spacing[0], img->spacing[1], g->wn, g->hn,
				 ni->pixel_mm);
	g->w = (g->wn + m - 1) / m * m;
	g->h = (g->hn + m - 1) / m * m;
	g->px = (g->w - g->wn) / 2;
	g->py = (g->h - g->hn) / 2;
	g->fx = (double)(g->x1 - g->x0) / g->wn;
	g->fy = (double)(g->y1 - g->y0) / g->hn;
	return CTW_OK;
}

/* Slice k of img, normalised, on the network grid (bilinear; zero outside the image). */
static void resample_in(const ctw_volume *img, int64_t k, const netgrid *g, double lo, double hi, float *out)
{
	const int64_t nx = img->dim[0], ny = img->dim[1], base = k * nx * ny;
	const double scale = hi > lo ? 1.0 / (hi - lo) : 0.0;
	for (int v = 0; v < g->h; v++) {
		double sy = g->y0 + (v - g->py + 0.5) * g->fy - 0.5;
		for (int u = 0; u < g->w; u++) {
			double sx = g->x0 + (u - g->px + 0.5) * g->fx - 0.5, acc = 0;
			float *o = &out[(size_t)v * g->w + u];
			if (sx < -0.5 || sy < -0.5 || sx > nx - 0.5 || sy > ny - 0.5) {
				*o = 0.0f;
				continue;
			}
			double cx = sx < 0 ? 0 : sx > nx - 1 ? (double)(nx - 1) : sx;
			double cy = sy < 0 ? 0 : sy > ny - 1 ? (double)(ny - 1) : sy;
			int64_t ix = (int64_t)cx, iy = (int64_t)cy;
			int64_t ix1 = ix + 1 < nx ? ix + 1 : ix, iy1 = iy + 1 < ny ? iy + 1 : iy;
			double ax = cx - (double)ix, ay = cy - (double)iy;
			double p[4] = { ctw_volume_get(img, base + iy * nx + ix), ctw_volume_get(img, base + iy * nx + ix1),
					ctw_volume_get(img, base + iy1 * nx + ix), ctw_volume_get(img, base + iy1 * nx + ix1) };
			for (int c = 0; c < 4; c++) {
				double x = isfinite(p[c]) ? p[c] : lo;
				x = x > hi ? hi : x;
				p[c] = (x - lo) * scale;
			}
			acc = (1 - ay) * ((1 - ax) * p[0] + ax * p[1]) + ay * ((1 - ax) * p[2] + ax * p[3]);
			*o = (float)acc;
		}
	}
}

/* Logits of one slice back on the image pixels of the crop: bilinear, argmax, softmax of it. */
static void resample_out(const float *logits, const netgrid *g, int64_t nx, uint8_t *lab, float *prob)
{
	const size_t plane = (size_t)g->w * (size_t)g->h;
	for (int y = g->y0; y < g->y1; y++) {
		double v = (y - g->y0 + 0.5) / g->fy - 0.5 + g->py;
		v = v < 0 ? 0 : v > g->h - 1 ? g->h - 1 : v;
		int iv = (int)v, iv1 = iv + 1 < g->h ? iv + 1 : iv;
		double av = v - iv;
		for (int x = g->x0; x < g->x1; x++) {
			double u = (x - g->x0 + 0.5) / g->fx - 0.5 + g->px, l[N_CLASSES], mx = -INFINITY, se = 0;
			u = u < 0 ? 0 : u > g->w - 1 ? g->w - 1 : u;
			int iu = (int)u, iu1 = iu + 1 < g->w ? iu + 1 : iu, best = 0;
			double au = u - iu;
			for (int c = 0; c < N_CLASSES; c++) {
				const float *L = logits + c * plane;
				l[c] = (1 - av) * ((1 - au) * L[(size_t)iv * g->w + iu] + au * L[(size_t)iv * g->w + iu1]) +
				       av * ((1 - au) * L[(size_t)iv1 * g->w + iu] + au * L[(size_t)iv1 * g->w + iu1]);
				if (l[c] > mx) {
					mx = l[c];
					best = c;
				}
			}
			for (int c = 0; c < N_CLASSES; c++)
				se += exp(l[c] - mx);
			lab[(int64_t)y * nx + x] = (uint8_t)best;
			prob[(int64_t)y * nx + x] = (float)(1.0 / se);
		}
	}
}

/* The network on the slices listed (n of them) within the crop; labels and probabilities of the
 * chosen label written into lab and prob (whole volume arrays; only those slices touched). */
static int segment_slices(ctw_ctx *ctx, const ctw_unet *net, const ctw_volume *img, const int *crop,
			  const int64_t *slices, int n, int threads, uint8_t *lab, float *prob)
{
	const ctw_unet_info *ni = ctw_unet_get_info(net);
	const int64_t nx = img->dim[0], plane = nx * img->dim[1];
	netgrid g = { 0 };
	double lo = 0, hi = 0;
	float *in = NULL, *logits = NULL;
	int ret;

	if (ni->in_channels != 1 || ni->n_classes != N_CLASSES)
		return ctw_error(ctx, CTW_ERR_INTERNAL, "segment", "the network has %d input channels and %d classes, "
				 "not 1 and %d", ni->in_channels, ni->n_classes, N_CLASSES);
	if ((ret = plan_grid(ctx, ni, img, crop, &g)) || (ret = norm_range(ctx, img, &lo, &hi)))
		return ret;
	in = ctw_malloc(ctx, sizeof(float) * (size_t)n * (size_t)g.w * (size_t)g.h);
	logits = ctw_malloc(ctx, sizeof(float) * (size_t)n * N_CLASSES * (size_t)g.w * (size_t)g.h);
	if (!in || !logits) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (int s = 0; s < n; s++)
		resample_in(img, slices[s], &g, lo, hi, in + (size_t)s * g.w * g.h);
	if ((ret = ctw_unet_forward(ctx, net, in, n, g.h, g.w, logits, threads)))
		goto out;
	for (int s = 0; s < n; s++)
		resample_out(logits + (size_t)s * N_CLASSES * g.w * g.h, &g, nx, lab + slices[s] * plane,
			     prob + slices[s] * plane);
out:
	ctw_free(ctx, in);
	ctw_free(ctx, logits);
	return ret;
}

static int new_labels(ctw_ctx *ctx, const ctw_volume *img, ctw_volume **lab, float **prob)
{
	int ret = ctw_volume_new(ctx, img->dim, CTW_U8, lab);
	if (ret)
		return ret;
	ctw_volume_copy_geometry(*lab, img);
	memset((*lab)->data, 0, (size_t)ctw_volume_count(img));
	*prob = ctw_calloc(ctx, (size_t)ctw_volume_count(img), sizeof(float));
	if (!*prob) {
		ctw_volume_free(ctx, *lab);
		*lab = NULL;
		return CTW_ERR_NOMEM;
	}
	return CTW_OK;
}

int ctw_automr_find_heart(ctw_ctx *ctx, const ctw_unet *net, const ctw_volume *image, double margin_mm, int threads,
			  int crop[4], char *note_out, size_t cap)
{
	const int64_t nx = image->dim[0], ny = image->dim[1], nz = image->dim[2], plane = nx * ny;
	int64_t slices[3], cnt = 0;
	ctw_volume *lab = NULL;
	float *prob = NULL;
	double ci = 0, cj = 0;
	int n = 0, ret, bb[4] = { (int)nx, (int)ny, -1, -1 };

	crop[0] = crop[1] = 0;
	crop[2] = (int)nx;
	crop[3] = (int)ny;
	if (note_out && cap)
		note_out[0] = '\0';
	for (int t = 1; t <= 3; t++) {
		int64_t k = t == 1 ? nz / 2 : t == 2 ? nz / 3 : 2 * nz / 3;
		int dup = 0;
		for (int s = 0; s < n; s++)
			dup |= slices[s] == k;
		if (!dup)
			slices[n++] = k;
	}
	if ((ret = new_labels(ctx, image, &lab, &prob)) ||
	    (ret = segment_slices(ctx, net, image, NULL, slices, n, threads, lab->data, prob)))
		goto out;
	const uint8_t *L = lab->data;
	for (int s = 0; s < n; s++)
		for (int64_t p = slices[s] * plane; p < (slices[s] + 1) * plane; p++)
			if (L[p] == LVB) {
				ci += (double)((p % plane) % nx);
				cj += (double)((p % plane) / nx);
				cnt++;
			}
	if (!cnt) {
		if (note_out)
			snprintf(note_out, cap, "no LV blood pool on the middle slices: the whole field of view");
		goto out;
	}
	ci /= (double)cnt;
	cj /= (double)cnt;
	for (int s = 0; s < n; s++)
		for (int64_t p = slices[s] * plane; p < (slices[s] + 1) * plane; p++) {
			int64_t i = (p % plane) % nx, j = (p % plane) / nx;
			double di = ((double)i - ci) * image->spacing[0], dj = ((double)j - cj) * image->spacing[1];
			if (!L[p] || di * di + dj * dj > CTW_AUTOMR_HEART_MM * CTW_AUTOMR_HEART_MM)
				continue;
			bb[0] = (int)i < bb[0] ? (int)i : bb[0];
			bb[1] = (int)j < bb[1] ? (int)j : bb[1];
			bb[2] = (int)i > bb[2] ? (int)i : bb[2];
			bb[3] = (int)j > bb[3] ? (int)j : bb[3];
		}
	int mi = (int)ceil(margin_mm / image->spacing[0]), mj = (int)ceil(margin_mm / image->spacing[1]);
	crop[0] = bb[0] - mi < 0 ? 0 : bb[0] - mi;
	crop[1] = bb[1] - mj < 0 ? 0 : bb[1] - mj;
	crop[2] = bb[2] + 1 + mi > nx ? (int)nx : bb[2] + 1 + mi;
	crop[3] = bb[3] + 1 + mj > ny ? (int)ny : bb[3] + 1 + mj;
	if (note_out)
		snprintf(note_out, cap,
			 "heart found on %d slice%s: LV centre at pixel (%.0f, %.0f); crop %d..%d x %d..%d "
			 "(%.0f x %.0f mm, %.0f mm margin)", n, n == 1 ? "" : "s", ci, cj, crop[0], crop[2] - 1, crop[1],
			 crop[3] - 1, (crop[2] - crop[0]) * image->spacing[0], (crop[3] - crop[1]) * image->spacing[1],
			 margin_mm);
out:
	ctw_volume_free(ctx, lab);
	ctw_free(ctx, prob);
	return ret;
}

int ctw_automr_segment(ctw_ctx *ctx, const ctw_unet *net, const ctw_volume *image, const int *crop, int threads,
		       ctw_volume **labels, float *confidence)
{
	const int64_t nz = image->dim[2], plane = image->dim[0] * image->dim[1];
	int64_t *slices = NULL;
	ctw_volume *lab = NULL;
	float *prob = NULL;
	int ret;

	*labels = NULL;
	if (nz > 1024)
		return ctw_error(ctx, CTW_ERR_FORMAT, "segment", "%lld slices: not a short-axis stack", (long long)nz);
	if ((ret = new_labels(ctx, image, &lab, &prob)))
		return ret;
	slices = ctw_malloc(ctx, sizeof(*slices) * (size_t)nz);
	if (!slices) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (int64_t k = 0; k < nz; k++)
		slices[k] = k;
	if ((ret = segment_slices(ctx, net, image, crop, slices, (int)nz, threads, lab->data, prob)))
		goto out;
	if (confidence) {
		const uint8_t *L = lab->data;
		for (int64_t k = 0; k < nz; k++) {
			double s = 0;
			int64_t c = 0;
			for (int64_t p = k * plane; p < (k + 1) * plane; p++)
				if (L[p]) {
					s += prob[p];
					c++;
				}
			confidence[k] = c ? (float)(s / (double)c) : NAN;
		}
	}
	*labels = lab;
	lab = NULL;
out:
	ctw_free(ctx, slices);
	ctw_free(ctx, prob);
	ctw_volume_free(ctx, lab);
	return ret;
}

int ctw_automr_touches_crop(const ctw_volume *labels, const int crop[4])
{
	const int64_t nx = labels->dim[0], ny = labels->dim[1], plane = nx * ny;
	const uint8_t *L = labels->data;
	for (int64_t k = 0; k < labels->dim[2]; k++) {
		const uint8_t *s = L + k * plane;
		for (int x = crop[0]; x < crop[2]; x++)
			if ((crop[1] > 0 && s[(int64_t)crop[1] * nx + x]) || (crop[3] < ny && s[(int64_t)(crop[3] - 1) * nx + x]))
				return 1;
		for (int y = crop[1]; y < crop[3]; y++)
			if ((crop[0] > 0 && s[(int64_t)y * nx + crop[0]]) || (crop[2] < nx && s[(int64_t)y * nx + crop[2] - 1]))
				return 1;
	}
	return 0;
}

double ctw_automr_lv_ml(const ctw_volume *labels)
{
	const uint8_t *L = labels->data;
	int64_t c = 0;
	for (int64_t p = 0; p < ctw_volume_count(labels); p++)
		c += L[p] == LVB;
	return (double)c * labels->spacing[0] * labels->spacing[1] * labels->spacing[2] / 1000.0;
}

/* ---- after the network ---------------------------------------------------------------------- */

/* In slice s (nx x ny), pixels that are not `inside` and not reachable from the border without
 * crossing `inside`, and whose label is in `from` (a bit set), become `inside`. Returns the count;
 * -1 when out of memory. stack: nx*ny scratch ints; seen: nx*ny scratch bytes. */
static int64_t fill_enclosed(uint8_t *s, int64_t nx, int64_t ny, uint8_t inside, unsigned from, int64_t *stack,
			     uint8_t *seen)
{
	int64_t top = 0, n = 0;
	memset(seen, 0, (size_t)(nx * ny));
	for (int64_t j = 0; j < ny; j++)
		for (int64_t i = 0; i < nx; i++) {
			int64_t p = j * nx + i;
			if ((i == 0 || j == 0 || i == nx - 1 || j == ny - 1) && s[p] != inside && !seen[p]) {
				seen[p] = 1;
				stack[top++] = p;
			}
		}
	while (top) {
		int64_t p = stack[--top], i = p % nx, j = p / nx;
		int64_t nb[4] = { i > 0 ? p - 1 : -1, i < nx - 1 ? p + 1 : -1, j > 0 ? p - nx : -1, j < ny - 1 ? p + nx : -1 };
		for (int d = 0; d < 4; d++)
			if (nb[d] >= 0 && !seen[nb[d]] && s[nb[d]] != inside) {
				seen[nb[d]] = 1;
				stack[top++] = nb[d];
			}
	}
	for (int64_t p = 0; p < nx * ny; p++)
		if (!seen[p] && s[p] != inside && (from >> s[p] & 1u)) {
			s[p] = inside;
			n++;
		}
	return n;
}

/* Of the in-plane 4-neighbour contacts of the LV blood in slice s, the fraction with background
 * or RV blood (the blood pool open there); -1 without LV blood. */
static double open_fraction(const uint8_t *s, int64_t nx, int64_t ny)
{
	int64_t open = 0, all = 0;
	for (int64_t j = 0; j < ny; j++)
		for (int64_t i = 0; i < nx; i++) {
			if (s[j * nx + i] != LVB)
				continue;
			int64_t nb[4] = { i > 0 ? j * nx + i - 1 : -1, i < nx - 1 ? j * nx + i + 1 : -1,
					  j > 0 ? (j - 1) * nx + i : -1, j < ny - 1 ? (j + 1) * nx + i : -1 };
			for (int d = 0; d < 4; d++) {
				int l = nb[d] < 0 ? BG : s[nb[d]];
				if (l == LVB)
					continue;
				all++;
				open += l == BG || l == RVB;
			}
		}
	return all ? (double)open / (double)all : -1.0;
}

/* Closes the myocardium round the LV blood of slice s: background and RV blood within r_mm of the
 * blood pool (in-plane) become myocardium. Returns the pixels changed. */
static int64_t close_ring(uint8_t *s, int64_t nx, int64_t ny, double sx, double sy, double r_mm)
{
	int ri = (int)ceil(r_mm / sx), rj = (int)ceil(r_mm / sy);
	int64_t n = 0;
	for (int64_t j = 0; j < ny; j++)
		for (int64_t i = 0; i < nx; i++) {
			uint8_t *p = &s[j * nx + i];
			int hit = 0;
			if (*p != BG && *p != RVB)
				continue;
			for (int dj = -rj; dj <= rj && !hit; dj++)
				for (int di = -ri; di <= ri && !hit; di++) {
					int64_t a = i + di, b = j + dj;
					double d2 = (di * sx) * (di * sx) + (dj * sy) * (dj * sy);
					if (a >= 0 && b >= 0 && a < nx && b < ny && d2 <= r_mm * r_mm && s[b * nx + a] == LVB)
						hit = 1;
				}
			if (hit) {
				*p = 9; /* marked: not blood for the next pixels' test */
				n++;
			}
		}
	for (int64_t p = 0; p < nx * ny; p++)
		if (s[p] == 9)
			s[p] = MYO;
	return n;
}

int ctw_automr_repair(ctw_ctx *ctx, const char *what, ctw_volume *labels, const float *confidence, char **log)
{
	const int64_t nx = labels->dim[0], ny = labels->dim[1], nz = labels->dim[2], plane = nx * ny;
	uint8_t *L = labels->data, *seen = NULL;
	int64_t *stack = NULL, changed = 0, k0 = -1, k1 = -1;
	double *openf = NULL;
	logbuf b = { ctx, NULL, 0, 0, 0 };
	char list[512];
	int ret = CTW_OK, n_open = 0, n_lv = 0;
	/* the wall closing an open blood pool: the mesher's thinnest comfortable wall */
	const double ring_mm = 3.0;

	*log = NULL;
	if (labels->dtype != CTW_U8)
		return ctw_error(ctx, CTW_ERR_INTERNAL, "segment", "automatic labels must be uint8");
	stack = ctw_malloc(ctx, sizeof(*stack) * (size_t)plane * 4);
	seen = ctw_malloc(ctx, (size_t)plane);
	openf = ctw_malloc(ctx, sizeof(*openf) * (size_t)nz);
	if (!stack || !seen || !openf) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	/* 1. the largest 3-D component of each label (islands go to the label around them) */
	if ((ret = ctw_seg_largest_component(ctx, labels, &changed)))
		goto out;
	ctw_seglog_note(&b, "auto: largest 3-D component per label: %lld voxels changed", (long long)changed);
	/* 2. the slices with LV blood: one run (a 3-D component); none: no LV */
	for (int64_t k = 0; k < nz; k++) {
		int has = 0;
		for (int64_t p = k * plane; p < (k + 1) * plane && !has; p++)
			has = L[p] == LVB;
		if (has) {
			k0 = k0 < 0 ? k : k0;
			k1 = k;
		}
	}
	if (k0 < 0) {
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, what,
				"the network found no LV blood pool on any of the %lld slices: is this a short-axis cine "
				"MR stack of the heart?", (long long)nz);
		goto out;
	}
	/* 3. holes in each slice: LV blood enclosing background or myocardium (papillary muscles,
	 * counted as blood pool as in the training labels); RV blood enclosing background */
	changed = 0;
	for (int64_t k = k0; k <= k1; k++) {
		changed += fill_enclosed(L + k * plane, nx, ny, LVB, 1u << BG | 1u << MYO, stack, seen);
		changed += fill_enclosed(L + k * plane, nx, ny, RVB, 1u << BG, stack, seen);
	}
	ctw_seglog_note(&b, "auto: holes filled in each slice: %lld pixels", (long long)changed);
	/* 4. the blood pool enclosed by myocardium on every slice: slices at the ends of the run where
	 * it is mostly open (atrium or outflow above the base) are trimmed; elsewhere it is closed */
	for (int64_t k = k0; k <= k1; k++)
		openf[k] = open_fraction(L + k * plane, nx, ny);
	while (k0 < k1 && openf[k0] > 0.5) {
		ctw_seglog_note(&b, "auto: slice %lld trimmed: its LV blood is %.0f %% open (above the base or beyond the apex)",
		     (long long)k0 + 1, 100 * openf[k0]);
		memset(L + k0 * plane, 0, (size_t)plane);
		k0++;
	}
	while (k1 > k0 && openf[k1] > 0.5) {
		ctw_seglog_note(&b, "auto: slice %lld trimmed: its LV blood is %.0f %% open (above the base or beyond the apex)",
		     (long long)k1 + 1, 100 * openf[k1]);
		memset(L + k1 * plane, 0, (size_t)plane);
		k1--;
	}
	list[0] = '\0';
	for (int64_t k = k0; k <= k1; k++) {
		if (openf[k] < 0)
			continue;
		n_lv++;
		if (openf[k] > 0.5) {
			size_t l = strlen(list);
			n_open++;
			snprintf(list + l, sizeof(list) - l, "%s%lld", l ? ", " : "", (long long)k + 1);
		}
	}
	if (n_lv < 2) {
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, what,
				"the network found an LV blood pool on %d slice%s only (slice %lld): not a short-axis "
				"stack of a heart it recognises", n_lv, n_lv == 1 ? "" : "s", (long long)k0 + 1);
		goto out;
	}
	if (2 * n_open > n_lv) {
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, what,
				"the LV blood pool is not enclosed by myocardium on %d of its %d slices (%s): the network "
				"did not recognise this heart", n_open, n_lv, list);
		goto out;
	}
	/* 5. nothing more than one slice beyond the LV blood (myocardium of the apex is kept) */
	changed = 0;
	for (int64_t k = 0; k < nz; k++) {
		if (k >= k0 - 1 && k <= k1 + 1)
			continue;
		for (int64_t p = k * plane; p < (k + 1) * plane; p++)
			if (L[p]) {
				L[p] = BG;
				changed++;
			}
	}
	if (changed)
		ctw_seglog_note(&b, "auto: labels more than one slice beyond the LV blood pool removed: %lld voxels", (long long)changed);
	changed = 0;
	for (int64_t k = k0; k <= k1; k++) {
		int64_t c;
		if (openf[k] <= 0)
			continue;
		c = close_ring(L + k * plane, nx, ny, labels->spacing[0], labels->spacing[1], ring_mm);
		changed += c;
		ctw_seglog_note(&b, "auto: slice %lld: myocardium closed round the LV blood pool (%.0f %% open): %lld pixels",
		     (long long)k + 1, 100 * openf[k], (long long)c);
	}
	/* 6. the confidence of each slice, for the QA report */
	for (int64_t k = 0; k < nz; k++) {
		int64_t c[4] = { 0 };
		for (int64_t p = k * plane; p < (k + 1) * plane; p++)
			c[L[p] & 3]++;
		if (c[1] + c[2] + c[3] == 0)
			continue;
		ctw_seglog_note(&b, "auto: slice %3lld: LV blood %7.1f mm2, myocardium %7.1f mm2, RV blood %7.1f mm2, confidence %.3f",
		     (long long)k + 1, (double)c[1] * labels->spacing[0] * labels->spacing[1],
		     (double)c[2] * labels->spacing[0] * labels->spacing[1],
		     (double)c[3] * labels->spacing[0] * labels->spacing[1], confidence ? (double)confidence[k] : NAN);
		if (confidence && isfinite(confidence[k]) && confidence[k] < 0.75f &&
		    (ret = ctw_warn(ctx, what, "slice %lld: the network is unsure (confidence %.2f); review it",
				    (long long)k + 1, (double)confidence[k])))
			goto out;
	}
	if (b.failed) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	*log = b.s;
	b.s = NULL;
out:
	ctw_free(ctx, b.s);
	ctw_free(ctx, stack);
	ctw_free(ctx, seen);
	ctw_free(ctx, openf);
	return ret;
}
