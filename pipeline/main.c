/* main.c: the cardiotwin command line. Dispatches subcommands through a table (git's
 * commands[]), parses `--long-name VALUE` options from per-command tables that also drive
 * --help, installs the stderr logger and progress display, and maps statuses to exit codes
 * (DESIGN.md §4: 0 ok, 1 usage, 2 bad input, 3 processing failed, 4 internal error). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctw.h"
#include "export.h"
#include "fs.h"
#include "image.h"
#include "mesh.h"
#include "phantom.h"

#define MAX_OPTS 16

typedef struct opt {
	const char *name;  /* "--spacing"; a leading "-x|" gives a short alias: "-o|--output" */
	const char *value; /* metavariable, NULL for a flag                                   */
	const char *def;   /* default shown in --help, NULL when none or required            */
	const char *doc;
} opt;

typedef struct command {
	const char *name, *args, *summary;
	const opt *opts;
	int (*run)(ctw_ctx *ctx, int argc, char **argv, const char **vals);
	int min_pos, max_pos; /* positional arguments accepted */
} command;

static int verbosity = 1; /* 0 quiet, 1 normal, 2 verbose, 3 debug */

/* ---- logging and progress ----------------------------------------------------------------- */

static void log_stderr(void *ud, ctw_log_level lvl, const char *domain, const char *msg)
{
	static const char *const level[] = { "error", "warning", "info", "debug" };
	(void)ud;
	if (lvl <= CTW_LOG_WARN)
		fprintf(stderr, "cardiotwin: %s: %s%s%s\n", level[lvl], domain ? domain : "",
			domain ? ": " : "", msg);
	else
		fprintf(stderr, "cardiotwin: %s%s%s\n", domain ? domain : "", domain ? ": " : "", msg);
}

static int progress_stderr(void *ud, const char *stage, double f)
{
	static int last = -1;
	static const char *last_stage;
	int tty = isatty(2), pct = (int)(f * 100.0);
	(void)ud;
	if (verbosity < 1)
		return 0;
	if (stage != last_stage) {
		last_stage = stage;
		last = -1;
	}
	if (tty && pct != last) {
		int w = pct / 4;
		fprintf(stderr, "\r%-10s [%.*s%*s] %3d%%%s", stage, w, "#########################", 25 - w,
			"", pct, pct >= 100 ? "\n" : "");
	} else if (!tty && pct / 25 != last / 25) {
		fprintf(stderr, "cardiotwin: %s: %d%%\n", stage, pct / 25 * 25);
	}
	last = pct;
	return 0;
}

/* ---- option parsing ------------------------------------------------------------------------- */

static int usage_error(const command *c, const char *fmt, const char *arg)
{
	fprintf(stderr, "cardiotwin: error: %s: ", c ? c->name : "usage");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "; see 'cardiotwin %s%s--help'\n", c ? c->name : "", c ? " " : "");
	return 1;
}

static int opt_matches(const char *spec, const char *arg, size_t len)
{
	const char *bar = strchr(spec, '|');
	if (bar && (size_t)(bar - spec) == len && strncmp(spec, arg, len) == 0)
		return 1;
	spec = bar ? bar + 1 : spec;
	return strlen(spec) == len && strncmp(spec, arg, len) == 0;
}

