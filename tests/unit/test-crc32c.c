// SPDX-License-Identifier: GPL-2.0
/*
 * test-crc32c.c - every CRC32C variant this CPU runs gives the values of
 * a bit-at-a-time reference: known vectors, every length 0..600 at every
 * start alignment 0..15, chained pieces, and large odd lengths that use
 * the three-stream path and its shift tables, whole or chained in odd
 * pieces; and the variant names of DNBD_CRC32C.  A variant the CPU lacks is
 * skipped with the reason printed; the table is always tested.
 */
#include <string.h>

#include "check.h"
#include "dnbd_wire.h"

int main(void);

/* The definition itself: reflected, polynomial 0x82f63b78. */
static uint32_t ref_crc(uint32_t crc, const uint8_t *p, size_t len)
{
	unsigned int k;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static uint8_t buf[200000 + 16];

static void fill(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

static void test_variant(const char *name)
{
	static const size_t big[] = { 1007, 1008, 1009, 1400, 1448, 2015,
				      3025, 65535, 65536, 65537, 177800,
				      200000 };
	unsigned int fails_before = (unsigned int)check_failed;
	size_t len, off, i, cut;

	CHECK_EQ(dnbd_crc32c(0, "123456789", 9), 0xe3069283u);
	CHECK_EQ(dnbd_crc32c(0, "", 0), 0);
	for (off = 0; off < 16; off++)
		for (len = 0; len <= 600; len++)
			if (dnbd_crc32c(0, buf + off, len) !=
			    ref_crc(0, buf + off, len)) {
				CHECK_EQ(dnbd_crc32c(0, buf + off, len),
					 ref_crc(0, buf + off, len));
				fprintf(stderr, "  %s: offset %zu length %zu\n",
					name, off, len);
			}
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		for (off = 0; off < 16; off += 5) {
			len = big[i];
			CHECK_EQ(dnbd_crc32c(0x12345678u, buf + off, len),
				 ref_crc(0x12345678u, buf + off, len));
		}
	/* Chaining at every cut of a 1,500-byte buffer. */
	for (cut = 0; cut <= 1500; cut += 7)
		CHECK_EQ(dnbd_crc32c(dnbd_crc32c(0, buf + 3, cut),
				     buf + 3 + cut, 1500 - cut),
			 ref_crc(0, buf + 3, 1500));
	/* And in three pieces of a large buffer, cut at odd places, so each
	 * piece starts unaligned and crosses the three-stream blocks. */
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		uint32_t c;

		len = sizeof(buf) - 16;
		cut = big[i];
		if (cut + cut / 3 + 5 > len)
			continue;
		c = dnbd_crc32c(0, buf + 1, cut);
		c = dnbd_crc32c(c, buf + 1 + cut, cut / 3 + 5);
		c = dnbd_crc32c(c, buf + 1 + cut + cut / 3 + 5,
				len - cut - cut / 3 - 5);
		CHECK_EQ(c, ref_crc(0, buf + 1, len));
	}
	fprintf(stderr, "%s: %s\n", name,
		check_failed == (int)fails_before ? "ok" : "FAILED");
}

int main(void)
{
	fill();
	fprintf(stderr, "chosen at start-up: %s\n", dnbd_crc32c_name());
	CHECK(dnbd_crc32c_select(DNBD_CRC32C_TABLE));
	CHECK(!strcmp(dnbd_crc32c_name(), "table"));
	test_variant("table");
	if (dnbd_crc32c_select(DNBD_CRC32C_SSE42)) {
		CHECK(!strcmp(dnbd_crc32c_name(), "sse4.2"));
		test_variant("sse4.2");
	} else {
		fprintf(stderr, "sse4.2: skipped, this CPU has no SSE4.2 "
			"(or this is not x86-64)\n");
	}
	CHECK(!dnbd_crc32c_select(0));
	/* The names DNBD_CRC32C= takes (common/util.c). */
	CHECK_EQ(dnbd_crc32c_variant("table"), DNBD_CRC32C_TABLE);
	CHECK_EQ(dnbd_crc32c_variant("sse42"), DNBD_CRC32C_SSE42);
	CHECK_EQ(dnbd_crc32c_variant("sse4.2"), DNBD_CRC32C_SSE42);
	CHECK_EQ(dnbd_crc32c_variant(""), 0);
	CHECK_EQ(dnbd_crc32c_variant("tabl"), 0);
	CHECK_EQ(dnbd_crc32c_variant("tables"), 0);
	CHECK_EQ(dnbd_crc32c_variant("SSE42"), 0);
	return check_report("test-crc32c");
}
