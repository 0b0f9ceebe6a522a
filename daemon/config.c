// SPDX-License-Identifier: GPL-2.0
/*
 * config.c - dnbd-server command line.  Every value is checked here, so
 * the rest of the server can trust struct srv_config.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "keyfile.h"
#include "util.h"

void config_usage(FILE *f)
{
	fprintf(f,
"dnbd-server, version " DNBD_VERSION_STRING "\n"
"Usage: dnbd-server -m <address> -d <device/file>[,name=N][,group=G][,rev=R]\n"
"                   -i <number> [-t <threads>] [options]\n"
"\n"
"  -m|--mcast     <address>  multicast group (or this host's unicast\n"
"                            address for the unicast fallback)\n"
"  -d|--device    <file>     image to export; repeat for more images\n"
"  -i|--id        <number>   unique server id, 1..65535\n"
"  -t|--threads   <number>   I/O worker threads (default 1)\n"
"  -p|--port      <port>     UDP port (default 5001)\n"
"  -I|--iface     <name>     interface for multicast\n"
"  -r|--revision  <number>   image revision (default: content checksum)\n"
"     --ttl       <hops>     multicast TTL (default 1)\n"
"     --rate      <bytes/s>  send at most this, K/M/G suffixes (default:\n"
"                            no cap); rate control stays below it\n"
"     --rate-min  <bytes/s>  rate control's floor: the least it slows to\n"
"                            for a slow reader (default 2M)\n"
"     --rate-control         follow the link: pace by the queueing delay\n"
"                            readers report, below --rate (experimental)\n"
"     --fixed-rate           no rate control (the default): pace at\n"
"                            exactly --rate, unpaced without it\n"
"     --seg-max   <bytes>    largest segment, 512..8900 (default 1400)\n"
"     --stats     <file>     write counters as JSON every second\n"
"     --metrics   <file>     write Prometheus metrics every second (for\n"
"                            node_exporter's textfile collector)\n"
"     --trace     <file>     log every READ, one line each (boot traces)\n"
"     --dedup-window <ms>    send a segment once per window (default 50)\n"
"     --announce-interval <s> unsolicited announcements (default 5, 0: off)\n"
"     --client-rate <bytes/s> answers per source address, K/M/G suffixes\n"
"                            (default 2G, 0: off)\n"
"     --key-file  <file>     lab key: tag every datagram sent, drop every\n"
"                            datagram without a valid tag\n"
"     --loop                 hear our own multicast, so that a client on\n"
"                            this host gets the replies (default: off)\n"
"     --no-gso               send every datagram on its own, never in\n"
"                            UDP GSO trains\n"
"     --no-fec               do not offer parity repair (REPAIR/PARITY)\n"
"  -v|--verbose              more log output\n"
"  -V|--version, -h|--help\n");
}

static int bad(const char *what, const char *value)
{
	fprintf(stderr, "dnbd-server: invalid %s: '%s'\n", what, value);
	return -1;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DNBD_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* -d PATH[,name=N][,group=G][,rev=R] */
static int parse_device(struct srv_config *cfg, const char *arg)
{
	struct image *img;
	char buf[PATH_MAX + 512], *opt, *save = NULL;
	const char *base;
	uint64_t v;

	if (cfg->n_images == MAX_IMAGES)
		return bad("-d (too many images)", arg);
	if (strlen(arg) >= sizeof(buf) || !*arg || *arg == ',')
		return bad("-d", arg);
	img = &cfg->images[cfg->n_images];
	memset(img, 0, sizeof(*img));
	strcpy(buf, arg);
	opt = strtok_r(buf, ",", &save);
	if (strlen(opt) >= sizeof(img->path))
		return bad("-d path", opt);
	strcpy(img->path, opt);
	base = strrchr(img->path, '/');
	base = base ? base + 1 : img->path;
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (!strncmp(opt, "name=", 5)) {
			if (!valid_name(opt + 5))
				return bad("image name (1..255 printable, no "
					   "space, quote or backslash)", opt + 5);
			snprintf(img->name, sizeof(img->name), "%s", opt + 5);
		} else if (!strncmp(opt, "group=", 6)) {
			if (!addr_parse(opt + 6, 0, &img->group) ||
			    !addr_is_multicast(&img->group))
				return bad("group (an IPv4 multicast address)",
					   opt + 6);
			img->group_set = true;
		} else if (!strncmp(opt, "rev=", 4)) {
			if (!parse_range(opt + 4, 0, UINT32_MAX, &v))
				return bad("rev", opt + 4);
			img->revision = (uint32_t)v;
			img->rev_set = true;
		} else {
			return bad("-d option (name=, group=, rev=)", opt);
		}
	}
	if (!img->name[0]) {
		if (!valid_name(base))
			return bad("image name derived from the file name "
				   "(use ,name=)", base);
		snprintf(img->name, sizeof(img->name), "%s", base);
	}
	img->name_len = (uint8_t)strlen(img->name);
	img->fd = -1;
	cfg->n_images++;
	return 0;
}

