#!/usr/bin/python3
"""FILE_CHECK, and notify and quorum scripts, in fastvsd as a process (net_ring ports): keepalived.conf's track_file and
FILE_CHECK loaded by `fastvsadm --keepalived-reload`, and `fastvsadm --check add ... file`; an
operator (or a script) writes a number to the file and `fastvsadm -L -n` follows it: the weight
moves by number x weight, weight 0 takes the server out on a non-zero number, deleting the file
counts as 0. A FILE_CHECK with weight 0 is a switch that drives the real server's notify_down
and notify_up, and the virtual server's quorum_down and quorum_up scripts, which write to a
file. Every wait is a bounded poll."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")

KEEPALIVED_CONF = """\
track_file rs18 {{
    file {dir}/rs18
    weight 10
    init_file 2
}}
virtual_server 10.0.0.1 80 {{
    delay_loop 6
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 192.168.0.18 80 {{
        weight 5
        FILE_CHECK {{
            track_file rs18
        }}
    }}
    real_server 192.168.0.28 80 {{
        weight 5
    }}
}}
"""


SCRIPTS_CONF = """\
track_file gate {{
    file {dir}/gate
    weight 0
}}
virtual_server 10.0.0.1 80 {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    omega
    quorum_up "/bin/sh -c 'echo quorum_up >> {dir}/log'" root
    quorum_down "/bin/sh -c 'echo quorum_down >> {dir}/log'" root
    real_server 192.168.0.18 80 {{
        notify_up "/bin/sh -c 'echo notify_up >> {dir}/log'" root
        notify_down "/bin/sh -c 'echo notify_down >> {dir}/log'" root
        FILE_CHECK {{
            track_file gate
        }}
    }}
}}
"""


class FileCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fvsfile-")
        self.sock = os.path.join(self.dir, "fastvsd.sock")
        self.d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "256", "--no-shconf",
                          "--vdev", "net_ring0", "--vdev", "net_ring1"],
                         ["--socket", self.sock, "--conn-capacity", "4096",
                          "--idle-sleep-us", "500"], self.dir, "fvsfile-")
        self.d.wait_started()
        wait_for(lambda: os.path.exists(self.sock), 10, "the CLI socket")
        self.adm("ip", "addr", "add", "192.168.0.8/24", "dev", "dpdk1")

    def tearDown(self):
        if self.d.proc.poll() is None:
            self.d.stop()
        self.d.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def adm(self, *args, ok=True):
        r = subprocess.run([FASTVSADM, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=20)
        if ok:
            self.assertEqual(r.returncode, 0, f"fastvsadm {' '.join(args)}: {r.stderr}")
        return r

    def weights(self):
        """{real server: weight} of 10.0.0.1:80 as -L -n lists it."""
        out = self.adm("-L", "-n", "-t", "10.0.0.1:80").stdout
        return {m[0]: int(m[1]) for m in re.findall(r"-> (\S+)\s+\S+\s+(\d+)", out)}

    def wait_weights(self, want):
        wait_for(lambda: self.weights() == want, 10, f"the table {want}",
                 detail=lambda: f"-L -n: {self.weights()}; --check list:\n"
                 + self.adm("--check", "list").stdout)

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)

    def test_keepalived_track_file(self):
        conf = os.path.join(self.dir, "keepalived.conf")
        self.write(conf, KEEPALIVED_CONF.format(dir=self.dir))
        self.adm("--keepalived-reload", conf)
        state = os.path.join(self.dir, "rs18")
        # init_file wrote 2 (the file did not exist): 5 + 2 x 10.
        self.wait_weights({"192.168.0.18:80": 25, "192.168.0.28:80": 5})
        with open(state) as f:
            self.assertEqual(f.read(), "2\n")
        self.write(state, "4\n")
        self.wait_weights({"192.168.0.18:80": 45, "192.168.0.28:80": 5})
        os.remove(state)
        self.wait_weights({"192.168.0.18:80": 5, "192.168.0.28:80": 5})
        # A number keepalived cannot read as an int: logged and ignored.
        self.write(state, "99999999999\n")
        wait_for(lambda: "not a number in range (ignored)" in self.d.output(), 10,
                 "the log line for a number out of range")
        self.assertEqual(self.weights(), {"192.168.0.18:80": 5, "192.168.0.28:80": 5})

    def test_notify_and_quorum_scripts(self):
        conf = os.path.join(self.dir, "keepalived.conf")
        self.write(conf, SCRIPTS_CONF.format(dir=self.dir))
        r = self.adm("--keepalived-reload", conf)
        self.assertNotIn("notify", r.stdout + r.stderr)  # no "not handled" warning any more
        self.wait_weights({"192.168.0.18:80": 1})
        log = os.path.join(self.dir, "log")

        def lines():
            try:
                with open(log) as f:
                    return sorted(f.read().split())
            except FileNotFoundError:
                return []
        # --check list answers once the health thread has taken the configuration: the file is
        # read as it stands at start (absent: 0, up), and a transition only comes after.
        self.assertRegex(self.adm("--check", "list").stdout, r"192.168.0.18:80 +UP")
        self.assertEqual(lines(), [])  # nothing at start
        self.write(os.path.join(self.dir, "gate"), "1")
        self.wait_weights({})
        wait_for(lambda: lines() == ["notify_down", "quorum_down"], 10, "the down scripts",
                 detail=lines)
        self.write(os.path.join(self.dir, "gate"), "0")
        self.wait_weights({"192.168.0.18:80": 1})
        wait_for(lambda: lines() == sorted(["notify_down", "quorum_down", "notify_up",
                                            "quorum_up"]), 10, "the up scripts", detail=lines)
        self.assertIn("Executing [/bin/sh -c 'echo notify_up >> ", self.d.output())
        # omega: the down scripts run as fastvsd stops, and the log says so.
        self.d.stop()
        self.assertEqual(lines(), sorted(["notify_down", "quorum_down", "notify_up", "quorum_up",
                                          "notify_down", "quorum_down"]))
        self.assertIn("omega (notify_down)", self.d.output())
        self.assertIn("omega (quorum_down)", self.d.output())

    def test_fastvsadm_check_add_file(self):
        self.adm("-A", "-t", "10.0.0.1:80", "-s", "rr")
        self.adm("-a", "-t", "10.0.0.1:80", "-r", "192.168.0.18:80", "-m", "-w", "3")
        gate = os.path.join(self.dir, "gate")
        self.adm("--check", "add", "-t", "10.0.0.1:80", "-r", "192.168.0.18:80", "file",
                 f"file={gate}", "weight=0")
        self.wait_weights({"192.168.0.18:80": 3})  # no file: 0, up
        self.assertRegex(self.adm("--check", "list").stdout, r"192.168.0.18:80 +UP")
        self.write(gate, "1")
        self.wait_weights({})  # weight 0: a non-zero number takes it out
        self.assertIn(f"FILE_CHECK {gate}: the file holds 1", self.adm("--check", "list").stdout)
        self.write(gate, "0")
        self.wait_weights({"192.168.0.18:80": 3})
        # A directory that does not exist is refused at once, and changes nothing.
        r = self.adm("--check", "add", "-t", "10.0.0.1:80", "-r", "192.168.0.18:80", "file",
                     "file=/nonexistent-fastvs/x", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("file check: directory '/nonexistent-fastvs/': No such file or directory",
                      r.stderr)
        checkers = re.findall(r"^\s+(?:up|down)\s+FILE_CHECK", self.adm("--check", "list").stdout,
                              re.M)
        self.assertEqual(len(checkers), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
