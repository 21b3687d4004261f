#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile peers of a live migration (docs/migration.md), for tests/api/migrate.sh.

  migpeer.py source SOCK MODE   connect to a `petrel run --incoming unix:SOCK`
                                target and send it a bad stream
  migpeer.py target SOCK MODE   listen on SOCK as a fake target for a source's
                                PUT /migrate and misbehave

Source modes: magic, version, setup-mem, setup-page, pages-range,
pages-len, unexpected, long-state, cut-page, commit-early.
Target modes: die-early (read the header, SETUP and a little more, exit), refuse (read up to STATE,
answer ERROR), garbage (read up to STATE, answer junk), no-done (read up
to STATE, READY, read COMMIT, close without DONE).
"""
import os
import socket
import struct
import sys

MAGIC = b"PETRELMG"
SETUP, PAGES, STATE, COMMIT, READY, DONE, ERROR = 1, 2, 3, 4, 5, 6, 7


def rec(t, payload=b""):
    return struct.pack("<II", t, len(payload)) + payload


def header(version=1):
    return MAGIC + struct.pack("<II", version, 0)


def setup(mem=32 << 20, cpus=1, page=4096):
    return rec(SETUP, struct.pack("<QII", mem, cpus, page))


def pages(first, count, data=None):
    data = data if data is not None else b"\xaa" * (4096 * count)
    return rec(PAGES, struct.pack("<QII", first, count, 0) + data)


def source(path, mode):
    ok = header() + setup()
    streams = {
        "magic": b"NOTPETRL" + struct.pack("<II", 1, 0),
        "version": header(9) + setup(),
        "setup-mem": header() + setup(mem=(1 << 50)),
        "setup-page": header() + setup(page=65536),
        "pages-range": ok + pages((32 << 20) // 4096 - 1, 2),
        "pages-len": ok + struct.pack("<IIQII", PAGES, 16 + 4096 + 1, 0, 1, 0),
        "unexpected": ok + rec(COMMIT, b"\0\0\0\0"),
        "long-state": ok + struct.pack("<II", STATE, 0xFFFFFFFF),
        "cut-page": ok + pages(0, 1)[:100],
        "commit-early": header() + rec(COMMIT, b"\1\0\0\0"),
    }
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    try:
        s.sendall(streams[mode])
        s.shutdown(socket.SHUT_WR)
        s.settimeout(30)
        while s.recv(65536):
            pass
    except OSError:
        pass


def read_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def read_to_state(c):
    read_exact(c, 16)
    while True:
        t, n = struct.unpack("<II", read_exact(c, 8))
        read_exact(c, n)
        if t == STATE:
            return


def target(path, mode):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    c, _ = s.accept()
    c.settimeout(60)
    if mode == "die-early":
        read_exact(c, 16 + 24 + 100)
        os._exit(0)
    read_to_state(c)
    if mode == "refuse":
        c.sendall(rec(ERROR, b"no room for you\x01here"))
    elif mode == "garbage":
        c.sendall(b"\xff" * 64)
    elif mode == "no-done":
        c.sendall(rec(READY))
        read_exact(c, 12)
    c.close()


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("source", "target"):
        sys.exit(__doc__)
    (source if sys.argv[1] == "source" else target)(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
