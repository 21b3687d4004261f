/* SPDX-License-Identifier: MIT */
/*
 * The VM generation ID (Microsoft's "Virtual Machine Generation ID"): 16
 * random bytes at PETREL_VMGENID_ADDR (platform.h) in guest RAM, which the
 * DSDT's \_SB.VGEN device points at and the e820 map reserves. They are
 * new at every boot and at every snapshot restore, so that clones restored
 * from one snapshot are not the same machine: Linux's vmgenid driver mixes
 * the ID into its RNG when it binds and, told by the Generic Event
 * Device's interrupt (PETREL_GED_GSI) that it changed, reseeds it
 * (add_vmfork_randomness). Being in guest RAM, the ID is in the memory
 * file; the device's own snapshot section only pins the layout.
 */
#ifndef PETREL_DEV_VMGENID_H
#define PETREL_DEV_VMGENID_H

#include "log.h"

struct vm;

/* Write a fresh ID (getrandom) into vm->gm at PETREL_VMGENID_ADDR and join
 * vm->devices as "vmgenid". Its snapshot section (layout version 1) holds
 * the ID's address (u64) and the GED's GSI (u32), which a load checks
 * against this petrel's (the guest's DSDT, restored with its RAM, names
 * them); a load then writes a new ID, and the next resume
 * (device_ops.resume, before the vCPUs run) raises an edge on
 * PETREL_GED_GSI through vm_irq_line, once. A plain pause and resume
 * changes nothing. 0, or -EFAULT (no RAM at the address), getrandom's
 * -errno, -ENOMEM, -ENOSPC (the registry is full). */
int vmgenid_create(struct vm *vm) MUST_CHECK;

#endif
