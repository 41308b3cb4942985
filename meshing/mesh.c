/* mesh.c: the meshing stage: from a label map (or a closed surface) to a tetrahedral mesh with
 * region tags, tagged boundary triangles and an apex node, checked at every step, with its
 * quality and its fidelity to the input measured. */
#define _POSIX_C_SOURCE 200809L
#include "mesh.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "voxelcheck.h"
#include "workers_int.h"

/* Step timings at debug level (-v -v): where a meshing run spends its time. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Logs a finished phase; CTW_ERR_CANCELLED once the stage's time limit (ctx deadline) passed. */
static int step_done(ctw_ctx *ctx, const char *what, double *t)
{
	double t1 = now_s();
	ctw_log(ctx, CTW_LOG_DEBUG, "mesh", "%s: %.3f s", what, t1 - *t);
	*t = t1;
	return ctw_ctx_past_deadline(ctx, "mesh") ? CTW_ERR_CANCELLED : CTW_OK;
}


static double dot3(const double a[3], const double b[3])
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* Label of the voxel nearest to world point p; -1 outside the grid. */
static int label_at(const ctw_volume *g, const double p[3])
{
	double q[3];
	int64_t i[3];
	if (!ctw_volume_world_to_index(g, p, q))
		return -1;
	for (int c = 0; c < 3; c++) {
		i[c] = (int64_t)floor(q[c] + 0.5);
		if (i[c] < 0 || i[c] >= g->dim[c])
			return -1;
	}
	return ((const uint8_t *)g->data)[i[0] + g->dim[0] * (i[1] + g->dim[1] * i[2])];
}

static int is_tissue(int l, int biv)
{
	return l == CTW_LBL_LV_MYO || (biv && l == CTW_LBL_RV_MYO);
}

/* Region of a tetrahedron from the labels at and around its centroid: 1 LV myocardium,
 * 2 RV myocardium (the nearest myocardial voxel within two voxels; LV when none). */
static int region_at(const ctw_volume *g, const double c[3], double h)
{
	static const double off[6][3] = { { 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 },
					  { 0, -1, 0 }, { 0, 0, 1 }, { 0, 0, -1 } };
	/* the centroid, then the points a voxel away (the centroid looked at once, not seven times) */
	int l = label_at(g, c);
	if (l == CTW_LBL_LV_MYO)
		return 1;
	if (l == CTW_LBL_RV_MYO)
		return 2;
	for (int k = 0; k < 6; k++) {
		double p[3] = { c[0] + off[k][0] * h, c[1] + off[k][1] * h, c[2] + off[k][2] * h };
		l = label_at(g, p);
		if (l == CTW_LBL_LV_MYO)
			return 1;
		if (l == CTW_LBL_RV_MYO)
			return 2;
	}
	return 1;
}

/* Surface id of a boundary face from the first non-myocardial label outside it. */
static int tag_at(const ctw_volume *g, const double c[3], const double n[3], double h, int biv)
{
	for (double d = 0.75 * h; d <= 3.01 * h; d += 0.75 * h) {
		double p[3] = { c[0] + d * n[0], c[1] + d * n[1], c[2] + d * n[2] };
		int l = label_at(g, p);
		if (l == CTW_LBL_LV_BLOOD)
			return CTW_SURF_LV_ENDO;
		if (l == CTW_LBL_RV_BLOOD)
			return CTW_SURF_RV_ENDO;
		if (!is_tissue(l, biv))
			return CTW_SURF_EPI;
	}
	return CTW_SURF_EPI;
}

static void face_geometry(const ctw_tetmesh *m, int64_t t, double c[3], double n[3])
{
	const double *a = m->xyz + 3 * m->tris[3 * t], *b = m->xyz + 3 * m->tris[3 * t + 1],
		     *d = m->xyz + 3 * m->tris[3 * t + 2];
	double u[3], v[3], len;
	for (int k = 0; k < 3; k++) {
		c[k] = (a[k] + b[k] + d[k]) / 3.0;
		u[k] = b[k] - a[k];
		v[k] = d[k] - a[k];
	}
	n[0] = u[1] * v[2] - u[2] * v[1];
	n[1] = u[2] * v[0] - u[0] * v[2];
	n[2] = u[0] * v[1] - u[1] * v[0];
	len = sqrt(dot3(n, n));
	for (int k = 0; k < 3; k++)
		n[k] = len > 0 ? n[k] / len : 0;
}

typedef struct face_key {
	int32_t v[3]; /* sorted */
	int32_t idx;
} face_key;

static int by_face(const void *p, const void *q)
{
	const face_key *x = p, *y = q;
	for (int k = 0; k < 3; k++)
		if (x->v[k] != y->v[k])
			return x->v[k] < y->v[k] ? -1 : 1;
	return 0;
}

static void sorted_key(const int32_t *t, int32_t idx, face_key *k)
{
	int32_t a = t[0], b = t[1], c = t[2], x;
	if (a > b) { x = a; a = b; b = x; }
	if (b > c) { x = b; b = c; c = x; }
	if (a > b) { x = a; a = b; b = x; }
	k->v[0] = a;
	k->v[1] = b;
	k->v[2] = c;
	k->idx = idx;
}

/* Replaces TetGen's boundary triangles by the tetrahedra's boundary faces, which are oriented
 * outwards, carrying each triangle's marker over; they must be the same set of faces. *tet_of
 * is the tetrahedron of each new triangle, for remove_boundary_slivers. */
static int orient_boundary(ctw_ctx *ctx, ctw_tetmesh *m, int32_t **tet_of)
{
	int32_t *btri = NULL, *marker = NULL, *start = NULL;
	face_key *a = NULL;
	int64_t nb = 0, i;
	int ret = ctw_tetmesh_boundary(ctx, m, &btri, tet_of, &nb);

	if (ret)
		return ret;
	if (nb != m->n_tris) {
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "mesh",
				"tetgen returned %lld boundary triangles but its tetrahedra have %lld boundary faces",
				(long long)m->n_tris, (long long)nb);
		goto out;
	}
	marker = ctw_malloc(ctx, sizeof(int32_t) * (size_t)(nb ? nb : 1));
	a = ctw_malloc(ctx, sizeof(face_key) * (size_t)(nb ? nb : 1));
	start = ctw_calloc(ctx, (size_t)m->n_points + 2, sizeof(int32_t));
	if (!marker || !a || !start) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	/* TetGen's triangles bucketed by their smallest node (a few per node, so a linear search
	 * in the bucket is cheaper than sorting); the boundary faces are distinct, so finding each
	 * of the nb of them in a bucket means both are the same set */
	for (i = 0; i < nb; i++) {
		face_key k;
		sorted_key(m->tris + 3 * i, (int32_t)i, &k);
		start[k.v[0] + 2]++;
	}
	for (i = 0; i < m->n_points; i++)
		start[i + 2] += start[i + 1];
	for (i = 0; i < nb; i++) {
		face_key k;
		sorted_key(m->tris + 3 * i, (int32_t)i, &k);
		a[start[k.v[0] + 1]++] = k;
	}
	for (i = 0; i < nb; i++) {
		face_key k;
		int32_t j;
		sorted_key(btri + 3 * i, (int32_t)i, &k);
		for (j = start[k.v[0]]; j < start[k.v[0] + 1]; j++)
			if (a[j].v[1] == k.v[1] && a[j].v[2] == k.v[2])
				break;
		if (j == start[k.v[0] + 1]) {
			ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "mesh", "tetgen's boundary triangles do not match its tetrahedra");
			goto out;
		}
		marker[i] = m->tri_marker[a[j].idx];
	}
	memcpy(m->tris, btri, sizeof(int32_t) * 3 * (size_t)nb);
	memcpy(m->tri_marker, marker, sizeof(int32_t) * (size_t)nb);
