// SPDX-License-Identifier: GPL-2.0
/* test-cache.c - the bounded segment cache and its use-once replacement. */
#include "check.h"
#include "dnbd_client.h"

int main(void);

static void *t_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return calloc(1, len);
}

static void t_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static const struct dnbd_env env = { .alloc = t_alloc, .free = t_free };

int main(void)
{
	struct dnbd_cache k;
	uint8_t data[512];
	uint16_t len;
	const uint8_t *p;
	uint64_t seg;
	unsigned int hits;

	/* Disabled: too small for two segments. */
	CHECK_EQ(dnbd_cache_init(&k, &env, 600, 512), 0);
	CHECK(!dnbd_cache_put(&k, 1, data, 10, true));
	CHECK(!dnbd_cache_get(&k, 1, &len));
	dnbd_cache_fini(&k, &env);

	CHECK_EQ(dnbd_cache_init(&k, &env, 8 * 512, 512), 0);
	CHECK_EQ(k.cap, 8);
	for (seg = 0; seg < 8; seg++) {
		memset(data, (int)seg, sizeof(data));
		CHECK(dnbd_cache_put(&k, seg * 1000, data, (uint16_t)(100 + seg), true));
	}
	for (seg = 0; seg < 8; seg++) {
		p = dnbd_cache_get(&k, seg * 1000, &len);
		CHECK(p != NULL);
		if (p) {
			CHECK_EQ(len, 100 + seg);
			CHECK_EQ(p[0], seg);
		}
	}
	CHECK(!dnbd_cache_get(&k, 1, &len));
	/* Overwrite in place keeps the size. */
	memset(data, 0xaa, sizeof(data));
	CHECK(dnbd_cache_put(&k, 3000, data, 512, true));
	p = dnbd_cache_get(&k, 3000, &len);
	CHECK(p && len == 512 && p[511] == 0xaa);
	CHECK_EQ(k.used, 8);
	CHECK(!dnbd_cache_put(&k, 5, data, 513, true));	/* too long */

	/* All read once (no reference bits left): slot 0 goes first. */
	CHECK(dnbd_cache_put(&k, 100000, data, 10, true));
	CHECK_EQ(k.evictions, 1);
	CHECK(!dnbd_cache_get(&k, 0, &len));
	CHECK(dnbd_cache_get(&k, 7000, &len));
	for (seg = 0; seg < 6; seg++)
		CHECK(dnbd_cache_put(&k, 200000 + seg, data, 10, true));
	CHECK(dnbd_cache_get(&k, 7000, &len) != NULL);
	/* Bounded: never more than cap entries findable. */
	hits = 0;
	for (seg = 0; seg < 300000; seg += 1) {
		if (dnbd_cache_get(&k, seg, &len))
			hits++;
	}
	CHECK(hits <= 8);
	/* Many inserts with colliding chains stay consistent. */
	for (seg = 0; seg < 10000; seg++) {
		memset(data, (int)(seg & 0xff), 16);
		CHECK(dnbd_cache_put(&k, seg, data, 16, true));
		p = dnbd_cache_get(&k, seg, &len);
		CHECK(p && p[0] == (seg & 0xff));
	}
	dnbd_cache_fini(&k, &env);

	/* Use-once: segments read already make room before segments not
	 * read yet (overheard for a read to come), whatever their age. */
	CHECK_EQ(dnbd_cache_init(&k, &env, 8 * 512, 512), 0);
	for (seg = 0; seg < 8; seg++)
		CHECK(dnbd_cache_put(&k, seg, data, 16, true));
	for (seg = 0; seg < 8; seg += 2)
		CHECK(dnbd_cache_get(&k, seg, &len) != NULL);
	for (seg = 100; seg < 104; seg++)
		CHECK(dnbd_cache_put(&k, seg, data, 16, true));
	CHECK_EQ(k.evictions, 4);
	for (seg = 0; seg < 8; seg++)
		CHECK_EQ(dnbd_cache_get(&k, seg, &len) != NULL, seg % 2 == 1);
	for (seg = 100; seg < 104; seg++)
		CHECK(dnbd_cache_get(&k, seg, &len) != NULL);
	dnbd_cache_fini(&k, &env);

	/* A reader behind the others: a cache full of segments not read
	 * yet turns newcomers away (the old segments are the ones it needs
	 * next) until it reads some, or until they are old. */
	CHECK_EQ(dnbd_cache_init(&k, &env, 8 * 512, 512), 0);
	for (seg = 0; seg < 8; seg++)
		CHECK(dnbd_cache_put(&k, seg, data, 16, true));
	CHECK(!dnbd_cache_put(&k, 8, data, 16, true));
	CHECK_EQ(k.refused, 1);
	CHECK_EQ(k.evictions, 0);
	CHECK(!dnbd_cache_get(&k, 8, &len));
	CHECK(dnbd_cache_get(&k, 0, &len) != NULL);
	CHECK(dnbd_cache_put(&k, 8, data, 16, true));	/* 0 was read: it goes */
	CHECK_EQ(k.evictions, 1);
	CHECK(!dnbd_cache_get(&k, 0, &len));
	for (seg = 1; seg <= 8; seg++)
		CHECK(dnbd_cache_get(&k, seg, &len) != NULL);
	dnbd_cache_fini(&k, &env);

	/* Reads free slots anywhere; an unread segment is kept until 4 x 8
	 * newer ones have arrived, then the oldest goes first. */
	CHECK_EQ(dnbd_cache_init(&k, &env, 8 * 512, 512), 0);
	for (seg = 0; seg < 8; seg++)		/* arrivals 1..8 */
		CHECK(dnbd_cache_put(&k, seg, data, 16, true));
	CHECK(dnbd_cache_get(&k, 5, &len) != NULL);
	CHECK(dnbd_cache_put(&k, 100, data, 16, true));	/* 9: 5's slot */
	CHECK(!dnbd_cache_get(&k, 5, &len));
	CHECK(dnbd_cache_put(&k, 3, data, 16, true));	/* held: no arrival */
	for (seg = 200; seg < 223; seg++)		/* 10..32: young */
		CHECK(!dnbd_cache_put(&k, seg, data, 16, true));
	CHECK_EQ(k.refused, 23);
	CHECK(dnbd_cache_put(&k, 223, data, 16, true));	/* 33: 0 is old */
	CHECK(!dnbd_cache_get(&k, 0, &len));
	CHECK(dnbd_cache_put(&k, 224, data, 16, true));	/* 34: then 1 */
	CHECK(!dnbd_cache_get(&k, 1, &len));
	CHECK(dnbd_cache_put(&k, 225, data, 16, true));	/* 35: then 2 */
	CHECK_EQ(k.refused, 23);
	for (seg = 2; seg < 8; seg++)
		CHECK_EQ(dnbd_cache_get(&k, seg, &len) != NULL,
			 seg != 2 && seg != 5);
	CHECK(dnbd_cache_get(&k, 100, &len) != NULL);
	CHECK(dnbd_cache_get(&k, 223, &len) != NULL);
	CHECK(dnbd_cache_get(&k, 224, &len) != NULL);
	dnbd_cache_fini(&k, &env);

	/* Unwanted (behind the reader): room for anything, never a reason
	 * to turn a newcomer away. */
	CHECK_EQ(dnbd_cache_init(&k, &env, 8 * 512, 512), 0);
	for (seg = 0; seg < 8; seg++)
		CHECK(dnbd_cache_put(&k, seg, data, 16, seg % 2 == 0));
	for (seg = 10; seg < 14; seg++)
		CHECK(dnbd_cache_put(&k, seg, data, 16, true));
	CHECK(!dnbd_cache_put(&k, 14, data, 16, false));
	CHECK_EQ(k.evictions, 4);
	CHECK_EQ(k.refused, 1);
	for (seg = 0; seg < 14; seg++)
		CHECK_EQ(dnbd_cache_get(&k, seg, &len) != NULL,
			 seg >= 10 || (seg < 8 && seg % 2 == 0));
	dnbd_cache_fini(&k, &env);
	return check_report("test-cache");
}
