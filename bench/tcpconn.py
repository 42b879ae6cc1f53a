#!/usr/bin/python3
"""New-connection latency for bench/run.

    tcpconn.py serve ADDR PORT READY_FILE
        accept loop: send one byte, wait for the client to close, close.
    tcpconn.py connect ADDR PORT COUNT [WARMUP]
        COUNT new TCP connections, one after the other; for each, the time
        from socket() to the server's first byte (SYN, SYN-ACK, ACK, accept,
        one byte back: a new connection's round trip, through any NAT on the
        way). Prints one JSON object: the times in microseconds.

The client closes first, so TIME_WAIT stays in the client's own namespace and
a later row, masqueraded to the same address, never meets an old 4-tuple on
the server.
"""
import json
import socket
import sys
import time


def serve(addr, port, ready):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(128)
    with open(ready, "w") as f:
        f.write("ready\n")
    while True:
        conn, _ = ls.accept()
        try:
            conn.settimeout(10)
            conn.sendall(b"x")
            while conn.recv(4096):
                pass
        except OSError:
            pass
        finally:
            conn.close()


def connect(addr, port, count, warmup):
    times = []
    failures = 0
    for i in range(warmup + count):
        t0 = time.perf_counter_ns()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((addr, port))
            if s.recv(1) != b"x":
                raise OSError("no byte from the server")
            t1 = time.perf_counter_ns()
            if i >= warmup:
                times.append((t1 - t0) / 1000)
        except OSError:
            failures += 1
        finally:
            s.close()
    json.dump({"times_us": times, "failures": failures}, sys.stdout)
    sys.stdout.write("\n")
    return 0 if times and not failures else 1


def main(argv):
    if len(argv) == 5 and argv[1] == "serve":
        serve(argv[2], int(argv[3]), argv[4])
        return 0
    if len(argv) in (5, 6) and argv[1] == "connect":
        return connect(argv[2], int(argv[3]), int(argv[4]),
                       int(argv[5]) if len(argv) == 6 else 0)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