static int finish(struct srv_config *cfg, const char *mcast)
{
	unsigned int i, j;

	if (!mcast || !cfg->n_images || !cfg->id) {
		fprintf(stderr, "dnbd-server: -m, -d and -i are required\n");
		return -1;
	}
	if (!addr_parse(mcast, cfg->port, &cfg->mcast))
		return bad("-m (an IPv4 address)", mcast);
	cfg->multicast = addr_is_multicast(&cfg->mcast);
	for (i = 0; i < cfg->n_images; i++) {
		struct image *img = &cfg->images[i];

		if (!cfg->multicast && img->group_set) {
			fprintf(stderr, "dnbd-server: group= needs -m to be "
				"a multicast group\n");
			return -1;
		}
		if (!img->group_set && cfg->multicast &&
		    !addr_add(&cfg->mcast, i, &img->group))
			return bad("-m (no room for one group per image)",
				   mcast);
		if (!cfg->multicast)
			img->group = cfg->mcast;
		img->group.port = cfg->port;
		if (!img->rev_set && cfg->rev_set) {
			img->revision = cfg->revision;
			img->rev_set = true;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->images[j].name, img->name)) {
				fprintf(stderr, "dnbd-server: two images named "
					"'%s' (use ,name=)\n", img->name);
				return -1;
			}
	}
	return 0;
}

enum { O_TTL = 256, O_RATE, O_SEGMAX, O_STATS, O_METRICS, O_TRACE,
       O_DEDUP,
       O_ANNOUNCE, O_CLIENT_RATE, O_KEY_FILE, O_LOOP, O_NO_GSO, O_NO_FEC,
       O_RATE_MIN, O_FIXED_RATE, O_RATE_CONTROL };

