/* contour_score.c: the outline of a 2D mask as a polygon (marching squares) and the distances
 * between two contours, for scoring automatic segmentations against expert contours the way the
 * MICCAI 2009 LV segmentation challenge did (evaluate --contours).
 *
 * The challenge's definitions, from its evaluation code as published (compare_contours.m by
 * P. Radau and Y. Lu, Sunnybrook, versions 0.9 of 2009-05-11 and 1.0 of 2009-06-29, found with
 * the project's code search; described here, not copied):
 * - average perpendicular distance (calc_dist): for each point of the automatic contour, the
 *   normal of the automatic contour there (from the tangent of a spline through it and its two
 *   neighbours) is intersected with the line fitted through the expert point nearest that
 *   normal and the expert point's two neighbours; the point's distance is the distance to that
 *   intersection; the contour's APD is the mean over the automatic points, times the pixel
 *   spacing. Version 1.0 has a switch to measure from the expert contour instead; the default
 *   and version 0.9 measure from the automatic one, as here.
 * - Dice (calc_dm): of the two polygons rasterised on the image grid (poly2mask).
 * - a contour is good when its APD is below dist_limit (4 mm in version 0.9, a parameter in
 *   1.0; the challenge's paper and this issue: 5 mm); good % = (automatic contours found - bad
 *   ones) / expert contours, so a missing automatic contour counts as not good; the mean APD and
 *   Dice are over the good contours only.
 * Here the distance of a point is the exact distance to the nearest expert edge: the same
 * perpendicular distance wherever the perpendicular foot lies on an edge, without the local
 * line fit and spline tangent (which differ from it by a fraction of the point spacing on
 * smooth contours). */
#include "contours.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- marching squares --------------------------------------------------------------------- */

/* The grid is padded by one background pixel on every side (W x H points), so every outline
 * closes. Edge ids: the horizontal edge from point (i, j) to (i+1, j) is 2(jW + i), the vertical
 * one from (i, j) to (i, j+1) is 2(jW + i) + 1. An outline vertex lies at the middle of a grid
 * edge joining a foreground and a background pixel centre (the 0.5 level of the binary mask). */

static void edge_point(int64_t e, int64_t W, double *x, double *y)
{
	int64_t p = e >> 1, i = p % W, j = p / W;
	*x = (double)i - 1 + ((e & 1) ? 0 : 0.5); /* -1: back to the unpadded pixel coordinates */
	*y = (double)j - 1 + ((e & 1) ? 0.5 : 0);
}

