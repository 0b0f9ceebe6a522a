// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-server-request - datagrams into dnbd-server's request path:
 * serve_datagram(), the function the event loop (daemon/main.c drain())
 * calls for every datagram, then the queued read jobs as a worker runs
 * them (serve_run_queued()).  No sockets: struct server's tx_hook gets
 * every datagram the server would send.
 *
 * The server is set up once through config_parse() and image_open(),
 * twice: multicast (-m 239.0.0.1, three images on two groups) and unicast
 * (-m 10.0.0.1, three images on one socket).  The images are temporary
 * files, unlinked once open, whose bytes are fuzz_pattern(image id,
 * offset).
 *
 * Input: a control byte, then records of [len u16][info u8][datagram].
 *   control bit 0    unicast server (else multicast)
 *   control bit 1    datagrams go in raw (else length and CRC repaired)
 *   control bits 2-3 --seg-max: 512, 1400, 4096, 8900
 *   control bits 4-6 images 0..2 marked changed (answers: ERROR CHANGED)
 *   info bits 0-1    socket the datagram arrives on
 *   info bits 2-7    milliseconds since the previous datagram
 * Sixteen records at most; each datagram at most DNBD_DGRAM_MAX bytes
 * (longer ones are dropped in main.c before serve_datagram()).
 *
 * Checks on every datagram sent, beyond the sanitizers:
 * - it decodes, carries our server id and is an ANNOUNCE, REPLY or ERROR;
 * - it goes to the image's group (multicast) or to the sender (unicast);
 * - an ANNOUNCE answers a HELLO of this input, for an image on that
 *   socket, with the image's fields;
 * - a REPLY carries bytes of an image on that socket, at its offset, as
 *   many as the protocol says, for a segment a READ of this input (same
 *   client, request, image and segment size) asked for;
 * - an ERROR answers a READ or HELLO of this input;
 * - an invalid datagram (docs/protocol.md section 11) is never answered.
 */
#include <errno.h>
#include <getopt.h>
#include <unistd.h>

#include "fuzz.h"
#include "dnbd_fec.h"
#include "server.h"
#include "util.h"

#define N_IMAGES	3
#define MAX_RECORDS	16
#define FAKE_FD		1000

static const uint64_t image_sizes[N_IMAGES] = { 100000, 4200, 1 };

static struct server servers[2];	/* multicast, unicast */
static uint8_t *span;
static struct dnbd_addr from_addr;

/* What this input asked for. */
static struct dnbd_read_req reads[MAX_RECORDS];
static uint64_t read_image[MAX_RECORDS];
static unsigned int n_reads;
static uint32_t hello_clients[MAX_RECORDS];
static unsigned int n_hellos;

static void die(const char *what)
{
	fprintf(stderr, "fuzz-server-request: %s: %s\n", what,
		strerror(errno));
	exit(1);
}

/* An image file with the pattern for the id it will have.  The id
 * depends on name, size and revision only, so it is known up front. */
static void make_image(char *path, size_t pathlen, const char *name,
		       uint64_t size, uint32_t rev)
{
	uint64_t id = dnbd_image_id(name, strlen(name), size, rev);
	const char *dir = getenv("TMPDIR");
	uint8_t *data = malloc(size);
	int fd;

	snprintf(path, pathlen, "%s/dnbd-fuzz-image.XXXXXX",
		 dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0 || !data)
		die("image file");
	fuzz_fill(data, size, id, 0);
	if (write(fd, data, size) != (ssize_t)size)
		die("image write");
	close(fd);
	free(data);
}

