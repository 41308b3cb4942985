/* test_export_prov.c: the PROV-XML provenance record (export/prov.c) checked against the official
 * W3C schema from C and with xmllint, read back by python3-prov when installed; identifiers of
 * awkward file names; validation errors with line numbers; the shipped schema copies; and
 * SHA256SUMS (export/package.c) written, checked, compared with sha256sum(1) and tampered with. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "shared_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctw.h"
#include "export.h"
#include "fault_alloc.h"
#include "fs.h"
#include "sha256.h"

#define SHARED_XSD_DIR CTW_SHARED_DATA "/../schemas/prov"
#define SHARED_XSD SHARED_XSD_DIR "/prov.xsd"
#define SHIPPED_XSD_DIR CTW_SOURCE_DIR "/export/schemas/prov"

/* The shared copy of the W3C schema when ../shared is here (CI=true: it must be), else the
 * shipped one; test_export_prov_schema_copies pins the two equal byte for byte. */
static const char *xsd_dir(void)
{
	return access(SHARED_XSD_DIR, F_OK) == 0 || (getenv("CI") && !strcmp(getenv("CI"), "true")) ? SHARED_XSD_DIR
												     : SHIPPED_XSD_DIR;
}

static const char *xsd_file(void)
{
	return strcmp(xsd_dir(), SHARED_XSD_DIR) == 0 ? SHARED_XSD : SHIPPED_XSD_DIR "/prov.xsd";
}

