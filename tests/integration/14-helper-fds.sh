#!/bin/bash
# Test 14: every wrong kind of fd 3, and namespaces that are not the caller's
# to give, beyond test 7's (closed, /dev/null, a regular file, a user
# namespace, laptop's own, root's, another user's through /proc): fd 3 the
# same as fd 0, 1 or 2 (a pipe, a tty, a file), a socket, a pidfd, a
# directory, a mount namespace of the caller's own, an O_PATH fd of the
# caller's own network namespace, a network namespace in a user namespace
# root made, and another user's sandbox namespace passed over a Unix socket
# (SCM_RIGHTS) by that user. Each must be refused with status 4, its one
# message, no output, and laptop unchanged (tests/lib/hostile.sh). Controls:
# the same namespace the O_PATH case names, opened normally, and the
# caller's own namespace passed over the same kind of socket, both succeed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 14-helper-fds
tb_topology_up

hs_holder "$TB_USER1" own --mount
own=$HS_PID
hostile=("$TB_PY" "$TB_LIB/hostile.py")

# ---- fd 3 the same as one of fds 0-2
stdin_pipe()
{
    tb_as_cmd "$TB_USER1"
    : | "${TB_AS[@]}" "$TB_HELPER" attach 3<&0 >"$TB_T/h.out" 2>"$TB_T/h.err"
    H_RC=${PIPESTATUS[1]}
}
stdout_pipe()
{
    tb_as_cmd "$TB_USER1"
    "${TB_AS[@]}" "$TB_HELPER" attach 3>&1 2>"$TB_T/h.err" | cat >"$TB_T/h.out"
    H_RC=${PIPESTATUS[0]}
}
stderr_file() { hs_run "$TB_USER1" "$TB_HELPER" attach 3>&2; }
hs_refused "fd 3 is fd 0, a pipe" 4 "$HS_NOT_NETNS" stdin_pipe
hs_refused "fd 3 is fd 1, a pipe" 4 "$HS_NOT_NETNS" stdout_pipe
hs_refused "fd 3 is fd 2, a file" 4 "$HS_NOT_NETNS" stderr_file

# A pty of a devpts instance of this test's own (the machine's /dev/pts
# gets no new entry), opened by the caller.
pts=$TB/pts-14
mkdir -p "$pts"
mount -n -t devpts -o newinstance,ptmxmode=0666,mode=0620 nsjv-pts "$pts" ||
    tb_die "cannot mount a devpts instance of the test's own"
tb_on_exit "umount -n '$pts'; rmdir '$pts'"
hs_refused "fd 3 is fd 0, a tty" 4 "$HS_NOT_NETNS" \
    hs_run "$TB_USER1" "${hostile[@]}" fd3 tty "$pts/ptmx" -- "$TB_HELPER" attach

# ---- other kinds of fd
hs_refused "fd 3 is a Unix socket" 4 "$HS_NOT_NETNS" \
    hs_run "$TB_USER1" "${hostile[@]}" fd3 socket -- "$TB_HELPER" attach
hs_refused "fd 3 is a pidfd" 4 "$HS_NOT_NETNS" \
    hs_run "$TB_USER1" "${hostile[@]}" fd3 pidfd -- "$TB_HELPER" attach
hs_refused "fd 3 is a directory (/run/netns)" 4 "$HS_NOT_NETNS" \
    hs_helper "$TB_USER1" /run/netns attach
hs_refused "fd 3 is the caller's own mount namespace" 4 "$HS_NOT_NETNS" \
    hs_helper "$TB_USER1" "/proc/$own/ns/mnt" attach
hs_refused "fd 3 is an O_PATH fd of the caller's own network namespace" 4 "$HS_NOT_NETNS" \
    hs_run "$TB_USER1" "${hostile[@]}" fd3 opath "/proc/$own/ns/net" -- "$TB_HELPER" attach

# ---- namespaces that are not the caller's
unshare --user --net sleep 600 </dev/null >/dev/null 2>&1 &
tb_register root-userns $!
tb_wait 10 hs_in_own_userns "$(tb_pid_of root-userns)" || tb_die "root's unshare did not start"
hs_refused "a network namespace in a user namespace root made" 4 "$HS_NOT_CALLERS" \
    hs_helper "$TB_USER1" "/proc/$(tb_pid_of root-userns)/ns/net" attach

# scm SENDER RECEIVER PATH: SENDER opens PATH and passes it over a Unix
# socket to RECEIVER, which runs the helper with it on fd 3.
install -d -m 1777 "$TB_T/scm"
scm()
{
    local sock=$TB_T/scm/$RANDOM.sock
    tb_as_cmd "$1"
    "${TB_AS[@]}" "${hostile[@]}" send "$sock" "$3" >"$TB_T/send.log" 2>&1 &
    local sender=$!
    hs_run "$2" "${hostile[@]}" fd3 recv "$sock" -- "$TB_HELPER" attach
    wait "$sender"
    SEND_RC=$?
}

tb_launch sandbox2 "$TB_USER2" --net none -- sleep 600
sandbox2_settled() { tb_find_desc "$TB_LPID" '^sleep 600' || tb_dead "$TB_LPID"; }
tb_wait 30 sandbox2_settled
if app2=$(tb_find_desc "$TB_LPID" '^sleep 600'); then
    app2_links=$(tb_nsenter "$app2" ip -o link show)
    hs_refused "$TB_USER2's sandbox namespace, sent by $TB_USER2 over a Unix socket" 4 \
        "$HS_NOT_CALLERS" scm "$TB_USER2" "$TB_USER1" "/proc/$app2/ns/net"
    tb_is "$TB_USER2 could open and send it (so the refusal is about whose it is)" \
        "$SEND_RC:$(cat "$TB_T/send.log")" "0:"
    tb_is "$TB_USER2's sandbox: its links unchanged" "$(tb_nsenter "$app2" ip -o link show)" \
        "$app2_links"
else
    tb_not_ok "$TB_USER2's sandbox namespace over a Unix socket: the sandbox did not start"
    tb_diag_file "$TB_T/sandbox2.err"
fi
tb_stop sandbox2

# ---- controls: the caller's own namespace, opened normally and passed over a socket
hs_succeeds "control: the namespace of the O_PATH case, opened normally" \
    hs_helper "$TB_USER1" "/proc/$own/ns/net" attach
tb_check "control: the peer eth0 is in that namespace" tb_nsenter "$own" ip link show eth0
hs_holder "$TB_USER1" own2
hs_succeeds "control: the caller's own namespace, sent by the caller over a Unix socket" \
    scm "$TB_USER1" "$TB_USER1" "/proc/$HS_PID/ns/net"
tb_check "control: the peer eth0 is in that namespace" tb_nsenter "$HS_PID" ip link show eth0
hs_stop_holders own own2
tb_wait 20 hs_no_hostends
tb_is "control: the host ends went with the namespaces" "$(hs_hostends)" ""
tb_done
