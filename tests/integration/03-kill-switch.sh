#!/bin/bash
# Test 3: stop the OpenVPN server, then kill the client: the app's next
# requests fail, and a counter at the forward hook on the sandbox's host-side
# interface shows nothing but packets to the VPN endpoint (a control request
# before the outage makes it rise).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 03-kill-switch
tb_topology_up

tb_forward_counters

tb_app loop
tb_launch loop "$TB_USER1" --vpn "$TB/client/full.ovpn" -- "${TB_APP[@]}" "http://$TB_WHOAMI/"
if ! tb_wait_output loop 60 "ok $TB_PROVIDER\$"; then
    tb_not_ok "the app's requests go through the VPN before the outage"
    tb_diag_file "$TB_T/loop.out" "$TB_T/loop.err"
    tb_done
fi
tb_ok "the app's requests go through the VPN before the outage"
ovpn=$(tb_openvpn_pid "$TB_LPID") || {
    tb_not_ok "the sandbox's openvpn process is a descendant of the launcher"
    tb_done
}

# Control: a request from OUTER itself, around the tunnel, is forwarded by
# laptop and must be counted.
other0=$(tb_nft_counter laptop other)
tb_is "control: a request from OUTER around the tunnel reaches whoami (masqueraded)" \
    "$(tb_outer_curl "$ovpn" "http://$TB_WHOAMI/")" "$TB_LAPTOP"
tb_wait 5 tb_counter_settled laptop other
other1=$(tb_nft_counter laptop other)
endpoint1=$(tb_nft_counter laptop endpoint)
tb_check "control: the counter of non-endpoint packets rose ($other0 -> $other1)" \
    test "$other1" -gt "$other0"
tb_check "the VPN's own packets are counted as endpoint packets ($endpoint1)" \
    test "$endpoint1" -gt 0

# The outage: the server first, then the client.
tb_stop vpn-full
tb_kill_pid "$ovpn" "$(tb_starttime "$ovpn" || echo 0)" TERM
outage=$(date +%s%N)
tb_log "server and client stopped at $outage"

after_outage() { tb_requests_after "$TB_T/loop.out" "$outage"; }
three_failures() { (($(after_outage | grep -c ' fail$') >= 3)); }
launcher_gone() { tb_dead "$TB_LPID"; }
outage_seen() { three_failures || launcher_gone; }
tb_wait 30 outage_seen

if three_failures; then
    tb_ok "the app's requests after the outage fail ($(after_outage | wc -l) made)"
elif launcher_gone; then
    tb_ok "the sandbox ended with its VPN client, so no request after the outage succeeded"
else
    tb_not_ok "the app's requests after the outage fail"
fi
tb_is "no request that began after the outage succeeded" "$(after_outage | grep ' ok ')" ""
tb_is "the counter of non-endpoint packets did not rise after the control" \
    "$(tb_nft_counter laptop other)" "$other1"
tb_diag "$(tail -n 5 "$TB_T/loop.out")"
tb_done
