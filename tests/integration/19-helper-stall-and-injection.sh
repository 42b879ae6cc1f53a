#!/bin/bash
# Test 19: two attacks of one user on the others, through the setuid helper.
#
# S1, stalling everyone's requests: the helper holds its lock while it plans
# and creates, so a caller that could stop or slow it there would hold every
# other user's request. The request is held there on purpose, as root, with
# strace's fault injection (strace -u keeps the setuid semantics): the first
# netlink sendto after the flock (its number taken from a trace of a plain
# request, as in test 18) returns only after DELAY. The caller starts it with
# its attributes poisoned (SCHED_IDLE, nice 19, I/O class idle, CPU 0 only)
# from a cgroup it owns (a cgroup2 subtree delegated to it the way systemd
# delegates a user's, made by this test and removed at its end; cgroup2 is
# mounted at /sys/fs/cgroup in the helper's own mount namespace, as on a
# systemd machine). While it is held: the helper ignores SIGTSTP, SIGTTIN and
# SIGTTOU, runs SCHED_OTHER at nice 0, I/O class none, on every CPU, in the
# root cgroup. Then a SIGTSTP from root (as the terminal's Ctrl-Z would send
# it: not permission-checked), or a freeze of the caller's cgroup, must not
# keep it: it completes, and TB_USER2's request, started during the hold,
# succeeds within the helper's own lock bound; the lock is free after and
# TB_USER2 attaches at once. Controls: an ordinary process started the same
# way has each poisoned attribute, stops on SIGTSTP and freezes with its
# cgroup. Then a real Ctrl-Z (tests/lib/jobctl.py: a job-control shell on a
# pty of this test's own devpts) against the helper as the foreground job,
# while it waits for a lock root holds: it does not stop and completes once
# the lock is free; the same Ctrl-Z stops an ordinary job (the control).
#
# S2, injecting into another user's flow: a forged ICMP port unreachable
# from sandbox A (TB_USER1's own network namespace, attached by the helper
# and configured by hand) to laptop's uplink address, quoting a UDP flow of
# B (TB_USER2's --net nat app, masqueraded to 203.0.113.40:PORT ->
# 198.51.100.1:9999; PORT as world's UDP server saw it), is RELATED to B's
# flow; it must not reach B (forward), nor, quoting laptop's own connected
# UDP socket's flow, that socket (input). Controls: the same packets from
# world (where such errors come from) do give ECONNREFUSED to both, before
# and after the attack (a legitimate error still gets into a sandbox); A's
# packets did arrive in laptop; A has a network; both flows get replies from
# world's UDP echo.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 19-helper-stall-and-injection
for t in strace chrt taskset ionice; do
    command -v "$t" >/dev/null || tb_die "$t is needed"
done
tb_topology_up

LOCK=/run/nsjail-vpn-helper.lock
DELAY_US=3000000 # how long the held request holds the lock
hs_policy "allow-user $TB_USER1" "allow-user $TB_USER2"

lock_free()
{
    "$TB_PY" -c 'import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NOFOLLOW)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)' "$LOCK"
}
lock_held() { [[ -e $LOCK ]] && ! lock_free; }

# Warm up: the lock file, the table and forwarding exist.
hs_holder "$TB_USER1" warm
hs_succeeds "warm-up: one request" hs_helper "$TB_USER1" "/proc/$HS_PID/ns/net" attach
tb_stop warm
tb_wait 20 hs_no_hostends || tb_die "the warm-up's host end did not go"

# ---------------------------------------------------------------- S1 set-up