static void print_help(const command *c)
{
	const opt *o;
	printf("usage: cardiotwin %s %s\n\n%s\n\noptions:\n", c->name, c->args, c->summary);
	for (o = c->opts; o && o->name; o++) {
		char left[64];
		snprintf(left, sizeof(left), "%s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
		printf("  %-24s %s", left, o->doc);
		if (o->def)
			printf(" (default: %s)", o->def);
		printf("\n");
	}
	printf("  %-24s %s\n", "-h|--help", "show this help");
	printf("\nexit codes: 0 ok, 1 usage error, 2 bad input, 3 processing failed, 4 internal error\n");
}

/* Fills vals[i] for c->opts[i] (NULL when absent, "1" for flags) and moves positional arguments
 * to the front of argv; returns their count, or -1 after a usage error, -2 after --help. */
static int parse_opts(const command *c, int argc, char **argv, const char **vals)
{
	int i, npos = 0;

	for (i = 0; i < argc; i++) {
		char *a = argv[i];
		const char *eq;
		size_t len;
		int k, found = -1;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_help(c);
			return -2;
		}
		if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0) {
			argv[npos++] = a;
			continue;
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; c->opts && c->opts[k].name; k++)
			if (opt_matches(c->opts[k].name, a, len))
				found = k;
		if (found < 0) {
			usage_error(c, "unknown option '%s'", a);
			return -1;
		}
		if (!c->opts[found].value) {
			if (eq) {
				usage_error(c, "option '%s' takes no value", a);
				return -1;
			}
			vals[found] = "1";
		} else if (eq) {
			vals[found] = eq + 1;
		} else if (i + 1 < argc) {
			vals[found] = argv[++i];
		} else {
			usage_error(c, "option '%s' needs a value", a);
			return -1;
		}
	}
	if (npos < c->min_pos || npos > c->max_pos) {
		usage_error(c, "%s", npos < c->min_pos ? "missing argument" : "too many arguments");
		return -1;
	}
	return npos;
}

static int parse_double(ctw_ctx *ctx, const char *cmd, const char *name, const char *s, double lo,
			double hi, double *out)
{
	char *end;
	double x;
	errno = 0;
	x = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(x) || x < lo || x > hi)
		return ctw_error(ctx, CTW_ERR_INVALID, cmd, "%s must be a number in [%g, %g], not '%s'",
				 name, lo, hi, s);
	*out = x;
	return CTW_OK;
}

static int parse_u64(ctw_ctx *ctx, const char *cmd, const char *name, const char *s, uint64_t *out)
{
	char *end;
	unsigned long long x;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return ctw_error(ctx, CTW_ERR_INVALID, cmd, "%s must be a non-negative integer, not '%s'",
				 name, s);
	*out = x;
	return CTW_OK;
}

/* ---- --version ------------------------------------------------------------------------------ */

static void print_version(void)
{
	printf("cardiotwin %s\n", CTW_VERSION);
	printf("ITK %s (GDCM %s)\n", ctw_itk_version(), ctw_gdcm_version());
	printf("VTK %s\n", ctw_vtk_version());
	printf("TetGen %s\n", ctw_tetgen_version());
	printf("libxml2 %s\n", ctw_libxml2_version());
	printf("libpng %s\n", ctw_libpng_version());
#if defined(__VERSION__)
	printf("compiler %s\n", __VERSION__);
#endif
}

/* ---- info ----------------------------------------------------------------------------------- */

static const opt info_opts[] = { { NULL, NULL, NULL, NULL } };

