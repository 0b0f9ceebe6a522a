// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters, /dev/dnbd0..N and the blk-mq queue.
 *
 * Every device exists from module load, empty (capacity 0) and read-only,
 * until dnbd-client binds an image to it (dnbd_ctl.c).  Requests go to
 * the bound session (dnbd_session.c), which completes them from its own
 * thread.  The block layer's timeout is not ours to act on: the protocol
 * core retransmits, fails over and, if configured, gives up itself.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/version.h>

#include "dnbd_dev.h"

static unsigned int nr_devices = 4;
module_param(nr_devices, uint, 0444);
MODULE_PARM_DESC(nr_devices, "number of /dev/dnbdN devices (default 4, 1..256)");

static unsigned int queue_depth = 32;
module_param(queue_depth, uint, 0444);
MODULE_PARM_DESC(queue_depth, "requests in flight per device (default 32, 1..128)");

bool dnbd_gro = true;
module_param_named(gro, dnbd_gro, bool, 0644);
MODULE_PARM_DESC(gro, "receive with UDP GRO, datagrams in batches (default 1; read at bind)");

bool dnbd_mcast_loop;
module_param_named(mcast_loop, dnbd_mcast_loop, bool, 0644);
MODULE_PARM_DESC(mcast_loop, "hear own multicast requests, for a server on this host (default 0; read at bind)");

/*
 * dnbd.root=, dnbd.verity=, dnbd.cache= and dnbd.overlay= on the kernel
 * command line belong to the initramfs (dracut module 90dnbd), but the
 * kernel offers them to the module named dnbd too.  Accepted here, so
 * that loading dnbd logs no "unknown parameter"; the driver ignores them
 * (they are readable in /sys/module/dnbd/parameters/).
 */
static char *root, *verity, *cache, *overlay;
module_param(root, charp, 0444);
MODULE_PARM_DESC(root, "ignored: the initramfs's dnbd.root=");
module_param(verity, charp, 0444);
MODULE_PARM_DESC(verity, "ignored: the initramfs's dnbd.verity=");
module_param(cache, charp, 0444);
MODULE_PARM_DESC(cache, "ignored: the initramfs's dnbd.cache=");
module_param(overlay, charp, 0444);
MODULE_PARM_DESC(overlay, "ignored: the initramfs's dnbd.overlay=");
/* Not shown in sysfs: the lab key reaches the driver by DNBD_IOC_BIND_KEY. */
static char *key;
module_param(key, charp, 0);
MODULE_PARM_DESC(key, "ignored: the initramfs's dnbd.key=");

int dnbd_major;
static struct dnbd_device **dnbd_devs;

static blk_status_t dnbd_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct dnbd_device *dev = rq->q->queuedata;
	/* Pairs with smp_store_release() in dnbd_bind(). */
	struct dnbd_session *s = smp_load_acquire(&dev->sess);

	if (req_op(rq) != REQ_OP_READ || !s)
		return BLK_STS_IOERR;
	return dnbd_session_submit(s, rq);
}

/*
 * The core owns timeouts (io_timeout); a request it still works on is
 * waiting for a server, which is the policy for a root device.
 */
static enum blk_eh_timer_return dnbd_timeout(struct request *rq)
{
	return BLK_EH_RESET_TIMER;
}

/*
 * The NUMA node is the hardware context's numa_node, of its type: unsigned
 * int until the NUMA_NO_NODE fix of 2026 (Linux 7.x) made both int.  The
 * type follows the struct, so fixes backported to stable trees build too.
 */
static int dnbd_init_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx,
			     typeof_member(struct blk_mq_hw_ctx, numa_node) numa_node)
{
	struct dnbd_cmd *cmd = blk_mq_rq_to_pdu(rq);

	cmd->rq = rq;
	cmd->n_edge = 0;
	INIT_LIST_HEAD(&cmd->done_node);
	return 0;
}

static const struct blk_mq_ops dnbd_mq_ops = {
	.queue_rq	= dnbd_queue_rq,
	.timeout	= dnbd_timeout,
	.init_request	= dnbd_init_request,
};

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
static int dnbd_bdev_ioctl(struct block_device *bdev, blk_mode_t mode,
			   unsigned int cmd, unsigned long arg)
#else
static int dnbd_bdev_ioctl(struct block_device *bdev, fmode_t mode,
			   unsigned int cmd, unsigned long arg)
#endif
{
	return dnbd_ioctl(bdev->bd_disk->private_data, cmd, arg);
}

static const struct block_device_operations dnbd_fops = {
	.owner		= THIS_MODULE,
	.ioctl		= dnbd_bdev_ioctl,
	.compat_ioctl	= dnbd_bdev_ioctl,
};

static struct gendisk *dnbd_alloc_disk(struct dnbd_device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	struct queue_limits lim = {
		.logical_block_size	= SECTOR_SIZE,
		.physical_block_size	= PAGE_SIZE,
		.max_hw_sectors		= DNBD_MAX_SECTORS,
		.io_opt			= DNBD_IO_OPT,
	};

	return blk_mq_alloc_disk(&dev->tag_set, &lim, dev);
#else
	struct gendisk *disk = blk_mq_alloc_disk(&dev->tag_set, dev);

	if (IS_ERR(disk))
		return disk;
	blk_queue_logical_block_size(disk->queue, SECTOR_SIZE);
	blk_queue_physical_block_size(disk->queue, PAGE_SIZE);
	blk_queue_max_hw_sectors(disk->queue, DNBD_MAX_SECTORS);
	/* Also sets read-ahead to twice the size: two bursts in flight. */
	blk_queue_io_opt(disk->queue, DNBD_IO_OPT);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, disk->queue);
	return disk;
