/* SPDX-License-Identifier: MIT */
#include "dev/serial_8250.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snap.h"

/* Register offsets */
#define RBR_THR 0
#define IER 1
#define IIR_FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08 /* gates the interrupt line on a PC */
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_DELTAS 0x0f

struct serial {
	pthread_mutex_t lock;
	const struct serial_ops *ops;
	void *opaque;

	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thr_ipending; /* THRE interrupt armed, cleared by IIR read or THR write */
	bool irq_level;
	bool rx_blocked; /* host stopped feeding because the FIFO was full */

	uint8_t fifo[SERIAL_FIFO_SIZE];
	unsigned int rx_head, rx_count;
};

/* --- state --- */

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO_ENABLED : 0;

	if ((s->ier & IER_RLSI) && (s->lsr & LSR_OE))
		return fifo | IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
		return fifo | IIR_MSI;
	return fifo | IIR_NO_INT;
}

static void serial_update_irq(struct serial *s)
{
	bool level = !(serial_iir(s) & IIR_NO_INT) && (s->mcr & MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		s->ops->irq(s->opaque, level);
	}
}

static void serial_rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count == SERIAL_FIFO_SIZE) {
		s->lsr |= LSR_OE;
		return;
	}
	s->fifo[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = byte;
	s->rx_count++;
}

/* Ask for input again once the FIFO is half empty, not after every byte:
 * the host then refills in batches instead of one wake-up per byte. */
static void serial_rx_unblock(struct serial *s)
{
	if (s->rx_blocked && s->rx_count <= SERIAL_FIFO_SIZE / 2) {
		s->rx_blocked = false;
		s->ops->rx_wanted(s->opaque, true);
	}
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t byte;

	if (!s->rx_count)
		return 0;
	byte = s->fifo[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
	s->rx_count--;
	serial_rx_unblock(s);
	return byte;
}

/* In loopback the modem outputs are wired back to the modem inputs. */
static uint8_t serial_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(s->mcr & MCR_LOOP))
		return s->msr;
	return (uint8_t)((s->msr & MSR_DELTAS) | ((m & MCR_RTS) ? MSR_CTS : 0) |
			 ((m & MCR_DTR) ? MSR_DSR : 0) | ((m & MCR_OUT1) ? MSR_RI : 0) |
			 ((m & MCR_OUT2) ? MSR_DCD : 0));
}

/* --- register access --- */

static void serial_write(struct serial *s, unsigned int reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case RBR_THR:
		if (dlab) {
			s->dll = v;
			break;
		}
		if (s->mcr & MCR_LOOP)
			serial_rx_push(s, v);
		else
			s->ops->tx(s->opaque, v);
		s->thr_ipending = true; /* sent at once: THR is empty again */
		break;
	case IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI while THR is empty raises it at once. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_ipending = true;
		s->ier = v & 0x0f;
		break;
	case IIR_FCR:
		s->fcr = v & 0xc9; /* the clear bits self-clear */
		if (v & FCR_CLEAR_RX) {
			s->rx_count = 0;
			s->lsr &= (uint8_t)~LSR_OE;
			serial_rx_unblock(s);
		}
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	serial_update_irq(s);
}

