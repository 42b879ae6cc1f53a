#!/usr/bin/python3
"""A small client of wireguard-go's UAPI socket (there is no wg(8) here).

  wguapi.py set SOCKET [FILE]      send FILE (or stdin): UAPI "key=value" lines
  wguapi.py setconf SOCKET FILE    a wg-quick file: its [Interface] PrivateKey,
                                   ListenPort, FwMark and every [Peer]
                                   (replacing the device's peers); the
                                   wg-quick-only keys (Address, DNS, MTU, ...)
                                   are ignored
  wguapi.py get SOCKET [KEY]       the device's state; with KEY only the values
                                   of KEY, one a line (e.g. last_handshake_time_sec)
  wguapi.py peer SOCKET PUBKEY KEY the value of KEY for the peer whose public key
                                   (base64) is PUBKEY, e.g. last_handshake_time_sec
                                   or endpoint; status 3 when there is no such peer
  wguapi.py handshake SOCKET PUBKEY that peer's last handshake in nanoseconds since
                                   the epoch (0: none yet)
  wguapi.py conf FILE KEY          the values of KEY (e.g. Address, DNS) in a
                                   wg-quick file, one a line, lists split at commas
  wguapi.py uapi FILE              what setconf would send, on stdout

Keys are base64 in wg-quick files and hex on the socket. An Endpoint with a
host name is resolved here (getaddrinfo, this namespace's resolver). Status 1
when the device answers errno other than 0, 2 on a bad file or socket.
"""
import base64
import socket
import sys

WG_QUICK_ONLY = {"address", "dns", "mtu", "table", "preup", "postup", "predown", "postdown",
                 "saveconfig"}


def fail(msg, status=2):
    print(f"wguapi: {msg}", file=sys.stderr)
    sys.exit(status)


def hexkey(b64):
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        fail(f"not a base64 WireGuard key: {b64!r}")
    return raw.hex()


def parse_conf(path):
    """[(section, [(key, value)])] of a wg-quick file, keys lower-case."""
    sections = []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    for n, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1].strip().lower(), []))
            continue
        if "=" not in line or not sections:
            fail(f"{path}:{n}: not a wg-quick line: {line!r}")
        key, value = line.split("=", 1)
        sections[-1][1].append((key.strip().lower(), value.strip()))
    return sections


def endpoint(value):
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        fail(f"bad Endpoint {value!r}")
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, int(port), socket.AF_UNSPEC, socket.SOCK_DGRAM)
    except socket.gaierror as e:
        fail(f"cannot resolve Endpoint {host!r}: {e}")
    infos.sort(key=lambda i: i[0] != socket.AF_INET)
    addr = infos[0][4]
    return f"[{addr[0]}]:{addr[1]}" if infos[0][0] == socket.AF_INET6 else f"{addr[0]}:{addr[1]}"


def to_uapi(path):
    out = []
    peers = []
    for section, items in parse_conf(path):
        if section == "interface":
            for key, value in items:
                if key == "privatekey":
                    out.append(f"private_key={hexkey(value)}")
                elif key == "listenport":
                    out.append(f"listen_port={value}")
                elif key == "fwmark":
                    out.append(f"fwmark={value}")
                elif key not in WG_QUICK_ONLY:
                    fail(f"{path}: unknown [Interface] key {key!r}")
        elif section == "peer":
            peer = []
            for key, value in items:
                if key == "publickey":
                    peer.insert(0, f"public_key={hexkey(value)}")
                elif key == "presharedkey":
                    peer.append(f"preshared_key={hexkey(value)}")
                elif key == "endpoint":
                    peer.append(f"endpoint={endpoint(value)}")
                elif key == "persistentkeepalive":
                    peer.append(f"persistent_keepalive_interval={value}")
                elif key == "allowedips":
                    peer.append("replace_allowed_ips=true")
                    peer += [f"allowed_ip={a.strip()}" for a in value.split(",") if a.strip()]
                else:
                    fail(f"{path}: unknown [Peer] key {key!r}")
            if not peer or not peer[0].startswith("public_key="):
                fail(f"{path}: a [Peer] without PublicKey")
            peers.append(peer)
        else:
            fail(f"{path}: unknown section [{section}]")
    out.append("replace_peers=true")
    for peer in peers:
        out += peer
    return out


def talk(sock_path, request):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(sock_path)
        s.sendall(request.encode())
        data = b""
        while not data.endswith(b"\n\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        fail(f"{sock_path}: {e}")
    finally:
        s.close()
    lines = data.decode().splitlines()
    errno = [l for l in lines if l.startswith("errno=")]
    if not errno:
        fail(f"{sock_path}: no errno in the answer: {data!r}")
    return [l for l in lines if l and not l.startswith("errno=")], errno[-1][6:]


def do_set(sock_path, lines):
    body = [l.strip() for l in lines if l.strip()]
    _, errno = talk(sock_path, "set=1\n" + "".join(l + "\n" for l in body) + "\n")
    if errno != "0":
        fail(f"{sock_path}: set answered errno={errno}", 1)


def peer_values(sock_path, pubkey, key):
    """The values of KEY for the peer PUBKEY (base64); status 3: no such peer."""
    lines, errno = talk(sock_path, "get=1\n\n")
    if errno != "0":
        fail(f"{sock_path}: get answered errno={errno}", 1)
    want, current, found, values = f"public_key={hexkey(pubkey)}", False, False, []
    for line in lines:
        if line.startswith("public_key="):
            current = line == want
            found = found or current
        elif current and line.partition("=")[0] == key:
            values.append(line.partition("=")[2])
    if not found:
        fail(f"no peer {pubkey}", 3)
    return values


def main(argv):
    if len(argv) < 3:
        fail(__doc__.strip())
    cmd = argv[1]
    if cmd == "set" and len(argv) in (3, 4):
        src = open(argv[3], encoding="utf-8") if len(argv) == 4 else sys.stdin
        do_set(argv[2], src.read().splitlines())
    elif cmd == "setconf" and len(argv) == 4:
        do_set(argv[2], to_uapi(argv[3]))
    elif cmd == "uapi" and len(argv) == 3:
        print("\n".join(to_uapi(argv[2])))
    elif cmd == "get" and len(argv) in (3, 4):
        lines, errno = talk(argv[2], "get=1\n\n")
        if errno != "0":
            fail(f"{argv[2]}: get answered errno={errno}", 1)
        for line in lines:
            key, _, value = line.partition("=")
            if len(argv) == 3:
                print(line)
            elif key == argv[3]:
                print(value)
    elif cmd == "peer" and len(argv) == 5:
        for value in peer_values(argv[2], argv[3], argv[4]):
            print(value)
    elif cmd == "handshake" and len(argv) == 4:
        sec = peer_values(argv[2], argv[3], "last_handshake_time_sec") or ["0"]
        nsec = peer_values(argv[2], argv[3], "last_handshake_time_nsec") or ["0"]
        print(int(sec[0]) * 1000000000 + int(nsec[0]))
    elif cmd == "conf" and len(argv) == 4:
        want = argv[3].lower()
        for _, items in parse_conf(argv[2]):
            for key, value in items:
                if key == want:
                    for v in value.split(","):
                        if v.strip():
                            print(v.strip())
    else:
        fail(__doc__.strip())


if __name__ == "__main__":
    main(sys.argv)
