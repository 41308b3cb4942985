/* sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for de-identification (salted
 * hashes of DICOM UIDs) and provenance (hashes of input and output files). Pure C, no
 * dependencies. */
#ifndef CTW_SHA256_H
#define CTW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "ctw.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTW_SHA256_DIGEST_LEN 32 /* bytes in a digest or an HMAC-SHA256 tag              */
#define CTW_SHA256_HEX_LEN 65    /* bytes of a digest in hex, terminating NUL included */

/* An incremental hash, owned by the caller (stack or embedded); no heap behind it. */
typedef struct ctw_sha256 {
	uint32_t h[8];           /* chaining value H0..H7                                */
	uint64_t n_bytes;        /* message bytes hashed so far                          */
	unsigned char buf[64];   /* a partial block waiting for more input               */
	size_t buf_len;          /* bytes in buf, 0..63 between calls                    */
	unsigned char accel;     /* 1: compressed with the CPU's SHA instructions         */
} ctw_sha256;

/* Whether hashes started from now on use the CPU's SHA instructions (x86 SHA-NI, checked at
 * run time; same digests, about 4x faster). ctw_sha256_set_accel(0) forces the portable code
 * (for tests; not thread-safe) and returns the previous setting. */
CTW_API int ctw_sha256_accel(void);
CTW_API int ctw_sha256_set_accel(int on);

/* Starts a new hash in *s (any previous content is overwritten). */
CTW_API void ctw_sha256_init(ctw_sha256 *s);
/* Hashes n more bytes of data (borrowed; NULL allowed when n is 0). Whole 64-byte blocks are
 * compressed straight from data; only a partial block is copied into s->buf. */
CTW_API void ctw_sha256_update(ctw_sha256 *s, const void *data, size_t n);
/* Pads the message, writes its 32-byte digest and wipes *s; call ctw_sha256_init() before
 * reusing *s. */
CTW_API void ctw_sha256_final(ctw_sha256 *s, unsigned char digest[32]);
/* One-shot SHA-256 of n bytes of data (borrowed; NULL allowed when n is 0) into digest. Named
 * _mem because C gives a typedef and a function one namespace, so it cannot be ctw_sha256(). */
CTW_API void ctw_sha256_mem(const void *data, size_t n, unsigned char digest[32]);
/* HMAC-SHA256 (RFC 2104) of msg under key into mac (32 bytes). Keys longer than 64 bytes are
 * hashed first, as the RFC says; key and msg are borrowed and may be NULL when their length is
 * 0. Truncate mac yourself if a shorter tag is wanted. The padded key is wiped afterwards. */
CTW_API void ctw_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
			     unsigned char mac[32]);
/* Writes n bytes as 2n lowercase hex digits plus a NUL into out, which holds 2n+1 bytes. */
CTW_API void ctw_hex(const unsigned char *bytes, size_t n, char *out);
/* Hashes the whole file at path, reading it in 1 MiB chunks, and writes the digest as 64
 * lowercase hex digits plus a NUL into hex (65 bytes), as sha256sum prints it. Returns CTW_OK,
 * CTW_ERR_IO (message "<path>: cannot open|read: <reason>") or CTW_ERR_NOMEM; on failure hex
 * is "". Nothing is left allocated or open either way. */
CTW_API int ctw_sha256_file(ctw_ctx *ctx, const char *path, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
