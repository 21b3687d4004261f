/* SPDX-License-Identifier: MIT */
/*
 * An i8042 keyboard controller with a PS/2 keyboard behind it and no mouse
 * port (an "AT-type" controller): what Linux's i8042 and atkbd drivers
 * probe and use, the CPU reset line, and Ctrl-Alt-Del pressed from the
 * host (i8042_ctrl_alt_del, Firecracker's SendCtrlAltDel).
 *
 * Ports: 0x60 data (the output buffer; bytes for the keyboard or a
 * command's parameter), 0x64 status (read) and commands (write). The
 * keyboard speaks scan code set 2 and queues its bytes (command answers
 * and keystrokes) in its own FIFO; the controller moves them one at a time
 * into the output buffer while its keyboard interface is enabled,
 * translating them to set 1 when the command byte asks (as a PC's BIOS
 * leaves it and Linux keeps it). A controller command's answer goes ahead
 * of the keyboard's bytes. IRQ 1 is asserted while the output buffer holds
 * a byte and the command byte enables the keyboard interrupt; each new
 * byte is a new edge. The input buffer is never full (IBF): every write is
 * handled at once.
 *
 * Reset: command 0xfe pulses the CPU reset line, and so does clearing bit
 * 0 of the output port (command 0xd1, then the value on port 0x60). Reset
 * ends the VM with status 0, like a reboot.
 *
 * The device joins the VM's registry as kind "i8042": the control plane
 * finds it there. While the VM is paused it raises no interrupt; resume
 * delivers what came meanwhile.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dev/pc_devices.h"
#include "device.h"
#include "petrel/platform.h"
#include "snapshot/snap.h"
#include "vmm.h"

/* Status register. */
#define STS_OBF 0x01	/* output buffer full */
#define STS_SYS 0x04	/* system flag: the command byte's, after self-test */
#define STS_CMD 0x08	/* the last write was to the command port */
#define STS_UNLOCK 0x10 /* keyboard not inhibited (no keylock) */

/* Command byte (controller RAM 0). */
#define CTR_KBDINT 0x01
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40
/* What a PC's firmware leaves: keyboard interrupt on, self-test passed,
 * set 1 translation on, the (absent) mouse port disabled. */
#define CTR_BOOT (CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE)

/* Controller commands (port 0x64). */
#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_KBD_LOOP 0xd2
#define CMD_AUX_LOOP 0xd3
#define CMD_AUX_SEND 0xd4

#define SELF_TEST_OK 0x55
#define KBD_TEST_OK 0x00
#define AUX_TEST_CLOCK_HIGH 0x02 /* no mouse port: its clock line floats */
#define OUTPUT_RESET_N 0x01	 /* active low */
#define OUTPUT_A20 0x02

/* Keyboard commands (port 0x60) and answers. */
#define KBD_SET_LEDS 0xed
#define KBD_ECHO 0xee
#define KBD_SCAN_SET 0xf0
#define KBD_GET_ID 0xf2
#define KBD_SET_RATE 0xf3
#define KBD_ENABLE 0xf4
#define KBD_DISABLE 0xf5 /* and restore the defaults */
#define KBD_DEFAULTS 0xf6
#define KBD_RESEND 0xfe
#define KBD_RESET 0xff
#define KBD_ACK 0xfa
#define KBD_NAK 0xfe
#define KBD_BAT_OK 0xaa
#define KBD_ID0 0xab /* MF2 keyboard */
#define KBD_ID1 0x83
#define KBD_BREAK 0xf0 /* set 2: the next code is a release */
#define KBD_EXT 0xe0

#define KBD_FIFO 16 /* the keyboard's buffer, as on a real one */

/* Set 2 to set 1, for scan codes below 0x80 (the inverse of Linux's
 * atkbd_unxlate_table, and what an 8042 does). Bytes from 0x80 pass
 * unchanged but for 0x83 (F7); a KBD_BREAK sets bit 7 of the next one. */