int config_parse(struct srv_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mcast", required_argument, NULL, 'm' },
		{ "device", required_argument, NULL, 'd' },
		{ "id", required_argument, NULL, 'i' },
		{ "threads", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "iface", required_argument, NULL, 'I' },
		{ "revision", required_argument, NULL, 'r' },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "rate", required_argument, NULL, O_RATE },
		{ "rate-min", required_argument, NULL, O_RATE_MIN },
		{ "fixed-rate", no_argument, NULL, O_FIXED_RATE },
		{ "rate-control", no_argument, NULL, O_RATE_CONTROL },
		{ "seg-max", required_argument, NULL, O_SEGMAX },
		{ "stats", required_argument, NULL, O_STATS },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "trace", required_argument, NULL, O_TRACE },
		{ "dedup-window", required_argument, NULL, O_DEDUP },
		{ "announce-interval", required_argument, NULL, O_ANNOUNCE },
		{ "client-rate", required_argument, NULL, O_CLIENT_RATE },
		{ "key-file", required_argument, NULL, O_KEY_FILE },
		{ "loop", no_argument, NULL, O_LOOP },
		{ "no-gso", no_argument, NULL, O_NO_GSO },
		{ "no-fec", no_argument, NULL, O_NO_FEC },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mcast = NULL;
	uint64_t v;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	argv[0] = (char *)"dnbd-server";	/* for getopt's messages */
	cfg->threads = 1;
	cfg->port = DNBD_DEFAULT_PORT;
	cfg->ttl = 1;
	cfg->seg_max = DNBD_SEG_DEFAULT;
	cfg->dedup_us = 50000;
	cfg->announce_us = 5000000;
	cfg->client_rate = 2ull << 30;
	cfg->rate_min = 2ull << 20;
	cfg->verbose = 1;
	if (argc < 2) {
		config_usage(stderr);
		return -1;
	}
	while ((c = getopt_long(argc, argv, "m:d:i:t:p:I:r:vVh", opts,
				NULL)) != -1) {
		switch (c) {
		case 'm':
			mcast = optarg;
			break;
		case 'd':
			if (parse_device(cfg, optarg))
				return -1;
			break;
		case 'i':
			if (!parse_range(optarg, 1, 65535, &v))
				return bad("-i (1..65535)", optarg);
			cfg->id = (uint16_t)v;
			break;
		case 't':
			if (!parse_range(optarg, 1, 64, &v))
				return bad("-t (1..64)", optarg);
			cfg->threads = (unsigned int)v;
			break;
		case 'p':
			if (!parse_range(optarg, 1, 65535, &v))
				return bad("-p (1..65535)", optarg);
			cfg->port = (uint16_t)v;
			break;
		case 'I':
			cfg->iface = optarg;
			break;
		case 'r':
			if (!parse_range(optarg, 0, UINT32_MAX, &v))
				return bad("-r", optarg);
			cfg->revision = (uint32_t)v;
			cfg->rev_set = true;
			break;
		case O_TTL:
			if (!parse_range(optarg, 1, 255, &v))
				return bad("--ttl (1..255)", optarg);
			cfg->ttl = (int)v;
			break;
		case O_RATE:
			if (!parse_size(optarg, &v) || v > (1ull << 40))
				return bad("--rate (bytes per second, 1T at most)",
					   optarg);
			cfg->rate = v;
			break;
		case O_RATE_MIN:
			if (!parse_size(optarg, &v) || v < (64u << 10) ||
			    v > (1ull << 40))
				return bad("--rate-min (bytes per second, 64K "
					   "to 1T)", optarg);
			cfg->rate_min = v;
			break;
		case O_FIXED_RATE:
			cfg->rate_control = false;
			break;
		case O_RATE_CONTROL:
			cfg->rate_control = true;
			break;
		case O_SEGMAX:
			if (!parse_range(optarg, DNBD_SEG_MIN, DNBD_SEG_MAX, &v))
				return bad("--seg-max (512..8900)", optarg);
			cfg->seg_max = (uint16_t)v;
			break;
		case O_STATS:
			cfg->stats_path = optarg;
			break;
		case O_METRICS:
			cfg->metrics_path = optarg;
			break;
		case O_TRACE:
			cfg->trace_path = optarg;
			break;
		case O_DEDUP:
			if (!parse_range(optarg, 0, 10000, &v))
				return bad("--dedup-window (0..10000 ms)",
					   optarg);
			cfg->dedup_us = (uint32_t)v * 1000;
			break;
		case O_ANNOUNCE:
			if (!parse_range(optarg, 0, 3600, &v))
				return bad("--announce-interval (0..3600 s)",
					   optarg);
			cfg->announce_us = (uint32_t)v * 1000000;
			break;
		case O_CLIENT_RATE:
			if (!parse_size(optarg, &v) || v > (1ull << 40))
				return bad("--client-rate (bytes per second)",
					   optarg);
			cfg->client_rate = v;
			break;
		case O_KEY_FILE:
			cfg->key_file = optarg;
			break;
		case O_LOOP:
			cfg->loop = true;
			break;
		case O_NO_GSO:
			cfg->no_gso = true;
			break;
		case O_NO_FEC:
			cfg->no_fec = true;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'V':
			printf("dnbd-server, version " DNBD_VERSION_STRING "\n");
			return 1;
		case 'h':
			config_usage(stdout);
			return 1;
		default:
			config_usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dnbd-server: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (cfg->key_file) {
		uint8_t raw[DNBD_KEY_LEN];
		char err[PATH_MAX + 128];

		if (key_file_load(cfg->key_file, raw, err, sizeof(err))) {
			fprintf(stderr, "dnbd-server: %s\n", err);
			return -1;
		}
		dnbd_key_init(&cfg->key, raw);
		memset(raw, 0, sizeof(raw));
		cfg->keyed = true;
	}
	return finish(cfg, mcast);
}
