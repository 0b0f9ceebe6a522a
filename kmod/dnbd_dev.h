/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The internals of dnbd.ko: the device, a bound session and a
 * request, and the functions each file of the driver offers the others.
 *
 *   dnbd_main.c       module parameters, /dev/dnbdN, the blk-mq queue
 *   dnbd_session.c    one binding: the protocol core, its socket and thread
 *   dnbd_cachefile.c  the optional persistent cache (-c FILE)
 *   dnbd_ctl.c        ioctls from dnbd-client
 *   dnbd_stats.c      /proc/driver/dnbd/dnbdN and /sys/block/dnbdN/dnbd/
 *
 * Locking, outermost first:
 *   dev->ctl_lock   bind, unbind, set-cache and statistics readers; it
 *                   keeps dev->sess alive for whoever holds it.
 *   sess->lock      the protocol core (it is not thread-safe) and the
 *                   list of finished requests.  Held while sending.
 *   cf->lock        the in-memory tag table of the cache file (spinlock).
 * The I/O path (queue_rq, BLK_MQ_F_BLOCKING) reads dev->sess without
 * ctl_lock; unbind clears it inside a quiesce of the queue, which waits
 * for every running queue_rq, before it frees the session.
 */
#ifndef DNBD_DEV_H
#define DNBD_DEV_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/wait.h>

#include "dnbd_client.h"
#include "dnbd_ioctl.h"

#define DNBD_NAME		"dnbd"
/*
 * A request is at most 168 KiB: the largest multiple of 4 KiB that one
 * READ (127 segments) covers with the default 1400-byte segments after
 * alignment on the grid (at most one partial segment on each side), so
 * a sequential request is one burst from the server.  The optimal I/O
 * size is the same, and read-ahead is twice that: two bursts in flight.
 * With 512-byte segments a request is up to 338 segments on the grid:
 * it is split into up to DNBD_CMD_READS core reads.
 */
#define DNBD_MAX_SECTORS	336
#define DNBD_IO_OPT		(DNBD_MAX_SECTORS << SECTOR_SHIFT)
#define DNBD_CMD_READS		3
#define DNBD_CHUNK_SEGS		(DNBD_REQ_SEGS_MAX - 1)

/*
 * Requests of at least DNBD_DIRECT_MIN bytes are read straight into their
 * pages: the pages are mapped into one virtual range, with edge pages of
 * the request's own around them for the parts of the first and last
 * segment outside the request.  DNBD_EDGE_PAGES cover the largest
 * segment; DNBD_MAP_PAGES the largest request, unaligned, with edge pages
 * on both sides.
 */
#define DNBD_DIRECT_MIN		(16 * 1024)
#define DNBD_EDGE_PAGES	DIV_ROUND_UP(DNBD_SEG_MAX, PAGE_SIZE)
#define DNBD_MAP_PAGES		(DNBD_IO_OPT / PAGE_SIZE + 1 + \
				 2 * DNBD_EDGE_PAGES)

struct dnbd_cachefile;

/* Driver counters next to the core's (DNBD_CLIENT_COUNTERS). */
enum dnbd_dev_counter {
	DNBD_DC_requests,
	DNBD_DC_requests_failed,
	DNBD_DC_bytes_read,
	DNBD_DC_cachefile_hits,
	DNBD_DC_cachefile_misses,
	DNBD_DC_cachefile_bad_crc,
	DNBD_DC_cachefile_writes,
	DNBD_DC_cachefile_dropped,
	DNBD_DC_cachefile_errors,
	DNBD_DC_rx_errors,
	DNBD_DC_rx_receives,
	DNBD_DC_rx_datagrams,
	DNBD_DC_rx_gro_batches,
	DNBD_DC_rx_gro_datagrams,
	DNBD_DC_direct_requests,
	DNBD_DC_tx_errors,
	DNBD_DC_nomem,
	DNBD_DC_MAX
};

extern const char *const dnbd_dev_counter_names[DNBD_DC_MAX];

