#!/usr/bin/python3
"""High availability with stock keepalived (Debian's), in network namespaces
(tests/e2e/ha.py builds the pairs).

DR, the LVS tutorial's: two directors (fvs-dir, fvs-dir2) on one LAN with the client and two real
servers (HTTP, the VIP on lo). NAT, the Red Hat guide's: the directors between a public LAN (the
client) and a private one (the real servers, whose gateway is a floating address). Each director
runs fastvsd (af_packet ports, kernel path on: dpdk0, dpdk1 are its host interfaces) and
`keepalived --vrrp` on them, from a keepalived.conf whose vrrp_instance (NAT: a vrrp_sync_group
of two) moves the addresses and whose virtual_server fastvsd runs. The directors differ only in
their own addresses and their VRRP priority.

What it checks: one master answers ARP for the VIP and the gateway (never both directors);
failover when the master's fastvsd dies, when its keepalived dies, when its keepalived stops;
failback when it returns, none with nopreempt; advert_int 0.1; adverts through a flood of the
backup's kernel path; the time from each failure to the first answered request, and how many
requests failed between. And, on one director, that fastvsd follows the addresses the host puts
on dpdk0 (`ip addr` by hand), with fastvsadm's own left as they are. Needs root; fails (never
skips) without it or without keepalived."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import topo  # noqa: E402
from fvtest import wait_for  # noqa: E402
from ha import A, B, DIPS, FASTVSADM, HERE, KEEPALIVED, VIP, Director, Requests  # noqa: E402


class HaPair:
    """Two directors with keepalived, A master: setUp builds them, the helpers drive them."""
    kind = ""
    advert = "1"
    nopreempt = False
    b_args = ()
    sync = False  # keepalived's lvs_sync_daemon on both (test_sync.py)
    figures = []

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(KEEPALIVED):
            raise RuntimeError("keepalived is not installed (apt-get install keepalived)")

    @classmethod
    def tearDownClass(cls):
        for line in cls.figures:
            print(line, file=sys.stderr)
        cls.figures.clear()

    def setUp(self):
        self.topo = topo.Topology(self.kind, directors=2)
        self.addCleanup(self.topo.destroy)
        self.topo.start_servers()
        self.more_servers()
        self.a = Director(self.topo, A, self.kind, self.advert, self.nopreempt, sync=self.sync)
        self.b = Director(self.topo, B, self.kind, self.advert, self.nopreempt, self.b_args,
                          sync=self.sync)
        for d in (self.a, self.b):
            self.addCleanup(d.stop)
            d.start_fastvsd()
        for d in (self.a, self.b):
            d.start_keepalived()
        wait_for(lambda: self.a.is_master() and self.a.holds_vip(), 30, "A to be master")
        wait_for(lambda: "Entering BACKUP STATE" in self.b.keepalived_output(), 30,
                 "B to be backup")
        self.requests = None

    def more_servers(self):
        """Servers a subclass adds before the directors start."""

    def tearDown(self):
        if self.requests:
            self.requests.stop()

    def answers_arp(self, target=VIP):
        """The MACs that answer ARP for `target`: the VIP asked by the client, the gateway by
        rs1."""
        who, sender = ("client", topo.CIP) if target == VIP else ("rs1", topo.RS["rs1"])
        out = topo.ns(who, f"/usr/bin/python3 {HERE}/arp_probe.py eth0 {sender} {target} 1",
                      capture=True)
        return out.split()

    def only(self, d):
        """Exactly d answers for the VIP (and, NAT, for the gateway)."""
        ok = self.answers_arp() == [d.mac()]
        if self.kind == "nat":
            ok = ok and self.answers_arp(topo.GATEWAY) == [d.mac("fvs-r")]
        return ok

    def served(self):
        return wait_for(lambda: topo.curl(topo.CIP, f"http://{VIP}/", timeout=2), 30,
                        "the VIP to answer")

    def failover(self, what, inject, to):
        """Runs the request loop, injects the failure, waits for `to` to serve; records the gap."""
        self.requests = Requests()
        wait_for(lambda: self.requests.answered_after(0), 20, "the request loop to run")
        t = time.monotonic()
        inject()
        wait_for(lambda: to.is_master() and to.holds_vip(), 30, f"{to.ns} to take the VIP")
        wait_for(lambda: self.requests.answered_after(t), 30, "requests to be answered again")
        gap, failed = self.requests.gap(t)
        self.requests.stop()
        self.requests = None
        self.figures.append(f"ha_{self.kind} (advert_int {self.advert}): {what}: first answer "
                            f"{gap:.2f} s after, {failed} requests failed between")
        return gap, failed

    def kill_masters_fastvsd(self):
        self.a.fastvsd.proc.kill()
        self.a.fastvsd.proc.wait()


class HaBase(HaPair):
    """The failures every pair is put through."""

    def test_exactly_one_director_answers_for_the_vip(self):
        self.assertTrue(self.only(self.a))
        self.assertTrue(self.b.holds_none())
        self.assertIn(self.served(), ("rs1rs1", "rs2rs2"))
        # The service is the same on both (-L -n, but for the connection counts: the master
        # served), configured and checked on the backup too.
        def table(d):
            return [" ".join(line.split()[:4]) for line in d.adm("-L", "-n").splitlines()]
        wait_for(lambda: table(self.a) == table(self.b) and
                 "-> 192.168.0.28:80 " + ("Masq" if self.kind == "nat" else "Route") + " 1"
                 in table(self.b), 20, "the same table on both")
        # The backup's state is said, without WARNING: the VIP is keepalived's.
        instance = "VI_PUBLIC" if self.kind == "nat" else "VI_1"
        self.assertIn(f"VIP {VIP} is not held here (vrrp_instance {instance}'s, on the master): "
                      f"TCP {VIP}:80 take(s) no traffic here", self.b.fastvsd.output())
        self.assertNotIn("WARNING: VIP", self.b.fastvsd.output())
        # keepalived's VIP is never fastvsadm's too (the backup would keep it when keepalived
        # takes it away), nor removed with fastvsadm (keepalived would put it back).
        r = subprocess.run([FASTVSADM, "--socket", self.b.sock, "ip", "addr", "add",
                            f"{VIP}/24", "dev", "dpdk0"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"address {VIP} on dpdk0 is keepalived's (vrrp_instance {instance} at ",
                      r.stderr)
        r = subprocess.run([FASTVSADM, "--socket", self.a.sock, "ip", "addr", "del",
                            f"{VIP}/24", "dev", "dpdk0"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"address {VIP}/24 on dpdk0 was added on the host", r.stderr)
        self.assertTrue(self.a.holds_vip() and self.b.holds_none())
        self.assertIn(f"VIP {VIP} is a local address: TCP {VIP}:80 take(s) traffic",
                      self.a.fastvsd.output())
        self.assertIn("vrrp_instance is keepalived's (keepalived --vrrp runs it)",
                      self.a.fastvsd.output())

    def test_failover_when_the_masters_fastvsd_dies_and_failback(self):
        self.failover("fastvsd killed (SIGKILL) on the master", self.kill_masters_fastvsd,
                      self.b)
        self.assertTrue(self.only(self.b))
        # The master's fastvsd comes back: keepalived finds dpdk0 again and takes the VIP back
        # (it has the higher priority and preempts).
        self.a.fastvsd.close()
        self.a.start_fastvsd()
        wait_for(lambda: self.a.is_master() and self.a.holds_vip() and self.b.holds_none(),
                 40, "A to take the VIP back")
        wait_for(lambda: self.only(self.a), 10, "only A to answer ARP")
        self.assertIn(self.served(), ("rs1rs1", "rs2rs2"))

    def test_failover_when_the_masters_keepalived_dies(self):
        self.failover("keepalived killed (SIGKILL) on the master",
                      lambda: self.a.kill_keepalived(signal.SIGKILL), self.b)
        # A killed keepalived cannot take its VIP away (as with IPVS): A still holds it, but
        # the client follows B's gratuitous ARP.
        self.assertIn(self.served(), ("rs1rs1", "rs2rs2"))
        neigh = topo.ns("client", f"ip neigh show {VIP}", capture=True)
        self.assertIn(self.b.mac(), neigh)
        if self.kind == "nat":
            neigh = topo.ns("rs1", f"ip neigh show {topo.GATEWAY}", capture=True)
            self.assertIn(self.b.mac("fvs-r"), neigh)

    def test_failover_when_the_masters_keepalived_stops(self):
        gap, _ = self.failover("keepalived stopped (SIGTERM) on the master",
                               lambda: self.a.kill_keepalived(signal.SIGTERM), self.b)
        # A stopping keepalived removes its VIP and says so (priority 0): A stops answering.
        wait_for(lambda: self.a.holds_none(), 10, "A to drop the VIP")
        self.assertTrue(self.only(self.b))


class HaDr(HaBase, unittest.TestCase):
    """The LVS tutorial's DR pair."""
    kind = "dr"


