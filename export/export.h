/* export.h: the export stage: writers of simulation formats (openCARP, legacy VTK, Gmsh 4.1,
 * FEBio 4.0, TetGen/Chaste; VTU/VTP come from the VTK adapter in meshing/), the W3C PROV-XML
 * provenance record (libxml2), SHA256SUMS, and the versions of the libraries used. Pure C.
 * Formats: specs/formats.md. Units: mm, except openCARP (micrometres). */
#ifndef CTW_EXPORT_H
#define CTW_EXPORT_H

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the libxml2 library linked in (runtime), e.g. "2.9.14". Static string. */
CTW_API const char *ctw_libxml2_version(void);
/* Version of the libpng library linked in (runtime), e.g. "1.6.39". Static string. */
CTW_API const char *ctw_libpng_version(void);

/* ---- the model every writer takes (model.c and one file per format) ------------------------- */

typedef struct ctw_model {
	const ctw_tetmesh *mesh;        /* positively oriented tets, region tags, boundary triangles
					 * with ctw_surface_id markers, oriented outwards
					 * (ctw_model_orient)                                        */
	const double *fiber, *sheet;    /* 3 * n_tets each (unit, orthogonal), or both NULL          */
	const ctw_field *const *fields; /* further point/cell fields (phi_epi, ..., helix_angle);
					 * only the VTK writer writes them                           */
	int n_fields;
	int64_t apex_node;              /* -1: none                                                  */
	const char *title;              /* one line for headers/comments (never PHI), e.g. case id   */
} ctw_model;

/* Orients every tetrahedron of m positively (swapping corners 2 and 3) and every boundary
 * triangle outwards (away from the tetrahedron it bounds); counts of what was flipped (either
 * pointer may be NULL). CTW_ERR_FORMAT naming `what`, the triangle's index, surface, nodes and
 * centroid when a triangle is not a face of exactly one tetrahedron (an interior face, no face,
 * a repeated node, the nodes of another triangle), or for indices out of range; CTW_ERR_NOMEM.
 * On error the tetrahedra may already be reoriented, the triangles are not. */
CTW_API int ctw_model_orient(ctw_ctx *ctx, const char *what, ctw_tetmesh *m, int64_t *flipped_tets,
			     int64_t *flipped_tris);
/* For each boundary triangle of m, the tetrahedron it is a face of (owner[i]) and that
 * tetrahedron's corner not on the face (opposite[i]); new arrays (ctw_free), set only on
 * success. Faces are looked up in buckets of the triangles by their smallest node: O(n).
 * CTW_ERR_FORMAT as ctw_model_orient, CTW_ERR_NOMEM. */
CTW_API int ctw_tetmesh_tri_owners(ctw_ctx *ctx, const char *what, const ctw_tetmesh *m, int32_t **owner,
				   int32_t **opposite);

typedef enum ctw_format_bits {
	CTW_FMT_OPENCARP = 1, CTW_FMT_VTK = 2, CTW_FMT_GMSH = 4, CTW_FMT_FEBIO = 8, CTW_FMT_TETGEN = 16,
	CTW_FMT_ALL = 31
} ctw_format_bits;

/* "opencarp,vtk,gmsh,febio,tetgen" (any subset, or "all"; lowercase, blanks around names
 * allowed) to bits; *bits is set only on success. CTW_ERR_INVALID naming the unknown or empty
 * entry. */
CTW_API int ctw_formats_parse(ctw_ctx *ctx, const char *list, unsigned *bits);

/* Each writer writes its files into the existing directory dir with the base name "heart"
 * (surfaces by their names: epi, lv_endo, rv_endo, base), plain buffered stdio with every
 * write checked (CTW_ERR_IO naming the file, e.g. on a full disk; the failed file is removed,
 * files written before it stay). The caller publishes the directory atomically.
 * CTW_ERR_INVALID naming the format when the model is unusable: no tetrahedra, region tags < 1,
 * surface ids outside 1..4, non-finite coordinates or fibres, fibre without sheet, an apex or
 * a field that does not fit; CTW_ERR_FORMAT for indices out of range (and, where owners are
 * needed, triangles that are not boundary faces); CTW_ERR_NOMEM. Without fibres every writer
 * still writes the mesh and leaves the fibre data out (see each). Precision: coordinates to
 * 1 nm (openCARP %.3f um, others 6 decimals in mm), fibres 6 decimals, correctly rounded.
 * Details: the comment at the top of each writer's file. */
