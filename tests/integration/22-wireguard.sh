#!/bin/bash
# Test 22: WireGuard, through the kernel where it has WireGuard and through
# wireguard-go elsewhere (the test says which it found), with the guarantees
# of the OpenVPN path: whoami sees the provider; the app's
# namespace holds only lo and the tunnel, and no IPv6; a name only the VPN's
# resolver knows resolves inside and not on laptop; split AllowedIPs send only
# the listed ranges through the tunnel and the rest nowhere; an Endpoint given
# as a name works while laptop's resolv.conf points at a loopback resolver;
# with the server stopped the app is offline and the forward counter shows
# nothing but packets to the endpoint; the private key is in no argv, no
# environment and no file we wrote. Also: refused wg-quick keys, no DNS, --dns
# and --vpn-type.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 22-wireguard
tb_topology_up

tb_netns_add wgprobe
if ip -n wgprobe link add wgprobe0 type wireguard 2>/dev/null; then
    kernel=1
    tb_log "this kernel has WireGuard: the sandbox must use it, not wireguard-go"
else
    kernel=0
    tb_log "this kernel has no WireGuard: the sandbox must use wireguard-go"
fi

full=$TB/client/wg-full.conf
fetched() { sed -n "s|^fetch $2 rc=[0-9]* body=||p" "$TB_T/$1.out"; }
fetch_rc() { sed -n "s|^fetch $2 rc=\([0-9]*\) .*|\1|p" "$TB_T/$1.out"; }

# ---- full tunnel
tb_app fetch
tb_run full 60 "$TB_USER1" --vpn "$full" -- "${TB_APP[@]}" "$TB_PROVIDER" \
    "http://$TB_WHOAMI/" "http://$TB_WHOAMI2/"
if tb_is "full: the app ran and exited with the sentinel 42" "$TB_STATUS" 42; then
    tb_is "full: whoami sees the provider's address" "$(fetched full "http://$TB_WHOAMI/")" \
        "$TB_PROVIDER"
    tb_is "full: the second whoami sees the provider too" \
        "$(fetched full "http://$TB_WHOAMI2/")" "$TB_PROVIDER"
    tb_check "full: the app has a catch-all route" \
        test "$(tb_field "$TB_T/full.out" catchall_routes)" -gt 0
else
    tb_diag_file "$TB_T/full.out" "$TB_T/full.err"
fi
tb_check "full: the server had a handshake with the client's key" tb_wg_handshook

# ---- what the app's namespace holds, and DNS
view='printf "links=%s\n" "$(ip -o link show | awk -F": " "{print \$2}" | sort | tr "\n" " ")"
printf "ipv6=%s\n" "$(ip -6 -o addr show | wc -l)"
printf "addr=%s\n" "$(ip -4 -o addr show dev vpn0 | awk "{print \$4}")"
printf "kind=%s\n" "$(ip -d -o link show dev vpn0 | grep -o " wireguard " | tr -d " ")"
printf "mtu=%s\n" "$(ip -o link show dev vpn0 | sed "s/.* mtu \([0-9]*\) .*/\1/")"
printf "ns=%s\n" "$(awk "/^nameserver/ {print \$2}" /etc/resolv.conf | tr "\n" " ")"
printf "why=%s\n" "$(head -n 1 /etc/resolv.conf)"
printf "secret=%s\n" "$(getent hosts secret.vpn.test | awk "{print \$1}")"
printf "public=%s\n" "$(getent hosts public.test | awk "{print \$1}")"'
tb_run view 60 "$TB_USER1" --vpn "$full" -- sh -c "$view"
if tb_is "view: the app ran" "$TB_STATUS" 0; then
    tb_is "view: the app's namespace holds only lo and the tunnel" \
        "$(tb_field "$TB_T/view.out" links)" "lo vpn0 "
    tb_is "view: no IPv6 address at all (the config gives none)" \
        "$(tb_field "$TB_T/view.out" ipv6)" 0
    tb_is "view: the tunnel has the config's Address" "$(tb_field "$TB_T/view.out" addr)" \
        "$TB_WG_CLIENT/32"
    tb_is "view: the tunnel is $( ((kernel)) && echo "the kernel's WireGuard" || echo "wireguard-go's tun")" \
        "$(tb_field "$TB_T/view.out" kind)" "$( ((kernel)) && echo wireguard)"
    tb_is "view: MTU 1420 (the config gives none)" "$(tb_field "$TB_T/view.out" mtu)" 1420
    tb_is "view: resolv.conf says where its servers came from" \
        "$(tb_field "$TB_T/view.out" why)" \
        "# Written by nsjail-vpn for this sandbox; DNS from the WireGuard configuration's DNS line."
    tb_is "view: resolv.conf names the config's DNS only" "$(tb_field "$TB_T/view.out" ns)" \
        "$TB_WG_DNS "
    tb_is "view: secret.vpn.test resolves through the tunnel's resolver" \
        "$(tb_field "$TB_T/view.out" secret)" "$TB_SECRET"
    tb_is "view: public.test (known only to laptop's resolver) does not" \
        "$(tb_field "$TB_T/view.out" public)" ""
