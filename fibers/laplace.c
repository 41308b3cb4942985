/* laplace.c: the P1 finite-element Laplace solver of the fibre stage (specs/fibers.md §1.3).
 * The stiffness matrix is assembled once as CSR (sorted int32 columns, double values) in
 * reverse Cuthill-McKee order; every solve applies symmetric Dirichlet elimination as a masked
 * operator and runs preconditioned CG (Jacobi, SSOR on fixed row blocks, or smoothed-aggregation
 * AMG of amg.c: one hierarchy per Dirichlet set, cached, each V-cycle serial on one thread of the
 * team, problems dealt round robin to the threads) on a team of pthreads; several problems on the matrix can run in lockstep, one pass over the matrix per
 * iteration for all of them (ctw_laplace_solve_many). Dot products are summed per fixed chunk of rows and then in chunk order, and the
 * SSOR blocks do not depend on the team size, so the iterates are bit-identical whatever the
 * number of threads. */
#define _POSIX_C_SOURCE 200809L
#include "fibers_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NCHUNK 64                /* reduction chunks; fixed, so sums ignore the thread count  */
#define NBLOCK 8                 /* SSOR blocks of NCHUNK / NBLOCK chunks; a thread owns blocks */
#define CHUNKS_PER_BLOCK (NCHUNK / NBLOCK)
#define MAX_THREADS NBLOCK
#define MIN_ROWS_PER_THREAD 4096 /* below this a thread costs more in barriers than it saves   */

