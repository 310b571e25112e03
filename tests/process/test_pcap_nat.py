#!/usr/bin/python3
"""fastvsd as a process on net_pcap ports: input written by scapy, output checked by scapy.

The checker is independent of fastvsd: scapy rebuilds every packet with its checksums deleted
and compares, and each rewritten field is checked against what the IPVS semantics predict
(rr over the kernel's list order, TTL - 1, port mapping, UDP checksum 0 kept).
"""
import collections
import ipaddress
import os
import shutil
import socket
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, wait_for  # noqa: E402

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, Raw, defragment, fragment,  # noqa: E402
                       rdpcap, wrpcap)
from scapy.utils import checksum  # noqa: E402
from scapy.layers.inet import IPerror, TCPerror, UDPerror  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402

PORT_MAC = ["02:70:63:61:70:00", "02:70:63:61:70:01"]  # net_pcap's MACs, by device index
CLIENT_MAC = "c0:00:00:00:00:0a"
RS_MAC = {"192.168.0.18": "aa:00:00:00:00:18", "192.168.0.28": "aa:00:00:00:00:28"}
VIP, DIP = "172.16.254.200", "192.168.0.8"
CLIENTS = [f"172.16.254.{10 + i}" for i in range(8)]


def config(one_arm):
    rs_dev = "dpdk0" if one_arm else "dpdk1"
    lines = [f"ip addr add {VIP}/24 dev dpdk0", f"ip addr add {DIP}/24 dev {rs_dev}"]
    lines += [f"ip neigh add {c} lladdr {CLIENT_MAC} dev dpdk0" for c in CLIENTS]
    lines += [f"ip neigh add {ip} lladdr {mac} dev {rs_dev}" for ip, mac in RS_MAC.items()]
    lines += [
        f"-A -t {VIP}:80 -s rr",
        f"-a -t {VIP}:80 -r 192.168.0.18:8080 -m",
        f"-a -t {VIP}:80 -r 192.168.0.28:8080 -m",
        f"-A -u {VIP}:53 -s rr",
        f"-a -u {VIP}:53 -r 192.168.0.18:53 -m",
        f"-a -u {VIP}:53 -r 192.168.0.28:53 -m",
    ]
    return "\n".join(lines) + "\n"


def owner_of(cip, nworkers):
    """dataplane/steer.h: (fib(CIP in host order) * nworkers) >> 32; an IPv6 CIP by the xor of
    its four 32-bit words (ip6_fold, IPVS's fold of an IPv6 address)."""
    a = ipaddress.ip_address(cip)
    if a.version == 6:
        b = a.packed
        v = 0
        for i in range(0, 16, 4):
            v ^= int.from_bytes(b[i:i + 4], "big")
    else:
        v = int(a)
    h = (v * 2654435761) & 0xffffffff
    return (h * nworkers) >> 32


VIP6 = "2001:db8:fe::200"
RS6_MAC = {"2001:db8:fe::18": "aa:00:00:00:00:18", "2001:db8:fe::28": "aa:00:00:00:00:28"}
CLIENTS6 = [f"2001:db8:fe::{0x10 + i:x}" for i in range(8)]


def config6():
    """One arm, IPv6: a NAT66 service on dpdk0, its clients and real servers on the link."""
    lines = [f"ip addr add {VIP6}/64 dev dpdk0"]
    lines += [f"ip neigh add {c} lladdr {CLIENT_MAC} dev dpdk0" for c in CLIENTS6]
    lines += [f"ip neigh add {ip} lladdr {mac} dev dpdk0" for ip, mac in RS6_MAC.items()]
    lines += [f"-A -t [{VIP6}]:80 -s rr",
              f"-a -t [{VIP6}]:80 -r [2001:db8:fe::18]:8080 -m",
              f"-a -t [{VIP6}]:80 -r [2001:db8:fe::28]:8080 -m"]
    return "\n".join(lines) + "\n"


def checksums_ok(pkt):
    """Rebuilds the packet with every checksum recomputed by scapy and compares."""
    fresh = pkt.copy()
    del fresh[IP].chksum
    for layer in (TCP, UDP, ICMP):
        if fresh.haslayer(layer):
            if layer is UDP and pkt[UDP].chksum == 0:
                continue  # "no checksum" must stay so
            del fresh[layer].chksum
    rebuilt = Ether(bytes(fresh))
    return bytes(rebuilt) == bytes(pkt), rebuilt


