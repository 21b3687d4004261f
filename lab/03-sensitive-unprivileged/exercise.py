# SPDX-License-Identifier: MIT
"""03 sensitive but unprivileged: a trap-and-emulate monitor inside the
guest runs a deprivileged kernel at CPL3; privileged instructions trap and
are emulated, the sensitive unprivileged ones silently show the real CPU;
with CR4.UMIP, five of them trap too."""
import lablib

TITLE = "sensitive but unprivileged: what a deprivileged kernel sees, and UMIP"
# The monitor lives inside the guest: under QEMU's TCG where there is no
# /dev/kvm (lab/run does not skip it), under petrel where there is.
NEEDS_KVM = False
TARGETS = ["guests/lab_sens.elf", "guests/lab_sens.elf32"]
CLASS = {"P": "privileged", "U": "sensitive, UMIP", "S": "sensitive"}


def run(ctx):
    n = lablib.env_int("LAB_SENS_N", 200)
    where, plain, verdicts = lablib.sens_begin(ctx, "03-sensitive-unprivileged", f"n={n}")
    if not where:
        return verdicts
    umip, umip_where = lablib.sens_run(ctx, where, f"umip=1 n={n}"), where
    notes = [f"the monitor's CPU: {where}"]
    if umip["umip"] != "on" and where == lablib.SENS_WHERE_PETREL and lablib.qemu():
        notes.append(f"UMIP under petrel: {umip['umip']} (CPUID 7.0:ECX[2] or the CR4 "
                     f"write), so the UMIP columns come from QEMU's TCG with -cpu max")
        umip, umip_where = lablib.sens_run(ctx, lablib.SENS_WHERE_QEMU, f"umip=1 n={n}"), \
            lablib.SENS_WHERE_QEMU
    have_umip = umip["umip"] == "on"
    print("; ".join(notes) + "\n")
    rows = []
    for r, u in zip(plain["rows"], umip["rows"]):
        rows.append([r["name"], CLASS[r["cls"]], r["traps"], lablib.sens_show(r["name"], r["seen"]),
                     lablib.sens_show(r["name"], r["expect"]), lablib.sens_yes(r["ok"]),
                     u["traps"] if have_umip else "-", lablib.sens_yes(u["ok"]) if have_umip else "-"])
    print("traps: faults the monitor took in the row; the kernel saw: its result, or for "
          "a write the virtual CPU after it; CPL0: what a CPU at CPL0 with the kernel's "
          f"tables shows. UMIP columns: CR4.UMIP set ({umip_where}: {umip['umip']}).\n")
    lablib.table(["instruction", "class", "traps", "the kernel saw", "CPL0 would show",
                  "correct", "UMIP: traps", "UMIP: correct"], rows)

    priv = [r for r in plain["rows"] if r["cls"] == "P"]
    sens = [r for r in plain["rows"] if r["cls"] != "P"]
    bad = [r["name"] for r in priv if not (r["traps"] >= 1 and r["ok"])]
    verdicts.append(("FAIL" if bad else "PASS", "03-privileged-trap-and-emulate",
                 f"not trapped or wrong: {', '.join(bad)}" if bad else
                 f"all {len(priv)} privileged rows trapped and were emulated correctly"))
    trapped = [r["name"] for r in sens if r["traps"]]
    verdicts.append(("FAIL" if trapped else "PASS", "03-sensitive-do-not-trap",
                     f"trapped without UMIP: {', '.join(trapped)}" if trapped else
                     f"none of the {len(sens)} sensitive unprivileged rows trapped"))
    right = [r["name"] for r in sens if r["ok"]]
    verdicts.append(("FAIL" if right else "PASS", "03-sensitive-show-the-real-cpu",
                     f"these showed the kernel's own values: {', '.join(right)}" if right else
                     f"all {len(sens)} showed the real CPU instead of the kernel's"))
    if not have_umip:
        verdicts.append(("SKIP", "03-umip", f"UMIP {umip['umip']} on {umip_where}: CPUID "
                         "7.0:ECX[2] clear, or CR4.UMIP did not stick"))
    else:
        u_rows = [r for r in umip["rows"] if r["cls"] == "U"]
        s_rows = [r for r in umip["rows"] if r["cls"] == "S"]
        bad = [r["name"] for r in u_rows if not (r["traps"] >= 1 and r["ok"])]
        bad += [r["name"] + " (trapped)" for r in s_rows if r["traps"]]
        verdicts.append(("FAIL" if bad else "PASS", "03-umip",
                         f"unexpected: {', '.join(bad)}" if bad else
                         f"with UMIP ({umip_where}) {', '.join(r['name'] for r in u_rows)} "
                         f"trap and are emulated; the other {len(s_rows)} still do not"))
    return verdicts
