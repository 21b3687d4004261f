# The linux suite's snapshot group, sourced by l1-tests.sh (packed in as
# /l1-snapshot.sh by tests/linux/run; it uses that script's helpers: the
# api group's req, ask and api_case, start_petrel, wait_exit, finish).
#
# The default guest at its shell, with an ext4 disk (/virtio/ext4.img), a
# network interface on tap0 and vsock: a marker file is written to the
# disk and synced, the guest's network is set up, an echo listens on its
# vsock port 1234 and its uptime is read; then PATCH /vm Paused and
# PUT /snapshot/create (Full), and petrel is killed (SIGKILL). A new petrel
# restores it with `petrel run --restore STATE,MEM --api-sock` (the same
# tap, the same vsock and API socket paths, whose stale socket files the
# killed one left behind), and the restored guest must: answer a new
# command, read the marker back from the device, take a new vsock
# connection on the listener it had, ping and be pinged, have an uptime
# that went on from the snapshot's (not less, and not more than the test
# host's time in between), and power off cleanly on SendCtrlAltDel. Then
# two clones, one after the other, restored from the same files (the disk
# image put back as it was at the snapshot first: disks are not in
# snapshots, README), each answer the shell and power off cleanly.
# The VM generation ID: before the snapshot the guest's vmgenid driver is
# bound to \_SB.VGEN and the GED driver to \_SB.GED_, no GED interrupt yet;
# the restored VM and each clone read a new ID at 0xff000 (busybox devmem),
# unlike the snapshot's and each other's, took exactly one GED interrupt,
# and (if the guest's RNG was ready at the snapshot) logged Linux's "crng
# reseeded due to virtual machine fork"; the two clones' first 64 bytes of
# /dev/urandom differ.
SD=/tmp/snapshot
SNAP_CASES='start shell vmgenid prepare uptime pause create kill restore restored-shell
restored-vmgenid restored-uptime restored-vsock restored-disk restored-net-ping
restored-ctrl-alt-del clone1 clone2 clones-differ'
SNAP_TOKEN=petrel-snap-$$-$(cut -d. -f1 /proc/uptime)

# snap_size FILE: its size in bytes (not read: the memory file is sparse)
snap_size() { ls -ln "$1" 2>/dev/null | awk '{ print $5 }'; }

# snap_end: petrel's logs to the console (finish), once per process
snap_end() {
    [ -n "$pid" ] || return 0
    finish
    pid=
}

# snap_wait_api: the API socket answers GET / with state Running within
# 20 s (the stale socket file of a killed petrel is there before the new
# one binds it again)
snap_wait_api() {
    _until=$(( $(cut -d. -f1 /proc/uptime) + 20 ))
    while kill -0 "$pid" 2>/dev/null; do
        req GET /
        case $json in *'"state":"Running"'*) return 0 ;; esac
        [ "$(cut -d. -f1 /proc/uptime)" -lt "$_until" ] || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        msg="${msg}GET / answered '$code $body' 20 s after the restore, want state Running"
    else
        wait "$pid"
        msg="${msg}the restoring petrel exited with status $? ($(grep -v unhandled "$d.err" | tail -n1))"
        gone=$msg
    fi
    return 1
}

# snap_restore NAME: a new petrel from the snapshot's files on a fresh
# console FIFO, output in /tmp/NAME.*
snap_restore() {
    snap_end
    d=/tmp/$1
    rm -f "$d.in"
    mkfifo "$d.in"
    exec 4<>"$d.in"
    : >"$d.api"
    start_petrel --restore "$SD/vm.state,$SD/vm.mem" --api-sock "$SD/api.sock"
    _r0=$(now)
    snap_wait_api || return 1
    result "INFO $name: $1 running $(since "$_r0") s after petrel started"
}

