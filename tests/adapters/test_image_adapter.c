/* test_image_adapter.c: image I/O through the ITK adapter. Round trips (NIfTI .nii/.nii.gz,
 * NRRD, MetaImage, DICOM series) keep every voxel and the world position of every voxel,
 * including oblique and left-handed grids; bad files give a clear error naming the file. */
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
#include <zlib.h>

#include "ctw.h"
#include "fs.h"
#include "image.h"
#include "image_itk.h"

static char tmpdir[64];

static char *path_in_tmp(const char *name)
{
	static char buf[8][256];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

/* Rotation from three angles: an oblique, right-handed direction matrix. */
static void rotation(double a, double b, double c, double d[3][3])
{
	double ca = cos(a), sa = sin(a), cb = cos(b), sb = sin(b), cc = cos(c), sc = sin(c);
	double rz[3][3] = { { ca, -sa, 0 }, { sa, ca, 0 }, { 0, 0, 1 } };
	double ry[3][3] = { { cb, 0, sb }, { 0, 1, 0 }, { -sb, 0, cb } };
	double rx[3][3] = { { 1, 0, 0 }, { 0, cc, -sc }, { 0, sc, cc } };
	double t[3][3];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			t[i][j] = 0;
			for (int k = 0; k < 3; k++)
				t[i][j] += ry[i][k] * rx[k][j];
		}
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			d[i][j] = 0;
			for (int k = 0; k < 3; k++)
				d[i][j] += rz[i][k] * t[k][j];
		}
}

static ctw_volume *make_volume(ctw_ctx *ctx, ctw_dtype t, int left_handed)
{
	int64_t dim[3] = { 13, 11, 7 };
	ctw_volume *v;
	uint32_t s = 12345;
	assert_int_equal(ctw_volume_new(ctx, dim, t, &v), CTW_OK);
	for (int64_t n = 0; n < ctw_volume_count(v); n++) {
		s = s * 1664525u + 1013904223u;
		double x = (double)(s >> 16) / 65536.0; /* [0,1) */
		ctw_volume_set(v, n,
			       t == CTW_U8    ? x * 255
			       : t == CTW_I16 ? x * 4000 - 1024
			       : t == CTW_U16 ? x * 65535
			       : t == CTW_I32 ? x * 2e6 - 1e6
					      : (x - 0.5) * 1e3);
	}
	/* Scanner-like values; the origin and spacing are not float32-exact. */
	v->spacing[0] = 0.7421875;
	v->spacing[1] = 1.3671875;
	v->spacing[2] = 2.5;
	v->origin[0] = -123.456;
	v->origin[1] = 87.125;
	v->origin[2] = -45.3;
	rotation(0.4, -0.3, 0.25, v->direction);
	if (left_handed)
		for (int r = 0; r < 3; r++)
			v->direction[r][2] = -v->direction[r][2];
	return v;
}

/* Every voxel of a must sit, with the same value, at the same world position in b (within
 * tol mm), whatever the order of b's axes. */
static void assert_same_world(const ctw_volume *a, const ctw_volume *b, double tol)
{
	double worst = 0;
	assert_int_equal(ctw_volume_count(a), ctw_volume_count(b));
	for (int64_t k = 0; k < a->dim[2]; k++)
		for (int64_t j = 0; j < a->dim[1]; j++)
			for (int64_t i = 0; i < a->dim[0]; i++) {
				double ijk[3] = { (double)i, (double)j, (double)k }, p[3], q[3], bq[3];
				int64_t idx[3];
				ctw_volume_index_to_world(a, ijk, p);
				for (int c = 0; c < 3; c++) {
					q[c] = 0;
					for (int r = 0; r < 3; r++)
						q[c] += b->direction[r][c] * (p[r] - b->origin[r]);
					q[c] /= b->spacing[c];
					idx[c] = (int64_t)floor(q[c] + 0.5);
					assert_true(idx[c] >= 0 && idx[c] < b->dim[c]);
					bq[c] = (double)idx[c];
				}
				ctw_volume_index_to_world(b, bq, q);
				for (int c = 0; c < 3; c++)
					worst = fmax(worst, fabs(q[c] - p[c]));
				int64_t na = i + a->dim[0] * (j + a->dim[1] * k);
				int64_t nb = idx[0] + b->dim[0] * (idx[1] + b->dim[1] * idx[2]);
				assert_true(ctw_volume_get(a, na) == ctw_volume_get(b, nb));
			}
	if (worst > tol)
		fail_msg("world positions differ by %g mm (tolerance %g)", worst, tol);
}

