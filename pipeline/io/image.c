/* image.c: checked image reading and atomic writing; the file formats themselves are read by
 * the ITK adapter (image_itk.cxx). NIfTI headers are checked here first, independently of ITK,
 * because its NIfTI reader silently repairs zero or NaN voxel sizes. */
#define _POSIX_C_SOURCE 200809L
#include "image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dicom.h"
#include "fs.h"
#include "image_int.h"
#include "image_itk.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Replaces the float32 geometry ITK read from a NIfTI file by the exact one we stored beside it,
 * when both describe the same grid (they differ if another tool edited the header). */
static void use_exact_geometry(ctw_ctx *ctx, const char *path, const ctw_nifti_exact *x,
			       ctw_image_info *info)
{
	double worst = 0;
	for (int c = 0; c < 3; c++) {
		if (x->dim[c] != info->dim[c])
			return;
		worst = fmax(worst, fabs(x->spacing[c] - info->spacing[c]) / x->spacing[c]);
		worst = fmax(worst, fabs(x->origin[c] - info->origin[c]) / fmax(1.0, fabs(x->origin[c])));
		for (int r = 0; r < 3; r++)
			worst = fmax(worst, fabs(x->direction[r][c] - info->direction[r][c]));
	}
	if (worst > 1e-5) {
		ctw_log(ctx, CTW_LOG_WARN, path,
			"the exact geometry stored by cardiotwin disagrees with the header (edited by "
			"another tool?); using the header");
		return;
	}
	memcpy(info->spacing, x->spacing, sizeof(info->spacing));
	memcpy(info->origin, x->origin, sizeof(info->origin));
	memcpy(info->direction, x->direction, sizeof(info->direction));
}

/* The stack of a DICOM directory (or single DICOM file) that opts select. On success *scan and
 * *stack are new (the stack borrows from the scan); free both. */
static int dicom_stack(ctw_ctx *ctx, const char *path, const ctw_read_opts *o, ctw_dicom_scan **scan,
		       const ctw_dicom_series **series, ctw_dicom_stack **stack, int *number)
{
	int ret;

	*stack = NULL;
	*number = 0;
	ret = ctw_dicom_scan_dir(ctx, path, scan);
	if (!ret)
		ret = ctw_dicom_find_stack(ctx, path, *scan, o->series, o->stack, series, number);
	if (!ret)
		ret = ctw_dicom_stack_build(ctx, path, *series, o->phase, o->allow_gaps, stack);
	return ret;
}

static void stack_info(const ctw_dicom_stack *st, int n_series, ctw_image_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->format, sizeof(info->format), "DICOM");
	info->ndim = st->dim[2] > 1 ? 3 : 2;
	memcpy(info->dim, st->dim, sizeof(st->dim));
	info->dim[3] = 1;
	memcpy(info->spacing, st->spacing, sizeof(info->spacing));
	memcpy(info->origin, st->origin, sizeof(info->origin));
	memcpy(info->direction, st->direction, sizeof(info->direction));
	info->dtype = st->dtype;
	snprintf(info->pixel_type, sizeof(info->pixel_type), "%s", ctw_dtype_name(st->dtype));
	info->n_components = 1;
	info->n_files = st->n;
	info->n_series = n_series;
	info->phase = st->phase;
	info->n_phases = st->n_phases;
	snprintf(info->phase_rule, sizeof(info->phase_rule), "%s", st->phase_rule);
}

/* Checks what ITK read from an image file's header. */
static int check_info(ctw_ctx *ctx, const char *path, const ctw_image_info *info)
{
	int64_t n = 1;
	ctw_volume g;

	if (info->ndim < 2 || info->ndim > 4 || (info->ndim == 4 && info->dim[3] > 1 && info->n_phases <= 1))
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "%dD image with %lld volumes; a single 2D or 3D image is expected", info->ndim,
				 (long long)info->dim[3]);
	if (info->n_components != 1)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "%d components per voxel; a scalar image is expected", info->n_components);
	for (int i = 0; i < 3; i++) {
		if (info->dim[i] < 1 || info->dim[i] > ctw_ctx_max_voxels(ctx) / n)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "%lld x %lld x %lld voxels exceed the limit of %lld",
					 (long long)info->dim[0], (long long)info->dim[1], (long long)info->dim[2],
					 (long long)ctw_ctx_max_voxels(ctx));
		n *= info->dim[i];
	}
	memset(&g, 0, sizeof(g));
	memcpy(g.spacing, info->spacing, sizeof(g.spacing));
	memcpy(g.origin, info->origin, sizeof(g.origin));
	memcpy(g.direction, info->direction, sizeof(g.direction));
	return ctw_check_geometry(ctx, path, &g);
}

