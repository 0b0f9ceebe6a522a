/* SPDX-License-Identifier: GPL-2.0 */
/* stats.h - a small JSON writer for counters and stats files. */
#ifndef DNBD_STATS_H
#define DNBD_STATS_H

#include <stdint.h>
#include <stdio.h>

/* Writes "name":value pairs of n counters, comma separated. */
void json_counters(FILE *f, const char *const *names,
		   const uint64_t *values, unsigned int n);
/* Writes s as a JSON string literal, quotes included, escaping as needed. */
void json_str(FILE *f, const char *s);
/* Writes counters as "name=value" words on lines of about 100 chars. */
void text_counters(FILE *f, const char *prefix, const char *const *names,
		   const uint64_t *values, unsigned int n);

#endif
