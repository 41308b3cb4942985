/* raster.c: the software rasteriser of the QA pictures (qa_int.h): RGB8 images, convex polygons
 * sampled at pixel centres with a half-open rule (neighbouring polygons neither overlap nor leave
 * gaps, so pixel counts measure areas), lines, a 5x7 bitmap font, and a deterministic PNG writer. */
#include "qa_int.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

int ctw_img_init(ctw_ctx *ctx, ctw_img *im, int w, int h)
{
	im->w = w;
	im->h = h;
	im->rgb = ctw_malloc(ctx, (size_t)3 * (size_t)w * (size_t)h);
	if (!im->rgb)
		return CTW_ERR_NOMEM;
	memset(im->rgb, 255, (size_t)3 * (size_t)w * (size_t)h);
	return CTW_OK;
}

void ctw_img_release(ctw_ctx *ctx, ctw_img *im)
{
	ctw_free(ctx, im->rgb);
	im->rgb = NULL;
}

void ctw_img_put(ctw_img *im, int x, int y, const uint8_t c[3])
{
	if (x < 0 || y < 0 || x >= im->w || y >= im->h)
		return;
	uint8_t *p = im->rgb + 3 * ((size_t)y * (size_t)im->w + (size_t)x);
	p[0] = c[0];
	p[1] = c[1];
	p[2] = c[2];
}

void ctw_img_blend(ctw_img *im, int x, int y, const uint8_t c[3], double alpha)
{
	if (x < 0 || y < 0 || x >= im->w || y >= im->h)
		return;
	uint8_t *p = im->rgb + 3 * ((size_t)y * (size_t)im->w + (size_t)x);
	for (int k = 0; k < 3; k++)
		p[k] = (uint8_t)lround(alpha * c[k] + (1 - alpha) * p[k]);
}

void ctw_img_rect(ctw_img *im, int x0, int y0, int x1, int y1, const uint8_t c[3])
{
	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > im->w ? im->w : x1;
	y1 = y1 > im->h ? im->h : y1;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			ctw_img_put(im, x, y, c);
}

void ctw_img_frame(ctw_img *im, int x0, int y0, int x1, int y1, const uint8_t c[3])
{
	ctw_img_rect(im, x0, y0, x1, y0 + 1, c);
	ctw_img_rect(im, x0, y1 - 1, x1, y1, c);
	ctw_img_rect(im, x0, y0, x0 + 1, y1, c);
	ctw_img_rect(im, x1 - 1, y0, x1, y1, c);
}

void ctw_img_line(ctw_img *im, double x0, double y0, double x1, double y1, int width, const uint8_t c[3])
{
	const double dx = x1 - x0, dy = y1 - y0;
	const double len = fmax(fabs(dx), fabs(dy));
	const int steps = len > 1e6 || !isfinite(len) ? 0 : (int)ceil(len);
	const int lo = -(width - 1) / 2, hi = width / 2;

	if (!isfinite(len))
		return;
	for (int s = 0; s <= steps; s++) {
		const double t = steps ? (double)s / steps : 0;
		const int x = (int)floor(x0 + t * dx), y = (int)floor(y0 + t * dy);
		for (int a = lo; a <= hi; a++)
			for (int b = lo; b <= hi; b++)
				ctw_img_put(im, x + a, y + b, c);
	}
}

