#!/usr/bin/python3
"""Run a command on a terminal of its own, as typed at a login shell, and
answer its prompts the way a user would (test 23).

usage: ptyanswer.py [--secret] PTMX OUTPUT [EXPECT ANSWER]... -- CMD...

Opens a new pty from the devpts instance whose ptmx is PTMX (a private one),
in the terminal's usual cooked mode with echo on. CMD runs as the leader of a
new session with the pty as its controlling terminal and as fds 0-2. Each
EXPECT is a regular expression waited for in what the terminal shows since the
previous answer; then ANSWER and a newline are typed. With --secret, each
answer waits (2 s at most) until the program has turned the terminal's echo
off, as a person typing a password after the prompt would find it: a program
that prints its prompt before it turns echo off would otherwise echo an
answer typed at once. Everything the terminal
shows goes to OUTPUT, with a line "<<typed N>>" where answer N was typed.
When CMD has exited (60 s at most, then it is killed), prints "status=N" (or
"signal=N", "timeout"), and "unanswered=K" if K prompts never came.
"""
import fcntl
import os
import re
import select
import signal
import struct
import sys
import termios
import time

TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441


def main(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    secret = len(argv) > 1 and argv[1] == "--secret"
    if secret:
        argv = argv[:1] + argv[2:]
    split = argv.index("--")
    ptmx, output, pairs, cmd = argv[1], argv[2], argv[3:split], argv[split + 1:]
    if len(pairs) % 2 or not cmd:
        sys.exit(__doc__)
    prompts = [(re.compile(pairs[i].encode()), pairs[i + 1].encode()) for i in range(0, len(pairs), 2)]
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)

    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            fcntl.ioctl(slave, 0x540E, 0)  # TIOCSCTTY
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.close(master)
            os.close(slave)
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    os.close(slave)

    status, out, seen, typed = None, open(output, "wb"), b"", 0
    deadline = time.monotonic() + 60
    while status is None:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            out.write(data)
            seen += data
        if typed < len(prompts) and prompts[typed][0].search(seen):
            if secret:
                until = time.monotonic() + 2
                while termios.tcgetattr(master)[3] & termios.ECHO and time.monotonic() < until:
                    time.sleep(0.01)
            out.write(b"<<typed %d>>" % (typed + 1))
            os.write(master, prompts[typed][1] + b"\n")
            typed += 1
            seen = b""
        done, wstatus = os.waitpid(pid, os.WNOHANG)
        if done:
            status = wstatus
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = "timeout"
    while select.select([master], [], [], 0.2)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        out.write(data)
    out.close()
    if status == "timeout":
        print("timeout")
    elif os.WIFEXITED(status):
        print("status=%d" % os.WEXITSTATUS(status))
    else:
        print("signal=%d" % os.WTERMSIG(status))
    if typed < len(prompts):
        print("unanswered=%d" % (len(prompts) - typed))


if __name__ == "__main__":
    main(sys.argv)
