/* test_dicom.c: the C DICOM parser and scanner on real files (Sunnybrook cine MR, in
 * ../shared/data) and on every truncation of one: fields read right, damage detected, never a
 * read outside the buffer (this test also runs under ASan). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "shared_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctw.h"
#include "dicom.h"

#define SCD101 CTW_SHARED_DATA "/sunnybrook_scd/final_data/dicoms/SCD0000101"

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long len;
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)len);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return b;
}

static void test_dicom_parse_sunnybrook(void **state)
{
	ctw_dicom_file f;
	size_t n;
	unsigned char *b;
	double nrm;
	(void)state;
	NEED_SHARED(SCD101);
	b = slurp(SCD101 "/1.dcm", &n);
	assert_int_equal(ctw_dicom_parse(b, n, &f), 1);
	assert_int_equal(f.rows, 256);
	assert_int_equal(f.cols, 256);
	assert_int_equal(f.instance, 1);
	assert_string_equal(f.modality, "MR");
	assert_true(strlen(f.series_uid) > 10);
	assert_true(f.has_ipp && f.has_iop && f.has_pixels);
	assert_false(isnan(f.trigger_time));
	/* oblique short axis: unit row and column cosines, orthogonal, not axis-aligned */
	nrm = f.iop[0] * f.iop[0] + f.iop[1] * f.iop[1] + f.iop[2] * f.iop[2];
	assert_true(fabs(nrm - 1) < 1e-4);
	assert_true(fabs(f.iop[0] * f.iop[3] + f.iop[1] * f.iop[4] + f.iop[2] * f.iop[5]) < 1e-4);
	assert_true(fabs(f.iop[0]) < 0.999 && fabs(f.iop[1]) < 0.999 && fabs(f.iop[2]) < 0.999);
	free(b);
}

static void test_dicom_parse_every_truncation(void **state)
{
	ctw_dicom_file f;
	size_t n, k, step;
	unsigned char *b, *c;
	(void)state;
	NEED_SHARED(SCD101);
	b = slurp(SCD101 "/2.dcm", &n);
	/* every length through the header, then every 97th byte through the pixel data */
	for (k = 0; k < n; k += step) {
		int r;
		step = k < 4096 ? 1 : 97;
		c = malloc(k ? k : 1); /* exactly k bytes, so ASan sees any read past them */
		memcpy(c, b, k);
		r = ctw_dicom_parse(c, k, &f);
		if (r == 1)
			fail_msg("a file cut at %zu of %zu bytes parsed as complete", k, n);
		/* a cut between two elements before the pixels leaves a valid DICOM file with no
		 * image (0); a cut inside an element, the pixels included, is damage (-1) */
		assert_true(r == 0 || r == -1);
		if (k > n - 256 * 256 * 2)
			assert_int_equal(r, -1);
		free(c);
	}
	/* flipping bytes of lengths in the header never crashes */
	for (k = 132; k < 1500 && k < n; k++) {
		c = malloc(n);
		memcpy(c, b, n);
		c[k] ^= 0xFF;
		ctw_dicom_parse(c, n, &f);
		free(c);
	}
	free(b);
}

static void test_dicom_scan_sunnybrook_dir(void **state)
{
	ctw_ctx *ctx = ctw_ctx_new();
	ctw_dicom_scan *s;
	(void)state;
	NEED_SHARED(SCD101);
	assert_int_equal(ctw_dicom_scan_dir(ctx, SCD101, &s), CTW_OK);
	assert_int_equal(s->n_files, 240);
	assert_int_equal(s->n_series, 1);
	assert_int_equal(s->series[0].n_files, 240);
	/* all 20 phases in one series: 20 files at each of 12 positions */
	assert_int_equal(s->series[0].n_orientations, 1);
	assert_int_equal(s->series[0].n_positions, 12);
	assert_int_equal(s->series[0].n_phases, 20);
	assert_true(s->series[0].phases_regular);
	{
		ctw_dicom_stack *st;
		int pos, phase;
		/* a cine series needs a phase */
		assert_int_equal(ctw_dicom_stack_build(ctx, SCD101, &s->series[0], CTW_PHASE_NONE, 0, &st),
				 CTW_ERR_FORMAT);
		assert_non_null(strstr(ctw_errmsg(ctx), "--phase"));
		assert_int_equal(ctw_dicom_stack_build(ctx, SCD101, &s->series[0], 21, 0, &st), CTW_ERR_FORMAT);
		assert_int_equal(ctw_dicom_stack_build(ctx, SCD101, &s->series[0], 8, 0, &st), CTW_OK);
		assert_int_equal(st->n, 12);
		assert_int_equal(st->dim[0], 256);
		assert_int_equal(st->dim[2], 12);
		assert_true(fabs(st->spacing[0] - 1.367188) < 1e-6);
		assert_true(fabs(st->spacing[2] - 10.0) < 1e-3);
		assert_false(st->uneven);
		/* instance n is slice (n-1)/20, phase (n-1)%20+1 (SOURCES.md); file n.dcm holds it */
		for (int i = 0; i < st->n; i++) {
			assert_int_equal(st->files[i]->instance % 20, 8);
			assert_true(ctw_dicom_locate(&s->series[0], st->files[i]->instance, &pos, &phase));
			assert_int_equal(phase, 8);
			assert_int_equal(pos, i);
		}
		assert_false(ctw_dicom_locate(&s->series[0], 999, &pos, &phase));
		ctw_dicom_stack_free(ctx, st);
	}
	ctw_dicom_scan_free(ctx, s);
	/* a directory without DICOM */
	assert_int_equal(ctw_dicom_scan_dir(ctx, CTW_SHARED_DATA "/vampy", &s), CTW_OK);
	assert_int_equal(s->n_series, 0);
	assert_true(s->n_skipped_other > 0);
	ctw_dicom_scan_free(ctx, s);
	assert_int_equal(ctw_dicom_scan_dir(ctx, "/nonexistent/dir", &s), CTW_ERR_IO);
	ctw_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dicom_parse_sunnybrook),
		cmocka_unit_test(test_dicom_parse_every_truncation),
		cmocka_unit_test(test_dicom_scan_sunnybrook_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