struct ctw_laplace {
	int64_t n, nnz;
	int64_t *rowptr;             /* n + 1                                                  */
	int32_t *col;                /* nnz, sorted within each row, solver numbering          */
	double *val;                 /* nnz                                                    */
	int32_t *dpos;               /* n: offset of the diagonal entry within its row         */
	int32_t *perm;               /* n: perm[solver row] = mesh node; NULL when not reordered */
	double *load;                /* n: lumped node volume (mm^3), solver numbering         */
	int64_t chunk[NCHUNK + 1];   /* first row of each reduction chunk                      */
	ctw_solver_opts opts;
	double setup_seconds;
	/* AMG hierarchies by Dirichlet set (solver numbering), built at the first solve with it */
	struct {
		uint8_t *mask;
		ctw_amg *h;
		double seconds;              /* its setup time                                     */
	} amg[CTW_LAPLACE_MAX_PROBLEMS];
	int amg_next;                        /* the slot to replace when all are taken              */
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* ---- element stiffness ------------------------------------------------------------------------ */

static void cross3(const double *a, const double *b, double *c)
{
	c[0] = a[1] * b[2] - a[2] * b[1];
	c[1] = a[2] * b[0] - a[0] * b[2];
	c[2] = a[0] * b[1] - a[1] * b[0];
}

static double dot3(const double *a, const double *b)
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* Longest edge of the tetrahedron: the scale of the degeneracy test. */
static double longest_edge(const double x[4][3])
{
	double h2 = 0;

	for (int a = 0; a < 4; a++)
		for (int b = a + 1; b < 4; b++) {
			double d[3] = { x[b][0] - x[a][0], x[b][1] - x[a][1], x[b][2] - x[a][2] };
			double l2 = dot3(d, d);
			if (l2 > h2)
				h2 = l2;
		}
	return sqrt(h2);
}

int ctw_p1_stiffness(const double x[4][3], double K[4][4], double grad[4][3], double *vol)
{
	double e[3][3], g[4][3], det, h = longest_edge(x);

	memset(K, 0, 16 * sizeof(double));
	memset(grad, 0, 12 * sizeof(double));
	*vol = 0;
	for (int a = 0; a < 3; a++)
		for (int c = 0; c < 3; c++)
			e[a][c] = x[a + 1][c] - x[0][c];
	/* rows of J^-1 are the cofactor rows (e2 x e3, e3 x e1, e1 x e2) / det */
	cross3(e[1], e[2], g[1]);
	cross3(e[2], e[0], g[2]);
	cross3(e[0], e[1], g[3]);
	det = dot3(e[0], g[1]);
	/* written so that NaN coordinates count as degenerate too */
	if (!(fabs(det) > 1e-14 * h * h * h))
		return -1;
	for (int a = 1; a < 4; a++)
		for (int c = 0; c < 3; c++)
			g[a][c] /= det;
	for (int c = 0; c < 3; c++)
		g[0][c] = -(g[1][c] + g[2][c] + g[3][c]);
	*vol = fabs(det) / 6;
	/* off-diagonals once, mirrored, and the diagonal as minus their sum: K stays exactly
	 * symmetric and its rows sum to zero up to one rounding, whatever the shape */
	for (int a = 0; a < 4; a++)
		for (int b = a + 1; b < 4; b++)
			K[a][b] = K[b][a] = *vol * dot3(g[a], g[b]);
	for (int a = 0; a < 4; a++) {
		double s = 0;
		for (int b = 0; b < 4; b++)
			if (b != a)
				s += K[a][b];
		K[a][a] = -s;
	}
	memcpy(grad, g, sizeof(g));
	return 0;
}

/* ---- sparsity pattern ------------------------------------------------------------------------- */

static void isort32(int32_t *a, int64_t n)
{
	for (int64_t i = 1; i < n; i++) {
		int32_t v = a[i];
		int64_t j = i;
		for (; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

/* Node -> tetrahedra incidence as CSR: the tets of node i are list[ptr[i] .. ptr[i+1]). */
static int node_tets(ctw_ctx *ctx, const ctw_tetmesh *m, int64_t **ptr_out, int32_t **list_out)
{
	int64_t n = m->n_points, *ptr = ctw_calloc(ctx, (size_t)n + 1, sizeof(*ptr));
	int32_t *list = ptr ? ctw_malloc(ctx, sizeof(*list) * 4 * (size_t)m->n_tets) : NULL;

	if (!list) {
		ctw_free(ctx, ptr);
		return CTW_ERR_NOMEM;
	}
	for (int64_t k = 0; k < 4 * m->n_tets; k++)
		ptr[m->tets[k] + 1]++;
	for (int64_t i = 0; i < n; i++)
		ptr[i + 1] += ptr[i];
	for (int64_t t = 0; t < m->n_tets; t++)
		for (int a = 0; a < 4; a++)
			list[ptr[m->tets[4 * t + a]]++] = (int32_t)t;
	/* the fill advanced ptr[i] to the start of row i + 1: shift back */
	memmove(ptr + 1, ptr, sizeof(*ptr) * (size_t)n);
	ptr[0] = 0;
	*ptr_out = ptr;
	*list_out = list;
	return CTW_OK;
}

/* The pattern of the stiffness matrix in mesh numbering: node i couples with every node of its
 * tetrahedra (itself included). mark[j] == i says j is already in row i; one pass, the column
 * array grows as needed. */
static int build_pattern(ctw_ctx *ctx, const ctw_tetmesh *m, const int64_t *tptr,
			 const int32_t *tlist, int64_t **rp_out, int32_t **col_out)
{
	int64_t n = m->n_points, nnz = 0, cap = 16 * n + 16;
	int64_t *rp = ctw_malloc(ctx, sizeof(*rp) * ((size_t)n + 1));
	int32_t *mark = rp ? ctw_malloc(ctx, sizeof(*mark) * (size_t)n) : NULL;
	int32_t *col = mark ? ctw_malloc(ctx, sizeof(*col) * (size_t)cap) : NULL;

	if (!col)
		goto nomem;
	for (int64_t i = 0; i < n; i++)
		mark[i] = -1;
	rp[0] = 0;
	for (int64_t i = 0; i < n; i++) {
		if (cap - nnz < 4 * (tptr[i + 1] - tptr[i]) + 1) {
			int64_t ncap = cap + cap / 2 + 4 * (tptr[i + 1] - tptr[i]) + 1;
			int32_t *c = ctw_realloc(ctx, col, sizeof(*col) * (size_t)ncap);
			if (!c)
				goto nomem;
			col = c;
			cap = ncap;
		}
		mark[i] = (int32_t)i;
		col[nnz++] = (int32_t)i;   /* the diagonal, even for a node in no tetrahedron */
		for (int64_t k = tptr[i]; k < tptr[i + 1]; k++)
			for (int a = 0; a < 4; a++) {
				int32_t j = m->tets[4 * (int64_t)tlist[k] + a];
				if (mark[j] != i) {
					mark[j] = (int32_t)i;
					col[nnz++] = j;
				}
			}
		isort32(col + rp[i], nnz - rp[i]);
		rp[i + 1] = nnz;
	}
	ctw_free(ctx, mark);
	*rp_out = rp;
	*col_out = col;
	return CTW_OK;
nomem:
	ctw_free(ctx, col);
	ctw_free(ctx, mark);
	ctw_free(ctx, rp);
	return CTW_ERR_NOMEM;
}

/* ---- reverse Cuthill-McKee -------------------------------------------------------------------- */

/* Breadth-first search of the component of s: q receives its nodes level by level, lev[] their
 * levels (lev[] must be -1 outside). Returns the number of nodes; *depth = the last level. */
static int64_t bfs(const int64_t *rp, const int32_t *col, int32_t s, int32_t *q, int32_t *lev,
		   int32_t *depth)
{
	int64_t head = 0, tail = 0;

	q[tail++] = s;
	lev[s] = 0;
	while (head < tail) {
		int32_t v = q[head++];
		for (int64_t k = rp[v]; k < rp[v + 1]; k++)
			if (lev[col[k]] < 0) {
				lev[col[k]] = lev[v] + 1;
				q[tail++] = col[k];
			}
	}
	*depth = lev[q[tail - 1]];
	return tail;
}

static void bfs_reset(int32_t *lev, const int32_t *q, int64_t cnt)
{
	for (int64_t k = 0; k < cnt; k++)
		lev[q[k]] = -1;
}

/* George and Liu's pseudo-peripheral node: restart from the lowest-degree node of the last
 * level while that deepens the level structure. */
static int32_t peripheral(const int64_t *rp, const int32_t *col, int32_t s, int32_t *q,
			  int32_t *lev)
{
	int32_t depth, d2;
	int64_t cnt = bfs(rp, col, s, q, lev, &depth);

	for (;;) {
		int32_t best = -1;
		for (int64_t k = cnt - 1; k >= 0 && lev[q[k]] == depth; k--)
			if (best < 0 || rp[q[k] + 1] - rp[q[k]] < rp[best + 1] - rp[best])
				best = q[k];
		bfs_reset(lev, q, cnt);
		cnt = bfs(rp, col, best, q, lev, &d2);
		if (d2 <= depth) {
			bfs_reset(lev, q, cnt);
			return s;
		}
		s = best;
		depth = d2;
	}
}

/* Sorts a[0..n) by increasing degree, then index (deterministic). */
static void sort_by_degree(int32_t *a, int64_t n, const int64_t *rp)
{
	for (int64_t i = 1; i < n; i++) {
		int32_t v = a[i];
		int64_t dv = rp[v + 1] - rp[v], j = i;
		for (; j > 0; j--) {
			int64_t du = rp[a[j - 1] + 1] - rp[a[j - 1]];
			if (du < dv || (du == dv && a[j - 1] < v))
				break;
			a[j] = a[j - 1];
		}
		a[j] = v;
	}
}

/* perm[new] = old, component by component, each from a pseudo-peripheral node. */
static int rcm(ctw_ctx *ctx, int64_t n, const int64_t *rp, const int32_t *col, int32_t *perm)
{
	int32_t *lev = ctw_malloc(ctx, sizeof(*lev) * (size_t)n);
	int32_t *q = lev ? ctw_malloc(ctx, sizeof(*q) * (size_t)n) : NULL;
	uint8_t *done = q ? ctw_calloc(ctx, (size_t)n, 1) : NULL;
	int64_t tail = 0;

	if (!done) {
		ctw_free(ctx, q);
		ctw_free(ctx, lev);
		return CTW_ERR_NOMEM;
	}
	for (int64_t i = 0; i < n; i++)
		lev[i] = -1;
	for (int64_t i = 0; i < n; i++) {
		int64_t head = tail;
		if (done[i])
			continue;
		int32_t s = peripheral(rp, col, (int32_t)i, q, lev);
		perm[tail++] = s;
		done[s] = 1;
		while (head < tail) {
			int32_t v = perm[head++];
			int64_t first = tail;
			for (int64_t k = rp[v]; k < rp[v + 1]; k++)
				if (!done[col[k]]) {
					done[col[k]] = 1;
					perm[tail++] = col[k];
				}
			sort_by_degree(perm + first, tail - first, rp);
		}
	}
	for (int64_t i = 0; i < n / 2; i++) {
		int32_t t = perm[i];
		perm[i] = perm[n - 1 - i];
		perm[n - 1 - i] = t;
	}
	ctw_free(ctx, done);
	ctw_free(ctx, q);
	ctw_free(ctx, lev);
	return CTW_OK;
}

/* Renumbers the pattern: row r of the result is row perm[r] with columns mapped by iperm. */
static int permute_pattern(ctw_ctx *ctx, int64_t n, const int64_t *rp, const int32_t *col,
			   const int32_t *perm, const int32_t *iperm, int64_t **rp_out,
			   int32_t **col_out)
{
	int64_t *nrp = ctw_malloc(ctx, sizeof(*nrp) * ((size_t)n + 1));
	int32_t *ncol = nrp ? ctw_malloc(ctx, sizeof(*ncol) * (size_t)rp[n]) : NULL;

	if (!ncol) {
		ctw_free(ctx, nrp);
		return CTW_ERR_NOMEM;
	}
	nrp[0] = 0;
	for (int64_t r = 0; r < n; r++) {
		int32_t o = perm[r];
		int64_t len = rp[o + 1] - rp[o];
		for (int64_t k = 0; k < len; k++)
			ncol[nrp[r] + k] = iperm[col[rp[o] + k]];
		isort32(ncol + nrp[r], len);
		nrp[r + 1] = nrp[r] + len;
	}
	*rp_out = nrp;
	*col_out = ncol;
	return CTW_OK;
}

/* ---- assembly --------------------------------------------------------------------------------- */

static int64_t find_col(const int32_t *col, int64_t lo, int64_t hi, int32_t j)
{
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (col[mid] < j)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Scatter-adds every element matrix and the lumped load (V/4 per corner). */
static int64_t assemble(const ctw_tetmesh *m, const int32_t *iperm, ctw_laplace *L)
{
	int64_t n_degenerate = 0;

	for (int64_t t = 0; t < m->n_tets; t++) {
		double x[4][3], K[4][4], g[4][3], vol;
		int32_t v[4];
		for (int a = 0; a < 4; a++) {
			int32_t o = m->tets[4 * t + a];
			memcpy(x[a], m->xyz + 3 * (int64_t)o, sizeof(x[a]));
			v[a] = iperm ? iperm[o] : o;
		}
		if (ctw_p1_stiffness((const double(*)[3])x, K, g, &vol)) {
			n_degenerate++;
			continue;
		}
		for (int a = 0; a < 4; a++) {
			int64_t lo = L->rowptr[v[a]], hi = L->rowptr[v[a] + 1];
			for (int b = 0; b < 4; b++)
				L->val[find_col(L->col, lo, hi, v[b])] += K[a][b];
			L->load[v[a]] += vol / 4;
		}
	}
	return n_degenerate;
}

/* Diagonal offsets, and chunk boundaries that split the non-zeros evenly. */
static void index_rows(ctw_laplace *L)
{
	int64_t r = 0;

	for (int64_t i = 0; i < L->n; i++)
		L->dpos[i] = (int32_t)(find_col(L->col, L->rowptr[i], L->rowptr[i + 1], (int32_t)i) -
				       L->rowptr[i]);
	for (int c = 0; c <= NCHUNK; c++) {
		int64_t target = L->nnz / NCHUNK * c + L->nnz % NCHUNK * c / NCHUNK;
		while (r < L->n && L->rowptr[r] < target)
			r++;
		L->chunk[c] = c == NCHUNK ? L->n : r;
	}
}

static int check_opts(ctw_ctx *ctx, const ctw_solver_opts *o)
{
	if (!(o->rtol > 0 && o->rtol < 1))
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "solver rtol %g not in (0, 1)", o->rtol);
	if (o->max_iterations < 1)
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "solver max_iterations %d < 1",
				 o->max_iterations);
	if (o->precond != CTW_PC_JACOBI && o->precond != CTW_PC_SSOR && o->precond != CTW_PC_AMG)
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "unknown preconditioner %d",
				 (int)o->precond);
	if (o->threads < 0)
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "solver threads %d < 0", o->threads);
	return CTW_OK;
}

static int check_mesh(ctw_ctx *ctx, const ctw_tetmesh *m)
{
	if (!m || m->n_tets < 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, "fibers", "mesh has no tetrahedra");
	if (m->n_points > INT32_MAX || m->n_tets > INT32_MAX / 4)
		return ctw_error(ctx, CTW_ERR_FORMAT, "fibers", "mesh too large (%lld nodes, %lld tets)",
				 (long long)m->n_points, (long long)m->n_tets);
	return ctw_tetmesh_check(ctx, "fibers", m);
}

/* The matrix pattern in solver numbering; perm is NULL without reordering. */
static int build_matrix_pattern(ctw_ctx *ctx, const ctw_tetmesh *m, int reorder, ctw_laplace *L,
				int32_t **iperm_out)
{
	int64_t *tptr = NULL, *rp = NULL, n = m->n_points;
	int32_t *tlist = NULL, *col = NULL, *iperm = NULL;
	int ret = node_tets(ctx, m, &tptr, &tlist);

	if (!ret)
		ret = build_pattern(ctx, m, tptr, tlist, &rp, &col);
	ctw_free(ctx, tlist);
	ctw_free(ctx, tptr);
	if (ret)
		return ret;
	if (!reorder) {
		L->rowptr = rp;
		L->col = col;
		*iperm_out = NULL;
		return CTW_OK;
	}
	ret = CTW_ERR_NOMEM;
	if (!(L->perm = ctw_malloc(ctx, sizeof(int32_t) * (size_t)n)) ||
	    !(iperm = ctw_malloc(ctx, sizeof(int32_t) * (size_t)n)))
		goto out;
	if ((ret = rcm(ctx, n, rp, col, L->perm)))
		goto out;
	for (int64_t i = 0; i < n; i++)
		iperm[L->perm[i]] = (int32_t)i;
	ret = permute_pattern(ctx, n, rp, col, L->perm, iperm, &L->rowptr, &L->col);
out:
	ctw_free(ctx, col);
	ctw_free(ctx, rp);
	if (ret) {
		ctw_free(ctx, iperm);
		iperm = NULL;
	}
	*iperm_out = iperm;
	return ret;
}

int ctw_laplace_new(ctw_ctx *ctx, const ctw_tetmesh *m, const ctw_solver_opts *opts,
		    ctw_laplace **out, int64_t *n_degenerate)
{
	static const ctw_solver_opts defaults = CTW_SOLVER_OPTS_INIT;
	double t0 = now_seconds();
	ctw_laplace *L;
	int32_t *iperm = NULL;
	int64_t ndeg;
	int ret;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((ret = check_opts(ctx, opts)) || (ret = check_mesh(ctx, m)))
		return ret;
	if (!(L = ctw_calloc(ctx, 1, sizeof(*L))))
		return CTW_ERR_NOMEM;
	L->opts = *opts;
	L->n = m->n_points;
	if ((ret = build_matrix_pattern(ctx, m, opts->reorder, L, &iperm)))
		goto fail;
	L->nnz = L->rowptr[L->n];
	ret = CTW_ERR_NOMEM;
	if (!(L->val = ctw_calloc(ctx, (size_t)L->nnz, sizeof(double))) ||
	    !(L->load = ctw_calloc(ctx, (size_t)L->n, sizeof(double))) ||
	    !(L->dpos = ctw_malloc(ctx, sizeof(int32_t) * (size_t)L->n)))
		goto fail;
	ndeg = assemble(m, iperm, L);
	ctw_free(ctx, iperm);
	iperm = NULL;
	index_rows(L);
	if (n_degenerate)
		*n_degenerate = ndeg;
	L->setup_seconds = now_seconds() - t0;
	ctw_log(ctx, CTW_LOG_INFO, "fibers",
		"laplace: %lld nodes, %lld non-zeros, %lld degenerate tetrahedra, %s, %.3f s",
		(long long)L->n, (long long)L->nnz, (long long)ndeg,
		opts->reorder ? "RCM order" : "mesh order", L->setup_seconds);
	*out = L;
	return CTW_OK;
fail:
	ctw_free(ctx, iperm);
	ctw_laplace_free(ctx, L);
	return ret;
}

void ctw_laplace_free(ctw_ctx *ctx, ctw_laplace *L)
{
	if (!L)
		return;
	ctw_free(ctx, L->rowptr);
	ctw_free(ctx, L->col);
	ctw_free(ctx, L->val);
	ctw_free(ctx, L->dpos);
	ctw_free(ctx, L->perm);
	ctw_free(ctx, L->load);
	for (int a = 0; a < CTW_LAPLACE_MAX_PROBLEMS; a++) {
		ctw_free(ctx, L->amg[a].mask);
		ctw_amg_free(ctx, L->amg[a].h);
	}
	ctw_free(ctx, L);
}

double ctw_laplace_setup_seconds(const ctw_laplace *L)
{
	return L ? L->setup_seconds : 0;
}

/* ---- preconditioned CG on a team of threads -------------------------------------------------- */

/* Up to MAX_PROB problems on the one matrix run in lockstep: every pass over the rows computes
 * the products of all problems still running, so the matrix (the bulk of the memory traffic) is
 * streamed once per iteration for all of them. Each problem keeps its own mask, vectors, scalars
 * and stopping test, and its arithmetic is exactly that of a solve on its own: the same
 * iterates, bit for bit. */
#define MAX_PROB CTW_LAPLACE_MAX_PROBLEMS

struct prob {
	const uint8_t *mask;         /* 1 on Dirichlet rows                                   */
	const double *dinv;          /* 1 / K_ii on free rows, 0 on Dirichlet and empty rows  */
	double *x, *r, *z, *p, *q;
	const ctw_amg *amg;          /* CTW_PC_AMG: the hierarchy of the mask, and scratch     */
	double *work;
	double rhs;
	int warm;
	/* outcome, written by thread 0 */
	int iterations, converged;
	double rr0, rr, seconds;
};

/* State shared by the team. Every thread runs the whole CG loop on its own rows (a contiguous
 * range of SSOR blocks), meets the others at two barriers per iteration, and reduces the same
 * per-chunk partial sums in the same order, so all take the same decisions without a master. */
struct cg {
	const ctw_laplace *L;
	struct prob pr[MAX_PROB];
	int nprob;
	double tol2;                 /* (rtol)^2, compared with ||r||^2 / ||b||^2            */
	double t0;                   /* start of the solve (s)                                */
	int nthreads, max_it;
	pthread_barrier_t bar;
	pthread_mutex_t lock;        /* the start gate: workers wait until go != 0            */
	pthread_cond_t cond;
	int go;                      /* 1 run, -1 abort (a thread could not be created)       */
	/* partial sums per chunk and problem: 0 p.q, 1 r.r, 2 r.z, 3 b.b; a slot is rewritten
	 * only two barriers after it was read */
	double part[NCHUNK][MAX_PROB][4];
};

struct worker {
	struct cg *cg;
	int id;
	pthread_t tid;
};

static void team_wait(struct cg *cg)
{
	if (cg->nthreads > 1)
		pthread_barrier_wait(&cg->bar);
}

static double sum_slot(const struct cg *cg, int a, int slot)
{
	double s = 0;
	for (int c = 0; c < NCHUNK; c++)
		s += cg->part[c][a][slot];
	return s;
}

static double row_dot(const ctw_laplace *L, int64_t i, const double *v)
{
	double s = 0;
	for (int64_t k = L->rowptr[i]; k < L->rowptr[i + 1]; k++)
		s += L->val[k] * v[L->col[k]];
	return s;
}

/* The right-hand side of the lifted problem at row i: f_i - sum over fixed j of K_ij u_j. */
static double lifted_rhs(const ctw_laplace *L, const struct prob *P, int64_t i)
{
	double s = 0;

	for (int64_t k = L->rowptr[i]; k < L->rowptr[i + 1]; k++)
		if (P->mask[L->col[k]])
			s += L->val[k] * P->x[L->col[k]];
	return P->rhs * L->load[i] - s;
}

/* r = M (f - K x) on the rows of chunks [c0, c1), with r.r per chunk in slot 1 and b.b of the
 * lifted right-hand side in slot 3 (the reference of rtol: a good initial
 * guess then needs fewer iterations instead of the same number). */
static void initial_residual(struct cg *cg, int a, int c0, int c1)
{
	const ctw_laplace *L = cg->L;
	struct prob *P = &cg->pr[a];

	for (int c = c0; c < c1; c++) {
		double rr = 0, bb = 0;
		for (int64_t i = L->chunk[c]; i < L->chunk[c + 1]; i++) {
			double ri = P->mask[i] ? 0 : P->rhs * L->load[i] - row_dot(L, i, P->x);
			double bi = !P->warm ? ri : P->mask[i] ? 0 : lifted_rhs(L, P, i);
			P->r[i] = ri;
			rr += ri * ri;
			bb += bi * bi;
		}
		cg->part[c][a][3] = bb;
		cg->part[c][a][1] = rr;
	}
}

/* Symmetric Gauss-Seidel on the rows [b0, b1) alone (couplings to other blocks dropped, which
 * keeps the preconditioner SPD and the blocks independent): z = (D+L)^-1 D (D+U)^-1 r. Dirichlet
 * and empty rows have dinv 0, so their z stays 0 and they drop out of the sums. */
static void ssor_block(const ctw_laplace *L, const struct prob *P, int64_t b0, int64_t b1)
{
	const int64_t *rp = L->rowptr;
	const int32_t *col = L->col;
	const double *val = L->val;
	double *z = P->z;

	/* Farthest columns first: the nearest ones were computed last, and adding them last keeps
	 * the dependency from one row to the next down to a single multiply-add (the sweeps are
	 * latency bound, not bandwidth bound). */
	for (int64_t i = b0; i < b1; i++) {
		double s = 0;
		for (int64_t k = rp[i]; k < rp[i] + L->dpos[i]; k++)
			if (col[k] >= b0)
				s += val[k] * z[col[k]];
		z[i] = (P->r[i] - s) * P->dinv[i];
	}
	for (int64_t i = b1 - 1; i >= b0; i--) {
		double s = 0;
		for (int64_t k = rp[i + 1] - 1; k > rp[i] + L->dpos[i]; k--)
			if (col[k] < b1)
				s += val[k] * z[col[k]];
		z[i] -= s * P->dinv[i];
	}
}

/* z = M^-1 r on chunks [c0, c1) (whole blocks), with r.z per chunk. */
static void precondition(struct cg *cg, int a, int c0, int c1)
{
	const ctw_laplace *L = cg->L;
	struct prob *P = &cg->pr[a];

	if (L->opts.precond == CTW_PC_SSOR)
		for (int c = c0; c < c1; c += CHUNKS_PER_BLOCK)
			ssor_block(L, P, L->chunk[c], L->chunk[c + CHUNKS_PER_BLOCK]);
	for (int c = c0; c < c1; c++) {
		double rz = 0;
		for (int64_t i = L->chunk[c]; i < L->chunk[c + 1]; i++) {
			if (L->opts.precond == CTW_PC_JACOBI)
				P->z[i] = P->dinv[i] * P->r[i];
			rz += P->r[i] * P->z[i];
		}
		cg->part[c][a][2] = rz;
	}
}

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* p = z + beta p and q = M K M p, computed as q = M K z + beta q (K p_new = K z + beta K p_old),
 * which needs z complete but not p: one barrier less per iteration. p.q per chunk. The na
 * problems act[] share each pass over the matrix; na is a constant in every caller, so the
 * loops over the problems unroll. */
static ALWAYS_INLINE void direction_n(struct cg *cg, int c0, int c1, const int *act, int na,
				      const double *beta)
{
	const ctw_laplace *L = cg->L;
	const int64_t *rp = L->rowptr;
	const int32_t *col = L->col;
	const double *val = L->val;
	const double *zs[MAX_PROB];
	double b[MAX_PROB];
	struct prob *P[MAX_PROB];

	for (int a = 0; a < na; a++) {
		P[a] = &cg->pr[act[a]];
		zs[a] = P[a]->z;
		b[a] = beta[act[a]];
	}
	/* scalar accumulators, not an array: GCC keeps an array of 3 in memory, and the
	 * store-to-load chain per non-zero then costs 2.5 times the whole iteration */
	const double *z0 = zs[0], *z1 = na > 1 ? zs[1] : z0, *z2 = na > 2 ? zs[2] : z0;
	const double *z3 = na > 3 ? zs[3] : z0;
	for (int c = c0; c < c1; c++) {
		double pq[MAX_PROB] = { 0 };
		for (int64_t i = L->chunk[c]; i < L->chunk[c + 1]; i++) {
			double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
			for (int64_t k = rp[i]; k < rp[i + 1]; k++) {
				const double v = val[k];
				const int32_t j = col[k];
				s0 += v * z0[j];
				if (na > 1)
					s1 += v * z1[j];
				if (na > 2)
					s2 += v * z2[j];
				if (na > 3)
					s3 += v * z3[j];
			}
			const double s[MAX_PROB] = { s0, s1, s2, s3 };
			for (int a = 0; a < na; a++) {
				struct prob *Q = P[a];
				const double w = Q->mask[i] ? 0 : s[a];
				const double pi = Q->z[i] + b[a] * Q->p[i];
				const double qi = w + b[a] * Q->q[i];
				Q->p[i] = pi;
				Q->q[i] = qi;
				pq[a] += pi * qi;
			}
		}
		for (int a = 0; a < na; a++)
			cg->part[c][act[a]][0] = pq[a];
	}
}

/* The first direction of problem a: p = z, q = M K M z. */
static void direction_first(struct cg *cg, int a, int c0, int c1)
{
	const ctw_laplace *L = cg->L;
	struct prob *P = &cg->pr[a];

	for (int c = c0; c < c1; c++) {
		double pq = 0;
		for (int64_t i = L->chunk[c]; i < L->chunk[c + 1]; i++) {
			double w = P->mask[i] ? 0 : row_dot(L, i, P->z);
			P->p[i] = P->z[i];
			P->q[i] = w;
			pq += P->z[i] * w;
		}
		cg->part[c][a][0] = pq;
	}
}

static void direction(struct cg *cg, int c0, int c1, const int *act, int na, const double *beta)
{
	switch (na) {
	case 1:
		direction_n(cg, c0, c1, act, 1, beta);
		break;
	case 2:
		direction_n(cg, c0, c1, act, 2, beta);
		break;
	case 3:
		direction_n(cg, c0, c1, act, 3, beta);
		break;
	default:
		direction_n(cg, c0, c1, act, MAX_PROB, beta);
		break;
	}
}

/* x += alpha p, r -= alpha q, r.r per chunk; with Jacobi also z = D^-1 r and r.z in the same
 * pass (the iteration is memory bound: one pass less over r and z). */
static void update(struct cg *cg, int a, int c0, int c1, double alpha)
{
	const ctw_laplace *L = cg->L;
	struct prob *P = &cg->pr[a];
	const int jacobi = L->opts.precond == CTW_PC_JACOBI;

	for (int c = c0; c < c1; c++) {
		double rr = 0, rz = 0;
		for (int64_t i = L->chunk[c]; i < L->chunk[c + 1]; i++) {
			double ri = P->r[i] - alpha * P->q[i];
			P->x[i] += alpha * P->p[i];
			P->r[i] = ri;
			rr += ri * ri;
			if (jacobi) {
				double zi = P->dinv[i] * ri;
				P->z[i] = zi;
				rz += ri * zi;
			}
		}
		cg->part[c][a][1] = rr;
		cg->part[c][a][2] = rz;
	}
}

/* AMG: z = B r for the problems list[m] with m = id (mod team size), each V-cycle serial on one
 * thread (so the iterates do not depend on the team size), r.z per chunk. r must be complete. */
static void amg_step(struct cg *cg, int id, const int *list, int cnt)
{
	const ctw_laplace *L = cg->L;

	for (int m = id; m < cnt; m += cg->nthreads) {
		struct prob *P = &cg->pr[list[m]];
		ctw_amg_apply(P->amg, P->r, P->z, P->work);
		for (int c = 0; c < NCHUNK; c++) {
			double rz = 0;
			for (int64_t i = L->chunk[c]; i < L->chunk[c + 1]; i++)
				rz += P->r[i] * P->z[i];
			cg->part[c][list[m]][2] = rz;
		}
	}
}

static void cg_loop(struct cg *cg, int id)
{
	const int b0 = id * NBLOCK / cg->nthreads, b1 = (id + 1) * NBLOCK / cg->nthreads;
	const int c0 = b0 * CHUNKS_PER_BLOCK, c1 = b1 * CHUNKS_PER_BLOCK;
	const int k = cg->nprob, ssor = cg->L->opts.precond == CTW_PC_SSOR;
	const int amg = cg->L->opts.precond == CTW_PC_AMG;
	double rr0[MAX_PROB], rr[MAX_PROB], rz[MAX_PROB], beta[MAX_PROB], alpha[MAX_PROB];
	int it[MAX_PROB], running[MAX_PROB], converged[MAX_PROB];

	for (int a = 0; a < k; a++) {
		initial_residual(cg, a, c0, c1);
		if (!amg)
			precondition(cg, a, c0, c1);
	}
	if (amg) {
		const int all[MAX_PROB] = { 0, 1, 2, 3 };
		team_wait(cg);
		amg_step(cg, id, all, k);
	}
	team_wait(cg);
	for (int a = 0; a < k; a++) {
		rr0[a] = sum_slot(cg, a, 3);
		rr[a] = sum_slot(cg, a, 1);
		rz[a] = sum_slot(cg, a, 2);
		if (!(rr0[a] > 0))
			rr0[a] = rr[a];   /* b = 0: the solution is 0, reduce the guess's residual */
		converged[a] = rr[a] <= cg->tol2 * rr0[a];
		running[a] = !converged[a];
		it[a] = 0;
		beta[a] = 0;
		if (id == 0 && !running[a])
			cg->pr[a].seconds = now_seconds() - cg->t0;
	}
	for (;;) {
		int act[MAX_PROB], na = 0, nf = 0;
		for (int a = 0; a < k; a++) {
			if (running[a] && it[a] >= cg->max_it)
				running[a] = 0;
			if (!running[a])
				continue;
			if (it[a] == 0)
				direction_first(cg, a, c0, c1);
			else
				act[na++] = a;
			nf++;
		}
		if (!nf)
			break;
		if (na)
			direction(cg, c0, c1, act, na, beta);
		team_wait(cg);
		na = 0;
		for (int a = 0; a < k; a++) {
			if (!running[a])
				continue;
			double pq = sum_slot(cg, a, 0);
			if (!(pq > 0) || !isfinite(pq)) {
				running[a] = 0;   /* breakdown: K is not SPD on the free nodes */
				continue;
			}
			alpha[a] = rz[a] / pq;
			act[na++] = a;
		}
		for (int m = 0; m < na; m++) {
			update(cg, act[m], c0, c1, alpha[act[m]]);
			if (ssor)
				precondition(cg, act[m], c0, c1);
		}
		if (amg && na) {
			team_wait(cg);
			amg_step(cg, id, act, na);
		}
		team_wait(cg);
		for (int m = 0; m < na; m++) {
			const int a = act[m];
			it[a]++;
			rr[a] = sum_slot(cg, a, 1);
			double rz_new = sum_slot(cg, a, 2);
			converged[a] = rr[a] <= cg->tol2 * rr0[a];
			beta[a] = rz_new / rz[a];
			rz[a] = rz_new;
			if (converged[a]) {
				running[a] = 0;
				if (id == 0)
					cg->pr[a].seconds = now_seconds() - cg->t0;
			}
		}
	}
	if (id == 0)
		for (int a = 0; a < k; a++) {
			cg->pr[a].iterations = it[a];
			cg->pr[a].converged = converged[a];
			cg->pr[a].rr0 = rr0[a];
			cg->pr[a].rr = rr[a];
		}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct cg *cg = w->cg;
	int go;

	pthread_mutex_lock(&cg->lock);
	while (!cg->go)
		pthread_cond_wait(&cg->cond, &cg->lock);
	go = cg->go;
	pthread_mutex_unlock(&cg->lock);
	if (go > 0)
		cg_loop(cg, w->id);
	return NULL;
}

static void release_gate(struct cg *cg, int go)
{
	pthread_mutex_lock(&cg->lock);
	cg->go = go;
	pthread_cond_broadcast(&cg->cond);
	pthread_mutex_unlock(&cg->lock);
}

static int team_size(const ctw_laplace *L)
{
	int64_t t = L->opts.threads;

	if (t == 0) {
		long nc = sysconf(_SC_NPROCESSORS_ONLN);
		t = nc > 0 ? nc : 1;
	}
	if (t > MAX_THREADS)
		t = MAX_THREADS;
	if (t > L->n / MIN_ROWS_PER_THREAD)
		t = L->n / MIN_ROWS_PER_THREAD;
	return t < 1 ? 1 : (int)t;
}

/* Runs the CG loop on nthreads threads (the caller is thread 0). When a thread cannot be
 * created the team falls back to the caller alone: same iterates, only slower. */
static void run_team(struct cg *cg, int nthreads)
{
	struct worker w[MAX_THREADS];
	int started = 0;

	cg->nthreads = nthreads;
	cg->go = 0;
	if (nthreads > 1) {
		pthread_mutex_init(&cg->lock, NULL);
		pthread_cond_init(&cg->cond, NULL);
		pthread_barrier_init(&cg->bar, NULL, (unsigned)nthreads);
		for (started = 1; started < nthreads; started++) {
			w[started] = (struct worker){ .cg = cg, .id = started };
			if (pthread_create(&w[started].tid, NULL, worker_main, &w[started]))
				break;
		}
		release_gate(cg, started == nthreads ? 1 : -1);
		if (started == nthreads)
			cg_loop(cg, 0);
		for (int k = 1; k < started; k++)
			pthread_join(w[k].tid, NULL);
		pthread_barrier_destroy(&cg->bar);
		pthread_cond_destroy(&cg->cond);
		pthread_mutex_destroy(&cg->lock);
		if (started == nthreads)
			return;
		cg->nthreads = 1;
	}
	cg_loop(cg, 0);
}

/* ---- solve ------------------------------------------------------------------------------------ */

/* Scatters the problem into solver numbering: the mask and inverse diagonal (unless shared with
 * an earlier problem of the same Dirichlet set), Dirichlet values and the initial guess in x.
 * Returns the number of fixed nodes, -1 for a non-finite input. */
static int64_t load_problem(const ctw_laplace *L, const ctw_laplace_problem *in, int own_mask,
			    struct prob *P, uint8_t *mask, double *dinv)
{
	int64_t nfixed = 0;

