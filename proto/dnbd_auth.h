/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dnbd_auth.h - optional keyed authentication of dnbd datagrams
 * (docs/protocol.md, section 17; docs/security.md).
 *
 * A lab shares one 32-byte key.  A keyed sender sets DNBD_F_AUTH in the
 * header, adds DNBD_MAC_LEN to the length field and appends a 16-byte
 * tag: keyed BLAKE2s-128 (RFC 7693) of the whole datagram before the tag,
 * with the CRC field read as zero.  The CRC32C then covers the datagram
 * including the tag, as always.  BLAKE2s is written here from RFC 7693 so
 * that the same code runs in dnbd.ko and in the userspace programs.
 */
#ifndef DNBD_AUTH_H
#define DNBD_AUTH_H

#include "dnbd_port.h"
#include "dnbd_wire.h"

#define DNBD_BLAKE2S_BLOCK	64
#define DNBD_BLAKE2S_OUT_MAX	32
#define DNBD_BLAKE2S_KEY_MAX	32

struct dnbd_blake2s {
	uint32_t h[8];
	uint32_t t[2];			/* bytes compressed so far */
	uint8_t buf[DNBD_BLAKE2S_BLOCK];
	uint32_t buflen;
	uint32_t outlen;
};

/* outlen 1..32, keylen 0..32 (RFC 7693, section 3.3). */
void dnbd_blake2s_init(struct dnbd_blake2s *s, size_t outlen,
		       const void *key, size_t keylen);
void dnbd_blake2s_update(struct dnbd_blake2s *s, const void *in, size_t len);
void dnbd_blake2s_final(struct dnbd_blake2s *s, uint8_t *out);
/* One call: out gets outlen bytes. */
void dnbd_blake2s(uint8_t *out, size_t outlen, const void *key, size_t keylen,
		  const void *in, size_t inlen);

/* The lab key, ready to use: the keyed state before any message byte. */
struct dnbd_key {
	struct dnbd_blake2s init;
};

void dnbd_key_init(struct dnbd_key *k, const uint8_t raw[DNBD_KEY_LEN]);
/* Forget the key material (memset that the compiler must keep). */
void dnbd_key_wipe(struct dnbd_key *k);

/*
 * Turns a finished datagram of len bytes (CRC not needed) into a keyed
 * one: sets DNBD_F_AUTH, fixes the length field, appends the tag and
 * reseals the CRC.  Returns the new length, or 0 when buflen is too small.
 */
size_t dnbd_auth_seal(uint8_t *buf, size_t len, size_t buflen,
		      const struct dnbd_key *k);
/*
 * The same for a datagram sent as header + data + tag (three iovecs):
 * hdr's flags and length are updated, mac receives the tag, and the CRC
 * (in hdr) covers all three parts.
 */
void dnbd_auth_seal_split(uint8_t *hdr, size_t hdr_len, const uint8_t *data,
			  size_t data_len, uint8_t *mac,
			  const struct dnbd_key *k);
/*
 * After dnbd_decode_hdr() accepted buf: with a key (k != NULL) the
 * datagram must carry DNBD_F_AUTH and a correct tag; without one it must
 * not carry DNBD_F_AUTH.  On DNBD_OK, *len is the length of the message
 * without its tag, for the body decoders.
 */
enum dnbd_verdict dnbd_auth_check(const uint8_t *buf, size_t *len,
				  const struct dnbd_key *k);

#endif /* DNBD_AUTH_H */
