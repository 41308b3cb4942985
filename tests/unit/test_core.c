/* test_core.c: the context, allocator fault injection, volumes, label maps, meshes, fields and
 * the atomic-publication helpers of pipeline/core. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "ctw.h"
#include "fault_alloc.h"
#include "fs.h"

/* Runs op with the Nth allocation failing for N = 1, 2, ... until it succeeds; every failure must
 * return CTW_ERR_NOMEM with a message and leave no block allocated. Returns the number of
 * allocations op needs. */
typedef int (*alloc_op)(ctw_ctx *ctx);

static long check_alloc_faults(alloc_op op)
{
	for (long n = 2;; n++) { /* allocation 1 is the context itself */
		fault_alloc f;
		ctw_ctx *ctx = fault_ctx(&f, n);
		int ret;
		assert_non_null(ctx);
		ret = op(ctx);
		if (ret == CTW_OK) {
			ctw_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			return n - 2;
		}
		assert_int_equal(ret, CTW_ERR_NOMEM);
		assert_int_equal(ctw_errcode(ctx), CTW_ERR_NOMEM);
		assert_non_null(strstr(ctw_errmsg(ctx), "out of memory"));
		ctw_ctx_free(ctx);
		assert_int_equal(f.live, 0);
		assert_true(n < 100);
	}
}

static int op_volume(ctw_ctx *ctx)
{
	int64_t dim[3] = { 4, 5, 6 };
	ctw_volume *v;
	int ret = ctw_volume_new(ctx, dim, CTW_F32, &v);
	if (!ret) {
		ctw_volume *w;
		ret = ctw_volume_convert(ctx, v, CTW_U8, &w);
		ctw_volume_free(ctx, w);
	}
	ctw_volume_free(ctx, v);
	return ret;
}

static int op_tetmesh(ctw_ctx *ctx)
{
	ctw_tetmesh *m;
	int ret = ctw_tetmesh_new(ctx, 10, 20, 30, &m);
	ctw_tetmesh_free(ctx, m);
	return ret;
}

static int op_field(ctw_ctx *ctx)
{
	ctw_field *f;
	int ret = ctw_field_new(ctx, "fiber", CTW_ON_CELLS, 3, 100, &f);
	ctw_field_free(ctx, f);
	return ret;
}

static int op_labelmap(ctw_ctx *ctx)
{
	int64_t dim[3] = { 3, 3, 3 };
	ctw_volume *v;
	ctw_labelmap *lm;
	int ret = ctw_volume_new(ctx, dim, CTW_F32, &v);
	if (ret)
		return ret;
	((float *)v->data)[5] = 103.0f;
	ret = ctw_labelmap_from_volume(ctx, "t", v, &lm);
	if (ret) {
		ctw_volume_free(ctx, v);
		return ret;
	}
	ctw_labelmap_free(ctx, lm);
	return CTW_OK;
}

static int op_path(ctw_ctx *ctx)
{
	char *a = NULL, *b = NULL;
	int ret = ctw_path_join(ctx, "dir/", "x.nii.gz", &a);
	if (!ret)
		ret = ctw_tmp_sibling(ctx, a, &b);
	ctw_free(ctx, a);
	ctw_free(ctx, b);
	return ret;
}

static void test_core_alloc_nth_failure(void **state)
{
	(void)state;
	/* volume: struct + data, convert: struct + data */
	assert_int_equal(check_alloc_faults(op_volume), 4);
	assert_int_equal(check_alloc_faults(op_tetmesh), 6);
	assert_int_equal(check_alloc_faults(op_field), 2);
	assert_true(check_alloc_faults(op_labelmap) >= 4);
	assert_int_equal(check_alloc_faults(op_path), 2);
}

static void test_core_ctx_creation_fails_cleanly(void **state)
{
	fault_alloc f;
	(void)state;
	assert_null(fault_ctx(&f, 1));
	assert_int_equal(f.live, 0);
}

