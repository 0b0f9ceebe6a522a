// SPDX-License-Identifier: GPL-2.0
/*
 * test-fec.c - proto/fec.c, the Cauchy Reed-Solomon erasure code, against
 * plain arithmetic written here: bitwise carry-less multiplication modulo
 * 0x11d and brute-force inverses.
 *
 * - every product c * b through dnbd_fec_addmul (short and long
 *   buffers), every coefficient c(j, i) = 1 / (x_j + y_i);
 * - addmul at every length to 1100 and start alignment 0..7, no byte
 *   written past the end (the buffers are exact-size heap blocks);
 * - the encoder against a reference encoder, incremental encoding;
 * - every erasure pattern of up to m of the k + m symbols: k = 1..128
 *   with m = min(k, 2), and k = 1..10 with m = 4; random patterns with up
 *   to 32 lost symbols and random parity indices, and k = 128 with all
 *   128 data symbols lost;
 * - bad arguments give -1 and touch nothing (arrays sized to what is
 *   really there, so ASan sees any read past them);
 * - all of the above once for each addmul variant this CPU runs
 *   (dnbd_fec_select(): the table path, SSSE3, AVX2), the exhaustive
 *   patterns with longer symbols for the SIMD variants so that their
 *   vector steps and tails decode too;
 * - every variant against the bitwise products for every coefficient at
 *   every length to 300 and at 1400 and 8900 bytes, dst and src at
 *   offsets 0..31 of exact-size heap blocks.
 */
#include <string.h>

#include "check.h"
#include "dnbd_fec.h"

int main(void);

#define MAXD	DNBD_FEC_MAX_DATA
#define MAXP	DNBD_FEC_MAX_PARITY

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void rnd_fill(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)rnd();
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	return p;
}

/* The field, the slow way. */
static uint8_t ref_mul(uint8_t a, uint8_t b)
{
	unsigned int r = 0, x = a, i;

	for (i = 0; i < 8; i++)
		if (b & 1u << i)
			r ^= x << i;
	for (i = 15; i >= 8; i--)
		if (r & 1u << i)
			r ^= 0x11du << (i - 8);
	return (uint8_t)r;
}

static uint8_t ref_inv_tab[256];

static void ref_init(void)
{
	unsigned int a, b, n;

	for (a = 1; a < 256; a++) {
		for (b = 1, n = 0; b < 256; b++)
			if (ref_mul((uint8_t)a, (uint8_t)b) == 1) {
				ref_inv_tab[a] = (uint8_t)b;
				n++;
			}
		CHECK_EQ(n, 1);
	}
}

static uint8_t ref_coef(unsigned int j, unsigned int i)
{
	return ref_inv_tab[(128 + j) ^ i];
}

static void ref_encode(unsigned int k, uint8_t *const *data, size_t len,
		       unsigned int j, uint8_t *out)
{
	size_t n;
	unsigned int i;

	memset(out, 0, len);
	for (i = 0; i < k; i++)
		for (n = 0; n < len; n++)
			out[n] ^= ref_mul(ref_coef(j, i), data[i][n]);
}

