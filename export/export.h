/* export.h: the export stage (packages, provenance, QA images). So far: the versions of the
 * libraries it writes with, for --version and provenance. */
#ifndef CTW_EXPORT_H
#define CTW_EXPORT_H

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the libxml2 library linked in (runtime), e.g. "2.9.14". Static string. */
CTW_API const char *ctw_libxml2_version(void);
/* Version of the libpng library linked in (runtime), e.g. "1.6.39". Static string. */
CTW_API const char *ctw_libpng_version(void);

#ifdef __cplusplus
}
#endif
#endif
