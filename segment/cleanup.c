/* cleanup.c: the label-map clean-up chain before meshing (specs/segmentation.md §3.5): label-aware
 * resampling to an isotropic grid (per-label Gaussian argmax or shape-based interpolation of
 * signed distances), largest connected component per label with islands given to their
 * surroundings, hole filling, walls of a given thickness from exact distance maps, separation of
 * touching blood pools, and padding. All on CTW_U8 label volumes; the in-place operations work
 * on a copy and leave the map unchanged when they fail or are cancelled. */
#include "segment.h"

#include "edt.h"
#include "voxelcheck.h"

#include <math.h>
#include <string.h>

/* ---- shared helpers ------------------------------------------------------------------------- */

static int check_u8(ctw_ctx *ctx, const char *what, const ctw_volume *lab)
{
	if (!lab || !lab->data)
		return ctw_error(ctx, CTW_ERR_INVALID, what, "no label map");
	if (lab->dtype != CTW_U8)
		return ctw_error(ctx, CTW_ERR_INVALID, what, "label map is %s; expected uint8",
				 ctw_dtype_name(lab->dtype));
	if (lab->dim[0] < 1 || lab->dim[1] < 1 || lab->dim[2] < 1)
		return ctw_error(ctx, CTW_ERR_INVALID, what, "label map has an empty dimension");
	return CTW_OK;
}

static int check_label(ctw_ctx *ctx, const char *what, const char *name, int value, int lo)
{
	if (value < lo || value > 255)
		return ctw_error(ctx, CTW_ERR_INVALID, what, "%s label %d is out of range %d..255", name,
				 value, lo);
	return CTW_OK;
}

static int cancelled(ctw_ctx *ctx, const char *what)
{
	return ctw_error(ctx, CTW_ERR_CANCELLED, what, "cancelled");
}

/* A growable FIFO of voxel indices (ring buffer): memory follows the flood front, not the
 * component size. */
typedef struct vqueue {
	int64_t *a;
	size_t cap, head, n;
} vqueue;

static int vq_push(ctw_ctx *ctx, vqueue *q, int64_t v)
{
	if (q->n == q->cap) {
		size_t ncap = q->cap ? 2 * q->cap : 4096;
		int64_t *a = ctw_realloc(ctx, q->a, ncap * sizeof(*a));
		if (!a)
			return CTW_ERR_NOMEM;
		/* full: the items are a[head..cap) then a[0..head); move the second run after the first */
		memcpy(a + q->cap, a, q->head * sizeof(*a));
		q->a = a;
		q->cap = ncap;
	}
	q->a[(q->head + q->n) % q->cap] = v;
	q->n++;
	return CTW_OK;
}

static int64_t vq_pop(vqueue *q)
{
	int64_t v = q->a[q->head];
	if (++q->head == q->cap)
		q->head = 0;
	q->n--;
	return v;
}

/* A growable array of voxel indices. */
typedef struct vlist {
	int64_t *a;
	size_t n, cap;
} vlist;

static int vl_push(ctw_ctx *ctx, vlist *l, int64_t v)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 1024;
		int64_t *a = ctw_realloc(ctx, l->a, ncap * sizeof(*a));
		if (!a)
			return CTW_ERR_NOMEM;
		l->a = a;
		l->cap = ncap;
	}
	l->a[l->n++] = v;
	return CTW_OK;
}

enum { M_SEEN = 1, M_ISLAND = 2, M_COUNTED = 4 };

/* Floods the 6-connected component of lab[seed]'s value through voxels not yet M_SEEN, setting
 * the bits `add` (which include M_SEEN) in mark; appends the voxels to list when it is not NULL.
 * *size receives the component's voxel count. */
static int flood6(ctw_ctx *ctx, const uint8_t *lab, const int64_t dim[3], uint8_t *mark, uint8_t add,
		  int64_t seed, vqueue *q, vlist *list, int64_t *size)
{
	const int64_t nx = dim[0], ny = dim[1], nz = dim[2], sxy = nx * ny;
	const uint8_t v = lab[seed];
	int64_t count = 0;
	int ret;

	q->head = q->n = 0;
	mark[seed] |= add;
	if ((ret = vq_push(ctx, q, seed)))
		return ret;
	while (q->n) {
		int64_t p = vq_pop(q), k = p / sxy, r = p - k * sxy, j = r / nx, i = r - j * nx;
		int64_t nb[6];
		int nn = 0;

		count++;
		if (list && (ret = vl_push(ctx, list, p)))
			return ret;
		if (i > 0)
			nb[nn++] = p - 1;
		if (i < nx - 1)
			nb[nn++] = p + 1;
		if (j > 0)
			nb[nn++] = p - nx;
		if (j < ny - 1)
			nb[nn++] = p + nx;
		if (k > 0)
			nb[nn++] = p - sxy;
		if (k < nz - 1)
			nb[nn++] = p + sxy;
		for (int t = 0; t < nn; t++) {
			int64_t m = nb[t];
			if (lab[m] == v && !(mark[m] & M_SEEN)) {
				mark[m] |= add;
				if ((ret = vq_push(ctx, q, m)))
					return ret;
			}
		}
	}
	*size = count;
	return CTW_OK;
}

