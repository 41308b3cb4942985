/* cli.h: the command line's shared parts (private to pipeline/): the option and command tables
 * of main.c, the helpers every subcommand uses, and the subcommands defined in other files
 * (run.c: run, export, verify). */
#ifndef CTW_CLI_H
#define CTW_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "ctw.h"

#define MAX_OPTS 48

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

extern int cli_verbosity; /* 0 quiet, 1 normal, 2 verbose, 3 debug */
/* Set by run for a dry pass: a command checks its options and returns CTW_OK before touching
 * any file, so every stage's options are checked before the first stage runs. */
extern int cli_check_only;
/* The stage running now (a command's name, or run's stage): the time limit's message. */
extern const char *volatile cli_stage;
extern const command cli_commands[];
extern int cli_argc;     /* the whole command line, for provenance */
extern char **cli_argv;
extern const size_t cli_n_commands;

/* The command named name, or NULL. */
const command *cli_find(const char *name);

int cli_ends_with(const char *s, const char *suffix);
/* Installs the de-identification salt (--salt-file, $CTW_SALT_FILE or the installation's). */
int cli_use_salt(ctw_ctx *ctx);
/* Removes a half-written output after a failure, keeping the failure's message. */
void cli_discard(ctw_ctx *ctx, const char *path);
int cli_usage_error(const command *c, const char *fmt, const char *arg);
/* Fills vals[i] for c->opts[i] and moves positional arguments to the front of argv; returns
 * their count, or -1 after a usage error, -2 after --help. */
int cli_parse_opts(const command *c, int argc, char **argv, const char **vals);
int cli_parse_double(ctw_ctx *ctx, const char *cmd, const char *name, const char *s, double lo, double hi,
		     double *out);
int cli_parse_u64(ctw_ctx *ctx, const char *cmd, const char *name, const char *s, uint64_t *out);
/* path of out with its extension (.nii.gz, .nii) replaced by ext */
int cli_beside(ctw_ctx *ctx, const char *out, const char *ext, char **path);
int cli_write_text(ctw_ctx *ctx, const char *path, const char *text);
int cli_parse_phase(ctw_ctx *ctx, const char *cmd, const char *s, int *phase);
/* --stack auto|N: -1 for auto, N >= 1; CTW_ERR_INVALID otherwise; *stack unchanged for NULL. */
int cli_parse_stack(ctw_ctx *ctx, const char *cmd, const char *s, int *stack);
/* The rule that chose the last `ed` phase (ctw_dicom_ed_phase()), "" when none: run records it
 * in the stage's provenance. */
extern char cli_phase_rule[192];
extern char cli_auto_weights[65];
extern char cli_auto_confidence[1024]; /* segment --auto: SLICE:CONFIDENCE,... of the labelled slices */ /* segment --auto: the SHA-256 of the weights used, for provenance */

/* run.c */
extern const opt cli_run_opts[], cli_export_opts[], cli_verify_opts[];
int cli_cmd_run(ctw_ctx *ctx, int argc, char **argv, const char **vals);
int cli_cmd_export(ctw_ctx *ctx, int argc, char **argv, const char **vals);
int cli_cmd_verify(ctw_ctx *ctx, int argc, char **argv, const char **vals);

#endif
