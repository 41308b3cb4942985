/* seglog.h: the segment stages' change log (internal to segment/): lines appended to a growing
 * string and logged at info level. A failed allocation sets failed; the caller reports it. */
#ifndef CTW_SEGLOG_H
#define CTW_SEGLOG_H

#include "ctw.h"

typedef struct logbuf {
	ctw_ctx *ctx;
	char *s;
	size_t len, cap;
	int failed;
} logbuf;

void ctw_seglog_note(logbuf *b, const char *fmt, ...) CTW_PRINTF(2, 3);

#endif
