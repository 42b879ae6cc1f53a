#!/usr/bin/python3
"""What a program does before main, for test 13.

usage:
  startup.py init-array BINARY
      print the addresses (hex) of the .init_array entries of BINARY (ELF,
      64-bit little-endian), one a line: the relocated values of a PIE
      (R_*_RELATIVE addends in .rela.dyn), else the section's contents.
      Prints "preinit_array" or "ctors" first if BINARY has such a section.
  startup.py premain TRACE LIBRARY...
      TRACE is `strace -f` output of one run of the helper. Its start-up part
      runs from the first execve to main's first syscall, the fcntl(0,
      F_GETFD) of sanitize() (the one followed, after fds 1 and 2, by
      setitimer). In that part, every file opened must be /etc/ld.so.cache
      or one of the LIBRARY paths, and every other path named must be the
      loader's own (/etc/ld.so.preload, /etc/suid-debug) or the program.
      Prints each violation and exits 1; exits 2 if the start of main is not
      found.
"""
import re
import struct
import sys

RELATIVE = {8, 1027, 23}  # R_X86_64_RELATIVE, R_AARCH64_RELATIVE, R_386/ARM_RELATIVE


def sections(data):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit("startup.py: not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    heads = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = heads[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    out = {}
    for h in heads:
        name = names[h[0]:names.index(b"\0", h[0])].decode()
        out[name] = {"type": h[1], "addr": h[3], "offset": h[4], "size": h[5]}
    return out


def init_array(path):
    data = open(path, "rb").read()
    secs = sections(data)
    for extra in (".preinit_array", ".ctors"):
        if extra in secs and secs[extra]["size"]:
            print(extra.lstrip("."))
    ia = secs.get(".init_array")
    if not ia:
        return
    lo, hi = ia["addr"], ia["addr"] + ia["size"]
    relocated = {}
    for name, s in secs.items():
        if s["type"] != 4:  # SHT_RELA
            continue
        for off in range(s["offset"], s["offset"] + s["size"], 24):
            r_offset, r_info, r_addend = struct.unpack_from("<QQq", data, off)
            if lo <= r_offset < hi and (r_info & 0xFFFFFFFF) in RELATIVE:
                relocated[r_offset] = r_addend
    for i in range(0, ia["size"], 8):
        raw, = struct.unpack_from("<Q", data, ia["offset"] + i)
        print("%x" % relocated.get(lo + i, raw))


SYSCALL = re.compile(r"^(?:\d+ +)?([a-z_0-9]+)\((.*)$")
PATH = re.compile(r'"(/[^"]*)"')
OPENS = {"open", "openat", "openat2", "creat", "open_by_handle_at", "name_to_handle_at"}
LOADER = {"/etc/ld.so.preload", "/etc/suid-debug"}


def premain(trace, libraries):
    lines = open(trace, errors="replace").read().splitlines()
    calls = []
    for line in lines:
        m = SYSCALL.match(line)
        if m:
            calls.append((m.group(1), m.group(2), line))
    start = next((i for i, c in enumerate(calls) if c[0] == "execve"), None)
    main = None
    for i, (name, args, _) in enumerate(calls):
        if (name == "fcntl" and args.startswith("0, F_GETFD") and
                [c[0] for c in calls[i + 1:i + 4]] == ["fcntl", "fcntl", "setitimer"]):
            main = i
            break
    if start is None or main is None:
        print("the start of main (fcntl(0, F_GETFD), fds 1 and 2, setitimer) is not in the trace")
        sys.exit(2)
    program = PATH.search(calls[start][1])
    allowed_open = {"/etc/ld.so.cache"} | set(libraries)
    allowed_path = LOADER | allowed_open | ({program.group(1)} if program else set())
    bad = []
    for name, args, line in calls[start + 1:main]:
        for path in PATH.findall(args):
            if (name in OPENS and path not in allowed_open) or path not in allowed_path:
                bad.append(line)
                break
    print("%d syscalls before main, %d not the loader's" % (main - start - 1, len(bad)))
    for line in bad:
        print(line[:300])
    sys.exit(1 if bad else 0)


def main(argv):
    if len(argv) == 3 and argv[1] == "init-array":
        init_array(argv[2])
    elif len(argv) >= 3 and argv[1] == "premain":
        premain(argv[2], argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
