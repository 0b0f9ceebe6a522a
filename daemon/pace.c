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
	pthread_condattr_t ca;

	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->moved, &ca);
	pthread_condattr_destroy(&ca);
	p->earned = 0;
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
		p->earned += need;
		p->tokens = (int64_t)p->burst;
		p->last_us = now;
		return;
	}
	add = elapsed * p->rate / 1000000u;
	/* Keep the fraction of a byte not yet earned. */
	p->last_us += add * 1000000u / p->rate;
	p->tokens += (int64_t)add;
	p->earned += add;
	if (p->tokens > (int64_t)p->burst) {
		p->tokens = (int64_t)p->burst;
		p->last_us = now;
	}
}

/*
 * Reserves bytes of the bucket for one job's datagrams and returns when
 * they may start (rate: the rate then, 0: unpaced, send now).  The bucket
 * goes into debt for them at once, so that the next job, on this worker
 * or another, is scheduled after them: each job's datagrams get a slot of
 * their own on one timeline, and the stamps of its REPLYs (protocol.md
 * section 21) say when that slot comes, which is when they leave.
 * *waited: the slot is later than now (the pacer holds senders back).
 * *mark: the point of the timeline (bytes earned) where the slot comes,
 * whatever the rate does meanwhile (pace_wait()).
 */
uint64_t pace_reserve(struct pacer *p, uint64_t bytes, uint64_t now,
		      uint64_t *rate, bool *waited, uint64_t *mark)
{
	uint64_t due = now;

	pthread_mutex_lock(&p->lock);
	*rate = p->rate;
	*mark = p->earned;
	if (p->rate) {
		pace_refill(p, now);
		*mark = p->earned;
		if (p->tokens < 0) {
			due += (uint64_t)-p->tokens * 1000000u / p->rate;
			*mark += (uint64_t)-p->tokens;
		}
		p->tokens -= (int64_t)bytes;
	}
	pthread_mutex_unlock(&p->lock);
	*waited = due > now;
	return due;
}

/* How long until the timeline reaches mark at the rate now (lock held). */
static uint64_t pace_left(struct pacer *p, uint64_t mark, uint64_t now)
{
	if (!p->rate)
		return 0;
	pace_refill(p, now);
	return p->earned >= mark ? 0 :
	       (mark - p->earned) * 1000000u / p->rate + 1;
}

uint64_t pace_left_us(struct pacer *p, uint64_t mark, uint64_t now)
{
	uint64_t left;

	pthread_mutex_lock(&p->lock);
	left = pace_left(p, mark, now);
	pthread_mutex_unlock(&p->lock);
	return left;
}

/*
 * Sleeps until the timeline reaches mark (a slot from pace_reserve()):
 * woken when the rate changes, so that a rise (rate control's slow
 * start) shortens the wait of a job already asleep instead of holding
 * it to the old rate's schedule.  Returns the rate when the slot came
 * (0: unpaced now).
 */
uint64_t pace_wait(struct pacer *p, uint64_t mark)
{
	uint64_t now, until, rate, left;
	struct timespec ts;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		now = now_us();
		left = pace_left(p, mark, now);
		if (!left)
			break;
		until = now + left;
		ts.tv_sec = (time_t)(until / 1000000u);
		ts.tv_nsec = (long)(until % 1000000u) * 1000;
		pthread_cond_timedwait(&p->moved, &p->lock, &ts);
	}
	rate = p->rate;
	pthread_mutex_unlock(&p->lock);
	return rate;
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
	pthread_cond_broadcast(&p->moved);
	pthread_mutex_unlock(&p->lock);
}

/* The most to send at once: one burst (rate 0: no limit). */
uint64_t pace_chunk(uint64_t rate)
{
	return rate ? pace_burst(rate) : UINT64_MAX;
}
