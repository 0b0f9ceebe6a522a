// SPDX-License-Identifier: GPL-2.0
/*
 * dnbd-replay - replay one client's boot trace (bench/trace.h) as that
 * client would boot: through the dnbd client core, as dnbd-cat reads, or
 * through libnbd from an NBD server (the peer of the boot-storm
 * benchmark).  The same scheduler drives both: read i goes out when the
 * read it depends on has completed here and its think time (times
 * --think-scale) has passed since, never before read i-1, and with at
 * most --max-inflight reads in flight.  One JSON object on stdout at the
 * end says how long it took.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libnbd.h>

#include "session.h"
#include "stats.h"
#include "trace.h"
#include "util.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define INFLIGHT_DEFAULT	64
#define INFLIGHT_MAX		1024
#define TRACE_FILE_MAX		(1ull << 30)
#define NBD_PART_MAX		(32u << 20)
#define POLL_SLICE_US		100000u		/* signals are seen this fast */
#define THINK_MAX_US		(1ull << 50)	/* scaled, about 35 years */

struct replay;

/* One piece of a read, as the core or libnbd sees it. */
struct part {
	struct replay *rp;
	uint32_t idx;			/* the read's index */
	struct dnbd_read r;		/* dnbd mode */
};

/* A read's state during the replay. */
struct rd {
	uint64_t issued_us, done_us;
	uint8_t *buf;
	struct part *parts;
	uint32_t parts_left;
	int err;
	bool done;
};

struct replay {
	/* options */
	struct session_opts so;
	const char *trace_path, *image, *nbd_uri, *verify_path, *client;
	double think_scale, start_delay;
	unsigned int max_inflight;
	bool quiet;

	struct trace t;
	struct rd *rd;
	bool nbd;
	struct session s;		/* dnbd mode */
	struct nbd_handle *h;		/* nbd mode */
	bool session_open;
	uint32_t part_max;
	uint64_t size;			/* the image's */
	int verify_fd;

	size_t next;			/* the next read to issue */
	size_t oldest;			/* no read before it is in flight */
	unsigned int inflight, max_seen;
	size_t completed;
	uint64_t bytes, errors;
	uint64_t think_us;		/* of the reads issued, unscaled */
	uint64_t t0, first_issue, last_done;
	bool failed;			/* stop: an error was reported */
	uint64_t last_progress;
};

static volatile sig_atomic_t interrupted;
/* Set while session_discover() runs: it does not look at interrupted. */
static volatile sig_atomic_t exit_on_signal;

static void on_signal(int sig)
{
	static const char msg[] = "dnbd-replay: interrupted during the "
				  "discovery\n";

	interrupted = sig;
	if (exit_on_signal) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			_exit(EXIT_FAIL);
		_exit(EXIT_FAIL);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
"dnbd-replay, version " DNBD_VERSION_STRING "\n"
"Usage: dnbd-replay [options] -b <group|address[,address...]> TRACE\n"
"       dnbd-replay [options] --nbd <uri> TRACE\n"
"\n"
"Replays the reads of one client's boot trace (dnbd-server --trace) with\n"
"their dependencies and think times, and writes a JSON summary to stdout.\n"
"\n"
"  -b|--bind     <address>  dnbd: multicast group, or unicast server\n"
"                           address(es)\n"
"  -I|--iface    <name>     dnbd: interface for multicast\n"
"  -p|--port     <port>     dnbd: UDP port (default 5001)\n"
"     --image    <name>     dnbd: image to read (if a group has several)\n"
"     --seg-size <bytes>    dnbd: segment size, 512..8900 (default 1400)\n"
"     --cache-size <bytes>  dnbd: cache for overheard replies (default 64M)\n"
"     --key-file <file>     dnbd: the lab key (32 bytes or 64 hex digits)\n"
"     --nbd      <uri>      read from an NBD server instead\n"
"                           (nbd://host:port/export)\n"
"     --timeout  <seconds>  give up on a read, the discovery or connecting\n"
"                           after this long (default 30)\n"
"     --think-scale <f>     multiply think times by f, 0..1000 (default 1.0)\n"
"     --no-think            no think times (--think-scale 0)\n"
"     --max-inflight <n>    reads in flight at most, 1..1024 (default 64)\n"
"     --client   <addr>     keep only this client's lines (a.b.c.d:port, or\n"
"                           a.b.c.d for any port; default: every line)\n"
"     --start-delay <s>     wait this long before starting, 0..86400\n"
"     --verify   <file>     compare every read with this file\n"
"  -q|--quiet               no progress line on stderr\n"
"  -V|--version, -h|--help\n");
}

