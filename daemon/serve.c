// SPDX-License-Identifier: GPL-2.0
/*
 * serve.c - what the server does with a datagram, and the workers that
 * send read replies.
 *
 * The event loop (main.c) calls serve_datagram() for every datagram.  It
 * validates it completely, answers HELLO with ANNOUNCE, answers bad reads
 * with ERROR and turns good reads into jobs.  A worker takes a job, reads
 * the requested span of the image with one pread(), and sends one REPLY
 * per wanted segment: a 48-byte header iovec plus a data iovec pointing
 * into the span buffer, so data is never copied twice, in UDP GSO trains
 * where the kernel takes them (batch_build()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "dnbd_fec.h"
#include "server.h"
#include "util.h"

#define SPAN_MAX	SERVE_SPAN_MAX

static void count_verdict(struct server *s, enum dnbd_verdict v)
{
	static const enum srv_counter map[DNBD_VERDICT_MAX] = {
		[DNBD_BAD_SHORT] = SC_drop_short,
		[DNBD_BAD_MAGIC] = SC_drop_magic,
		[DNBD_BAD_VERSION] = SC_drop_version,
		[DNBD_BAD_LENGTH] = SC_drop_length,
		[DNBD_BAD_CRC] = SC_crc_failures,
		[DNBD_BAD_TYPE] = SC_drop_type,
		[DNBD_BAD_FIELD] = SC_drop_field,
		[DNBD_BAD_NOMAC] = SC_auth_missing,
		[DNBD_BAD_MAC] = SC_auth_failures,
		[DNBD_BAD_KEYED] = SC_auth_unexpected,
	};

	if (v > DNBD_OK && v < DNBD_VERDICT_MAX)
		sc_add(s, map[v], 1);
}

/* ANNOUNCE and ERROR: tagged with --key-file, and within --rate.  buf has
 * room for the tag. */
static bool send_dgram(struct server *s, int fd, const struct dnbd_addr *to,
		       uint8_t *buf, size_t len, size_t buflen)
{
	struct sockaddr_in sin;

	if (len && s->cfg.keyed)
		len = dnbd_auth_seal(buf, len, buflen, &s->cfg.key);
	if (!len)
		return false;
	if (!pace_control(&s->pacer, len)) {
		sc_add(s, SC_control_ratelimited, 1);
		return false;
	}
	addr_to_sin(to, &sin);
	if (s->tx_hook) {
		struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
		struct msghdr m = {
			.msg_name = &sin, .msg_namelen = sizeof(sin),
			.msg_iov = &iov, .msg_iovlen = 1,
		};

		s->tx_hook(s, fd, &m);
		sc_add(s, SC_bytes_sent, len);
		return true;
	}
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		sc_add(s, SC_send_errors, 1);
		return false;
	}
	sc_add(s, SC_bytes_sent, len);
	return true;
}

void serve_announce(struct server *s, struct image *img, uint32_t client_id,
		    uint32_t echo, const struct dnbd_addr *to)
{
	struct dnbd_announce m;
	uint8_t buf[DNBD_ANNOUNCE_LEN + DNBD_NAME_MAX + DNBD_MAC_LEN];
	size_t len;

	if (atomic_load(&img->changed))
		return;			/* do not advertise what we refuse */
	memset(&m, 0, sizeof(m));
	m.client_id = client_id;
	m.echo = echo;
	m.size = img->size;
	m.revision = img->revision;
	m.seg_max = s->cfg.seg_max;
	m.fec = !s->cfg.no_fec;
	m.name_len = img->name_len;
	memcpy(m.name, img->name, img->name_len);
	len = dnbd_encode_announce(buf, sizeof(buf), s->cfg.id, img->id, &m);
	if (send_dgram(s, s->socks[img->sock].fd, to, buf, len, sizeof(buf)))
		sc_add(s, SC_announces_sent, 1);
}

static void send_error(struct server *s, const struct image *img,
		       const struct dnbd_read_req *r, uint16_t code,
		       const struct dnbd_addr *to)
{
	struct dnbd_error m = {
		.client_id = r->client_id,
		.req_id = r->req_id,
		.echo = r->echo,
		.code = code,
		.offset = r->offset,
		.size = img->size,
	};
	uint8_t buf[DNBD_ERROR_LEN + DNBD_MAC_LEN];

	if (send_dgram(s, s->socks[img->sock].fd, to, buf,
		       dnbd_encode_error(buf, sizeof(buf), s->cfg.id, img->id,
					 &m), sizeof(buf)))
		sc_add(s, SC_errors_sent, 1);
}

static struct image *find_image(struct server *s, struct srv_sock *sk,
				uint64_t id)
{
	unsigned int i;

	for (i = 0; i < s->cfg.n_images; i++) {
		struct image *img = &s->cfg.images[i];

		if (&s->socks[img->sock] == sk && (!id || img->id == id))
			return img;
	}
	return NULL;
}

/* What a HELLO may cost a source (--client-rate): an ANNOUNCE. */
#define HELLO_COST	(DNBD_ANNOUNCE_LEN + DNBD_NAME_MAX + DNBD_MAC_LEN)

static void on_hello(struct server *s, struct srv_sock *sk,
		     const struct dnbd_hdr *h, const uint8_t *buf, size_t len,
		     const struct dnbd_addr *from, uint64_t now)
{
	struct dnbd_hello m;
	enum dnbd_verdict v;
	unsigned int i;
	int hit = -1;

	v = dnbd_decode_hello(buf, len, &m);
	if (v != DNBD_OK) {
		count_verdict(s, v);
		return;
	}
	if (!srcrate_take(&s->srcrate, from, HELLO_COST, now)) {
		sc_add(s, SC_requests_ratelimited, 1);
		return;
	}
	sc_add(s, SC_hellos, 1);
	for (i = 0; i < s->cfg.n_images; i++) {
		struct image *img = &s->cfg.images[i];

		if (&s->socks[img->sock] != sk)
			continue;
		if (h->image_id && h->image_id != img->id)
			continue;
		if (m.name_len && (m.name_len != img->name_len ||
				   memcmp(m.name, img->name, m.name_len)))
			continue;
		if (atomic_load(&img->changed)) {
			/* Say why we are silent, rather than just be. */
			struct dnbd_read_req r = { .client_id = m.client_id,
						   .echo = m.echo };

			send_error(s, img, &r, DNBD_E_CHANGED,
				   s->cfg.multicast ? &img->group : from);
			continue;
		}
		serve_announce(s, img, m.client_id, m.echo,
			       s->cfg.multicast ? &img->group : from);
		if (hit < 0)
			hit = (int)i;
	}
	seen_client(&s->seen, from, hit, SEEN_HELLO, false, 0, now);
}

