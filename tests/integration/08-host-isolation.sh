#!/bin/bash
# Test 8: what real sandboxes can send to the host, with the default policy
# (host-access no). Two VPN sandboxes run at once, A (full tunnel) and B
# (split); packets are sent as root from their OUTER namespaces (where the
# veth is), a stronger sender than any app. Each property has a control that
# must succeed first, mostly from "plain", a namespace wired to laptop
# through an ordinary interface (ctl0, 198.18.66.1/30) that the helper's
# rules do not cover.
#  - router advertisements from A give laptop no IPv6 address or route;
#  - datagrams with a spoofed source (an address of world, laptop's uplink,
#    A's and B's host ends, B's OUTER, a free pool address, an unknown one)
#    do not leave laptop, with laptop's all.rp_filter 2 (the test bed's) and
#    with 0 everywhere and accept_local 1 (so that the kernel's own checks are
#    not what stops them);
#  - laptop's services (TCP 8080, UDP 5300, on every address) answer plain
#    but not A, on laptop's uplink address, A's and B's host ends and ctl0's;
#  - neither sandbox reaches the other's OUTER address (laptop does);
#  - DHCP server replies from A (broadcast, and unicast to its host end)
#    reach no DHCP client socket in laptop (those from plain do);
#  - a --net nat app reaches whoami but neither laptop service.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 08-host-isolation
tb_topology_up

PORT=8080 UPORT=5300 OPORT=8081 CTL=198.18.66.1 PLAIN=198.18.66.2 FREE=198.18.64.200

tb_udp_counter
# A service on every address of laptop, TCP and UDP, and a DHCP client's socket.
tb_spawn laptop-svc laptop "$TB_PY" "$TB_LIB/whoami.py" --ready "$TB_T/state/svc.ready" \
    "0.0.0.0:$PORT"
tb_spawn udpsink laptop "$TB_PY" "$TB_LIB/udpsink.py" --ready "$TB_T/state/udpsink.ready" \
    0.0.0.0:68 "0.0.0.0:$UPORT"
tb_wait 10 test -e "$TB_T/state/svc.ready" -a -e "$TB_T/state/udpsink.ready" ||
    tb_die "laptop's services did not start"
# sunk FROM PORT: datagrams from FROM to PORT seen by laptop's UDP sockets.
sunk() { grep -c "^$1:[0-9]* -> $2 " "$TB_T/logs/udpsink.log"; }
# What comes in from sandboxes to those ports, counted on arrival in laptop,
# before any rule of the helper's: proof that the datagrams were sent.
tb_in laptop nft -f - <<EOF || tb_die "cannot add the arrival counters in laptop"
table inet nsjvtest8 {
    counter dhcp_in {
    }
    counter svc_in {
    }
    chain count_pre {
        type filter hook prerouting priority -300; policy accept;
        iifname "nsjv*" udp dport 68 counter name "dhcp_in"
        iifname "nsjv*" udp dport $UPORT counter name "svc_in"
    }
}
EOF
arrived() { tb_in laptop nft list counter inet nsjvtest8 "$1" |
    awk '{for (i = 1; i < NF; i++) if ($i == "packets" && !n++) print $(i + 1)}'; }

tb_netns_add plain
ip -n laptop link add ctl0 type veth peer name ctl1 netns plain
ip -n laptop addr add "$CTL/30" dev ctl0
ip -n plain addr add "$PLAIN/30" dev ctl1
ip -n laptop link set ctl0 up
ip -n plain link set ctl1 up
ip -n plain route add default via "$CTL"
tb_wait 5 tb_lower_up laptop ctl0 || tb_die "plain's link did not come up"

