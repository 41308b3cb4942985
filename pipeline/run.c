/* run.c: the commands that chain and package: `export` (a mesh with fibres -> the package of
 * DESIGN.md §6, published atomically, with provenance.xml and SHA256SUMS), `verify` (re-hash,
 * validate, check the formats against each other) and `run` (every stage from a case file or
 * the command line, each stage skipped when its inputs and parameters are unchanged). A stage
 * of `run` is the very subcommand a user would type: its options come from the case file's
 * attributes, so a case file and a command line mean the same. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cli.h"
#include "ctw.h"
#include "export.h"
#include "fs.h"
#include "dicom.h"
#include "image.h"
#include "mesh.h"
#include "sha256.h"

#ifndef CTW_CASE_XSD
#define CTW_CASE_XSD "cases/case.xsd"
#endif

static double now_epoch(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- hashing files and trees -------------------------------------------------------------------- */

typedef struct strv {
	char **v;
	int n, cap;
} strv;

static int strv_add(ctw_ctx *ctx, strv *s, const char *str)
{
	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 16;
		char **v = ctw_realloc(ctx, s->v, sizeof(char *) * (size_t)cap);
		if (!v)
			return CTW_ERR_NOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (!(s->v[s->n] = ctw_strdup(ctx, str)))
		return CTW_ERR_NOMEM;
	s->n++;
	return CTW_OK;
}

static void strv_free(ctw_ctx *ctx, strv *s)
{
	for (int i = 0; i < s->n; i++)
		ctw_free(ctx, s->v[i]);
	ctw_free(ctx, s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Relative paths of the regular files below root (sorted). */
static int list_files(ctw_ctx *ctx, const char *root, const char *rel, strv *out)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int ret = CTW_OK;

	snprintf(path, sizeof(path), "%s%s%s", root, rel[0] ? "/" : "", rel);
	if (!(d = opendir(path)))
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot list: %s", strerror(errno));
	while (!ret && (e = readdir(d))) {
		char sub[4096], full[8200];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		snprintf(full, sizeof(full), "%s/%s", root, sub);
		if (stat(full, &st))
			ret = ctw_error(ctx, CTW_ERR_IO, full, "cannot stat: %s", strerror(errno));
		else if (S_ISDIR(st.st_mode))
			ret = list_files(ctx, root, sub, out);
		else if (S_ISREG(st.st_mode))
			ret = strv_add(ctx, out, sub);
	}
	closedir(d);
	if (!ret && !rel[0])
		qsort(out->v, (size_t)out->n, sizeof(char *), cmp_str);
	return ret;
}

/* SHA-256 of a file, or of a directory as the digest of its sha256sum-style manifest (sorted
 * relative paths), so a DICOM series has one digest. */
static int hash_path(ctw_ctx *ctx, const char *path, char hex[65])
{
	strv files = { 0 };
	ctw_sha256 s;
	unsigned char dg[32];
	int ret;

	if (!ctw_is_dir(path))
		return ctw_sha256_file(ctx, path, hex);
	if ((ret = list_files(ctx, path, "", &files)))
		goto out;
	ctw_sha256_init(&s);
	for (int i = 0; i < files.n; i++) {
		char full[8200], h[65];
		snprintf(full, sizeof(full), "%s/%s", path, files.v[i]);
		if ((ret = ctw_sha256_file(ctx, full, h)))
			goto out;
		ctw_sha256_update(&s, h, 64);
		ctw_sha256_update(&s, "  ", 2);
		ctw_sha256_update(&s, files.v[i], strlen(files.v[i]));
		ctw_sha256_update(&s, "\n", 1);
	}
	ctw_sha256_final(&s, dg);
	ctw_hex(dg, 32, hex);
out:
	strv_free(ctx, &files);
	return ret;
}

/* ---- stage records (work directory) ---------------------------------------------------------------- */

/* What provenance needs of a stage, kept in WORK/<stage>.record between runs. */
typedef struct stage_rec {
	char name[16];
	char key[65];
	double t0, t1;
	strv params;  /* "name=value", defaults included */
	strv inputs;  /* "label\thash" */
	strv outputs; /* "label\thash" */
	strv warnings; /* the warnings the stage logged, repeated when it is skipped */
} stage_rec;

static void rec_free(ctw_ctx *ctx, stage_rec *r)
{
	strv_free(ctx, &r->params);
	strv_free(ctx, &r->inputs);
	strv_free(ctx, &r->outputs);
	strv_free(ctx, &r->warnings);
}

static int rec_write(ctw_ctx *ctx, const stage_rec *r, const char *path)
{
	char *tmp = NULL;
	FILE *f;
	int ret;

	if ((ret = ctw_tmp_sibling(ctx, path, &tmp)))
		return ret;
	if (!(f = fopen(tmp, "w"))) {
		ret = ctw_error(ctx, CTW_ERR_IO, tmp, "cannot create: %s", strerror(errno));
		goto out;
	}
	fprintf(f, "key %s\nstart %.3f\nend %.3f\n", r->key, r->t0, r->t1);
	for (int i = 0; i < r->params.n; i++)
		fprintf(f, "param %s\n", r->params.v[i]);
	for (int i = 0; i < r->inputs.n; i++)
		fprintf(f, "input %s\n", r->inputs.v[i]);
	for (int i = 0; i < r->outputs.n; i++)
		fprintf(f, "output %s\n", r->outputs.v[i]);
	for (int i = 0; i < r->warnings.n; i++)
		fprintf(f, "warning %s\n", r->warnings.v[i]);
	if (ferror(f) | fclose(f))
		ret = ctw_error(ctx, CTW_ERR_IO, tmp, "cannot write");
	if (!ret)
		ret = ctw_publish(ctx, tmp, path);
out:
	if (ret)
		remove(tmp);
	ctw_free(ctx, tmp);
	return ret;
}

/* Reads a record; CTW_ERR_IO when there is none (the stage never finished). */
static int rec_read(ctw_ctx *ctx, const char *path, stage_rec *r)
{
	char line[8192];
	FILE *f = fopen(path, "r");
	int ret = CTW_OK;

	if (!f)
		return CTW_ERR_IO;
	while (!ret && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "key ", 4) && strlen(line + 4) == 64)
			memcpy(r->key, line + 4, 65);
		else if (!strncmp(line, "start ", 6))
			r->t0 = atof(line + 6);
		else if (!strncmp(line, "end ", 4))
			r->t1 = atof(line + 4);
		else if (!strncmp(line, "param ", 6))
			ret = strv_add(ctx, &r->params, line + 6);
		else if (!strncmp(line, "input ", 6))
			ret = strv_add(ctx, &r->inputs, line + 6);
		else if (!strncmp(line, "output ", 7))
			ret = strv_add(ctx, &r->outputs, line + 7);
		else if (!strncmp(line, "warning ", 8))
			ret = strv_add(ctx, &r->warnings, line + 8);
	}
	fclose(f);
	return ret;
}

/* Parameters as used: every option of the command that takes a value, given or default. */
static int rec_params(ctw_ctx *ctx, stage_rec *r, const command *c, const char **vals)
{
	int ret = CTW_OK;
	for (int i = 0; !ret && c->opts[i].name; i++) {
		const opt *o = &c->opts[i];
		const char *name = strrchr(o->name, '|') ? strrchr(o->name, '|') + 1 : o->name;
		char buf[1200];
		static const char *const paths[] = { "--output", "--labels", "--image", "--surface", "--mesh", "--dicom",
						     "--contours", NULL };
		int is_path = 0;
		for (int k = 0; paths[k]; k++)
			is_path |= !strcmp(name, paths[k]);
		/* inputs and outputs are entities of their own; options neither given nor defaulted say nothing */
		if (is_path || (!o->value && !vals[i]) || (!vals[i] && !o->def))
			continue;
		snprintf(buf, sizeof(buf), "%s=%s", name + 2, vals[i] ? vals[i] : o->def ? o->def : "");
		ret = strv_add(ctx, &r->params, buf);
	}
	return ret;
}

/* ---- hashing a package's files on two threads ---------------------------------------------------- */

typedef struct hash_job {
	const char *root;
	const strv *files;
	char (*hex)[65];
	int first, step, failed;
	char err[1024];
} hash_job;

static void *hash_worker(void *arg)
{
	hash_job *j = arg;
	ctw_ctx *c = ctw_ctx_new(); /* a context of its own: errors are per context */

	for (int i = j->first; c && i < j->files->n && !j->failed; i += j->step) {
		char full[8200];
		snprintf(full, sizeof(full), "%s/%s", j->root, j->files->v[i]);
		if (ctw_sha256_file(c, full, j->hex[i])) {
			snprintf(j->err, sizeof(j->err), "%s", ctw_errmsg(c));
			j->failed = 1;
		}
	}
	if (!c) {
		snprintf(j->err, sizeof(j->err), "out of memory");
		j->failed = 1;
	}
	ctw_ctx_free(c);
	return NULL;
}

/* "path\thash" of every file (relative to root) into out, in the files' order; the SHA-256 of a
 * package is most of an export's time, and two cores halve it. */
static int hash_files(ctw_ctx *ctx, const char *root, const strv *files, strv *out)
{
	char (*hex)[65] = ctw_calloc(ctx, (size_t)files->n + 1, sizeof(*hex));
	hash_job jobs[2] = { { root, files, hex, 0, 2, 0, "" }, { root, files, hex, 1, 2, 0, "" } };
	pthread_t th;
	int started, ret = CTW_OK;

	if (!hex)
		return CTW_ERR_NOMEM;
	started = pthread_create(&th, NULL, hash_worker, &jobs[1]) == 0;
	if (!started)
		jobs[0].step = 1; /* all on this thread */
	hash_worker(&jobs[0]);
	if (started)
		pthread_join(th, NULL);
	for (int k = 0; k < 2 && !ret; k++)
		if (jobs[k].failed)
			ret = ctw_error(ctx, CTW_ERR_IO, root, "%s", jobs[k].err);
	for (int i = 0; !ret && i < files->n; i++) {
		char buf[4200];
		snprintf(buf, sizeof(buf), "%s\t%s", files->v[i], hex[i]);
		ret = strv_add(ctx, out, buf);
	}
	ctw_free(ctx, hex);
	return ret;
}

/* ---- the package -------------------------------------------------------------------------------------- */

typedef struct export_job {
	const char *mesh;     /* mesh or fibre directory                      */
	const char *labels;   /* label map to include, or NULL                */
	const char *out;      /* the package directory                        */
	const char *case_id;
	unsigned formats;
	stage_rec *prior;     /* the earlier stages' records (run), or NULL   */
	int n_prior;
	stage_rec *self;      /* filled: the export stage's record            */
	int argc;             /* the command line to re-run                    */
	char *const *argv;
	const char *mesh_hash, *labels_hash; /* digests computed already, or NULL */
	const char *image;    /* the image under the labels in qa/labels.png (not packaged), or NULL */
	const char *image_label; /* its name in the record, NULL: "input image"  */
	int image_phase;      /* the image's volume (a 4-D NIfTI cine), 0: none */
} export_job;

