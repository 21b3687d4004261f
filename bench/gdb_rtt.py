# SPDX-License-Identifier: MIT
"""bench/run gdb (bench/gdb_rtt.py): the gdb stub's breakpoint round trip (imported by bench/run).

guests/gdb_target.elf with ticks=N calls gdb_tick N times. A minimal
remote-protocol client (no gdb: its own costs are not the stub's) stops
at gdb_tick first with a hardware breakpoint (Z1: QEMU's firmware loads
the guest after the start, over any int3 planted before), then plants a
software breakpoint (Z0) there and, at each stop, does what gdb does to go
on: remove it, step over it, put it back; it times `c` -> the stop reply
(T05), the "breakpoint round trip" of issue 11.

  petrel  petrel run --gdb SOCK (unix socket)
  QEMU    qemu-system-x86_64 -accel kvm (microvm, the same guest)
          -gdb unix:SOCK,server=on,wait=off -S

Medians over the round trips of `runs` VMs each. Benchmarks, never tests:
nothing here asserts timing.
"""
import os
import socket
import statistics
import subprocess
import tempfile
import time

from migrate import _wait_path  # bench/migrate.py: wait for a socket file

TICKS = 200


class Rsp:
    """One remote-protocol connection, no-ack mode."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(30)
        self.s.connect(path)
        self.buf = b""

    def send(self, body):
        pkt = b"$" + body + b"#%02x" % (sum(body) & 0xFF)
        self.s.sendall(pkt)

    def reply(self):
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.buf) >= end + 3:
                body = self.buf[start + 1:end]
                self.buf = self.buf[end + 3:]
                return body
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("stub closed the connection")
            self.buf += chunk

    def cmd(self, body):
        self.send(body)
        return self.reply()

    def handshake(self):
        self.send(b"qSupported:swbreak+;hwbreak+")
        # acks for the first packets, then no-ack mode
        self.reply()
        self.cmd(b"QStartNoAckMode")
        self.buf = self.buf.replace(b"+", b"")

    def close(self):
        self.s.close()


def _symbol(elf, name):
    out = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == name:
            return int(f[0], 16)
    raise KeyError(name)


def _round_trips(argv, sock, addr):
    """Start the VM, time every c -> T05 at gdb_tick; the list in seconds."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    times = []
    try:
        if not _wait_path(sock, proc):
            raise RuntimeError("no gdb socket: " + proc.stderr.read().decode()[-300:])
        r = Rsp(sock)
        r.handshake()
        r.cmd(b"?")
        z = b"%x,1" % addr
        assert r.cmd(b"Z1," + z) == b"OK"
        if not r.cmd(b"c").startswith(b"T05"):
            raise RuntimeError("no stop at the hardware breakpoint")
        r.cmd(b"z1," + z)
        for i in range(1, TICKS):
            if i > 1:
                # at the int3: remove, step over, put back (as gdb does)
                r.cmd(b"z0," + z)
            r.cmd(b"s")
            assert r.cmd(b"Z0," + z) == b"OK"
            t0 = time.perf_counter()
            stop = r.cmd(b"c")
            dt = time.perf_counter() - t0
            if not stop.startswith(b"T05"):
                raise RuntimeError(f"stop reply {stop[:40]!r}")
            times.append(dt)
        r.cmd(b"z0," + z)
        r.send(b"D")  # the guest runs on and exits
        r.close()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return times


def bench_gdb(runs, out, table, petrel, qemu, qemu_argv, elf):
    out("\nN. gdb stub: breakpoint round trip (c -> stop reply), "
        f"{TICKS} software-breakpoint hits a VM, {runs} VMs")
    if not os.path.exists(elf):
        out(f"   skipped: {elf} not built")
        return
    addr = _symbol(elf, "gdb_tick")
    tmp = tempfile.mkdtemp(prefix="petrel-bench-gdb.")
    rows = []
    peers = [("petrel", lambda s: [petrel, "run", "--kernel", elf, "--mem", "32M", "--cmdline",
                                   f"ticks={TICKS}", "--gdb", s])]
    if qemu:
        peers.append(("QEMU", lambda s: qemu_argv(
            elf, 32, ["-append", f"ticks={TICKS}", "-gdb", f"unix:{s},server=on,wait=off",
                      "-S"])))
    for name, argv in peers:
        all_t = []
        try:
            for i in range(runs):
                sock = os.path.join(tmp, f"{name}-{i}.sock")
                all_t += _round_trips(argv(sock), sock, addr)
        except (RuntimeError, EOFError, OSError, AssertionError) as e:
            out(f"   {name}: failed: {e}")
            continue
        all_t.sort()
        rows.append([name, f"{statistics.median(all_t) * 1e6:.0f}",
                     f"{all_t[len(all_t) // 10] * 1e6:.0f}",
                     f"{all_t[len(all_t) * 9 // 10] * 1e6:.0f}", str(len(all_t))])
    table("breakpoint round trip", ["peer", "median us", "p10 us", "p90 us", "hits"], rows,
          "from sending `c` to reading the T05 stop reply, at a software breakpoint")