static unsigned int highest_bit(const uint64_t *mask)
{
	return mask[1] ? 127 - (unsigned int)__builtin_clzll(mask[1]) :
	       63 - (unsigned int)__builtin_clzll(mask[0]);
}

static unsigned int lowest_bit(const uint64_t *mask)
{
	return mask[0] ? (unsigned int)__builtin_ctzll(mask[0]) :
	       64 + (unsigned int)__builtin_ctzll(mask[1]);
}

/* --trace: the bytes a valid READ's mask covers, from its first to its
 * last wanted segment. */
static void trace_rec_fill(struct trace_rec *tr, struct image *img,
			   const struct dnbd_read_req *r,
			   const struct dnbd_addr *from, bool retry,
			   uint64_t now)
{
	uint64_t first = r->offset +
			 (uint64_t)lowest_bit(r->mask) * r->seg_size;
	uint64_t end = r->offset +
		       ((uint64_t)highest_bit(r->mask) + 1) * r->seg_size;

	tr->img = img;
	tr->from = *from;
	tr->at = now;
	tr->offset = first;
	tr->length = (end < img->size ? end : img->size) - first;
	tr->retry = retry;
}

static struct dedup_slot *dedup_slot(struct image *img, uint64_t seg)
{
	return &img->dedup[(seg * 0x9e3779b97f4a7c15ull) >> (64 - DEDUP_BITS)];
}

/*
 * How long a datagram just sent may still be on its way to the readers:
 * the queueing delay they report (rate control's, section 21) and a
 * little more, while the link is what limits the server (the pacer held
 * senders back last period).  Otherwise 0: a queue the link does not
 * make (a busy reader's socket) does not hold lost datagrams, and a
 * retry skipped by mistake costs a timeout, while one sent twice costs
 * only bytes the link has to spare.  0 without --rate-control too.
 */
#define FLIGHT_MARGIN_US	2000u

static uint64_t in_flight_us(const struct server *s)
{
	unsigned int q = s->ratectl.worst_ms > s->ratectl.last_worst_ms ?
			 s->ratectl.worst_ms : s->ratectl.last_worst_ms;

	/* A report of one unit (4 ms, rounded up) is no queue: on a
	 * clean LAN a lost segment is asked for again within a ms. */
	return !s->cfg.rate_control || !s->ratectl.limited ||
	       q <= RC_CLEAN_MS ? 0 :
	       q * 1000ull + FLIGHT_MARGIN_US;
}

/*
 * Drop segments already queued, or multicast less than dedup_us ago (a
 * retry: less than in_flight_us() ago; one of segments known lost: never).
 * The window holds back a READ that crossed another client's burst on the
 * wire; a client that asks again for what was sent for its own READ did
 * not keep it (dnbd.ko's reads share their edge segments), and holding it
 * back would only cost that client a retry.  (A copy of the same READ,
 * duplicated or replayed on the way, is still held back.)
 */
static void dedup(struct server *s, struct image *img,
		  struct dnbd_read_req *r, uint16_t flags, uint64_t now)
{
	bool retry = flags & DNBD_F_RETRY;
	uint64_t flight_us = retry && !(flags & DNBD_F_LOST) ?
			     in_flight_us(s) : 0;
	unsigned int i;

	for (i = 0; i < r->seg_count; i++) {
		uint64_t seg = r->offset / r->seg_size + i, sent;
		struct dedup_slot *d;

		if (!dnbd_mask_test(r->mask, i))
			continue;
		d = dedup_slot(img, seg);
		sent = atomic_load(&d->sent_us);
		/* Queued and not yet sent: it will go out, retry or not.
		 * Sent a moment ago: only a retry (a loss) sends it again,
		 * unless it is still on its way (protocol.md section 21). */
		if (atomic_load(&d->seg) == seg &&
		    d->seg_size == r->seg_size &&
		    (sent == DEDUP_QUEUED ||
		     (now >= sent &&
		      now - sent < (retry ? flight_us :
				    d->client_id == r->client_id &&
				    d->req_id != r->req_id ? 0 :
				    s->cfg.dedup_us)))) {
			r->mask[i / 64] &= ~((uint64_t)1 << (i % 64));
			sc_add(s, SC_duplicates_suppressed, 1);
			continue;
		}
		atomic_store(&d->seg, seg);
		d->seg_size = r->seg_size;
		d->client_id = r->client_id;
		d->req_id = r->req_id;
		atomic_store(&d->sent_us, DEDUP_QUEUED);
	}
}

/* A job that will not run must not leave its slots "queued". */
static void dedup_release(struct image *img, const struct job *j)
{
	uint64_t seg = j->offset / j->seg_size;
	unsigned int i;

	if (j->parity)		/* claimed no segment slots */
		return;
	for (i = 0; i < j->nsegs; i++) {
		struct dedup_slot *d = dedup_slot(img, seg + i);

		if (dnbd_mask_test(j->mask, i) &&
		    atomic_load(&d->seg) == seg + i &&
		    d->seg_size == j->seg_size)
			atomic_store(&d->sent_us, 0);
	}
}

static void enqueue(struct server *s, const struct job *j)
{
	pthread_mutex_lock(&s->qlock);
	if (s->qlen == JOBQ_LEN) {
		pthread_mutex_unlock(&s->qlock);
		sc_add(s, SC_queue_full, 1);	/* the client will retry */
		dedup_release(j->img, j);
		if (j->traced)
			trace_read(&s->trace, &j->tr, j->tr.at);
		return;
	}
	s->queue[(s->qhead + s->qlen++) % JOBQ_LEN] = *j;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
}

/*
 * Parity sent with a burst, in proportion to the worst loss a client of
 * this image reported in the last LOSS_HOLD_US: a quarter more symbols
 * than the segments that loss would take, plus one; none while nobody
 * reports loss (a clean LAN costs nothing), and none for re-requests or
 * bursts under PROACTIVE_MIN_SEGS segments.
 */
