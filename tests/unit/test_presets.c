/* test_presets.c: the label presets of segment/presets.c: the built-in tables, custom maps, the
 * nnU-Net dataset.json reader, the automatic choice (MM-WHS, ACDC versus M&Ms on synthetic
 * short-axis stacks) and the in-place remap with its unknown-value report. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctw.h"
#include "fault_alloc.h"
#include "fs.h"
#include "segment.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* The value a preset gives `from`, -1 when it has no entry. */
static int lookup(const ctw_preset *p, int from)
{
	for (int i = 0; i < p->n; i++)
		if (p->map[i].from == from)
			return p->map[i].to;
	return -1;
}

static ctw_volume *new_volume(ctw_ctx *ctx, int64_t nx, int64_t ny, int64_t nz, ctw_dtype t)
{
	const int64_t dim[3] = { nx, ny, nz };
	ctw_volume *v = NULL;
	assert_int_equal(ctw_volume_new(ctx, dim, t, &v), CTW_OK);
	return v;
}

static void set_at(ctw_volume *v, int64_t i, int64_t j, int64_t k, double x)
{
	ctw_volume_set(v, i + v->dim[0] * (j + v->dim[1] * k), x);
}

static double get_at(const ctw_volume *v, int64_t i, int64_t j, int64_t k)
{
	return ctw_volume_get(v, i + v->dim[0] * (j + v->dim[1] * k));
}

/* Writes text to dir/name. */
static void write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[600];
	FILE *fp;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* A captured log: the last INFO message. */
typedef struct logcap {
	char last[1024];
	int n;
} logcap;

static void capture(void *ud, ctw_log_level lvl, const char *domain, const char *msg)
{
	logcap *c = ud;
	(void)domain;
	if (lvl == CTW_LOG_INFO) {
		snprintf(c->last, sizeof(c->last), "%s", msg);
		c->n++;
	}
}

/* ---- built-in presets ------------------------------------------------------------------------ */

static void test_presets_builtins_canonical(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const char *const *names = ctw_preset_names();
	int n_names = 0, saw_nnunet = 0;
	(void)state;

	assert_non_null(ctx);
	for (; names[n_names]; n_names++) {
		ctw_preset p;
		if (!strcmp(names[n_names], "nnunet")) {
			saw_nnunet = 1;
			continue; /* needs a dataset.json, tested below */
		}
		memset(&p, 0xAB, sizeof(p));
		assert_int_equal(ctw_preset_get(ctx, names[n_names], NULL, &p), CTW_OK);
		assert_string_equal(p.name, names[n_names]);
		assert_true(p.n > 0 && p.n <= CTW_PRESET_MAX);
		for (int i = 0; i < p.n; i++) {
			assert_true(p.map[i].from >= 0 && p.map[i].from <= 65535);
			if (!ctw_label_name(p.map[i].to))
				fail_msg("preset %s maps %d to non-canonical %d", p.name, p.map[i].from,
					 p.map[i].to);
			for (int k = 0; k < i; k++)
				assert_int_not_equal(p.map[k].from, p.map[i].from);
		}
	}
	assert_int_equal(n_names, 12);
	assert_true(saw_nnunet);

	/* spot checks against specs/segmentation.md §1.1 */
	ctw_preset p;
	assert_int_equal(ctw_preset_get(ctx, "mmwhs", NULL, &p), CTW_OK);
	assert_int_equal(p.n, 8);
	assert_int_equal(lookup(&p, 205), CTW_LBL_LV_MYO);
	assert_int_equal(lookup(&p, 421), CTW_LBL_LA_BLOOD);
	assert_int_equal(lookup(&p, 500), CTW_LBL_LV_BLOOD);
	assert_int_equal(lookup(&p, 850), CTW_LBL_PA);
	assert_int_equal(ctw_preset_get(ctx, "acdc", NULL, &p), CTW_OK);
	assert_int_equal(lookup(&p, 1), CTW_LBL_RV_BLOOD);
	assert_int_equal(lookup(&p, 3), CTW_LBL_LV_BLOOD);
	assert_int_equal(ctw_preset_get(ctx, "mnms", NULL, &p), CTW_OK);
	assert_int_equal(lookup(&p, 1), CTW_LBL_LV_BLOOD);
	assert_int_equal(lookup(&p, 3), CTW_LBL_RV_BLOOD);
	assert_int_equal(ctw_preset_get(ctx, "ukbb-lax4ch", NULL, &p), CTW_OK);
	assert_int_equal(lookup(&p, 5), CTW_LBL_RA_BLOOD);
	assert_int_equal(ctw_preset_get(ctx, "msd-task02", NULL, &p), CTW_OK);
	assert_int_equal(p.n, 1);
	assert_int_equal(lookup(&p, 1), CTW_LBL_LA_BLOOD);
	assert_int_equal(ctw_preset_get(ctx, "totalseg-v1", NULL, &p), CTW_OK);
	assert_int_equal(lookup(&p, 7), CTW_LBL_AORTA_WHOLE);
	assert_int_equal(lookup(&p, 46), CTW_LBL_LV_BLOOD);
	assert_int_equal(ctw_preset_get(ctx, "totalseg-heartchambers", NULL, &p), CTW_OK);
	assert_int_equal(lookup(&p, 1), CTW_LBL_LV_MYO);
	assert_int_equal(lookup(&p, 3), CTW_LBL_LV_BLOOD);
	assert_int_equal(ctw_preset_get(ctx, "cemrg4ch", NULL, &p), CTW_OK);
	assert_int_equal(p.n, 24);
	assert_int_equal(lookup(&p, 101), CTW_LBL_LV_MYO);
	assert_int_equal(lookup(&p, 103), CTW_LBL_RV_MYO);
	assert_int_equal(lookup(&p, 204), CTW_LBL_PULMONARY);
	assert_int_equal(lookup(&p, 205), -1);
	assert_int_equal(ctw_preset_get(ctx, "deepcac", NULL, &p), CTW_OK);
	assert_int_equal(lookup(&p, 2), 0);
	assert_int_equal(lookup(&p, 3), CTW_LBL_HEART);
	assert_int_equal(ctw_preset_get(ctx, "canonical", NULL, &p), CTW_OK);
	int n_canon;
	ctw_canonical_labels(&n_canon);
	assert_int_equal(p.n, n_canon);
	assert_int_equal(lookup(&p, 252), 252);

	/* unknown names; nnunet without a path */
	assert_int_equal(ctw_preset_get(ctx, "ACDC", NULL, &p), CTW_ERR_INVALID);
	assert_non_null(strstr(ctw_errmsg(ctx), "unknown preset 'ACDC'"));
	assert_non_null(strstr(ctw_errmsg(ctx), "mmwhs, acdc"));
	assert_int_equal(ctw_preset_get(ctx, NULL, NULL, &p), CTW_ERR_INVALID);
	assert_int_equal(ctw_preset_get(ctx, "nnunet", NULL, &p), CTW_ERR_INVALID);
	ctw_ctx_free(ctx);
}

