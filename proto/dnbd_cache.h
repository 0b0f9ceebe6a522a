/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dnbd_cache.h - a bounded cache of segments, keyed by segment index.
 *
 * Fixed capacity chosen at init (bytes / segment size slots), a chained
 * hash index and CLOCK replacement: a hit sets the slot's reference bit,
 * eviction sweeps the hand past referenced slots, clearing their bits.
 */
#ifndef DNBD_CACHE_H
#define DNBD_CACHE_H

#include "dnbd_port.h"

struct dnbd_cache_ent {
	uint64_t seg;
	uint32_t next;		/* index + 1 in the hash chain, 0: end */
	uint16_t len;
	uint8_t valid;
	uint8_t ref;
};

struct dnbd_cache {
	uint32_t cap;		/* slots, 0: cache disabled */
	uint32_t used;
	uint32_t hand;
	uint32_t hash_bits;
	uint16_t seg_size;
	uint32_t *bucket;	/* index + 1 of chain head, 0: empty */
	struct dnbd_cache_ent *ent;
	uint8_t *data;		/* cap * seg_size bytes */
	uint64_t evictions;
};

struct dnbd_env;

int dnbd_cache_init(struct dnbd_cache *k, const struct dnbd_env *env,
		    uint64_t bytes, uint16_t seg_size);
void dnbd_cache_fini(struct dnbd_cache *k, const struct dnbd_env *env);
/* Returns the data of segment seg (len in *len) or NULL. */
const uint8_t *dnbd_cache_get(struct dnbd_cache *k, uint64_t seg,
			      uint16_t *len);
/* Inserts or refreshes a segment; returns false if the cache is off. */
bool dnbd_cache_put(struct dnbd_cache *k, uint64_t seg, const uint8_t *data,
		    uint16_t len);

#endif /* DNBD_CACHE_H */
