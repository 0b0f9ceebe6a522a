// SPDX-License-Identifier: GPL-2.0
/*
 * metrics.c - the server's counters in the Prometheus text format
 * (exposition format 0.0.4), for node_exporter's textfile collector or
 * any web server that serves the file (the appliance's /metrics.prom).
 *
 * Names follow Prometheus' conventions: the prefix dnbd_server_ (the
 * server) or dnbd_image_ (one exported image), base units (seconds,
 * bytes), counters ending in _total, one HELP and TYPE line per family.
 * Every series carries server_id, so replicas collected into one place
 * stay apart.  The server counters are the stats file's "counters",
 * name for name: dnbd_server_<name>_total.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "server.h"
#include "stats.h"
#include "util.h"

static void image_series(FILE *f, const struct server *s, const char *name,
			 const char *type, const char *help,
			 uint64_t (*value)(const struct image *))
{
	unsigned int i;

	prom_family(f, name, type, help);
	for (i = 0; i < s->cfg.n_images; i++) {
		const struct image *img = &s->cfg.images[i];

		fprintf(f, "%s{server_id=\"%u\"", name, s->cfg.id);
		prom_label(f, "image", img->name, false);
		fprintf(f, "} %" PRIu64 "\n", value(img));
	}
}

static uint64_t img_size(const struct image *img)
{
	return img->size;
}

static uint64_t img_requests(const struct image *img)
{
	return atomic_load(&img->requests);
}

static uint64_t img_segments(const struct image *img)
{
	return atomic_load(&img->segments_sent);
}

static uint64_t img_bytes(const struct image *img)
{
	return atomic_load(&img->data_bytes_sent);
}

static uint64_t img_changed(const struct image *img)
{
	return atomic_load(&img->changed);
}

static void server_metrics(FILE *f, const struct server *s, uint64_t now)
{
	unsigned int id = s->cfg.id, i;
	char name[96];

	prom_family(f, "dnbd_server_info", "gauge",
		    "The server's id and version; always 1");
	fprintf(f, "dnbd_server_info{server_id=\"%u\",version=\""
		DNBD_VERSION_STRING "\"} 1\n", id);
	prom_family(f, "dnbd_server_uptime_seconds", "gauge",
		    "Seconds since the server started");
	fprintf(f, "dnbd_server_uptime_seconds{server_id=\"%u\"} %" PRIu64
		"\n", id, (now - s->start_us) / 1000000u);
	prom_family(f, "dnbd_server_rate_bytes_per_second", "gauge",
		    "The rate replies are paced at; 0: unpaced");
	fprintf(f, "dnbd_server_rate_bytes_per_second{server_id=\"%u\"} %"
		PRIu64 "\n", id, srv_rate(s));
	prom_family(f, "dnbd_server_queue_delay_seconds", "gauge",
		    "Worst queueing delay readers reported in the last rate "
		    "control period (--rate-control)");
	fprintf(f, "dnbd_server_queue_delay_seconds{server_id=\"%u\"} %.3f\n",
		id, s->ratectl.last_worst_ms / 1000.0);
	prom_family(f, "dnbd_server_clients", "gauge",
		    "Clients heard from in the last 10 seconds");
	fprintf(f, "dnbd_server_clients{server_id=\"%u\"} %u\n", id,
		seen_active_clients(&s->seen, now));
	prom_family(f, "dnbd_server_replicas", "gauge",
		    "Other servers heard on the groups in the last 10 seconds");
	fprintf(f, "dnbd_server_replicas{server_id=\"%u\"} %u\n", id,
		seen_active_replicas(&s->seen, now));
	for (i = 0; i < SC_MAX; i++) {
		snprintf(name, sizeof(name), "dnbd_server_%s_total",
			 srv_counter_names[i]);
		prom_family(f, name, "counter", srv_counter_help[i]);
		fprintf(f, "%s{server_id=\"%u\"} %" PRIu64 "\n", name, id,
			atomic_load_explicit(&s->counters[i],
					     memory_order_relaxed));
	}
}

static void image_metrics(FILE *f, const struct server *s)
{
	char group[ADDR_STRLEN];
	unsigned int i;

	prom_family(f, "dnbd_image_info", "gauge",
		    "An exported image: its id, revision and group; always 1");
	for (i = 0; i < s->cfg.n_images; i++) {
		const struct image *img = &s->cfg.images[i];

		addr_str(&img->group, group);
		fprintf(f, "dnbd_image_info{server_id=\"%u\"", s->cfg.id);
		prom_label(f, "image", img->name, false);
		fprintf(f, ",image_id=\"0x%016" PRIx64 "\",revision=\"%u\","
			"group=\"%s\"} 1\n", img->id, img->revision, group);
	}
	image_series(f, s, "dnbd_image_size_bytes", "gauge",
		     "The image's size", img_size);
	image_series(f, s, "dnbd_image_requests_total", "counter",
		     "READ requests for the image", img_requests);
	image_series(f, s, "dnbd_image_segments_sent_total", "counter",
		     "REPLY and PARITY datagrams sent for the image",
		     img_segments);
	image_series(f, s, "dnbd_image_data_sent_bytes_total", "counter",
		     "Image bytes sent in REPLY datagrams", img_bytes);
	image_series(f, s, "dnbd_image_changed", "gauge",
		     "1: the image changed under the server and is no "
		     "longer served", img_changed);
}

int metrics_write(const struct server *s, const char *path, uint64_t now)
{
	char *data = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	f = open_memstream(&data, &len);
	if (!f)
		return -errno;
	server_metrics(f, s, now);
	image_metrics(f, s);
	if (fclose(f)) {
		free(data);
		return -ENOMEM;
	}
	err = write_file_atomic(path, data, len);
	free(data);
	return err;
}
