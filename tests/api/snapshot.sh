# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Snapshot cases of the API suite (sourced by tests/api/run, whose helpers
# they use): the counting guest (count.elf) paused, snapshotted through
# PUT /snapshot/create, its petrel killed, and restored in new processes
# (petrel run --restore, PUT /snapshot/load): the joined serial output of
# the old and the new process must count 1, 2, 3, ... once, with no gap and
# no restart. Then clones, a second snapshot of a restored VM, the CLI's
# `petrel snapshot`, Firecracker's rules, and hostile state files.

SNAPEDIT=$HERE/snapedit.py
PETREL_ABS=$(cd "$(dirname "$PETREL")" && pwd)/$(basename "$PETREL")

# snap_take NAME [VCPUS [ARGS]]: the counting guest started through the
# API on NAME.sock (its command line ARGS; with SNAP_DEVICES=1 also a
# disk, an entropy device and vsock on NAME.vsock), paused after its third line, snapshotted into $TMP/NAME.state
# and $TMP/NAME.mem, and its petrel killed (SIGKILL: nothing of it is
# left to help). Sets SNAP_OUT (its serial output) and SNAP_N (its last
# complete count).
snap_take() {
	local name=$1
	start_petrel "$name" || return 1
	if [ "${SNAP_DEVICES:-0}" = 1 ]; then
		: >"$TMP/$name.img" || { WHY="scratch file failed"; return 1; }
		drive d1 "$TMP/$name.img"
		q PUT /entropy '{}' 204
		q PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/$name.vsock\"}" 204
	fi
	counting "${2:-1}" "${3-}" || return 1
	call PATCH /vm '{"state": "Paused"}' 204 &&
		call PUT /snapshot/create "{\"snapshot_path\": \"$TMP/$name.state\", \"mem_file_path\": \"$TMP/$name.mem\"}" 204 ||
		return 1
	kill -KILL "$PID"
	wait_exit 10
	SNAP_OUT=$OUT
	last_count
	SNAP_N=$N
	[ -s "$TMP/$name.state" ] && [ -f "$TMP/$name.mem" ] && return 0
	WHY="PUT /snapshot/create answered 204 but left no files"
	return 1
}

# joined FILE...: the serial outputs one after the other count 1, 2, ...
# with no gap, and the guest started once (counts_contiguous on them);
# LAST is the last count.
joined() {
	local saved=$OUT rc
	cat "$@" >"$TMP/joined.out"
	OUT=$TMP/joined.out
	counts_contiguous
	rc=$?
	OUT=$saved
	return $rc
}

# restore_bg NAME STATE_BASE [ARGS]: petrel run --restore BASE.state,BASE.mem
restore_bg() {
	local name=$1 base=$2
	shift 2
	start_bg "$name" --restore "$base.state,$base.mem" "$@"
}

# The snapshot taken, the process gone, a new one goes on from the count
# after the last, never from 1; its console output continues the old one.
case_snapshot_restore() {
	local old
	snap_take sr || return 1
	old=$SNAP_OUT
	restore_bg sr-new "$TMP/sr"
	wait_out "count $((SNAP_N + 5))" && stop_petrel && check_rc 143 || return 1
	joined "$old" "$OUT" || return 1
	[ "$LAST" -ge $((SNAP_N + 5)) ] && return 0
	WHY="restored at count $SNAP_N, ended at $LAST"
	return 1
}

# Two clones of one snapshot of two vCPUs (the second spinning at CPL0),
# at once: both count on from it (the memory file is mapped private by
# each: neither sees the other's writes).
case_snapshot_clones() {
	local old pa pb oa ob
	snap_take cl 2 busy=1 || return 1
	old=$SNAP_OUT
	restore_bg cl-a "$TMP/cl"
	pa=$PID oa=$OUT
	restore_bg cl-b "$TMP/cl"
	pb=$PID ob=$OUT
	PID=$pa OUT=$oa
	wait_out "count $((SNAP_N + 4))" || { WHY="clone a: $WHY"; return 1; }
	PID=$pb OUT=$ob
	wait_out "count $((SNAP_N + 4))" || { WHY="clone b: $WHY"; return 1; }
	PID=$pa OUT=$oa
	stop_petrel && check_rc 143 && joined "$old" "$oa" || { WHY="clone a: $WHY"; return 1; }
	PID=$pb OUT=$ob
	stop_petrel && check_rc 143 && joined "$old" "$ob" || { WHY="clone b: $WHY"; return 1; }
}

