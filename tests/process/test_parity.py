#!/usr/bin/python3
"""ipvsadm parity on a live fastvsd with two workers and steady traffic (net_pcap replaying a
capture forever: a real DPDK port): persistence with a netmask holds across workers, and the
listings (--persistent-conn, -c, --stats, --rate, --thresholds, --timeout), -Z and --set answer
in ipvsadm's formats with the numbers the traffic made."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

from scapy.all import IP, UDP, Ether, Raw, wrpcap  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
PORT_MAC = "02:70:63:61:70:00"
VIP = "172.16.254.200"
CLIENTS = [f"172.16.254.{10 + i}" for i in range(16)]
RS = ["192.168.0.11", "192.168.0.12"]


class Parity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="fvs-parity-")
        rx = os.path.join(cls.dir, "in.pcap")
        wrpcap(rx, [Ether(src="c0:00:00:00:00:0a", dst=PORT_MAC) /
                    IP(src=c, dst=VIP) / UDP(sport=5000 + i, dport=53) / Raw(b"q" * 18)
                    for i, c in enumerate(CLIENTS)])
        conf = os.path.join(cls.dir, "lab.conf")
        with open(conf, "w") as f:
            f.write(f"ip addr add {VIP}/24 dev dpdk0\nip addr add 192.168.0.8/24 dev dpdk0\n")
            for i, r in enumerate(RS):
                f.write(f"ip neigh add {r} lladdr aa:00:00:00:00:{11 + i:02x} dev dpdk0\n")
            # One template for the whole /24: every client goes where the first one went.
            f.write(f"-A -u {VIP}:53 -s rr -p 300 -M 255.255.255.0\n"
                    f"-a -u {VIP}:53 -r {RS[0]}:53 -m\n"
                    f"-a -u {VIP}:53 -r {RS[1]}:53 -m\n")
        cls.sock = os.path.join(cls.dir, "fastvsd.sock")
        # Two workers (they share CPU 1): one RX queue, so worker 0 hands worker 1 its clients.
        cls.d = Fastvsd(["--lcores", "0@0,1@1,2@1", "--no-huge", "-m", "512", "--no-shconf",
                         "--vdev", f"net_pcap0,rx_pcap={rx},tx_pcap=/dev/null,infinite_rx=1"],
                        ["--config", conf, "--socket", cls.sock, "--conn-capacity", "4096",
                         "--idle-sleep-us", "100"], cls.dir, "fvspar")
        cls.d.wait_started()
        wait_for(lambda: cls.d.total("nat_in") > 20000, 30, "traffic to flow")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        out = cls.d.output()
        c = cls.d.counters()
        cls.d.close()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert rc == 0, out
        # The replay runs as fast as worker 0 can take it, and worker 1 shares its CPU: rings to
        # worker 1 overflow (handoff_full, tx_full: counted load shedding). Nothing else may
        # drop: no packet without a service, a connection or a destination.
        drops = {}
        for w in c["workers"]:
            for k, v in w["drops"].items():
                if v and k not in ("handoff_full", "tx_full"):
                    drops[k] = drops.get(k, 0) + v
        assert drops == {}, drops

    def adm(self, *args):
        r = subprocess.run([FASTVSADM, *args], env=dict(os.environ, FASTVS_SOCKET=self.sock),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"fastvsadm {' '.join(args)}: {r.stderr}")
        self.assertEqual(r.stderr, "")
        return r.stdout

    def chosen(self):
        """The real server persistence sent everyone to, from the stats file."""
        dests = [x for x in self.d.counters()["destinations"] if x["service"] == f"udp:{VIP}:53"]
        busy = [x["rip"].split(":")[0] for x in dests if x["inpkts"] > 0]
        self.assertEqual(len(busy), 1, dests)
        return busy[0]

    def test_persistence_holds_across_workers(self):
        c = self.d.counters()
        self.assertEqual(len(c["workers"]), 2)
        self.assertTrue(all(w["nat_in"] > 0 for w in c["workers"]),
                        "both workers own some of the clients")
        self.assertTrue(sum(w["conns_created"] for w in c["workers"]) >= len(CLIENTS))
        rs = self.chosen()
        other = RS[1] if rs == RS[0] else RS[0]
        out = self.adm("-L", "-n", "--persistent-conn")
        self.assertIn(f"UDP  {VIP}:53 rr persistent 300 mask 255.255.255.0\n", out)
        # Weight, PersistConn (one template for the /24), ActiveConn, InActConn (UDP: all).
        self.assertIn(f"  -> {rs + ':53':<28} {1:<9} {1:<11} {0:<10} {16:<10}\n", out)
        self.assertIn(f"  -> {other + ':53':<28} {1:<9} {0:<11} {0:<10} {0:<10}\n", out)

    def test_connection_listing(self):
        rs = self.chosen()
        out = self.adm("-L", "-n", "-c")
        lines = out.splitlines()
        self.assertEqual(lines[0], "IPVS connection entries")
        self.assertEqual(lines[1], "pro expire state       source             virtual            "
                                   "destination")
        conns = lines[2:]
        self.assertEqual(len(conns), len(CLIENTS) + 1, out)
        pat = re.compile(r"^UDP (\d\d):(\d\d)  UDP         (\S+) +(\S+) +(\S+)$")
        seen = set()
        for line in conns:
            m = pat.match(line)
            self.assertIsNotNone(m, line)
            self.assertLessEqual(int(m.group(1)) * 60 + int(m.group(2)), 300)
            self.assertEqual(m.group(4), f"{VIP}:53")
            self.assertEqual(m.group(5), f"{rs}:53")
            seen.add(m.group(3))
        want = {f"{c}:{5000 + i}" for i, c in enumerate(CLIENTS)} | {"172.16.254.0:0"}
        self.assertEqual(seen, want)
        # Without -n the ports are service names (53 is "domain" in /etc/services).
        self.assertIn(f"{VIP}:domain", self.adm("-L", "-c"))

    def test_stats_rate_and_zero(self):
        svc = re.compile(rf"^UDP  {re.escape(VIP)}:53 +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)$", re.M)
        out = self.adm("-L", "-n", "--stats", "--exact")
        self.assertTrue(out.startswith("IP Virtual Server version 1.2.1 (size=4096)\n"
                                       "Prot LocalAddress:Port               Conns   InPkts  "
                                       "OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n"),
                        out)
        m = svc.search(out)
        self.assertIsNotNone(m, out)
        conns, inpkts, outpkts, inbytes, _ = map(int, m.groups())
        self.assertGreaterEqual(conns, len(CLIENTS))
        self.assertGreater(inpkts, 0)
        self.assertEqual(outpkts, 0)  # nobody answers
        # The IP length of each datagram is 46 (20 + 8 + 18); the two sums are read a moment
        # apart under traffic.
        self.assertAlmostEqual(inbytes / inpkts, 46, delta=0.5)
        # The estimator needs two 2-second ticks to show a rate.
        rate = re.compile(rf"^UDP  {re.escape(VIP)}:53 +(\d+) +(\d+)", re.M)

        def inpps():
            m = rate.search(self.adm("-L", "-n", "--rate", "--exact"))
            return int(m.group(2)) if m else 0
        wait_for(inpps, 15, "InPPS above 0", interval=0.5)
        # -Z: the counters restart from 0 (the connections stay: no new one is made).
        self.adm("-Z", "-u", f"{VIP}:53")
        out = self.adm("-L", "-n", "--stats", "--exact")
        m = svc.search(out)
        self.assertEqual(int(m.group(1)), 0, out)
        for rs in RS:
            self.assertRegex(out, rf"  -> {re.escape(rs)}:53 +0 +\d+ +0 +\d+ +0\n")

    def test_thresholds_and_timeouts(self):
        self.adm("-e", "-u", f"{VIP}:53", "-r", f"{RS[0]}:53", "-m", "-x", "100", "-y", "50")
        out = self.adm("-L", "-n", "--thresholds")
        self.assertIn("Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn "
                      "InActConn \n", out)
        self.assertRegex(out, rf"  -> {re.escape(RS[0])}:53 +100 +50 +\d+ +\d+ +\n")
        self.adm("-e", "-u", f"{VIP}:53", "-r", f"{RS[0]}:53", "-m", "-x", "0", "-y", "0")
        self.assertEqual(self.adm("-L", "--timeout"), "Timeout (tcp tcpfin udp): 900 120 300\n")
        self.adm("--set", "7200", "0", "0")
        self.assertEqual(self.adm("-L", "--timeout"), "Timeout (tcp tcpfin udp): 7200 120 300\n")
        self.adm("--set", "900", "0", "0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
