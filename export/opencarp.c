/* opencarp.c: the openCARP/meshtool ASCII mesh (specs/formats.md §1): heart.pts (micrometres,
 * %.3f: 1 nm), heart.elem ("Tt a b c d tag"), heart.lon (header 2, fibre and sheet, %.6f, in
 * .elem order) and, per boundary surface present, NAME.surf ("Tr a b c", outward), NAME.surf.vtx
 * (sorted unique nodes, domain "extra") and NAME.neubc (face, owner's tag, the owner's corner off
 * the face, owner index). Indices 0-based. ASCII only: stale binary heart.bpts/.belem/.blon,
 * which openCARP would read in preference, are removed, and so are a stale heart.lon (model
 * without fibres) and the files of surfaces the model does not have. */
#include "writers_int.h"

#include <string.h>

static int write_pts(ctw_ctx *ctx, const ctw_tetmesh *m, const char *dir)
{
	ctw_out o;
	int64_t i;
	int ret = ctw_out_open(ctx, &o, dir, "heart.pts");

	if (ret != CTW_OK)
		return ret;
	ctw_out_int(&o, m->n_points);
	ctw_out_char(&o, '\n');
	for (i = 0; i < m->n_points; i++) {
		const double *p = m->xyz + 3 * i;
		ctw_out_fixed(&o, p[0] * 1000.0, 3);
		ctw_out_char(&o, ' ');
		ctw_out_fixed(&o, p[1] * 1000.0, 3);
		ctw_out_char(&o, ' ');
		ctw_out_fixed(&o, p[2] * 1000.0, 3);
		ctw_out_char(&o, '\n');
	}
	return ctw_out_close(&o, CTW_OK);
}

static int write_elem(ctw_ctx *ctx, const ctw_tetmesh *m, const char *dir)
{
	ctw_out o;
	int64_t i;
	int ret = ctw_out_open(ctx, &o, dir, "heart.elem");

	if (ret != CTW_OK)
		return ret;
	ctw_out_int(&o, m->n_tets);
	ctw_out_char(&o, '\n');
	for (i = 0; i < m->n_tets; i++) {
		const int32_t *c = m->tets + 4 * i;
		ctw_out_mem(&o, "Tt ", 3);
		for (int k = 0; k < 4; k++) {
			ctw_out_int(&o, c[k]);
			ctw_out_char(&o, ' ');
		}
		ctw_out_int(&o, m->region[i]);
		ctw_out_char(&o, '\n');
	}
	return ctw_out_close(&o, CTW_OK);
}

static int write_lon(ctw_ctx *ctx, const ctw_model *md, const char *dir)
{
	ctw_out o;
	int64_t i;
	int ret = ctw_out_open(ctx, &o, dir, "heart.lon");

	if (ret != CTW_OK)
		return ret;
	ctw_out_str(&o, "2\n");
	for (i = 0; i < md->mesh->n_tets; i++) {
		const double *f = md->fiber + 3 * i, *s = md->sheet + 3 * i;
		for (int k = 0; k < 3; k++) {
			ctw_out_fixed(&o, f[k], 6);
			ctw_out_char(&o, ' ');
		}
		for (int k = 0; k < 3; k++) {
			ctw_out_fixed(&o, s[k], 6);
			ctw_out_char(&o, k < 2 ? ' ' : '\n');
		}
	}
	return ctw_out_close(&o, CTW_OK);
}

