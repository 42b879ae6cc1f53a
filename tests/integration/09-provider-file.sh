#!/bin/bash
# Test 9: a .ovpn with a host name as `remote`, relative paths and an
# update-resolv-conf up/down script connects, and laptop's resolv.conf is
# unchanged. The file (tests/fixtures/provider.ovpn) is used as shipped, also
# with `user nobody`, `group nogroup` and `persist-key`, from another
# working directory than its own.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 09-provider-file
tb_topology_up

dir=$TB/client/provider
tb_is "control: laptop resolves the file's remote (vpn.provider.test)" \
    "$(tb_in laptop getent hosts vpn.provider.test | awk '{print $1}')" "$TB_PROVIDER"
tb_check "control: the file names its keys by relative path and runs update-resolv-conf" \
    grep -q '^up /etc/openvpn/update-resolv-conf' "$dir/provider.ovpn"
tb_check "control: /etc/openvpn/update-resolv-conf exists" test -x /etc/openvpn/update-resolv-conf

resolv_state() { stat -c '%F %i %s %Y' /etc/resolv.conf; sha256sum </etc/resolv.conf; }
before=$(resolv_state)

tb_app fetch
tb_run provider 60 "$TB_USER1" --vpn "$dir/provider.ovpn" -- "${TB_APP[@]}" "$TB_PROVIDER" \
    "http://$TB_WHOAMI/"
if tb_is "the provider-style file connects (the app's sentinel 42: whoami saw the provider)" \
    "$TB_STATUS" 42; then
    tb_diag "$(grep '^fetch' "$TB_T/provider.out")"
    tb_is "laptop's resolv.conf is unchanged" "$(resolv_state)" "$before"
    tb_check_fails "no resolvconf state was created on laptop" test -e /run/resolvconf
else
    tb_diag_file "$TB_T/provider.out" "$TB_T/provider.err"
    tb_not_ok "laptop's resolv.conf is unchanged (not checked: the sandbox did not connect)"
fi
tb_done
