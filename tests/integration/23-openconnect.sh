#!/bin/bash
# Test 23: OpenConnect (--vpn-cmd) against ocserv, with the guarantees of the
# OpenVPN path: whoami sees the provider; the app's namespace holds only lo
# and the tunnel; a name only the VPN's resolver knows resolves inside, not on
# laptop; split routes send only the listed ranges through the tunnel and the
# rest nowhere; a server given by name works while laptop's resolv.conf points
# at a loopback resolver; with the server stopped the app is offline and the
# forward counter shows nothing but packets to the endpoint; the password
# prompt reaches the user's terminal before the app starts; the password is in
# no argv, environment or file written during a run; a wrong password
# and a refused option end with a clear error.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 23-openconnect
tb_topology_up

fetched() { sed -n "s|^fetch $2 rc=[0-9]* body=||p" "$TB_T/$1.out"; }
fetch_rc() { sed -n "s|^fetch $2 rc=\([0-9]*\) .*|\1|p" "$TB_T/$1.out"; }
# oc URL [OPTION...]: the --vpn-cmd text for the test user against URL.
oc()
{
    local url=$1
    shift
    echo "openconnect --protocol=anyconnect --user=$TB_OC_USER --servercert=$TB_OC_PIN $* $url"
}
TB_STDIN=$TB/client/oc-pass  # the password, for --passwd-on-stdin

# ---- full tunnel
tb_app fetch
tb_run full 60 "$TB_USER1" --vpn-cmd "$(oc "$TB_OC_FULL_URL" --passwd-on-stdin)" -- \
    "${TB_APP[@]}" "$TB_PROVIDER" "http://$TB_WHOAMI/" "http://$TB_WHOAMI2/"
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

# ---- what the app's namespace holds, and DNS
view='printf "links=%s\n" "$(ip -o link show | awk -F": " "{print \$2}" | sort | tr "\n" " ")"
printf "ipv6=%s\n" "$(ip -6 -o addr show | wc -l)"
printf "addr=%s\n" "$(ip -4 -o addr show dev vpn0 | awk "{print \$4}")"
printf "ns=%s\n" "$(awk "/^nameserver/ {print \$2}" /etc/resolv.conf | tr "\n" " ")"
printf "why=%s\n" "$(head -n 1 /etc/resolv.conf)"
printf "secret=%s\n" "$(getent hosts secret.vpn.test | awk "{print \$1}")"
printf "public=%s\n" "$(getent hosts public.test | awk "{print \$1}")"
printf "procs=%s\n" "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c -e openconnect -e nsjail-vpn) $(test -e /proc/1 && echo pid1 || echo nopid1) $(test -e /proc/$$ && echo self)"'
tb_run view 60 "$TB_USER1" --vpn-cmd "$(oc "$TB_OC_FULL_URL" --passwd-on-stdin)" -- sh -c "$view"
if tb_is "view: the app ran" "$TB_STATUS" 0; then
    tb_is "view: the app's namespace holds only lo and the tunnel" \
        "$(tb_field "$TB_T/view.out" links)" "lo vpn0 "
    tb_is "view: no IPv6 address at all (the server gives none)" \
        "$(tb_field "$TB_T/view.out" ipv6)" 0
    tb_check "view: the tunnel has an address of the server's pool ($(tb_field "$TB_T/view.out" addr))" \
        grep -q "^addr=198\.18\.11\.[0-9]*/24$" "$TB_T/view.out"
    tb_is "view: resolv.conf says where its servers came from" \
        "$(tb_field "$TB_T/view.out" why)" "# Written by nsjail-vpn for this sandbox; DNS given by \
the VPN client (INTERNAL_IP4_DNS, INTERNAL_IP6_DNS)."
    tb_is "view: resolv.conf names the server's DNS only" "$(tb_field "$TB_T/view.out" ns)" \
        "$TB_OC_FULL_DNS "
    tb_is "view: secret.vpn.test resolves through the tunnel's resolver" \
        "$(tb_field "$TB_T/view.out" secret)" "$TB_SECRET"
    tb_is "view: public.test (known only to laptop's resolver) does not" \
        "$(tb_field "$TB_T/view.out" public)" ""
    # openconnect's argv may hold secrets (--cookie, --key-password, form entries).
    tb_is "view: the app sees only its own processes in /proc, not openconnect or the supervisor" \
        "$(tb_field "$TB_T/view.out" procs)" "0 nopid1 self"
else
    tb_diag_file "$TB_T/view.out" "$TB_T/view.err"
fi
tb_in laptop getent hosts secret.vpn.test >/dev/null
tb_is "laptop (control): secret.vpn.test does not resolve there (status 2)" "$?" 2

