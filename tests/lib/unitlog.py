#!/usr/bin/python3
"""Turn meson's testlog.json into one TAP line per meson test.

usage: unitlog.py TESTLOG_JSON
Each meson test (one doctest program) counts as one result; a doctest program
runs all of its test cases, so one failing case fails its program. Skipped
tests are failures too: nothing here may be skipped silently.
"""
import json
import sys


def main(argv):
    results = []
    with open(argv[1]) as f:
        for line in f:
            if line.strip():
                results.append(json.loads(line))
    if not results:
        print("not ok - unit: meson defines no unit tests")
        return 1
    failed = 0
    for r in results:
        name = r.get("name", "?")
        if r.get("result") == "OK":
            print("ok - unit: %s" % name)
        else:
            failed += 1
            print("not ok - unit: %s (%s)" % (name, r.get("result")))
            for line in (r.get("stdout") or "").splitlines()[-30:]:
                print("#   " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
