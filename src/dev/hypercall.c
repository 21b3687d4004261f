/* SPDX-License-Identifier: MIT */
/*
 * The hypercall port: one 32-bit OUT carries the guest-physical address of
 * a struct petrel_hc_block (include/petrel/hypercall.h, docs/hypercalls.md).
 * Port I/O because KVM hands the OUT's value to userspace in the exit
 * itself: one exit per call, no instruction decoding or MMIO emulation.
 */
#include "dev/hypercall.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "dev/pc_devices.h"
#include "le.h"
#include "log.h"
#include "petrel/hypercall.h"
#include "petrel/platform.h"
#include "vmm.h"

/* ---------------------------------------------------------------- state */

struct hypercall {
	const struct gm *gm;
	const struct hypercall_ops *ops;
	void *opaque;
	uint64_t petrel_version;  /* PETREL_HC_PETREL_VERSION of PETREL_VERSION */
	struct log_limit bad_log; /* calls ignored for want of a usable block */
};

/* The host's only copy of a guest's block. */
struct hypercall_call {
	uint32_t nr;
	uint16_t abi_major;
	uint16_t flags;
	int64_t ret;
	uint64_t arg[4];
	int shutdown; /* exit status to stop with once the result is written, or -1 */
};

#define HC_OFF(field) offsetof(struct petrel_hc_block, field)
/* What petrel writes back: ret and arg[], never the guest's inputs nr,
 * abi_major and flags. */
#define HC_OUT_OFF HC_OFF(ret)
#define HC_OUT_LEN (PETREL_HC_BLOCK_SIZE - HC_OUT_OFF)

/* -------------------------------------------------------------- calls */

static int64_t hypercall_version(struct hypercall *hc, struct hypercall_call *c)
{
	c->arg[0] = PETREL_HC_ABI_MAJOR;
	c->arg[1] = PETREL_HC_ABI_MINOR;
	c->arg[2] = hc->petrel_version;
	c->arg[3] = 0;
	return 0;
}

static int64_t hypercall_nop(struct hypercall *hc, struct hypercall_call *c)
{
	(void)hc;
	(void)c;
	return 0;
}

/* The bytes are handed to the console straight from guest RAM, without a
 * copy: the guest may change them meanwhile, but only what it prints
 * depends on them, and gm_ptr has checked the whole range once. */
static int64_t hypercall_console_write(struct hypercall *hc, struct hypercall_call *c)
{
	uint64_t len = c->arg[1];
	const uint8_t *buf;

	if (len > PETREL_HC_CONSOLE_MAX)
		return -PETREL_HC_EINVAL;
	buf = gm_ptr(hc->gm, c->arg[0], (size_t)len);
	if (!buf)
		return -PETREL_HC_EFAULT;
	if (len)
		hc->ops->console(hc->opaque, buf, (size_t)len);
	return (int64_t)len;
}