/* The value most common among the distinct 26-neighbours of the island (voxels marked
 * M_ISLAND, listed in isl) that are outside it and do not hold `own`, read from w; ties go to
 * the smaller value; `none` when there is no such neighbour. */
static int island_vote(const uint8_t *w, const int64_t dim[3], uint8_t *mark, const vlist *isl, int own,
		       int none)
{
	const int64_t nx = dim[0], ny = dim[1], nz = dim[2], sxy = nx * ny;
	int64_t hist[256] = { 0 }, bc = 0;
	int best = none;

	for (int pass = 0; pass < 2; pass++) { /* pass 0 counts, pass 1 clears M_COUNTED */
		for (size_t t = 0; t < isl->n; t++) {
			int64_t p = isl->a[t], k = p / sxy, r = p - k * sxy, j = r / nx, i = r - j * nx;
			for (int64_t kk = k - 1; kk <= k + 1; kk++) {
				if (kk < 0 || kk >= nz)
					continue;
				for (int64_t jj = j - 1; jj <= j + 1; jj++) {
					if (jj < 0 || jj >= ny)
						continue;
					for (int64_t ii = i - 1; ii <= i + 1; ii++) {
						int64_t m = kk * sxy + jj * nx + ii;
						if (ii < 0 || ii >= nx || (mark[m] & M_ISLAND))
							continue;
						if (pass) {
							mark[m] &= (uint8_t)~M_COUNTED;
						} else if (w[m] != own && !(mark[m] & M_COUNTED)) {
							mark[m] |= M_COUNTED;
							hist[w[m]]++;
						}
					}
				}
			}
		}
	}
	for (int v = 0; v < 256; v++) {
		if (hist[v] > bc) {
			bc = hist[v];
			best = v;
		}
	}
	return best;
}

/* Gives the island in isl (marked M_ISLAND) the value voted by its surroundings in w, clears
 * M_ISLAND, and adds the number of voxels whose value changed to *changed. */
static void island_assign(uint8_t *w, const int64_t dim[3], uint8_t *mark, const vlist *isl, int own,
			  int none, int64_t *changed)
{
	int to = island_vote(w, dim, mark, isl, own, none);

	for (size_t t = 0; t < isl->n; t++) {
		int64_t p = isl->a[t];
		mark[p] &= (uint8_t)~M_ISLAND;
		if (w[p] != to) {
			w[p] = (uint8_t)to;
			(*changed)++;
		}
	}
}

/* ---- resampling ------------------------------------------------------------------------------ */

/* Trilinear sampling table along one axis: for output index o, input indices i0[o], i1[o]
 * (clamped to the grid), the weight w[o] of i1, and the nearest input index nn[o] (halves round
 * up), which breaks exact ties between labels. */
typedef struct axis_map {
	int64_t *i0, *i1, *nn;
	double *w;
} axis_map;

static void axis_map_fill(axis_map *m, int64_t n_out, int64_t n_in, double sp_in, double iso)
{
	for (int64_t o = 0; o < n_out; o++) {
		double x = ((double)o * iso + 0.5 * (iso - sp_in)) / sp_in, f, r = floor(x + 0.5);
		m->nn[o] = r < 0.0 ? 0 : r > (double)(n_in - 1) ? n_in - 1 : (int64_t)r;
		if (x <= 0.0 || n_in == 1) {
			m->i0[o] = m->i1[o] = 0;
			m->w[o] = 0.0;
			continue;
		}
		if (x >= (double)(n_in - 1)) {
			m->i0[o] = m->i1[o] = n_in - 1;
			m->w[o] = 0.0;
			continue;
		}
		f = floor(x);
		m->i0[o] = (int64_t)f;
		m->i1[o] = m->i0[o] + 1;
		m->w[o] = x - f;
	}
}

/* Blurs f (dim, spacing) in place with a Gaussian of sigma_mm, truncated at 3 sigma, separably;
 * borders replicate the edge value. scratch holds the largest dim + 2 radii doubles, kern
 * the largest radius + 1. Progress is reported as done0 + (0..1) * span of total. */
