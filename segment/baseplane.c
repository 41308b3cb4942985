/* baseplane.c: the base plane of ventricular models, where the mesher cuts the ventricles and
 * tags the base: fitted to the LV/LA and LV/aorta interfaces when atria or aorta are labelled;
 * the most basal slice with myocardium for short-axis stacks; otherwise fitted to the rim where
 * the blood pools meet the outside (truncated ventricles, as in the phantom). */
#include "segment.h"

#include <math.h>
#include <string.h>

typedef struct fit {
	double sum[3], cov[3][3];
	int64_t n;
} fit;

/* The eigenvector of the smallest eigenvalue of a symmetric 3x3 matrix (Jacobi rotations). */
static void smallest_eigenvector(double a[3][3], double v[3])
{
	double e[3][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
	for (int sweep = 0; sweep < 50; sweep++) {
		double off = fabs(a[0][1]) + fabs(a[0][2]) + fabs(a[1][2]);
		if (off < 1e-15 * (fabs(a[0][0]) + fabs(a[1][1]) + fabs(a[2][2]) + 1e-300))
			break;
		for (int p = 0; p < 2; p++)
			for (int q = p + 1; q < 3; q++) {
				double th, t, c, s;
				if (a[p][q] == 0)
					continue;
				th = (a[q][q] - a[p][p]) / (2 * a[p][q]);
				t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
				c = 1 / sqrt(t * t + 1);
				s = t * c;
				for (int k = 0; k < 3; k++) { /* A = J^T A J */
					double akp = a[k][p], akq = a[k][q];
					a[k][p] = c * akp - s * akq;
					a[k][q] = s * akp + c * akq;
				}
				for (int k = 0; k < 3; k++) {
					double apk = a[p][k], aqk = a[q][k];
					a[p][k] = c * apk - s * aqk;
					a[q][k] = s * apk + c * aqk;
				}
				for (int k = 0; k < 3; k++) {
					double ekp = e[k][p], ekq = e[k][q];
					e[k][p] = c * ekp - s * ekq;
					e[k][q] = s * ekp + c * ekq;
				}
			}
	}
	int m = 0;
	for (int k = 1; k < 3; k++)
		if (a[k][k] < a[m][m])
			m = k;
	for (int k = 0; k < 3; k++)
		v[k] = e[k][m];
}

static void world(const ctw_volume *g, int64_t n, double p[3])
{
	double ijk[3] = { (double)(n % g->dim[0]), (double)(n / g->dim[0] % g->dim[1]),
			  (double)(n / (g->dim[0] * g->dim[1])) };
	ctw_volume_index_to_world(g, ijk, p);
}

/* Collects the voxels for which keep(n) holds into a plane fit, skipping those farther than
 * max_dist from an earlier plane (point, normal) when normal is not NULL. */
typedef int (*voxel_pred)(const uint8_t *lab, const int64_t dim[3], int64_t n);

static void accumulate(const ctw_volume *g, voxel_pred keep, const double *point, const double *normal,
		       double max_dist, fit *f)
{
	const uint8_t *lab = g->data;
	int64_t n, count = ctw_volume_count(g);
	memset(f, 0, sizeof(*f));
	for (n = 0; n < count; n++) {
		double p[3];
		if (!keep(lab, g->dim, n))
			continue;
		world(g, n, p);
		if (normal && fabs((p[0] - point[0]) * normal[0] + (p[1] - point[1]) * normal[1] +
				   (p[2] - point[2]) * normal[2]) > max_dist)
			continue;
		for (int r = 0; r < 3; r++) {
			f->sum[r] += p[r];
			for (int c = 0; c < 3; c++)
				f->cov[r][c] += p[r] * p[c];
		}
		f->n++;
	}
}

/* Plane through the fitted points: centroid and least-squares normal. */
static void solve(const fit *f, double point[3], double normal[3])
{
	double cov[3][3];
	for (int r = 0; r < 3; r++)
		point[r] = f->sum[r] / (double)f->n;
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			cov[r][c] = f->cov[r][c] / (double)f->n - point[r] * point[c];
	smallest_eigenvector(cov, normal);
}

/* 6-neighbours of voxel n with label v: returns 1 when one of them has a label for which
 * want[label] is set; neighbours outside the volume count as background (0). */
static int touches(const uint8_t *lab, const int64_t dim[3], int64_t n, const uint8_t want[256])
{
	const int64_t i = n % dim[0], j = n / dim[0] % dim[1], k = n / (dim[0] * dim[1]);
	const int64_t sx = 1, sy = dim[0], sz = dim[0] * dim[1];
	return (i > 0 ? want[lab[n - sx]] : want[0]) || (i + 1 < dim[0] ? want[lab[n + sx]] : want[0]) ||
	       (j > 0 ? want[lab[n - sy]] : want[0]) || (j + 1 < dim[1] ? want[lab[n + sy]] : want[0]) ||
	       (k > 0 ? want[lab[n - sz]] : want[0]) || (k + 1 < dim[2] ? want[lab[n + sz]] : want[0]);
}

static const uint8_t want_valves[256] = { [CTW_LBL_LA_BLOOD] = 1, [CTW_LBL_AORTA] = 1,
					  [CTW_LBL_AORTA_WHOLE] = 1 };
static const uint8_t want_outside[256] = { [0] = 1 };

static int is_valve_interface(const uint8_t *lab, const int64_t dim[3], int64_t n)
{
	return lab[n] == CTW_LBL_LV_BLOOD && touches(lab, dim, n, want_valves);
}

static int is_rim(const uint8_t *lab, const int64_t dim[3], int64_t n)
{
	return (lab[n] == CTW_LBL_LV_BLOOD || lab[n] == CTW_LBL_RV_BLOOD) && touches(lab, dim, n, want_outside);
}

/* The LV's rim alone: without RV myocardium the RV blood pool meets the outside along its whole
 * free wall, which is no rim of the base. */
static int is_lv_rim(const uint8_t *lab, const int64_t dim[3], int64_t n)
{
	return lab[n] == CTW_LBL_LV_BLOOD && touches(lab, dim, n, want_outside);
}

static int is_lv_blood(const uint8_t *lab, const int64_t dim[3], int64_t n)
{
	(void)dim;
	return lab[n] == CTW_LBL_LV_BLOOD;
}

static double dot3(const double a[3], const double b[3])
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* Fits a plane to the voxels keep() selects, once, then again without the points farther than
 * three times their mean distance from the first plane (holes in a wall make outliers). */
static int robust_plane(const ctw_volume *g, voxel_pred keep, double point[3], double normal[3], int64_t *n)
{
	fit f;
	double mean = 0;
	int64_t count = ctw_volume_count(g), m = 0;
	accumulate(g, keep, NULL, NULL, 0, &f);
	if (f.n < 3)
		return 0;
	solve(&f, point, normal);
	for (int64_t v = 0; v < count; v++) {
		double p[3], d[3];
		if (!keep(g->data, g->dim, v))
			continue;
		world(g, v, p);
		for (int c = 0; c < 3; c++)
			d[c] = p[c] - point[c];
		mean += fabs(dot3(d, normal));
		m++;
	}
	mean /= (double)m;
	accumulate(g, keep, point, normal, 3 * mean + 1e-9, &f);
	if (f.n >= 3)
		solve(&f, point, normal);
	*n = f.n;
	return 1;
}

int ctw_base_plane_find(ctw_ctx *ctx, ctw_labelmap *lm, const double *sax_normal, double sax_spacing,
			ctw_base_method *method)
{
	const ctw_volume *g = lm->grid;
	const uint8_t *lab = g->data;
	const int64_t count = ctw_volume_count(g);
	double point[3], normal[3], lv[3], d[3], hmin = fmin(g->spacing[0], fmin(g->spacing[1], g->spacing[2]));
	int has[256] = { 0 };
	int64_t n_used = 0;
	fit f;

	*method = CTW_BASE_NONE;
	if (g->dtype != CTW_U8)
		return ctw_error(ctx, CTW_ERR_INTERNAL, "base plane", "label map is not uint8");
	for (int64_t n = 0; n < count; n++)
		has[lab[n]] = 1;
	if (!has[CTW_LBL_LV_BLOOD])
		return ctw_error(ctx, CTW_ERR_FORMAT, "base plane", "no LV blood pool (label 1): no ventricle to cut");
	accumulate(g, is_lv_blood, NULL, NULL, 0, &f);
	for (int c = 0; c < 3; c++)
		lv[c] = f.sum[c] / (double)f.n;

	if (has[CTW_LBL_LA_BLOOD] || has[CTW_LBL_AORTA] || has[CTW_LBL_AORTA_WHOLE]) {
		if (!robust_plane(g, is_valve_interface, point, normal, &n_used))
			return ctw_error(ctx, CTW_ERR_FORMAT, "base plane",
					 "the LV blood pool does not touch the left atrium or the aorta; no valve plane");
		*method = CTW_BASE_VALVES;
	} else if (sax_normal) {
		/* the most basal slice with myocardium: of the two end slices holding LV myocardium,
		 * the one with the larger blood pool */
		double tmin = INFINITY, tmax = -INFINITY, p[3];
		int64_t nb_min = 0, nb_max = 0;
		memcpy(normal, sax_normal, sizeof(normal));
		for (int64_t n = 0; n < count; n++)
			if (lab[n] == CTW_LBL_LV_MYO) {
				world(g, n, p);
				tmin = fmin(tmin, dot3(p, normal));
				tmax = fmax(tmax, dot3(p, normal));
			}
		if (!isfinite(tmin))
			return ctw_error(ctx, CTW_ERR_FORMAT, "base plane", "no LV myocardium (label 2) in the stack");
		for (int64_t n = 0; n < count; n++)
			if (lab[n] == CTW_LBL_LV_BLOOD) {
				double t;
				world(g, n, p);
				t = dot3(p, normal);
				nb_min += t <= tmin + 0.5 * sax_spacing;
				nb_max += t >= tmax - 0.5 * sax_spacing;
			}
		if (nb_min > nb_max) {
			for (int c = 0; c < 3; c++)
				normal[c] = -normal[c];
			tmax = -tmin;
		}
		/* centroid of the basal slab of myocardium, on the plane half a voxel beyond it */
		memset(&f, 0, sizeof(f));
		for (int64_t n = 0; n < count; n++)
			if (lab[n] == CTW_LBL_LV_MYO) {
				world(g, n, p);
				if (dot3(p, normal) >= tmax - 0.5 * sax_spacing) {
					for (int c = 0; c < 3; c++)
						f.sum[c] += p[c];
					f.n++;
				}
			}
		for (int c = 0; c < 3; c++)
			point[c] = f.sum[c] / (double)f.n;
		{
			double shift = tmax + 0.5 * hmin - dot3(point, normal);
			for (int c = 0; c < 3; c++)
				point[c] += shift * normal[c];
		}
		n_used = f.n;
		*method = CTW_BASE_SAX;
	} else {
		/* with RV blood but no RV myocardium, the plane comes from the LV's rim (when it has one) */
		voxel_pred rim = has[CTW_LBL_RV_BLOOD] && !has[CTW_LBL_RV_MYO] ? is_lv_rim : is_rim;
		if (rim == is_lv_rim && !robust_plane(g, is_lv_rim, point, normal, &n_used))
			rim = is_rim;
		else if (rim == is_lv_rim)
			ctw_log(ctx, CTW_LOG_INFO, "segment", "base plane from the LV rim only (no RV myocardium: the RV blood "
				"pool meets the outside along its free wall)");
		if (rim == is_rim && !robust_plane(g, is_rim, point, normal, &n_used))
			return ctw_error(ctx, CTW_ERR_FORMAT, "base plane",
					 "the blood pools do not meet the outside anywhere: no open base to fit a "
					 "plane to; label the atria or the aorta");
		*method = CTW_BASE_RIM;
	}
	/* the normal points from the apex (the LV centre) towards the base */
	for (int c = 0; c < 3; c++)
		d[c] = point[c] - lv[c];
	if (dot3(d, normal) < 0)
		for (int c = 0; c < 3; c++)
			normal[c] = -normal[c];
	if (*method == CTW_BASE_RIM) /* rim voxel centres lie half a voxel inside the opening */
		for (int c = 0; c < 3; c++)
			point[c] += 0.5 * hmin * normal[c];
	memcpy(lm->base_point, point, sizeof(point));
	memcpy(lm->base_normal, normal, sizeof(normal));
	lm->has_base_plane = 1;
	ctw_log(ctx, CTW_LOG_INFO, "segment",
		"base plane (%s, %lld voxels): point %.2f %.2f %.2f mm, normal %.4f %.4f %.4f",
		*method == CTW_BASE_VALVES ? "valve interfaces" : *method == CTW_BASE_SAX ? "basal slice" : "rim",
		(long long)n_used, point[0], point[1], point[2], normal[0], normal[1], normal[2]);
	return CTW_OK;
}

int ctw_base_plane_cut(ctw_ctx *ctx, ctw_labelmap *lm, int64_t *changed)
{
	ctw_volume *g = lm->grid;
	uint8_t *lab = g->data;
	int64_t count = ctw_volume_count(g);

	*changed = 0;
	if (!lm->has_base_plane)
		return ctw_error(ctx, CTW_ERR_INTERNAL, "base plane", "no base plane to cut at");
	for (int64_t n = 0; n < count; n++) {
		double p[3], d[3];
		if (!lab[n])
			continue;
		world(g, n, p);
		for (int c = 0; c < 3; c++)
			d[c] = p[c] - lm->base_point[c];
		if (dot3(d, lm->base_normal) > 0) {
			lab[n] = 0;
			(*changed)++;
		}
	}
	return CTW_OK;
}
