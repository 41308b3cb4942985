/* fibers_int.h: private interfaces of the fibre stage (not installed). */
#ifndef CTW_FIBERS_INT_H
#define CTW_FIBERS_INT_H

#include "fibers.h"

/* Smoothed-aggregation algebraic multigrid (amg.c) on the symmetric matrix (rp, col, val) of
 * n rows restricted to its active rows: row i is active when dinv[i] > 0 (dinv[i] = 1 / a_ii;
 * 0 on Dirichlet and empty rows, which the preconditioner maps to 0). The matrix arrays are
 * borrowed and must outlive the hierarchy; dinv is copied. */
typedef struct ctw_amg ctw_amg;

int ctw_amg_build(ctw_ctx *ctx, int64_t n, const int64_t *rp, const int32_t *col, const double *val,
		  const double *dinv, ctw_amg **out);
void ctw_amg_free(ctw_ctx *ctx, ctw_amg *h);
/* Doubles of scratch one application needs. */
int64_t ctw_amg_work_size(const ctw_amg *h);
/* z = B r, B one symmetric V(1,1)-cycle (forward Gauss-Seidel before, backward after, the
 * coarsest level by dense Cholesky): SPD, serial, deterministic. z is 0 on inactive rows. */
void ctw_amg_apply(const ctw_amg *h, const double *r, double *z, double *work);
/* Levels, and the operator complexity (sum of the levels' non-zeros / the finest's). */
int ctw_amg_levels(const ctw_amg *h, double *complexity, int64_t *coarsest_rows);

#endif
