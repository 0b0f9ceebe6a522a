// SPDX-License-Identifier: GPL-2.0
/*
 * test-auth.c - BLAKE2s against the official vectors (RFC 7693 appendices
 * B and E, the BLAKE2 keyed known-answer tests), and the datagram tag.
 */
#include "check.h"
#include "dnbd_auth.h"

int main(void);

static int hex_eq(const uint8_t *got, const char *hex, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++)
		if (hex[2 * i] != digits[got[i] >> 4] ||
		    hex[2 * i + 1] != digits[got[i] & 15])
			return 0;
	return hex[2 * n] == '\0';
}

/* RFC 7693, appendix E: the deterministic input generator. */
static void selftest_seq(uint8_t *out, size_t len, uint32_t seed)
{
	uint32_t a = 0xdead4badu * seed, b = 1, t;
	size_t i;

	for (i = 0; i < len; i++) {
		t = a + b;
		a = b;
		b = t;
		out[i] = (uint8_t)(t >> 24);
	}
}

static void test_vectors(void)
{
	static const size_t outlens[] = { 16, 20, 28, 32 };
	static const size_t inlens[] = { 0, 3, 64, 65, 255, 1024 };
	uint8_t out[32], key[32], in[1024];
	struct dnbd_blake2s grand, s;
	size_t i, j;

	/* Appendix B: BLAKE2s-256("abc"). */
	dnbd_blake2s(out, 32, NULL, 0, "abc", 3);
	CHECK(hex_eq(out, "508c5e8c327c14e2e1a72ba34eeb452f"
			  "37458b209ed63a294d999b4c86675982", 32));
	/* Appendix E: the self-test over lengths, keyed and unkeyed. */
	dnbd_blake2s_init(&grand, 32, NULL, 0);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 6; j++) {
			selftest_seq(in, inlens[j], (uint32_t)inlens[j]);
			dnbd_blake2s(out, outlens[i], NULL, 0, in, inlens[j]);
			dnbd_blake2s_update(&grand, out, outlens[i]);
			selftest_seq(key, outlens[i], (uint32_t)outlens[i]);
			dnbd_blake2s(out, outlens[i], key, outlens[i], in,
				     inlens[j]);
			dnbd_blake2s_update(&grand, out, outlens[i]);
		}
	}
	dnbd_blake2s_final(&grand, out);
	CHECK(hex_eq(out, "6a411f08ce25adcdfb02aba641451cec"
			  "53c598b24f4fc787fbdc88797f4c1dfe", 32));
	/* Keyed known answers: key 00..1f, input 00..n-1. */
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 255; i++)
		in[i] = (uint8_t)i;
	dnbd_blake2s(out, 32, key, 32, in, 0);
	CHECK(hex_eq(out, "48a8997da407876b3d79c0d92325ad3b"
			  "89cbb754d86ab71aee047ad345fd2c49", 32));
	dnbd_blake2s(out, 32, key, 32, in, 64);
	CHECK(hex_eq(out, "8975b0577fd35566d750b362b0897a26"
			  "c399136df07bababbde6203ff2954ed4", 32));
	dnbd_blake2s(out, 32, key, 32, in, 255);
	CHECK(hex_eq(out, "3fb735061abc519dfe979e54c1ee5bfa"
			  "d0a9d858b3315bad34bde999efd724dd", 32));
	/* Byte-at-a-time updates give the same answer. */
	dnbd_blake2s_init(&s, 32, key, 32);
	for (i = 0; i < 255; i++)
		dnbd_blake2s_update(&s, in + i, 1);
	dnbd_blake2s_final(&s, out);
	CHECK(hex_eq(out, "3fb735061abc519dfe979e54c1ee5bfa"
			  "d0a9d858b3315bad34bde999efd724dd", 32));
}

static size_t make_reply(uint8_t *buf, size_t buflen, uint64_t off,
			 uint16_t dlen)
{
	struct dnbd_reply m = { .client_id = 1, .req_id = 2, .echo = 3,
				.seg_size = 1400, .offset = off,
				.data_len = dlen };
	size_t len, i;

	len = dnbd_encode_reply_hdr(buf, buflen, DNBD_F_LAST, 7, 0x1234, &m);
	for (i = 0; i < dlen; i++)
		buf[DNBD_REPLY_LEN + i] = (uint8_t)(i * 7 + off);
	dnbd_seal(buf, len);
	return len;
}

