/* segment.h: the segment stage for label maps users bring: presets that map dataset labels to
 * the canonical vocabulary (DESIGN.md §3), the clean-up chain before meshing
 * (specs/segmentation.md §3), the base plane of ventricular models, and evaluation metrics.
 *
 * Label maps here are ctw_volume of type CTW_U8 holding canonical values (all canonical values
 * are < 256), i fastest, with their LPS geometry. Every operation that changes voxels reports
 * how many it changed, so the stage can log each step. */
#ifndef CTW_SEGMENT_H
#define CTW_SEGMENT_H

#include "ctw.h"
#include "voxelcheck.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- presets (presets.c) -------------------------------------------------------------------- */

#define CTW_PRESET_MAX 96

/* A mapping from dataset label values to canonical values; to = 0 drops a label (e.g. bone). */
typedef struct ctw_preset {
	char name[32];
	int n;
	struct {
		int from, to;
	} map[CTW_PRESET_MAX];
} ctw_preset;

/* Names of the built-in presets (static strings, NULL-terminated list). */
CTW_API const char *const *ctw_preset_names(void);

/* Fills *out with the built-in preset `name`, or for "nnunet" with the mapping read from the
 * dataset.json beside labels_path (v2 {"labels": {"name": int}} or v1/MSD {"labels": {"int":
 * "name"}}; names matched through a synonym table, case-insensitive: "LV", "LVC", "LVBP", "left
 * ventricle", "MYO", "myocardium", "RV", ...). CTW_ERR_INVALID for an unknown name;
 * CTW_ERR_FORMAT (naming the json file) for a dataset.json that is missing, malformed or has a
 * label name no synonym matches. */
CTW_API int ctw_preset_get(ctw_ctx *ctx, const char *name, const char *labels_path,
			   ctw_preset *out);

/* Parses a custom mapping "500=1,205=2,600=3" (from=to pairs, to a canonical value or 0) into
 * *out (name "custom"). CTW_ERR_INVALID naming the bad item; to-values must be canonical. */
CTW_API int ctw_preset_parse(ctw_ctx *ctx, const char *spec, ctw_preset *out);

/* Chooses a preset from the values present in labels: the MM-WHS value set -> "mmwhs"; {1,2,3}
 * (ACDC vs M&Ms/UKBB) -> "acdc" when label 3 is the one enclosed by label 2 (the LV cavity is
 * surrounded by myocardium in most slices, the RV is not), else "mnms"; other sets ->
 * CTW_ERR_FORMAT listing the values and asking for --preset. Logs (CTW_LOG_INFO) what it chose
 * and why. */
CTW_API int ctw_preset_auto(ctw_ctx *ctx, const char *what, const ctw_volume *labels,
			    ctw_preset *out);

/* Remaps labels in place (any integer dtype; the result is written as canonical values in the
 * same volume). Values the preset does not list (other than 0): CTW_ERR_FORMAT naming `what`
 * and listing every unknown value with its voxel count; nothing is changed then. *changed
 * receives the number of voxels whose value changed. */
CTW_API int ctw_preset_apply(ctw_ctx *ctx, const ctw_preset *p, const char *what, ctw_volume *labels,
			     int64_t *changed);

/* ---- clean-up chain (cleanup.c) ---------------------------------------------------------------- */

typedef enum ctw_resample_method {
	CTW_RESAMPLE_GAUSSIAN = 0, /* per-label Gaussian of the indicator, then argmax (c3d)        */
	CTW_RESAMPLE_SHAPE = 1     /* per-label signed distance maps interpolated, then the label
				    * with the smallest distance (shape-based, for thick slices) */
} ctw_resample_method;

/* Resamples a label map onto an isotropic grid of iso_mm covering the same physical extent
 * (same origin corner and direction, dim = round(extent / iso_mm), at least 1). GAUSSIAN: sigma_mm is the
 * Gaussian's standard deviation in mm (0: half the input's largest spacing); values sampled
 * trilinearly from the blurred indicators of the input grid, then argmax over labels and
 * background. SHAPE: signed distances per label (edt.h) interpolated trilinearly, then the label
 * with the most negative value (background where none is negative). On success *out is new. */
CTW_API int ctw_seg_resample_iso(ctw_ctx *ctx, const ctw_volume *lab, double iso_mm,
				 ctw_resample_method method, double sigma_mm, ctw_volume **out);

/* Per label, keeps the largest 6-connected component; the voxels of the other components
 * (islands) take the label most common among their 26-neighbours outside the island (the
 * surrounding label; background if none). */
