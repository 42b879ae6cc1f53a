#!/bin/bash
# Test 1: from the sandbox, the whoami server sees the provider's address; from
# laptop, laptop's own; a split-tunnel server config sends only the pushed
# routes through the tunnel.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 01-whoami
tb_topology_up

tb_is "laptop: whoami sees laptop's own address" \
    "$(tb_curl laptop "http://$TB_WHOAMI/")" "$TB_LAPTOP"
tb_is "laptop (control): the second whoami answers" \
    "$(tb_curl laptop "http://$TB_WHOAMI2/")" "$TB_LAPTOP"

# fetched NAME URL: the body the app got for URL ("" when none).
fetched() { sed -n "s|^fetch $2 rc=[0-9]* body=||p" "$TB_T/$1.out"; }
fetch_rc() { sed -n "s|^fetch $2 rc=\([0-9]*\) .*|\1|p" "$TB_T/$1.out"; }

tb_app fetch
tb_run full 60 "$TB_USER1" --vpn "$TB/client/full.ovpn" -- "${TB_APP[@]}" "$TB_PROVIDER" \
    "http://$TB_WHOAMI/" "http://$TB_WHOAMI2/"
if tb_is "full tunnel: the app ran and exited with the sentinel 42" "$TB_STATUS" 42; then
    tb_is "full tunnel: whoami sees the provider's address" \
        "$(fetched full "http://$TB_WHOAMI/")" "$TB_PROVIDER"
    tb_is "full tunnel: every destination goes through it (second whoami sees the provider)" \
        "$(fetched full "http://$TB_WHOAMI2/")" "$TB_PROVIDER"
    tb_check "full tunnel: the app has catch-all routes (default or def1)" \
        test "$(tb_field "$TB_T/full.out" catchall_routes)" -gt 0
    tb_diag "$(grep '^route' "$TB_T/full.out")"
else
    tb_diag_file "$TB_T/full.out" "$TB_T/full.err"
fi

tb_run split 60 "$TB_USER1" --vpn "$TB/client/split.ovpn" -- "${TB_APP[@]}" "$TB_PROVIDER" \
    "http://$TB_WHOAMI/" "http://$TB_WHOAMI2/"
if tb_is "split tunnel: the app ran and exited with the sentinel 42" "$TB_STATUS" 42; then
    tb_is "split tunnel: the pushed route ($TB_WHOAMI) goes through the tunnel" \
        "$(fetched split "http://$TB_WHOAMI/")" "$TB_PROVIDER"
    tb_is "split tunnel: $TB_WHOAMI2 (not pushed) gets no answer at all (curl status 7)" \
        "$(fetch_rc split "http://$TB_WHOAMI2/"):$(fetched split "http://$TB_WHOAMI2/")" "7:"
    tb_is "split tunnel: the app has no catch-all route (default or def1)" \
        "$(tb_field "$TB_T/split.out" catchall_routes)" 0
    tb_check "split tunnel: the app has the pushed host route" \
        grep -q "^route $TB_WHOAMI " "$TB_T/split.out"
    tb_diag "$(grep '^route' "$TB_T/split.out")"
else
    tb_diag_file "$TB_T/split.out" "$TB_T/split.err"
fi

tb_done