# genid_wait NOTIFIED [NOT_ID]: until $OUT has a complete line
# "vmgenid ID notified NOTIFIED" (vmgenid.elf) whose ID is not NOT_ID; the
# ID in GENID.
genid_wait() {
	local n=0 l re="^vmgenid ([0-9a-f]{32}) notified $1\$"
	while :; do
		complete_lines
		for l in "${LINES[@]}"; do
			[[ $l =~ $re ]] && [ "${BASH_REMATCH[1]}" != "${2-}" ] &&
				{ GENID=${BASH_REMATCH[1]}; return 0; }
		done
		if [ $n -ge 1200 ] || ! kill -0 "$PID" 2>/dev/null; then
			WHY="no line 'vmgenid <new ID> notified $1' within 60 s; got: '$(oneline "$OUT" 200)'; stderr: '$(oneline "$ERR" 200)'"
			return 1
		fi
		nap 0.05
		n=$((n + 1))
	done
}

# Clones are not the same machine: the guest that shows the VM generation
# ID (vmgenid.elf) snapshotted and restored twice at once; each clone has
# an ID unlike the original's and the other's, and the Generic Event
# Device's interrupt came with it: the clone never shows "notified 0",
# so it was pending before the guest's first instruction.
case_snapshot_vmgenid() {
	local k orig a b pa pb oa ob
	k=$(guest vmgenid.elf) || { WHY="missing $GDIR/vmgenid.elf"; return 1; }
	start_petrel vg || return 1
	boot_source "$k"
	machine 1 32
	instance_start
	send && genid_wait 0 || return 1
	orig=$GENID
	call PATCH /vm '{"state": "Paused"}' 204 &&
		call PUT /snapshot/create "{\"snapshot_path\": \"$TMP/vg.state\", \"mem_file_path\": \"$TMP/vg.mem\"}" 204 ||
		return 1
	kill -KILL "$PID"
	wait_exit 10
	restore_bg vg-a "$TMP/vg"
	pa=$PID oa=$OUT
	restore_bg vg-b "$TMP/vg"
	pb=$PID ob=$OUT
	PID=$pa OUT=$oa
	genid_wait 1 "$orig" || { WHY="clone a: $WHY"; return 1; }
	a=$GENID
	PID=$pb OUT=$ob
	genid_wait 1 "$orig" || { WHY="clone b: $WHY"; return 1; }
	b=$GENID
	PID=$pa OUT=$oa
	stop_petrel && check_rc 143 || { WHY="clone a: $WHY"; return 1; }
	PID=$pb OUT=$ob
	stop_petrel && check_rc 143 || { WHY="clone b: $WHY"; return 1; }
	[ "$a" != "$b" ] || { WHY="both clones have the ID $a"; return 1; }
	if grep -q "notified 0" "$oa" "$ob"; then
		WHY="a clone ran before the generation ID's interrupt: '$(oneline "$oa")' / '$(oneline "$ob")'"
		return 1
	fi
}

