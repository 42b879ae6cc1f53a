#!/bin/bash
# Test 13: nothing of the caller's environment steers the helper, and nothing
# runs before its main that could read it.
#
# Poison: LD_PRELOAD, LD_AUDIT and LD_LIBRARY_PATH name a canary (a shared
# object built here from tests/fixtures/canary.c whose constructor writes a
# marker file); GCONV_PATH a gconv-modules file naming it; XTABLES_LIBDIR a
# directory with it as an xtables extension; NLSPATH, LC_ALL and LOCPATH
# paths of a poison directory; LD_DEBUG with LD_DEBUG_OUTPUT in the marker
# directory; GLIBC_TUNABLES 100 kB long (the pattern of CVE-2023-4911).
# Control first: an ordinary program (tests/fixtures/poison-victim.c), a
# libxtables user and ld.so itself, in that environment, load the canary
# through each variable, open the poison paths and read the tunables. Then the
# helper, poisoned, must behave exactly as without the poison (a usage
# refusal, a user not in the policy, a success), no marker may appear, and a
# trace of a poisoned run must not name the poison or marker directory once.
#
# Static: the installed helper imports no getenv or secure_getenv; ldd shows
# only libc, libmnl, libnftnl, the loader and the vdso; its .init_array holds
# frame_dummy and libstdc++'s eh_alloc pool only (no initialiser from
# helper/*.cpp); and before main (strace -u of a successful run) nothing is
# opened but ld.so.cache and those libraries. Each has a control that makes
# the same check fail on something else (the launcher, a doctored trace).
# The static part does not apply to the sanitizer build, whose helper links
# the sanitizer runtimes on purpose.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 13-helper-environment
command -v strace >/dev/null && command -v gcc >/dev/null || tb_die "strace and gcc are needed"
tb_topology_up

p=$TB_T/poison m=$TB_T/marks
install -d -m 0755 "$p" "$p/gconv" "$p/xt" "$p/lib" "$p/nls" "$p/locale"
install -d -m 1777 "$m"
build_canary() { gcc -shared -fPIC -O1 -DTAG="\"$1\"" -DMARKER="\"$m/$1\"" -o "$2" \
    "$TB_FIXTURES/canary.c"; }
build_canary preload "$p/canary-preload.so" &&
    build_canary audit "$p/canary-audit.so" &&
    build_canary library-path "$p/lib/libmnl.so.0" &&
    build_canary gconv "$p/gconv/CANARY.so" &&
    build_canary xtables "$p/xt/libxt_canary.so" &&
    gcc -O1 -o "$p/victim" "$TB_FIXTURES/poison-victim.c" -Wl,--no-as-needed -lmnl ||
    tb_die "cannot build the canary"
printf 'module CANARY// INTERNAL CANARY 1\nmodule INTERNAL CANARY// CANARY 1\n' \
    >"$p/gconv/gconv-modules"
