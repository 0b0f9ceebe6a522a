// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-wire - proto/wire.c's decoders on arbitrary datagrams.
 *
 * Input: one control byte, then the datagram.  Control bit 0 clear: the
 * length field and the CRC are repaired first (fuzz_fix_dgram), so most
 * inputs get past the header into the body decoders; set: the bytes go in
 * as they are.
 *
 * Checks, beyond the sanitizers:
 * - dnbd_peek_hdr() and dnbd_decode_hdr() agree, and decode_hdr's fields
 *   are the bytes on the wire;
 * - every body decoder accepts only what docs/protocol.md section 11
 *   allows (names, segment sizes, masks, data length);
 * - whatever a decoder accepts, the matching encoder writes back to the
 *   same bytes (reserved fields and fields the encoder owns aside).
 */
#include "fuzz.h"

static uint8_t buf[0x10000];
static uint8_t out[0x10000];

static bool name_ok(const char *name, unsigned int len)
{
	unsigned int i;

	if (name[len] != '\0')
		return false;
	for (i = 0; i < len; i++)
		if (name[i] < 0x21 || name[i] > 0x7e || name[i] == '"' ||
		    name[i] == '\\')
			return false;
	return true;
}

/* out must equal buf, after the fields listed (offset, length pairs)
 * were zeroed in a copy of buf and the copy was resealed. */
static void check_same(size_t len, const unsigned int *zero, unsigned int n)
{
	static uint8_t want[0x10000];
	unsigned int i;

	memcpy(want, buf, len);
	for (i = 0; i < n; i += 2)
		memset(want + zero[i], 0, zero[i + 1]);
	dnbd_seal(want, len);
	FUZZ_CHECK(!memcmp(want, out, len));
}

static void check_hello(const struct dnbd_hdr *h, size_t len)
{
	static const unsigned int zero[] = { 6, 2, 12, 2 };
	struct dnbd_hello m;

	if (dnbd_decode_hello(buf, len, &m) != DNBD_OK)
		return;
	FUZZ_CHECK(len == DNBD_HELLO_LEN + (size_t)m.name_len);
	FUZZ_CHECK(name_ok(m.name, m.name_len));
	if (h->type != DNBD_T_HELLO)
		return;
	FUZZ_CHECK(dnbd_encode_hello(out, sizeof(out), h->image_id, &m) ==
		   len);
	check_same(len, zero, 4);
}

static void check_announce(const struct dnbd_hdr *h, size_t len)
{
	static const unsigned int zero[] = { 6, 2, 46, 2 };
	struct dnbd_announce m;

	if (dnbd_decode_announce(buf, len, &m) != DNBD_OK)
		return;
	FUZZ_CHECK(h->sender != 0);
	FUZZ_CHECK(m.seg_max >= DNBD_SEG_MIN && m.seg_max <= DNBD_SEG_MAX);
	FUZZ_CHECK(len == DNBD_ANNOUNCE_LEN + (size_t)m.name_len);
	FUZZ_CHECK(name_ok(m.name, m.name_len));
	(void)dnbd_image_id(m.name, m.name_len, m.size, m.revision);
	if (h->type != DNBD_T_ANNOUNCE)
		return;
	FUZZ_CHECK(m.fec == !!(h->flags & DNBD_F_FEC));
	FUZZ_CHECK(dnbd_encode_announce(out, sizeof(out), h->sender,
					h->image_id, &m) == len);
	/* The encoder writes FEC alone of the flags. */
	FUZZ_CHECK(fz_get16(out + 6) == (m.fec ? DNBD_F_FEC : 0));
	out[6] = out[7] = 0;
	dnbd_seal(out, len);
	check_same(len, zero, 4);
}

