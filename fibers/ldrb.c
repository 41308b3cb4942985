/* ldrb.c: Laplace-Dirichlet rule-based fibres (Bayer et al. 2012) on LV and BiV tetrahedral
 * meshes, as specified in specs/fibers.md §1: the transmural fields phi_lv (and phi_rv) on one
 * matrix, phi_epi = 1 - phi_lv - phi_rv, the apicobasal field psi_ab, then a frame per
 * tetrahedron at its centroid, in mode A (Bayer's bislerp, as ldrb >= 2023.5) or mode B
 * (continuity-preserving: the helix is linear in phi_epi). */
#define _POSIX_C_SOURCE 200809L
#include "fibers.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RAD2DEG (180.0 / 3.14159265358979323846)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double dot3(const double *a, const double *b)
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross3(const double *a, const double *b, double *c)
{
	c[0] = a[1] * b[2] - a[2] * b[1];
	c[1] = a[2] * b[0] - a[0] * b[2];
	c[2] = a[0] * b[1] - a[1] * b[0];
}

static int check_angles(ctw_ctx *ctx, const char *set, const ctw_angles *a)
{
	const double v[4] = { a->alpha_endo, a->alpha_epi, a->beta_endo, a->beta_epi };
	static const char *const names[4] = { "alpha-endo", "alpha-epi", "beta-endo", "beta-epi" };

	for (int k = 0; k < 4; k++)
		if (!isfinite(v[k]) || fabs(v[k]) > 90)
			return ctw_error(ctx, CTW_ERR_FORMAT, "fibers", "%s %s = %g is out of range; angles are degrees in [-90, 90]",
					 set, names[k], v[k]);
	return CTW_OK;
}

int ctw_fiber_opts_check(ctw_ctx *ctx, const ctw_fiber_opts *o)
{
	int ret;

	if (o->mode != CTW_LDRB_LINEAR && o->mode != CTW_LDRB_BAYER)
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "unknown LDRB mode %d", (int)o->mode);
	if ((ret = check_angles(ctx, "lv", &o->lv)) || (o->has_rv && (ret = check_angles(ctx, "rv", &o->rv))) ||
	    (o->has_sept && (ret = check_angles(ctx, "septum", &o->sept))))
		return ret;
	if (!(o->solver.rtol > 0 && o->solver.rtol < 1) || o->solver.max_iterations < 1)
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "solver tolerance %g or iteration limit %d out of range",
				 o->solver.rtol, o->solver.max_iterations);
	return CTW_OK;
}

/* ---- boundary coverage -------------------------------------------------------------------------- */

static void sort3(int32_t *v)
{
	int32_t t;
	if (v[0] > v[1])
		t = v[0], v[0] = v[1], v[1] = t;
	if (v[1] > v[2])
		t = v[1], v[1] = v[2], v[2] = t;
	if (v[0] > v[1])
		t = v[0], v[0] = v[1], v[1] = t;
}

/* Every boundary face of m (a face of exactly one tetrahedron) must carry a tagged triangle, and
 * no face may be shared by three tetrahedra. Faces are bucketed by their smallest node. */
