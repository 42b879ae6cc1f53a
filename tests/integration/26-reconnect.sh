#!/bin/bash
# Test 26: the VPN client dies (with its server down, so the outage lasts)
# while an app loops requests: the requests fail meanwhile, nothing but
# packets to the endpoint leaves through laptop's forward hook, the launcher
# starts the client again by itself, and once the server is back the same app
# process gets answers through the tunnel again. --json-events reports down,
# reconnecting and connected. For OpenVPN and for WireGuard (wireguard-go).
# Then the server alone goes away, the client staying: OpenVPN's keepalive, or
# the supervisor's look at wireguard-go's counters, notices; the client
# reconnects by itself; stderr, --json-events and `ls` say so, nothing leaks.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 26-reconnect
tb_topology_up
tb_forward_counters
tb_app loop

# before_outage LABEL CLIENT_RE: sets client and app (the pids of the running
# sandbox's VPN client and app), and other1, laptop's forward counter of packets
# not to the endpoint once a control request around the tunnel has raised it.
before_outage()
{
    client=$(tb_find_desc "$TB_LPID" "$2")
    app=$(tb_find_desc "$TB_LPID" 'app-loop')
    local sup
    sup=$(tb_supervisor_pid "$TB_LPID")
    tb_is "$1 (control): a request from OUTER around the tunnel is counted" \
        "$(tb_outer_curl "$sup" "http://$TB_WHOAMI/")" "$TB_LAPTOP"
    tb_wait 5 tb_counter_settled laptop other
    other1=$(tb_nft_counter laptop other)
}

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
    before_outage "$kind" "$client_re"

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