chmod -R a+rX "$p"
tunables=glibc.malloc.tcache_count=3:$(printf 'glibc.malloc.mxfast=%.0s' {1..8})
tunables+=$(head -c $((100000 - ${#tunables})) /dev/zero | tr '\0' A)
POISON=(LD_PRELOAD="$p/canary-preload.so" LD_AUDIT="$p/canary-audit.so"
    LD_LIBRARY_PATH="$p/lib" LD_DEBUG=all LD_DEBUG_OUTPUT="$m/ld-debug"
    GCONV_PATH="$p/gconv" XTABLES_LIBDIR="$p/xt" NLSPATH="$p/nls/%N"
    LC_ALL="$p/locale" LOCPATH="$p/locale" GLIBC_TUNABLES="$tunables")
strace_env=()
for v in "${POISON[@]}"; do
    strace_env+=(-E "$v")
done
# traced USER TRACE [strace options] -- CMD...: CMD as USER under strace
# (-u keeps setuid semantics), started by root in laptop with an empty
# environment; the poison only ever reaches CMD.
traced()
{
    local user=$1 trace=$2
    shift 2
    tb_in laptop env -i PATH="$TB_USER_PATH" strace -u "$user" -f -o "$trace" \
        "${HS_STRACE_SAN[@]}" "$@"
}
marks() { ls -A "$m"; }
# poisoned CMD...: CMD with the poison added to the environment of tb_as_cmd.
poisoned()
{
    local rc
    TB_ENV=("${POISON[@]}")
    "$@"
    rc=$?
    TB_ENV=()
    return $rc
}

# ---- controls: the poison works on an ordinary program
traced "$TB_USER1" "$TB_T/victim.trace" "${strace_env[@]}" -- "$p/victim" \
    >"$TB_T/victim.out" 2>&1
for way in preload:LD_PRELOAD audit:LD_AUDIT library-path:LD_LIBRARY_PATH gconv:GCONV_PATH; do
    tb_check "control: an ordinary program loads the canary through ${way#*:}" \
        test -s "$m/${way%%:*}"
done
tb_check "control: it writes LD_DEBUG_OUTPUT files" compgen -G "$m/ld-debug.*"
tb_check "control: it opens a NLSPATH catalogue" grep -qF "\"$p/nls/canary\"" "$TB_T/victim.trace"
tb_check "control: it opens LOCPATH and LC_ALL locale files" grep -qF "\"$p/locale/" \
    "$TB_T/victim.trace"
poisoned tb_as "$TB_USER1" "$TB_PY" -c '
import ctypes
x = ctypes.CDLL("libxtables.so.12")
x.xtables_init()
x.xtables_set_nfproto(2)
x.xtables_find_match(b"canary", 2, None)  # XTF_TRY_LOAD' >/dev/null 2>&1
tb_check "control: libxtables loads the canary through XTABLES_LIBDIR" test -s "$m/xtables"
loader=$(ldd "$TB_HELPER" | awk '$1 ~ /^\/.*ld-linux/ {print $1}')
poisoned tb_as "$TB_USER1" "$loader" --list-tunables \
    >"$TB_T/tunables" 2>&1
tb_check "control: ld.so reads the 100 kB GLIBC_TUNABLES (tcache_count 3)" \
    grep -qx 'glibc.malloc.tcache_count: 0x3 .*' "$TB_T/tunables"
tb_diag "$(cd "$m" && head -n 2 preload audit library-path gconv xtables | cut -c1-150)"
rm -rf "${m:?}"/*

# ---- the helper, with and without the poison
# outcome: status, stdout (numbers as N) and stderr of the last call.
outcome() { echo "$H_RC|$(sed 's/[0-9]\+/N/g' "$TB_T/h.out")|$(cat "$TB_T/h.err")"; }
# same DESC CMD...: CMD (a refusal) without and with the poison must give the
# same status, stdout and stderr.
same()
{
    local desc=$1 clean dirty
    shift
    "$@"
    clean=$(outcome)
    poisoned "$@"
    dirty=$(outcome)
    tb_is "$desc: the same with and without the poison" "$dirty" "$clean"
}

hs_holder "$TB_USER1" own
own_net=/proc/$HS_PID/ns/net
hs_holder "$TB_USER2" other
other_net=/proc/$HS_PID/ns/net
poisoned hs_refused "poisoned, attach extra" 2 "$HS_USAGE" \
    hs_helper "$TB_USER1" "$own_net" attach extra
same "attach extra" hs_helper "$TB_USER1" "$own_net" attach extra
poisoned hs_refused "poisoned, $TB_USER2 (not in the policy)" 3 "$HS_NOT_PERMITTED" \
    hs_helper "$TB_USER2" "$other_net" attach
same "$TB_USER2 (not in the policy)" hs_helper "$TB_USER2" "$other_net" attach
hs_stop_holders own other
tb_wait 10 hs_no_hostends
# A success changes laptop: each run its own namespace, one after the other.
hs_holder "$TB_USER1" own1
hs_succeeds "without the poison, a valid request" \
    hs_helper "$TB_USER1" "/proc/$HS_PID/ns/net" attach
clean=$(outcome)
hs_stop_holders own1
tb_wait 10 hs_no_hostends
hs_holder "$TB_USER1" own2
poisoned hs_succeeds "poisoned, a valid request" hs_helper "$TB_USER1" "/proc/$HS_PID/ns/net" attach
tb_is "a valid request: the same with and without the poison" "$(outcome)" "$clean"
tb_check "poisoned, a valid request: the peer eth0 is in the caller's namespace" \
    tb_nsenter "$HS_PID" ip link show eth0
hs_stop_holders own2
tb_wait 10 hs_no_hostends
hs_holder "$TB_USER1" own3
traced "$TB_USER1" "$TB_T/poisoned.trace" "${strace_env[@]}" -- "$TB_HELPER" attach \
    3<"/proc/$HS_PID/ns/net" >"$TB_T/h.out" 2>"$TB_T/h.err"
H_RC=$?
tb_check "poisoned and traced: a valid request succeeds" hs_result_in "$TB_T/h.out"
hs_stop_holders own3
tb_wait 10 hs_no_hostends
if grep -qF -e "$p" -e "$m" "$TB_T/poisoned.trace"; then
    tb_not_ok "poisoned: the helper's trace never names the poison or marker directory"
    tb_diag "$(grep -F -e "$p" -e "$m" "$TB_T/poisoned.trace" | cut -c1-200)"
else
    tb_ok "poisoned: the helper's trace never names the poison or marker directory"
fi
tb_is "no canary was ever loaded into the helper, nothing written by it" "$(marks)" ""
tb_check "the loader's switch for LD_DEBUG in setuid programs, /etc/suid-debug, is absent" \
    test ! -e /etc/suid-debug

# ---- static: imports, libraries, initialisers, the start-up
if [[ -n $TB_SANITIZE ]]; then
    what="the helper's imports, libraries, initialisers, start-up"
    tb_result "ok - $TB_TEST: $what # SKIP sanitizer build: it links the sanitizer runtimes"
    tb_done
fi
imports() { nm -D --undefined-only "$1" | awk '{sub(/@.*/, "", $NF); print $NF}'; }
getenvs() { imports "$1" | grep -Ex '(__)?(secure_)?getenv'; }
tb_check_fails "the helper imports no getenv or secure_getenv" getenvs "$TB_HELPER"
tb_check "control: the launcher does import getenv (so the check can fail)" getenvs "$TB_LAUNCHER"

# libs BINARY: the names ldd gives, one a line; foreign: those outside the set.
libs() { ldd "$1" | awk '{print $1}'; }
foreign()
{
    libs "$1" | grep -Evx -e 'linux-vdso\.so\.1|libc\.so\.6|libmnl\.so\.0|libnftnl\.so\.[0-9]+' \
        -e '/lib(64)?/ld-linux[-a-z0-9_.]*\.so\.[0-9]+'
}
if [[ -z $(foreign "$TB_HELPER") ]] && libs "$TB_HELPER" | grep -qx libc.so.6; then
    tb_ok "ldd: the helper links libc, libmnl, libnftnl (and the loader, the vdso) only"
else
    tb_not_ok "ldd: the helper links libc, libmnl, libnftnl (and the loader, the vdso) only"
    tb_diag "$(ldd "$TB_HELPER")"
fi
tb_check "control: the launcher links other libraries (so the check can fail)" \
    test -n "$(foreign "$TB_LAUNCHER")"

# initialisers BINARY: "NAME FILE" for each .init_array entry.
initialisers()
{
    local a
    "$TB_PY" "$TB_LIB/startup.py" init-array "$1" | while read -r a; do
        [[ $a == [0-9a-f]* ]] || { echo "$a -"; continue; }
        addr2line -f -e "$1" "0x$a" | paste -sd ' '
    done
}
init=$(initialisers "$TB_HELPER")
others=$(awk '$1 != "frame_dummy" && $1 != "_GLOBAL__sub_I_eh_alloc.cc"' <<<"$init")
if [[ -n $init && -z $others ]] && ! grep -q '/helper/' <<<"$init"; then
    tb_ok ".init_array: frame_dummy and libstdc++'s eh_alloc pool only"
    tb_diag "$init"
else
    tb_not_ok ".init_array: frame_dummy and libstdc++'s eh_alloc pool only"
    tb_diag "${init:-(no entries resolved)}"
fi
tb_check "control: the launcher's .init_array has an initialiser of src/ (so the check can fail)" \
    grep -q '/src/.*\.cpp' <<<"$(initialisers "$TB_LAUNCHER")"

# The start-up of one successful run, traced.
mapfile -t libpaths < <(ldd "$TB_HELPER" | awk '$2 == "=>" {print $3}')
hs_holder "$TB_USER1" own4
traced "$TB_USER1" "$TB_T/plain.trace" -- "$TB_HELPER" attach 3<"/proc/$HS_PID/ns/net" \
    >"$TB_T/h.out" 2>"$TB_T/h.err"
tb_check "traced: a valid request succeeds" hs_result_in "$TB_T/h.out"
hs_stop_holders own4
tb_wait 10 hs_no_hostends
for t in plain poisoned; do
    if out=$("$TB_PY" "$TB_LIB/startup.py" premain "$TB_T/$t.trace" "${libpaths[@]}"); then
        tb_ok "$t run: before main, only ld.so.cache and the libraries are opened"
    else
        tb_not_ok "$t run: before main, only ld.so.cache and the libraries are opened"
    fi
    tb_diag "$out"
done
# Control: the same check on the trace with one more open before main.
awk '/^[0-9]+ +openat\(AT_FDCWD, "\/etc\/ld.so.cache"/ && !done {
        print $1 "   openat(AT_FDCWD, \"/etc/nsjail-vpn-test.conf\", O_RDONLY) = 4"; done = 1 } 1' \
    "$TB_T/plain.trace" >"$TB_T/doctored.trace"
tb_check_fails "control: an extra file opened before main is seen" \
    "$TB_PY" "$TB_LIB/startup.py" premain "$TB_T/doctored.trace" "${libpaths[@]}"
tb_done
