#!/usr/bin/python3
"""The director's own answers under a flood, fastvsd as a process on a net_pcap port (one arm).

Hundreds of ARP requests for the VIP, echo requests to it and TTL-1 packets to a service arrive
in one replay, mixed with an established connection's packets. fastvsd runs with low
--arp-rate, --icmp-rate and --icmp-error-rate: the output pcap must hold at most what the
buckets allow (their depth, plus the refill over the whole run), every packet of the
connection must be forwarded, and the excess must be counted by reason, the same in the stats
file and in `fastvsadm ip -s link`.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

from scapy.all import ARP, ICMP, IP, TCP, Ether, Raw, rdpcap, wrpcap  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
PORT_MAC = "02:70:63:61:70:00"  # net_pcap0's MAC
CLIENT_MAC = "c0:00:00:00:00:0a"
RS_MAC = {"192.168.0.18": "aa:00:00:00:00:18", "192.168.0.28": "aa:00:00:00:00:28"}
VIP, DIP, CIP = "172.16.254.200", "192.168.0.8", "172.16.254.10"

N = 300           # of each kind of request
DATA = 60         # packets of the established connection, spread through the flood
ARP_RATE = 20     # a second, per worker: 2 deep
ICMP_RATE = 40    # 4 deep
ERROR_RATE = 16   # 50 deep (the kernel's icmp_msgs_burst)

CONFIG = f"""\
ip addr add {VIP}/24 dev dpdk0
ip addr add {DIP}/24 dev dpdk0
ip neigh add {CIP} lladdr {CLIENT_MAC} dev dpdk0
ip neigh add 192.168.0.18 lladdr {RS_MAC['192.168.0.18']} dev dpdk0
ip neigh add 192.168.0.28 lladdr {RS_MAC['192.168.0.28']} dev dpdk0
-A -t {VIP}:80 -s rr
-a -t {VIP}:80 -r 192.168.0.18:8080 -m
-a -t {VIP}:80 -r 192.168.0.28:8080 -m
"""


def c2d(ip):
    return Ether(src=CLIENT_MAC, dst=PORT_MAC) / ip


def flood():
    pkts = [c2d(IP(src=CIP, dst=VIP) / TCP(sport=40000, dport=80, flags="S", seq=100))]
    arp = Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=CLIENT_MAC, psrc=CIP, hwdst="00:00:00:00:00:00", pdst=VIP)
    data = 0
    for i in range(N):
        pkts.append(arp)
        pkts.append(c2d(IP(src=CIP, dst=VIP) / ICMP(type=8, id=7, seq=i) / Raw(b"ping")))
        pkts.append(c2d(IP(src=CIP, dst=VIP, ttl=1) / TCP(sport=41000 + i, dport=80, flags="S")))
        if i % (N // DATA) == 0 and data < DATA:
            pkts.append(c2d(IP(src=CIP, dst=VIP) / TCP(sport=40000, dport=80, flags="A",
                                                       seq=101, ack=1) / Raw(bytes([i % 256]))))
            data += 1
    assert data == DATA
    return pkts


class RateLimits(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fvs-rate-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_help_names_the_options(self):
        out = subprocess.run([fastvsd_path(), "--help"], capture_output=True, text=True,
                             timeout=20).stdout
        for opt in ("--arp-rate arg (=10000)", "--icmp-rate arg (=10000)",
                    "--icmp-error-rate arg (=1000)"):
            self.assertIn(opt, out)

    def adm_drops(self, sock):
        r = subprocess.run([FASTVSADM, "ip", "-s", "link"], capture_output=True, text=True,
                           env=dict(os.environ, FASTVS_SOCKET=sock), timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        drops = {}
        for name, n in re.findall(r"^\s+drop (\w+)\s+(\d+)", r.stdout, re.M):
            drops[name] = drops.get(name, 0) + int(n)
        return drops

    def test_answers_are_capped_and_the_excess_counted(self):
        pkts = flood()
        rx, tx = os.path.join(self.dir, "in.pcap"), os.path.join(self.dir, "out.pcap")
        wrpcap(rx, pkts)
        with open(os.path.join(self.dir, "lab.conf"), "w") as f:
            f.write(CONFIG)
        sock = os.path.join(self.dir, "fastvsd.sock")
        eal = ["-l", "0-1", "--no-huge", "-m", "256", "--no-shconf",
               "--vdev", f"net_pcap0,rx_pcap={rx},tx_pcap={tx}"]
        start = time.monotonic()
        d = Fastvsd(eal, ["--config", os.path.join(self.dir, "lab.conf"), "--socket", sock,
                          "--conn-capacity", "4096", "--idle-sleep-us", "200",
                          "--arp-rate", str(ARP_RATE), "--icmp-rate", str(ICMP_RATE),
                          "--icmp-error-rate", str(ERROR_RATE)], self.dir, "fvsrate")
        try:
            wait_for(lambda: d.total("rx") >= len(pkts), 30, f"fastvsd to take in {len(pkts)}")
            wait_for(lambda: os.path.exists(sock), 10, "the CLI socket")
            adm = self.adm_drops(sock)
        finally:
            rc = d.stop()
        elapsed = time.monotonic() - start
        log = d.output()
        self.assertEqual(rc, 0, log)
        counters, drops = d.counters(), d.drops()
        d.close()
        w = counters["workers"]
        total = lambda k: sum(x[k] for x in w)  # noqa: E731

        out = rdpcap(tx)
        arp_replies = [p for p in out if p.haslayer(ARP)]
        echo_replies = [p for p in out if p.haslayer(ICMP) and p[ICMP].type == 0]
        errors = [p for p in out if p.haslayer(ICMP) and p[ICMP].type == 11]
        forwarded = [p for p in out if p.haslayer(TCP) and not p.haslayer(ICMP)]
        self.assertEqual(len(arp_replies) + len(echo_replies) + len(errors) + len(forwarded),
                         len(out), [p.summary() for p in out])
        for p in arp_replies:
            self.assertEqual((p[ARP].op, p[ARP].psrc, p[ARP].hwsrc, p[ARP].pdst),
                             (2, VIP, PORT_MAC, CIP))
        for p in echo_replies:
            self.assertEqual((p[IP].src, p[IP].dst, p[Ether].dst), (VIP, CIP, CLIENT_MAC))

        # Capped: the depth at least (the buckets start full), at most the depth plus what the
        # rate refilled over the whole run.
        for what, got, rate, depth in (("ARP", len(arp_replies), ARP_RATE, ARP_RATE // 10),
                                       ("echo", len(echo_replies), ICMP_RATE, ICMP_RATE // 10),
                                       ("time exceeded", len(errors), ERROR_RATE, 50)):
            self.assertGreaterEqual(got, depth, what)
            self.assertLessEqual(got, depth + rate * (elapsed + 1), f"{what} in {elapsed:.1f}s")
            self.assertLess(got, N / 2, what)
        print(f"answers in {elapsed:.1f}s: ARP {len(arp_replies)}, echo {len(echo_replies)}, "
              f"time exceeded {len(errors)}", file=sys.stderr)

        # What went out is what the counters say; the rest is counted by reason.
        self.assertEqual(total("arp_replies"), len(arp_replies))
        self.assertEqual(total("echo_replies"), len(echo_replies))
        self.assertEqual(total("icmp_errors_sent"), len(errors))
        want = {"arp_rate_limited": N - len(arp_replies),
                "echo_rate_limited": N - len(echo_replies),
                "icmp_rate_limited": N - len(errors),
                "ttl_exceeded": N}
        self.assertEqual(drops, want)
        self.assertEqual(adm, want)

        # The connection went on through the flood: its SYN and every data packet.
        self.assertEqual(len(forwarded), 1 + DATA)
        self.assertEqual(total("nat_in"), 1 + DATA)
        rip = forwarded[0][IP].dst
        for p in forwarded:
            self.assertEqual((p[IP].src, p[IP].dst, p[TCP].sport, p[TCP].dport, p[Ether].dst),
                             (CIP, rip, 40000, 8080, RS_MAC[rip]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
