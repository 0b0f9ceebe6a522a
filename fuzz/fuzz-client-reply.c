// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-client-reply - datagrams (REPLY, ANNOUNCE, ERROR, foreign READ,
 * PARITY, foreign REPAIR, anything) into the client protocol core, proto/client.c, between reads,
 * timers and discovery.  The host is fake: struct dnbd_env's hooks record
 * what the core sends and delivers, memory is malloc, randomness a fixed
 * sequence.
 *
 * Input: two control bytes, then operations.
 *   control 0, bit 0  the image is selected up front (else the core starts
 *                     in discovery and an operation selects one it heard)
 *   control 0, bit 1  datagrams go in raw (no repairs, see below)
 *   control 0, bit 2  a cache of overheard replies: 64 KiB, or with
 *                     bit 7 three segments (so that CLOCK evicts)
 *   control 0, bit 3  unicast mode, two server addresses
 *   control 0, bits 4-5  the up-front image's size: 100000, 4200, 1, 2^40+7
 *   control 1, bits 0-1  the core's segment size: 512, 1400, 4096, 8900;
 *                     bits 2-3 the up-front image's seg_max (same values)
 * Operations (first byte modulo 6):
 *   0 datagram   [len u16][from u8][bytes]
 *   1 read       [slot u8][offset u64][length u32]: start a read into slot
 *                (0..7) if it is free; offset and length are folded into
 *                the image and dnbd_client_max_read() with a little slack
 *   2 timer      [ms u16]: advance the clock, run dnbd_client_timer()
 *   3 select     [k u8]: select discovered image k
 *   4 hello
 *   5 cancel     dnbd_client_cancel_all()
 *
 * Repairs (unless raw), before the CRC and length are fixed: an image id
 * field of all ones becomes the selected image's id (ANNOUNCE: the id its
 * fields give), a client_id of all ones the core's own, and a req_id of
 * 0xfffffff0 + k the request id of the read in slot k.  A REPLY's data is
 * overwritten with fuzz_pattern(its image id, its offset): what an honest
 * server would send.  So is a PARITY's symbol and block CRC when its
 * block_crc field is all ones (else they stay garbage: a forgery).
 *
 * Checks, beyond the sanitizers (read buffers are exact-size heap blocks):
 * - a read that succeeds holds the selected image's bytes for its offset;
 *   the core never completes a read twice, nor one it does not own;
 * - an overheard segment is the image's, at its offset, of the right size;
 * - every datagram the core sends decodes; a READ (or REPAIR) names the selected
 *   image, the core's segment size and no segment at or past the end of
 *   the image; its segments belong to a pending read;
 * - n_pending matches the reads the harness has outstanding;
 * - an invalid datagram neither sends anything nor finishes a read.
 */
#include "fuzz.h"
#include "dnbd_client.h"
#include "dnbd_fec.h"

#define SLOTS		8
#define MAX_OPS		64

struct slot {
	struct dnbd_read r;
	bool busy;
	bool done;
};

static struct dnbd_client client;
static unsigned long events;	/* datagrams sent and reads finished */
static struct slot slots[SLOTS];
static uint32_t rng;
static uint64_t now;

static void *env_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return calloc(1, len);
}

static void env_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static uint32_t env_random(void *ctx)
{
	(void)ctx;
	rng = rng * 1103515245u + 12345u;
	return rng;
}

static struct slot *slot_of(const struct dnbd_read *r)
{
	unsigned int i;

	for (i = 0; i < SLOTS; i++)
		if (&slots[i].r == r)
			return &slots[i];
	return NULL;
}

static void env_read_done(void *ctx, struct dnbd_read *r, int err)
{
	struct slot *sl = slot_of(r);
	const struct dnbd_client *c = ctx;

	events++;
	FUZZ_CHECK(sl && sl->busy && !sl->done);
	FUZZ_CHECK(err <= 0);
	sl->done = true;
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "read %u: offset %llu length %u: %d\n",
			(unsigned int)(sl - slots),
			(unsigned long long)r->offset, r->length, err);
	if (!err) {
		/* The invariant: every byte is the image's, at its offset. */
		FUZZ_CHECK(c->selected);
		FUZZ_CHECK(r->offset + r->length <= c->image.size);
		FUZZ_CHECK(fuzz_check_fill(r->buf, r->length, c->image.id,
					   r->offset) == r->length);
	}
}

