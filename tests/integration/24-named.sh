#!/bin/bash
# Test 24: named sandboxes (nsjail-vpn --name, exec, ls, stop).
#  - names: what is not a sandbox name is refused (125) before anything runs,
#    a 24-character one works, a second sandbox of a living name is refused;
#    the state directory: $XDG_RUNTIME_DIR/nsjail-vpn (0700, NAME.json 0600),
#    /run/user/UID without XDG_RUNTIME_DIR, 125 and a hint with neither.
#  - main: a --vpn sandbox whose first app waits on a fifo, two apps run there
#    with `exec`: all see the VPN's exit address; the exec'd apps are in the
#    first app's INNER network namespace (not OUTER, not laptop's), its PID
#    and mount namespace, with no capabilities, no_new_privs, the caller's
#    uid, environment and working directory; `ls` and `ls --json` show the
#    sandbox with its apps; the first app exits first and the sandbox lives
#    on (its exec'd apps still reach whoami); statuses 42 (first app), 43 and
#    a SIGTERM death (exec'd apps) pass through; the launcher returns 42 only
#    after the last app, and leaves no state behind.
#  - the other test user can neither list, join nor stop it, nor connect to
#    its socket.
#  - --keep and stop: the sandbox outlives its app; exec works there (status
#    127, a signal sent to the exec process reaches its app); stop --json.
#    An exec process killed: its app is adopted, no longer counts, and ends
#    with the sandbox. stop of an app that obeys SIGTERM is quick, of one that
#    ignores it takes the 5 s grace and a SIGKILL.
#  - from inside a sandbox (named or not, and one with another
#    XDG_RUNTIME_DIR) neither the state directory nor another sandbox's
#    socket can be seen or used, and `nsjail-vpn ls` there lists nothing
#    (controls: outside, the socket works and ls lists it).
#  - SIGKILL to a supervisor: every process of the sandbox ends, exec'd app
#    included, nothing leaks meanwhile, no entry and no host end remain.
#    SIGKILL to a launcher: its sandbox dies (PDEATHSIG), the entry is stale,
#    the next ls says so (text and --json) and removes NAME.sock and NAME.json.
#    10 starts of one name at once, with and without a stale entry of that
#    name: exactly one runs. The same with a start held (strace) between
#    bind and listen, and while it clears a stale entry: ls says "starting"
#    and removes nothing, a second start is refused, exec joins once it listens.
#  - 50 named --net nat sandboxes at once: all reach whoami, with distinct
#    addresses, all stop cleanly, nothing remains.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 24-named
tb_topology_up

STATE=/run/user/$TB_UID1/nsjail-vpn
STATE2=/run/user/$TB_UID2/nsjail-vpn
URL=http://$TB_WHOAMI/
NOCAPS=0000000000000000
# Whatever a failed run left in the state directories goes at teardown (the
# checks below look at them before that).
tb_on_exit "rm -rf '$STATE' '$STATE2'; [[ -d /run/user/$TB_UID2.away ]] && mv /run/user/$TB_UID2.away /run/user/$TB_UID2"

# nj NAME USER ARGS...: the launcher as USER in the foreground (ls, stop, exec,
# refusals), at most 30 s; stdout and stderr in $TB_T/NAME.out and .err,
# status in NJ_RC (124: it hung).
nj()
{
    local name=$1 user=$2
    shift 2
    tb_as_cmd "$user"
    timeout -k 5 30 "${TB_AS[@]}" "$TB_LAUNCHER" "$@" </dev/null >"$TB_T/$name.out" \
        2>"$TB_T/$name.err"
    NJ_RC=$?
}

# said NAME WORDS NAME2 [REST]: how many lines of NAME.err say "WORDS NAME2 REST", the
# name bare or quoted ('NAME2') as the product quotes what it names.
said() { grep -c -F -e "$2 $3${4:+ $4}" -e "$2 '$3'${4:+ $4}" "$TB_T/$1.err"; }

# ls_line NAME ENTRY: the line of `ls` output NAME.out for the sandbox ENTRY.
ls_line() { awk -v n="$2" '$1 == n' "$TB_T/$1.out"; }

# JSON lines of `ls --json` (and `stop --json`): each must parse, and be a
# sandbox's object with the documented fields and types, or a stale entry's
# {"name", "state": "gone"}. Prints the number of objects; errors on stderr.
json_check='import json, sys
num = (int, float)
want = {"name": str, "pid": int, "started": num, "uptime": num, "net": str,
        "vpn": (str, type(None)), "state": str, "address": (str, type(None)),
        "apps": int, "keep": bool}
values = {"net": ("vpn", "nat", "none"), "vpn": ("openvpn", "wireguard", "command", None),
          "state": ("connecting", "connected", "up", "stopping")}
bad, n = [], 0
for i, line in enumerate(open(sys.argv[1]), 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        bad.append("line %d is not JSON (%s): %r" % (i, e, line))
        continue
    n += 1
    if not isinstance(o, dict):
        bad.append("line %d is not an object: %r" % (i, line))
    elif o.get("state") == "gone":
        if set(o) != {"name", "state"}:
            bad.append("line %d: a gone entry with fields %s" % (i, sorted(o)))
    else:
        for k, t in want.items():
            if k not in o:
                bad.append("line %d: no field %s" % (i, k))
            elif not isinstance(o[k], t) or (t is not bool and isinstance(o[k], bool)):
                bad.append("line %d: %s is %r" % (i, k, o[k]))
            elif k in values and o[k] not in values[k]:
                bad.append("line %d: %s is %r" % (i, k, o[k]))
        extra = set(o) - set(want)
        if extra:
            print("note: line %d has more fields: %s" % (i, sorted(extra)), file=sys.stderr)
print(n)
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)'
json_valid() { "$TB_PY" -c "$json_check" "$TB_T/$1.out"; }

# json_get NAME ENTRY KEY: KEY of ENTRY's object in NAME.out (strings bare, the
# rest as JSON: null, true, 3; "(absent)"); nothing when there is no object.
json_get()
{
    "$TB_PY" -c 'import json, sys
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if isinstance(o, dict) and o.get("name") == sys.argv[2]:
        v = o.get(sys.argv[3], "(absent)")
        print(v if isinstance(v, str) else json.dumps(v))
        break' "$TB_T/$1.out" "$2" "$3"
}

# apps_are ENTRY N: `ls --json` says ENTRY has N apps running.
apps_are()
{
    nj lsw "$TB_USER1" ls --json
    [[ $(json_get lsw "$1" apps) == "$2" ]]
}

# connect_as USER PATH: connect(2) to the Unix socket PATH as USER: "connected"
# or the errno's name. A seqpacket socket (the launcher's kind) first, a
# stream socket if the socket is of another type (EPROTOTYPE).
connect_py='import errno, socket, sys
def attempt(kind):
    s = socket.socket(socket.AF_UNIX, kind)
    try:
        s.connect(sys.argv[1])
        return "connected"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