static const char *err_str(const struct replay *rp, int err)
{
	return rp->nbd ? strerror(-err) : session_strerror(err);
}

/* A double option: finite, in [min, max]. */
static bool parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	/* strtod would take white space, a sign, hex, "nan" and "inf". */
	if (strspn(s, "0123456789.eE-+") != strlen(s))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void progress(struct replay *rp, bool last)
{
	uint64_t now = now_us();

	if (rp->quiet || (!last && now - rp->last_progress < 1000000))
		return;
	rp->last_progress = now;
	fprintf(stderr, "dnbd-replay: %zu/%zu reads, %.1f MiB, %u in flight"
		"\n", rp->completed, rp->t.n, (double)rp->bytes / 1048576,
		rp->inflight);
}

static void fail_read(struct replay *rp, size_t i, const char *what)
{
	const struct trace_read *tr = &rp->t.r[i];

	rp->errors++;
	if (rp->failed)
		return;
	rp->failed = true;
	log_err("read %zu (trace line %u) of %u bytes at offset %" PRIu64
		": %s", i + 1, tr->line, tr->length, tr->offset, what);
}

/* --verify: the read's bytes against the file's. */
static void verify(struct replay *rp, size_t i)
{
	const struct trace_read *tr = &rp->t.r[i];
	const uint8_t *got = rp->rd[i].buf;
	uint8_t want[65536];
	uint32_t off = 0;
	char msg[160];

	while (off < tr->length) {
		size_t n = tr->length - off, k;
		ssize_t m;

		if (n > sizeof(want))
			n = sizeof(want);
		m = pread(rp->verify_fd, want, n, (off_t)(tr->offset + off));
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0) {
			snprintf(msg, sizeof(msg), "--verify file %s: %s at "
				 "offset %" PRIu64, rp->verify_path,
				 m < 0 ? strerror(errno) : "ends", tr->offset +
				 off);
			fail_read(rp, i, msg);
			return;
		}
		for (k = 0; k < (size_t)m; k++)
			if (got[off + k] != want[k])
				break;
		if (k < (size_t)m) {
			snprintf(msg, sizeof(msg), "differs from %s at offset "
				 "%" PRIu64, rp->verify_path,
				 tr->offset + off + k);
			fail_read(rp, i, msg);
			return;
		}
		off += (uint32_t)m;
	}
}

static void read_done(struct replay *rp, size_t i)
{
	struct rd *d = &rp->rd[i];

	d->done = true;
	d->done_us = now_us();
	rp->last_done = d->done_us;
	rp->inflight--;
	rp->completed++;
	if (d->err)
		fail_read(rp, i, err_str(rp, d->err));
	else if (rp->verify_fd >= 0)
		verify(rp, i);
	if (!d->err)
		rp->bytes += rp->t.r[i].length;
	free(d->buf);
	free(d->parts);
	d->buf = NULL;
	d->parts = NULL;
	while (rp->oldest < rp->next && rp->rd[rp->oldest].done)
		rp->oldest++;
}

static void part_done(struct replay *rp, uint32_t idx, int err)
{
	struct rd *d = &rp->rd[idx];

	if (err && !d->err)
		d->err = err;
	if (!--d->parts_left)
		read_done(rp, idx);
}

/* dnbd mode: the core's completion. */
static void dnbd_done(struct session *s, struct dnbd_read *r, int err)
{
	struct part *pt = r->priv;

	(void)s;
	part_done(pt->rp, pt->idx, err);
}

/* nbd mode: libnbd's completion; 1 retires the command. */
static int nbd_done(void *user_data, int *error)
{
	struct part *pt = user_data;

	part_done(pt->rp, pt->idx, *error ? -*error : 0);
	return 1;
}

