/* SPDX-License-Identifier: MIT */
/*
 * Instructions petrel completes itself when the host's KVM runs guest CPL0
 * in its instruction emulator (PVM) and that emulator gives up on them.
 * Only one-byte instructions whose full architectural effect is simple:
 *   int3 (CC)   RIP past it, then #BP delivered (it is a trap);
 *   fwait (9B)  #MF if an unmasked x87 exception is pending and CR0.NE is
 *               set, else nothing but RIP past it.
 * Never used on hardware-assisted hosts, where these run natively.
 */
#ifndef PETREL_X86_ASSIST_H
#define PETREL_X86_ASSIST_H

#include "mem.h"

/* 0 if the instruction at RIP of the vCPU `vcpu_fd` (in a VM whose RAM is
 * `gm`) was completed and the vCPU can resume; -1 if it is not one petrel
 * completes (the caller reports the failure). */
int assist_complete(int vcpu_fd, const struct gm *gm);

#endif
