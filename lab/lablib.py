# SPDX-License-Identifier: MIT
"""Shared helpers of petrel's lab exercises (lab/run): running petrel and
QEMU on a lab guest, reading petrel's metrics, printing tables and verdicts.

An exercise module (lab/NN-name/exercise.py) defines
    TITLE       one line
    NEEDS_KVM   whether it needs /dev/kvm
    run(ctx)    prints its table and returns [(verdict, name, why)], verdict
                one of PASS FAIL SKIP
Checks judge ratios and trends, never absolute times."""
import json
import os
import re
import shutil
import subprocess
import tempfile


class Ctx:
    """Where things are: BUILD (petrel, guests/, lab/) and the options."""

    def __init__(self, build, solution=False):
        self.build = os.path.abspath(build)
        self.petrel = os.path.join(self.build, "petrel")
        self.guests = os.path.join(self.build, "guests")
        self.solution = solution
        self.tmp = tempfile.mkdtemp(prefix="petrel-lab-")

    def guest(self, name):
        return os.path.join(self.guests, name + ".elf")


def env_int(name, default):
    """The positive integer in environment variable `name`, else `default`."""
    try:
        v = int(os.environ.get(name, ""))
        return v if v > 0 else default
    except ValueError:
        return default


def run(argv, timeout=300, stdin=subprocess.DEVNULL):
    """(exit status, stdout text) of argv; stderr is kept for errors."""
    p = subprocess.run(argv, stdin=stdin, capture_output=True, timeout=timeout)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        out += p.stderr.decode(errors="replace")
    return p.returncode, out


def metrics_sum(path):
    """The vcpu group's counters summed over the metrics file's lines (each
    line holds the changes since the one before)."""
    total = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            for k, v in json.loads(line).get("vcpu", {}).items():
                total[k] = total.get(k, 0) + v
    return total


def petrel(ctx, guest, cmdline, extra=(), mem="32M", timeout=300):
    """Runs petrel on the lab guest `guest` with `cmdline`; returns (the
    guest's output, the vcpu exit counters). Raises RuntimeError with the
    output when petrel does not exit 0 (subprocess.TimeoutExpired after
    `timeout` seconds)."""
    mpath = os.path.join(ctx.tmp, "metrics.json")
    if os.path.exists(mpath):
        os.unlink(mpath)
    rc, out = run([ctx.petrel, "run", "--kernel", ctx.guest(guest), "--mem", mem,
                   "--no-rng", "--metrics-path", mpath, "--cmdline", cmdline, *extra],
                  timeout=timeout)
    if rc != 0:
        raise RuntimeError(f"petrel exited {rc}: {out.strip()[-400:]}")
    return out, metrics_sum(mpath)


def field(out, prefix, key):
    """The integer (decimal, or hex for result/value) after `key=` on the
    output line starting with `prefix`."""
    for line in out.splitlines():
        if line.startswith(prefix):
            m = re.search(r"\b" + key + r"=([0-9a-fx]+)", line)
            if m:
                return int(m.group(1), 16 if key in ("result", "value") else 10)
    raise RuntimeError(f"no '{prefix} ... {key}=' line in: {out.strip()[-300:]}")


def qemu():
    return shutil.which("qemu-system-x86_64")


