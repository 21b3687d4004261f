/* SPDX-License-Identifier: MIT */
/* The VM generation ID (vmgenid.h); its ACPI description is in acpi.c. */
#include "dev/vmgenid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "device.h"
#include "petrel/platform.h"
#include "snapshot/snap.h"
#include "vmm.h"

/* ---------------------------------------------------------------- state */

struct vmgenid {
	struct vm *vm;
	/* A load wrote a new ID: the next resume tells the guest. VMM thread
	 * only (loads and resumes both run there). */
	bool notify;
};

/* A new ID from the host's RNG into guest RAM. An ID that is not random
 * would make clones alike again: a short read is an error, not a retry
 * with something weaker. */
static int vmgenid_write_new(struct vm *vm)
{
	uint8_t id[PETREL_VMGENID_LEN];
	ssize_t n = getrandom(id, sizeof(id), GRND_NONBLOCK);

	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(id))
		return -EAGAIN;
	return gm_write(&vm->gm, PETREL_VMGENID_ADDR, id, sizeof(id));
}

/* ------------------------------------------------------------ ops table */

/* An edge on the GED's pin: its _EVT notifies \_SB.VGEN. Delivered to
 * the local APICs now, so it is pending when the vCPUs enter the guest. */
static void vmgenid_resume(void *opaque)
{
	struct vmgenid *g = opaque;

	if (!g->notify)
		return;
	g->notify = false;
	vm_irq_line(g->vm, PETREL_GED_GSI, true);
	vm_irq_line(g->vm, PETREL_GED_GSI, false);
}

static int vmgenid_snapshot(void *opaque, struct snap *s);

static const struct device_ops vmgenid_ops = {
	.resume = vmgenid_resume,
	.snapshot = vmgenid_snapshot,
	.snapshot_version = 1,
	.destroy = free,
};

int vmgenid_create(struct vm *vm)
{
	struct vmgenid *g;
	int err = vmgenid_write_new(vm);

	if (err)
		return err;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->vm = vm;
	if (device_add(&vm->devices, "vmgenid", "vmgenid", NULL, &vmgenid_ops, g)) {
		free(g);
		return -ENOSPC;
	}
	return 0;
}

/* ------------------------------------------------------------- snapshot */

/* Layout 1: u64 the ID's guest address, u32 the GED's GSI. The ID itself
 * is in the memory file; a load replaces it, which is the point. */
static int vmgenid_snapshot(void *opaque, struct snap *s)
{
	struct vmgenid *g = opaque;
	uint64_t addr = PETREL_VMGENID_ADDR;
	uint32_t gsi = PETREL_GED_GSI;
	int err;

	snap_u64(s, &addr);
	snap_u32(s, &gsi);
	snap_check(s, addr == PETREL_VMGENID_ADDR,
		   "the generation ID is at %#llx, this petrel puts it at %#llx",
		   (unsigned long long)addr, PETREL_VMGENID_ADDR);
	snap_check(s, gsi == PETREL_GED_GSI,
		   "the generation ID's notification is on GSI %u, this petrel's on %u", gsi,
		   PETREL_GED_GSI);
	err = snap_finish(s);
	if (err || snap_saving(s))
		return err;
	err = vmgenid_write_new(g->vm);
	if (err) {
		snap_fail(s, err, "a new generation ID: %s", strerror(-err));
		return err;
	}
	g->notify = true;
	return 0;
}
