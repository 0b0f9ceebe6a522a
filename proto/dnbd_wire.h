/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dnbd_wire.h - the dnbd wire protocol, version 1 (see docs/protocol.md).
 *
 * Every datagram starts with a 24-byte common header, all fields
 * big-endian.  Messages are written and read only through the encode and
 * decode functions below: nothing casts a struct over received bytes.
 * Each decode function checks the length, magic, version, declared length
 * and CRC32C before it fills a host-order struct.
 */
#ifndef DNBD_WIRE_H
#define DNBD_WIRE_H

#include "dnbd_port.h"

#define DNBD_MAGIC		0x444e4244u	/* "DNBD" */
#define DNBD_VERSION		1
#define DNBD_DEFAULT_PORT	5001

/* Message types. */
enum dnbd_type {
	DNBD_T_HELLO	= 1,	/* client solicitation: who serves what? */
	DNBD_T_ANNOUNCE	= 2,	/* server: I serve this image */
	DNBD_T_READ	= 3,	/* client: send me these segments */
	DNBD_T_REPLY	= 4,	/* server: one segment of data */
	DNBD_T_ERROR	= 5,	/* server: that request cannot be served */
	DNBD_T_PARITY	= 6,	/* server: one parity symbol of a block */
	DNBD_T_REPAIR	= 7,	/* client: send me parity for this block */
};

/* Header flags. */
#define DNBD_F_RETRY	0x0001	/* READ: a retransmission, never suppressed */
#define DNBD_F_LAST	0x0002	/* REPLY: last segment sent for this request */
#define DNBD_F_AUTH	0x0004	/* any: a DNBD_MAC_LEN tag ends the datagram */
#define DNBD_F_FEC	0x0008	/* ANNOUNCE: answers REPAIR with PARITY */
#define DNBD_F_PARITY	0x0010	/* REPLY with LAST: the burst's parity follows */
#define DNBD_F_LOST	0x0020	/* READ with RETRY: known lost, not in flight */
#define DNBD_F_QDELAY	0x0040	/* READ: carries a queueing delay report */

/* Error codes carried by DNBD_T_ERROR. */
enum dnbd_errcode {
	DNBD_E_RANGE	= 1,	/* segment past the end of the image */
	DNBD_E_NOIMAGE	= 2,	/* image id not served here */
	DNBD_E_IO	= 3,	/* the server could not read its image */
	DNBD_E_CHANGED	= 4,	/* the image changed under the server */
	DNBD_E_BADREQ	= 5,	/* malformed request (segment size, mask) */
};

/* Sizes. */
#define DNBD_HDR_LEN		24
#define DNBD_HELLO_LEN		(DNBD_HDR_LEN + 10)	/* + name */
#define DNBD_ANNOUNCE_LEN	(DNBD_HDR_LEN + 26)	/* + name */
#define DNBD_READ_LEN		(DNBD_HDR_LEN + 44)
#define DNBD_REPLY_LEN		(DNBD_HDR_LEN + 24)	/* + data */
#define DNBD_ERROR_LEN		(DNBD_HDR_LEN + 32)
#define DNBD_PARITY_LEN		(DNBD_HDR_LEN + 32)	/* + symbol */
#define DNBD_REPAIR_LEN		DNBD_READ_LEN
#define DNBD_PARITY_IDX_MAX	128	/* parity symbols 0..127 per block */
#define DNBD_NAME_MAX		255

#define DNBD_SEG_MIN		512
#define DNBD_SEG_DEFAULT	1400	/* 1400 + 48 + 28 fits a 1500 MTU */
#define DNBD_SEG_MAX		8900	/* 9000-byte jumbo frames */
#define DNBD_REQ_SEGS_MAX	128	/* segments in one READ (mask bits) */
#define DNBD_KEY_LEN		32	/* the lab key (dnbd_auth.h) */
#define DNBD_MAC_LEN		16	/* keyed BLAKE2s-128 tag */
#define DNBD_DGRAM_MAX		(DNBD_PARITY_LEN + DNBD_SEG_MAX + DNBD_MAC_LEN)

/* Host-order view of the common header. */
struct dnbd_hdr {
	uint8_t type;
	uint16_t flags;
	uint16_t sender;	/* server id; 0 when a client sends */
	uint16_t length;	/* whole datagram, header included */
	uint64_t image_id;	/* 0 in HELLO: any image */
};

struct dnbd_hello {
	uint32_t client_id;
	uint32_t echo;		/* client clock, returned in ANNOUNCE */
	uint8_t name_len;	/* 0: any image */
	char name[DNBD_NAME_MAX + 1];
};