static const uint8_t xlate_table[128] = {
	0x00, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29,
	0x59, 0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11,
	0x03, 0x5b, 0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14,
	0x13, 0x06, 0x5d, 0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24,
	0x16, 0x08, 0x09, 0x5f, 0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35,
	0x26, 0x27, 0x19, 0x0c, 0x61, 0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36,
	0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76, 0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c,
	0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f, 0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45,
	0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

/* Ctrl, Alt, Delete pressed, then released in reverse order, in set 2:
 * left Ctrl 0x14, left Alt 0x11, Delete E0 71 (set 1 after translation:
 * 1d 38 e0 53 e0 d3 b8 9d). */
static const uint8_t ctrl_alt_del[] = {
	0x14, 0x11, KBD_EXT, 0x71, KBD_EXT, KBD_BREAK, 0x71, KBD_BREAK, 0x11, KBD_BREAK, 0x14,
};

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock; /* vCPUs and i8042_ctrl_alt_del */
	/* the controller */
	uint8_t ctr;	 /* command byte */
	uint8_t outp;	 /* output port */
	uint8_t pending; /* command waiting for its data byte, or 0 */
	bool cmd_last;	 /* STS_CMD */
	bool has_answer; /* a command's answer waits in `answer` */
	uint8_t answer;
	bool irq;    /* IRQ 1 as last driven */
	bool paused; /* the VM is paused: IRQ 1 is left as it is */
	/* the keyboard */
	uint8_t fifo[KBD_FIFO];
	unsigned int head, len;
	uint8_t kbd_pending; /* command waiting for its parameter, or 0 */
	uint8_t last;	     /* for KBD_RESEND */
	bool scanning;	     /* keystrokes are sent (KBD_ENABLE) */
};

/* ------------------------------------------------------------ keyboard */

static uint8_t kbd_peek(const struct i8042 *kbc, unsigned int i)
{
	return kbc->fifo[(kbc->head + i) % KBD_FIFO];
}

/* Queue one byte from the keyboard; dropped when the FIFO is full (the
 * guest is not reading). */
static void kbd_put(struct i8042 *kbc, uint8_t b)
{
	if (kbc->len == KBD_FIFO)
		return;
	kbc->fifo[(kbc->head + kbc->len++) % KBD_FIFO] = b;
	kbc->last = b;
}

/* A byte written to port 0x60 with no controller command waiting: a
 * command for the keyboard, or the parameter of its last one. */
static void kbd_write(struct i8042 *kbc, uint8_t b)
{
	uint8_t cmd = kbc->kbd_pending;

	if (cmd) {
		kbc->kbd_pending = 0;
		if (cmd != KBD_SCAN_SET || b == 2) {
			kbd_put(kbc, KBD_ACK); /* LEDs, typematic rate: nothing to do */
		} else if (b == 0) {
			kbd_put(kbc, KBD_ACK);
			kbd_put(kbc, 2); /* the current set */
		} else {
			kbd_put(kbc, KBD_NAK); /* sets 1 and 3 are not offered */
		}
		return;
	}
	switch (b) {
	case KBD_SET_LEDS:
	case KBD_SET_RATE:
	case KBD_SCAN_SET:
		kbc->kbd_pending = b;
		kbd_put(kbc, KBD_ACK);
		break;
	case KBD_ECHO:
		kbd_put(kbc, KBD_ECHO);
		break;
	case KBD_GET_ID:
		kbd_put(kbc, KBD_ACK);
		kbd_put(kbc, KBD_ID0);
		kbd_put(kbc, KBD_ID1);
		break;
	case KBD_ENABLE:
		kbc->scanning = true;
		kbd_put(kbc, KBD_ACK);
		break;
	case KBD_DISABLE:
		kbc->scanning = false;
		kbd_put(kbc, KBD_ACK);
		break;
	case KBD_DEFAULTS: /* nothing here has a default to restore */
		kbd_put(kbc, KBD_ACK);
		break;
	case KBD_RESEND:
		kbd_put(kbc, kbc->last);
		break;
	case KBD_RESET:
		kbc->len = 0;
		kbc->scanning = true;
		kbd_put(kbc, KBD_ACK);
		kbd_put(kbc, KBD_BAT_OK);
		break;
	default:
		kbd_put(kbc, KBD_NAK);
		break;
	}
}

