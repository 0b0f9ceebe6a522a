// SPDX-License-Identifier: GPL-2.0
/*
 * fec.c - the systematic Reed-Solomon erasure code of dnbd_fec.h: GF(2^8)
 * arithmetic, Cauchy encoding and decoding.
 *
 * The field is GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11d), with 2 as
 * the generator.  Its tables are constants below (written once by a
 * throwaway script; tests/unit/test-fec.c checks every product and
 * inverse against bitwise arithmetic), so there is nothing to initialise
 * and nothing to race on in the kernel.  Nothing here takes more than a
 * few hundred bytes of stack: the decoder's scratch is the caller's.
 *
 * The kernel has the table-driven multiply-add only.  Userspace on x86-64
 * also has SSSE3 and AVX2 variants (PSHUFB on 16-entry nibble tables,
 * five and eight times faster), chosen with cpuid at the first call; the
 * variant in use is the one variable here, read and set atomically.
 */
#include "dnbd_fec.h"

/*
 * gf_exp[n] = 2^n for n < 510 (twice round the 255 powers, so the sum of
 * two logarithms needs no reduction), then zeros up to 767: gf_log[0] is
 * 510, so gf_exp[gf_log[c] + gf_log[0]] is 0 = c * 0 without a branch.
 */
static const uint8_t gf_exp[768] = {
	0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80,
	0x1d, 0x3a, 0x74, 0xe8, 0xcd, 0x87, 0x13, 0x26,
	0x4c, 0x98, 0x2d, 0x5a, 0xb4, 0x75, 0xea, 0xc9,
	0x8f, 0x03, 0x06, 0x0c, 0x18, 0x30, 0x60, 0xc0,
	0x9d, 0x27, 0x4e, 0x9c, 0x25, 0x4a, 0x94, 0x35,
	0x6a, 0xd4, 0xb5, 0x77, 0xee, 0xc1, 0x9f, 0x23,
	0x46, 0x8c, 0x05, 0x0a, 0x14, 0x28, 0x50, 0xa0,
	0x5d, 0xba, 0x69, 0xd2, 0xb9, 0x6f, 0xde, 0xa1,
	0x5f, 0xbe, 0x61, 0xc2, 0x99, 0x2f, 0x5e, 0xbc,
	0x65, 0xca, 0x89, 0x0f, 0x1e, 0x3c, 0x78, 0xf0,
	0xfd, 0xe7, 0xd3, 0xbb, 0x6b, 0xd6, 0xb1, 0x7f,
	0xfe, 0xe1, 0xdf, 0xa3, 0x5b, 0xb6, 0x71, 0xe2,
	0xd9, 0xaf, 0x43, 0x86, 0x11, 0x22, 0x44, 0x88,
	0x0d, 0x1a, 0x34, 0x68, 0xd0, 0xbd, 0x67, 0xce,
	0x81, 0x1f, 0x3e, 0x7c, 0xf8, 0xed, 0xc7, 0x93,
	0x3b, 0x76, 0xec, 0xc5, 0x97, 0x33, 0x66, 0xcc,
	0x85, 0x17, 0x2e, 0x5c, 0xb8, 0x6d, 0xda, 0xa9,
	0x4f, 0x9e, 0x21, 0x42, 0x84, 0x15, 0x2a, 0x54,
	0xa8, 0x4d, 0x9a, 0x29, 0x52, 0xa4, 0x55, 0xaa,
	0x49, 0x92, 0x39, 0x72, 0xe4, 0xd5, 0xb7, 0x73,
	0xe6, 0xd1, 0xbf, 0x63, 0xc6, 0x91, 0x3f, 0x7e,
	0xfc, 0xe5, 0xd7, 0xb3, 0x7b, 0xf6, 0xf1, 0xff,
	0xe3, 0xdb, 0xab, 0x4b, 0x96, 0x31, 0x62, 0xc4,
	0x95, 0x37, 0x6e, 0xdc, 0xa5, 0x57, 0xae, 0x41,
	0x82, 0x19, 0x32, 0x64, 0xc8, 0x8d, 0x07, 0x0e,
	0x1c, 0x38, 0x70, 0xe0, 0xdd, 0xa7, 0x53, 0xa6,
	0x51, 0xa2, 0x59, 0xb2, 0x79, 0xf2, 0xf9, 0xef,
	0xc3, 0x9b, 0x2b, 0x56, 0xac, 0x45, 0x8a, 0x09,
	0x12, 0x24, 0x48, 0x90, 0x3d, 0x7a, 0xf4, 0xf5,
	0xf7, 0xf3, 0xfb, 0xeb, 0xcb, 0x8b, 0x0b, 0x16,
	0x2c, 0x58, 0xb0, 0x7d, 0xfa, 0xe9, 0xcf, 0x83,
	0x1b, 0x36, 0x6c, 0xd8, 0xad, 0x47, 0x8e, 0x01,
	0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1d,
	0x3a, 0x74, 0xe8, 0xcd, 0x87, 0x13, 0x26, 0x4c,
	0x98, 0x2d, 0x5a, 0xb4, 0x75, 0xea, 0xc9, 0x8f,
	0x03, 0x06, 0x0c, 0x18, 0x30, 0x60, 0xc0, 0x9d,
	0x27, 0x4e, 0x9c, 0x25, 0x4a, 0x94, 0x35, 0x6a,
	0xd4, 0xb5, 0x77, 0xee, 0xc1, 0x9f, 0x23, 0x46,
	0x8c, 0x05, 0x0a, 0x14, 0x28, 0x50, 0xa0, 0x5d,
	0xba, 0x69, 0xd2, 0xb9, 0x6f, 0xde, 0xa1, 0x5f,
	0xbe, 0x61, 0xc2, 0x99, 0x2f, 0x5e, 0xbc, 0x65,
	0xca, 0x89, 0x0f, 0x1e, 0x3c, 0x78, 0xf0, 0xfd,
	0xe7, 0xd3, 0xbb, 0x6b, 0xd6, 0xb1, 0x7f, 0xfe,
	0xe1, 0xdf, 0xa3, 0x5b, 0xb6, 0x71, 0xe2, 0xd9,
	0xaf, 0x43, 0x86, 0x11, 0x22, 0x44, 0x88, 0x0d,
	0x1a, 0x34, 0x68, 0xd0, 0xbd, 0x67, 0xce, 0x81,
	0x1f, 0x3e, 0x7c, 0xf8, 0xed, 0xc7, 0x93, 0x3b,
	0x76, 0xec, 0xc5, 0x97, 0x33, 0x66, 0xcc, 0x85,
	0x17, 0x2e, 0x5c, 0xb8, 0x6d, 0xda, 0xa9, 0x4f,
	0x9e, 0x21, 0x42, 0x84, 0x15, 0x2a, 0x54, 0xa8,
	0x4d, 0x9a, 0x29, 0x52, 0xa4, 0x55, 0xaa, 0x49,
	0x92, 0x39, 0x72, 0xe4, 0xd5, 0xb7, 0x73, 0xe6,
	0xd1, 0xbf, 0x63, 0xc6, 0x91, 0x3f, 0x7e, 0xfc,
	0xe5, 0xd7, 0xb3, 0x7b, 0xf6, 0xf1, 0xff, 0xe3,
	0xdb, 0xab, 0x4b, 0x96, 0x31, 0x62, 0xc4, 0x95,
	0x37, 0x6e, 0xdc, 0xa5, 0x57, 0xae, 0x41, 0x82,
	0x19, 0x32, 0x64, 0xc8, 0x8d, 0x07, 0x0e, 0x1c,
	0x38, 0x70, 0xe0, 0xdd, 0xa7, 0x53, 0xa6, 0x51,
	0xa2, 0x59, 0xb2, 0x79, 0xf2, 0xf9, 0xef, 0xc3,
	0x9b, 0x2b, 0x56, 0xac, 0x45, 0x8a, 0x09, 0x12,
	0x24, 0x48, 0x90, 0x3d, 0x7a, 0xf4, 0xf5, 0xf7,
	0xf3, 0xfb, 0xeb, 0xcb, 0x8b, 0x0b, 0x16, 0x2c,
	0x58, 0xb0, 0x7d, 0xfa, 0xe9, 0xcf, 0x83, 0x1b,
	0x36, 0x6c, 0xd8, 0xad, 0x47, 0x8e,
	/* 510..767: 0 */
};

