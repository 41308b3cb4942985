/* mesh.h: the meshing stage (label map -> tagged tetrahedral mesh). So far: the versions of the
 * libraries it is built on, for --version and provenance. */
#ifndef CTW_MESH_H
#define CTW_MESH_H

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the VTK library linked in, e.g. "9.1.0". Static string. */
CTW_API const char *ctw_vtk_version(void);
/* Version of the TetGen header compiled against, e.g. "1.5". Static string. */
CTW_API const char *ctw_tetgen_version(void);

#ifdef __cplusplus
}
#endif
#endif