# The caller's cgroups: ROOT/nsjv-test-19.N (made here; N: the suite's netns) holding user/ (owned
# by TB_USER1 with its cgroup.procs, as systemd's Delegate= does), where
# tracer/ gets the processes root starts (strace among them) and caller/,
# made by TB_USER1, the helper's caller. CGM: the hierarchy as root sees it
# here, mounted in this test's state dir.
CGM=$TB_T/cgroup2 CGD="" CALLER=""
cg_remove()
{
    local d pid
    tb_stop_all
    for d in "$CGD/user/caller" "$CGD/user/tracer" "$CGD/user" "$CGD"; do
        [[ -d $d ]] || continue
        [[ -f $d/cgroup.freeze ]] && echo 0 >"$d/cgroup.freeze"
        # Only this test's processes can be here: each by its pid.
        for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        tb_wait 10 test -z "$(cat "$d/cgroup.procs" 2>/dev/null)"
        rmdir "$d" || tb_log "cannot remove the test's cgroup $d"
    done
    umount -n "$CGM" && rmdir "$CGM"
}
mkdir -p "$CGM"
if mount -n -t cgroup2 nsjv-cg19 "$CGM" 2>"$TB_T/cgroup-mount.err"; then
    CGD=$CGM/nsjv-test-19.$(tb_netns_inode /proc/self/ns/net) # one per run of the suite
    tb_on_exit cg_remove
    mkdir "$CGD" "$CGD/user" "$CGD/user/tracer" || tb_die "cannot make the test's cgroups"
    chown "$TB_USER1:" "$CGD/user" "$CGD/user/cgroup.procs" "$CGD/user/cgroup.threads" \
        "$CGD/user/cgroup.subtree_control"
    tb_as "$TB_USER1" mkdir "$CGD/user/caller" || tb_die "$TB_USER1 cannot make its cgroup"
    CALLER=$CGD/user/caller
    tb_log "cgroup2: the caller's cgroup is ${CALLER#"$CGM"}"
else
    rmdir "$CGM"
    tb_log "cgroup2 cannot be mounted here ($(cat "$TB_T/cgroup-mount.err")):" \
        "the cgroup checks are not run"
fi

# As root in laptop: cgroup2 at /sys/fs/cgroup in this command's own mount
# namespace (`ip netns exec` mounts a fresh sysfs, with nothing there) and
# the command in tracer/; then exec ARGS.
ROOT_WRAP='if [ -n "$1" ]; then
    mount -n -t cgroup2 nsjv-cg19 /sys/fs/cgroup && echo $$ >"$1/cgroup.procs" || exit 96
fi
shift; exec "$@"'
# As the caller: into its own cgroup, then its attributes poisoned; exec ARGS,
# in a process group of its own whose parent is in another group of the same
# session: the kernel discards a SIGTSTP sent to an orphaned process group (as
# the test's own group is where the suite runs without a terminal, in CI), and
# then neither the control nor the check below could tell a stop.
POISON='if [ -n "$1" ]; then echo 0 >"$1/cgroup.procs" || exit 97; fi
shift; exec perl -e "setpgrp(0, 0); exec @ARGV or die" \
    chrt --idle 0 nice -n 19 ionice -c 3 taskset -c 0 "$@"'
AS_ROOT=(ip netns exec laptop env -i PATH="$TB_USER_PATH" sh -c "$ROOT_WRAP" sh
    "${CALLER:+$CGD/user/tracer}")

# attrs PID: what S1 is about, one "key=value" a line.
ALL_CPUS=$(taskset -pc $$ | sed 's/.*: //')
attrs()
{
    local pid=$1 ign f
    ign=$(awk '/^SigIgn:/ {print $2}' "/proc/$pid/status")
    f=($(tb_stat_fields "$pid"))
    echo "ignores TSTP TTIN TTOU=$(((16#$ign >> 19 & 7) == 7 ? 1 : 0))"
    echo "nice=${f[16]}"
    echo "policy=$(chrt -p "$pid" | sed -n 's/.*scheduling policy: //p')"
    echo "cpus=$(taskset -pc "$pid" | sed 's/.*: //')"
    echo "io=$(ionice -p "$pid" | sed 's/:.*//')"
    [[ -z $CALLER ]] || echo "cgroup=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"
}
attr() { awk -v k="$1=" 'index($0, k) == 1 {print substr($0, length(k) + 1)}' <<<"$2"; }
tb_state() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# ---- control: an ordinary process started the same way
"${AS_ROOT[@]}" setpriv --reuid="$TB_UID1" --regid="$TB_UID1" --init-groups \
    env -i --default-signal PATH="$TB_USER_PATH" sh -c "$POISON" sh "$CALLER" sleep 600 \
    </dev/null >"$TB_T/logs/ctl.log" 2>&1 &
tb_register ctl $!
ctl=$(tb_pid_of ctl)
ctl_is_sleep() { [[ $(cat "/proc/$ctl/comm") == sleep ]]; }
tb_wait 10 ctl_is_sleep || tb_die "the control process did not start: $(cat "$TB_T/logs/ctl.log")"
a=$(attrs "$ctl")
tb_diag "control: $(echo $a)"
tb_is "control: an ordinary process started so does not ignore SIGTSTP, SIGTTIN, SIGTTOU" \
    "$(attr "ignores TSTP TTIN TTOU" "$a")" 0