static int gauss_blur(ctw_ctx *ctx, float *f, const int64_t dim[3], const double spacing[3],
		      double sigma_mm, double *scratch, double *kern, double done0, double span,
		      double total)
{
	const int64_t stride[3] = { 1, dim[0], dim[0] * dim[1] };

	for (int axis = 0; axis < 3; axis++) {
		const int64_t len = dim[axis], st = stride[axis];
		const int a1 = axis == 0 ? 1 : 0, a2 = axis == 2 ? 1 : 2;
		double sv = sigma_mm / spacing[axis], sum = 0.0;
		int64_t r = (int64_t)floor(3.0 * sv);

		if (r < 1 || len < 2)
			continue; /* one tap */
		if (r > len)
			r = len;
		for (int64_t t = 0; t <= r; t++) {
			kern[t] = exp(-0.5 * ((double)t / sv) * ((double)t / sv));
			sum += t ? 2.0 * kern[t] : kern[t];
		}
		for (int64_t t = 0; t <= r; t++)
			kern[t] /= sum;
		for (int64_t p = 0; p < dim[a2]; p++) {
			for (int64_t q = 0; q < dim[a1]; q++) {
				float *line = f + p * stride[a2] + q * stride[a1];
				double *s = scratch + r;
				for (int64_t k = -r; k < len + r; k++) {
					int64_t kc = k < 0 ? 0 : k >= len ? len - 1 : k;
					s[k] = line[kc * st];
				}
				for (int64_t k = 0; k < len; k++) {
					double acc = kern[0] * s[k];
					for (int64_t t = 1; t <= r; t++)
						acc += kern[t] * (s[k - t] + s[k + t]);
					line[k * st] = (float)acc;
				}
			}
			if (ctw_progress(ctx, "resample",
					 done0 + span * ((double)axis + (double)(p + 1) / (double)dim[a2]) / 3.0,
					 total))
				return cancelled(ctx, "resample");
		}
	}
	return CTW_OK;
}