class HaNat(HaBase, unittest.TestCase):
    """The Red Hat guide's NAT pair: a vrrp_sync_group moves the public VIP and the real servers'
    gateway together, so that their replies always reach the director that has the
    connections."""
    kind = "nat"


class HaDrFastAdverts(HaPair, unittest.TestCase):
    """advert_int 0.1 (VRRPv3): the backup notices a dead master in 0.3 s and some skew."""
    kind, advert = "dr", "0.1"

    def test_failover_when_the_masters_fastvsd_dies(self):
        self.failover("fastvsd killed (SIGKILL) on the master", self.kill_masters_fastvsd, self.b)
        self.assertTrue(self.only(self.b))


class HaDrNopreempt(HaPair, unittest.TestCase):
    """nopreempt (both BACKUP): the old master, back, leaves the VIP where it is."""
    kind, nopreempt = "dr", True

    def test_no_failback_with_nopreempt(self):
        self.failover("fastvsd killed (SIGKILL) on the master, nopreempt",
                      self.kill_masters_fastvsd, self.b)
        before = self.a.keepalived_output().count("Entering BACKUP STATE")
        self.a.fastvsd.close()
        self.a.start_fastvsd()
        # A's keepalived finds dpdk0 again and stays backup: B keeps the VIP.
        wait_for(lambda: self.a.keepalived_output().count("Entering BACKUP STATE") > before, 40,
                 "A's keepalived to be backup again")
        # What must not happen is A taking the VIP back, which preemption does once its
        # master-down timer runs out (B's lower-priority adverts do not reset it): 3 advert
        # intervals and a skew, 3.6 s here; watched for 6 s.
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            self.assertFalse(self.a.is_master(), "A preempted B despite nopreempt")
            time.sleep(0.1)
        self.assertTrue(self.b.is_master())
        self.assertTrue(self.a.holds_none())
        self.assertTrue(self.only(self.b))
        self.assertIn(self.served(), ("rs1rs1", "rs2rs2"))


