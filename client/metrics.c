// SPDX-License-Identifier: GPL-2.0
/*
 * metrics.c - dnbd-client --metrics FILE: the kernel driver's figures of
 * every dnbd device, read from /sys/block/dnbdN/dnbd/ (kmod/dnbd_stats.c),
 * written in the Prometheus text exposition format 0.0.4 for
 * node_exporter's textfile collector: atomically (FILE.tmp, then rename),
 * as that collector requires.
 *
 * Families (docs/man/dnbd-client.8 lists them with their help lines):
 *   dnbd_client_devices                      gauge    dnbdN in sysfs
 *   dnbd_client_device_bound{device}         gauge    1 bound, 0 not
 *   dnbd_client_device_info{device,image,image_id,revision}  gauge 1
 *   dnbd_client_device_cache_{hits,misses}_total{device,image}  counter
 *   dnbd_client_server_up{device,image,server_id,address}       gauge
 *   dnbd_client_server_srtt_seconds{...}, dnbd_client_server_weight{...}
 *   dnbd_client_<counter>_total{device,image} counter, one per line of
 *     the counters file: names come from the driver, so a newer driver's
 *     counter is exported too, with a generic help line.
 *
 * A family is written once, with all its samples together, as the format
 * requires: everything is read first, then written.  The sysroot is /sys,
 * or $DNBD_SYSFS for tests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "stats.h"
#include "util.h"

#define PREFIX "dnbd_client_"

/* ---- help lines of the known counters ------------------------------------ */

struct counter_help {
	const char *name;
	const char *help;
};

/*
 * proto/dnbd_client.h DNBD_CLIENT_COUNTERS, then the driver's own
 * (kmod/dnbd_dev.h enum dnbd_dev_counter).  A name missing here is still
 * exported, with a generic line.
 */
static const struct counter_help counter_help[] = {
	{ "hellos_sent", "HELLO datagrams sent to find the image's servers." },
	{ "announces_received", "ANNOUNCE datagrams received from servers." },
	{ "requests_sent", "READ requests sent to servers." },
	{ "segments_requested", "Segments asked for in READ requests." },
	{ "segments_rerequested", "Segments asked for again after a loss or timeout." },
	{ "timeouts", "Requests that hit the retransmission timeout." },
	{ "fast_retransmits", "Segments asked for again on a hole, before the timeout." },
	{ "failovers", "Reads moved to another server." },
	{ "segments_received", "Segments received that a read was waiting for." },
	{ "bytes_received", "Bytes of segment data received." },
	{ "segments_duplicate", "Segments received again after they were complete." },
	{ "replies_overheard", "Replies to other clients seen on the group." },
	{ "overheard_cached", "Overheard segments kept in the memory cache." },
	{ "cache_hits", "Segments served by the memory cache." },
	{ "cache_misses", "Segments the memory cache did not hold." },
	{ "requests_suppressed", "Segments not asked for because another client had asked." },
	{ "foreign_requests_seen", "READ requests of other clients for this image seen." },
	{ "errors_received", "ERROR datagrams received from servers." },
	{ "reads_completed", "Reads completed successfully." },
	{ "reads_failed", "Reads that failed with an I/O error." },
	{ "crc_failures", "Datagrams dropped for a bad CRC32C." },
	{ "drop_short", "Datagrams dropped as too short." },
	{ "drop_magic", "Datagrams dropped for a wrong magic." },
	{ "drop_version", "Datagrams dropped for an unknown protocol version." },
	{ "drop_length", "Datagrams dropped for a wrong length field." },
	{ "drop_type", "Datagrams dropped for an unknown type." },
	{ "drop_field", "Datagrams dropped for an invalid field." },
	{ "drop_image", "Datagrams dropped for another image." },
	{ "drop_range", "Datagrams dropped for a segment out of range." },
	{ "drop_segsize", "Datagrams dropped for another segment size." },
	{ "drop_own", "Own datagrams looped back and dropped." },
	{ "auth_missing", "Datagrams dropped for a missing authentication tag." },
	{ "auth_failures", "Datagrams dropped for a wrong authentication tag." },
	{ "auth_unexpected", "Datagrams dropped for a tag when no key is set." },
	{ "announces_dropped", "ANNOUNCE datagrams ignored." },
	{ "server_moved", "Servers seen at a new address." },
	{ "stall_retransmits", "Holes asked for again when a burst stopped short." },
	{ "repairs_sent", "Parity repairs asked for instead of lost segments." },
	{ "repairs_suppressed", "Repairs not asked for because another client had asked." },
	{ "parity_received", "Parity blocks received." },
	{ "parity_unused", "Parity blocks received but not needed." },
	{ "parity_bad", "Parity blocks whose rebuilt segment failed its CRC." },
	{ "segments_rebuilt", "Lost segments rebuilt from parity." },
	{ "parity_cached", "Parity blocks kept in the memory cache." },
	{ "parity_cache_hits", "Parity blocks served by the memory cache." },
	{ "requests", "Block requests of the driver." },
	{ "requests_failed", "Block requests that failed." },
	{ "bytes_read", "Bytes read through the block device." },
	{ "cachefile_hits", "Segments served by the cache file." },
	{ "cachefile_misses", "Segments the cache file did not hold." },
	{ "cachefile_bad_crc", "Cache file segments dropped for a bad CRC32C." },
	{ "cachefile_writes", "Segments written to the cache file." },
	{ "cachefile_dropped", "Segments not written to the cache file." },
	{ "cachefile_errors", "I/O errors on the cache file." },
	{ "rx_errors", "Socket receive errors." },
	{ "rx_receives", "Receives from the socket that returned data." },
	{ "rx_datagrams", "Datagrams received from the socket." },
	{ "rx_gro_batches", "Receives that held a UDP GRO batch of several datagrams." },
	{ "rx_gro_datagrams", "Datagrams received in UDP GRO batches." },
	{ "direct_requests", "Requests read straight into their pages." },
	{ "tx_errors", "Socket send errors." },
	{ "nomem", "Allocations that failed." },
};

