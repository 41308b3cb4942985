/* amg.c: smoothed-aggregation algebraic multigrid (Vanek, Mandel and Brezina 1996) as a CG
 * preconditioner for the P1 Laplace matrices of laplace.c. Setup: greedy aggregation by
 * strength (|a_ij| >= theta sqrt(a_ii a_jj)), tentative prolongator piecewise constant; on the
 * finest level one damped-Jacobi smoothing step P = (I - omega D^-1 A) P_tent with omega =
 * 4 / (3 rho) and rho the Gershgorin bound of D^-1 A (smoothed aggregation), below it plain
 * aggregation; Galerkin coarse matrices R A P with R = P^T (Gustavson products, by blocks).
 * The Dirichlet rows of the finest level (dinv 0) are left out of every aggregate, so P has zero
 * rows there and R K P = R (M K M) P: the hierarchy is that of the masked operator. Cycle: one
 * V(1,1) with forward Gauss-Seidel before and backward after (a symmetric preconditioner), the
 * coarsest level by dense Cholesky. Everything is serial and in a fixed order: deterministic. */
#include "fibers_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AMG_THETA 0.02         /* strength threshold: 0.08 makes aggregates too small here  */
#define AMG_SMOOTHED 1           /* levels with a smoothed prolongator; below, plain
				  * aggregation keeps the coarse stencils small (with smoothing on
				  * every level the third level had ~1000 non-zeros a row at 1 M
				  * nodes: setup 8 s, 1.4 GB)                                      */
#define AMG_MAX_LEVELS 25
#define AMG_COARSE_ROWS 400      /* coarsen until at most this many rows                 */
#define AMG_DENSE_MAX 800       /* dense Cholesky on the coarsest level up to this size   */
#define AMG_COARSE_SWEEPS 8      /* otherwise symmetric Gauss-Seidel sweeps                */

struct csr {
	int64_t n, m;                /* rows, columns                                          */
	int64_t *rp;
	int32_t *col;
	double *val;
	int own;
};

struct level {
	struct csr A;                /* level 0: borrowed                                       */
	double *dinv;                /* 1 / a_ii on active rows, 0 elsewhere                    */
	struct csr P;                /* to the next level (none on the coarsest)                */
	struct csr R;                /* P^T, during the setup only                              */
};

struct ctw_amg {
	int nlev;
	struct level lv[AMG_MAX_LEVELS];
	double *chol;                /* dense Cholesky factor of the coarsest level, or NULL     */
	int64_t work;
};

static void csr_free(ctw_ctx *ctx, struct csr *a)
{
	if (a->own) {
		ctw_free(ctx, a->rp);
		ctw_free(ctx, a->col);
		ctw_free(ctx, a->val);
	}
	memset(a, 0, sizeof(*a));
}

void ctw_amg_free(ctw_ctx *ctx, ctw_amg *h)
{
	if (!h)
		return;
	for (int l = 0; l < AMG_MAX_LEVELS; l++) {
		csr_free(ctx, &h->lv[l].A);
		csr_free(ctx, &h->lv[l].P);
		csr_free(ctx, &h->lv[l].R);
		ctw_free(ctx, h->lv[l].dinv);
	}
	ctw_free(ctx, h->chol);
	ctw_free(ctx, h);
}

/* A growing CSR under construction. */
static int csr_begin(ctw_ctx *ctx, struct csr *c, int64_t n, int64_t m, int64_t cap, int32_t **col,
		     double **val)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->m = m;
	c->own = 1;
	if (cap < 16)
		cap = 16;
	if (!(c->rp = ctw_malloc(ctx, sizeof(int64_t) * ((size_t)n + 1))) ||
	    !(*col = ctw_malloc(ctx, sizeof(int32_t) * (size_t)cap)) ||
	    !(*val = ctw_malloc(ctx, sizeof(double) * (size_t)cap))) {
		ctw_free(ctx, *col);
		ctw_free(ctx, c->rp);
		*col = NULL;
		c->rp = NULL;
		return CTW_ERR_NOMEM;
	}
	c->col = *col;
	c->val = *val;
	c->rp[0] = 0;
	return CTW_OK;
}