# A restored VM with devices (a disk, entropy, vsock given another
# socket by vsock_override), loaded through the API and left paused, is
# resumed, paused and snapshotted again over the very files it was
# restored from (which it still maps: the new files replace the names, not
# the inodes), goes on running, and the second snapshot restores in a
# third process.
case_snapshot_again() {
	local o1 o2 n2 size p
	SNAP_DEVICES=1 snap_take ag || return 1
	o1=$SNAP_OUT
	start_petrel ag2 || return 1
	call PUT /snapshot/load "{\"snapshot_path\": \"$TMP/ag.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/ag.mem\"}, \"vsock_override\": {\"uds_path\": \"$TMP/ag2.vsock\"}}" 204 &&
		state_is Paused && fd_open "$TMP/ag.img" || return 1
	p=$(unix_paths)
	[[ $p == *"$TMP/ag2.vsock"* && $p != *"$TMP/ag.vsock"* ]] ||
		{ WHY="vsock_override: the restored petrel listens on '${p//$'\n'/ }'"; return 1; }
	call GET /vm/config - 200 && want_json 'j["vsock"]["uds_path"]' "$TMP/ag2.vsock" \
		'j["drives"][0]["path_on_host"]' "$TMP/ag.img" 'j["entropy"] is not None' true || return 1
	nap 1
	[ ! -s "$OUT" ] || { WHY="the loaded VM printed while paused: '$(oneline "$OUT")'"; return 1; }
	call PATCH /vm '{"state": "Resumed"}' 204 && wait_out "count $((SNAP_N + 3))" &&
		call PATCH /vm '{"state": "Paused"}' 204 || return 1
	call PUT /snapshot/create "{\"snapshot_path\": \"$TMP/ag.state\", \"mem_file_path\": \"$TMP/ag.mem\"}" 204 || return 1
	cp "$OUT" "$TMP/ag2-at-snap.out"
	o2=$OUT
	last_count
	n2=$N
	# Still runs on the replaced files.
	call PATCH /vm '{"state": "Resumed"}' 204 && wait_out "count $((n2 + 3))" || return 1
	call GET /metrics - 200 || return 1
	[[ $RESP == *'petrel_latencies_us_load_snapshot'* ]] ||
		{ WHY="GET /metrics has no latencies_us load_snapshot"; return 1; }
	stop_petrel && check_rc 143 && joined "$o1" "$o2" || return 1
	size=$(stat -c %s "$TMP/ag.mem")
	[ "$size" = $((32 << 20)) ] || { WHY="the second memory file has $size bytes"; return 1; }
	restore_bg ag3 "$TMP/ag"
	wait_out "count $((n2 + 4))" && stop_petrel && check_rc 143 &&
		joined "$o1" "$TMP/ag2-at-snap.out" "$OUT"
}