r = attempt(socket.SOCK_SEQPACKET)
print(attempt(socket.SOCK_STREAM) if r == "EPROTOTYPE" else r)'
connect_as() { tb_as "$1" "$TB_PY" -c "$connect_py" "$2" 2>&1; }

# fifo NAME: a fifo $TB_T/NAME.in, held open read-write on fd FIFO[NAME], so an
# app reading it as stdin waits for lines and never sees end of file.
declare -A FIFO=()
fifo()
{
    local fd
    mkfifo "$TB_T/$1.in"
    exec {fd}<>"$TB_T/$1.in"
    FIFO[$1]=$fd
}
tell() { echo "$2" >&"${FIFO[$1]}"; }

launcher_alive() { tb_alive "$1"; }
pidns_procs()
{
    local d
    for d in /proc/[0-9]*; do
        [[ $(readlink "$d/ns/pid" 2>/dev/null) == "$1" ]] && echo "${d#/proc/}"
    done
}
all_dead()
{
    local p
    for p in "$@"; do
        tb_dead "${p%:*}" "${p#*:}" || return 1
    done
}
no_state() { [[ -z $(ls -A "$STATE" 2>/dev/null) ]]; }
tb_app named
NAMED_APP=("${TB_APP[@]}")

# ---------------------------------------------------------------- names
for bad in Main -lead a_b 'a b' a/b . .. 'x.y' "$(printf 'a%.0s' {1..25})" ''; do
    nj badname "$TB_USER1" --name="$bad" --net none -- sh -c 'echo ran'
    tb_is "name '$bad' is refused: 125, 'not a sandbox name', nothing ran" \
        "$NJ_RC:$(grep -c '^nsjail-vpn: not a sandbox name' "$TB_T/badname.err"):$(cat "$TB_T/badname.out")" \
        "125:1:" || tb_diag_file "$TB_T/badname.err"
done
long=$(printf 'z%.0s' {1..23})9
nj longname "$TB_USER1" --name "$long" --net none -- sh -c 'echo ran; exit 3'
tb_is "a 24-character name works (the app ran, its status 3)" \
    "$NJ_RC:$(cat "$TB_T/longname.out")" "3:ran" || tb_diag_file "$TB_T/longname.err"
nj lsnames "$TB_USER1" ls
tb_is "the names refused, and the one that ended, left no entry" "$(awk 'NR > 1' "$TB_T/lsnames.out")" ""

# ---------------------------------------------------------------- main: --vpn, exec, ls
fifo main
fifo x1
fifo x2
t_main=$(date +%s)
TB_STDIN=$TB_T/main.in tb_launch main "$TB_USER1" --name main --vpn "$TB/client/full.ovpn" -- \
    "${NAMED_APP[@]}" "$URL" 42
main_pid=$TB_LPID

