/* fibers.h: the fibre stage, pure C: a P1 finite-element Laplace solver (CSR, symmetric
 * Dirichlet elimination, preconditioned CG after reverse Cuthill-McKee reordering) and the
 * Laplace-Dirichlet rule-based fibres of Bayer et al. 2012 (LDRB) for LV and BiV meshes, as
 * specified in specs/fibers.md. Conventions (§0 there): the local frame Q = [e0 | e1 | e2]
 * (circumferential, longitudinal apex->base, transmural endo->epi) is a proper rotation; the
 * output is f = Q[:,0], s = Q[:,2] (sheet, at angle beta from the transmural axis), n = f x s. */
#ifndef CTW_FIBERS_H
#define CTW_FIBERS_H

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- P1 finite elements and the Laplace solver (laplace.c) ------------------------------------ */

/* Element stiffness of the tetrahedron x[0..3] (mm): K[a][b] = V (grad la . grad lb), the
 * gradients of the barycentric coordinates in grad[a] and the unsigned volume in *vol.
 * Returns 0, or -1 for a degenerate tetrahedron (|det J| <= 1e-14 * edge^3; K, grad zeroed). */
CTW_API int ctw_p1_stiffness(const double x[4][3], double K[4][4], double grad[4][3], double *vol);

/* CTW_PC_AMG: smoothed-aggregation algebraic multigrid, one symmetric V-cycle per iteration; the
 * hierarchy of each distinct Dirichlet set is built at its first solve and kept with the matrix. */
typedef enum ctw_precond { CTW_PC_JACOBI = 0, CTW_PC_SSOR = 1, CTW_PC_AMG = 2 } ctw_precond;

typedef struct ctw_solver_opts {
	double rtol;          /* stop at ||r|| <= rtol ||r0|| (default 1e-10)                       */
	int max_iterations;   /* fail (CTW_ERR_EXTERNAL) when not converged (default 20000)          */
	ctw_precond precond;  /* default Jacobi                                                      */
	int threads;          /* 0: the machine's cores (at most 8), 1: serial                      */
	int reorder;          /* reverse Cuthill-McKee (default 1)                                   */
} ctw_solver_opts;

#define CTW_SOLVER_OPTS_INIT { 1e-10, 20000, CTW_PC_JACOBI, 0, 1 }

typedef struct ctw_solve_info {
	int iterations;
	double rel_residual;  /* ||r|| / ||r0|| at the end                                            */
	double seconds;       /* wall time of the solve                                               */
	int64_t clamped;      /* nodal values moved into [lo, hi] afterwards (maximum principle)      */
} ctw_solve_info;

/* The stiffness matrix of a tetrahedral mesh, assembled once (in RCM order when opts->reorder)
 * and shared by every solve. Opaque. */
typedef struct ctw_laplace ctw_laplace;

/* Assembles the P1 stiffness matrix of m. CTW_ERR_FORMAT when m has no tetrahedra or
 * indices out of range, CTW_ERR_NOMEM. Degenerate tetrahedra contribute nothing (counted in
 * *n_degenerate when not NULL). */
CTW_API int ctw_laplace_new(ctw_ctx *ctx, const ctw_tetmesh *m, const ctw_solver_opts *opts,
			    ctw_laplace **out, int64_t *n_degenerate);
CTW_API void ctw_laplace_free(ctw_ctx *ctx, ctw_laplace *L);
/* Time spent assembling and reordering (s). */
CTW_API double ctw_laplace_setup_seconds(const ctw_laplace *L);

/* Solves -div(grad u) = rhs_const in the mesh (rhs_const 0: Laplace, 1: the Poisson problem of
 * ldrb's apex rule, load = lumped node volumes) with u[i] = value[i] on nodes where fixed[i] != 0
 * and homogeneous Neumann elsewhere, symmetric Dirichlet elimination, PCG. Arrays in the mesh's
 * node order; u (n_points) receives the solution and is the initial guess on free nodes when
 * warm != 0. Afterwards values are clamped into [clamp_lo, clamp_hi] when clamp_lo < clamp_hi.
 * CTW_ERR_EXTERNAL when CG does not converge, CTW_ERR_INVALID when no node is fixed (and
 * rhs_const is 0 ... the problem would be singular). The solve logs its iterations. */
CTW_API int ctw_laplace_solve(ctw_ctx *ctx, ctw_laplace *L, const uint8_t *fixed, const double *value,
			      double rhs_const, int warm, double clamp_lo, double clamp_hi, double *u,
			      ctw_solve_info *info);

