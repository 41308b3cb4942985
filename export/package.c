/* package.c: SHA256SUMS of a package directory (DESIGN.md §6), in the format of sha256sum(1):
 * "<64 hex>  <relative path>" per regular file, sorted by path (byte order), with GNU's escape
 * for names holding a newline, a carriage return or a backslash (the line starts with '\').
 * The writer and the checker walk the tree with opendir/readdir/lstat; symbolic links and
 * special files are refused, so a package never points outside itself. */
#define _POSIX_C_SOURCE 200809L
#include "export.h"
#include "fs.h"
#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SUMS_NAME "SHA256SUMS"

typedef struct path_list {
	char **v;
	size_t n, cap;
} path_list;

static void list_free(ctw_ctx *ctx, path_list *l)
{
	size_t i;
	for (i = 0; i < l->n; i++)
		ctw_free(ctx, l->v[i]);
	ctw_free(ctx, l->v);
	memset(l, 0, sizeof(*l));
}

/* Appends s to l, taking ownership of s (freed on failure too). */
static int list_add(ctw_ctx *ctx, path_list *l, char *s)
{
	if (l->n == l->cap) {
		size_t c = l->cap ? 2 * l->cap : 64;
		char **v = ctw_realloc(ctx, l->v, c * sizeof(*v));
		if (!v) {
			ctw_free(ctx, s);
			return CTW_ERR_NOMEM;
		}
		l->v = v;
		l->cap = c;
	}
	l->v[l->n++] = s;
	return CTW_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a/b" from a and b ("b" when a is empty). New string (ctw_free). */
static char *join(ctw_ctx *ctx, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = ctw_malloc(ctx, na + nb + 2);

	if (!s)
		return NULL;
	if (na) {
		memcpy(s, a, na);
		s[na++] = '/';
	}
	memcpy(s + na, b, nb + 1);
	return s;
}

/* Adds the relative paths of the regular files below root/rel to out (the top-level
 * SHA256SUMS excluded). CTW_ERR_IO when a directory cannot be read, CTW_ERR_FORMAT for a
 * symbolic link or a special file. */
static int walk(ctw_ctx *ctx, const char *root, const char *rel, path_list *out)
{
	char *dir = rel[0] ? join(ctx, root, rel) : ctw_strdup(ctx, root);
	struct dirent *e;
	DIR *d = NULL;
	int ret = CTW_OK;

	if (!dir)
		return CTW_ERR_NOMEM;
	d = opendir(dir);
	if (!d) {
		ret = ctw_error(ctx, CTW_ERR_IO, dir, "cannot open directory: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		struct stat st;
		char *crel, *full;

		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				ret = ctw_error(ctx, CTW_ERR_IO, dir, "cannot read directory: %s", strerror(errno));
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!rel[0] && !strcmp(e->d_name, SUMS_NAME))
			continue;
		crel = join(ctx, rel, e->d_name);
		full = crel ? join(ctx, root, crel) : NULL;
		if (!full) {
			ctw_free(ctx, crel);
			ret = CTW_ERR_NOMEM;
			break;
		}
		if (lstat(full, &st) != 0) {
			ret = ctw_error(ctx, CTW_ERR_IO, full, "cannot stat: %s", strerror(errno));
		} else if (S_ISLNK(st.st_mode)) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, root, "symbolic link '%s' in the package is refused",
					crel);
		} else if (S_ISDIR(st.st_mode)) {
			ret = walk(ctx, root, crel, out);
		} else if (S_ISREG(st.st_mode)) {
			ret = list_add(ctx, out, crel);
			crel = NULL;
		} else {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, root, "special file '%s' in the package is refused", crel);
		}
		ctw_free(ctx, crel);
		ctw_free(ctx, full);
		if (ret)
			break;
	}
out:
	if (d)
		closedir(d);
	ctw_free(ctx, dir);
	return ret;
}

