#!/bin/bash
# Test 28: an app inside a sandbox cannot pose as a named sandbox's launcher.
# With XDG_RUNTIME_DIR in a directory the user can rename (not a mount point),
# an app renames the directory above the hidden state directory, plants its
# own NAME.sock there, and answers "join" with its own namespaces (a --net
# nat sandbox: the host's network, not the VPN). `nsjail-vpn exec NAME` and
# `ls` must refuse what answers (its peer is in another user namespace, and
# the namespaces it sends are not a sandbox of ours), and run nothing there.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 28-impersonation
tb_topology_up

xdg=$TB/home/$TB_USER1/xdg
install -d -m 0700 -o "$TB_UID1" -g "$TB_UID1" "$xdg"
TB_ENV=(XDG_RUNTIME_DIR="$xdg")
mkfifo "$TB_T/victim.in"
chmod 0666 "$TB_T/victim.in"
exec {victim_in}<>"$TB_T/victim.in"
TB_STDIN=$TB_T/victim.in tb_launch victim "$TB_USER1" --name work --net none -- \
    sh -c 'echo ready; read -r _'
tb_wait_output victim 30 '^ready$' || tb_die "the named sandbox did not start"

cat >"$TB/home/$TB_USER1/attack.py" <<'PY'
import os, socket, sys
x = os.environ["XDG_RUNTIME_DIR"]
try:
    os.rename(x, x + ".old")
except OSError as e:
    print("rename failed", e, flush=True)
    sys.exit(3)
os.mkdir(x, 0o700)
os.mkdir(x + "/nsjail-vpn", 0o700)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(x + "/nsjail-vpn/work.sock")
s.listen(4)
print("planted", flush=True)
s.settimeout(30)
try:
    while True:
        c, _ = s.accept()
        m = c.recv(100)
        print("got", m.decode(), flush=True)
        if m == b"join":
            fds = [os.open("/proc/self/ns/" + n, os.O_RDONLY) for n in ("user", "mnt", "pid", "net")]
            socket.send_fds(c, [b"joined"], fds)
        elif m == b"status":
            c.send(b'{"name": "work", "net": "vpn", "state": "connected", "apps": 1, "uptime": 1}')
except socket.timeout:
    pass
PY
chmod 0644 "$TB/home/$TB_USER1/attack.py"
tb_launch attacker "$TB_USER1" --net nat -- python3 "$TB/home/$TB_USER1/attack.py"
if tb_wait_output attacker 30 '^planted$'; then
    tb_ok "control: the app renamed the runtime directory and planted work.sock"
    tb_check "control: the planted socket is where exec looks" test -S "$xdg/nsjail-vpn/work.sock"

    tb_as "$TB_USER1" "$TB_LAUNCHER" exec work -- sh -c 'echo EXEC-RAN; ip -o -4 addr' \
        >"$TB_T/exec.out" 2>"$TB_T/exec.err"
    tb_is "exec: refused with 125" "$?" 125
    tb_is "exec: the command did not run" "$(grep -c EXEC-RAN "$TB_T/exec.out")" 0
    tb_check "exec: the error says it cannot reach the sandbox" \
        grep -q "nsjail-vpn: cannot reach the sandbox 'work'" "$TB_T/exec.err"
    tb_diag_file "$TB_T/exec.err"
    tb_as "$TB_USER1" "$TB_LAUNCHER" ls >"$TB_T/ls.out" 2>"$TB_T/ls.err"
    tb_is "ls: the planted socket's answer is not listed" \
        "$(grep -c '^work ' "$TB_T/ls.out")" 0
    tb_diag_file "$TB_T/ls.out" "$TB_T/ls.err"
    tb_is "the attacker never got a request (the peer check refused it first)" \
        "$(grep -c -e '^got join' -e '^got status' "$TB_T/attacker.out")" 0
    tb_check "ls: it says why the entry is ignored" grep -q "work: what answers on its socket is not a launcher of yours" "$TB_T/ls.err"
else
    tb_not_ok "control: the app renamed the runtime directory and planted work.sock"
    tb_diag_file "$TB_T/attacker.out" "$TB_T/attacker.err"
fi
tb_stop attacker
echo end >&"$victim_in"
tb_wait_exit victim 20
tb_is "the real sandbox ended normally" "$TB_STATUS" 0
rm -rf "$xdg" "$xdg.old"
tb_done
