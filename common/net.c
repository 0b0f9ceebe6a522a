// SPDX-License-Identifier: GPL-2.0
/* net.c - userspace sockets: addresses, multicast and unicast UDP. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

bool addr_parse(const char *s, uint16_t port, struct dnbd_addr *a)
{
	struct in_addr in;

	memset(a, 0, sizeof(*a));
	if (!s || inet_pton(AF_INET, s, &in) != 1)
		return false;
	a->family = 4;
	a->port = port;
	memcpy(a->ip, &in.s_addr, 4);
	return true;
}

bool addr_is_multicast(const struct dnbd_addr *a)
{
	return a->family == 4 && (a->ip[0] & 0xf0) == 0xe0;
}

bool addr_equal(const struct dnbd_addr *a, const struct dnbd_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->ip, b->ip, 4);
}

void addr_to_sin(const struct dnbd_addr *a, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(a->port);
	memcpy(&sin->sin_addr.s_addr, a->ip, 4);
}

void addr_from_sin(const struct sockaddr_in *sin, struct dnbd_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->port = ntohs(sin->sin_port);
	memcpy(a->ip, &sin->sin_addr.s_addr, 4);
}

const char *addr_str(const struct dnbd_addr *a, char buf[ADDR_STRLEN])
{
	snprintf(buf, ADDR_STRLEN, "%u.%u.%u.%u:%u", a->ip[0], a->ip[1],
		 a->ip[2], a->ip[3], a->port);
	return buf;
}

bool addr_add(const struct dnbd_addr *a, unsigned int k, struct dnbd_addr *out)
{
	if (a->ip[3] + k > 255)
		return false;
	*out = *a;
	out->ip[3] = (uint8_t)(a->ip[3] + k);
	return true;
}

void udp_set_buffers(int fd, int rcv, int snd)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
}

static int join_group(int fd, const struct dnbd_addr *g, const char *iface,
		      int ttl, char *err, size_t errlen)
{
	struct ip_mreqn mr;
	unsigned char t = (unsigned char)ttl, loop = 1;

	memset(&mr, 0, sizeof(mr));
	memcpy(&mr.imr_multiaddr.s_addr, g->ip, 4);
	if (iface) {
		mr.imr_ifindex = (int)if_nametoindex(iface);
		if (!mr.imr_ifindex) {
			snprintf(err, errlen, "no interface named %s", iface);
			return -1;
		}
	}
	if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		snprintf(err, errlen, "cannot join group %u.%u.%u.%u%s%s: %s "
			 "(is there a route for 224.0.0.0/4?)",
			 g->ip[0], g->ip[1], g->ip[2], g->ip[3],
			 iface ? " on " : "", iface ? iface : "",
			 strerror(errno));
		return -1;
	}
	/* Replies to the group leave through the same interface. */
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &t, sizeof(t)) ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop,
		       sizeof(loop))) {
		snprintf(err, errlen, "multicast socket options: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int udp_socket(const struct dnbd_addr *bind_addr, uint16_t any_port,
	       const char *iface, int ttl, char *err, size_t errlen)
{
	struct sockaddr_in sin;
	struct dnbd_addr any;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (!bind_addr) {
		memset(&any, 0, sizeof(any));
		any.family = 4;
		any.port = any_port;
		bind_addr = &any;
	}
	/* Several clients (and a server) may share a group on one host. */
	if (addr_is_multicast(bind_addr))
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	udp_set_buffers(fd, UDP_RCVBUF, UDP_SNDBUF);
	addr_to_sin(bind_addr, &sin);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		char a[ADDR_STRLEN];

		snprintf(err, errlen, "cannot bind %s: %s",
			 addr_str(bind_addr, a), strerror(errno));
		goto fail;
	}
	if (iface && !addr_is_multicast(bind_addr) &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface,
		       (socklen_t)strlen(iface))) {
		snprintf(err, errlen, "cannot bind to device %s: %s", iface,
			 strerror(errno));
		goto fail;
	}
	if (addr_is_multicast(bind_addr) &&
	    join_group(fd, bind_addr, iface, ttl, err, errlen))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int udp_mcast_loop(int fd, bool on)
{
	unsigned char loop = on;

	return setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop,
			  sizeof(loop));
}
