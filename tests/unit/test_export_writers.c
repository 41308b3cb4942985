/* test_export_writers.c: the format writers of the export stage (openCARP, legacy VTK, Gmsh 4.1,
 * FEBio 4.0, TetGen/Chaste) and what they share. The running example of specs/formats.md (5
 * nodes, 2 tets, a base triangle) is written by each writer and compared byte for byte with the
 * expected files (the spec's worked examples, at our documented precision); an LV mesh with LDRB
 * fibres is read back by independent readers: numpy and ElementTree (openCARP, TetGen/Chaste,
 * FEBio; .neubc owners and opposite corners checked against a brute-force face table), meshio
 * (legacy VTK, MSH, TetGen), VTK's own legacy reader, the gmsh program, xmllint, Debian's tetgen
 * (-r reconstruction) and our own MSH reader; the fixed-point formatter is compared with glibc's
 * printf. Failure paths: bad models (CTW_ERR_INVALID), triangles that are not boundary faces
 * (CTW_ERR_FORMAT with index and position), a missing directory and a full disk (/dev/full
 * behind every file each writer writes, and mid-file) give CTW_ERR_IO naming the file, failed
 * allocations give CTW_ERR_NOMEM without leaks. External readers that are missing are skipped. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctw.h"
#include "export.h"
#include "fault_alloc.h"
#include "fibers.h"
#include "mesh.h"
#include "writers_int.h"

#define S2 0.70710678118654752440 /* 1/sqrt(2) */

static char tmpdir[64];

/* Path of name below the test's directory (a few rotating buffers). */
static const char *tmp_path(const char *name)
{
	static char buf[8][512];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

/* A new empty directory below the test's directory. */
static const char *fresh_dir(const char *name)
{
	const char *p = tmp_path(name);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(mkdir(p, 0777), 0);
	return p;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ctw_export_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	if (getenv("CTW_KEEP_TMP"))
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *dir, const char *name)
{
	char path[600];
	FILE *f;
	long n;
	char *s;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f) {
		print_message("cannot read %s\n", path);
		fail();
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	return s;
}

/* The whole file and its length (binary files). */
static char *slurp_n(const char *dir, const char *name, size_t *n)
{
	char *s = slurp(dir, name), path[600];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	*n = (size_t)st.st_size;
	return s;
}

/* An expected binary file, built piece by piece: text, big-endian doubles and int32s each
 * followed by a newline (legacy VTK BINARY). */
typedef struct bin {
	char buf[4096];
	size_t n;
} bin;

static void bin_str(bin *b, const char *s)
{
	assert_true(b->n + strlen(s) <= sizeof(b->buf));
	memcpy(b->buf + b->n, s, strlen(s));
	b->n += strlen(s);
}

static void bin_be64(bin *b, const double *v, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t u;
		memcpy(&u, &v[i], 8);
		for (int k = 0; k < 8; k++)
			b->buf[b->n++] = (char)(u >> (56 - 8 * k));
	}
	b->buf[b->n++] = '\n';
}

static void bin_be32(bin *b, const int32_t *v, int n)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < 4; k++)
			b->buf[b->n++] = (char)((uint32_t)v[i] >> (24 - 8 * k));
	b->buf[b->n++] = '\n';
}

static void assert_file(const char *dir, const char *name, const char *want)
{
	char *got = slurp(dir, name);
	if (strcmp(got, want) != 0)
		print_message("%s differs:\n--- got\n%s--- want\n%s", name, got, want);
	assert_string_equal(got, want);
	free(got);
}

