// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - dnbd-server: start-up, the event loop, signals, stats.
 *
 * One epoll loop owns the sockets (one per multicast group, or one for
 * the unicast fallback) and a signalfd.  It drains each socket with
 * recvmmsg(), hands datagrams to serve_datagram(), and once a second
 * writes the stats file, checks image sizes and announces the images.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "stats.h"
#include "util.h"

#define RECV_BATCH	32
#define TICK_US		1000000u

#define SC_NAME(name, help) #name,
const char *const srv_counter_names[SC_MAX] = { SRV_COUNTERS(SC_NAME) };
#undef SC_NAME
#define SC_HELP(name, help) help,
const char *const srv_counter_help[SC_MAX] = { SRV_COUNTERS(SC_HELP) };
#undef SC_HELP

static void snapshot(struct server *s, uint64_t *v)
{
	unsigned int i;

	for (i = 0; i < SC_MAX; i++)
		v[i] = atomic_load_explicit(&s->counters[i],
					    memory_order_relaxed);
}

static void write_stats(struct server *s, uint64_t now)
{
	uint64_t v[SC_MAX];
	char *data = NULL, a[ADDR_STRLEN];
	size_t len = 0;
	unsigned int i;
	FILE *f;
	int err;

	if (!s->cfg.stats_path)
		return;
	f = open_memstream(&data, &len);
	if (!f)
		return;
	snapshot(s, v);
	fprintf(f, "{\"server_id\":%u,\"uptime_s\":%" PRIu64 ",\"rate\":%"
		PRIu64 ",\"qdelay_ms\":%u,\"counters\":{", s->cfg.id,
		(now - s->start_us) / 1000000u,
		srv_rate(s), s->ratectl.last_worst_ms);
	json_counters(f, srv_counter_names, v, SC_MAX);
	fprintf(f, "},\"images\":[");
	for (i = 0; i < s->cfg.n_images; i++) {
		struct image *img = &s->cfg.images[i];

		addr_str(&img->group, a);
		*strrchr(a, ':') = '\0';
		/* Names are printable ASCII without quotes; paths are not. */
		fprintf(f, "%s{\"name\":\"%s\",\"path\":", i ? "," : "",
			img->name);
		json_str(f, img->path);
		fprintf(f, ",\"id\":\"0x%016"
			PRIx64 "\",\"size\":%" PRIu64 ",\"revision\":%u,"
			"\"group\":\"%s\",\"port\":%u,\"requests\":%" PRIu64
			",\"segments_sent\":%" PRIu64 ",\"data_bytes_sent\":%"
			PRIu64 ",\"changed\":%s}", img->id, img->size,
			img->revision, a,
			img->group.port, atomic_load(&img->requests),
			atomic_load(&img->segments_sent),
			atomic_load(&img->data_bytes_sent),
			atomic_load(&img->changed) ? "true" : "false");
	}
	fprintf(f, "],");
	seen_json(f, s, now);
	fprintf(f, "}\n");
	fclose(f);
	err = write_file_atomic(s->cfg.stats_path, data, len);
	if (err)
		log_err("cannot write stats to %s: %s", s->cfg.stats_path,
			strerror(-err));
	free(data);
}

static void write_metrics(struct server *s, uint64_t now)
{
	int err;

	if (!s->cfg.metrics_path)
		return;
	err = metrics_write(s, s->cfg.metrics_path, now);
	if (err && !s->metrics_failed)
		log_err("cannot write metrics to %s: %s (said once)",
			s->cfg.metrics_path, strerror(-err));
	s->metrics_failed = err != 0;
}

