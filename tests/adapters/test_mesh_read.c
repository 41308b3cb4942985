/* test_mesh_read.c: reading meshes back (mesh_read.c, gmsh.c, meshio_vtk.cxx). A mesh directory
 * written by the VTK adapter reads back exactly (points, tets, tags, markers, apex, double
 * fields); the ldrb reference mesh (Gmsh 4.1 ASCII) matches its facets file (per-tag triangle
 * counts, read independently by VTK's Python reader when available) and its fibres VTU (points
 * and tetrahedra in the same order); a gmsh-made binary MSH reads like its ASCII original, and
 * hand-written binary files read the same in both byte orders; bad files give the right code with
 * the file named, without leaks (counting allocator), huge allocations or crashes. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../unit/shared_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctw.h"
#include "mesh.h"

#define LDRB CTW_SHARED_DATA "/ldrb_reference"

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char buf[8][320];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ctw_meshread_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- a counting allocator: live blocks, largest request, fault injection ----------------------- */

typedef struct counting {
	long calls, fail_at, live;
	size_t largest;
	ctw_ctx *ctx; /* NULL: slot free */
} counting;

static counting pool[8];

static void *c_malloc(void *ud, size_t n)
{
	counting *c = ud;
	void *p;
	if (++c->calls == c->fail_at)
		return NULL;
	c->largest = n > c->largest ? n : c->largest;
	p = malloc(n ? n : 1);
	c->live += p != NULL;
	return p;
}

static void *c_realloc(void *ud, void *p, size_t n)
{
	counting *c = ud;
	void *q;
	if (++c->calls == c->fail_at)
		return NULL;
	c->largest = n > c->largest ? n : c->largest;
	q = realloc(p, n ? n : 1);
	c->live += q && !p;
	return q;
}

static void c_free(void *ud, void *p)
{
	counting *c = ud;
	c->live -= p != NULL;
	free(p);
}

static counting *cnt_of(const ctw_ctx *ctx)
{
	for (int i = 0; i < 8; i++)
		if (pool[i].ctx == ctx)
			return &pool[i];
	fail_msg("unknown context");
	return NULL;
}

static char logbuf[8192];

static void log_fn(void *ud, ctw_log_level lvl, const char *domain, const char *msg)
{
	size_t n = strlen(logbuf);
	(void)ud;
	(void)lvl;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s: %s\n", domain, msg);
}

static ctw_ctx *new_ctx(long fail_at)
{
	counting *c = cnt_of(NULL);
	ctw_allocator a = { c_malloc, c_realloc, c_free, c };
	ctw_ctx *ctx;
	memset(c, 0, sizeof(*c));
	c->fail_at = fail_at;
	ctx = ctw_ctx_new_with(&a);
	assert_non_null(ctx);
	c->ctx = ctx;
	logbuf[0] = 0;
	ctw_ctx_set_log(ctx, log_fn, NULL, CTW_LOG_DEBUG);
	return ctx;
}

