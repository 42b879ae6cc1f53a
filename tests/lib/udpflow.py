#!/usr/bin/python3
"""A UDP flow and its far end, for test 19 (ICMP errors forged into a flow).

usage:
  udpflow.py client DST PORT TAG
      a connected UDP socket to DST:PORT; prints "port=N" (its local port),
      then sends "TAG N" every 0.2 s (N counting up) for 280 s and reports,
      one line each, flushed at once: "refused=N" (the N-th ECONNREFUSED, from
      an ICMP port unreachable quoting this flow) and "reply=DATA" (a datagram
      from DST:PORT). Other socket errors: "error=NAME".
  udpflow.py server ADDR PORT ECHO_FLAG
      binds ADDR:PORT, prints "ready", then one line per datagram,
      "from=SRC:SPORT data=DATA", and sends it back while the file ECHO_FLAG
      exists (otherwise it answers nothing: no ICMP error either, as the port
      is open).
The client's code travels on its command line (python3 -c), so it also runs
in a sandbox where nothing of the test bed is visible.
"""
import errno
import os
import select
import socket
import sys
import time


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def client(dst, port, tag):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((dst, port))
    say("port=%d" % s.getsockname()[1])
    refused, n, end = 0, 0, time.monotonic() + 280
    next_send = time.monotonic()
    while time.monotonic() < end:
        try:
            if time.monotonic() >= next_send:
                s.send(("%s %d" % (tag, n)).encode())
                n += 1
                next_send = time.monotonic() + 0.2
            if select.select([s], [], [], 0.05)[0]:
                say("reply=%s" % s.recv(4096).decode(errors="replace"))
        except ConnectionRefusedError:
            refused += 1
            say("refused=%d" % refused)
        except OSError as e:
            say("error=%s" % errno.errorcode.get(e.errno, str(e.errno)))
            time.sleep(0.05)


def server(addr, port, flag):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    say("ready")
    while True:
        data, src = s.recvfrom(4096)
        say("from=%s:%d data=%s" % (src[0], src[1], data.decode(errors="replace")))
        if os.path.exists(flag):
            s.sendto(data, src)


def main(argv):
    if len(argv) == 5 and argv[1] == "client":
        client(argv[2], int(argv[3]), argv[4])
    elif len(argv) == 5 and argv[1] == "server":
        server(argv[2], int(argv[3]), argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
