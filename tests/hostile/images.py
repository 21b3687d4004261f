#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crafted kernel images for the hostile suite's @IMG/FILE cases.

    images.py GUEST_BUILD_DIR OUTDIR

Each image starts from the hostile_platform guest (its .bzimage, or its
.elf or .elf32 for PVH) and breaks one field of the boot protocol
(Documentation/arch/x86/boot.rst; ELF and the PVH note). petrel must refuse
each bad one with one error line and status 1; the few that are valid
(fields petrel has no use for, harmless layouts) must boot and pass the
guest's own case (tests/hostile/platform.cases says which).
"""
import struct
import sys

GUEST = "hostile_platform"
PT_LOAD, PT_NOTE = 1, 4


def put(buf, fmt, off, *v):
    struct.pack_into("<" + fmt, buf, off, *v)


def bz_images(bz):
    out = {}

    def variant(name, **fields):
        img = bytearray(bz)
        for off_fmt, v in fields.values():
            put(img, off_fmt[1], off_fmt[0], v)
        out[name] = img

    variant("bz-setup-sects-0", f=((0x1f1, "B"), 0))  # means 4: the payload moves
    variant("bz-setup-sects-255", f=((0x1f1, "B"), 255))
    variant("bz-syssize-huge", f=((0x1f4, "I"), 0xffffffff))
    variant("bz-bad-boot-flag", f=((0x1fe, "H"), 0x55aa))
    variant("bz-bad-magic", f=((0x202, "4s"), b"HdrZ"))
    variant("bz-version-2.11", f=((0x206, "H"), 0x020b))
    variant("bz-no-64bit", f=((0x236, "H"), 0))
    variant("bz-init-size-huge", f=((0x260, "I"), 0xffffffff))
    variant("bz-cmdline-size-0", f=((0x238, "I"), 0))
    variant("bz-pref-hole", f=((0x258, "Q"), 0xe0000000))
    variant("bz-pref-top", f=((0x258, "Q"), 0xfffffffffffff000))
    # Valid: fields a non-relocating 64-bit loader has no use for, and a
    # setup_data pointer in the file, which is the loader's to write.
    variant("bz-align-0", a=((0x230, "I"), 0), r=((0x234, "B"), 1))
    variant("bz-align-odd", a=((0x230, "I"), 0x3001), r=((0x234, "B"), 1))
    variant("bz-setup-data", s=((0x250, "Q"), 0x7f00))
    out["bz-plain"] = bytearray(bz)
    # Truncated at every header boundary, and empty.
    cuts = {"empty": 0, "1f1": 0x1f1, "202": 0x202, "206": 0x206, "236": 0x236,
            "268": 0x268, "setup": 0x400, "payload": 0x500, "last": len(bz) - 1}
    for name, cut in cuts.items():
        out["bz-cut-" + name] = bytearray(bz[:cut])
    return out


def elf_images(elf):
    out = {}
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phnum, = struct.unpack_from("<H", elf, 0x38)
    phdrs = [struct.unpack_from("<IIQQQQQQ", elf, phoff + 56 * i) for i in range(phnum)]
    load = [i for i, p in enumerate(phdrs) if p[0] == PT_LOAD]
    note = [i for i, p in enumerate(phdrs) if p[0] == PT_NOTE][0]
    first = load[0]

    def ph(i):
        return phoff + 56 * i

    def variant(name, edits):
        img = bytearray(elf)
        for off, fmt, v in edits:
            put(img, fmt, off, v)
        out[name] = img

    # ELF header.
    variant("elf-class32", [(4, "B", 1)])
    variant("elf-machine-arm", [(0x12, "H", 0xb7)])
    variant("elf-phoff-past-eof", [(0x20, "Q", len(elf) + 64)])
    variant("elf-phoff-wraps", [(0x20, "Q", 0xffffffffffffffc0)])
    variant("elf-phnum-huge", [(0x38, "H", 0xffff)])
    variant("elf-phnum-0", [(0x38, "H", 0)])
    variant("elf-phentsize", [(0x36, "H", 32)])
    # Program headers: p_offset 8, p_paddr 24, p_filesz 32, p_memsz 40.
    variant("elf-seg-past-eof", [(ph(first) + 8, "Q", len(elf) - 16)])
    variant("elf-filesz-gt-memsz", [(ph(first) + 40, "Q", phdrs[first][5] - 16)])
    variant("elf-paddr-wraps", [(ph(first) + 24, "Q", 0xfffffffffffff000),
                                (ph(first) + 40, "Q", 0x2000)])
    variant("elf-paddr-above-ram", [(ph(first) + 24, "Q", 0x40000000)])
    variant("elf-paddr-hole", [(ph(first) + 24, "Q", 0xfec00000)])
    variant("elf-paddr-low", [(ph(first) + 24, "Q", 0x7000)])
    variant("elf-memsz-huge", [(ph(first) + 40, "Q", 1 << 63)])
    variant("elf-no-load", [(ph(i), "I", 0) for i in load])
    # The PVH note: namesz 0, descsz 4, type 8, "Xen\0", entry.
    n_off = phdrs[note][2]
    variant("elf-note-descsz", [(n_off + 4, "I", 2)])
    variant("elf-note-namesz-huge", [(n_off, "I", 0xfffffff0)])
    variant("elf-note-past-seg", [(n_off + 4, "I", 0x10000)])
    variant("elf-no-note", [(ph(note), "I", 0)])
    variant("elf-entry-outside", [(n_off + 16, "I", 0x800000)])
    variant("elf-entry-hole", [(n_off + 16, "I", 0xfec00000)])
    out["elf-plain"] = bytearray(elf)
    cuts = {"empty": 0, "ident": 16, "ehdr": 63, "phdr0": phoff + 20,
            "phdrs": phoff + 56 * phnum - 1, "note": n_off + 10}
    for name, cut in cuts.items():
        out["elf-cut-" + name] = bytearray(elf[:cut])
    return out


def elf32_images(elf):
    """The ELF32 form (i386 headers): the loader's 32-bit header paths."""
    out = {}
    phoff, = struct.unpack_from("<I", elf, 0x1c)
    phnum, = struct.unpack_from("<H", elf, 0x2c)
    phdrs = [struct.unpack_from("<IIIIIIII", elf, phoff + 32 * i) for i in range(phnum)]
    first = [i for i, p in enumerate(phdrs) if p[0] == PT_LOAD][0]
    load = phoff + 32 * first

    def variant(name, edits):
        img = bytearray(elf)
        for off, fmt, v in edits:
            put(img, fmt, off, v)
        out[name] = img

    variant("elf32-machine-x86-64", [(0x12, "H", 62)])
    variant("elf32-phentsize-64", [(0x2a, "H", 56)])
    # Program header: p_offset 4, p_paddr 12, p_filesz 16, p_memsz 20.
    variant("elf32-seg-past-eof", [(load + 4, "I", len(elf) - 16)])
    variant("elf32-paddr-wraps", [(load + 12, "I", 0xfffff000), (load + 20, "I", 0x2000)])
    variant("elf32-memsz-huge", [(load + 20, "I", 0xffffffff)])
    out["elf32-plain"] = bytearray(elf)
    out["elf32-cut-phdrs"] = bytearray(elf[:phoff + 32 * phnum - 1])
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: images.py GUEST_BUILD_DIR OUTDIR")
    gdir, outdir = sys.argv[1:]
    with open("%s/%s.bzimage" % (gdir, GUEST), "rb") as f:
        images = bz_images(f.read())
    with open("%s/%s.elf" % (gdir, GUEST), "rb") as f:
        images.update(elf_images(f.read()))
    with open("%s/%s.elf32" % (gdir, GUEST), "rb") as f:
        images.update(elf32_images(f.read()))
    for name, img in images.items():
        with open("%s/%s" % (outdir, name), "wb") as f:
            f.write(img)


if __name__ == "__main__":
    main()
