// SPDX-License-Identifier: GPL-2.0
/*
 * The persistent cache: a local file or block device
 * (dnbd-client -c FILE) holding segments of the image, which survives
 * unbind, rebind and reboot.
 *
 * Layout, all integers big-endian:
 *   0      header (one 4 KiB block): magic "DNBDCF01", version, segment
 *          size, image id and size, number of slots, CRC32C of the header
 *   4096   tag table: one 16-byte tag per slot
 *          { be64 segment + 1 (0: empty), be32 CRC32C of data, be16 len }
 *   data   slot i at data_off + i * seg (data_off 4 KiB aligned)
 * Direct mapped: segment n lives in slot n % slots.  A file of at least
 * image size + 1.2% holds the whole image.
 *
 * The tag table is kept in memory.  A slot is written data first, then
 * tag.  A lookup checks the data against the tag's CRC, so a torn write,
 * a crash between the two writes or a race with the writer reads as a
 * miss, never as wrong data.  A header for another image, revision or
 * segment size resets the file.  Writes go through a queue drained by a
 * worker, bounded in bytes; when it is full, segments are dropped: the
 * cache is an optimisation, never a reason to stall reads.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "dnbd_dev.h"

#define DNBD_CF_MAGIC		"DNBDCF01"
#define DNBD_CF_VERSION		1
#define DNBD_CF_HDR		4096
#define DNBD_CF_TAG		16
#define DNBD_CF_MIN_SLOTS	16
#define DNBD_CF_QUEUE_MAX	(32u << 20)	/* bytes waiting to be written */
#define DNBD_CF_IO_CHUNK	(64u << 10)

struct dnbd_cf_tag {
	u64 seg1;		/* segment + 1, 0: empty */
	u32 crc;
	u16 len;
};

struct dnbd_cf_item {
	struct list_head node;
	u64 seg0;
	u8 *buf;
	u32 len;
};

struct dnbd_cachefile {
	struct dnbd_session *s;
	struct file *file;
	u64 bytes;		/* size of the file */
	u32 seg;
	u64 nslots;
	u64 data_off;
	spinlock_t lock;	/* tags, queue, queued, closing */
	struct dnbd_cf_tag *tags;
	struct list_head queue;
	u64 queued;
	bool closing;
	struct work_struct work;
};

static struct workqueue_struct *dnbd_cf_wq;

static u64 dnbd_cf_seg_len(struct dnbd_cachefile *cf, u64 seg)
{
	u64 start = seg * cf->seg;

	return min_t(u64, cf->seg, cf->s->image.size - start);
}

static u64 dnbd_cf_slot(struct dnbd_cachefile *cf, u64 seg)
{
	u64 slot;

	div64_u64_rem(seg, cf->nslots, &slot);
	return slot;
}

static u32 dnbd_cf_crc(const void *buf, size_t len)
{
	return dnbd_crc32c(0, buf, len);
}

/* ---- header and tag table --------------------------------------------------- */

static void dnbd_cf_hdr_encode(struct dnbd_cachefile *cf, u8 *h)
{
	memset(h, 0, DNBD_CF_HDR);
	memcpy(h, DNBD_CF_MAGIC, 8);
	*(__be32 *)(h + 8) = cpu_to_be32(DNBD_CF_VERSION);
	*(__be32 *)(h + 12) = cpu_to_be32(cf->seg);
	*(__be64 *)(h + 16) = cpu_to_be64(cf->s->image.id);
	*(__be64 *)(h + 24) = cpu_to_be64(cf->s->image.size);
	*(__be64 *)(h + 32) = cpu_to_be64(cf->nslots);
	*(__be32 *)(h + 40) = cpu_to_be32(dnbd_cf_crc(h, 40));
}

static void dnbd_cf_tag_encode(const struct dnbd_cf_tag *t, u8 *p)
{
	*(__be64 *)p = cpu_to_be64(t->seg1);
	*(__be32 *)(p + 8) = cpu_to_be32(t->crc);
	*(__be16 *)(p + 12) = cpu_to_be16(t->len);
	*(__be16 *)(p + 14) = 0;
}

