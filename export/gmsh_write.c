/* gmsh_write.c: Gmsh MSH 4.1 ASCII (specs/formats.md §3), heart.msh.
 *
 * Physical names: volumes "LV" (3 1), "RV" (3 2) (other regions "region_<tag>", 3 <tag>);
 * surfaces "epi", "lv_endo", "rv_endo", "base" (2 10+id); the apex point "apex" (0 100).
 * Entities: one volume per region present (entity tag = region tag), one surface per surface id
 * present (entity tag = id), one point for the apex (tag 1), each with its physical group and no
 * bounding entities (dolfinx's gmshio drops elements whose entity has no physical group).
 * Nodes: one block on the first volume entity, tags 1..N in mesh order, coordinates in mm with
 * 6 decimals (trailing zeros dropped). Elements: a tet4 block per volume entity, a tri3 block
 * per surface entity, a point element for the apex; element tags: tetrahedron t is t+1,
 * boundary triangle i is n_tets+i+1, the apex point n_tets+n_tris+1 (unique, min 1).
 * Fibres: $ElementData "fiber" and "sheet" (3 components, time 0) with a value for EVERY
 * element, in the order of $Elements: meshio 5 ignores the element tags of $ElementData and
 * splits the values over its cell blocks by position, and fails ("Incompatible cell data")
 * unless every block is covered. A boundary triangle carries the fibre of the tetrahedron it
 * bounds, the apex point that of the first tetrahedron using the apex node (zeros if none does). Gmsh shows the two
 * sections as views; dolfinx's gmshio ignores them. */
#include "writers_int.h"

#include <float.h>
#include <string.h>

typedef struct bbox {
	double lo[3], hi[3];
} bbox;

static void bbox_init(bbox *b)
{
	for (int k = 0; k < 3; k++)
		b->lo[k] = DBL_MAX, b->hi[k] = -DBL_MAX;
}

static void bbox_add(bbox *b, const double *p)
{
	for (int k = 0; k < 3; k++) {
		if (p[k] < b->lo[k])
			b->lo[k] = p[k];
		if (p[k] > b->hi[k])
			b->hi[k] = p[k];
	}
}

static void put_bbox(ctw_out *o, const bbox *b)
{
	for (int k = 0; k < 6; k++) {
		ctw_out_short(o, k < 3 ? b->lo[k] : b->hi[k - 3], 6);
		ctw_out_char(o, ' ');
	}
}

static void put_vec(ctw_out *o, int64_t tag, const double *v)
{
	ctw_out_int(o, tag);
	for (int k = 0; k < 3; k++) {
		ctw_out_char(o, ' ');
		ctw_out_short(o, v[k], 6);
	}
	ctw_out_char(o, '\n');
}