static void test_core_error_message(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	(void)state;
	assert_string_equal(ctw_errmsg(ctx), "");
	assert_int_equal(ctw_error(ctx, CTW_ERR_FORMAT, "a.nii", "bad %s %d", "dim", 3), CTW_ERR_FORMAT);
	assert_string_equal(ctw_errmsg(ctx), "a.nii: bad dim 3");
	assert_int_equal(ctw_exit_code(ctw_errcode(ctx)), 2);
	ctw_error(ctx, CTW_ERR_EXTERNAL, NULL, "x");
	assert_string_equal(ctw_errmsg(ctx), "x");
	ctw_clear_error(ctx);
	assert_int_equal(ctw_errcode(ctx), CTW_OK);
	assert_int_equal(ctw_exit_code(CTW_OK), 0);
	assert_int_equal(ctw_exit_code(CTW_ERR_INVALID), 1);
	assert_int_equal(ctw_exit_code(CTW_ERR_IO), 2);
	assert_int_equal(ctw_exit_code(CTW_ERR_EXTERNAL), 3);
	assert_int_equal(ctw_exit_code(CTW_ERR_INTERNAL), 4);
	/* very long messages are truncated, not overflowed */
	{
		char big[4000];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ctw_error(ctx, CTW_ERR_IO, big, "%s", big);
		assert_true(strlen(ctw_errmsg(ctx)) < 1024);
	}
	ctw_ctx_free(ctx);
}

static int n_logged;
static char last_log[256];

static void test_log(void *ud, ctw_log_level lvl, const char *domain, const char *msg)
{
	(void)ud;
	(void)lvl;
	n_logged++;
	snprintf(last_log, sizeof(last_log), "%s|%s", domain, msg);
}

static void test_core_log_levels(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	(void)state;
	n_logged = 0;
	ctw_log(ctx, CTW_LOG_ERROR, "x", "no logger installed");
	ctw_ctx_set_log(ctx, test_log, NULL, CTW_LOG_INFO);
	ctw_log(ctx, CTW_LOG_INFO, "mesh", "%d tets", 42);
	ctw_log(ctx, CTW_LOG_DEBUG, "mesh", "filtered out");
	assert_int_equal(n_logged, 1);
	assert_string_equal(last_log, "mesh|42 tets");
	ctw_ctx_free(ctx);
}

static int cancel_at_half(void *ud, const char *stage, double f)
{
	int *calls = ud;
	(void)stage;
	(*calls)++;
	return f >= 0.5;
}

static void test_core_progress_cancel(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	int calls = 0, i, stopped = -1;
	(void)state;
	assert_int_equal(ctw_progress(ctx, "s", 1, 2), 0); /* no callback: never cancels */
	ctw_ctx_set_progress(ctx, cancel_at_half, &calls);
	for (i = 0; i < 10; i++) {
		if (ctw_progress(ctx, "s", i, 10)) {
			stopped = i;
			break;
		}
	}
	assert_int_equal(stopped, 5);
	assert_int_equal(calls, 6);
	ctw_ctx_free(ctx);
}

static void test_core_volume_geometry(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	int64_t dim[3] = { 2, 3, 4 };
	ctw_volume *v;
	double m[4][4], ijk[3] = { 1, 2, 3 }, xyz[3];
	const double c = cos(0.3), s = sin(0.3);
	char o[4];
	(void)state;
	assert_int_equal(ctw_volume_new(ctx, dim, CTW_I16, &v), CTW_OK);
	assert_int_equal(ctw_volume_count(v), 24);
	ctw_volume_orientation(v, o);
	assert_string_equal(o, "LPS");
	/* rotation about z by 0.3 rad, spacing (0.5, 2, 3), origin (10, -20, 30) */
	v->spacing[0] = 0.5;
	v->spacing[1] = 2;
	v->spacing[2] = 3;
	v->origin[0] = 10;
	v->origin[1] = -20;
	v->origin[2] = 30;
	v->direction[0][0] = c;
	v->direction[0][1] = -s;
	v->direction[1][0] = s;
	v->direction[1][1] = c;
	ctw_volume_index_to_world(v, ijk, xyz);
	assert_true(fabs(xyz[0] - (10 + c * 0.5 - s * 4)) < 1e-12);
	assert_true(fabs(xyz[1] - (-20 + s * 0.5 + c * 4)) < 1e-12);
	assert_true(fabs(xyz[2] - (30 + 9)) < 1e-12);
	ctw_volume_ijk_to_world(v, m);
	assert_true(fabs(m[0][3] - 10) < 1e-12 && fabs(m[1][1] - 2 * c) < 1e-12 && m[3][3] == 1);
	assert_int_equal(ctw_check_geometry(ctx, "v", v), CTW_OK);
	/* RAS-like axes, as in a NIfTI written by FSL */
	memset(v->direction, 0, sizeof(v->direction));
	v->direction[0][0] = -1;
	v->direction[1][1] = -1;
	v->direction[2][2] = 1;
	ctw_volume_orientation(v, o);
	assert_string_equal(o, "RAS");
	/* bad geometry */
	v->spacing[1] = 0;
	assert_int_equal(ctw_check_geometry(ctx, "v", v), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "spacing"));
	v->spacing[1] = NAN;
	assert_int_equal(ctw_check_geometry(ctx, "v", v), CTW_ERR_FORMAT);
	v->spacing[1] = 1;
	v->direction[2][2] = 2;
	assert_int_equal(ctw_check_geometry(ctx, "v", v), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "orthonormal"));
	ctw_volume_free(ctx, v);
	ctw_volume_free(ctx, NULL);
	ctw_ctx_free(ctx);
}