static void assert_same_geometry(const ctw_volume *a, const ctw_volume *b, double tol)
{
	for (int c = 0; c < 3; c++) {
		assert_int_equal(a->dim[c], b->dim[c]);
		assert_true(fabs(a->spacing[c] - b->spacing[c]) <= tol);
		assert_true(fabs(a->origin[c] - b->origin[c]) <= tol);
		for (int r = 0; r < 3; r++)
			assert_true(fabs(a->direction[r][c] - b->direction[r][c]) <= tol);
	}
	assert_int_equal(memcmp(a->data, b->data, (size_t)ctw_volume_count(a) * ctw_dtype_size(a->dtype)),
			 0);
}

static void roundtrip(const char *name, ctw_dtype t, int left_handed, double tol)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = make_volume(ctx, t, left_handed), *w;
	const char *p = path_in_tmp(name);
	int ret;
	if (strstr(name, ".nii"))
		ret = ctw_image_write_nifti(ctx, v, p);
	else
		ret = ctw_itk_write(ctx, v, p);
	if (ret)
		fail_msg("%s", ctw_errmsg(ctx));
	ret = ctw_image_read(ctx, p, 0, &w);
	if (ret)
		fail_msg("%s", ctw_errmsg(ctx));
	assert_int_equal(w->dtype, t);
	assert_same_geometry(v, w, tol);
	assert_same_world(v, w, tol);
	ctw_volume_free(ctx, w);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

/* NIfTI-1 keeps the geometry in float32: 1e-6 relative, i.e. a few micrometres at 100 mm from
 * the scanner origin. The other formats keep it to 1e-6 mm. */
#define NIFTI_TOL 1e-6

static void test_image_nifti_roundtrip_types(void **state)
{
	(void)state;
	roundtrip("u8.nii.gz", CTW_U8, 0, NIFTI_TOL);
	roundtrip("i16.nii.gz", CTW_I16, 0, NIFTI_TOL);
	roundtrip("u16.nii.gz", CTW_U16, 0, NIFTI_TOL);
	roundtrip("i32.nii.gz", CTW_I32, 0, NIFTI_TOL);
	roundtrip("f32.nii.gz", CTW_F32, 0, NIFTI_TOL);
	roundtrip("f32.nii", CTW_F32, 0, NIFTI_TOL);
}

static void test_image_nifti_roundtrip_left_handed(void **state)
{
	(void)state;
	roundtrip("lh.nii.gz", CTW_I16, 1, NIFTI_TOL);
}

/* The standard float32 header fields alone (as any other NIfTI reader sees them, here ITK's)
 * give the same grid, to float32 precision; and a header edited by another tool wins over our
 * stored exact geometry. */
