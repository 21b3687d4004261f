/* SPDX-License-Identifier: MIT */
/*
 * Inside the vsock device: the state shared by the packet side (vsock.c:
 * virtqueues, headers, credit) and the host side (vsock_uds.c: the unix
 * sockets). Not for other modules.
 *
 * Locking: every function here runs with dev->lock held, on the event-loop
 * thread (fd events, the wake eventfd) or a vCPU thread (queue kicks,
 * through the transport).
 */
#ifndef PETREL_VIRTIO_VSOCK_CONN_H
#define PETREL_VIRTIO_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "evloop.h"
#include "virtio/virtio.h"

#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2

#define VSOCK_HOST_CID 2
#define VSOCK_HDR_SIZE 44
#define VSOCK_MAX_CONNS 256
/* Receive buffer petrel advertises per connection (buf_alloc): the most
 * guest data it ever holds for one unix socket that would block. */
#define VSOCK_BUF_ALLOC (64u * 1024)
/* Largest payload petrel puts in one rx packet. */
#define VSOCK_MAX_PAYLOAD (64u * 1024)
/* RSTs waiting for rx buffers. Guest packets stop being taken while it is
 * over half full, so connections petrel closes itself still fit. */
#define VSOCK_RST_QUEUE 512
/* Host ports petrel picks for host-initiated connections: from here up. */
#define VSOCK_PORT_FIRST 49152u
/* "CONNECT 4294967295\n" is 19 bytes; longer lines are refused. */
#define VSOCK_LINE_MAX 32

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

#define VSOCK_TYPE_STREAM 1
#define VSOCK_SHUT_RCV 1u  /* the sender will receive no more */
#define VSOCK_SHUT_SEND 2u /* the sender will send no more */
#define VSOCK_SHUT_BOTH 3u

/* struct virtio_vsock_hdr, decoded into host order. */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

enum vsock_state {
	VSOCK_FREE = 0,
	VSOCK_LINE,	   /* host program connected, "CONNECT <port>\n" not read yet */
	VSOCK_CONNECTING,  /* REQUEST sent (or pending) to the guest */
	VSOCK_ESTABLISHED, /* relaying */
};

/* Control packets a connection owes the guest (vsock_conn.pending). */
#define VSOCK_P_REQUEST 1u
#define VSOCK_P_RESPONSE 2u
#define VSOCK_P_SHUTDOWN 4u
#define VSOCK_P_CREDIT_UPDATE 8u
#define VSOCK_P_CREDIT_REQUEST 16u

struct vsock_conn {
	enum vsock_state state;
	uint32_t gen; /* bumped per use of the slot: stale epoll events are ignored */
	int fd;
	uint32_t host_port, guest_port;
	uint8_t pending;

	/* host -> guest */
	bool readable;		 /* fd may have data: an edge came, no EAGAIN since */
	bool hup;		 /* the host program closed its end completely */
	bool host_eof;		 /* read gave 0: nothing more to send the guest */
	uint8_t host_shut;	 /* SHUTDOWN flags told (or to tell) the guest */
	uint32_t tx_cnt;	 /* payload bytes sent to the guest */
	uint32_t peer_buf_alloc; /* the guest's buffer, from its last header */
	uint32_t peer_fwd_cnt;	 /* bytes the guest's socket has consumed */
	bool credit_asked;	 /* CREDIT_REQUEST sent, no new credit since */

	/* guest -> host; rx_cnt - fwd_cnt bytes wait in buf */
	uint8_t guest_shut; /* SHUTDOWN flags the guest sent */
	bool wr_shut;	    /* shutdown(SHUT_WR) done on fd */
	uint32_t rx_cnt;    /* payload bytes taken from the guest */
	uint32_t fwd_cnt;   /* of those, written to the unix socket */
	uint32_t fwd_sent;  /* fwd_cnt in the last header sent */
	uint8_t *buf;	    /* VSOCK_BUF_ALLOC bytes, allocated on first need */
	uint32_t buf_head;  /* offset of the oldest unwritten byte */
};

struct vsock {
	struct virtio_dev *dev;
	struct evloop *ev;
	uint64_t guest_cid;
	struct sockaddr_un addr; /* the listening socket's path */
	int listen_fd;
	bool listen_paused; /* every slot taken: new host connections wait */
	int epfd;	    /* inner epoll: listener, connections, wake_fd */
	int wake_fd;	    /* eventfd: work left over from a bounded pass */
	bool ev_added;

	struct vsock_conn conn[VSOCK_MAX_CONNS];
	unsigned int rr; /* round-robin start for the next rx packet */
	uint32_t next_port;