static int csr_reserve(ctw_ctx *ctx, struct csr *c, int64_t *cap, int64_t need)
{
	if (need <= *cap)
		return CTW_OK;
	int64_t ncap = *cap + *cap / 2 + need;
	int32_t *nc = ctw_realloc(ctx, c->col, sizeof(int32_t) * (size_t)ncap);
	if (!nc)
		return CTW_ERR_NOMEM;
	c->col = nc;
	double *nv = ctw_realloc(ctx, c->val, sizeof(double) * (size_t)ncap);
	if (!nv)
		return CTW_ERR_NOMEM;
	c->val = nv;
	*cap = ncap;
	return CTW_OK;
}

/* Greedy aggregation of the active rows: agg[i] = aggregate of row i, -1 for inactive rows.
 * Returns the number of aggregates, -1 for no memory. */
static int64_t aggregate(ctw_ctx *ctx, const struct csr *A, const double *dinv, int32_t *agg,
			 double theta)
{
	const int64_t n = A->n;
	const double th2 = theta * theta;
	int64_t nc = 0;
	int32_t *first = ctw_malloc(ctx, sizeof(int32_t) * (size_t)n);

	if (!first)
		return -1;
#define STRONG(i, k) (A->col[k] != (i) && dinv[A->col[k]] > 0 && \
		      A->val[k] * A->val[k] * dinv[i] * dinv[A->col[k]] >= th2)
	for (int64_t i = 0; i < n; i++)
		agg[i] = -1;
	/* phase 1: a root and all its strong neighbours, when none of them is taken */
	for (int64_t i = 0; i < n; i++) {
		int free_nb = 1;
		if (!(dinv[i] > 0) || agg[i] >= 0)
			continue;
		for (int64_t k = A->rp[i]; k < A->rp[i + 1] && free_nb; k++)
			if (STRONG(i, k) && agg[A->col[k]] >= 0)
				free_nb = 0;
		if (!free_nb)
			continue;
		agg[i] = (int32_t)nc;
		for (int64_t k = A->rp[i]; k < A->rp[i + 1]; k++)
			if (STRONG(i, k))
				agg[A->col[k]] = (int32_t)nc;
		nc++;
	}
	/* phase 2: the rest joins the aggregate of its strongest phase-1 neighbour */
	memcpy(first, agg, sizeof(int32_t) * (size_t)n);
	for (int64_t i = 0; i < n; i++) {
		double best = 0;
		if (!(dinv[i] > 0) || first[i] >= 0)
			continue;
		for (int64_t k = A->rp[i]; k < A->rp[i + 1]; k++)
			if (STRONG(i, k) && first[A->col[k]] >= 0 && fabs(A->val[k]) > best) {
				best = fabs(A->val[k]);
				agg[i] = first[A->col[k]];
			}
	}
	/* phase 3: what is left forms aggregates with its free strong neighbours */
	for (int64_t i = 0; i < n; i++) {
		if (!(dinv[i] > 0) || agg[i] >= 0)
			continue;
		agg[i] = (int32_t)nc;
		for (int64_t k = A->rp[i]; k < A->rp[i + 1]; k++)
			if (STRONG(i, k) && agg[A->col[k]] < 0)
				agg[A->col[k]] = (int32_t)nc;
		nc++;
	}
#undef STRONG
	ctw_free(ctx, first);
	return nc;
}

/* P = (I - omega D^-1 A) P_tent on the active rows (inactive rows empty, inactive columns of A
 * ignored). acc/mark: nc scratch. */