static const char H1[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
static const char H2[] = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
static const char H3[] = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";
static const char H4[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* ---- helpers ------------------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/ctw-test-prov-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void remove_tree(char *dir)
{
	ctw_ctx *ctx = ctw_ctx_new();
	assert_int_equal(ctw_rm_rf(ctx, dir), CTW_OK);
	ctw_ctx_free(ctx);
	free(dir);
}

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Whole file as a NUL-terminated string (malloc). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Output of a shell command (malloc, *len bytes, NUL added) and its exit status. */
static char *run(const char *cmd, int *status, size_t *len)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, cap = 4096, got;
	char *s = malloc(cap);

	assert_non_null(p);
	assert_non_null(s);
	while ((got = fread(s + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (n + 1 == cap) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
	}
	s[n] = '\0';
	*status = pclose(p);
	if (len)
		*len = n;
	return s;
}

static int have(const char *cmd)
{
	int st;
	free(run(cmd, &st, NULL));
	return st == 0;
}

typedef struct log_capture {
	int n;
	char lines[16][512];
} log_capture;

static void capture_log(void *ud, ctw_log_level lvl, const char *domain, const char *msg)
{
	log_capture *c = ud;
	(void)domain;
	if (lvl == CTW_LOG_ERROR && c->n < 16)
		snprintf(c->lines[c->n++], sizeof(c->lines[0]), "%s", msg);
}

static int log_has(const log_capture *c, const char *text)
{
	int i;
	for (i = 0; i < c->n; i++)
		if (strstr(c->lines[i], text))
			return 1;
	return 0;
}

/* ---- the example document: two stages, a command with spaces, quotes and worse ------------- */

static char *const example_argv[] = {
	"cardiotwin", "run", "cases/phantom lv/case.xml", "--title", "it's \"quoted\" & <tagged>", "--note",
	"line1\nline2\t\x01", "--latin1", "caf\xe9", "--empty", "", "--until", "mesh",
};
#define EXAMPLE_ARGC ((int)(sizeof(example_argv) / sizeof(example_argv[0])))

static int build_example(ctw_ctx *ctx, const char *path)
{
	static const char *const libs[] = { "libxml2", "libpng", "ITK", "VTK", "TetGen" };
	static const char *const vers[] = { "2.9.14", "1.6.39", "5.2.1", "9.1.0", "1.6.0" };
	static const char *const seg_names[] = { "threshold_hu", "smoothing_iterations" };
	static const char *const seg_values[] = { "150", "10" };
	static const char *const mesh_names[] = { "max_tet_volume_mm3", "min_radius_edge", "switches" };
	static const char *const mesh_values[] = { "1.0", "1.4", "pq1.4a1.0AY & <more>" };
	ctw_prov *p = NULL;
	int ret;

	if ((ret = ctw_prov_new(ctx, "phantom_lv", &p)))
		return ret;
	if ((ret = ctw_prov_set_command(ctx, p, EXAMPLE_ARGC, example_argv)) ||
	    (ret = ctw_prov_set_software(ctx, p, libs, vers, 5)) ||
	    (ret = ctw_prov_activity(ctx, p, "segment", 1795953601.0, 1795953642.5, seg_names, seg_values, 2)) ||
	    (ret = ctw_prov_file(ctx, p, "segment", "input CT series (phantom, hashed per formats.md 6.4)", H1, 0)) ||
	    (ret = ctw_prov_file(ctx, p, "segment", "labels.nii.gz", H2, 1)) ||
	    /* files of a stage may come before its activity */
	    (ret = ctw_prov_file(ctx, p, "mesh", "labels.nii.gz", H2, 0)) ||
	    (ret = ctw_prov_file(ctx, p, "mesh", "model/opencarp/heart.pts", H3, 1)) ||
	    (ret = ctw_prov_file(ctx, p, "mesh", "model/opencarp/heart.elem", H4, 1)) ||
	    (ret = ctw_prov_file(ctx, p, "mesh", "model/opencarp/heart.elem", H4, 1)) || /* repeated: once */
	    (ret = ctw_prov_activity(ctx, p, "mesh", 1795953642.5, 1795953690.0, mesh_names, mesh_values, 3)) ||
	    (ret = ctw_prov_write(ctx, p, path))) {
		ctw_prov_free(ctx, p);
		return ret;
	}
	ctw_prov_free(ctx, p);
	return ret;
}

static int count(const char *s, const char *what)
{
	int n = 0;
	for (s = strstr(s, what); s; s = strstr(s + 1, what))
		n++;
	return n;
}

static void xmllint_validates(const char *xml, const char *xsd_dir)
{
	char cmd[4096], *out;
	int st;

	if (!have("command -v xmllint >/dev/null 2>&1")) {
		print_message("xmllint not installed (libxml2-utils): xmllint check skipped\n");
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "XML_CATALOG_FILES='%s/catalog.xml' xmllint --nonet --noout --schema '%s/prov.xsd' '%s' 2>&1",
		 xsd_dir, xsd_dir, xml);
	out = run(cmd, &st, NULL);
	if (st != 0 || !strstr(out, "validates"))
		fail_msg("xmllint: %s", out);
	free(out);
}

static void test_export_prov_document(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	char *dir = make_tmpdir(), *xml = path_in(dir, "provenance.xml"), *doc;

	(void)state;
	assert_int_equal(build_example(ctx, xml), CTW_OK);
	/* the official schema, from C (both the shared copy and the shipped one) and with xmllint */
	if (ctw_xml_validate(ctx, xml, xsd_file()) != CTW_OK)
		fail_msg("%s", ctw_errmsg(ctx));
	assert_int_equal(ctw_xml_validate(ctx, xml, SHIPPED_XSD_DIR "/prov.xsd"), CTW_OK);
	xmllint_validates(xml, xsd_dir());
	xmllint_validates(xml, SHIPPED_XSD_DIR);

	doc = slurp(xml);
	assert_non_null(strstr(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
	assert_non_null(strstr(doc, "xmlns:prov=\"http://www.w3.org/ns/prov#\""));
	assert_non_null(strstr(doc, "xmlns:ctw=\"https://cardiotwin.org/ns#\""));
	assert_non_null(strstr(doc, "xmlns:run=\"https://cardiotwin.org/run/phantom_lv/"));
	assert_int_equal(count(doc, "<prov:softwareAgent prov:id=\"run:cardiotwin\">"), 1);
	assert_non_null(strstr(doc, "<ctw:version>" CTW_VERSION "</ctw:version>"));
	assert_non_null(strstr(doc, "<ctw:compiler>"));
	assert_non_null(strstr(doc, "<lib:libxml2>2.9.14</lib:libxml2>"));
	assert_non_null(strstr(doc, "<lib:TetGen>1.6.0</lib:TetGen>"));
	/* activities: times to the second in UTC, label, parameters (escaped) */
	assert_int_equal(count(doc, "<prov:activity prov:id="), 2);
	assert_non_null(strstr(doc, "<prov:activity prov:id=\"run:segment\">"));
	assert_non_null(strstr(doc, "<prov:startTime>2026-11-29T12:00:01Z</prov:startTime>"));
	assert_non_null(strstr(doc, "<prov:endTime>2026-11-29T12:00:42Z</prov:endTime>"));
	assert_non_null(strstr(doc, "<param:threshold_hu>150</param:threshold_hu>"));
	assert_non_null(strstr(doc, "<param:switches>pq1.4a1.0AY &amp; &lt;more&gt;</param:switches>"));
	/* entities: one per (label, hash), labels verbatim, hashes */
	assert_int_equal(count(doc, "<prov:entity prov:id="), 4);
	assert_non_null(strstr(doc, "<prov:entity prov:id=\"run:labels.nii.gz\">"));
	assert_non_null(strstr(doc, "<prov:label>model/opencarp/heart.pts</prov:label>"));
	assert_non_null(strstr(doc, "<prov:entity prov:id=\"run:model_opencarp_heart.pts\">"));
	assert_non_null(strstr(doc, "<ctw:sha256>fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9</ctw:sha256>"));
	/* relations */
	assert_int_equal(count(doc, "<prov:wasAssociatedWith>"), 2);
	assert_int_equal(count(doc, "<prov:used>"), 2);
	assert_int_equal(count(doc, "<prov:wasGeneratedBy>"), 3);
	assert_int_equal(count(doc, "<prov:wasDerivedFrom>"), 3); /* labels <- CT; pts, elem <- labels */
	assert_non_null(strstr(doc, "<prov:time>2026-11-29T12:01:30Z</prov:time>"));
	/* privacy (DESIGN.md §7): nothing but what was passed; not even where it was written */
	assert_null(strstr(doc, dir));
	free(doc);
	free(xml);
	remove_tree(dir);
	ctw_ctx_free(ctx);
}

/* The recorded command, fed back to bash, gives the same arguments byte for byte. */
static void test_export_prov_command_roundtrip(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	char *dir = make_tmpdir(), *xml = path_in(dir, "provenance.xml"), *script = path_in(dir, "argv.sh");
	char cmd[4096], *text, *out, *expect;
	size_t n, len, elen = 0;
	int st, i;
	FILE *f;

	(void)state;
	if (!have("command -v xmllint >/dev/null 2>&1 && command -v bash >/dev/null 2>&1")) {
		remove_tree(dir);
		free(xml);
		free(script);
		ctw_ctx_free(ctx);
		skip();
	}
	assert_int_equal(build_example(ctx, xml), CTW_OK);
	snprintf(cmd, sizeof(cmd), "xmllint --nonet --xpath \"string(//*[local-name()='command'])\" '%s'", xml);
	text = run(cmd, &st, &n);
	assert_int_equal(st, 0);
	if (n && text[n - 1] == '\n')
		text[--n] = '\0';
	assert_non_null(strstr(text, "cardiotwin run 'cases/phantom lv/case.xml' --title 'it'\\''s \"quoted\" & <tagged>'"));
	assert_non_null(strstr(text, "--latin1 $'caf\\xE9' --empty '' --until mesh"));
	f = fopen(script, "w");
	assert_non_null(f);
	fprintf(f, "set -- %s\nfor a; do printf '%%s\\0' \"$a\"; done\n", text);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "bash '%s'", script);
	out = run(cmd, &st, &len);
	assert_int_equal(st, 0);
	expect = malloc(4096);
	assert_non_null(expect);
	for (i = 0; i < EXAMPLE_ARGC; i++) {
		size_t k = strlen(example_argv[i]) + 1;
		memcpy(expect + elen, example_argv[i], k);
		elen += k;
	}
	assert_int_equal(len, elen);
	assert_memory_equal(out, expect, elen);
	free(expect);
	free(out);
	free(text);
	free(script);
	free(xml);
	remove_tree(dir);
	ctw_ctx_free(ctx);
}

/* python3-prov (the reference implementation) reads the document back. */
static void test_export_prov_python(void **state)
{
	static const char py[] =
		"import sys, prov.model as m\n"
		"d = m.ProvDocument.deserialize(sys.argv[1], format='xml')\n"
		"recs = d.get_records()\n"
		"acts = [r for r in recs if isinstance(r, m.ProvActivity)]\n"
		"ents = [r for r in recs if isinstance(r, m.ProvEntity)]\n"
		"agts = [r for r in recs if isinstance(r, m.ProvAgent)]\n"
		"assert len(acts) == 2 and len(ents) == 4 and len(agts) == 1, (acts, ents, agts)\n"
		"assert {a.identifier.localpart for a in acts} == {'segment', 'mesh'}\n"
		"assert str(agts[0].identifier.localpart) == 'cardiotwin'\n"
		"labels = {str(e.label) for e in ents}\n"
		"assert 'model/opencarp/heart.pts' in labels and 'labels.nii.gz' in labels, labels\n"
		"assert len(list(d.get_records(m.ProvGeneration))) == 3\n"
		"assert len(list(d.get_records(m.ProvUsage))) == 2\n"
		"assert len(list(d.get_records(m.ProvDerivation))) == 3\n"
		"assert 'cardiotwin run' in d.get_provn()\n"
		"print('ok')\n";
	ctw_ctx *ctx = ctw_ctx_new();
	char *dir, *xml, *script, cmd[4096], *out;
	int st;

	(void)state;
	if (!have("/usr/bin/python3 -c 'import prov' >/dev/null 2>&1")) {
		ctw_ctx_free(ctx);
		print_message("python3-prov not installed: skipped\n");
		skip();
	}
	dir = make_tmpdir();
	xml = path_in(dir, "provenance.xml");
	script = path_in(dir, "read.py");
	assert_int_equal(build_example(ctx, xml), CTW_OK);
	write_file(script, py);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -W ignore '%s' '%s' 2>&1", script, xml);
	out = run(cmd, &st, NULL);
	if (st != 0 || strcmp(out, "ok\n"))
		fail_msg("python3-prov: %s", out);
	free(out);
	free(script);
	free(xml);
	remove_tree(dir);
	ctw_ctx_free(ctx);
}

/* Awkward labels give valid, unique QNames; the labels themselves stay verbatim. */
static void test_export_prov_ids(void **state)
{
	static const char *const labels[] = {
		"0187 ct.nii.gz", "a b", "a_b", "a  b", "a\xc3\xa9" "b", "\xc3\xbc" "ber/gr\xc3\xb6\xc3\x9f" "e.png",
		"\xe6\x97\xa5\xe6\x9c\xac", "-dash", ".hidden", "x:y", "mesh", "cardiotwin", "_under",
		"it's <\"odd\"> & more",
	};
	const int n = (int)(sizeof(labels) / sizeof(labels[0]));
	ctw_ctx *ctx = ctw_ctx_new();
	char *dir = make_tmpdir(), *xml = path_in(dir, "provenance.xml"), *doc, cmd[4096], *out, *line, *save;
	char ids[64][128];
	ctw_prov *p;
	int i, j, n_ids = 0, st;

	(void)state;
	assert_int_equal(ctw_prov_new(ctx, "case 0187/é", &p), CTW_OK);
	assert_int_equal(ctw_prov_activity(ctx, p, "mesh", 10, 20, NULL, NULL, 0), CTW_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(ctw_prov_file(ctx, p, "mesh", labels[i], H1, i % 2), CTW_OK);
	assert_int_equal(ctw_prov_file(ctx, p, "9 stage", "x", H2, 0), CTW_OK);
	assert_int_equal(ctw_prov_write(ctx, p, xml), CTW_OK);
	ctw_prov_free(ctx, p);
	if (ctw_xml_validate(ctx, xml, xsd_file()) != CTW_OK)
		fail_msg("%s", ctw_errmsg(ctx));
	xmllint_validates(xml, xsd_dir());
	doc = slurp(xml);
	assert_non_null(strstr(doc, "xmlns:run=\"https://cardiotwin.org/run/case%200187%2F%C3%A9/"));
	for (i = 0; i < n; i++) {
		char want[256];
		if (strpbrk(labels[i], "<>&"))
			continue;
		snprintf(want, sizeof(want), "<prov:label>%s</prov:label>", labels[i]);
		if (!strstr(doc, want))
			fail_msg("label '%s' not verbatim", labels[i]);
	}
	assert_non_null(strstr(doc, "<prov:label>it's &lt;\"odd\"&gt; &amp; more</prov:label>"));
	assert_non_null(strstr(doc, "prov:id=\"run:f0187_ct.nii.gz\""));
	assert_non_null(strstr(doc, "prov:id=\"run:a_b\""));
	assert_non_null(strstr(doc, "prov:id=\"run:a_b_2\""));
	assert_non_null(strstr(doc, "prov:id=\"run:a_b_3\""));
	assert_non_null(strstr(doc, "prov:id=\"run:mesh_2\""));       /* the activity keeps run:mesh */
	assert_non_null(strstr(doc, "prov:id=\"run:cardiotwin_2\"")); /* the agent keeps run:cardiotwin */
	assert_non_null(strstr(doc, "prov:id=\"run:f9_stage\""));
	free(doc);

	/* every id, by xmllint: valid NCName local part, all distinct */
	snprintf(cmd, sizeof(cmd), "xmllint --nonet --xpath \"//@*[local-name()='id']\" '%s'", xml);
	if (have("command -v xmllint >/dev/null 2>&1")) {
		out = run(cmd, &st, NULL);
		assert_int_equal(st, 0);
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			const char *q = strstr(line, "\"run:"), *e;
			assert_non_null(q);
			q += 5;
			e = strchr(q, '"');
			assert_non_null(e);
			assert_true(e > q && e - q < 127);
			assert_true((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || *q == '_');
			for (j = 0; j < e - q; j++)
				assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._",
						       q[j]));
			assert_true(n_ids < 64);
			snprintf(ids[n_ids], sizeof(ids[0]), "%.*s", (int)(e - q), q);
			for (j = 0; j < n_ids; j++)
				assert_string_not_equal(ids[j], ids[n_ids]);
			n_ids++;
		}
		assert_int_equal(n_ids, n + 1 + 2 + 1); /* entities + agent + 2 activities + "x" */
		free(out);
	}
	free(xml);
	remove_tree(dir);
	ctw_ctx_free(ctx);
}

/* Bad arguments are refused before they can make the document invalid. */
static void test_export_prov_bad_input(void **state)
{
	static const char *const bad_names[] = { "1st" };
	static const char *const names[] = { "ok" };
	static const char *const values[] = { "1" };
	static const char *const bad_values[] = { "a\x01" };
	static char *const no_args[] = { NULL };
	ctw_ctx *ctx = ctw_ctx_new();
	char *dir = make_tmpdir(), *xml = path_in(dir, "no/such/dir/provenance.xml");
	ctw_prov *p = NULL;

	(void)state;
	assert_int_equal(ctw_prov_new(ctx, "", &p), CTW_ERR_INVALID);
	assert_null(p);
	assert_int_equal(ctw_prov_new(ctx, "c", &p), CTW_OK);
	assert_int_equal(ctw_prov_set_command(ctx, p, 0, no_args), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_set_software(ctx, p, bad_names, values, 1), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_set_software(ctx, p, names, bad_values, 1), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_activity(ctx, p, "s", 10, 5, NULL, NULL, 0), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_activity(ctx, p, "s", -1, 5, NULL, NULL, 0), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_activity(ctx, p, "s", 0, 1.0 / 0.0, NULL, NULL, 0), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_activity(ctx, p, "s", 1, 2, bad_names, values, 1), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_activity(ctx, p, "", 1, 2, NULL, NULL, 0), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_activity(ctx, p, "s", 1, 2, names, values, 1), CTW_OK);
	assert_int_equal(ctw_prov_activity(ctx, p, "s", 1, 2, names, values, 1), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_file(ctx, p, "s", "f", "abc", 0), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_file(ctx, p, "s", "f", "z86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 0),
			 CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_file(ctx, p, "s", "", H1, 0), CTW_ERR_INVALID);
	assert_int_equal(ctw_prov_file(ctx, p, "s", "caf\xe9", H1, 0), CTW_ERR_INVALID);     /* not UTF-8 */
	assert_int_equal(ctw_prov_file(ctx, p, "s", "bell\x07", H1, 0), CTW_ERR_INVALID);    /* not XML */
	assert_int_equal(ctw_prov_file(ctx, p, "s", "\xed\xa0\x80", H1, 0), CTW_ERR_INVALID); /* surrogate */
	/* upper-case hex is accepted and written lower-case */
	assert_int_equal(ctw_prov_file(ctx, p, "s", "f", "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", 1),
			 CTW_OK);
	assert_int_equal(ctw_prov_write(ctx, p, xml), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), "provenance.xml"));
	ctw_prov_free(ctx, p);
	ctw_prov_free(ctx, NULL);
	free(xml);
	xml = path_in(dir, "provenance.xml");
	assert_int_equal(ctw_prov_new(ctx, "c", &p), CTW_OK);
	assert_int_equal(ctw_prov_file(ctx, p, "s", "f", "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", 1),
			 CTW_OK);
	assert_int_equal(ctw_prov_write(ctx, p, xml), CTW_OK);
	ctw_prov_free(ctx, p);
	{
		char *doc = slurp(xml);
		assert_non_null(strstr(doc, H1));
		/* a stage only named by its files still gets an activity (without times) */
		assert_non_null(strstr(doc, "<prov:activity prov:id=\"run:s\">"));
		free(doc);
	}
	assert_int_equal(ctw_xml_validate(ctx, xml, xsd_file()), CTW_OK);
	free(xml);
	remove_tree(dir);
	ctw_ctx_free(ctx);
}

/* Every allocation failure while building and writing is reported, and nothing leaks. */
static void test_export_prov_fault_injection(void **state)
{
	char *dir = make_tmpdir(), *xml = path_in(dir, "provenance.xml");
	long k;
	int ok = 0;

	(void)state;
	for (k = 2; k < 400 && !ok; k++) {
		fault_alloc fa;
		ctw_ctx *ctx = fault_ctx(&fa, k);
		int ret;
		assert_non_null(ctx);
		ret = build_example(ctx, xml);
		assert_true(ret == CTW_OK || ret == CTW_ERR_NOMEM);
		ok = ret == CTW_OK;
		ctw_ctx_free(ctx);
		assert_int_equal(fa.live, 0);
	}
	assert_true(ok);
	free(xml);
	remove_tree(dir);
}

/* Invalid documents are rejected with the file, the line and the problem. */
static void test_export_prov_invalid(void **state)
{
	static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				   "<prov:document xmlns:prov=\"http://www.w3.org/ns/prov#\"\n"
				   "    xmlns:ctw=\"https://cardiotwin.org/ns#\" xmlns:run=\"https://x.org/r/\">\n";
	ctw_ctx *ctx = ctw_ctx_new();
	char *dir = make_tmpdir(), *xml = path_in(dir, "bad.xml"), buf[2048];

	(void)state;
	/* custom element before prov:label: the XSD's child order */
	snprintf(buf, sizeof(buf), "%s  <prov:entity prov:id=\"run:a\">\n    <ctw:sha256>%s</ctw:sha256>\n"
		 "    <prov:label>a</prov:label>\n  </prov:entity>\n</prov:document>\n", head, H1);
	write_file(xml, buf);
	assert_int_equal(ctw_xml_validate(ctx, xml, xsd_file()), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "bad.xml:6: "));
	assert_non_null(strstr(ctw_errmsg(ctx), "label"));
	/* a local part starting with a digit is no QName */
	snprintf(buf, sizeof(buf), "%s  <prov:entity prov:id=\"run:a\"/>\n  <prov:entity prov:id=\"run:0187_ct\"/>\n"
		 "</prov:document>\n", head);
	write_file(xml, buf);
	assert_int_equal(ctw_xml_validate(ctx, xml, xsd_file()), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "bad.xml:5: "));
	assert_non_null(strstr(ctw_errmsg(ctx), "QName"));
	/* wasGeneratedBy with activity before entity */
	snprintf(buf, sizeof(buf), "%s\n\n  <prov:wasGeneratedBy>\n    <prov:activity prov:ref=\"run:x\"/>\n"
		 "    <prov:entity prov:ref=\"run:a\"/>\n  </prov:wasGeneratedBy>\n</prov:document>\n", head);
	write_file(xml, buf);
	assert_int_equal(ctw_xml_validate(ctx, xml, xsd_file()), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "bad.xml:7: "));
	/* not well-formed */
	snprintf(buf, sizeof(buf), "%s  <prov:entity>\n</prov:document>\n", head);
	write_file(xml, buf);
	assert_int_equal(ctw_xml_validate(ctx, xml, xsd_file()), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "bad.xml:5: "));
	/* missing files */
	assert_int_equal(ctw_xml_validate(ctx, "/nonexistent/p.xml", xsd_file()), CTW_ERR_IO);
	assert_int_equal(ctw_xml_validate(ctx, xml, "/nonexistent/prov.xsd"), CTW_ERR_IO);
	/* an XSD that is no schema */
	assert_int_equal(ctw_xml_validate(ctx, xml, xml), CTW_ERR_FORMAT);
	free(xml);
	remove_tree(dir);
	ctw_ctx_free(ctx);
}

