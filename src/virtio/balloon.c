/* SPDX-License-Identifier: MIT */
#include "virtio/balloon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "le.h"
#include "metrics.h"
#include "snapshot/snap.h"

/* ----------------------------------------------------------------- state */

/* Queue roles. Their indexes depend on the negotiated features: a queue
 * whose feature was not negotiated does not exist and takes no index
 * (Linux numbers its virtqueues that way), so with PAGE_REPORTING but
 * not STATS_VQ the reporting queue is queue 2. See balloon_queue_role. */
enum balloon_queue {
	BALLOON_Q_INFLATE,
	BALLOON_Q_DEFLATE,
	BALLOON_Q_STATS,
	BALLOON_Q_REPORTING,
	BALLOON_Q_NONE,
};

/* The stats queue is always index 2 when it exists. */
#define BALLOON_STATSQ 2

/* Work bounds per chain, so a guest cannot keep the event loop busy for
 * long with one request: Linux sends at most 256 PFNs and 10 statistics
 * per buffer. Anything beyond is ignored (and logged). */
#define BALLOON_MAX_PFNS 65536
#define BALLOON_MAX_STATS 64
#define BALLOON_STAT_SIZE 10 /* le16 tag, le64 value, packed */

struct balloon {
	struct virtio_dev *dev;
	struct evloop *ev;
	int timer_fd;		 /* statistics polling, or -1 */
	uint32_t stats_interval; /* s; 0: no statistics queue */
	uint64_t ram_pages;	 /* guest RAM in 4 KiB pages: the largest target */
	size_t host_page;	 /* madvise granularity */
	uint32_t target;	 /* num_pages, as the host set it */
	bool stats_held;	 /* we hold the driver's stats buffer ... */
	uint16_t stats_head;	 /* ... and this is its head */
	struct balloon_stats st;
	uint64_t inflates, deflates, reports; /* chains taken, for the metrics */
	struct virtq_chain chain;	      /* scratch for the queue handlers (4 KiB) */
	struct log_limit log_pfn, log_len, log_madvise, log_queue;
};

static const char *const balloon_stat_names[VIRTIO_BALLOON_S_NR] = {
	[VIRTIO_BALLOON_S_SWAP_IN] = "swap_in",
	[VIRTIO_BALLOON_S_SWAP_OUT] = "swap_out",
	[VIRTIO_BALLOON_S_MAJFLT] = "major_faults",
	[VIRTIO_BALLOON_S_MINFLT] = "minor_faults",
	[VIRTIO_BALLOON_S_MEMFREE] = "free",
	[VIRTIO_BALLOON_S_MEMTOT] = "total",
	[VIRTIO_BALLOON_S_AVAIL] = "available",
	[VIRTIO_BALLOON_S_CACHES] = "caches",
	[VIRTIO_BALLOON_S_HTLB_PGALLOC] = "hugetlb_allocations",
	[VIRTIO_BALLOON_S_HTLB_PGFAIL] = "hugetlb_failures",
};

const char *virtio_balloon_stat_name(unsigned int tag)
{
	return tag < VIRTIO_BALLOON_S_NR ? balloon_stat_names[tag] : NULL;
}

/* ---------------------------------------------------------- config space */

/* struct virtio_balloon_config: le32 num_pages, le32 actual,
 * le32 free_page_hint_cmd_id, le32 poison_val. */
#define BALLOON_CFG_NUM_PAGES 0
#define BALLOON_CFG_ACTUAL 4
#define BALLOON_CFG_SIZE 16

/* The transport stored the driver's bytes already. Only `actual` is the
 * driver's to write; num_pages is the host's, and the last two fields
 * belong to features not offered, so they are put back. */
static void balloon_config_write(struct virtio_dev *dev, uint32_t off, uint32_t len)
{
	struct balloon *b = dev->priv;

	(void)off;
	(void)len;
	le_put(dev->config + BALLOON_CFG_NUM_PAGES, b->target, 4);
	memset(dev->config + 8, 0, BALLOON_CFG_SIZE - 8);
	b->st.actual_pages = (uint32_t)le_get(dev->config + BALLOON_CFG_ACTUAL, 4);
}

