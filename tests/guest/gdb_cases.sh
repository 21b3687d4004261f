# SPDX-License-Identifier: MIT
# The gdb stub's guest cases (sourced by tests/guest/run): Debian's gdb in
# batch mode against guests/gdb_target.c under --gdb.

# gdb_start CASE PETREL_ARGS...: petrel in the background with --gdb on a
# unix socket ($GDB_SOCK); sets OUT, ERR (petrel's) and GDB_PID.
gdb_start() {
	local name=$1 i
	shift
	GDB_SOCK="$TMP/$name.gdb" OUT="$TMP/$name.out" ERR="$TMP/$name.err"
	timeout "$TIMEOUT" "$PETREL" run --gdb "$GDB_SOCK" "$@" >"$OUT" 2>"$ERR" </dev/null &
	GDB_PID=$!
	for i in $(seq 100); do [ -S "$GDB_SOCK" ] && break; sleep 0.1; done
}
# gdb_run ELF GDB_ARGS...: one gdb against $GDB_SOCK, output in $GDB_OUT
# (appended: a case may attach several times).
gdb_run() {
	local elf=$1
	shift
	timeout "$TIMEOUT" gdb -nx -batch -ex "set confirm off" -ex "target remote $GDB_SOCK" "$@" \
		"$elf" >>"$GDB_OUT" 2>&1
}
# gdb_wait: petrel's exit status in RC.
gdb_wait() {
	wait "$GDB_PID"
	RC=$?
}
# gdb_session CASE ELF PETREL_ARGS... -- GDB_ARGS...: start, one gdb, wait.
gdb_session() {
	local name=$1 elf=$2 pargs=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pargs+=("$1"); shift; done
	shift
	GDB_OUT="$TMP/$name.gdb.out"
	: >"$GDB_OUT"
	gdb_start "$name" "${pargs[@]}"
	gdb_run "$elf" "$@"
	gdb_wait
}
check_gdb() {
	grep -qE -- "$1" "$GDB_OUT" && return 0
	WHY="gdb output lacks /$1/: '$(tail -c 800 "$GDB_OUT" | tr '\n' '|')'; petrel: $(err_summary)"
	return 1
}

# Break at a symbol, read registers and a global, step, write memory that
# changes the exit status, detach: the guest finishes with it.
case_gdb_break_step_write() {
	local k; k=$(guest gdb_target.elf) || { WHY="missing gdb_target.elf"; return 1; }
	gdb_session gdb-break "$k" --kernel "$k" --mem 32M -- \
		-ex "break gdb_tick" -ex "continue" -ex "continue" \
		-ex 'printf "counter=%lu\n", *(unsigned long *)&gdb_counter' \
		-ex 'printf "ripok=%d\n", $rip == (unsigned long)&gdb_tick' \
		-ex 'printf "rdi=%lu\n", $rdi' \
		-ex "stepi" -ex 'printf "stepped=%d\n", $rip != (unsigned long)&gdb_tick' \
		-ex "delete" -ex "set var *(int *)&gdb_exit_status = 42" -ex "detach"
	check_gdb "Breakpoint 1, .*gdb_tick" && check_gdb "counter=1$" &&
		check_gdb "ripok=1" && check_gdb "rdi=2$" && check_gdb "stepped=1" &&
		check_rc 42 && check_out "gdb_target: counter=55 status=42"
}

# A hardware watchpoint on a write; two vCPUs are two threads, and gdb
# switches between them (thread 2, the AP, never started: its own rip).
case_gdb_watch_threads() {
	local k; k=$(guest gdb_target.elf) || { WHY="missing gdb_target.elf"; return 1; }
	gdb_session gdb-watch "$k" --kernel "$k" --mem 32M --cpus 2 -- \
		-ex "info threads" -ex "watch *(unsigned long *)&gdb_watched" -ex "continue" \
		-ex 'printf "watched=%lu\n", *(unsigned long *)&gdb_watched' -ex "delete" \
		-ex 'set $r1 = $rip' -ex "thread 2" -ex 'printf "t2differs=%d\n", $rip != $r1' \
		-ex "thread 1" -ex 'printf "t1same=%d\n", $rip == $r1' -ex "detach"
	check_gdb "Thread 2" && check_gdb "Hardware watchpoint 1" && check_gdb "watched=1$" &&
		check_gdb "Switching to thread 2" && check_gdb "t2differs=1" &&
		check_gdb "Switching to thread 1" && check_gdb "t1same=1" && check_rc 7
}