/* Frees ctx and checks that nothing allocated through it is left. */
static void end_ctx(ctw_ctx *ctx)
{
	counting *c = cnt_of(ctx);
	ctw_ctx_free(ctx);
	c->ctx = NULL;
	assert_int_equal(c->live, 0);
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long len;
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	b = malloc((size_t)len + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	b[len] = 0;
	*n = (size_t)len;
	return b;
}

/* Reading path fails with code, naming the file (and `also` when given), leaking nothing. */
static void expect_fail(const char *path, int code, const char *named, const char *also)
{
	ctw_ctx *ctx = new_ctx(0);
	ctw_mesh_in in;
	int ret = ctw_mesh_read(ctx, path, &in);
	print_message("%s -> %s: %s\n", path, ctw_status_name(ret), ctw_errmsg(ctx));
	assert_int_equal(ret, code);
	assert_null(in.mesh);
	assert_int_equal(in.n_fields, 0);
	assert_non_null(strstr(ctw_errmsg(ctx), named ? named : path));
	if (also)
		assert_non_null(strstr(ctw_errmsg(ctx), also));
	assert_true(cnt_of(ctx)->largest < (1u << 24)); /* no allocation from a lying count */
	end_ctx(ctx);
}

/* ---- a small mesh: 2 cubes (Kuhn, 6 tets each), tags 1 and 2, irrational coordinates ---------- */

static ctw_tetmesh *two_cubes(ctw_ctx *ctx)
{
	static const int perm[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	static const int32_t tris[6][3] = { { 0, 1, 3 }, { 0, 3, 2 }, { 4, 5, 7 }, { 1, 7, 5 }, { 8, 10, 11 }, { 2, 6, 10 } };
	static const int32_t marks[6] = { CTW_SURF_EPI, CTW_SURF_LV_ENDO, CTW_SURF_RV_ENDO, CTW_SURF_BASE, 0, CTW_SURF_BASE };
	ctw_tetmesh *m;
	assert_int_equal(ctw_tetmesh_new(ctx, 12, 12, 6, &m), CTW_OK);
	/* point (i, j, k), i in 0..2 fastest: index i + 3 j + 6 k */
	for (int k = 0; k < 2; k++)
		for (int j = 0; j < 2; j++)
			for (int i = 0; i < 3; i++) {
				double *p = m->xyz + 3 * (i + 3 * j + 6 * k);
				p[0] = i / 3.0 + sin(i + j + k) * 1e-3;
				p[1] = j * 2.0 / 7.0 - 1e-17;
				p[2] = k * exp(1.0) + 1e10 * (i == 2);
			}
	for (int c = 0; c < 2; c++)
		for (int t = 0; t < 6; t++) {
			int pos[3] = { c, 0, 0 };
			int32_t *q = m->tets + 4 * (6 * c + t);
			q[0] = pos[0] + 3 * pos[1] + 6 * pos[2];
			for (int s = 0; s < 3; s++) {
				pos[perm[t][s]]++;
				q[s + 1] = pos[0] + 3 * pos[1] + 6 * pos[2];
			}
			m->region[6 * c + t] = c + 1;
		}
	memcpy(m->tris, tris, sizeof(tris));
	memcpy(m->tri_marker, marks, sizeof(marks));
	return m;
}

static ctw_field *field(ctw_ctx *ctx, const char *name, ctw_field_loc loc, int nc, int64_t n, double seed)
{
	ctw_field *f;
	assert_int_equal(ctw_field_new(ctx, name, loc, nc, n, &f), CTW_OK);
	for (int64_t i = 0; i < n * nc; i++)
		f->values[i] = sin(seed * (double)(i + 1)) / 3.0 + (i % 5 == 0 ? 1e-300 : 0.0);
	return f;
}

/* Writes m (with fields and apex) as DIR/mesh.vtu and DIR/surfaces.vtp as ctw_mesh_write does. */
static void write_dir(ctw_ctx *ctx, const char *dir, const ctw_tetmesh *m, const ctw_field *const *f, int nf,
		      int64_t apex, int64_t vtp_points)
{
	const char *names[] = { "apex_node" };
	char vtu[320], vtp[320];
	mkdir(dir, 0777);
	snprintf(vtu, sizeof(vtu), "%s/mesh.vtu", dir);
	snprintf(vtp, sizeof(vtp), "%s/surfaces.vtp", dir);
	assert_int_equal(ctw_vtk_write_vtu(ctx, m, f, nf, names, &apex, 1, vtu), CTW_OK);
	assert_int_equal(ctw_vtk_write_vtp(ctx, m->xyz, vtp_points, m->tris, m->tri_marker, m->n_tris, "surface", vtp),
			 CTW_OK);
}

static void test_mesh_read_roundtrip(void **state)
{
	ctw_ctx *ctx = new_ctx(0);
	ctw_tetmesh *m = two_cubes(ctx);
	ctw_field *f[3] = { field(ctx, "phi_epi", CTW_ON_POINTS, 1, 12, 1.0), field(ctx, "fiber", CTW_ON_CELLS, 3, 12, 2.0),
			    field(ctx, "a_name_of_exactly_31_bytes_xxxx", CTW_ON_POINTS, 2, 12, 3.0) };
	const char *dir = tmp_path("roundtrip");
	ctw_mesh_in in;
	(void)state;

	assert_int_equal(strlen(f[2]->name), 31);
	write_dir(ctx, dir, m, (const ctw_field *const *)f, 3, 5, m->n_points);
	assert_int_equal(ctw_mesh_read(ctx, dir, &in), CTW_OK);
	assert_non_null(in.mesh);
	assert_int_equal(in.mesh->n_points, 12);
	assert_int_equal(in.mesh->n_tets, 12);
	assert_int_equal(in.mesh->n_tris, 6);
	assert_memory_equal(in.mesh->xyz, m->xyz, sizeof(double) * 36);
	assert_memory_equal(in.mesh->tets, m->tets, sizeof(int32_t) * 48);
	assert_memory_equal(in.mesh->region, m->region, sizeof(int32_t) * 12);
	assert_memory_equal(in.mesh->tris, m->tris, sizeof(int32_t) * 18);
	assert_memory_equal(in.mesh->tri_marker, m->tri_marker, sizeof(int32_t) * 6);
	assert_int_equal(in.apex_node, 5);
	assert_int_equal(in.n_fields, 3);
	for (int i = 0; i < 3; i++) {
		const ctw_field *g = ctw_mesh_in_field(&in, f[i]->name);
		assert_non_null(g);
		assert_int_equal(g->loc, f[i]->loc);
		assert_int_equal(g->n_comp, f[i]->n_comp);
		assert_int_equal(g->n, f[i]->n);
		assert_memory_equal(g->values, f[i]->values, sizeof(double) * (size_t)(g->n * g->n_comp));
	}
	assert_null(ctw_mesh_in_field(&in, "tag"));
	assert_null(ctw_mesh_in_field(&in, "nope"));
	ctw_mesh_in_release(ctx, &in);
	assert_null(in.mesh);
	assert_null(ctw_mesh_in_field(&in, "fiber"));

	/* no apex in the file -> -1; the VTU alone reads with no triangles */
	assert_int_equal(ctw_vtk_write_vtu(ctx, m, NULL, 0, NULL, NULL, 0, tmp_path("roundtrip/mesh.vtu")), CTW_OK);
	assert_int_equal(ctw_mesh_read(ctx, dir, &in), CTW_OK);
	assert_int_equal(in.apex_node, -1);
	assert_int_equal(in.n_fields, 0);
	assert_int_equal(in.mesh->n_tris, 6);
	ctw_mesh_in_release(ctx, &in);

	/* every allocation failure of a directory read: CTW_ERR_NOMEM, nothing leaked */
	write_dir(ctx, dir, m, (const ctw_field *const *)f, 3, 5, m->n_points);
	for (int i = 0; i < 3; i++)
		ctw_field_free(ctx, f[i]);
	ctw_tetmesh_free(ctx, m);
	end_ctx(ctx);
	for (long k = 2;; k++) {
		ctx = new_ctx(k);
		int ret = ctw_mesh_read(ctx, dir, &in);
		if (ret == CTW_OK)
			ctw_mesh_in_release(ctx, &in);
		else
			assert_int_equal(ret, CTW_ERR_NOMEM);
		end_ctx(ctx);
		if (ret == CTW_OK) {
			assert_true(k > 10);
			break;
		}
	}
}

/* The C writer (meshing/vtk_write.c) against VTK's reader: a mesh whose arrays span several
 * compression windows and end in partial blocks, zlib and raw, bit for bit; faults. */
static void test_mesh_write_large(void **state)
{
	ctw_ctx *ctx = new_ctx(0);
	const int64_t np = 200003, nt = 700001; /* connectivity 11.2 MB: 342 blocks, 2 windows */
	ctw_tetmesh *m = NULL;
	ctw_field *f[2] = { NULL, NULL };
	uint64_t r = 88172645463325252ull;
	const char *dir = tmp_path("large");
	(void)state;

	assert_int_equal(ctw_tetmesh_new(ctx, np, nt, 0, &m), CTW_OK);
	assert_int_equal(ctw_field_new(ctx, "fiber", CTW_ON_CELLS, 3, nt, &f[0]), CTW_OK);
	assert_int_equal(ctw_field_new(ctx, "phi", CTW_ON_POINTS, 1, np, &f[1]), CTW_OK);
	for (int64_t i = 0; i < 3 * np; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17; /* xorshift: data that barely compresses */
		m->xyz[i] = (double)(r >> 11) * 0x1p-53 * 100.0;
	}
	for (int64_t t = 0; t < nt; t++) {
		for (int k = 0; k < 4; k++)
			m->tets[4 * t + k] = (int32_t)((t * 7 + k * 13) % np);
		m->region[t] = 1 + (int32_t)(t % 2);
	}
	for (int64_t i = 0; i < 3 * nt; i++)
		f[0]->values[i] = sin((double)i);
	for (int64_t i = 0; i < np; i++)
		f[1]->values[i] = (double)i / (double)np;
	for (int z = 1; z >= 0; z--) {
		ctw_mesh_in in;
		char *head;
		size_t len;
		ctw_vtk_set_compression(z);
		write_dir(ctx, dir, m, (const ctw_field *const *)f, 2, 17, m->n_points);
		head = slurp(tmp_path("large/mesh.vtu"), &len);
		assert_true(z ? len < 60000000 : len > 8 * (size_t)(3 * np + 3 * nt + np) + 21 * (size_t)nt);
		assert_true((strstr(head, "vtkZLibDataCompressor") != NULL) == z);
		free(head);
		assert_int_equal(ctw_mesh_read(ctx, dir, &in), CTW_OK);
		assert_int_equal(in.mesh->n_points, np);
		assert_int_equal(in.mesh->n_tets, nt);
		assert_memory_equal(in.mesh->xyz, m->xyz, sizeof(double) * 3 * (size_t)np);
		assert_memory_equal(in.mesh->tets, m->tets, sizeof(int32_t) * 4 * (size_t)nt);
		assert_memory_equal(in.mesh->region, m->region, sizeof(int32_t) * (size_t)nt);
		assert_int_equal(in.apex_node, 17);
		for (int i = 0; i < 2; i++) {
			const ctw_field *g = ctw_mesh_in_field(&in, f[i]->name);
			assert_non_null(g);
			assert_int_equal(g->n_comp, f[i]->n_comp);
			assert_memory_equal(g->values, f[i]->values, sizeof(double) * (size_t)(g->n * g->n_comp));
		}
		ctw_mesh_in_release(ctx, &in);
		{ /* the C reader (vtk_read.c) took the file, and VTK's reader agrees with it */
			ctw_mesh_in c, v;
			int handled = 0;
			assert_int_equal(ctw_vtu_read(ctx, tmp_path("large/mesh.vtu"), &c, &handled), CTW_OK);
			assert_int_equal(handled, 1);
			assert_int_equal(ctw_vtk_read_vtu(ctx, tmp_path("large/mesh.vtu"), &v), CTW_OK);
			assert_memory_equal(c.mesh->xyz, v.mesh->xyz, sizeof(double) * 3 * (size_t)np);
			assert_memory_equal(c.mesh->tets, v.mesh->tets, sizeof(int32_t) * 4 * (size_t)nt);
			assert_memory_equal(c.mesh->region, v.mesh->region, sizeof(int32_t) * (size_t)nt);
			assert_int_equal(c.n_fields, v.n_fields);
			assert_int_equal(c.apex_node, v.apex_node);
			ctw_mesh_in_release(ctx, &c);
			ctw_mesh_in_release(ctx, &v);
		}
	}
	ctw_vtk_set_compression(1);

	/* a device that is full: CTW_ERR_IO naming it, and the device is left alone */
	assert_int_equal(ctw_vtk_write_vtu(ctx, m, NULL, 0, NULL, NULL, 0, "/dev/full"), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), "/dev/full"));
	assert_int_equal(access("/dev/full", F_OK), 0);
	for (int i = 0; i < 2; i++)
		ctw_field_free(ctx, f[i]);
	ctw_tetmesh_free(ctx, m);
	end_ctx(ctx);

	/* every allocation failure while writing: CTW_ERR_NOMEM, no file, nothing leaked */
	for (long k = 2;; k++) {
		const char *vtu = tmp_path("small.vtu"), *vtp = tmp_path("small.vtp");
		int ret;
		ctx = new_ctx(0);
		m = two_cubes(ctx);
		cnt_of(ctx)->fail_at = cnt_of(ctx)->calls + k;
		unlink(vtu);
		unlink(vtp);
		ret = ctw_vtk_write_vtu(ctx, m, NULL, 0, NULL, NULL, 0, vtu);
		if (ret == CTW_OK)
			ret = ctw_vtk_write_vtp(ctx, m->xyz, m->n_points, m->tris, m->tri_marker, m->n_tris, "surface", vtp);
		else
			assert_int_equal(access(vtu, F_OK), -1);
		cnt_of(ctx)->fail_at = 0;
		ctw_tetmesh_free(ctx, m);
		end_ctx(ctx);
		if (ret == CTW_OK) {
			assert_true(k > 8);
			break;
		}
		assert_int_equal(ret, CTW_ERR_NOMEM);
		assert_true(k < 100);
	}
}