static void log_stats(struct server *s)
{
	uint64_t v[SC_MAX];
	char *data = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&data, &len);
	if (!f)
		return;
	snapshot(s, v);
	text_counters(f, "counters:", srv_counter_names, v, SC_MAX);
	fclose(f);
	for (line = strtok_r(data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		log_info("%s", line);
	free(data);
}

static void check_images(struct server *s)
{
	unsigned int i;
	uint64_t size;

	for (i = 0; i < s->cfg.n_images; i++) {
		struct image *img = &s->cfg.images[i];

		if (atomic_load(&img->changed) || image_size_now(img, &size) ||
		    size == img->size)
			continue;
		atomic_store(&img->changed, true);
		sc_add(s, SC_image_changed, 1);
		log_err("image %s changed size under the server (%" PRIu64
			" -> %" PRIu64 " bytes): no longer served; restart "
			"dnbd-server to export the new content", img->name,
			img->size, size);
	}
}

static void announce_all(struct server *s)
{
	unsigned int i;

	if (!s->cfg.multicast)
		return;			/* unicast: only solicited */
	for (i = 0; i < s->cfg.n_images; i++)
		serve_announce(s, &s->cfg.images[i], 0, 0,
			       &s->cfg.images[i].group);
}

static int open_sockets(struct server *s)
{
	char err[256], a[ADDR_STRLEN];
	struct epoll_event ev;
	unsigned int i, k;

	for (i = 0; i < s->cfg.n_images; i++) {
		struct image *img = &s->cfg.images[i];

		for (k = 0; k < s->n_socks; k++)
			if (addr_equal(&s->socks[k].addr, &img->group))
				break;
		img->sock = (int)k;
		if (k < s->n_socks)
			continue;
		s->socks[k].addr = img->group;
		s->socks[k].fd = udp_socket(&img->group, 0, s->cfg.iface,
					    s->cfg.ttl, err, sizeof(err));
		if (s->socks[k].fd < 0) {
			log_err("%s", err);
			return -1;
		}
		s->n_socks++;
		/* Our own replies are of no use to us (replicas on other
		 * hosts still hear each other); --loop for a client here. */
		if (s->cfg.multicast &&
		    udp_mcast_loop(s->socks[k].fd, s->cfg.loop)) {
			log_err("IP_MULTICAST_LOOP: %s", strerror(errno));
			return -1;
		}
		atomic_init(&s->socks[k].gso_max,
			    s->cfg.no_gso ? 0 : UINT16_MAX);
		atomic_init(&s->socks[k].gso_logged, false);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = k;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->socks[k].fd, &ev))
			return -1;
		log_info("listening on %s%s", addr_str(&img->group, a),
			 s->cfg.multicast ? "" : " (unicast)");
	}
	return 0;
}

static int open_signals(struct server *s)
{
	struct epoll_event ev;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	s->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (s->sigfd < 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = UINT32_MAX;
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sigfd, &ev);
}

/* Returns false when the server should stop. */
static bool on_signal(struct server *s)
{
	struct signalfd_siginfo si;

	if (read(s->sigfd, &si, sizeof(si)) != sizeof(si))
		return true;
	switch (si.ssi_signo) {
	case SIGUSR1:
		log_stats(s);
		return true;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload; restart to change images");
		return true;
	default:
		log_info("signal %u: shutting down", si.ssi_signo);
		return false;
	}
}

struct rxbufs {
	struct mmsghdr msg[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_in from[RECV_BATCH];
	uint8_t buf[RECV_BATCH][DNBD_DGRAM_MAX + 1];
};

static void drain(struct server *s, struct srv_sock *sk, struct rxbufs *rx)
{
	struct dnbd_addr from;
	int n, i, rounds = 0;

	do {
		for (i = 0; i < RECV_BATCH; i++) {
			rx->iov[i].iov_base = rx->buf[i];
			rx->iov[i].iov_len = sizeof(rx->buf[i]);
			memset(&rx->msg[i], 0, sizeof(rx->msg[i]));
			rx->msg[i].msg_hdr.msg_iov = &rx->iov[i];
			rx->msg[i].msg_hdr.msg_iovlen = 1;
			rx->msg[i].msg_hdr.msg_name = &rx->from[i];
			rx->msg[i].msg_hdr.msg_namelen = sizeof(rx->from[i]);
		}
		n = recvmmsg(sk->fd, rx->msg, RECV_BATCH, MSG_DONTWAIT, NULL);
		for (i = 0; i < n; i++) {
			uint64_t now = now_us();
			size_t len = rx->msg[i].msg_len;

			addr_from_sin(&rx->from[i], &from);
			if (rx->msg[i].msg_hdr.msg_flags & MSG_TRUNC ||
			    len > DNBD_DGRAM_MAX) {
				sc_add(s, SC_datagrams_received, 1);
				sc_add(s, SC_drop_length, 1);
				continue;
			}
			serve_datagram(s, sk, rx->buf[i], len, &from, now);
		}
		/* Bounded: other sockets and timers get their turn. */
	} while (n == RECV_BATCH && ++rounds < 8);
}

/*
 * Rate control's period: the bytes sent and whether the pacer held a
 * sender back since the last one, and the pacer follows its decision.
 */
static void rate_tick(struct server *s, uint64_t now)
{
	uint64_t waits = atomic_load(&s->counters[SC_rate_waits]);
	uint64_t dec = s->ratectl.decreases, inc = s->ratectl.increases;
	bool deaf = s->ratectl.deaf;

	if (ratectl_tick(&s->ratectl, now, waits != s->rc_waits)) {
		pace_set_rate(&s->pacer, ratectl_pace(&s->ratectl));
		if (s->ratectl.decreases != dec)
			sc_add(s, SC_rate_decreases, 1);
		if (s->ratectl.increases != inc)
			sc_add(s, SC_rate_increases, 1);
		if (s->ratectl.deaf != deaf)
			log_info(s->ratectl.deaf ?
				 "readers send no queueing delay (older "
				 "clients): rate control paused, unpaced" :
				 "readers report queueing delay again: rate "
				 "control resumes");
		else if (s->cfg.verbose)
			log_info("rate %" PRIu64 " KiB/s (clients' queueing "
				 "delay %u ms)", s->ratectl.rate >> 10,
				 s->ratectl.last_worst_ms);
	}
	s->rc_waits = waits;
}

static int run(struct server *s)
{
	struct epoll_event ev[16];
	struct rxbufs *rx = malloc(sizeof(*rx));
	uint64_t now, next_tick = 0, next_announce = 0, next_rc = 0;
	int n, i, timeout;

	if (!rx)
		return -1;
	for (;;) {
		now = now_us();
		if (now >= next_tick) {
			check_images(s);
			seen_tick(&s->seen, now);
			write_stats(s, now);
			write_metrics(s, now);
			trace_flush(&s->trace);
			next_tick = now + TICK_US;
		}
		if (s->cfg.announce_us && now >= next_announce) {
			announce_all(s);
			next_announce = now + s->cfg.announce_us;
		}
		if (s->cfg.rate_control && now >= next_rc) {
			rate_tick(s, now);
			next_rc = now + ratectl_period(&s->ratectl);
		}
		timeout = (int)(((!s->cfg.rate_control || next_tick < next_rc ?
				  next_tick : next_rc) - now) / 1000) + 1;
		n = epoll_wait(s->epfd, ev, 16, timeout);
		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.u32 == UINT32_MAX) {
				if (!on_signal(s))
					goto out;
				continue;
			}
			drain(s, &s->socks[ev[i].data.u32], rx);
		}
	}
