# App for test 3: requests whoami for ever, one line each:
#   "req N START_NS ok ANSWER" or "req N START_NS fail"
# START_NS is the wall clock when the request began, so the test can tell the
# requests made after the outage from those in flight.
i=0
while :; do
    i=$((i + 1))
    t=$(date +%s%N)
    if r=$(curl -sS --max-time 2 "$1" 2>/dev/null); then
        echo "req $i $t ok $r"
    else
        echo "req $i $t fail"
    fi
    sleep 0.2
done