/* gf_log[x] = n with 2^n = x for x != 0; gf_log[0] = 510 (see gf_exp). */
static const uint16_t gf_log[256] = {
	510,   0,   1,  25,   2,  50,  26, 198,
	  3, 223,  51, 238,  27, 104, 199,  75,
	  4, 100, 224,  14,  52, 141, 239, 129,
	 28, 193, 105, 248, 200,   8,  76, 113,
	  5, 138, 101,  47, 225,  36,  15,  33,
	 53, 147, 142, 218, 240,  18, 130,  69,
	 29, 181, 194, 125, 106,  39, 249, 185,
	201, 154,   9, 120,  77, 228, 114, 166,
	  6, 191, 139,  98, 102, 221,  48, 253,
	226, 152,  37, 179,  16, 145,  34, 136,
	 54, 208, 148, 206, 143, 150, 219, 189,
	241, 210,  19,  92, 131,  56,  70,  64,
	 30,  66, 182, 163, 195,  72, 126, 110,
	107,  58,  40,  84, 250, 133, 186,  61,
	202,  94, 155, 159,  10,  21, 121,  43,
	 78, 212, 229, 172, 115, 243, 167,  87,
	  7, 112, 192, 247, 140, 128,  99,  13,
	103,  74, 222, 237,  49, 197, 254,  24,
	227, 165, 153, 119,  38, 184, 180, 124,
	 17,  68, 146, 217,  35,  32, 137,  46,
	 55,  63, 209,  91, 149, 188, 207, 205,
	144, 135, 151, 178, 220, 252, 190,  97,
	242,  86, 211, 171,  20,  42,  93, 158,
	132,  60,  57,  83,  71, 109,  65, 162,
	 31,  45,  67, 216, 183, 123, 164, 118,
	196,  23,  73, 236, 127,  12, 111, 246,
	108, 161,  59,  82,  41, 157,  85, 170,
	251,  96, 134, 177, 187, 204,  62,  90,
	203,  89,  95, 176, 156, 169, 160,  81,
	 11, 245,  22, 235, 122, 117,  44, 215,
	 79, 174, 213, 233, 230, 231, 173, 232,
	116, 214, 244, 234, 168,  80,  88, 175,
};