/* The C reader on damaged files: every truncation and many byte changes of a small VTU and VTP
 * (zlib and raw) give the same mesh as the intact file or CTW_ERR_FORMAT naming the file, never
 * a crash or a read outside the file (the sanitizer build checks the latter); layouts it does not
 * take (inline data, base64, big-endian, other cells) are handed to VTK (handled = 0). */
static void test_mesh_read_c_reader_damaged(void **state)
{
	ctw_ctx *ctx = new_ctx(0);
	ctw_tetmesh *m = two_cubes(ctx);
	ctw_field *f[1] = { field(ctx, "fiber", CTW_ON_CELLS, 3, 12, 2.0) };
	const char *dir = tmp_path("damaged"), *bad = tmp_path("damaged/bad.vtu"), *badp = tmp_path("damaged/bad.vtp");
	long n_ok = 0, n_err = 0;
	(void)state;
	for (int z = 0; z < 2; z++) {
		size_t len, lenp;
		char *good, *goodp, *buf;
		ctw_vtk_set_compression(z);
		write_dir(ctx, dir, m, (const ctw_field *const *)f, 1, 5, m->n_points);
		good = slurp(tmp_path("damaged/mesh.vtu"), &len);
		goodp = slurp(tmp_path("damaged/surfaces.vtp"), &lenp);
		buf = malloc(len > lenp ? len : lenp);
		assert_non_null(buf);
		for (size_t cut = 0; cut <= len + lenp; cut++) {
			const int vtp = cut > len;
			const size_t n = vtp ? cut - len - 1 : cut;
			ctw_mesh_in in;
			int handled = -1, ret;
			memcpy(buf, vtp ? goodp : good, n);
			write_file(vtp ? badp : bad, buf, n);
			if (vtp) {
				int32_t *tris = NULL, *mk = NULL;
				int64_t ntr = 0;
				ret = ctw_vtp_read_tris(ctx, badp, "surface", m->n_points, &tris, &mk, &ntr, &handled);
				if (ret == CTW_OK && handled) {
					assert_int_equal(ntr, m->n_tris);
					assert_memory_equal(tris, m->tris, sizeof(int32_t) * 18);
				}
				ctw_free(ctx, tris);
				ctw_free(ctx, mk);
			} else {
				ret = ctw_vtu_read(ctx, bad, &in, &handled);
				if (ret == CTW_OK && handled) {
					assert_memory_equal(in.mesh->tets, m->tets, sizeof(int32_t) * 48);
					ctw_mesh_in_release(ctx, &in);
				}
			}
			if (ret) {
				assert_int_equal(ret, CTW_ERR_FORMAT);
				assert_non_null(strstr(ctw_errmsg(ctx), vtp ? "bad.vtp" : "bad.vtu"));
				n_err++;
			} else {
				n_ok++;
			}
		}
		/* single bytes changed in the binary part */
		for (size_t i = strstr(good, "   _") - good + 4; i < len; i += 3) {
			ctw_mesh_in in;
			int handled = -1, ret;
			memcpy(buf, good, len);
			buf[i] = (char)(buf[i] ^ (char)(0x5A + i));
			write_file(bad, buf, len);
			ret = ctw_vtu_read(ctx, bad, &in, &handled);
			assert_true(ret == CTW_OK || ret == CTW_ERR_FORMAT);
			if (ret == CTW_OK)
				ctw_mesh_in_release(ctx, &in);
		}
		free(good);
		free(goodp);
		free(buf);
	}
	ctw_vtk_set_compression(1);
	print_message("damaged files: %ld read, %ld refused with a reason\n", n_ok, n_err);
	assert_true(n_err > 100);
	{ /* other layouts: not handled here */
		static const char *const other[] = {
			"<VTKFile type=\"UnstructuredGrid\" byte_order=\"BigEndian\"><UnstructuredGrid><Piece NumberOfPoints=\"1\" "
			"NumberOfCells=\"0\"></Piece></UnstructuredGrid><AppendedData encoding=\"raw\">_</AppendedData></VTKFile>",
			"<VTKFile type=\"UnstructuredGrid\" byte_order=\"LittleEndian\"><UnstructuredGrid><Piece NumberOfPoints=\"1\" "
			"NumberOfCells=\"0\"></Piece></UnstructuredGrid><AppendedData encoding=\"base64\">_</AppendedData></VTKFile>",
			"<VTKFile type=\"UnstructuredGrid\" byte_order=\"LittleEndian\" compressor=\"vtkLZ4DataCompressor\"><UnstructuredGrid>"
			"<Piece NumberOfPoints=\"1\" NumberOfCells=\"0\"></Piece></UnstructuredGrid><AppendedData encoding=\"raw\">_"
			"</AppendedData></VTKFile>",
			"<VTKFile type=\"PolyData\" byte_order=\"LittleEndian\"><PolyData></PolyData></VTKFile>",
			"<VTKFile type=\"UnstructuredGrid\" byte_order=\"LittleEndian\"><UnstructuredGrid><Piece NumberOfPoints=\"4\" "
			"NumberOfCells=\"1\"><Points><DataArray type=\"Float64\" NumberOfComponents=\"3\" format=\"ascii\">0 0 0 1 0 0 0 1 0 0 0 1"
			"</DataArray></Points></Piece></UnstructuredGrid></VTKFile>",
			"",
		};
		for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
			ctw_mesh_in in;
			int handled = -1;
			write_file(bad, other[i], strlen(other[i]));
			assert_int_equal(ctw_vtu_read(ctx, bad, &in, &handled), CTW_OK);
			assert_int_equal(handled, 0);
			assert_null(in.mesh);
		}
	}
	ctw_field_free(ctx, f[0]);
	ctw_tetmesh_free(ctx, m);
	end_ctx(ctx);
}

