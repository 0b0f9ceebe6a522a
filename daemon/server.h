/* SPDX-License-Identifier: GPL-2.0 */
/*
 * server.h - dnbd-server internals.
 *
 * One event-loop thread (main.c) receives and validates every datagram,
 * answers HELLOs, applies the dedup window and queues read jobs; worker
 * threads (serve.c) pread the requested span once and send its segments
 * in UDP GSO trains (or one by one) with sendmmsg, paced by one token
 * bucket (pace.c).
 */
#ifndef DNBD_SERVER_H
#define DNBD_SERVER_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "dnbd_wire.h"
#include "dnbd_auth.h"
#include "net.h"

/* Every counter: its name (stats file, metrics) and a line of help. */
#define SRV_COUNTERS(X)							\
	X(datagrams_received, "Datagrams received, own looped-back ones excluded") \
	X(requests, "READ requests accepted") \
	X(requests_retry, "READ requests flagged as a client's retry") \
	X(hellos, "HELLO datagrams accepted") \
	X(announces_sent, "ANNOUNCE datagrams sent") \
	X(segments_sent, "Datagrams sent in replies: REPLY and PARITY") \
	X(bytes_sent, "Bytes sent in replies, headers included") \
	X(data_bytes_sent, "Image bytes sent in REPLY datagrams") \
	X(segments_rerequested, "Segments asked for again in retried READs") \
	X(duplicates_suppressed, "Segments not sent because one was just multicast") \
	X(errors_sent, "ERROR datagrams sent") \
	X(requests_out_of_range, "Requests for segments beyond an image's end") \
	X(for_other_server, "Requests addressed to another server id") \
	X(crc_failures, "Datagrams dropped for a bad CRC32C") \
	X(drop_short, "Datagrams dropped as too short") \
	X(drop_magic, "Datagrams dropped for a wrong magic") \
	X(drop_version, "Datagrams dropped for an unknown protocol version") \
	X(drop_length, "Datagrams dropped for a length that does not match") \
	X(drop_type, "Datagrams dropped for a type this server does not take") \
	X(drop_field, "Datagrams dropped for an invalid field") \
	X(drop_image, "Requests dropped for an image this server does not export") \
	X(send_errors, "Send calls that failed") \
	X(rate_waits, "Times a sender waited for the pacer") \
	X(image_changed, "Images that changed under the server: no longer served") \
	X(queue_full, "Requests dropped because the job queue was full") \
	X(io_errors, "Image reads that failed") \
	X(own_looped, "Own multicast datagrams heard back and skipped") \
	X(requests_ratelimited, "Requests dropped by the per-source rate limit") \
	X(control_ratelimited, "Control datagrams not sent: the pacer was full") \
	X(auth_missing, "Datagrams dropped for a missing tag (keyed server)") \
	X(auth_failures, "Datagrams dropped for a wrong tag") \
	X(auth_unexpected, "Datagrams dropped for a tag the server does not expect") \
	X(sends, "Send calls for replies") \
	X(gso_sends, "Send calls that carried a UDP GSO train") \
	X(gso_fallbacks, "Times UDP GSO was refused and replies went one by one") \
	X(repairs, "REPAIR requests accepted") \
	X(repairs_retry, "REPAIR requests flagged as a client's retry") \
	X(parity_sent, "PARITY datagrams sent") \
	X(parity_suppressed, "Parity symbols not sent: they were just multicast") \
	X(parity_proactive, "Replies that carried proactive parity") \
	X(rate_decreases, "Times rate control lowered the rate") \
	X(rate_increases, "Times rate control raised the rate") \
	X(qdelay_reports, "Queueing delay reports received from clients")

#define SC_ENUM(name, help) SC_##name,
enum srv_counter { SRV_COUNTERS(SC_ENUM) SC_MAX };
#undef SC_ENUM
extern const char *const srv_counter_names[SC_MAX];
extern const char *const srv_counter_help[SC_MAX];

/*
 * The dedup table must hold every segment sent within the dedup window,
 * or a slot is taken over before its window ends and a late duplicate
 * request goes out again: 2^17 slots (183 MB of 1400-byte segments) cover
 * the default 50 ms window up to 3.6 GB/s (with 8192, 7 ms at the 1.5 GB/s
 * of a veth: 8 readers made it send 2-3x the image).
 * 3 MiB per image, touched only where used.
 */
#define DEDUP_BITS	17
#define DEDUP_SLOTS	(1u << DEDUP_BITS)
#define MAX_IMAGES	64
#define JOBQ_LEN	4096