/* gf_inv[x] = 1 / x for x != 0; gf_inv[0] = 0. */
static const uint8_t gf_inv[256] = {
	0x00, 0x01, 0x8e, 0xf4, 0x47, 0xa7, 0x7a, 0xba,
	0xad, 0x9d, 0xdd, 0x98, 0x3d, 0xaa, 0x5d, 0x96,
	0xd8, 0x72, 0xc0, 0x58, 0xe0, 0x3e, 0x4c, 0x66,
	0x90, 0xde, 0x55, 0x80, 0xa0, 0x83, 0x4b, 0x2a,
	0x6c, 0xed, 0x39, 0x51, 0x60, 0x56, 0x2c, 0x8a,
	0x70, 0xd0, 0x1f, 0x4a, 0x26, 0x8b, 0x33, 0x6e,
	0x48, 0x89, 0x6f, 0x2e, 0xa4, 0xc3, 0x40, 0x5e,
	0x50, 0x22, 0xcf, 0xa9, 0xab, 0x0c, 0x15, 0xe1,
	0x36, 0x5f, 0xf8, 0xd5, 0x92, 0x4e, 0xa6, 0x04,
	0x30, 0x88, 0x2b, 0x1e, 0x16, 0x67, 0x45, 0x93,
	0x38, 0x23, 0x68, 0x8c, 0x81, 0x1a, 0x25, 0x61,
	0x13, 0xc1, 0xcb, 0x63, 0x97, 0x0e, 0x37, 0x41,
	0x24, 0x57, 0xca, 0x5b, 0xb9, 0xc4, 0x17, 0x4d,
	0x52, 0x8d, 0xef, 0xb3, 0x20, 0xec, 0x2f, 0x32,
	0x28, 0xd1, 0x11, 0xd9, 0xe9, 0xfb, 0xda, 0x79,
	0xdb, 0x77, 0x06, 0xbb, 0x84, 0xcd, 0xfe, 0xfc,
	0x1b, 0x54, 0xa1, 0x1d, 0x7c, 0xcc, 0xe4, 0xb0,
	0x49, 0x31, 0x27, 0x2d, 0x53, 0x69, 0x02, 0xf5,
	0x18, 0xdf, 0x44, 0x4f, 0x9b, 0xbc, 0x0f, 0x5c,
	0x0b, 0xdc, 0xbd, 0x94, 0xac, 0x09, 0xc7, 0xa2,
	0x1c, 0x82, 0x9f, 0xc6, 0x34, 0xc2, 0x46, 0x05,
	0xce, 0x3b, 0x0d, 0x3c, 0x9c, 0x08, 0xbe, 0xb7,
	0x87, 0xe5, 0xee, 0x6b, 0xeb, 0xf2, 0xbf, 0xaf,
	0xc5, 0x64, 0x07, 0x7b, 0x95, 0x9a, 0xae, 0xb6,
	0x12, 0x59, 0xa5, 0x35, 0x65, 0xb8, 0xa3, 0x9e,
	0xd2, 0xf7, 0x62, 0x5a, 0x85, 0x7d, 0xa8, 0x3a,
	0x29, 0x71, 0xc8, 0xf6, 0xf9, 0x43, 0xd7, 0xd6,
	0x10, 0x73, 0x76, 0x78, 0x99, 0x0a, 0x19, 0x91,
	0x14, 0x3f, 0xe6, 0xf0, 0x86, 0xb1, 0xe2, 0xf1,
	0xfa, 0x74, 0xf3, 0xb4, 0x6d, 0x21, 0xb2, 0x6a,
	0xe3, 0xe7, 0xb5, 0xea, 0x03, 0x8f, 0xd3, 0xc9,
	0x42, 0xd4, 0xe8, 0x75, 0x7f, 0xff, 0x7e, 0xfd,
};