static void dnbd_cf_tag_decode(struct dnbd_cf_tag *t, const u8 *p)
{
	t->seg1 = be64_to_cpu(*(const __be64 *)p);
	t->crc = be32_to_cpu(*(const __be32 *)(p + 8));
	t->len = be16_to_cpu(*(const __be16 *)(p + 12));
}

static int dnbd_cf_pread(struct dnbd_cachefile *cf, void *buf, size_t len,
			 loff_t pos)
{
	ssize_t n = kernel_read(cf->file, buf, len, &pos);

	return n == len ? 0 : (n < 0 ? n : -EIO);
}

static int dnbd_cf_pwrite(struct dnbd_cachefile *cf, const void *buf,
			  size_t len, loff_t pos)
{
	ssize_t n = kernel_write(cf->file, buf, len, &pos);

	return n == len ? 0 : (n < 0 ? n : -EIO);
}

/* Loads the tags of a file written for this image, or empties it. */
static int dnbd_cf_load(struct dnbd_cachefile *cf)
{
	u64 total = cf->nslots * DNBD_CF_TAG, off, i;
	u8 *hdr, *want, *chunk;
	bool valid;
	int err;

	hdr = kmalloc(DNBD_CF_HDR * 2, GFP_KERNEL);
	chunk = kvmalloc(DNBD_CF_IO_CHUNK, GFP_KERNEL);
	if (!hdr || !chunk) {
		err = -ENOMEM;
		goto out;
	}
	want = hdr + DNBD_CF_HDR;
	dnbd_cf_hdr_encode(cf, want);
	err = dnbd_cf_pread(cf, hdr, DNBD_CF_HDR, 0);
	if (err)
		goto out;
	valid = !memcmp(hdr, want, 44);
	for (off = 0; off < total; off += DNBD_CF_IO_CHUNK) {
		size_t n = min_t(u64, total - off, DNBD_CF_IO_CHUNK);

		if (!valid) {
			memset(chunk, 0, n);
			err = dnbd_cf_pwrite(cf, chunk, n, DNBD_CF_HDR + off);
			if (err)
				goto out;
			continue;
		}
		err = dnbd_cf_pread(cf, chunk, n, DNBD_CF_HDR + off);
		if (err)
			goto out;
		for (i = 0; i < n / DNBD_CF_TAG; i++) {
			struct dnbd_cf_tag *t = &cf->tags[off / DNBD_CF_TAG + i];

			dnbd_cf_tag_decode(t, chunk + i * DNBD_CF_TAG);
			/* A tag that cannot be ours is an empty slot. */
			if (t->seg1 && (dnbd_cf_slot(cf, t->seg1 - 1) !=
					off / DNBD_CF_TAG + i ||
					t->seg1 - 1 >= div_u64(cf->s->image.size +
							       cf->seg - 1,
							       cf->seg)))
				t->seg1 = 0;
		}
	}
	if (!valid)
		err = dnbd_cf_pwrite(cf, want, DNBD_CF_HDR, 0);
	pr_info("%s: cache file of %llu slots (%llu MiB), %s\n",
		cf->s->dev->disk->disk_name, cf->nslots, cf->bytes >> 20,
		valid ? "reused" : "initialised for this image");
out:
	kvfree(chunk);
	kfree(hdr);
	return err;
}

/* ---- the writer ------------------------------------------------------ */