struct dnbd_session {
	struct dnbd_device *dev;
	struct mutex lock;		/* the core, done, dead */
	bool dead;			/* unbinding: no new reads */
	struct list_head done;		/* finished dnbd_cmds */
	struct socket *sock;
	void (*saved_data_ready)(struct sock *sk);
	bool gro;			/* UDP_GRO is on for the socket */
	struct task_struct *rx_thread;
	wait_queue_head_t rx_wait;	/* the receive thread sleeps here */
	atomic_t rx_kick;		/* a datagram or an earlier deadline */
	u64 rx_wake_us;			/* when it wakes up anyway */
	struct dnbd_cachefile *cf;	/* set once, freed at unbind */
	struct dnbd_image_info image;
	u32 seg;			/* the segment grid in use */
	atomic64_t counters[DNBD_DC_MAX];
	u8 rxbuf[DNBD_DGRAM_MAX + 1];	/* a datagram not in one piece */
	struct dnbd_client core;	/* large: the session is kvzalloc'd */
};

struct dnbd_device {
	int index;
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	struct mutex ctl_lock;
	struct dnbd_session *sess;	/* NULL: unbound */
	u64 binds;			/* how often bound, for messages */
};

/* Per-request data (tag_set.cmd_size). */
struct dnbd_cmd {
	struct request *rq;
	struct list_head done_node;
	u8 *buf;			/* the request on the segment grid */
	void *map;			/* vmap()ed pages (buf inside), or NULL */
	/*
	 * The map's pages before and after the request's own: whole
	 * segments stay intact there for parity rebuilds (client.c).
	 */
	struct page *edge[2 * DNBD_EDGE_PAGES];
	u8 n_edge;
	u64 buf_off;			/* image offset of buf[0] */
	u32 buf_len;
	u8 n_reads;
	u8 pending;			/* core reads not yet finished */
	int err;			/* first negative enum dnbd_err */
	struct dnbd_read rd[DNBD_CMD_READS];
};

static inline void dnbd_count(struct dnbd_session *s,
			      enum dnbd_dev_counter c, u64 n)
{
	atomic64_add(n, &s->counters[c]);
}

/* dnbd_main.c */
extern int dnbd_major;
extern bool dnbd_gro;
extern bool dnbd_mcast_loop;

/* dnbd_session.c */
/* key: the lab key (DNBD_CTL_KEY_LEN bytes), or NULL. */
struct dnbd_session *dnbd_session_create(struct dnbd_device *dev,
					 const struct dnbd_ctl_bind *b,
					 const u8 *key, int *err);
void dnbd_session_kill(struct dnbd_session *s);
void dnbd_session_destroy(struct dnbd_session *s);
blk_status_t dnbd_session_submit(struct dnbd_session *s, struct request *rq);
void dnbd_session_set_cachefile(struct dnbd_session *s,
				struct dnbd_cachefile *cf);

/* dnbd_cachefile.c */
int dnbd_cachefile_init(void);
void dnbd_cachefile_exit(void);
struct dnbd_cachefile *dnbd_cachefile_open(struct dnbd_session *s, int fd,
					   int *err);
void dnbd_cachefile_close(struct dnbd_cachefile *cf);
bool dnbd_cachefile_lookup(struct dnbd_cachefile *cf, u64 seg0,
			   unsigned int nsegs, u8 *buf);
void dnbd_cachefile_store(struct dnbd_cachefile *cf, u64 seg0, u8 *buf,
			  u32 len);
u64 dnbd_cachefile_bytes(const struct dnbd_cachefile *cf);
u32 dnbd_cachefile_slots(const struct dnbd_cachefile *cf);

/* dnbd_ctl.c */
int dnbd_ioctl(struct dnbd_device *dev, unsigned int cmd, unsigned long arg);
int dnbd_unbind(struct dnbd_device *dev);

/* dnbd_stats.c */
int dnbd_stats_init(void);
void dnbd_stats_exit(void);
int dnbd_stats_add(struct dnbd_device *dev);
void dnbd_stats_remove(struct dnbd_device *dev);
extern const struct attribute_group *dnbd_disk_groups[];

#endif /* DNBD_DEV_H */