else
    tb_diag_file "$TB_T/view.out" "$TB_T/view.err"
fi
tb_in laptop getent hosts secret.vpn.test >/dev/null
tb_is "laptop (control): secret.vpn.test does not resolve there (status 2)" "$?" 2

# ---- an IPv6 Address in the config: the app gets exactly that address, and IPv6
# routes exactly for the IPv6 AllowedIPs (the provider has no IPv6: only the view
# inside is checked).
sed -e 's|^Address = .*|&, 2001:db8:10::2/128|' -e 's|^AllowedIPs = .*|&, 2001:db8:99::/48|' \
    "$full" >"$TB_T/wg-v6.conf"
chmod 0644 "$TB_T/wg-v6.conf"
view6='printf "addr6=%s\n" "$(ip -6 -o addr show | awk "{print \$2, \$4}" | sort | tr "\n" ";")"
printf "route6=%s\n" "$(ip -6 route show | awk "{print \$1, \$2, \$3}" | sort | tr "\n" ";")"'
tb_run view6 60 "$TB_USER1" --vpn "$TB_T/wg-v6.conf" -- sh -c "$view6"
if tb_is "view6: the app ran" "$TB_STATUS" 0; then
    tb_is "view6: the app's one IPv6 address: the config's, on the tunnel (no fe80::)" \
        "$(tb_field "$TB_T/view6.out" addr6)" "vpn0 2001:db8:10::2/128;"
    tb_is "view6: IPv6 routes: the address's own and the AllowedIPs one, through the tunnel" \
        "$(tb_field "$TB_T/view6.out" route6)" "2001:db8:10::2 dev vpn0;2001:db8:99::/48 dev vpn0;"
else
    tb_diag_file "$TB_T/view6.out" "$TB_T/view6.err"
fi
tb_diag_file "$TB_T/view6.out"

# ---- split AllowedIPs
tb_run split 60 "$TB_USER1" --vpn "$TB/client/wg-split.conf" -- "${TB_APP[@]}" "$TB_PROVIDER" \
    "http://$TB_WHOAMI/" "http://$TB_WHOAMI2/"
if tb_is "split: the app ran and exited with the sentinel 42" "$TB_STATUS" 42; then
    tb_is "split: the listed $TB_WHOAMI goes through the tunnel" \
        "$(fetched split "http://$TB_WHOAMI/")" "$TB_PROVIDER"
    tb_is "split: $TB_WHOAMI2 (not listed) gets no answer at all (curl status 7)" \
        "$(fetch_rc split "http://$TB_WHOAMI2/"):$(fetched split "http://$TB_WHOAMI2/")" "7:"
    tb_is "split: no catch-all route" "$(tb_field "$TB_T/split.out" catchall_routes)" 0
    tb_check "split: a route for the listed $TB_WHOAMI" grep -q "^route $TB_WHOAMI dev vpn0" \
        "$TB_T/split.out"