/* Index of tag in the ascending tags[n]. */
static int region_index(const int32_t *tags, int n, int32_t tag)
{
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (tags[mid] < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* $ElementData of v (3 per tet) for every element, in the order of $Elements. */
static void put_data(ctw_out *o, const char *name, const ctw_tetmesh *m, const double *v, const int32_t *tags,
		     int n_reg, const int32_t *owner, int64_t apex_tet, int64_t n_elems)
{
	int64_t i;
	int r, id;

	ctw_out_printf(o, "$ElementData\n1\n\"%s\"\n1\n0\n3\n0\n3\n%lld\n", name, (long long)n_elems);
	for (r = 0; r < n_reg; r++)
		for (i = 0; i < m->n_tets; i++)
			if (m->region[i] == tags[r])
				put_vec(o, i + 1, v + 3 * i);
	for (id = 1; id <= 4; id++)
		for (i = 0; i < m->n_tris; i++)
			if (m->tri_marker[i] == id)
				put_vec(o, m->n_tets + i + 1, v + 3 * (int64_t)owner[i]);
	if (apex_tet >= 0)
		put_vec(o, m->n_tets + m->n_tris + 1, v + 3 * apex_tet);
	else if (apex_tet == -2) { /* an apex node no tetrahedron uses */
		static const double zero[3] = { 0, 0, 0 };
		put_vec(o, m->n_tets + m->n_tris + 1, zero);
	}
	ctw_out_str(o, "$EndElementData\n");
}

int ctw_write_gmsh(ctw_ctx *ctx, const ctw_model *md, const char *dir)
{
	const ctw_tetmesh *m;
	int32_t *tags = NULL, *owner = NULL, *opposite = NULL;
	int64_t *counts = NULL, count[5], i, n_elems, apex_tet = -1;
	bbox *rbox = NULL, sbox[5];
	int n_reg = 0, n_surf = 0, r, id, k, have_apex, ret;
	ctw_out o;

	memset(&o, 0, sizeof(o));
	if ((ret = ctw_model_check(ctx, md, "gmsh")) != CTW_OK)
		return ret;
	m = md->mesh;
	have_apex = md->apex_node >= 0;
	if ((ret = ctw_model_regions(ctx, md, &tags, &counts, &n_reg)) != CTW_OK)
		return ret;
	if (md->fiber && (ret = ctw_tetmesh_tri_owners(ctx, "gmsh", m, &owner, &opposite)) != CTW_OK)
		goto out;
	if (!(rbox = ctw_malloc(ctx, sizeof(*rbox) * (size_t)n_reg))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	ctw_model_surface_counts(md, count);
	for (id = 1; id <= 4; id++)
		n_surf += count[id] > 0;
	/* bounding boxes of the entities */
	for (r = 0; r < n_reg; r++)
		bbox_init(&rbox[r]);
	for (id = 0; id <= 4; id++)
		bbox_init(&sbox[id]);
	for (i = 0; i < m->n_tets; i++) {
		r = region_index(tags, n_reg, m->region[i]);
		for (k = 0; k < 4; k++)
			bbox_add(&rbox[r], m->xyz + 3 * m->tets[4 * i + k]);
		if (have_apex && apex_tet < 0)
			for (k = 0; k < 4; k++)
				if (m->tets[4 * i + k] == md->apex_node)
					apex_tet = i;
	}
	for (i = 0; i < m->n_tris; i++)
		for (k = 0; k < 3; k++)
			bbox_add(&sbox[m->tri_marker[i]], m->xyz + 3 * m->tris[3 * i + k]);
	n_elems = m->n_tets + m->n_tris + have_apex;

	if ((ret = ctw_out_open(ctx, &o, dir, "heart.msh")) != CTW_OK)
		goto out;
	ctw_out_str(&o, "$MeshFormat\n4.1 0 8\n$EndMeshFormat\n");
	ctw_out_printf(&o, "$PhysicalNames\n%d\n", n_reg + n_surf + have_apex);
	for (r = 0; r < n_reg; r++) {
		char name[32];
		ctw_region_name(name, tags[r]);
		ctw_out_printf(&o, "3 %d \"%s\"\n", (int)tags[r], name);
	}
	for (id = 1; id <= 4; id++)
		if (count[id])
			ctw_out_printf(&o, "2 %d \"%s\"\n", 10 + id, ctw_surface_name(id));
	if (have_apex)
		ctw_out_str(&o, "0 100 \"apex\"\n");
	ctw_out_str(&o, "$EndPhysicalNames\n");

	ctw_out_printf(&o, "$Entities\n%d 0 %d %d\n", have_apex, n_surf, n_reg);
	if (have_apex) {
		ctw_out_str(&o, "1 ");
		for (k = 0; k < 3; k++) {
			ctw_out_short(&o, m->xyz[3 * md->apex_node + k], 6);
			ctw_out_char(&o, ' ');
		}
		ctw_out_str(&o, "1 100\n");
	}
	for (id = 1; id <= 4; id++)
		if (count[id]) {
			ctw_out_printf(&o, "%d ", id);
			put_bbox(&o, &sbox[id]);
			ctw_out_printf(&o, "1 %d 0\n", 10 + id);
		}
	for (r = 0; r < n_reg; r++) {
		ctw_out_printf(&o, "%d ", (int)tags[r]);
		put_bbox(&o, &rbox[r]);
		ctw_out_printf(&o, "1 %d 0\n", (int)tags[r]);
	}
	ctw_out_str(&o, "$EndEntities\n");

	ctw_out_printf(&o, "$Nodes\n1 %lld 1 %lld\n3 %d 0 %lld\n", (long long)m->n_points, (long long)m->n_points,
		       (int)tags[0], (long long)m->n_points);
	for (i = 0; i < m->n_points; i++) {
		ctw_out_int(&o, i + 1);
		ctw_out_char(&o, '\n');
	}
	for (i = 0; i < m->n_points; i++) {
		const double *p = m->xyz + 3 * i;
		ctw_out_short(&o, p[0], 6);
		ctw_out_char(&o, ' ');
		ctw_out_short(&o, p[1], 6);
		ctw_out_char(&o, ' ');
		ctw_out_short(&o, p[2], 6);
		ctw_out_char(&o, '\n');
	}
	ctw_out_str(&o, "$EndNodes\n");

	ctw_out_printf(&o, "$Elements\n%d %lld 1 %lld\n", n_reg + n_surf + have_apex, (long long)n_elems,
		       (long long)n_elems);
	for (r = 0; r < n_reg; r++) {
		ctw_out_printf(&o, "3 %d 4 %lld\n", (int)tags[r], (long long)counts[r]);
		for (i = 0; i < m->n_tets; i++) {
			const int32_t *c = m->tets + 4 * i;
			if (m->region[i] != tags[r])
				continue;
			ctw_out_int(&o, i + 1);
			for (k = 0; k < 4; k++) {
				ctw_out_char(&o, ' ');
				ctw_out_int(&o, (int64_t)c[k] + 1);
			}
			ctw_out_char(&o, '\n');
		}
	}
	for (id = 1; id <= 4; id++) {
		if (!count[id])
			continue;
		ctw_out_printf(&o, "2 %d 2 %lld\n", id, (long long)count[id]);
		for (i = 0; i < m->n_tris; i++) {
			const int32_t *v = m->tris + 3 * i;
			if (m->tri_marker[i] != id)
				continue;
			ctw_out_int(&o, m->n_tets + i + 1);
			for (k = 0; k < 3; k++) {
				ctw_out_char(&o, ' ');
				ctw_out_int(&o, (int64_t)v[k] + 1);
			}
			ctw_out_char(&o, '\n');
		}
	}
	if (have_apex) {
		ctw_out_str(&o, "0 1 15 1\n");
		ctw_out_int(&o, m->n_tets + m->n_tris + 1);
		ctw_out_char(&o, ' ');
		ctw_out_int(&o, md->apex_node + 1);
		ctw_out_char(&o, '\n');
	}
	ctw_out_str(&o, "$EndElements\n");
	if (md->fiber) {
		put_data(&o, "fiber", m, md->fiber, tags, n_reg, owner, !have_apex ? -1 : apex_tet >= 0 ? apex_tet : -2, n_elems);
		put_data(&o, "sheet", m, md->sheet, tags, n_reg, owner, !have_apex ? -1 : apex_tet >= 0 ? apex_tet : -2, n_elems);
	}
out:
	ret = ctw_out_close(&o, ret);
	ctw_free(ctx, tags);
	ctw_free(ctx, counts);
	ctw_free(ctx, owner);
	ctw_free(ctx, opposite);
	ctw_free(ctx, rbox);
	return ret;
}
