/* shared_data.h: tests that read ../shared/data (CTW_SHARED_DATA) skip themselves when it is
 * absent (a stranger's clone has none), unless CI=true: there its absence is a failure.
 * Include after <cmocka.h>. */
#ifndef CTW_TEST_SHARED_DATA_H
#define CTW_TEST_SHARED_DATA_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 when path exists; 0 after a 'skip: ...' line when it does not (CI=true: the test fails). */
static inline int shared_data_present(const char *path)
{
	const char *ci = getenv("CI");
	if (access(path, F_OK) == 0)
		return 1;
	if (ci && !strcmp(ci, "true"))
		fail_msg("%s missing (CI=true needs ../shared/data)", path);
	print_message("skip: no %s (../shared/data is not here)\n", path);
	return 0;
}

/* Skips the calling test (cmocka's skip()) when path is absent; see shared_data_present. */
#define NEED_SHARED(path)                            \
	do {                                         \
		if (!shared_data_present(path))      \
			skip();                      \
	} while (0)

#endif
