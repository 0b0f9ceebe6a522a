// SPDX-License-Identifier: GPL-2.0
/*
 * One binding of a device to an image: the kernel host
 * of the protocol core (proto/client.c, the same code dnbd-cat runs).
 *
 * The core is driven from two places, always under sess->lock:
 *   - queue_rq (BLK_MQ_F_BLOCKING, so it may sleep) starts reads; the
 *     first READ datagram is sent from there;
 *   - the session's receive thread feeds it datagrams and runs its
 *     timers (retransmit, failover, HELLO).  It sleeps until the core's
 *     next deadline; the socket's data_ready callback wakes it for a
 *     datagram, queue_rq for a read whose deadline comes sooner.
 * Finished reads are collected on sess->done while the lock is held and
 * completed after it is dropped: copy to the request's pages (unless the
 * core wrote into them directly), hand the data to the cache file, end
 * the request.
 *
 * The socket receives with UDP GRO: the server sends a burst of equal-size
 * replies as one GSO train, and the receiving kernel queues it as one skb
 * of up to 64 KiB with the datagram size in gso_size.  The thread takes
 * skbs off the socket itself (skb_recv_udp(), as udp_recvmsg() does) and
 * hands the core each datagram in place, checked alone: the core's copy
 * into the request's buffer is the only one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/ip.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include <net/sock.h>
#include <net/udp.h>

#include "dnbd_dev.h"

#define DNBD_RX_SLEEP_MAX_MS	1000	/* longest sleep, come what may */
#define DNBD_RX_BATCH	16	/* receives (GRO batches) per lock hold */
#define DNBD_RX_DRAIN_MAX	4096	/* receives per wake-up, then timers */

const char *const dnbd_dev_counter_names[DNBD_DC_MAX] = {
	[DNBD_DC_requests] = "requests",
	[DNBD_DC_requests_failed] = "requests_failed",
	[DNBD_DC_bytes_read] = "bytes_read",
	[DNBD_DC_cachefile_hits] = "cachefile_hits",
	[DNBD_DC_cachefile_misses] = "cachefile_misses",
	[DNBD_DC_cachefile_bad_crc] = "cachefile_bad_crc",
	[DNBD_DC_cachefile_writes] = "cachefile_writes",
	[DNBD_DC_cachefile_dropped] = "cachefile_dropped",
	[DNBD_DC_cachefile_errors] = "cachefile_errors",
	[DNBD_DC_rx_errors] = "rx_errors",
	[DNBD_DC_rx_receives] = "rx_receives",
	[DNBD_DC_rx_datagrams] = "rx_datagrams",
	[DNBD_DC_rx_gro_batches] = "rx_gro_batches",
	[DNBD_DC_rx_gro_datagrams] = "rx_gro_datagrams",
	[DNBD_DC_direct_requests] = "direct_requests",
	[DNBD_DC_tx_errors] = "tx_errors",
	[DNBD_DC_nomem] = "nomem",
};

static u64 dnbd_now_us(void)
{
	return div_u64(ktime_get_ns(), NSEC_PER_USEC);
}

/* Set once (bind or DNBD_IOC_SET_CACHE) and read without the lock. */
static struct dnbd_cachefile *dnbd_session_cf(struct dnbd_session *s)
{
	/* Pairs with smp_store_release() in dnbd_session_set_cachefile(). */
	return smp_load_acquire(&s->cf);
}

/* ---- struct dnbd_env ------------------------------------------------- */

static int env_send(void *ctx, const struct dnbd_addr *to, const void *buf,
		    size_t len)
{
	struct dnbd_session *s = ctx;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct msghdr msg = {
		.msg_name = &sin,
		.msg_namelen = sizeof(sin),
		.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL,
	};
	struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };
	int rc;

	sin.sin_port = htons(to->port);
	memcpy(&sin.sin_addr.s_addr, to->ip, 4);
	rc = kernel_sendmsg(s->sock, &msg, &iov, 1, len);
	if (rc < 0) {
		/* A full socket buffer is a lost datagram: the core resends. */
		dnbd_count(s, DNBD_DC_tx_errors, 1);
		return rc;
	}
	return 0;
}

