/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's snapshot section (arch/x86/vcpu_state.c) loaded into a vCPU
 * whose fd is -1: everything petrel reads and checks runs, and a section
 * that passes fails only at the first KVM_SET_* (EBADF), before which
 * nothing reaches KVM. Each hostile value is refused with its own line;
 * every prefix of a good section is refused as truncated.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/vcpu_state.h"
#include "harness.h"
#include "snapshot/snap.h"
#include "vcpu.h"

/* What a section holds, as the test writes it (docs/snapshot.md's
 * layout, written here independently of the code under test). */
struct sec {
	uint8_t seg_type, seg_dpl, seg_bool;
	uint8_t fpu_kind;
	uint32_t xsave_len;
	uint32_t nxcrs;
	uint32_t nmsrs;
	uint32_t msr[8];
	uint8_t ev_vector, ev_shadow;
	uint32_t ev_flags, mp_state;
	bool trailing;
};

static const struct sec good = {
	.seg_type = 11,
	.seg_dpl = 0,
	.seg_bool = 1,
	.fpu_kind = 1,
	.xsave_len = 4096,
	.nxcrs = 1,
	.nmsrs = 3,
	.msr = { 0x10, 0x277, 0x6e0 },
	.ev_vector = 14,
	.ev_flags = 0xd,
	.mp_state = 0,
};

static void put_segment(struct snap *s, const struct sec *c)
{
	uint64_t base = 0;
	uint32_t limit = 0xffffffff;
	uint16_t sel = 8;
	uint8_t t = c->seg_type, dpl = c->seg_dpl, b = c->seg_bool, zero = 0;

	snap_u64(s, &base);
	snap_u32(s, &limit);
	snap_u16(s, &sel);
	snap_u8(s, &t);
	snap_u8(s, &dpl);
	snap_u8(s, &b); /* present */
	for (int i = 0; i < 6; i++)
		snap_u8(s, &zero);
}

/* The section c describes, in a saving stream (the caller frees it). */
static void build(struct snap *s, const struct sec *c)
{
	uint64_t q = 0;
	uint32_t d = 0;
	uint16_t w = 0;
	uint8_t b = 0, page[4096] = { 0 };

	snap_init_save(s, 1 << 20);
	for (int i = 0; i < 18; i++)
		snap_u64(s, &q);
	for (int i = 0; i < 8; i++)
		put_segment(s, c);
	for (int i = 0; i < 2; i++) {
		snap_u64(s, &q);
		snap_u16(s, &w);
	}
	for (int i = 0; i < 7 + 4; i++)
		snap_u64(s, &q);
	b = c->fpu_kind;
	snap_u8(s, &b);
	if (c->fpu_kind == 1) {
		d = c->xsave_len;
		snap_u32(s, &d);
		for (uint32_t n = 0; n < c->xsave_len; n += sizeof(page))
			snap_bytes(s, page,
				   c->xsave_len - n < sizeof(page) ? c->xsave_len - n
								   : sizeof(page));
	} else {
		snap_bytes(s, page, 128);
		snap_u16(s, &w);
		snap_u16(s, &w);
		snap_u8(s, &b);
		snap_u16(s, &w);
		snap_u64(s, &q);
		snap_u64(s, &q);
		snap_bytes(s, page, 256);
		snap_u32(s, &d);
	}
	d = c->nxcrs;
	snap_u32(s, &d);
	for (uint32_t i = 0; i < c->nxcrs; i++) {
		uint32_t idx = 0;
		uint64_t v = 7;

		snap_u32(s, &idx);
		snap_u64(s, &v);
	}
	d = c->nmsrs;
	snap_u32(s, &d);
	for (uint32_t i = 0; i < c->nmsrs && i < ARRAY_SIZE(c->msr); i++) {
		uint32_t idx = c->msr[i];

		snap_u32(s, &idx);
		snap_u64(s, &q);
	}
	snap_bytes(s, page, 1024);
	/* events */
	b = 0;
	snap_u8(s, &b);
	b = c->ev_vector;
	snap_u8(s, &b);
	b = 0;
	snap_u8(s, &b);
	snap_u8(s, &b);
	snap_u32(s, &d);
	snap_u8(s, &b);
	snap_u8(s, &b);
	snap_u8(s, &b);
	b = c->ev_shadow;
	snap_u8(s, &b);
	b = 0;
	for (int i = 0; i < 3; i++)
		snap_u8(s, &b);
	d = 0;
	snap_u32(s, &d);
	d = c->ev_flags;
	snap_u32(s, &d);
	for (int i = 0; i < 4; i++)
		snap_u8(s, &b);
	d = c->mp_state;
	snap_u32(s, &d);
	for (int i = 0; i < 6; i++)
		snap_u64(s, &q);
	if (c->trailing)
		snap_u8(s, &b);
}

static struct vcpu_state_caps caps;

static void caps_all(bool xsave, bool xcrs)
{
	caps = (struct vcpu_state_caps){ .xsave_size = xsave ? 4096 : 0, .xcrs = xcrs };
	for (uint32_t i = 0; i < 0x1000; i++)
		if (vcpu_state_msr_known(i))
			caps.msr[caps.nmsrs++] = i;
	caps.msr[caps.nmsrs++] = 0xc0000082;
}