static int smoothed_prolongator(ctw_ctx *ctx, const struct csr *A, const double *dinv,
				const int32_t *agg, int64_t nc, double omega, struct csr *P,
				double *acc, int32_t *mark)
{
	int64_t cap = 8 * A->n, nnz = 0;
	int32_t *col = NULL, *list;
	double *val = NULL;
	int ret;

	if ((ret = csr_begin(ctx, P, A->n, nc, cap, &col, &val)))
		return ret;
	list = mark + nc;
	for (int64_t j = 0; j < nc; j++)
		mark[j] = -1;
	for (int64_t i = 0; i < A->n; i++) {
		int64_t len = 0;
		if (dinv[i] > 0 && !(omega > 0)) {
			if ((ret = csr_reserve(ctx, P, &cap, nnz + 1)))
				return ret;
			P->col[nnz] = agg[i];   /* plain aggregation: P = P_tent */
			P->val[nnz++] = 1;
		} else if (dinv[i] > 0) {
			for (int64_t k = A->rp[i]; k < A->rp[i + 1]; k++) {
				int32_t J = agg[A->col[k]];
				if (J < 0)
					continue;
				if (mark[J] != i) {
					mark[J] = (int32_t)i;
					acc[J] = 0;
					list[len++] = J;
				}
				acc[J] += A->val[k];
			}
			if ((ret = csr_reserve(ctx, P, &cap, nnz + len)))
				return ret;
			for (int64_t t = 0; t < len; t++) {
				int32_t J = list[t];
				P->col[nnz] = J;
				P->val[nnz++] = (J == agg[i] ? 1.0 : 0.0) - omega * dinv[i] * acc[J];
			}
		}
		P->rp[i + 1] = nnz;
	}
	return CTW_OK;
}

static int transpose(ctw_ctx *ctx, const struct csr *P, struct csr *R)
{
	int64_t nnz = P->rp[P->n];
	int32_t *col = NULL;
	double *val = NULL;
	int ret;

	if ((ret = csr_begin(ctx, R, P->m, P->n, nnz, &col, &val)))
		return ret;
	memset(R->rp, 0, sizeof(int64_t) * ((size_t)R->n + 1));
	for (int64_t k = 0; k < nnz; k++)
		R->rp[P->col[k] + 1]++;
	for (int64_t i = 0; i < R->n; i++)
		R->rp[i + 1] += R->rp[i];
	for (int64_t i = 0; i < P->n; i++)
		for (int64_t k = P->rp[i]; k < P->rp[i + 1]; k++) {
			int64_t d = R->rp[P->col[k]]++;
			R->col[d] = (int32_t)i;
			R->val[d] = P->val[k];
		}
	memmove(R->rp + 1, R->rp, sizeof(int64_t) * (size_t)R->n);
	R->rp[0] = 0;
	return CTW_OK;
}

/* C = R A P with R = P^T, by blocks of coarse rows: the rows of A P that a block needs are
 * computed into a local buffer (rows on a block boundary twice), so A P is never held whole.
 * acc/mark: nc + the longest row of scratch (mark 2 nc). */
static int galerkin(ctw_ctx *ctx, const struct csr *A, const struct csr *P, const struct csr *R,
		    struct csr *C, double *acc, int32_t *mark)
{
	const int64_t n = A->n, nc = R->n, bs = nc / 16 > 256 ? nc / 16 : 256;
	int64_t cap = A->rp[n] / 4 + 16, capb = 0, nnz = 0, tag = 0;
	int32_t *col = NULL, *list = mark + nc, *loc = NULL, *rows = NULL, *bcol = NULL;
	int64_t *brp = NULL;
	double *val = NULL, *bval = NULL;
	int ret;

