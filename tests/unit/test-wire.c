// SPDX-License-Identifier: GPL-2.0
/* test-wire.c - encode/decode, CRC32C and image identity. */
#include "check.h"
#include "dnbd_wire.h"

int main(void);

static void test_crc(void)
{
	const char *v = "123456789";
	uint32_t part;

	CHECK_EQ(dnbd_crc32c(0, v, 9), 0xe3069283u);
	CHECK_EQ(dnbd_crc32c(0, "", 0), 0);
	/* Chaining: crc(a || b) == crc(crc(a), b) */
	part = dnbd_crc32c(0, v, 4);
	CHECK_EQ(dnbd_crc32c(part, v + 4, 5), 0xe3069283u);
}

static void test_image_id(void)
{
	uint64_t a = dnbd_image_id("img", 3, 1000, 1);

	CHECK(a != 0);
	CHECK_EQ(a, dnbd_image_id("img", 3, 1000, 1));
	CHECK(a != dnbd_image_id("imh", 3, 1000, 1));
	CHECK(a != dnbd_image_id("img", 3, 1001, 1));
	CHECK(a != dnbd_image_id("img", 3, 1000, 2));
	/* The value docs/protocol.md gives as an example. */
	CHECK_EQ(dnbd_image_id("image", 5, 1ull << 30, 1),
		 0x4ead72a40324e0d1ull);
}

