/* sha256.c: SHA-256 (FIPS 180-4 §4.1.2, §5.1.1, §6.2) and HMAC-SHA256 (RFC 2104), written from
 * the specifications. Whole 64-byte blocks are compressed straight from the caller's buffer;
 * only a partial block is ever copied. */
#include "sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHANI_CODE 1
#endif

#define CHUNK_BYTES ((size_t)1 << 20) /* ctw_sha256_file() reads this much at a time */

/* §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

/* §5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
static const uint32_t H0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

/* §4.1.2 functions. Ch and Maj are rewritten with fewer operations; both forms are equal bit by
 * bit. Arguments must be plain variables or side-effect-free expressions (evaluated twice). */
#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))          /* (x & y) ^ (~x & z)           */
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y)))) /* (x & y) ^ (x & z) ^ (y & z)  */
#define BSIG0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

/* Message schedule word t >= 16 (§6.2.2 step 1) computed in place in a 16-word ring: before,
 * w[i] holds W(t-16) for i = t mod 16; after, it holds W(t). */
#define SCHED(i)                                                                                   \
	(w[(i)] += SSIG1(w[((i) + 14) & 15]) + w[((i) + 9) & 15] + SSIG0(w[((i) + 1) & 15]))
#define LOADED(i) (w[(i)])

/* One round (§6.2.2 step 3) without moving the eight working variables: the new e lands in d
 * and the new a in h, and the caller passes the names rotated by one for the next round. */
#define ROUND(a, b, c, d, e, f, g, h, k, wt)                                                       \
	do {                                                                                       \
		uint32_t t1_ = (h) + BSIG1(e) + CH(e, f, g) + (k) + (wt);                          \
		(d) += t1_;                                                                        \
		(h) = t1_ + BSIG0(a) + MAJ(a, b, c);                                               \
	} while (0)

/* Sixteen rounds t0..t0+15 taking the schedule words from W(i), i = 0..15. */
#define ROUNDS16(t0, W)                                                                            \
	do {                                                                                       \
		ROUND(a, b, c, d, e, f, g, h, K[(t0) + 0], W(0));                                  \
		ROUND(h, a, b, c, d, e, f, g, K[(t0) + 1], W(1));                                  \
		ROUND(g, h, a, b, c, d, e, f, K[(t0) + 2], W(2));                                  \
		ROUND(f, g, h, a, b, c, d, e, K[(t0) + 3], W(3));                                  \
		ROUND(e, f, g, h, a, b, c, d, K[(t0) + 4], W(4));                                  \
		ROUND(d, e, f, g, h, a, b, c, K[(t0) + 5], W(5));                                  \
		ROUND(c, d, e, f, g, h, a, b, K[(t0) + 6], W(6));                                  \
		ROUND(b, c, d, e, f, g, h, a, K[(t0) + 7], W(7));                                  \
		ROUND(a, b, c, d, e, f, g, h, K[(t0) + 8], W(8));                                  \
		ROUND(h, a, b, c, d, e, f, g, K[(t0) + 9], W(9));                                  \
		ROUND(g, h, a, b, c, d, e, f, K[(t0) + 10], W(10));                                \
		ROUND(f, g, h, a, b, c, d, e, K[(t0) + 11], W(11));                                \
		ROUND(e, f, g, h, a, b, c, d, K[(t0) + 12], W(12));                                \
		ROUND(d, e, f, g, h, a, b, c, K[(t0) + 13], W(13));                                \
		ROUND(c, d, e, f, g, h, a, b, K[(t0) + 14], W(14));                                \
		ROUND(b, c, d, e, f, g, h, a, K[(t0) + 15], W(15));                                \
	} while (0)

static uint32_t load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(unsigned char *p, uint32_t x)
{
	p[0] = (unsigned char)(x >> 24);
	p[1] = (unsigned char)(x >> 16);
	p[2] = (unsigned char)(x >> 8);
	p[3] = (unsigned char)x;
}

/* Zeroes n bytes in a way the compiler may not drop as a dead store. */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

/* Applies the compression function (§6.2.2) to n_blocks consecutive 64-byte blocks at p,
 * updating the chaining value st. p needs no alignment. */
