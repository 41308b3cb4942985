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
	int n_skipped;         /* other regular files, e.g. p1/p2 papillary contours        */
} ctw_contour_set;

/* Scans dir recursively (symbolic links to directories are not followed) for files named
 * *-icontour-*.txt (CTW_CONTOUR_ENDO) or *-ocontour-*.txt (CTW_CONTOUR_EPI) and reads them. The
 * instance number is the last group of 4 or more digits before "-icontour"/"-ocontour", as 0048 in
 * IM-0001-0048-icontour-manual.txt. Each file holds one "x y" pair per line (blank lines, spaces,
 * tabs and CR line ends are allowed).
 * Returns CTW_OK; CTW_ERR_IO when dir (or a directory or contour file below it) cannot be read;
 * CTW_ERR_FORMAT, naming the file and, where it applies, the line, for a malformed line, a
 * non-finite or absurd coordinate (|x| or |y| > 1e5), fewer than 3 points, an empty file, a
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

#ifdef __cplusplus
}
#endif
#endif
