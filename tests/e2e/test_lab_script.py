#!/usr/bin/python3
"""The README's lab command (scripts/lab's body, scripts/lab.py, on the already built tree):
every mode shows both real servers answering in turn and the table, and a run after one that
was killed with SIGKILL (leaving namespaces, XDP programs and a daemon behind) still works;
`ha dr` shows three failovers and two failbacks."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LAB = [sys.executable if sys.executable else "/usr/bin/python3", os.path.join(ROOT, "scripts", "lab.py")]
FORWARD = {"nat": "Masq", "nat1": "Masq", "dr": "Route", "tun": "Tunnel", "nat6": "Masq",
           "dr6": "Route"}


def run_lab(mode):
    return subprocess.run(LAB + [mode], capture_output=True, text=True, timeout=180)


class LabScript(unittest.TestCase):
    def check(self, mode, r):
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        pages = re.findall(r"request +\d+: (rs[12]rs[12])", r.stdout)
        self.assertEqual(len(pages), 8, r.stdout)
        self.assertTrue(all(a != b for a, b in zip(pages, pages[1:])), pages)  # in turn
        if mode.endswith("6"):
            self.assertRegex(r.stdout, rf"-> \[2001:db8:1::18\]:80 +{FORWARD[mode]} ")
            self.assertIn("$ fastvsadm -A -t [2001:db8::1]:80 -s wrr", r.stdout)
            # rs1's own log: the client's address, kept by both methods.
            self.assertRegex(r.stdout, r'\n    2001:db8::2 - - \[.*\] "GET / HTTP/1\.1" 200')
            # The director's own stack over IPv6, from fastvsd's address on its TAP interface.
            self.assertRegex(r.stdout, r"curl -6 http://\[2001:db8:1::18\]/ in fvs-dir\S*\n"
                                       r"    rs1rs1\n")
        else:
            self.assertRegex(r.stdout, rf"-> 192\.168\.0\.18:80 +{FORWARD[mode]} ")
            self.assertIn("$ fastvsadm -A -t 172.16.254.200:80 -s wrr", r.stdout)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertNotIn("fvs-", left)

    def test_every_mode(self):
        for mode in ("nat", "nat1", "dr", "tun", "nat6", "dr6"):
            with self.subTest(mode=mode):
                self.check(mode, run_lab(mode))

    def test_a_run_after_a_killed_one(self):
        p = subprocess.Popen(LAB + ["nat"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
        # Kill it (and its fastvsd) once it is sending requests.
        for line in p.stdout:
            if "curl http://" in line:
                break
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        time.sleep(0.2)
        self.check("nat", run_lab("nat"))

    def test_ha(self):
        # With connection sync (--sync: every part of plain `ha dr`, and a download across the
        # first failover).
        r = subprocess.run(LAB + ["ha", "dr", "--sync"], capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        took = re.findall(r"fvs-dir2 took over: it holds the VIP ([\d.]+) s after the failure; "
                          r"first answered request ([\d.]+) s after the failure, (\d+) failed "
                          r"in between", r.stdout)
        self.assertEqual(len(took), 3, r.stdout)
        self.assertEqual(r.stdout.count("fvs-dir is master again"), 2, r.stdout)
        self.assertRegex(r.stdout, r"fvs-dir: MASTER; keepalived's addresses: \['inet "
                                   r"172\.16\.254\.200/24 scope global dpdk0 \(added on the host\)'\]")
        self.assertRegex(r.stdout, r"fvs-dir2's fastvsd: [\d.]+ CPU seconds in \d+ s")
        self.assertIn("fvs-dir: master sync daemon (mcast=dpdk0, syncid=51, maxlen=1472, "
                      "group=224.0.0.81, port=8848, ttl=1)", r.stdout)
        self.assertIn("fvs-dir2: backup sync daemon (mcast=dpdk0, syncid=51,", r.stdout)
        self.assertRegex(r.stdout, r"TCP \d\d:\d\d  ESTABLISHED 172\.16\.254\.10:\d+ "
                                   r"172\.16\.254\.200:80 +192\.168\.0\.[12]8:80")
        self.assertIn("the download went on to its end: 200 6291456 (HTTP status, bytes)",
                      r.stdout)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertNotIn("fvs-", left)


if __name__ == "__main__":
    unittest.main(verbosity=2)
