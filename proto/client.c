// SPDX-License-Identifier: GPL-2.0
/*
 * client.c - the dnbd client protocol core (see dnbd_client.h and
 * docs/architecture.md).
 */
#include "dnbd_client.h"
#include "dnbd_fec.h"

#define DNBD_CC_NAME(name) #name,
const char *const dnbd_client_counter_names[DNBD_CC_MAX] = {
	DNBD_CLIENT_COUNTERS(DNBD_CC_NAME)
};
#undef DNBD_CC_NAME

#define RTT_SAMPLE_MAX_US	10000000u	/* older echoes are garbage */
#define SRTT_DEFAULT_US		1000u
#define DOWN_AFTER_TIMEOUTS	2
#define DOWN_AFTER_HELLOS	3		/* silent hello intervals */
#define BACKOFF_SHIFT_MAX	8
/*
 * A burst that stops short: once the burst answering a read's own
 * request flows, the read's deadline is STALL_GAPS mean gaps between its
 * segments after the last one, at least STALL_MIN_US and a quarter of
 * the RTO, at most the RTO.  Then the holes it asked for are asked again
 * without waiting for the RTO, and without backing off: a lost LAST or
 * tail is loss, not congestion of the server.  Only the read's own
 * burst: segments from other clients' bursts come whenever the server
 * gets to them, and gaps between them say nothing about loss.
 */
#define STALL_GAPS		16
#define STALL_MIN_US		1000u

/* Read flags for dispatch(). */
#define TX_RETRY	1	/* retransmission: avoid the last server if silent */
#define TX_NOSUPPRESS	2	/* we waited on another client's request */
#define TX_HOLES	4	/* only what the last request asked for */
#define TX_STALL	8	/* avoid the server if it went silent */
#define TX_LOST		16	/* their burst ended without them: lost */
/* Either way the datagram carries DNBD_F_RETRY: the segments may have been
 * multicast a moment ago (and missed), so the server's dedup window must
 * not swallow this request.  TX_LOST adds DNBD_F_LOST: the burst's LAST
 * came without them, so they are not still on their way (section 21). */

static void count(struct dnbd_client *c, enum dnbd_client_counter i,
		  uint64_t n)
{
	c->counters[i] += n;
}

static void count_verdict(struct dnbd_client *c, enum dnbd_verdict v)
{
	static const enum dnbd_client_counter map[DNBD_VERDICT_MAX] = {
		[DNBD_BAD_SHORT] = DNBD_CC_drop_short,
		[DNBD_BAD_MAGIC] = DNBD_CC_drop_magic,
		[DNBD_BAD_VERSION] = DNBD_CC_drop_version,
		[DNBD_BAD_LENGTH] = DNBD_CC_drop_length,
		[DNBD_BAD_CRC] = DNBD_CC_crc_failures,
		[DNBD_BAD_TYPE] = DNBD_CC_drop_type,
		[DNBD_BAD_FIELD] = DNBD_CC_drop_field,
		[DNBD_BAD_NOMAC] = DNBD_CC_auth_missing,
		[DNBD_BAD_MAC] = DNBD_CC_auth_failures,
		[DNBD_BAD_KEYED] = DNBD_CC_auth_unexpected,
	};

	if (v > DNBD_OK && v < DNBD_VERDICT_MAX)
		count(c, map[v], 1);
}

/* ---- pending list ---------------------------------------------------- */

static void pending_add(struct dnbd_client *c, struct dnbd_read *r)
{
	r->next = &c->pending;
	r->prev = c->pending.prev;
	c->pending.prev->next = r;
	c->pending.prev = r;
	c->n_pending++;
}

static void pending_del(struct dnbd_client *c, struct dnbd_read *r)
{
	r->prev->next = r->next;
	r->next->prev = r->prev;
	r->next = r->prev = NULL;
	c->n_pending--;
}

static void fec_free(struct dnbd_client *c, struct dnbd_read *r);

static void finish(struct dnbd_client *c, struct dnbd_read *r, int err)
{
	if (r->next)
		pending_del(c, r);
	fec_free(c, r);
	count(c, err ? DNBD_CC_reads_failed : DNBD_CC_reads_completed, 1);
	c->env.read_done(c->env.ctx, r, err);
}

/* The mask of segments 0..n-1. */
static void mask_first(uint64_t *m, unsigned int n)
{
	m[0] = n >= 64 ? ~0ull : (((uint64_t)1 << n) - 1);
	m[1] = n <= 64 ? 0 : n >= 128 ? ~0ull : (((uint64_t)1 << (n - 64)) - 1);
}

static bool read_complete(const struct dnbd_read *r)
{
	uint64_t full[2];

	mask_first(full, r->nsegs);
	return r->have[0] == full[0] && r->have[1] == full[1];
}

/* Copy segment seg (len bytes of data) into the part of r it overlaps. */
static void read_fill(const struct dnbd_client *c, struct dnbd_read *r,
		      uint64_t seg, const uint8_t *data, uint16_t len)
{
	uint64_t seg_start = seg * c->image.seg_max;
	uint64_t from = seg_start > r->offset ? seg_start : r->offset;
	uint64_t seg_end = seg_start + len;
	uint64_t r_end = r->offset + r->length;
	uint64_t to = seg_end < r_end ? seg_end : r_end;

	if (to > from)
		memcpy(r->buf + (from - r->offset), data + (from - seg_start),
		       (size_t)(to - from));
	dnbd_mask_set(r->have, (unsigned int)(seg - r->seg0));
}

/* ---- servers --------------------------------------------------------- */

static uint32_t srv_rto(const struct dnbd_client *c,
			const struct dnbd_server *s)
{
	uint64_t rto;

	if (!s)
		return c->cfg.rto_min_us * 4 > c->cfg.rto_max_us ?
		       c->cfg.rto_max_us : c->cfg.rto_min_us * 4;
	rto = (uint64_t)s->srtt_us + 4ull * s->rttvar_us;
	if (rto < c->cfg.rto_min_us)
		rto = c->cfg.rto_min_us;
	if (rto > c->cfg.rto_max_us)
		rto = c->cfg.rto_max_us;
	return (uint32_t)rto;
}

/*
 * Weight ~ 1/srtt, rounded to a power of two: replicas whose SRTTs are in
 * the same octave weigh the same, so clients with slightly different
 * measurements still map a region to the same server (see srv_pick()),
 * while a replica twice as slow gets half the regions.
 */
static void srv_weigh(struct dnbd_server *s)
{
	uint32_t srtt = s->srtt_us ? s->srtt_us : 1;
	unsigned int octave = 0;

	while (octave < 24 && (srtt >> (octave + 1)))
		octave++;
	s->weight = s->state == DNBD_SRV_UP ? 1u << (24 - octave) : 0;
}

/* RFC 6298 smoothing, in microseconds. */
static void srv_rtt_sample(struct dnbd_server *s, uint32_t rtt)
{
	if (rtt > RTT_SAMPLE_MAX_US)
		return;
	if (!rtt)
		rtt = 1;
	if (!s->sampled) {
		s->srtt_us = rtt;
		s->rttvar_us = rtt / 2;
		s->sampled = true;
	} else {
		uint32_t dev = s->srtt_us > rtt ? s->srtt_us - rtt :
			       rtt - s->srtt_us;

		s->rttvar_us = s->rttvar_us - s->rttvar_us / 4 + dev / 4;
		s->srtt_us = s->srtt_us - s->srtt_us / 8 + rtt / 8;
		if (!s->srtt_us)
			s->srtt_us = 1;
	}
	srv_weigh(s);
}

static struct dnbd_server *srv_find(struct dnbd_client *c, uint16_t id,
				    uint64_t image_id)
{
	unsigned int i;

	for (i = 0; i < DNBD_MAX_SERVERS; i++) {
		struct dnbd_server *s = &c->servers[i];

		if (s->state != DNBD_SRV_EMPTY && s->id == id &&
		    s->image_id == image_id)
			return s;
	}
	return NULL;
}

