#!/usr/bin/python3
"""End to end over IPv6: the nat6 and dr6 labs (topo.py: nat and dr dual-stack), fastvsd
configured live with ipvsadm's IPv6 forms, real curl -6 from the client and real HTTP servers
on :: in the real servers. NAT66: the real servers' gateway is the DIP and they see the client's
own address; DR: the real servers hold the VIP on lo and answer the client directly."""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import topo  # noqa: E402
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

DRIVER = os.environ.get("FASTVS_E2E_DRIVER", "af_packet")
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
VIP = f"[{topo.VIP6}]:80"
URL = f"http://[{topo.VIP6}]/"
RIP = {name: f"[{ip}]:80" for name, ip in topo.RS6.items()}


def pinged(name, addr):
    """One echo from namespace `name` to `addr` answered within a second."""
    return topo.ns(name, f"ping -6 -c 1 -W 1 {addr}", check=False, timeout=5) == 0


class Base:
    kind = ""
    flag = ""
    forward = ""
    rs_dev = ""

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
        self.adm("ip", "addr", "add", f"{topo.VIP6}/64", "dev", "dpdk0")
        self.adm("ip", "addr", "add", f"{topo.DIP6}/64", "dev", self.rs_dev)
        # Neighbours before the service, so that no SYN waits while the director solicits a
        # real server (it would be sent a moment later, but the counts below are exact): the client
        # resolves the VIP and each real server the DIP, and fastvsd learns each of them from
        # its solicitation. The first echo answer may itself wait for that learning: polled.
        wait_for(lambda: pinged("client", topo.VIP6), 20, "the client's ping of the VIP")
        for name in topo.RS6:
            wait_for(lambda: pinged(name, topo.DIP6), 20, f"{name}'s ping of the DIP")
        wait_for(lambda: all(ip in self.adm("ip", "-6", "neigh")
                             for ip in [topo.CIP6, *topo.RS6.values()]), 10,
                 "fastvsd to know the client and both real servers")
        for c in (f"-A -t {VIP} -s wrr",
                  f"-a -t {VIP} -r {RIP['rs1']} {self.flag} -w 1",
                  f"-a -t {VIP} -r {RIP['rs2']} {self.flag} -w 1"):
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

    def served(self, name):
        """Requests rs `name` logged from the client's own IPv6 address."""
        return sum(1 for line in self.topo.http_log(name).splitlines()
                   if line.startswith(f"{topo.CIP6} - - ") and '"GET / HTTP/1.1" 200' in line)

    def test_curl_alternates_in_kernel_order(self):
        got = [topo.curl(topo.CIP6, URL, timeout=3) for _ in range(8)]
        # One worker: wrr over the kernel's list [rs2, rs1] (the last added goes first).
        self.assertEqual(got, ["rs2rs2", "rs1rs1"] * 4, self.d.output()[-3000:])
        listing = self.adm("-L", "-n")
        self.assertIn(f"TCP  {VIP} wrr\n", listing)
        for name in topo.RS6:
            m = re.search(rf"-> {re.escape(RIP[name])} +{self.forward} +1 +(\d+) +(\d+)", listing)
            self.assertTrue(m, listing)
            # Each server's four connections are still in the table, closed or closing:
            # counted, as IPVS counts them, in ActiveConn or InActConn.
            self.assertEqual(int(m[1]) + int(m[2]), 4, listing)

        def conns():
            stats = self.adm("-L", "-n", "--stats")
            return [int(m[1]) for name in topo.RS6
                    for m in [re.search(rf"-> {re.escape(RIP[name])} +(\d+) ", stats)] if m]
        wait_for(lambda: conns() == [4, 4], 5, "4 connections counted on each destination")
        # The real servers saw the client's own address (neither method rewrites the source).
        for name in topo.RS6:
            wait_for(lambda: self.served(name) == 4, 5,
                     f"{name}'s log to show 4 requests from {topo.CIP6}")
        # The stats file trails by up to its interval: polled.
        wait_for(lambda: self.d.total("conns_created") == 8, 5, "8 connections created")
        self.check_counters(self.d.counters()["workers"][0])

    def test_the_host_reaches_and_checks_the_real_servers(self):
        # The host has no IPv6 address of its own on the ports: fastvsd's DIP is on its TAP
        # interface (the kernel path), the host's source for the real servers' network.
        got = topo.sh(f"ip netns exec {topo.DIRECTOR_NS} curl -s -6 -g --max-time 3 "
                      f"http://[{topo.RS6['rs1']}]/", capture=True, check=False, timeout=8)
        self.assertEqual(got, "rs1rs1", self.d.output()[-2000:])
        # The lab's director namespace makes interfaces without IPv6: fastvsd turned it on on
        # its own.
        self.assertIn(f"kernel path: IPv6 turned on on {self.rs_dev} for fastvsd's IPv6 "
                      "addresses", self.d.output())
        # Health checks over IPv6 from it: rs2's (on a port nothing listens on) fails and takes
        # rs2 out; rs1's passes.
        self.adm("--check", "add", "-t", VIP, "-r", RIP["rs1"], "tcp", "interval=1",
                 "timeout=1")
        self.adm("--check", "add", "-t", VIP, "-r", RIP["rs2"], "tcp", "interval=1",
                 "timeout=1", "port=81", "retry=0")
        wait_for(lambda: RIP["rs2"] not in self.adm("-L", "-n"), 15, "rs2 to leave the service")
        status = self.adm("--check", "list")
        self.assertRegex(status, rf"{re.escape(RIP['rs1'])} +UP", status)
        self.assertRegex(status, rf"{re.escape(RIP['rs2'])} +DOWN", status)
        self.assertIn(RIP["rs1"], self.adm("-L", "-n"))
        got = [topo.curl(topo.CIP6, URL, timeout=3) for _ in range(4)]
        self.assertEqual(got, ["rs1rs1"] * 4)