/* The shipped schema is the official one, byte for byte; its path is compiled in. */
static void test_export_prov_schema_copies(void **state)
{
	static const struct {
		const char *name, *sha256;
	} files[] = {
		{ "prov.xsd", "5f9dd5bc3e5832180240d638e197d0bffa411bf224d4291d3c21fd376bab6c71" },
		{ "prov-core.xsd", "139290d34d6dd9069b7574b95085db9479036b8ad8999bb2971ddaddb7bee784" },
		{ "prov-dictionary.xsd", "468b04ba5fc736a731ddefcc2ac208f20bfec0a2eb145bf14c58c4a811eca48d" },
		{ "prov-links.xsd", "a998d5dce66f214fa28dc9579caaff05e7ae3d41f93f9ddc34c79ad460b360de" },
		{ "xml.xsd", NULL },
		{ "catalog.xml", NULL },
	};
	ctw_ctx *ctx = ctw_ctx_new();
	char a[65], b[65], *pa, *pb, *sources;
	size_t i;

	(void)state;
	NEED_SHARED(SHARED_XSD_DIR);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		pa = path_in(SHIPPED_XSD_DIR, files[i].name);
		pb = path_in(SHARED_XSD_DIR, files[i].name);
		assert_int_equal(ctw_sha256_file(ctx, pa, a), CTW_OK);
		assert_int_equal(ctw_sha256_file(ctx, pb, b), CTW_OK);
		assert_string_equal(a, b);
		if (files[i].sha256)
			assert_string_equal(a, files[i].sha256);
		free(pa);
		free(pb);
	}
	sources = slurp(SHIPPED_XSD_DIR "/SOURCES.md");
	for (i = 0; i < 4; i++)
		assert_non_null(strstr(sources, files[i].sha256));
	assert_non_null(strstr(sources, "W3C Software and Document License"));
	free(sources);

	unsetenv("CTW_PROV_XSD");
	assert_string_equal(ctw_prov_schema_path(), SHIPPED_XSD_DIR "/prov.xsd");
	setenv("CTW_PROV_XSD", SHARED_XSD, 1);
	assert_string_equal(ctw_prov_schema_path(), SHARED_XSD);
	unsetenv("CTW_PROV_XSD");
	ctw_ctx_free(ctx);
}