# ---- split routes
tb_run split 60 "$TB_USER1" --vpn-cmd "$(oc "$TB_OC_SPLIT_URL" --passwd-on-stdin)" -- \
    "${TB_APP[@]}" "$TB_PROVIDER" "http://$TB_WHOAMI/" "http://$TB_WHOAMI2/"
if tb_is "split: the app ran and exited with the sentinel 42" "$TB_STATUS" 42; then
    tb_is "split: the pushed route ($TB_WHOAMI) goes through the tunnel" \
        "$(fetched split "http://$TB_WHOAMI/")" "$TB_PROVIDER"
    tb_is "split: $TB_WHOAMI2 (not pushed) gets no answer at all (curl status 7)" \
        "$(fetch_rc split "http://$TB_WHOAMI2/"):$(fetched split "http://$TB_WHOAMI2/")" "7:"
    tb_is "split: no catch-all route" "$(tb_field "$TB_T/split.out" catchall_routes)" 0
    tb_check "split: a route for the pushed $TB_WHOAMI" grep -q "^route $TB_WHOAMI dev vpn0" \
        "$TB_T/split.out"
else
    tb_diag_file "$TB_T/split.out" "$TB_T/split.err"
fi

# ---- the server by name, laptop's resolver on loopback (as systemd-resolved is)
tb_dnsmasq loopback-dns laptop --bind-interfaces --listen-address=127.0.0.53 \
    --server="$TB_WORLD_DNS"
tb_wait 10 tb_dns_answers laptop 127.0.0.53 vpn.provider.test "$TB_PROVIDER" ||
    tb_die "laptop's loopback resolver did not start"
printf 'nameserver 127.0.0.53\n' >/etc/resolv.conf
tb_is "name (control): laptop resolves vpn.provider.test through 127.0.0.53" \
    "$(tb_in laptop getent hosts vpn.provider.test | awk '{print $1}')" "$TB_PROVIDER"
tb_run name 60 "$TB_USER1" -v --vpn-cmd "$(oc "$TB_OC_NAME_URL" --passwd-on-stdin)" -- \
    "${TB_APP[@]}" "$TB_PROVIDER" "http://$TB_WHOAMI/"
if tb_is "name: the app ran and exited with the sentinel 42" "$TB_STATUS" 42; then
    tb_is "name: whoami sees the provider" "$(fetched name "http://$TB_WHOAMI/")" "$TB_PROVIDER"
    tb_check "name: the launcher resolved the server on the host" \
        grep -q "vpn.provider.test at $TB_PROVIDER" "$TB_T/name.err"
else
    tb_diag_file "$TB_T/name.out" "$TB_T/name.err"
fi
tb_reset_resolv

# ---- the kill switch: stop the server while the app loops
tb_forward_counters
tb_app loop
tb_launch loop "$TB_USER1" --vpn-cmd "$(oc "$TB_OC_FULL_URL" --passwd-on-stdin)" -- \
    "${TB_APP[@]}" "http://$TB_WHOAMI/"
if tb_wait_output loop 60 "ok $TB_PROVIDER\$"; then
    tb_ok "outage: the app's requests go through the tunnel before it"
    ocpid=$(tb_find_desc "$TB_LPID" '^[^ ]*openconnect ') || ocpid=
    tb_check "outage: the sandbox's openconnect is a descendant of the launcher" test -n "$ocpid"
    other0=$(tb_nft_counter laptop other)
    if [[ -n $ocpid ]]; then
        tb_is "outage (control): a request from OUTER around the tunnel is counted" \
            "$(tb_outer_curl "$ocpid" "http://$TB_WHOAMI/")" "$TB_LAPTOP"
    fi
    tb_wait 5 tb_counter_settled laptop other
    other1=$(tb_nft_counter laptop other)
    endpoint1=$(tb_nft_counter laptop endpoint)
    tb_check "outage (control): the non-endpoint counter rose ($other0 -> $other1)" \
        test "$other1" -gt "$other0"
    tb_check "outage: the VPN's own packets are counted as endpoint packets ($endpoint1)" \
        test "$endpoint1" -gt 0

    tb_stop oc-full
    outage=$(date +%s%N)
    after_outage() { tb_requests_after "$TB_T/loop.out" "$outage"; }
    three_failures() { (($(after_outage | grep -c ' fail$') >= 3)); }
    launcher_gone() { tb_dead "$TB_LPID"; }
    outage_seen() { three_failures || launcher_gone; }
    tb_wait 30 outage_seen
    if three_failures; then
        tb_ok "outage: the app's requests fail with the server gone"
    elif launcher_gone; then
        tb_ok "outage: the sandbox ended with its client, so no request after the outage succeeded"
    else
        tb_not_ok "outage: the app's requests fail with the server gone"
    fi
    tb_is "outage: no request that began after it succeeded" "$(after_outage | grep ' ok ')" ""
    tb_is "outage: the non-endpoint counter did not rise after the control" \
        "$(tb_nft_counter laptop other)" "$other1"
    tb_diag "$(tail -n 3 "$TB_T/loop.out")" "$(tail -n 3 "$TB_T/loop.err")"
