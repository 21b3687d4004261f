/* SPDX-License-Identifier: MIT */
#include "virtio/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "le.h"
#include "metrics.h"
#include "snapshot/snap.h"
#include "vhost_user/vhost_user.h"

#define FS_QUEUES 2 /* hiprio + one request queue */
#define FS_CONFIG_SIZE 40
#define FS_TAG_SIZE 36
#define FS_HEADER 16 /* struct fuse_out_header: len, error, unique */

/* What the transport offers on every device: the back end must take it. */
#define FS_BACKEND_NEEDS                                                                           \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |                         \
	 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))

/* ----------------------------------------------------------------- state */

struct fs {
	struct virtio_dev *dev;
	struct evloop *ev;
	struct vhu vhu;
	char name[64]; /* "virtio-fs 'tag'" */
	pid_t daemon;  /* the virtiofsd petrel started, or 0 */
	bool started;  /* the rings are the back end's */
	bool broken;   /* the back end is gone: petrel answers EIO */
	int err_fd[FS_QUEUES];
	uint64_t answered;     /* requests petrel failed itself (EIO) */
	uint64_t backend_lost; /* 1 once the back end was dropped */
	struct log_limit log;
};

static void fs_answer(struct fs *fs, unsigned int q);

/* ------------------------------------------------------- losing the back end */

/* Requests the back end took and did not answer are answered by petrel
 * if it answered in order: then they are exactly the avail entries from
 * its used index on. The used ring's last entries must name the same
 * heads as the avail ring at the same positions (those not yet reused),
 * or petrel cannot tell which are open. */
static bool fs_take_back(struct fs *fs, unsigned int q)
{
	struct virtq *vq = &fs->dev->vq[q];
	const uint8_t *avail = vq->avail, *used = vq->used;
	uint16_t used_idx = (uint16_t)le_get(used + 2, 2);
	uint16_t avail_idx = (uint16_t)le_get(avail + 2, 2);

	if ((uint16_t)(avail_idx - used_idx) > vq->size)
		return false;
	for (uint16_t i = 1; i <= vq->size; i++) {
		uint16_t p = (uint16_t)(used_idx - i), slot = p & (vq->size - 1);

		if ((uint16_t)(avail_idx - p) > vq->size)
			break; /* the driver has reused this avail slot */
		if (le_get(used + 4 + 8 * slot, 4) != le_get(avail + 4 + 2 * slot, 2))
			return false;
	}
	vq->last_avail = vq->used_idx = used_idx;
	vq->signalled_valid = false;
	return true;
}

/* Drop the back end for good (dev->lock held): shut the connection (the
 * event loop closes it: fs_on_socket), take the rings back, watch the
 * doorbells and answer what is waiting. `answer` false from a reset (the
 * transport clears the queues next). */
static void fs_break(struct fs *fs, const char *why, bool answer)
{
	struct virtio_dev *dev = fs->dev;
	bool in_order = true;

	if (fs->broken)
		return;
	log_msg("%s: %s; the guest gets I/O errors from now on", fs->name, why);
	fs->broken = true;
	fs->backend_lost = 1;
	if (fs->vhu.fd >= 0)
		shutdown(fs->vhu.fd, SHUT_RDWR);
	for (unsigned int q = 0; fs->started && q < FS_QUEUES; q++)
		if (dev->vq[q].ready && !fs_take_back(fs, q))
			in_order = false;
	fs->started = false;
	if (!in_order) {
		log_msg("%s: the back end answered out of order: its open requests stay open",
			fs->name);
		dev->transport->needs_reset(dev);
		return;
	}
	dev->doorbells_watched = true;
	dev->transport->doorbells_changed(dev);
	if (!answer || !virtio_active(dev) || dev->paused)
		return;
	for (unsigned int q = 0; q < FS_QUEUES; q++)
		if (dev->vq[q].ready)
			fs_answer(fs, q);
}

/* Event loop: the connection hung up, or the back end spoke unasked (it
 * only ever answers requests, which the thread that sent one reads under
 * dev->lock). Either way the back end is done. */