/* ---- applying presets -------------------------------------------------------------------------- */

static void test_presets_apply_mmwhs(void **state)
{
	static const int in[] = { 0, 205, 420, 421, 500, 550, 600, 820, 850, 0, 500, 500 };
	static const int want[] = { 0, 2, 4, 4, 1, 5, 3, 6, 7, 0, 1, 1 };
	static const ctw_dtype types[] = { CTW_U16, CTW_I16, CTW_I32, CTW_F32 };
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_preset p;
	(void)state;

	assert_non_null(ctx);
	assert_int_equal(ctw_preset_get(ctx, "mmwhs", NULL, &p), CTW_OK);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		ctw_volume *v = new_volume(ctx, 3, 2, 2, types[t]);
		int64_t changed = -1;
		for (int n = 0; n < 12; n++)
			ctw_volume_set(v, n, in[n]);
		assert_int_equal(ctw_preset_apply(ctx, &p, "mmwhs.nii.gz", v, &changed), CTW_OK);
		assert_int_equal(changed, 10);
		for (int n = 0; n < 12; n++)
			assert_int_equal((int)ctw_volume_get(v, n), want[n]);
		/* applying the identity afterwards changes nothing */
		ctw_preset c;
		assert_int_equal(ctw_preset_get(ctx, "canonical", NULL, &c), CTW_OK);
		assert_int_equal(ctw_preset_apply(ctx, &c, "x", v, &changed), CTW_OK);
		assert_int_equal(changed, 0);
		ctw_volume_free(ctx, v);
	}

	/* U8 with a dropped label (deepcac: bone 2 -> 0) */
	ctw_volume *v = new_volume(ctx, 4, 1, 1, CTW_U8);
	int64_t changed;
	ctw_volume_set(v, 0, 1);
	ctw_volume_set(v, 1, 2);
	ctw_volume_set(v, 2, 3);
	assert_int_equal(ctw_preset_get(ctx, "deepcac", NULL, &p), CTW_OK);
	assert_int_equal(ctw_preset_apply(ctx, &p, "cac", v, &changed), CTW_OK);
	assert_int_equal(changed, 3);
	assert_int_equal((int)ctw_volume_get(v, 0), 250);
	assert_int_equal((int)ctw_volume_get(v, 1), 0);
	assert_int_equal((int)ctw_volume_get(v, 2), 250);
	assert_int_equal((int)ctw_volume_get(v, 3), 0);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static void test_presets_apply_unknown(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v, *copy;
	ctw_preset p;
	int64_t changed = -1, n;
	(void)state;

	assert_non_null(ctx);
	v = new_volume(ctx, 10, 10, 20, CTW_I16);
	for (n = 0; n < 2000; n++)
		ctw_volume_set(v, n, n < 1234 ? 4 : n < 1246 ? 7 : n < 1500 ? 1 : n < 1600 ? 2 : n < 1700 ? 3 : 0);
	ctw_volume_set(v, 1999, -1);
	assert_int_equal(ctw_volume_convert(ctx, v, CTW_I16, &copy), CTW_OK);
	assert_int_equal(ctw_preset_get(ctx, "acdc", NULL, &p), CTW_OK);
	assert_int_equal(ctw_preset_apply(ctx, &p, "seg.nii.gz", v, &changed), CTW_ERR_FORMAT);
	assert_string_equal(ctw_errmsg(ctx), "seg.nii.gz: label values the preset 'acdc' does not know: "
					     "4 (1234 voxels), 7 (12 voxels), -1 (1 voxel)");
	assert_int_equal(changed, 0);
	assert_memory_equal(v->data, copy->data, 2000 * sizeof(int16_t));

	/* many unknown values: the list is cut, not the message */
	for (n = 0; n < 2000; n++)
		ctw_volume_set(v, n, 1000 + n);
	assert_int_equal(ctw_preset_apply(ctx, &p, "seg.nii.gz", v, &changed), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "1000 (1 voxel), 1001 (1 voxel)"));
	assert_non_null(strstr(ctw_errmsg(ctx), "more values"));

	/* fractional values in a float map */
	ctw_volume *f = new_volume(ctx, 2, 1, 1, CTW_F32);
	ctw_volume_set(f, 0, 1.5);
	ctw_volume_set(f, 1, 3);
	assert_int_equal(ctw_preset_apply(ctx, &p, "f", f, &changed), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "1.5 (1 voxel)"));
	assert_true(ctw_volume_get(f, 1) == 3.0);

	/* a broken preset is refused before anything is read */
	p.map[0].to = 15;
	assert_int_equal(ctw_preset_apply(ctx, &p, "f", f, &changed), CTW_ERR_INVALID);
	p.map[0].to = 3;
	p.map[1].from = 1;
	assert_int_equal(ctw_preset_apply(ctx, &p, "f", f, &changed), CTW_ERR_INVALID);
	assert_non_null(strstr(ctw_errmsg(ctx), "twice"));

	ctw_volume_free(ctx, f);
	ctw_volume_free(ctx, copy);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

