// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - small writers for counters: JSON (stats files) and the
 * Prometheus text format (metrics files).
 */
#include "stats.h"

#include <inttypes.h>
#include <string.h>

void json_counters(FILE *f, const char *const *names,
		   const uint64_t *values, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", names[i],
			values[i]);
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void text_counters(FILE *f, const char *prefix, const char *const *names,
		   const uint64_t *values, unsigned int n)
{
	unsigned int i;
	int col = 0;

	for (i = 0; i < n; i++) {
		if (col == 0)
			col = fprintf(f, "%s", prefix);
		col += fprintf(f, " %s=%" PRIu64, names[i], values[i]);
		if (col > 90 || i == n - 1) {
			fputc('\n', f);
			col = 0;
		}
	}
}

void prom_family(FILE *f, const char *name, const char *type,
		 const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_label(FILE *f, const char *key, const char *v, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", key);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v >= 0x20 && *v <= 0x7e ? *v : '?', f);
	}
	fputc('"', f);
}