static int check_boundary(ctw_ctx *ctx, const char *what, const ctw_tetmesh *m)
{
	static const int fv[4][3] = { { 1, 2, 3 }, { 0, 2, 3 }, { 0, 1, 3 }, { 0, 1, 2 } };
	const int64_t nf = 4 * m->n_tets, np = m->n_points;
	int64_t *start = ctw_calloc(ctx, (size_t)np + 2, sizeof(int64_t));
	int64_t *cur = ctw_malloc(ctx, sizeof(int64_t) * ((size_t)np + 2));
	int32_t *bc = ctw_malloc(ctx, sizeof(int32_t) * 2 * (size_t)(nf + 1));
	uint8_t *cnt = ctw_calloc(ctx, (size_t)nf + 1, 1);
	int64_t untagged = 0, shared3 = 0, offboundary = 0, first = -1;
	int ret = CTW_OK;

	if (!start || !cur || !bc || !cnt) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (int64_t t = 0; t < m->n_tets; t++)
		for (int f = 0; f < 4; f++) {
			int32_t v[3] = { m->tets[4 * t + fv[f][0]], m->tets[4 * t + fv[f][1]], m->tets[4 * t + fv[f][2]] };
			sort3(v);
			start[v[0] + 1]++;
		}
	for (int64_t i = 0; i < np; i++)
		start[i + 1] += start[i];
	/* bucket a is start[a] .. start[a+1]; cur[a] is where its next face goes */
	memcpy(cur, start, sizeof(int64_t) * ((size_t)np + 1));
	for (int64_t t = 0; t < m->n_tets; t++)
		for (int f = 0; f < 4; f++) {
			int32_t v[3] = { m->tets[4 * t + fv[f][0]], m->tets[4 * t + fv[f][1]], m->tets[4 * t + fv[f][2]] };
			sort3(v);
			int64_t k = cur[v[0]]++, j;
			/* merge with an equal face already in the bucket */
			for (j = start[v[0]]; j < k; j++)
				if (bc[2 * j] == v[1] && bc[2 * j + 1] == v[2])
					break;
			if (j < k) {
				if (cnt[j] < 255)
					cnt[j]++;
				bc[2 * k] = -1, bc[2 * k + 1] = -1; /* a hole in the bucket */
			} else {
				bc[2 * k] = v[1], bc[2 * k + 1] = v[2];
				cnt[k] = 1;
			}
		}
	/* mark the faces of tagged triangles (128) */
	for (int64_t i = 0; i < m->n_tris; i++) {
		int32_t v[3] = { m->tris[3 * i], m->tris[3 * i + 1], m->tris[3 * i + 2] };
		int64_t j;
		if (m->tri_marker[i] == CTW_SURF_NONE)
			continue;
		sort3(v);
		for (j = start[v[0]]; j < start[v[0] + 1]; j++)
			if (bc[2 * j] == v[1] && bc[2 * j + 1] == v[2])
				break;
		if (j == start[v[0] + 1] || (cnt[j] & 127) != 1)
			offboundary++;
		else
			cnt[j] |= 128;
	}
	for (int64_t j = 0; j < nf; j++) {
		if (bc[2 * j] < 0)
			continue;
		if ((cnt[j] & 127) > 2)
			shared3++;
		if (cnt[j] == 1) {
			if (first < 0)
				first = j;
			untagged++;
		}
	}
	if (shared3)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what, "%lld faces are shared by more than two tetrahedra (a non-manifold mesh)",
				(long long)shared3);
	else if (untagged) {
		int64_t a = 0;
		while (start[a + 1] <= first)
			a++;
		const double *p = m->xyz + 3 * a;
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what,
				"%lld boundary faces carry no surface tag (epi, lv_endo, rv_endo or base), the first near "
				"(%.2f, %.2f, %.2f) mm; every boundary face needs one",
				(long long)untagged, p[0], p[1], p[2]);
	} else if (offboundary)
		ctw_log(ctx, CTW_LOG_WARN, what, "%lld tagged triangles are not boundary faces of the mesh; ignored",
			(long long)offboundary);
out:
	ctw_free(ctx, start);
	ctw_free(ctx, cur);
	ctw_free(ctx, bc);
	ctw_free(ctx, cnt);
	return ret;
}

/* ---- apex and base -------------------------------------------------------------------------------- */

/* Base centroid and the unit normal of the (area-weighted) base, pointing from the ventricle
 * towards the base, i.e. apex -> base. */
static int base_plane(const ctw_tetmesh *m, double c[3], double nup[3])
{
	double n[3] = { 0, 0, 0 }, ref[3] = { 0, 0, 0 }, area = 0, mc[3] = { 0, 0, 0 };
	int have_ref = 0;

	c[0] = c[1] = c[2] = 0;
	for (int64_t i = 0; i < m->n_tris; i++) {
		if (m->tri_marker[i] != CTW_SURF_BASE)
			continue;
		const double *a = m->xyz + 3 * m->tris[3 * i], *b = m->xyz + 3 * m->tris[3 * i + 1],
			     *d = m->xyz + 3 * m->tris[3 * i + 2];
		double u[3], v[3], w[3];
		for (int k = 0; k < 3; k++)
			u[k] = b[k] - a[k], v[k] = d[k] - a[k];
		cross3(u, v, w);
		const double ar = 0.5 * sqrt(dot3(w, w));
		if (!have_ref && ar > 0) {
			memcpy(ref, w, sizeof(ref));
			have_ref = 1;
		}
		const double sg = dot3(w, ref) < 0 ? -1 : 1;
		for (int k = 0; k < 3; k++) {
			n[k] += sg * w[k];
			c[k] += ar * (a[k] + b[k] + d[k]) / 3;
		}
		area += ar;
	}
	if (!(area > 0))
		return -1;
	for (int k = 0; k < 3; k++)
		c[k] /= area;
	for (int64_t i = 0; i < m->n_points; i++)
		for (int k = 0; k < 3; k++)
			mc[k] += m->xyz[3 * i + k] / (double)m->n_points;
	const double nn = sqrt(dot3(n, n));
	if (!(nn > 0))
		return -1;
	double dc[3] = { c[0] - mc[0], c[1] - mc[1], c[2] - mc[2] };
	const double sg = dot3(n, dc) < 0 ? -1 : 1;
	for (int k = 0; k < 3; k++)
		nup[k] = sg * n[k] / nn;
	return 0;
}

/* ---- the rule ----------------------------------------------------------------------------------------- */

typedef struct rule_in {
	double phi_lv, phi_rv, phi_epi;
	double g_psi[3], g_lv[3], g_rv[3], g_epi[3];
} rule_in;

