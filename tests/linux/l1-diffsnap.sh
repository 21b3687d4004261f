# The linux suite's diffsnap group, sourced by l1-tests.sh (packed in as
# /l1-diffsnap.sh by tests/linux/run; it uses that script's helpers and
# l1-snapshot.sh's: req, ask, api_case, start_petrel, wait_banner, finish,
# snap_end, snap_wait_api).
#
# Diff snapshots catch what the devices write, not only the vCPUs: the
# default guest, booted through the API with track_dirty_pages and a raw
# disk of 4 MiB of random bytes it has never read, is snapshotted (Full);
# it then reads the whole disk (virtio-blk writes it into the guest's page
# cache: pages no vCPU wrote) and is snapshotted again (Diff), and its
# petrel killed. The diff is merged onto the full snapshot's memory file
# (petrel snapshot-merge) and the VM restored from the diff's state file:
# the shell answers, and the disk read again from the page cache (not
# dropped) has the bytes of the image file; a diff that missed the
# device's writes would give back the full snapshot's stale pages.
DD=/tmp/diffsnap
DIFF_CASES='start shell full read diff kill merge restore restored-shell restored-data
restored-ctrl-alt-del'

ds_start() {
    start_petrel --api-sock "$DD/api.sock"
    for _i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        [ -S "$DD/api.sock" ] && break
        sleep 0.5
    done
    req_204 PUT /boot-source "{\"kernel_image_path\": \"$G/vmlinux\", \"initrd_path\": \"$G/initramfs.cpio\"}"
    req_204 PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256, "track_dirty_pages": true}'
    req_204 PUT /drives/raw "{\"drive_id\": \"raw\", \"path_on_host\": \"$DD/raw.img\", \"is_root_device\": false, \"is_read_only\": true}"
    req_204 PUT /actions '{"action_type": "InstanceStart"}' || { gone="InstanceStart failed: $msg"; return 1; }
    wait_banner
    [ $rc = 0 ] && return 0
    msg=$reason gone="no banner"
    return 1
}
ds_shell() { ac_shell; }
# ds_snap TYPE FILE: pause, create, resume (unless TYPE is Diff: the
# kill comes next)
ds_snap() {
    req_204 PATCH /vm '{"state": "Paused"}' || return 1
    _t=$(now)
    req_204 PUT /snapshot/create "{\"snapshot_type\": \"$1\", \"snapshot_path\": \"$DD/$2.state\", \"mem_file_path\": \"$DD/$2.mem\"}" ||
        { gone="no $1 snapshot"; return 1; }
    result "INFO $name: $1 snapshot in $(since "$_t") s; its memory file $(du -k "$DD/$2.mem" | cut -f1) KiB on disk"
    [ "$1" = Diff ] || req_204 PATCH /vm '{"state": "Resumed"}'
}
ds_full() { ds_snap Full full; }
ds_read() {
    ask rd 'md5sum </dev/vda | cut -c1-32' || return 1
    [ "$ans" = "$raw_md5" ] && return 0
    msg="the guest read md5 '$ans' from its disk, the image has $raw_md5"
    return 1
}
ds_diff() { ds_snap Diff diff; }
# SIGKILL: nothing of this petrel helps the restore
ds_kill() {
    _p=$pid
    [ "$(cat /proc/$pid/comm 2>/dev/null)" = petrel ] ||
        _p=$(awk -v pp="$pid" '$4 == pp && $2 == "(petrel)" { print $1 }' /proc/[0-9]*/stat 2>/dev/null | head -n1)
    [ -n "$_p" ] || { msg="no petrel process under $pid"; return 1; }
    kill -9 "$_p"
    wait_exit 10
    snap_end
}
ds_merge() {
    _o=$(petrel snapshot-merge "$DD/full.mem" "$DD/diff.mem" 2>&1) && return 0
    msg="petrel snapshot-merge: $_o" gone="no merged memory"
    return 1
}
ds_restore() {
    d=/tmp/$name-restored
    rm -f "$d.in"
    mkfifo "$d.in"
    exec 4<>"$d.in"
    : >"$d.api"
    start_petrel --restore "$DD/diff.state,$DD/full.mem" --api-sock "$DD/api.sock"
    snap_wait_api
}
ds_restored_shell() {
    ask sh 'echo restored-diff' && [ "$ans" = restored-diff ] && return 0
    msg="${msg}the restored shell answered '$ans'" gone="the restored shell does not answer"
    return 1
}
# from the page cache the device filled before the diff: no drop_caches
ds_restored_data() {
    ask rd2 'md5sum </dev/vda | cut -c1-32' || return 1
    [ "$ans" = "$raw_md5" ] && return 0
    msg="the restored guest's page cache of its disk has md5 '$ans', the image $raw_md5"
    return 1
}
ds_restored_ctrl_alt_del() {
    ac_ctrl_alt_del || return 1
    snap_end
}

diffsnap_group() {
    name=linux-diffsnap d=/tmp/linux-diffsnap gone= pid=
    _g0=$(now)
    AD=$DD
    mkdir -p $DD
    dd if=/dev/urandom of="$DD/raw.img" bs=1M count=4 2>/dev/null
    raw_md5=$(md5sum <"$DD/raw.img" | cut -c1-32)
    : >"$d.api"
    mkfifo "$d.in"
    exec 4<>"$d.in"
    for c in $DIFF_CASES; do
        api_case "$c" "ds_$(echo "$c" | tr - _)"
    done
    result "INFO $name: the group took $(since "$_g0") s in the test host"
    for f in /tmp/$name*.api; do echo "===== $name: API requests ($f)"; cat "$f"; done
    snap_end
}
