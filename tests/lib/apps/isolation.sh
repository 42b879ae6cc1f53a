# App for test 8, in a --net nat sandbox: a control request to whoami, then
# laptop's services on its uplink address and on this sandbox's gateway (the
# host end of the veth). Exits 42 only if the control worked and neither
# service answered. usage: isolation.sh WHOAMI_URL LAPTOP_ADDR PORT
gw=$(ip -4 route show default | awk '{print $3; exit}')
control=$(curl -sS --max-time 5 "$1" 2>/dev/null)
echo "control=$control gateway=$gw"
up=$(curl -sS --max-time 3 "http://$2:$3/" 2>/dev/null)
echo "uplink_rc=$? uplink_body=$up"
hostend=$(curl -sS --max-time 3 "http://$gw:$3/" 2>/dev/null)
echo "hostend_rc=$? hostend_body=$hostend"
[ -n "$control" ] && [ -n "$gw" ] && [ -z "$up" ] && [ -z "$hostend" ] && exit 42
exit 1
