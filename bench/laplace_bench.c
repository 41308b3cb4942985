/* laplace_bench.c: times the Laplace solves of LDRB (fibers/laplace.c) on a structured LV mesh
 * (fibers/lvgen.c): assembly, the transmural solve phi_lv and the apicobasal solve psi_ab
 * (apex node 0, base 1), optionally ldrb's Poisson apex rule. Not part of the CTest build:
 *   cc -std=c11 -O2 -Ifibers -Ipipeline/core bench/laplace_bench.c fibers/laplace.c \
 *      fibers/lvgen.c BUILD/pipeline/core/libctw_core.a -lpthread -lm -o laplace_bench
 *   /usr/bin/time -v ./laplace_bench [-e] [-s|-a|-j] [-p] [-m 2|3] [-t THREADS] [-n] NR NL NC
 * -e the LV ellipsoid (b) of specs/fibers.md §2.1 instead of the hemispherical shell, -s SSOR,
 * -a AMG (its hierarchy setup is part of the solve times: built at the first solve per mask),
 * -p also the Poisson apex solve, -n no RCM reordering, -m 2: phi_lv and psi together in one
 * ctw_laplace_solve_many call as ldrb does (-m 3: with a second transmural problem on the same
 * Dirichlet set, the BiV case: phi_lv, phi_rv, psi). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctw.h"
#include "fibers.h"

static void logger(void *ud, ctw_log_level lvl, const char *domain, const char *msg)
{
	(void)ud;
	(void)lvl;
	fprintf(stderr, "%s: %s\n", domain ? domain : "", msg);
}

static void mark(const ctw_tetmesh *m, int marker, double v, uint8_t *fixed, double *value)
{
	for (int64_t t = 0; t < m->n_tris; t++)
		if (m->tri_marker[t] == marker)
			for (int a = 0; a < 3; a++) {
				fixed[m->tris[3 * t + a]] = 1;
				value[m->tris[3 * t + a]] = v;
			}
}

static int run(ctw_ctx *ctx, const ctw_tetmesh *m, int64_t apex, const ctw_solver_opts *so,
	       int poisson)
{
	uint8_t *fixed = calloc((size_t)m->n_points, 1);
	double *value = calloc((size_t)m->n_points, sizeof(double));
	double *u = calloc((size_t)m->n_points, sizeof(double));
	ctw_laplace *L = NULL;
	ctw_solve_info phi, psi, a = { 0, 0, 0, 0 };
	int64_t ndeg;
	int ret;

	if (!fixed || !value || !u)
		return CTW_ERR_NOMEM;
	if ((ret = ctw_laplace_new(ctx, m, so, &L, &ndeg)))
		goto out;
	mark(m, CTW_SURF_EPI, 0, fixed, value);
	mark(m, CTW_SURF_LV_ENDO, 1, fixed, value);
	if ((ret = ctw_laplace_solve(ctx, L, fixed, value, 0, 0, 0, 1, u, &phi)))
		goto out;
	memset(fixed, 0, (size_t)m->n_points);
	mark(m, CTW_SURF_BASE, 1, fixed, value);
	if (poisson && (ret = ctw_laplace_solve(ctx, L, fixed, value, 1, 0, 0, 0, u, &a)))
		goto out;
	fixed[apex] = 1;
	value[apex] = 0;
	if ((ret = ctw_laplace_solve(ctx, L, fixed, value, 0, 0, 0, 1, u, &psi)))
		goto out;
	printf("separate: nodes %lld tets %lld | setup %.3f s | phi %d it %.3f s | psi %d it %.3f s | "
	       "poisson %d it %.3f s | solves %.3f s | total %.3f s\n",
	       (long long)m->n_points, (long long)m->n_tets, ctw_laplace_setup_seconds(L),
	       phi.iterations, phi.seconds, psi.iterations, psi.seconds, a.iterations, a.seconds,
	       phi.seconds + psi.seconds + a.seconds,
	       ctw_laplace_setup_seconds(L) + phi.seconds + psi.seconds + a.seconds);
out:
	ctw_laplace_free(ctx, L);
	free(fixed);
	free(value);
	free(u);
	return ret;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* ldrb's way: the transmural problems (phi_lv, and with k = 3 a second one on the same Dirichlet
 * set standing in for a BiV phi_rv) and psi in one ctw_laplace_solve_many call. */