int64_t ctw_img_poly(ctw_img *im, const double (*p)[2], int n, const uint8_t c[3], double alpha, int32_t *ids,
		     int32_t id)
{
	double ymin = INFINITY, ymax = -INFINITY;
	int64_t filled = 0;

	if (n < 3 || n > 8)
		return 0;
	for (int i = 0; i < n; i++) {
		if (!isfinite(p[i][0]) || !isfinite(p[i][1]))
			return 0;
		ymin = fmin(ymin, p[i][1]);
		ymax = fmax(ymax, p[i][1]);
	}
	/* rows whose centre j + 0.5 lies in [ymin, ymax) */
	int j0 = (int)ceil(fmax(ymin, -1.0) - 0.5), j1 = (int)ceil(fmin(ymax, im->h + 1.0) - 0.5);
	j0 = j0 < 0 ? 0 : j0;
	j1 = j1 > im->h ? im->h : j1;
	for (int j = j0; j < j1; j++) {
		const double yc = j + 0.5;
		double xl = INFINITY, xr = -INFINITY;
		for (int i = 0; i < n; i++) {
			const double *a = p[i], *b = p[(i + 1) % n];
			if (a[1] > b[1]) { /* the same edge from either side gives the same x */
				const double *t = a;
				a = b;
				b = t;
			}
			if (!(a[1] <= yc && yc < b[1]))
				continue;
			const double x = a[0] + (yc - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
			xl = fmin(xl, x);
			xr = fmax(xr, x);
		}
		if (!(xl < xr))
			continue;
		int i0 = (int)ceil(fmax(xl, -1.0) - 0.5), i1 = (int)ceil(fmin(xr, im->w + 1.0) - 0.5);
		i0 = i0 < 0 ? 0 : i0;
		i1 = i1 > im->w ? im->w : i1;
		for (int i = i0; i < i1; i++) {
			if (alpha >= 1) {
				uint8_t *q = im->rgb + 3 * ((size_t)j * (size_t)im->w + (size_t)i);
				q[0] = c[0];
				q[1] = c[1];
				q[2] = c[2];
				if (ids)
					ids[(size_t)j * (size_t)im->w + (size_t)i] = id;
			} else {
				ctw_img_blend(im, i, j, c, alpha);
			}
		}
		filled += i1 > i0 ? i1 - i0 : 0;
	}
	return filled;
}

/* ---- the 5x7 font: 7 rows of 5 bits (bit 4 leftmost) per glyph ---------------------------------- */

static const char font_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-+.%/:=_()<>,";
static const uint8_t font_rows[][7] = {
	{ 0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E }, /* 0 */
	{ 0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E }, /* 1 */
	{ 0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F }, /* 2 */
	{ 0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E }, /* 3 */
	{ 0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02 }, /* 4 */
	{ 0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E }, /* 5 */
	{ 0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E }, /* 6 */
	{ 0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08 }, /* 7 */
	{ 0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E }, /* 8 */
	{ 0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C }, /* 9 */
	{ 0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11 }, /* A */
	{ 0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E }, /* B */
	{ 0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E }, /* C */
	{ 0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C }, /* D */
	{ 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F }, /* E */
	{ 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10 }, /* F */
	{ 0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F }, /* G */
	{ 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11 }, /* H */
	{ 0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E }, /* I */
	{ 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C }, /* J */
	{ 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11 }, /* K */
	{ 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F }, /* L */
	{ 0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11 }, /* M */
	{ 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11 }, /* N */
	{ 0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E }, /* O */
	{ 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10 }, /* P */
	{ 0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D }, /* Q */
	{ 0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11 }, /* R */
	{ 0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E }, /* S */
	{ 0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 }, /* T */
	{ 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E }, /* U */
	{ 0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04 }, /* V */
	{ 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A }, /* W */
	{ 0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11 }, /* X */
	{ 0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04 }, /* Y */
	{ 0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F }, /* Z */
	{ 0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00 }, /* - */
	{ 0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00 }, /* + */
	{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C }, /* . */
	{ 0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03 }, /* % */
	{ 0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00 }, /* / */
	{ 0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00 }, /* : */
	{ 0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00 }, /* = */
	{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F }, /* _ */
	{ 0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02 }, /* ( */
	{ 0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08 }, /* ) */
	{ 0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02 }, /* < */
	{ 0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08 }, /* > */
	{ 0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08 }, /* , */
};

void ctw_img_text(ctw_img *im, int x, int y, const char *s, int scale, const uint8_t c[3])
{
	for (; *s; s++, x += 6 * scale) {
		char ch = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
		const char *f = ch ? strchr(font_chars, ch) : NULL;
		if (!f)
			continue;
		const uint8_t *g = font_rows[f - font_chars];
		for (int r = 0; r < 7; r++)
			for (int b = 0; b < 5; b++)
				if (g[r] & (0x10 >> b))
					ctw_img_rect(im, x + b * scale, y + r * scale, x + (b + 1) * scale,
						     y + (r + 1) * scale, c);
	}
}

int ctw_img_text_width(const char *s, int scale)
{
	const int n = (int)strlen(s);
	return n ? (6 * n - 1) * scale : 0;
}

/* ---- PNG ------------------------------------------------------------------------------------------ */

typedef struct png_err {
	char msg[256];
} png_err;

static void png_error_cb(png_structp png, png_const_charp msg)
{
	png_err *e = png_get_error_ptr(png);
	snprintf(e->msg, sizeof(e->msg), "%s", msg ? msg : "libpng error");
	png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* The libpng part, apart so that nothing it touches after setjmp lives in the caller's frame. */
static int png_encode(FILE *f, const ctw_img *im, const char *const *keys, const char *const *values, int n_text,
		      png_err *e)
{
	const int n = n_text > 8 ? 8 : n_text;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, e, png_error_cb, png_warning_cb);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	png_text text[8];

	if (!png || !info) {
		snprintf(e->msg, sizeof(e->msg), "out of memory in libpng");
		png_destroy_write_struct(&png, NULL);
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	png_init_io(png, f);
	png_set_compression_level(png, 6);
	png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	memset(text, 0, sizeof(text));
	for (int i = 0; i < n; i++) {
		text[i].compression = PNG_TEXT_COMPRESSION_NONE;
		text[i].key = (png_charp)(uintptr_t)keys[i];
		text[i].text = (png_charp)(uintptr_t)values[i];
		text[i].text_length = strlen(values[i]);
	}
	if (n > 0)
		png_set_text(png, info, text, n);
	png_write_info(png, info);
	for (int y = 0; y < im->h; y++)
		png_write_row(png, im->rgb + 3 * (size_t)y * (size_t)im->w);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int ctw_img_write_png(ctw_ctx *ctx, const ctw_img *im, const char *path, const char *const *keys,
		      const char *const *values, int n)
{
	png_err e = { "" };
	FILE *f = fopen(path, "wb");
	int bad;

	if (!f)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot create: %s", strerror(errno));
	bad = png_encode(f, im, keys, values, n, &e);
	if (!bad && (fflush(f) || ferror(f))) {
		bad = 1;
		snprintf(e.msg, sizeof(e.msg), "%s", strerror(errno));
	}
	if (fclose(f) && !bad) {
		bad = 1;
		snprintf(e.msg, sizeof(e.msg), "%s", strerror(errno));
	}
	if (bad) {
		remove(path);
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s", e.msg[0] ? e.msg : "write error");
	}
	return CTW_OK;
}
