/* SPDX-License-Identifier: MIT */
/*
 * The frame-I/O contract between virtio-net (net.c) and what carries its
 * frames on the host:
 *
 *   net_tap.c     a tap, or any fd that reads and writes one frame with
 *                 its virtio_net_hdr per call (tests use a SOCK_SEQPACKET
 *                 pair); the only backend that can do offloads
 *   net_stream.c  QEMU's -netdev stream (and passt's socket): frames on a
 *                 unix or TCP stream, each after its length as a 4-byte
 *                 big-endian integer; connects, or listens for one peer
 *   net_dgram.c   QEMU's -netdev dgram: one frame per UDP datagram, to one
 *                 peer or a multicast group (a hub)
 *   net_passt.c   a passt petrel starts, on a socketpair with the stream
 *                 framing (net_stream_open_fd)
 *   net_vde.c     a vde_switch port through libvdeplug
 *
 * A backend watches its own fds on the event loop; its handlers take the
 * device's lock (virtio_lock(host.dev)) and call host.rx_ready with it
 * held when frames may be waiting. Every op is called with that lock
 * held, on the event-loop thread or a vCPU (a kick handled inline), and
 * none blocks. The peer of a socket backend is untrusted: what it sends
 * is bounds-checked, and a bad frame is dropped and counted in `stats`,
 * never kept beyond one frame's buffer.
 */
#ifndef PETREL_VIRTIO_NET_BACKEND_H
#define PETREL_VIRTIO_NET_BACKEND_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "config.h"
#include "evloop.h"
#include "log.h"

struct virtio_dev;
struct net_backend;

/* Largest frame after the header (virtio 1.2, 5.1.6.3: a 65535-byte IP
 * packet and the Ethernet header); longer transmitted frames are dropped,
 * and a stream peer announcing a longer one has lost its framing. */
#define VIRTIO_NET_FRAME_MAX 65550

/* recv: a frame was dropped (counted by the backend); call again. */
#define NET_BACKEND_DROPPED (-EBADMSG)

/* What the device lends its backend. */
struct net_backend_host {
	struct evloop *ev;
	struct virtio_dev *dev;		/* its lock guards the backend too */
	void (*rx_ready)(void *opaque); /* frames may be readable; lock held */
	void *opaque;
};

/* Counted by the backends (0 where a kind cannot have them); the device
 * reports them with its own (README "Metrics", the net group). */
struct net_backend_stats {
	uint64_t connects;    /* stream: connections made or accepted */
	uint64_t disconnects; /* stream: peers lost (hung up, failed, broke the framing) */
	uint64_t rx_bad;      /* frames from the peer dropped: bad length, truncated */
	uint64_t tx_full;     /* frames dropped: the peer does not read */
	uint64_t tx_down;     /* frames dropped: no peer connected */
};

struct net_backend_ops {
	const char *kind; /* "tap", "stream", "dgram", "passt", "vde" */
	/* Read one frame into iov[0..n): iov[0] is the 12-byte
	 * virtio_net_hdr (a backend without headers zeroes it), the rest
	 * the frame's room; a frame longer than the room is cut (the device
	 * gives room past any frame it can take). Returns the bytes written
	 * with the header, 0 if no frame is waiting, NET_BACKEND_DROPPED,
	 * or another -errno when the backend failed for good. */
	ssize_t (*recv)(struct net_backend *b, const struct iovec *iov, unsigned int n);
	/* Send one frame: iov[0] its checked header, the rest `len` frame
	 * bytes (14 to VIRTIO_NET_FRAME_MAX). 0 when the backend took it;
	 * -ENOTCONN: no peer (dropped); another -errno: it could not take
	 * it (dropped; -EAGAIN: the peer does not read). */
	int (*send)(struct net_backend *b, const struct iovec *iov, unsigned int n, size_t len);
	/* Watch for frames to receive (rx_ready), or stop. Idempotent. */
	void (*poll_rx)(struct net_backend *b, bool on);
	/* The offloads the driver accepted, as TUN_F_* bits; NULL for a
	 * backend whose features offer none. 0 or -errno. */
	int (*set_offloads)(struct net_backend *b, unsigned int tun_flags);
	/* Close everything; frees b. */
	void (*destroy)(struct net_backend *b);
};

