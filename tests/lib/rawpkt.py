#!/usr/bin/python3
"""Crafted packets for the isolation tests (run as root, in a test namespace).

usage:
  rawpkt.py ra IFACE PREFIX/64 [COUNT]
      send COUNT (default 3) IPv6 router advertisements out of IFACE through an
      AF_PACKET socket: source fe80:: derived from IFACE's MAC, to ff02::1, hop
      limit 255, router lifetime 1800 s, one autonomous on-link prefix. This
      works whether or not IPv6 is enabled on IFACE.
  rawpkt.py udp SRC DST PORT [COUNT [IFACE]]
      send COUNT (default 3) UDP datagrams with the given source address,
      spoofed or not, through a raw IPv4 socket (IP_HDRINCL), bound to IFACE
      when given (so the tunnel's routes cannot carry them).
  rawpkt.py dhcp IFACE DST [COUNT [TYPE]]
      send COUNT (default 3) DHCP server replies (TYPE offer, the default,
      or ack) from port 67 to DST port 68 out of IFACE, from IFACE's own
      address; DST may be 255.255.255.255. They offer 198.18.64.77 with a
      router and a DNS server of 198.18.64.1, as a rogue server would.
  rawpkt.py unreach SRC DST QSRC QSPORT QDST QDPORT [COUNT [IFACE]]
      send COUNT (default 3) ICMP errors "port unreachable" (type 3, code 3)
      from SRC, spoofed or not, to DST, quoting a UDP datagram QSRC:QSPORT ->
      QDST:QDPORT (its IP header and the 8 bytes of its UDP header), as the
      host QDST would send when nothing listens there; through a raw IPv4
      socket (IP_HDRINCL), bound to IFACE when given. QSPORT may be a range
      LOW-HIGH: one error per port, COUNT times.
"""
import fcntl
import ipaddress
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mac_of(iface):
    # SIOCGIFHWADDR asks the current network namespace; /sys/class/net would
    # show the namespace sysfs was mounted for, which nsenter -n leaves as is.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    req = fcntl.ioctl(sock, 0x8927, struct.pack("256s", iface.encode()))
    return req[18:24]


def link_local(mac):
    eui = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:6]
    return b"\xfe\x80" + b"\0" * 6 + eui


def router_advertisement(mac, prefix):
    net = ipaddress.IPv6Network(prefix)
    src = link_local(mac)
    dst = ipaddress.IPv6Address("ff02::1").packed

    # RA: type 134, cur hop limit 64, no M/O flags, router lifetime 1800 s.
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    body += struct.pack("!BB", 1, 1) + mac  # source link-layer address
    body += struct.pack("!BBBBIII", 3, 4, net.prefixlen, 0xC0, 86400, 14400, 0)
    body += net.network_address.packed

    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]

    ip6 = struct.pack("!IHBB", 0x60000000, len(body), 58, 255) + src + dst
    eth = b"\x33\x33\x00\x00\x00\x01" + mac + b"\x86\xdd"
    return eth + ip6 + body


def send_ra(iface, prefix, count):
    frame = router_advertisement(mac_of(iface), prefix)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    for _ in range(count):
        sock.send(frame)
        time.sleep(0.05)


def send_udp(src, dst, port, count, iface=None):
    payload = b"nsjail-vpn test datagram\n"
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    if iface:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    for _ in range(count):
        sock.sendto(ip + udp, (dst, 0))


def ip_header(src, dst, proto, length):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 0, 0x4000, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]


def send_unreach(src, dst, qsrc, qsport, qdst, qdport, count, iface=None):
    low, _, high = qsport.partition("-")
    ports = range(int(low), int(high or low) + 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    if iface:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    for _ in range(count):
        for port in ports:
            # The datagram as it went out: 8 bytes of UDP header and 24 of payload.
            quoted = ip_header(qsrc, qdst, 17, 20 + 8 + 24)
            quoted += struct.pack("!HHHH", port, qdport, 8 + 24, 0)
            icmp = struct.pack("!BBHI", 3, 3, 0, 0) + quoted
            icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
            sock.sendto(ip_header(src, dst, 1, 20 + len(icmp)) + icmp, (dst, 0))


def dhcp_reply(kind):
    # BOOTREPLY, Ethernet, hlen 6; xid; yiaddr 198.18.64.77; siaddr; chaddr.
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, 0x6E736A76, 0, 0x8000,
                        b"\0" * 4, socket.inet_aton("198.18.64.77"),
                        socket.inet_aton("198.18.64.1"), b"\0" * 4,
                        b"\x02\x00\x00\x00\x00\x01" + b"\0" * 10, b"\0" * 64, b"\0" * 128)
    server = socket.inet_aton("198.18.64.1")
    options = b"\x63\x82\x53\x63"  # magic cookie
    options += bytes([53, 1, 5 if kind == "ack" else 2])  # message type
    options += bytes([54, 4]) + server  # server identifier
    options += bytes([51, 4]) + struct.pack("!I", 3600)  # lease time
    options += bytes([1, 4]) + socket.inet_aton("255.255.255.0")
    options += bytes([3, 4]) + server + bytes([6, 4]) + server + b"\xff"
    return bootp + options


def send_dhcp(iface, dst, count, kind):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", 67))
    for _ in range(count):
        sock.sendto(dhcp_reply(kind), (dst, 68))


def main(argv):
    if len(argv) >= 4 and argv[1] == "ra":
        send_ra(argv[2], argv[3], int(argv[4]) if len(argv) > 4 else 3)
    elif len(argv) >= 5 and argv[1] == "udp":
        send_udp(argv[2], argv[3], int(argv[4]), int(argv[5]) if len(argv) > 5 else 3,
                 argv[6] if len(argv) > 6 else None)
    elif len(argv) >= 4 and argv[1] == "dhcp":
        send_dhcp(argv[2], argv[3], int(argv[4]) if len(argv) > 4 else 3,
                  argv[5] if len(argv) > 5 else "offer")
    elif len(argv) >= 8 and argv[1] == "unreach":
        send_unreach(argv[2], argv[3], argv[4], argv[5], argv[6], int(argv[7]),
                     int(argv[8]) if len(argv) > 8 else 3, argv[9] if len(argv) > 9 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
