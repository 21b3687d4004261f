/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART (registers per the 16550 datasheet). Transmit is instant:
 * every THR write goes straight to the `tx` callback, so THRE and TEMT are
 * always set. Receive has the 16-byte FIFO; the host side fills it only
 * while it has room (`rx_wanted`), so input is never dropped.
 */
#ifndef PETREL_SERIAL_8250_H
#define PETREL_SERIAL_8250_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define SERIAL_FIFO_SIZE 16
#define SERIAL_NR_REGS 8

struct serial_ops {
	void (*tx)(void *opaque, uint8_t byte); /* a byte the guest sent */
	void (*irq)(void *opaque, bool level);	/* interrupt line changed */
	/* Input flow control: false when the FIFO is full, true when the guest
	 * has made room again. Called with the UART locked, so a pause and a
	 * resume can never be reordered. */
	void (*rx_wanted)(void *opaque, bool wanted);
};

struct serial;
struct snap;

/* NULL on ENOMEM. */
struct serial *serial_new(const struct serial_ops *ops, void *opaque);
void serial_free(struct serial *s);

/* Bus handler for the 8 registers (a bus_fn). Accesses wider than a byte
 * touch only the first register, as on the ISA bus. */
void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Let the host push input: `fill` is called (with the UART locked) with a
 * buffer of the free FIFO space and returns how many bytes it put there.
 * If that fills the FIFO, rx_wanted(false) follows. */
void serial_rx_fill(struct serial *s, size_t (*fill)(void *opaque, uint8_t *buf, size_t room),
		    void *opaque);

/* Save or load the UART's state (snapshot/snap.h, by s->op): registers,
 * divisor latch, scratch, the RX FIFO and the interrupt state. A load
 * checks every value (and that the interrupt line matches the registers)
 * before it changes anything, and leaves the UART as it was if the stream
 * fails. It does not drive the interrupt line (the interrupt controller's
 * own snapshot holds its level); it tells the host side whether the FIFO
 * has room (rx_wanted). The UART is the stream's only reader: it ends it
 * (snap_finish) before it commits. Returns snap_error(sn). Layout
 * version 1. */
int serial_snapshot(struct serial *s, struct snap *sn) MUST_CHECK;

#endif