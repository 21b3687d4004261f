/* SPDX-License-Identifier: MIT */
/*
 * ELF kernels through the PVH boot ABI: PT_LOAD segments go to their
 * physical addresses, the entry point comes from the Xen ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY, and the kernel is started in 32-bit protected
 * mode with ebx pointing at a struct hvm_start_info (version 1, with a
 * memory map; the initrd, if any, is module 0). The image may be ELF64
 * (x86-64, as Linux's vmlinux) or ELF32 (i386, as many small kernels and
 * QEMU's -kernel take them): the PVH entry is 32-bit code either way, so
 * the class only changes how the headers are laid out.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "le.h"
#include "log.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578U

bool elf_probe(const uint8_t *img, size_t size)
{
	return size >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0;
}

/* Does [off, off + len) lie inside a file of `size` bytes? */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

/* Walk the notes of one PT_NOTE segment for the PVH entry. 0 and *entry
 * set, -ENOENT if absent, -ENOEXEC if the segment is malformed. */
static int pvh_find_note(const uint8_t *p, uint64_t len, uint64_t *entry)
{
	uint64_t at = 0;

	while (len - at >= 12) {
		uint32_t namesz = (uint32_t)le_get(p + at, 4);
		uint32_t descsz = (uint32_t)le_get(p + at + 4, 4);
		uint32_t type = (uint32_t)le_get(p + at + 8, 4);
		uint64_t name = at + 12, desc = name + ((namesz + 3ULL) & ~3ULL);
		uint64_t next = desc + ((descsz + 3ULL) & ~3ULL);

		if (next > len || desc + descsz > len)
			return -ENOEXEC;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(p + name, "Xen", 4)) {
			if (descsz != 4 && descsz != 8)
				return -ENOEXEC;
			*entry = le_get(p + desc, descsz);
			return 0;
		}
		at = next;
	}
	return -ENOENT;
}

/* What the loader uses of an ELF header, of either class. */
struct pvh_elf {
	bool is64;
	uint64_t phoff;
	unsigned int phnum;
};

/* Check the ELF header: class, byte order, version and machine (ELF64 for
 * x86-64, ELF32 for i386) and that the program headers lie in the file.
 * 0, or -ENOEXEC after one message. */
