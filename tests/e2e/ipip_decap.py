"""IPIP decapsulation in user space, for real servers on a kernel without the ipip module: IPIP
packets arrive on a raw socket (protocol 4); the inner packet is written into a TUN device that
holds the VIP, so the kernel delivers it to the local server as tunl0 would."""
import fcntl
import os
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000

tun = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TUN | IFF_NO_PI))
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
while True:
    pkt = raw.recv(65535)
    ihl = (pkt[0] & 0x0F) * 4
    os.write(tun, pkt[ihl:])
