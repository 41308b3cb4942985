/* mesh.h: the meshing stage: label map (or closed surface) -> quality tetrahedral mesh with a
 * region tag per tetrahedron (1 LV myocardium, 2 RV myocardium) and tagged boundary triangles
 * (epi, lv_endo, rv_endo, base; DESIGN.md §3), through VTK (surfaces) and TetGen (volumes).
 * Failures that a user can fix by other parameters are CTW_ERR_EXTERNAL (exit 3) with the
 * location and a hint. */
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

/* ---- triangle surfaces (surface.c) ------------------------------------------------------------ */

typedef struct ctw_surface {
	int64_t n_points, n_tris;
	double *xyz;      /* 3*n_points, LPS mm                                          */
	int32_t *tris;    /* 3*n_tris, 0-based; a closed surface is oriented outwards     */
	int32_t *marker;  /* n_tris surface ids (ctw_surface_id, or a file's own ids), 0 */
} ctw_surface;

/* Allocates a surface (xyz and tris uninitialised, marker zeroed). Free with ctw_surface_free. */
CTW_API int ctw_surface_new(ctw_ctx *ctx, int64_t n_points, int64_t n_tris, ctw_surface **out);
CTW_API void ctw_surface_free(ctw_ctx *ctx, ctw_surface *s);

/* What a check or repair found; `where` is the world position (LPS mm) of the first problem. */
typedef struct ctw_surface_report {
	int64_t merged_points;       /* repair: duplicate points merged (within 1e-6 of the size) */
	int64_t removed_degenerate;  /* repair: zero-area or repeated-vertex triangles removed    */
	int64_t removed_duplicate;   /* repair: triangles with the same three vertices removed    */
	int64_t removed_nonmanifold; /* repair: triangles removed to make edges manifold          */
	int64_t flipped;             /* repair: triangles reoriented to agree with neighbours     */
	int64_t boundary_edges;      /* check: edges with one triangle (holes)                    */
	int64_t nonmanifold_edges;   /* check: edges with more than two triangles                 */
	int64_t nonmanifold_vertices;/* check: vertices whose triangles form several fans         */
	int64_t intersecting_pairs;  /* check: pairs of non-adjacent triangles that intersect     */
	int n_components;            /* check: connected components of triangles                 */
	double where[3];
	char problem[256];           /* "" when fine                                              */
} ctw_surface_report;

/* Small repairs of real surfaces, reported in rep: merges duplicate points, removes degenerate
 * and duplicate triangles, removes triangles to make every edge manifold (a few stray
 * non-manifold edges of real meshes), orients every component consistently and outwards, except
 * components nested inside an odd number of others (a cavity's wall), which face inwards, so the
 * enclosed volume of a shell is the wall's. Never fails on bad geometry, only CTW_ERR_NOMEM. */
CTW_API int ctw_surface_repair(ctw_ctx *ctx, ctw_surface *s, ctw_surface_report *rep);
/* The same, merging points closer than merge_mm (when larger than 1e-6 of the size): collapses
 * the near-zero edges of real surfaces, whose triangles are then removed as degenerate. */
CTW_API int ctw_surface_repair_merge(ctw_ctx *ctx, ctw_surface *s, double merge_mm, ctw_surface_report *rep);

/* Checks that s is closed (no boundary edge), manifold (edges and vertices) and free of
 * self-intersections (exact-enough triangle-triangle tests on a spatial grid). Returns CTW_OK
 * when it is; CTW_ERR_EXTERNAL otherwise, with rep->problem and rep->where describing the first
 * problem and the message "surface: <problem> at (x, y, z) mm". CTW_ERR_NOMEM. */
CTW_API int ctw_surface_check(ctw_ctx *ctx, const ctw_surface *s, ctw_surface_report *rep);

/* Closes every hole (boundary loop) with a fan of triangles around the loop's centroid, the new
 * triangles marked cap_marker; *n_holes receives the number of loops closed. */
CTW_API int ctw_surface_cap_holes(ctw_ctx *ctx, ctw_surface *s, int cap_marker, int *n_holes);

