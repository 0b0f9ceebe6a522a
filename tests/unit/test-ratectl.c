// SPDX-License-Identifier: GPL-2.0
/*
 * test-ratectl.c - dnbd-server's rate control (daemon/ratectl.c): the
 * time is passed in, so each period's decision is checked exactly.
 */
#include <string.h>

#include "check.h"
#include "../../daemon/server.h"

int main(void);

#define MB	1000000ull

/* One period with the worst report q (none if q < 0). */
static bool period(struct ratectl *rc, uint64_t *now, int q, bool waited)
{
	if (q >= 0)
		ratectl_report(rc, (unsigned int)q);
	if (q > 2)
		ratectl_report(rc, 2);	/* the worst decides, not the last */
	*now += RC_PERIOD_US;
	return ratectl_tick(rc, *now, waited);
}

static void test_slow_start_and_drops(void)
{
	struct ratectl rc;
	uint64_t now = 5000000, r;
	unsigned int i;

	ratectl_init(&rc, 0, 2 * MB, now);
	CHECK_EQ(rc.rate, RC_START);
	/* Nobody reads; readers that do not use the rate: no change. */
	CHECK(!period(&rc, &now, -1, true));
	CHECK(!period(&rc, &now, 5, false));
	/* Too early: the tick waits for a whole period. */
	ratectl_report(&rc, 4);
	CHECK(!ratectl_tick(&rc, now + ratectl_period(&rc) / 2, true));
	/* Slow start: four times while held back without any queue,
	 * doubling with a small one. */
	CHECK(period(&rc, &now, 4, true));
	CHECK_EQ(rc.rate, 4ull * RC_START);
	CHECK(period(&rc, &now, 11, true));
	CHECK_EQ(rc.rate, 8ull * RC_START);
	/* A queue (half the target) in two periods in a row ends it: the
	 * first holds the rate, the second goes back to the rate the
	 * reports found clean, half. */
	CHECK(!period(&rc, &now, 12, true));
	CHECK_EQ(rc.rate, 8ull * RC_START);
	CHECK(period(&rc, &now, 12, true));
	CHECK_EQ(rc.rate, 4ull * RC_START);
	CHECK_EQ(rc.decreases, 1);
	/* At the target: hold. */
	now += 10 * RC_PERIOD_US;
	CHECK(!period(&rc, &now, 25, true));
	/* One late period is a late wake-up, not a queue. */
	CHECK(!period(&rc, &now, 200, true));
	CHECK(!period(&rc, &now, 25, true));
	CHECK(!period(&rc, &now, 200, true));
	CHECK_EQ(rc.rate, 4ull * RC_START);
	/* Two in a row at 4x the target and more: half. */
	CHECK(period(&rc, &now, 200, true));
	r = 2ull * RC_START;
	CHECK_EQ(rc.rate, r);
	CHECK_EQ(rc.decreases, 2);
	CHECK_EQ(rc.last_worst_ms, 200);
	/* The drop shows after one queue delay (200 ms) and a period. */
	for (i = 0; i < 200000 / RC_PERIOD_US; i++)
		CHECK(!period(&rc, &now, 200, true));
	/* The queue shrinks: it drains, no drop. */
	CHECK(!period(&rc, &now, 150, true));
	CHECK_EQ(rc.rate, r);
	/* It stopped shrinking: still too fast, half again. */
	CHECK(period(&rc, &now, 140, true));
	r /= 2;
	CHECK_EQ(rc.rate, r);
	/* In proportion to the excess: 35 ms is 10 over, 1/15 less. */
	now += 10 * RC_PERIOD_US;
	CHECK(!period(&rc, &now, 25, true));
	CHECK(!period(&rc, &now, 35, true));
	CHECK(period(&rc, &now, 35, true));
	r -= r * 10 / 150;
	CHECK_EQ(rc.rate, r);
	/* After a queue, up by an eighth only, less near the target:
	 * 20 ms of 25 leave a fifth of it. */
	CHECK(period(&rc, &now, 0, true));
	r += r / 8;
	CHECK_EQ(rc.rate, r);
	CHECK(period(&rc, &now, 20, true));
	CHECK_EQ(rc.rate, r + r / 8 * 5 / 25);
	/* Not held back by the pacer: the rate is not what limits. */
	r = rc.rate;
	CHECK(!period(&rc, &now, 0, false));
	CHECK_EQ(rc.rate, r);
	/* Idle for RC_IDLE_US: slow start again, from the start (the rate
	 * held is a little above it). */
	CHECK(rc.rate > RC_START);
	now += RC_IDLE_US;
	CHECK(period(&rc, &now, -1, true));
	CHECK(rc.slow);
	CHECK_EQ(rc.rate, RC_START);
	r = rc.rate;
	CHECK(period(&rc, &now, 0, true));
	CHECK_EQ(rc.rate, 4 * r);
	CHECK(!period(&rc, &now, 30, true));	/* a queue: hold */
	CHECK_EQ(rc.rate, 4 * r);
	CHECK(period(&rc, &now, 30, true));	/* again: it ends */
	CHECK_EQ(rc.rate, r / 2);
	CHECK(!rc.slow);
	/* A reader far worse than the rest: down to the floor, no further. */
	for (i = 0; i < 60; i++) {
		period(&rc, &now, 1020, true);
		CHECK(rc.rate >= 2 * MB);
	}
	CHECK_EQ(rc.rate, 2 * MB);
}