static void env_overheard(void *ctx, uint64_t seg, const uint8_t *data,
			  uint16_t len)
{
	const struct dnbd_client *c = ctx;
	uint64_t off = seg * c->image.seg_max, want;

	FUZZ_CHECK(c->selected && off < c->image.size);
	want = c->image.size - off;
	if (want > c->image.seg_max)
		want = c->image.seg_max;
	FUZZ_CHECK(len == want);
	FUZZ_CHECK(fuzz_check_fill(data, len, c->image.id, off) == len);
}

static bool pending_wants(const struct dnbd_client *c, uint64_t seg)
{
	unsigned int i;

	for (i = 0; i < SLOTS; i++) {
		const struct dnbd_read *r = &slots[i].r;

		if (slots[i].busy && !slots[i].done && seg >= r->seg0 &&
		    seg < r->seg0 + r->nsegs)
			return true;
	}
	(void)c;
	return false;
}

static int env_send(void *ctx, const struct dnbd_addr *to, const void *buf,
		    size_t len)
{
	const struct dnbd_client *c = ctx;
	struct dnbd_read_req m;
	struct dnbd_hdr h;
	unsigned int i;

	events++;
	FUZZ_CHECK(to && (to->family == 4 || to->family == 6));
	FUZZ_CHECK(dnbd_decode_hdr(buf, len, &h) == DNBD_OK);
	FUZZ_CHECK(h.sender == 0);
	if (h.type == DNBD_T_HELLO) {
		struct dnbd_hello m2;

		FUZZ_CHECK(dnbd_decode_hello(buf, len, &m2) == DNBD_OK);
		FUZZ_CHECK(m2.client_id == c->client_id);
		return 0;
	}
	if (h.type == DNBD_T_REPAIR) {
		struct dnbd_repair rp;

		FUZZ_CHECK(dnbd_decode_repair(buf, len, &rp) == DNBD_OK);
		m = rp.blk;
	} else {
		FUZZ_CHECK(h.type == DNBD_T_READ);
		FUZZ_CHECK(dnbd_decode_read(buf, len, &m) == DNBD_OK);
	}
	FUZZ_CHECK(c->selected && h.image_id == c->image.id);
	FUZZ_CHECK(m.client_id == c->client_id);
	FUZZ_CHECK(m.seg_size == c->image.seg_max);
	for (i = 0; i < m.seg_count; i++) {
		uint64_t seg = m.offset / m.seg_size + i;

		if (!dnbd_mask_test(m.mask, i))
			continue;
		/* A client never asks past the end of the size it knows. */
		FUZZ_CHECK(seg * m.seg_size < c->image.size);
		FUZZ_CHECK(pending_wants(c, seg));
	}
	return 0;
}

static const struct dnbd_env env = {
	.ctx = &client,
	.send = env_send,
	.alloc = env_alloc,
	.free = env_free,
	.random = env_random,
	.read_done = env_read_done,
	.overheard = env_overheard,
};

static void release_slots(bool all)
{
	unsigned int i;

	for (i = 0; i < SLOTS; i++) {
		struct slot *sl = &slots[i];

		if (sl->busy && (sl->done || all)) {
			free(sl->r.buf);
			memset(sl, 0, sizeof(*sl));
		}
	}
}

static void check_pending(const struct dnbd_client *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < SLOTS; i++)
		if (slots[i].busy && !slots[i].done)
			n++;
	FUZZ_CHECK(c->n_pending == n);
}

/*
 * A PARITY whose block_crc field is all ones becomes what an honest
 * server sends: the symbol and the CRC of the block of the image as
 * fuzz_pattern() has it (the short last segment padded with zeros).
 */
