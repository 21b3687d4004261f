#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host peer of guests/virtio_vsock.c on petrel's unix-socket vsock side.

  vsockpeer.py TIMEOUT UDS PORT LISTEN OUT ERR -- PETREL ARGS...

Listens on UDS_PORT (where petrel connects a guest's REQUEST to host port
PORT), runs petrel with stdout to OUT and stderr to ERR, and when the guest
prints "listening on port LISTEN" connects to UDS and asks for that port
with "CONNECT LISTEN\\n". Both exchanges follow the protocol in
guests/virtio_vsock.c and check every byte. Prints one line:
  status=RC connect=ok|WHY listen=ok|WHY
"""
import os
import socket
import subprocess
import sys
import threading
import time
import zlib

TO_GUEST_CONNECT = 150000  # > the guest's 64 KiB buffer: credit updates
TO_GUEST_LISTEN = 300000


def pattern(n):
    return bytes((k * 131 + (k >> 8)) & 0xff for k in range(n))


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed after %d of %d bytes" % (len(self.buf), n))
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 200:
                raise ValueError("no newline in %r" % self.buf[:60])
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed, partial line %r" % self.buf)
            self.buf += chunk
        out, self.buf = self.buf.split(b"\n", 1)
        return out.decode("ascii", "replace")

    def at_eof(self):
        if self.buf:
            return False
        return self.sock.recv(1) == b""


def read_hello(c):
    words = c.line().split()
    if len(words) != 2 or words[0] != "HELLO":
        raise ValueError("want HELLO <n>, got %r" % " ".join(words))
    n = int(words[1])
    data = c.read(n)
    want = pattern(n)
    if data != want:
        bad = next(i for i in range(n) if data[i] != want[i])
        raise ValueError("HELLO data differs from the pattern at byte %d" % bad)
    return data


def send_data(c, n):
    data = os.urandom(n)
    c.sock.sendall(b"DATA %d %08x\n" % (n, zlib.crc32(data)) + data)


def connect_side(listener, result):
    """The guest connected to host port PORT."""
    try:
        s, _ = listener.accept()
        s.settimeout(listener.gettimeout())
        c = Conn(s)
        data = read_hello(c)
        s.sendall(b"CRC %08x\n" % zlib.crc32(data))
        send_data(c, TO_GUEST_CONNECT)
        if not c.at_eof():
            raise ValueError("bytes after the exchange")
        s.close()
        result["connect"] = "ok"
    except Exception as e:  # reported, not raised: the guest's side matters too
        result["connect"] = "%s:%s" % (type(e).__name__, str(e).replace(" ", "_"))


def listen_side(uds, port, timeout, result):
    """The host connects to the guest's listening port."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(uds)
        c = Conn(s)
        s.sendall(b"CONNECT %d\n" % port)
        ok = c.line().split()
        if len(ok) != 2 or ok[0] != "OK" or not ok[1].isdigit():
            raise ValueError("want OK <port>, got %r" % " ".join(ok))
        data = os.urandom(TO_GUEST_LISTEN)
        s.sendall(b"DATA %d %08x\n" % (len(data), zlib.crc32(data)) + data)
        want = "GOT %d %08x" % (len(data), zlib.crc32(data))
        got = c.line()
        if got != want:
            raise ValueError("want %r, got %r" % (want, got))
        read_hello(c)
        s.close()
        result["listen"] = "ok"
    except Exception as e:
        result["listen"] = "%s:%s" % (type(e).__name__, str(e).replace(" ", "_"))


def main():
    if len(sys.argv) < 9 or sys.argv[7] != "--":
        sys.exit("usage: vsockpeer.py TIMEOUT UDS PORT LISTEN OUT ERR -- CMD...")
    timeout = float(sys.argv[1])
    uds, port, listen = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    out_path, err_path, cmd = sys.argv[5], sys.argv[6], sys.argv[8:]
    result = {"connect": "no_connection", "listen": "not_reached"}

    path = "%s_%d" % (uds, port)
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)
    listener.settimeout(timeout)
    threads = [threading.Thread(target=connect_side, args=(listener, result), daemon=True)]
    threads[0].start()

    marker = b"virtio_vsock: listening on port %d" % listen
    deadline = time.monotonic() + timeout
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        watchdog = threading.Timer(timeout, p.kill)
        watchdog.start()
        for line in p.stdout:
            out.write(line)
            out.flush()
            if marker in line:
                t = threading.Thread(target=listen_side,
                                     args=(uds, listen, timeout, result), daemon=True)
                t.start()
                threads.append(t)
        try:
            rc = p.wait(max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        watchdog.cancel()
    for t in threads:
        t.join(min(5, max(1, deadline - time.monotonic())))
    listener.close()
    os.unlink(path)
    print("status=%d connect=%s listen=%s" % (rc, result["connect"], result["listen"]))


if __name__ == "__main__":
    main()
