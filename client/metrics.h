/* SPDX-License-Identifier: GPL-2.0 */
/*
 * metrics.h - dnbd-client --metrics: every dnbd device's figures from
 * sysfs (/sys/block/dnbdN/dnbd/, written by kmod/dnbd_stats.c) in the
 * Prometheus text exposition format 0.0.4, for node_exporter's textfile
 * collector.
 *
 * The parsers take a buffer and its length (no NUL needed) and never
 * trust it: a malformed line is skipped with a warning and counted, it
 * never reaches the output.  fuzz/fuzz-metrics.c drives them.
 */
#ifndef DNBD_METRICS_H
#define DNBD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_NAME_MAX	64	/* counter name, NUL included */
#define METRICS_COUNTERS_MAX	256	/* per device */
#define METRICS_SERVERS_MAX	64	/* per device */
#define METRICS_TEXT_MAX	(64 * 1024)	/* bytes read of one file */

struct metrics_counter {
	char name[METRICS_NAME_MAX];
	uint64_t value;
};

struct metrics_server {
	uint16_t id;
	bool up;
	char addr[64];
	uint64_t srtt_us;
	uint64_t weight;
};

struct metrics_dev {
	char name[32];			/* dnbd0 */
	bool bound;
	char image[256];
	char image_id[24];		/* 0x + up to 16 hex digits */
	char revision[24];		/* decimal */
	bool has_hits, has_misses;
	uint64_t cache_hits, cache_misses;
	unsigned int n_servers;
	struct metrics_server servers[METRICS_SERVERS_MAX];
	unsigned int n_counters;
	struct metrics_counter counters[METRICS_COUNTERS_MAX];
};

struct metrics {
	bool quiet;			/* no warnings on stderr (fuzzing) */
	unsigned int warnings;		/* malformed lines and files skipped */
	unsigned int n_devs;
	struct metrics_dev *devs;
};

/* "name value" lines (sysfs counters) into d; returns lines skipped. */
unsigned int metrics_parse_counters(struct metrics *m, struct metrics_dev *d,
				    const char *buf, size_t len);
/* "id ip:port state srtt_us weight" lines (sysfs servers). */
unsigned int metrics_parse_servers(struct metrics *m, struct metrics_dev *d,
				   const char *buf, size_t len);
/* The one-line files: image, image_id, revision; 0 or -1 (warned). */
int metrics_parse_image(struct metrics *m, struct metrics_dev *d,
			const char *buf, size_t len);
int metrics_parse_image_id(struct metrics *m, struct metrics_dev *d,
			   const char *buf, size_t len);
int metrics_parse_revision(struct metrics *m, struct metrics_dev *d,
			   const char *buf, size_t len);
int metrics_parse_u64(struct metrics *m, const struct metrics_dev *d,
		      const char *what, const char *buf, size_t len,
		      uint64_t *out);

/* A new device named name (unbound, no figures); NULL on ENOMEM. */
struct metrics_dev *metrics_add_dev(struct metrics *m, const char *name);
/* Every dnbdN under sysroot/block/ (sysroot is /sys unless tests say). */
int metrics_collect(struct metrics *m, const char *sysroot);
/* The exposition text; 0, or -1 when out failed. */
int metrics_format(const struct metrics *m, FILE *out);
void metrics_free(struct metrics *m);

/* dnbd-client --metrics FILE ("-" = stdout): 0 or 1 after a message. */
int metrics_run(const char *path);

#endif