static void check_read(const struct dnbd_hdr *h, size_t len)
{
	static const unsigned int zero[] = { 12, 2 };
	struct dnbd_read_req m, m2;
	struct dnbd_hdr oh;
	unsigned int i, n;

	if (dnbd_decode_read(buf, len, &m) != DNBD_OK)
		return;
	FUZZ_CHECK(len == DNBD_READ_LEN);
	FUZZ_CHECK(m.seg_size >= DNBD_SEG_MIN && m.seg_size <= DNBD_SEG_MAX);
	FUZZ_CHECK(m.seg_count >= 1 && m.seg_count <= DNBD_REQ_SEGS_MAX);
	FUZZ_CHECK(m.offset % m.seg_size == 0);
	FUZZ_CHECK(m.mask[0] || m.mask[1]);
	n = dnbd_mask_count(m.mask);
	FUZZ_CHECK(n >= 1 && n <= m.seg_count);
	for (i = m.seg_count; i < DNBD_REQ_SEGS_MAX; i++)
		FUZZ_CHECK(!dnbd_mask_test(m.mask, i));
	if (h->type != DNBD_T_READ)
		return;
	FUZZ_CHECK(m.loss == buf[50] && m.qdelay == buf[51]);
	FUZZ_CHECK(dnbd_encode_read(out, sizeof(out), h->flags, h->image_id,
				    &m) == len);
	if (h->flags & DNBD_F_QDELAY) {
		check_same(len, zero, 2);
		return;
	}
	/* An older client's READ (no QDELAY): re-encoded, it says that
	 * byte 51 is a report, and carries the same request. */
	FUZZ_CHECK(dnbd_decode_hdr(out, len, &oh) == DNBD_OK);
	FUZZ_CHECK(oh.flags == (h->flags | DNBD_F_QDELAY));
	FUZZ_CHECK(dnbd_decode_read(out, len, &m2) == DNBD_OK);
	FUZZ_CHECK(m2.offset == m.offset && m2.seg_count == m.seg_count &&
		   m2.seg_size == m.seg_size && m2.target == m.target &&
		   m2.client_id == m.client_id && m2.req_id == m.req_id &&
		   m2.echo == m.echo && m2.loss == m.loss &&
		   m2.qdelay == m.qdelay && m2.mask[0] == m.mask[0] &&
		   m2.mask[1] == m.mask[1]);
}

static void check_reply(const struct dnbd_hdr *h, size_t len)
{
	static const unsigned int zero[] = { 0, 0 };	/* all kept */
	struct dnbd_reply m;

	if (dnbd_decode_reply(buf, len, &m) != DNBD_OK)
		return;
	FUZZ_CHECK(h->sender != 0);
	FUZZ_CHECK(m.seg_size >= DNBD_SEG_MIN && m.seg_size <= DNBD_SEG_MAX);
	FUZZ_CHECK(m.offset % m.seg_size == 0);
	FUZZ_CHECK(m.data == buf + DNBD_REPLY_LEN);
	FUZZ_CHECK(m.data_len >= 1 && m.data_len <= m.seg_size);
	FUZZ_CHECK((size_t)DNBD_REPLY_LEN + m.data_len == len);
	FUZZ_CHECK(m.stamp == fz_get16(buf + 38));
	if (h->type != DNBD_T_REPLY)
		return;
	FUZZ_CHECK(dnbd_encode_reply_hdr(out, sizeof(out), h->flags,
					 h->sender, h->image_id, &m) == len);
	memcpy(out + DNBD_REPLY_LEN, m.data, m.data_len);
	dnbd_seal(out, len);
	check_same(len, zero, 2);
	/* The split seal (header and data apart) gives the same CRC. */
	dnbd_seal_split(out, DNBD_REPLY_LEN, m.data, m.data_len);
	check_same(len, zero, 2);
}

static void check_repair(const struct dnbd_hdr *h, size_t len)
{
	static const unsigned int zero[] = { 12, 2 };
	struct dnbd_repair m;

	if (dnbd_decode_repair(buf, len, &m) != DNBD_OK)
		return;
	FUZZ_CHECK(len == DNBD_REPAIR_LEN);
	FUZZ_CHECK(m.count >= 1 && m.first + m.count <= DNBD_PARITY_IDX_MAX);
	FUZZ_CHECK(m.first == buf[50] && m.count == buf[51]);
	if (h->type != DNBD_T_REPAIR)
		return;
	FUZZ_CHECK(dnbd_encode_repair(out, sizeof(out), h->flags, h->image_id,
				      &m) == len);
	check_same(len, zero, 2);
}