static void srv_set_state(struct dnbd_client *c, struct dnbd_server *s,
			  uint8_t state)
{
	uint8_t old = s->state;

	s->state = state;
	srv_weigh(s);
	if (old == state || !c->selected || s->image_id != c->image.id)
		return;
	if (state == DNBD_SRV_DOWN)
		count(c, DNBD_CC_failovers, 1);
	if (c->env.server_event)
		c->env.server_event(c->env.ctx, s->id, state == DNBD_SRV_UP);
}

static struct dnbd_server *srv_add(struct dnbd_client *c, uint16_t id,
				   uint64_t image_id)
{
	unsigned int i;

	for (i = 0; i < DNBD_MAX_SERVERS; i++) {
		struct dnbd_server *s = &c->servers[i];

		if (s->state != DNBD_SRV_EMPTY)
			continue;
		memset(s, 0, sizeof(*s));
		s->id = id;
		s->image_id = image_id;
		s->srtt_us = SRTT_DEFAULT_US;
		s->rttvar_us = SRTT_DEFAULT_US / 2;
		s->state = DNBD_SRV_DOWN;
		return s;
	}
	return NULL;
}

/*
 * The server for a transmission.  The choice is weighted by 1/srtt, but
 * not random: the request's 64 KiB region is hashed onto the cumulative
 * weights of the servers ordered by id.  Clients with similar views of
 * the servers thus send concurrent requests for the same region to the
 * same replica, whose queue merges them, while different regions spread
 * over the replicas in proportion to their weights.
 */
#define REGION_SHIFT	16

static uint32_t region_hash(uint64_t offset)
{
	uint64_t h = (offset >> REGION_SHIFT) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) ^ (uint32_t)(h >> 7);
}

/* s is up and serves the selected image on its grid. */
static bool srv_usable(const struct dnbd_client *c,
		       const struct dnbd_server *s)
{
	return s->state == DNBD_SRV_UP && s->image_id == c->image.id &&
	       s->seg_max >= c->image.seg_max;
}

static struct dnbd_server *srv_pick(struct dnbd_client *c, uint16_t avoid,
				    uint64_t offset)
{
	struct dnbd_server *s, *cand[DNBD_MAX_SERVERS];
	unsigned int i, j, n = 0;
	uint32_t sum = 0, pick;
	bool shun = true;

again:
	for (i = 0; i < DNBD_MAX_SERVERS; i++) {
		s = &c->servers[i];
		if (!srv_usable(c, s) || (s->id == avoid && avoid) ||
		    (s->suspect && shun))
			continue;
		/* Insertion sort by id: every client orders them alike. */
		for (j = n++; j > 0 && cand[j - 1]->id > s->id; j--)
			cand[j] = cand[j - 1];
		cand[j] = s;
	}
	if (!n && shun) {
		shun = false;		/* only suspects are left */
		goto again;
	}
	if (!n && avoid) {
		avoid = 0;		/* only the silent one is left */
		goto again;
	}
	if (!n)
		return NULL;
	for (i = 0; i < n; i++)
		sum += cand[i]->weight;
	pick = region_hash(offset) % sum;
	for (i = 0; i < n - 1; i++) {
		if (pick < cand[i]->weight)
			break;
		pick -= cand[i]->weight;
	}
	return cand[i];
}

unsigned int dnbd_client_servers_up(const struct dnbd_client *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < DNBD_MAX_SERVERS; i++)
		if (c->servers[i].state == DNBD_SRV_UP &&
		    c->selected && c->servers[i].image_id == c->image.id)
			n++;
	return n;
}

/* ---- transmit -------------------------------------------------------- */

static void send_to(struct dnbd_client *c, const struct dnbd_addr *to,
		    size_t len)
{
	if (len && c->cfg.keyed)
		len = dnbd_auth_seal(c->txbuf, len, sizeof(c->txbuf),
				     &c->cfg.key);
	if (len)
		c->env.send(c->env.ctx, to, c->txbuf, len);
}

/*
 * Clear from want (r's segments) those that another request, covering
 * nsegs segments from seg0, names in mask.  Only the two ranges' overlap
 * is walked.  True if any was cleared.
 */
static bool drop_asked(const struct dnbd_read *r, uint64_t *want,
		       uint64_t seg0, unsigned int nsegs, const uint64_t *mask)
{
	uint64_t lo = r->seg0 > seg0 ? r->seg0 : seg0;
	uint64_t hi = r->seg0 + r->nsegs < seg0 + nsegs ?
		      r->seg0 + r->nsegs : seg0 + nsegs;
	bool dropped = false;
	uint64_t seg;

	for (seg = lo; seg < hi; seg++) {
		unsigned int j = (unsigned int)(seg - r->seg0);

		if (dnbd_mask_test(want, j) &&
		    dnbd_mask_test(mask, (unsigned int)(seg - seg0))) {
			want[j / 64] &= ~((uint64_t)1 << (j % 64));
			dropped = true;
		}
	}
	return dropped;
}

/* Remove from want the segments a recent foreign request already asks. */
static void subtract_foreign(struct dnbd_client *c, struct dnbd_read *r,
			     uint64_t *want, uint64_t now, uint32_t window)
{
	unsigned int i;

	for (i = 0; i < DNBD_FOREIGN_SLOTS; i++) {
		struct dnbd_foreign *f = &c->foreign[i];

		if (!f->nsegs || now - f->seen_us > window ||
		    !drop_asked(r, want, f->seg0, f->nsegs, f->mask))
			continue;
		r->wait_client = f->client_id;
		r->wait_req = f->req_id;
		r->shared = true;
	}
}

/*
 * Remove from want the segments another read of ours has asked for and
 * not yet received: its burst fills r too (on_reply fills every pending
 * read a segment belongs to).  dnbd.ko's reads are whole segments, so the
 * reads of two adjacent pages share one; asked twice, the second copy is
 * the server's to send again (a new READ of the client it sent it for),
 * and the datagram crosses the first on the way.
 */
static void subtract_own(struct dnbd_client *c, struct dnbd_read *r,
			 uint64_t *want)
{
	const struct dnbd_read *q;

	for (q = c->pending.next; q != &c->pending; q = q->next) {
		uint64_t awaited[2] = { q->asked[0] & ~q->have[0],
					q->asked[1] & ~q->have[1] };

		if (q != r)
			drop_asked(r, want, q->seg0, q->nsegs, awaited);
	}
}

/*
 * The server a retry should avoid: the one asked last, if nothing came
 * from it since.  A server that is sending is busy, not gone; asking it
 * again lets its dedup window absorb the retry.
 */
static uint16_t silent_server(struct dnbd_client *c, const struct dnbd_read *r)
{
	struct dnbd_server *s;

	if (!r->server)
		return 0;
	s = srv_find(c, r->server, c->image.id);
	return s && s->last_rx_us > r->sent_us ? 0 : r->server;
}

/* The server a stalled burst should avoid: the one that sent it, if it
 * has sent nothing since (to anyone): it may be gone. */
static uint16_t stalled_server(struct dnbd_client *c,
			       const struct dnbd_read *r)
{
	struct dnbd_server *s;

	if (!r->server)
		return 0;
	s = srv_find(c, r->server, c->image.id);
	return s && s->last_rx_us > r->rx_last_us ? 0 : r->server;
}

static bool fec_request(struct dnbd_client *c, struct dnbd_read *r,
			struct dnbd_server *s, const uint64_t *want,
			uint64_t now);

static uint8_t qdelay_report(const struct dnbd_client *c, uint64_t now);

