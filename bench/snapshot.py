# SPDX-License-Identifier: MIT
"""bench/run snapshot: petrel's snapshots against QEMU's savevm / loadvm
and its migration to a file (`migrate "exec:cat > F"`, `-incoming defer` +
`migrate-incoming "exec:cat F"`), all of the same guest
(guests/bench_snap.c, a PVH ELF both boot) with the same RAM.

  14a. snapshot create: a 128 MiB guest with its RAM touched (every page
       from 4 MiB up not zero), paused; PUT /snapshot/create (Full) against
       QEMU's savevm (HMP over QMP, into a qcow2 image) and migrate to a
       file (until query-migrate says completed); the files on a tmpfs.
       Then a Diff snapshot after 1 MiB of guest writes (the source tracks
       dirty pages), `runs` times.
  14b. restore, request -> guest running, 1 and 4 vCPUs, each run in a
       fresh process: PUT /snapshot/load (resume_vm) -> its 204 and -> the
       guest's next console byte; QEMU started with -S: loadvm + cont, or
       started with -incoming defer: migrate-incoming, its MIGRATION
       completed event, cont. petrel's 1-vCPU restore also through the Uffd
       memory backend, its pages served by build/petrel-pager.
  14c. density: 50 clones of one 128 MiB snapshot at once, each shown to
       run (two console bytes since its restore, the guest halted between
       them); host memory per clone.

Called by bench/run with the bench/run module (its out, table, med, fmt,
ratio, qemu_argv, where_measured and paths) as `R`. Needs /dev/kvm.
"""
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

MEM_MIB = 128
TOUCH_MIB = MEM_MIB - 4  # the guest touches [4 MiB, 124 MiB): clear of its top
CLONES = int(os.environ.get("BENCH_SNAP_CLONES", "50"))
# 0: no QEMU peer at all (its sources and restores take minutes emulated)
QEMU_RUNS = int(os.environ.get("BENCH_SNAP_QEMU_RUNS", "3"))
CLONES_S = 180  # all clones restored and printing, at most
# The parts to run (a run in the emulated host is long): create, restore, density.
PARTS = os.environ.get("BENCH_SNAP_ONLY", "create,restore,density").split(",")
# The density snapshot's guest prints a byte every this many ms, halted in
# between: 50 clones printing back to back would only measure the CPU.
CLONE_IDLE_MS = 500
READY_S = 600  # a source guest touching 124 MiB: seconds under emulation
ANSWER_S = 120


class Fail(Exception):
    pass


# ---------------------------------------------------------------- plumbing
def connect(path, proc, timeout=60):
    """A unix socket connection to `path` once proc listens there."""
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
        if proc.poll() is not None:
            raise Fail(f"exited with status {proc.returncode} before {path} accepted")
        if time.monotonic() > end:
            raise Fail(f"{path} never accepted")
        time.sleep(0.001)


