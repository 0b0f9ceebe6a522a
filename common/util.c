// SPDX-License-Identifier: GPL-2.0
/* util.c - userspace helpers: logging, number parsing, time, files. */
#include "util.h"
#include "dnbd_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "dnbd";
static int log_level = LOG_INFO_;

void log_init(const char *prog, int verbosity)
{
	log_prog = prog;
	log_level = verbosity;
}

void log_msg(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "%s: ", log_prog);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line, so lines of threads do not interleave. */
	n = (int)strlen(line);
	if (n < (int)sizeof(line) - 1)
		line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

bool crc32c_from_env(void)
{
	const char *name = getenv("DNBD_CRC32C");
	int v;

	if (!name || !*name)
		return true;
	v = dnbd_crc32c_variant(name);
	if (!v) {
		log_err("DNBD_CRC32C=%s: not a CRC32C variant (table, sse42)",
			name);
		return false;
	}
	if (!dnbd_crc32c_select(v)) {
		log_err("DNBD_CRC32C=%s: this CPU cannot run it", name);
		return false;
	}
	log_debug("CRC32C: %s (DNBD_CRC32C)", dnbd_crc32c_name());
	return true;
}

bool parse_u64(const char *s, uint64_t *out)
{
	const char *digits = s;
	char *end;
	unsigned long long v;
	int base = 10;

	if (!s)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		digits = s + 2;
	}
	/* Digits only: strtoull() alone would also take leading white
	 * space (and a sign after it), a second 0x, and octal for a
	 * leading 0. */
	if (!*digits || digits[strspn(digits, base == 16 ?
				      "0123456789abcdefABCDEF" :
				      "0123456789")])
		return false;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool parse_size(const char *s, uint64_t *out)
{
	char buf[64];
	size_t n = s ? strlen(s) : 0;
	unsigned int shift = 0;
	uint64_t v;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	switch (buf[n - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: break;
	}
	if (shift)
		buf[n - 1] = '\0';
	if (!parse_u64(buf, &v) || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = v << shift;
	return true;
}

bool parse_range(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (!parse_u64(s, &v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void sleep_us(uint64_t us)
{
	struct timespec ts = {
		.tv_sec = (time_t)(us / 1000000u),
		.tv_nsec = (long)(us % 1000000u) * 1000,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int write_file_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	size_t off = 0;
	ssize_t n;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			close(fd);
			unlink(tmp);
			return err;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}