static void compress(uint32_t st[8], const unsigned char *p, size_t n_blocks)
{
	uint32_t a, b, c, d, e, f, g, h, w[16];
	int i, t;

	for (; n_blocks; n_blocks--, p += 64) {
		for (i = 0; i < 16; i++)
			w[i] = load_be32(p + 4 * i);
		a = st[0];
		b = st[1];
		c = st[2];
		d = st[3];
		e = st[4];
		f = st[5];
		g = st[6];
		h = st[7];
		ROUNDS16(0, LOADED);
		for (t = 16; t < 64; t += 16)
			ROUNDS16(t, SCHED);
		st[0] += a;
		st[1] += b;
		st[2] += c;
		st[3] += d;
		st[4] += e;
		st[5] += f;
		st[6] += g;
		st[7] += h;
	}
}

#ifdef HAVE_SHANI_CODE
/* The same compression with the x86 SHA extensions (SHA-NI: Intel's, since Goldmont and Ice
 * Lake; AMD's, since Zen), about four times faster. The instructions keep the state as two
 * vectors, ABEF and CDGH (a in the highest lane): sha256rnds2 does two rounds from two
 * schedule words + K, sha256msg1/msg2 compute four schedule words W[t] (t >= 16) from the
 * sixteen before, kept here in a ring of four vectors. */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_shani(uint32_t st[8], const unsigned char *p,
									size_t n_blocks)
{
	const __m128i be = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL); /* bytes of each word reversed */
	__m128i abcd = _mm_loadu_si128((const __m128i *)(const void *)&st[0]);
	__m128i efgh = _mm_loadu_si128((const __m128i *)(const void *)&st[4]);
	__m128i badc = _mm_shuffle_epi32(abcd, 0xB1), hgfe = _mm_shuffle_epi32(efgh, 0x1B);
	__m128i abef = _mm_alignr_epi8(badc, hgfe, 8), cdgh = _mm_blend_epi16(hgfe, badc, 0xF0);

	for (; n_blocks; n_blocks--, p += 64) {
		const __m128i abef0 = abef, cdgh0 = cdgh;
		__m128i w[4];
		for (int i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)), be);
		for (int i = 0; i < 16; i++) {
			__m128i m = _mm_add_epi32(w[i & 3], _mm_loadu_si128((const __m128i *)(const void *)&K[4 * i]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(m, 0x0E));
			if (i < 12) { /* W[4i+16 ..] from W[4i ..] (t-16, t-15), W[4i+9 ..] (t-7), W[4i+14 ..] (t-2) */
				__m128i t = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				w[i & 3] = _mm_sha256msg2_epu32(t, w[(i + 3) & 3]);
			}
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	{
		__m128i feba = _mm_shuffle_epi32(abef, 0x1B), dchg = _mm_shuffle_epi32(cdgh, 0xB1);
		_mm_storeu_si128((__m128i *)(void *)&st[0], _mm_blend_epi16(feba, dchg, 0xF0));
		_mm_storeu_si128((__m128i *)(void *)&st[4], _mm_alignr_epi8(dchg, feba, 8));
	}
}

/* Whether this CPU has SHA-NI, SSE4.1 and SSSE3 (CPUID leaf 7 EBX bit 29; leaf 1 ECX 19, 9). */
static int cpu_has_shani(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9)))
		return 0;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}
#endif

static int accel_allowed = 1; /* ctw_sha256_set_accel() */

int ctw_sha256_set_accel(int on)
{
	int was = accel_allowed;
	accel_allowed = on != 0;
	return was;
}

int ctw_sha256_accel(void)
{
#ifdef HAVE_SHANI_CODE
	return accel_allowed && cpu_has_shani();
#else
	return 0;
#endif
}

/* The compression of s: SHA-NI when ctw_sha256_init() found it. */
static void compress_s(const ctw_sha256 *s, uint32_t st[8], const unsigned char *p, size_t n_blocks)
{
#ifdef HAVE_SHANI_CODE
	if (s->accel) {
		compress_shani(st, p, n_blocks);
		return;
	}
#endif
	(void)s;
	compress(st, p, n_blocks);
}

