/* unet.h: inference of the cine MR segmenter, a 2-D U-Net (segment/train/ARCHITECTURE.md), in C:
 * im2col + OpenBLAS sgemm convolutions (OpenBLAS kept single-threaded), our own pooling,
 * transposed convolutions and skip concatenation, slices spread over our own pthreads. No Python
 * or deep-learning runtime at run time. The logits are the same bytes for any thread count.
 *
 *	ctw_unet *net;
 *	if ((ret = ctw_unet_load(ctx, path, CTW_UNET_SHA256, &net)))   -> CTW_ERR_INTERNAL
 *		return ret;
 *	ret = ctw_unet_forward(ctx, net, in, n, h, w, logits, 0);
 *	ctw_unet_free(ctx, net);
 */
#ifndef CTW_UNET_H
#define CTW_UNET_H

#include <stddef.h>

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTW_UNET_MAX_LEVELS 8

/* What a loaded weights file says (all validated at load). */
typedef struct ctw_unet_info {
	int n_levels;                         /* 1..8 (5 for the shipped network)               */
	int in_channels;                      /* 1                                              */
	int n_classes;                        /* 2..16 logits per pixel (4: 0 bg, 1, 2, 3)     */
	int channels[CTW_UNET_MAX_LEVELS];    /* 1..1024 per level                              */
	int multiple;                         /* 2^(n_levels-1): h and w must be multiples      */
	double pixel_mm;                      /* the pixel size the network expects (mm)        */
	size_t file_bytes;                    /* the file's size                                */
	size_t n_params;                      /* float32 weights and biases                      */
	char sha256[65];                      /* the file's SHA-256, lowercase hex              */
} ctw_unet_info;

typedef struct ctw_unet ctw_unet;

/* Reads and validates the weights file at path (magic, header, level count, channels, classes,
 * pixel size, exact file size, every weight finite) and computes its SHA-256. When
 * expected_sha256 (64 hex digits, either case) is not NULL and differs, fails naming the path
 * and both checksums. The weights are part of the installation, not user input, so every
 * failure (missing, unreadable, corrupt, wrong checksum) is CTW_ERR_INTERNAL (exit 4) with the
 * path as the message's domain; CTW_ERR_NOMEM when out of memory. On success *out is new (free
 * it with ctw_unet_free); on failure *out is NULL. */
CTW_API int ctw_unet_load(ctw_ctx *ctx, const char *path, const char *expected_sha256,
			  ctw_unet **out);
CTW_API void ctw_unet_free(ctw_ctx *ctx, ctw_unet *net);
CTW_API const ctw_unet_info *ctw_unet_get_info(const ctw_unet *net);

/* Runs the network on n slices of h x w pixels (in: n*h*w floats, row-major, slice after slice;
 * normalised as the training data) and writes n x n_classes x h x w logits (slice, class, row,
 * column). h and w must be positive multiples of info.multiple (at most 8192 each), else
 * CTW_ERR_INVALID. threads: worker threads (0: 2; at most 64; never more than n); each holds one
 * slice's activations, so memory is bounded by `threads` slices whatever n is. OpenBLAS is set
 * to one thread of its own. Reports ctw_progress(ctx, "segment", slices done, n) and stops with
 * CTW_ERR_CANCELLED when it asks to (or the ctx's deadline passes); logits are then incomplete.
 * CTW_ERR_NOMEM when the workspace cannot be had. */
CTW_API int ctw_unet_forward(ctw_ctx *ctx, const ctw_unet *net, const float *in, int n, int h,
			     int w, float *logits, int threads);

#ifdef __cplusplus
}
#endif
#endif
