/* SPDX-License-Identifier: MIT */
#include "virtio/devices.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "petrel/platform.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
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
	return virtio_rng_create(dev, &vm->gm);
}

static int create_disk(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	return virtio_blk_create(dev, &vm->ev, &vm->gm, &vm->cfg->disk[index]);
}

static int create_vsock(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	(void)index;
	return virtio_vsock_create(dev, &vm->ev, &vm->gm, &vm->cfg->vsock);
}

static int create_balloon(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	(void)index;
	return virtio_balloon_create(dev, &vm->ev, &vm->gm);
}

static int create_net(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	(void)index;
	return virtio_net_create(dev, &vm->ev, &vm->gm, &vm->cfg->net);
}

static int create_console(struct vm *vm, struct virtio_dev *dev, unsigned int index)
{
	(void)index;
	return virtio_console_create(dev, &vm->gm, vm->console);
}

/* Put a device created by `create` into the next free slot. */
static int devices_add(struct vm *vm, const char *what, virtio_create_fn create, unsigned int index)
{
	unsigned int slot = vm->nvirtio;
	uint64_t base = PETREL_VIRTIO_MMIO_BASE + slot * PETREL_VIRTIO_MMIO_STRIDE;
	struct virtio_mmio *m;
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
	vm->virtio[vm->nvirtio++] = m;
	err = virtio_mmio_attach(m, &vm->ev, vm->vm_fd, base, slot_pins[slot]);
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

	for (unsigned int i = 0; !err && i < cfg->ndisks; i++)
		err = devices_add(vm, "--disk", create_disk, i);
	if (!err && cfg->net.tap[0])
		err = devices_add(vm, "--net", create_net, 0);
	if (!err && cfg->vsock.cid)
		err = devices_add(vm, "--vsock", create_vsock, 0);
	if (!err && cfg->balloon)
		err = devices_add(vm, "--balloon", create_balloon, 0);
	if (!err && cfg->virtio_console)
		err = devices_add(vm, "--console virtio", create_console, 0);
	if (!err && !cfg->no_rng)
		err = devices_add(vm, "rng", create_rng, 0);
	for (unsigned int slot = vm->nvirtio; !err && slot < PETREL_VIRTIO_MMIO_SLOTS; slot++)
		err = bus_register(&vm->mmio,
				   PETREL_VIRTIO_MMIO_BASE + slot * PETREL_VIRTIO_MMIO_STRIDE,
				   VIRTIO_MMIO_SIZE, empty_slot, NULL, "virtio-mmio (empty)");
	return err;
}

int virtio_devices_start(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nvirtio; i++) {
		struct virtio_dev *dev = &vm->virtio[i]->dev;
		int err = dev->ops->start ? dev->ops->start(dev) : 0;

		if (err)
			return err;
	}
	return 0;
}

int virtio_devices_sandbox(struct vm *vm, const struct sandbox_filter *blk_io)
{
	for (unsigned int i = 0; i < vm->nvirtio; i++) {
		struct virtio_dev *dev = &vm->virtio[i]->dev;
		int err;

		if (dev->ops->device_id != VIRTIO_ID_BLOCK)
			continue;
		err = virtio_blk_sandbox(dev, blk_io);
		if (err) {
			log_msg("virtio-blk workers: seccomp filter: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

struct virtio_dev *virtio_devices_find(struct vm *vm, uint32_t device_id)
{
	for (unsigned int i = 0; i < vm->nvirtio; i++)
		if (vm->virtio[i]->dev.ops->device_id == device_id)
			return &vm->virtio[i]->dev;
	return NULL;
}

void virtio_devices_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nvirtio; i++)
		virtio_mmio_free(vm->virtio[i]);
	vm->nvirtio = 0;
}