static void check_parity(const struct dnbd_hdr *h, size_t len)
{
	static const unsigned int zero[] = { 6, 2 };
	struct dnbd_parity m;

	if (dnbd_decode_parity(buf, len, &m) != DNBD_OK)
		return;
	FUZZ_CHECK(h->sender != 0);
	FUZZ_CHECK(m.seg_size >= DNBD_SEG_MIN && m.seg_size <= DNBD_SEG_MAX);
	FUZZ_CHECK(m.offset % m.seg_size == 0);
	FUZZ_CHECK(m.index < DNBD_PARITY_IDX_MAX);
	FUZZ_CHECK(m.mask[0] || m.mask[1]);
	FUZZ_CHECK(m.data == buf + DNBD_PARITY_LEN);
	FUZZ_CHECK((size_t)DNBD_PARITY_LEN + m.seg_size == len);
	if (h->type != DNBD_T_PARITY)
		return;
	FUZZ_CHECK(dnbd_encode_parity_hdr(out, sizeof(out), h->sender,
					  h->image_id, &m) == len);
	memcpy(out + DNBD_PARITY_LEN, m.data, m.seg_size);
	dnbd_seal(out, len);
	check_same(len, zero, 2);
}

static void check_error(const struct dnbd_hdr *h, size_t len)
{
	static const unsigned int zero[] = { 6, 2, 38, 2 };
	struct dnbd_error m;

	if (dnbd_decode_error(buf, len, &m) != DNBD_OK)
		return;
	FUZZ_CHECK(len == DNBD_ERROR_LEN);
	FUZZ_CHECK(h->sender != 0);
	FUZZ_CHECK(m.code >= DNBD_E_RANGE && m.code <= DNBD_E_BADREQ);
	if (h->type != DNBD_T_ERROR)
		return;
	FUZZ_CHECK(dnbd_encode_error(out, sizeof(out), h->sender,
				     h->image_id, &m) == len);
	check_same(len, zero, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnbd_hdr h, p;
	enum dnbd_verdict v, pv;
	uint8_t ctl, *dg;
	size_t len;

	if (size < 1 || size - 1 > sizeof(buf))
		return -1;
	ctl = data[0];
	len = size - 1;
	/* An exact-size heap copy: ASan sees any read past the datagram. */
	dg = malloc(len ? len : 1);
	if (!dg)
		return 0;
	memcpy(dg, data + 1, len);
	if (!(ctl & 1))
		fuzz_fix_dgram(dg, len);

	pv = dnbd_peek_hdr(dg, len, &p);
	v = dnbd_decode_hdr(dg, len, &h);
	FUZZ_CHECK(v < DNBD_VERDICT_MAX && pv < DNBD_VERDICT_MAX);
	FUZZ_CHECK(dnbd_verdict_names[v] != NULL);
	if (pv != DNBD_OK) {
		FUZZ_CHECK(v == pv);
	} else {
		FUZZ_CHECK(v == DNBD_OK || v == DNBD_BAD_CRC);
		FUZZ_CHECK(fz_get32(dg) == DNBD_MAGIC && dg[4] == DNBD_VERSION);
		FUZZ_CHECK(p.length == len && fz_get16(dg + 14) == len);
		FUZZ_CHECK(p.type == dg[5] && p.flags == fz_get16(dg + 6) &&
			   p.sender == fz_get16(dg + 12) &&
			   p.image_id == fz_get64(dg + 16));
	}
	if (v == DNBD_OK) {
		FUZZ_CHECK(h.type == p.type && h.flags == p.flags &&
			   h.sender == p.sender && h.length == p.length &&
			   h.image_id == p.image_id);
		/* Body decoders run on the exact-size copy; the checks that
		 * re-encode use the static copy. */
		memcpy(buf, dg, len);
		{
			struct dnbd_hello a;
			struct dnbd_announce b;
			struct dnbd_read_req c;
			struct dnbd_reply d;
			struct dnbd_error e;
			struct dnbd_repair f;
			struct dnbd_parity g;

			(void)dnbd_decode_hello(dg, len, &a);
			(void)dnbd_decode_announce(dg, len, &b);
			(void)dnbd_decode_read(dg, len, &c);
			if (dnbd_decode_reply(dg, len, &d) == DNBD_OK)
				FUZZ_CHECK(d.data + d.data_len == dg + len);
			(void)dnbd_decode_error(dg, len, &e);
			(void)dnbd_decode_repair(dg, len, &f);
			if (dnbd_decode_parity(dg, len, &g) == DNBD_OK)
				FUZZ_CHECK(g.data + g.seg_size == dg + len);
		}
		check_hello(&h, len);
		check_announce(&h, len);
		check_read(&h, len);
		check_reply(&h, len);
		check_error(&h, len);
		check_repair(&h, len);
		check_parity(&h, len);
	}
	free(dg);
	return 0;
}
