// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-metrics - dnbd-client --metrics (client/metrics.c): the parsers of
 * the driver's sysfs files (image, image_id, revision, cache_hits,
 * servers, counters) and the Prometheus text they turn into.
 *
 * Input: a control byte, then the files' contents in that order, split at
 * NUL bytes (a missing one is an empty file).  Control bit 0: a second
 * bound device with the same files (the families gather both); bit 1: an
 * unbound device before them.
 *
 * Checks, beyond the sanitizers:
 * - every non-blank line of servers and counters is either taken or
 *   counted as skipped, and a taken counter has a name of [a-z0-9_] and
 *   appears exactly once per device in the output;
 * - the output is valid exposition text: only "# HELP name text",
 *   "# TYPE name counter|gauge" and "name{labels} value" lines; names
 *   dnbd_client_[a-z0-9_]+; one HELP and one TYPE per family, before its
 *   samples, all samples of a family together; counters end in _total;
 *   label values escaped (no raw quote or newline, a backslash only
 *   before \, " or n) and printable ASCII; values decimal numbers;
 * - an unbound device has its bound gauge and nothing else.
 */
#include "fuzz.h"
#include "metrics.h"

#define FILES	6
#define FAMILIES_MAX	(METRICS_COUNTERS_MAX + 16)

struct seen {
	char names[FAMILIES_MAX][METRICS_NAME_MAX + 32];
	bool closed[FAMILIES_MAX];
	unsigned int n;
	int current;		/* family whose samples may follow */
};

static bool name_ok(const char *p, size_t n)
{
	size_t i;

	if (n <= 12 || n >= METRICS_NAME_MAX + 32 ||
	    strncmp(p, "dnbd_client_", 12))
		return false;
	for (i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return false;
	return true;
}

static int find(struct seen *s, const char *p, size_t n)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (strlen(s->names[i]) == n && !memcmp(s->names[i], p, n))
			return (int)i;
	return -1;
}

/* "# HELP name text" then "# TYPE name type": opens a new family. */
static void check_comment(struct seen *s, const char *l, size_t n,
			  const char **help_name, size_t *help_len)
{
	const char *name = l + 7, *sp;
	size_t len;

	FUZZ_CHECK(n > 7 && (!memcmp(l, "# HELP ", 7) ||
			     !memcmp(l, "# TYPE ", 7)));
	sp = memchr(name, ' ', n - 7);
	FUZZ_CHECK(sp);
	len = (size_t)(sp - name);
	FUZZ_CHECK(name_ok(name, len));
	if (l[2] == 'H') {
		FUZZ_CHECK(find(s, name, len) < 0);	/* one HELP */
		FUZZ_CHECK(sp + 1 < l + n);		/* some text */
		*help_name = name;
		*help_len = len;
		return;
	}
	FUZZ_CHECK(*help_name && *help_len == len &&
		   !memcmp(*help_name, name, len));	/* HELP, then TYPE */
	if (n - 7 - len - 1 == 7 && !memcmp(sp + 1, "counter", 7))
		FUZZ_CHECK(len > 6 && !memcmp(name + len - 6, "_total", 6));
	else
		FUZZ_CHECK(n - 7 - len - 1 == 5 && !memcmp(sp + 1, "gauge", 5));
	FUZZ_CHECK(s->n < FAMILIES_MAX);
	if (s->current >= 0)
		s->closed[s->current] = true;
	memcpy(s->names[s->n], name, len);
	s->names[s->n][len] = '\0';
	s->current = (int)s->n++;
	*help_name = NULL;
}

/* {key="value",...}: returns its length, checks the escaping, and
 * copies the device label's value into device. */
static size_t check_labels(const char *l, size_t n, char *device,
			   size_t devcap)
{
	size_t i = 1, k, v;

	FUZZ_CHECK(n > 0 && l[0] == '{');
	for (;;) {
		k = i;
		while (i < n && ((l[i] >= 'a' && l[i] <= 'z') || l[i] == '_'))
			i++;
		FUZZ_CHECK(i > k && i + 1 < n && l[i] == '=' &&
			   l[i + 1] == '"');
		i += 2;
		v = i;
		while (i < n && l[i] != '"') {
			FUZZ_CHECK(l[i] >= 0x20 && l[i] <= 0x7e);
			if (l[i] == '\\') {
				FUZZ_CHECK(i + 1 < n && (l[i + 1] == '\\' ||
					   l[i + 1] == '"' || l[i + 1] == 'n'));
				i++;
			}
			i++;
		}
		FUZZ_CHECK(i < n);
		if (v - k == 8 && !memcmp(l + k, "device", 6) &&
		    i - v < devcap) {
			memcpy(device, l + v, i - v);
			device[i - v] = '\0';
		}
		i++;
		FUZZ_CHECK(i < n);
		if (l[i] == '}')
			return i + 1;
		FUZZ_CHECK(l[i] == ',');
		i++;
	}
}

static const struct metrics_dev *dev_named(const struct metrics *m,
					   const char *name)
{
	unsigned int i;

	for (i = 0; i < m->n_devs; i++)
		if (!strcmp(m->devs[i].name, name))
			return &m->devs[i];
	return NULL;
}

static void check_value(const char *p, size_t n)
{
	size_t i, dots = 0;

	FUZZ_CHECK(n > 0 && p[0] >= '0' && p[0] <= '9');
	for (i = 0; i < n; i++) {
		if (p[i] == '.')
			dots++;
		else
			FUZZ_CHECK(p[i] >= '0' && p[i] <= '9');
	}
	FUZZ_CHECK(dots <= 1 && p[n - 1] != '.');
}

/* The two counter families that are not the counters file's. */
static bool is_cache_total(const char *name, size_t n)
{
	static const char hits[] = "dnbd_client_device_cache_hits_total";
	static const char misses[] = "dnbd_client_device_cache_misses_total";

	return (n == sizeof(hits) - 1 && !memcmp(name, hits, n)) ||
	       (n == sizeof(misses) - 1 && !memcmp(name, misses, n));
}

/*
 * The text, line by line.  Counts the samples of device counted_dev in
 * the counters file's families (_total, not the two cache totals), and
 * notes any sample but the bound gauge of an unbound device.
 */
static void check_output(const struct metrics *m, const char *text,
			 size_t len, const char *counted_dev,
			 unsigned int *counters_seen, bool *unbound_extra)
{
	struct seen *s = calloc(1, sizeof(*s));
	const char *l = text, *end = text + len, *nl, *help = NULL;
	const struct metrics_dev *d;
	size_t help_len = 0, n, nm, name_len;
	char device[64];
	int f;

	FUZZ_CHECK(s);
	s->current = -1;
	FUZZ_CHECK(len == 0 || text[len - 1] == '\n');
	for (; l < end; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(end - l));
		FUZZ_CHECK(nl);
		n = (size_t)(nl - l);
		if (n && l[0] == '#') {
			check_comment(s, l, n, &help, &help_len);
			continue;
		}
		FUZZ_CHECK(!help);		/* a HELP without TYPE */
		for (nm = 0; nm < n && l[nm] != '{' && l[nm] != ' '; nm++)
			;
		name_len = nm;
		f = find(s, l, nm);
		FUZZ_CHECK(f >= 0 && f == s->current && !s->closed[f]);
		device[0] = '\0';
		if (nm < n && l[nm] == '{')
			nm += check_labels(l + nm, n - nm, device,
					   sizeof(device));
		FUZZ_CHECK(nm < n && l[nm] == ' ');
		check_value(l + nm + 1, n - nm - 1);
		if (!strcmp(device, counted_dev) &&
		    !is_cache_total(l, name_len) &&
		    !memcmp(l + name_len - 6, "_total", 6))
			(*counters_seen)++;
		d = dev_named(m, device);
		if (device[0])
			FUZZ_CHECK(d);
		if (d && !d->bound &&
		    strncmp(l, "dnbd_client_device_bound{", 25))
			*unbound_extra = true;
	}
	FUZZ_CHECK(!help);
	free(s);
}

