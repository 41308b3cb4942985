/* tetmesh.c: ctw_tetmesh, a tetrahedral mesh with region tags and tagged boundary triangles. */
#include "ctw.h"

int ctw_tetmesh_new(ctw_ctx *ctx, int64_t n_points, int64_t n_tets, int64_t n_tris,
		    ctw_tetmesh **out)
{
	ctw_tetmesh *m;

	*out = NULL;
	if (n_points < 0 || n_tets < 0 || n_tris < 0 || n_points > INT32_MAX || n_tets > INT32_MAX ||
	    n_tris > INT32_MAX)
		return ctw_error(ctx, CTW_ERR_INVALID, "tetmesh", "bad mesh size %lld/%lld/%lld",
				 (long long)n_points, (long long)n_tets, (long long)n_tris);
	m = ctw_calloc(ctx, 1, sizeof(*m));
	if (!m)
		return CTW_ERR_NOMEM;
	m->n_points = n_points;
	m->n_tets = n_tets;
	m->n_tris = n_tris;
	if (!(m->xyz = ctw_malloc(ctx, sizeof(double) * 3 * (size_t)n_points)) ||
	    !(m->tets = ctw_malloc(ctx, sizeof(int32_t) * 4 * (size_t)n_tets)) ||
	    !(m->region = ctw_calloc(ctx, (size_t)n_tets, sizeof(int32_t))) ||
	    !(m->tris = ctw_malloc(ctx, sizeof(int32_t) * 3 * (size_t)n_tris)) ||
	    !(m->tri_marker = ctw_calloc(ctx, (size_t)n_tris, sizeof(int32_t)))) {
		ctw_tetmesh_free(ctx, m);
		return CTW_ERR_NOMEM;
	}
	*out = m;
	return CTW_OK;
}

void ctw_tetmesh_free(ctw_ctx *ctx, ctw_tetmesh *m)
{
	if (!m)
		return;
	ctw_free(ctx, m->xyz);
	ctw_free(ctx, m->tets);
	ctw_free(ctx, m->region);
	ctw_free(ctx, m->tris);
	ctw_free(ctx, m->tri_marker);
	ctw_free(ctx, m);
}

int ctw_tetmesh_check(ctw_ctx *ctx, const char *what, const ctw_tetmesh *m)
{
	int64_t i;

	for (i = 0; i < 4 * m->n_tets; i++)
		if (m->tets[i] < 0 || m->tets[i] >= m->n_points)
			return ctw_error(ctx, CTW_ERR_FORMAT, what,
					 "tetrahedron %lld refers to node %d of %lld", (long long)(i / 4),
					 (int)m->tets[i], (long long)m->n_points);
	for (i = 0; i < 3 * m->n_tris; i++)
		if (m->tris[i] < 0 || m->tris[i] >= m->n_points)
			return ctw_error(ctx, CTW_ERR_FORMAT, what,
					 "boundary triangle %lld refers to node %d of %lld",
					 (long long)(i / 3), (int)m->tris[i], (long long)m->n_points);
	return CTW_OK;
}

double ctw_tetmesh_tet_volume(const ctw_tetmesh *m, int64_t t)
{
	const int32_t *c = m->tets + 4 * t;
	const double *p0 = m->xyz + 3 * c[0], *p1 = m->xyz + 3 * c[1], *p2 = m->xyz + 3 * c[2],
		     *p3 = m->xyz + 3 * c[3];
	double a[3], b[3], d[3];
	int i;

	for (i = 0; i < 3; i++) {
		a[i] = p1[i] - p0[i];
		b[i] = p2[i] - p0[i];
		d[i] = p3[i] - p0[i];
	}
	return (a[0] * (b[1] * d[2] - b[2] * d[1]) - a[1] * (b[0] * d[2] - b[2] * d[0]) +
		a[2] * (b[0] * d[1] - b[1] * d[0])) /
	       6.0;
}

double ctw_tetmesh_volume(const ctw_tetmesh *m)
{
	double v = 0.0;
	int64_t t;

	for (t = 0; t < m->n_tets; t++) {
		double x = ctw_tetmesh_tet_volume(m, t);
		v += x < 0 ? -x : x;
	}
	return v;
}

const char *ctw_surface_name(int id)
{
	static const char *const names[] = { NULL, "epi", "lv_endo", "rv_endo", "base" };
	return id >= 1 && id <= 4 ? names[id] : NULL;
}
