#!/usr/bin/python3
"""End to end: LVS-DR and LVS-TUN in network namespaces. The real servers hold the VIP
(DR: on lo; TUN: behind an IPIP decapsulator, this kernel having no ipip module) and answer the
client directly; fastvsd only ever sees the client's side. Configured live with fastvsadm."""
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import topo  # noqa: E402
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

DRIVER = os.environ.get("FASTVS_E2E_DRIVER", "af_packet")
FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")


class Base:
    kind = ""
    flag = ""
    forward = ""

    @classmethod
    def setUpClass(cls):
        cls.topo = topo.Topology(cls.kind)
        cls.topo.start_servers()

    @classmethod
    def tearDownClass(cls):
        cls.topo.destroy()

    def setUp(self):
        t = self.topo
        self.sock = os.path.join(t.dir, "fastvsd.sock")
        eal = ["--lcores", "0@0,1@1", "--no-huge", "-m", "512", "--no-shconf"] + \
            topo.vdev_args(t.ports, DRIVER)
        self.d = Fastvsd(eal, ["--socket", self.sock, "--idle-sleep-us", "200"], t.dir,
                         "fvs" + self.kind, netns=topo.DIRECTOR_NS, kernel_path=True)
        self.d.wait_started()
        self.addCleanup(self.stop)
        wait_for(lambda: os.path.exists(self.sock), 10, "the CLI socket")
        for c in (f"ip addr add {topo.VIP}/24 dev dpdk0", f"ip addr add {topo.DIP}/24 dev dpdk0",
                  f"-A -t {topo.VIP}:80 -s wrr",
                  f"-a -t {topo.VIP}:80 -r 192.168.0.18:80 {self.flag} -w 1",
                  f"-a -t {topo.VIP}:80 -r 192.168.0.28:80 {self.flag} -w 1"):
            self.adm(*c.split())

    def stop(self):
        rc = self.d.stop()
        out = self.d.output()
        self.d.close()
        self.assertEqual(rc, 0, out)

    def adm(self, *args):
        r = subprocess.run([FASTVSADM, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 0, f"fastvsadm {' '.join(args)}: {r.stderr}")
        return r.stdout

    def test_curl_alternates_and_replies_bypass_the_director(self):
        # Poll past the first request, which may wait for ARP (a SYN retransmit).
        first = wait_for(lambda: topo.curl(topo.CIP, f"http://{topo.VIP}/", timeout=3), 30,
                         "the VIP to answer")
        got = [topo.curl(topo.CIP, f"http://{topo.VIP}/") for _ in range(8)]
        other = {"rs1rs1": "rs2rs2", "rs2rs2": "rs1rs1"}
        want = [other[first] if i % 2 == 0 else first for i in range(8)]
        self.assertEqual(got, want)
        listing = self.adm("-L", "-n")
        self.assertRegex(listing, rf"-> 192\.168\.0\.18:80 +{self.forward} +1 ")
        self.assertRegex(listing, rf"-> 192\.168\.0\.28:80 +{self.forward} +1 ")
        w = self.d.counters()["workers"][0]
        # The director never saw a reply: nothing was NAT'd back.
        self.assertEqual(w["nat_out"], 0)
        self.assertEqual(w["nat_in"], 0)


class DrLab(Base, unittest.TestCase):
    kind, flag, forward = "dr", "-g", "Route"


class TunLab(Base, unittest.TestCase):
    kind, flag, forward = "tun", "-i", "Tunnel"

    def test_path_mtu_discovery_through_the_tunnel(self):
        # A UDP service over the tunnel; a 1500-byte datagram with DF cannot take 20 more bytes:
        # fastvsd answers ICMP fragmentation needed with 1480, and the client's kernel lowers
        # its path MTU to the VIP.
        self.adm("-A", "-u", f"{topo.VIP}:5353", "-s", "rr")
        self.adm("-a", "-u", f"{topo.VIP}:5353", "-r", "192.168.0.18", "-i")
        code = (
            "import socket, time\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14  # linux/in.h\n"
            "s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)\n"
            f"s.connect(('{topo.VIP}', 5353))\n"
            "deadline = time.monotonic() + 20\n"
            "while time.monotonic() < deadline:\n"
            "    try:\n"
            "        s.send(b'x' * 1472)\n"
            "    except OSError as e:\n"
            "        print('EMSGSIZE' if e.errno == 90 else e, s.getsockopt(socket.IPPROTO_IP, IP_MTU))\n"
            "        break\n"
            "    time.sleep(0.1)\n"
            "s.settimeout(0.5)\n"
            "# Small datagrams get through (retried, as a UDP client does: the first may wait for\n"
            "# the director to resolve the real server's MAC; a pending ICMP error is reported\n"
            "# once more on a connected socket).\n"
            "while time.monotonic() < deadline:\n"
            "    try:\n"
            "        s.send(b'small')\n"
            "        print(s.recv(100).decode())\n"
            "        break\n"
            "    except OSError:\n"
            "        pass\n")
        script = os.path.join(self.topo.dir, "pmtu.py")
        with open(script, "w") as f:
            f.write(code)
        r = subprocess.run(["ip", "netns", "exec", "fvs-client", "/usr/bin/python3", script],
                           capture_output=True, text=True, timeout=40)
        out = r.stdout + r.stderr
        self.assertEqual(out.split("\n")[0], "EMSGSIZE 1480", out)
        self.assertEqual(out.split("\n")[1], "rs1:small", out)  # small datagrams still get through
        drops = self.d.drops()
        self.assertGreaterEqual(drops.get("tunnel_too_big", 0), 1, drops)


if __name__ == "__main__":
    unittest.main(verbosity=2)