static void honest_parity(const struct dnbd_client *c, uint8_t *dg, size_t len)
{
	static uint8_t seg[DNBD_FEC_MAX_DATA][DNBD_SEG_MAX];
	const uint8_t *data[DNBD_FEC_MAX_DATA];
	uint64_t off = fz_get64(dg + 28), mask[2];
	uint16_t s = fz_get16(dg + 24);
	uint32_t crc = 0;
	unsigned int i, k = 0;

	mask[0] = fz_get64(dg + 36);
	mask[1] = fz_get64(dg + 44);
	if (!c->selected || fz_get32(dg + 52) != UINT32_MAX ||
	    s < DNBD_SEG_MIN || s > DNBD_SEG_MAX || len != DNBD_PARITY_LEN + s ||
	    off % s || dg[26] >= DNBD_PARITY_IDX_MAX)
		return;
	for (i = 0; i < DNBD_FEC_MAX_DATA; i++) {
		uint64_t o = off + (uint64_t)i * s, n;

		if (!dnbd_mask_test(mask, i))
			continue;
		if (o >= c->image.size)
			return;		/* past the end: left as it is */
		n = c->image.size - o < s ? c->image.size - o : s;
		memset(seg[k], 0, s);
		fuzz_fill(seg[k], (size_t)n, c->image.id, o);
		crc = dnbd_crc32c(crc, seg[k], (size_t)n);
		data[k] = seg[k];
		k++;
	}
	if (!k)
		return;
	dnbd_fec_encode(k, data, s, dg[26], dg + DNBD_PARITY_LEN);
	fz_put32(dg + 52, crc);
}

static void repair(struct dnbd_client *c, uint8_t *dg, size_t len)
{
	uint8_t type;

	if (len < DNBD_HDR_LEN)
		return;
	type = dg[5];
	if (type == DNBD_T_ANNOUNCE && len >= DNBD_ANNOUNCE_LEN &&
	    fz_get64(dg + 16) == UINT64_MAX) {
		size_t nl = len - DNBD_ANNOUNCE_LEN;

		fz_put64(dg + 16, dnbd_image_id((const char *)dg +
						DNBD_ANNOUNCE_LEN, nl,
						fz_get64(dg + 32),
						fz_get32(dg + 40)));
	}
	if (fz_get64(dg + 16) == UINT64_MAX && c->selected)
		fz_put64(dg + 16, c->image.id);
	if (len >= 32 && fz_get32(dg + 24) == UINT32_MAX &&
	    type != DNBD_T_READ)
		fz_put32(dg + 24, c->client_id);
	if ((type == DNBD_T_REPLY || type == DNBD_T_ERROR) && len >= 32) {
		uint32_t v = fz_get32(dg + 28);

		if (v >= 0xfffffff0u && slots[v & 7].busy)
			fz_put32(dg + 28, slots[v & 7].r.req_id);
	}
	if (type == DNBD_T_REPLY && len > DNBD_REPLY_LEN)
		fuzz_fill(dg + DNBD_REPLY_LEN, len - DNBD_REPLY_LEN,
			  fz_get64(dg + 16), fz_get64(dg + 40));
	if (type == DNBD_T_PARITY && len >= DNBD_PARITY_LEN)
		honest_parity(c, dg, len);
	fuzz_fix_dgram(dg, len);
}

static void op_datagram(struct dnbd_client *c, struct fuzz_in *in, bool raw)
{
	struct dnbd_addr from = { .family = 4, .port = 5001,
				  .ip = { 10, 0, 0, 1 } };
	size_t len = fuzz_u16(in);
	unsigned long before = events;
	struct dnbd_hdr h;
	uint8_t *dg;
	bool valid;

	from.ip[3] += fuzz_u8(in) & 3;
	if (len > in->left)
		len = in->left;
	dg = malloc(len ? len : 1);	/* exact size, for ASan */
	if (!dg)
		return;
	fuzz_bytes(in, dg, len);
	if (!raw)
		repair(c, dg, len);
	valid = dnbd_decode_hdr(dg, len, &h) == DNBD_OK;
	if (valid) {
		union {
			struct dnbd_announce a;
			struct dnbd_read_req r;
			struct dnbd_reply p;
			struct dnbd_error e;
			struct dnbd_repair q;
			struct dnbd_parity y;
		} m;

		switch (h.type) {
		case DNBD_T_ANNOUNCE:
			valid = !dnbd_decode_announce(dg, len, &m.a);
			break;
		case DNBD_T_READ:
			valid = !dnbd_decode_read(dg, len, &m.r);
			break;
		case DNBD_T_REPLY:
			valid = !dnbd_decode_reply(dg, len, &m.p);
			break;
		case DNBD_T_ERROR:
			valid = !dnbd_decode_error(dg, len, &m.e);
			break;
		case DNBD_T_REPAIR:
			valid = !dnbd_decode_repair(dg, len, &m.q);
			break;
		case DNBD_T_PARITY:
			valid = !dnbd_decode_parity(dg, len, &m.y);
			break;
		default:
			break;
		}
	}
	dnbd_client_input(c, dg, len, &from, now);
	/* Garbage neither sends nor finishes anything. */
	FUZZ_CHECK(valid || events == before);
	free(dg);
}

