#!/bin/sh
# SPDX-License-Identifier: MIT
# Boot of the default Linux guest to its shell banner, petrel against QEMU
# microvm, run by `bench/run linux`: on this host when its KVM is hardware-
# assisted, otherwise as /test.sh inside the emulated AMD-V host (where the
# defaults below are the paths tools/build-svmhost packs in).
#
# The peers take turns, RUNS rounds; each boot is timed by boot_time from
# exec to the line "petrel guest: Linux ... ready" on the guest console, with
# the same kernel, initramfs, RAM and command line (`quiet`: at ~150 us per
# port-I/O exit in the emulated host, kernel messages would dominate).
# Output, one line per boot: "RESULT PEER MICROSECONDS" or "FAIL PEER: why".
# env: PETREL QEMU BOOT_TIME GUEST (dir) RUNS MEM_MIB TIMEOUT PETREL_RESULTS
set -u
PETREL=${PETREL:-/bin/petrel}
QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
BOOT_TIME=${BOOT_TIME:-/bin/boot_time}
GUEST=${GUEST:-/guest}
RUNS=${RUNS:-$(tr ' ' '\n' </proc/cmdline | sed -n 's/^petrel_bench_runs=//p')}
RUNS=${RUNS:-5}
MEM=${MEM_MIB:-128}
TIMEOUT=${TIMEOUT:-120}
BANNER='petrel guest: Linux'
CMDLINE='console=ttyS0 panic=-1 quiet'
exec 3>"${PETREL_RESULTS:-/dev/stdout}"

# Every optional microvm device off but the UART (the console) and ACPI
# (power-off); QEMU's microvm needs its qboot firmware to start. On -cpu,
# see QEMU_CPU in bench/run.
qemu_boot() { # PEER KERNEL
	one "$1" "$QEMU" -accel kvm -cpu host,-arch-capabilities -m "${MEM}M" -smp 1 \
		-M microvm,x-option-roms=off,pit=off,pic=off,rtc=off \
		-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		-kernel "$2" -initrd "$GUEST/initramfs.cpio" -append "$CMDLINE"
}

one() { # PEER CMD...: one timed boot
	peer=$1
	shift
	if us=$("$BOOT_TIME" "$TIMEOUT" "$BANNER" "$@" 2>/tmp/boot_time.err); then
		echo "RESULT $peer $us" >&3
	else
		echo "FAIL $peer: no banner within ${TIMEOUT}s: $(tail -c 300 /tmp/boot_time.err | tr '\n\r' '  ')" >&3
	fi
}

[ -c /dev/kvm ] || { echo "FAIL all: no /dev/kvm" >&3; exit 0; }
i=0
while [ "$i" -lt "$RUNS" ]; do
	one "petrel-bzImage" "$PETREL" run --kernel "$GUEST/bzImage" \
		--initrd "$GUEST/initramfs.cpio" --mem "${MEM}M" --cmdline "$CMDLINE"
	one "petrel-PVH-vmlinux" "$PETREL" run --kernel "$GUEST/vmlinux" \
		--initrd "$GUEST/initramfs.cpio" --mem "${MEM}M" --cmdline "$CMDLINE"
	if [ -x "$QEMU" ]; then
		qemu_boot "QEMU-microvm-bzImage" "$GUEST/bzImage"
		qemu_boot "QEMU-microvm-PVH-vmlinux" "$GUEST/vmlinux"
	fi
	i=$((i + 1))
done
exit 0