static void test_tag(void)
{
	uint8_t raw[DNBD_KEY_LEN], raw2[DNBD_KEY_LEN];
	uint8_t buf[DNBD_DGRAM_MAX], hdr[DNBD_REPLY_LEN], mac[DNBD_MAC_LEN];
	uint8_t bad[DNBD_DGRAM_MAX];
	struct dnbd_key k, k2;
	struct dnbd_hdr h;
	struct dnbd_reply r;
	size_t len, klen, l, i;
	uint32_t crc;

	for (i = 0; i < DNBD_KEY_LEN; i++) {
		raw[i] = (uint8_t)(0xa0 + i);
		raw2[i] = raw[i];
	}
	raw2[31] ^= 1;
	dnbd_key_init(&k, raw);
	dnbd_key_init(&k2, raw2);

	len = make_reply(buf, sizeof(buf), 2800, 1400);
	/* Unkeyed datagrams: accepted without a key, refused with one. */
	l = len;
	CHECK_EQ(dnbd_auth_check(buf, &l, NULL), DNBD_OK);
	CHECK_EQ(dnbd_auth_check(buf, &l, &k), DNBD_BAD_NOMAC);
	CHECK_EQ(dnbd_auth_seal(buf, len, len + 15, &k), 0);
	klen = dnbd_auth_seal(buf, len, sizeof(buf), &k);
	CHECK_EQ(klen, len + DNBD_MAC_LEN);
	CHECK_EQ(dnbd_decode_hdr(buf, klen, &h), DNBD_OK);
	CHECK(h.flags & DNBD_F_AUTH);
	CHECK(h.flags & DNBD_F_LAST);
	CHECK_EQ(h.length, klen);
	l = klen;
	CHECK_EQ(dnbd_auth_check(buf, &l, NULL), DNBD_BAD_KEYED);
	CHECK_EQ(l, klen);
	CHECK_EQ(dnbd_auth_check(buf, &l, &k2), DNBD_BAD_MAC);
	CHECK_EQ(dnbd_auth_check(buf, &l, &k), DNBD_OK);
	CHECK_EQ(l, len);
	CHECK_EQ(dnbd_decode_reply(buf, l, &r), DNBD_OK);
	CHECK_EQ(r.data_len, 1400);
	CHECK_EQ(r.offset, 2800);

	/* Any change, resealed with a correct CRC, breaks the tag. */
	for (i = 0; i < klen; i++) {
		if (i >= 8 && i < 12)
			continue;		/* the CRC itself */
		memcpy(bad, buf, klen);
		bad[i] ^= (uint8_t)(1u << (i % 8));
		dnbd_seal(bad, klen);
		l = klen;
		if (dnbd_decode_hdr(bad, klen, &h) != DNBD_OK)
			continue;		/* length, magic, version */
		if (dnbd_auth_check(bad, &l, &k) == DNBD_OK) {
			CHECK(!"a modified datagram passed the tag check");
			break;
		}
	}
	/* Truncated to less than a tag. */
	memcpy(bad, buf, DNBD_HDR_LEN + 4);
	l = DNBD_HDR_LEN + 4;
	CHECK_EQ(dnbd_auth_check(bad, &l, &k), DNBD_BAD_MAC);

	/* The three-iovec form gives the same bytes. */
	make_reply(bad, sizeof(bad), 2800, 1400);
	memcpy(hdr, bad, DNBD_REPLY_LEN);
	dnbd_auth_seal_split(hdr, DNBD_REPLY_LEN, bad + DNBD_REPLY_LEN, 1400,
			     mac, &k);
	CHECK(!memcmp(hdr, buf, DNBD_REPLY_LEN));
	CHECK(!memcmp(mac, buf + len, DNBD_MAC_LEN));
	crc = dnbd_crc32c(0, buf, klen);
	CHECK(crc != 0);

	/* A short last segment, and the HELLO path. */
	len = make_reply(buf, sizeof(buf), 1400 * 5, 17);
	klen = dnbd_auth_seal(buf, len, sizeof(buf), &k);
	l = klen;
	CHECK_EQ(dnbd_decode_hdr(buf, klen, &h), DNBD_OK);
	CHECK_EQ(dnbd_auth_check(buf, &l, &k), DNBD_OK);
	CHECK_EQ(dnbd_decode_reply(buf, l, &r), DNBD_OK);
	CHECK_EQ(r.data_len, 17);
	{
		struct dnbd_hello hi = { .client_id = 5, .echo = 6,
					 .name_len = 3 }, hi2;

		memcpy(hi.name, "lab", 4);
		len = dnbd_encode_hello(buf, sizeof(buf), 0, &hi);
		klen = dnbd_auth_seal(buf, len, sizeof(buf), &k);
		l = klen;
		CHECK_EQ(dnbd_decode_hdr(buf, klen, &h), DNBD_OK);
		CHECK_EQ(dnbd_auth_check(buf, &l, &k), DNBD_OK);
		CHECK_EQ(dnbd_decode_hello(buf, l, &hi2), DNBD_OK);
		CHECK_EQ(hi2.name_len, 3);
	}
	/* The example of docs/protocol.md, section 17. */
	{
		static const uint8_t want[50] = {
			0x44, 0x4e, 0x42, 0x44, 0x01, 0x01, 0x00, 0x04,
			0xae, 0x27, 0x3c, 0x6e, 0x00, 0x00, 0x00, 0x32,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x11, 0x22, 0x33, 0x44, 0x00, 0xc0, 0xff, 0xee,
			0x00, 0x00, 0x80, 0x57, 0x00, 0x9d, 0x5e, 0xfd,
			0x4c, 0x33, 0xdb, 0xa0, 0x63, 0xc3, 0x53, 0x3b,
			0x82, 0x62,
		};
		struct dnbd_hello hi = { .client_id = 0x11223344,
					 .echo = 0x00c0ffee };
		struct dnbd_key kx;

		for (i = 0; i < DNBD_KEY_LEN; i++)
			raw[i] = (uint8_t)i;
		dnbd_key_init(&kx, raw);
		len = dnbd_encode_hello(buf, sizeof(buf), 0, &hi);
		klen = dnbd_auth_seal(buf, len, sizeof(buf), &kx);
		CHECK_EQ(klen, sizeof(want));
		CHECK(!memcmp(buf, want, sizeof(want)));
	}
	dnbd_key_wipe(&k);
	for (i = 0; i < sizeof(k); i++)
		CHECK_EQ(((uint8_t *)&k)[i], 0);
}

int main(void)
{
	test_vectors();
	test_tag();
	return check_report("test-auth");
}
