# SPDX-License-Identifier: MIT
"""05 paravirtualization: N bytes of console output through a trapped UART,
one hypercall per buffer and a virtio ring; exits and cycles per byte."""
import lablib

TITLE = "paravirtualization: UART traps vs hypercalls vs a virtio ring, per byte"
NEEDS_KVM = True
COUNTERS = ["exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write"]
MODES = [("uart", "emulated 16550A, byte by byte", ()),
         ("hc", "CONSOLE_WRITE hypercall per 4 KiB", ()),
         ("ring", "virtio-console ring, 4 KiB buffers", ("--console", "virtio"))]


def exits_and_cycles(ctx, mode, extra, nbytes):
    out, m = lablib.petrel(ctx, "lab_pv", f"mode={mode} bytes={nbytes}", extra)
    return sum(m.get(k, 0) for k in COUNTERS), lablib.field(out, "lab_pv:", "cycles"), out


def run(ctx):
    n = lablib.env_int("LAB_PV_BYTES", 65536)
    rows, per, verdicts = [], {}, []
    for mode, what, extra in MODES:
        e0, _, _ = exits_and_cycles(ctx, mode, extra, 0)
        e1, cyc, out = exits_and_cycles(ctx, mode, extra, n)
        got = out.count("x" * 63 + "\n")
        if got != n // 64:
            verdicts.append(("FAIL", f"05-{mode}-output", f"{got} of {n // 64} lines reached stdout"))
        per[mode] = ((e1 - e0) / n, cyc / n)
        rows.append([mode, what, e1 - e0, f"{per[mode][0]:.4f}", f"{per[mode][1]:.1f}"])
    print(f"{n} bytes of console output; exits counted by petrel's metrics minus a run "
          f"writing none:\n")
    lablib.table(["path", "how", "exits", "exits/byte", "cycles/byte"], rows)
    uart = per["uart"]
    for mode in ("hc", "ring"):
        epb, cpb = per[mode]
        verdicts.append(("PASS" if epb * 100 < uart[0] else "FAIL", f"05-{mode}-fewer-exits",
                         f"{epb:.4f} exits/byte vs the UART's {uart[0]:.2f} (claim: 100x fewer)"))
        verdicts.append(("PASS" if cpb * 5 < uart[1] else "FAIL", f"05-{mode}-cheaper-per-byte",
                         f"{cpb:.1f} cycles/byte vs the UART's {uart[1]:.1f} (claim: 5x cheaper)"))
    return verdicts
