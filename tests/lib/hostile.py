#!/usr/bin/python3
"""File descriptors and command lines for the hostile suite (tests 13-18),
run as a test user: each sets something up and execs PROG in its place.

usage:
  hostile.py fd3 socket -- PROG ARGS...      fd 3: a Unix stream socket
  hostile.py fd3 pidfd -- PROG ARGS...       fd 3: a pidfd (of this process)
  hostile.py fd3 opath PATH -- PROG ARGS...  fd 3: PATH opened with O_PATH
  hostile.py fd3 tty PTMX -- PROG ARGS...    fds 0 and 3: the same new pty
      slave, from the devpts instance whose ptmx is PTMX (a private one of
      the test, so that no pty of the machine's /dev/pts is used)
  hostile.py fd3 recv SOCKET -- PROG ARGS... fd 3: the fd that the first
      client of a Unix socket bound at SOCKET (mode 0777) sends with
      SCM_RIGHTS (waits 30 s at most)
  hostile.py send SOCKET PATH                open PATH, connect to SOCKET
      (waiting for it up to 30 s) and send the fd with SCM_RIGHTS
  hostile.py argv0 ARG0 -- PROG ARGS...      exec PROG with argv[0] ARG0
"""
import array
import fcntl
import os
import socket
import struct
import sys
import time

TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441


def split(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    i = argv.index("--")
    if i + 1 >= len(argv):
        sys.exit(__doc__)
    return argv[:i], argv[i + 1:]


def private_pty(ptmx):
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    return master, slave


def receive(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen(1)
    srv.settimeout(30)
    conn, _ = srv.accept()
    fds = array.array("i")
    _, anc, _, _ = conn.recvmsg(16, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    if len(fds) != 1:
        sys.exit("hostile.py: no fd received")
    return fds[0]


def send(path, target):
    fd = os.open(target, os.O_RDONLY)
    deadline = time.monotonic() + 30
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    s.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
    s.close()


def main(argv):
    if len(argv) >= 2 and argv[1] == "send" and len(argv) == 4:
        send(argv[2], argv[3])
        return
    if len(argv) >= 3 and argv[1] == "argv0":
        head, cmd = split(argv[3:])
        if head:
            sys.exit(__doc__)
        os.execv(cmd[0], [argv[2]] + cmd[1:])
    if len(argv) < 3 or argv[1] != "fd3":
        sys.exit(__doc__)
    head, cmd = split(argv[2:])
    kind = head[0] if head else ""
    if kind == "socket" and len(head) == 1:
        fd = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).detach()
    elif kind == "pidfd" and len(head) == 1:
        fd = os.pidfd_open(os.getpid())
    elif kind == "opath" and len(head) == 2:
        fd = os.open(head[1], os.O_PATH)
    elif kind == "tty" and len(head) == 2:
        _, fd = private_pty(head[1])  # the master stays open until the exec
        os.dup2(fd, 0)
    elif kind == "recv" and len(head) == 2:
        fd = receive(head[1])
    else:
        sys.exit(__doc__)
    if fd != 3:
        os.dup2(fd, 3)
        os.close(fd)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv)
