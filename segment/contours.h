/* contours.h: expert LV contours of the Sunnybrook Cardiac Data (plain-text polygons, one per
 * image) and their rasterisation onto a 2D pixel grid.
 *
 * Coordinates are image pixel coordinates as in the files: x = column, y = row, pixel centres at
 * integer coordinates (DICOM convention), in the image whose InstanceNumber the file name holds.
 */
#ifndef CTW_CONTOURS_H
#define CTW_CONTOURS_H

#include <stdint.h>

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctw_contour_kind {
	CTW_CONTOUR_ENDO = 1, /* i-contour: LV endocardium, inside = LV blood pool */
	CTW_CONTOUR_EPI = 2   /* o-contour: LV epicardium, between o and i = LV myocardium */
} ctw_contour_kind;

typedef struct ctw_contour {
	int64_t instance;      /* DICOM InstanceNumber of the image, from the file name       */
	ctw_contour_kind kind;
	int n;                 /* number of points, >= 3; the polygon closes itself (point  */
	double *xy;            /* n-1 joins point 0); 2n values: x (column), y (row), owned  */
	char *path;            /* the file it was read from, owned                          */
} ctw_contour;

typedef struct ctw_contour_set {
	int n;                 /* number of contours                                        */
	ctw_contour *c;        /* n contours sorted by (instance, kind), owned              */
	int n_skipped;         /* other regular files: p1/p2 papillary contours and others  */
	int n_unrelated;       /* of those, files that are not Sunnybrook contour files     */
	char unrelated[320];   /* the first of their paths, "', '"-separated, for a warning */
} ctw_contour_set;

/* A contour file of more points than this is refused (the expert contours of a 256 x 256 image
 * have 100-400): it bounds the O(n^2) self-intersection test. */
#define CTW_CONTOUR_MAX_POINTS 5000

/* Scans dir recursively (symbolic links to directories are not followed) for files named
 * *-icontour-*.txt (CTW_CONTOUR_ENDO) or *-ocontour-*.txt (CTW_CONTOUR_EPI) and reads them. The
 * instance number is the last group of 4 or more digits before "-icontour"/"-ocontour", as 0048 in
 * IM-0001-0048-icontour-manual.txt. Each file holds one "x y" pair per line (blank lines, spaces,
 * tabs and CR line ends are allowed). Papillary contours (*-p1contour-*, *-p2contour-*) are skipped;
 * other files too, but counted in n_unrelated (the caller warns). A file whose name holds
 * "icontour" or "ocontour" in any case but does not follow the pattern (e.g. "-icontour.txt",
 * ".TXT") is an error: it was meant to be read.
 * Returns CTW_OK; CTW_ERR_IO when dir (or a directory or contour file below it) cannot be read;
 * CTW_ERR_FORMAT, naming the file and, where it applies, the line, for a malformed line, a
 * non-finite or absurd coordinate (|x| or |y| > 1e5), fewer than 3 or more than
 * CTW_CONTOUR_MAX_POINTS points, an empty file, a misnamed contour file, a
 * contour file name without an instance number, or two files for the same instance and kind;
 * CTW_ERR_FORMAT naming dir when no contour file is found at all; CTW_ERR_NOMEM.
 * On success *out is new; free it with ctw_contour_set_free(). On failure *out is NULL. */
CTW_API int ctw_contours_read_dir(ctw_ctx *ctx, const char *dir, ctw_contour_set **out);
/* Frees a set and everything it owns; NULL is a no-op. */
CTW_API void ctw_contour_set_free(ctw_ctx *ctx, ctw_contour_set *s);

/* Polygon area in pixel units² (shoelace formula, absolute value; a self-intersecting polygon
 * gives its signed-area sum, not its even-odd area). */
CTW_API double ctw_contour_area(const ctw_contour *c);

/* Sets mask[row*cols + col] = value for every pixel centre (col, row) inside the polygon and
 * leaves the other pixels unchanged. Even-odd rule, scanline by scanline with exact edge
 * crossings, half-open in both directions: a centre exactly on an edge is inside when the polygon
 * lies to its right (larger column) or, on a horizontal edge, below it (larger row). So an
 * axis-aligned rectangle with integer corners fills exactly its area, and two polygons that share
 * an edge (the same two vertices) never both claim a pixel. Points outside the grid are fine (the
 * fill is clipped). mask is rows*cols bytes, borrowed. Cost: O(n) per crossing per row. */
CTW_API void ctw_contour_fill(const ctw_contour *c, int rows, int cols, uint8_t *mask,
			      uint8_t value);

/* Whether two edges of the polygon that are not neighbours cross or touch (O(n^2)); *x, *y get
 * one such point. Zero-length edges (repeated points) are ignored. */
CTW_API int ctw_contour_self_intersects(const ctw_contour *c, double *x, double *y);

/* How an endocardial contour sits in the epicardial one of the same image. */
typedef struct ctw_contour_pair {
	int64_t n_blood;       /* pixel centres inside the endocardium                      */
	int64_t n_outside;     /* of those, outside the epicardium                          */
	double wall_min, wall_max, wall_mean; /* mm, epicardium minus endocardium along the
				* CTW_CONTOUR_RAYS rays from the blood pool's centroid (farthest
				* crossing of each); negative where the endocardium reaches past */
	double wall[72];       /* each ray's, the k-th at 5k degrees from the +x (column) axis */
} ctw_contour_pair;
#define CTW_CONTOUR_RAYS 72
/* Measures endo against epi on a rows x cols grid of sx x sy mm pixels (sx along columns, x).
 * CTW_OK or CTW_ERR_NOMEM (two rows*cols masks). */
CTW_API int ctw_contour_pair_measure(ctw_ctx *ctx, const ctw_contour *endo, const ctw_contour *epi, int rows,
				     int cols, double sx, double sy, ctw_contour_pair *out);


/* ---- scoring (contour_score.c) ------------------------------------------------------------ */

/* The outline of a binary mask (rows x cols, mask[row*cols + col] != 0 inside) at sub-pixel
 * precision: marching squares at the 0.5 level, so each vertex lies half-way between a pixel
 * centre inside and a 4-neighbour outside (coordinates as in the contour files: x column, y row,
 * pixel centres at integers). Pixels touching only at a corner are joined. Of the closed loops
 * (outer boundaries and holes) the one enclosing the largest area is returned in out (out->xy
 * owned, free with ctw_free; instance, kind and path are left 0/NULL). An empty mask gives
 * out->n == 0 and out->xy NULL. CTW_OK, CTW_ERR_NOMEM, CTW_ERR_INVALID for a slice too large. */
CTW_API int ctw_mask_outline(ctw_ctx *ctx, const uint8_t *mask, int rows, int cols, ctw_contour *out);

/* The mean over the vertices of `from` of each vertex's distance (mm) to the closed polygon `to`
 * (the nearest point of its nearest edge: the perpendicular foot when it falls on the edge, else
 * the edge's end), on pixels of sx x sy mm (sx along x, the columns). With from = an automatic
 * contour and to = the expert's, this is the MICCAI 2009 challenge's average perpendicular
 * distance (see README, evaluate). NaN when either has no point. */
CTW_API double ctw_contour_apd(const ctw_contour *from, const ctw_contour *to, double sx, double sy);

#ifdef __cplusplus
}
#endif
#endif