int virtio_balloon_set_target(struct virtio_dev *dev, uint64_t bytes)
{
	struct balloon *b = dev->priv;
	uint64_t pages = bytes >> VIRTIO_BALLOON_PAGE_SHIFT;

	if (pages > b->ram_pages || pages > UINT32_MAX)
		return -ERANGE;
	virtio_lock(dev);
	b->target = (uint32_t)pages;
	le_put(dev->config + BALLOON_CFG_NUM_PAGES, b->target, 4);
	virtio_config_changed(dev);
	virtio_unlock(dev);
	return 0;
}

/* -------------------------------------------------------- queue handlers */

/* Give [host, host + len) back to the host: madvise the host-page-aligned
 * part (MADV_DONTNEED on private anonymous memory frees the pages; the
 * next access, by the guest or by us, faults in a zero page). Returns the
 * bytes discarded. `host` comes from gm_ptr, so the range is guest RAM. */
static uint64_t balloon_discard(struct balloon *b, uint8_t *host, uint64_t len)
{
	uintptr_t start = ((uintptr_t)host + b->host_page - 1) & ~(uintptr_t)(b->host_page - 1);
	uintptr_t end = ((uintptr_t)host + len) & ~(uintptr_t)(b->host_page - 1);

	if (end <= start)
		return 0;
	if (madvise((void *)start, end - start, MADV_DONTNEED)) {
		log_limited(&b->log_madvise, "virtio-balloon: madvise(%p, %#lx): %m", (void *)start,
			    (unsigned long)(end - start));
		return 0;
	}
	/* Their contents changed (to zeros, or a restored VM's file pages):
	 * dirty-page tracking must see it. */
	gm_mark_dirty_host(b->dev->gm, (void *)start, end - start);
	return end - start;
}

static enum balloon_queue balloon_queue_role(const struct virtio_dev *dev, unsigned int q)
{
	unsigned int next = 2;

	if (q == 0)
		return BALLOON_Q_INFLATE;
	if (q == 1)
		return BALLOON_Q_DEFLATE;
	if (virtio_has(dev, VIRTIO_BALLOON_F_STATS_VQ) && q == next++)
		return BALLOON_Q_STATS;
	/* FREE_PAGE_HINT (never offered) would take the next index here. */
	if (virtio_has(dev, VIRTIO_BALLOON_F_PAGE_REPORTING) && q == next)
		return BALLOON_Q_REPORTING;
	return BALLOON_Q_NONE;
}

/*
 * An inflate or deflate request: an array of le32 PFNs in the chain's
 * readable buffers. Each PFN is the guest's word only: a page outside
 * guest RAM is counted, logged and skipped. Inflated pages go back to the
 * host, contiguous runs in one madvise. The guest may name the pages of
 * the PFN array itself or of its rings: we copied what we act on, and
 * its own memory reading back as zeroes is all it gets for that.
 */
static void balloon_pfns(struct balloon *b, const struct virtq_chain *c, bool inflate)
{
	const struct gm *gm = b->dev->gm;
	uint64_t total = c->out_len - c->out_len % 4;
	uint8_t *run = NULL;
	uint64_t run_len = 0;
	uint8_t buf[256];
	size_t off = 0;

	if (c->out_len % 4 || total > 4ULL * BALLOON_MAX_PFNS) {
		log_limited(
		    &b->log_len,
		    "virtio-balloon: PFN array of %u bytes: not whole PFNs or over %u of them",
		    c->out_len, BALLOON_MAX_PFNS);
		if (total > 4ULL * BALLOON_MAX_PFNS)
			total = 4ULL * BALLOON_MAX_PFNS;
	}
	while (off < total) {
		size_t want = total - off < sizeof(buf) ? (size_t)(total - off) : sizeof(buf);
		size_t n = virtq_chain_read(c, off, buf, want);

		n -= n % 4;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i += 4) {
			uint32_t pfn = (uint32_t)le_get(buf + i, 4);
			uint8_t *host = gm_ptr(gm, (gpa_t)pfn << VIRTIO_BALLOON_PAGE_SHIFT,
					       VIRTIO_BALLOON_PAGE_SIZE);

			if (!host) {
				b->st.bad_pfns++;
				log_limited(&b->log_pfn,
					    "virtio-balloon: %s PFN %#x is outside guest RAM",
					    inflate ? "inflate" : "deflate", pfn);
				continue;
			}
			if (!inflate) {
				b->st.deflated++;
				continue;
			}
			b->st.inflated++;
			if (run && host == run + run_len) {
				run_len += VIRTIO_BALLOON_PAGE_SIZE;
				continue;
			}
			if (run)
				balloon_discard(b, run, run_len);
			run = host;
			run_len = VIRTIO_BALLOON_PAGE_SIZE;
		}
		off += n;
	}
	if (run)
		balloon_discard(b, run, run_len);
}

