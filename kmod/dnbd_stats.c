// SPDX-License-Identifier: GPL-2.0
/*
 * Statistics where the original had them,
 * /proc/driver/dnbd/dnbdN (one readable page per device), and the same
 * figures one per file under /sys/block/dnbdN/dnbd/.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>

#include "dnbd_dev.h"

static struct proc_dir_entry *dnbd_proc_dir;

static const char *const dnbd_srv_state_names[] = { "empty", "up", "down" };

/* Cache hits and misses: the memory cache and the cache file together. */
static void dnbd_cache_counts(struct dnbd_session *s, u64 *hits, u64 *misses)
{
	*hits = s->core.counters[DNBD_CC_cache_hits] +
		atomic64_read(&s->counters[DNBD_DC_cachefile_hits]);
	/* A segment the file missed is looked up in memory next. */
	*misses = s->core.counters[DNBD_CC_cache_misses];
}

/* ---- /proc/driver/dnbd/dnbdN -------------------------------------------- */

static void dnbd_proc_servers(struct seq_file *m, struct dnbd_session *s)
{
	unsigned int i;

	seq_puts(m, "servers:\n  id  address                state  srtt_us  rttvar_us  weight  requests  replies\n");
	for (i = 0; i < DNBD_MAX_SERVERS; i++) {
		const struct dnbd_server *sv = &s->core.servers[i];

		if (sv->state == DNBD_SRV_EMPTY)
			continue;
		seq_printf(m, "  %-3u %pI4:%-7u %-6s %8u %10u %7u %9llu %8llu\n",
			   sv->id, sv->addr.ip, sv->addr.port,
			   dnbd_srv_state_names[sv->state], sv->srtt_us,
			   sv->rttvar_us, sv->weight, sv->requests,
			   sv->replies);
	}
}

static void dnbd_proc_bound(struct seq_file *m, struct dnbd_session *s)
{
	const struct dnbd_client_cfg *cfg = &s->core.cfg;
	u64 hits, misses;
	unsigned int i;

	seq_printf(m, "state: bound\nimage: %s\nimage_id: 0x%016llx\n",
		   s->image.name, s->image.id);
	seq_printf(m, "size: %llu\nrevision: %u\nsegment: %u\n",
		   s->image.size, s->image.revision, s->seg);
	if (cfg->multicast)
		seq_printf(m, "transport: multicast %pI4:%u\n",
			   cfg->group.ip, cfg->group.port);
	else
		seq_printf(m, "transport: unicast, %u servers\n",
			   cfg->n_unicast);
	seq_printf(m, "rx_gro: %s\n", s->gro ? "on" : "off");
	seq_printf(m, "io_timeout_ms: %llu%s\n",
		   div_u64(cfg->io_timeout_us, 1000),
		   cfg->io_timeout_us ? "" : " (wait for a server forever)");
	mutex_lock(&s->lock);
	dnbd_cache_counts(s, &hits, &misses);
	seq_printf(m, "cache_hits: %llu\ncache_misses: %llu\n", hits, misses);
	seq_printf(m, "memory_cache: %u of %u segments\n", s->core.cache.used,
		   s->core.cache.cap);
	if (s->cf)
		seq_printf(m, "cache_file: %u segments, %llu bytes\n",
			   dnbd_cachefile_slots(s->cf),
			   dnbd_cachefile_bytes(s->cf));
	else
		seq_puts(m, "cache_file: none\n");
	dnbd_proc_servers(m, s);
	seq_puts(m, "counters:\n");
	for (i = 0; i < DNBD_CC_MAX; i++)
		seq_printf(m, "  %s %llu\n", dnbd_client_counter_names[i],
			   s->core.counters[i]);
	mutex_unlock(&s->lock);
	for (i = 0; i < DNBD_DC_MAX; i++)
		seq_printf(m, "  %s %llu\n", dnbd_dev_counter_names[i],
			   (u64)atomic64_read(&s->counters[i]));
}

static int dnbd_proc_show(struct seq_file *m, void *v)
{
	struct dnbd_device *dev = m->private;

	seq_printf(m, "device: %s\n", dev->disk->disk_name);
	mutex_lock(&dev->ctl_lock);
	if (dev->sess)
		dnbd_proc_bound(m, dev->sess);
	else
		seq_puts(m, "state: unbound\n");
	mutex_unlock(&dev->ctl_lock);
	return 0;
}

int dnbd_stats_add(struct dnbd_device *dev)
{
	if (!proc_create_single_data(dev->disk->disk_name, 0444,
				     dnbd_proc_dir, dnbd_proc_show, dev))
		return -ENOMEM;
	return 0;
}

