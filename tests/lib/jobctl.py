#!/usr/bin/python3
"""A job-control shell on a terminal of its own, for test 19: CMD runs as the
foreground job, and the terminal's Ctrl-Z reaches it as a user's would.

usage: jobctl.py PTMX OUT ERR -- CMD...

Opens a new pty from the devpts instance whose ptmx is PTMX (a private one).
This process becomes a session leader with the pty as its controlling
terminal, like a login shell; CMD runs in a process group of its own, made
the terminal's foreground group (so the group is not orphaned and the kernel
delivers the terminal's SIGTSTP to it), with the pty as stdin and OUT and ERR
as stdout and stderr. Everything written to the terminal is discarded.

It reads commands, one a line, on its own stdin:
  z     type Ctrl-Z on the terminal (write VSUSP, 0x1a, to the master)
and writes events, one a line, flushed at once, on its stdout:
  job PID               CMD started (PID: its pid)
  stopped SIG           the job stopped (waitpid WUNTRACED)
  continued             it continued
  exited N | signal N   it ended; then this process ends too (60 s at most,
                        then it kills the job and says "timeout")
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


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv):
    if len(argv) < 6 or argv[4] != "--":
        sys.exit(__doc__)
    ptmx, out, err, cmd = argv[1], argv[2], argv[3], argv[5:]
    # A session leader may not be a process group leader: fork once.
    if os.fork() != 0:
        _, status = os.wait()
        sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
    os.setsid()
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    attrs = termios.tcgetattr(slave)
    attrs[3] |= termios.ISIG  # Ctrl-Z is VSUSP (0x1a) by default
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    # A shell ignores these while it hands the terminal around.
    for sig in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_IGN)

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(w)
            os.setpgid(0, 0)
            os.read(r, 1)  # until the shell made this group the terminal's foreground
            os.close(r)
            for sig in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP):
                signal.signal(sig, signal.SIG_DFL)
            os.dup2(slave, 0)
            os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
            os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
            os.close(master)
            os.close(slave)
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    try:
        os.setpgid(pid, pid)  # as a shell does, in both (whichever runs first)
    except OSError:
        pass
    os.tcsetpgrp(slave, pid)
    os.close(w)
    os.close(r)
    say("job %d" % pid)

    deadline = time.monotonic() + 60
    inputs = [0, master]
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG | os.WUNTRACED | os.WCONTINUED)
        except ChildProcessError:
            say("exited ?")
            return
        if done:
            if os.WIFSTOPPED(status):
                say("stopped %d" % os.WSTOPSIG(status))
            elif os.WIFCONTINUED(status):
                say("continued")
            elif os.WIFEXITED(status):
                say("exited %d" % os.WEXITSTATUS(status))
                return
            else:
                say("signal %d" % os.WTERMSIG(status))
                return
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            say("timeout")
            return
        ready, _, _ = select.select(inputs, [], [], 0.05)
        if master in ready:
            try:
                os.read(master, 65536)
            except OSError:
                inputs.remove(master)
        if 0 in ready:
            line = sys.stdin.readline()
            if not line:
                inputs.remove(0)
            elif line.strip() == "z":
                os.write(master, b"\x1a")


if __name__ == "__main__":
    main(sys.argv)
