/* phantom.c: the analytic heart phantom (truncated prolate ellipsoids): geometry and placement,
 * exact label volumes (closed form and Gauss-Kronrod quadrature of circle/lens cross sections),
 * voxelisation into a CT-like image and a label map, and the truth.xml writer.
 *
 * Determinism: the image depends only on the options. Geometry uses no libm transcendental
 * function (the rotation is built from square roots) and the noise uses its own PRNG
 * (splitmix64 + xoshiro256**) and its own logarithm, so a seed gives the same bytes on any
 * IEEE-754 machine, provided floating-point contraction is off (ISO C mode for GCC; the pragma
 * below for clang).
 */
#include "phantom.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define PI 3.14159265358979323846
#define SQRT_HALF 0.70710678118654752440
#define MARGIN_MM 20.0  /* field of view = heart + fat bounding box + this on each side */
#define LUNG_GAP_MM 2.0 /* at least this much soft tissue between the fat and the lungs   */

/* Tissue classes of a point; the order of the tests in classify() is their priority. */
enum { CLS_SOFT, CLS_LV_BLOOD, CLS_LV_MYO, CLS_RV_BLOOD, CLS_RV_MYO, CLS_FAT, CLS_LUNG, CLS_N };

static const int class_label[CLS_N] = { 0, CTW_LBL_LV_BLOOD, CTW_LBL_LV_MYO, CTW_LBL_RV_BLOOD,
					CTW_LBL_RV_MYO, 0, 0 };

/* ---- cross sections and exact volumes ------------------------------------------------------ */

/* Radius at height z of an ellipsoid with short semi-axis b and long semi-axis a (0 outside). */
static double ell_radius(double b, double a, double z)
{
	double q = 1.0 - (z / a) * (z / a);
	return q > 0.0 ? b * sqrt(q) : 0.0;
}

/* Radii at height z: LV endo, LV epi, RV endo, RV epi (RV ones 0 for an LV phantom). */
static void radii(const ctw_phantom_truth *t, double z, double r[4])
{
	int biv = t->kind == CTW_PHANTOM_BIV;

	r[0] = ell_radius(t->lv_endo_b, t->lv_endo_a, z);
	r[1] = ell_radius(t->lv_epi_b, t->lv_epi_a, z);
	r[2] = biv ? ell_radius(t->rv_endo_b, t->rv_endo_a, z) : 0.0;
	r[3] = biv ? ell_radius(t->rv_endo_b + t->rv_wall, t->rv_endo_a + t->rv_wall, z) : 0.0;
}

/* Area of the intersection of two discs of radii r and R whose centres are d apart. */
static double lens(double r, double R, double d)
{
	double ca, cb, k;

	if (r <= 0.0 || R <= 0.0 || d >= r + R)
		return 0.0;
	if (d <= fabs(r - R))
		return PI * fmin(r, R) * fmin(r, R);
	ca = (d * d + r * r - R * R) / (2.0 * d * r);
	cb = (d * d + R * R - r * r) / (2.0 * d * R);
	k = (-d + r + R) * (d + r - R) * (d - r + R) * (d + r + R);
	return r * r * acos(fmax(-1.0, fmin(1.0, ca))) + R * R * acos(fmax(-1.0, fmin(1.0, cb))) -
	       0.5 * sqrt(fmax(0.0, k));
}

/* Area in mm^2 of label v in the cross section at height z. */
static double label_area(const ctw_phantom_truth *t, int v, double z)
{
	double r[4], d = t->rv_offset;

	if (z > t->base_z)
		return 0.0;
	radii(t, z, r);
	switch (v) {
	case CTW_LBL_LV_BLOOD:
		return PI * r[0] * r[0];
	case CTW_LBL_LV_MYO:
		return PI * (r[1] * r[1] - r[0] * r[0]);
	case CTW_LBL_RV_BLOOD:
		return PI * r[2] * r[2] - lens(r[2], r[1], d);
	case CTW_LBL_RV_MYO:
		return PI * (r[3] * r[3] - r[2] * r[2]) - lens(r[3], r[1], d) + lens(r[2], r[1], d);
	}
	return 0.0;
}