main_section()
{
    local f sup x key out
    if ! tb_wait_output main 60 '^ready$'; then
        tb_not_ok "main: the first app of a named --vpn sandbox starts"
        tb_diag_file "$TB_T/main.out" "$TB_T/main.err"
        return 1
    fi
    tb_ok "main: the first app of a named --vpn sandbox starts"
    TB_ENV=(NSJV_PROBE=exec-env)
    TB_STDIN=$TB_T/x1.in tb_launch x1 "$TB_USER1" exec main -- "${NAMED_APP[@]}" "$URL" 43
    TB_ENV=()
    TB_STDIN=$TB_T/x2.in tb_launch x2 "$TB_USER1" exec main -- "${NAMED_APP[@]}" "$URL" TERM
    TB_ENV=()
    for x in x1 x2; do
        if ! tb_wait_output "$x" 30 '^ready$'; then
            tb_not_ok "main: 'exec main' runs an app ($x)"
            tb_diag_file "$TB_T/$x.out" "$TB_T/$x.err"
            return 1
        fi
    done
    tb_ok "main: 'exec main' runs two apps there"

    f=$TB_T/main.out
    sup=$(tb_supervisor_pid "$main_pid")
    for x in main x1 x2; do
        tb_is "$x: whoami sees the VPN's exit address" "$(tb_field "$TB_T/$x.out" who)" "$TB_PROVIDER"
    done
    tb_check "main (control): the first app's netns, pidns, mntns are known" \
        test -n "$(tb_field "$f" netns)" -a -n "$(tb_field "$f" pidns)" -a -n "$(tb_field "$f" mntns)"
    tb_check "main (control): the first app's netns is neither laptop's nor OUTER (the supervisor's)" \
        test "$(tb_field "$f" netns)" != "$(ip netns exec laptop readlink /proc/self/ns/net)" \
        -a "$(tb_field "$f" netns)" != "$(readlink "/proc/$sup/ns/net")"
    for x in x1 x2; do
        for key in netns pidns mntns; do
            tb_is "$x: the exec'd app's $key is the first app's" "$(tb_field "$TB_T/$x.out" "$key")" \
                "$(tb_field "$f" "$key")"
        done
    done
    x=$TB_T/x1.out
    tb_check "x1: its PID namespace is not laptop's" \
        test "$(tb_field "$x" pidns)" != "$(readlink /proc/self/ns/pid)"
    for key in CapEff CapPrm CapInh CapBnd CapAmb; do
        tb_is "x1: $key is empty" "$(tb_field "$x" "$key")" "$NOCAPS"
    done
    tb_is "x1: NoNewPrivs 1" "$(tb_field "$x" NoNewPrivs)" 1
    tb_is "x1: the caller's uid and gid" "$(tb_field "$x" uid):$(tb_field "$x" gid)" \
        "$TB_UID1:$TB_UID1"
    tb_is "x1: its parent is outside the sandbox (getppid() 0)" "$(tb_field "$x" ppid)" 0
    tb_is "x1: the caller's working directory" "$(tb_field "$x" cwd)" "$TB/home/$TB_USER1"
    tb_is "x1: the caller's environment (NSJV_PROBE)" "$(tb_field "$x" probe)" exec-env
    tb_is "x2 (control): NSJV_PROBE was only in x1's environment" "$(tb_field "$TB_T/x2.out" probe)" ""
    tb_is "main, x1: the state directory is empty inside" \
        "$(tb_field "$f" state)|$(tb_field "$x" state)" "|"

    # The state directory, from outside.
    tb_is "state: $STATE is $TB_USER1's, 0700" "$(stat -c '%U %a' "$STATE" 2>&1)" "$TB_USER1 700"
    tb_is "state: main.json is $TB_USER1's, 0600" "$(stat -c '%U %a' "$STATE/main.json" 2>&1)" \
        "$TB_USER1 600"
    tb_check "state (control): main.sock is a socket" test -S "$STATE/main.sock"
    tb_is "state (control): $TB_USER1 can connect to main.sock" \
        "$(connect_as "$TB_USER1" "$STATE/main.sock")" connected

    # ls and ls --json while three apps run.
    nj ls1 "$TB_USER1" ls
    out=$(ls_line ls1 main)
    tb_is "ls: status 0, a header line first" "$NJ_RC:$(head -n 1 "$TB_T/ls1.out" | awk '{print $1}')" \
        "0:NAME"
    tb_check "ls: main is listed as vpn, connected, with 3 apps (APPS last): '$out'" \
        test "$(awk '{print $1 "|" $NF}' <<<"$out")" = "main|3" -a -n "$(grep -w vpn <<<"$out")" \
        -a -n "$(grep -w connected <<<"$out")" -a -n "$(grep -wF "$TB_FULL_CLIENT" <<<"$out")"
    tb_diag "$(cat "$TB_T/ls1.out")"
    nj ls1j "$TB_USER1" ls --json
    tb_check "ls --json: status 0, every line a sandbox's JSON object with the documented fields" \
        json_valid ls1j
    tb_is "ls --json: one object" "$(json_valid ls1j 2>/dev/null)" 1
    tb_is "ls --json: main: net vpn, vpn openvpn, state connected, address $TB_FULL_CLIENT, apps 3, keep false" \
        "$(for key in net vpn state address apps keep; do printf '%s ' "$(json_get ls1j main $key)"; done)" \
        "vpn openvpn connected $TB_FULL_CLIENT 3 false "
    tb_is "ls --json: main: pid is the launcher's" "$(json_get ls1j main pid)" "$main_pid"
    local started uptime now
    started=$(json_get ls1j main started) uptime=$(json_get ls1j main uptime) now=$(date +%s)
    tb_check "ls --json: main: started ($started) is when it started ($t_main..$now), uptime ($uptime) fits" \
        "$TB_PY" -c 'import sys; s, u, t0, now = map(float, sys.argv[1:])
sys.exit(not (t0 - 1 <= s <= now and 0 <= u <= now - t0 + 1))' "$started" "$uptime" "$t_main" "$now"
    tb_diag "$(cat "$TB_T/ls1j.out" "$TB_T/ls1j.err")"

    # The other user sees, joins and stops nothing of it.
    nj ls2 "$TB_USER2" ls
    tb_is "$TB_USER2: ls succeeds and lists no sandbox" "$NJ_RC:$(awk 'NR > 1' "$TB_T/ls2.out")" "0:"
    nj ls2j "$TB_USER2" ls --json
    tb_is "$TB_USER2: ls --json prints nothing" "$NJ_RC:$(cat "$TB_T/ls2j.out")" "0:"
    nj exec2 "$TB_USER2" exec main -- sh -c 'echo ran'
    tb_is "$TB_USER2: exec main: 125, 'no sandbox named main', nothing ran" \
        "$NJ_RC:$(said exec2 "no sandbox named" main):$(cat "$TB_T/exec2.out")" "125:1:" ||
        tb_diag_file "$TB_T/exec2.err"
    nj stop2 "$TB_USER2" stop main
    tb_is "$TB_USER2: stop main: 125, 'no sandbox named main'" \
        "$NJ_RC:$(said stop2 "no sandbox named" main)" "125:1" ||
        tb_diag_file "$TB_T/stop2.err"
    tb_is "$TB_USER2: connect(2) to $TB_USER1's main.sock is refused" \
        "$(connect_as "$TB_USER2" "$STATE/main.sock" | sed 's/^EPERM$/EACCES/')" EACCES
    tb_check "after all that, main's launcher still runs" launcher_alive "$main_pid"
    tb_check "and main still has its 3 apps" apps_are main 3

    # Lifetime: the first app ends first; the sandbox lives on for the exec'd ones.
    tell main end
    tb_wait 10 apps_are main 2
    tb_check "first app gone (it said so, ls says 2 apps)" \
        test "$(grep -c '^exiting$' "$TB_T/main.out")" = 1 -a "$(json_get lsw main apps)" = 2
    tb_check "the launcher still runs while exec'd apps do" launcher_alive "$main_pid"
    tell x1 fetch
    tb_wait 10 grep -q '^again=' "$TB_T/x1.out"
    tb_is "x1 still reaches whoami through the VPN after the first app ended" \
        "$(tb_field "$TB_T/x1.out" again)" "$TB_PROVIDER"
    tell x1 end
    tb_wait_exit x1 20
    tb_is "x1: the exec'd app's status 43 is exec's" "$TB_STATUS" 43
    tb_wait 10 apps_are main 1
    tb_is "with x1 gone ls says 1 app" "$(json_get lsw main apps)" 1
    tb_check "and the launcher still runs" launcher_alive "$main_pid"
    tell x2 fetch
    tb_wait 10 grep -q '^again=' "$TB_T/x2.out"
    tb_is "x2 still reaches whoami through the VPN" "$(tb_field "$TB_T/x2.out" again)" "$TB_PROVIDER"
    tell x2 end
    tb_wait_exit x2 20
    tb_is "x2: the exec'd app's death by SIGTERM is exec's (143)" "$TB_STATUS" 143
    tb_wait_exit main 30
    tb_is "main: the launcher ends after its last app, with the first app's status 42" \
        "$TB_STATUS" 42
    tb_is "main: its launcher removed main.sock and main.json itself" \
        "$(ls -A "$STATE" 2>&1)" ""
    nj ls3 "$TB_USER1" ls
    tb_is "ls no longer lists main, and reports no stale entry" \
        "$NJ_RC:$(ls_line ls3 main):$(cat "$TB_T/ls3.err")" "0::"
}
main_section || tb_diag_file "$TB_T/main.err" "$TB_T/x1.err" "$TB_T/x2.err"
tb_stop x1
tb_stop x2
tb_stop main

