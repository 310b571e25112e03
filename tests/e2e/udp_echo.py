"""A UDP server for the lab: answers each datagram with '<name>:<datagram>'."""
import socket
import sys

port, name = int(sys.argv[1]), sys.argv[2].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", port))
while True:
    data, addr = s.recvfrom(2048)
    s.sendto(name + b":" + data, addr)
