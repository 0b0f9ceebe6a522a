/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The control interface between dnbd-client and dnbd.ko.
 *
 * Block device ioctls on /dev/dnbdN, encoded with _IOR/_IOW so that the
 * size of every argument is part of the command number.  The interface is
 * versioned: DNBD_IOC_VERSION reports DNBD_CTL_VERSION, and every argument
 * structure starts with the version its caller was built for; the driver
 * refuses a version it does not speak (EPROTO).  Structures have fixed
 * layouts (explicit padding, 64-bit fields aligned) so 32- and 64-bit
 * callers agree.  See docs/architecture.md, "Control interface".
 */
#ifndef DNBD_IOCTL_H
#define DNBD_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DNBD_CTL_VERSION	1
#define DNBD_IOC_MAGIC		0xdb
#define DNBD_CTL_NAME_MAX	255
#define DNBD_CTL_SERVERS	16

/* An IPv4 address (ip[0..3]) or, later, IPv6; port in host order. */
struct dnbd_ctl_addr {
	__u8 family;		/* 4 */
	__u8 pad;
	__u16 port;
	__u8 ip[16];
};

struct dnbd_ctl_version {
	__u32 version;		/* out: DNBD_CTL_VERSION */
	__u32 features;		/* out: DNBD_FEAT_* */
};

#define DNBD_FEAT_CACHEFILE	0x1
#define DNBD_FEAT_AUTH		0x2	/* DNBD_IOC_BIND_KEY */

/*
 * DNBD_IOC_BIND: attach an image.  The driver takes its own references
 * to sock_fd and cache_fd; the caller may close both afterwards.
 */
struct dnbd_ctl_bind {
	__u32 version;		/* DNBD_CTL_VERSION */
	__s32 sock_fd;		/* UDP socket: bound, group joined */
	__s32 cache_fd;		/* cache file or block device, -1: none */
	__u32 flags;		/* DNBD_BIND_* */
	struct dnbd_ctl_addr group;	/* with DNBD_BIND_MULTICAST */
	struct dnbd_ctl_addr unicast[DNBD_CTL_SERVERS];
	__u32 n_unicast;
	__u32 revision;
	__u64 image_id;
	__u64 image_size;	/* bytes */
	__u16 seg_max;		/* the servers' segment size */
	__u16 seg_size;		/* the grid asked for, 0: default */
	__u32 io_timeout_ms;	/* 0: reads wait for a server forever */
	__u64 mem_cache_bytes;	/* cache of overheard replies, 0: none */
	char name[DNBD_CTL_NAME_MAX + 1];
};

#define DNBD_BIND_MULTICAST	0x1

/*
 * DNBD_IOC_BIND_KEY: DNBD_IOC_BIND with the lab key (docs/security.md).
 * The session tags every datagram it sends and drops every datagram
 * without a valid tag.  A new command, so that DNBD_IOC_BIND and its
 * structure stay as they were.
 */
#define DNBD_CTL_KEY_LEN	32

struct dnbd_ctl_bind_key {
	struct dnbd_ctl_bind bind;
	__u32 key_len;		/* DNBD_CTL_KEY_LEN */
	__u32 pad;
	__u8 key[DNBD_CTL_KEY_LEN];
};

struct dnbd_ctl_server {
	__u16 id;
	__u8 state;		/* 1 up, 2 down */
	__u8 pad;
	__u32 srtt_us;
	__u32 weight;
	__u32 pad2;
	struct dnbd_ctl_addr addr;
};

/* DNBD_IOC_STATUS: what the device is bound to. */
struct dnbd_ctl_status {
	__u32 version;		/* in: DNBD_CTL_VERSION */
	__u32 bound;		/* out: 0 or 1 */
	__u64 image_id;
	__u64 image_size;
	__u32 revision;
	__u16 seg_size;
	__u16 n_servers;
	__u64 cachefile_bytes;	/* 0: no cache file */
	char name[DNBD_CTL_NAME_MAX + 1];
	struct dnbd_ctl_server servers[DNBD_CTL_SERVERS];
};

/* DNBD_IOC_SET_CACHE: add a cache file to a bound device. */
struct dnbd_ctl_cache {
	__u32 version;		/* DNBD_CTL_VERSION */
	__s32 cache_fd;
};

#define DNBD_IOC_VERSION	_IOR(DNBD_IOC_MAGIC, 0, struct dnbd_ctl_version)
#define DNBD_IOC_BIND		_IOW(DNBD_IOC_MAGIC, 1, struct dnbd_ctl_bind)
#define DNBD_IOC_UNBIND		_IO(DNBD_IOC_MAGIC, 2)
#define DNBD_IOC_SET_CACHE	_IOW(DNBD_IOC_MAGIC, 3, struct dnbd_ctl_cache)
#define DNBD_IOC_STATUS		_IOWR(DNBD_IOC_MAGIC, 4, struct dnbd_ctl_status)
#define DNBD_IOC_BIND_KEY	_IOW(DNBD_IOC_MAGIC, 5, struct dnbd_ctl_bind_key)

#endif /* DNBD_IOCTL_H */
