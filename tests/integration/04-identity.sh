#!/bin/bash
# Test 4: inside, `id -u`/`id -g` equal the caller's; a file readable only
# through one of the caller's supplementary groups is readable; CapEff 0;
# NoNewPrivs 1; only lo and the tunnel; no IPv6 address. Also: the caller's
# environment and working directory, and the links of --net none and nat.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 04-identity
tb_topology_up

supp=$TB_T/supp/only-nsjvsupp.txt
mkdir -m 0755 "$TB_T/supp"
echo supp-ok >"$supp"
chown "root:$TB_SUPP_GROUP" "$supp"
chmod 0640 "$supp"
tb_is "control: $TB_USER1 reads the group's file on laptop" \
    "$(tb_as "$TB_USER1" cat "$supp" 2>&1)" supp-ok
tb_check_fails "control: $TB_USER2 (not in $TB_SUPP_GROUP) cannot" tb_as "$TB_USER2" cat "$supp"

home=$TB/home/$TB_USER1
zero=0000000000000000
tb_app identity
TB_ENV=(NSJV_PROBE=probe-42)
tb_run vpn 60 "$TB_USER1" --vpn "$TB/client/full.ovpn" -- "${TB_APP[@]}" "$supp"
TB_ENV=()
out=$TB_T/vpn.out
if tb_is "vpn: the app ran and exited with the sentinel 42" "$TB_STATUS" 42; then
    tb_is "vpn: id -u is the caller's" "$(tb_field "$out" uid)" "$TB_UID1"
    tb_is "vpn: id -g is the caller's" "$(tb_field "$out" gid)" "$TB_UID1"
    tb_is "vpn: a file readable only through a supplementary group is readable" \
        "$(tb_field "$out" supp)" supp-ok
    tb_is "vpn: CapEff is 0" "$(tb_field "$out" CapEff)" "$zero"
    tb_is "vpn: CapPrm is 0" "$(tb_field "$out" CapPrm)" "$zero"
    tb_is "vpn: CapAmb is 0" "$(tb_field "$out" CapAmb)" "$zero"
    tb_is "vpn: NoNewPrivs is 1" "$(tb_field "$out" NoNewPrivs)" 1
    links=$(tb_field "$out" links)
    tb_is "vpn: exactly two links, lo and one tun" \
        "$(wc -w <<<"$links") $(grep -cw lo <<<"$links") $(tb_field "$out" tuns)" "2 1 1"
    tb_diag "links: $links"
    tb_is "vpn: no IPv6 address" "$(tb_field "$out" inet6)" 0
    tb_is "vpn: the caller's working directory" "$(tb_field "$out" cwd)" "$home"
    tb_is "vpn: the caller's environment" "$(tb_field "$out" probe)" probe-42
else
    tb_diag_file "$out" "$TB_T/vpn.err"
fi

tb_run none 30 "$TB_USER1" --net none -- "${TB_APP[@]}" "$supp"
if tb_is "--net none: the app ran (sentinel 42)" "$TB_STATUS" 42; then
    tb_is "--net none: only lo" "$(tb_field "$TB_T/none.out" links)" "lo "
    tb_is "--net none: CapEff is 0" "$(tb_field "$TB_T/none.out" CapEff)" "$zero"
else
    tb_diag_file "$TB_T/none.out" "$TB_T/none.err"
fi

tb_run nat 30 "$TB_USER1" --net nat -- "${TB_APP[@]}" "$supp"
if tb_is "--net nat: the app ran (sentinel 42)" "$TB_STATUS" 42; then
    tb_is "--net nat: lo and the helper's eth0" "$(tb_field "$TB_T/nat.out" links)" "eth0 lo "
else
    tb_diag_file "$TB_T/nat.out" "$TB_T/nat.err"
fi
tb_done
