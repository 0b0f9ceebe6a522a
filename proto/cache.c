// SPDX-License-Identifier: GPL-2.0
/*
 * cache.c - bounded segment cache with use-once replacement (dnbd_cache.h).
 *
 * Use-once: what the cache holds is there to be read once, by the layer
 * above (the page cache, or dnbd-cat's reader), which keeps it from then
 * on.  A segment just read goes first.  (With the usual CLOCK, a hit
 * protected segments already delivered while overheard ones not read yet
 * were evicted: 8 readers sharing a group then fell out of step and asked
 * the server for 2-3x the image.)
 *
 * A segment not read yet is not evicted for a newer one until it is old:
 * until DNBD_CACHE_GRACE times the capacity of new segments has arrived
 * since it did.  Until then a newcomer that finds no room is turned away.
 * This is what lets a reader that fell behind the others catch up: its
 * cache keeps the segments just ahead of it, which it reads at memory
 * speed, instead of the newest ones, far ahead; with plain replacement
 * it lost the very segments it needed next, asked the server for them,
 * and stayed behind, costing the server a second copy of everything.
 * A segment behind the reader (client.c's guess: below the highest segment
 * its reads have asked for) is put as unwanted and protected by nothing: a reader ahead
 * of the others hears their requests for what it has read already, and
 * would otherwise fill its cache with them and turn away what it needs.
 */
#include "dnbd_client.h"

static uint32_t cache_hash(const struct dnbd_cache *k, uint64_t seg)
{
	return (uint32_t)((seg * 0x9e3779b97f4a7c15ull) >> (64 - k->hash_bits));
}

int dnbd_cache_init(struct dnbd_cache *k, const struct dnbd_env *env,
		    uint64_t bytes, uint16_t seg_size)
{
	uint64_t cap = seg_size ? bytes / seg_size : 0;

	memset(k, 0, sizeof(*k));
	if (cap < 2)
		return 0;		/* disabled */
	if (cap > 0x3fffffff)
		cap = 0x3fffffff;
	k->cap = (uint32_t)cap;
	/* Ages are differences of 32-bit arrival counts. */
	k->grace = cap < 0x80000000u / DNBD_CACHE_GRACE ?
		   (uint32_t)cap * DNBD_CACHE_GRACE : 0x80000000u;
	k->seg_size = seg_size;
	k->hash_bits = 1;
	while (((uint64_t)1 << k->hash_bits) < cap)
		k->hash_bits++;
	k->bucket = env->alloc(env->ctx,
			       sizeof(*k->bucket) << k->hash_bits);
	k->ent = env->alloc(env->ctx, sizeof(*k->ent) * cap);
	k->data = env->alloc(env->ctx, (size_t)cap * seg_size);
	if (!k->bucket || !k->ent || !k->data) {
		dnbd_cache_fini(k, env);
		return -DNBD_ERR_NOMEM;
	}
	return 0;
}

void dnbd_cache_fini(struct dnbd_cache *k, const struct dnbd_env *env)
{
	if (k->bucket)
		env->free(env->ctx, k->bucket);
	if (k->ent)
		env->free(env->ctx, k->ent);
	if (k->data)
		env->free(env->ctx, k->data);
	memset(k, 0, sizeof(*k));
}

static struct dnbd_cache_ent *cache_find(struct dnbd_cache *k, uint64_t seg)
{
	uint32_t i = k->bucket[cache_hash(k, seg)];

	while (i) {
		struct dnbd_cache_ent *e = &k->ent[i - 1];

		if (e->valid && e->seg == seg)
			return e;
		i = e->next;
	}
	return NULL;
}

const uint8_t *dnbd_cache_get(struct dnbd_cache *k, uint64_t seg,
			      uint16_t *len)
{
	struct dnbd_cache_ent *e;

	if (!k->cap)
		return NULL;
	e = cache_find(k, seg);
	if (!e)
		return NULL;
	e->unread = 0;		/* delivered: the page cache above has it now */
	*len = e->len;
	return k->data + (size_t)(e - k->ent) * k->seg_size;
}

static void cache_unlink(struct dnbd_cache *k, uint32_t slot)
{
	uint32_t *link = &k->bucket[cache_hash(k, k->ent[slot].seg)];

	while (*link && *link != slot + 1)
		link = &k->ent[*link - 1].next;
	if (*link)
		*link = k->ent[slot].next;
	k->ent[slot].valid = 0;
}

/*
 * A slot for a new segment, or k->cap when there is none to give.
 * The hand stays on the oldest entry not yet evicted: the first
 * DNBD_CACHE_SCAN slots from it are looked at, and the first that was
 * read, or is old, goes.  The slots skipped (young, not read) keep their
 * place, so the hand finds them again once they are read or old.
 */
static uint32_t cache_victim(struct dnbd_cache *k)
{
	uint32_t i, n, slot;

	if (k->used < k->cap)
		return k->used++;
	n = k->cap < DNBD_CACHE_SCAN ? k->cap : DNBD_CACHE_SCAN;
	for (i = 0; i < n; i++) {
		const struct dnbd_cache_ent *e;

		slot = (k->hand + i) % k->cap;
		e = &k->ent[slot];
		if (!e->unread || k->clock - e->born >= k->grace)
			break;
	}
	if (i == n) {
		k->refused++;
		return k->cap;
	}
	if (!i)
		k->hand = (k->hand + 1) % k->cap;
	cache_unlink(k, slot);
	k->evictions++;
	return slot;
}

bool dnbd_cache_put(struct dnbd_cache *k, uint64_t seg, const uint8_t *data,
		    uint16_t len, bool want)
{
	struct dnbd_cache_ent *e;
	uint32_t slot, h;

	if (!k->cap || len == 0 || len > k->seg_size)
		return false;
	e = cache_find(k, seg);
	if (e) {
		slot = (uint32_t)(e - k->ent);
	} else {
		k->clock++;
		slot = cache_victim(k);
		if (slot == k->cap)
			return false;
		e = &k->ent[slot];
		e->born = k->clock;
		h = cache_hash(k, seg);
		e->seg = seg;
		e->next = k->bucket[h];
		k->bucket[h] = slot + 1;
		e->valid = 1;
		e->unread = want;	/* kept while young */
	}
	e->len = len;
	memcpy(k->data + (size_t)slot * k->seg_size, data, len);
	return true;
}