#endif
}

static int dnbd_dev_add(int index)
{
	struct dnbd_device *dev;
	struct gendisk *disk;
	int err = -ENOMEM;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->index = index;
	mutex_init(&dev->ctl_lock);

	dev->tag_set.ops = &dnbd_mq_ops;
	dev->tag_set.nr_hw_queues = 1;
	dev->tag_set.queue_depth = queue_depth;
	dev->tag_set.numa_node = NUMA_NO_NODE;
	dev->tag_set.cmd_size = sizeof(struct dnbd_cmd);
	dev->tag_set.flags = BLK_MQ_F_BLOCKING;
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 14, 0)
	/* Merging is always on since 6.14, which removed the flag. */
	dev->tag_set.flags |= BLK_MQ_F_SHOULD_MERGE;
#endif
	dev->tag_set.timeout = 30 * HZ;
	dev->tag_set.driver_data = dev;
	err = blk_mq_alloc_tag_set(&dev->tag_set);
	if (err)
		goto out_free;

	disk = dnbd_alloc_disk(dev);
	if (IS_ERR(disk)) {
		err = PTR_ERR(disk);
		goto out_tags;
	}
	dev->disk = disk;
	disk->major = dnbd_major;
	disk->first_minor = index;
	disk->minors = 1;
	disk->flags |= GENHD_FL_NO_PART;
	disk->fops = &dnbd_fops;
	disk->private_data = dev;
	snprintf(disk->disk_name, DISK_NAME_LEN, DNBD_NAME "%d", index);
	set_capacity(disk, 0);
	set_disk_ro(disk, true);

	/* The attribute groups appear with the disk: /sys/block/dnbdN/dnbd/ */
	err = device_add_disk(NULL, disk, dnbd_disk_groups);
	if (err)
		goto out_disk;
	err = dnbd_stats_add(dev);
	if (err)
		goto out_del;
	dnbd_devs[index] = dev;
	return 0;

out_del:
	del_gendisk(disk);
out_disk:
	put_disk(disk);
out_tags:
	blk_mq_free_tag_set(&dev->tag_set);
out_free:
	kfree(dev);
	return err;
}

static void dnbd_dev_remove(struct dnbd_device *dev)
{
	dnbd_stats_remove(dev);
	dnbd_unbind(dev);
	del_gendisk(dev->disk);
	put_disk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	kfree(dev);
}

static void dnbd_remove_all(void)
{
	unsigned int i;

	for (i = 0; i < nr_devices; i++)
		if (dnbd_devs[i])
			dnbd_dev_remove(dnbd_devs[i]);
}

static int __init dnbd_init(void)
{
	unsigned int i;
	int err;

	if (!nr_devices || nr_devices > 256) {
		pr_err(DNBD_NAME ": nr_devices must be 1..256, not %u\n",
		       nr_devices);
		return -EINVAL;
	}
	if (!queue_depth || queue_depth > 128) {
		pr_err(DNBD_NAME ": queue_depth must be 1..128, not %u\n",
		       queue_depth);
		return -EINVAL;
	}
	dnbd_devs = kcalloc(nr_devices, sizeof(*dnbd_devs), GFP_KERNEL);
	if (!dnbd_devs)
		return -ENOMEM;
	err = dnbd_cachefile_init();
	if (err)
		goto out_free;
	err = dnbd_stats_init();
	if (err)
		goto out_cachefile;
	dnbd_major = register_blkdev(0, DNBD_NAME);
	if (dnbd_major < 0) {
		err = dnbd_major;
		goto out_stats;
	}
	for (i = 0; i < nr_devices; i++) {
		err = dnbd_dev_add(i);
		if (err)
			goto out_devs;
	}
	pr_info(DNBD_NAME ": %u devices, control interface version %d\n",
		nr_devices, DNBD_CTL_VERSION);
	return 0;

out_devs:
	dnbd_remove_all();
	unregister_blkdev(dnbd_major, DNBD_NAME);
out_stats:
	dnbd_stats_exit();
out_cachefile:
	dnbd_cachefile_exit();
out_free:
	kfree(dnbd_devs);
	return err;
}

static void __exit dnbd_exit(void)
{
	dnbd_remove_all();
	unregister_blkdev(dnbd_major, DNBD_NAME);
	dnbd_stats_exit();
	dnbd_cachefile_exit();
	kfree(dnbd_devs);
	pr_info(DNBD_NAME ": unloaded\n");
}

module_init(dnbd_init);
module_exit(dnbd_exit);
MODULE_DESCRIPTION("dnbd: read-only caching network block device over UDP multicast");
MODULE_LICENSE("GPL");
MODULE_VERSION("1.0.0");	/* = PACKAGE_VERSION in dkms.conf */