static void setup_server(struct server *s, const char *mcast,
			 char paths[N_IMAGES][256])
{
	static char arg[N_IMAGES][300];
	char *argv[16];
	unsigned int i, k;
	int argc = 0;

	argv[argc++] = (char *)"dnbd-server";
	argv[argc++] = (char *)"-m";
	argv[argc++] = (char *)mcast;
	argv[argc++] = (char *)"-i";
	argv[argc++] = (char *)"7";
	for (i = 0; i < N_IMAGES; i++) {
		/* Image 2 shares image 0's group (multicast mode). */
		snprintf(arg[i], sizeof(arg[i]), "%s,name=img%u,rev=%u%s",
			 paths[i], i, i + 1,
			 i == 2 && !strncmp(mcast, "239.", 4) ?
			 ",group=239.0.0.1" : "");
		argv[argc++] = (char *)"-d";
		argv[argc++] = arg[i];
	}
	argv[argc] = NULL;
	memset(s, 0, sizeof(*s));
	optind = 0;
	if (config_parse(&s->cfg, argc, argv))
		die("config_parse");
	for (i = 0; i < s->cfg.n_images; i++) {
		struct image *img = &s->cfg.images[i];

		if (image_open(img))
			die("image_open");
		/* As open_sockets() in main.c, without the sockets. */
		for (k = 0; k < s->n_socks; k++)
			if (addr_equal(&s->socks[k].addr, &img->group))
				break;
		img->sock = (int)k;
		if (k == s->n_socks) {
			s->socks[k].addr = img->group;
			s->socks[k].fd = FAKE_FD + (int)k;
			s->n_socks++;
		}
	}
	pace_init(&s->pacer, 0);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	s->queue = calloc(JOBQ_LEN, sizeof(*s->queue));
	if (!s->queue)
		die("queue");
}

static void setup(void)
{
	char paths[N_IMAGES][256];
	unsigned int i;

	log_init("fuzz-server-request", getenv("FUZZ_VERBOSE") ? 2 : -1);
	for (i = 0; i < N_IMAGES; i++) {
		char name[8];

		snprintf(name, sizeof(name), "img%u", i);
		make_image(paths[i], sizeof(paths[i]), name, image_sizes[i],
			   i + 1);
	}
	setup_server(&servers[0], "239.0.0.1", paths);
	setup_server(&servers[1], "10.0.0.1", paths);
	FUZZ_CHECK(servers[0].cfg.multicast && servers[0].n_socks == 2);
	FUZZ_CHECK(!servers[1].cfg.multicast && servers[1].n_socks == 1);
	for (i = 0; i < N_IMAGES; i++)
		unlink(servers[0].cfg.images[i].path);
	span = malloc(SERVE_SPAN_MAX);
	if (!span)
		die("span");
	addr_parse("10.0.0.2", 40000, &from_addr);
}

static struct image *image_by_id(struct server *s, int fd, uint64_t id)
{
	unsigned int i;

	for (i = 0; i < s->cfg.n_images; i++) {
		struct image *img = &s->cfg.images[i];

		if (img->id == id && s->socks[img->sock].fd == fd)
			return img;
	}
	return NULL;
}

static bool asked(uint64_t image_id, const struct dnbd_reply *m)
{
	unsigned int i;

	for (i = 0; i < n_reads; i++) {
		const struct dnbd_read_req *r = &reads[i];
		uint64_t seg0 = r->offset / r->seg_size;
		uint64_t seg = m->offset / m->seg_size;

		if (read_image[i] == image_id && r->client_id == m->client_id &&
		    r->req_id == m->req_id && r->echo == m->echo &&
		    r->seg_size == m->seg_size && seg >= seg0 &&
		    seg < seg0 + r->seg_count &&
		    dnbd_mask_test(r->mask, (unsigned int)(seg - seg0)))
			return true;
	}
	return false;
}

static bool answers_hello(uint32_t client_id)
{
	unsigned int i;

	for (i = 0; i < n_hellos; i++)
		if (hello_clients[i] == client_id)
			return true;
	return false;
}

static bool answers_read(uint64_t image_id, const struct dnbd_error *e)
{
	unsigned int i;

	for (i = 0; i < n_reads; i++)
		if (read_image[i] == image_id &&
		    reads[i].client_id == e->client_id &&
		    reads[i].req_id == e->req_id &&
		    reads[i].offset == e->offset)
			return true;
	return false;
}

static unsigned long sent;	/* datagrams through tx() */