/* Free page reporting: every buffer of the chain (Linux sends them
 * device-writable) is a free guest range; the device writes nothing. */
static void balloon_report(struct balloon *b, const struct virtq_chain *c)
{
	for (unsigned int i = 0; i < (unsigned int)c->nout + c->nin; i++)
		b->st.reported += balloon_discard(b, c->iov[i].iov_base, c->iov[i].iov_len) >>
				  VIRTIO_BALLOON_PAGE_SHIFT;
}

/* A statistics buffer: 10-byte entries (le16 tag, le64 value) in the
 * readable part. Unknown tags are ignored (5.5.6.3.2), a trailing partial
 * entry too; the set of valid values is exactly what this buffer held. */
static void balloon_stats_parse(struct balloon *b, const struct virtq_chain *c)
{
	uint32_t n = c->out_len / BALLOON_STAT_SIZE, have = 0;

	if (c->out_len % BALLOON_STAT_SIZE || n > BALLOON_MAX_STATS)
		log_limited(&b->log_len, "virtio-balloon: statistics buffer of %u bytes",
			    c->out_len);
	if (n > BALLOON_MAX_STATS)
		n = BALLOON_MAX_STATS;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t e[BALLOON_STAT_SIZE];
		unsigned int tag;

		if (virtq_chain_read(c, (size_t)i * sizeof(e), e, sizeof(e)) != sizeof(e))
			break;
		tag = (unsigned int)le_get(e, 2);
		if (tag >= VIRTIO_BALLOON_S_NR)
			continue;
		b->st.val[tag] = le_get(e + 2, 8);
		have |= 1u << tag;
	}
	b->st.have = have;
	b->st.nreports++;
}

/*
 * The stats queue runs backwards (5.5.6.3): the driver keeps one buffer
 * with its statistics available, the device holds on to it and uses it
 * to ask for fresh ones (virtio_balloon_stats). A driver that breaks the
 * one-buffer rule gets its older buffer back at once, so none is lost.
 */
static void balloon_stats_take(struct virtio_dev *dev, unsigned int q)
{
	struct balloon *b = dev->priv;

	balloon_stats_parse(b, &b->chain);
	if (b->stats_held)
		virtio_complete(dev, q, b->stats_head, 0);
	b->stats_held = true;
	b->stats_head = b->chain.head;
}

static void balloon_notify(struct virtio_dev *dev, unsigned int q)
{
	struct balloon *b = dev->priv;
	enum balloon_queue role = balloon_queue_role(dev, q);
	int r;

	if (role == BALLOON_Q_NONE) {
		log_limited(&b->log_queue, "virtio-balloon: kick on queue %u, which does not exist",
			    q);
		return;
	}
	if (!dev->vq[q].ready)
		return;
	while ((r = virtq_pop(&dev->vq[q], &b->chain)) > 0) {
		switch (role) {
		case BALLOON_Q_INFLATE:
		case BALLOON_Q_DEFLATE:
			if (role == BALLOON_Q_INFLATE)
				b->inflates++;
			else
				b->deflates++;
			balloon_pfns(b, &b->chain, role == BALLOON_Q_INFLATE);
			break;
		case BALLOON_Q_REPORTING:
			b->reports++;
			balloon_report(b, &b->chain);
			break;
		case BALLOON_Q_STATS:
			balloon_stats_take(dev, q);
			continue; /* held, not used now */
		case BALLOON_Q_NONE:
			break;
		}
		virtio_complete(dev, q, b->chain.head, 0);
	}
	if (r < 0)
		virtio_fail(dev, "malformed chain");
}

