// SPDX-License-Identifier: GPL-2.0
/* trace.c - the boot trace parser and replay model (trace.h). */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS	7

static int trace_model(struct trace *t);

struct field {
	const char *p;
	size_t n;
};

/* Decimal digits only, no sign, no overflow. */
static bool parse_dec(const struct field *f, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!f->n || f->n > 20)
		return false;
	for (i = 0; i < f->n; i++) {
		unsigned int d = (unsigned char)f->p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Printable ASCII without space: the client, image and kind fields. */
static bool word_ok(const struct field *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if ((unsigned char)f->p[i] <= ' ' ||
		    (unsigned char)f->p[i] > '~')
			return false;
	return f->n > 0;
}

static bool field_is(const struct field *f, const char *s)
{
	return strlen(s) == f->n && !memcmp(f->p, s, f->n);
}

/* client: "a.b.c.d:port" exactly, or "a.b.c.d" for any port. */
static bool client_match(const struct field *f, const char *want)
{
	size_t n = strlen(want);

	if (n == f->n)
		return !memcmp(f->p, want, n);
	return !strchr(want, ':') && f->n > n && f->p[n] == ':' &&
	       !memcmp(f->p, want, n);
}

static int add_read(struct trace *t, const struct trace_read *r)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct trace_read *nr;

		if (cap > TRACE_READS_MAX)
			cap = TRACE_READS_MAX;
		if (t->n == cap)
			return -1;
		nr = realloc(t->r, cap * sizeof(*nr));
		if (!nr)
			return -1;
		t->r = nr;
		t->cap = cap;
	}
	t->r[t->n++] = *r;
	t->bytes += r->length;
	return 0;
}

/* One line without its newline; 0, or -1 with what is wrong in err. */
static int parse_line(struct trace *t, const char *p, size_t n, uint32_t line,
		      const char *client, uint64_t *last_time, char *err,
		      size_t errlen)
{
	static const char *const names[FIELDS] = {
		"time_us", "done_us", "client", "image", "offset", "length",
		"kind" };
	struct field f[FIELDS];
	struct trace_read r;
	uint64_t v[FIELDS];
	unsigned int nf = 0, i;
	size_t start = 0, k;

	if (n > TRACE_LINE_MAX) {
		snprintf(err, errlen, "line longer than %u bytes",
			 TRACE_LINE_MAX);
		return -1;
	}
	if (memchr(p, '\0', n)) {
		snprintf(err, errlen, "NUL byte in the line");
		return -1;
	}
	if (n && p[0] == '#') {
		/* The recorder's header names the version. */
		if (n >= 13 && !memcmp(p, "# dnbd-trace ", 13) &&
		    !(n == 14 && p[13] == '1')) {
			snprintf(err, errlen, "not a dnbd-trace 1 file: '%.*s'",
				 (int)(n > 40 ? 40 : n), p);
			return -1;
		}
		return 0;
	}
	if (!n)
		return 0;
	for (k = 0; k <= n; k++) {
		if (k < n && p[k] != ' ')
			continue;
		if (nf == FIELDS) {
			snprintf(err, errlen, "more than %u fields", FIELDS);
			return -1;
		}
		f[nf].p = p + start;
		f[nf].n = k - start;
		if (!f[nf].n) {
			snprintf(err, errlen, "empty field %u (%s): fields are "
				 "separated by one space", nf + 1, names[nf]);
			return -1;
		}
		nf++;
		start = k + 1;
	}
	if (nf != FIELDS) {
		snprintf(err, errlen, "%u fields, expected %u (time_us "
			 "done_us client image offset length kind)", nf,
			 FIELDS);
		return -1;
	}
	for (i = 0; i < FIELDS; i++) {
		bool num = i < 2 || i == 4 || i == 5;

		if (num ? !parse_dec(&f[i], &v[i]) : !word_ok(&f[i])) {
			snprintf(err, errlen, "bad %s '%.*s'%s", names[i],
				 (int)(f[i].n > 40 ? 40 : f[i].n), f[i].p,
				 num ? " (a decimal number below 2^64)" : "");
			return -1;
		}
	}
	if (v[1] < v[0]) {
		snprintf(err, errlen, "done_us %llu is before time_us %llu",
			 (unsigned long long)v[1], (unsigned long long)v[0]);
		return -1;
	}
	if (v[0] < *last_time) {
		snprintf(err, errlen, "time_us %llu is before the previous "
			 "line's %llu (sort the trace with sort -n -s)",
			 (unsigned long long)v[0],
			 (unsigned long long)*last_time);
		return -1;
	}
	*last_time = v[0];
	if (!v[5] || v[5] > TRACE_LEN_MAX) {
		snprintf(err, errlen, "length %llu is not in 1..%u",
			 (unsigned long long)v[5], TRACE_LEN_MAX);
		return -1;
	}
	if (v[4] > UINT64_MAX - v[5]) {
		snprintf(err, errlen, "offset %llu + length %llu overflows",
			 (unsigned long long)v[4], (unsigned long long)v[5]);
		return -1;
	}
	t->lines++;
	if (!field_is(&f[6], "read") || (client && !client_match(&f[2], client))) {
		t->skipped++;
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.time_us = v[0];
	r.done_us = v[1];
	r.offset = v[4];
	r.length = (uint32_t)v[5];
	r.line = line;
	r.dep = TRACE_NO_DEP;
	if (add_read(t, &r)) {
		snprintf(err, errlen, "more than %u reads, or out of memory",
			 TRACE_READS_MAX);
		return -1;
	}
	return 0;
}

int trace_parse(struct trace *t, const char *buf, size_t len,
		const char *client, char *err, size_t errlen)
{
	uint64_t last_time = 0;
	uint32_t line = 0;
	size_t pos = 0;
	char what[200];

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		if (line == UINT32_MAX - 1) {
			snprintf(err, errlen, "too many lines");
			trace_free(t);
			return -1;
		}
		line++;
		if (parse_line(t, buf + pos, n, line, client, &last_time, what,
			       sizeof(what))) {
			snprintf(err, errlen, "%u: %s", line, what);
			trace_free(t);
			return -1;
		}
		pos += n + 1;
	}
	if (!t->n) {
		if (client)
			snprintf(err, errlen, "no read lines of client %s "
				 "(%zu data lines)", client, t->lines);
		else
			snprintf(err, errlen, "no read lines (%zu data lines)",
				 t->lines);
		trace_free(t);
		return -1;
	}
	if (trace_model(t)) {
		snprintf(err, errlen, "out of memory for the replay model");
		trace_free(t);
		return -1;
	}
	return 0;
}