/* Hand-written legacy VTK and XML files: the tag array, long names skipped with a log line. */
static void test_mesh_read_vtk_files(void **state)
{
	static const char legacy[] = "# vtk DataFile Version 4.2\ntest\nASCII\nDATASET UNSTRUCTURED_GRID\n"
				     "POINTS 4 double\n0 0 0\n1 0 0\n0 1 0\n0 0 1\nCELLS 1 5\n4 0 1 2 3\n"
				     "CELL_TYPES 1\n10\nCELL_DATA 1\nSCALARS tag int 1\nLOOKUP_TABLE default\n7\n"
				     "POINT_DATA 4\nSCALARS a_point_array_name_longer_than_31_bytes double 1\n"
				     "LOOKUP_TABLE default\n1 2 3 4\nSCALARS phi double 1\nLOOKUP_TABLE default\n"
				     "0.5 0.25 0.125 1\n";
	ctw_ctx *ctx = new_ctx(0);
	ctw_mesh_in in;
	const char *p = tmp_path("legacy.vtk");
	(void)state;
	NEED_SHARED(LDRB);

	write_file(p, legacy, sizeof(legacy) - 1);
	assert_int_equal(ctw_vtk_read_vtu(ctx, p, &in), CTW_OK);
	assert_int_equal(in.mesh->n_points, 4);
	assert_int_equal(in.mesh->n_tets, 1);
	assert_int_equal(in.mesh->region[0], 7);
	assert_int_equal(in.mesh->tets[3], 3);
	assert_int_equal(in.apex_node, -1);
	assert_int_equal(in.n_fields, 1);
	assert_string_equal(in.fields[0]->name, "phi");
	assert_true(in.fields[0]->values[2] == 0.125);
	assert_non_null(strstr(logbuf, "a_point_array_name_longer_than_31_bytes"));
	assert_non_null(strstr(logbuf, "longer than 31 bytes"));
	ctw_mesh_in_release(ctx, &in);
	end_ctx(ctx);
}

/* ---- the ldrb reference mesh --------------------------------------------------------------------- */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Per-marker triangle counts of the facets file (5 BASE, 6 ENDO, 7 EPI) through VTK's Python
 * reader, independent of our code; 0 when python3-vtk9 is not there. */
static int facet_counts(int64_t c[3])
{
	char line[256] = "";
	FILE *py;
	long long a, b, d;
	if (access("/usr/bin/python3", X_OK))
		return 0;
	py = popen("/usr/bin/python3 -c \"\nimport sys\ntry:\n import vtk\nexcept ImportError:\n print('novtk'); sys.exit(0)\n"
		   "r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName('" LDRB "/lv96k_ldrb_default_facets.vtu'); r.Update()\n"
		   "g = r.GetOutput(); a = g.GetCellData().GetArray('marker')\n"
		   "v = [int(a.GetTuple1(i)) for i in range(g.GetNumberOfCells())]\n"
		   "assert all(g.GetCellType(i) == 5 for i in range(g.GetNumberOfCells()))\n"
		   "print(v.count(5), v.count(6), v.count(7))\n\" 2>/dev/null",
		   "r");
	if (!py)
		return 0;
	if (!fgets(line, sizeof(line), py))
		line[0] = 0;
	pclose(py);
	if (sscanf(line, "%lld %lld %lld", &a, &b, &d) != 3)
		return 0;
	c[0] = a, c[1] = b, c[2] = d;
	return 1;
}

