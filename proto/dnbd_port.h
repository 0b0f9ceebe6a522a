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
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#endif

#endif /* DNBD_PORT_H */