int ctw_seg_resample_iso(ctw_ctx *ctx, const ctw_volume *lab, double iso_mm, ctw_resample_method method,
			 double sigma_mm, ctw_volume **out)
{
	const uint8_t *in;
	ctw_volume *res = NULL;
	int64_t dout[3], n_in, n_out, present[256] = { 0 }, rmax = 0, dmax = 0;
	axis_map am[3];
	void *tables = NULL;
	float *field = NULL, *best = NULL;
	uint8_t *mask = NULL, *arg;
	double *scratch = NULL, total;
	int values[256], nv = 0, ret;
	const int shape = method == CTW_RESAMPLE_SHAPE;
	const float tol = shape ? 1e-4f : 1e-5f; /* mm, or indicator fraction */

	*out = NULL;
	if ((ret = check_u8(ctx, "resample", lab)) || (ret = ctw_check_geometry(ctx, "resample", lab)))
		return ret;
	if (!isfinite(iso_mm) || iso_mm <= 0.0)
		return ctw_error(ctx, CTW_ERR_INVALID, "resample", "voxel size %g mm must be > 0", iso_mm);
	if (method != CTW_RESAMPLE_GAUSSIAN && method != CTW_RESAMPLE_SHAPE)
		return ctw_error(ctx, CTW_ERR_INVALID, "resample", "unknown method %d", (int)method);
	if (!isfinite(sigma_mm) || sigma_mm < 0.0)
		return ctw_error(ctx, CTW_ERR_INVALID, "resample", "sigma %g mm must be >= 0", sigma_mm);
	for (int c = 0; c < 3; c++) {
		double d = floor((double)lab->dim[c] * lab->spacing[c] / iso_mm + 0.5);
		if (d > 1e12)
			return ctw_error(ctx, CTW_ERR_INVALID, "resample",
					 "voxel size %g mm gives too many voxels", iso_mm);
		dout[c] = d < 1.0 ? 1 : (int64_t)d;
		if (lab->dim[c] > dmax)
			dmax = lab->dim[c];
	}
	if (sigma_mm == 0.0)
		sigma_mm = 0.5 * fmax(lab->spacing[0], fmax(lab->spacing[1], lab->spacing[2]));

	if ((ret = ctw_volume_new(ctx, dout, CTW_U8, &res)))
		return ret;
	res->spacing[0] = res->spacing[1] = res->spacing[2] = iso_mm;
	memcpy(res->direction, lab->direction, sizeof(res->direction));
	for (int r = 0; r < 3; r++) {
		res->origin[r] = lab->origin[r];
		for (int c = 0; c < 3; c++)
			res->origin[r] += lab->direction[r][c] * 0.5 * (iso_mm - lab->spacing[c]);
	}
	arg = res->data;
	n_in = ctw_volume_count(lab);
	n_out = ctw_volume_count(res);
	in = lab->data;

	tables = ctw_malloc(ctx, (size_t)(dout[0] + dout[1] + dout[2]) * (3 * sizeof(int64_t) + sizeof(double)));
	field = ctw_malloc(ctx, (size_t)n_in * sizeof(float));
	best = ctw_malloc(ctx, (size_t)n_out * sizeof(float));
	if (!tables || !field || !best) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	{
		int64_t *ip = tables;
		double *wp = (double *)(ip + 3 * (dout[0] + dout[1] + dout[2]));
		for (int c = 0; c < 3; c++) {
			am[c].i0 = ip;
			am[c].i1 = ip + dout[c];
			am[c].nn = ip + 2 * dout[c];
			am[c].w = wp;
			ip += 3 * dout[c];
			wp += dout[c];
			axis_map_fill(&am[c], dout[c], lab->dim[c], lab->spacing[c], iso_mm);
		}
	}
	if (method == CTW_RESAMPLE_SHAPE) {
		if (!(mask = ctw_malloc(ctx, (size_t)n_in))) {
			ret = CTW_ERR_NOMEM;
			goto out;
		}
	} else {
		for (int c = 0; c < 3; c++) {
			int64_t r = (int64_t)floor(3.0 * sigma_mm / lab->spacing[c]);
			if (r > lab->dim[c])
				r = lab->dim[c];
			if (r > rmax)
				rmax = r;
		}
		scratch = ctw_malloc(ctx, (size_t)(dmax + 3 * rmax + 1) * sizeof(double));
		if (!scratch) {
			ret = CTW_ERR_NOMEM;
			goto out;
		}
	}

	for (int64_t p = 0; p < n_in; p++)
		present[in[p]]++;
	for (int v = 0; v < 256; v++)
		if (present[v])
			values[nv++] = v;
	total = 2.0 * nv * (double)dout[2];

	for (int li = 0; li < nv; li++) {
		const int v = values[li];
		const int64_t nx = lab->dim[0], sxy = lab->dim[0] * lab->dim[1];
		const double done0 = 2.0 * li * (double)dout[2];

		if (method == CTW_RESAMPLE_SHAPE) {
			for (int64_t p = 0; p < n_in; p++)
				mask[p] = in[p] == v;
			if ((ret = ctw_signed_distance(ctx, lab->dim, lab->spacing, mask, field)))
				goto out;
			for (int64_t p = 0; p < n_in; p++) /* keep trilinear weights of 0 finite */
				if (isinf(field[p]))
					field[p] = field[p] > 0 ? 1e30f : -1e30f;
		} else {
			for (int64_t p = 0; p < n_in; p++)
				field[p] = in[p] == v ? 1.0f : 0.0f;
			if ((ret = gauss_blur(ctx, field, lab->dim, lab->spacing, sigma_mm, scratch,
					      scratch + dmax + 2 * rmax, done0, (double)dout[2], total)))
				goto out;
		}
		if (ctw_progress(ctx, "resample", done0 + (double)dout[2], total)) {
			ret = cancelled(ctx, "resample");
			goto out;
		}
		for (int64_t oz = 0; oz < dout[2]; oz++) {
			const int64_t z0 = am[2].i0[oz] * sxy, z1 = am[2].i1[oz] * sxy, zn = am[2].nn[oz] * sxy;
			const double wz = am[2].w[oz];
			for (int64_t oy = 0; oy < dout[1]; oy++) {
				const int64_t y0 = am[1].i0[oy] * nx, y1 = am[1].i1[oy] * nx, yn = am[1].nn[oy] * nx;
				const double wy = am[1].w[oy];
				const float *f00 = field + z0 + y0, *f01 = field + z0 + y1, *f10 = field + z1 + y0,
					    *f11 = field + z1 + y1;
				const uint8_t *near = in + zn + yn;
				int64_t o = (oz * dout[1] + oy) * dout[0];
				for (int64_t ox = 0; ox < dout[0]; ox++, o++) {
					const int64_t x0 = am[0].i0[ox], x1 = am[0].i1[ox];
					const double wx = am[0].w[ox];
					double a = f00[x0] + wx * ((double)f00[x1] - f00[x0]);
					double b = f01[x0] + wx * ((double)f01[x1] - f01[x0]);
					double c = f10[x0] + wx * ((double)f10[x1] - f10[x0]);
					double d = f11[x0] + wx * ((double)f11[x1] - f11[x0]);
					double ab = a + wy * (b - a), cd = c + wy * (d - c);
					float s = (float)(ab + wz * (cd - ab));
					/* larger (Gaussian) or smaller (shape) wins; an exact tie, as on a
					 * sample halfway between two labels, goes to the nearest voxel's */
					float gain = shape ? best[o] - s : s - best[o];
					if (li == 0 || gain > tol || (gain >= -tol && near[am[0].nn[ox]] == v)) {
						best[o] = s;
						arg[o] = (uint8_t)v;
					}
				}
			}
			if (ctw_progress(ctx, "resample", done0 + (double)dout[2] + (double)(oz + 1), total)) {
				ret = cancelled(ctx, "resample");
				goto out;
			}
		}
	}
	*out = res;
	res = NULL;
out:
	ctw_free(ctx, tables);
	ctw_free(ctx, field);
	ctw_free(ctx, best);
	ctw_free(ctx, mask);
	ctw_free(ctx, scratch);
	ctw_volume_free(ctx, res);
	return ret;
}