/* openCARP: heart.pts (um), heart.elem (Tt + tag), heart.lon (header 2: fibre and sheet;
 * written only with fibres, a stale one removed, a warning logged), per surface NAME.surf,
 * NAME.surf.vtx, NAME.neubc; removes stale binary heart.bpts/.belem/.blon. */
CTW_API int ctw_write_opencarp(ctw_ctx *ctx, const ctw_model *md, const char *dir);
/* Legacy VTK 4.2 BINARY (big-endian): heart.vtk (region, fibre and sheet as FIELD arrays, the
 * fields; fields named fiber/sheet are skipped when the model has fibres). */
CTW_API int ctw_write_vtk_legacy(ctw_ctx *ctx, const ctw_model *md, const char *dir);
/* Gmsh MSH 4.1 ASCII: heart.msh, a volume entity per region and a surface entity per boundary
 * tag, each with a named physical group (LV 1, RV 2; epi, lv_endo, rv_endo, base 10 + id), the
 * apex as a physical point "apex" (100); fibre and sheet as $ElementData on every element
 * (meshio reads them only then): a triangle carries its tetrahedron's. */
CTW_API int ctw_write_gmsh(ctw_ctx *ctx, const ctw_model *md, const char *dir);
/* FEBio 4.0: heart.feb (Nodes, a tet4 Elements block per region, Surfaces per tag, NodeSet
 * base_nodes, a placeholder neo-Hookean material, mat_axis ElementData a = fibre, d = sheet
 * when there are fibres, fix_base when there is a base). */
CTW_API int ctw_write_febio(ctw_ctx *ctx, const ctw_model *md, const char *dir);
/* TetGen/Chaste, 0-based: heart.node, heart.ele (with region attribute), heart.face (with
 * boundary marker = surface id), and with fibres heart.ortho (Chaste's orthotropic fibre file:
 * per element f, s, n = f x s). */
CTW_API int ctw_write_tetgen(ctw_ctx *ctx, const ctw_model *md, const char *dir);

/* ---- provenance (prov.c) ---------------------------------------------------------------------- */

/* A W3C PROV-XML document being built (formats.md §6): a prov:softwareAgent run:cardiotwin, one
 * prov:activity per stage, one prov:entity per file, and used / wasGeneratedBy /
 * wasAssociatedWith / wasDerivedFrom relations. Namespaces: prov, xsd, xsi, ctw
 * (https://cardiotwin.org/ns#: ctw:version, ctw:compiler, ctw:command, ctw:sha256), param
 * (https://cardiotwin.org/ns/param#: one element per stage parameter), lib
 * (https://cardiotwin.org/ns/lib#: one element per library version) and run
 * (https://cardiotwin.org/run/<case id>/<UTC time of ctw_prov_new>/, the ids). The document holds
 * nothing but what the caller passes (DESIGN.md §7): pass package-relative paths or descriptions
 * as labels, never an input's absolute path or anything from a DICOM header. Text must be UTF-8
 * that XML can hold (CTW_ERR_INVALID otherwise). */
typedef struct ctw_prov ctw_prov;

/* Starts a document for the case (user-chosen id, percent-encoded into the run namespace).
 * CTW_ERR_INVALID when case_id is empty. On success *out is new; free it with ctw_prov_free(). */
CTW_API int ctw_prov_new(ctw_ctx *ctx, const char *case_id, ctw_prov **out);
/* Frees p; NULL is a no-op. */
CTW_API void ctw_prov_free(ctw_ctx *ctx, ctw_prov *p);
/* The command line to re-run, recorded as one string (ctw:command on the agent): arguments
 * shell-quoted ('...' when needed, $'...' with \xNN for control characters and bytes that are
 * not UTF-8). Replaces an earlier one. CTW_ERR_INVALID when argc < 1. argv is borrowed. */
CTW_API int ctw_prov_set_command(ctw_ctx *ctx, ctw_prov *p, int argc, char *const *argv);
/* The software agent: cardiotwin's version (CTW_VERSION) and the compiler are always recorded;
 * this adds the library versions as n (name, version) pairs, e.g. ("libxml2", "2.9.14"), as
 * <lib:NAME>VERSION</lib:NAME>. Names must be XML names (letter or '_', then letters, digits,
 * '-', '.', '_'): CTW_ERR_INVALID otherwise. Replaces an earlier list; arrays are borrowed. */
CTW_API int ctw_prov_set_software(ctw_ctx *ctx, ctw_prov *p, const char *const *names,
				  const char *const *versions, int n);