	if ((ret = csr_begin(ctx, C, nc, nc, cap, &col, &val)))
		return ret;
	ret = CTW_ERR_NOMEM;
	if (!(loc = ctw_malloc(ctx, sizeof(int32_t) * (size_t)n)) ||
	    !(rows = ctw_malloc(ctx, sizeof(int32_t) * (size_t)n)) ||
	    !(brp = ctw_malloc(ctx, sizeof(int64_t) * ((size_t)n + 1))))
		goto out;
	for (int64_t i = 0; i < n; i++)
		loc[i] = -1;
	for (int64_t j = 0; j < nc; j++)
		mark[j] = -1;
	for (int64_t I0 = 0; I0 < nc; I0 += bs) {
		const int64_t I1 = I0 + bs < nc ? I0 + bs : nc;
		int64_t nr = 0, bn = 0;
		for (int64_t k = R->rp[I0]; k < R->rp[I1]; k++)
			if (loc[R->col[k]] < 0) {
				loc[R->col[k]] = (int32_t)nr;
				rows[nr++] = R->col[k];
			}
		/* the rows of A P */
		brp[0] = 0;
		for (int64_t r = 0; r < nr; r++, tag++) {
			const int64_t i = rows[r];
			int64_t len = 0;
			for (int64_t k = A->rp[i]; k < A->rp[i + 1]; k++) {
				const int32_t c = A->col[k];
				const double a = A->val[k];
				for (int64_t t = P->rp[c]; t < P->rp[c + 1]; t++) {
					int32_t J = P->col[t];
					if (mark[J] != (int32_t)tag) {
						mark[J] = (int32_t)tag;
						acc[J] = 0;
						list[len++] = J;
					}
					acc[J] += a * P->val[t];
				}
			}
			if (bn + len > capb) {
				int64_t ncap = capb + capb / 2 + len + 1024;
				int32_t *nbc = ctw_realloc(ctx, bcol, sizeof(int32_t) * (size_t)ncap);
				if (!nbc)
					goto out;
				bcol = nbc;
				double *nbv = ctw_realloc(ctx, bval, sizeof(double) * (size_t)ncap);
				if (!nbv)
					goto out;
				bval = nbv;
				capb = ncap;
			}
			for (int64_t t = 0; t < len; t++) {
				bcol[bn] = list[t];
				bval[bn++] = acc[list[t]];
			}
			brp[r + 1] = bn;
		}
		/* the coarse rows */
		for (int64_t I = I0; I < I1; I++, tag++) {
			int64_t len = 0;
			for (int64_t k = R->rp[I]; k < R->rp[I + 1]; k++) {
				const int32_t li = loc[R->col[k]];
				const double rv = R->val[k];
				for (int64_t t = brp[li]; t < brp[li + 1]; t++) {
					int32_t J = bcol[t];
					if (mark[J] != (int32_t)tag) {
						mark[J] = (int32_t)tag;
						acc[J] = 0;
						list[len++] = J;
					}
					acc[J] += rv * bval[t];
				}
			}
			if ((ret = csr_reserve(ctx, C, &cap, nnz + len)))
				goto out;
			ret = CTW_ERR_NOMEM;
			for (int64_t t = 0; t < len; t++) {
				C->col[nnz] = list[t];
				C->val[nnz++] = acc[list[t]];
			}
			C->rp[I + 1] = nnz;
		}
		for (int64_t r = 0; r < nr; r++)
			loc[rows[r]] = -1;
	}
	ret = CTW_OK;
out:
	ctw_free(ctx, bval);
	ctw_free(ctx, bcol);
	ctw_free(ctx, brp);
	ctw_free(ctx, rows);
	ctw_free(ctx, loc);
	return ret;
}

/* Dense Cholesky of the coarsest level (inactive rows as identity rows). */
static int dense_factor(ctw_ctx *ctx, ctw_amg *h)
{
	const struct level *c = &h->lv[h->nlev - 1];
	const int64_t n = c->A.n;
	double *a = ctw_calloc(ctx, (size_t)(n * n), sizeof(double));

	if (!a)
		return CTW_ERR_NOMEM;
	for (int64_t i = 0; i < n; i++) {
		if (!(c->dinv[i] > 0)) {
			a[i * n + i] = 1;
			continue;
		}
		for (int64_t k = c->A.rp[i]; k < c->A.rp[i + 1]; k++)
			if (c->dinv[c->A.col[k]] > 0)
				a[i * n + c->A.col[k]] += c->A.val[k];
	}
	for (int64_t j = 0; j < n; j++) {
		double d = a[j * n + j];
		for (int64_t k = 0; k < j; k++)
			d -= a[j * n + k] * a[j * n + k];
		/* a non-positive pivot (a part with no Dirichlet node): drop the direction */
		d = d > 1e-300 ? sqrt(d) : 0;
		a[j * n + j] = d;
		for (int64_t i = j + 1; i < n; i++) {
			double s = a[i * n + j];
			for (int64_t k = 0; k < j; k++)
				s -= a[i * n + k] * a[j * n + k];
			a[i * n + j] = d > 0 ? s / d : 0;
		}
	}
	h->chol = a;
	return CTW_OK;
}

