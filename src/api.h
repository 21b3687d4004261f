/* SPDX-License-Identifier: MIT */
/*
 * The control socket (--api PATH): a unix stream socket served on the
 * event loop. A line protocol, one request line in, one reply line out:
 *
 *   balloon MIB      -> ok                   set the balloon's target size
 *   balloon-stats    -> ok actual_mib=N target_mib=N [NAME=VALUE]...
 *   stop             -> ok                   power the VM off (status 0)
 *   anything else    -> error: ...
 *
 * Whoever connects can stop the VM: the socket is created mode 0600.
 * Clients are untrusted in the small: a line is at most API_LINE_MAX
 * bytes (longer: an error, then the connection is closed), at most
 * API_MAX_CLIENTS are served at once, every write is nonblocking and a
 * client that lets its replies pile up is dropped, so no client can
 * stall the event loop.
 */
#ifndef PETREL_API_H
#define PETREL_API_H

#include <stdint.h>

#include "log.h"
#include "virtio/balloon.h"

#define API_LINE_MAX 256 /* bytes of one request line, the newline included */
#define API_MAX_CLIENTS 8

struct api;
struct vm;

/* The balloon the API drives. Called on the event-loop thread. */
struct api_balloon_ops {
	/* Set the target balloon size. 0, -ERANGE (more than guest RAM) or
	 * -errno. */
	int (*set_target)(void *opaque, uint64_t bytes);
	/* The device's latest view (see virtio_balloon_stats). 0 or -errno. */
	int (*stats)(void *opaque, struct balloon_stats *out);
};

/* virtio_balloon_set_target/virtio_balloon_stats; opaque: the balloon's
 * struct virtio_dev. */
extern const struct api_balloon_ops api_virtio_balloon;

/* Serve the control socket at `path` on vm->ev. `balloon` may be NULL (no
 * balloon: the balloon commands answer an error). A stale socket file at
 * `path` (nobody accepting) is replaced; anything else there is an error.
 * On error prints one line naming the path and returns -errno. */
int api_create(struct api **out, struct vm *vm, const char *path,
	       const struct api_balloon_ops *balloon, void *balloon_opaque) MUST_CHECK;

/* Close every connection and the socket, and unlink it. Call before
 * evloop_destroy(&vm->ev) and before the balloon is destroyed. NULL is a
 * no-op. */
void api_destroy(struct api *api);

#endif
