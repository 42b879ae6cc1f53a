# App for test 5: says "ready", then waits; a SIGINT, SIGTERM or SIGHUP that
# reaches it is reported as "got-SIG" and ends it with status 7.
for sig in INT TERM HUP; do
    trap "echo got-$sig; exit 7" "$sig"
done
echo ready
while :; do
    sleep 0.05
done
