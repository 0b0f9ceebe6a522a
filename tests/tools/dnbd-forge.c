// SPDX-License-Identifier: GPL-2.0
/*
 * dnbd-forge.c - send crafted dnbd datagrams, for the integration tests.
 *
 *   dnbd-forge --to ADDR --port P --kind KIND --image-id HEX [--size N]
 *              [--offset N] [--seg-size N] [--sender ID] [--count N]
 *              [--interval-ms N] [--iface NAME]
 *
 * Every datagram is built with the encoders of proto/dnbd_wire.h and then,
 * for the hostile kinds, damaged in one precise way, so that a test can
 * check that the receiver counts it under the right drop counter and that
 * the read it disturbs still returns the right bytes.  Only libc,
 * proto/ and the key file reader are used: this tool must not share code
 * (or bugs) with the programs it attacks.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnbd_auth.h"
#include "dnbd_wire.h"
#include "keyfile.h"
#include "util.h"

enum kind {
	K_REPLY_BADCRC,
	K_REPLY_FOREIGN,
	K_REPLY_RANGE,
	K_REPLY_TRUNC,
	K_REPLY_WRONGDATA,
	K_READ_BADCRC,
	K_READ_RANGE,
	K_READ_FLOOD,
	K_GARBAGE,
	K_ANNOUNCE_BOGUS,
	K_REPLY_REVISION,
	K_REPLY_SHORT,
	K_REPLY_OVERSIZE,
	K_REPLY_HUGE,
	K_REPLY_MISALIGNED,
	K_REPLY_SEGSIZE,
	K_ANNOUNCE_COLLIDE,
	K_ANNOUNCE_FAKE,
	K_HELLO_FLOOD,
	K_REPLAY,
	K_REPLY_TRAIN,
	K_PARITY_GARBLED,
	K_PARITY_BADCRC,
	K_REPAIR_FLOOD,
	K_MAX
};

static const char *const kind_names[K_MAX] = {
	[K_REPLY_BADCRC] = "reply-badcrc",
	[K_REPLY_FOREIGN] = "reply-foreign",
	[K_REPLY_RANGE] = "reply-range",
	[K_REPLY_TRUNC] = "reply-trunc",
	[K_REPLY_WRONGDATA] = "reply-wrongdata",
	[K_READ_BADCRC] = "read-badcrc",
	[K_READ_RANGE] = "read-range",
	[K_READ_FLOOD] = "read-flood",
	[K_GARBAGE] = "garbage",
	[K_ANNOUNCE_BOGUS] = "announce-bogus",
	[K_REPLY_REVISION] = "reply-revision",
	[K_REPLY_SHORT] = "reply-short",
	[K_REPLY_OVERSIZE] = "reply-oversize",
	[K_REPLY_HUGE] = "reply-huge",
	[K_REPLY_MISALIGNED] = "reply-misaligned",
	[K_REPLY_SEGSIZE] = "reply-segsize",
	[K_PARITY_GARBLED] = "parity-garbled",
	[K_PARITY_BADCRC] = "parity-badcrc",
	[K_REPAIR_FLOOD] = "repair-flood",
	[K_ANNOUNCE_COLLIDE] = "announce-collide",
	[K_ANNOUNCE_FAKE] = "announce-fake",
	[K_HELLO_FLOOD] = "hello-flood",
	[K_REPLAY] = "replay",
	[K_REPLY_TRAIN] = "reply-train",
};

struct opts {
	const char *to;
	const char *iface;
	unsigned long port;
	enum kind kind;
	uint64_t image_id;
	uint64_t size;
	uint64_t offset;
	unsigned long seg_size;
	unsigned long sender;
	unsigned long count;
	unsigned long interval_ms;
	bool have_size;
	bool have_offset;
	const char *name;		/* --name: the real image's */
	uint32_t revision;		/* --revision: the real image's */
	bool have_name, have_revision;
	unsigned long segs;		/* --segs: READ seg_count (read-flood) */
	bool retry;			/* --retry: READs carry RETRY */
	const char *from;		/* --from GROUP: replay source */
	unsigned long dup;		/* --dup N: each replayed N times */
	unsigned long duration_s;	/* --duration-s: replay's limit */
	bool spread;			/* --spread: random full segments */
	unsigned long target;		/* --target: READ's server, 0 any */
	uint32_t client_id, req_id;	/* --client-id/--req-id: read-flood's,
					 * 0: random */
	const char *data_file;		/* --data-file: reply-train's image */
	unsigned long bad;		/* --bad K: train's damaged one */
	bool keyed;			/* --key-file: tag what is sent */
	struct dnbd_key key;
};