/*
 * The dedup window: one slot per segment hash.  The event loop claims a
 * slot when it queues a segment (sent_us = DEDUP_QUEUED); the worker
 * stores the send time once it is on the wire.  Collisions only cost a
 * duplicate send or a client retry, never wrong data.
 */
#define DEDUP_QUEUED	UINT64_MAX

struct dedup_slot {
	_Atomic uint64_t seg;
	_Atomic uint64_t sent_us;
	uint32_t client_id;	/* the READ it was sent for (event loop) */
	uint32_t req_id;
	uint16_t seg_size;
};

/*
 * The same for parity symbols: one slot per hash of (block, index), the
 * key the full 64-bit hash.  Event loop only.
 */
#define PARDEDUP_BITS	12
struct pardedup_slot {
	uint64_t key;
	uint64_t sent_us;
};
/* Parity symbols one REPAIR may get (a client never needs more than the
 * holes it has; the rest of a larger count is ignored). */
#define PARITY_JOB_MAX	32

struct image {
	char path[PATH_MAX];
	char name[DNBD_NAME_MAX + 1];
	uint8_t name_len;
	struct dnbd_addr group;		/* where it is announced and served */
	bool group_set;
	uint32_t revision;
	bool rev_set;
	int fd;
	bool is_blockdev;
	uint64_t size;
	uint64_t id;
	int sock;			/* index into server.socks */
	atomic_bool changed;
	_Atomic uint64_t requests, segments_sent, data_bytes_sent;
	struct dedup_slot *dedup;	/* DEDUP_SLOTS, shared with workers */
	struct pardedup_slot *pardedup;	/* 1 << PARDEDUP_BITS */
	uint8_t loss;			/* worst recent loss report, / 256 */
	uint64_t loss_us;		/* when it came (event loop only) */
};

struct srv_config {
	struct dnbd_addr mcast;		/* -m: group, or our unicast address */
	bool multicast;
	struct image images[MAX_IMAGES];
	unsigned int n_images;
	uint16_t id;
	unsigned int threads;
	uint16_t port;
	const char *iface;
	int ttl;
	uint64_t rate;			/* --rate: the most, 0: no cap */
	uint64_t rate_min;		/* --rate-min: rate control's floor */
	bool rate_control;		/* --rate-control: follow the link */
	uint16_t seg_max;
	const char *stats_path;
	const char *metrics_path;	/* --metrics: Prometheus textfile */
	const char *trace_path;		/* --trace: one line per READ */
	uint32_t dedup_us;
	uint32_t announce_us;
	uint32_t revision;
	bool rev_set;
	int verbose;
	uint64_t client_rate;		/* --client-rate, bytes/s per source */
	const char *key_file;
	bool keyed;			/* --key-file: tag and check */
	bool no_gso;			/* --no-gso: one send per datagram */
	bool no_fec;			/* --no-fec: REPAIR not answered */
	bool loop;			/* --loop: hear our own multicast */
	struct dnbd_key key;
};

struct pacer {
	pthread_mutex_t lock;
	pthread_cond_t moved;	/* the rate changed: waiters look again */
	uint64_t rate;		/* bytes per second, 0: unlimited */
	uint64_t burst;
	int64_t tokens;		/* may go negative: debt */
	uint64_t earned;	/* bytes earned so far: the timeline */
	uint64_t last_us;
};

/*
 * Rate control (ratectl.c): the pacer's rate follows the queueing delay
 * the clients report; event loop only.
 */
#define RC_PERIOD_US	50000u 	/* one decision per period; */
#define RC_SLOW_US	25000u		/* in slow start, one per this */
#define RC_IDLE_US	500000u		/* no reports this long: slow start */
#define RC_TARGET_MS	25u		/* queueing delay readers may see */
#define RC_CLEAN_MS	4u		/* a report of no queue (one unit) */
#define RC_START	12500000u	/* bytes/s: 100 Mbit/s, then growing */
/* Above this (4 Gbit/s) without --rate the pacer steps aside: pacing
 * would cost more than the fastest link it could protect. */
#define RC_UNPACED	500000000u

