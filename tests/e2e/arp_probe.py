#!/usr/bin/python3
"""Who answers ARP for an address: `arp_probe.py IFACE SENDER_IP TARGET_IP [SECONDS]` sends one
ARP request (broadcast) and prints the MAC of every reply for TARGET_IP heard within SECONDS
(default 1), one per line, sorted, without duplicates. No reply: prints nothing. Run it in the
namespace of the asking host; it reads the wire itself, so the host's neighbour table is neither
used nor changed."""
import socket
import struct
import sys
import time


def mac_bytes(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def main():
    iface, sender, target = sys.argv[1:4]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    s.bind((iface, 0))
    mine = mac_bytes(iface)
    request = (b"\xff" * 6 + mine + struct.pack("!H", 0x0806) +
               struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mine + socket.inet_aton(sender) +
               b"\x00" * 6 + socket.inet_aton(target))
    s.send(request)
    seen = set()
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            frame = s.recv(2048)
        except socket.timeout:
            break
        if len(frame) < 42:
            continue
        op = struct.unpack("!H", frame[20:22])[0]
        if op == 2 and frame[28:32] == socket.inet_aton(target):
            seen.add(frame[22:28].hex(":"))
    for mac in sorted(seen):
        print(mac)


if __name__ == "__main__":
    main()
