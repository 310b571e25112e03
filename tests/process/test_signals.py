#!/usr/bin/python3
"""Signals as a daemon's users expect (control/signals.h), against fastvsd on net_ring ports:
SIGHUP reads --config again (all or nothing, the table becomes what the file says), SIGUSR1 logs
the counters, SIGUSR2 writes the stats file now, SIGPIPE and the other signals that would end a
process are logged and ignored, a log pipe whose reader went away does not stop the director,
SIGQUIT stops it cleanly."""
import os
import signal
import subprocess
import sys
import tempfile
import shutil
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
ADDRS = "ip addr add 172.16.254.200/24 dev dpdk0\nip addr add 192.168.0.8/24 dev dpdk1\n"
EAL = ["-l", "0-1", "--no-huge", "-m", "256", "--no-shconf", "--vdev", "net_ring0",
       "--vdev", "net_ring1"]


class Signals(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fvssig-")
        self.sock = os.path.join(self.dir, "fastvsd.sock")
        self.conf = os.path.join(self.dir, "fastvs.conf")
        self.write_conf("-A -t 172.16.254.200:80 -s rr\n"
                        "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m\n")
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.stop()
            self.d.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_conf(self, services):
        with open(self.conf, "w") as f:
            f.write(ADDRS + services)

    def start(self, app_args=(), **kw):
        self.d = Fastvsd(EAL, ["--socket", self.sock, "--idle-sleep-us", "500",
                               "--config", self.conf, *app_args], self.dir, "fvssig", **kw)
        wait_for(lambda: os.path.exists(self.sock), 20, "the CLI socket")

    def adm(self, *args):
        r = subprocess.run([FASTVSADM, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def logged(self, text, timeout=10):
        wait_for(lambda: text in self.d.output(), timeout, f"{text!r} in the log")

    def test_sighup_reloads_the_config_file_all_or_nothing(self):
        self.start()
        self.adm("-A", "-t", "172.16.254.200:443", "-s", "wlc")  # live, not in the file
        self.write_conf("-A -t 172.16.254.200:8080 -s wrr\n"
                        "-a -t 172.16.254.200:8080 -r 192.168.0.28:80 -m -w 3\n")
        self.d.proc.send_signal(signal.SIGHUP)
        want = ("-A -t 172.16.254.200:8080 -s wrr\n"
                "-a -t 172.16.254.200:8080 -r 192.168.0.28:80 -m -w 3\n")
        wait_for(lambda: self.adm("-S", "-n") == want, 10, "the file's table in force")
        self.logged("SIGHUP: applied")
        # A bad line: refused with its line, nothing changed.
        self.write_conf("-A -t 172.16.254.200:9000 -s rr\n-A -t 172.16.254.200:9001 -s nope\n")
        self.d.proc.send_signal(signal.SIGHUP)
        self.logged(f"SIGHUP: refused, nothing changed: {self.conf}:4: bad scheduler name 'nope'")
        self.assertEqual(self.adm("-S", "-n"), want)
        self.assertIsNone(self.d.proc.poll())

    def test_sigusr1_logs_and_sigusr2_writes_the_stats_file(self):
        self.start(stats_interval_ms=3600000)
        wait_for(lambda: os.path.exists(self.d.stats), 10, "the first stats file")
        os.unlink(self.d.stats)
        self.d.proc.send_signal(signal.SIGUSR2)
        wait_for(lambda: os.path.exists(self.d.stats), 10, "the stats file written on SIGUSR2")
        self.logged("SIGUSR2")
        self.d.proc.send_signal(signal.SIGUSR1)
        self.logged(": 1 services, 1 destinations, 0 connections")
        self.logged("counters: ")

    def test_other_signals_are_ignored(self):
        self.start()
        sigs = [signal.SIGPIPE, signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF, signal.SIGIO,
                signal.SIGPWR, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGSTKFLT,
                signal.SIGRTMIN, signal.SIGRTMIN + 5, signal.SIGRTMAX]
        for sig in sigs:
            self.d.proc.send_signal(sig)
        for name in ("SIGALRM", "SIGVTALRM", "SIGPROF", "SIGPOLL", "SIGPWR", "SIGXCPU", "SIGXFSZ",
                     "SIGSTKFLT", "SIGRTMIN (from", "SIGRTMIN+5 (from", "SIGRTMIN+30 (from"):
            self.logged(name + " (from" if "(from" not in name else name)
        self.assertIsNone(self.d.proc.poll(), self.d.output())
        self.adm("-L", "-n")

    def test_a_closed_log_pipe_does_not_stop_the_director(self):
        r, w = os.pipe()
        try:
            self.start(stderr=w)
        finally:
            os.close(w)
        os.close(r)  # the log's reader goes away: every write now fails with EPIPE
        for port in range(9000, 9010):  # each change logs a line
            self.adm("-A", "-t", f"172.16.254.200:{port}", "-s", "rr")
        self.assertIsNone(self.d.proc.poll())
        self.assertIn("TCP  172.16.254.200:9009", self.adm("-L", "-n"))

    def test_sigquit_stops_cleanly(self):
        self.start()
        self.d.proc.send_signal(signal.SIGQUIT)
        self.assertEqual(self.d.proc.wait(20), 0)
        self.assertIn("SIGQUIT", self.d.output())
        self.assertIn("stopped", self.d.output())
        self.assertFalse(os.path.exists(self.sock))


if __name__ == "__main__":
    unittest.main(verbosity=2)