# `petrel snapshot SOCK STATE MEM` from the shell, relative paths: one
# line, the VM paused for it and running again; a paused VM stays paused;
# `run --restore ... --restore-paused` waits for PATCH /vm.
case_snapshot_cli() {
	local rc lines first n
	start_petrel cli && counting 1 || return 1
	(cd "$TMP" && "$PETREL_ABS" snapshot "$SOCK" cli.state cli.mem >cli-snap.out 2>cli-snap.err)
	rc=$?
	mapfile -t lines <"$TMP/cli-snap.out"
	[ $rc = 0 ] && [ ${#lines[@]} = 1 ] && [ ! -s "$TMP/cli-snap.err" ] || {
		WHY="petrel snapshot: status $rc, stdout '$(oneline "$TMP/cli-snap.out")', stderr '$(oneline "$TMP/cli-snap.err")'"
		return 1
	}
	[[ ${lines[0]} == "snapshot: $TMP/cli.state and $TMP/cli.mem (the VM paused for "*" ms)" ]] ||
		{ WHY="petrel snapshot said '${lines[0]}'"; return 1; }
	state_is Running || return 1
	last_count
	wait_out "count $((N + 2))" || return 1
	call PATCH /vm '{"state": "Paused"}' 204 || return 1
	"$PETREL" snapshot "$SOCK" "$TMP/cli2.state" "$TMP/cli2.mem" >/dev/null 2>"$TMP/cli-snap.err" &&
		state_is Paused || { WHY="on a paused VM: $WHY $(oneline "$TMP/cli-snap.err")"; return 1; }
	stop_petrel && check_rc 143 || return 1
	start_petrel cli-r --restore "$TMP/cli.state,$TMP/cli.mem" --restore-paused &&
		state_is Paused || return 1
	nap 1
	[ ! -s "$OUT" ] || { WHY="--restore-paused printed: '$(oneline "$OUT")'"; return 1; }
	call PATCH /vm '{"state": "Resumed"}' 204 || return 1
	# It went on from the snapshot: the second line after the resume (the
	# first may be the end of one cut by the pause) is no restart.
	for ((n = 0; n < 600; n++)); do
		complete_lines
		[ ${#LINES[@]} -ge 3 ] && break
		nap 0.1
	done
	first=${LINES[1]-}
	[[ $first =~ ^count\ ([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -ge 4 ] &&
		[[ $(<"$OUT") != *"count: tick"* ]] ||
		{ WHY="restored output starts '$(oneline "$OUT" 60)'"; return 1; }
	"$PETREL" snapshot "$TMP/nope.sock" a b >"$TMP/cli-snap.out" 2>"$TMP/cli-snap.err"
	rc=$?
	mapfile -t lines <"$TMP/cli-snap.err"
	[ $rc = 1 ] && [ ${#lines[@]} = 1 ] && [ ! -s "$TMP/cli-snap.out" ] &&
		[[ ${lines[0]} == "petrel: snapshot: API socket '$TMP/nope.sock': "* ]] && return 0
	WHY="petrel snapshot with no server: status $rc, stderr '$(oneline "$TMP/cli-snap.err")'"
	return 1
}

# Firecracker's rules once a VM runs, and a create that cannot write.
case_snapshot_rules() {
	start_petrel rules && counting 1 || return 1
	q PUT /snapshot/create "{\"snapshot_path\": \"$TMP/r.state\", \"mem_file_path\": \"$TMP/r.mem\"}" 400 \
		"Create snapshot error: Cannot save the microVM state: Operation not allowed: save/restore unavailable while running"
	q PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$TMP/r.state\", \"mem_file_path\": \"$TMP/r.mem\"}" 400 \
		"Diff snapshots are not allowed on uVMs with dirty page tracking disabled."
	q PUT /snapshot/load "{\"snapshot_path\": \"$TMP/r.state\", \"mem_file_path\": \"$TMP/r.mem\"}" 400 "$POSTBOOT"
	q PATCH /vm '{"state": "Paused"}' 204
	q PUT /snapshot/create "{\"snapshot_path\": \"$TMP/r.state\", \"mem_file_path\": \"$TMP/nodir/r.mem\"}" 400 \
		"~^Create snapshot error: memory file '$TMP/nodir/r.mem': No such file or directory$"
	q PUT /snapshot/create "{\"snapshot_path\": \"$TMP/nodir/r.state\", \"mem_file_path\": \"$TMP/r.mem\"}" 400 \
		"~^Create snapshot error: snapshot '$TMP/nodir/r.state': No such file or directory$"
	q PATCH /vm '{"state": "Resumed"}' 204
	send || return 1
	# Nothing left behind by the failed ones, and the VM runs on.
	local left
	left=$(cd "$TMP" && ls r.* r.state.* r.mem.* 2>/dev/null)
	[ -z "$left" ] || { WHY="a failed create left: $left"; return 1; }
	last_count
	wait_out "count $((N + 2))" && stop_petrel && check_rc 143
}

# Before a boot (no KVM needed): create is post-boot only; a load comes
# only in a fresh process; a refused load leaves it fresh.
case_snapshot_preboot() {
	start_petrel snap-pre || return 1
	q PUT /snapshot/create '{"snapshot_path": "s", "mem_file_path": "m"}' 400 "$PREBOOT"
	q PUT /snapshot/load "{\"snapshot_path\": \"$TMP/none.state\", \"mem_file_path\": \"$TMP/none.mem\"}" 400 \
		"Load snapshot error: snapshot '$TMP/none.state': No such file or directory"
	q PUT /snapshot/load '{"snapshot_path": "s", "mem_backend": {"backend_type": "Uffd", "backend_path": "u"}}' 400 \
		"Load snapshot error: snapshot 's': No such file or directory"
	q PUT /snapshot/load '{"snapshot_path": "s"}' 400 \
		"An error occurred when deserializing the json body of a request: missing field: either \`mem_backend\` or \`mem_file_path\` is required."
	q GET / - 200
	send && resp_has '"Not started"' || return 1
	q PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}' 204
	q PUT /snapshot/load "{\"snapshot_path\": \"$TMP/none.state\", \"mem_file_path\": \"$TMP/none.mem\"}" 400 \
		"Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources."
	send
}

# Hostile state and memory files: each refused in one line, status 1,
# nothing on stdout, no crash; the last five only once the VM is built (its
# teardown after a half load): a section unknown, a vCPU's cut short, a
# device's missing, at a layout version this petrel does not read, cut
# short.
case_snapshot_hostile() {
	local s=$TMP/ho t lines name state mem want
	need_python || return 1
	snap_take ho || return 1
	head -c 100 "$s.state" >"$TMP/ho-cut.state"
	cp "$s.mem" "$TMP/ho-short.mem" && truncate -s -4096 "$TMP/ho-short.mem" &&
		"$PY" "$SNAPEDIT" "$s.state" "$TMP/ho-cpus.state" set-vm-cpus 2 &&
		"$PY" "$SNAPEDIT" "$s.state" "$TMP/ho-extra.state" add-section bogus &&
		"$PY" "$SNAPEDIT" "$s.state" "$TMP/ho-vcpu.state" cut-section vcpu.0 300 &&
		"$PY" "$SNAPEDIT" "$s.state" "$TMP/ho-nouart.state" drop-section uart &&
		"$PY" "$SNAPEDIT" "$s.state" "$TMP/ho-uartv.state" set-version uart 99 &&
		"$PY" "$SNAPEDIT" "$s.state" "$TMP/ho-ioapic.state" cut-section ioapic 7 ||
		{ WHY="making the hostile files failed"; return 1; }
	for t in "cut|$TMP/ho-cut.state|$s.mem|petrel: snapshot '$TMP/ho-cut.state': *" \
		"short|$s.state|$TMP/ho-short.mem|petrel: memory file '$TMP/ho-short.mem': $(((32 << 20) - 4096)) bytes, but the snapshot's VM has 32 MiB of RAM" \
		"cpus|$TMP/ho-cpus.state|$s.mem|petrel: snapshot '$TMP/ho-cpus.state': section 'vm': 2 vCPUs, but the configuration has 1" \
		"extra|$TMP/ho-extra.state|$s.mem|petrel: snapshot '$TMP/ho-extra.state': unknown section 'bogus'" \
		"vcpu|$TMP/ho-vcpu.state|$s.mem|petrel: snapshot '$TMP/ho-vcpu.state': section 'vcpu.0': truncated *" \
		"nouart|$TMP/ho-nouart.state|$s.mem|petrel: snapshot '$TMP/ho-nouart.state': section 'uart' missing" \
		"uartv|$TMP/ho-uartv.state|$s.mem|petrel: snapshot '$TMP/ho-uartv.state': section 'uart': layout version 99, this petrel reads *" \
		"ioapic|$TMP/ho-ioapic.state|$s.mem|petrel: snapshot '$TMP/ho-ioapic.state': section 'ioapic': truncated *"; do
		IFS='|' read -r name state mem want <<<"$t"
		start_bg "ho-$name" --restore "$state,$mem"
		wait_exit 60
		mapfile -t lines <"$ERR"
		# shellcheck disable=SC2053 # $want is a pattern
		[ "$RC" = 1 ] && [ ${#lines[@]} = 1 ] && [[ ${lines[0]} == $want ]] && [ ! -s "$OUT" ] || {
			WHY="$name: status $RC, stderr '$(oneline "$ERR")', stdout '$(oneline "$OUT" 80)', want '$want'"
			return 1
		}
	done
}

NOKVM_CASES+=" snapshot-preboot"
KVM_CASES+=" snapshot-restore snapshot-clones snapshot-vmgenid snapshot-again snapshot-cli snapshot-rules
snapshot-hostile"