/* Several problems on one matrix, solved together: PCG in lockstep, one pass over the matrix per
 * iteration for all members still running (the solves are memory bound, so two or three problems
 * cost little more than one). Each member has its own Dirichlet set, values, load, initial guess
 * and clamping, and its own stopping test: its iterates, iterations and solution are bit for bit
 * those of ctw_laplace_solve on its own. Members with the same `fixed` pointer share one mask. */
#define CTW_LAPLACE_MAX_PROBLEMS 4

typedef struct ctw_laplace_problem {
	const uint8_t *fixed;         /* in: as ctw_laplace_solve                                   */
	const double *value;
	double rhs_const;
	int warm;
	double clamp_lo, clamp_hi;
	double *u;                    /* in/out: initial guess when warm, the solution              */
	ctw_solve_info info;          /* out; seconds: from the start until this member converged   */
	int status;                   /* out: CTW_OK, or CTW_ERR_EXTERNAL when this one failed      */
} ctw_laplace_problem;

/* Solves the k (1..CTW_LAPLACE_MAX_PROBLEMS) problems prob[0..k). CTW_ERR_INVALID (nothing
 * solved) for bad arguments, a non-finite input or a member with no fixed node. When a member
 * does not converge the others still finish and receive their solutions (status CTW_OK); the
 * call returns CTW_ERR_EXTERNAL with the message of the first failed member, whose u is left
 * untouched. */
CTW_API int ctw_laplace_solve_many(ctw_ctx *ctx, ctw_laplace *L, int k, ctw_laplace_problem *prob);

/* Number of connected components of the mesh (tetrahedra sharing a node). */
CTW_API int ctw_tetmesh_components(ctw_ctx *ctx, const ctw_tetmesh *m, int *n_components);

/* ---- structured LV meshes for tests (lvgen.c, spec §2.1) --------------------------------------- */

typedef struct ctw_lvgen_opts {
	double rs_endo, rs_epi;  /* short radii (mm)                                                    */
	double rl_endo, rl_epi;  /* long radii (mm); equal to rs_* for the hemispherical shell           */
	double z_base;           /* base plane z (mm); long axis z, apex at z = -r_l                     */
	int nr, nl, nc;          /* transmural layers, rings, circumferential cells                     */
} ctw_lvgen_opts;

/* A truncated interpolated-ellipsoid LV (spec §2.1): Kuhn tetrahedra, positively oriented,
 * region 1, boundary triangles tagged CTW_SURF_LV_ENDO (k = 0), CTW_SURF_EPI (k = nr),
 * CTW_SURF_BASE (i = nl); *apex_node = the epicardial apex node. CTW_ERR_INVALID for bad sizes. */
CTW_API int ctw_lvgen(ctw_ctx *ctx, const ctw_lvgen_opts *o, ctw_tetmesh **out, int64_t *apex_node);

/* ---- frames and quaternions (frame.c, spec §1.5); 3x3 matrices row-major, Q[r][c] ------------- */

/* (Matrix arguments that are inputs are not modified; they are not const because C11 cannot
 * pass a double[3][3] to a const double[3][3] parameter without a cast.)
 * Q = [e0 | e1 | e2] from the apicobasal gradient u and the transmural gradient v (Bayer's order:
 * e1 = u/|u|, e2 = v orthogonalised against e1, e0 = e1 x e2). Returns 0, or -1 when |u| or the
 * orthogonal part of v is zero (Q undefined, left as the identity). */
CTW_API int ctw_frame_axis(const double u[3], const double v[3], double Q[3][3]);
/* R = Q Rz(alpha) Rx(beta), angles in degrees. */
CTW_API void ctw_frame_orient(double Q[3][3], double alpha_deg, double beta_deg, double R[3][3]);
CTW_API void ctw_rot2quat(double Q[3][3], double q[4]);   /* Shepperd, q = (w, x, y, z) */
CTW_API void ctw_quat2rot(const double q[4], double Q[3][3]);
CTW_API void ctw_slerp(const double q1[4], const double q2[4], double t, double q[4]);
/* Bayer's bi-directional slerp (the candidate of Qa with two axes flipped closest to Qb). */
CTW_API void ctw_bislerp(double Qa[3][3], double Qb[3][3], double t, double Q[3][3]);
/* Plain quaternion slerp of rotation matrices (shortest path, no candidate flipping). */
CTW_API void ctw_slerp_rot(double Qa[3][3], double Qb[3][3], double t, double Q[3][3]);