out:
	if (ret) {
		ctw_free(ctx, *tet_of);
		*tet_of = NULL;
	}
	ctw_free(ctx, btri);
	ctw_free(ctx, marker);
	ctw_free(ctx, a);
	ctw_free(ctx, start);
	return ret;
}

/* The smallest dot product of two outward unit face normals of tetrahedron t: the dihedral
 * angle of faces f, g is 180 - acos(n_f . n_g), so the smallest angle belongs to the smallest dot
 * product, and comparing it with cos(180 - threshold) needs no acos at all. */
static double tet_min_dot(const ctw_tetmesh *m, int64_t t)
{
	static const int faces[4][3] = { { 1, 2, 3 }, { 0, 2, 3 }, { 0, 1, 3 }, { 0, 1, 2 } };
	double n[4][3], dmin = 1.0;
	for (int f = 0; f < 4; f++) {
		const double *a = m->xyz + 3 * m->tets[4 * t + faces[f][0]], *b = m->xyz + 3 * m->tets[4 * t + faces[f][1]],
			     *c = m->xyz + 3 * m->tets[4 * t + faces[f][2]], *o = m->xyz + 3 * m->tets[4 * t + f];
		double u[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] }, v[3] = { c[0] - a[0], c[1] - a[1], c[2] - a[2] }, l, s;
		n[f][0] = u[1] * v[2] - u[2] * v[1];
		n[f][1] = u[2] * v[0] - u[0] * v[2];
		n[f][2] = u[0] * v[1] - u[1] * v[0];
		l = sqrt(dot3(n[f], n[f]));
		s = (o[0] - a[0]) * n[f][0] + (o[1] - a[1]) * n[f][1] + (o[2] - a[2]) * n[f][2];
		for (int k = 0; k < 3; k++) /* outward unit normal */
			n[f][k] = l > 0 ? (s > 0 ? -n[f][k] : n[f][k]) / l : 0;
	}
	for (int f = 0; f < 4; f++)
		for (int g = f + 1; g < 4; g++) {
			const double d = dot3(n[f], n[g]);
			dmin = d < dmin ? d : dmin;
		}
	return dmin < -1.0 ? -1.0 : dmin;
}

/* Smallest dihedral angle (degrees) of tetrahedron t. */
static double tet_min_dihedral(const ctw_tetmesh *m, int64_t t)
{
	return 180.0 - acos(tet_min_dot(m, t)) * 180.0 / 3.14159265358979323846;
}

/* The dot product below which tet_min_dot() means a dihedral angle below min_deg. */
static double dot_threshold(double min_deg)
{
	return cos((180.0 - min_deg) * 3.14159265358979323846 / 180.0);
}

typedef struct { int32_t a, b, t; } half_edge;

static int cmp_half(const void *x, const void *y)
{
	const half_edge *p = x, *q = y;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b;
}

/* Drops points no tetrahedron uses (after removing tetrahedra) and renumbers the rest. */
static int compact_points(ctw_ctx *ctx, ctw_tetmesh *m)
{
	int32_t *map = ctw_malloc(ctx, sizeof(int32_t) * (size_t)(m->n_points ? m->n_points : 1));
	int64_t k = 0;
	if (!map)
		return CTW_ERR_NOMEM;
	for (int64_t v = 0; v < m->n_points; v++)
		map[v] = -1;
	for (int64_t i = 0; i < 4 * m->n_tets; i++)
		map[m->tets[i]] = 0;
	for (int64_t v = 0; v < m->n_points; v++)
		if (map[v] == 0) {
			memmove(m->xyz + 3 * k, m->xyz + 3 * v, 3 * sizeof(double));
			map[v] = (int32_t)k++;
		}
	for (int64_t i = 0; i < 4 * m->n_tets; i++)
		m->tets[i] = map[m->tets[i]];
	for (int64_t i = 0; i < 3 * m->n_tris; i++)
		m->tris[i] = map[m->tris[i]];
	m->n_points = k;
	ctw_free(ctx, map);
	return CTW_OK;
}

/* Gives boundary triangles without a marker (0) the marker of a neighbour across an edge. */
static int fill_markers(ctw_ctx *ctx, ctw_tetmesh *m)
{
	half_edge *e = ctw_malloc(ctx, sizeof(half_edge) * (size_t)(3 * m->n_tris + 1));
	int64_t n = 0;
	int changed = 1;
	if (!e)
		return CTW_ERR_NOMEM;
	for (int64_t t = 0; t < m->n_tris; t++)
		for (int k = 0; k < 3; k++) {
			int32_t a = m->tris[3 * t + k], b = m->tris[3 * t + (k + 1) % 3];
			e[n].a = a < b ? a : b;
			e[n].b = a < b ? b : a;
			e[n].t = (int32_t)t;
			n++;
		}
	qsort(e, (size_t)n, sizeof(half_edge), cmp_half);
	for (int pass = 0; pass < 10 && changed; pass++) {
		changed = 0;
		for (int64_t i = 0; i + 1 < n; i++)
			if (e[i].a == e[i + 1].a && e[i].b == e[i + 1].b) {
				int32_t *x = &m->tri_marker[e[i].t], *y = &m->tri_marker[e[i + 1].t];
				if (!*x && *y) {
					*x = *y;
					changed = 1;
				} else if (*x && !*y) {
					*y = *x;
					changed = 1;
				}
			}
	}
	ctw_free(ctx, e);
	return CTW_OK;
}

/* Removes slivers TetGen leaves where boundary facets meet at a sharp angle: tetrahedra with a
 * dihedral angle below min_deg and a face on the boundary (their corners stay in the mesh
 * through their other tetrahedra). The faces they expose get marker 0 (for fill_markers or the
 * tagging). Repeats while it finds some (at most 5 times). m->tris must be the
 * boundary as ctw_tetmesh_boundary gives it, tet_of its tetrahedra (taken over and freed):
 * each pass leaves both so for the next. */
