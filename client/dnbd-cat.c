// SPDX-License-Identifier: GPL-2.0
/*
 * dnbd-cat - write a dnbd image, or a range of it, to stdout.
 *
 * It keeps a window of reads in flight through the client protocol core
 * and writes them out in order as they complete.  With --hold N above the
 * window, reads behind one that waits (on a retransmission) go on: up to
 * N reads (at most 64 MiB) are held, done or not, so that one lost
 * datagram does not stop the others while the oldest read waits for its
 * repair; only while this client reads alone.  Not by default: with 8
 * readers on one group, holding 4x the window let readers run apart (3 of
 * 10 runs sent 2.0-2.6x the image, with receive-buffer overflows; none of
 * 6 with the window alone), also when held only while alone.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"
#include "stats.h"
#include "util.h"

#define CHUNK_MAX	(1u << 20)
#define WINDOW_DEFAULT	16
#define WINDOW_MAX	256
#define HOLD_MAX	1024
#define HOLD_PER_WINDOW	1
#define HELD_BYTES_MAX	(64u << 20)	/* unless the window alone is more */

enum { EXIT_USAGE = 2, EXIT_READ = 3 };

struct slot {
	struct dnbd_read r;
	bool done;
	int err;
};

struct cat {
	struct session s;
	struct slot *slots;
	unsigned int window;		/* reads in flight, at most */
	unsigned int hold;		/* --hold: reads held, 0: the window */
	unsigned int nslots;		/* reads held: in flight or done */
	unsigned int head, held, inflight;
	uint64_t next_off, end, written;
	uint32_t chunk;
	const char *stats_path;
	int verbose;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"dnbd-cat, version " DNBD_VERSION_STRING "\n"
"Usage: dnbd-cat -b <group|address[,address...]> [options] > out\n"
"\n"
"  -b|--bind     <address>  multicast group, or unicast server address(es)\n"
"  -I|--iface    <name>     interface for multicast\n"
"  -p|--port     <port>     UDP port (default 5001)\n"
"     --image    <name>     image to read (needed if a group has several)\n"
"     --offset   <bytes>    start here (K/M/G suffixes)\n"
"     --length   <bytes>    read this much (default: to the end)\n"
"     --timeout  <seconds>  give up when no server answers (default 5)\n"
"     --seg-size <bytes>    segment size, 512..8900 (default 1400)\n"
"     --cache-size <bytes>  cache for overheard replies (default 64M)\n"
"     --key-file <file>     the lab key (32 raw bytes or 64 hex digits)\n"
"     --window   <n>        reads in flight, 1..256 (default 16)\n"
"     --hold     <n>        reads held in order, done or in flight, while\n"
"                            no other client reads: up to 1024 and 64 MiB\n"
"                            (default: the window)\n"
"     --list                list the images on the group and exit\n"
"     --stats    <file>     write counters as JSON at exit\n"
"     --no-gro              receive datagrams one by one, not in UDP GRO\n"
"                           batches\n"
"  -v|--verbose             counters and servers on stderr at exit\n"
"  -V|--version, -h|--help\n");
}

static void on_done(struct session *s, struct dnbd_read *r, int err)
{
	struct slot *sl = r->priv;
	struct cat *c = (struct cat *)((char *)s - offsetof(struct cat, s));

	sl->done = true;
	sl->err = err;
	c->inflight--;
}

static void on_server(struct session *s, uint16_t id, int up)
{
	struct cat *c = s->priv;

	if (c->verbose)
		log_info("server %u %s", id, up ? "up" : "down");
}

static void print_servers(FILE *f, const struct dnbd_client *core, bool json)
{
	unsigned int i, n = 0;

	for (i = 0; i < DNBD_MAX_SERVERS; i++) {
		const struct dnbd_server *sv = &core->servers[i];
		const char *st = sv->state == DNBD_SRV_UP ? "up" : "down";

		if (sv->state == DNBD_SRV_EMPTY)
			continue;
		if (json)
			fprintf(f, "%s{\"id\":%u,\"state\":\"%s\",\"srtt_us\":%u,"
				"\"rttvar_us\":%u,\"weight\":%u,\"requests\":%"
				PRIu64 ",\"replies\":%" PRIu64 "}",
				n ? "," : "", sv->id, st, sv->srtt_us,
				sv->rttvar_us, sv->weight, sv->requests,
				sv->replies);
		else
			fprintf(f, "dnbd-cat: server %u %s srtt %u us weight "
				"%u requests %" PRIu64 " replies %" PRIu64 "\n",
				sv->id, st, sv->srtt_us, sv->weight,
				sv->requests, sv->replies);
		n++;
	}
}