static void test_field(void)
{
	uint8_t src[1024], dst[1024], want[1024];
	unsigned int c, n, i, j, bad = 0;

	for (n = 0; n < sizeof(src); n++)
		src[n] = (uint8_t)(n * 7 + n / 256);
	/*
	 * Every product: the table path takes its log loop for 256 bytes,
	 * its row for 1024.
	 */
	for (c = 0; c < 256; c++) {
		size_t len;

		for (len = 256; len <= 1024; len += 768) {
			rnd_fill(dst, len);
			for (n = 0; n < len; n++)
				want[n] = dst[n] ^ ref_mul((uint8_t)c, src[n]);
			dnbd_fec_addmul(dst, src, (uint8_t)c, len);
			if (memcmp(dst, want, len)) {
				bad++;
				fprintf(stderr, "addmul c=%u len=%zu wrong\n",
					c, len);
			}
		}
	}
	CHECK_EQ(bad, 0);
	for (j = 0, bad = 0; j < MAXP; j++)
		for (i = 0; i < MAXD; i++) {
			uint8_t c1 = dnbd_fec_coef(j, i);

			if (c1 != ref_coef(j, i) ||
			    ref_mul(c1, (uint8_t)((128 + j) ^ i)) != 1)
				bad++;
		}
	CHECK_EQ(bad, 0);
	CHECK_EQ(dnbd_fec_coef(MAXP, 0), 0);
	CHECK_EQ(dnbd_fec_coef(0, MAXD), 0);
	CHECK_EQ(dnbd_fec_coef(~0u, 3), 0);
	CHECK_EQ(dnbd_fec_coef(3, ~0u), 0);
	/*
	 * Fixed values, so the reference cannot share a mistake with the
	 * code: x * x^7 = x^4 + x^3 + x^2 + 1 (0x1d), 1/x = 0x8e, and
	 * x^7 * (x^4 + x^3 + x + 1) = 1, so c(0, 0) = 1/0x80 = 0x1b;
	 * c(0, 1) = 1/0x81 = 0x54, c(127, 0) = 1/0xff = 0xfd.
	 */
	CHECK_EQ(ref_mul(2, 0x80), 0x1d);
	CHECK_EQ(ref_inv_tab[2], 0x8e);
	CHECK_EQ(dnbd_fec_coef(0, 0), 0x1b);
	CHECK_EQ(dnbd_fec_coef(0, 1), 0x54);
	CHECK_EQ(dnbd_fec_coef(127, 0), 0xfd);
}

/* Every length and alignment; nothing written before or after. */
static void test_addmul_lengths(void)
{
	static const uint8_t cs[] = { 0, 1, 2, 0x80, 0x8e, 0xff };
	unsigned int ci, off, bad = 0;
	size_t len, n;

	for (ci = 0; ci < sizeof(cs); ci++)
		for (off = 0; off < 8; off++)
			for (len = 0; len <= 1100; len += (len < 80 ? 1 : 13)) {
				uint8_t *s = xmalloc(off + len);
				uint8_t *d = xmalloc(off + len);
				uint8_t *w = xmalloc(off + len);

				rnd_fill(s, off + len);
				rnd_fill(d, off + len);
				memcpy(w, d, off + len);
				for (n = 0; n < len; n++)
					w[off + n] ^= ref_mul(cs[ci],
							      s[off + n]);
				dnbd_fec_addmul(d + off, s + off, cs[ci], len);
				if (memcmp(d, w, off + len))
					bad++;
				free(s);
				free(d);
				free(w);
			}
	CHECK_EQ(bad, 0);
}

static uint8_t **alloc_syms(unsigned int n, size_t len)
{
	uint8_t **p = xmalloc(n * sizeof(*p));
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = xmalloc(len);
	return p;
}

static void free_syms(uint8_t **p, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		free(p[i]);
	free(p);
}

