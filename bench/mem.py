#!/usr/bin/python3
"""Memory of processes, for bench/run.

    mem.py LABEL=PID...   one JSON object: {"LABEL": {"pid", "comm", "hwm_kb", "rss_kb", "pss_kb"}}

VmHWM and VmRSS from /proc/PID/status (peak and current resident set, shared
pages counted in full); Pss from /proc/PID/smaps_rollup (shared pages divided
among the processes that map them: what one more sandbox adds).
"""
import json
import sys


def field(path, name):
    with open(path) as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return None


def main(argv):
    out = {}
    for arg in argv[1:]:
        label, _, pid = arg.rpartition("=")
        label = label or pid
        try:
            with open("/proc/%s/comm" % pid) as f:
                comm = f.read().strip()
            out[label] = {"pid": int(pid), "comm": comm,
                          "hwm_kb": field("/proc/%s/status" % pid, "VmHWM"),
                          "rss_kb": field("/proc/%s/status" % pid, "VmRSS"),
                          "pss_kb": field("/proc/%s/smaps_rollup" % pid, "Pss")}
        except OSError as e:
            out[label] = {"pid": pid, "error": str(e)}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0 if all("error" not in v for v in out.values()) and out else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