int ctw_amg_build(ctw_ctx *ctx, int64_t n, const int64_t *rp, const int32_t *col, const double *val,
		  const double *dinv, ctw_amg **out)
{
	ctw_amg *h = ctw_calloc(ctx, 1, sizeof(*h));
	int32_t *agg = NULL, *mark = NULL;
	double *acc = NULL;
	int ret = CTW_ERR_NOMEM;

	*out = NULL;
	if (!h)
		return CTW_ERR_NOMEM;
	h->lv[0].A = (struct csr){ n, n, (int64_t *)rp, (int32_t *)col, (double *)val, 0 };
	if (!(h->lv[0].dinv = ctw_malloc(ctx, sizeof(double) * (size_t)n)) ||
	    !(agg = ctw_malloc(ctx, sizeof(int32_t) * (size_t)n)) ||
	    !(mark = ctw_malloc(ctx, sizeof(int32_t) * 2 * (size_t)n)) ||
	    !(acc = ctw_malloc(ctx, sizeof(double) * (size_t)n)))
		goto fail;
	memcpy(h->lv[0].dinv, dinv, sizeof(double) * (size_t)n);
	h->nlev = 1;
	h->work = 0;
	for (;;) {
		struct level *f = &h->lv[h->nlev - 1], *c = &h->lv[h->nlev];
		double rho = 0;
		int64_t nc;

		h->work += 3 * f->A.n;
		if (f->A.n <= AMG_COARSE_ROWS || h->nlev == AMG_MAX_LEVELS)
			break;
		if ((nc = aggregate(ctx, &f->A, f->dinv, agg, AMG_THETA)) < 0)
			goto fail;
		if (nc == 0 || nc * 10 > f->A.n * 9)
			break;   /* no coarsening left */
		for (int64_t i = 0; i < f->A.n; i++) {
			double s = 0;
			if (!(f->dinv[i] > 0))
				continue;
			for (int64_t k = f->A.rp[i]; k < f->A.rp[i + 1]; k++)
				if (f->dinv[f->A.col[k]] > 0)
					s += fabs(f->A.val[k]);
			if (s * f->dinv[i] > rho)
				rho = s * f->dinv[i];
		}
		if ((ret = smoothed_prolongator(ctx, &f->A, f->dinv, agg, nc, h->nlev <= AMG_SMOOTHED ? 4.0 / (3.0 * rho) : 0.0,
						&f->P,
						acc, mark)) ||
		    (ret = transpose(ctx, &f->P, &f->R)))
			goto fail;
		ret = galerkin(ctx, &f->A, &f->P, &f->R, &c->A, acc, mark);
		csr_free(ctx, &f->R);   /* the cycle restricts with P^T: R only served the product */
		if (ret)
			goto fail;
		ret = CTW_ERR_NOMEM;
		if (!(c->dinv = ctw_malloc(ctx, sizeof(double) * (size_t)nc)))
			goto fail;
		for (int64_t i = 0; i < nc; i++) {
			double d = 0;
			for (int64_t k = c->A.rp[i]; k < c->A.rp[i + 1]; k++)
				if (c->A.col[k] == i)
					d += c->A.val[k];
			c->dinv[i] = d > 0 ? 1 / d : 0;
		}
		h->nlev++;
	}
	if (h->lv[h->nlev - 1].A.n <= AMG_DENSE_MAX && (ret = dense_factor(ctx, h)))
		goto fail;
	ctw_free(ctx, acc);
	ctw_free(ctx, mark);
	ctw_free(ctx, agg);
	*out = h;
	return CTW_OK;
fail:
	ctw_free(ctx, acc);
	ctw_free(ctx, mark);
	ctw_free(ctx, agg);
	ctw_amg_free(ctx, h);
	return ret ? ret : CTW_ERR_NOMEM;
}

int64_t ctw_amg_work_size(const ctw_amg *h)
{
	return h->work;
}

int ctw_amg_levels(const ctw_amg *h, double *complexity, int64_t *coarsest_rows)
{
	double s = 0;
	for (int l = 0; l < h->nlev; l++)
		s += (double)h->lv[l].A.rp[h->lv[l].A.n];
	if (complexity)
		*complexity = s / (double)h->lv[0].A.rp[h->lv[0].A.n];
	if (coarsest_rows)
		*coarsest_rows = h->lv[h->nlev - 1].A.n;
	return h->nlev;
}