/* --------------------------------------------------------- output side */

static uint8_t xlate(uint8_t b)
{
	if (b < 0x80)
		return xlate_table[b];
	return b == 0x83 ? 0x41 : b; /* 0x83: F7, and the ID's second byte */
}

/* The byte the output buffer holds now, and how many keyboard bytes
 * reading it consumes (0 for a command's answer). false when empty. */
static bool out_byte(const struct i8042 *kbc, uint8_t *b, unsigned int *used)
{
	*used = 0;
	if (kbc->has_answer) {
		*b = kbc->answer;
		return true;
	}
	if ((kbc->ctr & CTR_KBDDIS) || kbc->len == 0)
		return false;
	if (!(kbc->ctr & CTR_XLATE)) {
		*b = kbd_peek(kbc, 0);
		*used = 1;
		return true;
	}
	if (kbd_peek(kbc, 0) != KBD_BREAK) {
		*b = xlate(kbd_peek(kbc, 0));
		*used = 1;
		return true;
	}
	if (kbc->len < 2) /* a release code not complete yet */
		return false;
	*b = xlate(kbd_peek(kbc, 1)) | 0x80;
	*used = 2;
	return true;
}

/* Drive IRQ 1 for the output buffer's state: asserted while it holds a
 * byte and the keyboard interrupt is enabled; `fresh` (a new byte took
 * the place of one just read) makes a new edge. */
static void i8042_sync_irq(struct i8042 *kbc, bool fresh)
{
	uint8_t b;
	unsigned int used;
	bool want = (kbc->ctr & CTR_KBDINT) && out_byte(kbc, &b, &used);

	if (kbc->paused)
		return;
	if (kbc->irq && (!want || fresh))
		vm_irq_line(kbc->vm, PETREL_I8042_IRQ, false);
	if (want && (!kbc->irq || fresh))
		vm_irq_line(kbc->vm, PETREL_I8042_IRQ, true);
	kbc->irq = want;
}

static void i8042_answer(struct i8042 *kbc, uint8_t b)
{
	kbc->has_answer = true;
	kbc->answer = b;
}

/* ---------------------------------------------------------- controller */

/* Returns true when the command pulses the reset line. */
static bool i8042_command(struct i8042 *kbc, uint8_t cmd)
{
	kbc->pending = 0;
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_answer(kbc, kbc->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPUT:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		kbc->pending = cmd;
		break;
	case CMD_AUX_DISABLE:
		kbc->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		kbc->ctr &= (uint8_t)~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
		i8042_answer(kbc, AUX_TEST_CLOCK_HIGH);
		break;
	case CMD_SELF_TEST:
		kbc->ctr |= CTR_SYS;
		i8042_answer(kbc, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:
		i8042_answer(kbc, KBD_TEST_OK);
		break;
	case CMD_KBD_DISABLE:
		kbc->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		kbc->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_READ_OUTPUT:
		i8042_answer(kbc, kbc->outp);
		break;
	case PETREL_I8042_CMD_RESET:
		return true;
	default:
		break; /* e.g. 0xff, which Linux sends as a no-op */
	}
	return false;
}

/* The data byte of the pending command. true when it pulls reset. */
static bool i8042_command_data(struct i8042 *kbc, uint8_t cmd, uint8_t b)
{
	switch (cmd) {
	case CMD_WRITE_CTR:
		kbc->ctr = b;
		break;
	case CMD_WRITE_OUTPUT:
		kbc->outp = b;
		return !(b & OUTPUT_RESET_N);
	case CMD_KBD_LOOP:
		i8042_answer(kbc, b); /* read back as if the keyboard sent it */
		break;
	default:
		break; /* for the mouse port, which is not there */
	}
	return false;
}

static void i8042_reset(struct i8042 *kbc)
{
	vm_stop(kbc->vm, VM_STATUS_OFF, "guest rebooted (reset through the i8042)");
}

/* Port 0x60: read the output buffer; write a command's data byte or a
 * byte for the keyboard. */
static void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *kbc = opaque;
	unsigned int used;
	bool reset = false, had;

	(void)offset;
	(void)len;
	pthread_mutex_lock(&kbc->lock);
	if (!is_write) {
		had = out_byte(kbc, data, &used);
		if (had && used == 0)
			kbc->has_answer = false;
		kbc->head = (kbc->head + used) % KBD_FIFO;
		kbc->len -= used; /* an empty buffer reads 0 */
		i8042_sync_irq(kbc, had);
	} else {
		uint8_t cmd = kbc->pending;

		kbc->cmd_last = false;
		kbc->pending = 0;
		if (cmd)
			reset = i8042_command_data(kbc, cmd, data[0]);
		else
			kbd_write(kbc, data[0]);
		i8042_sync_irq(kbc, false);
	}
	pthread_mutex_unlock(&kbc->lock);
	if (reset)
		i8042_reset(kbc);
}