	struct {
		uint32_t host_port, guest_port;
	} rst[VSOCK_RST_QUEUE];
	unsigned int rst_head, rst_count;

	struct virtq_chain rx; /* popped rx chain not used yet (rx_held) */
	bool rx_held;
	bool tx_paused; /* stopped taking tx packets: RST queue over half full */
	struct virtq_chain tx;
	bool reset_event; /* owe the guest a TRANSPORT_RESET event (restored) */

	/* For the metrics (virtio_vsock_metrics). tx: guest -> host. */
	struct {
		uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
		uint64_t conns_added, conns_removed;
		uint64_t tx_write_fails, rx_read_fails, tx_flush_fails;
		uint64_t tx_invalid; /* packets dropped or reset for breaking the rules */
	} st;
};

/* epoll data for the inner epoll: a connection's slot and generation,
 * or one of these tags. */
#define VSOCK_TAG_LISTEN (1ull << 63)
#define VSOCK_TAG_WAKE (1ull << 62)

/* vsock.c */

/* Bytes of guest data waiting in c->buf. */
static inline uint32_t vsock_buffered(const struct vsock_conn *c)
{
	return c->rx_cnt - c->fwd_cnt;
}

/* A free slot, set to state `st` with fd -1 (caller fills in), or NULL. */
struct vsock_conn *vsock_conn_new(struct vsock *vs, enum vsock_state st);
/* A host port no connection uses. */
uint32_t vsock_port_alloc(struct vsock *vs);
/* Close c's socket and free the slot; if `rst`, queue an RST telling the
 * guest (only for connections it knows: CONNECTING or ESTABLISHED). */
void vsock_conn_close(struct vsock *vs, struct vsock_conn *c, bool rst);
/* After guest data was written out: owe the guest a credit update if it
 * believes less than half our buffer is free; finish the guest's
 * shutdown once everything is written. */
void vsock_conn_drained(struct vsock *vs, struct vsock_conn *c);
/* Have the event loop run the device again soon (left-over work). */
void vsock_wake(struct vsock *vs);

/* The reset op (virtio_ops.reset): close every connection, forget every
 * packet owed. */
void vsock_reset(struct virtio_dev *dev);

/* vsock_snapshot.c */

/* The snapshot op (virtio_ops.snapshot): the guest's CID, checked on load;
 * a restored device has no connection and owes the guest a
 * TRANSPORT_RESET event. */
int vsock_snapshot(struct virtio_dev *dev, struct snap *s, const struct virtio_snap *next);
/* Send the TRANSPORT_RESET event owed (reset_event), if the driver has
 * an event buffer available; else its next event-queue kick comes back. */
void vsock_event_send(struct vsock *vs);

/* vsock_uds.c */

/* Check `path` (room for "<path>_<port>"), keep it in vs->addr and listen
 * there (replacing a stale socket). 0, or -errno after logging one line. */
int vsock_uds_listen(struct vsock *vs, const char *path) MUST_CHECK;
/* An inner-epoll event; `active`: the device may talk to the guest. */
void vsock_uds_event(struct vsock *vs, uint64_t data, uint32_t events, bool active);
/* Connect c to "<path>_<port>" (guest -> host). 0 or -errno. */
int vsock_uds_connect(struct vsock *vs, struct vsock_conn *c, uint32_t port) MUST_CHECK;
/* The guest accepted host connection c: tell the host program
 * "OK <host_port>\n". 0 or -errno (then the caller resets c). */
int vsock_uds_accepted(struct vsock_conn *c) MUST_CHECK;
/* Read from c's socket into iov (an rx buffer in guest memory). Bytes
 * read, 0 at end of stream, -EAGAIN, or another -errno. */
ssize_t vsock_uds_recv(struct vsock_conn *c, const struct iovec *iov, unsigned int niov);
/* Send the guest's payload in iov (len bytes, already credit-checked) to
 * c's socket, keeping what would block in c->buf. 0, or -errno: the
 * socket failed or no buffer memory; the caller resets the connection. */
int vsock_uds_send(struct vsock_conn *c, const struct iovec *iov, unsigned int niov,
		   uint32_t len) MUST_CHECK;
/* Write what c->buf holds. 0 (all written or would block) or -errno. */
int vsock_uds_flush(struct vsock_conn *c) MUST_CHECK;
/* Remove c's fd from the inner epoll and close it; free c->buf. The slot
 * is about to be free: a listener paused for want of one resumes. */
void vsock_uds_close(struct vsock *vs, struct vsock_conn *c);
/* Close the listener and remove its path. */
void vsock_uds_unlisten(struct vsock *vs);

#endif