/* Sends the READ for r's missing segments; false if nothing was sent. */
static bool dispatch(struct dnbd_client *c, struct dnbd_read *r, uint64_t now,
		     unsigned int how)
{
	struct dnbd_read_req m;
	struct dnbd_server *s;
	uint64_t want[2];
	unsigned int shift, nwant;

	want[0] = ~r->have[0];
	want[1] = ~r->have[1];
	if (r->nsegs < 64) {
		want[0] &= ((uint64_t)1 << r->nsegs) - 1;
		want[1] = 0;
	} else if (r->nsegs < 128) {
		want[1] &= ((uint64_t)1 << (r->nsegs - 64)) - 1;
	}
	if (how & TX_HOLES) {
		want[0] &= r->asked[0];
		want[1] &= r->asked[1];
		if (!want[0] && !want[1])
			return false;	/* the rest: another client's request */
	}
	s = srv_pick(c, (how & TX_STALL) ? stalled_server(c, r) :
		     (how & TX_RETRY) ? silent_server(c, r) : 0, r->offset);
	r->rto_us = srv_rto(c, s);
	if (!(how & TX_HOLES))		/* holes: still waiting on it */
		r->wait_client = 0;
	if (!(how & (TX_RETRY | TX_NOSUPPRESS))) {
		subtract_foreign(c, r, want, now, r->rto_us);
		if (!want[0] && !want[1]) {
			count(c, DNBD_CC_requests_suppressed, 1);
			r->deadline_us = now + r->rto_us;
			return false;
		}
	}
	subtract_own(c, r, want);
	if (!want[0] && !want[1]) {	/* all on their way to us */
		r->deadline_us = now + r->rto_us;
		return false;
	}
	nwant = dnbd_mask_count(want);
	r->tries++;
	r->req_id = ++c->next_req;
	r->sent_us = now;
	r->server = s ? s->id : 0;
	r->rx_n = 0;
	/* Back off for timeouts only, not for holes asked again. */
	shift = r->backoff < BACKOFF_SHIFT_MAX ? r->backoff :
		BACKOFF_SHIFT_MAX;
	if (((uint64_t)r->rto_us << shift) > c->cfg.rto_max_us)
		r->rto_us = c->cfg.rto_max_us;
	else
		r->rto_us <<= shift;
	r->deadline_us = now + r->rto_us;
	/* Holes: lost in a burst, or missed while overheard (a read that
	 * found the rest in the cache).  Parity repairs them. */
	if (((how & (TX_RETRY | TX_NOSUPPRESS)) || r->have[0] || r->have[1]) &&
	    fec_request(c, r, s, want, now))
		return true;

	m.client_id = c->client_id;
	m.req_id = r->req_id;
	m.echo = (uint32_t)now;
	m.target = r->server;
	m.seg_size = c->image.seg_max;
	m.offset = r->seg0 * c->image.seg_max;
	m.seg_count = r->nsegs;
	m.mask[0] = r->asked[0] = want[0];
	m.mask[1] = r->asked[1] = want[1];
	m.loss = (uint8_t)(c->loss >> 8);
	m.qdelay = qdelay_report(c, now);
	count(c, DNBD_CC_requests_sent, 1);
	count(c, DNBD_CC_segments_requested, nwant);
	if (how & TX_RETRY)
		count(c, DNBD_CC_segments_rerequested, nwant);
	if (s)
		s->requests++;
	send_to(c, c->cfg.multicast ? &c->cfg.group :
		s ? &s->addr :
		&c->cfg.unicast[r->tries % c->cfg.n_unicast],
		dnbd_encode_read(c->txbuf, sizeof(c->txbuf),
				 (how ? DNBD_F_RETRY : 0) |
				 (how & TX_LOST ? DNBD_F_LOST : 0),
				 c->image.id, &m));
	return true;
}

void dnbd_client_hello(struct dnbd_client *c, const char *name, uint64_t now)
{
	struct dnbd_hello m;
	unsigned int i;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.client_id = c->client_id;
	m.echo = (uint32_t)now;
	if (c->selected) {
		m.name_len = c->image.name_len;
		memcpy(m.name, c->image.name, m.name_len);
	} else if (name) {
		while (name[m.name_len] && m.name_len < DNBD_NAME_MAX) {
			m.name[m.name_len] = name[m.name_len];
			m.name_len++;
		}
	}
	len = dnbd_encode_hello(c->txbuf, sizeof(c->txbuf),
				c->selected ? c->image.id : 0, &m);
	count(c, DNBD_CC_hellos_sent, 1);
	if (c->cfg.multicast) {
		send_to(c, &c->cfg.group, len);
	} else {
		for (i = 0; i < c->cfg.n_unicast; i++)
			send_to(c, &c->cfg.unicast[i], len);
	}
	c->next_hello_us = now + c->cfg.hello_interval_us;
}

/* ---- receive --------------------------------------------------------- */

static void remember_image(struct dnbd_client *c, uint64_t id,
			   const struct dnbd_announce *m)
{
	struct dnbd_image_info *img;
	unsigned int i;

	for (i = 0; i < c->n_images; i++)
		if (c->images[i].id == id)
			return;
	if (c->n_images == DNBD_MAX_IMAGES)
		return;
	img = &c->images[c->n_images++];
	img->id = id;
	img->size = m->size;
	img->revision = m->revision;
	img->seg_max = m->seg_max;
	img->name_len = m->name_len;
	memcpy(img->name, m->name, m->name_len + 1);
}

static void on_announce(struct dnbd_client *c, const struct dnbd_hdr *h,
			const uint8_t *buf, size_t len,
			const struct dnbd_addr *from, uint64_t now)
{
	struct dnbd_announce m;
	struct dnbd_server *s;
	enum dnbd_verdict v;

	v = dnbd_decode_announce(buf, len, &m);
	if (v != DNBD_OK) {
		count_verdict(c, v);
		return;
	}
	/* The id must be what name, size and revision say it is. */
	if (dnbd_image_id(m.name, m.name_len, m.size, m.revision) !=
	    h->image_id) {
		count(c, DNBD_CC_drop_image, 1);
		count(c, DNBD_CC_announces_dropped, 1);
		return;
	}
	/* Another image, or another size or revision of ours, perhaps
	 * under the id of one of our servers: never switch to it. */
	if (c->selected && h->image_id != c->image.id) {
		count(c, DNBD_CC_drop_image, 1);
		count(c, DNBD_CC_announces_dropped, 1);
		return;
	}
	count(c, DNBD_CC_announces_received, 1);
	if (!c->selected)
		remember_image(c, h->image_id, &m);
	s = srv_find(c, h->sender, h->image_id);
	if (!s)
		s = srv_add(c, h->sender, h->image_id);
	if (!s)
		return;
	/* Two hosts claiming one server id (or a server that moved). */
	if (s->addr.family && (s->addr.port != from->port ||
			       memcmp(s->addr.ip, from->ip, sizeof(from->ip))))
		count(c, DNBD_CC_server_moved, 1);
	s->addr = *from;
	s->seg_max = m.seg_max;
	s->fec = m.fec;
	s->last_rx_us = now;
	s->timeouts = 0;
	s->suspect = false;
	if (m.client_id == c->client_id)
		srv_rtt_sample(s, (uint32_t)now - m.echo);
	srv_set_state(c, s, DNBD_SRV_UP);
}

static void on_foreign_read(struct dnbd_client *c, const struct dnbd_hdr *h,
			    const uint8_t *buf, size_t len, uint64_t now)
{
	struct dnbd_read_req m;
	struct dnbd_foreign *f;
	struct dnbd_read *r;
	enum dnbd_verdict v;

	v = dnbd_decode_read(buf, len, &m);
	if (v != DNBD_OK) {
		count_verdict(c, v);
		return;
	}
	if (m.client_id == c->client_id) {
		count(c, DNBD_CC_drop_own, 1);	/* our own, looped back */
		return;
	}
	if (!c->selected || h->image_id != c->image.id ||
	    m.seg_size != c->image.seg_max)
		return;			/* not a request we could share */
	count(c, DNBD_CC_foreign_requests_seen, 1);
	c->foreign_us = now;
	f = &c->foreign[c->foreign_next++ % DNBD_FOREIGN_SLOTS];
	/* Reads of ours in that range are shared: parity repairs both. */
	for (r = c->pending.next; r != &c->pending; r = r->next)
		if (r->seg0 < m.offset / m.seg_size + m.seg_count &&
		    m.offset / m.seg_size < r->seg0 + r->nsegs)
			r->shared = true;
	f->seen_us = now;
	f->seg0 = m.offset / m.seg_size;
	f->nsegs = m.seg_count;
	f->mask[0] = m.mask[0];
	f->mask[1] = m.mask[1];
	f->client_id = m.client_id;
	f->req_id = m.req_id;
}

