/* lvgen.c: structured truncated-ellipsoid LV meshes with known geometry, for the solver and
 * LDRB tests and the benchmarks (specs/fibers.md §2.1). Nodes (k, i, j) sit on interpolated
 * ellipsoids: k transmural, i the rings from the apex (i = 0, one node per k) to the base
 * (i = nl), j around the long axis. Hexahedral cells are split into the 6 Kuhn tetrahedra and
 * the apex prisms into 3 tetrahedra that share the Kuhn diagonals, so the mesh is conforming. */
#include "fibers.h"

#include <math.h>

#define PI 3.14159265358979323846

struct lvgrid {
	int nr, nl, nc;
	int64_t per_k;         /* nodes per transmural layer: the apex + nl rings of nc */
};

static int32_t lv_node(const struct lvgrid *g, int k, int i, int j)
{
	if (i == 0)
		return (int32_t)(k * g->per_k);
	j %= g->nc;            /* the seam: j = nc is j = 0 */
	return (int32_t)(k * g->per_k + 1 + (int64_t)(i - 1) * g->nc + j);
}

static void lv_index(const struct lvgrid *g, int32_t id, int *k, int *i)
{
	int64_t rem = id % g->per_k;

	*k = (int)(id / g->per_k);
	*i = rem == 0 ? 0 : 1 + (int)((rem - 1) / g->nc);
}

static void place_nodes(const ctw_lvgen_opts *o, const struct lvgrid *g, double *xyz)
{
	for (int k = 0; k <= g->nr; k++) {
		double t = (double)k / g->nr;
		double rs = o->rs_endo + t * (o->rs_epi - o->rs_endo);
		double rl = o->rl_endo + t * (o->rl_epi - o->rl_endo);
		double mub = acos(o->z_base / rl);
		double *a = xyz + 3 * (int64_t)lv_node(g, k, 0, 0);

		a[0] = a[1] = 0;
		a[2] = -rl;
		for (int i = 1; i <= g->nl; i++) {
			double mu = PI - (double)i / g->nl * (PI - mub);
			for (int j = 0; j < g->nc; j++) {
				double th = 2 * PI * j / g->nc;
				double *p = xyz + 3 * (int64_t)lv_node(g, k, i, j);
				p[0] = rs * sin(mu) * cos(th);
				p[1] = rs * sin(mu) * sin(th);
				p[2] = rl * cos(mu);
			}
		}
	}
}

/* Appends tet (a, b, c, d), swapping two corners when it is negatively oriented. */
static void put_tet(ctw_tetmesh *m, int64_t *nt, int32_t a, int32_t b, int32_t c, int32_t d)
{
	int32_t *t = m->tets + 4 * (*nt);

	t[0] = a;
	t[1] = b;
	t[2] = c;
	t[3] = d;
	if (ctw_tetmesh_tet_volume(m, *nt) < 0) {
		t[2] = d;
		t[3] = c;
	}
	(*nt)++;
}

/* The hexahedron (k, i, j)-(k+1, i+1, j+1) as 6 Kuhn tetrahedra: for each permutation p of the
 * axes, v000, v000 + e_p0, v000 + e_p0 + e_p1, v111. All share the diagonal v000-v111, so
 * neighbouring cells split their common face the same way. */
