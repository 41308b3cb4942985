/* versions.c: the runtime versions of libxml2 and libpng, the libraries export/ writes with. */
#include "export.h"

#include <png.h>
#include <stdio.h>
#include <libxml/parser.h>

const char *ctw_libxml2_version(void)
{
	/* xmlParserVersion is "20914" for 2.9.14: the library's own, not the header's. */
	static char buf[32];
	if (!buf[0]) {
		int v = 0;
		sscanf(xmlParserVersion, "%d", &v);
		snprintf(buf, sizeof(buf), "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
	}
	return buf;
}

const char *ctw_libpng_version(void)
{
	return png_get_libpng_ver(NULL);
}