/* ---- custom maps ------------------------------------------------------------------------------- */

static void check_bad_spec(ctw_ctx *ctx, const char *spec, const char *needle)
{
	ctw_preset p;
	memset(&p, 0, sizeof(p));
	p.n = 77;
	if (ctw_preset_parse(ctx, spec, &p) != CTW_ERR_INVALID)
		fail_msg("spec '%s' accepted", spec);
	assert_int_equal(p.n, 77); /* untouched */
	if (!strstr(ctw_errmsg(ctx), needle))
		fail_msg("spec '%s': message '%s' lacks '%s'", spec, ctw_errmsg(ctx), needle);
}

static void test_presets_parse(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_preset p;
	char big[2048];
	size_t off = 0;
	(void)state;

	assert_non_null(ctx);
	assert_int_equal(ctw_preset_parse(ctx, "500=1,205=2", &p), CTW_OK);
	assert_string_equal(p.name, "custom");
	assert_int_equal(p.n, 2);
	assert_int_equal(lookup(&p, 500), 1);
	assert_int_equal(lookup(&p, 205), 2);
	assert_int_equal(ctw_preset_parse(ctx, " 600 = 3 , 7=0,65535=252", &p), CTW_OK);
	assert_int_equal(p.n, 3);
	assert_int_equal(lookup(&p, 7), 0);
	assert_int_equal(lookup(&p, 65535), 252);

	check_bad_spec(ctx, "", "empty label map");
	check_bad_spec(ctx, "   ", "empty label map");
	check_bad_spec(ctx, NULL, "empty label map");
	check_bad_spec(ctx, "a=1", "bad item 'a=1'");
	check_bad_spec(ctx, "500=1,x5=2", "bad item 'x5=2'");
	check_bad_spec(ctx, "500=1.5", "bad item '500=1.5'");
	check_bad_spec(ctx, "500=", "bad item '500='");
	check_bad_spec(ctx, "=1", "bad item '=1'");
	check_bad_spec(ctx, "500", "bad item '500'");
	check_bad_spec(ctx, "500=1=2", "bad item '500=1=2'");
	check_bad_spec(ctx, "-1=1", "bad item '-1=1'");
	check_bad_spec(ctx, "+5=1", "bad item '+5=1'");
	check_bad_spec(ctx, "5 5=1", "bad item '5 5=1'");
	check_bad_spec(ctx, "500=15", "15 is not a canonical label value");
	check_bad_spec(ctx, "500=101", "bad item '500=101'");
	check_bad_spec(ctx, "70000=1", "70000 is not a label value");
	check_bad_spec(ctx, "99999999999=1", "bad item '99999999999=1'");
	check_bad_spec(ctx, "500=1,205=2,500=3", "bad item '500=3'");
	check_bad_spec(ctx, "500=1,205=2,500=3", "mapped twice");
	check_bad_spec(ctx, "500=1,,205=2", "empty item");
	check_bad_spec(ctx, "500=1,", "empty item");
	check_bad_spec(ctx, ",500=1", "empty item");

	/* CTW_PRESET_MAX pairs fit, one more does not */
	for (int i = 0; i <= CTW_PRESET_MAX; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "%s%d=1", i ? "," : "", i + 1);
	check_bad_spec(ctx, big, "more than 96 pairs");
	*strrchr(big, ',') = '\0';
	assert_int_equal(ctw_preset_parse(ctx, big, &p), CTW_OK);
	assert_int_equal(p.n, CTW_PRESET_MAX);
	ctw_ctx_free(ctx);
}