# vpn NAME CONFIG: a VPN sandbox; OVPN (its openvpn: OUTER), OUTER (its
# address there) and HOST (its host end's address: one below).
vpn()
{
    tb_launch "$1" "$TB_USER1" --vpn "$TB/client/$2.ovpn" -- sh -c 'echo ready; exec sleep 600'
    if ! tb_wait_output "$1" 60 '^ready$' || ! OVPN=$(tb_openvpn_pid "$TB_LPID"); then
        tb_not_ok "VPN sandbox $1 starts (its OUTER is where the packets come from)"
        tb_diag_file "$TB_T/$1.out" "$TB_T/$1.err"
        tb_done
    fi
    OUTER=$(tb_nsenter "$OVPN" ip -4 -o addr show dev eth0 | awk '{sub(/\/.*/, "", $4); print $4}')
    HOST=${OUTER%.*}.$((${OUTER##*.} - 1))
}
vpn vpn full
ovpn=$OVPN outeraddr=$OUTER hostaddr=$HOST
vpn vpn2 split
ovpn2=$OVPN outer2=$OUTER hostaddr2=$HOST
hostlink=$(ip -n laptop -4 -o addr show | awk -v a="$hostaddr" '$4 ~ "^" a "/" {print $2}')
tb_log "A: host end $hostlink $hostaddr, OUTER $outeraddr; B: host end $hostaddr2, OUTER $outer2"

# ---- router advertisements
# Each poll sends one more RA (a link just up may drop the first) and looks.
ra() { "$@" "$TB_PY" "$TB_LIB/rawpkt.py" ra "${RA_IF}" "$TB_RA_PREFIX" 1 && tb_ra_effect; }

# Control: the same packets into a fresh interface of laptop with IPv6 and
# accept_ra at laptop's defaults do configure it.
tb_netns_add rasrc
ip -n laptop link add ractl0 type veth peer name ractl1 netns rasrc
ip -n laptop link set ractl0 up
ip -n rasrc link set ractl1 up
tb_wait 5 tb_lower_up laptop ractl0
t0=$(tb_now_ms)
if RA_IF=ractl1 tb_wait 5 ra tb_in rasrc; then
    ra_ms=$(($(tb_now_ms) - t0))
    tb_ok "control: the RA configures a fresh laptop interface ($ra_ms ms)"
    tb_diag "$(ip -n laptop -6 -o addr show dev ractl0 | grep 2001:db8:1:)"
else
    ra_ms=1000
    tb_not_ok "control: the RA configures a fresh laptop interface"
fi
ip -n laptop link del ractl0
tb_wait 5 tb_no_ra_effect
tb_check_fails "control: gone again with that interface" tb_ra_effect

# Waiting for something not to happen: three times as long as it took above,
# sending all the while.
RA_IF=eth0 tb_wait $(((3 * ra_ms + 999) / 1000 + 1)) ra tb_nsenter "$ovpn"
tb_check_fails "RAs from OUTER give laptop no IPv6 address or route" tb_ra_effect
tb_diag "$(ip -n laptop -6 -o addr show; ip -n laptop -6 route show)"

# ---- spoofed sources, to whoami's address in world: one UDP port each, counted there
spoofs=("10001 $TB_WHOAMI2 an address of world"
    "10002 $TB_LAPTOP laptop's uplink address"
    "10003 $hostaddr A's own host end"
    "10004 $hostaddr2 B's host end"
    "10005 $outer2 B's OUTER address"
    "10006 $FREE a free address of the pool"
    "10007 203.0.113.99 an address of no one")
for port in 10000 10001 10002 10003 10004 10005 10006 10007; do
    tb_in world nft add counter inet nsjvtest "p$port" &&
        tb_in world nft add rule inet nsjvtest count_pre udp dport "$port" counter name "p$port" ||
        tb_die "cannot add the spoof counters in world"
done
count() { tb_nft_counter world "p$1"; }
declare -A seen # port: its counter before the spoofed datagrams
UDP_MS=1000     # how long the control took to arrive, last time
send_from_a() { tb_nsenter "$ovpn" "$TB_PY" "$TB_LIB/rawpkt.py" udp "$1" "$TB_WHOAMI" "$2" 1 eth0; }
own_rises() { send_from_a "$outeraddr" 10000 && (($(count 10000) > c)); }
any_spoof_rises()
{
    local s port src
    for s in "${spoofs[@]}"; do
        read -r port src _ <<<"$s"
        send_from_a "$src" "$port"
    done
    for s in "${spoofs[@]}"; do
        read -r port _ <<<"$s"
        (($(count "$port") > ${seen[$port]})) && return 0
    done
    return 1
}

# spoof_round WHAT: the control, then every spoofed source, none may arrive.
spoof_round()
{
    local what=$1 s port src desc t0
    c=$(count 10000)
    t0=$(tb_now_ms)
    if tb_wait 5 own_rises; then
        UDP_MS=$(($(tb_now_ms) - t0))
        tb_ok "$what: control: datagrams from A's own address $outeraddr arrive in world"
    else
        UDP_MS=1000
        tb_not_ok "$what: control: datagrams from A's own address $outeraddr arrive in world"
    fi
    for s in "${spoofs[@]}"; do
        read -r port _ <<<"$s"
        seen[$port]=$(count "$port")
    done
    tb_wait $(((3 * UDP_MS + 999) / 1000 + 1)) any_spoof_rises
    for s in "${spoofs[@]}"; do
        read -r port src desc <<<"$s"
        tb_is "$what: datagrams from A spoofing $desc ($src) do not leave laptop" \
            "$(count "$port")" "${seen[$port]}"
    done
}
# kernel_checks RP LOCAL: laptop's reverse-path filter (all, default,
# uplink0, A's host end) and accept_local (all, A's host end).
kernel_checks()
{
    tb_in laptop sysctl -qw "net.ipv4.conf.all.rp_filter=$1" "net.ipv4.conf.default.rp_filter=$1" \
        "net.ipv4.conf.uplink0.rp_filter=$1" "net.ipv4.conf.$hostlink.rp_filter=$1" \
        "net.ipv4.conf.all.accept_local=$2" "net.ipv4.conf.$hostlink.accept_local=$2"
}
tb_is "laptop's all.rp_filter is 2 (loose, the test bed's)" \
    "$(tb_in laptop sysctl -n net.ipv4.conf.all.rp_filter)" 2
spoof_round "rp_filter 2"
# No reverse-path filter, and packets from the host's own addresses accepted
# as input: only the helper's rules are left to stop the spoofed ones.
kernel_checks 0 1
tb_is "laptop's rp_filter is 0 for all, default, uplink0 and A's host end; accept_local 1" \
    "$(tb_in laptop sysctl -n net.ipv4.conf.all.rp_filter net.ipv4.conf.default.rp_filter \
        net.ipv4.conf.uplink0.rp_filter "net.ipv4.conf.$hostlink.rp_filter" \
        net.ipv4.conf.all.accept_local "net.ipv4.conf.$hostlink.accept_local" | tr '\n' ' ')" \
    "0 0 0 0 1 1 "
spoof_round "rp_filter 0, accept_local 1"
kernel_checks 2 0

# ---- laptop's services, on each of its addresses
targets=("$TB_LAPTOP laptop's uplink address" "$hostaddr A's host end" "$hostaddr2 B's host end"
    "$CTL ctl0's address")
for t in "${targets[@]}"; do
    read -r addr desc <<<"$t"
    tb_is "control: plain reaches laptop's TCP service on $desc ($addr)" \
        "$(tb_curl plain "http://$addr:$PORT/")" "$PLAIN"
done
plain_udp_arrives()
{
    tb_in plain "$TB_PY" "$TB_LIB/rawpkt.py" udp "$PLAIN" "$addr" "$UPORT" 1 ctl1 &&
        (($(sunk "$PLAIN" "$UPORT") > n))
}
for t in "${targets[@]}"; do
    read -r addr desc <<<"$t"
    n=$(sunk "$PLAIN" "$UPORT")
    tb_check "control: plain reaches laptop's UDP service on $desc ($addr)" \
        tb_wait 5 plain_udp_arrives
done
tb_is "control: OUTER has a network (whoami, masqueraded)" \
    "$(tb_outer_curl "$ovpn" "http://$TB_WHOAMI/" 2>/dev/null)" "$TB_LAPTOP"
a_udp_arrives()
{
    local t
    for t in "${targets[@]}"; do
        tb_nsenter "$ovpn" "$TB_PY" "$TB_LIB/rawpkt.py" udp "$outeraddr" "${t%% *}" "$UPORT" 1 eth0
    done
    (($(sunk "$outeraddr" "$UPORT") > 0))
}
for t in "${targets[@]}"; do
    read -r addr desc <<<"$t"
    tb_check_fails "A cannot reach laptop's TCP service on $desc ($addr)" \
        tb_outer_curl "$ovpn" "http://$addr:$PORT/" 3
done
tb_wait $(((3 * UDP_MS + 999) / 1000 + 1)) a_udp_arrives
tb_check "control: A's datagrams to the UDP service did arrive in laptop" \
    test "$(arrived svc_in)" -gt 0
tb_is "A cannot reach laptop's UDP service on any of them" "$(sunk "$outeraddr" "$UPORT")" 0

# ---- the other sandbox's OUTER address: a listener in each OUTER
for s in "a $ovpn $outeraddr" "b $ovpn2 $outer2"; do
    read -r name pid addr <<<"$s"
    tb_nsenter "$pid" "$TB_PY" "$TB_LIB/whoami.py" --ready "$TB_T/state/outer-$name.ready" \
        "$addr:$OPORT" </dev/null >"$TB_T/logs/outer-$name.log" 2>&1 &
    tb_register "outer-$name" $!
done
tb_wait 10 test -e "$TB_T/state/outer-a.ready" -a -e "$TB_T/state/outer-b.ready" ||
    tb_die "the listeners in the OUTER namespaces did not start"
tb_is "control: laptop reaches the listener in A's OUTER ($outeraddr)" \
    "$(tb_curl laptop "http://$outeraddr:$OPORT/")" "$hostaddr"
tb_is "control: laptop reaches the listener in B's OUTER ($outer2)" \
    "$(tb_curl laptop "http://$outer2:$OPORT/")" "$hostaddr2"
tb_check_fails "A cannot reach B's OUTER address ($outer2)" \
    tb_outer_curl "$ovpn" "http://$outer2:$OPORT/" 3
tb_check_fails "B cannot reach A's OUTER address ($outeraddr)" \
    tb_outer_curl "$ovpn2" "http://$outeraddr:$OPORT/" 3

# ---- DHCP server replies to laptop's DHCP client socket (UDP 68)
dhcp_from() { tb_in "$1" "$TB_PY" "$TB_LIB/rawpkt.py" dhcp "$2" "$3" 1 "$4"; }
plain_dhcp_arrives() { dhcp_from plain ctl1 "$1" "$2" && (($(sunk "$PLAIN" 68) > n)); }
n=$(sunk "$PLAIN" 68)
t0=$(tb_now_ms)
if tb_wait 5 plain_dhcp_arrives 255.255.255.255 offer; then
    dhcp_ms=$(($(tb_now_ms) - t0))
    tb_ok "control: a broadcast DHCP offer from plain reaches laptop's DHCP client socket"
else
    dhcp_ms=1000
    tb_not_ok "control: a broadcast DHCP offer from plain reaches laptop's DHCP client socket"
fi
n=$(sunk "$PLAIN" 68)
tb_check "control: a DHCP ack from plain to ctl0's address reaches it" \
    tb_wait 5 plain_dhcp_arrives "$CTL" ack
a_dhcp_arrives()
{
    tb_nsenter "$ovpn" "$TB_PY" "$TB_LIB/rawpkt.py" dhcp eth0 255.255.255.255 1 offer
    tb_nsenter "$ovpn" "$TB_PY" "$TB_LIB/rawpkt.py" dhcp eth0 "$hostaddr" 1 ack
    (($(sunk "$outeraddr" 68) > 0))
}
tb_wait $(((3 * dhcp_ms + 999) / 1000 + 1)) a_dhcp_arrives
tb_check "control: A's DHCP replies did arrive in laptop" test "$(arrived dhcp_in)" -gt 0
tb_is "DHCP offers (broadcast) and acks (to its host end) from A reach no DHCP client in laptop" \
    "$(sunk "$outeraddr" 68)" 0
tb_diag "$(tail -n 3 "$TB_T/logs/udpsink.log")"

tb_app isolation
tb_run nat 60 "$TB_USER1" --net nat -- "${TB_APP[@]}" "http://$TB_WHOAMI/" "$TB_LAPTOP" "$PORT"
if tb_is "a --net nat app reaches whoami but neither laptop service (sentinel 42)" \
    "$TB_STATUS" 42; then
    tb_diag "$(cat "$TB_T/nat.out")"
else
    tb_diag_file "$TB_T/nat.out" "$TB_T/nat.err"
fi
tb_done
