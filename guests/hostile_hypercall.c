/* SPDX-License-Identifier: MIT */
/*
 * Hostile guest, hypercall half (tests/hostile/platform.cases): blocks and
 * arguments at the edges of RAM and of the address space, and calls made
 * by string I/O. Each case checks petrel answered as docs/hypercalls.md
 * says: the documented error, or the call ignored when there is nowhere to
 * put one. The frame (lib/hostile.h) then checks petrel still serves. The cases run
 * at CPL3 (natively on PVM hosts).
 */
#include "hc.h"
#include "hostile.h"
#include "rt.h"

#define ONES 0xffffffffffffffffULL

static uint64_t ram_end;
static uint8_t strbuf[4096] __attribute__((aligned(64)));
static struct petrel_hc_block blocks[64];

static int64_t hc_raw(uint64_t gpa_block, uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct petrel_hc_block *b = (struct petrel_hc_block *)gpa_block;

	hc_prepare(b, nr);
	b->arg[0] = a0;
	b->arg[1] = a1;
	b->arg[2] = a2;
	return hc_call(b);
}

/* Arguments at the edges of RAM and of the address space; blocks petrel
 * must ignore (preset ret left) or answer with the documented error. */
static void case_hc_args(void)
{
	uint64_t blk = (uint64_t)&blocks[0], last = ram_end - PETREL_HC_BLOCK_SIZE;
	int64_t r;

	r = hc_raw(blk, PETREL_HC_CONSOLE_WRITE, (uint64_t)strbuf, ONES, 0);
	hostile_expect(r == -PETREL_HC_EINVAL, "CONSOLE_WRITE length 2^64-1", (uint64_t)r);
	r = hc_raw(blk, PETREL_HC_CONSOLE_WRITE, ONES, 1, 0);
	hostile_expect(r == -PETREL_HC_EFAULT, "CONSOLE_WRITE at 2^64-1", (uint64_t)r);
	r = hc_raw(blk, PETREL_HC_CONSOLE_WRITE, ONES, 0, 0);
	hostile_expect(r == -PETREL_HC_EFAULT, "CONSOLE_WRITE of 0 bytes at 2^64-1", (uint64_t)r);
	*(volatile uint8_t *)(ram_end - 1) = '\n';
	r = hc_raw(blk, PETREL_HC_CONSOLE_WRITE, ram_end - 1, 1, 0);
	hostile_expect(r == 1, "CONSOLE_WRITE of RAM's last byte", (uint64_t)r);
	r = hc_raw(blk, PETREL_HC_CONSOLE_WRITE, ram_end - 1, 2, 0);
	hostile_expect(r == -PETREL_HC_EFAULT, "CONSOLE_WRITE across RAM's end", (uint64_t)r);
	r = hc_raw(blk, PETREL_HC_CONSOLE_WRITE, PETREL_IOAPIC_ADDR, 4, 0);
	hostile_expect(r == -PETREL_HC_EFAULT, "CONSOLE_WRITE from the I/O APIC", (uint64_t)r);
	r = hc_raw(blk, PETREL_HC_CONSOLE_WRITE, 0x100000000ULL, 4, 0);
	hostile_expect(r == -PETREL_HC_EFAULT, "CONSOLE_WRITE above 4 GiB", (uint64_t)r);
	r = hc_raw(blk, PETREL_HC_CONSOLE_WRITE, blk, PETREL_HC_BLOCK_SIZE, 0); /* itself */
	hostile_expect(r == PETREL_HC_BLOCK_SIZE, "CONSOLE_WRITE of its own block", (uint64_t)r);
	r = hc_raw(blk, PETREL_HC_TIME, 0, 0, 1);
	hostile_expect(r == -PETREL_HC_EINVAL, "TIME with arg[2] set", (uint64_t)r);
	r = hc_raw(blk, PETREL_HC_SHUTDOWN, 1ULL << 63, 0, 0);
	hostile_expect(r == -PETREL_HC_EINVAL, "SHUTDOWN 2^63", (uint64_t)r);
	r = hc_raw(blk, PETREL_HC_SHUTDOWN, 0, 1, 0);
	hostile_expect(r == -PETREL_HC_EINVAL, "SHUTDOWN with arg[1] set", (uint64_t)r);
	for (uint32_t nr = 5; nr < 64; nr++)
		hostile_expect(hc_raw(blk, nr, 0, 0, 0) == -PETREL_HC_ENOSYS, "unknown call", nr);
	hostile_expect(hc_raw(blk, 0xffffffffU, 0, 0, 0) == -PETREL_HC_ENOSYS, "call 2^32-1", 0);
	blocks[0] = (struct petrel_hc_block){
		.nr = 0, .abi_major = 0xffff, .flags = 0xffff, .arg = { ONES, ONES, ONES, ONES }
	};
	hostile_expect(hc_call(&blocks[0]) == 0 && blocks[0].arg[0] == 1 && blocks[0].arg[3] == 0,
		       "VERSION with a garbage block", blocks[0].arg[0]);
	/* The last block that fits in RAM works; one byte further it is
	 * ignored and its in-RAM part (ret) keeps the preset. */
	r = hc_raw(last, PETREL_HC_NOP, 0, 0, 0);
	hostile_expect(r == 0, "NOP in RAM's last 48 bytes", (uint64_t)r);
	r = hc_raw(last + 8, PETREL_HC_NOP, 0, 0, 0);
	hostile_expect(r == -PETREL_HC_ENOSYS, "block across RAM's end not ignored", (uint64_t)r);
	for (unsigned int i = 1; i < 8; i++) {
		r = hc_raw(blk + i, PETREL_HC_NOP, 0, 0, 0);
		hostile_expect(r == -PETREL_HC_ENOSYS, "misaligned block not ignored", i);
	}
	/* Blocks on devices and past RAM: nothing to write back; petrel must
	 * not act on whatever reads there. */
	hc_out((uint32_t)ram_end);
	hc_out(0xbffffff8U);
	hc_out((uint32_t)PETREL_IOAPIC_ADDR);
	hc_out((uint32_t)PETREL_LAPIC_ADDR);
	hc_out((uint32_t)PETREL_BOOT_TIMER_ADDR);
	hc_out((uint32_t)PETREL_VIRTIO_MMIO_BASE);
	hc_out(0xfffffff8U);
}

