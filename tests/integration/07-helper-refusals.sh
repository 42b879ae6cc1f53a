#!/bin/bash
# Test 7: the helper refuses, leaving laptop unchanged: laptop's own netns fd,
# a netns created by root, another user's sandbox netns, a non-namespace fd,
# unknown arguments, a user not in the policy, a pool containing laptop's
# gateway. Each refusal must give the documented status, exactly one line on
# stderr, the documented message, no output, and change nothing in laptop
# (tb_laptop_state: links, addresses, routes, rules, ruleset, sysctls, /run).
# A valid request at the end must succeed and change laptop (the control).
# Tests 13-18 go on from here (tests/lib/hostile.sh).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 07-helper-refusals
tb_topology_up

hs_holder "$TB_USER1" own-netns
own=$HS_PID
hs_holder "$TB_USER2" other-netns
other=$HS_PID
own_user=/proc/$own/ns/user own_net=/proc/$own/ns/net

# The caller's own laptop netns, opened by the caller inside laptop.
laptop_self() { tb_as "$TB_USER1" sh -c 'exec "$0" attach 3</proc/self/ns/net' "$TB_HELPER" \
    >"$TB_T/h.out" 2>"$TB_T/h.err"; H_RC=$?; }
hs_refused "laptop's own netns" 4 "$HS_NOT_NETNS" laptop_self

tb_netns_add victim
victim_before=$(ip -n victim -o link show)
hs_refused "a netns created by root" 4 "$HS_HOST_NETNS" \
    hs_helper "$TB_USER1" /run/netns/victim attach
tb_is "a netns created by root: its links unchanged" "$(ip -n victim -o link show)" "$victim_before"

hs_refused "another user's own user-namespace netns" 4 "$HS_NOT_CALLERS" \
    hs_helper "$TB_USER1" "/proc/$other/ns/net" attach

# Another user's sandbox: nsjvtest2 runs the launcher; root opens its app's netns.
tb_launch sandbox2 "$TB_USER2" --net none -- sleep 600
sandbox2_settled() { tb_find_desc "$TB_LPID" '^sleep 600' || tb_dead "$TB_LPID"; }
tb_wait 30 sandbox2_settled
if app2=$(tb_find_desc "$TB_LPID" '^sleep 600'); then
    app2_links=$(tb_nsenter "$app2" ip -o link show)
    hs_refused "another user's sandbox netns" 4 "$HS_NOT_CALLERS" \
        hs_helper "$TB_USER1" "/proc/$app2/ns/net" attach
    tb_is "another user's sandbox: its links unchanged" "$(tb_nsenter "$app2" ip -o link show)" \
        "$app2_links"
else
    tb_not_ok "another user's sandbox netns: $TB_USER2's sandbox did not start"
    tb_diag_file "$TB_T/sandbox2.err"
fi
tb_stop sandbox2

hs_refused "fd 3 is /dev/null" 4 "$HS_NOT_NETNS" hs_helper "$TB_USER1" /dev/null attach
hs_refused "fd 3 is a regular file" 4 "$HS_NOT_NETNS" hs_helper "$TB_USER1" /etc/hostname attach
hs_refused "fd 3 is the caller's user namespace (nsfs, not net)" 4 "$HS_NOT_NETNS" \
    hs_helper "$TB_USER1" "$own_user" attach
hs_refused "fd 3 is closed" 4 "$HS_NOT_NETNS" hs_helper "$TB_USER1" - attach

hs_refused "no arguments" 2 "$HS_USAGE" hs_helper "$TB_USER1" "$own_net"
hs_refused "an unknown command" 2 "$HS_USAGE" hs_helper "$TB_USER1" "$own_net" bogus
hs_refused "attach with an unknown option" 2 "$HS_USAGE" \
    hs_helper "$TB_USER1" "$own_net" attach --name evil0
hs_refused "attach with an extra argument" 2 "$HS_USAGE" \
    hs_helper "$TB_USER1" "$own_net" attach extra
