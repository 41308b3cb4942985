/* mesh_tetgen.h: the in-process TetGen call (mesh_tetgen.cxx), plain C. Callers normally use
 * ctw_tetgen_mesh() (tetgen_run.c), which runs this in a forked child because Debian's libtet
 * aborts (assert) or segfaults on some bad inputs, which no catch can turn into an error. */
#ifndef CTW_MESH_TETGEN_H
#define CTW_MESH_TETGEN_H

#include "mesh.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tetrahedralises the surface s in this process: copies it into a tetgenio (points, one facet
 * per triangle, facet markers = s->marker, firstnumber 0), runs tetrahedralize(switches) and
 * copies the result out: xyz, tets (4 corners, first order, as TetGen orients them), the
 * boundary faces (TetGen's trifacelist, i.e. the subfaces, which with 'p' include every facet
 * TetGen split) with their markers (trifacemarkerlist), region 0.
 * switches: TetGen command-line switches without the '-', e.g. "pq1.5/10a0.1Q"; 'p' (the input
 * is a PLC) and 'Q' (quiet) are added when missing; 'B' (no boundary markers) and 'z' are
 * refused (CTW_ERR_INVALID) since markers and 0-based numbering are part of the result.
 * Returns CTW_OK and sets *out to a new mesh (free with ctw_tetmesh_free), or CTW_ERR_EXTERNAL
 * with a reason and hint for TetGen's error codes and C++ exceptions, CTW_ERR_NOMEM.
 * It does NOT protect against TetGen's assertions and segfaults: use ctw_tetgen_mesh(). */
CTW_API int ctw_tetgen_run(ctw_ctx *ctx, const ctw_surface *s, const char *switches, ctw_tetmesh **out);

#ifdef __cplusplus
}
#endif
#endif
