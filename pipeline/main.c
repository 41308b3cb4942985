/* main.c: the cardiotwin command line. Dispatches subcommands through a table (git's
 * commands[]), parses `--long-name VALUE` options from per-command tables that also drive
 * --help, installs the stderr logger and progress display, and maps statuses to exit codes
 * (DESIGN.md §4: 0 ok, 1 usage, 2 bad input, 3 processing failed, 4 internal error). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contours.h"
#include "ctw.h"
#include "dicom.h"
#include "export.h"
#include "fibers.h"
#include "fs.h"
#include "image.h"
#include "mesh.h"
#include <dirent.h>
#include "phantom.h"
#include "segment.h"
#include "automr.h"
#include "voxelcheck.h"
#include "cli.h"

int cli_verbosity = 1;
int cli_check_only; /* run's dry pass: commands return after checking their options */
int cli_argc;
char **cli_argv; /* 0 quiet, 1 normal, 2 verbose, 3 debug */
static const char *salt_file; /* --salt-file, else $CTW_SALT_FILE, else the installation's */
static const char *max_voxels; /* --max-voxels: the readers' limit, checked before allocating */
static const char *timeout_arg; /* --timeout: every stage's time limit */
const char *volatile cli_stage; /* the stage running now, for the time limit's message */
static int strict;              /* --strict: a warning is an error (exit 2, outputs removed) */

int cli_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- the de-identification salt ----------------------------------------------------------- */

/* Installs the secret salt of the de-identifying hashes: from --salt-file or $CTW_SALT_FILE (a
 * cohort's secret, must exist), else the installation's ($XDG_CONFIG_HOME or ~/.config,
 * cardiotwin/salt), created with 32 random bytes on first use. */
int cli_use_salt(ctw_ctx *ctx)
{
	char path[4200], dir[4096];
	unsigned char salt[64];
	const char *given = salt_file ? salt_file : getenv("CTW_SALT_FILE"), *base;
	size_t n;
	FILE *f;

	if (given && *given) {
		snprintf(path, sizeof(path), "%s", given);
	} else {
		base = getenv("XDG_CONFIG_HOME");
		if (base && *base)
			snprintf(dir, sizeof(dir), "%s/cardiotwin", base);
		else if ((base = getenv("HOME")) && *base)
			snprintf(dir, sizeof(dir), "%s/.config/cardiotwin", base);
		else
			return ctw_error(ctx, CTW_ERR_IO, "salt", "no HOME to keep the installation's salt in; give --salt-file");
		snprintf(path, sizeof(path), "%s/salt", dir);
		if (!ctw_is_file(path)) {
			int fd;
			FILE *r = fopen("/dev/urandom", "rb");
			if (!r || fread(salt, 1, 32, r) != 32) {
				if (r)
					fclose(r);
				return ctw_error(ctx, CTW_ERR_IO, "/dev/urandom", "cannot read random bytes for a salt");
			}
			fclose(r);
			if (ctw_mkdir_p(ctx, dir))
				return CTW_ERR_IO;
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
			if (fd >= 0) {
				int ok = write(fd, salt, 32) == 32;
				if (close(fd) != 0 || !ok)
					return ctw_error(ctx, CTW_ERR_IO, path, "cannot write the salt: %s", strerror(errno));
				ctw_log(ctx, CTW_LOG_INFO, "salt", "created the installation's secret salt in '%s'", path);
			} else if (errno != EEXIST) {
				return ctw_error(ctx, CTW_ERR_IO, path, "cannot create the salt: %s", strerror(errno));
			}
		}
	}
	f = fopen(path, "rb");
	if (!f)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open the salt file: %s", strerror(errno));
	n = fread(salt, 1, sizeof(salt), f);
	fclose(f);
	if (n < 16)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "a salt file holds at least 16 secret bytes, this one %zu", n);
	ctw_ctx_set_salt(ctx, salt, n);
	return CTW_OK;
}

/* ---- the time limit (--timeout) -------------------------------------------------------------- */

/* --timeout S bounds every stage: the context's deadline makes ctw_progress cancel (the stage
 * returns with "time limit of S s reached", exit 3); TetGen gets the time left as its own limit.
 * A stage that never reports progress is stopped by the backstop: a thread that wakes GRACE
 * seconds after the deadline, removes this process's temporary outputs (.tmp-<pid>-*) below the
 * output's directory and exits 3. It prepares everything before it sleeps and afterwards calls
 * only write, fork, execv, waitpid and _exit (no lock another thread may hold). */
#define TIMEOUT_GRACE_S 10.0

static struct {
	double limit_s, deadline, grace_s;
	char msg[256];
	char find_dir[4096], pattern[64], depth[8];
} tl;

/* Whoever ends the program because of the time limit first: the backstop, or main with its own
 * error; the other stays silent (one error line). */
static atomic_int tl_claimed;

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds left of --timeout (at least 1 ms), 0 without a limit. */
static double time_left(void)
{
	return tl.limit_s > 0 ? fmax(tl.deadline - mono_now(), 1e-3) : 0;
}

static void *backstop(void *arg)
{
	struct timespec ts;
	double t = tl.deadline + tl.grace_s;
	char *const find[] = { "find", tl.find_dir, "-maxdepth", tl.depth, "-name", tl.pattern, "-prune", "-exec", "rm", "-rf",
			       "{}", "+", NULL };
	const char *stage;
	int st = 0;
	pid_t pid;

	(void)arg;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
	if (atomic_exchange(&tl_claimed, 1))
		return NULL; /* main is ending with its own message */
	stage = cli_stage;
	/* "cardiotwin: error: <stage>: time limit of N s reached" from prepared pieces */
	if (write(2, "cardiotwin: error: ", 19) < 0 || (stage && write(2, stage, strlen(stage)) < 0) ||
	    write(2, tl.msg, strlen(tl.msg)) < 0)
		st = 1;
	if (tl.find_dir[0] && (pid = fork()) == 0) {
		execv("/usr/bin/find", find);
		_exit(127);
	} else if (tl.find_dir[0] && pid > 0) {
		waitpid(pid, &st, 0);
	}
	_exit(3);
	return NULL;
}

/* Sets the time limit of this run of the program; out: the -o of the command (or NULL). */
static int start_time_limit(ctw_ctx *ctx, const command *c, const char *out)
{
	pthread_attr_t at;
	pthread_t th;
	const char *slash;
	double s;

	if (cli_parse_double(ctx, "usage", "--timeout", timeout_arg, 0, 1e7, &s))
		return 1;
	if (s <= 0)
		return 0;
	tl.limit_s = s;
	tl.grace_s = TIMEOUT_GRACE_S;
	if (getenv("CTW_TIMEOUT_GRACE")) /* tests: a shorter grace */
		tl.grace_s = fmin(fmax(atof(getenv("CTW_TIMEOUT_GRACE")), 0), TIMEOUT_GRACE_S);
	ctw_ctx_set_deadline(ctx, s);
	tl.deadline = mono_now() + s;
	cli_stage = c->name;
	snprintf(tl.msg, sizeof(tl.msg), ": time limit of %g s reached (--timeout); temporary outputs removed\n", s);
	if (out) { /* run: the tree below OUT; others: beside the output */
		slash = strrchr(out, '/');
		if (!strcmp(c->name, "run"))
			snprintf(tl.find_dir, sizeof(tl.find_dir), "%s", out);
		else
			snprintf(tl.find_dir, sizeof(tl.find_dir), "%.*s", slash ? (int)(slash - out) + 1 : 1, slash ? out : ".");
		snprintf(tl.depth, sizeof(tl.depth), "%d", !strcmp(c->name, "run") ? 3 : 1);
		snprintf(tl.pattern, sizeof(tl.pattern), ".tmp-%ld-*", (long)getpid());
	}
	if (pthread_attr_init(&at) == 0) {
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, backstop, NULL) != 0)
			ctw_log(ctx, CTW_LOG_WARN, "timeout", "no backstop thread: only stages that report progress stop in time");
		pthread_attr_destroy(&at);
	}
	return 0;
}

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
	if (cli_verbosity < 1)
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

/* Removes a half-written output after a failure, keeping the failure's message. */
void cli_discard(ctw_ctx *ctx, const char *path)
{
	char msg[1024];
	ctw_status code = ctw_errcode(ctx);
	snprintf(msg, sizeof(msg), "%s", ctw_errmsg(ctx));
	ctw_rm_rf(ctx, path);
	ctw_error(ctx, code, NULL, "%s", msg);
}

/* ---- option parsing ------------------------------------------------------------------------- */

int cli_usage_error(const command *c, const char *fmt, const char *arg)
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
int cli_parse_opts(const command *c, int argc, char **argv, const char **vals)
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
			cli_usage_error(c, "unknown option '%s'", a);
			return -1;
		}
		if (!c->opts[found].value) {
			if (eq) {
				cli_usage_error(c, "option '%s' takes no value", a);
				return -1;
			}
			vals[found] = "1";
		} else if (eq) {
			vals[found] = eq + 1;
		} else if (i + 1 < argc) {
			vals[found] = argv[++i];
		} else {
			cli_usage_error(c, "option '%s' needs a value", a);
			return -1;
		}
	}
	if (npos < c->min_pos || npos > c->max_pos) {
		cli_usage_error(c, "%s", npos < c->min_pos ? "missing argument" : "too many arguments");
		return -1;
	}
	return npos;
}

int cli_parse_double(ctw_ctx *ctx, const char *cmd, const char *name, const char *s, double lo,
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

int cli_parse_u64(ctw_ctx *ctx, const char *cmd, const char *name, const char *s, uint64_t *out)
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

static void print_geometry(const char *ind, const int64_t dim[3], const double sp[3],
			   const double org[3], double dir[3][3])
{
	ctw_volume g;
	char orient[4];

	memset(&g, 0, sizeof(g));
	memcpy(g.direction, dir, sizeof(g.direction));
	ctw_volume_orientation(&g, orient);
	/* "+ 0.0" prints -0 as 0 */
	printf("%ssize: %lld %lld %lld\n", ind, (long long)dim[0], (long long)dim[1], (long long)dim[2]);
	printf("%sspacing: %.10g %.10g %.10g\n", ind, sp[0], sp[1], sp[2]);
	printf("%sorigin: %.10g %.10g %.10g\n", ind, org[0] + 0.0, org[1] + 0.0, org[2] + 0.0);
	printf("%sdirection:", ind);
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			printf(" %.10g", dir[r][c] + 0.0);
	printf("\n%sorientation: %s\n", ind, orient);
}

static const opt info_opts[] = { { NULL, NULL, NULL, NULL } };

/* Lists the stacks of parallel series (ctw_dicom_find_stack): members, slices, phases, the auto
 * choice, the series left out and the geometry of stacks of several series. */
static void info_stacks(ctw_ctx *ctx, const char *path, const ctw_dicom_scan *scan)
{
	int k, i, clear = scan->n_stacks == 1 || scan->stacks[1].n_positions < scan->stacks[0].n_positions;
	printf("stacks: %d (parallel series on one grid, stacked along the normal; --stack N, --stack auto)\n",
	       scan->n_stacks);
	for (k = 0; k < scan->n_stacks; k++) {
		const ctw_dicom_stackdef *d = &scan->stacks[k];
		ctw_dicom_stack *st = NULL;
		char what[96];
		ctw_dicom_stack_describe(scan, k, what, sizeof(what));
		if (k) { /* the angle between its planes and the auto stack's */
			const ctw_dicom_file *a = scan->stacks[0].series->files[0], *b = d->series->files[0];
			double na[3], nb[3], c;
			na[0] = a->iop[1] * a->iop[5] - a->iop[2] * a->iop[4];
			na[1] = a->iop[2] * a->iop[3] - a->iop[0] * a->iop[5];
			na[2] = a->iop[0] * a->iop[4] - a->iop[1] * a->iop[3];
			nb[0] = b->iop[1] * b->iop[5] - b->iop[2] * b->iop[4];
			nb[1] = b->iop[2] * b->iop[3] - b->iop[0] * b->iop[5];
			nb[2] = b->iop[0] * b->iop[4] - b->iop[1] * b->iop[3];
			c = fabs(na[0] * nb[0] + na[1] * nb[1] + na[2] * nb[2]) /
			    sqrt((na[0] * na[0] + na[1] * na[1] + na[2] * na[2]) * (nb[0] * nb[0] + nb[1] * nb[1] + nb[2] * nb[2]));
			if (a->has_iop && b->has_iop && isfinite(c))
				snprintf(what + strlen(what), sizeof(what) - strlen(what), ", %.3g degrees to stack 1",
					 acos(fmin(1.0, c)) * 57.295779513082321);
		}
		printf("stack %d: %s%s%s\n", k + 1, what,
		       k ? "" : d->n_positions >= 3 ? ", short axis (auto)" : " (auto)",
		       !k && !clear ? " (only with --stack auto: another stack has as many slices)"
				    : !k && scan->stacks[0].n_positions < 3 ? " (only with --stack auto: under 3 slices)"
									    : "");
		if (d->n_members > 1) {
			printf("  series:");
			for (i = 0; i < d->n_members; i++)
				printf(" %d", d->members[i] + 1);
			printf("\n");
		}
		for (i = 0; i < scan->n_series; i++)
			if (scan->left_out[i] == k + 1)
				printf("  left out: series %d (parallel, same grid, but %d phases, not %d)\n", i + 1,
				       scan->series[i].n_phases, d->n_phases);
		if (d->conflict[0] >= 0) {
			printf("  problem: series %d and %d image the same slice position; read one with --series\n",
			       d->conflict[0] + 1, d->conflict[1] + 1);
			continue;
		}
		if (d->n_members == 1)
			continue;
		if (d->tilted)
			printf("  note: the series are within 1 degree of parallel, not exactly; stacked on the first's grid\n");
		if (ctw_dicom_stack_build(ctx, path, d->series, 1, 2, &st)) {
			printf("  problem: %s\n", ctw_errmsg(ctx));
			ctw_clear_error(ctx);
			continue;
		}
		print_geometry("  ", st->dim, st->spacing, st->origin, st->direction);
		if (st->uneven)
			printf("  slice spacing: %.10g mm (uneven: %.6g to %.6g mm between positions; --allow-gaps "
			       "resamples to this)\n", st->spacing[2], st->min_step, st->max_step);
		else
			printf("  slice spacing: %.10g mm\n", st->spacing[2]);
		ctw_dicom_stack_free(ctx, st);
	}
}

/* Lists every series of a DICOM directory: never a name, ID, date or UID (DESIGN.md §7). */
static int info_dicom(ctw_ctx *ctx, const char *path)
{
	ctw_dicom_scan *scan;
	int ret = ctw_dicom_scan_dir(ctx, path, &scan), i;

	if (ret)
		return ret;
	if (scan->n_series == 0) {
		const ctw_dicom_series *none;
		ret = ctw_dicom_find_series(ctx, path, scan, NULL, &none);
		ctw_dicom_scan_free(ctx, scan);
		return ret;
	}
	printf("format: DICOM\n");
	printf("files: %d images, %d other files, %d damaged files skipped\n", scan->n_files,
	       scan->n_skipped_other, scan->n_skipped_corrupt);
	printf("series: %d\n", scan->n_series);
	for (i = 0; i < scan->n_series; i++) {
		const ctw_dicom_series *s = &scan->series[i];
		ctw_dicom_stack *st = NULL;
		ctw_study_record rec;
		char id[13];
		ctw_dicom_series_id(ctx, s, id);
		ctw_dicom_study_record(ctx, s, &rec);
		printf("series %d:\n  id: %s\n  modality: %s\n  manufacturer: %s\n", i + 1, id,
		       rec.modality[0] ? rec.modality : "unknown", rec.manufacturer[0] ? rec.manufacturer : "unknown");
		printf("  description: %s\n", s->files[0]->description[0] ? s->files[0]->description : "(none)");
		printf("  images: %d at %d slice positions\n  phases: %d%s\n", s->n_files, s->n_positions,
		       s->n_phases, s->phases_regular ? "" : " (irregular: some positions have fewer)");
		if (rec.study_year)
			printf("  study year: %d\n", rec.study_year);
		/* the first phase stands for the series; gaps are reported, not refused, here */
		ret = ctw_dicom_stack_build(ctx, path, s, 1, 2, &st);
		if (ret) {
			printf("  problem: %s\n", ctw_errmsg(ctx));
			ctw_clear_error(ctx);
			continue;
		}
		print_geometry("  ", st->dim, st->spacing, st->origin, st->direction);
		/* one figure, the grid's k spacing (as in "spacing:"); uneven positions noted beside it */
		if (st->n > 1 && st->uneven)
			printf("  slice spacing: %.10g mm (uneven: %.6g to %.6g mm between positions; --allow-gaps "
			       "resamples to this)\n", st->spacing[2], st->min_step, st->max_step);
		else if (st->n > 1)
			printf("  slice spacing: %.10g mm\n", st->spacing[2]);
		printf("  slice gaps: %s\n", st->uneven ? "uneven spacing (--allow-gaps resamples)" : "none");
		printf("  pixel type: %s\n", ctw_dtype_name(st->dtype));
		ctw_dicom_stack_free(ctx, st);
	}
	info_stacks(ctx, path, scan);
	printf("frame: LPS mm (direction row-major, columns are the i, j, k axes)\n");
	ctw_dicom_scan_free(ctx, scan);
	return CTW_OK;
}

static int cmd_info(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	ctw_read_opts ro = CTW_READ_OPTS_INIT;
	ctw_image_info in;
	int ret;

	(void)argc;
	(void)vals;
	if (ctw_is_dir(argv[0]) || ctw_is_dicom_file(argv[0]))
		return cli_use_salt(ctx) ? (int)ctw_errcode(ctx) : info_dicom(ctx, argv[0]);
	ro.phase = 1; /* the header of a 4-D NIfTI (a cine) too: its volumes share the grid */
	ret = ctw_image_read_info(ctx, argv[0], &ro, &in);
	if (ret)
		return ret;
	printf("format: %s\n", in.format);
	printf("dimensions: %d\n", in.ndim);
	print_geometry("", in.dim, in.spacing, in.origin, in.direction);
	if (in.n_phases > 1)
		printf("phases: %d (a 4-D cine: choose one with --phase N)\n", in.n_phases);
	printf("pixel type: %s\n", in.pixel_type);
	{
		double p[3], n[3];
		if (ctw_image_base_plane(ctx, argv[0], p, n))
			printf("base plane: %.10g %.10g %.10g normal %.10g %.10g %.10g\n", p[0], p[1], p[2], n[0], n[1], n[2]);
	}
	printf("frame: LPS mm (direction row-major, columns are the i, j, k axes)\n");
	return CTW_OK;
}

/* OUT.nii.gz -> OUT.<ext>: files that travel with an output image. */
int cli_beside(ctw_ctx *ctx, const char *out, const char *ext, char **path)
{
	size_t n = strlen(out);
	size_t cut = cli_ends_with(out, ".nii.gz") ? 7 : cli_ends_with(out, ".nii") ? 4 : 0;
	char *p = ctw_malloc(ctx, n + strlen(ext) + 2);
	if (!p)
		return CTW_ERR_NOMEM;
	sprintf(p, "%.*s.%s", (int)(n - cut), out, ext);
	*path = p;
	return CTW_OK;
}

/* An -o name a NIfTI writer accepts: a usage error saying which extensions are, otherwise. */
static int check_nifti_out(ctw_ctx *ctx, const char *cmd, const char *out)
{
	if (cli_ends_with(out, ".nii.gz") || cli_ends_with(out, ".nii"))
		return CTW_OK;
	return ctw_error(ctx, CTW_ERR_INVALID, cmd, "-o '%s': the output is a NIfTI file, its name ends in .nii.gz or .nii", out);
}

int cli_write_text(ctw_ctx *ctx, const char *path, const char *text)
{
	char *tmp = NULL;
	FILE *f;
	int ret = ctw_tmp_sibling(ctx, path, &tmp);
	if (ret)
		return ret;
	f = fopen(tmp, "w");
	if (!f)
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot create: %s", strerror(errno));
	else if ((fputs(text, f) < 0) | (fclose(f) != 0))
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno));
	if (!ret)
		ret = ctw_publish(ctx, tmp, path);
	if (ret)
		remove(tmp);
	ctw_free(ctx, tmp);
	return ret;
}