class Nat6Lab(Base, unittest.TestCase):
    kind, flag, forward, rs_dev = "nat6", "-m", "Masq", "dpdk1"

    def test_keepalived_vrrp_moves_the_ipv6_vip(self):
        """Stock keepalived (--vrrp, VRRPv3 over IPv6 from dpdk0's link-local address) holds the
        VIP: fastvsd follows it onto the port, and off it when keepalived stops."""
        if not os.path.exists(KEEPALIVED):
            raise RuntimeError("keepalived is not installed (apt-get install keepalived)")
        self.adm("ip", "addr", "del", f"{topo.VIP6}/64", "dev", "dpdk0")
        self.assertEqual(topo.curl(topo.CIP6, URL, timeout=2), "")
        # VRRP over IPv6 speaks from the interface's link-local address: the kernel gives dpdk0
        # one once fastvsd turned IPv6 on there (duplicate address detection first).
        wait_for(lambda: "fe80:" in topo.sh(f"ip netns exec {topo.DIRECTOR_NS} ip -6 addr show "
                                            "dev dpdk0 scope link -tentative", capture=True),
                 10, "dpdk0's link-local address")
        conf = os.path.join(self.topo.dir, "keepalived6.conf")
        with open(conf, "w") as f:
            f.write(f"""global_defs {{
    router_id fvs6
}}
vrrp_instance VI_6 {{
    state MASTER
    interface dpdk0
    virtual_router_id 61
    priority 150
    advert_int 1
    native_ipv6
    virtual_ipaddress {{
        {topo.VIP6}/64 dev dpdk0
    }}
}}
""")
        log = open(os.path.join(self.topo.dir, "keepalived6.log"), "w+")
        self.addCleanup(log.close)

        def said():
            with open(log.name) as f:
                return f.read()
        ka = subprocess.Popen(
            ["ip", "netns", "exec", topo.DIRECTOR_NS, KEEPALIVED, "--vrrp", "--dont-fork",
             "--log-console", "--no-syslog", "-f", conf,
             "-p", os.path.join(self.topo.dir, "keepalived6.pid"),
             "-r", os.path.join(self.topo.dir, "vrrp6.pid")],
            stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: ka.poll() is None and (ka.kill(), ka.wait()))
        wait_for(lambda: f"inet6 {topo.VIP6}/64 scope global (added on the host)" in
                 self.adm("ip", "-6", "addr"), 20, "keepalived's IPv6 VIP followed",
                 detail=said)
        wait_for(lambda: topo.curl(topo.CIP6, URL, timeout=2) in ("rs1rs1", "rs2rs2"), 10,
                 "the service through keepalived's VIP")
        self.assertIn(f"{topo.VIP6}/64 on dpdk0 added", self.d.output())
        # keepalived stops: it takes the VIP away, and fastvsd stops answering for it.
        ka.terminate()
        self.assertEqual(ka.wait(20), 0, said())
        wait_for(lambda: topo.VIP6 not in self.adm("ip", "-6", "addr"), 10,
                 "the VIP to leave the port")
        self.assertIn(f"{topo.VIP6}/64 on dpdk0 removed", self.d.output())
        self.assertEqual(topo.curl(topo.CIP6, URL, timeout=2), "")

    def check_counters(self, w):
        # Both directions through the director: 8 connections of at least 3 packets each way.
        self.assertGreaterEqual(w["nat_in"], 24, w)
        self.assertGreaterEqual(w["nat_out"], 24, w)


class Dr6Lab(Base, unittest.TestCase):
    kind, flag, forward, rs_dev = "dr6", "-g", "Route", "dpdk0"

    def check_counters(self, w):
        # The director never saw a reply: nothing was NAT'd back.
        self.assertEqual(w["nat_out"], 0, w)
        self.assertEqual(w["nat_in"], 0, w)
        self.assertGreaterEqual(w["dr_out"], 24, w)


if __name__ == "__main__":
    unittest.main(verbosity=2)
