# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Live-migration cases of the API suite (sourced by tests/api/run after
# snapshot.sh, whose helpers they use): the counting guest (count.elf)
# moved by PUT /migrate from one petrel to a `petrel run --incoming` one:
# the joined serial output of the two counts 1, 2, 3, ... once, the
# source exits 0 after the target confirmed. Then a guest that dirties
# memory as fast as it can, every failure on the source's side (a target
# that dies, refuses, answers junk or never confirms), hostile streams
# at a target, the CLI, and TCP between two network namespaces.

MIGPEER=$HERE/migpeer.py

# incoming NAME ADDR [ARGS]: a target petrel listening on ADDR (for a
# unix: one, until its socket is there). Sets OUT, ERR, PID.
incoming() {
	local name=$1 addr=$2 n=0
	shift 2
	start_bg "$name" --incoming "$addr" "$@"
	[[ $addr == unix:* ]] || { nap 0.5; return 0; }
	until [ -S "${addr#unix:}" ]; do
		if ! kill -0 "$PID" 2>/dev/null || [ $n -ge 600 ]; then
			WHY="target: no socket ${addr#unix:}; stderr: '$(oneline "$ERR")'"
			return 1
		fi
		nap 0.05
		n=$((n + 1))
	done
}

# migrate BODY: PUT /migrate to $SOCK, with the time a migration takes on
# the emulated test host; CODE and RESP.
migrate() {
	CODE=$(curl -s -S -H 'Expect:' --max-time 300 --unix-socket "$SOCK" -X PUT \
		-H 'Content-Type: application/json' --data-binary "$1" \
		-o "$TMP/mig.resp" -w '%{http_code}' http://localhost/migrate 2>"$TMP/curl.err")
	slurp "$TMP/mig.resp"
	RESP=$TEXT
	vlog "PUT /migrate $1 -> $CODE $RESP"
}

# still_counting: the source ($PID, $OUT) runs on, counting.
still_counting() {
	state_is Running || return 1
	last_count
	wait_out "count $((N + 2))" || { WHY="the source stopped counting: $WHY"; return 1; }
}

# The count goes on in the target from where the source's stopped; the
# source exits 0 once the target confirmed; the target runs on its own.
case_migrate_unix() {
	local src_pid src_out src_err
	start_petrel mu && counting 1 || return 1
	src_pid=$PID src_out=$OUT src_err=$ERR
	incoming mu-t "unix:$TMP/mu.in" || return 1
	local t_pid=$PID t_out=$OUT t_err=$ERR
	PID=$src_pid
	migrate "{\"destination\": \"unix:$TMP/mu.in\"}"
	[ "$CODE" = 200 ] || { WHY="PUT /migrate -> $CODE '$RESP' $(oneline "$TMP/curl.err")"; return 1; }
	want_json '"downtime_us" in j and j["bytes"] > 0' true || return 1
	ERR=$src_err
	wait_exit 30 && check_rc 0 || { WHY="source: $WHY"; return 1; }
	[ ! -s "$src_err" ] || { WHY="source stderr: '$(oneline "$src_err")'"; return 1; }
	PID=$t_pid OUT=$t_out ERR=$t_err
	last_count
	wait_out "count $((N + 5))" || { WHY="target: $WHY"; return 1; }
	stop_petrel && check_rc 143 && joined "$src_out" "$t_out" || return 1
	[ ! -e "$TMP/mu.in" ] || { WHY="the target left its socket $TMP/mu.in"; return 1; }
}

# A guest whose second vCPU rewrites 8 MiB as fast as it can, with a
# downtime target of 1 ms and 3 rounds: it converges (the target counts
# on) or the source gives up, naming the rates, and counts on.
case_migrate_dirty() {
	local src_pid src_out
	start_petrel md && counting 2 "dirty=8" || return 1
	src_pid=$PID src_out=$OUT
	incoming md-t "unix:$TMP/md.in" || return 1
	local t_pid=$PID t_out=$OUT
	PID=$src_pid OUT=$src_out
	migrate "{\"destination\": \"unix:$TMP/md.in\", \"downtime_ms\": 1, \"max_rounds\": 3}"
	if [ "$CODE" = 200 ]; then
		wait_exit 30 && check_rc 0 || return 1
		PID=$t_pid OUT=$t_out
		last_count
		wait_out "count $((N + 3))" && stop_petrel && check_rc 143 &&
			joined "$src_out" "$t_out"
		return
	fi
	[ "$CODE" = 400 ] && [[ $(message) == *"failed: "*"MB/s"* ]] ||
		{ WHY="PUT /migrate -> $CODE '$RESP'"; return 1; }
	still_counting || return 1
	PID=$t_pid
	wait_exit 30
	[ "$RC" = 1 ] || { WHY="the target of a migration given up: status $RC"; return 1; }
}

# Every way the target can fail the source before COMMIT: the guest runs
# on at the source with its count, the API says why in one line; after
# COMMIT with no DONE it stays paused.
case_migrate_target_fails() {
	local mode want p
	need_python || return 1
	start_petrel mf && counting 1 || return 1
	migrate "{\"destination\": \"unix:$TMP/nobody.in\"}"
	vlog "petrel: $(oneline "$ERR")"
	[ "$CODE" = 400 ] && [ "$(message)" = "migration to unix:$TMP/nobody.in failed: unix:$TMP/nobody.in: No such file or directory" ] ||
		{ WHY="no target: $CODE '$RESP'"; return 1; }
	still_counting || return 1
	for t in "die-early|~failed: (sending to the target|waiting for the target's READY): " \
		"refuse|~failed: the target refused: no room for you\\?here$" \
		"garbage|~failed: waiting for the target's READY: unexpected record" \
		"no-done|~: waiting for the target's DONE: .*the VM stays paused here"; do
		IFS='|' read -r mode want <<<"$t"
		rm -f "$TMP/mf.in"
		"$PY" "$MIGPEER" target "$TMP/mf.in" "$mode" 2>"$TMP/peer.err" &
		p=$!
		for ((n = 0; n < 100; n++)); do [ -S "$TMP/mf.in" ] && break; nap 0.05; done
		migrate "{\"destination\": \"unix:$TMP/mf.in\"}"
		wait "$p"
		[ "$CODE" = 400 ] && [[ $(message) =~ ${want#\~} ]] ||
			{ WHY="$mode: PUT /migrate -> $CODE '$RESP', want '$want'; curl: $(oneline "$TMP/curl.err"); petrel: $(oneline "$ERR")"; return 1; }
		if [ "$mode" = no-done ]; then
			state_is Paused || { WHY="$mode: $WHY"; return 1; }
			call PATCH /vm '{"state": "Resumed"}' 204 || return 1
		fi
		still_counting || { WHY="$mode: $WHY"; return 1; }
	done
	stop_petrel && check_rc 143 && counts_contiguous
}

# Hostile streams at a target: each ends it with status 1 and one line,
# nothing on stdout, no crash.
case_migrate_garbage() {
	local mode want lines
	need_python || return 1
	for t in "magic|not a petrel migration stream (bad magic)" \
		"version|stream version 9, this petrel speaks 1" \
		"setup-mem|SETUP: memory size 1125899906842624 is not *" \
		"setup-page|SETUP: page size 65536, this petrel's is 4096" \
		"pages-range|PAGES: pages 8191..+2 outside the 8192 of RAM" \
		"pages-len|PAGES: 1 pages in 4113 bytes" \
		"unexpected|unexpected record COMMIT (type 4)" \
		"long-state|record STATE: length 4294967295 out of range *" \
		"cut-page|the peer closed the connection" \
		"commit-early|unexpected record COMMIT (type 4)"; do
		IFS='|' read -r mode want <<<"$t"
		incoming "mg-$mode" "unix:$TMP/mg.in" || return 1
		"$PY" "$MIGPEER" source "$TMP/mg.in" "$mode"
		wait_exit 30
		mapfile -t lines <"$ERR"
		# shellcheck disable=SC2053 # $want is a pattern
		[ "$RC" = 1 ] && [ ${#lines[@]} = 1 ] &&
			[[ ${lines[0]} == "petrel: migration from unix:$TMP/mg.in: "$want ]] && [ ! -s "$OUT" ] || {
			WHY="$mode: status $RC, stderr '$(oneline "$ERR")', want '$want'"
			return 1
		}
	done
}

# `petrel migrate SOCK DEST` from the shell (a relative unix: path), and
# its bad input; PUT /migrate's own refusals.
case_migrate_cli() {
	local rc lines src_pid src_out
	start_petrel mc && counting 1 || return 1
	q PUT /migrate '{"destination": "ftp:x"}' 400 \
		"An error occurred when deserializing the json body of a request: \`destination\`: must be unix:PATH or tcp:HOST:PORT."
	q PUT /migrate '{"destination": "tcp:host.example:1"}' 400 \
		"~^migration to tcp:host.example:1 failed: tcp:host.example:1: HOST must be a numeric"
	q PUT /migrate '{"destination": "unix:x", "downtime_ms": 0, "bogus": 1}' 400
	q PUT /migrate '{"destination": "unix:x", "downtime_ms": 60001}' 400
	send || return 1
	src_pid=$PID src_out=$OUT
	incoming mc-t "unix:$TMP/mc.in" || return 1
	local t_pid=$PID t_out=$OUT
	(cd "$TMP" && "$PETREL_ABS" migrate "$SOCK" unix:mc.in 50 >mc-cli.out 2>mc-cli.err)
	rc=$?
	mapfile -t lines <"$TMP/mc-cli.out"
	[ $rc = 0 ] && [ ${#lines[@]} = 1 ] && [ ! -s "$TMP/mc-cli.err" ] &&
		[[ ${lines[0]} == "migrate: the VM went to unix:$TMP/mc.in in "*" ms (stopped for "* ]] || {
		WHY="petrel migrate: status $rc, stdout '$(oneline "$TMP/mc-cli.out")', stderr '$(oneline "$TMP/mc-cli.err")'"
		return 1
	}
	PID=$src_pid
	wait_exit 30 && check_rc 0 || return 1
	PID=$t_pid OUT=$t_out
	last_count
	wait_out "count $((N + 2))" && stop_petrel && check_rc 143 && joined "$src_out" "$t_out" || return 1
	"$PETREL" migrate "$TMP/nope.sock" unix:x 0 >/dev/null 2>"$TMP/mc-cli.err"
	rc=$?
	[ $rc = 1 ] && [ "$(<"$TMP/mc-cli.err")" = "petrel: migrate: DOWNTIME_MS '0': must be 1..60000" ] ||
		{ WHY="petrel migrate ... 0: status $rc, '$(oneline "$TMP/mc-cli.err")'"; return 1; }
}

# Two network namespaces joined by a veth pair stand for two hosts: the
# source in one, the target listening on TCP in the other.
case_migrate_tcp_netns() {
	local rc
	MIG_NS=""
	migrate_tcp_netns
	rc=$?
	[ -n "$MIG_NS" ] && ip netns del "${MIG_NS}a" && ip netns del "${MIG_NS}b"
	return $rc
}
migrate_tcp_netns() {
	local src_pid src_out ns="petrel-mig$$"
	command -v ip >/dev/null || { WHY="SKIP:ip (iproute2) not installed"; return 1; }
	ip netns add "${ns}a" 2>/dev/null || { WHY="SKIP:cannot create a network namespace (needs root)"; return 1; }
	ip netns add "${ns}b" &&
		ip link add va netns "${ns}a" type veth peer name vb netns "${ns}b" &&
		ip -n "${ns}a" addr add 10.99.0.1/24 dev va && ip -n "${ns}b" addr add 10.99.0.2/24 dev vb &&
		ip -n "${ns}a" link set va up && ip -n "${ns}b" link set vb up &&
		ip -n "${ns}a" link set lo up && ip -n "${ns}b" link set lo up ||
		{ ip netns del "${ns}a"; ip netns del "${ns}b" 2>/dev/null; WHY="SKIP:no veth pair (the kernel has no veth?)"; return 1; }
	MIG_NS=$ns
	WRAPCMD="ip netns exec ${ns}a" start_petrel mt && counting 1 || return 1
	src_pid=$PID src_out=$OUT
	WRAPCMD="ip netns exec ${ns}b" incoming mt-t "tcp:10.99.0.2:7411" || return 1
	local t_pid=$PID t_out=$OUT
	PID=$src_pid
	migrate '{"destination": "tcp:10.99.0.2:7411"}'
	[ "$CODE" = 200 ] || { WHY="PUT /migrate -> $CODE '$RESP'"; return 1; }
	wait_exit 30 && check_rc 0 || return 1
	PID=$t_pid OUT=$t_out
	last_count
	wait_out "count $((N + 3))" && stop_petrel && check_rc 143 && joined "$src_out" "$t_out"
}

KVM_CASES+=" migrate-unix migrate-dirty migrate-target-fails migrate-cli migrate-tcp-netns"
NOKVM_CASES+=" migrate-garbage"
