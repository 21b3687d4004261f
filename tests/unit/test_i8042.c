/* SPDX-License-Identifier: MIT */
/*
 * The i8042 keyboard controller, driven through the port bus as a guest
 * drives it, with IRQ 1 routed through the real I/O APIC model to a
 * recording sink: Linux's probe conversation (i8042 + atkbd), Ctrl-Alt-Del
 * in set 1 and set 2 with one interrupt per byte, the gates (keyboard
 * interrupt, interface, scanning), a paused VM, FIFO bounds, reset, and
 * random hostile writes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dev/ioapic.h"
#include "dev/pc_devices.h"
#include "device.h"
#include "harness.h"
#include "le.h"
#include "petrel/platform.h"
#include "vmm.h"

#define DATA PETREL_I8042_DATA_PORT
#define CMD PETREL_I8042_CMD_PORT
#define VECTOR 0x31
#define STS_OBF 0x01
#define STS_FIXED 0x14 /* not inhibited, system flag */

struct sink {
	unsigned int nsent;
	uint32_t last_data;
};

static void sink_deliver(void *opaque, struct ioapic_msi msi)
{
	struct sink *s = opaque;

	s->nsent++;
	s->last_data = msi.data;
}

static void sink_routes(void *opaque, const struct ioapic_msi msi[IOAPIC_NR_PINS])
{
	(void)opaque;
	(void)msi;
}

static const struct ioapic_ops sink_ops = { .deliver = sink_deliver, .routes = sink_routes };

/* A VM with the port bus, the device registry, the I/O APIC as its
 * interrupt controller and the lifecycle the i8042 uses. */
struct rig {
	struct vm vm;
	struct evloop ev;
	struct ioapic *ioapic;
	struct sink sink;
	struct i8042 *kbc;
	unsigned int seen; /* edges accounted for by expect() */
};

static void rig_irq_line(void *opaque, unsigned int irq, bool level)
{
	ioapic_set_irq(opaque, irq, level);
}

static void ioapic_reg(struct rig *r, uint8_t reg, uint32_t v)
{
	uint8_t b[4];

	le_put(b, reg, 4);
	ioapic_mmio(r->ioapic, 0x00, b, 4, true);
	le_put(b, v, 4);
	ioapic_mmio(r->ioapic, 0x10, b, 4, true);
}

/* Route IRQ 1, edge-triggered, to VECTOR on CPU 0, as Linux's request_irq
 * does: from now on the sink counts its edges. */
static void route_irq1(struct rig *r)
{
	ioapic_reg(r, 0x11 + 2 * PETREL_I8042_IRQ, 0);
	ioapic_reg(r, 0x10 + 2 * PETREL_I8042_IRQ, VECTOR);
}

/* rig_free undoes whatever part of it succeeded. The device is found in
 * the registry, as the control plane finds it. */
static bool rig_init(struct rig *r)
{
	struct device *d;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->vm.stop_lock, NULL);
	pthread_mutex_init(&r->vm.vcpu_env.lock, NULL);
	pthread_cond_init(&r->vm.vcpu_env.cond, NULL);
	if (evloop_init(&r->ev))
		abort();
	r->vm.ev = &r->ev;
	r->ioapic = ioapic_new(&sink_ops, &r->sink);
	if (!r->ioapic)
		return false;
	r->vm.irq_line = rig_irq_line;
	r->vm.irq_opaque = r->ioapic;
	if (i8042_create(&r->vm))
		return false;
	d = device_find(&r->vm.devices, "i8042", NULL);
	r->kbc = d ? d->opaque : NULL;
	return r->kbc != NULL;
}

static void rig_free(struct rig *r)
{
	device_destroy_all(&r->vm.devices);
	bus_destroy(&r->vm.pio);
	ioapic_free(r->ioapic);
	evloop_destroy(&r->ev);
	pthread_cond_destroy(&r->vm.vcpu_env.cond);
	pthread_mutex_destroy(&r->vm.vcpu_env.lock);
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

/* Read the output buffer as Linux does: only when the status says full.
 * -1 when empty. */
static int rd(struct rig *r)
{
	if (!(inb(r, CMD) & STS_OBF))
		return -1;
	return inb(r, DATA);
}

/* Reads everything queued; true if it is exactly `want`, each byte
 * announced by one edge of IRQ 1 (to VECTOR) before it is read. */
static bool expect(struct rig *r, const uint8_t *want, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, r->seen++)
		if (r->sink.nsent != r->seen + 1 || (r->sink.last_data & 0xff) != VECTOR ||
		    rd(r) != want[i])
			return false;
	return rd(r) == -1 && r->sink.nsent == r->seen;
}