static void test_roundtrip(void)
{
	uint8_t buf[DNBD_DGRAM_MAX];
	struct dnbd_hdr h;
	struct dnbd_hello hi = { .client_id = 7, .echo = 9, .name_len = 3 };
	struct dnbd_hello hi2;
	struct dnbd_announce an = { .client_id = 1, .echo = 2,
				    .size = 123456789012ull, .revision = 5,
				    .seg_max = 1400, .name_len = 4 };
	struct dnbd_announce an2;
	struct dnbd_read_req rq = { .client_id = 3, .req_id = 4, .echo = 5,
				    .target = 2, .seg_size = 1400,
				    .offset = 1400ull * 1000, .seg_count = 100,
				    .mask = { ~0ull, 0xfffffffffull },
				    .loss = 0x12, .qdelay = 0xfe };
	struct dnbd_read_req rq2;
	struct dnbd_reply rp = { .client_id = 3, .req_id = 4, .echo = 5,
				 .seg_size = 1400, .offset = 2800,
				 .data_len = 10, .stamp = 0xbeef };
	struct dnbd_reply rp2;
	struct dnbd_error er = { .client_id = 1, .req_id = 2, .echo = 3,
				 .code = DNBD_E_RANGE, .offset = 99,
				 .size = 42 };
	struct dnbd_error er2;
	size_t len;

	memcpy(hi.name, "abc", 4);
	len = dnbd_encode_hello(buf, sizeof(buf), 0, &hi);
	CHECK_EQ(len, DNBD_HELLO_LEN + 3);
	CHECK_EQ(dnbd_decode_hdr(buf, len, &h), DNBD_OK);
	CHECK_EQ(h.type, DNBD_T_HELLO);
	CHECK_EQ(dnbd_decode_hello(buf, len, &hi2), DNBD_OK);
	CHECK_EQ(hi2.client_id, 7);
	CHECK_EQ(hi2.echo, 9);
	CHECK(!strcmp(hi2.name, "abc"));

	memcpy(an.name, "disk", 5);
	len = dnbd_encode_announce(buf, sizeof(buf), 17, 0x1122334455667788ull,
				   &an);
	CHECK_EQ(dnbd_decode_hdr(buf, len, &h), DNBD_OK);
	CHECK_EQ(h.sender, 17);
	CHECK_EQ(h.image_id, 0x1122334455667788ull);
	CHECK_EQ(dnbd_decode_announce(buf, len, &an2), DNBD_OK);
	CHECK_EQ(an2.size, 123456789012ull);
	CHECK_EQ(an2.revision, 5);
	CHECK(!strcmp(an2.name, "disk"));
	CHECK_EQ(dnbd_encode_announce(buf, sizeof(buf), 0, 1, &an), 0);

	len = dnbd_encode_read(buf, sizeof(buf), DNBD_F_RETRY, 99, &rq);
	CHECK_EQ(len, DNBD_READ_LEN);
	CHECK_EQ(dnbd_decode_hdr(buf, len, &h), DNBD_OK);
	/* A READ always says that byte 51 is a queueing delay report. */
	CHECK_EQ(h.flags, DNBD_F_RETRY | DNBD_F_QDELAY);
	CHECK_EQ(dnbd_decode_read(buf, len, &rq2), DNBD_OK);
	CHECK_EQ(rq2.offset, 1400ull * 1000);
	CHECK_EQ(rq2.seg_count, 100);
	CHECK_EQ(rq2.mask[1], 0xfffffffffull);
	CHECK_EQ(rq2.loss, 0x12);	/* the loss report (byte 50) */
	CHECK_EQ(rq2.qdelay, 0xfe);	/* queueing delay (byte 51) */
	CHECK_EQ(buf[50], 0x12);
	CHECK_EQ(buf[51], 0xfe);
	CHECK_EQ(rq2.target, 2);

	len = dnbd_encode_reply_hdr(buf, sizeof(buf), DNBD_F_LAST, 3, 99, &rp);
	memcpy(buf + DNBD_REPLY_LEN, "0123456789", 10);
	dnbd_seal(buf, len);
	CHECK_EQ(dnbd_decode_hdr(buf, len, &h), DNBD_OK);
	CHECK_EQ(dnbd_decode_reply(buf, len, &rp2), DNBD_OK);
	CHECK_EQ(rp2.data_len, 10);
	CHECK_EQ(rp2.stamp, 0xbeef);	/* the server's clock (bytes 38-39) */
	CHECK_EQ(buf[38], 0xbe);
	CHECK(!memcmp(rp2.data, "0123456789", 10));
	/* seal_split over header + data gives the same CRC. */
	{
		uint8_t copy[DNBD_DGRAM_MAX];

		memcpy(copy, buf, len);
		dnbd_seal_split(copy, DNBD_REPLY_LEN, buf + DNBD_REPLY_LEN, 10);
		CHECK(!memcmp(copy, buf, len));
	}

	len = dnbd_encode_error(buf, sizeof(buf), 4, 99, &er);
	CHECK_EQ(dnbd_decode_hdr(buf, len, &h), DNBD_OK);
	CHECK_EQ(dnbd_decode_error(buf, len, &er2), DNBD_OK);
	CHECK_EQ(er2.size, 42);
	CHECK_EQ(er2.code, DNBD_E_RANGE);
}

