"""A UDP server for the lab: answers each datagram with '<name>:<datagram>', from the address
the datagram was sent to (IP_PKTINFO), as a DNS server on an LVS-DR/TUN real server must: the
client expects the answer from the VIP, not from the server's own address."""
import socket
import struct
import sys

IP_PKTINFO = 8  # linux/in.h
port, name = int(sys.argv[1]), sys.argv[2].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
s.bind(("0.0.0.0", port))
while True:
    data, anc, _, addr = s.recvmsg(2048, socket.CMSG_SPACE(12))
    local = None
    for level, kind, value in anc:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            local = value[8:12]  # struct in_pktinfo: ifindex, spec_dst, addr
    reply = name + b":" + data
    if local:
        s.sendmsg([reply], [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=I4s4s", 0, local, b"\0" * 4))], 0, addr)
    else:
        s.sendto(reply, addr)