argc0() { tb_as "$TB_USER1" "$TB_PY" -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
empty = (ctypes.c_char_p * 1)(None)
libc.execve(sys.argv[1].encode(), empty, empty)
sys.exit("execve: errno %d" % ctypes.get_errno())' "$TB_HELPER" 3<"$own_net" \
    >"$TB_T/h.out" 2>"$TB_T/h.err"; H_RC=$?; }
hs_refused "an empty argv (execve with argc 0)" 2 "$HS_USAGE" argc0

hs_refused "a user not in the policy ($TB_USER2, own netns)" 3 "$HS_NOT_PERMITTED" \
    hs_helper "$TB_USER2" "/proc/$other/ns/net" attach

cp -p "$TB_POLICY" "$TB_T/policy.orig"
tb_on_exit "cp -p '$TB_T/policy.orig' '$TB_POLICY'"
policy_with() { sed "s|^pool .*|pool $1|" "$TB_T/policy.orig" >"$TB_POLICY"; }

policy_with 203.0.113.32/28
hs_refused "a pool containing laptop's gateway ($TB_LAPTOP_GW)" 5 \
    "refused: a pool of the helper policy contains a gateway of the host" \
    hs_helper "$TB_USER1" "$own_net" attach
policy_with 198.51.100.48/28
hs_refused "a pool containing laptop's nameserver ($TB_WORLD_DNS)" 5 \
    "refused: a pool of the helper policy contains a nameserver of the host" \
    hs_helper "$TB_USER1" "$own_net" attach
printf 'allow-user %s\npool 198.18.64.0/24\nthis is not a policy line\n' "$TB_USER1" >"$TB_POLICY"
hs_refused "a policy with a parse error" 3 "$HS_INVALID" hs_helper "$TB_USER1" "$own_net" attach
rm -f "$TB_POLICY"
hs_refused "no policy file" 3 "refused: no helper policy '$TB_POLICY'" \
    hs_helper "$TB_USER1" "$own_net" attach
cp -p "$TB_T/policy.orig" "$TB_POLICY"

# Control: the same helper, a valid request.
before=$(tb_laptop_state)
# refresh: the same checks of the caller and fd 3 as attach, and it creates nothing.
laptop_self_refresh() { tb_as "$TB_USER1" sh -c 'exec "$0" refresh 3</proc/self/ns/net' \
    "$TB_HELPER" >"$TB_T/h.out" 2>"$TB_T/h.err"; H_RC=$?; }
hs_refused "refresh: laptop's own netns" 4 "$HS_NOT_NETNS" laptop_self_refresh
hs_refused "refresh: another user's own user-namespace netns" 4 "$HS_NOT_CALLERS" \
    hs_helper "$TB_USER1" "/proc/$other/ns/net" refresh
hs_refused "refresh: fd 3 closed" 4 "$HS_NOT_NETNS" hs_helper "$TB_USER1" - refresh
hs_helper "$TB_USER1" "$own_net" refresh
tb_is "refresh: a valid request succeeds with its one line" "$H_RC:$(cat "$TB_T/h.out")" \
    "0:v1 refreshed"
tb_is "refresh: it created no host end" "$(tb_hostlinks)" ""
tb_is "refresh: no veth in the caller's netns either" \
    "$(tb_nsenter "$own" ip -o link show | grep -c eth0)" 0

hs_helper "$TB_USER1" "$own_net" attach
after=$(tb_laptop_state)
if tb_is "control: a valid request succeeds" "$H_RC" 0; then
    tb_check "control: it prints 'v1 nsjvN HOST PEER 31 eth0'" grep -Eqx \
        'v1 nsjv[0-9]+ 198\.18\.64\.[0-9]+ 198\.18\.64\.[0-9]+ 31 eth0' "$TB_T/h.out"
    tb_check "control: the peer eth0 is in the caller's netns" tb_nsenter "$own" ip link show eth0
    tb_check_fails "control: laptop changed (so the comparisons above can fail)" \
        test "$before" == "$after"
else
    tb_diag_file "$TB_T/h.out" "$TB_T/h.err"
fi
tb_stop own-netns
tb_wait 10 tb_no_hostlink
tb_is "control: the host end went with the caller's netns" "$(tb_hostlinks)" ""
tb_done
