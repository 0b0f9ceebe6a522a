/* SPDX-License-Identifier: GPL-2.0 */
/*
 * keyfile.h - the lab key file of --key-file (docs/security.md): exactly
 * 32 raw bytes (head -c32 /dev/urandom > lab.key), or 64 hex digits with
 * optional surrounding white space (a trailing newline is fine).
 */
#ifndef DNBD_KEYFILE_H
#define DNBD_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "dnbd_wire.h"

/* Returns 0, or -1 with a message in err.  Warns (log_err) when the file
 * is readable by group or others. */
int key_file_load(const char *path, uint8_t raw[DNBD_KEY_LEN], char *err,
		  size_t errlen);
/* 64 hex digits into raw; false on anything else. */
int key_parse_hex(const char *s, size_t len, uint8_t raw[DNBD_KEY_LEN]);

#endif
