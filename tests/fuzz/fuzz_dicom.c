/* fuzz_dicom.c: libFuzzer target for the DICOM parser (pipeline/io/dicom.c).
 * Build and run (not part of `make test`):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ipipeline/core -Ipipeline/io \
 *     tests/fuzz/fuzz_dicom.c pipeline/io/dicom.c pipeline/core/[a-z]*.c -lm -o /tmp/fuzz_dicom
 *   /tmp/fuzz_dicom -max_total_time=120 build/fuzz-corpus   (seed it with phantom DICOM files) */
#include <stddef.h>
#include <stdint.h>

#include "dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ctw_dicom_file f;
	ctw_dicom_parse(data, size, &f);
	return 0;
}