/* Gauss-Kronrod 7/15 on [a, b] (QUADPACK qk15 nodes); *err = |K15 - G7|. */
static double gk15(const ctw_phantom_truth *t, int v, double a, double b, double *err)
{
	static const double x[8] = { 0.991455371120812639206854697526329,
				     0.949107912342758524526189684047851,
				     0.864864423359769072789712788640926,
				     0.741531185599394439863864773280788,
				     0.586087235467691130294144845693013,
				     0.405845151377397166906606412076961,
				     0.207784955007898467600689403773245, 0.0 };
	static const double wk[8] = { 0.022935322010529224963732008058970,
				      0.063092092629978553290700663189204,
				      0.104790010322250183839876322541518,
				      0.140653259715525918745189590510238,
				      0.169004726639267902826583426598550,
				      0.190350578064785409913256402421014,
				      0.204432940075298892414161999234649,
				      0.209482141084727828012999174891714 };
	static const double wg[4] = { 0.129484966168869693270611432679082,
				      0.279705391489276667901467771423780,
				      0.381830050505118944950369775488975,
				      0.417959183673469387755102040816327 };
	double c = 0.5 * (a + b), h = 0.5 * (b - a), fc = label_area(t, v, c);
	double k = wk[7] * fc, g = wg[3] * fc;
	int i;

	for (i = 0; i < 7; i++) {
		double f = label_area(t, v, c - h * x[i]) + label_area(t, v, c + h * x[i]);
		k += wk[i] * f;
		if (i % 2)
			g += wg[i / 2] * f;
	}
	*err = fabs(h * (k - g));
	return h * k;
}

static double adapt(const ctw_phantom_truth *t, int v, double a, double b, double tol, int depth)
{
	double err, m = 0.5 * (a + b), k = gk15(t, v, a, b, &err);

	if (err <= tol || depth >= 50 || m <= a || m >= b)
		return k;
	return adapt(t, v, a, m, 0.5 * tol, depth + 1) + adapt(t, v, m, b, 0.5 * tol, depth + 1);
}

/* Circle-pair events where a cross-section area has a kink: g(z) = 0 with, for an RV radius r
 * and the LV epi radius R, g = r + R - d (discs touch), r - R - d or R - r - d (one contains
 * the other). */
static double event(const ctw_phantom_truth *t, int which, double z)
{
	double r[4];

	radii(t, z, r);
	switch (which % 3) {
	case 0:
		return r[2 + which / 3] + r[1] - t->rv_offset;
	case 1:
		return r[2 + which / 3] - r[1] - t->rv_offset;
	}
	return r[1] - r[2 + which / 3] - t->rv_offset;
}

/* Integrates label v's area over z in [zlo, base_z], split at the ellipsoid tips and at the
 * circle-pair events (located by a scan and bisection), to a relative tolerance ~1e-12. */
static double integrate_label(const ctw_phantom_truth *t, int v)
{
	enum { NSCAN = 1024, NMAX = 64 };
	double bp[NMAX], tips[4], zlo = 0.0, h = t->base_z, sum = 0.0, tol;
	int n = 0, nt = t->kind == CTW_PHANTOM_BIV ? 4 : 2, i, j, w;

	tips[0] = -t->lv_endo_a;
	tips[1] = -t->lv_epi_a;
	tips[2] = -t->rv_endo_a;
	tips[3] = -(t->rv_endo_a + t->rv_wall);
	for (i = 0; i < nt; i++)
		zlo = fmin(zlo, tips[i]);
	bp[n++] = zlo;
	bp[n++] = h;
	for (i = 0; i < nt; i++)
		if (tips[i] > zlo && tips[i] < h)
			bp[n++] = tips[i];
	for (w = 0; nt == 4 && w < 6; w++) {
		double z0 = zlo, g0 = event(t, w, z0);
		for (i = 1; i <= NSCAN && n < NMAX; i++) {
			double z1 = zlo + (h - zlo) * i / NSCAN, g1 = event(t, w, z1);
			double a = z0, b = z1;
			if ((g0 < 0.0) != (g1 < 0.0)) {
				for (j = 0; j < 200; j++) {
					double m = 0.5 * (a + b);
					if (m <= a || m >= b)
						break;
					if ((event(t, w, m) < 0.0) == (g0 < 0.0))
						a = m;
					else
						b = m;
				}
				bp[n++] = 0.5 * (a + b);
			}
			z0 = z1;
			g0 = g1;
		}
	}
	for (i = 1; i < n; i++) /* insertion sort */
		for (j = i; j > 0 && bp[j - 1] > bp[j]; j--) {
			double s = bp[j];
			bp[j] = bp[j - 1];
			bp[j - 1] = s;
		}
	tol = 1e-13 * PI * t->lv_epi_b * t->lv_epi_b; /* per mm of z: ~1e-13 of a volume */
	for (i = 0; i + 1 < n; i++)
		if (bp[i + 1] > bp[i])
			sum += adapt(t, v, bp[i], bp[i + 1], tol * (bp[i + 1] - bp[i]), 0);
	return sum;
}

