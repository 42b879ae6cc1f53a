#!/bin/bash
# Test 0: the test bed itself, without the product. A plain root OpenVPN
# client in laptop proves that the servers, PKI, pushed routes and resolvers
# behave as the product's tests assume, so a failure in tests 1-9 is the
# product's and not the bed's. Then the detectors of tests 3 and 8 are
# pointed at a fake sandbox without any protection (tb_fake_sandbox): each
# must see the leak it exists to catch, or a pass in test 3 or 8 means nothing.
# The same for the WireGuard server (a root wireguard-go client, configured
# through tests/lib/wguapi.py from the client files) and the two ocserv
# instances (a root openconnect with tests/lib/oc-script.sh), whose stop by
# name the kill-switch tests rely on.
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

# ---- WireGuard: the provider's wireguard-go server and a root wireguard-go
# client in laptop (tbwg0), configured through UAPI from the client files,
# with the address and routes the way wg-quick would set them.
vpn_dns() { tb_in laptop "$TB_PY" "$TB_LIB/dnsq.py" "$1" secret.vpn.test "${2:-2}"; }
unreachable() { ! vpn_dns "$1" 0.5 >/dev/null 2>&1; }

tb_check "without a tunnel, laptop reaches none of the VPN resolvers ($TB_WG_DNS, $TB_OC_FULL_DNS, $TB_OC_SPLIT_DNS)" \
    eval "unreachable $TB_WG_DNS && unreachable $TB_OC_FULL_DNS && unreachable $TB_OC_SPLIT_DNS"
tb_is "WireGuard server: listens on udp $TB_WG_PORT" \
    "$(tb_wg wg-server "$TB_WG_IF" get listen_port)" "$TB_WG_PORT"
tb_is "WireGuard server: one peer per client key, with its own address" \
    "$(tb_wg wg-server "$TB_WG_IF" peer "$TB_WG_CLIENT_PUB" allowed_ip)/$(tb_wg wg-server "$TB_WG_IF" peer "$TB_WG_CLIENT2_PUB" allowed_ip)" \
    "$TB_WG_CLIENT/32/$TB_WG_CLIENT2/32"
tb_is "WireGuard server: $TB_WG_SERVER/24 on $TB_WG_IF" \
    "$(ip -n provider -4 -o addr show dev "$TB_WG_IF" | awk '{print $4}')" "$TB_WG_SERVER/24"
tb_check "WireGuard server: its UAPI socket is in its own /run, not in the suite's (laptop's) /run" \
    eval "test -S '$(tb_wg_sock wg-server "$TB_WG_IF")' && test ! -e /run/wireguard"

# wg_client CONF: tbwg0 in laptop with CONF's keys, peer, Address and routes
# (AllowedIPs; 0.0.0.0/0 as 0.0.0.0/1 and 128.0.0.0/1, the endpoint kept on
# uplink0). Status 1 when a step fails.
wg_client()
{
    local conf=$1 a
    tb_spawn_wg wg-client laptop tbwg0 &&
        tb_wg wg-client tbwg0 setconf "$conf" || return 1
    for a in $("$TB_PY" "$TB_LIB/wguapi.py" conf "$conf" Address); do
        ip -n laptop addr add "$a" dev tbwg0 || return 1
    done
    ip -n laptop link set tbwg0 up || return 1
    for a in $("$TB_PY" "$TB_LIB/wguapi.py" conf "$conf" AllowedIPs); do
        if [[ $a == 0.0.0.0/0 ]]; then
            ip -n laptop route add "$TB_PROVIDER/32" via "$TB_LAPTOP_GW" dev uplink0 &&
                ip -n laptop route add 0.0.0.0/1 dev tbwg0 &&
                ip -n laptop route add 128.0.0.0/1 dev tbwg0 || return 1
        else
            ip -n laptop route add "$a" dev tbwg0 || return 1
        fi
    done
}

# unwg: stop it (its tun goes with it), remove the endpoint's route.
unwg()
{
    tb_stop wg-client
    tb_wait 5 sh -c "! ip -n laptop link show tbwg0"
    ip -n laptop route del "$TB_PROVIDER/32" 2>/dev/null
    return 0
}