static const char usage_text[] =
	"usage: dnbd-forge --to ADDR --port P --kind KIND --image-id HEX\n"
	"                  [--size N] [--offset N] [--seg-size N] [--sender ID]\n"
	"                  [--count N] [--interval-ms N] [--iface NAME]\n"
	"Sends crafted dnbd datagrams (a test tool).  KIND is one of:\n"
	"  reply-badcrc     valid REPLY with one payload byte flipped after sealing\n"
	"  reply-foreign    valid REPLY for image id XOR 1\n"
	"  reply-range      valid REPLY at the first segment at/after --size\n"
	"  reply-trunc      valid REPLY truncated by 10 bytes\n"
	"  reply-wrongdata  valid REPLY at --offset carrying garbage data\n"
	"  read-badcrc      READ with a broken CRC\n"
	"  read-range       READ whose first segment starts at/after --size\n"
	"  read-flood       valid READ requests for offset 0\n"
	"  garbage          random bytes\n"
	"  announce-bogus   ANNOUNCE whose id does not match name/size/revision\n"
	"  reply-revision   valid REPLY for --name/--size with --revision + 1\n"
	"  reply-short      valid REPLY of a full segment, 100 bytes short\n"
	"  reply-oversize   valid REPLY carrying --seg-size + 100 bytes\n"
	"  reply-huge       valid 9600-byte REPLY, larger than any datagram\n"
	"  reply-misaligned valid REPLY at --offset + 1\n"
	"  reply-segsize    valid REPLY on a 1024-byte grid\n"
	"  announce-collide consistent ANNOUNCE from --sender for --name with\n"
	"                   --size + 4096 and --revision + 1 (another image)\n"
	"  announce-fake    consistent ANNOUNCE of the real image (--name, --size,\n"
	"                   --revision) from server --sender + i%8\n"
	"  hello-flood      HELLOs for any image\n"
	"  replay           forward the REPLYs and ANNOUNCEs heard on --from GROUP\n"
	"                   to --to, each --dup times (up to --count heard, or\n"
	"                   --duration-s seconds)\n"
	"  reply-train      --segs N (2..45) valid REPLYs of --data-file from\n"
	"                   --offset on, sent as ONE UDP GSO message (a train\n"
	"                   the receiver may get coalesced by GRO); REPLY\n"
	"                   number --bad K (0-based) has a payload byte flipped\n"
	"                   after sealing.  --count trains, each N segments on\n"
	"                   from the last (--interval-ms apart).\n"
	"  parity-garbled   valid PARITY (random symbol and block CRC) for the block\n"
	"                   of --segs segments at --offset\n"
	"  parity-badcrc    the same with one symbol byte flipped after sealing\n"
	"  repair-flood     valid REPAIRs for 32 parity symbols of that block\n"
	"read-flood takes --segs N (1..128 segments each), --retry and\n"
	"--target ID (the server asked; default 0, any); so do the parity and\n"
	"repair kinds, whose --spread picks blocks on a --segs grid.\n"
	"read-flood also takes --client-id N and --req-id N (default: random).\n"
	"--spread (with --size): REPLYs at random full segments, not --offset.\n"
	"--key-file F tags every datagram with that key (a rogue with a key).\n"
	"--size is required by reply-range and read-range.  Defaults: --port 5001\n"
	"--seg-size 1400 --sender 4242 --count 1 --interval-ms 0 --offset 0.\n"
	"Exit: 0 sent, 1 runtime error, 2 usage error.\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "dnbd-forge: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	exit(2);
}

/* A number with base detection (0x...), all of it, within [min, max]. */
static uint64_t parse_num(const char *opt, const char *s, uint64_t min,
			  uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-')
		usage_error("bad number for %s", opt);
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		usage_error("bad number for %s", opt);
	return v;
}

