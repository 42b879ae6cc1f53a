#!/bin/bash
# Test 26: the VPN client dies (with its server down, so the outage lasts)
# while an app loops requests: the requests fail meanwhile, nothing but
# packets to the endpoint leaves through laptop's forward hook, the launcher
# starts the client again by itself, and once the server is back the same app
# process gets answers through the tunnel again. --json-events reports down,
# reconnecting and connected. For OpenVPN and for WireGuard (wireguard-go).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 26-reconnect
tb_topology_up
tb_forward_counters
tb_app loop

# outage KIND CONFIG CLIENT_RE SERVER: the whole story for one kind of client.
outage()
{
    local kind=$1 config=$2 client_re=$3 server=$4 client app other1 t1 t2 events
    events=$TB_T/$kind.events
    tb_launch "$kind" "$TB_USER1" --json-events 3 --vpn "$config" -- "${TB_APP[@]}" \
        "http://$TB_WHOAMI/" 3>"$events"
    if ! tb_wait_output "$kind" 60 "ok $TB_PROVIDER\$"; then
        tb_not_ok "$kind: the app's requests go through the tunnel"
        tb_diag_file "$TB_T/$kind.out" "$TB_T/$kind.err"
        return
    fi
    tb_ok "$kind: the app's requests go through the tunnel"
    client=$(tb_find_desc "$TB_LPID" "$client_re")
    app=$(tb_find_desc "$TB_LPID" 'app-loop')
    sup=$(tb_supervisor_pid "$TB_LPID")
    tb_is "$kind (control): a request from OUTER around the tunnel is counted" \
        "$(tb_outer_curl "$sup" "http://$TB_WHOAMI/")" "$TB_LAPTOP"
    tb_wait 5 tb_counter_settled laptop other
    other1=$(tb_nft_counter laptop other)

    tb_stop "$server"
    tb_kill_pid "$client" "$(tb_starttime "$client" || echo 0)" KILL
    t1=$(date +%s%N)
    three_failures() { (($(tb_requests_after "$TB_T/$kind.out" "$t1" | grep -c ' fail$') >= 3)); }
    tb_wait 30 three_failures
    tb_check "$kind: the app's requests fail while the client is dead and the server down" \
        three_failures
    restarted() { tb_find_desc "$TB_LPID" "$client_re" | grep -vx "$client" >/dev/null; }
    tb_wait 10 restarted
    tb_check "$kind: the launcher started a new client by itself" restarted
    tb_check "$kind: the launcher said so on stderr" \
        grep -q "the VPN client was killed by signal 9; the apps are offline; connecting again" \
        "$TB_T/$kind.err"
    tb_is "$kind: no request during the outage succeeded" \
        "$(tb_requests_after "$TB_T/$kind.out" "$t1" | grep ' ok ')" ""
    tb_is "$kind: nothing but packets to the endpoint left through laptop's forward hook" \
        "$(tb_nft_counter laptop other)" "$other1"

    if [[ $server == wg-server ]]; then tb_start_wg_server; else tb_start_vpn_server "${server#vpn-}"; fi
    t2=$(date +%s%N)
    answered() { tb_requests_after "$TB_T/$kind.out" "$t2" | grep -q " ok $TB_PROVIDER\$"; }
    tb_wait 40 answered
    tb_check "$kind: with the server back, the requests succeed again through the tunnel" answered
    tb_is "$kind: the same app process made them" "$(tb_find_desc "$TB_LPID" 'app-loop')" "$app"
    tb_check "$kind: the launcher said the VPN is connected again" \
        grep -q "the VPN is connected again" "$TB_T/$kind.err"
    tb_is "$kind: --json-events: connected, down, reconnecting ..., connected" \
        "$("$TB_PY" -c 'import json, sys
ev = [json.loads(l)["event"] for l in open(sys.argv[1])]
out = [e for i, e in enumerate(ev) if i == 0 or e != ev[i - 1]]
print(" ".join(out))' "$events")" "connected down reconnecting connected"
    tb_diag_file "$TB_T/$kind.err" "$events"
    tb_stop "$kind"
}

outage openvpn "$TB/client/full.ovpn" '^[^ ]*openvpn ' vpn-full
outage wireguard "$TB/client/wg-full.conf" '^[^ ]*wireguard-go ' wg-server
tb_done