# ---------------------------------------------------------------- --keep, stop
keep_section()
{
    local t out
    tb_launch keep "$TB_USER1" --name keep --keep --net none -- sh -c 'echo ran; exit 5'
    if ! tb_wait_output keep 30 '^ran$' || ! tb_wait 10 apps_are keep 0; then
        tb_not_ok "keep: the sandbox outlives its app (ls: 0 apps)"
        tb_diag_file "$TB_T/keep.out" "$TB_T/keep.err" "$TB_T/lsw.out"
        return 1
    fi
    tb_ok "keep: the sandbox outlives its app (ls: 0 apps)"
    tb_check "keep: its launcher still runs" launcher_alive "$(tb_pid_of keep)"
    tb_is "keep: ls --json: net none, vpn null, state up, address null, keep true" \
        "$(for key in net vpn state address keep; do printf '%s ' "$(json_get lsw keep $key)"; done)" \
        "none null up null true "
    nj dup "$TB_USER1" --name keep --net none -- sh -c 'echo ran'
    tb_is "a second --name keep: 125, 'a sandbox named keep is already running', nothing ran" \
        "$NJ_RC:$(said dup "a sandbox named" keep "is already running"):$(cat "$TB_T/dup.out")" \
        "125:1:" || tb_diag_file "$TB_T/dup.err"
    tb_check "keep still runs after that" launcher_alive "$(tb_pid_of keep)"
    nj kx1 "$TB_USER1" exec keep -- sh -c 'echo inside; exit 9'
    tb_is "exec keep: the app runs (status 9)" "$NJ_RC:$(cat "$TB_T/kx1.out")" "9:inside"
    nj kx2 "$TB_USER1" exec keep -- /nonexistent/nsjv-app
    tb_is "exec keep -- a command that does not exist: 127" "$NJ_RC" 127
    nj kx3 "$TB_USER1" exec nosuch -- true
    tb_is "exec of a name that does not exist: 125, 'no sandbox named nosuch'" \
        "$NJ_RC:$(said kx3 "no sandbox named" nosuch)" "125:1"
    tb_app signals
    tb_launch kx4 "$TB_USER1" exec keep -- "${TB_APP[@]}"
    if tb_wait_output kx4 20 '^ready$'; then
        kill -INT "$(tb_pid_of kx4)"
        tb_wait_exit kx4 20
        tb_is "SIGINT to the exec process reaches its app (got-INT, status 7)" \
            "$TB_STATUS $(grep got- "$TB_T/kx4.out")" "7 got-INT"
    else
        tb_not_ok "SIGINT to the exec process reaches its app (app never became ready)"
        tb_diag_file "$TB_T/kx4.out" "$TB_T/kx4.err"
    fi
    nj kstop "$TB_USER1" stop keep --json
    tb_is "stop keep --json: status 0" "$NJ_RC" 0
    tb_check "stop --json: prints the sandbox's JSON object" json_valid kstop
    tb_is "stop --json: it is keep's, keep true" \
        "$(json_get kstop keep name) $(json_get kstop keep keep)" "keep true"
    tb_wait_exit keep 10
    tb_is "keep: its launcher returns the app's status 5 once stopped" "$TB_STATUS" 5
    nj stopgone "$TB_USER1" stop keep
    tb_is "stop keep again: 125, 'no sandbox named keep'" \
        "$NJ_RC:$(said stopgone "no sandbox named" keep)" "125:1"
}
keep_section
tb_stop keep

# The exec process dies: the supervisor adopts its app, which no longer counts
# and ends with the sandbox.
orphan_section()
{
    local xpid app start
    fifo orph
    TB_STDIN=$TB_T/orph.in tb_launch orph "$TB_USER1" --name orph --net none -- \
        sh -c 'echo ready; read -r _; exit 4'
    if ! tb_wait_output orph 30 '^ready$'; then
        tb_not_ok "orph: the sandbox starts"
        tb_diag_file "$TB_T/orph.out" "$TB_T/orph.err"
        return 1
    fi
    tb_launch orphx "$TB_USER1" exec orph -- sh -c 'echo ready; while :; do sleep 1; done'
    xpid=$TB_LPID
    if ! tb_wait_output orphx 20 '^ready$' || ! tb_wait 10 apps_are orph 2; then
        tb_not_ok "orph: an exec'd app runs there (2 apps)"
        tb_diag_file "$TB_T/orphx.out" "$TB_T/orphx.err"
        return 1
    fi
    app=$(tb_children "$xpid" | head -n 1)
    start=$(tb_starttime "$app")
    tb_check "orph (control): the exec'd app ($app) is the exec process's child" test -n "$start"
    kill -KILL "$xpid"
    tb_wait_exit orphx 10
    tb_wait 10 apps_are orph 1
    tb_is "the exec process killed: its app no longer counts (1 app)" "$(json_get lsw orph apps)" 1
    tb_check "but it still runs, adopted in the sandbox" tb_alive "$app" "$start"
    tell orph end
    tb_wait_exit orph 15
    tb_is "the first app's end ends the sandbox, with its status 4" "$TB_STATUS" 4
    tb_wait 10 tb_dead "$app" "$start"
    tb_check "and the adopted app with it" tb_dead "$app" "$start"
}
orphan_section
tb_stop orphx
tb_stop orph

stop_section()
{
    local t ms pid
    tb_app signals
    tb_launch coop "$TB_USER1" --name coop --net none -- "${TB_APP[@]}"
    if tb_wait_output coop 30 '^ready$'; then
        t=$(tb_now_ms)
        nj coopstop "$TB_USER1" stop coop
        ms=$(($(tb_now_ms) - t))
        tb_is "stop coop: status 0" "$NJ_RC" 0
        tb_check "stop of an app that obeys SIGTERM returns before the grace ($ms ms < 4000)" \
            test "$ms" -lt 4000
        tb_wait_exit coop 10
        tb_is "coop: the app got SIGTERM, its status 7 is the launcher's" \
            "$TB_STATUS $(grep got- "$TB_T/coop.out")" "7 got-TERM"
    else
        tb_not_ok "stop coop (the app never became ready)"
        tb_diag_file "$TB_T/coop.out" "$TB_T/coop.err"
    fi

    tb_launch deaf "$TB_USER1" --name deaf --net none -- \
        sh -c "trap '' TERM; echo ready; while :; do sleep 1; done"
    if tb_wait_output deaf 30 '^ready$'; then
        pid=$(tb_pid_of deaf)
        t=$(tb_now_ms)
        tb_as_cmd "$TB_USER1"
        "${TB_AS[@]}" "$TB_LAUNCHER" stop deaf </dev/null >"$TB_T/deafstop.out" 2>"$TB_T/deafstop.err" &
        tb_register deafstop $!
        if tb_wait 12 tb_dead "$pid"; then
            ms=$(($(tb_now_ms) - t))
            tb_check "stop of an app that ignores SIGTERM: gone after the 5 s grace, not long after ($ms ms)" \
                test "$ms" -ge 4500 -a "$ms" -le 9000
        else
            tb_not_ok "stop of an app that ignores SIGTERM: gone within 12 s"
        fi
        tb_wait_exit deafstop 10
        tb_is "stop deaf: status 0 once it is gone" "$TB_STATUS" 0
        tb_wait_exit deaf 5
        tb_is "deaf: its app died of SIGKILL (137)" "$TB_STATUS" 137
        tb_diag_file "$TB_T/deafstop.err" "$TB_T/deaf.err"
    else
        tb_not_ok "stop deaf (the app never became ready)"
        tb_diag_file "$TB_T/deaf.out" "$TB_T/deaf.err"
    fi
}
stop_section
tb_stop deafstop
tb_stop deaf
tb_stop coop

# ---------------------------------------------------------------- the state dir from inside
probe='d=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/nsjail-vpn
echo "xdg=${XDG_RUNTIME_DIR:-}"
echo "dir=$(test -d "$d" && echo yes || echo no)"
echo "list=$(ls -A "$d" 2>&1 | tr "\n" " ")"
echo "write=$(touch "$d/probe" 2>/dev/null && echo yes || echo no)"
launcher=$1
shift
for s in "$@"; do
    echo "connect $s=$(python3 -c "$CONNECT" "$s" 2>&1)"
