# SPDX-License-Identifier: MIT
"""04 binary rewriting: the monitor of 03 first sweeps its kernel's code
and puts an int3 over every sensitive unprivileged instruction; each then
traps and is emulated, so every row of 03's table comes out right. What
the rewrite costs, and what each trapped instruction costs."""
import lablib

TITLE = "binary rewriting: int3 over each sensitive instruction, every row right"
NEEDS_KVM = False  # as 03: QEMU's TCG where there is no /dev/kvm
TARGETS = ["guests/lab_sens.elf", "guests/lab_sens.elf32"]
# A trapped SGDT must cost at least this many native ones (the claim: far
# more; a trap is hundreds of cycles at the least, an SGDT a few).
TRAP_MIN = 2.0


def run(ctx):
    n = lablib.env_int("LAB_SENS_N", 200)
    nn = lablib.env_int("LAB_SENS_NATIVE", 100000)
    args = f"n={n} nn={nn}"
    where, plain, verdicts = lablib.sens_begin(ctx, "04-binary-rewriting", args)
    if not where:
        return verdicts
    rw = lablib.sens_run(ctx, where, "rewrite=1 " + args)
    print(f"the monitor's CPU: {where}\n")
    rows = []
    for p, r in zip(plain["rows"], rw["rows"]):
        rows.append([p["name"], "privileged" if p["cls"] == "P" else "sensitive", p["traps"],
                     lablib.sens_yes(p["ok"]), r["traps"], lablib.sens_show(r["name"], r["seen"]),
                     lablib.sens_yes(r["ok"])])
    lablib.table(["instruction", "class", "traps", "correct", "rewritten: traps",
                  "the kernel saw", "rewritten: correct"], rows)

    t0, t1, w = plain["time"], rw["time"], rw["rewrite"]
    add = t0.get("add") or 1
    cost = [["add, native", t0["add"]],
            ["sgdt, native (silent, wrong)", t0["sgdt"]],
            ["sgdt, rewritten: int3, monitor, emulated", t1["sgdt"]],
            ["cli, privileged: #GP, monitor, emulated", t1["cli"]]]
    print(f"cycles per execution (TSC, the kernel's loops: add x{nn}, the others x{n}):\n")
    lablib.table(["what", "cycles each", "x an add"],
                 [[c[0], f"{c[1]:.1f}", f"{c[1] / add:.0f}"] for c in cost])
    if w:
        per_trap = max(t1["sgdt"], 1)
        print(f"the rewrite pass: {w['cycles']} cycles for {w['insns']} instructions "
              f"({w['bytes']} bytes) decoded, {w['sites']} sites patched: "
              f"{w['cycles'] / max(1, w['insns']):.0f} cycles per instruction, "
              f"as much as {w['cycles'] / per_trap:.1f} trapped SGDTs\n")

    sens = [r for r in rw["rows"] if r["cls"] != "P"]
    if not w:
        verdicts.append(("FAIL", "04-rewriter-ran", "no 'lab_sens: rewrite' line"))
    elif "rewrite failed" in rw["out"] or w["sites"] < len(sens):
        verdicts.append(("FAIL", "04-rewriter-ran", f"{w['sites']} sites patched for "
                         f"{len(sens)} sensitive rows; the guest said: "
                         + " ".join(x for x in rw["out"].splitlines() if "rewrite" in x)))
    else:
        verdicts.append(("PASS", "04-rewriter-ran", f"{w['sites']} sites in {w['insns']} "
                         "instructions, every one decoded"))
    bad = [r["name"] for r in sens if not (r["ok"] and r["traps"] >= 1)]
    verdicts.append(("FAIL" if bad else "PASS", "04-rewrite-fixes-every-row",
                     f"still wrong or not trapped: {', '.join(bad)}" if bad else
                     f"all {len(sens)} sensitive rows trapped and were right"))
    priv = [r["name"] for r in rw["rows"] if r["cls"] == "P" and not r["ok"]]
    verdicts.append(("FAIL" if priv else "PASS", "04-privileged-still-right",
                     f"wrong after rewriting: {', '.join(priv)}" if priv else
                     "the privileged rows still trap and are emulated"))
    ratio = t1["sgdt"] / max(t0["sgdt"], 0.01)
    verdicts.append(("PASS" if ratio > TRAP_MIN else "FAIL", "04-trap-dearer-than-native",
                     f"a rewritten sgdt costs {ratio:.0f}x a native one "
                     f"(claim: far more, at least {TRAP_MIN:g}x)"))
    return verdicts