/* ---- convert -------------------------------------------------------------------------------- */

char cli_phase_rule[192];

int cli_parse_phase(ctw_ctx *ctx, const char *cmd, const char *s, int *phase)
{
	uint64_t n;
	if (!s)
		return CTW_OK;
	if (!strcmp(s, "ed")) {
		*phase = CTW_PHASE_ED;
		return CTW_OK;
	}
	if (cli_parse_u64(ctx, cmd, "--phase", s, &n) || n < 1 || n > 100000)
		return ctw_error(ctx, CTW_ERR_INVALID, cmd, "--phase must be a phase number (1, 2, ...) or ed, not '%s'", s);
	*phase = (int)n;
	return CTW_OK;
}

int cli_parse_stack(ctw_ctx *ctx, const char *cmd, const char *s, int *stack)
{
	uint64_t n;
	if (!s)
		return CTW_OK;
	if (!strcmp(s, "auto")) {
		*stack = -1;
		return CTW_OK;
	}
	if (cli_parse_u64(ctx, cmd, "--stack", s, &n) || n < 1 || n > 100000) {
		ctw_clear_error(ctx);
		return ctw_error(ctx, CTW_ERR_INVALID, cmd, "--stack must be a stack number (1, 2, ... as `info` lists "
				 "them) or auto, not '%s'", s);
	}
	*stack = (int)n;
	return CTW_OK;
}

static const opt convert_opts[] = {
	{ "-o|--output", "OUT.nii.gz", NULL, "output NIfTI file (required); OUT.json gets the study record" },
	{ "--series", "S", NULL, "DICOM series: its number or id as `info` lists it, or its UID" },
	{ "--phase", "N|ed", NULL, "cine phase of a DICOM cine, 1-based in TriggerTime order (ed = the smallest\n"
				  "                           trigger time), or of a 4-D NIfTI (a volume number)" },
	{ "--allow-gaps", NULL, NULL, "resample unevenly spaced slices to the smallest spacing" },
	{ "--stack", "auto|N", NULL, "DICOM stack of parallel series (one series per slice) as `info` lists\n"
				    "                           them; auto: the most slice positions (short axis)" },
	{ NULL, NULL, NULL, NULL }
};

static int cmd_convert(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	ctw_read_opts ro = CTW_READ_OPTS_INIT;
	ctw_study_record rec;
	ctw_volume *v = NULL;
	char *json = NULL;
	const char *out = vals[0];
	int ret;

	(void)argc;
	if (!out)
		return ctw_error(ctx, CTW_ERR_INVALID, "convert", "-o OUT.nii.gz (or .nii) is required");
	if ((ret = check_nifti_out(ctx, "convert", out)))
		return ret;
	ro.series = vals[1];
	ro.allow_gaps = vals[3] != NULL;
	if ((ret = cli_parse_phase(ctx, "convert", vals[2], &ro.phase)) ||
	    (ret = cli_parse_stack(ctx, "convert", vals[4], &ro.stack)))
		return ret;
	if (vals[1] && vals[4])
		return ctw_error(ctx, CTW_ERR_INVALID, "convert", "give --series or --stack, not both");
	if ((ret = cli_use_salt(ctx)))
		return ret;
	/* --phase on an image file: a volume of a 4-D NIfTI, checked by the reader */
	if ((vals[1] || vals[4]) && !ctw_is_dir(argv[0]) && !ctw_is_dicom_file(argv[0]))
		return ctw_error(ctx, CTW_ERR_FORMAT, argv[0], "%s applies to DICOM input only, and this is an image file; "
				 "leave it out", vals[1] ? "--series" : "--stack");
	if ((ret = ctw_image_read_opts(ctx, argv[0], &ro, 0, &v, &rec)) || (ret = cli_beside(ctx, out, "json", &json)) ||
	    (ret = ctw_image_write_nifti(ctx, v, out)))
		goto out;
	if ((ret = ctw_study_record_write_json(ctx, &rec, json))) {
		remove(out); /* the pair is published together or not at all */
		goto out;
	}
	printf("convert: %lld x %lld x %lld voxels of %.6g x %.6g x %.6g mm (%s) written to %s",
	       (long long)v->dim[0], (long long)v->dim[1], (long long)v->dim[2], v->spacing[0], v->spacing[1],
	       v->spacing[2], ctw_dtype_name(v->dtype), out);
	if (rec.n_phases > 1)
		printf(", phase %d of %d", rec.phase, rec.n_phases);
	if (rec.phase_rule[0])
		printf(" (%s)", rec.phase_rule);
	printf("\n");
	snprintf(cli_phase_rule, sizeof(cli_phase_rule), "%s", rec.phase_rule);
out:
	ctw_free(ctx, json);
	ctw_volume_free(ctx, v);
	return ret;
}

/* ---- contours ------------------------------------------------------------------------------- */

static const opt contours_opts[] = {
	{ "--dicom", "DIR", NULL, "the cine DICOM series the contours were drawn on (required)" },
	{ "--contours", "DIR", NULL, "Sunnybrook contour files *-icontour-*.txt, *-ocontour-*.txt (required)" },
	{ "--phase", "N|ed", "ed", "phase to rasterise; ed = the largest LV blood volume (endocardial contours)" },
	{ "--series", "S", NULL, "DICOM series, when the directory holds several" },
	{ "-o|--output", "LABELS.nii.gz", NULL, "output label map: 1 LV blood, 2 LV myocardium (required)" },
	{ "--stack", "auto|N", NULL, "DICOM stack of parallel series (one series per slice), as `info` lists them" },
	{ NULL, NULL, NULL, NULL }
};

/* The LV blood volume of each phase (mL): the endocardial contour areas summed over the slices
 * times the voxel volume, for ctw_dicom_ed_phase(). */
static int contour_blood(ctw_ctx *ctx, const ctw_dicom_series *s, const ctw_contour_set *cs, double **out)
{
	double *v = ctw_calloc(ctx, (size_t)s->n_phases, sizeof(*v)), vox, step = 1.0;
	const ctw_dicom_file *f = s->files[0], *l = s->files[s->n_files - 1];
	if (!v)
		return CTW_ERR_NOMEM;
	/* the mean slice step along the normal (the slice thickness for a single slice) */
	if (s->n_positions > 1 && f->has_iop && f->has_ipp && l->has_ipp) {
		double n[3] = { f->iop[1] * f->iop[5] - f->iop[2] * f->iop[4], f->iop[2] * f->iop[3] - f->iop[0] * f->iop[5],
				f->iop[0] * f->iop[4] - f->iop[1] * f->iop[3] };
		step = fabs(n[0] * (l->ipp[0] - f->ipp[0]) + n[1] * (l->ipp[1] - f->ipp[1]) + n[2] * (l->ipp[2] - f->ipp[2])) /
		       (s->n_positions - 1);
	} else if (f->thickness > 0) {
		step = f->thickness;
	}
	vox = (f->has_spacing ? f->pixel_spacing[0] * f->pixel_spacing[1] : 1.0) * step / 1000.0;
	for (int i = 0; i < cs->n; i++) {
		int pos, phase;
		if (cs->c[i].kind == CTW_CONTOUR_ENDO && ctw_dicom_locate(s, cs->c[i].instance, &pos, &phase) &&
		    phase >= 1 && phase <= s->n_phases)
			v[phase - 1] += ctw_contour_area(&cs->c[i]) * vox;
	}
	*out = v;
	return CTW_OK;
}

/* Limits of the consistency check of an endocardial contour against the epicardial one of its
 * image. The LV wall is 6-16 mm thick at end-diastole, a thinned infarct scar down to ~2 mm; an
 * expert's epicardium hugs the endocardium closer than 1 mm nowhere and lies farther than 25 mm
 * from it nowhere unless the two contours are misplaced against each other. */
#define CONTOUR_MAX_OUTSIDE 0.02  /* fraction of the blood pool outside the epicardium */
#define CONTOUR_WALL_MIN_MM 1.0   /* thinner than this over more than CONTOUR_THIN_DEG of the ring */
#define CONTOUR_THIN_DEG 90.0     /* (at the base the expert contours meet along the outflow tract, up to ~60 degrees) */
#define CONTOUR_WALL_MAX_MM 25.0

/* Checks of the whole set: an endocardium somewhere, other files named once. */
static int contours_check_set(ctw_ctx *ctx, const char *cdir, const ctw_contour_set *cs)
{
	int endo = 0;
	for (int i = 0; i < cs->n; i++)
		endo += cs->c[i].kind == CTW_CONTOUR_ENDO;
	if (!endo)
		return ctw_error(ctx, CTW_ERR_FORMAT, cdir,
				 "no endocardial contour (*-icontour-*.txt) in any phase: the LV blood pool is undefined; "
				 "give the directory holding the i-contours too");
	if (cs->n_unrelated)
		return ctw_warn(ctx, cdir, "%d file%s that %s not contour files ignored: '%s'%s", cs->n_unrelated,
				cs->n_unrelated == 1 ? "" : "s", cs->n_unrelated == 1 ? "is" : "are", cs->unrelated,
				cs->n_unrelated > 3 ? ", ..." : "");
	return CTW_OK;
}

/* Checks the contours of one phase on the grid of v: every point in the image, an area, no
 * self-intersection (a warning), an epicardium around each endocardium and a plausible wall. */
