/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dnbd_fec.h - a systematic erasure code: Reed-Solomon over GF(2^8),
 * Cauchy construction (fec.c).
 *
 * A block is k data symbols of len bytes each.  The code adds parity
 * symbols of the same length; the data symbols go out unchanged
 * (systematic), and any k of the data and parity symbols rebuild the
 * block.  It belongs to the Reed-Solomon family of RFC 5510 and uses the
 * same field (GF(2^8), polynomial x^8 + x^4 + x^3 + x^2 + 1, 0x11d), but
 * its generator matrix is a Cauchy matrix, not RFC 5510's Vandermonde
 * one: its parity is not interchangeable with an RFC 5510 encoder's.
 *
 * Why Cauchy: data symbol i has y_i = i, parity symbol j has
 * x_j = 128 + j, and parity j is P_j = sum over i < k of c(j, i) * D_i
 * (bytewise, in GF(2^8)) with c(j, i) = 1 / (x_j + y_i).  Every square
 * submatrix of a Cauchy matrix is invertible (the x are distinct, the y
 * are distinct, and no x equals a y), so h lost data symbols are always
 * rebuilt from any h parity symbols and the k - h data symbols that
 * arrived: the code is MDS.  And the coefficients do not depend on k, so
 * a parity symbol can be built incrementally, symbol by symbol, with
 * dnbd_fec_coef() and dnbd_fec_addmul(), as the data goes out.
 *
 * Limits: at most DNBD_FEC_MAX_DATA data symbols per block and parity
 * indices below DNBD_FEC_MAX_PARITY (x and y must stay distinct elements
 * of the 256 in the field).  Any symbol length; all symbols of a block
 * have the same one.  No allocation, no state, no init call: the field
 * tables are constants, so the code is safe to call from any context
 * (userspace keeps one variable, the multiply-add variant in use, which
 * any thread may read and set: see dnbd_fec_select()).
 */
#ifndef DNBD_FEC_H
#define DNBD_FEC_H

#include "dnbd_port.h"

#define DNBD_FEC_MAX_DATA	128
#define DNBD_FEC_MAX_PARITY	128

/* Workspace (bytes) dnbd_fec_decode() needs for h missing symbols. */
#define DNBD_FEC_WORK_LEN(h)	(2 * (size_t)(h))

/* The coefficient c(j, i) of data symbol i in parity j; 0 out of range. */
uint8_t dnbd_fec_coef(unsigned int j, unsigned int i);

/*
 * dst[n] ^= c * src[n] in GF(2^8), for n < len: the inner loop of both
 * the encoder and the decoder (table-driven, 8 bytes per step; in
 * userspace on x86-64, PSHUFB, 16 or 32).  dst and src must not overlap.
 */
void dnbd_fec_addmul(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len);

#ifndef __KERNEL__
/*
 * Userspace variants of dnbd_fec_addmul(), all giving the same bytes:
 * the kernel's table path, and on x86-64 split-nibble products with
 * PSHUFB, 16 bytes per step (SSSE3) or 32 (AVX2).  The fastest one this
 * CPU runs is chosen at the first call.  dnbd_fec_select() forces one
 * (tests, benchmarks; DNBD_FEC_AUTO goes back to the fastest): 0, or -1
 * when this CPU cannot run it.
 */
#define DNBD_FEC_AUTO	0
#define DNBD_FEC_TABLE	1
#define DNBD_FEC_SSSE3	2
#define DNBD_FEC_AVX2	3
int dnbd_fec_select(int variant);
/* The variant in use: "table", "ssse3" or "avx2". */
const char *dnbd_fec_name(void);
#endif

/*
 * out = parity j of the block data[0..k-1], each len bytes.  Returns
 * false (out untouched) if k is 0 or above DNBD_FEC_MAX_DATA, or j is
 * DNBD_FEC_MAX_PARITY or more.  out must not overlap the data.
 */
bool dnbd_fec_encode(unsigned int k, const uint8_t *const *data, size_t len,
		     unsigned int j, uint8_t *out);

/*
 * Rebuilds the h missing data symbols of a block in place.
 *
 * k: data symbols in the block.  data[i], for every i < k, points at
 * symbol i's buffer of len bytes, present or not.  missing[0..h-1]: the
 * indices of the symbols to rebuild, strictly increasing, below k.
 * parity[0..h-1]: h received parity symbols of len bytes, pidx[0..h-1]
 * their parity indices (distinct, below DNBD_FEC_MAX_PARITY).  work:
 * work_len >= DNBD_FEC_WORK_LEN(h) bytes of scratch.
 *
 * The buffers of the missing symbols are overwritten with the rebuilt
 * data; they must not overlap the present data or the parity, which are
 * only read.  Returns 0 on success, -1 on bad arguments (h is 0 or above
 * k, k above DNBD_FEC_MAX_DATA, an index out of range, missing not
 * strictly increasing, pidx not distinct, work too small, a NULL
 * pointer), and then no symbol buffer is read or written.
 *
 * Cost: h * k calls of dnbd_fec_addmul() of len bytes, plus O(h * k)
 * field operations on the coefficients.
 */
int dnbd_fec_decode(unsigned int k, uint8_t *const *data,
		    const uint8_t *missing, unsigned int h,
		    const uint8_t *const *parity, const uint8_t *pidx,
		    size_t len, uint8_t *work, size_t work_len);

#endif /* DNBD_FEC_H */