else
    tb_not_ok "outage: the app's requests go through the tunnel before it"
    tb_diag_file "$TB_T/loop.out" "$TB_T/loop.err"
fi
tb_stop loop
tb_start_ocserv full

# ---- the password prompt on the user's terminal, before the app starts
pts=$TB/pts-23
mkdir -p "$pts"
mount -n -t devpts -o newinstance,ptmxmode=0600,mode=0620 nsjv-pts "$pts" ||
    tb_die "cannot mount a devpts instance of the test's own"
tb_on_exit "umount -n '$pts'; rmdir '$pts'"
tb_as_cmd "$TB_USER1"
report=$("$TB_PY" "$TB_LIB/ptyanswer.py" --secret "$pts/ptmx" "$TB_T/prompt.tty" 'Password:' "$TB_OC_PASS" \
    -- "${TB_AS[@]}" "$TB_LAUNCHER" --vpn-cmd "$(oc "$TB_OC_FULL_URL")" -- \
    sh -c "echo app-started; curl -sS --max-time 5 http://$TB_WHOAMI/; echo")
tb_log "prompt: ${report//$'\n'/ }"
tty=$(tr -d '\r' <"$TB_T/prompt.tty")
tb_is "prompt: the launcher exited with the app's status" "$report" "status=0"
tb_check "prompt: openconnect asked for the password on the terminal, before the app started" \
    grep -Pzq 'Password:[^\n]*<<typed 1>>(.|\n)*app-started' <<<"$tty"
tb_is "prompt: the password was not echoed" "$(grep -c -F -e "$TB_OC_PASS" <<<"$tty")" 0
tb_check "prompt: then the app reached whoami through the tunnel" \
    grep -q "^$TB_PROVIDER\$" <<<"$tty"
tb_diag_file "$TB_T/prompt.tty"

# ---- the password: in no argv, no environment and no file written during a run
tb_traced_run pass "$TB/client/oc-pass" --vpn-cmd "$(oc "$TB_OC_FULL_URL" --passwd-on-stdin)" -- \
    sh -c 'curl -sS --max-time 5 http://'"$TB_WHOAMI"'/; echo'
trace=$TB_T/pass.strace
tb_is "password: the app reached whoami through the tunnel under strace" \
    "$(cat "$TB_T/pass.out")" "$TB_PROVIDER"
tb_check "password (control): the trace has openconnect's execve with its environment" \
    grep -q 'execve("[^"]*openconnect".*PATH=' "$trace"
tb_check "password (control): the trace has our vpnc-script's execve" \
    grep -q 'execve("[^"]*nsjail-vpn", \[[^]]*__vpnc-script' "$trace"
tb_secret_nowhere pass password "$TB_OC_PASS"
tb_diag_file "$TB_T/pass.err"

# ---- a wrong password, a refused option
echo wrong-password >"$TB_T/wrong-pass"
TB_STDIN=$TB_T/wrong-pass
tb_run wrong 60 "$TB_USER1" --vpn-cmd "$(oc "$TB_OC_FULL_URL" --passwd-on-stdin --non-inter)" -- \
    sh -c 'echo app-started'
tb_is "wrong password: status 125" "$TB_STATUS" 125
tb_is "wrong password: the app never started" "$(cat "$TB_T/wrong.out")" ""
tb_check "wrong password: the error says the client exited before the tunnel was up" \
    grep -q "nsjail-vpn: the VPN client 'openconnect' exited with status 1 before the tunnel was up$" \
    "$TB_T/wrong.err"
tb_diag_file "$TB_T/wrong.err"
tb_run refused 60 "$TB_USER1" --vpn-cmd "$(oc "$TB_OC_FULL_URL" --script=/bin/true)" -- \
    sh -c 'echo app-started'
tb_is "--script: status 125" "$TB_STATUS" 125
tb_check "--script: refused, and the message says why" \
    grep -q "nsjail-vpn: cannot use --vpn-cmd: .*--script" "$TB_T/refused.err"
tb_diag_file "$TB_T/refused.err"

tb_done