/* ---- SHA256SUMS ---------------------------------------------------------------------------- */

/* A small package: nested directories, a name with a space, one with a backslash and a newline. */
static char *make_package(void)
{
	char *dir = make_tmpdir(), *p;
	const char *subdirs[] = { "model", "model/opencarp", "qa" };
	size_t i;

	for (i = 0; i < 3; i++) {
		p = path_in(dir, subdirs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
		free(p);
	}
	p = path_in(dir, "model/opencarp/heart.pts");
	write_file(p, "2\n0 0 0\n1000 0 0\n");
	free(p);
	p = path_in(dir, "model/opencarp/heart.elem");
	write_file(p, "1\nTt 0 1 2 3 1\n");
	free(p);
	p = path_in(dir, "qa/slice axial.png");
	write_file(p, "not really a png");
	free(p);
	p = path_in(dir, "odd\\name\nx.txt");
	write_file(p, "odd");
	free(p);
	p = path_in(dir, "provenance.xml");
	write_file(p, "<x/>\n");
	free(p);
	p = path_in(dir, "empty");
	write_file(p, "");
	free(p);
	return dir;
}

static void test_export_package_roundtrip(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	char *dir = make_package(), *sums = path_in(dir, "SHA256SUMS"), *text, cmd[4096], *out, *p;
	log_capture cap;
	int st;

	(void)state;
	memset(&cap, 0, sizeof(cap));
	ctw_ctx_set_log(ctx, capture_log, &cap, CTW_LOG_ERROR);
	assert_int_equal(ctw_write_sha256sums(ctx, dir), CTW_OK);
	text = slurp(sums);
	/* sorted by path in byte order, two spaces, the odd name escaped as GNU sha256sum does */
	{
		static const struct {
			const char *content, *line_path;
			int esc;
		} want[] = {
			{ "", "empty", 0 },
			{ "1\nTt 0 1 2 3 1\n", "model/opencarp/heart.elem", 0 },
			{ "2\n0 0 0\n1000 0 0\n", "model/opencarp/heart.pts", 0 },
			{ "odd", "odd\\\\name\\nx.txt", 1 },
			{ "<x/>\n", "provenance.xml", 0 },
			{ "not really a png", "qa/slice axial.png", 0 },
		};
		char expect[2048] = "", hex[65];
		unsigned char d[32];
		size_t i;
		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			ctw_sha256_mem(want[i].content, strlen(want[i].content), d);
			ctw_hex(d, 32, hex);
			snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "%s%s  %s\n",
				 want[i].esc ? "\\" : "", hex, want[i].line_path);
		}
		assert_string_equal(text, expect);
	}
	free(text);
	/* sha256sum(1) agrees */
	if (have("command -v sha256sum >/dev/null 2>&1")) {
		snprintf(cmd, sizeof(cmd), "cd '%s' && sha256sum --strict -c SHA256SUMS 2>&1", dir);
		out = run(cmd, &st, NULL);
		if (st != 0)
			fail_msg("sha256sum -c: %s", out);
		free(out);
	}
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_OK);
	assert_int_equal(cap.n, 0);
	/* rewriting gives the same list (SHA256SUMS itself is not listed) */
	text = slurp(sums);
	assert_int_equal(ctw_write_sha256sums(ctx, dir), CTW_OK);
	out = slurp(sums);
	assert_string_equal(text, out);
	assert_null(strstr(text, "SHA256SUMS"));
	free(text);
	free(out);

	/* change one, delete one, add one */
	p = path_in(dir, "model/opencarp/heart.pts");
	write_file(p, "2\n0 0 0\n1000 0 1\n");
	free(p);
	p = path_in(dir, "qa/slice axial.png");
	assert_int_equal(remove(p), 0);
	free(p);
	p = path_in(dir, "model/extra.vtk");
	write_file(p, "# vtk DataFile Version 4.2\n");
	free(p);
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "3 files"));
	assert_int_equal(cap.n, 3);
	assert_true(log_has(&cap, "changed file 'model/opencarp/heart.pts'"));
	assert_true(log_has(&cap, "missing file 'qa/slice axial.png'"));
	assert_true(log_has(&cap, "unlisted file 'model/extra.vtk'"));
	/* one problem: singular */
	assert_int_equal(ctw_write_sha256sums(ctx, dir), CTW_OK);
	p = path_in(dir, "empty");
	write_file(p, "x");
	free(p);
	cap.n = 0;
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "1 file missing"));
	assert_int_equal(cap.n, 1);
	assert_true(log_has(&cap, "changed file 'empty'"));

	free(sums);
	remove_tree(dir);
	ctw_ctx_free(ctx);
}