/* Volume of an ellipsoid (b, b, a) truncated to z <= h: pi b^2 [(h + a) - (h^3 + a^3) / 3a^2]. */
static double trunc_volume(double b, double a, double h)
{
	h = fmax(-a, fmin(a, h));
	return PI * b * b * ((h + a) - (h * h * h + a * a * a) / (3.0 * a * a));
}

double ctw_phantom_label_volume(const ctw_phantom_truth *t, int v, ctw_phantom_method m)
{
	int i, present = 0;

	for (i = 0; i < t->n_labels; i++)
		present |= t->label[i] == v;
	if (!present)
		return -1.0;
	if (m == CTW_PHANTOM_EXACT && v == CTW_LBL_LV_BLOOD)
		return trunc_volume(t->lv_endo_b, t->lv_endo_a, t->base_z);
	if (m == CTW_PHANTOM_EXACT && v == CTW_LBL_LV_MYO)
		return trunc_volume(t->lv_epi_b, t->lv_epi_a, t->base_z) -
		       trunc_volume(t->lv_endo_b, t->lv_endo_a, t->base_z);
	return integrate_label(t, v);
}

/* ---- point classification ------------------------------------------------------------------ */

/* The truth rearranged for fast membership tests: inverse squared semi-axes. */
typedef struct shape {
	double c[3], rt[3][3];  /* local = rt * (world - c)                                   */
	double h, d;
	double e[6][2];         /* 1/b^2, 1/a^2: LV endo, LV epi, RV endo, RV epi, LV fat, RV fat */
	double lc[2][3], il[3]; /* lung centres, 1/axes^2                                     */
	int biv;
} shape;

static void shape_init(const ctw_phantom_truth *t, shape *s)
{
	double ab[6][2] = { { t->lv_endo_b, t->lv_endo_a },
			    { t->lv_epi_b, t->lv_epi_a },
			    { t->rv_endo_b, t->rv_endo_a },
			    { t->rv_endo_b + t->rv_wall, t->rv_endo_a + t->rv_wall },
			    { t->lv_epi_b + t->fat_mm, t->lv_epi_a + t->fat_mm },
			    { t->rv_endo_b + t->rv_wall + t->fat_mm,
			      t->rv_endo_a + t->rv_wall + t->fat_mm } };
	int i, j;

	for (i = 0; i < 3; i++) {
		s->c[i] = t->centre[i];
		s->il[i] = 1.0 / (t->lung_axes[i] * t->lung_axes[i]);
		for (j = 0; j < 3; j++)
			s->rt[i][j] = t->rotation[j][i];
		for (j = 0; j < 2; j++)
			s->lc[j][i] = t->lung_centre[j][i];
	}
	for (i = 0; i < 6; i++)
		for (j = 0; j < 2; j++)
			s->e[i][j] = 1.0 / (ab[i][j] * ab[i][j]);
	s->h = t->base_z;
	s->d = t->rv_offset;
	s->biv = t->kind == CTW_PHANTOM_BIV;
}