class Conn:
    """One control connection: petrel's HTTP/1.1 API or QEMU's QMP."""

    def __init__(self, sock):
        self.s, self.buf, self.events = sock, b"", []

    def _fill(self):
        r, _, _ = select.select([self.s], [], [], ANSWER_S)
        d = self.s.recv(1 << 16) if r else b""
        if not d:
            raise Fail("no answer" if not r else "the connection closed")
        self.buf += d

    def send_http(self, method, path, body=None):
        data = json.dumps(body) if body is not None else ""
        self.s.sendall((f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                        f"\r\n{data}").encode())

    def answer(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        n = next((int(l.split(":", 1)[1]) for l in lines
                  if l.lower().startswith("content-length:")), 0)
        while len(rest) < n:
            self._fill()
            rest = self.buf.split(b"\r\n\r\n", 1)[1]
        self.buf = rest[n:]
        return int(lines[0].split()[1]), rest[:n].decode()

    def http(self, method, path, body=None, want=None):
        self.send_http(method, path, body)
        st, text = self.answer()
        if want is not None and st != want:
            raise Fail(f"{method} {path}: {st} {text.strip()}")
        return st, text

    def line(self):
        """The next QMP line that is not an event (events kept in self.events)."""
        while True:
            while b"\n" not in self.buf:
                self._fill()
            l, self.buf = self.buf.split(b"\n", 1)
            m = json.loads(l)
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def send_qmp(self, cmd, **args):
        self.s.sendall((json.dumps({"execute": cmd, **({"arguments": args} if args else {})})
                        + "\n").encode())

    def qmp(self, cmd, **args):
        self.send_qmp(cmd, **args)
        m = self.line()
        # HMP through QMP returns its errors as text
        if "error" in m or (cmd == "human-monitor-command" and m.get("return")):
            raise Fail(f"QMP {cmd} {args}: {m}")
        return m

    def wait_event(self, name, pred=lambda d: True):
        """The first QMP event `name` whose data pred accepts (QMP's
        answers meanwhile: only errors are expected, and raised)."""
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name and pred(e.get("data", {})):
                    del self.events[:i + 1]
                    return e
            self.events = []
            while b"\n" not in self.buf:
                self._fill()
            l, self.buf = self.buf.split(b"\n", 1)
            m = json.loads(l)
            if "event" in m:
                self.events.append(m)
            elif "error" in m:
                raise Fail(f"QMP: {m}")


def open_qmp(path, proc):
    c = Conn(connect(path, proc))
    c.line()  # the greeting: not an event, not an answer
    c.qmp("qmp_capabilities")
    return c


def prom(text, name):
    """A sample of petrel's Prometheus text (`name{labels} value`), or None."""
    for l in text.splitlines():
        if l.startswith(name + " ") or l.startswith(name + "{"):
            return float(l.split()[-1])
    return None


def progress(what):
    """Where the run is, on stderr (a run in the emulated host is long)."""
    print(f"bench snapshot {time.strftime('%H:%M:%S')}: {what}", file=sys.stderr, flush=True)


def spawn(argv, stdout, tmp, name):
    err = open(os.path.join(tmp, name + ".err"), "w")
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)


def stop(proc):
    """Kill proc and reap it, waiting 60 s at most (a process stuck in the
    kernel is said so and left)."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        progress(f"pid {proc.pid} did not die within 60 s of SIGKILL")


def why(tmp, name, e):
    """The exception and the process's first stderr line, if any."""
    try:
        first = open(os.path.join(tmp, name + ".err")).read().strip().splitlines()[:1]
    except OSError:
        first = []
    return f"{e}" + (f" ({first[0]})" if first else "")


def wait_output(path, proc, n_bytes=1, text=None, timeout=READY_S):
    end = time.monotonic() + timeout
    while True:
        with open(path, "rb") as f:
            d = f.read()
        if (text and text.encode() in d) or (not text and len(d) >= n_bytes):
            return d
        if proc.poll() is not None:
            raise Fail(f"exited with status {proc.returncode} before its console showed it "
                       f"ran ({len(d)} bytes: {d[:24]!r})")
        if time.monotonic() > end:
            raise Fail(f"its console did not show it ran within {timeout} s ({len(d)} bytes: "
                       f"{d[:24]!r})")
        time.sleep(0.01)


def first_byte_and_answer(out_fd, conn, t0, answer):
    """Times (s from t0) of the first byte on out_fd and of answer()
    returning (None to wait for the byte only)."""
    t_byte = t_ans = None
    while t_byte is None or (answer and t_ans is None):
        fds = ([out_fd] if t_byte is None else []) + \
              ([conn.s] if answer and t_ans is None else [])
        r, _, _ = select.select(fds, [], [], ANSWER_S)
        if not r:
            raise Fail("no console byte or no answer within "
                       f"{ANSWER_S} s")
        if out_fd in r:
            if not os.read(out_fd, 1):
                raise Fail("its console closed before a byte came")
            t_byte = time.perf_counter() - t0
        if conn.s in r:
            answer()
            t_ans = time.perf_counter() - t0
    return t_byte, t_ans


