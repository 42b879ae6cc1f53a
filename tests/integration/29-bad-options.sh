#!/bin/bash
# Test 29: bad values for every option of the launcher and of its commands
# (exec, ls, stop). Each is refused with status 125 and one message that says
# what is wrong (and, where there is one, a hint naming the fix); the app
# never starts, no helper runs, and laptop (the host) and the user's state
# directory are exactly as before. A control run with good values shows that
# the same launcher, user and app do start.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 29-bad-options
tb_topology_up

STATE=/run/user/$TB_UID1/nsjail-vpn
tb_on_exit "rm -rf '$STATE'"
APP=(sh -c 'echo app-started')
printf 'not a VPN configuration\n' >"$TB_T/junk.conf"
chmod 0644 "$TB_T/junk.conf"
printf 'client\nremote 203.0.113.20\n' >"$TB_T/secret.ovpn"
chmod 0600 "$TB_T/secret.ovpn" # root's: the test user cannot read it

# control: the user, launcher and app as used below do run.
tb_run control 30 "$TB_USER1" --net none -- "${APP[@]}"
tb_is "control: good values run the app" "$TB_STATUS:$(cat "$TB_T/control.out")" "0:app-started"
before=$(tb_laptop_state)
state_before=$(ls -A "$STATE" 2>/dev/null)

n=0
# bad LABEL PATTERN [HINT] -- ARGS...: the launcher with ARGS (an app follows
# unless ARGS ends in "--app-none") refuses with 125, PATTERN on its first line
# of stderr and HINT (if not empty) on a hint line.
bad()
{
    local label=$1 pattern=$2 hint=$3 args=() name
    shift 4
    args=("$@")
    n=$((n + 1))
    name=bad$n
    tb_run "$name" 30 "$TB_USER1" "${args[@]}"
    tb_is "$label: status 125" "$TB_STATUS" 125
    tb_check "$label: says: $pattern" grep -q -e "$pattern" <(head -n 1 "$TB_T/$name.err")
    [[ -z $hint ]] || tb_check "$label: hints: $hint" grep -q -e "hint: .*$hint" "$TB_T/$name.err"
    tb_is "$label: the app never started" "$(cat "$TB_T/$name.out")" ""
    tb_diag_file "$TB_T/$name.err"
}

# ---- the network
bad "no network" "no network chosen" "--net none" -- -- "${APP[@]}"
bad "a mistyped command" "no network chosen" "'lss' is taken as the app to run" -- lss
bad "two networks" "choose one network" "" -- --net none --vpn "$TB_T/junk.conf" -- "${APP[@]}"
bad "--net foo" "unknown network 'foo' for --net" "--net none" -- --net foo -- "${APP[@]}"
bad "--net ''" "--net is empty" "--net none or --net nat" -- --net '' -- "${APP[@]}"
bad "--vpn ''" "--vpn is empty" "--vpn FILE" -- --vpn '' -- "${APP[@]}"
bad "--vpn-cmd ''" "--vpn-cmd is empty" "openconnect" -- --vpn-cmd '' -- "${APP[@]}"
bad "--vpn missing" "cannot read the VPN configuration '/nonexistent'" "" -- \
    --vpn /nonexistent -- "${APP[@]}"
bad "--vpn a directory" "not a regular file" "" -- --vpn /tmp -- "${APP[@]}"
bad "--vpn unreadable" "cannot read the VPN configuration .*Permission denied" "" -- \
    --vpn "$TB_T/secret.ovpn" -- "${APP[@]}"
bad "--vpn neither kind" "cannot use the VPN configuration .*no 'remote' server" "" -- \
    --vpn "$TB_T/junk.conf" -- "${APP[@]}"
bad "--vpn-type foo" "unknown --vpn-type 'foo'" "--vpn-type openvpn or --vpn-type wireguard" -- \
    --vpn-type foo --vpn "$TB_T/junk.conf" -- "${APP[@]}"
bad "--vpn-type without --vpn" "it has no use without --vpn" "" -- \
    --vpn-type wireguard --net none -- "${APP[@]}"
bad "--vpn-cmd with a shell metacharacter" "';' at character 14 is special to sh" "" -- \
    --vpn-cmd 'openconnect x; touch /tmp/nsjv-29' -- "${APP[@]}"
tb_check "--vpn-cmd with a shell metacharacter: nothing ran" test ! -e /tmp/nsjv-29