/* An activity (one per stage; prov:id run:<stage made an XML name>, prov:label the stage) with
 * start/end times (Unix seconds, UTC; written as xs:dateTime to the second) and its parameters as
 * used (n name, value pairs, defaults included; names must be XML names), written as
 * <param:NAME>VALUE</param:NAME>. CTW_ERR_INVALID for bad times (not finite, negative, end before
 * start), bad names, or a stage recorded twice. Arrays are borrowed. */
CTW_API int ctw_prov_activity(ctw_ctx *ctx, ctw_prov *p, const char *stage, double t_start, double t_end,
			      const char *const *names, const char *const *values, int n);
/* A file entity: label (a relative path in the package, or a description of an input; also the
 * source of its id), its SHA-256 (64 hex digits), used by (is_output 0) or generated by
 * (is_output 1) the activity `stage` (which may be recorded before or after). The same label with
 * the same hash is one entity, so an output used by a later stage links the two. CTW_ERR_INVALID
 * for an empty label or a malformed hash. */
CTW_API int ctw_prov_file(ctw_ctx *ctx, ctw_prov *p, const char *stage, const char *label, const char *sha256_hex,
			  int is_output);
/* Writes the document (UTF-8, pretty) to path; ids are assigned here (unique XML names derived
 * from the stage names and labels). CTW_ERR_IO naming path, CTW_ERR_NOMEM. */
CTW_API int ctw_prov_write(ctw_ctx *ctx, ctw_prov *p, const char *path);
/* Validates an XML file against an XSD with libxml2, never touching the network: an OASIS
 * catalog.xml next to the XSD is loaded (so prov-core.xsd's import of xml.xsd resolves locally)
 * and http/ftp URLs are refused. CTW_ERR_FORMAT "<file>:<line>: <problem>" for the first error
 * (in the XML, or in the XSD when the schema cannot be built); CTW_ERR_IO when either file
 * cannot be read. Sets libxml2's global entity loader and error handler for the duration: not
 * thread-safe. */
CTW_API int ctw_xml_validate(ctw_ctx *ctx, const char *xml_path, const char *xsd_path);
/* Path of the PROV-XML schema (prov.xsd, with catalog.xml beside it): $CTW_PROV_XSD when set,
 * else the copy in the source tree (export/schemas/prov/prov.xsd) compiled in. Static string. */
CTW_API const char *ctw_prov_schema_path(void);

/* ---- package checksums (package.c) ------------------------------------------------------------ */

/* Writes dir/SHA256SUMS (sha256sum format, "<hex>  <relpath>", sorted by path in byte order;
 * names with a newline, CR or backslash escaped as GNU sha256sum does) over every regular file
 * below dir except SHA256SUMS itself, replacing it atomically. CTW_ERR_FORMAT for a symbolic
 * link or special file in the tree (refused), CTW_ERR_IO when a directory or file cannot be read
 * or the list cannot be written. */
CTW_API int ctw_write_sha256sums(ctw_ctx *ctx, const char *dir);
/* The same, taking the digests (64 hex digits) of the files the caller hashed already from
 * names/hexes (n_known entries, names relative to dir and sorted by strcmp); the other files
 * are hashed here. */
CTW_API int ctw_write_sha256sums_known(ctw_ctx *ctx, const char *dir, const char *const *names,
				       const char *const *hexes, int n_known);
/* Re-hashes every file listed in dir/SHA256SUMS; lists missing, changed and unlisted files
 * through the log (CTW_LOG_ERROR, one line each naming the file) and returns CTW_ERR_FORMAT with
 * their count when any. CTW_ERR_FORMAT also for a malformed SHA256SUMS (a path absolute, with
 * "..", or listed twice) and for a symbolic link in the tree; CTW_ERR_IO when SHA256SUMS or a
 * file cannot be read. */
CTW_API int ctw_check_sha256sums(ctw_ctx *ctx, const char *dir);

/* ---- QA (qa.c) -------------------------------------------------------------------------------- */