/* ---- connected components ------------------------------------------------------------------- */

int ctw_seg_largest_component(ctw_ctx *ctx, ctw_volume *lab, int64_t *changed)
{
	const uint8_t *in;
	uint8_t *w = NULL, *mark = NULL;
	int64_t n, best_size[256] = { 0 }, best_seed[256] = { 0 }, nchg = 0, sxy;
	vqueue q = { 0 };
	vlist isl = { 0 };
	int ret;

	if (changed)
		*changed = 0;
	if ((ret = check_u8(ctx, "components", lab)))
		return ret;
	n = ctw_volume_count(lab);
	sxy = lab->dim[0] * lab->dim[1];
	in = lab->data;
	w = ctw_malloc(ctx, (size_t)n);
	mark = ctw_calloc(ctx, (size_t)n, 1);
	if (!w || !mark) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	/* pass 1: the size and a seed of every component; the largest per label */
	for (int64_t k = 0; k < lab->dim[2]; k++) {
		for (int64_t p = k * sxy; p < (k + 1) * sxy; p++) {
			int64_t size;
			if (!in[p] || (mark[p] & M_SEEN))
				continue;
			if ((ret = flood6(ctx, in, lab->dim, mark, M_SEEN, p, &q, NULL, &size)))
				goto out;
			if (size > best_size[in[p]]) {
				best_size[in[p]] = size;
				best_seed[in[p]] = p;
			}
		}
		if (ctw_progress(ctx, "components", (double)(k + 1), 2.0 * (double)lab->dim[2])) {
			ret = cancelled(ctx, "components");
			goto out;
		}
	}
	/* pass 2: mark the largest components, then hand every other component (an island) to the
	 * label around it (never its own; background when only background is around) */
	memset(mark, 0, (size_t)n);
	memcpy(w, in, (size_t)n);
	for (int v = 1; v < 256; v++) {
		int64_t size;
		if (best_size[v] && (ret = flood6(ctx, in, lab->dim, mark, M_SEEN, best_seed[v], &q, NULL, &size)))
			goto out;
	}
	for (int64_t k = 0; k < lab->dim[2]; k++) {
		for (int64_t p = k * sxy; p < (k + 1) * sxy; p++) {
			int64_t size;
			if (!in[p] || (mark[p] & M_SEEN))
				continue;
			isl.n = 0;
			if ((ret = flood6(ctx, in, lab->dim, mark, M_SEEN | M_ISLAND, p, &q, &isl, &size)))
				goto out;
			island_assign(w, lab->dim, mark, &isl, in[p], 0, &nchg);
		}
		if (ctw_progress(ctx, "components", (double)(lab->dim[2] + k + 1), 2.0 * (double)lab->dim[2])) {
			ret = cancelled(ctx, "components");
			goto out;
		}
	}
	memcpy(lab->data, w, (size_t)n);
	if (changed)
		*changed = nchg;
out:
	ctw_free(ctx, w);
	ctw_free(ctx, mark);
	ctw_free(ctx, q.a);
	ctw_free(ctx, isl.a);
	return ret;
}

int ctw_seg_fill_holes(ctw_ctx *ctx, ctw_volume *lab, int64_t *changed)
{
	const uint8_t *in;
	uint8_t *w = NULL, *mark = NULL;
	int64_t n, nx, ny, nz, sxy, nchg = 0;
	vqueue q = { 0 };
	vlist isl = { 0 };
	int ret;

	if (changed)
		*changed = 0;
	if ((ret = check_u8(ctx, "fill holes", lab)))
		return ret;
	n = ctw_volume_count(lab);
	nx = lab->dim[0];
	ny = lab->dim[1];
	nz = lab->dim[2];
	sxy = nx * ny;
	in = lab->data;
	w = ctw_malloc(ctx, (size_t)n);
	mark = ctw_calloc(ctx, (size_t)n, 1);
	if (!w || !mark) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	memcpy(w, in, (size_t)n);
	/* background connected to the border */
	for (int64_t k = 0; k < nz; k++) {
		for (int64_t j = 0; j < ny; j++) {
			int full = k == 0 || k == nz - 1 || j == 0 || j == ny - 1;
			int64_t step = full || nx < 2 ? 1 : nx - 1;
			for (int64_t i = 0; i < nx; i += step) {
				int64_t p = k * sxy + j * nx + i, size;
				if (in[p] || (mark[p] & M_SEEN))
					continue;
				if ((ret = flood6(ctx, in, lab->dim, mark, M_SEEN, p, &q, NULL, &size)))
					goto out;
			}
		}
		if (ctw_progress(ctx, "fill holes", (double)(k + 1), 2.0 * (double)nz)) {
			ret = cancelled(ctx, "fill holes");
			goto out;
		}
	}
	/* the rest of the background: holes */
	for (int64_t k = 0; k < nz; k++) {
		for (int64_t p = k * sxy; p < (k + 1) * sxy; p++) {
			int64_t size;
			if (in[p] || (mark[p] & M_SEEN))
				continue;
			isl.n = 0;
			if ((ret = flood6(ctx, in, lab->dim, mark, M_SEEN | M_ISLAND, p, &q, &isl, &size)))
				goto out;
			island_assign(w, lab->dim, mark, &isl, 0, 0, &nchg);
		}
		if (ctw_progress(ctx, "fill holes", (double)(nz + k + 1), 2.0 * (double)nz)) {
			ret = cancelled(ctx, "fill holes");
			goto out;
		}
	}
	memcpy(lab->data, w, (size_t)n);
	if (changed)
		*changed = nchg;
out:
	ctw_free(ctx, w);
	ctw_free(ctx, mark);
	ctw_free(ctx, q.a);
	ctw_free(ctx, isl.a);
	return ret;
}