# Ctrl-C on a spinning guest: gdb's SIGINT becomes 0x03 on the wire; the
# stop reply says SIGINT; clearing the guest's flag lets it end.
case_gdb_interrupt() {
	local k gpid i; k=$(guest gdb_target.elf) || { WHY="missing gdb_target.elf"; return 1; }
	GDB_OUT="$TMP/gdb-interrupt.gdb.out"
	: >"$GDB_OUT"
	gdb_start gdb-interrupt --kernel "$k" --mem 32M --cmdline spin
	rm -f "$TMP/gdb-int.cont"
	# not through gdb_run: $! must be timeout's pid, whose child is gdb
	timeout "$TIMEOUT" gdb -nx -batch -ex "set confirm off" -ex "target remote $GDB_SOCK" \
		-ex "shell touch $TMP/gdb-int.cont" -ex "continue" \
		-ex 'printf "spin=%d\n", *(int *)&gdb_spin' -ex "set var *(int *)&gdb_spin = 0" \
		-ex "detach" "$k" >>"$GDB_OUT" 2>&1 &
	gpid=$!
	for i in $(seq 100); do [ -f "$TMP/gdb-int.cont" ] && break; sleep 0.1; done
	sleep 2
	# to gdb alone: timeout would also signal its whole process group, and
	# a second SIGINT before the stop reply makes gdb give up the target
	kill -INT "$(pgrep -P "$gpid")"
	wait "$gpid"
	gdb_wait
	check_gdb "SIGINT" && check_gdb "spin=1$" && check_rc 7 &&
		check_out "gdb_target: counter=55 status=7"
}

# gdb_abuse MODE: a hostile client on $GDB_SOCK.
gdb_abuse() {
	python3 - "$GDB_SOCK" "$1" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
mode = sys.argv[2]
if mode == "garbage":
    s.sendall(bytes(range(256)) * 16)
elif mode == "oversized":
    s.sendall(b"$" + b"m" * 100000 + b"#00")
elif mode == "badsum":
    s.sendall(b"$g#00" * 100)
elif mode == "half":
    s.sendall(b"$m0,4")
elif mode == "running":  # continue, then vanish while the guest runs
    s.sendall(b"+$c#63")
time.sleep(0.5)
s.close()
PY
}

# Garbage, oversized packets, bad checksums, a half packet and a gdb that
# vanishes while the guest runs: after each, petrel still serves, a real
# gdb attaches to the (spinning) guest and reads it; the last one lets the
# guest end.
case_gdb_hostile() {
	local k m; k=$(guest gdb_target.elf) || { WHY="missing gdb_target.elf"; return 1; }
	GDB_OUT="$TMP/gdb-hostile.gdb.out"
	: >"$GDB_OUT"
	gdb_start gdb-hostile --kernel "$k" --mem 32M --cmdline spin
	for m in garbage oversized badsum half running; do
		gdb_abuse "$m" || echo "abuse $m: client failed" >>"$GDB_OUT"
		gdb_run "$k" -ex "printf \"after-$m=%d\\n\", *(int *)&gdb_spin" -ex "detach"
	done
	gdb_run "$k" -ex "set var *(int *)&gdb_spin = 0" -ex "detach"
	gdb_wait
	# 0 only if gdb stopped the guest before it set its flag
	for m in garbage oversized badsum half running; do
		check_gdb "after-$m=[01]$" || return 1
	done
	check_rc 7 && check_out "gdb_target: counter=55 status=7"
}