static void dnbd_cf_write_seg(struct dnbd_cachefile *cf, u64 seg,
			      const u8 *data, u16 len)
{
	u64 slot = dnbd_cf_slot(cf, seg);
	struct dnbd_cf_tag t = {
		.seg1 = seg + 1, .crc = dnbd_cf_crc(data, len), .len = len,
	};
	u8 disk_tag[DNBD_CF_TAG];
	bool present;
	int err;

	spin_lock(&cf->lock);
	present = cf->tags[slot].seg1 == t.seg1 && cf->tags[slot].crc == t.crc;
	if (!present)
		cf->tags[slot].seg1 = 0;	/* lookups miss meanwhile */
	spin_unlock(&cf->lock);
	if (present)
		return;
	dnbd_cf_tag_encode(&t, disk_tag);
	err = dnbd_cf_pwrite(cf, data, len, cf->data_off + slot * cf->seg);
	if (!err)
		err = dnbd_cf_pwrite(cf, disk_tag, DNBD_CF_TAG,
				     DNBD_CF_HDR + slot * DNBD_CF_TAG);
	if (err) {
		dnbd_count(cf->s, DNBD_DC_cachefile_errors, 1);
		return;
	}
	spin_lock(&cf->lock);
	cf->tags[slot] = t;
	spin_unlock(&cf->lock);
	dnbd_count(cf->s, DNBD_DC_cachefile_writes, 1);
}

static void dnbd_cf_write_item(struct dnbd_cachefile *cf,
			       struct dnbd_cf_item *it)
{
	u64 seg = it->seg0;
	u32 off = 0, len;

	while (off < it->len) {
		len = dnbd_cf_seg_len(cf, seg);
		/* Only whole segments (the image's last may be short). */
		if (len > it->len - off)
			break;
		dnbd_cf_write_seg(cf, seg, it->buf + off, len);
		off += len;
		seg++;
	}
}

static void dnbd_cf_work(struct work_struct *work)
{
	struct dnbd_cachefile *cf = container_of(work, struct dnbd_cachefile,
						 work);
	struct dnbd_cf_item *it;

	for (;;) {
		spin_lock(&cf->lock);
		it = list_first_entry_or_null(&cf->queue, struct dnbd_cf_item,
					      node);
		if (it && !cf->closing) {
			list_del(&it->node);
			cf->queued -= it->len;
		} else {
			it = NULL;
		}
		spin_unlock(&cf->lock);
		if (!it)
			return;
		dnbd_cf_write_item(cf, it);
		kvfree(it->buf);
		kfree(it);
		cond_resched();
	}
}

/* ---- the interface ------------------------------------------------------- */

/* Takes ownership of buf (kvmalloc'd): len bytes from segment seg0 on. */
void dnbd_cachefile_store(struct dnbd_cachefile *cf, u64 seg0, u8 *buf,
			  u32 len)
{
	struct dnbd_cf_item *it;
	bool queued = false;

	it = kmalloc(sizeof(*it), GFP_NOIO | __GFP_NOWARN);
	if (it) {
		it->seg0 = seg0;
		it->buf = buf;
		it->len = len;
		spin_lock(&cf->lock);
		if (!cf->closing && cf->queued + len <= DNBD_CF_QUEUE_MAX) {
			list_add_tail(&it->node, &cf->queue);
			cf->queued += len;
			queued = true;
		}
		spin_unlock(&cf->lock);
	}
	if (!queued) {
		dnbd_count(cf->s, DNBD_DC_cachefile_dropped, 1);
		kfree(it);
		kvfree(buf);
		return;
	}
	queue_work(dnbd_cf_wq, &cf->work);
}

/* Fills buf with nsegs segments from seg0 on if the file holds them all. */
bool dnbd_cachefile_lookup(struct dnbd_cachefile *cf, u64 seg0,
			   unsigned int nsegs, u8 *buf)
{
	struct dnbd_cf_tag t;
	unsigned int i;
	u64 seg, slot;

	for (i = 0; i < nsegs; i++) {
		seg = seg0 + i;
		slot = dnbd_cf_slot(cf, seg);
		spin_lock(&cf->lock);
		t = cf->tags[slot];
		spin_unlock(&cf->lock);
		if (t.seg1 != seg + 1 || t.len != dnbd_cf_seg_len(cf, seg))
			return false;
		if (dnbd_cf_pread(cf, buf + (u64)i * cf->seg, t.len,
				  cf->data_off + slot * cf->seg)) {
			dnbd_count(cf->s, DNBD_DC_cachefile_errors, 1);
			return false;
		}
		if (dnbd_cf_crc(buf + (u64)i * cf->seg, t.len) != t.crc) {
			dnbd_count(cf->s, DNBD_DC_cachefile_bad_crc, 1);
			return false;
		}
	}
	return true;
}

