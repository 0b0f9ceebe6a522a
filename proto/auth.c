// SPDX-License-Identifier: GPL-2.0
/*
 * auth.c - keyed BLAKE2s (RFC 7693) and the dnbd datagram tag
 * (dnbd_auth.h, docs/protocol.md section 17).
 *
 * Written from RFC 7693: BLAKE2s with 32-bit words, 10 rounds, rotations
 * 16, 12, 8 and 7, the SHA-256 initial values, little-endian words.
 */
#include "dnbd_auth.h"

static const uint32_t blake2s_iv[8] = {
	0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
	0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

static const uint8_t blake2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static uint32_t rotr32(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

#define B2S_G(a, b, c, d, x, y) do {			\
	v[a] = v[a] + v[b] + (x);			\
	v[d] = rotr32(v[d] ^ v[a], 16);			\
	v[c] = v[c] + v[d];				\
	v[b] = rotr32(v[b] ^ v[c], 12);			\
	v[a] = v[a] + v[b] + (y);			\
	v[d] = rotr32(v[d] ^ v[a], 8);			\
	v[c] = v[c] + v[d];				\
	v[b] = rotr32(v[b] ^ v[c], 7);			\
} while (0)

static void blake2s_compress(struct dnbd_blake2s *s, const uint8_t *block,
			     bool last)
{
	uint32_t m[16], v[16];
	unsigned int i;

	for (i = 0; i < 16; i++)
		m[i] = get_le32(block + 4 * i);
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] = ~v[14];
	for (i = 0; i < 10; i++) {
		const uint8_t *sg = blake2s_sigma[i];

		B2S_G(0, 4, 8, 12, m[sg[0]], m[sg[1]]);
		B2S_G(1, 5, 9, 13, m[sg[2]], m[sg[3]]);
		B2S_G(2, 6, 10, 14, m[sg[4]], m[sg[5]]);
		B2S_G(3, 7, 11, 15, m[sg[6]], m[sg[7]]);
		B2S_G(0, 5, 10, 15, m[sg[8]], m[sg[9]]);
		B2S_G(1, 6, 11, 12, m[sg[10]], m[sg[11]]);
		B2S_G(2, 7, 8, 13, m[sg[12]], m[sg[13]]);
		B2S_G(3, 4, 9, 14, m[sg[14]], m[sg[15]]);
	}
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
}

