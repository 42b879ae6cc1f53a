#!/bin/bash
# Test 27: --publish. A named sandbox's app namespace appears to root's tools
# as /run/netns/nsjv-UID-NAME (ip netns exec shows lo and the tunnel), and is
# gone after stop; a name taken in /run/netns is refused before anything
# starts; a launcher killed with SIGKILL leaves the entry, and the next ls
# removes it (the namespace then goes), as does the next start of that name;
# --publish of a running sandbox's name says it is running; stop removes the
# entry after the policy stopped allowing publishing; without "publish yes" in the policy
# it is refused and nothing remains; the helper's publish and unpublish
# refuse what is not the caller's.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 27-publish
tb_topology_up

cp -p "$TB_POLICY" "$TB_T/policy.orig"
tb_on_exit 'cp -p "$TB_T/policy.orig" "$TB_POLICY"'
printf 'publish yes\nallow-user %s\n' "$TB_USER2" >>"$TB_POLICY"
# Each `ip netns exec laptop` command runs in a mount namespace of its own, where a
# published entry would die with its launcher. On a real host every process shares one:
# here the mount namespace of a process held in laptop plays it, for the users' launchers
# and helpers (TB_HOST_MNT) and for root's tools (as_host).
tb_spawn host-mnt laptop sleep 3600
TB_HOST_MNT=$(tb_pid_of host-mnt)
own_mnt() { [[ $(readlink "/proc/$TB_HOST_MNT/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]]; }
tb_wait 5 own_mnt || tb_die "the host's mount namespace holder did not start"
as_host() { nsenter -t "$TB_HOST_MNT" -m -n -- "$@"; }
entry() { echo "nsjv-$TB_UID1-$1"; }
# published NAME: the entry is a namespace mounted there, in the host's mount namespace.
published() { [[ $(as_host stat -f -c %T "/run/netns/$(entry "$1")" 2>/dev/null) == nsfs ]]; }
unpublished() { [[ ! -e /run/netns/$(entry "$1") && ! -L /run/netns/$(entry "$1") ]]; }
user_ls() { tb_as "$TB_USER1" "$TB_LAUNCHER" ls "$@"; }

# ---- published while it runs, gone after stop
tb_launch pub "$TB_USER1" --name pub --keep --publish --vpn "$TB/client/full.ovpn" -- \
    sh -c 'echo started; exec sleep 600'
if tb_wait_output pub 60 '^started$'; then
    tb_check "pub: /run/netns/$(entry pub) exists" published pub
    tb_is "pub: ip netns exec $(entry pub) ip link, as root, shows lo and the tunnel" \
        "$(as_host ip netns exec "$(entry pub)" ip -o link show |
            awk -F': ' '{print $2}' | sort | tr '\n' ' ')" "lo vpn0 "
    tb_check "pub: ip netns list, as root, names it" grep -q "^$(entry pub)\b" \
        <<<"$(as_host ip netns list)"
    app=$(tb_find_desc "$TB_LPID" '^sleep 600')
    tb_is "pub: it is the app's own network namespace" \
        "$(as_host stat -L -c %i "/run/netns/$(entry pub)")" \
        "$(stat -L -c %i "/proc/$app/ns/net")"
    tb_check "pub: ls --json names it" grep -q "\"published\":\"/run/netns/$(entry pub)\"" \
        <<<"$(user_ls --json)"
    # Another user holding it open would keep the namespace (its veth, its address, its
    # place in the limits) after the sandbox ends: only root may open it.
    for who in "$TB_USER2" "$TB_USER1"; do
        tb_is "pub: $who cannot open the entry (it leads into a directory of root's alone)" \
            "$(as_host setpriv --reuid="$(id -u "$who")" --regid="$(id -g "$who")" --clear-groups \
                "$TB_PY" -c 'import errno, os, sys
try:
    os.open(sys.argv[1], os.O_RDONLY)
    print("opened")
except OSError as e:
    print(errno.errorcode[e.errno])' "/run/netns/$(entry pub)")" EACCES
    done
    tb_check "pub (control): the entry is a link root's tools follow" \
        test -L "/run/netns/$(entry pub)"
    tb_as "$TB_USER1" "$TB_LAUNCHER" stop pub >/dev/null 2>&1
    tb_wait 20 unpublished pub
    tb_check "pub: gone after stop" unpublished pub
else
    tb_not_ok "pub: the published sandbox starts"
    tb_diag_file "$TB_T/pub.out" "$TB_T/pub.err"
fi
tb_wait_exit pub 20

# ---- a name taken in /run/netns
ip netns add "$(entry dup)"
tb_on_exit "ip netns del '$(entry dup)' 2>/dev/null"
dup_before=$(stat -L -c %i "/run/netns/$(entry dup)")
tb_run dup 30 "$TB_USER1" --name dup --publish --net nat -- sh -c 'echo app-started'
tb_is "dup: refused with 125" "$TB_STATUS" 125
tb_check "dup: the error names the entry" grep -q "/run/netns/$(entry dup)' exists already" \
    "$TB_T/dup.err"
tb_is "dup: the app never started" "$(cat "$TB_T/dup.out")" ""
tb_is "dup: root's entry is untouched" "$(stat -L -c %i "/run/netns/$(entry dup)")" "$dup_before"
tb_is "dup: no sandbox entry remains" "$(user_ls | tail -n +2)" ""
tb_diag_file "$TB_T/dup.err"

# ---- the launcher killed with SIGKILL: the entry stays, the next ls removes it
tb_launch killed "$TB_USER1" --name killed --publish --net nat -- sh -c 'echo started; exec sleep 600'
if tb_wait_output killed 60 '^started$'; then
    tb_kill_pid "$TB_LPID" "$(tb_starttime "$TB_LPID")" KILL
    tb_wait 10 tb_no_user_procs
    tb_check "killed: the entry outlives the launcher" published killed
    tb_check "killed: it pins the namespace: the sandbox's host end is still there" \
        test -n "$(tb_hostlinks)"
    out=$(tb_as "$TB_USER1" "$TB_LAUNCHER" ls 2>&1)
    tb_check "killed: ls says the sandbox is gone and removes its entry" \
        grep -q "killed: removed its entry '/run/netns/$(entry killed)'" <<<"$out"
    tb_check "killed: /run/netns/$(entry killed) is gone" unpublished killed
    tb_diag "$out"
    tb_wait 10 tb_no_hostlink
    tb_is "killed: the sandbox's host end went with its namespace" "$(tb_hostlinks)" ""
else
    tb_not_ok "killed: the published sandbox starts"
    tb_diag_file "$TB_T/killed.err"
fi

# ---- the same name started again after such a kill: the stale entry goes with its state
tb_launch reuse "$TB_USER1" --name reuse --publish --net nat -- sh -c 'echo started; exec sleep 600'
if tb_wait_output reuse 60 '^started$'; then
    tb_kill_pid "$TB_LPID" "$(tb_starttime "$TB_LPID")" KILL
    tb_wait 10 tb_no_user_procs
    tb_check "reuse (control): the entry outlives the killed launcher" published reuse
    tb_check "reuse (control): and pins its namespace, host end and all" test -n "$(tb_hostlinks)"
    tb_run reuse2 30 "$TB_USER1" --name reuse --net nat -- sh -c 'echo app-started'
    tb_is "reuse: the name runs again (without --publish)" "$TB_STATUS:$(cat "$TB_T/reuse2.out")" \
        "0:app-started"
    tb_check "reuse: it says it removed the dead sandbox's entry" \
        grep -q "reuse: removed its entry '/run/netns/$(entry reuse)'" "$TB_T/reuse2.err"
    tb_check "reuse: /run/netns/$(entry reuse) is gone" unpublished reuse
    tb_wait 10 tb_no_hostlink
    tb_is "reuse: the dead sandbox's host end went with its namespace" "$(tb_hostlinks)" ""
    tb_run reuse3 30 "$TB_USER1" --name reuse --publish --net nat -- sh -c 'echo app-started'
    tb_is "reuse: and it can be published again" "$TB_STATUS:$(cat "$TB_T/reuse3.out")" \
        "0:app-started"
    tb_diag_file "$TB_T/reuse2.err" "$TB_T/reuse3.err"
else
    tb_not_ok "reuse: the published sandbox starts"
    tb_diag_file "$TB_T/reuse.err"
fi

# ---- a living sandbox's name with --publish: "already running", not an entry to delete
tb_launch live "$TB_USER1" --name live --keep --publish --net nat -- sh -c 'echo started; exec sleep 600'
if tb_wait_output live 60 '^started$'; then
    tb_run live2 30 "$TB_USER1" --name live --publish --net nat -- sh -c 'echo app-started'
    tb_is "live: a second start of the name is refused with 125" "$TB_STATUS" 125
    tb_check "live: it says the sandbox is already running" \
        grep -q "a sandbox named 'live' is already running" "$TB_T/live2.err"
    tb_is "live: no hint to delete the living sandbox's entry" \
        "$(grep -c 'ip netns delete' "$TB_T/live2.err")" 0
    tb_check "live: its entry is still there" published live
    tb_diag_file "$TB_T/live2.err"

    # ---- publishing taken away from the policy: stop still removes the entry
    grep -v '^publish yes$' "$TB_POLICY" >"$TB_T/policy.nopublish"
    cat "$TB_T/policy.nopublish" >"$TB_POLICY"
    tb_run livestop 30 "$TB_USER1" stop live
    tb_is "policy changed: stop succeeds" "$TB_STATUS" 0
    tb_wait_exit live 20
    tb_wait 10 unpublished live
    tb_check "policy changed: the entry is removed all the same" unpublished live
    tb_is "policy changed: no warning" \
        "$(cat "$TB_T/livestop.err" "$TB_T/live.err" | grep -c 'cannot remove')" 0
    printf 'publish yes\n' >>"$TB_POLICY"
    tb_diag_file "$TB_T/livestop.err" "$TB_T/live.err"
else
    tb_not_ok "live: the published sandbox starts"
    tb_diag_file "$TB_T/live.err"
fi

# ---- the helper itself: only the caller's entries, only valid names
hs_holder "$TB_USER1" own-netns
own=$HS_PID
hs_refused "publish ../x (not a name)" 2 "$HS_USAGE" hs_helper "$TB_USER1" "/proc/$own/ns/net" \
    publish ../x
hs_refused "publish with the host's own netns" 4 "$HS_HOST_NETNS" hs_helper "$TB_USER1" \
    /proc/self/ns/net publish x
tb_launch other "$TB_USER1" --name other --keep --publish --net nat -- sh -c 'echo started; exec sleep 600'
tb_wait_output other 60 '^started$'
hs_refused "unpublish by another user (its own name space of entries)" 3 \
    "refused: no such entry in /run/netns" hs_helper "$TB_USER2" - unpublish other
tb_check "unpublish by another user: the entry is still there" published other
printf 'not a namespace' >"/run/netns/$(entry planted)"
hs_refused "unpublish of a file root put there" 3 \
    "refused: the entry in /run/netns is not a published sandbox" hs_helper "$TB_USER1" - \
    unpublish planted
tb_is "unpublish of a file root put there: unchanged" "$(cat "/run/netns/$(entry planted)")" \
    "not a namespace"
rm -f "/run/netns/$(entry planted)"
ln -s /etc/passwd "/run/netns/$(entry link)"
passwd_before=$(stat -c '%i %s %Y' /etc/passwd)
hs_refused "unpublish of a link root put there to another file" 3 \
    "refused: the entry in /run/netns is not a published sandbox" hs_helper "$TB_USER1" - \
    unpublish link
tb_is "unpublish of a link root put there: the link and its target are untouched" \
    "$(readlink "/run/netns/$(entry link)") $(stat -c '%i %s %Y' /etc/passwd)" \
    "/etc/passwd $passwd_before"
rm -f "/run/netns/$(entry link)"
tb_as "$TB_USER1" "$TB_LAUNCHER" stop other >/dev/null 2>&1
tb_wait_exit other 20
tb_check "other: gone after stop" unpublished other

# ---- a user the policy does not know: unpublish of no entry is refused at once, even
# while the helper's lock is held (by root here), so such users cannot hold it from others
"$TB_PY" -c 'import fcntl, os, sys, time
fd = os.open("/run/nsjail-vpn-helper.lock", os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(30)' >"$TB_T/lock-holder.out" 2>&1 &
tb_register lock-holder $!
tb_wait 5 grep -q held "$TB_T/lock-holder.out"
# (a request that waited for the lock would end with "cannot lock" after 5 s instead)
hs_refused "unpublish by a user the policy does not know" 3 \
    "refused: no such entry in /run/netns" hs_helper "$TB_DEMO_USER" - unpublish x
tb_stop lock-holder

# ---- not in the policy
cp -p "$TB_T/policy.orig" "$TB_POLICY"
tb_run nopolicy 30 "$TB_USER1" --name nopol --publish --net nat -- sh -c 'echo app-started'
tb_is "no 'publish yes': refused with 125" "$TB_STATUS" 125
tb_check "no 'publish yes': the error says the policy does not permit it" \
    grep -q "the helper refused to publish the sandbox: publishing is not permitted by the helper policy" \
    "$TB_T/nopolicy.err"
tb_check "no 'publish yes': the hint names the policy key" grep -q "add 'publish yes'" \
    "$TB_T/nopolicy.err"
tb_is "no 'publish yes': the app never started" "$(cat "$TB_T/nopolicy.out")" ""
tb_check "no 'publish yes': no entry" unpublished nopol
tb_wait 10 tb_no_hostlink
tb_is "no 'publish yes': no host end remains" "$(tb_hostlinks)" ""
tb_diag_file "$TB_T/nopolicy.err"
tb_done
