// SPDX-License-Identifier: GPL-2.0
/*
 * srcrate.c - per-source request rate limiting (--client-rate).
 *
 * A token bucket per source address, in bytes of answers per second: a
 * READ costs the REPLYs it may trigger, a HELLO the ANNOUNCEs.  Buckets
 * live in a fixed table (SRCRATE_SETS sets of SRCRATE_WAYS), indexed by a
 * keyed hash of the address so that a remote host cannot aim collisions;
 * a new source takes the least recently used slot of its set.  Only the
 * event loop uses it: no locks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "server.h"
#include "util.h"

#define SRCRATE_SETS	1024
#define SRCRATE_WAYS	4
#define SRCRATE_MIN_BURST	(2ull << 20)	/* > the largest READ */

struct srcrate_slot {
	uint8_t ip[16];
	bool used;
	int64_t tokens;		/* bytes x 10^6: no fraction is lost */
	uint64_t last_us;
};

int srcrate_init(struct srcrate *r, uint64_t rate)
{
	memset(r, 0, sizeof(*r));
	r->rate = rate;
	if (!rate)
		return 0;
	r->burst = rate / 8 > SRCRATE_MIN_BURST ? rate / 8 : SRCRATE_MIN_BURST;
	if (getrandom(&r->seed, sizeof(r->seed), 0) != sizeof(r->seed))
		r->seed = (uintptr_t)r ^ now_us();
	r->slots = calloc(SRCRATE_SETS * SRCRATE_WAYS, sizeof(*r->slots));
	return r->slots ? 0 : -1;
}

void srcrate_fini(struct srcrate *r)
{
	free(r->slots);
	r->slots = NULL;
}

static unsigned int srcrate_set(const struct srcrate *r,
				const struct dnbd_addr *a)
{
	uint64_t h = r->seed;
	unsigned int i;

	for (i = 0; i < sizeof(a->ip); i++)
		h = (h ^ a->ip[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (unsigned int)(h >> 40) % SRCRATE_SETS;
}

bool srcrate_take(struct srcrate *r, const struct dnbd_addr *from,
		  uint64_t cost, uint64_t now)
{
	struct srcrate_slot *set, *s = NULL, *lru = NULL;
	int64_t cap = (int64_t)r->burst * 1000000;
	uint64_t dt;
	unsigned int i;

	if (!r->rate)
		return true;
	set = &r->slots[srcrate_set(r, from) * SRCRATE_WAYS];
	for (i = 0; i < SRCRATE_WAYS; i++) {
		if (set[i].used && !memcmp(set[i].ip, from->ip, 16)) {
			s = &set[i];
			break;
		}
		if (!lru || !set[i].used ||
		    (lru->used && set[i].last_us < lru->last_us))
			lru = &set[i];
	}
	if (!s) {
		s = lru;
		memcpy(s->ip, from->ip, 16);
		s->used = true;
		s->tokens = cap;
		s->last_us = now;
		r->evictions++;
	}
	dt = now > s->last_us ? now - s->last_us : 0;
	s->last_us = now;
	/* dt * rate only when below what fills the bucket: no overflow
	 * after a long gap (cap and debt are far below 2^63). */
	if (dt >= (uint64_t)(cap - s->tokens) / r->rate + 1)
		s->tokens = cap;
	else
		s->tokens += (int64_t)(dt * r->rate);
	if (s->tokens > cap)
		s->tokens = cap;
	/* In credit: pass, and go into debt for the rest if need be. */
	if (s->tokens < 0)
		return false;
	s->tokens -= (int64_t)cost * 1000000;
	return true;
}