	for (int64_t i = 0; i < L->n; i++) {
		int64_t o = L->perm ? L->perm[i] : i;
		double d = L->val[L->rowptr[i] + L->dpos[i]];
		int f = in->fixed[o] != 0;
		if (own_mask) {
			mask[i] = (uint8_t)f;
			dinv[i] = !f && d > 0 ? 1 / d : 0;
		}
		nfixed += f;
		P->x[i] = f ? in->value[o] : in->warm ? in->u[o] : 0;
		if (!isfinite(P->x[i]))
			return -1;
		P->z[i] = 0;
	}
	return nfixed;
}

/* Gathers x back into mesh numbering and clamps it into [lo, hi] when lo < hi. Returns the
 * number of clamped values, -1 if a value is not finite. */
static int64_t store_solution(const ctw_laplace *L, const double *x, double lo, double hi,
			      double *u)
{
	int64_t clamped = 0;

	for (int64_t i = 0; i < L->n; i++) {
		double v = x[i];
		if (!isfinite(v))
			return -1;
		if (lo < hi && (v < lo || v > hi)) {
			v = v < lo ? lo : hi;
			clamped++;
		}
		u[L->perm ? L->perm[i] : i] = v;
	}
	return clamped;
}

/* The AMG hierarchy of a Dirichlet set: from the cache, or built now into a free slot (or one
 * not used by this call, in turn). *seconds: the build time, 0 when cached. */
static int amg_for_mask(ctw_ctx *ctx, ctw_laplace *L, const uint8_t *mask, const double *dinv,
			unsigned *used, const ctw_amg **out, double *seconds)
{
	const int ns = CTW_LAPLACE_MAX_PROBLEMS;
	double t0 = now_seconds(), cx;
	int64_t coarse;
	int s, ret, nlev;

	*seconds = 0;
	for (s = 0; s < ns; s++)
		if (L->amg[s].h && !memcmp(L->amg[s].mask, mask, (size_t)L->n)) {
			*used |= 1u << s;
			*out = L->amg[s].h;
			return CTW_OK;
		}
	for (s = 0; s < ns && L->amg[s].h; s++)
		;
	if (s == ns) {
		while (*used & (1u << L->amg_next))
			L->amg_next = (L->amg_next + 1) % ns;
		s = L->amg_next;
		L->amg_next = (s + 1) % ns;
		ctw_amg_free(ctx, L->amg[s].h);
		L->amg[s].h = NULL;
	}
	if (!L->amg[s].mask && !(L->amg[s].mask = ctw_malloc(ctx, (size_t)L->n)))
		return CTW_ERR_NOMEM;
	if ((ret = ctw_amg_build(ctx, L->n, L->rowptr, L->col, L->val, dinv, &L->amg[s].h)))
		return ret;
	memcpy(L->amg[s].mask, mask, (size_t)L->n);
	*used |= 1u << s;
	*out = L->amg[s].h;
	*seconds = L->amg[s].seconds = now_seconds() - t0;
	nlev = ctw_amg_levels(L->amg[s].h, &cx, &coarse);
	ctw_log(ctx, CTW_LOG_INFO, "fibers",
		"laplace: AMG hierarchy, %d levels, coarsest %lld rows, operator complexity %.2f, %.3f s",
		nlev, (long long)coarse, cx, *seconds);
	return CTW_OK;
}

static int solve_fail(ctw_ctx *ctx, const ctw_laplace *L, const struct cg *cg, int a)
{
	const struct prob *P = &cg->pr[a];
	double rel = P->rr0 > 0 ? sqrt(P->rr / P->rr0) : 0;
	char who[48] = "";

	if (cg->nprob > 1)
		snprintf(who, sizeof(who), " (problem %d of %d)", a + 1, cg->nprob);
	if (P->iterations < cg->max_it)
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "fibers",
				 "laplace: CG broke down after %d iterations%s (relative residual "
				 "%.3g); is every part of the mesh connected to a fixed node?",
				 P->iterations, who, rel);
	return ctw_error(ctx, CTW_ERR_EXTERNAL, "fibers",
			 "laplace: CG did not converge in %d iterations%s (relative residual %.3g > "
			 "rtol %.3g); raise max_iterations or check the mesh quality",
			 P->iterations, who, rel, L->opts.rtol);
}