/* The volume of an image file that phase selects (0: none; N: volume N of a 4-D NIfTI; a 3-D
 * image is phase 1 of 1), in info->phase and info->n_phases. */
static int file_phase(ctw_ctx *ctx, const char *path, int nifti, int phase, ctw_image_info *info)
{
	const int64_t n = info->ndim == 4 ? info->dim[3] : 1;

	if (phase == CTW_PHASE_ED)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "phase ed is found from a DICOM cine's trigger times (or its contours); for a NIfTI "
				 "cine give a phase number (this image has %lld volume%s)",
				 (long long)n, n == 1 ? "" : "s");
	if (nifti && n > 1 && phase == 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "a 4-D image of %lld volumes (a cine); choose one with --phase N (1..%lld)", (long long)n,
				 (long long)n);
	if (phase < 1 || (!nifti && n > 1)) /* 4-D NRRD, MetaImage: refused by check_info() */
		return CTW_OK;
	if (phase > n)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "no phase %d: the image has %lld volume%s", phase,
				 (long long)n, n == 1 ? "" : "s");
	info->phase = phase;
	info->n_phases = (int)n;
	return CTW_OK;
}

/* Reads and checks the header of an image file (not DICOM), phase as in ctw_read_opts. */
static int file_info(ctw_ctx *ctx, const char *path, int phase, ctw_image_info *info)
{
	ctw_nifti_exact exact = { 0 };
	int ret, nifti = ends_with(path, ".nii") || ends_with(path, ".nii.gz");

	if (nifti) {
		ret = ctw_nifti_check(ctx, path, &exact);
	} else if (ends_with(path, ".nrrd") || ends_with(path, ".nhdr") || ends_with(path, ".mha") ||
		   ends_with(path, ".mhd")) {
		ret = ctw_rawhdr_check(ctx, path);
	} else {
		/* ITK would also read Analyze 7.5 (.hdr/.img, orientation undefined), PNG, VTK, ...:
		 * only the formats whose headers are checked here are accepted */
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
				"not an image file that can be read (NIfTI .nii/.nii.gz, NRRD .nrrd/.nhdr, "
				"MetaImage .mha/.mhd, DICOM)%s",
				ends_with(path, ".hdr") || ends_with(path, ".img") ? "; Analyze 7.5 files are not "
										    "accepted (undefined orientation): convert to NIfTI"
										  : "");
	}
	if (ret)
		return ret;
	ret = ctw_itk_read_info(ctx, path, info);
	if (ret)
		return ret;
	if (exact.present)
		use_exact_geometry(ctx, path, &exact, info);
	if ((ret = file_phase(ctx, path, nifti, phase, info)))
		return ret;
	return check_info(ctx, path, info);
}

static int is_dicom_input(ctw_ctx *ctx, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno)), -1;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) /* /dev/zero, a FIFO: never read */
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "not a regular file or directory (a device, pipe or socket); an image file "
				 "or a DICOM directory is expected"),
		       -2;
	return S_ISDIR(st.st_mode) || ctw_is_dicom_file(path);
}

int ctw_image_read_info(ctw_ctx *ctx, const char *path, const ctw_read_opts *opts,
			ctw_image_info *info)
{
	const ctw_read_opts defaults = CTW_READ_OPTS_INIT;
	const ctw_dicom_series *series;
	ctw_dicom_scan *scan = NULL;
	ctw_dicom_stack *st = NULL;
	int ret, number, dicom = is_dicom_input(ctx, path);

	memset(info, 0, sizeof(*info));
	if (dicom < 0)
		return dicom == -1 ? CTW_ERR_IO : CTW_ERR_FORMAT;
	if (!dicom)
		return file_info(ctx, path, opts ? opts->phase : 0, info);
	ret = dicom_stack(ctx, path, opts ? opts : &defaults, &scan, &series, &st, &number);
	if (!ret) {
		stack_info(st, scan->n_series, info);
		info->stack = number;
		info->n_stacks = scan->n_stacks;
	}
	ctw_dicom_stack_free(ctx, st);
	ctw_dicom_scan_free(ctx, scan);
	return ret;
}

/* Decodes the stack's slices into v, interpolating linearly along the normal when the slices
 * are resampled onto an even grid. */
