// mesh_tetgen.cxx: the TetGen adapter of the meshing stage; the only file that includes tetgen.h.
#include "mesh.h"

#include <tetgen.h>

extern "C" const char *ctw_tetgen_version(void)
{
	// TetGen has no version macro; CMake reads it from the banner of this very header.
	return CTW_TETGEN_VERSION;
}
