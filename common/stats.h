/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stats.h - small writers for counters: JSON (stats files) and the
 * Prometheus text format (metrics files).
 */
#ifndef DNBD_STATS_H
#define DNBD_STATS_H

#include <stdbool.h>
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

/* Prometheus text format: "# HELP name help" and "# TYPE name type". */
void prom_family(FILE *f, const char *name, const char *type,
		 const char *help);
/*
 * A label, key="value", preceded by a comma unless first: backslash,
 * quote and newline escaped as the format asks, other bytes outside
 * printable ASCII written as '?'.
 */
void prom_label(FILE *f, const char *key, const char *v, bool first);

#endif