int ctw_laplace_solve_many(ctw_ctx *ctx, ctw_laplace *L, int k, ctw_laplace_problem *prob)
{
	double t0 = now_seconds();
	struct cg *cg = NULL;
	uint8_t *masks = NULL;
	double *dinvs = NULL, *buf = NULL, *work = NULL;
	int64_t nfixed[MAX_PROB], n;
	int ret = CTW_ERR_NOMEM, nthreads, owner[MAX_PROB];

	if (!L || !prob || k < 1 || k > MAX_PROB)
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "laplace: bad solve arguments");
	for (int a = 0; a < k; a++) {
		memset(&prob[a].info, 0, sizeof(prob[a].info));
		prob[a].status = CTW_ERR_INVALID;
	}
	for (int a = 0; a < k; a++)
		if (!prob[a].fixed || !prob[a].value || !prob[a].u || !isfinite(prob[a].rhs_const))
			return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "laplace: bad solve arguments");
	n = L->n;
	/* problems with the same Dirichlet set share its mask and inverse diagonal */
	for (int a = 0; a < k; a++) {
		owner[a] = a;
		for (int b = 0; b < a; b++)
			if (prob[b].fixed == prob[a].fixed) {
				owner[a] = owner[b];
				break;
			}
	}
	if (!(cg = ctw_calloc(ctx, 1, sizeof(*cg))) ||
	    !(buf = ctw_malloc(ctx, sizeof(double) * 5 * (size_t)k * (size_t)n)) ||
	    !(dinvs = ctw_malloc(ctx, sizeof(double) * (size_t)k * (size_t)n)) ||
	    !(masks = ctw_malloc(ctx, (size_t)k * (size_t)n)))
		goto out;
	cg->L = L;
	cg->nprob = k;
	cg->tol2 = L->opts.rtol * L->opts.rtol;
	cg->max_it = L->opts.max_iterations;
	for (int a = 0; a < k; a++) {
		struct prob *P = &cg->pr[a];
		double *v = buf + 5 * (size_t)a * (size_t)n;
		uint8_t *mask = masks + (size_t)owner[a] * (size_t)n;
		double *dinv = dinvs + (size_t)owner[a] * (size_t)n;
		P->x = v;
		P->r = v + n;
		P->z = v + 2 * n;
		P->p = v + 3 * n;
		P->q = v + 4 * n;
		P->mask = mask;
		P->dinv = dinv;
		P->rhs = prob[a].rhs_const;
		P->warm = prob[a].warm != 0;
		nfixed[a] = load_problem(L, &prob[a], owner[a] == a, P, mask, dinv);
		if (nfixed[a] < 0) {
			ret = ctw_error(ctx, CTW_ERR_INVALID, "fibers",
					"laplace: non-finite Dirichlet value or initial guess");
			goto out;
		}
		if (nfixed[a] == 0) {
			ret = ctw_error(ctx, CTW_ERR_INVALID, "fibers",
					"laplace: no node is fixed (a pure Neumann problem is singular)");
			goto out;
		}
	}
	if (L->opts.precond == CTW_PC_AMG) {
		unsigned used = 0;
		int64_t ws[MAX_PROB], wtot = 0;
		double secs;
		for (int a = 0; a < k; a++) {
			if (owner[a] == a &&
			    (ret = amg_for_mask(ctx, L, cg->pr[a].mask, cg->pr[a].dinv, &used,
						&cg->pr[a].amg, &secs)))
				goto out;
			cg->pr[a].amg = cg->pr[owner[a]].amg;
			ws[a] = ctw_amg_work_size(cg->pr[a].amg);
			wtot += ws[a];
		}
		ret = CTW_ERR_NOMEM;
		if (!(work = ctw_malloc(ctx, sizeof(double) * (size_t)wtot)))
			goto out;
		wtot = 0;
		for (int a = 0; a < k; a++) {
			cg->pr[a].work = work + wtot;
			wtot += ws[a];
		}
	}
	nthreads = team_size(L);
	cg->t0 = t0;
	run_team(cg, nthreads);
	ret = CTW_OK;
	for (int a = 0; a < k; a++) {
		const struct prob *P = &cg->pr[a];
		ctw_solve_info *info = &prob[a].info;
		int64_t clamped;
		info->iterations = P->iterations;
		info->rel_residual = P->rr0 > 0 ? sqrt(P->rr / P->rr0) : 0;
		if (!P->converged) {
			prob[a].status = CTW_ERR_EXTERNAL;
			if (!ret)
				ret = solve_fail(ctx, L, cg, a);
			continue;
		}
		clamped = store_solution(L, P->x, prob[a].clamp_lo, prob[a].clamp_hi, prob[a].u);
		if (clamped < 0) {
			prob[a].status = CTW_ERR_EXTERNAL;
			if (!ret)
				ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "fibers",
						"laplace: non-finite solution");
			continue;
		}
		prob[a].status = CTW_OK;
		info->seconds = k == 1 ? now_seconds() - t0 : P->seconds;
		info->clamped = clamped;
		char who[48] = "";
		if (k > 1)
			snprintf(who, sizeof(who), " (problem %d of %d)", a + 1, k);
		ctw_log(ctx, CTW_LOG_INFO, "fibers",
			"laplace: %s-PCG converged in %d iterations%s (relative residual %.2e, %lld "
			"fixed nodes, %lld clamped, %d threads, %.3f s)",
			L->opts.precond == CTW_PC_SSOR ? "SSOR" : L->opts.precond == CTW_PC_AMG ? "AMG" : "Jacobi",
			P->iterations, who,
			info->rel_residual, (long long)nfixed[a], (long long)clamped, cg->nthreads,
			k == 1 ? now_seconds() - t0 : P->seconds);
	}
	if (k > 1 && !ret)
		ctw_log(ctx, CTW_LOG_INFO, "fibers", "laplace: %d problems solved together in %.3f s",
			k, now_seconds() - t0);
