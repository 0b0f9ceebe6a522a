// SPDX-License-Identifier: GPL-2.0
/*
 * trace.c - --trace FILE: one line per READ the server is asked for, for
 * recording boot traces (bench/record-trace.sh) that the boot-storm
 * benchmark replays (bench/dnbd-replay).  The format, dnbd-trace 1, is
 * documented in dnbd-server(8) and bench/README.md:
 *
 *	time_us done_us client image offset length kind
 *
 * time_us: when the READ arrived; done_us: when the server had handed its
 * last REPLY to the kernel (time_us if it caused no send); both in
 * microseconds since the file was opened.  offset and length: the bytes
 * the READ's mask covers.  kind: read, or retry (DNBD_F_RETRY).
 *
 * The event loop traces READs that send nothing; the workers trace the
 * rest when their job is done: one lock serialises the lines.  Lines go
 * out through stdio and are flushed once a second (trace_flush) and at
 * exit.  A write error is said once; the server goes on serving.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "util.h"

int trace_open(struct trace_log *t, const char *path, uint64_t now)
{
	memset(t, 0, sizeof(*t));
	t->f = fopen(path, "we");
	if (!t->f)
		return -errno;
	t->path = path;
	t->t0 = now;
	pthread_mutex_init(&t->lock, NULL);
	fprintf(t->f, "# dnbd-trace 1\n"
		"# time_us done_us client image offset length kind\n");
	if (fflush(t->f)) {
		int err = -errno;

		fclose(t->f);
		t->f = NULL;
		pthread_mutex_destroy(&t->lock);
		return err;
	}
	return 0;
}

void trace_read(struct trace_log *t, const struct trace_rec *r, uint64_t done)
{
	char a[ADDR_STRLEN];

	if (!t->f)
		return;
	addr_str(&r->from, a);
	pthread_mutex_lock(&t->lock);
	fprintf(t->f, "%" PRIu64 " %" PRIu64 " %s %s %" PRIu64 " %" PRIu64
		" %s\n", r->at - t->t0, (done > r->at ? done : r->at) - t->t0,
		a, r->img->name, r->offset, r->length,
		r->retry ? "retry" : "read");
	t->lines++;
	pthread_mutex_unlock(&t->lock);
}

void trace_flush(struct trace_log *t)
{
	int bad;

	if (!t->f)
		return;
	pthread_mutex_lock(&t->lock);
	bad = fflush(t->f) || ferror(t->f);
	pthread_mutex_unlock(&t->lock);
	if (bad && !t->failed)
		log_err("cannot write the trace to %s: %s (said once)",
			t->path, strerror(errno));
	t->failed = bad;
}

void trace_close(struct trace_log *t)
{
	if (!t->f)
		return;
	trace_flush(t);
	if (fclose(t->f) && !t->failed)
		log_err("cannot write the trace to %s: %s", t->path,
			strerror(errno));
	else
		log_info("trace: %" PRIu64 " READs in %s", t->lines, t->path);
	t->f = NULL;
	pthread_mutex_destroy(&t->lock);
}
