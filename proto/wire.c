// SPDX-License-Identifier: GPL-2.0
/*
 * wire.c - encode and decode dnbd datagrams (docs/protocol.md).
 *
 * Common header, 24 bytes, big-endian:
 *   0 magic u32 | 4 version u8 | 5 type u8 | 6 flags u16 | 8 crc32c u32
 *  12 sender u16 | 14 length u16 | 16 image id u64
 * The CRC32C covers the whole datagram with the crc field set to zero.
 */
#include "dnbd_wire.h"

const char *const dnbd_verdict_names[DNBD_VERDICT_MAX] = {
	[DNBD_OK] = "ok",
	[DNBD_BAD_SHORT] = "short",
	[DNBD_BAD_MAGIC] = "magic",
	[DNBD_BAD_VERSION] = "version",
	[DNBD_BAD_LENGTH] = "length",
	[DNBD_BAD_CRC] = "crc",
	[DNBD_BAD_TYPE] = "type",
	[DNBD_BAD_FIELD] = "field",
	[DNBD_BAD_NOMAC] = "auth_missing",
	[DNBD_BAD_MAC] = "auth_failure",
	[DNBD_BAD_KEYED] = "auth_unexpected",
};

/* Big-endian accessors: the only way bytes become numbers here. */
static void put8(uint8_t *p, uint8_t v)
{
	p[0] = v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)get16(p) << 16) | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

uint64_t dnbd_image_id(const char *name, size_t name_len, uint64_t size,
		       uint32_t revision)
{
	static const char domain[] = "dnbd-image-v1";
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t tail[13];
	size_t i;

	for (i = 0; i < sizeof(domain) - 1; i++)
		h = (h ^ (uint8_t)domain[i]) * 0x100000001b3ull;
	for (i = 0; i < name_len; i++)
		h = (h ^ (uint8_t)name[i]) * 0x100000001b3ull;
	tail[0] = 0;
	put64(tail + 1, size);
	put32(tail + 9, revision);
	for (i = 0; i < sizeof(tail); i++)
		h = (h ^ tail[i]) * 0x100000001b3ull;
	/* 0 means "any image" on the wire; never hand it out as an id. */
	return h ? h : 1;
}

static void put_hdr(uint8_t *buf, uint8_t type, uint16_t flags,
		    uint16_t sender, size_t len, uint64_t image_id)
{
	put32(buf, DNBD_MAGIC);
	put8(buf + 4, DNBD_VERSION);
	put8(buf + 5, type);
	put16(buf + 6, flags);
	put32(buf + 8, 0);
	put16(buf + 12, sender);
	put16(buf + 14, (uint16_t)len);
	put64(buf + 16, image_id);
}

void dnbd_seal(uint8_t *buf, size_t len)
{
	put32(buf + 8, 0);
	put32(buf + 8, dnbd_crc32c(0, buf, len));
}

void dnbd_seal_split(uint8_t *hdr, size_t hdr_len, const uint8_t *data,
		     size_t data_len)
{
	uint32_t crc;

	put32(hdr + 8, 0);
	crc = dnbd_crc32c(0, hdr, hdr_len);
	put32(hdr + 8, dnbd_crc32c(crc, data, data_len));
}

size_t dnbd_encode_hello(uint8_t *buf, size_t buflen, uint64_t image_id,
			 const struct dnbd_hello *m)
{
	size_t len = DNBD_HELLO_LEN + m->name_len;

	if (buflen < len)
		return 0;
	put_hdr(buf, DNBD_T_HELLO, 0, 0, len, image_id);
	put32(buf + 24, m->client_id);
	put32(buf + 28, m->echo);
	put16(buf + 32, m->name_len);
	memcpy(buf + DNBD_HELLO_LEN, m->name, m->name_len);
	dnbd_seal(buf, len);
	return len;
}

size_t dnbd_encode_announce(uint8_t *buf, size_t buflen, uint16_t sender,
			    uint64_t image_id, const struct dnbd_announce *m)
{
	size_t len = DNBD_ANNOUNCE_LEN + m->name_len;

	if (buflen < len || sender == 0)
		return 0;
	put_hdr(buf, DNBD_T_ANNOUNCE, m->fec ? DNBD_F_FEC : 0, sender, len,
		image_id);
	put32(buf + 24, m->client_id);
	put32(buf + 28, m->echo);
	put64(buf + 32, m->size);
	put32(buf + 40, m->revision);
	put16(buf + 44, m->seg_max);
	put16(buf + 46, 0);
	put16(buf + 48, m->name_len);
	memcpy(buf + DNBD_ANNOUNCE_LEN, m->name, m->name_len);
	dnbd_seal(buf, len);
	return len;
}

