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


def petrel(ctx, guest, cmdline, extra=(), mem="32M"):
    """Runs petrel on the lab guest `guest` with `cmdline`; returns (the
    guest's output, the vcpu exit counters). Raises RuntimeError with the
    output when petrel does not exit 0."""
    mpath = os.path.join(ctx.tmp, "metrics.json")
    if os.path.exists(mpath):
        os.unlink(mpath)
    rc, out = run([ctx.petrel, "run", "--kernel", ctx.guest(guest), "--mem", mem,
                   "--no-rng", "--metrics-path", mpath, "--cmdline", cmdline, *extra])
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
