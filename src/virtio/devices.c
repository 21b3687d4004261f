/* SPDX-License-Identifier: MIT */
#include "virtio/devices.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "le.h"
#include "metrics.h"
#include "petrel/platform.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/fs.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vconsole.h"
#include "virtio/vsock.h"
#include "vmm.h"

/* I/O APIC pins for the slots, in order: the ISA interrupts nothing else
 * uses (COM1 has 4), then the PCI-range pins. */
static const unsigned int slot_pins[PETREL_VIRTIO_MMIO_SLOTS] = {
	5, 6, 7, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
};

typedef int (*virtio_create_fn)(struct vm *vm, struct virtio_dev *dev, unsigned int index);

static int create_rng(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	(void)index;
	return virtio_rng_create(dev, vm->ev, &vm->gm, &vm->cfg->rng);
}

static int create_disk(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	return virtio_blk_create(dev, vm->ev, &vm->gm, &vm->cfg->disk[index]);
}

static int create_vsock(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	(void)index;
	return virtio_vsock_create(dev, vm->ev, &vm->gm, &vm->cfg->vsock);
}

static int create_balloon(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	(void)index;
	return virtio_balloon_create(dev, vm->ev, &vm->gm, &vm->cfg->balloon);
}

static int create_net(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	uint8_t mac[6];

	virtio_net_pick_mac(vm->cfg, index, mac);
	return virtio_net_create(dev, vm->ev, &vm->gm, &vm->cfg->net[index], mac);
}

static int create_fs(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	return virtio_fs_create(dev, vm->ev, &vm->gm, &vm->cfg->fs[index]);
}

static int create_console(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	(void)index;
	return virtio_console_create(dev, &vm->gm, vm->console);
}

/* The registry's view of a virtio device: its transport. */
static int devices_start(void *opaque, const struct sandbox_filter *worker)
{
	struct virtio_dev *dev = &((struct virtio_mmio *)opaque)->dev;

	return dev->ops->start ? dev->ops->start(dev, worker) : 0;
}

static void devices_pause(void *opaque)
{
	virtio_mmio_pause(opaque);
}

static void devices_resume(void *opaque)
{
	virtio_mmio_resume(opaque);
}

static void devices_free(void *opaque)
{
	virtio_mmio_free(opaque);
}

static void devices_metrics(void *opaque, struct metrics_out *out)
{
	struct virtio_dev *dev = &((struct virtio_mmio *)opaque)->dev;

	if (!dev->ops->metrics)
		return;
	virtio_lock(dev);
	dev->ops->metrics(dev, out);
	virtio_unlock(dev);
}

/* The transport's state, then the device's (virtio/mmio_snapshot.c). */
static int devices_snapshot(void *opaque, struct snap *s)
{
	return virtio_mmio_snapshot(opaque, s);
}

static const struct device_ops virtio_device_ops = {
	.start = devices_start,
	.pause = devices_pause,
	.resume = devices_resume,
	.snapshot = devices_snapshot,
	.snapshot_version = 1,
	.metrics = devices_metrics,
	.destroy = devices_free,
};

/* Put a device created by `create` into the next free slot, and into the
 * registry as `name` of `kind` (with the user's id, or NULL). */
static int devices_add(struct vm *vm, const char *what, virtio_create_fn create, unsigned int index,
		       const char *kind, const char *id)
{
	unsigned int slot = vm->nvirtio;
	uint64_t base = PETREL_VIRTIO_MMIO_BASE + slot * PETREL_VIRTIO_MMIO_STRIDE;
	struct virtio_mmio *m;
	char name[DEVICE_NAME_MAX];
	int err;

	if (slot == PETREL_VIRTIO_MMIO_SLOTS) {
		log_msg("%s: no free virtio slot (at most %d devices)", what,
			PETREL_VIRTIO_MMIO_SLOTS);
		return -ENOSPC;
	}
	m = virtio_mmio_new();
	if (!m)
		return -ENOMEM;
	err = create(vm, &m->dev, index);
	if (err) {
		free(m);
		return err; /* the device said why */
	}
	if (id)
		snprintf(name, sizeof(name), "%s_%s", kind, id);
	else
		snprintf(name, sizeof(name), "%s", kind);
	if (device_add(&vm->devices, name, kind, id, &virtio_device_ops, m)) {
		virtio_mmio_free(m);
		log_msg("%s: too many devices", what);
		return -ENOSPC;
	}
	vm->nvirtio++;
	err = virtio_mmio_attach(m, vm->ev, vm->vm_fd, base, slot_pins[slot]);
	if (!err)
		err = bus_register(&vm->mmio, base, VIRTIO_MMIO_SIZE, virtio_mmio_access, m,
				   m->dev.ops->name);
	if (err)
		log_msg("%s: attaching virtio-mmio: %s", what, strerror(-err));
	return err;
}