/* ---- LDRB (ldrb.c) ------------------------------------------------------------------------------ */

typedef enum ctw_ldrb_mode {
	CTW_LDRB_LINEAR = 0,   /* mode B: continuity-preserving, helix linear in phi_epi (default)   */
	CTW_LDRB_BAYER = 1     /* mode A: Bayer 2012 as published (bislerp), as ldrb >= 2023.5        */
} ctw_ldrb_mode;

typedef struct ctw_angles {   /* degrees; alpha in [-90, 90], beta in [-90, 90]                     */
	double alpha_endo, alpha_epi, beta_endo, beta_epi;
} ctw_angles;

typedef struct ctw_fiber_opts {
	ctw_ldrb_mode mode;
	ctw_angles lv;           /* LV free wall (and everything when rv/sept are not set)         */
	ctw_angles rv, sept;     /* used when has_rv / has_sept                                    */
	int has_rv, has_sept;
	int64_t apex_node;       /* -1: from the rule of spec §1.2                                  */
	ctw_solver_opts solver;
} ctw_fiber_opts;

#define CTW_FIBER_OPTS_INIT { CTW_LDRB_LINEAR, { 60, -60, 0, 0 }, { 60, -60, 0, 0 }, { 60, -60, 0, 0 }, 0, 0, -1, CTW_SOLVER_OPTS_INIT }

#define CTW_HELIX_BINS 10   /* transmural depth bins of the helix summary (phi_epi, 0.1 wide)    */

typedef struct ctw_fiber_result {
	int biv;                           /* the mesh has rv_endo faces                            */
	int64_t n_points, n_tets;
	/* fields named as written (specs/fibers.md §5.2): per tetrahedron "fiber", "sheet",
	 * "sheet_normal" (3 components, unit, f x s = n), "helix_angle" (deg, in the frame of
	 * grad psi_ab and grad phi_epi), "fiber_region" (1 LV, 2 RV, 3 septum); per node "phi_epi",
	 * "phi_lv", "phi_rv" (zero for an LV mesh), "psi_ab". fields[] lists them in that order. */
	ctw_field *fiber, *sheet, *sheet_normal, *helix_angle, *fiber_region;
	ctw_field *phi_epi, *phi_lv, *phi_rv, *psi_ab;
	ctw_field *fields[9];
	int n_fields;
	int64_t apex_node;
	ctw_solve_info solve_lv, solve_rv, solve_ab; /* the transmural and apicobasal solves       */
	double setup_seconds, rule_seconds, total_seconds;
	int64_t n_degenerate_tets;         /* degenerate tetrahedra (their fibres: neighbours')     */
	int64_t n_fallback;                /* frames that needed a fallback gradient (spec §1.8)    */
	/* helix angle vs transmural depth: per region (0 LV, 1 RV, 2 septum) and phi_epi bin */
	int64_t helix_count[3][CTW_HELIX_BINS];
	double helix_mean[3][CTW_HELIX_BINS], helix_sd[3][CTW_HELIX_BINS];
} ctw_fiber_result;

/* Checks the angles (|alpha|, |beta| <= 90, finite): CTW_ERR_INVALID naming the bad one. */
CTW_API int ctw_fiber_opts_check(ctw_ctx *ctx, const ctw_fiber_opts *o);

/* LDRB on m (boundary triangles tagged with ctw_surface_id; region tags unused): the Laplace
 * fields (phi_lv and phi_rv solved on one matrix, phi_epi = 1 - phi_lv - phi_rv; psi_ab from
 * base to apex), then the rule per tetrahedron at its centroid. want_biv: 1 requires rv_endo
 * faces, 0 any. CTW_ERR_FORMAT (what naming the mesh) when lv_endo, epi or base faces are missing,
 * when biv is requested without rv_endo, when the mesh is disconnected; CTW_ERR_EXTERNAL when a
 * solve fails. On success res owns new arrays: ctw_fiber_result_release(). */
CTW_API int ctw_fibers_compute(ctw_ctx *ctx, const char *what, const ctw_tetmesh *m, int want_biv,
			       const ctw_fiber_opts *o, ctw_fiber_result *res);
CTW_API void ctw_fiber_result_release(ctw_ctx *ctx, ctw_fiber_result *res);

#ifdef __cplusplus
}
#endif
#endif