static int read_stack(ctw_ctx *ctx, const ctw_dicom_stack *st, ctw_volume *v)
{
	const int64_t plane = v->dim[0] * v->dim[1];
	float *a = ctw_malloc(ctx, sizeof(float) * (size_t)plane), *b = ctw_malloc(ctx, sizeof(float) * (size_t)plane);
	int loaded_a = -1, loaded_b = -1, ret = CTW_OK;

	if (!a || !b) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (int64_t k = 0; k < v->dim[2]; k++) {
		double z = st->pos[0] + (double)k * st->spacing[2], w = 0.0;
		int lo = (int)k;
		if (st->resampled) {
			for (lo = 0; lo + 2 < st->n && st->pos[lo + 1] <= z; lo++)
				;
			w = (z - st->pos[lo]) / (st->pos[lo + 1] - st->pos[lo]);
			w = w < 0 ? 0 : w > 1 ? 1 : w;
		}
		if (lo != loaded_a) {
			if (lo == loaded_b) {
				float *t = a;
				a = b;
				b = t;
				loaded_b = loaded_a;
			} else if ((ret = ctw_itk_read_dicom_slice(ctx, st->files[lo]->path, (int)v->dim[1],
								   (int)v->dim[0], a))) {
				goto out;
			}
			loaded_a = lo;
		}
		if (w > 0 && loaded_b != lo + 1) {
			if ((ret = ctw_itk_read_dicom_slice(ctx, st->files[lo + 1]->path, (int)v->dim[1],
							    (int)v->dim[0], b)))
				goto out;
			loaded_b = lo + 1;
		}
		for (int64_t n = 0; n < plane; n++)
			ctw_volume_set(v, k * plane + n, w > 0 ? (1 - w) * a[n] + w * b[n] : a[n]);
		if (ctw_progress(ctx, "read", (double)k + 1, (double)v->dim[2])) {
			ret = ctw_error(ctx, CTW_ERR_CANCELLED, "read", "cancelled");
			goto out;
		}
	}
out:
	ctw_free(ctx, a);
	ctw_free(ctx, b);
	return ret;
}

static void copy_geometry(ctw_volume *v, const ctw_image_info *info)
{
	memcpy(v->spacing, info->spacing, sizeof(v->spacing));
	memcpy(v->origin, info->origin, sizeof(v->origin));
	memcpy(v->direction, info->direction, sizeof(v->direction));
}

/* The voxels of a built DICOM stack as a new volume of dtype, its study record in rec. */
static int read_dicom(ctw_ctx *ctx, const char *path, const ctw_dicom_scan *scan, const ctw_dicom_series *series,
		      const ctw_dicom_stack *st, ctw_dtype dtype, ctw_volume **out, ctw_study_record *rec)
{
	ctw_image_info info;
	ctw_volume *v = NULL;
	int ret;

	stack_info(st, scan->n_series, &info);
	ret = ctw_volume_new(ctx, info.dim, dtype ? dtype : info.dtype, &v);
	if (!ret) {
		copy_geometry(v, &info);
		ret = read_stack(ctx, st, v);
	}
	if (!ret && rec) {
		ctw_dicom_study_record(ctx, series, rec);
		rec->phase = st->phase;
		snprintf(rec->phase_rule, sizeof(rec->phase_rule), "%s", st->phase_rule);
	}
	if (!ret)
		ret = ctw_check_geometry(ctx, path, v);
	if (ret) {
		ctw_volume_free(ctx, v);
		return ret;
	}
	*out = v;
	return CTW_OK;
}

