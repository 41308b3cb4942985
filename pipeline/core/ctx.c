/* ctx.c: the context (status and message, log, progress/cancel, allocator) and its helpers. */
#define _POSIX_C_SOURCE 200809L
#include "ctw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctw_ctx {
	ctw_allocator alloc;
	ctw_status status;
	char msg[1024];
	ctw_log_fn log_fn;
	void *log_ud;
	ctw_log_level log_max;
	ctw_progress_fn progress_fn;
	void *progress_ud;
	int64_t max_voxels;
	unsigned char salt[64];
	size_t salt_len;
	double deadline;     /* CLOCK_MONOTONIC seconds after which ctw_progress cancels; 0: none */
	double limit_s;      /* the time limit it was set from, for the message                 */
	int deadline_hit;    /* ctw_progress cancelled because of it                            */
	int strict;                             /* warnings about the input are errors         */
	int n_warnings;                         /* every CTW_LOG_WARN message, logged or not   */
	char warnings[CTW_MAX_KEPT_WARNINGS][CTW_WARNING_LEN]; /* the first ones, "domain: msg" */
};

static double monotonic_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *std_malloc(void *ud, size_t n)
{
	(void)ud;
	return malloc(n ? n : 1);
}

static void *std_realloc(void *ud, void *p, size_t n)
{
	(void)ud;
	return realloc(p, n ? n : 1);
}

static void std_free(void *ud, void *p)
{
	(void)ud;
	free(p);
}

ctw_ctx *ctw_ctx_new(void)
{
	ctw_allocator a = { std_malloc, std_realloc, std_free, NULL };
	return ctw_ctx_new_with(&a);
}

ctw_ctx *ctw_ctx_new_with(const ctw_allocator *a)
{
	ctw_ctx *ctx = a->xmalloc(a->ud, sizeof(*ctx));
	if (!ctx)
		return NULL;
	memset(ctx, 0, sizeof(*ctx));
	ctx->alloc = *a;
	ctx->log_max = CTW_LOG_WARN;
	ctx->max_voxels = (int64_t)1 << 31;
	return ctx;
}

ctw_ctx *ctw_ctx_new_worker(const ctw_ctx *parent)
{
	ctw_ctx *ctx = ctw_ctx_new();
	if (!ctx)
		return NULL;
	ctx->log_fn = parent->log_fn;
	ctx->log_ud = parent->log_ud;
	ctx->log_max = parent->log_max;
	ctx->max_voxels = parent->max_voxels;
	ctx->strict = parent->strict;
	memcpy(ctx->salt, parent->salt, sizeof(ctx->salt));
	ctx->salt_len = parent->salt_len;
	ctx->deadline = parent->deadline;
	ctx->limit_s = parent->limit_s;
	return ctx;
}

void ctw_ctx_free(ctw_ctx *ctx)
{
	if (ctx)
		ctx->alloc.xfree(ctx->alloc.ud, ctx);
}

void ctw_ctx_set_log(ctw_ctx *ctx, ctw_log_fn fn, void *ud, ctw_log_level max_level)
{
	ctx->log_fn = fn;
	ctx->log_ud = ud;
	ctx->log_max = max_level;
}

void ctw_ctx_set_progress(ctw_ctx *ctx, ctw_progress_fn fn, void *ud)
{
	ctx->progress_fn = fn;
	ctx->progress_ud = ud;
}

double ctw_ctx_deadline(const ctw_ctx *ctx)
{
	return ctx->deadline;
}

int ctw_ctx_past_deadline(ctw_ctx *ctx, const char *stage)
{
	if (ctx->deadline <= 0 || monotonic_now() < ctx->deadline)
		return 0;
	ctx->deadline_hit = 1;
	ctw_error(ctx, CTW_ERR_CANCELLED, stage, "time limit reached");
	return 1;
}

void ctw_ctx_set_max_voxels(ctw_ctx *ctx, int64_t n)
{
	ctx->max_voxels = n > 0 ? n : 1;
}

int64_t ctw_ctx_max_voxels(const ctw_ctx *ctx)
{
	return ctx->max_voxels;
}

