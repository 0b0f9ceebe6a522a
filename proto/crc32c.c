// SPDX-License-Identifier: GPL-2.0
/*
 * crc32c.c - CRC32C (Castagnoli), the checksum of every datagram and of
 * the kernel's cache file.
 *
 * In the kernel, dnbd_port.h maps it onto the kernel's own crc32c(),
 * which picks the CPU's CRC instructions.  In userspace the variant is
 * chosen at run time, before main() (a constructor): the SSE4.2 crc32
 * instruction on x86-64 CPUs that have it (three independent streams over
 * large buffers, joined with a shift table, so the instruction's latency
 * is hidden), and otherwise a slicing-by-8 table (crc32c_table.h), the
 * only variant elsewhere.  dnbd_crc32c_select() forces one (tests, and
 * DNBD_CRC32C= in the programs, common/util.c).  All variants give the
 * same values; tests/unit/test-crc32c.c checks that on every length and
 * alignment.  No libc here (t-freestanding): cpuid is read with inline
 * assembly rather than __builtin_cpu_supports(), which needs libgcc, and
 * the compiler's crc32 builtins stand in for <nmmintrin.h>.
 */
#include "dnbd_wire.h"

#ifdef DNBD_HOST_CRC32C

uint32_t dnbd_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return DNBD_HOST_CRC32C(crc, buf, len);
}

#else /* userspace */

#include "crc32c_table.h"

/* The slicing-by-8 table: state is the inverted CRC. */
static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);

		crc = dnbd_crc32c_tab[7][lo & 0xff] ^
		      dnbd_crc32c_tab[6][(lo >> 8) & 0xff] ^
		      dnbd_crc32c_tab[5][(lo >> 16) & 0xff] ^
		      dnbd_crc32c_tab[4][lo >> 24] ^
		      dnbd_crc32c_tab[3][p[4]] ^ dnbd_crc32c_tab[2][p[5]] ^
		      dnbd_crc32c_tab[1][p[6]] ^ dnbd_crc32c_tab[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = dnbd_crc32c_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_SSE42_VARIANT 1

/*
 * Three streams of STRIDE bytes each.  After the streams, the CRC of the
 * first must be moved past the 2 * STRIDE bytes that follow it, and the
 * second's past STRIDE: multiplying by x^(8n) modulo the polynomial is
 * linear in the CRC's bits, so four 256-entry tables per shift do it.
 */
#define STRIDE		(1024u / 3 / 8 * 8)	/* 336: fits a 1400-byte segment */
static uint32_t shift1[4][256], shift2[4][256];

/*
 * The CRC register x followed by n zero bytes, no inversion: linear in
 * x, so it is the XOR of what each set bit of x becomes.
 */
static void shift_init(uint32_t t[4][256], size_t n)
{
	uint32_t bit[32];
	unsigned int i, b, k;

	for (k = 0; k < 32; k++) {
		uint32_t c = (uint32_t)1 << k;
		size_t z;

		for (z = 0; z < 8 * n; z++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		bit[k] = c;
	}
	for (b = 0; b < 4; b++)
		for (i = 0; i < 256; i++) {
			uint32_t v = 0;

			for (k = 0; k < 8; k++)
				if (i >> k & 1)
					v ^= bit[8 * b + k];
			t[b][i] = v;
		}
}

static uint32_t shift(const uint32_t t[4][256], uint32_t crc)
{
	return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^
	       t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c0 = crc, c1, c2, v;
	size_t i;

	/* Align the stream for 8-byte loads. */
	while (len && ((uintptr_t)p & 7)) {
		c0 = __builtin_ia32_crc32qi((uint32_t)c0, *p++);
		len--;
	}
	while (len >= 3 * STRIDE) {
		c1 = c2 = 0;
		for (i = 0; i < STRIDE; i += 8) {
			uint64_t a, b, d;

			memcpy(&a, p + i, 8);
			memcpy(&b, p + STRIDE + i, 8);
			memcpy(&d, p + 2 * STRIDE + i, 8);
			c0 = __builtin_ia32_crc32di(c0, a);
			c1 = __builtin_ia32_crc32di(c1, b);
			c2 = __builtin_ia32_crc32di(c2, d);
		}
		c0 = shift(shift2, (uint32_t)c0) ^ shift(shift1, (uint32_t)c1) ^
		     c2;
		p += 3 * STRIDE;
		len -= 3 * STRIDE;
	}
	while (len >= 8) {
		memcpy(&v, p, 8);
		c0 = __builtin_ia32_crc32di(c0, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c0 = __builtin_ia32_crc32qi((uint32_t)c0, *p++);
	return (uint32_t)c0;
}

static bool cpu_has_sse42(void)
{
	uint32_t a = 1, b, c, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	return (c >> 20) & 1;
}
#endif

static bool have_sse42;
static int impl = DNBD_CRC32C_TABLE;

/* Before main(), in one thread: the fastest variant this CPU runs. */
__attribute__((constructor))
static void crc32c_init(void)
{
#ifdef HAVE_SSE42_VARIANT
	if (cpu_has_sse42()) {
		shift_init(shift1, STRIDE);
		shift_init(shift2, 2 * STRIDE);
		have_sse42 = true;
		impl = DNBD_CRC32C_SSE42;
	}
#endif
}

bool dnbd_crc32c_select(int variant)
{
	if (variant == DNBD_CRC32C_TABLE ||
	    (variant == DNBD_CRC32C_SSE42 && have_sse42)) {
		impl = variant;
		return true;
	}
	return false;
}

const char *dnbd_crc32c_name(void)
{
	return impl == DNBD_CRC32C_SSE42 ? "sse4.2" : "table";
}

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

int dnbd_crc32c_variant(const char *name)
{
	if (same(name, "table"))
		return DNBD_CRC32C_TABLE;
	if (same(name, "sse4.2") || same(name, "sse42"))
		return DNBD_CRC32C_SSE42;
	return 0;
}

uint32_t dnbd_crc32c(uint32_t crc, const void *buf, size_t len)
{
#ifdef HAVE_SSE42_VARIANT
	if (impl == DNBD_CRC32C_SSE42)
		return ~crc32c_hw(~crc, buf, len);
#endif
	return ~crc32c_sw(~crc, buf, len);
}

#endif /* DNBD_HOST_CRC32C */