out:
	ctw_free(ctx, work);
	ctw_free(ctx, masks);
	ctw_free(ctx, dinvs);
	ctw_free(ctx, buf);
	ctw_free(ctx, cg);
	return ret;
}

int ctw_laplace_solve(ctw_ctx *ctx, ctw_laplace *L, const uint8_t *fixed, const double *value,
		      double rhs_const, int warm, double clamp_lo, double clamp_hi, double *u,
		      ctw_solve_info *info)
{
	ctw_laplace_problem p = { fixed, value, rhs_const, warm, clamp_lo, clamp_hi, u,
				  { 0, 0, 0, 0 }, 0 };
	int ret;

	if (info)
		memset(info, 0, sizeof(*info));
	if (!L)
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "laplace: bad solve arguments");
	ret = ctw_laplace_solve_many(ctx, L, 1, &p);
	if (info)
		*info = p.info;
	return ret;
}

/* ---- connected components --------------------------------------------------------------------- */

static int32_t uf_find(int32_t *parent, int32_t v)
{
	while (parent[v] != v) {
		parent[v] = parent[parent[v]];   /* path halving */
		v = parent[v];
	}
	return v;
}

int ctw_tetmesh_components(ctw_ctx *ctx, const ctw_tetmesh *m, int *n_components)
{
	int32_t *parent;
	uint8_t *used;
	int64_t count = 0;
	int ret;

	*n_components = 0;
	if ((ret = check_mesh(ctx, m)))
		return ret;
	parent = ctw_malloc(ctx, sizeof(*parent) * (size_t)m->n_points);
	used = parent ? ctw_calloc(ctx, (size_t)m->n_points, 1) : NULL;
	if (!used) {
		ctw_free(ctx, parent);
		return CTW_ERR_NOMEM;
	}
	for (int64_t i = 0; i < m->n_points; i++)
		parent[i] = (int32_t)i;
	for (int64_t t = 0; t < m->n_tets; t++) {
		const int32_t *c = m->tets + 4 * t;
		int32_t r0 = uf_find(parent, c[0]);
		used[c[0]] = 1;
		for (int a = 1; a < 4; a++) {
			int32_t ra = uf_find(parent, c[a]);
			used[c[a]] = 1;
			/* the smaller root wins: deterministic, and trees stay shallow with halving */
			if (ra < r0) {
				parent[r0] = ra;
				r0 = ra;
			} else if (ra > r0) {
				parent[ra] = r0;
			}
		}
	}
	/* nodes used by no tetrahedron belong to no component */
	for (int64_t i = 0; i < m->n_points; i++)
		count += used[i] && parent[i] == i;
	ctw_free(ctx, used);
	ctw_free(ctx, parent);
	*n_components = (int)count;
	return CTW_OK;
}
