#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile peers of a live migration (docs/migration.md), for tests/api/migrate.sh.

  migpeer.py source SOCK MODE   connect to a `petrel run --incoming unix:SOCK`
                                target and send it a bad stream
  migpeer.py target SOCK MODE   listen on SOCK as a fake target for a source's
                                PUT /migrate and misbehave

A source's SETUP carries the configuration in $MIGPEER_CONFIG (JSON; a
32 MiB, 1-vCPU VM). Source modes refused at SETUP: magic, version,
version1 (an older petrel's stream), setup-mem, setup-huge (more RAM
than the host has), setup-page, setup-config (not JSON), setup-nul,
setup-mismatch (SETUP's size is not its configuration's), commit-early;
after the target built the VM (needs KVM): pages-range, pages-len,
unexpected, long-state, cut-page, state-config (STATE's configuration
is not SETUP's).
Target modes: die-early (read the header, SETUP and a little more,
exit), refuse (read up to STATE, answer ERROR), garbage (read up to
STATE, answer junk), no-done (read up to STATE, READY, read COMMIT,
close without DONE), v1 (answer the header as a petrel that speaks
stream version 1 does), accept-v3 (ACCEPT with version 3).
"""
import os
import socket
import struct
import sys

MAGIC = b"PETRELMG"
SETUP, PAGES, STATE, COMMIT, READY, DONE, ERROR, ACCEPT = 1, 2, 3, 4, 5, 6, 7, 8
CONFIG = os.environ.get("MIGPEER_CONFIG", "{}").encode()


def rec(t, payload=b""):
    return struct.pack("<II", t, len(payload)) + payload


def header(version=2):
    return MAGIC + struct.pack("<II", version, 0)


def setup(mem=32 << 20, cpus=1, page=4096, config=None):
    return rec(SETUP, struct.pack("<QII", mem, cpus, page) + (CONFIG if config is None else config))


def pages(first, count, data=None):
    data = data if data is not None else b"\xaa" * (4096 * count)
    return rec(PAGES, struct.pack("<QII", first, count, 0) + data)


def source(path, mode):
    ok = header() + setup()
    streams = {
        "magic": b"NOTPETRL" + struct.pack("<II", 1, 0),
        "version": header(9) + setup(),
        "version1": header(1) + rec(SETUP, struct.pack("<QII", 32 << 20, 1, 4096)),
        "setup-mem": header() + setup(mem=(1 << 20) + 4096),
        "setup-huge": header() + setup(mem=(1 << 40)),
        "setup-page": header() + setup(page=65536),
        "setup-config": header() + setup(config=b"{not json"),
        "setup-nul": header() + setup(config=b"{}\0"),
        "setup-mismatch": header() + setup(mem=64 << 20),
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


def read_setup(c):
    read_exact(c, 16)
    t, n = struct.unpack("<II", read_exact(c, 8))
    read_exact(c, n)


def read_to_state(c):
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
    if mode == "v1":
        read_exact(c, 16)
        c.sendall(rec(ERROR, b"stream version 2, this petrel speaks 1"))
        c.close()
        return
    read_setup(c)
    if mode == "accept-v3":
        c.sendall(rec(ACCEPT, struct.pack("<I", 3)))
        c.close()
        return
    c.sendall(rec(ACCEPT, struct.pack("<I", 2)))
    if mode == "die-early":
        read_exact(c, 100)
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