static void test_mesh_read_ldrb_msh(void **state)
{
	ctw_ctx *ctx = new_ctx(0);
	ctw_mesh_in in, fib;
	int64_t ref[3] = { 880, 6900, 11242 }, per[5] = { 0 }; /* pinned from the facets file */
	double t0, dt, dmax = 0;
	(void)state;

	if (!shared_data_present(LDRB "/lv.msh")) {
		skip();
	}
	if (!facet_counts(ref))
		print_message("python3-vtk9 not available: using the pinned facet counts\n");
	t0 = now();
	assert_int_equal(ctw_mesh_read(ctx, LDRB "/lv.msh", &in), CTW_OK);
	dt = now() - t0;
	print_message("lv.msh read in %.3f s\n", dt);
	assert_int_equal(in.mesh->n_points, 20229);
	assert_int_equal(in.mesh->n_tets, 96003);
	assert_int_equal(in.mesh->n_tris, 19022);
	assert_int_equal(ref[0] + ref[1] + ref[2], 19022);
	for (int64_t t = 0; t < in.mesh->n_tris; t++) {
		assert_true(in.mesh->tri_marker[t] >= 0 && in.mesh->tri_marker[t] <= 4);
		per[in.mesh->tri_marker[t]]++;
	}
	assert_int_equal(per[CTW_SURF_BASE], ref[0]);
	assert_int_equal(per[CTW_SURF_LV_ENDO], ref[1]);
	assert_int_equal(per[CTW_SURF_EPI], ref[2]);
	assert_int_equal(per[CTW_SURF_RV_ENDO], 0);
	assert_int_equal(per[CTW_SURF_NONE], 0);
	for (int64_t t = 0; t < in.mesh->n_tets; t++)
		assert_int_equal(in.mesh->region[t], 1); /* MYOCARDIUM */
	assert_true(in.apex_node >= 0);
	assert_true(fabs(in.mesh->xyz[3 * in.apex_node] + 20.0) < 1e-9);
	assert_true(fabs(in.mesh->xyz[3 * in.apex_node + 1]) < 1e-9 && fabs(in.mesh->xyz[3 * in.apex_node + 2]) < 1e-9);
	assert_int_equal(in.n_fields, 0);
	assert_non_null(strstr(logbuf, "of type 1")); /* the EPIRING/ENDORING lines, counted */

	/* the fibres VTU: the same points and tetrahedra in the same order */
	assert_int_equal(ctw_vtk_read_vtu(ctx, LDRB "/lv96k_ldrb_default_fibers.vtu", &fib), CTW_OK);
	assert_int_equal(fib.mesh->n_points, in.mesh->n_points);
	assert_int_equal(fib.mesh->n_tets, in.mesh->n_tets);
	for (int64_t i = 0; i < 3 * in.mesh->n_points; i++)
		dmax = fmax(dmax, fabs(fib.mesh->xyz[i] - in.mesh->xyz[i]));
	print_message("max point distance lv.msh vs fibres VTU: %g mm\n", dmax);
	assert_true(dmax <= 1e-9);
	assert_memory_equal(fib.mesh->tets, in.mesh->tets, sizeof(int32_t) * 4 * (size_t)in.mesh->n_tets);
	assert_int_equal(fib.apex_node, -1);
	assert_non_null(ctw_mesh_in_field(&fib, "f"));
	assert_int_equal(ctw_mesh_in_field(&fib, "f")->loc, CTW_ON_POINTS);
	assert_int_equal(ctw_mesh_in_field(&fib, "f")->n_comp, 3);
	assert_non_null(ctw_mesh_in_field(&fib, "phi_epi"));
	assert_int_equal(ctw_mesh_in_field(&fib, "f_cell")->loc, CTW_ON_CELLS);
	assert_int_equal(ctw_mesh_in_field(&fib, "f_cell")->n, 96003);
	ctw_mesh_in_release(ctx, &fib);
	ctw_mesh_in_release(ctx, &in);
	end_ctx(ctx);
}

/* ---- small Gmsh files ------------------------------------------------------------------------------ */

/* 5 nodes with sparse tags (the last one's tag given), an LV and an RV tet, a BASE triangle, an
 * EPIPT point. */
static char *small_msh(const char *last_tag)
{
	static char buf[2048];
	snprintf(buf, sizeof(buf),
		 "$MeshFormat\n4.1 0 8\n$EndMeshFormat\n"
		 "$PhysicalNames\n4\n0 9 \"EpiPt\"\n2 10 \"base\"\n3 1 \"LV\"\n3 2 \"RV\"\n$EndPhysicalNames\n"
		 "$Entities\n1 0 1 2\n7 0 0 1 1 9\n1 0 0 0 1 1 0 1 10 0\n1 0 0 0 1 1 1 1 1 0\n2 0 0 0 1 1 1 1 2 0\n"
		 "$EndEntities\n"
		 "$Comments\nanything $End here\n$EndComments\n"
		 "$Nodes\n1 5 10 %s\n3 1 0 5\n10\n20\n30\n40\n%s\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n1 1 1\n$EndNodes\n"
		 "$Elements\n4 4 1 4\n0 7 15 1\n4 %s\n2 1 2 1\n1 10 30 20\n3 1 4 1\n2 10 20 30 40\n3 2 4 1\n"
		 "3 20 40 30 %s\n$EndElements\n",
		 last_tag, last_tag, last_tag, last_tag);
	return buf;
}

static void check_small(const ctw_mesh_in *in)
{
	/* the second tetrahedron is inverted in the file: reoriented by the reader (issue 12) */
	static const int32_t tets[8] = { 0, 1, 2, 3, 1, 3, 4, 2 }, tri[3] = { 0, 2, 1 }, reg[2] = { 1, 2 };
	static const double xyz[15] = { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1 };
	assert_int_equal(in->mesh->n_points, 5);
	assert_int_equal(in->mesh->n_tets, 2);
	assert_int_equal(in->mesh->n_tris, 1);
	assert_int_equal(in->n_reoriented, 1);
	assert_memory_equal(in->mesh->xyz, xyz, sizeof(xyz));
	assert_memory_equal(in->mesh->tets, tets, sizeof(tets));
	assert_memory_equal(in->mesh->region, reg, sizeof(reg));
	assert_memory_equal(in->mesh->tris, tri, sizeof(tri));
	assert_int_equal(in->mesh->tri_marker[0], CTW_SURF_BASE);
	assert_int_equal(in->apex_node, 4);
}

/* The same mesh as small_msh("50") in binary, little- or big-endian, size_t of 8 bytes. */
typedef struct bin {
	unsigned char b[4096];
	size_t n;
	int big;
} bin;

static void put(bin *o, const void *v, size_t n)
{
	const unsigned char *s = v;
	for (size_t i = 0; i < n; i++)
		o->b[o->n + i] = o->big ? s[n - 1 - i] : s[i]; /* the test machine is little-endian */
	o->n += n;
}
static void put_s(bin *o, const char *s)
{
	memcpy(o->b + o->n, s, strlen(s));
	o->n += strlen(s);
}
static void put_i(bin *o, int32_t v) { put(o, &v, 4); }
static void put_z(bin *o, uint64_t v) { put(o, &v, 8); }
static void put_d(bin *o, double v) { put(o, &v, 8); }

