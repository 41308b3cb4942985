/* stage.c: the segment stage for label maps users bring: every clean-up step in order, each
 * with its parameters as used and the number of voxels it changed in the log. */
#include "segment.h"
#include "seglog.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


void ctw_seglog_note(logbuf *b, const char *fmt, ...)
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

/* 1 when a voxel of label touches (6-neighbours) background connected to the grid's border;
 * -1 when out of memory. */
static int touches_outside(ctw_ctx *ctx, const ctw_volume *v, int label)
{
	const int64_t nx = v->dim[0], ny = v->dim[1], nz = v->dim[2], n = nx * ny * nz;
	const uint8_t *L = v->data;
	uint8_t *out = ctw_calloc(ctx, (size_t)n, 1);
	int64_t *stack = ctw_malloc(ctx, sizeof(int64_t) * (size_t)n), top = 0;
	int hit = 0;

	if (!out || !stack) {
		ctw_free(ctx, out);
		ctw_free(ctx, stack);
		return -1;
	}
	for (int64_t p = 0; p < n; p++) {
		int64_t i = p % nx, j = (p / nx) % ny, k = p / (nx * ny);
		if (!L[p] && (i == 0 || j == 0 || k == 0 || i == nx - 1 || j == ny - 1 || k == nz - 1)) {
			out[p] = 1;
			stack[top++] = p;
		}
	}
	while (top && !hit) {
		int64_t p = stack[--top], i = p % nx, j = (p / nx) % ny, k = p / (nx * ny);
		int64_t nb[6] = { i > 0 ? p - 1 : -1, i < nx - 1 ? p + 1 : -1, j > 0 ? p - nx : -1,
				  j < ny - 1 ? p + nx : -1, k > 0 ? p - nx * ny : -1, k < nz - 1 ? p + nx * ny : -1 };
		for (int d = 0; d < 6; d++) {
			if (nb[d] < 0 || out[nb[d]])
				continue;
			if (L[nb[d]] == label)
				hit = 1;
			else if (!L[nb[d]]) {
				out[nb[d]] = 1;
				stack[top++] = nb[d];
			}
		}
	}
	ctw_free(ctx, out);
	ctw_free(ctx, stack);
	return hit;
}

/* A blood pool sealed by myocardium on every side (a segmented RV ending below the base plane,
 * capped by the wall added round it) is a cavity TetGen cannot carve: it is opened toward the
 * base through its wall, along the voxel axis nearest the base normal, from its most basal
 * layer. *opened: the voxels turned into blood (0 when the pool met the outside already). */
