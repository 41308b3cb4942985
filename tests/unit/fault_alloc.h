/* fault_alloc.h: a test allocator that fails its Nth call (counting from 1; 0 = never) and
 * counts live blocks, so tests can check every allocation failure path for leaks (SQLite's
 * xMalloc fault injection). Header-only, for the unit tests. */
#ifndef CTW_TEST_FAULT_ALLOC_H
#define CTW_TEST_FAULT_ALLOC_H

#include <stdlib.h>
#include <string.h>

#include "ctw.h"

typedef struct fault_alloc {
	long calls, fail_at, live;
} fault_alloc;

static inline void *fa_malloc(void *ud, size_t n)
{
	fault_alloc *f = ud;
	void *p;
	if (++f->calls == f->fail_at)
		return NULL;
	p = malloc(n ? n : 1);
	f->live += p != NULL;
	return p;
}

static inline void *fa_realloc(void *ud, void *p, size_t n)
{
	fault_alloc *f = ud;
	void *q;
	if (++f->calls == f->fail_at)
		return NULL;
	q = realloc(p, n ? n : 1);
	f->live += q && !p;
	return q;
}

static inline void fa_free(void *ud, void *p)
{
	fault_alloc *f = ud;
	f->live -= p != NULL;
	free(p);
}

/* A context whose allocations (its own is call 1) go through *f, failing call fail_at. */
static inline ctw_ctx *fault_ctx(fault_alloc *f, long fail_at)
{
	ctw_allocator a = { fa_malloc, fa_realloc, fa_free, f };
	memset(f, 0, sizeof(*f));
	f->fail_at = fail_at;
	return ctw_ctx_new_with(&a);
}

#endif
