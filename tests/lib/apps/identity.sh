# App for test 4: who and where it is, one key=value a line. Exits 42 at the
# end, so the test knows every line was written by the app itself.
# usage: identity.sh FILE  (FILE readable only through a supplementary group)
echo "uid=$(id -u)"
echo "gid=$(id -g)"
echo "supp=$(cat "$1" 2>&1)"
for key in CapEff CapPrm CapAmb NoNewPrivs; do
    echo "$key=$(awk -v k="$key:" '$1 == k {print $2}' /proc/self/status)"
done
echo "links=$(ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort | tr '\n' ' ')"
echo "tuns=$(ip -d -o link show | grep -c ' tun type tun ')"
echo "inet6=$(ip -6 -o addr show | wc -l)"
echo "cwd=$PWD"
echo "probe=${NSJV_PROBE:-}"
exit 42
