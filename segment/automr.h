/* automr.h: automatic segmentation of a cine MR short-axis stack (issue 13) with the U-Net of
 * unet.h. Before the network: intensities normalised as the training data (per 3-D volume,
 * clipped at the 99th percentile, min-max to 0..1), each slice resampled in-plane to the
 * network's pixel size, cropped around the heart. After: labels back on the image grid (logits
 * interpolated, then argmax), the largest 3-D component per label, holes filled in each slice,
 * the myocardium closed round the LV blood pool on every slice, slices beyond the apex and above
 * the base trimmed, a confidence per slice.
 *
 *	int crop[4];
 *	ctw_automr_find_heart(ctx, net, image, CTW_AUTOMR_MARGIN_MM, 0, crop, note, sizeof(note));
 *	ctw_automr_segment(ctx, net, image, crop, 0, &labels, confidence);
 *	ctw_automr_repair(ctx, path, labels, confidence, &log);   -> canonical labels 1, 2, 3
 */
#ifndef CTW_AUTOMR_H
#define CTW_AUTOMR_H

#include "ctw.h"
#include "unet.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTW_AUTOMR_MARGIN_MM 15.0    /* around the heart found by the coarse pass          */
#define CTW_AUTOMR_HEART_MM 90.0     /* labels this far from the LV centre belong to it      */
#define CTW_UNET_MR_NAME "unet-mr.bin"

/* Finds the heart: the network on the whole field of view of the middle slice and of the
 * slices at a third and two thirds of the stack; the box (i0, j0, i1, j1: pixel indices, i1 and
 * j1 exclusive) of the labels within CTW_AUTOMR_HEART_MM of the centre of the LV blood found,
 * grown by margin_mm and clamped to the image. No LV found: the whole image. note (may be NULL)
 * receives one line saying what was found. threads: as ctw_unet_forward. */
CTW_API int ctw_automr_find_heart(ctw_ctx *ctx, const ctw_unet *net, const ctw_volume *image,
				  double margin_mm, int threads, int crop[4], char *note, size_t cap);

/* Labels every slice of image (any scalar type; slices along k) within crop (NULL: the whole
 * image): 0 background, 1 LV blood, 2 LV myocardium, 3 RV blood, as the network says (no
 * post-processing); voxels outside the crop are 0. *labels is a new CTW_U8 volume on the
 * image's grid. confidence (may be NULL) receives dim[2] values: the mean probability of the
 * chosen label over the slice's labelled pixels, NAN where nothing is labelled.
 * CTW_ERR_FORMAT when the slices are too big or too small for the network. */
CTW_API int ctw_automr_segment(ctw_ctx *ctx, const ctw_unet *net, const ctw_volume *image,
			       const int *crop, int threads, ctw_volume **labels, float *confidence);

/* 1 when a label lies on a side of the crop that is not the image's own border (the heart may
 * reach beyond it: segment again on the whole image). */
CTW_API int ctw_automr_touches_crop(const ctw_volume *labels, const int crop[4]);

/* The LV blood volume of labels (label 1), mL. */
CTW_API double ctw_automr_lv_ml(const ctw_volume *labels);

/* Post-processing of a network output in place (see the top of this file). what names the
 * input in messages. *log (new, ctw_free) lists what was changed and the confidence of each
 * slice. No LV blood at all, or a blood pool not enclosed by myocardium on most of its slices:
 * CTW_ERR_EXTERNAL (exit 3) naming the slices. Slices are numbered from 1 along k. */
CTW_API int ctw_automr_repair(ctw_ctx *ctx, const char *what, ctw_volume *labels,
			      const float *confidence, char **log);

#ifdef __cplusplus
}
#endif
#endif