static int remove_boundary_slivers(ctw_ctx *ctx, ctw_tetmesh *m, int32_t *tet_of, double min_deg, int64_t *removed)
{
	const double dmin = dot_threshold(min_deg);
	int ret = CTW_OK;

	*removed = 0;
	for (int pass = 0; pass < 5; pass++) {
		int32_t *nb = NULL, *ntri = NULL, *ntet_of = NULL, *marker = NULL;
		face_key *old = NULL;
		uint8_t *drop = NULL;
		int64_t n2 = 0, k = 0, dropped = 0;
		nb = ctw_calloc(ctx, (size_t)m->n_tets, sizeof(int32_t));
		drop = ctw_calloc(ctx, (size_t)m->n_tets, 1);
		if (!nb || !drop) {
			ret = CTW_ERR_NOMEM;
			goto next;
		}
		for (int64_t i = 0; i < m->n_tris; i++)
			nb[tet_of[i]]++;
		for (int64_t t = 0; t < m->n_tets; t++)
			if (nb[t] >= 1 && tet_min_dot(m, t) < dmin) {
				drop[t] = 1;
				dropped++;
			}
		if (!dropped)
			goto next;
		/* keep the other tetrahedra, then rebuild the boundary with markers */
		for (int64_t t = 0; t < m->n_tets; t++)
			if (!drop[t]) {
				memmove(m->tets + 4 * k, m->tets + 4 * t, 4 * sizeof(int32_t));
				m->region[k] = m->region[t];
				k++;
			}
		m->n_tets = k;
		if ((ret = ctw_tetmesh_boundary(ctx, m, &ntri, &ntet_of, &n2)))
			goto next;
		/* markers: faces that were boundary keep theirs (found through the sorted old faces);
		 * new ones get 0 */
		marker = ctw_malloc(ctx, sizeof(int32_t) * (size_t)(n2 ? n2 : 1));
		old = ctw_malloc(ctx, sizeof(face_key) * (size_t)(m->n_tris ? m->n_tris : 1));
		if (!marker || !old) {
			ret = CTW_ERR_NOMEM;
			goto next;
		}
		for (int64_t i = 0; i < m->n_tris; i++)
			sorted_key(m->tris + 3 * i, (int32_t)i, &old[i]);
		qsort(old, (size_t)m->n_tris, sizeof(face_key), by_face);
		for (int64_t i = 0; i < n2; i++) {
			face_key key, *hit;
			sorted_key(ntri + 3 * i, 0, &key);
			hit = bsearch(&key, old, (size_t)m->n_tris, sizeof(face_key), by_face);
			marker[i] = hit ? m->tri_marker[hit->idx] : 0;
		}
		ctw_free(ctx, m->tris);
		ctw_free(ctx, m->tri_marker);
		ctw_free(ctx, tet_of);
		m->tris = ntri;
		m->tri_marker = marker;
		m->n_tris = n2;
		tet_of = ntet_of;
		ntri = ntet_of = marker = NULL;
		*removed += dropped;
	next:
		ctw_free(ctx, nb);
		ctw_free(ctx, drop);
		ctw_free(ctx, old);
		ctw_free(ctx, ntri);
		ctw_free(ctx, ntet_of);
		ctw_free(ctx, marker);
		if (ret || !dropped)
			break;
	}
	ctw_free(ctx, tet_of);
	if (ret)
		return ret;
	return *removed ? compact_points(ctx, m) : CTW_OK;
}

/* Smallest dihedral angle of the tetrahedra around vertex v (CSR adjacency), with v at x;
 * -1 when one of them would be inverted or flat. */
static double star_quality(ctw_tetmesh *m, const int64_t *start, const int32_t *adj, int32_t v, const double x[3])
{
	double keep[3], worst = 180.0;
	memcpy(keep, m->xyz + 3 * v, sizeof(keep));
	memcpy(m->xyz + 3 * v, x, sizeof(keep));
	for (int64_t i = start[v]; i < start[v + 1] && worst > 0; i++) {
		if (ctw_tetmesh_tet_volume(m, adj[i]) <= 1e-12)
			worst = -1;
		else
			worst = fmin(worst, tet_min_dihedral(m, adj[i]));
	}
	memcpy(m->xyz + 3 * v, keep, sizeof(keep));
	return worst;
}

/* Moves interior vertices of slivers (dihedral below min_deg) towards the centre of their
 * neighbours where that raises the smallest dihedral angle around them (a guarded Laplacian
 * smoothing; boundary vertices stay put, so the surface is kept). Tetrahedra must be positive. */