static int contours_check_phase(ctw_ctx *ctx, const char *cdir, const char *dicom, const ctw_dicom_series *s,
				const ctw_contour_set *cs, int phase, const ctw_volume *v)
{
	const int cols = (int)v->dim[0], rows = (int)v->dim[1];
	int n_endo = 0, n_epi = 0, ret;

	for (int i = 0; i < cs->n; i++) {
		const ctw_contour *c = &cs->c[i];
		int pos, ph;
		double x, y;
		ctw_dicom_locate(s, c->instance, &pos, &ph);
		if (ph != phase)
			continue;
		n_endo += c->kind == CTW_CONTOUR_ENDO;
		n_epi += c->kind == CTW_CONTOUR_EPI;
		for (int k = 0; k < c->n; k++) {
			x = c->xy[2 * k], y = c->xy[2 * k + 1];
			if (!(x >= -0.5 && x <= cols - 0.5 && y >= -0.5 && y <= rows - 0.5))
				return ctw_error(ctx, CTW_ERR_FORMAT, c->path,
						 "point %d (%g, %g) lies outside the %d x %d image of instance %lld in '%s'; "
						 "the contour belongs to another image or study",
						 k + 1, x, y, cols, rows, (long long)c->instance, dicom);
		}
		if (ctw_contour_area(c) < 1.0)
			return ctw_error(ctx, CTW_ERR_FORMAT, c->path,
					 "the polygon encloses %.3g pixels (less than one); not a contour", ctw_contour_area(c));
		if (ctw_contour_self_intersects(c, &x, &y) &&
		    (ret = ctw_warn(ctx, c->path, "the polygon crosses itself near (%.1f, %.1f): filled by the even-odd "
					"rule", x, y)))
			return ret;
	}
	if (n_epi && !n_endo)
		return ctw_error(ctx, CTW_ERR_FORMAT, cdir,
				 "phase %d has epicardial but no endocardial contours: the myocardium would be solid; "
				 "give the --phase of the end-diastolic contours (or leave --phase ed)", phase);
	if (n_endo && !n_epi)
		return ctw_warn(ctx, cdir,
				"phase %d has endocardial but no epicardial contours: the myocardium (label 2) is empty "
				"and the lv model cannot be meshed from this map; use the phase with both (--phase ed)",
				phase);
	/* slices with one kind only: an endocardium without a wall, or a solid myocardium between
	 * slices with a blood pool (the apex cap below the last blood pool is normal) */
	{
		const int nz = (int)v->dim[2];
		uint8_t *kinds = ctw_calloc(ctx, (size_t)nz, 1);
		int first = -1, last = -1;
		if (!kinds)
			return CTW_ERR_NOMEM;
		for (int i = 0; i < cs->n; i++) {
			int pos, ph;
			if (ctw_dicom_locate(s, cs->c[i].instance, &pos, &ph) && ph == phase && pos >= 0 && pos < nz)
				kinds[pos] |= (uint8_t)cs->c[i].kind;
		}
		for (int k = 0; k < nz; k++)
			if (kinds[k] & CTW_CONTOUR_ENDO) {
				if (first < 0)
					first = k;
				last = k;
			}
		ret = CTW_OK;
		for (int k = 0; k < nz && !ret && n_epi; k++) {
			if (kinds[k] == CTW_CONTOUR_ENDO)
				ret = ctw_warn(ctx, cdir, "slice %d of phase %d has an endocardial but no epicardial contour: "
					       "the blood pool has no wall there", k, phase);
			else if (kinds[k] == CTW_CONTOUR_EPI && k > first && k < last)
				ret = ctw_warn(ctx, cdir, "slice %d of phase %d has an epicardial but no endocardial contour "
					       "between slices with one: the myocardium is solid there", k, phase);
		}
		ctw_free(ctx, kinds);
		if (ret)
			return ret;
	}
	/* the pairs: sorted by (instance, kind), so an image's endocardium precedes its epicardium */
	for (int i = 0; i + 1 < cs->n; i++) {
		const ctw_contour *en = &cs->c[i], *ep = &cs->c[i + 1];
		ctw_contour_pair m;
		int pos, ph, thin;
		double out, thin_deg;
		if (en->kind != CTW_CONTOUR_ENDO || ep->kind != CTW_CONTOUR_EPI || en->instance != ep->instance)
			continue;
		ctw_dicom_locate(s, en->instance, &pos, &ph);
		if (ph != phase)
			continue;
		if ((ret = ctw_contour_pair_measure(ctx, en, ep, rows, cols, v->spacing[0], v->spacing[1], &m)))
			return ret;
		out = m.n_blood ? (double)m.n_outside / (double)m.n_blood : 0;
		thin = 0;
		for (int k = 0; k < CTW_CONTOUR_RAYS; k++)
			thin += m.wall[k] < CONTOUR_WALL_MIN_MM;
		thin_deg = 360.0 * thin / CTW_CONTOUR_RAYS;
		ctw_log(ctx, CTW_LOG_INFO, "contours", "slice %d (instance %lld): %.1f %% of the blood pool outside the "
			"epicardium, wall %.1f to %.1f mm (mean %.1f), thinner than %g mm over %.0f degrees", pos,
			(long long)en->instance, 100 * out, m.wall_min, m.wall_max, m.wall_mean, CONTOUR_WALL_MIN_MM,
			thin_deg);
		if (out > CONTOUR_MAX_OUTSIDE || thin_deg > CONTOUR_THIN_DEG || m.wall_max > CONTOUR_WALL_MAX_MM) {
			if ((ret = ctw_warn(ctx, en->path,
					    "slice %d (instance %lld): %.1f %% of the blood pool lies outside the epicardium "
					    "'%s' (at most %g %% expected); the wall is %.1f to %.1f mm thick (mean %.1f), "
					    "thinner than %g mm over %.0f degrees of the ring (expected %g to %g mm, thin over "
					    "at most %g degrees): the contours do not fit together, the myocardium is wrong there",
					    pos, (long long)en->instance, 100 * out, ep->path, 100 * CONTOUR_MAX_OUTSIDE,
					    m.wall_min, m.wall_max, m.wall_mean, CONTOUR_WALL_MIN_MM, thin_deg,
					    CONTOUR_WALL_MIN_MM, CONTOUR_WALL_MAX_MM, CONTOUR_THIN_DEG)))
				return ret;
		}
	}
	return CTW_OK;
}

static int cmd_contours(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	ctw_dicom_scan *scan = NULL;
	const ctw_dicom_series *s;
	ctw_dicom_stack *st = NULL;
	ctw_contour_set *cs = NULL;
	ctw_volume *v = NULL;
	const char *dicom = vals[0], *cdir = vals[1], *out = vals[4];
	int phase = CTW_PHASE_ED, ret, i, used = 0, other_phase = 0, stack = 0, number;

	(void)argc;
	(void)argv;
	if (!dicom || !cdir || !out)
		return ctw_error(ctx, CTW_ERR_INVALID, "contours", "--dicom, --contours and -o are required");
	if ((ret = check_nifti_out(ctx, "contours", out)))
		return ret;
	if ((ret = cli_parse_phase(ctx, "contours", vals[2], &phase)) ||
	    (ret = cli_parse_stack(ctx, "contours", vals[5], &stack)))
		return ret;
	if (vals[3] && vals[5])
		return ctw_error(ctx, CTW_ERR_INVALID, "contours", "give --series or --stack, not both");
	if (cli_check_only)
		return CTW_OK;
	if ((ret = cli_use_salt(ctx)) ||
	    (ret = ctw_contours_read_dir(ctx, cdir, &cs)) || (ret = ctw_dicom_scan_dir(ctx, dicom, &scan)) ||
	    (ret = ctw_dicom_find_stack(ctx, dicom, scan, vals[3], stack, &s, &number)))
		goto out;
	if ((ret = contours_check_set(ctx, cdir, cs)))
		goto out;
	if (phase == CTW_PHASE_ED) {
		/* the one meaning of ed: the largest LV blood volume of the expert contours */
		double *blood = NULL;
		if ((ret = contour_blood(ctx, s, cs, &blood)))
			goto out;
		ret = ctw_dicom_ed_phase(ctx, cdir, s, blood, &phase, cli_phase_rule, sizeof(cli_phase_rule));
		ctw_free(ctx, blood);
		if (ret)
			goto out;
		/* epicardial contours drawn on another phase only: that phase's endocardia are missing
		 * (experts draw both at end-diastole), and the largest blood pool left is not ED */
		int epi_here = 0, epi_phase = 0;
		for (i = 0; i < cs->n; i++) {
			int pos, ph;
			if (cs->c[i].kind != CTW_CONTOUR_EPI || !ctw_dicom_locate(s, cs->c[i].instance, &pos, &ph))
				continue;
			epi_here += ph == phase;
			if (ph != phase && !epi_phase)
				epi_phase = ph;
		}
		if (!epi_here && epi_phase) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, cdir,
					"the epicardial contours are on phase %d, which has no endocardial contour, and the "
					"largest LV blood pool of the rest is phase %d: the end-diastolic endocardia are "
					"missing; add them, or choose a phase with --phase N",
					epi_phase, phase);
			goto out;
		}
	}
	if ((ret = ctw_dicom_stack_build(ctx, dicom, s, phase, 0, &st)) ||
	    (ret = ctw_volume_new(ctx, st->dim, CTW_U8, &v)))
		goto out;
	memcpy(v->spacing, st->spacing, sizeof(v->spacing));
	memcpy(v->origin, st->origin, sizeof(v->origin));
	memcpy(v->direction, st->direction, sizeof(v->direction));
	for (i = 0; i < cs->n; i++) {
		int pos, ph;
		if (!ctw_dicom_locate(s, cs->c[i].instance, &pos, &ph)) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, cs->c[i].path, "no image with instance number %lld in '%s'",
					(long long)cs->c[i].instance, dicom);
			goto out;
		}
	}
	/* each contour of the phase, then each slice's pair, checked before anything is written */
	if ((ret = contours_check_phase(ctx, cdir, dicom, s, cs, phase, v)))
		goto out;
	/* epicardium first (myocardium), then endocardium (blood) over it */
	for (int kind = CTW_CONTOUR_EPI; kind >= CTW_CONTOUR_ENDO; kind--) {
		for (i = 0; i < cs->n; i++) {
			const ctw_contour *c = &cs->c[i];
			int pos, ph;
			if ((int)c->kind != kind)
				continue;
			ctw_dicom_locate(s, c->instance, &pos, &ph);
			if (ph != phase) {
				other_phase += kind == CTW_CONTOUR_ENDO;
				continue;
			}
			ctw_contour_fill(c, (int)v->dim[1], (int)v->dim[0],
					 (uint8_t *)v->data + (size_t)pos * (size_t)(v->dim[0] * v->dim[1]),
					 kind == CTW_CONTOUR_EPI ? CTW_LBL_LV_MYO : CTW_LBL_LV_BLOOD);
			used++;
		}
	}
	if (!used) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, cdir, "no contour lies on phase %d of '%s'", phase, dicom);
		goto out;
	}
	if ((ret = ctw_image_write_nifti(ctx, v, out)))
		goto out;
	{
		int64_t counts[3] = { 0, 0, 0 }, n, nv = ctw_volume_count(v);
		double vox = v->spacing[0] * v->spacing[1] * v->spacing[2] / 1000.0;
		for (n = 0; n < nv; n++)
			if (((uint8_t *)v->data)[n] < 3)
				counts[((uint8_t *)v->data)[n]]++;
		printf("contours: phase %d, %d contours on %lld slices (%d endocardial contours of other phases "
		       "left out), written to %s\n",
		       phase, used, (long long)v->dim[2], other_phase, out);
		if (cli_phase_rule[0])
			printf("  %s\n", cli_phase_rule);
		printf("  label   1 lv_blood   %10.3f mL\n  label   2 lv_myo     %10.3f mL\n", counts[1] * vox,
		       counts[2] * vox);
	}
out:
	ctw_volume_free(ctx, v);
	ctw_dicom_stack_free(ctx, st);
	ctw_dicom_scan_free(ctx, scan);
	ctw_contour_set_free(ctx, cs);
	return ret;
}

/* ---- segment -------------------------------------------------------------------------------- */

static const opt segment_opts[] = {
	{ "--image", "PATH", NULL, "the image the labels belong to: its grid is the output's (optional)" },
	{ "--phase", "N|ed|es", NULL, "the phase of a --image that is a DICOM cine (ed: the earliest trigger\n"
				      "                           time), or a 4-D NIfTI (a volume number); with --auto: ed\n"
				      "                           (default), es (the largest, smallest LV blood volume) or N" },
	{ "--series", "N|ID|UID", NULL, "the series of a DICOM --image directory holding several" },
	{ "--labels", "PATH", NULL, "the label map to bring in (required unless --auto)" },
	{ "--preset", "NAME", "auto", "mmwhs, acdc, mnms, ukbb-sax, ukbb-lax4ch, msd-task02, totalseg-v1,\n"
				      "                           totalseg-heartchambers, cemrg4ch, deepcac, canonical, nnunet, auto" },
	{ "--map", "FROM=TO,...", NULL, "a custom mapping to canonical labels instead of a preset" },
	{ "--model", "lv|biv|none", "none", "the ventricular model the labels are for (lv, biv: base plane and cut)" },
	{ "--iso", "MM|auto", "auto", "isotropic resampling; auto: thick slices to the in-plane spacing" },
	{ "--sigma", "MM", "half the spacing", "Gaussian of the per-label Gaussian + argmax resampling" },
	{ "--rv-wall", "MM", "3.5", "RV wall added when the RV myocardium is not segmented (biv); 0: never" },
	{ "--min-wall", "MM", "3", "myocardium closing a blood pool open below the base (apex); 0: never" },
	{ "--pad", "N", "2", "voxels of background around the map" },
	{ "--no-components", NULL, NULL, "keep islands (no largest component per label)" },
	{ "--no-fill-holes", NULL, NULL, "keep holes" },
	{ "--no-separate", NULL, NULL, "no wall where LV and RV blood pools touch" },
	{ "--no-base-plane", NULL, NULL, "no base plane and no cut (lv, biv)" },
	{ "-o|--output", "OUT.nii.gz", NULL, "the cleaned canonical map (required); OUT.log lists every change" },
	{ "--stack", "auto|N", NULL, "the stack of parallel series (one series per slice) of a DICOM --image" },
	{ "--auto", "mr", NULL, "segment the --image itself (cine MR short-axis stack) instead of --labels:\n"
				"                           LV blood 1, LV myocardium 2, RV blood 3 by the shipped network" },
	{ NULL, NULL, NULL, NULL }
};

/* The weights of the cine MR segmenter: $CTW_UNET_MR or the file beside the sources, always
 * checked against the SHA-256 built in (exit 4 with the path and both checksums). */
static int load_mr_net(ctw_ctx *ctx, ctw_unet **net)
{
	const char *env = getenv("CTW_UNET_MR"), *path = env && *env ? env : CTW_UNET_MR_PATH;
	*net = NULL;
	if (!CTW_UNET_MR_SHA256[0])
		return ctw_error(ctx, CTW_ERR_INTERNAL, path, "this build has no checksum for the segmentation weights "
				 "(segment/models/" CTW_UNET_MR_NAME ".sha256 was missing at configure time)");
	return ctw_unet_load(ctx, path, CTW_UNET_MR_SHA256, net);
}

char cli_auto_weights[65];
char cli_auto_confidence[1024];

/* One progress bar over all the phases segmented. */
static struct {
	int phase, n;
} auto_progress;

static int progress_auto(void *ud, const char *stage, double f)
{
	(void)stage;
	return progress_stderr(ud, "segment", ((double)auto_progress.phase + f) / (double)auto_progress.n);
}

/* segment --auto mr: the network on every phase (end-diastole and end-systole: the largest and
 * the smallest LV blood volume) or on the phase given, then the clean-up as for imported labels. */