done
echo "version=$("$launcher" --version 2>&1)"
out=$("$launcher" ls 2>/dev/null)
echo "ls_rc=$?"
echo "ls_lines=$(printf "%s\n" "$out" | awk "NR > 1" | tr "\n" "|")"
echo "ls_err=$("$launcher" ls 2>&1 >/dev/null | tr "\n" "|")"
echo "json=$("$launcher" ls --json 2>/dev/null | tr "\n" "|")"
"$launcher" exec iso-a -- true >/dev/null 2>&1
echo "exec_rc=$?"
echo "ls_default=$(XDG_RUNTIME_DIR=/run/user/$(id -u) "$launcher" ls 2>/dev/null | awk "NR > 1" | tr "\n" "|")"
exit 42'

iso_section()
{
    local name where f value other_xdg=$TB/home/$TB_USER1/xdg2
    local -A rc=()
    fifo isoa
    TB_STDIN=$TB_T/isoa.in tb_launch iso-a "$TB_USER1" --name iso-a --net none -- \
        sh -c 'echo ready; read -r _'
    if ! tb_wait_output iso-a 30 '^ready$'; then
        tb_not_ok "iso: sandbox iso-a starts"
        tb_diag_file "$TB_T/iso-a.out" "$TB_T/iso-a.err"
        return 1
    fi
    tb_is "iso (control): outside, $TB_USER1 connects to iso-a.sock" \
        "$(connect_as "$TB_USER1" "$STATE/iso-a.sock")" connected
    nj isols "$TB_USER1" ls
    tb_check "iso (control): outside, ls lists iso-a" test -n "$(ls_line isols iso-a)"
    tb_check "iso (control): outside, the state directory holds iso-a.sock and iso-a.json" \
        test -S "$STATE/iso-a.sock" -a -f "$STATE/iso-a.json"

    install -d -m 0700 -o "$TB_UID1" -g "$TB_UID1" "$other_xdg"
    for name in iso-b iso-c iso-d; do
        TB_ENV=(CONNECT="$connect_py")
        case $name in
        iso-b) tb_run iso-b 30 "$TB_USER1" --name iso-b --net none -- sh -c "$probe" probe \
            "$TB_LAUNCHER" "$STATE/iso-a.sock" ;;
        iso-c) tb_run iso-c 30 "$TB_USER1" --net none -- sh -c "$probe" probe "$TB_LAUNCHER" \
            "$STATE/iso-a.sock" ;;
        iso-d) TB_ENV+=(XDG_RUNTIME_DIR="$other_xdg")
            tb_run iso-d 30 "$TB_USER1" --name iso-d --net none -- sh -c "$probe" probe \
                "$TB_LAUNCHER" "$STATE/iso-a.sock" ;;
        esac
        rc[$name]=$TB_STATUS
    done
    TB_ENV=()
    for name in iso-b iso-c iso-d; do
        f=$TB_T/$name.out
        case $name in
        iso-b) where="in named sandbox iso-b" ;;
        iso-c) where="in a sandbox without a name" ;;
        iso-d) where="in named sandbox iso-d, with XDG_RUNTIME_DIR=$other_xdg" ;;
        esac
        if ! tb_is "$where: the probe ran (sentinel 42)" "${rc[$name]}" 42; then
            tb_diag_file "$f" "$TB_T/$name.err"
            continue
        fi
        tb_is "$where: the state directory is there, empty and read-only" \
            "$(tb_field "$f" dir) [$(tb_field "$f" list)] $(tb_field "$f" write)" "yes [] no"
        tb_check "$where (control): the launcher runs there ($(tb_field "$f" version))" \
            grep -q '^version=nsjail-vpn ' "$f"
        value=$(sed -n "s|^connect $STATE/iso-a.sock=||p" "$f")
        tb_check "$where: connect(2) to iso-a's socket fails ($value)" \
            test -n "$value" -a "$value" != connected
        tb_is "$where: nsjail-vpn ls lists nothing (text and --json)" \
            "$(tb_field "$f" ls_lines)/$(tb_field "$f" json)" "/"
        tb_is "$where: nsjail-vpn exec iso-a fails (125)" "$(tb_field "$f" exec_rc)" 125
        tb_is "$where: nor does XDG_RUNTIME_DIR=/run/user/UID nsjail-vpn ls list anything" \
            "$(tb_field "$f" ls_default)" ""
        tb_diag "$(cat "$f")"
    done
    tb_is "iso-d (control): its state was in its own XDG_RUNTIME_DIR, and is gone" \
        "$(ls -A "$other_xdg/nsjail-vpn" 2>&1)" ""
    tell isoa end
    tb_wait_exit iso-a 10
    tb_is "iso-a: ends with its app" "$TB_STATUS" 0
}
iso_section
tb_stop iso-a