/* ---- walls ------------------------------------------------------------------------------------ */

int ctw_seg_add_wall(ctw_ctx *ctx, ctw_volume *lab, int around, int wall, double thickness_mm,
		     int64_t *changed)
{
	uint8_t *feature = NULL, *v;
	float *d2 = NULL;
	int64_t n, nchg = 0;
	double t2;
	int ret;

	if (changed)
		*changed = 0;
	if ((ret = check_u8(ctx, "wall", lab)) || (ret = check_label(ctx, "wall", "around", around, 1)) ||
	    (ret = check_label(ctx, "wall", "wall", wall, 1)))
		return ret;
	if (!isfinite(thickness_mm) || thickness_mm < 0.0)
		return ctw_error(ctx, CTW_ERR_INVALID, "wall", "thickness %g mm must be >= 0", thickness_mm);
	n = ctw_volume_count(lab);
	v = lab->data;
	feature = ctw_malloc(ctx, (size_t)n);
	d2 = ctw_malloc(ctx, (size_t)n * sizeof(float));
	if (!feature || !d2) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (int64_t p = 0; p < n; p++)
		feature[p] = v[p] == around;
	if ((ret = ctw_edt_sq(ctx, lab->dim, lab->spacing, feature, d2)))
		goto out;
	/* squared distances are stored as float: allow their rounding (relative 6e-8) */
	t2 = thickness_mm * thickness_mm;
	t2 += 1e-6 * (1.0 + t2);
	for (int64_t p = 0; p < n; p++) {
		if (!v[p] && d2[p] <= t2) {
			v[p] = (uint8_t)wall;
			nchg++;
		}
	}
	if (changed)
		*changed = nchg;
out:
	ctw_free(ctx, feature);
	ctw_free(ctx, d2);
	return ret;
}

/* Whether voxel p (at i, j, k) has a 26-neighbour holding value in w. */
static int touches26(const uint8_t *w, const int64_t dim[3], int64_t i, int64_t j, int64_t k, uint8_t value)
{
	const int64_t nx = dim[0], sxy = dim[0] * dim[1];
	for (int64_t kk = k > 0 ? k - 1 : 0; kk <= k + 1 && kk < dim[2]; kk++)
		for (int64_t jj = j > 0 ? j - 1 : 0; jj <= j + 1 && jj < dim[1]; jj++)
			for (int64_t ii = i > 0 ? i - 1 : 0; ii <= i + 1 && ii < nx; ii++)
				if (w[kk * sxy + jj * nx + ii] == value)
					return 1;
	return 0;
}

