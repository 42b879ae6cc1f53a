#!/bin/bash
# Test 15: the command line. The helper takes exactly "attach", "refresh" or "--version"
# after argv[0] and nothing else: no interface name, no option, no fd number
# (fd 3 is fixed). Every other command line, with a valid namespace of the
# caller's own on fd 3, must be a usage refusal (status 2, its one fixed
# message, which quotes nothing of what was passed, no output, laptop
# unchanged): interface names and options after attach, paths, fd numbers
# (huge, negative, not numeric), repeated and unknown words, a newline in a
# word, format directives, 100 kB words and 10000 of them. argv[0] is not
# read at all: a hostile one with "attach" still succeeds (the control).
# Test 7 has no arguments, "bogus", "attach --name evil0", "attach extra"
# and an empty argv.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"
source "$TB_LIB/hostile.sh"
tb_begin 15-helper-arguments
tb_topology_up

hs_holder "$TB_USER1" own
own_net=/proc/$HS_PID/ns/net
big=$(head -c 100000 /dev/zero | tr '\0' A)
many=()
for ((i = 0; i < 10000; i++)); do
    many+=(attach)
done

usage() { hs_refused "$1" 2 "$HS_USAGE" hs_helper "$TB_USER1" "$own_net" "${@:2}"; }
usage "attach --name evil" attach --name evil
usage "attach eth0 (an interface name)" attach eth0
usage "attach nsjv0 (one of the helper's own names)" attach nsjv0
usage "attach uplink0 (laptop's uplink)" attach uplink0
usage "attach ../x (a path)" attach ../x
usage "attach /proc/self/ns/net (a path)" attach /proc/self/ns/net
usage "attach 3 (an fd number)" attach 3
usage "attach 18446744073709551616 (a huge number)" attach 18446744073709551616
usage "attach -1 (a negative number)" attach -1
usage "attach three (not a number)" attach three
usage "--fd=3 attach" --fd=3 attach
usage "--version extra" --version extra
usage "attach --version" attach --version
usage "refresh attach (two commands)" refresh attach
usage "REFRESH (case)" REFRESH
usage "attach attach (repeated)" attach attach
usage "10000 times attach" "${many[@]}"
usage "--help" --help
usage "-h" -h
usage "ATTACH (case)" ATTACH
usage "' attach' (a leading space)" " attach"
usage "'attach ' (a trailing space)" "attach "
usage "attach= (a suffix)" attach=
usage "'attach\\nattach' (a newline)" $'attach\nattach'
usage "an empty word" ""
usage "attach and an empty word" attach ""
usage "%s%n%x (format directives)" '%s%n%x%p'
usage "attach %s%n (format directives)" attach '%s%n'
usage "a 100 kB word" "$big"
usage "attach and a 100 kB word" attach "$big"
usage "attach followed by a 100 kB word of attach" attach "attach$big"

# argv[0] is never read: a hostile one changes nothing (its messages have no
# program name but the fixed "nsjail-vpn-helper: ").
with_argv0()
{
    hs_run "$TB_USER1" "$TB_PY" "$TB_LIB/hostile.py" argv0 "$1" -- "$TB_HELPER" "${@:2}" \
        3<"$own_net"
}
hs_refused "a hostile argv[0] ('%s%n\\nnsjv0 evil') with bogus" 2 "$HS_USAGE" \
    with_argv0 $'%s%n\nnsjv0 evil' bogus
hs_refused "a 100 kB argv[0] with bogus" 2 "$HS_USAGE" with_argv0 "$big" bogus

hs_run "$TB_USER1" "$TB_HELPER" --version 3<"$own_net"
tb_check "control: --version alone prints one line and exits 0" \
    test "$H_RC:$(wc -l <"$TB_T/h.out"):$(wc -c <"$TB_T/h.err")" == 0:1:0
hs_succeeds "control: a hostile argv[0] with attach" with_argv0 $'%s%n\nnsjv0 evil' attach
tb_stop own
tb_wait 10 hs_no_hostends
tb_is "control: the host end went with the caller's namespace" "$(hs_hostends)" ""
tb_done