/* ---- nnU-Net dataset.json ---------------------------------------------------------------------- */

static const char json_v2[] =
	"{\n"
	"  \"channel_names\": {\"0\": \"cineMRI\"},\n"
	"  \"labels\": {\"background\": 0, \"LVBP\": 1, \"LVM\": 2, \"RV\": 3},\n"
	"  \"numTraining\": 300, \"file_ending\": \".nii.gz\", \"overwrite_image_reader_writer\": null,\n"
	"  \"scale\": -1.5e-3, \"flag\": true, \"other\": false, \"empty\": {}, \"none\": []\n"
	"}\n";

static const char json_v1[] =
	"\xEF\xBB\xBF{\"name\": \"Heart\", \"description\": \"Left atrium segmentation \\\"LASC\\\"\",\n"
	" \"tensorImageSize\": \"3D\", \"modality\": {\"0\": \"MRI\"},\n"
	" \"labels\": {\"0\": \"background\", \"1\": \"left atrium\"},\n"
	" \"numTraining\": 20, \"numTest\": 10,\n"
	" \"training\": [{\"image\": \".\\/imagesTr\\/la_007.nii.gz\", \"label\": "
	"\"./labelsTr/la_007.nii.gz\"}],\n"
	" \"test\": [\"./imagesTs/la_015.nii.gz\"]}";

/* Fills *p from dir/dataset.json written with text; returns the status. */
static int nnunet_from(ctw_ctx *ctx, const char *dir, const char *text, size_t len, ctw_preset *p)
{
	char labels[600];
	write_file(dir, "dataset.json", text, len);
	snprintf(labels, sizeof(labels), "%s/case_001.nii.gz", dir);
	return ctw_preset_get(ctx, "nnunet", labels, p);
}

static void check_bad_json(ctw_ctx *ctx, const char *dir, const char *text, const char *needle)
{
	ctw_preset p;
	memset(&p, 0, sizeof(p));
	if (nnunet_from(ctx, dir, text, strlen(text), &p) != CTW_ERR_FORMAT)
		fail_msg("json accepted: %s", text);
	assert_int_equal(p.n, 0);
	assert_non_null(strstr(ctw_errmsg(ctx), "dataset.json"));
	if (!strstr(ctw_errmsg(ctx), needle))
		fail_msg("json %s: message '%s' lacks '%s'", text, ctw_errmsg(ctx), needle);
}