/*
 * The core allocates its cache at set-up and parity buffers while reads
 * are in flight (queue_rq, the receiver): no I/O from reclaim there.
 */
static void *env_alloc(void *ctx, size_t len)
{
	unsigned int noio = memalloc_noio_save();
	void *p = kvzalloc(len, GFP_KERNEL);

	memalloc_noio_restore(noio);
	return p;
}

static void env_free(void *ctx, void *p)
{
	kvfree(p);
}

static u32 env_random(void *ctx)
{
	return get_random_u32();
}

static void env_read_done(void *ctx, struct dnbd_read *r, int err)
{
	struct dnbd_session *s = ctx;
	struct dnbd_cmd *cmd = r->priv;

	if (err && !cmd->err)
		cmd->err = err;
	if (--cmd->pending == 0)
		list_add_tail(&cmd->done_node, &s->done);
}

static void env_server_event(void *ctx, u16 id, int up)
{
	struct dnbd_session *s = ctx;

	pr_info("%s: server %u %s\n", s->dev->disk->disk_name, id,
		up ? "up" : "down");
}

static void env_overheard(void *ctx, u64 seg, const u8 *data, u16 len)
{
	struct dnbd_session *s = ctx;
	struct dnbd_cachefile *cf = dnbd_session_cf(s);
	u8 *copy;

	if (!cf)
		return;
	/* Best effort: under memory pressure the segment is just dropped. */
	copy = kmemdup(data, len, GFP_NOIO | __GFP_NOWARN);
	if (!copy) {
		dnbd_count(s, DNBD_DC_cachefile_dropped, 1);
		return;
	}
	dnbd_cachefile_store(cf, seg, copy, len);
}

/* ---- the request's buffer --------------------------------------------- */

static void dnbd_cmd_edge_free(struct dnbd_cmd *cmd)
{
	while (cmd->n_edge)
		__free_page(cmd->edge[--cmd->n_edge]);
}

/*
 * Maps the request's pages into one virtual range, so that the core
 * copies each segment straight into them: edge pages of the command's own
 * before and after take the bytes of the first and last segment outside
 * the request.  They are the command's, not shared: a parity rebuild
 * reads every segment of its block back (client.c, fec_try()), the edge
 * ones too.  Only for a request without a cache file (which needs whole
 * segments) whose pages are contiguous once mapped: only the first may
 * start, only the last may end, inside a page, and neither where an edge
 * page has to join it.
 */
static bool dnbd_cmd_map(struct dnbd_session *s, struct dnbd_cmd *cmd,
			 u64 off, u32 len)
{
	struct page *pages[DNBD_MAP_PAGES];
	u32 head = off - cmd->buf_off;
	u32 tail = cmd->buf_off + cmd->buf_len - (off + len);
	unsigned int hp = DIV_ROUND_UP(head, PAGE_SIZE);
	unsigned int tp = DIV_ROUND_UP(tail, PAGE_SIZE);
	unsigned int n = hp, start = 0, i, noio;
	struct req_iterator iter;
	struct bio_vec bv;
	u32 end = PAGE_SIZE;	/* where the previous piece ended */

	if (len < DNBD_DIRECT_MIN || dnbd_session_cf(s) ||
	    hp > DNBD_EDGE_PAGES || tp > DNBD_EDGE_PAGES)
		return false;
	rq_for_each_segment(bv, cmd->rq, iter) {
		if (n == hp) {
			if (head && bv.bv_offset)
				return false;
			start = bv.bv_offset;
		} else if (end != PAGE_SIZE || bv.bv_offset) {
			return false;
		}
		if (n >= DNBD_MAP_PAGES - tp)
			return false;
		pages[n++] = bv.bv_page;
		end = bv.bv_offset + bv.bv_len;
	}
	if (tail && end != PAGE_SIZE)
		return false;

	noio = memalloc_noio_save();
	for (i = 0; i < hp + tp; i++) {
		cmd->edge[i] = alloc_page(GFP_KERNEL | __GFP_NOWARN);
		if (!cmd->edge[i])
			goto free_edge;
		cmd->n_edge++;
	}
	for (i = 0; i < hp; i++)
		pages[i] = cmd->edge[i];
	for (i = 0; i < tp; i++)
		pages[n++] = cmd->edge[hp + i];
	cmd->map = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	if (!cmd->map)
		goto free_edge;
	memalloc_noio_restore(noio);
	cmd->buf = cmd->map + hp * PAGE_SIZE + start - head;
	return true;

free_edge:
	dnbd_cmd_edge_free(cmd);
	memalloc_noio_restore(noio);
	return false;
}