#define INSIDE(e, rho2, z2) ((rho2) * (e)[0] + (z2) * (e)[1] <= 1.0)

static int classify(const shape *s, const double p[3])
{
	double q[3] = { p[0] - s->c[0], p[1] - s->c[1], p[2] - s->c[2] };
	double z = s->rt[2][0] * q[0] + s->rt[2][1] * q[1] + s->rt[2][2] * q[2];
	int i;

	if (z <= s->h) {
		double x = s->rt[0][0] * q[0] + s->rt[0][1] * q[1] + s->rt[0][2] * q[2];
		double y = s->rt[1][0] * q[0] + s->rt[1][1] * q[1] + s->rt[1][2] * q[2];
		double z2 = z * z, l2 = x * x + y * y, r2 = (x - s->d) * (x - s->d) + y * y;
		if (INSIDE(s->e[0], l2, z2))
			return CLS_LV_BLOOD;
		if (INSIDE(s->e[1], l2, z2))
			return CLS_LV_MYO;
		if (s->biv && INSIDE(s->e[2], r2, z2))
			return CLS_RV_BLOOD;
		if (s->biv && INSIDE(s->e[3], r2, z2))
			return CLS_RV_MYO;
		if (INSIDE(s->e[4], l2, z2) || (s->biv && INSIDE(s->e[5], r2, z2)))
			return CLS_FAT;
	}
	for (i = 0; i < 2; i++) {
		double u = p[0] - s->lc[i][0], v = p[1] - s->lc[i][1], w = p[2] - s->lc[i][2];
		if (u * u * s->il[0] + v * v * s->il[1] + w * w * s->il[2] <= 1.0)
			return CLS_LUNG;
	}
	return CLS_SOFT;
}

int ctw_phantom_label_at(const ctw_phantom_truth *t, const double lps[3])
{
	shape s;

	shape_init(t, &s);
	return class_label[classify(&s, lps)];
}

/* ---- placement ------------------------------------------------------------------------------- */

static void matmul(double a[3][3], double b[3][3], double out[3][3])
{
	int i, j, k;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++) {
			out[i][j] = 0.0;
			for (k = 0; k < 3; k++)
				out[i][j] += a[i][k] * b[k][j];
		}
}

/* R = Rx(-30 deg) Ry(-45 deg) Rz(225 deg): the long axis (local z) tilts 45 deg from S toward R
 * and 30 deg toward P, so the apex points left-anterior-inferior; local x (towards the RV)
 * points right-anterior. Built from square roots only, for bit-reproducibility. */
static void heart_rotation(double R[3][3])
{
	double c30 = 0.5 * sqrt(3.0), s = SQRT_HALF, t[3][3];
	double rx[3][3] = { { 1, 0, 0 }, { 0, c30, 0.5 }, { 0, -0.5, c30 } };
	double ry[3][3] = { { s, 0, -s }, { 0, 1, 0 }, { s, 0, s } };
	double rz[3][3] = { { -s, s, 0 }, { -s, -s, 0 }, { 0, 0, 1 } };

	matmul(rx, ry, t);
	matmul(t, rz, R);
}

/* Grows [lo, hi] (world, relative to the heart centre) by a conservative bound of the ellipsoid
 * (b, b, a) centred at local (cx, 0, 0) and truncated to z <= h: the exact box of the whole
 * rotated ellipsoid intersected with the box of its rotated, truncated local bounding box. */
static void grow_bbox(double R[3][3], double cx, double b, double a, double h, double lo[3],
		      double hi[3])
{
	double ax[3] = { b, b, a };
	int i, j, k;

	for (i = 0; i < 3; i++) {
		double e = 0.0, c = R[i][0] * cx, clo = INFINITY, chi = -INFINITY;
		for (j = 0; j < 3; j++)
			e += R[i][j] * ax[j] * R[i][j] * ax[j];
		e = sqrt(e);
		for (k = 0; k < 8; k++) {
			double w = R[i][0] * (cx + (k & 1 ? b : -b)) + R[i][1] * (k & 2 ? b : -b) +
				   R[i][2] * (k & 4 ? fmin(a, h) : -a);
			clo = fmin(clo, w);
			chi = fmax(chi, w);
		}
		lo[i] = fmin(lo[i], fmax(c - e, clo));
		hi[i] = fmax(hi[i], fmin(c + e, chi));
	}
}