static int copy_file(ctw_ctx *ctx, const char *from, const char *to)
{
	char buf[1 << 16];
	size_t n;
	int ret = CTW_OK;
	FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;

	if (!a || !b) {
		ret = ctw_error(ctx, CTW_ERR_IO, a ? to : from, "cannot open: %s", strerror(errno));
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), a)) > 0)
		if (fwrite(buf, 1, n, b) != n) {
			ret = ctw_error(ctx, CTW_ERR_IO, to, "cannot write: %s", strerror(errno));
			break;
		}
	if (!ret && ferror(a))
		ret = ctw_error(ctx, CTW_ERR_IO, from, "cannot read");
out:
	if (a)
		fclose(a);
	if (b && fclose(b) && !ret)
		ret = ctw_error(ctx, CTW_ERR_IO, to, "cannot write: %s", strerror(errno));
	return ret;
}

static int mkdirs(ctw_ctx *ctx, const char *root, const char *sub, char **out)
{
	int ret = ctw_path_join(ctx, root, sub, out);
	if (!ret && (ret = ctw_mkdir_p(ctx, *out))) {
		ctw_free(ctx, *out);
		*out = NULL;
	}
	return ret;
}

/* metrics.csv: what a reviewer compares across cases. */
static int write_metrics(ctw_ctx *ctx, const ctw_tetmesh *m, const ctw_mesh_quality *q, const double *fiber,
			 const double *sheet, const char *path)
{
	int64_t tags[5] = { 0 };
	double worst = 0;
	FILE *f = fopen(path, "w");
	int ret = CTW_OK;

	if (!f)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot create: %s", strerror(errno));
	for (int64_t i = 0; i < m->n_tris; i++)
		if (m->tri_marker[i] >= 0 && m->tri_marker[i] < 5)
			tags[m->tri_marker[i]]++;
	for (int64_t t = 0; fiber && sheet && t < m->n_tets; t++) {
		const double *a = fiber + 3 * t, *b = sheet + 3 * t;
		worst = fmax(worst, fabs(sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]) - 1));
		worst = fmax(worst, fabs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2]));
	}
	fprintf(f, "metric,value\npoints,%lld\ntetrahedra,%lld\n", (long long)m->n_points, (long long)m->n_tets);
	fprintf(f, "faces_epi,%lld\nfaces_lv_endo,%lld\nfaces_rv_endo,%lld\nfaces_base,%lld\n", (long long)tags[1],
		(long long)tags[2], (long long)tags[3], (long long)tags[4]);
	fprintf(f, "volume_mm3,%.3f\nmin_dihedral_deg,%.4f\nmedian_dihedral_deg,%.4f\nmax_radius_edge,%.4f\n",
		q->volume_mm3, q->min_dihedral_deg, q->median_dihedral_deg, q->max_radius_edge);
	fprintf(f, "degenerate_tetrahedra,%lld\nmean_edge_mm,%.4f\nfibres,%s\nfibre_frame_defect,%.3g\n",
		(long long)q->n_degenerate, q->mean_edge_mm, fiber ? "yes" : "no", worst);
	if (ferror(f))
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write");
	if (fclose(f) && !ret)
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno));
	return ret;
}

static int prov_add_record(ctw_ctx *ctx, ctw_prov *p, const stage_rec *r)
{
	const char *names[64], *values[64];
	char buf[64][256];
	int n = 0, ret;

	for (int i = 0; i < r->params.n && n < 64; i++) {
		const char *eq = strchr(r->params.v[i], '=');
		snprintf(buf[n], sizeof(buf[n]), "%.*s", eq ? (int)(eq - r->params.v[i]) : 0, r->params.v[i]);
		names[n] = buf[n];
		values[n] = eq ? eq + 1 : "";
		n++;
	}
	if ((ret = ctw_prov_activity(ctx, p, r->name, r->t0, r->t1, names, values, n)))
		return ret;
	for (int k = 0; k < 2; k++) {
		const strv *s = k ? &r->outputs : &r->inputs;
		for (int i = 0; i < s->n; i++) {
			char label[4096];
			const char *tab = strchr(s->v[i], '\t');
			if (!tab)
				continue;
			snprintf(label, sizeof(label), "%.*s", (int)(tab - s->v[i]), s->v[i]);
			if ((ret = ctw_prov_file(ctx, p, r->name, label, tab + 1, k)))
				return ret;
		}
	}
	return CTW_OK;
}

static int write_provenance(ctw_ctx *ctx, const export_job *j, const char *path)
{
	static const char *names[] = { "cardiotwin", "ITK", "GDCM", "VTK", "TetGen", "libxml2", "libpng", "compiler" };
	const char *versions[8] = { CTW_VERSION, ctw_itk_version(), ctw_gdcm_version(), ctw_vtk_version(),
				    ctw_tetgen_version(), ctw_libxml2_version(), ctw_libpng_version(),
#if defined(__VERSION__)
				    "gcc " __VERSION__
#else
				    "unknown"
#endif
	};
	ctw_prov *p = NULL;
	int ret;

	if ((ret = ctw_prov_new(ctx, j->case_id, &p)) || (ret = ctw_prov_set_command(ctx, p, j->argc, j->argv)) ||
	    (ret = ctw_prov_set_software(ctx, p, names, versions, 8)))
		goto out;
	for (int i = 0; i < j->n_prior; i++)
		if ((ret = prov_add_record(ctx, p, &j->prior[i])))
			goto out;
	if ((ret = prov_add_record(ctx, p, j->self)) || (ret = ctw_prov_write(ctx, p, path)))
		goto out;
out:
	ctw_prov_free(ctx, p);
	return ret;
}

static int add_hashed(ctw_ctx *ctx, strv *s, const char *label, const char *path)
{
	char hex[65], buf[4200];
	int ret = hash_path(ctx, path, hex);
	if (ret)
		return ret;
	snprintf(buf, sizeof(buf), "%s\t%s", label, hex);
	return strv_add(ctx, s, buf);
}

/* SHA256SUMS from the digests the record holds already ("path\thash", sorted by path). */
static int write_sums(ctw_ctx *ctx, const char *dir, const strv *outputs)
{
	const char **names = ctw_calloc(ctx, (size_t)outputs->n + 1, sizeof(char *));
	const char **hexes = ctw_calloc(ctx, (size_t)outputs->n + 1, sizeof(char *));
	char *buf = NULL;
	size_t len = 0;
	int ret;

	for (int i = 0; i < outputs->n; i++)
		len += strlen(outputs->v[i]) + 1;
	buf = ctw_malloc(ctx, len + 1);
	if (!names || !hexes || !buf) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	char *p = buf;
	for (int i = 0; i < outputs->n; i++) {
		strcpy(p, outputs->v[i]);
		char *tab = strchr(p, '\t');
		names[i] = p;
		hexes[i] = tab ? tab + 1 : "";
		if (tab)
			*tab = '\0';
		p += strlen(outputs->v[i]) + 1;
	}
	ret = ctw_write_sha256sums_known(ctx, dir, names, hexes, outputs->n);
out:
	ctw_free(ctx, names);
	ctw_free(ctx, hexes);
	ctw_free(ctx, buf);
	return ret;
}

/* An input of the record, hashed unless its digest is known (a stage of this run wrote it). */
static int add_input(ctw_ctx *ctx, stage_rec *r, const char *label, const char *path, const char *hex)
{
	char buf[4200];
	if (!hex)
		return add_hashed(ctx, &r->inputs, label, path);
	snprintf(buf, sizeof(buf), "%s\t%s", label, hex);
	return strv_add(ctx, &r->inputs, buf);
}

/* The QA pictures and report of a package, run on a thread of its own (its own context). */
typedef struct qa_job {
	ctw_ctx *ctx;
	const ctw_model *md;
	const ctw_volume *labels; /* the package's label map (labels.nii.gz) or NULL */
	const ctw_volume *image;  /* the image under the labels, or NULL                */
	const char *dir, *metrics;
	char wbuf[4 + CTW_MAX_KEPT_WARNINGS][CTW_WARNING_LEN];
	const char *warn[4 + CTW_MAX_KEPT_WARNINGS];
	int nw, ret;
	double seconds;
} qa_job;

static void *qa_worker(void *arg)
{
	qa_job *q = arg;
	const double t = now_epoch();
	q->ret = ctw_qa_write(q->ctx, q->md, q->labels, q->image, q->dir, q->metrics, q->warn, q->nw);
	q->seconds = now_epoch() - t;
	return NULL;
}

/* Every format of j->formats into tmp/model/<format>. */
static int write_models(ctw_ctx *ctx, const export_job *j, const ctw_model *md, const char *tmp, const ctw_field *fib,
			const ctw_field *sh, const ctw_field *const *others, int n_others)
{
	static const struct {
		unsigned bit;
		const char *dir;
		int (*write)(ctw_ctx *, const ctw_model *, const char *);
	} fmts[] = { { CTW_FMT_OPENCARP, "model/opencarp", ctw_write_opencarp },
		     { CTW_FMT_VTK, "model/vtk", ctw_write_vtk_legacy },
		     { CTW_FMT_GMSH, "model/gmsh", ctw_write_gmsh },
		     { CTW_FMT_FEBIO, "model/febio", ctw_write_febio },
		     { CTW_FMT_TETGEN, "model/tetgen", ctw_write_tetgen } };
	const char *apex_name[] = { "apex_node" };
	const ctw_tetmesh *m = md->mesh;
	char *d = NULL, *path = NULL;
	int ret = CTW_OK;

	for (size_t k = 0; k < sizeof(fmts) / sizeof(fmts[0]) && !ret; k++) {
		if (!(j->formats & fmts[k].bit))
			continue;
		const double tw = now_epoch();
		if ((ret = mkdirs(ctx, tmp, fmts[k].dir, &d)) || (ret = fmts[k].write(ctx, md, d)))
			break;
		if (fmts[k].bit == CTW_FMT_VTK) {
			const ctw_field *all[18];
			int na = 0;
			if (fib)
				all[na++] = fib, all[na++] = sh;
			for (int i = 0; i < n_others; i++)
				all[na++] = others[i];
			if ((ret = ctw_path_join(ctx, d, "heart.vtu", &path)) ||
			    (ret = ctw_vtk_write_vtu(ctx, m, all, na, apex_name, &md->apex_node, md->apex_node >= 0, path)))
				break;
			ctw_free(ctx, path);
			path = NULL;
			if ((ret = ctw_path_join(ctx, d, "surfaces.vtp", &path)) ||
			    (ret = ctw_vtk_write_vtp(ctx, m->xyz, m->n_points, m->tris, m->tri_marker, m->n_tris, "surface", path)))
				break;
			ctw_free(ctx, path);
			path = NULL;
		}
		ctw_log(ctx, CTW_LOG_INFO, "export", "%s: %.2f s", fmts[k].dir, now_epoch() - tw);
		ctw_free(ctx, d);
		d = NULL;
	}
	ctw_free(ctx, d);
	ctw_free(ctx, path);
	return ret;
}