/* A buffer for the request on the segment grid: its pages or a bounce. */
static int dnbd_cmd_buf(struct dnbd_session *s, struct dnbd_cmd *cmd,
			u64 off, u32 len)
{
	u64 end = min_t(u64, roundup(off + len, s->seg), s->image.size);
	unsigned int noio;

	cmd->buf_off = div_u64(off, s->seg) * s->seg;
	cmd->buf_len = end - cmd->buf_off;
	cmd->map = NULL;
	if (dnbd_cmd_map(s, cmd, off, len)) {
		dnbd_count(s, DNBD_DC_direct_requests, 1);
		return 0;
	}
	noio = memalloc_noio_save();
	cmd->buf = kvmalloc(cmd->buf_len, GFP_KERNEL | __GFP_NOWARN);
	memalloc_noio_restore(noio);
	return cmd->buf ? 0 : -ENOMEM;
}

static void dnbd_cmd_buf_free(struct dnbd_cmd *cmd)
{
	if (cmd->map) {
		vunmap(cmd->map);
		cmd->map = NULL;
		dnbd_cmd_edge_free(cmd);
	} else {
		kvfree(cmd->buf);
	}
	cmd->buf = NULL;
}

/* ---- completion -------------------------------------------------------- */

static void dnbd_cmd_finish(struct dnbd_session *s, struct dnbd_cmd *cmd)
{
	struct request *rq = cmd->rq;
	u64 off = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	const u8 *src = cmd->buf + (off - cmd->buf_off);
	struct req_iterator iter;
	struct bio_vec bvec;
	struct dnbd_cachefile *cf = dnbd_session_cf(s);
	blk_status_t status = BLK_STS_OK;

	if (cmd->err) {
		status = BLK_STS_IOERR;
		dnbd_count(s, DNBD_DC_requests_failed, 1);
		if (cmd->err != -DNBD_ERR_CANCELED)
			pr_err_ratelimited("%s: read of %u bytes at %llu failed: %s\n",
					   s->dev->disk->disk_name,
					   blk_rq_bytes(rq), off,
					   cmd->err == -DNBD_ERR_TIMEDOUT ?
					   "no server answered in time" :
					   "protocol error");
	} else if (cmd->map) {
		/* The data is in the pages already, written through map. */
		flush_kernel_vmap_range(cmd->buf, cmd->buf_len);
		dnbd_count(s, DNBD_DC_bytes_read, blk_rq_bytes(rq));
	} else {
		rq_for_each_segment(bvec, rq, iter) {
			memcpy_to_bvec(&bvec, src);
			src += bvec.bv_len;
		}
		dnbd_count(s, DNBD_DC_bytes_read, blk_rq_bytes(rq));
	}
	if (!cmd->err && cf && !cmd->map) {
		dnbd_cachefile_store(cf, div_u64(cmd->buf_off, s->seg),
				     cmd->buf, cmd->buf_len);
		cmd->buf = NULL;
	} else {
		dnbd_cmd_buf_free(cmd);
	}
	blk_mq_end_request(rq, status);
}

/* Drops sess->lock, then completes what finished while it was held. */
static void dnbd_session_unlock(struct dnbd_session *s)
{
	struct dnbd_cmd *cmd, *tmp;
	LIST_HEAD(done);

	list_splice_init(&s->done, &done);
	mutex_unlock(&s->lock);
	list_for_each_entry_safe(cmd, tmp, &done, done_node) {
		list_del_init(&cmd->done_node);
		dnbd_cmd_finish(s, cmd);
	}
}