laptop0=$(tb_laptop_state)
# Each client's handshake must be a new one: an earlier client's would not count.
newer_handshake() { (($(tb_wg_handshake "${2:-}") > $1)); }
hs0=$(tb_wg_handshake)
if wg_client "$TB/client/wg-full.conf" && tb_wait 10 newer_handshake "$hs0"; then
    tb_ok "WireGuard full (wg-full.conf): the client's handshake reaches the server"
    tb_is "WireGuard full: whoami sees the provider" "$(whoami1)" "$TB_PROVIDER"
    tb_is "WireGuard full: the second whoami sees the provider too" "$(whoami2)" "$TB_PROVIDER"
    tb_is "WireGuard full: the file's DNS ($TB_WG_DNS) answers secret.vpn.test through the tunnel" \
        "$(vpn_dns "$("$TB_PY" "$TB_LIB/wguapi.py" conf "$TB/client/wg-full.conf" DNS)")" "$TB_SECRET"
else
    tb_not_ok "WireGuard full (wg-full.conf): the client's handshake reaches the server"
    tb_diag_file "$TB_T/logs/wg-client.log" "$TB_T/logs/wg-server.log"
fi
unwg
tb_is "after the WireGuard client, laptop is itself again" "$(whoami1)" "$TB_LAPTOP"
tb_check "after the WireGuard client, laptop's links, addresses, routes, rules, nft, sysctls and /run are as before" \
    diff <(echo "$laptop0") <(tb_laptop_state)

hs0=$(tb_wg_handshake)
if wg_client "$TB/client/wg-split.conf" && tb_wait 10 newer_handshake "$hs0"; then
    tb_ok "WireGuard split (wg-split.conf): the client's handshake reaches the server"
    tb_is "WireGuard split: whoami ($TB_WHOAMI, in AllowedIPs) sees the provider" "$(whoami1)" "$TB_PROVIDER"
    tb_is "WireGuard split: whoami2 ($TB_WHOAMI2, not in AllowedIPs) sees laptop" "$(whoami2)" "$TB_LAPTOP"
    tb_is "WireGuard split: the VPN's resolver answers through the tunnel" "$(vpn_dns "$TB_WG_DNS")" "$TB_SECRET"
else
    tb_not_ok "WireGuard split (wg-split.conf): the client's handshake reaches the server"
    tb_diag_file "$TB_T/logs/wg-client.log" "$TB_T/logs/wg-server.log"
fi
unwg

hs0=$(tb_wg_handshake)
if wg_client "$TB/client/wg-name.conf" && tb_wait 10 newer_handshake "$hs0"; then
    tb_ok "WireGuard by name (wg-name.conf): the client's handshake reaches the server"
    tb_is "WireGuard by name: vpn.provider.test resolved to the provider" \
        "$(tb_wg wg-client tbwg0 peer "$TB_WG_SERVER_PUB" endpoint)" "$TB_PROVIDER:$TB_WG_PORT"
    tb_is "WireGuard by name: whoami sees the provider" "$(whoami1)" "$TB_PROVIDER"
else
    tb_not_ok "WireGuard by name (wg-name.conf): the client's handshake reaches the server"
    tb_diag_file "$TB_T/logs/wg-client.log" "$TB_T/logs/wg-server.log"
fi
unwg

hs0=$(tb_wg_handshake "$TB_WG_CLIENT2_PUB")
if wg_client "$TB/client/wg-full2.conf" && tb_wait 10 newer_handshake "$hs0" "$TB_WG_CLIENT2_PUB"; then
    tb_ok "WireGuard client 2 (wg-full2.conf): its handshake reaches the server"
    tb_is "WireGuard client 2: whoami sees the provider" "$(whoami1)" "$TB_PROVIDER"
    tb_is "WireGuard client 2: its address is $TB_WG_CLIENT2" \
        "$(ip -n laptop -4 -o addr show dev tbwg0 | awk '{print $4}')" "$TB_WG_CLIENT2/32"
else
    tb_not_ok "WireGuard client 2 (wg-full2.conf): its handshake reaches the server"
    tb_diag_file "$TB_T/logs/wg-client.log" "$TB_T/logs/wg-server.log"
fi
unwg
tb_check "after the WireGuard clients, laptop is as before" diff <(echo "$laptop0") <(tb_laptop_state)

# ---- OpenConnect: the provider's two ocserv instances and a root openconnect
# client in laptop, with tests/lib/oc-script.sh (address and routes via ip,
# laptop's resolv.conf untouched).

