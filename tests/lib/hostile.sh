# shellcheck shell=bash
# The hostile suite's way of calling the setuid helper (tests 07 and 13-18).
# Source it after testbed.sh, in a test that has called tb_begin.
#
#   hs_holder USER NAME [unshare options]  a network namespace in a user
#                          namespace of USER's own, held by a sleep (HS_PID)
#   hs_helper USER FD3 ARGS...             the helper as USER inside laptop,
#                          fd 3 opened by root from FD3 ("-": closed)
#   hs_refused DESC STATUS MESSAGE CMD...  CMD (which sets H_RC and writes
#                          $TB_T/h.out and h.err) must be refused with STATUS,
#                          nothing on stdout, exactly one line on stderr,
#                          "nsjail-vpn-helper: MESSAGE", and laptop unchanged
#   hs_succeeds DESC CMD...                CMD must succeed: status 0, the
#                          v1 line on stdout, nothing on stderr
#   hs_policy LINES...                     the helper's policy, one line each
#   hs_batch NAME USER N                   N helpers of USER at once, each on
#                          a namespace of its own (HS_OK, HS_REFUSED, HS_OTHER;
#                          hs_tally counts them again, hs_stop_batch ends the
#                          namespaces)
#   hs_hostends                            "NAME GROUP" of each host end nsjvN
#
# The messages, with their statuses, are the helper's fixed texts
# (nsjail-vpn-helper(8)); a refusal never quotes what the caller passed.

HS_USAGE="refused: usage: nsjail-vpn-helper attach|refresh|publish NAME|unpublish NAME, with a sandbox's network namespace on fd 3"
HS_NOT_NETNS="refused: fd 3 is not a sandbox's network namespace"
HS_HOST_NETNS="refused: the network namespace on fd 3 belongs to the host, not a sandbox"
HS_NOT_CALLERS="refused: the network namespace on fd 3 is not the caller's"
HS_NOT_PERMITTED="refused: not permitted by the helper policy"
HS_UNTRUSTED="refused: the helper policy or a directory above it is not root's alone"
HS_INVALID="refused: the helper policy is invalid"
# The one line of a success (grep -Ex): the test bed has no other firewall, so no w1 lines.
HS_RESULT_RE='v1 nsjv[0-9]+ 198\.18\.64\.[0-9]+ 198\.18\.64\.[0-9]+ 31 eth0'

# hs_result_in FILE: FILE is exactly the one v1 line.
hs_result_in() { [[ $(wc -l <"$1") == 1 ]] && grep -Eqx -- "$HS_RESULT_RE" "$1"; }

# strace options for a traced helper: in the sanitizer build, its ASan options
# without LeakSanitizer, which ptraces the process at exit and cannot while
# strace does (it would fail the test with a fatal-error report).
HS_STRACE_SAN=()
if [[ -n ${TB_SANITIZE:-} ]]; then
    HS_STRACE_SAN=(-E "ASAN_OPTIONS=$TB_ASAN_OPTIONS:detect_leaks=0"
        -E "UBSAN_OPTIONS=$TB_UBSAN_OPTIONS")
fi

hs_limit_user() { echo "refused: limit reached: $1 sandboxes at once for this user"; }
hs_limit_host() { echo "refused: limit reached: $1 sandboxes at once on this host"; }

hs_in_own_userns() { [[ $(readlink "/proc/$1/ns/user") != "$(readlink /proc/self/ns/user)" ]]; }

# hs_holder USER NAME [OPTION...]: `unshare --user --map-current-user --net
# OPTION... sleep` as USER inside laptop, registered as NAME; HS_PID its pid.
hs_holder()
{
    local user=$1 name=$2
    shift 2
    tb_as_cmd "$user"
    "${TB_AS[@]}" unshare --user --map-current-user --net "$@" sleep 600 \
        </dev/null >/dev/null 2>&1 &
    HS_PID=$!
    tb_register "$name" "$HS_PID"
    tb_wait 10 hs_in_own_userns "$HS_PID" || tb_die "unshare as $user did not start"
}

# hs_run USER CMD...: CMD as USER inside laptop; stdout and stderr in
# $TB_T/h.out and h.err, status in H_RC. fd 3 is whatever the caller has.
hs_run()
{
    tb_as_cmd "$1"
    shift
    "${TB_AS[@]}" "$@" >"$TB_T/h.out" 2>"$TB_T/h.err"
    H_RC=$?
}

