#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A hostile stream peer (QEMU's -netdev stream framing) of guests/net_link.c.

  netpeer.py TIMEOUT SOCK TINY COUNT OUT ERR -- PETREL ARGS...

Runs petrel (whose --net is stream=unix:SOCK,listen) with stdout to OUT and
stderr to ERR, connects to SOCK, and misbehaves: a zero length, a 5-byte
runt, a frame sent in two halves 200 ms apart (valid, of a kind the guest
ignores), then a length of 2^31 (petrel must hang up: it connects again),
then TINY zero-length frames in one go (4 bytes each). Then it is a good
peer: the guest's protocol (hello, COUNT data frames each way, checked
byte for byte), and then it stops reading while the guest floods. Prints
one line:
  status=RC peer=ok|WHY reconnected=yes|no
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

ETHERTYPE = 0x88B5
MAC = bytes([0x02, 0, 0, 0, 0, 0x99])


def frame_len(seq):
    return 60 + (seq * 97) % 1455


def pattern(src, seq, i):
    return (seq * 13 + i * 7 + src[5]) & 0xFF


def frame(kind, seq):
    n = frame_len(seq) if kind == b"D" else 60
    head = b"\xff" * 6 + MAC + struct.pack(">H", ETHERTYPE) + kind + struct.pack(">I", seq)
    return head + bytes(pattern(MAC, seq, i) for i in range(19, n))


def send_frame(s, f):
    s.sendall(struct.pack(">I", len(f)) + f)


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("petrel closed the link")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        (n,) = struct.unpack(">I", self.read(4))
        if n < 14 or n > 65550:
            raise ValueError("petrel sent a %d-byte frame" % n)
        return self.read(n)


def connect(path, deadline):
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(0.05)
    raise TimeoutError("cannot connect to %s" % path)


def peer(path, tiny, count, timeout, result):
    deadline = time.monotonic() + timeout
    s = connect(path, deadline)
    s.settimeout(timeout)
    s.sendall(struct.pack(">I", 0))
    s.sendall(struct.pack(">I", 5) + b"runt!")
    junk = b"\xff" * 6 + MAC + b"\x12\x34" + b"x" * 86
    half = struct.pack(">I", len(junk)) + junk
    s.sendall(half[:50])
    time.sleep(0.2)
    s.sendall(half[50:])
    s.sendall(struct.pack(">I", 1 << 31))
    # petrel hangs up on a length it cannot take (what it sent meanwhile,
    # the guest's hellos, is read and thrown away).
    while True:
        try:
            if not s.recv(1 << 16):
                break
        except ConnectionResetError:
            break
    s.close()
    result["reconnected"] = "yes"
    s = connect(path, deadline)
    s.settimeout(timeout)
    s.sendall(struct.pack(">I", 0) * tiny)
    send_frame(s, frame(b"H", 0))
    r = Reader(s)
    seen, got = False, 0
    sent = 0
    while got < count:
        f = r.frame()
        if f[6:12] == MAC or f[12:14] != struct.pack(">H", ETHERTYPE):
            continue
        if not seen:
            seen = True
            send_frame(s, frame(b"H", 0))
            for seq in range(count):
                send_frame(s, frame(b"D", seq))
            sent = count
        if f[14:15] != b"D":
            continue
        (seq,) = struct.unpack(">I", f[15:19])
        if seq != got or len(f) != frame_len(seq):
            raise ValueError("data frame %d (%d bytes), want %d" % (seq, len(f), got))
        if any(f[i] != pattern(f[6:12], seq, i) for i in range(19, len(f))):
            raise ValueError("data frame %d corrupted" % seq)
        got += 1
    result["peer"] = "ok" if sent == count else "sent %d" % sent
    # Stop reading: the guest's flood fills the socket.
    result["sock"] = s


def main():
    if len(sys.argv) < 9 or sys.argv[7] != "--":
        sys.exit("usage: netpeer.py TIMEOUT SOCK TINY COUNT OUT ERR -- CMD...")
    timeout = float(sys.argv[1])
    path, tiny, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    out_path, err_path, cmd = sys.argv[5], sys.argv[6], sys.argv[8:]
    result = {"peer": "not_reached", "reconnected": "no"}

    def run_peer():
        try:
            peer(path, tiny, count, timeout, result)
        except Exception as e:  # reported, not raised: the line is the result
            result["peer"] = ("%s: %s" % (type(e).__name__, e)).replace(" ", "_")

    deadline = time.monotonic() + timeout
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        t = threading.Thread(target=run_peer, daemon=True)
        t.start()
        try:
            rc = p.wait(max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
    t.join(5)
    if "sock" in result:
        result["sock"].close()
    print("status=%d peer=%s reconnected=%s" % (rc, result["peer"], result["reconnected"]))


if __name__ == "__main__":
    main()
