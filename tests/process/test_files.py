#!/usr/bin/python3
"""Every file fastvsd reads is bounded and regular (issue 23): a FIFO, /dev/zero, a directory or
a file over the limit as --config, --keepalived-conf or --keepalived-reload is refused at once
with one line naming it (no hang, no memory eaten), and a large load (-R) is parsed off the
control thread: listings are answered while it runs."""
import os
import subprocess
import sys
import tempfile
import shutil
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, RingDaemonTest, fastvsd_path, wait_for  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
EAL = ["-l", "0-1", "--no-huge", "-m", "256", "--no-shconf", "--vdev", "net_ring0",
       "--vdev", "net_ring1"]


class StartRefusals(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fvsfile-")
        self.fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(self.fifo)
        self.big = os.path.join(self.dir, "big.conf")
        with open(self.big, "w") as f:
            f.truncate((64 << 20) + 1)  # sparse: the limit plus one byte

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def refused(self, option, path, why):
        d = Fastvsd(EAL, ["--socket", os.path.join(self.dir, "s.sock"), option, path], self.dir,
                    "fvsfile")
        try:
            rc = d.proc.wait(30)  # a FIFO read would hang: the bound says it did not
        except subprocess.TimeoutExpired:
            d.proc.kill()
            d.proc.wait()
            self.fail(f"fastvsd {option} {path}: still running after 30 s")
        out = d.output()
        d.close()
        self.assertEqual(rc, 1, out)
        self.assertIn(f"fastvsd: {path}: {why}\n", out)

    def test_config(self):
        self.refused("--config", self.fifo, "a FIFO, not a regular file")
        self.refused("--config", "/dev/zero", "a character device, not a regular file")
        self.refused("--config", self.dir, "a directory, not a regular file")
        self.refused("--config", self.big,
                     "larger than 67108864 bytes, the limit for a configuration file")

    def test_keepalived_conf(self):
        self.refused("--keepalived-conf", self.fifo, "a FIFO, not a regular file")
        self.refused("--keepalived-conf", "/dev/zero", "a character device, not a regular file")


class Reloads(RingDaemonTest):
    PREFIX = "fvsfiler"
    STATS_INTERVAL_MS = 1000  # the default: 200,000 destinations are counted once a second

    def adm(self, *args, stdin=None):
        return subprocess.run([FASTVSADM, "--socket", self.sock, *args], input=stdin,
                              capture_output=True, text=True, timeout=60)

    def test_reload_of_what_is_not_a_regular_file_is_refused(self):
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)
        for path, why in ((fifo, "a FIFO, not a regular file"),
                          ("/dev/zero", "a character device, not a regular file"),
                          (self.dir, "a directory, not a regular file")):
            r = self.adm("--keepalived-reload", path)
            self.assertEqual((r.returncode, r.stderr), (1, f"fastvsadm: {path}: {why}\n"))
        self.assertEqual(self.adm("-L", "-n").returncode, 0)

    def test_listings_are_answered_while_a_large_restore_is_parsed(self):
        self.assertEqual(self.adm("ip", "addr", "add", "10.255.255.254/8", "dev", "dpdk1").returncode,
                         0)
        lines = ["-A -t 172.16.0.1:80 -s rr"]
        lines += [f"-a -t 172.16.0.1:80 -r 10.{(i + 1) >> 16}.{((i + 1) >> 8) & 255}.{(i + 1) & 255}:80 -m"
                  for i in range(200000)]
        text = "\n".join(lines) + "\n"
        restore = subprocess.Popen([FASTVSADM, "--socket", self.sock, "-R"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        restore.stdin.write(text)
        restore.stdin.close()
        answered_during = 0
        deadline = time.monotonic() + 60
        while restore.poll() is None and time.monotonic() < deadline:
            r = self.adm("-L", "-n")
            self.assertEqual(r.returncode, 0, r.stderr)
            if restore.poll() is None:
                answered_during += 1
        self.assertEqual(restore.wait(60), 0, restore.stderr.read())
        self.assertGreater(answered_during, 0, "no listing was answered while -R was parsed")
        self.assertEqual(self.adm("-C").returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