/* Reduces a sum of logarithms to 0..254. */
static inline uint8_t gf_exp_mod(unsigned int n)
{
	return gf_exp[n % 255];
}

/* x * 2, reduced modulo the field polynomial. */
static inline uint8_t gf_mul2(uint8_t x)
{
	return (uint8_t)(x << 1 ^ (x & 0x80 ? 0x1d : 0));
}

uint8_t dnbd_fec_coef(unsigned int j, unsigned int i)
{
	if (j >= DNBD_FEC_MAX_PARITY || i >= DNBD_FEC_MAX_DATA)
		return 0;
	return gf_inv[(DNBD_FEC_MAX_DATA + j) ^ i];
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void store64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* dst ^= src, 8 bytes at a time. */
static void fec_xor(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t n = 0;

	for (; n + 8 <= len; n += 8)
		store64(dst + n, load64(dst + n) ^ load64(src + n));
	for (; n < len; n++)
		dst[n] ^= src[n];
}

/*
 * The product of each byte of s with the row's factor, bytes in place:
 * byte b of the result is t[s's byte b], with t a 256-byte product row
 * (fec_addmul_row) or the exponent table shifted by log c (fec_addmul_log,
 * which also looks the byte's log up first).  The same byte order for
 * the load and the store, so the endianness does not matter.
 */
#define FEC_MUL8(s, look)						\
	((uint64_t)look((s) & 0xff) |					\
	 (uint64_t)look((s) >> 8 & 0xff) << 8 |				\
	 (uint64_t)look((s) >> 16 & 0xff) << 16 |			\
	 (uint64_t)look((s) >> 24 & 0xff) << 24 |			\
	 (uint64_t)look((s) >> 32 & 0xff) << 32 |			\
	 (uint64_t)look((s) >> 40 & 0xff) << 40 |			\
	 (uint64_t)look((s) >> 48 & 0xff) << 48 |			\
	 (uint64_t)look((s) >> 56) << 56)

/*
 * Short buffers: c * b = 2^(log c + log b), two table reads per byte and
 * no set-up (gf_log[0] leads to the zeros at the end of gf_exp).
 */
static void fec_addmul_log(uint8_t *dst, const uint8_t *src, uint8_t c,
			   size_t len)
{
	const uint8_t *e = gf_exp + gf_log[c];
	size_t n = 0;

#define FEC_LOOK_LOG(b) e[gf_log[b]]
	for (; n + 8 <= len; n += 8) {
		uint64_t s = load64(src + n);

		store64(dst + n, load64(dst + n) ^ FEC_MUL8(s, FEC_LOOK_LOG));
	}
#undef FEC_LOOK_LOG
	for (; n < len; n++)
		dst[n] ^= e[gf_log[src[n]]];
}

/*
 * Long buffers: first the 256 products c * b (row[b1 ^ b2] = row[b1] ^
 * row[b2], so each power of two's product is xored onto the row built so
 * far, 8 bytes at a time past the first 8), then one table read per byte.
 */
static void fec_addmul_row(uint8_t *dst, const uint8_t *src, uint8_t c,
			   size_t len)
{
	uint64_t row64[32];
	uint8_t *row = (uint8_t *)row64;
	uint8_t p = c;
	unsigned int i, w;
	size_t n = 0;

	row[0] = 0;
	for (w = 1; w < 8; w <<= 1) {
		for (i = 0; i < w; i++)
			row[w + i] = row[i] ^ p;
		p = gf_mul2(p);
	}
	for (w = 1; w < 32; w <<= 1) {
		uint64_t pp = p * 0x0101010101010101ull;

		for (i = 0; i < w; i++)
			row64[w + i] = row64[i] ^ pp;
		p = gf_mul2(p);
	}
#define FEC_LOOK_ROW(b) row[b]
	for (; n + 8 <= len; n += 8) {
		uint64_t s = load64(src + n);

		store64(dst + n, load64(dst + n) ^ FEC_MUL8(s, FEC_LOOK_ROW));
	}
#undef FEC_LOOK_ROW
	for (; n < len; n++)
		dst[n] ^= row[src[n]];
}

/* Below this length the product row costs more than it saves. */
#define FEC_ROW_MIN	512

/* The portable path, the only one in the kernel; c != 0. */
static void fec_addmul_table(uint8_t *dst, const uint8_t *src, uint8_t c,
			     size_t len)
{
	if (c == 1)
		fec_xor(dst, src, len);
	else if (len < FEC_ROW_MIN)
		fec_addmul_log(dst, src, c, len);
	else
		fec_addmul_row(dst, src, c, len);
}

#if !defined(__KERNEL__) && defined(__x86_64__) && defined(__GNUC__)
#define FEC_HAVE_SIMD 1

/*
 * Userspace on x86-64: split-nibble products with PSHUFB, 16 bytes a step
 * (SSSE3) or 32 (AVX2).  c * b = c * (b & 15) ^ c * (b & 0xf0), so two
 * 16-entry tables, lo[x] = c * x and hi[x] = c * (x << 4), looked up
 * with the low and the high nibble of every byte of a vector at once.
 * GCC's vector extensions and its PSHUFB builtins rather than
 * <immintrin.h>: proto/ includes no system header (t-freestanding).
 * The builtins take vectors of char; uint8_t vectors are cast to them.
 */
typedef uint8_t fec_v16 __attribute__((vector_size(16)));
typedef uint8_t fec_v32 __attribute__((vector_size(32)));
typedef uint64_t fec_v16q __attribute__((vector_size(16)));
typedef uint64_t fec_v32q __attribute__((vector_size(32)));

/* Below this length the tables cost more than they save. */
#define FEC_SIMD_MIN	16

/*
 * Which of the products c * 2^i (i < 4) make up lo[x]: byte x of row i
 * is i if bit i of x is set, else 0x80 (PSHUFB gives 0 for an index with
 * its top bit set).  hi[x] sums c * 2^(i + 4) instead: row i | 4.  Two
 * copies of the 16 bytes, one for each lane of an AVX2 register.
 */
static const uint8_t fec_nibble_bits[4][32] = {
#define X 0x80
	{ X, 0, X, 0, X, 0, X, 0, X, 0, X, 0, X, 0, X, 0,
	  X, 0, X, 0, X, 0, X, 0, X, 0, X, 0, X, 0, X, 0 },
	{ X, X, 1, 1, X, X, 1, 1, X, X, 1, 1, X, X, 1, 1,
	  X, X, 1, 1, X, X, 1, 1, X, X, 1, 1, X, X, 1, 1 },
	{ X, X, X, X, 2, 2, 2, 2, X, X, X, X, 2, 2, 2, 2,
	  X, X, X, X, 2, 2, 2, 2, X, X, X, X, 2, 2, 2, 2 },
	{ X, X, X, X, X, X, X, X, 3, 3, 3, 3, 3, 3, 3, 3,
	  X, X, X, X, X, X, X, X, 3, 3, 3, 3, 3, 3, 3, 3 },
#undef X
};

/* t[x] for every byte x of v (PSHUFB: 0 where x >= 128, else t[x & 15]). */
__attribute__((target("ssse3")))
static inline fec_v16 fec_look16(fec_v16 t, fec_v16 v)
{
	return (fec_v16)__builtin_ia32_pshufb128(
		(__attribute__((vector_size(16))) char)t,
		(__attribute__((vector_size(16))) char)v);
}

/* The same in each 16-byte lane of a 32-byte vector (VPSHUFB). */
__attribute__((target("avx2")))
static inline fec_v32 fec_look32(fec_v32 t, fec_v32 v)
{
	return (fec_v32)__builtin_ia32_pshufb256(
		(__attribute__((vector_size(32))) char)t,
		(__attribute__((vector_size(32))) char)v);
}

/*
 * The tables, from p = c * 2^0 .. c * 2^7 (eight bytes of gf_exp from
 * log c on; c != 0) in bytes 0..7 of each lane, with the rows above:
 * no stores and reloads, a few instructions.
 */
#define FEC_NIBBLE_TABLES(look, p, lo, hi, bits) do {			\
	lo = look(p, bits[0]) ^ look(p, bits[1]) ^			\
	     look(p, bits[2]) ^ look(p, bits[3]);			\
	hi = look(p, bits[0] | 4) ^ look(p, bits[1] | 4) ^		\
	     look(p, bits[2] | 4) ^ look(p, bits[3] | 4);		\
} while (0)

