/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace.h - boot traces (dnbd-trace 1, written by dnbd-server --trace) and
 * the replay model of dnbd-replay: which earlier read each read waited
 * for, and how long the booting client thought before sending it.
 *
 * The format (dnbd-server(8), dnbd-replay(1)): '#' comment lines, and data
 * lines of exactly 7 fields separated by one space,
 *
 *	time_us done_us client image offset length kind
 *
 * at most TRACE_LINE_MAX bytes each.  Numbers are decimal without sign,
 * done_us >= time_us, time_us never decreases from one data line to the
 * next, 0 < length <= TRACE_LEN_MAX, offset + length fits in 64 bits.
 * Kinds other than "read" are checked like the others, then skipped.
 *
 * The model: read i depends on the read j < i (among the kept reads) with
 * the largest done_us <= time_us(i), the last one answered when i was
 * sent; of several with that done_us, the latest.  Without one it depends
 * on the start.  Its think time is time_us(i) - done_us(j), or time_us(i).
 */
#ifndef DNBD_TRACE_H
#define DNBD_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_LINE_MAX	255		/* bytes, without the newline */
#define TRACE_LEN_MAX	(64u << 20)	/* one READ's length, at most */
#define TRACE_READS_MAX	(16u << 20)	/* reads kept, at most */
#define TRACE_NO_DEP	UINT32_MAX

struct trace_read {
	uint64_t time_us, done_us;
	uint64_t offset;
	uint32_t length;
	uint32_t line;		/* 1-based line number in the file */
	uint32_t dep;		/* index of the read it waits for, or
				 * TRACE_NO_DEP: the start */
	uint64_t think_us;	/* after dep's completion (or the start) */
};

struct trace {
	struct trace_read *r;
	size_t n, cap;
	uint64_t bytes;		/* sum of the kept reads' lengths */
	uint64_t think_us;	/* sum of their think times */
	size_t lines, skipped;	/* data lines; of them not kept */
};

/*
 * Parses a whole trace held in buf (len bytes, need not end in a newline
 * or a NUL) into t (zeroed by the caller), keeping only "read" lines, and
 * of those only client's when client is not NULL: "a.b.c.d:port" exactly,
 * or "a.b.c.d" for every port of that address.  Then the model above
 * fills in every read's dep and think_us, and t->think_us.
 * Returns 0, or -1 with "LINE: what is wrong" (or "what is wrong" when no
 * line is to blame) in err; t is then freed.
 */
int trace_parse(struct trace *t, const char *buf, size_t len,
		const char *client, char *err, size_t errlen);
void trace_free(struct trace *t);

#endif
