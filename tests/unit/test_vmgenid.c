/* SPDX-License-Identifier: MIT */
/*
 * The VM generation ID device: a random ID in guest RAM at boot, a new one
 * on every snapshot load, and the Generic Event Device's edge on its
 * I/O APIC pin at the resume after a load (never during the load, never on
 * a plain resume). Snapshot sections: round trip, every truncation, a
 * layout this petrel does not have.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "dev/ioapic.h"
#include "dev/vmgenid.h"
#include "device.h"
#include "fake_gm.h"
#include "harness.h"
#include "petrel/platform.h"
#include "snap_env.h"
#include "vmm.h"

#define VECTOR 0x41

/* A VM with RAM from 0 and the I/O APIC on its lines, deliveries counted. */
struct rig {
	struct vm vm;
	struct ioapic *ioapic;
	unsigned int delivered;
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
	(void)opaque;
	(void)msi;
}

static const struct ioapic_ops rig_ops = { .deliver = rig_deliver, .routes = rig_routes };

static void rig_irq_line(void *opaque, unsigned int irq, bool level)
{
	ioapic_set_irq(opaque, irq, level);
}

static void ioapic_reg(struct ioapic *io, uint8_t reg, uint32_t v)
{
	uint8_t b[4];

	le_put(b, reg, 4);
	ioapic_mmio(io, 0x00, b, 4, true);
	le_put(b, v, 4);
	ioapic_mmio(io, 0x10, b, 4, true);
}

/* With `unmask`, the GED's pin goes to VECTOR, edge-triggered, as Linux
 * programs it for the _CRS's Interrupt descriptor. */
static bool rig_init(struct rig *r, bool unmask)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->vm.stop_lock, NULL);
	if (!fake_gm_init(&r->vm.gm, 0, 2u << 20))
		return false;
	r->ioapic = ioapic_new(&rig_ops, r);
	if (!r->ioapic)
		return false;
	r->vm.irq_line = rig_irq_line;
	r->vm.irq_opaque = r->ioapic;
	if (unmask)
		ioapic_reg(r->ioapic, 0x10 + 2 * PETREL_GED_GSI, VECTOR);
	return vmgenid_create(&r->vm) == 0;
}

static void rig_free(struct rig *r)
{
	device_destroy_all(&r->vm.devices);
	ioapic_free(r->ioapic);
	fake_gm_free(&r->vm.gm);
	pthread_mutex_destroy(&r->vm.stop_lock);
}

static void rig_id(struct rig *r, uint8_t id[PETREL_VMGENID_LEN])
{
	memset(id, 0, PETREL_VMGENID_LEN);
	if (gm_read(&r->vm.gm, PETREL_VMGENID_ADDR, id, PETREL_VMGENID_LEN))
		memset(id, 0, PETREL_VMGENID_LEN);
}

