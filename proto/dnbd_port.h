/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dnbd_port.h - the only place where the protocol core touches its host.
 *
 * The files in proto/ are compiled both into the userspace tools and into
 * the kernel module.  They use fixed-width integers, bool, size_t, memcpy
 * and memset, and nothing else from libc or the kernel; this header maps
 * those names for each side.
 */
#ifndef DNBD_PORT_H
#define DNBD_PORT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/version.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
#include <linux/crc32.h>
#else
#include <linux/crc32c.h>
#endif
/*
 * The kernel's CRC32C, which uses the CPU's CRC instructions where it has
 * them.  It neither inverts on entry nor on exit; dnbd_crc32c() does both.
 */
#define DNBD_HOST_CRC32C(crc, buf, len) (~crc32c(~(crc), (buf), (len)))
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#endif

#endif /* DNBD_PORT_H */