struct ratectl {
	uint64_t cap, floor;	/* --rate (0: none), --rate-min */
	uint64_t rate;		/* bytes per second now, 0: unpaced */
	uint64_t prev;		/* the rate before the last rise */
	uint64_t period_us;	/* this period's start */
	uint64_t reported_us;	/* the last period with a report */
	uint64_t hold_until_us;	/* no new drop before: the last one acts */
	unsigned int worst_ms;	/* largest report in this period */
	unsigned int last_worst_ms;
	unsigned int over;	/* periods in a row above the target */
	unsigned int q_drop_ms;	/* the report at the last drop, 0: none */
	bool reported;
	bool slow;		/* slow start: no queue seen yet */
	bool limited;		/* the pacer held senders back last period */
	bool unreported;	/* a READ without a report this period */
	bool deaf;		/* last period: reads, but no reports */
	uint64_t decreases, increases;
};

/* Per-source token buckets (srcrate.c); event loop only. */
struct srcrate_slot;
struct srcrate {
	struct srcrate_slot *slots;
	uint64_t rate;		/* bytes per second, 0: off */
	uint64_t burst;
	uint64_t seed;
	uint64_t evictions;
};

/* What --trace says about one READ (trace.c). */
struct trace_rec {
	struct image *img;
	struct dnbd_addr from;
	uint64_t at;		/* when it arrived (now_us) */
	uint64_t offset, length;
	bool retry;
};

struct trace_log {
	FILE *f;		/* NULL: no --trace */
	const char *path;
	uint64_t t0, lines;
	pthread_mutex_t lock;
	bool failed;		/* the last flush failed (said once) */
};

struct job {
	struct image *img;
	struct dnbd_addr dest;
	uint64_t offset;	/* first segment of the request */
	uint64_t mask[2];
	uint32_t client_id, req_id, echo;
	uint16_t seg_size;
	uint16_t nsegs;
	/* A parity job (REPAIR): these parity indices of the block mask. */
	bool parity;
	uint64_t par[2];
	uint8_t proactive;	/* a READ's: parity symbols after its data */
	bool traced;		/* --trace: tr is logged when the job is done */
	struct trace_rec tr;
};

/*
 * Who the server hears (seen.c): the clients that send it requests and
 * the replicas whose replies it overhears.  Owned by the event loop; the
 * stats file and the metrics show it.  Fixed tables: a new address takes
 * the slot heard from least recently, so forged sources cannot grow it.
 */
#define SEEN_CLIENTS	256
#define SEEN_REPLICAS	16
/* A client heard again after this much silence has booted again. */
#define SEEN_REBOOT_US	(30 * 1000000ull)
/* Its boot reads have settled once it sent no READ for this long. */
#define SEEN_SETTLE_US	(30 * 1000000ull)
/* Heard within this long: active (a client HELLOs every second). */
#define SEEN_ACTIVE_US	(10 * 1000000ull)

enum seen_what { SEEN_HELLO, SEEN_READ, SEEN_REPAIR };

struct seen_client {
	uint8_t ip[4];
	bool used;
	bool settled;		/* its boot reads are over (SEEN_SETTLE_US) */
	int image;		/* index of the image it last asked for, or -1 */
	uint64_t first_us, last_us, last_read_us;
	uint64_t hellos, reads, retries, repairs, segments;
};

struct seen_replica {
	uint16_t id;
	bool used;
	uint8_t ip[4];
	uint64_t first_us, last_us, datagrams;
};

struct seen {
	struct seen_client c[SEEN_CLIENTS];
	struct seen_replica r[SEEN_REPLICAS];
};

struct srv_sock {
	struct dnbd_addr addr;
	int fd;
	/* Largest datagram sent in UDP GSO trains; 0: none (--no-gso, or
	 * the kernel refused them).  Lowered by the workers. */
	_Atomic uint16_t gso_max;
	atomic_bool gso_logged;
};

struct server {
	struct srv_config cfg;
	struct srv_sock socks[MAX_IMAGES];
	unsigned int n_socks;
	int epfd, sigfd;
	uint64_t start_us;
	struct pacer pacer;
	struct ratectl ratectl;
	uint64_t rc_waits;		/* rate_waits at the last period */
	struct srcrate srcrate;
	struct seen seen;
	bool metrics_failed;		/* the last write failed (said once) */
	struct trace_log trace;		/* --trace */
	_Atomic uint64_t counters[SC_MAX];
	/* Job queue between the event loop and the workers. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct job *queue;
	unsigned int qhead, qlen;
	bool stopping;
	pthread_t *workers;
	/*
	 * NULL in dnbd-server.  The fuzzers set it: every datagram the
	 * server would send goes here instead of to the socket fd.
	 */
	void (*tx_hook)(struct server *s, int fd, const struct msghdr *m);
};