static struct device *rig_dev(struct rig *r)
{
	return device_find(&r->vm.devices, "vmgenid", NULL);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Two VMs get two IDs, neither zero; creating one raises nothing. */
static void vmgenid_boot_ids(void)
{
	uint8_t a[PETREL_VMGENID_LEN], b[PETREL_VMGENID_LEN];
	struct rig ra, rb;

	REQUIRE(rig_init(&ra, true) && rig_init(&rb, true));
	REQUIRE(rig_dev(&ra) && rig_dev(&ra)->ops->snapshot_version == 1);
	rig_id(&ra, a);
	rig_id(&rb, b);
	CHECK(!all_zero(a, sizeof(a)) && !all_zero(b, sizeof(b)));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(ra.delivered == 0 && rb.delivered == 0);
	rig_free(&ra);
	rig_free(&rb);
}

/* Saved from one VM, loaded twice into clones of its RAM: each load writes
 * an ID unlike the saved one and unlike the other clone's, raises nothing
 * while loading, and the resume after it delivers the pin's vector once. */
static void vmgenid_load_changes_id(void)
{
	uint8_t orig[PETREL_VMGENID_LEN], c1[PETREL_VMGENID_LEN], c2[PETREL_VMGENID_LEN];
	struct rig src, clone;
	struct device *d;
	struct blob b;

	REQUIRE(rig_init(&src, true) && rig_init(&clone, true));
	d = rig_dev(&src);
	REQUIRE(d && blob_save(d->ops->snapshot, d->opaque, &b));
	CHECK(b.n == 12);
	CHECK(le_get(b.p, 8) == PETREL_VMGENID_ADDR && le_get(b.p + 8, 4) == PETREL_GED_GSI);
	rig_id(&src, orig);
	/* The clone's RAM is the snapshot's: the saved ID is there. */
	REQUIRE(gm_write(&clone.vm.gm, PETREL_VMGENID_ADDR, orig, sizeof(orig)) == 0);
	d = rig_dev(&clone);
	REQUIRE(d);
	device_pause_all(&clone.vm.devices);
	REQUIRE(blob_load(d->ops->snapshot, d->opaque, b.p, b.n) == 0);
	rig_id(&clone, c1);
	CHECK(memcmp(orig, c1, sizeof(orig)) != 0 && !all_zero(c1, sizeof(c1)));
	CHECK(clone.delivered == 0); /* not while loading: the vCPUs may not be whole */
	device_resume_all(&clone.vm.devices);
	CHECK(clone.delivered == 1 && (clone.last_data & 0xff) == VECTOR);
	/* Once: a plain pause and resume after it tells the guest nothing. */
	device_pause_all(&clone.vm.devices);
	device_resume_all(&clone.vm.devices);
	CHECK(clone.delivered == 1);
	rig_id(&clone, c2);
	CHECK(memcmp(c1, c2, sizeof(c1)) == 0);
	/* A second clone of the same snapshot: another ID again. */
	REQUIRE(gm_write(&clone.vm.gm, PETREL_VMGENID_ADDR, orig, sizeof(orig)) == 0);
	device_pause_all(&clone.vm.devices);
	REQUIRE(blob_load(d->ops->snapshot, d->opaque, b.p, b.n) == 0);
	rig_id(&clone, c2);
	CHECK(memcmp(c2, orig, sizeof(c2)) != 0 && memcmp(c2, c1, sizeof(c2)) != 0);
	device_resume_all(&clone.vm.devices);
	CHECK(clone.delivered == 2);
	/* Saving changes nothing and arms nothing. */
	blob_free(&b);
	REQUIRE(blob_save(d->ops->snapshot, d->opaque, &b));
	rig_id(&clone, c1);
	CHECK(memcmp(c1, c2, sizeof(c1)) == 0);
	device_resume_all(&clone.vm.devices);
	CHECK(clone.delivered == 2);
	blob_free(&b);
	rig_free(&src);
	rig_free(&clone);
}

/* A guest that never unmasked the GED's pin (restored before its driver
 * bound) gets no interrupt, but still a new ID, which its driver reads
 * when it binds. */
static void vmgenid_masked_pin(void)
{
	uint8_t before[PETREL_VMGENID_LEN], after[PETREL_VMGENID_LEN];
	struct rig r;
	struct device *d;
	struct blob b;

	REQUIRE(rig_init(&r, false));
	d = rig_dev(&r);
	REQUIRE(d && blob_save(d->ops->snapshot, d->opaque, &b));
	rig_id(&r, before);
	device_pause_all(&r.vm.devices);
	REQUIRE(blob_load(d->ops->snapshot, d->opaque, b.p, b.n) == 0);
	device_resume_all(&r.vm.devices);
	rig_id(&r, after);
	CHECK(r.delivered == 0);
	CHECK(memcmp(before, after, sizeof(before)) != 0);
	blob_free(&b);
	rig_free(&r);
}

/* Every truncation, a trailing byte, another address or GSI: refused with
 * the reason, the ID untouched and nothing armed. */
static void vmgenid_hostile(void)
{
	uint8_t before[PETREL_VMGENID_LEN], after[PETREL_VMGENID_LEN];
	struct rig r;
	struct device *d;
	struct blob b;

	REQUIRE(rig_init(&r, true));
	d = rig_dev(&r);
	REQUIRE(d && blob_save(d->ops->snapshot, d->opaque, &b));
	rig_id(&r, before);
	CHECK(snap_truncations_refused(d->ops->snapshot, d->opaque, &b));
	CHECK(snap_patch_refused(d->ops->snapshot, d->opaque, &b, 0, 8, 0x1000,
				 "the generation ID is at 0x1000, this petrel puts it at 0xff000"));
	CHECK(snap_patch_refused(
	    d->ops->snapshot, d->opaque, &b, 8, 4, 5,
	    "the generation ID's notification is on GSI 5, this petrel's on 13"));
	rig_id(&r, after);
	CHECK(memcmp(before, after, sizeof(before)) == 0);
	device_resume_all(&r.vm.devices);
	CHECK(r.delivered == 0);
	blob_free(&b);
	rig_free(&r);
}

/* No RAM at the ID's address: the VM is not built. */
static void vmgenid_no_ram(void)
{
	struct vm vm;

	memset(&vm, 0, sizeof(vm));
	REQUIRE(fake_gm_init(&vm.gm, 1u << 20, 1u << 20));
	CHECK(vmgenid_create(&vm) == -EFAULT);
	CHECK(vm.devices.n == 0);
	fake_gm_free(&vm.gm);
}

int main(void)
{
	RUN(vmgenid_boot_ids);
	RUN(vmgenid_load_changes_id);
	RUN(vmgenid_masked_pin);
	RUN(vmgenid_hostile);
	RUN(vmgenid_no_ram);
	return harness_exit();
}
