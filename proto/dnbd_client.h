/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dnbd_client.h - the client protocol core, shared by dnbd-cat (userspace)
 * and dnbd.ko (kernel).
 *
 * The core owns the protocol logic: image discovery, the server table with
 * smoothed RTT, weighted server choice and failover, retransmit timers with
 * backoff, segment reassembly, suppression of requests another client has
 * already made, and a bounded cache of overheard replies.  It does no I/O
 * and reads no clock: the host passes the time into every call and gives
 * it a struct dnbd_env for sending, memory and randomness.  It is not
 * thread-safe; the host serialises calls (a mutex or spinlock).
 */
#ifndef DNBD_CLIENT_H
#define DNBD_CLIENT_H

#include "dnbd_port.h"
#include "dnbd_wire.h"
#include "dnbd_cache.h"
#include "dnbd_auth.h"

#define DNBD_MAX_SERVERS	16
#define DNBD_MAX_IMAGES		16
#define DNBD_FOREIGN_SLOTS	256
#define DNBD_PCACHE_SLOTS	256	/* parity symbols kept for later */

/* Results handed to read_done() and returned by the API (negative). */
enum dnbd_err {
	DNBD_ERR_INVAL = 1,	/* bad argument (length, alignment) */
	DNBD_ERR_RANGE,		/* past the end of the image */
	DNBD_ERR_TIMEDOUT,	/* io_timeout passed without an answer */
	DNBD_ERR_NOMEM,
	DNBD_ERR_CANCELED,	/* dnbd_client_cancel_all() */
	DNBD_ERR_NOIMAGE,	/* no image selected, or unknown id */
};

/* An IPv4 or IPv6 address and port, host byte order for the port. */
struct dnbd_addr {
	uint8_t family;		/* 4 or 6 */
	uint16_t port;
	uint8_t ip[16];		/* IPv4 uses ip[0..3] */
};

struct dnbd_read;

struct dnbd_env {
	void *ctx;
	/* Send one datagram; may drop it (the core retransmits). */
	int (*send)(void *ctx, const struct dnbd_addr *to, const void *buf,
		    size_t len);
	void *(*alloc)(void *ctx, size_t len);	/* zeroed memory */
	void (*free)(void *ctx, void *p);
	uint32_t (*random)(void *ctx);
	/* A read finished: err is 0 or a negative enum dnbd_err. */
	void (*read_done)(void *ctx, struct dnbd_read *r, int err);
	/* Optional: a server came up (up=1) or went down (up=0). */
	void (*server_event)(void *ctx, uint16_t id, int up);
	/*
	 * Optional: a segment nobody here asked for passed by (another
	 * client's reply).  The kernel host keeps it in its cache file.
	 */
	void (*overheard)(void *ctx, uint64_t seg, const uint8_t *data,
			  uint16_t len);
};

#define DNBD_CLIENT_COUNTERS(X)						\
	X(hellos_sent) X(announces_received) X(requests_sent)		\
	X(segments_requested) X(segments_rerequested) X(timeouts)	\
	X(fast_retransmits) X(failovers) X(segments_received)		\
	X(bytes_received) X(segments_duplicate) X(replies_overheard)	\
	X(overheard_cached) X(cache_hits) X(cache_misses)		\
	X(requests_suppressed) X(foreign_requests_seen)		\
	X(errors_received) X(reads_completed) X(reads_failed)		\
	X(crc_failures) X(drop_short) X(drop_magic) X(drop_version)	\
	X(drop_length) X(drop_type) X(drop_field) X(drop_image)	\
	X(drop_range) X(drop_segsize) X(drop_own)			\
	X(auth_missing) X(auth_failures) X(auth_unexpected)		\
	X(announces_dropped) X(server_moved) X(stall_retransmits)	\
	X(repairs_sent) X(repairs_suppressed) X(parity_received)	\
	X(parity_unused) X(parity_bad) X(segments_rebuilt)		\
	X(parity_cached) X(parity_cache_hits)

