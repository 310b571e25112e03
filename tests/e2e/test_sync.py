#!/usr/bin/python3
"""Connection sync across a failover, end to end, in the HA lab (tests/e2e/ha.py) with stock
keepalived: each director's keepalived.conf says `@fastvsd lvs_sync_daemon IFACE INSTANCE`, so
the master's fastvsd sends its connections (IPVS's sync protocol, multicast on the kernel path)
and the backup's installs them.

Through the VIP, from the client: a long download (port 80, persistent), a keep-alive request
loop (8080), and 100 keep-alive connections at once (8080). The backup lists the client's
connections (-L -c) before the failover; then the master's fastvsd is killed and the backup takes
the VIP. Everything must carry on: the download whole, the loop on its one connection with no
failed request, every one of the 100 connections answering on the connection it had; and a new
connection of a persistent client goes to the real server its template names, not to the one the
backup's own scheduler would pick. DR and NAT (the real servers' gateway floats too). Needs root
and keepalived; fails (never skips) without them."""
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import topo  # noqa: E402
from fvtest import wait_for  # noqa: E402
from ha import FASTVSADM, VIP  # noqa: E402
from test_ha import HaPair  # noqa: E402
from fvtest import Fastvsd  # noqa: E402
from test_nat_lab import lab_config  # noqa: E402
from test_restart import BIG, DRIVER, KEEPALIVE_CLIENT, start_long_servers  # noqa: E402

CIP2 = "172.16.254.11"  # another of the client's addresses (topo): persistence is per address

# /big from VIP:80 at no more than argv[2] bytes a second, read by the client itself (curl
# 7.88's --limit-rate lets a fast path through faster): prints the status, the bytes and the
# seconds it took.
SLOW_DOWNLOAD = r"""
import http.client, sys, time
rate, start = int(sys.argv[2]), time.monotonic()
c = http.client.HTTPConnection(sys.argv[1], 80, timeout=30)
c.request("GET", "/big")
r = c.getresponse()
got = 0
while True:
    chunk = r.read(16384)
    if not chunk:
        break
    got += len(chunk)
    ahead = start + got / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
print(r.status, got, time.monotonic() - start)
"""

# N keep-alive connections to VIP:8080 at once, each asking every 200 ms for `seconds`: prints
# how many connections never failed, and the failures.
MANY_CLIENT = r"""
import http.client, os, sys, threading, time
n, end, stop = int(sys.argv[2]), time.monotonic() + float(sys.argv[3]), sys.argv[4]
failed = [0] * n
answered = [0] * n
port = [0] * n
def run(i):
    c = http.client.HTTPConnection(sys.argv[1], 8080, timeout=20)
    while time.monotonic() < end and not os.path.exists(stop):
        try:
            c.request("GET", "/")
            r = c.getresponse()
            if r.status == 200 and r.read() in (b"rs1rs1", b"rs2rs2"):
                answered[i] += 1
                port[i] = c.sock.getsockname()[1] if c.sock else 0
            else:
                failed[i] += 1
        except Exception as e:
            failed[i] += 1
            print("error:", i, "port", port[i], repr(e), flush=True)
            c = http.client.HTTPConnection(sys.argv[1], 8080, timeout=20)
        time.sleep(0.2)
ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print(sum(1 for i in range(n) if failed[i] == 0 and answered[i] > 0), sum(failed))
"""


