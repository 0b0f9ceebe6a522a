/* SPDX-License-Identifier: GPL-2.0 */
/*
 * session.h - the userspace host of the client protocol core: a UDP
 * socket, a clock, memory and randomness for struct dnbd_env, and image
 * discovery.  dnbd-cat uses it; dnbd-client will use it to find the
 * image before handing it to the kernel.
 */
#ifndef DNBD_SESSION_H
#define DNBD_SESSION_H

#include <stdio.h>

#include "dnbd_client.h"
#include "net.h"

struct session_opts {
	const char *bind;	/* group, or unicast address[,address...] */
	const char *iface;
	uint16_t port;
	uint16_t seg_size;
	uint64_t cache_bytes;
	uint64_t timeout_us;	/* discovery, and each read (0: forever) */
	const char *key_file;	/* --key-file: the lab key */
	bool gro;		/* receive UDP GRO batches (dnbd-cat) */
};

/* Receive-path counters of one session (not the core's). */
struct session_rx {
	uint64_t calls;		/* recvmmsg() calls that returned data */
	uint64_t buffers;	/* buffers received */
	uint64_t coalesced;	/* buffers that held several datagrams */
	uint64_t datagrams;	/* datagrams handed to the core */
};

struct session {
	struct dnbd_client core;
	int fd;
	uint64_t rng;
	char where[128];	/* for messages: "239.0.0.1:5001" */
	uint8_t *rxbuf;		/* RX_SLOTS x the slot size */
	bool gro;		/* UDP_GRO is on: 64 KiB slots */
	struct session_rx rx;
	void (*read_done)(struct session *s, struct dnbd_read *r, int err);
	void (*server_event)(struct session *s, uint16_t id, int up);
	void *priv;
};

/*
 * The options dnbd-cat and dnbd-client share: -b, -I, -p, --seg-size,
 * --cache-size and --key-file.  SESSION_LONG_OPTS goes into a getopt_long table,
 * SESSION_SHORT_OPTS into the short option string.
 */
enum { SO_SEG = 200, SO_CACHE, SO_KEY };
#define SESSION_SHORT_OPTS "b:I:p:"
#define SESSION_LONG_OPTS						\
	{ "bind", required_argument, NULL, 'b' },			\
	{ "iface", required_argument, NULL, 'I' },			\
	{ "port", required_argument, NULL, 'p' },			\
	{ "seg-size", required_argument, NULL, SO_SEG },		\
	{ "cache-size", required_argument, NULL, SO_CACHE },		\
	{ "key-file", required_argument, NULL, SO_KEY }
/* Returns 1 if opt was one of them, 0 if not, -1 for a bad value. */
int session_opt(struct session_opts *o, int opt, const char *arg);

/* -b: one multicast group or up to DNBD_MAX_SERVERS unicast addresses,
 * into cfg (zeroed by the caller).  Returns 0, or -1 with a message. */
int session_parse_bind(struct dnbd_client_cfg *cfg,
		       const struct session_opts *o, char *err, size_t errlen);

int session_open(struct session *s, const struct session_opts *o, char *err,
		 size_t errlen);
/*
 * Sends HELLOs until an announcement arrives, then listens a little
 * longer for replicas.  With name NULL it needs exactly one image on the
 * group.  list_only: stop after discovery without selecting.
 * Returns 0, or -1 with a message in err (no server, unknown name...).
 */
int session_discover(struct session *s, const char *name, uint64_t timeout_us,
		     bool list_only, char *err, size_t errlen);
/* Waits for datagrams or the next timer, at most max_us; feeds the core. */
void session_poll(struct session *s, uint64_t max_us);
void session_close(struct session *s);
/* "counters":{...},"transport":{...}: the core's counters and the receive
 * path's, as dnbd-cat --stats and dnbd-replay write them. */
void session_json(FILE *f, const struct session *s);
const char *session_strerror(int err);
unsigned int session_image_servers(const struct session *s, uint64_t id,
				   char *ids, size_t idslen);

#endif
