// SPDX-License-Identifier: GPL-2.0
/*
 * test-pace.c - dnbd-server's token buckets after long idle gaps: --rate
 * (daemon/pace.c) and --client-rate (daemon/srcrate.c) at their largest
 * rates must refill to the burst, not wrap around.  The elapsed time is
 * set by hand (the clock is only read for "now"), so nothing here depends
 * on how fast this machine runs.
 */
#include <string.h>

#include "check.h"
#include "../../daemon/server.h"
#include "util.h"

int main(void);

static void test_pace_long_gap(void)
{
	struct pacer p;
	uint64_t rate = 1ull << 40;		/* the largest --rate */
	uint64_t mark;

	pace_init(&p, rate);
	/* Idle since the clock's start (this machine's boot): elapsed * rate
	 * is beyond 2^64 once the machine has been up for 17 s. */
	p.tokens = 0;
	p.last_us = 0;
	CHECK(pace_control(&p, 1000));
	CHECK_EQ(p.tokens, (int64_t)p.burst - 1000);
	{
		uint64_t r, now = now_us();
		bool waited;

		/* A full bucket: no wait. */
		CHECK_EQ(pace_reserve(&p, 1000, now, &r, &waited, &mark), now);
		CHECK(!waited);
		CHECK_EQ(r, rate);
	}
}

static void test_pace_partial(void)
{
	struct pacer p;

	pace_init(&p, 1000);			/* 1000 bytes/s, burst 16 KiB */
	p.tokens = 0;
	p.last_us -= 500000;			/* half a second: 500 bytes */
	CHECK(pace_control(&p, 100));
	/* 400, or a byte more if this thread lost the CPU for 1 ms. */
	CHECK(p.tokens >= 400 && p.tokens <= 402);
	/* Deep debt stays debt: control datagrams are refused. */
	p.tokens = -(int64_t)p.burst - 1;
	p.last_us = now_us();
	CHECK(!pace_control(&p, 100));
}

/*
 * Two jobs reserved back to back get consecutive slots: the second
 * starts when the first one's debt is paid, wherever it is sent from.
 */
static void test_pace_reserve(void)
{
	struct pacer p;
	uint64_t now, due, r, mark, t0;
	bool waited;

	pace_init(&p, 1000000);			/* 1 MB/s, burst 16 KiB */
	now = p.last_us;
	due = pace_reserve(&p, 16384 + 100000, now, &r, &waited, &mark);
	CHECK_EQ(due, now);			/* the burst was there */
	CHECK(!waited);
	due = pace_reserve(&p, 5000, now, &r, &waited, &mark);
	CHECK_EQ(due, now + 100000);		/* 100 kB at 1 MB/s */
	CHECK(waited);
	/* Its place on the timeline: 100 kB of debt after what was earned. */
	CHECK_EQ(mark, p.earned + 100000);
	/* The rate rises (slow start): the wait shrinks with it, to about
	 * 100 kB at 100 MB/s (1 ms), not the 100 ms of the old rate. */
	CHECK(pace_left_us(&p, mark, now) > 99000);
	pace_set_rate(&p, 100000000);
	t0 = p.last_us;
	CHECK(pace_left_us(&p, mark, t0) <= 1001);
	CHECK(pace_left_us(&p, mark, t0) > 0);
	/* pace_wait() returns once the timeline is there, with the rate. */
	CHECK_EQ(pace_wait(&p, mark), 100000000u);
	CHECK(p.earned >= mark);
	CHECK_EQ(pace_left_us(&p, mark, now_us()), 0);
	/* Unpaced: now, always. */
	pace_set_rate(&p, 0);
	CHECK_EQ(pace_reserve(&p, 1 << 20, now + 7, &r, &waited, &mark), now + 7);
	CHECK_EQ(r, 0u);
	CHECK(!waited);
}

static void test_srcrate_long_gap(void)
{
	struct srcrate r;
	struct dnbd_addr a = { .family = 4, .port = 5001 };
	uint64_t t = 1000000;

	memcpy(a.ip, "\x0a\x00\x00\x07", 4);
	CHECK_EQ(srcrate_init(&r, 1ull << 40), 0);
	CHECK(srcrate_take(&r, &a, 1 << 20, t));
	/* A day later the bucket is full again, whatever the rate. */
	t += 86400ull * 1000000;
	CHECK(srcrate_take(&r, &a, 1 << 20, t));
	srcrate_fini(&r);

	/* A small rate: a 3 MiB request (more than the 2 MiB burst) leaves
	 * a debt that blocks the next request... */
	CHECK_EQ(srcrate_init(&r, 1000), 0);
	CHECK(srcrate_take(&r, &a, 3 << 20, t));
	CHECK(!srcrate_take(&r, &a, 1, t + 1000));
	/* ...until 1000 bytes/s have paid it back: 1 MiB takes 1049 s. */
	CHECK(!srcrate_take(&r, &a, 1, t + 1000ull * 1000000));
	CHECK(srcrate_take(&r, &a, 1, t + 1050ull * 1000000));
	srcrate_fini(&r);
}

int main(void)
{
	test_pace_long_gap();
	test_pace_partial();
	test_pace_reserve();
	test_srcrate_long_gap();
	return check_report("test-pace");
}