/* NAME.surf, NAME.surf.vtx and NAME.neubc of surface id; mark: n_points bytes of scratch, zero. */
static int write_surface(ctw_ctx *ctx, const ctw_tetmesh *m, const char *dir, int id, int64_t count,
			 const int32_t *owner, const int32_t *opposite, unsigned char *mark)
{
	const char *name = ctw_surface_name(id);
	char file[64];
	ctw_out o;
	int64_t i, n_vtx = 0;
	int ret;

	snprintf(file, sizeof(file), "%s.surf", name);
	if ((ret = ctw_out_open(ctx, &o, dir, file)) != CTW_OK)
		return ret;
	ctw_out_int(&o, count);
	ctw_out_char(&o, '\n');
	for (i = 0; i < m->n_tris; i++) {
		const int32_t *v = m->tris + 3 * i;
		if (m->tri_marker[i] != id)
			continue;
		ctw_out_mem(&o, "Tr ", 3);
		ctw_out_int(&o, v[0]);
		ctw_out_char(&o, ' ');
		ctw_out_int(&o, v[1]);
		ctw_out_char(&o, ' ');
		ctw_out_int(&o, v[2]);
		ctw_out_char(&o, '\n');
		for (int k = 0; k < 3; k++) {
			n_vtx += !mark[v[k]];
			mark[v[k]] = 1;
		}
	}
	if ((ret = ctw_out_close(&o, CTW_OK)) != CTW_OK)
		goto out;

	snprintf(file, sizeof(file), "%s.surf.vtx", name);
	if ((ret = ctw_out_open(ctx, &o, dir, file)) != CTW_OK)
		goto out;
	ctw_out_int(&o, n_vtx);
	ctw_out_str(&o, "\nextra\n");
	for (i = 0; i < m->n_points; i++)
		if (mark[i]) {
			ctw_out_int(&o, i);
			ctw_out_char(&o, '\n');
		}
	if ((ret = ctw_out_close(&o, CTW_OK)) != CTW_OK)
		goto out;

	snprintf(file, sizeof(file), "%s.neubc", name);
	if ((ret = ctw_out_open(ctx, &o, dir, file)) != CTW_OK)
		goto out;
	ctw_out_printf(&o, "%lld # mesh elast %lld %lld :\n", (long long)count, (long long)m->n_tets,
		       (long long)m->n_points);
	for (i = 0; i < m->n_tris; i++) {
		const int32_t *v = m->tris + 3 * i;
		if (m->tri_marker[i] != id)
			continue;
		for (int k = 0; k < 3; k++) {
			ctw_out_int(&o, v[k]);
			ctw_out_char(&o, ' ');
		}
		ctw_out_int(&o, m->region[owner[i]]);
		ctw_out_char(&o, ' ');
		ctw_out_int(&o, opposite[i]);
		ctw_out_char(&o, ' ');
		ctw_out_int(&o, owner[i]);
		ctw_out_char(&o, '\n');
	}
	ret = ctw_out_close(&o, CTW_OK);
out:
	memset(mark, 0, (size_t)m->n_points);
	return ret;
}

int ctw_write_opencarp(ctw_ctx *ctx, const ctw_model *md, const char *dir)
{
	static const char *const stale[] = { "heart.bpts", "heart.belem", "heart.blon" };
	const ctw_tetmesh *m;
	int32_t *owner = NULL, *opposite = NULL;
	unsigned char *mark = NULL;
	int64_t count[5];
	int ret, id;
	size_t k;

	if ((ret = ctw_model_check(ctx, md, "opencarp")) != CTW_OK)
		return ret;
	m = md->mesh;
	for (k = 0; k < sizeof(stale) / sizeof(stale[0]); k++)
		if ((ret = ctw_remove_stale(ctx, dir, stale[k])) != CTW_OK)
			return ret;
	if ((ret = ctw_tetmesh_tri_owners(ctx, "opencarp", m, &owner, &opposite)) != CTW_OK)
		return ret;
	if ((ret = write_pts(ctx, m, dir)) != CTW_OK || (ret = write_elem(ctx, m, dir)) != CTW_OK)
		goto out;
	if (md->fiber)
		ret = write_lon(ctx, md, dir);
	else {
		ctw_log(ctx, CTW_LOG_WARN, "opencarp", "no fibres: heart.lon not written");
		ret = ctw_remove_stale(ctx, dir, "heart.lon");
	}
	if (ret != CTW_OK)
		goto out;
	ctw_model_surface_counts(md, count);
	if (!(mark = ctw_calloc(ctx, (size_t)m->n_points, 1))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (id = 1; id <= 4; id++) {
		if (count[id] > 0)
			ret = write_surface(ctx, m, dir, id, count[id], owner, opposite, mark);
		else {
			static const char *const ext[] = { ".surf", ".surf.vtx", ".neubc" };
			for (k = 0; k < 3 && ret == CTW_OK; k++) {
				char file[64];
				snprintf(file, sizeof(file), "%s%s", ctw_surface_name(id), ext[k]);
				ret = ctw_remove_stale(ctx, dir, file);
			}
		}
		if (ret != CTW_OK)
			goto out;
	}
out:
	ctw_free(ctx, mark);
	ctw_free(ctx, owner);
	ctw_free(ctx, opposite);
	return ret;
}