static int exists(const char *dir, const char *name)
{
	char path[600];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

static void touch(const char *dir, const char *name)
{
	char path[600];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("stale\n", f);
	fclose(f);
}

/* Runs a shell command; its output (at most n-1 bytes) into out; returns the exit status, or
 * -1 when it did not exit normally. */
static int run(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0, k;
	int st;
	assert_non_null(p);
	while (len + 1 < n && (k = fread(out + len, 1, n - 1 - len, p)) > 0)
		len += k;
	out[len] = 0;
	while (fgetc(p) != EOF) /* drain */
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the writers ----------------------------------------------------------------------------- */

typedef int (*writer_fn)(ctw_ctx *, const ctw_model *, const char *);
static const struct writer {
	const char *name;
	writer_fn fn;
	const char *files[8]; /* what it writes for the running example with fibres */
} writers[] = {
	{ "opencarp",
	  ctw_write_opencarp,
	  { "heart.pts", "heart.elem", "heart.lon", "base.surf", "base.surf.vtx", "base.neubc", NULL } },
	{ "vtk", ctw_write_vtk_legacy, { "heart.vtk", NULL } },
	{ "gmsh", ctw_write_gmsh, { "heart.msh", NULL } },
	{ "febio", ctw_write_febio, { "heart.feb", NULL } },
	{ "tetgen", ctw_write_tetgen, { "heart.node", "heart.ele", "heart.face", "heart.ortho", NULL } },
};
#define N_WRITERS ((int)(sizeof(writers) / sizeof(writers[0])))

/* ---- the running example of specs/formats.md ------------------------------------------------- */

static const double ex_fiber[6] = { 1, 0, 0, 0, S2, S2 };
static const double ex_sheet[6] = { 0, 1, 0, 0, -S2, S2 };

static ctw_tetmesh *example_mesh(ctw_ctx *ctx)
{
	static const double xyz[15] = { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1 };
	static const int32_t tets[8] = { 0, 1, 2, 3, 1, 2, 3, 4 };
	ctw_tetmesh *m;
	assert_int_equal(ctw_tetmesh_new(ctx, 5, 2, 1, &m), CTW_OK);
	memcpy(m->xyz, xyz, sizeof(xyz));
	memcpy(m->tets, tets, sizeof(tets));
	m->region[0] = 1;
	m->region[1] = 2;
	m->tris[0] = 0, m->tris[1] = 2, m->tris[2] = 1;
	m->tri_marker[0] = CTW_SURF_BASE;
	return m;
}

static ctw_model example_model(const ctw_tetmesh *m)
{
	ctw_model md = { m, ex_fiber, ex_sheet, NULL, 0, -1, "heart test mesh" };
	return md;
}

/* ---- number formatting: the same digits as glibc's printf --------------------------------------- */

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void check_fixed(double x, int d)
{
	char want[128], got[64], trimmed[128];
	size_t n;
	int len = fabs(x) < 1e20 ? snprintf(want, sizeof(want), "%.*f", d, x)
				 : snprintf(want, sizeof(want), "%.17g", x); /* documented fallback */
	n = ctw_fmt_fixed(got, x, d, 0);
	got[n] = 0;
	if (strcmp(got, want) != 0)
		print_message("%.17g %%.%df: got %s, printf %s\n", x, d, got, want);
	assert_string_equal(got, want);
	/* trimmed: printf's digits without trailing zeros, "-0" as "0" */
	memcpy(trimmed, want, (size_t)len + 1);
	if (strchr(trimmed, '.')) {
		while (trimmed[len - 1] == '0')
			trimmed[--len] = 0;
		if (trimmed[len - 1] == '.')
			trimmed[--len] = 0;
	}
	if (!strcmp(trimmed, "-0"))
		strcpy(trimmed, "0");
	n = ctw_fmt_fixed(got, x, d, 1);
	got[n] = 0;
	assert_string_equal(got, trimmed);
}

static void test_export_writers_format_numbers(void **state)
{
	static const double ties[] = { 0.5, 1.5, 2.5, 0.125, 0.375, 0.0078125, 1.0078125, -0.0078125, 1e-7, 5e-7,
				       0.0000005, 2.0000005, 1000.0005, 0.9999995, 0.9999994999, 123456.5, -0.0,
				       0.0, 1e15, 4503599627370496.0, 1e300, -1e-300, 0.1, 0.7, 1.0 / 3.0 };
	static const int dec[] = { 0, 1, 2, 3, 6, 7, 9, 15 };
	char buf[64];
	size_t n;
	(void)state;
	for (size_t i = 0; i < sizeof(ties) / sizeof(ties[0]); i++)
		for (size_t k = 0; k < sizeof(dec) / sizeof(dec[0]); k++)
			check_fixed(ties[i], dec[k]);
	/* every multiple of 1/2^k near the rounding points of 6 decimals: exact ties */
	for (int k = 1; k <= 20; k++)
		for (int j = 0; j < 2000; j++)
			check_fixed((double)j / (double)(1 << k), 6);
	/* random unit-vector components, coordinates in um and mm, random bit patterns */
	for (int i = 0; i < 300000; i++) {
		uint64_t r = rng();
		double u = (double)(r >> 11) / 9007199254740992.0; /* [0, 1) */
		double x;
		switch (i % 4) {
		case 0: x = 2 * u - 1; break;
		case 1: x = (u - 0.5) * 2e5; break;
		case 2: x = ldexp(u, (int)(rng() % 80) - 40) * (r & 1 ? -1 : 1); break;
		default: memcpy(&x, &r, sizeof(x)); if (!isfinite(x) || fabs(x) > 1e20) x = u; break;
		}
		check_fixed(x, i % 3 == 0 ? 3 : i % 3 == 1 ? 6 : (int)(r % 16));
	}
	/* 9 significant digits: reads back within 1e-9 relative (and equals %.9g's value) */
	for (int i = 0; i < 100000; i++) {
		double u = (double)(rng() >> 11) / 9007199254740992.0;
		double x = ldexp(u, (int)(rng() % 100) - 50) * (i & 1 ? -1 : 1), y, z;
		char g[64];
		n = ctw_fmt_sig(buf, x);
		buf[n] = 0;
		y = strtod(buf, NULL);
		snprintf(g, sizeof(g), "%.9g", x);
		z = strtod(g, NULL);
		if (fabs(y - x) > 5e-9 * fabs(x))
			print_message("%.17g -> %s\n", x, buf);
		assert_true(fabs(y - x) <= 5e-9 * fabs(x));
		assert_true(fabs(y - x) <= fabs(z - x) * (1 + 1e-12) + 1e-300);
	}
	n = ctw_fmt_sig(buf, 0.0);
	assert_int_equal(n, 1);
	n = ctw_fmt_sig(buf, 2.0);
	buf[n] = 0;
	assert_string_equal(buf, "2");
	n = ctw_fmt_int(buf, INT64_MIN);
	buf[n] = 0;
	assert_string_equal(buf, "-9223372036854775808");
}

/* ---- the running example, byte for byte ------------------------------------------------------- */

static void test_export_writers_example(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = example_mesh(ctx);
	ctw_model md = example_model(m);
	const char *dir;
	char want[4096];
	int64_t ft = -1, fr = -1;
	(void)state;

	assert_int_equal(ctw_model_orient(ctx, "example", m, &ft, &fr), CTW_OK);
	assert_int_equal(ft, 0);
	assert_int_equal(fr, 0);

	/* openCARP (§1.7; coordinates with %.3f, fibres %.6f as the spec) */
	dir = fresh_dir("ex_opencarp");
	touch(dir, "heart.bpts"); /* stale binaries openCARP would prefer */
	touch(dir, "heart.belem");
	touch(dir, "heart.blon");
	touch(dir, "epi.surf"); /* a surface the model does not have */
	assert_int_equal(ctw_write_opencarp(ctx, &md, dir), CTW_OK);
	assert_file(dir, "heart.pts",
		    "5\n0.000 0.000 0.000\n1000.000 0.000 0.000\n0.000 1000.000 0.000\n0.000 0.000 1000.000\n"
		    "1000.000 1000.000 1000.000\n");
	assert_file(dir, "heart.elem", "2\nTt 0 1 2 3 1\nTt 1 2 3 4 2\n");
	assert_file(dir, "heart.lon",
		    "2\n1.000000 0.000000 0.000000 0.000000 1.000000 0.000000\n"
		    "0.000000 0.707107 0.707107 0.000000 -0.707107 0.707107\n");
	assert_file(dir, "base.surf", "1\nTr 0 2 1\n");
	assert_file(dir, "base.surf.vtx", "3\nextra\n0\n1\n2\n");
	assert_file(dir, "base.neubc", "1 # mesh elast 2 5 :\n0 2 1 1 3 0\n");
	assert_false(exists(dir, "heart.bpts") || exists(dir, "heart.belem") || exists(dir, "heart.blon"));
	assert_false(exists(dir, "epi.surf"));
	assert_false(exists(dir, "lv_endo.surf"));

	/* legacy VTK (§2.2's example, in its BINARY form: big-endian, a newline after each array) */
	dir = fresh_dir("ex_vtk");
	assert_int_equal(ctw_write_vtk_legacy(ctx, &md, dir), CTW_OK);
	{
		static const double pts[15] = { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1 };
		static const int32_t cells[10] = { 4, 0, 1, 2, 3, 4, 1, 2, 3, 4 }, types[2] = { 10, 10 }, reg[2] = { 1, 2 };
		const double fib[6] = { md.fiber[0], md.fiber[1], md.fiber[2], md.fiber[3], md.fiber[4], md.fiber[5] };
		const double shv[6] = { md.sheet[0], md.sheet[1], md.sheet[2], md.sheet[3], md.sheet[4], md.sheet[5] };
		bin b = { { 0 }, 0 };
		char *got;
		size_t n;
		assert_true(fabs(fib[4] - 0.70710678) < 1e-6 && fabs(shv[4] + 0.70710678) < 1e-6);
		bin_str(&b, "# vtk DataFile Version 4.2\nheart test mesh, units mm\nBINARY\nDATASET UNSTRUCTURED_GRID\n"
			    "POINTS 5 double\n");
		bin_be64(&b, pts, 15);
		bin_str(&b, "CELLS 2 10\n");
		bin_be32(&b, cells, 10);
		bin_str(&b, "CELL_TYPES 2\n");
		bin_be32(&b, types, 2);
		bin_str(&b, "CELL_DATA 2\nSCALARS region int 1\nLOOKUP_TABLE default\n");
		bin_be32(&b, reg, 2);
		bin_str(&b, "FIELD FieldData 2\nfiber 3 2 double\n");
		bin_be64(&b, fib, 6);
		bin_str(&b, "sheet 3 2 double\n");
		bin_be64(&b, shv, 6);
		got = slurp_n(dir, "heart.vtk", &n);
		assert_int_equal(n, b.n);
		assert_memory_equal(got, b.buf, n);
		free(got);
	}

	/* Gmsh (§3, with the brief's physical tags: surfaces 10 + id; fibres on every element) */
	dir = fresh_dir("ex_gmsh");
	assert_int_equal(ctw_write_gmsh(ctx, &md, dir), CTW_OK);
	assert_file(dir, "heart.msh",
		    "$MeshFormat\n4.1 0 8\n$EndMeshFormat\n"
		    "$PhysicalNames\n3\n3 1 \"LV\"\n3 2 \"RV\"\n2 14 \"base\"\n$EndPhysicalNames\n"
		    "$Entities\n0 0 1 2\n4 0 0 0 1 1 0 1 14 0\n1 0 0 0 1 1 1 1 1 0\n2 0 0 0 1 1 1 1 2 0\n$EndEntities\n"
		    "$Nodes\n1 5 1 5\n3 1 0 5\n1\n2\n3\n4\n5\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n1 1 1\n$EndNodes\n"
		    "$Elements\n3 3 1 3\n3 1 4 1\n1 1 2 3 4\n3 2 4 1\n2 2 3 4 5\n2 4 2 1\n3 1 3 2\n$EndElements\n"
		    "$ElementData\n1\n\"fiber\"\n1\n0\n3\n0\n3\n3\n1 1 0 0\n2 0 0.707107 0.707107\n3 1 0 0\n"
		    "$EndElementData\n"
		    "$ElementData\n1\n\"sheet\"\n1\n0\n3\n0\n3\n3\n1 0 1 0\n2 0 -0.707107 0.707107\n3 0 1 0\n"
		    "$EndElementData\n");
	/* with an apex: a point entity, a point element and its fibre (that of tet 0) */
	md.apex_node = 3;
	dir = fresh_dir("ex_gmsh_apex");
	assert_int_equal(ctw_write_gmsh(ctx, &md, dir), CTW_OK);
	{
		char *s = slurp(dir, "heart.msh");
		assert_non_null(strstr(s, "$PhysicalNames\n4\n3 1 \"LV\"\n3 2 \"RV\"\n2 14 \"base\"\n0 100 \"apex\"\n"));
		assert_non_null(strstr(s, "$Entities\n1 0 1 2\n1 0 0 1 1 100\n4 "));
		assert_non_null(strstr(s, "$Elements\n4 4 1 4\n"));
		assert_non_null(strstr(s, "0 1 15 1\n4 4\n$EndElements\n"));
		assert_non_null(strstr(s, "3 1 0 0\n4 1 0 0\n$EndElementData\n"));
		free(s);
	}
	md.apex_node = -1;

	/* FEBio (§4: the spec's structure, one element per line) */
	dir = fresh_dir("ex_febio");
	assert_int_equal(ctw_write_febio(ctx, &md, dir), CTW_OK);
	snprintf(want, sizeof(want),
		 "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
		 "<!-- heart test mesh: written by cardiotwin %s; units mm; provenance: see provenance.xml -->\n"
		 "<febio_spec version=\"4.0\">\n"
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
		 "    <Nodes name=\"heart\">\n"
		 "      <node id=\"1\">0,0,0</node>\n"
		 "      <node id=\"2\">1,0,0</node>\n"
		 "      <node id=\"3\">0,1,0</node>\n"
		 "      <node id=\"4\">0,0,1</node>\n"
		 "      <node id=\"5\">1,1,1</node>\n"
		 "    </Nodes>\n"
		 "    <Elements type=\"tet4\" name=\"LV\">\n"
		 "      <elem id=\"1\">1,2,3,4</elem>\n"
		 "    </Elements>\n"
		 "    <Elements type=\"tet4\" name=\"RV\">\n"
		 "      <elem id=\"2\">2,3,4,5</elem>\n"
		 "    </Elements>\n"
		 "    <Surface name=\"base\">\n"
		 "      <tri3 id=\"1\">1,3,2</tri3>\n"
		 "    </Surface>\n"
		 "    <NodeSet name=\"base_nodes\">1,2,3</NodeSet>\n"
		 "  </Mesh>\n"
		 "  <MeshDomains>\n"
		 "    <SolidDomain name=\"LV\" mat=\"myocardium\"/>\n"
		 "    <SolidDomain name=\"RV\" mat=\"myocardium\"/>\n"
		 "  </MeshDomains>\n"
		 "  <MeshData>\n"
		 "    <ElementData type=\"mat_axis\" elem_set=\"LV\">\n"
		 "      <elem lid=\"1\"><a>1,0,0</a><d>0,1,0</d></elem>\n"
		 "    </ElementData>\n"
		 "    <ElementData type=\"mat_axis\" elem_set=\"RV\">\n"
		 "      <elem lid=\"1\"><a>0,0.707107,0.707107</a><d>0,-0.707107,0.707107</d></elem>\n"
		 "    </ElementData>\n"
		 "  </MeshData>\n"
		 "  <Boundary>\n"
		 "    <bc name=\"fix_base\" node_set=\"base_nodes\" type=\"zero displacement\">\n"
		 "      <x_dof>1</x_dof>\n"
		 "      <y_dof>1</y_dof>\n"
		 "      <z_dof>1</z_dof>\n"
		 "    </bc>\n"
		 "  </Boundary>\n"
		 "</febio_spec>\n",
		 CTW_VERSION);
	assert_file(dir, "heart.feb", want);

	/* TetGen/Chaste (0-based; n = f x s) */
	dir = fresh_dir("ex_tetgen");
	assert_int_equal(ctw_write_tetgen(ctx, &md, dir), CTW_OK);
	snprintf(want, sizeof(want),
		 "# heart test mesh: nodes (mm), 0-based, written by cardiotwin %s\n5 3 0 0\n0 0 0 0\n1 1 0 0\n"
		 "2 0 1 0\n3 0 0 1\n4 1 1 1\n",
		 CTW_VERSION);
	assert_file(dir, "heart.node", want);
	assert_file(dir, "heart.ele",
		    "# heart test mesh: tetrahedra, 0-based, attribute = region (1 LV, 2 RV)\n2 4 1\n0 0 1 2 3 1\n"
		    "1 1 2 3 4 2\n");
	assert_file(dir, "heart.face",
		    "# heart test mesh: boundary faces, 0-based, outward, marker = surface (1 epi, 2 lv_endo, "
		    "3 rv_endo, 4 base)\n1 1\n0 0 2 1 4\n");
	assert_file(dir, "heart.ortho",
		    "2\n1 0 0 0 1 0 0 0 1\n0 0.707107 0.707107 0 -0.707107 0.707107 1 0 0\n");

	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

/* ---- orientation and owners ---------------------------------------------------------------------- */

static void test_export_writers_orient(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = example_mesh(ctx);
	int32_t *owner = NULL, *opp = NULL;
	int64_t ft = -1, fr = -1;
	(void)state;

	/* tet A inside out, the base triangle inwards: both flipped back */
	m->tets[2] = 3, m->tets[3] = 2;
	m->tris[1] = 1, m->tris[2] = 2;
	assert_true(ctw_tetmesh_tet_volume(m, 0) < 0);
	assert_int_equal(ctw_model_orient(ctx, "example", m, &ft, &fr), CTW_OK);
	assert_int_equal(ft, 1);
	assert_int_equal(fr, 1);
	assert_true(ctw_tetmesh_tet_volume(m, 0) > 0 && ctw_tetmesh_tet_volume(m, 1) > 0);
	assert_int_equal(m->tets[2], 2);
	assert_int_equal(m->tets[3], 3);
	assert_int_equal(m->tris[1], 2);
	assert_int_equal(m->tris[2], 1);
	assert_int_equal(ctw_model_orient(ctx, "example", m, NULL, NULL), CTW_OK); /* idempotent */
	assert_int_equal(ctw_tetmesh_tri_owners(ctx, "example", m, &owner, &opp), CTW_OK);
	assert_int_equal(owner[0], 0);
	assert_int_equal(opp[0], 3);
	ctw_free(ctx, owner);
	ctw_free(ctx, opp);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

static void test_export_writers_bad_triangles(void **state)
{
	static const struct {
		int32_t tri[3];
		const char *msg;
	} bad[] = {
		{ { 1, 2, 3 }, "is a face of two tetrahedra (0 and 1)" }, /* the interior face */
		{ { 0, 1, 4 }, "is not a face of any tetrahedron" },
		{ { 0, 0, 1 }, "repeats a node" },
	};
	ctw_ctx *ctx = ctw_ctx_new();
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ctw_tetmesh *m = example_mesh(ctx);
		ctw_model md = example_model(m);
		int32_t *owner = (int32_t *)1, *opp = (int32_t *)1;
		memcpy(m->tris, bad[i].tri, sizeof(bad[i].tri));
		m->tri_marker[0] = CTW_SURF_EPI;
		assert_int_equal(ctw_tetmesh_tri_owners(ctx, "heart.vtu", m, &owner, &opp), CTW_ERR_FORMAT);
		assert_null(owner);
		assert_null(opp);
		print_message("%s\n", ctw_errmsg(ctx));
		assert_non_null(strstr(ctw_errmsg(ctx), "heart.vtu: boundary triangle 0 (epi, nodes"));
		assert_non_null(strstr(ctw_errmsg(ctx), "centroid"));
		assert_non_null(strstr(ctw_errmsg(ctx), bad[i].msg));
		assert_int_equal(ctw_model_orient(ctx, "heart.vtu", m, NULL, NULL), CTW_ERR_FORMAT);
		/* writers that need the owners fail the same way, and write nothing */
		const char *dir = fresh_dir("bad_tri");
		assert_int_equal(ctw_write_opencarp(ctx, &md, dir), CTW_ERR_FORMAT);
		assert_false(exists(dir, "heart.pts"));
		assert_int_equal(ctw_write_gmsh(ctx, &md, dir), CTW_ERR_FORMAT);
		assert_false(exists(dir, "heart.msh"));
		ctw_tetmesh_free(ctx, m);
	}
	/* two triangles on the same face */
	{
		ctw_tetmesh *m;
		assert_int_equal(ctw_tetmesh_new(ctx, 5, 2, 2, &m), CTW_OK);
		ctw_tetmesh *e = example_mesh(ctx);
		memcpy(m->xyz, e->xyz, sizeof(double) * 15);
		memcpy(m->tets, e->tets, sizeof(int32_t) * 8);
		m->region[0] = 1, m->region[1] = 2;
		int32_t t[6] = { 0, 2, 1, 1, 0, 2 };
		memcpy(m->tris, t, sizeof(t));
		m->tri_marker[0] = m->tri_marker[1] = CTW_SURF_BASE;
		assert_int_equal(ctw_model_orient(ctx, "dup", m, NULL, NULL), CTW_ERR_FORMAT);
		assert_non_null(strstr(ctw_errmsg(ctx), "boundary triangle 1 (base"));
		assert_non_null(strstr(ctw_errmsg(ctx), "has the nodes of boundary triangle 0"));
		ctw_tetmesh_free(ctx, e);
		ctw_tetmesh_free(ctx, m);
	}
	ctw_ctx_free(ctx);
}

/* ---- --formats ------------------------------------------------------------------------------------ */

static void test_export_writers_formats_parse(void **state)
{
	static const struct {
		const char *list;
		unsigned bits;
	} good[] = { { "opencarp", CTW_FMT_OPENCARP },
		     { "all", CTW_FMT_ALL },
		     { "opencarp,vtk,gmsh,febio,tetgen", CTW_FMT_ALL },
		     { " gmsh , febio ", CTW_FMT_GMSH | CTW_FMT_FEBIO },
		     { "tetgen,tetgen", CTW_FMT_TETGEN },
		     { "vtk,all", CTW_FMT_ALL } };
	static const struct {
		const char *list, *msg;
	} badl[] = { { "vtu", "unknown format 'vtu'" },
		     { "vtk,carp", "unknown format 'carp'" },
		     { "VTK", "unknown format 'VTK'" },
		     { "", "empty entry" },
		     { "vtk,,gmsh", "empty entry" },
		     { "vtk,", "empty entry" } };
	ctw_ctx *ctx = ctw_ctx_new();
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		unsigned b = 0;
		assert_int_equal(ctw_formats_parse(ctx, good[i].list, &b), CTW_OK);
		assert_int_equal(b, good[i].bits);
	}
	for (size_t i = 0; i < sizeof(badl) / sizeof(badl[0]); i++) {
		unsigned b = 12345;
		assert_int_equal(ctw_formats_parse(ctx, badl[i].list, &b), CTW_ERR_INVALID);
		assert_int_equal(b, 12345);
		assert_non_null(strstr(ctw_errmsg(ctx), badl[i].msg));
		assert_non_null(strstr(ctw_errmsg(ctx), "expected opencarp, vtk, gmsh, febio, tetgen or all"));
	}
	assert_int_equal(ctw_formats_parse(ctx, NULL, &(unsigned){ 0 }), CTW_ERR_INVALID);
	ctw_ctx_free(ctx);
}

/* ---- an LV with LDRB fibres through independent readers --------------------------------------------- */

static const char *const py_check[] = {
	"import sys, os\n",
	"d = sys.argv[1]\n",
	"apex = int(sys.argv[2])\n",
	"try:\n",
	"    import numpy as np\n",
	"except ImportError:\n",
	"    print(\"skip: no numpy\")\n",
	"    sys.exit(77)\n",
	"def fail(msg):\n",
	"    print(\"FAIL\", msg)\n",
	"    sys.exit(1)\n",
	"def check(c, msg):\n",
	"    if not c:\n",
	"        fail(msg)\n",
	"def ref(name, dt, w):\n",
	"    a = np.fromfile(os.path.join(d, name), dtype=dt)\n",
	"    return a.reshape(-1, w) if w > 1 else a\n",
	"xyz = ref(\"ref_xyz.bin\", np.float64, 3)\n",
	"fib = ref(\"ref_fiber.bin\", np.float64, 3)\n",
	"sh = ref(\"ref_sheet.bin\", np.float64, 3)\n",
	"tets = ref(\"ref_tets.bin\", np.int32, 4)\n",
	"reg = ref(\"ref_region.bin\", np.int32, 1)\n",
	"tris = ref(\"ref_tris.bin\", np.int32, 3)\n",
	"mk = ref(\"ref_marker.bin\", np.int32, 1)\n",
	"N, M, K = len(xyz), len(tets), len(tris)\n",
	"TOL = 5e-7 + 1e-12        # half a unit of the 6th decimal\n",
	"names = {1: \"epi\", 2: \"lv_endo\", 3: \"rv_endo\", 4: \"base\"}\n",
	"# owners, independently: every face of every tet in a dictionary\n",
	"faces = {}\n",
	"for t in range(M):\n",
	"    for j in range(4):\n",
	"        f = tuple(sorted(tets[t][k] for k in range(4) if k != j))\n",
	"        faces.setdefault(f, []).append((t, tets[t][j]))\n",
	"owner = np.zeros(K, dtype=int)\n",
	"for i in range(K):\n",
	"    hit = faces.get(tuple(sorted(tris[i])), [])\n",
	"    check(len(hit) == 1, \"triangle %d owners %s\" % (i, hit))\n",
	"    owner[i] = hit[0][0]\n",
	"def lines(path):\n",
	"    with open(path) as f:\n",
	"        return f.read().split(\"\\n\")\n",
	"def table(path, skip, cols=None, dt=float):\n",
	"    return np.loadtxt(path, skiprows=skip, usecols=cols, dtype=dt, ndmin=2)\n",
	"out = []\n",
	"\n",
	"# ---- openCARP (numpy) ----\n",
	"oc = os.path.join(d, \"opencarp\")\n",
	"L = lines(oc + \"/heart.pts\")\n",
	"check(int(L[0]) == N, \"pts header\")\n",
	"pts = table(oc + \"/heart.pts\", 1)\n",
	"check(pts.shape == (N, 3) and np.abs(pts / 1000 - xyz).max() <= TOL, \"pts values (um)\")\n",
	"L = lines(oc + \"/heart.elem\")\n",
	"check(int(L[0]) == M and L[1].startswith(\"Tt \"), \"elem header\")\n",
	"el = table(oc + \"/heart.elem\", 1, (1, 2, 3, 4, 5), int)\n",
	"check((el[:, :4] == tets).all() and (el[:, 4] == reg).all(), \"elem values\")\n",
	"L = lines(oc + \"/heart.lon\")\n",
	"check(L[0] == \"2\", \"lon header\")\n",
	"lon = table(oc + \"/heart.lon\", 1)\n",
	"check(lon.shape == (M, 6), \"lon rows = elements\")\n",
	"check(np.abs(lon[:, :3] - fib).max() <= TOL and np.abs(lon[:, 3:] - sh).max() <= TOL, \"lon values\")\n",
	"check(np.abs(np.linalg.norm(lon[:, :3], axis=1) - 1).max() < 2e-6, \"lon unit fibres\")\n",
	"check(np.abs(np.linalg.norm(lon[:, 3:], axis=1) - 1).max() < 2e-6, \"lon unit sheets\")\n",
	"check(np.abs((lon[:, :3] * lon[:, 3:]).sum(1)).max() < 2e-6, \"lon f.s = 0\")\n",
	"for sid, nm in names.items():\n",
	"    sel = mk == sid\n",
	"    present = os.path.exists(oc + \"/\" + nm + \".surf\")\n",
	"    check(present == bool(sel.any()), nm + \" presence\")\n",
	"    if not present:\n",
	"        continue\n",
	"    L = lines(oc + \"/\" + nm + \".surf\")\n",
	"    check(int(L[0]) == sel.sum() and L[1].startswith(\"Tr \"), nm + \".surf header\")\n",
	"    s = table(oc + \"/\" + nm + \".surf\", 1, (1, 2, 3), int)\n",
	"    check((s == tris[sel]).all(), nm + \".surf values\")\n",
	"    L = lines(oc + \"/\" + nm + \".surf.vtx\")\n",
	"    u = np.unique(tris[sel])\n",
	"    check(int(L[0]) == len(u) and L[1] == \"extra\", nm + \".surf.vtx header\")\n",
	"    check((np.array([int(x) for x in L[2:2 + len(u)]]) == u).all() and L[2 + len(u)] == \"\", nm + \".surf.vtx nodes\")\n",
	"    L = lines(oc + \"/\" + nm + \".neubc\")\n",
	"    check(L[0] == \"%d # mesh elast %d %d :\" % (sel.sum(), M, N), nm + \".neubc header\")\n",
	"    nb = table(oc + \"/\" + nm + \".neubc\", 1, None, int)\n",
	"    check((nb[:, :3] == tris[sel]).all(), nm + \".neubc faces\")\n",
	"    check((nb[:, 5] == owner[sel]).all(), nm + \".neubc owners\")\n",
	"    check((nb[:, 3] == reg[nb[:, 5]]).all(), nm + \".neubc owner tags\")\n",
	"    for r in nb:\n",
	"        a, b, c, tag, opp, e = r\n",
	"        check(set(tets[e]) == {a, b, c, opp} and opp not in (a, b, c), nm + \".neubc opposite\")\n",
	"        n = np.cross(xyz[b] - xyz[a], xyz[c] - xyz[a])\n",
	"        check(np.dot(n, xyz[opp] - xyz[a]) < 0, nm + \".neubc outward\")\n",
	"out.append(\"opencarp ok\")\n",
	"\n",
	"# ---- TetGen / Chaste (numpy) ----\n",
	"tg = os.path.join(d, \"tetgen\")\n",
	"nd = table(tg + \"/heart.node\", 2)\n",
	"check(lines(tg + \"/heart.node\")[1] == \"%d 3 0 0\" % N, \"node header\")\n",
	"check((nd[:, 0] == np.arange(N)).all() and np.abs(nd[:, 1:] - xyz).max() <= TOL, \"node values\")\n",
	"ele = table(tg + \"/heart.ele\", 2, None, int)\n",
	"check(lines(tg + \"/heart.ele\")[1] == \"%d 4 1\" % M, \"ele header\")\n",
	"check((ele[:, 0] == np.arange(M)).all() and (ele[:, 1:5] == tets).all() and (ele[:, 5] == reg).all(), \"ele values\")\n",
	"fc = table(tg + \"/heart.face\", 2, None, int)\n",
	"check(lines(tg + \"/heart.face\")[1] == \"%d 1\" % K, \"face header\")\n",
	"check((fc[:, 1:4] == tris).all() and (fc[:, 4] == mk).all(), \"face values\")\n",
	"L = lines(tg + \"/heart.ortho\")\n",
	"check(int(L[0]) == M, \"ortho header\")\n",
	"o = table(tg + \"/heart.ortho\", 1)\n",
	"check(o.shape == (M, 9), \"ortho rows\")\n",
	"check(np.abs(o[:, :3] - fib).max() <= TOL and np.abs(o[:, 3:6] - sh).max() <= TOL, \"ortho f, s\")\n",
	"check(np.abs(o[:, 6:] - np.cross(fib, sh)).max() <= TOL, \"ortho n = f x s\")\n",
	"for a, b in ((0, 0), (3, 3), (6, 6), (0, 3), (0, 6), (3, 6)):\n",
	"    dot = (o[:, a:a + 3] * o[:, b:b + 3]).sum(1)\n",
	"    check(np.abs(dot - (1 if a == b else 0)).max() < 1e-4, \"ortho orthonormal (Chaste: 1e-4)\")\n",
	"out.append(\"tetgen ok\")\n",
	"\n",
	"# ---- FEBio (ElementTree) ----\n",
	"import xml.etree.ElementTree as ET\n",
	"root = ET.parse(os.path.join(d, \"febio\", \"heart.feb\")).getroot()\n",
	"check(root.tag == \"febio_spec\" and root.get(\"version\") == \"4.0\", \"feb root\")\n",
	"check([c.tag for c in root][0] == \"Module\", \"feb Module first\")\n",
	"msh = root.find(\"Mesh\")\n",
	"nodes = msh.find(\"Nodes\")\n",
	"ids = [int(n.get(\"id\")) for n in nodes]\n",
	"check(ids == list(range(1, N + 1)), \"feb node ids\")\n",
	"fx = np.array([[float(v) for v in n.text.split(\",\")] for n in nodes])\n",
	"check(np.abs(fx - xyz).max() <= TOL, \"feb node coordinates\")\n",
	"eid = 1\n",
	"for el in msh.findall(\"Elements\"):\n",
	"    r = {\"LV\": 1, \"RV\": 2}.get(el.get(\"name\"))\n",
	"    check(el.get(\"type\") == \"tet4\" and r is not None, \"feb Elements block\")\n",
	"    sel = np.nonzero(reg == r)[0]\n",
	"    got = np.array([[int(v) for v in e.text.split(\",\")] for e in el]) - 1\n",
	"    check((got == tets[sel]).all(), \"feb connectivity \" + el.get(\"name\"))\n",
	"    check([int(e.get(\"id\")) for e in el] == list(range(eid, eid + len(sel))), \"feb element ids\")\n",
	"    eid += len(sel)\n",
	"    dat = [x for x in root.find(\"MeshData\") if x.get(\"elem_set\") == el.get(\"name\")]\n",
	"    check(len(dat) == 1 and dat[0].get(\"type\") == \"mat_axis\", \"feb mat_axis \" + el.get(\"name\"))\n",
	"    check([int(e.get(\"lid\")) for e in dat[0]] == list(range(1, len(sel) + 1)), \"feb lids\")\n",
	"    a = np.array([[float(v) for v in e.find(\"a\").text.split(\",\")] for e in dat[0]])\n",
	"    dd = np.array([[float(v) for v in e.find(\"d\").text.split(\",\")] for e in dat[0]])\n",
	"    check(np.abs(a - fib[sel]).max() <= TOL and np.abs(dd - sh[sel]).max() <= TOL, \"feb a, d\")\n",
	"check(eid == M + 1, \"feb all elements\")\n",
	"for sid, nm in names.items():\n",
	"    s = [x for x in msh.findall(\"Surface\") if x.get(\"name\") == nm]\n",
	"    check(len(s) == int((mk == sid).any()), \"feb surface \" + nm)\n",
	"    if s:\n",
	"        got = np.array([[int(v) for v in t.text.split(\",\")] for t in s[0]]) - 1\n",
	"        check((got == tris[mk == sid]).all(), \"feb surface facets \" + nm)\n",
	"ns = msh.find(\"NodeSet\")\n",
	"check(ns is not None and ns.get(\"name\") == \"base_nodes\", \"feb base_nodes\")\n",
	"check([int(v) - 1 for v in ns.text.split(\",\")] == list(np.unique(tris[mk == 4])), \"feb base_nodes values\")\n",
	"check(root.find(\"Boundary/bc\").get(\"node_set\") == \"base_nodes\", \"feb fix_base\")\n",
	"out.append(\"febio ok\")\n",
	"\n",
	"try:\n",
	"    import meshio\n",
	"except ImportError:\n",
	"    print(\" / \".join(out) + \" / skip: no meshio\")\n",
	"    sys.exit(0)\n",
	"\n",
	"# ---- legacy VTK (meshio) ----\n",
	"m = meshio.read(os.path.join(d, \"vtk\", \"heart.vtk\"))\n",
	"check(m.points.shape == (N, 3) and (m.points == xyz).all(), \"vtk points (binary: exact)\")\n",
	"check(len(m.cells) == 1 and m.cells[0].type == \"tetra\" and (m.cells[0].data == tets).all(), \"vtk cells\")\n",
	"cd = m.cell_data\n",
	"check((cd[\"region\"][0].ravel() == reg).all(), \"vtk region\")\n",
	"check((cd[\"fiber\"][0] == fib).all() and (cd[\"sheet\"][0] == sh).all(), \"vtk fibres (binary: exact)\")\n",
	"want = sys.argv[3].split(\",\") if len(sys.argv) > 3 else []\n",
	"for w in want:\n",
	"    loc, nm = w.split(\":\")\n",
	"    check(nm in (cd if loc == \"c\" else m.point_data), \"vtk field \" + w)\n",
	"out.append(\"vtk ok\")\n",
	"try:\n",
	"    import vtk\n",
	"    r = vtk.vtkUnstructuredGridReader()\n",
	"    r.SetFileName(os.path.join(d, \"vtk\", \"heart.vtk\"))\n",
	"    r.ReadAllFieldsOn()\n",
	"    r.ReadAllScalarsOn()\n",
	"    r.Update()\n",
	"    g = r.GetOutput()\n",
	"    c = g.GetCellData()\n",
	"    check(g.GetNumberOfPoints() == N and g.GetNumberOfCells() == M and g.GetCellType(0) == 10, \"VTK counts\")\n",
	"    for nm in [\"region\", \"fiber\", \"sheet\"] + [w[2:] for w in want if w[0] == \"c\"]:\n",
	"        check(c.GetArray(nm) is not None, \"VTK cell array \" + nm)\n",
	"    for nm in [w[2:] for w in want if w[0] == \"p\"]:\n",
	"        check(g.GetPointData().GetArray(nm) is not None, \"VTK point array \" + nm)\n",
	"    f, s = c.GetArray(\"fiber\"), c.GetArray(\"sheet\")\n",
	"    check(f.GetNumberOfComponents() == 3 and s.GetNumberOfTuples() == M, \"VTK fibre arrays\")\n",
	"    check(max(abs(s.GetComponent(M - 1, k) - sh[M - 1][k]) for k in range(3)) <= TOL + 1e-7, \"VTK sheet value\")\n",
	"    out.append(\"VTK reader ok\")\n",
	"except ImportError:\n",
	"    out.append(\"skip: no vtk\")\n",
	"\n",
	"# ---- Gmsh (meshio) ----\n",
	"m = meshio.read(os.path.join(d, \"gmsh\", \"heart.msh\"))\n",
	"check(m.points.shape == (N, 3) and np.abs(m.points - xyz).max() <= TOL, \"msh points\")\n",
	"phys = m.cell_data[\"gmsh:physical\"]\n",
	"tet_blocks = [i for i, c in enumerate(m.cells) if c.type == \"tetra\"]\n",
	"order = np.concatenate([np.nonzero(reg == r)[0] for r in np.unique(reg)])\n",
	"got = np.concatenate([m.cells[i].data for i in tet_blocks])\n",
	"check((got == tets[order]).all(), \"msh tetrahedra\")\n",
	"check((np.concatenate([phys[i] for i in tet_blocks]) == reg[order]).all(), \"msh region tags\")\n",
	"fb = np.concatenate([m.cell_data[\"fiber\"][i] for i in tet_blocks])\n",
	"check(np.abs(fb - fib[order]).max() <= TOL, \"msh fibres\")\n",
	"sb = np.concatenate([m.cell_data[\"sheet\"][i] for i in tet_blocks])\n",
	"check(np.abs(sb - sh[order]).max() <= TOL, \"msh sheets\")\n",
	"tri_blocks = [i for i, c in enumerate(m.cells) if c.type == \"triangle\"]\n",
	"ids = [s for s in names if (mk == s).any()]\n",
	"check(len(tri_blocks) == len(ids), \"msh triangle blocks\")\n",
	"for i, s in zip(tri_blocks, ids):\n",
	"    check((m.cells[i].data == tris[mk == s]).all() and (phys[i] == 10 + s).all(), \"msh surface \" + names[s])\n",
	"    check(np.abs(m.cell_data[\"fiber\"][i] - fib[owner[mk == s]]).max() <= TOL, \"msh triangle fibres\")\n",
	"    check(list(m.field_data[names[s]]) == [10 + s, 2], \"msh physical name \" + names[s])\n",
	"check(list(m.field_data[\"LV\"]) == [1, 3], \"msh physical name LV\")\n",
	"if apex >= 0:\n",
	"    v = [i for i, c in enumerate(m.cells) if c.type == \"vertex\"]\n",
	"    check(len(v) == 1 and m.cells[v[0]].data.tolist() == [[apex]] and phys[v[0]].tolist() == [100], \"msh apex\")\n",
	"    check(list(m.field_data[\"apex\"]) == [100, 0], \"msh physical name apex\")\n",
	"check(sum(len(c.data) for c in m.cells) == M + K + (apex >= 0), \"msh element count\")\n",
	"out.append(\"gmsh ok\")\n",
	"\n",
	"# ---- TetGen (meshio) ----\n",
	"m = meshio.read(os.path.join(d, \"tetgen\", \"heart.node\"))\n",
	"check(np.abs(m.points - xyz).max() <= TOL and (m.cells[0].data == tets).all(), \"meshio tetgen\")\n",
	"check((m.cell_data[\"tetgen:ref\"][0] == reg).all(), \"meshio tetgen regions\")\n",
	"out.append(\"tetgen/meshio ok\")\n",
	"print(\" / \".join(out))\n",
	NULL
};

static void write_ref(const char *dir, const char *name, const void *p, size_t size, int64_t n)
{
	char path[600];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, size, (size_t)n, f), (size_t)n);
	assert_int_equal(fclose(f), 0);
}

