// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-fec - proto/fec.c's decoder, dnbd_fec_decode(), on arbitrary
 * arguments.
 *
 * Input: a control byte, k, h, len, then h bytes of missing indices, h
 * bytes of parity indices, then the data (cycled, and mixed with the
 * symbol's number, to fill every data symbol).
 * - control bit 0 set: the arguments are repaired into valid ones first:
 *   k = 1 + k % 128, h = 1 + h % k, missing indices taken modulo k (the
 *   first unused one where they repeat) and sorted, parity indices modulo
 *   128 (likewise distinct), so most inputs decode;
 * - control bits 1-2: the workspace is DNBD_FEC_WORK_LEN(h) bytes, one
 *   less, 5 more, or none (a NULL pointer; with bit 0, always enough);
 * - len is the byte modulo 65.
 *
 * Checks, beyond the sanitizers:
 * - the harness decides on its own whether the arguments are valid (k
 *   1..128, h 1..k, missing strictly increasing below k, parity indices
 *   distinct below 128, enough workspace); if so, the decoder returns 0,
 *   every data symbol equals the original and the parity is unchanged;
 * - if not, it returns -1 and no symbol buffer changed.
 * FUZZ_VERBOSE=1 prints k, h, len, the workspace, the harness's verdict
 * and the decoder's.  Every array is an exact-size heap block sized to what the harness
 * really passes (k data pointers, at most 128; h indices), so ASan sees
 * any read past one.
 */
#include "fuzz.h"
#include "dnbd_fec.h"

#define MAXD	DNBD_FEC_MAX_DATA
#define MAXP	DNBD_FEC_MAX_PARITY

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

/* The first value not in used[] from v on (mod n), marked used. */
static uint8_t take(bool *used, unsigned int v, unsigned int n)
{
	while (used[v % n])
		v++;
	used[v % n] = true;
	return (uint8_t)(v % n);
}

static bool args_valid(unsigned int k, unsigned int h, const uint8_t *missing,
		       const uint8_t *pidx, size_t work_len, bool work)
{
	bool seen[256] = { false };
	unsigned int i;

	if (k < 1 || k > MAXD || h < 1 || h > k || !work ||
	    work_len < 2 * (size_t)h)
		return false;
	for (i = 0; i < h; i++) {
		if (missing[i] >= k || (i && missing[i] <= missing[i - 1]))
			return false;
		if (pidx[i] >= MAXP || seen[pidx[i]])
			return false;
		seen[pidx[i]] = true;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int verbose = -1;
	struct fuzz_in in = { data, size };
	uint8_t ctl = fuzz_u8(&in);
	unsigned int k = fuzz_u8(&in), h = fuzz_u8(&in);
	size_t len = fuzz_u8(&in) % 65, work_len, n;
	unsigned int nd, i;
	uint8_t *missing, *pidx, *work = NULL, **d, **orig;
	const uint8_t **par;
	uint8_t **pbuf, **porig;
	bool valid;
	int rc;

	if (ctl & 1) {
		k = 1 + k % MAXD;
		h = 1 + h % k;
	}
	missing = xmalloc(h);
	pidx = xmalloc(h);
	memset(missing, 0, h);
	memset(pidx, 0, h);
	fuzz_bytes(&in, missing, h);
	fuzz_bytes(&in, pidx, h);
	if (ctl & 1) {
		bool used_m[MAXD] = { false }, used_p[MAXP] = { false };
		unsigned int a, b;

		for (i = 0; i < h; i++) {
			missing[i] = take(used_m, missing[i], k);
			pidx[i] = take(used_p, pidx[i], MAXP);
		}
		for (a = 1; a < h; a++)
			for (b = a; b > 0 && missing[b - 1] > missing[b]; b--) {
				uint8_t t = missing[b];

				missing[b] = missing[b - 1];
				missing[b - 1] = t;
			}
	}
	work_len = DNBD_FEC_WORK_LEN(h);
	switch ((ctl >> 1) & 3) {
	case 1:
		if (!(ctl & 1) && work_len)
			work_len--;
		break;
	case 2:
		work_len += 5;
		break;
	case 3:
		if (!(ctl & 1))
			work_len = 0;
		break;
	}
	if (work_len)
		work = xmalloc(work_len);
	valid = args_valid(k, h, missing, pidx, work_len, work != NULL);

	/* The block: data symbols from the rest of the input. */
	nd = k < MAXD ? k : MAXD;
	d = xmalloc(nd * sizeof(*d));
	orig = xmalloc(nd * sizeof(*orig));
	for (i = 0; i < nd; i++) {
		d[i] = xmalloc(len);
		orig[i] = xmalloc(len);
		for (n = 0; n < len; n++)
			orig[i][n] = (uint8_t)(in.left ?
				in.p[(i * len + n) % in.left] ^ i :
				fuzz_pattern(i, n));
		memcpy(d[i], orig[i], len);
	}
	/* The parity, correct where the index and k allow it. */
	par = xmalloc(h * sizeof(*par));
	pbuf = xmalloc(h * sizeof(*pbuf));
	porig = xmalloc(h * sizeof(*porig));
	for (i = 0; i < h; i++) {
		pbuf[i] = xmalloc(len);
		porig[i] = xmalloc(len);
		if (!dnbd_fec_encode(k, (const uint8_t *const *)orig, len,
				     pidx[i], pbuf[i]))
			memset(pbuf[i], 0x3c, len);
		memcpy(porig[i], pbuf[i], len);
		par[i] = pbuf[i];
	}
	/* Lose the missing symbols (when they are symbols at all). */
	if (valid)
		for (i = 0; i < h; i++)
			memset(d[missing[i]], 0xee, len);

	rc = dnbd_fec_decode(k, d, missing, h, par, pidx, len, work,
			     work_len);

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "k %u h %u len %zu work %zu: %s, decode %d\n",
			k, h, len, work_len, valid ? "valid" : "invalid", rc);
	FUZZ_CHECK(rc == (valid ? 0 : -1));
	for (i = 0; i < nd; i++)
		FUZZ_CHECK(!memcmp(d[i], orig[i], len));
	for (i = 0; i < h; i++)
		FUZZ_CHECK(!memcmp(pbuf[i], porig[i], len));

	for (i = 0; i < h; i++) {
		free(pbuf[i]);
		free(porig[i]);
	}
	for (i = 0; i < nd; i++) {
		free(d[i]);
		free(orig[i]);
	}
	free(par);
	free(pbuf);
	free(porig);
	free(d);
	free(orig);
	free(work);
	free(missing);
	free(pidx);
	return 0;
}