#define LOSS_HOLD_US	1000000u
#define PROACTIVE_MIN_SEGS	16

static uint8_t proactive_count(struct image *img, uint8_t loss,
			       unsigned int k, uint64_t now, bool retry)
{
	uint64_t p;

	if (loss >= img->loss || now - img->loss_us > LOSS_HOLD_US) {
		img->loss = loss;
		img->loss_us = now;
	}
	if (!img->loss || retry || k < PROACTIVE_MIN_SEGS)
		return 0;
	p = ((uint64_t)k * img->loss * 5 / 4 + 255) / 256 + 1;
	if (p > k)
		p = k;
	return (uint8_t)(p < PARITY_JOB_MAX ? p : PARITY_JOB_MAX);
}

static void on_read(struct server *s, struct srv_sock *sk,
		    const struct dnbd_hdr *h, const uint8_t *buf, size_t len,
		    const struct dnbd_addr *from, uint64_t now)
{
	struct dnbd_read_req r;
	struct image *img;
	enum dnbd_verdict v;
	struct job j;
	bool retry = h->flags & DNBD_F_RETRY;
	const struct dnbd_addr *to;

	v = dnbd_decode_read(buf, len, &r);
	if (v != DNBD_OK) {
		count_verdict(s, v);
		return;
	}
	img = h->image_id ? find_image(s, sk, h->image_id) : NULL;
	if (!img) {
		sc_add(s, SC_drop_image, 1);
		return;
	}
	if (r.target && r.target != s->cfg.id) {
		sc_add(s, SC_for_other_server, 1);
		return;
	}
	/* Charged for every REPLY it may trigger, before dedup. */
	if (!srcrate_take(&s->srcrate, from, (uint64_t)dnbd_mask_count(r.mask) *
			  (DNBD_REPLY_LEN + r.seg_size + DNBD_MAC_LEN), now)) {
		sc_add(s, SC_requests_ratelimited, 1);
		return;
	}
	if (!s->cfg.rate_control) {
		/* no --rate-control: nothing to follow */
	} else if (h->flags & DNBD_F_QDELAY) {	/* section 21 */
		ratectl_report(&s->ratectl, r.qdelay * 4u);
		sc_add(s, SC_qdelay_reports, 1);
	} else {
		ratectl_unreported(&s->ratectl);
	}
	seen_client(&s->seen, from, (int)(img - s->cfg.images), SEEN_READ,
		    retry, dnbd_mask_count(r.mask), now);
	to = s->cfg.multicast ? &img->group : from;
	sc_add(s, SC_requests, 1);
	atomic_fetch_add_explicit(&img->requests, 1, memory_order_relaxed);
	if (retry) {
		sc_add(s, SC_requests_retry, 1);
		sc_add(s, SC_segments_rerequested, dnbd_mask_count(r.mask));
	}
	if (atomic_load(&img->changed)) {
		send_error(s, img, &r, DNBD_E_CHANGED, to);
		return;
	}
	if (r.seg_size > s->cfg.seg_max) {
		send_error(s, img, &r, DNBD_E_BADREQ, to);
		return;
	}
	/* Every wanted segment must start inside the image. */
	if (r.offset >= img->size ||
	    highest_bit(r.mask) >= (img->size - r.offset + r.seg_size - 1) /
				   r.seg_size) {
		sc_add(s, SC_requests_out_of_range, 1);
		send_error(s, img, &r, DNBD_E_RANGE, to);
		return;
	}
	memset(&j, 0, sizeof(j));
	if (s->trace.f) {
		trace_rec_fill(&j.tr, img, &r, from, retry, now);
		j.traced = true;
	}
	if (s->cfg.multicast)	/* unicast replies reach only one client */
		dedup(s, img, &r, h->flags, now);
	if (!r.mask[0] && !r.mask[1]) {
		if (j.traced)	/* all in flight already: nothing sent */
			trace_read(&s->trace, &j.tr, now);
		return;
	}
	/* Re-requests of holes are small and already a repair: no parity. */
	if (!s->cfg.no_fec)
		j.proactive = proactive_count(img, r.loss,
					      dnbd_mask_count(r.mask), now,
					      retry);
	j.img = img;
	j.dest = *to;
	j.offset = r.offset;
	j.mask[0] = r.mask[0];
	j.mask[1] = r.mask[1];
	j.client_id = r.client_id;
	j.req_id = r.req_id;
	j.echo = r.echo;
	j.seg_size = r.seg_size;
	j.nsegs = r.seg_count;
	enqueue(s, &j);
}

static uint64_t pardedup_key(const struct dnbd_read_req *b, unsigned int j)
{
	uint64_t h = b->offset * 0x9e3779b97f4a7c15ull;

	h = (h ^ b->mask[0] ^ ((uint64_t)b->seg_size << 48)) *
	    0xff51afd7ed558ccdull;
	h = (h ^ b->mask[1] ^ j) * 0xc4ceb9fe1a85ec53ull;
	return (h ^ (h >> 29)) | 1;	/* 0: an empty slot */
}

/*
 * Drop parity indices of this block sent less than dedup_us ago (to a
 * client that overheard the same need), unless this is a retry.
 */
static void pardedup(struct server *s, struct image *img,
		     const struct dnbd_read_req *b, uint64_t *par, bool retry,
		     uint64_t now)
{
	unsigned int j;

	for (j = 0; j < DNBD_PARITY_IDX_MAX; j++) {
		uint64_t key = pardedup_key(b, j);
		struct pardedup_slot *d;

		if (!dnbd_mask_test(par, j))
			continue;
		d = &img->pardedup[key >> (64 - PARDEDUP_BITS)];
		if (!retry && d->key == key && now >= d->sent_us &&
		    now - d->sent_us < s->cfg.dedup_us) {
			par[j / 64] &= ~((uint64_t)1 << (j % 64));
			sc_add(s, SC_parity_suppressed, 1);
			continue;
		}
		d->key = key;
		d->sent_us = now;
	}
}

/*
 * REPAIR: parity symbols for the block its mask names.  Checked like a
 * READ; at most PARITY_JOB_MAX symbols, and never more than the block
 * has segments (more could not help).
 */
