/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of the platform devices: the 8250 UART, the CMOS RTC, the
 * i8042 and the I/O APIC. Each is driven into a state worth saving, saved,
 * loaded into a new one (which saves the same bytes and carries on where
 * the first left off), and fed hostile streams: every truncation, and
 * values the device could never hold, each refused with its reason and
 * the device left as it was. (virtio devices: test_snapshot_virtio.c.)
 */
#include <pthread.h>
#include <string.h>

#include "dev/ioapic.h"
#include "dev/pc_devices.h"
#include "dev/serial_8250.h"
#include "device.h"
#include "harness.h"
#include "petrel/platform.h"
#include "snap_env.h"
#include "vmm.h"

/* ------------------------------------------------------------- the UART */

#define THR 0
#define RBR 0
#define IER 1
#define IIR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define SCR 7

struct uart_host {
	unsigned int irq_calls, wanted_true, wanted_false;
	const char *in;
};

static void uart_tx(void *opaque, uint8_t byte)
{
	(void)opaque;
	(void)byte;
}

static void uart_irq(void *opaque, bool level)
{
	(void)level;
	((struct uart_host *)opaque)->irq_calls++;
}

static void uart_wanted(void *opaque, bool wanted)
{
	struct uart_host *h = opaque;

	if (wanted)
		h->wanted_true++;
	else
		h->wanted_false++;
}

static const struct serial_ops uart_ops = { .tx = uart_tx,
					    .irq = uart_irq,
					    .rx_wanted = uart_wanted };

static size_t uart_fill(void *opaque, uint8_t *buf, size_t room)
{
	struct uart_host *h = opaque;
	size_t n = strlen(h->in);

	n = n < room ? n : room;
	memcpy(buf, h->in, n);
	h->in += n;
	return n;
}

static void uart_out(struct serial *s, unsigned int reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, true);
}

static uint8_t uart_in(struct serial *s, unsigned int reg)
{
	uint8_t v = 0;

	serial_io(s, reg, &v, 1, false);
	return v;
}

static int uart_snap(void *dev, struct snap *s)
{
	return serial_snapshot(dev, s);
}

/* 9600 8n1 with a divisor, FIFO on, RX and line-status interrupts on,
 * OUT2 (the PC's interrupt gate), scratch, and "ello" in the FIFO with
 * its head moved on by one: the receive interrupt is pending. */
static void uart_drive(struct serial *s, struct uart_host *h)
{
	uart_out(s, LCR, 0x83);
	uart_out(s, THR, 0x0c); /* DLL */
	uart_out(s, IER, 0x00); /* DLM */
	uart_out(s, LCR, 0x03);
	uart_out(s, IIR, 0x01); /* FCR: FIFO on */
	uart_out(s, IER, 0x05);
	uart_out(s, MCR, 0x0b);
	uart_out(s, SCR, 0x5a);
	h->in = "hello";
	serial_rx_fill(s, uart_fill, h);
	(void)uart_in(s, RBR);
}

static void snapshot_uart(void)
{
	struct uart_host ha = { 0 }, hb = { 0 };
	struct serial *a = serial_new(&uart_ops, &ha), *b = serial_new(&uart_ops, &hb);

	REQUIRE(a && b);
	uart_drive(a, &ha);
	REQUIRE(snap_round_trip(uart_snap, a, b));
	/* It tells the host there is room, drives no interrupt, and gives
	 * the rest of the input back in order with the registers as set. */
	CHECK(hb.wanted_true == 1 && hb.wanted_false == 0 && hb.irq_calls == 0);
	CHECK(uart_in(b, IIR) == 0xc4); /* FIFO on, received data */
	CHECK(uart_in(b, LCR) == 0x03 && uart_in(b, MCR) == 0x0b && uart_in(b, SCR) == 0x5a);
	for (const char *p = "ello"; *p; p++)
		CHECK(uart_in(b, RBR) == (uint8_t)*p);
	CHECK(!(uart_in(b, LSR) & 0x01) && uart_in(b, IIR) == 0xc1);
	CHECK(hb.irq_calls == 1); /* the line falls with the FIFO empty */
	uart_out(b, LCR, 0x83);
	CHECK(uart_in(b, RBR) == 0x0c);
	serial_free(a);
	serial_free(b);
}