int ctw_image_read_opts(ctw_ctx *ctx, const char *path, const ctw_read_opts *opts, ctw_dtype dtype,
			ctw_volume **out, ctw_study_record *rec)
{
	const ctw_read_opts defaults = CTW_READ_OPTS_INIT;
	const ctw_dicom_series *series = NULL;
	ctw_dicom_scan *scan = NULL;
	ctw_dicom_stack *st = NULL;
	ctw_image_info info;
	ctw_volume *v = NULL;
	int ret, number, dicom = is_dicom_input(ctx, path);

	*out = NULL;
	if (rec) {
		memset(rec, 0, sizeof(*rec));
		rec->field_strength_t = NAN;
	}
	if (dicom < 0)
		return dicom == -1 ? CTW_ERR_IO : CTW_ERR_FORMAT;
	if (dicom) {
		ret = dicom_stack(ctx, path, opts ? opts : &defaults, &scan, &series, &st, &number);
		if (!ret)
			ret = read_dicom(ctx, path, scan, series, st, dtype, out, rec);
		ctw_dicom_stack_free(ctx, st);
		ctw_dicom_scan_free(ctx, scan);
		return ret;
	}
	ret = file_info(ctx, path, opts ? opts->phase : 0, &info);
	if (!ret)
		ret = ctw_volume_new(ctx, info.dim, dtype ? dtype : info.dtype, &v);
	if (!ret) {
		/* one volume of a 4-D NIfTI in C; the geometry, from the header, is a 3-D file's */
		ret = info.n_phases > 1 ? ctw_nifti_read_frame(ctx, path, info.phase, v) : ctw_itk_read(ctx, path, v);
		if (!ret)
			copy_geometry(v, &info); /* the exact NIfTI geometry, when stored */
		if (!ret && rec) {
			rec->phase = info.phase ? info.phase : 1;
			rec->n_phases = info.n_phases ? info.n_phases : 1;
		}
	}
	if (!ret)
		ret = ctw_check_geometry(ctx, path, v);
	if (ret) {
		ctw_volume_free(ctx, v);
		return ret;
	}
	*out = v;
	return CTW_OK;
}

struct ctw_cine {
	char *path;
	ctw_read_opts opts;
	ctw_dicom_scan *scan;               /* DICOM: the directory, scanned once */
	const ctw_dicom_series *series;     /* DICOM: the stack's series (in scan) */
};

int ctw_cine_open(ctw_ctx *ctx, const char *path, const ctw_read_opts *opts, ctw_cine **out)
{
	const ctw_read_opts defaults = CTW_READ_OPTS_INIT;
	ctw_cine *c;
	int ret = CTW_OK, number, dicom = is_dicom_input(ctx, path);

	*out = NULL;
	if (dicom < 0)
		return dicom == -1 ? CTW_ERR_IO : CTW_ERR_FORMAT;
	if (!(c = ctw_calloc(ctx, 1, sizeof(*c))) || !(c->path = ctw_strdup(ctx, path))) {
		ctw_free(ctx, c);
		return CTW_ERR_NOMEM;
	}
	c->opts = opts ? *opts : defaults;
	c->opts.series = NULL; /* the series is found now; the caller's string need not outlive this */
	if (dicom && !(ret = ctw_dicom_scan_dir(ctx, path, &c->scan)))
		ret = ctw_dicom_find_stack(ctx, path, c->scan, opts ? opts->series : NULL, opts ? opts->stack : 0, &c->series,
					   &number);
	if (ret) {
		ctw_cine_close(ctx, c);
		return ret;
	}
	*out = c;
	return CTW_OK;
}

int ctw_cine_read(ctw_ctx *ctx, ctw_cine *c, int phase, ctw_dtype dtype, ctw_volume **out, ctw_study_record *rec)
{
	ctw_dicom_stack *st = NULL;
	ctw_read_opts o = c->opts;
	int ret;

	*out = NULL;
	o.phase = phase;
	if (!c->scan)
		return ctw_image_read_opts(ctx, c->path, &o, dtype, out, rec);
	if (rec) {
		memset(rec, 0, sizeof(*rec));
		rec->field_strength_t = NAN;
	}
	ret = ctw_dicom_stack_build(ctx, c->path, c->series, phase, o.allow_gaps, &st);
	if (!ret)
		ret = read_dicom(ctx, c->path, c->scan, c->series, st, dtype, out, rec);
	ctw_dicom_stack_free(ctx, st);
	return ret;
}

void ctw_cine_close(ctw_ctx *ctx, ctw_cine *c)
{
	if (!c)
		return;
	ctw_dicom_scan_free(ctx, c->scan);
	ctw_free(ctx, c->path);
	ctw_free(ctx, c);
}

int ctw_image_read(ctw_ctx *ctx, const char *path, ctw_dtype dtype, ctw_volume **out)
{
	return ctw_image_read_opts(ctx, path, NULL, dtype, out, NULL);
}