static void test_image_nifti_header_alone(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	const char *p = path_in_tmp("hdr.nii.gz"), *q = path_in_tmp("edited.nii");
	ctw_image_info info;
	ctw_volume *v, *w;
	(void)state;
	for (int lh = 0; lh < 2; lh++) {
		v = make_volume(ctx, CTW_I16, lh);
		assert_int_equal(ctw_image_write_nifti(ctx, v, p), CTW_OK);
		assert_int_equal(ctw_itk_read_info(ctx, p, &info), CTW_OK);
		for (int c = 0; c < 3; c++) {
			assert_true(fabs(info.spacing[c] - v->spacing[c]) < 1e-5);
			assert_true(fabs(info.origin[c] - v->origin[c]) < 1e-4);
			for (int r = 0; r < 3; r++)
				assert_true(fabs(info.direction[r][c] - v->direction[r][c]) < 1e-5);
		}
		ctw_volume_free(ctx, v);
	}
	/* move the sform/qform origin by 5 mm in x (RAS), as a tool editing the header would */
	v = make_volume(ctx, CTW_I16, 0);
	assert_int_equal(ctw_image_write_nifti(ctx, v, q), CTW_OK);
	{
		FILE *f = fopen(q, "r+b");
		float x;
		assert_non_null(f);
		for (int off = 268; off <= 292; off += 24) { /* qoffset_x, srow_x[3] */
			assert_int_equal(fseek(f, off, SEEK_SET), 0);
			assert_int_equal(fread(&x, 4, 1, f), 1);
			x += 5.0f;
			assert_int_equal(fseek(f, off, SEEK_SET), 0);
			assert_int_equal(fwrite(&x, 4, 1, f), 1);
		}
		fclose(f);
	}
	assert_int_equal(ctw_image_read(ctx, q, 0, &w), CTW_OK);
	assert_true(fabs(w->origin[0] - (v->origin[0] - 5.0)) < 1e-4); /* RAS +x = LPS -x */
	ctw_volume_free(ctx, w);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static void test_image_nrrd_mha_roundtrip(void **state)
{
	(void)state;
	roundtrip("v.nrrd", CTW_I16, 0, 1e-6);
	roundtrip("v.mha", CTW_F32, 1, 1e-6);
	roundtrip("u8.nrrd", CTW_U8, 1, 1e-6);
}

static void dicom_roundtrip(int left_handed)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = make_volume(ctx, CTW_I16, left_handed), *w;
	ctw_dicom_meta meta = { "CT", "test series" };
	ctw_image_info info;
	const char *dir = path_in_tmp(left_handed ? "dicom_lh" : "dicom_rh");
	if (ctw_image_write_dicom(ctx, v, dir, &meta))
		fail_msg("%s", ctw_errmsg(ctx));
	assert_int_equal(ctw_image_read_info(ctx, dir, NULL, &info), CTW_OK);
	assert_string_equal(info.format, "DICOM");
	assert_int_equal(info.n_series, 1);
	assert_int_equal(info.n_files, 7);
	assert_string_equal(info.pixel_type, "int16");
	if (ctw_image_read(ctx, dir, 0, &w))
		fail_msg("%s", ctw_errmsg(ctx));
	assert_int_equal(w->dtype, CTW_I16);
	assert_same_world(v, w, 1e-6);
	if (!left_handed)
		assert_same_geometry(v, w, 1e-6);
	ctw_volume_free(ctx, w);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static void test_image_dicom_roundtrip_oblique(void **state)
{
	(void)state;
	dicom_roundtrip(0);
}

static void test_image_dicom_roundtrip_left_handed(void **state)
{
	(void)state;
	dicom_roundtrip(1);
}

/* ---- bad input ------------------------------------------------------------------------------- */

static void expect_bad(const char *path, int code, const char *words)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = (ctw_volume *)&v;
	int ret = ctw_image_read(ctx, path, 0, &v);
	if (ret != code)
		fail_msg("%s: expected status %d, got %d (%s)", path, code, ret, ctw_errmsg(ctx));
	assert_null(v);
	assert_int_equal(ctw_exit_code((ctw_status)ret), 2);
	if (strncmp(ctw_errmsg(ctx), path, strlen(path)) != 0)
		fail_msg("message does not name the file: %s", ctw_errmsg(ctx));
	if (words && !strstr(ctw_errmsg(ctx), words))
		fail_msg("message lacks '%s': %s", words, ctw_errmsg(ctx));
	ctw_ctx_free(ctx);
}

/* Writes a small valid .nii, then pokes bytes into its header. */
static const char *patched_nifti(const char *name, int off, const void *bytes, size_t n)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = make_volume(ctx, CTW_I16, 0);
	const char *p = path_in_tmp(name);
	FILE *f;
	assert_int_equal(ctw_image_write_nifti(ctx, v, p), CTW_OK);
	f = fopen(p, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
	return p;
}

static const char *gzip_copy(const char *src, const char *name)
{
	const char *dst = path_in_tmp(name);
	char buf[4096];
	size_t n;
	FILE *in = fopen(src, "rb");
	gzFile out = gzopen(dst, "wb");
	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(gzwrite(out, buf, (unsigned)n), (int)n);
	fclose(in);
	assert_int_equal(gzclose(out), Z_OK);
	return dst;
}