/* The rate replies are paced at now, bytes/s; 0: unpaced. */
static inline uint64_t srv_rate(const struct server *s)
{
	return s->cfg.rate_control ? s->ratectl.rate : s->cfg.rate;
}

static inline void sc_add(struct server *s, enum srv_counter c, uint64_t n)
{
	atomic_fetch_add_explicit(&s->counters[c], n, memory_order_relaxed);
}

/* config.c */
/* 0: run; 1: -V or -h printed what was asked, exit 0; -1: usage error,
 * already reported on stderr (exit 2). */
int config_parse(struct srv_config *cfg, int argc, char **argv);
void config_usage(FILE *f);

/* image.c */
int image_open(struct image *img);
int image_size_now(const struct image *img, uint64_t *size);
ssize_t image_read(const struct image *img, uint64_t off, void *buf,
		   size_t len);

/* pace.c */
void pace_init(struct pacer *p, uint64_t rate);
uint64_t pace_wait(struct pacer *p, uint64_t mark);
uint64_t pace_left_us(struct pacer *p, uint64_t mark, uint64_t now);
uint64_t pace_reserve(struct pacer *p, uint64_t bytes, uint64_t now,
		      uint64_t *rate, bool *waited, uint64_t *mark);
bool pace_control(struct pacer *p, uint64_t bytes);
void pace_set_rate(struct pacer *p, uint64_t rate);
uint64_t pace_chunk(uint64_t rate);

/* ratectl.c */
void ratectl_init(struct ratectl *rc, uint64_t cap, uint64_t floor,
		  uint64_t now);
void ratectl_report(struct ratectl *rc, unsigned int qdelay_ms);
void ratectl_unreported(struct ratectl *rc);
/* Once per RC_PERIOD_US; waited: the pacer held a sender back since the
 * last call.  True: a new rate. */
bool ratectl_tick(struct ratectl *rc, uint64_t now, bool waited);
/* The length of the period that has begun. */
uint64_t ratectl_period(const struct ratectl *rc);
/* The pacer's rate for rate control's: 0 (unpaced) from RC_UNPACED up. */
uint64_t ratectl_pace(const struct ratectl *rc);

/* srcrate.c */
int srcrate_init(struct srcrate *r, uint64_t rate);
void srcrate_fini(struct srcrate *r);
bool srcrate_take(struct srcrate *r, const struct dnbd_addr *from,
		  uint64_t cost, uint64_t now);

/* seen.c */
void seen_client(struct seen *t, const struct dnbd_addr *from, int image,
		 enum seen_what what, bool retry, unsigned int segs,
		 uint64_t now);
void seen_replica(struct seen *t, uint16_t id, const struct dnbd_addr *from,
		  uint64_t now);
/* Marks the clients whose boot reads settled; once a second. */
void seen_tick(struct seen *t, uint64_t now);
unsigned int seen_active_clients(const struct seen *t, uint64_t now);
unsigned int seen_active_replicas(const struct seen *t, uint64_t now);
/* "clients":[...],"replicas":[...] for the stats file. */
void seen_json(FILE *f, const struct server *s, uint64_t now);

/* trace.c */
/* Opens path and writes the header; 0 or -errno. */
int trace_open(struct trace_log *t, const char *path, uint64_t now);
/* One READ, done at done (now_us); any thread.  No-op without --trace. */
void trace_read(struct trace_log *t, const struct trace_rec *r, uint64_t done);
void trace_flush(struct trace_log *t);	/* event loop, once a second */
void trace_close(struct trace_log *t);

/* metrics.c */
/* Writes the Prometheus text format to path (atomically); 0 or -errno. */
int metrics_write(const struct server *s, const char *path, uint64_t now);

/* serve.c */
void serve_datagram(struct server *s, struct srv_sock *sk,
		    const uint8_t *buf, size_t len,
		    const struct dnbd_addr *from, uint64_t now);
void serve_announce(struct server *s, struct image *img, uint32_t client_id,
		    uint32_t echo, const struct dnbd_addr *to);
/* Largest span a job reads: the buffer serve_run_queued() needs. */
#define SERVE_SPAN_MAX	((size_t)DNBD_REQ_SEGS_MAX * DNBD_SEG_MAX)
/* Runs the queued jobs in the calling thread, as a worker would; only
 * when no workers run (the fuzzers). */
void serve_run_queued(struct server *s, uint8_t *span);
int serve_start_workers(struct server *s);
void serve_stop_workers(struct server *s);

#endif
