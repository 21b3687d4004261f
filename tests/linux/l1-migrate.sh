# The linux suite's migrate group, sourced by l1-tests.sh (packed in as
# /l1-migrate.sh by tests/linux/run; it uses that script's helpers and the
# snapshot group's snap_end).
#
# The default guest (2 vCPUs, 256 MiB, the ext4 disk: shared, the same
# path for both petrels) at its shell writes a marker to its tmpfs and
# starts a background counter; a second petrel waits with
# `petrel run --incoming unix:...`; PUT /migrate on the first moves the VM:
# the answer is 200 with the downtime, the source exits 0, and the
# target's shell answers a new command, has the marker, its counter went
# on, and it powers off cleanly (status 0).
MD=/tmp/migrate
MIG_CASES='start shell prepare incoming migrate source-exit target-shell target-marker
target-poweroff'
MIG_TOKEN=petrel-mig-$$-$(cut -d. -f1 /proc/uptime)

mc_start() {
    start_petrel --kernel $G/vmlinux --initrd $G/initramfs.cpio --cpus 2 --mem 256M \
        --disk "$MD/ext4.img" --api-sock "$MD/api.sock"
    wait_banner
    [ $rc = 0 ] && return 0
    msg=$reason gone="no banner"
    return 1
}
mc_shell() { ac_shell; }
mc_prepare() {
    ask mark "echo $MIG_TOKEN >/tmp/marker && cat /tmp/marker" || return 1
    [ "$ans" = "$MIG_TOKEN" ] || { msg="writing the marker: '$ans'"; return 1; }
    send 'i=0; while :; do i=$((i+1)); echo $i >/tmp/ticks; sleep 0.2; done &'
    ask tick 'sleep 1; cat /tmp/ticks' || return 1
    mig_ticks=$ans
}
# the target, on its own console FIFO (d switches to it: ask talks to it)
mc_incoming() {
    src_pid=$pid src_d=$d
    d=/tmp/$name-target
    rm -f "$d.in" "$MD/in.sock"
    mkfifo "$d.in"
    exec 5<>"$d.in"
    start_petrel --incoming "unix:$MD/in.sock"
    tgt_pid=$pid
    for _i in $(seq 100); do [ -S "$MD/in.sock" ] && return 0; sleep 0.2; done
    msg="the target has no socket $MD/in.sock ($(tail -n1 "$d.err"))"
    gone="no target"
    return 1
}
mc_migrate() {
    _t=$(now)
    req PUT /migrate "{\"destination\": \"unix:$MD/in.sock\"}"
    result "INFO $name: PUT /migrate answered $code $body after $(since "$_t") s"
    [ "$code" = 200 ] || { msg="PUT /migrate answered $code $body"; gone="not migrated"; return 1; }
}
mc_source_exit() {
    _p=$pid _d=$d
    pid=$src_pid d=$src_d
    wait_exit 30
    echo "===== $name: source petrel stderr"; cat "$d.err"
    pid=$_p d=$_d
    exec 4>&-
    exec 4>&5
    [ "$st" = 0 ] || { msg="the source exited with status $st ($(tail -n1 "$src_d.err"))"; return 1; }
}
mc_target_shell() {
    ask sh "echo target-$MIG_TOKEN" && [ "$ans" = "target-$MIG_TOKEN" ] && return 0
    msg="${msg}the target's shell answered '$ans'" gone="the target's shell does not answer"
    return 1
}
mc_target_marker() {
    ask mark 'cat /tmp/marker' || return 1
    [ "$ans" = "$MIG_TOKEN" ] || { msg="/tmp/marker holds '$ans'"; return 1; }
    ask tick 'sleep 1; cat /tmp/ticks' || return 1
    [ "$ans" -gt "$mig_ticks" ] 2>/dev/null || { msg="the counter says '$ans', it said $mig_ticks before"; return 1; }
}
mc_target_poweroff() {
    send 'poweroff -f'
    wait_exit 60
    [ "$st" = 0 ] || { msg="the target exited with status $st ($(tail -n1 "$d.err"))"; return 1; }
}

migrate_group() {
    name=linux-migrate d=/tmp/linux-migrate gone= pid=
    _g0=$(now)
    if [ ! -f /virtio/ext4.img ]; then
        for c in $MIG_CASES; do result "FAIL $name-$c: no disk image in the test host (see tests/linux/run's build log)"; done
        return
    fi
    AD=$MD
    mkdir -p $MD
    cp /virtio/ext4.img "$MD/ext4.img"
    : >"$d.api"
    mkfifo "$d.in"
    exec 4<>"$d.in"
    for c in $MIG_CASES; do
        api_case "$c" "mc_$(echo "$c" | tr - _)"
    done
    result "INFO $name: the group took $(since "$_g0") s in the test host"
    for f in /tmp/$name*.api; do echo "===== $name: API requests ($f)"; cat "$f"; done
    finish
    [ -n "$src_pid" ] && kill -9 "$src_pid" 2>/dev/null
}