tb_is "control: its nice value is 19" "$(attr nice "$a")" 19
tb_is "control: its policy is SCHED_IDLE" "$(attr policy "$a")" SCHED_IDLE
tb_is "control: its I/O class is idle" "$(attr io "$a")" idle
tb_is "control: it runs on CPU 0 only (all CPUs: $ALL_CPUS)" "$(attr cpus "$a")" 0
[[ $ALL_CPUS != 0 ]] || tb_log "one CPU only: the affinity checks cannot tell"
ctl_running() { [[ $(tb_state "$ctl") == S || $(tb_state "$ctl") == R ]]; }
if [[ -n $CALLER ]]; then
    tb_is "control: it is in the caller's cgroup" "$(attr cgroup "$a")" "${CALLER#"$CGM"}"
    echo 1 >"$CALLER/cgroup.freeze"
    tb_check "control: freezing the caller's cgroup freezes it" \
        tb_wait 5 grep -qx 'frozen 1' "$CALLER/cgroup.events"
    echo 0 >"$CALLER/cgroup.freeze"
    # Thawing is asynchronous, and a stop signal that arrives before it is done can be lost.
    tb_wait 5 grep -qx 'frozen 0' "$CALLER/cgroup.events" ||
        tb_not_ok "control: the caller's cgroup thaws again"
    tb_wait 5 ctl_running || tb_not_ok "control: the ordinary process runs again after the thaw"
fi
kill -TSTP "$ctl"
ctl_stopped() { [[ $(tb_state "$ctl") == T ]]; }
t0=$(tb_now_ms)
tb_check "control: a SIGTSTP from root stops it" tb_wait 5 ctl_stopped
stop_ms=$(($(tb_now_ms) - t0))
tb_stop ctl KILL

# ---- where to hold a request: the first sendto after the flock
traced_as_caller()
{
    local trace=$1 holder=$2
    shift 2
    "${AS_ROOT[@]}" strace -u "$TB_USER1" -f -o "$trace" "${HS_STRACE_SAN[@]}" "$@" -- \
        sh -c "$POISON" sh "$CALLER" "$TB_HELPER" attach 3<"/proc/$holder/ns/net"
}
hs_holder "$TB_USER1" plain
traced_as_caller "$TB_T/plain.trace" "$HS_PID" >"$TB_T/h.out" 2>"$TB_T/h.err"
H_RC=$?
hs_succeeds "control: traced and poisoned, a request succeeds" true
tb_stop plain
tb_wait 20 hs_no_hostends || tb_die "the traced request's host end did not go"
n_hold=$(sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' "$TB_T/plain.trace" |
    awk '$1 == "sendto" {s++} $1 == "flock" {print s + 1; exit}')
[[ -n $n_hold ]] || tb_die "the traced request has no flock"
tb_log "holding the lock at sendto #$n_hold for $((DELAY_US / 1000)) ms"

# held NAME HOLDER: the held request in the background (its strace: HELD;
# stdout and stderr in NAME.out and .err); waits until it holds the lock and
# sets HPID, the helper's pid.
held()
{
    local name=$1 holder=$2
    "${AS_ROOT[@]}" strace -u "$TB_USER1" -f -o "$TB_T/$name.trace" "${HS_STRACE_SAN[@]}" \
        -e inject=sendto:delay_exit="$DELAY_US":when="$n_hold" -- \
        sh -c "$POISON" sh "$CALLER" "$TB_HELPER" attach 3<"/proc/$holder/ns/net" \
        >"$TB_T/$name.out" 2>"$TB_T/$name.err" &
    tb_register "$name" $!
    helper_holds()
    {
        local s
        for s in $(tb_descendants "$(tb_pid_of "$name")"); do
            [[ $(cat "/proc/$s/comm" 2>/dev/null) == nsjail-vpn-help ]] && HPID=$s && break
        done
        [[ -n ${HPID:-} ]] && lock_held
    }
    HPID=""
    tb_wait 20 helper_holds
}