def table(header, rows):
    """Prints a Markdown table."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print()


def host_kind(ctx):
    """The "virtualisation:" line of petrel check (hardware-assisted or
    emulated, and how), or "unknown"."""
    _, out = run([ctx.petrel, "check"], timeout=30)
    for line in out.splitlines():
        if line.startswith("virtualisation:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def qemu_argv(ctx, guest, cmdline, cpu="qemu64,vendor=GenuineIntel"):
    """QEMU TCG (every guest instruction translated in software) booting the
    lab guest `guest` in its ELF32 form (QEMU's -kernel takes PVH images so)
    with `cmdline`; the guest's exit port is QEMU's isa-debug-exit, so QEMU
    exits 2 * status + 1. The guests drop to CPL3 with SYSEXIT, which AMD
    CPUs (QEMU's default model is one) refuse in long mode: an Intel vendor
    string makes TCG allow it."""
    return [qemu(), "-accel", "tcg", "-cpu", cpu, "-M", "pc", "-m", "64M",
            "-nodefaults", "-no-user-config", "-nographic", "-display", "none",
            "-serial", "stdio", "-device", "isa-debug-exit,iobase=0x501,iosize=1",
            "-kernel", os.path.join(ctx.guests, guest + ".elf32"), "-append", cmdline]


def host_nested():
    """Whether this machine is itself a virtual machine (CPUID's hypervisor
    bit, as /proc/cpuinfo shows it): then petrel's guest is nested, and
    every one of its exits passes the outer hypervisor first."""
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " hypervisor" in line for line in f)
    except OSError:
        return False


def have_kvm():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


# --- lab/03 and lab/04: the guest lab_sens, a monitor and its deprivileged
# kernel (guests/lab_sens.c). The monitor is inside the guest, so the
# exercise shows the same under petrel (KVM) and under QEMU's TCG.

SENS_WHERE_PETREL = "petrel (KVM)"
SENS_WHERE_QEMU = "QEMU TCG, -cpu max"


def sens_where(ctx):
    """(where to run lab_sens, None) or (None, why it cannot run here):
    petrel where there is /dev/kvm, else QEMU's TCG."""
    if have_kvm():
        return SENS_WHERE_PETREL, None
    if qemu():
        return SENS_WHERE_QEMU, None
    return None, "needs /dev/kvm or qemu-system-x86_64 (tools/setup installs it)"


def sens_run(ctx, where, cmdline):
    """Runs lab_sens with `cmdline` under `where` (sens_where); returns
    {"umip": str, "rows": [{name, cls, traps, seen, expect, ok}],
    "time": {what: cycles per iteration}, "rewrite": {sites, insns, bytes,
    cycles} or None, "out": the output}. RuntimeError when it did not finish."""
    if where == SENS_WHERE_PETREL:
        out, _ = petrel(ctx, "lab_sens", cmdline, timeout=180)
    else:
        # -cpu max: TCG's model with UMIP. Status 0 makes QEMU exit 1.
        rc, out = run(qemu_argv(ctx, "lab_sens", cmdline, "max,vendor=GenuineIntel"),
                      timeout=600)
        if rc != 1:
            raise RuntimeError(f"QEMU exited {rc}: {out.strip()[-400:]}")
    res = {"umip": "unknown", "rows": [], "time": {}, "rewrite": None, "out": out}
    done = False
    for line in out.splitlines():
        if "lab_sens: " not in line:
            continue
        line = line[line.index("lab_sens: "):]  # QEMU's firmware leaves no newline
        kv = dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", line))
        if line.startswith("lab_sens: umip="):
            res["umip"] = kv["umip"]
        elif line.startswith("lab_sens: row="):
            seen, expect = int(kv["seen"], 16), int(kv["expect"], 16)
            res["rows"].append({"name": kv["name"], "cls": kv["class"],
                                "traps": int(kv["traps"]), "seen": seen,
                                "expect": expect, "ok": seen == expect})
        elif line.startswith("lab_sens: time "):
            res["time"][kv["what"]] = int(kv["cycles"]) / max(1, int(kv["n"]))
        elif line.startswith("lab_sens: rewrite sites="):
            res["rewrite"] = {k: int(kv[k]) for k in ("sites", "insns", "bytes", "cycles")}
        elif line.startswith("lab_sens: done"):
            done = True
    if not done or not res["rows"]:
        raise RuntimeError("lab_sens did not finish: " + out.strip()[-400:])
    return res


def sens_begin(ctx, case, cmdline):
    """The first run of lab_sens for exercise `case`: (where, its result,
    verdicts to add), where = sens_where's. On a PVM host, where KVM
    emulates the guest's every move between CPL3 and CPL0, a petrel run
    that fails is retried under QEMU's TCG with a SKIP that says why.
    (None, None, [SKIP]) where neither can run."""
    where, why = sens_where(ctx)
    if not where:
        return None, None, [("SKIP", case, why)]
    try:
        return where, sens_run(ctx, where, cmdline), []
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        if where != SENS_WHERE_PETREL or "PVM" not in host_kind(ctx) or not qemu():
            raise
        skip = ("SKIP", case + "-under-petrel", "petrel on this PVM host did not run the "
                f"guest's monitor ({str(e)[:200]}); the tables come from QEMU's TCG")
        return SENS_WHERE_QEMU, sens_run(ctx, SENS_WHERE_QEMU, cmdline), [skip]


def sens_yes(ok):
    """A "correct" cell: a wrong row stands out."""
    return "yes" if ok else "**no**"


def sens_show(name, v):
    """A row's value as a student reads it."""
    if name in ("sgdt", "sidt", "lgdt", "lidt"):
        return f"base {v & (1 << 48) - 1:#x} limit {v >> 48:#x}"
    if name in ("lar", "lsl") and v == (1 << 64) - 1:
        return "refused (ZF=0)"
    if name == "pushf":
        return f"IF {v & 1} after cli, {v >> 1 & 1} after sti"
    if name in ("popf", "cli", "sti"):
        return f"IF {v}"
    if name == "out":
        return f"{v} bytes out"
    if name == "hlt":
        return f"{v} halt"
    if name in ("verr", "verw"):
        return "yes" if v else "no"
    return f"{v:#x}"