/* ---- waking the receive thread ---------------------------------------- */

static void dnbd_rx_kick(struct dnbd_session *s)
{
	/* Already set: the thread has been woken and has not looked yet. */
	if (!atomic_xchg(&s->rx_kick, 1))
		wake_up(&s->rx_wait);
}

/* The socket's sk_data_ready: softirq context, a datagram is queued. */
static void dnbd_data_ready(struct sock *sk)
{
	struct dnbd_session *s;

	read_lock_bh(&sk->sk_callback_lock);
	s = sk->sk_user_data;
	if (s)
		dnbd_rx_kick(s);
	read_unlock_bh(&sk->sk_callback_lock);
}

static int dnbd_sock_hook(struct dnbd_session *s)
{
	struct sock *sk = s->sock->sk;
	int err = 0;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data) {
		err = -EBUSY;		/* another session's, or a tunnel's */
	} else {
		s->saved_data_ready = sk->sk_data_ready;
		sk->sk_user_data = s;
		sk->sk_data_ready = dnbd_data_ready;
	}
	write_unlock_bh(&sk->sk_callback_lock);
	return err;
}

/* After this no callback can reach the session. */
static void dnbd_sock_unhook(struct dnbd_session *s)
{
	struct sock *sk = s->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_data_ready = s->saved_data_ready;
	sk->sk_user_data = NULL;
	write_unlock_bh(&sk->sk_callback_lock);
}

/* ---- submission ------------------------------------------------------ */

/*
 * Lays the request onto the segment grid: whole segments, so that every
 * one of them can go to the cache file, split into core reads of at most
 * DNBD_CHUNK_SEGS segments.  Chunks the cache file holds are filled here.
 */
static void dnbd_cmd_plan(struct dnbd_session *s, struct dnbd_cmd *cmd)
{
	u64 seg0 = div_u64(cmd->buf_off, s->seg);
	u64 end = cmd->buf_off + cmd->buf_len;
	struct dnbd_cachefile *cf = dnbd_session_cf(s);
	u64 first, nsegs;

	cmd->n_reads = 0;
	nsegs = div_u64(end - cmd->buf_off + s->seg - 1, s->seg);
	for (first = 0; first < nsegs; first += DNBD_CHUNK_SEGS) {
		struct dnbd_read *r = &cmd->rd[cmd->n_reads];
		unsigned int n = min_t(u64, nsegs - first, DNBD_CHUNK_SEGS);

		r->offset = cmd->buf_off + first * s->seg;
		r->length = min_t(u64, (u64)n * s->seg, end - r->offset);
		r->buf = cmd->buf + first * s->seg;
		r->priv = cmd;
		if (cf && dnbd_cachefile_lookup(cf, seg0 + first, n, r->buf)) {
			dnbd_count(s, DNBD_DC_cachefile_hits, n);
			continue;
		}
		if (cf)
			dnbd_count(s, DNBD_DC_cachefile_misses, n);
		cmd->n_reads++;	/* a hit chunk's slot is reused */
	}
}