/* The image id as printed by dnbd-cat --list: hex, "0x" optional. */
static uint64_t parse_id(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-')
		usage_error("bad --image-id '%s' (hex expected)", s ? s : "");
	v = strtoull(s, &end, 16);
	if (errno || *end || v == 0)
		usage_error("bad --image-id '%s' (hex expected)", s);
	return v;
}

static enum kind parse_kind(const char *s)
{
	int k;

	for (k = 0; k < K_MAX; k++)
		if (!strcmp(s, kind_names[k]))
			return (enum kind)k;
	usage_error("unknown --kind '%s'", s);
	return K_MAX;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "kind", required_argument, NULL, 'k' },
		{ "image-id", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'o' },
		{ "seg-size", required_argument, NULL, 'g' },
		{ "sender", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'c' },
		{ "interval-ms", required_argument, NULL, 'w' },
		{ "iface", required_argument, NULL, 'I' },
		{ "name", required_argument, NULL, 'n' },
		{ "revision", required_argument, NULL, 'r' },
		{ "segs", required_argument, NULL, 'N' },
		{ "retry", no_argument, NULL, 'R' },
		{ "from", required_argument, NULL, 'F' },
		{ "dup", required_argument, NULL, 'D' },
		{ "duration-s", required_argument, NULL, 'T' },
		{ "key-file", required_argument, NULL, 'K' },
		{ "spread", no_argument, NULL, 'P' },
		{ "target", required_argument, NULL, 'G' },
		{ "data-file", required_argument, NULL, 'f' },
		{ "bad", required_argument, NULL, 'B' },
		{ "client-id", required_argument, NULL, 'C' },
		{ "req-id", required_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool have_kind = false, have_id = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->port = DNBD_DEFAULT_PORT;
	o->seg_size = DNBD_SEG_DEFAULT;
	o->sender = 4242;
	o->count = 1;
	o->segs = 1;
	o->dup = 1;
	o->duration_s = 60;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->to = optarg; break;
		case 'p': o->port = parse_num("--port", optarg, 1, 65535); break;
		case 'k': o->kind = parse_kind(optarg); have_kind = true; break;
		case 'i': o->image_id = parse_id(optarg); have_id = true; break;
		case 's':
			o->size = parse_num("--size", optarg, 1, UINT64_MAX / 2);
			o->have_size = true;
			break;
		case 'o':
			o->offset = parse_num("--offset", optarg, 0,
					      UINT64_MAX / 2);
			o->have_offset = true;
			break;
		case 'g':
			o->seg_size = parse_num("--seg-size", optarg,
						DNBD_SEG_MIN, DNBD_SEG_MAX);
			break;
		case 'S': o->sender = parse_num("--sender", optarg, 1, 65535); break;
		case 'c': o->count = parse_num("--count", optarg, 1, 100000000); break;
		case 'w':
			o->interval_ms = parse_num("--interval-ms", optarg, 0,
						   3600000);
			break;
		case 'I': o->iface = optarg; break;
		case 'n':
			o->name = optarg;
			o->have_name = strlen(optarg) > 0 &&
				       strlen(optarg) <= DNBD_NAME_MAX;
			if (!o->have_name)
				usage_error("bad --name '%s'", optarg);
			break;
		case 'r':
			o->revision = (uint32_t)parse_num("--revision", optarg,
							  0, UINT32_MAX);
			o->have_revision = true;
			break;
		case 'N':
			o->segs = parse_num("--segs", optarg, 1,
					    DNBD_REQ_SEGS_MAX);
			break;
		case 'R': o->retry = true; break;
		case 'G':
			o->target = parse_num("--target", optarg, 0, 65535);
			break;
		case 'f': o->data_file = optarg; break;
		case 'B': o->bad = parse_num("--bad", optarg, 0, 44); break;
		case 'C':
			o->client_id = (uint32_t)parse_num("--client-id", optarg,
							   1, UINT32_MAX);
			break;
		case 'Q':
			o->req_id = (uint32_t)parse_num("--req-id", optarg, 1,
							UINT32_MAX);
			break;
		case 'P': o->spread = true; break;
		case 'F': o->from = optarg; break;
		case 'D': o->dup = parse_num("--dup", optarg, 1, 100); break;
		case 'T':
			o->duration_s = parse_num("--duration-s", optarg, 1,
						  3600);
			break;
		case 'K': {
			uint8_t raw[DNBD_KEY_LEN];
			char err[512];

			if (key_file_load(optarg, raw, err, sizeof(err))) {
				fprintf(stderr, "dnbd-forge: %s\n", err);
				exit(2);
			}
			dnbd_key_init(&o->key, raw);
			o->keyed = true;
			break;
		}
		case 'h': fputs(usage_text, stdout); exit(0);
		default: usage_error("%s", "bad option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->to)
		usage_error("%s", "--to is required");
	if (!have_kind)
		usage_error("%s", "--kind is required");
	if (!have_id && o->kind != K_GARBAGE && o->kind != K_HELLO_FLOOD &&
	    o->kind != K_REPLAY)
		usage_error("%s", "--image-id is required");
	if ((o->kind == K_REPLY_REVISION || o->kind == K_ANNOUNCE_COLLIDE ||
	     o->kind == K_ANNOUNCE_FAKE) &&
	    (!o->have_name || !o->have_size || !o->have_revision))
		usage_error("--kind %s needs --name, --size and --revision",
			    kind_names[o->kind]);
	if (o->kind == K_REPLAY && !o->from)
		usage_error("%s", "--kind replay needs --from GROUP");
	if (!o->have_size &&
	    (o->kind == K_REPLY_RANGE || o->kind == K_READ_RANGE))
		usage_error("--size is required by --kind %s",
			    kind_names[o->kind]);
	if (o->offset % o->seg_size)
		usage_error("%s", "--offset must be a multiple of --seg-size");
}

/* xorshift64*: datagram contents need not be unpredictable, only varied. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void rng_fill(uint8_t *p, size_t len)
{
	while (len--)
		*p++ = (uint8_t)(rng() >> 32);
}

static uint32_t rng_nonzero32(void)
{
	uint32_t v;

	do
		v = (uint32_t)(rng() >> 16);
	while (!v);
	return v;
}

/* The first segment-aligned offset at or after the end of the image. */
static uint64_t first_offset_past(uint64_t size, uint64_t seg)
{
	return (size + seg - 1) / seg * seg;
}

/* A complete, sealed REPLY of data_len bytes of random data. */
static size_t build_reply_len(uint8_t *buf, size_t buflen,
			      const struct opts *o, uint64_t image_id,
			      uint64_t offset, uint16_t seg_size,
			      uint16_t data_len)
{
	struct dnbd_reply m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.client_id = rng_nonzero32();
	m.req_id = (uint32_t)rng();
	m.echo = (uint32_t)rng();
	m.seg_size = seg_size;
	m.offset = offset;
	m.data_len = data_len;
	len = dnbd_encode_reply_hdr(buf, buflen, DNBD_F_LAST,
				    (uint16_t)o->sender, image_id, &m);
	if (!len)
		return 0;
	rng_fill(buf + DNBD_REPLY_LEN, m.data_len);
	dnbd_seal(buf, len);
	return len;
}

/* A complete, sealed REPLY of a full segment of random data. */
static size_t build_reply(uint8_t *buf, size_t buflen, const struct opts *o,
			  uint64_t image_id, uint64_t offset)
{
	return build_reply_len(buf, buflen, o, image_id, offset,
			       (uint16_t)o->seg_size, (uint16_t)o->seg_size);
}

/* A consistent ANNOUNCE: its id is what name, size and revision say. */
static size_t build_announce(uint8_t *buf, size_t buflen, uint16_t sender,
			     const char *name, uint64_t size, uint32_t rev,
			     uint16_t seg_max)
{
	struct dnbd_announce m;

	memset(&m, 0, sizeof(m));
	m.size = size;
	m.revision = rev;
	m.seg_max = seg_max;
	m.name_len = (uint8_t)strlen(name);
	memcpy(m.name, name, m.name_len);
	return dnbd_encode_announce(buf, buflen, sender,
				    dnbd_image_id(name, m.name_len, size, rev),
				    &m);
}

/* A sealed READ of one segment at offset. */
static size_t build_read(uint8_t *buf, size_t buflen, const struct opts *o,
			 uint64_t offset)
{
	struct dnbd_read_req m;

	memset(&m, 0, sizeof(m));
	m.client_id = rng_nonzero32();
	m.req_id = (uint32_t)rng();
	m.echo = (uint32_t)rng();
	m.target = 0;
	m.seg_size = (uint16_t)o->seg_size;
	m.offset = offset;
	m.seg_count = 1;
	m.mask[0] = 1;
	return dnbd_encode_read(buf, buflen, 0, o->image_id, &m);
}

static size_t build_announce_bogus(uint8_t *buf, size_t buflen,
				   const struct opts *o)
{
	static const char name[] = "forged";
	struct dnbd_announce m;

	memset(&m, 0, sizeof(m));
	m.size = o->have_size ? o->size : 1u << 20;
	m.revision = (uint32_t)rng();
	m.seg_max = (uint16_t)o->seg_size;
	m.name_len = (uint8_t)(sizeof(name) - 1);
	memcpy(m.name, name, sizeof(name));
	/* The header claims the real image's id; the body does not match. */
	return dnbd_encode_announce(buf, buflen, (uint16_t)o->sender,
				    o->image_id, &m);
}

/* Builds datagram number i of the run; returns its length (0: bug). */
static size_t build(uint8_t *buf, size_t buflen, const struct opts *o,
		    unsigned long i)
{
	uint64_t off = o->offset;
	size_t len;

	/* Anywhere in the image: a forged segment any pending read may
	 * be waiting for. */
	if (o->spread && o->have_size && o->size >= o->seg_size)
		off = rng() % (o->size / o->seg_size) * o->seg_size;
	/* Parity and repair: a block on the --segs grid that lies whole in
	 * the image, as a reader's (dnbd-cat's 127-segment chunks). */
	if ((o->kind == K_PARITY_GARBLED || o->kind == K_PARITY_BADCRC ||
	     o->kind == K_REPAIR_FLOOD) && o->spread && o->have_size &&
	    o->size >= o->seg_size * o->segs)
		off = rng() % (o->size / (o->seg_size * o->segs)) *
		      o->seg_size * o->segs;
	switch (o->kind) {
	case K_REPLY_REVISION:
		return build_reply(buf, buflen, o,
				   dnbd_image_id(o->name, strlen(o->name),
						 o->size, o->revision + 1),
				   off);
	case K_REPLY_SHORT:
		return build_reply_len(buf, buflen, o, o->image_id, off,
				       (uint16_t)o->seg_size,
				       (uint16_t)(o->seg_size - 100));
	case K_REPLY_OVERSIZE:
		/* The encoder allows it: only the decoder checks d <= S. */
		len = build_reply_len(buf, buflen, o, o->image_id, off,
				      (uint16_t)o->seg_size,
				      (uint16_t)o->seg_size + 100);
		return len;
	case K_REPLY_HUGE:
		len = build_reply(buf, buflen, o, o->image_id, off);
		if (!len || buflen < 9600)
			return 0;
		rng_fill(buf + len, 9600 - len);
		buf[14] = 9600 >> 8;
		buf[15] = 9600 & 0xff;
		dnbd_seal(buf, 9600);
		return 9600;
	case K_REPLY_MISALIGNED:
		len = build_reply(buf, buflen, o, o->image_id, off);
		if (len) {
			buf[47] ^= 1;	/* offset + 1 (or - 1) */
			dnbd_seal(buf, len);
		}
		return len;
	case K_REPLY_SEGSIZE:
		return build_reply_len(buf, buflen, o, o->image_id,
				       off / 1024 * 1024, 1024, 1024);
	case K_ANNOUNCE_COLLIDE:
		return build_announce(buf, buflen, (uint16_t)o->sender,
				      o->name, o->size + 4096,
				      o->revision + 1, (uint16_t)o->seg_size);
	case K_ANNOUNCE_FAKE:
		return build_announce(buf, buflen,
				      (uint16_t)(o->sender + i % 8), o->name,
				      o->size, o->revision,
				      (uint16_t)o->seg_size);
	case K_HELLO_FLOOD: {
		struct dnbd_hello m;

		memset(&m, 0, sizeof(m));
		m.client_id = rng_nonzero32();
		m.echo = (uint32_t)rng();
		return dnbd_encode_hello(buf, buflen, 0, &m);
	}
	case K_REPLAY:
	case K_REPLY_TRAIN:
		return 0;
	case K_REPLY_BADCRC:
		len = build_reply(buf, buflen, o, o->image_id, off);
		if (len)
			buf[DNBD_REPLY_LEN] ^= 0x01;
		return len;
	case K_REPLY_FOREIGN:
		return build_reply(buf, buflen, o, o->image_id ^ 1, off);
	case K_REPLY_RANGE:
		return build_reply(buf, buflen, o, o->image_id,
				   first_offset_past(o->size, o->seg_size));
	case K_REPLY_TRUNC:
		len = build_reply(buf, buflen, o, o->image_id, off);
		return len > 10 ? len - 10 : 0;
	case K_REPLY_WRONGDATA:
		return build_reply(buf, buflen, o, o->image_id, off);
	case K_READ_BADCRC:
		len = build_read(buf, buflen, o, off);
		if (len)
			buf[8] ^= 0x80;	/* the CRC field itself */
		return len;
	case K_READ_RANGE:
		return build_read(buf, buflen, o,
				  first_offset_past(o->size, o->seg_size));
	case K_READ_FLOOD: {
		struct dnbd_read_req m;
		unsigned int k;

		memset(&m, 0, sizeof(m));
		m.client_id = o->client_id ? o->client_id : rng_nonzero32();
		m.req_id = o->req_id ? o->req_id : (uint32_t)rng();
		m.echo = (uint32_t)rng();
		m.seg_size = (uint16_t)o->seg_size;
		m.offset = off;
		m.seg_count = (uint16_t)o->segs;
		m.target = (uint16_t)o->target;
		for (k = 0; k < o->segs; k++)
			dnbd_mask_set(m.mask, k);
		return dnbd_encode_read(buf, buflen,
					o->retry ? DNBD_F_RETRY : 0,
					o->image_id, &m);
	}
	case K_PARITY_GARBLED:
	case K_PARITY_BADCRC: {
		struct dnbd_parity m;
		unsigned int k;

		memset(&m, 0, sizeof(m));
		m.seg_size = (uint16_t)o->seg_size;
		m.index = (uint8_t)(rng() % DNBD_PARITY_IDX_MAX);
		m.offset = off;
		m.block_crc = (uint32_t)rng();
		for (k = 0; k < o->segs; k++)
			dnbd_mask_set(m.mask, k);
		len = dnbd_encode_parity_hdr(buf, buflen, (uint16_t)o->sender,
					     o->image_id, &m);
		if (!len)
			return 0;
		rng_fill(buf + DNBD_PARITY_LEN, m.seg_size);
		dnbd_seal(buf, len);
		if (o->kind == K_PARITY_BADCRC)
			buf[DNBD_PARITY_LEN] ^= 0x01;
		return len;
	}
	case K_REPAIR_FLOOD: {
		struct dnbd_repair m;
		unsigned int k;

		memset(&m, 0, sizeof(m));
		m.blk.client_id = rng_nonzero32();
		m.blk.req_id = (uint32_t)rng();
		m.blk.echo = (uint32_t)rng();
		m.blk.seg_size = (uint16_t)o->seg_size;
		m.blk.offset = off;
		m.blk.seg_count = (uint16_t)o->segs;
		m.blk.target = (uint16_t)o->target;
		for (k = 0; k < o->segs; k++)
			dnbd_mask_set(m.blk.mask, k);
		m.first = (uint8_t)(rng() % (DNBD_PARITY_IDX_MAX - 32));
		m.count = 32;
		return dnbd_encode_repair(buf, buflen,
					  o->retry ? DNBD_F_RETRY : 0,
					  o->image_id, &m);
	}
	case K_GARBAGE:
		len = 1 + rng() % 1500;
		rng_fill(buf, len);
		return len;
	case K_ANNOUNCE_BOGUS:
		return build_announce_bogus(buf, buflen, o);
	case K_MAX:
		break;
	}
	return 0;
}

static int open_socket(const struct opts *o, struct sockaddr_in *dst)
{
	int fd, ttl = 1, zero = 0;

	memset(dst, 0, sizeof(*dst));
	dst->sin_family = AF_INET;
	dst->sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->to, &dst->sin_addr) != 1)
		usage_error("bad --to '%s' (an IPv4 address expected)", o->to);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("dnbd-forge: socket");
		return -1;
	}
	if (!IN_MULTICAST(ntohl(dst->sin_addr.s_addr)))
		return fd;
	/* Never let a forged datagram leave the test's own segment, nor
	 * reach a replaying forger on this host. */
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero,
		       sizeof(zero))) {
		perror("dnbd-forge: IP_MULTICAST_TTL");
		close(fd);
		return -1;
	}
	if (o->iface) {
		struct ip_mreqn mr;

		memset(&mr, 0, sizeof(mr));
		mr.imr_ifindex = (int)if_nametoindex(o->iface);
		if (!mr.imr_ifindex) {
			fprintf(stderr, "dnbd-forge: no interface '%s'\n",
				o->iface);
			close(fd);
			return -1;
		}
		if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr,
			       sizeof(mr))) {
			perror("dnbd-forge: IP_MULTICAST_IF");
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* SIGTERM ends a run early; the summary line is still printed. */
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* A socket that hears GROUP:port on the interface, for replay. */
static int open_listener(const struct opts *o)
{
	struct sockaddr_in sin;
	struct ip_mreqn mr;
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)o->port);
	memset(&mr, 0, sizeof(mr));
	if (inet_pton(AF_INET, o->from, &sin.sin_addr) != 1 ||
	    !IN_MULTICAST(ntohl(sin.sin_addr.s_addr)))
		usage_error("bad --from '%s' (a multicast group expected)",
			    o->from);
	mr.imr_multiaddr = sin.sin_addr;
	mr.imr_ifindex = o->iface ? (int)if_nametoindex(o->iface) : 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		perror("dnbd-forge: listener");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Forward what servers sent on --from to --to: genuine datagrams, tags
 * and all, replayed elsewhere or duplicated. */