static void test_encode(void)
{
	static const unsigned int ks[] = { 1, 2, 3, 7, 31, 64, 127, 128 };
	static const unsigned int js[] = { 0, 1, 5, 63, 127 };
	static const size_t lens[] = { 1, 13, 64, 600, 1400 };
	unsigned int ki, ji, li, i, bad = 0;
	uint8_t **d = alloc_syms(MAXD, 1400);
	uint8_t *out = xmalloc(1400), *want = xmalloc(1400);
	uint8_t *inc = xmalloc(1400);

	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li];

		for (i = 0; i < MAXD; i++)
			rnd_fill(d[i], len);
		for (ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++)
			for (ji = 0; ji < sizeof(js) / sizeof(js[0]); ji++) {
				unsigned int k = ks[ki], j = js[ji];

				ref_encode(k, d, len, j, want);
				rnd_fill(out, len);
				CHECK(dnbd_fec_encode(k,
					(const uint8_t *const *)d, len, j,
					out));
				if (memcmp(out, want, len))
					bad++;
				/* Incrementally, symbol by symbol. */
				memset(inc, 0, len);
				for (i = 0; i < k; i++)
					dnbd_fec_addmul(inc, d[i],
							dnbd_fec_coef(j, i),
							len);
				if (memcmp(inc, want, len))
					bad++;
			}
	}
	CHECK_EQ(bad, 0);
	/* Refused, and out untouched. */
	memset(out, 0xa5, 16);
	memset(want, 0xa5, 16);
	CHECK(!dnbd_fec_encode(0, (const uint8_t *const *)d, 16, 0, out));
	CHECK(!dnbd_fec_encode(MAXD + 1, (const uint8_t *const *)d, 16, 0,
			       out));
	CHECK(!dnbd_fec_encode(1, (const uint8_t *const *)d, 16, MAXP, out));
	CHECK(!memcmp(out, want, 16));
	free_syms(d, MAXD);
	free(out);
	free(want);
	free(inc);
}

/* A block: k data symbols, parity for the indices in pj[0..m-1]. */
struct blk {
	unsigned int k, m;
	size_t len;
	uint8_t **orig, **data, **par;
	uint8_t pj[MAXP];
	unsigned int decodes, bad;
};

static void blk_init(struct blk *b, unsigned int k, unsigned int m,
		     const uint8_t *pj, size_t len)
{
	unsigned int i;

	b->k = k;
	b->m = m;
	b->len = len;
	b->orig = alloc_syms(k, len);
	b->data = alloc_syms(k, len);
	b->par = alloc_syms(m, len);
	for (i = 0; i < k; i++) {
		rnd_fill(b->orig[i], len);
		memcpy(b->data[i], b->orig[i], len);
	}
	for (i = 0; i < m; i++) {
		b->pj[i] = pj[i];
		CHECK(dnbd_fec_encode(k, (const uint8_t *const *)b->orig, len,
				      pj[i], b->par[i]));
	}
}

static void blk_free(struct blk *b)
{
	free_syms(b->orig, b->k);
	free_syms(b->data, b->k);
	free_syms(b->par, b->m);
}

/*
 * Lose the data symbols missing[0..h-1] (garbage in their buffers),
 * rebuild them from the parity symbols b->par[use[0..h-1]], compare the
 * whole block.  Work is an exact-size heap block.
 */
static void blk_decode(struct blk *b, const uint8_t *missing, unsigned int h,
		       const unsigned int *use)
{
	const uint8_t *par[MAXP];
	uint8_t pidx[MAXP], *work;
	unsigned int i;
	int rc;

	for (i = 0; i < h; i++) {
		rnd_fill(b->data[missing[i]], b->len);
		par[i] = b->par[use[i]];
		pidx[i] = b->pj[use[i]];
	}
	work = xmalloc(DNBD_FEC_WORK_LEN(h));
	rc = dnbd_fec_decode(b->k, b->data, missing, h, par, pidx, b->len,
			     work, DNBD_FEC_WORK_LEN(h));
	free(work);
	b->decodes++;
	if (rc != 0) {
		b->bad++;
	} else {
		for (i = 0; i < b->k; i++)
			if (memcmp(b->data[i], b->orig[i], b->len))
				break;
		if (i < b->k)
			b->bad++;
	}
	if (rc != 0 || i < b->k) {
		fprintf(stderr, "decode k=%u len=%zu h=%u rc=%d: missing",
			b->k, b->len, h, rc);
		for (i = 0; i < h; i++)
			fprintf(stderr, " %u/p%u", missing[i], pidx[i]);
		fprintf(stderr, "\n");
		for (i = 0; i < b->k; i++)
			memcpy(b->data[i], b->orig[i], b->len);
	}
}

