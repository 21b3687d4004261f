/* SPDX-License-Identifier: MIT */
/* The x86 page walk for the gdb stub: see pagewalk.h. */
#include "arch/x86/pagewalk.h"

#include <errno.h>

#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)

#define PTE_P (1ull << 0)
#define PTE_PS (1ull << 7)
/* Physical address bits 12..51 of a 64-bit entry (MAXPHYADDR <= 52). */
#define PTE_ADDR 0x000ffffffffff000ull

static int read_u64(const struct gm *gm, gpa_t gpa, uint64_t *v)
{
	return gm_read(gm, gpa, v, sizeof(*v));
}

static void done(uint64_t base, uint64_t size, uint64_t gva, gpa_t *gpa, uint64_t *left)
{
	uint64_t off = gva & (size - 1);

	*gpa = (base & ~(size - 1)) + off;
	*left = size - off;
}

/* 64-bit entries from `table` down, `levels` levels, the first indexed by
 * bits [shift+8, shift] of gva. Large pages allowed at 1 GiB and 2 MiB. */
static int walk64(const struct gm *gm, gpa_t table, unsigned int levels, unsigned int shift,
		  uint64_t gva, gpa_t *gpa, uint64_t *left)
{
	for (unsigned int l = 0; l < levels; l++, shift -= 9) {
		uint64_t e;

		if (read_u64(gm, (table & PTE_ADDR) + ((gva >> shift) & 511) * 8, &e))
			return -EFAULT;
		if (!(e & PTE_P))
			return -EFAULT;
		if (shift == 12 || ((shift == 21 || shift == 30) && (e & PTE_PS))) {
			done(e & PTE_ADDR, 1ull << shift, gva, gpa, left);
			return 0;
		}
		table = e;
	}
	return -EFAULT; /* not reached: the last level has shift 12 */
}

static int walk32(const struct gm *gm, const struct pagewalk_regs *r, uint64_t gva, gpa_t *gpa,
		  uint64_t *left)
{
	uint32_t pde, pte;

	if (gm_read(gm, (r->cr3 & 0xfffff000u) + ((gva >> 22) & 1023) * 4, &pde, 4))
		return -EFAULT;
	if (!(pde & PTE_P))
		return -EFAULT;
	if ((pde & PTE_PS) && (r->cr4 & CR4_PSE)) {
		/* PSE-36: bits 20..13 of the entry are address bits 39..32. */
		uint64_t base = (pde & 0xffc00000u) | ((uint64_t)((pde >> 13) & 0xff) << 32);

		done(base, 1ull << 22, gva, gpa, left);
		return 0;
	}
	if (gm_read(gm, (pde & 0xfffff000u) + ((gva >> 12) & 1023) * 4, &pte, 4))
		return -EFAULT;
	if (!(pte & PTE_P))
		return -EFAULT;
	done(pte & 0xfffff000u, 4096, gva, gpa, left);
	return 0;
}

int pagewalk_translate(const struct gm *gm, const struct pagewalk_regs *r, uint64_t gva, gpa_t *gpa,
		       uint64_t *page_left)
{
	if (!(r->cr0 & CR0_PG)) {
		if (!(r->efer & EFER_LMA))
			gva &= 0xffffffffu;
		*gpa = gva;
		*page_left = 4096 - (gva & 4095);
		return 0;
	}
	if (r->efer & EFER_LMA) {
		bool la57 = r->cr4 & CR4_LA57;
		unsigned int bits = la57 ? 57 : 48;
		int64_t top = (int64_t)gva >> (bits - 1);

		if (top != 0 && top != -1)
			return -EINVAL;
		return walk64(gm, r->cr3, la57 ? 5 : 4, la57 ? 48 : 39, gva, gpa, page_left);
	}
	gva &= 0xffffffffu;
	if (r->cr4 & CR4_PAE) {
		uint64_t pdpte;

		if (read_u64(gm, (r->cr3 & 0xffffffe0u) + ((gva >> 30) & 3) * 8, &pdpte))
			return -EFAULT;
		if (!(pdpte & PTE_P))
			return -EFAULT;
		return walk64(gm, pdpte, 2, 21, gva, gpa, page_left);
	}
	return walk32(gm, r, gva, gpa, page_left);
}

static int copy(const struct gm *gm, const struct pagewalk_regs *r, uint64_t gva, void *dst,
		const void *src, size_t len)
{
	size_t done_len = 0;

	while (done_len < len) {
		gpa_t gpa;
		uint64_t left;
		int err = pagewalk_translate(gm, r, gva + done_len, &gpa, &left);

		if (err)
			return err;
		if (left > len - done_len)
			left = len - done_len;
		err = dst ? gm_read(gm, gpa, (char *)dst + done_len, left)
			  : gm_write(gm, gpa, (const char *)src + done_len, left);
		if (err)
			return err;
		done_len += left;
	}
	return 0;
}

int pagewalk_read(const struct gm *gm, const struct pagewalk_regs *r, uint64_t gva, void *dst,
		  size_t len)
{
	return copy(gm, r, gva, dst, NULL, len);
}

int pagewalk_write(const struct gm *gm, const struct pagewalk_regs *r, uint64_t gva,
		   const void *src, size_t len)
{
	return copy(gm, r, gva, NULL, src, len);
}