/* ---- the cycle -------------------------------------------------------------------------------- */

static void gs_forward(const struct level *L, const double *b, double *x)
{
	const struct csr *A = &L->A;
	for (int64_t i = 0; i < A->n; i++) {
		double s = b[i];
		for (int64_t k = A->rp[i]; k < A->rp[i + 1]; k++)
			s -= A->val[k] * x[A->col[k]];
		x[i] += s * L->dinv[i];
	}
}

static void gs_backward(const struct level *L, const double *b, double *x)
{
	const struct csr *A = &L->A;
	for (int64_t i = A->n - 1; i >= 0; i--) {
		double s = b[i];
		for (int64_t k = A->rp[i]; k < A->rp[i + 1]; k++)
			s -= A->val[k] * x[A->col[k]];
		x[i] += s * L->dinv[i];
	}
}

static void coarse_solve(const ctw_amg *h, const double *b, double *x)
{
	const struct level *c = &h->lv[h->nlev - 1];
	const int64_t n = c->A.n;
	const double *a = h->chol;

	if (!a) {
		for (int64_t i = 0; i < n; i++)
			x[i] = 0;
		for (int s = 0; s < AMG_COARSE_SWEEPS; s++) {
			gs_forward(c, b, x);
			gs_backward(c, b, x);
		}
		return;
	}
	for (int64_t i = 0; i < n; i++) {
		double s = c->dinv[i] > 0 ? b[i] : 0;
		for (int64_t k = 0; k < i; k++)
			s -= a[i * n + k] * x[k];
		x[i] = a[i * n + i] > 0 ? s / a[i * n + i] : 0;
	}
	for (int64_t i = n - 1; i >= 0; i--) {
		double s = x[i];
		for (int64_t k = i + 1; k < n; k++)
			s -= a[k * n + i] * x[k];
		x[i] = a[i * n + i] > 0 && c->dinv[i] > 0 ? s / a[i * n + i] : 0;
	}
}

void ctw_amg_apply(const ctw_amg *h, const double *r, double *z, double *work)
{
	const double *b[AMG_MAX_LEVELS];
	double *x[AMG_MAX_LEVELS], *res[AMG_MAX_LEVELS];
	double *w = work;
	int l;

	b[0] = r;
	x[0] = z;
	for (l = 0; l < h->nlev; l++) {
		const int64_t n = h->lv[l].A.n;
		if (l > 0) {
			b[l] = w;
			x[l] = w + n;
		}
		res[l] = w + 2 * n;
		w += 3 * n;
	}
	/* down: smooth from zero, restrict the residual */
	for (l = 0; l < h->nlev - 1; l++) {
		const struct level *L = &h->lv[l];
		const struct csr *A = &L->A, *P = &L->P;
		double *xl = x[l], *rl = res[l], *bc = (double *)b[l + 1];
		for (int64_t i = 0; i < A->n; i++)
			xl[i] = 0;
		gs_forward(L, b[l], xl);
		for (int64_t i = 0; i < A->n; i++) {
			double s = b[l][i];
			for (int64_t k = A->rp[i]; k < A->rp[i + 1]; k++)
				s -= A->val[k] * xl[A->col[k]];
			rl[i] = s;
		}
		for (int64_t I = 0; I < P->m; I++)
			bc[I] = 0;
		for (int64_t i = 0; i < P->n; i++)
			for (int64_t k = P->rp[i]; k < P->rp[i + 1]; k++)
				bc[P->col[k]] += P->val[k] * rl[i];
	}
	coarse_solve(h, b[h->nlev - 1], x[h->nlev - 1]);
	/* up: prolongate the correction, smooth backwards */
	for (l = h->nlev - 2; l >= 0; l--) {
		const struct level *L = &h->lv[l];
		const struct csr *P = &L->P;
		const double *xc = x[l + 1];
		double *xl = x[l];
		for (int64_t i = 0; i < P->n; i++) {
			double s = 0;
			for (int64_t k = P->rp[i]; k < P->rp[i + 1]; k++)
				s += P->val[k] * xc[P->col[k]];
			xl[i] += s;
		}
		gs_backward(L, b[l], xl);
	}
}
