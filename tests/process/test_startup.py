#!/usr/bin/python3
"""fastvsd refuses to start, quickly, with one line naming the problem and a non-zero exit, when
it cannot run: no hugepages, a socket a running fastvsd answers on, a port that cannot be
created or set up, a --conn-capacity that does not fit in memory. A socket left by a killed fastvsd is
replaced. Hugepages are taken away only inside a private mount namespace (`unshare -m`): the
machine's own stay as they are for everyone else."""
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fvtest  # noqa: E402
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
NO_HUGE = ["--no-huge", "-m", "256", "--no-shconf"]
# Every refusal comes within this (EAL init is ~0.2 s; a hang is what this guards against).
REFUSE_WITHIN_S = 30


def have_unshare():
    return shutil.which("unshare") is not None and os.geteuid() == 0


class Startup(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fvs-startup-")
        self.sock = os.path.join(self.dir, "fastvsd.sock")
        self.n = 0

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def refused(self, eal_args, app_args=(), wrap=(), socket_path=None):
        """Runs fastvsd expecting a refusal; returns its last stderr line (checked: one line
        starting "fastvsd: ", after whatever the EAL printed)."""
        self.n += 1
        prefix = f"fvsref{os.getpid()}_{self.n}"
        # A refusal after the EAL started leaves its runtime files: ours to remove.
        self.addCleanup(shutil.rmtree, fvtest.runtime_dir(prefix), True)
        cmd = list(wrap) + [fastvsd_path(), "--file-prefix", prefix,
                            "--no-pci", "--no-telemetry", "--log-level", "lib.eal:error",
                            *eal_args, "--", "--socket", socket_path or self.sock,
                            "--no-kernel-path", "--no-state-file", *app_args]
        t0 = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=REFUSE_WITHIN_S + 30)
        took = time.monotonic() - t0
        self.assertLess(took, REFUSE_WITHIN_S, f"refusal took {took:.1f}s")
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(r.returncode, (-6, -11, 134, 139), f"crashed: {r.stderr}")
        lines = r.stderr.splitlines()
        self.assertTrue(lines, "nothing on stderr")
        last = lines[-1]
        self.assertTrue(last.startswith("fastvsd: "), r.stderr)
        # Our line is the last: nothing of ours before it (the EAL's own lines may precede).
        self.assertEqual(sum(l.startswith("fastvsd: ") for l in lines), 1, r.stderr)
        return last

    def adm(self, *args, sock=None):
        r = subprocess.run([FASTVSADM, "--socket", sock or self.sock, *args],
                           capture_output=True, text=True, timeout=20)
        return r.returncode, r.stdout, r.stderr

    def start(self, name, sock=None):
        # A fresh stats file: the one a killed fastvsd left must not pass for this one's.
        if os.path.exists(os.path.join(self.dir, "stats.json")):
            os.unlink(os.path.join(self.dir, "stats.json"))
        d = Fastvsd(["-l", "0-1", *NO_HUGE, "--vdev", "net_ring0"],
                    ["--socket", sock or self.sock, "--idle-sleep-us", "500",
                     "--conn-capacity", "4096"], self.dir, name)
        d.wait_started()
        wait_for(lambda: os.path.exists(sock or self.sock), 10, "the CLI socket")
        return d

    # --- the socket ------------------------------------------------------------------------

    def test_socket_of_a_running_fastvsd_is_refused_and_the_first_carries_on(self):
        first = self.start("fvsfirst")
        try:
            self.assertEqual(self.adm("-A", "-t", "10.1.1.1:80", "-s", "rr")[0], 0)
            ino = os.stat(self.sock).st_ino
            line = self.refused(["-l", "0-1", *NO_HUGE, "--vdev", "net_ring0"])
            self.assertEqual(line, f"fastvsd: another fastvsd (pid {first.proc.pid}) is running on "
                                   f"{self.sock} (stop it first, or give this one another "
                                   f"--socket)")
            # The first still owns its socket (same file) and still answers.
            self.assertEqual(os.stat(self.sock).st_ino, ino)
            rc, out, err = self.adm("-L", "-n")
            self.assertEqual(rc, 0, err)
            self.assertIn("TCP  10.1.1.1:80 rr", out)
        finally:
            self.assertEqual(first.stop(), 0, first.output())
            first.close()
        self.assertFalse(os.path.exists(self.sock), "a clean stop removes the socket")

    def test_stale_socket_left_by_a_killed_fastvsd_is_replaced(self):
        first = self.start("fvskilled")
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(20)
        first.close()
        # What a crash leaves: the socket file, with nobody listening.
        self.assertTrue(stat.S_ISSOCK(os.lstat(self.sock).st_mode))
        rc, out, err = self.adm("-L", "-n")
        self.assertEqual(rc, 1)
        self.assertIn("fastvsd is not running", err)
        second = self.start("fvsafter")
        try:
            self.assertIn(f"replaced the stale socket {self.sock}", second.output())
            rc, out, err = self.adm("-L", "-n")
            self.assertEqual(rc, 0, err)
            st = os.stat(self.sock)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        finally:
            self.assertEqual(second.stop(), 0, second.output())
            second.close()

    def test_numeric_options_are_numbers_in_range(self):
        # Refused before the EAL, with status 2: a negative number read into an unsigned option
        # became its largest value (--idle-sleep-us -1 made a stop wait for ever).
        for args, want in ((["--idle-sleep-us", "-1"], "--idle-sleep-us '-1'"),
                           (["--idle-sleep-us=1000001"], "--idle-sleep-us '1000001'"),
                           (["--arp-rate", "-5"], "--arp-rate '-5'"),
                           (["--stats-interval-ms", "0"], "--stats-interval-ms '0'"),
                           (["--conn-capacity", "1e6"], "--conn-capacity '1e6'"),
                           (["--conn-keys", "99999999999999999999"],
                            "--conn-keys '99999999999999999999'")):
            r = subprocess.run([fastvsd_path(), "--", *args], capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(r.returncode, 2, args)
            self.assertRegex(r.stderr, rf"^fastvsd: {re.escape(want)}: expected a whole number "
                                       rf"from \d+ to \d+ \(see fastvsd --help\)\n$")

    def test_metrics_listen_is_checked_before_the_eal(self):
        # A wrong ADDR:PORT is refused with status 2 before any hugepage or port is taken (it
        # was found only once the ports were up).
        for listen, want in (("9469", "expected ADDR:PORT (e.g. 127.0.0.1:9469)"),
                             ("127.0.0.1:70000", "bad port '70000'"),
                             ("localhost:9469", "(a numeric address and port)")):
            r = subprocess.run([fastvsd_path(), "--", "--metrics-listen", listen],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 2, listen)
            self.assertTrue(r.stderr.startswith(f"fastvsd: --metrics-listen '{listen}': "),
                            r.stderr)
            self.assertIn(want, r.stderr)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)

    # --- hugepages -------------------------------------------------------------------------

    def test_huge_dir_that_is_not_hugetlbfs(self):
        empty = os.path.join(self.dir, "not-hugetlbfs")
        os.mkdir(empty)
        line = self.refused(["-l", "0-1", "--huge-dir", empty, "--vdev", "net_ring0"])
        self.assertRegex(line, rf"^fastvsd: no hugepages: --huge-dir {empty} is not on a "
                               rf"hugetlbfs mount \((mounted: [^)]+|none is mounted)\): mount one "
                               rf"there \(mount -t hugetlbfs nodev {empty}\) or leave --huge-dir "
                               rf"out$")

    @unittest.skipUnless(have_unshare(), "needs root and unshare(1)")
    def test_no_hugetlbfs_mounted(self):
        # A private mount namespace without any hugetlbfs: the machine as it is before
        # scripts/hugepages mounted one.
        hide = "for m in $(awk '$3==\"hugetlbfs\" {print $2}' /proc/mounts); do umount -l $m; done"
        line = self.refused(["-l", "0-1", "--vdev", "net_ring0"],
                            wrap=["unshare", "-m", "--propagation", "private", "sh", "-c",
                                  hide + ' && exec "$@"', "sh"])
        self.assertRegex(line, r"^fastvsd: no hugepages: no hugetlbfs is mounted \(\d+ hugepages "
                               r"reserved\): mount -t hugetlbfs nodev /dev/hugepages "
                               r"\(scripts/hugepages N reserves and mounts\), or run without "
                               r"them \(--no-huge -m MB\)$")

    @unittest.skipUnless(have_unshare(), "needs root and unshare(1)")
    def test_too_few_hugepages(self):
        # hugetlbfs limited to 16 MiB (8 pages) in a private mount namespace: hugepages exist but
        # are too few for the packet buffers.
        limit = ("for m in $(awk '$3==\"hugetlbfs\" {print $2}' /proc/mounts); do umount -l $m; "
                 "done; mount -t hugetlbfs -o pagesize=2M,size=16M nodev /dev/hugepages")
        # (Not --in-memory: that maps hugepages without a file, past the mount's limit.)
        line = self.refused(["-l", "0-1", "--vdev", "net_ring0"],
                            wrap=["unshare", "-m", "--propagation", "private", "sh", "-c",
                                  limit + ' && exec "$@"', "sh"])
        self.assertRegex(line, r"^fastvsd: not enough memory for DPDK: the packet buffers "
                               r"\(\d+ mbufs\) need [\d.]+ MiB but [\d.]+ [KM]iB is left on "
                               r"socket \d+: reserve more hugepages \(scripts/hugepages N\), or "
                               r"lower --mbufs$")

    def test_more_eal_memory_than_hugepages(self):
        line = self.refused(["-l", "0-1", "--in-memory", "-m", "1000000", "--vdev", "net_ring0"])
        self.assertRegex(line, r"^fastvsd: not enough hugepage memory for the EAL \(-m 1000000 "
                               r"MB\): [\d.]+ [KMGT]iB of hugepages free: reserve more "
                               r"\(scripts/hugepages N\) or ask for less$")

    @unittest.skipUnless(have_unshare(), "needs root and unshare(1)")
    def test_eal_memory_beyond_the_huge_dir_mount(self):
        # Hugepages are free, but --huge-dir's mount allows 16 MiB (size=): the mount is what to
        # blame, not the system's free pages.
        mnt = os.path.join(self.dir, "small-huge")
        os.mkdir(mnt)
        limit = f"mount -t hugetlbfs -o pagesize=2M,size=16M nodev {mnt}"
        line = self.refused(["-l", "0-1", "--huge-dir", mnt, "-m", "64", "--vdev", "net_ring0"],
                            wrap=["unshare", "-m", "--propagation", "private", "sh", "-c",
                                  limit + ' && exec "$@"', "sh"])
        self.assertRegex(line, rf"^fastvsd: not enough hugepage memory for the EAL \(-m 64 MB\): "
                               rf"the hugetlbfs mount {mnt} holds at most 16.0 MiB \(its size= "
                               rf"limit; [\d.]+ [KMGT]iB of hugepages are free\): mount it larger "
                               rf"\(mount -o remount,size=N {mnt}\), use another --huge-dir, or "
                               rf"ask for less$")

    # --- ports -----------------------------------------------------------------------------

    def test_port_whose_driver_refuses_its_arguments(self):
        bad = f"net_pcap1,rx_pcap={self.dir}/missing.pcap,tx_pcap={self.dir}/out.pcap"
        line = self.refused(["-l", "0-1", *NO_HUGE, "--vdev", "net_ring0", "--vdev", bad])
        self.assertEqual(line, f"fastvsd: port {bad} could not be created (its driver refused "
                               f"the arguments, or the device is not there or not bound to a "
                               f"DPDK driver: see the EAL's message above)")

    @unittest.skipUnless(os.geteuid() == 0, "needs root: an af_packet socket on lo")
    def test_port_that_cannot_be_set_up(self):
        # The device is created, but its RX queue refuses the packet buffers: 16 KiB frames do
        # not fit in 2 KiB mbufs. The line names the port both ways and the step that failed.
        line = self.refused(["-l", "0-1", *NO_HUGE, "--vdev",
                             "net_af_packet0,iface=lo,blocksz=16384,framesz=16384,framecnt=64"])
        self.assertEqual(line, "fastvsd: port dpdk0 (net_af_packet0): cannot set up rx queue 0: "
                               "Cannot allocate memory")

    def test_no_port_at_all(self):
        line = self.refused(["-l", "0-1", *NO_HUGE])
        self.assertEqual(line, "fastvsd: no ports: give fastvsd at least one ethdev (e.g. --vdev "
                               "net_af_xdp0,iface=veth0)")

    # --- memory for the connection tables --------------------------------------------------

    def test_conn_capacity_beyond_the_eal_memory(self):
        # 256 MB without hugepages cannot hold 4M connections (~160 B each).
        line = self.refused(["-l", "0-1", *NO_HUGE, "--vdev", "net_ring0"],
                            ["--conn-capacity", "4000000"])
        self.assertRegex(line, r"^fastvsd: --conn-capacity 4000000 does not fit in memory: the "
                               r"connection tables need [\d.]+ MiB \([\d.]+ MiB per worker, \d+ "
                               r"bytes a connection\) but DPDK can give [\d.]+ [KM]iB on socket "
                               r"\d+ after [\d.]+ MiB of packet buffers: lower --conn-capacity "
                               r"or give the EAL more memory")

    def test_ipv6_tables_beyond_the_eal_memory(self):
        # 1M connections fit IPv4's tables in 256 MB; the IPv6 index the first IPv6 service
        # makes does not: that service is refused, with what is missing, and nothing changes.
        d = Fastvsd(["-l", "0-1", *NO_HUGE, "--vdev", "net_ring0"],
                    ["--socket", self.sock, "--idle-sleep-us", "500", "--conn-capacity",
                     "1000000"], self.dir, "fvs6mem")
        self.addCleanup(lambda: (d.stop(), d.close()))
        d.wait_started()
        wait_for(lambda: os.path.exists(self.sock), 10, "the CLI socket")
        rc, out, err = self.adm("-A", "-t", "[2001:db8::1]:80")
        self.assertEqual(rc, 1, out + err)
        # rte_hash_create leaves a stale rte_errno when the DPDK heap refuses it: never "No such
        # file or directory".
        self.assertRegex(err, r"^fastvsadm: IPv6 connection table for worker 0 \([\d.]+ MiB\): "
                              r"rte_hash_create\(\d+ IPv6 keys\): not enough DPDK memory, "
                              r"[\d.]+ [KM]iB left: lower --conn-capacity or give the EAL more "
                              r"memory\n$")
        self.assertEqual(self.adm("-S", "-n")[1], "")
        # IPv4 is not affected.
        self.assertEqual(self.adm("-A", "-t", "10.0.0.1:80")[0], 0)

    def test_conn_capacity_beyond_the_hugepages(self):
        # With hugepages, refused before any is taken (other processes share them): 2e9
        # connections would need hundreds of GiB.
        line = self.refused(["-l", "0-1", "--in-memory", "--vdev", "net_ring0"],
                            ["--conn-capacity", "2000000000"])
        self.assertRegex(line, r"^fastvsd: --conn-capacity 2000000000 does not fit in memory: the "
                               r"connection tables need [\d.]+ GiB .* but DPDK can give [\d.]+ "
                               r"[MG]iB on socket \d+")

    def test_conn_capacity_zero(self):
        line = self.refused(["-l", "0-1", *NO_HUGE, "--vdev", "net_ring0"],
                            ["--conn-capacity", "0"])
        self.assertEqual(line, "fastvsd: --conn-capacity 0: give at least 1 connection per worker")

    def test_conn_keys_out_of_range(self):
        for keys in ("4095", "8193"):
            line = self.refused(["-l", "0-1", *NO_HUGE, "--vdev", "net_ring0"],
                                ["--conn-capacity", "4096", "--conn-keys", keys])
            self.assertEqual(line, f"fastvsd: --conn-keys {keys}: give from 4096 (--conn-capacity, one "
                                   "key a DR/TUN connection) to 8192 (two keys a NAT connection)")

    def test_conn_keys_one_a_connection_takes_less_memory(self):
        per = {}
        # Large enough that the expiry wheel (256 KiB) is a few bytes a connection.
        for keys in ("262144", "131072"):
            if os.path.exists(os.path.join(self.dir, "stats.json")):
                os.unlink(os.path.join(self.dir, "stats.json"))  # the first run's
            d = Fastvsd(["-l", "0-1", *NO_HUGE, "--vdev", "net_ring0"],
                        ["--socket", self.sock, "--idle-sleep-us", "500", "--conn-capacity", "131072",
                         "--conn-keys", keys], self.dir, "keys" + keys)
            try:
                d.wait_started()
                m = re.search(r"connection table 131072 entries, (\d+) keys, \d+ bytes \((\d+) per "
                              r"connection\)", d.output())
            finally:
                d.stop()
                out = d.output()
                d.close()
            self.assertIsNotNone(m, out)
            self.assertEqual(m.group(1), keys)
            per[keys] = int(m.group(2))
        self.assertLessEqual(per["131072"], 128, per)
        self.assertLessEqual(per["262144"], 192, per)


if __name__ == "__main__":
    unittest.main(verbosity=2)