static void test_export_package_refused(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	char *dir = make_package(), *p, *sums = path_in(dir, "SHA256SUMS");

	(void)state;
	assert_int_equal(ctw_write_sha256sums(ctx, dir), CTW_OK);
	/* a symbolic link anywhere in the tree */
	p = path_in(dir, "model/link.pts");
	assert_int_equal(symlink("opencarp/heart.pts", p), 0);
	assert_int_equal(ctw_write_sha256sums(ctx, dir), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "symbolic link 'model/link.pts'"));
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "symbolic link"));
	assert_int_equal(remove(p), 0);
	free(p);
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_OK);

	/* malformed lists: paths leaving the package, garbage, duplicates */
	write_file(sums, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  ../empty\n");
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "SHA256SUMS:1: "));
	write_file(sums, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty\n"
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  /etc/passwd\n");
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "SHA256SUMS:2: "));
	write_file(sums, "not a checksum\n");
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_ERR_FORMAT);
	write_file(sums, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty\n"
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 *empty\n");
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "listed twice"));
	/* no list at all */
	assert_int_equal(remove(sums), 0);
	assert_int_equal(ctw_check_sha256sums(ctx, dir), CTW_ERR_IO);

	/* unreadable directories */
	assert_int_equal(ctw_write_sha256sums(ctx, "/nonexistent/package"), CTW_ERR_IO);
	assert_int_equal(ctw_check_sha256sums(ctx, "/nonexistent/package"), CTW_ERR_IO);
	if (geteuid() != 0) {
		p = path_in(dir, "qa");
		assert_int_equal(chmod(p, 0), 0);
		assert_int_equal(ctw_write_sha256sums(ctx, dir), CTW_ERR_IO);
		assert_non_null(strstr(ctw_errmsg(ctx), "cannot open directory"));
		assert_int_equal(chmod(p, 0755), 0);
		free(p);
	} else {
		print_message("running as root: the chmod 000 directory case is not testable, skipped\n");
	}
	free(sums);
	remove_tree(dir);
	ctw_ctx_free(ctx);
}

