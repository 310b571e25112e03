#!/usr/bin/python3
"""Large configurations, all or nothing: `fastvsadm -R` of 100,000 lines applies whole (and in
bounded time); the same with one bad line near the end changes nothing, byte for byte; a
--config file of 10,000 lines with one bad line stops fastvsd from starting and, given to a
running fastvsd with -R, changes nothing."""
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, RingDaemonTest, fastvsd_path, runtime_dir, wait_for  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
SANITIZED = bool(os.environ.get("FASTVS_SANITIZED"))
# 100,000 lines cost the control thread about 0.3 s of CPU in a release build (parse, apply,
# snapshot); ASan is several times slower. The wall time depends on what else the machine runs
# (the 2-core test machines run several builds at once): bounded loosely, the CPU tightly.
RESTORE_CPU_LIMIT_S = 30 if SANITIZED else 8
RESTORE_WALL_LIMIT_S = 120
CLK_TCK = os.sysconf("SC_CLK_TCK")


def control_cpu_s(pid):
    """CPU seconds the control thread (the main thread: the EAL main lcore) has used."""
    with open(f"/proc/{pid}/task/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def table(services, dests, bad_line=None, bad_text=None, vip_net=16):
    """ipvsadm -S lines: `services` services of `dests` NAT destinations each, in -S order
    (destinations sorted by address). Line `bad_line` (1-based), if given, is replaced."""
    lines = []
    for s in range(services):
        vip = f"172.{vip_net + s // 65536}.{(s // 256) % 256}.{s % 256}:80"
        lines.append(f"-A -t {vip} -s wrr")
        for d in range(dests):
            n = s * dests + d + 1
            rip = f"10.{n // 65536}.{(n // 256) % 256}.{n % 256}"
            lines.append(f"-a -t {vip} -r {rip}:8080 -m -w {d % 7 + 1}")
    if bad_line is not None:
        lines[bad_line - 1] = bad_text
    return "\n".join(lines) + "\n"


class LargeRestore(RingDaemonTest):
    PREFIX = "fvslarge"
    MEMORY = 512

    def adm(self, *args, stdin=None, timeout=120):
        r = subprocess.run([FASTVSADM, "--socket", self.sock, *args], input=stdin,
                           capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def ok(self, *args, stdin=None):
        rc, out, err = self.adm(*args, stdin=stdin)
        self.assertEqual(rc, 0, f"fastvsadm {' '.join(args)}: {err}")
        self.assertEqual(err, "")
        return out

    def setUp(self):
        self.ok("-C")
        self.adm("ip", "addr", "del", "10.255.255.254/8", "dev", "dpdk1")
        self.ok("ip", "addr", "add", "10.255.255.254/8", "dev", "dpdk1")

    def restore_timed(self, text):
        """-R; also checks it took bounded time (wall and the control thread's CPU)."""
        cpu0, t0 = control_cpu_s(self.d.proc.pid), time.monotonic()
        rc, out, err = self.adm("-R", stdin=text)
        took, cpu = time.monotonic() - t0, control_cpu_s(self.d.proc.pid) - cpu0
        print(f"\nfastvsadm -R of {text.count(chr(10))} lines: {took:.2f} s, control thread "
              f"{cpu:.2f} s CPU", file=sys.stderr)
        self.assertLess(took, RESTORE_WALL_LIMIT_S)
        self.assertLess(cpu, RESTORE_CPU_LIMIT_S)
        return rc, out, err

    def test_100k_lines_apply_whole(self):
        text = table(1000, 99)
        self.assertEqual(text.count("\n"), 100000)
        rc, out, err = self.restore_timed(text)
        self.assertEqual(rc, 0, err)
        # -S gives back exactly what went in (services and destinations in ipvsadm's order).
        self.assertEqual(self.ok("-S", "-n"), text)
        listed = self.ok("-L", "-n").splitlines()
        self.assertEqual(sum(l.startswith("TCP  ") for l in listed), 1000)
        self.assertEqual(sum(l.startswith("  -> 10.") for l in listed), 99000)
        # The workers have it in force: the stats file lists every destination.
        wait_for(lambda: len((self.d.counters() or {}).get("destinations", [])) == 99000, 20,
                 "99,000 destinations in the workers' snapshot")

    def test_100k_lines_with_a_bad_line_near_the_end_change_nothing(self):
        # Something already in force, which a failed -R must leave exactly as it is.
        self.ok("-R", stdin=table(20, 5, vip_net=17))
        saved, listed = self.ok("-S", "-n"), self.ok("-L", "-n")
        good = table(1000, 99).splitlines()
        # Line 99,999 is a destination of the last service (172.16.3.231:80), whose first
        # destination is line 99,902.
        cases = [
            ("-a -t 172.16.3.231:80 -r 10.200.0.1:8080 -m -w 70000", "bad weight '70000'"),
            ("-A -t 172.16.3.231:81 -s nosuch", "nosuch"),
            (good[99901], "already exists"),
        ]
        for bad, reason in cases:
            text = table(1000, 99, bad_line=99999, bad_text=bad)
            self.assertEqual(text.count("\n"), 100000)
            rc, out, err = self.restore_timed(text)
            self.assertNotEqual(rc, 0, bad)
            self.assertEqual(out, "")
            self.assertEqual(err.count("\n"), 1, f"one line: {err!r}")
            self.assertTrue(err.startswith("fastvsadm: -R input:99999: "), err)
            self.assertIn(reason, err)
            self.assertEqual(self.ok("-S", "-n"), saved, bad)
            self.assertEqual(self.ok("-L", "-n"), listed, bad)

    def test_100k_lines_of_other_shapes(self):
        # One service of 99,999 destinations (each -a goes to the head of the list) and 100,000
        # services: no step is quadratic in either.
        for text, services, dests in ((table(1, 99999), 1, 99999), (table(100000, 0), 100000, 0)):
            self.ok("-C")
            rc, out, err = self.restore_timed(text)
            self.assertEqual(rc, 0, err)
            self.assertEqual(self.ok("-S", "-n"), text)
            listed = self.ok("-L", "-n").splitlines()
            self.assertEqual(sum(l.startswith("TCP  ") for l in listed), services)
            self.assertEqual(sum(l.startswith("  -> 10.") for l in listed), dests)

    def config_file(self, bad_line):
        """A --config file of 10,000 lines (the address, then 101 services of 98 NAT
        destinations, one line short) with `bad_line` (1-based) broken."""
        lines = ["ip addr add 10.255.255.254/8 dev dpdk1"]
        lines += table(101, 98, vip_net=18).splitlines()[:9999]
        lines[bad_line - 1] = "-a -t 172.18.0.99:80 -r 10.200.0.1:8080 -m -w 1 -x 5 -y 9"
        self.assertEqual(len(lines), 10000)
        path = os.path.join(self.dir, "fastvs.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def test_config_file_with_one_bad_line_refuses_to_start_and_reload_changes_nothing(self):
        path = self.config_file(9990)
        reason = f"{path}:9990: lower threshold 9 is higher than upper threshold 5"
        t0 = time.monotonic()
        r = subprocess.run([fastvsd_path(), "-l", "0-1", "--no-huge", "-m", "256", "--no-shconf",
                            "--no-pci", "--no-telemetry", "--log-level", "lib.eal:error",
                            "--file-prefix", f"fvsbadconf{os.getpid()}", "--vdev", "net_ring0",
                            "--vdev", "net_ring1", "--", "--config", path, "--socket",
                            os.path.join(self.dir, "bad.sock"), "--no-kernel-path",
                            "--no-state-file"],
                           capture_output=True, text=True, timeout=60)
        shutil.rmtree(runtime_dir(f"fvsbadconf{os.getpid()}"), ignore_errors=True)
        self.assertLess(time.monotonic() - t0, 30)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.splitlines()[-1], f"fastvsd: {reason}", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "bad.sock")))
        # The same file given to the running fastvsd (the live path: -R) changes nothing. The
        # address line is taken out: this fastvsd already has it.
        self.ok("-R", stdin=table(3, 4, vip_net=19))
        saved, listed = self.ok("-S", "-n"), self.ok("-L", "-n")
        with open(path) as f:
            text = f.read().replace("ip addr add 10.255.255.254/8 dev dpdk1", "# address")
        rc, out, err = self.adm("-R", stdin=text)
        self.assertNotEqual(rc, 0)
        self.assertEqual(err, "fastvsadm: -R input:9990: lower threshold 9 is higher than upper "
                              "threshold 5\n")
        self.assertEqual(self.ok("-S", "-n"), saved)
        self.assertEqual(self.ok("-L", "-n"), listed)
        # And the file without its bad line starts a fastvsd (the refusal was that line's).
        with open(path) as f:
            good = f.read().replace("-a -t 172.18.0.99:80 -r 10.200.0.1:8080 -m -w 1 -x 5 -y 9\n",
                                    "# fixed\n")
        with open(path, "w") as f:
            f.write(good)
        own = os.path.join(self.dir, "good")  # its own stats file and log
        os.mkdir(own)
        ok = Fastvsd(["-l", "0-1", "--no-huge", "-m", "256", "--no-shconf", "--vdev", "net_ring0",
                      "--vdev", "net_ring1"],
                     ["--config", path, "--socket", os.path.join(own, "good.sock"),
                      "--idle-sleep-us", "500", "--conn-capacity", "4096"], own, "fvsgoodconf")
        try:
            ok.wait_started(30)
            self.assertIn(f"loaded {path}: 101 services", ok.output())
        finally:
            self.assertEqual(ok.stop(), 0, ok.output())
            ok.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