# ---------------------------------------------------------------- sources
def guest_args(vcpus, idle_ms=0, dirty=False):
    return f"touch={TOUCH_MIB} idle={idle_ms} smp={int(vcpus > 1)} dirty={int(dirty)}"


def petrel_source(R, tmp, name, vcpus, args, track=False, ready_s=READY_S):
    """A petrel running the bench guest, its RAM touched ("ready" on its
    console, a file): (proc, conn, console path)."""
    cfg, sock, out = (os.path.join(tmp, name + x) for x in (".json", ".sock", ".out"))
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": R.SNAP_ELF, "boot_args": args},
                   "machine-config": {"vcpu_count": vcpus, "mem_size_mib": MEM_MIB,
                                      "track_dirty_pages": track}}, f)
    with open(out, "wb") as o:
        p = spawn([R.PETREL, "run", "--config-file", cfg, "--api-sock", sock], o, tmp, name)
    try:
        c = Conn(connect(sock, p))
        wait_output(out, p, text="ready", timeout=ready_s)
    except Fail:
        stop(p)
        raise
    return p, c, out


def petrel_snapshot(c, st, mem):
    t = time.perf_counter()
    c.http("PUT", "/snapshot/create", {"snapshot_path": st, "mem_file_path": mem}, want=204)
    return time.perf_counter() - t


def qemu_disk(R, tmp, path):
    """An empty qcow2 image for savevm's state, made by QEMU itself
    (blockdev-create: no qemu-img needed)."""
    sock = os.path.join(tmp, "mkqcow2.sock")
    open(path, "wb").close()
    p = spawn(R.qmp_argv(sock), subprocess.DEVNULL, tmp, "mkqcow2")
    try:
        c = open_qmp(sock, p)
        c.qmp("blockdev-add", driver="file", filename=path, **{"node-name": "f"})
        c.qmp("blockdev-create", **{"job-id": "mk"},
              options={"driver": "qcow2", "file": "f", "size": 1 << 20})
        c.wait_event("JOB_STATUS_CHANGE", lambda d: d.get("status") == "concluded")
        c.qmp("job-dismiss", id="mk")
    finally:
        stop(p)


def qemu_vm_argv(R, vcpus, args, disk, sock, extra=()):
    return R.qemu_argv(R.SNAP_ELF, MEM_MIB, serial=True, extra=[
        "-smp", str(vcpus), "-append", args,  # this -smp overrides qemu_argv's 1
        "-blockdev", f"driver=file,filename={disk},node-name=f",
        "-blockdev", "driver=qcow2,file=f,node-name=state",
        "-qmp", f"unix:{sock},server=on,wait=off", *extra])


def qemu_source(R, tmp, name, vcpus, args, disk):
    sock, out = os.path.join(tmp, name + ".sock"), os.path.join(tmp, name + ".out")
    with open(out, "wb") as o:
        p = spawn(qemu_vm_argv(R, vcpus, args, disk, sock), o, tmp, name)
    try:
        c = open_qmp(sock, p)
        wait_output(out, p, text="ready")
        c.qmp("stop")
    except Fail:
        stop(p)
        raise
    return p, c


def qemu_savevm(c):
    c.qmp("human-monitor-command", **{"command-line": "delvm bench"})
    t = time.perf_counter()
    c.qmp("human-monitor-command", **{"command-line": "savevm bench"})
    return time.perf_counter() - t


def qemu_migrate_to_file(c, path):
    t = time.perf_counter()
    c.qmp("migrate", uri=f"exec:cat > {path}")
    while True:
        s = c.qmp("query-migrate")["return"].get("status")
        if s == "completed":
            return time.perf_counter() - t
        if s in ("failed", "cancelled"):
            raise Fail(f"migrate: {s}")
        time.sleep(0.002)