int ctw_seg_separate(ctw_ctx *ctx, ctw_volume *lab, int a, int b, int wall, int layers, int64_t *changed)
{
	const uint8_t *in;
	uint8_t *w = NULL;
	int64_t n, nx, ny, nz, sxy, nchg = 0;
	vlist prev = { 0 }, cur = { 0 };
	int ret;

	if (changed)
		*changed = 0;
	if ((ret = check_u8(ctx, "separate", lab)) || (ret = check_label(ctx, "separate", "first", a, 0)) ||
	    (ret = check_label(ctx, "separate", "second", b, 0)) ||
	    (ret = check_label(ctx, "separate", "wall", wall, 0)))
		return ret;
	if (a == b || wall == a || wall == b)
		return ctw_error(ctx, CTW_ERR_INVALID, "separate",
				 "labels %d, %d and wall %d must be different", a, b, wall);
	if (layers < 0)
		return ctw_error(ctx, CTW_ERR_INVALID, "separate", "%d layers; must be >= 0", layers);
	if (!layers)
		return CTW_OK;
	n = ctw_volume_count(lab);
	nx = lab->dim[0];
	ny = lab->dim[1];
	nz = lab->dim[2];
	sxy = nx * ny;
	in = lab->data;
	if (!(w = ctw_malloc(ctx, (size_t)n))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	memcpy(w, in, (size_t)n);
	/* layer 1: voxels of b touching a (a never changes, so converting at once is safe) */
	for (int64_t k = 0; k < nz; k++) {
		for (int64_t j = 0; j < ny; j++) {
			for (int64_t i = 0; i < nx; i++) {
				int64_t p = k * sxy + j * nx + i;
				if (in[p] != b || !touches26(in, lab->dim, i, j, k, (uint8_t)a))
					continue;
				w[p] = (uint8_t)wall;
				if ((ret = vl_push(ctx, &prev, p)))
					goto out;
			}
		}
		if (ctw_progress(ctx, "separate", (double)(k + 1), (double)nz * layers)) {
			ret = cancelled(ctx, "separate");
			goto out;
		}
	}
	nchg = (int64_t)prev.n;
	/* next layers: voxels of b touching the layer made by the previous pass */
	for (int layer = 1; layer < layers && prev.n; layer++) {
		vlist t;
		cur.n = 0;
		for (size_t s = 0; s < prev.n; s++) {
			int64_t p = prev.a[s], k = p / sxy, r = p - k * sxy, j = r / nx, i = r - j * nx;
			for (int64_t kk = k > 0 ? k - 1 : 0; kk <= k + 1 && kk < nz; kk++)
				for (int64_t jj = j > 0 ? j - 1 : 0; jj <= j + 1 && jj < ny; jj++)
					for (int64_t ii = i > 0 ? i - 1 : 0; ii <= i + 1 && ii < nx; ii++) {
						int64_t m = kk * sxy + jj * nx + ii;
						if (w[m] != b)
							continue;
						w[m] = (uint8_t)wall;
						if ((ret = vl_push(ctx, &cur, m)))
							goto out;
					}
		}
		nchg += (int64_t)cur.n;
		t = prev;
		prev = cur;
		cur = t;
		if (ctw_progress(ctx, "separate", (double)nz * (layer + 1), (double)nz * layers)) {
			ret = cancelled(ctx, "separate");
			goto out;
		}
	}
	memcpy(lab->data, w, (size_t)n);
	if (changed)
		*changed = nchg;
out:
	ctw_free(ctx, w);
	ctw_free(ctx, prev.a);
	ctw_free(ctx, cur.a);
	return ret;
}

/* ---- padding ---------------------------------------------------------------------------------- */

int ctw_seg_pad(ctw_ctx *ctx, const ctw_volume *lab, int voxels, ctw_volume **out)
{
	ctw_volume *res;
	int64_t dim[3];
	const uint8_t *src;
	uint8_t *dst;
	int ret;

	*out = NULL;
	if ((ret = check_u8(ctx, "pad", lab)))
		return ret;
	if (voxels < 0)
		return ctw_error(ctx, CTW_ERR_INVALID, "pad", "%d voxels; must be >= 0", voxels);
	for (int c = 0; c < 3; c++)
		dim[c] = lab->dim[c] + 2 * (int64_t)voxels;
	if ((ret = ctw_volume_new(ctx, dim, CTW_U8, &res)))
		return ret;
	ctw_volume_copy_geometry(res, lab);
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			res->origin[r] -= lab->direction[r][c] * lab->spacing[c] * voxels;
	src = lab->data;
	dst = res->data;
	for (int64_t k = 0; k < lab->dim[2]; k++)
		for (int64_t j = 0; j < lab->dim[1]; j++)
			memcpy(dst + ((k + voxels) * dim[1] + j + voxels) * dim[0] + voxels,
			       src + (k * lab->dim[1] + j) * lab->dim[0], (size_t)lab->dim[0]);
	*out = res;
	return CTW_OK;
}

/* ---- plausibility and topology ----------------------------------------------------------------- */

int ctw_seg_component_stats(ctw_ctx *ctx, const ctw_volume *lab, int64_t largest[256], int64_t count[256])
{
	const uint8_t *in;
	uint8_t *mark = NULL;
	int64_t n;
	vqueue q = { 0 };
	int ret;

	memset(largest, 0, 256 * sizeof(*largest));
	memset(count, 0, 256 * sizeof(*count));
	if ((ret = check_u8(ctx, "components", lab)))
		return ret;
	n = ctw_volume_count(lab);
	in = lab->data;
	if (!(mark = ctw_calloc(ctx, (size_t)n, 1)))
		return CTW_ERR_NOMEM;
	for (int64_t p = 0; p < n; p++) {
		int64_t size;
		count[in[p]]++;
		if (!in[p] || (mark[p] & M_SEEN))
			continue;
		if ((ret = flood6(ctx, in, lab->dim, mark, M_SEEN, p, &q, NULL, &size)))
			break;
		if (size > largest[in[p]])
			largest[in[p]] = size;
	}
	ctw_free(ctx, mark);
	ctw_free(ctx, q.a);
	return ret;
}

static int is_tissue(int l, int biv)
{
	return l == CTW_LBL_LV_MYO || (biv && l == CTW_LBL_RV_MYO);
}

/* Whether w[m] may become tissue: background first (pass 0), then blood (pass 1). */
static int fillable(const uint8_t *w, int64_t m, int pass, int biv)
{
	return pass == 0 ? w[m] == 0 : !is_tissue(w[m], biv);
}

int ctw_seg_repair_topology(ctw_ctx *ctx, ctw_volume *lab, int biv, int max_rounds, int64_t *changed,
			    int *rounds, ctw_voxel_topology *t)
{
	const int64_t nx = lab->dim[0], ny = lab->dim[1], nz = lab->dim[2], sxy = nx * ny;
	int64_t n, nchg = 0;
	uint8_t *mask = NULL, *w;
	int ret;

	*changed = 0;
	*rounds = 0;
	if ((ret = check_u8(ctx, "topology", lab)))
		return ret;
	n = ctw_volume_count(lab);
	w = lab->data;
	if (!(mask = ctw_malloc(ctx, (size_t)n)))
		return CTW_ERR_NOMEM;
	for (;;) {
		for (int64_t p = 0; p < n; p++)
			mask[p] = (uint8_t)is_tissue(w[p], biv);
		if ((ret = ctw_voxel_topology_measure(ctx, lab, mask, t)))
			break;
		if (!ctw_voxel_topology_fails(t) || *rounds >= max_rounds)
			break;
		(*rounds)++;
		/* decisions read mask (the map before this round), changes go to w */
		for (int64_t k = 0; k < nz; k++)
			for (int64_t j = 0; j < ny; j++)
				for (int64_t i = 0; i < nx; i++) {
					const int64_t v = i + nx * (j + ny * k), x[3] = { i, j, k }, st[3] = { 1, nx, sxy };
					if (!mask[v])
						continue;
					/* thin along an axis: thicken to the side of the background (else of
					 * the blood) */
					for (int c = 0; c < 3; c++) {
						if (x[c] == 0 || x[c] + 1 >= lab->dim[c] || mask[v - st[c]] || mask[v + st[c]])
							continue;
						for (int pass = 0; pass < 2; pass++) {
							int64_t m = fillable(w, v + st[c], pass, biv) ? v + st[c]
								    : fillable(w, v - st[c], pass, biv) ? v - st[c] : -1;
							if (m >= 0) {
								w[m] = w[v];
								nchg++;
								break;
							}
						}
					}
					/* a diagonal neighbour that is not 6-connected to v nearby: bridge the
					 * voxels between them */
					for (int dk = -1; dk <= 1; dk++)
						for (int dj = -1; dj <= 1; dj++)
							for (int di = -1; di <= 1; di++) {
								const int d[3] = { di, dj, dk };
								const int nz3 = (di != 0) + (dj != 0) + (dk != 0);
								int bridged = 0;
								int64_t a = i + di, b = j + dj, c = k + dk;
								if (nz3 < 2 || a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz ||
								    !mask[a + nx * (b + ny * c)])
									continue;
								/* the voxels of the box between v and its neighbour */
								for (int s = 1; s < 7 && !bridged; s++) {
									int64_t m = v;
									int ok = 1;
									for (int e = 0; e < 3; e++) {
										if ((s >> e) & 1) {
											if (!d[e])
												ok = 0;
											m += d[e] * st[e];
										}
									}
									if (!ok || m == a + nx * (b + ny * c))
										continue;
									if (mask[m])
										bridged = 1;
								}
								if (bridged)
									continue;
								for (int pass = 0; pass < 2 && !bridged; pass++)
									for (int s = 1; s < 7; s++) {
										int64_t m = v;
										int ok = 1;
										for (int e = 0; e < 3; e++)
											if ((s >> e) & 1) {
												if (!d[e])
													ok = 0;
												m += d[e] * st[e];
											}
										if (!ok || m == a + nx * (b + ny * c) || !fillable(w, m, pass, biv))
											continue;
										w[m] = w[v];
										nchg++;
										bridged = 1;
										break;
									}
							}
				}
		if (ctw_progress(ctx, "topology", (double)*rounds, (double)max_rounds)) {
			ret = cancelled(ctx, "topology");
			break;
		}
	}
	*changed = nchg;
	ctw_free(ctx, mask);
	return ret;
}