static void small_bin(bin *o, int big, uint64_t n_nodes)
{
	static const double xyz[15] = { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1 };
	memset(o, 0, sizeof(*o));
	o->big = big;
	put_s(o, "$MeshFormat\n4.1 1 8\n");
	put_i(o, 1);
	put_s(o, "\n$EndMeshFormat\n$PhysicalNames\n4\n0 9 \"APEX\"\n2 10 \"BASE\"\n3 1 \"LV\"\n3 2 \"RV\"\n"
		 "$EndPhysicalNames\n$Entities\n");
	put_z(o, 1), put_z(o, 0), put_z(o, 1), put_z(o, 2);
	put_i(o, 7), put_d(o, 0), put_d(o, 0), put_d(o, 1), put_z(o, 1), put_i(o, 9);
	for (int e = 0; e < 3; e++) {
		put_i(o, e == 2 ? 2 : 1);
		for (int c = 0; c < 6; c++)
			put_d(o, c / 5.0);
		put_z(o, 1), put_i(o, e == 0 ? 10 : e == 1 ? 1 : 2);
		put_z(o, 0);
	}
	put_s(o, "\n$EndEntities\n$Nodes\n");
	put_z(o, 1), put_z(o, n_nodes), put_z(o, 10), put_z(o, 50);
	put_i(o, 3), put_i(o, 1), put_i(o, 0), put_z(o, 5);
	for (int i = 1; i <= 5; i++)
		put_z(o, 10 * (uint64_t)i);
	for (int i = 0; i < 15; i++)
		put_d(o, xyz[i]);
	put_s(o, "\n$EndNodes\n$Elements\n");
	put_z(o, 4), put_z(o, 4), put_z(o, 1), put_z(o, 4);
	put_i(o, 0), put_i(o, 7), put_i(o, 15), put_z(o, 1), put_z(o, 4), put_z(o, 50);
	put_i(o, 2), put_i(o, 1), put_i(o, 2), put_z(o, 1), put_z(o, 1), put_z(o, 10), put_z(o, 30), put_z(o, 20);
	put_i(o, 3), put_i(o, 1), put_i(o, 4), put_z(o, 1), put_z(o, 2), put_z(o, 10), put_z(o, 20), put_z(o, 30),
		put_z(o, 40);
	put_i(o, 3), put_i(o, 2), put_i(o, 4), put_z(o, 1), put_z(o, 3), put_z(o, 20), put_z(o, 40), put_z(o, 30),
		put_z(o, 50);
	put_s(o, "\n$EndElements\n");
}

static void read_ok(const char *path, ctw_mesh_in *in, ctw_ctx **ctx)
{
	*ctx = new_ctx(0);
	int ret = ctw_mesh_read(*ctx, path, in);
	if (ret)
		print_message("%s: %s\n", path, ctw_errmsg(*ctx));
	assert_int_equal(ret, CTW_OK);
}

static void test_mesh_read_small_msh(void **state)
{
	ctw_ctx *ctx;
	ctw_mesh_in in;
	bin b;
	const char *p;
	(void)state;

	/* ASCII, dense and sparse node tags */
	p = tmp_path("small.msh");
	write_file(p, small_msh("50"), strlen(small_msh("50")));
	read_ok(p, &in, &ctx);
	check_small(&in);
	ctw_mesh_in_release(ctx, &in);
	end_ctx(ctx);
	p = tmp_path("sparse.MSH");
	write_file(p, small_msh("5000000000"), strlen(small_msh("5000000000")));
	read_ok(p, &in, &ctx);
	check_small(&in);
	ctw_mesh_in_release(ctx, &in);
	end_ctx(ctx);

	/* binary, both byte orders */
	for (int big = 0; big < 2; big++) {
		small_bin(&b, big, 5);
		p = tmp_path(big ? "small_be.msh" : "small_le.msh");
		write_file(p, b.b, b.n);
		read_ok(p, &in, &ctx);
		check_small(&in);
		ctw_mesh_in_release(ctx, &in);
		end_ctx(ctx);
	}

	/* every allocation failure: CTW_ERR_NOMEM and nothing leaked */
	p = tmp_path("small.msh");
	for (long k = 2;; k++) {
		ctx = new_ctx(k);
		int ret = ctw_mesh_read(ctx, p, &in);
		if (ret == CTW_OK)
			ctw_mesh_in_release(ctx, &in);
		else
			assert_int_equal(ret, CTW_ERR_NOMEM);
		end_ctx(ctx);
		if (ret == CTW_OK) {
			assert_true(k > 8);
			break;
		}
	}
}

static int have_gmsh(void)
{
	return system("gmsh --version >/dev/null 2>&1") == 0;
}

/* gmsh meshes a box with named groups to ASCII MSH 4.1 and re-saves it as binary. */
static void test_mesh_read_gmsh_binary(void **state)
{
	static const char geo[] = "SetFactory(\"OpenCASCADE\");\nBox(1) = {0, 0, 0, 2, 1, 1};\n"
				  "Physical Volume(\"MYOCARDIUM\") = {1};\nPhysical Surface(\"base\") = {5};\n"
				  "Physical Surface(\"Epi\") = {6};\nPhysical Surface(\"LV_ENDOCARDIUM\") = {1, 2};\n"
				  "Physical Surface(42) = {3};\nPhysical Point(\"APEX\") = {1};\n"
				  "Mesh.CharacteristicLengthMax = 0.3;\n";
	char cmd[1024];
	ctw_ctx *ca, *cb;
	ctw_mesh_in a, b;
	int64_t na[5] = { 0 }, nb[5] = { 0 };
	size_t n;
	char *bytes;
	(void)state;

	if (!have_gmsh()) {
		print_message("gmsh not installed: skipped\n");
		skip();
	}
	write_file(tmp_path("box.geo"), geo, sizeof(geo) - 1);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && gmsh -3 -nt 1 -format msh41 -o a.msh box.geo -v 1 >gmsh.log 2>&1 && "
		 "gmsh a.msh -save -format msh41 -bin -o b.msh -v 1 >>gmsh.log 2>&1",
		 tmpdir);
	assert_int_equal(system(cmd), 0);
	bytes = slurp(tmp_path("b.msh"), &n);
	assert_non_null(strstr(bytes, "4.1 1 8")); /* really binary */
	read_ok(tmp_path("a.msh"), &a, &ca);
	read_ok(tmp_path("b.msh"), &b, &cb);
	print_message("gmsh box: %lld points, %lld tets, %lld triangles\n", (long long)a.mesh->n_points,
		      (long long)a.mesh->n_tets, (long long)a.mesh->n_tris);
	assert_true(a.mesh->n_tets > 100);
	assert_int_equal(a.mesh->n_points, b.mesh->n_points);
	assert_int_equal(a.mesh->n_tets, b.mesh->n_tets);
	assert_int_equal(a.mesh->n_tris, b.mesh->n_tris);
	assert_memory_equal(a.mesh->tets, b.mesh->tets, sizeof(int32_t) * 4 * (size_t)a.mesh->n_tets);
	assert_memory_equal(a.mesh->tris, b.mesh->tris, sizeof(int32_t) * 3 * (size_t)a.mesh->n_tris);
	assert_memory_equal(a.mesh->tri_marker, b.mesh->tri_marker, sizeof(int32_t) * (size_t)a.mesh->n_tris);
	assert_memory_equal(a.mesh->region, b.mesh->region, sizeof(int32_t) * (size_t)a.mesh->n_tets);
	for (int64_t i = 0; i < 3 * a.mesh->n_points; i++)
		assert_true(fabs(a.mesh->xyz[i] - b.mesh->xyz[i]) <= 1e-12);
	assert_int_equal(a.apex_node, b.apex_node);
	assert_true(a.apex_node >= 0);
	{ /* OpenCASCADE's point 1 of the box is (0, 0, 1) */
		const double *x = a.mesh->xyz + 3 * a.apex_node;
		assert_true(fabs(x[0]) < 1e-12 && fabs(x[1]) < 1e-12 && fabs(x[2] - 1) < 1e-12);
	}
	for (int64_t t = 0; t < a.mesh->n_tris; t++)
		na[a.mesh->tri_marker[t]]++, nb[b.mesh->tri_marker[t]]++;
	assert_memory_equal(na, nb, sizeof(na));
	assert_true(na[CTW_SURF_BASE] > 0 && na[CTW_SURF_EPI] > 0 && na[CTW_SURF_LV_ENDO] > 0);
	assert_true(na[CTW_SURF_NONE] > 0); /* the unnamed group 42 */
	assert_int_equal(na[CTW_SURF_RV_ENDO], 0);
	assert_non_null(strstr(logbuf, "physical group 42")); /* logged as unknown (cb's log) */
	for (int64_t t = 0; t < a.mesh->n_tets; t++)
		assert_int_equal(a.mesh->region[t], 1);
	ctw_mesh_in_release(ca, &a);
	ctw_mesh_in_release(cb, &b);
	end_ctx(ca);
	end_ctx(cb);

	/* the binary file cut short anywhere: CTW_ERR_FORMAT */
	for (size_t cut = 10; cut < n; cut += n / 7) {
		write_file(tmp_path("cut.msh"), bytes, cut);
		expect_fail(tmp_path("cut.msh"), CTW_ERR_FORMAT, NULL, NULL);
	}
	free(bytes);
}

