# App for test 2: what the sandbox's resolver answers, once at start and once
# after each line read from stdin (the test renames laptop's resolv.conf in
# between). Exits 42 after the last step.
probe()
{
    secret=$(getent hosts secret.vpn.test | awk '{print $1}')
    public=$(getent hosts public.test >/dev/null && echo found || echo none)
    ns=$(awk '$1 == "nameserver" {printf "%s%s", sep, $2; sep = ","}' /etc/resolv.conf)
    marker=$(grep -c nsjv-host-replaced /etc/resolv.conf)
    passwd=$(getent passwd nsjvtest1 | cut -d: -f3)
    echo "step=$1 secret=$secret public=$public ns=$ns marker=$marker passwd=$passwd"
}
probe 0
read -r _ || exit 1
probe 1
read -r _ || exit 1
probe 2
exit 42
