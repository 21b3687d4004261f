# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Diff snapshot cases of the API suite (sourced by tests/api/run after
# snapshot.sh, whose helpers they use): the counting guest booted with
# track_dirty_pages, a diff of the booted VM (whole: it restores alone), a
# full snapshot, a diff after it (`petrel snapshot --diff`) merged onto the
# full one's memory (`petrel snapshot-merge`) and restored through the API
# with tracking, a diff of that restored VM merged again and restored: each
# restore counts on from the count of the diff it was restored from.

# ds_snap TYPE NAME: pause, PUT /snapshot/create of TYPE into
# $TMP/NAME.{state,mem}, keep the output so far in $TMP/NAME.out-at, resume.
ds_snap() {
	call PATCH /vm '{"state": "Paused"}' 204 &&
		call PUT /snapshot/create "{\"snapshot_type\": \"$1\", \"snapshot_path\": \"$TMP/$2.state\", \"mem_file_path\": \"$TMP/$2.mem\"}" 204 ||
		return 1
	cp "$OUT" "$TMP/$2.out-at"
	call PATCH /vm '{"state": "Resumed"}' 204
}

# ds_merge BASE DIFF: petrel snapshot-merge, one line, status 0.
ds_merge() {
	local rc lines
	"$PETREL" snapshot-merge "$1" "$2" >"$TMP/merge.out" 2>"$TMP/merge.err"
	rc=$?
	mapfile -t lines <"$TMP/merge.out"
	[ $rc = 0 ] && [ ${#lines[@]} = 1 ] && [ ! -s "$TMP/merge.err" ] &&
		[ "${lines[0]}" = "snapshot-merge: '$2' applied onto '$1'" ] && return 0
	WHY="snapshot-merge $1 $2: status $rc, stdout '$(oneline "$TMP/merge.out")', stderr '$(oneline "$TMP/merge.err")'"
	return 1
}

# ds_sparse FILE: 32 MiB long, less than 4 MiB of it stored.
ds_sparse() {
	local size blocks
	size=$(stat -c %s "$1") blocks=$(stat -c %b "$1")
	[ "$size" = $((32 << 20)) ] && [ $((blocks * 512)) -lt $((4 << 20)) ] && return 0
	WHY="$1: $size bytes, $((blocks * 512)) stored: want 32 MiB holding under 4 MiB"
	return 1
}

case_diffsnap_chain() {
	local k n rc lines out0
	k=$(guest count.elf) || { WHY="missing $GDIR/count.elf"; return 1; }
	start_petrel ds || return 1
	boot_source "$k" "tick=$TICK"
	q PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32, "track_dirty_pages": true}' 204
	instance_start
	send && wait_out "count 3" || return 1
	call GET /vm/config - 200 && want_json 'j["machine-config"]["track_dirty_pages"]' true ||
		return 1
	# The booted VM's first diff: its boot's pages and all it wrote since.
	ds_snap Diff ds0 || return 1
	last_count
	wait_out "count $((N + 3))" && ds_snap Full ds1 || return 1
	last_count
	wait_out "count $((N + 3))" && call PATCH /vm '{"state": "Paused"}' 204 || return 1
	# From the shell, the VM paused (so that its output is the diff's).
	"$PETREL" snapshot --diff "$SOCK" "$TMP/ds2.state" "$TMP/ds2.mem" >"$TMP/ds2.cli" 2>&1
	rc=$?
	cp "$OUT" "$TMP/ds2.out-at"
	mapfile -t lines <"$TMP/ds2.cli"
	[ $rc = 0 ] && [ ${#lines[@]} = 1 ] &&
		[[ ${lines[0]} == "snapshot: $TMP/ds2.state and $TMP/ds2.mem, a diff (the VM stayed paused; took "*" ms)" ]] ||
		{ WHY="petrel snapshot --diff: status $rc, '$(oneline "$TMP/ds2.cli")'"; return 1; }
	kill -KILL "$PID"
	wait_exit 10
	ds_sparse "$TMP/ds2.mem" || return 1
	# The booted VM's diff restores alone.
	restore_bg ds0-r "$TMP/ds0"
	out0=$OUT
	OUT=$TMP/ds0.out-at last_count
	OUT=$out0
	wait_out "count $((N + 3))" && stop_petrel && check_rc 143 &&
		joined "$TMP/ds0.out-at" "$OUT" || { WHY="the boot's diff: $WHY"; return 1; }
	# ds2 onto ds1: the VM at ds2, restored through the API with tracking.
	ds_merge "$TMP/ds1.mem" "$TMP/ds2.mem" && start_petrel ds-r || return 1
	call PUT /snapshot/load "{\"snapshot_path\": \"$TMP/ds2.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/ds1.mem\"}, \"track_dirty_pages\": true, \"resume_vm\": true}" 204 ||
		return 1
	out0=$OUT
	OUT=$TMP/ds2.out-at last_count
	OUT=$out0
	n=$N
	wait_out "count $((n + 3))" && joined "$TMP/ds2.out-at" "$OUT" ||
		{ WHY="restored from the merged diff: $WHY"; return 1; }
	# A diff of the restored VM: what changed since its restore.
	ds_snap Diff ds3 || return 1
	kill -KILL "$PID"
	wait_exit 10
	ds_sparse "$TMP/ds3.mem" && ds_merge "$TMP/ds1.mem" "$TMP/ds3.mem" || return 1
	OUT=$TMP/ds3.out-at last_count
	n=$N
	start_bg ds-r2 --restore "$TMP/ds3.state,$TMP/ds1.mem"
	wait_out "count $((n + 3))" && stop_petrel && check_rc 143 &&
		joined "$TMP/ds2.out-at" "$TMP/ds3.out-at" "$OUT" ||
		{ WHY="restored from the second merged diff: $WHY"; return 1; }
}

# Diff without tracking (Firecracker's 400, no file written); the new
# fields' types.
case_diffsnap_rules() {
	start_petrel dsr && counting 1 || return 1
	q PATCH /vm '{"state": "Paused"}' 204
	q PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$TMP/dsr.state\", \"mem_file_path\": \"$TMP/dsr.mem\"}" 400 \
		"Diff snapshots are not allowed on uVMs with dirty page tracking disabled."
	q PATCH /vm '{"state": "Resumed"}' 204
	send || return 1
	local left
	left=$(cd "$TMP" && ls dsr.state* dsr.mem* 2>/dev/null)
	[ -z "$left" ] || { WHY="a refused Diff left: $left"; return 1; }
	call GET /vm/config - 200 && want_json 'j["machine-config"]["track_dirty_pages"]' false
}

case_diffsnap_preboot() {
	start_petrel dsp || return 1
	q PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32, "track_dirty_pages": "yes"}' 400 \
		"~track_dirty_pages.*boolean"
	q PUT /snapshot/create '{"snapshot_type": "Delta", "snapshot_path": "s", "mem_file_path": "m"}' 400 \
		"~snapshot_type"
	q PUT /snapshot/load '{"snapshot_path": "s", "mem_backend": {"backend_type": "File", "backend_path": "m"}, "track_dirty_pages": 1}' 400 \
		"~track_dirty_pages.*boolean"
	q PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32, "track_dirty_pages": true}' 204
	q GET /vm/config - 200
	send && want_json 'j["machine-config"]["track_dirty_pages"]' true
}

NOKVM_CASES+=" diffsnap-preboot"
KVM_CASES+=" diffsnap-chain diffsnap-rules"