static unsigned int nonblank_lines(const char *p, size_t n)
{
	unsigned int lines = 0;
	bool content = false;
	size_t i;

	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == '\n') {
			lines += content;
			content = false;
		} else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
			content = true;
		}
	}
	return lines;
}

static void load(struct metrics *m, struct metrics_dev *d,
		 const char **file, const size_t *flen)
{
	unsigned int skipped, i;

	if (metrics_parse_image(m, d, file[0], flen[0]))
		return;
	d->bound = true;
	metrics_parse_image_id(m, d, file[1], flen[1]);
	metrics_parse_revision(m, d, file[2], flen[2]);
	d->has_hits = !metrics_parse_u64(m, d, "cache_hits", file[3],
					 flen[3], &d->cache_hits);
	skipped = metrics_parse_servers(m, d, file[4], flen[4]);
	FUZZ_CHECK(skipped + d->n_servers == nonblank_lines(file[4], flen[4]));
	skipped = metrics_parse_counters(m, d, file[5], flen[5]);
	FUZZ_CHECK(skipped + d->n_counters ==
		   nonblank_lines(file[5], flen[5]));
	for (i = 0; i < d->n_counters; i++)
		FUZZ_CHECK(strspn(d->counters[i].name,
				  "abcdefghijklmnopqrstuvwxyz0123456789_") ==
			   strlen(d->counters[i].name) &&
			   d->counters[i].name[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics m = { .quiet = true };
	const char *file[FILES];
	size_t flen[FILES], pos = 1, i;
	struct metrics_dev *d;
	unsigned int seen = 0, want;
	bool extra = false;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (size < 1 || size > 2 * METRICS_TEXT_MAX)
		return -1;
	for (i = 0; i < FILES; i++) {
		const uint8_t *nul = pos < size ?
			memchr(data + pos, 0, size - pos) : NULL;

		file[i] = (const char *)data + (pos < size ? pos : size);
		flen[i] = nul ? (size_t)(nul - data) - pos :
			  (pos < size ? size - pos : 0);
		pos += flen[i] + 1;
	}
	if ((data[0] & 2) && metrics_add_dev(&m, "dnbd7") == NULL)
		goto out;
	d = metrics_add_dev(&m, "dnbd0");
	if (!d)
		goto out;
	load(&m, d, file, flen);
	want = m.devs[m.n_devs - 1].n_counters;
	if ((data[0] & 1) && (d = metrics_add_dev(&m, "dnbd1")) != NULL)
		load(&m, d, file, flen);
	f = open_memstream(&text, &len);
	if (!f)
		goto out;
	FUZZ_CHECK(metrics_format(&m, f) == 0);
	FUZZ_CHECK(fclose(f) == 0);
	check_output(&m, text, len, "dnbd0", &seen, &extra);
	/* Each counter taken once in its family (cache totals aside). */
	FUZZ_CHECK(seen == want);
	FUZZ_CHECK(!extra);
out:
	free(text);
	metrics_free(&m);
	return 0;
}