int ctw_ctx_set_deadline(ctw_ctx *ctx, double seconds)
{
	if (!(seconds >= 0) || seconds > 1e9)
		return ctw_error(ctx, CTW_ERR_INVALID, NULL, "a time limit is 0 (none) to 1e9 seconds, not %g", seconds);
	ctx->limit_s = seconds;
	ctx->deadline = seconds > 0 ? monotonic_now() + seconds : 0;
	ctx->deadline_hit = 0;
	return CTW_OK;
}

void ctw_ctx_set_salt(ctw_ctx *ctx, const void *salt, size_t n)
{
	ctx->salt_len = n < sizeof(ctx->salt) ? n : sizeof(ctx->salt);
	memcpy(ctx->salt, salt, ctx->salt_len);
}

const unsigned char *ctw_ctx_salt(const ctw_ctx *ctx, size_t *n)
{
	*n = ctx->salt_len;
	return ctx->salt;
}

int ctw_verror(ctw_ctx *ctx, ctw_status code, const char *domain, const char *fmt, va_list ap)
{
	size_t off = 0;

	ctx->status = code;
	if (code == CTW_ERR_CANCELLED && ctx->deadline_hit) {
		/* the stage stopped because its time ran out: say so, not just "cancelled" */
		snprintf(ctx->msg, sizeof(ctx->msg), "%s%stime limit of %g s reached", domain && *domain ? domain : "",
			 domain && *domain ? ": " : "", ctx->limit_s);
		return code;
	}
	if (domain && *domain) {
		int n = snprintf(ctx->msg, sizeof(ctx->msg), "%s: ", domain);
		off = n < 0 ? 0 : (size_t)n < sizeof(ctx->msg) ? (size_t)n : sizeof(ctx->msg) - 1;
	}
	vsnprintf(ctx->msg + off, sizeof(ctx->msg) - off, fmt, ap);
	/* a file being written is named as the user will see it: "<dir>/.tmp-<pid>-<n>-<name>"
	 * (ctw_tmp_sibling) is "<dir>/<name>" */
	for (char *t = strstr(ctx->msg, ".tmp-"); t; t = strstr(t, ".tmp-")) {
		char *e = t + 5;
		int parts = 0;
		while (parts < 2 && *e >= '0' && *e <= '9') {
			while (*e >= '0' && *e <= '9')
				e++;
			if (*e != '-')
				break;
			e++, parts++;
		}
		if (parts == 2)
			memmove(t, e, strlen(e) + 1);
		else
			t += 5;
	}
	/* the disk full (or a quota, or a file too large for the file system) is the machine's
	 * failure, not the input's, whichever code the writer chose: exit 3 */
	if (code != CTW_ERR_INVALID &&
	    (strstr(ctx->msg, strerror(ENOSPC)) || strstr(ctx->msg, strerror(EDQUOT)) || strstr(ctx->msg, strerror(EFBIG)))) {
		size_t len = strlen(ctx->msg);
		if (code == CTW_ERR_IO || code == CTW_ERR_FORMAT)
			code = CTW_ERR_EXTERNAL;
		ctx->status = code;
		if (!strstr(ctx->msg, "free some space"))
			snprintf(ctx->msg + len, sizeof(ctx->msg) - len, "; free some space and run again");
	}
	return code;
}

int ctw_error(ctw_ctx *ctx, ctw_status code, const char *domain, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctw_verror(ctx, code, domain, fmt, ap);
	va_end(ap);
	return code;
}

ctw_status ctw_errcode(const ctw_ctx *ctx)
{
	return ctx->status;
}

const char *ctw_errmsg(const ctw_ctx *ctx)
{
	return ctx->status == CTW_OK ? "" : ctx->msg;
}

void ctw_clear_error(ctw_ctx *ctx)
{
	ctx->status = CTW_OK;
	ctx->msg[0] = '\0';
}

/* Keeps a warning (the first CTW_MAX_KEPT_WARNINGS of them) and counts it. */
static void keep_warning(ctw_ctx *ctx, const char *domain, const char *msg)
{
	if (ctx->n_warnings < CTW_MAX_KEPT_WARNINGS &&
	    snprintf(ctx->warnings[ctx->n_warnings], CTW_WARNING_LEN, "%s%s%s", domain ? domain : "",
		     domain ? ": " : "", msg) < 0)
		ctx->warnings[ctx->n_warnings][0] = '\0';
	if (ctx->n_warnings < INT32_MAX)
		ctx->n_warnings++;
}

