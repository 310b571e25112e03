#!/usr/bin/python3
"""A port's MTU is its interface's: `fastvsadm ip link` and `ip addr` print it (they printed
1500 whatever the port had), and the start-up log names it; the kernel path's TAP interfaces
take it too. Two veths of MTU 1400 and 2000 in
a namespace of the test's own, fastvsd on their ends with the driver under test."""
import os
import subprocess
import sys
import tempfile
import shutil
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import topo  # noqa: E402
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

DRIVER = os.environ.get("FASTVS_E2E_DRIVER", "af_packet")
FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
NS = topo.PREFIX + "mtu"


class PortMtu(unittest.TestCase):
    def setUp(self):
        topo.require_root()
        topo.cleanup()
        self.dir = tempfile.mkdtemp(prefix="fvs-mtu-")
        topo.sh(f"ip netns add {NS}")
        for name, mtu in (("fvm0", 1400), ("fvm1", 2000)):
            topo.sh(f"ip -n {NS} link add {name} mtu {mtu} type veth peer name {name}p mtu {mtu}")
            topo.sh(f"ip -n {NS} link set {name} up")
            topo.sh(f"ip -n {NS} link set {name}p up")
        self.sock = os.path.join(self.dir, "fastvsd.sock")
        self.d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "512", "--no-shconf"] +
                         topo.vdev_args(["fvm0", "fvm1"], DRIVER),
                         ["--socket", self.sock, "--idle-sleep-us", "500"], self.dir, "fvsmtu",
                         netns=NS, kernel_path=True)

    def tearDown(self):
        self.d.stop()
        self.d.close()
        topo.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def adm(self, *args):
        r = subprocess.run([FASTVSADM, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_ports_show_their_interfaces_mtu(self):
        self.d.wait_started()
        wait_for(lambda: os.path.exists(self.sock), 10, "the CLI socket")
        link = self.adm("ip", "link")
        self.assertIn("1: dpdk0: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 1400 driver", link)
        self.assertIn("2: dpdk1: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 2000 driver", link)
        addr = self.adm("ip", "addr")
        self.assertIn("1: dpdk0: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 1400\n", addr)
        self.assertIn("2: dpdk1: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 2000\n", addr)
        log = self.d.output()
        self.assertIn(", mtu 1400, ", log)
        self.assertIn(", mtu 2000, ", log)
        # The kernel path's interfaces take their port's MTU, so that the host's packets fit
        # the port; above net_tap's largest (1500) they keep that, and the log says so.
        for dev, mtu in (("dpdk0", 1400), ("dpdk1", 1500)):
            self.assertIn(f" mtu {mtu} ", topo.sh(f"ip -n {NS} link show {dev}", capture=True),
                          self.d.output())
        self.assertIn("kernel path: dpdk1 keeps MTU 1500, below its port's 2000", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