static int segment_auto(ctw_ctx *ctx, const char **vals, ctw_segment_opts *so, const char *out)
{
	const char *image = vals[0];
	ctw_read_opts ro = CTW_READ_OPTS_INIT;
	ctw_image_info info;
	ctw_study_record rec;
	ctw_unet *net = NULL;
	ctw_cine *cine = NULL;
	ctw_volume *img = NULL, *lab = NULL, *best[2] = { NULL, NULL };
	ctw_labelmap *lm = NULL;
	float *conf = NULL, *best_conf[2] = { NULL, NULL };
	double best_ml[2] = { -1, INFINITY }, t0 = mono_now();
	char *alog = NULL, *slog = NULL, *logpath = NULL, *all = NULL, note[256], rule[160];
	int ret, want = 0 /* 0 ed, -2 es, N */, n_phases = 1, first = 1, last, best_phase[2] = { 0, 0 }, crop[4], chosen;
	int which; /* 0: the largest LV blood volume is wanted (ed, or the one phase given), 1: the smallest */

	if (vals[1] && !strcmp(vals[1], "es"))
		want = -2;
	else if (vals[1] && strcmp(vals[1], "ed") && cli_parse_phase(ctx, "segment", vals[1], &want))
		return ctw_error(ctx, CTW_ERR_INVALID, "segment",
				 "--phase must be a phase number (1, 2, ...), ed or es with --auto, not '%s'", vals[1]);
	if (vals[2])
		ro.series = vals[2];
	if ((ret = cli_parse_stack(ctx, "segment", vals[17], &ro.stack)))
		return ret;
	which = want == -2;
	if (cli_check_only)
		return CTW_OK;
	/* the phases: a cine DICOM stack or a 4-D NIfTI has several */
	ro.phase = 1;
	if ((ret = ctw_image_read_info(ctx, image, &ro, &info)))
		return ret;
	n_phases = info.n_phases > 1 ? info.n_phases : 1;
	if (want > 0) {
		if (want > n_phases)
			return ctw_error(ctx, CTW_ERR_FORMAT, image, "no phase %d: the study has %d phase%s", want, n_phases,
					 n_phases == 1 ? "" : "s");
		first = want;
	}
	last = want > 0 ? want : n_phases;
	if (info.dim[2] < 4)
		return ctw_error(ctx, CTW_ERR_FORMAT, image,
				 "%lld slice position%s (%lld x %lld pixels): a long-axis or single-slice series, not a "
				 "short-axis stack%s; --auto mr needs the short-axis cine stack (see `cardiotwin info`)",
				 (long long)info.dim[2], info.dim[2] == 1 ? "" : "s", (long long)info.dim[0],
				 (long long)info.dim[1], info.n_stacks > 1 ? " (the largest stack of parallel series found)" : "");
	if ((ret = load_mr_net(ctx, &net)))
		return ret;
	snprintf(cli_auto_weights, sizeof(cli_auto_weights), "%s", ctw_unet_get_info(net)->sha256);
	ctw_log(ctx, CTW_LOG_INFO, "segment", "automatic: network %s (%zu weights), SHA-256 %s", CTW_UNET_MR_NAME,
		ctw_unet_get_info(net)->n_params, ctw_unet_get_info(net)->sha256);
	conf = ctw_malloc(ctx, sizeof(float) * (size_t)info.dim[2]);
	best_conf[0] = ctw_malloc(ctx, sizeof(float) * (size_t)info.dim[2]);
	best_conf[1] = ctw_malloc(ctx, sizeof(float) * (size_t)info.dim[2]);
	if (!conf || !best_conf[0] || !best_conf[1]) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	auto_progress.n = last - first + 1;
	/* the network's workspace is allocated and freed for every phase: kept in the heap between
	 * them instead of mapped afresh (a fifth of the time went to page faults); undone at the end */
	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
	if ((ret = ctw_cine_open(ctx, image, &ro, &cine)))
		goto out;
	for (int p = first; p <= last; p++) {
		double ml;
		ctw_ctx_set_progress(ctx, NULL, NULL);
		ret = ctw_cine_read(ctx, cine, n_phases > 1 || want > 0 ? p : 0, CTW_F32, &img, &rec);
		ctw_ctx_set_progress(ctx, progress_auto, NULL);
		auto_progress.phase = p - first;
		if (ret)
			goto out;
		if (p == first) {
			if (!strcmp(rec.modality, "CT")) {
				ret = ctw_error(ctx, CTW_ERR_FORMAT, image, "is a CT series: --auto mr segments cine MR "
						"short-axis stacks only");
				goto out;
			}
			double mn = INFINITY;
			for (int64_t i = 0; i < ctw_volume_count(img); i++)
				mn = fmin(mn, ctw_volume_get(img, i));
			if (mn < -500) { /* air at -1000 HU */
				ret = ctw_error(ctx, CTW_ERR_FORMAT, image, "has intensities down to %.0f, as a CT in Hounsfield "
						"units has: --auto mr segments cine MR short-axis stacks only", mn);
				goto out;
			}
			if ((ret = ctw_automr_find_heart(ctx, net, img, CTW_AUTOMR_MARGIN_MM, 0, crop, note, sizeof(note))))
				goto out;
			ctw_log(ctx, CTW_LOG_INFO, "segment", "%s", note);
		}
		if ((ret = ctw_automr_segment(ctx, net, img, crop, 0, &lab, conf)))
			goto out;
		ml = ctw_automr_lv_ml(lab);
		/* the labels of the phase wanted are kept: the largest LV blood volume (ed), the smallest
		 * (es), or the one phase given; both extremes are recorded for the rule */
		int keep = which ? ml < best_ml[1] : ml > best_ml[0] || !best[0];
		if (ml > best_ml[0] || !best_phase[0]) {
			best_ml[0] = ml;
			best_phase[0] = p;
		}
		if (ml < best_ml[1] || !best_phase[1]) {
			best_ml[1] = ml;
			best_phase[1] = p;
		}
		if (keep) {
			ctw_volume_free(ctx, best[which]);
			best[which] = lab;
			memcpy(best_conf[which], conf, sizeof(float) * (size_t)info.dim[2]);
			lab = NULL;
		}
		ctw_volume_free(ctx, lab);
		lab = NULL;
		ctw_volume_free(ctx, img);
		img = NULL;
	}
	ctw_ctx_set_progress(ctx, progress_stderr, NULL);
	chosen = best_phase[which];
	lab = best[which];
	best[which] = NULL;
	memcpy(conf, best_conf[which], sizeof(float) * (size_t)info.dim[2]);
	if (want > 0)
		snprintf(rule, sizeof(rule), "phase %d as given", chosen);
	else if (n_phases > 1)
		snprintf(rule, sizeof(rule), "%s: phase %d of %d, the %s LV blood volume of the automatic segmentation "
			 "(%.1f mL; %s %.1f mL at phase %d)", which ? "es" : "ed", chosen, n_phases,
			 which ? "smallest" : "largest", best_ml[which], which ? "largest" : "smallest", best_ml[!which],
			 best_phase[!which]);
	else
		snprintf(rule, sizeof(rule), "a single phase");
	snprintf(cli_phase_rule, sizeof(cli_phase_rule), "%s", rule);
	printf("segment: --image %s; %s\n", image, rule);
	/* the heart may reach beyond the crop: that phase again on the whole field of view */
	if (crop[0] > 0 || crop[1] > 0 || crop[2] < info.dim[0] || crop[3] < info.dim[1]) {
		if (ctw_automr_touches_crop(lab, crop)) {
			ctw_log(ctx, CTW_LOG_INFO, "segment", "labels reach the crop's side: phase %d on the whole image", chosen);
			ctw_volume_free(ctx, lab);
			lab = NULL;
			if ((ret = ctw_cine_read(ctx, cine, n_phases > 1 || want > 0 ? chosen : 0, CTW_F32, &img, NULL)) ||
			    (ret = ctw_automr_segment(ctx, net, img, NULL, 0, &lab, conf)))
				goto out;
		}
	}
	if ((ret = ctw_automr_repair(ctx, image, lab, conf, &alog)))
		goto out;
	/* each labelled slice's confidence, for provenance (and the package's report through it) */
	cli_auto_confidence[0] = '\0';
	for (int64_t k = 0; k < info.dim[2]; k++) {
		const int64_t plane = lab->dim[0] * lab->dim[1];
		const uint8_t *sl = (const uint8_t *)lab->data + k * plane;
		int64_t any = 0;
		for (int64_t q = 0; q < plane && !any; q++)
			any = sl[q];
		if (any && isfinite(conf[k])) {
			size_t l = strlen(cli_auto_confidence);
			snprintf(cli_auto_confidence + l, sizeof(cli_auto_confidence) - l, "%s%lld:%.3f", l ? "," : "",
				 (long long)k + 1, (double)conf[k]);
		}
	}
	so->preset = "canonical";
	so->map = NULL;
	so->labels_path = image;
	if ((ret = ctw_segment_labels(ctx, so, NULL, lab, image, &lm, &slog)))
		goto out;
	size_t na = strlen(alog), ns = strlen(slog);
	char head[512];
	int nh = snprintf(head, sizeof(head), "auto: %s\nauto: weights %s SHA-256 %s\nauto: %s\n", rule, CTW_UNET_MR_NAME,
			  cli_auto_weights, note);
	if (!(all = ctw_malloc(ctx, (size_t)nh + na + ns + 1))) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	memcpy(all, head, (size_t)nh);
	memcpy(all + nh, alog, na);
	memcpy(all + nh + na, slog, ns + 1);
	if ((ret = cli_beside(ctx, out, "log", &logpath)) || (ret = ctw_labelmap_write_nifti(ctx, lm, out)) ||
	    (ret = cli_write_text(ctx, logpath, all)))
		goto out;
	printf("%s", all);
	printf("segment: written to %s (log: %s) in %.1f s\n", out, logpath, mono_now() - t0);
out:
	ctw_ctx_set_progress(ctx, progress_stderr, NULL);
	mallopt(M_MMAP_THRESHOLD, 128 << 10); /* glibc's defaults */
	mallopt(M_TRIM_THRESHOLD, 128 << 10);
	ctw_unet_free(ctx, net);
	ctw_cine_close(ctx, cine);
	ctw_volume_free(ctx, img);
	ctw_volume_free(ctx, lab);
	ctw_volume_free(ctx, best[0]);
	ctw_volume_free(ctx, best[1]);
	ctw_labelmap_free(ctx, lm);
	ctw_free(ctx, conf);
	ctw_free(ctx, best_conf[0]);
	ctw_free(ctx, best_conf[1]);
	ctw_free(ctx, alog);
	ctw_free(ctx, slog);
	ctw_free(ctx, all);
	ctw_free(ctx, logpath);
	malloc_trim(0);
	return ret;
}

static int cmd_segment(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	ctw_segment_opts so = CTW_SEGMENT_OPTS_INIT;
	ctw_read_opts ro = CTW_READ_OPTS_INIT;
	ctw_image_info info;
	ctw_volume grid, *labels = NULL;
	ctw_labelmap *lm = NULL;
	char *log = NULL, *logpath = NULL;
	const char *out = vals[16];
	uint64_t pad;
	int ret;

	(void)argc;
	(void)argv;
	if (vals[18]) {
		if (strcmp(vals[18], "mr"))
			return ctw_error(ctx, CTW_ERR_INVALID, "segment", "--auto must be mr (a cine MR short-axis stack), "
					 "not '%s'", vals[18]);
		if (vals[3] || vals[4] || vals[5])
			return ctw_error(ctx, CTW_ERR_INVALID, "segment", "--auto segments the --image itself; give it or "
					 "--labels (with --preset or --map), not both");
		if (!vals[0] || !out)
			return ctw_error(ctx, CTW_ERR_INVALID, "segment", "--auto mr needs --image STUDY and -o OUT.nii.gz");
	} else if (!vals[3] || !out)
		return ctw_error(ctx, CTW_ERR_INVALID, "segment", "--labels PATH (or --image STUDY --auto mr) and -o "
				 "OUT.nii.gz are required");
	if ((ret = check_nifti_out(ctx, "segment", out)))
		return ret;
	if (vals[4] && vals[5])
		return ctw_error(ctx, CTW_ERR_INVALID, "segment", "give --preset or --map, not both");
	so.preset = vals[5] ? NULL : vals[4] ? vals[4] : "auto";
	so.map = vals[5];
	so.labels_path = vals[3];
	if (vals[6]) {
		if (!strcmp(vals[6], "lv"))
			so.model = CTW_MODEL_LV;
		else if (!strcmp(vals[6], "biv"))
			so.model = CTW_MODEL_BIV;
		else if (strcmp(vals[6], "none"))
			return ctw_error(ctx, CTW_ERR_INVALID, "segment", "--model must be lv, biv or none");
	}
	if ((vals[7] && strcmp(vals[7], "auto") && (ret = cli_parse_double(ctx, "segment", "--iso", vals[7], 0, 20, &so.iso_mm))) ||
	    (vals[8] && (ret = cli_parse_double(ctx, "segment", "--sigma", vals[8], 0, 20, &so.sigma_mm))) ||
	    (vals[9] && (ret = cli_parse_double(ctx, "segment", "--rv-wall", vals[9], 0, 20, &so.rv_wall_mm))) ||
	    (vals[10] && (ret = cli_parse_double(ctx, "segment", "--min-wall", vals[10], 0, 20, &so.min_wall_mm))))
		return ret;
	if (vals[11]) {
		if ((ret = cli_parse_u64(ctx, "segment", "--pad", vals[11], &pad)) || pad > 100)
			return ret ? ret : ctw_error(ctx, CTW_ERR_INVALID, "segment", "--pad must be 0..100");
		so.pad = (int)pad;
	}
	so.largest_component = !vals[12];
	so.fill_holes = !vals[13];
	so.separate = !vals[14];
	so.base_plane = !vals[15];
	if (vals[2] && vals[17])
		return ctw_error(ctx, CTW_ERR_INVALID, "segment", "give --series or --stack, not both");
	if (vals[18])
		return segment_auto(ctx, vals, &so, out);
	if ((ret = cli_parse_phase(ctx, "segment", vals[1], &ro.phase)))
		return ret;
	ro.series = vals[2];
	if ((ret = cli_parse_stack(ctx, "segment", vals[17], &ro.stack)))
		return ret;
	if (vals[2] && vals[17])
		return ctw_error(ctx, CTW_ERR_INVALID, "segment", "give --series or --stack, not both");
	if ((vals[1] || vals[2] || vals[17]) && !vals[0])
		return ctw_error(ctx, CTW_ERR_INVALID, "segment", "%s selects from a DICOM%s --image; give --image",
				 vals[1] ? "--phase" : vals[2] ? "--series" : "--stack", vals[1] ? " or 4-D NIfTI" : "");
	if (cli_check_only)
		return CTW_OK;
	/* --phase on an image file: a volume of a 4-D NIfTI, checked by the reader */
	if ((vals[2] || vals[17]) && !ctw_is_dir(vals[0]) && !ctw_is_dicom_file(vals[0]))
		return ctw_error(ctx, CTW_ERR_FORMAT, vals[0], "%s applies to DICOM input only, and this is an image file; "
				 "leave it out", vals[2] ? "--series" : "--stack");
	if (vals[0]) { /* only the image's grid is needed */
		if ((ret = ctw_image_read_info(ctx, vals[0], &ro, &info)))
			return ret;
		if (info.n_phases > 1) { /* the phase, and the rule that chose it, for the record */
			printf("segment: --image phase %d of %d%s%s%s\n", info.phase, info.n_phases, info.phase_rule[0] ? " (" : "",
			       info.phase_rule, info.phase_rule[0] ? ")" : "");
			snprintf(cli_phase_rule, sizeof(cli_phase_rule), "%s", info.phase_rule);
		}
		memset(&grid, 0, sizeof(grid));
		memcpy(grid.dim, info.dim, sizeof(grid.dim));
		memcpy(grid.spacing, info.spacing, sizeof(grid.spacing));
		memcpy(grid.origin, info.origin, sizeof(grid.origin));
		memcpy(grid.direction, info.direction, sizeof(grid.direction));
	}
	/* bound the work from the header before reading the voxels */
	if ((ret = ctw_image_read_info(ctx, vals[3], NULL, &info)) ||
	    (ret = ctw_segment_check_size(ctx, &so, info.dim, info.spacing, vals[0] ? &grid : NULL, vals[3])))
		return ret;
	if ((ret = ctw_image_read(ctx, vals[3], 0, &labels)) ||
	    (ret = ctw_segment_labels(ctx, &so, vals[0] ? &grid : NULL, labels, vals[3], &lm, &log)) ||
	    (ret = cli_beside(ctx, out, "log", &logpath)) || (ret = ctw_labelmap_write_nifti(ctx, lm, out)) ||
	    (ret = cli_write_text(ctx, logpath, log)))
		goto out;
	printf("%s", log);
	printf("segment: written to %s (log: %s)\n", out, logpath);
out:
	ctw_free(ctx, log);
	ctw_free(ctx, logpath);
	ctw_volume_free(ctx, labels);
	ctw_labelmap_free(ctx, lm);
	return ret;
}