/* Names a counter may not take: theirs would clash with a fixed family. */
static const char *const reserved[] = {
	"devices", "device_bound", "device_info", "device_cache_hits",
	"device_cache_misses", "server_up", "server_srtt_seconds",
	"server_weight",
};

static const char *help_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(counter_help) / sizeof(counter_help[0]); i++)
		if (!strcmp(counter_help[i].name, name))
			return counter_help[i].help;
	return NULL;
}

static bool is_reserved(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(reserved[i], name))
			return true;
	return false;
}

/* ---- warnings ------------------------------------------------------------ */

static void warn(struct metrics *m, const struct metrics_dev *d,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void warn(struct metrics *m, const struct metrics_dev *d,
		 const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	m->warnings++;
	if (m->quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("warning: %s: %s", d ? d->name : "metrics", msg);
}

/* A line for a message: printable ASCII, '?' for the rest, cut at 80. */
static const char *shown(const char *p, size_t n, char *out, size_t cap)
{
	size_t i;

	if (n > cap - 4)
		n = cap - 4;
	if (n > 80)
		n = 80;
	for (i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] <= 0x7e ? p[i] : '?';
	out[i] = '\0';
	return out;
}

/* ---- tokens -------------------------------------------------------------- */

struct tok {
	const char *p;
	size_t n;
};

/* The next line of buf from *pos, without its '\n'; false at the end. */
static bool next_line(const char *buf, size_t len, size_t *pos,
		      struct tok *line)
{
	const char *nl;

	if (*pos >= len)
		return false;
	line->p = buf + *pos;
	nl = memchr(line->p, '\n', len - *pos);
	line->n = nl ? (size_t)(nl - line->p) : len - *pos;
	*pos += line->n + 1;
	return true;
}

/* Splits at spaces and tabs; returns the count, max + 1 if more. */
static unsigned int split(struct tok line, struct tok *t, unsigned int max)
{
	unsigned int n = 0;
	size_t i = 0, start;

	while (i < line.n) {
		while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t'))
			i++;
		if (i == line.n)
			break;
		if (n == max)
			return max + 1;
		start = i;
		while (i < line.n && line.p[i] != ' ' && line.p[i] != '\t')
			i++;
		t[n].p = line.p + start;
		t[n++].n = i - start;
	}
	return n;
}

static bool blank(struct tok line)
{
	size_t i;

	for (i = 0; i < line.n; i++)
		if (line.p[i] != ' ' && line.p[i] != '\t' && line.p[i] != '\r')
			return false;
	return true;
}

/* Decimal digits only, no sign, no overflow. */
static bool tok_u64(struct tok t, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!t.n)
		return false;
	for (i = 0; i < t.n; i++) {
		unsigned int d = (unsigned int)(t.p[i] - '0');

		if (t.p[i] < '0' || t.p[i] > '9' || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Every byte in set, 1..max bytes; copied with a NUL into out. */
static bool tok_copy(struct tok t, const char *set, char *out, size_t cap)
{
	size_t i;

	if (!t.n || t.n >= cap)
		return false;
	for (i = 0; i < t.n; i++)
		if (!t.p[i] || !strchr(set, t.p[i]))
			return false;
	memcpy(out, t.p, t.n);
	out[t.n] = '\0';
	return true;
}

static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
static const char addr_chars[] = "0123456789abcdefABCDEF.:[]";

/* A one-line file: the text without one trailing '\n', no '\n' inside. */
static bool one_line(const char *buf, size_t len, struct tok *t)
{
	if (len && buf[len - 1] == '\n')
		len--;
	if (!len || memchr(buf, '\n', len) || memchr(buf, '\0', len))
		return false;
	t->p = buf;
	t->n = len;
	return true;
}

/* ---- the parsers --------------------------------------------------------- */

static bool has_counter(const struct metrics_dev *d, const char *name)
{
	unsigned int i;

	for (i = 0; i < d->n_counters; i++)
		if (!strcmp(d->counters[i].name, name))
			return true;
	return false;
}

/* One "name value" line; false (after a warning) when it is skipped. */
static bool counter_line(struct metrics *m, struct metrics_dev *d,
			 struct tok line)
{
	struct metrics_counter *c;
	struct tok t[2];
	char show[96];

	if (d->n_counters == METRICS_COUNTERS_MAX) {
		warn(m, d, "counters: more than %u, skipped '%s'",
		     METRICS_COUNTERS_MAX, shown(line.p, line.n, show,
						 sizeof(show)));
		return false;
	}
	c = &d->counters[d->n_counters];
	if (split(line, t, 2) != 2 ||
	    !tok_copy(t[0], name_chars, c->name, sizeof(c->name)) ||
	    !tok_u64(t[1], &c->value)) {
		warn(m, d, "counters: malformed line '%s' skipped (want "
		     "'name value', name [a-z0-9_], value decimal)",
		     shown(line.p, line.n, show, sizeof(show)));
		return false;
	}
	if (is_reserved(c->name) || has_counter(d, c->name)) {
		warn(m, d, "counters: %s counter '%s' skipped",
		     is_reserved(c->name) ? "reserved" : "repeated", c->name);
		return false;
	}
	d->n_counters++;
	return true;
}

/* Every non-blank line of buf through one; the number it refused. */
static unsigned int parse_lines(struct metrics *m, struct metrics_dev *d,
				const char *buf, size_t len,
				bool (*one)(struct metrics *,
					    struct metrics_dev *, struct tok))
{
	unsigned int skipped = 0;
	struct tok line;
	size_t pos = 0;

	while (next_line(buf, len, &pos, &line))
		if (!blank(line) && !one(m, d, line))
			skipped++;
	return skipped;
}

unsigned int metrics_parse_counters(struct metrics *m, struct metrics_dev *d,
				    const char *buf, size_t len)
{
	return parse_lines(m, d, buf, len, counter_line);
}

static bool has_server(const struct metrics_dev *d, uint16_t id)
{
	unsigned int i;

	for (i = 0; i < d->n_servers; i++)
		if (d->servers[i].id == id)
			return true;
	return false;
}

/* One "id ip:port state srtt_us weight" line. */
static bool server_line(struct metrics *m, struct metrics_dev *d,
			struct tok line)
{
	struct metrics_server *s;
	char state[16], show[96];
	struct tok t[5];
	uint64_t id;

	if (d->n_servers == METRICS_SERVERS_MAX) {
		warn(m, d, "servers: more than %u, skipped '%s'",
		     METRICS_SERVERS_MAX, shown(line.p, line.n, show,
						sizeof(show)));
		return false;
	}
	s = &d->servers[d->n_servers];
	if (split(line, t, 5) != 5 || !tok_u64(t[0], &id) || id > 0xffff ||
	    !tok_copy(t[1], addr_chars, s->addr, sizeof(s->addr)) ||
	    !tok_copy(t[2], "abcdefghijklmnopqrstuvwxyz", state,
		      sizeof(state)) ||
	    !tok_u64(t[3], &s->srtt_us) || !tok_u64(t[4], &s->weight)) {
		warn(m, d, "servers: malformed line '%s' skipped (want 'id "
		     "address state srtt_us weight')",
		     shown(line.p, line.n, show, sizeof(show)));
		return false;
	}
	if (has_server(d, (uint16_t)id)) {
		warn(m, d, "servers: server %" PRIu64 " repeated, skipped", id);
		return false;
	}
	s->id = (uint16_t)id;
	s->up = !strcmp(state, "up");
	d->n_servers++;
	return true;
}

unsigned int metrics_parse_servers(struct metrics *m, struct metrics_dev *d,
				   const char *buf, size_t len)
{
	return parse_lines(m, d, buf, len, server_line);
}

int metrics_parse_image(struct metrics *m, struct metrics_dev *d,
			const char *buf, size_t len)
{
	struct tok t;

	if (!one_line(buf, len, &t) || t.n >= sizeof(d->image)) {
		warn(m, d, "image: not one line of 1..%zu bytes",
		     sizeof(d->image) - 1);
		return -1;
	}
	memcpy(d->image, t.p, t.n);
	d->image[t.n] = '\0';
	return 0;
}

int metrics_parse_image_id(struct metrics *m, struct metrics_dev *d,
			   const char *buf, size_t len)
{
	struct tok t;

	if (!one_line(buf, len, &t) || t.n < 3 || t.n > 18 ||
	    t.p[0] != '0' || t.p[1] != 'x' ||
	    !tok_copy((struct tok){ t.p + 2, t.n - 2 }, "0123456789abcdef",
		      d->image_id + 2, sizeof(d->image_id) - 2)) {
		d->image_id[0] = '\0';
		warn(m, d, "image_id: not 0x and 1..16 hex digits");
		return -1;
	}
	d->image_id[0] = '0';
	d->image_id[1] = 'x';
	return 0;
}

int metrics_parse_u64(struct metrics *m, const struct metrics_dev *d,
		      const char *what, const char *buf, size_t len,
		      uint64_t *out)
{
	struct tok t;

	if (!one_line(buf, len, &t) || !tok_u64(t, out)) {
		warn(m, d, "%s: not a decimal number", what);
		return -1;
	}
	return 0;
}

int metrics_parse_revision(struct metrics *m, struct metrics_dev *d,
			   const char *buf, size_t len)
{
	uint64_t v;

	if (metrics_parse_u64(m, d, "revision", buf, len, &v))
		return -1;
	snprintf(d->revision, sizeof(d->revision), "%" PRIu64, v);
	return 0;
}

/* ---- sysfs --------------------------------------------------------------- */

struct metrics_dev *metrics_add_dev(struct metrics *m, const char *name)
{
	struct metrics_dev *d;

	d = realloc(m->devs, (m->n_devs + 1) * sizeof(*d));
	if (!d)
		return NULL;
	m->devs = d;
	d = &m->devs[m->n_devs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	return d;
}

/*
 * root/block/dev/dnbd/file into buf (METRICS_TEXT_MAX bytes); its length,
 * or -1 with errno.  A longer file is cut after its last whole line.
 */
static ssize_t read_attr(struct metrics *m, const char *root,
			 struct metrics_dev *d, const char *file, char *buf)
{
	char path[4096], extra;
	size_t len = 0;
	ssize_t n;
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/block/%s/dnbd/%s", root,
		     d->name, file) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < METRICS_TEXT_MAX) {
		n = read(fd, buf + len, METRICS_TEXT_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == METRICS_TEXT_MAX && read(fd, &extra, 1) == 1) {
		char *nl = memrchr(buf, '\n', len);

		len = nl ? (size_t)(nl - buf) + 1 : 0;
		warn(m, d, "%s: longer than %u bytes, the rest skipped", file,
		     METRICS_TEXT_MAX);
	}
	close(fd);
	return (ssize_t)len;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* An attribute that must be there on a bound device: warn when not. */
static ssize_t read_bound_attr(struct metrics *m, const char *root,
			       struct metrics_dev *d, const char *file,
			       char *buf)
{
	ssize_t n = read_attr(m, root, d, file, buf);

	if (n < 0)
		warn(m, d, "%s: %s", file, strerror(errno));
	return n;
}

static void read_figures(struct metrics *m, const char *root,
			 struct metrics_dev *d, char *buf)
{
	ssize_t n;

	n = read_bound_attr(m, root, d, "image_id", buf);
	if (n >= 0)
		metrics_parse_image_id(m, d, buf, (size_t)n);
	n = read_bound_attr(m, root, d, "revision", buf);
	if (n >= 0)
		metrics_parse_revision(m, d, buf, (size_t)n);
	n = read_bound_attr(m, root, d, "cache_hits", buf);
	if (n >= 0)
		d->has_hits = !metrics_parse_u64(m, d, "cache_hits", buf,
						 (size_t)n, &d->cache_hits);
	n = read_bound_attr(m, root, d, "cache_misses", buf);
	if (n >= 0)
		d->has_misses = !metrics_parse_u64(m, d, "cache_misses", buf,
						   (size_t)n,
						   &d->cache_misses);
	n = read_bound_attr(m, root, d, "servers", buf);
	if (n >= 0)
		metrics_parse_servers(m, d, buf, (size_t)n);
	n = read_bound_attr(m, root, d, "counters", buf);
	if (n >= 0)
		metrics_parse_counters(m, d, buf, (size_t)n);
}

/*
 * A device is bound when its image file names one.  The driver writes ""
 * into every file of an unbound device; a device going away answers
 * ENODEV, an old driver has no files: unbound too, without a warning.
 */
static void read_dev(struct metrics *m, const char *root,
		     struct metrics_dev *d, char *buf)
{
	ssize_t n = read_attr(m, root, d, "image", buf);

	if (n < 0 && errno != ENOENT && errno != ENODEV && errno != ENXIO)
		warn(m, d, "image: %s", strerror(errno));
	if (n <= 0 || metrics_parse_image(m, d, buf, (size_t)n))
		return;
	d->bound = true;
	read_figures(m, root, d, buf);
}

/* dnbd and digits: the disks, not their partitions (dnbd0p1). */
static int is_dnbd(const struct dirent *e)
{
	const char *p = e->d_name;

	if (strncmp(p, "dnbd", 4) || !p[4] || strlen(p) >= 32)
		return 0;
	for (p += 4; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

int metrics_collect(struct metrics *m, const char *sysroot)
{
	struct dirent **ents = NULL;
	struct metrics_dev *d;
	char dir[4096], *buf;
	int i, n, rc = -1;

	snprintf(dir, sizeof(dir), "%s/block", sysroot);
	buf = malloc(METRICS_TEXT_MAX);
	if (!buf) {
		log_err("out of memory");
		return -1;
	}
	n = scandir(dir, &ents, is_dnbd, versionsort);
	if (n < 0) {
		log_err("%s: %s", dir, strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++) {
		d = metrics_add_dev(m, ents[i]->d_name);
		if (!d) {
			log_err("out of memory");
			goto out_ents;
		}
		read_dev(m, sysroot, d, buf);
	}
	rc = 0;
out_ents:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
out:
	free(buf);
	return rc;
}

void metrics_free(struct metrics *m)
{
	free(m->devs);
	m->devs = NULL;
	m->n_devs = 0;
}

/* ---- the exposition format ----------------------------------------------- */

static void dev_labels(FILE *f, const struct metrics_dev *d)
{
	prom_label(f, "device", d->name, true);
	prom_label(f, "image", d->image, false);
}

static void server_labels(FILE *f, const struct metrics_dev *d,
			  const struct metrics_server *s)
{
	char id[8];

	snprintf(id, sizeof(id), "%u", s->id);
	dev_labels(f, d);
	prom_label(f, "server_id", id, false);
	prom_label(f, "address", s->addr, false);
}

static unsigned int n_bound(const struct metrics *m)
{
	unsigned int i, n = 0;

	for (i = 0; i < m->n_devs; i++)
		n += m->devs[i].bound;
	return n;
}

static void format_devices(const struct metrics *m, FILE *f)
{
	const struct metrics_dev *d;
	unsigned int i;

	prom_family(f, PREFIX "devices", "gauge",
		    "dnbd block devices found in sysfs.");
	fprintf(f, PREFIX "devices %u\n", m->n_devs);
	if (!m->n_devs)
		return;
	prom_family(f, PREFIX "device_bound", "gauge",
		    "Whether the device is bound to an image (1) or not (0).");
	for (i = 0; i < m->n_devs; i++) {
		fputs(PREFIX "device_bound{", f);
		prom_label(f, "device", m->devs[i].name, true);
		fprintf(f, "} %d\n", m->devs[i].bound);
	}
	if (!n_bound(m))
		return;
	prom_family(f, PREFIX "device_info", "gauge",
		    "The image a bound device serves (always 1).");
	for (i = 0; i < m->n_devs; i++) {
		d = &m->devs[i];
		if (!d->bound)
			continue;
		fputs(PREFIX "device_info{", f);
		dev_labels(f, d);
		prom_label(f, "image_id", d->image_id, false);
		prom_label(f, "revision", d->revision, false);
		fputs("} 1\n", f);
	}
}

static void format_cache(const struct metrics *m, FILE *f, bool hits)
{
	const char *name = hits ? PREFIX "device_cache_hits_total" :
				  PREFIX "device_cache_misses_total";
	const struct metrics_dev *d;
	bool first = true;
	unsigned int i;

	for (i = 0; i < m->n_devs; i++) {
		d = &m->devs[i];
		if (hits ? !d->has_hits : !d->has_misses)
			continue;
		if (first)
			prom_family(f, name, "counter", hits ?
				    "Segments served by the memory cache or "
				    "the cache file." :
				    "Segments found in neither cache.");
		first = false;
		fprintf(f, "%s{", name);
		dev_labels(f, d);
		fprintf(f, "} %" PRIu64 "\n", hits ? d->cache_hits :
			d->cache_misses);
	}
}

enum { SRV_UP, SRV_SRTT, SRV_WEIGHT };

static void format_servers(const struct metrics *m, FILE *f, int what)
{
	static const char *const names[] = {
		PREFIX "server_up", PREFIX "server_srtt_seconds",
		PREFIX "server_weight",
	};
	static const char *const helps[] = {
		"Whether the device's server is up (1) or down (0).",
		"Smoothed round-trip time to the server.",
		"The server's weight in the device's choice of server.",
	};
	const struct metrics_dev *d;
	const struct metrics_server *s;
	bool first = true;
	unsigned int i, j;

	for (i = 0; i < m->n_devs; i++) {
		d = &m->devs[i];
		for (j = 0; j < d->n_servers; j++) {
			s = &d->servers[j];
			if (first)
				prom_family(f, names[what], "gauge", helps[what]);
			first = false;
			fprintf(f, "%s{", names[what]);
			server_labels(f, d, s);
			if (what == SRV_UP)
				fprintf(f, "} %d\n", s->up);
			else if (what == SRV_SRTT)
				fprintf(f, "} %" PRIu64 ".%06" PRIu64 "\n",
					s->srtt_us / 1000000,
					s->srtt_us % 1000000);
			else
				fprintf(f, "} %" PRIu64 "\n", s->weight);
		}
	}
}

static const struct metrics_counter *
find_counter(const struct metrics_dev *d, const char *name)
{
	unsigned int i;

	for (i = 0; i < d->n_counters; i++)
		if (!strcmp(d->counters[i].name, name))
			return &d->counters[i];
	return NULL;
}

/* The family of counter name, first seen on device first. */
static void format_counter(const struct metrics *m, FILE *f,
			   unsigned int first, const char *name)
{
	const struct metrics_counter *c;
	const char *help = help_of(name);
	char fam[sizeof(PREFIX) + METRICS_NAME_MAX + 8];
	unsigned int i;

	snprintf(fam, sizeof(fam), PREFIX "%s_total", name);
	if (help)
		prom_family(f, fam, "counter", help);
	else
		fprintf(f, "# HELP %s dnbd driver counter %s (no help known "
			"to this dnbd-client).\n# TYPE %s counter\n", fam,
			name, fam);
	for (i = first; i < m->n_devs; i++) {
		c = find_counter(&m->devs[i], name);
		if (!c)
			continue;
		fprintf(f, "%s{", fam);
		dev_labels(f, &m->devs[i]);
		fprintf(f, "} %" PRIu64 "\n", c->value);
	}
}

/* Every counter family once, in the order of first appearance. */
static void format_counters(const struct metrics *m, FILE *f)
{
	const struct metrics_dev *d;
	unsigned int i, j, k;

	for (i = 0; i < m->n_devs; i++) {
		d = &m->devs[i];
		for (j = 0; j < d->n_counters; j++) {
			for (k = 0; k < i; k++)
				if (find_counter(&m->devs[k],
						 d->counters[j].name))
					break;
			if (k == i)
				format_counter(m, f, i, d->counters[j].name);
		}
	}
}

int metrics_format(const struct metrics *m, FILE *f)
{
	format_devices(m, f);
	format_cache(m, f, true);
	format_cache(m, f, false);
	format_servers(m, f, SRV_UP);
	format_servers(m, f, SRV_SRTT);
	format_servers(m, f, SRV_WEIGHT);
	format_counters(m, f);
	return ferror(f) ? -1 : 0;
}

/* ---- dnbd-client --metrics ----------------------------------------------- */

static int write_out(const char *path, const char *text, size_t len)
{
	int err;

	if (!strcmp(path, "-")) {
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout)) {
			log_err("standard output: %s", strerror(errno));
			return 1;
		}
		return 0;
	}
	err = write_file_atomic(path, text, len);
	if (err) {
		log_err("cannot write %s (through %s.tmp in the same "
			"directory): %s", path, path, strerror(-err));
		return 1;
	}
	return 0;
}

int metrics_run(const char *path)
{
	struct metrics m = { 0 };
	const char *root = getenv("DNBD_SYSFS");
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc = 1;

	if (!root || !*root)
		root = "/sys";
	if (metrics_collect(&m, root))
		goto out;
	f = open_memstream(&text, &len);
	if (!f) {
		log_err("out of memory");
		goto out;
	}
	if (metrics_format(&m, f) | fclose(f)) {
		log_err("out of memory");
		goto out;
	}
	rc = write_out(path, text, len);
out:
	free(text);
	metrics_free(&m);
	return rc;
}
