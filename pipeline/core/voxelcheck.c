/* voxelcheck.c: the labelled extent of a heart and the myocardium's voxel topology (see
 * voxelcheck.h), shared by the segment and mesh stages. */
#include "voxelcheck.h"

#include <string.h>

int ctw_labels_check_extent(ctw_ctx *ctx, const char *what, const ctw_volume *v)
{
	int64_t lo[3] = { INT64_MAX, INT64_MAX, INT64_MAX }, hi[3] = { -1, -1, -1 }, span[3];
	const int64_t nx = v->dim[0], ny = v->dim[1], nz = v->dim[2];

	for (int64_t k = 0; k < nz; k++)
		for (int64_t j = 0; j < ny; j++) {
			const int64_t row = nx * (j + ny * k);
			for (int64_t i = 0; i < nx; i++) {
				int nonzero = v->dtype == CTW_U8 ? ((const uint8_t *)v->data)[row + i] != 0
								 : ctw_volume_get(v, row + i) != 0.0;
				if (!nonzero)
					continue;
				const int64_t x[3] = { i, j, k };
				for (int c = 0; c < 3; c++) {
					if (x[c] < lo[c])
						lo[c] = x[c];
					if (x[c] > hi[c])
						hi[c] = x[c];
				}
			}
		}
	if (hi[0] < 0)
		return CTW_OK;
	for (int c = 0; c < 3; c++)
		span[c] = hi[c] - lo[c] + 1;
	for (int c = 0; c < 3; c++)
		if (span[c] < CTW_MIN_EXTENT_VOXELS)
			return ctw_error(ctx, CTW_ERR_FORMAT, what,
					 "the labels span %lld x %lld x %lld voxels (a %s): a heart needs at least %d "
					 "voxels along every axis; give a 3-D label map with several slices",
					 (long long)span[0], (long long)span[1], (long long)span[2],
					 v->dim[c] == 1 ? "2-D map" : span[c] == 1 ? "single slice" : "slab of two slices",
					 CTW_MIN_EXTENT_VOXELS);
	return CTW_OK;
}

int ctw_voxel_topology_measure(ctw_ctx *ctx, const ctw_volume *g, const uint8_t *mask, ctw_voxel_topology *t)
{
	const int64_t nx = g->dim[0], ny = g->dim[1], nz = g->dim[2], n = nx * ny * nz, sxy = nx * ny;
	int32_t *comp = ctw_malloc(ctx, sizeof(int32_t) * (size_t)n);
	int64_t *queue = ctw_malloc(ctx, sizeof(int64_t) * (size_t)n);

	memset(t, 0, sizeof(*t));
	t->first_thin = t->first_touch[0] = t->first_touch[1] = -1;
	if (!comp || !queue) {
		ctw_free(ctx, comp);
		ctw_free(ctx, queue);
		return CTW_ERR_NOMEM;
	}
	/* 6-connected components, numbered 1.. */
	memset(comp, 0, sizeof(int32_t) * (size_t)n);
	for (int64_t s0 = 0; s0 < n; s0++) {
		int64_t head = 0, tail = 0;
		if (!mask[s0] || comp[s0])
			continue;
		comp[s0] = (int32_t)++t->components;
		queue[tail++] = s0;
		while (head < tail) {
			int64_t v = queue[head++], i = v % nx, j = v / nx % ny, k = v / sxy;
			int64_t nb[6] = { i > 0 ? v - 1 : -1, i + 1 < nx ? v + 1 : -1, j > 0 ? v - nx : -1,
					  j + 1 < ny ? v + nx : -1, k > 0 ? v - sxy : -1, k + 1 < nz ? v + sxy : -1 };
			for (int f = 0; f < 6; f++)
				if (nb[f] >= 0 && mask[nb[f]] && !comp[nb[f]]) {
					comp[nb[f]] = (int32_t)t->components;
					queue[tail++] = nb[f];
				}
		}
	}
	ctw_free(ctx, queue);
	for (int64_t k = 0; k < nz; k++)
		for (int64_t j = 0; j < ny; j++)
			for (int64_t i = 0; i < nx; i++) {
				int64_t v = i + nx * (j + ny * k);
				int touch = 0;
				if (!mask[v])
					continue;
				t->tissue++;
				/* one voxel thin: no tissue on both sides along some axis */
				if ((i > 0 && i + 1 < nx && !mask[v - 1] && !mask[v + 1]) ||
				    (j > 0 && j + 1 < ny && !mask[v - nx] && !mask[v + nx]) ||
				    (k > 0 && k + 1 < nz && !mask[v - sxy] && !mask[v + sxy])) {
					if (t->first_thin < 0)
						t->first_thin = v;
					t->thin++;
				}
				/* a diagonal neighbour in another 6-component: touching along an edge or corner */
				for (int dk = -1; dk <= 1; dk++)
					for (int dj = -1; dj <= 1; dj++)
						for (int di = -1; di <= 1; di++) {
							int64_t a = i + di, b = j + dj, c = k + dk, w;
							if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz)
								continue;
							w = a + nx * (b + ny * c);
							if (mask[w] && comp[w] != comp[v]) {
								if (t->first_touch[0] < 0) {
									t->first_touch[0] = v;
									t->first_touch[1] = w;
								}
								touch = 1;
							}
						}
				t->touching += touch;
			}
	ctw_free(ctx, comp);
	return CTW_OK;
}

int ctw_voxel_topology_fails(const ctw_voxel_topology *t)
{
	return t->touching > 0 || (t->thin > 50 && (double)t->thin > 0.005 * (double)t->tissue);
}