static void on_repair(struct server *s, struct srv_sock *sk,
		      const struct dnbd_hdr *h, const uint8_t *buf, size_t len,
		      const struct dnbd_addr *from, uint64_t now)
{
	struct dnbd_repair r;
	struct image *img;
	enum dnbd_verdict v;
	struct job j;
	bool retry = h->flags & DNBD_F_RETRY;
	const struct dnbd_addr *to;
	unsigned int k, n, i;

	v = dnbd_decode_repair(buf, len, &r);
	if (v != DNBD_OK) {
		count_verdict(s, v);
		return;
	}
	img = h->image_id ? find_image(s, sk, h->image_id) : NULL;
	if (!img) {
		sc_add(s, SC_drop_image, 1);
		return;
	}
	if (r.blk.target && r.blk.target != s->cfg.id) {
		sc_add(s, SC_for_other_server, 1);
		return;
	}
	if (s->cfg.no_fec) {
		sc_add(s, SC_drop_type, 1);
		return;
	}
	k = dnbd_mask_count(r.blk.mask);
	n = r.count < k ? r.count : k;
	if (n > PARITY_JOB_MAX)
		n = PARITY_JOB_MAX;
	if (!srcrate_take(&s->srcrate, from, (uint64_t)n *
			  (DNBD_PARITY_LEN + r.blk.seg_size + DNBD_MAC_LEN),
			  now)) {
		sc_add(s, SC_requests_ratelimited, 1);
		return;
	}
	seen_client(&s->seen, from, (int)(img - s->cfg.images), SEEN_REPAIR,
		    retry, 0, now);
	to = s->cfg.multicast ? &img->group : from;
	sc_add(s, SC_repairs, 1);
	if (retry)
		sc_add(s, SC_repairs_retry, 1);
	if (atomic_load(&img->changed)) {
		send_error(s, img, &r.blk, DNBD_E_CHANGED, to);
		return;
	}
	if (r.blk.seg_size != s->cfg.seg_max) {
		send_error(s, img, &r.blk, DNBD_E_BADREQ, to);
		return;
	}
	if (r.blk.offset >= img->size ||
	    highest_bit(r.blk.mask) >= (img->size - r.blk.offset +
					r.blk.seg_size - 1) / r.blk.seg_size) {
		sc_add(s, SC_requests_out_of_range, 1);
		send_error(s, img, &r.blk, DNBD_E_RANGE, to);
		return;
	}
	memset(&j, 0, sizeof(j));
	for (i = r.first; i < (unsigned int)r.first + n; i++)
		j.par[i / 64] |= (uint64_t)1 << (i % 64);
	if (s->cfg.multicast)
		pardedup(s, img, &r.blk, j.par, retry, now);
	if (!j.par[0] && !j.par[1])
		return;
	j.parity = true;
	j.img = img;
	j.dest = *to;
	j.offset = r.blk.offset;
	j.mask[0] = r.blk.mask[0];
	j.mask[1] = r.blk.mask[1];
	j.client_id = r.blk.client_id;
	j.req_id = r.blk.req_id;
	j.echo = r.blk.echo;
	j.seg_size = r.blk.seg_size;
	j.nsegs = r.blk.seg_count;
	enqueue(s, &j);
}

/*
 * A replica multicast this segment: every client on the group has it, so
 * the dedup window covers it here too and replicas do not send it twice.
 */
static void on_peer_reply(struct server *s, struct srv_sock *sk,
			  const struct dnbd_hdr *h, const uint8_t *buf,
			  size_t len, uint64_t now)
{
	struct dnbd_reply m;
	struct dedup_slot *d;
	struct image *img;
	uint64_t seg;

	if (!s->cfg.multicast || h->sender == s->cfg.id ||
	    dnbd_decode_reply(buf, len, &m) != DNBD_OK)
		return;
	img = find_image(s, sk, h->image_id);
	if (!img || !h->image_id || m.offset >= img->size)
		return;
	seg = m.offset / m.seg_size;
	d = dedup_slot(img, seg);
	/* Ours is queued anyway: leave the slot to the worker. */
	if (atomic_load(&d->seg) == seg && d->seg_size == m.seg_size &&
	    atomic_load(&d->sent_us) == DEDUP_QUEUED)
		return;
	atomic_store(&d->seg, seg);
	d->seg_size = m.seg_size;
	d->client_id = m.client_id;
	d->req_id = m.req_id;
	atomic_store(&d->sent_us, now);
}

void serve_datagram(struct server *s, struct srv_sock *sk,
		    const uint8_t *buf, size_t len,
		    const struct dnbd_addr *from, uint64_t now)
{
	struct dnbd_hdr h;
	enum dnbd_verdict v;

	/* With --loop our own replies come back through multicast
	 * loopback (so a client on this host hears us): skip them before
	 * the CRC. */
	if (dnbd_peek_hdr(buf, len, &h) == DNBD_OK && h.sender == s->cfg.id &&
	    (h.type == DNBD_T_REPLY || h.type == DNBD_T_ANNOUNCE ||
	     h.type == DNBD_T_ERROR || h.type == DNBD_T_PARITY)) {
		sc_add(s, SC_own_looped, 1);
		return;
	}
	sc_add(s, SC_datagrams_received, 1);
	v = dnbd_decode_hdr(buf, len, &h);
	if (v == DNBD_OK)	/* from here on, len excludes the tag */
		v = dnbd_auth_check(buf, &len,
				    s->cfg.keyed ? &s->cfg.key : NULL);
	if (v != DNBD_OK) {
		count_verdict(s, v);
		log_debug("dropped datagram from %u.%u.%u.%u: %s", from->ip[0],
			  from->ip[1], from->ip[2], from->ip[3],
			  dnbd_verdict_names[v]);
		return;
	}
	switch (h.type) {
	case DNBD_T_HELLO:
		on_hello(s, sk, &h, buf, len, from, now);
		break;
	case DNBD_T_READ:
		on_read(s, sk, &h, buf, len, from, now);
		break;
	case DNBD_T_REPAIR:
		on_repair(s, sk, &h, buf, len, from, now);
		break;
	case DNBD_T_REPLY:
		seen_replica(&s->seen, h.sender, from, now);
		on_peer_reply(s, sk, &h, buf, len, now);
		break;
	case DNBD_T_ANNOUNCE:
	case DNBD_T_ERROR:
	case DNBD_T_PARITY:
		/* other servers' traffic on the group */
		seen_replica(&s->seen, h.sender, from, now);
		break;
	default:
		sc_add(s, SC_drop_type, 1);
		break;
	}
}

