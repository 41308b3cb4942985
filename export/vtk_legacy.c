/* vtk_legacy.c: legacy VTK 4.2 ASCII unstructured grid (specs/formats.md §2.2), heart.vtk: the
 * title line names the model and the units (mm); POINTS double (6 decimals, trailing zeros
 * dropped: 1 nm); CELLS/CELL_TYPES 10; CELL_DATA: SCALARS region int, then one FIELD FieldData
 * with fiber and sheet (3 components; not two VECTORS blocks, of which VTK 9.1 keeps only the
 * first) and every cell field; POINT_DATA: a FIELD with every point field. Fields are written
 * with 9 significant digits ("double"); fibre and sheet with 6 decimals ("float"). Array names
 * cannot hold white space in this format: it becomes '_'. Fields named "fiber" or "sheet" are
 * skipped when the model carries fibres (they would repeat them). */
#include "writers_int.h"

#include <string.h>

static void put_name(ctw_out *o, const char *name)
{
	char buf[40];
	size_t n = strlen(name), i;
	if (n > 31)
		n = 31;
	for (i = 0; i < n; i++)
		buf[i] = name[i] > ' ' && name[i] < 0x7f ? name[i] : '_';
	ctw_out_mem(o, buf, n);
}

static int skip_field(const ctw_model *md, const ctw_field *f)
{
	return md->fiber && f->loc == CTW_ON_CELLS && (!strcmp(f->name, "fiber") || !strcmp(f->name, "sheet"));
}

static void put_field(ctw_out *o, const ctw_field *f)
{
	int64_t i, n = f->n * f->n_comp;
	put_name(o, f->name);
	ctw_out_printf(o, " %d %lld double\n", f->n_comp, (long long)f->n);
	for (i = 0; i < n; i++) {
		ctw_out_sig(o, f->values[i]);
		ctw_out_char(o, (i + 1) % f->n_comp ? ' ' : '\n');
	}
}

static void put_vec(ctw_out *o, const char *name, const double *v, int64_t n)
{
	int64_t i;
	ctw_out_printf(o, "%s 3 %lld float\n", name, (long long)n);
	for (i = 0; i < n; i++) {
		ctw_out_short(o, v[3 * i], 6);
		ctw_out_char(o, ' ');
		ctw_out_short(o, v[3 * i + 1], 6);
		ctw_out_char(o, ' ');
		ctw_out_short(o, v[3 * i + 2], 6);
		ctw_out_char(o, '\n');
	}
}

int ctw_write_vtk_legacy(ctw_ctx *ctx, const ctw_model *md, const char *dir)
{
	const ctw_tetmesh *m;
	char title[256];
	ctw_out o;
	int64_t i;
	int ret, n_cell = 0, n_point = 0, k;

	if ((ret = ctw_model_check(ctx, md, "vtk")) != CTW_OK)
		return ret;
	m = md->mesh;
	for (k = 0; k < md->n_fields; k++)
		if (!skip_field(md, md->fields[k])) {
			if (md->fields[k]->loc == CTW_ON_CELLS)
				n_cell++;
			else
				n_point++;
		}
	if ((ret = ctw_out_open(ctx, &o, dir, "heart.vtk")) != CTW_OK)
		return ret;
	ctw_title_line(title, md->title, "cardiotwin model");
	ctw_out_printf(&o, "# vtk DataFile Version 4.2\n%s, units mm\nASCII\nDATASET UNSTRUCTURED_GRID\n", title);
	ctw_out_printf(&o, "POINTS %lld double\n", (long long)m->n_points);
	for (i = 0; i < m->n_points; i++) {
		const double *p = m->xyz + 3 * i;
		ctw_out_short(&o, p[0], 6);
		ctw_out_char(&o, ' ');
		ctw_out_short(&o, p[1], 6);
		ctw_out_char(&o, ' ');
		ctw_out_short(&o, p[2], 6);
		ctw_out_char(&o, '\n');
	}
	ctw_out_printf(&o, "CELLS %lld %lld\n", (long long)m->n_tets, (long long)(5 * m->n_tets));
	for (i = 0; i < m->n_tets; i++) {
		const int32_t *c = m->tets + 4 * i;
		ctw_out_char(&o, '4');
		for (k = 0; k < 4; k++) {
			ctw_out_char(&o, ' ');
			ctw_out_int(&o, c[k]);
		}
		ctw_out_char(&o, '\n');
	}
	ctw_out_printf(&o, "CELL_TYPES %lld\n", (long long)m->n_tets);
	for (i = 0; i < m->n_tets; i++)
		ctw_out_mem(&o, "10\n", 3);
	ctw_out_printf(&o, "CELL_DATA %lld\nSCALARS region int 1\nLOOKUP_TABLE default\n", (long long)m->n_tets);
	for (i = 0; i < m->n_tets; i++) {
		ctw_out_int(&o, m->region[i]);
		ctw_out_char(&o, '\n');
	}
	if (md->fiber || n_cell) {
		ctw_out_printf(&o, "FIELD FieldData %d\n", (md->fiber ? 2 : 0) + n_cell);
		if (md->fiber) {
			put_vec(&o, "fiber", md->fiber, m->n_tets);
			put_vec(&o, "sheet", md->sheet, m->n_tets);
		}
		for (k = 0; k < md->n_fields; k++)
			if (md->fields[k]->loc == CTW_ON_CELLS && !skip_field(md, md->fields[k]))
				put_field(&o, md->fields[k]);
	}
	if (n_point) {
		ctw_out_printf(&o, "POINT_DATA %lld\nFIELD FieldData %d\n", (long long)m->n_points, n_point);
		for (k = 0; k < md->n_fields; k++)
			if (md->fields[k]->loc == CTW_ON_POINTS)
				put_field(&o, md->fields[k]);
	}
	return ctw_out_close(&o, CTW_OK);
}