static void report(struct cat *c)
{
	const struct dnbd_client *core = &c->s.core;
	char *data = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (c->verbose) {
		text_counters(stderr, "dnbd-cat:", dnbd_client_counter_names,
			      core->counters, DNBD_CC_MAX);
		print_servers(stderr, core, false);
	}
	if (!c->stats_path)
		return;
	f = open_memstream(&data, &len);
	if (!f)
		return;
	fprintf(f, "{\"image\":{\"name\":\"%s\",\"id\":\"0x%016" PRIx64 "\","
		"\"size\":%" PRIu64 ",\"revision\":%u,\"seg_size\":%u},"
		"\"bytes_written\":%" PRIu64 ",",
		core->image.name, core->image.id, core->image.size,
		core->image.revision, core->image.seg_max, c->written);
	session_json(f, &c->s);
	fprintf(f, ",\"servers\":[");
	print_servers(f, core, true);
	fprintf(f, "]}\n");
	fclose(f);
	err = write_file_atomic(c->stats_path, data, len);
	if (err)
		log_err("cannot write %s: %s", c->stats_path, strerror(-err));
	free(data);
}

static int write_all(const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(STDOUT_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Start the next chunk in slot sl; false when nothing is left. */
static int submit(struct cat *c, struct slot *sl)
{
	uint64_t left = c->end - c->next_off;
	int rc;

	if (!left)
		return 0;
	c->inflight++;
	sl->r.offset = c->next_off;
	/* Chunks end on chunk boundaries, so clients ask alike. */
	sl->r.length = (uint32_t)(c->chunk - c->next_off % c->chunk);
	if (sl->r.length > left)
		sl->r.length = (uint32_t)left;
	sl->r.priv = sl;
	sl->done = false;
	sl->err = 0;
	c->next_off += sl->r.length;
	rc = dnbd_client_read(&c->s.core, &sl->r, now_us());
	if (rc) {
		sl->done = true;
		sl->err = rc;
		c->inflight--;
	}
	return 1;
}

/* Starts reads while fewer than window are in flight and a slot is free. */
static void fill(struct cat *c)
{
	unsigned int hold = dnbd_client_alone(&c->s.core, now_us()) ?
			    c->nslots : c->window;

	while (c->inflight < c->window && c->held < hold &&
	       submit(c, &c->slots[(c->head + c->held) % c->nslots]))
		c->held++;
}

static int transfer(struct cat *c)
{
	fill(c);
	while (c->held) {
		struct slot *sl = &c->slots[c->head];

		if (interrupted) {
			log_err("interrupted after %" PRIu64 " bytes",
				c->written);
			return 1;
		}
		if (!sl->done) {
			session_poll(&c->s, 1000000);
			fill(c);
			continue;
		}
		if (sl->err) {
			log_err("read of %u bytes at offset %" PRIu64 " "
				"failed: %s", sl->r.length, sl->r.offset,
				session_strerror(sl->err));
			return EXIT_READ;
		}
		if (write_all(sl->r.buf, sl->r.length)) {
			log_err("write to stdout failed: %s", strerror(errno));
			return 1;
		}
		c->written += sl->r.length;
		c->head = (c->head + 1) % c->nslots;
		c->held--;
		fill(c);
	}
	return 0;
}

static void list_images(struct cat *c)
{
	const struct dnbd_client *core = &c->s.core;
	char ids[256];
	unsigned int i;

	for (i = 0; i < core->n_images; i++) {
		const struct dnbd_image_info *img = &core->images[i];

		session_image_servers(&c->s, img->id, ids, sizeof(ids));
		printf("image %s id 0x%016" PRIx64 " size %" PRIu64
		       " revision %u servers %s\n", img->name, img->id,
		       img->size, img->revision, ids);
	}
}

enum { O_IMAGE = 256, O_OFFSET, O_LENGTH, O_TIMEOUT, O_WINDOW, O_LIST,
       O_STATS, O_NO_GRO, O_HOLD };

struct args {
	struct session_opts so;
	const char *image;
	uint64_t offset, length;
	bool have_length, list;
};

static int parse_args(struct cat *c, struct args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "image", required_argument, NULL, O_IMAGE },
		{ "offset", required_argument, NULL, O_OFFSET },
		{ "length", required_argument, NULL, O_LENGTH },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "list", no_argument, NULL, O_LIST },
		{ "stats", required_argument, NULL, O_STATS },
		{ "no-gro", no_argument, NULL, O_NO_GRO },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int o, rc;

	memset(a, 0, sizeof(*a));
	argv[0] = (char *)"dnbd-cat";	/* getopt's messages name it so */
	a->so.port = DNBD_DEFAULT_PORT;
	a->so.seg_size = DNBD_SEG_DEFAULT;
	a->so.cache_bytes = 64u << 20;
	a->so.timeout_us = 5000000;
	a->so.gro = true;
	c->window = WINDOW_DEFAULT;
	while ((o = getopt_long(argc, argv, SESSION_SHORT_OPTS "vVh", opts,
				NULL)) != -1) {
		rc = session_opt(&a->so, o, optarg);
		if (rc < 0)
			goto bad;
		if (rc)
			continue;
		switch (o) {
		case O_IMAGE: a->image = optarg; break;
		case O_OFFSET:
			if (!parse_size(optarg, &a->offset))
				goto bad;
			break;
		case O_LENGTH:
			if (!parse_size(optarg, &a->length))
				goto bad;
			a->have_length = true;
			break;
		case O_TIMEOUT:
			if (!parse_range(optarg, 1, 86400, &v))
				goto bad;
			a->so.timeout_us = v * 1000000;
			break;
		case O_WINDOW:
			if (!parse_range(optarg, 1, WINDOW_MAX, &v))
				goto bad;
			c->window = (unsigned int)v;
			break;
		case O_HOLD:
			if (!parse_range(optarg, 1, HOLD_MAX, &v))
				goto bad;
			c->hold = (unsigned int)v;
			break;
		case O_LIST: a->list = true; break;
		case O_STATS: c->stats_path = optarg; break;
		case O_NO_GRO: a->so.gro = false; break;
		case 'v': c->verbose++; break;
		case 'V':
			printf("dnbd-cat, version " DNBD_VERSION_STRING "\n");
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dnbd-cat: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (!a->so.bind) {
		usage(stderr);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "dnbd-cat: invalid value for %s: '%s'\n",
		argv[optind - 1], optarg);
	return -1;
}

/* Range checks against the image; prints the error itself. */
static int set_range(struct cat *c, const struct args *a)
{
	uint64_t size = c->s.core.image.size;

	if (a->offset > size || (a->offset == size && a->have_length &&
				 a->length)) {
		log_err("offset %" PRIu64 " is beyond the end of image %s "
			"(%" PRIu64 " bytes)", a->offset,
			c->s.core.image.name, size);
		return -1;
	}
	c->next_off = a->offset;
	c->end = a->have_length ? a->offset + a->length : size;
	if (c->end > size || c->end < a->offset) {
		log_err("--length %" PRIu64 " runs past the end of image %s "
			"(%" PRIu64 " bytes from offset %" PRIu64 ")",
			a->length, c->s.core.image.name, size, a->offset);
		return -1;
	}
	/* Whole segments, aligned: no segment is shared by two reads. */
	c->chunk = dnbd_client_max_read(&c->s.core);
	if (c->chunk > CHUNK_MAX)
		c->chunk = CHUNK_MAX;
	c->chunk -= c->chunk % c->s.core.image.seg_max;
	return 0;
}

int main(int argc, char **argv)
{
	static struct cat c;
	struct args a;
	char err[512];
	unsigned int i;
	int rc;

	log_init("dnbd-cat", 1);
	if (!crc32c_from_env() || parse_args(&c, &a, argc, argv))
		return EXIT_USAGE;
	log_init("dnbd-cat", c.verbose);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	c.s.read_done = on_done;
	c.s.server_event = on_server;
	c.s.priv = &c;
	if (session_open(&c.s, &a.so, err, sizeof(err))) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	if (session_discover(&c.s, a.image, a.so.timeout_us, a.list, err,
			     sizeof(err))) {
		log_err("%s", err);
		report(&c);	/* the counters say what was dropped */
		session_close(&c.s);
		return EXIT_USAGE;
	}
	if (a.list) {
		list_images(&c);
		session_close(&c.s);
		return 0;
	}
	if (c.verbose)
		log_info("image %s, %" PRIu64 " bytes, revision %u, "
			 "servers up: %u", c.s.core.image.name,
			 c.s.core.image.size, c.s.core.image.revision,
			 dnbd_client_servers_up(&c.s.core));
	if (set_range(&c, &a)) {
		session_close(&c.s);
		return EXIT_READ;
	}
	c.nslots = c.hold ? c.hold : c.window * HOLD_PER_WINDOW;
	if (c.nslots < c.window)
		c.nslots = c.window;
	if ((uint64_t)c.nslots * c.chunk > HELD_BYTES_MAX)
		c.nslots = HELD_BYTES_MAX / c.chunk;
	if (c.nslots < c.window)
		c.nslots = c.window;
	c.slots = calloc(c.nslots, sizeof(*c.slots));
	for (i = 0; c.slots && i < c.nslots; i++) {
		c.slots[i].r.buf = malloc(c.chunk);
		if (!c.slots[i].r.buf)
			break;
	}
	if (!c.slots || i < c.nslots) {
		log_err("out of memory");
		rc = 1;
	} else {
		rc = transfer(&c);
	}
	/* Cancel what is still in flight before the buffers go away. */
	dnbd_client_cancel_all(&c.s.core, -DNBD_ERR_CANCELED);
	report(&c);
	for (i = 0; c.slots && i < c.nslots; i++)
		free(c.slots[i].r.buf);
	free(c.slots);
	session_close(&c.s);
	return rc;
}