struct dnbd_announce {
	uint32_t client_id;	/* HELLO's, or 0 when unsolicited */
	uint32_t echo;
	uint64_t size;		/* image size in bytes */
	uint32_t revision;
	uint16_t seg_max;	/* largest segment this server sends */
	bool fec;		/* header flag DNBD_F_FEC */
	uint8_t name_len;
	char name[DNBD_NAME_MAX + 1];
};

struct dnbd_read_req {
	uint32_t client_id;
	uint32_t req_id;
	uint32_t echo;
	uint16_t target;	/* server id, 0: any server */
	uint16_t seg_size;
	uint64_t offset;	/* start of the first segment */
	uint16_t seg_count;	/* 1..DNBD_REQ_SEGS_MAX */
	uint64_t mask[2];	/* bit i (mask[i/64] >> (i%64)): want segment i */
	uint8_t loss;		/* READ: the client's recent loss, x / 256 */
	uint8_t qdelay;		/* READ: its queueing delay, 4 ms units */
};

/*
 * REPAIR: a READ's layout and meaning (the block is the segments of the
 * mask), plus which parity symbols are wanted: first .. first+count-1.
 */
struct dnbd_repair {
	struct dnbd_read_req blk;
	uint8_t first;
	uint8_t count;		/* 1..DNBD_PARITY_IDX_MAX - first */
};

/*
 * PARITY: parity symbol index of the block (offset, mask): the segments
 * of the mask, each padded with zeros to seg_size (dnbd_fec.h).
 * block_crc is the CRC32C of the block's segments as they are, in order,
 * so a rebuilt block can be checked before it is used.
 */
struct dnbd_parity {
	uint16_t seg_size;	/* == symbol length */
	uint8_t index;
	uint64_t offset;	/* segment of mask bit 0 */
	uint64_t mask[2];
	uint32_t block_crc;
	const uint8_t *data;	/* seg_size bytes, into the datagram */
};

struct dnbd_reply {
	uint32_t client_id;	/* of the request answered */
	uint32_t req_id;
	uint32_t echo;
	uint16_t seg_size;	/* segment grid the offset lies on */
	uint16_t stamp;		/* server's clock, ms mod 65536; 0: none */
	uint64_t offset;
	uint16_t data_len;
	const uint8_t *data;	/* points into the decoded datagram */
};

struct dnbd_error {
	uint32_t client_id;
	uint32_t req_id;
	uint32_t echo;
	uint16_t code;
	uint64_t offset;
	uint64_t size;		/* the image size the server serves */
};

/* Why a datagram was rejected; indexes the drop counters. */
enum dnbd_verdict {
	DNBD_OK = 0,
	DNBD_BAD_SHORT,		/* shorter than its header or body */
	DNBD_BAD_MAGIC,
	DNBD_BAD_VERSION,
	DNBD_BAD_LENGTH,	/* declared length != received length */
	DNBD_BAD_CRC,
	DNBD_BAD_TYPE,		/* unknown, or not for this receiver */
	DNBD_BAD_FIELD,		/* a field out of its allowed range */
	DNBD_BAD_NOMAC,		/* keyed receiver: no DNBD_F_AUTH tag */
	DNBD_BAD_MAC,		/* keyed receiver: wrong tag */
	DNBD_BAD_KEYED,		/* receiver without a key: tagged datagram */
	DNBD_VERDICT_MAX
};

extern const char *const dnbd_verdict_names[DNBD_VERDICT_MAX];

/*
 * CRC32C (crc32c.c): dnbd_crc32c(0, "123456789", 9) == 0xe3069283, and
 * dnbd_crc32c(dnbd_crc32c(0, a, n), b, m) is the CRC of a then b.
 */
uint32_t dnbd_crc32c(uint32_t crc, const void *buf, size_t len);
#ifndef __KERNEL__
/*
 * Userspace variants, chosen at start-up; select() forces one (tests,
 * benchmarks, DNBD_CRC32C= in util.c) and fails when this CPU cannot run it.
 */
#define DNBD_CRC32C_TABLE	1
#define DNBD_CRC32C_SSE42	2
bool dnbd_crc32c_select(int variant);
const char *dnbd_crc32c_name(void);
/* A variant by name, "table", "sse4.2" or "sse42"; 0 when unknown. */
int dnbd_crc32c_variant(const char *name);
#endif

/* The image identity: FNV-1a 64 over name, size and revision. */
uint64_t dnbd_image_id(const char *name, size_t name_len, uint64_t size,
		       uint32_t revision);