static int smooth_slivers(ctw_ctx *ctx, ctw_tetmesh *m, double min_deg, int64_t *moved)
{
	const double dmin = dot_threshold(min_deg);
	int64_t *start = ctw_calloc(ctx, (size_t)m->n_points + 1, sizeof(int64_t));
	int32_t *adj = ctw_malloc(ctx, sizeof(int32_t) * (size_t)(4 * m->n_tets + 1));
	uint8_t *fixed = ctw_calloc(ctx, (size_t)m->n_points + 1, 1);
	int64_t *fill = NULL;
	uint8_t *dirty = NULL;
	int ret = CTW_OK;

	*moved = 0;
	if (!start || !adj || !fixed || !(fill = ctw_malloc(ctx, sizeof(int64_t) * (size_t)(m->n_points + 1)))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (int64_t i = 0; i < 4 * m->n_tets; i++)
		start[m->tets[i] + 1]++;
	for (int64_t v = 0; v < m->n_points; v++)
		start[v + 1] += start[v];
	memcpy(fill, start, sizeof(int64_t) * (size_t)m->n_points);
	for (int64_t i = 0; i < 4 * m->n_tets; i++)
		adj[fill[m->tets[i]]++] = (int32_t)(i / 4);
	for (int64_t i = 0; i < 3 * m->n_tris; i++)
		fixed[m->tris[i]] = 1;
	/* dirty: tetrahedra not known to be good; one is clean after it was found good and none of
	 * its corners moved since (so every pass sees what a pass over all of them would) */
	if (!(dirty = ctw_malloc(ctx, (size_t)m->n_tets + 1))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	memset(dirty, 1, (size_t)m->n_tets + 1);
	for (int pass = 0; pass < 30; pass++) {
		int64_t changed = 0;
		for (int64_t t = 0; t < m->n_tets; t++) {
			if (!dirty[t])
				continue;
			if (tet_min_dot(m, t) >= dmin) {
				dirty[t] = 0;
				continue;
			}
			for (int k = 0; k < 4; k++) {
				int32_t v = m->tets[4 * t + k];
				double c[3] = { 0, 0, 0 }, cur[3], best_q, x[3];
				int64_t n = 0;
				if (fixed[v])
					continue;
				for (int64_t i = start[v]; i < start[v + 1]; i++)
					for (int j = 0; j < 4; j++) {
						int32_t w = m->tets[4 * adj[i] + j];
						if (w == v)
							continue;
						for (int d = 0; d < 3; d++)
							c[d] += m->xyz[3 * w + d];
						n++;
					}
				for (int d = 0; d < 3; d++)
					c[d] /= (double)n;
				memcpy(cur, m->xyz + 3 * v, sizeof(cur));
				best_q = star_quality(m, start, adj, v, cur);
				{
					int better = 0;
					for (double f = 1.0; f > 0.1 && !better; f *= 0.5) {
						double q;
						for (int d = 0; d < 3; d++)
							x[d] = cur[d] + f * (c[d] - cur[d]);
						q = star_quality(m, start, adj, v, x);
						if (q > best_q + 1e-9) {
							memcpy(m->xyz + 3 * v, x, sizeof(x));
							better = 1;
						}
					}
					/* else a pattern search along the axes, steps a fraction of the distance to
					 * the neighbours' centre */
					double step = 0;
					for (int d = 0; d < 3; d++)
						step += (c[d] - cur[d]) * (c[d] - cur[d]);
					step = fmax(sqrt(step), 1e-3);
					for (double h = 0.5 * step; !better && h > 0.02 * step; h *= 0.5)
						for (int d = 0; d < 6 && !better; d++) {
							double q;
							memcpy(x, cur, sizeof(x));
							x[d / 2] += d % 2 ? -h : h;
							q = star_quality(m, start, adj, v, x);
							if (q > best_q + 1e-9) {
								memcpy(m->xyz + 3 * v, x, sizeof(x));
								better = 1;
							}
						}
					changed += better;
					if (better)
						for (int64_t i = start[v]; i < start[v + 1]; i++)
							dirty[adj[i]] = 1;
				}
			}
		}
		*moved += changed;
		if (!changed)
			break;
	}
out:
	ctw_free(ctx, start);
	ctw_free(ctx, adj);
	ctw_free(ctx, fixed);
	ctw_free(ctx, fill);
	ctw_free(ctx, dirty);
	return ret;
}

/* The epicardial node farthest from the base, towards the apex. */
static int64_t apex_node(const ctw_tetmesh *m, const double p[3], const double n[3])
{
	int64_t best = -1;
	double lowest = INFINITY;
	for (int64_t t = 0; t < m->n_tris; t++) {
		if (m->tri_marker[t] != CTW_SURF_EPI)
			continue;
		for (int k = 0; k < 3; k++) {
			const double *x = m->xyz + 3 * m->tris[3 * t + k];
			double d[3] = { x[0] - p[0], x[1] - p[1], x[2] - p[2] }, h = dot3(d, n);
			if (h < lowest) {
				lowest = h;
				best = m->tris[3 * t + k];
			}
		}
	}
	return best;
}

/* Region tags of tetrahedra [t0, t1) and surface ids of boundary triangles [f0, f1) but the
 * base's: each is found alone, so any split over threads gives the same tags. */
typedef struct tag_part {
	ctw_tetmesh *m;
	const ctw_volume *g;
	double h;
	int biv;
	int64_t t0, t1, f0, f1;
} tag_part;

static void *tag_run(void *arg)
{
	const tag_part *w = arg;
	ctw_tetmesh *m = w->m;
	for (int64_t t = w->t0; t < w->t1; t++) {
		double c[3] = { 0, 0, 0 };
		for (int k = 0; k < 4; k++)
			for (int d = 0; d < 3; d++)
				c[d] += 0.25 * m->xyz[3 * m->tets[4 * t + k] + d];
		m->region[t] = region_at(w->g, c, w->h);
	}
	for (int64_t t = w->f0; t < w->f1; t++) {
		double c[3], n[3];
		if (m->tri_marker[t] == CTW_SURF_BASE)
			continue;
		face_geometry(m, t, c, n);
		m->tri_marker[t] = tag_at(w->g, c, n, w->h, w->biv);
	}
	return NULL;
}

/* Quality, tags, the apex, and the checks every mesh must pass. */
static int finish(ctw_ctx *ctx, ctw_mesh_result *res)
{
	ctw_tetmesh *m = res->mesh;
	int ret = ctw_mesh_quality_measure(ctx, m, &res->quality);
	if (ret)
		return ret;
	if (res->quality.n_degenerate || res->quality.n_inverted)
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "mesh",
				 "%lld degenerate and %lld inverted tetrahedra; hint: a coarser --edge-length or a smoother surface",
				 (long long)res->quality.n_degenerate, (long long)res->quality.n_inverted);
	memset(res->n_tagged, 0, sizeof(res->n_tagged));
	for (int64_t t = 0; t < m->n_tris; t++) {
		if (m->tri_marker[t] < 1 || m->tri_marker[t] > 4)
			return ctw_error(ctx, CTW_ERR_INTERNAL, "mesh", "boundary triangle %lld has no tag", (long long)t);
		res->n_tagged[m->tri_marker[t]]++;
	}
	if (!res->n_tagged[CTW_SURF_EPI])
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "mesh", "no epicardial boundary found");
	res->apex_node = dot3(res->base_normal, res->base_normal) > 0 ? apex_node(m, res->base_point, res->base_normal) : -1;
	return CTW_OK;
}

/* Topology checks on the voxels (voxelcheck.h, shared with the segment stage, which repairs
 * what they find before writing a map), whose failures the surface would only show as
 * non-manifold edges or intersections: parts of the myocardium touching only along an edge or
 * at a corner, and walls one voxel thin. CTW_ERR_EXTERNAL with the place and a hint. */
static int check_voxels(ctw_ctx *ctx, const ctw_volume *g, const uint8_t *mask)
{
	const int64_t nx = g->dim[0], ny = g->dim[1];
	ctw_voxel_topology t;
	int ret;

	if ((ret = ctw_voxel_topology_measure(ctx, g, mask, &t)))
		return ret;
	if (t.touching) {
		double x[3], y[3];
		for (int e = 0; e < 2; e++) {
			int64_t v = t.first_touch[e];
			double p[3] = { (double)(v % nx), (double)(v / nx % ny), (double)(v / (nx * ny)) };
			ctw_volume_index_to_world(g, p, e ? y : x);
		}
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "mesh",
				 "two parts of the myocardium touch only along an edge or at a "
				 "corner at (%.1f, %.1f, %.1f) mm; hint: join or separate them in "
				 "the label map, or resample finer (segment --iso)",
				 0.5 * (x[0] + y[0]), 0.5 * (x[1] + y[1]), 0.5 * (x[2] + y[2]));
	}
	if (ctw_voxel_topology_fails(&t)) {
		double p[3] = { (double)(t.first_thin % nx), (double)(t.first_thin / nx % ny), (double)(t.first_thin / (nx * ny)) }, x[3];
		ctw_volume_index_to_world(g, p, x);
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "mesh",
				 "the myocardium is one voxel thin in %lld places (%.1f %% of it), first at (%.1f, %.1f, %.1f) "
				 "mm; hint: resample finer (segment --iso) or thicken the wall (segment --min-wall)",
				 (long long)t.thin, 100.0 * (double)t.thin / (double)t.tissue, x[0], x[1], x[2]);
	}
	if (t.components > 1)
		ctw_log(ctx, CTW_LOG_WARN, "mesh", "the myocardium has %lld separate pieces; all are meshed", (long long)t.components);
	return CTW_OK;
}

