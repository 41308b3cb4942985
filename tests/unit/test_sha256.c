/* test_sha256.c: SHA-256 against the FIPS 180-4 example messages, incremental hashing at every
 * split, HMAC-SHA256 against RFC 4231, and file hashing against the sha256sum program. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctw.h"
#include "fault_alloc.h"
#include "sha256.h"

/* The digest of n bytes of data in lowercase hex, in a static buffer. */
static const char *hex_of(const void *data, size_t n)
{
	static char hex[65];
	unsigned char d[32];

	ctw_sha256_mem(data, n, d);
	ctw_hex(d, sizeof(d), hex);
	return hex;
}

static void test_sha256_hex(void **state)
{
	const unsigned char b[4] = { 0x00, 0xff, 0x10, 0xab };
	char out[9];

	(void)state;
	memset(out, 'x', sizeof(out));
	ctw_hex(b, sizeof(b), out);
	assert_string_equal(out, "00ff10ab");
	ctw_hex(b, 0, out);
	assert_string_equal(out, "");
}

/* The FIPS 180-4 / NIST CSRC example messages. */
static void test_sha256_nist_vectors(void **state)
{
	static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char m896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
				   "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	const size_t million = 1000000;
	unsigned char *a, d[32];
	char hex[65];
	ctw_sha256 s;
	size_t off;

	(void)state;
	assert_int_equal(strlen(m448) * 8, 448);
	assert_int_equal(strlen(m896) * 8, 896);
	assert_string_equal(hex_of("", 0),
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(hex_of(NULL, 0),
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(hex_of("abc", 3),
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_string_equal(hex_of(m448, strlen(m448)),
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_string_equal(hex_of(m896, strlen(m896)),
			    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

	a = malloc(million);
	assert_non_null(a);
	memset(a, 'a', million);
	assert_string_equal(hex_of(a, million),
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* the same million bytes fed in odd-sized pieces */
	ctw_sha256_init(&s);
	for (off = 0; off < million; off += 997)
		ctw_sha256_update(&s, a + off, million - off < 997 ? million - off : 997);
	ctw_sha256_final(&s, d);
	ctw_hex(d, sizeof(d), hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

/* Messages whose lengths sit at the padding boundaries (55 fits one block, 56 needs two). */
static void test_sha256_padding_boundaries(void **state)
{
	static const struct {
		size_t n;
		const char *hex;
	} cases[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
		{ 128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e" },
	};
	char a[128];
	size_t i;

	(void)state;
	memset(a, 'a', sizeof(a));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(hex_of(a, cases[i].n), cases[i].hex);
}

/* Two updates split at every offset 0..130 of a 200-byte message, and one byte at a time, give
 * the one-shot digest. */
static void test_sha256_incremental_splits(void **state)
{
	unsigned char msg[200], one[32], d[32];
	ctw_sha256 s;
	size_t i, split;

	(void)state;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	ctw_sha256_mem(msg, sizeof(msg), one);
	assert_string_equal(hex_of(msg, sizeof(msg)),
			    "2c7e18c942ef065b526a2d4e5546283749cd3ddfb51d8fc71f42717363685f46");
	for (split = 0; split <= 130; split++) {
		ctw_sha256_init(&s);
		ctw_sha256_update(&s, msg, split);
		ctw_sha256_update(&s, msg + split, sizeof(msg) - split);
		ctw_sha256_final(&s, d);
		if (memcmp(d, one, sizeof(d)) != 0)
			fail_msg("digest differs when split at offset %zu", split);
	}
	ctw_sha256_init(&s);
	for (i = 0; i < sizeof(msg); i++)
		ctw_sha256_update(&s, msg + i, 1);
	ctw_sha256_final(&s, d);
	assert_memory_equal(d, one, sizeof(d));
}

/* RFC 4231 §4.2–§4.8, HMAC-SHA-256 results. */
static void test_sha256_hmac_rfc4231(void **state)
{
	static const char tc7[] = "This is a test using a larger than block-size key and a larger "
				  "than block-size data. The key needs to be hashed before being "
				  "used by the HMAC algorithm.";
	unsigned char k20[20], k25[25], k131[131], d50[50], mac[32];
	char hex[65];
	int i;

	(void)state;
	/* 1: 20-byte key of 0x0b */
	memset(k20, 0x0b, sizeof(k20));
	ctw_hmac_sha256(k20, sizeof(k20), "Hi There", 8, mac);
	ctw_hex(mac, 32, hex);
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* 2: key shorter than the output */
	ctw_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	ctw_hex(mac, 32, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* 3: 20 x 0xaa key, 50 x 0xdd data */
	memset(k20, 0xaa, sizeof(k20));
	memset(d50, 0xdd, sizeof(d50));
	ctw_hmac_sha256(k20, sizeof(k20), d50, sizeof(d50), mac);
	ctw_hex(mac, 32, hex);
	assert_string_equal(hex, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	/* 4: key 0x01..0x19, 50 x 0xcd data */
	for (i = 0; i < 25; i++)
		k25[i] = (unsigned char)(i + 1);
	memset(d50, 0xcd, sizeof(d50));
	ctw_hmac_sha256(k25, sizeof(k25), d50, sizeof(d50), mac);
	ctw_hex(mac, 32, hex);
	assert_string_equal(hex, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	/* 5: output truncated to 128 bits */
	memset(k20, 0x0c, sizeof(k20));
	ctw_hmac_sha256(k20, sizeof(k20), "Test With Truncation", 20, mac);
	ctw_hex(mac, 16, hex);
	assert_string_equal(hex, "a3b6167473100ee06e0c796c2955552b");
	/* 6: 131-byte key, longer than the block, is hashed first */
	memset(k131, 0xaa, sizeof(k131));
	ctw_hmac_sha256(k131, sizeof(k131), "Test Using Larger Than Block-Size Key - Hash Key First",
			54, mac);
	ctw_hex(mac, 32, hex);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	/* 7: 131-byte key and 152 bytes of data */
	assert_int_equal(strlen(tc7), 152);
	ctw_hmac_sha256(k131, sizeof(k131), tc7, strlen(tc7), mac);
	ctw_hex(mac, 32, hex);
	assert_string_equal(hex, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* Writes n pseudo-random bytes to a new temporary file; returns its malloc'd content and sets
 * path (which holds 64 bytes). */
static unsigned char *write_temp(char *path, size_t n)
{
	unsigned char *data = malloc(n ? n : 1);
	uint32_t x = 12345;
	size_t i;
	FILE *fp;
	int fd;

	assert_non_null(data);
	for (i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		data[i] = (unsigned char)(x >> 24);
	}
	strcpy(path, "/tmp/ctw_sha256_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	return data;
}

/* The digest that the sha256sum program prints for path. */
static void sha256sum_of(const char *path, char out[65])
{
	char cmd[128], line[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	assert_int_equal(pclose(p), 0);
	assert_true(strlen(line) > 64 && line[64] == ' ');
	memcpy(out, line, 64);
	out[64] = '\0';
}

/* Sizes cover an empty file, a partial block, and several 1 MiB chunks with a ragged tail. */
static void test_sha256_file_matches_memory_and_sha256sum(void **state)
{
	static const size_t sizes[] = { 0, 1000, ((size_t)3 << 20) + 1017 };
	ctw_ctx *ctx = ctw_ctx_new();
	char path[64], hex[65], ref[65];
	size_t i;

	(void)state;
	assert_non_null(ctx);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *data = write_temp(path, sizes[i]);
		assert_int_equal(ctw_sha256_file(ctx, path, hex), CTW_OK);
		assert_string_equal(hex, hex_of(data, sizes[i]));
		sha256sum_of(path, ref);
		assert_string_equal(hex, ref);
		unlink(path);
		free(data);
	}
	ctw_ctx_free(ctx);
}

static void test_sha256_file_errors(void **state)
{
	const char *missing = "/nonexistent-ctw-dir/missing-input.dcm";
	ctw_ctx *ctx = ctw_ctx_new();
	char hex[65];

	(void)state;
	assert_non_null(ctx);
	strcpy(hex, "stale");
	assert_int_equal(ctw_sha256_file(ctx, missing, hex), CTW_ERR_IO);
	assert_int_equal(ctw_errcode(ctx), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), missing));
	assert_non_null(strstr(ctw_errmsg(ctx), "cannot open"));
	assert_string_equal(hex, "");

	/* a directory opens on Linux but cannot be read */
	ctw_clear_error(ctx);
	assert_int_equal(ctw_sha256_file(ctx, "/tmp", hex), CTW_ERR_IO);
	assert_non_null(strstr(ctw_errmsg(ctx), "/tmp"));
	assert_string_equal(hex, "");
	ctw_ctx_free(ctx);
}

/* The chunk allocation failing gives CTW_ERR_NOMEM and leaves nothing allocated. */
static void test_sha256_file_nomem(void **state)
{
	char path[64], hex[65];
	unsigned char *data = write_temp(path, 100);
	fault_alloc f;
	ctw_ctx *ctx = fault_ctx(&f, 2); /* call 1 is the context, call 2 the chunk */

	(void)state;
	assert_non_null(ctx);
	assert_int_equal(ctw_sha256_file(ctx, path, hex), CTW_ERR_NOMEM);
	assert_int_equal(ctw_errcode(ctx), CTW_ERR_NOMEM);
	assert_string_equal(hex, "");
	ctw_ctx_free(ctx);
	assert_int_equal(f.live, 0);
	unlink(path);
	free(data);
}

/* The SHA-NI compression against the portable one: 3000 messages of every length 0..2999 of
 * pseudo-random bytes, hashed whole and in two pieces split at a pseudo-random point. */
static void test_sha256_accel_matches_portable(void **state)
{
	static unsigned char data[3000];
	uint64_t r = 0x9E3779B97F4A7C15ull;
	int was = ctw_sha256_set_accel(1);
	(void)state;
	print_message("SHA-NI %s on this CPU\n", ctw_sha256_accel() ? "used" : "not available");
	for (size_t i = 0; i < sizeof(data); i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		data[i] = (unsigned char)r;
	}
	for (size_t n = 0; n < sizeof(data); n++) {
		unsigned char a[32], b[32], c[32];
		ctw_sha256 s;
		size_t cut = n ? (size_t)(r % n) : 0;
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		ctw_sha256_set_accel(1);
		ctw_sha256_mem(data, n, a);
		ctw_sha256_init(&s);
		ctw_sha256_update(&s, data, cut);
		ctw_sha256_update(&s, data + cut, n - cut);
		ctw_sha256_final(&s, c);
		ctw_sha256_set_accel(0);
		ctw_sha256_mem(data, n, b);
		assert_memory_equal(a, b, 32);
		assert_memory_equal(c, b, 32);
	}
	ctw_sha256_set_accel(was);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_hex),
		cmocka_unit_test(test_sha256_nist_vectors),
		cmocka_unit_test(test_sha256_padding_boundaries),
		cmocka_unit_test(test_sha256_incremental_splits),
		cmocka_unit_test(test_sha256_hmac_rfc4231),
		cmocka_unit_test(test_sha256_file_matches_memory_and_sha256sum),
		cmocka_unit_test(test_sha256_file_errors),
		cmocka_unit_test(test_sha256_file_nomem),
		cmocka_unit_test(test_sha256_accel_matches_portable),
	};
	int failed;
	/* every test twice: with the CPU's SHA instructions when it has them, then portable */
	failed = cmocka_run_group_tests_name("sha256 (SHA-NI where available)", tests, NULL, NULL);
	ctw_sha256_set_accel(0);
	failed += cmocka_run_group_tests_name("sha256 (portable)", tests, NULL, NULL);
	return failed;
}