/* READ and REPAIR share one layout; REPAIR uses bytes 50 and 51. */
static size_t encode_req(uint8_t *buf, size_t buflen, uint8_t type,
			 uint16_t flags, uint64_t image_id,
			 const struct dnbd_read_req *m, uint8_t first,
			 uint8_t count)
{
	if (buflen < DNBD_READ_LEN || m->seg_count == 0 ||
	    m->seg_count > DNBD_REQ_SEGS_MAX || m->seg_size < DNBD_SEG_MIN ||
	    m->seg_size > DNBD_SEG_MAX || m->offset % m->seg_size)
		return 0;
	put_hdr(buf, type, flags, 0, DNBD_READ_LEN, image_id);
	put32(buf + 24, m->client_id);
	put32(buf + 28, m->req_id);
	put32(buf + 32, m->echo);
	put16(buf + 36, m->target);
	put16(buf + 38, m->seg_size);
	put64(buf + 40, m->offset);
	put16(buf + 48, m->seg_count);
	if (type == DNBD_T_READ) {
		put8(buf + 50, m->loss);
		put8(buf + 51, m->qdelay);
	} else {
		put8(buf + 50, first);
		put8(buf + 51, count);
	}
	put64(buf + 52, m->mask[0]);
	put64(buf + 60, m->mask[1]);
	dnbd_seal(buf, DNBD_READ_LEN);
	return DNBD_READ_LEN;
}

size_t dnbd_encode_read(uint8_t *buf, size_t buflen, uint16_t flags,
			uint64_t image_id, const struct dnbd_read_req *m)
{
	/* Byte 51 is its qdelay; clients before section 21 sent a 16-bit
	 * loss there and no DNBD_F_QDELAY. */
	return encode_req(buf, buflen, DNBD_T_READ, flags | DNBD_F_QDELAY,
			  image_id, m, 0, 0);
}

size_t dnbd_encode_repair(uint8_t *buf, size_t buflen, uint16_t flags,
			  uint64_t image_id, const struct dnbd_repair *m)
{
	if (!m->count || m->first + m->count > DNBD_PARITY_IDX_MAX)
		return 0;
	return encode_req(buf, buflen, DNBD_T_REPAIR, flags, image_id,
			  &m->blk, m->first, m->count);
}

size_t dnbd_encode_parity_hdr(uint8_t *buf, size_t buflen, uint16_t sender,
			      uint64_t image_id, const struct dnbd_parity *m)
{
	size_t len = DNBD_PARITY_LEN + (size_t)m->seg_size;

	if (buflen < len || sender == 0 || m->seg_size < DNBD_SEG_MIN ||
	    m->seg_size > DNBD_SEG_MAX || m->offset % m->seg_size ||
	    m->index >= DNBD_PARITY_IDX_MAX || (!m->mask[0] && !m->mask[1]))
		return 0;
	put_hdr(buf, DNBD_T_PARITY, 0, sender, len, image_id);
	put16(buf + 24, m->seg_size);
	put8(buf + 26, m->index);
	put8(buf + 27, 0);
	put64(buf + 28, m->offset);
	put64(buf + 36, m->mask[0]);
	put64(buf + 44, m->mask[1]);
	put32(buf + 52, m->block_crc);
	return len;
}

size_t dnbd_encode_reply_hdr(uint8_t *buf, size_t buflen, uint16_t flags,
			     uint16_t sender, uint64_t image_id,
			     const struct dnbd_reply *m)
{
	size_t len = DNBD_REPLY_LEN + m->data_len;

	if (buflen < len || sender == 0 || m->data_len > DNBD_SEG_MAX)
		return 0;
	put_hdr(buf, DNBD_T_REPLY, flags, sender, len, image_id);
	put32(buf + 24, m->client_id);
	put32(buf + 28, m->req_id);
	put32(buf + 32, m->echo);
	put16(buf + 36, m->seg_size);
	put16(buf + 38, m->stamp);
	put64(buf + 40, m->offset);
	return len;
}