static int open_toward_base(ctw_ctx *ctx, ctw_labelmap *lm, int label, int64_t *opened)
{
	ctw_volume *v = lm->grid;
	const int64_t nx = v->dim[0], ny = v->dim[1], nz = v->dim[2], n = nx * ny * nz;
	const int64_t step[3] = { 1, nx, nx * ny }, dim[3] = { nx, ny, nz };
	uint8_t *L = v->data;
	double c[3] = { 0, 0, 0 }, best = -INFINITY, dot[3];
	int64_t cnt = 0;
	int axis = 0, sign, t = 0;

	*opened = 0;
	if (!lm->has_base_plane || (t = touches_outside(ctx, v, label)) != 0)
		return t < 0 ? CTW_ERR_NOMEM : CTW_OK;
	for (int a = 0; a < 3; a++) {
		dot[a] = 0;
		for (int r = 0; r < 3; r++)
			dot[a] += v->direction[r][a] * lm->base_normal[r];
		if (fabs(dot[a]) > fabs(dot[axis]))
			axis = a;
	}
	for (int64_t p = 0; p < n; p++)
		if (L[p] == label) {
			double ijk[3] = { (double)(p % nx), (double)((p / nx) % ny), (double)(p / (nx * ny)) }, x[3];
			ctw_volume_index_to_world(v, ijk, x);
			for (int r = 0; r < 3; r++)
				c[r] += x[r];
			cnt++;
		}
	if (!cnt)
		return CTW_OK;
	{
		double toward = 0;
		for (int r = 0; r < 3; r++)
			toward += (lm->base_point[r] - c[r] / (double)cnt) * lm->base_normal[r];
		/* the index direction along the axis that goes toward the base plane */
		sign = (toward >= 0) == (dot[axis] >= 0) ? 1 : -1;
	}
	for (int64_t p = 0; p < n; p++)
		if (L[p] == label) {
			int64_t q[3] = { p % nx, (p / nx) % ny, p / (nx * ny) };
			double x = (double)(sign * q[axis]);
			best = x > best ? x : best;
		}
	for (int64_t p = 0; p < n; p++) {
		int64_t q[3] = { p % nx, (p / nx) % ny, p / (nx * ny) }, r;
		if (L[p] != label || (double)(sign * q[axis]) < best - 1.0)
			continue;
		for (r = q[axis] + sign; r >= 0 && r < dim[axis]; r += sign) {
			int64_t m = p + (r - q[axis]) * step[axis];
			if (L[m] != CTW_LBL_LV_MYO && L[m] != CTW_LBL_RV_MYO)
				break;
			L[m] = (uint8_t)label;
			(*opened)++;
		}
	}
	return CTW_OK;
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


/* The resampling the chain does on a grid of this spacing: thick slices (the largest spacing
 * more than twice the smallest) and the isotropic voxel size (0: keep the grid). */
static double plan_iso(const ctw_segment_opts *o, const double sp[3], int *thick)
{
	double smin = fmin(sp[0], fmin(sp[1], sp[2])), smax = fmax(sp[0], fmax(sp[1], sp[2]));
	*thick = smax > 2.0 * smin;
	return o->iso_mm < 0 ? (*thick ? smin : 0.0) : o->iso_mm;
}

/* Bytes per voxel of the peak memory and voxels per second of the chain, measured on the
 * phantom and Sunnybrook maps (with a margin): the input grid (read, float copy for the remap,
 * uint8), the regridded one, and the working grid (components, holes, distance maps, checks). */
#define BYTES_IN 10.0
#define BYTES_GRID 7.0
#define BYTES_WORK 18.0
#define RATE_IN 20e6
#define RATE_WORK 3e6
#define MAX_SECONDS 100.0

int ctw_segment_check_size(ctw_ctx *ctx, const ctw_segment_opts *o, const int64_t dim[3], const double spacing[3],
			   const ctw_volume *image, const char *what)
{
	const int64_t *gd = image ? image->dim : dim;
	const double *gs = image ? image->spacing : spacing;
	double n_in = 1, n_grid = 1, n_work = 1, od[3], iso, mem, secs, mem_lim, vox_lim, factor;
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	int thick;

	for (int c = 0; c < 3; c++) {
		const double sp[2] = { spacing[c], gs[c] };
		for (int t = 0; t < 2; t++)
			if (!isfinite(sp[t]) || sp[t] < 1e-3 || sp[t] > 100.0)
				return ctw_error(ctx, CTW_ERR_FORMAT, what,
						 "voxel size %g mm along axis %d of the %s is implausible for a heart "
						 "(expected 0.001..100 mm); check the header's spacing",
						 sp[t], c, t ? "image" : "label map");
		n_in *= (double)dim[c];
		n_grid *= (double)gd[c];
	}
	iso = plan_iso(o, gs, &thick);
	for (int c = 0; c < 3; c++) {
		od[c] = iso > 0 ? fmax(1.0, floor((double)gd[c] * gs[c] / iso + 0.5)) : (double)gd[c];
		n_work *= od[c] + 2.0 * (o->pad > 0 ? o->pad : 0);
	}
	mem = BYTES_IN * n_in + (image ? BYTES_GRID * n_grid : 0) + BYTES_WORK * n_work;
	secs = n_in / RATE_IN + (image ? n_grid / RATE_IN : 0) + n_work / RATE_WORK;
	mem_lim = pages > 0 && page > 0 ? 0.5 * (double)pages * (double)page : 4.0 * 1073741824.0;
	mem_lim = fmin(mem_lim, 16.0 * 1073741824.0);
	vox_lim = (double)ctw_ctx_max_voxels(ctx);
	factor = fmax(fmax(n_in, fmax(n_grid, n_work)) / vox_lim, fmax(mem / mem_lim, secs / MAX_SECONDS));
	if (factor <= 1.0)
		return CTW_OK;
	{
		char grids[256];
		double base = iso > 0 ? iso : fmin(gs[0], fmin(gs[1], gs[2]));
		double suggest = base * cbrt(fmax(n_work / vox_lim, fmax(mem / mem_lim, secs / MAX_SECONDS))) * 1.15;
		if (iso > 0)
			snprintf(grids, sizeof(grids), "resampling to %.3g mm isotropic gives %.0f x %.0f x %.0f = %.3g voxels",
				 iso, od[0], od[1], od[2], od[0] * od[1] * od[2]);
		else
			snprintf(grids, sizeof(grids), "the %s grid has %lld x %lld x %lld = %.3g voxels", image ? "image" : "label map",
				 (long long)gd[0], (long long)gd[1], (long long)gd[2], n_grid);
		return ctw_error(ctx, CTW_ERR_FORMAT, what,
				 "too large to segment: %s (the map %.3g voxels); estimated %.3g GB of memory and %.0f s "
				 "(limits: %.3g voxels (--max-voxels), %.3g GB, %.0f s); hint: pass --iso %.2g (a coarser "
				 "isotropic grid) or crop the map",
				 grids, n_in, mem / 1e9, secs, vox_lim, mem_lim / 1e9, MAX_SECONDS, suggest);
	}
}

/* Makes an error of a step name the label map's file (`what`) when it names only the step. */
static int name_file(ctw_ctx *ctx, int ret, const char *what)
{
	char msg[1024];
	size_t n = strlen(what);
	if (ret != CTW_ERR_FORMAT && ret != CTW_ERR_EXTERNAL)
		return ret;
	snprintf(msg, sizeof(msg), "%s", ctw_errmsg(ctx));
	if (!strncmp(msg, what, n) && msg[n] == ':')
		return ret;
	return ctw_error(ctx, (ctw_status)ret, what, "%s", msg);
}

/* Refuses maps that are no heart: a ventricular label (LV, RV blood; LV, RV myocardium) whose
 * largest 6-connected piece holds less than half of its voxels (noise, a checkerboard, a map
 * of something else); a heart's labels are a few solid pieces. */
static int check_fragments(ctw_ctx *ctx, const ctw_volume *v, const char *what)
{
	static const int labels[] = { CTW_LBL_LV_BLOOD, CTW_LBL_LV_MYO, CTW_LBL_RV_BLOOD, CTW_LBL_RV_MYO };
	int64_t largest[256], count[256];
	int ret;
	if ((ret = ctw_seg_component_stats(ctx, v, largest, count)))
		return ret;
	for (int t = 0; t < 4; t++) {
		const int l = labels[t];
		if (count[l] >= 64 && (double)largest[l] < 0.5 * (double)count[l])
			return ctw_error(ctx, CTW_ERR_FORMAT, what,
					 "the labels are fragmented: the largest connected piece of label %d (%s) holds "
					 "%.2g %% of its %lld voxels (a heart's labels are a few solid pieces); check "
					 "that the file is a label map of this heart (not noise or another image)",
					 l, ctw_label_name(l), 100.0 * (double)largest[l] / (double)count[l], (long long)count[l]);
	}
	return CTW_OK;
}

int ctw_segment_labels(ctw_ctx *ctx, const ctw_segment_opts *o, const ctw_volume *image,
		       const ctw_volume *labels, const char *what, ctw_labelmap **out, char **log)
{
	ctw_volume *v = NULL, *w = NULL;
	ctw_labelmap *lm = NULL;
	ctw_preset preset;
	logbuf b = { ctx, NULL, 0, 0, 0 };
	int64_t changed = 0, counts[256];
	double sax_normal[3], sax_spacing = 0, smax;
	int ret, thick, slice_axis = 0, c;
	static const char *const models[] = { "none", "lv", "biv" };

	*out = NULL;
	*log = NULL;
	if ((ret = ctw_segment_check_size(ctx, o, labels->dim, labels->spacing, image, what)))
		return ret;
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
	ctw_seglog_note(&b, "remap: preset %s: %lld voxels changed", preset.name, (long long)changed);
	present(v, counts);
	if (counts[0] == ctw_volume_count(v)) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what, "the label map is empty (no labelled voxel)");
		goto out;
	}
	/* a heart: 3-D, a few solid pieces */
	if ((ret = ctw_labels_check_extent(ctx, what, v)) || (ret = check_fragments(ctx, v, what)))
		goto out;

	/* 2. onto the image's grid */
	if (image && !ctw_same_grid(v, image, 1e-4)) {
		int64_t lost;
		const int64_t labelled = ctw_volume_count(v) - counts[0];
		if ((ret = ctw_seg_resample_to(ctx, what, v, image, &w, &lost)))
			goto out;
		/* a map made on another image (another study, series, crop) lands partly off this one */
		if (lost > 0 && (double)lost > 0.5 * (double)labelled) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, what,
					"%.3g %% of the labelled voxels lie outside the grid of the image given with it "
					"(%lld x %lld x %lld of %.3g x %.3g x %.3g mm, origin %.1f %.1f %.1f LPS mm); the map is on "
					"a grid of %lld x %lld x %lld of %.3g x %.3g x %.3g mm, origin %.1f %.1f %.1f: it belongs to "
					"another image; give the image it was made on (or leave --image out)",
					100.0 * (double)lost / (double)labelled, (long long)image->dim[0], (long long)image->dim[1],
					(long long)image->dim[2], image->spacing[0], image->spacing[1], image->spacing[2],
					image->origin[0], image->origin[1], image->origin[2], (long long)v->dim[0],
					(long long)v->dim[1], (long long)v->dim[2], v->spacing[0], v->spacing[1], v->spacing[2],
					v->origin[0], v->origin[1], v->origin[2]);
			goto out;
		}
		if (lost > 0 && (ret = ctw_warn(ctx, what, "%lld labelled voxels (%.2g %%) lie outside the grid of the image given "
					       "with the map and are cut off", (long long)lost,
					       100.0 * (double)lost / (double)labelled)))
			goto out;
		ctw_volume_free(ctx, v);
		v = w;
		w = NULL;
		ctw_seglog_note(&b, "regrid: onto the image grid %lld x %lld x %lld (nearest neighbour): %lld labelled voxels "
			 "fell outside the image",
		     (long long)v->dim[0], (long long)v->dim[1], (long long)v->dim[2], (long long)lost);
	} else {
		ctw_seglog_note(&b, "regrid: none (%s)", image ? "the label map is on the image grid" : "no image given");
	}

	/* 3. resampling; thick slices (short-axis stacks) get shape-based interpolation */
	smax = fmax(v->spacing[0], fmax(v->spacing[1], v->spacing[2]));
	for (c = 0; c < 3; c++)
		if (v->spacing[c] == smax)
			slice_axis = c;
	for (c = 0; c < 3; c++)
		sax_normal[c] = v->direction[c][slice_axis];
	sax_spacing = smax;
	{
		double iso = plan_iso(o, v->spacing, &thick);
		ctw_resample_method m = thick ? CTW_RESAMPLE_SHAPE : CTW_RESAMPLE_GAUSSIAN;
		if (iso > 0) {
			if ((ret = ctw_seg_resample_iso(ctx, v, iso, m, o->sigma_mm, &w)))
				goto out;
			ctw_seglog_note(&b, "resample: %s to %.4g mm isotropic%s: %lld x %lld x %lld -> %lld x %lld x %lld voxels",
			     m == CTW_RESAMPLE_SHAPE ? "shape-based (per-label signed distances)" : "per-label Gaussian + argmax",
			     iso, thick ? " (thick slices)" : "", (long long)v->dim[0], (long long)v->dim[1],
			     (long long)v->dim[2], (long long)w->dim[0], (long long)w->dim[1], (long long)w->dim[2]);
			ctw_volume_free(ctx, v);
			v = w;
			w = NULL;
		} else {
			ctw_seglog_note(&b, "resample: none (--iso %s)", o->iso_mm < 0 ? "auto: spacing is near isotropic" : "0");
		}
	}

	/* 4-5. components and holes */
	if (o->largest_component) {
		if ((ret = ctw_seg_largest_component(ctx, v, &changed)))
			goto out;
		ctw_seglog_note(&b, "largest component per label: %lld voxels of islands reassigned", (long long)changed);
	}
	if (o->fill_holes) {
		if ((ret = ctw_seg_fill_holes(ctx, v, &changed)))
			goto out;
		ctw_seglog_note(&b, "fill holes: %lld voxels filled", (long long)changed);
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
		ctw_seglog_note(&b, "base plane: %s, point %.3f %.3f %.3f mm, normal %.5f %.5f %.5f; cut: %lld voxels removed",
		     m == CTW_BASE_VALVES ? "fitted to the LV/LA and LV/aorta interfaces"
		     : m == CTW_BASE_SAX  ? "the most basal short-axis slice with myocardium"
					  : "fitted to the rim where the blood pools meet the outside",
		     lm->base_point[0], lm->base_point[1], lm->base_point[2], lm->base_normal[0], lm->base_normal[1],
		     lm->base_normal[2], (long long)changed);
	}

	/* 7-9. the model's labels, the RV wall, separated blood pools */
	if (o->model != CTW_MODEL_NONE) {
		changed = keep_model(lm->grid, o->model);
		ctw_seglog_note(&b, "model %s: %lld voxels of other labels removed", models[o->model], (long long)changed);
	}
	present(lm->grid, counts);
	if (o->model == CTW_MODEL_BIV && counts[CTW_LBL_RV_BLOOD] && !counts[CTW_LBL_RV_MYO] && o->rv_wall_mm > 0) {
		if ((ret = ctw_seg_add_wall(ctx, lm->grid, CTW_LBL_RV_BLOOD, CTW_LBL_RV_MYO, o->rv_wall_mm, &changed)))
			goto out;
		ctw_seglog_note(&b, "RV wall: %.3g mm around the RV blood pool (no RV myocardium was segmented): %lld voxels",
		     o->rv_wall_mm, (long long)changed);
	}
	if (o->separate && counts[CTW_LBL_LV_BLOOD] && counts[CTW_LBL_RV_BLOOD]) {
		if ((ret = ctw_seg_separate(ctx, lm->grid, CTW_LBL_LV_BLOOD, CTW_LBL_RV_BLOOD, CTW_LBL_LV_MYO, 2,
					    &changed)))
			goto out;
		ctw_seglog_note(&b, "separate blood pools: LV and RV blood touched at %lld voxels, now LV myocardium",
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
		ctw_seglog_note(&b, "close blood pools: %lld voxels of myocardium (%.3g mm) where blood met the outside below the base",
		     (long long)(added - cut), o->min_wall_mm);
	}
	if (o->model != CTW_MODEL_NONE && lm->has_base_plane) {
		for (int l = 0; l < 2; l++) {
			const int pool = l ? CTW_LBL_RV_BLOOD : CTW_LBL_LV_BLOOD;
			if (l && o->model != CTW_MODEL_BIV)
				continue;
			if ((ret = open_toward_base(ctx, lm, pool, &changed)))
				goto out;
			if (changed && (ret = ctw_warn(ctx, what, "the %s was sealed by myocardium on every side (it ends "
						       "below the base plane); opened toward the base through %lld voxels "
						       "of its wall", ctw_label_name(pool), (long long)changed)))
				goto out;
			if (changed)
				ctw_seglog_note(&b, "open %s: sealed below the base plane; %lld voxels of its basal wall are now blood",
				     ctw_label_name(pool), (long long)changed);
		}
	}
	if (o->largest_component && o->model != CTW_MODEL_NONE) {
		if ((ret = ctw_seg_largest_component(ctx, lm->grid, &changed)))
			goto out;
		ctw_seglog_note(&b, "largest component per label, after the cut: %lld voxels reassigned", (long long)changed);
	}

	/* 11. padding, so surfaces close at the border */
	if (o->pad > 0) {
		if ((ret = ctw_seg_pad(ctx, lm->grid, o->pad, &w)))
			goto out;
		ctw_volume_free(ctx, lm->grid);
		lm->grid = w;
		w = NULL;
		ctw_seglog_note(&b, "pad: %d voxels of background on every side", o->pad);
	}

	/* 12. the voxel checks mesh runs (voxelcheck.h), repaired locally where they fail (the
	 * closing and interpolation can leave an apex cap one voxel thin), so mesh never refuses
	 * what segment wrote */
	if (o->model != CTW_MODEL_NONE) {
		ctw_voxel_topology t;
		int rounds;
		if ((ret = ctw_seg_repair_topology(ctx, lm->grid, o->model == CTW_MODEL_BIV, 8, &changed, &rounds, &t)))
			goto out;
		if (rounds && (double)changed > 0.05 * (double)t.tissue)
			ctw_log(ctx, CTW_LOG_WARN, what,
				"the topology repair thickened the myocardium by %lld voxels (%.0f %% of it): its walls are one "
				"voxel thin on this grid; a finer grid (--iso MM) keeps them closer to the labels",
				(long long)changed, 100.0 * (double)changed / (double)t.tissue);
		if (rounds)
			ctw_seglog_note(&b, "topology repair: %lld voxels of myocardium added in %d rounds where the wall was one voxel "
				 "thin or parts touched only along an edge or at a corner; now %lld thin voxels, %lld touching",
			     (long long)changed, rounds, (long long)t.thin, (long long)t.touching);
		else
			ctw_seglog_note(&b, "voxel checks: passed (%lld thin voxels of %lld, none touching along an edge or corner)",
			     (long long)t.thin, (long long)t.tissue);
		if (ctw_voxel_topology_fails(&t)) {
			ret = ctw_error(ctx, CTW_ERR_EXTERNAL, what,
					"the myocardium is still one voxel thin in %lld places or touches itself only along "
					"an edge or corner in %lld after %d rounds of repair; hint: resample finer "
					"(--iso MM) or thicken the wall (--min-wall MM)",
					(long long)t.thin, (long long)t.touching, rounds);
			goto out;
		}
	}
	present(lm->grid, counts);
	for (int l = 1; l < 256; l++)
		if (counts[l])
			ctw_seglog_note(&b, "result: label %3d %-16s %10.3f mL", l, ctw_label_name(l),
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
	return name_file(ctx, ret, what);
}