static uint8_t serial_read(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v = 0;

	switch (reg) {
	case RBR_THR:
		v = dlab ? s->dll : serial_rx_pop(s);
		break;
	case IER:
		v = dlab ? s->dlm : s->ier;
		break;
	case IIR_FCR:
		v = serial_iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = false;
		break;
	case LCR:
		v = s->lcr;
		break;
	case MCR:
		v = s->mcr;
		break;
	case LSR:
		v = s->lsr | LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
		s->lsr &= (uint8_t)~LSR_OE; /* error bits clear on read */
		break;
	case MSR:
		v = serial_msr(s);
		s->msr &= (uint8_t)~MSR_DELTAS;
		break;
	case SCR:
		v = s->scr;
		break;
	default:
		break;
	}
	serial_update_irq(s);
	return v;
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	if (offset >= SERIAL_NR_REGS || len == 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write(s, (unsigned int)offset, data[0]);
	else
		data[0] = serial_read(s, (unsigned int)offset);
	pthread_mutex_unlock(&s->lock);
}

void serial_rx_fill(struct serial *s, size_t (*fill)(void *opaque, uint8_t *buf, size_t room),
		    void *opaque)
{
	uint8_t buf[SERIAL_FIFO_SIZE];
	size_t room, n;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_FIFO_SIZE - s->rx_count;
	n = room ? fill(opaque, buf, room) : 0;
	for (size_t i = 0; i < n && i < room; i++)
		serial_rx_push(s, buf[i]);
	if (s->rx_count == SERIAL_FIFO_SIZE && !s->rx_blocked) {
		s->rx_blocked = true;
		s->ops->rx_wanted(s->opaque, false);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* --- lifetime --- */

struct serial *serial_new(const struct serial_ops *ops, void *opaque)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->ops = ops;
	s->opaque = opaque;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->lcr = 0x03; /* 8n1 */
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* --- snapshot --- */

/* The guest-visible state, field by field: not the lock, not the host
 * side (ops, rx_blocked). */
static void serial_state_copy(struct serial *to, const struct serial *from)
{
	to->ier = from->ier;
	to->fcr = from->fcr;
	to->lcr = from->lcr;
	to->mcr = from->mcr;
	to->lsr = from->lsr;
	to->msr = from->msr;
	to->scr = from->scr;
	to->dll = from->dll;
	to->dlm = from->dlm;
	to->thr_ipending = from->thr_ipending;
	to->irq_level = from->irq_level;
	memcpy(to->fifo, from->fifo, sizeof(to->fifo));
	to->rx_head = from->rx_head;
	to->rx_count = from->rx_count;
}

int serial_snapshot(struct serial *s, struct snap *sn)
{
	struct serial t = { 0 }; /* a scratch UART: its lock is never used */
	bool level;
	int err;

	pthread_mutex_lock(&s->lock);
	serial_state_copy(&t, s);
	snap_u8(sn, &t.ier);
	snap_u8(sn, &t.fcr);
	snap_u8(sn, &t.lcr);
	snap_u8(sn, &t.mcr);
	snap_u8(sn, &t.lsr);
	snap_u8(sn, &t.msr);
	snap_u8(sn, &t.scr);
	snap_u8(sn, &t.dll);
	snap_u8(sn, &t.dlm);
	snap_bool(sn, &t.thr_ipending);
	snap_bool(sn, &t.irq_level);
	snap_bytes(sn, t.fifo, sizeof(t.fifo));
	snap_u32_max(sn, &t.rx_head, SERIAL_FIFO_SIZE - 1, "uart FIFO head");
	snap_u32_max(sn, &t.rx_count, SERIAL_FIFO_SIZE, "uart FIFO count");
	/* Only what serial_write can leave in each register. */
	snap_check(sn, !(t.ier & ~0x0fu), "uart IER %#x has reserved bits", t.ier);
	snap_check(sn, !(t.fcr & ~0xc9u), "uart FCR %#x has self-clearing or reserved bits", t.fcr);
	snap_check(sn, !(t.mcr & ~0x1fu), "uart MCR %#x has reserved bits", t.mcr);
	snap_check(sn, !(t.lsr & ~LSR_OE), "uart LSR %#x holds more than the overrun bit", t.lsr);
	level = !(serial_iir(&t) & IIR_NO_INT) && (t.mcr & MCR_OUT2);
	snap_check(sn, t.irq_level == level, "uart interrupt line %d does not match its registers",
		   t.irq_level);
	err = snap_finish(sn);
	if (!err && !snap_saving(sn)) {
		serial_state_copy(s, &t);
		/* Host input: the FIFO's room decides, as serial_rx_fill would. */
		s->rx_blocked = s->rx_count == SERIAL_FIFO_SIZE;
		s->ops->rx_wanted(s->opaque, !s->rx_blocked);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}
