# shellcheck shell=bash
# The test bed of nsjail-vpn, shared by tests/run, tests/integration/*.sh and
# demo/run. Source it; it defines functions and constants and runs nothing.
#
# Layers, each used by the next:
#   results    tb_ok, tb_not_ok, tb_check, tb_is, tb_diag: TAP-ish lines
#   waiting    tb_wait: poll with a deadline (never a bare sleep)
#   guards     tb_guard_suite, tb_check_ranges, tb_netns_add: refuse to touch
#              the machine's own namespaces
#   processes  tb_spawn, tb_register, tb_stop, tb_stop_all: every background
#              process by pid, checked against its start time before a signal
#   suite      tb_isolate (re-exec in a private mount, pid and net namespace),
#              tb_setup_suite (tmpfs /run, overlay /etc, users, tun node,
#              build and install, policy, PKI, configs)
#   topology   tb_begin, tb_topology_up, tb_topology_down: world, provider and
#              laptop, with their servers (tb_start_provider: OpenVPN, WireGuard
#              tb_start_wg_server, ocserv tb_start_ocserv; wireguard-go's UAPI:
#              tb_spawn_wg, tb_wg, tb_wg_sock, tb_wg_handshake, tb_wg_handshook)
#   product    tb_as, tb_launch, tb_run, tb_wait_exit, tb_wait_output, tb_app,
#              tb_descendants, tb_openvpn_pid, tb_nsenter, tb_outer_curl,
#              tb_hostlinks, tb_laptop_state, tb_run_state
#   instruments tb_forward_counters, tb_udp_counter, tb_ra_effect,
#              tb_requests_after, tb_fake_sandbox (the detectors' own control)
#   host       tb_host_snapshot, tb_host_compare (test 10)
#
# Files: $TB (/run/nsjv-test, a tmpfs of the suite's own mount namespace)
# holds the install prefix, PKI copy, server and client configs, homes and
# each test's state dir $TB_T; build-test/ (meson) and build-testbed/ (PKI
# cache, run logs) live in the repository and are ignored by git.
#
# Sanitizer mode (NSJV_SANITIZE=1, set by `tests/run --sanitize`): the same
# suite on a build with ASan and UBSan in build-sanitize/, installed into the
# same private prefix; every report lands in $TB_SAN_DIR, and tests/run fails
# the test during which one appeared (tb_sanitizer_reports).