# ---- the server goes away, the client stays: OpenVPN's own keepalive (the server
# pushes ping 2, ping-restart 10) notices and OpenVPN reconnects by itself;
# WireGuard's handshakes go unanswered and the supervisor's look at wireguard-go's
# counters notices. The launcher reports it (stderr, --json-events, `ls`), and
# nothing leaks meanwhile.
STATE=/run/user/$TB_UID1/nsjail-vpn
tb_on_exit "rm -rf '$STATE'"
# ls_state NAME: the state `ls --json` gives the sandbox NAME.
ls_state()
{
    tb_as_cmd "$TB_USER1"
    timeout -k 5 20 "${TB_AS[@]}" "$TB_LAUNCHER" ls --json </dev/null 2>/dev/null |
        "$TB_PY" -c 'import json, sys
print(" ".join(o["state"] for o in map(json.loads, sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
state_is() { [[ $(ls_state "$1") == "$2" ]]; }

# stall NAME CONFIG CLIENT_RE SERVER WHY: the story for one kind of client; WHY is
# what the launcher must give as the reason.
stall()
{
    local name=$1 config=$2 client_re=$3 server=$4 why=$5 client app other1 t1 t2 events
    events=$TB_T/$name.events
    tb_launch "$name" "$TB_USER1" --name "$name" --json-events 3 --vpn "$config" -- \
        "${TB_APP[@]}" "http://$TB_WHOAMI/" 3>"$events"
    if ! tb_wait_output "$name" 60 "ok $TB_PROVIDER\$"; then
        tb_not_ok "$name: the app's requests go through the tunnel"
        tb_diag_file "$TB_T/$name.out" "$TB_T/$name.err"
        return
    fi
    tb_ok "$name: the app's requests go through the tunnel"
    tb_is "$name: ls says connected" "$(ls_state "$name")" connected
    before_outage "$name" "$client_re"

    tb_stop "$server"
    t1=$(date +%s%N)
    tb_wait 45 state_is "$name" down
    tb_is "$name: ls says down once the client's keepalive gave up" "$(ls_state "$name")" down
    tb_check "$name: the launcher said why on stderr" \
        grep -q "the VPN connection was lost ($why); .*, the apps are offline meanwhile" \
        "$TB_T/$name.err"
    tb_is "$name: the same client process goes on (nobody had to start one)" \
        "$(tb_find_desc "$TB_LPID" "$client_re")" "$client"
    three_failures() { (($(tb_requests_after "$TB_T/$name.out" "$t1" | grep -c ' fail$') >= 3)); }
    tb_wait 30 three_failures
    tb_check "$name: the app's requests fail meanwhile" three_failures
    tb_is "$name: no request during the outage succeeded" \
        "$(tb_requests_after "$TB_T/$name.out" "$t1" | grep ' ok ')" ""
    tb_is "$name: nothing but packets to the endpoint left through laptop's forward hook" \
        "$(tb_nft_counter laptop other)" "$other1"

    if [[ $server == wg-server ]]; then
        tb_start_wg_server
    else
        tb_start_vpn_server "${server#vpn-}"
    fi
    t2=$(date +%s%N)
    answered() { tb_requests_after "$TB_T/$name.out" "$t2" | grep -q " ok $TB_PROVIDER\$"; }
    tb_wait 40 answered
    tb_check "$name: with the server back, the requests succeed again" answered
    tb_wait 10 state_is "$name" connected
    tb_is "$name: ls says connected again" "$(ls_state "$name")" connected
    tb_check "$name: the launcher said the VPN is connected again" \
        grep -q "the VPN is connected again: ${6:-}" "$TB_T/$name.err"
    tb_is "$name: the same app process made them" "$(tb_find_desc "$TB_LPID" 'app-loop')" "$app"
    tb_is "$name: --json-events: connected, down, reconnecting, connected" \
        "$("$TB_PY" -c 'import json, sys
print(" ".join(json.loads(l)["event"] for l in open(sys.argv[1])))' "$events")" \
        "connected down reconnecting connected"
    tb_diag_file "$TB_T/$name.err" "$events"
    tb_stop "$name"
}

stall keepalive "$TB/client/full.ovpn" '^[^ ]*openvpn ' vpn-full "OpenVPN's ping-restart" \
    "$TB_FULL_CLIENT"
stall wg-stall "$TB/client/wg-full.conf" '^[^ ]*wireguard-go ' wg-server \
    "no answer from the WireGuard peer for 20 s" "$TB_WG_CLIENT"

# ---- a wireguard-go that stops answering (SIGSTOP) does not stall the supervisor,
# which still passes the launcher's signals on to the app: its question times out,
# and is asked again once wireguard-go runs again.
tb_launch wg-frozen "$TB_USER1" --vpn "$TB/client/wg-full.conf" -- \
    sh -c 'echo ready; exec sleep 600'
if tb_wait_output wg-frozen 60 '^ready$'; then
    wg=$(tb_find_desc "$TB_LPID" '^[^ ]*wireguard-go ')
    kill -STOP "$wg"
    warned() { grep -q "cannot ask wireguard-go about the tunnel" "$TB_T/wg-frozen.err"; }
    tb_wait 10 warned
    tb_check "frozen: the launcher says it cannot ask wireguard-go about the tunnel" warned
    kill -CONT "$wg"
    answers() { grep -q "wireguard-go answers again" "$TB_T/wg-frozen.err"; }
    tb_wait 10 answers
    tb_check "frozen: once it runs again, the launcher asks it again, and says so" answers
    kill -STOP "$wg"
    sleep 3 # a look or two that time out
    kill -TERM "$TB_LPID"
    tb_wait_exit wg-frozen 10
    tb_is "frozen: SIGTERM still reaches the app (status 143)" "$TB_STATUS" 143
    kill -CONT "$wg" 2>/dev/null
else
    tb_not_ok "frozen: the app started"
fi
tb_diag_file "$TB_T/wg-frozen.err"
tb_stop wg-frozen

# ---- an idle WireGuard tunnel (one request, then nothing, and the passive
# keepalive that follows it) is not a lost one: after longer than the 20 s limit,
# ls still says connected and nothing was reported.
tb_launch wg-idle "$TB_USER1" --name wg-idle --json-events 3 --vpn "$TB/client/wg-full.conf" -- \
    sh -c 'curl -sS --max-time 5 "http://'"$TB_WHOAMI"'/"; echo; exec sleep 60' \
    3>"$TB_T/wg-idle.events"
if tb_wait_output wg-idle 60 "^$TB_PROVIDER\$"; then
    sleep 26
    tb_is "idle: ls still says connected after 26 s without traffic" "$(ls_state wg-idle)" connected
    tb_is "idle: no event but the first connected" \
        "$("$TB_PY" -c 'import json, sys
print(" ".join(json.loads(l)["event"] for l in open(sys.argv[1])))' "$TB_T/wg-idle.events")" \
        connected
else
    tb_not_ok "idle: the app reached whoami through the tunnel"
fi
tb_diag_file "$TB_T/wg-idle.err"
tb_stop wg-idle
tb_done