/*
 * Every set of up to b->m erased symbols among the k + m (data first,
 * then parity): rebuild the data from what is left.  alt picks the
 * surviving parity in reverse order every other time, so pidx is not
 * always increasing.
 */
static void blk_patterns(struct blk *b, unsigned int start,
			 unsigned int *er, unsigned int ne)
{
	uint8_t missing[MAXD];
	unsigned int use[MAXP], h = 0, np = 0, i, j;
	bool lost[MAXP] = { false };

	for (i = 0; i < ne; i++) {
		if (er[i] < b->k)
			missing[h++] = (uint8_t)er[i];
		else
			lost[er[i] - b->k] = true;
	}
	if (h) {
		for (j = 0; j < b->m; j++) {
			unsigned int p = b->decodes & 1 ? b->m - 1 - j : j;

			if (!lost[p] && np < h)
				use[np++] = p;
		}
		CHECK_EQ(np, h);
		blk_decode(b, missing, h, use);
	} else {
		for (i = 0; i < b->k; i++)
			if (memcmp(b->data[i], b->orig[i], b->len))
				b->bad++;
	}
	if (ne == b->m)
		return;
	for (i = start; i < b->k + b->m; i++) {
		er[ne] = i;
		blk_patterns(b, i + 1, er, ne + 1);
	}
}

/*
 * Symbols of 4..16 bytes take the table path's short loop; the SIMD
 * variants get 4..64 bytes, under a vector, one, two and then some.
 * The table path decodes every block size; the SIMD variants, whose
 * products test_addmul_variant() checks on their own, blocks of up to 32
 * symbols and of 64, 127 and 128 (the k = 33..126 blocks are nine tenths
 * of the decodes, and ASan's run must stay short).
 */
static void test_exhaustive(bool simd)
{
	static const uint8_t pj2[] = { 0, 1 };
	static const uint8_t pj4[] = { 0, 5, 64, 127 };
	unsigned int k, er[4], decodes = 0, bad = 0;
	struct blk b;

	for (k = 1; k <= MAXD; k++) {
		if (simd && k > 32 && k != 64 && k < MAXD - 1)
			continue;
		blk_init(&b, k, k < 2 ? k : 2, pj2,
			 simd ? 4 + k % 61 : 4 + k % 13);
		b.decodes = 0;
		b.bad = 0;
		blk_patterns(&b, 0, er, 0);
		decodes += b.decodes;
		bad += b.bad;
		blk_free(&b);
	}
	for (k = 1; k <= 10; k++) {
		blk_init(&b, k, 4, pj4, simd ? 5 + 6 * k : 5 + k);
		b.decodes = 0;
		b.bad = 0;
		blk_patterns(&b, 0, er, 0);
		decodes += b.decodes;
		bad += b.bad;
		blk_free(&b);
	}
	fprintf(stderr, "exhaustive: %u decodes\n", decodes);
	CHECK_EQ(bad, 0);
	CHECK(decodes > (simd ? 30000u : 300000u));
}

/* h distinct random values below n, in random order. */
static void rnd_subset(uint8_t *out, unsigned int h, unsigned int n)
{
	bool used[256] = { false };
	unsigned int i, v;

	for (i = 0; i < h; i++) {
		do
			v = rnd() % n;
		while (used[v]);
		used[v] = true;
		out[i] = (uint8_t)v;
	}
}

static void sort_u8(uint8_t *p, unsigned int n)
{
	unsigned int i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && p[j - 1] > p[j]; j--) {
			uint8_t t = p[j];

			p[j] = p[j - 1];
			p[j - 1] = t;
		}
}

static void random_one(unsigned int k, unsigned int h, size_t len,
		       unsigned int *decodes, unsigned int *bad)
{
	uint8_t pj[MAXP], missing[MAXD];
	unsigned int use[MAXP], i;
	struct blk b;

	rnd_subset(pj, h, MAXP);
	rnd_subset(missing, h, k);
	sort_u8(missing, h);
	blk_init(&b, k, h, pj, len);
	for (i = 0; i < h; i++)
		use[i] = i;
	b.decodes = 0;
	b.bad = 0;
	blk_decode(&b, missing, h, use);
	*decodes += b.decodes;
	*bad += b.bad;
	blk_free(&b);
}