static void kuhn_cell(ctw_tetmesh *m, const struct lvgrid *g, int k, int i, int j, int64_t *nt)
{
	static const int perms[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
					 { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };

	for (int p = 0; p < 6; p++) {
		int s1[3] = { 0, 0, 0 }, s2[3];
		s1[perms[p][0]] = 1;
		for (int a = 0; a < 3; a++)
			s2[a] = s1[a];
		s2[perms[p][1]] = 1;
		/* offsets are (di, dj, dk) */
		put_tet(m, nt, lv_node(g, k, i, j), lv_node(g, k + s1[2], i + s1[0], j + s1[1]),
			lv_node(g, k + s2[2], i + s2[0], j + s2[1]), lv_node(g, k + 1, i + 1, j + 1));
	}
}

/* The apex prism A B C (layer k) - A' B' C' (layer k+1), cut along the diagonals B-C' (the
 * Kuhn diagonal of the ring-1 face of the neighbouring hexahedron) and A-B'. */
static void apex_prism(ctw_tetmesh *m, const struct lvgrid *g, int k, int j, int64_t *nt)
{
	int32_t a0 = lv_node(g, k, 0, 0), b0 = lv_node(g, k, 1, j), c0 = lv_node(g, k, 1, j + 1);
	int32_t a1 = lv_node(g, k + 1, 0, 0), b1 = lv_node(g, k + 1, 1, j),
		c1 = lv_node(g, k + 1, 1, j + 1);

	put_tet(m, nt, a0, b1, c1, a1);
	put_tet(m, nt, a0, b0, c0, c1);
	put_tet(m, nt, a0, b0, c1, b1);
}

/* Surface of a face whose corners all lie on k = 0, k = nr or i = nl; NONE when interior. */
static int face_marker(const struct lvgrid *g, const int32_t v[3])
{
	int k[3], i[3];

	for (int a = 0; a < 3; a++)
		lv_index(g, v[a], &k[a], &i[a]);
	if (k[0] == 0 && k[1] == 0 && k[2] == 0)
		return CTW_SURF_LV_ENDO;
	if (k[0] == g->nr && k[1] == g->nr && k[2] == g->nr)
		return CTW_SURF_EPI;
	if (i[0] == g->nl && i[1] == g->nl && i[2] == g->nl)
		return CTW_SURF_BASE;
	return CTW_SURF_NONE;
}

/* Boundary triangles, oriented outwards (the faces of a positive tetrahedron in this order). */
static int64_t tag_faces(ctw_tetmesh *m, const struct lvgrid *g)
{
	static const int faces[4][3] = { { 1, 2, 3 }, { 0, 3, 2 }, { 0, 1, 3 }, { 0, 2, 1 } };
	int64_t nf = 0;

	for (int64_t t = 0; t < m->n_tets; t++)
		for (int f = 0; f < 4; f++) {
			int32_t v[3];
			int mk;
			for (int a = 0; a < 3; a++)
				v[a] = m->tets[4 * t + faces[f][a]];
			if (!(mk = face_marker(g, v)))
				continue;
			if (nf < m->n_tris) {
				for (int a = 0; a < 3; a++)
					m->tris[3 * nf + a] = v[a];
				m->tri_marker[nf] = mk;
			}
			nf++;
		}
	return nf;
}

static int check_lvgen(ctw_ctx *ctx, const ctw_lvgen_opts *o)
{
	double n_points = (o->nr + 1.0) * (1.0 + (double)o->nl * o->nc);
	double n_tets = (double)o->nr * o->nc * (6.0 * (o->nl - 1) + 3);

	if (o->nr < 1 || o->nl < 1 || o->nc < 3)
		return ctw_error(ctx, CTW_ERR_INVALID, "lvgen",
				 "bad grid %d x %d x %d (need nr, nl >= 1, nc >= 3)", o->nr, o->nl,
				 o->nc);
	if (n_points > INT32_MAX || 4 * n_tets > INT32_MAX)
		return ctw_error(ctx, CTW_ERR_INVALID, "lvgen", "grid %d x %d x %d is too large",
				 o->nr, o->nl, o->nc);
	if (!(o->rs_endo > 0 && o->rs_endo < o->rs_epi && isfinite(o->rs_epi) && o->rl_endo > 0 &&
	      o->rl_endo < o->rl_epi && isfinite(o->rl_epi)))
		return ctw_error(ctx, CTW_ERR_INVALID, "lvgen",
				 "bad radii (need 0 < endo < epi): short %g/%g, long %g/%g", o->rs_endo,
				 o->rs_epi, o->rl_endo, o->rl_epi);
	if (!(fabs(o->z_base) < o->rl_endo))
		return ctw_error(ctx, CTW_ERR_INVALID, "lvgen",
				 "base plane z = %g does not cut the endocardium (long radius %g)",
				 o->z_base, o->rl_endo);
	return CTW_OK;
}

int ctw_lvgen(ctw_ctx *ctx, const ctw_lvgen_opts *o, ctw_tetmesh **out, int64_t *apex_node)
{
	struct lvgrid g;
	ctw_tetmesh *m;
	int64_t nt = 0, ntris;
	int ret;

	*out = NULL;
	if ((ret = check_lvgen(ctx, o)))
		return ret;
	g.nr = o->nr;
	g.nl = o->nl;
	g.nc = o->nc;
	g.per_k = 1 + (int64_t)o->nl * o->nc;
	/* endo and epi: nc apex triangles and 2 (nl - 1) nc quad halves each; base: 2 nr nc */
	ntris = 2 * (int64_t)o->nc * (2 * o->nl - 1) + 2 * (int64_t)o->nr * o->nc;
	ret = ctw_tetmesh_new(ctx, (o->nr + 1) * g.per_k,
			      (int64_t)o->nr * o->nc * (6 * (int64_t)(o->nl - 1) + 3), ntris, &m);
	if (ret)
		return ret;
	place_nodes(o, &g, m->xyz);
	for (int k = 0; k < o->nr; k++)
		for (int j = 0; j < o->nc; j++) {
			apex_prism(m, &g, k, j, &nt);
			for (int i = 1; i < o->nl; i++)
				kuhn_cell(m, &g, k, i, j, &nt);
		}
	for (int64_t t = 0; t < m->n_tets; t++)
		m->region[t] = 1;
	if (tag_faces(m, &g) != ntris) {
		ctw_tetmesh_free(ctx, m);
		return ctw_error(ctx, CTW_ERR_INTERNAL, "lvgen", "boundary face count mismatch");
	}
	if (apex_node)
		*apex_node = lv_node(&g, o->nr, 0, 0);
	*out = m;
	return CTW_OK;
}
