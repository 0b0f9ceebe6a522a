// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctls dnbd-client uses (dnbd_ioctl.h): bind an image,
 * unbind, add a cache file, report the status.
 */
#include <linux/capability.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dnbd_dev.h"

static int dnbd_ctl_version(void __user *argp)
{
	struct dnbd_ctl_version v = {
		.version = DNBD_CTL_VERSION,
		.features = DNBD_FEAT_CACHEFILE | DNBD_FEAT_AUTH,
	};

	return copy_to_user(argp, &v, sizeof(v)) ? -EFAULT : 0;
}

/*
 * The block layer sends no uevent for a change from or to an empty disk;
 * udev and systemd must see both (a root mount waits for the bind), so
 * send one ourselves, as nbd does.
 */
static void dnbd_set_size(struct dnbd_device *dev, sector_t sectors)
{
	if (!set_capacity_and_notify(dev->disk, sectors))
		kobject_uevent(&disk_to_dev(dev->disk)->kobj, KOBJ_CHANGE);
}

/* DNBD_IOC_BIND, or DNBD_IOC_BIND_KEY when keyed. */
static int dnbd_bind(struct dnbd_device *dev, void __user *argp, bool keyed)
{
	struct dnbd_ctl_bind_key *bk;
	struct dnbd_ctl_bind *b;
	struct dnbd_session *s;
	const u8 *key = NULL;
	int err;

	bk = kzalloc(sizeof(*bk), GFP_KERNEL);
	if (!bk)
		return -ENOMEM;
	err = -EFAULT;
	if (copy_from_user(bk, argp, keyed ? sizeof(*bk) : sizeof(bk->bind)))
		goto out;
	b = &bk->bind;
	err = -EPROTO;
	if (b->version != DNBD_CTL_VERSION)
		goto out;
	if (keyed) {
		err = -EINVAL;
		if (bk->key_len != DNBD_CTL_KEY_LEN)
			goto out;
		key = bk->key;
	}
	b->name[DNBD_CTL_NAME_MAX] = '\0';

	mutex_lock(&dev->ctl_lock);
	err = -EBUSY;
	if (dev->sess)
		goto out_unlock;
	s = dnbd_session_create(dev, b, key, &err);
	if (!s)
		goto out_unlock;
	/* queue_rq may use it from now on: publish it complete. */
	smp_store_release(&dev->sess, s);
	dev->binds++;
	dnbd_set_size(dev, b->image_size >> SECTOR_SHIFT);
	pr_info("%s: bound to '%s' (%llu bytes, revision %u, %u-byte segments)%s%s\n",
		dev->disk->disk_name, s->image.name, s->image.size,
		s->image.revision, s->seg, s->cf ? " with a cache file" : "",
		key ? ", keyed" : "");
	if (b->image_size & (SECTOR_SIZE - 1))
		pr_warn("%s: the image's last %llu bytes are not a whole sector and cannot be read\n",
			dev->disk->disk_name, b->image_size & (SECTOR_SIZE - 1));
	err = 0;
out_unlock:
	mutex_unlock(&dev->ctl_lock);
out:
	kfree_sensitive(bk);	/* the key */
	return err;
}

/*
 * Reads in flight fail with EIO; the queue is quiesced so no queue_rq
 * still holds the session when it is freed.
 */
int dnbd_unbind(struct dnbd_device *dev)
{
	struct dnbd_session *s;

	mutex_lock(&dev->ctl_lock);
	s = dev->sess;
	if (!s) {
		mutex_unlock(&dev->ctl_lock);
		return -ENXIO;
	}
	dnbd_session_kill(s);
	blk_mq_quiesce_queue(dev->disk->queue);
	WRITE_ONCE(dev->sess, NULL);
	blk_mq_unquiesce_queue(dev->disk->queue);
	dnbd_session_destroy(s);
	dnbd_set_size(dev, 0);
	/* Drop the page cache: a rebind may be another image. */
	invalidate_disk(dev->disk);
	pr_info("%s: unbound\n", dev->disk->disk_name);
	mutex_unlock(&dev->ctl_lock);
	return 0;
}

static int dnbd_set_cache(struct dnbd_device *dev, void __user *argp)
{
	struct dnbd_ctl_cache c;
	struct dnbd_cachefile *cf;
	int err;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if (c.version != DNBD_CTL_VERSION)
		return -EPROTO;
	mutex_lock(&dev->ctl_lock);
	err = -ENXIO;
	if (!dev->sess)
		goto out;
	err = -EBUSY;
	if (dev->sess->cf)
		goto out;
	cf = dnbd_cachefile_open(dev->sess, c.cache_fd, &err);
	if (!cf)
		goto out;
	dnbd_session_set_cachefile(dev->sess, cf);
	pr_info("%s: cache file added\n", dev->disk->disk_name);
	err = 0;
out:
	mutex_unlock(&dev->ctl_lock);
	return err;
}

static void dnbd_status_fill(struct dnbd_session *s, struct dnbd_ctl_status *st)
{
	unsigned int i;

	st->bound = 1;
	st->image_id = s->image.id;
	st->image_size = s->image.size;
	st->revision = s->image.revision;
	st->seg_size = s->seg;
	memcpy(st->name, s->image.name, s->image.name_len);
	if (s->cf)
		st->cachefile_bytes = dnbd_cachefile_bytes(s->cf);
	mutex_lock(&s->lock);
	for (i = 0; i < DNBD_MAX_SERVERS && st->n_servers < DNBD_CTL_SERVERS;
	     i++) {
		const struct dnbd_server *sv = &s->core.servers[i];
		struct dnbd_ctl_server *o = &st->servers[st->n_servers];

		if (sv->state == DNBD_SRV_EMPTY)
			continue;
		o->id = sv->id;
		o->state = sv->state;
		o->srtt_us = sv->srtt_us;
		o->weight = sv->weight;
		o->addr.family = sv->addr.family;
		o->addr.port = sv->addr.port;
		memcpy(o->addr.ip, sv->addr.ip, sizeof(o->addr.ip));
		st->n_servers++;
	}
	mutex_unlock(&s->lock);
}

static int dnbd_status(struct dnbd_device *dev, void __user *argp)
{
	struct dnbd_ctl_status *st;
	u32 version;
	int err = 0;

	if (get_user(version, (u32 __user *)argp))
		return -EFAULT;
	if (version != DNBD_CTL_VERSION)
		return -EPROTO;
	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	st->version = DNBD_CTL_VERSION;
	mutex_lock(&dev->ctl_lock);
	if (dev->sess)
		dnbd_status_fill(dev->sess, st);
	mutex_unlock(&dev->ctl_lock);
	if (copy_to_user(argp, st, sizeof(*st)))
		err = -EFAULT;
	kfree(st);
	return err;
}

int dnbd_ioctl(struct dnbd_device *dev, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case DNBD_IOC_VERSION:
		return dnbd_ctl_version(argp);
	case DNBD_IOC_STATUS:
		return dnbd_status(dev, argp);
	case DNBD_IOC_BIND:
	case DNBD_IOC_BIND_KEY:
	case DNBD_IOC_UNBIND:
	case DNBD_IOC_SET_CACHE:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		break;
	default:
		return -ENOTTY;
	}
	switch (cmd) {
	case DNBD_IOC_BIND:
		return dnbd_bind(dev, argp, false);
	case DNBD_IOC_BIND_KEY:
		return dnbd_bind(dev, argp, true);
	case DNBD_IOC_UNBIND:
		return dnbd_unbind(dev);
	default:
		return dnbd_set_cache(dev, argp);
	}
}