static int export_package(ctw_ctx *ctx, const export_job *j)
{
	ctw_mesh_in in;
	ctw_mesh_quality q;
	char *tmp = NULL, *path = NULL;
	const ctw_field *fib, *sh;
	const ctw_field *others[16];
	int n_others = 0, ret;
	int64_t ft = 0, fr = 0;
	strv files = { 0 };
	stage_rec *self = j->self;
	ctw_labelmap *lm = NULL;
	ctw_volume *img = NULL;

	/* the warnings of the stages before (run) or of reading the inputs lead the report's */
	const int n_prior = ctw_ctx_n_warnings(ctx);

	memset(&in, 0, sizeof(in));
	self->t0 = now_epoch();
	snprintf(self->name, sizeof(self->name), "export");
	if ((ret = ctw_mesh_read(ctx, j->mesh, &in)))
		goto out;
	ctw_log(ctx, CTW_LOG_INFO, "export", "mesh read: %.2f s", now_epoch() - self->t0);
	fib = ctw_mesh_in_field(&in, "fiber");
	sh = ctw_mesh_in_field(&in, "sheet");
	if (!fib || !sh || fib->loc != CTW_ON_CELLS || sh->loc != CTW_ON_CELLS || fib->n_comp != 3 || sh->n_comp != 3) {
		ctw_log(ctx, CTW_LOG_WARN, j->mesh, "no fibres (run 'cardiotwin fibers' first): the package has none");
		fib = sh = NULL;
	}
	for (int i = 0; i < in.n_fields && n_others < 16; i++)
		if (in.fields[i] != fib && in.fields[i] != sh)
			others[n_others++] = in.fields[i];
	if ((ret = ctw_model_orient(ctx, j->mesh, in.mesh, &ft, &fr)) ||
	    (ret = ctw_mesh_quality_measure(ctx, in.mesh, &q)))
		goto out;
	if (ft || fr)
		ctw_log(ctx, CTW_LOG_INFO, "export", "oriented %lld tetrahedra and %lld boundary triangles", (long long)ft,
			(long long)fr);
	ctw_log(ctx, CTW_LOG_INFO, "export", "orientation and quality: %.2f s", now_epoch() - self->t0);
	ctw_model md = { in.mesh, fib ? fib->values : NULL, sh ? sh->values : NULL, others, n_others, in.apex_node,
			 j->case_id };

	ctw_clean_stale_tmp(ctx, j->out);
	if ((ret = ctw_tmp_sibling(ctx, j->out, &tmp)) || (ret = ctw_mkdir_p(ctx, tmp)))
		goto out;
	if ((ret = ctw_path_join(ctx, tmp, "metrics.csv", &path)) ||
	    (ret = write_metrics(ctx, in.mesh, &q, md.fiber, md.sheet, path)))
		goto out;
	{
		/* the QA pictures on a second thread while the formats are written; what a reviewer
		 * must see first leads the report */
		static qa_job qj0;
		qa_job qj = qj0;
		qj.md = &md, qj.dir = tmp, qj.metrics = path, qj.ret = CTW_OK;
		pthread_t th;
		int started = 0, wret;
		/* the label map the package includes, for its slices; read here (this thread's
		 * context), only borrowed by the worker and freed after the join */
		if (j->labels) {
			const double tl = now_epoch();
			if ((ret = ctw_labelmap_read_nifti(ctx, j->labels, &lm)))
				goto out;
			qj.labels = lm->grid;
			ctw_log(ctx, CTW_LOG_INFO, "export", "labels read for qa: %.2f s", now_epoch() - tl);
		}
		/* the image, drawn under the labels (read here too, its native type) */
		if (j->image) {
			const double ti = now_epoch();
			ctw_read_opts ro = CTW_READ_OPTS_INIT;
			ro.phase = j->image_phase;
			if ((ret = ctw_image_read_opts(ctx, j->image, &ro, 0, &img, NULL)))
				goto out;
			qj.image = img;
			ctw_log(ctx, CTW_LOG_INFO, "export", "image read for qa: %.2f s", now_epoch() - ti);
		}
		for (int i = 0; i < n_prior && ctw_ctx_warning(ctx, i); i++)
			snprintf(qj.wbuf[qj.nw], sizeof(qj.wbuf[0]), "%s", ctw_ctx_warning(ctx, i)), qj.nw++;
		if (n_prior > CTW_MAX_KEPT_WARNINGS)
			snprintf(qj.wbuf[qj.nw], sizeof(qj.wbuf[0]), "%d more warnings (see the run's log)",
				 n_prior - CTW_MAX_KEPT_WARNINGS), qj.nw++;
		if (!fib)
			snprintf(qj.wbuf[qj.nw], sizeof(qj.wbuf[0]), "no fibres: run 'cardiotwin fibers' before export"), qj.nw++;
		if (q.n_degenerate)
			snprintf(qj.wbuf[qj.nw], sizeof(qj.wbuf[0]), "%lld degenerate tetrahedra", (long long)q.n_degenerate), qj.nw++;
		if (q.min_dihedral_deg < 5)
			snprintf(qj.wbuf[qj.nw], sizeof(qj.wbuf[0]), "minimum dihedral angle %.2f deg (below 5)", q.min_dihedral_deg),
				qj.nw++;
		for (int i = 0; i < qj.nw; i++)
			qj.warn[i] = qj.wbuf[i];
		if ((qj.ctx = ctw_ctx_new_worker(ctx)))
			started = pthread_create(&th, NULL, qa_worker, &qj) == 0;
		wret = write_models(ctx, j, &md, tmp, fib, sh, others, n_others);
		if (started)
			pthread_join(th, NULL);
		else if (qj.ctx)
			qa_worker(&qj);
		else
			qj.ret = CTW_ERR_NOMEM;
		if (!wret && qj.ret) /* the writers' error first; else the pictures' */
			wret = qj.ctx ? ctw_error(ctx, qj.ret, NULL, "%s", ctw_errmsg(qj.ctx)) : qj.ret;
		else if (!wret)
			ctw_log(ctx, CTW_LOG_INFO, "export", "qa: %.2f s (beside the writers)", qj.seconds);
		ctw_ctx_free(qj.ctx);
		if ((ret = wret))
			goto out;
	}
	ctw_free(ctx, path);
	path = NULL;
	if (j->labels) {
		if ((ret = ctw_path_join(ctx, tmp, "labels.nii.gz", &path)) || (ret = copy_file(ctx, j->labels, path)))
			goto out;
		ctw_free(ctx, path);
		path = NULL;
	}

	/* the record: inputs, parameters, every package file (but the record itself and the sums) */
	if ((ret = add_input(ctx, self, j->prior ? "work/fibers" : "input mesh", j->mesh, j->mesh_hash)) ||
	    (j->labels && (ret = add_input(ctx, self, j->prior ? "work/labels.nii.gz" : "input labels", j->labels,
					   j->labels_hash))) ||
	    (j->image && (ret = add_input(ctx, self, j->image_label ? j->image_label : "input image",
					  j->image, NULL))) ||
	    (ret = list_files(ctx, tmp, "", &files)))
		goto out;
	if ((ret = hash_files(ctx, tmp, &files, &self->outputs)))
		goto out;
	{
		char fm[128] = "";
		static const char *const fn[5] = { "opencarp", "vtk", "gmsh", "febio", "tetgen" };
		for (int k = 0; k < 5; k++)
			if (j->formats & (1u << k))
				snprintf(fm + strlen(fm), sizeof(fm) - strlen(fm), "%s%s", fm[0] ? "," : "", fn[k]);
		char buf[256];
		snprintf(buf, sizeof(buf), "formats=%s", fm);
		if ((ret = strv_add(ctx, &self->params, buf)))
			goto out;
		snprintf(buf, sizeof(buf), "case-id=%s", j->case_id);
		if ((ret = strv_add(ctx, &self->params, buf)))
			goto out;
	}
	self->t1 = now_epoch();
	ctw_log(ctx, CTW_LOG_INFO, "export", "hashed: %.2f s", self->t1 - self->t0);
	if ((ret = ctw_path_join(ctx, tmp, "provenance.xml", &path)) || (ret = write_provenance(ctx, j, path)) ||
	    (ret = write_sums(ctx, tmp, &self->outputs)) || (ret = ctw_publish(ctx, tmp, j->out)))
		goto out;
	printf("export: %lld points, %lld tetrahedra, %s, package %s\n", (long long)in.mesh->n_points,
	       (long long)in.mesh->n_tets, fib ? "fibres" : "no fibres", j->out);
out:
	if (ret && tmp)
		cli_discard(ctx, tmp);
	strv_free(ctx, &files);
	ctw_free(ctx, tmp);
	ctw_free(ctx, path);
	ctw_labelmap_free(ctx, lm);
	ctw_volume_free(ctx, img);
	ctw_mesh_in_release(ctx, &in);
	return ret;
}