/* Writes the QA pictures of DESIGN.md §7a into dir/qa/ and dir/report.html for the model md (dir is
 * the package being built and must exist; qa/ is created). Pictures, 800 x 600 RGB PNG, white
 * background, byte-identical for the same model (no time stamps): sections_region.png (three
 * cross-sections perpendicular to the long axis at 25/50/75 % of the apex-to-base height,
 * tetrahedra filled by region), sections_helix.png (the same coloured by the cell field
 * "helix_angle", -90 blue .. +90 red, with in-plane fibre glyphs when md has fibres),
 * surfaces.png (boundary triangles by tag from anterior and posterior, epi translucent),
 * quality.png (dihedral-angle histogram, 2 degree bins, 5 and 10 degree lines) and
 * helix_profile.png (mean +- sd helix angle against the point field "phi_epi" in bins of 0.1, per
 * "fiber_region" or else per mesh region). The long axis is the mean gradient of the point field
 * "psi_ab" when present, else apex node -> base-triangle centroid, else the principal axis; the
 * frame is described at the top of qa.c and, for the sections, in their tEXt chunk "ctw:frame".
 * Pictures that need a missing (or wrongly sized) field are not drawn, a stale copy is removed,
 * and the report says why. report.html: self-contained HTML (no script, no external asset),
 * titled with md->title only (the case id), every text escaped; the warnings (n_warnings strings,
 * borrowed) first and highlighted, then the table of metrics_csv (the path of a CSV file of
 * "metric,value" lines, or NULL for none), then each picture written, named, with a caption on
 * what to look for. Returns CTW_ERR_INVALID for missing arguments, CTW_ERR_FORMAT for indices out
 * of range, CTW_ERR_IO naming the file that cannot be written (or metrics_csv when it cannot be
 * read; the partial file is removed), CTW_ERR_NOMEM, CTW_ERR_CANCELLED from the progress callback
 * (stage "qa"). Cost: one pass over the tetrahedra per picture, O(triangles + pixels) for the
 * surfaces; memory O(points) + the cut polygons.
 *
 * labels (borrowed, may be NULL) is the package's label map (canonical values, CTW_U8 or CTW_U16);
 * when given, labels.png shows three orthogonal slices of it through the centroid of the lv_myo and
 * rv_myo voxels (else of the non-zero voxels, else the grid centre): axial, coronal and sagittal
 * in radiological orientation when each index axis has its own dominant LPS axis (else the index
 * planes k, j, i), titled with the plane and the 0-based slice index ("AXIAL K=40"), nearest-voxel
 * sampled on one common scale in mm (so each panel has the physical aspect of the grid), a scale
 * bar under each panel, a legend of the labels shown; the mapping is in the tEXt chunk
 * "ctw:frame". Fixed palette (RGB): background (0) 230,230,230; lv_blood 250,185,185; lv_myo
 * 200,40,40; rv_blood 175,200,245; rv_myo 40,90,200; la_blood 250,215,165; ra_blood 185,225,195;
 * the walls 104..107 saturated, the valves 245,220,0, other values a mid tone; every pixel with a
 * 4-neighbour (in the picture) of another label is 25,25,25. Nothing of the file but its voxels
 * and geometry is drawn. CTW_ERR_INVALID (before anything is written) for a label map of another
 * type, a dimension < 1, a spacing not finite and > 0, a direction not finite or no voxels. With
 * labels NULL, no labels.png (a stale one is removed) and the report is as before. Extra cost:
 * one pass over the voxels plus the panel pixels.
 *
 * image (borrowed, may be NULL; any ctw_dtype, on any grid) is the image the labels were drawn
 * from; when given with labels, labels.png shows it in grey under the labels: each panel pixel's
 * label voxel centre is mapped through world coordinates to the nearest image voxel (outside the
 * image: the background colour 230,230,230; a NaN voxel likewise), its value mapped linearly and
 * clamped from the 1st (black) to the 99th (white) percentile of the image voxels inside the
 * bounding box of the labelled voxels (the whole image when that is empty or misses the image;
 * at most ~2^20 voxels sampled evenly, NaN skipped); a labelled voxel is its label colour blended
 * over that grey with alpha 0.35, background (0) pure grey, the contours solid as without the
 * image; the frame chunk and the caption say so. Nothing of the image but its voxels and
 * geometry is used. CTW_ERR_INVALID (before anything is written) for an image of an unknown type,
 * a dimension < 1, a spacing not finite and > 0, an origin or direction not finite, a degenerate
 * grid or no voxels, even with labels NULL. With image NULL, labels.png and the report are byte
 * for byte as without this parameter. Extra cost: one pass over the sampled box voxels and a sort
 * of at most ~2^20 values. */
CTW_API int ctw_qa_write(ctw_ctx *ctx, const ctw_model *md, const ctw_volume *labels, const ctw_volume *image,
			 const char *dir, const char *metrics_csv, const char *const *warnings, int n_warnings);

#ifdef __cplusplus
}
#endif
#endif
