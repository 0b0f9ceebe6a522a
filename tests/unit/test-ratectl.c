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

/* One period: the worst report (or none if q < 0), sent bytes so far. */
static bool period(struct ratectl *rc, uint64_t *now, int q, uint64_t *sent,
		   uint64_t bytes, bool waited)
{
	if (q >= 0)
		ratectl_report(rc, (unsigned int)q);
	if (q > 2)
		ratectl_report(rc, 2);	/* the worst decides, not the last */
	*now += RC_PERIOD_US;
	*sent += bytes;
	return ratectl_tick(rc, *now, *sent, waited);
}

static void test_unpaced_until_a_queue(void)
{
	struct ratectl rc;
	uint64_t now = 5000000, sent = 0;
	unsigned int i;

	ratectl_init(&rc, 0, 2 * MB, now);
	CHECK_EQ(rc.rate, 0);
	/* Nobody reads, then readers without a queue: nothing changes. */
	CHECK(!period(&rc, &now, -1, &sent, 10 * MB, false));
	for (i = 0; i < 5; i++)
		CHECK(!period(&rc, &now, 10, &sent, 10 * MB, true));
	CHECK_EQ(rc.rate, 0);
	/* Too early: the tick waits for a whole period. */
	ratectl_report(&rc, 200);
	CHECK(!ratectl_tick(&rc, now + RC_PERIOD_US / 2, sent, true));
	/* Unpaced, the first queue counts: half of what was sent (100
	 * MB/s), at 4x the target. */
	CHECK(period(&rc, &now, 200, &sent, 10 * MB, true));
	CHECK_EQ(rc.rate, 50 * MB);
	CHECK_EQ(rc.decreases, 1);
	CHECK_EQ(rc.last_worst_ms, 200);
	/* The drop shows after one queue delay (200 ms) and a period. */
	CHECK(!period(&rc, &now, 200, &sent, 5 * MB, true));
	CHECK(!period(&rc, &now, 200, &sent, 5 * MB, true));
	CHECK_EQ(rc.rate, 50 * MB);
	/* The queue shrinks: it drains, no drop. */
	CHECK(!period(&rc, &now, 150, &sent, 5 * MB, true));
	CHECK_EQ(rc.rate, 50 * MB);
	/* It stopped shrinking: still too fast, half again (from the rate,
	 * not from the 50 MB/s sent). */
	CHECK(period(&rc, &now, 140, &sent, 5 * MB, true));
	CHECK_EQ(rc.rate, 25 * MB);
	/* In proportion to the excess: 35 ms is 10 over, 1/15 less. */
	now += 10 * RC_PERIOD_US;
	CHECK(!period(&rc, &now, 20, &sent, 5 * MB, true));
	CHECK(!period(&rc, &now, 35, &sent, 5 * MB, true));
	CHECK(period(&rc, &now, 35, &sent, 5 * MB, true));
	CHECK_EQ(rc.rate, 25 * MB - 25 * MB * 10 / 150);
	/* Paced, one late period is a late wake-up, not a queue. */
	now += 10 * RC_PERIOD_US;
	CHECK(!period(&rc, &now, 20, &sent, 5 * MB, true));
	CHECK(!period(&rc, &now, 200, &sent, 5 * MB, true));
	CHECK(!period(&rc, &now, 20, &sent, 5 * MB, true));
	CHECK(!period(&rc, &now, 200, &sent, 5 * MB, true));
	CHECK_EQ(rc.rate, 25 * MB - 25 * MB * 10 / 150);
	CHECK(period(&rc, &now, 200, &sent, MB, true));
	CHECK_EQ(rc.rate, (25 * MB - 25 * MB * 10 / 150) / 2);
}

static void test_up_floor_cap(void)
{
	struct ratectl rc;
	uint64_t now = 0, sent = 0, r;
	unsigned int i;

	/* Up by a sixteenth while the pacer holds senders back and the
	 * queue stays under half the target; not otherwise. */
	ratectl_init(&rc, 0, 2 * MB, now);
	rc.rate = 16 * MB;
	CHECK(period(&rc, &now, 12, &sent, MB, true));
	CHECK_EQ(rc.rate, 17 * MB);
	CHECK_EQ(rc.increases, 1);
	CHECK(!period(&rc, &now, 12, &sent, MB, false));	/* no waits */
	CHECK(!period(&rc, &now, 13, &sent, MB, true));	/* over half */
	CHECK(!period(&rc, &now, -1, &sent, MB, true));	/* no report */
	CHECK_EQ(rc.rate, 17 * MB);

	/* A reader far worse than the rest: down to the floor, no further. */
	for (i = 0; i < 40; i++) {
		period(&rc, &now, 255, &sent, 100000, true);
		CHECK(rc.rate >= 2 * MB);
	}
	CHECK_EQ(rc.rate, 2 * MB);

	/* --rate: the start and the ceiling. */
	ratectl_init(&rc, 10 * MB, 2 * MB, now);
	CHECK_EQ(rc.rate, 10 * MB);
	CHECK(!period(&rc, &now, 0, &sent, MB, true));
	CHECK_EQ(rc.rate, 10 * MB);
	period(&rc, &now, 100, &sent, MB, true);
	CHECK(period(&rc, &now, 100, &sent, MB, true));
	/* From the rate, 100 ms: 1/2. */
	CHECK_EQ(rc.rate, 5 * MB);
	now += 10 * RC_PERIOD_US;
	for (i = 0; i < 30; i++)
		period(&rc, &now, 0, &sent, MB, true);
	CHECK_EQ(rc.rate, 10 * MB);
	/* A floor above --rate is --rate. */
	ratectl_init(&rc, MB, 2 * MB, now);
	CHECK_EQ(rc.floor, MB);
	r = rc.rate;
	period(&rc, &now, 255, &sent, MB, true);
	period(&rc, &now, 255, &sent, MB, true);
	CHECK_EQ(rc.rate, r);
}

int main(void)
{
	test_unpaced_until_a_queue();
	test_up_floor_cap();
	return check_report("test-ratectl");
}