blk_status_t dnbd_session_submit(struct dnbd_session *s, struct request *rq)
{
	struct dnbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	u64 off = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u32 len = blk_rq_bytes(rq);
	unsigned int i;
	bool kick = false;
	u64 now;
	int rc;

	if (!len || off >= s->image.size || len > s->image.size - off)
		return BLK_STS_IOERR;
	/* DNBD_MAX_SECTORS and DNBD_SEG_MIN make this impossible. */
	if (WARN_ON_ONCE(div_u64(len, s->seg) + 2 >
			 DNBD_CMD_READS * DNBD_CHUNK_SEGS))
		return BLK_STS_IOERR;
	if (dnbd_cmd_buf(s, cmd, off, len)) {
		dnbd_count(s, DNBD_DC_nomem, 1);
		return BLK_STS_RESOURCE;	/* blk-mq retries later */
	}
	blk_mq_start_request(rq);
	dnbd_count(s, DNBD_DC_requests, 1);
	cmd->err = 0;
	dnbd_cmd_plan(s, cmd);

	mutex_lock(&s->lock);
	if (s->dead) {
		mutex_unlock(&s->lock);
		dnbd_cmd_buf_free(cmd);
		return BLK_STS_IOERR;
	}
	if (!cmd->n_reads) {			/* all from the cache file */
		list_add_tail(&cmd->done_node, &s->done);
		dnbd_session_unlock(s);
		return BLK_STS_OK;
	}
	cmd->pending = cmd->n_reads;
	now = dnbd_now_us();
	for (i = 0; i < cmd->n_reads; i++) {
		struct dnbd_read *r = &cmd->rd[i];

		rc = dnbd_client_read(&s->core, r, now);
		if (rc)		/* not started: finish it here */
			env_read_done(s, r, rc);
		else if (r->deadline_us && r->deadline_us < s->rx_wake_us)
			kick = true;	/* its retransmit timer comes first */
	}
	dnbd_session_unlock(s);
	if (kick)
		dnbd_rx_kick(s);
	return BLK_STS_OK;
}

/* ---- the receive thread --------------------------------------------------- */

/*
 * len bytes at off in skb: in place where they are contiguous (the linear
 * part, one page fragment, or one of those of an skb on the frag list),
 * else copied to s->rxbuf (at most its size: a longer datagram reaches
 * the core as too long, and is dropped there).
 */
static const u8 *dnbd_skb_piece(struct dnbd_session *s, struct sk_buff *skb,
				u32 off, u32 *len)
{
	struct sk_buff *frag;
	u32 start = skb_headlen(skb);
	unsigned int i;

	if (off + *len <= start)
		return skb->data + off;
	for (i = 0; i < skb_shinfo(skb)->nr_frags; i++) {
		const skb_frag_t *f = &skb_shinfo(skb)->frags[i];
		struct page *page = skb_frag_page(f);
		u32 size = skb_frag_size(f);

		if (off >= start && off + *len <= start + size && page &&
		    !PageHighMem(page))
			return (const u8 *)skb_frag_address(f) + (off - start);
		start += size;
	}
	skb_walk_frags(skb, frag) {
		if (off >= start && off + *len <= start + frag->len)
			return dnbd_skb_piece(s, frag, off - start, len);
		start += frag->len;
	}
	*len = min_t(u32, *len, sizeof(s->rxbuf));
	if (skb_copy_bits(skb, off, s->rxbuf, *len))
		return NULL;
	return s->rxbuf;
}

/*
 * When the skb reached this host, on the clock of now (0: unknown), so
 * that the core's queueing delay leaves out the time it waited for this
 * thread (protocol.md section 21).  The stamp is the real-time clock's;
 * only its age carries over, and only a plausible one.
 */
static u64 dnbd_skb_arrival(const struct sk_buff *skb, u64 now)
{
	s64 ago;

	if (!skb->tstamp)
		return 0;
	ago = ktime_us_delta(ktime_get_real(), skb->tstamp);
	return ago >= 0 && ago < 10 * USEC_PER_SEC && (u64)ago < now ?
	       now - ago : 0;
}

/*
 * Feeds the core one received skb: a datagram, or a GRO batch of
 * datagrams of gso_size bytes (only the last may be shorter), each
 * read in place where it can be.  Each is checked alone, so one bad
 * datagram of a batch is counted and dropped and the others are used.
 */