static int pvh_elf_header(const uint8_t *img, size_t size, const char *name, struct pvh_elf *elf)
{
	unsigned int machine, version, phentsize, want_machine;
	size_t ehsize;

	if (size < EI_NIDENT) {
		log_msg("kernel '%s': truncated ELF header", name);
		return -ENOEXEC;
	}
	elf->is64 = img[EI_CLASS] == ELFCLASS64;
	if (!elf->is64 && img[EI_CLASS] != ELFCLASS32) {
		log_msg("kernel '%s': ELF class %u is neither ELF32 nor ELF64", name,
			img[EI_CLASS]);
		return -ENOEXEC;
	}
	ehsize = elf->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (size < ehsize) {
		log_msg("kernel '%s': truncated ELF header", name);
		return -ENOEXEC;
	}
	if (elf->is64) {
		Elf64_Ehdr eh;

		memcpy(&eh, img, sizeof(eh));
		machine = eh.e_machine;
		version = eh.e_version;
		phentsize = eh.e_phentsize;
		elf->phoff = eh.e_phoff;
		elf->phnum = eh.e_phnum;
	} else {
		Elf32_Ehdr eh;

		memcpy(&eh, img, sizeof(eh));
		machine = eh.e_machine;
		version = eh.e_version;
		phentsize = eh.e_phentsize;
		elf->phoff = eh.e_phoff;
		elf->phnum = eh.e_phnum;
	}
	if (img[EI_DATA] != ELFDATA2LSB) {
		log_msg("kernel '%s': not a little-endian ELF (data encoding %u)", name,
			img[EI_DATA]);
		return -ENOEXEC;
	}
	if (img[EI_VERSION] != EV_CURRENT || version != EV_CURRENT) {
		log_msg("kernel '%s': ELF version %u, not 1", name,
			img[EI_VERSION] != EV_CURRENT ? img[EI_VERSION] : version);
		return -ENOEXEC;
	}
	want_machine = elf->is64 ? EM_X86_64 : EM_386;
	if (machine != want_machine) {
		log_msg("kernel '%s': ELF%s kernel for machine %u (%s is %u)", name,
			elf->is64 ? "64" : "32", machine, elf->is64 ? "x86-64" : "i386",
			want_machine);
		return -ENOEXEC;
	}
	if (phentsize != (elf->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || elf->phnum == 0 ||
	    !in_file(elf->phoff, (uint64_t)elf->phnum * phentsize, size)) {
		log_msg("kernel '%s': truncated or corrupt ELF program headers", name);
		return -ENOEXEC;
	}
	return 0;
}

/* Program header `i`, widened to the ELF64 form. The headers were checked
 * to lie in the file by pvh_elf_header. */
static Elf64_Phdr pvh_phdr(const uint8_t *img, const struct pvh_elf *elf, unsigned int i)
{
	Elf64_Phdr ph;
	Elf32_Phdr ph32;

	if (elf->is64) {
		memcpy(&ph, img + elf->phoff + i * sizeof(ph), sizeof(ph));
		return ph;
	}
	memcpy(&ph32, img + elf->phoff + i * sizeof(ph32), sizeof(ph32));
	return (Elf64_Phdr){
		.p_type = ph32.p_type,
		.p_flags = ph32.p_flags,
		.p_offset = ph32.p_offset,
		.p_vaddr = ph32.p_vaddr,
		.p_paddr = ph32.p_paddr,
		.p_filesz = ph32.p_filesz,
		.p_memsz = ph32.p_memsz,
		.p_align = ph32.p_align,
	};
}

/* Is `entry` one of the bytes a PT_LOAD segment brings from the file?
 * Anything else (RAM left zero, a segment's zero-filled tail) would start
 * the vCPU on zeros, which it executes as "add %al, (%eax)" through all of
 * RAM, for minutes under an emulated CPU, instead of failing here. The
 * program headers were checked by pass 1 of pvh_load. */
static bool pvh_entry_loaded(const uint8_t *img, const struct pvh_elf *elf, uint64_t entry)
{
	for (unsigned int i = 0; i < elf->phnum; i++) {
		Elf64_Phdr ph = pvh_phdr(img, elf, i);

		if (ph.p_type == PT_LOAD && entry >= ph.p_paddr && entry - ph.p_paddr < ph.p_filesz)
			return true;
	}
	return false;
}

static int pvh_start_info(const struct gm *gm, const struct boot_input *in, gpa_t initrd_at)
{
	struct e820_entry e820[LAYOUT_PVH_MEMMAP_MAX];
	uint8_t si[56] = { 0 }, mod[32] = { 0 }, map[24];
	int n = e820_build(gm, e820, LAYOUT_PVH_MEMMAP_MAX);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		memset(map, 0, sizeof(map));
		le_put(map, e820[i].addr, 8);
		le_put(map + 8, e820[i].size, 8);
		le_put(map + 16, e820[i].type, 4);
		if (gm_write(gm, LAYOUT_PVH_MEMMAP + 24 * (gpa_t)i, map, sizeof(map)))
			return -EFAULT;
	}
	le_put(si, HVM_START_MAGIC, 4);
	le_put(si + 4, 1, 4); /* version 1: has the memory map */
	le_put(si + 24, LAYOUT_CMDLINE, 8);
	le_put(si + 32, in->rsdp, 8);
	le_put(si + 40, LAYOUT_PVH_MEMMAP, 8);
	le_put(si + 48, (uint64_t)n, 4);
	if (in->initrd) {
		le_put(si + 12, 1, 4); /* nr_modules */
		le_put(si + 16, LAYOUT_PVH_MODLIST, 8);
		le_put(mod, initrd_at, 8);
		le_put(mod + 8, in->initrd_size, 8);
		if (gm_write(gm, LAYOUT_PVH_MODLIST, mod, sizeof(mod)))
			return -EFAULT;
	}
	return gm_write(gm, LAYOUT_START_INFO, si, sizeof(si));
}