static int cmd_info(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	ctw_image_info in;
	ctw_volume g;
	char orient[4];
	int ret, r;

	(void)argc;
	(void)vals;
	ret = ctw_image_read_info(ctx, argv[0], &in);
	if (ret)
		return ret;
	memset(&g, 0, sizeof(g));
	memcpy(g.direction, in.direction, sizeof(g.direction));
	ctw_volume_orientation(&g, orient);
	printf("format: %s\n", in.format);
	if (!strcmp(in.format, "DICOM"))
		printf("series: %d (the largest is shown, %d files)\n", in.n_series, in.n_files);
	printf("dimensions: %d\n", in.ndim);
	printf("size: %lld %lld %lld\n", (long long)in.dim[0], (long long)in.dim[1],
	       (long long)in.dim[2]);
	/* "+ 0.0" prints -0 as 0 */
	printf("spacing: %.10g %.10g %.10g\n", in.spacing[0], in.spacing[1], in.spacing[2]);
	printf("origin: %.10g %.10g %.10g\n", in.origin[0] + 0.0, in.origin[1] + 0.0, in.origin[2] + 0.0);
	printf("direction:");
	for (r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			printf(" %.10g", in.direction[r][c] + 0.0);
	printf("\n");
	printf("orientation: %s\n", orient);
	printf("pixel type: %s\n", in.pixel_type);
	printf("frame: LPS mm (direction row-major, columns are the i, j, k axes)\n");
	return CTW_OK;
}

/* ---- phantom -------------------------------------------------------------------------------- */

static const opt phantom_opts[] = {
	{ "--kind", "lv|biv", NULL, "lv: left ventricle; biv: left and right ventricles (required)" },
	{ "-o|--output", "DIR", NULL, "output directory (required; replaced atomically)" },
	{ "--spacing", "MM", "1", "isotropic voxel size in mm, 0.1..5" },
	{ "--noise", "SD", "0", "standard deviation of Gaussian noise in HU" },
	{ "--seed", "N", "1", "seed of the noise (same seed, same image)" },
	{ NULL, NULL, NULL, NULL }
};

static int write_phantom(ctw_ctx *ctx, const char *dir, const ctw_volume *img,
			 const ctw_labelmap *lab, const ctw_phantom_truth *t)
{
	static const char *const names[] = { "image.nii.gz", "labels.nii.gz", "dicom", "truth.xml" };
	ctw_dicom_meta meta = { "CT", "cardiotwin phantom" };
	char *p[4] = { NULL, NULL, NULL, NULL };
	int ret = CTW_OK, i;

	for (i = 0; i < 4 && !ret; i++)
		ret = ctw_path_join(ctx, dir, names[i], &p[i]);
	if (!ret)
		ret = ctw_image_write_nifti(ctx, img, p[0]);
	if (!ret)
		ret = ctw_image_write_nifti(ctx, lab->grid, p[1]);
	if (!ret)
		ret = ctw_image_write_dicom(ctx, img, p[2], &meta);
	if (!ret)
		ret = ctw_phantom_write_truth(ctx, t, p[3]);
	for (i = 0; i < 4; i++)
		ctw_free(ctx, p[i]);
	return ret;
}

static int cmd_phantom(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	ctw_phantom_opts o = CTW_PHANTOM_OPTS_INIT;
	ctw_phantom_truth truth;
	ctw_volume *img = NULL;
	ctw_labelmap *lab = NULL;
	const char *out = vals[1];
	char *tmp = NULL;
	int ret, i;

	(void)argc;
	(void)argv;
	if (!vals[0] || (strcmp(vals[0], "lv") && strcmp(vals[0], "biv")))
		return ctw_error(ctx, CTW_ERR_INVALID, "phantom", "--kind must be lv or biv");
	if (!out)
		return ctw_error(ctx, CTW_ERR_INVALID, "phantom", "-o DIR is required");
	o.kind = strcmp(vals[0], "biv") ? CTW_PHANTOM_LV : CTW_PHANTOM_BIV;
	if ((vals[2] && (ret = parse_double(ctx, "phantom", "--spacing", vals[2], 0.1, 5, &o.spacing_mm))) ||
	    (vals[3] && (ret = parse_double(ctx, "phantom", "--noise", vals[3], 0, 1e4, &o.noise_sd))) ||
	    (vals[4] && (ret = parse_u64(ctx, "phantom", "--seed", vals[4], &o.seed))))
		return ret;
	if (ctw_is_file(out) || (!ctw_is_dir(out) && access(out, F_OK) == 0))
		return ctw_error(ctx, CTW_ERR_IO, out, "exists and is not a directory");

	ret = ctw_phantom_make(ctx, &o, &img, &lab, &truth);
	if (ret)
		goto out;
	if ((ret = ctw_tmp_sibling(ctx, out, &tmp)) || (ret = ctw_mkdir_p(ctx, tmp)))
		goto out;
	ret = write_phantom(ctx, tmp, img, lab, &truth);
	if (!ret)
		ret = ctw_publish(ctx, tmp, out);
	if (!ret) {
		printf("phantom: %s, %lld x %lld x %lld voxels of %g mm, written to %s\n", vals[0],
		       (long long)img->dim[0], (long long)img->dim[1], (long long)img->dim[2],
		       o.spacing_mm, out);
		for (i = 0; i < truth.n_labels; i++)
			printf("  label %3d %-10s %10.3f mL\n", truth.label[i], truth.name[i],
			       truth.volume_mm3[i] / 1000.0);
	}
out:
	if (ret && tmp) {
		char msg[1024];
		ctw_status code = ctw_errcode(ctx);
		snprintf(msg, sizeof(msg), "%s", ctw_errmsg(ctx));
		ctw_rm_rf(ctx, tmp);
		ctw_error(ctx, code, NULL, "%s", msg);
	}
	ctw_free(ctx, tmp);
	ctw_volume_free(ctx, img);
	ctw_labelmap_free(ctx, lab);
	return ret;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static const command commands[] = {
	{ "info", "PATH", "Print the geometry of an image file (NIfTI, NRRD, MetaImage) or of a DICOM\n"
			  "series directory: size, spacing, origin, direction (LPS), pixel type.",
	  info_opts, cmd_info, 1, 1 },
	{ "phantom", "--kind lv|biv -o DIR [--spacing MM] [--noise SD] [--seed N]",
	  "Write an analytic CT-like heart: DIR/image.nii.gz, DIR/labels.nii.gz (canonical labels),\n"
	  "DIR/dicom/ (the image as a DICOM series) and DIR/truth.xml (exact label volumes).",
	  phantom_opts, cmd_phantom, 0, 0 },
};

static void print_usage(FILE *f)
{
	size_t i;
	fprintf(f, "usage: cardiotwin [--version] [-v|--verbose] [-q|--quiet] <command> [<args>]\n\n"
		   "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *nl = strchr(commands[i].summary, '\n');
		fprintf(f, "  %-10s %.*s\n", commands[i].name,
			nl ? (int)(nl - commands[i].summary) : (int)strlen(commands[i].summary),
			commands[i].summary);
	}
	fprintf(f, "\n'cardiotwin <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	const command *c = NULL;
	const char *vals[MAX_OPTS] = { NULL };
	ctw_ctx *ctx;
	size_t i;
	int a = 1, npos, ret;

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--version")) {
			print_version();
			return 0;
		} else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			print_usage(stdout);
			return 0;
		} else if (!strcmp(argv[a], "-v") || !strcmp(argv[a], "--verbose")) {
			verbosity++;
		} else if (!strcmp(argv[a], "-q") || !strcmp(argv[a], "--quiet")) {
			verbosity = 0;
		} else {
			return usage_error(NULL, "unknown option '%s'", argv[a]);
		}
	}
	if (a >= argc) {
		print_usage(stderr);
		return 1;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[a], commands[i].name))
			c = &commands[i];
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[a]);
	npos = parse_opts(c, argc - a - 1, argv + a + 1, vals);
	if (npos == -2)
		return 0;
	if (npos < 0)
		return 1;

	ctx = ctw_ctx_new();
	if (!ctx) {
		fprintf(stderr, "cardiotwin: error: out of memory\n");
		return 4;
	}
	ctw_ctx_set_log(ctx, log_stderr, NULL,
			verbosity == 0 ? CTW_LOG_ERROR : (ctw_log_level)(CTW_LOG_WARN + verbosity - 1));
	ctw_ctx_set_progress(ctx, progress_stderr, NULL);
	ret = c->run(ctx, npos, argv + a + 1, vals);
	if (ret) {
		fprintf(stderr, "cardiotwin: error: %s\n", ctw_errmsg(ctx));
		if (ret == CTW_ERR_INVALID)
			fprintf(stderr, "see 'cardiotwin %s --help'\n", c->name);
	}
	ctw_ctx_free(ctx);
	return ctw_exit_code((ctw_status)ret);
}
