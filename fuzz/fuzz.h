/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fuzz.h - helpers shared by the libFuzzer harnesses in fuzz/ (see
 * fuzz/README.md).  Header-only: every harness is one .c file plus the
 * project's own sources.
 */
#ifndef DNBD_FUZZ_H
#define DNBD_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnbd_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test broke: report and crash, so that
 * libFuzzer saves the input (assert() would vanish under -DNDEBUG). */
#define FUZZ_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant failed: %s\n",\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

/* A byte stream the harness takes its decisions from. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t hi = fuzz_u16(in);

	return hi << 16 | fuzz_u16(in);
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t hi = fuzz_u32(in);

	return hi << 32 | fuzz_u32(in);
}

/* Up to n bytes; returns how many there were. */
static inline size_t fuzz_bytes(struct fuzz_in *in, uint8_t *out, size_t n)
{
	if (n > in->left)
		n = in->left;
	memcpy(out, in->p, n);
	in->p += n;
	in->left -= n;
	return n;
}

/* Big-endian field access on a raw datagram. */
static inline uint16_t fz_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t fz_get32(const uint8_t *p)
{
	return (uint32_t)fz_get16(p) << 16 | fz_get16(p + 2);
}

static inline uint64_t fz_get64(const uint8_t *p)
{
	return (uint64_t)fz_get32(p) << 32 | fz_get32(p + 4);
}

static inline void fz_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void fz_put32(uint8_t *p, uint32_t v)
{
	fz_put16(p, (uint16_t)(v >> 16));
	fz_put16(p + 2, (uint16_t)v);
}

static inline void fz_put64(uint8_t *p, uint64_t v)
{
	fz_put32(p, (uint32_t)(v >> 32));
	fz_put32(p + 4, (uint32_t)v);
}

/*
 * Mutations almost never keep the length field and the CRC right, so a
 * harness normally repairs both before it hands a datagram over: that is
 * what a forger does, and it lets the fuzzer reach the body checks.
 */
static inline void fuzz_fix_dgram(uint8_t *buf, size_t len)
{
	if (len >= DNBD_HDR_LEN && len <= 0xffff)
		fz_put16(buf + 14, (uint16_t)len);
	if (len >= 12)
		dnbd_seal(buf, len);
}

/*
 * The image content the harnesses use: a byte that depends on the image
 * id and the absolute offset, so bytes delivered for the wrong offset or
 * from the wrong image show up as a mismatch.
 */
static inline uint8_t fuzz_pattern(uint64_t image_id, uint64_t off)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ image_id;

	x ^= x >> 29;
	return (uint8_t)(x ^ (x >> 17) ^ off);
}

static inline void fuzz_fill(uint8_t *p, size_t n, uint64_t image_id,
			     uint64_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = fuzz_pattern(image_id, off + i);
}

/* Index of the first byte that differs from the pattern, or n. */
static inline size_t fuzz_check_fill(const uint8_t *p, size_t n,
				     uint64_t image_id, uint64_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != fuzz_pattern(image_id, off + i))
			return i;
	return n;
}

/*
 * Splits text at '\n' into argv (argv[0] = prog), each argument a copy
 * in one allocation: *mem is what to free.  At most max - 1 entries, the
 * last is NULL.
 */
static inline int fuzz_argv(const uint8_t *data, size_t size,
			    const char *prog, char **argv, int max,
			    char **mem)
{
	char *s = malloc(size + 1);
	int argc = 1;
	size_t i, start = 0;

	*mem = s;
	argv[0] = (char *)prog;
	if (!s) {
		argv[1] = NULL;
		return 1;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i <= size && argc < max - 1; i++) {
		if (i < size && s[i] != '\n')
			continue;
		s[i] = '\0';
		argv[argc++] = s + start;
		start = i + 1;
	}
	argv[argc] = NULL;
	return argc;
}

/* Messages of the parsers go to /dev/null unless FUZZ_VERBOSE is set;
 * sanitizer reports still reach stderr (they write to fd 2 directly). */
static inline void fuzz_quiet(FILE **saved_out, FILE **saved_err)
{
	static FILE *null;

	*saved_out = stdout;
	*saved_err = stderr;
	if (getenv("FUZZ_VERBOSE"))
		return;
	if (!null)
		null = fopen("/dev/null", "w");
	if (null) {
		stdout = null;
		stderr = null;
	}
}

static inline void fuzz_loud(FILE *saved_out, FILE *saved_err)
{
	stdout = saved_out;
	stderr = saved_err;
}

#endif