else
    tb_diag_file "$TB_T/split.out" "$TB_T/split.err"
fi

# ---- an Endpoint by name, laptop's resolver on loopback (as systemd-resolved is)
tb_dnsmasq loopback-dns laptop --bind-interfaces --listen-address=127.0.0.53 \
    --server="$TB_WORLD_DNS"
tb_wait 10 tb_dns_answers laptop 127.0.0.53 vpn.provider.test "$TB_PROVIDER" ||
    tb_die "laptop's loopback resolver did not start"
printf 'nameserver 127.0.0.53\n' >/etc/resolv.conf
tb_is "name (control): laptop resolves vpn.provider.test through 127.0.0.53" \
    "$(tb_in laptop getent hosts vpn.provider.test | awk '{print $1}')" "$TB_PROVIDER"
tb_run name 60 "$TB_USER1" -v --vpn "$TB/client/wg-name.conf" -- "${TB_APP[@]}" "$TB_PROVIDER" \
    "http://$TB_WHOAMI/"
if tb_is "name: the app ran and exited with the sentinel 42" "$TB_STATUS" 42; then
    tb_is "name: whoami sees the provider" "$(fetched name "http://$TB_WHOAMI/")" "$TB_PROVIDER"
    tb_check "name: the launcher resolved the Endpoint on the host" \
        grep -q "vpn.provider.test at $TB_PROVIDER" "$TB_T/name.err"
else
    tb_diag_file "$TB_T/name.out" "$TB_T/name.err"
fi
tb_reset_resolv

# ---- the kill switch: stop the server while the app loops
tb_forward_counters
tb_app loop
tb_launch loop "$TB_USER1" --vpn "$full" -- "${TB_APP[@]}" "http://$TB_WHOAMI/"
if tb_wait_output loop 60 "ok $TB_PROVIDER\$"; then
    tb_ok "outage: the app's requests go through the tunnel before it"
    wgpid=$(tb_find_desc "$TB_LPID" '^[^ ]*wireguard-go ') || wgpid=
    if ((kernel)); then
        tb_is "outage: no wireguard-go runs (the kernel's WireGuard is used)" "$wgpid" ""
    else
        tb_check "outage: the sandbox's wireguard-go is a descendant of the launcher" test -n "$wgpid"
    fi
    other0=$(tb_nft_counter laptop other)
    sup=$(tb_supervisor_pid "$TB_LPID")
    tb_is "outage (control): a request from OUTER around the tunnel is counted" \
        "$(tb_outer_curl "$sup" "http://$TB_WHOAMI/")" "$TB_LAPTOP"
    tb_wait 5 tb_counter_settled laptop other
    other1=$(tb_nft_counter laptop other)
    endpoint1=$(tb_nft_counter laptop endpoint)
    tb_check "outage (control): the non-endpoint counter rose ($other0 -> $other1)" \
        test "$other1" -gt "$other0"
    tb_check "outage: WireGuard's own packets are counted as endpoint packets ($endpoint1)" \
        test "$endpoint1" -gt 0

    tb_stop wg-server
    outage=$(date +%s%N)
    after_outage() { tb_requests_after "$TB_T/loop.out" "$outage"; }
    three_failures() { (($(after_outage | grep -c ' fail$') >= 3)); }
    tb_wait 30 three_failures
    tb_check "outage: the app's requests fail with the server gone" three_failures
    tb_is "outage: no request that began after it succeeded" "$(after_outage | grep ' ok ')" ""
    tb_check "outage: WireGuard goes on trying the endpoint (endpoint counter rose)" \
        test "$(tb_nft_counter laptop endpoint)" -gt "$endpoint1"
    tb_is "outage: the non-endpoint counter did not rise after the control" \
        "$(tb_nft_counter laptop other)" "$other1"
    tb_check "outage: the launcher still runs, its app offline" tb_alive "$TB_LPID"
    tb_diag "$(tail -n 3 "$TB_T/loop.out")"
