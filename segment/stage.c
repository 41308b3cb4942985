/* stage.c: the segment stage for label maps users bring: every clean-up step in order, each
 * with its parameters as used and the number of voxels it changed in the log. */
#include "segment.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct logbuf {
	ctw_ctx *ctx;
	char *s;
	size_t len, cap;
	int failed;
} logbuf;

static void note(logbuf *b, const char *fmt, ...) CTW_PRINTF(2, 3);

static void note(logbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctw_log(b->ctx, CTW_LOG_INFO, "segment", "%s", line);
	n = strlen(line);
	if (b->len + n + 2 > b->cap) {
		size_t cap = (b->cap ? 2 * b->cap : 1024) + n;
		char *s = ctw_realloc(b->ctx, b->s, cap);
		if (!s) {
			b->failed = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, line, n);
	b->len += n;
	b->s[b->len++] = '\n';
	b->s[b->len] = '\0';
}

static void present(const ctw_volume *v, int64_t counts[256])
{
	const uint8_t *lab = v->data;
	memset(counts, 0, 256 * sizeof(*counts));
	for (int64_t n = 0; n < ctw_volume_count(v); n++)
		counts[lab[n]]++;
}

/* Sets to background every label the model does not keep. */
static int64_t keep_model(ctw_volume *v, ctw_model_kind model)
{
	uint8_t *lab = v->data;
	int64_t n, changed = 0;
	for (n = 0; n < ctw_volume_count(v); n++) {
		int l = lab[n], keep = l == CTW_LBL_LV_BLOOD || l == CTW_LBL_LV_MYO ||
				       (model == CTW_MODEL_BIV && (l == CTW_LBL_RV_BLOOD || l == CTW_LBL_RV_MYO));
		if (l && !keep) {
			lab[n] = 0;
			changed++;
		}
	}
	return changed;
}

int ctw_segment_labels(ctw_ctx *ctx, const ctw_segment_opts *o, const ctw_volume *image,
		       const ctw_volume *labels, const char *what, ctw_labelmap **out, char **log)
{
	ctw_volume *v = NULL, *w = NULL;
	ctw_labelmap *lm = NULL;
	ctw_preset preset;
	logbuf b = { ctx, NULL, 0, 0, 0 };
	int64_t changed = 0, counts[256];
	double sax_normal[3], sax_spacing = 0, smin, smax;
	int ret, thick, slice_axis = 0, c;
	static const char *const models[] = { "none", "lv", "biv" };

	*out = NULL;
	*log = NULL;
	/* 1. remap to the canonical vocabulary, on a float copy (exact for integers up to 2^24, and
	 * fractional values are still seen and refused), then to uint8 */
	if ((ret = ctw_volume_convert(ctx, labels, CTW_F32, &w)))
		goto out;
	if (o->preset && !strcmp(o->preset, "auto"))
		ret = ctw_preset_auto(ctx, what, w, &preset);
	else if (o->preset)
		ret = ctw_preset_get(ctx, o->preset, o->labels_path, &preset);
	else
		ret = ctw_preset_parse(ctx, o->map ? o->map : "", &preset);
	if (ret || (ret = ctw_preset_apply(ctx, &preset, what, w, &changed)) ||
	    (ret = ctw_volume_convert(ctx, w, CTW_U8, &v)))
		goto out;
	ctw_volume_free(ctx, w);
	w = NULL;
	note(&b, "remap: preset %s: %lld voxels changed", preset.name, (long long)changed);
	present(v, counts);
	if (counts[0] == ctw_volume_count(v)) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what, "the label map is empty (no labelled voxel)");
		goto out;
	}

	/* 2. onto the image's grid */
	if (image && !ctw_same_grid(v, image, 1e-4)) {
		int64_t lost;
		if ((ret = ctw_seg_resample_to(ctx, what, v, image, &w, &lost)))
			goto out;
		ctw_volume_free(ctx, v);
		v = w;
		w = NULL;
		note(&b, "regrid: onto the image grid %lld x %lld x %lld (nearest neighbour): %lld labelled voxels "
			 "fell outside the image",
		     (long long)v->dim[0], (long long)v->dim[1], (long long)v->dim[2], (long long)lost);
	} else {
		note(&b, "regrid: none (%s)", image ? "the label map is on the image grid" : "no image given");
	}

	/* 3. resampling; thick slices (short-axis stacks) get shape-based interpolation */
	smin = fmin(v->spacing[0], fmin(v->spacing[1], v->spacing[2]));
	smax = fmax(v->spacing[0], fmax(v->spacing[1], v->spacing[2]));
	thick = smax > 2.0 * smin;
	for (c = 0; c < 3; c++)
		if (v->spacing[c] == smax)
			slice_axis = c;
	for (c = 0; c < 3; c++)
		sax_normal[c] = v->direction[c][slice_axis];
	sax_spacing = smax;
	{
		double iso = o->iso_mm < 0 ? (thick ? smin : 0.0) : o->iso_mm;
		ctw_resample_method m = thick ? CTW_RESAMPLE_SHAPE : CTW_RESAMPLE_GAUSSIAN;
		if (iso > 0) {
			if ((ret = ctw_seg_resample_iso(ctx, v, iso, m, o->sigma_mm, &w)))
				goto out;
			note(&b, "resample: %s to %.4g mm isotropic%s: %lld x %lld x %lld -> %lld x %lld x %lld voxels",
			     m == CTW_RESAMPLE_SHAPE ? "shape-based (per-label signed distances)" : "per-label Gaussian + argmax",
			     iso, thick ? " (thick slices)" : "", (long long)v->dim[0], (long long)v->dim[1],
			     (long long)v->dim[2], (long long)w->dim[0], (long long)w->dim[1], (long long)w->dim[2]);
			ctw_volume_free(ctx, v);
			v = w;
			w = NULL;
		} else {
			note(&b, "resample: none (--iso %s)", o->iso_mm < 0 ? "auto: spacing is near isotropic" : "0");
		}
	}

	/* 4-5. components and holes */
	if (o->largest_component) {
		if ((ret = ctw_seg_largest_component(ctx, v, &changed)))
			goto out;
		note(&b, "largest component per label: %lld voxels of islands reassigned", (long long)changed);
	}
	if (o->fill_holes) {
		if ((ret = ctw_seg_fill_holes(ctx, v, &changed)))
			goto out;
		note(&b, "fill holes: %lld voxels filled", (long long)changed);
	}

	if ((ret = ctw_labelmap_from_volume(ctx, what, v, &lm)))
		goto out;
	v = NULL; /* owned by lm */

	/* 6. base plane and cut, for ventricular models */
	if (o->model != CTW_MODEL_NONE && o->base_plane) {
		ctw_base_method m;
		if ((ret = ctw_base_plane_find(ctx, lm, thick ? sax_normal : NULL, sax_spacing, &m)) ||
		    (ret = ctw_base_plane_cut(ctx, lm, &changed)))
			goto out;
		note(&b, "base plane: %s, point %.3f %.3f %.3f mm, normal %.5f %.5f %.5f; cut: %lld voxels removed",
		     m == CTW_BASE_VALVES ? "fitted to the LV/LA and LV/aorta interfaces"
		     : m == CTW_BASE_SAX  ? "the most basal short-axis slice with myocardium"
					  : "fitted to the rim where the blood pools meet the outside",
		     lm->base_point[0], lm->base_point[1], lm->base_point[2], lm->base_normal[0], lm->base_normal[1],
		     lm->base_normal[2], (long long)changed);
	}

	/* 7-9. the model's labels, the RV wall, separated blood pools */
	if (o->model != CTW_MODEL_NONE) {
		changed = keep_model(lm->grid, o->model);
		note(&b, "model %s: %lld voxels of other labels removed", models[o->model], (long long)changed);
	}
	present(lm->grid, counts);
	if (o->model == CTW_MODEL_BIV && counts[CTW_LBL_RV_BLOOD] && !counts[CTW_LBL_RV_MYO] && o->rv_wall_mm > 0) {
		if ((ret = ctw_seg_add_wall(ctx, lm->grid, CTW_LBL_RV_BLOOD, CTW_LBL_RV_MYO, o->rv_wall_mm, &changed)))
			goto out;
		note(&b, "RV wall: %.3g mm around the RV blood pool (no RV myocardium was segmented): %lld voxels",
		     o->rv_wall_mm, (long long)changed);
	}
	if (o->separate && counts[CTW_LBL_LV_BLOOD] && counts[CTW_LBL_RV_BLOOD]) {
		if ((ret = ctw_seg_separate(ctx, lm->grid, CTW_LBL_LV_BLOOD, CTW_LBL_RV_BLOOD, CTW_LBL_LV_MYO, 2,
					    &changed)))
			goto out;
		note(&b, "separate blood pools: LV and RV blood touched at %lld voxels, now LV myocardium",
		     (long long)changed);
	}
	/* what the model needs, as segmented (before blood pools are closed) */
	present(lm->grid, counts);
	if (o->model != CTW_MODEL_NONE) {
		static const int need[] = { CTW_LBL_LV_BLOOD, CTW_LBL_LV_MYO, CTW_LBL_RV_BLOOD, CTW_LBL_RV_MYO };
		char missing[128] = "";
		for (int i = 0; i < (o->model == CTW_MODEL_BIV ? 4 : 2); i++)
			if (!counts[need[i]])
				snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s (%d)",
					 missing[0] ? ", " : "", ctw_label_name(need[i]), need[i]);
		if (missing[0]) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, what, "the %s model needs %s, which the label map lacks",
					models[o->model], missing);
			goto out;
		}
	}

	/* a ventricle is a cup open only at the base: where a blood pool still meets the outside (a
	 * short-axis stack ends at the apex with blood and myocardium in one slice), myocardium of
	 * the minimum wall thickness closes it; what that adds beyond the base is cut again */
	if (o->model != CTW_MODEL_NONE && o->min_wall_mm > 0) {
		int64_t added = 0, cut = 0;
		present(lm->grid, counts);
		if ((ret = ctw_seg_add_wall(ctx, lm->grid, CTW_LBL_LV_BLOOD, CTW_LBL_LV_MYO, o->min_wall_mm, &changed)))
			goto out;
		added += changed;
		if (o->model == CTW_MODEL_BIV && counts[CTW_LBL_RV_BLOOD]) {
			if ((ret = ctw_seg_add_wall(ctx, lm->grid, CTW_LBL_RV_BLOOD, CTW_LBL_RV_MYO, o->min_wall_mm, &changed)))
				goto out;
			added += changed;
		}
		if (lm->has_base_plane && (ret = ctw_base_plane_cut(ctx, lm, &cut)))
			goto out;
		note(&b, "close blood pools: %lld voxels of myocardium (%.3g mm) where blood met the outside below the base",
		     (long long)(added - cut), o->min_wall_mm);
	}
	if (o->largest_component && o->model != CTW_MODEL_NONE) {
		if ((ret = ctw_seg_largest_component(ctx, lm->grid, &changed)))
			goto out;
		note(&b, "largest component per label, after the cut: %lld voxels reassigned", (long long)changed);
	}

	/* 11. padding, so surfaces close at the border */
	if (o->pad > 0) {
		if ((ret = ctw_seg_pad(ctx, lm->grid, o->pad, &w)))
			goto out;
		ctw_volume_free(ctx, lm->grid);
		lm->grid = w;
		w = NULL;
		note(&b, "pad: %d voxels of background on every side", o->pad);
	}
	present(lm->grid, counts);
	for (int l = 1; l < 256; l++)
		if (counts[l])
			note(&b, "result: label %3d %-16s %10.3f mL", l, ctw_label_name(l),
			     (double)counts[l] * lm->grid->spacing[0] * lm->grid->spacing[1] * lm->grid->spacing[2] / 1000.0);
	if (b.failed) {
		ret = ctw_error(ctx, CTW_ERR_NOMEM, "segment", "out of memory for the log");
		goto out;
	}
	*out = lm;
	*log = b.s;
	lm = NULL;
	b.s = NULL;
out:
	ctw_volume_free(ctx, v);
	ctw_volume_free(ctx, w);
	ctw_labelmap_free(ctx, lm);
	ctw_free(ctx, b.s);
	return ret;
}