static void test_core_volume_limits(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	int64_t zero[3] = { 0, 5, 5 }, huge[3] = { 1 << 20, 1 << 20, 1 << 20 }, ok[3] = { 10, 10, 10 };
	ctw_volume *v = (ctw_volume *)&v;
	(void)state;
	assert_int_equal(ctw_volume_new(ctx, zero, CTW_U8, &v), CTW_ERR_INVALID);
	assert_null(v);
	assert_int_equal(ctw_volume_new(ctx, huge, CTW_U8, &v), CTW_ERR_INVALID);
	assert_non_null(strstr(ctw_errmsg(ctx), "exceed the limit"));
	ctw_ctx_set_max_voxels(ctx, 999);
	assert_int_equal(ctw_volume_new(ctx, ok, CTW_U8, &v), CTW_ERR_INVALID);
	ctw_ctx_set_max_voxels(ctx, 1000);
	assert_int_equal(ctw_volume_new(ctx, ok, CTW_U8, &v), CTW_OK);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static void test_core_volume_convert(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	int64_t dim[3] = { 5, 1, 1 };
	const float in[5] = { -3.7f, 0.49f, 2.5f, 300.0f, NAN };
	const double want_u8[5] = { 0, 0, 3, 255, 0 }, want_i16[5] = { -4, 0, 3, 300, 0 };
	ctw_volume *v, *a, *b;
	(void)state;
	assert_int_equal(ctw_volume_new(ctx, dim, CTW_F32, &v), CTW_OK);
	memcpy(v->data, in, sizeof(in));
	v->origin[2] = 7;
	assert_int_equal(ctw_volume_convert(ctx, v, CTW_U8, &a), CTW_OK);
	assert_int_equal(ctw_volume_convert(ctx, v, CTW_I16, &b), CTW_OK);
	for (int i = 0; i < 5; i++) {
		assert_true(ctw_volume_get(a, i) == want_u8[i]);
		assert_true(ctw_volume_get(b, i) == want_i16[i]);
	}
	assert_true(a->origin[2] == 7 && a->dtype == CTW_U8);
	ctw_volume_free(ctx, a);
	ctw_volume_free(ctx, b);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static void test_core_labelmap_vocabulary(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	int64_t dim[3] = { 4, 1, 1 }, counts[256];
	ctw_volume *v;
	ctw_labelmap *lm;
	int n;
	const ctw_label *l = ctw_canonical_labels(&n);
	(void)state;
	assert_true(n >= 23);
	for (int i = 1; i < n; i++)
		assert_true(l[i].value > l[i - 1].value);
	assert_string_equal(ctw_label_name(103), "rv_myo");
	assert_null(ctw_label_name(99));
	/* fractional values are refused */
	assert_int_equal(ctw_volume_new(ctx, dim, CTW_F32, &v), CTW_OK);
	((float *)v->data)[1] = 1.5f;
	assert_int_equal(ctw_labelmap_from_volume(ctx, "m.nii", v, &lm), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "m.nii: voxel 1 holds 1.5"));
	/* values outside the vocabulary are refused and named */
	((float *)v->data)[1] = 99.0f;
	assert_int_equal(ctw_labelmap_from_volume(ctx, "m.nii", v, &lm), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "label value 99"));
	/* a good map takes ownership and becomes uint8 */
	((float *)v->data)[1] = 2.0f;
	((float *)v->data)[2] = 2.0f;
	((float *)v->data)[3] = 103.0f;
	assert_int_equal(ctw_labelmap_from_volume(ctx, "m.nii", v, &lm), CTW_OK);
	assert_int_equal(lm->grid->dtype, CTW_U8);
	ctw_labelmap_count(lm, counts, 256);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[2], 2);
	assert_int_equal(counts[103], 1);
	ctw_labelmap_free(ctx, lm);
	ctw_ctx_free(ctx);
}

