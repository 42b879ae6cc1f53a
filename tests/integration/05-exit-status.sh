#!/bin/bash
# Test 5: exit status 0 and 3, and a death by SIGTERM, pass through; SIGINT
# (and SIGTERM, SIGHUP) sent to the launcher reach the app. Also the
# launcher's own codes: 125 for its own failure, 126/127 for exec failures.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 05-exit-status
tb_topology_up

# status NAME DESC EXPECTED ARGS...: run the launcher, compare its status; the
# app prints "ran" first, so a launcher that never ran it cannot pass.
status()
{
    local name=$1 desc=$2 expected=$3
    shift 3
    tb_run "$name" 60 "$TB_USER1" "$@"
    if tb_is "$desc" "$TB_STATUS:$(head -c 20 "$TB_T/$name.out")" "$expected:ran"; then
        return 0
    fi
    tb_diag_file "$TB_T/$name.out" "$TB_T/$name.err"
}

status none0 "--net none, exit 0 passes through" 0 --net none -- sh -c 'echo ran; exit 0'
status none3 "--net none, exit 3 passes through" 3 --net none -- sh -c 'echo ran; exit 3'
status term "--net none, a death by SIGTERM passes through (128+15)" 143 \
    --net none -- sh -c 'echo ran; kill -TERM $$; sleep 5'
status vpn3 "--vpn, exit 3 passes through" 3 \
    --vpn "$TB/client/full.ovpn" -- sh -c 'echo ran; exit 3'

# signal SIG: the app reports it and exits 7.
signal()
{
    local sig=$1 name=sig$1
    tb_app signals
    tb_launch "$name" "$TB_USER1" --net none -- "${TB_APP[@]}"
    if ! tb_wait_output "$name" 30 '^ready$'; then
        tb_not_ok "SIG$sig to the launcher reaches the app (app never became ready)"
        tb_diag_file "$TB_T/$name.out" "$TB_T/$name.err"
        return 1
    fi
    kill -s "$sig" "$TB_LPID"
    tb_wait_exit "$name" 20
    tb_is "SIG$sig to the launcher reaches the app, whose status 7 is the launcher's" \
        "$TB_STATUS $(grep got- "$TB_T/$name.out")" "7 got-$sig" ||
        tb_diag_file "$TB_T/$name.out" "$TB_T/$name.err"
}
signal INT
signal TERM
signal HUP

tb_run nonet 30 "$TB_USER1" -- true
tb_is "neither --vpn nor --net: the launcher's own failure, 125" "$TB_STATUS" 125
tb_check "neither --vpn nor --net: the launcher's error names both" \
    grep -q -- '^nsjail-vpn: .*\(--vpn.*--net\|--net.*--vpn\)' "$TB_T/nonet.err"

# 126 and 127 also come from env(1) when the launcher itself is missing: the
# launcher's own message, naming the command, tells them apart.
tb_run notfound 30 "$TB_USER1" --net none -- /nonexistent/nsjv-app
tb_is "a command that does not exist: 127, and the launcher says why" \
    "$TB_STATUS $(grep -c '^nsjail-vpn: .*/nonexistent/nsjv-app' "$TB_T/notfound.err")" "127 1" ||
    tb_diag_file "$TB_T/notfound.err"

tb_run noexec 30 "$TB_USER1" --net none -- /etc/passwd
tb_is "a command that is not executable (/etc/passwd): 126, and the launcher says why" \
    "$TB_STATUS $(grep -c '^nsjail-vpn: .*/etc/passwd' "$TB_T/noexec.err")" "126 1" ||
    tb_diag_file "$TB_T/noexec.err"
tb_done