/* A case id from a path's last component: letters, digits, - _ . kept, a letter first. */
static void case_id_of(const char *path, char *id, size_t n)
{
	const char *b = strrchr(path, '/');
	size_t k = 0;
	b = b && b[1] ? b + 1 : path;
	if (!((*b >= 'A' && *b <= 'Z') || (*b >= 'a' && *b <= 'z')))
		id[k++] = 'c';
	for (; *b && k + 1 < n; b++)
		id[k++] = (char)(((*b >= 'A' && *b <= 'Z') || (*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') ||
				  *b == '-' || *b == '_' || *b == '.') ? *b : '_');
	id[k] = '\0';
}

const opt cli_export_opts[] = {
	{ "--mesh", "DIR", NULL, "a mesh directory (from fibers, or mesh) (required)" },
	{ "--labels", "PATH", NULL, "the label map to include in the package as labels.nii.gz" },
	{ "--formats", "LIST", "all", "opencarp,vtk,gmsh,febio,tetgen (any subset) or all" },
	{ "--case-id", "ID", "the output's name", "the case's pseudonym in the package and its provenance" },
	{ "-o|--output", "PACKAGE", NULL, "the package directory (required; published atomically)" },
	{ "--image", "PATH", NULL,
	  "the image the labels were drawn from, shown under them in qa/labels.png (read, hashed into the "
	  "provenance, not copied into the package)" },
	{ NULL, NULL, NULL, NULL }
};

int cli_cmd_export(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	stage_rec self;
	char id[80];
	unsigned formats = CTW_FMT_ALL;
	int ret;

	(void)argc;
	(void)argv;
	memset(&self, 0, sizeof(self));
	if (!vals[0] || !vals[4])
		return ctw_error(ctx, CTW_ERR_INVALID, "export", "give --mesh DIR and -o PACKAGE");
	if (vals[2] && (ret = ctw_formats_parse(ctx, vals[2], &formats)))
		return ret;
	if (ctw_is_file(vals[4]))
		return ctw_error(ctx, CTW_ERR_IO, vals[4], "exists and is not a directory");
	case_id_of(vals[3] ? vals[3] : vals[4], id, sizeof(id));
	export_job j = { vals[0], vals[1], vals[4], id, formats, NULL, 0, &self, cli_argc, cli_argv, NULL, NULL, vals[5], NULL, 0 };
	ret = export_package(ctx, &j);
	rec_free(ctx, &self);
	return ret;
}

/* ---- verify ------------------------------------------------------------------------------------------ */

typedef struct vstate {
	ctw_ctx *ctx;
	const char *pkg;
	int problems;
} vstate;

static void problem(vstate *v, const char *file, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(vstate *v, const char *file, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("FAIL %s: %s\n", file, msg);
	v->problems++;
}

/* The first integer of a text file after its comment lines (the count header of openCARP and
 * TetGen files). */
static int64_t first_int(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	long long n = -1;
	while (f && fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%lld", &n) != 1)
			n = -1;
		break;
	}
	if (f)
		fclose(f);
	return n;
}

static int64_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int64_t n = 0;
	int c, last = '\n';
	if (!f)
		return -1;
	while ((c = getc(f)) != EOF) {
		n += c == '\n';
		last = c;
	}
	fclose(f);
	return n + (last != '\n');
}

/* The sha256 of every entity labelled with a package path in provenance.xml against the file. */
static void verify_provenance(vstate *v, const char *xml)
{
	xmlDocPtr doc = xmlReadFile(xml, NULL, XML_PARSE_NONET);
	int checked = 0;

	if (!doc) {
		problem(v, "provenance.xml", "not well-formed XML");
		return;
	}
	for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
		xmlChar *label = NULL, *hash = NULL;
		if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "entity"))
			continue;
		for (xmlNodePtr c = n->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (!xmlStrcmp(c->name, BAD_CAST "label") && !label)
				label = xmlNodeGetContent(c);
			else if (!xmlStrcmp(c->name, BAD_CAST "sha256") && !hash)
				hash = xmlNodeGetContent(c);
		}
		if (label && hash) {
			char full[8200], hex[65];
			snprintf(full, sizeof(full), "%s/%s", v->pkg, (const char *)label);
			if (ctw_is_file(full)) {
				checked++;
				if (ctw_sha256_file(v->ctx, full, hex) || strcmp(hex, (const char *)hash))
					problem(v, (const char *)label, "its SHA-256 differs from the one in provenance.xml");
			}
		}
		xmlFree(label);
		xmlFree(hash);
	}
	xmlFreeDoc(doc);
	if (!checked)
		problem(v, "provenance.xml", "names no file of the package with its SHA-256");
	else
		printf("ok   provenance.xml: %d files' SHA-256 match\n", checked);
}

typedef struct tetkey {
	int32_t v[5]; /* sorted nodes, region */
} tetkey;

static int cmp_tetkey(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(tetkey));
}

static void sort_ints(int32_t *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int32_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/* Tetrahedra (nodes, region) of a not found in b, whatever their order (a format may group
 * them by region); -1 when out of memory. */
static int64_t tet_multiset_diff(ctw_ctx *ctx, const ctw_tetmesh *a, const ctw_tetmesh *b)
{
	tetkey *ka = ctw_malloc(ctx, sizeof(tetkey) * (size_t)a->n_tets), *kb = ctw_malloc(ctx, sizeof(tetkey) * (size_t)b->n_tets);
	int64_t diff = 0;

	if (!ka || !kb) {
		diff = -1;
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		const ctw_tetmesh *m = k ? b : a;
		tetkey *key = k ? kb : ka;
		for (int64_t t = 0; t < m->n_tets; t++) {
			memcpy(key[t].v, m->tets + 4 * t, 4 * sizeof(int32_t));
			sort_ints(key[t].v, 4);
			key[t].v[4] = m->region[t];
		}
		qsort(key, (size_t)m->n_tets, sizeof(tetkey), cmp_tetkey);
	}
	for (int64_t t = 0; t < a->n_tets && t < b->n_tets; t++)
		diff += memcmp(&ka[t], &kb[t], sizeof(tetkey)) != 0;
out:
	ctw_free(ctx, ka);
	ctw_free(ctx, kb);
	return diff;
}

static void verify_mesh(vstate *v)
{
	char p[8200];
	ctw_mesh_in vtu, msh;
	ctw_ctx *ctx = v->ctx;

	memset(&vtu, 0, sizeof(vtu));
	memset(&msh, 0, sizeof(msh));
	snprintf(p, sizeof(p), "%s/model/vtk/heart.vtu", v->pkg);
	if (!ctw_is_file(p)) {
		printf("note model/vtk/heart.vtu: not in this package (--formats without vtk); formats not compared\n");
		return;
	}
	if (ctw_vtk_read_vtu(ctx, p, &vtu)) {
		problem(v, "model/vtk/heart.vtu", "%s", ctw_errmsg(ctx));
		return;
	}
	const ctw_tetmesh *m = vtu.mesh;
	const int64_t np = m->n_points, ne = m->n_tets;
	int32_t *stris = NULL, *smark = NULL;
	int64_t nst = -1;
	snprintf(p, sizeof(p), "%s/model/vtk/surfaces.vtp", v->pkg);
	if (ctw_vtk_read_vtp_tris(ctx, p, "surface", np, &stris, &smark, &nst))
		problem(v, "model/vtk/surfaces.vtp", "%s", ctw_errmsg(ctx));
	ctw_free(ctx, stris);
	ctw_free(ctx, smark);
	int64_t bad_tags = 0;
	for (int64_t t = 0; t < ne; t++)
		bad_tags += m->region[t] != 1 && m->region[t] != 2;
	if (bad_tags)
		problem(v, "model/vtk/heart.vtu", "%lld tetrahedra with a region tag other than 1 (LV) or 2 (RV)",
			(long long)bad_tags);
	const ctw_field *f = ctw_mesh_in_field(&vtu, "fiber"), *s = ctw_mesh_in_field(&vtu, "sheet");
	if (f && s) {
		double worst = 0;
		for (int64_t t = 0; t < ne; t++) {
			const double *a = f->values + 3 * t, *b = s->values + 3 * t;
			worst = fmax(worst, fabs(sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]) - 1));
			worst = fmax(worst, fabs(sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]) - 1));
			worst = fmax(worst, fabs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2]));
		}
		if (!(worst < 1e-6))
			problem(v, "model/vtk/heart.vtu", "fibre frames are not orthonormal (defect %.3g)", worst);
		else
			printf("ok   model/vtk/heart.vtu: %lld points, %lld tetrahedra, unit fibres (defect %.2g)\n",
			       (long long)np, (long long)ne, worst);
	}
	/* the other formats hold the same counts */
	static const struct {
		const char *file;
		int what; /* 0 points, 1 elements, 2 elements + 1 lines, 3 element lines */
	} counts[] = { { "model/opencarp/heart.pts", 0 },  { "model/opencarp/heart.elem", 1 },
		       { "model/opencarp/heart.lon", 2 },  { "model/tetgen/heart.node", 0 },
		       { "model/tetgen/heart.ele", 1 },    { "model/tetgen/heart.ortho", 1 } };
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		snprintf(p, sizeof(p), "%s/%s", v->pkg, counts[k].file);
		if (!ctw_is_file(p))
			continue;
		int64_t n = counts[k].what == 2 ? count_lines(p) - 1 : first_int(p);
		int64_t want = counts[k].what == 0 ? np : ne;
		if (n != want)
			problem(v, counts[k].file, "holds %lld %s, heart.vtu %lld", (long long)n,
				counts[k].what == 0 ? "points" : "elements", (long long)want);
		else
			printf("ok   %s: %lld %s\n", counts[k].file, (long long)n, counts[k].what == 0 ? "points" : "elements");
	}
	snprintf(p, sizeof(p), "%s/model/gmsh/heart.msh", v->pkg);
	if (ctw_is_file(p)) {
		if (ctw_gmsh_read(ctx, p, &msh))
			problem(v, "model/gmsh/heart.msh", "%s", ctw_errmsg(ctx));
		else if (msh.mesh->n_tets != ne || msh.mesh->n_points != np || (nst >= 0 && msh.mesh->n_tris != nst))
			problem(v, "model/gmsh/heart.msh", "%lld points, %lld tetrahedra, %lld triangles; heart.vtu %lld, %lld, %lld",
				(long long)msh.mesh->n_points, (long long)msh.mesh->n_tets, (long long)msh.mesh->n_tris,
				(long long)np, (long long)ne, (long long)nst);
		else {
			int64_t diff = tet_multiset_diff(ctx, m, msh.mesh);
			if (diff)
				problem(v, "model/gmsh/heart.msh", "%lld tetrahedra differ from heart.vtu's (nodes or region)",
					(long long)diff);
			else
				printf("ok   model/gmsh/heart.msh: the same tetrahedra and region tags\n");
		}
	}
	ctw_mesh_in_release(ctx, &msh);
	ctw_mesh_in_release(ctx, &vtu);
}

const opt cli_verify_opts[] = { { NULL, NULL, NULL, NULL } };

int cli_cmd_verify(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	vstate v = { ctx, argv[0], 0 };
	char xml[8200];
	const char *xsd = ctw_prov_schema_path();

	(void)argc;
	(void)vals;
	if (access(argv[0], F_OK) != 0)
		return ctw_error(ctx, CTW_ERR_IO, argv[0], "no such package: the directory does not exist");
	if (!ctw_is_dir(argv[0]))
		return ctw_error(ctx, CTW_ERR_IO, argv[0], "is not a package directory");
	if (ctw_check_sha256sums(ctx, argv[0]))
		problem(&v, "SHA256SUMS", "%s", ctw_errmsg(ctx));
	else
		printf("ok   SHA256SUMS: every file present and unchanged\n");
	snprintf(xml, sizeof(xml), "%s/provenance.xml", argv[0]);
	if (!ctw_is_file(xml))
		problem(&v, "provenance.xml", "missing");
	else if (ctw_xml_validate(ctx, xml, xsd))
		problem(&v, "provenance.xml", "%s", ctw_errmsg(ctx));
	else {
		printf("ok   provenance.xml: valid W3C PROV-XML (%s)\n", xsd);
		verify_provenance(&v, xml);
	}
	verify_mesh(&v);
	if (v.problems)
		return ctw_error(ctx, CTW_ERR_FORMAT, argv[0], "%d problem(s) found", v.problems);
	printf("verify: %s is complete and consistent\n", argv[0]);
	return CTW_OK;
}

/* ---- run -------------------------------------------------------------------------------------------- */

#define CTW_AUTO_EDGE_MM "1.5" /* run --auto: the mesh's edge length unless one is given */

typedef struct run_spec {
	char id[80];
	char *phantom;                  /* lv | biv: the built-in phantom as input */
	char *image, *series, *stack, *phase, *labels, *preset, *map, *contours;
	char *automatic;                /* mr: segment the image with the shipped network */
	char *model;
	strv phantom_args, seg_args, mesh_args, fib_args;
	int phantom_line, seg_line, mesh_line, fib_line; /* of those elements in the case file */
	int image_line, labels_line, contours_line, auto_line;
	char *formats;
} run_spec;

