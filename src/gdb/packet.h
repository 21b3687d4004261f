/* SPDX-License-Identifier: MIT */
/*
 * GDB remote serial protocol framing: "$data#cs" packets, '+'/'-' acks and
 * the raw 0x03 interrupt byte. The receiver is a byte-at-a-time state
 * machine over a fixed buffer: every byte comes from an untrusted peer, a
 * packet longer than GDBPKT_MAX is discarded whole (reported, never
 * buffered), bytes outside a packet other than acks and 0x03 are ignored.
 */
#ifndef PETREL_GDB_PACKET_H
#define PETREL_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* The largest packet body accepted and sent (advertised as PacketSize). */
#define GDBPKT_MAX 4096

enum gdbpkt_event {
	GDBPKT_NONE,	  /* byte consumed, nothing complete yet */
	GDBPKT_PACKET,	  /* rx->buf[0..len) holds a packet with a good checksum */
	GDBPKT_BADSUM,	  /* a packet ended with a wrong or non-hex checksum */
	GDBPKT_OVERFLOW,  /* a packet longer than GDBPKT_MAX ended (discarded) */
	GDBPKT_INTERRUPT, /* 0x03 outside a packet */
	GDBPKT_ACK,	  /* '+' */
	GDBPKT_NAK,	  /* '-' */
};

struct gdbpkt_rx {
	enum { GDBPKT_IDLE, GDBPKT_BODY, GDBPKT_SUM1, GDBPKT_SUM2 } state;
	bool overflow;
	uint8_t sum, got;
	size_t len;
	char buf[GDBPKT_MAX + 1]; /* NUL-terminated for the command parser */
};

/* Reset to waiting for a packet. */
void gdbpkt_rx_init(struct gdbpkt_rx *rx);

/* Consume one byte from the peer. A GDBPKT_PACKET body stays valid until
 * the next call. */
enum gdbpkt_event gdbpkt_feed(struct gdbpkt_rx *rx, uint8_t c);

/* Frame `len` bytes of `data` as "$...#cs" into out[cap], escaping '$',
 * '#', '}' and '*' ("}" then byte ^ 0x20). Returns the framed length, or 0
 * if it does not fit. */
size_t gdbpkt_frame(char *out, size_t cap, const void *data, size_t len);

/* Undo '}' escapes of a binary packet body in place (X packets). Returns the
 * new length, or -EINVAL for a trailing lone '}'. */
int gdbpkt_unescape(char *buf, size_t len) MUST_CHECK;

/* Hex: `n` bytes of src to 2n lowercase hex chars at dst (no NUL). */
void gdbpkt_hex_encode(char *dst, const void *src, size_t n);

/* Decode exactly 2n hex chars from src into dst[n]. 0 or -EINVAL. */
int gdbpkt_hex_decode(void *dst, const char *src, size_t n) MUST_CHECK;

/* Parse a hex number (1..16 digits) at *p, advancing *p past it.
 * 0 or -EINVAL (no digit, or more than 64 bits). */
int gdbpkt_hex_u64(const char **p, uint64_t *v) MUST_CHECK;

#endif