FLOOD = """import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end, n = time.monotonic() + float(sys.argv[2]), 0
while time.monotonic() < end:
    for _ in range(100):
        s.sendto(b"x", (sys.argv[1], 9))
    n += 100
print(n)
"""


class HaDrFlood(HaPair, unittest.TestCase):
    """The backup's kernel path flooded (its --kernel-rate 10 a second, all spent by a flood to
    its DIP): the master's adverts still reach its keepalived, on their own budget."""
    kind, b_args = "dr", ("--kernel-rate", "10")

    def test_adverts_get_through_a_flood_of_other_host_traffic(self):
        before = self.b.keepalived_output().count("Entering MASTER STATE")
        ctl = sum(w["to_kernel_ctl"] for w in self.b.fastvsd.counters()["workers"])
        # Longer than the master-down interval (3.6 s) twice over.
        sent = topo.ns("rs1", f"/usr/bin/python3 -c '{FLOOD}' {DIPS[B]} 8", capture=True,
                       timeout=30)
        drops = self.b.fastvsd.drops()
        self.assertGreater(drops.get("kernel_path_limit", 0), 1000, (sent, drops))
        self.assertEqual(drops.get("kernel_ctl_limit", 0), 0, drops)
        self.assertGreater(sum(w["to_kernel_ctl"] for w in self.b.fastvsd.counters()["workers"]),
                           ctl + 5)
        self.assertEqual(self.b.keepalived_output().count("Entering MASTER STATE"), before,
                         "the backup lost the master's adverts in the flood")
        self.assertTrue(self.a.is_master())
        HaPair.figures.append(f"ha_flood: {sent.strip()} datagrams to the backup's DIP in 8 s; "
                              f"kernel_path_limit {drops.get('kernel_path_limit', 0)}, the "
                              "backup stayed backup")