/* The sorted relative paths of the regular files below dir. */
static int list_files(ctw_ctx *ctx, const char *dir, path_list *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = walk(ctx, dir, "", out);
	if (ret) {
		list_free(ctx, out);
		return ret;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
	return CTW_OK;
}

/* Writes one sha256sum line for path, escaped as GNU coreutils does. */
static int put_line(FILE *f, const char *hex, const char *path)
{
	const char *p;
	int esc = strpbrk(path, "\n\r\\") != NULL;

	if (esc && fputc('\\', f) == EOF)
		return -1;
	if (fprintf(f, "%s  ", hex) < 0)
		return -1;
	for (p = path; *p; p++) {
		int r;
		if (esc && *p == '\n')
			r = fputs("\\n", f);
		else if (esc && *p == '\r')
			r = fputs("\\r", f);
		else if (esc && *p == '\\')
			r = fputs("\\\\", f);
		else
			r = fputc(*p, f);
		if (r == EOF)
			return -1;
	}
	return fputc('\n', f) == EOF ? -1 : 0;
}

int ctw_write_sha256sums(ctw_ctx *ctx, const char *dir)
{
	return ctw_write_sha256sums_known(ctx, dir, NULL, NULL, 0);
}

int ctw_write_sha256sums_known(ctw_ctx *ctx, const char *dir, const char *const *names, const char *const *hexes,
			       int n_known)
{
	char hex[CTW_SHA256_HEX_LEN], *final = NULL, *tmp = NULL, *full;
	path_list files;
	FILE *f = NULL;
	size_t i;
	int ret;

	if ((ret = list_files(ctx, dir, &files)))
		return ret;
	if ((ret = ctw_path_join(ctx, dir, SUMS_NAME, &final)) || (ret = ctw_tmp_sibling(ctx, final, &tmp)))
		goto out;
	f = fopen(tmp, "w");
	if (!f) {
		ret = ctw_error(ctx, CTW_ERR_IO, final, "cannot open for writing: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < files.n; i++) {
		/* a digest the caller computed already (names sorted by strcmp), else the file's */
		int lo = 0, hi = n_known - 1, found = -1;
		while (lo <= hi) {
			int mid = (lo + hi) / 2, c = strcmp(files.v[i], names[mid]);
			if (!c) {
				found = mid;
				break;
			}
			if (c < 0)
				hi = mid - 1;
			else
				lo = mid + 1;
		}
		if (found >= 0 && strlen(hexes[found]) == CTW_SHA256_HEX_LEN - 1) {
			memcpy(hex, hexes[found], CTW_SHA256_HEX_LEN);
		} else {
			if ((ret = ctw_path_join(ctx, dir, files.v[i], &full)))
				goto out;
			ret = ctw_sha256_file(ctx, full, hex);
			ctw_free(ctx, full);
			if (ret)
				goto out;
		}
		if (put_line(f, hex, files.v[i])) {
			ret = ctw_error(ctx, CTW_ERR_IO, final, "cannot write: %s", strerror(errno));
			goto out;
		}
	}
out:
	if (f && fclose(f) && ret == CTW_OK)
		ret = ctw_error(ctx, CTW_ERR_IO, final, "cannot write: %s", strerror(errno));
	if (ret == CTW_OK)
		ret = ctw_publish(ctx, tmp, final);
	if (ret && tmp)
		remove(tmp);
	ctw_free(ctx, tmp);
	ctw_free(ctx, final);
	list_free(ctx, &files);
	return ret;
}

/* ---- checking ---------------------------------------------------------------------------------- */

typedef struct sum_entry {
	char *path;
	char hex[CTW_SHA256_HEX_LEN];
} sum_entry;

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const sum_entry *)a)->path, ((const sum_entry *)b)->path);
}

/* Parses one line (without its newline) into *e (path is a new string). 0 on success, -1 when
 * malformed, -2 on allocation failure. Paths must be relative and stay inside the package. */