out:
	free(rx);
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv;
	struct server *s = &srv;
	char a[ADDR_STRLEN];
	unsigned int i;
	uint64_t now;
	int rc = 1;

	log_init("dnbd-server", 1);
	if (!crc32c_from_env())
		return 2;
	rc = config_parse(&s->cfg, argc, argv);
	if (rc)
		return rc < 0 ? 2 : 0;
	rc = 1;
	log_init("dnbd-server", s->cfg.verbose);
	s->start_us = now_us();
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || open_signals(s)) {
		log_err("event loop setup: %s", strerror(errno));
		return 1;
	}
	for (i = 0; i < s->cfg.n_images; i++)
		if (image_open(&s->cfg.images[i]))
			goto out;
	if (open_sockets(s))
		goto out;
	for (i = 0; i < s->cfg.n_images; i++) {
		struct image *img = &s->cfg.images[i];

		log_info("server %u exports %s (%s, %" PRIu64 " bytes, "
			 "revision %u, id 0x%016" PRIx64 ") on %s", s->cfg.id,
			 img->name, img->path, img->size, img->revision,
			 img->id, addr_str(&img->group, a));
	}
	ratectl_init(&s->ratectl, s->cfg.rate, s->cfg.rate_min, now_us());
	pace_init(&s->pacer, s->cfg.rate_control ?
		  ratectl_pace(&s->ratectl) : s->cfg.rate);
	if (srcrate_init(&s->srcrate, s->cfg.client_rate)) {
		log_err("out of memory");
		goto out;
	}
	/* A metrics file that cannot be written is an error at start-up
	 * (exit 1): say so now, not once a second. */
	if (s->cfg.metrics_path) {
		int err = metrics_write(s, s->cfg.metrics_path, now_us());

		if (err) {
			log_err("--metrics %s: cannot write: %s",
				s->cfg.metrics_path, strerror(-err));
			goto out;
		}
	}
	if (s->cfg.trace_path) {
		int err = trace_open(&s->trace, s->cfg.trace_path, now_us());

		if (err) {
			log_err("--trace %s: cannot write: %s",
				s->cfg.trace_path, strerror(-err));
			goto out;
		}
		log_info("tracing every READ to %s", s->cfg.trace_path);
	}
	if (s->cfg.keyed)
		log_info("keyed: every datagram is tagged with the key of %s",
			 s->cfg.key_file);
	if (serve_start_workers(s)) {
		log_err("cannot start worker threads");
		goto out;
	}
	rc = run(s) ? 1 : 0;
	now = now_us();		/* both files show the same moment */
	write_stats(s, now);
	write_metrics(s, now);
out:
	serve_stop_workers(s);
	trace_close(&s->trace);
	srcrate_fini(&s->srcrate);
	dnbd_key_wipe(&s->cfg.key);
	for (i = 0; i < s->n_socks; i++)
		close(s->socks[i].fd);
	for (i = 0; i < s->cfg.n_images; i++) {
		if (s->cfg.images[i].fd >= 0)
			close(s->cfg.images[i].fd);
		free(s->cfg.images[i].dedup);
		free(s->cfg.images[i].pardedup);
	}
	close(s->sigfd);
	close(s->epfd);
	return rc;
}