/* Replaces the first `from` in s by `to` (into a static buffer). */
static const char *edit(const char *s, const char *from, const char *to)
{
	static char buf[4096];
	const char *p = strstr(s, from);
	assert_non_null(p);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return buf;
}

/* 1-based line of the first `what` in s. */
static int line_of(const char *s, const char *what)
{
	const char *p = strstr(s, what);
	int l = 1;
	assert_non_null(p);
	for (const char *q = s; q < p; q++)
		l += *q == '\n';
	return l;
}

static void bad_msh(const char *name, const char *text, const char *also)
{
	const char *p = tmp_path(name);
	write_file(p, text, strlen(text));
	expect_fail(p, CTW_ERR_FORMAT, NULL, also);
}

static void test_mesh_read_bad_msh(void **state)
{
	const char *ok = small_msh("50");
	char also[64], tmp[4096];
	size_t n;
	char *lv, *at;
	bin b;
	(void)state;
	NEED_SHARED(LDRB);

	bad_msh("v22.msh", edit(ok, "4.1 0 8", "2.2 0 8"), "line 2 in $MeshFormat: MSH version '2.2' is not supported");
	bad_msh("v40.msh", edit(ok, "4.1 0 8", "4 0 8"), "'4'");
	bad_msh("lying_elements.msh", edit(ok, "4 4 1 4", "4 999999999999 1 4"), "999999999999");
	bad_msh("lying_block.msh", edit(ok, "3 1 4 1\n", "3 1 4 4611686018427387904\n"), "more than the rest");
	bad_msh("lying_nodes.msh", edit(ok, "1 5 10 50", "1 500000000000 10 50"), "500000000000");
	bad_msh("lying_entities.msh", edit(ok, "1 0 1 2\n", "1 0 1 99999999\n"), "more than the rest");
	bad_msh("lying_names.msh", edit(ok, "$PhysicalNames\n4\n", "$PhysicalNames\n400000\n"), "more than the rest");
	bad_msh("few_elements.msh", edit(ok, "4 4 1 4", "4 5 1 4"), "hold 4 elements, the header says 5");
	bad_msh("few_nodes.msh", edit(ok, "3 1 0 5", "3 1 0 4"), NULL);
	snprintf(also, sizeof(also), "line %d in $Elements:", line_of(ok, "2 10 20 30 40"));
	bad_msh("no_such_node.msh", edit(ok, "2 10 20 30 40", "2 10 20 30 41"), also);
	bad_msh("no_such_node.msh", edit(ok, "2 10 20 30 40", "2 10 20 30 41"), "node tag 41");
	bad_msh("dup_node.msh", edit(ok, "10\n20\n", "10\n10\n"), "defined twice");
	bad_msh("bad_number.msh", edit(ok, "0 1 0\n", "0 x 0\n"), "node coordinate");
	bad_msh("no_end.msh", edit(ok, "$EndNodes", "$EndNode"), "$EndNodes");
	bad_msh("unterminated.msh", edit(ok, "$EndComments", "$EndComment"), "$EndComments");
	snprintf(tmp, sizeof(tmp), "%s", edit(ok, "3 1 4 1\n2 10 20 30 40\n3 2 4 1\n3 20 40 30 50\n", ""));
	bad_msh("no_tets.msh", edit(tmp, "4 4 1 4", "2 2 1 4"), "no 4-node tetrahedra");
	bad_msh("garbage.msh", "\x7f" "ELF\x02\x01\x01 not a mesh at all", "not a Gmsh mesh");
	bad_msh("empty.msh", "", "no $MeshFormat");
	bad_msh("elements_first.msh",
		"$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Elements\n0 0 0 0\n$EndElements\n", "$Elements before $Nodes");

	/* binary: lying node count, bad byte-order mark */
	small_bin(&b, 0, (uint64_t)1 << 40);
	write_file(tmp_path("bin_lying.msh"), b.b, b.n);
	expect_fail(tmp_path("bin_lying.msh"), CTW_ERR_FORMAT, NULL, "more than the rest");
	small_bin(&b, 0, 5);
	b.b[strlen("$MeshFormat\n4.1 1 8\n")] = 2;
	write_file(tmp_path("bin_bom.msh"), b.b, b.n);
	expect_fail(tmp_path("bin_bom.msh"), CTW_ERR_FORMAT, NULL, "byte-order mark");

	/* the reference mesh cut in the middle of $Nodes */
	lv = slurp(LDRB "/lv.msh", &n);
	at = strstr(lv, "$Nodes");
	assert_non_null(at);
	write_file(tmp_path("cut_nodes.msh"), lv, (size_t)(at - lv) + 500000);
	free(lv);
	expect_fail(tmp_path("cut_nodes.msh"), CTW_ERR_FORMAT, NULL, "unexpected end of file");
	expect_fail(tmp_path("cut_nodes.msh"), CTW_ERR_FORMAT, NULL, "in $Nodes");
}

