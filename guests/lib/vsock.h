/* SPDX-License-Identifier: MIT */
/*
 * The guest side of virtio-vsock stream sockets (virtio 1.2, 5.10) for the
 * freestanding guests, on top of lib/virtio.c: one connection at a time,
 * to or from the host (CID 2), completions polled, interrupts suppressed.
 * Works at CPL0 and CPL3 (the guests run it at CPL3).
 *
 * Received data either goes into a ring of vsock_config.buf_alloc bytes
 * (read with vsock_read, credit given back as it is read) or, without a
 * ring, is counted as consumed the moment it arrives (for benchmarks that
 * only measure). Credit goes back to the peer whenever a quarter of
 * buf_alloc has been consumed since the last report. Sends respect the
 * peer's credit. The counters wrap (u32), as in the spec.
 *
 * Every wait gives up after virtio_timeout_cycles without progress. A
 * protocol error on the device's side (a broken ring, more data than the
 * credit we gave) ends the guest through vsock_config.die.
 */
#ifndef GUEST_VSOCK_H
#define GUEST_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

#define VSOCK_F_STREAM 0
#define VSOCK_CFG_GUEST_CID 0
#define VSOCK_TYPE_STREAM 1
#define VSOCK_HOST_CID 2

enum {
	VSOCK_OP_INVALID,
	VSOCK_OP_REQUEST,
	VSOCK_OP_RESPONSE,
	VSOCK_OP_RST,
	VSOCK_OP_SHUTDOWN,
	VSOCK_OP_RW,
	VSOCK_OP_CREDIT_UPDATE,
	VSOCK_OP_CREDIT_REQUEST,
};
#define VSOCK_SHUTDOWN_RCV 1
#define VSOCK_SHUTDOWN_SEND 2

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

/* Most transmit slots a guest may ask for. */
#define VSOCK_MAX_TX_SLOTS 16

struct vsock_config {
	const char *name;      /* prefix of the lines printed */
	unsigned int rx_bufs;  /* receive buffers posted, <= 64 */
	unsigned int tx_slots; /* packets in flight, <= VSOCK_MAX_TX_SLOTS */
	uint32_t payload;      /* largest payload received or sent per packet */
	uint32_t buf_alloc;    /* our receive buffer: a power of 2 with keep_data */
	bool keep_data;	       /* ring the data for vsock_read, else count it */
	uint64_t features;     /* offered bits to accept besides VSOCK_F_STREAM */
	void (*die)(const char *what) __attribute__((noreturn));
};

enum vsock_state { VSOCK_CLOSED, VSOCK_CONNECTING, VSOCK_ESTABLISHED };

/* The one connection. Counters wrap (u32). */
struct vsock_conn {
	enum vsock_state state;
	uint32_t local_port, peer_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;	/* bytes sent */
	uint32_t rx_cnt;	/* bytes received */
	uint32_t fwd_cnt;	/* bytes consumed (read, or counted on arrival) */
	uint32_t fwd_reported;	/* fwd_cnt last sent to the peer */
	uint32_t peer_shutdown; /* VSOCK_SHUTDOWN_* flags the peer sent */
	bool rst;		/* the peer reset it */
};

/* What a guest may read (and, for conn.state, set to VSOCK_CLOSED to
 * forget a connection). */
struct vsock {
	struct virtio_dev dev;
	uint64_t guest_cid;
	struct vsock_conn conn;
	uint64_t stray;	 /* packets not from the host to us, or of an unknown op */
	uint64_t events; /* event queue entries seen */
};

extern struct vsock vsock;

/* Allocates the buffers (and the ring), finds the first vsock device,
 * negotiates VSOCK_F_STREAM | cfg->features, sets up the three queues
 * with interrupts suppressed, reads the guest CID and posts the receive
 * and event buffers. Keeps `cfg` (it must stay valid). Returns 0, or -1
 * when memory ran out or no device works. */
int vsock_init(const struct vsock_config *cfg);

/* Takes every packet the device has published (answering what the
 * protocol asks: RST to strays, RESPONSE to an awaited REQUEST, credit),
 * every event (printed), and reaps finished transmissions. */
void vsock_poll(void);

/* Connects from the next local port (40000 upwards) to host port `port`.
 * Returns whether the connection is established; conn.rst tells a refusal
 * from no answer. */
bool vsock_connect(uint32_t port);

/* Waits for the host to connect to `port` and accepts it. Returns whether
 * a connection is established. */
bool vsock_accept(uint32_t port);

/* Sends `len` bytes within the peer's credit (asking for credit when it
 * runs out), in packets of at most cfg->payload: from `data`, or, with
 * data NULL, whatever the transmit slots hold. Returns false when the
 * connection is reset or shut down for receiving, or credit does not come. */
bool vsock_write(const uint8_t *data, uint32_t len);

/* Reads exactly `len` bytes (keep_data only). Returns false on RST, the
 * peer's SHUTDOWN or a timeout. */
bool vsock_read(uint8_t *buf, uint32_t len);

/* Reads a line, up to and without its '\n', into `line` (terminated;
 * `max` bytes with the terminator). Returns false when vsock_read fails or
 * the line does not fit. */
bool vsock_read_line(char *line, uint32_t max);

/* Our close: SHUTDOWN both ways, then wait a while for the peer's RST
 * (else send our own). Returns whether the peer answered with RST. */
bool vsock_close(void);

/* The peer's close: waits for its SHUTDOWN both ways and answers RST.
 * Returns false when neither SHUTDOWN nor RST came. */
bool vsock_await_close(void);

/* Resets the connection (sends RST) and forgets it. */
void vsock_reset(void);

#endif