sc_start() {
    start_petrel --kernel $G/vmlinux --initrd $G/initramfs.cpio --cpus 2 --mem 256M \
        --disk "$SD/ext4.img" --net tap=tap0,mac=52:54:00:12:34:56 \
        --vsock "cid=3,uds=$SD/vsock" --api-sock "$SD/api.sock"
    wait_banner
    [ $rc = 0 ] && return 0
    msg=$reason gone="no banner"
    return 1
}
sc_shell() { ac_shell; }
# vg_read: the guest's VM generation ID (16 bytes at 0xff000, through
# /dev/mem) in vg_id, its GED interrupts (ACPI:Ged in /proc/interrupts,
# summed over the CPUs) in vg_irqs, and how often it logged the reseed in
# vg_reseeds
vg_read() {
    ask vgid 'echo $(devmem 0xff000 64) $(devmem 0xff008 64)' || return 1
    vg_id=$ans
    case $vg_id in 0x[0-9A-Fa-f]*' '0x[0-9A-Fa-f]*) ;; *) msg="devmem read the ID as '$vg_id'"; return 1 ;; esac
    ask vgirq 'grep ACPI:Ged /proc/interrupts' || return 1
    vg_irqs=$(echo "$ans" | awk '{ for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }')
    [ -n "$ans" ] || { msg="no ACPI:Ged line in /proc/interrupts"; return 1; }
    ask vgrs 'dmesg | grep -c "crng reseeded due to virtual machine fork"' || return 1
    vg_reseeds=$ans
}
# vg_check WHO: after a restore, the ID is new (not the snapshot's, not in
# $vg_seen), exactly one GED interrupt came, and the RNG was reseeded if it
# was ready at the snapshot
vg_check() {
    vg_read || return 1
    result "INFO $name: $1's VM generation ID $vg_id (the snapshot's $vg_id0), $vg_irqs GED interrupt(s), $vg_reseeds reseed line(s)"
    [ "$vg_id" != "$vg_id0" ] || { msg="$1 has the snapshot's generation ID $vg_id"; return 1; }
    case " $vg_seen " in *" $vg_id "*) msg="$1 has an earlier restore's generation ID $vg_id"; return 1 ;; esac
    vg_seen="$vg_seen $vg_id"
    [ "$vg_irqs" = 1 ] || { msg="$1 took $vg_irqs GED interrupts, want 1"; return 1; }
    [ "$vg_ready" = 0 ] || [ "$vg_reseeds" = 1 ] ||
        { msg="$1's RNG was ready at the snapshot but dmesg has $vg_reseeds 'crng reseeded due to virtual machine fork' lines, want 1"; return 1; }
}
# the drivers bound to petrel's ACPI devices; the boot's ID, no GED
# interrupt yet; whether the RNG is ready (its reseed is logged only then)
sc_vmgenid() {
    ask vgdrv 'cat /sys/bus/acpi/drivers/vmgenid/*/path' || return 1
    [ "$ans" = '\_SB_.VGEN' ] || { msg="the vmgenid driver is bound to '$ans', want \\_SB_.VGEN"; return 1; }
    ask geddrv 'cat /sys/bus/platform/drivers/acpi-ged/*/firmware_node/path' || return 1
    [ "$ans" = '\_SB_.GED_' ] || { msg="the acpi-ged driver is bound to '$ans', want \\_SB_.GED_"; return 1; }
    vg_read || return 1
    vg_id0=$vg_id vg_seen=
    [ "$vg_irqs" = 0 ] || { msg="$vg_irqs GED interrupts before any restore"; return 1; }
    [ "$vg_id" != '0x0000000000000000 0x0000000000000000' ] || { msg="the generation ID is zero"; return 1; }
    ask crng 'dmesg | grep -c "crng init done"' || return 1
    vg_ready=1
    [ "$ans" = 0 ] && vg_ready=0
    result "INFO $name: VM generation ID $vg_id0 at boot; the guest's RNG ready: $vg_ready"
}
# The marker is written and synced, and so reaches the image file; the
# guest's network is up (it reaches the test host); the guest's vsock
# echo listens (SOCKT_TIMEOUT: it must outlive the snapshot and restore).
sc_prepare() {
    ask mnt "mkdir -p /mnt/d && mount -t ext4 /dev/vda /mnt/d && echo $SNAP_TOKEN >/mnt/d/marker && sync && cat /mnt/d/marker" || return 1
    [ "$ans" = "$SNAP_TOKEN" ] || { msg="writing the marker: '$ans'"; return 1; }
    grep -q "$SNAP_TOKEN" "$SD/ext4.img" || { msg="the synced marker is not in the image file"; return 1; }
    ask net 'ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0 && ping -c 1 -w 15 10.0.2.1 2>&1 | grep -o "[0-9]* packets received"' || return 1
    [ "$ans" = '1 packets received' ] || { msg="the guest's ping of 10.0.2.1: '$ans'"; return 1; }
    send 'SOCKT_TIMEOUT=600 sockt echo vsock:any:1234 >/tmp/v 2>&1 &'
    ask vlisten 'for i in 1 2 3 4 5 6 7 8 9 10; do grep -q listening /tmp/v && break; sleep 0.5; done; head -n1 /tmp/v' || return 1
    [ "$ans" = listening ] || { msg="the guest's vsock echo: '$ans'"; return 1; }
}
# the guest's uptime just before the pause, read after host time up_h0
sc_uptime() {
    up_h0=$(now)
    ask up 'cut -d" " -f1 /proc/uptime' || return 1
    up_g0=$ans
    case $up_g0 in [0-9]*.[0-9]*) return 0 ;; esac
    msg="/proc/uptime says '$up_g0'"
    return 1
}
sc_pause() {
    req_204 PATCH /vm '{"state": "Paused"}' || return 1
    api_state Paused
}
# both files there; the memory file is guest RAM (256 MiB) byte for byte
sc_create() {
    _t=$(now)
    req_204 PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$SD/vm.state\", \"mem_file_path\": \"$SD/vm.mem\"}" ||
        { gone="no snapshot"; return 1; }
    result "INFO $name: snapshot created in $(since "$_t") s (request and answer included); state file $(snap_size "$SD/vm.state") bytes, memory file $(du -k "$SD/vm.mem" | cut -f1) KiB on disk"
    [ -s "$SD/vm.state" ] || { msg="no state file"; gone="no snapshot"; return 1; }
    [ "$(snap_size "$SD/vm.mem")" = 268435456 ] ||
        { msg="the memory file has '$(snap_size "$SD/vm.mem")' bytes, want 268435456"; gone="no snapshot"; return 1; }
}
# SIGKILL: petrel ends at once (status 137), having said nothing of a
# power-off. The disk image as it is now (paused: nothing written since the
# snapshot) is kept for the clones.
sc_kill() {
    _p=$pid
    [ "$(cat /proc/$pid/comm 2>/dev/null)" = petrel ] ||
        _p=$(awk -v pp="$pid" '$4 == pp && $2 == "(petrel)" { print $1 }' /proc/[0-9]*/stat 2>/dev/null | head -n1)
    [ -n "$_p" ] || { msg="no petrel process under $pid"; return 1; }
    kill -9 "$_p"
    wait_exit 10
    msg="petrel's status $st after SIGKILL, want 137 ($(tail -n1 "$d.err"))"
    [ "$st" = 137 ] && ! grep -q 'powered off' "$d.err" && msg=
    snap_end
    cp "$SD/ext4.img" "$SD/ext4-at-snapshot.img"
    [ -z "$msg" ]
}
sc_restore() { snap_restore "$name-restored"; }
sc_restored_vmgenid() { vg_check restored; }
sc_restored_shell() {
    ask sh "echo restored-$SNAP_TOKEN" && [ "$ans" = "restored-$SNAP_TOKEN" ] && return 0
    msg="${msg}the restored shell answered '$ans'" gone="the restored shell does not answer"
    return 1
}
# Not reset, and not ahead: the guest's uptime went on from the value read
# before the snapshot, by no more than the test host's time between the
# two reads (kvm-clock stood still from the pause to the restore).
sc_restored_uptime() {
    ask up 'cut -d" " -f1 /proc/uptime' || return 1
    up_g1=$ans up_h1=$(now)
    _v=$(awk -v g0="$up_g0" -v g1="$up_g1" -v h0="$up_h0" -v h1="$up_h1" \
        'BEGIN { printf "guest uptime %.2f s before the snapshot, %.2f s after the restore (+%.2f s); test host +%.2f s %s",
                 g0, g1, g1 - g0, h1 - h0, (g1 >= g0 && g1 - g0 <= h1 - h0 + 0.5) ? "ok" : "bad" }')
    result "INFO $name: $_v"
    case $_v in *ok) return 0 ;; esac
    msg="$_v (want the guest's advance between 0 and the host's + 0.5 s)"
    return 1
}
# a new connection from the test host to the listener the guest had before
# the snapshot (the restore reset the transport: connections, not listeners)
sc_restored_vsock() {
    vt_vsock_send "$SD/vsock" >"$d.host" 2>&1 || { msg="sockt send: $(tr '\n' ' ' <"$d.host")"; return 1; }
    ask vecho 'for i in 1 2 3 4 5 6 7 8 9 10; do grep -q echoed /tmp/v && break; sleep 0.5; done; tail -n1 /tmp/v' || return 1
    [ "$ans" = "echoed $VT_VSOCK_BYTES bytes" ] || { msg="the guest's echo says '$ans'"; return 1; }
}
# the page cache dropped: the marker comes from the restored device
sc_restored_disk() {
    ask disk 'echo 3 >/proc/sys/vm/drop_caches; cat /mnt/d/marker' || return 1
    [ "$ans" = "$SNAP_TOKEN" ] || { msg="/mnt/d/marker holds '$ans', want $SNAP_TOKEN"; return 1; }
}
sc_restored_net_ping() {
    ask ping 'ping -c 3 -w 15 10.0.2.1 2>&1 | grep -o "[0-9]* packets received"' || return 1
    [ "$ans" = '3 packets received' ] || { msg="the guest's ping of 10.0.2.1: '$ans'"; return 1; }
    vt_ping >"$d.host" 2>&1 || { msg="the test host's ping of 10.0.2.2: $(tr '\n' ' ' <"$d.host")"; return 1; }
}
sc_restored_ctrl_alt_del() {
    ac_ctrl_alt_del || return 1
    snap_end
}
# cloneN: the disk as at the snapshot, a restore, a new command answered,
# a clean power-off
snap_clone() {
    cp "$SD/ext4-at-snapshot.img" "$SD/ext4.img"
    snap_restore "$name-$1" || return 1
    ask sh "echo $1-$SNAP_TOKEN" && [ "$ans" = "$1-$SNAP_TOKEN" ] ||
        { msg="${msg}$1's shell answered '$ans'"; snap_end; return 1; }
    vg_check "$1" || { snap_end; return 1; }
    ask rnd 'head -c 64 /dev/urandom | md5sum | cut -c1-32' || { snap_end; return 1; }
    result "INFO $name: $1's md5 of its first 64 bytes of /dev/urandom: $ans"
    eval "rnd_$1=\$ans"
    ac_ctrl_alt_del || { snap_end; return 1; }
    snap_end
}
sc_clone1() { rnd_clone1=; snap_clone clone1; }
sc_clone2() { rnd_clone2=; snap_clone clone2; }
# clones of one snapshot do not draw the same random numbers
sc_clones_differ() {
    [ -n "$rnd_clone1" ] && [ -n "$rnd_clone2" ] ||
        { msg="a clone did not read /dev/urandom ('$rnd_clone1', '$rnd_clone2')"; return 1; }
    [ "$rnd_clone1" != "$rnd_clone2" ] && return 0
    msg="both clones' first 64 bytes of /dev/urandom have the md5 $rnd_clone1"
    return 1
}

snapshot_group() {
    name=linux-snapshot d=/tmp/linux-snapshot gone= pid=
    _g0=$(now)
    if [ ! -f /virtio/ext4.img ]; then
        for c in $SNAP_CASES; do result "FAIL $name-$c: no disk image in the test host (see tests/linux/run's build log)"; done
        return
    fi
    # the api group's helpers (req) talk to $AD/api.sock
    AD=$SD
    mkdir -p $SD
    cp /virtio/ext4.img "$SD/ext4.img"
    : >"$d.api"
    vt_tap
    mkfifo "$d.in"
    exec 4<>"$d.in"
    for c in $SNAP_CASES; do
        # the clones need only the files, whatever became of the first restore
        case $c in clone*) snap_end; [ -f "$SD/ext4-at-snapshot.img" ] && gone= ;; esac
        # nothing runs for it: it compares what the clones read
        case $c in clones-differ) gone= ;; esac
        api_case "$c" "sc_$(echo "$c" | tr - _)"
    done
    result "INFO $name: the group took $(since "$_g0") s in the test host"
    for f in /tmp/$name*.api; do echo "===== $name: API requests ($f)"; cat "$f"; done
    snap_end
}