static void dnbd_input(struct dnbd_session *s, struct sk_buff *skb)
{
	struct dnbd_addr a = { .family = 4 };
	u32 len = skb->len, seg = len, off = 0, n = 0, plen;
	u64 now = dnbd_now_us();
	const u8 *p;

	if (skb_is_gso(skb) && skb_shinfo(skb)->gso_size)
		seg = skb_shinfo(skb)->gso_size;
	s->core.rx_arrival_us = dnbd_skb_arrival(skb, now);
	a.port = ntohs(udp_hdr(skb)->source);
	memcpy(a.ip, &ip_hdr(skb)->saddr, 4);
	do {
		plen = min(seg, len - off);
		p = dnbd_skb_piece(s, skb, off, &plen);
		if (p)
			dnbd_client_input(&s->core, p, plen, &a, now);
		else
			dnbd_count(s, DNBD_DC_rx_errors, 1);
		off += seg;
		n++;
	} while (off < len);
	s->core.rx_arrival_us = 0;
	dnbd_count(s, DNBD_DC_rx_receives, 1);
	dnbd_count(s, DNBD_DC_rx_datagrams, n);
	if (n > 1) {
		dnbd_count(s, DNBD_DC_rx_gro_batches, 1);
		dnbd_count(s, DNBD_DC_rx_gro_datagrams, n);
	}
}

/*
 * One receive, without waiting: what udp_recvmsg() does, without the
 * copy: take the skb (the UDP header is pulled), check the UDP checksum
 * unless the device or GRO did, feed the core, release it.  Released with
 * consume_skb(): udp_recvmsg()'s skb_consume_udp() is not exported to
 * modules since 7.x, and without MSG_PEEK it does the same (the socket's
 * memory was given back when the skb was dequeued).
 */
static int dnbd_recv(struct dnbd_session *s)
{
	struct sock *sk = s->sock->sk;
	struct sk_buff *skb;
	int err = 0;

	skb = skb_recv_udp(sk, MSG_DONTWAIT, &err);
	if (!skb)
		return err;
	if (!udp_skb_csum_unnecessary(skb) &&
	    __udp_lib_checksum_complete(skb))
		dnbd_count(s, DNBD_DC_rx_errors, 1);
	else
		dnbd_input(s, skb);
	consume_skb(skb);
	return 0;
}

/*
 * Feeds the core everything the socket holds, DNBD_RX_BATCH receives per
 * hold of the lock (finished requests complete in between).
 */
static void dnbd_rx_drain(struct dnbd_session *s)
{
	unsigned int total = 0, n;
	int err = 0;

	while (err != -EAGAIN && total < DNBD_RX_DRAIN_MAX) {
		mutex_lock(&s->lock);
		for (n = 0; n < DNBD_RX_BATCH; n++) {
			err = dnbd_recv(s);
			if (err == -EAGAIN)
				break;
			if (err) {
				/* e.g. an ICMP error on a unicast socket */
				dnbd_count(s, DNBD_DC_rx_errors, 1);
				continue;
			}
		}
		dnbd_session_unlock(s);
		total += n;
		cond_resched();
	}
	if (err != -EAGAIN)	/* more may wait: come back at once */
		atomic_set(&s->rx_kick, 1);
}

static int dnbd_rx_thread(void *data)
{
	struct dnbd_session *s = data;
	unsigned int noio = memalloc_noio_save();
	u64 now, next;
	long timeout;

	while (!kthread_should_stop()) {
		mutex_lock(&s->lock);
		now = dnbd_now_us();
		next = dnbd_client_timer(&s->core, now);
		next = min_t(u64, next, now + DNBD_RX_SLEEP_MAX_MS * 1000ull);
		s->rx_wake_us = next;
		dnbd_session_unlock(s);

		timeout = next > now ? usecs_to_jiffies(next - now) : 1;
		wait_event_interruptible_timeout(s->rx_wait,
						 atomic_xchg(&s->rx_kick, 0) ||
						 kthread_should_stop(),
						 max_t(long, timeout, 1));
		dnbd_rx_drain(s);
	}
	memalloc_noio_restore(noio);
	return 0;
}

/* ---- bind and unbind -------------------------------------------------------- */

static void dnbd_addr_from_ctl(struct dnbd_addr *a,
			       const struct dnbd_ctl_addr *c)
{
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->port = c->port;
	memcpy(a->ip, c->ip, 4);
}

