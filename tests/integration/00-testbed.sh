#!/bin/bash
# Test 0: the test bed itself, without the product. A plain root OpenVPN
# client in laptop proves that the servers, PKI, pushed routes and resolvers
# behave as the product's tests assume, so a failure in tests 1-9 is the
# product's and not the bed's. Then the detectors of tests 3 and 8 are
# pointed at a fake sandbox without any protection (tb_fake_sandbox): each
# must see the leak it exists to catch, or a pass in test 3 or 8 means nothing.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 00-testbed
tb_topology_up

whoami1() { tb_curl laptop "http://$TB_WHOAMI/"; }
whoami2() { tb_curl laptop "http://$TB_WHOAMI2/"; }

tb_is "laptop reaches whoami and is seen as itself" "$(whoami1)" "$TB_LAPTOP"
tb_is "laptop reaches the second whoami" "$(whoami2)" "$TB_LAPTOP"
tb_is "laptop's resolver (its resolv.conf) answers public.test" \
    "$(tb_in laptop getent hosts public.test | awk '{print $1}')" "$TB_WHOAMI2"
tb_is "laptop's resolver answers vpn.provider.test" \
    "$(tb_in laptop getent hosts vpn.provider.test | awk '{print $1}')" "$TB_PROVIDER"
tb_is "laptop's resolver does not know secret.vpn.test" \
    "$(tb_in laptop "$TB_PY" "$TB_LIB/dnsq.py" "$TB_WORLD_DNS" secret.vpn.test)" NXDOMAIN

# client NAME CONFIG [DIR]: a root OpenVPN client in laptop, connected.
client()
{
    tb_spawn "client-$1" laptop openvpn --cd "${3:-$TB/client}" --config "$2" --disable-dco \
        --dev "tb$1" --dev-type tun
    tb_wait_log 20 "client-$1" "Initialization Sequence Completed"
}

# unclient NAME: stop it and wait for its tun device to go.
unclient()
{
    tb_stop "client-$1"
    tb_wait 5 sh -c "! ip -n laptop link show tb$1"
}

if client full full.ovpn; then
    tb_ok "full-tunnel client connects"
    tb_is "full tunnel: fixed client address" \
        "$(ip -n laptop -4 -o addr show dev tbfull | awk '{print $4}')" "$TB_FULL_CLIENT/24"
    tb_is "full tunnel: whoami sees the provider" "$(whoami1)" "$TB_PROVIDER"
    tb_is "full tunnel: the second whoami sees the provider too" "$(whoami2)" "$TB_PROVIDER"
    tb_is "full tunnel: the VPN's resolver answers secret.vpn.test" \
        "$(tb_in laptop "$TB_PY" "$TB_LIB/dnsq.py" "$TB_FULL_DNS" secret.vpn.test)" "$TB_SECRET"
    tb_check "full tunnel: server pushed redirect-gateway and DNS" \
        grep -q "PUSH_REPLY.*redirect-gateway def1.*dhcp-option DNS $TB_FULL_DNS" \
        "$TB_T/logs/client-full.log"
else
    tb_not_ok "full-tunnel client connects"
    tb_diag_file "$TB_T/logs/client-full.log"
fi
unclient full
tb_is "after the client, laptop is itself again" "$(whoami1)" "$TB_LAPTOP"

if client split split.ovpn; then
    tb_ok "split-tunnel client connects"
    tb_is "split tunnel: fixed client address" \
        "$(ip -n laptop -4 -o addr show dev tbsplit | awk '{print $4}')" "$TB_SPLIT_CLIENT/24"
    tb_is "split tunnel: the pushed route goes through the tunnel" "$(whoami1)" "$TB_PROVIDER"
    tb_is "split tunnel: other addresses do not" "$(whoami2)" "$TB_LAPTOP"
    tb_is "split tunnel: the VPN's resolver answers on $TB_SPLIT_DNS" \
        "$(tb_in laptop "$TB_PY" "$TB_LIB/dnsq.py" "$TB_SPLIT_DNS" secret.vpn.test)" "$TB_SECRET"
else
    tb_not_ok "split-tunnel client connects"
    tb_diag_file "$TB_T/logs/client-split.log"
fi
unclient split

if client provider provider.ovpn "$TB/client/provider"; then
    tb_ok "provider-style file (host name, relative paths, up/down script) connects as root"
    tb_is "provider-style file: whoami sees the provider" "$(whoami1)" "$TB_PROVIDER"
else
    tb_not_ok "provider-style file (host name, relative paths, up/down script) connects as root"
    tb_diag_file "$TB_T/logs/client-provider.log"
fi
unclient provider

# ---- the detectors, against a sandbox that has none of the helper's
# protections and a VPN client in the same namespace as its app
tb_fake_sandbox fake
tb_forward_counters
tb_udp_counter

# Each poll sends one more packet: the first may meet a link not quite ready.
ra_taken() { tb_in fake "$TB_PY" "$TB_LIB/rawpkt.py" ra eth0 "$TB_RA_PREFIX" 1 && tb_ra_effect; }
tb_wait 5 ra_taken
tb_check "RA detector (test 8): laptop takes an unprotected sandbox's RA" tb_ra_effect

c0=$(tb_nft_counter world udp9999)
spoof_arrives()
{
    tb_in fake "$TB_PY" "$TB_LIB/rawpkt.py" udp 203.0.113.99 "$TB_WHOAMI" 9999 1 eth0 &&
        (($(tb_nft_counter world udp9999) > c0))
}
tb_wait 5 spoof_arrives
tb_check "spoof detector (test 8): spoofed datagrams leave an unprotected laptop, rp_filter=2" \
    test "$(tb_nft_counter world udp9999)" -gt "$c0"

tb_spawn laptop-svc laptop "$TB_PY" "$TB_LIB/whoami.py" --ready "$TB_T/state/svc.ready" 0.0.0.0:8080
tb_wait 10 test -e "$TB_T/state/svc.ready"
tb_is "service detector (test 8): an unprotected sandbox reaches laptop's service" \
    "$(tb_curl fake "http://$TB_LAPTOP:8080/")" 198.18.65.1

tb_spawn fake-vpn fake openvpn --cd "$TB/client" --config full.ovpn --disable-dco --dev tbfake \
    --dev-type tun
tb_wait_log 20 fake-vpn "Initialization Sequence Completed"
tb_app loop
tb_spawn fake-app fake "${TB_APP[@]}" "http://$TB_WHOAMI/"
if tb_wait 20 grep -q "ok $TB_PROVIDER\$" "$TB_T/logs/fake-app.log"; then
    tb_wait 5 tb_counter_settled laptop other
    other1=$(tb_nft_counter laptop other)
    tb_stop vpn-full
    tb_stop fake-vpn
    outage=$(date +%s%N)
    three() { (($(tb_requests_after "$TB_T/logs/fake-app.log" "$outage" | wc -l) >= 3)); }
    tb_wait 30 three
    tb_check "kill-switch detector (test 3): a single-namespace client leaks after the outage" \
        grep -q " ok $TB_LAPTOP\$" <(tb_requests_after "$TB_T/logs/fake-app.log" "$outage")
    tb_check "kill-switch detector (test 3): the leak makes the non-endpoint counter rise" \
        test "$(tb_nft_counter laptop other)" -gt "$other1"
else
    tb_not_ok "kill-switch detector (test 3): the fake sandbox's requests go through its VPN"
    tb_diag_file "$TB_T/logs/fake-vpn.log" "$TB_T/logs/fake-app.log"
fi

tb_done
