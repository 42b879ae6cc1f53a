#!/bin/sh
# A minimal openconnect --script for the test bed's root clients (test 0):
# the tunnel's address, MTU and routes via ip(8), nothing else (not
# vpnc-script, which would rewrite laptop's resolv.conf). Usage:
#   openconnect ... --script "sh tests/lib/oc-script.sh LOG" --interface NAME URL
# LOG gets, for each reason, the variables openconnect passed ("reason=...",
# TUNDEV, INTERNAL_IP4_*, CISCO_SPLIT_INC*, VPNGATEWAY): the tests read the
# pushed address, resolver and routes from it, and "configured" once the
# tunnel is set up. With no split route pushed (full
# tunnel) it routes 0.0.0.0/1 and 128.0.0.0/1 into the tunnel, and the
# gateway's own address the way it went before; on disconnect it removes that
# host route (the others go with the device).
# shellcheck disable=SC2154 # reason, TUNDEV and the rest come from openconnect
log=${1:?usage: oc-script.sh LOG}

{
    echo "reason=$reason"
    env | grep -E '^(TUNDEV|VPNGATEWAY|INTERNAL_IP4_[A-Z]*|CISCO_SPLIT_INC[A-Z0-9_]*|CISCO_DEF_DOMAIN)=' |
        LC_ALL=C sort
} >>"$log"

case $reason in
connect)
    ip link set dev "$TUNDEV" up mtu "${INTERNAL_IP4_MTU:-1400}" || exit 1
    ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV" || exit 1
    n=${CISCO_SPLIT_INC:-0}
    if [ "$n" -eq 0 ]; then
        # The gateway keeps its way out; everything else goes into the tunnel.
        via=$(ip -4 route get "$VPNGATEWAY" | sed -n 's/.* via \([0-9.]*\).* dev \([^ ]*\).*/via \1 dev \2/p;q')
        [ -n "$via" ] || via=$(ip -4 route get "$VPNGATEWAY" | sed -n 's/.* dev \([^ ]*\).*/dev \1/p;q')
        # shellcheck disable=SC2086 # "via A dev B" or "dev B": words on purpose
        ip route add "$VPNGATEWAY/32" $via || exit 1
        ip route add 0.0.0.0/1 dev "$TUNDEV" || exit 1
        ip route add 128.0.0.0/1 dev "$TUNDEV" || exit 1
    else
        i=0
        while [ "$i" -lt "$n" ]; do
            eval addr=\$CISCO_SPLIT_INC_${i}_ADDR len=\$CISCO_SPLIT_INC_${i}_MASKLEN
            ip route add "$addr/$len" dev "$TUNDEV" || exit 1
            i=$((i + 1))
        done
    fi
    echo configured >>"$log"
    ;;
disconnect)
    if [ "${CISCO_SPLIT_INC:-0}" -eq 0 ] && [ -n "${VPNGATEWAY:-}" ]; then
        ip route del "$VPNGATEWAY/32" 2>/dev/null
    fi
    ;;
esac
exit 0
