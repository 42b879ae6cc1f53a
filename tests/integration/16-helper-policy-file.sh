#!/bin/bash
# Test 16: a policy file the helper must not trust, or cannot understand,
# refuses everyone (status 3, one fixed message, no output, laptop
# unchanged): the file group- or world-writable, a symbolic link (to a good
# root-owned file), owned by a user, in a directory owned by a user or
# writable by its group, below a directory that is a symbolic link, a FIFO, a
# directory; and malformed content of many kinds. Users are told only that
# the policy is invalid; root is told the line and why. Controls: a
# root-owned sticky directory above is trusted (documented), and the good
# policy, put back, works. Test 7 has "no policy" and one parse error.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 16-helper-policy-file
tb_topology_up

hs_holder "$TB_USER1" own
own_net=/proc/$HS_PID/ns/net
dir=$(dirname "$TB_POLICY") etc=$(dirname "$(dirname "$TB_POLICY")")
cp -p "$TB_POLICY" "$TB_T/policy.orig"
cp -p "$TB_POLICY" "$TB_T/good.conf" # in root's directories, root's, 0644
# Every case starts from the suite's own policy and directories.
restore()
{
    rm -rf "$TB_POLICY" "$dir.real"
    [[ -L $dir ]] && rm -f "$dir"
    install -d -m 0755 -o root -g root "$dir"
    chown root:root "$etc"
    chmod 0755 "$etc" "$dir"
    cp -p "$TB_T/policy.orig" "$TB_POLICY"
}
tb_on_exit restore

untrusted() { hs_refused "$1" 3 "$HS_UNTRUSTED" hs_helper "$TB_USER1" "$own_net" attach; restore; }

chmod 0664 "$TB_POLICY"
untrusted "the policy is group-writable (0664)"
chmod 0646 "$TB_POLICY"
untrusted "the policy is world-writable (0646)"
rm "$TB_POLICY" && ln -s "$TB_T/good.conf" "$TB_POLICY"
untrusted "the policy is a symbolic link to a good root-owned file"
chown "$TB_USER1" "$TB_POLICY"
untrusted "the policy is owned by $TB_USER1"
chown "root:$TB_USER1" "$TB_POLICY" && chmod 0664 "$TB_POLICY"
untrusted "the policy is writable by its group $TB_USER1"
chown "$TB_USER1" "$dir"
untrusted "the policy's directory is owned by $TB_USER1"
chmod 0775 "$etc"
untrusted "a directory above the policy is group-writable"
chmod 0777 "$etc"
untrusted "a directory above the policy is world-writable, not sticky"
mv "$dir" "$dir.real" && ln -s "$(basename "$dir").real" "$dir"
untrusted "the policy's directory is a symbolic link to a good root-owned one"
rm "$TB_POLICY" && mkfifo -m 0644 "$TB_POLICY"
untrusted "the policy is a FIFO"
rm "$TB_POLICY" && mkdir -m 0755 "$TB_POLICY"
untrusted "the policy is a directory"

# ---- content: every one refuses everyone, users learn nothing more
invalid()
{
    local desc=$1
    shift
    printf '%s\n' "$@" >"$TB_POLICY"
    hs_refused "$desc" 3 "$HS_INVALID" hs_helper "$TB_USER1" "$own_net" attach
    restore
}
base=("allow-user $TB_USER1" "pool $TB_POOL" "uplink uplink0")
invalid "an unknown key" "${base[@]}" "allow-everyone yes"
invalid "a repeated key" "${base[@]}" "max-per-user 2" "max-per-user 3"
invalid "a repeated user" "${base[@]}" "allow-user $TB_USER1"
invalid "max-per-user 0" "${base[@]}" "max-per-user 0"
invalid "max-per-user 1025" "${base[@]}" "max-per-user 1025"
invalid "max-per-user 010 (octal?)" "${base[@]}" "max-per-user 010"
invalid "max-per-user -1" "${base[@]}" "max-per-user -1"
invalid "max-sandboxes 99999999999 (overflow)" "${base[@]}" "max-sandboxes 99999999999"
invalid "an allow-user limit of 0" "allow-user $TB_USER1 0" "pool $TB_POOL" "uplink uplink0"
invalid "allow-user with four words" "allow-user $TB_USER1 2 3" "pool $TB_POOL" "uplink uplink0"
invalid "a key without a value" "${base[@]}" "forwarding"
invalid "forwarding maybe" "${base[@]}" "forwarding maybe"
invalid "a pool with host bits" "allow-user $TB_USER1" "pool 198.18.64.1/24" "uplink uplink0"
invalid "a pool of loopback" "allow-user $TB_USER1" "pool 127.0.0.0/24" "uplink uplink0"
invalid "a pool as large as /12" "allow-user $TB_USER1" "pool 198.16.0.0/12" "uplink uplink0"
invalid "no pool" "allow-user $TB_USER1" "uplink uplink0"
invalid "no uplink" "allow-user $TB_USER1" "pool $TB_POOL"
invalid "uplink lo" "${base[@]}" "uplink lo"
invalid "an uplink named like the helper's own (nsjv0)" "${base[@]}" "uplink nsjv0"
invalid "an uplink that is a path (../x)" "${base[@]}" "uplink ../x"
invalid "a user name with a slash" "${base[@]}" "allow-user ../root"
invalid "a carriage return" "${base[@]}" $'max-per-user 2\r'
invalid "an escape character" "${base[@]}" $'allow-user \e[2Jnsjvtest2'
printf '%s\n' "${base[@]}" >"$TB_POLICY" && printf 'max-per-user 2\0\n' >>"$TB_POLICY"
hs_refused "a NUL byte" 3 "$HS_INVALID" hs_helper "$TB_USER1" "$own_net" attach
restore
{ printf '%s\n' "${base[@]}"; head -c 70000 /dev/zero | tr '\0' '#'; echo; } >"$TB_POLICY"
hs_refused "a file over 64 KiB (a valid policy, then comments)" 3 "$HS_INVALID" \
    hs_helper "$TB_USER1" "$own_net" attach
restore
head -c 4096 /dev/urandom >"$TB_POLICY"
hs_refused "random bytes" 3 "$HS_INVALID" hs_helper "$TB_USER1" "$own_net" attach
restore

# Root, and only root, is told where: same file, the line and the reason.
printf '%s\n' "${base[@]}" "allow-everyone yes" >"$TB_POLICY"
as_root() { tb_in laptop env -i "$TB_HELPER" attach 3<"$own_net" >"$TB_T/h.out" 2>"$TB_T/h.err"; \
    H_RC=$?; }
hs_refused "root is told the line of an invalid policy" 3 \
    "refused: the helper policy is invalid: line 4: unknown key" as_root
restore

# ---- controls
chmod 1777 "$etc"
hs_succeeds "control: a root-owned sticky directory above the policy is trusted" \
    hs_helper "$TB_USER1" "$own_net" attach
restore
tb_stop own
tb_wait 10 hs_no_hostends
hs_holder "$TB_USER1" own2
hs_succeeds "control: the suite's policy, put back, works" \
    hs_helper "$TB_USER1" "/proc/$HS_PID/ns/net" attach
tb_stop own2
tb_wait 10 hs_no_hostends
tb_is "control: the host ends went with the namespaces" "$(hs_hostends)" ""
tb_done