/*
 * A burst of ours ended: the server works through our requests in the
 * order they came, so every read we asked it for after that one is still
 * in its queue (or in a slow link's queue), not lost.  Its timer restarts
 * now, as the timer of a read that receives data does; a read whose
 * request was lost still times out once the bursts before it are done.
 */
static void queue_progress(struct dnbd_client *c, uint16_t server,
			   uint32_t echo, uint64_t now)
{
	struct dnbd_read *r;

	for (r = c->pending.next; r != &c->pending; r = r->next)
		if (r->tries && r->server == server &&
		    (int32_t)((uint32_t)r->sent_us - echo) > 0 &&
		    r->deadline_us < now + r->rto_us)
			r->deadline_us = now + r->rto_us;
}

/* ---- parity (dnbd_fec.h; docs/protocol.md section 20) ---------------- */

/* Parity symbols a read holds: the most holes of a block it rebuilds. */
#define FEC_SYMS_MAX	16
/* Other clients are reading while one of their requests is this recent. */
#define SHARED_US	1000000u

struct dnbd_read_fec {
	uint64_t seg0;			/* the block: segment of mask bit 0 */
	uint64_t mask[2];
	uint32_t block_crc;
	unsigned int n;			/* symbols held */
	unsigned int next;		/* next parity index to ask for */
	bool asked;			/* a REPAIR of ours named this block */
	uint8_t idx[FEC_SYMS_MAX];
	uint8_t *ptr[DNBD_FEC_MAX_DATA];	/* fec_try()'s symbol table */
	uint8_t sym[];			/* FEC_SYMS_MAX symbols, then a pad */
};

static void fec_free(struct dnbd_client *c, struct dnbd_read *r)
{
	if (r->fec)
		c->env.free(c->env.ctx, r->fec);
	r->fec = NULL;
}

static uint32_t seg_len(const struct dnbd_client *c, uint64_t seg)
{
	uint64_t left = c->image.size - seg * c->image.seg_max;

	return left < c->image.seg_max ? (uint32_t)left : c->image.seg_max;
}

/* r's block: the segments whole in its buffer, bit i for r->seg0 + i. */
static void read_block(const struct dnbd_client *c, const struct dnbd_read *r,
		       uint64_t *mask)
{
	uint64_t last = r->seg0 + r->nsegs - 1;

	mask_first(mask, r->nsegs);
	if (r->seg0 * c->image.seg_max < r->offset)
		mask[0] &= ~1ull;
	if (last * c->image.seg_max + seg_len(c, last) >
	    r->offset + r->length)
		mask[(r->nsegs - 1) / 64] &=
			~((uint64_t)1 << ((r->nsegs - 1) % 64));
}

static void mask_shl(uint64_t *m, unsigned int d)
{
	if (d >= 64) {
		m[1] = m[0] << (d - 64);
		m[0] = 0;
	} else if (d) {
		m[1] = (m[1] << d) | (m[0] >> (64 - d));
		m[0] <<= d;
	}
}

/*
 * Once r holds as many parity symbols of its block as the block has
 * holes, rebuild them in r's buffer and check the whole block against
 * the CRC32C the parity carries: rebuilt segments count as received only
 * if it matches (else parity_bad, and the parity is dropped).  Returns
 * true if that finished r.
 */
static bool fec_try(struct dnbd_client *c, struct dnbd_read *r)
{
	struct dnbd_read_fec *f = r->fec;
	uint32_t seg_max = c->image.seg_max, short_len = 0, crc = 0;
	uint8_t *pad = f->sym + (size_t)FEC_SYMS_MAX * seg_max, *short_p = NULL;
	uint8_t missing[FEC_SYMS_MAX], work[DNBD_FEC_WORK_LEN(FEC_SYMS_MAX)];
	const uint8_t *par[FEC_SYMS_MAX];
	unsigned int i, j, k = 0, h = 0;
	bool short_missing = false;

	for (i = 0; i < DNBD_FEC_MAX_DATA; i++) {
		uint64_t seg = f->seg0 + i;
		uint8_t *p;

		if (!dnbd_mask_test(f->mask, i))
			continue;
		j = (unsigned int)(seg - r->seg0);
		p = r->buf + (seg * seg_max - r->offset);
		if (!dnbd_mask_test(r->have, j)) {
			if (h == FEC_SYMS_MAX || h == f->n)
				return false;	/* not yet */
			missing[h++] = (uint8_t)k;
		}
		if (seg_len(c, seg) < seg_max) {	/* the image's end */
			short_len = seg_len(c, seg);
			short_p = p;
			short_missing = !dnbd_mask_test(r->have, j);
			if (!short_missing)
				memcpy(pad, p, short_len);
			memset(pad + short_len, 0, seg_max - short_len);
			p = pad;
		}
		f->ptr[k++] = p;
	}
	if (!h) {
		fec_free(c, r);		/* every hole filled by data */
		return false;
	}
	for (i = 0; i < h; i++)
		par[i] = f->sym + (size_t)i * seg_max;
	if (dnbd_fec_decode(k, f->ptr, missing, h, par, f->idx, seg_max, work,
			    sizeof(work)))
		goto bad;
	for (i = 0; i < k; i++)
		crc = dnbd_crc32c(crc, f->ptr[i],
				  f->ptr[i] == pad ? short_len : seg_max);
	if (crc != f->block_crc)
		goto bad;
	if (short_missing)
		memcpy(short_p, pad, short_len);
	for (i = 0; i < DNBD_FEC_MAX_DATA; i++)
		if (dnbd_mask_test(f->mask, i))
			dnbd_mask_set(r->have, (unsigned int)(f->seg0 + i -
							     r->seg0));
	count(c, DNBD_CC_segments_rebuilt, h);
	fec_free(c, r);
	r->backoff = 0;
	if (read_complete(r)) {
		finish(c, r, 0);
		return true;
	}
	return false;
bad:
	/*
	 * Garbled or forged parity (or data): none of it is used, and the
	 * read asks for its holes by name from now on, so that parity that
	 * keeps failing cannot keep it waiting.
	 */
	count(c, DNBD_CC_parity_bad, 1);
	fec_free(c, r);
	r->fec_off = true;
	return false;
}

/* r's parity state for the block (seg0, mask), allocated on first use. */
static struct dnbd_read_fec *fec_get(struct dnbd_client *c,
				     struct dnbd_read *r, uint64_t seg0,
				     const uint64_t *mask)
{
	struct dnbd_read_fec *f = r->fec;

	if (f)
		return f;
	f = c->env.alloc(c->env.ctx, sizeof(*f) +
			 (size_t)(FEC_SYMS_MAX + 1) * c->image.seg_max);
	if (!f)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->seg0 = seg0;
	f->mask[0] = mask[0];
	f->mask[1] = mask[1];
	r->fec = f;
	return f;
}

static uint32_t stall_us(struct dnbd_read *r, uint64_t now);

/* Keep parity symbol m for r, whose block (from segment seg0) it is. */
static bool fec_store(struct dnbd_client *c, struct dnbd_read *r,
		      const struct dnbd_parity *m, uint64_t seg0)
{
	struct dnbd_read_fec *f = r->fec;
	unsigned int i;

	if (f && (f->seg0 != seg0 || f->mask[0] != m->mask[0] ||
		  f->mask[1] != m->mask[1]))
		fec_free(c, r);		/* a newer block: start over */
	f = fec_get(c, r, seg0, m->mask);
	if (!f)
		return false;
	if (!f->n) {
		f->block_crc = m->block_crc;
	} else if (f->block_crc != m->block_crc) {
		count(c, DNBD_CC_parity_bad, 1);	/* two blocks in one */
		return false;
	}
	if (m->index >= f->next)
		f->next = m->index + 1u;
	for (i = 0; i < f->n; i++)
		if (f->idx[i] == m->index)
			return false;	/* a duplicate */
	if (f->n == FEC_SYMS_MAX)
		return false;
	memcpy(f->sym + (size_t)f->n * c->image.seg_max, m->data,
	       c->image.seg_max);
	f->idx[f->n++] = m->index;
	return true;
}

/*
 * Parity overheard before this client reads its block: with a cache (the
 * overheard replies of the same range are kept there too), keep the last
 * DNBD_PCACHE_SLOTS symbols, so that a read that finds its block in the
 * cache but for a few lost segments rebuilds them without asking.
 */
