#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Make a hostile copy of a petrel snapshot's state file (docs/snapshot.md's
container: the sections are re-encoded and the checksum made right again,
so what petrel refuses is the content, not the framing).

  snapedit.py IN OUT set-vm-cpus N        section "vm": its vCPU count
  snapedit.py IN OUT add-section NAME     one more section (a byte of payload)
  snapedit.py IN OUT cut-section NAME N   the section's payload cut to N bytes
  snapedit.py IN OUT drop-section NAME    without that section
  snapedit.py IN OUT set-version NAME V   the section's layout version set to V
"""
import struct
import sys

MAGIC = b"PETRELSN"


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def decode(buf):
    if buf[:8] != MAGIC or crc32c(buf[:-4]) != struct.unpack_from("<I", buf, len(buf) - 4)[0]:
        sys.exit("snapedit: not a whole petrel snapshot")
    version, flags, count = struct.unpack_from("<III", buf, 8)
    pos, sections = 20, []
    for _ in range(count):
        n = buf[pos]
        name = buf[pos + 1:pos + 1 + n].decode()
        pos += 1 + n
        layout, length = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        sections.append([name, layout, bytearray(buf[pos:pos + length])])
        pos += length
    return version, flags, sections


def encode(version, flags, sections):
    out = bytearray(MAGIC + struct.pack("<III", version, flags, len(sections)))
    for name, layout, payload in sections:
        out += bytes([len(name)]) + name.encode() + struct.pack("<IQ", layout, len(payload))
        out += payload
    return bytes(out + struct.pack("<I", crc32c(out)))


def main():
    src, dst, op = sys.argv[1:4]
    with open(src, "rb") as f:
        version, flags, sections = decode(f.read())
    by_name = {s[0]: s for s in sections}
    if op == "set-vm-cpus":
        struct.pack_into("<I", by_name["vm"][2], 0, int(sys.argv[4]))
    elif op == "add-section":
        sections.append([sys.argv[4], 1, bytearray(b"\x01")])
    elif op == "cut-section":
        sec = by_name[sys.argv[4]]
        sec[2] = sec[2][:int(sys.argv[5])]
    elif op == "drop-section":
        sections.remove(by_name[sys.argv[4]])
    elif op == "set-version":
        by_name[sys.argv[4]][1] = int(sys.argv[5])
    else:
        sys.exit("snapedit: unknown operation " + op)
    with open(dst, "wb") as f:
        f.write(encode(version, flags, sections))


if __name__ == "__main__":
    main()