static int dnbd_session_cfg(struct dnbd_client_cfg *cfg,
			    const struct dnbd_ctl_bind *b, const u8 *key)
{
	unsigned int i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->multicast = b->flags & DNBD_BIND_MULTICAST;
	if (cfg->multicast) {
		if (b->group.family != 4 || !b->group.port)
			return -EINVAL;
		dnbd_addr_from_ctl(&cfg->group, &b->group);
	} else {
		if (!b->n_unicast || b->n_unicast > DNBD_CTL_SERVERS)
			return -EINVAL;
		for (i = 0; i < b->n_unicast; i++) {
			if (b->unicast[i].family != 4 || !b->unicast[i].port)
				return -EINVAL;
			dnbd_addr_from_ctl(&cfg->unicast[i], &b->unicast[i]);
		}
		cfg->n_unicast = b->n_unicast;
	}
	cfg->seg_size = b->seg_size;
	cfg->cache_bytes = b->mem_cache_bytes;
	cfg->io_timeout_us = (u64)b->io_timeout_ms * USEC_PER_MSEC;
	if (key) {
		dnbd_key_init(&cfg->key, key);
		cfg->keyed = true;
	}
	return 0;
}

static int dnbd_session_image(struct dnbd_session *s,
			      const struct dnbd_ctl_bind *b)
{
	struct dnbd_image_info img = {};
	size_t n = strnlen(b->name, sizeof(b->name));

	if (!n || n > DNBD_NAME_MAX || !b->image_id || !b->image_size ||
	    b->seg_max < DNBD_SEG_MIN || b->seg_max > DNBD_SEG_MAX)
		return -EINVAL;
	img.id = b->image_id;
	img.size = b->image_size;
	img.revision = b->revision;
	img.seg_max = b->seg_max;
	img.name_len = n;
	memcpy(img.name, b->name, n);
	if (dnbd_client_select(&s->core, &img))
		return -EINVAL;
	s->image = s->core.image;
	s->seg = s->core.image.seg_max;
	return 0;
}

static struct socket *dnbd_session_sock(int fd, int *err)
{
	struct socket *sock = sockfd_lookup(fd, err);

	if (!sock)
		return NULL;
	if (sock->sk->sk_family != AF_INET || sock->type != SOCK_DGRAM ||
	    sock->sk->sk_protocol != IPPROTO_UDP) {
		sockfd_put(sock);
		*err = -EINVAL;
		return NULL;
	}
	/* Sends and receives serve block I/O: never recurse into it. */
	sock->sk->sk_allocation = GFP_NOIO;
	return sock;
}

/*
 * Socket options the driver sets itself (as setsockopt(2) would), so that
 * an older dnbd-client works:
 *  - UDP_GRO, so that a burst arrives as one skb; the driver knows the
 *    skbs it receives may be batches.  Without it (gro=0, or a kernel
 *    that refuses) every receive is one datagram.
 *  - IP_MULTICAST_LOOP off (unless mcast_loop=1): the socket would hear
 *    every request it sends to the group, a receive per request that the
 *    core drops as its own.  A server on the same host hears the
 *    driver's requests only with mcast_loop=1.
 */
static void dnbd_sock_opts(struct dnbd_session *s)
{
	struct socket *sock = s->sock;
	int one = 1, loop = dnbd_mcast_loop, err;

	err = sock->ops->setsockopt(sock, SOL_IP, IP_MULTICAST_LOOP,
				    KERNEL_SOCKPTR(&loop), sizeof(loop));
	if (err)
		dev_warn(disk_to_dev(s->dev->disk),
			 "cannot set IP_MULTICAST_LOOP (%d)\n", err);
	/*
	 * Receive times, for the queueing delay the core reports.  As
	 * setsockopt(2) does it: sock_enable_timestamps() is gone in 7.x.
	 */
	err = sock_setsockopt(sock, SOL_SOCKET, SO_TIMESTAMP_OLD,
			      KERNEL_SOCKPTR(&one), sizeof(one));
	if (err)
		dev_warn(disk_to_dev(s->dev->disk),
			 "cannot set SO_TIMESTAMP (%d)\n", err);
	s->gro = false;
	if (!dnbd_gro)
		return;
	err = sock->ops->setsockopt(sock, SOL_UDP, UDP_GRO,
				    KERNEL_SOCKPTR(&one), sizeof(one));
	if (err) {
		dev_info(disk_to_dev(s->dev->disk),
			 "UDP GRO not available (%d): one datagram per receive\n",
			 err);
		return;
	}
	s->gro = true;
}