static void pcache_put(struct dnbd_client *c, const struct dnbd_parity *m,
		       uint64_t seg0)
{
	struct dnbd_pcache_slot *p;
	unsigned int i;

	if (!c->cfg.cache_bytes)
		return;
	if (!c->pcache_sym)
		c->pcache_sym = c->env.alloc(c->env.ctx, (size_t)
					     DNBD_PCACHE_SLOTS *
					     c->image.seg_max);
	if (!c->pcache_sym)
		return;
	for (i = 0; i < DNBD_PCACHE_SLOTS; i++) {
		p = &c->pcache[i];
		if (p->used && p->seg0 == seg0 && p->index == m->index &&
		    p->mask[0] == m->mask[0] && p->mask[1] == m->mask[1])
			return;		/* have it */
	}
	i = c->pcache_next++ % DNBD_PCACHE_SLOTS;
	p = &c->pcache[i];
	p->seg0 = seg0;
	p->mask[0] = m->mask[0];
	p->mask[1] = m->mask[1];
	p->block_crc = m->block_crc;
	p->index = m->index;
	p->used = true;
	memcpy(c->pcache_sym + (size_t)i * c->image.seg_max, m->data,
	       c->image.seg_max);
	count(c, DNBD_CC_parity_cached, 1);
}

static void pcache_free(struct dnbd_client *c)
{
	if (c->pcache_sym)
		c->env.free(c->env.ctx, c->pcache_sym);
	c->pcache_sym = NULL;
	memset(c->pcache, 0, sizeof(c->pcache));
}

/* Is the block (seg0, mask) all whole segments of r?  Then mask is
 * shifted to r's numbering. */
static bool block_in_read(const struct dnbd_client *c,
			  const struct dnbd_read *r, uint64_t seg0,
			  uint64_t *mask)
{
	uint64_t blk[2];

	if (seg0 < r->seg0 || seg0 + dnbd_mask_last(mask) >=
	    r->seg0 + r->nsegs)
		return false;
	mask_shl(mask, (unsigned int)(seg0 - r->seg0));
	read_block(c, r, blk);
	return !(mask[0] & ~blk[0]) && !(mask[1] & ~blk[1]);
}

/* A new read with holes takes the cached parity of one block in it.
 * Returns true if that finished r. */
static bool pcache_take(struct dnbd_client *c, struct dnbd_read *r)
{
	struct dnbd_parity m;
	unsigned int i;

	if (!c->pcache_sym)
		return false;
	for (i = 0; i < DNBD_PCACHE_SLOTS; i++) {
		struct dnbd_pcache_slot *p = &c->pcache[i];
		uint64_t mask[2] = { p->mask[0], p->mask[1] };

		if (!p->used || !block_in_read(c, r, p->seg0, mask) ||
		    (r->fec && (r->fec->seg0 != p->seg0 ||
				r->fec->mask[0] != p->mask[0] ||
				r->fec->mask[1] != p->mask[1])))
			continue;
		m.seg_size = (uint16_t)c->image.seg_max;
		m.index = p->index;
		m.offset = p->seg0 * c->image.seg_max;
		m.mask[0] = p->mask[0];
		m.mask[1] = p->mask[1];
		m.block_crc = p->block_crc;
		m.data = c->pcache_sym + (size_t)i * c->image.seg_max;
		if (fec_store(c, r, &m, p->seg0))
			count(c, DNBD_CC_parity_cache_hits, 1);
	}
	return r->fec && fec_try(c, r);
}

static void on_parity(struct dnbd_client *c, const struct dnbd_hdr *h,
		      const uint8_t *buf, size_t len, uint64_t now)
{
	struct dnbd_parity m;
	struct dnbd_server *s;
	struct dnbd_read *r;
	enum dnbd_verdict v;
	uint64_t seg0, last, mask[2];

	v = dnbd_decode_parity(buf, len, &m);
	if (v != DNBD_OK) {
		count_verdict(c, v);
		return;
	}
	if (!c->selected)
		return;
	if (h->image_id != c->image.id) {
		count(c, DNBD_CC_drop_image, 1);
		return;
	}
	if (m.seg_size != c->image.seg_max) {
		count(c, DNBD_CC_drop_segsize, 1);
		return;
	}
	seg0 = m.offset / m.seg_size;
	last = seg0 + dnbd_mask_last(m.mask);
	if (m.offset >= c->image.size ||
	    last >= (c->image.size + m.seg_size - 1) / m.seg_size) {
		count(c, DNBD_CC_drop_range, 1);
		return;
	}
	count(c, DNBD_CC_parity_received, 1);
	s = srv_find(c, h->sender, c->image.id);
	if (s) {
		s->last_rx_us = now;
		s->timeouts = 0;
		s->suspect = false;
	}
	for (r = c->pending.next; r != &c->pending; r = r->next) {
		mask[0] = m.mask[0];
		mask[1] = m.mask[1];
		if (r->fec_off || !block_in_read(c, r, seg0, mask) ||
		    !((mask[0] & ~r->have[0]) | (mask[1] & ~r->have[1])))
			continue;	/* not all in r, or nothing missing */
		if (!fec_store(c, r, &m, seg0))
			break;
		/*
		 * Parity is repair data flowing for r: progress, not
		 * loss.  If it stops short of what r needs, the stall
		 * timer asks for more (section 14, step 8).
		 */
		r->backoff = 0;
		r->deadline_us = now + stall_us(r, now);
		fec_try(c, r);
		return;
	}
	if (seg0 < c->read_hwm || !c->cfg.cache_bytes)
		count(c, DNBD_CC_parity_unused, 1);	/* behind us */
	else
		pcache_put(c, &m, seg0);
}

/*
 * Another client asked for parity of a block: a read of ours with the
 * same block and no more holes than that request and the parity already
 * held will repair waits for it (NAK suppression), and asks beyond it if
 * it must ask at all.
 */
static void on_foreign_repair(struct dnbd_client *c, const struct dnbd_hdr *h,
			      const uint8_t *buf, size_t len, uint64_t now)
{
	struct dnbd_repair m;
	struct dnbd_read *r;
	enum dnbd_verdict v;
	uint64_t blk[2];

	v = dnbd_decode_repair(buf, len, &m);
	if (v != DNBD_OK) {
		count_verdict(c, v);
		return;
	}
	if (m.blk.client_id == c->client_id) {
		count(c, DNBD_CC_drop_own, 1);
		return;
	}
	if (!c->selected || h->image_id != c->image.id ||
	    m.blk.seg_size != c->image.seg_max)
		return;
	c->foreign_us = now;
	for (r = c->pending.next; r != &c->pending; r = r->next) {
		uint64_t holes[2];
		unsigned int held = r->fec ? r->fec->n : 0;

		if (r->fec_off || r->seg0 != m.blk.offset / m.blk.seg_size)
			continue;
		read_block(c, r, blk);
		if (blk[0] != m.blk.mask[0] || blk[1] != m.blk.mask[1])
			continue;
		holes[0] = blk[0] & ~r->have[0];
		holes[1] = blk[1] & ~r->have[1];
		r->shared = true;
		if (dnbd_mask_count(holes) > held + m.count)
			continue;
		if (r->deadline_us < now + r->rto_us)
			r->deadline_us = now + r->rto_us;
		count(c, DNBD_CC_repairs_suppressed, 1);
	}
}

/*
 * Ask for parity instead of naming the holes want: when other clients
 * read the same range (the parity repairs their different holes at
 * once), the server offers it, and the holes are whole segments of r's
 * block, no more than a read holds symbols.  The block is r's, whatever
 * the request that sent the data was: every client reading this range
 * names the same one, so the server's dedup merges their REPAIRs and
 * sends each parity symbol once.  Holes outside want are still on their
 * way (another client's burst); the rebuild waits for them.
 */
