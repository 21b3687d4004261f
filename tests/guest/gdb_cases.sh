# SPDX-License-Identifier: MIT
# The gdb stub's guest cases (sourced by tests/guest/run): Debian's gdb in
# batch mode against guests/gdb_target.c under --gdb.

# gdb_session CASE ELF PETREL_ARGS... -- GDB_ARGS...: petrel in the background
# with --gdb on a unix socket, gdb run against it; sets RC (petrel's exit
# status), OUT, ERR (petrel's) and GDB_OUT.
gdb_session() {
	local name=$1 elf=$2 sock="$TMP/$1.gdb" pargs=() pid i
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pargs+=("$1"); shift; done
	shift
	OUT="$TMP/$name.out" ERR="$TMP/$name.err" GDB_OUT="$TMP/$name.gdb.out"
	timeout "$TIMEOUT" "$PETREL" run --gdb "$sock" "${pargs[@]}" >"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	timeout "$TIMEOUT" gdb -nx -batch -ex "set confirm off" -ex "target remote $sock" "$@" "$elf" \
		>"$GDB_OUT" 2>&1
	wait "$pid"
	RC=$?
}
check_gdb() {
	grep -qE -- "$1" "$GDB_OUT" && return 0
	WHY="gdb output lacks /$1/: '$(head -c 600 "$GDB_OUT" | tr '\n' '|')'"
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

# A hardware watchpoint on a write; two vCPUs are two threads.
case_gdb_watch_threads() {
	local k; k=$(guest gdb_target.elf) || { WHY="missing gdb_target.elf"; return 1; }
	gdb_session gdb-watch "$k" --kernel "$k" --mem 32M --cpus 2 -- \
		-ex "info threads" -ex "watch *(unsigned long *)&gdb_watched" -ex "continue" \
		-ex 'printf "watched=%lu\n", *(unsigned long *)&gdb_watched' -ex "delete" \
		-ex "detach"
	check_gdb "Thread 2" && check_gdb "Hardware watchpoint 1" && check_gdb "watched=1$" &&
		check_rc 7
}

# Ctrl-C (0x03) stops a spinning guest; clearing its flag lets it end.
case_gdb_interrupt() {
	local k; k=$(guest gdb_target.elf) || { WHY="missing gdb_target.elf"; return 1; }
	gdb_session gdb-interrupt "$k" --kernel "$k" --mem 32M --cmdline spin -- \
		-ex "continue &" -ex "shell sleep 2" -ex "interrupt" -ex "shell sleep 1" \
		-ex 'printf "spin=%d\n", *(int *)&gdb_spin' -ex "set var *(int *)&gdb_spin = 0" \
		-ex "detach"
	check_gdb "SIGINT" && check_gdb "spin=1$" && check_rc 7 &&
		check_out "gdb_target: counter=55 status=7"
}