/* ---- evaluate -------------------------------------------------------------------------------- */

static const opt evaluate_opts[] = {
	{ "--ref", "PATH", NULL, "reference label map (required unless --contours)" },
	{ "--test", "PATH", NULL, "label map to judge (required); resampled onto the reference grid if needed;\n"
				  "                           with --contours: [PHASE=]PATH[,...], one map per phase\n"
				  "                           (PHASE: N, ed or es; no PHASE: ed) on that phase's --dicom grid" },
	{ "--labels", "L1,L2,...", "every label present", "labels to evaluate; with --contours: BLOOD,MYO, the\n"
							  "                           map's LV blood and myocardium labels (default 1,2)" },
	{ "--contours", "DIR", NULL, "score against Sunnybrook expert contours instead of --ref (MICCAI 2009\n"
				     "                           challenge: Dice and APD per contour, good = APD < --good-mm)" },
	{ "--dicom", "DIR", NULL, "--contours: the cine DICOM series they were drawn on (required with it)" },
	{ "--series", "S", NULL, "--contours: DICOM series, when the directory holds several" },
	{ "--good-mm", "MM", "5", "--contours: a contour is good when its APD is below this" },
	{ NULL, NULL, NULL, NULL }
};

#define MAX_TEST_MAPS 64

typedef struct contour_score {
	double dice, apd, apd_sym; /* apd, apd_sym: NaN when the automatic contour is missing */
	int good;
} contour_score;

/* Fills the holes of mask (rows x cols): background not 4-connected to the border. */
static int fill_holes_2d(ctw_ctx *ctx, uint8_t *mask, int rows, int cols)
{
	const size_t np = (size_t)rows * (size_t)cols;
	int32_t *stack = ctw_malloc(ctx, np * sizeof(*stack));
	uint8_t *out = ctw_calloc(ctx, np, 1); /* 1: background reached from the border */
	size_t top = 0;

	if (!stack || !out) {
		ctw_free(ctx, stack);
		ctw_free(ctx, out);
		return CTW_ERR_NOMEM;
	}
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++) {
			size_t p = (size_t)r * (size_t)cols + (size_t)c;
			if ((r == 0 || c == 0 || r == rows - 1 || c == cols - 1) && !mask[p] && !out[p]) {
				out[p] = 1;
				stack[top++] = (int32_t)p;
			}
		}
	while (top) {
		int32_t p = stack[--top];
		int r = p / cols, c = p % cols;
		int32_t nb[4] = { r > 0 ? p - cols : -1, r + 1 < rows ? p + cols : -1, c > 0 ? p - 1 : -1,
				  c + 1 < cols ? p + 1 : -1 };
		for (int k = 0; k < 4; k++)
			if (nb[k] >= 0 && !mask[nb[k]] && !out[nb[k]]) {
				out[nb[k]] = 1;
				stack[top++] = nb[k];
			}
	}
	for (size_t p = 0; p < np; p++)
		mask[p] = !out[p];
	ctw_free(ctx, stack);
	ctw_free(ctx, out);
	return CTW_OK;
}

/* Scores one expert contour c against slice `slice` (rows x cols label values) of a test map:
 * Dice of the filled expert polygon with the automatic mask, and the APD of the automatic
 * outline (ctw_mask_outline) to the expert polygon (ctw_contour_apd); see README, evaluate. */
static int score_contour(ctw_ctx *ctx, const ctw_contour *c, const uint16_t *slice, int rows, int cols, int blood,
			 int myo, double sx, double sy, double good_mm, contour_score *sc)
{
	const size_t np = (size_t)rows * (size_t)cols;
	uint8_t *m = ctw_calloc(ctx, np, 2), *exp_m = m + np;
	ctw_contour outline;
	int64_t na = 0, ne = 0, both = 0;
	int ret;

	sc->dice = 0;
	sc->apd = sc->apd_sym = NAN;
	sc->good = 0;
	if (!m)
		return CTW_ERR_NOMEM;
	for (size_t p = 0; p < np; p++)
		m[p] = slice[p] == blood || (c->kind == CTW_CONTOUR_EPI && slice[p] == myo);
	if (c->kind == CTW_CONTOUR_EPI && (ret = fill_holes_2d(ctx, m, rows, cols))) {
		ctw_free(ctx, m);
		return ret;
	}
	ctw_contour_fill(c, rows, cols, exp_m, 1);
	for (size_t p = 0; p < np; p++) {
		na += m[p];
		ne += exp_m[p];
		both += m[p] & exp_m[p];
	}
	sc->dice = na + ne ? 2.0 * (double)both / (double)(na + ne) : 0;
	ret = ctw_mask_outline(ctx, m, rows, cols, &outline);
	ctw_free(ctx, m);
	if (ret)
		return ret;
	if (outline.n > 0) {
		sc->apd = ctw_contour_apd(&outline, c, sx, sy);
		sc->apd_sym = (sc->apd + ctw_contour_apd(c, &outline, sx, sy)) / 2;
		sc->good = sc->apd < good_mm;
	}
	ctw_free(ctx, outline.xy);
	return CTW_OK;
}

/* Reads a label map as CTW_U16, refusing a voxel that is not an integer 0..65535 (after the
 * file's scaling) rather than converting it. */
static int read_label_map(ctw_ctx *ctx, const char *path, ctw_volume **out)
{
	ctw_volume *raw = NULL, *v = NULL;
	int ret;

	*out = NULL;
	if ((ret = ctw_image_read(ctx, path, 0, &raw)))
		return ret;
	if ((ret = ctw_volume_new(ctx, raw->dim, CTW_U16, &v)))
		goto out;
	memcpy(v->spacing, raw->spacing, sizeof(v->spacing));
	memcpy(v->origin, raw->origin, sizeof(v->origin));
	memcpy(v->direction, raw->direction, sizeof(v->direction));
	for (int64_t n = 0, nv = ctw_volume_count(raw); n < nv; n++) {
		double x = ctw_volume_get(raw, n);
		if (!(x >= 0 && x <= 65535 && x == floor(x))) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path,
					"voxel (%lld, %lld, %lld) holds %g: a label map holds integers 0..65535",
					(long long)(n % raw->dim[0]), (long long)(n / raw->dim[0] % raw->dim[1]),
					(long long)(n / (raw->dim[0] * raw->dim[1])), x);
			goto out;
		}
		((uint16_t *)v->data)[n] = (uint16_t)x;
	}
	*out = v;
	v = NULL;
out:
	ctw_volume_free(ctx, raw);
	ctw_volume_free(ctx, v);
	return ret;
}

/* evaluate --contours: every expert contour of a phase that has a --test map, scored as the
 * MICCAI 2009 LV segmentation challenge scored (see README). */
static int evaluate_contours(ctw_ctx *ctx, const char **vals)
{
	const char *cdir = vals[3], *dicom = vals[4];
	struct {
		int phase; /* >= 1, or CTW_PHASE_ED, or -2 (es) until resolved */
		const char *path;
		ctw_volume *map;
		double sx, sy;
	} t[MAX_TEST_MAPS];
	char *list = NULL, *tok, *save = NULL;
	int nt = 0, ret = CTW_OK, blood = 1, myo = 2, n_left = 0, n_on = 0;
	double good_mm = 5;
	ctw_dicom_scan *scan = NULL;
	const ctw_dicom_series *s;
	ctw_contour_set *cs = NULL;
	double *bloodv = NULL;
	char rules[2][160] = { "", "" }; /* the "# ed: ..." and "# es: ..." lines */
	struct {
		int n, good, missing;
		double dice, apd;
	} sum[2];

	memset(t, 0, sizeof(t));
	memset(sum, 0, sizeof(sum));
	if (vals[0])
		return ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "give --ref or --contours, not both");
	if (!dicom || !vals[1])
		return ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "--contours needs --dicom DIR and --test [PHASE=]LABELS");
	if (vals[6] && (ret = cli_parse_double(ctx, "evaluate", "--good-mm", vals[6], 0.001, 1000, &good_mm)))
		return ret;
	if (vals[2]) {
		char *end, *end2;
		long b = strtol(vals[2], &end, 10), m = *end == ',' ? strtol(end + 1, &end2, 10) : 0;
		if (*end != ',' || end2 == end + 1 || *end2 || b < 1 || b > 65535 || m < 1 || m > 65535 || b == m)
			return ctw_error(ctx, CTW_ERR_INVALID, "evaluate",
					 "with --contours, --labels takes two different labels BLOOD,MYO like 1,2, not '%s'", vals[2]);
		blood = (int)b;
		myo = (int)m;
	}
	list = ctw_malloc(ctx, strlen(vals[1]) + 1);
	if (!list)
		return CTW_ERR_NOMEM;
	strcpy(list, vals[1]);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int phase = CTW_PHASE_ED;
		/* PHASE= is a prefix without '/' or '.': "dir/a=b.nii.gz" is a path */
		if (eq && (memchr(tok, '/', (size_t)(eq - tok)) || memchr(tok, '.', (size_t)(eq - tok))))
			eq = NULL;
		if (nt == MAX_TEST_MAPS) {
			ret = ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "--test takes at most %d maps", MAX_TEST_MAPS);
			goto out;
		}
		if (eq) {
			*eq = '\0';
			char *end;
			long n = strtol(tok, &end, 10);
			if (!strcmp(tok, "es"))
				phase = -2;
			else if (strcmp(tok, "ed") && (end == tok || *end || n < 1 || n > 100000)) {
				ret = ctw_error(ctx, CTW_ERR_INVALID, "evaluate",
						"--test: the phase of a map is a phase number (1, 2, ...), ed or es, not '%s'", tok);
				goto out;
			} else if (strcmp(tok, "ed")) {
				phase = (int)n;
			}
			tok = eq + 1;
		}
		if (!*tok) {
			ret = ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "--test: a phase without a label map in '%s'", vals[1]);
			goto out;
		}
		t[nt].phase = phase;
		t[nt++].path = tok; /* in list, freed at the end */
	}
	if (!nt) {
		ret = ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "--test needs a label map");
		goto out;
	}
	if (cli_check_only)
		goto out;

	if ((ret = cli_use_salt(ctx)) || (ret = ctw_contours_read_dir(ctx, cdir, &cs)) ||
	    (ret = ctw_dicom_scan_dir(ctx, dicom, &scan)) || (ret = ctw_dicom_find_series(ctx, dicom, scan, vals[5], &s)) ||
	    (ret = contours_check_set(ctx, cdir, cs)))
		goto out;
	for (int i = 0; i < cs->n; i++) {
		int pos, ph;
		if (!ctw_dicom_locate(s, cs->c[i].instance, &pos, &ph)) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, cs->c[i].path, "no image with instance number %lld in '%s'",
					(long long)cs->c[i].instance, dicom);
			goto out;
		}
	}
	/* ed and es: the largest and the smallest LV blood volume of the expert endocardia */
	if ((ret = contour_blood(ctx, s, cs, &bloodv)))
		goto out;
	for (int i = 0; i < nt; i++) {
		if (t[i].phase == CTW_PHASE_ED) {
			char rule[96];
			if ((ret = ctw_dicom_ed_phase(ctx, cdir, s, bloodv, &t[i].phase, rule, sizeof(rule))))
				goto out;
			snprintf(rules[0], sizeof(rules[0]), "# ed: phase %d (%s)\n", t[i].phase, rule);
		} else if (t[i].phase == -2) {
			int es = 0;
			for (int p = 1; p <= s->n_phases; p++)
				if (bloodv[p - 1] > 0 && (!es || bloodv[p - 1] < bloodv[es - 1]))
					es = p;
			t[i].phase = es; /* contours_check_set: an endocardium somewhere, so es >= 1 */
			snprintf(rules[1], sizeof(rules[1]),
				 "# es: phase %d (the smallest LV blood volume of the expert endocardial contours, %.2f mL)\n",
				 es, bloodv[es - 1]);
		} else if (t[i].phase > s->n_phases) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, dicom, "has %d phase%s, and --test names phase %d ('%s')",
					s->n_phases, s->n_phases == 1 ? "" : "s", t[i].phase, t[i].path);
			goto out;
		}
		for (int j = 0; j < i; j++)
			if (t[j].phase == t[i].phase) {
				ret = ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "--test gives phase %d twice: '%s' and '%s'",
						t[i].phase, t[j].path, t[i].path);
				goto out;
			}
	}
	/* each map on the grid of its phase's stack */
	for (int i = 0; i < nt; i++) {
		ctw_dicom_stack *st = NULL;
		ctw_volume grid;
		if ((ret = ctw_dicom_stack_build(ctx, dicom, s, t[i].phase, 0, &st)))
			goto out;
		memset(&grid, 0, sizeof(grid));
		memcpy(grid.dim, st->dim, sizeof(grid.dim));
		memcpy(grid.spacing, st->spacing, sizeof(grid.spacing));
		memcpy(grid.origin, st->origin, sizeof(grid.origin));
		memcpy(grid.direction, st->direction, sizeof(grid.direction));
		ctw_dicom_stack_free(ctx, st);
		if ((ret = read_label_map(ctx, t[i].path, &t[i].map)))
			goto out;
		if (!ctw_same_grid(&grid, t[i].map, 1e-3)) {
			const ctw_volume *v = t[i].map;
			ret = ctw_error(ctx, CTW_ERR_FORMAT, t[i].path,
					"not on the grid of phase %d of '%s' (%lld x %lld x %lld voxels of %.4g x %.4g x %.4g mm "
					"at (%.2f, %.2f, %.2f), the map %lld x %lld x %lld of %.4g x %.4g x %.4g mm at (%.2f, "
					"%.2f, %.2f) or another direction); make the map on that stack's grid (the grid `contours` "
					"and `segment --image DICOM --phase N` write)",
					t[i].phase, dicom, (long long)grid.dim[0], (long long)grid.dim[1], (long long)grid.dim[2],
					grid.spacing[0], grid.spacing[1], grid.spacing[2], grid.origin[0], grid.origin[1],
					grid.origin[2], (long long)v->dim[0], (long long)v->dim[1], (long long)v->dim[2],
					v->spacing[0], v->spacing[1], v->spacing[2], v->origin[0], v->origin[1], v->origin[2]);
			goto out;
		}
		t[i].sx = grid.spacing[0];
		t[i].sy = grid.spacing[1];
	}
	/* every expert contour of those phases: points on the image */
	for (int i = 0; i < cs->n; i++) {
		const ctw_contour *c = &cs->c[i];
		int pos, ph, k;
		ctw_dicom_locate(s, c->instance, &pos, &ph);
		for (k = 0; k < nt && t[k].phase != ph; k++)
			;
		if (k == nt)
			continue;
		n_on++;
		for (int q = 0; q < c->n; q++) {
			double x = c->xy[2 * q], y = c->xy[2 * q + 1];
			if (!(x >= -0.5 && x <= t[k].map->dim[0] - 0.5 && y >= -0.5 && y <= t[k].map->dim[1] - 0.5)) {
				ret = ctw_error(ctx, CTW_ERR_FORMAT, c->path,
						"point %d (%g, %g) lies outside the %lld x %lld image of instance %lld in '%s'; "
						"the contour belongs to another image or study",
						q + 1, x, y, (long long)t[k].map->dim[0], (long long)t[k].map->dim[1],
						(long long)c->instance, dicom);
				goto out;
			}
		}
		if (ctw_contour_area(c) < 1.0) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, c->path, "the polygon encloses %.3g pixels (less than one); not a contour",
					ctw_contour_area(c));
			goto out;
		}
		{
			double x, y;
			if (ctw_contour_self_intersects(c, &x, &y) &&
			    (ret = ctw_warn(ctx, c->path, "the polygon crosses itself near (%.1f, %.1f): filled by the even-odd "
					    "rule", x, y)))
				goto out;
		}
	}
	if (!n_on) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, cdir, "no contour lies on the phase%s of --test in '%s'",
				nt > 1 ? "s" : "", dicom);
		goto out;
	}
	printf("%s%sfile,kind,phase,slice,instance,dice,apd_mm,apd_sym_mm,good\n", rules[0], rules[1]);
	for (int i = 0; i < cs->n; i++) {
		const ctw_contour *c = &cs->c[i];
		const ctw_volume *v;
		contour_score sc;
		int pos, ph, k, kind = c->kind == CTW_CONTOUR_EPI;
		ctw_dicom_locate(s, c->instance, &pos, &ph);
		for (k = 0; k < nt && t[k].phase != ph; k++)
			;
		if (k == nt) {
			n_left++;
			continue;
		}
		v = t[k].map;
		if (pos < 0 || pos >= v->dim[2]) { /* the map is on the stack's grid: cannot happen */
			ret = ctw_error(ctx, CTW_ERR_INTERNAL, c->path, "slice %d outside the stack", pos);
			goto out;
		}
		if ((ret = score_contour(ctx, c, (const uint16_t *)v->data + (size_t)pos * (size_t)(v->dim[0] * v->dim[1]),
					 (int)v->dim[1], (int)v->dim[0], blood, myo, t[k].sx, t[k].sy, good_mm, &sc)))
			goto out;
		printf("%s,%s,%d,%d,%lld,%.6f,", c->path, kind ? "epi" : "endo", ph, pos, (long long)c->instance, sc.dice);
		if (isnan(sc.apd))
			printf(",,0\n");
		else
			printf("%.4f,%.4f,%d\n", sc.apd, sc.apd_sym, sc.good);
		sum[kind].n++;
		sum[kind].missing += isnan(sc.apd);
		if (sc.good) {
			sum[kind].good++;
			sum[kind].dice += sc.dice;
			sum[kind].apd += sc.apd;
		}
	}
	for (int kind = 0; kind < 2; kind++) {
		if (!sum[kind].n) {
			printf("# %s: 0 contours\n", kind ? "epi" : "endo");
			continue;
		}
		printf("# %s: %d contours, %d good (%.1f %%), %d missing; good contours: mean dice %.4f, mean apd %.3f mm\n",
		       kind ? "epi" : "endo", sum[kind].n, sum[kind].good, 100.0 * sum[kind].good / sum[kind].n,
		       sum[kind].missing, sum[kind].good ? sum[kind].dice / sum[kind].good : NAN,
		       sum[kind].good ? sum[kind].apd / sum[kind].good : NAN);
	}
	if (n_left)
		printf("# %d contours of other phases left out (no --test map for their phase)\n", n_left);
