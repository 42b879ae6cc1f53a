#!/usr/bin/python3
"""A UDP detector for test 8: listens on every ADDR:PORT given (0.0.0.0:68 is
where a DHCP client waits for offers) and writes one line per datagram,
"SRC:SPORT -> PORT LEN", flushed at once.

usage: udpsink.py --ready FILE ADDR:PORT [ADDR:PORT ...]

Every socket is bound before FILE is written, so a test waits for FILE.
"""
import select
import socket
import sys


def main(argv):
    if len(argv) < 4 or argv[1] != "--ready":
        sys.exit(__doc__)
    socks = {}
    for bind in argv[3:]:
        addr, _, port = bind.rpartition(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.bind((addr, int(port)))
        socks[s] = int(port)
    with open(argv[2], "w") as f:
        f.write("ready\n")
    while True:
        for s in select.select(list(socks), [], [])[0]:
            data, (src, sport) = s.recvfrom(65536)
            print("%s:%d -> %d %d" % (src, sport, socks[s], len(data)), flush=True)


if __name__ == "__main__":
    main(sys.argv)