static double lerp(double a, double b, double t)
{
	return a * (1 - t) + b * t;
}

/* Transmural frame with a fallback for a vanishing transmural gradient: the epicardial one
 * (sign sg), then any direction normal to the apicobasal one. Returns 1 when it fell back. */
static int frame_or(const double *gpsi, const double *v, const double *vfb, double sg, double Q[3][3])
{
	double w[3];

	if (!ctw_frame_axis(gpsi, v, Q))
		return 0;
	for (int k = 0; k < 3; k++)
		w[k] = sg * vfb[k];
	if (!ctw_frame_axis(gpsi, w, Q))
		return 1;
	const double ax[3][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
	for (int k = 0; k < 3; k++)
		if (!ctw_frame_axis(gpsi, ax[k], Q))
			return 1;
	return 1;
}

/* R = the LDRB frame of one point; Qref = axis(grad psi, grad phi_epi) for the helix angle.
 * Returns the number of fallbacks used. */
static int ldrb_rule(const rule_in *in, int biv, ctw_ldrb_mode mode, const ctw_angles *a, double R[3][3],
		     double Qref[3][3])
{
	int fb = frame_or(in->g_psi, in->g_epi, in->g_lv, -1, Qref);
	const double pe = in->phi_epi < 0 ? 0 : in->phi_epi > 1 ? 1 : in->phi_epi;
	double Qlv[3][3], Qrv[3][3], Qendo[3][3], Qepi[3][3], Q0[3][3];

	if (!biv) {
		if (mode == CTW_LDRB_LINEAR) {
			ctw_frame_orient(Qref, lerp(a->alpha_endo, a->alpha_epi, pe), lerp(a->beta_endo, a->beta_epi, pe), R);
			return fb;
		}
		double mlv[3] = { -in->g_lv[0], -in->g_lv[1], -in->g_lv[2] };
		fb += frame_or(in->g_psi, mlv, in->g_epi, 1, Q0);
		ctw_frame_orient(Q0, a->alpha_endo, a->beta_endo, Qendo);
		ctw_frame_orient(Qref, lerp(a->alpha_endo, a->alpha_epi, pe), lerp(a->beta_endo, a->beta_epi, pe), Qepi);
		ctw_bislerp(Qendo, Qepi, pe, R);
		return fb;
	}
	const double sum = in->phi_lv + in->phi_rv;
	double d = sum < 1e-12 ? 0.5 : in->phi_rv / sum;
	d = d < 0 ? 0 : d > 1 ? 1 : d;
	const double as = a->alpha_endo * (1 - d) - a->alpha_endo * d, bs = a->beta_endo * (1 - d) - a->beta_endo * d;
	double mlv[3] = { -in->g_lv[0], -in->g_lv[1], -in->g_lv[2] };
	fb += frame_or(in->g_psi, mlv, in->g_epi, 1, Q0);
	ctw_frame_orient(Q0, as, bs, Qlv);
	fb += frame_or(in->g_psi, in->g_rv, in->g_epi, -1, Q0);
	ctw_frame_orient(Q0, as, bs, Qrv);
	if (mode == CTW_LDRB_BAYER) {
		ctw_bislerp(Qlv, Qrv, d, Qendo);
		ctw_frame_orient(Qref, lerp(a->alpha_endo, a->alpha_epi, pe), lerp(a->beta_endo, a->beta_epi, pe), Qepi);
		ctw_bislerp(Qendo, Qepi, pe, R);
		return fb;
	}
	const double t = sqrt(pe);
	ctw_slerp_rot(Qlv, Qrv, d, Qendo);
	if (d > 0.5)
		for (int k = 0; k < 3; k++) {
			Qendo[k][0] = -Qendo[k][0];
			Qendo[k][2] = -Qendo[k][2];
		}
	ctw_frame_orient(Qref, lerp(a->alpha_endo, a->alpha_epi, t), lerp(a->beta_endo, a->beta_epi, t), Qepi);
	ctw_slerp_rot(Qendo, Qepi, t, R);
	return fb;
}

/* Helix angle of f in the frame Qref = (e_c, e_l, e_t), folded into (-90, 90]. */
static double helix_of(const double f[3], double Qref[3][3])
{
	double ec[3], el[3];
	for (int k = 0; k < 3; k++)
		ec[k] = Qref[k][0], el[k] = Qref[k][1];
	double h = atan2(dot3(f, el), dot3(f, ec)) * RAD2DEG;
	if (h > 90)
		h -= 180;
	if (h <= -90)
		h += 180;
	return h;
}

/* ---- the per-tetrahedron pass (threaded) ------------------------------------------------------------ */

typedef struct pass {
	const ctw_tetmesh *m;
	const ctw_fiber_opts *o;
	int biv;
	const double *psi, *plv, *prv;
	const double *ng_psi, *ng_lv, *ng_rv; /* recovered nodal gradients (fallback), or NULL */
	const double *axis_up;                /* global long axis (last resort)               */
	double psi_floor;                     /* |grad psi| below this is degenerate          */
	ctw_fiber_result *res;
	uint8_t *need;                        /* tets whose gradients need the fallback       */
	int64_t lo, hi;
	int64_t n_degenerate, n_fallback, n_need;
} pass;

static void tet_gradients(const pass *p, int64_t t, rule_in *in, int *degenerate)
{
	const ctw_tetmesh *m = p->m;
	const int32_t *v = m->tets + 4 * t;
	double x[4][3], K[4][4], g[4][3], vol;

	for (int a = 0; a < 4; a++)
		memcpy(x[a], m->xyz + 3 * (int64_t)v[a], sizeof(x[a]));
	*degenerate = ctw_p1_stiffness((const double(*)[3])x, K, g, &vol) != 0;
	memset(in, 0, sizeof(*in));
	for (int a = 0; a < 4; a++) {
		const double s = p->psi[v[a]], l = p->plv[v[a]], r = p->prv ? p->prv[v[a]] : 0;
		in->phi_lv += 0.25 * l;
		in->phi_rv += 0.25 * r;
		for (int k = 0; k < 3; k++) {
			in->g_psi[k] += s * g[a][k];
			in->g_lv[k] += l * g[a][k];
			in->g_rv[k] += r * g[a][k];
		}
	}
	in->phi_epi = 1 - in->phi_lv - in->phi_rv;
	for (int k = 0; k < 3; k++)
		in->g_epi[k] = -in->g_lv[k] - in->g_rv[k];
}

/* Replaces degenerate gradients of tet t by the mean of its nodes' recovered gradients, and
 * an apicobasal gradient still degenerate (or parallel to the transmural one) by the long axis. */
static void tet_fallback(const pass *p, int64_t t, rule_in *in)
{
	const int32_t *v = p->m->tets + 4 * t;
	double gp[3] = { 0, 0, 0 }, gl[3] = { 0, 0, 0 }, gr[3] = { 0, 0, 0 };

	for (int a = 0; a < 4; a++)
		for (int k = 0; k < 3; k++) {
			gp[k] += 0.25 * p->ng_psi[3 * (int64_t)v[a] + k];
			gl[k] += 0.25 * p->ng_lv[3 * (int64_t)v[a] + k];
			gr[k] += 0.25 * (p->ng_rv ? p->ng_rv[3 * (int64_t)v[a] + k] : 0);
		}
	if (!(sqrt(dot3(in->g_psi, in->g_psi)) > p->psi_floor))
		memcpy(in->g_psi, gp, sizeof(gp));
	if (!(dot3(in->g_lv, in->g_lv) + dot3(in->g_rv, in->g_rv) > 0)) {
		memcpy(in->g_lv, gl, sizeof(gl));
		memcpy(in->g_rv, gr, sizeof(gr));
		for (int k = 0; k < 3; k++)
			in->g_epi[k] = -gl[k] - gr[k];
	}
	double Q[3][3];
	if (!(sqrt(dot3(in->g_psi, in->g_psi)) > p->psi_floor) || ctw_frame_axis(in->g_psi, in->g_epi, Q))
		memcpy(in->g_psi, p->axis_up, 3 * sizeof(double));
}

static int needs_fallback(const pass *p, const rule_in *in, int degenerate)
{
	double Q[3][3];
	if (degenerate || !(sqrt(dot3(in->g_psi, in->g_psi)) > p->psi_floor))
		return 1;
	return ctw_frame_axis(in->g_psi, in->g_epi, Q) != 0;
}

static const ctw_angles *angle_set(const pass *p, const rule_in *in, int *region)
{
	const ctw_fiber_opts *o = p->o;
	double d;

	*region = 1;
	if (!p->biv)
		return &o->lv;
	/* ldrb's regions by phi_lvrv, here by d = phi_rv / (phi_lv + phi_rv) (= 1 - phi_lvrv on the
	 * endocardia), which needs no extra solve */
	const double sum = in->phi_lv + in->phi_rv;
	d = sum < 1e-12 ? 0.5 : in->phi_rv / sum;
	if (in->phi_epi > 0.5)
		*region = d <= 0.5 ? 1 : 2;
	else
		*region = d <= 0.1 ? 1 : d >= 0.9 ? 2 : 3;
	if (*region == 2 && o->has_rv)
		return &o->rv;
	if (*region == 3 && o->has_sept)
		return &o->sept;
	return &o->lv;
}

static void store(pass *p, int64_t t, const rule_in *in)
{
	ctw_fiber_result *r = p->res;
	double R[3][3], Qref[3][3], f[3], s[3], n[3];
	int region;
	const ctw_angles *a = angle_set(p, in, &region);

	p->n_fallback += ldrb_rule(in, p->biv, p->o->mode, a, R, Qref) > 0;
	for (int k = 0; k < 3; k++)
		f[k] = R[k][0], s[k] = R[k][2];
	cross3(f, s, n);
	memcpy(r->fiber->values + 3 * t, f, sizeof(f));
	memcpy(r->sheet->values + 3 * t, s, sizeof(s));
	memcpy(r->sheet_normal->values + 3 * t, n, sizeof(n));
	r->helix_angle->values[t] = helix_of(f, Qref);
	r->fiber_region->values[t] = region;
}

static void *pass_run(void *arg)
{
	pass *p = arg;
	rule_in in;
	int degenerate;

	for (int64_t t = p->lo; t < p->hi; t++) {
		if (p->ng_psi && !p->need[t])
			continue;
		tet_gradients(p, t, &in, &degenerate);
		if (!p->ng_psi) {
			if (needs_fallback(p, &in, degenerate)) {
				p->need[t] = 1;
				p->n_need++;
				p->n_degenerate += degenerate;
				continue;
			}
		} else {
			tet_fallback(p, t, &in);
			p->n_fallback++;
		}
		store(p, t, &in);
	}
	return NULL;
}

static int n_threads(int want)
{
	long n = want > 0 ? want : sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* Runs the pass over all tetrahedra on nt threads; sums the counters into *tot. */
static void run_pass(const pass *tmpl, int nt, pass *tot)
{
	pass ps[8];
	pthread_t th[8];
	int started[8] = { 0 };
	const int64_t ne = tmpl->m->n_tets;

	*tot = *tmpl;
	tot->n_degenerate = tot->n_fallback = tot->n_need = 0;
	for (int i = 0; i < nt; i++) {
		ps[i] = *tmpl;
		ps[i].lo = ne * i / nt;
		ps[i].hi = ne * (i + 1) / nt;
		ps[i].n_degenerate = ps[i].n_fallback = ps[i].n_need = 0;
		if (i > 0 && !pthread_create(&th[i], NULL, pass_run, &ps[i]))
			started[i] = 1;
	}
	pass_run(&ps[0]);
	for (int i = 1; i < nt; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			pass_run(&ps[i]);
	}
	for (int i = 0; i < nt; i++) {
		tot->n_degenerate += ps[i].n_degenerate;
		tot->n_fallback += ps[i].n_fallback;
		tot->n_need += ps[i].n_need;
	}
}

/* Recovered nodal gradients g_i = sum V_e grad u_e / sum V_e (lumped L2 projection) of the
 * fields u[0..nu-1] (NULL entries skipped) into g[k] (3 per node). */
static int recover_gradients(ctw_ctx *ctx, const ctw_tetmesh *m, const double *const *u, double **g, int nu)
{
	double *w = ctw_calloc(ctx, (size_t)m->n_points, sizeof(double));

	if (!w)
		return CTW_ERR_NOMEM;
	for (int64_t t = 0; t < m->n_tets; t++) {
		const int32_t *v = m->tets + 4 * t;
		double x[4][3], K[4][4], gr[4][3], vol;
		for (int a = 0; a < 4; a++)
			memcpy(x[a], m->xyz + 3 * (int64_t)v[a], sizeof(x[a]));
		if (ctw_p1_stiffness((const double(*)[3])x, K, gr, &vol))
			continue;
		for (int f = 0; f < nu; f++) {
			double ge[3] = { 0, 0, 0 };
			if (!u[f])
				continue;
			for (int a = 0; a < 4; a++)
				for (int k = 0; k < 3; k++)
					ge[k] += u[f][v[a]] * gr[a][k];
			for (int a = 0; a < 4; a++)
				for (int k = 0; k < 3; k++)
					g[f][3 * (int64_t)v[a] + k] += vol * ge[k];
		}
		for (int a = 0; a < 4; a++)
			w[v[a]] += vol;
	}
	for (int f = 0; f < nu; f++)
		if (u[f])
			for (int64_t i = 0; i < m->n_points; i++)
				for (int k = 0; k < 3; k++)
					g[f][3 * i + k] = w[i] > 0 ? g[f][3 * i + k] / w[i] : 0;
	ctw_free(ctx, w);
	return CTW_OK;
}

/* Median |grad psi| over a sample of tetrahedra (for the degeneracy threshold of spec §1.8). */
static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_grad(ctw_ctx *ctx, const ctw_tetmesh *m, const double *u)
{
	const int64_t step = m->n_tets > 20000 ? m->n_tets / 10000 : 1;
	int64_t n = 0;
	double *s = ctw_malloc(ctx, sizeof(double) * (size_t)(m->n_tets / step + 1)), med;

	if (!s)
		return 0;
	for (int64_t t = 0; t < m->n_tets; t += step) {
		const int32_t *v = m->tets + 4 * t;
		double x[4][3], K[4][4], g[4][3], vol, ge[3] = { 0, 0, 0 };
		for (int a = 0; a < 4; a++)
			memcpy(x[a], m->xyz + 3 * (int64_t)v[a], sizeof(x[a]));
		if (ctw_p1_stiffness((const double(*)[3])x, K, g, &vol))
			continue;
		for (int a = 0; a < 4; a++)
			for (int k = 0; k < 3; k++)
				ge[k] += u[v[a]] * g[a][k];
		s[n++] = sqrt(dot3(ge, ge));
	}
	if (n)
		qsort(s, (size_t)n, sizeof(double), cmp_double);
	med = n ? s[n / 2] : 0;
	ctw_free(ctx, s);
	return med;
}

/* ---- the stage ------------------------------------------------------------------------------------ */

void ctw_fiber_result_release(ctw_ctx *ctx, ctw_fiber_result *res)
{
	for (int i = 0; i < res->n_fields; i++)
		ctw_field_free(ctx, res->fields[i]);
	memset(res, 0, sizeof(*res));
}

static int alloc_fields(ctw_ctx *ctx, const ctw_tetmesh *m, ctw_fiber_result *r)
{
	static const struct {
		const char *name;
		ctw_field_loc loc;
		int nc;
	} spec[9] = { { "fiber", CTW_ON_CELLS, 3 },   { "sheet", CTW_ON_CELLS, 3 },  { "sheet_normal", CTW_ON_CELLS, 3 },
		      { "helix_angle", CTW_ON_CELLS, 1 }, { "fiber_region", CTW_ON_CELLS, 1 }, { "phi_epi", CTW_ON_POINTS, 1 },
		      { "phi_lv", CTW_ON_POINTS, 1 }, { "phi_rv", CTW_ON_POINTS, 1 }, { "psi_ab", CTW_ON_POINTS, 1 } };
	ctw_field **slot[9] = { &r->fiber, &r->sheet, &r->sheet_normal, &r->helix_angle, &r->fiber_region,
				&r->phi_epi, &r->phi_lv, &r->phi_rv, &r->psi_ab };
	int ret;

	for (int i = 0; i < 9; i++) {
		ret = ctw_field_new(ctx, spec[i].name, spec[i].loc, spec[i].nc,
				    spec[i].loc == CTW_ON_CELLS ? m->n_tets : m->n_points, slot[i]);
		if (ret)
			return ret;
		r->fields[r->n_fields++] = *slot[i];
	}
	return CTW_OK;
}

static int dirichlet_sets(ctw_ctx *ctx, const ctw_tetmesh *m, uint8_t **owner)
{
	/* transmural owner per node, precedence RV_ENDO > LV_ENDO > EPI (spec §1.2) */
	static const uint8_t rank[5] = { 0, 1, 2, 3, 0 };
	uint8_t *o = ctw_calloc(ctx, (size_t)m->n_points, 1);

	if (!o)
		return CTW_ERR_NOMEM;
	for (int64_t i = 0; i < m->n_tris; i++) {
		const int t = m->tri_marker[i];
		if (t < 1 || t > 3)
			continue;
		for (int c = 0; c < 3; c++) {
			uint8_t *x = &o[m->tris[3 * i + c]];
			if (rank[t] > rank[*x])
				*x = (uint8_t)t;
		}
	}
	*owner = o;
	return CTW_OK;
}

/* Helix angle against transmural depth (phi_epi at the centroid, bins 0.1 wide) per region. */
static void summarise(const ctw_tetmesh *m, ctw_fiber_result *r)
{
	double sum[3][CTW_HELIX_BINS] = { { 0 } }, sq[3][CTW_HELIX_BINS] = { { 0 } };

	memset(r->helix_count, 0, sizeof(r->helix_count));
	for (int64_t t = 0; t < r->n_tets; t++) {
		const int g = (int)r->fiber_region->values[t] - 1;
		double pe = 0;
		for (int a = 0; a < 4; a++)
			pe += 0.25 * r->phi_epi->values[m->tets[4 * t + a]];
		int b = (int)(pe * CTW_HELIX_BINS);
		b = b < 0 ? 0 : b >= CTW_HELIX_BINS ? CTW_HELIX_BINS - 1 : b;
		if (g < 0 || g > 2)
			continue;
		const double h = r->helix_angle->values[t];
		r->helix_count[g][b]++;
		sum[g][b] += h;
		sq[g][b] += h * h;
	}
	for (int g = 0; g < 3; g++)
		for (int b = 0; b < CTW_HELIX_BINS; b++) {
			const double n = (double)r->helix_count[g][b];
			r->helix_mean[g][b] = n > 0 ? sum[g][b] / n : 0;
			r->helix_sd[g][b] = n > 1 ? sqrt(fmax(0, (sq[g][b] - sum[g][b] * sum[g][b] / n) / (n - 1))) : 0;
		}
}

int ctw_fibers_compute(ctw_ctx *ctx, const char *what, const ctw_tetmesh *m, int want_biv, const ctw_fiber_opts *o,
		       ctw_fiber_result *res)
{
	const double t0 = now_s();
	int64_t ntag[5] = { 0 };
	ctw_laplace *L = NULL;
	uint8_t *owner = NULL, *fixed = NULL, *fixed_ab = NULL, *need = NULL;
	double *value = NULL, *value_rv = NULL, *value_ab = NULL, *ng[3] = { NULL, NULL, NULL };
	double cb[3], nup[3];
	int ret, ncomp = 0;

	memset(res, 0, sizeof(*res));
	if ((ret = ctw_fiber_opts_check(ctx, o)))
		return ret;
	if (m->n_tets < 1 || m->n_points < 4)
		return ctw_error(ctx, CTW_ERR_FORMAT, what, "the mesh has no tetrahedra");
	if ((ret = ctw_tetmesh_check(ctx, what, m)))
		return ret;
	for (int64_t i = 0; i < m->n_tris; i++)
		if (m->tri_marker[i] >= 0 && m->tri_marker[i] <= 4)
			ntag[m->tri_marker[i]]++;
	if (!ntag[CTW_SURF_LV_ENDO] || !ntag[CTW_SURF_EPI] || !ntag[CTW_SURF_BASE])
		return ctw_error(ctx, CTW_ERR_FORMAT, what, "the mesh has no %s%s%s boundary faces; fibres need lv_endo, epi and base",
				 ntag[CTW_SURF_LV_ENDO] ? "" : "lv_endo ", ntag[CTW_SURF_EPI] ? "" : "epi ",
				 ntag[CTW_SURF_BASE] ? "" : "base ");
	if (want_biv && !ntag[CTW_SURF_RV_ENDO])
		return ctw_error(ctx, CTW_ERR_FORMAT, what, "a biv model was asked for, but the mesh has no rv_endo faces (an lv mesh)");
	if ((ret = ctw_tetmesh_components(ctx, m, &ncomp)))
		return ret;
	if (ncomp != 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, what, "the mesh is disconnected (%d parts); fibres need one connected myocardium",
				 ncomp);
	if ((ret = check_boundary(ctx, what, m)))
		return ret;
	if (base_plane(m, cb, nup))
		return ctw_error(ctx, CTW_ERR_FORMAT, what, "the base faces have no area");

	res->biv = ntag[CTW_SURF_RV_ENDO] > 0;
	res->n_points = m->n_points;
	res->n_tets = m->n_tets;
	if ((ret = alloc_fields(ctx, m, res)))
		goto out;
	if ((ret = dirichlet_sets(ctx, m, &owner)))
		goto out;
	fixed = ctw_calloc(ctx, (size_t)m->n_points, 1);
	fixed_ab = ctw_calloc(ctx, (size_t)m->n_points, 1);
	value = ctw_calloc(ctx, (size_t)m->n_points, sizeof(double));
	value_rv = ctw_calloc(ctx, (size_t)m->n_points, sizeof(double));
	value_ab = ctw_calloc(ctx, (size_t)m->n_points, sizeof(double));
	need = ctw_calloc(ctx, (size_t)m->n_tets, 1);
	if (!fixed || !fixed_ab || !value || !value_rv || !value_ab || !need) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}

	/* the apex: given, or the epicardial node farthest below the base */
	res->apex_node = o->apex_node;
	if (res->apex_node >= m->n_points) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what, "apex node %lld is not a node of the mesh", (long long)o->apex_node);
		goto out;
	}
	if (res->apex_node < 0) {
		double best = -1e300;
		for (int64_t i = 0; i < m->n_points; i++) {
			if (owner[i] != CTW_SURF_EPI)
				continue;
			const double *p = m->xyz + 3 * i;
			const double dd = (cb[0] - p[0]) * nup[0] + (cb[1] - p[1]) * nup[1] + (cb[2] - p[2]) * nup[2];
			if (dd > best)
				best = dd, res->apex_node = i;
		}
		if (res->apex_node < 0) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, what, "no epicardial node for the apex");
			goto out;
		}
	}

	const double ts = now_s();
	if ((ret = ctw_laplace_new(ctx, m, &o->solver, &L, &res->n_degenerate_tets)))
		goto out;
	res->setup_seconds = now_s() - ts;

	/* transmural: phi_lv (and phi_rv) on the same matrix and Dirichlet set; apicobasal psi_ab:
	 * 1 on the base, 0 at the apex (APEX > BASE). All solved together: one pass over the matrix
	 * per iteration serves every problem still running (bit for bit the separate solves). */
	for (int64_t i = 0; i < m->n_points; i++) {
		fixed[i] = owner[i] != 0;
		value[i] = owner[i] == CTW_SURF_LV_ENDO;
		value_rv[i] = owner[i] == CTW_SURF_RV_ENDO;
	}
	for (int64_t i = 0; i < m->n_tris; i++)
		if (m->tri_marker[i] == CTW_SURF_BASE)
			for (int c = 0; c < 3; c++)
				fixed_ab[m->tris[3 * i + c]] = 1, value_ab[m->tris[3 * i + c]] = 1;
	fixed_ab[res->apex_node] = 1;
	value_ab[res->apex_node] = 0;
	{
		ctw_laplace_problem pr[3];
		ctw_solve_info *info[3];
		int np = 0;
		pr[np] = (ctw_laplace_problem){ fixed, value, 0, 0, 0, 1, res->phi_lv->values, { 0, 0, 0, 0 }, 0 };
		info[np++] = &res->solve_lv;
		if (res->biv) {
			pr[np] = (ctw_laplace_problem){ fixed, value_rv, 0, 0, 0, 1, res->phi_rv->values, { 0, 0, 0, 0 }, 0 };
			info[np++] = &res->solve_rv;
		}
		pr[np] = (ctw_laplace_problem){ fixed_ab, value_ab, 0, 0, 0, 1, res->psi_ab->values, { 0, 0, 0, 0 }, 0 };
		info[np++] = &res->solve_ab;
		ctw_log(ctx, CTW_LOG_INFO, "fibers", "solving %s together", res->biv ? "phi_lv, phi_rv and psi_ab" : "phi_lv and psi_ab");
		ret = ctw_laplace_solve_many(ctx, L, np, pr);
		for (int a = 0; a < np; a++)
			*info[a] = pr[a].info;
		if (ret)
			goto out;
	}
	/* phi_epi = 1 - phi_lv - phi_rv; where the clamped phi_lv + phi_rv exceed 1 (the discrete
	 * maximum principle fails on obtuse tetrahedra) both are scaled back, so the identity holds
	 * at every node */
	int64_t scaled = 0;
	for (int64_t i = 0; i < m->n_points; i++) {
		double *l = &res->phi_lv->values[i], *r = &res->phi_rv->values[i];
		const double sum = *l + *r;
		if (sum > 1) {
			*l /= sum;
			*r /= sum;
			scaled++;
		}
		res->phi_epi->values[i] = fmax(0, 1 - *l - *r);
	}
	if (scaled)
		ctw_log(ctx, CTW_LOG_INFO, "fibers", "%lld nodes with phi_lv + phi_rv > 1 scaled back to 1", (long long)scaled);
	res->solve_rv.clamped += scaled;
	ctw_laplace_free(ctx, L);
	L = NULL;

	/* the rule per tetrahedron */
	const double tr = now_s();
	pass tmpl = { 0 }, tot;
	tmpl.m = m;
	tmpl.o = o;
	tmpl.biv = res->biv;
	tmpl.psi = res->psi_ab->values;
	tmpl.plv = res->phi_lv->values;
	tmpl.prv = res->biv ? res->phi_rv->values : NULL;
	tmpl.axis_up = nup;
	tmpl.psi_floor = 1e-12 * median_grad(ctx, m, res->psi_ab->values);
	tmpl.res = res;
	tmpl.need = need;
	const int nt = n_threads(o->solver.threads);
	run_pass(&tmpl, nt, &tot);
	res->n_degenerate_tets = tot.n_degenerate > res->n_degenerate_tets ? tot.n_degenerate : res->n_degenerate_tets;
	if (tot.n_need) {
		for (int k = 0; k < 3; k++)
			if (!(ng[k] = ctw_calloc(ctx, 3 * (size_t)m->n_points, sizeof(double)))) {
				ret = CTW_ERR_NOMEM;
				goto out;
			}
		const double *u[3] = { res->psi_ab->values, res->phi_lv->values, res->biv ? res->phi_rv->values : NULL };
		if ((ret = recover_gradients(ctx, m, u, ng, 3)))
			goto out;
		tmpl.ng_psi = ng[0];
		tmpl.ng_lv = ng[1];
		tmpl.ng_rv = res->biv ? ng[2] : NULL;
		run_pass(&tmpl, nt, &tot);
		res->n_fallback = tot.n_fallback;
		ctw_log(ctx, CTW_LOG_INFO, "fibers", "%lld tetrahedra needed fallback gradients (%lld degenerate)",
			(long long)res->n_fallback, (long long)res->n_degenerate_tets);
	}
	res->rule_seconds = now_s() - tr;
	summarise(m, res);
	res->total_seconds = now_s() - t0;
out:
	ctw_laplace_free(ctx, L);
	ctw_free(ctx, owner);
	ctw_free(ctx, fixed);
	ctw_free(ctx, fixed_ab);
	ctw_free(ctx, value);
	ctw_free(ctx, value_rv);
	ctw_free(ctx, value_ab);
	ctw_free(ctx, need);
	for (int k = 0; k < 3; k++)
		ctw_free(ctx, ng[k]);
	if (ret)
		ctw_fiber_result_release(ctx, res);
	return ret;
}