CTW_API int ctw_seg_largest_component(ctw_ctx *ctx, ctw_volume *lab, int64_t *changed);

/* Fills holes: 6-connected components of background that do not touch the volume border take
 * the label most common around them. */
CTW_API int ctw_seg_fill_holes(ctw_ctx *ctx, ctw_volume *lab, int64_t *changed);

/* Adds a wall: voxels within thickness_mm (Euclidean, physical units) of label `around` that
 * hold background (0) become `wall`. */
CTW_API int ctw_seg_add_wall(ctw_ctx *ctx, ctw_volume *lab, int around, int wall, double thickness_mm,
			     int64_t *changed);

/* Separates two blood pools: voxels of label b that touch label a (26-neighbourhood) become
 * `wall`, repeated `layers` times (a wall of that many voxels). */
CTW_API int ctw_seg_separate(ctw_ctx *ctx, ctw_volume *lab, int a, int b, int wall, int layers,
			     int64_t *changed);

/* Returns a copy padded by `voxels` of background on every side, its origin moved so every
 * voxel keeps its world position. On success *out is new. */
CTW_API int ctw_seg_pad(ctw_ctx *ctx, const ctw_volume *lab, int voxels, ctw_volume **out);

/* Per label value: largest[v] the voxel count of its largest 6-connected component, count[v]
 * its voxel count (count[0]: background). */
CTW_API int ctw_seg_component_stats(ctw_ctx *ctx, const ctw_volume *lab, int64_t largest[256],
				    int64_t count[256]);

/* Runs the mesh stage's voxel checks (voxelcheck.h) on the myocardium (label 2, and 103 when
 * biv) and, while they fail, repairs locally, at most max_rounds times: a voxel one voxel thin
 * along an axis gets a neighbour of its label on that axis (background first, else blood); two
 * voxels touching only along an edge or at a corner get a bridging voxel of their label. *t
 * receives the last measurement (fails when the repair did not suffice). */
CTW_API int ctw_seg_repair_topology(ctw_ctx *ctx, ctw_volume *lab, int biv, int max_rounds,
				    int64_t *changed, int *rounds, ctw_voxel_topology *t);

/* ---- grids (regrid.c) ------------------------------------------------------------------------- */

/* 1 when a and b have the same dims and, within tol (mm; for the direction, unitless), the same
 * spacing, origin and direction. */
CTW_API int ctw_same_grid(const ctw_volume *a, const ctw_volume *b, double tol);

/* Resamples lab onto the grid of `like` (its dims, spacing, origin, direction) by nearest
 * neighbour in world coordinates. CTW_ERR_FORMAT naming `what` when their physical extents do
 * not overlap or no labelled voxel falls on like's grid; *lost receives the number of labelled
 * voxels of lab whose centres lie outside like's grid. On success *out is a new CTW_U8 volume. */
CTW_API int ctw_seg_resample_to(ctw_ctx *ctx, const char *what, const ctw_volume *lab,
				const ctw_volume *like, ctw_volume **out, int64_t *lost);

/* ---- base plane (baseplane.c) ---------------------------------------------------------------- */

typedef enum ctw_base_method {
	CTW_BASE_NONE = 0,
	CTW_BASE_VALVES,   /* plane fitted to the LV/LA and LV/aorta interfaces   */
	CTW_BASE_SAX,      /* the most basal short-axis slice with myocardium     */
	CTW_BASE_RIM       /* plane fitted to where the blood pools meet outside  */
} ctw_base_method;

/* Finds the base plane of the ventricles in lab (method chosen from the labels present and
 * the grid: valves when LA or aorta are labelled, SAX when sax_normal is not NULL (the slice
 * normal of a thick-slice short-axis stack, slices sax_spacing apart), else the rim).
 * Sets lm->has_base_plane, base_point, base_normal (unit, apex to base) and *method.
 * CTW_ERR_FORMAT when there is no LV blood pool or no plane can be fitted. */
CTW_API int ctw_base_plane_find(ctw_ctx *ctx, ctw_labelmap *lm, const double *sax_normal,
				double sax_spacing, ctw_base_method *method);

/* Cuts the ventricles at the base plane: voxels beyond it (dot(x - p, n) > 0) become
 * background. */
CTW_API int ctw_base_plane_cut(ctw_ctx *ctx, ctw_labelmap *lm, int64_t *changed);

/* ---- the stage (stage.c) ----------------------------------------------------------------------- */