/*
 * The last bytes, fewer than a vector.  dst[n] ^= t[src[n]] would want
 * the 256-byte row; two nibble lookups from the tables' bytes instead.
 */
static void fec_nibble_tail(uint8_t *dst, const uint8_t *src,
			    const uint8_t *lo, const uint8_t *hi, size_t len)
{
	size_t n;

	for (n = 0; n < len; n++)
		dst[n] ^= lo[src[n] & 15] ^ hi[src[n] >> 4];
}

/* Loads and stores through memcpy: any alignment, no aliasing issue. */
__attribute__((target("ssse3")))
static void fec_addmul_ssse3(uint8_t *dst, const uint8_t *src, uint8_t c,
			     size_t len)
{
	fec_v16 bits[4], lo, hi, s, d;
	fec_v16q p;
	uint64_t p8;
	size_t n;

	for (n = 0; n < 4; n++)
		memcpy(&bits[n], fec_nibble_bits[n], 16);
	memcpy(&p8, gf_exp + gf_log[c], 8);
	p[0] = p8;
	p[1] = p8;
	FEC_NIBBLE_TABLES(fec_look16, (fec_v16)p, lo, hi, bits);
	for (n = 0; n + 16 <= len; n += 16) {
		memcpy(&s, src + n, 16);
		memcpy(&d, dst + n, 16);
		d ^= fec_look16(lo, s & 15) ^ fec_look16(hi, s >> 4);
		memcpy(dst + n, &d, 16);
	}
	fec_nibble_tail(dst + n, src + n, (uint8_t *)&lo, (uint8_t *)&hi,
			len - n);
}

