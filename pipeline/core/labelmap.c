/* labelmap.c: ctw_labelmap, an integer grid of canonical labels plus its base plane. */
#include "ctw.h"

#include <math.h>
#include <string.h>

int ctw_labelmap_from_volume(ctw_ctx *ctx, const char *what, ctw_volume *grid,
			     ctw_labelmap **out)
{
	ctw_labelmap *lm;
	int64_t n, count = ctw_volume_count(grid);
	uint8_t *seen;

	*out = NULL;
	if (grid->dtype == CTW_F32 || grid->dtype == CTW_I16 || grid->dtype == CTW_I32) {
		for (n = 0; n < count; n++) {
			double x = ctw_volume_get(grid, n);
			if (x < 0 || x > 65535 || x != floor(x))
				return ctw_error(ctx, CTW_ERR_FORMAT, what,
						 "voxel %lld holds %g; a label map holds integers 0..65535",
						 (long long)n, x);
		}
	}
	seen = ctw_calloc(ctx, 65536, 1);
	if (!seen)
		return CTW_ERR_NOMEM;
	for (n = 0; n < count; n++)
		seen[(int)ctw_volume_get(grid, n)] = 1;
	for (n = 1; n < 65536; n++) {
		if (seen[n] && !ctw_label_name((int)n)) {
			ctw_free(ctx, seen);
			return ctw_error(ctx, CTW_ERR_FORMAT, what,
					 "label value %lld is not in the canonical vocabulary; map it with a "
					 "preset (cardiotwin segment --preset)",
					 (long long)n);
		}
	}
	ctw_free(ctx, seen);
	lm = ctw_calloc(ctx, 1, sizeof(*lm));
	if (!lm)
		return CTW_ERR_NOMEM;
	if (grid->dtype != CTW_U8 && grid->dtype != CTW_U16) {
		ctw_volume *u8;
		int ret = ctw_volume_convert(ctx, grid, CTW_U8, &u8);
		if (ret) {
			ctw_free(ctx, lm);
			return ret;
		}
		ctw_volume_free(ctx, grid);
		grid = u8;
	}
	lm->grid = grid;
	*out = lm;
	return CTW_OK;
}

void ctw_labelmap_free(ctw_ctx *ctx, ctw_labelmap *lm)
{
	if (!lm)
		return;
	ctw_volume_free(ctx, lm->grid);
	ctw_free(ctx, lm);
}

void ctw_labelmap_count(const ctw_labelmap *lm, int64_t *counts, int n_counts)
{
	int64_t n, count = ctw_volume_count(lm->grid);

	memset(counts, 0, (size_t)n_counts * sizeof(*counts));
	for (n = 0; n < count; n++) {
		int v = (int)ctw_volume_get(lm->grid, n);
		if (v < n_counts)
			counts[v]++;
	}
}