def c2d(ip):
    return Ether(src=CLIENT_MAC, dst=PORT_MAC[0]) / ip


class PcapNat(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fvs-pcap-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_fastvsd(self, ports, n_in, lcores="0@0,1@1", conf=None):
        """ports: list of input packet lists, one per pcap port. Returns output per port."""
        eal = ["--lcores", lcores, "--no-huge", "-m", "256", "--no-shconf"]
        for i, pkts in enumerate(ports):
            rx = os.path.join(self.dir, f"in{i}.pcap")
            tx = os.path.join(self.dir, f"out{i}.pcap")
            wrpcap(rx, pkts)
            eal += ["--vdev", f"net_pcap{i},rx_pcap={rx},tx_pcap={tx}"]
        with open(os.path.join(self.dir, "lab.conf"), "w") as f:
            f.write(conf or config(one_arm=len(ports) == 1))
        d = Fastvsd(eal, ["--config", os.path.join(self.dir, "lab.conf"), "--conn-capacity",
                          "4096", "--idle-sleep-us", "200"], self.dir, "fvspcap")
        try:
            wait_for(lambda: d.total("rx") >= n_in, 30, f"fastvsd to take in {n_in} packets")
        finally:
            rc = d.stop()
        self.log = d.output()
        self.assertEqual(rc, 0, self.log)
        # The file written at exit holds the final counts.
        self.counters = d.counters()
        self.drops = d.drops()
        d.close()
        return [rdpcap(os.path.join(self.dir, f"out{i}.pcap")) for i in range(len(ports))]

    def conversation(self, nworkers=1):
        """Requests, replies and data of 8 clients, UDP, and garbage; with the expected output.
        Each worker runs rr on its own: the real server a flow gets depends on its owner."""
        pkts, expect = [], []
        rr = ["192.168.0.28", "192.168.0.18"]  # the kernel's list order: newest first
        turn = collections.Counter()
        for i, cip in enumerate(CLIENTS):
            w = owner_of(cip, nworkers)
            rip = rr[turn[w] % 2]
            turn[w] += 1
            cport = 40000 + i
            pkts.append(c2d(IP(src=cip, dst=VIP, ttl=64, id=i) / TCP(sport=cport, dport=80, flags="S", seq=100)))
            expect.append(("req", cip, cport, rip, 8080, 63))
            pkts.append(Ether(src=RS_MAC[rip], dst=PORT_MAC[0]) /
                        IP(src=rip, dst=cip, ttl=64) / TCP(sport=8080, dport=cport, flags="SA", seq=500, ack=101))
            expect.append(("rep", rip, 8080, cip, cport, 63))
            data = Raw(b"GET / HTTP/1.0\r\n\r\n" + bytes([i]) * i)
            pkts.append(c2d(IP(src=cip, dst=VIP, ttl=20) / TCP(sport=cport, dport=80, flags="PA", seq=101, ack=501) / data))
            expect.append(("req", cip, cport, rip, 8080, 19))
        # UDP: one datagram with a checksum, one with checksum 0.
        turn = collections.Counter()
        for i, cip in enumerate(CLIENTS[:4]):
            w = owner_of(cip, nworkers)
            rip = rr[turn[w] % 2]
            turn[w] += 1
            u = UDP(sport=5000 + i, dport=53) / Raw(b"q" * (i + 1))
            p = c2d(IP(src=cip, dst=VIP, ttl=64) / u)
            if i % 2:
                p = Ether(bytes(p))
                p[UDP].chksum = 0
            pkts.append(p)
            expect.append(("req", cip, 5000 + i, rip, 53, 63))
        # Garbage that must be dropped and counted.
        bad_ip = c2d(IP(src=CLIENTS[0], dst=VIP) / TCP(sport=1, dport=80, flags="S"))
        bad_ip = Ether(bytes(bad_ip))
        bad_ip[IP].chksum ^= 0xffff
        pkts += [bad_ip,
                 c2d(IP(src=CLIENTS[0], dst=VIP) / TCP(sport=2, dport=80, flags="A")),  # no conn
                 c2d(IP(src=CLIENTS[0], dst="172.16.254.99") / UDP(sport=1, dport=1))]  # no service
        return pkts, expect

    def check_output(self, got, want):
        kind, src, sport, dst, dport, ttl = want
        ok, rebuilt = checksums_ok(got)
        self.assertTrue(ok, f"checksums of {got.summary()}:\n{got.show(dump=True)}\nvs\n{rebuilt.show(dump=True)}")
        self.assertEqual(got[Ether].src, PORT_MAC[0])
        l4 = got[TCP] if got.haslayer(TCP) else got[UDP]
        if kind == "req":
            self.assertEqual((got[IP].src, l4.sport), (src, sport))
            self.assertEqual((got[IP].dst, l4.dport), (dst, dport))
            self.assertEqual(got[Ether].dst, RS_MAC[dst])
        else:
            self.assertEqual((got[IP].src, l4.sport), (VIP, 80))
            self.assertEqual((got[IP].dst, l4.dport), (dst, dport))
            self.assertEqual(got[Ether].dst, CLIENT_MAC)
        self.assertEqual(got[IP].ttl, ttl)

    def _matches(self, p, want):
        kind, src, sport, dst, dport, ttl = want
        l4 = p[TCP] if p.haslayer(TCP) else p[UDP]
        if kind == "req":
            return (p[IP].src, l4.sport, p[IP].dst, l4.dport, p[IP].ttl) == (src, sport, dst, dport, ttl)
        return (p[IP].src, l4.sport, p[IP].dst, l4.dport, p[IP].ttl) == (VIP, 80, dst, dport, ttl)

    def test_two_workers_hand_off_without_rss(self):
        # net_pcap has one queue: worker 0 polls it and hands worker 1 the clients it owns;
        # worker 1 has no TX queue and hands its output back. Each worker alternates rr on its
        # own, so compare what each flow became, not the order.
        pkts, expect = self.conversation(nworkers=2)
        self.assertEqual({owner_of(c, 2) for c in CLIENTS}, {0, 1})  # both workers get flows
        out = self.run_fastvsd([pkts], len(pkts), lcores="0@0,1@1,2@1")[0]
        self.assertEqual(len(out), len(expect), self.log)
        # Across workers the output may interleave: every expected packet appears exactly once.
        for want in expect:
            same = [p for p in out if self._matches(p, want)]
            self.assertEqual(len(same), 1, f"{want}: {[p.summary() for p in same]}")
        flows = {}
        for p in out:
            self.assertTrue(checksums_ok(p)[0], p.summary())
            l4 = p[TCP] if p.haslayer(TCP) else p[UDP]
            if p[IP].dst == VIP or p[IP].src == VIP:  # a reply, rewritten from the VIP
                key = (p[IP].dst, l4.dport, "tcp" if p.haslayer(TCP) else "udp")
                flows.setdefault(key, set()).add(("rep", p[IP].src, l4.sport))
            else:
                key = (p[IP].src, l4.sport, "tcp" if p.haslayer(TCP) else "udp")
                flows.setdefault(key, set()).add(("req", p[IP].dst, l4.dport))
        for (cip, cport, proto), seen in flows.items():
            reqs = {s for s in seen if s[0] == "req"}
            self.assertEqual(len(reqs), 1, f"{cip}:{cport} went to more than one RS: {seen}")
            self.assertIn(next(iter(reqs))[1], RS_MAC)
        w = self.counters["workers"]
        self.assertEqual(len(w), 2)
        self.assertGreater(w[0]["handoff_out"], 0)
        self.assertEqual(w[0]["handoff_out"], w[1]["handoff_in"])
        self.assertGreater(w[1]["nat_in"], 0)
        self.assertGreater(w[0]["nat_in"], 0)
        self.assertEqual(w[0]["nat_in"] + w[1]["nat_in"], 8 * 2 + 4)
        self.assertEqual(w[0]["nat_out"] + w[1]["nat_out"], 8)
        self.assertEqual(self.drops, {"ip_checksum": 1, "no_conn": 1, "no_service": 1})

    def test_ipv6_two_workers_hand_off(self):
        # NAT66 with two workers on one net_pcap queue: worker 0 hands worker 1 the clients whose
        # address's fold it owns (steer.h), requests and replies alike; every flow stays on one
        # real server, every rewrite is checked by scapy's own checksums.
        self.assertEqual({owner_of(c, 2) for c in CLIENTS6}, {0, 1})
        rr = ["2001:db8:fe::28", "2001:db8:fe::18"]  # the kernel's list order: newest first
        turn = collections.Counter()
        pkts, expect = [], {}
        for i, cip in enumerate(CLIENTS6):
            w = owner_of(cip, 2)
            rip = rr[turn[w] % 2]
            turn[w] += 1
            cport = 41000 + i
            expect[cport] = rip
            pkts.append(c2d(IPv6(src=cip, dst=VIP6, hlim=64) / TCP(sport=cport, dport=80, flags="S")))
            pkts.append(Ether(src=RS6_MAC[rip], dst=PORT_MAC[0]) /
                        IPv6(src=rip, dst=cip, hlim=64) / TCP(sport=8080, dport=cport, flags="SA"))
            pkts.append(c2d(IPv6(src=cip, dst=VIP6, hlim=30) /
                            TCP(sport=cport, dport=80, flags="PA") / Raw(b"GET /\r\n")))
        out = self.run_fastvsd([pkts], len(pkts), lcores="0@0,1@1,2@1", conf=config6())[0]
        self.assertEqual(len(out), len(pkts), self.log)
        to_rs = collections.defaultdict(set)
        replies = 0
        for p in out:
            fresh = Ether(bytes(p))
            del fresh[TCP].chksum
            self.assertEqual(bytes(Ether(bytes(fresh))), bytes(p), p.summary())
            if p[IPv6].src == VIP6:
                replies += 1
                self.assertEqual((p[TCP].sport, p[Ether].dst, p[IPv6].hlim), (80, CLIENT_MAC, 63))
                self.assertIn(p[IPv6].dst, CLIENTS6)
            else:
                self.assertEqual(p[TCP].dport, 8080)
                self.assertEqual(p[Ether].dst, RS6_MAC[p[IPv6].dst])
                self.assertIn(p[IPv6].hlim, (63, 29))
                to_rs[p[TCP].sport].add(p[IPv6].dst)
        self.assertEqual(replies, len(CLIENTS6))
        self.assertEqual({k: v.pop() for k, v in to_rs.items() if len(v) == 1}, expect)
        w = self.counters["workers"]
        self.assertGreater(w[0]["handoff_out"], 0)
        self.assertEqual(w[0]["handoff_out"], w[1]["handoff_in"])
        self.assertGreater(w[1]["nat_in"], 0)
        self.assertEqual(w[0]["nat_in"] + w[1]["nat_in"], 2 * len(CLIENTS6))
        self.assertEqual(w[0]["nat_out"] + w[1]["nat_out"], len(CLIENTS6))
        self.assertEqual(self.drops, {})

    def test_one_arm_tcp_udp_conversation(self):
        pkts, expect = self.conversation()
        out = self.run_fastvsd([pkts], len(pkts))[0]

        self.assertEqual(len(out), len(expect), self.log)
        for got, want in zip(out, expect):
            self.check_output(got, want)
        # UDP checksum 0 stayed 0; a computed one is valid (checked above).
        udp_out = [p for p in out if p.haslayer(UDP)]
        self.assertEqual([p[UDP].chksum == 0 for p in udp_out], [False, True, False, True])
        self.assertEqual(self.drops, {"ip_checksum": 1, "no_conn": 1, "no_service": 1})
        dests = {d["rip"]: d for d in self.counters["destinations"] if d["service"].startswith("tcp")}
        self.assertEqual(dests["192.168.0.18:8080"]["conns"], 4)
        self.assertEqual(dests["192.168.0.28:8080"]["conns"], 4)
        # A SYN_RECV/ESTABLISHED connection is active (IPVS since 4.8).
        self.assertEqual(dests["192.168.0.18:8080"]["activeconns"], 4)

    def test_two_arm_requests_leave_by_the_rs_port(self):
        pkts = []
        for i, cip in enumerate(CLIENTS):
            pkts.append(c2d(IP(src=cip, dst=VIP) / TCP(sport=41000 + i, dport=80, flags="S")))
        pkts.append(c2d(IP(src=CLIENTS[0], dst=VIP) / ICMP(type=8, id=7, seq=1) / Raw(b"ping")))
        pkts.append(Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") /
                    ARP(op=1, hwsrc=CLIENT_MAC, psrc=CLIENTS[0], pdst=VIP))
        out0, out1 = self.run_fastvsd([pkts, []], len(pkts))
        self.assertEqual(len(out1), len(CLIENTS), self.log)
        for p in out1:
            self.assertTrue(checksums_ok(p)[0])
            self.assertEqual(p[Ether].src, PORT_MAC[1])
            self.assertIn(p[IP].dst, RS_MAC)
            self.assertEqual(p[TCP].dport, 8080)
        # The echo reply and the ARP reply leave by the client port.
        kinds = sorted(p.lastlayer().name if not p.haslayer(ARP) else "ARP" for p in out0)
        self.assertEqual(len(out0), 2, [p.summary() for p in out0])
        echo = [p for p in out0 if p.haslayer(ICMP)][0]
        self.assertEqual((echo[ICMP].type, echo[IP].src, echo[IP].dst), (0, VIP, CLIENTS[0]))
        self.assertTrue(checksums_ok(echo)[0])
        arp = [p for p in out0 if p.haslayer(ARP)][0]
        self.assertEqual((arp[ARP].op, arp[ARP].psrc, arp[ARP].hwsrc, arp[ARP].pdst),
                         (2, VIP, PORT_MAC[0], CLIENTS[0]))
        del kinds

    def test_fragments_are_rewritten_and_reassemble(self):
        """UDP datagrams cut by scapy's fragment(), both ways through NAT: every fragment comes
        out rewritten (first fragment: addresses, port, UDP checksum; later ones: the IP header
        only), and what the far end reassembles is the rewritten datagram, its UDP checksum
        valid over the whole of it."""
        cip, rip = CLIENTS[0], "192.168.0.28"  # rr's first choice (the kernel's list order)
        query = IP(src=cip, dst=VIP, id=4242, ttl=64) / UDP(sport=40000, dport=53) / \
            Raw(bytes(range(256)) * 5)
        answer = IP(src=rip, dst=cip, id=777, ttl=64) / UDP(sport=53, dport=40000) / \
            Raw(b"answer" * 250)
        # As on the wire (fragment() leaves lengths and checksums to be computed).
        q_frags = [Ether(bytes(f)) for f in fragment(c2d(query), fragsize=400)]
        a_frags = [Ether(bytes(f)) for f in
                   fragment(Ether(src=RS_MAC[rip], dst=PORT_MAC[0]) / answer, fragsize=400)]
        self.assertEqual((len(q_frags), len(a_frags)), (4, 4))
        # A later fragment of a datagram whose first fragment never came.
        stray = fragment(c2d(IP(src=cip, dst=VIP, id=999) / UDP(sport=40001, dport=53) /
                             Raw(b"s" * 1000)), fragsize=400)[1]
        pkts = q_frags + a_frags + [stray]
        out = self.run_fastvsd([pkts], len(pkts))[0]

        self.assertEqual(len(out), len(q_frags) + len(a_frags), self.log)
        self.assertEqual(self.drops, {"frag_unknown": 1})
        to_rs = [p for p in out if p[IP].dst == rip]
        to_client = [p for p in out if p[IP].dst == cip]
        self.assertEqual((len(to_rs), len(to_client)), (len(q_frags), len(a_frags)))
        for sent, got in list(zip(q_frags, to_rs)) + list(zip(a_frags, to_client)):
            # The fragment's place in its datagram is unchanged; its header checksum is right.
            self.assertEqual((got[IP].id, got[IP].frag, got[IP].flags, got[IP].len, got[IP].ttl),
                             (sent[IP].id, sent[IP].frag, sent[IP].flags, sent[IP].len, 63))
            fresh = got[IP].copy()
            del fresh.chksum
            self.assertEqual(IP(bytes(fresh)).chksum, got[IP].chksum, got.summary())
            if sent[IP].frag:  # a later fragment's payload is not touched
                self.assertEqual(bytes(got[IP].payload), bytes(sent[IP].payload))
        for p in to_rs:
            self.assertEqual((p[Ether].src, p[Ether].dst, p[IP].src), (PORT_MAC[0], RS_MAC[rip], cip))
        for p in to_client:
            self.assertEqual((p[Ether].dst, p[IP].src), (CLIENT_MAC, VIP))

        def whole(frags):
            d = defragment(frags)
            self.assertEqual(len(d), 1, [p.summary() for p in d])
            return d[0]

        def udp_checksum_ok(p):
            u = bytes(p[UDP])
            pseudo = socket.inet_aton(p[IP].src) + socket.inet_aton(p[IP].dst) + \
                struct.pack("!BBH", 0, 17, len(u))
            return p[UDP].chksum != 0 and checksum(pseudo + u) == 0

        req, rep = whole(to_rs), whole(to_client)
        self.assertEqual((req[IP].src, req[IP].dst, req[UDP].sport, req[UDP].dport),
                         (cip, rip, 40000, 53))
        self.assertEqual(bytes(req[UDP].payload), bytes(query[UDP].payload))
        self.assertTrue(udp_checksum_ok(req), req.show(dump=True))
        self.assertEqual((rep[IP].src, rep[IP].dst, rep[UDP].sport, rep[UDP].dport),
                         (VIP, cip, 53, 40000))
        self.assertEqual(bytes(rep[UDP].payload), bytes(answer[UDP].payload))
        self.assertTrue(udp_checksum_ok(rep), rep.show(dump=True))
        w = self.counters["workers"][0]
        self.assertEqual((w["frags_tracked"], w["frags_followed"]), (2, 6))
        self.assertEqual((w["nat_in"], w["nat_out"]), (4, 4))

    def test_fragments_follow_their_client_across_workers(self):
        """Fragmented queries of 8 clients and their fragmented answers through 2 workers (one
        pcap queue: worker 0 hands worker 1 its clients' packets). A later fragment has no ports
        but the same CIP: it reaches the worker that owns the client, where its first fragment
        was remembered, and every datagram reassembles."""
        self.assertEqual({owner_of(c, 2) for c in CLIENTS}, {0, 1})
        rr = ["192.168.0.28", "192.168.0.18"]
        turn = collections.Counter()
        pkts, flows = [], {}
        for i, cip in enumerate(CLIENTS):
            w = owner_of(cip, 2)
            rip = rr[turn[w] % 2]
            turn[w] += 1
            q = IP(src=cip, dst=VIP, id=100 + i) / UDP(sport=41000 + i, dport=53) / \
                Raw(bytes([i]) * 900)
            pkts += [Ether(bytes(f)) for f in fragment(c2d(q), fragsize=400)]
            flows[cip] = (rip, 41000 + i, bytes(q[UDP].payload))
        for cip, (rip, cport, _) in flows.items():
            a = IP(src=rip, dst=cip, id=7) / UDP(sport=53, dport=cport) / Raw(b"a" * 900)
            pkts += [Ether(bytes(f)) for f in
                     fragment(Ether(src=RS_MAC[rip], dst=PORT_MAC[0]) / a, fragsize=400)]
        out = self.run_fastvsd([pkts], len(pkts), lcores="0@0,1@1,2@1")[0]
        self.assertEqual(len(out), len(pkts), self.log)
        self.assertEqual(self.drops, {})
        whole = defragment(out)
        self.assertEqual(len(whole), 2 * len(CLIENTS), [p.summary() for p in whole])
        seen = collections.Counter()
        for p in whole:
            u = bytes(p[UDP])
            pseudo = socket.inet_aton(p[IP].src) + socket.inet_aton(p[IP].dst) + \
                struct.pack("!BBH", 0, 17, len(u))
            self.assertEqual(checksum(pseudo + u), 0, p.summary())
            if p[IP].src == VIP:
                rip, cport, _ = flows[p[IP].dst]
                self.assertEqual((p[UDP].sport, p[UDP].dport), (53, cport))
                self.assertEqual(bytes(p[UDP].payload), b"a" * 900)
                seen["reply"] += 1
            else:
                rip, cport, payload = flows[p[IP].src]
                self.assertEqual((p[IP].dst, p[UDP].sport, p[UDP].dport), (rip, cport, 53))
                self.assertEqual(bytes(p[UDP].payload), payload)
                seen["request"] += 1
        self.assertEqual(seen, {"request": 8, "reply": 8})
        w = self.counters["workers"]
        self.assertTrue(all(x["frags_followed"] > 0 for x in w), w)
        self.assertEqual(sum(x["frags_followed"] for x in w), 16 * 2)

    def test_bad_config_is_rejected_with_its_line(self):
        bad = os.path.join(self.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("ip addr add 10.0.0.1/24 dev dpdk0\n# comment\n-A -t 10.0.0.1:80 -s wrrr\n")
        rx = os.path.join(self.dir, "in.pcap")
        wrpcap(rx, [c2d(IP(src=CLIENTS[0], dst=VIP) / TCP())])
        d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "256", "--no-shconf", "--vdev",
                     f"net_pcap0,rx_pcap={rx},tx_pcap={os.path.join(self.dir, 'o.pcap')}"],
                    ["--config", bad], self.dir, "fvsbad")
        d.proc.wait(30)
        self.assertNotEqual(d.proc.returncode, 0)
        self.assertIn(f"{bad}:3:", d.output())
        self.assertIn("wrrr", d.output())
        d.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
