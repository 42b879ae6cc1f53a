#!/bin/bash
# Test 25: laptop changes uplinks under running sandboxes (Wi-Fi to a dock).
# laptop gets a second uplink, uplink1 (203.0.113.50/28, a veth to world's
# w-laptop2, 203.0.113.49/28), and a helper policy that lists both uplinks.
# A --net nat app and a --vpn app loop requests to whoami; laptop moves its
# default route to uplink1 and takes uplink0 down (control: laptop's own
# request now comes from 203.0.113.50). The apps' next requests must succeed:
# the --net nat app's seen from uplink1's address, the --vpn app's from the
# provider's. Twice: with uplink1 there before the sandboxes started, and
# plugged in only after they did (a dock). Control for the second case: a
# sandbox started after the dock appeared works.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 25-uplink-change
tb_topology_up

LAPTOP2=203.0.113.50
GW2=203.0.113.49
URL=http://$TB_WHOAMI/
hs_policy "allow-user $TB_USER1" "uplink uplink1"

# dock_in: the second uplink, up, with its address (no default route yet).
dock_in()
{
    ip -n world link add w-laptop2 type veth peer name uplink1 netns laptop &&
        ip -n world addr add "$GW2/28" dev w-laptop2 &&
        ip -n laptop addr add "$LAPTOP2/28" dev uplink1 &&
        ip -n world link set w-laptop2 up &&
        ip -n laptop link set uplink1 up &&
        tb_wait 5 tb_lower_up laptop uplink1 ||
        tb_die "cannot plug in laptop's second uplink"
}

# move_to_dock: laptop's default route through uplink1, then uplink0 down.
move_to_dock()
{
    ip -n laptop route replace default via "$GW2" dev uplink1 &&
        ip -n laptop link set uplink0 down || tb_die "cannot move laptop's default route"
}

# back_home: uplink0 up with its default route again, the dock unplugged.
back_home()
{
    ip -n laptop link set uplink0 up &&
        tb_wait 5 tb_lower_up laptop uplink0 &&
        ip -n laptop route replace default via "$TB_LAPTOP_GW" dev uplink0 &&
        ip -n laptop link del uplink1 || tb_die "cannot put laptop's uplinks back"
}

# oks_after NAME NS ANSWER: the loop app's requests begun after NS answered ANSWER.
oks_after() { tb_requests_after "$TB_T/$1.out" "$2" | awk -v a="$3" '$4 == "ok" && $5 == a'; }
recovered() { [[ -n $(oks_after "$@") ]]; }
# first_ok_ms NAME NS ANSWER: how long after NS the first such request began.
first_ok_ms() { oks_after "$@" | awk -v t="$2" 'NR == 1 {printf "%d", ($3 - t) / 1e6}'; }

both_alive() { tb_alive "$(tb_pid_of "$1-nat")" && tb_alive "$(tb_pid_of "$1-vpn")"; }

# start_apps PREFIX: a --net nat and a --vpn loop app (PREFIX-nat, PREFIX-vpn),
# waited for until each has an answer through uplink0.
start_apps()
{
    tb_app loop
    tb_launch "$1-nat" "$TB_USER1" --net nat -- "${TB_APP[@]}" "$URL"
    tb_launch "$1-vpn" "$TB_USER1" --vpn "$TB/client/full.ovpn" -- "${TB_APP[@]}" "$URL"
    if tb_wait_output "$1-nat" 60 "ok $TB_LAPTOP\$" &&
        tb_wait_output "$1-vpn" 60 "ok $TB_PROVIDER\$"; then
        tb_ok "$1: both apps reach whoami through uplink0 (nat: $TB_LAPTOP, vpn: $TB_PROVIDER)"
        return 0
    fi
    tb_not_ok "$1: both apps reach whoami through uplink0 (nat: $TB_LAPTOP, vpn: $TB_PROVIDER)"
    tb_diag_file "$TB_T/$1-nat.out" "$TB_T/$1-nat.err" "$TB_T/$1-vpn.out" "$TB_T/$1-vpn.err"
    return 1
}

# the_move PREFIX: move laptop to the dock and check both apps.
the_move()
{
    local p=$1 t ok=1
    tb_is "$p (control): before the move laptop's own request comes from $TB_LAPTOP" \
        "$(tb_curl laptop "$URL")" "$TB_LAPTOP"
    t=$(date +%s%N)
    move_to_dock
    tb_is "$p (control): after the move laptop's own request comes from $LAPTOP2" \
        "$(tb_curl laptop "$URL")" "$LAPTOP2"
    tb_wait 30 recovered "$p-nat" "$t" "$LAPTOP2"
    if tb_check "$p: the --net nat app's next requests succeed, seen from $LAPTOP2" \
        recovered "$p-nat" "$t" "$LAPTOP2"; then
        tb_diag "first answer $(first_ok_ms "$p-nat" "$t" "$LAPTOP2") ms after the move"
    else
        tb_diag "$(tail -n 3 "$TB_T/$p-nat.out")"
        ok=0
    fi
    # OpenVPN's flow was masqueraded to uplink0's address: it needs a new
    # conntrack entry (uplink0 down flushes the old one) and the server must take
    # the new address (float, or a reconnect after ping-restart, 10 s here).
    tb_wait 60 recovered "$p-vpn" "$t" "$TB_PROVIDER"
    if tb_check "$p: the --vpn app's next requests succeed, seen from the provider" \
        recovered "$p-vpn" "$t" "$TB_PROVIDER"; then
        tb_diag "first answer $(first_ok_ms "$p-vpn" "$t" "$TB_PROVIDER") ms after the move"
    else
        tb_diag "$(tail -n 3 "$TB_T/$p-vpn.out")"
        ok=0
    fi
    tb_check "$p: both launchers still run" both_alive "$p"
    if ((!ok)); then
        tb_diag "laptop: uplink1 forwarding=$(tb_in laptop cat /proc/sys/net/ipv4/conf/uplink1/forwarding)" \
            "$(ip -n laptop -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" \
            "$(tb_in laptop nft list ruleset | grep -n 'uplink' | head -n 10)"
    fi
    return $((!ok))
}

# ---- uplink1 there from the start
dock_in
start_apps both && the_move both
tb_stop both-vpn
tb_stop both-nat
back_home
tb_is "back home (control): laptop's own request comes from $TB_LAPTOP again" \
    "$(tb_curl laptop "$URL")" "$TB_LAPTOP"

# ---- uplink1 plugged in after the sandboxes started
tb_check "dock (control): laptop has no uplink1 now" test -z "$(ip -n laptop -o link show dev uplink1 2>/dev/null)"
if start_apps dock; then
    dock_in
    the_move dock
    hotplug=$?
    tb_run late 30 "$TB_USER1" --net nat -- curl -sS --max-time 5 "$URL"
    tb_is "dock (control): a --net nat sandbox started after the dock appeared reaches whoami from $LAPTOP2" \
        "$TB_STATUS:$(cat "$TB_T/late.out")" "0:$LAPTOP2"
    if ((hotplug)); then
        t=$(date +%s%N)
        tb_wait 10 recovered dock-nat "$t" "$LAPTOP2"
        tb_log "after a sandbox started with the dock there, the first --net nat app" \
            "$(recovered dock-nat "$t" "$LAPTOP2" && echo "works again" || echo "still fails")"
    fi
fi
tb_stop dock-vpn
tb_stop dock-nat
tb_done
