// SPDX-License-Identifier: GPL-2.0
/*
 * dnbd-client - bind a dnbd image to /dev/dnbdN, unbind it, add a cache.
 *
 * The command lines are the original DNBD's:
 *   dnbd-client -d /dev/dnbd0 -b 239.0.0.1 [-c cachefile]
 *   dnbd-client -d /dev/dnbd0 -u
 *   dnbd-client -d /dev/dnbd0 -c cachefile
 * and one of its own for monitoring (client/metrics.c):
 *   dnbd-client --metrics /var/lib/prometheus/node-exporter/dnbd.prom
 * Binding finds the image with the userspace protocol core (the same as
 * dnbd-cat), prints the servers that announce it, then hands the socket
 * and the image to the driver (DNBD_IOC_BIND, kmod/dnbd_ioctl.h) and
 * exits: the kernel keeps the socket, nothing stays running here.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnbd_ioctl.h"
#include "session.h"
#include "keyfile.h"
#include "metrics.h"
#include "util.h"

enum { EXIT_USAGE = 2 };
enum { MODE_NONE, MODE_BIND, MODE_UNBIND, MODE_CACHE, MODE_STATUS,
       MODE_METRICS };

struct args {
	struct session_opts so;
	const char *device;
	const char *cache;
	const char *image;
	const char *metrics;
	uint64_t discover_us;
	uint32_t io_timeout_ms;
	int mode;
};

static void usage(FILE *f)
{
	fprintf(f,
"dnbd-client, version " DNBD_VERSION_STRING "\n"
"Usage: dnbd-client -d device -b <address> [-c <file>]\n"
"    or dnbd-client -d device -u\n"
"    or dnbd-client -d device -c <file>\n"
"    or dnbd-client -d device -s\n"
"    or dnbd-client --metrics <file>\n"
"\n"
"  -d|--device   <device>   /dev/dnbdN\n"
"  -b|--bind     <address>  multicast group, or unicast server address(es)\n"
"  -u|--unbind              detach the image (reads in flight fail)\n"
"  -c|--cache    <file>     cache file or block device (kept across binds)\n"
"  -s|--status              show what the device is bound to\n"
"     --metrics  <file>     write every device's counters for Prometheus\n"
"                           (node_exporter textfile; - for stdout)\n"
"  -I|--iface    <name>     interface for multicast\n"
"  -p|--port     <port>     UDP port (default 5001)\n"
"     --image    <name>     image to bind (needed if a group has several)\n"
"     --timeout  <seconds>  fail reads after this long without a server\n"
"                           (default 0: wait forever, for root devices)\n"
"     --discover <seconds>  wait this long for a server to answer (default 5)\n"
"     --seg-size <bytes>    segment size, 512..8900 (default 1400)\n"
"     --cache-size <bytes>  memory cache for overheard replies (default 16M)\n"
"     --key-file <file>     the lab key (32 raw bytes or 64 hex digits)\n"
"  -V|--version, -h|--help\n");
}

/* ---- the device -------------------------------------------------------- */

static int open_device(const char *path)
{
	struct dnbd_ctl_version v;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_err("%s: %s%s", path, strerror(errno),
			errno == ENOENT ? " (is the dnbd module loaded? "
			"modprobe dnbd)" : "");
		return -1;
	}
	if (ioctl(fd, DNBD_IOC_VERSION, &v) < 0) {
		log_err("%s: not a dnbd device (%s)", path,
			errno == ENOTTY ? "it does not know the dnbd ioctls" :
			strerror(errno));
		close(fd);
		return -1;
	}
	if (v.version != DNBD_CTL_VERSION) {
		log_err("%s: the driver speaks control version %u, this "
			"dnbd-client %u: install matching versions", path,
			v.version, DNBD_CTL_VERSION);
		close(fd);
		return -1;
	}
	return fd;
}

static const char *ctl_strerror(int err)
{
	switch (err) {
	case EBUSY: return "the device is already bound (unbind it with -u)";
	case ENXIO: return "the device is not bound";
	case ENOSPC: return "the cache file is too small (give it at least "
			    "one MiB)";
	case EPERM: return "permission denied (needs CAP_SYS_ADMIN)";
	case EPROTO: return "control version mismatch";
	case EBADF: return "the cache file must be opened read-write";
	default: return strerror(err);
	}
}