# second NAME: TB_USER2's request in the background, on a namespace of its own.
second()
{
    local name=$1
    hs_holder "$TB_USER2" "$name-ns"
    rm -f "$TB_T/$name".{out,err,rc,ms}
    tb_as_cmd "$TB_USER2"
    (
        t0=$(tb_now_ms)
        "${TB_AS[@]}" "$TB_HELPER" attach 3<"/proc/$HS_PID/ns/net" \
            >"$TB_T/$name.out" 2>"$TB_T/$name.err"
        echo $? >"$TB_T/$name.rc"
        echo $(($(tb_now_ms) - t0)) >"$TB_T/$name.ms"
    ) &
}

# after_hold NAME SECOND WHAT: the held request and the second one, done.
after_hold()
{
    local name=$1 sec=$2 what=$3 pid start rc spid sstart
    read -r spid sstart <"$TB_T/pids/$name"
    if tb_wait $((DELAY_US / 1000000 + 10)) tb_dead "$spid" "$sstart"; then
        wait "$spid"
        rc=$?
        if [[ $rc == 0 ]] && hs_result_in "$TB_T/$name.out"; then
            tb_ok "$what: the held request completes with the v1 line"
        else
            tb_not_ok "$what: the held request completes with the v1 line"
            tb_diag "status $rc" "$(cat "$TB_T/$name.out" "$TB_T/$name.err")"
        fi
        # The second request, waiting for the lock, takes it the moment the held one lets go:
        # the lock is free once both are done (seen held in CI when checked in between).
        tb_wait 15 test -e "$TB_T/$sec.ms"
        tb_check "$what: the lock is free after it (and after $TB_USER2's request)" lock_free
    else
        tb_not_ok "$what: the held request completes with the v1 line"
        tb_diag "still running $((DELAY_US / 1000000 + 10)) s later: state $(tb_state "$HPID")" \
            "$(tail -n 3 "$TB_T/$name.trace")"
        tb_check "$what: the lock is free after it" lock_free
        # It would hold the lock for ever: end it (ours, by pid; SIGKILL works on a frozen one).
        pid=$HPID start=$(tb_starttime "$HPID")
        tb_kill_pid "$pid" "$start" KILL
        tb_wait 10 tb_dead "$spid" "$sstart"
        wait "$spid" 2>/dev/null # strace ends with the helper's signal: no notice of bash's
    fi
    if tb_wait 15 test -e "$TB_T/$sec.ms" && [[ $(cat "$TB_T/$sec.rc") == 0 ]] &&
        [[ ! -s $TB_T/$sec.err ]] && hs_result_in "$TB_T/$sec.out"; then
        tb_ok "$what: $TB_USER2's request started during the hold succeeds within the lock's bound"
        tb_diag "$(cat "$TB_T/$sec.ms") ms"
    else
        tb_not_ok "$what: $TB_USER2's request started during the hold succeeds within the lock's bound"
        tb_diag "status $(cat "$TB_T/$sec.rc" 2>/dev/null), $(cat "$TB_T/$sec.ms" 2>/dev/null) ms" \
            "$(cat "$TB_T/$sec.out" "$TB_T/$sec.err" 2>/dev/null)"
    fi
}

# ---- held, poisoned: the helper's own attributes, and a SIGTSTP from root
hs_holder "$TB_USER1" h1
if ! held held1 "$HS_PID"; then
    tb_not_ok "the poisoned request holds the lock under strace"
    tb_diag "$(tail -n 5 "$TB_T/held1.trace")"
    tb_done
fi
a=$(attrs "$HPID")
tb_diag "the held helper: $(echo $a)"
tb_is "held: the helper ignores SIGTSTP, SIGTTIN and SIGTTOU" "$(attr "ignores TSTP TTIN TTOU" "$a")" 1
tb_is "held: its nice value is 0" "$(attr nice "$a")" 0
tb_is "held: its policy is SCHED_OTHER" "$(attr policy "$a")" SCHED_OTHER
tb_is "held: its I/O class is none (the default)" "$(attr io "$a")" none
tb_is "held: it may run on every CPU ($ALL_CPUS)" "$(attr cpus "$a")" "$ALL_CPUS"
[[ -z $CALLER ]] || tb_is "held: it left the caller's cgroup for the root cgroup" \
    "$(attr cgroup "$a")" /