/* ---- workers --------------------------------------------------------- */

/*
 * A job's replies go out as few sends as possible.  With UDP GSO
 * (UDP_SEGMENT) one message carries a train of equal-size datagrams laid
 * out [hdr|data|tag][hdr|data|tag]...: the kernel (or the NIC) cuts it
 * into datagrams at the segment size, so each one is still a whole,
 * self-contained REPLY with its own header, CRC and tag.  Only the last
 * datagram of a train may be shorter.  The iovecs point into the span
 * buffer; data is not copied in user space.  Without GSO every datagram
 * is its own message.  Either way one sendmmsg() carries them all.
 */
#define GSO_SEGS_MAX	64	/* UDP_MAX_SEGMENTS of Linux 6.1 */
#define GSO_BYTES_MAX	65507	/* the payload of one IPv4 datagram */
/* One job's datagrams: its replies and their proactive parity. */
#define DGRAMS_MAX	(DNBD_REQ_SEGS_MAX + PARITY_JOB_MAX)
#define DGRAM_IOVS	3	/* header, data, tag */

struct batch {
	struct mmsghdr msg[DGRAMS_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[DGRAMS_MAX];
	unsigned int msg_first[DGRAMS_MAX];	/* its first datagram */
	unsigned int msg_count[DGRAMS_MAX];	/* datagrams in it */
	struct iovec iov[DGRAMS_MAX * DGRAM_IOVS];
	uint8_t hdr[DGRAMS_MAX][DNBD_PARITY_LEN];	/* or a REPLY's */
	uint8_t *par;		/* PARITY_JOB_MAX symbols, on first use */
	unsigned int npar;	/* of them used */
	bool is_par[DGRAMS_MAX];	/* the datagram is a PARITY */
	uint8_t mac[DGRAMS_MAX][DNBD_MAC_LEN];
	uint16_t len[DGRAMS_MAX];		/* whole datagram */
	struct sockaddr_in sin;
	unsigned int n, nmsg, niov;
	size_t bytes, data_bytes;
	/*
	 * The pacer's slots (pace_reserve): the first reserved bytes may
	 * leave from due on at rate, the rest (parity added after the
	 * REPLYs were stamped) from due2 on at rate2.  Rate 0: unpaced.
	 */
	size_t reserved;
	uint64_t due, rate, due2, rate2;
	/* Byte offset of datagram off_idx: pace_msgs() walks forward. */
	size_t off;
	unsigned int off_idx;
};

/* Is sk allowed a GSO train of datagrams of len bytes? */
static bool gso_allowed(const struct server *s, const struct srv_sock *sk,
			uint16_t len)
{
	return !s->tx_hook && len <= atomic_load(&sk->gso_max);
}

/*
 * Groups datagrams first..b->n-1 into messages, trains where GSO is
 * allowed.  Returns the index of the first new message.
 */
static unsigned int batch_build(struct server *s, struct srv_sock *sk,
				struct batch *b, unsigned int first)
{
	unsigned int start = b->nmsg, i;
	struct msghdr *m = NULL;
	size_t train = 0;

	for (i = first; i < b->n; i++) {
		unsigned int k = b->nmsg - 1;
		uint16_t g = m ? b->len[b->msg_first[k]] : 0;

		if (m && b->msg_count[k] < GSO_SEGS_MAX &&
		    b->len[i] <= g && b->len[i - 1] == g &&
		    train + b->len[i] <= GSO_BYTES_MAX &&
		    gso_allowed(s, sk, g)) {
			b->msg_count[k]++;
			m->msg_iovlen += b->niov;
			train += b->len[i];
			continue;
		}
		k = b->nmsg++;
		m = &b->msg[k].msg_hdr;
		memset(&b->msg[k], 0, sizeof(b->msg[k]));
		m->msg_name = &b->sin;
		m->msg_namelen = sizeof(b->sin);
		m->msg_iov = &b->iov[i * b->niov];
		m->msg_iovlen = b->niov;
		b->msg_first[k] = i;
		b->msg_count[k] = 1;
		train = b->len[i];
	}
	/* A train of one needs no segment size. */
	for (i = start; i < b->nmsg; i++) {
		struct cmsghdr *c;
		uint16_t g = b->len[b->msg_first[i]];

		if (b->msg_count[i] < 2)
			continue;
		m = &b->msg[i].msg_hdr;
		m->msg_control = b->ctl[i].buf;
		m->msg_controllen = sizeof(b->ctl[i].buf);
		c = CMSG_FIRSTHDR(m);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(g));
		memcpy(CMSG_DATA(c), &g, sizeof(g));
	}
	return start;
}

/*
 * The kernel refused a train: EIO when the route's device cannot
 * checksum for us, EMSGSIZE or EINVAL when the segment does not fit the
 * MTU (jumbo segments on a 1500-byte link), EINVAL or ENOPROTOOPT when
 * the kernel has no UDP_SEGMENT (before 4.18).  From
 * now on this socket sends such datagrams one by one.
 */
static void gso_refused(struct server *s, struct srv_sock *sk, uint16_t len,
			int err)
{
	uint16_t max = err == EIO ? 0 : (uint16_t)(len - 1), cur;

	sc_add(s, SC_gso_fallbacks, 1);
	cur = atomic_load(&sk->gso_max);
	while (max < cur && !atomic_compare_exchange_weak(&sk->gso_max, &cur,
							  max))
		;
	if (!atomic_exchange(&sk->gso_logged, true)) {
		char a[ADDR_STRLEN];

		log_info("%s: UDP GSO refused for %u-byte datagrams (%s); "
			 "sending them one by one (sendmmsg)",
			 addr_str(&sk->addr, a), len, strerror(err));
	}
}

