#!/usr/bin/python3
"""fastvsadm against a running fastvsd (on a net_ring port: a real DPDK port, no traffic):
ipvsadm's grammar and output, errors that change nothing, -S/-C/-R, the seeds' scripts, and a
socket that survives bad clients and a thousand good ones."""
import os
import socket
import stat
import subprocess
import tempfile
import time
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, RingDaemonTest, fastvsd_path, wait_for  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")

SEED_SCRIPT = """\
fastvsadm ip addr add 172.16.254.200/24 dev dpdk0
fastvsadm ip addr add 192.168.0.8/24 dev dpdk1
fastvsadm -A -t 172.16.254.200:80 -s wrr
fastvsadm -a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1
fastvsadm -a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1
"""

LIST_AFTER_SEED = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  172.16.254.200:80 wrr
  -> 192.168.0.18:80              Masq    1      0          0         
  -> 192.168.0.28:80              Masq    1      0          0         
"""


class Cli(RingDaemonTest):
    PREFIX = "fvscli"

    def adm(self, *args, stdin=None, env=None):
        e = dict(os.environ, FASTVS_SOCKET=self.sock)
        if env is not None:
            e = env
        r = subprocess.run([FASTVSADM, *args], input=stdin, capture_output=True, text=True,
                           env=e, timeout=20)
        return r.returncode, r.stdout, r.stderr

    def ok(self, *args, stdin=None):
        rc, out, err = self.adm(*args, stdin=stdin)
        self.assertEqual(rc, 0, f"fastvsadm {' '.join(args)}: {err}")
        self.assertEqual(err, "")
        return out

    def setUp(self):
        self.ok("-C")
        for a in ("172.16.254.200/24 dev dpdk0", "192.168.0.8/24 dev dpdk1"):
            self.adm("ip", "addr", "del", *a.split())

    def test_seed_script_runs_unchanged(self):
        # The seeds' commands with ipvsadm replaced by fastvsadm, run by a shell.
        script = os.path.join(self.dir, "seed.sh")
        with open(script, "w") as f:
            f.write("set -e\n" + SEED_SCRIPT.replace("fastvsadm", FASTVSADM))
        r = subprocess.run(["sh", script], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, FASTVS_SOCKET=self.sock))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ok("-L", "-n"), LIST_AFTER_SEED)

    def test_errors_name_the_problem_and_change_nothing(self):
        subprocess.run(["sh", "-c", SEED_SCRIPT.replace("fastvsadm", FASTVSADM)],
                       env=dict(os.environ, FASTVS_SOCKET=self.sock), check=True, timeout=30)
        before = self.ok("-S", "-n")
        cases = [
            (["-A", "-t", "172.16.254.200:80", "-s", "wrr"], "already exists"),
            (["-a", "-t", "172.16.254.201:80", "-r", "192.168.0.18:80", "-m"], "no such service"),
            (["-a", "-t", "172.16.254.200:80", "-r", "192.168.0.18:80", "-m"], "already exists"),
            (["-A", "-t", "172.16.254.9:80", "-s", "wrrr"], "bad scheduler name"),
            (["-A", "-t", "300.1.1.1:80"], "300.1.1.1"),
            (["-d", "-t", "172.16.254.200:80", "-r", "192.168.0.99:80"], "192.168.0.99"),
            (["-a", "-t", "172.16.254.200:80", "-r", "10.9.9.9:80", "-g"], "10.9.9.9"),
            (["ip", "addr", "add", "10.0.0.1/24", "dev", "dpdk7"], "dpdk7"),
            (["-Q"], "unknown option"),
            (["-Z", "-t", "172.16.254.201:80"], "no such service"),
            (["-A", "-t", "172.16.254.201:80", "-s", "mh", "-b", "sh-port"], "needs the sh scheduler"),
        ]
        for args, needle in cases:
            rc, out, err = self.adm(*args)
            self.assertNotEqual(rc, 0, args)
            self.assertEqual(out, "", args)
            self.assertEqual(err.count("\n"), 1, f"{args}: one line: {err!r}")
            self.assertIn(needle, err, args)
        self.assertEqual(self.ok("-S", "-n"), before)

    def test_ipv6_services_and_tunnels_between_the_families(self):
        # An IPv6 service and its real servers are taken (the workers' tables made for IPv6 on
        # the way) and listed as ipvsadm lists them; a real server of the other family is a
        # tunnel's (-i only, ipvsadm's rule); a refusal is one line that changes nothing.
        subprocess.run(["sh", "-c", SEED_SCRIPT.replace("fastvsadm", FASTVSADM)],
                       env=dict(os.environ, FASTVS_SOCKET=self.sock), check=True, timeout=30)
        self.ok("ip", "addr", "add", "2001:db8:1::8/64", "dev", "dpdk1")
        self.ok("-A", "-t", "[2001:db8::1]:80", "-s", "rr")
        self.ok("-a", "-t", "[2001:db8::1]:80", "-r", "[2001:db8:1::10]:8080", "-m")
        self.ok("-a", "-t", "172.16.254.200:80", "-r", "2001:db8:1::10", "-i")
        listing = self.ok("-L", "-n").splitlines()
        at = listing.index("TCP  [2001:db8::1]:80 rr")
        self.assertTrue(listing[at + 1].startswith("  -> [2001:db8:1::10]:8080"), listing)
        self.assertTrue(any(line.startswith("  -> [2001:db8:1::10]:80 ") and "Tunnel" in line
                            for line in listing), listing)
        before = self.ok("-S", "-n")
        self.assertIn("-a -t 172.16.254.200:80 -r [2001:db8:1::10]:80 -i", before)
        cases = [
            (["--check", "pool", "-t", "172.16.254.200:80", "sorry=[2001:db8:1::99]:80"],
             "a different address family is allowed only for tunneling servers (tunnel)"),
            (["-R"], "-R input:2: sorry server 2001:db8:1::99"),
            # The grammar's own refusals.
            (["-a", "-t", "172.16.254.200:80", "-r", "[2001:db8:1::11]:80", "-m"],
             "different address family is allowed only for tunneling servers"),
            (["-A", "-t", "[2001:db8::1]", "-s", "rr"], "takes a port"),
        ]
        for args, needle in cases:
            stdin = ("-A -t 172.16.254.200:81\n--check pool -t 172.16.254.200:80 "
                     "sorry=[2001:db8:1::99]:80\n" if args == ["-R"] else None)
            rc, out, err = self.adm(*args, stdin=stdin)
            self.assertNotEqual(rc, 0, args)
            self.assertEqual(out, "", args)
            self.assertEqual(err.count("\n"), 1, f"{args}: one line: {err!r}")
            self.assertIn(needle, err, args)
        self.assertEqual(self.ok("-S", "-n"), before)

    def test_ipv6_addresses_routes_and_neighbours(self):
        # What the data plane has of IPv6 (neighbour discovery, echo, next hops) is configured
        # and listed as iproute2 lists it.
        self.assertEqual(self.ok("ip", "-6", "addr"), "")  # no port with an IPv6 address
        self.ok("ip", "-6", "addr", "add", "2001:db8::200/64", "dev", "dpdk0")
        self.assertEqual(self.ok("ip", "-6", "addr").splitlines()[1:],
                         ["    inet6 2001:db8::200/64 scope global "])
        self.ok("ip", "route", "add", "default", "via", "fe80::1", "dev", "dpdk0")
        self.ok("ip", "neigh", "add", "2001:db8::18", "lladdr", "02:00:00:00:00:18", "dev", "dpdk0")
        self.assertNotIn("inet6", self.ok("ip", "-4", "addr"))
        self.ok("ip", "route", "add", "2001:db8:2::/48", "via", "2001:db8::1")
        # In the kernel's order (checked against iproute2 6.1 on Linux 6.1).
        self.assertEqual(self.ok("ip", "-6", "route"),
                         "2001:db8::/64 dev dpdk0 proto kernel metric 256 pref medium\n"
                         "2001:db8:2::/48 via 2001:db8::1 dev dpdk0 metric 1024 pref medium\n"
                         "default via fe80::1 dev dpdk0 metric 1024 pref medium\n")
        self.assertEqual(self.ok("ip", "-6", "neigh"),
                         "2001:db8::18 dev dpdk0 lladdr 02:00:00:00:00:18 PERMANENT\n")
        self.assertEqual(self.ok("ip", "-4", "neigh"), "")
        self.ok("ip", "neigh", "del", "2001:db8::18", "dev", "dpdk0")
        self.assertEqual(self.ok("ip", "-6", "neigh"), "")
        rc, _, err = self.adm("ip", "-6", "route", "add", "2001:db8:3::/48", "via", "fe80::1")
        self.assertNotEqual(rc, 0)
        self.assertIn("gateway fe80::1 is link-local: name its port (dev dpdkN)", err)
        for args in (("route", "del", "2001:db8:2::/48"), ("route", "del", "default", "via",
                     "fe80::1", "dev", "dpdk0"), ("addr", "del", "2001:db8::200/64", "dev", "dpdk0")):
            self.ok("ip", *args)
        self.assertEqual(self.ok("ip", "-6", "route"), "")

    def test_save_clear_restore_gives_the_same_table(self):
        self.ok("ip", "addr", "add", "192.168.0.8/24", "dev", "dpdk1")
        self.ok("-A", "-t", "172.16.254.200:80", "-s", "wrr")
        self.ok("-A", "-u", "172.16.254.200:53", "-s", "sh", "-b", "sh-fallback,sh-port")
        self.ok("-A", "-t", "10.1.1.1:443", "-s", "lc")
        self.ok("-A", "-t", "172.16.254.200:8443", "-s", "mh", "-b", "mh-fallback,mh-port")
        for rip, w in (("192.168.0.18", 3), ("192.168.0.28", 1), ("192.168.0.38", 0)):
            self.ok("-a", "-t", "172.16.254.200:80", "-r", f"{rip}:8080", "-m", "-w", str(w))
            self.ok("-a", "-u", "172.16.254.200:53", "-r", f"{rip}:53", "-m")
            self.ok("-a", "-t", "172.16.254.200:8443", "-r", f"{rip}:8443", "-m", "-w", str(w))
        saved = self.ok("-S", "-n")
        listed = self.ok("-L", "-n")
        self.ok("-C")
        self.assertEqual(self.ok("-S", "-n"), "")
        self.ok("-R", stdin=saved)
        self.assertEqual(self.ok("-S", "-n"), saved)
        self.assertEqual(self.ok("-L", "-n"), listed)
        # -S without -n names the ports (getservbyport: http, domain, https); -R reads the
        # names back (getservbyname), as ipvsadm's does.
        named = self.ok("-S")
        self.assertIn("172.16.254.200:http", named)
        self.assertIn("172.16.254.200:domain", named)
        self.ok("-C")
        self.ok("-R", stdin=named)
        self.assertEqual(self.ok("-S", "-n"), saved)

    def test_check_list_shows_the_last_change_at_once(self):
        # --check list answers with the checks of the change before it, never the ones before
        # that (the health runner takes a change within its 100 ms nap: the answer waits).
        self.ok("ip", "addr", "add", "192.168.0.8/24", "dev", "dpdk1")
        self.ok("-A", "-t", "172.16.254.200:80", "-s", "rr")
        for i in range(10):
            port = 8000 + i
            self.ok("-a", "-t", "172.16.254.200:80", "-r", f"192.168.0.18:{port}", "-m")
            self.ok("--check", "add", "-t", "172.16.254.200:80", "-r", f"192.168.0.18:{port}",
                    "tcp")
            listed = self.ok("--check", "list")
            self.assertIn(f"TCP_CHECK 192.168.0.18:{port}", listed)
            self.assertEqual(listed.count("TCP_CHECK"), i + 1, listed)
        self.ok("--check", "del", "-t", "172.16.254.200:80")
        self.assertEqual(self.ok("--check", "list"), "no health checks\n")

    def test_sync_daemon_commands(self):
        # The command side of IPVS's sync daemon on a fastvsd without the kernel path (this
        # one's, in the root namespace): a start is refused (the daemons' sockets are on the
        # host's dpdkN), a bad command still says what is wrong with it, nothing is listed or
        # saved. Started, listed and followed: tests/e2e/test_sync.py; printed: unit/print.
        for args, err in (
                (["--start-daemon", "master", "--mcast-interface", "dpdk1", "--syncid", "7"],
                 "the sync daemon needs the kernel path (its socket is on the host's dpdk1), "
                 "which --no-kernel-path turned off\n"),
                (["--start-daemon", "slave"], "bad sync daemon state 'slave' (master or backup)\n"),
                (["--stop-daemon", "master"], "no master sync daemon is running\n"),
                (["-L", "--daemon", "--stats"],
                 "options conflicts in the list command\n")):
            rc, out, e = self.adm(*args)
            self.assertNotEqual(rc, 0, args)
            self.assertEqual((out, e), ("", "fastvsadm: " + err), args)
        self.assertEqual(self.ok("-L", "--daemon"), "")
        self.assertNotIn("daemon", self.ok("-S", "-n"))

    def test_restore_is_all_or_nothing(self):
        self.ok("ip", "addr", "add", "192.168.0.8/24", "dev", "dpdk1")
        self.ok("-A", "-t", "172.16.254.200:80", "-s", "rr")
        before = self.ok("-S", "-n")
        bad = "-A -t 10.9.9.9:80 -s rr\n-a -t 10.9.9.9:80 -r 192.168.0.18:80 -m\n-A -t 10.9.9.9:81 -s nope\n"
        rc, out, err = self.adm("-R", stdin=bad)
        self.assertNotEqual(rc, 0)
        self.assertIn(":3:", err)
        self.assertEqual(self.ok("-S", "-n"), before)

    def test_restore_brings_static_neighbours_and_refuses_oversized_input(self):
        self.ok("ip", "addr", "add", "172.16.254.200/24", "dev", "dpdk0")
        self.ok("-R", stdin="ip neigh add 172.16.254.7 lladdr 02:00:00:00:00:07 dev dpdk0\n")
        self.assertIn("172.16.254.7 dev dpdk0 lladdr 02:00:00:00:00:07 PERMANENT", self.ok("ip", "neigh"))
        rc, out, err = self.adm("-R", stdin="#" * (33 << 20))
        self.assertNotEqual(rc, 0)
        self.assertEqual(err, "fastvsadm: request larger than 33554432 bytes\n")
        self.ok("ip", "neigh", "del", "172.16.254.7", "dev", "dpdk0")

    def test_socket_path_that_is_not_a_socket_is_left_alone(self):
        path = os.path.join(self.dir, "precious.txt")
        with open(path, "w") as f:
            f.write("keep me")
        d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "128", "--no-shconf", "--vdev", "net_ring9"],
                    ["--socket", path], self.dir, "fvscli2")
        d.proc.wait(30)
        out = d.output()
        d.close()
        self.assertNotEqual(d.proc.returncode, 0)
        self.assertIn("exists and is not a socket", out)
        with open(path) as f:
            self.assertEqual(f.read(), "keep me")

    def test_ip_show_forms(self):
        self.ok("ip", "addr", "add", "172.16.254.200/24", "dev", "dpdk0")
        self.ok("ip", "route", "add", "default", "via", "172.16.254.1", "dev", "dpdk0")
        self.ok("ip", "neigh", "add", "172.16.254.1", "lladdr", "02:00:00:00:00:01", "dev", "dpdk0")
        self.assertIn("inet 172.16.254.200/24 scope global dpdk0", self.ok("ip", "addr"))
        # A device given: that port alone; one that does not exist: refused.
        one = self.ok("ip", "addr", "show", "dev", "dpdk1")
        self.assertIn("dpdk1:", one)
        self.assertNotIn("dpdk0", one)
        self.assertIn("dpdk0", self.ok("ip", "addr", "show", "dpdk0"))
        rc, out, err = self.adm("ip", "addr", "show", "dev", "dpdk7")
        self.assertEqual((rc, err), (1, "fastvsadm: device dpdk7 does not exist (2 ports)\n"))
        routes = self.ok("ip", "route")
        self.assertIn("default via 172.16.254.1 dev dpdk0", routes)
        self.assertIn("172.16.254.0/24 dev dpdk0 proto kernel scope link src 172.16.254.200", routes)
        self.assertIn("172.16.254.1 dev dpdk0 lladdr 02:00:00:00:00:01 PERMANENT", self.ok("ip", "neigh"))
        link = self.ok("ip", "-s", "link")
        self.assertIn("dpdk1", link)
        self.assertIn("worker 0: rx", link)
        self.ok("ip", "neigh", "del", "172.16.254.1", "dev", "dpdk0")
        self.ok("ip", "route", "del", "default")
        self.assertNotIn("172.16.254.1", self.ok("ip", "neigh"))

    def test_socket_survives_bad_clients_and_many_good_ones(self):
        pid = self.d.proc.pid

        def fds():
            return len(os.listdir(f"/proc/{pid}/fd"))

        def rss_kb():
            with open(f"/proc/{pid}/status") as f:
                return int(next(l for l in f if l.startswith("VmRSS")).split()[1])
        self.ok("-L", "-n")
        fds0 = fds()
        # A client that connects and sends nothing does not block the control thread.
        silent = socket.socket(socket.AF_UNIX)
        silent.connect(self.sock)
        self.ok("-L", "-n")
        # Garbage and an oversized request get a one-line error; the daemon carries on.
        g = socket.socket(socket.AF_UNIX)
        g.connect(self.sock)
        g.sendall(b"no terminator here")
        g.shutdown(socket.SHUT_WR)
        self.assertTrue(g.recv(4096).startswith(b"error\nmalformed request"))
        g.close()
        # Bytes that cannot begin a request are refused at once, before any half-close.
        h = socket.socket(socket.AF_UNIX)
        h.connect(self.sock)
        h.settimeout(5)
        h.sendall(b"GET / HTTP/1.1\r\n")
        self.assertEqual(h.recv(4096), b"error\nmalformed request (not from fastvsadm?)\n")
        h.close()
        big = socket.socket(socket.AF_UNIX)
        big.connect(self.sock)
        try:
            big.sendall(b"FVS1 0\n")  # a request's head, then a word too large
            chunk = b"x" * (1 << 20)
            for _ in range(40):
                big.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = b""
        try:
            reply = big.recv(4096)
        except ConnectionResetError:
            pass
        big.close()
        # One line, naming the bound; then the daemon goes on serving.
        self.assertEqual(reply, b"error\nrequest larger than 33554432 bytes\n")
        self.ok("-L", "-n")
        silent.close()
        # A thousand fastvsadm calls in a row: no descriptor or memory left behind.
        for i in range(300):
            self.ok("-L", "-n")
        rss0 = rss_kb()
        for i in range(700):
            self.ok("-L", "-n")
        wait_for(lambda: fds() == fds0, 5, f"descriptors back to {fds0} (now {fds()})")
        # Under ASan freed memory sits in quarantine and RSS grows by design; the release build
        # (run in the same suite) holds the bound.
        if not os.environ.get("FASTVS_SANITIZED"):
            self.assertLess(rss_kb() - rss0, 2048, "resident memory grew by more than 2 MiB")

    def test_socket_is_root_only(self):
        # The socket is the director's whole configuration: owner root, mode 0600, in a
        # directory fastvsd created 0700 when it had to.
        st = os.lstat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, oct(st.st_mode))
        self.assertEqual(st.st_uid, 0)
        self.assertEqual(st.st_gid, 0)
        sub = os.path.join(self.dir, "made", "fastvsd.sock")
        d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "128", "--no-shconf", "--vdev", "net_ring8"],
                    ["--socket", sub, "--conn-capacity", "1024"], self.dir, "fvscli3")
        try:
            wait_for(lambda: os.path.exists(sub) or d.proc.poll() is not None, 20, "the socket")
            self.assertEqual(stat.S_IMODE(os.lstat(sub).st_mode), 0o600)
            self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(sub)).st_mode), 0o700)
        finally:
            self.assertEqual(d.stop(), 0, d.output())
            d.close()
        # A user other than root cannot connect (the daemon's file mode, not fastvsadm, says so).
        # The directory is opened up for the moment, so that the socket's mode alone decides.
        if os.geteuid() == 0:
            os.chmod(self.dir, 0o711)
            try:
                r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                    FASTVSADM, "--socket", self.sock, "-L", "-n"],
                                   capture_output=True, text=True, timeout=20)
            finally:
                os.chmod(self.dir, 0o700)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr, f"fastvsadm: cannot connect to {self.sock}: Permission "
                                       f"denied\n")

    def test_keepalived_reload_through_fastvsadm(self):
        # fastvsadm --keepalived-reload [FILE] (relative to fastvsadm's directory, not fastvsd's):
        # the file's virtual servers replace the last load's, all or nothing; without FILE the
        # last file is read again.
        self.ok("ip", "addr", "add", "192.168.0.8/24", "dev", "dpdk1")
        conf = os.path.join(self.dir, "ka.conf")

        def write(vip, rips, extra=""):
            with open(conf, "w") as f:
                f.write(f"virtual_server {vip} 80 {{\n  lb_algo rr\n  lb_kind NAT\n"
                        f"  protocol TCP\n{extra}")
                for r in rips:
                    f.write(f"  real_server {r} 80 {{\n    weight 2\n  }}\n")
                f.write("}\n")
        write("10.1.1.1", ["192.168.0.18"])
        r = subprocess.run([FASTVSADM, "--keepalived-reload", "ka.conf"], cwd=self.dir,
                           capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, FASTVS_SOCKET=self.sock))
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        self.assertEqual(self.ok("-S", "-n"),
                         "-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 192.168.0.18:80 -m -w 2\n")
        # What the load ignores is said to the operator too, not only in fastvsd's log.
        write("10.1.1.1", ["192.168.0.18"], "  ops\n")
        self.assertEqual(self.ok("--keepalived-reload", conf),
                         f"keepalived.conf: {conf}:1: virtual server TCP 10.1.1.1:80: one packet "
                         "scheduling requires UDP (ops ignored)\n")
        # The file changed: the same command without FILE loads it again, in place of the last.
        write("10.1.1.2", ["192.168.0.18", "192.168.0.28"])
        self.ok("--keepalived-reload")
        self.assertEqual(self.ok("-S", "-n"),
                         "-A -t 10.1.1.2:80 -s rr\n-a -t 10.1.1.2:80 -r 192.168.0.18:80 -m -w 2\n"
                         "-a -t 10.1.1.2:80 -r 192.168.0.28:80 -m -w 2\n")
        # A bad file: one line naming it and the line, nothing changed.
        before = self.ok("-S", "-n")
        with open(conf, "a") as f:
            f.write("virtual_server 10.1.1.3 80 {\n  lb_algo nope\n")
        rc, out, err = self.adm("--keepalived-reload", conf)
        self.assertEqual(rc, 1)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn(f"{conf}:", err)
        self.assertEqual(self.ok("-S", "-n"), before)
        rc, out, err = self.adm("--keepalived-reload", "a", "b")
        self.assertEqual((rc, err), (2, "fastvsadm: usage: --keepalived-reload [FILE]\n"))

    def test_help(self):
        # From the grammar's tables: every command, option and scheduler, ending with a newline;
        # without a daemon (no socket needed).
        r = subprocess.run([FASTVSADM, "--help"], capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, FASTVS_SOCKET="/nonexistent/x.sock"))
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertTrue(r.stdout.endswith("\n"))
        for word in ("--add-service", "--persistent", "--thresholds", "--set", "--check add",
                     "--keepalived-reload", "ip [-s] link", "mh-fallback", "  ovf "):
            self.assertIn(word, r.stdout)
        self.assertEqual(subprocess.run([FASTVSADM, "-h"], capture_output=True, text=True,
                                        timeout=20).stdout, r.stdout)

    def raw(self, words, deadline_ms=0, stdin=b""):
        # common/cli_proto.h, by hand: the deadline is ours to choose.
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(self.sock)
        s.sendall(f"FVS1 {deadline_ms}\n".encode() + b"".join(w.encode() + b"\0" for w in words)
                  + b"\0" + stdin)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        s.close()
        return reply.decode()

    def test_a_request_not_sent_whole_in_time_is_told_why(self):
        # A client that starts a request and never ends it: closed at the request's deadline
        # (10 s from the connection), with one line saying why.
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(self.sock)
        start = time.monotonic()
        s.sendall(b"FVS1 0\n-L\0")
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        s.close()
        self.assertEqual(reply, b"error\nrequest not received whole within 10 s: closed\n")
        self.assertGreater(time.monotonic() - start, 9)

    def test_a_change_past_its_deadline_is_never_applied(self):
        # What fastvsadm reports as failed or timed out was not made: a change reached past its
        # client's deadline is refused (nothing changed), at once or after waiting its turn.
        before = self.ok("-S", "-n")
        now_ms = int(time.time() * 1000)
        reply = self.raw(["-A", "-t", "10.7.7.7:80", "-s", "rr"], now_ms + 200)
        self.assertTrue(reply.startswith("error\nnot applied:"), reply)
        self.assertEqual(self.ok("-S", "-n"), before)
        # Behind a long -R (parsed on the load thread): its turn comes past its deadline.
        self.ok("ip", "addr", "add", "10.255.255.254/8", "dev", "dpdk1")
        lines = ["-A -t 172.16.0.1:80 -s rr"]
        lines += [f"-a -t 172.16.0.1:80 -r 10.{(i + 1) >> 16}.{((i + 1) >> 8) & 255}."
                  f"{(i + 1) & 255}:80 -m" for i in range(100000)]
        restore = subprocess.Popen([FASTVSADM, "--socket", self.sock, "-R"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        restore.stdin.write("\n".join(lines) + "\n")
        restore.stdin.close()
        wait_for(lambda: "fastvsadm -R: loading" in self.d.output(), 30, "the restore's load")
        reply = self.raw(["-A", "-t", "10.7.7.8:80", "-s", "rr"], int(time.time() * 1000) + 1100)
        self.assertEqual(restore.wait(60), 0, restore.stderr.read())
        self.assertTrue(reply.startswith("error\nnot applied:"), reply)
        self.assertNotIn("10.7.7.8", self.ok("-S", "-n"))
        # With time to spare, the same change is made.
        self.assertEqual(self.raw(["-A", "-t", "10.7.7.8:80", "-s", "rr"],
                                  int(time.time() * 1000) + 30000), "ok\n")
        self.ok("-C")
        self.ok("ip", "addr", "del", "10.255.255.254/8", "dev", "dpdk1")

    def test_not_running(self):
        rc, out, err = self.adm("-L", "-n", env=dict(os.environ, FASTVS_SOCKET="/nonexistent/x.sock"))
        self.assertEqual(rc, 1)
        self.assertEqual(err, "fastvsadm: fastvsd is not running (no socket at /nonexistent/x.sock)\n")
        # --socket wins over the environment.
        r = subprocess.run([FASTVSADM, "--socket", self.sock, "-L", "-n"], capture_output=True,
                           text=True, env=dict(os.environ, FASTVS_SOCKET="/nonexistent/x.sock"))
        self.assertEqual(r.returncode, 0, r.stderr)
        # A path that is no socket is named as such, not as a fastvsd that is not running.
        with tempfile.NamedTemporaryFile() as f:
            r = subprocess.run([FASTVSADM, "--socket", f.name, "-L", "-n"], capture_output=True,
                               text=True)
            self.assertEqual((r.returncode, r.stderr),
                             (1, f"fastvsadm: {f.name} is not a socket (--socket names fastvsd's "
                                 "socket)\n"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
