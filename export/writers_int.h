/* writers_int.h: private helpers shared by the format writers (model.c): checked, buffered file
 * output with fast, correctly rounded number formatting, and the model checks every writer
 * starts with. Not part of the public API. */
#ifndef CTW_WRITERS_INT_H
#define CTW_WRITERS_INT_H

#include "export.h"

#include <stdio.h>

#define CTW_OUT_BUF (1u << 20) /* 1 MiB: our own buffer, handed to fwrite in whole chunks */

/* One output file. Writes go into buf; a failed fwrite is remembered (err) and reported by
 * ctw_out_close, so the per-value calls need no checks of their own. */
typedef struct ctw_out {
	ctw_ctx *ctx;
	FILE *f;
	char *path;   /* dir/name, owned                           */
	char *buf;    /* CTW_OUT_BUF bytes, owned                   */
	size_t pos;
	int err;      /* errno of the first failed write, or 0      */
	int failed;   /* a write failed                             */
} ctw_out;

/* Creates (truncates) dir/name. CTW_ERR_IO naming the file, CTW_ERR_NOMEM. */
int ctw_out_open(ctw_ctx *ctx, ctw_out *o, const char *dir, const char *name);
/* Flushes and closes the file. ret is the caller's status so far: when it is not CTW_OK, or when
 * any write, the flush or fclose failed, the file is removed; returns ret, or CTW_ERR_IO naming
 * the file. Safe on an o that was never opened (zeroed). */
int ctw_out_close(ctw_out *o, int ret);

void ctw_out_flush(ctw_out *o);
void ctw_out_mem(ctw_out *o, const char *s, size_t n);
void ctw_out_str(ctw_out *o, const char *s);
void ctw_out_printf(ctw_out *o, const char *fmt, ...) CTW_PRINTF(2, 3);
void ctw_out_char(ctw_out *o, char c);
void ctw_out_int(ctw_out *o, int64_t v);
/* printf("%.*f", decimals, x) exactly (0 <= decimals <= 15), for |x| < 1e20 (beyond: %.17g). */
void ctw_out_fixed(ctw_out *o, double x, int decimals);
/* The same number with trailing zeros (and a bare '.') removed, "-0" written as "0". */
void ctw_out_short(ctw_out *o, double x, int decimals);
/* At least 9 significant digits (a double prints within 1e-9 relative), fixed notation for
 * 1e-5 <= |x| < 1e9, printf's %.9g otherwise. */
void ctw_out_sig(ctw_out *o, double x);

/* The formatting behind ctw_out_*: writes into out (at least 48 bytes, no NUL) and returns the
 * length. trim as ctw_out_short. Exact: the same digits as glibc's printf (round half to even
 * on exact ties), tested against it. */
size_t ctw_fmt_fixed(char *out, double x, int decimals, int trim);
size_t ctw_fmt_sig(char *out, double x);
size_t ctw_fmt_int(char *out, int64_t v);

/* The checks every writer starts with: a mesh with tetrahedra, indices in range, region tags
 * >= 1, surface ids 1..4, finite coordinates and fibres (fibre and sheet both or neither), the
 * apex in range, fields of the right sizes. CTW_ERR_INVALID naming `fmt` and the problem. */
int ctw_model_check(ctw_ctx *ctx, const ctw_model *md, const char *fmt);
/* Name of a surface id ("epi", "lv_endo", "rv_endo", "base"), NULL for others. */
/* Triangles per surface id: count[id] for id 0..4. */
void ctw_model_surface_counts(const ctw_model *md, int64_t count[5]);
/* The distinct region tags of md's mesh, ascending, with their tetrahedron counts: new arrays
 * (ctw_free). CTW_ERR_NOMEM. */
int ctw_model_regions(ctw_ctx *ctx, const ctw_model *md, int32_t **tags, int64_t **counts, int *n);
/* The name of a region in formats that name them: 1 "LV", 2 "RV", else "region_<tag>". */
void ctw_region_name(char out[32], int32_t tag);
/* Removes dir/name when it exists (stale outputs). CTW_ERR_IO when it exists and cannot be
 * removed. */
int ctw_remove_stale(ctw_ctx *ctx, const char *dir, const char *name);
/* Copies s into out as one line fit for a header or an XML comment: printable ASCII only
 * (others become '_'), no "--", at most 200 bytes; fallback when s is NULL or empty. */
void ctw_title_line(char out[256], const char *s, const char *fallback);

#endif
