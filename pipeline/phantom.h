/* phantom.h: the analytic heart phantom behind `cardiotwin phantom`: a CT-like image and an exact
 * label map of truncated prolate ellipsoids (LV, or LV + RV), with their volumes in closed form
 * or by quadrature, for demos and for tests with known answers.
 *
 * Local heart frame (mm): origin at the LV centre, z along the long axis from apex to base, the
 * base plane at z = base_z, the RV centre at (rv_offset, 0, 0). It is placed in the LPS world by
 * world = centre + rotation * local, with the apex pointing left-anterior-inferior and the RV
 * right-anterior of the LV. The image grid is axis-aligned (identity direction).
 */
#ifndef CTW_PHANTOM_H
#define CTW_PHANTOM_H

#include "ctw.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctw_phantom_kind { CTW_PHANTOM_LV = 0, CTW_PHANTOM_BIV = 1 } ctw_phantom_kind;

typedef struct ctw_phantom_opts {
	ctw_phantom_kind kind;
	double spacing_mm;        /* isotropic voxel size, finite, in [0.1, 5] mm          */
	double noise_sd;          /* SD of additive Gaussian noise in HU, finite, >= 0     */
	uint64_t seed;            /* noise generator seed: same seed, same bytes anywhere  */
} ctw_phantom_opts;

#define CTW_PHANTOM_OPTS_INIT { CTW_PHANTOM_LV, 1.0, 0.0, 1 }

#define CTW_PHANTOM_MAX_LABELS 4

typedef struct ctw_phantom_truth {
	ctw_phantom_kind kind;
	double spacing_mm, noise_sd;
	uint64_t seed;
	/* ellipsoids with circular cross sections: b = short semi-axis (radius in x,y), a = long
	 * semi-axis (along z), mm; tissue exists only at z <= base_z */
	double lv_endo_b, lv_endo_a;   /* LV endocardium, centred at the local origin           */
	double lv_epi_b, lv_epi_a;     /* LV epicardium, same centre                            */
	double base_z;                 /* base plane z (h)                                      */
	double rv_offset;              /* RV centre at local (rv_offset, 0, 0) (d); BiV only     */
	double rv_endo_b, rv_endo_a;   /* RV endocardium                                        */
	double rv_wall;                /* RV epicardium = RV endo semi-axes + rv_wall (t)        */
	double fat_mm;                 /* pericardial fat: epicardial semi-axes + fat_mm         */
	/* placement, LPS mm: world = centre + rotation * local */
	double rotation[3][3];         /* proper rotation; column c = local axis c in world     */
	double centre[3];              /* world position of the local origin                    */
	double base_point[3];          /* world point of the base plane (local (0, 0, base_z))  */
	double long_axis[3];           /* unit, apex to base (rotation column 2)                */
	/* lungs: two world-axis-aligned ellipsoids lateral to the heart and its fat */
	double lung_centre[2][3], lung_axes[3];
	/* intensities, HU */
	double hu_blood, hu_myo, hu_fat, hu_soft, hu_lung;
	/* image grid: identity direction, isotropic spacing_mm */
	int64_t dim[3];
	double origin[3];              /* LPS mm of voxel (0, 0, 0), a multiple of spacing_mm   */
	/* labels present, sorted by value, with their exact volumes */
	int n_labels;
	int label[CTW_PHANTOM_MAX_LABELS];
	const char *name[CTW_PHANTOM_MAX_LABELS];   /* static strings ("lv_blood", ...)     */
	double volume_mm3[CTW_PHANTOM_MAX_LABELS];
} ctw_phantom_truth;

/* Fills *t with the geometry, placement, grid and exact label volumes for options o, without
 * making an image. Returns CTW_OK, or CTW_ERR_INVALID (domain "phantom") when o->kind is
 * unknown, o->spacing_mm is not finite or outside [0.1, 5] mm, or o->noise_sd is not finite or
 * negative. *t is caller-owned and holds no heap memory (nothing to release). */
CTW_API int ctw_phantom_truth_init(ctw_ctx *ctx, const ctw_phantom_opts *o, ctw_phantom_truth *t);

/* Makes the phantom for options o. On success *image is a new CTW_I16 volume of HU values
 * (2x2x2 sub-sample partial volume, plus noise when o->noise_sd > 0) and *labels a new CTW_U8
 * label map on the same grid (labels by voxel centre, base plane set); free them with
 * ctw_volume_free() and ctw_labelmap_free(). If truth is not NULL it receives what
 * ctw_phantom_truth_init() gives. Reports progress per slice through ctw_progress(ctx,
 * "phantom", ...). Returns CTW_OK, CTW_ERR_INVALID (bad options, or a grid above the context's
 * voxel limit), CTW_ERR_NOMEM or CTW_ERR_CANCELLED; on failure *image and *labels are NULL. */
CTW_API int ctw_phantom_make(ctw_ctx *ctx, const ctw_phantom_opts *o, ctw_volume **image,
			     ctw_labelmap **labels, ctw_phantom_truth *truth);

/* Writes t as XML (the content of DIR/truth.xml) to path: a <phantom> element with the options,
 * <geometry>, <placement>, <grid>, <intensities> and one <label> per label with its exact volume
 * in mm^3 and ml. Returns CTW_OK, or CTW_ERR_IO when the file cannot be opened, written or
 * closed. */
CTW_API int ctw_phantom_write_truth(ctw_ctx *ctx, const ctw_phantom_truth *t, const char *path);

typedef enum ctw_phantom_method {
	CTW_PHANTOM_EXACT = 0,       /* closed form for LV labels, quadrature for RV labels     */
	CTW_PHANTOM_QUADRATURE = 1   /* adaptive Gauss-Kronrod of the cross-section area (all)  */
} ctw_phantom_method;

/* Volume in mm^3 of label value v in the phantom described by t, from the analytic shapes
 * (quadrature to a relative 1e-10 or better). Returns -1.0 when v is not a label of t->kind. */
CTW_API double ctw_phantom_label_volume(const ctw_phantom_truth *t, int v, ctw_phantom_method m);

/* Label value (0 for background, fat and lung) of the phantom t at world point lps (LPS mm),
 * by the same exact membership tests that label the voxel centres. */
CTW_API int ctw_phantom_label_at(const ctw_phantom_truth *t, const double lps[3]);

#ifdef __cplusplus
}
#endif
#endif