size_t dnbd_encode_error(uint8_t *buf, size_t buflen, uint16_t sender,
			 uint64_t image_id, const struct dnbd_error *m)
{
	if (buflen < DNBD_ERROR_LEN || sender == 0)
		return 0;
	put_hdr(buf, DNBD_T_ERROR, 0, sender, DNBD_ERROR_LEN, image_id);
	put32(buf + 24, m->client_id);
	put32(buf + 28, m->req_id);
	put32(buf + 32, m->echo);
	put16(buf + 36, m->code);
	put16(buf + 38, 0);
	put64(buf + 40, m->offset);
	put64(buf + 48, m->size);
	dnbd_seal(buf, DNBD_ERROR_LEN);
	return DNBD_ERROR_LEN;
}

enum dnbd_verdict dnbd_peek_hdr(const uint8_t *buf, size_t len,
				struct dnbd_hdr *h)
{
	if (len < DNBD_HDR_LEN)
		return DNBD_BAD_SHORT;
	if (get32(buf) != DNBD_MAGIC)
		return DNBD_BAD_MAGIC;
	if (buf[4] != DNBD_VERSION)
		return DNBD_BAD_VERSION;
	if (get16(buf + 14) != len)
		return DNBD_BAD_LENGTH;
	h->type = buf[5];
	h->flags = get16(buf + 6);
	h->sender = get16(buf + 12);
	h->length = (uint16_t)len;
	h->image_id = get64(buf + 16);
	return DNBD_OK;
}

enum dnbd_verdict dnbd_decode_hdr(const uint8_t *buf, size_t len,
				  struct dnbd_hdr *h)
{
	enum dnbd_verdict v;
	uint32_t crc;
	uint8_t zero[4] = { 0, 0, 0, 0 };

	v = dnbd_peek_hdr(buf, len, h);
	if (v != DNBD_OK)
		return v;
	/* CRC over the datagram with its crc field read as zero. */
	crc = dnbd_crc32c(0, buf, 8);
	crc = dnbd_crc32c(crc, zero, 4);
	crc = dnbd_crc32c(crc, buf + 12, len - 12);
	if (crc != get32(buf + 8))
		return DNBD_BAD_CRC;
	return DNBD_OK;
}

static enum dnbd_verdict get_name(const uint8_t *p, size_t avail,
				  uint16_t wire_len, uint8_t *name_len,
				  char *name)
{
	size_t i;

	if (wire_len > DNBD_NAME_MAX || wire_len != avail)
		return avail < wire_len ? DNBD_BAD_SHORT : DNBD_BAD_FIELD;
	for (i = 0; i < wire_len; i++) {
		/* Names are printable ASCII; they reach logs and JSON. */
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
			return DNBD_BAD_FIELD;
		name[i] = (char)p[i];
	}
	name[wire_len] = '\0';
	*name_len = (uint8_t)wire_len;
	return DNBD_OK;
}

enum dnbd_verdict dnbd_decode_hello(const uint8_t *buf, size_t len,
				    struct dnbd_hello *m)
{
	if (len < DNBD_HELLO_LEN)
		return DNBD_BAD_SHORT;
	m->client_id = get32(buf + 24);
	m->echo = get32(buf + 28);
	return get_name(buf + DNBD_HELLO_LEN, len - DNBD_HELLO_LEN,
			get16(buf + 32), &m->name_len, m->name);
}

enum dnbd_verdict dnbd_decode_announce(const uint8_t *buf, size_t len,
				       struct dnbd_announce *m)
{
	if (len < DNBD_ANNOUNCE_LEN)
		return DNBD_BAD_SHORT;
	if (get16(buf + 12) == 0)
		return DNBD_BAD_FIELD;
	m->client_id = get32(buf + 24);
	m->echo = get32(buf + 28);
	m->size = get64(buf + 32);
	m->revision = get32(buf + 40);
	m->seg_max = get16(buf + 44);
	m->fec = get16(buf + 6) & DNBD_F_FEC;
	if (m->seg_max < DNBD_SEG_MIN || m->seg_max > DNBD_SEG_MAX)
		return DNBD_BAD_FIELD;
	return get_name(buf + DNBD_ANNOUNCE_LEN, len - DNBD_ANNOUNCE_LEN,
			get16(buf + 48), &m->name_len, m->name);
}

enum dnbd_verdict dnbd_decode_repair(const uint8_t *buf, size_t len,
				     struct dnbd_repair *m)
{
	enum dnbd_verdict v = dnbd_decode_read(buf, len, &m->blk);

	if (v != DNBD_OK)
		return v;
	m->first = buf[50];
	m->count = buf[51];
	m->blk.loss = 0;
	m->blk.qdelay = 0;
	if (!m->count || m->first + m->count > DNBD_PARITY_IDX_MAX)
		return DNBD_BAD_FIELD;
	return DNBD_OK;
}

