/* unet_run.c: the segmenter's C inference on raw floats, for tests and the bench (not installed).
 *
 *	unet_run WEIGHTS IN.f32 N H W OUT.f32 [THREADS [SHA256]]
 *
 * IN.f32 holds N*H*W little-endian float32 (slice after slice); OUT.f32 gets N*classes*H*W logits.
 * IN.f32 may be "-" for zero-filled slices (the bench). Prints "seconds: S" (the forward pass
 * alone, wall) and "per slice: S". Exit: 0 ok, else ctw_exit_code() of the failure, with
 * "unet_run: error: MESSAGE" on stderr. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctw.h"
#include "unet.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(ctw_ctx *ctx)
{
	fprintf(stderr, "unet_run: error: %s\n", ctw_errmsg(ctx));
	return ctw_exit_code(ctw_errcode(ctx));
}

int main(int argc, char **argv)
{
	ctw_ctx *ctx;
	ctw_unet *net = NULL;
	const ctw_unet_info *nfo;
	float *in = NULL, *out = NULL;
	size_t m, o;
	int n, h, w, threads = 0, ret = 0;
	double t0;
	FILE *f;

	if (argc < 7 || argc > 9) {
		fprintf(stderr, "usage: unet_run WEIGHTS IN.f32 N H W OUT.f32 [THREADS [SHA256]]\n");
		return 1;
	}
	n = atoi(argv[3]);
	h = atoi(argv[4]);
	w = atoi(argv[5]);
	if (argc > 7)
		threads = atoi(argv[7]);
	if (!(ctx = ctw_ctx_new()))
		return 3;
	if (ctw_unet_load(ctx, argv[1], argc > 8 ? argv[8] : NULL, &net)) {
		ret = fail(ctx);
		goto out;
	}
	nfo = ctw_unet_get_info(net);
	printf("levels: %d\nclasses: %d\npixel mm: %g\nparameters: %zu\nsha256: %s\n", nfo->n_levels,
	       nfo->n_classes, nfo->pixel_mm, nfo->n_params, nfo->sha256);
	if (n < 1 || h < 1 || w < 1) {
		fprintf(stderr, "unet_run: error: bad N H W\n");
		ret = 1;
		goto out;
	}
	m = (size_t)n * (size_t)h * (size_t)w;
	o = m * (size_t)nfo->n_classes;
	in = calloc(m, sizeof(float));
	out = calloc(o, sizeof(float));
	if (!in || !out) {
		ret = 3;
		goto out;
	}
	if (strcmp(argv[2], "-")) {
		if (!(f = fopen(argv[2], "rb")) || fread(in, sizeof(float), m, f) != m) {
			fprintf(stderr, "unet_run: error: %s: cannot read %zu floats\n", argv[2], m);
			if (f)
				fclose(f);
			ret = 2;
			goto out;
		}
		fclose(f);
	}
	t0 = now();
	if (ctw_unet_forward(ctx, net, in, n, h, w, out, threads)) {
		ret = fail(ctx);
		goto out;
	}
	t0 = now() - t0;
	printf("seconds: %.4f\nper slice: %.4f\n", t0, t0 / n);
	if (!(f = fopen(argv[6], "wb")) || fwrite(out, sizeof(float), o, f) != o || fclose(f)) {
		fprintf(stderr, "unet_run: error: %s: cannot write\n", argv[6]);
		ret = 3;
	}
out:
	free(in);
	free(out);
	ctw_unet_free(ctx, net);
	ctw_ctx_free(ctx);
	return ret;
}