static void test_random(void)
{
	unsigned int t, decodes = 0, bad = 0;

	for (t = 0; t < 1500; t++) {
		unsigned int h = 1 + rnd() % 32;
		unsigned int k = h + rnd() % (MAXD - h + 1);
		size_t len = t % 50 ? 1 + rnd() % 40 : 500 + rnd() % 1000;

		random_one(k, h, len, &decodes, &bad);
	}
	/* Everything lost: 128 data symbols from 128 parity symbols. */
	random_one(MAXD, MAXD, 1400, &decodes, &bad);
	for (t = 0; t < 4; t++)
		random_one(MAXD, MAXD - rnd() % 8, 1 + rnd() % 64, &decodes,
			   &bad);
	random_one(MAXD, 100, 777, &decodes, &bad);
	fprintf(stderr, "random: %u decodes\n", decodes);
	CHECK_EQ(bad, 0);
}

/* Decode with bad arguments: -1, no symbol touched. */
static int bad_call(struct blk *b, unsigned int k, uint8_t *const *data,
		    const uint8_t *missing, unsigned int h,
		    const uint8_t *const *par, const uint8_t *pidx,
		    size_t work_len)
{
	uint8_t *work = work_len ? xmalloc(work_len) : NULL;
	unsigned int i;
	int rc;

	rc = dnbd_fec_decode(k, data, missing, h, par, pidx, b->len, work,
			     work_len);
	free(work);
	for (i = 0; i < b->k; i++)
		CHECK(!memcmp(b->data[i], b->orig[i], b->len));
	return rc;
}

/* A heap copy of n bytes, so ASan sees a read past n. */
static uint8_t *dup_u8(const uint8_t *p, unsigned int n)
{
	uint8_t *q = xmalloc(n);

	memcpy(q, p, n);
	return q;
}

static void test_bad_args(void)
{
	static const uint8_t pj[] = { 3, 9, 127, 0 };
	const uint8_t *par[4], *cpar[1];
	uint8_t *m, *p, **dp, *work;
	uint8_t **d129;
	struct blk b;
	unsigned int i;
	size_t wl = DNBD_FEC_WORK_LEN(3);

	blk_init(&b, 6, 4, pj, 9);
	for (i = 0; i < 4; i++)
		par[i] = b.par[i];
#define M(...) (m = dup_u8((const uint8_t[]){ __VA_ARGS__ },		\
			   sizeof((const uint8_t[]){ __VA_ARGS__ })))
#define P(...) (p = dup_u8((const uint8_t[]){ __VA_ARGS__ },		\
			   sizeof((const uint8_t[]){ __VA_ARGS__ })))
