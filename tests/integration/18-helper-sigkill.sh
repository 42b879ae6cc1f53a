#!/bin/bash
# Test 18: the helper killed with SIGKILL at each step of a request: before
# the lock (at its flock), holding it (at the first netlink sendto after the
# flock), after creating the veth (at the sendto after the RTM_NEWLINK that
# creates it) and before printing (at the write of the v1 line). strace -u
# (which keeps setuid semantics) injects the SIGKILL on entry of the N-th
# call of that syscall, N taken from a trace of a successful request; the
# injected trace shows where it died. After each kill: nothing was printed;
# the lock is free at once; before the veth laptop is unchanged, after it
# exactly one host end remains, counted against the user (its group) and
# attached to the request's namespace; a quota check with max-per-user 2 is
# exact (3 requests at once: 2 minus the leftover succeed, well within the
# lock's bound); and every host end goes once its namespace is gone.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 18-helper-sigkill
command -v strace >/dev/null || tb_die "strace is needed"
tb_topology_up

LOCK=/run/nsjail-vpn-helper.lock
hs_policy "allow-user $TB_USER1" "max-per-user 2"
# traced TRACE [strace options] -- CMD...: CMD as the test user under strace,
# started by root in laptop; stdout and stderr in h.out and h.err, status H_RC.
traced()
{
    local trace=$1
    shift
    # Not through a function with the redirections: bash's own "Killed"
    # notice for strace (which dies of the same signal) would land in h.err.
    ip netns exec laptop env -i PATH="$TB_USER_PATH" strace -u "$TB_USER1" -f -o "$trace" \
        "${HS_STRACE_SAN[@]}" "$@" >"$TB_T/h.out" 2>"$TB_T/h.err"
    H_RC=$?
}
# calls TRACE: "SYSCALL ARGS" of each syscall line of a trace.
calls() { sed -nE 's/^[0-9]+ +([a-z_0-9]+)\((.*)$/\1 \2/p' "$1"; }
lock_free()
{
    "$TB_PY" -c 'import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NOFOLLOW)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)' "$LOCK"
}

# ---- where to strike, from a successful request
hs_holder "$TB_USER1" plain
hs_succeeds "traced, a request succeeds" \
    traced "$TB_T/plain.trace" -- "$TB_HELPER" attach 3<"/proc/$HS_PID/ns/net"