static void vlog(ctw_ctx *ctx, ctw_log_level lvl, const char *domain, const char *fmt, va_list ap)
{
	char buf[1024];

	if (lvl != CTW_LOG_WARN && (!ctx->log_fn || lvl > ctx->log_max))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (lvl == CTW_LOG_WARN)
		keep_warning(ctx, domain, buf);
	if (ctx->log_fn && lvl <= ctx->log_max)
		ctx->log_fn(ctx->log_ud, lvl, domain, buf);
}

void ctw_log(ctw_ctx *ctx, ctw_log_level lvl, const char *domain, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(ctx, lvl, domain, fmt, ap);
	va_end(ap);
}

int ctw_warn(ctw_ctx *ctx, const char *domain, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ctx->strict)
		return ctw_error(ctx, CTW_ERR_FORMAT, domain, "%s (an error under --strict)", buf);
	ctw_log(ctx, CTW_LOG_WARN, domain, "%s", buf);
	return CTW_OK;
}

void ctw_ctx_set_strict(ctw_ctx *ctx, int strict)
{
	ctx->strict = strict != 0;
}

int ctw_ctx_strict(const ctw_ctx *ctx)
{
	return ctx->strict;
}

int ctw_ctx_n_warnings(const ctw_ctx *ctx)
{
	return ctx->n_warnings;
}

const char *ctw_ctx_warning(const ctw_ctx *ctx, int i)
{
	return i >= 0 && i < ctx->n_warnings && i < CTW_MAX_KEPT_WARNINGS ? ctx->warnings[i] : NULL;
}

int ctw_progress(ctw_ctx *ctx, const char *stage, double done, double total)
{
	double f = total > 0 ? done / total : 1.0;

	if (ctw_ctx_past_deadline(ctx, stage))
		return 1;
	if (!ctx->progress_fn)
		return 0;
	return ctx->progress_fn(ctx->progress_ud, stage, f < 0 ? 0 : f > 1 ? 1 : f);
}

void *ctw_malloc(ctw_ctx *ctx, size_t n)
{
	void *p = ctx->alloc.xmalloc(ctx->alloc.ud, n);
	if (!p)
		ctw_error(ctx, CTW_ERR_NOMEM, NULL, "out of memory (%zu bytes)", n);
	return p;
}

void *ctw_calloc(ctw_ctx *ctx, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size) {
		ctw_error(ctx, CTW_ERR_NOMEM, NULL, "allocation of %zu x %zu bytes overflows", n, size);
		return NULL;
	}
	p = ctw_malloc(ctx, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *ctw_realloc(ctw_ctx *ctx, void *p, size_t n)
{
	void *q = ctx->alloc.xrealloc(ctx->alloc.ud, p, n);
	if (!q)
		ctw_error(ctx, CTW_ERR_NOMEM, NULL, "out of memory (%zu bytes)", n);
	return q;
}

void ctw_free(ctw_ctx *ctx, void *p)
{
	if (p)
		ctx->alloc.xfree(ctx->alloc.ud, p);
}

char *ctw_strdup(ctw_ctx *ctx, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ctw_malloc(ctx, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

int ctw_exit_code(ctw_status s)
{
	switch (s) {
	case CTW_OK:
		return 0;
	case CTW_ERR_INVALID:
		return 1;
	case CTW_ERR_IO:
	case CTW_ERR_FORMAT:
		return 2;
	case CTW_ERR_EXTERNAL:
	case CTW_ERR_NOMEM:
	case CTW_ERR_CANCELLED:
		return 3;
	case CTW_ERR_INTERNAL:
	default:
		return 4;
	}
}

const char *ctw_status_name(ctw_status s)
{
	static const char *const names[] = { "ok",       "invalid argument", "i/o error",
					     "bad format", "out of memory",    "external library failed",
					     "cancelled", "internal error" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown status";
}