kill -TSTP "$HPID"
second u2a
after_hold held1 u2a "SIGTSTP during the hold"
t0=$(tb_now_ms)
hs_holder "$TB_USER2" u2now
hs_succeeds "then $TB_USER2 attaches at once" hs_helper "$TB_USER2" "/proc/$HS_PID/ns/net" attach
tb_diag "$(($(tb_now_ms) - t0)) ms"
hs_stop_holders h1 u2a-ns u2now
tb_wait 20 hs_no_hostends || tb_die "host ends did not go"

# ---- held, and the caller freezes its own cgroup
if [[ -n $CALLER ]]; then
    hs_holder "$TB_USER1" h2
    if held held2 "$HS_PID"; then
        tb_as "$TB_USER1" sh -c 'echo 1 >"$1/cgroup.freeze"' sh "$CALLER"
        tb_wait 5 grep -qx 'frozen 1' "$CALLER/cgroup.events"
        tb_diag "the caller's cgroup: $(tr '\n' ' ' <"$CALLER/cgroup.events"), procs: $(echo $(cat "$CALLER/cgroup.procs"))"
        second u2b
        after_hold held2 u2b "the caller's cgroup frozen during the hold"
        echo 0 >"$CALLER/cgroup.freeze"
    else
        tb_not_ok "the request for the freeze holds the lock under strace"
    fi
    hs_stop_holders h2 u2b-ns
    tb_wait 20 hs_no_hostends || tb_die "host ends did not go"
fi

# ---- Ctrl-Z on the caller's terminal, the helper its foreground job
pts=$TB_T/pts
mkdir -p "$pts"
mount -n -t devpts -o newinstance,ptmxmode=0600,mode=0620 nsjv-pts19 "$pts" ||
    tb_die "cannot mount a devpts instance of the test's own"
tb_on_exit "umount -n '$pts'; rmdir '$pts'"
# job NAME CMD...: CMD as TB_USER1's foreground job; JOB its pid, fd JOBIN
# its shell's input (a FIFO), $TB_T/logs/NAME.log the shell's events.
job()
{
    local name=$1
    shift
    rm -f "$TB_T/$name.fifo"
    mkfifo "$TB_T/$name.fifo"
    exec {JOBIN}<>"$TB_T/$name.fifo"
    tb_as_cmd "$TB_USER1"
    "$TB_PY" "$TB_LIB/jobctl.py" "$pts/ptmx" "$TB_T/$name.out" "$TB_T/$name.err" -- \
        "${TB_AS[@]}" "$@" <&"$JOBIN" >"$TB_T/logs/$name.log" 2>&1 &
    tb_register "$name" $!
    tb_wait 10 grep -q '^job ' "$TB_T/logs/$name.log" || tb_die "jobctl did not start $name"
    JOB=$(awk '$1 == "job" {print $2; exit}' "$TB_T/logs/$name.log")
}
job_stopped() { grep -q '^stopped' "$TB_T/logs/$1.log" || [[ $(tb_state "$2") == T ]]; }

job ctlz sleep 600
ctl_job=$JOB
is_sleep() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == sleep ]]; }
tb_wait 10 is_sleep "$ctl_job"
echo z >&"$JOBIN"
t0=$(tb_now_ms)
tb_check "control: Ctrl-Z on the terminal stops an ordinary foreground job" \
    tb_wait 5 job_stopped ctlz "$ctl_job"
z_ms=$(($(tb_now_ms) - t0))
tb_diag "in $z_ms ms: $(tr '\n' ' ' <"$TB_T/logs/ctlz.log")"
tb_kill_pid "$ctl_job" "$(tb_starttime "$ctl_job")" KILL
tb_stop ctlz
exec {JOBIN}>&-