out:
	for (int i = 0; i < nt; i++)
		ctw_volume_free(ctx, t[i].map);
	ctw_free(ctx, bloodv);
	ctw_free(ctx, list);
	ctw_dicom_scan_free(ctx, scan);
	ctw_contour_set_free(ctx, cs);
	return ret;
}

static int cmd_evaluate(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	ctw_volume *ref = NULL, *test = NULL, *w = NULL;
	ctw_label_metrics *m = NULL;
	int labels[256], n = 0, ret, i;

	(void)argc;
	(void)argv;
	if (vals[3])
		return evaluate_contours(ctx, vals);
	if (vals[4] || vals[5] || vals[6])
		return ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "%s applies to --contours only",
				 vals[4] ? "--dicom" : vals[5] ? "--series" : "--good-mm");
	if (!vals[0] || !vals[1])
		return ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "--ref and --test are required");
	if (vals[2]) {
		const char *p = vals[2];
		while (*p && n < 256) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end == p || v < 1 || v > 65535 || (*end && *end != ','))
				return ctw_error(ctx, CTW_ERR_INVALID, "evaluate", "--labels takes integers 1..65535 like 1,2,3, not '%s'",
						 vals[2]);
			labels[n++] = (int)v;
			p = *end ? end + 1 : end;
		}
	}
	if (cli_check_only)
		return CTW_OK;
	if ((ret = ctw_image_read(ctx, vals[0], CTW_U16, &ref)) || (ret = ctw_image_read(ctx, vals[1], CTW_U16, &test)))
		goto out;
	if (!ctw_same_grid(ref, test, 1e-4)) {
		int64_t lost;
		if ((ret = ctw_seg_resample_to(ctx, vals[1], test, ref, &w, &lost)))
			goto out;
		ctw_log(ctx, CTW_LOG_WARN, vals[1], "on another grid than the reference: resampled onto it (nearest "
			"neighbour; %lld labelled voxels fell outside)", (long long)lost);
		ctw_volume_free(ctx, test);
		test = w;
		w = NULL;
	}
	if (!n) {
		static uint8_t seen[65536];
		memset(seen, 0, sizeof(seen));
		for (int64_t v = 0; v < ctw_volume_count(ref); v++)
			seen[(int)ctw_volume_get(ref, v)] = 1;
		for (int64_t v = 0; v < ctw_volume_count(test); v++)
			seen[(int)ctw_volume_get(test, v)] = 1;
		for (i = 1; i < 65536 && n < 256; i++)
			if (seen[i])
				labels[n++] = i;
		if (!n) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, vals[0], "both label maps are empty");
			goto out;
		}
	}
	m = ctw_calloc(ctx, (size_t)n, sizeof(*m));
	if (!m) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	if ((ret = ctw_evaluate(ctx, ref, test, labels, n, m)))
		goto out;
	printf("label,name,dice,jaccard,hd95_mm,assd_mm,hd_mm,vol_ref_ml,vol_test_ml,vol_diff_ml\n");
	for (i = 0; i < n; i++) {
		const char *name = ctw_label_name(m[i].label);
		printf("%d,%s,%.6f,%.6f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", m[i].label, name ? name : "", m[i].dice, m[i].jaccard,
		       m[i].hd95, m[i].assd, m[i].hd, m[i].vol_ref_ml, m[i].vol_test_ml, m[i].vol_diff_ml);
	}
out:
	ctw_free(ctx, m);
	ctw_volume_free(ctx, ref);
	ctw_volume_free(ctx, test);
	ctw_volume_free(ctx, w);
	return ret;
}

/* Prints dir/name (a stage's summary) to stdout. */
static void print_file(ctw_ctx *ctx, const char *dir, const char *name)
{
	char *q = NULL, line[512];
	FILE *f = NULL;

	if (!ctw_path_join(ctx, dir, name, &q) && (f = fopen(q, "r"))) {
		while (fgets(line, sizeof(line), f))
			fputs(line, stdout);
		fclose(f);
	}
	ctw_free(ctx, q);
}

/* ---- mesh ------------------------------------------------------------------------------------ */

static const opt mesh_opts[] = {
	{ "--labels", "PATH", NULL, "a canonical label map with its base plane (from segment or phantom)" },
	{ "--surface", "FILE", NULL, "or a closed surface (.vtp, .vtk, .stl) to mesh instead" },
	{ "--model", "lv|biv", "lv", "which myocardium: LV (label 2) or LV + RV (labels 2, 103)" },
	{ "--edge-length", "MM", "1", "target edge length of surface and tetrahedra" },
	{ "--smooth", "N", "20", "windowed-sinc smoothing iterations of the label surface" },
	{ "--radius-edge", "R", "1.5", "TetGen quality: largest radius-edge ratio" },
	{ "--min-dihedral", "DEG", "10", "TetGen quality: smallest dihedral angle" },
	{ "--surface-array", "NAME", "surface-id", "--surface: the cell array holding surface ids" },
	{ "--surface-tags", "ID=TAG,...", NULL, "--surface: ids to tags (epi, lv_endo, rv_endo, base); default from\n"
						 "                           a *part_definition.json beside the file, else all epi" },
	{ "--timeout", "S", "0", "give TetGen at most S seconds (0: no limit)" },
	{ "-o|--output", "DIR", NULL, "output directory: mesh.vtu, surfaces.vtp, quality.txt (required)" },
	{ "--keep-surface", NULL, NULL, "also write DIR/surface.smesh, the surface TetGen meshed" },
	{ NULL, NULL, NULL, NULL }
};

static int tag_from_name(const char *name)
{
	char low[256];
	size_t i;
	for (i = 0; name[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	low[i] = '\0';
	if (!strcmp(low, "epi") || strstr(low, "epicardium"))
		return CTW_SURF_EPI;
	if (!strcmp(low, "lv_endo") || (strstr(low, "endocardium") && !strstr(low, "right")))
		return CTW_SURF_LV_ENDO;
	if (!strcmp(low, "rv_endo") || strstr(low, "endocardium"))
		return CTW_SURF_RV_ENDO;
	if (!strcmp(low, "base") || strstr(low, "valve") || strstr(low, "plane") || strstr(low, "interface"))
		return CTW_SURF_BASE;
	return 0;
}

/* Surface ids named in a *part_definition.json beside the surface file ("name": id pairs). */
static int tags_from_json(ctw_ctx *ctx, const char *surface, int *tag_of, int n)
{
	char dir[4096], *json = NULL, *text = NULL;
	const char *slash = strrchr(surface, '/');
	struct dirent *e;
	DIR *d;
	int found = 0;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - surface) : 1, slash ? surface : ".");
	if (!(d = opendir(dir)))
		return 0;
	while ((e = readdir(d)) && !json)
		if (cli_ends_with(e->d_name, "part_definition.json") && ctw_path_join(ctx, dir, e->d_name, &json))
			break;
	closedir(d);
	if (json) {
		FILE *f = fopen(json, "rb");
		long len = 0;
		if (f && !fseek(f, 0, SEEK_END) && (len = ftell(f)) > 0 && len < (1 << 20) && !fseek(f, 0, SEEK_SET) &&
		    (text = ctw_malloc(ctx, (size_t)len + 1)) && fread(text, 1, (size_t)len, f) == (size_t)len) {
			char *p = text;
			text[len] = '\0';
			/* every "name": integer pair; ids of structures, not surfaces, map to no tag */
			while ((p = strchr(p, '"'))) {
				char *q = strchr(p + 1, '"'), *r, *end;
				long id;
				if (!q)
					break;
				*q = '\0';
				for (r = q + 1; *r == ' ' || *r == '\t' || *r == '\n' || *r == '\r'; r++)
					;
				if (*r == ':') {
					id = strtol(r + 1, &end, 10);
					if (end != r + 1 && id >= 0 && id < n && tag_from_name(p + 1)) {
						tag_of[id] = tag_from_name(p + 1);
						ctw_log(ctx, CTW_LOG_INFO, "mesh", "%s: surface id %ld '%s' -> %s", json, id, p + 1,
							ctw_surface_name(tag_of[id]));
						found++;
					}
				}
				p = q + 1;
			}
		}
		if (f)
			fclose(f);
	}
	ctw_free(ctx, text);
	ctw_free(ctx, json);
	return found;
}

/* An error of a stage that does not name its input yet gets the input's path in front
 * ("<file>: mesh: ..."), the status kept. */
static void name_input(ctw_ctx *ctx, const char *path)
{
	char msg[1024];

	if (!path || ctw_errcode(ctx) == CTW_OK || ctw_errcode(ctx) == CTW_ERR_INVALID || strstr(ctw_errmsg(ctx), path))
		return;
	snprintf(msg, sizeof(msg), "%s", ctw_errmsg(ctx));
	ctw_error(ctx, ctw_errcode(ctx), path, "%s", msg);
}