static void test_presets_nnunet(void **state)
{
	char base[] = "/tmp/ctw_presets_XXXXXX", path[600], deep[400];
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_preset p;
	(void)state;

	assert_non_null(ctx);
	assert_non_null(mkdtemp(base));

	/* v2, name -> int */
	assert_int_equal(nnunet_from(ctx, base, json_v2, strlen(json_v2), &p), CTW_OK);
	assert_string_equal(p.name, "nnunet");
	assert_int_equal(p.n, 3);
	assert_int_equal(lookup(&p, 1), CTW_LBL_LV_BLOOD);
	assert_int_equal(lookup(&p, 2), CTW_LBL_LV_MYO);
	assert_int_equal(lookup(&p, 3), CTW_LBL_RV_BLOOD);
	/* the directory itself as labels_path */
	memset(&p, 0, sizeof(p));
	assert_int_equal(ctw_preset_get(ctx, "nnunet", base, &p), CTW_OK);
	assert_int_equal(p.n, 3);

	/* v1 / MSD, "int" -> name, with a BOM and escapes */
	assert_int_equal(nnunet_from(ctx, base, json_v1, strlen(json_v1), &p), CTW_OK);
	assert_int_equal(p.n, 1);
	assert_int_equal(lookup(&p, 1), CTW_LBL_LA_BLOOD);

	/* synonyms: case, spaces, underscores, hyphens, \u escapes, regions, canonical names */
	static const char syn[] =
		"{\"labels\": {\"Background\": 0, \"Left-Ventricle\": 1, \"heart_MYOCARDIUM\": 2,"
		" \"right\\u0020ventricle\": [3, 4], \"Heart Atrium Left\": 5, \"RA\": 6, \"Ao\": 7,"
		" \"pulmonary_artery\": 8, \"right ventricular myocardium\": 9, \"heart\": 10,"
		" \"LA_APPENDAGE\": 11, \"lv blood pool\": 12, \"caf\\u00e9\\ud83d\\ude00\": 0}}";
	assert_int_equal(nnunet_from(ctx, base, syn, strlen(syn), &p), CTW_OK);
	assert_int_equal(p.n, 11);
	assert_int_equal(lookup(&p, 1), CTW_LBL_LV_BLOOD);
	assert_int_equal(lookup(&p, 2), CTW_LBL_LV_MYO);
	assert_int_equal(lookup(&p, 3), CTW_LBL_RV_BLOOD);
	assert_int_equal(lookup(&p, 4), -1);
	assert_int_equal(lookup(&p, 5), CTW_LBL_LA_BLOOD);
	assert_int_equal(lookup(&p, 6), CTW_LBL_RA_BLOOD);
	assert_int_equal(lookup(&p, 7), CTW_LBL_AORTA);
	assert_int_equal(lookup(&p, 8), CTW_LBL_PA);
	assert_int_equal(lookup(&p, 9), CTW_LBL_RV_MYO);
	assert_int_equal(lookup(&p, 10), CTW_LBL_HEART);
	assert_int_equal(lookup(&p, 11), CTW_LBL_LAA);
	assert_int_equal(lookup(&p, 12), CTW_LBL_LV_BLOOD);

	/* nesting: 64 levels are fine, 65 are not */
	memset(deep, 0, sizeof(deep));
	strcpy(deep, "{\"labels\": {\"1\": \"lv\"}, \"x\": ");
	for (int i = 0; i < 63; i++)
		strcat(deep, "[");
	for (int i = 0; i < 63; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	assert_int_equal(nnunet_from(ctx, base, deep, strlen(deep), &p), CTW_OK);
	strcpy(deep, "{\"labels\": {\"1\": \"lv\"}, \"x\": ");
	for (int i = 0; i < 64; i++)
		strcat(deep, "[");
	for (int i = 0; i < 64; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	check_bad_json(ctx, base, deep, "deeper than 64");

	/* malformed */
	check_bad_json(ctx, base, "", "unexpected end of file");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 1,}}", "line 1, column 21: expected a member name");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 1}", "expected ',' or '}'");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 1}}}", "after the JSON value");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 1}}\n\n  x", "line 3, column 3");
	check_bad_json(ctx, base, "{\"labels\": {\"LV: 1}}", "unterminated string");
	check_bad_json(ctx, base, "{\"labels\": {\"L\tV\": 1}}", "control character");
	check_bad_json(ctx, base, "{\"labels\": {\"L\\xV\": 1}}", "bad escape");
	check_bad_json(ctx, base, "{\"labels\": {\"L\\u00g0\": 1}}", "hex digit");
	check_bad_json(ctx, base, "{\"labels\": {\"L\\ud800\": 1}}", "surrogate");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 01}}", "expected ',' or '}'");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 1.}}", "bad number");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": -}}", "bad number");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 1e}}", "exponent");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": tru}}", "unexpected character");
	check_bad_json(ctx, base, "{\"labels\": {LV: 1}}", "member name");
	check_bad_json(ctx, base, "{\"labels\" {\"LV\": 1}}", "expected ':'");
	check_bad_json(ctx, base, "{'labels': {}}", "member name");
	check_bad_json(ctx, base, "[1, 2]", "not a JSON object");
	check_bad_json(ctx, base, "{\"name\": \"x\"}", "no \"labels\" object");
	check_bad_json(ctx, base, "{\"labels\": [\"LV\"]}", "no \"labels\" object");
	check_bad_json(ctx, base, "{\"labels\": {\"background\": 0}}", "no structure");

	/* well-formed JSON with wrong labels */
	check_bad_json(ctx, base, "{\"labels\": {\"background\": 0, \"tumour\": 1}}",
		       "label name 'tumour' (value 1) matches no known structure");
	check_bad_json(ctx, base, "{\"labels\": {\"0\": \"background\", \"1\": \"edema\"}}",
		       "label name 'edema' (value 1)");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 1.5}}", "not an integer");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 70000}}", "not an integer in 0..65535");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": \"x\"}}", "label key 'LV'");
	check_bad_json(ctx, base, "{\"labels\": {\"-1\": \"LV\"}}", "label key '-1'");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": []}}", "no integer value");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": true}}", "no integer value");
	check_bad_json(ctx, base, "{\"labels\": {\"LV\": 1, \"LVC\": 1}}", "listed twice");

	/* larger than 1 MiB */
	{
		size_t n = ((size_t)1 << 20) + 10;
		char *huge = malloc(n);
		assert_non_null(huge);
		memset(huge, ' ', n);
		memcpy(huge, "{\"labels\": {\"LV\": 1}}", 21);
		memset(&p, 0, sizeof(p));
		assert_int_equal(nnunet_from(ctx, base, huge, n, &p), CTW_ERR_FORMAT);
		assert_non_null(strstr(ctw_errmsg(ctx), "larger than 1 MiB"));
		/* exactly 1 MiB is fine */
		assert_int_equal(nnunet_from(ctx, base, huge, (size_t)1 << 20, &p), CTW_OK);
		free(huge);
	}

	/* a missing dataset.json */
	snprintf(path, sizeof(path), "%s/dataset.json", base);
	assert_int_equal(remove(path), 0);
	snprintf(path, sizeof(path), "%s/case_001.nii.gz", base);
	assert_int_equal(ctw_preset_get(ctx, "nnunet", path, &p), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "dataset.json"));
	assert_non_null(strstr(ctw_errmsg(ctx), "cannot open"));

	assert_int_equal(ctw_rm_rf(ctx, base), CTW_OK);
	ctw_ctx_free(ctx);
}