/* 64 calls in one exit (rep outsl: kvm_run io.count = 64), made in order;
 * string reads of the port see all-ones. */
static void case_hc_string(void)
{
	uint32_t addr[64];
	uint64_t dst = (uint64_t)strbuf, src = (uint64_t)addr, n = 64;
	unsigned int bad = 0;

	for (unsigned int i = 0; i < 64; i++) {
		hc_prepare(&blocks[i], PETREL_HC_TIME);
		blocks[i].ret = -PETREL_HC_ENOSYS;
		addr[i] = (uint32_t)(uint64_t)&blocks[i];
	}
	__asm__ volatile("rep outsl"
			 : "+S"(src), "+c"(n)
			 : "d"((uint16_t)PETREL_HYPERCALL_PORT)
			 : "memory");
	for (unsigned int i = 0; i < 64; i++)
		bad += blocks[i].ret != 0 || (i && blocks[i].arg[1] < blocks[i - 1].arg[1]);
	hostile_expect(bad == 0, "rep outsl of 64 TIME blocks: calls not all made in order", bad);
	n = 16;
	__asm__ volatile("rep insl"
			 : "+D"(dst), "+c"(n)
			 : "d"((uint16_t)PETREL_HYPERCALL_PORT)
			 : "memory");
	bad = 0;
	for (unsigned int i = 0; i < 64; i++)
		bad += strbuf[i] != 0xff;
	hostile_expect(bad == 0, "rep insl from the hypercall port", bad);
}

static const struct hostile_case cases[] = {
	{ "hc-args", case_hc_args, false },
	{ "hc-string", case_hc_string, false },
};

int guest_main(void)
{
	ram_end = hostile_ram_end();
	hostile_main(cases, sizeof(cases) / sizeof(cases[0]));
}