struct net_backend {
	const struct net_backend_ops *ops;
	struct net_backend_host host;
	bool offloads; /* carries virtio_net_hdr offloads (checksum, GSO) */
	struct net_backend_stats stats;
};

/* A tap or a frame-per-call fd with headers (see net_tap.c): takes
 * ownership of the nonblocking fd, also on failure. Offloads are offered
 * either way; `is_tap`: set_offloads applies them with TUNSETOFFLOAD.
 * 0 or -errno; prints nothing. */
int net_tap_open(const struct net_backend_host *host, int fd, bool is_tap,
		 struct net_backend **out) MUST_CHECK;

/* QEMU's stream framing on cfg->addr (a net_config of kind NET_STREAM):
 * listen for one peer at a time (cfg->listen), or connect, again after
 * the peer goes away (every second while it is not there). 0, or -errno
 * after printing one line "petrel: network interface 'ID': ...". */
int net_stream_open(const struct net_backend_host *host, const struct net_config *cfg,
		    struct net_backend **out) MUST_CHECK;

/* Who made a given stream's connection (net_stream_open_fd). */
struct net_stream_owner {
	const char *kind;	       /* the backend's name ("passt") */
	void (*destroy)(void *opaque); /* the link is destroyed (lock held) */
	void *opaque;
};

/* The stream framing on one connected stream socket made by its owner
 * (passt's socketpair); takes fd, also on failure. When the peer goes
 * away the link stays down (frames to the guest stop, frames from it are
 * dropped and counted in tx_down) and nothing is printed: the owner says
 * why. 0, or -errno after printing one line. */
int net_stream_open_fd(const struct net_backend_host *host, const char *id, int fd,
		       const struct net_stream_owner *owner, struct net_backend **out) MUST_CHECK;

/* A passt petrel starts on a socketpair (net_passt.c), with cfg->tcp and
 * cfg->udp forwarded to the guest; not waited for. 0, or -errno after
 * printing one line (passt missing, no default route). */
int net_passt_open(const struct net_backend_host *host, const struct net_config *cfg,
		   struct net_backend **out) MUST_CHECK;

/* A port of a vde_switch (or any libvdeplug URL) at cfg->addr. 0, or
 * -errno after printing one line. */
int net_vde_open(const struct net_backend_host *host, const struct net_config *cfg,
		 const uint8_t mac[6], struct net_backend **out) MUST_CHECK;

/* One frame per datagram between cfg->addr and cfg->remote, or on the
 * multicast group cfg->addr (cfg->remote ""). Frames with the source MAC
 * `mac` (our own, looped back by the group) are not delivered. 0, or
 * -errno after printing one line as net_stream_open. */
int net_dgram_open(const struct net_backend_host *host, const struct net_config *cfg,
		   const uint8_t mac[6], struct net_backend **out) MUST_CHECK;

/* The stream receive path alone, for tests and fuzzing: the state of one
 * connection's reassembly. */
struct net_stream_rx {
	uint8_t len_be[4];
	uint32_t len_have; /* bytes of len_be read */
	uint32_t len;	   /* the frame's length once len_have == 4 */
	uint32_t have;	   /* frame bytes read */
	uint8_t *frame;	   /* VIRTIO_NET_FRAME_MAX bytes */
};

/* Outcome of net_stream_rx_read. */
enum net_stream_rx_result {
	NET_STREAM_RX_NONE,    /* nothing more to read now (the fd would block) */
	NET_STREAM_RX_FRAME,   /* a whole frame: rx->frame[0..rx->len) */
	NET_STREAM_RX_DROPPED, /* a frame too short to be Ethernet was read and dropped */
	NET_STREAM_RX_BROKEN,  /* a length over VIRTIO_NET_FRAME_MAX: the framing is lost */
	NET_STREAM_RX_EOF,     /* the peer closed, or the read failed */
};

/* Read from the stream `fd` what the frame being reassembled needs (at
 * most one frame's bytes and the next length: bounded work), with
 * read(2). After FRAME or DROPPED, the next call starts the next frame. */
enum net_stream_rx_result net_stream_rx_read(struct net_stream_rx *rx, int fd);

#endif
