#!/bin/bash
# Test 12: an app typing into the user's terminal with TIOCSTI. The launcher
# runs as the test user on a pty that is its controlling terminal, as in a
# login shell (tests/lib/ptyrun.py, on a devpts instance of this test's own);
# the app pushes "x" into the terminal with ioctl(0, TIOCSTI) and reports
# the result; afterwards the terminal's input is read, as the shell would.
#  - with --new-session the app has no controlling terminal: TIOCSTI fails
#    (EPERM, or EIO where dev.tty.legacy_tiocsti is 0) and nothing is typed;
#  - without it the outcome is the kernel's (SECURITY.md): with
#    dev.tty.legacy_tiocsti = 1 the app may type into its own controlling
#    terminal (the "x" is then waiting in the input: the detector's own
#    control), with 0 it fails with EIO and nothing is typed.
# dev.tty.legacy_tiocsti is the machine's and is only read, never changed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
tb_begin 12-tiocsti
tb_topology_up # for laptop, where the test user runs

legacy=$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1) # before 6.2: always allowed
tb_log "dev.tty.legacy_tiocsti = $legacy"
pts=$TB/pts-12
mkdir -p "$pts"
mount -n -t devpts -o newinstance,ptmxmode=0600,mode=0620 nsjv-pts "$pts" ||
    tb_die "cannot mount a devpts instance of the test's own"
tb_on_exit "umount -n '$pts'; rmdir '$pts'"

app='import errno, fcntl, os, termios
try:
    os.tcgetpgrp(0)
    ctty = "yes"
except OSError:
    ctty = "no"
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"x")
    result = "ok"
except OSError as e:
    result = errno.errorcode.get(e.errno, str(e.errno))
print("ctty=%s tiocsti=%s" % (ctty, result))'

# on_tty NAME ARGS...: the launcher as the test user on a new pty, the app in
# it; sets STATUS, PENDING (hex of what waits in the terminal's input) and
# APP (the app's report).
on_tty()
{
    local name=$1 report
    shift
    tb_as_cmd "$TB_USER1"
    report=$("$TB_PY" "$TB_LIB/ptyrun.py" "$pts/ptmx" "$TB_T/$name.tty" -- \
        "${TB_AS[@]}" "$TB_LAUNCHER" --net none "$@" -- "$TB_PY" -c "$app")
    STATUS=$(sed -n 's/^status=//p' <<<"$report")
    PENDING=$(sed -n 's/^pending=//p' <<<"$report")
    APP=$(grep -ao 'ctty=[a-z]* tiocsti=[A-Za-z0-9]*' "$TB_T/$name.tty" | head -n 1)
    tb_log "$name: ${report//$'\n'/ }, app: ${APP:-none}"
}

if ((legacy == 1)); then refused=EPERM; else refused=EIO; fi

# Control: root (CAP_SYS_ADMIN, allowed whatever the sysctl) types "x": the
# detector sees it.
report=$("$TB_PY" "$TB_LIB/ptyrun.py" "$pts/ptmx" "$TB_T/root.tty" -- "$TB_PY" -c \
    'import fcntl, termios; fcntl.ioctl(0, termios.TIOCSTI, b"x")')
tb_is "control: what root types with TIOCSTI waits in the terminal's input" \
    "$(tr '\n' ' ' <<<"$report")" "status=0 pending=78 "

on_tty new-session --new-session
if tb_is "--new-session: the app ran on the terminal, without it as its controlling terminal" \
    "$STATUS:$APP" "0:ctty=no tiocsti=$refused"; then
    :
else
    tb_diag "$(tr -d '\r' <"$TB_T/new-session.tty" | tail -n 10)"
fi
tb_is "--new-session: nothing typed into the terminal" "$PENDING" ""

on_tty shared
if ((legacy == 1)); then
    tb_is "without --new-session, legacy_tiocsti 1: the app may type into its own terminal" \
        "$STATUS:$APP" "0:ctty=yes tiocsti=ok" # the kernel's rule, documented in SECURITY.md
    tb_is "control: what it typed ('x') waits in the terminal's input (the checks can fail)" \
        "$PENDING" 78
else
    tb_is "without --new-session, legacy_tiocsti 0: TIOCSTI fails" "$STATUS:$APP" \
        "0:ctty=yes tiocsti=EIO"
    tb_is "without --new-session, legacy_tiocsti 0: nothing typed" "$PENDING" ""
fi
[[ $APP == *ctty=* ]] || tb_diag "$(tr -d '\r' <"$TB_T/shared.tty" | tail -n 10)"
tb_done
