#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Wrap a test guest ELF (linked at 0x100000) into a bzImage-format file.

Layout: a 512-byte boot sector carrying the Linux x86 setup header
(Documentation/arch/x86/boot.rst), SETUP_SECTS more sectors of (unused)
setup code, then the protected-mode payload: the ELF's loadable segments as
one flat image starting at 0x100000, .bss included as zeros. The 64-bit
entry point is payload + 0x200 (bz_entry64 in start.S).
"""
import struct
import sys

LOAD_ADDR = 0x100000
SETUP_SECTS = 1
PT_LOAD = 1


def flat_payload(elf):
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        sys.exit("mkbzimage: not an ELF64 file")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    segs = []
    for i in range(phnum):
        p_type, _, off, _, paddr, filesz, memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", elf, phoff + i * phentsize)
        if p_type == PT_LOAD and memsz:
            segs.append((paddr, elf[off:off + filesz], memsz))
    if not segs or min(s[0] for s in segs) != LOAD_ADDR:
        sys.exit("mkbzimage: payload must start at 0x100000")
    end = max(paddr + memsz for paddr, _, memsz in segs)
    img = bytearray(end - LOAD_ADDR)
    for paddr, data, _ in segs:
        img[paddr - LOAD_ADDR:paddr - LOAD_ADDR + len(data)] = data
    return bytes(img)


def setup_header(payload_len, init_size):
    setup = bytearray(512 * (1 + SETUP_SECTS))
    def put(fmt, off, *v):
        struct.pack_into("<" + fmt, setup, off, *v)
    put("B", 0x1f1, SETUP_SECTS)
    put("I", 0x1f4, (payload_len + 15) // 16)   # syssize
    put("H", 0x1fa, 0xffff)                     # vid_mode: normal
    put("H", 0x1fe, 0xAA55)                     # boot_flag
    put("BB", 0x200, 0xeb, 0x6e)                # jump past the header to 0x270
    put("4s", 0x202, b"HdrS")
    put("H", 0x206, 0x020f)                     # protocol 2.15
    put("H", 0x20c, 0x1000)                     # start_sys_seg (obsolete)
    put("B", 0x211, 0x01)                       # loadflags: LOADED_HIGH
    put("I", 0x214, LOAD_ADDR)                  # code32_start
    put("I", 0x22c, 0x7fffffff)                 # initrd_addr_max
    put("I", 0x230, 0x1000)                     # kernel_alignment
    put("B", 0x234, 0)                          # relocatable_kernel: no
    put("B", 0x235, 12)                         # min_alignment: 4 KiB
    put("H", 0x236, 0x1)                        # xloadflags: XLF_KERNEL_64
    put("I", 0x238, 2047)                       # cmdline_size
    put("Q", 0x258, LOAD_ADDR)                  # pref_address
    put("I", 0x260, init_size)                  # init_size
    # Real-mode setup code: never run by petrel (64-bit protocol). Halt.
    setup[0x270:0x273] = b"\xfa\xf4\xeb"          # cli; hlt; jmp
    setup[0x273] = 0xfd                         # ... back to hlt
    return bytes(setup)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mkbzimage.py GUEST.elf OUT.bzimage")
    with open(sys.argv[1], "rb") as f:
        payload = flat_payload(f.read())
    init_size = (len(payload) + 0xfff) & ~0xfff
    with open(sys.argv[2], "wb") as f:
        f.write(setup_header(len(payload), init_size))
        f.write(payload)


if __name__ == "__main__":
    main()