/* A full FIFO is restored with the host's input stopped. */
static void snapshot_uart_full(void)
{
	struct uart_host ha = { 0 }, hb = { 0 };
	struct serial *a = serial_new(&uart_ops, &ha), *b = serial_new(&uart_ops, &hb);

	REQUIRE(a && b);
	ha.in = "0123456789abcdefXYZ";
	serial_rx_fill(a, uart_fill, &ha);
	REQUIRE(ha.wanted_false == 1);
	REQUIRE(snap_round_trip(uart_snap, a, b));
	CHECK(hb.wanted_false == 1 && hb.wanted_true == 0);
	for (const char *p = "0123456789"; *p; p++)
		CHECK(uart_in(b, RBR) == (uint8_t)*p);
	CHECK(hb.wanted_true == 1); /* half empty: input again */
	serial_free(a);
	serial_free(b);
}

/* Layout: ier fcr lcr mcr lsr msr scr dll dlm, bool thr_ipending, bool
 * irq_level, fifo[16], le32 rx_head, le32 rx_count. */
static void snapshot_uart_hostile(void)
{
	struct uart_host ha = { 0 };
	struct serial *a = serial_new(&uart_ops, &ha);
	struct blob b;

	REQUIRE(a);
	uart_drive(a, &ha);
	REQUIRE(blob_save(uart_snap, a, &b) && b.n == 35);
	CHECK(snap_truncations_refused(uart_snap, a, &b));
	CHECK(snap_patch_refused(uart_snap, a, &b, 0, 1, 0x15, "uart IER 0x15"));
	CHECK(snap_patch_refused(uart_snap, a, &b, 1, 1, 0x03, "uart FCR"));
	CHECK(snap_patch_refused(uart_snap, a, &b, 3, 1, 0x2b, "uart MCR"));
	CHECK(snap_patch_refused(uart_snap, a, &b, 4, 1, 0x21, "uart LSR"));
	CHECK(snap_patch_refused(uart_snap, a, &b, 9, 1, 2, "boolean 2"));
	CHECK(snap_patch_refused(uart_snap, a, &b, 10, 1, 0, "uart interrupt line 0"));
	CHECK(snap_patch_refused(uart_snap, a, &b, 27, 4, 16, "uart FIFO head 16 out of range"));
	CHECK(snap_patch_refused(uart_snap, a, &b, 31, 4, 17, "uart FIFO count 17 out of range"));
	CHECK(ha.irq_calls == 1 && ha.wanted_true == 0); /* none of it reached the host */
	blob_free(&b);
	serial_free(a);
}

/* ------------------------------------------------------------ a PC rig */

/* A VM with the port bus and the registry, as the devices need it, and
 * the I/O APIC on its interrupt lines (routes and deliveries counted). */
struct rig {
	struct vm vm;
	struct ioapic *ioapic;
	unsigned int routes, delivered;
	struct ioapic_msi route[IOAPIC_NR_PINS];
	uint32_t last_data;
};

static void rig_deliver(void *opaque, struct ioapic_msi msi)
{
	struct rig *r = opaque;

	r->delivered++;
	r->last_data = msi.data;
}

static void rig_routes(void *opaque, const struct ioapic_msi msi[IOAPIC_NR_PINS])
{
	struct rig *r = opaque;

	memcpy(r->route, msi, sizeof(r->route));
	r->routes++;
}

static const struct ioapic_ops rig_ioapic_ops = { .deliver = rig_deliver, .routes = rig_routes };

static void rig_irq_line(void *opaque, unsigned int irq, bool level)
{
	ioapic_set_irq(opaque, irq, level);
}