# ---- DNS, timeouts, events
bad "--dns not an address" "not an IP address for --dns: 'example.org'" "" -- \
    --dns example.org --net nat -- "${APP[@]}"
bad "--dns ''" "not an IP address for --dns: ''" "" -- --dns '' --net nat -- "${APP[@]}"
bad "--dns loopback" "--dns 127.0.0.53 means this host (loopback)" \
    "a resolver the sandbox can reach" -- --dns 127.0.0.53 --net nat -- "${APP[@]}"
bad "--dns ::1" "--dns ::1 means this host" "" -- --dns ::1 --net nat -- "${APP[@]}"
bad "--dns 0.0.0.0" "--dns 0.0.0.0 means this host" "" -- --dns 0.0.0.0 --net nat -- "${APP[@]}"
bad "--keep=maybe" "keep" "--help" -- --keep=maybe --net none -- "${APP[@]}"
tb_is "--keep=maybe: not called a number" "$(grep -c 'whole number' "$TB_T/bad$n.err")" 0
bad "--connect-timeout 0" "between 1 and 3600 seconds, not 0" "" -- \
    --connect-timeout 0 --net none -- "${APP[@]}"
bad "--connect-timeout 3601" "between 1 and 3600 seconds, not 3601" "" -- \
    --connect-timeout 3601 --net none -- "${APP[@]}"
bad "--connect-timeout abc" "--connect-timeout takes a whole number in range, not 'abc'" \
    "--help" -- --connect-timeout abc --net none -- "${APP[@]}"
bad "--connect-timeout huge" "takes a whole number in range, not '99999999999999999999'" "" -- \
    --connect-timeout 99999999999999999999 --net none -- "${APP[@]}"
bad "--json-events 1" "--json-events 1: not a file descriptor open for writing above 2" \
    "3>>events.jsonl" -- --json-events 1 --net none -- "${APP[@]}"
bad "--json-events of a closed fd" "--json-events 9: not a file descriptor" "" -- \
    --json-events 9 --net none -- "${APP[@]}"
bad "--json-events x" "--json-events takes a whole number in range, not 'x'" "" -- \
    --json-events x --net none -- "${APP[@]}"

# ---- names
bad "--name with a capital" "not a sandbox name: 'Work'" "lower-case letters" -- \
    --name Work --net none -- "${APP[@]}"
bad "--name too long" "not a sandbox name" "1 to 24" -- \
    --name "$(printf 'a%.0s' {1..25})" --net none -- "${APP[@]}"
bad "--name with a slash" "not a sandbox name: '../x'" "" -- --name ../x --net none -- "${APP[@]}"
bad "--name=" "not a sandbox name: ''" "" -- --name= --net none -- "${APP[@]}"
bad "--keep without --name" "--keep keeps a named sandbox: it needs --name NAME" "" -- \
    --keep --net none -- "${APP[@]}"
bad "--publish without --name" "--publish shows a named sandbox: it needs --name NAME" "" -- \
    --publish --net none -- "${APP[@]}"

# ---- the rest
bad "-v and -q" "-v and -q contradict each other" "" -- -v -q --net none -- "${APP[@]}"
bad "an unknown option" "not expected: --colour" "--help" -- --colour --net none -- "${APP[@]}"
bad "exec without a name" "usage: nsjail-vpn exec" "" -- exec
bad "exec of a bad name" "not a sandbox name: 'A'" "" -- exec A -- true
bad "exec of no such sandbox" "no sandbox named 'nosuch' (see 'nsjail-vpn ls')" "" -- \
    exec nosuch -- true
bad "exec without a command" "no COMMAND to run in the sandbox 'nosuch'" \
    "nsjail-vpn exec nosuch -- curl" -- exec nosuch
bad "stop of no such sandbox" "no sandbox named 'nosuch'" "" -- stop nosuch
bad "stop with extra words" "usage: nsjail-vpn" "" -- stop a b
bad "ls with a word" "usage: nsjail-vpn" "" -- ls extra

tb_is "after $n refusals: laptop (the host) is unchanged" "$(tb_laptop_state)" "$before"
tb_is "after $n refusals: the user's state directory is unchanged" \
    "$(ls -A "$STATE" 2>/dev/null)" "$state_before"
tb_is "after $n refusals: no process of the test users is left" "$(tb_user_procs)" ""
tb_done