# hs_helper USER FD3 ARGS...: the helper as USER with fd 3 opened by root
# from the path FD3, or closed when FD3 is "-".
hs_helper()
{
    local user=$1 src=$2
    shift 2
    if [[ $src == - ]]; then
        hs_run "$user" "$TB_HELPER" "$@" 3<&-
    else
        hs_run "$user" "$TB_HELPER" "$@" 3<"$src"
    fi
}

# hs_state: what the helper could change on the "host": laptop's network
# state and the suite's /run (tb_laptop_state has both).
hs_state() { tb_laptop_state 2>&1; }

# hs_message_is MESSAGE: $TB_T/h.err is exactly one line, "nsjail-vpn-helper: MESSAGE".
hs_message_is()
{
    [[ $(wc -l <"$TB_T/h.err") == 1 && $(<"$TB_T/h.err") == "nsjail-vpn-helper: $1" ]]
}

hs_diag_call()
{
    tb_diag "status $H_RC" "stdout ($(wc -c <"$TB_T/h.out") bytes): $(head -c 300 "$TB_T/h.out")" \
        "stderr ($(wc -l <"$TB_T/h.err") lines): $(head -c 600 "$TB_T/h.err")"
}

# hs_refused DESC STATUS MESSAGE CMD...
hs_refused()
{
    local desc=$1 status=$2 msg=$3 before after
    shift 3
    before=$(hs_state)
    "$@"
    after=$(hs_state)
    if [[ $H_RC == "$status" && ! -s $TB_T/h.out ]] && hs_message_is "$msg"; then
        tb_ok "$desc: refused with status $status and its one message"
    else
        tb_not_ok "$desc: refused with status $status, no output, one line: '$msg'"
        hs_diag_call
    fi
    if [[ $before == "$after" ]]; then
        tb_ok "$desc: laptop unchanged"
    else
        tb_not_ok "$desc: laptop unchanged"
        tb_diag "$(diff <(echo "$before") <(echo "$after") | head -n 20)"
    fi
}

# hs_succeeds DESC CMD...
hs_succeeds()
{
    local desc=$1
    shift
    "$@"
    if [[ $H_RC == 0 && ! -s $TB_T/h.err ]] && hs_result_in "$TB_T/h.out"; then
        tb_ok "$desc: succeeds with the v1 line"
        return 0
    fi
    tb_not_ok "$desc: succeeds with the v1 line and nothing on stderr"
    hs_diag_call
    return 1
}

# hs_policy LINE...: the helper's policy (root's, 0644) with these lines and
# the test bed's pool and uplink; the suite's own comes back at teardown.
hs_policy()
{
    if [[ ! -f $TB_T/policy.orig ]]; then
        cp -p "$TB_POLICY" "$TB_T/policy.orig"
        tb_on_exit "cp -p '$TB_T/policy.orig' '$TB_POLICY'"
    fi
    printf '%s\n' "$@" "pool $TB_POOL" "uplink uplink0" "forwarding yes" >"$TB_POLICY"
    chown root:root "$TB_POLICY"
    chmod 0644 "$TB_POLICY"
}

# hs_policy_restore: the suite's own policy again.
hs_policy_restore() { cp -p "$TB_T/policy.orig" "$TB_POLICY"; }

# The sandboxes' host ends in laptop, with the group the helper gave each
# ("NAME GROUP" a line).
hs_hostends()
{
    ip -n laptop -d -o link show | awk '{
        name = $2; sub(/:$/, "", name); sub(/@.*/, "", name)
        for (i = 1; i < NF; i++) if ($i == "group") group = $(i + 1)
        if (name ~ /^nsjv[0-9]+$/) print name, group }'
}

