/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dnbd_cache.h - a bounded cache of segments, keyed by segment index.
 *
 * Fixed capacity chosen at init (bytes / segment size slots), a chained
 * hash index and use-once replacement (cache.c): a segment read goes
 * first; one not read yet (and wanted) stays until DNBD_CACHE_GRACE x
 * capacity newer segments have arrived, and a newcomer that finds only
 * such segments is turned away (counted in refused).
 */
#ifndef DNBD_CACHE_H
#define DNBD_CACHE_H

#include "dnbd_port.h"

#define DNBD_CACHE_GRACE	4	/* capacities of arrivals */
#define DNBD_CACHE_SCAN		16	/* slots looked at per insertion */

struct dnbd_cache_ent {
	uint64_t seg;
	uint32_t next;		/* index + 1 in the hash chain, 0: end */
	uint32_t born;		/* clock when it arrived */
	uint16_t len;
	uint8_t valid;
	uint8_t unread;		/* wanted and not read yet: protected */
};

struct dnbd_cache {
	uint32_t cap;		/* slots, 0: cache disabled */
	uint32_t used;
	uint32_t hand;
	uint32_t hash_bits;
	uint32_t clock;		/* new segments offered so far (wraps) */
	uint32_t grace;		/* DNBD_CACHE_GRACE x cap, at most 2^31 */
	uint16_t seg_size;
	uint32_t *bucket;	/* index + 1 of chain head, 0: empty */
	struct dnbd_cache_ent *ent;
	uint8_t *data;		/* cap * seg_size bytes */
	uint64_t evictions;
	uint64_t refused;	/* newcomers turned away: no room */
};

struct dnbd_env;

int dnbd_cache_init(struct dnbd_cache *k, const struct dnbd_env *env,
		    uint64_t bytes, uint16_t seg_size);
void dnbd_cache_fini(struct dnbd_cache *k, const struct dnbd_env *env);
/* Returns the data of segment seg (len in *len) or NULL. */
const uint8_t *dnbd_cache_get(struct dnbd_cache *k, uint64_t seg,
			      uint16_t *len);
/* Inserts or refreshes a segment; false if the cache is off or full of
 * segments not read yet and still young.  A segment put with want false
 * (probably not wanted: behind the reader) is inserted as if read. */
bool dnbd_cache_put(struct dnbd_cache *k, uint64_t seg, const uint8_t *data,
		    uint16_t len, bool want);

#endif /* DNBD_CACHE_H */