static void test_rejects(void)
{
	uint8_t buf[DNBD_DGRAM_MAX], bad[DNBD_DGRAM_MAX];
	struct dnbd_read_req rq = { .client_id = 3, .req_id = 4,
				    .seg_size = 1400, .offset = 0,
				    .seg_count = 10, .mask = { 0x3ff, 0 } };
	struct dnbd_read_req out;
	struct dnbd_hdr h;
	size_t len, i;
	int bit;

	len = dnbd_encode_read(buf, sizeof(buf), 0, 1, &rq);
	CHECK_EQ(dnbd_decode_hdr(buf, 10, &h), DNBD_BAD_SHORT);
	/* peek: the same checks but the CRC. */
	memcpy(bad, buf, len);
	bad[30] ^= 1;
	CHECK_EQ(dnbd_peek_hdr(bad, len, &h), DNBD_OK);
	CHECK_EQ(h.type, DNBD_T_READ);
	CHECK_EQ(dnbd_decode_hdr(bad, len, &h), DNBD_BAD_CRC);
	CHECK_EQ(dnbd_peek_hdr(buf, len - 1, &h), DNBD_BAD_LENGTH);
	CHECK_EQ(dnbd_decode_hdr(buf, len - 1, &h), DNBD_BAD_LENGTH);
	memcpy(bad, buf, len);
	bad[0] ^= 1;
	CHECK_EQ(dnbd_decode_hdr(bad, len, &h), DNBD_BAD_MAGIC);
	memcpy(bad, buf, len);
	bad[4] = 2;
	CHECK_EQ(dnbd_decode_hdr(bad, len, &h), DNBD_BAD_VERSION);
	/* Any single bit flip past the version byte is caught. */
	for (i = 5; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			enum dnbd_verdict v;

			memcpy(bad, buf, len);
			bad[i] ^= (uint8_t)(1 << bit);
			v = dnbd_decode_hdr(bad, len, &h);
			if (i == 14 || i == 15)
				CHECK(v == DNBD_BAD_LENGTH);
			else
				CHECK(v == DNBD_BAD_CRC);
		}
	}
	/* Mask bits beyond seg_count, empty mask, bad segment sizes. */
	rq.mask[0] = 0x7ff;
	len = dnbd_encode_read(buf, sizeof(buf), 0, 1, &rq);
	CHECK_EQ(dnbd_decode_read(buf, len, &out), DNBD_BAD_FIELD);
	rq.mask[0] = 0;
	len = dnbd_encode_read(buf, sizeof(buf), 0, 1, &rq);
	CHECK_EQ(dnbd_decode_read(buf, len, &out), DNBD_BAD_FIELD);
	rq.mask[0] = 1;
	rq.seg_size = 100;
	CHECK_EQ(dnbd_encode_read(buf, sizeof(buf), 0, 1, &rq), 0);
	rq.seg_size = 1400;
	rq.offset = 7;
	CHECK_EQ(dnbd_encode_read(buf, sizeof(buf), 0, 1, &rq), 0);
	rq.offset = 0;
	rq.seg_count = 129;
	CHECK_EQ(dnbd_encode_read(buf, sizeof(buf), 0, 1, &rq), 0);
	/* A reply longer than its segment is refused. */
	{
		struct dnbd_reply rp = { .seg_size = 512, .offset = 0,
					 .data_len = 600 };
		struct dnbd_reply rp2;

		len = dnbd_encode_reply_hdr(buf, sizeof(buf), 0, 1, 1, &rp);
		memset(buf + DNBD_REPLY_LEN, 0, 600);
		dnbd_seal(buf, len);
		CHECK_EQ(dnbd_decode_reply(buf, len, &rp2), DNBD_BAD_FIELD);
	}
}