static int open_cache(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		log_err("cache file %s: %s%s", path, strerror(errno),
			errno == ENOENT ? " (create one first, e.g. dd "
			"if=/dev/zero of=FILE bs=1M count=64)" : "");
		return -1;
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) &&
				   !S_ISBLK(st.st_mode))) {
		log_err("cache file %s: not a regular file or block device",
			path);
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- bind -------------------------------------------------------------------- */

static void ctl_addr(struct dnbd_ctl_addr *o, const struct dnbd_addr *a)
{
	memset(o, 0, sizeof(*o));
	o->family = a->family;
	o->port = a->port;
	memcpy(o->ip, a->ip, sizeof(o->ip));
}

static void fill_bind(struct dnbd_ctl_bind *b, const struct session *s,
		      const struct args *a, int cache_fd)
{
	const struct dnbd_client *core = &s->core;
	unsigned int i;

	memset(b, 0, sizeof(*b));
	b->version = DNBD_CTL_VERSION;
	b->sock_fd = s->fd;
	b->cache_fd = cache_fd;
	if (core->cfg.multicast) {
		b->flags |= DNBD_BIND_MULTICAST;
		ctl_addr(&b->group, &core->cfg.group);
	}
	for (i = 0; i < core->cfg.n_unicast; i++)
		ctl_addr(&b->unicast[i], &core->cfg.unicast[i]);
	b->n_unicast = core->cfg.n_unicast;
	b->image_id = core->image.id;
	b->image_size = core->image.size;
	b->revision = core->image.revision;
	b->seg_max = core->image.seg_max;
	b->seg_size = a->so.seg_size;
	b->io_timeout_ms = a->io_timeout_ms;
	b->mem_cache_bytes = a->so.cache_bytes;
	memcpy(b->name, core->image.name, core->image.name_len);
}

/* DNBD_IOC_BIND, or DNBD_IOC_BIND_KEY with --key-file. */
static int bind_ioctl(int dev, const struct args *a,
		      const struct dnbd_ctl_bind *b)
{
	struct dnbd_ctl_bind_key bk;
	char err[512];
	int rc;

	if (!a->so.key_file)
		return ioctl(dev, DNBD_IOC_BIND, b);
	memset(&bk, 0, sizeof(bk));
	bk.bind = *b;
	bk.key_len = DNBD_CTL_KEY_LEN;
	if (key_file_load(a->so.key_file, bk.key, err, sizeof(err))) {
		log_err("%s", err);
		errno = EINVAL;
		return -1;
	}
	rc = ioctl(dev, DNBD_IOC_BIND_KEY, &bk);
	explicit_bzero(&bk, sizeof(bk));
	if (rc < 0 && errno == ENOTTY)
		log_err("%s: this dnbd.ko has no keyed bind: load a newer "
			"module for --key-file", a->device);
	return rc;
}

static int do_bind(int dev, const struct args *a)
{
	struct dnbd_ctl_bind b;
	struct session s;
	char err[512], ids[128];
	struct session_opts so = a->so;
	int cache_fd = -1, rc = 1;
	unsigned int n;

	/* The core in userspace only finds the image: no cache needed. */
	so.cache_bytes = 0;
	memset(&s, 0, sizeof(s));
	if (session_open(&s, &so, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	if (session_discover(&s, a->image, a->discover_us, false, err,
			     sizeof(err))) {
		log_err("%s", err);
		goto out;
	}
	n = session_image_servers(&s, s.core.image.id, ids, sizeof(ids));
	printf("dnbd-client: found %s with id %s on %s\n",
	       n == 1 ? "a server" : "servers", ids, s.where);
	if (a->cache && (cache_fd = open_cache(a->cache)) < 0)
		goto out;
	fill_bind(&b, &s, a, cache_fd);
	if (bind_ioctl(dev, a, &b) < 0) {
		log_err("%s: cannot bind: %s", a->device, ctl_strerror(errno));
		goto out;
	}
	printf("dnbd-client: %s: image '%s', %" PRIu64 " bytes, revision %u"
	       "%s%s%s\n", a->device, s.core.image.name, s.core.image.size,
	       s.core.image.revision, a->cache ? ", cache file " : "",
	       a->cache ? a->cache : "", a->so.key_file ? ", keyed" : "");
	rc = 0;
out:
	if (cache_fd >= 0)
		close(cache_fd);
	session_close(&s);
	return rc;
}

/* ---- the other modes ---------------------------------------------------------- */

static int do_cache(int dev, const struct args *a)
{
	struct dnbd_ctl_cache c = { .version = DNBD_CTL_VERSION };
	int rc = 0;

	c.cache_fd = open_cache(a->cache);
	if (c.cache_fd < 0)
		return 1;
	if (ioctl(dev, DNBD_IOC_SET_CACHE, &c) < 0) {
		log_err("%s: cannot add the cache file: %s", a->device,
			ctl_strerror(errno));
		rc = 1;
	} else {
		printf("dnbd-client: %s: cache file %s added\n", a->device,
		       a->cache);
	}
	close(c.cache_fd);
	return rc;
}

static int do_unbind(int dev, const struct args *a)
{
	if (ioctl(dev, DNBD_IOC_UNBIND) < 0) {
		log_err("%s: cannot unbind: %s", a->device,
			ctl_strerror(errno));
		return 1;
	}
	printf("dnbd-client: %s: unbound\n", a->device);
	return 0;
}

static int do_status(int dev, const struct args *a)
{
	static const char *const state[] = { "?", "up", "down" };
	struct dnbd_ctl_status st;
	char buf[ADDR_STRLEN];
	struct dnbd_addr addr;
	unsigned int i;

	memset(&st, 0, sizeof(st));
	st.version = DNBD_CTL_VERSION;
	if (ioctl(dev, DNBD_IOC_STATUS, &st) < 0) {
		log_err("%s: %s", a->device, ctl_strerror(errno));
		return 1;
	}
	if (!st.bound) {
		printf("%s: unbound\n", a->device);
		return 0;
	}
	printf("%s: image '%s', %" PRIu64 " bytes, revision %u, id 0x%016"
	       PRIx64 ", %u-byte segments\n", a->device, st.name,
	       (uint64_t)st.image_size, st.revision, (uint64_t)st.image_id,
	       st.seg_size);
	if (st.cachefile_bytes)
		printf("cache file: %" PRIu64 " bytes\n",
		       (uint64_t)st.cachefile_bytes);
	for (i = 0; i < st.n_servers && i < DNBD_CTL_SERVERS; i++) {
		const struct dnbd_ctl_server *sv = &st.servers[i];

		memset(&addr, 0, sizeof(addr));
		addr.family = sv->addr.family;
		addr.port = sv->addr.port;
		memcpy(addr.ip, sv->addr.ip, sizeof(addr.ip));
		printf("server %u %s %s srtt %u us weight %u\n", sv->id,
		       addr_str(&addr, buf), sv->state < 3 ?
		       state[sv->state] : "?", sv->srtt_us, sv->weight);
	}
	return 0;
}

/* ---- command line ------------------------------------------------------------ */

enum { O_IMAGE = 256, O_TIMEOUT, O_DISCOVER, O_METRICS };

static int set_mode(struct args *a, int mode)
{
	if (a->mode && a->mode != mode) {
		log_err("give one of -b, -u, -c (alone), -s and --metrics");
		return -1;
	}
	a->mode = mode;
	return 0;
}

static int parse_args(struct args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "device", required_argument, NULL, 'd' },
		{ "unbind", no_argument, NULL, 'u' },
		{ "cache", required_argument, NULL, 'c' },
		{ "status", no_argument, NULL, 's' },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "discover", required_argument, NULL, O_DISCOVER },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int o, rc;

	memset(a, 0, sizeof(*a));
	argv[0] = (char *)"dnbd-client";
	a->so.port = DNBD_DEFAULT_PORT;
	a->so.seg_size = DNBD_SEG_DEFAULT;
	a->so.cache_bytes = 16u << 20;
	a->discover_us = 5000000;
	while ((o = getopt_long(argc, argv, SESSION_SHORT_OPTS "d:uc:sVh",
				opts, NULL)) != -1) {
		rc = session_opt(&a->so, o, optarg);
		if (rc < 0)
			goto bad;
		if (o == 'b' && set_mode(a, MODE_BIND))
			return -1;
		if (rc)
			continue;
		switch (o) {
		case 'd': a->device = optarg; break;
		case 'u':
			if (set_mode(a, MODE_UNBIND))
				return -1;
			break;
		case 'c': a->cache = optarg; break;
		case 's':
			if (set_mode(a, MODE_STATUS))
				return -1;
			break;
		case O_IMAGE: a->image = optarg; break;
		case O_METRICS:
			if (set_mode(a, MODE_METRICS))
				return -1;
			a->metrics = optarg;
			break;
		case O_TIMEOUT:
			if (!parse_range(optarg, 0, 86400, &v))
				goto bad;
			a->io_timeout_ms = (uint32_t)(v * 1000);
			break;
		case O_DISCOVER:
			if (!parse_range(optarg, 1, 86400, &v))
				goto bad;
			a->discover_us = v * 1000000;
			break;
		case 'V':
			printf("dnbd-client, version " DNBD_VERSION_STRING "\n");
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
		log_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!a->mode && a->cache)
		a->mode = MODE_CACHE;
	if (a->mode == MODE_UNBIND && a->cache) {
		log_err("-u and -c do not go together");
		return -1;
	}
	if (a->mode == MODE_METRICS) {
		if (a->device || a->cache) {
			log_err("--metrics reads every device: give it alone");
			return -1;
		}
		return 0;
	}
	if (!a->device || !a->mode) {
		usage(stderr);
		return -1;
	}
	return 0;
bad:
	log_err("invalid value '%s' for option %s", optarg, argv[optind - 1]);
	return -1;
}

int main(int argc, char **argv)
{
	struct args a;
	int dev, rc;

	log_init("dnbd-client", 0);
	if (!crc32c_from_env() || parse_args(&a, argc, argv))
		return EXIT_USAGE;
	if (a.mode == MODE_METRICS)
		return metrics_run(a.metrics);
	dev = open_device(a.device);
	if (dev < 0)
		return 1;
	switch (a.mode) {
	case MODE_BIND: rc = do_bind(dev, &a); break;
	case MODE_UNBIND: rc = do_unbind(dev, &a); break;
	case MODE_CACHE: rc = do_cache(dev, &a); break;
	default: rc = do_status(dev, &a); break;
	}
	close(dev);
	return rc;
}