/* Improves the triangles of a closed manifold surface for meshing, `iterations` times: edge
 * flips between nearly coplanar triangles (raising their smallest angle), then tangential
 * relaxation of each vertex towards its neighbours' centroid; vertices where markers meet (the
 * rim of a base) stay put, so shapes and planar caps are kept. *flips counts the flips. */
CTW_API int ctw_surface_improve(ctw_ctx *ctx, ctw_surface *s, int iterations, int64_t *flips);

/* Enclosed volume (mm^3, divergence theorem; positive when oriented outwards), area (mm^2),
 * mean edge length (mm). */
CTW_API double ctw_surface_volume(const ctw_surface *s);
CTW_API double ctw_surface_area(const ctw_surface *s);
CTW_API double ctw_surface_mean_edge(const ctw_surface *s);

/* ---- tetrahedral mesh quality (quality.c) ----------------------------------------------------- */

#define CTW_RADIUS_EDGE_BINS 8 /* radius-edge ratio bins: <0.7, <0.8, <1, <1.25, <1.5, <2, <3, >=3 */

typedef struct ctw_mesh_quality {
	int64_t n_points, n_tets, n_boundary_tris;
	double min_dihedral_deg, median_dihedral_deg, max_dihedral_deg;
	double max_radius_edge;
	int64_t radius_edge_hist[CTW_RADIUS_EDGE_BINS];
	int64_t n_degenerate;  /* |volume| below 1e-12 of the bounding box's volume       */
	int64_t n_inverted;    /* orientation opposite to the majority before reorienting */
	double volume_mm3;
	double mean_edge_mm;
} ctw_mesh_quality;

/* Measures m and orients every tetrahedron positively ((p1-p0)·((p2-p0)x(p3-p0)) > 0, swapping
 * corners 2 and 3 where needed). CTW_ERR_NOMEM. */
CTW_API int ctw_mesh_quality_measure(ctw_ctx *ctx, ctw_tetmesh *m, ctw_mesh_quality *q);

/* The boundary faces of m (faces of exactly one tetrahedron), oriented outwards, as 3*n node
 * indices in a new array (ctw_free) and for each the tetrahedron it belongs to. */
CTW_API int ctw_tetmesh_boundary(ctw_ctx *ctx, const ctw_tetmesh *m, int32_t **tris, int32_t **tet_of,
				 int64_t *n);

/* Mean and maximum distance (mm) from each point of a to the nearest point of b (uniform grid
 * search). CTW_ERR_NOMEM; CTW_ERR_INVALID when b is empty. */
CTW_API int ctw_point_distance(ctw_ctx *ctx, const double *a, int64_t na, const double *b, int64_t nb,
			       double *mean, double *max);

/* ---- TetGen (tetgen_run.c over mesh_tetgen.cxx) ------------------------------------------------- */

typedef struct ctw_tetgen_opts {
	double max_radius_edge;   /* TetGen -q ratio, e.g. 1.5                                    */
	double min_dihedral_deg;  /* TetGen -q angle, e.g. 10                                     */
	double max_volume_mm3;    /* TetGen -a, 0: none                                           */
	double timeout_s;         /* 0: none                                                      */
} ctw_tetgen_opts;

#define CTW_TETGEN_OPTS_INIT { 1.5, 10.0, 0.0, 0.0 }

/* Tetrahedralises the closed surface s with quality switches in a forked child process, so
 * TetGen's assertions, segfaults and exceptions become a CTW_ERR_EXTERNAL message ("tetgen:
 * ...; hint ...") instead of a crash. The output boundary triangles keep s's markers (TetGen
 * facet markers), also where TetGen split input triangles. TetGen's tetrahedra are positively
 * oriented; its boundary triangles face into their tetrahedron (inwards). On success *out is
 * new. */
CTW_API int ctw_tetgen_mesh(ctw_ctx *ctx, const ctw_surface *s, const ctw_tetgen_opts *o, ctw_tetmesh **out);

/* ---- VTK (surface_vtk.cxx) --------------------------------------------------------------------- */

