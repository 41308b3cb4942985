/* fs.c: file-system helpers for atomic publication of outputs. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ctw_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ctw_is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ctw_path_join(ctw_ctx *ctx, const char *dir, const char *name, char **out)
{
	size_t n = strlen(dir);
	char *p;

	*out = NULL;
	while (n > 1 && dir[n - 1] == '/')
		n--;
	p = ctw_malloc(ctx, n + strlen(name) + 2);
	if (!p)
		return CTW_ERR_NOMEM;
	memcpy(p, dir, n);
	p[n] = '/';
	strcpy(p + n + 1, name);
	*out = p;
	return CTW_OK;
}

int ctw_mkdir_p(ctw_ctx *ctx, const char *path)
{
	char *p = ctw_strdup(ctx, path), *s;
	int ret = CTW_OK;

	if (!p)
		return CTW_ERR_NOMEM;
	for (s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0777) != 0 && errno != EEXIST) {
				ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot create directory '%s': %s", p,
						strerror(errno));
				break;
			}
			if (!ctw_is_dir(p)) {
				ret = ctw_error(ctx, CTW_ERR_IO, path, "'%s' exists and is not a directory", p);
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	ctw_free(ctx, p);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

int ctw_rm_rf(ctw_ctx *ctx, const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return CTW_OK;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot remove: %s", strerror(errno));
	return CTW_OK;
}

int ctw_tmp_sibling(ctw_ctx *ctx, const char *final, char **out)
{
	static unsigned counter;
	const char *slash = strrchr(final, '/');
	size_t dirlen = slash ? (size_t)(slash - final) + 1 : 0;
	const char *base = final + dirlen;
	size_t n = strlen(final) + 64;
	char *p;

	*out = NULL;
	if (!*base)
		return ctw_error(ctx, CTW_ERR_INVALID, final, "output name is empty");
	p = ctw_malloc(ctx, n);
	if (!p)
		return CTW_ERR_NOMEM;
	snprintf(p, n, "%.*s.tmp-%ld-%u-%s", (int)dirlen, final, (long)getpid(), counter++, base);
	*out = p;
	return CTW_OK;
}

void ctw_clean_stale_tmp(ctw_ctx *ctx, const char *final)
{
	const char *slash = strrchr(final, '/');
	const char *base = slash ? slash + 1 : final;
	char dir[4096];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - final) : 1, slash ? final : ".");
	if (!*base || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		char *end;
		const char *p = e->d_name, *dash;
		if (strncmp(p, ".tmp-", 5))
			continue;
		long pid = strtol(p + 5, &end, 10);
		if (end == p + 5 || *end != '-' || !(dash = strchr(end + 1, '-')) || strcmp(dash + 1, base))
			continue;
		if (pid > 0 && (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue; /* its writer may still be running */
		char full[8192];
		snprintf(full, sizeof(full), "%s/%s", dir, p);
		ctw_log(ctx, CTW_LOG_INFO, full, "removing the leftover of an interrupted run");
		ctw_rm_rf(ctx, full);
	}
	closedir(d);
}

int ctw_publish(ctw_ctx *ctx, const char *tmp, const char *final)
{
	struct stat st_tmp, st_final;
	char *old = NULL;
	int ret;

	if (stat(tmp, &st_tmp) != 0)
		return ctw_error(ctx, CTW_ERR_INTERNAL, final, "nothing to publish at '%s'", tmp);
	if (lstat(final, &st_final) == 0) {
		if (S_ISDIR(st_final.st_mode) != S_ISDIR(st_tmp.st_mode))
			return ctw_error(ctx, CTW_ERR_IO, final, "exists and is %s; remove it or choose another output",
					 S_ISDIR(st_final.st_mode) ? "a directory" : "not a directory");
		if (S_ISDIR(st_final.st_mode)) {
			ret = ctw_tmp_sibling(ctx, final, &old);
			if (ret)
				return ret;
			if (rename(final, old) != 0) {
				ret = ctw_error(ctx, CTW_ERR_IO, final, "cannot replace: %s", strerror(errno));
				ctw_free(ctx, old);
				return ret;
			}
		}
	}
	if (rename(tmp, final) != 0) {
		ret = ctw_error(ctx, CTW_ERR_IO, final, "cannot publish: %s", strerror(errno));
		if (old && rename(old, final) != 0)
			ctw_log(ctx, CTW_LOG_ERROR, final, "previous output kept as '%s'", old);
		ctw_free(ctx, old);
		return ret;
	}
	ret = old ? ctw_rm_rf(ctx, old) : CTW_OK;
	ctw_free(ctx, old);
	return ret;
}