__attribute__((target("avx2")))
static void fec_addmul_avx2(uint8_t *dst, const uint8_t *src, uint8_t c,
			    size_t len)
{
	fec_v32 bits[4], lo, hi, s, d, s2, d2;
	fec_v16 lo16, hi16, s16, d16;
	fec_v32q p;
	uint64_t p8;
	size_t n;

	memcpy(bits, fec_nibble_bits, sizeof(bits));
	memcpy(&p8, gf_exp + gf_log[c], 8);
	p[0] = p8;
	p[1] = p8;
	p[2] = p8;
	p[3] = p8;
	FEC_NIBBLE_TABLES(fec_look32, (fec_v32)p, lo, hi, bits);
	/* Two vectors a step: their loads can go ahead of the shuffles. */
	for (n = 0; n + 64 <= len; n += 64) {
		memcpy(&s, src + n, 32);
		memcpy(&s2, src + n + 32, 32);
		memcpy(&d, dst + n, 32);
		memcpy(&d2, dst + n + 32, 32);
		d ^= fec_look32(lo, s & 15) ^ fec_look32(hi, s >> 4);
		d2 ^= fec_look32(lo, s2 & 15) ^ fec_look32(hi, s2 >> 4);
		memcpy(dst + n, &d, 32);
		memcpy(dst + n + 32, &d2, 32);
	}
	if (n + 32 <= len) {
		memcpy(&s, src + n, 32);
		memcpy(&d, dst + n, 32);
		d ^= fec_look32(lo, s & 15) ^ fec_look32(hi, s >> 4);
		memcpy(dst + n, &d, 32);
		n += 32;
	}
	memcpy(&lo16, &lo, 16);
	memcpy(&hi16, &hi, 16);
	if (n + 16 <= len) {
		memcpy(&s16, src + n, 16);
		memcpy(&d16, dst + n, 16);
		d16 ^= fec_look16(lo16, s16 & 15) ^ fec_look16(hi16, s16 >> 4);
		memcpy(dst + n, &d16, 16);
		n += 16;
	}
	fec_nibble_tail(dst + n, src + n, (uint8_t *)&lo16, (uint8_t *)&hi16,
			len - n);
}

/* cpuid leaf (subleaf 0): r = eax, ebx, ecx, edx. */
static void fec_cpuid(uint32_t leaf, uint32_t r[4])
{
	uint32_t a = leaf, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	r[0] = a;
	r[1] = b;
	r[2] = c;
	r[3] = d;
}

/*
 * The variants this CPU runs, a bit each.  AVX2 also needs the OS to
 * save the YMM registers (OSXSAVE, and XCR0's SSE and AVX bits).
 */
