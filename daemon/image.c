// SPDX-License-Identifier: GPL-2.0
/*
 * image.c - exported images: open, size, identity, reads.
 *
 * Reads use pread() rather than mmap(): a file truncated under an mmap
 * raises SIGBUS in whichever thread touches it, while pread() just comes
 * back short, which the server reports as a changed image.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"
#include "util.h"

int image_size_now(const struct image *img, uint64_t *size)
{
	struct stat st;

	if (img->is_blockdev)
		return ioctl(img->fd, BLKGETSIZE64, size) ? -errno : 0;
	if (fstat(img->fd, &st))
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

ssize_t image_read(const struct image *img, uint64_t off, void *buf,
		   size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(img->fd, (char *)buf + done, len - done,
			  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;		/* end of file: shorter than it was */
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* The default revision: CRC32C of the content, so that replicas of the
 * same bytes agree and a rewritten image never passes for the old one. */
static int image_checksum(struct image *img, uint32_t *rev)
{
	const size_t chunk = 1 << 20;
	uint64_t off = 0, next_report = 1ull << 30;
	uint32_t crc = 0;
	uint8_t *buf;
	ssize_t n;

	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	if (img->size > (1ull << 30))
		log_info("%s: checksumming %" PRIu64 " MiB to derive the "
			 "revision (set -r or ,rev= to skip)", img->name,
			 img->size >> 20);
	while (off < img->size) {
		size_t want = img->size - off < chunk ?
			      (size_t)(img->size - off) : chunk;

		n = image_read(img, off, buf, want);
		if (n != (ssize_t)want) {
			free(buf);
			return n < 0 ? (int)n : -EIO;
		}
		crc = dnbd_crc32c(crc, buf, want);
		off += want;
		if (off >= next_report) {
			log_info("%s: checksum %" PRIu64 "%%", img->name,
				 off * 100 / img->size);
			next_report += 1ull << 30;
		}
	}
	free(buf);
	*rev = crc;
	return 0;
}

int image_open(struct image *img)
{
	struct stat st;
	int err;

	img->fd = open(img->path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0) {
		err = -errno;
		log_err("cannot open image %s: %s", img->path, strerror(errno));
		return err;
	}
	if (fstat(img->fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		log_err("%s is neither a file nor a block device", img->path);
		err = -EINVAL;
		goto fail_quiet;
	}
	img->is_blockdev = S_ISBLK(st.st_mode);
	err = image_size_now(img, &img->size);
	if (err)
		goto fail;
	if (img->size == 0) {
		log_err("image %s is empty", img->path);
		err = -EINVAL;
		goto fail_quiet;
	}
	if (!img->rev_set) {
		err = image_checksum(img, &img->revision);
		if (err)
			goto fail;
	}
	img->id = dnbd_image_id(img->name, img->name_len, img->size,
				img->revision);
	img->dedup = calloc(DEDUP_SLOTS, sizeof(*img->dedup));
	img->pardedup = calloc(1u << PARDEDUP_BITS, sizeof(*img->pardedup));
	if (!img->dedup || !img->pardedup) {
		free(img->dedup);
		free(img->pardedup);
		img->dedup = NULL;
		img->pardedup = NULL;
		err = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	log_err("image %s: %s", img->path, strerror(-err));
fail_quiet:
	close(img->fd);
	img->fd = -1;
	return err;
}