/* Allocation failures in the writer and the checker are reported, and nothing leaks. */
static void test_export_package_fault_injection(void **state)
{
	char *dir = make_package();
	long k;
	int ok = 0;

	(void)state;
	for (k = 2; k < 1000 && !ok; k++) {
		fault_alloc fa;
		ctw_ctx *ctx = fault_ctx(&fa, k);
		int ret;
		assert_non_null(ctx);
		ret = ctw_write_sha256sums(ctx, dir);
		if (ret == CTW_OK)
			ret = ctw_check_sha256sums(ctx, dir);
		assert_true(ret == CTW_OK || ret == CTW_ERR_NOMEM);
		ok = ret == CTW_OK;
		ctw_ctx_free(ctx);
		assert_int_equal(fa.live, 0);
	}
	assert_true(ok);
	remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_prov_document),
		cmocka_unit_test(test_export_prov_command_roundtrip),
		cmocka_unit_test(test_export_prov_python),
		cmocka_unit_test(test_export_prov_ids),
		cmocka_unit_test(test_export_prov_bad_input),
		cmocka_unit_test(test_export_prov_fault_injection),
		cmocka_unit_test(test_export_prov_invalid),
		cmocka_unit_test(test_export_prov_schema_copies),
		cmocka_unit_test(test_export_package_roundtrip),
		cmocka_unit_test(test_export_package_refused),
		cmocka_unit_test(test_export_package_fault_injection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