/* sgn * w_x + A sqrt(1 - (w_y - cy)^2 / B^2 - (w_z - cz)^2 / C^2) for the world offset w of local
 * point (x, y, z), 0 when w is outside the lung's shadow along x: how far out along world x
 * (side sgn) a lung centre at (., cy, cz) relative to the heart centre must be to clear w. */
static double lung_need(const ctw_phantom_truth *t, double x, double y, double z, double cy,
			double cz, int sgn)
{
	const double(*R)[3] = t->rotation, *L = t->lung_axes;
	double wy = R[1][0] * x + R[1][1] * y + R[1][2] * z - cy;
	double wz = R[2][0] * x + R[2][1] * y + R[2][2] * z - cz;
	double q = 1.0 - wy * wy / (L[1] * L[1]) - wz * wz / (L[2] * L[2]);

	return q > 0.0 ? sgn * (R[0][0] * x + R[0][1] * y + R[0][2] * z) + L[0] * sqrt(q) : 0.0;
}

/* The largest lung_need() over heart + fat (the truncated fat ellipsoids), sampled on their
 * sides and base discs about every 0.5 mm; circles by the rational parametrisation, so no libm
 * trigonometry enters the image. */
static double lung_clearance(const ctw_phantom_truth *t, double cy, double cz, int sgn)
{
	enum { NZ = 256, NA = 512, NR = 80 };
	double best = 0.0;
	int e, iz, ia, ir;

	for (e = 0; e < (t->kind == CTW_PHANTOM_BIV ? 2 : 1); e++) {
		double cx = e ? t->rv_offset : 0.0;
		double b = (e ? t->rv_endo_b + t->rv_wall : t->lv_epi_b) + t->fat_mm;
		double a = (e ? t->rv_endo_a + t->rv_wall : t->lv_epi_a) + t->fat_mm;
		double ztop = fmin(a, t->base_z);
		for (iz = 0; iz <= NZ; iz++) {
			double z = -a + (ztop + a) * iz / NZ, rmax = ell_radius(b, a, z);
			for (ia = 0; ia < NA; ia++) {
				double u = -1.0 + 4.0 * (ia / 2) / NA;
				double g = (ia % 2 ? -1.0 : 1.0) / (1.0 + u * u);
				double c = g * (1.0 - u * u), s = g * 2.0 * u;
				/* the side ring at z; at the top also the rings of the base disc */
				for (ir = iz < NZ ? NR : 0; ir <= NR; ir++) {
					double r = rmax * ir / NR;
					double need = lung_need(t, cx + r * c, r * s, z, cy, cz, sgn);
					best = fmax(best, need);
				}
			}
		}
	}
	return best;
}