# ---------------------------------------------------------------- 14a create
def bench_create(R, runs, tmp, fs, snaps):
    """Creates the 1-vCPU snapshots the restore uses (snaps[1], snaps['qemu', 1])."""
    res, notes = {}, []
    st, mem = os.path.join(tmp, "v1.state"), os.path.join(tmp, "v1.mem")
    try:
        p, c, out = petrel_source(R, tmp, "src1", 1, guest_args(1, dirty=True), track=True)
        progress("petrel's source ready")
        try:
            c.http("PATCH", "/vm", {"state": "Paused"}, want=204)
            res["petrel"] = [petrel_snapshot(c, st, mem) for _ in range(runs)]
            m = c.http("GET", "/metrics", want=200)[1]
            vmm = prom(m, "petrel_latencies_us_vmm_full_create_snapshot")
            snaps[1] = (st, mem)
            size = os.stat(mem)
            notes.append(f"petrel's memory file: {size.st_size >> 20} MiB, "
                         f"{size.st_blocks * 512 >> 20} MiB allocated; "
                         f"vmm_full_create_snapshot (last): {R.fmt(vmm and vmm / 1e3, 'ms')}")
            res["diff"], dnote = bench_diff(c, out, tmp, runs)
            notes.append(dnote)
        finally:
            stop(p)
    except Fail as e:
        R.out(f"  petrel create: left out: {why(tmp, 'src1', e)}")
    if R.QEMU and QEMU_RUNS:
        disk = os.path.join(tmp, "v1.qcow2")
        try:
            qemu_disk(R, tmp, disk)
            q, qc = qemu_source(R, tmp, "qsrc1", 1, guest_args(1, dirty=True), disk)
            progress("QEMU's source ready")
            try:
                res["savevm"] = [qemu_savevm(qc) for _ in range(runs)]
                mig = os.path.join(tmp, "v1.mig")
                res["migrate"] = [qemu_migrate_to_file(qc, mig)]  # one: the source ends
                snaps["qemu", 1] = (disk, mig)
            finally:
                stop(q)
        except Fail as e:
            R.out(f"  QEMU source: left out: {why(tmp, 'qsrc1', e)}")
    pm = R.med(res.get("petrel", [])) or None
    rows = []
    for key, label in (("petrel", "petrel PUT /snapshot/create (Full)"),
                       ("savevm", "QEMU savevm (qcow2)"),
                       ("migrate", "QEMU migrate exec:cat > file")):
        if res.get(key):
            v = R.med(res[key])
            rows.append([label, len(res[key]), R.fmt(v * 1e3, "ms"),
                         "1.00x" if key == "petrel" else R.ratio(pm, v)])
    d = res.get("diff", "petrel left out")
    rows.append(["petrel Diff after 1 MiB of writes", len(d) if isinstance(d, list) else 0,
                 R.fmt(R.med(d) * 1e3, "ms") if isinstance(d, list) else f"not measured: {d}",
                 R.ratio(R.med(d), pm) + " of Full" if isinstance(d, list) and pm else "-"])
    R.table(f"14a. snapshot create, {MEM_MIB} MiB guest, RAM touched, paused, files on {fs}, "
            f"{R.where_measured()} (median)",
            ["peer", "n", "create", "petrel / peer"], rows,
            f"guests/bench_snap.elf touch={TOUCH_MIB}: every page from 4 MiB up written before\n"
            "the snapshot, so nearly all 128 MiB are data, not holes; paused first (PATCH /vm,\n"
            "QMP stop); timed from the request to its answer (QEMU migrate: to query-migrate\n"
            "'completed', polled every 2 ms; one per source, which stops after it).\n"
            "Diff: the guest (dirty=1) resumed until it wrote its 1 MiB window (300 bytes\n"
            "printed, one page written per byte), paused, PUT /snapshot/create Diff timed.\n"
            "target: petrel <= 150 ms; Diff after 1 MiB <= 10 ms\n" + "\n".join(notes))