/* ---- the automatic choice ------------------------------------------------------------------------- */

/* A short-axis-like stack: per slice, a blood disc of label `lv` (radius 6) inside a ring of label
 * 2 (to radius 9) centred at (14, 20), and a crescent of label `rv` beside it (radius 9..15 to the
 * right of x = 16) that touches the ring only at the septum. With `caps`, slices 0 and nz-1 hold
 * only myocardium over the disc (an apex and a base closing the cavity). */
static ctw_volume *sax_volume(ctw_ctx *ctx, ctw_dtype t, int lv, int rv, int64_t nz, int caps)
{
	ctw_volume *v = new_volume(ctx, 40, 40, nz, t);
	for (int64_t k = 0; k < nz; k++)
		for (int64_t j = 0; j < 40; j++)
			for (int64_t i = 0; i < 40; i++) {
				double r = hypot((double)i - 14.0, (double)j - 20.0);
				int cap = caps && (k == 0 || k == nz - 1);
				if (r <= 6.0)
					set_at(v, i, j, k, cap ? 2 : lv);
				else if (r <= 9.0)
					set_at(v, i, j, k, 2);
				else if (r <= 15.0 && i > 16 && !cap)
					set_at(v, i, j, k, rv);
			}
	return v;
}

static void test_presets_auto_sax(void **state)
{
	static const ctw_dtype types[] = { CTW_U8, CTW_U16, CTW_I16, CTW_I32, CTW_F32 };
	ctw_ctx *ctx = ctw_ctx_new();
	logcap log;
	ctw_preset p;
	(void)state;

	assert_non_null(ctx);
	ctw_ctx_set_log(ctx, capture, &log, CTW_LOG_DEBUG);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		/* ACDC: LV cavity 3, RV 1; spacing 1.5 x 1.5 x 8 */
		ctw_volume *v = sax_volume(ctx, types[t], 3, 1, 8, 0);
		v->spacing[0] = v->spacing[1] = 1.5;
		v->spacing[2] = 8.0;
		memset(&log, 0, sizeof(log));
		assert_int_equal(ctw_preset_auto(ctx, "acdc.nii.gz", v, &p), CTW_OK);
		assert_string_equal(p.name, "acdc");
		assert_int_equal(log.n, 1);
		assert_non_null(strstr(log.last, "'acdc'"));
		assert_non_null(strstr(log.last, "100% of label 3's"));
		assert_non_null(strstr(log.last, "across k)"));
		/* and the remap that follows it */
		int64_t changed;
		assert_int_equal(ctw_preset_apply(ctx, &p, "acdc.nii.gz", v, &changed), CTW_OK);
		assert_int_equal((int)get_at(v, 14, 20, 3), CTW_LBL_LV_BLOOD);
		assert_int_equal((int)get_at(v, 28, 20, 3), CTW_LBL_RV_BLOOD);
		assert_int_equal((int)get_at(v, 22, 20, 3), CTW_LBL_LV_MYO);
		ctw_volume_free(ctx, v);

		/* M&Ms: LV cavity 1, RV 3 */
		v = sax_volume(ctx, types[t], 1, 3, 8, 0);
		v->spacing[0] = v->spacing[1] = 1.5;
		v->spacing[2] = 8.0;
		memset(&log, 0, sizeof(log));
		assert_int_equal(ctw_preset_auto(ctx, "mnms.nii.gz", v, &p), CTW_OK);
		assert_string_equal(p.name, "mnms");
		assert_non_null(strstr(log.last, "'mnms'"));
		assert_non_null(strstr(log.last, "label 1 is the LV cavity"));
		ctw_volume_free(ctx, v);
	}

	/* isotropic grid: all three slice directions; caps close the cavity along k */
	ctw_volume *v = sax_volume(ctx, CTW_U8, 1, 3, 24, 1);
	memset(&log, 0, sizeof(log));
	assert_int_equal(ctw_preset_auto(ctx, "iso", v, &p), CTW_OK);
	assert_string_equal(p.name, "mnms");
	assert_non_null(strstr(log.last, "across ijk)"));
	ctw_volume_free(ctx, v);

	/* a single 2D slice (dim[2] = 1, unit spacing): the slice itself */
	v = sax_volume(ctx, CTW_U8, 3, 1, 1, 0);
	assert_int_equal(ctw_preset_auto(ctx, "2d", v, &p), CTW_OK);
	assert_string_equal(p.name, "acdc");
	ctw_volume_free(ctx, v);

	/* ambiguous: both 1 and 3 are discs inside rings of 2 */
	v = new_volume(ctx, 40, 40, 6, CTW_U8);
	v->spacing[2] = 10.0;
	for (int64_t k = 0; k < 6; k++)
		for (int64_t j = 0; j < 40; j++)
			for (int64_t i = 0; i < 40; i++) {
				double r1 = hypot((double)i - 10.0, (double)j - 20.0);
				double r3 = hypot((double)i - 30.0, (double)j - 20.0);
				if (r1 <= 5.0)
					set_at(v, i, j, k, 1);
				else if (r3 <= 5.0)
					set_at(v, i, j, k, 3);
				else if (r1 <= 8.0 || r3 <= 8.0)
					set_at(v, i, j, k, 2);
			}
	memset(&p, 0, sizeof(p));
	assert_int_equal(ctw_preset_auto(ctx, "amb.nii.gz", v, &p), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "amb.nii.gz: cannot tell ACDC from M&Ms"));
	assert_non_null(strstr(ctw_errmsg(ctx), "give --preset acdc or mnms"));
	assert_int_equal(p.n, 0);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static void test_presets_auto_sets(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v;
	ctw_preset p;
	logcap log;
	(void)state;

	assert_non_null(ctx);
	ctw_ctx_set_log(ctx, capture, &log, CTW_LOG_INFO);
	v = new_volume(ctx, 10, 10, 10, CTW_I16);

	/* MM-WHS (a subset, with the 421 typo) */
	ctw_volume_set(v, 1, 205);
	ctw_volume_set(v, 2, 500);
	ctw_volume_set(v, 3, 421);
	ctw_volume_set(v, 4, 850);
	memset(&log, 0, sizeof(log));
	assert_int_equal(ctw_preset_auto(ctx, "ct_1001", v, &p), CTW_OK);
	assert_string_equal(p.name, "mmwhs");
	assert_non_null(strstr(log.last, "'mmwhs'"));
	/* one MM-WHS value is not enough */
	memset(v->data, 0, 2000);
	ctw_volume_set(v, 1, 500);
	assert_int_equal(ctw_preset_auto(ctx, "one", v, &p), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "500 (1 voxel)"));
	assert_non_null(strstr(ctw_errmsg(ctx), "--preset"));
	/* MM-WHS values plus another */
	ctw_volume_set(v, 2, 205);
	ctw_volume_set(v, 3, 7);
	ctw_volume_set(v, 4, 7);
	assert_int_equal(ctw_preset_auto(ctx, "mix", v, &p), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "mix: label values 7 (2 voxels), 205 (1 voxel), 500 (1 voxel) "
						"match no built-in preset"));
	/* {1, 2} with 1 inside 2: the output of contours, canonical (issue 12 item 17); 1 beside
	 * 2 (a whole-heart mask and something else) is not */
	memset(v->data, 0, 2000);
	ctw_volume_set(v, 1, 1);
	ctw_volume_set(v, 2, 2);
	assert_int_equal(ctw_preset_auto(ctx, "beside", v, &p), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "--map FROM=TO"));
	memset(v->data, 0, 2000);
	for (int k = 2; k < 8; k++)
		for (int j = 2; j < 8; j++)
			for (int i = 2; i < 8; i++)
				ctw_volume_set(v, i + 10 * (j + 10 * k), i >= 4 && i < 6 && j >= 4 && j < 6 ? 1 : 2);
	assert_int_equal(ctw_preset_auto(ctx, "two", v, &p), CTW_OK);
	assert_string_equal(p.name, "canonical");
	assert_non_null(strstr(log.last, "'canonical'"));
	/* {1, 2, 3, 103}: segment's own biv output, canonical */
	ctw_volume_set(v, 3, 3);
	ctw_volume_set(v, 4, 103);
	assert_int_equal(ctw_preset_auto(ctx, "biv", v, &p), CTW_OK);
	assert_string_equal(p.name, "canonical");
	/* {1, 2, 3, 4}; the hint names --map */
	memset(v->data, 0, 2000);
	ctw_volume_set(v, 1, 1);
	ctw_volume_set(v, 2, 2);
	ctw_volume_set(v, 3, 3);
	ctw_volume_set(v, 4, 4);
	assert_int_equal(ctw_preset_auto(ctx, "four", v, &p), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "4 (1 voxel)"));
	assert_non_null(strstr(ctw_errmsg(ctx), "--map FROM=TO"));
	/* negative values */
	ctw_volume_set(v, 4, -3);
	assert_int_equal(ctw_preset_auto(ctx, "neg", v, &p), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "-3 (1 voxel)"));
	/* empty */
	memset(v->data, 0, 2000);
	assert_int_equal(ctw_preset_auto(ctx, "empty", v, &p), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "no labels"));
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