static bool fec_request(struct dnbd_client *c, struct dnbd_read *r,
			struct dnbd_server *s, const uint64_t *want,
			uint64_t now)
{
	struct dnbd_repair m;
	struct dnbd_read_fec *f = r->fec;
	uint64_t rel[2];
	unsigned int nholes, held, first;
	bool retry;

	if (c->cfg.no_fec || r->fec_off || !c->cfg.multicast || !s ||
	    !s->fec || !(r->shared || (f && f->n) ||
	      (c->foreign_us && now - c->foreign_us < SHARED_US)))
		return false;
	nholes = dnbd_mask_count(want);
	if (!nholes || nholes > FEC_SYMS_MAX)
		return false;
	/*
	 * The block of the parity held (a burst's own, sent with it) if it
	 * covers the holes, else the read's own block.
	 */
	if (f) {
		rel[0] = f->mask[0];
		rel[1] = f->mask[1];
		if (!block_in_read(c, r, f->seg0, rel) ||
		    (want[0] & ~rel[0]) || (want[1] & ~rel[1])) {
			fec_free(c, r);	/* parity of another block */
			f = NULL;
		}
	}
	if (!f) {
		read_block(c, r, rel);
		if ((want[0] & ~rel[0]) || (want[1] & ~rel[1]))
			return false;	/* a hole in a partial edge segment */
		f = fec_get(c, r, r->seg0, rel);
		if (!f)
			return false;
	}
	held = f->n;
	first = f->next;
	retry = f->asked;
	if (nholes <= held)
		return true;	/* enough: the rebuild waits for data */
	if (first + nholes - held > DNBD_PARITY_IDX_MAX)
		return false;
	memset(&m, 0, sizeof(m));
	m.blk.client_id = c->client_id;
	m.blk.req_id = r->req_id;
	m.blk.echo = (uint32_t)now;
	m.blk.target = s->id;
	m.blk.seg_size = c->image.seg_max;
	m.blk.offset = f->seg0 * c->image.seg_max;
	m.blk.seg_count = (uint16_t)(dnbd_mask_last(f->mask) + 1);
	m.blk.mask[0] = f->mask[0];
	m.blk.mask[1] = f->mask[1];
	m.first = (uint8_t)first;
	m.count = (uint8_t)(nholes - held);
	f->next = first + m.count;
	f->asked = true;
	r->asked[0] = want[0];
	r->asked[1] = want[1];
	count(c, DNBD_CC_repairs_sent, 1);
	send_to(c, &c->cfg.group,
		dnbd_encode_repair(c->txbuf, sizeof(c->txbuf),
				   retry ? DNBD_F_RETRY : 0, c->image.id, &m));
	return true;
}

/*
 * The loss this client sees, reported in every READ (protocol.md section
 * 20): at the end of each burst of its own, the share of the segments
 * that burst was asked for that did not come, averaged (1/8 per burst).
 * Only while it reads alone: where other clients read too, the server
 * leaves out of a burst what another one carries (dedup), so holes are
 * not loss, and parity by REPAIR serves them all at once anyway; there
 * the report decays to 0.
 */
static void loss_sample(struct dnbd_client *c, const struct dnbd_read *r,
			uint64_t now)
{
	unsigned int n = dnbd_mask_count(r->asked), lost;
	uint64_t holes[2];
	int32_t sample, d;

	if (!n)
		return;
	holes[0] = r->asked[0] & ~r->have[0];
	holes[1] = r->asked[1] & ~r->have[1];
	lost = dnbd_mask_count(holes);
	if (r->shared || (c->foreign_us && now - c->foreign_us < SHARED_US))
		lost = 0;
	sample = (int32_t)((uint64_t)lost * 65535 / n);
	d = (sample - (int32_t)c->loss) / 8;
	if (!d && sample != c->loss)
		d = sample > c->loss ? 1 : -1;
	c->loss = (uint16_t)((int32_t)c->loss + d);
}

/*
 * How long a read that receives data may wait for the next segment; also
 * counts the segment that just arrived (see STALL_GAPS).
 */
static uint32_t stall_us(struct dnbd_read *r, uint64_t now)
{
	uint64_t t;

	r->rx_last_us = now;
	if (!r->rx_n++) {
		r->rx_first_us = now;
		return r->rto_us;	/* no gap measured yet */
	}
	t = (now - r->rx_first_us) / (r->rx_n - 1) * STALL_GAPS;
	if (t < STALL_MIN_US)
		t = STALL_MIN_US;
	if (t < r->rto_us / 4)
		t = r->rto_us / 4;
	return t < r->rto_us ? (uint32_t)t : r->rto_us;
}

/*
 * The queueing delay this client sees, reported in its next READ
 * (protocol.md section 21): a REPLY's one-way delay, its arrival minus
 * the server's stamp (two clocks: only differences mean anything), above
 * the least seen from that server in this window or the last (the path
 * without queues; windows, so that clock drift does not build up).  The
 * report is the least of the last QD_WINDOW_US or so: a standing queue
 * delays every datagram, a line-rate burst into a slower link or a late
 * wake-up only some.
 */
#define OWD_WINDOW_US	10000000u
#define QD_WINDOW_US	20000u
#define QD_STALE_US	250000u	/* a reader that receives nothing knows nothing */

static void qdelay_sample(struct dnbd_client *c, uint16_t d, uint64_t now)
{
	if (!c->qd_last_us || now - c->qd_win_us >= QD_WINDOW_US) {
		c->qd_min[1] = c->qd_last_us &&
			       now - c->qd_last_us < QD_WINDOW_US ?
			       c->qd_min[0] : d;
		c->qd_min[0] = d;
		c->qd_win_us = now;
	} else if (d < c->qd_min[0]) {
		c->qd_min[0] = d;
	}
	c->qd_last_us = now;
}

/* READ's qdelay: in 4 ms, 255 at most; 0 without a recent sample. */
static uint8_t qdelay_report(const struct dnbd_client *c, uint64_t now)
{
	uint16_t d = c->qd_min[0];

	if (!c->qd_last_us || now - c->qd_last_us >= QD_STALE_US)
		return 0;
	/* A young window has seen too little: the last one too. */
	if (now - c->qd_win_us < QD_WINDOW_US / 2 && c->qd_min[1] < d)
		d = c->qd_min[1];
	d = (uint16_t)((d + 3) / 4);
	return (uint8_t)(d < 255 ? d : 255);
}

static void owd_sample(struct dnbd_client *c, struct dnbd_server *s,
		       uint16_t stamp, uint64_t now)
{
	uint64_t at = c->rx_arrival_us && c->rx_arrival_us < now ?
		      c->rx_arrival_us : now;
	uint16_t owd = (uint16_t)((uint16_t)(at / 1000u) - stamp), base;
	int d;

	if (!stamp)
		return;			/* a server that does not stamp */
	if (!s->owd_valid || now - s->owd_win_us >= OWD_WINDOW_US) {
		s->owd_min[1] = s->owd_valid ? s->owd_min[0] : owd;
		s->owd_min[0] = owd;
		s->owd_win_us = now;
		s->owd_valid = true;
	} else if ((int16_t)(owd - s->owd_min[0]) < 0) {
		s->owd_min[0] = owd;
	}
	base = (int16_t)(s->owd_min[1] - s->owd_min[0]) < 0 ?
	       s->owd_min[1] : s->owd_min[0];
	d = (int16_t)(owd - base);
	qdelay_sample(c, (uint16_t)(d < 0 ? 0 : d), now);
}