#define BAD(k, h, wl) do {						\
	CHECK_EQ(bad_call(&b, k, b.data, m, h, par, p, wl), -1);	\
	free(m);							\
	free(p);							\
} while (0)
	/* The valid call the others bend (done last, it rebuilds). */
	M(1, 2, 5); P(3, 9, 127);
	BAD(6, 0, wl);				/* h = 0 */
	M(0, 1, 2, 3, 4, 5); P(3, 9, 127, 0);
	BAD(6, 7, DNBD_FEC_WORK_LEN(7));	/* h > k (arrays of 6, 4) */
	M(1, 2, 5); P(3, 9, 127);
	BAD(6, 3, wl - 1);			/* work too small */
	M(1, 1, 5); P(3, 9, 127);
	BAD(6, 3, wl);				/* duplicate missing */
	M(2, 1, 5); P(3, 9, 127);
	BAD(6, 3, wl);				/* unsorted missing */
	M(1, 2, 6); P(3, 9, 127);
	BAD(6, 3, wl);				/* missing >= k */
	M(1, 2, 255); P(3, 9, 127);
	BAD(6, 3, wl);
	M(1, 2, 5); P(3, 9, 3);
	BAD(6, 3, wl);				/* duplicate pidx */
	M(1, 2, 5); P(3, 128, 9);
	BAD(6, 3, wl);				/* pidx >= 128 */
	M(1, 2, 5); P(3, 9, 255);
	BAD(6, 3, wl);
	/* k = 129 with an array of 128 data pointers. */
	d129 = alloc_syms(MAXD, b.len);
	M(1, 2, 5); P(3, 9, 127);
	CHECK_EQ(bad_call(&b, MAXD + 1, d129, m, 3, par, p, wl), -1);
	CHECK_EQ(bad_call(&b, 1000, d129, m, 3, par, p, wl), -1);
	free(m);
	free(p);
	free_syms(d129, MAXD);
	/* NULL pointers. */
	M(1, 2, 5); P(3, 9, 127);
	CHECK_EQ(bad_call(&b, 6, NULL, m, 3, par, p, wl), -1);
	CHECK_EQ(bad_call(&b, 6, b.data, NULL, 3, par, p, wl), -1);
	CHECK_EQ(bad_call(&b, 6, b.data, m, 3, NULL, p, wl), -1);
	CHECK_EQ(bad_call(&b, 6, b.data, m, 3, par, NULL, wl), -1);
	CHECK_EQ(bad_call(&b, 6, b.data, m, 3, par, p, 0), -1);
	CHECK_EQ(dnbd_fec_decode(6, b.data, m, 3, par, p, b.len, NULL, wl),
		 -1);
	dp = xmalloc(6 * sizeof(*dp));
	memcpy(dp, b.data, 6 * sizeof(*dp));
	dp[4] = NULL;
	CHECK_EQ(bad_call(&b, 6, dp, m, 3, par, p, wl), -1);
	free(dp);
	par[1] = NULL;
	CHECK_EQ(bad_call(&b, 6, b.data, m, 3, par, p, wl), -1);
	par[1] = b.par[1];
	/* h = 1 with a one-entry parity array. */
	cpar[0] = b.par[2];
	free(p);
	P(127);
	work = xmalloc(DNBD_FEC_WORK_LEN(1));
	CHECK_EQ(dnbd_fec_decode(6, b.data, m, 1, cpar, p, b.len, work,
				 DNBD_FEC_WORK_LEN(1)), 0);
	free(work);
	for (i = 0; i < 6; i++)
		CHECK(!memcmp(b.data[i], b.orig[i], b.len));
	free(p);
	/* And the valid call itself, with garbage in the lost symbols. */
	P(3, 9, 127);
	for (i = 0; i < 3; i++)
		memset(b.data[m[i]], 0x5a, b.len);
	work = xmalloc(wl);
	CHECK_EQ(dnbd_fec_decode(6, b.data, m, 3, par, p, b.len, work, wl),
		 0);
	/* len 0: nothing to do, fine. */
	CHECK_EQ(dnbd_fec_decode(6, b.data, m, 3, par, p, 0, work, wl), 0);
	free(work);
	for (i = 0; i < 6; i++)
		CHECK(!memcmp(b.data[i], b.orig[i], b.len));
	free(m);
	free(p);
#undef M
#undef P
#undef BAD
	blk_free(&b);
}

/* c * b for every c and b, from ref_mul. */
static uint8_t ref_prod[256][256];

/*
 * One addmul of len bytes with dst at doff and src at soff of exact-size
 * heap blocks, against ref_prod: the whole dst block compared, so a byte
 * written before dst shows, and ASan sees one past the end.
 */