tb_stop plain
tb_wait 20 hs_no_hostends || tb_die "the traced request's host end did not go"
calls "$TB_T/plain.trace" >"$TB_T/plain.calls"
n_flock=$(awk '$1 == "flock" {n++; print n; exit}' "$TB_T/plain.calls")
n_hold=$(awk '$1 == "sendto" {s++} $1 == "flock" {print s + 1; exit}' "$TB_T/plain.calls")
n_veth=$(awk '$1 == "sendto" {s++}
    $1 == "sendto" && /RTM_NEWLINK/ && /NLM_F_CREATE/ {print s + 1; exit}' "$TB_T/plain.calls")
n_print=$(awk '$1 == "write" {w++} $1 == "write" && /^write 1, "v1 / {print w; exit}' \
    "$TB_T/plain.calls")
tb_log "strike at: flock #$n_flock, sendto #$n_hold, sendto #$n_veth, write #$n_print"
[[ -n $n_flock && -n $n_hold && -n $n_veth && -n $n_print ]] ||
    tb_die "the traced request lacks a flock, a veth creation or the v1 write"

# strike NAME SYSCALL N LOCKED LEFTOVER PATTERN...: kill a request at the
# N-th SYSCALL. The injected trace must end with the kill at that call, show
# the lock taken before (LOCKED yes) or not, and its last calls must match the
# PATTERNs (grep -E, the last one for the fatal call; memory management
# calls in between do not count). LEFTOVER (0 or 1) host ends may remain.
strike()
{
    local name=$1 sys=$2 n=$3 locked=$4 leftover=$5 before holder got took i k ok=1
    shift 5
    hs_holder "$TB_USER1" "k-$name"
    holder=$HS_PID
    before=$(hs_state)
    traced "$TB_T/$name.trace" -e inject="$sys:signal=KILL:when=$n" -- \
        "$TB_HELPER" attach 3<"/proc/$holder/ns/net"
    calls "$TB_T/$name.trace" >"$TB_T/$name.calls"
    got=$(awk -v s="$sys" '$1 == s' "$TB_T/$name.calls" | wc -l)
    took=no
    grep -Eq '^flock [0-9]+, LOCK_EX[^)]*\) += 0$' "$TB_T/$name.calls" && took=yes
    grep -qx '[0-9]* *+++ killed by SIGKILL +++' "$TB_T/$name.trace" || ok=0
    [[ $got == "$n" && $took == "$locked" ]] || ok=0
    # The last calls but memory management (a sanitizer build has more of it).
    grep -Ev '^(mmap|munmap|mremap|mprotect|madvise|brk) ' "$TB_T/$name.calls" >"$TB_T/$name.steps"
    k=$#
    for ((i = 1; i <= k; i++)); do
        tail -n $((k - i + 1)) "$TB_T/$name.steps" | head -n 1 | grep -Eq -- "${!i}" || ok=0
    done
    if ((ok)); then
        tb_ok "$name: killed at $sys #$n, where intended (lock taken: $locked)"
    else
        tb_not_ok "$name: killed at $sys #$n, where intended (lock taken: $locked)"
        tb_diag "calls of $sys: $got, lock taken: $took" "want, last calls: $*"
    fi
    tb_diag "$(tail -n "$k" "$TB_T/$name.steps" | cut -c1-110)" "$(tail -n 1 "$TB_T/$name.trace")"
    tb_is "$name: nothing printed" "$(cat "$TB_T/h.out" "$TB_T/h.err")" ""
    tb_check "$name: the lock is free at once" lock_free
    if ((leftover == 0)); then
        tb_is "$name: laptop unchanged" "$(hs_state)" "$before"
    else
        tb_is "$name: one host end remains, counted against $TB_USER1 (its group)" \
            "$(hs_hostends | awk '{print $2}')" "$TB_UID1"
        tb_check "$name: its peer is the request's eth0" tb_nsenter "$holder" ip link show eth0
    fi
    hs_batch "q-$name" "$TB_USER1" 3
    local want=$((2 - leftover))
    if ((HS_OK == want)) && [[ ${#HS_OTHER[@]} == 0 &&
        $(hs_count_refused "$(hs_limit_user 2)") == $((3 - want)) ]] && ((HS_BATCH_MS < 5000)); then
        tb_ok "$name: then 3 requests at once: exactly $want succeed, within the lock's bound"
        tb_diag "$HS_BATCH_MS ms"
    else
        tb_not_ok "$name: then 3 requests at once: exactly $want succeed, within the lock's bound"
        tb_diag "succeeded: $HS_OK in $HS_BATCH_MS ms" "refused: $HS_REFUSED" "${HS_OTHER[@]}"
    fi
    tb_stop "k-$name"
    if ((leftover)); then
        hs_leftover_gone() { (($(hs_hostend_count) == HS_OK)); }
        tb_check "$name: the leftover host end goes with the request's namespace" \
            tb_wait 20 hs_leftover_gone
    fi
    hs_stop_holders "q-$name-1" "q-$name-2" "q-$name-3"
    tb_check "$name: no host end once all namespaces are gone" tb_wait 20 hs_no_hostends
}

fatal=' = \?$'
strike before-the-lock flock "$n_flock" no 0 \
    '^openat AT_FDCWD, "/run/nsjail-vpn-helper\.lock"' "^flock .*$fatal"
strike holding-the-lock sendto "$n_hold" yes 0 "^sendto .*RTM_GETLINK.*$fatal"
strike after-the-veth sendto "$n_veth" yes 1 \
    '^sendto .*RTM_NEWLINK.*NLM_F_CREATE' '^recvmsg .*NLMSG_ERROR.*error=0' "^sendto .*$fatal"
# Everything done but the answer: the veth stays until the namespace goes.
strike before-printing write "$n_print" yes 1 "^write 1, \"v1 .*$fatal"
tb_done