static void test_export_writers_readers(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_lvgen_opts o = { 7, 10, 17, 20, 5, 3, 8, 16 };
	ctw_fiber_opts fo = CTW_FIBER_OPTS_INIT;
	ctw_fiber_result res;
	ctw_tetmesh *m;
	int64_t apex, ft, fr;
	const ctw_field *fields[16];
	int nf = 0;
	char path[600], cmd[2048], out[8192];
	const char *dir = fresh_dir("lv");
	(void)state;

	assert_int_equal(ctw_lvgen(ctx, &o, &m, &apex), CTW_OK);
	memset(&res, 0, sizeof(res));
	assert_int_equal(ctw_fibers_compute(ctx, "lvgen", m, 0, &fo, &res), CTW_OK);
	assert_int_equal(ctw_model_orient(ctx, "lvgen", m, &ft, &fr), CTW_OK);
	assert_int_equal(ft, 0); /* lvgen's tets are positive and its faces outward already */
	assert_int_equal(fr, 0);
	for (int i = 0; i < res.n_fields; i++)
		fields[nf++] = res.fields[i]; /* fiber and sheet among them: skipped by the VTK writer */
	ctw_model md = { m, res.fiber->values, res.sheet->values, fields, nf, apex, "lvgen LV" };
	for (int w = 0; w < N_WRITERS; w++) {
		snprintf(path, sizeof(path), "%s/%s", dir, writers[w].name);
		assert_int_equal(mkdir(path, 0777), 0);
		assert_int_equal(writers[w].fn(ctx, &md, path), CTW_OK);
	}
	write_ref(dir, "ref_xyz.bin", m->xyz, sizeof(double), 3 * m->n_points);
	write_ref(dir, "ref_fiber.bin", md.fiber, sizeof(double), 3 * m->n_tets);
	write_ref(dir, "ref_sheet.bin", md.sheet, sizeof(double), 3 * m->n_tets);
	write_ref(dir, "ref_tets.bin", m->tets, sizeof(int32_t), 4 * m->n_tets);
	write_ref(dir, "ref_region.bin", m->region, sizeof(int32_t), m->n_tets);
	write_ref(dir, "ref_tris.bin", m->tris, sizeof(int32_t), 3 * m->n_tris);
	write_ref(dir, "ref_marker.bin", m->tri_marker, sizeof(int32_t), m->n_tris);

	/* numpy, ElementTree, meshio, VTK */
	if (access("/usr/bin/python3", X_OK) == 0) {
		FILE *f;
		snprintf(path, sizeof(path), "%s/check.py", tmpdir);
		f = fopen(path, "w");
		assert_non_null(f);
		for (int i = 0; py_check[i]; i++)
			assert_true(fputs(py_check[i], f) >= 0);
		assert_int_equal(fclose(f), 0);
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 '%s' '%s' %lld c:helix_angle,c:fiber_region,c:sheet_normal,p:phi_epi,p:psi_ab 2>&1",
			 path, dir, (long long)apex);
		int st = run(cmd, out, sizeof(out));
		print_message("python: %s", out);
		if (st == 77)
			print_message("skipped: %s", out);
		else
			assert_int_equal(st, 0);
	} else
		print_message("skipped: no /usr/bin/python3\n");

	/* the gmsh program */
	if (access("/usr/bin/gmsh", X_OK) == 0) {
		char want[64];
		snprintf(cmd, sizeof(cmd), "cd '%s/gmsh' && /usr/bin/gmsh -check heart.msh 2>&1", dir);
		assert_int_equal(run(cmd, out, sizeof(out)), 0);
		snprintf(want, sizeof(want), "Info    : %lld elements\n", (long long)(m->n_tets + m->n_tris + 1));
		if (!strstr(out, want) || strstr(out, "Error") || strstr(out, "Warning"))
			print_message("gmsh: %s\n", out);
		assert_non_null(strstr(out, want));
		snprintf(want, sizeof(want), "Info    : %lld nodes\n", (long long)m->n_points);
		assert_non_null(strstr(out, want));
		assert_null(strstr(out, "Error"));
		assert_null(strstr(out, "Warning"));
	} else
		print_message("skipped: no /usr/bin/gmsh\n");

	/* xmllint */
	if (access("/usr/bin/xmllint", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "/usr/bin/xmllint --noout '%s/febio/heart.feb' 2>&1", dir);
		int st = run(cmd, out, sizeof(out));
		if (st != 0)
			print_message("xmllint: %s\n", out);
		assert_int_equal(st, 0);
		assert_string_equal(out, "");
	} else
		print_message("skipped: no /usr/bin/xmllint\n");

	/* Debian's tetgen rebuilds the mesh from .node/.ele/.face (-r) */
	if (access("/usr/bin/tetgen", X_OK) == 0) {
		char want[64];
		snprintf(cmd, sizeof(cmd),
			 "cd '%s/tetgen' && cp heart.node t.1.node && cp heart.ele t.1.ele && cp heart.face t.1.face && "
			 "/usr/bin/tetgen -rV t.1 2>&1",
			 dir);
		int st = run(cmd, out, sizeof(out));
		if (st != 0)
			print_message("tetgen: %s\n", out);
		assert_int_equal(st, 0);
		snprintf(want, sizeof(want), "Input points: %lld\n", (long long)m->n_points);
		assert_non_null(strstr(out, want));
		snprintf(want, sizeof(want), "Mesh tetrahedra: %lld\n", (long long)m->n_tets);
		assert_non_null(strstr(out, want));
		snprintf(want, sizeof(want), "Mesh faces on facets: %lld\n", (long long)m->n_tris);
		assert_non_null(strstr(out, want));
	} else
		print_message("skipped: no /usr/bin/tetgen\n");

	/* our own MSH reader: tags, surfaces and apex come back by their physical names */
	{
		ctw_mesh_in in;
		int64_t c_got[5] = { 0 }, c_want[5] = { 0 };
		memset(&in, 0, sizeof(in));
		snprintf(path, sizeof(path), "%s/gmsh/heart.msh", dir);
		assert_int_equal(ctw_gmsh_read(ctx, path, &in), CTW_OK);
		assert_int_equal(in.mesh->n_points, m->n_points);
		assert_int_equal(in.mesh->n_tets, m->n_tets);
		assert_int_equal(in.mesh->n_tris, m->n_tris);
		assert_int_equal(in.apex_node, apex);
		assert_memory_equal(in.mesh->tets, m->tets, sizeof(int32_t) * 4 * (size_t)m->n_tets);
		for (int64_t i = 0; i < m->n_tets; i++)
			assert_int_equal(in.mesh->region[i], m->region[i]);
		for (int64_t i = 0; i < m->n_tris; i++) {
			c_got[in.mesh->tri_marker[i]]++;
			c_want[m->tri_marker[i]]++;
		}
		assert_memory_equal(c_got, c_want, sizeof(c_got));
		for (int64_t i = 0; i < 3 * m->n_points; i++)
			assert_true(fabs(in.mesh->xyz[i] - m->xyz[i]) <= 5.0001e-7);
		/* (ctw_mesh_in_release lives with the VTK readers: released by hand) */
		for (int i = 0; i < in.n_fields; i++)
			ctw_field_free(ctx, in.fields[i]);
		ctw_free(ctx, in.fields);
		ctw_tetmesh_free(ctx, in.mesh);
	}

	ctw_fiber_result_release(ctx, &res);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

