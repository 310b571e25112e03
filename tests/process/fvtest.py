"""Helpers for tests that run fastvsd as a process: EAL flags, polling, clean shutdown."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest


def fastvsd_path():
    p = os.environ.get("FASTVSD")
    if p and os.path.exists(p):
        return p
    here = os.path.dirname(os.path.abspath(__file__))
    p = os.path.join(here, "..", "..", "build", "fastvsd")
    if os.path.exists(p):
        return os.path.abspath(p)
    raise RuntimeError("fastvsd not built: set FASTVSD or build into build/")


def runtime_dir(prefix):
    """Where the EAL (and dpdk-telemetry.py) put a file prefix's runtime files."""
    base = os.environ.get("RUNTIME_DIRECTORY") or (
        "/var/run" if os.getuid() == 0 else os.environ.get("XDG_RUNTIME_DIR", "/tmp"))
    return os.path.join(base, "dpdk", prefix)


def remove_runtime_dir(prefix):
    """The EAL leaves its runtime directory behind (empty after a clean exit): ours only."""
    d = runtime_dir(prefix)
    assert not os.path.exists(os.path.join(d, "dpdk_telemetry.v2")), "socket left behind"
    if os.path.isdir(d):
        os.rmdir(d)


def wait_for(cond, timeout, what, interval=0.05, detail=None):
    """Polls cond() until it returns a true value; fails after `timeout` seconds, saying what
    detail() (if given) says of the state it ended in."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    more = f"; {detail()}" if detail else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r}){more}")


class Fastvsd:
    """fastvsd as a child process, with a stats file to poll and a clean stop."""

    def __init__(self, eal_args, app_args, workdir, name="fvs", telemetry=False, netns=None,
                 kernel_path=False, stats_interval_ms=50, stderr=None, wrap=(), stats=None,
                 state_file=None):
        """netns: run inside that network namespace (`ip netns exec`). kernel_path: keep
        fastvsd's TAP interfaces for the host's stack (off by default here: a test in the root
        namespace must not give the host addresses and routes). wrap: a command the whole runs
        under (it must exec its arguments, so that the process is fastvsd's). stats: the stats
        file's path (default: stats.json in workdir). state_file: --state-file's path (default:
        --no-state-file, so that no test shares the default /var/lib/fastvs/fastvsd.state)."""
        self.workdir = workdir
        self.prefix = f"{name}{os.getpid()}"
        self.stats = stats or os.path.join(workdir, "stats.json")
        # Appended to (O_APPEND): the child shares the file's offset, and a write of its must
        # not land where output() last seeked to (one line overwriting another).
        path = os.path.join(workdir, "fastvsd.log")
        open(path, "w").close()
        self.log = open(path, "a")
        eal_telemetry = ["--log-level", "lib.telemetry:error"] if telemetry else ["--no-telemetry"]
        self.cmd = [fastvsd_path(), "--file-prefix", self.prefix, "--no-pci"] + eal_telemetry + \
                   ["--log-level", "lib.eal:error"] + eal_args + \
                   ["--", "--stats-file", self.stats, "--stats-interval-ms",
                    str(stats_interval_ms)] + app_args
        if not kernel_path:
            self.cmd.append("--no-kernel-path")
        self.cmd += ["--state-file", state_file] if state_file else ["--no-state-file"]
        if netns:
            self.cmd = ["ip", "netns", "exec", netns] + self.cmd
        # stderr: where fastvsd's log goes (default: the log file, with stdout).
        self.cmd = list(wrap) + self.cmd
        self.proc = subprocess.Popen(self.cmd, stdout=self.log,
                                     stderr=subprocess.STDOUT if stderr is None else stderr)

    def counters(self):
        try:
            with open(self.stats) as f:
                return json.load(f)
        except (OSError, ValueError):
            if self.proc.poll() is not None:
                raise AssertionError(f"fastvsd exited {self.proc.returncode}:\n{self.output()}")
            return None

    def total(self, key):
        c = self.counters()
        if not c:
            return 0
        return sum(w[key] for w in c["workers"])

    def drops(self):
        c = self.counters() or {"workers": []}
        out = {}
        for w in c["workers"]:
            for k, v in w["drops"].items():
                out[k] = out.get(k, 0) + v
        return {k: v for k, v in out.items() if v}

    def wait_started(self, timeout=20):
        wait_for(lambda: self.counters() is not None, timeout, "fastvsd to start")

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("fastvsd did not stop on SIGTERM")
        return self.proc.returncode

    def close(self):
        self.log.close()
        if self.proc.poll() is not None:  # the EAL's runtime directory, once it is done with it
            shutil.rmtree(runtime_dir(self.prefix), ignore_errors=True)

    def output(self):
        with open(self.log.name) as f:  # a reader of its own: the child's offset is untouched
            return f.read()


class RingDaemonTest(unittest.TestCase):
    """One fastvsd for the whole class, on two net_ring ports (no traffic: the control side),
    its CLI socket in cls.sock. Subclasses set PREFIX and may set MEMORY (MB)."""
    PREFIX = "fvsring"
    MEMORY = 256
    STATS_INTERVAL_MS = 50

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix=f"{cls.PREFIX}-")
        cls.sock = os.path.join(cls.dir, "fastvsd.sock")
        cls.d = Fastvsd(["-l", "0-1", "--no-huge", "-m", str(cls.MEMORY), "--no-shconf",
                         "--vdev", "net_ring0", "--vdev", "net_ring1"],
                        ["--socket", cls.sock, "--conn-capacity", "4096", "--idle-sleep-us",
                         "500"], cls.dir, cls.PREFIX, stats_interval_ms=cls.STATS_INTERVAL_MS)
        cls.d.wait_started()
        wait_for(lambda: os.path.exists(cls.sock), 10, "the CLI socket")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        out = cls.d.output()
        cls.d.close()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert rc == 0, out
