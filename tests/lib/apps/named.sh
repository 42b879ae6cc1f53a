# App for test 24 (named sandboxes), the first app of a sandbox or one run
# there by `nsjail-vpn exec`. usage: named.sh URL END
# Prints who and where it is, one key=value a line (its namespaces, ids,
# capability sets, no_new_privs, parent pid, working directory, NSJV_PROBE,
# what it sees of the state directory, whoami's answer for URL), then
# "ready"; then reads commands from stdin: "fetch" asks URL again
# ("again=ANSWER"), "end" (or end of input) ends it: with status END if END
# is a number, else by the signal END (kill -s END itself; 99 if it
# survives). "exiting" comes just before the end, so the test knows this app
# got that far.
url=$1 end=$2
echo "netns=$(readlink /proc/self/ns/net)"
echo "pidns=$(readlink /proc/self/ns/pid)"
echo "mntns=$(readlink /proc/self/ns/mnt)"
echo "uid=$(id -u)"
echo "gid=$(id -g)"
for key in CapEff CapPrm CapInh CapBnd CapAmb NoNewPrivs; do
    echo "$key=$(awk -v k="$key:" '$1 == k {print $2}' /proc/self/status)"
done
echo "ppid=$PPID"
echo "cwd=$PWD"
echo "probe=${NSJV_PROBE:-}"
echo "xdg=${XDG_RUNTIME_DIR:-}"
echo "state=$(ls -A "${XDG_RUNTIME_DIR:-/nonexistent}/nsjail-vpn" 2>&1 | tr '\n' ' ')"
echo "who=$(curl -sS --max-time 5 "$url" 2>/dev/null)"
echo ready
while read -r cmd; do
    case $cmd in
    fetch) echo "again=$(curl -sS --max-time 5 "$url" 2>/dev/null)" ;;
    end) break ;;
    esac
done
echo exiting
case $end in
[0-9]*) exit "$end" ;;
esac
kill -s "$end" $$
sleep 5
exit 99