/* Load `len` bytes of `buf`; the reason in why. */
static int load(const uint8_t *buf, size_t len, char *why)
{
	struct vcpu vcpu = { .fd = -1 };
	struct snap s;
	int err;

	snap_init_load(&s, buf, len);
	err = vcpu_state_snapshot(&vcpu, &caps, &s);
	strcpy(why, s.why);
	return err;
}

static int load_sec(const struct sec *c, char *why)
{
	struct snap s;
	int err;

	build(&s, c);
	err = s.err ? s.err : load(s.buf, s.len, why);
	snap_free(&s);
	return err;
}

/* A good section goes through every check: only KVM (fd -1) refuses it. */
static void vcpu_state_good_reaches_kvm(void)
{
	char why[SNAP_WHY_MAX];

	caps_all(true, true);
	CHECK(load_sec(&good, why) == -EBADF);
	CHECK(!strcmp(why, "KVM_SET_MP_STATE: Bad file descriptor"));
	/* MSRs in any order, and a smaller XSAVE image than the host's. */
	{
		struct sec c = good;

		c.msr[0] = 0x6e0;
		c.msr[2] = 0x10;
		CHECK(load_sec(&c, why) == -EBADF);
	}
	caps.xsave_size = 8192;
	CHECK(load_sec(&good, why) == -EBADF);
	/* The legacy FPU image on a host without XSAVE. */
	caps_all(false, false);
	{
		struct sec c = good;

		c.fpu_kind = 0;
		c.nxcrs = 0;
		CHECK(load_sec(&c, why) == -EBADF);
	}
}

/* One change to the good section, by case number. */
static void change(struct sec *c, unsigned int i)
{
	switch (i) {
	case 0:
		c->seg_type = 16;
		break;
	case 1:
		c->seg_dpl = 4;
		break;
	case 2:
		c->seg_bool = 2;
		break;
	case 3:
		c->fpu_kind = 2;
		break;
	case 4:
		c->xsave_len = 8192;
		break;
	case 5:
		c->xsave_len = 512;
		break;
	case 6:
		c->fpu_kind = 0;
		break;
	case 7:
		c->nxcrs = 17;
		break;
	case 8:
		c->nmsrs = 1000;
		break;
	case 9:
		c->msr[1] = 0x1234;
		break;
	case 10:
		c->msr[2] = 0x10;
		break;
	case 11:
		c->msr[1] = 0xc0000084;
		break;
	case 12:
		c->ev_vector = 32;
		break;
	case 13:
		c->ev_shadow = 4;
		break;
	case 14:
		c->ev_flags = 0x1d;
		break;
	case 15:
		c->mp_state = 5;
		break;
	default:
		c->trailing = true;
		break;
	}
}

static void vcpu_state_hostile_values(void)
{
	static const struct {
		const char *name, *why;
	} cases[] = {
		{ "segment-type", "segment type 16 / DPL 0 out of range" },
		{ "segment-dpl", "segment type 11 / DPL 4 out of range" },
		{ "segment-bool", "boolean 2 is not 0 or 1" },
		{ "fpu-kind", "FPU state kind 2 unknown" },
		{ "xsave-big", "XSAVE state of 8192 bytes (this host's: 4096)" },
		{ "xsave-small", "XSAVE state of 512 bytes (this host's: 4096)" },
		{ "fpu-on-xsave-host", "legacy FPU state, but this host's KVM has XSAVE" },
		{ "xcrs", "XCR count 17 out of range (max 16)" },
		{ "msr-count", "MSR count 1000 out of range (max " },
		{ "msr-unknown", "MSR 0x1234 is not one petrel saves" },
		{ "msr-twice", "MSR 0x10 given twice" },
		{ "msr-not-on-host", "MSR 0xc0000084: this host's KVM does not have it" },
		{ "exception-vector", "exception vector 32 out of range" },
		{ "shadow", "interrupt shadow 0x4 unknown" },
		{ "event-flags", "event flags 0x1d unknown" },
		{ "mp-state", "MP state 5 unknown" },
		{ "trailing", "1 trailing bytes" },
	};
	char why[SNAP_WHY_MAX];

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sec c = good;

		harness_begin(cases[i].name);
		caps_all(true, true);
		change(&c, i);
		CHECK(load_sec(&c, why) == -EINVAL);
		CHECK(!strncmp(why, cases[i].why, strlen(cases[i].why)));
		harness_end();
	}
	/* A section with XCRs for a host without KVM_GET_XCRS. */
	harness_begin("xcrs-not-on-host");
	caps_all(true, false);
	CHECK(load_sec(&good, why) == -EINVAL && !strcmp(why, "XCR count 1 out of range (max 0)"));
	harness_end();
	harness_begin("xsave-not-on-host");
	caps_all(false, false);
	CHECK(load_sec(&good, why) == -EINVAL &&
	      !strcmp(why, "XSAVE state, but this host's KVM has none"));
	harness_end();
}

/* Every prefix of a good section is refused, as truncated. */
static void vcpu_state_every_prefix(void)
{
	char why[SNAP_WHY_MAX];
	struct snap s;

	caps_all(true, true);
	build(&s, &good);
	REQUIRE(!s.err);
	for (size_t n = 0; n < s.len; n++) {
		CHECK(load(s.buf, n, why) == -EINVAL);
		CHECK(!strncmp(why, "truncated", 9));
	}
	snap_free(&s);
}

int main(void)
{
	RUN(vcpu_state_good_reaches_kvm);
	vcpu_state_hostile_values();
	RUN(vcpu_state_every_prefix);
	return harness_exit();
}
