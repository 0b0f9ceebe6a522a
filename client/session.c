// SPDX-License-Identifier: GPL-2.0
/* session.c - the userspace host of the client protocol core. */
#include "session.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keyfile.h"
#include "stats.h"
#include "util.h"

/*
 * Receive buffers.  Without GRO every datagram has a slot of its own,
 * RECV_BATCH of them per recvmmsg().  With UDP_GRO the kernel hands over
 * up to 64 KiB of equal-size datagrams in one buffer (the segment size
 * in a UDP_GRO cmsg; only the last may be shorter), so fewer, larger
 * slots serve: RX_BUF_BYTES is the same memory either way.
 */
#define RECV_BATCH	64
#define SLOT_PLAIN	(DNBD_DGRAM_MAX + 1)	/* + 1: detects oversize */
#define SLOT_GRO	65536u			/* largest UDP payload */
#define RX_BUF_BYTES	((size_t)RECV_BATCH * SLOT_PLAIN)
/*
 * After the first announcement, listen for replicas (and other
 * revisions) four times as long as the first one took to answer: replicas
 * on the same network answer alike.  At least 20 ms, at most 300 ms.  A
 * replica that answers later is still added by its next announcement.
 */
#define REPLICA_GRACE_MIN_US	20000u
#define REPLICA_GRACE_MAX_US	300000u

static int env_send(void *ctx, const struct dnbd_addr *to, const void *buf,
		    size_t len)
{
	struct session *s = ctx;
	struct sockaddr_in sin;

	addr_to_sin(to, &sin);
	/* A lost datagram is the core's business: it retransmits. */
	return sendto(s->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&sin,
		      sizeof(sin)) < 0 ? -errno : 0;
}

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
	struct session *s = ctx;

	/* xorshift64*: plenty for client and request ids. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (uint32_t)((s->rng * 0x2545f4914f6cdd1dull) >> 32);
}

static void env_read_done(void *ctx, struct dnbd_read *r, int err)
{
	struct session *s = ctx;

	if (s->read_done)
		s->read_done(s, r, err);
}

static void env_server_event(void *ctx, uint16_t id, int up)
{
	struct session *s = ctx;

	if (s->server_event)
		s->server_event(s, id, up);
}

const char *session_strerror(int err)
{
	switch (-err) {
	case 0: return "success";
	case DNBD_ERR_INVAL: return "invalid argument";
	case DNBD_ERR_RANGE: return "beyond the end of the image";
	case DNBD_ERR_TIMEDOUT: return "timed out: no server answered";
	case DNBD_ERR_NOMEM: return "out of memory";
	case DNBD_ERR_CANCELED: return "canceled";
	case DNBD_ERR_NOIMAGE: return "no image selected";
	default: return "unknown error";
	}
}

int session_parse_bind(struct dnbd_client_cfg *cfg,
		       const struct session_opts *o, char *err, size_t errlen)
{
	char buf[1024], *tok, *save = NULL;
	struct dnbd_addr a;

	if (!o->bind || strlen(o->bind) >= sizeof(buf)) {
		snprintf(err, errlen, "-b needs an address");
		return -1;
	}
	strcpy(buf, o->bind);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!addr_parse(tok, o->port, &a)) {
			snprintf(err, errlen, "-b: '%s' is not an IPv4 address",
				 tok);
			return -1;
		}
		if (addr_is_multicast(&a)) {
			if (cfg->multicast || cfg->n_unicast) {
				snprintf(err, errlen, "-b: give one multicast "
					 "group, or unicast server addresses");
				return -1;
			}
			cfg->multicast = true;
			cfg->group = a;
		} else {
			if (cfg->multicast ||
			    cfg->n_unicast == DNBD_MAX_SERVERS) {
				snprintf(err, errlen, "-b: give one multicast "
					 "group, or up to %d unicast servers",
					 DNBD_MAX_SERVERS);
				return -1;
			}
			cfg->unicast[cfg->n_unicast++] = a;
		}
	}
	if (!cfg->multicast && !cfg->n_unicast) {
		snprintf(err, errlen, "-b needs an address");
		return -1;
	}
	return 0;
}

int session_opt(struct session_opts *o, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 'b':
		o->bind = arg;
		return 1;
	case 'I':
		o->iface = arg;
		return 1;
	case 'p':
		if (!parse_range(arg, 1, 65535, &v))
			return -1;
		o->port = (uint16_t)v;
		return 1;
	case SO_SEG:
		if (!parse_range(arg, DNBD_SEG_MIN, DNBD_SEG_MAX, &v))
			return -1;
		o->seg_size = (uint16_t)v;
		return 1;
	case SO_KEY:
		o->key_file = arg;
		return 1;
	case SO_CACHE:
		/* The kernel's cache is vmalloc'd: keep it sane. */
		if (!parse_size(arg, &v) || v > (4ull << 30))
			return -1;
		o->cache_bytes = v;
		return 1;
	default:
		return 0;
	}
}

