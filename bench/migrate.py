# SPDX-License-Identifier: MIT
"""bench/run migrate: live migration of an idle guest (imported by bench/run).

An idle 256 MiB guest (count.elf with a tick of ~1 s: one line a second,
nothing else written) moves over a unix socket from one process to a
fresh one on the same host:

  petrel  petrel run --api-sock S ... -> PUT /migrate {"destination":
          "unix:T"} to a `petrel run --incoming unix:T`; total and downtime
          as the source reports them (pause -> the target's DONE)
  QEMU    qemu-system-x86_64 (microvm, the same guest) with -qmp -> QMP
          migrate to a `-incoming unix:T` QEMU; total-time and downtime of
          query-migrate (downtime-limit set to petrel's default, 100 ms)
  copy    256 MiB through a unix socket pair once (Python sendall /
          recv_into, 1 MiB at a time): the time to copy the memory once

Medians of `runs` migrations each. Benchmarks, never tests: nothing here
asserts timing.
"""
import json
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time

MEM_MIB = 256
DOWNTIME_MS = 100


def _wait_path(path, proc, secs=30):
    end = time.time() + secs
    while time.time() < end:
        if os.path.exists(path):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def _http(sock, method, path, body=None, timeout=300):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if sep:
            n = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":")[1])
            if len(rest) >= n:
                break
    s.close()
    status = int(buf.split(b" ", 2)[1])
    body = buf.partition(b"\r\n\r\n")[2]
    return status, json.loads(body) if body.strip() else None


def _wait_line(path, text, proc, secs=60):
    end = time.time() + secs
    while time.time() < end:
        with open(path, "rb") as f:
            if text.encode() in f.read():
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def petrel_once(petrel, kernel, tmp, i):
    src_sock, dst = os.path.join(tmp, f"p{i}.sock"), os.path.join(tmp, f"p{i}.in")
    out_src, out_dst = os.path.join(tmp, f"p{i}.out"), os.path.join(tmp, f"p{i}-t.out")
    with open(out_src, "wb") as o1, open(out_dst, "wb") as o2:
        src = subprocess.Popen([petrel, "run", "--kernel", kernel, "--mem", f"{MEM_MIB}M",
                                "--cmdline", "tick=2000000000", "--api-sock", src_sock],
                               stdin=subprocess.DEVNULL, stdout=o1, stderr=subprocess.STDOUT)
        dst_p = subprocess.Popen([petrel, "run", "--incoming", f"unix:{dst}"],
                                 stdin=subprocess.DEVNULL, stdout=o2, stderr=subprocess.STDOUT)
    try:
        if not (_wait_path(src_sock, src) and _wait_path(dst, dst_p) and
                _wait_line(out_src, "count 1\n", src)):
            return None, "did not start"
        status, ans = _http(src_sock, "PUT", "/migrate",
                            {"destination": f"unix:{dst}", "downtime_ms": DOWNTIME_MS})
        if status != 200:
            return None, f"PUT /migrate: {status} {ans}"
        src.wait(30)
        return (ans["total_ms"], ans["downtime_us"] / 1000.0), None
    finally:
        for p in (src, dst_p):
            if p.poll() is None:
                p.kill()
            p.wait()


def _qmp(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    f = s.makefile("rwb")
    json.loads(f.readline())

    def cmd(name, args=None):
        f.write(json.dumps({"execute": name, **({"arguments": args} if args else {})}).encode()
                + b"\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                return r
    cmd("qmp_capabilities")
    return s, cmd


def qemu_once(qemu_argv, kernel, tmp, i):
    qmp, dst = os.path.join(tmp, f"q{i}.qmp"), os.path.join(tmp, f"q{i}.in")
    out_src = os.path.join(tmp, f"q{i}.out")
    base = qemu_argv(kernel, MEM_MIB, ["-append", "tick=2000000000"], serial=True)
    with open(out_src, "wb") as o1:
        src = subprocess.Popen(base + ["-qmp", f"unix:{qmp},server=on,wait=off"],
                               stdin=subprocess.DEVNULL, stdout=o1, stderr=subprocess.STDOUT)
        dst_p = subprocess.Popen(base + ["-incoming", f"unix:{dst}"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        if not (_wait_path(qmp, src) and _wait_path(dst, dst_p) and
                _wait_line(out_src, "count 1\n", src)):
            return None, "did not start"
        s, cmd = _qmp(qmp)
        cmd("migrate-set-parameters", {"downtime-limit": DOWNTIME_MS})
        r = cmd("migrate", {"uri": f"unix:{dst}"})
        if "error" in r:
            return None, str(r["error"])
        while True:
            q = cmd("query-migrate")["return"]
            if q.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.01)
        s.close()
        if q["status"] != "completed":
            return None, f"QEMU migration {q['status']}"
        return (q["total-time"], float(q["downtime"])), None
    finally:
        for p in (src, dst_p):
            if p.poll() is None:
                p.kill()
            p.wait()


def copy_once():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    total = MEM_MIB << 20
    buf = bytearray(1 << 20)

    def reader():
        got = 0
        while got < total:
            got += b.recv_into(buf)
    t = threading.Thread(target=reader)
    chunk = bytes(1 << 20)
    t0 = time.perf_counter()
    t.start()
    for _ in range(MEM_MIB):
        a.sendall(chunk)
    t.join()
    dt = time.perf_counter() - t0
    a.close()
    b.close()
    return dt * 1000.0


def bench_migrate(runs, out, table, petrel, qemu, qemu_argv, kernel):
    # Nothing to compile (the emulated host compiles slowly): petrel and
    # count.elf come built.
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or not os.access(petrel, os.X_OK):
        out("\nlive migration: skipped (needs /dev/kvm and a built petrel)")
        return
    out(f"\nlive migration: an idle {MEM_MIB} MiB guest (count.elf, a line a second) over a "
        f"unix socket, {runs} runs, medians; downtime target {DOWNTIME_MS} ms")
    tmp = tempfile.mkdtemp(prefix="petrel-bench-mig-")
    rows = []
    copy = statistics.median(copy_once() for _ in range(runs))
    peers = [("petrel", lambda i: petrel_once(petrel, kernel, tmp, i))]
    if qemu:
        peers.append(("QEMU", lambda i: qemu_once(qemu_argv, kernel, tmp, i)))
    for name, once in peers:
        got, why = [], None
        for i in range(runs):
            r, why = once(i)
            if r is None:
                break
            got.append(r)
        if not got:
            out(f"  {name}: left out ({why})")
            continue
        total = statistics.median(g[0] for g in got)
        down = statistics.median(g[1] for g in got)
        rows.append([name, f"{total:.1f}", f"{down:.2f}", f"{total / copy:.2f}"])
    rows.append(["copy 256 MiB once", f"{copy:.1f}", "-", "1.00"])
    table("live migration", ["peer", "total ms", "downtime ms", "total / copy"], rows,
          "petrel: the source's own numbers (PUT /migrate's answer); QEMU: query-migrate's.\n"
          "Target (issue 10): downtime <= 20 ms, total <= 2x the copy.")