#define DNBD_CC_ENUM(name) DNBD_CC_##name,
enum dnbd_client_counter { DNBD_CLIENT_COUNTERS(DNBD_CC_ENUM) DNBD_CC_MAX };
#undef DNBD_CC_ENUM
extern const char *const dnbd_client_counter_names[DNBD_CC_MAX];

enum dnbd_srv_state { DNBD_SRV_EMPTY = 0, DNBD_SRV_UP, DNBD_SRV_DOWN };

struct dnbd_server {
	uint16_t id;
	uint8_t state;
	bool sampled;		/* srtt holds a real sample */
	struct dnbd_addr addr;	/* where its datagrams come from */
	uint64_t image_id;
	uint32_t srtt_us;
	uint32_t rttvar_us;
	uint32_t weight;	/* proportional to 1/srtt, 0 when down */
	uint32_t timeouts;	/* consecutive, reset by any reply */
	bool suspect;		/* silent at a read's timeout or stall */
	bool fec;		/* answers REPAIR (ANNOUNCE flag) */
	uint16_t seg_max;
	uint64_t last_rx_us;
	uint64_t requests;
	uint64_t replies;
	/*
	 * One-way delay of its stamped REPLYs, ms mod 65536 (protocol.md
	 * section 21): the least of this window and of the last one is the
	 * path without queues.
	 */
	uint16_t owd_min[2];
	uint64_t owd_win_us;	/* this window's start */
	bool owd_valid;
};

struct dnbd_image_info {
	uint64_t id;
	uint64_t size;
	uint32_t revision;
	uint16_t seg_max;
	uint8_t name_len;
	char name[DNBD_NAME_MAX + 1];
};

struct dnbd_client_cfg {
	bool multicast;			/* requests to group, else unicast */
	struct dnbd_addr group;		/* multicast group and port */
	struct dnbd_addr unicast[DNBD_MAX_SERVERS];
	unsigned int n_unicast;
	uint16_t seg_size;		/* DNBD_SEG_DEFAULT if 0 */
	uint64_t cache_bytes;		/* overheard-reply cache, 0: none */
	uint32_t rto_min_us;		/* defaults: 10 ms */
	uint32_t rto_max_us;		/* 2 s */
	uint32_t hello_interval_us;	/* 1 s */
	uint64_t io_timeout_us;		/* 0: reads wait for a server forever */
	uint32_t client_id;		/* 0: drawn from env->random */
	/*
	 * With keyed: every datagram sent carries a tag, and every datagram
	 * received without a valid one is dropped (auth_missing,
	 * auth_failures).  Without: tagged datagrams are dropped
	 * (auth_unexpected).  dnbd_client_fini() wipes the key.
	 */
	bool keyed;
	struct dnbd_key key;
	bool no_fec;			/* never ask for parity (REPAIR) */
};

struct dnbd_read_fec;			/* client.c: parity held by a read */

/* One read of [offset, offset + length); the host owns the memory. */
struct dnbd_read {
	uint64_t offset;
	uint32_t length;
	uint8_t *buf;
	void *priv;
	/* Private to the core. */
	struct dnbd_read *next, *prev;
	uint64_t seg0;
	uint16_t nsegs;
	uint16_t server;
	uint64_t have[2];
	uint64_t asked[2];		/* segments the last request named */
	uint32_t req_id;
	uint32_t tries;
	uint32_t backoff;		/* timeouts in a row: RTO << backoff */
	uint32_t rto_us;
	uint32_t rx_n;			/* own burst's segments since the send */
	uint64_t rx_first_us, rx_last_us;	/* when the first, last came */
	uint64_t start_us, sent_us, deadline_us;
	uint32_t wait_client, wait_req;	/* foreign request we wait on */
	bool shared;			/* other clients read this range */
	uint32_t fb_client, fb_req;	/* foreign burst that last filled it */
	struct dnbd_read_fec *fec;	/* parity received for it, or NULL */
	bool fec_off;			/* a rebuild failed: holes by name */
};

