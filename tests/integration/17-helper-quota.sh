#!/bin/bash
# Test 17: limits under concurrency. Each request is the helper run by a test
# user on a network namespace of its own (held by a process of that user);
# a batch starts them all at once (tests/lib/hostile.sh, hs_batch).
#  - max-per-user 3, 13 requests of one user: exactly 3 succeed, the 10
#    others are refused with "limit reached: 3 ... for this user"; the host
#    ends are the 3 printed, each with the user's uid as its group, and
#    laptop is otherwise unchanged. Once those 3 namespaces are gone (polled:
#    teardown is asynchronous), 13 requests again: exactly 3 succeed.
#  - max-sandboxes 4 with two users (max-per-user 3), 7 requests each at
#    once: exactly 4 succeed, neither user over 3, and the rest refused with
#    one of the two limit messages, "on this host" among them.
#  - a limit on an allow-user line (2) wins over max-per-user (4), which
#    still applies to a user without one; a limit on an allow-group line (1)
#    applies to its members.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 17-helper-quota
tb_topology_up

# Warm up: the table and forwarding exist, so a batch changes only host ends.
hs_holder "$TB_USER1" warm
hs_succeeds "warm-up: one request" hs_helper "$TB_USER1" "/proc/$HS_PID/ns/net" attach
tb_stop warm
tb_wait 20 hs_no_hostends || tb_die "the warm-up's host end did not go"
without_hostends() { hs_state | grep -v 'nsjv[0-9]'; }

# check_batch DESC OK REFUSED...: the last batch had OK successes and the
# refusals REFUSED ("COUNT MESSAGE" each), nothing else, and its requests did
# run concurrently.
check_batch()
{
    local desc=$1 ok=$2 want got=""
    shift 2
    want="ok $ok"$'\n'
    for r in "$@"; do
        want+="$r"$'\n'
    done
    got="ok $HS_OK"$'\n'
    while read -r n msg; do
        [[ -n $msg ]] && got+="$n $msg"$'\n'
    done < <(printf '%s' "$HS_REFUSED" | sort | uniq -c)
    if [[ $got == "$want" && ${#HS_OTHER[@]} == 0 ]] && ((HS_OVERLAP > 1)); then
        tb_ok "$desc: $ok succeed, the others refused with the limit"
        tb_diag "$HS_BATCH_MS ms, at most $HS_OVERLAP requests running at once"
    else
        tb_not_ok "$desc: $ok succeed, the others refused with the limit"
        tb_diag "expected:" "$want" "got:" "$got" "${HS_OTHER[@]}" \
            "at most $HS_OVERLAP requests running at once (more than 1 needed)"
    fi
}

# hostends_are NAMES...: laptop's host ends are exactly those these holders'
# helpers printed, each with the given group.
printed() { local n; for n in "$@"; do awk '{print $2}' "$TB_T/batch/$n.out"; done | sort; }
hostends_of() { hs_hostends | awk -v g="$1" '$2 == g {print $1}' | sort; }

# ---- max-per-user 3, 13 at once, twice
hs_policy "allow-user $TB_USER1" "allow-user $TB_USER2" "max-per-user 3"
before=$(without_hostends)
hs_batch a "$TB_USER1" 13
check_batch "max-per-user 3, 13 requests at once" 3 "10 $(hs_limit_user 3)"
first=("${HS_OK_NAMES[@]}")
tb_is "the host ends are the 3 printed, all with $TB_USER1's uid as group" \
    "$(hostends_of "$TB_UID1")" "$(printed "${first[@]}")"
tb_is "no other host end" "$(hs_hostend_count)" 3
tb_is "laptop otherwise unchanged (the refused changed nothing)" "$(without_hostends)" "$before"
hs_stop_holders "${first[@]}"
t0=$(tb_now_ms)
if tb_wait 20 hs_no_hostends; then
    tb_ok "the 3 host ends went with their namespaces ($(($(tb_now_ms) - t0)) ms)"
else
    tb_not_ok "the 3 host ends went with their namespaces"
    tb_diag "$(hs_hostends)"
fi
# The 10 refused holders again, and 3 new ones: the slots are free again.
for n in "${first[@]}"; do
    hs_holder "$TB_USER1" "$n"
done
hs_batch a "$TB_USER1" 13
check_batch "after they are gone, 13 requests at once again" 3 "10 $(hs_limit_user 3)"
hs_stop_batch a
tb_wait 20 hs_no_hostends || tb_die "host ends did not go"

# ---- max-sandboxes 4, two users, 7 each at once
hs_policy "allow-user $TB_USER1" "allow-user $TB_USER2" "max-per-user 3" "max-sandboxes 4"
hs_holder "$TB_USER1" b1-1 # holders first, so that the two batches start together
for i in $(seq 2 7); do hs_holder "$TB_USER1" "b1-$i"; done
for i in $(seq 1 7); do hs_holder "$TB_USER2" "b2-$i"; done
hs_batch b1 "$TB_USER1" 7 &
batch1=$!
hs_batch b2 "$TB_USER2" 7
wait "$batch1"
hs_tally b1 7 # it ran in a subshell
ok1=$HS_OK refused=$HS_REFUSED other=("${HS_OTHER[@]}")
hs_tally b2 7
ok2=$HS_OK refused+=$HS_REFUSED other+=("${HS_OTHER[@]}")
HS_REFUSED=$refused
user_limit=$(hs_count_refused "$(hs_limit_user 3)")
host_limit=$(hs_count_refused "$(hs_limit_host 4)")
desc="max-sandboxes 4, 7 requests of each user at once: 4 succeed, no user over 3"
if ((ok1 + ok2 == 4 && ok1 <= 3 && ok2 <= 3 && host_limit >= 1 &&
    user_limit + host_limit == 10 && ${#other[@]} == 0)); then
    tb_ok "$desc, the rest refused with a limit"
else
    tb_not_ok "$desc, the rest refused with a limit, 'on this host' among them"
fi
tb_diag "successes: $ok1 and $ok2; refused for the user: $user_limit, for the host: $host_limit" \
    "${other[@]}"
tb_is "laptop has 4 host ends" "$(hs_hostend_count)" 4
hs_stop_batch b1 b2
tb_wait 20 hs_no_hostends || tb_die "host ends did not go"

# ---- a limit on the allow-user line, and on an allow-group line
hs_policy "allow-user $TB_USER1 2" "allow-user $TB_USER2" "max-per-user 4"
hs_batch c1 "$TB_USER1" 7
check_batch "allow-user $TB_USER1 2 (max-per-user 4): 7 requests at once" 2 "5 $(hs_limit_user 2)"
hs_batch c2 "$TB_USER2" 7
check_batch "allow-user $TB_USER2 without a limit: max-per-user 4 applies" 4 "3 $(hs_limit_user 4)"
hs_stop_batch c1 c2
tb_wait 20 hs_no_hostends || tb_die "host ends did not go"
hs_policy "allow-group $TB_SUPP_GROUP 1" "max-per-user 4"
hs_batch d "$TB_USER1" 4
check_batch "allow-group $TB_SUPP_GROUP 1 ($TB_USER1 a member): 4 requests at once" 1 \
    "3 $(hs_limit_user 1)"
hs_stop_batch d
tb_wait 20 hs_no_hostends
tb_is "the host ends went with the namespaces" "$(hs_hostends)" ""
tb_done