else
    tb_not_ok "outage: the app's requests go through the tunnel before it"
    tb_diag_file "$TB_T/loop.out" "$TB_T/loop.err"
fi
tb_stop loop
tb_start_wg_server

# ---- the private key: in no argv, no environment, no file we wrote
key=$(sed -n 's/^PrivateKey *= *//p' "$full")
hex=$(base64 -d <<<"$key" | od -An -tx1 -v | tr -d ' \n')
tb_check "key: the test knows the key (44 base64 characters, 64 hex digits)" \
    test "${#key}" = 44 -a "${#hex}" = 64
tb_traced_run key /dev/null --vpn "$full" -- \
    sh -c 'curl -sS --max-time 5 http://'"$TB_WHOAMI"'/; echo'
trace=$TB_T/key.strace
tb_is "key: the app reached whoami through the tunnel under strace" "$(cat "$TB_T/key.out")" \
    "$TB_PROVIDER"
if ((kernel)); then
    tb_check "key (control): the trace has the helper's execve" \
        grep -q 'execve("[^"]*nsjail-vpn-helper"' "$trace"
else
    tb_check "key (control): the trace has wireguard-go's execve with its environment" \
        grep -q 'execve("[^"]*wireguard-go".*WG_PROCESS_FOREGROUND=1' "$trace"
fi
tb_check "key (control): the trace has the app's execve" grep -q 'execve("[^"]*curl"' "$trace"
# (the test bed's own copy of the config is older than the run)
tb_secret_nowhere key "key (base64 or hex)" "$key" "$hex"

# ---- wireguard-go's control socket (it answers "get" with the private key) is
# out of the app's reach; root outside (the control) reaches it by the same path.
if ((kernel == 0)); then
    grab='import errno, os, socket, sys, time
pids = [p for p in os.listdir("/proc") if p.isdigit() and
        open("/proc/%s/comm" % p).read().strip() == "wireguard-go"]
print("wgpid=%s" % (pids[0] if pids else ""), flush=True)
def get(path):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.sendall(b"get=1\n\n")
        return "key" if b"private_key=" in s.recv(65536) else "nokey"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
# It is invisible in /proc (hidepid): try its socket under every pid it could have.
seen = sorted({get("/proc/%d/root/run/wireguard/vpn0.sock" % n) for n in range(1, 500)})
print("uapi_any=%s" % ",".join(seen), flush=True)
for path in ["/run/wireguard/vpn0.sock", "/var/run/wireguard/vpn0.sock"]:
    print("uapi %s=%s" % (path, get(path)), flush=True)
print("done", flush=True)
sys.stdin.read()'
    mkfifo "$TB_T/grab-in"
    exec {grab_in}<>"$TB_T/grab-in"
    TB_STDIN=$TB_T/grab-in tb_launch grab "$TB_USER1" --vpn "$full" -- "$TB_PY" -c "$grab"
    if tb_wait_output grab 60 '^done$'; then
        tb_is "socket: the app does not even see wireguard-go in /proc" \
            "$(tb_field "$TB_T/grab.out" wgpid)" ""
        tb_is "socket: nor reach its socket under /proc/PID/root of any pid" \
            "$(tb_field "$TB_T/grab.out" uapi_any)" ENOENT
        tb_is "socket: nor at wireguard-go's path in the app's own /run" \
            "$(sed -n 's|^uapi /run/wireguard/vpn0.sock=||p' "$TB_T/grab.out")" ENOENT
        wg=$(tb_find_desc "$TB_LPID" '^[^ ]*wireguard-go ')
        tb_is "socket (control): root outside gets the key from it by that path" \
            "$("$TB_PY" -c "$(sed -n '/^def get/,/^        return errno/p' <<<"$grab")
