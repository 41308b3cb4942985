/* workers_int.h: one job per thread, private to meshing/ (the VTU reader and writer, the tags).
 * The caller runs job 0 itself; a job whose thread cannot be started runs on the caller
 * afterwards, so the work is always done, only slower. */
#ifndef CTW_WORKERS_INT_H
#define CTW_WORKERS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

#define CTW_MAX_WORKERS 8

/* Threads worth starting: the online processors, 1..CTW_MAX_WORKERS. */
static inline int ctw_worker_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > CTW_MAX_WORKERS ? CTW_MAX_WORKERS : (int)n;
}

/* Runs fn on each of the n (<= CTW_MAX_WORKERS) jobs laid out `size` bytes apart from jobs,
 * and returns when all are done. */
static inline void ctw_run_workers(void *(*fn)(void *), void *jobs, size_t size, int n)
{
	pthread_t th[CTW_MAX_WORKERS];
	int started[CTW_MAX_WORKERS] = { 0 };
	for (int i = 1; i < n; i++)
		started[i] = pthread_create(&th[i], NULL, fn, (char *)jobs + (size_t)i * size) == 0;
	if (n > 0)
		fn(jobs);
	for (int i = 1; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			fn((char *)jobs + (size_t)i * size);
	}
}

#endif
