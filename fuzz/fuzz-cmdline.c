// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-cmdline - the client programs' shared command line: the options
 * dnbd-cat and dnbd-client both take (-b, -I, -p, --seg-size,
 * --cache-size), parsed by session_opt() in client/session.c inside a
 * getopt_long() loop built as the programs build theirs, then -b's
 * address list by session_parse_bind(), then the result handed to the
 * protocol core's dnbd_client_init() as session_open() does.  Also the
 * number parsers every command line uses (parse_u64, parse_size and
 * parse_range in common/util.c), on every argument.
 *
 * Input: the arguments, one per line, as for fuzz-config.
 *
 * Checks, beyond the sanitizers:
 * - the number parsers accept exactly what util.h documents ("decimal or
 *   0x-hex, whole string, no sign", K/M/G/T suffixes in powers of 1024,
 *   no overflow), compared with a plain reimplementation here;
 * - values session_opt() accepts are in their ranges;
 * - what session_parse_bind() accepts is one multicast group or 1..16
 *   unicast addresses, with the -p port, and dnbd_client_init() takes it;
 *   what it refuses comes with a message.
 */
#include <getopt.h>

#include "fuzz.h"
#include "session.h"
#include "util.h"

#define MAX_ARGS	256

/* The reference: digits only, "0x"/"0X" + hex digits, no overflow. */
static bool ref_u64(const char *s, uint64_t *out)
{
	unsigned int base = 10, d;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool ref_size(const char *s, uint64_t *out)
{
	static const char suffix[] = "kKmMgGtT";
	char buf[64];
	size_t n = strlen(s);
	unsigned int shift = 0;
	const char *p;
	uint64_t v;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	p = strchr(suffix, buf[n - 1]);
	if (p && *p) {
		shift = 10 * (unsigned int)(1 + (p - suffix) / 2);
		buf[n - 1] = '\0';
	}
	if (!ref_u64(buf, &v) || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = v << shift;
	return true;
}

static void check_numbers(const char *s)
{
	uint64_t a = 0, b = 0;
	bool ok;

	ok = parse_u64(s, &a);
	FUZZ_CHECK(ok == ref_u64(s, &b));
	FUZZ_CHECK(!ok || a == b);
	ok = parse_size(s, &a);
	FUZZ_CHECK(ok == ref_size(s, &b));
	FUZZ_CHECK(!ok || a == b);
	ok = parse_range(s, 512, 8900, &a);
	FUZZ_CHECK(ok == (ref_u64(s, &b) && b >= 512 && b <= 8900));
	FUZZ_CHECK(!ok || a == b);
}

static int env_send(void *ctx, const struct dnbd_addr *to, const void *buf,
		    size_t len)
{
	(void)ctx, (void)to, (void)buf, (void)len;
	return 0;
}

static void *env_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return calloc(1, len);
}

static void env_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static uint32_t env_random(void *ctx)
{
	(void)ctx;
	return 0x12345678;
}

static void env_read_done(void *ctx, struct dnbd_read *r, int err)
{
	(void)ctx, (void)r, (void)err;
}

static void check_bind(const struct session_opts *o)
{
	static const struct dnbd_env env = {
		.send = env_send, .alloc = env_alloc, .free = env_free,
		.random = env_random, .read_done = env_read_done,
	};
	static struct dnbd_client core;
	struct dnbd_client_cfg cfg;
	char err[256];
	unsigned int i;

	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	if (session_parse_bind(&cfg, o, err, sizeof(err))) {
		FUZZ_CHECK(err[0] && strlen(err) < sizeof(err));
		return;
	}
	if (cfg.multicast) {
		FUZZ_CHECK(cfg.n_unicast == 0);
		FUZZ_CHECK(addr_is_multicast(&cfg.group));
		FUZZ_CHECK(cfg.group.port == o->port);
	} else {
		FUZZ_CHECK(cfg.n_unicast >= 1 &&
			   cfg.n_unicast <= DNBD_MAX_SERVERS);
		for (i = 0; i < cfg.n_unicast; i++)
			FUZZ_CHECK(!addr_is_multicast(&cfg.unicast[i]) &&
				   cfg.unicast[i].family == 4 &&
				   cfg.unicast[i].port == o->port);
	}
	/* As session_open(). */
	cfg.seg_size = o->seg_size;
	cfg.cache_bytes = o->cache_bytes;
	if (cfg.cache_bytes > (1u << 20))
		cfg.cache_bytes = 1u << 20;	/* the harness's memory */
	FUZZ_CHECK(dnbd_client_init(&core, &cfg, &env) == 0);
	dnbd_client_fini(&core);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct session_opts so;
	char *argv[MAX_ARGS], *mem;
	FILE *out, *err;
	int argc, i, o, rc;

	if (size > 64 * 1024)
		return -1;
	argc = fuzz_argv(data, size, "dnbd-cat", argv, MAX_ARGS, &mem);
	for (i = 1; i < argc; i++)
		check_numbers(argv[i]);
	memset(&so, 0, sizeof(so));
	so.port = DNBD_DEFAULT_PORT;
	so.seg_size = DNBD_SEG_DEFAULT;
	so.cache_bytes = 64u << 20;
	optind = 0;
	fuzz_quiet(&out, &err);
	while ((o = getopt_long(argc, argv, SESSION_SHORT_OPTS "vVh", opts,
				NULL)) != -1) {
		rc = session_opt(&so, o, optarg);
		FUZZ_CHECK(rc >= -1 && rc <= 1);
		if (rc < 0)
			break;		/* the programs stop here */
	}
	fuzz_loud(out, err);
	FUZZ_CHECK(so.port >= 1);
	FUZZ_CHECK(so.seg_size >= DNBD_SEG_MIN && so.seg_size <= DNBD_SEG_MAX);
	FUZZ_CHECK(so.cache_bytes <= (4ull << 30));
	if (so.bind)
		check_bind(&so);
	free(mem);
	return 0;
}