enum dnbd_verdict dnbd_decode_parity(const uint8_t *buf, size_t len,
				     struct dnbd_parity *m)
{
	if (len < DNBD_PARITY_LEN)
		return DNBD_BAD_SHORT;
	if (get16(buf + 12) == 0)
		return DNBD_BAD_FIELD;
	m->seg_size = get16(buf + 24);
	m->index = buf[26];
	m->offset = get64(buf + 28);
	m->mask[0] = get64(buf + 36);
	m->mask[1] = get64(buf + 44);
	m->block_crc = get32(buf + 52);
	m->data = buf + DNBD_PARITY_LEN;
	if (m->seg_size < DNBD_SEG_MIN || m->seg_size > DNBD_SEG_MAX ||
	    m->offset % m->seg_size || len - DNBD_PARITY_LEN != m->seg_size ||
	    m->index >= DNBD_PARITY_IDX_MAX || buf[27] ||
	    (!m->mask[0] && !m->mask[1]))
		return DNBD_BAD_FIELD;
	return DNBD_OK;
}

enum dnbd_verdict dnbd_decode_read(const uint8_t *buf, size_t len,
				   struct dnbd_read_req *m)
{
	unsigned int n;

	if (len != DNBD_READ_LEN)
		return len < DNBD_READ_LEN ? DNBD_BAD_SHORT : DNBD_BAD_LENGTH;
	m->client_id = get32(buf + 24);
	m->req_id = get32(buf + 28);
	m->echo = get32(buf + 32);
	m->target = get16(buf + 36);
	m->seg_size = get16(buf + 38);
	m->offset = get64(buf + 40);
	m->seg_count = get16(buf + 48);
	m->loss = buf[50];
	m->qdelay = buf[51];
	m->mask[0] = get64(buf + 52);
	m->mask[1] = get64(buf + 60);
	n = m->seg_count;
	if (m->seg_size < DNBD_SEG_MIN || m->seg_size > DNBD_SEG_MAX ||
	    n == 0 || n > DNBD_REQ_SEGS_MAX || m->offset % m->seg_size)
		return DNBD_BAD_FIELD;
	/* No bits beyond seg_count, and at least one bit. */
	if (n < 64) {
		if ((m->mask[0] >> n) || m->mask[1])
			return DNBD_BAD_FIELD;
	} else if (n < 128 && (m->mask[1] >> (n - 64))) {
		return DNBD_BAD_FIELD;
	}
	if (!m->mask[0] && !m->mask[1])
		return DNBD_BAD_FIELD;
	return DNBD_OK;
}

enum dnbd_verdict dnbd_decode_reply(const uint8_t *buf, size_t len,
				    struct dnbd_reply *m)
{
	if (len < DNBD_REPLY_LEN)
		return DNBD_BAD_SHORT;
	if (get16(buf + 12) == 0)
		return DNBD_BAD_FIELD;
	m->client_id = get32(buf + 24);
	m->req_id = get32(buf + 28);
	m->echo = get32(buf + 32);
	m->seg_size = get16(buf + 36);
	m->stamp = get16(buf + 38);
	m->offset = get64(buf + 40);
	m->data_len = (uint16_t)(len - DNBD_REPLY_LEN);
	m->data = buf + DNBD_REPLY_LEN;
	if (m->seg_size < DNBD_SEG_MIN || m->seg_size > DNBD_SEG_MAX ||
	    m->offset % m->seg_size || m->data_len == 0 ||
	    m->data_len > m->seg_size)
		return DNBD_BAD_FIELD;
	return DNBD_OK;
}

enum dnbd_verdict dnbd_decode_error(const uint8_t *buf, size_t len,
				    struct dnbd_error *m)
{
	if (len != DNBD_ERROR_LEN)
		return len < DNBD_ERROR_LEN ? DNBD_BAD_SHORT : DNBD_BAD_LENGTH;
	if (get16(buf + 12) == 0)
		return DNBD_BAD_FIELD;
	m->client_id = get32(buf + 24);
	m->req_id = get32(buf + 28);
	m->echo = get32(buf + 32);
	m->code = get16(buf + 36);
	m->offset = get64(buf + 40);
	m->size = get64(buf + 48);
	if (m->code < DNBD_E_RANGE || m->code > DNBD_E_BADREQ)
		return DNBD_BAD_FIELD;
	return DNBD_OK;
}