/* Give the driver its stats buffer back: the spec's way of asking for
 * fresh statistics (5.5.6.3). Caller holds dev->lock. */
static void balloon_stats_request(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;

	if (b->stats_held && virtio_active(dev) && !dev->paused) {
		b->stats_held = false;
		virtio_complete(dev, BALLOON_STATSQ, b->stats_head, 0);
	}
}

int virtio_balloon_stats(struct virtio_dev *dev, struct balloon_stats *out)
{
	struct balloon *b = dev->priv;

	virtio_lock(dev);
	*out = b->st;
	out->target_pages = b->target;
	balloon_stats_request(dev);
	virtio_unlock(dev);
	return 0;
}

/* Event-loop thread: the polling period is over. */
static void balloon_on_timer(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	uint64_t expirations;

	(void)events;
	if (read(b->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	virtio_lock(b->dev);
	balloon_stats_request(b->dev);
	virtio_unlock(b->dev);
}

static int balloon_arm(struct balloon *b)
{
	struct itimerspec its = { .it_interval.tv_sec = b->stats_interval,
				  .it_value.tv_sec = b->stats_interval };

	return timerfd_settime(b->timer_fd, 0, &its, NULL) ? -errno : 0;
}

int virtio_balloon_set_stats_interval(struct virtio_dev *dev, uint32_t seconds)
{
	struct balloon *b = dev->priv;
	int err;

	virtio_lock(dev);
	if (!b->stats_interval != !seconds) {
		virtio_unlock(dev);
		return -EINVAL;
	}
	b->stats_interval = seconds;
	err = seconds ? balloon_arm(b) : 0;
	virtio_unlock(dev);
	return err;
}

void virtio_balloon_metrics(const struct virtio_dev *dev, struct metrics_out *out)
{
	static const struct balloon_stats none;
	const struct balloon *b = dev ? dev->priv : NULL;
	const struct balloon_stats *st = b ? &b->st : &none;

	virtio_metrics_common(dev, out);
	metrics_counter(out, "inflate_count", b ? b->inflates : 0);
	metrics_counter(out, "deflate_count", b ? b->deflates : 0);
	metrics_counter(out, "stats_updates_count", st->nreports);
	metrics_counter(out, "free_page_report_count", b ? b->reports : 0);
	metrics_counter(out, "free_page_report_freed", st->reported << VIRTIO_BALLOON_PAGE_SHIFT);
	metrics_counter(out, "inflated_pages", st->inflated);
	metrics_counter(out, "deflated_pages", st->deflated);
	metrics_counter(out, "bad_pfns", st->bad_pfns);
	metrics_gauge(out, "target_pages", b ? b->target : 0);
	metrics_gauge(out, "actual_pages", st->actual_pages);
}

/* ------------------------------------------------------------- ops table */

/* After a reset the driver starts with an empty balloon: whatever it had
 * inflated is guest memory again (refaulting as zeroes). */
static void balloon_reset(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;

	b->stats_held = false;
	b->st.actual_pages = 0;
	le_put(dev->config + BALLOON_CFG_ACTUAL, 0, 4);
}

static void balloon_destroy(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;

	if (b->timer_fd >= 0) {
		evloop_del(b->ev, b->timer_fd);
		close(b->timer_fd);
	}
	free(b);
	dev->priv = NULL;
}

static int balloon_snapshot(struct virtio_dev *dev, struct snap *s, const struct virtio_snap *next);

static const struct virtio_ops balloon_ops = {
	.name = "balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.nqueues = 4, /* inflateq, deflateq, statsq, reporting_vq at most */
	.queue_max = 128,
	.config_size = BALLOON_CFG_SIZE,
	.config_write = balloon_config_write,
	.notify = balloon_notify,
	.reset = balloon_reset,
	.destroy = balloon_destroy,
	.metrics = virtio_balloon_metrics,
	.snapshot = balloon_snapshot,
};

/* Offered as the configuration asks: statistics (with a polling period),
 * deflate-on-OOM, free page reporting; never MUST_TELL_HOST, FREE_PAGE_HINT
 * or PAGE_POISON. */
int virtio_balloon_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
			  const struct balloon_config *cfg)
{
	struct balloon *b = calloc(1, sizeof(*b));
	long page = sysconf(_SC_PAGESIZE);
	uint64_t offered = 0;
	int err;

	if (!b)
		return -ENOMEM;
	b->dev = dev;
	b->ev = ev;
	b->timer_fd = -1;
	b->host_page = page > 0 ? (size_t)page : 4096;
	for (unsigned int i = 0; i < gm->nregions; i++)
		b->ram_pages += gm->region[i].size >> VIRTIO_BALLOON_PAGE_SHIFT;
	b->log_pfn = (struct log_limit)LOG_LIMIT_INIT(8);
	b->log_len = (struct log_limit)LOG_LIMIT_INIT(8);
	b->log_madvise = (struct log_limit)LOG_LIMIT_INIT(8);
	b->log_queue = (struct log_limit)LOG_LIMIT_INIT(8);
	b->stats_interval = cfg->stats_polling_interval_s;
	if (b->stats_interval) {
		offered |= VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ);
		b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		err = b->timer_fd < 0 ? -errno : balloon_arm(b);
		if (!err)
			err = evloop_add(ev, b->timer_fd, EPOLLIN, balloon_on_timer, b);
		if (err) {
			if (b->timer_fd >= 0)
				close(b->timer_fd);
			free(b);
			return err;
		}
	}
	if (cfg->deflate_on_oom)
		offered |= VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	if (cfg->free_page_reporting)
		offered |= VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING);
	virtio_dev_init(dev, &balloon_ops, offered, b, gm);
	memset(dev->config, 0, BALLOON_CFG_SIZE);
	b->target = (uint32_t)((uint64_t)cfg->amount_mib << 20 >> VIRTIO_BALLOON_PAGE_SHIFT);
	le_put(dev->config + BALLOON_CFG_NUM_PAGES, b->target, 4);
	return 0;
}