void ctw_sha256_init(ctw_sha256 *s)
{
	s->accel = (unsigned char)ctw_sha256_accel();
	memcpy(s->h, H0, sizeof(s->h));
	s->n_bytes = 0;
	s->buf_len = 0;
}

void ctw_sha256_update(ctw_sha256 *s, const void *data, size_t n)
{
	const unsigned char *p = data;

	if (n == 0)
		return;
	s->n_bytes += n;
	if (s->buf_len) {
		size_t take = 64 - s->buf_len < n ? 64 - s->buf_len : n;
		memcpy(s->buf + s->buf_len, p, take);
		s->buf_len += take;
		p += take;
		n -= take;
		if (s->buf_len < 64)
			return;
		compress_s(s, s->h, s->buf, 1);
		s->buf_len = 0;
	}
	if (n >= 64) {
		compress_s(s, s->h, p, n / 64);
		p += n - n % 64;
		n %= 64;
	}
	if (n) {
		memcpy(s->buf, p, n);
		s->buf_len = n;
	}
}

void ctw_sha256_final(ctw_sha256 *s, unsigned char digest[32])
{
	uint64_t bits = s->n_bytes * 8; /* §5.1.1: the length in bits, modulo 2^64 */
	size_t n = s->buf_len;
	int i;

	s->buf[n++] = 0x80;
	if (n > 56) { /* no room for the length: pad out this block, then a block of zeros */
		memset(s->buf + n, 0, 64 - n);
		compress_s(s, s->h, s->buf, 1);
		n = 0;
	}
	memset(s->buf + n, 0, 56 - n);
	for (i = 0; i < 8; i++)
		s->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	compress_s(s, s->h, s->buf, 1);
	for (i = 0; i < 8; i++)
		store_be32(digest + 4 * i, s->h[i]);
	wipe(s, sizeof(*s));
}

void ctw_sha256_mem(const void *data, size_t n, unsigned char digest[32])
{
	ctw_sha256 s;

	ctw_sha256_init(&s);
	ctw_sha256_update(&s, data, n);
	ctw_sha256_final(&s, digest);
}

void ctw_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
		     unsigned char mac[32])
{
	unsigned char k[64], inner[32];
	ctw_sha256 s;
	int i;

	/* RFC 2104 §2: K is the key zero-padded to B = 64 bytes, or H(key) padded when longer. */
	memset(k, 0, sizeof(k));
	if (key_len > sizeof(k))
		ctw_sha256_mem(key, key_len, k);
	else if (key_len)
		memcpy(k, key, key_len);

	for (i = 0; i < 64; i++)
		k[i] ^= 0x36; /* ipad */
	ctw_sha256_init(&s);
	ctw_sha256_update(&s, k, sizeof(k));
	ctw_sha256_update(&s, msg, msg_len);
	ctw_sha256_final(&s, inner);

	for (i = 0; i < 64; i++)
		k[i] ^= 0x36 ^ 0x5c; /* undo ipad, apply opad */
	ctw_sha256_init(&s);
	ctw_sha256_update(&s, k, sizeof(k));
	ctw_sha256_update(&s, inner, sizeof(inner));
	ctw_sha256_final(&s, mac);

	wipe(k, sizeof(k));
	wipe(inner, sizeof(inner));
}

void ctw_hex(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

int ctw_sha256_file(ctw_ctx *ctx, const char *path, char hex[65])
{
	unsigned char digest[32], *chunk;
	ctw_sha256 s;
	size_t got;
	FILE *fp;
	int ret = CTW_OK;

	hex[0] = '\0';
	fp = fopen(path, "rb");
	if (!fp)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	chunk = ctw_malloc(ctx, CHUNK_BYTES);
	if (!chunk) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	ctw_sha256_init(&s);
	errno = 0;
	while ((got = fread(chunk, 1, CHUNK_BYTES, fp)) > 0)
		ctw_sha256_update(&s, chunk, got);
	if (ferror(fp)) {
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot read: %s",
				errno ? strerror(errno) : "read error");
		goto out;
	}
	ctw_sha256_final(&s, digest);
	ctw_hex(digest, sizeof(digest), hex);
out:
	ctw_free(ctx, chunk);
	fclose(fp); /* opened for reading: nothing to flush, so a failure here loses nothing */
	return ret;
}