int session_open(struct session *s, const struct session_opts *o, char *err,
		 size_t errlen)
{
	struct dnbd_client_cfg cfg;
	struct dnbd_env env = {
		.ctx = s, .send = env_send, .alloc = env_alloc,
		.free = env_free, .random = env_random,
		.read_done = env_read_done, .server_event = env_server_event,
	};
	char a[ADDR_STRLEN];
	int rc, one = 1;

	memset(&cfg, 0, sizeof(cfg));
	s->fd = -1;
	s->rxbuf = NULL;
	s->gro = false;
	memset(&s->rx, 0, sizeof(s->rx));
	if (session_parse_bind(&cfg, o, err, errlen))
		return -1;
	if (getrandom(&s->rng, sizeof(s->rng), 0) != sizeof(s->rng) || !s->rng)
		s->rng = now_us() ^ ((uint64_t)getpid() << 32) ^ 1;
	cfg.seg_size = o->seg_size;
	cfg.cache_bytes = o->cache_bytes;
	cfg.io_timeout_us = o->timeout_us;
	if (o->key_file) {
		uint8_t raw[DNBD_KEY_LEN];

		if (key_file_load(o->key_file, raw, err, errlen))
			return -1;
		dnbd_key_init(&cfg.key, raw);
		memset(raw, 0, sizeof(raw));
		cfg.keyed = true;
	}
	rc = dnbd_client_init(&s->core, &cfg, &env);
	dnbd_key_wipe(&cfg.key);	/* the core keeps its own copy */
	if (rc) {
		snprintf(err, errlen, "client core: %s", session_strerror(rc));
		return -1;
	}
	/* Multicast: listen on the group (replies go there); unicast: any
	 * local port, servers answer the source address. */
	s->fd = udp_socket(cfg.multicast ? &cfg.group : NULL, 0, o->iface, 1,
			   err, errlen);
	if (s->fd < 0) {
		dnbd_client_fini(&s->core);
		return -1;
	}
	s->rxbuf = malloc(RX_BUF_BYTES);
	if (!s->rxbuf) {
		snprintf(err, errlen, "out of memory");
		session_close(s);
		return -1;
	}
	/* When each datagram arrived, for the queueing delay the core
	 * reports (protocol.md section 21); without it, when it is read. */
	if (setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)))
		log_info("no receive timestamps (%s): delay measured when "
			 "datagrams are read", strerror(errno));
	/* Coalesced receives (Linux 5.0); without them, one per datagram. */
	s->gro = o->gro && !setsockopt(s->fd, SOL_UDP, UDP_GRO, &one,
					sizeof(one));
	if (o->gro && !s->gro)
		log_info("UDP GRO not available (%s): receiving datagrams "
			 "one by one", strerror(errno));
	snprintf(s->where, sizeof(s->where), "%s%s",
		 addr_str(cfg.multicast ? &cfg.group : &cfg.unicast[0], a),
		 !cfg.multicast && cfg.n_unicast > 1 ? " (and others)" : "");
	return 0;
}

/*
 * When the buffer reached the host (SO_TIMESTAMPNS), on the clock of now;
 * 0 if the kernel gave no stamp.  The stamp is CLOCK_REALTIME, now is
 * CLOCK_MONOTONIC: the age of the stamp carries over.
 */
static uint64_t rx_arrival(const struct msghdr *mh, uint64_t now)
{
	struct timespec ts, rt;
	struct cmsghdr *c;
	int64_t ago;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SCM_TIMESTAMPNS ||
		    c->cmsg_len < CMSG_LEN(sizeof(ts)))
			continue;
		memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		clock_gettime(CLOCK_REALTIME, &rt);
		ago = ((int64_t)rt.tv_sec - ts.tv_sec) * 1000000 +
		      (rt.tv_nsec - ts.tv_nsec) / 1000;
		return ago >= 0 && (uint64_t)ago < now ? now - (uint64_t)ago : 0;
	}
	return 0;
}