# hs_batch NAME USER N: N holders of USER (NAME-1 ... NAME-N; one that is
# registered already is used again), then one helper each, all at once; waits for
# all of them. HS_OK: how many printed the v1 line (their holders in
# HS_OK_NAMES); HS_REFUSED: lines "MESSAGE" of the refusals (status 3, one
# line, no output); HS_OTHER: anything else, for the diagnostics; HS_OVERLAP:
# the most calls that were running at one moment. The calls' files are
# $TB_T/batch/NAME-I.{out,err,rc}.
hs_batch()
{
    local name=$1 user=$2 n=$3 i pids=() pid deadline t0
    mkdir -p "$TB_T/batch"
    for ((i = 1; i <= n; i++)); do
        if [[ ! -f $TB_T/pids/$name-$i ]]; then
            hs_holder "$user" "$name-$i"
        fi
    done
    # All start at once: each says it is ready, then reads one line of a FIFO
    # that gets its lines when all are ready (kept open until all are done, so
    # that no read ever waits for a writer).
    rm -f "$TB_T/batch/$name.go" "$TB_T/batch/$name"-*.{ready,out,err,rc,t0,t1}
    mkfifo "$TB_T/batch/$name.go"
    exec {go}<>"$TB_T/batch/$name.go"
    tb_as_cmd "$user"
    for ((i = 1; i <= n; i++)); do
        pid=$(tb_pid_of "$name-$i")
        (
            : >"$TB_T/batch/$name-$i.ready"
            read -r _ <"$TB_T/batch/$name.go"
            echo "${EPOCHREALTIME/./}" >"$TB_T/batch/$name-$i.t0"
            "${TB_AS[@]}" "$TB_HELPER" attach 3<"/proc/$pid/ns/net" \
                >"$TB_T/batch/$name-$i.out" 2>"$TB_T/batch/$name-$i.err"
            echo $? >"$TB_T/batch/$name-$i.rc"
            echo "${EPOCHREALTIME/./}" >"$TB_T/batch/$name-$i.t1"
        ) &
        pids+=($!)
    done
    hs_all_ready() { (($(compgen -G "$TB_T/batch/$name-*.ready" | wc -l) == n)); }
    tb_wait 30 hs_all_ready
    t0=$(tb_now_ms)
    for ((i = 1; i <= n; i++)); do
        echo go >&"$go"
    done
    deadline=$(($(tb_now_ms) + 60000))
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null && (($(tb_now_ms) < deadline)); do
            sleep 0.05
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        wait "$pid" 2>/dev/null
    done
    exec {go}>&-
    HS_BATCH_MS=$(($(tb_now_ms) - t0))
    # The most requests in flight at one moment (from their start and end times).
    HS_OVERLAP=$(for ((i = 1; i <= n; i++)); do
        echo "$(cat "$TB_T/batch/$name-$i.t0" 2>/dev/null) 1"
        echo "$(cat "$TB_T/batch/$name-$i.t1" 2>/dev/null) -1"
    done | sort -n | awk '$1 != "" {c += $2; if (c > m) m = c} END {print m + 0}')
    hs_tally "$name" "$n"
}

# hs_tally NAME N: HS_OK, HS_OK_NAMES, HS_REFUSED and HS_OTHER (see
# hs_batch) from the files of the batch NAME of N calls.
hs_tally()
{
    local name=$1 n=$2 i f rc
    HS_OK=0 HS_OK_NAMES=() HS_REFUSED="" HS_OTHER=()
    for ((i = 1; i <= n; i++)); do
        f=$TB_T/batch/$name-$i
        rc=$(cat "$f.rc" 2>/dev/null || echo none)
        if [[ $rc == 0 && ! -s $f.err ]] && hs_result_in "$f.out"; then
            HS_OK=$((HS_OK + 1))
            HS_OK_NAMES+=("$name-$i")
        elif [[ $rc == 3 && ! -s $f.out && $(wc -l <"$f.err") == 1 ]]; then
            HS_REFUSED+="$(sed 's/^nsjail-vpn-helper: //' "$f.err")"$'\n'
        else
            HS_OTHER+=("$name-$i: status $rc, out: $(head -c 200 "$f.out"),"
                "err: $(head -c 200 "$f.err")")
        fi
    done
}

# hs_count_refused MESSAGE: how many of the last batch's refusals were MESSAGE.
hs_count_refused() { printf '%s' "$HS_REFUSED" | grep -cxF -- "$1"; }

# hs_stop_holders NAME...: end these holders (their namespaces go with them).
hs_stop_holders()
{
    local n
    for n in "$@"; do
        tb_stop "$n"
    done
}

# hs_stop_batch NAME...: end the holders of these batches (NAME-1, NAME-2 ...).
hs_stop_batch()
{
    local name f
    for name in "$@"; do
        for f in "$TB_T/pids/$name"-*; do
            [[ -f $f ]] && tb_stop "${f##*/}"
        done
    done
}

hs_no_hostends() { [[ -z $(hs_hostends) ]]; }
hs_hostend_count() { hs_hostends | grep -c .; }