/* ---- allocation faults ------------------------------------------------------------------------ */

static void test_presets_alloc_faults(void **state)
{
	char base[] = "/tmp/ctw_presets_XXXXXX", labels[600];
	ctw_ctx *plain = ctw_ctx_new();
	ctw_volume *v;
	long n, total = 0;
	(void)state;

	assert_non_null(plain);
	assert_non_null(mkdtemp(base));
	{
		/* more nodes than the parser's first block, so its growth fails too */
		char text[1024] = "{\"labels\": {\"0\": \"background\", \"1\": \"LV\"}, \"x\": [0";
		for (int i = 0; i < 150; i++)
			strcat(text, ",1");
		strcat(text, "]}");
		write_file(base, "dataset.json", text, strlen(text));
	}
	snprintf(labels, sizeof(labels), "%s/x.nii.gz", base);
	/* the volume comes from a context without faults */
	v = sax_volume(plain, CTW_U8, 3, 1, 8, 0);
	v->spacing[2] = 8.0;
	for (int what = 0; what < 3; what++) {
		for (n = 2;; n++) { /* allocation 1 is the context itself */
			fault_alloc f;
			ctw_ctx *ctx = fault_ctx(&f, n);
			ctw_preset p, acdc;
			int64_t changed;
			int ret;

			assert_non_null(ctx);
			memset(&p, 0, sizeof(p));
			assert_int_equal(ctw_preset_get(plain, "acdc", NULL, &acdc), CTW_OK);
			if (what == 0)
				ret = ctw_preset_get(ctx, "nnunet", labels, &p);
			else if (what == 1)
				ret = ctw_preset_auto(ctx, "v", v, &p);
			else
				ret = ctw_preset_apply(ctx, &acdc, "v", v, &changed);
			if (ret == CTW_OK) {
				if (what == 2)
					assert_true(changed > 0);
				else
					assert_true(p.n > 0);
				ctw_ctx_free(ctx);
				assert_int_equal(f.live, 0);
				break;
			}
			assert_int_equal(ret, CTW_ERR_NOMEM);
			assert_int_equal(p.n, 0);
			assert_non_null(strstr(ctw_errmsg(ctx), "out of memory"));
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			assert_true(n < 1000);
		}
		total += n - 2;
	}
	print_message("presets: %ld allocations, each failure checked\n", total);
	ctw_volume_free(plain, v);
	assert_int_equal(ctw_rm_rf(plain, base), CTW_OK);
	ctw_ctx_free(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_presets_builtins_canonical),
		cmocka_unit_test(test_presets_apply_mmwhs),
		cmocka_unit_test(test_presets_apply_unknown),
		cmocka_unit_test(test_presets_parse),
		cmocka_unit_test(test_presets_nnunet),
		cmocka_unit_test(test_presets_auto_sax),
		cmocka_unit_test(test_presets_auto_sets),
		cmocka_unit_test(test_presets_alloc_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