static void tx(struct server *s, int fd, const struct msghdr *msg)
{
	static uint8_t dg[DNBD_DGRAM_MAX + 1];
	const struct sockaddr_in *sin = msg->msg_name;
	struct dnbd_addr to;
	struct dnbd_hdr h;
	struct image *img;
	size_t len = 0, i;

	for (i = 0; i < msg->msg_iovlen; i++) {
		FUZZ_CHECK(len + msg->msg_iov[i].iov_len <= sizeof(dg) - 1);
		memcpy(dg + len, msg->msg_iov[i].iov_base,
		       msg->msg_iov[i].iov_len);
		len += msg->msg_iov[i].iov_len;
	}
	sent++;
	FUZZ_CHECK(fd >= FAKE_FD && fd < FAKE_FD + (int)s->n_socks);
	FUZZ_CHECK(dnbd_decode_hdr(dg, len, &h) == DNBD_OK);
	FUZZ_CHECK(h.sender == s->cfg.id);
	img = image_by_id(s, fd, h.image_id);
	FUZZ_CHECK(img != NULL);
	addr_from_sin(sin, &to);
	if (s->cfg.multicast)
		FUZZ_CHECK(addr_equal(&to, &img->group));
	else
		FUZZ_CHECK(addr_equal(&to, &from_addr));
	switch (h.type) {
	case DNBD_T_ANNOUNCE: {
		struct dnbd_announce m;

		FUZZ_CHECK(dnbd_decode_announce(dg, len, &m) == DNBD_OK);
		FUZZ_CHECK(answers_hello(m.client_id));
		FUZZ_CHECK(m.size == img->size &&
			   m.revision == img->revision &&
			   m.seg_max == s->cfg.seg_max &&
			   m.name_len == img->name_len &&
			   !memcmp(m.name, img->name, m.name_len));
		FUZZ_CHECK(!atomic_load(&img->changed));
		break;
	}
	case DNBD_T_REPLY: {
		struct dnbd_reply m;
		uint64_t want;

		FUZZ_CHECK(dnbd_decode_reply(dg, len, &m) == DNBD_OK);
		FUZZ_CHECK(m.seg_size <= s->cfg.seg_max);
		FUZZ_CHECK(m.offset < img->size);
		want = img->size - m.offset;
		if (want > m.seg_size)
			want = m.seg_size;
		FUZZ_CHECK(m.data_len == want);
		FUZZ_CHECK(fuzz_check_fill(m.data, m.data_len, img->id,
					   m.offset) == m.data_len);
		FUZZ_CHECK(asked(img->id, &m));
		FUZZ_CHECK(!atomic_load(&img->changed));
		break;
	}
	case DNBD_T_ERROR: {
		struct dnbd_error m;

		FUZZ_CHECK(dnbd_decode_error(dg, len, &m) == DNBD_OK);
		FUZZ_CHECK(m.size == img->size);
		if (m.req_id == 0 && m.offset == 0 &&
		    m.code == DNBD_E_CHANGED && answers_hello(m.client_id))
			break;
		FUZZ_CHECK(answers_read(img->id, &m));
		break;
	}
	case DNBD_T_PARITY: {
		/* Proactive (after a burst) or for a REPAIR: whichever, the
		 * symbol and the block CRC are the image's. */
		static uint8_t seg[DNBD_FEC_MAX_DATA][DNBD_SEG_MAX];
		static uint8_t sym[DNBD_SEG_MAX];
		const uint8_t *data[DNBD_FEC_MAX_DATA];
		struct dnbd_parity m;
		unsigned int q, k = 0;
		uint32_t crc = 0;

		FUZZ_CHECK(dnbd_decode_parity(dg, len, &m) == DNBD_OK);
		FUZZ_CHECK(m.seg_size <= s->cfg.seg_max);
		for (q = 0; q < DNBD_FEC_MAX_DATA; q++) {
			uint64_t o = m.offset + (uint64_t)q * m.seg_size, n;

			if (!dnbd_mask_test(m.mask, q))
				continue;
			FUZZ_CHECK(o < img->size);
			n = img->size - o < m.seg_size ? img->size - o :
			    m.seg_size;
			memset(seg[k], 0, m.seg_size);
			fuzz_fill(seg[k], (size_t)n, img->id, o);
			crc = dnbd_crc32c(crc, seg[k], (size_t)n);
			data[k] = seg[k];
			k++;
		}
		FUZZ_CHECK(m.block_crc == crc);
		FUZZ_CHECK(dnbd_fec_encode(k, data, m.seg_size, m.index, sym));
		FUZZ_CHECK(!memcmp(sym, m.data, m.seg_size));
		FUZZ_CHECK(!atomic_load(&img->changed));
		break;
	}
	default:
		FUZZ_CHECK(!"the server sent a HELLO, READ or REPAIR");
	}
}