import errno, socket
print(get('/proc/$wg/root/run/wireguard/vpn0.sock'))")" key
    else
        tb_not_ok "socket: the app reports what it could reach"
    fi
    tb_diag_file "$TB_T/grab.out" "$TB_T/grab.err"
    echo >&"$grab_in"
    tb_wait_exit grab 20
    exec {grab_in}>&-
fi

# ---- bad files and the options around them; nothing runs for any of them
# variant NAME SED: a copy of the full config, edited, readable by the test user.
variant()
{
    sed "$2" "$full" >"$TB_T/$1.conf"
    chmod 0644 "$TB_T/$1.conf"
}
# refused NAME PATTERN LABEL [ARGS...]: the launcher stops with 125 and PATTERN on
# stderr, before any sandbox exists (no helper, no client ran).
refused()
{
    local name=$1 pattern=$2 label=$3
    shift 3
    tb_run "$name" 30 "$TB_USER1" "$@" -- sh -c 'echo app-started'
    tb_is "$label: status 125" "$TB_STATUS" 125
    tb_check "$label: the error says why" grep -q -e "$pattern" "$TB_T/$name.err"
    tb_is "$label: the app never started" "$(cat "$TB_T/$name.out")" ""
    tb_diag_file "$TB_T/$name.err"
}
variant postup '/^\[Interface\]/a PostUp = touch /tmp/nsjv-22-postup'
refused postup "line [0-9]*: 'PostUp' is refused: wg-quick runs it as root on the host" "PostUp" --vpn "$TB_T/postup.conf"
tb_check "PostUp: its command did not run" test ! -e /tmp/nsjv-22-postup
variant table '/^\[Interface\]/a Table = off'
refused table "line [0-9]*: 'Table' is refused: .*no host routing table" "Table" --vpn "$TB_T/table.conf"
variant unknown '/^\[Peer\]/a Colour = blue'
refused unknown "line [0-9]*: .*Colour" "an unknown key" --vpn "$TB_T/unknown.conf"
variant nodns '/^DNS/d'
refused nodns "has no DNS line" "no DNS" --vpn "$TB_T/nodns.conf"
tb_check "no DNS: the hint names --dns" grep -q -e "--dns" "$TB_T/nodns.err"
variant loopdns 's/^DNS = .*/DNS = 127.0.0.53/'
refused loopdns "gives DNS 127.0.0.53, which means this host (loopback)" "a loopback DNS" \
    --vpn "$TB_T/loopdns.conf"
tb_check "a loopback DNS: the message names the fix" grep -q -e "or pass --dns ADDR" \
    "$TB_T/loopdns.err"
variant mixdns "s/^DNS = .*/DNS = 127.0.0.53, $TB_WG_DNS/"
tb_run mixdns 60 "$TB_USER1" --vpn "$TB_T/mixdns.conf" -- \
    sh -c 'awk "/^nameserver/ {print \$2}" /etc/resolv.conf'
tb_is "a loopback DNS beside a real one: the app runs with the real one only" \
    "$TB_STATUS:$(cat "$TB_T/mixdns.out")" "0:$TB_WG_DNS"
tb_check "a loopback DNS beside a real one: the launcher says it ignored it" \
    grep -q "ignoring the WireGuard DNS server 127.0.0.53" "$TB_T/mixdns.err"
refused vpntype "cannot use the VPN configuration" "--vpn-type openvpn on a WireGuard file" \
    --vpn-type openvpn --vpn "$full"

tb_run dnsopt 60 "$TB_USER1" --dns "$TB_FULL_DNS" --vpn "$TB_T/nodns.conf" -- \
    sh -c 'awk "/^nameserver/ {print \$2}" /etc/resolv.conf'
tb_is "--dns: a config without DNS runs with the server given" "$TB_STATUS:$(cat "$TB_T/dnsopt.out")" \
    "0:$TB_FULL_DNS"

tb_done
