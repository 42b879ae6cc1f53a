#!/bin/bash
# Test 6: after normal exit and after SIGKILL of the launcher, no process of
# the sandbox survives and laptop has no extra interface or address (polling
# with a deadline). Also: rules do not grow per sandbox.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 06-cleanup
tb_topology_up

base=$(tb_links_addrs)
links_back() { [[ $(tb_links_addrs) == "$base" ]]; }
pidns_procs()
{
    local d
    for d in /proc/[0-9]*; do
        [[ $(readlink "$d/ns/pid" 2>/dev/null) == "$1" ]] && echo "${d#/proc/}"
    done
}
has_sandbox()
{
    [[ -n $1 && $1 != "$(readlink /proc/self/ns/pid)" && -n $(pidns_procs "$1") ]] &&
        tb_openvpn_pid "$2" >/dev/null
}
no_pidns_procs() { [[ -z $(pidns_procs "$1") ]]; }
all_dead()
{
    local p
    for p in "$@"; do
        tb_dead "${p%:*}" "${p#*:}" || return 1
    done
}

# sandbox NAME HOW: start a VPN sandbox, record its processes, end it by HOW
# (exit: the app exits 0; kill: SIGKILL to the launcher), then check.
sandbox()
{
    local name=$1 how=$2 procs=() p pidns sup expected
    mkfifo "$TB_T/$name.ctl"
    exec {ctl}<>"$TB_T/$name.ctl"
    TB_STDIN=$TB_T/$name.ctl tb_launch "$name" "$TB_USER1" --vpn "$TB/client/full.ovpn" -- \
        sh -c 'echo ready; read -r _; exit 0' "app-$name"
    if ! tb_wait_output "$name" 60 '^ready$'; then
        tb_not_ok "$how: the sandbox starts"
        tb_diag_file "$TB_T/$name.out" "$TB_T/$name.err"
        return 1
    fi

    for p in $(tb_descendants "$TB_LPID"); do
        procs+=("$p:$(tb_starttime "$p")")
    done
    sup=$(tb_supervisor_pid "$TB_LPID")
    pidns=$(readlink "/proc/$sup/ns/pid")
    tb_log "$how: launcher $TB_LPID, descendants ${procs[*]%:*}, pid namespace $pidns"
    tb_check "$how: control: the sandbox has its own PID namespace, with openvpn in it" \
        has_sandbox "$pidns" "$TB_LPID"
    tb_check "$how: control: laptop has the sandbox's host-side interface" tb_has_hostlink

    if [[ $how == exit ]]; then
        echo go >&"$ctl"
        expected=0
    else
        kill -KILL "$TB_LPID"
        expected=137
    fi
    tb_wait_exit "$name" 30
    tb_is "$how: the launcher's status is $expected" "$TB_STATUS" "$expected"

    tb_wait 10 all_dead "${procs[@]}"
    tb_check "$how: every process the sandbox had is gone" all_dead "${procs[@]}"
    tb_wait 10 no_pidns_procs "$pidns"
    tb_is "$how: no process left in the sandbox's PID namespace" "$(pidns_procs "$pidns")" ""
    tb_wait 10 tb_no_user_procs
    tb_is "$how: no process of the test user left" "$(tb_user_procs)" ""
    if tb_wait 10 links_back; then
        tb_ok "$how: laptop's links and addresses are as before"
    else
        tb_not_ok "$how: laptop's links and addresses are as before"
        tb_diag "$(diff <(echo "$base") <(tb_links_addrs))"
    fi
    exec {ctl}>&-
}

sandbox first exit && ran1=1
rules1=$(tb_in laptop nft -s list ruleset)
sandbox second kill && ran2=1
rules2=$(tb_in laptop nft -s list ruleset)
if [[ -z ${ran1:-} || -z ${ran2:-} ]]; then
    tb_not_ok "laptop's ruleset did not grow with a second sandbox (not checked: no two sandboxes)"
elif [[ $rules1 == "$rules2" ]]; then
    tb_ok "laptop's ruleset did not grow with a second sandbox"
else
    tb_not_ok "laptop's ruleset did not grow with a second sandbox"
    tb_diag "$(diff <(echo "$rules1") <(echo "$rules2"))"
fi
tb_done