/* ---- a model without fibres -------------------------------------------------------------------- */

static void test_export_writers_no_fibres(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = example_mesh(ctx);
	ctw_model md = example_model(m);
	const char *dir;
	char *s;
	(void)state;
	md.fiber = md.sheet = NULL;

	/* openCARP: the mesh and surfaces, no heart.lon (a stale one is removed) */
	dir = fresh_dir("nofib_opencarp");
	touch(dir, "heart.lon");
	assert_int_equal(ctw_write_opencarp(ctx, &md, dir), CTW_OK);
	assert_true(exists(dir, "heart.pts") && exists(dir, "heart.elem") && exists(dir, "base.neubc"));
	assert_false(exists(dir, "heart.lon"));
	/* TetGen: no heart.ortho (a stale one is removed) */
	dir = fresh_dir("nofib_tetgen");
	touch(dir, "heart.ortho");
	assert_int_equal(ctw_write_tetgen(ctx, &md, dir), CTW_OK);
	assert_true(exists(dir, "heart.node") && exists(dir, "heart.ele") && exists(dir, "heart.face"));
	assert_false(exists(dir, "heart.ortho"));
	/* VTK: region only; Gmsh: no $ElementData; FEBio: no MeshData */
	dir = fresh_dir("nofib_other");
	assert_int_equal(ctw_write_vtk_legacy(ctx, &md, dir), CTW_OK);
	{
		size_t n;
		s = slurp_n(dir, "heart.vtk", &n);
		static const char tail[] = "LOOKUP_TABLE default\n\0\0\0\1\0\0\0\2\n"; /* big-endian 1, 2: the end */
		assert_true(n > sizeof(tail) - 1);
		assert_memory_equal(s + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
		assert_null(strstr(s, "FIELD"));
		free(s);
	}
	assert_int_equal(ctw_write_gmsh(ctx, &md, dir), CTW_OK);
	s = slurp(dir, "heart.msh");
	assert_null(strstr(s, "$ElementData"));
	free(s);
	assert_int_equal(ctw_write_febio(ctx, &md, dir), CTW_OK);
	s = slurp(dir, "heart.feb");
	assert_null(strstr(s, "MeshData"));
	assert_non_null(strstr(s, "<Boundary>"));
	free(s);
	/* no base: no NodeSet, no Boundary */
	m->tri_marker[0] = CTW_SURF_EPI;
	assert_int_equal(ctw_write_febio(ctx, &md, dir), CTW_OK);
	s = slurp(dir, "heart.feb");
	assert_null(strstr(s, "NodeSet"));
	assert_null(strstr(s, "Boundary"));
	assert_non_null(strstr(s, "<Surface name=\"epi\">"));
	free(s);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

/* ---- models the writers refuse ------------------------------------------------------------------- */

static void test_export_writers_bad_models(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = example_mesh(ctx);
	ctw_field *f;
	double nan_fibre[6] = { 1, 0, 0, NAN, 0, 0 };
	const char *dir = fresh_dir("bad_models");
	(void)state;
	assert_int_equal(ctw_field_new(ctx, "phi", CTW_ON_POINTS, 1, 4, &f), CTW_OK); /* 4 != 5 nodes */
	for (int w = 0; w < N_WRITERS; w++) {
		ctw_model md = example_model(m);
		const ctw_field *fl[1] = { f };
		assert_int_equal(writers[w].fn(ctx, NULL, dir), CTW_ERR_INVALID);
		md.sheet = NULL; /* fibre without sheet */
		assert_int_equal(writers[w].fn(ctx, &md, dir), CTW_ERR_INVALID);
		assert_non_null(strstr(ctw_errmsg(ctx), writers[w].name));
		assert_non_null(strstr(ctw_errmsg(ctx), "together"));
		md = example_model(m);
		md.fiber = nan_fibre;
		assert_int_equal(writers[w].fn(ctx, &md, dir), CTW_ERR_INVALID);
		assert_non_null(strstr(ctw_errmsg(ctx), "tetrahedron 1 has a non-finite fibre"));
		md = example_model(m);
		md.apex_node = 5;
		assert_int_equal(writers[w].fn(ctx, &md, dir), CTW_ERR_INVALID);
		md = example_model(m);
		md.fields = fl;
		md.n_fields = 1;
		assert_int_equal(writers[w].fn(ctx, &md, dir), CTW_ERR_INVALID);
		assert_non_null(strstr(ctw_errmsg(ctx), "'phi'"));
		md = example_model(m);
		m->tri_marker[0] = 7;
		assert_int_equal(writers[w].fn(ctx, &md, dir), CTW_ERR_INVALID);
		assert_non_null(strstr(ctw_errmsg(ctx), "boundary triangle 0 has surface id 7"));
		m->tri_marker[0] = CTW_SURF_BASE;
		m->region[1] = 0;
		assert_int_equal(writers[w].fn(ctx, &md, dir), CTW_ERR_INVALID);
		assert_non_null(strstr(ctw_errmsg(ctx), "tetrahedron 1 has region tag 0"));
		m->region[1] = 2;
		m->tets[5] = 9; /* out of range */
		assert_int_equal(writers[w].fn(ctx, &md, dir), CTW_ERR_FORMAT);
		m->tets[5] = 2;
		m->xyz[4] = INFINITY;
		assert_int_equal(writers[w].fn(ctx, &md, dir), CTW_ERR_INVALID);
		assert_non_null(strstr(ctw_errmsg(ctx), "node 1 has a non-finite coordinate"));
		m->xyz[4] = 0;
	}
	/* nothing was written by any of them */
	{
		char cmd[600], out[256];
		snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
		run(cmd, out, sizeof(out));
		assert_string_equal(out, "0\n");
	}
	ctw_field_free(ctx, f);
	ctw_tetmesh_free(ctx, m);
	ctw_ctx_free(ctx);
}

/* ---- a missing directory, a full disk --------------------------------------------------------------- */

static void test_export_writers_io_errors(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m = example_mesh(ctx);
	ctw_model md = example_model(m);
	char name[64], link[600];
	(void)state;

	for (int w = 0; w < N_WRITERS; w++) {
		/* a directory that does not exist: the first file is named */
		assert_int_equal(writers[w].fn(ctx, &md, tmp_path("no/such/dir")), CTW_ERR_IO);
		print_message("%s\n", ctw_errmsg(ctx));
		assert_non_null(strstr(ctw_errmsg(ctx), writers[w].files[0]));
		assert_non_null(strstr(ctw_errmsg(ctx), "no/such/dir"));
		/* /dev/full behind each file it writes: CTW_ERR_IO naming that file, never success */
		for (int k = 0; writers[w].files[k]; k++) {
			snprintf(name, sizeof(name), "full_%s_%d", writers[w].name, k);
			const char *dir = fresh_dir(name);
			snprintf(link, sizeof(link), "%s/%s", dir, writers[w].files[k]);
			assert_int_equal(symlink("/dev/full", link), 0);
			ctw_clear_error(ctx);
			assert_int_equal(writers[w].fn(ctx, &md, dir), CTW_ERR_IO);
			assert_non_null(strstr(ctw_errmsg(ctx), writers[w].files[k]));
			assert_non_null(strstr(ctw_errmsg(ctx), strerror(ENOSPC)));
		}
	}
	print_message("%s\n", ctw_errmsg(ctx));
	ctw_tetmesh_free(ctx, m);

	/* a file larger than the 1 MiB buffer: the failure comes from a write in the middle */
	{
		ctw_lvgen_opts o = { 7, 10, 17, 20, 5, 4, 30, 60 };
		int64_t apex;
		const char *dir = fresh_dir("full_big");
		assert_int_equal(ctw_lvgen(ctx, &o, &m, &apex), CTW_OK);
		assert_true(m->n_tets > 40000); /* heart.elem > 1 MiB */
		md = example_model(m);
		md.fiber = md.sheet = NULL;
		snprintf(link, sizeof(link), "%s/heart.elem", dir);
		assert_int_equal(symlink("/dev/full", link), 0);
		assert_int_equal(ctw_write_opencarp(ctx, &md, dir), CTW_ERR_IO);
		assert_non_null(strstr(ctw_errmsg(ctx), "heart.elem"));
		snprintf(link, sizeof(link), "%s/heart.vtk", dir);
		assert_int_equal(symlink("/dev/full", link), 0);
		assert_int_equal(ctw_write_vtk_legacy(ctx, &md, dir), CTW_ERR_IO);
		assert_non_null(strstr(ctw_errmsg(ctx), "heart.vtk"));
		ctw_tetmesh_free(ctx, m);
	}
	ctw_ctx_free(ctx);
}

/* ---- failed allocations --------------------------------------------------------------------------- */

static void test_export_writers_nomem(void **state)
{
	ctw_ctx *ctx0 = ctw_ctx_new();
	ctw_tetmesh *m = example_mesh(ctx0);
	ctw_model md = example_model(m);
	const char *dir = fresh_dir("nomem");
	(void)state;
	md.apex_node = 3;
	for (int w = 0; w < N_WRITERS; w++) {
		int n, ret = -1;
		for (n = 1; n < 200; n++) {
			fault_alloc f;
			ctw_ctx *ctx = fault_ctx(&f, 0);
			assert_non_null(ctx);
			long live = f.live;
			f.fail_at = f.calls + n;
			ret = writers[w].fn(ctx, &md, dir);
			assert_int_equal(f.live, live);
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			if (ret == CTW_OK)
				break;
			assert_int_equal(ret, CTW_ERR_NOMEM);
		}
		assert_int_equal(ret, CTW_OK);
		assert_true(n > 1);
	}
	{ /* owners */
		for (int n = 1; n < 50; n++) {
			fault_alloc f;
			ctw_ctx *ctx = fault_ctx(&f, 0);
			int32_t *own = NULL, *opp = NULL;
			long live = f.live;
			f.fail_at = f.calls + n;
			int ret = ctw_tetmesh_tri_owners(ctx, "x", m, &own, &opp);
			if (ret == CTW_OK) {
				ctw_free(ctx, own);
				ctw_free(ctx, opp);
				ctw_ctx_free(ctx);
				break;
			}
			assert_int_equal(ret, CTW_ERR_NOMEM);
			assert_int_equal(f.live, live);
			ctw_ctx_free(ctx);
		}
	}
	ctw_tetmesh_free(ctx0, m);
	ctw_ctx_free(ctx0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_writers_format_numbers),
		cmocka_unit_test(test_export_writers_example),
		cmocka_unit_test(test_export_writers_orient),
		cmocka_unit_test(test_export_writers_bad_triangles),
		cmocka_unit_test(test_export_writers_formats_parse),
		cmocka_unit_test(test_export_writers_readers),
		cmocka_unit_test(test_export_writers_no_fibres),
		cmocka_unit_test(test_export_writers_bad_models),
		cmocka_unit_test(test_export_writers_io_errors),
		cmocka_unit_test(test_export_writers_nomem),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