static int run_many(ctw_ctx *ctx, const ctw_tetmesh *m, int64_t apex, const ctw_solver_opts *so,
		    int k)
{
	size_t n = (size_t)m->n_points;
	uint8_t *ft = calloc(n, 1), *fa = calloc(n, 1);
	double *vl = calloc(n, sizeof(double)), *vr = calloc(n, sizeof(double));
	double *va = calloc(n, sizeof(double)), *u = calloc(3 * n, sizeof(double));
	ctw_laplace *L = NULL;
	ctw_laplace_problem p[3];
	int64_t ndeg;
	int ret = CTW_ERR_NOMEM, np = 0;
	double t0;

	if (!ft || !fa || !vl || !vr || !va || !u)
		goto out;
	if ((ret = ctw_laplace_new(ctx, m, so, &L, &ndeg)))
		goto out;
	mark(m, CTW_SURF_EPI, 0, ft, vl);
	mark(m, CTW_SURF_LV_ENDO, 1, ft, vl);
	mark(m, CTW_SURF_EPI, 1, ft, vr);
	mark(m, CTW_SURF_LV_ENDO, 0, ft, vr);
	mark(m, CTW_SURF_BASE, 1, fa, va);
	fa[apex] = 1;
	va[apex] = 0;
	p[np++] = (ctw_laplace_problem){ ft, vl, 0, 0, 0, 1, u, { 0, 0, 0, 0 }, 0 };
	if (k == 3)
		p[np++] = (ctw_laplace_problem){ ft, vr, 0, 0, 0, 1, u + n, { 0, 0, 0, 0 }, 0 };
	p[np++] = (ctw_laplace_problem){ fa, va, 0, 0, 0, 1, u + 2 * n, { 0, 0, 0, 0 }, 0 };
	t0 = now();
	if ((ret = ctw_laplace_solve_many(ctx, L, np, p)))
		goto out;
	t0 = now() - t0;
	printf("together: nodes %lld tets %lld | setup %.3f s |", (long long)m->n_points,
	       (long long)m->n_tets, ctw_laplace_setup_seconds(L));
	for (int a = 0; a < np; a++)
		printf(" %s %d it %.3f s |", a == np - 1 ? "psi" : "phi", p[a].info.iterations,
		       p[a].info.seconds);
	printf(" solves %.3f s | total %.3f s\n", t0, ctw_laplace_setup_seconds(L) + t0);
out:
	ctw_laplace_free(ctx, L);
	free(ft);
	free(fa);
	free(vl);
	free(vr);
	free(va);
	free(u);
	return ret;
}

int main(int argc, char **argv)
{
	ctw_solver_opts so = CTW_SOLVER_OPTS_INIT;
	ctw_lvgen_opts lo = { 7, 10, 7, 10, 0, 8, 40, 80 };
	int opt, poisson = 0, many = 0, ret;
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m;
	int64_t apex;

	while ((opt = getopt(argc, argv, "esajpnt:m:")) != -1) {
		if (opt == 'e') {
			lo.rl_endo = 17;
			lo.rl_epi = 20;
			lo.z_base = 5;
		} else if (opt == 's') {
			so.precond = CTW_PC_SSOR;
		} else if (opt == 'a') {
			so.precond = CTW_PC_AMG;
		} else if (opt == 'j') {
			so.precond = CTW_PC_JACOBI;
		} else if (opt == 'p') {
			poisson = 1;
		} else if (opt == 'n') {
			so.reorder = 0;
		} else if (opt == 'm') {
			many = atoi(optarg);
		} else if (opt == 't') {
			so.threads = atoi(optarg);
		} else {
			fprintf(stderr, "usage: laplace_bench [-e] [-s|-a|-j] [-p] [-n] [-m 2|3] [-t N] NR NL NC\n");
			return 1;
		}
	}
	if (argc - optind == 3) {
		lo.nr = atoi(argv[optind]);
		lo.nl = atoi(argv[optind + 1]);
		lo.nc = atoi(argv[optind + 2]);
	}
	ctw_ctx_set_log(ctx, logger, NULL, CTW_LOG_INFO);
	if ((ret = ctw_lvgen(ctx, &lo, &m, &apex)) || (ret = many ? run_many(ctx, m, apex, &so, many) : run(ctx, m, apex, &so, poisson)))
		fprintf(stderr, "laplace_bench: %s\n", ctw_errmsg(ctx));
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
	return ret ? 1 : 0;
}