/* Reserves the pacer's slot for bytes of a batch (mark: pace_wait()). */
static void batch_reserve(struct server *s, size_t bytes, uint64_t *due,
			  uint64_t *rate, uint64_t *mark)
{
	bool waited;

	*due = pace_reserve(&s->pacer, bytes, now_us(), rate, &waited, mark);
	if (waited)
		sc_add(s, SC_rate_waits, 1);
}

/* When byte x of the batch may leave (the pacer's schedule). */
static uint64_t batch_slot(const struct batch *b, size_t x)
{
	if (x < b->reserved)
		return b->rate ? b->due + x * 1000000u / b->rate : b->due;
	x -= b->reserved;
	return b->rate2 ? b->due2 + x * 1000000u / b->rate2 : b->due2;
}

/*
 * Waits for the slot of the messages from..., as many as one of the
 * pacer's bursts holds (at least one): a paced server sends a job in
 * bursts on its schedule, not at line rate into a slower link's queue.
 * Returns the end of those messages.
 */
static unsigned int pace_msgs(struct batch *b, unsigned int from)
{
	size_t off, bytes = 0, more;
	uint64_t chunk, slot, now;
	unsigned int i, k;

	/* Messages go out in order, and a GSO rebuild restarts at the
	 * datagram it stopped at: the offset only moves forward. */
	while (b->off_idx < b->msg_first[from])
		b->off += b->len[b->off_idx++];
	off = b->off;
	chunk = pace_chunk(off < b->reserved ? b->rate : b->rate2);
	i = from;
	do {
		for (more = 0, k = 0; k < b->msg_count[i]; k++)
			more += b->len[b->msg_first[i] + k];
		if (i > from && bytes + more > chunk)
			break;
		bytes += more;
	} while (++i < b->nmsg);
	slot = batch_slot(b, off);
	now = now_us();
	if (slot > now)
		sleep_us(slot - now);
	return i;
}

static void batch_flush(struct server *s, struct image *img,
			struct srv_sock *sk, struct batch *b)
{
	unsigned int done, paid, i;
	uint64_t mark;
	int n;

	if (!b->n)
		return;
	b->nmsg = 0;
	if (b->bytes > b->reserved)
		batch_reserve(s, b->bytes - b->reserved, &b->due2, &b->rate2,
			      &mark);
	b->off = 0;
	b->off_idx = 0;
	done = paid = batch_build(s, sk, b, 0);
	while (done < b->nmsg) {
		if (done >= paid)
			paid = pace_msgs(b, done);
		if (s->tx_hook) {	/* the fuzzers: one message at a time */
			s->tx_hook(s, sk->fd, &b->msg[done].msg_hdr);
			n = 1;
		} else {
			n = sendmmsg(sk->fd, b->msg + done, paid - done, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && b->msg_count[done] > 1 &&
			    (errno == EIO || errno == EINVAL ||
			     errno == EMSGSIZE || errno == ENOPROTOOPT ||
			     errno == EOPNOTSUPP)) {
				gso_refused(s, sk, b->len[b->msg_first[done]],
					    errno);
				b->nmsg = done;
				done = paid = batch_build(s, sk, b,
							  b->msg_first[done]);
				continue;
			}
			if (n <= 0) {
				for (i = done; i < b->nmsg; i++)
					sc_add(s, SC_send_errors,
					       b->msg_count[i]);
				break;
			}
			sc_add(s, SC_sends, 1);
		}
		for (i = done; i < done + (unsigned int)n; i++) {
			if (b->msg_count[i] > 1)
				sc_add(s, SC_gso_sends, 1);
			if (b->is_par[b->msg_first[i]]) {
				sc_add(s, SC_parity_sent, b->msg_count[i]);
				continue;
			}
			sc_add(s, SC_segments_sent, b->msg_count[i]);
			atomic_fetch_add_explicit(&img->segments_sent,
						  b->msg_count[i],
						  memory_order_relaxed);
		}
		done += (unsigned int)n;
	}
	sc_add(s, SC_bytes_sent, b->bytes);
	sc_add(s, SC_data_bytes_sent, b->data_bytes);
	atomic_fetch_add_explicit(&img->data_bytes_sent, b->data_bytes,
				  memory_order_relaxed);
	memset(b->is_par, 0, b->n * sizeof(b->is_par[0]));
	b->n = b->nmsg = b->npar = 0;
	b->bytes = b->data_bytes = b->reserved = 0;
}

static void image_changed(struct server *s, struct image *img, uint64_t size)
{
	if (atomic_exchange(&img->changed, true))
		return;
	sc_add(s, SC_image_changed, 1);
	log_err("image %s changed size under the server (%" PRIu64 " -> %"
		PRIu64 " bytes): no longer served; restart dnbd-server to "
		"export the new content", img->name, img->size, size);
}

/* The segments are on the wire: the dedup window starts now. */
static void stamp_sent(struct image *img, const struct job *j,
		       unsigned int first, unsigned int last)
{
	uint64_t now = now_us(), seg = j->offset / j->seg_size;
	unsigned int i;

	for (i = first; i <= last; i++) {
		struct dedup_slot *d = dedup_slot(img, seg + i);

		if (dnbd_mask_test(j->mask, i) &&
		    atomic_load(&d->seg) == seg + i &&
		    d->seg_size == j->seg_size)
			atomic_store(&d->sent_us, now);
	}
}

/*
 * Reads the job's segments, from its first to its last, into span:
 * *first is the first segment, [*start, *end) the bytes.  If the image
 * cannot give them all, answers with ERROR (CHANGED for a short read: the
 * file shrank; IO otherwise), frees the job's dedup slots (nothing went
 * out) and returns false.
 */
static bool job_read(struct server *s, const struct job *j, uint8_t *span,
		     unsigned int *first, uint64_t *start, uint64_t *end)
{
	struct image *img = j->img;
	struct dnbd_read_req r = {
		.client_id = j->client_id, .req_id = j->req_id,
		.echo = j->echo, .offset = j->offset,
	};
	unsigned int last = highest_bit(j->mask);
	uint64_t size = 0;
	ssize_t got;

	*first = 0;
	while (!dnbd_mask_test(j->mask, *first))
		(*first)++;
	*start = j->offset + (uint64_t)*first * j->seg_size;
	*end = j->offset + (uint64_t)(last + 1) * j->seg_size;
	if (*end > img->size)
		*end = img->size;
	got = image_read(img, *start, span, (size_t)(*end - *start));
	if (got == (ssize_t)(*end - *start))
		return true;
	dedup_release(img, j);
	if (got >= 0) {
		image_size_now(img, &size);
		image_changed(s, img, size);
		send_error(s, img, &r, DNBD_E_CHANGED, &j->dest);
	} else {
		sc_add(s, SC_io_errors, 1);
		send_error(s, img, &r, DNBD_E_IO, &j->dest);
	}
	return false;
}

