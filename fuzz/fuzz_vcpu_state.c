/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for a vCPU's snapshot section (arch/x86/vcpu_state.h):
 * the input is the section's payload, loaded into a vCPU whose fd is -1,
 * so everything petrel reads and checks runs and KVM is never reached
 * (the first KVM_SET_* fails with EBADF). The load must fail, with one
 * line saying why; it must never read past the payload (ASan), leak
 * (LSan) or crash. The host is one with XSAVE (4096 bytes), XCRs and
 * every MSR petrel saves.
 *
 * Seeds in fuzz/corpus/vcpu_state/: a whole section of a 64-bit vCPU
 * (XSAVE, XCR0, MSRs, an armed TSC deadline), one with the legacy FPU
 * image, and one cut in its MSRs.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/vcpu_state.h"
#include "snapshot/snap.h"
#include "vcpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every MSR petrel knows, found in the ranges they live in. */
static void caps_all(struct vcpu_state_caps *caps)
{
	static const uint32_t ranges[][2] = { { 0, 0x1000 },
					      { 0xc0000000, 0xc0001000 },
					      { 0x4b564d00, 0x4b564d10 } };

	*caps = (struct vcpu_state_caps){ .xsave_size = 4096, .xsave2 = true, .xcrs = true };
	for (unsigned int r = 0; r < ARRAY_SIZE(ranges); r++)
		for (uint32_t i = ranges[r][0]; i < ranges[r][1]; i++)
			if (vcpu_state_msr_known(i) && caps->nmsrs < VCPU_STATE_MSRS_MAX)
				caps->msr[caps->nmsrs++] = i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vcpu_state_caps caps;
	static bool init;
	struct vcpu vcpu = { .fd = -1 };
	struct snap s;
	int err;

	if (!init) {
		caps_all(&caps);
		init = true;
	}
	snap_init_load(&s, data, size);
	err = vcpu_state_snapshot(&vcpu, &caps, &s);
	if (!err || err != snap_error(&s) || !s.why[0] || !memchr(s.why, 0, sizeof(s.why)) ||
	    strchr(s.why, '\n'))
		abort();
	return 0;
}