static unsigned int fec_cpu_variants(void)
{
	unsigned int v = 1u << DNBD_FEC_TABLE;
	uint32_t r[4], max, ecx1, lo, hi;

	fec_cpuid(0, r);
	max = r[0];
	if (max < 1)
		return v;
	fec_cpuid(1, r);
	ecx1 = r[2];
	if (ecx1 >> 9 & 1)
		v |= 1u << DNBD_FEC_SSSE3;
	if (max < 7 || !(ecx1 >> 27 & 1) || !(ecx1 >> 28 & 1))
		return v;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	(void)hi;
	fec_cpuid(7, r);
	if ((lo & 6) == 6 && (r[1] >> 5 & 1) && (v & 1u << DNBD_FEC_SSSE3))
		v |= 1u << DNBD_FEC_AVX2;
	return v;
}

static int fec_best(void)
{
	unsigned int v = fec_cpu_variants();

	if (v & 1u << DNBD_FEC_AVX2)
		return DNBD_FEC_AVX2;
	if (v & 1u << DNBD_FEC_SSSE3)
		return DNBD_FEC_SSSE3;
	return DNBD_FEC_TABLE;
}

/*
 * The variant in use, 0 until the first call that needs it reads cpuid.
 * Threads may race to set it, all to the same value; relaxed atomics
 * make that well-defined (and cost a plain load on x86).
 */
static int fec_impl;

static int fec_variant(void)
{
	int v = __atomic_load_n(&fec_impl, __ATOMIC_RELAXED);

	if (v == DNBD_FEC_AUTO) {
		v = fec_best();
		__atomic_store_n(&fec_impl, v, __ATOMIC_RELAXED);
	}
	return v;
}

int dnbd_fec_select(int variant)
{
	if (variant == DNBD_FEC_AUTO)
		variant = fec_best();
	else if (variant < DNBD_FEC_TABLE || variant > DNBD_FEC_AVX2 ||
		 !(fec_cpu_variants() & 1u << variant))
		return -1;
	__atomic_store_n(&fec_impl, variant, __ATOMIC_RELAXED);
	return 0;
}

const char *dnbd_fec_name(void)
{
	switch (fec_variant()) {
	case DNBD_FEC_AVX2:
		return "avx2";
	case DNBD_FEC_SSSE3:
		return "ssse3";
	default:
		return "table";
	}
}

#elif !defined(__KERNEL__)

/* Elsewhere in userspace, the table path is all there is. */
int dnbd_fec_select(int variant)
{
	return variant == DNBD_FEC_AUTO || variant == DNBD_FEC_TABLE ? 0 : -1;
}

const char *dnbd_fec_name(void)
{
	return "table";
}

#endif

void dnbd_fec_addmul(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len)
{
	if (c == 0)
		return;
#ifdef FEC_HAVE_SIMD
	if (len >= FEC_SIMD_MIN) {
		switch (fec_variant()) {
		case DNBD_FEC_AVX2:
			fec_addmul_avx2(dst, src, c, len);
			return;
		case DNBD_FEC_SSSE3:
			fec_addmul_ssse3(dst, src, c, len);
			return;
		}
	}
#endif
	fec_addmul_table(dst, src, c, len);
}

bool dnbd_fec_encode(unsigned int k, const uint8_t *const *data, size_t len,
		     unsigned int j, uint8_t *out)
{
	unsigned int i;

	if (k == 0 || k > DNBD_FEC_MAX_DATA || j >= DNBD_FEC_MAX_PARITY)
		return false;
	memset(out, 0, len);
	for (i = 0; i < k; i++)
		dnbd_fec_addmul(out, data[i], dnbd_fec_coef(j, i), len);
	return true;
}

/* Everything dnbd_fec_decode() will read, checked before it reads it. */
static bool fec_decode_ok(unsigned int k, uint8_t *const *data,
			  const uint8_t *missing, unsigned int h,
			  const uint8_t *const *parity, const uint8_t *pidx,
			  const uint8_t *work, size_t work_len)
{
	uint32_t seen[DNBD_FEC_MAX_PARITY / 32] = { 0 };
	unsigned int a, i;

	if (k == 0 || k > DNBD_FEC_MAX_DATA || h == 0 || h > k)
		return false;
	if (!data || !missing || !parity || !pidx || !work ||
	    work_len < DNBD_FEC_WORK_LEN(h))
		return false;
	for (i = 0; i < k; i++)
		if (!data[i])
			return false;
	for (a = 0; a < h; a++) {
		if (missing[a] >= k || (a && missing[a] <= missing[a - 1]))
			return false;
		if (!parity[a] || pidx[a] >= DNBD_FEC_MAX_PARITY ||
		    seen[pidx[a] / 32] & 1u << pidx[a] % 32)
			return false;
		seen[pidx[a] / 32] |= 1u << pidx[a] % 32;
	}
	return true;
}