static int submit_part(struct replay *rp, struct part *pt, uint64_t off,
		       uint32_t len, uint8_t *buf)
{
	if (!rp->nbd) {
		pt->r.offset = off;
		pt->r.length = len;
		pt->r.buf = buf;
		pt->r.priv = pt;
		return dnbd_client_read(&rp->s.core, &pt->r, now_us());
	}
	if (nbd_aio_pread(rp->h, buf, len, off, (nbd_completion_callback) {
			  .callback = nbd_done, .user_data = pt }, 0) < 0) {
		log_err("nbd: %s", nbd_get_error());
		return nbd_get_errno() ? -nbd_get_errno() : -EIO;
	}
	return 0;
}

/* Sends read i, split into parts the transport takes. */
static void issue(struct replay *rp, size_t i)
{
	const struct trace_read *tr = &rp->t.r[i];
	struct rd *d = &rp->rd[i];
	uint64_t off = tr->offset, end = tr->offset + tr->length;
	uint32_t n = 0, nparts;
	int rc;

	d->issued_us = now_us();
	if (!rp->first_issue)
		rp->first_issue = d->issued_us;
	rp->inflight++;
	if (rp->inflight > rp->max_seen)
		rp->max_seen = rp->inflight;
	nparts = (uint32_t)((end - 1) / rp->part_max - off / rp->part_max + 1);
	d->buf = malloc(tr->length);
	d->parts = calloc(nparts, sizeof(*d->parts));
	/* One more than the parts: none may finish the read while the
	 * others are still being sent. */
	d->parts_left = nparts + 1;
	if (!d->buf || !d->parts) {
		d->parts_left = 1;
		part_done(rp, (uint32_t)i, -ENOMEM);
		return;
	}
	while (off < end) {
		/* Parts end on multiples of part_max: whole segments. */
		uint64_t stop = (off / rp->part_max + 1) * rp->part_max;
		struct part *pt = &d->parts[n++];

		if (stop > end)
			stop = end;
		pt->rp = rp;
		pt->idx = (uint32_t)i;
		rc = submit_part(rp, pt, off, (uint32_t)(stop - off),
				 d->buf + (off - tr->offset));
		if (rc)
			part_done(rp, (uint32_t)i, rc);
		off = stop;
	}
	part_done(rp, (uint32_t)i, 0);
}

static uint64_t scaled(const struct replay *rp, uint64_t us)
{
	double v = (double)us * rp->think_scale;

	return v >= (double)THINK_MAX_US ? THINK_MAX_US : (uint64_t)v;
}

/* Waits for completions or a timer, at most max_us.  -1: stop. */
static int wait_io(struct replay *rp, uint64_t max_us)
{
	int rc;

	if (max_us > POLL_SLICE_US)
		max_us = POLL_SLICE_US;
	if (!rp->nbd) {
		session_poll(&rp->s, max_us);
		return 0;
	}
	rc = nbd_poll(rp->h, (int)((max_us + 999) / 1000));
	if (rc < 0 && nbd_get_errno() != EINTR) {
		if (!rp->failed)
			log_err("nbd: %s", nbd_get_error());
		rp->failed = true;
		return -1;
	}
	return 0;
}

/* A read in flight longer than --timeout fails the replay. */
static void check_timeouts(struct replay *rp)
{
	uint64_t now = now_us();
	size_t i;
	char msg[64];

	for (i = rp->oldest; i < rp->next; i++) {
		if (rp->rd[i].done)
			continue;
		if (now - rp->rd[i].issued_us > rp->so.timeout_us) {
			snprintf(msg, sizeof(msg), "timed out after %" PRIu64
				 " s", rp->so.timeout_us / 1000000);
			fail_read(rp, i, msg);
		}
		return;		/* the oldest in flight is the one to check */
	}
}

