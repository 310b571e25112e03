#!/usr/bin/python3
"""MISC_CHECK programs are contained, in fastvsd as a process (net_ring ports, checks added by
fastvsadm): what a program leaves behind (a background child, a setsid'd process and its child)
does not outlive its run, nor its timeout, nor fastvsd stopped or killed; its output stays out of
fastvsd's log, unless --misc-check-output asks for a bounded excerpt, one line a run.

The scripts record the pid of every process they start in DIR/pids; a test polls (bounded) until
none of them exists any more, or fails naming the survivors."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
SERVICE = "10.0.0.1:80"
RS = "192.168.0.18:80"

# Leaves a background child and a setsid'd process with a child of its own, all sleeping, and
# floods its standard error (and writes a line on its standard output); then exits 0 or, with
# `hang`, sleeps past its timeout.
SCRIPT = r"""
D="$1"
echo run >> "$D/runs"
sh -c 'echo $$ >> "$0/pids"; exec sleep 300' "$D" &
setsid sh -c 'sleep 300 & echo $! >> "$0/pids"; echo $$ >> "$0/pids"; wait' "$D" &
echo $$ >> "$D/pids"
echo "MARK-stdout"
i=0; while [ $i -lt 2000 ]; do echo "MARK-stderr-flood-$i" >&2; i=$((i+1)); done
[ "$2" = hang ] && exec sleep 300
exit 0
"""


def pids_alive(d):
    try:
        with open(os.path.join(d, "pids")) as f:
            pids = [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        # Not a process that took the pid since: the script's own, or its `sleep 300`.
        if d.encode() in cmd or cmd == b"sleep\x00300\x00":
            alive.append(pid)
    return alive


def runs(d):
    try:
        with open(os.path.join(d, "runs")) as f:
            return len(f.read().split())
    except FileNotFoundError:
        return 0


class MiscCheckDaemon(unittest.TestCase):
    """A fastvsd per test (some stop or kill it), with one checked service."""
    OUTPUT = None  # --misc-check-output
    started = 0

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fvsmisc-")
        self.sock = os.path.join(self.dir, "fastvsd.sock")
        self.script = os.path.join(self.dir, "check.sh")
        with open(self.script, "w") as f:
            f.write(SCRIPT)
        args = ["--socket", self.sock, "--conn-capacity", "4096", "--idle-sleep-us", "500"]
        if self.OUTPUT is not None:
            args += ["--misc-check-output", str(self.OUTPUT)]
        self.d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "256", "--no-shconf",
                          "--vdev", "net_ring0", "--vdev", "net_ring1"], args, self.dir, f"fvsmisc{MiscCheckDaemon.started}-")
        MiscCheckDaemon.started += 1
        self.d.wait_started()
        wait_for(lambda: os.path.exists(self.sock), 10, "the CLI socket")
        self.adm("ip", "addr", "add", "192.168.0.8/24", "dev", "dpdk1")
        self.adm("-A", "-t", SERVICE, "-s", "rr")
        self.adm("-a", "-t", SERVICE, "-r", RS, "-m")

    def tearDown(self):
        if self.d.proc.poll() is None:
            self.d.stop()
        self.d.close()
        for pid in pids_alive(self.dir):  # what a failing test left
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def adm(self, *args):
        r = subprocess.run([FASTVSADM, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 0, f"fastvsadm {' '.join(args)}: {r.stderr}")
        return r.stdout

    def add_check(self, hang=False, timeout=10):
        self.adm("--check", "add", "-t", SERVICE, "-r", RS, "misc", "program=/bin/sh",
                 f"arg={self.script}", f"arg={self.dir}", *(["arg=hang"] if hang else []),
                 f"misc_timeout={timeout}", "interval=0.3", "warmup=0")

    def assert_quiet_log(self):
        """Nothing the scripts wrote is in fastvsd's log."""
        leaked = [line for line in self.d.output().splitlines() if "MARK" in line]
        self.assertEqual(len(leaked), 0, f"{len(leaked)} lines, e.g. {leaked[:3]}")

    def assert_all_gone(self, what, timeout=10):
        try:
            wait_for(lambda: not pids_alive(self.dir), timeout, what)
        except AssertionError:
            self.fail(f"{what}: still running: {pids_alive(self.dir)}")

    def check_list(self):
        return self.adm("--check", "list")


