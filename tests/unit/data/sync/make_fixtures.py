#!/usr/bin/python3
"""IPVS sync messages built from the kernel's struct definitions (net/netfilter/ipvs/ip_vs_sync.c),
with Python's struct module and nothing of fastvs: the fixtures test_sync_proto decodes (and, for
v1_kernel.bin, encodes) byte for byte. Run it to write the .bin files beside it; each message is
described in the comment above its builder."""
import os
import socket
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# include/uapi/linux/ip_vs.h
F_MASQ, F_TUNNEL, F_DROUTE = 0x0000, 0x0002, 0x0003
F_INACTIVE, F_OUT_SEQ, F_IN_SEQ, F_TEMPLATE, F_HASHED = 0x0100, 0x0200, 0x0400, 0x1000, 0x0040
TCP_ESTABLISHED, TCP_FIN_WAIT, TCP_CLOSE_WAIT = 1, 4, 7
OPT_SEQ_DATA, OPT_PE_DATA, OPT_PE_NAME, OPT_F_PARAM = 1, 2, 3, 1 << 6


def ip4(s):
    return socket.inet_aton(s)


def ip6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def mesg_v1(syncid, entries):
    """struct ip_vs_sync_mesg (reserved, syncid, size, nr_conns, version, spare) and the entries,
    each padded to 32 bits before the next, as ip_vs_sync_conn() lays them out."""
    body = b""
    for e in entries:
        body += b"\0" * ((4 - (8 + len(body))) % 4) + e
    return struct.pack("!BBHBbH", 0, syncid, 8 + len(body), len(entries), 1, 0) + body


def sync_v4(proto, flags, state, c, cport, v, vport, d, dport, timeout, fwmark=0, opts=b""):
    """struct ip_vs_sync_v4, then its options; ver_size holds the size with them (version 0)."""
    size = 36 + len(opts)
    return struct.pack("!BBHIHHHHII4s4s4s", 0, proto, size & 0x0FFF, flags, state, cport, vport,
                       dport, fwmark, timeout, ip4(c), ip4(v), ip4(d)) + opts


def sync_v6(proto, flags, state, c, cport, v, vport, d, dport, timeout):
    size = 72
    return struct.pack("!BBHIHHHHII16s16s16s", 1, proto, size, flags, state, cport, vport, dport,
                       0, timeout, ip6(c), ip6(v), ip6(d))


def seq_opt(in_seq, out_seq):
    """IPVS_OPT_SEQ_DATA: struct ip_vs_sync_conn_options, two struct ip_vs_seq in network order."""
    return struct.pack("!BB", OPT_SEQ_DATA, 24) + struct.pack("!III", *in_seq) + \
        struct.pack("!III", *out_seq)


def opt(ptype, data):
    return struct.pack("!BB", ptype, len(data)) + data


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# v1_kernel.bin, syncid 7, as a kernel master sends it: a NAT TCP connection established with a
# sequence adjustment (62 bytes: 2 bytes of padding follow), a DR UDP connection, an inactive
# tunnel connection in FIN_WAIT, and a persistence template (client port 0).
write("v1_kernel.bin", mesg_v1(7, [
    sync_v4(6, F_MASQ | F_IN_SEQ | F_OUT_SEQ, TCP_ESTABLISHED, "172.16.254.10", 40000,
            "172.16.254.200", 80, "192.168.0.18", 8080, 900,
            opts=seq_opt((1000, 12, 0), (5000, -12 & 0xFFFFFFFF, 4))),
    sync_v4(17, F_DROUTE, 0, "172.16.254.11", 5353, "172.16.254.200", 53, "192.168.0.28", 53, 300),
    sync_v4(6, F_TUNNEL | F_INACTIVE, TCP_FIN_WAIT, "10.9.8.7", 1234, "172.16.254.200", 443,
            "10.0.0.5", 443, 120, fwmark=0),
    sync_v4(6, F_MASQ | F_TEMPLATE, 0, "172.16.254.0", 0, "172.16.254.200", 80, "192.168.0.18",
            80, 360),
]))

# v1_skips.bin, syncid 3: an IPv6 connection (skipped here: fastvs is IPv4 only), one with the
# sip engine's data and name (skipped: no engine), one with an unknown option marked optional
# (taken), one with an unknown mandatory option (skipped), one of SCTP (skipped), one in TCP
# state 11 (skipped), a template in state 11 (taken: a template's state is not checked), and a
# plain one after them all (taken).
write("v1_skips.bin", mesg_v1(3, [
    sync_v6(6, F_MASQ, TCP_ESTABLISHED, "2001:db8::10", 40000, "2001:db8::200", 80,
            "2001:db8:1::18", 80, 900),
    sync_v4(17, F_MASQ, 0, "172.16.254.12", 5060, "172.16.254.200", 5060, "192.168.0.18", 5060,
            180, opts=opt(OPT_PE_DATA, b"call-id-42") + opt(OPT_PE_NAME, b"sip")),
    sync_v4(6, F_DROUTE, TCP_ESTABLISHED, "172.16.254.13", 1000, "172.16.254.200", 80,
            "192.168.0.28", 80, 900, opts=opt(9 | OPT_F_PARAM, b"xyz")),
    sync_v4(6, F_DROUTE, TCP_ESTABLISHED, "172.16.254.14", 1000, "172.16.254.200", 80,
            "192.168.0.28", 80, 900, opts=opt(9, b"xyz")),
    sync_v4(132, F_MASQ, 1, "172.16.254.15", 1000, "172.16.254.200", 80, "192.168.0.18", 80, 60),
    sync_v4(6, F_MASQ, 11, "172.16.254.16", 1000, "172.16.254.200", 80, "192.168.0.18", 80, 60),
    sync_v4(17, F_MASQ | F_TEMPLATE, 11, "172.16.254.0", 0, "172.16.254.200", 0, "192.168.0.18",
            0, 60),
    sync_v4(6, F_MASQ, TCP_CLOSE_WAIT, "172.16.254.17", 1000, "172.16.254.200", 80,
            "192.168.0.18", 80, 60),
]))


# v0_kernel.bin, syncid 0, as a kernel with sync_version=0 (or before 2.6.39) sends it: struct
# ip_vs_sync_mesg_v0 (nr_conns, syncid, size) and struct ip_vs_sync_conn_v0 entries (no timeout,
# no fwmark); the second with the sequence options, copied in the sender's byte order
# (little-endian, x86).
def conn_v0(proto, flags, state, c, cport, v, vport, d, dport, seq=None):
    s = struct.pack("!BBHHH4s4s4sHH", 0, proto, cport, vport, dport, ip4(c), ip4(v), ip4(d),
                    flags, state)
    if seq:
        s += struct.pack("<III", *seq[0]) + struct.pack("<III", *seq[1])
    return s


body = conn_v0(6, F_MASQ | F_HASHED, TCP_ESTABLISHED, "172.16.254.10", 40001, "172.16.254.200",
               80, "192.168.0.18", 80) + \
    conn_v0(6, F_MASQ | F_IN_SEQ, TCP_ESTABLISHED, "172.16.254.10", 40002, "172.16.254.200", 21,
            "192.168.0.18", 21, seq=((77, 3, 0), (88, 0, 0)))
write("v0_kernel.bin", struct.pack("!BBH", 2, 0, 4 + len(body)) + body)
