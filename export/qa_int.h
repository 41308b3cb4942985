/* qa_int.h: the tiny software rasteriser behind the QA pictures (raster.c), private to export/:
 * an RGB8 image with a white background, convex polygons sampled at pixel centres, lines,
 * rectangles, alpha blending, a 5x7 bitmap font (digits, capitals and a few signs), and a PNG
 * writer (libpng) whose output depends on the pixels and text chunks only (no time stamp). */
#ifndef CTW_QA_INT_H
#define CTW_QA_INT_H

#include <stdint.h>

#include "ctw.h"

typedef struct ctw_img {
	int w, h;
	uint8_t *rgb; /* 3*w*h, row-major, top row first, owned (ctw_malloc)          */
} ctw_img;

/* A white w x h image. CTW_ERR_NOMEM. */
int ctw_img_init(ctw_ctx *ctx, ctw_img *im, int w, int h);
void ctw_img_release(ctw_ctx *ctx, ctw_img *im);
/* Sets / blends (alpha 0..1 of c over the pixel) one pixel; outside the image: nothing. */
void ctw_img_put(ctw_img *im, int x, int y, const uint8_t c[3]);
void ctw_img_blend(ctw_img *im, int x, int y, const uint8_t c[3], double alpha);
/* Fills the pixels [x0, x1) x [y0, y1) (clipped). */
void ctw_img_rect(ctw_img *im, int x0, int y0, int x1, int y1, const uint8_t c[3]);
/* The 1-pixel outline of [x0, x1) x [y0, y1). */
void ctw_img_frame(ctw_img *im, int x0, int y0, int x1, int y1, const uint8_t c[3]);
/* A line from (x0, y0) to (x1, y1) in pixel coordinates (pixel i covers [i, i+1)), `width`
 * pixels wide (1 or more), drawn with one sample per step along the major axis. */
void ctw_img_line(ctw_img *im, double x0, double y0, double x1, double y1, int width, const uint8_t c[3]);
/* Fills the convex polygon p[0..n) (n <= 8, pixel coordinates, either winding): every pixel
 * whose centre lies inside or on its left/top edges. alpha >= 1 overwrites (and, when ids is
 * not NULL, stores id in ids[y * w + x]); alpha < 1 blends. Returns the pixels filled. */
int64_t ctw_img_poly(ctw_img *im, const double (*p)[2], int n, const uint8_t c[3], double alpha, int32_t *ids,
		     int32_t id);
/* Text in the 5x7 font, `scale` pixels per font dot, top-left corner (x, y); lowercase is
 * drawn as capitals, characters without a glyph as blanks. Advance: 6 * scale per character. */
void ctw_img_text(ctw_img *im, int x, int y, const char *s, int scale, const uint8_t c[3]);
/* Width in pixels of s in ctw_img_text at scale. */
int ctw_img_text_width(const char *s, int scale);
/* Writes the image as an 8-bit RGB PNG (zlib level 6, default filters) with n tEXt chunks
 * (keys[i], values[i]: Latin-1 keywords of 1..79 bytes) and nothing time-dependent, so the same
 * pixels give the same bytes. CTW_ERR_IO naming path (the partial file removed). */
int ctw_img_write_png(ctw_ctx *ctx, const ctw_img *im, const char *path, const char *const *keys,
		      const char *const *values, int n);

#endif