static uint64_t hypercall_clock_ns(clockid_t id)
{
	struct timespec ts = { 0 };

	/* Cannot fail for CLOCK_REALTIME or CLOCK_MONOTONIC (a valid id and
	 * pointer); ts stays 0 if it somehow did. */
	clock_gettime(id, &ts);
	return (uint64_t)((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

static int64_t hypercall_time(struct hypercall *hc, struct hypercall_call *c)
{
	(void)hc;
	c->arg[0] = hypercall_clock_ns(CLOCK_REALTIME);
	c->arg[1] = hypercall_clock_ns(CLOCK_MONOTONIC);
	return 0;
}

static int64_t hypercall_shutdown(struct hypercall *hc, struct hypercall_call *c)
{
	(void)hc;
	if (c->arg[0] > 255)
		return -PETREL_HC_EINVAL;
	c->shutdown = (int)c->arg[0];
	return 0;
}

/* --------------------------------------------------------- dispatch */

static const struct {
	int64_t (*fn)(struct hypercall *hc, struct hypercall_call *c);
	unsigned int inputs; /* arg[inputs..3] must be 0 on entry */
} hypercall_table[] = {
	/* PETREL_HC_VERSION is answered before any check: hypercall_dispatch. */
	[PETREL_HC_NOP] = { .fn = hypercall_nop, .inputs = 0 },
	[PETREL_HC_CONSOLE_WRITE] = { .fn = hypercall_console_write, .inputs = 2 },
	[PETREL_HC_TIME] = { .fn = hypercall_time, .inputs = 0 },
	[PETREL_HC_SHUTDOWN] = { .fn = hypercall_shutdown, .inputs = 1 },
};

/* The order of the checks is part of the ABI (docs/hypercalls.md):
 * VERSION answers whatever the rest of the block says, so that a guest of
 * any ABI major can learn which one petrel speaks. */
static int64_t hypercall_dispatch(struct hypercall *hc, struct hypercall_call *c)
{
	if (c->nr == PETREL_HC_VERSION)
		return hypercall_version(hc, c);
	if (c->abi_major != PETREL_HC_ABI_MAJOR)
		return -PETREL_HC_EPROTO;
	if (c->nr >= ARRAY_SIZE(hypercall_table) || !hypercall_table[c->nr].fn)
		return -PETREL_HC_ENOSYS;
	if (c->flags)
		return -PETREL_HC_EINVAL;
	for (unsigned int i = hypercall_table[c->nr].inputs; i < ARRAY_SIZE(c->arg); i++)
		if (c->arg[i])
			return -PETREL_HC_EINVAL;
	return hypercall_table[c->nr].fn(hc, c);
}

/* Copy the block in once, act on the copy, write back only ret and arg[].
 * With nowhere to put an error (a misaligned block, or one not wholly in
 * one RAM region), the call is ignored: the guest's preset ret stays. */
static void hypercall_handle(struct hypercall *hc, gpa_t gpa)
{
	uint8_t raw[PETREL_HC_BLOCK_SIZE];
	struct hypercall_call c = { .shutdown = -1 };

	if (gpa % PETREL_HC_BLOCK_ALIGN) {
		log_limited(&hc->bad_log,
			    "hypercall block at 0x%llx is not 8-byte aligned: ignored",
			    (unsigned long long)gpa);
		return;
	}
	if (gm_read(hc->gm, gpa, raw, sizeof(raw))) {
		log_limited(&hc->bad_log, "hypercall block at 0x%llx is not in guest RAM: ignored",
			    (unsigned long long)gpa);
		return;
	}
	c.nr = (uint32_t)le_get(raw + HC_OFF(nr), 4);
	c.abi_major = (uint16_t)le_get(raw + HC_OFF(abi_major), 2);
	c.flags = (uint16_t)le_get(raw + HC_OFF(flags), 2);
	for (unsigned int i = 0; i < ARRAY_SIZE(c.arg); i++)
		c.arg[i] = le_get(raw + HC_OFF(arg) + 8 * i, 8);

	c.ret = hypercall_dispatch(hc, &c);

	le_put(raw + HC_OFF(ret), (uint64_t)c.ret, 8);
	for (unsigned int i = 0; i < ARRAY_SIZE(c.arg); i++)
		le_put(raw + HC_OFF(arg) + 8 * i, c.arg[i], 8);
	/* The range was readable a moment ago and RAM regions never change
	 * while vCPUs run, so this cannot fail; checked all the same. */
	if (gm_write(hc->gm, gpa + HC_OUT_OFF, raw + HC_OUT_OFF, HC_OUT_LEN)) {
		log_limited(&hc->bad_log, "hypercall block at 0x%llx: result not written",
			    (unsigned long long)gpa);
		return;
	}
	if (c.shutdown >= 0)
		hc->ops->shutdown(hc->opaque, c.shutdown);
}

void hypercall_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct hypercall *hc = opaque;

	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	if (offset != 0 || len != 4) {
		log_limited(
		    &hc->bad_log,
		    "%u-byte write to hypercall port 0x%llx: ignored (a call is a 32-bit OUT "
		    "to 0x%x)",
		    len, (unsigned long long)(PETREL_HYPERCALL_PORT + offset),
		    PETREL_HYPERCALL_PORT);
		return;
	}
	hypercall_handle(hc, (gpa_t)le_get(data, 4));
}

/* -------------------------------------------------------- the machine */

struct hypercall *hypercall_new(const struct gm *gm, const struct hypercall_ops *ops, void *opaque)
{
	struct hypercall *hc = calloc(1, sizeof(*hc));
	unsigned int v[3] = { 0, 0, 0 };

	if (!hc)
		return NULL;
	/* "MAJOR.MINOR.PATCH"; a part that is absent reads as 0. */
	sscanf(PETREL_VERSION, "%u.%u.%u", &v[0], &v[1], &v[2]);
	*hc = (struct hypercall){
		.gm = gm,
		.ops = ops,
		.opaque = opaque,
		.petrel_version = PETREL_HC_PETREL_VERSION(v[0], v[1] & 0xffff, v[2] & 0xffff),
		.bad_log = LOG_LIMIT_INIT(8),
	};
	return hc;
}

static void hypercall_to_console(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;

	console_write(vm->console, buf, len);
}

static void hypercall_to_vm_stop(void *opaque, int status)
{
	char why[80];

	snprintf(why, sizeof(why), "guest shut down by hypercall with status %d", status);
	vm_stop(opaque, status, why);
}

static const struct hypercall_ops hypercall_machine_ops = {
	.console = hypercall_to_console,
	.shutdown = hypercall_to_vm_stop,
};

int hypercall_create(struct vm *vm)
{
	struct hypercall *hc;
	int err;

	/* --stealth: a port that answers with petrel's version names it. */
	if (vm->cfg->stealth)
		return 0;
	hc = hypercall_new(&vm->gm, &hypercall_machine_ops, vm);
	if (!hc)
		return -ENOMEM;
	err = vm_own(vm, hc);
	if (!err)
		err =
		    bus_register(&vm->pio, PETREL_HYPERCALL_PORT, 4, hypercall_io, hc, "hypercall");
	return err;
}