static int run(struct replay *rp)
{
	const struct trace *t = &rp->t;

	rp->t0 = now_us();
	rp->last_progress = rp->t0;
	while (rp->completed < t->n) {
		uint64_t now = now_us(), wake = UINT64_MAX;

		if (interrupted) {
			log_err("interrupted by signal %d after %zu of %zu reads",
				(int)interrupted, rp->completed, t->n);
			return EXIT_FAIL;
		}
		while (!rp->failed && rp->next < t->n &&
		       rp->inflight < rp->max_inflight) {
			const struct trace_read *tr = &t->r[rp->next];
			uint64_t at;

			if (tr->dep != TRACE_NO_DEP) {
				if (!rp->rd[tr->dep].done)
					break;	/* a completion wakes us */
				at = rp->rd[tr->dep].done_us;
			} else {
				at = rp->t0;
			}
			at += scaled(rp, tr->think_us);
			if (at > now) {
				wake = at;
				break;
			}
			rp->think_us += tr->think_us;
			issue(rp, rp->next++);
			now = now_us();
		}
		if (rp->failed)
			return EXIT_FAIL;
		if (rp->completed == t->n)
			break;
		progress(rp, false);
		if (wait_io(rp, wake == UINT64_MAX ? POLL_SLICE_US :
			    wake > now ? wake - now : 0))
			return EXIT_FAIL;
		check_timeouts(rp);
	}
	return rp->failed ? EXIT_FAIL : 0;
}

static void report(struct replay *rp)
{
	uint64_t span = rp->first_issue && rp->last_done > rp->first_issue ?
			rp->last_done - rp->first_issue : 0;

	printf("{\"system\":\"%s\",\"reads\":%zu,\"bytes\":%" PRIu64
	       ",\"seconds\":%.6f,\"think_seconds\":%.6f,\"max_inflight\":%u"
	       ",\"errors\":%" PRIu64 ",\"trace_reads\":%zu,\"trace_bytes\":%"
	       PRIu64 ",\"think_scale\":%g", rp->nbd ? "nbd" : "dnbd",
	       rp->completed, rp->bytes, (double)span / 1e6,
	       (double)rp->think_us * rp->think_scale / 1e6, rp->max_seen, rp->errors,
	       rp->t.n, rp->t.bytes, rp->think_scale);
	if (!rp->nbd && rp->session_open) {
		const struct dnbd_client *core = &rp->s.core;

		printf(",\"image\":");
		json_str(stdout, core->image.name);
		printf(",\"retries\":%" PRIu64 ",\"timeouts\":%" PRIu64
		       ",\"datagrams\":%" PRIu64 ",",
		       core->counters[DNBD_CC_segments_rerequested],
		       core->counters[DNBD_CC_timeouts], rp->s.rx.datagrams);
		session_json(stdout, &rp->s);
	}
	printf("}\n");
	fflush(stdout);
}

enum { O_IMAGE = 256, O_TIMEOUT, O_NBD, O_THINK_SCALE, O_NO_THINK,
       O_MAX_INFLIGHT, O_CLIENT, O_START_DELAY, O_VERIFY };

