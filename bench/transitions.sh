#!/bin/sh
# SPDX-License-Identifier: MIT
# Guest -> VMM transition costs (guests/bench_transitions.c), petrel against
# QEMU microvm, run by `bench/run transitions`: on this host, and with
# --linux also as /test.sh inside the emulated AMD-V host (where the
# defaults below are the paths bench/run packs in).
#
# The peers take turns, RUNS rounds, with the same guest, virtio-rng and an
# 8 MiB virtio-blk disk on the same file; the guest times N iterations of
# each transition with RDTSC. Output: "TSC HZ" (this machine's TSC rate,
# bench/tscfreq.c), then per measurement "RESULT PEER NAME N CYCLES", or
# "FAIL PEER: why" for a run that did not end with the guest's "done".
# env: PETREL QEMU TSCFREQ GUEST RUNS N DISK PETREL_RESULTS
set -u
PETREL=${PETREL:-/bin/petrel}
QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
TSCFREQ=${TSCFREQ:-/bin/tscfreq}
GUEST=${GUEST:-/bench/bench_transitions.elf}
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^petrel_bench_$1=//p"; }
RUNS=${RUNS:-$(arg runs)}
RUNS=${RUNS:-5}
N=${N:-$(arg n)}
N=${N:-2000}
DISK=${DISK:-/tmp/transitions-disk.img}
OUT=${DISK%.img}.out
exec 3>"${PETREL_RESULTS:-/dev/stdout}"

# QEMU: microvm with acpi=off puts its virtio-mmio transports on the PVH
# kernel's command line; isa-debug-exit turns the guest's exit value V into
# status 2V+1; no hypercall (port 0x510 is its fw_cfg). On -cpu, see
# QEMU_CPU in bench/run.
qemu_run() {
	"$QEMU" -accel kvm -cpu host,-arch-capabilities -m 32M -smp 1 \
		-M microvm,x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=on,acpi=off \
		-nodefaults -no-user-config -display none -serial stdio \
		-device isa-debug-exit,iobase=0x501,iosize=1 -global virtio-mmio.force-legacy=false \
		-device virtio-rng-device \
		-drive "id=d0,file=$DISK,format=raw,if=none" -device virtio-blk-device,drive=d0 \
		-kernel "$GUEST" -append "n=$N hypercall=0"
}

one() { # PEER WANT_STATUS CMD...
	peer=$1 want=$2
	shift 2
	"$@" >"$OUT" 2>"$OUT.err" </dev/null
	rc=$?
	if [ "$rc" = "$want" ] && grep -q '^transitions: done' "$OUT"; then
		sed -n "s/^transitions: \([a-z0-9]*\) \([0-9]*\) \([0-9]*\)\r*$/RESULT $peer \1 \2 \3/p" "$OUT" >&3
	else
		echo "FAIL $peer: status $rc: $(tail -c 300 "$OUT" "$OUT.err" | tr '\n\r' '  ')" >&3
	fi
}

[ -c /dev/kvm ] || { echo "FAIL all: no /dev/kvm" >&3; exit 0; }
echo "TSC $("$TSCFREQ")" >&3
dd if=/dev/zero of="$DISK" bs=1M count=8 2>/dev/null
i=0
while [ "$i" -lt "$RUNS" ]; do
	one petrel 0 "$PETREL" run --kernel "$GUEST" --mem 32M --disk "$DISK" --cmdline "n=$N"
	[ -x "$QEMU" ] && one QEMU-microvm 1 qemu_run
	i=$((i + 1))
done
rm -f "$DISK" "$OUT" "$OUT.err"
exit 0