class HostAddresses(unittest.TestCase):
    """fastvsd follows what the host (keepalived, an operator) adds to and removes from dpdk0."""

    def setUp(self):
        self.topo = topo.Topology("dr")
        self.addCleanup(self.topo.destroy)
        self.d = Director(self.topo, A)
        self.addCleanup(self.d.stop)
        self.d.start_fastvsd()

    def host(self, cmd):
        topo.sh(f"ip -n {self.d.ns} {cmd}")

    def pings(self, addr):
        return topo.ns("rs1", f"ping -c 1 -W 1 {addr}", check=False) == 0

    def test_addresses_added_and_removed_on_the_host(self):
        dip, extra = DIPS[A], "192.168.0.77"
        wait_for(lambda: self.pings(dip), 20, "the DIP to answer")
        self.assertFalse(self.pings(extra))
        t = time.monotonic()
        self.host(f"addr add {extra}/32 dev dpdk0")
        wait_for(lambda: self.pings(extra), 10, "the port to answer for the host's address")
        print(f"host_addresses: ip addr add on dpdk0 answered {time.monotonic() - t:.2f} s after",
              file=sys.stderr)
        addrs = self.d.adm("ip", "addr")
        self.assertIn(f"inet {extra}/32 scope global dpdk0 (added on the host)\n", addrs)
        self.assertIn(f"inet {dip}/24 scope global dpdk0\n", addrs)
        self.host(f"addr del {extra}/32 dev dpdk0")
        wait_for(lambda: not self.pings(extra), 10, "the port to stop answering for it")
        self.assertNotIn(extra, self.d.adm("ip", "addr"))
        # fastvsadm's address, removed on the host, is fastvsadm's: it is put back.
        self.host(f"addr del {dip}/24 dev dpdk0")
        wait_for(lambda: f"inet {dip}/24" in topo.sh(f"ip -n {self.d.ns} addr show dev dpdk0",
                                                     capture=True), 10, "the DIP put back")
        self.assertTrue(self.pings(dip))
        self.assertIn(f"{dip}/24 on dpdk0 was removed on the host, but fastvsadm configured it: "
                      "put back", self.d.fastvsd.output())
        # A host address is the host's to remove: fastvsadm refuses and changes nothing.
        self.host(f"addr add {extra}/32 dev dpdk0")
        wait_for(lambda: extra in self.d.adm("ip", "addr"), 10, "the host's address followed")
        r = subprocess.run([FASTVSADM, "--socket", self.d.sock, "ip", "addr", "del",
                            f"{extra}/32", "dev", "dpdk0"], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr),
                         (1, f"fastvsadm: address {extra}/32 on dpdk0 was added on the host "
                             "(keepalived's VIP, or ip addr): remove it there (keepalived.conf, "
                             f"or ip addr del {extra}/32 dev dpdk0)\n"))
        self.assertIn(extra, topo.sh(f"ip -n {self.d.ns} addr show dev dpdk0", capture=True))
        self.assertTrue(self.pings(extra))
        # SIGHUP reads the files again; the host's addresses stay.
        self.d.fastvsd.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP" in self.d.fastvsd.output() and
                 "the files say what is in force" in self.d.fastvsd.output(), 10,
                 "the reload")
        self.assertIn(extra, self.d.adm("ip", "addr"))
        self.assertTrue(self.pings(extra))


if __name__ == "__main__":
    unittest.main(verbosity=2)