static int parse_args(struct replay *rp, int argc, char **argv)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "image", required_argument, NULL, O_IMAGE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "nbd", required_argument, NULL, O_NBD },
		{ "think-scale", required_argument, NULL, O_THINK_SCALE },
		{ "no-think", no_argument, NULL, O_NO_THINK },
		{ "max-inflight", required_argument, NULL, O_MAX_INFLIGHT },
		{ "client", required_argument, NULL, O_CLIENT },
		{ "start-delay", required_argument, NULL, O_START_DELAY },
		{ "verify", required_argument, NULL, O_VERIFY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int o, rc, li;

	argv[0] = (char *)"dnbd-replay";	/* getopt's messages */
	rp->so.port = DNBD_DEFAULT_PORT;
	rp->so.seg_size = DNBD_SEG_DEFAULT;
	rp->so.cache_bytes = 64u << 20;
	rp->so.timeout_us = 30000000;
	rp->so.gro = true;
	rp->think_scale = 1.0;
	rp->max_inflight = INFLIGHT_DEFAULT;
	while ((li = -1, o = getopt_long(argc, argv, SESSION_SHORT_OPTS "qVh",
					 opts, &li)) != -1) {
		rc = session_opt(&rp->so, o, optarg);
		if (rc < 0)
			goto bad;
		if (rc)
			continue;
		switch (o) {
		case O_IMAGE: rp->image = optarg; break;
		case O_NBD: rp->nbd_uri = optarg; break;
		case O_CLIENT: rp->client = optarg; break;
		case O_VERIFY: rp->verify_path = optarg; break;
		case O_TIMEOUT:
			if (!parse_range(optarg, 1, 86400, &v))
				goto bad;
			rp->so.timeout_us = v * 1000000;
			break;
		case O_THINK_SCALE:
			if (!parse_double(optarg, 0, 1000, &rp->think_scale))
				goto bad;
			break;
		case O_NO_THINK: rp->think_scale = 0; break;
		case O_MAX_INFLIGHT:
			if (!parse_range(optarg, 1, INFLIGHT_MAX, &v))
				goto bad;
			rp->max_inflight = (unsigned int)v;
			break;
		case O_START_DELAY:
			if (!parse_double(optarg, 0, 86400, &rp->start_delay))
				goto bad;
			break;
		case 'q': rp->quiet = true; break;
		case 'V':
			printf("dnbd-replay, version " DNBD_VERSION_STRING "\n");
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind + 1 != argc) {
		if (optind < argc)
			fprintf(stderr, "dnbd-replay: one TRACE, not %d "
				"arguments\n", argc - optind);
		else
			usage(stderr);
		return -1;
	}
	rp->trace_path = argv[optind];
	if (!!rp->so.bind == !!rp->nbd_uri) {
		fprintf(stderr, "dnbd-replay: give either -b (dnbd) or --nbd "
			"URI\n");
		return -1;
	}
	if (rp->nbd_uri && (rp->image || rp->so.iface || rp->so.key_file)) {
		fprintf(stderr, "dnbd-replay: --image, -I and --key-file are "
			"for dnbd, not --nbd\n");
		return -1;
	}
	rp->nbd = rp->nbd_uri != NULL;
	return 0;
bad:
	if (li >= 0)
		fprintf(stderr, "dnbd-replay: invalid value for --%s: '%s'\n",
			opts[li].name, optarg);
	else
		fprintf(stderr, "dnbd-replay: invalid value for -%c: '%s'\n",
			o, optarg);
	return -1;
}

/* The whole trace file into memory, parsed.  Exit status or 0. */
static int load_trace(struct replay *rp)
{
	char err[300];
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	fd = open(rp->trace_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		log_err("%s: %s", rp->trace_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_USAGE;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > TRACE_FILE_MAX) {
		log_err("%s: not a regular file of at most 1 GiB",
			rp->trace_path);
		close(fd);
		return EXIT_USAGE;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		log_err("%s: out of memory", rp->trace_path);
		close(fd);
		return EXIT_FAIL;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("%s: %s", rp->trace_path, strerror(errno));
			free(buf);
			close(fd);
			return EXIT_USAGE;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	close(fd);
	rc = trace_parse(&rp->t, buf, len, rp->client, err, sizeof(err));
	free(buf);
	if (rc) {
		log_err("%s:%s", rp->trace_path, err);
		return EXIT_USAGE;
	}
	rp->rd = calloc(rp->t.n, sizeof(*rp->rd));
	if (!rp->rd) {
		log_err("out of memory");
		return EXIT_FAIL;
	}
	return 0;
}

static int open_dnbd(struct replay *rp)
{
	char err[512];
	uint32_t chunk;
	int rc;

	rp->s.read_done = dnbd_done;
	rp->s.priv = rp;
	if (session_open(&rp->s, &rp->so, err, sizeof(err))) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	rp->session_open = true;
	exit_on_signal = 1;
	rc = interrupted ? 0 : session_discover(&rp->s, rp->image,
						rp->so.timeout_us, false, err,
						sizeof(err));
	exit_on_signal = 0;
	if (rc) {
		log_err("%s", err);
		return EXIT_FAIL;
	}
	rp->size = rp->s.core.image.size;
	chunk = dnbd_client_max_read(&rp->s.core);
	chunk -= chunk % rp->s.core.image.seg_max;
	rp->part_max = chunk;
	return 0;
}

static int open_nbd(struct replay *rp)
{
	uint64_t deadline = now_us() + rp->so.timeout_us;
	int64_t size, bmax;

	rp->h = nbd_create();
	if (!rp->h) {
		log_err("nbd: %s", nbd_get_error());
		return EXIT_FAIL;
	}
	if (nbd_aio_connect_uri(rp->h, rp->nbd_uri) < 0) {
		log_err("nbd: %s: %s", rp->nbd_uri, nbd_get_error());
		return EXIT_FAIL;
	}
	while (nbd_aio_is_connecting(rp->h)) {
		if (interrupted) {
			log_err("interrupted while connecting to %s",
				rp->nbd_uri);
			return EXIT_FAIL;
		}
		if (now_us() > deadline) {
			log_err("nbd: %s: no connection within %" PRIu64 " s",
				rp->nbd_uri, rp->so.timeout_us / 1000000);
			return EXIT_FAIL;
		}
		if (nbd_poll(rp->h, 100) < 0 && nbd_get_errno() != EINTR) {
			log_err("nbd: %s: %s", rp->nbd_uri, nbd_get_error());
			return EXIT_FAIL;
		}
	}
	if (!nbd_aio_is_ready(rp->h)) {
		log_err("nbd: %s: %s", rp->nbd_uri, nbd_get_error() ?
			nbd_get_error() : "connection failed");
		return EXIT_FAIL;
	}
	size = nbd_get_size(rp->h);
	if (size < 0) {
		log_err("nbd: %s: %s", rp->nbd_uri, nbd_get_error());
		return EXIT_FAIL;
	}
	rp->size = (uint64_t)size;
	rp->part_max = NBD_PART_MAX;
	bmax = nbd_get_block_size(rp->h, LIBNBD_SIZE_MAXIMUM);
	if (bmax >= 4096 && bmax < NBD_PART_MAX)
		rp->part_max = (uint32_t)bmax;
	return 0;
}

/* Every read inside the image: a trace of another image fails early. */
static int check_ranges(const struct replay *rp)
{
	size_t i;

	for (i = 0; i < rp->t.n; i++) {
		const struct trace_read *tr = &rp->t.r[i];

		if (tr->offset >= rp->size ||
		    tr->length > rp->size - tr->offset) {
			log_err("%s:%u: %u bytes at offset %" PRIu64 " are "
				"beyond the end of the image (%" PRIu64
				" bytes)", rp->trace_path, tr->line,
				tr->length, tr->offset, rp->size);
			return EXIT_FAIL;
		}
	}
	return 0;
}

/* --start-delay: interruptible. */
static void start_delay(const struct replay *rp)
{
	uint64_t end = now_us() + (uint64_t)(rp->start_delay * 1e6), now;

	while (!interrupted && (now = now_us()) < end)
		sleep_us(end - now > POLL_SLICE_US ? POLL_SLICE_US : end - now);
}

static void cleanup(struct replay *rp)
{
	size_t i;

	/* Nothing may complete into freed buffers. */
	if (rp->session_open) {
		rp->failed = true;
		dnbd_client_cancel_all(&rp->s.core, -DNBD_ERR_CANCELED);
		session_close(&rp->s);
	}
	if (rp->h)
		nbd_close(rp->h);	/* drops what is in flight */
	for (i = 0; rp->rd && i < rp->t.n; i++) {
		free(rp->rd[i].buf);
		free(rp->rd[i].parts);
	}
	free(rp->rd);
	trace_free(&rp->t);
	if (rp->verify_fd >= 0)
		close(rp->verify_fd);
}

int main(int argc, char **argv)
{
	static struct replay rp;
	struct sigaction sa;
	int rc;

	log_init("dnbd-replay", 1);
	rp.verify_fd = -1;
	if (!crc32c_from_env() || parse_args(&rp, argc, argv))
		return EXIT_USAGE;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = load_trace(&rp);
	if (!rc && rp.verify_path) {
		rp.verify_fd = open(rp.verify_path, O_RDONLY | O_CLOEXEC);
		if (rp.verify_fd < 0) {
			log_err("--verify %s: %s", rp.verify_path,
				strerror(errno));
			rc = EXIT_USAGE;
		}
	}
	if (!rc) {
		start_delay(&rp);
		if (!interrupted)
			rc = rp.nbd ? open_nbd(&rp) : open_dnbd(&rp);
	}
	if (!rc && !interrupted)
		rc = check_ranges(&rp);
	if (!rc && interrupted) {
		log_err("interrupted by signal %d before the first read",
			(int)interrupted);
		rc = EXIT_FAIL;
	} else if (!rc) {
		rc = run(&rp);
		progress(&rp, true);
		if (rc && !rp.errors)
			rp.errors = 1;	/* interrupted, or the connection */
		report(&rp);
	}
	cleanup(&rp);
	return rc;
}
