#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Disk images for the virtio_blk guest (patterns: guests/virtio_blk.c).

  blkimage.py host FILE SECTORS     the host pattern in every sector
  blkimage.py want FILE SECTORS     what the guest leaves: the host pattern,
                                    with the guest pattern in the sectors
                                    it writes (the stress region excluded:
                                    compare that with `crc`)
  blkimage.py crc FILE SECTOR COUNT CRC-32 (zlib) of COUNT bytes from SECTOR
  blkimage.py safe FILE SEED FIRST COUNT
                                    blk_safety's pattern P(SEED) of sectors
                                    FIRST.. (COUNT sectors; guests/blk_safety.c)
"""
import struct
import sys
import zlib

SECTOR = 512
ROT = bytes(range(256)) * 3


def host_sector(s):
    return struct.pack("<Q", s) + ROT[(s + 8) % 256:(s + 8) % 256 + SECTOR - 8]


def guest_sector(s):
    return b"PTRL" + struct.pack("<I", s & 0xffffffff) + bytes(
        (s * 3 + i * 5 + 1) & 0xff for i in range(8, SECTOR))


def guest_sectors(n):
    return [0, 1, 33, 1000, n - 1] + list(range(64, 72)) + list(range(200, 208))


M64 = 2**64 - 1


def mix(x):
    x = (x + 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


def safe_sector(seed, s):
    return b"SAFE" + struct.pack("<I", s & 0xffffffff) + b"".join(
        struct.pack("<Q", mix(seed ^ (s << 16) ^ (i >> 3))) for i in range(8, SECTOR, 8))


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd in ("host", "want"):
        n = int(sys.argv[3])
        written = set(guest_sectors(n)) if cmd == "want" else set()
        with open(path, "wb") as f:
            for s in range(n):
                f.write(guest_sector(s) if s in written else host_sector(s))
    elif cmd == "crc":
        start, count = int(sys.argv[3]), int(sys.argv[4])
        with open(path, "rb") as f:
            f.seek(start * SECTOR)
            print("%08x" % zlib.crc32(f.read(count)))
    elif cmd == "safe":
        seed, first, count = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        with open(path, "wb") as f:
            for s in range(first, first + count):
                f.write(safe_sector(seed, s))
    else:
        sys.exit("usage: blkimage.py host|want FILE SECTORS | crc FILE SECTOR COUNT"
                 " | safe FILE SEED FIRST COUNT")


if __name__ == "__main__":
    main()