int ctw_mesh_labels_check(ctw_ctx *ctx, const char *path, const ctw_labelmap *lm, const ctw_mesh_opts *o)
{
	const ctw_volume *g = lm->grid;
	const uint8_t *lab = g->data;
	const int64_t nx = g->dim[0], ny = g->dim[1], nz = g->dim[2];
	double face[3], vox, area = 0, vol = 0, ext = 0, tris, tets, e = o->edge_mm;
	int64_t n_tissue = 0;

	for (int c = 0; c < 3; c++) {
		if (!(isfinite(g->spacing[c]) && g->spacing[c] > 0 && g->spacing[c] <= 1e4) ||
		    !isfinite(g->origin[c]) || fabs(g->origin[c]) > 1e6)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "voxel size %g x %g x %g mm at origin (%g, %g, %g) mm is "
					 "absurd for a heart (voxels above 10 m or an origin beyond 1 km); hint: check the "
					 "header's pixdim and sform", g->spacing[0], g->spacing[1], g->spacing[2], g->origin[0],
					 g->origin[1], g->origin[2]);
	}
	if (lm->has_base_plane) {
		double n2 = dot3(lm->base_normal, lm->base_normal);
		if (!(isfinite(n2) && n2 > 1e-12) || !isfinite(lm->base_point[0] + lm->base_point[1] + lm->base_point[2]))
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "the base plane in the cardiotwin extension has point (%g, %g, "
					 "%g) and normal (%g, %g, %g): not a plane; hint: run segment again to find it",
					 lm->base_point[0], lm->base_point[1], lm->base_point[2], lm->base_normal[0],
					 lm->base_normal[1], lm->base_normal[2]);
	}
	face[0] = g->spacing[1] * g->spacing[2];
	face[1] = g->spacing[0] * g->spacing[2];
	face[2] = g->spacing[0] * g->spacing[1];
	vox = g->spacing[0] * g->spacing[1] * g->spacing[2];
	for (int64_t k = 0; k < nz; k++)
		for (int64_t j = 0; j < ny; j++)
			for (int64_t i = 0; i < nx; i++) {
				int64_t v = i + nx * (j + ny * k);
				if (!is_tissue(lab[v], o->biv))
					continue;
				n_tissue++;
				area += face[0] * ((i == 0 || !is_tissue(lab[v - 1], o->biv)) + (i + 1 == nx || !is_tissue(lab[v + 1], o->biv)));
				area += face[1] * ((j == 0 || !is_tissue(lab[v - nx], o->biv)) + (j + 1 == ny || !is_tissue(lab[v + nx], o->biv)));
				area += face[2] * ((k == 0 || !is_tissue(lab[v - nx * ny], o->biv)) +
						   (k + 1 == nz || !is_tissue(lab[v + nx * ny], o->biv)));
			}
	if (!n_tissue)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "no myocardium (label 2%s) in the label map; hint: check the "
				 "labels (cardiotwin info) or the --model", o->biv ? " or 103" : "");
	vol = (double)n_tissue * vox;
	for (int c = 0; c < 3; c++)
		ext = fmax(ext, (double)g->dim[c] * g->spacing[c]);
	tris = area / 1.5 / (0.433 * e * e); /* the staircase overestimates the area about 1.5 times */
	tets = vol / (0.118 * e * e * e) * 3.0; /* TetGen's quality mesh: ~3x the regular-tet count */
	if (!(cbrt(vol) >= 2 * e))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "the myocardium (%.3g mm^3, voxels %g mm) is smaller than twice "
				 "the edge length %g mm across; hint: pass a smaller --edge-length or check the voxel size",
				 vol, g->spacing[0], e);
	if (!(tris <= 2e6 && tets <= 3e7))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "meshing this map (%.3g mm across, myocardium %.3g mm^3, surface "
				 "%.3g mm^2) at the edge length %g mm would make about %.3g surface triangles and %.3g "
				 "tetrahedra (limits 2e6 and 3e7: several GB and hours); hint: pass a larger --edge-length "
				 "or check the voxel size (%g mm)", ext, vol, area, e, tris, tets, g->spacing[0]);
	return CTW_OK;
}

