#!/usr/bin/env python3
"""Resolve NAME.local over mDNS from inside the twin's network namespace; print the IPv4
address, or nothing and exit 1 when no answer came.

  mdns_query.py zeroconf IFACE_ADDR NAME   # python-zeroconf (as Home Assistant resolves):
                                           # multicast query from port 5353, multicast answer
  mdns_query.py oneshot  IFACE_ADDR NAME   # a one-shot query from an ephemeral port (RFC 6762
                                           # section 5.1, what `dig -p 5353 @224.0.0.251` does):
                                           # the responder must answer by unicast, echoing the id
"""
import os
import socket
import struct
import sys

MDNS = ("224.0.0.251", 5353)


def with_zeroconf(iface, name):
    from zeroconf import AddressResolverIPv4, Zeroconf

    zc = Zeroconf(interfaces=[iface])
    try:
        resolver = AddressResolverIPv4(name + ".")
        if resolver.request(zc, 3000):
            return resolver.parsed_addresses()
        return []
    finally:
        zc.close()


def one_shot(iface, name):
    qid = int.from_bytes(os.urandom(2), "big")
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    query = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)  # A, IN
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
    s.bind((iface, 0))
    s.settimeout(1.0)
    for _ in range(3):
        s.sendto(query, MDNS)
        try:
            while True:
                data, _ = s.recvfrom(2048)
                addrs = answers_a(data, qid, name)
                if addrs:
                    return addrs
        except socket.timeout:
            continue
    return []


def answers_a(msg, qid, name):
    """The A records for `name` in a response with id `qid` (a reader for this test only)."""
    rid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if rid != qid or not flags & 0x8000:
        return []
    pos = 12

    def read_name(pos):
        labels, jumped, end = [], False, pos
        while True:
            n = msg[pos]
            if n & 0xC0 == 0xC0:
                if not jumped:
                    end = pos + 2
                pos, jumped = ((n & 0x3F) << 8) | msg[pos + 1], True
                continue
            pos += 1
            if n == 0:
                return ".".join(labels), (end if jumped else pos)
            labels.append(msg[pos : pos + n].decode())
            pos += n

    for _ in range(qd):
        _, pos = read_name(pos)
        pos += 4
    found = []
    for _ in range(an):
        rname, pos = read_name(pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[pos : pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4 and rname.lower() == name.lower():
            found.append(socket.inet_ntoa(msg[pos : pos + 4]))
        pos += rdlen
    return found


def main():
    how, iface, name = sys.argv[1:4]
    addrs = (with_zeroconf if how == "zeroconf" else one_shot)(iface, name)
    if not addrs:
        sys.exit(1)
    print(addrs[0])


if __name__ == "__main__":
    main()
