/* febio.c: FEBio 4.0 input (specs/formats.md §4), heart.feb, written with stdio in the 4.0
 * section order: Module (first), Control, Material, Mesh (Nodes; one Elements type="tet4" block
 * per region named LV, RV or region_<tag>; a Surface of tri3 facets, outward, per surface id;
 * NodeSet base_nodes), MeshDomains (a SolidDomain per region), MeshData (mat_axis ElementData per
 * region: a = fibre, d = sheet, lid 1-based within the set; only with fibres), Boundary
 * (fix_base on base_nodes, only when the model has a base). Node ids are the mesh order + 1;
 * element ids run 1..n_tets block by block (regions ascending, mesh order within a region), so
 * they increase across the file. FEBio 4 rejects unknown attributes: the title and the
 * provenance pointer go into XML comments. The material is a placeholder (said in a comment).
 * Coordinates in mm and vectors with 6 decimals, trailing zeros dropped. */
#include "writers_int.h"

#include <string.h>

static void put3(ctw_out *o, const double *v)
{
	ctw_out_short(o, v[0], 6);
	ctw_out_char(o, ',');
	ctw_out_short(o, v[1], 6);
	ctw_out_char(o, ',');
	ctw_out_short(o, v[2], 6);
}

int ctw_write_febio(ctw_ctx *ctx, const ctw_model *md, const char *dir)
{
	const ctw_tetmesh *m;
	int32_t *tags = NULL;
	int64_t *counts = NULL, count[5], i, id_next = 1;
	unsigned char *mark = NULL;
	char title[256], name[32];
	int n_reg = 0, r, id, k, ret;
	ctw_out o;

	memset(&o, 0, sizeof(o));
	if ((ret = ctw_model_check(ctx, md, "febio")) != CTW_OK)
		return ret;
	m = md->mesh;
	if ((ret = ctw_model_regions(ctx, md, &tags, &counts, &n_reg)) != CTW_OK)
		return ret;
	ctw_model_surface_counts(md, count);
	if (count[CTW_SURF_BASE] && !(mark = ctw_calloc(ctx, (size_t)m->n_points, 1))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	if ((ret = ctw_out_open(ctx, &o, dir, "heart.feb")) != CTW_OK)
		goto out;
	ctw_title_line(title, md->title, "cardiotwin model");
	ctw_out_str(&o, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n");
	ctw_out_printf(&o, "<!-- %s: written by cardiotwin %s; units mm; provenance: see provenance.xml -->\n", title,
		       CTW_VERSION);
	ctw_out_str(&o, "<febio_spec version=\"4.0\">\n"
			"  <Module type=\"solid\"/>\n"
			"  <Control>\n"
			"    <analysis>STATIC</analysis>\n"
			"    <time_steps>1</time_steps>\n"
			"    <step_size>1</step_size>\n"
			"    <solver type=\"solid\">\n"
			"      <symmetric_stiffness>symmetric</symmetric_stiffness>\n"
			"    </solver>\n"
			"  </Control>\n"
			"  <Material>\n"
			"    <!-- placeholder: an isotropic neo-Hookean solid so that the file runs; replace it with a\n"
			"         myocardial law (e.g. Holzapfel-Ogden) that uses the mat_axis fibres below -->\n"
			"    <material id=\"1\" name=\"myocardium\" type=\"neo-Hookean\">\n"
			"      <density>1</density>\n"
			"      <E>10</E>\n"
			"      <v>0.45</v>\n"
			"    </material>\n"
			"  </Material>\n"
			"  <Mesh>\n"
			"    <Nodes name=\"heart\">\n");
	for (i = 0; i < m->n_points; i++) {
		ctw_out_str(&o, "      <node id=\"");
		ctw_out_int(&o, i + 1);
		ctw_out_str(&o, "\">");
		put3(&o, m->xyz + 3 * i);
		ctw_out_str(&o, "</node>\n");
	}
	ctw_out_str(&o, "    </Nodes>\n");
	for (r = 0; r < n_reg; r++) {
		ctw_region_name(name, tags[r]);
		ctw_out_printf(&o, "    <Elements type=\"tet4\" name=\"%s\">\n", name);
		for (i = 0; i < m->n_tets; i++) {
			const int32_t *c = m->tets + 4 * i;
			if (m->region[i] != tags[r])
				continue;
			ctw_out_str(&o, "      <elem id=\"");
			ctw_out_int(&o, id_next++);
			ctw_out_str(&o, "\">");
			for (k = 0; k < 4; k++) {
				if (k)
					ctw_out_char(&o, ',');
				ctw_out_int(&o, (int64_t)c[k] + 1);
			}
			ctw_out_str(&o, "</elem>\n");
		}
		ctw_out_str(&o, "    </Elements>\n");
	}
	for (id = 1; id <= 4; id++) {
		int64_t j = 1;
		if (!count[id])
			continue;
		ctw_out_printf(&o, "    <Surface name=\"%s\">\n", ctw_surface_name(id));
		for (i = 0; i < m->n_tris; i++) {
			const int32_t *v = m->tris + 3 * i;
			if (m->tri_marker[i] != id)
				continue;
			ctw_out_str(&o, "      <tri3 id=\"");
			ctw_out_int(&o, j++);
			ctw_out_str(&o, "\">");
			for (k = 0; k < 3; k++) {
				if (k)
					ctw_out_char(&o, ',');
				ctw_out_int(&o, (int64_t)v[k] + 1);
				if (mark && id == CTW_SURF_BASE)
					mark[v[k]] = 1;
			}
			ctw_out_str(&o, "</tri3>\n");
		}
		ctw_out_str(&o, "    </Surface>\n");
	}
	if (mark) {
		int first = 1;
		ctw_out_str(&o, "    <NodeSet name=\"base_nodes\">");
		for (i = 0; i < m->n_points; i++)
			if (mark[i]) {
				if (!first)
					ctw_out_char(&o, ',');
				first = 0;
				ctw_out_int(&o, i + 1);
			}
		ctw_out_str(&o, "</NodeSet>\n");
	}
	ctw_out_str(&o, "  </Mesh>\n  <MeshDomains>\n");
	for (r = 0; r < n_reg; r++) {
		ctw_region_name(name, tags[r]);
		ctw_out_printf(&o, "    <SolidDomain name=\"%s\" mat=\"myocardium\"/>\n", name);
	}
	ctw_out_str(&o, "  </MeshDomains>\n");
	if (md->fiber) {
		ctw_out_str(&o, "  <MeshData>\n");
		for (r = 0; r < n_reg; r++) {
			int64_t lid = 1;
			ctw_region_name(name, tags[r]);
			ctw_out_printf(&o, "    <ElementData type=\"mat_axis\" elem_set=\"%s\">\n", name);
			for (i = 0; i < m->n_tets; i++) {
				if (m->region[i] != tags[r])
					continue;
				ctw_out_str(&o, "      <elem lid=\"");
				ctw_out_int(&o, lid++);
				ctw_out_str(&o, "\"><a>");
				put3(&o, md->fiber + 3 * i);
				ctw_out_str(&o, "</a><d>");
				put3(&o, md->sheet + 3 * i);
				ctw_out_str(&o, "</d></elem>\n");
			}
			ctw_out_str(&o, "    </ElementData>\n");
		}
		ctw_out_str(&o, "  </MeshData>\n");
	}
	if (mark)
		ctw_out_str(&o, "  <Boundary>\n"
				"    <bc name=\"fix_base\" node_set=\"base_nodes\" type=\"zero displacement\">\n"
				"      <x_dof>1</x_dof>\n"
				"      <y_dof>1</y_dof>\n"
				"      <z_dof>1</z_dof>\n"
				"    </bc>\n"
				"  </Boundary>\n");
	ctw_out_str(&o, "</febio_spec>\n");
out:
	ret = ctw_out_close(&o, ret);
	ctw_free(ctx, tags);
	ctw_free(ctx, counts);
	ctw_free(ctx, mark);
	return ret;
}
