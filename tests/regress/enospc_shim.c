/* enospc_shim.c: an LD_PRELOAD library for the disk-full regression test (t121). write(),
 * writev() and pwrite() to files whose path starts with $CTW_ENOSPC_PREFIX fail with ENOSPC
 * once $CTW_ENOSPC_AFTER bytes have gone to such files, so every writer's full-disk path is
 * exercised deterministically (not only the one a small tmpfs happens to hit). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long written;

/* 1 when fd is a file under the prefix and n more bytes would pass the limit. */
static int full(int fd, size_t n)
{
	const char *prefix = getenv("CTW_ENOSPC_PREFIX"), *after = getenv("CTW_ENOSPC_AFTER");
	char link[64], path[4096];
	ssize_t len;

	if (!prefix || !after)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len <= 0)
		return 0;
	path[len] = '\0';
	if (strncmp(path, prefix, strlen(prefix)) != 0)
		return 0;
	if (written + (long long)n > atoll(after))
		return 1;
	written += (long long)n;
	return 0;
}

__attribute__((visibility("default"))) ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		*(void **)(&real) = dlsym(RTLD_NEXT, "write");
	if (full(fd, n)) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, n);
}

__attribute__((visibility("default"))) ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	if (!real)
		*(void **)(&real) = dlsym(RTLD_NEXT, "pwrite");
	if (full(fd, n)) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, n, off);
}

__attribute__((visibility("default"))) ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	size_t n = 0;
	if (!real)
		*(void **)(&real) = dlsym(RTLD_NEXT, "writev");
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	if (full(fd, n)) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, iov, cnt);
}
