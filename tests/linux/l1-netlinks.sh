# The linux suite's netlinks group, sourced by l1-tests.sh (packed in as
# /l1-netlinks.sh by tests/linux/run, with tools/netlab as /bin/netlab; it
# uses l1-tests.sh's helpers).
#
# The network of docs/network-lab.md, built by tools/netlab as a student
# would, as an unprivileged user (uid 1000; /dev/kvm opened up to it):
# three default guests, no tap, no root.
#
#   h1 10.1.0.2 --[link1]-- 10.1.0.1 router 10.2.0.1 --[link2]-- 10.2.0.2 h2
#                                                                h2 eth1: passt
#
# Cases: netlab starts the three and configures them (h2's eth1 by
# passt's DHCP); ping over a stream link; 16 MiB by TCP over a stream link
# and back, every byte checked; h2's DHCP lease; h2 fetches from a TCP
# server on the test host's loopback (through passt's gateway address);
# the test host reaches a server in h2 through the forwarded port 7100;
# h1 pings h2 through the router; netlab stops them.
#
# passt needs a default route in the test host: a veth pair (or a tap)
# with 10.77.0.1/24 and a default route via 10.77.0.2, which nothing
# answers; passt gives h2 the same address and gateway.
ND=/tmp/netlinks
NET_CASES='start stream-ping stream-tcp passt-dhcp passt-fetch passt-forward routed stop'

# lab ARGS...: tools/netlab as the group's user; output in $ans (one line)
lab() {
    _c="NETLAB_DIR=$ND NETLAB_GUEST=$G NETLAB_TIMEOUT=240 netlab $*"
    if [ -n "$NL_USER" ]; then
        ans=$(timeout -s KILL "$CASE_TIMEOUT" su -s /bin/sh "$NL_USER" -c "$_c" 2>&1)
    else
        ans=$(timeout -s KILL "$CASE_TIMEOUT" sh -c "$_c" 2>&1)
    fi
    _st=$?
    echo "netlab $* -> $_st: $ans" >>"$ND.log"
    ans=$(echo "$ans" | tr '\n' ' ')
    return $_st
}
# lab_ping FROM TO: 3 pings, some answered
lab_ping() {
    lab run "$1" "ping -c 3 -w 20 $2" && case $ans in *" 0 packets received"*) ;; *) return 0 ;; esac
    msg="$1 -> $2: $ans"
    return 1
}

nc_start() {
    lab start && return 0
    msg="netlab start: $ans" gone="netlab did not start"
    return 1
}
nc_stream_ping() { lab_ping h1 10.1.0.1; }
nc_stream_tcp() {
    lab run router 'SOCKT_TIMEOUT=200 sockt echo inet:any:5000 >/dev/null 2>&1 &' ||
        { msg="the router's echo server: $ans"; return 1; }
    _t=$(now)
    # the echo server starts in the background: a refused connect is retried
    # (up to 10 s); any other failure is the answer (a `No route to host`
    # here is the group's open flake, README: Tests, netlinks)
    lab run h1 'i=0; until SOCKT_TIMEOUT=200 sockt send inet:10.1.0.1:5000 16777216 2>/tmp/e; do
        grep -q refused /tmp/e && [ $((i += 1)) -lt 10 ] || { cat /tmp/e; exit 1; }; sleep 1; done' ||
        { msg="16 MiB h1 -> router -> h1: $ans"; return 1; }
    result "INFO $name-stream-tcp: 16 MiB each way over link1 in $(since "$_t") s"
}
nc_passt_dhcp() {
    lab run h2 'ip -4 -o addr show eth1; ip route' || { msg=$ans; return 1; }
    case $ans in *"inet 10.77.0.1/24"*"default via 10.77.0.2"*) return 0 ;; esac
    msg="h2's eth1 and routes after passt's DHCP: $ans"
    return 1
}
nc_passt_fetch() {
    SOCKT_TIMEOUT=120 sockt echo inet:127.0.0.1:7000 >"$ND.echo" 2>&1 &
    _e=$!
    sleep 0.5
    lab run h2 'SOCKT_TIMEOUT=100 sockt send inet:10.77.0.2:7000 1048576'
    _st=$?
    wait $_e
    [ $_st = 0 ] && return 0
    msg="h2 -> 10.77.0.2:7000 (the test host's 127.0.0.1:7000): $ans ($(cat "$ND.echo"))"
    return 1
}
nc_passt_forward() {
    lab run h2 'SOCKT_TIMEOUT=120 sockt echo inet:any:7000 >/dev/null 2>&1 &' ||
        { msg="h2's echo server: $ans"; return 1; }
    sleep 1
    SOCKT_TIMEOUT=100 sockt send inet:127.0.0.1:7100 1048576 >"$ND.fwd" 2>&1 && return 0
    msg="the test host's 127.0.0.1:7100 -> h2:7000: $(tr '\n' ' ' <"$ND.fwd")"
    return 1
}
nc_routed() { lab_ping h1 10.2.0.2; }
nc_stop() {
    lab stop || { msg="netlab stop: $ans"; return 1; }
    for v in router h1 h2; do
        grep -q 'passt exited\|went away\|seccomp' "$ND/$v.err" && { msg="$v: $(cat "$ND/$v.err")"; return 1; }
    done
    return 0
}

# A default route for passt: a veth pair if this busybox makes one, else a tap.
nl_route() {
    if ip link add pv0 type veth peer name pv1 2>/dev/null; then
        ip link set pv1 up
    else
        tunctl -t pv0 >/dev/null || return 1
    fi
    ip addr add 10.77.0.1/24 dev pv0 && ip link set pv0 up &&
        ip route add default via 10.77.0.2 dev pv0
}

netlinks_group() {
    name=linux-netlinks gone= pid=
    _g0=$(now)
    if ! command -v passt >/dev/null 2>&1; then
        for c in $NET_CASES; do result "SKIP $name-$c: no passt in the test host (install passt where tests/linux/run runs)"; done
        return
    fi
    mkdir -p $ND
    : >"$ND.log"
    ip link set lo up 2>/dev/null # the test host's 127.0.0.1 (passt's cases)
    nl_route || result "INFO $name: no default route for passt: $(ip route 2>&1 | tr '\n' ' ')"
    # passt started by root drops to the user `nobody`, which the busybox
    # test host's /etc/passwd lacks
    grep -q '^nobody:' /etc/passwd 2>/dev/null ||
        echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >>/etc/passwd
    grep -q '^nogroup:' /etc/group 2>/dev/null || echo 'nogroup:x:65534:' >>/etc/group
    # an unprivileged user, where su works
    NL_USER=
    if echo 'petrel:x:1000:1000::/tmp:/bin/sh' >>/etc/passwd && echo 'petrel:x:1000:' >>/etc/group &&
        chown 1000:1000 $ND && su -s /bin/sh petrel -c 'test "$(id -u)" = 1000'; then
        NL_USER=petrel
        chmod 666 /dev/kvm
        result "INFO $name: the VMs and passt run as uid 1000"
    else
        result "INFO $name: su does not work here: the VMs run as root"
    fi
    for c in $NET_CASES; do
        api_case "$c" "nc_$(echo "$c" | tr - _)"
    done
    result "INFO $name: the group took $(since "$_g0") s in the test host"
    [ -n "$gone" ] && lab stop
    echo "===== $name: netlab calls"; cat "$ND.log"
    for v in router h1 h2; do
        echo "===== $name: $v serial output"; tr -d '\r' <"$ND/$v.out"
        echo "===== $name: $v petrel stderr"; cat "$ND/$v.err"
    done
}