static void spec_free(ctw_ctx *ctx, run_spec *s)
{
	char **p[] = { &s->phantom, &s->image, &s->series, &s->stack, &s->phase, &s->labels, &s->preset, &s->map, &s->contours,
		       &s->automatic, &s->model, &s->formats };
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		ctw_free(ctx, *p[i]);
	strv_free(ctx, &s->phantom_args);
	strv_free(ctx, &s->seg_args);
	strv_free(ctx, &s->mesh_args);
	strv_free(ctx, &s->fib_args);
}

static int set_str(ctw_ctx *ctx, char **dst, const char *v)
{
	ctw_free(ctx, *dst);
	*dst = v ? ctw_strdup(ctx, v) : NULL;
	return v && !*dst ? CTW_ERR_NOMEM : CTW_OK;
}

/* A path of the case file, relative to the case file's directory. */
static int case_path(ctw_ctx *ctx, const char *casefile, const char *v, char **dst)
{
	const char *slash = strrchr(casefile, '/');
	char buf[8200];
	if (v[0] == '/' || !slash)
		return set_str(ctx, dst, v);
	snprintf(buf, sizeof(buf), "%.*s/%s", (int)(slash - casefile), casefile, v);
	return set_str(ctx, dst, buf);
}

/* Every attribute of a stage element as a command-line option. */
static int attrs_to_args(ctw_ctx *ctx, xmlNodePtr n, strv *args, const char *skip)
{
	int ret = CTW_OK;
	for (xmlAttrPtr a = n->properties; a && !ret; a = a->next) {
		xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
		char name[128];
		if (skip && !strcmp((const char *)a->name, skip)) {
			xmlFree(v);
			continue;
		}
		snprintf(name, sizeof(name), "--%s", (const char *)a->name);
		if (!strcmp((const char *)v, "true") || !strcmp((const char *)v, "false") ||
		    (!strncmp(name, "--no-", 5) && (!strcmp((const char *)v, "1") || !strcmp((const char *)v, "0")))) {
			if (!strcmp((const char *)v, "true") || !strcmp((const char *)v, "1"))
				ret = strv_add(ctx, args, name);
		} else if (!(ret = strv_add(ctx, args, name))) {
			ret = strv_add(ctx, args, (const char *)v);
		}
		xmlFree(v);
	}
	return ret;
}

static char *attr(xmlNodePtr n, const char *name)
{
	return (char *)xmlGetProp(n, BAD_CAST name);
}

/* A case file has no DOCTYPE: no entity is declared, expanded or loaded (an external one would
 * read a file, XXE; a nested one would grow without bound). Parsed without substitution, DTD
 * loading or network; the line of the DOCTYPE or of the first undefined entity otherwise. */
static int case_no_dtd(ctw_ctx *ctx, const char *path)
{
	xmlDocPtr doc;
	int line = 0;

	xmlResetLastError();
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "not well-formed XML");
		msg[strcspn(msg, "\n")] = '\0';
		if (e && e->line > 0)
			return ctw_error(ctx, CTW_ERR_FORMAT, NULL, "%s:%d: %s", path, e->line, msg);
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "%s", msg);
	}
	if (doc->intSubset || doc->extSubset) {
		/* the DTD node has no line: the line of "<!DOCTYPE" in the text */
		FILE *f = fopen(path, "rb");
		char buf[4096];
		line = 1;
		while (f && fgets(buf, sizeof(buf), f) && !strstr(buf, "<!DOCTYPE"))
			line += strchr(buf, '\n') != NULL;
		if (f)
			fclose(f);
	}
	xmlFreeDoc(doc);
	if (line)
		return ctw_error(ctx, CTW_ERR_FORMAT, NULL, "%s:%d: a case file has no DOCTYPE (entities are not expanded); "
				 "write the values themselves", path, line);
	return CTW_OK;
}

/* Reads a case file validated against cases/case.xsd (the line and the problem otherwise). */
static int read_case(ctw_ctx *ctx, const char *path, run_spec *s)
{
	const char *xsd = getenv("CTW_CASE_XSD") ? getenv("CTW_CASE_XSD") : CTW_CASE_XSD;
	xmlDocPtr doc;
	int ret;

	if (!ctw_is_file(path))
		return ctw_error(ctx, CTW_ERR_IO, path, "no such case file");
	if ((ret = case_no_dtd(ctx, path)) || (ret = ctw_xml_validate(ctx, path, xsd)))
		return ret;
	if (!(doc = xmlReadFile(path, NULL, XML_PARSE_NONET)))
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "not well-formed XML");
	xmlNodePtr root = xmlDocGetRootElement(doc);
	char *id = attr(root, "id");
	snprintf(s->id, sizeof(s->id), "%s", id ? id : "case");
	xmlFree(id);
	for (xmlNodePtr n = root->children; n && !ret; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		const char *name = (const char *)n->name;
		if (!strcmp(name, "input")) {
			for (xmlNodePtr c = n->children; c && !ret; c = c->next) {
				char *a = NULL, *b = NULL, *d = NULL, *e = NULL;
				if (c->type != XML_ELEMENT_NODE)
					continue;
				if (!strcmp((const char *)c->name, "phantom")) {
					a = attr(c, "kind");
					s->phantom_line = (int)xmlGetLineNo(c);
					ret = set_str(ctx, &s->phantom, a);
					if (!ret)
						ret = attrs_to_args(ctx, c, &s->phantom_args, "kind");
				} else if (!strcmp((const char *)c->name, "image")) {
					a = attr(c, "path"), b = attr(c, "series"), d = attr(c, "phase"), e = attr(c, "stack");
					s->image_line = (int)xmlGetLineNo(c);
					if (!(ret = case_path(ctx, path, a, &s->image)) && !(ret = set_str(ctx, &s->series, b)) &&
					    !(ret = set_str(ctx, &s->stack, e)))
						ret = set_str(ctx, &s->phase, d);
				} else if (!strcmp((const char *)c->name, "labels")) {
					a = attr(c, "path"), b = attr(c, "preset"), d = attr(c, "map");
					s->labels_line = (int)xmlGetLineNo(c);
					if (!(ret = case_path(ctx, path, a, &s->labels)) && !(ret = set_str(ctx, &s->preset, b)))
						ret = set_str(ctx, &s->map, d);
				} else if (!strcmp((const char *)c->name, "contours")) {
					a = attr(c, "dir");
					s->contours_line = (int)xmlGetLineNo(c);
					ret = case_path(ctx, path, a, &s->contours);
				} else if (!strcmp((const char *)c->name, "auto")) {
					a = attr(c, "modality");
					s->auto_line = (int)xmlGetLineNo(c);
					ret = set_str(ctx, &s->automatic, a);
				}
				xmlFree(a);
				xmlFree(b);
				xmlFree(d);
				xmlFree(e);
			}
		} else if (!strcmp(name, "model")) {
			xmlChar *v = xmlNodeGetContent(n);
			ret = set_str(ctx, &s->model, (const char *)v);
			xmlFree(v);
		} else if (!strcmp(name, "segment")) {
			s->seg_line = (int)xmlGetLineNo(n);
			ret = attrs_to_args(ctx, n, &s->seg_args, NULL);
		} else if (!strcmp(name, "mesh")) {
			s->mesh_line = (int)xmlGetLineNo(n);
			ret = attrs_to_args(ctx, n, &s->mesh_args, NULL);
		} else if (!strcmp(name, "fibers")) {
			s->fib_line = (int)xmlGetLineNo(n);
			ret = attrs_to_args(ctx, n, &s->fib_args, NULL);
		} else if (!strcmp(name, "export")) {
			char *f = attr(n, "formats");
			ret = set_str(ctx, &s->formats, f);
			xmlFree(f);
		}
	}
	xmlFreeDoc(doc);
	return ret;
}

static const char *const stage_names[] = { "input", "segment", "mesh", "fibers", "export" };
enum { N_STAGES = 5 };

typedef struct run_state {
	const char *casefile; /* or NULL                          */
	char *work;           /* OUT/<id>.work                     */
	int from;             /* stages from this index are redone */
	stage_rec rec[N_STAGES];
	int done[N_STAGES];
} run_state;

static int stage_index(const char *name)
{
	for (int i = 0; i < N_STAGES; i++)
		if (!strcmp(name, stage_names[i]))
			return i;
	return -1;
}

/* Runs stage si as the subcommand cmd with args (inputs: label, path pairs hashed into the key),
 * or skips it when its record holds the same key and its output exists. */