/* Notes what the datagram asks for, as the server will see it; false
 * if it is invalid (docs/protocol.md section 11), so never answered. */
static bool remember(const uint8_t *dg, size_t len)
{
	struct dnbd_hello hello;
	struct dnbd_hdr h;

	if (dnbd_decode_hdr(dg, len, &h) != DNBD_OK)
		return false;
	if (h.type == DNBD_T_READ) {
		if (dnbd_decode_read(dg, len, &reads[n_reads]) != DNBD_OK)
			return false;
		read_image[n_reads++] = h.image_id;
	}
	if (h.type == DNBD_T_HELLO) {
		if (dnbd_decode_hello(dg, len, &hello) != DNBD_OK)
			return false;
		hello_clients[n_hellos++] = hello.client_id;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const uint16_t seg_max[4] = { 512, 1400, 4096, 8900 };
	struct fuzz_in in = { data, size };
	struct server *s;
	unsigned int i, n;
	uint8_t ctl, info, *dg;
	unsigned long before;
	uint64_t now;
	bool valid;
	size_t len;

	if (!ready) {
		setup();
		ready = true;
	}
	ctl = fuzz_u8(&in);
	s = &servers[ctl & 1];
	s->cfg.seg_max = seg_max[(ctl >> 2) & 3];
	s->tx_hook = tx;
	memset(s->counters, 0, sizeof(s->counters));
	for (i = 0; i < s->cfg.n_images; i++) {
		struct image *img = &s->cfg.images[i];

		atomic_store(&img->changed, (ctl >> (4 + i)) & 1);
		memset(img->dedup, 0, DEDUP_SLOTS * sizeof(*img->dedup));
	}
	n_reads = n_hellos = 0;
	/* The workers stamp dedup slots with the real clock. */
	now = now_us();
	for (n = 0; n < MAX_RECORDS && in.left >= 3; n++) {
		len = fuzz_u16(&in);
		info = fuzz_u8(&in);
		if (len > in.left)
			len = in.left;
		now += (uint64_t)(info >> 2) * 1000;
		/* An exact-size copy: ASan catches reads past its end. */
		dg = malloc(len ? len : 1);
		if (!dg)
			break;
		fuzz_bytes(&in, dg, len);
		if (len > DNBD_DGRAM_MAX) {	/* main.c drops it */
			free(dg);
			continue;
		}
		if (!(ctl & 2))
			fuzz_fix_dgram(dg, len);
		valid = remember(dg, len);
		before = sent;
		serve_datagram(s, &s->socks[(info & 3) % s->n_socks], dg, len,
			       &from_addr, now);
		FUZZ_CHECK(s->qlen <= JOBQ_LEN);
		serve_run_queued(s, span);
		/* Garbage never triggers traffic. */
		FUZZ_CHECK(valid || sent == before);
		free(dg);
	}
	if (getenv("FUZZ_VERBOSE")) {
#define NAME(name, help) #name,
		static const char *const names[SC_MAX] = {
			SRV_COUNTERS(NAME)
		};
#undef NAME
		for (i = 0; i < SC_MAX; i++)
			if (s->counters[i])
				fprintf(stderr, "%s=%llu ", names[i],
					(unsigned long long)s->counters[i]);
		fprintf(stderr, "\n");
	}
	return 0;
}