# oc NAME URL ARGS...: openconnect as NAME (tb_spawn) in laptop, tun tb<NAME>,
# the password from $TB/client/oc-pass; ARGS after the defaults. Its script's
# log: $TB_T/state/NAME.env. oc_up NAME: the script configured the tunnel.
oc()
{
    local name=$1 url=$2
    shift 2
    : >"$TB_T/state/$name.env"
    tb_spawn "$name" laptop sh -c 'exec "$@" <"$0"' "$TB/client/oc-pass" \
        openconnect --protocol=anyconnect --user "$TB_OC_USER" --passwd-on-stdin --non-inter \
        --script "sh $TB_LIB/oc-script.sh $TB_T/state/$name.env" --interface "tb$name" "$@" "$url"
}
oc_up() { grep -qx configured "$TB_T/state/$1.env"; }
oc_env() { awk -F= -v k="$2" '$1 == k {v = substr($0, length(k) + 2)} END {print v}' "$TB_T/state/$1.env"; }

# unoc NAME: stop it and wait for its tun device to go, and for the server's.
unoc()
{
    tb_stop "$1"
    tb_wait 5 sh -c "! ip -n laptop link show tb$1"
    tb_wait 5 sh -c "! ip -n provider -o link show | grep -q ': oc'"
}

in_net() { "$TB_PY" -c 'import ipaddress, sys; sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' "$@"; }

oc ocfull "$TB_OC_FULL_URL" --servercert "$TB_OC_PIN"
if tb_wait 20 oc_up ocfull; then
    tb_ok "OpenConnect full ($TB_OC_FULL_URL, pinned certificate): connects"
    tb_check "OpenConnect full: the address is from $TB_OC_FULL_NET" \
        in_net "$(oc_env ocfull INTERNAL_IP4_ADDRESS)" "$TB_OC_FULL_NET"
    tb_is "OpenConnect full: pushes the resolver and no split route" \
        "$(oc_env ocfull INTERNAL_IP4_DNS)/$(oc_env ocfull CISCO_SPLIT_INC)" "$TB_OC_FULL_DNS/"
    tb_is "OpenConnect full: whoami sees the provider" "$(whoami1)" "$TB_PROVIDER"
    tb_is "OpenConnect full: the second whoami sees the provider too" "$(whoami2)" "$TB_PROVIDER"
    tb_is "OpenConnect full: the VPN's resolver answers through the tunnel" \
        "$(vpn_dns "$TB_OC_FULL_DNS")" "$TB_SECRET"
else
    tb_not_ok "OpenConnect full ($TB_OC_FULL_URL, pinned certificate): connects"
    tb_diag_file "$TB_T/logs/ocfull.log" "$TB_T/logs/oc-full.log"
fi
unoc ocfull
tb_is "after the OpenConnect client, laptop is itself again" "$(whoami1)" "$TB_LAPTOP"
tb_check "after the OpenConnect client, laptop is as before (and ocserv wrote nothing into /run)" \
    diff <(echo "$laptop0") <(tb_laptop_state)

oc ocsplit "$TB_OC_SPLIT_URL" --servercert "$TB_OC_PIN"
if tb_wait 20 oc_up ocsplit; then
    tb_ok "OpenConnect split ($TB_OC_SPLIT_URL): connects"
    tb_check "OpenConnect split: the address is from $TB_OC_SPLIT_NET" \
        in_net "$(oc_env ocsplit INTERNAL_IP4_ADDRESS)" "$TB_OC_SPLIT_NET"
    routes=$(for i in 0 1; do
        echo "$(oc_env ocsplit "CISCO_SPLIT_INC_${i}_ADDR")/$(oc_env ocsplit "CISCO_SPLIT_INC_${i}_MASKLEN")"
    done | LC_ALL=C sort | tr '\n' ' ')
    tb_is "OpenConnect split: pushes the resolver and two routes" \
        "$(oc_env ocsplit INTERNAL_IP4_DNS) $(oc_env ocsplit CISCO_SPLIT_INC): $routes" \
        "$TB_OC_SPLIT_DNS 2: $TB_OC_SPLIT_NET $TB_WHOAMI/32 "
    tb_is "OpenConnect split: whoami ($TB_WHOAMI, pushed) sees the provider" "$(whoami1)" "$TB_PROVIDER"
    tb_is "OpenConnect split: whoami2 ($TB_WHOAMI2, not pushed) sees laptop" "$(whoami2)" "$TB_LAPTOP"
    tb_is "OpenConnect split: the VPN's resolver answers through the tunnel" \
        "$(vpn_dns "$TB_OC_SPLIT_DNS")" "$TB_SECRET"