def bench_diff(c, out, tmp, runs):
    """`runs` Diff snapshots, each after the guest (dirty=1) wrote its 1 MiB
    window again: ([times (s)], a note on the last memory file), or (why
    not, note) from petrel's fault_message."""
    times, st, mem = [], os.path.join(tmp, "d.state"), os.path.join(tmp, "d.mem")
    for _ in range(runs):
        n0 = os.path.getsize(out)
        c.http("PATCH", "/vm", {"state": "Resumed"}, want=204)
        # 256 bytes: one page each of the 1 MiB window, all of it written
        end = time.monotonic() + ANSWER_S
        while os.path.getsize(out) < n0 + 300:
            if time.monotonic() > end:
                raise Fail(f"the guest printed {os.path.getsize(out) - n0} of 300 bytes "
                           f"in {ANSWER_S} s")
            time.sleep(0.01)
        c.http("PATCH", "/vm", {"state": "Paused"}, want=204)
        t = time.perf_counter()
        code, text = c.http("PUT", "/snapshot/create", {"snapshot_type": "Diff",
                                                        "snapshot_path": st,
                                                        "mem_file_path": mem})
        if code != 204:
            try:
                return json.loads(text).get("fault_message", text), ""
            except ValueError:
                return f"{code} {text.strip()}", ""
        times.append(time.perf_counter() - t)
    size = os.stat(mem)
    return times, (f"the last Diff's memory file: {size.st_size >> 20} MiB long, "
                   f"{size.st_blocks * 512 >> 10} KiB allocated")


# ---------------------------------------------------------------- 14b restore
def listening(path):
    """Whether a unix socket listens on path, without connecting to it (a
    pager takes its first connection as its VM): /proc/net/unix's Flags
    has __SO_ACCEPTCON (0x10000) once listen() ran; the socket file
    alone appears at bind(), before."""
    with open("/proc/net/unix") as f:
        next(f)
        for l in f:
            x = l.split()
            if len(x) >= 8 and x[7] == path and int(x[3], 16) & 0x10000:
                return True
    return False


def start_pager(R, tmp, mem):
    """build/petrel-pager serving mem, listening: (proc, its socket)."""
    sock = os.path.join(tmp, "pager.sock")
    p = spawn([os.path.join(os.path.dirname(R.PETREL), "petrel-pager"), sock, mem],
              subprocess.DEVNULL, tmp, "pager")
    end = time.monotonic() + 60
    while not listening(sock):
        if p.poll() is not None or time.monotonic() > end:
            stop(p)
            raise Fail(f"petrel-pager: not listening on {sock} "
                       f"({'status %s' % p.returncode if p.poll() is not None else '60 s'})")
        time.sleep(0.005)
    return p, sock


def petrel_restore(R, tmp, st, mem, uffd=False):
    """A fresh petrel's PUT /snapshot/load (File backend, or with uffd the
    Uffd one through a petrel-pager started and listening before the clock
    starts): {byte, answer, vmm} (s)."""
    sock = os.path.join(tmp, "load.sock")
    pager, backend = None, {"backend_type": "File", "backend_path": mem}
    r, w = os.pipe()
    p = spawn([R.PETREL, "run", "--api-sock", sock], w, tmp, "load")
    os.close(w)
    try:
        if uffd:
            pager, psock = start_pager(R, tmp, mem)
            backend = {"backend_type": "Uffd", "backend_path": psock}
        c = Conn(connect(sock, p))
        c.http("GET", "/", want=200)
        t0 = time.perf_counter()
        c.send_http("PUT", "/snapshot/load",
                    {"snapshot_path": st, "mem_backend": backend, "resume_vm": True})

        def answer():
            s, text = c.answer()
            if s != 204:
                raise Fail(f"PUT /snapshot/load: {s} {text.strip()}")

        byte, ans = first_byte_and_answer(r, c, t0, answer)
        m = c.http("GET", "/metrics", want=200)[1]
        vmm = prom(m, "petrel_latencies_us_vmm_load_snapshot")
        return {"byte": byte, "answer": ans, "vmm": vmm and vmm / 1e6}
    finally:
        os.close(r)
        stop(p)
        if pager:
            stop(pager)