int ctw_phantom_truth_init(ctw_ctx *ctx, const ctw_phantom_opts *o, ctw_phantom_truth *t)
{
	/* a plausible heart position in scanner coordinates (left of midline, anterior) */
	static const double heart_lps[3] = { 30.0, -20.0, -160.0 };
	double lo[3] = { INFINITY, INFINITY, INFINITY };
	double hi[3] = { -INFINITY, -INFINITY, -INFINITY };
	double sp = o->spacing_mm;
	int i, j, biv;

	if (o->kind != CTW_PHANTOM_LV && o->kind != CTW_PHANTOM_BIV)
		return ctw_error(ctx, CTW_ERR_INVALID, "phantom", "unknown kind %d; use lv or biv",
				 (int)o->kind);
	if (!isfinite(sp) || sp < 0.1 || sp > 5.0)
		return ctw_error(ctx, CTW_ERR_INVALID, "phantom",
				 "spacing %g mm is out of range; must be finite and in [0.1, 5] mm",
				 sp);
	if (!isfinite(o->noise_sd) || o->noise_sd < 0.0)
		return ctw_error(ctx, CTW_ERR_INVALID, "phantom",
				 "noise SD %g HU is invalid; must be finite and >= 0", o->noise_sd);
	biv = o->kind == CTW_PHANTOM_BIV;
	memset(t, 0, sizeof(*t));
	t->kind = o->kind;
	t->spacing_mm = sp;
	t->noise_sd = o->noise_sd;
	t->seed = o->seed;
	t->lv_endo_b = 25.0;
	t->lv_endo_a = 60.0;
	t->lv_epi_b = 35.0;
	t->lv_epi_a = 70.0;
	t->base_z = 15.0;
	t->rv_offset = biv ? 20.0 : 0.0;
	t->rv_endo_b = biv ? 35.0 : 0.0;
	t->rv_endo_a = biv ? 55.0 : 0.0;
	t->rv_wall = biv ? 3.5 : 0.0;
	t->fat_mm = 3.5;
	t->hu_blood = 350.0;
	t->hu_myo = 100.0;
	t->hu_fat = -100.0;
	t->hu_soft = 40.0;
	t->hu_lung = -800.0;
	heart_rotation(t->rotation);
	for (i = 0; i < 3; i++) {
		t->centre[i] = heart_lps[i];
		t->long_axis[i] = t->rotation[i][2];
		t->base_point[i] = t->centre[i] + t->rotation[i][2] * t->base_z;
	}
	grow_bbox(t->rotation, 0.0, t->lv_epi_b + t->fat_mm, t->lv_epi_a + t->fat_mm, t->base_z, lo,
		  hi);
	if (biv)
		grow_bbox(t->rotation, t->rv_offset, t->rv_endo_b + t->rv_wall + t->fat_mm,
			  t->rv_endo_a + t->rv_wall + t->fat_mm, t->base_z, lo, hi);
	for (i = 0; i < 3; i++) {
		t->origin[i] = sp * floor((t->centre[i] + lo[i] - MARGIN_MM) / sp);
		t->dim[i] = (int64_t)ceil((t->centre[i] + hi[i] + MARGIN_MM - t->origin[i]) / sp);
		t->dim[i] += 1;
	}
	/* lungs: right (-x) and left (+x) of the heart, posterior and superior of its centre */
	t->lung_axes[0] = 55.0;
	t->lung_axes[1] = 90.0;
	t->lung_axes[2] = 125.0;
	for (j = 0; j < 2; j++) {
		double x = ceil(lung_clearance(t, 30.0, 30.0, j ? 1 : -1) + LUNG_GAP_MM);
		t->lung_centre[j][0] = t->centre[0] + (j ? x : -x);
		t->lung_centre[j][1] = t->centre[1] + 30.0;
		t->lung_centre[j][2] = t->centre[2] + 30.0;
	}
	t->n_labels = biv ? 4 : 2;
	t->label[0] = CTW_LBL_LV_BLOOD;
	t->label[1] = CTW_LBL_LV_MYO;
	t->label[2] = CTW_LBL_RV_BLOOD;
	t->label[3] = CTW_LBL_RV_MYO;
	for (i = 0; i < t->n_labels; i++) {
		t->name[i] = ctw_label_name(t->label[i]);
		t->volume_mm3[i] = ctw_phantom_label_volume(t, t->label[i], CTW_PHANTOM_EXACT);
	}
	return CTW_OK;
}

/* ---- noise: xoshiro256** seeded by splitmix64, Marsaglia polar with a portable log ----------- */

typedef struct rng {
	uint64_t s[4];
	double spare;
	int has_spare;
} rng;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
	r->has_spare = 0;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return (double)(out >> 11) * (1.0 / 9007199254740992.0);
}

/* Natural log of x > 0 from frexp and the atanh series, so it is the same on every libm. */
static double portable_log(double x)
{
	int e, k;
	double m = frexp(x, &e), s, s2, term, sum;

	if (m < SQRT_HALF) {
		m *= 2.0;
		e--;
	}
	s = (m - 1.0) / (m + 1.0); /* |s| <= 0.172 */
	s2 = s * s;
	term = s;
	sum = 0.0;
	for (k = 1; k < 30; k += 2) { /* s^29 < 1e-22 */
		sum += term / k;
		term *= s2;
	}
	return e * 0.69314718055994530942 + 2.0 * sum;
}