/* Boundary surface of {mask != 0} on grid g (g's dims and geometry; g->data is not used; mask
 * has one byte per voxel, i fastest): padded by one voxel internally so it is closed, discrete
 * flying edges, then windowed-sinc smoothing (iterations, passband; 0 iterations: none), in
 * world coordinates (LPS mm, direction applied), oriented outwards. CTW_ERR_EXTERNAL when the
 * mask is empty. */
CTW_API int ctw_vtk_mask_surface(ctw_ctx *ctx, const ctw_volume *g, const uint8_t *mask, int iterations,
				 double passband, ctw_surface **out);

/* Clips a closed surface by a plane, keeping the side dot(x - point, normal) <= 0, and closes
 * the cut with planar cap triangles marked cap_marker (the other triangles keep their marker).
 * The result is closed. CTW_ERR_EXTERNAL when nothing is left. */
CTW_API int ctw_vtk_clip_cap(ctw_ctx *ctx, const ctw_surface *s, const double point[3],
			     const double normal[3], int cap_marker, ctw_surface **out);

/* Decimates s (quadric) towards a mean edge length of target_mm (nothing when its edges are
 * already that long), keeping it closed and manifold; markers are not kept (all 0). */
CTW_API int ctw_vtk_decimate(ctw_ctx *ctx, const ctw_surface *s, double target_mm, ctw_surface **out);

/* Reads a surface file (.vtp, .vtk legacy polydata, .stl), triangulated; markers from the
 * integer cell array `array` when present (*has_array = 1), else 0. CTW_ERR_IO, CTW_ERR_FORMAT
 * (naming the file). */
/* Before VTK reads a .vtk or .stl surface: its counts bounded by its size, a legacy file's cell
 * lists walked (sizes, indices), a binary STL's size exact. CTW_ERR_FORMAT/IO naming the file. */
CTW_API int ctw_surface_file_check(ctw_ctx *ctx, const char *path);
/* A read surface fit to mesh at edge_mm: finite coordinates within 1 km, indices in range, at
 * least twice the edge length across, at most about 2e6 triangles at that edge length. */
CTW_API int ctw_surface_sane(ctw_ctx *ctx, const char *path, const ctw_surface *s, double edge_mm);
CTW_API int ctw_vtk_read_surface(ctw_ctx *ctx, const char *path, const char *array, ctw_surface **out,
				 int *has_array);

/* Writes a tetrahedral mesh as VTU (binary, zlib): points, tets, cell array "tag" (region),
 * the given point and cell fields, and integer field data (name, value pairs) such as the apex
 * node. CTW_ERR_IO. The caller publishes atomically. */
CTW_API int ctw_vtk_write_vtu(ctw_ctx *ctx, const ctw_tetmesh *m, const ctw_field *const *fields,
			      int n_fields, const char *const *int_names, const int64_t *int_values,
			      int n_ints, const char *path);

/* zlib (level 1) for the VTU/VTP files written from now on (on, the default), or raw binary
 * (off: about 2x the size, written and read several times faster; for work files). */
CTW_API void ctw_vtk_set_compression(int on);
/* Writes triangles as VTP with the cell array `array` (markers). CTW_ERR_IO. */
CTW_API int ctw_vtk_write_vtp(ctw_ctx *ctx, const double *xyz, int64_t n_points, const int32_t *tris,
			      const int32_t *marker, int64_t n_tris, const char *array, const char *path);

/* ---- reading meshes back (mesh_read.c, gmsh.c, meshio_vtk.cxx) -------------------------------- */

/* A mesh read from disk: tetrahedra with region tags, boundary triangles with ctw_surface_id
 * markers, the apex node (-1 when the file names none), and the point and cell fields found. */
typedef struct ctw_mesh_in {
	ctw_tetmesh *mesh;
	int64_t apex_node;
	ctw_field **fields;
	int n_fields;
	int64_t n_reoriented; /* Gmsh: inverted tetrahedra turned (warned about), 0 otherwise */
} ctw_mesh_in;

