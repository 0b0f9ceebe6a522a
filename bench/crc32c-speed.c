// SPDX-License-Identifier: GPL-2.0
/*
 * crc32c-speed.c - MB/s of each CRC32C variant on 1400-byte segments and
 * on 64 KiB buffers (the best of five 0.1 s windows each).  A benchmark: it
 * prints figures and asserts nothing.
 * Built by make (build/bench/crc32c-speed).
 */
#include <stdio.h>
#include <time.h>

#include "dnbd_wire.h"

int main(void);

static uint8_t buf[1 << 20];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The best of five 0.1 s windows, so a busy machine disturbs it less. */
static void run(const char *name, size_t chunk)
{
	volatile uint32_t sink = 0;
	double best = 0, t0, t;
	size_t total, off;
	int round;

	for (round = 0; round < 5; round++) {
		total = 0;
		t0 = now_s();
		do {
			for (off = 0; off + chunk <= sizeof(buf); off += chunk)
				sink ^= dnbd_crc32c(0, buf + off, chunk);
			total += sizeof(buf) / chunk * chunk;
			t = now_s() - t0;
		} while (t < 0.1);
		if ((double)total / t > best)
			best = (double)total / t;
	}
	printf("%-7s %6zu-byte buffers: %8.0f MB/s\n", name, chunk, best / 1e6);
	(void)sink;
}

int main(void)
{
	static const int variants[] = { DNBD_CRC32C_TABLE, DNBD_CRC32C_SSE42 };
	static const char *const names[] = { "table", "sse4.2" };
	unsigned int i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (i = 0; i < 2; i++) {
		if (!dnbd_crc32c_select(variants[i])) {
			printf("%-7s not supported by this CPU\n", names[i]);
			continue;
		}
		run(names[i], 1400);
		run(names[i], 65536);
	}
	return 0;
}
