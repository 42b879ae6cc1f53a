# App for test 1, run inside the sandbox by sh -c (so no file of the test bed
# needs to be visible in there). usage: fetch.sh EXPECTED URL...
# One line per URL: "fetch URL rc=CURL_STATUS body=ANSWER"; then how many
# catch-all routes the app has (default, or OpenVPN's def1 pair 0.0.0.0/1 and
# 128.0.0.0/1) and its IPv4 routes. Exits 42 (the sentinel) only if the first
# URL answered EXPECTED.
expected=$1
shift
first=
for url in "$@"; do
    body=$(curl -sS --max-time 5 "$url" 2>/dev/null)
    rc=$?
    echo "fetch $url rc=$rc body=$body"
    [ -n "$first" ] || first="$body"
done
echo "catchall_routes=$(ip -4 route show | grep -Ec '^(default|0\.0\.0\.0/1|128\.0\.0\.0/1) ')"
ip -4 route show | sed 's/^/route /'
[ "$first" = "$expected" ] && exit 42
exit 1