/*
 * Encoders write a complete datagram, CRC included, into buf and return
 * its length, or 0 when buflen is too small or a length, segment size or
 * offset is out of range.  Names are the caller's to check.
 */
size_t dnbd_encode_hello(uint8_t *buf, size_t buflen, uint64_t image_id,
			 const struct dnbd_hello *m);
size_t dnbd_encode_announce(uint8_t *buf, size_t buflen, uint16_t sender,
			    uint64_t image_id, const struct dnbd_announce *m);
size_t dnbd_encode_read(uint8_t *buf, size_t buflen, uint16_t flags,
			uint64_t image_id, const struct dnbd_read_req *m);
/* Writes the 48-byte reply header; the caller appends data_len bytes at
 * buf + DNBD_REPLY_LEN and then calls dnbd_seal(). */
size_t dnbd_encode_reply_hdr(uint8_t *buf, size_t buflen, uint16_t flags,
			     uint16_t sender, uint64_t image_id,
			     const struct dnbd_reply *m);
size_t dnbd_encode_repair(uint8_t *buf, size_t buflen, uint16_t flags,
			  uint64_t image_id, const struct dnbd_repair *m);
/* Writes the 56-byte parity header; the caller appends seg_size bytes at
 * buf + DNBD_PARITY_LEN and then seals, as for a reply. */
size_t dnbd_encode_parity_hdr(uint8_t *buf, size_t buflen, uint16_t sender,
			      uint64_t image_id, const struct dnbd_parity *m);
size_t dnbd_encode_error(uint8_t *buf, size_t buflen, uint16_t sender,
			 uint64_t image_id, const struct dnbd_error *m);
/* Computes and stores the CRC of a finished datagram of len bytes. */
void dnbd_seal(uint8_t *buf, size_t len);
/* The same for a datagram sent as header + data (two iovecs). */
void dnbd_seal_split(uint8_t *hdr, size_t hdr_len, const uint8_t *data,
		     size_t data_len);

/*
 * The cheap part of dnbd_decode_hdr(): length, magic, version and declared
 * length, no CRC.  For filtering only (a server dropping its own looped-
 * back replies); nothing read this way may be trusted.
 */
enum dnbd_verdict dnbd_peek_hdr(const uint8_t *buf, size_t len,
				struct dnbd_hdr *h);
/* Checks length, magic, version, declared length and CRC; fills h. */
enum dnbd_verdict dnbd_decode_hdr(const uint8_t *buf, size_t len,
				  struct dnbd_hdr *h);
/* Body decoders: call after dnbd_decode_hdr() returned DNBD_OK. */
enum dnbd_verdict dnbd_decode_hello(const uint8_t *buf, size_t len,
				    struct dnbd_hello *m);
enum dnbd_verdict dnbd_decode_announce(const uint8_t *buf, size_t len,
				       struct dnbd_announce *m);
enum dnbd_verdict dnbd_decode_read(const uint8_t *buf, size_t len,
				   struct dnbd_read_req *m);
enum dnbd_verdict dnbd_decode_reply(const uint8_t *buf, size_t len,
				    struct dnbd_reply *m);
enum dnbd_verdict dnbd_decode_repair(const uint8_t *buf, size_t len,
				     struct dnbd_repair *m);
enum dnbd_verdict dnbd_decode_parity(const uint8_t *buf, size_t len,
				     struct dnbd_parity *m);
enum dnbd_verdict dnbd_decode_error(const uint8_t *buf, size_t len,
				    struct dnbd_error *m);

/* Mask helpers for READ requests. */
static inline bool dnbd_mask_test(const uint64_t *mask, unsigned int i)
{
	return (mask[i / 64] >> (i % 64)) & 1;
}

static inline void dnbd_mask_set(uint64_t *mask, unsigned int i)
{
	mask[i / 64] |= (uint64_t)1 << (i % 64);
}

/* The highest segment a non-empty mask names. */
static inline unsigned int dnbd_mask_last(const uint64_t *mask)
{
	unsigned int i = 127;

	while (i && !dnbd_mask_test(mask, i))
		i--;
	return i;
}

/* Segments named by a 128-bit mask. */
static inline unsigned int dnbd_mask_count(const uint64_t *mask)
{
	unsigned int n = 0, i;
	uint64_t v;

	for (i = 0; i < 2; i++)
		for (v = mask[i]; v; v &= v - 1)
			n++;
	return n;
}

#endif /* DNBD_WIRE_H */