#define EXPECT(r, ...)                                                                             \
	expect((r), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* A controller command with one answer, polled as Linux does; the edge
 * the answer may raise is not what these tests count. */
static int ctl(struct rig *r, uint8_t cmd)
{
	int v;

	outb(r, CMD, cmd);
	v = rd(r);
	r->seen = r->sink.nsent;
	return v;
}

static void ctl_data(struct rig *r, uint8_t cmd, uint8_t data)
{
	outb(r, CMD, cmd);
	outb(r, DATA, data);
}

/* The A20 dance of i8042_platform_init, i8042_controller_selftest and
 * _init, i8042_check_aux and i8042_enable_kbd_port, on a fresh rig. */
static bool linux_controller_probe(struct rig *r)
{
	if ((inb(r, CMD) & ~0x08) != STS_FIXED || rd(r) != -1)
		return false;
	ctl_data(r, 0xd1, 0xdf); /* output port: A20 on, reset high */
	outb(r, CMD, 0xff);	 /* the "null command" */
	if (vm_stopping(&r->vm) || ctl(r, 0xd0) != 0xdf)
		return false;
	if (ctl(r, 0xaa) != 0x55) /* self-test */
		return false;
	/* interrupt on, system flag, no mouse port, translation */
	if (ctl(r, 0x20) != 0x65)
		return false;
	ctl_data(r, 0x60, 0x74); /* keyboard off while probing */
	if (ctl(r, 0x20) != 0x74)
		return false;
	ctl_data(r, 0xd3, 0x5a); /* mouse loopback: no answer, so no mouse */
	if (rd(r) != -1 || ctl(r, 0xa9) != 0x02 || ctl(r, 0xab) != 0x00)
		return false;
	route_irq1(r);
	r->seen = r->sink.nsent;
	ctl_data(r, 0x60, 0x65); /* i8042_enable_kbd_port */
	return r->sink.nsent == r->seen && !vm_stopping(&r->vm);
}

/* atkbd_probe, atkbd_reset_state and atkbd_activate (translated mode). */
static bool linux_keyboard_probe(struct rig *r)
{
	outb(r, DATA, 0xf2); /* GETID: the ID's 0x83 arrives translated */
	if (!EXPECT(r, 0xfa, 0xab, 0x41))
		return false;
	outb(r, DATA, 0xf5);
	if (!EXPECT(r, 0xfa))
		return false;
	outb(r, DATA, 0xed);
	if (!EXPECT(r, 0xfa))
		return false;
	outb(r, DATA, 0x00);
	if (!EXPECT(r, 0xfa))
		return false;
	outb(r, DATA, 0xf3);
	outb(r, DATA, 0x00);
	if (!EXPECT(r, 0xfa, 0xfa))
		return false;
	outb(r, DATA, 0xf4);
	return EXPECT(r, 0xfa);
}

static void probe_conversation(void)
{
	struct rig r;
	bool ok = rig_init(&r) && linux_controller_probe(&r);

	CHECK(ok);
	CHECK(ok && linux_keyboard_probe(&r));
	outb(&r, DATA, 0xff); /* reset: ACK, then self-test passed */
	CHECK(EXPECT(&r, 0xfa, 0xaa));
	outb(&r, DATA, 0xee);
	CHECK(EXPECT(&r, 0xee));
	outb(&r, DATA, 0xf0); /* which scan code set: 2, translated */
	outb(&r, DATA, 0x00);
	CHECK(EXPECT(&r, 0xfa, 0xfa, 0x41));
	outb(&r, DATA, 0xf0);
	outb(&r, DATA, 0x02);
	CHECK(EXPECT(&r, 0xfa, 0xfa));
	outb(&r, DATA, 0xf0); /* set 3: refused */
	outb(&r, DATA, 0x03);
	CHECK(EXPECT(&r, 0xfa, 0xfe));
	outb(&r, DATA, 0x42); /* not a command */
	CHECK(EXPECT(&r, 0xfe));
	outb(&r, DATA, 0xfe); /* resend the last byte */
	CHECK(EXPECT(&r, 0xfe));
	ctl_data(&r, 0xd2, 0x5a); /* keyboard loopback */
	CHECK(EXPECT(&r, 0x5a));
	CHECK(!vm_stopping(&r.vm));
	rig_free(&r);
}

static const uint8_t cad_set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
static const uint8_t cad_set2[] = {
	0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14
};

static void ctrl_alt_del_translated(void)
{
	struct rig r;
	bool ok = rig_init(&r) && linux_controller_probe(&r) && linux_keyboard_probe(&r);

	CHECK(ok);
	CHECK(ok && i8042_ctrl_alt_del(r.kbc) == 0);
	CHECK(expect(&r, cad_set1, sizeof(cad_set1)));
	/* Released, so it can be pressed again. */
	CHECK(ok && i8042_ctrl_alt_del(r.kbc) == 0);
	CHECK(expect(&r, cad_set1, sizeof(cad_set1)));
	rig_free(&r);
}

static void ctrl_alt_del_untranslated(void)
{
	struct rig r;
	bool ok = rig_init(&r) && linux_controller_probe(&r);

	CHECK(ok);
	ctl_data(&r, 0x60, 0x25); /* i8042.direct: no translation */
	CHECK(ok && i8042_ctrl_alt_del(r.kbc) == 0);
	CHECK(expect(&r, cad_set2, sizeof(cad_set2)));
	outb(&r, DATA, 0xf2); /* and the ID as the keyboard sends it */
	CHECK(EXPECT(&r, 0xfa, 0xab, 0x83));
	rig_free(&r);
}

/* The keyboard interrupt and interface bits of the command byte, and the
 * keyboard's own enable, each hold the keys back. */
static void ctrl_alt_del_gated(void)
{
	struct rig r;
	bool ok = rig_init(&r) && linux_controller_probe(&r);

	CHECK(ok);
	ctl_data(&r, 0x60, 0x64); /* interrupt off */
	CHECK(ok && i8042_ctrl_alt_del(r.kbc) == 0);
	CHECK(r.sink.nsent == r.seen && (inb(&r, CMD) & STS_OBF));
	outb(&r, CMD, 0xad); /* interface off: no byte shows */
	CHECK(rd(&r) == -1);
	ctl_data(&r, 0x60, 0x65); /* both on: the waiting byte interrupts */
	CHECK(expect(&r, cad_set1, sizeof(cad_set1)));
	outb(&r, DATA, 0xf5); /* keyboard disabled: no keys */
	CHECK(EXPECT(&r, 0xfa));
	CHECK(ok && i8042_ctrl_alt_del(r.kbc) == -EAGAIN);
	CHECK(rd(&r) == -1);
	outb(&r, DATA, 0xf4);
	CHECK(EXPECT(&r, 0xfa));
	/* Unread: the second sequence does not fit and is not cut short. */
	CHECK(ok && i8042_ctrl_alt_del(r.kbc) == 0);
	CHECK(ok && i8042_ctrl_alt_del(r.kbc) == -ENOSPC);
	CHECK(expect(&r, cad_set1, sizeof(cad_set1)));
	rig_free(&r);
}

/* The keyboard's FIFO holds 16 bytes; more answers are dropped, reads of
 * an empty buffer return 0 and take nothing. */
static void fifo_bounds(void)
{
	struct rig r;
	unsigned int n = 0;
	bool ok = rig_init(&r) && linux_controller_probe(&r);

	CHECK(ok);
	for (unsigned int i = 0; i < 40; i++)
		outb(&r, DATA, 0xee);
	while (rd(&r) == 0xee)
		n++;
	CHECK(n == 16);
	CHECK(r.sink.nsent == r.seen + 16); /* one edge per byte */
	r.seen = r.sink.nsent;
	for (unsigned int i = 0; i < 5; i++)
		CHECK(inb(&r, DATA) == 0);
	outb(&r, DATA, 0xf2);
	CHECK(EXPECT(&r, 0xfa, 0xab, 0x41));
	/* A controller answer goes ahead of the keyboard's bytes. */
	outb(&r, DATA, 0xee);
	outb(&r, CMD, 0x20);
	CHECK(rd(&r) == 0x65);
	/* the 0xee's edge, then a new one when it took the answer's place */
	CHECK(r.sink.nsent == r.seen + 2);
	r.seen++;
	CHECK(EXPECT(&r, 0xee));
	rig_free(&r);
}

/* While the VM is paused no interrupt is raised; resume delivers it. */
static void paused_vm(void)
{
	struct rig r;
	struct device *d;
	bool ok = rig_init(&r) && linux_controller_probe(&r);

	CHECK(ok);
	d = device_find(&r.vm.devices, "i8042", NULL);
	REQUIRE(d && d->ops->pause && d->ops->resume);
	d->ops->pause(d->opaque);
	CHECK(ok && i8042_ctrl_alt_del(r.kbc) == 0);
	CHECK(r.sink.nsent == r.seen);
	d->ops->resume(d->opaque);
	CHECK(expect(&r, cad_set1, sizeof(cad_set1)));
	rig_free(&r);
}

static void reset_line(void)
{
	static const struct {
		uint8_t cmd, data;
		bool has_data, resets;
	} cases[] = {
		{ 0xfe, 0, false, true },    { 0xd1, 0xfe, true, true },
		{ 0xd1, 0x00, true, true },  { 0xd1, 0xdf, true, false },
		{ 0xd1, 0x01, true, false }, { 0xff, 0, false, false },
		{ 0xf0, 0, false, false },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct rig r;

		CHECK(rig_init(&r));
		outb(&r, CMD, cases[i].cmd);
		if (cases[i].has_data)
			outb(&r, DATA, cases[i].data);
		CHECK(vm_stopping(&r.vm) == cases[i].resets);
		CHECK(!cases[i].resets || r.vm.status == VM_STATUS_OFF);
		rig_free(&r);
	}
}

/* A command that takes a data byte is cancelled by another command: the
 * data byte then goes to the keyboard, and does not reset. */
static void pending_command_replaced(void)
{
	struct rig r;

	CHECK(rig_init(&r));
	outb(&r, CMD, 0xd1);
	CHECK(ctl(&r, 0x20) == 0x65);
	outb(&r, DATA, 0x00);
	CHECK(!vm_stopping(&r.vm));
	CHECK(rd(&r) == 0xfe); /* the keyboard's "not a command" */
	rig_free(&r);
}

/* Random bytes to both ports: the status shows only its defined bits, the
 * output buffer drains, and the VM resets exactly when the documented
 * triggers happened. */
static void hostile_random(void)
{
	struct rig r;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	bool pending_d1 = false, want_reset = false, ok = rig_init(&r);

	CHECK(ok);
	route_irq1(&r);
	for (unsigned int i = 0; i < 200000 && ok; i++) {
		uint8_t b, sts;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b = (uint8_t)(x >> 8);
		switch (x & 3) {
		case 0:
			outb(&r, CMD, b);
			want_reset |= b == 0xfe;
			pending_d1 = b == 0xd1;
			break;
		case 1:
			outb(&r, DATA, b);
			want_reset |= pending_d1 && !(b & 1);
			pending_d1 = false;
			break;
		case 2:
			(void)inb(&r, DATA);
			break;
		default:
			sts = inb(&r, CMD);
			ok = (sts & ~0x1dU) == 0 && (sts & 0x10);
			break;
		}
	}
	CHECK(ok);
	CHECK(vm_stopping(&r.vm) == want_reset);
	ctl_data(&r, 0x60, 0x65); /* keyboard interface on: all drains */
	for (unsigned int i = 0; i < 17 && rd(&r) != -1; i++)
		;
	CHECK(rd(&r) == -1);
	rig_free(&r);
}

int main(void)
{
	RUN(probe_conversation);
	RUN(ctrl_alt_del_translated);
	RUN(ctrl_alt_del_untranslated);
	RUN(ctrl_alt_del_gated);
	RUN(fifo_bounds);
	RUN(paused_vm);
	RUN(reset_line);
	RUN(pending_command_replaced);
	RUN(hostile_random);
	return harness_exit();
}