static void op_read(struct dnbd_client *c, struct fuzz_in *in)
{
	struct slot *sl = &slots[fuzz_u8(in) % SLOTS];
	uint64_t off = fuzz_u64(in), size = c->image.size;
	uint32_t len = fuzz_u32(in), max = dnbd_client_max_read(c);
	int rc;

	if (sl->busy)
		return;
	/* Mostly inside the image and the limits, sometimes just past. */
	if (size)
		off %= size + 2;
	len %= max + 2;
	sl->r.offset = off;
	sl->r.length = len;
	sl->r.buf = malloc(len ? len : 1);
	if (!sl->r.buf)
		return;
	sl->busy = true;
	rc = dnbd_client_read(c, &sl->r, now);
	if (rc) {
		FUZZ_CHECK(rc < 0 && !sl->done);
		sl->done = true;	/* never queued */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t segs[4] = { 512, 1400, 4096, 8900 };
	static const uint64_t sizes[4] = { 100000, 4200, 1,
					   (1ull << 40) + 7 };
	struct fuzz_in in = { data, size };
	struct dnbd_client *c = &client;
	struct dnbd_client_cfg cfg;
	uint8_t c0 = fuzz_u8(&in), c1 = fuzz_u8(&in);
	unsigned int n;
	bool raw = c0 & 2;

	memset(&cfg, 0, sizeof(cfg));
	cfg.seg_size = segs[c1 & 3];
	cfg.cache_bytes = !(c0 & 4) ? 0 :
			  c0 & 0x80 ? 3u * cfg.seg_size : 65536;
	if (c0 & 8) {
		cfg.n_unicast = 2;
		cfg.unicast[0] = (struct dnbd_addr){ .family = 4, .port = 5001,
						     .ip = { 10, 0, 0, 1 } };
		cfg.unicast[1] = (struct dnbd_addr){ .family = 4, .port = 5001,
						     .ip = { 10, 0, 0, 2 } };
	} else {
		cfg.multicast = true;
		cfg.group = (struct dnbd_addr){ .family = 4, .port = 5001,
						.ip = { 239, 0, 0, 1 } };
	}
	rng = 1;
	now = 1000000000;
	memset(slots, 0, sizeof(slots));
	FUZZ_CHECK(dnbd_client_init(c, &cfg, &env) == 0);
	if (c0 & 1) {
		struct dnbd_image_info img;

		memset(&img, 0, sizeof(img));
		memcpy(img.name, "img", 4);
		img.name_len = 3;
		img.size = sizes[(c0 >> 4) & 3];
		img.revision = 1;
		img.seg_max = segs[(c1 >> 2) & 3];
		img.id = dnbd_image_id(img.name, img.name_len, img.size,
				       img.revision);
		FUZZ_CHECK(dnbd_client_select(c, &img) == 0);
	}
	for (n = 0; n < MAX_OPS && in.left; n++) {
		switch (fuzz_u8(&in) % 6) {
		case 0:
			op_datagram(c, &in, raw);
			break;
		case 1:
			op_read(c, &in);
			break;
		case 2:
			now += (uint64_t)fuzz_u16(&in) * 1000;
			dnbd_client_timer(c, now);
			break;
		case 3: {
			uint8_t k = fuzz_u8(&in);

			if (!c->selected && c->n_images) {
				int rc = dnbd_client_select(c,
					&c->images[k % c->n_images]);

				FUZZ_CHECK(rc == 0 || rc == -DNBD_ERR_NOMEM);
			}
			break;
		}
		case 4:
			dnbd_client_hello(c, c0 & 0x40 ? "img" : NULL, now);
			break;
		default:
			dnbd_client_cancel_all(c, -DNBD_ERR_CANCELED);
			break;
		}
		check_pending(c);
		release_slots(false);
	}
	if (getenv("FUZZ_VERBOSE")) {
		for (n = 0; n < DNBD_CC_MAX; n++)
			if (c->counters[n])
				fprintf(stderr, "%s=%llu ",
					dnbd_client_counter_names[n],
					(unsigned long long)c->counters[n]);
		fprintf(stderr, "\n");
	}
	dnbd_client_fini(c);
	for (n = 0; n < SLOTS; n++)
		FUZZ_CHECK(!slots[n].busy || slots[n].done);
	release_slots(true);
	return 0;
}