/* Hands the core the datagrams of one received buffer. */
static void rx_buffer(struct session *s, uint8_t *buf, size_t len,
		      const struct msghdr *mh, const struct dnbd_addr *from)
{
	size_t seg = len, off;
	struct cmsghdr *c;
	int g;

	s->core.rx_arrival_us = rx_arrival(mh, now_us());

	/* Oversized: hand over as is; the core counts it. */
	if (!s->gro && (mh->msg_flags & MSG_TRUNC)) {
		len = seg = DNBD_DGRAM_MAX + 1;
	} else {
		for (c = CMSG_FIRSTHDR(mh); c;
		     c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
			if (c->cmsg_level != SOL_UDP ||
			    c->cmsg_type != UDP_GRO ||
			    c->cmsg_len < CMSG_LEN(sizeof(g)))
				continue;
			memcpy(&g, CMSG_DATA(c), sizeof(g));
			if (g > 0 && (size_t)g < len)
				seg = (size_t)g;
		}
	}
	s->rx.buffers++;
	if (seg < len)
		s->rx.coalesced++;
	/* Each piece is a datagram of its own: one bad one is counted
	 * and dropped by the core, the others are used. */
	off = 0;
	do {
		size_t n = len - off < seg ? len - off : seg;

		s->rx.datagrams++;
		/* Each datagram at its own time: the stall timer learns
		 * the gaps between them (protocol.md section 14). */
		dnbd_client_input(&s->core, buf + off, n, from, now_us());
		off += n;
	} while (off < len);
	s->core.rx_arrival_us = 0;
}

/* Receives until the socket is empty (64 batches at most); the number of
 * receive calls that returned datagrams. */