def qemu_restore(R, tmp, vcpus, disk, mig, how):
    sock = os.path.join(tmp, "qload.sock")
    r, w = os.pipe()
    extra = ["-S"] if how == "loadvm" else ["-incoming", "defer"]
    p = spawn(qemu_vm_argv(R, vcpus, guest_args(vcpus), disk, sock, extra), w, tmp, "qload")
    os.close(w)
    try:
        c = open_qmp(sock, p)
        if how != "loadvm":  # else the target sends no MIGRATION completed event
            c.qmp("migrate-set-capabilities",
                  capabilities=[{"capability": "events", "state": True}])
        t0 = time.perf_counter()
        if how == "loadvm":
            c.qmp("human-monitor-command", **{"command-line": "loadvm bench"})
        else:
            c.qmp("migrate-incoming", uri=f"exec:cat {mig}")
            c.wait_event("MIGRATION", lambda d: d.get("status") in ("completed", "failed"))
        ans = time.perf_counter() - t0
        c.send_qmp("cont")  # the source was paused: so is the copy
        byte, _ = first_byte_and_answer(r, c, t0, None)
        return {"byte": byte, "answer": ans}
    finally:
        os.close(r)
        stop(p)


def bench_restore(R, runs, tmp, snaps, vcpus):
    """petrel in each of `runs` rounds, QEMU (seconds a restore under
    emulation) in the first QEMU_RUNS."""
    p = "petrel PUT /snapshot/load"
    peers = []
    if vcpus in snaps:
        st, mem = snaps[vcpus]
        peers.append((p, lambda: petrel_restore(R, tmp, st, mem)))
        if vcpus == 1:
            peers.append((p + " (Uffd, petrel-pager)",
                          lambda: petrel_restore(R, tmp, st, mem, uffd=True)))
    if ("qemu", vcpus) in snaps:
        disk, mig = snaps["qemu", vcpus]
        peers += [("QEMU -S, loadvm + cont",
                   lambda: qemu_restore(R, tmp, vcpus, disk, mig, "loadvm")),
                  ("QEMU -incoming defer, migrate-incoming + cont",
                   lambda: qemu_restore(R, tmp, vcpus, disk, mig, "incoming"))]
    if not peers:
        return
    rounds, failed = [], set()
    for i in range(runs):
        rnd = {}
        for name, fn in R.rotated(peers, i):
            if name in failed or ("QEMU" in name and i >= QEMU_RUNS):
                continue
            try:
                rnd[name] = fn()
            except Fail as e:
                err = "qload" if "QEMU" in name else "pager" if "Uffd" in name else "load"
                R.out(f"  {name}: left out: {why(tmp, err, e)}")
                failed.add(name)
        rounds.append(rnd)
    rows = []
    for name, _ in peers:
        if name in failed:
            continue
        v = lambda k: R.med([r[name][k] * 1e3 for r in rounds if name in r])
        n = sum(name in r for r in rounds)
        rows.append([name, n, R.fmt(v("answer"), "ms"), R.fmt(v("byte"), "ms"),
                     "1.00x" if name == p else
                     R.ratio(R.same_round(rounds, p, name, "byte"), 1, 3)])
    vmm = R.med([r[p]["vmm"] * 1e3 for r in rounds if p in r and r[p]["vmm"] is not None])
    R.table(f"14b. restore, request -> guest running, {MEM_MIB} MiB, {vcpus} vCPU"
            f"{'s' if vcpus > 1 else ''}, {R.where_measured()} (median of n runs, "
            "each a fresh process)",
            ["peer", "n", "-> answer", "-> next console byte", "petrel / peer (byte)"], rows,
            "from sending the request to its answer (petrel: 204; QEMU: loadvm's return, or\n"
            "the MIGRATION completed event) and to the guest's next byte on the VMM's stdout\n"
            "(a pipe; the guest prints back to back); QEMU then needs a cont, sent at once.\n"
            f"petrel's vmm_load_snapshot (metrics): {R.fmt(vmm, 'ms')}. The process and its API\n"
            "socket are up before the clock starts, for every peer (and Uffd's petrel-pager,\n"
            "listening on its socket, serving the same memory file: the pages the guest\n"
            "touches come by UFFDIO_COPY instead of the page cache).\n"
            "target: <= 5 ms (Firecracker's: under 8 ms)")