static bool rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->vm.stop_lock, NULL);
	r->ioapic = ioapic_new(&rig_ioapic_ops, r);
	r->vm.irq_line = rig_irq_line;
	r->vm.irq_opaque = r->ioapic;
	return r->ioapic && !cmos_rtc_create(&r->vm) && !i8042_create(&r->vm);
}

static void rig_free(struct rig *r)
{
	device_destroy_all(&r->vm.devices);
	bus_destroy(&r->vm.pio);
	ioapic_free(r->ioapic);
	pthread_mutex_destroy(&r->vm.stop_lock);
}

static void outb(struct rig *r, uint16_t port, uint8_t v)
{
	bus_access(&r->vm.pio, port, &v, 1, true);
}

static uint8_t inb(struct rig *r, uint16_t port)
{
	uint8_t v = 0;

	bus_access(&r->vm.pio, port, &v, 1, false);
	return v;
}

/* The registry's snapshot function of device `name`, and its opaque. */
static snap_fn rig_dev(struct rig *r, const char *name, void **opaque)
{
	for (unsigned int i = 0; i < r->vm.devices.n; i++) {
		struct device *d = &r->vm.devices.dev[i];

		if (!strcmp(d->name, name) && d->ops->snapshot && d->ops->snapshot_version == 1) {
			*opaque = d->opaque;
			return d->ops->snapshot;
		}
	}
	return NULL;
}

/* -------------------------------------------------------------- the RTC */

#define RTC_INDEX PETREL_RTC_PORT
#define RTC_DATA (PETREL_RTC_PORT + 1)

static void rtc_set(struct rig *r, uint8_t reg, uint8_t v)
{
	outb(r, RTC_INDEX, reg);
	outb(r, RTC_DATA, v);
}

/* NVRAM, an alarm, binary 24-hour mode, the divider, index left at 0x21. */
static void rtc_drive(struct rig *r)
{
	for (uint8_t i = 0x0e; i < 0x30; i++)
		rtc_set(r, i, (uint8_t)(i * 3));
	rtc_set(r, 0x01, 0x30);
	rtc_set(r, 0x0b, 0x06);
	rtc_set(r, 0x0a, 0xa5); /* UIP is read-only: stays clear */
	outb(r, RTC_INDEX, 0x21);
}

static void snapshot_rtc(void)
{
	struct rig a, b;
	void *da, *db;
	snap_fn fa, fb;

	REQUIRE(rig_init(&a) && rig_init(&b));
	fa = rig_dev(&a, "rtc", &da);
	fb = rig_dev(&b, "rtc", &db);
	REQUIRE(fa && fb);
	rtc_drive(&a);
	REQUIRE(snap_round_trip(fa, da, db));
	CHECK(inb(&b, RTC_DATA) == 0x21 * 3); /* the index register came along */
	outb(&b, RTC_INDEX, 0x0b);
	CHECK(inb(&b, RTC_DATA) == 0x06);
	outb(&b, RTC_INDEX, 0x0a);
	CHECK(inb(&b, RTC_DATA) == 0x25);
	outb(&b, RTC_INDEX, 0x01);
	CHECK(inb(&b, RTC_DATA) == 0x30);
	outb(&b, RTC_INDEX, 0x04); /* the host's hour, binary */
	CHECK(inb(&b, RTC_DATA) < 24);
	rig_free(&a);
	rig_free(&b);
}

/* Layout: index, ram[128]. */
static void snapshot_rtc_hostile(void)
{
	struct rig a;
	struct blob b;
	void *da;
	snap_fn fa;

	REQUIRE(rig_init(&a));
	fa = rig_dev(&a, "rtc", &da);
	REQUIRE(fa);
	rtc_drive(&a);
	REQUIRE(blob_save(fa, da, &b) && b.n == 129);
	CHECK(snap_truncations_refused(fa, da, &b));
	CHECK(snap_patch_refused(fa, da, &b, 0, 1, 0x80, "rtc index register 0x80"));
	CHECK(snap_patch_refused(fa, da, &b, 1 + 0x0a, 1, 0xa6, "read-only"));
	CHECK(snap_patch_refused(fa, da, &b, 1 + 0x0c, 1, 0x80, "read-only"));
	CHECK(snap_patch_refused(fa, da, &b, 1 + 0x0d, 1, 0x00, "read-only"));
	CHECK(snap_patch_refused(fa, da, &b, 1 + 0x00, 1, 0x12, "read-only"));
	blob_free(&b);
	rig_free(&a);
}