/* A parity symbol overheard before a read of its block (client.c). */
struct dnbd_pcache_slot {
	uint64_t seg0;
	uint64_t mask[2];
	uint32_t block_crc;
	uint8_t index;
	bool used;
};

struct dnbd_foreign {
	uint64_t seen_us;
	uint64_t seg0;
	uint64_t mask[2];
	uint32_t client_id, req_id;
	uint16_t nsegs;
};

struct dnbd_client {
	struct dnbd_client_cfg cfg;
	struct dnbd_env env;
	uint32_t client_id;
	uint32_t next_req;
	bool selected;
	struct dnbd_image_info image;
	struct dnbd_image_info images[DNBD_MAX_IMAGES];	/* discovered */
	unsigned int n_images;
	struct dnbd_server servers[DNBD_MAX_SERVERS];
	struct dnbd_foreign foreign[DNBD_FOREIGN_SLOTS];
	unsigned int foreign_next;
	uint64_t foreign_us;		/* another client's request seen */
	struct dnbd_pcache_slot pcache[DNBD_PCACHE_SLOTS];
	uint8_t *pcache_sym;		/* their symbols, seg_max bytes each */
	unsigned int pcache_next;
	struct dnbd_read pending;	/* list head */
	unsigned int n_pending;
	struct dnbd_cache cache;
	uint64_t read_hwm;		/* 1 + the last segment a read asked */
	uint16_t loss;			/* recent loss seen, x / 65536 */
	/* Least queueing delay in this window and the last (client.c). */
	uint16_t qd_min[2];
	uint64_t qd_win_us, qd_last_us;	/* window start, last sample */
	/*
	 * Set by the caller of dnbd_client_input() where it knows it: when
	 * the datagram reached the host (a kernel receive timestamp, on the
	 * clock of now), so that the time it waited for this client's CPU
	 * is not taken for a queue in the network.  0: now.
	 */
	uint64_t rx_arrival_us;
	uint64_t next_hello_us;
	uint16_t refused_by;		/* a server answered HELLO with ERROR */
	uint16_t refused_code;
	uint64_t counters[DNBD_CC_MAX];
	uint8_t txbuf[DNBD_HELLO_LEN + DNBD_NAME_MAX + DNBD_MAC_LEN + 64];
};

int dnbd_client_init(struct dnbd_client *c, const struct dnbd_client_cfg *cfg,
		     const struct dnbd_env *env);
/* Fails pending reads with DNBD_ERR_CANCELED and frees the cache. */
void dnbd_client_fini(struct dnbd_client *c);

/* Solicit announcements now (name may be NULL: any image). */
void dnbd_client_hello(struct dnbd_client *c, const char *name, uint64_t now);
/* Fix the image: one of c->images, or a known id/size (kernel path). */
int dnbd_client_select(struct dnbd_client *c,
		       const struct dnbd_image_info *img);
/* No other client's request heard lately (the last second): reading alone. */
bool dnbd_client_alone(const struct dnbd_client *c, uint64_t now);
/* Feed one received datagram. */
void dnbd_client_input(struct dnbd_client *c, const uint8_t *buf, size_t len,
		       const struct dnbd_addr *from, uint64_t now);
/*
 * Start a read.  Returns 0 (read_done() is called later, or before this
 * returns when the cache held everything) or a negative enum dnbd_err.
 * length is at most dnbd_client_max_read().
 */
int dnbd_client_read(struct dnbd_client *c, struct dnbd_read *r, uint64_t now);
uint32_t dnbd_client_max_read(const struct dnbd_client *c);
/* Run timers; returns the time of the next deadline. */
uint64_t dnbd_client_timer(struct dnbd_client *c, uint64_t now);
void dnbd_client_cancel_all(struct dnbd_client *c, int err);
unsigned int dnbd_client_servers_up(const struct dnbd_client *c);

#endif /* DNBD_CLIENT_H */