# The helper waits for the lock, which root holds, and gets the Ctrl-Z there.
tb_spawn locker laptop "$TB_PY" -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOFOLLOW)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)' "$LOCK"
tb_wait_log 10 locker locked || tb_die "root cannot take the helper's lock"
hs_holder "$TB_USER1" hz
job helperz "$TB_HELPER" attach 3<"/proc/$HS_PID/ns/net"
hz_job=$JOB
waits_for_lock()
{
    local fd
    for fd in /proc/"$hz_job"/fd/*; do
        [[ $(readlink "$fd") == "$LOCK" ]] && return 0
    done
    return 1
}
if tb_wait 4 waits_for_lock; then
    echo z >&"$JOBIN"
    window=$((3 * z_ms + 1000))
    ((window < 2500)) || window=2500
    deadline=$(($(tb_now_ms) + window))
    until job_stopped helperz "$hz_job" || (($(tb_now_ms) > deadline)); do
        sleep 0.05
    done
    tb_check_fails "Ctrl-Z does not stop the helper waiting for the lock (watched $window ms)" \
        job_stopped helperz "$hz_job"
    tb_diag "state $(tb_state "$hz_job"); $(tr '\n' ' ' <"$TB_T/logs/helperz.log")"
else
    tb_not_ok "the helper as a foreground job waits for the lock root holds"
    tb_diag "$(tr '\n' ' ' <"$TB_T/logs/helperz.log")" "$(cat "$TB_T/helperz.err")"
fi
tb_stop locker
if tb_wait 10 grep -q '^exited' "$TB_T/logs/helperz.log"; then
    tb_is "once root lets go of the lock, the request completes (status 0)" \
        "$(awk '$1 == "exited" {print $2}' "$TB_T/logs/helperz.log")" 0
    tb_check "its v1 line" hs_result_in "$TB_T/helperz.out"
else
    tb_not_ok "once root lets go of the lock, the request completes (status 0)"
    tb_diag "state $(tb_state "$hz_job"); $(tr '\n' ' ' <"$TB_T/logs/helperz.log")"
    tb_kill_pid "$hz_job" "$(tb_starttime "$hz_job")" KILL
fi
tb_check "the lock is free after it" lock_free
tb_stop helperz
exec {JOBIN}>&-
hs_stop_holders hz
tb_wait 20 hs_no_hostends || tb_die "host ends did not go"

# ---------------------------------------------------------------- S2

ECHO=$TB_T/state/echo
tb_spawn udpsrv world "$TB_PY" "$TB_LIB/udpflow.py" server "$TB_WHOAMI" 9999 "$ECHO"
tb_wait_log 10 udpsrv '^ready' || tb_die "world's UDP server did not start"
# seen TAG: the source port world saw TAG's datagrams come from (laptop's uplink).
seen() { sed -n "s/^from=$TB_LAPTOP:\([0-9]*\) data=$1 .*/\1/p" "$TB_T/logs/udpsrv.log" | tail -n 1; }

# A: TB_USER1's own network namespace, attached by the helper, eth0 set up by hand.
tb_as_cmd "$TB_USER1"
"${TB_AS[@]}" unshare --user --map-root-user --net sleep 600 </dev/null >/dev/null 2>&1 &
tb_register a $!
apid=$(tb_pid_of a)
tb_wait 10 hs_in_own_userns "$apid" || tb_die "unshare as $TB_USER1 did not start"
hs_succeeds "A: the helper attaches $TB_USER1's own namespace" \
    hs_helper "$TB_USER1" "/proc/$apid/ns/net" attach
read -r _ aend ahost aaddr _ <"$TB_T/h.out"
in_a() { tb_as "$TB_USER1" nsenter --preserve-credentials -U -n -t "$apid" "$@"; }
in_a sh -c "ip link set lo up && ip addr add $aaddr/31 dev eth0 && ip link set eth0 up &&
    ip route add default via $ahost" || tb_die "cannot set up A's eth0"
tb_wait 5 tb_lower_up laptop "$aend" || tb_die "A's link did not come up"
tb_is "control: A has a network (whoami through laptop's masquerade)" \
    "$(in_a curl -sS --max-time 5 "http://$TB_WHOAMI/" 2>&1)" "$TB_LAPTOP"

# laptop's own connected UDP socket, and B's.
tb_spawn lapudp laptop "$TB_PY" "$TB_LIB/udpflow.py" client "$TB_WHOAMI" 9999 laptop
tb_launch b "$TB_USER2" --net nat -- /usr/bin/python3 -c "$(cat "$TB_LIB/udpflow.py")" \
    client "$TB_WHOAMI" 9999 B
tb_wait_output b 60 '^port=' || {
    tb_not_ok "B's app starts in a --net nat sandbox"
    tb_diag_file "$TB_T/b.out" "$TB_T/b.err"
    tb_done
}
has_seen() { [[ -n $(seen "$1") ]]; }
tb_wait 10 has_seen B && tb_wait 10 has_seen laptop || tb_die "world did not see both flows"
bport=$(seen B) lport=$(seen laptop)
tb_log "B's flow: $TB_LAPTOP:$bport (its own port $(tb_field "$TB_T/b.out" port));" \
    "laptop's: $TB_LAPTOP:$lport; A: $aaddr on $aend"
refused_b() { grep -c '^refused=' "$TB_T/b.out"; }
refused_l() { grep -c '^refused=' "$TB_T/logs/lapudp.log"; }
tb_is "no ECONNREFUSED yet (world's server answers nothing)" "$(refused_b) $(refused_l)" "0 0"

# The arrivals of ICMP errors in laptop, before any rule of the helper's.
tb_in laptop nft -f - <<EOF || tb_die "cannot add the arrival counters in laptop"
table inet nsjvtest19 {
    counter from_sandbox {
    }
    chain count_pre {
        type filter hook prerouting priority -300; policy accept;
        iifname "nsjv*" icmp type destination-unreachable counter name "from_sandbox"
    }
}
EOF
tb_on_exit "tb_in laptop nft delete table inet nsjvtest19"

# unreach_from WHO PORT: errors quoting $TB_LAPTOP:PORT -> whoami:9999, to laptop.
unreach_from()
{
    local q=("$TB_LAPTOP" "$2" "$TB_WHOAMI" 9999 3)
    case $1 in
    world) tb_in world "$TB_PY" "$TB_LIB/rawpkt.py" unreach "$TB_WHOAMI" "$TB_LAPTOP" "${q[@]}" w-laptop ;;
    a) in_a "$TB_PY" -c "$(cat "$TB_LIB/rawpkt.py")" unreach "$aaddr" "$TB_LAPTOP" "${q[@]}" eth0 ;;
    esac
}
# world_control VICTIM WHEN: from world, the error reaches the victim's socket.
declare -A ms
world_control()
{
    local v=$1 port count t0
    case $v in B) port=$bport count=refused_b ;; laptop) port=$lport count=refused_l ;; esac
    n=$($count)
    rises() { unreach_from world "$port" && (($($count) > n)); }
    t0=$(tb_now_ms)
    if tb_wait 5 rises; then
        ms[$v]=$(($(tb_now_ms) - t0))
        tb_ok "control, $2: an error from world quoting $v's flow gives $v ECONNREFUSED (${ms[$v]} ms)"
    else
        ms[$v]=1000
        tb_not_ok "control, $2: an error from world quoting $v's flow gives $v ECONNREFUSED"
    fi
}
world_control B "before"
world_control laptop "before"