static int replay(const struct opts *o, int out, const struct sockaddr_in *dst)
{
	static uint8_t rbuf[DNBD_DGRAM_MAX + 64];
	unsigned long heard = 0, sent = 0, k;
	struct timespec t0, t;
	struct dnbd_hdr h;
	ssize_t n;
	int in;

	/* open_socket() turned loopback off: we never hear our own copies
	 * when --from is --to. */
	in = open_listener(o);
	if (in < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (heard < o->count && !stop) {
		struct pollfd pfd = { .fd = in, .events = POLLIN };

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((unsigned long)(t.tv_sec - t0.tv_sec) >= o->duration_s)
			break;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recv(in, rbuf, sizeof(rbuf), 0);
		if (n <= 0 || dnbd_peek_hdr(rbuf, (size_t)n, &h) != DNBD_OK ||
		    (h.type != DNBD_T_REPLY && h.type != DNBD_T_ANNOUNCE))
			continue;
		heard++;
		for (k = 0; k < o->dup; k++)
			if (sendto(out, rbuf, (size_t)n, 0,
				   (const struct sockaddr *)dst,
				   sizeof(*dst)) > 0)
				sent++;
	}
	close(in);
	fprintf(stderr, "dnbd-forge: replay: %lu heard on %s, %lu sent to "
		"%s:%lu\n", heard, o->from, sent, o->to, o->port);
	return heard ? 0 : 1;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * reply-train: --segs valid REPLYs of --data-file, laid out back to back
 * and sent with one sendmsg() and UDP_SEGMENT, so the kernel cuts them
 * into datagrams (or a GRO receiver gets them coalesced).  Number --bad
 * is damaged after sealing: a receiver must drop it alone.
 */
static int send_train(const struct opts *o, int fd,
		      const struct sockaddr_in *dst, uint64_t offset)
{
	static uint8_t buf[65536];
	size_t dlen = DNBD_REPLY_LEN + o->seg_size, len = 0;
	union {
		char b[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	uint16_t gso = (uint16_t)dlen;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;
	unsigned long k;
	FILE *f;

	if (o->segs * dlen > 65507 || o->bad >= o->segs) {
		fprintf(stderr, "dnbd-forge: reply-train: %lu segments of %zu "
			"bytes (--bad %lu) do not fit one UDP GSO message\n",
			o->segs, dlen, o->bad);
		return -1;
	}
	f = fopen(o->data_file, "rb");
	if (!f || fseeko(f, (off_t)offset, SEEK_SET)) {
		perror("dnbd-forge: --data-file");
		if (f)
			fclose(f);
		return -1;
	}
	for (k = 0; k < o->segs; k++) {
		struct dnbd_reply m;
		uint8_t *d = buf + len;

		memset(&m, 0, sizeof(m));
		m.client_id = rng_nonzero32();
		m.req_id = (uint32_t)rng();
		m.seg_size = (uint16_t)o->seg_size;
		m.offset = offset + k * o->seg_size;
		m.data_len = (uint16_t)o->seg_size;
		if (!dnbd_encode_reply_hdr(d, dlen, 0, (uint16_t)o->sender,
					   o->image_id, &m) ||
		    fread(d + DNBD_REPLY_LEN, 1, o->seg_size, f) !=
		    o->seg_size) {
			fprintf(stderr, "dnbd-forge: reply-train: cannot "
				"build segment %lu (past the file's end?)\n",
				k);
			fclose(f);
			return -1;
		}
		dnbd_seal(d, dlen);
		if (k == o->bad)
			d[DNBD_REPLY_LEN + o->seg_size / 2] ^= 0x01;
		len += dlen;
	}
	fclose(f);
	iov.iov_base = buf;
	iov.iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = (void *)dst;
	mh.msg_namelen = sizeof(*dst);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(gso));
	memcpy(CMSG_DATA(c), &gso, sizeof(gso));
	if (sendmsg(fd, &mh, 0) < 0) {
		perror("dnbd-forge: sendmsg (UDP_SEGMENT)");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t buf[10000];
	struct sockaddr_in dst;
	struct timespec now;
	unsigned long i, sent = 0, failed = 0;
	struct opts o;
	int fd;

	if (!crc32c_from_env())
		return 2;
	parse_args(argc, argv, &o);
	clock_gettime(CLOCK_REALTIME, &now);
	rng_state = ((uint64_t)now.tv_sec << 32) ^ (uint64_t)now.tv_nsec ^
		    ((uint64_t)getpid() << 16) ^ 0x9e3779b97f4a7c15ull;
	fd = open_socket(&o, &dst);
	if (fd < 0)
		return 1;
	if (o.kind == K_REPLAY) {
		signal(SIGTERM, on_term);
		signal(SIGINT, on_term);
		i = (unsigned long)replay(&o, fd, &dst);
		close(fd);
		return (int)i;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (o.kind == K_REPLY_TRAIN) {
		if (!o.data_file || o.keyed)
			usage_error("%s", "reply-train needs --data-file and "
				    "takes no --key-file");
		for (i = 0; i < o.count && !stop; i++) {
			if (send_train(&o, fd, &dst,
				       o.offset + i * o.segs * o.seg_size))
				failed++;
			else
				sent++;
			if (o.interval_ms && i + 1 < o.count)
				sleep_ms(o.interval_ms);
		}
		close(fd);
		fprintf(stderr, "dnbd-forge: reply-train: %lu trains sent, "
			"%lu failed\n", sent, failed);
		return failed ? 1 : 0;
	}
	for (i = 0; i < o.count && !stop; i++) {
		size_t len = build(buf, sizeof(buf), &o, i);

		/* A rogue with a key tags what it sends; the kinds damaged
		 * after sealing stay as they are. */
		if (len && o.keyed && o.kind != K_REPLY_BADCRC &&
		    o.kind != K_READ_BADCRC && o.kind != K_REPLY_TRUNC &&
		    o.kind != K_GARBAGE && o.kind != K_REPLY_HUGE)
			len = dnbd_auth_seal(buf, len, sizeof(buf), &o.key);

		if (!len) {
			fprintf(stderr, "dnbd-forge: cannot encode %s\n",
				kind_names[o.kind]);
			close(fd);
			return 1;
		}
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&dst,
			   sizeof(dst)) < 0)
			failed++;	/* e.g. ENOBUFS under a flood: go on */
		else
			sent++;
		if (o.interval_ms && i + 1 < o.count)
			sleep_ms(o.interval_ms);
	}
	close(fd);
	fprintf(stderr, "dnbd-forge: %s: %lu sent, %lu failed to %s:%lu\n",
		kind_names[o.kind], sent, failed, o.to, o.port);
	return sent ? 0 : 1;
}
