#!/bin/bash
# Test 20: other firewalls on the host. When a table that is not ours drops
# forwarded packets by default (Docker's iptables-nft FORWARD policy, a user's
# own nftables chain, firewalld's reject, legacy iptables' FORWARD policy),
# the sandbox has no network: the launcher must say so and name the fix, and
# the helper must leave those tables exactly as they were. Once the fix from
# the hint is applied, the warning goes and the app reaches whoami. Control:
# without such a table, no warning at all.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 20-coexistence
tb_topology_up

whoami=(curl -sS --max-time 3 "http://$TB_WHOAMI/")
# laptop's ruleset but for our own table.
ruleset()
{
    ip netns exec laptop nft -s list ruleset |
        awk '/^table inet nsjail-vpn /{skip = 1} !skip; skip && /^}/{skip = 0}'
}

# nat NAME: a --net nat app asking whoami; TB_STATUS, and NAME.out/NAME.err.
nat() { tb_run "$1" 30 "$TB_USER1" --net nat -- "${whoami[@]}"; }

nat control
tb_is "control: with no other firewall, the app reaches whoami" "$TB_STATUS" 0
tb_check_fails "control: and no warning about other firewalls" \
    grep -q 'drops\|firewalld' "$TB_T/control.err"

# case NAME NFT-SCRIPT EXPECT-WARNING EXPECT-HINT: the table loaded, the app
# run; the warning and hint must be there and the table unchanged.
case_of()
{
    local name=$1 script=$2 warning=$3 hint=$4 before after
    ip netns exec laptop nft -f - <<<"$script" || tb_die "$name: cannot load the table"
    before=$(ruleset)
    nat "$name"
    after=$(ruleset)
    tb_check_fails "$name: the app has no network (the table drops its packets)" \
        test "$TB_STATUS" == 0
    tb_check "$name: the launcher warns: '$warning'" grep -qF -e "$warning" "$TB_T/$name.err"
    tb_check "$name: and names the fix: '$hint'" grep -qF -e "$hint" "$TB_T/$name.err"
    tb_is "$name: the other table is unchanged" "$after" "$before"
    [[ $before == *table* ]] || tb_not_ok "$name: the comparison saw the table"
}

case_of docker 'table ip filter {
    chain DOCKER-USER { return; }
    chain FORWARD { type filter hook forward priority filter; policy drop; jump DOCKER-USER; }
}' "the host's iptables FORWARD chain drops by default" "iptables -I DOCKER-USER -i nsjv+ -j ACCEPT"

# The fix from the hint, in nft's words (the iptables tool is not installed).
ip netns exec laptop nft insert rule ip filter DOCKER-USER iifname 'nsjv*' accept
ip netns exec laptop nft insert rule ip filter DOCKER-USER oifname 'nsjv*' ct state \
    established,related accept
nat docker-fixed
tb_is "docker, fixed as the hint says: the app reaches whoami" "$TB_STATUS" 0
tb_check_fails "docker, fixed: no warning any more" grep -q 'drops' "$TB_T/docker-fixed.err"
ip netns exec laptop nft delete table ip filter

case_of own 'table inet mine {
    chain myforward { type filter hook forward priority 10; policy drop; }
}' "the host's nftables chain 'inet mine myforward' drops forwarded traffic by default" \
    "nft insert rule inet mine myforward iifname \"nsjv*\" accept"
ip netns exec laptop nft delete table inet mine

case_of firewalld 'table inet firewalld {
    chain filter_FORWARD {
        type filter hook forward priority filter + 10; policy accept;
        ct state established,related accept
        reject with icmpx admin-prohibited
    }
}' "firewalld is running and rejects forwarded traffic" "--zone=trusted --add-interface=nsjv+"
ip netns exec laptop nft delete table inet firewalld

# Legacy iptables (x_tables, no netlink): Docker on hosts switched to it.
xt() { ip netns exec laptop iptables-legacy "$@"; }
xt -P FORWARD DROP || tb_die "cannot set laptop's legacy FORWARD policy"
before=$(xt -S)
nat legacy
tb_check_fails "legacy: the app has no network (the policy drops its packets)" \
    test "$TB_STATUS" == 0
tb_check "legacy: the launcher warns about legacy iptables" \
    grep -qF -e "the host's legacy iptables FORWARD chain drops by default" "$TB_T/legacy.err"
tb_check "legacy: and names the fix" grep -qF -e "iptables -I DOCKER-USER -i nsjv+ -j ACCEPT" \
    "$TB_T/legacy.err"
tb_is "legacy: the legacy table is unchanged" "$(xt -S)" "$before"
xt -I FORWARD -i 'nsjv+' -j ACCEPT
xt -I FORWARD -o 'nsjv+' -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
nat legacy-fixed
tb_is "legacy, fixed as the hint says (FORWARD in place of DOCKER-USER): the app reaches whoami" \
    "$TB_STATUS" 0
tb_check_fails "legacy, fixed: no warning any more" grep -q 'drops' "$TB_T/legacy-fixed.err"
xt -F FORWARD
xt -P FORWARD ACCEPT

# An IPv6-only table is no concern of ours (the sandboxes have no IPv6).
ip netns exec laptop nft -f - <<<'table ip6 six {
    chain myforward { type filter hook forward priority 0; policy drop; }
}'
nat ipv6-only
tb_is "an ip6 table dropping forwarded packets: the app reaches whoami" "$TB_STATUS" 0
tb_check_fails "an ip6 table: no warning" grep -q 'drops' "$TB_T/ipv6-only.err"
ip netns exec laptop nft delete table ip6 six
tb_done
