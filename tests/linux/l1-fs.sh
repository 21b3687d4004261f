#!/bin/sh
# virtio-fs in the emulated AMD-V host, run through tools/svmhost/hostrun (the
# L1 sees this machine's /, so it has virtiofsd; tests/linux/run's busybox L1
# has none). One boot of Debian's stock kernel (the default guest kernel has
# no FUSE / VIRTIO_FS; its initramfs loads virtio_mmio, fuse and virtiofs)
# with two shares petrel serves through virtiofsd: a read-write one and a
# read-only one. Usage, from the repo top (after ninja -C build):
#   echo 'cd /work/wt-vhostfs && sh tests/linux/l1-fs.sh' > build/t.sh
#   tools/build-svmhost build/petrel >/dev/null &&
#       flock /tmp/hostrun.lock tools/svmhost/hostrun build/t.sh
# Prints PASS/FAIL lines linux-fs-*.
P=${PETREL:-build/petrel} G=build/guest T=/tmp/linux-fs
S=$T/share R=$T/ro d=$T/vm STEP=120
rm -rf $T && mkdir -p $S $R
printf 'host-hello\n' > $S/h.txt && chmod 640 $S/h.txt
head -c 64M /dev/urandom > $S/big
head -c 64M /dev/urandom > $S/big2
sum=$(md5sum < $S/big | cut -d' ' -f1)
printf 'ro\n' > $R/r.txt
result() { echo "$*"; }
# wait_for REGEX SECONDS: 0 when petrel's console output has it
wait_for() {
    _end=$(( $(date +%s) + $2 ))
    while ! grep -aq -e "$1" $d.out 2>/dev/null; do
        kill -0 $pid 2>/dev/null || return 2
        [ "$(date +%s)" -lt $_end ] || return 1
        sleep 0.3
    done
}
send() { printf '%s\n' "$1" >&4; }
# check NAME REGEX: PASS if the console shows REGEX within STEP seconds
check() {
    if wait_for "$2" $STEP; then result "PASS linux-fs-$1"; else result "FAIL linux-fs-$1: no '$2'"; fi
}

mkfifo $d.in
exec 4<>$d.in
$P run --kernel $G/vmlinuz-stock --initrd $G/initramfs-stock.cpio --mem 512M \
    --fs tag=share,dir=$S --fs tag=ro,dir=$R,ro <$d.in >$d.out 2>$d.err &
pid=$!
if ! wait_for 'petrel# ' 300; then
    result "FAIL linux-fs-boot: no shell ($(tail -n 2 $d.err | tr '\n' ' '))"
    kill -9 $pid; cat $d.out $d.err; exit 0
fi
result "PASS linux-fs-boot"
send 'mkdir -p /mnt/s /mnt/r && mount -t virtiofs share /mnt/s && mount -t virtiofs ro /mnt/r && echo MOUNT""-OK'
check mount 'MOUNT-OK'
# host -> guest: bytes and mode
send 'echo "HOSTFILE=$(cat /mnt/s/h.txt) MODE=$(stat -c %a /mnt/s/h.txt)"'
check host-to-guest 'HOSTFILE=host-hello MODE=640'
# guest -> host
send 'echo guest-data > /mnt/s/g.txt && chmod 604 /mnt/s/g.txt && sync && echo WROTE""-OK'
if wait_for 'WROTE-OK' $STEP && [ "$(cat $S/g.txt)" = guest-data ] &&
    [ "$(stat -c %a $S/g.txt)" = 604 ]; then
    result "PASS linux-fs-guest-to-host"
else
    result "FAIL linux-fs-guest-to-host: host sees '$(cat $S/g.txt 2>&1)' mode $(stat -c %a $S/g.txt 2>&1)"
fi
# 64 MiB, checksummed in the guest
send 'echo "SUM=$(md5sum /mnt/s/big | cut -d" " -f1)"'
check md5 "SUM=$sum"
# read-only share: writes refused
send 'echo x > /mnt/r/new || echo RO""-REFUSED; [ -e /mnt/r/new ] || echo RO""-ABSENT'
check ro-refused 'RO-REFUSED'
check ro-absent 'RO-ABSENT'
[ -e $R/new ] && result "FAIL linux-fs-ro-host: $R/new exists on the host"
# the back end killed mid-read: EIO in the guest, petrel alive
# (reads big2 over and over, dropping the guest's cache, until one fails)
send 'i=0; while cat /mnt/s/big2 >/dev/null; do i=$((i+1)); echo 3 >/proc/sys/vm/drop_caches; [ $i -lt 100 ] || break; done; echo "LOOPS=$i"; ls /mnt/s >/dev/null; echo "LS-RC=$?"'
sleep 3
vfsd=$(ps -o pid=,args= --ppid $pid | awk '/virtiofsd/ && /share/ { print $1; exit }')
[ -n "$vfsd" ] && kill -9 "$vfsd"
if wait_for 'LS-RC=[0-9]' $STEP && grep -aq 'LS-RC=[1-9]' $d.out && kill -0 $pid; then
    result "PASS linux-fs-backend-killed"
else
    result "FAIL linux-fs-backend-killed: killed '$vfsd'; guest: $(tail -n 4 $d.out | tr '\r\n' '  ')"
fi
grep -aq 'Input/output error' $d.out && result "PASS linux-fs-eio" ||
    result "FAIL linux-fs-eio: no 'Input/output error' in the guest"
send 'poweroff'
_end=$(( $(date +%s) + 60 ))
while kill -0 $pid 2>/dev/null && [ "$(date +%s)" -lt $_end ]; do sleep 0.5; done
if kill -0 $pid 2>/dev/null; then
    kill -9 $pid; result "FAIL linux-fs-poweroff: still running"
else
    wait $pid; st=$?
    [ $st = 0 ] && result "PASS linux-fs-poweroff" || result "FAIL linux-fs-poweroff: status $st"
fi
[ -z "$(ps -o pid= --ppid $pid 2>/dev/null)" ] && result "PASS linux-fs-daemons-stopped" ||
    result "FAIL linux-fs-daemons-stopped"
echo "===== guest"; tr -d '\r' < $d.out | tail -n 60
echo "===== petrel stderr"; cat $d.err
exit 0
