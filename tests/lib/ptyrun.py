#!/usr/bin/python3
"""Run a command on a terminal of its own, as a login shell's job would be,
and report what it left in the terminal's input (test 12).

usage: ptyrun.py PTMX OUTPUT -- CMD...

Opens a new pty from the devpts instance whose ptmx is PTMX (a private one,
so that no pty of the machine's /dev/pts is used), with echo and canonical
mode off, so that one injected byte is readable at once and nothing the
terminal shows comes from the input. CMD runs as the leader of a new session
with the pty as its controlling terminal and as fds 0-2. Everything written
to the terminal goes to the file OUTPUT. When CMD has exited (60 s at most,
then it is killed), prints "status=N" (or "signal=N", "timeout") and
"pending=HEX", the bytes then waiting in the terminal's input, which a shell
would read next as typed by the user.
"""
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time

TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441


def main(argv):
    if len(argv) < 5 or argv[3] != "--":
        sys.exit(__doc__)
    ptmx, output, cmd = argv[1], argv[2], argv[4:]
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~(termios.ICANON | termios.ECHO)
    attrs[6][termios.VMIN] = 0
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(slave, termios.TCSANOW, attrs)

    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.close(master)
            os.close(slave)
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    status, out = None, open(output, "wb")
    deadline = time.monotonic() + 60
    while status is None:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            out.write(os.read(master, 65536))
        done, wstatus = os.waitpid(pid, os.WNOHANG)
        if done:
            status = wstatus
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = "timeout"
    while select.select([master], [], [], 0.2)[0]:  # what is still on its way
        data = os.read(master, 65536)
        if not data:
            break
        out.write(data)
    out.close()
    pending = os.read(slave, 4096)  # VMIN 0, VTIME 0: returns at once
    if status == "timeout":
        print("timeout")
    elif os.WIFEXITED(status):
        print("status=%d" % os.WEXITSTATUS(status))
    else:
        print("signal=%d" % os.WTERMSIG(status))
    print("pending=%s" % pending.hex())


if __name__ == "__main__":
    main(sys.argv)