int pvh_load(const struct gm *gm, const struct boot_input *in, struct boot_entry *out)
{
	const char *name = in->kernel_name;
	const uint8_t *img = in->kernel;
	size_t size = in->kernel_size, cmdline_len = strlen(in->cmdline) + 1;
	uint64_t entry = 0, kernel_end = 0;
	struct pvh_elf elf;
	gpa_t initrd_at = 0;
	int err = pvh_elf_header(img, size, name, &elf);

	if (err)
		return err;
	err = -ENOENT;
	/* Pass 1: validate every segment and find the PVH note. */
	for (unsigned int i = 0; i < elf.phnum; i++) {
		Elf64_Phdr ph = pvh_phdr(img, &elf, i);

		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (!in_file(ph.p_offset, ph.p_filesz, size)) {
			log_msg("kernel '%s': truncated ELF (segment %u runs past the end of the "
				"file)",
				name, i);
			return -ENOEXEC;
		}
		if (ph.p_type == PT_NOTE) {
			if (err == -ENOENT)
				err = pvh_find_note(img + ph.p_offset, ph.p_filesz, &entry);
			continue;
		}
		if (ph.p_filesz > ph.p_memsz || ph.p_paddr < LAYOUT_KERNEL_MIN ||
		    !gm_ptr(gm, ph.p_paddr, ph.p_memsz)) {
			log_msg("kernel '%s': segment %u (%#llx, %llu bytes) does not fit in guest "
				"RAM from 1 MiB (use a larger --mem?)",
				name, i, (unsigned long long)ph.p_paddr,
				(unsigned long long)ph.p_memsz);
			return -ENOMEM;
		}
		if (ph.p_paddr + ph.p_memsz > kernel_end)
			kernel_end = ph.p_paddr + ph.p_memsz;
	}
	if (err == -ENOEXEC) {
		log_msg("kernel '%s': corrupt ELF note segment", name);
		return err;
	}
	if (err == -ENOENT || kernel_end == 0) {
		log_msg("kernel '%s': ELF has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); "
			"boot a bzImage instead, or build the kernel with CONFIG_PVH",
			name);
		return -ENOEXEC;
	}
	if (entry >= (1ULL << 32) || !gm_ptr(gm, entry, 1)) {
		log_msg("kernel '%s': PVH entry %#llx is not in guest RAM below 4 GiB", name,
			(unsigned long long)entry);
		return -ENOEXEC;
	}
	if (!pvh_entry_loaded(img, &elf, entry)) {
		log_msg("kernel '%s': PVH entry %#llx is not in any loaded segment's code", name,
			(unsigned long long)entry);
		return -ENOEXEC;
	}
	if (cmdline_len > LAYOUT_CMDLINE_MAX) {
		log_msg("kernel '%s': command line is %zu bytes, petrel passes at most %llu", name,
			cmdline_len - 1, LAYOUT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	if (in->initrd &&
	    boot_place_high(kernel_end, gm_low_end(gm), in->initrd_size, &initrd_at)) {
		log_msg("initrd '%s': %zu bytes do not fit in guest RAM after the kernel "
			"(use a larger --mem)",
			in->initrd_name, in->initrd_size);
		return -ENOMEM;
	}
	/* Pass 2: copy. Every range was checked above. */
	for (unsigned int i = 0; i < elf.phnum; i++) {
		Elf64_Phdr ph = pvh_phdr(img, &elf, i);
		uint8_t *dst;

		if (ph.p_type != PT_LOAD)
			continue;
		dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	if (gm_write(gm, LAYOUT_CMDLINE, in->cmdline, cmdline_len) ||
	    (in->initrd && gm_write(gm, initrd_at, in->initrd, in->initrd_size)) ||
	    pvh_start_info(gm, in, initrd_at)) {
		log_msg("kernel '%s': boot structures do not fit in guest RAM", name);
		return -ENOMEM;
	}
	*out = (struct boot_entry){ BOOT_PVH32, entry, LAYOUT_START_INFO };
	return 0;
}