/* Port 0x64: read the status; write a controller command. */
static void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *kbc = opaque;
	unsigned int used;
	uint8_t b;
	bool reset = false;

	(void)offset;
	(void)len;
	pthread_mutex_lock(&kbc->lock);
	if (!is_write) {
		data[0] = (uint8_t)(STS_UNLOCK | (kbc->ctr & CTR_SYS ? STS_SYS : 0) |
				    (kbc->cmd_last ? STS_CMD : 0) |
				    (out_byte(kbc, &b, &used) ? STS_OBF : 0));
	} else {
		kbc->cmd_last = true;
		reset = i8042_command(kbc, data[0]);
		i8042_sync_irq(kbc, false);
	}
	pthread_mutex_unlock(&kbc->lock);
	if (reset)
		i8042_reset(kbc);
}

/* ----------------------------------------------------------------- API */

int i8042_ctrl_alt_del(struct i8042 *kbc)
{
	int err = 0;

	pthread_mutex_lock(&kbc->lock);
	if (!kbc->scanning) {
		err = -EAGAIN;
	} else if (KBD_FIFO - kbc->len < sizeof(ctrl_alt_del)) {
		err = -ENOSPC;
	} else {
		for (unsigned int i = 0; i < sizeof(ctrl_alt_del); i++)
			kbd_put(kbc, ctrl_alt_del[i]);
		i8042_sync_irq(kbc, false);
	}
	pthread_mutex_unlock(&kbc->lock);
	return err;
}

/* Device registry: the vCPUs are parked, so only i8042_ctrl_alt_del can
 * queue bytes meanwhile; their interrupt waits for resume. */
