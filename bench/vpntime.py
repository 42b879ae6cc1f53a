#!/usr/bin/python3
"""Where the time of a VPN start goes, for bench/run.

    vpntime.py hand N -- OPENVPN ARGS...
        Runs the OpenVPN client N times, each until it logs "Initialization
        Sequence Completed", then ends it (SIGTERM, then SIGKILL). Per run: ms
        from exec to its first log line and to that line.
    vpntime.py launcher N -- NSJAIL-VPN -v --vpn FILE -- sh -c 'echo app-started >&2'
        Runs the launcher N times, stamping each line of its stderr as it
        arrives. Per run: ms from exec to the VPN client's first log line
        ("debug: openvpn: ..."), to "connected: ..." (the tunnel is in the app's
        namespace), and to the launcher's exit; status must be 0. The client's
        last line before "connected" marks its own work done (its routes are
        set; then it runs the route-up hook and the launcher moves the tunnel);
        the app's own line "app-started" marks the app running.

Prints one JSON object: {"runs": [...], "first_log": [lines of run 1]}.
Exit status 1 when a run failed.
"""
import json
import os
import select
import signal
import subprocess
import sys
import time

TIMEOUT = 60.0


def ms(t, t0):
    return round((t - t0) * 1000, 3)


def read_lines(proc, stream, t0, until=None):
    """(stamp, line) pairs from stream until EOF, or until a line contains until."""
    lines, buf = [], b""
    fd = stream.fileno()
    deadline = t0 + TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no end within %d s" % TIMEOUT)
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        chunk = os.read(fd, 65536)
        now = time.monotonic()
        if not chunk:
            if buf:
                lines.append((now, buf.decode(errors="replace")))
            return lines
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode(errors="replace")
            lines.append((now, text))
            if until and until in text:
                return lines


def hand(cmd):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        lines = read_lines(p, p.stdout, t0, "Initialization Sequence Completed")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if not lines or "Initialization Sequence Completed" not in lines[-1][1]:
        raise RuntimeError("OpenVPN did not connect: %s" % (lines[-3:],))
    return {"first_log_ms": ms(lines[0][0], t0), "connected_ms": ms(lines[-1][0], t0)}, lines, t0


def launcher(cmd):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    lines = read_lines(p, p.stderr, t0)
    status = p.wait()
    t_exit = time.monotonic()
    first = next((t for t, l in lines if "debug: openvpn:" in l), None)
    connected = next((i for i, (t, l) in enumerate(lines)
                      if l.startswith("nsjail-vpn: connected:")), None)
    # The client's last line before "connected": its routes are set, it runs
    # the route-up hook, and the launcher moves the tunnel.
    routed = next((t for t, l in reversed(lines[:connected or 0]) if "debug: openvpn:" in l), None)
    app = next((t for t, l in lines if l == "app-started"), None)
    if status != 0 or None in (first, connected, routed, app):
        raise RuntimeError("launcher status %d, log: %s" % (status, [l for _, l in lines][-5:]))
    return {"client_first_log_ms": ms(first, t0), "client_routes_ms": ms(routed, t0),
            "connected_ms": ms(lines[connected][0], t0), "app_ms": ms(app, t0),
            "exit_ms": ms(t_exit, t0)}, lines, t0


def main(argv):
    if len(argv) < 5 or argv[1] not in ("hand", "launcher") or argv[3] != "--":
        sys.stderr.write(__doc__)
        return 2
    run = hand if argv[1] == "hand" else launcher
    out = {"runs": [], "first_log": []}
    rc = 0
    for i in range(int(argv[2])):
        try:
            result, lines, t0 = run(argv[4:])
        except (RuntimeError, TimeoutError) as e:
            out["error"] = str(e)
            rc = 1
            break
        out["runs"].append(result)
        if i == 0:
            out["first_log"] = ["%9.3f %s" % (ms(t, t0), l) for t, l in lines]
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