static void test_image_bad_missing_and_not_images(void **state)
{
	FILE *f;
	(void)state;
	expect_bad(path_in_tmp("missing.nii.gz"), CTW_ERR_IO, "No such file");
	mkdir(path_in_tmp("empty_dir"), 0777);
	f = fopen(path_in_tmp("empty_dir/readme.txt"), "w");
	fputs("not dicom\n", f);
	fclose(f);
	expect_bad(path_in_tmp("empty_dir"), CTW_ERR_FORMAT, "no DICOM image series");
	f = fopen(path_in_tmp("text.nrrd"), "w");
	fputs("hello\n", f);
	fclose(f);
	expect_bad(path_in_tmp("text.nrrd"), CTW_ERR_FORMAT, NULL);
	f = fopen(path_in_tmp("empty.nii"), "w");
	fclose(f);
	expect_bad(path_in_tmp("empty.nii"), CTW_ERR_FORMAT, "truncated NIfTI header");
	f = fopen(path_in_tmp("unknown.xyz"), "w");
	fputs("hello\n", f);
	fclose(f);
	expect_bad(path_in_tmp("unknown.xyz"), CTW_ERR_FORMAT, "not an image file");
}

static void test_image_bad_truncated(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = make_volume(ctx, CTW_F32, 0);
	struct stat st;
	(void)state;
	assert_int_equal(ctw_image_write_nifti(ctx, v, path_in_tmp("trunc.nii.gz")), CTW_OK);
	assert_int_equal(ctw_image_write_nifti(ctx, v, path_in_tmp("trunc.nii")), CTW_OK);
	assert_int_equal(stat(path_in_tmp("trunc.nii.gz"), &st), 0);
	assert_int_equal(truncate(path_in_tmp("trunc.nii.gz"), st.st_size / 2), 0);
	assert_int_equal(stat(path_in_tmp("trunc.nii"), &st), 0);
	assert_int_equal(truncate(path_in_tmp("trunc.nii"), st.st_size - 100), 0);
	expect_bad(path_in_tmp("trunc.nii.gz"), CTW_ERR_FORMAT, NULL);
	expect_bad(path_in_tmp("trunc.nii"), CTW_ERR_FORMAT, "truncated");
	/* a gzip stream cut inside the header */
	assert_int_equal(ctw_image_write_nifti(ctx, v, path_in_tmp("trunc2.nii.gz")), CTW_OK);
	assert_int_equal(truncate(path_in_tmp("trunc2.nii.gz"), 60), 0);
	expect_bad(path_in_tmp("trunc2.nii.gz"), CTW_ERR_FORMAT, "truncated NIfTI header");
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static void test_image_bad_nifti_headers(void **state)
{
	const float zero = 0.0f, nan = NAN, neg = -1.0f, inf = INFINITY;
	const int16_t huge[3] = { 30000, 30000, 30000 }, negdim = -5, ndim = 9, bitpix = 12;
	const int32_t badsize = 1234;
	(void)state;
	expect_bad(patched_nifti("zero.nii", 80, &zero, 4), CTW_ERR_FORMAT, "voxel size along axis 0 is 0");
	expect_bad(patched_nifti("nan.nii", 84, &nan, 4), CTW_ERR_FORMAT, "voxel size along axis 1 is nan");
	expect_bad(patched_nifti("neg.nii", 88, &neg, 4), CTW_ERR_FORMAT, "voxel size along axis 2");
	expect_bad(patched_nifti("inf.nii", 80, &inf, 4), CTW_ERR_FORMAT, "voxel size");
	expect_bad(patched_nifti("huge.nii", 42, huge, 6), CTW_ERR_FORMAT, "more than");
	expect_bad(patched_nifti("negdim.nii", 44, &negdim, 2), CTW_ERR_FORMAT, "dimension 2 is -5");
	expect_bad(patched_nifti("ndim.nii", 40, &ndim, 2), CTW_ERR_FORMAT, "number of dimensions");
	expect_bad(patched_nifti("bitpix.nii", 72, &bitpix, 2), CTW_ERR_FORMAT, "bits per voxel");
	expect_bad(patched_nifti("size.nii", 0, &badsize, 4), CTW_ERR_FORMAT, "not a NIfTI");
	/* the same checks apply to gzip-compressed headers */
	expect_bad(gzip_copy(patched_nifti("zero2.nii", 80, &zero, 4), "zero.nii.gz"), CTW_ERR_FORMAT,
		   "voxel size along axis 0 is 0");
	expect_bad(gzip_copy(patched_nifti("huge2.nii", 42, huge, 6), "huge.nii.gz"), CTW_ERR_FORMAT,
		   "more than");
}

static void test_image_voxel_limit(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = make_volume(ctx, CTW_I16, 0), *w;
	(void)state;
	assert_int_equal(ctw_image_write_nifti(ctx, v, path_in_tmp("limit.nii.gz")), CTW_OK);
	assert_int_equal(ctw_itk_write(ctx, v, path_in_tmp("limit.nrrd")), CTW_OK);
	ctw_ctx_set_max_voxels(ctx, 1000); /* the image has 1001 */
	assert_int_equal(ctw_image_read(ctx, path_in_tmp("limit.nii.gz"), 0, &w), CTW_ERR_FORMAT);
	assert_int_equal(ctw_image_read(ctx, path_in_tmp("limit.nrrd"), 0, &w), CTW_ERR_FORMAT);
	assert_non_null(strstr(ctw_errmsg(ctx), "exceed the limit of 1000"));
	ctw_ctx_set_max_voxels(ctx, 1001);
	assert_int_equal(ctw_image_read(ctx, path_in_tmp("limit.nrrd"), 0, &w), CTW_OK);
	ctw_volume_free(ctx, w);
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static void test_image_bad_nrrd_spacing(void **state)
{
	FILE *f = fopen(path_in_tmp("zero.nrrd"), "w");
	(void)state;
	fputs("NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 2 2 2\n"
	      "space directions: (0,0,0) (0,1,0) (0,0,1)\nencoding: raw\nendian: little\n"
	      "space origin: (0,0,0)\n\n",
	      f);
	fwrite("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 1, 16, f);
	fclose(f);
	expect_bad(path_in_tmp("zero.nrrd"), CTW_ERR_FORMAT, NULL);
}

static void test_image_write_failures(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_volume *v = make_volume(ctx, CTW_F32, 0);
	ctw_dicom_meta meta = { "CT", "x" };
	(void)state;
	assert_int_equal(ctw_image_write_nifti(ctx, v, "/nonexistent/dir/x.nii.gz"), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), "/nonexistent/dir/x.nii.gz"));
	assert_int_equal(ctw_image_write_nifti(ctx, v, path_in_tmp("x.png")), CTW_ERR_INVALID);
	/* float volumes are not written as DICOM */
	assert_int_equal(ctw_image_write_dicom(ctx, v, path_in_tmp("dcm_f32"), &meta), CTW_ERR_INVALID);
	assert_false(ctw_is_dir(path_in_tmp("dcm_f32")));
	ctw_volume_free(ctx, v);
	ctw_ctx_free(ctx);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ctw_image_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	(void)state;
	ctw_rm_rf(ctx, tmpdir);
	ctw_ctx_free(ctx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_nifti_roundtrip_types),
		cmocka_unit_test(test_image_nifti_roundtrip_left_handed),
		cmocka_unit_test(test_image_nifti_header_alone),
		cmocka_unit_test(test_image_nrrd_mha_roundtrip),
		cmocka_unit_test(test_image_dicom_roundtrip_oblique),
		cmocka_unit_test(test_image_dicom_roundtrip_left_handed),
		cmocka_unit_test(test_image_bad_missing_and_not_images),
		cmocka_unit_test(test_image_bad_truncated),
		cmocka_unit_test(test_image_bad_nifti_headers),
		cmocka_unit_test(test_image_voxel_limit),
		cmocka_unit_test(test_image_bad_nrrd_spacing),
		cmocka_unit_test(test_image_write_failures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
