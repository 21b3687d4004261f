/* SPDX-License-Identifier: MIT */
#include "arch/x86/boot.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "le.h"
#include "log.h"

bool bzimage_probe(const uint8_t *img, size_t size)
{
	return size >= BP_HEADER + 4 && le_get(img + BP_BOOT_FLAG, 2) == BP_BOOT_FLAG_MAGIC &&
	       le_get(img + BP_HEADER, 4) == BP_HEADER_MAGIC;
}

int boot_place_high(uint64_t lo, uint64_t hi, uint64_t size, gpa_t *out)
{
	uint64_t at;

	if (hi < lo || size > hi - lo)
		return -ENOSPC;
	at = (hi - size) & ~4095ULL;
	if (at < lo)
		return -ENOSPC;
	*out = at;
	return 0;
}

/* The 64-bit boot protocol: copy the protected-mode code to its load
 * address, fill the zero page (setup header from the image, e820, command
 * line, initrd, RSDP) and enter at load address + BP_ENTRY64. */
int bzimage_load(const struct gm *gm, const struct boot_input *in, struct boot_entry *out)
{
	const uint8_t *img = in->kernel;
	const char *name = in->kernel_name;
	uint64_t setup_size, payload, load, init_size, low_end = gm_low_end(gm), cmdline_max;
	uint64_t hdr_end, initrd_max;
	size_t cmdline_len = strlen(in->cmdline) + 1;
	struct e820_entry e820[BP_E820_MAX];
	uint8_t *zp, *dst;
	unsigned int version, setup_sects;
	gpa_t initrd_at = 0;
	int n;

	if (in->kernel_size < BP_HEADER_END) {
		log_msg("kernel '%s': truncated bzImage (%zu bytes, header incomplete)", name,
			in->kernel_size);
		return -ENOEXEC;
	}
	version = (unsigned int)le_get(img + BP_VERSION, 2);
	if (version < 0x020c) {
		log_msg("kernel '%s': boot protocol %u.%02u is too old (petrel needs 2.12 "
			"for the 64-bit entry)",
			name, version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	if (!(img[BP_XLOADFLAGS] & BP_XLF_KERNEL_64)) {
		log_msg("kernel '%s': not a 64-bit x86 kernel (no 64-bit entry point)", name);
		return -ENOEXEC;
	}
	setup_sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	setup_size = (setup_sects + 1ULL) * 512;
	if (setup_size >= in->kernel_size) {
		log_msg("kernel '%s': truncated bzImage (setup code runs past the end)", name);
		return -ENOEXEC;
	}
	payload = in->kernel_size - setup_size;
	/* syssize counts 16-byte paragraphs of the protected-mode code: a
	 * truncated download shows up here, not as a crash inside the guest. */
	if (le_get(img + BP_SYSSIZE, 4) * 16 > payload) {
		log_msg("kernel '%s': truncated bzImage (%llu bytes of kernel code, header says "
			"%llu)",
			name, (unsigned long long)payload,
			(unsigned long long)le_get(img + BP_SYSSIZE, 4) * 16);
		return -ENOEXEC;
	}
	/* The 64-bit entry is at load + 0x200: code shorter than that would
	 * start the vCPU past the image, possibly outside RAM. */
	if (payload <= BP_ENTRY64) {
		log_msg("kernel '%s': corrupt bzImage (%llu bytes of kernel code end before "
			"the 64-bit entry point at +0x200)",
			name, (unsigned long long)payload);
		return -ENOEXEC;
	}
	load = le_get(img + BP_PREF_ADDRESS, 8);
	if (load < LAYOUT_KERNEL_MIN)
		load = LAYOUT_KERNEL_MIN;
	init_size = le_get(img + BP_INIT_SIZE, 4);
	if (init_size < payload)
		init_size = payload;
	if (load >= low_end || init_size > low_end - load) {
		log_msg("kernel '%s': needs %llu MiB of RAM from %#llx to start, but guest RAM "
			"below 3 GiB ends at %#llx (use a larger --mem)",
			name, (unsigned long long)(init_size >> 20), (unsigned long long)load,
			(unsigned long long)low_end);
		return -ENOMEM;
	}
	cmdline_max = le_get(img + BP_CMDLINE_SIZE, 4) + 1;
	if (cmdline_max > LAYOUT_CMDLINE_MAX)
		cmdline_max = LAYOUT_CMDLINE_MAX;
	if (cmdline_len > cmdline_max) {
		log_msg("kernel '%s': command line is %zu bytes, this kernel takes at most %llu",
			name, cmdline_len - 1, (unsigned long long)cmdline_max - 1);
		return -E2BIG;
	}
	if (in->initrd) {
		initrd_max = le_get(img + BP_INITRD_ADDR_MAX, 4) + 1ULL;
		if (initrd_max > low_end)
			initrd_max = low_end;
		if (boot_place_high(load + init_size, initrd_max, in->initrd_size, &initrd_at)) {
			log_msg("initrd '%s': %zu bytes do not fit in guest RAM after the kernel "
				"(use a larger --mem)",
				in->initrd_name, in->initrd_size);
			return -ENOMEM;
		}
	}
	n = e820_build(gm, e820, BP_E820_MAX);
	zp = gm_ptr(gm, LAYOUT_ZERO_PAGE, BP_SIZE);
	dst = gm_ptr(gm, load, payload);
	if (n < 0 || !zp || !dst || gm_write(gm, LAYOUT_CMDLINE, in->cmdline, cmdline_len) ||
	    (in->initrd && gm_write(gm, initrd_at, in->initrd, in->initrd_size))) {
		log_msg("kernel '%s': boot structures do not fit in guest RAM", name);
		return -ENOMEM;
	}
	memcpy(dst, img + setup_size, payload);

	memset(zp, 0, BP_SIZE);
	/* The header runs from 0x1f1 to the byte the jump at 0x200 targets. */
	hdr_end = BP_JUMP + 2 + img[BP_JUMP + 1];
	if (hdr_end > BP_SETUP_HEADER_MAX)
		hdr_end = BP_SETUP_HEADER_MAX;
	if (hdr_end > in->kernel_size)
		hdr_end = in->kernel_size;
	memcpy(zp + BP_SETUP_SECTS, img + BP_SETUP_SECTS, hdr_end - BP_SETUP_SECTS);
	le_put(zp + BP_VID_MODE, 0xffff, 2);
	zp[BP_TYPE_OF_LOADER] = 0xff;
	zp[BP_LOADFLAGS] |= BP_LOADED_HIGH | BP_CAN_USE_HEAP;
	le_put(zp + BP_HEAP_END_PTR, 0xfe00, 2);
	le_put(zp + BP_CODE32_START, load, 4);
	le_put(zp + BP_CMD_LINE_PTR, LAYOUT_CMDLINE, 4);
	le_put(zp + BP_RAMDISK_IMAGE, initrd_at, 4);
	le_put(zp + BP_RAMDISK_SIZE, in->initrd ? in->initrd_size : 0, 4);
	le_put(zp + BP_ACPI_RSDP_ADDR, in->rsdp, 8);
	/* The loader's field (boot.rst: "write (special)"), not the image's:
	 * petrel passes no setup_data, so a pointer the file carries must not
	 * reach the kernel, which would follow it. */
	le_put(zp + BP_SETUP_DATA, 0, 8);
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;

		le_put(e, e820[i].addr, 8);
		le_put(e + 8, e820[i].size, 8);
		le_put(e + 16, e820[i].type, 4);
	}
	*out = (struct boot_entry){ BOOT_LINUX64, load + BP_ENTRY64, LAYOUT_ZERO_PAGE };
	return 0;
}
