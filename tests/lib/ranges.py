#!/usr/bin/python3
"""Refuse test ranges that overlap the machine's own addresses, routes or resolvers.

usage: ranges.py --addrs ADDR_JSON [--routes ROUTE_JSON]... [--resolv FILE] CIDR...
ADDR_JSON is `ip -j addr` output and each ROUTE_JSON `ip -j [-6] route show
table all` output, all taken in the machine's own network namespace; FILE is
the machine's resolv.conf. Default routes are allowed (they "cover" every
range); any other overlap is printed and makes the exit status 1.
"""
import argparse
import ipaddress
import json
import sys


def addresses(name):
    with open(name) as f:
        for link in json.load(f):
            for a in link.get("addr_info", []):
                net = ipaddress.ip_network("%s/%s" % (a["local"], a["prefixlen"]), strict=False)
                yield "address %s/%s on %s" % (a["local"], a["prefixlen"], link["ifname"]), net


def routes(name):
    with open(name) as f:
        for r in json.load(f):
            dst = r.get("dst", "default")
            if dst != "default":
                net = ipaddress.ip_network(dst, strict=False)
                yield "route %s (table %s)" % (dst, r.get("table", "main")), net
            if "gateway" in r:
                yield "gateway %s" % r["gateway"], ipaddress.ip_network(r["gateway"])


def resolvers(name):
    with open(name) as f:
        for line in f:
            words = line.split()
            if len(words) >= 2 and words[0] == "nameserver":
                addr = words[1].split("%")[0]
                yield "nameserver %s" % addr, ipaddress.ip_network(addr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--addrs", required=True)
    parser.add_argument("--routes", action="append", default=[])
    parser.add_argument("--resolv")
    parser.add_argument("cidrs", nargs="+")
    args = parser.parse_args()

    machine = list(addresses(args.addrs))
    for name in args.routes:
        machine += routes(name)
    if args.resolv:
        machine += resolvers(args.resolv)

    bad = 0
    for cidr in args.cidrs:
        mine = ipaddress.ip_network(cidr)
        for what, net in machine:
            if mine.version == net.version and mine.overlaps(net):
                print("test range %s overlaps the machine's %s" % (mine, what))
                bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