else
    tb_not_ok "OpenConnect split ($TB_OC_SPLIT_URL): connects"
    tb_diag_file "$TB_T/logs/ocsplit.log" "$TB_T/logs/oc-split.log"
fi
unoc ocsplit

oc ocname "$TB_OC_NAME_URL" --cafile "$TB/client/oc-ca.crt"
if tb_wait 20 oc_up ocname; then
    tb_ok "OpenConnect by name ($TB_OC_NAME_URL, certificate checked against oc-ca.crt): connects"
    tb_is "OpenConnect by name: whoami sees the provider" "$(whoami1)" "$TB_PROVIDER"
else
    tb_not_ok "OpenConnect by name ($TB_OC_NAME_URL, certificate checked against oc-ca.crt): connects"
    tb_diag_file "$TB_T/logs/ocname.log" "$TB_T/logs/oc-full.log"
fi
unoc ocname

# The controls: a wrong pin and a wrong password must each keep the client out.
tb_spawn ocbadpin laptop openconnect --protocol=anyconnect --user "$TB_OC_USER" --non-inter \
    --servercert pin-sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= --interface tbocbad \
    "$TB_OC_FULL_URL"
tb_wait 10 tb_dead "$(tb_pid_of ocbadpin)"
tb_check "OpenConnect: a wrong certificate pin is refused" \
    grep -q "specified via --servercert match" "$TB_T/logs/ocbadpin.log"
tb_stop ocbadpin
tb_spawn ocbadpass laptop sh -c 'echo wrong-password | exec "$@"' sh openconnect \
    --protocol=anyconnect --user "$TB_OC_USER" --passwd-on-stdin --non-inter \
    --servercert "$TB_OC_PIN" --interface tbocbad "$TB_OC_FULL_URL"
tb_wait 10 tb_dead "$(tb_pid_of ocbadpass)"
tb_check "OpenConnect: a wrong password is refused" \
    grep -q "Login failed" "$TB_T/logs/ocbadpass.log"
tb_stop ocbadpass
tb_check "after the OpenConnect clients, laptop is as before" diff <(echo "$laptop0") <(tb_laptop_state)

# ---- the servers stop by name (what the kill-switch tests do), and take
# their processes and tun devices with them: wireguard-go with a client's
# session, ocserv crashing (SIGKILL) with a session open (its sec-mod and
# workers must follow) and stopping gracefully (SIGTERM).
provider_procs() { ip netns pids provider | while read -r p; do cat "/proc/$p/comm" 2>/dev/null; done; }
no_provider_proc() { ! provider_procs | grep -qx "$1"; }
no_provider_link() { ! ip -n provider -o link show | grep -q ": $1"; }

hs0=$(tb_wg_handshake)
wg_client "$TB/client/wg-split.conf"
oc ocfull "$TB_OC_FULL_URL" --servercert "$TB_OC_PIN"
tb_check "before the stop: a WireGuard and an OpenConnect session are up" \
    eval 'tb_wait 10 newer_handshake "$hs0" && tb_wait 20 oc_up ocfull && provider_procs | grep -qx ocserv-worker'
tb_stop wg-server
tb_check "tb_stop wg-server: no wireguard-go and no $TB_WG_IF left in provider" \
    eval "tb_wait 5 no_provider_proc wireguard-go && tb_wait 5 no_provider_link $TB_WG_IF"
tb_stop oc-full KILL
tb_stop oc-split
tb_check "tb_stop oc-full KILL (a session open), tb_stop oc-split: no ocserv process and no ocserv tun left in provider" \
    eval "tb_wait 5 no_provider_proc ocserv && tb_wait 5 no_provider_proc ocserv-worker && tb_wait 5 no_provider_link oc"
unoc ocfull
unwg
tb_check "after all that, laptop is as before" diff <(echo "$laptop0") <(tb_laptop_state)

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