static void test_core_tetmesh_volume_and_check(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_tetmesh *m;
	/* unit cube split into 6 tets around the diagonal 0-7 (volume 1) */
	static const int32_t tets[] = { 0, 1, 3, 7, 0, 1, 5, 7, 0, 2, 3, 7,
					0, 2, 6, 7, 0, 4, 5, 7, 0, 4, 6, 7 };
	(void)state;
	assert_int_equal(ctw_tetmesh_new(ctx, 8, 6, 0, &m), CTW_OK);
	for (int i = 0; i < 8; i++) {
		m->xyz[3 * i] = i & 1;
		m->xyz[3 * i + 1] = (i >> 1) & 1;
		m->xyz[3 * i + 2] = (i >> 2) & 1;
	}
	memcpy(m->tets, tets, sizeof(tets));
	assert_int_equal(ctw_tetmesh_check(ctx, "cube", m), CTW_OK);
	assert_true(fabs(ctw_tetmesh_volume(m) - 1.0) < 1e-12);
	assert_true(fabs(fabs(ctw_tetmesh_tet_volume(m, 0)) - 1.0 / 6) < 1e-12);
	m->tets[9] = 8;
	assert_int_equal(ctw_tetmesh_check(ctx, "cube", m), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "tetrahedron 2 refers to node 8"));
	ctw_tetmesh_free(ctx, m);
	ctw_tetmesh_free(ctx, NULL);
	ctw_ctx_free(ctx);
}

static void test_core_field_name(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_field *f;
	(void)state;
	assert_int_equal(ctw_field_new(ctx, "a_name_that_is_far_too_long_for_a_field", CTW_ON_POINTS, 1,
				       3, &f),
			 CTW_ERR_INVALID);
	assert_null(f);
	assert_int_equal(ctw_field_new(ctx, "phi_epi", CTW_ON_POINTS, 1, 3, &f), CTW_OK);
	assert_true(f->values[2] == 0.0 && f->n == 3);
	ctw_field_free(ctx, f);
	ctw_ctx_free(ctx);
}

static void test_core_publish_atomic(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	char base[] = "/tmp/ctw_test_XXXXXX", *out, *tmp, *f;
	FILE *fp;
	(void)state;
	assert_non_null(mkdtemp(base));
	assert_int_equal(ctw_path_join(ctx, base, "pkg", &out), CTW_OK);
	/* first publication */
	assert_int_equal(ctw_tmp_sibling(ctx, out, &tmp), CTW_OK);
	assert_non_null(strstr(tmp, "/.tmp-"));
	assert_int_equal(ctw_mkdir_p(ctx, tmp), CTW_OK);
	assert_int_equal(ctw_publish(ctx, tmp, out), CTW_OK);
	assert_true(ctw_is_dir(out));
	assert_false(ctw_is_dir(tmp));
	ctw_free(ctx, tmp);
	/* replacing it with a new directory holding a file */
	assert_int_equal(ctw_tmp_sibling(ctx, out, &tmp), CTW_OK);
	assert_int_equal(ctw_mkdir_p(ctx, tmp), CTW_OK);
	assert_int_equal(ctw_path_join(ctx, tmp, "x.txt", &f), CTW_OK);
	fp = fopen(f, "w");
	assert_non_null(fp);
	fclose(fp);
	ctw_free(ctx, f);
	assert_int_equal(ctw_publish(ctx, tmp, out), CTW_OK);
	ctw_free(ctx, tmp);
	assert_int_equal(ctw_path_join(ctx, out, "x.txt", &f), CTW_OK);
	assert_true(ctw_is_file(f));
	/* a file cannot replace a directory */
	assert_int_equal(ctw_publish(ctx, f, out), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), "is a directory"));
	ctw_free(ctx, f);
	/* mkdir -p through a file fails cleanly */
	assert_int_equal(ctw_path_join(ctx, out, "x.txt/sub", &f), CTW_OK);
	assert_int_equal(ctw_mkdir_p(ctx, f), CTW_ERR_IO);
	ctw_free(ctx, f);
	assert_int_equal(ctw_rm_rf(ctx, base), CTW_OK);
	assert_false(ctw_is_dir(base));
	ctw_free(ctx, out);
	ctw_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_alloc_nth_failure),
		cmocka_unit_test(test_core_ctx_creation_fails_cleanly),
		cmocka_unit_test(test_core_error_message),
		cmocka_unit_test(test_core_log_levels),
		cmocka_unit_test(test_core_progress_cancel),
		cmocka_unit_test(test_core_volume_geometry),
		cmocka_unit_test(test_core_volume_limits),
		cmocka_unit_test(test_core_volume_convert),
		cmocka_unit_test(test_core_labelmap_vocabulary),
		cmocka_unit_test(test_core_tetmesh_volume_and_check),
		cmocka_unit_test(test_core_field_name),
		cmocka_unit_test(test_core_publish_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
