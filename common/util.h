/* SPDX-License-Identifier: GPL-2.0 */
/* util.h - userspace helpers: logging, number parsing, time, files. */
#ifndef DNBD_UTIL_H
#define DNBD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNBD_VERSION_STRING "1.0.0"

enum { LOG_ERR_ = 0, LOG_INFO_ = 1, LOG_DEBUG_ = 2 };

void log_init(const char *prog, int verbosity);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_err(...)	log_msg(LOG_ERR_, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO_, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG_, __VA_ARGS__)

/*
 * The environment variable DNBD_CRC32C=table|sse42 forces a CRC32C variant
 * (tests, comparisons); unset or empty keeps the one chosen at start-up.
 * False, after a message, when the name is unknown or this CPU cannot run
 * it: the programs then exit with their usage status.
 */
bool crc32c_from_env(void);

/* Decimal or 0x-hex, whole string, no sign; false on any junk. */
bool parse_u64(const char *s, uint64_t *out);
/* parse_u64 with an optional K, M, G or T suffix (powers of 1024). */
bool parse_size(const char *s, uint64_t *out);
/* parse_u64 bounded to [min, max]. */
bool parse_range(const char *s, uint64_t min, uint64_t max, uint64_t *out);

uint64_t now_us(void);		/* CLOCK_MONOTONIC */
void sleep_us(uint64_t us);

/* Writes data to path via path.tmp + rename, so readers never see half. */
int write_file_atomic(const char *path, const char *data, size_t len);

#endif