static unsigned int addmul_one(uint8_t c, size_t len, unsigned int doff,
			       unsigned int soff)
{
	uint8_t *s = xmalloc(soff + len);
	uint8_t *d = xmalloc(doff + len);
	uint8_t *w = xmalloc(doff + len);
	unsigned int bad;
	size_t n;

	rnd_fill(s, soff + len);
	rnd_fill(d, doff + len);
	memcpy(w, d, doff + len);
	for (n = 0; n < len; n++)
		w[doff + n] ^= ref_prod[c][s[soff + n]];
	dnbd_fec_addmul(d + doff, s + soff, c, len);
	/* (The test keeps GCC from warning of memcmp on an empty block.) */
	bad = doff + len && memcmp(d, w, doff + len);
	if (bad)
		fprintf(stderr, "%s: addmul c=%u len=%zu dst+%u src+%u wrong\n",
			dnbd_fec_name(), c, len, doff, soff);
	free(s);
	free(d);
	free(w);
	return bad;
}

/*
 * The variant in use against the bitwise products: every coefficient
 * at every length to 300 and at a few long ones, the offsets of dst and
 * src (0..31, so every alignment of a 32-byte vector) varying with the
 * coefficient and the length.
 */
static void test_addmul_variant(void)
{
	static const size_t longs[] = { 1400, 1399, 8900, 8899 };
	unsigned int c, bad = 0, calls = 0;
	size_t len, i;

	for (len = 0; len <= 300; len++)
		for (c = 0; c < 256; c++, calls++)
			bad += addmul_one((uint8_t)c, len, c % 32,
					  (c / 8 + 3 * (unsigned int)len) % 32);
	for (i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
		for (c = 0; c < 256; c++, calls++)
			bad += addmul_one((uint8_t)c, longs[i], (c + i) % 32,
					  (c * 7 + i) % 32);
	fprintf(stderr, "%s: %u addmul calls against the reference\n",
		dnbd_fec_name(), calls);
	CHECK_EQ(bad, 0);
}

/* dnbd_fec_select(): unknown variants refused, AUTO the best there is. */
static void test_select(bool *have)
{
	int v, best = DNBD_FEC_TABLE;

	CHECK_EQ(dnbd_fec_select(-1), -1);
	CHECK_EQ(dnbd_fec_select(DNBD_FEC_AVX2 + 1), -1);
	CHECK_EQ(dnbd_fec_select(DNBD_FEC_TABLE), 0);
	CHECK(!strcmp(dnbd_fec_name(), "table"));
	for (v = DNBD_FEC_TABLE; v <= DNBD_FEC_AVX2; v++) {
		have[v] = dnbd_fec_select(v) == 0;
		if (have[v])
			best = v;
	}
	CHECK_EQ(dnbd_fec_select(DNBD_FEC_AUTO), 0);
	CHECK(!strcmp(dnbd_fec_name(), best == DNBD_FEC_AVX2 ? "avx2" :
		      best == DNBD_FEC_SSSE3 ? "ssse3" : "table"));
	fprintf(stderr, "addmul variants: table%s%s, auto is %s\n",
		have[DNBD_FEC_SSSE3] ? " ssse3" : "",
		have[DNBD_FEC_AVX2] ? " avx2" : "", dnbd_fec_name());
}

int main(void)
{
	bool have[DNBD_FEC_AVX2 + 1] = { false };
	unsigned int a, b;
	int v;

	ref_init();
	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++)
			ref_prod[a][b] = ref_mul((uint8_t)a, (uint8_t)b);
	test_select(have);
	for (v = DNBD_FEC_TABLE; v <= DNBD_FEC_AVX2; v++) {
		if (!have[v])
			continue;
		CHECK_EQ(dnbd_fec_select(v), 0);
		fprintf(stderr, "variant %s\n", dnbd_fec_name());
		test_addmul_variant();
		test_field();
		test_addmul_lengths();
		test_encode();
		test_exhaustive(v != DNBD_FEC_TABLE);
		test_random();
		test_bad_args();
	}
	CHECK_EQ(dnbd_fec_select(DNBD_FEC_AUTO), 0);
	return check_report("test-fec");
}
