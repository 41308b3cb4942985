// mesh_tetgen.cxx: the TetGen adapter of the meshing stage; the only file that includes tetgen.h.
// Copy in (ctw_surface -> tetgenio), tetrahedralize, copy out (tetgenio -> ctw_tetmesh); every
// exception stops here. Assertions and segfaults inside libtet do not: see tetgen_run.c.
#include "mesh_tetgen.h"

#include <cstring>
#include <exception>
#include <new>
#include <string>

// Debian's libtet 1.5.0 frees the mesh in terminatetetgen() and then again in ~tetgenmesh()
// while the exception unwinds tetrahedralize(): a double free that segfaults before any catch
// (int) runs, so every TetGen error became a crash. libtet calls terminatetetgen() through its
// PLT, so the definition below (default visibility, exported by the program because libtet
// refers to it) replaces libtet's: it only throws, and the destructor frees once. If it is not
// picked up (e.g. a static libtet), the errors stay crashes, which tetgen_run.c still handles.
#define terminatetetgen ctw_tetgen_header_terminatetetgen
#include <tetgen.h>
#undef terminatetetgen

__attribute__((visibility("default"))) void terminatetetgen(tetgenmesh *, int x)
{
	throw x;
}

extern "C" const char *ctw_tetgen_version(void)
{
	// TetGen has no version macro; CMake reads it from the banner of this very header.
	return CTW_TETGEN_VERSION;
}

namespace {

// TetGen's terminatetetgen() codes under TETLIBRARY, as a reason and a hint.
const char *tetgen_reason(int code)
{
	switch (code) {
	case 1:
		return "out of memory; hint: use a larger maximum tetrahedron volume or a coarser "
		       "(decimated) surface";
	case 2:
		return "internal error; hint: the surface may be degenerate (needle triangles, nearly "
		       "coincident points): check and repair it, or resample the label map";
	case 3:
		return "the surface self-intersects; hint: check the surface first (the mesher does), "
		       "smooth or repair it, or resample the label map";
	case 4:
		return "a very small input feature was detected; hint: remove tiny triangles and "
		       "near-touching parts (decimate or smooth the surface)";
	case 5:
		return "two very close input facets were detected; hint: the surface nearly touches "
		       "itself: smooth or decimate it, or separate the parts";
	case 10:
		return "input error: the surface is not a valid piecewise linear complex; hint: check "
		       "that it is closed, manifold and not flat";
	default:
		return nullptr;
	}
}

// Copy in: points and one single-triangle facet per triangle, marked. tetgenio frees these with
// delete[], so they are allocated with new[] (value-initialised, so that a bad_alloc half-way
// leaves only null pointers for the destructor).
void fill_tetgenio(const ctw_surface *s, tetgenio *in)
{
	in->firstnumber = 0;
	in->mesh_dim = 3;
	in->pointlist = new REAL[3 * (size_t)s->n_points];
	in->numberofpoints = (int)s->n_points;
	std::memcpy(in->pointlist, s->xyz, sizeof(REAL) * 3 * (size_t)s->n_points);
	in->facetlist = new tetgenio::facet[(size_t)s->n_tris]();
	in->numberoffacets = (int)s->n_tris;
	in->facetmarkerlist = new int[(size_t)s->n_tris];
	for (int64_t i = 0; i < s->n_tris; i++) {
		tetgenio::facet *f = &in->facetlist[i];
		f->polygonlist = new tetgenio::polygon[1]();
		f->numberofpolygons = 1;
		f->polygonlist[0].vertexlist = new int[3];
		f->polygonlist[0].numberofvertices = 3;
		for (int k = 0; k < 3; k++)
			f->polygonlist[0].vertexlist[k] = s->tris[3 * i + k];
		in->facetmarkerlist[i] = s->marker ? s->marker[i] : 0;
	}
}

// Copy out into ctw_malloc arrays we own.
int copy_to_tetmesh(ctw_ctx *ctx, const tetgenio *o, ctw_tetmesh **out)
{
	ctw_tetmesh *m;
	int ret;
	const int shift = o->firstnumber;

	if (o->numberofcorners != 4)
		return ctw_error(ctx, CTW_ERR_INVALID, "tetgen",
				 "%d-node tetrahedra requested; only first-order (4-node) are supported",
				 o->numberofcorners);
	if (o->numberoftetrahedra <= 0 || o->numberofpoints < 4)
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen",
				 "no tetrahedra produced; hint: the surface may have holes (TetGen "
				 "removes everything outside a closed surface)");
	ret = ctw_tetmesh_new(ctx, o->numberofpoints, o->numberoftetrahedra,
			      o->trifacelist ? o->numberoftrifaces : 0, &m);
	if (ret)
		return ret;
	std::memcpy(m->xyz, o->pointlist, sizeof(double) * 3 * (size_t)m->n_points);
	for (int64_t i = 0; i < 4 * m->n_tets; i++)
		m->tets[i] = o->tetrahedronlist[i] - shift;
	for (int64_t i = 0; i < 3 * m->n_tris; i++)
		m->tris[i] = o->trifacelist[i] - shift;
	if (o->trifacemarkerlist)
		std::memcpy(m->tri_marker, o->trifacemarkerlist, sizeof(int32_t) * (size_t)m->n_tris);
	*out = m; // region stays 0 (ctw_tetmesh_new zeroes it)
	return CTW_OK;
}

} // namespace

extern "C" int ctw_tetgen_run(ctw_ctx *ctx, const ctw_surface *s, const char *switches, ctw_tetmesh **out)
{
	*out = NULL;
	if (s->n_points < 4 || s->n_tris < 4 || s->n_points > INT32_MAX / 3 || s->n_tris > INT32_MAX)
		return ctw_error(ctx, CTW_ERR_INVALID, "tetgen", "bad surface size: %lld points, %lld triangles",
				 (long long)s->n_points, (long long)s->n_tris);
	if (std::strchr(switches, 'B') || std::strchr(switches, 'z') || std::strchr(switches, 'r'))
		return ctw_error(ctx, CTW_ERR_INVALID, "tetgen",
				 "switches '%s': 'B', 'z' and 'r' are not supported here", switches);
	try {
		tetgenio tin, tout; // frees its own new[] arrays
		fill_tetgenio(s, &tin);
		std::string sw(switches);
		if (sw.find('p') == std::string::npos)
			sw.insert(0, "p");
		if (sw.find('Q') == std::string::npos)
			sw += 'Q';
		tetrahedralize(&sw[0], &tin, &tout);
		return copy_to_tetmesh(ctx, &tout, out);
	} catch (int code) { // TetGen: terminatetetgen() throws int under TETLIBRARY
		const char *why = tetgen_reason(code);
		if (why)
			return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "%s", why);
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "failed with code %d", code);
	} catch (const std::bad_alloc &) {
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "%s", tetgen_reason(1));
	} catch (const std::exception &e) {
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "%s", e.what());
	} catch (...) {
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "unknown C++ exception");
	}
}
