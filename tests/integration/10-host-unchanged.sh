#!/bin/bash
# Test 10: the machine's own network namespace, /etc and /dev/net/tun are
# unchanged after the whole suite. tests/run runs this outside the suite's
# namespaces, after they are gone, with the snapshots it took before and after:
#   bash tests/integration/10-host-unchanged.sh BEFORE_DIR AFTER_DIR
# It only compares files; it runs nothing in any namespace.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testbed.sh"

if ! (($# == 2)) || [[ ! -d $1 || ! -d $2 ]]; then
    tb_die "usage: $0 BEFORE_DIR AFTER_DIR (tests/run calls this)"
fi
TB_TEST=10-host-unchanged
tb_host_compare "$1" "$2"
exit $((TB_FAILS > 0))