/* ------------------------------------------------------------ the i8042 */

#define KBC_DATA PETREL_I8042_DATA_PORT
#define KBC_CMD PETREL_I8042_CMD_PORT

/* The keyboard asked for its LED byte (ACK read, parameter pending),
 * Ctrl-Alt-Del queued behind, and a command-byte write pending. */
static bool kbc_drive(struct rig *r, struct i8042 *kbc)
{
	outb(r, KBC_DATA, 0xed);
	if (inb(r, KBC_DATA) != 0xfa || i8042_ctrl_alt_del(kbc))
		return false;
	outb(r, KBC_CMD, 0x60);
	return true;
}

static void snapshot_i8042(void)
{
	static const uint8_t cad_set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	struct rig a, b;
	void *da, *db;
	snap_fn fa, fb;

	REQUIRE(rig_init(&a) && rig_init(&b));
	fa = rig_dev(&a, "i8042", &da);
	fb = rig_dev(&b, "i8042", &db);
	REQUIRE(fa && fb && kbc_drive(&a, da));
	REQUIRE(snap_round_trip(fa, da, db));
	CHECK(b.delivered == 0); /* no interrupt from the load itself */
	/* The pending command takes its byte: translation on, no interrupt. */
	outb(&b, KBC_DATA, 0x44);
	CHECK(!vm_stopping(&b.vm));
	for (unsigned int i = 0; i < sizeof(cad_set1); i++)
		CHECK(inb(&b, KBC_DATA) == cad_set1[i]);
	/* The keyboard's pending LED command takes its parameter. */
	outb(&b, KBC_DATA, 0x02);
	CHECK(inb(&b, KBC_DATA) == 0xfa);
	CHECK(!(inb(&b, KBC_CMD) & 0x01));
	rig_free(&a);
	rig_free(&b);
}

/* Layout: ctr outp pending, bool cmd_last, bool has_answer, answer, bool
 * irq, fifo[16], le32 head, le32 len, kbd_pending, last, bool scanning. */
static void snapshot_i8042_hostile(void)
{
	struct rig a;
	struct blob b;
	void *da;
	snap_fn fa;

	REQUIRE(rig_init(&a));
	fa = rig_dev(&a, "i8042", &da);
	REQUIRE(fa && kbc_drive(&a, da));
	REQUIRE(blob_save(fa, da, &b) && b.n == 34);
	CHECK(snap_truncations_refused(fa, da, &b));
	CHECK(snap_patch_refused(fa, da, &b, 2, 1, 0x20, "pending command 0x20"));
	CHECK(snap_patch_refused(fa, da, &b, 3, 1, 2, "boolean 2"));
	CHECK(snap_patch_refused(fa, da, &b, 23, 4, 16, "FIFO head 16 out of range"));
	CHECK(snap_patch_refused(fa, da, &b, 27, 4, 17, "FIFO length 17 out of range"));
	CHECK(snap_patch_refused(fa, da, &b, 31, 1, 0xf4, "keyboard pending command 0xf4"));
	CHECK(snap_patch_refused(fa, da, &b, 33, 1, 7, "boolean 7"));
	blob_free(&b);
	rig_free(&a);
}

/* ------------------------------------------------------- the I/O APIC */

static void ioapic_reg(struct ioapic *io, uint8_t reg, uint32_t v)
{
	uint8_t b[4];

	le_put(b, reg, 4);
	ioapic_mmio(io, 0x00, b, 4, true);
	le_put(b, v, 4);
	ioapic_mmio(io, 0x10, b, 4, true);
}