# ---------------------------------------------------------------- SIGKILL
tb_forward_counters
kill_sup_section()
{
    local sup procs=() p pidns other0 other1 lpid xpid
    fifo sk
    fifo skx
    TB_STDIN=$TB_T/sk.in tb_launch sk "$TB_USER1" --name sk --vpn "$TB/client/full.ovpn" -- \
        "${NAMED_APP[@]}" "$URL" 0
    lpid=$TB_LPID
    if ! tb_wait_output sk 60 '^ready$'; then
        tb_not_ok "sk: a named --vpn sandbox starts"
        tb_diag_file "$TB_T/sk.out" "$TB_T/sk.err"
        return 1
    fi
    TB_STDIN=$TB_T/skx.in tb_launch skx "$TB_USER1" exec sk -- "${NAMED_APP[@]}" "$URL" 0
    xpid=$TB_LPID
    if ! tb_wait_output skx 30 '^ready$'; then
        tb_not_ok "sk: an exec'd app runs there"
        tb_diag_file "$TB_T/skx.out" "$TB_T/skx.err"
        return 1
    fi
    sup=$(tb_supervisor_pid "$lpid")
    pidns=$(readlink "/proc/$sup/ns/pid")
    tb_check "sk (control): the supervisor ($sup) is pid 1 of the sandbox's PID namespace" \
        test "$(awk '/^NSpid:/ {print $NF}' "/proc/$sup/status")" = 1 -a "$pidns" != "$(readlink /proc/self/ns/pid)"
    tb_is "sk (control): the exec'd app is in that PID namespace" \
        "$(tb_field "$TB_T/skx.out" pidns)" "$(tb_field "$TB_T/sk.out" pidns)"
    for p in $(pidns_procs "$pidns"); do
        procs+=("$p:$(tb_starttime "$p")")
    done
    tb_check "sk (control): the sandbox has processes: supervisor, openvpn, two apps (${#procs[@]})" \
        test "${#procs[@]}" -ge 4
    other0=$(tb_nft_counter laptop other)
    tb_is "sk (control): a request from OUTER around the tunnel is counted" \
        "$(tb_outer_curl "$sup" "$URL")" "$TB_LAPTOP"
    tb_wait 5 tb_counter_settled laptop other
    other1=$(tb_nft_counter laptop other)
    tb_check "sk (control): the non-endpoint counter rose ($other0 -> $other1)" test "$other1" -gt "$other0"

    kill -KILL "$sup"
    tb_wait 10 all_dead "${procs[@]}"
    tb_check "SIGKILL to the supervisor: every process of the sandbox ends, the exec'd app's too" \
        all_dead "${procs[@]}"
    tb_is "no process left in its PID namespace" "$(pidns_procs "$pidns")" ""
    tb_wait_exit skx 10
    tb_check "the exec process ends ($TB_STATUS)" test "$TB_STATUS" != timeout
    only_launcher() { [[ -z $(tb_user_procs | grep -vx "$lpid") ]]; }
    tb_wait 10 only_launcher
    tb_is "no process of the test user remains but the launcher" "$(tb_user_procs | grep -vx "$lpid")" ""
    tb_wait_exit sk 15
    tb_check "then the launcher ends, with a failure ($TB_STATUS)" \
        test "$TB_STATUS" != timeout -a "$TB_STATUS" != 0
    tb_diag_file "$TB_T/sk.err"
    nj skls "$TB_USER1" ls
    tb_is "ls has no entry for sk" "$NJ_RC:$(ls_line skls sk)" "0:"
    tb_diag "ls said: $(cat "$TB_T/skls.err")"
    tb_is "sk.sock and sk.json are gone" "$(ls -A "$STATE" 2>&1)" ""
    if tb_wait 10 tb_no_hostlink; then
        tb_ok "laptop has no host end (nsjv*) left"
    else
        tb_not_ok "laptop has no host end (nsjv*) left"
        tb_diag "$(tb_hostlinks)"
    fi
    tb_is "nothing leaked meanwhile: the non-endpoint counter did not rise after the control" \
        "$(tb_nft_counter laptop other)" "$other1"
}
kill_sup_section
tb_stop skx
tb_stop sk

# stale NAME NET... JSON: SIGKILL to the launcher of a named sandbox.
stale()
{
    local name=$1 json=$2 lpid sup procs=() p pidns
    shift 2
    fifo "$name"
    TB_STDIN=$TB_T/$name.in tb_launch "$name" "$TB_USER1" --name "$name" "$@" -- \
        "${NAMED_APP[@]}" "$URL" 0
    lpid=$TB_LPID
    if ! tb_wait_output "$name" 60 '^ready$'; then
        tb_not_ok "$name: the sandbox starts"
        tb_diag_file "$TB_T/$name.out" "$TB_T/$name.err"
        return 1
    fi
    sup=$(tb_supervisor_pid "$lpid")
    pidns=$(readlink "/proc/$sup/ns/pid")
    for p in $(pidns_procs "$pidns"); do
        procs+=("$p:$(tb_starttime "$p")")
    done
    kill -KILL "$lpid"
    tb_wait_exit "$name" 10
    tb_is "$name: SIGKILL to the launcher (137)" "$TB_STATUS" 137
    tb_wait 10 all_dead "${procs[@]}"
    tb_check "$name: its supervisor and every process of the sandbox die with it (${#procs[@]})" \
        all_dead "${procs[@]}"
    tb_check "$name (control): the entry is stale: $name.sock and $name.json are still there" \
        test -S "$STATE/$name.sock" -a -f "$STATE/$name.json"
    if [[ $json == json ]]; then
        nj "$name-ls" "$TB_USER1" ls --json
        tb_check "$name: ls --json: valid JSON lines" json_valid "$name-ls"
        tb_is "$name: ls --json: an object {name, state gone}" \
            "$(json_get "$name-ls" "$name" state)" gone
    else
        nj "$name-ls" "$TB_USER1" ls
        tb_is "$name: ls does not list it" "$(ls_line "$name-ls" "$name")" ""
    fi
    # The spec's words; the product may call it a warning.
    tb_is "$name: ls says on stderr (one line) that it is gone" \
        "$(wc -l <"$TB_T/$name-ls.err") $(grep -Ecx "nsjail-vpn: (warning: )?$name: its sandbox is gone; removed the stale entry" "$TB_T/$name-ls.err")" \
        "1 1" || tb_diag_file "$TB_T/$name-ls.err"
    tb_is "$name: and removed $name.sock and $name.json" "$(ls -A "$STATE" 2>&1)" ""
    nj "$name-ls2" "$TB_USER1" ls
    tb_is "$name: the next ls says nothing about it" "$(cat "$TB_T/$name-ls2.err")$(ls_line "$name-ls2" "$name")" ""
    if tb_wait 10 tb_no_hostlink; then
        tb_ok "$name: laptop has no host end (nsjv*) left"
    else
        tb_not_ok "$name: laptop has no host end (nsjv*) left"
        tb_diag "$(tb_hostlinks)"
    fi
}
stale lk json --vpn "$TB/client/full.ovpn"
tb_stop lk
stale lk2 text --net nat
tb_stop lk2

