// SPDX-License-Identifier: GPL-2.0
/*
 * ratectl.c - the sending rate that follows the link (protocol.md section
 * 21).
 *
 * Single-rate, driven by the slowest active receiver, as TFMCC (RFC 4654)
 * is, but on delay rather than loss, as LEDBAT (RFC 6817) is: every READ
 * carries the queueing delay its client saw on the server's REPLYs (their
 * one-way delay above the least it has seen), so a queue building at any
 * bottleneck between the server and a reader shows before that queue
 * overflows, while random loss (a radio link) does not slow the group:
 * parity repairs that.
 *
 * Each period the worst report decides: above the target twice in a row,
 * the rate drops in proportion to the excess (to half at most), and the
 * next drop waits one queue delay (until the drop shows in the reports),
 * and comes only if the queue has not shrunk meanwhile; below the target,
 * while the pacer held senders back, it rises, by an eighth without a
 * queue, less the nearer the queue is to the target.  Never below --rate-min (a receiver far worse
 * than the rest slows the group to that floor, not to a stop; repair goes
 * on), never above --rate.  Without --rate it starts at RC_START and
 * doubles each period (slow start) until the first queue (half the
 * target) is seen, and then falls back to the half: a burst
 * at line rate would overflow a slow link's queue before anyone could
 * report it.
 *
 * No locks and no clock of its own: the event loop owns it and passes the
 * time in, so the tests can drive it.
 */
#include <string.h>

#include "server.h"

static uint64_t rc_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

void ratectl_init(struct ratectl *rc, uint64_t cap, uint64_t floor,
		  uint64_t now)
{
	memset(rc, 0, sizeof(*rc));
	rc->cap = cap;
	rc->floor = cap && floor > cap ? cap : floor;
	/* Without a cap: from RC_START up, doubling (slow start). */
	rc->rate = cap ? cap : rc_max(RC_START, rc->floor);
	rc->slow = !cap;
	rc->prev = rc->rate;
	rc->period_us = now;
}

void ratectl_report(struct ratectl *rc, unsigned int qdelay_ms)
{
	if (!rc->reported || qdelay_ms > rc->worst_ms)
		rc->worst_ms = qdelay_ms;
	rc->reported = true;
}

/* A READ without a report (a client from before section 21). */
void ratectl_unreported(struct ratectl *rc)
{
	rc->unreported = true;
}


/*
 * The rate after a queue of worst ms was seen: from the rate, not from
 * what was sent (readers that wait for repairs ask for less than the link
 * takes, and the rate would fall through to the floor).
 */
static uint64_t rc_lower(const struct ratectl *rc, unsigned int worst)
{
	uint64_t from = rc->rate;
	uint64_t excess = worst - RC_TARGET_MS, r;

	/* 1 - excess / (6 target): half at four times the target. */
	if (excess >= 3 * RC_TARGET_MS)
		r = from / 2;
	else
		r = from - from * excess / (6 * RC_TARGET_MS);
	return rc_max(r, rc->floor);
}

static bool rc_decide(struct ratectl *rc, uint64_t now, bool waited)
{
	uint64_t elapsed = now - rc->period_us, up;
	unsigned int worst = rc->worst_ms;
	bool reported = rc->reported;

	if (now < rc->period_us || elapsed < ratectl_period(rc))
		return false;
	rc->period_us = now;
	rc->worst_ms = 0;
	rc->reported = false;
	rc->last_worst_ms = worst;
	rc->limited = waited;
	if (!reported) {
		/*
		 * Nobody reading: nothing to follow.  After RC_IDLE_US the
		 * queue seen last is gone and the next readers may be others,
		 * behind another link: slow start again, from the start if
		 * the rate held is above it, as TCP restarts after idle from
		 * its restart window (RFC 5681 section 4.1).
		 */
		if (!rc->cap && !rc->slow &&
		    now - rc->reported_us >= RC_IDLE_US) {
			uint64_t start = rc_max(RC_START, rc->floor);

			rc->slow = true;
			if (rc->rate > start) {
				rc->rate = rc->prev = start;
				return true;
			}
		}
		return false;
	}
	rc->reported_us = now;
	if (rc->slow && worst >= RC_TARGET_MS / 2) {
		/*
		 * A queue in two periods in a row ends slow start (one alone
		 * is more often a reader's busy CPU than a link: hold the
		 * rate meanwhile).  The reports are a period behind: back to
		 * the rate before the last rise, which they found clean, and
		 * half that if the queue is already past the target.
		 */
		if (++rc->over < 2)
			return false;
		rc->over = 0;
		rc->slow = false;
		rc->rate = rc_max(worst > RC_TARGET_MS ? rc->prev / 2 :
				  rc->prev, rc->floor);
		rc->decreases++;
		rc->q_drop_ms = worst;
		rc->hold_until_us = now + (uint64_t)worst * 1000u +
				    RC_PERIOD_US;
		return true;
	}
	if (worst > RC_TARGET_MS) {
		/* A queue in two periods in a row, not one late wake-up. */
		if (++rc->over < 2 || now < rc->hold_until_us)
			return false;
		/* Shrinking since the last drop: the queue drains, let it. */
		if (rc->q_drop_ms && worst * 10 < rc->q_drop_ms * 9) {
			rc->q_drop_ms = worst;
			return false;
		}
		rc->rate = rc_lower(rc, worst);
		rc->slow = false;
		rc->decreases++;
		rc->q_drop_ms = worst;
		/*
		 * What the readers see now left the server one queue delay
		 * ago: the drop shows in their reports after that.
		 */
		rc->hold_until_us = now + (uint64_t)worst * 1000u +
				    RC_PERIOD_US;
		return true;
	}
	rc->over = 0;
	rc->q_drop_ms = 0;
	if (worst >= RC_TARGET_MS || !waited || rc->rate == rc->cap)
		return false;
	/* Up by an eighth with no queue, less as it nears the target. */
	if (rc->slow)	/* four times while no queue shows at all */
		up = rc->rate * (worst <= RC_CLEAN_MS ? 4 : 2);
	else		/* an eighth, less as the queue nears the target */
		up = rc->rate + rc_max(rc->rate, rc->floor) / 8 *
			(RC_TARGET_MS - worst) / RC_TARGET_MS;
	rc->prev = rc->rate;
	rc->rate = rc->cap && up > rc->cap ? rc->cap : up;
	rc->increases++;
	return true;
}

/*
 * One decision per period.  A period in which readers read but none
 * reported (all of them older clients) leaves nothing to follow: without
 * --rate the pacer steps aside until reports come again, as it did
 * before rate control existed.
 */
bool ratectl_tick(struct ratectl *rc, uint64_t now, bool waited)
{
	bool deaf, changed;

	if (now < rc->period_us || now - rc->period_us < ratectl_period(rc))
		return false;
	/* A period without reads changes nothing. */
	deaf = rc->reported ? false : rc->unreported ? true : rc->deaf;
	rc->unreported = false;
	changed = deaf != rc->deaf;
	rc->deaf = deaf;
	return rc_decide(rc, now, waited) || changed;
}

uint64_t ratectl_pace(const struct ratectl *rc)
{
	return !rc->cap && (rc->deaf || rc->rate >= RC_UNPACED) ? 0 :
	       rc->rate;
}

uint64_t ratectl_period(const struct ratectl *rc)
{
	return rc->slow ? RC_SLOW_US : RC_PERIOD_US;
}