typedef enum ctw_model_kind { CTW_MODEL_NONE = 0, CTW_MODEL_LV = 1, CTW_MODEL_BIV = 2 } ctw_model_kind;

typedef struct ctw_segment_opts {
	const char *preset;      /* a built-in preset, "auto", or NULL to use `map`               */
	const char *map;         /* custom mapping "from=to,..." when preset is NULL              */
	const char *labels_path; /* the label map's file, for nnunet's dataset.json beside it    */
	ctw_model_kind model;       /* which labels the model needs and keeps                       */
	double iso_mm;           /* < 0: auto (thick slices: shape-based to the in-plane spacing;
				  * otherwise keep the grid); 0: keep; > 0: isotropic resampling */
	double sigma_mm;         /* Gaussian of the isotropic resampling, 0: half the spacing    */
	int largest_component;   /* keep the largest component per label                        */
	int fill_holes;
	double rv_wall_mm;       /* RV wall added when RV myocardium is missing (biv); 0: never  */
	int separate;            /* a wall (LV myocardium) where LV and RV blood pools touch     */
	double min_wall_mm;      /* myocardium closing blood pools that meet the outside below
				  * the base (an open apex); 0: never                            */
	int base_plane;          /* find the base plane and cut the ventricles there (lv, biv)   */
	int pad;                 /* voxels of background around the map                          */
} ctw_segment_opts;

#define CTW_SEGMENT_OPTS_INIT { "auto", NULL, NULL, CTW_MODEL_NONE, -1.0, 0.0, 1, 1, 3.5, 1, 3.0, 1, 2 }

/* Bounds segment's work before it starts: from the label map's grid (dim, spacing), the
 * image's grid when given (the map is moved onto it) and the resampling o asks for, estimates
 * the voxels of every grid the chain makes, its peak memory and its time, and returns
 * CTW_ERR_FORMAT naming `what` with the estimate and a hint (--iso MM) when a grid exceeds the
 * context's voxel limit (--max-voxels), the memory exceeds half the machine's (at most 16 GiB)
 * or the time 100 s. Cheap: call it before reading the voxels. */
CTW_API int ctw_segment_check_size(ctw_ctx *ctx, const ctw_segment_opts *o, const int64_t dim[3],
				   const double spacing[3], const ctw_volume *image, const char *what);

/* The clean-up chain for a label map users bring: remap (preset), onto the image's grid (when
 * image is not NULL and the grids differ), resampling, largest components, hole filling, base
 * plane and cut, the model's labels only, RV wall, separation of blood pools, blood pools closed
 * below the base, a second component pass, the model's requirements, padding. Every step's parameters and voxel changes are logged
 * (CTW_LOG_INFO, domain "segment") and appended to *log (a new string; ctw_free it). labels is
 * not changed. CTW_ERR_FORMAT (naming `what`) for unknown labels, an empty map, a map that does
 * not overlap the image, or a model whose labels are missing. On success *out is new. */
CTW_API int ctw_segment_labels(ctw_ctx *ctx, const ctw_segment_opts *o, const ctw_volume *image,
			       const ctw_volume *labels, const char *what, ctw_labelmap **out, char **log);

/* ---- evaluation (metrics.c) ------------------------------------------------------------------- */

typedef struct ctw_label_metrics {
	int label;
	int64_t n_ref, n_test;          /* voxels                                               */
	double dice, jaccard;           /* 1 when both are empty                                */
	double hd, hd95, assd;          /* mm, medpy definitions; NAN when either is empty      */
	double vol_ref_ml, vol_test_ml, vol_diff_ml; /* test - ref                             */
} ctw_label_metrics;

/* Per label of labels[0..n): overlap and surface distances between ref and test, which must
 * share one grid (same dims; spacing and geometry of ref are used). Surfaces are medpy's: the
 * mask minus its erosion with the 6-neighbourhood (voxels on the volume border are surface);
 * d(A->B) is the Euclidean distance (mm) from each surface voxel of A to the nearest surface
 * voxel of B; HD95 is the 95th percentile (linear interpolation, numpy's default) of the pooled
 * d(A->B) and d(B->A); ASSD is the mean of mean d(A->B) and mean d(B->A). CTW_ERR_INVALID when
 * the grids differ. */
CTW_API int ctw_evaluate(ctw_ctx *ctx, const ctw_volume *ref, const ctw_volume *test, const int *labels,
			 int n, ctw_label_metrics *out);

#ifdef __cplusplus
}
#endif
#endif
