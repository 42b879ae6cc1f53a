#!/bin/bash
# Test 8: a router advertisement sent from the sandbox's OUTER gives laptop no
# IPv6 address or route; a packet with a spoofed source from the sandbox does
# not leave laptop; a service listening on laptop's address is not reachable
# from the sandbox. Each with a control that must succeed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 08-host-isolation
tb_topology_up

PORT=8080

tb_udp_counter
# A service on every address of laptop.
tb_spawn laptop-svc laptop "$TB_PY" "$TB_LIB/whoami.py" --ready "$TB_T/state/svc.ready" \
    "0.0.0.0:$PORT"
tb_wait 10 test -e "$TB_T/state/svc.ready" || tb_die "laptop's service did not start"

tb_launch vpn "$TB_USER1" --vpn "$TB/client/full.ovpn" -- sh -c 'echo ready; exec sleep 600'
if ! tb_wait_output vpn 60 '^ready$' || ! ovpn=$(tb_openvpn_pid "$TB_LPID"); then
    tb_not_ok "a VPN sandbox starts (its OUTER is where the packets come from)"
    tb_diag_file "$TB_T/vpn.out" "$TB_T/vpn.err"
    tb_done
fi
hostlink=$(tb_hostlinks | head -n 1)
hostaddr=$(ip -n laptop -4 -o addr show dev "$hostlink" | awk '{sub(/\/.*/, "", $4); print $4}')
outeraddr=$(tb_nsenter "$ovpn" ip -4 -o addr show dev eth0 | awk '{sub(/\/.*/, "", $4); print $4}')
tb_log "host end $hostlink $hostaddr, OUTER eth0 $outeraddr"

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

# ---- spoofed source
count() { tb_nft_counter world udp9999; }
# udp_rises SRC: send one datagram from SRC out of OUTER's eth0; has the
# counter in world risen above $c?
udp_rises()
{
    tb_nsenter "$ovpn" "$TB_PY" "$TB_LIB/rawpkt.py" udp "$1" "$TB_WHOAMI" 9999 1 eth0 &&
        (($(count) > c))
}
c=$(count)
t0=$(tb_now_ms)
if tb_wait 5 udp_rises "$outeraddr"; then
    udp_ms=$(($(tb_now_ms) - t0))
    tb_ok "control: datagrams from OUTER's own address $outeraddr arrive in world"
else
    udp_ms=1000
    tb_not_ok "control: datagrams from OUTER's own address $outeraddr arrive in world"
fi
tb_wait 5 tb_counter_settled world udp9999
c=$(count)
tb_wait $(((3 * udp_ms + 999) / 1000 + 1)) udp_rises 203.0.113.99
tb_is "datagrams with a spoofed source (203.0.113.99) do not leave laptop" "$(count)" "$c"

# ---- laptop's services
tb_is "control: laptop reaches its service on $TB_LAPTOP" \
    "$(tb_curl laptop "http://$TB_LAPTOP:$PORT/")" "$TB_LAPTOP"
tb_is "control: laptop reaches its service on the host end $hostaddr" \
    "$(tb_curl laptop "http://$hostaddr:$PORT/")" "$hostaddr"
tb_is "control: OUTER has a network (whoami, masqueraded)" \
    "$(tb_outer_curl "$ovpn" "http://$TB_WHOAMI/" 2>/dev/null)" "$TB_LAPTOP"
tb_check_fails "OUTER cannot reach laptop's service on $TB_LAPTOP" \
    tb_outer_curl "$ovpn" "http://$TB_LAPTOP:$PORT/" 3
tb_check_fails "OUTER cannot reach laptop's service on the host end $hostaddr" \
    tb_outer_curl "$ovpn" "http://$hostaddr:$PORT/" 3

tb_app isolation
tb_run nat 60 "$TB_USER1" --net nat -- "${TB_APP[@]}" "http://$TB_WHOAMI/" "$TB_LAPTOP" "$PORT"
if tb_is "a --net nat app reaches whoami but neither laptop service (sentinel 42)" \
    "$TB_STATUS" 42; then
    tb_diag "$(cat "$TB_T/nat.out")"
else
    tb_diag_file "$TB_T/nat.out" "$TB_T/nat.err"
fi
tb_done