/*
 * With x_a = 128 + pidx[a] for the received parity and y_b = missing[b]
 * for the lost data, the lost symbols solve the h x h Cauchy system
 * C[a][b] = 1 / (x_a + y_b):  sum_b C[a][b] D_y_b = s_a, where the
 * syndrome s_a = P_a + sum over present i of c(pidx[a], i) D_i.  (In
 * GF(2^8) minus is plus.)  The inverse of a Cauchy matrix is known in
 * closed form:
 *
 *   inv(C)[b][a] = alpha_a * beta_b / (x_a + y_b), with
 *   alpha_a = prod_b (x_a + y_b) / prod_{a' != a} (x_a + x_a'),
 *   beta_b  = prod_a (y_b + x_a) / prod_{b' != b} (y_b + y_b').
 *
 * So D_y_b = sum_a inv(C)[b][a] P_a + sum_i e(b, i) D_i, and with
 * A(t) = prod_a (t + x_a), B(t) = prod_b (t + y_b), the partial fractions
 * of B(t) / A(t) = 1 + sum_a alpha_a / (t + x_a) collapse the coefficient
 * of a present symbol i to
 *
 *   e(b, i) = sum_a inv(C)[b][a] / (x_a + i) = beta_b * g_i / (y_b + i),
 *   g_i = B(i) / A(i).
 *
 * Each lost symbol is thus built directly in its own buffer from the
 * parity and the present data, with no len-sized temporaries: h * k
 * addmul calls in all.  The coefficients are products of nonzero field
 * elements (x, y and the indices of present symbols are all distinct),
 * computed as sums of logarithms: O(h * h) for alpha and beta (kept in
 * work as logs), O(h) for each g_i, O(1) for each coefficient.
 */
int dnbd_fec_decode(unsigned int k, uint8_t *const *data,
		    const uint8_t *missing, unsigned int h,
		    const uint8_t *const *parity, const uint8_t *pidx,
		    size_t len, uint8_t *work, size_t work_len)
{
	uint8_t *log_alpha, *log_beta;
	unsigned int a, b, i, num, den;

	if (!fec_decode_ok(k, data, missing, h, parity, pidx, work, work_len))
		return -1;
	log_alpha = work;
	log_beta = work + h;
	for (a = 0; a < h; a++) {
		unsigned int x = DNBD_FEC_MAX_DATA + pidx[a];

		num = 0;
		den = 0;
		for (b = 0; b < h; b++)
			num += gf_log[x ^ missing[b]];
		for (b = 0; b < h; b++)
			if (b != a)
				den += gf_log[x ^ (DNBD_FEC_MAX_DATA + pidx[b])];
		log_alpha[a] = (uint8_t)((num + 255 * h - den) % 255);
	}
	for (b = 0; b < h; b++) {
		unsigned int y = missing[b];

		num = 0;
		den = 0;
		for (a = 0; a < h; a++)
			num += gf_log[y ^ (DNBD_FEC_MAX_DATA + pidx[a])];
		for (a = 0; a < h; a++)
			if (a != b)
				den += gf_log[y ^ missing[a]];
		log_beta[b] = (uint8_t)((num + 255 * h - den) % 255);
	}

	/* The parity's share. */
	for (b = 0; b < h; b++) {
		uint8_t *d = data[missing[b]];

		memset(d, 0, len);
		for (a = 0; a < h; a++) {
			unsigned int x = DNBD_FEC_MAX_DATA + pidx[a];

			dnbd_fec_addmul(d, parity[a],
					gf_exp_mod(log_alpha[a] + log_beta[b] +
						   255 - gf_log[x ^ missing[b]]),
					len);
		}
	}

	/* The present data's share; missing is sorted, b walks along. */
	for (i = 0, b = 0; i < k; i++) {
		unsigned int log_g;

		if (b < h && missing[b] == i) {
			b++;
			continue;
		}
		num = 0;
		den = 0;
		for (a = 0; a < h; a++) {
			num += gf_log[i ^ missing[a]];
			den += gf_log[i ^ (DNBD_FEC_MAX_DATA + pidx[a])];
		}
		log_g = (num + 255 * h - den) % 255;
		for (a = 0; a < h; a++)
			dnbd_fec_addmul(data[missing[a]], data[i],
					gf_exp_mod(log_beta[a] + log_g + 255 -
						   gf_log[i ^ missing[a]]),
					len);
	}
	return 0;
}
