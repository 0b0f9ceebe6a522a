// SPDX-License-Identifier: GPL-2.0
/*
 * seen.c - who the server hears: clients and replicas.
 *
 * A client is an IPv4 address that sent an accepted HELLO, READ or
 * REPAIR; a replica is a server id whose replies or announcements come
 * in on our groups.  Both live in fixed tables owned by the event loop
 * (no locks).  A new address takes the slot heard from least recently,
 * so a flood of forged sources only pushes out old entries.
 *
 * The tables serve the admin's view (the stats file, the metrics, the
 * appliance's lab page): when a client first asked, which image, how much,
 * how often it had to ask again, and whether its boot reads are over.
 * A client silent for SEEN_REBOOT_US that speaks again has rebooted: its
 * entry starts over.
 */
#include <inttypes.h>
#include <string.h>

#include "server.h"
#include "stats.h"

static struct seen_client *client_slot(struct seen *t, const uint8_t *ip)
{
	struct seen_client *oldest = &t->c[0];
	unsigned int i;

	for (i = 0; i < SEEN_CLIENTS; i++) {
		struct seen_client *c = &t->c[i];

		if (c->used && !memcmp(c->ip, ip, 4))
			return c;
		if (!c->used) {
			if (oldest->used)
				oldest = c;
		} else if (oldest->used && c->last_us < oldest->last_us) {
			oldest = c;
		}
	}
	return oldest;
}

void seen_client(struct seen *t, const struct dnbd_addr *from, int image,
		 enum seen_what what, bool retry, unsigned int segs,
		 uint64_t now)
{
	struct seen_client *c = client_slot(t, from->ip);

	if (!c->used || memcmp(c->ip, from->ip, 4) ||
	    now - c->last_us >= SEEN_REBOOT_US) {
		memset(c, 0, sizeof(*c));
		memcpy(c->ip, from->ip, 4);
		c->used = true;
		c->image = -1;
		c->first_us = now;
	}
	c->last_us = now;
	if (image >= 0)
		c->image = image;
	switch (what) {
	case SEEN_HELLO:
		c->hellos++;
		break;
	case SEEN_READ:
		c->reads++;
		c->segments += segs;
		c->retries += retry;
		c->last_read_us = now;
		break;
	case SEEN_REPAIR:
		c->repairs++;
		break;
	}
}

void seen_replica(struct seen *t, uint16_t id, const struct dnbd_addr *from,
		  uint64_t now)
{
	struct seen_replica *r, *oldest = &t->r[0];
	unsigned int i;

	if (!id)		/* a client's, or garbage */
		return;
	for (i = 0; i < SEEN_REPLICAS; i++) {
		r = &t->r[i];
		if (r->used && r->id == id)
			goto found;
		if (!r->used) {
			if (oldest->used)
				oldest = r;
		} else if (oldest->used && r->last_us < oldest->last_us) {
			oldest = r;
		}
	}
	r = oldest;
	memset(r, 0, sizeof(*r));
	r->used = true;
	r->id = id;
	r->first_us = now;
found:
	memcpy(r->ip, from->ip, 4);
	r->last_us = now;
	r->datagrams++;
}

void seen_tick(struct seen *t, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < SEEN_CLIENTS; i++) {
		struct seen_client *c = &t->c[i];

		if (c->used && !c->settled && c->reads &&
		    now - c->last_read_us >= SEEN_SETTLE_US)
			c->settled = true;
	}
}

unsigned int seen_active_clients(const struct seen *t, uint64_t now)
{
	unsigned int i, n = 0;

	for (i = 0; i < SEEN_CLIENTS; i++)
		n += t->c[i].used && now - t->c[i].last_us < SEEN_ACTIVE_US;
	return n;
}

unsigned int seen_active_replicas(const struct seen *t, uint64_t now)
{
	unsigned int i, n = 0;

	for (i = 0; i < SEEN_REPLICAS; i++)
		n += t->r[i].used && now - t->r[i].last_us < SEEN_ACTIVE_US;
	return n;
}

static double ago(uint64_t then, uint64_t now)
{
	return then > now ? 0.0 : (double)(now - then) / 1e6;
}

void seen_json(FILE *f, const struct server *s, uint64_t now)
{
	const struct seen *t = &s->seen;
	const char *sep = "";
	unsigned int i;

	fprintf(f, "\"clients\":[");
	for (i = 0; i < SEEN_CLIENTS; i++) {
		const struct seen_client *c = &t->c[i];

		if (!c->used)
			continue;
		fprintf(f, "%s{\"address\":\"%u.%u.%u.%u\",\"image\":", sep,
			c->ip[0], c->ip[1], c->ip[2], c->ip[3]);
		if (c->image >= 0)
			json_str(f, s->cfg.images[c->image].name);
		else
			fputs("null", f);
		fprintf(f, ",\"first_s\":%.1f,\"last_s\":%.1f,\"last_read_s\":",
			ago(c->first_us, now), ago(c->last_us, now));
		if (c->reads)
			fprintf(f, "%.1f", ago(c->last_read_us, now));
		else
			fputs("null", f);
		fprintf(f, ",\"settled\":%s,\"hellos\":%" PRIu64 ",\"reads\":%"
			PRIu64 ",\"segments\":%" PRIu64 ",\"retries\":%" PRIu64
			",\"repairs\":%" PRIu64 "}", c->settled ? "true" : "false",
			c->hellos, c->reads, c->segments, c->retries,
			c->repairs);
		sep = ",";
	}
	fprintf(f, "],\"replicas\":[");
	sep = "";
	for (i = 0; i < SEEN_REPLICAS; i++) {
		const struct seen_replica *r = &t->r[i];

		if (!r->used)
			continue;
		fprintf(f, "%s{\"id\":%u,\"address\":\"%u.%u.%u.%u\","
			"\"first_s\":%.1f,\"last_s\":%.1f,\"datagrams\":%"
			PRIu64 "}", sep, r->id, r->ip[0], r->ip[1], r->ip[2],
			r->ip[3], ago(r->first_us, now), ago(r->last_us, now),
			r->datagrams);
		sep = ",";
	}
	fputc(']', f);
}