TB_REPO=${TB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TB_LIB=$TB_REPO/tests/lib
TB_FIXTURES=$TB_REPO/tests/fixtures
TB=/run/nsjv-test
TB_SANITIZE=${NSJV_SANITIZE:-}
if [[ -n $TB_SANITIZE ]]; then
    TB_BUILD=${TB_BUILD:-$TB_REPO/build-sanitize}
else
    TB_BUILD=${TB_BUILD:-$TB_REPO/build-test}
fi
TB_CACHE=$TB_REPO/build-testbed
TB_PREFIX=$TB/prefix
TB_LAUNCHER=$TB_PREFIX/bin/nsjail-vpn
TB_HELPER=$TB_PREFIX/libexec/nsjail-vpn-helper
TB_POLICY=$TB_PREFIX/etc/nsjail-vpn/helper.conf
TB_PY=/usr/bin/python3

# Address plan (TESTBED.md). Fake public addresses come from the two
# documentation ranges, tunnels and the helper's pool from 198.18.0.0/15; the
# RA test uses 2001:db8::/32. tb_check_ranges refuses to run if the machine
# uses any of these.
TB_RANGES=(198.51.100.0/24 203.0.113.0/24 198.18.0.0/15 2001:db8::/32)
TB_WHOAMI=198.51.100.1
TB_WHOAMI2=198.51.100.2
TB_WORLD_DNS=198.51.100.53
TB_SECRET=198.51.100.7
TB_PROVIDER=203.0.113.20
TB_LAPTOP=203.0.113.40
TB_LAPTOP_GW=203.0.113.33
TB_FULL_CLIENT=198.18.8.2
TB_FULL_DNS=198.18.8.1
TB_SPLIT_CLIENT=198.18.9.2
TB_SPLIT_DNS=198.18.9.1
# WireGuard: wireguard-go in provider, interface wgprov0 (UAPI names are
# global to every namespace sharing /run/wireguard, so every wireguard-go of
# the bed has a name of its own), udp 51820 on 203.0.113.20, 198.18.10.1/24.
# Client 1 (wg-full.conf, wg-split.conf, wg-name.conf) is 198.18.10.2, client
# 2 (wg-full2.conf, for two sandboxes at once) 198.18.10.3. Keys are made per
# run; their public halves are in TB_WG_SERVER_PUB, TB_WG_CLIENT_PUB and
# TB_WG_CLIENT2_PUB once tb_start_provider ran.
TB_WG_IF=wgprov0
TB_WG_PORT=51820
TB_WG_NET=198.18.10.0/24
TB_WG_SERVER=198.18.10.1
TB_WG_DNS=198.18.10.1
TB_WG_CLIENT=198.18.10.2
TB_WG_CLIENT2=198.18.10.3
TB_WG_SERVER_PUB=''
TB_WG_CLIENT_PUB=''
TB_WG_CLIENT2_PUB=''
# OpenConnect: two ocserv instances in provider (AnyConnect protocol, tcp and
# DTLS on the same port), one user with a password, a certificate for
# vpn.provider.test and 203.0.113.20 from a CA of this run. Client addresses
# come from each instance's pool (predictable-ips: usually the same one, but
# not fixed: a session that died silently keeps its address for a while).
# TB_OC_PIN ("pin-sha256:...", openconnect --servercert) is set by
# tb_start_provider; the same is in $TB/client/oc-pin, the password in
# $TB/client/oc-pass and the CA in $TB/client/oc-ca.crt (for --cafile with
# TB_OC_NAME_URL).
TB_OC_USER=nsjvoc
TB_OC_PASS=nsjv-oc-pass-1
TB_OC_FULL_PORT=4443
TB_OC_SPLIT_PORT=4444
TB_OC_FULL_URL=https://$TB_PROVIDER:$TB_OC_FULL_PORT
TB_OC_SPLIT_URL=https://$TB_PROVIDER:$TB_OC_SPLIT_PORT
TB_OC_NAME_URL=https://vpn.provider.test:$TB_OC_FULL_PORT
TB_OC_FULL_NET=198.18.11.0/24
TB_OC_FULL_DNS=198.18.11.1
TB_OC_SPLIT_NET=198.18.12.0/24
TB_OC_SPLIT_DNS=198.18.12.1
TB_OC_PIN=''
TB_POOL=198.18.64.0/24
TB_USER_PATH=/usr/local/bin:/usr/bin:/bin

# Test users live only in the suite's overlay over /etc.
TB_USER1=nsjvtest1 TB_UID1=64001
TB_USER2=nsjvtest2 TB_UID2=64002
TB_SUPP_GROUP=nsjvsupp TB_SUPP_GID=64100
TB_DEMO_USER=nsjvdemo TB_DEMO_UID=64010
TB_TEST_UIDS=("$TB_UID1" "$TB_UID2" "$TB_DEMO_UID")

# Sanitizer mode. Every report goes to a file in $TB_SAN_DIR (1777, in the
# suite's tmpfs), never to a stderr: the helper's is a pipe the launcher reads,
# the supervisor's and the route-up hook's end in OpenVPN's log. log_exe_name
# names the program in the file name (asan.nsjail-vpn-helper.PID). exitcode:
# a status no part of the product uses, so a report also fails the check that
# looked at the status; halt_on_error: the first report ends the process (the
# build also has -fno-sanitize-recover=undefined). LeakSanitizer (on by
# default, so not named here: the defaults may turn it off) ptraces the
# process at exit; on this kernel that works in the setuid, non-dumpable
# helper (as the caller and once it is root) and in a user namespace of the
# sandbox's kind (tb_sanitizer_control checks that case). It cannot work in a
# process that is already traced (the tests that run the helper under
# strace): there the defaults turn it off (sanitizer-defaults.cpp), and only
# there. Where else it cannot attach, it says "LeakSanitizer has encountered a
# fatal error" in a report, which fails the test: then turn it off for that
# process the same way, and say why. Processes that end with _exit (the
# supervisor, forked children) are not leak-checked at all.
# The same strings are compiled into the sanitizer build as the runtimes'
# defaults (tests/lib/sanitizer-defaults.cpp), for the processes that get an
# empty environment (the helper) or OpenVPN's (the route-up hook); the suite
# also exports them, and tb_as_cmd passes them to the test users' commands.
TB_SAN_DIR=$TB/sanitizer
TB_SAN_EXIT=86
TB_ASAN_OPTIONS="log_path=$TB_SAN_DIR/asan:log_exe_name=1:halt_on_error=1:abort_on_error=0"
TB_ASAN_OPTIONS+=":exitcode=$TB_SAN_EXIT:print_summary=1"
TB_UBSAN_OPTIONS="log_path=$TB_SAN_DIR/ubsan:log_exe_name=1:print_stacktrace=1:halt_on_error=1"
TB_UBSAN_OPTIONS+=":exitcode=$TB_SAN_EXIT:report_error_type=1"
TB_SAN_ENV=()
if [[ -n $TB_SANITIZE ]]; then
    TB_SAN_ENV=(ASAN_OPTIONS="$TB_ASAN_OPTIONS" UBSAN_OPTIONS="$TB_UBSAN_OPTIONS")
fi

TB_TEST=${TB_TEST:-}
TB_FAILS=0
TB_COUNT=0

# ---------------------------------------------------------------- results

tb_log() { printf '# %s\n' "$*"; }

tb_die()
{
    printf 'testbed: %s\n' "$*" >&2
    exit 1
}

# Every result goes to stdout and, under the driver, to the results file
# that tests/run counts: stray output of a command can never count as a result.
tb_result()
{
    printf '%s\n' "$1"
    if [[ -n ${TB_RESULTS:-} ]]; then
        printf '%s\n' "$1" >>"$TB_RESULTS"
    fi
}

tb_ok()
{
    TB_COUNT=$((TB_COUNT + 1))
    tb_result "ok - ${TB_TEST:+$TB_TEST: }$*"
}

tb_not_ok()
{
    TB_COUNT=$((TB_COUNT + 1))
    TB_FAILS=$((TB_FAILS + 1))
    tb_result "not ok - ${TB_TEST:+$TB_TEST: }$*"
}

# tb_diag TEXT...: indented diagnostic lines under the last result.
tb_diag()
{
    local line
    printf '%s\n' "$@" | head -n 40 | while IFS= read -r line; do
        printf '#   %s\n' "$line"
    done
}

# tb_diag_file FILE...: the last lines of each FILE as diagnostics.
tb_diag_file()
{
    local f
    for f in "$@"; do
        [[ -s $f ]] || continue
        printf '#   --- %s\n' "${f#"$TB"/}"
        tail -n 15 "$f" | sed 's/^/#   /'
    done
}

# tb_check DESC CMD...: ok when CMD succeeds; its output is shown otherwise.
tb_check()
{
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then
        tb_ok "$desc"
        return 0
    fi
    tb_not_ok "$desc"
    tb_diag "command: $*" "$out"
    return 1
}

# tb_check_fails DESC CMD...: ok when CMD fails.
tb_check_fails()
{
    local desc=$1 out
    shift
    if ! out=$("$@" 2>&1); then
        tb_ok "$desc"
        return 0
    fi
    tb_not_ok "$desc"
    tb_diag "command: $*" "succeeded with: $out"
    return 1
}

# tb_is DESC GOT EXPECTED
tb_is()
{
    if [[ $2 == "$3" ]]; then
        tb_ok "$1"
        return 0
    fi
    tb_not_ok "$1"
    tb_diag "expected: $3" "got:      $2"
    return 1
}

# ---------------------------------------------------------------- waiting

tb_now_ms()
{
    local t=${EPOCHREALTIME//[!0-9]/}
    echo $((t / 1000))
}

# tb_wait SECONDS CMD...: poll CMD until it succeeds; status 1 at the deadline.
tb_wait()
{
    local deadline=$(($(tb_now_ms) + $1 * 1000))
    shift
    until "$@" >/dev/null 2>&1; do
        (($(tb_now_ms) < deadline)) || return 1
        sleep 0.05
    done
}

# ---------------------------------------------------------------- guards

tb_netns_inode() { stat -L -c %i "$1"; }

# Every test script and the suite itself run only inside the private
# namespaces tests/run made; NSJV_HOST_NETNS and NSJV_HOST_MNTNS are the
# machine's own, recorded by tests/run before it left them.
tb_guard_suite()
{
    [[ ${NSJV_SUITE:-} == 1 && -n ${NSJV_HOST_NETNS:-} && -n ${NSJV_RUN:-} ]] ||
        tb_die "run this through the suite: bash tests/run [NN]"
    [[ $(tb_netns_inode /proc/self/ns/net) != "$NSJV_HOST_NETNS" ]] ||
        tb_die "refusing to run in the machine's own network namespace"
    [[ $(tb_netns_inode /proc/self/ns/mnt) != "$NSJV_HOST_MNTNS" ]] ||
        tb_die "refusing to run in the machine's own mount namespace"
    [[ $(findmnt -no FSTYPE --mountpoint /run) == tmpfs && -d $TB ]] ||
        tb_die "/run is not the suite's private tmpfs"
}

# The machine's addresses, routes and resolvers, as tests/run saw them from
# the machine's own namespace (tb_host_snapshot), against our ranges.
tb_check_ranges()
{
    local dir=${1:-$NSJV_RUN/before}
    local out

    out=$("$TB_PY" "$TB_LIB/ranges.py" --addrs "$dir/addrs.json" \
        --routes "$dir/routes4.json" --routes "$dir/routes6.json" \
        --resolv "$dir/resolv.conf" "${TB_RANGES[@]}") ||
        tb_die "test address ranges clash with this machine: $out"
}

# tb_netns_add NAME: a network namespace of this test, deleted at teardown.
tb_netns_add()
{
    local ns=$1

    ip netns add "$ns" || tb_die "cannot create network namespace '$ns'"
    echo "$ns" >>"$TB_T/netns"
    [[ $(tb_netns_inode "/run/netns/$ns") != "$NSJV_HOST_NETNS" ]] ||
        tb_die "namespace '$ns' is the machine's own"
    ip -n "$ns" link set lo up
}

tb_in() { ip netns exec "$@"; }

# ---------------------------------------------------------------- processes

# Fields of /proc/PID/stat after the command name, which may hold spaces.
tb_stat_fields()
{
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    echo "${s##*) }"
}

tb_starttime()
{
    local f
    f=($(tb_stat_fields "$1")) || return 1
    echo "${f[19]}"
}

# tb_alive PID [START]: running (not a zombie) and, given START, the same process.
tb_alive()
{
    local f
    f=($(tb_stat_fields "$1")) || return 1
    [[ ${f[0]} != Z && ${f[0]} != X ]] || return 1
    [[ -z ${2:-} || ${f[19]} == "$2" ]]
}

tb_dead() { ! tb_alive "$@"; }

# tb_register NAME PID: remember a process of this test so that teardown
# (or the driver, after a crash) can end it by pid.
tb_register()
{
    local start
    start=$(tb_starttime "$2") || start=0
    echo "$2 $start" >"$TB_T/pids/$1"
    echo "$1" >>"$TB_T/pids/.order"
}

# tb_spawn NAME NETNS CMD...: CMD in NETNS in the background, output in
# $TB_T/logs/NAME.log. `ip netns exec` execs CMD itself, so $! is CMD's pid.
tb_spawn()
{
    local name=$1 ns=$2
    shift 2
    ip netns exec "$ns" "$@" </dev/null >"$TB_T/logs/$name.log" 2>&1 &
    tb_register "$name" $!
}

tb_pid_of()
{
    local pid start
    [[ -f $TB_T/pids/$1 ]] || return 1
    read -r pid start <"$TB_T/pids/$1"
    echo "$pid"
}

# tb_kill_pid PID START [SIGNAL]: signal it, wait for it to end (deadline),
# then SIGKILL. Never a process whose start time differs (a reused pid).
tb_kill_pid()
{
    local pid=$1 start=$2 sig=${3:-TERM}

    tb_alive "$pid" "$start" || return 0
    # Braces: bash reports a job killed by a signal ("Killed") on the stderr it has when
    # it reaps it, which may be while tb_wait polls; the kill was ours, so no notice.
    {
        kill -s "$sig" "$pid"
        if ! tb_wait 5 tb_dead "$pid" "$start"; then
            kill -s KILL "$pid"
            tb_wait 5 tb_dead "$pid" "$start"
        fi
        wait "$pid"
    } 2>/dev/null
    return 0
}

tb_stop()
{
    local pid start
    [[ -f $TB_T/pids/$1 ]] || return 0
    read -r pid start <"$TB_T/pids/$1"
    tb_kill_pid "$pid" "$start" "${2:-TERM}"
    rm -f "$TB_T/pids/$1"
}

# Everything this test started, newest first (sandboxes before servers),
# with SIGTERM or the signal TB_STOP_SIGNAL[NAME] names: a server whose
# graceful stop is slow and that loses nothing by a SIGKILL (ocserv).
declare -gA TB_STOP_SIGNAL=()
tb_stop_all()
{
    local names name
    [[ -f $TB_T/pids/.order ]] || return 0
    mapfile -t names < <(tac "$TB_T/pids/.order")
    for name in "${names[@]}"; do
        tb_stop "$name" "${TB_STOP_SIGNAL[$name]:-}"
    done
    rm -f "$TB_T/pids/.order"
}

# tb_user_procs: pids of live processes of the test users (zombies excluded).
tb_user_procs()
{
    local d uid f
    for d in /proc/[0-9]*; do
        uid=$(awk '/^Uid:/ {print $2; exit}' "$d/status" 2>/dev/null) || continue
        [[ " ${TB_TEST_UIDS[*]} " == *" $uid "* ]] || continue
        f=($(tb_stat_fields "${d#/proc/}")) || continue
        [[ ${f[0]} == Z ]] || echo "${d#/proc/}"
    done
}

tb_no_user_procs() { [[ -z $(tb_user_procs) ]]; }

# ---------------------------------------------------------------- suite

# tb_require_tools: everything the suite and the demo run, present.
tb_require_tools()
{
    local t missing=()
    for t in ip nft openvpn dnsmasq curl socat setpriv nsenter unshare findmnt mknod \
        meson ninja getent timeout openssl sha256sum wireguard-go ocserv ocpasswd certtool \
        openconnect; do
        command -v "$t" >/dev/null || missing+=("$t")
    done
    [[ -x $TB_PY ]] || missing+=("$TB_PY")
    [[ -x /usr/share/easy-rsa/easyrsa ]] || missing+=(easy-rsa)
    ((${#missing[@]} == 0)) || tb_die "missing tools: ${missing[*]} (run: bash .ci/install-deps)"
    [[ -c /dev/net/tun ]] || tb_die "/dev/net/tun is missing on this machine"
}

# tb_isolate SCRIPT ARGS...: from the machine's namespaces, record them and
# run SCRIPT in a private mount namespace (so /run, /etc and /dev/net/tun
# changes stay there), a PID namespace (everything it starts dies with it)
# and an empty network namespace (a stray command touches nothing real).
tb_isolate()
{
    local script=$1 personality=()
    shift
    # ASan of GCC 12 (and of LLVM before 18) maps its shadow at fixed addresses;
    # with more ASLR entropy than 28 bits (vm.mmap_rnd_bits, raised by some
    # kernels' defaults) a library can land there ("Shadow memory range
    # interleaves with an existing memory mapping") and the process dies at
    # start. The sysctl is the machine's and stays as it is: the sanitizer
    # suite runs without ASLR instead (a personality, inherited by everything it
    # starts). The kernel clears that personality when it runs a setuid file, so
    # the helper keeps its ASLR, and could still hit this there.
    if [[ -n $TB_SANITIZE ]] && (($(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28) > 28)); then
        tb_log "vm.mmap_rnd_bits is $(cat /proc/sys/vm/mmap_rnd_bits): the sanitizer suite runs under setarch -R"
        personality=(setarch "$(uname -m)" -R)
    fi
    NSJV_SUITE=1 NSJV_PHASE=inner \
        NSJV_HOST_NETNS=$(tb_netns_inode /proc/self/ns/net) \
        NSJV_HOST_MNTNS=$(tb_netns_inode /proc/self/ns/mnt) \
        NSJV_RUN=$NSJV_RUN \
        unshare --mount --propagation private --net --pid --fork --mount-proc \
        --kill-child "${personality[@]}" bash "$script" "$@"
}

tb_setup_mounts()
{
    # -n: without it, mount(8) would create /run/mount for its utab on the
    # machine's /run before our tmpfs covers it.
    mount -n -t tmpfs -o mode=0755,size=1g nsjv-run /run || tb_die "cannot mount a tmpfs on /run"
    mkdir -m 0755 -p "$TB" "$TB/logs" "$TB/t"
    [[ -z $TB_SANITIZE ]] || install -d -m 1777 "$TB_SAN_DIR"
    ip link set lo up
}

# An overlay over /etc: test users, resolv.conf and hosts changes are written
# to its upper layer in our tmpfs and vanish with the mount namespace.
tb_setup_etc()
{
    mkdir -p "$TB/etc-overlay/upper" "$TB/etc-overlay/work"
    mount -n -t overlay nsjv-etc \
        -o "lowerdir=/etc,upperdir=$TB/etc-overlay/upper,workdir=$TB/etc-overlay/work" /etc ||
        tb_die "cannot mount an overlay over /etc"

    tb_reset_resolv
}

tb_add_group()
{
    local name=$1 gid=$2 members=${3:-}
    getent group "$name" "$gid" >/dev/null && tb_die "group '$name' or gid $gid exists here"
    echo "$name:x:$gid:$members" >>/etc/group
    [[ -f /etc/gshadow ]] && echo "$name:!::$members" >>/etc/gshadow
    return 0
}

tb_add_user()
{
    local name=$1 uid=$2 home=$TB/home/$1
    getent passwd "$name" "$uid" >/dev/null && tb_die "user '$name' or uid $uid exists here"
    tb_add_group "$name" "$uid"
    echo "$name:x:$uid:$uid:nsjail-vpn test user:$home:/bin/bash" >>/etc/passwd
    [[ -f /etc/shadow ]] && echo "$name:!:20000:0:99999:7:::" >>/etc/shadow
    mkdir -p "$home"
    chown "$uid:$uid" "$home"
    chmod 0700 "$home"
    # Its XDG_RUNTIME_DIR (tb_as_cmd passes it), as a login would make it: in
    # the suite's /run, the user's, 0700. Named sandboxes keep their state there.
    install -d -m 0755 -o root -g root /run/user
    install -d -m 0700 -o "$uid" -g "$uid" "/run/user/$uid"
}

tb_setup_users()
{
    mkdir -m 0755 -p "$TB/home"
    tb_add_user "$TB_USER1" "$TB_UID1"
    tb_add_user "$TB_USER2" "$TB_UID2"
    tb_add_user "$TB_DEMO_USER" "$TB_DEMO_UID"
    tb_add_group "$TB_SUPP_GROUP" "$TB_SUPP_GID" "$TB_USER1"
}

# A 0666 node for the tun device, bound over /dev/net/tun in our namespace
# only: the machine's own node stays 0600.
tb_setup_tun()
{
    mknod -m 0666 "$TB/tun" c 10 200
    chmod 0666 "$TB/tun"
    mount -n --bind "$TB/tun" /dev/net/tun || tb_die "cannot bind a tun node over /dev/net/tun"
}

# tb_sanitizer_object: the object file of tests/lib/sanitizer-defaults.cpp
# with this run's options, compiled once per content into build-testbed/ (its
# name changes with them, and with it the link command: ninja relinks).
tb_sanitizer_object()
{
    local dir=$TB_CACHE/sanitizer key obj cxx=${CXX:-c++}
    key=$({
        cat "$TB_LIB/sanitizer-defaults.cpp"
        echo "$TB_ASAN_OPTIONS|$TB_UBSAN_OPTIONS"
        "$cxx" --version
    } | sha256sum | cut -c1-16)
    obj=$dir/defaults-$key.o
    if [[ ! -f $obj ]]; then
        mkdir -p "$dir"
        "$cxx" -std=c++20 -O2 -fPIC -Wall -Werror -c "$TB_LIB/sanitizer-defaults.cpp" \
            -DNSJV_ASAN_OPTIONS="\"$TB_ASAN_OPTIONS\"" -DNSJV_UBSAN_OPTIONS="\"$TB_UBSAN_OPTIONS\"" \
            -DNSJV_UBSAN_LOG="\"$TB_SAN_DIR/ubsan\"" -o "$obj.$$" && mv "$obj.$$" "$obj" || return 1
    fi
    echo "$obj"
}

# Build in the repository's build-test/ (reused between runs) and install
# into $TB_PREFIX; the helper's policy path is baked in at configure time.
# In sanitizer mode: build-sanitize/, with ASan and UBSan (b_lundef=false: the
# runtimes' symbols are not in the libraries' link), UB fatal, frame pointers
# for the stacks, and the runtimes' defaults linked in. Only this build dir
# gets those options: build-test/ and a plain `meson setup` keep
# b_sanitize=none (tb_check_build checks both kinds).
tb_build_install()
{
    local log=$TB/logs/build.log opts=(-Dprefix="$TB_PREFIX") obj

    if [[ -n $TB_SANITIZE ]]; then
        obj=$(tb_sanitizer_object 2>"$log") || return 1
        opts+=(-Db_sanitize=address,undefined -Db_lundef=false
            "-Dcpp_args=-fno-sanitize-recover=undefined -fno-omit-frame-pointer"
            -Dcpp_link_args="$obj")
    fi
    {
        if [[ -f $TB_BUILD/meson-private/coredata.dat ]]; then
            meson configure "$TB_BUILD" "${opts[@]}"
        else
            meson setup "$TB_BUILD" "${opts[@]}"
        fi &&
            meson compile -C "$TB_BUILD" &&
            meson install -C "$TB_BUILD" --no-rebuild
    } >>"$log" 2>&1
}

# tb_needs FILE: the shared libraries FILE names (DT_NEEDED), one a line.
tb_needs() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# tb_check_build: the installed launcher and helper are the kind of build this
# run wants. Plain: b_sanitize=none and no sanitizer runtime linked (this is
# the build that ships). Sanitizer mode: both linked with ASan and UBSan, so
# that a clean run means something.
tb_check_build()
{
    local opt f needs
    opt=$(meson introspect --buildoptions "$TB_BUILD" |
        "$TB_PY" -c 'import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"))') ||
        opt="(unreadable)"
    for f in "$TB_LAUNCHER" "$TB_HELPER"; do
        [[ -f $f ]] || {
            echo "$f is not installed"
            return 1
        }
        needs=$(tb_needs "$f")
        if [[ -n $TB_SANITIZE ]]; then
            [[ $opt == address,undefined && $needs == *libasan.so* && $needs == *libubsan.so* ]] || {
                echo "b_sanitize=$opt; $f needs: $(echo $needs)"
                return 1
            }
        else
            [[ $opt == none && $needs != *libasan* && $needs != *libubsan* ]] || {
                echo "b_sanitize=$opt; $f needs: $(echo $needs)"
                echo "the shipped build must never have sanitizers: remove ${TB_BUILD#"$TB_REPO"/}/"
                return 1
            }
        fi
    done
}

# tb_sanitizer_control: a probe built like the sanitizer build (the same
# defaults) must get each kind of report into $TB_SAN_DIR and exit with
# $TB_SAN_EXIT: ASan from an empty environment (as the helper runs), UBSan as
# a test user with the suite's environment, LeakSanitizer as a test user in a
# user namespace of its own (as the launcher's sandbox runs). Under strace,
# the leak goes unreported and the probe exits 0 (LeakSanitizer off there).
tb_sanitizer_control()
{
    local probe=$TB/sanitizer-probe obj kind rc files bad=()
    local -A expect=([asan]=heap-use-after-free [ubsan]="signed integer overflow"
        [leak]="detected memory leaks")

    obj=$(tb_sanitizer_object) &&
        ${CXX:-c++} -std=c++20 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            "$TB_LIB/sanitizer-probe.cpp" "$obj" -o "$probe" >"$TB/logs/probe.log" 2>&1 || {
        echo "cannot build the probe: $(tail -n 5 "$TB/logs/probe.log")"
        return 1
    }
    chmod 0755 "$probe"
    for kind in asan ubsan leak traced; do
        case $kind in
        asan) env -i "$probe" asan ;;
        ubsan) setpriv --reuid="$TB_UID1" --regid="$TB_UID1" --clear-groups \
            env -i "${TB_SAN_ENV[@]}" "$probe" ubsan ;;
        leak) setpriv --reuid="$TB_UID1" --regid="$TB_UID1" --clear-groups \
            env -i "${TB_SAN_ENV[@]}" unshare --user --map-root-user "$probe" leak ;;
        traced) command -v strace >/dev/null || continue
            env -i "${TB_SAN_ENV[@]}" strace -f -o /dev/null "$probe" leak ;;
        esac >/dev/null 2>"$TB/logs/probe-$kind.err"
        rc=$?
        if [[ $kind == traced ]]; then
            files=$(ls "$TB_SAN_DIR"/*sanitizer-probe* 2>/dev/null)
            ((rc == 0)) && [[ -z $files ]] ||
                bad+=("under strace: status $rc, report files: ${files:-none}: $(cat $files 2>/dev/null | head -n 3)")
            rm -f "$TB_SAN_DIR"/*sanitizer-probe*
            continue
        fi
        files=$(grep -l -- "${expect[$kind]}" "$TB_SAN_DIR"/*sanitizer-probe* 2>/dev/null)
        ((rc == TB_SAN_EXIT)) && [[ -n $files ]] ||
            bad+=("$kind: status $rc, report files: ${files:-none} (stderr: $(head -c 200 "$TB/logs/probe-$kind.err"))")
        rm -f "$TB_SAN_DIR"/*sanitizer-probe*
    done
    ((${#bad[@]} == 0)) || {
        printf '%s\n' "${bad[@]}"
        return 1
    }
}

# tb_sanitizer_reports NAME: the reports that appeared since the last call
# fail NAME (one result in $TB_RESULTS, the start of each report below it);
# the files move to $NSJV_RUN/artifacts/sanitizer/NAME/.
tb_sanitizer_reports()
{
    local name=$1 files f dest=$NSJV_RUN/artifacts/sanitizer/$1
    [[ -n $TB_SANITIZE ]] || return 0
    files=("$TB_SAN_DIR"/*)
    [[ -e ${files[0]} ]] || return 0
    mkdir -p "$dest"
    mv "${files[@]}" "$dest/"
    TB_TEST=$name tb_not_ok "no sanitizer report: ${#files[@]} (${dest#"$TB_REPO"/})"
    for f in "${files[@]}"; do
        printf '#   --- %s\n' "${f##*/}"
        grep -v '^$' "$dest/${f##*/}" | head -n 25 | sed 's/^/#   /'
    done
}

# The helper must be setuid root on a mount without nosuid, or every helper
# test would fail for a reason that is not the helper's code.
tb_check_setuid()
{
    local mode opts
    [[ -f $TB_HELPER ]] || {
        echo "the helper is not installed at $TB_HELPER"
        return 1
    }
    mode=$(stat -c '%U:%G %a' "$TB_HELPER")
    [[ $mode == root:root\ 4755 || $mode == root:*\ 4755 ]] || {
        echo "the helper is '$mode', not setuid root (root 4755): meson install must set its mode"
        return 1
    }
    opts=$(findmnt -no OPTIONS --target "$TB_HELPER")
    [[ ,$opts, != *,nosuid,* ]] || {
        echo "the helper's mount is nosuid ($opts)"
        return 1
    }
}

# tb_write_policy USER...: the helper's policy, allowing exactly these users.
tb_write_policy()
{
    local users="" u
    for u in "$@"; do
        users+="allow-user $u"$'\n'
    done
    install -d -m 0755 -o root -g root "$(dirname "$TB_POLICY")"
    awk -v users="${users%$'\n'}" '{ if ($0 == "@USERS@") print users; else print }' \
        "$TB_FIXTURES/helper.conf" >"$TB_POLICY"
    chown root:root "$TB_POLICY"
    chmod 0644 "$TB_POLICY"
}

# EC PKI made with easy-rsa once and cached in build-testbed/ (ignored by git).
tb_make_pki()
{
    local cache=$TB_CACHE/pki
    local -x EASYRSA=/usr/share/easy-rsa EASYRSA_PKI=$cache EASYRSA_BATCH=1 \
        EASYRSA_ALGO=ec EASYRSA_CURVE=prime256v1

    if [[ ! -f $cache/done ]] ||
        ! openssl x509 -checkend 2592000 -noout -in "$cache/issued/client.crt" >/dev/null; then
        rm -rf "$cache"
        mkdir -p "$TB_CACHE"
        {
            "$EASYRSA/easyrsa" init-pki &&
                EASYRSA_REQ_CN=nsjv-test-ca "$EASYRSA/easyrsa" build-ca nopass &&
                "$EASYRSA/easyrsa" build-server-full server nopass &&
                "$EASYRSA/easyrsa" build-client-full client nopass
        } >"$TB/logs/pki.log" 2>&1 || tb_die "easy-rsa failed: $(tail -n 5 "$TB/logs/pki.log")"
        touch "$cache/done"
    fi

    install -d -m 0755 "$TB/pki"
    install -m 0644 "$cache/ca.crt" "$cache/issued/server.crt" "$cache/issued/client.crt" "$TB/pki/"
    install -m 0600 "$cache/private/server.key" "$TB/pki/"
    install -m 0644 "$cache/private/client.key" "$TB/pki/"
}

tb_inline_certs()
{
    printf '<ca>\n%s\n</ca>\n' "$(cat "$TB/pki/ca.crt")"
    printf '<cert>\n%s\n</cert>\n' "$(openssl x509 -in "$TB/pki/client.crt")"
    printf '<key>\n%s\n</key>\n' "$(cat "$TB/pki/client.key")"
}

# Server configs in $TB/provider, client files in $TB/client (readable by the
# test users: these keys exist only for this run's servers).
tb_write_configs()
{
    local d=$TB/provider c=$TB/client

    install -d -m 0755 "$d" "$d/ccd-full" "$d/ccd-split" "$c" "$c/provider"
    sed -e "s|@DIR@|$d|g" -e "s|@PKI@|$TB/pki|g" "$TB_FIXTURES/server-full.conf" >"$d/full.conf"
    sed -e "s|@DIR@|$d|g" -e "s|@PKI@|$TB/pki|g" "$TB_FIXTURES/server-split.conf" >"$d/split.conf"
    echo "ifconfig-push $TB_FULL_CLIENT 255.255.255.0" >"$d/ccd-full/client"
    echo "ifconfig-push $TB_SPLIT_CLIENT 255.255.255.0" >"$d/ccd-split/client"

    { cat "$TB_FIXTURES/full.ovpn"; tb_inline_certs; } >"$c/full.ovpn"
    { cat "$TB_FIXTURES/split.ovpn"; tb_inline_certs; } >"$c/split.ovpn"
    cp "$TB_FIXTURES/provider.ovpn" "$c/provider/provider.ovpn"
    cp "$TB/pki/ca.crt" "$TB/pki/client.crt" "$TB/pki/client.key" "$c/provider/"
    chmod 0644 "$c"/*.ovpn "$c"/provider/*
    tb_write_wg_configs
    tb_write_oc_configs
}

# tb_wg_keypair DIR NAME: an X25519 key pair made with openssl (there is no
# wg(8) here), as WireGuard writes keys: DIR/NAME.key, the base64 of the raw
# 32-byte private key (0600), and DIR/NAME.pub, its public key. The raw keys
# are the last 32 bytes of openssl's DER encodings.
tb_wg_keypair()
{
    local pem=$1/$2.pem
    (umask 077 && openssl genpkey -algorithm X25519 -out "$pem") &&
        (umask 077 && openssl pkey -in "$pem" -outform DER | tail -c 32 | base64 >"$1/$2.key") &&
        openssl pkey -in "$pem" -pubout -outform DER | tail -c 32 | base64 >"$1/$2.pub" &&
        rm -f "$pem" && [[ $(base64 -d "$1/$2.key" | wc -c) == 32 ]] ||
        tb_die "cannot make the WireGuard key pair $2"
}

# tb_wg_client_conf KEYFILE ADDRESS ENDPOINT ALLOWEDIPS: a wg-quick client file.
tb_wg_client_conf()
{
    cat <<EOF
# WireGuard client of the test bed (wg-quick format): the provider's
# wireguard-go server. The keys exist only for this run of the suite.
[Interface]
PrivateKey = $(cat "$1")
Address = $2/32
DNS = $TB_WG_DNS

[Peer]
PublicKey = $(cat "$TB/provider/wg-server.pub")
Endpoint = $3:$TB_WG_PORT
AllowedIPs = $4
PersistentKeepalive = 2
EOF
}

# The WireGuard server's keys and configuration (wg-server.conf, given to
# wireguard-go through its UAPI socket by tb_start_wg_server), and the client
# files: wg-full.conf (everything through the tunnel), wg-split.conf (only
# the VPN's resolver and whoami 198.51.100.1, not whoami2), wg-name.conf (as
# wg-full.conf, with the endpoint by name: vpn.provider.test, which world's
# resolver answers), wg-full2.conf (client 2's key and address, full tunnel).
tb_write_wg_configs()
{
    local d=$TB/provider c=$TB/client k
    for k in wg-server wg-client wg-client2; do
        tb_wg_keypair "$d" "$k"
    done
    cat >"$d/wg-server.conf" <<EOF
[Interface]
PrivateKey = $(cat "$d/wg-server.key")
ListenPort = $TB_WG_PORT

[Peer]
PublicKey = $(cat "$d/wg-client.pub")
AllowedIPs = $TB_WG_CLIENT/32

[Peer]
PublicKey = $(cat "$d/wg-client2.pub")
AllowedIPs = $TB_WG_CLIENT2/32
EOF
    chmod 0600 "$d/wg-server.conf"
    tb_wg_client_conf "$d/wg-client.key" "$TB_WG_CLIENT" "$TB_PROVIDER" 0.0.0.0/0 >"$c/wg-full.conf"
    tb_wg_client_conf "$d/wg-client.key" "$TB_WG_CLIENT" "$TB_PROVIDER" \
        "$TB_WG_DNS/32, $TB_WHOAMI/32" >"$c/wg-split.conf"
    tb_wg_client_conf "$d/wg-client.key" "$TB_WG_CLIENT" vpn.provider.test 0.0.0.0/0 \
        >"$c/wg-name.conf"
    tb_wg_client_conf "$d/wg-client2.key" "$TB_WG_CLIENT2" "$TB_PROVIDER" 0.0.0.0/0 \
        >"$c/wg-full2.conf"
    chmod 0644 "$c"/wg-*.conf "$d"/wg-*.pub
}

# The ocserv servers' PKI (certtool: an EC CA and a server certificate for
# CN vpn.provider.test with the IP address 203.0.113.20, made per run in
# about 20 ms), the user's password file (ocpasswd reads the password twice
# from a stdin that is not a terminal), the configs from tests/fixtures, and
# for the clients: oc-ca.crt, oc-pin (the server key's pin-sha256:BASE64 for
# openconnect --servercert) and oc-pass (the password and a newline, for
# --passwd-on-stdin).
tb_write_oc_configs()
{
    local d=$TB/provider c=$TB/client log=$TB/logs/oc-pki.log
    (
        set -e
        umask 077
        cd "$d"
        printf '%s\n' 'cn = "nsjv-test ocserv CA"' ca cert_signing_key 'expiration_days = 30' \
            >oc-ca.tmpl
        printf '%s\n' 'cn = "vpn.provider.test"' 'dns_name = "vpn.provider.test"' \
            "ip_address = \"$TB_PROVIDER\"" tls_www_server signing_key encryption_key \
            'expiration_days = 30' >oc-server.tmpl
        certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile oc-ca.key
        certtool --generate-self-signed --load-privkey oc-ca.key --template oc-ca.tmpl \
            --outfile oc-ca.crt
        certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile oc-server.key
        certtool --generate-certificate --load-privkey oc-server.key --load-ca-certificate oc-ca.crt \
            --load-ca-privkey oc-ca.key --template oc-server.tmpl --outfile oc-server.crt
        printf '%s\n%s\n' "$TB_OC_PASS" "$TB_OC_PASS" | ocpasswd -c oc-passwd "$TB_OC_USER"
    ) >"$log" 2>&1 || tb_die "cannot make the ocserv PKI or password file: $(tail -n 5 "$log")"
    sed "s|@DIR@|$d|g" "$TB_FIXTURES/ocserv-full.conf" >"$d/oc-full.conf"
    sed "s|@DIR@|$d|g" "$TB_FIXTURES/ocserv-split.conf" >"$d/oc-split.conf"
    install -m 0644 "$d/oc-ca.crt" "$c/oc-ca.crt"
    echo "pin-sha256:$(openssl x509 -in "$d/oc-server.crt" -pubkey -noout |
        openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64)" >"$c/oc-pin"
    printf '%s\n' "$TB_OC_PASS" >"$c/oc-pass"
    chmod 0644 "$c/oc-pin" "$c/oc-pass"
}

# tb_setup_suite POLICY_USER...: everything a run needs, once, inside the
# namespaces of tb_isolate. Prints one result per step that can fail on the
# product's side (build, install, setuid) and dies on a broken test bed.
tb_setup_suite()
{
    local why

    [[ ${NSJV_SUITE:-} == 1 && $(tb_netns_inode /proc/self/ns/mnt) != "${NSJV_HOST_MNTNS:-}" ]] ||
        tb_die "tb_setup_suite runs only inside tb_isolate"
    tb_setup_mounts
    tb_guard_suite
    tb_setup_etc
    tb_setup_users
    tb_setup_tun
    tb_make_pki
    tb_write_configs

    if tb_build_install; then
        tb_ok "build and install into $TB_PREFIX"
    else
        tb_not_ok "build and install into $TB_PREFIX"
        tb_diag_file "$TB/logs/build.log"
    fi
    if why=$(tb_check_build); then
        if [[ -n $TB_SANITIZE ]]; then
            tb_ok "the sanitizer build: launcher and helper linked with ASan and UBSan"
        else
            tb_ok "the shipped build: no sanitizer (b_sanitize=none, no runtime linked)"
        fi
    else
        tb_not_ok "the build is the kind this run tests (${TB_SANITIZE:+sanitizer}${TB_SANITIZE:-shipped})"
        tb_diag "$why"
    fi
    if [[ -n $TB_SANITIZE ]]; then
        if why=$(tb_sanitizer_control); then
            tb_ok "sanitizer control: ASan, UBSan and LeakSanitizer reports reach ${TB_SAN_DIR} and fail the process (LeakSanitizer off under strace)"
        else
            tb_not_ok "sanitizer control: ASan, UBSan and LeakSanitizer reports reach ${TB_SAN_DIR} and fail the process (LeakSanitizer off under strace)"
            tb_diag "$why"
        fi
    fi
    if why=$(tb_check_setuid); then
        tb_ok "the helper is setuid root on a mount without nosuid"
    else
        tb_not_ok "the helper is setuid root on a mount without nosuid"
        tb_diag "$why" "every test that needs the helper will fail"
    fi
    tb_write_policy "$@"
}

# ---------------------------------------------------------------- topology

# tb_begin NAME: start a test script: guards, a fresh state dir $TB_T, and a
# trap that tears down whatever the test built on every exit path.
tb_begin()
{
    TB_TEST=$1
    tb_guard_suite
    tb_check_ranges
    TB_T=$TB/t/$TB_TEST
    rm -rf "$TB_T"
    mkdir -m 0755 -p "$TB_T" "$TB_T/logs" "$TB_T/pids" "$TB_T/state"
    : >"$TB_T/netns"
    TB_ON_EXIT=()
    tb_reset_resolv
    trap tb_teardown EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# tb_done: the script's status: 0 when every check passed.
tb_done()
{
    tb_log "$TB_TEST: $((TB_COUNT - TB_FAILS)) of $TB_COUNT checks passed"
    exit $((TB_FAILS > 0))
}

# tb_on_exit CMD: run CMD (one string) at teardown, before the topology goes.
tb_on_exit() { TB_ON_EXIT+=("$1"); }

tb_teardown()
{
    local rc=$? cmd
    trap - EXIT INT TERM
    for cmd in "${TB_ON_EXIT[@]}"; do
        eval "$cmd"
    done
    tb_topology_down
    exit "$rc"
}

# laptop's resolv.conf as the suite set it up: a plain file naming world's resolver.
tb_reset_resolv()
{
    rm -f /etc/resolv.conf
    echo "nameserver $TB_WORLD_DNS" >/etc/resolv.conf
    chmod 0644 /etc/resolv.conf
}

tb_topology_down()
{
    local names ns
    [[ -n ${TB_T:-} ]] || return 0
    tb_stop_all
    tb_wait 10 tb_no_user_procs || tb_log "test users still have processes: $(tb_user_procs)"
    [[ -f $TB_T/netns ]] || return 0
    mapfile -t names < <(tac "$TB_T/netns")
    for ns in "${names[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    : >"$TB_T/netns"
}

tb_veth()
{
    ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
}

# world: the internet; provider: the VPN provider; laptop: the user's machine.
tb_topology_links()
{
    local ns
    tb_netns_add world
    tb_netns_add provider
    tb_netns_add laptop
    # No IPv6 duplicate address detection on the links made below: an address
    # that turns from "tentative" to final a second later would show up as
    # a change in laptop's state between two snapshots.
    for ns in world provider laptop; do
        tb_in "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
    done
    tb_veth world w-provider provider p-world
    tb_veth world w-laptop laptop uplink0

    ip -n world addr add "$TB_WHOAMI/32" dev lo
    ip -n world addr add "$TB_WHOAMI2/32" dev lo
    ip -n world addr add "$TB_WORLD_DNS/32" dev lo
    ip -n world addr add 203.0.113.17/28 dev w-provider
    ip -n world addr add "$TB_LAPTOP_GW/28" dev w-laptop
    ip -n world link set w-provider up
    ip -n world link set w-laptop up
    tb_in world sysctl -qw net.ipv4.ip_forward=1

    ip -n provider addr add "$TB_PROVIDER/28" dev p-world
    ip -n provider link set p-world up
    ip -n provider route add default via 203.0.113.17
    # The VPN resolver's addresses for ocserv's clients (tb_start_provider).
    ip -n provider addr add "$TB_OC_FULL_DNS/32" dev lo
    ip -n provider addr add "$TB_OC_SPLIT_DNS/32" dev lo
    tb_in provider sysctl -qw net.ipv4.ip_forward=1
    tb_in provider nft -f - <<-EOF
	table ip nsjvtest_provider {
	    chain post {
	        type nat hook postrouting priority srcnat; policy accept;
	        ip saddr { 198.18.8.0/23, 198.18.10.0/23, 198.18.12.0/24 } oifname "p-world" masquerade
	    }
	}
	EOF

    # laptop forwards nothing until the helper says so; rp_filter "loose"
    # for all (Ubuntu's default) so that no test passes only because of
    # strict reverse-path filtering.
    ip -n laptop addr add "$TB_LAPTOP/28" dev uplink0
    ip -n laptop link set uplink0 up
    ip -n laptop route add default via "$TB_LAPTOP_GW"
    tb_in laptop sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=2 \
        net.ipv4.conf.default.rp_filter=2
}

tb_dnsmasq()
{
    local name=$1 ns=$2
    shift 2
    tb_spawn "$name" "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
        --no-hosts --pid-file="$TB_T/state/$name.pid" --user=root --group=root \
        --log-facility=- --log-queries "$@"
}

# (No `grep -q` after a pipe anywhere here: it exits at the first match, the
# writer may die of SIGPIPE, and pipefail then fails the whole check.)
tb_dns_answers() { tb_in "$1" "$TB_PY" "$TB_LIB/dnsq.py" "$2" "$3" 1 | grep -x "$4" >/dev/null; }

# whoami HTTP servers and the public resolver.
tb_start_world()
{
    tb_spawn whoami world "$TB_PY" "$TB_LIB/whoami.py" --ready "$TB_T/state/whoami.ready" \
        "$TB_WHOAMI:80" "$TB_WHOAMI2:80"
    tb_dnsmasq world-dns world --bind-interfaces --listen-address="$TB_WORLD_DNS" \
        --local=/test/ --address=/vpn.provider.test/"$TB_PROVIDER" \
        --address=/public.test/"$TB_WHOAMI2"

    tb_wait 10 test -e "$TB_T/state/whoami.ready" ||
        tb_die "whoami server did not start: $(tail -n 5 "$TB_T/logs/whoami.log")"
    tb_wait 10 tb_dns_answers world "$TB_WORLD_DNS" public.test "$TB_WHOAMI2" ||
        tb_die "world resolver did not start: $(tail -n 5 "$TB_T/logs/world-dns.log")"
}

# tb_wait_log SECONDS NAME PATTERN: wait for PATTERN in NAME's log while NAME
# runs; fail at once when it died.
tb_wait_log()
{
    local deadline=$(($(tb_now_ms) + $1 * 1000)) name=$2 pattern=$3 pid start
    read -r pid start <"$TB_T/pids/$name"
    until grep -q -- "$pattern" "$TB_T/logs/$name.log" 2>/dev/null; do
        tb_alive "$pid" "$start" || return 1
        (($(tb_now_ms) < deadline)) || return 1
        sleep 0.05
    done
}

# tb_start_vpn_server full|split: the OpenVPN server vpn-full or vpn-split,
# started (tb_spawn_vpn_server) and waited for (tb_wait_vpn_server).
tb_spawn_vpn_server() { tb_spawn "vpn-$1" provider openvpn --config "$TB/provider/$1.conf"; }

tb_wait_vpn_server()
{
    tb_wait_log 20 "vpn-$1" "Initialization Sequence Completed" ||
        tb_die "OpenVPN server '$1' did not start: $(tail -n 5 "$TB_T/logs/vpn-$1.log")"
}

tb_start_vpn_server()
{
    tb_spawn_vpn_server "$1"
    tb_wait_vpn_server "$1"
}

# tb_wg_sock NAME IFNAME: the UAPI socket of the wireguard-go that
# tb_spawn_wg started as NAME, reached through its own mount namespace.
tb_wg_sock()
{
    local pid
    pid=$(tb_pid_of "$1") || return 1
    echo "/proc/$pid/root/run/wireguard/$2.sock"
}

# tb_wg NAME IFNAME CMD ARGS...: tests/lib/wguapi.py CMD on that socket (set,
# setconf, get, peer: see the script), run in the process's network
# namespace, so that an Endpoint by name is resolved the way that namespace
# resolves it.
tb_wg()
{
    local name=$1 ifname=$2 cmd=$3 sock
    shift 3
    sock=$(tb_wg_sock "$name" "$ifname") || return 1
    nsenter -t "$(tb_pid_of "$name")" -n -- "$TB_PY" "$TB_LIB/wguapi.py" "$cmd" "$sock" "$@"
}

# tb_spawn_wg NAME NETNS IFNAME: wireguard-go as root in NETNS (tb_spawn, so
# tb_stop NAME ends it; its tun goes with it), with a tmpfs of its own over
# /run in a mount namespace of its own: its UAPI socket, hard-coded as
# /var/run/wireguard/IFNAME.sock, never appears in the suite's /run, which
# the tests compare as the host's (tb_run_state). Waits for the socket and the
# link. Logs (LOG_LEVEL, default verbose: handshakes, keepalives) in NAME.log.
tb_spawn_wg()
{
    local name=$1 ns=$2 ifname=$3
    tb_spawn "$name" "$ns" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL="${TB_WG_LOG_LEVEL:-verbose}" \
        unshare --mount --propagation private sh -c \
        'mount -n -t tmpfs -o mode=0755,size=1m nsjv-wg /run && exec wireguard-go -f "$1"' \
        wireguard-go "$ifname"
    tb_wait 5 test -S "$(tb_wg_sock "$name" "$ifname")" &&
        tb_wait 5 ip -n "$ns" link show dev "$ifname"
}

# The provider's WireGuard server (tb_stop wg-server ends it and its
# wgprov0): wg-server.conf through UAPI, then its address and the link up.
tb_start_wg_server()
{
    TB_WG_SERVER_PUB=$(cat "$TB/provider/wg-server.pub")
    TB_WG_CLIENT_PUB=$(cat "$TB/provider/wg-client.pub")
    TB_WG_CLIENT2_PUB=$(cat "$TB/provider/wg-client2.pub")
    tb_spawn_wg wg-server provider "$TB_WG_IF" &&
        tb_wg wg-server "$TB_WG_IF" setconf "$TB/provider/wg-server.conf" &&
        ip -n provider addr add "$TB_WG_SERVER/24" dev "$TB_WG_IF" &&
        ip -n provider link set "$TB_WG_IF" up ||
        tb_die "WireGuard server did not start: $(tail -n 5 "$TB_T/logs/wg-server.log")"
}

# tb_wg_handshake [PUBKEY]: the server's last handshake with that client
# (default: client 1), in nanoseconds since the epoch (0: none yet). Seconds
# would not do: two clients in a row can shake hands in the same second.
tb_wg_handshake()
{
    tb_wg wg-server "$TB_WG_IF" handshake "${1:-$TB_WG_CLIENT_PUB}"
}

# tb_wg_handshook [PUBKEY]: that client has made a handshake with the server.
tb_wg_handshook()
{
    local t
    t=$(tb_wg_handshake "$@") && [[ -n $t && $t != 0 ]]
}

# tb_spawn_ocserv full|split: the provider's ocserv instance oc-full (tcp and
# udp 4443) or oc-split (4444), as root (in a user namespace it fails at
# setgroups); tb_wait_ocserv waits until it serves. `tb_stop oc-full` ends it
# gracefully: its main process signals sec-mod and the workers and reaps them,
# sleeping 0.5 s after each (1 s with no session, 1.5 s with one, ...); after
# ten rounds it sends SIGKILL to its whole process group (kill(0, SIGKILL)),
# which is why it runs in a session of its own (setsid, no fork: $! stays
# ocserv's pid). `tb_stop oc-full KILL` is a crash: sec-mod and the workers
# see their socket to main close and exit at once, and the tun devices go
# with them (50 ms). Teardown uses KILL (TB_STOP_SIGNAL).
tb_spawn_ocserv()
{
    TB_OC_PIN=$(cat "$TB/client/oc-pin")
    tb_spawn "oc-$1" provider setsid ocserv -f -d 2 -c "$TB/provider/oc-$1.conf"
    TB_STOP_SIGNAL[oc-$1]=KILL
}

tb_wait_ocserv()
{
    tb_wait_log 10 "oc-$1" "main: initialized ocserv" &&
        tb_wait_log 10 "oc-$1" "sec-mod initialized" ||
        tb_die "ocserv '$1' did not start: $(tail -n 5 "$TB_T/logs/oc-$1.log")"
}

tb_start_ocserv()
{
    tb_spawn_ocserv "$1"
    tb_wait_ocserv "$1"
}

# The provider's servers: OpenVPN full and split, WireGuard, ocserv full and
# split (the slow ones started first, waited for last), and the VPN's own
# resolver, which knows only secret.vpn.test and answers NXDOMAIN for every
# other name under .test, on every tunnel's server address (ocserv's two are
# on provider's lo: ocserv gives them to its tun devices only while a client
# is connected).
tb_start_provider()
{
    tb_spawn_ocserv full
    tb_spawn_ocserv split
    tb_spawn_vpn_server full
    tb_spawn_vpn_server split
    tb_start_wg_server
    tb_wait_vpn_server full
    tb_wait_vpn_server split
    tb_wait_ocserv full
    tb_wait_ocserv split
    tb_dnsmasq vpn-dns provider --bind-dynamic --listen-address="$TB_FULL_DNS" \
        --listen-address="$TB_SPLIT_DNS" --listen-address="$TB_WG_DNS" \
        --listen-address="$TB_OC_FULL_DNS" --listen-address="$TB_OC_SPLIT_DNS" --local=/test/ \
        --address=/secret.vpn.test/"$TB_SECRET"
    tb_wait 10 tb_dns_answers provider "$TB_FULL_DNS" secret.vpn.test "$TB_SECRET" ||
        tb_die "VPN resolver did not start: $(tail -n 5 "$TB_T/logs/vpn-dns.log")"
}

tb_topology_up()
{
    local t0 rc
    t0=$(tb_now_ms)
    # set -e in a subshell whose status is not tested at once (bash ignores
    # -e in a context that is): any failing step fails the test bed loudly.
    (
        set -e
        tb_topology_links
    )
    rc=$?
    ((rc == 0)) || tb_die "building the topology failed (status $rc)"
    tb_start_world
    tb_start_provider
    tb_log "topology up in $(($(tb_now_ms) - t0)) ms"
}

# ---------------------------------------------------------------- product

# tb_as_cmd USER: TB_AS is the command prefix that runs a command as USER
# (uid, gid and supplementary groups from the overlay's /etc) inside laptop,
# with a clean environment, the user's home as working directory and every
# signal at its default disposition (a script's background jobs otherwise
# start with SIGINT ignored). XDG_RUNTIME_DIR is /run/user/UID (tb_add_user
# made it), unless TB_NO_XDG is set. Extra variables come from the array
# TB_ENV (a variable named there again wins: env takes the last).
# Every element execs the next, so `"${TB_AS[@]}" CMD &` makes $! CMD's pid.
tb_as_cmd()
{
    local user=$1 uid gid home
    uid=$(id -u "$user") gid=$(id -g "$user") home=$TB/home/$user
    local san=() xdg=(XDG_RUNTIME_DIR="/run/user/$uid")
    [[ -z ${TB_NO_XDG:-} ]] || xdg=()
    # Each command its own report names: a sandbox is a PID namespace, and two
    # supervisors (both pid 1) would otherwise write the same file.
    [[ -z $TB_SANITIZE ]] || san=("${TB_SAN_ENV[@]//"$TB_SAN_DIR/"/"$TB_SAN_DIR/${EPOCHREALTIME/./}-"}")
    # Each `ip netns exec` has a mount namespace of its own; TB_HOST_MNT (a pid in
    # laptop) makes every command share that process's one, as on a real host.
    local enter=(ip netns exec laptop)
    [[ -z ${TB_HOST_MNT:-} ]] || enter=(nsenter -t "$TB_HOST_MNT" -m -n)
    TB_AS=("${enter[@]}" setpriv --reuid="$uid" --regid="$gid" --init-groups
        env -i -C "$home" --default-signal HOME="$home" USER="$user" LOGNAME="$user"
        PATH="$TB_USER_PATH" LANG=C.UTF-8 "${xdg[@]}" "${san[@]}" "${TB_ENV[@]}")
}
TB_ENV=()

# tb_as USER CMD...: CMD as USER inside laptop, in the foreground.
tb_as()
{
    tb_as_cmd "$1"
    shift
    "${TB_AS[@]}" "$@"
}

# tb_launch NAME USER ARGS...: the launcher as USER in the background, stdout
# and stderr in $TB_T/NAME.out and .err, stdin from $TB_STDIN (/dev/null).
# Sets TB_LPID, the launcher's own pid (see tb_as_cmd).
tb_launch()
{
    local name=$1
    tb_as_cmd "$2"
    shift 2
    "${TB_AS[@]}" "$TB_LAUNCHER" "$@" <"${TB_STDIN:-/dev/null}" \
        >"$TB_T/$name.out" 2>"$TB_T/$name.err" &
    TB_LPID=$!
    tb_register "$name" "$TB_LPID"
}

# tb_wait_exit NAME SECONDS: wait for a launcher to exit; TB_STATUS is its
# status (bash's: 128+N for a signal), or "timeout" after it was killed.
tb_wait_exit()
{
    local name=$1 pid start
    read -r pid start <"$TB_T/pids/$name"
    if tb_wait "$2" tb_dead "$pid" "$start"; then
        wait "$pid"
        TB_STATUS=$?
    else
        tb_kill_pid "$pid" "$start" KILL
        TB_STATUS=timeout
    fi
    rm -f "$TB_T/pids/$name"
}

# tb_run NAME SECONDS USER ARGS...: the launcher in the foreground, in effect.
tb_run()
{
    local name=$1 secs=$2
    shift 2
    tb_launch "$name" "$@"
    tb_wait_exit "$name" "$secs"
}

# tb_traced_run NAME STDIN ARGS...: the launcher as TB_USER1 in laptop with ARGS and
# stdin from STDIN, under strace -f recording every execve with its argv and
# environment in $TB_T/NAME.strace; stdout and stderr in $TB_T/NAME.out and .err.
# $TB_T/NAME.before is touched first, for tb_secret_nowhere.
tb_traced_run()
{
    local name=$1 stdin=$2
    shift 2
    touch "$TB_T/$name.before"
    ip netns exec laptop env -i PATH="$TB_USER_PATH" HOME="$TB/home/$TB_USER1" \
        XDG_RUNTIME_DIR="/run/user/$TB_UID1" strace -u "$TB_USER1" -f -qq -v -s 65536 \
        -e trace=execve -o "$TB_T/$name.strace" "$TB_LAUNCHER" "$@" \
        <"$stdin" >"$TB_T/$name.out" 2>"$TB_T/$name.err"
}

# tb_secret_nowhere NAME LABEL SECRET...: after tb_traced_run NAME, no SECRET (any
# case: a key may be hex) is in any execve's argv or environment, nor in a file
# written since the run began under the places we could write: the test's state,
# /tmp, /run (the suite's tmpfs: XDG_RUNTIME_DIR and the like) and the user's home.
# A control shows that the file search finds a file holding the first SECRET.
tb_secret_nowhere()
{
    local name=$1 label=$2 written f args=() discarded=0
    shift 2
    for f in "$@"; do args+=(-e "$f"); done
    tb_is "$label: no execve's argv or environment held it" \
        "$(grep -c -i -F "${args[@]}" "$TB_T/$name.strace")" 0
    written=$(find "$TB_T" /tmp "$TB/home/$TB_USER1" /run -xdev -type f \
        -newer "$TB_T/$name.before" ! -path "$TB_T/$name.strace" 2>/dev/null)
    echo "$1" >"$TB_T/$name.detector-control"
    tb_check "$label (control): the file search finds a file that holds it" \
        grep -l -F -e "$1" "$TB_T/$name.detector-control"
    rm -f "$TB_T/$name.detector-control"
    tb_is "$label: no file written during the run holds it" \
        "$(for f in $written; do grep -l -i -F "${args[@]}" "$f" 2>/dev/null; done)" ""
    tb_diag "$(wc -l <<<"$written") files written during the run were searched"
    # Sanitizer build: LeakSanitizer cannot work in a traced process, and the defaults
    # that turn it off there (sanitizer-defaults.cpp) look at TracerPid, which reads 0
    # inside a sandbox's PID namespace, where strace (outside) has no pid. Processes
    # strace followed there that exit normally leave that one note and nothing else;
    # only such notes are discarded.
    [[ -n $TB_SANITIZE ]] || return 0
    for f in $(find "$TB_SAN_DIR" -type f -newer "$TB_T/$name.before" 2>/dev/null); do
        if grep -q 'LeakSanitizer does not work under ptrace' "$f" &&
            ! grep -v -e 'LeakSanitizer has encountered a fatal error' -e '==HINT: ' "$f" |
            grep -q .; then
            rm -f "$f"
            discarded=$((discarded + 1))
        fi
    done
    tb_diag "$discarded notes of LeakSanitizer under ptrace from the traced run discarded"
}

# tb_app NAME: TB_APP is a command running tests/lib/apps/NAME.sh inside the
# sandbox as `sh -c SCRIPT app-NAME`: the script travels on the command line,
# so nothing of the test bed has to be visible in the sandbox, and "app-NAME"
# marks the app's command line for tb_find_desc.
tb_app()
{
    TB_APP=(sh -c "$(cat "$TB_LIB/apps/$1.sh")" "app-$1")
}

# tb_wait_output NAME SECONDS PATTERN: wait for PATTERN (grep -E) in the
# launcher NAME's stdout; fail at once when the launcher has exited.
tb_wait_output()
{
    local name=$1 deadline=$(($(tb_now_ms) + $2 * 1000)) pattern=$3 pid start
    read -r pid start <"$TB_T/pids/$name" || return 1
    until grep -Eq -- "$pattern" "$TB_T/$name.out" 2>/dev/null; do
        tb_alive "$pid" "$start" || grep -Eq -- "$pattern" "$TB_T/$name.out" || return 1
        (($(tb_now_ms) < deadline)) || return 1
        sleep 0.05
    done
}

# tb_field FILE KEY: the value of "KEY=value" in FILE (the apps' output).
tb_field() { awk -v k="$2=" 'index($0, k) == 1 && !done {print substr($0, length(k) + 1); done = 1}' "$1"; }

# tb_children PID: its children, one a line (each thread's list, merged).
tb_children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' ' '\n' | grep .; }

# tb_descendants PID: every process below PID, breadth first.
tb_descendants()
{
    local queue=("$1") p c
    while ((${#queue[@]})); do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        for c in $(tb_children "$p"); do
            echo "$c"
            queue+=("$c")
        done
    done
}

# tb_find_desc PID REGEX: the first descendant whose command line matches.
tb_find_desc()
{
    local p cmd
    for p in $(tb_descendants "$1"); do
        cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
        if [[ $cmd =~ $2 ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

tb_openvpn_pid()
{
    local p
    for p in $(tb_descendants "$1"); do
        if [[ $(cat "/proc/$p/comm" 2>/dev/null) == openvpn ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

tb_supervisor_pid()
{
    local c
    c=$(tb_children "$1") || return 1
    echo "${c%%$'\n'*}"
}

# tb_nsenter PID CMD...: CMD as root in PID's network namespace only (OUTER
# for the openvpn pid, INNER for the app's).
tb_nsenter()
{
    local pid=$1
    shift
    nsenter -t "$pid" -n -- "$@"
}

# Host ends of sandboxes in laptop (nsjv<N>).
tb_hostlinks()
{
    ip -n laptop -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep '^nsjv'
}

tb_has_hostlink() { [[ -n $(tb_hostlinks) ]]; }
tb_no_hostlink() { [[ -z $(tb_hostlinks) ]]; }

tb_links_addrs() { ip -n laptop -o link show; ip -n laptop -o addr show; }

# Everything of laptop's network state that the helper could change, and
# the suite's /run (tb_run_state): laptop plays the host, /run is the host's.
# The sysctls: every value under net/ipv4/conf and net/ipv6/conf (forwarding,
# rp_filter, disable_ipv6, accept_ra and the rest, of every link), and
# ip_forward.
tb_laptop_state()
{
    ip -n laptop -o link show
    ip -n laptop -o addr show
    ip -n laptop route show table all
    ip -n laptop -6 route show table all
    ip -n laptop rule show
    ip -n laptop -6 rule show
    tb_in laptop nft -s list ruleset
    tb_in laptop sh -c 'cd /proc/sys/net &&
        grep -r . ipv4/ip_forward ipv4/conf ipv6/conf 2>/dev/null | LC_ALL=C sort'
    tb_run_state
}

# /run but for the test bed's own files ($TB): names, types, modes, owners,
# and sizes and times of files. The helper's lock may appear there, but only
# as an empty regular file of root's, mode 0600; anything else about it is
# shown.
tb_run_state()
{
    local lock=/run/nsjail-vpn-helper.lock what
    find /run -path "$TB" -prune -o -path "$lock" -prune -o -printf '%p %y %m %U:%G\n' |
        LC_ALL=C sort
    find /run -path "$TB" -prune -o -path "$lock" -prune -o -type f -printf '%p %s %T@\n' |
        LC_ALL=C sort
    if [[ -e $lock || -L $lock ]]; then
        what=$(stat -c '%F %a %U:%G %s' "$lock")
        [[ $what == "regular empty file 600 root:root 0" ]] || echo "$lock: $what"
    fi
}

# tb_curl NETNS URL [SECONDS]
tb_curl() { tb_in "$1" curl -sS --max-time "${3:-5}" "$2"; }

# tb_outer_curl PID URL [SECONDS]: as root from the network namespace of PID
# (OUTER, for the sandbox's openvpn), bound to eth0 so that no route of a
# tunnel can carry the request.
tb_outer_curl() { tb_nsenter "$1" curl -sS --interface 'if!eth0' --max-time "${3:-5}" "$2"; }

# tb_nft_counter NETNS NAME: packets of the named counter in table inet nsjvtest.
tb_nft_counter()
{
    tb_in "$1" nft list counter inet nsjvtest "$2" |
        awk '{for (i = 1; i < NF; i++) if ($i == "packets" && !n++) print $(i + 1)}'
}

# ---------------------------------------------------------------- instruments

# tb_forward_counters: in laptop, our own table counting what sandboxes
# ("nsjv*") send through the forward hook: to the VPN endpoint, and anything
# else. Its priority puts it before every other forward chain, so it counts
# what the helper's rules would drop as well.
tb_forward_counters()
{
    tb_in laptop nft -f - <<EOF || tb_die "cannot add the counting table in laptop"
table inet nsjvtest {
    counter endpoint {
    }
    counter other {
    }
    chain count_forward {
        type filter hook forward priority -300; policy accept;
        iifname "nsjv*" ip daddr $TB_PROVIDER counter name "endpoint"
        iifname "nsjv*" ip daddr != $TB_PROVIDER counter name "other"
        iifname "nsjv*" meta nfproto ipv6 counter name "other"
    }
}
EOF
    tb_on_exit "tb_in laptop nft delete table inet nsjvtest"
}

# tb_counter_settled NETNS NAME: the counter did not move for 0.3 s.
tb_counter_settled()
{
    local a
    a=$(tb_nft_counter "$1" "$2")
    sleep 0.3
    [[ $a == "$(tb_nft_counter "$1" "$2")" ]]
}

# tb_udp_counter: in world, our own table counting udp port 9999 arrivals.
tb_udp_counter()
{
    tb_in world nft -f - <<EOF || tb_die "cannot add the counting table in world"
table inet nsjvtest {
    counter udp9999 {
    }
    chain count_pre {
        type filter hook prerouting priority -300; policy accept;
        udp dport 9999 counter name "udp9999"
    }
}
EOF
}

# tb_requests_after FILE NS: lines of the loop app (apps/loop.sh) whose
# request began after the wall-clock time NS (nanoseconds).
tb_requests_after() { awk -v t="$2" '$1 == "req" && $3 > t' "$1"; }

TB_RA_PREFIX=2001:db8:1::/64
# Whether laptop took an address or a route from our router advertisement.
tb_ra_effect()
{
    ip -n laptop -6 addr show | grep 2001:db8:1: >/dev/null ||
        ip -n laptop -6 route show | grep '^default\|^2001:db8:1:' >/dev/null
}
tb_no_ra_effect() { ! tb_ra_effect; }

# tb_lower_up NETNS IFACE: the link has carrier (a veth: both ends are up).
# Until then the kernel drops what is sent through it.
tb_lower_up() { ip -n "$1" -o link show dev "$2" 2>/dev/null | grep LOWER_UP >/dev/null; }

# tb_fake_sandbox NETNS: a namespace wired to laptop the way the helper wires
# OUTER (host end nsjv99, 198.18.65.0/31, NAT out of uplink0) but with none
# of its protections. Test 0 points every detector at it to show that each
# one sees the leak it exists for.
tb_fake_sandbox()
{
    local ns=$1
    tb_netns_add "$ns"
    ip -n laptop link add nsjv99 type veth peer name eth0 netns "$ns"
    ip -n laptop addr add 198.18.65.0/31 dev nsjv99
    ip -n "$ns" addr add 198.18.65.1/31 dev eth0
    ip -n laptop link set nsjv99 up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via 198.18.65.0
    tb_wait 5 tb_lower_up laptop nsjv99 || tb_die "the fake sandbox's link did not come up"
    tb_in laptop sysctl -qw net.ipv4.conf.nsjv99.forwarding=1 net.ipv4.conf.uplink0.forwarding=1
    tb_in laptop nft -f - <<EOF
table ip nsjvtest_fake {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr 198.18.65.0/31 oifname "uplink0" masquerade
    }
}
EOF
}

# ---------------------------------------------------------------- host

# tb_host_snapshot DIR: the machine's own state, taken from its own
# namespaces by tests/run before and after a run (read-only commands).
tb_host_snapshot()
{
    local d=$1
    mkdir -p "$d"
    ip -o link show >"$d/links"
    ip -o addr show | sed -E 's/ +valid_lft .*//' >"$d/addrs"
    { ip route show table all; ip -6 route show table all; } |
        sed -E 's/ expires [0-9]+sec//' >"$d/routes"
    { ip rule show; ip -6 rule show; } >"$d/rules"
    nft list ruleset >"$d/nft" 2>&1
    (cd /proc/sys/net && for f in ipv4/ip_forward ipv4/conf/*/forwarding ipv6/conf/*/forwarding \
        ipv6/conf/*/disable_ipv6 ipv6/conf/*/accept_ra ipv4/conf/*/rp_filter; do
        echo "$f=$(cat "$f")"
    done) >"$d/sysctl"
    { ip netns list; ls -lA /run/netns 2>/dev/null; } >"$d/netns"
    stat -c '%A %U %G %t:%T %i' /dev/net/tun >"$d/tun"
    findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS >"$d/mounts"
    (cd /etc && find . -xdev -printf '%p %y %m %U %G %s %T@ %l\n' | LC_ALL=C sort) >"$d/etc-meta"
    (cd /etc && find . -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) \
        >"$d/etc-sha256"
    find /run -mindepth 1 -maxdepth 1 -printf '%p %y %m %U\n' | LC_ALL=C sort >"$d/run"
    # Only the machine's own PID namespace: a suite's test users live in that
    # suite's PID namespace and die with it, and another run of the suite at
    # the same time (tests/run next to tests/run --sanitize) must not count.
    tb_user_procs | while read -r pid; do
        [[ $(readlink "/proc/$pid/ns/pid" 2>/dev/null) == "$(readlink /proc/self/ns/pid)" ]] &&
            echo "$pid"
    done >"$d/procs"
    ip -j addr >"$d/addrs.json"
    ip -j route show table all >"$d/routes4.json"
    ip -6 -j route show table all >"$d/routes6.json"
    cp /etc/resolv.conf "$d/resolv.conf" 2>/dev/null || : >"$d/resolv.conf"
}

# tb_host_compare BEFORE AFTER: one result per part of the machine's state.
tb_host_compare()
{
    local b=$1 a=$2 part what
    local parts=(
        "links:network links"
        "addrs:addresses"
        "routes:routes (IPv4 and IPv6, all tables)"
        "rules:routing rules"
        "nft:nft ruleset"
        "sysctl:forwarding, rp_filter and IPv6 sysctls"
        "netns:ip netns list and /run/netns"
        "tun:/dev/net/tun (mode, owner, device)"
        "mounts:mount table"
        "run:top of /run"
        "etc-meta:/etc names, modes, owners, sizes and times"
        "etc-sha256:/etc contents"
        "procs:processes of the test users (none)"
    )

    for part in "${parts[@]}"; do
        what=${part#*:} part=${part%%:*}
        if cmp -s "$b/$part" "$a/$part"; then
            tb_ok "the machine's $what: unchanged"
        else
            tb_not_ok "the machine's $what: unchanged"
            tb_diag "$(diff "$b/$part" "$a/$part" | head -n 20)"
        fi
    done
}