/* A rate held high (a fast LAN) restarts from RC_START after idle: the
 * next readers may sit behind a slower link. */
static void test_idle_restart(void)
{
	struct ratectl rc;
	uint64_t now = 0;
	unsigned int i;

	ratectl_init(&rc, 0, 2 * MB, now);
	for (i = 0; i < 10 && rc.rate < RC_UNPACED; i++)
		period(&rc, &now, 0, true);
	CHECK(rc.rate >= RC_UNPACED);
	CHECK(rc.slow);
	/* Slow start still on: no restart needed. */
	now += RC_IDLE_US;
	CHECK(!period(&rc, &now, -1, true));
	CHECK(rc.rate >= RC_UNPACED);
	/* Out of slow start, then idle: back to the start. */
	period(&rc, &now, 20, true);
	CHECK(period(&rc, &now, 20, true));
	CHECK(!rc.slow);
	CHECK(rc.rate > RC_START);
	now += RC_IDLE_US;
	CHECK(period(&rc, &now, -1, true));
	CHECK(rc.slow);
	CHECK_EQ(rc.rate, RC_START);
	CHECK_EQ(ratectl_pace(&rc), RC_START);
}

static void test_cap(void)
{
	struct ratectl rc;
	uint64_t now = 0;
	unsigned int i;

	/* --rate: the start and the ceiling; no slow start above it. */
	ratectl_init(&rc, 10 * MB, 2 * MB, now);
	CHECK_EQ(rc.rate, 10 * MB);
	CHECK(!period(&rc, &now, 0, true));
	CHECK_EQ(rc.rate, 10 * MB);
	/* No slow start under a cap: one queue is not enough to drop. */
	CHECK(!period(&rc, &now, 100, true));
	CHECK(period(&rc, &now, 100, true));
	CHECK_EQ(rc.rate, 5 * MB);
	now += 10 * RC_PERIOD_US;
	for (i = 0; i < 30; i++)
		period(&rc, &now, 0, true);
	CHECK_EQ(rc.rate, 10 * MB);
	/* A floor above --rate is --rate. */
	ratectl_init(&rc, MB, 2 * MB, now);
	CHECK_EQ(rc.floor, MB);
	period(&rc, &now, 255, true);
	period(&rc, &now, 255, true);
	CHECK_EQ(rc.rate, MB);
	/* Without --rate the pacer steps aside from RC_UNPACED up; with
	 * it, never. */
	ratectl_init(&rc, 0, 2 * MB, now);
	CHECK_EQ(ratectl_pace(&rc), RC_START);
	for (i = 0; i < 10 && rc.rate < RC_UNPACED; i++)
		period(&rc, &now, 0, true);
	CHECK(rc.rate >= RC_UNPACED);
	CHECK_EQ(ratectl_pace(&rc), 0);
	ratectl_init(&rc, 4ull * RC_UNPACED, 2 * MB, now);
	CHECK_EQ(ratectl_pace(&rc), 4ull * RC_UNPACED);
	/* A floor above the start is the start. */
	ratectl_init(&rc, 0, 20 * MB, now);
	CHECK_EQ(rc.rate, 20 * MB);
}

/* Readers that send no reports (older clients): the pacer steps aside. */
static void test_unreported(void)
{
	struct ratectl rc;
	uint64_t now = 0;

	ratectl_init(&rc, 0, 2 * MB, now);
	CHECK_EQ(ratectl_pace(&rc), RC_START);
	ratectl_unreported(&rc);
	CHECK(period(&rc, &now, -1, false));	/* a change: tell the pacer */
	CHECK(rc.deaf);
	CHECK_EQ(ratectl_pace(&rc), 0);
	/* A period without reads changes nothing. */
	CHECK(!period(&rc, &now, -1, false));
	CHECK_EQ(ratectl_pace(&rc), 0);
	/* One report among unreported reads: rate control resumes. */
	ratectl_unreported(&rc);
	CHECK(period(&rc, &now, 0, false));
	CHECK(!rc.deaf);
	CHECK_EQ(ratectl_pace(&rc), RC_START);
	/* With --rate the cap holds whoever reads. */
	ratectl_init(&rc, 10 * MB, 2 * MB, now);
	ratectl_unreported(&rc);
	period(&rc, &now, -1, false);
	CHECK_EQ(ratectl_pace(&rc), 10 * MB);
	/* limited: whether the pacer held senders back last period. */
	period(&rc, &now, 0, true);
	CHECK(rc.limited);
	period(&rc, &now, 0, false);
	CHECK(!rc.limited);
}

int main(void)
{
	test_slow_start_and_drops();
	test_cap();
	test_idle_restart();
	test_unreported();
	return check_report("test-ratectl");
}