static int rx_drain(struct session *s)
{
	struct mmsghdr msg[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_in from[RECV_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int)) +
			 CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl[RECV_BATCH];
	size_t slot = s->gro ? SLOT_GRO : SLOT_PLAIN;
	unsigned int slots = (unsigned int)(RX_BUF_BYTES / slot);
	struct dnbd_addr fa;
	int n, i, rounds = 0;

	do {
		for (i = 0; i < (int)slots; i++) {
			iov[i].iov_base = s->rxbuf + (size_t)i * slot;
			iov[i].iov_len = slot;
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
			msg[i].msg_hdr.msg_name = &from[i];
			msg[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msg[i].msg_hdr.msg_control = ctl[i].buf;
			msg[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		n = recvmmsg(s->fd, msg, slots, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		s->rx.calls++;
		rounds++;
		for (i = 0; i < n; i++) {
			addr_from_sin(&from[i], &fa);
			rx_buffer(s, iov[i].iov_base, msg[i].msg_len,
				  &msg[i].msg_hdr, &fa);
		}
	} while (n == (int)slots && rounds < 64);
	return rounds;
}

/*
 * What is queued on the socket is taken before any timer is looked at: a
 * client that lost its CPU for a while (8 readers on 2 cores) finds the
 * replies it waited for there, and must not call them lost first (each
 * such timeout re-asked, with RETRY, for segments already received).
 */
void session_poll(struct session *s, uint64_t max_us)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	uint64_t now, deadline;
	int n;

	if (rx_drain(s)) {
		dnbd_client_timer(&s->core, now_us());
		return;
	}
	now = now_us();
	deadline = dnbd_client_timer(&s->core, now);
	now = now_us();
	if (deadline > now + max_us)
		deadline = now + max_us;
	n = poll(&pfd, 1, deadline > now ?
		 (int)((deadline - now + 999) / 1000) : 0);
	if (n > 0)
		rx_drain(s);
}

unsigned int session_image_servers(const struct session *s, uint64_t id,
				   char *ids, size_t idslen)
{
	unsigned int i, n = 0;
	size_t off = 0;

	if (idslen)
		ids[0] = '\0';
	for (i = 0; i < DNBD_MAX_SERVERS; i++) {
		const struct dnbd_server *sv = &s->core.servers[i];

		if (sv->state == DNBD_SRV_EMPTY || sv->image_id != id)
			continue;
		n++;
		if (off < idslen)
			off += (size_t)snprintf(ids + off, idslen - off,
						"%s%u", n > 1 ? "," : "",
						sv->id);
	}
	return n;
}

static const struct dnbd_image_info *choose(struct session *s,
					    const char *name, char *err,
					    size_t errlen)
{
	const struct dnbd_image_info *best = NULL;
	unsigned int i, n = 0, servers, best_servers = 0;
	char names[512] = "";
	size_t off = 0;

	for (i = 0; i < s->core.n_images; i++) {
		const struct dnbd_image_info *img = &s->core.images[i];

		if (off < sizeof(names))
			off += (size_t)snprintf(names + off,
						sizeof(names) - off, "%s%s",
						i ? ", " : "", img->name);
		if (name && strcmp(name, img->name))
			continue;
		n++;
		/* Revisions differ: take the one most servers export. */
		servers = session_image_servers(s, img->id, NULL, 0);
		if (servers > best_servers) {
			best = img;
			best_servers = servers;
		}
	}
	if (!name && s->core.n_images > 1) {
		snprintf(err, errlen, "%u images on %s (%s): choose one with "
			 "--image", s->core.n_images, s->where, names);
		return NULL;
	}
	if (!best) {
		snprintf(err, errlen, "no image named '%s' on %s (found: %s)",
			 name, s->where, names);
		return NULL;
	}
	if (n > 1)
		log_err("warning: servers on %s export %u revisions of '%s'; "
			"using revision %u (id 0x%016" PRIx64 ")", s->where, n,
			best->name, best->revision, best->id);
	return best;
}

int session_discover(struct session *s, const char *name, uint64_t timeout_us,
		     bool list_only, char *err, size_t errlen)
{
	const struct dnbd_image_info *img;
	uint64_t start = now_us(), end = start + timeout_us, now, next_hello;
	uint64_t first = 0, grace;
	int rc;

	dnbd_client_hello(&s->core, name, start);
	next_hello = start + 250000;
	for (now = start; now < end; now = now_us()) {
		/* Refused and nobody else spoke up within a second: done. */
		if (!s->core.n_images && s->core.refused_code &&
		    now - start > 1000000)
			break;
		if (s->core.n_images && !first &&
		    (!name || choose(s, name, err, errlen))) {
			first = now;
			grace = 4 * (now - start);
			if (grace < REPLICA_GRACE_MIN_US)
				grace = REPLICA_GRACE_MIN_US;
			if (grace > REPLICA_GRACE_MAX_US)
				grace = REPLICA_GRACE_MAX_US;
			if (end > now + grace)
				end = now + grace;
		}
		if (now >= next_hello) {
			dnbd_client_hello(&s->core, name, now);
			next_hello = now + 250000;
		}
		session_poll(s, (next_hello < end ? next_hello : end) - now);
	}
	if (!s->core.n_images && s->core.refused_code == DNBD_E_CHANGED) {
		snprintf(err, errlen, "server %u on %s no longer serves the "
			 "image: it changed under the server (restart "
			 "dnbd-server to export the new content)",
			 s->core.refused_by, s->where);
		return -1;
	}
	if (!s->core.n_images) {
		const uint64_t *cc = s->core.counters;

		snprintf(err, errlen, "no dnbd server answered on %s within "
			 "%.1f s%s", s->where, (double)timeout_us / 1e6,
			 cc[DNBD_CC_auth_unexpected] ? " (but tagged datagrams "
			 "arrived: the servers use a key, see --key-file)" :
			 cc[DNBD_CC_auth_failures] ? " (but datagrams with a "
			 "wrong tag arrived: is it the lab's key?)" :
			 cc[DNBD_CC_auth_missing] ? " (but untagged datagrams "
			 "arrived: the servers use no key)" : "");
		return -1;
	}
	if (list_only)
		return 0;
	img = choose(s, name, err, errlen);
	if (!img)
		return -1;
	rc = dnbd_client_select(&s->core, img);
	if (rc) {
		snprintf(err, errlen, "cannot use image %s: %s", img->name,
			 session_strerror(rc));
		return -1;
	}
	return 0;
}

void session_json(FILE *f, const struct session *s)
{
	fprintf(f, "\"counters\":{");
	json_counters(f, dnbd_client_counter_names, s->core.counters,
		      DNBD_CC_MAX);
	fprintf(f, "},\"transport\":{\"gro\":%s,\"receives\":%" PRIu64
		",\"buffers\":%" PRIu64 ",\"coalesced\":%" PRIu64
		",\"datagrams\":%" PRIu64 "}",
		s->gro ? "true" : "false", s->rx.calls, s->rx.buffers,
		s->rx.coalesced, s->rx.datagrams);
}

void session_close(struct session *s)
{
	free(s->rxbuf);
	s->rxbuf = NULL;
	dnbd_client_fini(&s->core);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