/* A min-heap of reads by done_us: those not yet answered at time_us(i). */
struct heap {
	uint32_t *a;
	size_t n;
};

static bool heap_less(const struct trace *t, uint32_t x, uint32_t y)
{
	return t->r[x].done_us < t->r[y].done_us;
}

static void heap_push(const struct trace *t, struct heap *h, uint32_t v)
{
	size_t i = h->n++;

	while (i && heap_less(t, v, h->a[(i - 1) / 2])) {
		h->a[i] = h->a[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->a[i] = v;
}

static uint32_t heap_pop(const struct trace *t, struct heap *h)
{
	uint32_t top = h->a[0], v = h->a[--h->n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && heap_less(t, h->a[c + 1], h->a[c]))
			c++;
		if (!heap_less(t, h->a[c], v))
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	h->a[i] = v;
	return top;
}

/* Fills in dep and think_us of every read (t->n > 0), and t->think_us;
 * -1 when the heap cannot be allocated. */
static int trace_model(struct trace *t)
{
	struct heap h = { .a = malloc(t->n * sizeof(*h.a)), .n = 0 };
	uint32_t best = TRACE_NO_DEP;
	size_t i;

	if (!h.a)
		return -1;
	t->think_us = 0;
	for (i = 0; i < t->n; i++) {
		struct trace_read *r = &t->r[i];

		/*
		 * time_us never decreases, so a read answered by time_us(i)
		 * stays answered for every later read: the best so far only
		 * grows.
		 */
		while (h.n && t->r[h.a[0]].done_us <= r->time_us) {
			uint32_t j = heap_pop(t, &h);

			if (best == TRACE_NO_DEP ||
			    t->r[j].done_us > t->r[best].done_us ||
			    (t->r[j].done_us == t->r[best].done_us && j > best))
				best = j;
		}
		r->dep = best;
		r->think_us = r->time_us -
			      (best == TRACE_NO_DEP ? 0 : t->r[best].done_us);
		t->think_us += r->think_us;
		heap_push(t, &h, (uint32_t)i);
	}
	free(h.a);
	return 0;
}

void trace_free(struct trace *t)
{
	free(t->r);
	t->r = NULL;
	t->n = t->cap = 0;
}
