/* vtk_legacy.c: legacy VTK 4.2 BINARY unstructured grid (specs/formats.md §2.2), heart.vtk: the
 * title line names the model and the units (mm); big-endian data, each array followed by a
 * newline as VTK writes it: POINTS double; CELLS (int32 4 a b c d), CELL_TYPES 10; CELL_DATA:
 * SCALARS region int, then one FIELD FieldData with fiber and sheet (3 components, double; not
 * two VECTORS blocks, of which VTK 9.1 keeps only the first) and every cell field; POINT_DATA: a
 * FIELD with every point field. Binary rather than ASCII: values are exact, the file is smaller
 * (136 MB instead of 165 MB with fibres at 1 M tetrahedra) and written ~5x faster. Array names
 * cannot hold white space in this format: it becomes '_'. Fields named "fiber" or "sheet" are
 * skipped when the model carries fibres (they would repeat them). */
#include "writers_int.h"

#include <stdint.h>
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

/* n big-endian words of `size` bytes (4 or 8), word i the low bytes of get(arg, i), then the
 * newline VTK's reader expects after binary data. */
static void put_be(ctw_out *o, int64_t n, int size, uint64_t (*get)(const void *, int64_t), const void *arg)
{
	unsigned char buf[4096];
	size_t k = 0;
	for (int64_t i = 0; i < n; i++) {
		const uint64_t u = get(arg, i);
		for (int j = 0; j < size; j++)
			buf[k++] = (unsigned char)(u >> (8 * (size - 1 - j)));
		if (k == sizeof(buf)) {
			ctw_out_mem(o, (const char *)buf, k);
			k = 0;
		}
	}
	ctw_out_mem(o, (const char *)buf, k);
	ctw_out_char(o, '\n');
}

static uint64_t double_bits(const void *arg, int64_t i) /* IEEE 754 */
{
	uint64_t u;
	memcpy(&u, (const double *)arg + i, 8);
	return u;
}

static uint64_t cell_word(const void *arg, int64_t i) /* 4 a b c d per tetrahedron */
{
	const int32_t *tets = arg;
	return (uint32_t)(i % 5 ? tets[4 * (i / 5) + i % 5 - 1] : 4);
}

static uint64_t tetra_type(const void *arg, int64_t i)
{
	(void)arg;
	(void)i;
	return 10; /* VTK_TETRA */
}

static uint64_t int_at(const void *arg, int64_t i)
{
	return (uint32_t)((const int32_t *)arg)[i];
}

static void put_doubles(ctw_out *o, const double *v, int64_t n)
{
	put_be(o, n, 8, double_bits, v);
}

static void put_field(ctw_out *o, const ctw_field *f)
{
	put_name(o, f->name);
	ctw_out_printf(o, " %d %lld double\n", f->n_comp, (long long)f->n);
	put_doubles(o, f->values, f->n * f->n_comp);
}

int ctw_write_vtk_legacy(ctw_ctx *ctx, const ctw_model *md, const char *dir)
{
	const ctw_tetmesh *m;
	char title[256];
	ctw_out o;
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
	ctw_out_printf(&o, "# vtk DataFile Version 4.2\n%s, units mm\nBINARY\nDATASET UNSTRUCTURED_GRID\n", title);
	ctw_out_printf(&o, "POINTS %lld double\n", (long long)m->n_points);
	put_doubles(&o, m->xyz, 3 * m->n_points);
	ctw_out_printf(&o, "CELLS %lld %lld\n", (long long)m->n_tets, (long long)(5 * m->n_tets));
	put_be(&o, 5 * m->n_tets, 4, cell_word, m->tets);
	ctw_out_printf(&o, "CELL_TYPES %lld\n", (long long)m->n_tets);
	put_be(&o, m->n_tets, 4, tetra_type, NULL);
	ctw_out_printf(&o, "CELL_DATA %lld\nSCALARS region int 1\nLOOKUP_TABLE default\n", (long long)m->n_tets);
	put_be(&o, m->n_tets, 4, int_at, m->region);
	if (md->fiber || n_cell) {
		ctw_out_printf(&o, "FIELD FieldData %d\n", (md->fiber ? 2 : 0) + n_cell);
		if (md->fiber) {
			ctw_out_printf(&o, "fiber 3 %lld double\n", (long long)m->n_tets);
			put_doubles(&o, md->fiber, 3 * m->n_tets);
			ctw_out_printf(&o, "sheet 3 %lld double\n", (long long)m->n_tets);
			put_doubles(&o, md->sheet, 3 * m->n_tets);
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