static void on_reply(struct dnbd_client *c, const struct dnbd_hdr *h,
		     const uint8_t *buf, size_t len, uint64_t now)
{
	struct dnbd_read *r, *next;
	struct dnbd_reply m;
	struct dnbd_server *s;
	enum dnbd_verdict v;
	uint64_t seg, want_len;
	bool used = false, dup = false, partial = false;

	v = dnbd_decode_reply(buf, len, &m);
	if (v != DNBD_OK) {
		count_verdict(c, v);
		return;
	}
	if (!c->selected)
		return;			/* still discovering: not ours yet */
	if (h->image_id != c->image.id) {
		count(c, DNBD_CC_drop_image, 1);
		return;
	}
	if (m.seg_size != c->image.seg_max) {
		count(c, DNBD_CC_drop_segsize, 1);
		return;
	}
	if (m.offset >= c->image.size) {
		count(c, DNBD_CC_drop_range, 1);
		return;
	}
	want_len = c->image.size - m.offset;
	if (want_len > m.seg_size)
		want_len = m.seg_size;
	if (m.data_len != want_len) {
		count(c, DNBD_CC_drop_field, 1);
		return;
	}
	count(c, DNBD_CC_segments_received, 1);
	count(c, DNBD_CC_bytes_received, m.data_len);
	s = srv_find(c, h->sender, c->image.id);
	if (s) {
		s->last_rx_us = now;
		s->timeouts = 0;
		s->suspect = false;
		s->replies++;
		owd_sample(c, s, m.stamp, now);
	}
	/*
	 * One RTT sample per burst, at its end, so the RTO covers the
	 * server's queue and the transfer.  Every reply echoes the clock of
	 * the very transmission it answers, so retransmitted requests give
	 * valid samples too (no Karn ambiguity): a queue that makes first
	 * tries time out still teaches us how long it is.
	 */
	if (s && m.client_id == c->client_id && (h->flags & DNBD_F_LAST)) {
		srv_rtt_sample(s, (uint32_t)now - m.echo);
		queue_progress(c, h->sender, m.echo, now);
	}
	seg = m.offset / m.seg_size;
	for (r = c->pending.next; r != &c->pending; r = next) {
		bool mine = m.client_id == c->client_id &&
			    m.req_id == r->req_id, filled = false;

		next = r->next;
		if (seg >= r->seg0 && seg < r->seg0 + r->nsegs) {
			if (dnbd_mask_test(r->have, (unsigned int)(seg - r->seg0))) {
				dup = true;
			} else {
				read_fill(c, r, seg, m.data, m.data_len);
				used = filled = true;
				if (!mine) {	/* another client's burst */
					r->shared = true;
					r->fb_client = m.client_id;
					r->fb_req = m.req_id;
				}
				/* Data is flowing: progress, not loss. */
				r->backoff = 0;
				if (mine)
					r->deadline_us = now + stall_us(r, now);
				else if (r->deadline_us < now + r->rto_us)
					r->deadline_us = now + r->rto_us;
				/* Sticks out of r: the neighbouring read
				 * (often issued later) wants the rest. */
				partial |= m.offset < r->offset ||
					   m.offset + m.data_len >
					   r->offset + r->length;
			}
		}
		if (mine && (h->flags & DNBD_F_LAST))
			loss_sample(c, r, now);
		if (read_complete(r)) {
			finish(c, r, 0);
			continue;
		}
		if (filled && r->fec && fec_try(c, r))
			continue;
		if (!(h->flags & DNBD_F_LAST))
			continue;
		/* The burst we are waiting on ended with holes: ask now,
		 * unless its parity follows (then the stall timer asks for
		 * more if that parity is not enough). */
		if (mine && (h->flags & DNBD_F_PARITY))
			continue;
		if (mine) {
			if (dispatch(c, r, now, TX_RETRY | TX_HOLES | TX_LOST))
				count(c, DNBD_CC_fast_retransmits, 1);
		} else if (r->wait_client && r->wait_client == m.client_id &&
			   r->wait_req == m.req_id) {
			dispatch(c, r, now, TX_NOSUPPRESS);
		} else if (r->fb_client == m.client_id &&
			   r->fb_req == m.req_id && r->tries &&
			   dispatch(c, r, now, TX_RETRY | TX_HOLES | TX_LOST)) {
			/* Another client's burst that filled r ended and
			 * left holes: they were lost (as for our own). */
			count(c, DNBD_CC_fast_retransmits, 1);
		}
	}
	if (used) {
		if (partial)
			dnbd_cache_put(&c->cache, seg, m.data, m.data_len,
				       true);
		return;
	}
	if (dup) {
		count(c, DNBD_CC_segments_duplicate, 1);
		return;
	}
	count(c, DNBD_CC_replies_overheard, 1);
	/* Below the highest segment our reads asked for: most likely read
	 * already (another client, behind us, asked for it). */
	if (dnbd_cache_put(&c->cache, seg, m.data, m.data_len,
			   seg >= c->read_hwm))
		count(c, DNBD_CC_overheard_cached, 1);
	if (c->env.overheard)
		c->env.overheard(c->env.ctx, seg, m.data, m.data_len);
}

static void on_error(struct dnbd_client *c, const struct dnbd_hdr *h,
		     const uint8_t *buf, size_t len, uint64_t now)
{
	struct dnbd_read *r;
	struct dnbd_error m;
	struct dnbd_server *s;
	enum dnbd_verdict v;

	v = dnbd_decode_error(buf, len, &m);
	if (v != DNBD_OK) {
		count_verdict(c, v);
		return;
	}
	if (!c->selected && m.client_id == c->client_id && !m.req_id) {
		/* The answer to our HELLO: the server has the image but
		 * refuses it (it changed under it).  Remember for the host. */
		count(c, DNBD_CC_errors_received, 1);
		c->refused_by = h->sender;
		c->refused_code = m.code;
		return;
	}
	if (!c->selected || h->image_id != c->image.id ||
	    m.client_id != c->client_id)
		return;			/* someone else's problem */
	for (r = c->pending.next; r != &c->pending; r = r->next)
		if (r->req_id == m.req_id)
			break;
	if (r == &c->pending)
		return;
	count(c, DNBD_CC_errors_received, 1);
	if (m.code == DNBD_E_RANGE && m.size == c->image.size) {
		finish(c, r, -DNBD_ERR_RANGE);
		return;
	}
	/* The server cannot serve this image (changed, gone, I/O error):
	 * take it out of rotation and ask a replica. */
	s = srv_find(c, h->sender, c->image.id);
	if (s)
		srv_set_state(c, s, DNBD_SRV_DOWN);
	if (dnbd_client_servers_up(c))
		dispatch(c, r, now, TX_RETRY);
}

void dnbd_client_input(struct dnbd_client *c, const uint8_t *buf, size_t len,
		       const struct dnbd_addr *from, uint64_t now)
{
	struct dnbd_hdr h;
	enum dnbd_verdict v;

	v = dnbd_decode_hdr(buf, len, &h);
	if (v == DNBD_OK)	/* from here on, len excludes the tag */
		v = dnbd_auth_check(buf, &len,
				    c->cfg.keyed ? &c->cfg.key : NULL);
	if (v != DNBD_OK) {
		count_verdict(c, v);
		return;
	}
	switch (h.type) {
	case DNBD_T_ANNOUNCE:
		on_announce(c, &h, buf, len, from, now);
		break;
	case DNBD_T_REPLY:
		on_reply(c, &h, buf, len, now);
		break;
	case DNBD_T_ERROR:
		on_error(c, &h, buf, len, now);
		break;
	case DNBD_T_READ:
		on_foreign_read(c, &h, buf, len, now);
		break;
	case DNBD_T_REPAIR:
		on_foreign_repair(c, &h, buf, len, now);
		break;
	case DNBD_T_PARITY:
		on_parity(c, &h, buf, len, now);
		break;
	case DNBD_T_HELLO:
		break;			/* another client looking around */
	default:
		count(c, DNBD_CC_drop_type, 1);
		break;
	}
}

/* ---- API ------------------------------------------------------------- */

int dnbd_client_init(struct dnbd_client *c, const struct dnbd_client_cfg *cfg,
		     const struct dnbd_env *env)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->env = *env;
	if (!c->cfg.seg_size)
		c->cfg.seg_size = DNBD_SEG_DEFAULT;
	if (c->cfg.seg_size < DNBD_SEG_MIN || c->cfg.seg_size > DNBD_SEG_MAX)
		return -DNBD_ERR_INVAL;
	if (!c->cfg.multicast &&
	    (!c->cfg.n_unicast || c->cfg.n_unicast > DNBD_MAX_SERVERS))
		return -DNBD_ERR_INVAL;
	if (!c->cfg.rto_min_us)
		c->cfg.rto_min_us = 10000;
	if (!c->cfg.rto_max_us)
		c->cfg.rto_max_us = 2000000;
	if (c->cfg.rto_max_us < c->cfg.rto_min_us)
		c->cfg.rto_max_us = c->cfg.rto_min_us;
	if (!c->cfg.hello_interval_us)
		c->cfg.hello_interval_us = 1000000;
	c->client_id = c->cfg.client_id;
	while (!c->client_id)
		c->client_id = env->random(env->ctx);
	c->next_req = env->random(env->ctx);
	c->pending.next = c->pending.prev = &c->pending;
	return dnbd_cache_init(&c->cache, env, c->cfg.cache_bytes,
			       c->cfg.seg_size);
}