/* REPAIR (a READ plus first/count) and PARITY (header + one symbol). */
static void test_fec_messages(void)
{
	uint8_t buf[DNBD_DGRAM_MAX], sym[1400];
	struct dnbd_hdr h;
	struct dnbd_repair rp = {
		.blk = { .client_id = 3, .req_id = 4, .echo = 5, .target = 2,
			 .seg_size = 1400, .offset = 1400ull * 254,
			 .seg_count = 127, .mask = { ~0ull, ~0ull >> 1 } },
		.first = 3, .count = 5 };
	struct dnbd_repair rp2;
	struct dnbd_parity pa = { .seg_size = 1400, .index = 127,
				  .offset = 1400ull * 127,
				  .mask = { 0x5, 1ull << 62 },
				  .block_crc = 0xdeadbeef };
	struct dnbd_parity pa2;
	size_t len, i;

	for (i = 0; i < sizeof(sym); i++)
		sym[i] = (uint8_t)(i * 7);
	len = dnbd_encode_repair(buf, sizeof(buf), DNBD_F_RETRY, 77, &rp);
	CHECK_EQ(len, DNBD_REPAIR_LEN);
	CHECK_EQ(dnbd_decode_hdr(buf, len, &h), DNBD_OK);
	CHECK_EQ(h.type, DNBD_T_REPAIR);
	CHECK_EQ(h.flags, DNBD_F_RETRY);
	CHECK_EQ(dnbd_decode_repair(buf, len, &rp2), DNBD_OK);
	CHECK_EQ(rp2.first, 3);
	CHECK_EQ(rp2.count, 5);
	CHECK(!memcmp(&rp.blk.mask, &rp2.blk.mask, sizeof(rp.blk.mask)));
	CHECK_EQ(rp2.blk.offset, rp.blk.offset);
	CHECK_EQ(rp2.blk.seg_count, 127);
	CHECK_EQ(rp2.blk.req_id, 4);
	/* Parity indices end at 127; no count, no repair. */
	rp.count = 126;
	CHECK_EQ(dnbd_encode_repair(buf, sizeof(buf), 0, 77, &rp), 0);
	rp.count = 0;
	CHECK_EQ(dnbd_encode_repair(buf, sizeof(buf), 0, 77, &rp), 0);
	rp.first = 120;
	rp.count = 8;
	len = dnbd_encode_repair(buf, sizeof(buf), 0, 77, &rp);
	CHECK_EQ(len, DNBD_REPAIR_LEN);
	buf[51] = 9;	/* 120 + 9 > 128 */
	dnbd_seal(buf, len);
	CHECK_EQ(dnbd_decode_repair(buf, len, &rp2), DNBD_BAD_FIELD);
	buf[51] = 0;
	dnbd_seal(buf, len);
	CHECK_EQ(dnbd_decode_repair(buf, len, &rp2), DNBD_BAD_FIELD);

	len = dnbd_encode_parity_hdr(buf, sizeof(buf), 2, 77, &pa);
	CHECK_EQ(len, DNBD_PARITY_LEN + 1400);
	memcpy(buf + DNBD_PARITY_LEN, sym, sizeof(sym));
	dnbd_seal(buf, len);
	CHECK_EQ(dnbd_decode_hdr(buf, len, &h), DNBD_OK);
	CHECK_EQ(h.type, DNBD_T_PARITY);
	CHECK_EQ(h.sender, 2);
	CHECK_EQ(dnbd_decode_parity(buf, len, &pa2), DNBD_OK);
	CHECK_EQ(pa2.index, 127);
	CHECK_EQ(pa2.offset, pa.offset);
	CHECK_EQ(pa2.mask[0], 0x5);
	CHECK_EQ(pa2.mask[1], 1ull << 62);
	CHECK_EQ(pa2.block_crc, 0xdeadbeef);
	CHECK(!memcmp(pa2.data, sym, sizeof(sym)));
	/* The symbol is exactly seg_size long. */
	CHECK_EQ(dnbd_decode_parity(buf, len - 1, &pa2), DNBD_BAD_FIELD);
	CHECK_EQ(dnbd_decode_parity(buf, DNBD_PARITY_LEN - 1, &pa2),
		 DNBD_BAD_SHORT);
	buf[27] = 1;	/* reserved */
	CHECK_EQ(dnbd_decode_parity(buf, len, &pa2), DNBD_BAD_FIELD);
	buf[27] = 0;
	buf[26] = 128;	/* index */
	CHECK_EQ(dnbd_decode_parity(buf, len, &pa2), DNBD_BAD_FIELD);
	buf[26] = 0;
	memset(buf + 36, 0, 16);	/* empty block */
	CHECK_EQ(dnbd_decode_parity(buf, len, &pa2), DNBD_BAD_FIELD);
	/* A client never sends parity. */
	pa.index = 128;
	CHECK_EQ(dnbd_encode_parity_hdr(buf, sizeof(buf), 2, 77, &pa), 0);
	pa.index = 0;
	CHECK_EQ(dnbd_encode_parity_hdr(buf, sizeof(buf), 0, 77, &pa), 0);
	pa.offset = 1;
	CHECK_EQ(dnbd_encode_parity_hdr(buf, sizeof(buf), 2, 77, &pa), 0);
}

int main(void)
{
	test_crc();
	test_image_id();
	test_roundtrip();
	test_fec_messages();
	test_rejects();
	return check_report("test-wire");
}