static double rng_gauss(rng *r)
{
	double u, v, q, f;

	if (r->has_spare) {
		r->has_spare = 0;
		return r->spare;
	}
	do {
		u = 2.0 * rng_uniform(r) - 1.0;
		v = 2.0 * rng_uniform(r) - 1.0;
		q = u * u + v * v;
	} while (q >= 1.0 || q == 0.0);
	f = sqrt(-2.0 * portable_log(q) / q);
	r->spare = v * f;
	r->has_spare = 1;
	return u * f;
}

/* ---- voxelisation --------------------------------------------------------------------------- */

static int16_t hu_round(double x)
{
	x = floor(x + 0.5);
	return (int16_t)(x < INT16_MIN ? INT16_MIN : x > INT16_MAX ? INT16_MAX : x);
}

int ctw_phantom_make(ctw_ctx *ctx, const ctw_phantom_opts *o, ctw_volume **image,
		     ctw_labelmap **labels, ctw_phantom_truth *truth)
{
	ctw_phantom_truth t;
	ctw_volume *img = NULL, *lab = NULL;
	ctw_labelmap *lm = NULL;
	double hu[CLS_N], sp;
	int16_t *pix;
	uint8_t *lbl;
	int64_t i, j, k, n = 0;
	shape s;
	rng r;
	int ret, c;

	*image = NULL;
	*labels = NULL;
	ret = ctw_phantom_truth_init(ctx, o, &t);
	if (ret)
		return ret;
	ret = ctw_volume_new(ctx, t.dim, CTW_I16, &img);
	if (!ret)
		ret = ctw_volume_new(ctx, t.dim, CTW_U8, &lab);
	if (ret)
		goto out;
	sp = t.spacing_mm;
	for (c = 0; c < 3; c++) {
		img->spacing[c] = sp;
		img->origin[c] = t.origin[c];
	}
	ctw_volume_copy_geometry(lab, img);
	pix = img->data;
	lbl = lab->data;
	hu[CLS_SOFT] = t.hu_soft;
	hu[CLS_LV_BLOOD] = hu[CLS_RV_BLOOD] = t.hu_blood;
	hu[CLS_LV_MYO] = hu[CLS_RV_MYO] = t.hu_myo;
	hu[CLS_FAT] = t.hu_fat;
	hu[CLS_LUNG] = t.hu_lung;
	shape_init(&t, &s);
	rng_seed(&r, t.seed);
	for (k = 0; k < t.dim[2]; k++) {
		if (ctw_progress(ctx, "phantom", (double)k, (double)t.dim[2])) {
			ret = ctw_error(ctx, CTW_ERR_CANCELLED, "phantom", "cancelled");
			goto out;
		}
		for (j = 0; j < t.dim[1]; j++) {
			for (i = 0; i < t.dim[0]; i++, n++) {
				double p[3] = { t.origin[0] + sp * (double)i,
						t.origin[1] + sp * (double)j,
						t.origin[2] + sp * (double)k };
				double sum = 0.0, v;
				lbl[n] = (uint8_t)class_label[classify(&s, p)];
				for (c = 0; c < 8; c++) { /* 2x2x2 sub-voxel centres */
					double ps[3] = { p[0] + (c & 1 ? 0.25 : -0.25) * sp,
							 p[1] + (c & 2 ? 0.25 : -0.25) * sp,
							 p[2] + (c & 4 ? 0.25 : -0.25) * sp };
					sum += hu[classify(&s, ps)];
				}
				v = sum / 8.0;
				if (t.noise_sd > 0.0)
					v += t.noise_sd * rng_gauss(&r);
				pix[n] = hu_round(v);
			}
		}
	}
	ctw_progress(ctx, "phantom", (double)t.dim[2], (double)t.dim[2]);
	ret = ctw_labelmap_from_volume(ctx, "phantom", lab, &lm);
	if (ret)
		goto out;
	lab = NULL;
	lm->has_base_plane = 1;
	for (c = 0; c < 3; c++) {
		lm->base_point[c] = t.base_point[c];
		lm->base_normal[c] = t.long_axis[c];
	}
	*image = img;
	*labels = lm;
	img = NULL;
	if (truth)
		*truth = t;
out:
	ctw_volume_free(ctx, img);
	ctw_volume_free(ctx, lab);
	return ret;
}