/* ------------------------------------------------------------- snapshot */

/* The host's target, the statistics buffer the device holds (its head:
 * given back with virtio_complete when fresh statistics are wanted) and
 * the guest's latest statistics. The driver's `actual` is in config space,
 * the transport's part; the counters since creation start again. */
static int balloon_snapshot(struct virtio_dev *dev, struct snap *s, const struct virtio_snap *next)
{
	struct balloon *b = dev->priv;
	const struct virtq *sq = &next->vq[BALLOON_STATSQ];
	uint32_t target = b->target, have = b->st.have;
	uint64_t val[VIRTIO_BALLOON_S_NR];
	uint16_t head = b->stats_head;
	bool held = b->stats_held;

	memcpy(val, b->st.val, sizeof(val));
	snap_u32(s, &target);
	snap_bool(s, &held);
	snap_u16(s, &head);
	snap_u32(s, &have);
	for (unsigned int i = 0; i < VIRTIO_BALLOON_S_NR; i++)
		snap_u64(s, &val[i]);
	snap_check(s, target <= b->ram_pages,
		   "balloon target of %u pages is more than guest RAM (%llu pages)", target,
		   (unsigned long long)b->ram_pages);
	snap_check(s,
		   le_get(next->config + BALLOON_CFG_NUM_PAGES, 4) == target &&
		       !le_get(next->config + 8, 8),
		   "balloon config space does not hold the target of %u pages", target);
	snap_check(s, !(have >> VIRTIO_BALLOON_S_NR),
		   "balloon statistics mask %#x has unknown tags", have);
	/* A held buffer is a chain in flight on the statistics queue. */
	if (held)
		snap_check(s,
			   (next->features & VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ)) && sq->ready &&
			       head < sq->size && sq->last_avail != sq->used_idx,
			   "balloon statistics buffer %u is not in flight on the statistics queue",
			   head);
	if (snap_finish(s) || snap_saving(s))
		return snap_error(s);
	balloon_reset(dev);
	b->target = target;
	b->stats_held = held;
	b->stats_head = head;
	b->st.have = have;
	memcpy(b->st.val, val, sizeof(val));
	b->st.actual_pages = (uint32_t)le_get(next->config + BALLOON_CFG_ACTUAL, 4);
	return 0;
}