class Default(MiscCheckDaemon):
    def test_what_a_program_leaves_is_killed_and_its_output_goes_nowhere(self):
        self.add_check()
        wait_for(lambda: runs(self.dir) >= 3, 30, "three runs")
        self.assertRegex(self.check_list(), r"192\.168\.0\.18:80 +UP")
        self.adm("--check", "del", "-t", SERVICE)
        self.assert_all_gone("the runs' background and setsid'd processes")
        self.assert_quiet_log()

    def test_the_timeout_kills_setsid_descendants_too(self):
        self.add_check(hang=True, timeout=0.5)
        wait_for(lambda: runs(self.dir) >= 3, 30, "three runs")
        wait_for(lambda: "timed out after 0.5 s" in self.check_list(), 10, "a timeout")
        self.adm("--check", "del", "-t", SERVICE)
        # A run may have been under way when the check went: it runs to its timeout.
        self.assert_all_gone("the timed-out runs' processes")
        self.assert_quiet_log()

    def test_stopping_fastvsd_kills_a_run_under_way(self):
        self.add_check(hang=True, timeout=60)
        wait_for(lambda: len(pids_alive(self.dir)) >= 4, 30, "a run under way")
        self.assertEqual(self.d.stop(), 0)
        self.assert_all_gone("a run under way when fastvsd stopped", timeout=2)

    def test_a_run_does_not_outlive_fastvsd_killed(self):
        # The run's reaper sees its socket to fastvsd close, and ends the run.
        self.add_check(hang=True, timeout=60)
        wait_for(lambda: len(pids_alive(self.dir)) >= 4, 30, "a run under way")
        self.d.proc.kill()
        self.d.proc.wait()
        self.assert_all_gone("a run under way when fastvsd was killed")


class WithOutput(MiscCheckDaemon):
    OUTPUT = 40

    def test_a_bounded_escaped_excerpt_one_line_a_run(self):
        self.add_check()
        wait_for(lambda: runs(self.dir) >= 3, 30, "three runs")
        wait_for(lambda: len(re.findall(r" wrote \d+ bytes: ", self.d.output())) >= 2, 10,
                 "two runs' output in the log")
        self.adm("--check", "del", "-t", SERVICE)
        self.assert_all_gone("the runs' processes")
        lines = [line for line in self.d.output().splitlines() if "MARK" in line]
        self.assertGreaterEqual(len(lines), 2)
        for line in lines:
            # All of stdout and the flood on stderr counted, the first 40 bytes shown, escaped.
            m = re.search(r"fastvsd: health: TCP 10\.0\.0\.1:80: 192\.168\.0\.18:80: MISC_CHECK "
                          r"/bin/sh \S+ \S+ wrote (\d+) bytes: \"(.*)\"\.\.\.$", line)
            self.assertIsNotNone(m, line)
            self.assertEqual(int(m.group(1)), len("MARK-stdout\n") + sum(
                len(f"MARK-stderr-flood-{i}\n") for i in range(2000)))
            self.assertEqual(m.group(2), r"MARK-stdout\nMARK-stderr-flood-0\nMARK-std")


class BadOption(unittest.TestCase):
    def test_more_than_4096_bytes_is_refused(self):
        r = subprocess.run([fastvsd_path(), "--", "--misc-check-output", "4097"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "fastvsd: --misc-check-output '4097': expected a whole number "
                                   "from 0 to 4096 (see fastvsd --help)\n")


if __name__ == "__main__":
    unittest.main()