/* ---- truth.xml ------------------------------------------------------------------------------ */

static void write_vec(FILE *f, const char *name, const double *v, int n)
{
	int i;

	fprintf(f, " %s=\"", name);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%.17g", i ? " " : "", v[i]);
	fputc('"', f);
}

int ctw_phantom_write_truth(ctw_ctx *ctx, const ctw_phantom_truth *t, const char *path)
{
	double dim[3] = { (double)t->dim[0], (double)t->dim[1], (double)t->dim[2] };
	int ret = CTW_OK, i;
	FILE *f = fopen(path, "w");

	if (!f)
		return ctw_error(ctx, CTW_ERR_IO, "phantom", "cannot open '%s' for writing: %s",
				 path, strerror(errno));
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<!-- analytic heart phantom; lengths in mm, world frame LPS -->\n");
	fprintf(f, "<phantom kind=\"%s\" spacing_mm=\"%.17g\" noise_sd=\"%.17g\" seed=\"%llu\">\n",
		t->kind == CTW_PHANTOM_BIV ? "biv" : "lv", t->spacing_mm, t->noise_sd,
		(unsigned long long)t->seed);
	fprintf(f, "  <geometry frame=\"local: z apex to base, base plane z = base_z_mm\"\n"
		   "    lv_endo_short_mm=\"%.17g\" lv_endo_long_mm=\"%.17g\"\n"
		   "    lv_epi_short_mm=\"%.17g\" lv_epi_long_mm=\"%.17g\" base_z_mm=\"%.17g\"\n"
		   "    rv_offset_mm=\"%.17g\" rv_endo_short_mm=\"%.17g\"\n"
		   "    rv_endo_long_mm=\"%.17g\" rv_wall_mm=\"%.17g\" fat_mm=\"%.17g\"/>\n",
		t->lv_endo_b, t->lv_endo_a, t->lv_epi_b, t->lv_epi_a, t->base_z, t->rv_offset,
		t->rv_endo_b, t->rv_endo_a, t->rv_wall, t->fat_mm);
	fprintf(f, "  <placement");
	write_vec(f, "centre_lps_mm", t->centre, 3);
	write_vec(f, "rotation_rowmajor", &t->rotation[0][0], 9);
	write_vec(f, "long_axis_lps", t->long_axis, 3);
	write_vec(f, "base_point_lps_mm", t->base_point, 3);
	fprintf(f, "/>\n  <grid");
	write_vec(f, "dim", dim, 3);
	write_vec(f, "origin_lps_mm", t->origin, 3);
	fprintf(f, " direction=\"1 0 0 0 1 0 0 0 1\"/>\n");
	fprintf(f, "  <intensities blood_hu=\"%.17g\" myocardium_hu=\"%.17g\" fat_hu=\"%.17g\""
		   " soft_tissue_hu=\"%.17g\" lung_hu=\"%.17g\"/>\n",
		t->hu_blood, t->hu_myo, t->hu_fat, t->hu_soft, t->hu_lung);
	for (i = 0; i < t->n_labels; i++)
		fprintf(f, "  <label value=\"%d\" name=\"%s\""
			   " volume_mm3=\"%.17g\" volume_ml=\"%.17g\"/>\n",
			t->label[i], t->name[i], t->volume_mm3[i], t->volume_mm3[i] / 1000.0);
	fprintf(f, "</phantom>\n");
	if (ferror(f))
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, path, "cannot write: %s", strerror(errno));
	if (fclose(f) && ret == CTW_OK)
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, path, "cannot write: %s", strerror(errno));
	return ret; /* the caller writes into a temporary directory and discards it on failure */
}