int ctw_study_record_write_json(ctw_ctx *ctx, const ctw_study_record *r, const char *path)
{
	char *tmp = NULL;
	FILE *f;
	int ret = ctw_tmp_sibling(ctx, path, &tmp);

	if (ret)
		return ret;
	f = fopen(tmp, "w");
	if (!f) {
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot create: %s", strerror(errno));
		goto out;
	}
	fprintf(f, "{\n  \"modality\": \"%s\",\n  \"manufacturer\": \"%s\",\n", r->modality, r->manufacturer);
	if (isnan(r->field_strength_t))
		fprintf(f, "  \"magnetic_field_strength_t\": null,\n");
	else
		fprintf(f, "  \"magnetic_field_strength_t\": %.6g,\n", r->field_strength_t);
	fprintf(f, "  \"pixel_spacing_mm\": [%.10g, %.10g],\n", r->pixel_spacing[0], r->pixel_spacing[1]);
	if (r->study_year)
		fprintf(f, "  \"study_year\": %d,\n", r->study_year);
	else
		fprintf(f, "  \"study_year\": null,\n");
	/* a missing UID is hashed from a substitute key, and the record says so; an input without
	 * UIDs at all (not DICOM) has null, never an empty hash */
	if (r->study_hash[0])
		fprintf(f, "  \"study_uid_hmac_sha256\": \"%s\",\n  \"study_uid_derived\": %s,\n", r->study_hash,
			r->study_uid_derived ? "true" : "false");
	else
		fprintf(f, "  \"study_uid_hmac_sha256\": null,\n");
	if (r->series_hash[0])
		fprintf(f, "  \"series_uid_hmac_sha256\": \"%s\",\n  \"series_uid_derived\": %s,\n", r->series_hash,
			r->series_uid_derived ? "true" : "false");
	else
		fprintf(f, "  \"series_uid_hmac_sha256\": null,\n");
	fprintf(f, "  \"phase\": %d,\n  \"n_phases\": %d", r->phase, r->n_phases);
	if (r->phase_rule[0])
		fprintf(f, ",\n  \"phase_rule\": \"%s\"", r->phase_rule);
	fprintf(f, "\n}\n");
	if (ferror(f) | fclose(f))
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, path, "cannot write: %s", strerror(errno));
	if (!ret)
		ret = ctw_publish(ctx, tmp, path);
	if (ret)
		remove(tmp);
out:
	ctw_free(ctx, tmp);
	return ret;
}

/* The directory part of path ("." when none), in buf. */
static const char *parent_dir(const char *path, char *buf, size_t n)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(buf, n, "."); /* the caller reads buf, not only the return value */
	else
		snprintf(buf, n, "%.*s", (int)(slash == path ? 1 : slash - path), path);
	return buf;
}

/* Rewrites the current error so that it names the output the user asked for (final), not the
 * temporary name it was written under (tmp). */
static void name_final(ctw_ctx *ctx, const char *tmp, const char *final)
{
	ctw_status code = ctw_errcode(ctx);
	char msg[1024];
	const char *m = ctw_errmsg(ctx), *at = strstr(m, tmp);

	if (!at)
		return;
	snprintf(msg, sizeof(msg), "%.*s%s%s", (int)(at - m), m, final, at + strlen(tmp));
	ctw_error(ctx, code, NULL, "%s", msg);
}

static int write_nifti(ctw_ctx *ctx, const ctw_volume *v, const double *plane, const char *path)
{
	char *tmp = NULL, buf[4096];
	const char *dir;
	int ret;

	if (!ends_with(path, ".nii") && !ends_with(path, ".nii.gz"))
		return ctw_error(ctx, CTW_ERR_INVALID, path, "a NIfTI file name ends in .nii or .nii.gz");
	ret = ctw_check_geometry(ctx, path, v);
	if (ret)
		return ret;
	dir = parent_dir(path, buf, sizeof(buf)); /* "." for a bare name */
	if (!ctw_is_dir(dir) || access(dir, W_OK) != 0)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot write: directory '%s' %s", dir,
				 ctw_is_dir(dir) ? "is not writable" : "does not exist");
	ret = ctw_tmp_sibling(ctx, path, &tmp);
	if (ret)
		return ret;
	ret = ctw_nifti_write(ctx, v, plane, tmp);
	if (!ret)
		ret = ctw_publish(ctx, tmp, path);
	if (ret) {
		remove(tmp);
		name_final(ctx, tmp, path);
	}
	ctw_free(ctx, tmp);
	return ret;
}

int ctw_image_write_nifti(ctw_ctx *ctx, const ctw_volume *v, const char *path)
{
	return write_nifti(ctx, v, NULL, path);
}

int ctw_labelmap_write_nifti(ctw_ctx *ctx, const ctw_labelmap *lm, const char *path)
{
	double plane[6];
	memcpy(plane, lm->base_point, sizeof(lm->base_point));
	memcpy(plane + 3, lm->base_normal, sizeof(lm->base_normal));
	return write_nifti(ctx, lm->grid, lm->has_base_plane ? plane : NULL, path);
}

