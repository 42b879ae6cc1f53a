#!/bin/bash
# Test 21: a descriptor the caller leaks to the launcher must not reach the
# app. A socket of laptop's network, opened before the launcher starts and
# left open as fd 7, would be a way out that is not the tunnel: the app would
# connect through it from the host's own network. Control: an ordinary child
# with the same fd 7 reaches whoami through it, from laptop's address.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 21-inherited-fds
tb_topology_up

# leak CMD...: CMD run by the test user in laptop with an unconnected TCP
# socket of laptop's network on fd 7 (and fd 7 not close-on-exec).
leak()
{
    tb_as_cmd "$TB_USER1"
    "${TB_AS[@]}" "$TB_PY" -c 'import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
os.dup2(s.fileno(), 7)
os.set_inheritable(7, True)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}
# What the app does with fd 7: an HTTP request to whoami through it.
use_fd7='import socket, sys
try:
    s = socket.socket(fileno=7)
except OSError as e:
    print("no fd 7:", e.strerror); sys.exit(0)
s.settimeout(5)
s.connect(("'$TB_WHOAMI'", 80))
s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
answer = b""
while chunk := s.recv(4096):
    answer += chunk
print("through fd 7:", answer.decode().split("\r\n\r\n", 1)[-1].strip())'

out=$(leak "$TB_PY" -c "$use_fd7" 2>&1)
tb_is "control: a plain child uses the leaked socket and reaches whoami from laptop" \
    "$out" "through fd 7: $TB_LAPTOP"

out=$(leak "$TB_LAUNCHER" --vpn "$TB/client/full.ovpn" -- "$TB_PY" -c "$use_fd7" 2>"$TB_T/vpn.err")
tb_is "a --vpn app has no fd 7" "$out" "no fd 7: Bad file descriptor"
[[ $out == "no fd 7"* ]] || tb_diag_file "$TB_T/vpn.err"

# The launcher itself may still read an inherited descriptor: --vpn /dev/fd/N.
out=$(tb_as "$TB_USER1" sh -c "exec 5<'$TB/client/full.ovpn'; '$TB_LAUNCHER' --vpn /dev/fd/5 -- \
    curl -sS --max-time 5 http://$TB_WHOAMI/" 2>"$TB_T/fd5.err")
tb_is "--vpn /dev/fd/5 is read by the launcher, and the app reaches whoami through the tunnel" \
    "$out" "$TB_PROVIDER"

out=$(leak "$TB_LAUNCHER" --net none -- sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "')
tb_is "a --net none app has only 0, 1 and 2 (and ls's own)" "$out" "0 1 2 3 "

# A closed stdout must not become the home of something of ours: the app
# still finds fd 1 open (on /dev/null) and writes without error.
out=$(tb_as "$TB_USER1" sh -c "exec 1>&-; '$TB_LAUNCHER' --net none -- sh -c 'echo x; echo rc=\$? >&2'" 2>&1)
tb_is "with stdout closed, the app's writes to fd 1 succeed (on /dev/null)" "$out" "rc=0"
tb_done