# The attack: from A, for three times as long as the controls took, sending all the while.
nb=$(refused_b) nl=$(refused_l)
arrived0=$(tb_in laptop nft list counter inet nsjvtest19 from_sandbox |
    awk '{for (i = 1; i < NF; i++) if ($i == "packets" && !k++) print $(i + 1)}')
either_rises()
{
    unreach_from a "$bport"
    unreach_from a "$lport"
    (($(refused_b) > nb || $(refused_l) > nl))
}
slow=$((ms[B] > ms[laptop] ? ms[B] : ms[laptop]))
tb_wait $(((3 * slow + 999) / 1000 + 1)) either_rises
arrived=$(tb_in laptop nft list counter inet nsjvtest19 from_sandbox |
    awk '{for (i = 1; i < NF; i++) if ($i == "packets" && !k++) print $(i + 1)}')
tb_check "control: A's forged errors did arrive in laptop ($((arrived - arrived0)) packets)" \
    test "$arrived" -gt "$arrived0"
tb_is "A's forged error quoting B's flow ($TB_LAPTOP:$bport) does not reach B (forward)" \
    "$(refused_b)" "$nb"
tb_is "A's forged error quoting laptop's flow ($TB_LAPTOP:$lport) does not reach laptop's socket (input)" \
    "$(refused_l)" "$nl"
tb_diag "B: $(grep -v '^port=' "$TB_T/b.out" | tail -n 2 | tr '\n' ' ')"

world_control B "after the attack"
world_control laptop "after the attack"

# Ordinary traffic: world's echo answers both flows.
touch "$ECHO"
tb_check "B's flow gets world's echo" tb_wait 5 grep -q '^reply=B ' "$TB_T/b.out"
tb_check "laptop's flow gets world's echo" tb_wait 5 grep -q '^reply=laptop ' "$TB_T/logs/lapudp.log"
tb_done