struct dnbd_session *dnbd_session_create(struct dnbd_device *dev,
					 const struct dnbd_ctl_bind *b,
					 const u8 *key, int *err)
{
	struct dnbd_env env = {
		.send = env_send, .alloc = env_alloc, .free = env_free,
		.random = env_random, .read_done = env_read_done,
		.server_event = env_server_event, .overheard = env_overheard,
	};
	struct dnbd_client_cfg cfg;
	struct dnbd_session *s;
	unsigned int i;

	*err = dnbd_session_cfg(&cfg, b, key);
	if (*err)
		return NULL;
	s = kvzalloc(sizeof(*s), GFP_KERNEL);
	if (!s) {
		dnbd_key_wipe(&cfg.key);
		*err = -ENOMEM;
		return NULL;
	}
	s->dev = dev;
	mutex_init(&s->lock);
	INIT_LIST_HEAD(&s->done);
	for (i = 0; i < DNBD_DC_MAX; i++)
		atomic64_set(&s->counters[i], 0);
	env.ctx = s;
	*err = dnbd_client_init(&s->core, &cfg, &env);
	dnbd_key_wipe(&cfg.key);	/* the core has its own copy */
	if (*err) {
		*err = -EINVAL;		/* seg_size out of range */
		goto out_free;
	}
	*err = dnbd_session_image(s, b);
	if (*err)
		goto out_core;
	s->sock = dnbd_session_sock(b->sock_fd, err);
	if (!s->sock)
		goto out_core;
	dnbd_sock_opts(s);
	if (b->cache_fd >= 0) {
		s->cf = dnbd_cachefile_open(s, b->cache_fd, err);
		if (!s->cf)
			goto out_sock;
	}
	init_waitqueue_head(&s->rx_wait);
	*err = dnbd_sock_hook(s);
	if (*err)
		goto out_cf;
	mutex_lock(&s->lock);
	dnbd_client_hello(&s->core, NULL, dnbd_now_us());
	mutex_unlock(&s->lock);
	s->rx_thread = kthread_run(dnbd_rx_thread, s, "dnbd%d-rx", dev->index);
	if (IS_ERR(s->rx_thread)) {
		*err = PTR_ERR(s->rx_thread);
		goto out_unhook;
	}
	return s;

out_unhook:
	dnbd_sock_unhook(s);
out_cf:
	if (s->cf)
		dnbd_cachefile_close(s->cf);
out_sock:
	sockfd_put(s->sock);
out_core:
	dnbd_client_fini(&s->core);
out_free:
	kvfree(s);
	return NULL;
}

void dnbd_session_set_cachefile(struct dnbd_session *s,
				struct dnbd_cachefile *cf)
{
	mutex_lock(&s->lock);
	/* Readers test s->cf without the lock: publish it complete. */
	smp_store_release(&s->cf, cf);
	mutex_unlock(&s->lock);
}

/*
 * First half of unbind: no new reads, and every read in flight fails.
 * The caller then quiesces the queue so no queue_rq still uses s.
 */
void dnbd_session_kill(struct dnbd_session *s)
{
	mutex_lock(&s->lock);
	s->dead = true;
	dnbd_client_cancel_all(&s->core, -DNBD_ERR_CANCELED);
	dnbd_session_unlock(s);
}

void dnbd_session_destroy(struct dnbd_session *s)
{
	dnbd_sock_unhook(s);
	kthread_stop(s->rx_thread);
	mutex_lock(&s->lock);
	dnbd_client_fini(&s->core);	/* nothing pending: it was killed */
	dnbd_session_unlock(s);
	if (s->cf)
		dnbd_cachefile_close(s->cf);
	sockfd_put(s->sock);
	kvfree(s);
}