def bench_restore_source(R, tmp, snaps):
    """The 4-vCPU snapshots (petrel and QEMU) of the restore benchmark."""
    st, mem = os.path.join(tmp, "v4.state"), os.path.join(tmp, "v4.mem")
    try:
        p, c, _ = petrel_source(R, tmp, "src4", 4, guest_args(4))
        try:
            c.http("PATCH", "/vm", {"state": "Paused"}, want=204)
            petrel_snapshot(c, st, mem)
            snaps[4] = (st, mem)
        finally:
            stop(p)
    except Fail as e:
        R.out(f"  petrel 4-vCPU source: left out: {why(tmp, 'src4', e)}")
    if R.QEMU and QEMU_RUNS:
        disk, mig = os.path.join(tmp, "v4.qcow2"), os.path.join(tmp, "v4.mig")
        try:
            qemu_disk(R, tmp, disk)
            q, qc = qemu_source(R, tmp, "qsrc4", 4, guest_args(4), disk)
            try:
                qemu_savevm(qc)
                qemu_migrate_to_file(qc, mig)
                snaps["qemu", 4] = (disk, mig)
            finally:
                stop(q)
        except Fail as e:
            R.out(f"  QEMU 4-vCPU source: left out: {why(tmp, 'qsrc4', e)}")


# ---------------------------------------------------------------- 14c density
def mem_used_kib():
    m = {}
    with open("/proc/meminfo") as f:
        for l in f:
            k, v = l.split(":")
            m[k] = int(v.split()[0])
    return m["MemTotal"] - m["MemAvailable"]