int ctw_mesh_labels(ctw_ctx *ctx, const ctw_labelmap *lm, const ctw_mesh_opts *o, ctw_mesh_result *res)
{
	const ctw_volume *g = lm->grid;
	const uint8_t *lab = g->data;
	const int64_t count = ctw_volume_count(g);
	const double h = fmin(g->spacing[0], fmin(g->spacing[1], g->spacing[2]));
	ctw_surface *raw = NULL, *clipped = NULL, *s = NULL;
	ctw_tetgen_opts to = o->tetgen;
	uint8_t *mask = NULL;
	double clip_point[3], *a = NULL, *bpts = NULL;
	int64_t n_tissue = 0, na = 0, nb = 0;
	int32_t *tet_of = NULL;
	double clock = now_s();
	int ret;

	memset(res, 0, sizeof(*res));
	res->voxel_mm = h;
	if (lm->has_base_plane) {
		memcpy(res->base_point, lm->base_point, sizeof(res->base_point));
		memcpy(res->base_normal, lm->base_normal, sizeof(res->base_normal));
	} else {
		ctw_log(ctx, CTW_LOG_WARN, "mesh", "the label map has no base plane (cardiotwin segment --model lv|biv "
			"finds it): the myocardium is meshed whole, without a base surface");
	}
	mask = ctw_malloc(ctx, (size_t)count);
	if (!mask)
		return CTW_ERR_NOMEM;
	for (int64_t n = 0; n < count; n++) {
		mask[n] = (uint8_t)is_tissue(lab[n], o->biv);
		n_tissue += mask[n];
	}
	if (!n_tissue) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, "mesh", "no myocardium (label 2%s) in the label map",
				o->biv ? " or 103" : "");
		goto out;
	}
	res->reference_volume_mm3 = (double)n_tissue * g->spacing[0] * g->spacing[1] * g->spacing[2];
	if ((ret = check_voxels(ctx, g, mask)))
		goto out;
	if ((ret = step_done(ctx, "voxel checks", &clock)))
		goto out;

	/* surface, clipped half a voxel inside the base so the cut runs through smooth wall */
	for (int c = 0; c < 3; c++)
		clip_point[c] = lm->base_point[c] - 0.5 * h * lm->base_normal[c];
	/* decimated before the cut: decimating the sharp rim of the cap folds triangles over */
	if ((ret = ctw_vtk_mask_surface(ctx, g, mask, o->smooth_iterations, o->passband, &raw)) ||
	    (ret = ctw_vtk_decimate(ctx, raw, o->edge_mm, &clipped)))
		goto out;
	ctw_surface_free(ctx, raw);
	raw = NULL;
	if ((ret = step_done(ctx, "surface extraction and decimation", &clock)))
		goto out;
	if (lm->has_base_plane) {
		if ((ret = ctw_vtk_clip_cap(ctx, clipped, clip_point, lm->base_normal, CTW_SURF_BASE, &s)))
			goto out;
	} else {
		s = clipped;
		clipped = NULL;
	}
	{
		int64_t flips, splits = 0, collapses = 0;
		if ((ret = ctw_surface_improve(ctx, s, 5, &flips)) ||
		    (ret = ctw_surface_remesh(ctx, s, o->edge_mm, 5, &splits, &collapses)))
			goto out;
		ctw_log(ctx, CTW_LOG_INFO, "mesh", "surface: %lld triangles, %lld edge flips, remeshed (%lld splits, %lld collapses)",
			(long long)s->n_tris, (long long)flips, (long long)splits, (long long)collapses);
	}
	if ((ret = step_done(ctx, "cut, improvement and remeshing", &clock)))
		goto out;
	if ((ret = ctw_surface_repair(ctx, s, &res->surface)) || (ret = ctw_surface_check(ctx, s, &res->surface)))
		goto out;
	if ((ret = step_done(ctx, "surface repair and checks", &clock)))
		goto out;

	/* volume mesh */
	if (to.max_volume_mm3 <= 0)
		to.max_volume_mm3 = 3.0 * o->edge_mm * o->edge_mm * o->edge_mm / (6.0 * sqrt(2.0));
	if ((ret = ctw_tetgen_mesh(ctx, s, &to, &res->mesh)))
		goto out;
	if ((ret = step_done(ctx, "TetGen", &clock)))
		goto out;
	if ((ret = orient_boundary(ctx, res->mesh, &tet_of)) ||
	    (ret = remove_boundary_slivers(ctx, res->mesh, tet_of, 5.0, &res->slivers_removed)))
		goto out;
	if ((ret = step_done(ctx, "boundary orientation and slivers", &clock)))
		goto out;
	if ((ret = smooth_slivers(ctx, res->mesh, 8.0, &res->vertices_smoothed)))
		goto out;
	if ((ret = step_done(ctx, "sliver smoothing", &clock)))
		goto out;
	res->plc = s;
	s = NULL;

	/* tags, each half of the tetrahedra and of the boundary on a thread of its own (or both on
	 * this one) */
	{
		const int64_t nt = res->mesh->n_tets, nf = res->mesh->n_tris;
		tag_part w[2] = { { res->mesh, g, h, o->biv, 0, nt / 2, 0, nf / 2 },
				  { res->mesh, g, h, o->biv, nt / 2, nt, nf / 2, nf } };
		ctw_run_workers(tag_run, w, sizeof(w[0]), 2);
	}
	if ((ret = step_done(ctx, "tags", &clock)))
		goto out;
	if ((ret = finish(ctx, res)))
		goto out;
	if ((ret = step_done(ctx, "quality", &clock)))
		goto out;
	res->volume_error = (res->quality.volume_mm3 - res->reference_volume_mm3) / res->reference_volume_mm3;

	/* fidelity: mesh boundary nodes vs the label boundary (voxel faces between tissue and the
	 * rest), both away from the base */
	a = ctw_malloc(ctx, sizeof(double) * 3 * (size_t)res->mesh->n_points);
	bpts = ctw_malloc(ctx, sizeof(double) * 3 * (size_t)(6 * n_tissue));
	if (!a || !bpts) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	{
		uint8_t *seen = ctw_calloc(ctx, (size_t)res->mesh->n_points, 1);
		if (!seen) {
			ret = CTW_ERR_NOMEM;
			goto out;
		}
		for (int64_t t = 0; t < res->mesh->n_tris; t++)
			for (int k = 0; k < 3 && res->mesh->tri_marker[t] != CTW_SURF_BASE; k++) {
				int32_t v = res->mesh->tris[3 * t + k];
				const double *x = res->mesh->xyz + 3 * v;
				double d[3] = { x[0] - clip_point[0], x[1] - clip_point[1], x[2] - clip_point[2] };
				if (seen[v] || (lm->has_base_plane && dot3(d, lm->base_normal) > -2 * h))
					continue;
				seen[v] = 1;
				memcpy(a + 3 * na++, x, 3 * sizeof(double));
			}
		ctw_free(ctx, seen);
	}
	{
		static const int step[6][3] = { { 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 }, { 0, -1, 0 }, { 0, 0, 1 }, { 0, 0, -1 } };
		for (int64_t n = 0; n < count; n++) {
			int64_t ijk[3] = { n % g->dim[0], n / g->dim[0] % g->dim[1], n / (g->dim[0] * g->dim[1]) };
			if (!mask[n])
				continue;
			for (int f = 0; f < 6; f++) {
				int64_t q[3] = { ijk[0] + step[f][0], ijk[1] + step[f][1], ijk[2] + step[f][2] };
				double mid[3] = { ijk[0] + 0.5 * step[f][0], ijk[1] + 0.5 * step[f][1], ijk[2] + 0.5 * step[f][2] }, x[3], d[3];
				if (q[0] >= 0 && q[1] >= 0 && q[2] >= 0 && q[0] < g->dim[0] && q[1] < g->dim[1] && q[2] < g->dim[2] &&
				    mask[q[0] + g->dim[0] * (q[1] + g->dim[1] * q[2])])
					continue;
				ctw_volume_index_to_world(g, mid, x);
				for (int c = 0; c < 3; c++)
					d[c] = x[c] - clip_point[c];
				if (lm->has_base_plane && dot3(d, lm->base_normal) > -2 * h)
					continue;
				memcpy(bpts + 3 * nb++, x, 3 * sizeof(double));
			}
		}
	}
	{
		double m_ab, m_ba, max_ab, max_ba;
		if ((ret = ctw_point_distance(ctx, a, na, bpts, nb, &m_ab, &max_ab)) ||
		    (ret = ctw_point_distance(ctx, bpts, nb, a, na, &m_ba, &max_ba)))
			goto out;
		res->surface_distance_mm = 0.5 * (m_ab + m_ba);
	}
	if ((ret = step_done(ctx, "surface distance", &clock)))
		goto out;