int ctw_labelmap_read_nifti(ctw_ctx *ctx, const char *path, ctw_labelmap **out)
{
	ctw_nifti_exact exact = { 0 };
	ctw_volume *v;
	ctw_labelmap *lm;
	int ret;

	*out = NULL;
	if (!ends_with(path, ".nii") && !ends_with(path, ".nii.gz"))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "a label map of cardiotwin is a .nii or .nii.gz file");
	if ((ret = ctw_image_read(ctx, path, 0, &v)))
		return ret;
	if ((ret = ctw_nifti_check(ctx, path, &exact)) || (ret = ctw_labelmap_from_volume(ctx, path, v, &lm))) {
		ctw_volume_free(ctx, v);
		return ret;
	}
	if (exact.present && exact.has_plane) {
		lm->has_base_plane = 1;
		memcpy(lm->base_point, exact.plane, sizeof(lm->base_point));
		memcpy(lm->base_normal, exact.plane + 3, sizeof(lm->base_normal));
	}
	*out = lm;
	return CTW_OK;
}

int ctw_image_base_plane(ctw_ctx *ctx, const char *path, double point[3], double normal[3])
{
	ctw_nifti_exact exact = { 0 };
	if (!ends_with(path, ".nii") && !ends_with(path, ".nii.gz"))
		return 0;
	if (ctw_nifti_check(ctx, path, &exact) || !exact.present || !exact.has_plane) {
		ctw_clear_error(ctx);
		return 0;
	}
	memcpy(point, exact.plane, 3 * sizeof(double));
	memcpy(normal, exact.plane + 3, 3 * sizeof(double));
	return 1;
}

/* A right-handed copy of v's geometry (k reversed when det(direction) < 0), voxels reordered to
 * match, so that DICOM's slice normal (row × column) is the k axis. On success *out is new. */
static int right_handed(ctw_ctx *ctx, const ctw_volume *v, ctw_volume **out)
{
	const double(*d)[3] = v->direction;
	double det = d[0][0] * (d[1][1] * d[2][2] - d[1][2] * d[2][1]) -
		     d[0][1] * (d[1][0] * d[2][2] - d[1][2] * d[2][0]) +
		     d[0][2] * (d[1][0] * d[2][1] - d[1][1] * d[2][0]);
	size_t slice = (size_t)(v->dim[0] * v->dim[1]) * ctw_dtype_size(v->dtype);
	ctw_volume *w;
	int ret, r;

	ret = ctw_volume_convert(ctx, v, v->dtype, &w);
	if (ret || det > 0) {
		*out = w;
		return ret;
	}
	for (int64_t k = 0; k < v->dim[2]; k++)
		memcpy((char *)w->data + (size_t)k * slice,
		       (const char *)v->data + (size_t)(v->dim[2] - 1 - k) * slice, slice);
	for (r = 0; r < 3; r++) {
		w->origin[r] += d[r][2] * v->spacing[2] * (double)(v->dim[2] - 1);
		w->direction[r][2] = -d[r][2];
	}
	*out = w;
	return CTW_OK;
}

int ctw_image_write_dicom(ctw_ctx *ctx, const ctw_volume *v, const char *dir,
			  const ctw_dicom_meta *meta)
{
	ctw_volume *w = NULL;
	char *tmp = NULL;
	int ret;

	ret = ctw_check_geometry(ctx, dir, v);
	if (ret)
		return ret;
	if (v->dtype != CTW_U8 && v->dtype != CTW_I16 && v->dtype != CTW_U16)
		return ctw_error(ctx, CTW_ERR_INVALID, dir,
				 "DICOM series are written from 8 or 16-bit integer volumes, not %s",
				 ctw_dtype_name(v->dtype));
	if ((ret = right_handed(ctx, v, &w)) || (ret = ctw_tmp_sibling(ctx, dir, &tmp)))
		goto out;
	if (mkdir(tmp, 0777) != 0) {
		ret = ctw_error(ctx, CTW_ERR_IO, dir, "cannot create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	ret = ctw_itk_write_dicom(ctx, w, tmp, meta);
	if (!ret)
		ret = ctw_publish(ctx, tmp, dir);
	if (ret) {
		ctw_rm_rf(ctx, tmp);
		name_final(ctx, tmp, dir);
	}
out:
	ctw_volume_free(ctx, w);
	ctw_free(ctx, tmp);
	return ret;
}

const char *ctw_itk_version(void)
{
	return ctw_itk_version_string();
}

const char *ctw_gdcm_version(void)
{
	return ctw_gdcm_version_string();
}