void dnbd_client_fini(struct dnbd_client *c)
{
	dnbd_client_cancel_all(c, -DNBD_ERR_CANCELED);
	dnbd_cache_fini(&c->cache, &c->env);
	pcache_free(c);
	dnbd_key_wipe(&c->cfg.key);
}

int dnbd_client_select(struct dnbd_client *c,
		       const struct dnbd_image_info *img)
{
	unsigned int i;

	if (!img->id || img->seg_max < DNBD_SEG_MIN)
		return -DNBD_ERR_NOIMAGE;
	if (c->n_pending)
		return -DNBD_ERR_INVAL;
	c->image = *img;
	c->read_hwm = 0;
	/* Our segment grid: our choice, if the servers can send it. */
	c->image.seg_max = c->cfg.seg_size < img->seg_max ?
			   c->cfg.seg_size : img->seg_max;
	/* Never keep segments of another image or revision. */
	if (c->cache.cap) {
		uint64_t bytes = (uint64_t)c->cache.cap * c->cache.seg_size;

		dnbd_cache_fini(&c->cache, &c->env);
		pcache_free(c);
		if (dnbd_cache_init(&c->cache, &c->env, bytes,
				    c->image.seg_max))
			return -DNBD_ERR_NOMEM;
	}
	c->selected = true;
	for (i = 0; i < DNBD_MAX_SERVERS; i++)
		if (c->servers[i].image_id != img->id)
			memset(&c->servers[i], 0, sizeof(c->servers[i]));
	return 0;
}

uint32_t dnbd_client_max_read(const struct dnbd_client *c)
{
	uint32_t seg = c->selected ? c->image.seg_max : c->cfg.seg_size;

	/* The worst alignment spends one segment on each end. */
	return (DNBD_REQ_SEGS_MAX - 1) * (uint32_t)seg;
}

int dnbd_client_read(struct dnbd_client *c, struct dnbd_read *r, uint64_t now)
{
	uint64_t last, seg;
	uint16_t len;
	const uint8_t *data;

	if (!c->selected)
		return -DNBD_ERR_NOIMAGE;
	if (!r->length || r->length > dnbd_client_max_read(c))
		return -DNBD_ERR_INVAL;
	if (r->offset >= c->image.size ||
	    r->length > c->image.size - r->offset)
		return -DNBD_ERR_RANGE;
	r->seg0 = r->offset / c->image.seg_max;
	last = (r->offset + r->length - 1) / c->image.seg_max;
	r->nsegs = (uint16_t)(last - r->seg0 + 1);
	if (last >= c->read_hwm)
		c->read_hwm = last + 1;
	r->have[0] = r->have[1] = 0;
	r->asked[0] = r->asked[1] = 0;
	r->tries = 0;
	r->backoff = 0;
	r->rx_n = 0;
	r->server = 0;
	r->shared = false;
	r->fb_client = 0;
	r->fec = NULL;
	r->fec_off = false;
	r->start_us = now;
	r->next = r->prev = NULL;
	for (seg = r->seg0; seg <= last; seg++) {
		data = dnbd_cache_get(&c->cache, seg, &len);
		if (data) {
			read_fill(c, r, seg, data, len);
			count(c, DNBD_CC_cache_hits, 1);
		} else {
			count(c, DNBD_CC_cache_misses, 1);
		}
	}
	if (read_complete(r)) {
		finish(c, r, 0);
		return 0;
	}
	if (pcache_take(c, r))
		return 0;		/* rebuilt from parity held */
	pending_add(c, r);
	dispatch(c, r, now, 0);
	return 0;
}

static void check_servers(struct dnbd_client *c, uint64_t now)
{
	uint64_t silent = (uint64_t)c->cfg.hello_interval_us *
			  DOWN_AFTER_HELLOS;
	unsigned int i;

	for (i = 0; i < DNBD_MAX_SERVERS; i++) {
		struct dnbd_server *s = &c->servers[i];

		if (s->state == DNBD_SRV_UP && now > s->last_rx_us &&
		    now - s->last_rx_us > silent)
			srv_set_state(c, s, DNBD_SRV_DOWN);
	}
}

/*
 * s went silent on read r: new reads keep off it (srv_pick), and, if
 * another server is up, the other reads it holds are asked there now
 * rather than each after its own RTO.  A server that is up but idle would
 * have answered them; a silent one is gone or lost them.
 */
static void srv_suspect(struct dnbd_client *c, struct dnbd_server *s,
			const struct dnbd_read *r, uint64_t now)
{
	struct dnbd_read *q;
	unsigned int i;
	bool other = false;

	if (s->suspect)
		return;
	s->suspect = true;
	/* Only where another server can take them: asking the same one
	 * again would only make it send them twice. */
	for (i = 0; i < DNBD_MAX_SERVERS; i++) {
		const struct dnbd_server *o = &c->servers[i];

		other |= o != s && !o->suspect && srv_usable(c, o);
	}
	if (!other)
		return;
	for (q = c->pending.next; q != &c->pending; q = q->next)
		if (q != r && q->server == s->id && q->tries &&
		    q->sent_us < now &&
		    dispatch(c, q, now, TX_RETRY | TX_HOLES | TX_STALL))
			count(c, DNBD_CC_stall_retransmits, 1);
}

static void on_timeout(struct dnbd_client *c, struct dnbd_read *r,
		       uint64_t now)
{
	struct dnbd_server *s = r->server ?
				srv_find(c, r->server, c->image.id) : NULL;

	/*
	 * A server silent since it last sent to this read is suspect: new
	 * reads go elsewhere while another server is up, until it is heard
	 * again (it may be gone; it may only have lost our tail).
	 */
	if (s && r->tries && s->last_rx_us <= (r->rx_n ? r->rx_last_us :
					       r->sent_us))
		srv_suspect(c, s, r, now);
	/* Data came, then stopped short: ask for the holes again now. */
	if (r->tries && r->rx_n &&
	    dispatch(c, r, now, TX_RETRY | TX_HOLES | TX_STALL)) {
		count(c, DNBD_CC_stall_retransmits, 1);
		return;
	}
	if (r->tries) {
		count(c, DNBD_CC_timeouts, 1);
		r->backoff++;
		if (s && s->last_rx_us <= r->sent_us &&
		    ++s->timeouts >= DOWN_AFTER_TIMEOUTS)
			srv_set_state(c, s, DNBD_SRV_DOWN);
	}
	dispatch(c, r, now, r->tries ? TX_RETRY : TX_NOSUPPRESS);
}

uint64_t dnbd_client_timer(struct dnbd_client *c, uint64_t now)
{
	struct dnbd_read *r, *next;
	uint64_t deadline;

	if (now >= c->next_hello_us)
		dnbd_client_hello(c, NULL, now);
	check_servers(c, now);
	deadline = c->next_hello_us;
	for (r = c->pending.next; r != &c->pending; r = next) {
		next = r->next;
		if (c->cfg.io_timeout_us &&
		    now - r->start_us >= c->cfg.io_timeout_us) {
			finish(c, r, -DNBD_ERR_TIMEDOUT);
			continue;
		}
		if (now >= r->deadline_us)
			on_timeout(c, r, now);
		if (r->deadline_us < deadline)
			deadline = r->deadline_us;
		if (c->cfg.io_timeout_us &&
		    r->start_us + c->cfg.io_timeout_us < deadline)
			deadline = r->start_us + c->cfg.io_timeout_us;
	}
	return deadline;
}

bool dnbd_client_alone(const struct dnbd_client *c, uint64_t now)
{
	return !c->foreign_us || now - c->foreign_us >= SHARED_US;
}

void dnbd_client_cancel_all(struct dnbd_client *c, int err)
{
	while (c->pending.next && c->pending.next != &c->pending)
		finish(c, c->pending.next, err);
}