static void i8042_pause(void *opaque)
{
	struct i8042 *kbc = opaque;

	pthread_mutex_lock(&kbc->lock);
	kbc->paused = true;
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_resume(void *opaque)
{
	struct i8042 *kbc = opaque;

	pthread_mutex_lock(&kbc->lock);
	kbc->paused = false;
	i8042_sync_irq(kbc, false);
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_destroy(void *opaque)
{
	struct i8042 *kbc = opaque;

	pthread_mutex_destroy(&kbc->lock);
	free(kbc);
}

static int i8042_snapshot(void *opaque, struct snap *s);

static const struct device_ops i8042_dev_ops = {
	.pause = i8042_pause,
	.resume = i8042_resume,
	.snapshot = i8042_snapshot,
	.snapshot_version = 1,
	.destroy = i8042_destroy,
};

int i8042_create(struct vm *vm)
{
	struct i8042 *kbc = calloc(1, sizeof(*kbc));
	int err;

	if (!kbc)
		return -ENOMEM;
	kbc->vm = vm;
	pthread_mutex_init(&kbc->lock, NULL);
	kbc->ctr = CTR_BOOT;
	kbc->outp = OUTPUT_RESET_N | OUTPUT_A20;
	kbc->scanning = true;
	kbc->last = KBD_BAT_OK; /* what it sent at power-on */
	if (device_add(&vm->devices, "i8042", "i8042", NULL, &i8042_dev_ops, kbc)) {
		i8042_destroy(kbc);
		return -ENOSPC;
	}
	err = bus_register(&vm->pio, PETREL_I8042_DATA_PORT, 1, i8042_data_io, kbc, "i8042-data");
	if (!err)
		err = bus_register(&vm->pio, PETREL_I8042_CMD_PORT, 1, i8042_cmd_io, kbc,
				   "i8042-command");
	return err;
}

/* ------------------------------------------------------------ snapshot */

/* The guest-visible state, field by field: not the lock, the VM or the
 * pause flag (the VM's). */
static void i8042_state_copy(struct i8042 *to, const struct i8042 *from)
{
	to->ctr = from->ctr;
	to->outp = from->outp;
	to->pending = from->pending;
	to->cmd_last = from->cmd_last;
	to->has_answer = from->has_answer;
	to->answer = from->answer;
	to->irq = from->irq;
	memcpy(to->fifo, from->fifo, sizeof(to->fifo));
	to->head = from->head;
	to->len = from->len;
	to->kbd_pending = from->kbd_pending;
	to->last = from->last;
	to->scanning = from->scanning;
}

/* Commands that wait for a data byte (i8042_command, kbd_write). */
static bool i8042_pending_ok(uint8_t cmd)
{
	return cmd == 0 || cmd == CMD_WRITE_CTR || cmd == CMD_WRITE_OUTPUT || cmd == CMD_KBD_LOOP ||
	       cmd == CMD_AUX_LOOP || cmd == CMD_AUX_SEND;
}

static bool kbd_pending_ok(uint8_t cmd)
{
	return cmd == 0 || cmd == KBD_SET_LEDS || cmd == KBD_SET_RATE || cmd == KBD_SCAN_SET;
}

/* Layout version 1: command byte, output port, pending command, STS_CMD,
 * the answer waiting, IRQ 1 as last driven, the keyboard's FIFO, its
 * pending command, last byte and scanning. A load does not drive IRQ 1
 * (the I/O APIC's snapshot has the line); resume syncs it. */
static int i8042_snapshot(void *opaque, struct snap *s)
{
	struct i8042 *kbc = opaque;
	struct i8042 t = { 0 }; /* scratch: its lock is never used */
	int err;

	pthread_mutex_lock(&kbc->lock);
	i8042_state_copy(&t, kbc);
	snap_u8(s, &t.ctr);
	snap_u8(s, &t.outp);
	snap_u8(s, &t.pending);
	snap_bool(s, &t.cmd_last);
	snap_bool(s, &t.has_answer);
	snap_u8(s, &t.answer);
	snap_bool(s, &t.irq);
	snap_bytes(s, t.fifo, sizeof(t.fifo));
	snap_u32_max(s, &t.head, KBD_FIFO - 1, "i8042 keyboard FIFO head");
	snap_u32_max(s, &t.len, KBD_FIFO, "i8042 keyboard FIFO length");
	snap_u8(s, &t.kbd_pending);
	snap_u8(s, &t.last);
	snap_bool(s, &t.scanning);
	snap_check(s, i8042_pending_ok(t.pending), "i8042 pending command %#x takes no data",
		   t.pending);
	snap_check(s, kbd_pending_ok(t.kbd_pending),
		   "i8042 keyboard pending command %#x takes no parameter", t.kbd_pending);
	err = snap_finish(s);
	if (!err && !snap_saving(s))
		i8042_state_copy(kbc, &t);
	pthread_mutex_unlock(&kbc->lock);
	return err;
}