/*
 * The block of mask (from segment 0 at offset), read into span from its
 * first segment (start): data pointers in block order, the last segment
 * padded with zeros to seg_size for the code, and the block's CRC32C over
 * the segments as they are.  Returns the number of segments.
 */
static unsigned int block_prepare(const struct image *img, const uint64_t *mask,
				  uint64_t offset, uint16_t seg_size,
				  uint8_t *span, uint64_t start,
				  const uint8_t **data, uint32_t *crc)
{
	unsigned int last = highest_bit(mask), i, k = 0;
	uint64_t span_end = offset + (uint64_t)(last + 1) * seg_size;
	uint64_t end = span_end < img->size ? span_end : img->size;

	memset(span + (end - start), 0, (size_t)(span_end - end));
	*crc = 0;
	for (i = 0; i <= last; i++) {
		uint64_t off = offset + (uint64_t)i * seg_size;

		if (!dnbd_mask_test(mask, i))
			continue;
		data[k++] = span + (off - start);
		*crc = dnbd_crc32c(*crc, span + (off - start),
				   (size_t)(end - off < seg_size ?
					    end - off : seg_size));
	}
	return k;
}

/* Appends PARITY symbol m->index of the k-segment block data to b. */
static bool batch_add_parity(struct server *s, const struct image *img,
			     struct batch *b, struct dnbd_parity *m,
			     unsigned int k, const uint8_t *const *data)
{
	size_t seg = m->seg_size, mac = s->cfg.keyed ? DNBD_MAC_LEN : 0;
	unsigned int n = b->n;
	struct iovec *iov = &b->iov[n * b->niov];
	uint8_t *sym;

	if (!b->par)
		b->par = malloc((size_t)PARITY_JOB_MAX * DNBD_SEG_MAX);
	if (!b->par || b->npar == PARITY_JOB_MAX || n == DGRAMS_MAX) {
		if (!b->par)
			log_err("parity: out of memory");
		return false;		/* the client asks again */
	}
	sym = b->par + (size_t)b->npar++ * seg;
	dnbd_fec_encode(k, data, seg, m->index, sym);
	dnbd_encode_parity_hdr(b->hdr[n], DNBD_PARITY_LEN + seg, s->cfg.id,
			       img->id, m);
	if (s->cfg.keyed)
		dnbd_auth_seal_split(b->hdr[n], DNBD_PARITY_LEN, sym, seg,
				     b->mac[n], &s->cfg.key);
	else
		dnbd_seal_split(b->hdr[n], DNBD_PARITY_LEN, sym, seg);
	iov[0].iov_base = b->hdr[n];
	iov[0].iov_len = DNBD_PARITY_LEN;
	iov[1].iov_base = sym;
	iov[1].iov_len = seg;
	if (mac) {
		iov[2].iov_base = b->mac[n];
		iov[2].iov_len = DNBD_MAC_LEN;
	}
	b->len[n] = (uint16_t)(DNBD_PARITY_LEN + seg + mac);
	b->is_par[n] = true;
	b->n++;
	b->bytes += b->len[n];
	return true;
}

/*
 * Proactive parity (protocol.md section 20): j->proactive symbols of the
 * burst's own block (the segments it sends), after its data; the LAST
 * REPLY said they follow.
 */
static void add_proactive(struct server *s, const struct job *j, uint8_t *span,
			  uint64_t start, struct batch *b)
{
	const uint8_t *data[DNBD_FEC_MAX_DATA];
	struct dnbd_parity m = {
		.seg_size = j->seg_size, .offset = j->offset,
		.mask = { j->mask[0], j->mask[1] },
	};
	unsigned int k, i;

	k = block_prepare(j->img, j->mask, j->offset, j->seg_size, span, start,
			  data, &m.block_crc);
	for (i = 0; i < j->proactive; i++) {
		m.index = (uint8_t)i;
		if (!batch_add_parity(s, j->img, b, &m, k, data))
			break;
		sc_add(s, SC_parity_proactive, 1);
	}
}

/*
 * A REPLY's stamp: the server's clock in ms when the pacer lets it go,
 * ahead bytes after the burst's start at due; never 0 (no stamp).
 */
static uint16_t reply_stamp(uint64_t slot)
{
	uint16_t ms = (uint16_t)(slot / 1000u);

	return ms ? ms : 1;
}

/* The data of a job's segment i (the image's last one may be short). */
static uint16_t job_seg_len(const struct job *j, unsigned int i, uint64_t end)
{
	uint64_t off = j->offset + (uint64_t)i * j->seg_size;

	return (uint16_t)(end - off < j->seg_size ? end - off : j->seg_size);
}

/* A REPLY datagram carrying data_len bytes. */
static uint16_t reply_len(const struct server *s, uint16_t data_len)
{
	return (uint16_t)(DNBD_REPLY_LEN + data_len +
			  (s->cfg.keyed ? DNBD_MAC_LEN : 0));
}

/* The bytes of a job's REPLYs, segments first..last of its mask. */
static size_t job_reply_bytes(const struct server *s, const struct job *j,
			      unsigned int first, unsigned int last,
			      uint64_t end)
{
	size_t bytes = 0;
	unsigned int i;

	for (i = first; i <= last; i++)
		if (dnbd_mask_test(j->mask, i))
			bytes += reply_len(s, job_seg_len(j, i, end));
	return bytes;
}

static void run_job(struct server *s, const struct job *j, uint8_t *span,
		    struct batch *b)
{
	struct image *img = j->img;
	struct srv_sock *sk = &s->socks[img->sock];
	unsigned int first, last = highest_bit(j->mask), i;
	uint64_t start, end, mark;