def pss_kib(pid):
    """smaps_rollup's kB fields of a live process, None if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return {l.split(":")[0]: int(l.split()[1]) for l in f if l.endswith("kB\n")}
    except OSError:
        return None


def bench_density(R, tmp):
    st, mem = os.path.join(tmp, "clones.state"), os.path.join(tmp, "clones.mem")
    try:
        p, c, _ = petrel_source(R, tmp, "srcd", 1, guest_args(1, idle_ms=CLONE_IDLE_MS), ready_s=90)
        progress("density: the source is ready")
        try:
            c.http("PATCH", "/vm", {"state": "Paused"}, want=204)
            petrel_snapshot(c, st, mem)
        finally:
            stop(p)
        progress("density: snapshot taken")
    except Fail as e:
        R.out(f"  density source: left out: {why(tmp, 'srcd', e)}")
        return
    used0 = mem_used_kib()
    clones, ps, t0 = [], [], time.perf_counter()
    try:
        for i in range(CLONES):
            out = os.path.join(tmp, f"clone{i}.out")
            with open(out, "wb") as o:
                clones.append((spawn([R.PETREL, "run", "--restore", f"{st},{mem}"],
                                     o, tmp, f"clone{i}"), out))
        progress(f"density: {len(clones)} clones started")
        # Each prints twice: it runs. All are waited for together, up to
        # CLONES_S: one that is slow or dies is counted, not waited for.
        end, ran = time.monotonic() + CLONES_S, set()
        while len(ran) < len(clones) and time.monotonic() < end:
            for i, (q, out) in enumerate(clones):
                if i not in ran and q.poll() is None and os.path.getsize(out) >= 2:
                    ran.add(i)
            if all(i in ran or q.poll() is not None for i, (q, _) in enumerate(clones)):
                break
            time.sleep(0.05)
        t_all = time.perf_counter() - t0
        progress(f"density: {len(ran)} of {len(clones)} clones printed twice in {t_all:.1f} s")
        time.sleep(1)
        used1 = mem_used_kib()
        alive = sum(q.poll() is None for q, _ in clones)
        ps = [x for x in (pss_kib(clones[i][0].pid) for i in sorted(ran)) if x]
        dead = [i for i, (q, _) in enumerate(clones) if q.poll() is not None]
        if dead:
            st0 = f"status {clones[dead[0]][0].returncode}"
            R.out(f"  density: clone {dead[0]} exited: {why(tmp, f'clone{dead[0]}', st0)} "
                  f"({len(dead)} exited)")
    finally:
        for q, _ in clones:
            stop(q)
    if not ps:
        R.out("  density: no clone ran")
        return
    n = len(ps)
    pss = sum(x["Pss"] for x in ps) / n / 1024
    anon = sum(x.get("Pss_Anon", 0) for x in ps) / n / 1024
    file_ = sum(x.get("Pss_File", 0) + x.get("Pss_Shmem", 0) for x in ps) / n / 1024
    rss = R.med([x["Rss"] / 1024 for x in ps])
    rise = (used1 - used0) / alive / 1024
    R.table(f"14c. density: {len(clones)} clones of one {MEM_MIB} MiB snapshot running at once, "
            f"{R.where_measured()}",
            ["measure", "per clone", "all clones"],
            [["sum of PSS / clones", R.fmt(pss, "MiB", 3), R.fmt(pss * n, "MiB", 1)],
             ["  of it anonymous / file (the shared memory file)",
              f"{anon:.3f} / {file_:.3f} MiB", "-"],
             ["rise of MemTotal - MemAvailable / clones alive", R.fmt(rise, "MiB", 3),
              R.fmt(rise * alive, "MiB", 1)],
             ["RSS of one clone (median)", R.fmt(rss, "MiB", 3), "-"],
             [f"clones restored and printing twice (of {len(clones)})", len(ps),
              R.fmt(t_all, "s", 1)]],
            f"petrel run --restore STATE,MEM (no API) x {n}, all alive at once; the guest\n"
            f"(touch={TOUCH_MIB}, a byte every {CLONE_IDLE_MS} ms, halted in between on a local\n"
            "APIC timer) printed 2 bytes in each since its restore;\n"
            "per clone: over the clones that did, all alive when measured.\n"
            "PSS: each process's pages, a shared page divided among its sharers (so the page\n"
            "cache pages of the one memory file count once in the sum); it misses the kernel's\n"
            "own memory per VM (KVM's page tables, vCPU structures), which the rise in used\n"
            "memory (MemAvailable before and after, the file already on tmpfs) includes.\n"
            "QEMU has no equivalent: its loadvm / -incoming copy all RAM into each clone")


# ---------------------------------------------------------------- entry
def fs_type(path):
    r = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True)
    return r.stdout.strip() or "?"


def bench_snapshot(R, runs):
    title = "14. snapshots"
    R.SNAP_ELF = os.path.join(R.BUILD, "guests", "bench_snap.elf")
    if not os.access(R.SNAP_ELF, os.R_OK):
        R.out(f"\n{title}: skipped, {R.SNAP_ELF} not built (ninja -C {R.BUILD})")
        return
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        R.out(f"\n{title}: skipped, /dev/kvm not usable (run `bench/run snapshot` inside the\n"
              "  emulated AMD-V host: QEMU_SMP=5 tools/svmhost/hostrun, see README)")
        return
    base = "/dev/shm" if os.path.isdir("/dev/shm") and fs_type("/dev/shm") == "tmpfs" else None
    tmp = tempfile.mkdtemp(prefix="petrel-bench-snap-", dir=base)
    fs = f"{fs_type(tmp)} ({os.path.dirname(tmp)})"
    snaps = {}
    try:
        if "create" in PARTS or "restore" in PARTS:  # the 1-vCPU snapshots
            progress("create")
            bench_create(R, runs if "create" in PARTS else 1, tmp, fs, snaps)
        if "restore" in PARTS:
            progress("the 4-vCPU snapshots")
            bench_restore_source(R, tmp, snaps)
            for v in (1, 4):
                progress(f"restore, {v} vCPUs")
                bench_restore(R, runs, tmp, snaps, v)
        if "density" in PARTS:
            progress("density")
            bench_density(R, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
