#!/bin/bash
# Test 2: a name only the VPN's resolver knows resolves inside the sandbox,
# not on laptop; renaming a new file over laptop's resolv.conf (a plain file,
# then a symlink into /run) while the sandbox runs does not change the
# sandbox's answer.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 02-dns
tb_topology_up

tb_is "laptop (control): its resolver answers public.test" \
    "$(tb_in laptop getent hosts public.test | awk '{print $1}')" "$TB_WHOAMI2"
tb_in laptop getent hosts secret.vpn.test >/dev/null
tb_is "laptop: secret.vpn.test does not resolve (getent status 2)" "$?" 2

# The app reads one line from stdin before each further step.
mkfifo "$TB_T/ctl"
exec {ctl}<>"$TB_T/ctl"
TB_STDIN=$TB_T/ctl
tb_app dns-probe
tb_launch dns "$TB_USER1" --vpn "$TB/client/full.ovpn" -- "${TB_APP[@]}"

# step N LABEL: check what the sandbox answered at step N.
step()
{
    local line
    if ! tb_wait_output dns 60 "^step=$1 "; then
        tb_not_ok "$2: the app reports its resolver (step $1)"
        tb_diag_file "$TB_T/dns.out" "$TB_T/dns.err"
        return 1
    fi
    line=$(grep "^step=$1 " "$TB_T/dns.out")
    tb_is "$2: secret.vpn.test resolves through the VPN's resolver" \
        "$(sed -n 's/.* secret=\([^ ]*\).*/\1/p' <<<"$line")" "$TB_SECRET"
    tb_is "$2: public.test (known only to laptop's resolver) does not" \
        "$(sed -n 's/.* public=\([^ ]*\).*/\1/p' <<<"$line")" none
    tb_is "$2: resolv.conf names only the pushed resolver, not the host's file" \
        "$(sed -n 's/.* ns=\([^ ]*\) marker=\([^ ]*\).*/\1 \2/p' <<<"$line")" "$TB_FULL_DNS 0"
    tb_is "$2: /etc/passwd still reads through" \
        "$(sed -n 's/.* passwd=\([^ ]*\).*/\1/p' <<<"$line")" "$TB_UID1"
}

# replace KIND: rename a new file over laptop's /etc/resolv.conf, the way
# NetworkManager and systemd-resolved do.
replace()
{
    local new=/etc/.resolv.conf.nsjv-new
    if [[ $1 == plain ]]; then
        printf '# nsjv-host-replaced plain\nnameserver %s\n' "$TB_WORLD_DNS" >"$new"
    else
        mkdir -p "$TB/resolvconf"
        printf '# nsjv-host-replaced symlink\nnameserver %s\n' "$TB_WORLD_DNS" \
            >"$TB/resolvconf/resolv.conf"
        ln -s "$TB/resolvconf/resolv.conf" "$new"
    fi
    mv -Tf "$new" /etc/resolv.conf
}

step 0 "sandbox"

replace plain
tb_check "control: laptop now sees the new plain resolv.conf" \
    tb_in laptop grep -q 'nsjv-host-replaced plain' /etc/resolv.conf
echo go >&"$ctl"
step 1 "after a plain file was renamed over laptop's resolv.conf"

replace symlink
tb_check "control: laptop's resolv.conf is now a symlink into /run" \
    test -L /etc/resolv.conf -a "$(readlink /etc/resolv.conf)" = "$TB/resolvconf/resolv.conf"
echo go >&"$ctl"
step 2 "after a symlink into /run was renamed over laptop's resolv.conf"

tb_wait_exit dns 20
tb_is "the app ran to its end (sentinel 42)" "$TB_STATUS" 42
tb_done