out:
	if (ret)
		ctw_mesh_result_release(ctx, res);
	ctw_free(ctx, mask);
	ctw_free(ctx, a);
	ctw_free(ctx, bpts);
	ctw_surface_free(ctx, raw);
	ctw_surface_free(ctx, clipped);
	ctw_surface_free(ctx, s);
	return ret;
}

int ctw_mesh_surface(ctw_ctx *ctx, ctw_surface *s, const int *tag_of, int n_tag_of, const ctw_mesh_opts *o,
		     ctw_mesh_result *res)
{
	ctw_tetgen_opts to = o->tetgen;
	double sum[3] = { 0, 0, 0 }, cen[3] = { 0, 0, 0 }, *ref = NULL;
	int64_t nbase = 0, ref_n = 0;
	int32_t *tet_of = NULL;
	int ret;

	memset(res, 0, sizeof(*res));
	/* real surfaces carry near-zero edges (0.3 um in the VaMPy atrium): merged at 5 % of the mean
	 * edge, they would otherwise become flat tetrahedra */
	if ((ret = ctw_surface_repair_merge(ctx, s, 0.05 * ctw_surface_mean_edge(s), &res->surface)))
		goto out;
	for (int64_t t = 0; t < s->n_tris; t++) {
		int m = s->marker[t];
		s->marker[t] = m >= 0 && m < n_tag_of && tag_of[m] ? tag_of[m] : CTW_SURF_EPI;
	}
	/* openings: ears on their rims (triangles with two boundary edges, lying in the cut plane
	 * of a clipped vessel) removed, since a cap folds over them and TetGen's facet recovery
	 * then never ends; each opening closed by a fan around its centroid, which is planar when
	 * the rim is; the fan's slivers are then remeshed with the rest */
	{
		int64_t ears = 0;
		if ((ret = ctw_surface_trim_ears(ctx, s, &ears)))
			goto out;
		if (ears)
			ctw_log(ctx, CTW_LOG_INFO, "mesh", "surface: %lld triangles with two boundary edges removed from the rims "
				"of openings", (long long)ears);
	}
	if ((ret = ctw_surface_cap_holes(ctx, s, CTW_SURF_BASE, &res->n_caps)) ||
	    (ret = ctw_surface_check(ctx, s, &res->surface)))
		goto out;
	res->reference_volume_mm3 = ctw_surface_volume(s);
	/* the reference for the surface distance: the closed input's points */
	ref_n = s->n_points;
	if (!(ref = ctw_malloc(ctx, sizeof(double) * 3 * (size_t)(ref_n ? ref_n : 1)))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	memcpy(ref, s->xyz, sizeof(double) * 3 * (size_t)ref_n);
	/* remeshed at the target edge length: real surfaces carry needles and near-zero edges
	 * (60 triangles with an angle below 5 degrees in the VaMPy atrium) that TetGen's quality
	 * refinement follows down to their own size */
	{
		int64_t splits, collapses, n0 = s->n_tris;
		if ((ret = ctw_surface_remesh(ctx, s, o->edge_mm, 10, &splits, &collapses)) ||
		    (ret = ctw_surface_repair(ctx, s, &res->surface)) || (ret = ctw_surface_check(ctx, s, &res->surface)))
			goto out;
		ctw_log(ctx, CTW_LOG_INFO, "mesh", "surface remeshed at %.3g mm: %lld -> %lld triangles (%lld splits, %lld "
			"collapses), volume %.1f -> %.1f mm3", o->edge_mm, (long long)n0, (long long)s->n_tris,
			(long long)splits, (long long)collapses, res->reference_volume_mm3, ctw_surface_volume(s));
	}
	if (to.max_volume_mm3 <= 0)
		to.max_volume_mm3 = 3.0 * o->edge_mm * o->edge_mm * o->edge_mm / (6.0 * sqrt(2.0));
	if ((ret = ctw_tetgen_mesh(ctx, s, &to, &res->mesh)) || (ret = orient_boundary(ctx, res->mesh, &tet_of)) ||
	    (ret = remove_boundary_slivers(ctx, res->mesh, tet_of, 5.0, &res->slivers_removed)) ||
	    (ret = smooth_slivers(ctx, res->mesh, 8.0, &res->vertices_smoothed)) ||
	    (ret = fill_markers(ctx, res->mesh)))
		goto out;
	for (int64_t t = 0; t < res->mesh->n_tets; t++)
		res->mesh->region[t] = 1;
	/* the base plane: through the base triangles' centroid, its normal pointing away from the
	 * mesh's centroid (a fit is not needed: it orients the apex search) */
	for (int64_t v = 0; v < res->mesh->n_points; v++)
		for (int c = 0; c < 3; c++)
			cen[c] += res->mesh->xyz[3 * v + c] / (double)res->mesh->n_points;
	for (int64_t t = 0; t < res->mesh->n_tris; t++)
		if (res->mesh->tri_marker[t] == CTW_SURF_BASE) {
			for (int k = 0; k < 3; k++)
				for (int c = 0; c < 3; c++)
					sum[c] += res->mesh->xyz[3 * res->mesh->tris[3 * t + k] + c] / 3.0;
			nbase++;
		}
	if (nbase) {
		double len = 0;
		for (int c = 0; c < 3; c++) {
			res->base_point[c] = sum[c] / (double)nbase;
			res->base_normal[c] = res->base_point[c] - cen[c];
			len += res->base_normal[c] * res->base_normal[c];
		}
		for (int c = 0; c < 3; c++)
			res->base_normal[c] /= sqrt(len);
	} else {
		res->base_normal[2] = 1.0;
		memcpy(res->base_point, cen, sizeof(cen));
	}
	if ((ret = finish(ctx, res)))
		goto out;
	res->volume_error = (res->quality.volume_mm3 - res->reference_volume_mm3) / res->reference_volume_mm3;
	{
		double m_ab, m_ba, max;
		double *bp = ctw_malloc(ctx, sizeof(double) * 3 * (size_t)res->mesh->n_points);
		int64_t nbp = 0;
		uint8_t *seen = ctw_calloc(ctx, (size_t)res->mesh->n_points, 1);
		if (!bp || !seen) {
			ctw_free(ctx, bp);
			ctw_free(ctx, seen);
			ret = CTW_ERR_NOMEM;
			goto out;
		}
		for (int64_t t = 0; t < res->mesh->n_tris; t++)
			for (int k = 0; k < 3; k++) {
				int32_t v = res->mesh->tris[3 * t + k];
				if (!seen[v]) {
					seen[v] = 1;
					memcpy(bp + 3 * nbp++, res->mesh->xyz + 3 * v, 3 * sizeof(double));
				}
			}
		ret = ctw_point_distance(ctx, bp, nbp, ref, ref_n, &m_ab, &max);
		if (!ret)
			ret = ctw_point_distance(ctx, ref, ref_n, bp, nbp, &m_ba, &max);
		res->plc = s;
		s = NULL;
		res->surface_distance_mm = 0.5 * (m_ab + m_ba);
		ctw_free(ctx, bp);
		ctw_free(ctx, seen);
	}
out:
	if (ret)
		ctw_mesh_result_release(ctx, res);
	ctw_surface_free(ctx, s);
	ctw_free(ctx, ref);
	return ret;
}

void ctw_mesh_result_release(ctw_ctx *ctx, ctw_mesh_result *res)
{
	ctw_tetmesh_free(ctx, res->mesh);
	ctw_surface_free(ctx, res->plc);
	res->mesh = NULL;
	res->plc = NULL;
}

/* TetGen's .smesh of a surface: nodes, triangles with markers, no holes, no regions. */
static int write_smesh(ctw_ctx *ctx, const ctw_surface *s, const char *path)
{
	FILE *f = fopen(path, "w");
	int ret = CTW_OK;
	if (!f)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot create: %s", strerror(errno));
	fprintf(f, "# cardiotwin: the closed surface given to TetGen (0-based)\n%lld 3 0 0\n", (long long)s->n_points);
	for (int64_t v = 0; v < s->n_points; v++)
		fprintf(f, "%lld %.17g %.17g %.17g\n", (long long)v, s->xyz[3 * v], s->xyz[3 * v + 1], s->xyz[3 * v + 2]);
	fprintf(f, "%lld 1\n", (long long)s->n_tris);
	for (int64_t t = 0; t < s->n_tris; t++)
		fprintf(f, "3 %d %d %d %d\n", s->tris[3 * t], s->tris[3 * t + 1], s->tris[3 * t + 2], s->marker[t]);
	fprintf(f, "0\n0\n");
	if (ferror(f) | fclose(f))
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno));
	return ret;
}