/* A slot with no device: the transport's identity registers with device
 * ID 0, which the spec reserves for "no device" (4.2.2), so a guest that
 * probes every slot of platform.h can tell the empty ones; all else reads
 * zero and writes are ignored. */
static void empty_slot(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	if (is_write || len != 4)
		return;
	if (offset == VIRTIO_MMIO_REG_MAGIC_VALUE)
		le_put(data, VIRTIO_MMIO_MAGIC, 4);
	else if (offset == VIRTIO_MMIO_REG_VERSION)
		le_put(data, 2, 4);
	else if (offset == VIRTIO_MMIO_REG_VENDOR_ID)
		le_put(data, VIRTIO_MMIO_VENDOR, 4);
}

int virtio_devices_create(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	int err = 0;

	vm->nvirtio = 0;
	/* The root disk first: it is vda, which boot_vm names on the command
	 * line (Linux probes the devices in DSDT order). */
	for (unsigned int i = 0; !err && i < cfg->ndisks; i++)
		if (cfg->disk[i].root)
			err = devices_add(vm, "disk", create_disk, i, "block", cfg->disk[i].id);
	for (unsigned int i = 0; !err && i < cfg->ndisks; i++)
		if (!cfg->disk[i].root)
			err = devices_add(vm, "disk", create_disk, i, "block", cfg->disk[i].id);
	for (unsigned int i = 0; !err && i < cfg->nnets; i++)
		err = devices_add(vm, "network interface", create_net, i, "net", cfg->net[i].id);
	for (unsigned int i = 0; !err && i < cfg->nfs; i++)
		err = devices_add(vm, "file system share", create_fs, i, "fs", cfg->fs[i].tag);
	if (!err && cfg->vsock.cid)
		err = devices_add(vm, "vsock", create_vsock, 0, "vsock", NULL);
	if (!err && cfg->balloon.present)
		err = devices_add(vm, "balloon", create_balloon, 0, "balloon", NULL);
	if (!err && cfg->virtio_console)
		err = devices_add(vm, "virtio console", create_console, 0, "virtio_console", NULL);
	if (!err && cfg->rng.present)
		err = devices_add(vm, "entropy device", create_rng, 0, "entropy", NULL);
	for (unsigned int slot = vm->nvirtio; !err && slot < PETREL_VIRTIO_MMIO_SLOTS; slot++)
		err = bus_register(&vm->mmio,
				   PETREL_VIRTIO_MMIO_BASE + slot * PETREL_VIRTIO_MMIO_STRIDE,
				   VIRTIO_MMIO_SIZE, empty_slot, NULL, "virtio-mmio (empty)");
	return err;
}

struct virtio_dev *virtio_devices_find(struct vm *vm, const char *kind, const char *id)
{
	struct device *d = device_find(&vm->devices, kind, id);

	return d && d->ops == &virtio_device_ops ? &((struct virtio_mmio *)d->opaque)->dev : NULL;
}

unsigned int virtio_devices_acpi(struct vm *vm, struct acpi_mmio_dev *out)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < vm->devices.n && n < PETREL_VIRTIO_MMIO_SLOTS; i++) {
		const struct virtio_mmio *m = vm->devices.dev[i].opaque;

		if (vm->devices.dev[i].ops == &virtio_device_ops)
			out[n++] = (struct acpi_mmio_dev){ .base = m->base,
							   .size = VIRTIO_MMIO_SIZE,
							   .gsi = m->gsi };
	}
	return n;
}

void virtio_devices_metrics_always(struct device_list *l, struct metrics *m)
{
	static const struct {
		const char *kind;
		bool many; /* a per-device group each, and their sum */
		void (*metrics)(const struct virtio_dev *dev, struct metrics_out *out);
	} always[] = {
		{ "block", true, virtio_blk_metrics },
		{ "net", true, virtio_net_metrics },
		{ "vsock", false, virtio_vsock_metrics },
		{ "balloon", false, virtio_balloon_metrics },
		{ "entropy", false, virtio_rng_metrics },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(always); i++) {
		const char *kind = always[i].kind;

		if (always[i].many ? metrics_sum(m, kind, kind) : l && device_find(l, kind, NULL))
			continue;
		always[i].metrics(NULL,
				  metrics_group(m, kind, kind, NULL, NULL, METRICS_JSON_ONLY));
	}
}
