#!/usr/bin/python3
"""Holds concurrent sandboxes for bench/run, driven line by line on stdin.

    hold.py -- COMMAND...      COMMAND prints "ready" once its sandbox is up
    grow N   start COMMAND, one after the other, until N are running; answers
             "ok N ready_ms=A,B,... failed=F pids=P,Q,..." (the new ones' times
             from exec to "ready", how many starts failed and were tried again,
             and every launcher's pid), or "fail WHY" after 3 failed starts in
             a row. Each failure's reason goes to stderr.
    stop     SIGTERM to every launcher, wait; answers "ok 0" and exits

stdin at EOF counts as "stop". Only processes this program started are
signalled, by their pid.
"""
import select
import signal
import subprocess
import sys
import time

TIMEOUT = 30.0


def start(cmd):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    buf = b""
    while b"ready\n" not in buf:
        left = t0 + TIMEOUT - time.monotonic()
        r, _, _ = select.select([p.stdout], [], [], max(left, 0))
        if not r:
            p.kill()
            p.wait()
            raise RuntimeError("no 'ready' within %d s" % TIMEOUT)
        chunk = p.stdout.read1(4096)
        if not chunk:
            p.wait()
            err = p.stderr.read().decode(errors="replace").strip().replace("\n", " | ")
            raise RuntimeError("exited with %d before 'ready': %s" % (p.returncode, err))
        buf += chunk
    return p, (time.monotonic() - t0) * 1000


def stop(held):
    for p in held:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in held:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    held.clear()


def answer(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write(__doc__)
        return 2
    cmd = argv[2:]
    held = []
    # Ended from outside: still end the sandboxes (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["grow"] and len(words) == 2:
                times, failed, in_a_row = [], 0, 0
                while len(held) < int(words[1]) and in_a_row < 3:
                    try:
                        p, t = start(cmd)
                    except RuntimeError as e:
                        failed += 1
                        in_a_row += 1
                        sys.stderr.write("sandbox %d: %s\n" % (len(held) + 1, e))
                        sys.stderr.flush()
                        continue
                    in_a_row = 0
                    held.append(p)
                    times.append(t)
                if in_a_row == 3:
                    answer("fail sandbox %d did not start 3 times in a row" % (len(held) + 1))
                    continue
                answer("ok %d ready_ms=%s failed=%d pids=%s" % (
                    len(held), ",".join("%.3f" % t for t in times), failed,
                    ",".join(str(p.pid) for p in held)))
            elif words == ["stop"]:
                break
            else:
                answer("fail unknown command %r" % line.strip())
    finally:
        stop(held)
    answer("ok 0")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
