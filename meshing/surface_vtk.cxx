// surface_vtk.cxx: the VTK adapter of the meshing stage; the only file of meshing/ that includes
// VTK headers. Every entry point catches every exception.
#include "mesh.h"

#include <cstdio>

#include <vtkVersion.h>

extern "C" const char *ctw_vtk_version(void)
{
	static char buf[32];
	try {
		if (!buf[0])
			std::snprintf(buf, sizeof(buf), "%s", vtkVersion::GetVTKVersion());
	} catch (...) {
		std::snprintf(buf, sizeof(buf), "unknown");
	}
	return buf;
}