int ctw_mask_outline(ctw_ctx *ctx, const uint8_t *mask, int rows, int cols, ctw_contour *out)
{
	const int64_t W = (int64_t)cols + 2, H = (int64_t)rows + 2, ne = 2 * W * H;
	int32_t *next = NULL;
	uint8_t *seen = NULL;
	double best_area = 0;
	int64_t best_start = -1, best_n = 0;
	int ret = CTW_OK;

	memset(out, 0, sizeof(*out));
	if (rows <= 0 || cols <= 0)
		return CTW_OK;
	if (ne > INT32_MAX)
		return ctw_error(ctx, CTW_ERR_INVALID, "outline", "a %d x %d slice is too large", cols, rows);
	next = ctw_malloc(ctx, (size_t)ne * sizeof(*next));
	seen = ctw_calloc(ctx, (size_t)ne, 1);
	if (!next || !seen) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (int64_t e = 0; e < ne; e++)
		next[e] = -1;
#define V(i, j) ((i) >= 1 && (i) <= cols && (j) >= 1 && (j) <= rows && mask[((j) - 1) * (int64_t)cols + (i) - 1])
	for (int64_t j = 0; j + 1 < H; j++) {
		for (int64_t i = 0; i + 1 < W; i++) {
			/* corners a (i, j), b (i+1, j), c (i+1, j+1), d (i, j+1); y grows downwards */
			const int a = V(i, j), b = V(i + 1, j), c = V(i + 1, j + 1), d = V(i, j + 1);
			const int64_t top = 2 * (j * W + i), bottom = 2 * ((j + 1) * W + i), left = 2 * (j * W + i) + 1,
				      right = 2 * (j * W + i + 1) + 1;
			int64_t seg[2][2];
			int nseg = 0;
			double fx, fy;
			if (a == b && b == c && c == d)
				continue;
			if (a == c && b == d && a != b) {
				/* a saddle: the foreground diagonal is joined (the cell centre counts as foreground),
				 * so the two segments cut off the two background corners */
				if (a) {
					seg[0][0] = top, seg[0][1] = right;   /* cuts off b */
					seg[1][0] = bottom, seg[1][1] = left; /* cuts off d */
				} else {
					seg[0][0] = top, seg[0][1] = left;    /* cuts off a */
					seg[1][0] = right, seg[1][1] = bottom; /* cuts off c */
				}
				nseg = 2;
				fx = (double)i + 0.5, fy = (double)j + 0.5;
			} else {
				int64_t cut[4];
				int k = 0;
				if (a != b)
					cut[k++] = top;
				if (b != c)
					cut[k++] = right;
				if (d != c)
					cut[k++] = bottom;
				if (a != d)
					cut[k++] = left;
				seg[0][0] = cut[0], seg[0][1] = cut[1];
				nseg = 1;
				/* a foreground corner: every one lies on the same side of the segment */
				if (a)
					fx = (double)i, fy = (double)j;
				else if (b)
					fx = (double)i + 1, fy = (double)j;
				else if (c)
					fx = (double)i + 1, fy = (double)j + 1;
				else
					fx = (double)i, fy = (double)j + 1;
			}
			for (int s = 0; s < nseg; s++) {
				double px, py, qx, qy, cr;
				int64_t from = seg[s][0], to = seg[s][1];
				edge_point(from, W, &px, &py);
				edge_point(to, W, &qx, &qy);
				/* orientation: the foreground on the same side of every segment */
				cr = (qx - px) * (fy - 1 - py) - (qy - py) * (fx - 1 - px);
				if (cr < 0) {
					int64_t t = from;
					from = to;
					to = t;
				}
				next[from] = (int32_t)to;
			}
		}
	}
#undef V
	/* the closed loops; the largest by area is the outline (a hole's loop lies inside the loop
	 * around it, so it is never the largest) */
	for (int64_t e = 0; e < ne; e++) {
		double area = 0, x0, y0, px, py, qx, qy;
		int64_t n = 0, f = e;
		if (next[e] < 0 || seen[e])
			continue;
		edge_point(e, W, &x0, &y0);
		do {
			seen[f] = 1;
			if (next[f] < 0)
				break;
			edge_point(f, W, &px, &py);
			edge_point(next[f], W, &qx, &qy);
			area += (px - x0) * (qy - y0) - (qx - x0) * (py - y0);
			n++;
			f = next[f];
		} while (f != e && f >= 0 && !seen[f]);
		if (f != e) { /* cannot happen: every crossed edge has one way in and one way out */
			ret = ctw_error(ctx, CTW_ERR_INTERNAL, "outline", "an open outline at edge %lld", (long long)e);
			goto out;
		}
		if (fabs(area) / 2 > best_area) {
			best_area = fabs(area) / 2;
			best_start = e;
			best_n = n;
		}
	}
	if (best_start >= 0) {
		int64_t f = best_start;
		out->xy = ctw_malloc(ctx, sizeof(double) * 2 * (size_t)best_n);
		if (!out->xy) {
			ret = CTW_ERR_NOMEM;
			goto out;
		}
		for (int64_t k = 0; k < best_n; k++, f = next[f])
			edge_point(f, W, &out->xy[2 * k], &out->xy[2 * k + 1]);
		out->n = (int)best_n;
	}
out:
	ctw_free(ctx, next);
	ctw_free(ctx, seen);
	return ret;
}

/* ---- distances ---------------------------------------------------------------------------- */

/* Distance (mm) from (px, py) to the segment a-b, all in pixel coordinates scaled by sx, sy. */
static double point_segment(double px, double py, const double *a, const double *b, double sx, double sy)
{
	double ax = a[0] * sx, ay = a[1] * sy, ex = b[0] * sx - ax, ey = b[1] * sy - ay, dx = px - ax, dy = py - ay;
	double len2 = ex * ex + ey * ey, t = len2 > 0 ? (dx * ex + dy * ey) / len2 : 0;
	if (t < 0)
		t = 0;
	else if (t > 1)
		t = 1;
	dx -= t * ex;
	dy -= t * ey;
	return sqrt(dx * dx + dy * dy);
}

double ctw_contour_apd(const ctw_contour *from, const ctw_contour *to, double sx, double sy)
{
	double sum = 0;

	if (from->n < 1 || to->n < 1)
		return NAN;
	for (int i = 0; i < from->n; i++) {
		double px = from->xy[2 * i] * sx, py = from->xy[2 * i + 1] * sy, best = HUGE_VAL;
		for (int j = 0; j < to->n; j++) {
			int k = j + 1 < to->n ? j + 1 : 0;
			double d = point_segment(px, py, to->xy + 2 * j, to->xy + 2 * k, sx, sy);
			if (d < best)
				best = d;
		}
		sum += best;
	}
	return sum / from->n;
}