class SyncPair(HaPair):
    sync = True

    def more_servers(self):
        start_long_servers(self.topo)

    def setUp(self):
        super().setUp()
        wait_for(lambda: "master sync daemon (mcast=" in self.a.fastvsd.output(), 20,
                 "A's master sync daemon")
        wait_for(lambda: "backup sync daemon (mcast=" in self.b.fastvsd.output(), 20,
                 "B's backup sync daemon")
        # As ipvsadm -L --daemon prints them; the syncid is the instance's virtual_router_id
        # (keepalived's default). keepalived's daemons are not the operator's: -S leaves them.
        iface, syncid = ("dpdk1", 52) if self.kind == "nat" else ("dpdk0", 51)
        line = f" sync daemon (mcast={iface}, syncid={syncid}, maxlen=1472, group=224.0.0.81, " \
               "port=8848, ttl=1)\n"
        self.assertEqual(self.a.adm("-L", "--daemon"), "master" + line)
        self.assertEqual(self.b.adm("-L", "--daemon"), "backup" + line)
        self.assertNotIn("daemon", self.a.adm("-S", "-n"))
        # keepalived's daemons are not started or stopped by hand.
        r = subprocess.run([FASTVSADM, "--socket", self.b.sock, "--stop-daemon", "backup"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the sync daemons are keepalived's here (", r.stderr)
        self.assertEqual(self.b.adm("-L", "--daemon"), "backup" + line)

    def client(self, *cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", f"{topo.PREFIX}client", *cmd],
                                stdout=subprocess.PIPE, text=True, **kw)

    def get(self, source, path="/"):
        """One request to VIP:80 from `source`: the real server's page."""
        return topo.ns("client", f"curl -s --max-time 5 --interface {source} "
                       f"http://{VIP}{path}", capture=True)

    def conns_of(self, d, port):
        """The client's ESTABLISHED connections to VIP:port that d's -L -c -n lists."""
        return [line for line in d.adm("-L", "-c", "-n").splitlines()
                if re.match(rf"TCP\s+\d\d:\d\d\s+ESTABLISHED\s+{re.escape(topo.CIP)}:\d+\s+"
                            rf"{re.escape(VIP)}:{port}\s", line)]

    def test_connections_survive_the_masters_death(self):
        # Persistence: CIP2 takes rr's first pick, so CIP's template names the other server;
        # the backup, scheduling afresh, would give CIP its first pick.
        first = self.get(CIP2)
        mine = self.get(topo.CIP)
        self.assertIn(first, ("rs1rs1", "rs2rs2"))
        self.assertIn(mine, ("rs1rs1", "rs2rs2"))
        self.assertNotEqual(mine, first)
        # The download lasts 24 s, the loop and the 100 until told to stop: all of
        # them still under way at the failover however long the backup takes to list them.
        download = self.client("/usr/bin/python3", "-c", SLOW_DOWNLOAD, VIP, str(BIG // 24))
        stop = os.path.join(self.topo.dir, "stop-clients")
        loop = self.client("/usr/bin/python3", "-c", KEEPALIVE_CLIENT, VIP, "60", stop)
        many = self.client("/usr/bin/python3", "-c", MANY_CLIENT, VIP, "100", "60", stop)
        self.addCleanup(lambda: [p.kill() for p in (download, loop, many)])

        def sync_state():
            return f"{len(self.conns_of(self.b, 80))} to 80 and " \
                f"{len(self.conns_of(self.b, 8080))} to 8080 listed on B; A queued " \
                f"{self.a.fastvsd.total('sync_queued')}, dropped " \
                f"{self.a.fastvsd.total('sync_dropped')}; B applied " \
                f"{self.b.fastvsd.total('sync_applied')}; A lists " \
                f"{len(self.conns_of(self.a, 80))} to 80 and " \
                f"{len(self.conns_of(self.a, 8080))} to 8080"
        # The backup has the client's connections before the failover: the download, the loop
        # and the 100.
        wait_for(lambda: len(self.conns_of(self.b, 80)) >= 1 and
                 len(self.conns_of(self.b, 8080)) >= 101, 20,
                 "B to list the client's connections (-L -c)", detail=sync_state)
        listed = len(self.conns_of(self.b, 8080))
        out_counter = "nat_out" if self.kind == "nat" else "dr_out"
        base = self.a.fastvsd.total(out_counter)
        wait_for(lambda: self.a.fastvsd.total(out_counter) >= base + 500, 20,
                 "traffic through A")
        t0 = time.monotonic()
        self.a.fastvsd.proc.kill()
        self.a.fastvsd.proc.wait()
        wait_for(lambda: self.b.is_master() and self.b.holds_vip(), 30, "B to take the VIP")
        took = time.monotonic() - t0
        wait_for(lambda: "master sync daemon (mcast=" in self.b.fastvsd.output(), 20,
                 "B's keepalived-tied sync daemon to turn master")
        # Every connection carries on through B (4000 packets: some 4 s of the 100's requests
        # and the download's acks), then the clients stop; each finishes the request it is in.
        base = self.b.fastvsd.total(out_counter)
        wait_for(lambda: self.b.fastvsd.total(out_counter) >= base + 4000, 30,
                 "traffic through B")
        open(stop, "w").close()
        out, _ = download.communicate(timeout=120)
        self.assertEqual(out.split()[:2], ["200", str(BIG)], "the download broke")
        download_s = float(out.split()[2])
        out, _ = loop.communicate(timeout=60)
        ok, failed, conns = (int(x) for x in out.split()[-3:])
        self.assertEqual((failed, conns), (0, 1), out)
        out, _ = many.communicate(timeout=90)
        survived, failures = (int(x) for x in out.split()[-2:])
        # The backup scheduled nothing itself: every packet after the failover went by a
        # synced connection or template.
        self.assertEqual(self.b.fastvsd.total("conns_created"), 0)
        # Persistence: CIP's new connection goes where its synced template says.
        self.assertEqual(self.get(topo.CIP), mine)
        print(f"sync_{self.kind}: B took the VIP {took:.2f} s after A's fastvsd was killed; "
              f"{listed} connections to 8080 listed on B before; the download whole in "
              f"{download_s:.1f} s, the "
              f"keep-alive loop {ok} requests none failed, {survived}/100 concurrent "
              f"connections survived ({failures} failed requests)", file=sys.stderr)
        self.assertEqual(survived, 100, f"{out}B's -L -c -n:\n{self.b.adm('-L', '-c', '-n')}"
                         f"B's drops: {self.b.fastvsd.drops()}")
        applied = self.b.fastvsd.total("sync_applied")
        self.assertGreaterEqual(applied, 102)
        self.assertEqual(self.a.fastvsd.total("sync_dropped"), 0)


# One sync message as a real server on the master's LAN receives it (joined to the group on its
# eth0): its first 8 bytes (IPVS's version 1 header) and its length, in hex.
MCAST_LISTENER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("224.0.0.81", 8848))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("224.0.0.81") + socket.inet_aton(sys.argv[1]))
s.settimeout(20)
data = s.recv(65536)
print(data[:8].hex(), len(data), flush=True)
"""


class MasterFromTheConfigFile(unittest.TestCase):
    """A master the --config file starts (fastvsd's first snapshot runs it, before the workers
    exist): the client's connections go out on the wire as IPVS version 1 messages, none lost."""

    def test_a_config_file_master_syncs(self):
        lab = topo.Topology("nat")
        self.addCleanup(lab.destroy)
        lab.start_servers()
        conf = os.path.join(lab.dir, "lab.conf")
        with open(conf, "w") as f:
            f.write(lab_config() + "--start-daemon master --mcast-interface dpdk1 --syncid 9\n")
        listener = subprocess.Popen(
            ["ip", "netns", "exec", f"{topo.PREFIX}rs1", "/usr/bin/python3", "-c",
             MCAST_LISTENER, topo.RS["rs1"]], stdout=subprocess.PIPE, text=True)
        self.addCleanup(listener.kill)
        eal = ["--lcores", "0@0,1@1", "--no-huge", "-m", "512", "--no-shconf"] + \
            topo.vdev_args(lab.ports, DRIVER)
        d = Fastvsd(eal, ["--config", conf, "--idle-sleep-us", "200"], lab.dir, "fvssyncm",
                    netns=topo.DIRECTOR_NS, kernel_path=True)
        self.addCleanup(lambda: (d.stop(), d.close()))
        d.wait_started()
        wait_for(lambda: "master sync daemon (mcast=dpdk1, syncid=9, maxlen=1472, "
                 "group=224.0.0.81, port=8848, ttl=1) started" in d.output(), 20,
                 "the master sync daemon", interval=0.1)
        for _ in range(3):
            self.assertIn(topo.curl(topo.CIP, f"http://{VIP}/", timeout=5), ("rs1rs1", "rs2rs2"))
        wait_for(lambda: d.total("sync_queued") >= 3, 10, "the connections recorded")
        self.assertEqual(d.total("sync_dropped"), 0)
        out, _ = listener.communicate(timeout=30)
        header, length = out.split()
        # reserved 0, syncid 9, size (the datagram's), count >= 1, version 1, spare 0
        self.assertEqual(header[:4], "0009")
        self.assertEqual(int(header[4:8], 16), int(length))
        self.assertGreaterEqual(int(header[8:10], 16), 1)
        self.assertEqual(header[10:], "010000")


class SyncDr(SyncPair, unittest.TestCase):
    kind = "dr"


class SyncNat(SyncPair, unittest.TestCase):
    kind = "nat"


if __name__ == "__main__":
    unittest.main(verbosity=2)
