// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-trace - dnbd-replay's boot trace parser and replay model
 * (bench/trace.c: trace_parse() and its replay model).
 *
 * Input: a control byte, then the trace text.  Control bits 0-1: the
 * --client filter: none, "10.0.0.1" (any port) or "10.0.0.1:1000".
 *
 * Checks, beyond the sanitizers:
 * - a refusal has a message, frees the reads, and a line number it names
 *   is one of the input's lines;
 * - every kept read comes from a line of the input that has exactly the
 *   7 fields, kind "read", the client asked for, and the read's numbers,
 *   in decimal; lines increase, time_us never decreases, done_us >=
 *   time_us, 0 < length <= TRACE_LEN_MAX, offset + length does not wrap;
 *   bytes and think_us are the sums;
 * - the model: dep is an earlier read answered by time_us (the latest of
 *   those with the largest done_us), think_us is the gap; checked against
 *   a plain quadratic search for traces of up to 2000 reads.
 */
#include <errno.h>

#include "fuzz.h"
#include "../bench/trace.h"

#define BRUTE_MAX	2000

/* The start of line number line (1-based) in buf, and its length. */
static const char *find_line(const char *buf, size_t len, uint32_t line,
			     size_t *n)
{
	const char *p = buf, *end = buf + len, *nl;

	while (--line) {
		nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl != NULL);
		p = nl + 1;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	*n = nl ? (size_t)(nl - p) : (size_t)(end - p);
	return p;
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	FUZZ_CHECK(*s >= '0' && *s <= '9');
	errno = 0;
	v = strtoull(s, &end, 10);
	FUZZ_CHECK(!*end && !errno);
	return v;
}

static void check_read(const char *buf, size_t len, const char *client,
		       const struct trace_read *r)
{
	char line[TRACE_LINE_MAX + 1], f[7][TRACE_LINE_MAX + 1];
	const char *p;
	size_t n;
	int end = -1;

	p = find_line(buf, len, r->line, &n);
	FUZZ_CHECK(n <= TRACE_LINE_MAX);
	memcpy(line, p, n);
	line[n] = '\0';
	/* Exactly 7 fields, one space apart, the kept numbers in them. */
	FUZZ_CHECK(sscanf(line, "%255[^ ] %255[^ ] %255[^ ] %255[^ ] "
			  "%255[^ ] %255[^ ] %255[^ ]%n", f[0], f[1], f[2],
			  f[3], f[4], f[5], f[6], &end) == 7);
	FUZZ_CHECK(end == (int)n);
	FUZZ_CHECK(!strchr(line, '\t') && !strstr(line, "  "));
	FUZZ_CHECK(num(f[0]) == r->time_us);
	FUZZ_CHECK(num(f[1]) == r->done_us);
	FUZZ_CHECK(num(f[4]) == r->offset);
	FUZZ_CHECK(num(f[5]) == r->length);
	FUZZ_CHECK(!strcmp(f[6], "read"));
	if (client) {
		size_t k = strlen(client);

		FUZZ_CHECK(!strncmp(f[2], client, k));
		FUZZ_CHECK(f[2][k] == '\0' ||
			   (f[2][k] == ':' && !strchr(client, ':')));
	}
}

static void check_model(const struct trace *t)
{
	size_t i, j;

	for (i = 0; i < t->n; i++) {
		const struct trace_read *r = &t->r[i];
		uint32_t best = TRACE_NO_DEP;

		if (r->dep != TRACE_NO_DEP) {
			FUZZ_CHECK(r->dep < i);
			FUZZ_CHECK(t->r[r->dep].done_us <= r->time_us);
			FUZZ_CHECK(r->think_us ==
				   r->time_us - t->r[r->dep].done_us);
		} else {
			FUZZ_CHECK(r->think_us == r->time_us);
		}
		if (t->n > BRUTE_MAX)
			continue;
		for (j = 0; j < i; j++)
			if (t->r[j].done_us <= r->time_us &&
			    (best == TRACE_NO_DEP ||
			     t->r[j].done_us >= t->r[best].done_us))
				best = (uint32_t)j;
		FUZZ_CHECK(r->dep == best);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const clients[4] = {
		NULL, "10.0.0.1", "10.0.0.1:1000", NULL };
	const char *client, *buf;
	struct trace t;
	char err[300];
	uint64_t bytes = 0, think = 0, lines = 1;
	size_t i, len;
	int rc;

	if (!size)
		return 0;
	client = clients[data[0] & 3];
	buf = (const char *)data + 1;
	len = size - 1;
	for (i = 0; i < len; i++)
		if (buf[i] == '\n' && i + 1 < len)
			lines++;
	memset(&t, 0, sizeof(t));
	err[0] = '\0';
	rc = trace_parse(&t, buf, len, client, err, sizeof(err));
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "rc %d, %zu reads: %s\n", rc, t.n, err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc) {
		unsigned long l;

		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(t.r == NULL && t.n == 0);
		if (err[0] >= '0' && err[0] <= '9') {
			l = strtoul(err, NULL, 10);
			FUZZ_CHECK(l >= 1 && l <= lines);
		}
		return 0;
	}
	FUZZ_CHECK(t.n >= 1 && t.n <= t.lines - t.skipped);
	for (i = 0; i < t.n; i++) {
		const struct trace_read *r = &t.r[i];

		FUZZ_CHECK(r->length >= 1 && r->length <= TRACE_LEN_MAX);
		FUZZ_CHECK(r->offset <= UINT64_MAX - r->length);
		FUZZ_CHECK(r->done_us >= r->time_us);
		FUZZ_CHECK(r->line >= 1 && r->line <= lines);
		if (i) {
			FUZZ_CHECK(r->line > t.r[i - 1].line);
			FUZZ_CHECK(r->time_us >= t.r[i - 1].time_us);
		}
		check_read(buf, len, client, r);
		bytes += r->length;
		think += r->think_us;
	}
	FUZZ_CHECK(bytes == t.bytes);
	FUZZ_CHECK(think == t.think_us);
	check_model(&t);
	trace_free(&t);
	return 0;
}
