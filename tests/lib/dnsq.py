#!/usr/bin/python3
"""Ask one DNS server for the A records of one name, without libc or nsswitch.

usage: dnsq.py SERVER NAME [TIMEOUT]
prints each address on its own line and exits 0; exits 3 on NXDOMAIN (prints
NXDOMAIN), 4 on a timeout, 5 on any other answer code or no address.
"""
import os
import socket
import struct
import sys


def query(name):
    ident = struct.unpack("!H", os.urandom(2))[0]
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    return ident, header + qname + b"\0" + struct.pack("!HH", 1, 1)


def skip_name(msg, pos):
    while True:
        length = msg[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + length


def answers(msg):
    qd, an = struct.unpack("!HH", msg[4:8])
    pos = 12
    for _ in range(qd):
        pos = skip_name(msg, pos) + 4
    for _ in range(an):
        pos = skip_name(msg, pos)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            yield socket.inet_ntoa(msg[pos:pos + 4])
        pos += rdlen


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: dnsq.py SERVER NAME [TIMEOUT]")
    server, name = argv[1], argv[2]
    timeout = float(argv[3]) if len(argv) > 3 else 2.0

    ident, packet = query(name)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    sock.sendto(packet, (server, 53))
    try:
        while True:
            msg, _ = sock.recvfrom(4096)
            if struct.unpack("!H", msg[:2])[0] == ident:
                break
    except socket.timeout:
        print("TIMEOUT")
        return 4

    rcode = struct.unpack("!H", msg[2:4])[0] & 0xF
    if rcode == 3:
        print("NXDOMAIN")
        return 3
    addrs = list(answers(msg)) if rcode == 0 else []
    if not addrs:
        print("RCODE%d" % rcode)
        return 5
    print("\n".join(addrs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
