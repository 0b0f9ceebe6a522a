// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-config - dnbd-server's configuration: config_parse() in
 * daemon/config.c, which reads the command line, including the -d
 * PATH[,name=N][,group=G][,rev=R] specs.  The systemd unit's config file
 * (/etc/dnbd/<instance>.conf) is a systemd EnvironmentFile whose
 * DNBD_ARGS systemd splits at white space into this same argv; dnbd-server
 * has no other configuration parser.
 *
 * Input: the arguments, one per line ('\n' separates them, so arguments
 * may hold spaces and any other byte but '\n' and NUL; a NUL ends the
 * argument early, as it would in a real argv).  argv[0] is "dnbd-server".
 *
 * Checks, beyond the sanitizers: config_parse() returns -1, 0 or 1, and
 * when it returns 0 every value in struct srv_config is one the rest of
 * the server may trust (config.c's promise): an id, one to 64 images with
 * valid unique names and a path, groups that are multicast groups in
 * multicast mode and the -m address otherwise, ports, ranges.
 */
#include <getopt.h>
#include <limits.h>

#include "fuzz.h"
#include "server.h"
#include "util.h"

#define MAX_ARGS	256

static bool valid_name(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > DNBD_NAME_MAX || s[n] != '\0')
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

static void check(const struct srv_config *cfg)
{
	unsigned int i, j;

	FUZZ_CHECK(cfg->id >= 1);
	FUZZ_CHECK(cfg->n_images >= 1 && cfg->n_images <= MAX_IMAGES);
	FUZZ_CHECK(cfg->threads >= 1 && cfg->threads <= 64);
	FUZZ_CHECK(cfg->port >= 1);
	FUZZ_CHECK(cfg->ttl >= 1 && cfg->ttl <= 255);
	FUZZ_CHECK(cfg->seg_max >= DNBD_SEG_MIN &&
		   cfg->seg_max <= DNBD_SEG_MAX);
	FUZZ_CHECK(cfg->dedup_us <= 10000000);
	FUZZ_CHECK(cfg->announce_us <= 3600000000u);
	FUZZ_CHECK(cfg->mcast.family == 4 && cfg->mcast.port == cfg->port);
	FUZZ_CHECK(cfg->multicast == addr_is_multicast(&cfg->mcast));
	for (i = 0; i < cfg->n_images; i++) {
		const struct image *img = &cfg->images[i];
		size_t plen = strnlen(img->path, sizeof(img->path));

		FUZZ_CHECK(plen >= 1 && plen < sizeof(img->path));
		FUZZ_CHECK(strchr(img->path, ',') == NULL);
		FUZZ_CHECK(img->name_len == strnlen(img->name,
						    sizeof(img->name)));
		FUZZ_CHECK(valid_name(img->name, img->name_len));
		FUZZ_CHECK(img->fd == -1);
		FUZZ_CHECK(img->group.family == 4 &&
			   img->group.port == cfg->port);
		if (cfg->multicast)
			FUZZ_CHECK(addr_is_multicast(&img->group));
		else
			FUZZ_CHECK(addr_equal(&img->group, &cfg->mcast) &&
				   !img->group_set);
		if (cfg->rev_set)
			FUZZ_CHECK(img->rev_set);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(cfg->images[j].name, img->name));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct srv_config cfg;
	char *argv[MAX_ARGS], *mem;
	FILE *out, *err;
	int argc, rc;

	if (size > 64 * 1024)
		return -1;
	log_init("fuzz-config", -1);
	argc = fuzz_argv(data, size, "dnbd-server", argv, MAX_ARGS, &mem);
	optind = 0;		/* a fresh getopt scan */
	fuzz_quiet(&out, &err);
	rc = config_parse(&cfg, argc, argv);
	fuzz_loud(out, err);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc == 0)
		check(&cfg);
	free(mem);
	return 0;
}