static void test_mesh_read_bad_dirs(void **state)
{
	static const char nontet[] =
		"<?xml version=\"1.0\"?>\n<VTKFile type=\"UnstructuredGrid\" version=\"0.1\" byte_order=\"LittleEndian\">\n"
		"<UnstructuredGrid><Piece NumberOfPoints=\"4\" NumberOfCells=\"2\">\n"
		"<Points><DataArray type=\"Float64\" NumberOfComponents=\"3\" format=\"ascii\">0 0 0 1 0 0 0 1 0 0 0 1"
		"</DataArray></Points>\n<Cells>\n"
		"<DataArray type=\"Int64\" Name=\"connectivity\" format=\"ascii\">0 1 2 3 0 1 2</DataArray>\n"
		"<DataArray type=\"Int64\" Name=\"offsets\" format=\"ascii\">4 7</DataArray>\n"
		"<DataArray type=\"UInt8\" Name=\"types\" format=\"ascii\">10 5</DataArray>\n"
		"</Cells></Piece></UnstructuredGrid></VTKFile>\n";
	ctw_ctx *ctx = new_ctx(0);
	ctw_tetmesh *m = two_cubes(ctx);
	int32_t *t = NULL, *mk = NULL;
	int64_t nt = -1;
	(void)state;

	/* missing */
	expect_fail("/nonexistent/ctw/lv.msh", CTW_ERR_IO, NULL, "No such file");
	expect_fail(tmp_path("nothing_here"), CTW_ERR_IO, NULL, NULL);
	assert_int_equal(ctw_vtk_read_vtu(ctx, tmp_path("none.vtu"), &(ctw_mesh_in){ 0 }), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), "none.vtu"));
	assert_int_equal(ctw_vtk_read_vtp_tris(ctx, tmp_path("none.vtp"), "surface", 3, &t, &mk, &nt), CTW_ERR_IO);
	assert_null(t);
	assert_int_equal(nt, 0);

	/* not a mesh: unknown extension; an empty directory */
	write_file(tmp_path("notes.txt"), "hello\n", 6);
	expect_fail(tmp_path("notes.txt"), CTW_ERR_FORMAT, NULL, "not a mesh");
	mkdir(tmp_path("empty"), 0777);
	expect_fail(tmp_path("empty"), CTW_ERR_IO, tmp_path("empty/mesh.vtu"), NULL);

	/* a directory without surfaces.vtp */
	write_dir(ctx, tmp_path("novtp"), m, NULL, 0, 1, m->n_points);
	assert_int_equal(unlink(tmp_path("novtp/surfaces.vtp")), 0);
	expect_fail(tmp_path("novtp"), CTW_ERR_IO, tmp_path("novtp/surfaces.vtp"), NULL);

	/* surfaces.vtp with fewer points than mesh.vtu */
	m->n_tris = 2; /* triangles of the first 4 points only */
	write_dir(ctx, tmp_path("mismatch"), m, NULL, 0, 1, 10);
	expect_fail(tmp_path("mismatch"), CTW_ERR_FORMAT, tmp_path("mismatch/surfaces.vtp"), "holds 10 points, the mesh 12");

	/* surfaces.vtp without the marker array */
	assert_int_equal(ctw_vtk_write_vtp(ctx, m->xyz, m->n_points, m->tris, NULL, m->n_tris, "surface",
					   tmp_path("mismatch/surfaces.vtp")),
			 CTW_OK);
	expect_fail(tmp_path("mismatch"), CTW_ERR_FORMAT, tmp_path("mismatch/surfaces.vtp"), "'surface'");

	/* a triangle among the cells of mesh.vtu */
	mkdir(tmp_path("nontet"), 0777);
	write_file(tmp_path("nontet/mesh.vtu"), nontet, sizeof(nontet) - 1);
	expect_fail(tmp_path("nontet"), CTW_ERR_FORMAT, tmp_path("nontet/mesh.vtu"), "cell 1 is a vtkTriangle");

	/* garbage and cut files as mesh.vtu / surfaces.vtp */
	write_file(tmp_path("nontet/mesh.vtu"), "this is not XML at all\n", 23);
	expect_fail(tmp_path("nontet"), CTW_ERR_FORMAT, tmp_path("nontet/mesh.vtu"), NULL);
	{
		size_t n;
		char *v = slurp(tmp_path("mismatch/mesh.vtu"), &n);
		write_file(tmp_path("nontet/mesh.vtu"), v, n / 2);
		free(v);
		expect_fail(tmp_path("nontet"), CTW_ERR_FORMAT, tmp_path("nontet/mesh.vtu"), NULL);
		m->n_tris = 6;
		write_dir(ctx, tmp_path("cutvtp"), m, NULL, 0, 1, m->n_points);
		v = slurp(tmp_path("cutvtp/surfaces.vtp"), &n);
		write_file(tmp_path("cutvtp/surfaces.vtp"), v, n - 40);
		free(v);
		expect_fail(tmp_path("cutvtp"), CTW_ERR_FORMAT, tmp_path("cutvtp/surfaces.vtp"), NULL);
	}
	ctw_tetmesh_free(ctx, m);
	end_ctx(ctx);
}

/* Both VTK adapters route VTK's error text into their own messages, whichever ran first (this
 * test runs first: ours is installed, replaced by surface_vtk's, then put in front again). */
static void test_mesh_read_vtk_windows(void **state)
{
	ctw_ctx *ctx = new_ctx(0);
	const char *vtp = tmp_path("junk.vtp"), *dir = tmp_path("junkdir");
	ctw_surface *s = NULL;
	ctw_mesh_in in;
	(void)state;

	write_file(vtp, "<VTKFile oops", 13);
	mkdir(dir, 0777);
	write_file(tmp_path("junkdir/mesh.vtu"), "<VTKFile oops", 13);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(ctw_mesh_read(ctx, dir, &in), CTW_ERR_FORMAT);
		assert_non_null(strstr(ctw_errmsg(ctx), "Error parsing XML"));
		assert_int_equal(ctw_vtk_read_surface(ctx, vtp, "surface", &s, NULL), CTW_ERR_FORMAT);
		assert_null(s);
		assert_non_null(strstr(ctw_errmsg(ctx), "Error parsing XML"));
	}
	end_ctx(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: the VTK output windows are installed in this order (ours, then surface_vtk's) */
		cmocka_unit_test(test_mesh_read_vtk_windows),
		cmocka_unit_test(test_mesh_read_roundtrip),  cmocka_unit_test(test_mesh_read_vtk_files),
		cmocka_unit_test(test_mesh_write_large),     cmocka_unit_test(test_mesh_read_c_reader_damaged),
		cmocka_unit_test(test_mesh_read_ldrb_msh),   cmocka_unit_test(test_mesh_read_small_msh),
		cmocka_unit_test(test_mesh_read_gmsh_binary), cmocka_unit_test(test_mesh_read_bad_msh),
		cmocka_unit_test(test_mesh_read_bad_dirs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