/* Reads path: a directory written by the mesh or fibre stage (mesh.vtu + surfaces.vtp, the
 * point counts must agree), or a Gmsh MSH 4.1 file (.msh; ASCII or binary) whose physical
 * groups are named (BASE, ENDO or LV_ENDO, RV_ENDO, EPI; a physical point named EPIPT or APEX is
 * the apex; volume groups become region tags). CTW_ERR_IO, CTW_ERR_FORMAT naming the file and
 * the problem. On success *out owns everything: ctw_mesh_in_release(). */
CTW_API int ctw_mesh_read(ctw_ctx *ctx, const char *path, ctw_mesh_in *out);
CTW_API void ctw_mesh_in_release(ctw_ctx *ctx, ctw_mesh_in *in);
/* The field named name in in (NULL when absent). */
CTW_API const ctw_field *ctw_mesh_in_field(const ctw_mesh_in *in, const char *name);

/* VTU (tetrahedra only, cell array "tag", field data "apex_node", every numeric point and cell
 * array as a field) and VTP (triangles, integer cell array `array`, whose point count must be
 * n_points) readers of the VTK adapter. CTW_ERR_IO, CTW_ERR_FORMAT naming the file. */
CTW_API int ctw_vtk_read_vtu(ctw_ctx *ctx, const char *path, ctw_mesh_in *out);
CTW_API int ctw_vtk_read_vtp_tris(ctw_ctx *ctx, const char *path, const char *array, int64_t n_points,
				  int32_t **tris, int32_t **marker, int64_t *n_tris);
/* The fast C readers (vtk_read.c) of VTU/VTP files laid out as cardiotwin writes them (appended
 * raw data, optionally zlib, little-endian; tetrahedra / triangles): *handled = 0 (and CTW_OK)
 * for any other layout, which the VTK readers above then take. Same results and checks as they. */
CTW_API int ctw_vtu_read(ctw_ctx *ctx, const char *path, ctw_mesh_in *out, int *handled);
CTW_API int ctw_vtp_read_tris(ctw_ctx *ctx, const char *path, const char *array, int64_t n_points,
			      int32_t **tris, int32_t **marker, int64_t *n_tris, int *handled);
/* Gmsh MSH 4.1 reader (pure C). */
CTW_API int ctw_gmsh_read(ctw_ctx *ctx, const char *path, ctw_mesh_in *out);

/* ---- the stage (mesh.c) ----------------------------------------------------------------------- */

typedef struct ctw_mesh_opts {
	int biv;                  /* 0: LV model (label 2), 1: LV + RV (labels 2 and 103)        */
	double edge_mm;           /* target edge length of surface and tetrahedra                 */
	int smooth_iterations;    /* windowed-sinc smoothing of the label surface                 */
	double passband;          /* its pass band (smaller: smoother)                            */
	ctw_tetgen_opts tetgen;   /* quality switches; max volume (when 0) 3x a regular tet's of edge_mm */
} ctw_mesh_opts;

#define CTW_MESH_OPTS_INIT { 0, 1.0, 20, 0.05, CTW_TETGEN_OPTS_INIT }

typedef struct ctw_mesh_result {
	ctw_tetmesh *mesh;          /* region tags, boundary triangles with ctw_surface_id markers   */
	int64_t apex_node;          /* the epicardial node farthest from the base                    */
	double base_point[3], base_normal[3];
	ctw_mesh_quality quality;
	ctw_surface_report surface; /* what the surface check and repair found                       */
	int n_caps;                 /* openings of a surface file closed (--surface)                 */
	double reference_volume_mm3; /* label voxels below the base, or the input surface's volume  */
	double volume_error;        /* (mesh - reference) / reference                               */
	double surface_distance_mm; /* symmetric mean distance, mesh boundary vs reference boundary  */
	double voxel_mm;            /* the label map's smallest spacing (0 for --surface)            */
	int64_t n_tagged[5];        /* boundary triangles per surface id                             */
	ctw_surface *plc;           /* the closed surface given to TetGen (owned)                    */
	int64_t slivers_removed;    /* boundary slivers (dihedral < 5 deg) TetGen left, removed      */
	int64_t vertices_smoothed;  /* interior vertices of slivers moved to raise their angles      */
} ctw_mesh_result;