static void blake2s_count(struct dnbd_blake2s *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

void dnbd_blake2s_init(struct dnbd_blake2s *s, size_t outlen,
		       const void *key, size_t keylen)
{
	unsigned int i;

	if (outlen < 1 || outlen > DNBD_BLAKE2S_OUT_MAX)
		outlen = DNBD_BLAKE2S_OUT_MAX;
	if (keylen > DNBD_BLAKE2S_KEY_MAX)
		keylen = DNBD_BLAKE2S_KEY_MAX;
	memset(s, 0, sizeof(*s));
	for (i = 0; i < 8; i++)
		s->h[i] = blake2s_iv[i];
	/* Parameter block: digest length, key length, fanout 1, depth 1. */
	s->h[0] ^= 0x01010000u ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	s->outlen = (uint32_t)outlen;
	if (keylen) {
		/* The key, zero-padded, is the first block. */
		memcpy(s->buf, key, keylen);
		s->buflen = DNBD_BLAKE2S_BLOCK;
	}
}

void dnbd_blake2s_update(struct dnbd_blake2s *s, const void *in, size_t len)
{
	const uint8_t *p = in;
	size_t n;

	while (len) {
		/*
		 * A full buffer is compressed only once more input follows:
		 * the last block must be compressed with the final flag.
		 */
		if (s->buflen == DNBD_BLAKE2S_BLOCK) {
			blake2s_count(s, DNBD_BLAKE2S_BLOCK);
			blake2s_compress(s, s->buf, false);
			s->buflen = 0;
		}
		n = DNBD_BLAKE2S_BLOCK - s->buflen;
		if (n > len)
			n = len;
		memcpy(s->buf + s->buflen, p, n);
		s->buflen += (uint32_t)n;
		p += n;
		len -= n;
	}
}

void dnbd_blake2s_final(struct dnbd_blake2s *s, uint8_t *out)
{
	unsigned int i;

	blake2s_count(s, s->buflen);
	memset(s->buf + s->buflen, 0, DNBD_BLAKE2S_BLOCK - s->buflen);
	blake2s_compress(s, s->buf, true);
	for (i = 0; i < s->outlen; i++)
		out[i] = (uint8_t)(s->h[i / 4] >> (8 * (i % 4)));
}

void dnbd_blake2s(uint8_t *out, size_t outlen, const void *key, size_t keylen,
		  const void *in, size_t inlen)
{
	struct dnbd_blake2s s;

	dnbd_blake2s_init(&s, outlen, key, keylen);
	dnbd_blake2s_update(&s, in, inlen);
	dnbd_blake2s_final(&s, out);
}

/* ---- datagram tags ---------------------------------------------------- */

void dnbd_key_init(struct dnbd_key *k, const uint8_t raw[DNBD_KEY_LEN])
{
	dnbd_blake2s_init(&k->init, DNBD_MAC_LEN, raw, DNBD_KEY_LEN);
}

void dnbd_key_wipe(struct dnbd_key *k)
{
	memset(k, 0, sizeof(*k));
	/* The compiler must assume the zeroes are read: keep the memset. */
	__asm__ __volatile__("" : : "r"(k) : "memory");
}

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

/* Marks hdr as keyed for a datagram of total bytes (tag included). */
static void mark(uint8_t *hdr, size_t total)
{
	put16be(hdr + 6, (uint16_t)(((hdr[6] << 8) | hdr[7]) | DNBD_F_AUTH));
	put16be(hdr + 14, (uint16_t)total);
	put32be(hdr + 8, 0);
}

/* The tag: BLAKE2s over the datagram before it, CRC field as zero. */
static void tag(const struct dnbd_key *k, const uint8_t *hdr, size_t hdr_len,
		const uint8_t *data, size_t data_len, uint8_t *mac)
{
	static const uint8_t zero[4];
	struct dnbd_blake2s s = k->init;

	dnbd_blake2s_update(&s, hdr, 8);
	dnbd_blake2s_update(&s, zero, 4);
	dnbd_blake2s_update(&s, hdr + 12, hdr_len - 12);
	if (data_len)
		dnbd_blake2s_update(&s, data, data_len);
	dnbd_blake2s_final(&s, mac);
}

size_t dnbd_auth_seal(uint8_t *buf, size_t len, size_t buflen,
		      const struct dnbd_key *k)
{
	size_t total = len + DNBD_MAC_LEN;

	if (len < DNBD_HDR_LEN || buflen < total || total > 0xffff)
		return 0;
	mark(buf, total);
	tag(k, buf, len, NULL, 0, buf + len);
	dnbd_seal(buf, total);
	return total;
}

void dnbd_auth_seal_split(uint8_t *hdr, size_t hdr_len, const uint8_t *data,
			  size_t data_len, uint8_t *mac,
			  const struct dnbd_key *k)
{
	uint32_t crc;

	mark(hdr, hdr_len + data_len + DNBD_MAC_LEN);
	tag(k, hdr, hdr_len, data, data_len, mac);
	crc = dnbd_crc32c(0, hdr, hdr_len);
	crc = dnbd_crc32c(crc, data, data_len);
	put32be(hdr + 8, dnbd_crc32c(crc, mac, DNBD_MAC_LEN));
}

enum dnbd_verdict dnbd_auth_check(const uint8_t *buf, size_t *len,
				  const struct dnbd_key *k)
{
	bool marked = (buf[7] & DNBD_F_AUTH) != 0;
	uint8_t mac[DNBD_MAC_LEN], diff = 0;
	size_t body;
	unsigned int i;

	if (!k)
		return marked ? DNBD_BAD_KEYED : DNBD_OK;
	if (!marked)
		return DNBD_BAD_NOMAC;
	if (*len < DNBD_HDR_LEN + DNBD_MAC_LEN)
		return DNBD_BAD_MAC;
	body = *len - DNBD_MAC_LEN;
	tag(k, buf, body, NULL, 0, mac);
	/* Constant time: no early exit on the first wrong byte. */
	for (i = 0; i < DNBD_MAC_LEN; i++)
		diff |= (uint8_t)(mac[i] ^ buf[body + i]);
	if (diff)
		return DNBD_BAD_MAC;
	*len = body;
	return DNBD_OK;
}