# race NAME N STALE: N starts of --name NAME at once (after a SIGKILLed launcher
# left a stale entry of that name, if STALE is "stale"): exactly one runs, the
# others are refused with 125, and ls lists that one.
race()
{
    local name=$1 n=$2 how=$3 i running=() refused=0 other=() lpid
    if [[ $how == stale ]]; then
        tb_launch "$name-0" "$TB_USER1" --name "$name" --net none -- sh -c 'echo ready; exec sleep 600'
        lpid=$TB_LPID
        tb_wait_output "$name-0" 30 '^ready$' || {
            tb_not_ok "$name: the first sandbox starts"
            return 1
        }
        kill -KILL "$lpid"
        tb_wait_exit "$name-0" 10
        tb_wait 10 tb_no_user_procs
        tb_check "$name (control): a stale entry of $name is left" test -S "$STATE/$name.sock"
    fi
    for i in $(seq 1 "$n"); do
        tb_launch "$name-$i" "$TB_USER1" --name "$name" --net none -- sh -c 'echo ready; exec sleep 600'
    done
    settled()
    {
        local i
        for i in $(seq 1 "$n"); do
            grep -q '^ready$' "$TB_T/$name-$i.out" || tb_dead "$(tb_pid_of "$name-$i")" || return 1
        done
    }
    tb_wait 60 settled
    for i in $(seq 1 "$n"); do
        if tb_alive "$(tb_pid_of "$name-$i")"; then
            running+=("$name-$i")
        elif grep -q 'is already running' "$TB_T/$name-$i.err"; then
            refused=$((refused + 1))
        else
            other+=("$name-$i: $(head -c 200 "$TB_T/$name-$i.err")")
        fi
    done
    tb_is "$name: $n starts at once${how:+ over a stale entry}: one runs, $((n - 1)) are refused as already running" \
        "${#running[@]} $refused" "1 $((n - 1))" || tb_diag "running: ${running[*]}" "${other[@]}"
    nj "$name-ls" "$TB_USER1" ls --json
    if ((${#running[@]} == 1)); then
        tb_is "$name: ls lists the one that runs" "$(json_get "$name-ls" "$name" pid)" \
            "$(tb_pid_of "${running[0]}")"
    fi
    nj "$name-stop" "$TB_USER1" stop "$name"
    for i in $(seq 0 "$n"); do
        tb_stop "$name-$i"
    done
    tb_wait 10 tb_no_user_procs
    tb_wait 10 no_state
}
race race 10 ""
race racest 10 stale

# ---------------------------------------------------------------- the windows of a start
# A launcher held by strace's fault injection at one step of taking its name, while
# others look: (1) between bind and listen (its socket refuses), ls shows it
# "starting" and removes nothing, and another start of the name is refused; once
# it listens, exec reaches it. (2) Over a stale entry, held while it removes the
# dead one's socket: another start meanwhile is refused, and exactly one runs.
# slow NAME SYSCALLS: the launcher as TB_USER1 under strace, the first of SYSCALLS
# delayed by 5 s; its pid (strace's: the launcher is its child) registered as NAME.
slow()
{
    tb_as_cmd "$TB_USER1"
    "${TB_AS[@]}" strace -qq -o /dev/null "${HS_STRACE_SAN[@]}" -e trace="$2" \
        -e inject="$2":delay_enter=5000000:when=1 "$TB_LAUNCHER" --name "$1" --net none -- \
        sh -c 'echo ready; exec sleep 600' </dev/null >"$TB_T/$1.out" 2>"$TB_T/$1.err" &
    tb_register "$1" $!
}
# held FILE: FILE is locked (flock) by someone; root only looks (never creates it).
held()
{
    "$TB_PY" -c 'import fcntl, os, sys
try:
    fd = os.open(sys.argv[1], os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(0)
except OSError:
    pass
sys.exit(1)' "$1"
}
refuses() { ! "$TB_PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])' "$1" 2>/dev/null; }
window_listen()
{
    slow wl listen
    if ! tb_wait 10 test -S "$STATE/wl.sock"; then
        tb_not_ok "window: the held launcher bound its socket"
        tb_diag_file "$TB_T/wl.err"
        return
    fi
    tb_check "window (control): its socket refuses (not listening yet)" refuses "$STATE/wl.sock"
    nj wl-ls "$TB_USER1" ls --json
    tb_is "window: ls --json shows it starting" "$(json_get wl-ls wl state)" starting
    tb_is "window: ls removed nothing" "$(grep -c 'removed the stale entry' "$TB_T/wl-ls.err")" 0
    tb_check "window: its socket is still there" test -S "$STATE/wl.sock"
    nj wl-2 "$TB_USER1" --name wl --net none -- sh -c 'echo ran'
    tb_is "window: a second start of the name is refused" \
        "$NJ_RC:$(cat "$TB_T/wl-2.out"):$(grep -c 'is already running' "$TB_T/wl-2.err")" "125::1"
    nj wl-exec "$TB_USER1" exec wl -- sh -c 'echo joined'
    tb_is "window: exec says it is still starting, or joins it once it listens" \
        "$(grep -c -e 'is still starting' -e '^joined$' "$TB_T/wl-exec.out" "$TB_T/wl-exec.err" |
            awk -F: '{n += $2} END {print n}')" 1
    tb_wait_output wl 20 '^ready$'
    nj wl-exec2 "$TB_USER1" exec wl -- sh -c 'echo joined'
    tb_is "window: once it listens, exec joins it" "$NJ_RC:$(cat "$TB_T/wl-exec2.out")" "0:joined"
    nj wl-stop "$TB_USER1" stop wl
    tb_is "window: stop ends it" "$NJ_RC" 0
    tb_wait_exit wl 20
    tb_diag_file "$TB_T/wl-ls.out" "$TB_T/wl-ls.err" "$TB_T/wl-exec.err"
}
window_stale()
{
    local lpid
    tb_launch ws-0 "$TB_USER1" --name ws --net none -- sh -c 'echo ready; exec sleep 600'
    lpid=$TB_LPID
    tb_wait_output ws-0 30 '^ready$' || { tb_not_ok "window: ws starts"; return; }
    kill -KILL "$lpid"
    tb_wait_exit ws-0 10
    tb_wait 10 tb_no_user_procs
    tb_check "window (control): a stale entry of ws is left" test -S "$STATE/ws.sock"
    slow ws unlink,unlinkat
    if ! tb_wait 10 held "$STATE/ws.lock"; then
        tb_not_ok "window: the held launcher took the name's lock"
        return
    fi
    tb_check "window (control): the stale socket is still there" test -S "$STATE/ws.sock"
    nj ws-2 "$TB_USER1" --name ws --net none -- sh -c 'echo ran'
    tb_is "window: a start while the first clears the stale entry is refused" \
        "$NJ_RC:$(cat "$TB_T/ws-2.out"):$(grep -c 'is already running' "$TB_T/ws-2.err")" "125::1"
    tb_wait_output ws 20 '^ready$'
    tb_check "window: the first one runs" grep -q '^ready$' "$TB_T/ws.out"
    nj ws-ls "$TB_USER1" ls --json
    tb_is "window: ls lists it, connected to its launcher" "$(json_get ws-ls ws state)" up
    nj ws-stop "$TB_USER1" stop ws
    tb_wait_exit ws 20
    tb_diag_file "$TB_T/ws-2.err" "$TB_T/ws.err"
}
# A sandbox of a launcher that takes no lock (an older version) still answers on its
# socket: its name is not taken over. A listener of the user's stands in for it.
window_unlocked()
{
    tb_as_cmd "$TB_USER1"
    "${TB_AS[@]}" "$TB_PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1])
s.listen(4)
print("listening", flush=True)
time.sleep(600)' "$STATE/old.sock" </dev/null >"$TB_T/old-listener.out" 2>&1 &
    tb_register old-listener $!
    tb_wait 10 grep -q listening "$TB_T/old-listener.out"
    nj old "$TB_USER1" --name old --net none -- sh -c 'echo ran'
    tb_is "unlocked: a start of an older launcher's living name is refused" \
        "$NJ_RC:$(cat "$TB_T/old.out"):$(grep -c 'is already running' "$TB_T/old.err")" "125::1"
    tb_check "unlocked: its socket is left alone" test -S "$STATE/old.sock"
    tb_check "unlocked: and no lock file is left beside it" test ! -e "$STATE/old.lock"
    tb_stop old-listener
    rm -f "$STATE/old.sock"
}
window_listen
window_stale
window_unlocked
tb_wait 10 tb_no_user_procs
tb_wait 10 no_state
tb_check "window: nothing is left in the state directory" no_state

# ---------------------------------------------------------------- XDG_RUNTIME_DIR
xdg_section()
{
    local bad=$TB_T/xdg-bad
    fifo fb
    TB_NO_XDG=1 TB_STDIN=$TB_T/fb.in tb_launch fb "$TB_USER1" --name fb --net none -- \
        sh -c 'echo ready; read -r _'
    if tb_wait_output fb 30 '^ready$'; then
        tb_check "without XDG_RUNTIME_DIR the state goes to /run/user/UID/nsjail-vpn" \
            test -S "$STATE/fb.sock" -a -f "$STATE/fb.json"
        nj fbls "$TB_USER1" ls
        tb_check "and ls (with XDG_RUNTIME_DIR=/run/user/UID) lists it" test -n "$(ls_line fbls fb)"
    else
        tb_not_ok "without XDG_RUNTIME_DIR a named sandbox starts"
        tb_diag_file "$TB_T/fb.out" "$TB_T/fb.err"
    fi
    tell fb end
    tb_wait_exit fb 10

    # Neither: $TB_USER2's /run/user/UID moved away for a moment (the suite's /run),
    # and XDG_RUNTIME_DIR unset, or a directory that is not the user's (root's, 1777).
    install -d -m 1777 "$bad"
    mv "/run/user/$TB_UID2" "/run/user/$TB_UID2.away"
    TB_NO_XDG=1 nj noxdg "$TB_USER2" --name x --net none -- sh -c 'echo ran'
    local norc=$NJ_RC
    TB_ENV=(XDG_RUNTIME_DIR="$bad")
    nj badxdg "$TB_USER2" --name x --net none -- sh -c 'echo ran'
    local badrc=$NJ_RC
    TB_ENV=()
    mv "/run/user/$TB_UID2.away" "/run/user/$TB_UID2"
    tb_is "no XDG_RUNTIME_DIR, no /run/user/UID: 125, a hint naming XDG_RUNTIME_DIR, nothing ran" \
        "$norc:$(grep -c XDG_RUNTIME_DIR "$TB_T/noxdg.err" | sed 's/^[1-9][0-9]*$/named/'):$(cat "$TB_T/noxdg.out")" \
        "125:named:" || tb_diag_file "$TB_T/noxdg.err"
    tb_is "XDG_RUNTIME_DIR not the user's (root's, 1777), no /run/user/UID: 125, nothing ran" \
        "$badrc:$(cat "$TB_T/badxdg.out")" "125:" || tb_diag_file "$TB_T/badxdg.err"
    tb_is "and nothing was created in that directory" "$(ls -A "$bad")" ""
}
xdg_section
tb_stop fb

# ---------------------------------------------------------------- 50 at once
many_section()
{
    local n=50 i ok=0 who=0 alive=0 t pids=() stopped=0 statuses=0 addrs
    hs_policy "allow-user $TB_USER1" "max-per-user 60"
    t=$(tb_now_ms)
    for i in $(seq 1 $n); do
        tb_launch "n$i" "$TB_USER1" --name "n$i" --net nat -- \
            sh -c 'echo "who=$(curl -sS --max-time 10 "$1" 2>/dev/null)"; echo ready; exec sleep 600' \
            app-many "$URL"
    done
    # Every app ready, or its launcher gone (then waiting longer is no use).
    all_settled()
    {
        local i
        for i in $(seq 1 $n); do
            grep -q '^ready$' "$TB_T/n$i.out" || tb_dead "$(tb_pid_of "n$i")" || return 1
        done
    }
    tb_wait 150 all_settled
    tb_log "$n named sandboxes up in $(($(tb_now_ms) - t)) ms"
    for i in $(seq 1 $n); do
        grep -q '^ready$' "$TB_T/n$i.out" && ok=$((ok + 1))
        [[ $(tb_field "$TB_T/n$i.out" who) == "$TB_LAPTOP" ]] && who=$((who + 1))
        tb_alive "$(tb_pid_of "n$i")" && alive=$((alive + 1))
    done
    tb_is "50 at once: every app started" "$ok" "$n"
    tb_is "50 at once: every app reached whoami, which saw laptop's address" "$who" "$n"
    tb_is "50 at once: every launcher runs" "$alive" "$n"
    if ((who < n)); then
        for i in $(seq 1 $n); do
            [[ $(tb_field "$TB_T/n$i.out" who) == "$TB_LAPTOP" ]] && continue
            tb_diag "n$i: $(head -c 300 "$TB_T/n$i.out") $(tail -n 3 "$TB_T/n$i.err")"
        done
    fi
    nj manyj "$TB_USER1" ls --json
    tb_check "50 at once: ls --json is valid" json_valid manyj
    tb_is "50 at once: ls --json has 50 objects" "$(json_valid manyj 2>/dev/null)" "$n"
    addrs=$("$TB_PY" -c 'import ipaddress, json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
a = [o.get("address") for o in objs if o.get("net") == "nat" and o.get("state") == "up" and o.get("apps") == 1]
pool = ipaddress.ip_network(sys.argv[2])
print(len(a), len(set(a)), all(x and ipaddress.ip_address(x) in pool for x in a))' \
        "$TB_T/manyj.out" "$TB_POOL" 2>&1)
    tb_is "50 at once: all nat, up, 1 app, with 50 distinct addresses in $TB_POOL" "$addrs" "$n $n True"
    nj manyls "$TB_USER1" ls
    tb_is "50 at once: ls has a header and 50 lines" "$(wc -l <"$TB_T/manyls.out")" "$((n + 1))"

    t=$(tb_now_ms)
    tb_as_cmd "$TB_USER1"
    for i in $(seq 1 $n); do
        timeout -k 5 60 "${TB_AS[@]}" "$TB_LAUNCHER" stop "n$i" </dev/null >"$TB_T/stop-n$i.out" \
            2>"$TB_T/stop-n$i.err" &
        pids+=($!)
    done
    for i in $(seq 1 $n); do
        wait "${pids[i - 1]}" && stopped=$((stopped + 1))
    done
    tb_log "$n stops in $(($(tb_now_ms) - t)) ms"
    tb_is "50 at once: every stop returned 0" "$stopped" "$n"
    for i in $(seq 1 $n); do
        tb_wait_exit "n$i" 20
        [[ $TB_STATUS == 143 ]] && statuses=$((statuses + 1))
    done
    tb_is "50 at once: every launcher ended with its app's death by SIGTERM (143)" "$statuses" "$n"
    nothing_left() { tb_no_hostlink && no_state && tb_no_user_procs; }
    tb_wait 30 nothing_left
    tb_is "50 at once: no host end left" "$(tb_hostlinks)" ""
    tb_is "50 at once: no state left" "$(ls -A "$STATE" 2>&1)" ""
    tb_is "50 at once: no process of the test users left" "$(tb_user_procs)" ""
    hs_policy_restore
}
many_section
for i in $(seq 1 50); do tb_stop "n$i"; done

tb_done