static int parse_line(ctw_ctx *ctx, const char *line, sum_entry *e)
{
	int esc = line[0] == '\\', i;
	const char *p = line + esc, *s;
	size_t n;
	char *o;

	for (i = 0; i < 64; i++) {
		char c = p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return -1;
		e->hex[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	e->hex[64] = '\0';
	p += 64;
	if (p[0] != ' ' || (p[1] != ' ' && p[1] != '*') || !p[2])
		return -1;
	p += 2;
	n = strlen(p);
	e->path = o = ctw_malloc(ctx, n + 1);
	if (!o)
		return -2;
	for (; *p; p++) {
		if (esc && *p == '\\') {
			p++;
			if (*p == 'n')
				*o++ = '\n';
			else if (*p == 'r')
				*o++ = '\r';
			else if (*p == '\\')
				*o++ = '\\';
			else
				goto bad;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	/* no absolute paths, no empty, "." or ".." components */
	if (e->path[0] == '/')
		goto bad;
	for (s = e->path;;) {
		const char *slash = strchr(s, '/');
		size_t len = slash ? (size_t)(slash - s) : strlen(s);
		if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			goto bad;
		if (!slash)
			break;
		s = slash + 1;
	}
	return 0;
bad:
	ctw_free(ctx, e->path);
	e->path = NULL;
	return -1;
}

/* Reads dir/SHA256SUMS into a sorted array. CTW_ERR_IO when unreadable, CTW_ERR_FORMAT naming
 * the line when malformed or when a path is listed twice. */
static int read_sums(ctw_ctx *ctx, const char *path, sum_entry **out, size_t *n_out)
{
	sum_entry *v = NULL;
	size_t n = 0, cap = 0, i, lineno = 0, len, bufcap = 0;
	char *buf = NULL;
	FILE *f = fopen(path, "r");
	int ret = CTW_OK;

	*out = NULL;
	*n_out = 0;
	if (!f)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	for (;;) {
		int c = EOF;
		len = 0;
		for (;;) {
			c = fgetc(f);
			if (c == EOF || c == '\n')
				break;
			if (len + 1 >= bufcap) {
				size_t nc = bufcap ? 2 * bufcap : 256;
				char *nb = ctw_realloc(ctx, buf, nc);
				if (!nb) {
					ret = CTW_ERR_NOMEM;
					goto out;
				}
				buf = nb;
				bufcap = nc;
			}
			buf[len++] = (char)c;
		}
		if (c == EOF && ferror(f)) {
			ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (c == EOF && len == 0)
			break;
		lineno++;
		if (!buf) /* an empty line */
			goto bad_line;
		buf[len] = '\0';
		if (len != strlen(buf))
			goto bad_line; /* a NUL byte */
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 64;
			sum_entry *nv = ctw_realloc(ctx, v, nc * sizeof(*v));
			if (!nv) {
				ret = CTW_ERR_NOMEM;
				goto out;
			}
			v = nv;
			cap = nc;
		}
		switch (parse_line(ctx, buf, &v[n])) {
		case 0:
			n++;
			break;
		case -2:
			ret = CTW_ERR_NOMEM;
			goto out;
		default:
			goto bad_line;
		}
		if (c == EOF)
			break;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_entry);
	for (i = 1; i < n; i++)
		if (!strcmp(v[i - 1].path, v[i].path)) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "'%s' is listed twice", v[i].path);
			goto out;
		}
	goto out;
bad_line:
	ret = ctw_error(ctx, CTW_ERR_FORMAT, NULL, "%s:%zu: not a sha256sum line", path, lineno);
out:
	fclose(f);
	ctw_free(ctx, buf);
	if (ret) {
		for (i = 0; i < n; i++)
			ctw_free(ctx, v[i].path);
		ctw_free(ctx, v);
		return ret;
	}
	*out = v;
	*n_out = n;
	return CTW_OK;
}

int ctw_check_sha256sums(ctw_ctx *ctx, const char *dir)
{
	char hex[CTW_SHA256_HEX_LEN], *sums = NULL, *full;
	sum_entry *listed = NULL;
	size_t n_listed = 0, i = 0, j = 0;
	path_list files = { NULL, 0, 0 };
	long bad = 0;
	int ret;

	if ((ret = ctw_path_join(ctx, dir, SUMS_NAME, &sums)) || (ret = read_sums(ctx, sums, &listed, &n_listed)) ||
	    (ret = list_files(ctx, dir, &files)))
		goto out;
	/* merge the two sorted lists */
	while (i < n_listed || j < files.n) {
		int c = i == n_listed ? 1 : j == files.n ? -1 : strcmp(listed[i].path, files.v[j]);
		if (c < 0) {
			ctw_log(ctx, CTW_LOG_ERROR, dir, "missing file '%s'", listed[i].path);
			bad++;
			i++;
		} else if (c > 0) {
			ctw_log(ctx, CTW_LOG_ERROR, dir, "unlisted file '%s'", files.v[j]);
			bad++;
			j++;
		} else {
			if ((ret = ctw_path_join(ctx, dir, files.v[j], &full)))
				goto out;
			ret = ctw_sha256_file(ctx, full, hex);
			ctw_free(ctx, full);
			if (ret)
				goto out;
			if (strcmp(hex, listed[i].hex)) {
				ctw_log(ctx, CTW_LOG_ERROR, dir, "changed file '%s'", files.v[j]);
				bad++;
			}
			i++;
			j++;
		}
	}
	if (bad)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, dir, "%ld file%s missing, changed or unlisted in " SUMS_NAME,
				bad, bad == 1 ? "" : "s");
out:
	for (i = 0; i < n_listed; i++)
		ctw_free(ctx, listed[i].path);
	ctw_free(ctx, listed);
	list_free(ctx, &files);
	ctw_free(ctx, sums);
	return ret;
}
