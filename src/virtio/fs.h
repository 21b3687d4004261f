/* SPDX-License-Identifier: MIT */
/*
 * virtio-fs (virtio 1.2, 5.11; device ID 26) over vhost-user: the file
 * server is a separate process (virtiofsd), which gets the device's
 * queues and maps guest RAM itself (vhost_user/vhost_user.h). Petrel never
 * parses file-system requests: it hands the rings over at DRIVER_OK and
 * takes them back at a reset.
 *
 * Config space: tag[36] (the name the guest mounts, NUL-padded) and
 * num_request_queues (1). Queues: 0 is hiprio (FORGET, INTERRUPT), 1 the
 * one request queue.
 *
 * A back end that hangs up, misbehaves (a malformed or refused reply, no
 * reply within VIRTIO_FS_TIMEOUT_MS, a ring error) or was never there is
 * dropped for good, and from then on petrel answers every request itself
 * with a FUSE error header, EIO: the guest sees I/O errors, never a
 * request that waits forever. Requests the back end had taken and not
 * answered are answered too, when its used ring shows it answered in
 * order (virtiofsd with --thread-pool-size=0, as petrel starts it);
 * otherwise they are left (the device is marked NEEDS_RESET, which Linux
 * ignores) rather than answered twice.
 */
#ifndef PETREL_VIRTIO_FS_H
#define PETREL_VIRTIO_FS_H

#include <sys/types.h>

#include "config.h"
#include "evloop.h"
#include "log.h"
#include "virtio/virtio.h"

#define VIRTIO_ID_FS 26
#define VIRTIO_FS_TIMEOUT_MS 5000 /* a back end's answer to one message */

/* Make `dev` a virtio-fs device for `cfg`: connect to cfg->socket, or
 * start virtiofsd on cfg->dir (virtio_fs_daemon_start), and negotiate
 * (vhu_open). The back end must offer VERSION_1, EVENT_IDX and
 * INDIRECT_DESC (the transport offers them). gm must be shared
 * (gm_init_shared). 0 or -errno after one message naming the share. */
int virtio_fs_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		     const struct fs_config *cfg) MUST_CHECK;

/* Start virtiofsd sharing cfg->dir (read-only if cfg->read_only) and
 * connect to it: it gets a listening socket on fd 3 (--fd=3), and petrel
 * is already queued on it. The binary: $PETREL_VIRTIOFSD, else
 * `virtiofsd` in PATH, /usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd
 * (QEMU's C one: -o source=; the others get --shared-dir=). Read-only:
 * the child mounts cfg->dir read-only over itself in a mount namespace of
 * its own before it runs virtiofsd (either kind; the C one has no
 * read-only flag). The child gets SIGTERM when petrel's thread that
 * started it ends. Returns the connected socket (close-on-exec) and the
 * child's pid in *pid, or -errno after one message. In virtio/fs_daemon.c. */
int virtio_fs_daemon_start(const struct fs_config *cfg, pid_t *pid) MUST_CHECK;

/* Stop a virtiofsd started above: SIGTERM and wait for it. */
void virtio_fs_daemon_stop(pid_t pid);

#endif
