#!/usr/bin/python3
"""Steady traffic through a live fastvsd while fastvsadm applies 1,000 changes: services and
destinations added, edited and removed beside the one carrying the traffic, and weight changes
on that one. Nothing may be lost or misrouted: every packet taken in is NAT'd, no flow is
scheduled twice, the carrying service's destinations account for every packet, and no drop
counter moves. The port is net_pcap replaying a capture forever (a real DPDK port)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

from scapy.all import IP, UDP, Ether, Raw, wrpcap  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
PORT_MAC = "02:70:63:61:70:00"
VIP = "172.16.254.200"
CLIENTS = [f"172.16.254.{10 + i}" for i in range(16)]


class LiveTraffic(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fvs-live-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_thousand_changes_under_traffic(self):
        rx = os.path.join(self.dir, "in.pcap")
        wrpcap(rx, [Ether(src="c0:00:00:00:00:0a", dst=PORT_MAC) /
                    IP(src=c, dst=VIP) / UDP(sport=5000 + i, dport=53) / Raw(b"q" * 18)
                    for i, c in enumerate(CLIENTS)])
        conf = os.path.join(self.dir, "lab.conf")
        with open(conf, "w") as f:
            f.write(f"ip addr add {VIP}/24 dev dpdk0\nip addr add 192.168.0.8/24 dev dpdk0\n")
            for c in CLIENTS:
                f.write(f"ip neigh add {c} lladdr c0:00:00:00:00:0a dev dpdk0\n")
            for i in range(1, 9):
                f.write(f"ip neigh add 192.168.0.{10 + i} lladdr aa:00:00:00:00:{10 + i:02x} dev dpdk0\n")
            f.write(f"-A -u {VIP}:53 -s rr\n"
                    f"-a -u {VIP}:53 -r 192.168.0.11:53 -m\n"
                    f"-a -u {VIP}:53 -r 192.168.0.12:53 -m\n")
        sock = os.path.join(self.dir, "fastvsd.sock")
        d = Fastvsd(["--lcores", "0@0,1@1", "--no-huge", "-m", "512", "--no-shconf", "--vdev",
                     f"net_pcap0,rx_pcap={rx},tx_pcap=/dev/null,infinite_rx=1"],
                    ["--config", conf, "--socket", sock, "--conn-capacity", "4096"],
                    self.dir, "fvslive")
        try:
            d.wait_started()
            wait_for(lambda: d.total("nat_in") > 100000, 20, "traffic to flow")
            env = dict(os.environ, FASTVS_SOCKET=sock)
            changes = []
            for i in range(100):
                v = f"10.{i // 250}.{i % 250}.1"
                changes += [["-A", "-t", f"{v}:80", "-s", "wrr"],
                            ["-a", "-t", f"{v}:80", "-r", "192.168.0.13:80", "-m", "-w", "2"],
                            ["-a", "-t", f"{v}:80", "-r", "192.168.0.14:80", "-m"],
                            ["-e", "-t", f"{v}:80", "-r", "192.168.0.13:80", "-m", "-w", "5"],
                            ["-e", "-u", f"{VIP}:53", "-r", "192.168.0.11:53", "-m", "-w", str(i % 4)],
                            ["-e", "-u", f"{VIP}:53", "-r", "192.168.0.12:53", "-m", "-w", str(1 + i % 3)],
                            ["-d", "-t", f"{v}:80", "-r", "192.168.0.14:80"],
                            ["-A", "-u", f"{v}:53", "-s", "sh"],
                            ["-D", "-u", f"{v}:53"],
                            ["-D", "-t", f"{v}:80"]]
            t0 = time.monotonic()
            for c in changes:
                r = subprocess.run([FASTVSADM, *c], env=env, capture_output=True, text=True, timeout=20)
                self.assertEqual(r.returncode, 0, f"{c}: {r.stderr}")
            elapsed = time.monotonic() - t0
            self.assertEqual(len(changes), 1000)
            final = subprocess.run([FASTVSADM, "-S", "-n"], env=env, capture_output=True,
                                   text=True, timeout=20).stdout
            self.assertEqual(final, f"-A -u {VIP}:53 -s rr\n"
                                    f"-a -u {VIP}:53 -r 192.168.0.11:53 -m -w 3\n"
                                    f"-a -u {VIP}:53 -r 192.168.0.12:53 -m -w 1\n")
        finally:
            rc = d.stop()
        out = d.output()
        self.assertEqual(rc, 0, out)
        c = d.counters()
        d.close()
        w = c["workers"][0]
        print(f"\n1000 changes in {elapsed:.1f} s under {w['rx']} packets", file=sys.stderr)
        self.assertEqual({k: v for k, v in w["drops"].items() if v}, {})
        self.assertEqual(w["nat_in"], w["rx"])
        self.assertEqual(w["tx"], w["rx"])
        self.assertEqual(w["conns_created"], len(CLIENTS))  # no flow was scheduled twice
        carried = [x for x in c["destinations"] if x["service"] == f"udp:{VIP}:53"]
        self.assertEqual(sum(x["inpkts"] for x in carried), w["rx"])
        self.assertEqual([x for x in c["destinations"] if x["service"] != f"udp:{VIP}:53"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
