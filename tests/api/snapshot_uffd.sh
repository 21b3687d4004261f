# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# The Uffd memory backend (sourced by tests/api/run after snapshot.sh, whose
# helpers it uses): the counting guest's snapshot restored with its memory
# served by petrel-pager (the page server built beside petrel), from the
# command line and through PUT /snapshot/load; the count goes on; the
# pager exits when its petrel does; a petrel whose pager is killed stops
# its VM with one line and status 1.

PAGER=$(dirname "$PETREL")/petrel-pager

# pager_start NAME MEMFILE: petrel-pager on $TMP/NAME.pager serving
# MEMFILE, in the background; waits for its socket. Sets PAGER_SOCK,
# PAGER_ERR, PAGER_PID.
pager_start() {
	local n=0
	[ -x "$PAGER" ] || { WHY="no $PAGER (built beside petrel)"; return 1; }
	PAGER_SOCK=$TMP/$1.pager
	PAGER_ERR=$TMP/$1.pager.err
	"$PAGER" "$PAGER_SOCK" "$2" </dev/null >/dev/null 2>"$PAGER_ERR" 7>&- 9>&- &
	PAGER_PID=$!
	until [ -S "$PAGER_SOCK" ]; do
		if ! kill -0 "$PAGER_PID" 2>/dev/null || [ $n -ge 200 ]; then
			WHY="petrel-pager: no socket; stderr: '$(oneline "$PAGER_ERR")'"
			return 1
		fi
		nap 0.05
		n=$((n + 1))
	done
}

# pager_exit SECS: waits for the pager to end; sets PRC (124: still running).
pager_exit() {
	local n=0
	while kill -0 "$PAGER_PID" 2>/dev/null && [ $n -lt $(($1 * 20)) ]; do
		nap 0.05
		n=$((n + 1))
	done
	if kill -0 "$PAGER_PID" 2>/dev/null; then
		kill -KILL "$PAGER_PID"
		wait "$PAGER_PID" 2>/dev/null
		PRC=124
	else
		wait "$PAGER_PID" 2>/dev/null
		PRC=$?
	fi
}

# One snapshot, restored twice through a pager: by `run --restore
# STATE,uffd:SOCKET`, then stopped (the pager exits 0, having copied
# pages); by PUT /snapshot/load in an API petrel (after a load whose
# page server is missing: 400 in one line, the process still fresh),
# whose pager is then killed: the VM stops, status 1, one line.
case_snapshot_uffd() {
	local old lines
	snap_take uf || return 1
	old=$SNAP_OUT
	pager_start uf1 "$TMP/uf.mem" || return 1
	start_bg uf-cli --restore "$TMP/uf.state,uffd:$PAGER_SOCK"
	wait_out "count $((SNAP_N + 5))" && stop_petrel && check_rc 143 &&
		joined "$old" "$OUT" || { WHY="run --restore STATE,uffd:SOCKET: $WHY"; return 1; }
	pager_exit 10
	mapfile -t lines <"$PAGER_ERR"
	[ "$PRC" = 0 ] && [ ${#lines[@]} = 1 ] &&
		[[ ${lines[0]} =~ ^petrel-pager:\ the\ VMM\ went\ away:\ ([1-9][0-9]*)\ pages\ copied,\ [0-9]+\ zero\ pages$ ]] ||
		{ WHY="the pager after its petrel: status $PRC, stderr '$(oneline "$PAGER_ERR")'"; return 1; }

	start_petrel uf-api || return 1
	call PUT /snapshot/load "{\"snapshot_path\": \"$TMP/uf.state\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$TMP/none.pager\"}}" 400 \
		"Load snapshot error: page server '$TMP/none.pager': No such file or directory" &&
		state_is "Not started" || return 1
	pager_start uf2 "$TMP/uf.mem" || return 1
	call PUT /snapshot/load "{\"snapshot_path\": \"$TMP/uf.state\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$PAGER_SOCK\"}, \"resume_vm\": true}" 204 &&
		wait_out "count $((SNAP_N + 5))" || return 1
	kill -KILL "$PAGER_PID"
	pager_exit 5
	wait_exit 30
	mapfile -t lines <"$ERR"
	# (the first line: the refused load's)
	[ "$RC" = 1 ] && [ ${#lines[@]} = 2 ] &&
		[ "${lines[1]}" = "petrel: page server '$PAGER_SOCK' (pid $PAGER_PID) exited: the VM's memory is gone with it; stopping the VM" ] ||
		{ WHY="petrel after its pager was killed: status $RC, stderr '$(oneline "$ERR")'"; return 1; }
	joined "$old" "$OUT"
}

KVM_CASES+=" snapshot-uffd"
