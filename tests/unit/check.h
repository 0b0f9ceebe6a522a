/* SPDX-License-Identifier: GPL-2.0 */
/* check.h - minimal unit-test helpers: count failures, report, exit. */
#ifndef DNBD_CHECK_H
#define DNBD_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failed, check_total;

#define CHECK(cond) do {						\
	check_total++;							\
	if (!(cond)) {							\
		check_failed++;						\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,	\
			__LINE__, #cond);				\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	unsigned long long _a = (unsigned long long)(a);		\
	unsigned long long _b = (unsigned long long)(b);		\
	check_total++;							\
	if (_a != _b) {							\
		check_failed++;						\
		fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %llu, "	\
			"%s = %llu\n", __FILE__, __LINE__, #a, _a, #b, _b); \
	}								\
} while (0)

static inline int check_report(const char *name)
{
	fprintf(stderr, "%s: %d checks, %d failed\n", name, check_total,
		check_failed);
	return check_failed ? 1 : 0;
}

#endif