static u64 dnbd_cf_slots_for(u64 bytes, u32 seg, u64 image_segs)
{
	u64 n;

	if (bytes < DNBD_CF_HDR)
		return 0;
	n = div_u64(bytes - DNBD_CF_HDR, seg + DNBD_CF_TAG);
	while (n && DNBD_CF_HDR + round_up(n * DNBD_CF_TAG, DNBD_CF_HDR) +
		    n * seg > bytes)
		n--;
	return min(n, image_segs);
}

static int dnbd_cf_check_file(struct file *file)
{
	struct inode *inode = file_inode(file);

	if ((file->f_mode & (FMODE_READ | FMODE_WRITE)) !=
	    (FMODE_READ | FMODE_WRITE))
		return -EBADF;		/* open it read-write */
	if (!S_ISREG(inode->i_mode) && !S_ISBLK(inode->i_mode))
		return -EINVAL;
	/* A dnbd device caching itself would recurse into its own queue. */
	if (S_ISBLK(inode->i_mode) && MAJOR(inode->i_rdev) == dnbd_major)
		return -EINVAL;
	return 0;
}

struct dnbd_cachefile *dnbd_cachefile_open(struct dnbd_session *s, int fd,
					   int *err)
{
	struct dnbd_cachefile *cf;
	struct file *file;
	u64 image_segs;

	file = fget(fd);
	if (!file) {
		*err = -EBADF;
		return NULL;
	}
	*err = dnbd_cf_check_file(file);
	if (*err)
		goto out_fput;
	*err = -ENOMEM;
	cf = kzalloc(sizeof(*cf), GFP_KERNEL);
	if (!cf)
		goto out_fput;
	cf->s = s;
	cf->file = file;
	cf->seg = s->seg;
	cf->bytes = i_size_read(file->f_mapping->host);
	image_segs = div_u64(s->image.size + s->seg - 1, s->seg);
	cf->nslots = dnbd_cf_slots_for(cf->bytes, cf->seg, image_segs);
	if (cf->nslots < min_t(u64, DNBD_CF_MIN_SLOTS, image_segs)) {
		*err = -ENOSPC;		/* too small to be useful */
		goto out_free;
	}
	cf->data_off = DNBD_CF_HDR + round_up(cf->nslots * DNBD_CF_TAG,
					      DNBD_CF_HDR);
	spin_lock_init(&cf->lock);
	INIT_LIST_HEAD(&cf->queue);
	INIT_WORK(&cf->work, dnbd_cf_work);
	cf->tags = kvcalloc(cf->nslots, sizeof(*cf->tags), GFP_KERNEL);
	if (!cf->tags)
		goto out_free;
	*err = dnbd_cf_load(cf);
	if (*err)
		goto out_tags;
	return cf;

out_tags:
	kvfree(cf->tags);
out_free:
	kfree(cf);
out_fput:
	fput(file);
	return NULL;
}

void dnbd_cachefile_close(struct dnbd_cachefile *cf)
{
	struct dnbd_cf_item *it, *tmp;

	spin_lock(&cf->lock);
	cf->closing = true;
	spin_unlock(&cf->lock);
	cancel_work_sync(&cf->work);
	list_for_each_entry_safe(it, tmp, &cf->queue, node) {
		list_del(&it->node);
		kvfree(it->buf);
		kfree(it);
	}
	fput(cf->file);
	kvfree(cf->tags);
	kfree(cf);
}

u64 dnbd_cachefile_bytes(const struct dnbd_cachefile *cf)
{
	return cf->bytes;
}

u32 dnbd_cachefile_slots(const struct dnbd_cachefile *cf)
{
	return cf->nslots;
}

int dnbd_cachefile_init(void)
{
	dnbd_cf_wq = alloc_workqueue("dnbd_cf", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	return dnbd_cf_wq ? 0 : -ENOMEM;
}

void dnbd_cachefile_exit(void)
{
	destroy_workqueue(dnbd_cf_wq);
}
