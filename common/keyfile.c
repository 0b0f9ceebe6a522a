// SPDX-License-Identifier: GPL-2.0
/* keyfile.c - read the lab key of --key-file (keyfile.h). */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int key_parse_hex(const char *s, size_t len, uint8_t raw[DNBD_KEY_LEN])
{
	size_t i;

	while (len && is_space(*s)) {
		s++;
		len--;
	}
	while (len && is_space(s[len - 1]))
		len--;
	if (len != 2 * DNBD_KEY_LEN)
		return 0;
	for (i = 0; i < DNBD_KEY_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return 0;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	return 1;
}

int key_file_load(const char *path, uint8_t raw[DNBD_KEY_LEN], char *err,
		  size_t errlen)
{
	char buf[256];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "--key-file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (!fstat(fd, &st) && (st.st_mode & 077))
		log_err("warning: key file %s is readable by other users "
			"(chmod 600 it)", path);
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == DNBD_KEY_LEN) {
		memcpy(raw, buf, DNBD_KEY_LEN);
	} else if (!key_parse_hex(buf, len, raw)) {
		snprintf(err, errlen, "--key-file %s: want 32 raw bytes or "
			 "64 hex digits, found %zu bytes of something else",
			 path, len);
		memset(buf, 0, sizeof(buf));
		return -1;
	}
	memset(buf, 0, sizeof(buf));
	return 0;
}