static uint32_t ioapic_window(struct ioapic *io)
{
	uint8_t b[4] = { 0 };

	ioapic_mmio(io, 0x10, b, 4, false);
	return (uint32_t)le_get(b, 4);
}

static int ioapic_snap(void *dev, struct snap *s)
{
	return ioapic_snapshot(dev, s);
}

/* ID 5; pin 4 level-triggered to vector 0x41, asserted and in service
 * (Remote IRR); pin 9 edge to 0x52, unmasked; IOREGSEL at pin 4's low
 * half. */
static void ioapic_drive(struct rig *r)
{
	ioapic_reg(r->ioapic, 0x00, 5u << 24);
	ioapic_reg(r->ioapic, 0x10 + 2 * 4 + 1, 1u << 24);
	ioapic_reg(r->ioapic, 0x10 + 2 * 4, 0x41 | 1u << 15);
	ioapic_reg(r->ioapic, 0x10 + 2 * 9, 0x52);
	ioapic_set_irq(r->ioapic, 4, true);
	ioapic_mmio(r->ioapic, 0x00, (uint8_t[4]){ 0x18 }, 4, true);
}

static void snapshot_ioapic(void)
{
	struct rig a, b;

	REQUIRE(rig_init(&a) && rig_init(&b));
	ioapic_drive(&a);
	REQUIRE(a.delivered == 1 && a.routes >= 1);
	REQUIRE(snap_round_trip(ioapic_snap, a.ioapic, b.ioapic));
	/* The routes are published again, as they were; nothing delivered. */
	CHECK(b.routes == 1);
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++)
		CHECK(b.route[pin].addr == a.route[pin].addr &&
		      b.route[pin].data == a.route[pin].data);
	CHECK(b.route[4].addr && b.route[9].addr && !b.route[0].addr && b.delivered == 0);
	CHECK(ioapic_window(b.ioapic) == (0x41 | 1u << 14 | 1u << 15)); /* Remote IRR kept */
	/* The EOI ends service and the still-asserted line delivers again. */
	ioapic_eoi(b.ioapic, 0x41);
	CHECK(b.delivered == 1 && (b.last_data & 0xff) == 0x41);
	rig_free(&a);
	rig_free(&b);
}

/* Layout: le32 id, regsel, le32 line, le64 redir[24]. */
static void snapshot_ioapic_hostile(void)
{
	struct rig a;
	struct blob b;
	unsigned int routes;

	REQUIRE(rig_init(&a));
	ioapic_drive(&a);
	routes = a.routes;
	REQUIRE(blob_save(ioapic_snap, a.ioapic, &b) && b.n == 201);
	CHECK(snap_truncations_refused(ioapic_snap, a.ioapic, &b));
	CHECK(snap_patch_refused(ioapic_snap, a.ioapic, &b, 0, 4, 1, "ID register 0x1"));
	CHECK(snap_patch_refused(ioapic_snap, a.ioapic, &b, 5, 4, 1u << 24, "input lines"));
	CHECK(snap_patch_refused(ioapic_snap, a.ioapic, &b, 9 + 8 * 3, 8, 1u << 17,
				 "pin 3 entry 0x20000 has reserved bits"));
	CHECK(snap_patch_refused(ioapic_snap, a.ioapic, &b, 9 + 8 * 9, 8, 0x52 | 1u << 14,
				 "pin 9 has Remote IRR set but is edge-triggered"));
	CHECK(a.routes == routes); /* no refused load published anything */
	blob_free(&b);
	rig_free(&a);
}

int main(void)
{
	RUN(snapshot_uart);
	RUN(snapshot_uart_full);
	RUN(snapshot_uart_hostile);
	RUN(snapshot_rtc);
	RUN(snapshot_rtc_hostile);
	RUN(snapshot_i8042);
	RUN(snapshot_i8042_hostile);
	RUN(snapshot_ioapic);
	RUN(snapshot_ioapic_hostile);
	return harness_exit();
}
