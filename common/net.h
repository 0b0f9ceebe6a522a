/* SPDX-License-Identifier: GPL-2.0 */
/* net.h - userspace sockets: addresses, multicast and unicast UDP. */
#ifndef DNBD_NET_H
#define DNBD_NET_H

#include <netinet/in.h>
#include <stdbool.h>

#include "dnbd_client.h"	/* struct dnbd_addr */

#define ADDR_STRLEN 64

/* Parses a dotted IPv4 address; port is stored as given. */
bool addr_parse(const char *s, uint16_t port, struct dnbd_addr *a);
bool addr_is_multicast(const struct dnbd_addr *a);
bool addr_equal(const struct dnbd_addr *a, const struct dnbd_addr *b);
void addr_to_sin(const struct dnbd_addr *a, struct sockaddr_in *sin);
void addr_from_sin(const struct sockaddr_in *sin, struct dnbd_addr *a);
const char *addr_str(const struct dnbd_addr *a, char buf[ADDR_STRLEN]);
/* Next group address: last octet + k (239.0.0.1 + 1 = 239.0.0.2). */
bool addr_add(const struct dnbd_addr *a, unsigned int k, struct dnbd_addr *out);

/*
 * A UDP socket bound to bind_addr (a group: joined on iface, replies to
 * the group leave through iface with ttl), or to INADDR_ANY:port when
 * bind_addr is NULL.  Returns the fd, or -1 with a message in err.
 */
int udp_socket(const struct dnbd_addr *bind_addr, uint16_t any_port,
	       const char *iface, int ttl, char *err, size_t errlen);
/* IP_MULTICAST_LOOP on or off for what fd sends; 0 or -1 (errno). */
int udp_mcast_loop(int fd, bool on);

/*
 * Socket buffers (root may exceed rmem_max/wmem_max).  Every member of a
 * group receives every reply sent to it, at the server's rate: a client
 * that loses its CPU for a moment must find the replies still queued, or
 * the drops turn into re-requests that everyone receives too (8 readers
 * on 2 cores dropped 15 % of the image at 8 MiB and sent the server 4x
 * the image; at 32 MiB some runs still dropped, at 64 MiB few did).  The kernel charges a datagram's truesize,
 * about twice its length for a GRO train.  Send buffers stay at 8 MiB: a
 * larger one only lengthens the queue in front of a slow link.
 */
#define UDP_RCVBUF	(64 << 20)
#define UDP_SNDBUF	(8 << 20)
void udp_set_buffers(int fd, int rcv, int snd);

#endif