int ctw_mesh_write(ctw_ctx *ctx, const ctw_mesh_result *res, int keep_plc, const char *dir)
{
	const ctw_tetmesh *m = res->mesh;
	const ctw_mesh_quality *q = &res->quality;
	const char *names[] = { "apex_node" };
	char *vtu = NULL, *vtp = NULL, *txt = NULL;
	FILE *f = NULL;
	int ret;

	if ((ret = ctw_path_join(ctx, dir, "mesh.vtu", &vtu)) || (ret = ctw_path_join(ctx, dir, "surfaces.vtp", &vtp)) ||
	    (ret = ctw_path_join(ctx, dir, "quality.txt", &txt)))
		goto out;
	if (keep_plc && res->plc) {
		char *sm = NULL;
		if (!(ret = ctw_path_join(ctx, dir, "surface.smesh", &sm)))
			ret = write_smesh(ctx, res->plc, sm);
		ctw_free(ctx, sm);
		if (ret)
			goto out;
	}
	if ((ret = ctw_vtk_write_vtu(ctx, m, NULL, 0, names, &res->apex_node, 1, vtu)) ||
	    (ret = ctw_vtk_write_vtp(ctx, m->xyz, m->n_points, m->tris, m->tri_marker, m->n_tris, "surface", vtp)))
		goto out;
	f = fopen(txt, "w");
	if (!f) {
		ret = ctw_error(ctx, CTW_ERR_IO, txt, "cannot create: %s", strerror(errno));
		goto out;
	}
	fprintf(f, "points: %lld\ntetrahedra: %lld\nboundary triangles: %lld\n", (long long)q->n_points,
		(long long)q->n_tets, (long long)m->n_tris);
	fprintf(f, "boundary tags: epi %lld, lv_endo %lld, rv_endo %lld, base %lld\n", (long long)res->n_tagged[1],
		(long long)res->n_tagged[2], (long long)res->n_tagged[3], (long long)res->n_tagged[4]);
	fprintf(f, "apex node: %lld\n", (long long)res->apex_node);
	fprintf(f, "base plane: %.10g %.10g %.10g normal %.10g %.10g %.10g\n", res->base_point[0], res->base_point[1],
		res->base_point[2], res->base_normal[0], res->base_normal[1], res->base_normal[2]);
	fprintf(f, "dihedral angle min: %.4f deg\ndihedral angle median: %.4f deg\ndihedral angle max: %.4f deg\n",
		q->min_dihedral_deg, q->median_dihedral_deg, q->max_dihedral_deg);
	fprintf(f, "radius-edge max: %.4f\nradius-edge histogram (<0.7 <0.8 <1 <1.25 <1.5 <2 <3 >=3):", q->max_radius_edge);
	for (int k = 0; k < CTW_RADIUS_EDGE_BINS; k++)
		fprintf(f, " %lld", (long long)q->radius_edge_hist[k]);
	fprintf(f, "\ndegenerate tetrahedra: %lld\ninverted tetrahedra: %lld\n", (long long)q->n_degenerate,
		(long long)q->n_inverted);
	fprintf(f, "boundary slivers removed: %lld\nsliver vertices moved: %lld\n", (long long)res->slivers_removed,
		(long long)res->vertices_smoothed);
	fprintf(f, "mean edge: %.4f mm\nmesh volume: %.3f mm3\nreference volume: %.3f mm3\nvolume error: %.4f %%\n",
		q->mean_edge_mm, q->volume_mm3, res->reference_volume_mm3, 100.0 * res->volume_error);
	fprintf(f, "surface distance (symmetric mean): %.4f mm", res->surface_distance_mm);
	if (res->voxel_mm > 0)
		fprintf(f, " = %.3f voxel", res->surface_distance_mm / res->voxel_mm);
	fprintf(f, "\nsurface repair: %lld points merged, %lld degenerate, %lld duplicate and %lld non-manifold "
		   "triangles removed, %lld flipped; %d openings capped\n",
		(long long)res->surface.merged_points, (long long)res->surface.removed_degenerate,
		(long long)res->surface.removed_duplicate, (long long)res->surface.removed_nonmanifold,
		(long long)res->surface.flipped, res->n_caps);
	if (res->n_caps)
		fprintf(f, "openings: %d capped and tagged base (rim ears trimmed, each closed by a fan around its "
			   "centroid, then remeshed with the wall at the edge length: planar caps for planar rims)\n",
			res->n_caps);
	if (ferror(f))
		ret = ctw_error(ctx, CTW_ERR_IO, txt, "cannot write");
	if (fclose(f) && !ret)
		ret = ctw_error(ctx, CTW_ERR_IO, txt, "cannot write: %s", strerror(errno));
out:
	ctw_free(ctx, vtu);
	ctw_free(ctx, vtp);
	ctw_free(ctx, txt);
	return ret;
}
