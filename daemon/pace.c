// SPDX-License-Identifier: GPL-2.0
/*
 * pace.c - the token bucket shared by all worker threads: --rate, or
 * the rate that rate control (ratectl.c) sets.
 *
 * Tokens are bytes, refilled at rate bytes per second up to a burst of
 * 5 ms worth (at least 16 KiB), so a paced server sends small, even
 * bursts instead of whole requests at line rate.  Rate 0: unpaced.
 */
#include "server.h"
#include "util.h"

static uint64_t pace_burst(uint64_t rate)
{
	return rate / 200 > 16384 ? rate / 200 : 16384;
}

void pace_init(struct pacer *p, uint64_t rate)
{
	pthread_mutex_init(&p->lock, NULL);
	p->rate = rate;
	p->burst = pace_burst(rate);
	p->tokens = (int64_t)p->burst;
	p->last_us = now_us();
}

/*
 * Earn the tokens of the time since last_us, up to the burst.  The
 * product elapsed * rate is only formed when it stays below what filling
 * the bucket takes (config caps --rate at 1 TiB/s), so a long idle gap
 * cannot overflow it.  Called with the lock held.
 */
static void pace_refill(struct pacer *p, uint64_t now)
{
	uint64_t elapsed = now > p->last_us ? now - p->last_us : 0;
	uint64_t need = (uint64_t)((int64_t)p->burst - p->tokens);
	uint64_t add;

	if (elapsed >= need * 1000000u / p->rate + 1) {
		p->tokens = (int64_t)p->burst;
		p->last_us = now;
		return;
	}
	add = elapsed * p->rate / 1000000u;
	/* Keep the fraction of a byte not yet earned. */
	p->last_us += add * 1000000u / p->rate;
	p->tokens += (int64_t)add;
	if (p->tokens > (int64_t)p->burst) {
		p->tokens = (int64_t)p->burst;
		p->last_us = now;
	}
}

/* Takes bytes from the bucket, sleeping until they are there.  Returns
 * true if it had to wait. */
bool pace_take(struct pacer *p, uint64_t bytes)
{
	int64_t need;
	bool waited = false;

	pthread_mutex_lock(&p->lock);
	if (!p->rate) {
		pthread_mutex_unlock(&p->lock);
		return false;
	}
	/* Wait for min(bytes, burst), then go into debt for the rest: the
	 * next caller pays it back, so the long-run rate is exact. */
	need = (int64_t)(bytes < p->burst ? bytes : p->burst);
	for (;;) {
		pace_refill(p, now_us());
		if (p->tokens >= need)
			break;
		/* Sleep holding the lock: the others would only queue. */
		sleep_us((uint64_t)(need - p->tokens) * 1000000u / p->rate + 1);
		waited = true;
	}
	p->tokens -= (int64_t)bytes;
	pthread_mutex_unlock(&p->lock);
	return waited;
}

/*
 * ANNOUNCE and ERROR, sent by the event loop, which must never sleep:
 * they are charged to the same bucket, so that everything the server
 * sends stays within --rate, but they may only take it one burst into
 * debt.  Beyond that they are dropped (the caller counts it); the
 * workers pay the debt back.
 */
bool pace_control(struct pacer *p, uint64_t bytes)
{
	bool ok;

	pthread_mutex_lock(&p->lock);
	if (!p->rate) {
		pthread_mutex_unlock(&p->lock);
		return true;
	}
	pace_refill(p, now_us());
	ok = p->tokens > -(int64_t)p->burst;
	if (ok)
		p->tokens -= (int64_t)bytes;
	pthread_mutex_unlock(&p->lock);
	return ok;
}

/*
 * A new rate (rate control): the tokens earned so far at the old one are
 * kept, the debt too, so that a change neither grants a burst nor
 * forgives what was sent.
 */
void pace_set_rate(struct pacer *p, uint64_t rate)
{
	uint64_t now = now_us();

	pthread_mutex_lock(&p->lock);
	if (p->rate)
		pace_refill(p, now);
	else
		p->tokens = 0;		/* unpaced until now: start empty */
	p->last_us = now;
	p->rate = rate;
	p->burst = pace_burst(rate);
	if (p->tokens > (int64_t)p->burst)
		p->tokens = (int64_t)p->burst;
	pthread_mutex_unlock(&p->lock);
}

/*
 * When what is asked for now goes out: once the debt is paid (rate: the
 * rate then, 0: unpaced).  The REPLYs' stamps (protocol.md section 21)
 * carry that time, so that the clients' one-way delay measures the
 * network's queues, not the pacer's.
 */
uint64_t pace_due(struct pacer *p, uint64_t now, uint64_t *rate)
{
	uint64_t due = now;

	pthread_mutex_lock(&p->lock);
	*rate = p->rate;
	if (p->rate) {
		pace_refill(p, now);
		if (p->tokens < 0)
			due += (uint64_t)-p->tokens * 1000000u / p->rate;
	}
	pthread_mutex_unlock(&p->lock);
	return due;
}

/* The most to send at once: one burst while paced, else no limit. */
uint64_t pace_chunk(struct pacer *p)
{
	uint64_t c;

	pthread_mutex_lock(&p->lock);
	c = p->rate ? p->burst : UINT64_MAX;
	pthread_mutex_unlock(&p->lock);
	return c;
}