static int cmd_mesh(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	ctw_mesh_opts mo = CTW_MESH_OPTS_INIT;
	ctw_mesh_result res;
	ctw_labelmap *lm = NULL;
	ctw_surface *surf = NULL;
	const char *out = vals[10];
	char *tmp = NULL;
	int ret, tag_of[256] = { 0 }, has_array = 0;
	uint64_t n;

	(void)argc;
	(void)argv;
	memset(&res, 0, sizeof(res));
	if (!out || (!vals[0] == !vals[1]))
		return ctw_error(ctx, CTW_ERR_INVALID, "mesh", "give --labels PATH or --surface FILE, and -o DIR");
	if (vals[2] && strcmp(vals[2], "lv") && strcmp(vals[2], "biv"))
		return ctw_error(ctx, CTW_ERR_INVALID, "mesh", "--model must be lv or biv");
	mo.biv = vals[2] && !strcmp(vals[2], "biv");
	if ((vals[3] && (ret = cli_parse_double(ctx, "mesh", "--edge-length", vals[3], 0.05, 50, &mo.edge_mm))) ||
	    (vals[5] && (ret = cli_parse_double(ctx, "mesh", "--radius-edge", vals[5], 1.1, 10, &mo.tetgen.max_radius_edge))) ||
	    (vals[6] && (ret = cli_parse_double(ctx, "mesh", "--min-dihedral", vals[6], 0, 25, &mo.tetgen.min_dihedral_deg))) ||
	    (vals[9] && (ret = cli_parse_double(ctx, "mesh", "--timeout", vals[9], 0, 1e6, &mo.tetgen.timeout_s))))
		return ret;
	if (vals[4]) {
		if ((ret = cli_parse_u64(ctx, "mesh", "--smooth", vals[4], &n)) || n > 1000)
			return ret ? ret : ctw_error(ctx, CTW_ERR_INVALID, "mesh", "--smooth must be 0..1000");
		mo.smooth_iterations = (int)n;
	}
	if (vals[8]) { /* ID=TAG,... */
		char buf[1024], *item, *save = NULL;
		snprintf(buf, sizeof(buf), "%s", vals[8]);
		for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(item, '='), *end;
			long id = eq ? strtol(item, &end, 10) : -1;
			if (!eq || end != eq || id < 0 || id > 255 || !tag_from_name(eq + 1))
				return ctw_error(ctx, CTW_ERR_INVALID, "mesh",
						 "--surface-tags takes ID=TAG items (TAG: epi, lv_endo, rv_endo, base), not '%s'", item);
			tag_of[id] = tag_from_name(eq + 1);
		}
	}
	if (time_left() > 0 && (mo.tetgen.timeout_s <= 0 || mo.tetgen.timeout_s > time_left()))
		mo.tetgen.timeout_s = time_left(); /* the global --timeout bounds TetGen too */
	if (cli_check_only)
		return CTW_OK;
	if (ctw_is_file(out) || (!ctw_is_dir(out) && access(out, F_OK) == 0))
		return ctw_error(ctx, CTW_ERR_IO, out, "exists and is not a directory");

	/* mesh --timeout bounds the whole stage, not only TetGen; a sooner global deadline stays */
	if (mo.tetgen.timeout_s > 0 && (ctw_ctx_deadline(ctx) <= 0 || mono_now() + mo.tetgen.timeout_s < ctw_ctx_deadline(ctx)))
		ctw_ctx_set_deadline(ctx, mo.tetgen.timeout_s);
	if (vals[0]) {
		if ((ret = ctw_labelmap_read_nifti(ctx, vals[0], &lm)) || (ret = ctw_labels_check_extent(ctx, vals[0], lm->grid)) ||
		    (ret = ctw_mesh_labels_check(ctx, vals[0], lm, &mo)) ||
		    (ret = ctw_mesh_labels(ctx, lm, &mo, &res)))
			goto out;
	} else {
		if ((ret = ctw_vtk_read_surface(ctx, vals[1], vals[7] ? vals[7] : "surface-id", &surf, &has_array)) ||
		    (ret = ctw_surface_sane(ctx, vals[1], surf, mo.edge_mm)))
			goto out;
		if (has_array && !vals[8] && !tags_from_json(ctx, vals[1], tag_of, 256))
			ctw_log(ctx, CTW_LOG_WARN, vals[1], "surface ids without names: every triangle is epicardium "
				"(name them with --surface-tags)");
		ret = ctw_mesh_surface(ctx, surf, tag_of, 256, &mo, &res);
		surf = NULL; /* taken over */
		if (ret)
			goto out;
		if (res.n_caps)
			ctw_log(ctx, CTW_LOG_WARN, vals[1], "%d openings closed (rim ears trimmed, capped, then the whole surface "
				"remeshed at the edge length, so caps are planar), tagged base", res.n_caps);
	}
	if ((ret = ctw_tmp_sibling(ctx, out, &tmp)) || (ret = ctw_mkdir_p(ctx, tmp)) ||
	    (ret = ctw_mesh_write(ctx, &res, vals[11] != NULL, tmp)) || (ret = ctw_publish(ctx, tmp, out)))
		goto out;
	print_file(ctx, out, "quality.txt");
	printf("mesh: written to %s\n", out);
	if (fabs(res.volume_error) > 0.02)
		ctw_log(ctx, CTW_LOG_WARN, "mesh", "mesh volume differs from the reference by %.2f %% (more than 2 %%)",
			100 * res.volume_error);
	if (res.voxel_mm > 0 && res.surface_distance_mm > 0.5 * res.voxel_mm)
		ctw_log(ctx, CTW_LOG_WARN, "mesh", "mean surface distance %.3f mm is more than half a voxel", res.surface_distance_mm);
out:
	if (ret)
		name_input(ctx, vals[0] ? vals[0] : vals[1]);
	if (ret && tmp)
		cli_discard(ctx, tmp);
	ctw_free(ctx, tmp);
	ctw_mesh_result_release(ctx, &res);
	ctw_labelmap_free(ctx, lm);
	ctw_surface_free(ctx, surf);
	return ret;
}

/* ---- fibers ------------------------------------------------------------------------------------ */

static const opt fibers_opts[] = {
	{ "--mesh", "DIR|FILE.msh", NULL, "a mesh directory (mesh.vtu + surfaces.vtp) or a Gmsh 4.1 file (required)" },
	{ "--model", "lv|biv|auto", "auto", "biv needs rv_endo faces; auto: biv when the mesh has them" },
	{ "--mode", "linear|bayer", "linear", "LDRB rule: linear (B, continuity-preserving) or bayer (A, as published)" },
	{ "--alpha-endo", "DEG", "60", "helix angle at the endocardium" },
	{ "--alpha-epi", "DEG", "-60", "helix angle at the epicardium" },
	{ "--beta-endo", "DEG", "0", "sheet angle at the endocardium" },
	{ "--beta-epi", "DEG", "0", "sheet angle at the epicardium" },
	{ "--rv-angles", "AE,AP,BE,BP", NULL, "separate RV free-wall angles (alpha endo, epi, beta endo, epi)" },
	{ "--septum-angles", "AE,AP,BE,BP", NULL, "separate septum angles" },
	{ "--apex", "NODE", NULL, "apex node (default: the mesh's apex, else the epicardial node farthest from the base)" },
	{ "--tolerance", "RTOL", "1e-10", "relative residual of the CG solves" },
	{ "--precond", "auto|jacobi|ssor|amg", "auto", "CG preconditioner; auto: AMG from 50k nodes, else Jacobi" },
	{ "--threads", "N", "0", "threads (0: all cores)" },
	{ "-o|--output", "DIR", NULL, "output directory: mesh.vtu with the fibres and fields, surfaces.vtp, fibers.txt" },
	{ NULL, NULL, NULL, NULL }
};

static int parse_angles4(ctw_ctx *ctx, const char *name, const char *s, ctw_angles *a)
{
	double v[4];
	char *end;
	const char *p = s;

	for (int k = 0; k < 4; k++) {
		v[k] = strtod(p, &end);
		if (end == p || (k < 3 && *end != ',') || (k == 3 && *end))
			return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "%s takes four angles in degrees A,B,C,D, not '%s'", name, s);
		p = end + 1;
	}
	a->alpha_endo = v[0], a->alpha_epi = v[1], a->beta_endo = v[2], a->beta_epi = v[3];
	return CTW_OK;
}

/* The record of a fibre run: parameters as used, solves, and the helix angle per depth. */
static int write_fibers_txt(ctw_ctx *ctx, const char *path, const ctw_fiber_opts *o, const ctw_fiber_result *r)
{
	static const char *const rn[3] = { "lv", "rv", "septum" };
	const ctw_angles *sets[3] = { &o->lv, o->has_rv ? &o->rv : &o->lv, o->has_sept ? &o->sept : &o->lv };
	FILE *f = fopen(path, "w");
	int ret = CTW_OK;

	if (!f)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot create: %s", strerror(errno));
	fprintf(f, "model: %s\nmode: %s\n", r->biv ? "biv" : "lv", o->mode == CTW_LDRB_BAYER ? "bayer (A)" : "linear (B)");
	for (int g = 0; g < 3; g++)
		fprintf(f, "angles %s: alpha_endo %g alpha_epi %g beta_endo %g beta_epi %g\n", rn[g], sets[g]->alpha_endo,
			sets[g]->alpha_epi, sets[g]->beta_endo, sets[g]->beta_epi);
	fprintf(f, "frame: fiber = Q[:,0], sheet = Q[:,2] (transmural when beta = 0), sheet_normal = fiber x sheet\n");
	fprintf(f, "points: %lld\ntetrahedra: %lld\napex node: %lld\n", (long long)r->n_points, (long long)r->n_tets,
		(long long)r->apex_node);
	fprintf(f, "solver: CG %s, rtol %g\n",
		o->solver.precond == CTW_PC_SSOR ? "SSOR" : o->solver.precond == CTW_PC_AMG ? "AMG (smoothed aggregation)" : "Jacobi",
		o->solver.rtol);
	fprintf(f, "solve phi_lv: %d iterations, residual %.3g, %.3f s, %lld clamped\n", r->solve_lv.iterations,
		r->solve_lv.rel_residual, r->solve_lv.seconds, (long long)r->solve_lv.clamped);
	if (r->biv)
		fprintf(f, "solve phi_rv: %d iterations, residual %.3g, %.3f s, %lld clamped\n", r->solve_rv.iterations,
			r->solve_rv.rel_residual, r->solve_rv.seconds, (long long)r->solve_rv.clamped);
	fprintf(f, "solve psi_ab: %d iterations, residual %.3g, %.3f s, %lld clamped\n", r->solve_ab.iterations,
		r->solve_ab.rel_residual, r->solve_ab.seconds, (long long)r->solve_ab.clamped);
	fprintf(f, "degenerate tetrahedra: %lld\nfallback frames: %lld\n", (long long)r->n_degenerate_tets,
		(long long)r->n_fallback);
	fprintf(f, "time: assembly %.3f s, rule %.3f s, total %.3f s\n", r->setup_seconds, r->rule_seconds, r->total_seconds);
	fprintf(f, "helix angle (deg) by transmural depth phi_epi: region bin_from bin_to count mean sd\n");
	for (int g = 0; g < 3; g++)
		for (int b = 0; b < CTW_HELIX_BINS; b++)
			if (r->helix_count[g][b])
				fprintf(f, "helix %s %.1f %.1f %lld %.2f %.2f\n", rn[g], (double)b / CTW_HELIX_BINS,
					(double)(b + 1) / CTW_HELIX_BINS, (long long)r->helix_count[g][b], r->helix_mean[g][b],
					r->helix_sd[g][b]);
	if (ferror(f))
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write");
	if (fclose(f) && !ret)
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno));
	return ret;
}

static int cmd_fibers(ctw_ctx *ctx, int argc, char **argv, const char **vals)
{
	ctw_fiber_opts fo = CTW_FIBER_OPTS_INIT;
	ctw_fiber_result res;
	ctw_mesh_in in;
	const char *out = vals[13];
	const char *names[] = { "apex_node" };
	char *tmp = NULL, *vtu = NULL, *vtp = NULL, *txt = NULL;
	double threads = 0;
	int ret, want_biv = 0;

	(void)argc;
	(void)argv;
	memset(&res, 0, sizeof(res));
	memset(&in, 0, sizeof(in));
	if (!vals[0] || !out)
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "give --mesh DIR and -o DIR");
	if (vals[1] && strcmp(vals[1], "lv") && strcmp(vals[1], "biv") && strcmp(vals[1], "auto"))
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "--model must be lv, biv or auto");
	want_biv = vals[1] && !strcmp(vals[1], "biv");
	if (vals[2] && strcmp(vals[2], "linear") && strcmp(vals[2], "bayer"))
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "--mode must be linear or bayer");
	fo.mode = vals[2] && !strcmp(vals[2], "bayer") ? CTW_LDRB_BAYER : CTW_LDRB_LINEAR;
	if ((vals[3] && (ret = cli_parse_double(ctx, "fibers", "--alpha-endo", vals[3], -1e6, 1e6, &fo.lv.alpha_endo))) ||
	    (vals[4] && (ret = cli_parse_double(ctx, "fibers", "--alpha-epi", vals[4], -1e6, 1e6, &fo.lv.alpha_epi))) ||
	    (vals[5] && (ret = cli_parse_double(ctx, "fibers", "--beta-endo", vals[5], -1e6, 1e6, &fo.lv.beta_endo))) ||
	    (vals[6] && (ret = cli_parse_double(ctx, "fibers", "--beta-epi", vals[6], -1e6, 1e6, &fo.lv.beta_epi))) ||
	    (vals[7] && (ret = parse_angles4(ctx, "--rv-angles", vals[7], &fo.rv))) ||
	    (vals[8] && (ret = parse_angles4(ctx, "--septum-angles", vals[8], &fo.sept))) ||
	    (vals[10] && (ret = cli_parse_double(ctx, "fibers", "--tolerance", vals[10], 1e-15, 0.1, &fo.solver.rtol))) ||
	    (vals[12] && (ret = cli_parse_double(ctx, "fibers", "--threads", vals[12], 0, 64, &threads))))
		return ret;
	fo.has_rv = vals[7] != NULL;
	fo.has_sept = vals[8] != NULL;
	fo.solver.threads = (int)threads;
	if (vals[11] && strcmp(vals[11], "jacobi") && strcmp(vals[11], "ssor") && strcmp(vals[11], "amg") &&
	    strcmp(vals[11], "auto"))
		return ctw_error(ctx, CTW_ERR_INVALID, "fibers", "--precond must be auto, jacobi, ssor or amg");
	fo.solver.precond = vals[11] && !strcmp(vals[11], "ssor") ? CTW_PC_SSOR
			    : vals[11] && !strcmp(vals[11], "amg") ? CTW_PC_AMG : CTW_PC_JACOBI;
	if ((ret = ctw_fiber_opts_check(ctx, &fo)))
		return ret;
	if (vals[9] && (ret = cli_parse_u64(ctx, "fibers", "--apex", vals[9], &(uint64_t){ 0 })))
		return ret;
	if (cli_check_only)
		return CTW_OK;
	if (ctw_is_file(out) || (!ctw_is_dir(out) && access(out, F_OK) == 0))
		return ctw_error(ctx, CTW_ERR_IO, out, "exists and is not a directory");

	if ((ret = ctw_mesh_read(ctx, vals[0], &in)))
		goto out;
	fo.apex_node = in.apex_node;
	/* auto: AMG pays from about 50k nodes (1 M tets: 1.4 s against Jacobi's 1.7 s; 1 M nodes: 9.7 s
	 * against 20.6 s); below, its setup costs more than it saves */
	if ((!vals[11] || !strcmp(vals[11], "auto")) && in.mesh->n_points >= 50000)
		fo.solver.precond = CTW_PC_AMG;
	if (vals[9]) {
		uint64_t n;
		if ((ret = cli_parse_u64(ctx, "fibers", "--apex", vals[9], &n)))
			goto out;
		if ((int64_t)n >= in.mesh->n_points) {
			ret = ctw_error(ctx, CTW_ERR_INVALID, "fibers", "--apex %s is not a node of the mesh (%lld nodes)", vals[9],
					(long long)in.mesh->n_points);
			goto out;
		}
		fo.apex_node = (int64_t)n;
	}
	if ((ret = ctw_fibers_compute(ctx, vals[0], in.mesh, want_biv, &fo, &res)))
		goto out;
	if (vals[1] && !strcmp(vals[1], "lv") && res.biv)
		ctw_log(ctx, CTW_LOG_WARN, vals[0], "--model lv on a mesh with rv_endo faces: computed as biv");
	if ((ret = ctw_tmp_sibling(ctx, out, &tmp)) || (ret = ctw_mkdir_p(ctx, tmp)) ||
	    (ret = ctw_path_join(ctx, tmp, "mesh.vtu", &vtu)) || (ret = ctw_path_join(ctx, tmp, "surfaces.vtp", &vtp)) ||
	    (ret = ctw_path_join(ctx, tmp, "fibers.txt", &txt)))
		goto out;
	if ((ret = ctw_vtk_write_vtu(ctx, in.mesh, (const ctw_field *const *)res.fields, res.n_fields, names, &res.apex_node,
				     1, vtu)) ||
	    (ret = ctw_vtk_write_vtp(ctx, in.mesh->xyz, in.mesh->n_points, in.mesh->tris, in.mesh->tri_marker,
				     in.mesh->n_tris, "surface", vtp)) ||
	    (ret = write_fibers_txt(ctx, txt, &fo, &res)))
		goto out;
	if (in.n_reoriented) { /* the reader's repair, in the record too */
		FILE *f = fopen(txt, "a");
		if (!f || fprintf(f, "warning: %lld inverted tetrahedra of %s reoriented\n", (long long)in.n_reoriented,
				  vals[0]) < 0 || fclose(f)) {
			ret = ctw_error(ctx, CTW_ERR_IO, txt, "cannot write: %s", strerror(errno));
			goto out;
		}
	}
	if ((ret = ctw_publish(ctx, tmp, out)))
		goto out;
	print_file(ctx, out, "fibers.txt");
	printf("fibers: written to %s\n", out);