static int run_stage(ctw_ctx *ctx, run_state *rs, int si, const char *cmd, strv *args, const char *const *in, int n_in,
		     const char *output, const char *out_label)
{
	const command *c = cli_find(cmd);
	stage_rec *r = &rs->rec[si];
	char recpath[8200], hex[65], *argv[64];
	const char *vals[MAX_OPTS] = { NULL };
	ctw_sha256 h;
	unsigned char dg[32];
	stage_rec old;
	int ret, npos;

	memset(r, 0, sizeof(*r));
	memset(&old, 0, sizeof(old));
	snprintf(r->name, sizeof(r->name), "%s", stage_names[si]);
	snprintf(recpath, sizeof(recpath), "%s/%s.record", rs->work, stage_names[si]);
	ctw_sha256_init(&h);
	ctw_sha256_update(&h, "cardiotwin " CTW_VERSION "\n", strlen("cardiotwin " CTW_VERSION "\n"));
	ctw_sha256_update(&h, cmd, strlen(cmd) + 1);
	for (int i = 0; i < args->n; i++)
		ctw_sha256_update(&h, args->v[i], strlen(args->v[i]) + 1);
	for (int i = 0; i < n_in; i++) {
		char buf[4200];
		if ((ret = hash_path(ctx, in[2 * i + 1], hex)))
			return ret;
		ctw_sha256_update(&h, hex, 64);
		snprintf(buf, sizeof(buf), "%s\t%s", in[2 * i], hex);
		if ((ret = strv_add(ctx, &r->inputs, buf)))
			return ret;
	}
	ctw_sha256_final(&h, dg);
	ctw_hex(dg, 32, r->key);
	if (si < rs->from && !rec_read(ctx, recpath, &old) && !strcmp(old.key, r->key) && access(output, F_OK) == 0) {
		rec_free(ctx, r);
		*r = old;
		snprintf(r->name, sizeof(r->name), "%s", stage_names[si]);
		printf("run: %s: inputs and parameters unchanged, skipped\n", stage_names[si]);
		for (int i = 0; i < r->warnings.n; i++) /* into this run's report and --strict */
			ctw_log(ctx, CTW_LOG_WARN, NULL, "%s", r->warnings.v[i]);
		return CTW_OK;
	}
	rec_free(ctx, &old);
	if (args->n > 62)
		return ctw_error(ctx, CTW_ERR_INVALID, stage_names[si], "too many options");
	for (int i = 0; i < args->n; i++)
		argv[i] = args->v[i];
	npos = cli_parse_opts(c, args->n, argv, vals);
	if (npos < 0)
		return ctw_error(ctx, rs->casefile ? CTW_ERR_FORMAT : CTW_ERR_INVALID, rs->casefile ? rs->casefile : "run",
				 "bad options for the %s stage (see above)", stage_names[si]);
	printf("run: %s\n", stage_names[si]);
	fflush(stdout);
	cli_stage = stage_names[si];
	r->t0 = now_epoch();
	ctw_vtk_set_compression(0); /* work files: written once, read once; the package's are compressed */
	const int nw0 = ctw_ctx_n_warnings(ctx);
	ret = c->run(ctx, npos, argv, vals);
	ctw_vtk_set_compression(1);
	if (ret)
		return ret;
	for (int i = nw0; i < ctw_ctx_n_warnings(ctx) && ctw_ctx_warning(ctx, i); i++) {
		char w[CTW_WARNING_LEN];
		snprintf(w, sizeof(w), "%s", ctw_ctx_warning(ctx, i));
		for (char *p = w; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		if ((ret = strv_add(ctx, &r->warnings, w)))
			return ret;
	}
	r->t1 = now_epoch();
	if ((ret = rec_params(ctx, r, c, vals)) || (ret = add_hashed(ctx, &r->outputs, out_label, output)))
		return ret;
	if (cli_phase_rule[0]) { /* the phase `ed` chose and the rule that chose it */
		char buf[256];
		snprintf(buf, sizeof(buf), "phase_chosen=%s", cli_phase_rule);
		cli_phase_rule[0] = '\0';
		if ((ret = strv_add(ctx, &r->params, buf)))
			return ret;
	}
	if (cli_auto_weights[0]) { /* segment --auto: the weights that made the labels */
		char buf[128];
		snprintf(buf, sizeof(buf), "auto_weights_sha256=%s", cli_auto_weights);
		cli_auto_weights[0] = '\0';
		if ((ret = strv_add(ctx, &r->params, buf)))
			return ret;
	}
	if (cli_auto_confidence[0]) { /* segment --auto: each labelled slice's confidence */
		char buf[1100];
		snprintf(buf, sizeof(buf), "auto_slice_confidence=%s", cli_auto_confidence);
		cli_auto_confidence[0] = '\0';
		if ((ret = strv_add(ctx, &r->params, buf)))
			return ret;
	}
	rs->done[si] = 1;
	return rec_write(ctx, r, recpath);
}

/* The digest of the output a stage wrote in this run, or NULL. */
static const char *output_hash(const run_state *rs, int si)
{
	const strv *o = &rs->rec[si].outputs;
	const char *tab = rs->done[si] && o->n == 1 ? strchr(o->v[0], '\t') : NULL;
	return tab && strlen(tab + 1) == 64 ? tab + 1 : NULL;
}

/* An input path of the run: what must be there (file: a regular file; dir: a directory) before
 * any stage runs; a device, FIFO or missing path from the case file is the case file's fault
 * (exit 2 with its line), from the command line exit 2 naming the path. */
static int check_input(ctw_ctx *ctx, const char *casefile, int line, const char *what, const char *path, int file, int dir)
{
	struct stat st;
	const char *problem = NULL;

	if (!path)
		return CTW_OK;
	if (stat(path, &st) != 0)
		problem = "does not exist";
	else if (!(file && S_ISREG(st.st_mode)) && !(dir && S_ISDIR(st.st_mode)))
		problem = file && dir ? "is neither a regular file nor a directory"
			  : file      ? "is not a regular file"
				      : "is not a directory";
	if (!problem)
		return CTW_OK;
	if (casefile && line > 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, NULL, "%s:%d: %s '%s' %s", casefile, line, what, path, problem);
	return ctw_error(ctx, CTW_ERR_IO, path, "%s %s", what, problem);
}

/* One stage of a run, planned before any runs. */
typedef struct stage_plan {
	const char *cmd;          /* the subcommand, NULL: no such stage in this run       */
	strv args;                /* the run's own options (inputs, output, model)          */
	const char *in[4];        /* label, path pairs hashed into the stage's key          */
	int n_in;
	const char *output, *label;
	const strv *case_args;    /* the case file's attributes as options, or NULL         */
	int case_line;            /* of the stage's element in the case file                */
} stage_plan;

static int strv_cat(ctw_ctx *ctx, strv *dst, const strv *src)
{
	int ret = CTW_OK;
	for (int i = 0; src && i < src->n && !ret; i++)
		ret = strv_add(ctx, dst, src->v[i]);
	return ret;
}

/* The stage's command in check-only mode on base + extra[from, to) + more (NULL: none). */
static int check_args(ctw_ctx *ctx, const stage_plan *p, const strv *extra, int from, int to, const strv *more)
{
	const command *c = cli_find(p->cmd);
	const char *vals[MAX_OPTS] = { NULL };
	char *argv[128];
	int n = 0, npos, ret;

	if (p->args.n + (to - from) + (more ? more->n : 0) > 128)
		return ctw_error(ctx, CTW_ERR_INVALID, p->cmd, "too many options");
	for (int i = 0; i < p->args.n; i++)
		argv[n++] = p->args.v[i];
	for (int i = from; i < to; i++)
		argv[n++] = extra->v[i];
	for (int i = 0; more && i < more->n; i++)
		argv[n++] = more->v[i];
	if ((npos = cli_parse_opts(c, n, argv, vals)) < 0)
		return ctw_error(ctx, CTW_ERR_INVALID, p->cmd, "bad options for the %s stage (see above)", p->cmd);
	cli_check_only = 1;
	ret = c->run(ctx, npos, argv, vals);
	cli_check_only = 0;
	return ret;
}

/* Checks a stage's options without running it: each case-file attribute alone (a bad one is the
 * case file's fault: exit 2 with its line), the command line's, then all together. */
static int check_plan(ctw_ctx *ctx, const run_state *rs, const stage_plan *p, const strv *cl)
{
	const strv *ca = p->case_args;
	int ret;

	for (int i = 0, j; ca && i < ca->n; i = j) {
		j = i + 1;
		if (j < ca->n && strncmp(ca->v[j], "--", 2))
			j++; /* the attribute's value */
		int overridden = 0; /* by the command line: the case file's value is not used */
		for (int k = 0; k < cl->n; k++)
			overridden |= !strcmp(cl->v[k], ca->v[i]);
		if (!overridden && (ret = check_args(ctx, p, ca, i, j, NULL))) {
			char msg[1024];
			snprintf(msg, sizeof(msg), "%s", ctw_errmsg(ctx));
			return ctw_error(ctx, CTW_ERR_FORMAT, NULL, "%s:%d: %s", rs->casefile ? rs->casefile : "case file",
					 p->case_line, msg);
		}
	}
	if ((ret = check_args(ctx, p, cl, 0, cl->n, NULL)))
		return ret;
	return check_args(ctx, p, ca ? ca : cl, 0, ca ? ca->n : 0, cl);
}

/* Options of the stages that run takes on its own command line (as a case file does): the
 * stage each goes to. */
static const struct {
	const char *name;
	int stage;
} stage_opt[] = { { "--spacing", 0 },	    { "--noise", 0 },	      { "--seed", 0 },	       { "--iso", 1 },
		  { "--sigma", 1 },	    { "--rv-wall", 1 },	      { "--min-wall", 1 },     { "--pad", 1 },
		  { "--no-components", 1 }, { "--no-fill-holes", 1 }, { "--no-separate", 1 },  { "--no-base-plane", 1 },
		  { "--edge-length", 2 },   { "--smooth", 2 },	      { "--radius-edge", 2 },  { "--min-dihedral", 2 },
		  { "--timeout", 2 },	    { "--mode", 3 },	      { "--alpha-endo", 3 },   { "--alpha-epi", 3 },
		  { "--beta-endo", 3 },	    { "--beta-epi", 3 },      { "--rv-angles", 3 },    { "--septum-angles", 3 },
		  { "--tolerance", 3 },	    { "--precond", 3 },	      { "--threads", 3 },      { "--apex", 3 } };

const opt cli_run_opts[] = {
	{ "--image", "PATH", NULL, "the image: a DICOM directory or an image file" },
	{ "--labels", "PATH", NULL, "a label map (made on --image, when given)" },
	{ "--preset", "NAME", "auto", "the label map's vocabulary (see 'cardiotwin segment --help')" },
	{ "--contours", "DIR", NULL, "Sunnybrook expert contours of the image instead of a label map" },
	{ "--phase", "N|ed|es", "ed", "the phase of a --image that is a DICOM cine (ed: with --contours or\n"
	  "                           --auto the largest LV blood volume, with --labels the earliest trigger\n"
	  "                           time; es, with --auto: the smallest), or a 4-D NIfTI (a volume number)" },
	{ "--phantom", "lv|biv", NULL, "the built-in phantom as input instead of an image" },
	{ "--model", "lv|biv", "the phantom's kind, else lv", "the ventricular model" },
	{ "--case-id", "ID", "the case file's id, else 'case'", "the case's pseudonym (never a patient name)" },
	{ "--edge-length", "MM", "1", "mesh edge length (overrides the case file)" },
	{ "--formats", "LIST", "all", "export formats (overrides the case file)" },
	{ "--from", "STAGE", NULL, "redo from this stage: input, segment, mesh, fibers, export" },
	{ "-o|--output", "OUT", NULL, "output directory: OUT/<case-id>/ is the package (required)" },
	{ "--series", "S", NULL, "DICOM series, when the image directory holds several" },
	{ "--stack", "auto|N", NULL, "DICOM stack of parallel series (one series per slice) as `info` lists them;\n"
	  "                           auto: the most slice positions (the short axis)" },
	{ "--auto", "mr", NULL, "segment --image (a cine MR short-axis stack) automatically instead of\n"
	  "                           --labels or --contours" },
	/* the stages' own options (see stage_opt): 'cardiotwin <stage> --help' describes them */
	{ "--spacing", "MM", NULL, "phantom: voxel size" },
	{ "--noise", "SD", NULL, "phantom: noise in HU" },
	{ "--seed", "N", NULL, "phantom: seed of the noise" },
	{ "--iso", "MM|auto", NULL, "segment: isotropic resampling" },
	{ "--sigma", "MM", NULL, "segment: Gaussian of the resampling" },
	{ "--rv-wall", "MM", NULL, "segment: RV wall added when not segmented" },
	{ "--min-wall", "MM", NULL, "segment: myocardium closing an open blood pool" },
	{ "--pad", "N", NULL, "segment: voxels of background around the map" },
	{ "--no-components", NULL, NULL, "segment: keep islands" },
	{ "--no-fill-holes", NULL, NULL, "segment: keep holes" },
	{ "--no-separate", NULL, NULL, "segment: no wall between touching blood pools" },
	{ "--no-base-plane", NULL, NULL, "segment: no base plane and no cut" },
	{ "--smooth", "N", NULL, "mesh: smoothing iterations" },
	{ "--radius-edge", "R", NULL, "mesh: TetGen's largest radius-edge ratio" },
	{ "--min-dihedral", "DEG", NULL, "mesh: TetGen's smallest dihedral angle" },
	{ "--timeout", "S", NULL, "mesh: TetGen's time limit (the global --timeout bounds every stage)" },
	{ "--mode", "linear|bayer", NULL, "fibers: LDRB rule" },
	{ "--alpha-endo", "DEG", NULL, "fibers: helix angle at the endocardium" },
	{ "--alpha-epi", "DEG", NULL, "fibers: helix angle at the epicardium" },
	{ "--beta-endo", "DEG", NULL, "fibers: sheet angle at the endocardium" },
	{ "--beta-epi", "DEG", NULL, "fibers: sheet angle at the epicardium" },
	{ "--rv-angles", "AE,AP,BE,BP", NULL, "fibers: RV free-wall angles" },
	{ "--septum-angles", "AE,AP,BE,BP", NULL, "fibers: septum angles" },
	{ "--tolerance", "RTOL", NULL, "fibers: CG relative residual" },
	{ "--precond", "auto|jacobi|ssor|amg", NULL, "fibers: CG preconditioner" },
	{ "--threads", "N", NULL, "fibers: threads" },
	{ "--apex", "NODE", NULL, "fibers: apex node" },
	{ NULL, NULL, NULL, NULL }
};

static int add2(ctw_ctx *ctx, strv *s, const char *a, const char *b)
{
	int ret = strv_add(ctx, s, a);
	return ret ? ret : strv_add(ctx, s, b);
}

int cli_cmd_run(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	run_spec sp;
	run_state rs;
	strv a = { 0 };
	char *pkg = NULL, *inp = NULL, *labels = NULL, *meshd = NULL, *fibd = NULL, *raw = NULL, *ph_image = NULL;
	const char *out = vals[11];
	unsigned formats = CTW_FMT_ALL;
	stage_plan plan[4];
	strv cl_args[4] = { { 0 } };
	int ret, ph = 0, image_phase = 0; /* image_phase: --phase N of an image file (a 4-D NIfTI) */

	memset(plan, 0, sizeof(plan));
	memset(&sp, 0, sizeof(sp));
	memset(&rs, 0, sizeof(rs));
	rs.from = N_STAGES;
	if (!out)
		return ctw_error(ctx, CTW_ERR_INVALID, "run", "-o OUT is required");
	if (argc > 0) {
		rs.casefile = argv[0];
		if ((ret = read_case(ctx, argv[0], &sp)))
			goto out;
	}
	/* the command line adds to and overrides the case file */
	if ((vals[0] && (ret = set_str(ctx, &sp.image, vals[0]))) || (vals[1] && (ret = set_str(ctx, &sp.labels, vals[1]))) ||
	    (vals[2] && (ret = set_str(ctx, &sp.preset, vals[2]))) || (vals[3] && (ret = set_str(ctx, &sp.contours, vals[3]))) ||
	    (vals[4] && (ret = set_str(ctx, &sp.phase, vals[4]))) || (vals[5] && (ret = set_str(ctx, &sp.phantom, vals[5]))) ||
	    (vals[6] && (ret = set_str(ctx, &sp.model, vals[6]))) || (vals[9] && (ret = set_str(ctx, &sp.formats, vals[9]))))
		goto out;
	if (vals[14] && (ret = set_str(ctx, &sp.automatic, vals[14])))
		goto out;
	if (vals[7])
		snprintf(sp.id, sizeof(sp.id), "%s", vals[7]);
	if (!sp.id[0])
		snprintf(sp.id, sizeof(sp.id), "case");
	for (const char *p = sp.id; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		      *p == '.') || !((sp.id[0] >= 'A' && sp.id[0] <= 'Z') || (sp.id[0] >= 'a' && sp.id[0] <= 'z'))) {
			ret = ctw_error(ctx, CTW_ERR_INVALID, "run", "a case id is a letter, then letters, digits, - _ . (not '%s')", sp.id);
			goto out;
		}
	if (!sp.model && (ret = set_str(ctx, &sp.model, sp.phantom ? sp.phantom : "lv")))
		goto out;
	if (strcmp(sp.model, "lv") && strcmp(sp.model, "biv")) {
		ret = ctw_error(ctx, CTW_ERR_INVALID, "run", "--model must be lv or biv");
		goto out;
	}
	/* one input: the phantom, a label map (with its image or not), or an image with contours */
	{
		const char *conflict = sp.phantom && sp.image      ? "--phantom and --image are two inputs; give one"
				       : sp.phantom && sp.labels   ? "--phantom and --labels are two inputs; give one"
				       : sp.phantom && sp.contours ? "--phantom and --contours are two inputs; give one"
				       : sp.phantom && sp.automatic ? "--phantom has its labels; --auto segments an --image"
				       : sp.labels && sp.contours  ? "--labels and --contours both give the labels of the image; give one"
				       : sp.automatic && (sp.labels || sp.contours)
					       ? "--auto makes the labels of the image; give it or --labels or --contours, not both"
				       : sp.contours && !sp.image  ? "--contours needs --image DICOM (the images the contours were drawn on)"
				       : sp.automatic && !sp.image  ? "--auto mr needs --image STUDY (a cine MR short-axis stack)"
				       : !sp.phantom && !sp.labels && !sp.contours && !sp.automatic
					       ? (sp.image ? "--image needs its labels: --auto mr, --labels PATH or --contours DIR"
							   : "give a case file, or --phantom KIND, or --labels PATH [--image PATH], or "
							     "--image DICOM --contours DIR, or --image STUDY --auto mr")
					       : NULL;
		if (conflict) {
			ret = rs.casefile ? ctw_error(ctx, CTW_ERR_FORMAT, rs.casefile, "%s (in the case file or on the command line)", conflict)
					  : ctw_error(ctx, CTW_ERR_INVALID, "run", "%s", conflict);
			goto out;
		}
	}
	if (sp.automatic && strcmp(sp.automatic, "mr")) {
		ret = rs.casefile && !vals[14]
			      ? ctw_error(ctx, CTW_ERR_FORMAT, rs.casefile, "line %d: auto modality '%s': only mr is known", sp.auto_line,
					  sp.automatic)
			      : ctw_error(ctx, CTW_ERR_INVALID, "run", "--auto must be mr (a cine MR short-axis stack), not '%s'",
					  sp.automatic);
		goto out;
	}
	if (vals[12] && (ret = set_str(ctx, &sp.series, vals[12])))
		goto out;
	if (vals[13] && (ret = set_str(ctx, &sp.stack, vals[13])))
		goto out;
	/* one of them on the command line wins over the other from the case file */
	if (vals[12] && !vals[13] && (ret = set_str(ctx, &sp.stack, NULL)))
		goto out;
	if (vals[13] && !vals[12] && (ret = set_str(ctx, &sp.series, NULL)))
		goto out;
	/* the stages' options given to run: after the case file's, so they win */
	for (int k = 8; cli_run_opts[k].name; k++) {
		int st = -1;
		for (size_t m = 0; m < sizeof(stage_opt) / sizeof(stage_opt[0]); m++)
			if (!strcmp(stage_opt[m].name, cli_run_opts[k].name))
				st = stage_opt[m].stage;
		if (st < 0 || !vals[k])
			continue;
		if (st == 0 && !sp.phantom) {
			ret = ctw_error(ctx, CTW_ERR_INVALID, "run", "%s is an option of the phantom (--phantom KIND)",
					cli_run_opts[k].name);
			goto out;
		}
		if ((ret = cli_run_opts[k].value ? add2(ctx, &cl_args[st], cli_run_opts[k].name, vals[k])
						 : strv_add(ctx, &cl_args[st], cli_run_opts[k].name)))
			goto out;
	}
	if (sp.formats && (ret = ctw_formats_parse(ctx, sp.formats, &formats)))
		goto out;
	if ((ret = check_input(ctx, rs.casefile, vals[0] ? 0 : sp.image_line, "image", sp.image, 1, 1)) ||
	    (ret = check_input(ctx, rs.casefile, vals[1] ? 0 : sp.labels_line, "label map", sp.labels, 1, 0)) ||
	    (ret = check_input(ctx, rs.casefile, vals[3] ? 0 : sp.contours_line, "contour directory", sp.contours, 0, 1)))
		goto out;
	/* --phase and --series pick the stack of a DICOM image, whichever stage reads it (contours,
	 * or segment with a label map) */
	if ((sp.phase || sp.series || sp.stack) && !sp.image) {
		ret = ctw_error(ctx, CTW_ERR_INVALID, "run", "%s selects from a DICOM%s --image; %s",
				sp.phase ? "--phase" : sp.series ? "--series" : "--stack", sp.phase ? " or 4-D NIfTI" : "",
				sp.phantom ? "a phantom has one phase and one series" : "give --image");
		goto out;
	}
	if (sp.stack) {
		int sk;
		if ((ret = cli_parse_stack(ctx, "run", sp.stack, &sk))) {
			if (rs.casefile && !vals[13]) /* the case file's stack: exit 2 naming it */
				ret = ctw_error(ctx, CTW_ERR_FORMAT, rs.casefile, "line %d: stack '%s' is not a stack number (1, 2, ...) or auto",
						sp.image_line, sp.stack);
			goto out;
		}
		if (sp.series) {
			ret = rs.casefile && !vals[12]
				      ? ctw_error(ctx, CTW_ERR_FORMAT, rs.casefile, "line %d: series and stack both given; give one",
						  sp.image_line)
				      : ctw_error(ctx, CTW_ERR_INVALID, "run", "give --series or --stack, not both");
			goto out;
		}
	}
	if (sp.phase && !(sp.automatic && (!strcmp(sp.phase, "es") || !strcmp(sp.phase, "ed")))) {
		if ((ret = cli_parse_phase(ctx, "run", sp.phase, &ph))) {
			if (rs.casefile && !vals[4]) /* the case file's phase: exit 2 naming it */
				ret = ctw_error(ctx, CTW_ERR_FORMAT, rs.casefile, "line %d: phase '%s' is not a phase number (1, 2, ...) or ed",
						sp.image_line, sp.phase);
			goto out;
		}
	}
	if ((sp.series || sp.stack) && !ctw_is_dir(sp.image) && !ctw_is_dicom_file(sp.image)) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, sp.image, "%s applies to DICOM input only, and this is an image file; leave it out",
				sp.series ? "--series" : "--stack");
		goto out;
	}
	if (sp.phase && ph && !ctw_is_dir(sp.image) && !ctw_is_dicom_file(sp.image)) {
		/* a volume of a 4-D NIfTI: checked now, before anything is written */
		ctw_read_opts ro = CTW_READ_OPTS_INIT;
		ctw_image_info info;
		ro.phase = ph;
		if ((ret = ctw_image_read_info(ctx, sp.image, &ro, &info)))
			goto out;
		image_phase = ph;
	}
	if (vals[10] && (rs.from = stage_index(vals[10])) < 0) {
		ret = ctw_error(ctx, CTW_ERR_INVALID, "run", "--from takes input, segment, mesh, fibers or export, not '%s'", vals[10]);
		goto out;
	}
	if (ctw_is_file(out)) {
		ret = ctw_error(ctx, CTW_ERR_IO, out, "exists and is not a directory");
		goto out;
	}
	if ((ret = ctw_path_join(ctx, out, sp.id, &pkg)))
		goto out;
	{
		char buf[8200];
		snprintf(buf, sizeof(buf), "%s/%s.work", out, sp.id);
		if (!(rs.work = ctw_strdup(ctx, buf))) {
			ret = CTW_ERR_NOMEM;
			goto out;
		}
	}
	if ((ret = ctw_path_join(ctx, rs.work, "input", &inp)) || (ret = ctw_path_join(ctx, rs.work, "labels.nii.gz", &labels)) ||
	    (ret = ctw_path_join(ctx, rs.work, "mesh", &meshd)) || (ret = ctw_path_join(ctx, rs.work, "fibers", &fibd)))
		goto out;

	/* the plan: each stage's command and its options (the run's own, then the case file's, then
	 * the command line's, which win) */
	const char *seg_labels = sp.labels, *seg_image = sp.image, *seg_preset = sp.preset;
	memset(plan, 0, sizeof(plan));
	if (sp.phantom) {
		if ((ret = ctw_path_join(ctx, inp, "labels.nii.gz", &raw)) || (ret = ctw_path_join(ctx, inp, "image.nii.gz", &ph_image)))
			goto out;
		plan[0] = (stage_plan){ "phantom", { 0 }, { NULL }, 0, inp, "work/input", &sp.phantom_args, sp.phantom_line };
		if ((ret = add2(ctx, &plan[0].args, "--kind", sp.phantom)) || (ret = add2(ctx, &plan[0].args, "-o", inp)))
			goto out;
		seg_labels = raw, seg_image = ph_image, seg_preset = "canonical";
	} else if (sp.contours) {
		if ((ret = ctw_path_join(ctx, inp, "labels.nii.gz", &raw)))
			goto out;
		plan[0] = (stage_plan){ "contours", { 0 }, { "input image", sp.image, "input contours", sp.contours }, 2, raw,
					"work/input/labels.nii.gz", NULL, 0 };
		if ((ret = add2(ctx, &plan[0].args, "--dicom", sp.image)) || (ret = add2(ctx, &plan[0].args, "--contours", sp.contours)) ||
		    (ret = add2(ctx, &plan[0].args, "--phase", sp.phase ? sp.phase : "ed")) || (ret = add2(ctx, &plan[0].args, "-o", raw)) ||
		    (sp.series && (ret = add2(ctx, &plan[0].args, "--series", sp.series))) ||
		    (sp.stack && (ret = add2(ctx, &plan[0].args, "--stack", sp.stack))))
			goto out;
		seg_labels = raw, seg_image = NULL, seg_preset = "canonical"; /* on the phase's grid already */
	}
	const int seg_dicom = seg_image && !sp.phantom && (ctw_is_dir(seg_image) || ctw_is_dicom_file(seg_image));
	if (sp.automatic) {
		plan[1] = (stage_plan){ "segment", { 0 }, { "input image", sp.image }, 1, labels, "work/labels.nii.gz",
					&sp.seg_args, sp.seg_line };
		if ((ret = add2(ctx, &plan[1].args, "--image", sp.image)) || (ret = add2(ctx, &plan[1].args, "--auto", "mr")) ||
		    (sp.phase && (ret = add2(ctx, &plan[1].args, "--phase", sp.phase))) ||
		    (sp.series && (ret = add2(ctx, &plan[1].args, "--series", sp.series))) ||
		    (sp.stack && (ret = add2(ctx, &plan[1].args, "--stack", sp.stack))) ||
		    (ret = add2(ctx, &plan[1].args, "--model", sp.model)) || (ret = add2(ctx, &plan[1].args, "-o", labels)))
			goto out;
	} else {
		plan[1] = (stage_plan){ "segment", { 0 },
					{ sp.phantom || sp.contours ? "work/input/labels.nii.gz" : "input labels", seg_labels,
					  sp.phantom ? "work/input/image.nii.gz" : "input image", seg_image },
					seg_image ? 2 : 1, labels, "work/labels.nii.gz", &sp.seg_args, sp.seg_line };
		if ((ret = add2(ctx, &plan[1].args, "--labels", seg_labels)) || (seg_image && (ret = add2(ctx, &plan[1].args, "--image", seg_image))) ||
		    (seg_dicom && (ret = add2(ctx, &plan[1].args, "--phase", sp.phase ? sp.phase : "ed"))) ||
		    (image_phase && (ret = add2(ctx, &plan[1].args, "--phase", sp.phase))) ||
		    (seg_dicom && sp.series && (ret = add2(ctx, &plan[1].args, "--series", sp.series))) ||
		    (seg_dicom && sp.stack && (ret = add2(ctx, &plan[1].args, "--stack", sp.stack))) ||
		    (ret = add2(ctx, &plan[1].args, sp.map ? "--map" : "--preset", sp.map ? sp.map : seg_preset ? seg_preset : "auto")) ||
		    (ret = add2(ctx, &plan[1].args, "--model", sp.model)) || (ret = add2(ctx, &plan[1].args, "-o", labels)))
			goto out;
	}
	plan[2] = (stage_plan){ "mesh", { 0 }, { "work/labels.nii.gz", labels }, 1, meshd, "work/mesh", &sp.mesh_args, sp.mesh_line };
	if ((ret = add2(ctx, &plan[2].args, "--labels", labels)) || (ret = add2(ctx, &plan[2].args, "--model", sp.model)) ||
	    (ret = add2(ctx, &plan[2].args, "-o", meshd)))
		goto out;
	/* a model segmented automatically from cine MR (1.2-1.9 mm pixels, 5-10 mm slices) holds no
	 * detail a 1 mm mesh would keep: its edge length is 1.5 mm unless the case file or the
	 * command line sets one (both come after this, so they win) */
	if (sp.automatic && (ret = add2(ctx, &plan[2].args, "--edge-length", CTW_AUTO_EDGE_MM)))
		goto out;
	plan[3] = (stage_plan){ "fibers", { 0 }, { "work/mesh", meshd }, 1, fibd, "work/fibers", &sp.fib_args, sp.fib_line };
	if ((ret = add2(ctx, &plan[3].args, "--mesh", meshd)) || (ret = add2(ctx, &plan[3].args, "--model", sp.model)) ||
	    (ret = add2(ctx, &plan[3].args, "-o", fibd)))
		goto out;
	/* every option checked before the first stage runs: the case file's (exit 2 with its line),
	 * then the command line's (exit 1) */
	for (int si = 0; si < 4 && !ret; si++)
		if (plan[si].cmd)
			ret = check_plan(ctx, &rs, &plan[si], &cl_args[si]);
	if (ret)
		goto out;

	if ((ret = ctw_mkdir_p(ctx, out)) || (ret = ctw_mkdir_p(ctx, rs.work)) || (sp.contours && (ret = ctw_mkdir_p(ctx, inp))))
		goto out;
	for (int si = 0; si < 4; si++) {
		if (!plan[si].cmd)
			continue;
		if ((plan[si].case_args && (ret = strv_cat(ctx, &plan[si].args, plan[si].case_args))) ||
		    (ret = strv_cat(ctx, &plan[si].args, &cl_args[si])) ||
		    (ret = run_stage(ctx, &rs, si, plan[si].cmd, &plan[si].args, plan[si].in, plan[si].n_in, plan[si].output,
				     plan[si].label)))
			goto out;
	}
	/* export: always, unless the package exists and nothing before it changed; the leftover of
	 * a killed (forced re-)export goes either way, also when the export is skipped */
	ctw_clean_stale_tmp(ctx, pkg);
	{
		int any = 0;
		for (int i = 0; i < 4; i++)
			any |= rs.done[i];
		if (!any && rs.from > 4 && ctw_is_dir(pkg) && ctw_check_sha256sums(ctx, pkg) == CTW_OK) {
			printf("run: export: package unchanged, skipped\n");
		} else {
			stage_rec prior[4];
			int np = 0;
			for (int i = 0; i < 4; i++)
				if (rs.rec[i].key[0])
					prior[np++] = rs.rec[i];
			if (ctw_ctx_strict(ctx) && ctw_ctx_n_warnings(ctx) > 0) { /* no package from a doubtful model */
				ret = ctw_error(ctx, CTW_ERR_FORMAT, sp.contours ? sp.contours : sp.labels ? sp.labels : sp.image ? sp.image : "run",
						"%d warning%s under --strict (%s); no package written", ctw_ctx_n_warnings(ctx),
						ctw_ctx_n_warnings(ctx) == 1 ? "" : "s", ctw_ctx_warning(ctx, 0));
				goto out;
			}
			printf("run: export\n");
			fflush(stdout);
			/* the digests of what the fibres and segment stages wrote in this run (not of skipped
			 * stages: their files may have been touched since) */
			/* the input image under the labels of qa/labels.png: the phantom's, or the image given
			 * with a label map (not with contours: those come from a DICOM series) */
			const char *qimg = seg_image && ctw_is_file(seg_image) ? seg_image : NULL;
			if (sp.automatic && ctw_is_file(sp.image) && !ctw_is_dicom_file(sp.image)) {
				/* the segmented image: a 3-D file, or the 4-D one's volume given by number (the
				 * phase ed or es chose is not known here when the segment stage was skipped) */
				ctw_read_opts ro = CTW_READ_OPTS_INIT;
				ctw_image_info ii;
				ro.phase = image_phase;
				qimg = ctw_image_read_info(ctx, sp.image, &ro, &ii) == CTW_OK ? sp.image : NULL;
				ctw_clear_error(ctx);
			}
			export_job j = { fibd, labels, pkg, sp.id, formats, prior, np, &rs.rec[4], cli_argc, cli_argv,
					 output_hash(&rs, 3), output_hash(&rs, 1), qimg,
					 sp.phantom ? "work/input/image.nii.gz" : NULL, image_phase };
			if ((ret = export_package(ctx, &j)))
				goto out;
		}
	}
	printf("run: package %s\n", pkg);
out:
	strv_free(ctx, &a);
	for (int i = 0; i < 4; i++) {
		strv_free(ctx, &plan[i].args);
		strv_free(ctx, &cl_args[i]);
	}
	for (int i = 0; i < N_STAGES; i++)
		rec_free(ctx, &rs.rec[i]);
	spec_free(ctx, &sp);
	ctw_free(ctx, rs.work);
	ctw_free(ctx, pkg);
	ctw_free(ctx, inp);
	ctw_free(ctx, labels);
	ctw_free(ctx, meshd);
	ctw_free(ctx, fibd);
	ctw_free(ctx, raw);
	ctw_free(ctx, ph_image);
	return ret;
}