/* Frees what a result owns (mesh, plc) and clears it. */
CTW_API void ctw_mesh_result_release(ctw_ctx *ctx, ctw_mesh_result *res);

/* Meshes the myocardium of a label map (canonical labels, with its base plane): surface by
 * flying edges and smoothing, clipped and capped at the base plane (half a voxel inside), 
 * decimated to edge_mm, checked, TetGen; region tags from the labels at the tetrahedra's
 * centroids, boundary tags from the labels beyond each boundary face, the apex node, quality
 * and fidelity. CTW_ERR_FORMAT (bad input: no base plane, no myocardium), CTW_ERR_EXTERNAL
 * (meshing failed: exit 3 with location and hint). On success res->mesh is new (the caller
 * frees it with ctw_tetmesh_free). */
/* Before meshing lm read from path: sane voxel size, origin and base plane, some myocardium, and
 * the work (surface triangles and tetrahedra expected from its area and volume at o->edge_mm)
 * within limits. CTW_ERR_FORMAT naming path, with the estimate and a hint. */
CTW_API int ctw_mesh_labels_check(ctw_ctx *ctx, const char *path, const ctw_labelmap *lm, const ctw_mesh_opts *o);
CTW_API int ctw_mesh_labels(ctw_ctx *ctx, const ctw_labelmap *lm, const ctw_mesh_opts *o,
			    ctw_mesh_result *res);

/* Meshes a closed surface (taken over: it becomes res->plc, or is freed on failure): repaired, openings capped (marked
 * base), markers mapped to surface ids by tag_of[marker] (markers >= n_tag_of or unmapped: epi),
 * checked, TetGen; region 1. Errors as ctw_mesh_labels(). */
CTW_API int ctw_mesh_surface(ctw_ctx *ctx, ctw_surface *s, const int *tag_of, int n_tag_of,
			     const ctw_mesh_opts *o, ctw_mesh_result *res);

/* Writes a meshing result into the directory dir (which must exist): mesh.vtu (tets, "tag",
 * field data apex_node), surfaces.vtp (boundary triangles, "surface"), quality.txt, and when
 * keep_plc is set surface.smesh (TetGen's input, for debugging and for running tetgen on it). */
CTW_API int ctw_mesh_write(ctw_ctx *ctx, const ctw_mesh_result *res, int keep_plc, const char *dir);


/* ---- openings and remeshing of real surfaces (surface.c) ------------------------------------- */

/* Removes, repeatedly, the triangles with two or three boundary edges ("ears" on the rim of an
 * opening: a clipped vessel often leaves a triangle lying in the cut plane, which folds over a
 * cap); *removed counts them. CTW_ERR_INVALID (bad indices), CTW_ERR_NOMEM. */
CTW_API int ctw_surface_trim_ears(ctw_ctx *ctx, ctw_surface *s, int64_t *removed);

/* Isotropic remeshing towards edges of edge_mm (Botsch and Kobbelt 2004), `iterations` rounds
 * of: split edges longer than 4/3 edge_mm, collapse edges shorter than 4/5 edge_mm (shortest
 * first; only where the link condition holds, no triangle turns by more than 30 degrees and no
 * edge longer than 4/3 edge_mm appears), then ctw_surface_improve() (flips, tangential
 * relaxation). Markers are kept: edges between two markers (the rim of a cap) are features,
 * split but never crossed, their vertices move only along them, so planar caps stay planar.
 * Removes the needles and near-zero edges of real surfaces and turns a fan cap into a cap of
 * regular triangles. *splits, *collapses count the operations. CTW_ERR_INVALID, CTW_ERR_NOMEM. */
CTW_API int ctw_surface_remesh(ctw_ctx *ctx, ctw_surface *s, double edge_mm, int iterations, int64_t *splits,
			       int64_t *collapses);

#ifdef __cplusplus
}
#endif
#endif