out:
	if (ret)
		name_input(ctx, vals[0]);
	if (ret && tmp)
		cli_discard(ctx, tmp);
	ctw_free(ctx, tmp);
	ctw_free(ctx, vtu);
	ctw_free(ctx, vtp);
	ctw_free(ctx, txt);
	ctw_fiber_result_release(ctx, &res);
	ctw_mesh_in_release(ctx, &in);
	return ret;
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
		ret = ctw_labelmap_write_nifti(ctx, lab, p[1]);
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
	if ((vals[2] && (ret = cli_parse_double(ctx, "phantom", "--spacing", vals[2], 0.1, 5, &o.spacing_mm))) ||
	    (vals[3] && (ret = cli_parse_double(ctx, "phantom", "--noise", vals[3], 0, 1e4, &o.noise_sd))) ||
	    (vals[4] && (ret = cli_parse_u64(ctx, "phantom", "--seed", vals[4], &o.seed))))
		return ret;
	if (cli_check_only)
		return CTW_OK;
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
	if (ret && tmp)
		cli_discard(ctx, tmp);
	ctw_free(ctx, tmp);
	ctw_volume_free(ctx, img);
	ctw_labelmap_free(ctx, lab);
	return ret;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

const command cli_commands[] = {
	{ "info", "PATH", "Print the geometry of an image file (NIfTI, NRRD, MetaImage) or of a DICOM\n"
			  "series directory: size, spacing, origin, direction (LPS), pixel type.",
	  info_opts, cmd_info, 1, 1 },
	{ "convert", "PATH -o OUT.nii.gz [--series S] [--phase N|ed] [--allow-gaps]",
	  "Write an image file or a DICOM series (one phase of a cine stack) as NIfTI with its\n"
	  "geometry, and OUT.json with the de-identified study record.",
	  convert_opts, cmd_convert, 1, 1 },
	{ "contours", "--dicom DIR --contours DIR [--phase N|ed] -o LABELS.nii.gz",
	  "Rasterise Sunnybrook expert contours (i-contour: LV endocardium, o-contour: LV epicardium)\n"
	  "into a label map on the grid of that phase: 1 LV blood, 2 LV myocardium.",
	  contours_opts, cmd_contours, 0, 0 },
	{ "segment", "(--labels PATH [--image PATH] [--preset NAME | --map FROM=TO,...] | --image STUDY --auto mr\n"
	  "                 [--phase ed|es|N]) [--model lv|biv] -o OUT.nii.gz",
	  "Bring a label map in: map its labels to the canonical vocabulary, put it on the image's grid,\n"
	  "clean it up for meshing (resampling, components, holes, walls, base plane, padding) and log\n"
	  "every change in OUT.log. With --auto mr, segment a cine MR short-axis stack (DICOM study or\n"
	  "3-D/4-D NIfTI) by the shipped network on every phase (ed, es: the largest and smallest LV blood\n"
	  "volume), then clean up as above.",
	  segment_opts, cmd_segment, 0, 0 },
	{ "evaluate", "--ref PATH --test PATH [--labels 1,2,...] | --contours DIR --dicom DIR --test [PHASE=]PATH[,...]",
	  "Per label Dice, Jaccard, HD95, ASSD and HD (mm, medpy's definitions from surface voxels) and\n"
	  "volumes (mL) of a label map against a reference; CSV on stdout. With --contours: each Sunnybrook\n"
	  "expert contour of the phases given scored as the MICCAI 2009 LV challenge did (Dice, average\n"
	  "perpendicular distance, good = APD < 5 mm); CSV per contour and '#' summary lines on stdout.",
	  evaluate_opts, cmd_evaluate, 0, 0 },
	{ "mesh", "(--labels PATH --model lv|biv | --surface FILE) [--edge-length MM] -o DIR",
	  "Tetrahedral mesh of the myocardium (TetGen) with region tags (1 LV, 2 RV), boundary triangles\n"
	  "tagged epi, lv_endo, rv_endo, base, an apex node, and its quality and fidelity.",
	  mesh_opts, cmd_mesh, 0, 0 },
	{ "fibers", "--mesh DIR|FILE.msh [--model lv|biv] [--mode linear|bayer] [angles] -o DIR",
	  "Rule-based myocardial fibres (LDRB, Bayer 2012) from Laplace-Dirichlet fields: per tetrahedron\n"
	  "fiber, sheet, sheet_normal and helix angle, per node phi_epi, phi_lv, phi_rv, psi_ab, in\n"
	  "DIR/mesh.vtu; the helix angle against transmural depth in DIR/fibers.txt.",
	  fibers_opts, cmd_fibers, 0, 0 },
	{ "export", "--mesh DIR [--labels PATH [--image PATH]] [--formats LIST] -o PACKAGE",
	  "Write the simulation package of a mesh with fibres: openCARP, VTK (vtu, vtp, legacy vtk), Gmsh 4.1,\n"
	  "FEBio 4.0, TetGen/Chaste files, metrics.csv, provenance.xml (W3C PROV) and SHA256SUMS.",
	  cli_export_opts, cli_cmd_export, 0, 0 },
	{ "run", "[CASE.xml] [--phantom KIND | --labels PATH [--image PATH] | --image DICOM --contours DIR] -o OUT",
	  "Every stage for one case (input, segment, mesh, fibers, export) into OUT/<case-id>/, skipping\n"
	  "stages whose inputs and parameters are unchanged (OUT/<case-id>.work keeps their results).\n"
	  "The input is the phantom, a label map (with the image it was made on, a NIfTI/NRRD/MHA file or\n"
	  "a DICOM series: --phase N|ed and --series pick its stack), or a DICOM series with Sunnybrook\n"
	  "contours.",
	  cli_run_opts, cli_cmd_run, 0, 1 },
	{ "verify", "PACKAGE",
	  "Check a package: every file against SHA256SUMS and provenance.xml, the provenance against the\n"
	  "W3C PROV-XML schema, and the mesh in every format against heart.vtu (counts, tags, unit fibres).",
	  cli_verify_opts, cli_cmd_verify, 1, 1 },
	{ "phantom", "--kind lv|biv -o DIR [--spacing MM] [--noise SD] [--seed N]",
	  "Write an analytic CT-like heart: DIR/image.nii.gz, DIR/labels.nii.gz (canonical labels),\n"
	  "DIR/dicom/ (the image as a DICOM series) and DIR/truth.xml (exact label volumes).",
	  phantom_opts, cmd_phantom, 0, 0 },
};

const size_t cli_n_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);

const command *cli_find(const char *name)
{
	for (size_t i = 0; i < cli_n_commands; i++)
		if (!strcmp(name, cli_commands[i].name))
			return &cli_commands[i];
	return NULL;
}

/* The value of the command's -o|--output option, or NULL. */
static const char *cli_output_of(const command *c, const char **vals)
{
	for (int k = 0; c->opts && c->opts[k].name; k++)
		if (strstr(c->opts[k].name, "--output"))
			return vals[k];
	return NULL;
}

static void print_usage(FILE *f)
{
	size_t i;
	fprintf(f, "usage: cardiotwin [--version] [-v|--verbose] [-q|--quiet] [--salt-file FILE]\n"
		   "                  [--max-voxels N] [--timeout S] [--strict] <command> [<args>]\n\n"
		   "--timeout S bounds every stage to S seconds (exit 3 when reached; 0: no limit).\n"
		   "--strict makes every warning an error (exit 2, the outputs removed).\n\n"
		   "commands:\n");
	for (i = 0; i < cli_n_commands; i++) {
		/* the whole description, its continuation lines under its first */
		const char *p = cli_commands[i].summary, *nl;
		fprintf(f, "  %-10s ", cli_commands[i].name);
		while ((nl = strchr(p, '\n'))) {
			fprintf(f, "%.*s\n  %-10s ", (int)(nl - p), p, "");
			p = nl + 1;
		}
		fprintf(f, "%s\n", p);
	}
	fprintf(f, "  %-10s %s\n", "help", "Describe a command: 'cardiotwin help COMMAND' (= 'cardiotwin COMMAND --help').");
	fprintf(f, "\n'cardiotwin help <command>' or 'cardiotwin <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	const command *c = NULL;
	const char *vals[MAX_OPTS] = { NULL };
	ctw_ctx *ctx;
	size_t i;
	int a = 1, npos, ret;

	cli_argc = argc;
	cli_argv = argv;
	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--version")) {
			print_version();
			return 0;
		} else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			print_usage(stdout);
			return 0;
		} else if (!strcmp(argv[a], "-v") || !strcmp(argv[a], "--verbose")) {
			cli_verbosity++;
		} else if (!strcmp(argv[a], "-q") || !strcmp(argv[a], "--quiet")) {
			cli_verbosity = 0;
		} else if (!strcmp(argv[a], "--salt-file") && a + 1 < argc) {
			salt_file = argv[++a];
		} else if (!strcmp(argv[a], "--max-voxels") && a + 1 < argc) {
			max_voxels = argv[++a];
		} else if (!strcmp(argv[a], "--timeout") && a + 1 < argc) {
			timeout_arg = argv[++a];
		} else if (!strcmp(argv[a], "--strict")) {
			strict = 1;
		} else {
			return cli_usage_error(NULL, "unknown option '%s'", argv[a]);
		}
	}
	if (a >= argc) {
		print_usage(stderr);
		return 1;
	}
	if (!strcmp(argv[a], "help")) { /* help [COMMAND]: COMMAND --help; alone: this usage */
		if (a + 1 >= argc) {
			print_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[a + 1], "-h") || !strcmp(argv[a + 1], "--help")) {
			printf("usage: cardiotwin help [COMMAND]\n\nDescribe COMMAND (as 'cardiotwin COMMAND --help' does), or "
			       "without one every command.\n\nexit codes: 0 ok, 1 usage error\n");
			return 0;
		}
		if (a + 2 < argc)
			return cli_usage_error(NULL, "help takes one command, not '%s' too", argv[a + 2]);
		if (!(c = cli_find(argv[a + 1])))
			return cli_usage_error(NULL, "unknown command '%s'", argv[a + 1]);
		print_help(c);
		return 0;
	}
	for (i = 0; i < cli_n_commands; i++)
		if (!strcmp(argv[a], cli_commands[i].name))
			c = &cli_commands[i];
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", argv[a]);
	for (int k = a + 1; k < argc && strcmp(argv[k], "--"); k++) /* --strict after the command too */
		if (!strcmp(argv[k], "--strict")) {
			strict = 1;
			memmove(argv + k, argv + k + 1, sizeof(*argv) * (size_t)(argc - k)); /* with the NULL */
			argc--;
			k--;
		}
	npos = cli_parse_opts(c, argc - a - 1, argv + a + 1, vals);
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
			cli_verbosity == 0 ? CTW_LOG_ERROR : (ctw_log_level)(CTW_LOG_WARN + cli_verbosity - 1));
	ctw_ctx_set_progress(ctx, progress_stderr, NULL);
	if (max_voxels) {
		uint64_t n = 0;
		if (cli_parse_u64(ctx, "usage", "--max-voxels", max_voxels, &n) || n < 1 || n > ((uint64_t)1 << 40)) {
			fprintf(stderr, "cardiotwin: error: usage: --max-voxels must be an integer in 1..2^40, not '%s'\n",
				max_voxels);
			ctw_ctx_free(ctx);
			return 1;
		}
		ctw_ctx_set_max_voxels(ctx, (int64_t)n);
	}
	if (timeout_arg) {
		const char *out = NULL;
		for (int k = 0; c->opts && c->opts[k].name; k++)
			if (strstr(c->opts[k].name, "--output"))
				out = vals[k];
		if (start_time_limit(ctx, c, out)) {
			fprintf(stderr, "cardiotwin: error: usage: --timeout must be a number of seconds in [0, 1e7], not '%s'\n",
				timeout_arg);
			ctw_ctx_free(ctx);
			return 1;
		}
	}
	ctw_ctx_set_strict(ctx, strict);
	const char *output = strict ? cli_output_of(c, vals) : NULL;
	struct stat ost;
	const int existed = output && lstat(output, &ost) == 0, was_dir = existed && S_ISDIR(ost.st_mode);
	ret = c->run(ctx, npos, argv + a + 1, vals);
	if (!ret && strict && ctw_ctx_n_warnings(ctx) > 0) {
		/* a warning a stage logged without failing: the output is not to be used; removed when
		 * this command made it (a file it overwrote too), never a directory that was there */
		if (output && (!existed || !was_dir))
			ctw_rm_rf(ctx, output);
		ret = ctw_error(ctx, CTW_ERR_FORMAT, output && (!existed || !was_dir) ? output : c->name,
				"%d warning%s under --strict (%s)%s", ctw_ctx_n_warnings(ctx),
				ctw_ctx_n_warnings(ctx) == 1 ? "" : "s", ctw_ctx_warning(ctx, 0),
				output && (!existed || !was_dir) ? "; removed" : "");
	}
	if (tl.limit_s > 0 && atomic_exchange(&tl_claimed, 1))
		for (;;)
			pause(); /* the backstop has printed the error and ends the program (exit 3) */
	if (ret && ret != CTW_ERR_INVALID && ctw_errcode(ctx) == CTW_ERR_EXTERNAL)
		ret = CTW_ERR_EXTERNAL; /* e.g. the disk full, found in a message (ctw_verror): exit 3 */
	if (ret) {
		fprintf(stderr, "cardiotwin: error: %s\n", ctw_errmsg(ctx));
		if (ret == CTW_ERR_INVALID)
			fprintf(stderr, "see 'cardiotwin %s --help'\n", c->name);
	}
	ctw_ctx_free(ctx);
	return ctw_exit_code((ctw_status)ret);
}
