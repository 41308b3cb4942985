/* fs.h: file-system helpers for atomic publication of outputs (temporary name, then rename). */
#ifndef CTW_FS_H
#define CTW_FS_H

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when path names an existing directory / regular file (after symlinks), else 0. */
CTW_API int ctw_is_dir(const char *path);
CTW_API int ctw_is_file(const char *path);
/* Creates a directory and its missing parents (mode 0777 & ~umask). CTW_ERR_IO on failure. */
CTW_API int ctw_mkdir_p(ctw_ctx *ctx, const char *path);
/* Removes a file or a directory tree; a missing path is not an error. */
CTW_API int ctw_rm_rf(ctw_ctx *ctx, const char *path);
/* A sibling of final to write to before publishing: "<dir>/.tmp-<pid>-<n>-<base>", keeping the
 * extension (ITK picks its writer by extension). On success *out is new; ctw_free() it. */
CTW_API int ctw_tmp_sibling(ctw_ctx *ctx, const char *final, char **out);
/* Removes the temporary siblings of final (ctw_tmp_sibling) left by runs that were killed:
 * those whose process is gone. */
CTW_API void ctw_clean_stale_tmp(ctw_ctx *ctx, const char *final);
/* Publishes a finished file or directory tmp under the name final with rename(2). An existing
 * directory at final is replaced (moved aside, then removed); an existing file is replaced
 * atomically; a directory where a file is published (or the reverse) is CTW_ERR_IO. */
CTW_API int ctw_publish(ctw_ctx *ctx, const char *tmp, const char *final);
/* Joins dir and name with one '/'. On success *out is new; ctw_free() it. */
CTW_API int ctw_path_join(ctw_ctx *ctx, const char *dir, const char *name, char **out);

#ifdef __cplusplus
}
#endif
#endif