void dnbd_stats_remove(struct dnbd_device *dev)
{
	remove_proc_entry(dev->disk->disk_name, dnbd_proc_dir);
}

int dnbd_stats_init(void)
{
	dnbd_proc_dir = proc_mkdir("driver/" DNBD_NAME, NULL);
	return dnbd_proc_dir ? 0 : -ENOMEM;
}

void dnbd_stats_exit(void)
{
	proc_remove(dnbd_proc_dir);
}

/* ---- /sys/block/dnbdN/dnbd/ --------------------------------------------- */

typedef int (*dnbd_attr_fn)(struct dnbd_session *s, char *buf);

/* Calls fn with the bound session, or prints "" when unbound. */
static ssize_t dnbd_attr_show(struct device *d, char *buf, dnbd_attr_fn fn)
{
	struct dnbd_device *dev = dev_to_disk(d)->private_data;
	ssize_t n = 0;

	mutex_lock(&dev->ctl_lock);
	if (dev->sess)
		n = fn(dev->sess, buf);
	mutex_unlock(&dev->ctl_lock);
	return n;
}

static int dnbd_show_image(struct dnbd_session *s, char *buf)
{
	return sysfs_emit(buf, "%s\n", s->image.name);
}

static int dnbd_show_image_id(struct dnbd_session *s, char *buf)
{
	return sysfs_emit(buf, "0x%016llx\n", s->image.id);
}

static int dnbd_show_revision(struct dnbd_session *s, char *buf)
{
	return sysfs_emit(buf, "%u\n", s->image.revision);
}

static int dnbd_show_cache_hits(struct dnbd_session *s, char *buf)
{
	u64 hits, misses;

	mutex_lock(&s->lock);
	dnbd_cache_counts(s, &hits, &misses);
	mutex_unlock(&s->lock);
	return sysfs_emit(buf, "%llu\n", hits);
}

static int dnbd_show_cache_misses(struct dnbd_session *s, char *buf)
{
	u64 hits, misses;

	mutex_lock(&s->lock);
	dnbd_cache_counts(s, &hits, &misses);
	mutex_unlock(&s->lock);
	return sysfs_emit(buf, "%llu\n", misses);
}

/* One line per server: id address:port state srtt_us weight. */
static int dnbd_show_servers(struct dnbd_session *s, char *buf)
{
	unsigned int i;
	int n = 0;

	mutex_lock(&s->lock);
	for (i = 0; i < DNBD_MAX_SERVERS; i++) {
		const struct dnbd_server *sv = &s->core.servers[i];

		if (sv->state == DNBD_SRV_EMPTY)
			continue;
		n += sysfs_emit_at(buf, n, "%u %pI4:%u %s %u %u\n", sv->id,
				   sv->addr.ip, sv->addr.port,
				   dnbd_srv_state_names[sv->state],
				   sv->srtt_us, sv->weight);
	}
	mutex_unlock(&s->lock);
	return n;
}

/* Every counter, "name value" per line, as in /proc. */
static int dnbd_show_counters(struct dnbd_session *s, char *buf)
{
	unsigned int i;
	int n = 0;

	mutex_lock(&s->lock);
	for (i = 0; i < DNBD_CC_MAX; i++)
		n += sysfs_emit_at(buf, n, "%s %llu\n",
				   dnbd_client_counter_names[i],
				   s->core.counters[i]);
	mutex_unlock(&s->lock);
	for (i = 0; i < DNBD_DC_MAX; i++)
		n += sysfs_emit_at(buf, n, "%s %llu\n",
				   dnbd_dev_counter_names[i],
				   (u64)atomic64_read(&s->counters[i]));
	return n;
}

#define DNBD_ATTR(name)							\
static ssize_t name##_show(struct device *d,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return dnbd_attr_show(d, buf, dnbd_show_##name);		\
}									\
static DEVICE_ATTR_RO(name)

DNBD_ATTR(image);
DNBD_ATTR(image_id);
DNBD_ATTR(revision);
DNBD_ATTR(cache_hits);
DNBD_ATTR(cache_misses);
DNBD_ATTR(servers);
DNBD_ATTR(counters);

static struct attribute *dnbd_attrs[] = {
	&dev_attr_image.attr,
	&dev_attr_image_id.attr,
	&dev_attr_revision.attr,
	&dev_attr_cache_hits.attr,
	&dev_attr_cache_misses.attr,
	&dev_attr_servers.attr,
	&dev_attr_counters.attr,
	NULL,
};

static const struct attribute_group dnbd_attr_group = {
	.name = DNBD_NAME,
	.attrs = dnbd_attrs,
};

const struct attribute_group *dnbd_disk_groups[] = {
	&dnbd_attr_group,
	NULL,
};
