#!/bin/sh
# The linux suite's gdb group: Debian's gdb against the default guest
# kernel (build/guest/vmlinux: symbols, no DWARF) under petrel --gdb.
# Needs gdb, so it runs through tools/svmhost/hostrun (this machine's / in
# the emulated AMD-V host) rather than in the busybox L1 of l1-tests.sh;
# tests/linux/run starts it for LINUX_SUITE_GROUPS=gdb.
# Usage: l1-gdb.sh PETREL GUEST_DIR    Output: PASS/FAIL/INFO lines.
PETREL=$1 G=$2
T=$(mktemp -d /tmp/l1-gdb.XXXXXX)
result() { echo "$*"; }
now() { cut -d' ' -f1 /proc/uptime; }
CASES='hbreak bt global monitor threads detach-boots poweroff'
fail_all() {
    for c in $CASES; do result "FAIL linux-gdb-$c: $1"; done
    exit 0
}
[ -c /dev/kvm ] || fail_all "no /dev/kvm"
command -v gdb >/dev/null || fail_all "gdb is not installed (apt-get install gdb)"
# wait_for REGEX FILE SECONDS: 0 found, 1 not
wait_for() {
    _end=$(($(cut -d. -f1 /proc/uptime) + $3))
    while [ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ]; do
        grep -aqE -e "$1" "$2" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    grep -aqE -e "$1" "$2" 2>/dev/null
}
mkfifo "$T/in"
exec 4<>"$T/in"
t0=$(now)
# nokaslr: the kernel's addresses are vmlinux's (this kernel is not
# relocatable anyway; a distribution kernel would be)
timeout -s KILL 400 "$PETREL" run --kernel "$G/vmlinux" --initrd "$G/initramfs.cpio" --cpus 2 \
    --mem 256M --cmdline nokaslr --gdb "$T/gdb.sock" <"$T/in" >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 100); do [ -S "$T/gdb.sock" ] && break; sleep 0.1; done
# Without DWARF: symbols only, so globals are read through casts and x/s;
# bt unwinds by prologue analysis.
timeout 300 gdb -nx -batch -ex "set confirm off" -ex "target remote $T/gdb.sock" \
    -ex "hbreak start_kernel" -ex "continue" \
    -ex 'printf "rip_ok=%d\n", $rip == (unsigned long)&start_kernel' \
    -ex "bt 4" -ex "x/s &linux_banner" -ex "monitor info version" -ex "info threads" \
    -ex "thread 2" -ex "thread 1" -ex "delete" -ex "detach" "$G/vmlinux" >"$T/gdb.out" 2>&1
gst=$?
t1=$(now)
g() { grep -aqE -e "$1" "$T/gdb.out"; }
why="gdb status $gst: $(tail -c 400 "$T/gdb.out" | tr '\n' '|')"
if g "Breakpoint 1, .*start_kernel" && g "rip_ok=1"; then
    result "PASS linux-gdb-hbreak"
else
    result "FAIL linux-gdb-hbreak: $why"
fi
g "^#0 .*start_kernel" && g "^#1 " && result "PASS linux-gdb-bt" || result "FAIL linux-gdb-bt: $why"
g "linux_banner>:[[:space:]]+\"Linux version " && result "PASS linux-gdb-global" ||
    result "FAIL linux-gdb-global: $why"
g "^petrel [0-9]" && result "PASS linux-gdb-monitor" || result "FAIL linux-gdb-monitor: $why"
g "Thread 2 " && g "Switching to thread 2" && result "PASS linux-gdb-threads" ||
    result "FAIL linux-gdb-threads: $why"
result "INFO linux-gdb: gdb session $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
if wait_for 'petrel guest: Linux .* ready' "$T/out" 120 && wait_for 'petrel# ' "$T/out" 30; then
    result "PASS linux-gdb-detach-boots"
    printf 'exit\n' >&4
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
else
    result "FAIL linux-gdb-detach-boots: no banner or shell after detach: $(tail -n 3 "$T/out" | tr '\n' '|') $(tail -n 2 "$T/err" | tr '\n' '|')"
fi
kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
wait "$pid"
st=$?
[ "$st" = 0 ] && result "PASS linux-gdb-poweroff" || result "FAIL linux-gdb-poweroff: petrel exit status $st ($(tail -n 1 "$T/err"))"
exec 4>&-
echo "===== linux-gdb: gdb output"; cat "$T/gdb.out"
echo "===== linux-gdb: petrel stderr"; cat "$T/err"
echo "===== linux-gdb: guest serial (last 20 lines)"; tr -d '\r' <"$T/out" | tail -n 20
rm -rf "$T"
exit 0