static void fs_on_socket(void *opaque, uint32_t events)
{
	struct fs *fs = opaque;
	char c;
	ssize_t n = -1;

	virtio_lock(fs->dev);
	if (fs->vhu.fd < 0) {
		virtio_unlock(fs->dev);
		return;
	}
	if (!fs->broken && !(events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
		n = recv(fs->vhu.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			virtio_unlock(fs->dev);
			return;
		}
	}
	fs_break(fs, n > 0 ? "the back end sent a message unasked" : "the back end hung up", true);
	if (evloop_del(fs->ev, fs->vhu.fd))
		log_limited(&fs->log, "%s: epoll: %m", fs->name);
	vhu_close(&fs->vhu);
	virtio_unlock(fs->dev);
}

/* Event loop: the back end signalled a vring's error eventfd. */
static void fs_on_err(void *opaque, uint32_t events)
{
	struct fs *fs = opaque;
	uint64_t v;

	(void)events;
	for (unsigned int q = 0; q < FS_QUEUES; q++)
		if (read(fs->err_fd[q], &v, sizeof(v)) == sizeof(v)) {
			virtio_lock(fs->dev);
			if (fs->started)
				fs_break(fs, "the back end reported a ring error", true);
			virtio_unlock(fs->dev);
		}
}

/* --------------------------------------------------------- queue handlers */

/* Answer every waiting request on queue q with EIO (the back end is
 * gone). A request's unique id is copied from its fuse_in_header; a chain
 * without room for the reply header (FORGET) gets none. */
static void fs_answer(struct fs *fs, unsigned int q)
{
	struct virtio_dev *dev = fs->dev;
	struct virtq_chain *c = malloc(sizeof(*c));
	int r;

	if (!c) {
		log_limited(&fs->log, "%s: out of memory", fs->name);
		return;
	}
	while ((r = virtq_pop(&dev->vq[q], c)) == 1) {
		uint8_t in[FS_HEADER] = { 0 }, out[FS_HEADER];
		uint32_t written = 0;

		virtq_chain_read(c, 0, in, sizeof(in));
		le_put(out, FS_HEADER, 4);
		le_put(out + 4, (uint32_t)-EIO, 4);
		memcpy(out + 8, in + 8, 8);
		if (c->in_len >= FS_HEADER)
			written = (uint32_t)virtq_chain_write(c, 0, out, sizeof(out));
		fs->answered++;
		virtio_complete_chain(dev, q, c, written);
	}
	free(c);
	if (r < 0)
		virtio_fail(dev, "malformed descriptor chain");
}

/* A kick that trapped (before the ioeventfd, or without KVM): the back
 * end waits on the doorbell eventfd, so signal it. */
static void fs_notify(struct virtio_dev *dev, unsigned int q)
{
	struct fs *fs = dev->priv;
	uint64_t one = 1;
	int kick, call;

	if (fs->broken) {
		fs_answer(fs, q);
		return;
	}
	if (!fs->started)
		return;
	dev->transport->queue_fds(dev, q, &kick, &call);
	if (write(kick, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_limited(&fs->log, "%s: doorbell: %m", fs->name);
}

/* DRIVER_OK: hand the rings to the back end. A failure drops it (the
 * guest gets I/O errors), it does not fail the device. */
static int fs_activate(struct virtio_dev *dev)
{
	struct fs *fs = dev->priv;
	int err;

	if (fs->broken)
		return 0;
	fs->started = true;
	err = vhu_set_features(&fs->vhu, dev->features);
	if (!err)
		err = vhu_set_mem_table(&fs->vhu, dev->gm);
	for (unsigned int q = 0; !err && q < FS_QUEUES; q++) {
		struct virtq *vq = &dev->vq[q];
		struct vhu_vring r = { .num = vq->size,
				       .base = vq->last_avail,
				       .desc = vq->desc,
				       .avail = vq->avail,
				       .used = vq->used,
				       .err = fs->err_fd[q] };

		if (!vq->ready)
			continue;
		dev->transport->queue_fds(dev, q, &r.kick, &r.call);
		err = vhu_vring_start(&fs->vhu, q, &r);
	}
	if (err)
		fs_break(fs, "the back end refused the queues", true);
	return 0;
}

/* The driver reset the device: the back end stops the rings (and says
 * where it stopped, which a reset discards). */
static void fs_reset(struct virtio_dev *dev)
{
	struct fs *fs = dev->priv;
	uint16_t base;

	for (unsigned int q = 0; fs->started && q < FS_QUEUES; q++)
		if (dev->vq[q].ready && vhu_vring_stop(&fs->vhu, q, &base)) {
			fs_break(fs, "the back end would not stop a queue", false);
			break;
		}
	fs->started = false;
}

/* The back end went while paused: answer what waited meanwhile. */
static void fs_resume(struct virtio_dev *dev)
{
	struct fs *fs = dev->priv;

	virtio_lock(dev);
	for (unsigned int q = 0; fs->broken && virtio_active(dev) && q < FS_QUEUES; q++)
		if (dev->vq[q].ready)
			fs_answer(fs, q);
	virtio_unlock(dev);
}

static void fs_destroy(struct virtio_dev *dev)
{
	struct fs *fs = dev->priv;

	vhu_close(&fs->vhu);
	if (fs->daemon > 0)
		virtio_fs_daemon_stop(fs->daemon);
	for (unsigned int q = 0; q < FS_QUEUES; q++)
		if (fs->err_fd[q] >= 0)
			close(fs->err_fd[q]);
	free(fs);
}

/* The back end's state (open files, inodes) is not petrel's to save. */
static int fs_snapshot(struct virtio_dev *dev, struct snap *s, const struct virtio_snap *next)
{
	struct fs *fs = dev->priv;

	(void)next;
	snap_fail(s, -ENOTSUP, "%s: a VM with a vhost-user device cannot be snapshotted", fs->name);
	return snap_error(s);
}

static void fs_metrics(const struct virtio_dev *dev, struct metrics_out *out)
{
	const struct fs *fs = dev->priv;

	virtio_metrics_common(dev, out);
	metrics_counter(out, "backend_lost", fs->backend_lost);
	metrics_counter(out, "eio_answers", fs->answered);
}

/* ------------------------------------------------------------- ops table */

static const struct virtio_ops fs_ops = {
	.name = "fs",
	.device_id = VIRTIO_ID_FS,
	.nqueues = FS_QUEUES,
	.queue_max = VIRTQ_MAX_SIZE,
	.config_size = FS_CONFIG_SIZE,
	.external_queues = true,
	.activate = fs_activate,
	.notify = fs_notify,
	.reset = fs_reset,
	.resume = fs_resume,
	.destroy = fs_destroy,
	.snapshot = fs_snapshot,
	.metrics = fs_metrics,
};

/* --------------------------------------------------------------- create */

static int fs_connect(const struct fs *fs, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		log_msg("%s: socket '%s': %s", fs->name, path, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int virtio_fs_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		     const struct fs_config *cfg)
{
	struct fs *fs = calloc(1, sizeof(*fs));
	int fd, err = -ENOMEM;

	if (!fs)
		return err;
	fs->dev = dev;
	fs->ev = ev;
	fs->vhu.fd = -1;
	fs->log = (struct log_limit)LOG_LIMIT_INIT(8);
	snprintf(fs->name, sizeof(fs->name), "virtio-fs '%s'", cfg->tag);
	for (unsigned int q = 0; q < FS_QUEUES; q++)
		fs->err_fd[q] = -1;
	if (gm->fd < 0) {
		log_msg("%s: guest RAM is not shared (gm_init_shared)", fs->name);
		err = -EINVAL;
		goto err_free;
	}
	for (unsigned int q = 0; q < FS_QUEUES; q++) {
		fs->err_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fs->err_fd[q] < 0) {
			err = -errno;
			goto err_free;
		}
	}
	fd = cfg->dir[0] ? virtio_fs_daemon_start(cfg, &fs->daemon) : fs_connect(fs, cfg->socket);
	if (fd < 0) {
		err = fd;
		goto err_free;
	}
	err = vhu_open(&fs->vhu, fd, fs->name, VIRTIO_FS_TIMEOUT_MS);
	if (err) {
		log_msg("%s: the back end did not answer as vhost-user", fs->name);
		goto err_free;
	}
	if ((fs->vhu.features & FS_BACKEND_NEEDS) != FS_BACKEND_NEEDS) {
		log_msg("%s: the back end lacks VERSION_1, EVENT_IDX or INDIRECT_DESC "
			"(features %#llx)",
			fs->name, (unsigned long long)fs->vhu.features);
		err = -ENOTSUP;
		goto err_free;
	}
	err = evloop_add(ev, fs->vhu.fd, EPOLLIN | EPOLLRDHUP, fs_on_socket, fs);
	for (unsigned int q = 0; !err && q < FS_QUEUES; q++)
		err = evloop_add(ev, fs->err_fd[q], EPOLLIN, fs_on_err, fs);
	if (err)
		goto err_free;
	virtio_dev_init(dev, &fs_ops, 0, fs, gm);
	/* The tag NUL-padded (config_check_fs: at most 36 bytes). */
	memcpy(dev->config, cfg->tag, strnlen(cfg->tag, FS_TAG_SIZE));
	le_put(dev->config + FS_TAG_SIZE, 1, 4);
	return 0;
err_free:
	dev->priv = fs;
	fs_destroy(dev);
	return err;
}
