/* tetgen_write.c: TetGen/Chaste files (specs/formats.md §5 item 7), 0-based (TetGen and
 * Chaste take the first index, 0 or 1, as the base): heart.node ("N 3 0 0", then "i x y z", mm,
 * 6 decimals, trailing zeros dropped), heart.ele ("M 4 1", then "i a b c d region"), heart.face
 * ("K 1", then "i a b c surface_id", outward), each with a first '#' comment line naming the
 * model; and, with fibres, heart.ortho, Chaste's orthotropic fibre file read by the mesh base
 * name: the element count, then per element "fx fy fz sx sy sz nx ny nz" with n = f x s (no
 * comment: Chaste's fibre reader is stricter). A stale heart.ortho is removed when the model has
 * no fibres. Chaste's units are set in its XML (<Mesh unit="mm">; cardiac default is cm). */
#include "writers_int.h"

static void put_xyz(ctw_out *o, const double *p)
{
	for (int k = 0; k < 3; k++) {
		ctw_out_char(o, ' ');
		ctw_out_short(o, p[k], 6);
	}
}

int ctw_write_tetgen(ctw_ctx *ctx, const ctw_model *md, const char *dir)
{
	const ctw_tetmesh *m;
	char title[256];
	ctw_out o;
	int64_t i;
	int k, ret;

	if ((ret = ctw_model_check(ctx, md, "tetgen")) != CTW_OK)
		return ret;
	m = md->mesh;
	ctw_title_line(title, md->title, "cardiotwin model");

	if ((ret = ctw_out_open(ctx, &o, dir, "heart.node")) != CTW_OK)
		return ret;
	ctw_out_printf(&o, "# %s: nodes (mm), 0-based, written by cardiotwin %s\n%lld 3 0 0\n", title, CTW_VERSION,
		       (long long)m->n_points);
	for (i = 0; i < m->n_points; i++) {
		ctw_out_int(&o, i);
		put_xyz(&o, m->xyz + 3 * i);
		ctw_out_char(&o, '\n');
	}
	if ((ret = ctw_out_close(&o, CTW_OK)) != CTW_OK)
		return ret;

	if ((ret = ctw_out_open(ctx, &o, dir, "heart.ele")) != CTW_OK)
		return ret;
	ctw_out_printf(&o, "# %s: tetrahedra, 0-based, attribute = region (1 LV, 2 RV)\n%lld 4 1\n", title,
		       (long long)m->n_tets);
	for (i = 0; i < m->n_tets; i++) {
		ctw_out_int(&o, i);
		for (k = 0; k < 4; k++) {
			ctw_out_char(&o, ' ');
			ctw_out_int(&o, m->tets[4 * i + k]);
		}
		ctw_out_char(&o, ' ');
		ctw_out_int(&o, m->region[i]);
		ctw_out_char(&o, '\n');
	}
	if ((ret = ctw_out_close(&o, CTW_OK)) != CTW_OK)
		return ret;

	if ((ret = ctw_out_open(ctx, &o, dir, "heart.face")) != CTW_OK)
		return ret;
	ctw_out_printf(&o,
		       "# %s: boundary faces, 0-based, outward, marker = surface (1 epi, 2 lv_endo, 3 rv_endo, "
		       "4 base)\n%lld 1\n",
		       title, (long long)m->n_tris);
	for (i = 0; i < m->n_tris; i++) {
		ctw_out_int(&o, i);
		for (k = 0; k < 3; k++) {
			ctw_out_char(&o, ' ');
			ctw_out_int(&o, m->tris[3 * i + k]);
		}
		ctw_out_char(&o, ' ');
		ctw_out_int(&o, m->tri_marker[i]);
		ctw_out_char(&o, '\n');
	}
	if ((ret = ctw_out_close(&o, CTW_OK)) != CTW_OK)
		return ret;

	if (!md->fiber)
		return ctw_remove_stale(ctx, dir, "heart.ortho");
	if ((ret = ctw_out_open(ctx, &o, dir, "heart.ortho")) != CTW_OK)
		return ret;
	ctw_out_int(&o, m->n_tets);
	ctw_out_char(&o, '\n');
	for (i = 0; i < m->n_tets; i++) {
		const double *f = md->fiber + 3 * i, *s = md->sheet + 3 * i;
		double n[3] = { f[1] * s[2] - f[2] * s[1], f[2] * s[0] - f[0] * s[2], f[0] * s[1] - f[1] * s[0] };
		for (k = 0; k < 9; k++) {
			ctw_out_short(&o, k < 3 ? f[k] : k < 6 ? s[k - 3] : n[k - 6], 6);
			ctw_out_char(&o, k < 8 ? ' ' : '\n');
		}
	}
	return ctw_out_close(&o, CTW_OK);
}