	if (!job_read(s, j, span, &first, &start, &end))
		return;
	/* The REPLYs' slot on the pacer's schedule: their stamps say when
	 * each one leaves (protocol.md section 21). */
	b->reserved = job_reply_bytes(s, j, first, last, end);
	batch_reserve(s, b->reserved, &b->due, &b->rate, &mark);
	if (b->rate) {
		/* Stamped when the slot comes, at the rate then: a worker
		 * that wakes late (a busy CPU) starts its schedule then, so
		 * the stamps still say when the REPLYs leave. */
		b->rate = pace_wait(&s->pacer, mark);
		b->due = now_us();
	}
	addr_to_sin(&j->dest, &b->sin);
	b->niov = s->cfg.keyed ? 3 : 2;
	for (i = first; i <= last; i++) {
		struct dnbd_reply m;
		uint64_t off = j->offset + (uint64_t)i * j->seg_size;
		unsigned int k = b->n;
		struct iovec *iov = &b->iov[k * b->niov];

		if (!dnbd_mask_test(j->mask, i))
			continue;
		m.client_id = j->client_id;
		m.req_id = j->req_id;
		m.echo = j->echo;
		m.seg_size = j->seg_size;
		m.stamp = reply_stamp(batch_slot(b, b->bytes));
		m.offset = off;
		m.data_len = job_seg_len(j, i, end);
		dnbd_encode_reply_hdr(b->hdr[k], DNBD_REPLY_LEN + m.data_len,
				      i != last ? 0 : j->proactive ?
				      DNBD_F_LAST | DNBD_F_PARITY : DNBD_F_LAST,
				      s->cfg.id, img->id, &m);
		if (s->cfg.keyed)
			dnbd_auth_seal_split(b->hdr[k], DNBD_REPLY_LEN,
					     span + (off - start), m.data_len,
					     b->mac[k], &s->cfg.key);
		else
			dnbd_seal_split(b->hdr[k], DNBD_REPLY_LEN,
					span + (off - start), m.data_len);
		iov[0].iov_base = b->hdr[k];
		iov[0].iov_len = DNBD_REPLY_LEN;
		iov[1].iov_base = span + (off - start);
		iov[1].iov_len = m.data_len;
		if (s->cfg.keyed) {
			iov[2].iov_base = b->mac[k];
			iov[2].iov_len = DNBD_MAC_LEN;
		}
		b->len[k] = reply_len(s, m.data_len);
		b->n++;
		b->bytes += b->len[k];
		b->data_bytes += m.data_len;
	}
	if (j->proactive)
		add_proactive(s, j, span, start, b);
	batch_flush(s, img, sk, b);
	if (s->cfg.multicast)
		stamp_sent(img, j, first, last);
}

/*
 * A parity job (REPAIR): the block's segments are read as for a READ and
 * each wanted parity symbol is computed over them (dnbd_fec.h) and sent
 * like a burst of REPLYs.  Every PARITY carries the block's CRC32C, so
 * that a client can check what it rebuilds.
 */
static void run_parity(struct server *s, const struct job *j, uint8_t *span,
		       struct batch *b)
{
	struct image *img = j->img;
	struct srv_sock *sk = &s->socks[img->sock];
	const uint8_t *data[DNBD_FEC_MAX_DATA];
	struct dnbd_parity m = {
		.seg_size = j->seg_size, .offset = j->offset,
		.mask = { j->mask[0], j->mask[1] },
	};
	unsigned int first, i, k;
	uint64_t start, end;

	if (!job_read(s, j, span, &first, &start, &end))
		return;
	k = block_prepare(img, j->mask, j->offset, j->seg_size, span, start,
			  data, &m.block_crc);
	addr_to_sin(&j->dest, &b->sin);
	b->niov = s->cfg.keyed ? 3 : 2;
	for (i = 0; i < DNBD_PARITY_IDX_MAX; i++) {
		if (!dnbd_mask_test(j->par, i))
			continue;
		m.index = (uint8_t)i;
		if (!batch_add_parity(s, img, b, &m, k, data))
			break;
	}
	batch_flush(s, img, sk, b);
}

/* One job from the queue, by a worker or serve_run_queued(); then its
 * --trace line, now that its last REPLY is out. */
static void run_queued(struct server *s, const struct job *j, uint8_t *span,
		       struct batch *b)
{
	if (j->parity)
		run_parity(s, j, span, b);
	else
		run_job(s, j, span, b);
	if (j->traced)
		trace_read(&s->trace, &j->tr, now_us());
}

static void *worker(void *arg)
{
	struct server *s = arg;
	struct batch *b = calloc(1, sizeof(*b));
	uint8_t *span = malloc(SPAN_MAX);
	struct job j;

	if (!b || !span) {
		log_err("worker: out of memory");
		free(b);
		free(span);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (!s->qlen && !s->stopping)
			pthread_cond_wait(&s->qcond, &s->qlock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->qlock);
			break;
		}
		j = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % JOBQ_LEN;
		s->qlen--;
		pthread_mutex_unlock(&s->qlock);
		run_queued(s, &j, span, b);
	}
	free(b->par);
	free(b);
	free(span);
	return NULL;
}

void serve_run_queued(struct server *s, uint8_t *span)
{
	struct batch b;
	struct job j;

	memset(&b, 0, sizeof(b));
	while (s->qlen) {
		j = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % JOBQ_LEN;
		s->qlen--;
		run_queued(s, &j, span, &b);
	}
	free(b.par);
}

int serve_start_workers(struct server *s)
{
	unsigned int i;
	int err;

	s->queue = calloc(JOBQ_LEN, sizeof(*s->queue));
	s->workers = calloc(s->cfg.threads, sizeof(*s->workers));
	if (!s->queue || !s->workers)
		return -ENOMEM;
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	for (i = 0; i < s->cfg.threads; i++) {
		err = pthread_create(&s->workers[i], NULL, worker, s);
		if (err) {
			s->cfg.threads = i;
			return -err;
		}
	}
	return 0;
}

void serve_stop_workers(struct server *s)
{
	unsigned int i;

	if (!s->workers)
		return;
	pthread_mutex_lock(&s->qlock);
	s->stopping = true;
	pthread_cond_broadcast(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	for (i = 0; i < s->cfg.threads; i++)
		pthread_join(s->workers[i], NULL);
	free(s->workers);
	free(s->queue);
	s->workers = NULL;
}
