#!/bin/bash
# Test 11: the helper turns on forwarding on laptop's uplink (the sandboxes'
# replies need it); that must not make laptop a router for anything else. A
# second network behind laptop (corp) must stay unreachable from world after
# a sandbox has run. Control: with the same forwarding but without
# nsjail-vpn's table, world's packets do reach corp, so the probe can see a
# leak when there is one.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 11-no-router
tb_topology_up

CORP_NET=198.18.100.0/24
tb_netns_add corp
ip -n laptop link add corp0 type veth peer name c-laptop netns corp
ip -n laptop addr add 198.18.100.1/24 dev corp0
ip -n laptop link set corp0 up
ip -n corp addr add 198.18.100.2/24 dev c-laptop
ip -n corp link set c-laptop up
ip -n corp route add default via 198.18.100.1
ip -n world route add "$CORP_NET" via "$TB_LAPTOP"
tb_in corp nft -f - <<'NFT' || tb_die "cannot add the counting table in corp"
table inet nsjvtest {
    counter udp9999 {
    }
    chain count_pre {
        type filter hook prerouting priority -300; policy accept;
        udp dport 9999 counter name "udp9999"
    }
}
NFT

arrived() { tb_in corp nft list counter inet nsjvtest udp9999 | awk '/packets/ {print $2}'; }
send_from_world()
{
    tb_in world "$TB_PY" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5):
    s.sendto(b"x", ("198.18.100.2", 9999))'
}

# Control: forwarding on uplink0 alone, no table of ours, routes world's packets to corp.
ip netns exec laptop sysctl -qw net.ipv4.conf.uplink0.forwarding=1
before=$(arrived)
send_from_world
tb_wait 5 test "$(arrived)" -gt "$before"
tb_check "control: with uplink0 forwarding and no nsjail-vpn table, world reaches corp" \
    test "$(arrived)" -gt "$before"
ip netns exec laptop sysctl -qw net.ipv4.conf.uplink0.forwarding=0

tb_run nat 30 "$TB_USER1" --net nat -- true
tb_is "a --net nat sandbox ran" "$TB_STATUS" 0
tb_is "the helper left forwarding on for uplink0 (as the replies need)" \
    "$(ip netns exec laptop sysctl -n net.ipv4.conf.uplink0.forwarding)" 1
before=$(arrived)
send_from_world
sleep 0.5 # a packet that is not going to arrive cannot be waited for
tb_is "after a sandbox ran, world's packets to corp are not forwarded by laptop" "$(arrived)" "$before"
tb_done
