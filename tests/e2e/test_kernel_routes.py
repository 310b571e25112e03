#!/usr/bin/python3
"""The host's routing is the operator's: the kernel path adds and removes only its own rules and
routes (protocol 250, priority = table = --kernel-table), will not start on a table in use by
others, removes what a killed fastvsd left, and logs a failed sync as failed.

fastvsd runs on two net_ring ports (no traffic) with the kernel path, in a network namespace of
this test's own (fvk-*: never the root namespace's routing), under an empty read-only /tmp (the
kernel path writes no temporary files). Needs root; fails (does not skip) without it."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import fvtest  # noqa: E402
from fvtest import Fastvsd, wait_for  # noqa: E402

NS = f"fvk-routes{os.getpid()}"
TABLE = 200
PROTO = "250"
# fastvsd in a mount namespace of its own whose /tmp is read-only and empty, but for fastvsd's
# build directory when that is under /tmp (a clone there: it is bound back in, from a descriptor
# opened before the mount hid it).
NO_TMP = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
          'b=$1; shift; exec 3<"$b"; mount -t tmpfs -o size=64k fvk-tmp /tmp || exit 1; '
          'case $b in /tmp/*) mkdir -p "$b" && '
          'mount --no-canonicalize --bind /proc/self/fd/3 "$b" || exit 1;; esac; '
          'exec 3<&-; mount -o remount,ro /tmp && exec "$@"', "sh",
          os.path.dirname(fvtest.fastvsd_path())]

# The operator's policy routing: tables 100 (fastvsd's default) and 300, and a rule at the
# priority fastvsd uses for table 200, in a namespace with an interface of its own (fvkh0).
OPERATOR = [
    "ip link set lo up",
    "ip link add fvkh0 type veth peer name fvkh1",
    "ip link set fvkh0 up",
    "ip link set fvkh1 up",
    "ip addr add 10.77.0.1/24 dev fvkh0",
    "ip rule add priority 1000 from 10.77.0.5 lookup 100",
    "ip rule add iif fvkh1 lookup 100",
    f"ip rule add priority {TABLE} from 10.77.0.6 lookup 300",
    "ip rule add priority 1001 fwmark 7 lookup 300",
    "ip route add 10.88.0.0/24 via 10.77.0.2 dev fvkh0 table 100",
    "ip route add blackhole 10.89.0.0/24 table 100",
    "ip route add 10.90.0.0/24 dev fvkh0 table 300",
    "ip route add 10.91.0.0/24 via 10.77.0.2",
]

CONFIG = """ip addr add 10.1.0.5/24 dev dpdk0
ip addr add 10.2.0.5/24 dev dpdk1
ip route add default via 10.1.0.1
ip route add 10.50.0.0/16 via 10.2.0.1
"""
# fastvsd's own, for CONFIG: rules (priority, from, iif) and routes (to, via, dev, src).
OWN_RULES = [(TABLE, "10.1.0.5", None), (TABLE, "10.2.0.5", None), (TABLE, "all", "dpdk0"),
             (TABLE, "all", "dpdk1")]
OWN_ROUTES = [("10.1.0.0/24", None, "dpdk0", "10.1.0.5"),
              ("10.2.0.0/24", None, "dpdk1", "10.2.0.5"),
              ("10.50.0.0/16", "10.2.0.1", "dpdk1", None),
              ("default", "10.1.0.1", "dpdk0", None)]
SYNCED = "kernel path: host addresses and routes synced"


def sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError(f"`{cmd}` failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def nsx(cmd, check=True):
    return sh(f"ip netns exec {NS} {cmd}", check)


def ipj(args):
    """`ip -j -N ARGS` in the namespace: a list of dicts (numbers for tables and protocols)."""
    r = subprocess.run(f"ip netns exec {NS} ip -j -N {args}", shell=True, capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0 and "FIB table does not exist" in r.stderr:
        return []  # a table nothing was ever put in
    if r.returncode != 0:
        raise AssertionError(f"ip {args} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout or "[]")


def rule_set():
    return {json.dumps(r, sort_keys=True) for f in ("-4", "-6") for r in ipj(f"{f} rule show")}


def route_set():
    # The routes IPv6 gives every interface (link-local, multicast: the local one once
    # duplicate address detection is done) come and go with the interfaces and their
    # addresses; the operator's routes are the others.
    return {json.dumps(r, sort_keys=True) for f in ("-4", "-6")
            for r in ipj(f"{f} route show table all")
            if not r.get("dev", "").startswith(("dpdk", "fvkb")) and
            not r["dst"].startswith(("fe80:", "ff00:"))}


def own_rules(detached=False, family="-4"):
    """fastvsd's rules: (priority, from, iif[, detached]); each must look up its table."""
    out = []
    for r in ipj(f"{family} rule show"):
        if r.get("protocol") != PROTO:
            continue
        assert r["table"] == str(TABLE), r
        out.append((r["priority"], r.get("src"), r.get("iif")) +
                   (("iif_detached" in r,) if detached else ()))
    return sorted(out, key=repr)


def own_routes(table=TABLE, family="-4"):
    return sorted(((r["dst"], r.get("gateway"), r.get("dev"), r.get("prefsrc"))
                   for r in ipj(f"{family} route show table {table}")
                   if r.get("protocol") == PROTO), key=repr)


class KernelRoutes(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("the kernel path's routing tests need root (network namespaces)")
        cls.adm_path = os.path.join(os.path.dirname(fvtest.fastvsd_path()), "fastvsadm")

    def setUp(self):
        # Outside /tmp: fastvsd's /tmp is an empty read-only one.
        self.dir = tempfile.mkdtemp(prefix="fvk-routes-", dir="/run")
        self.daemons = []
        sh(f"ip netns add {NS}")
        for cmd in OPERATOR:
            nsx(cmd)
        self.rules_before, self.routes_before = rule_set(), route_set()

    def tearDown(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
            d.close()
            shutil.rmtree(f"/var/run/dpdk/{d.prefix}", ignore_errors=True)
        sh(f"ip netns pids {NS} | xargs -r kill -9", check=False)
        sh(f"ip netns del {NS}", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, table=TABLE, name="fvkr", args=(), synced=True, config=CONFIG):
        workdir = os.path.join(self.dir, f"{name}{len(self.daemons)}")
        os.makedirs(workdir)
        self.sock = os.path.join(workdir, "fastvsd.sock")
        conf = os.path.join(workdir, "fastvsd.conf")
        with open(conf, "w") as f:
            f.write(config)
        d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "256", "--no-shconf",
                     "--vdev", "net_ring0", "--vdev", "net_ring1"],
                    ["--socket", self.sock, "--config", conf, "--idle-sleep-us", "1000",
                     "--kernel-table", str(table), *args], workdir, name, netns=NS,
                    kernel_path=True, wrap=NO_TMP)
        self.daemons.append(d)
        if synced:
            wait_for(lambda: SYNCED in d.output() or d.proc.poll() is not None, 30,
                     "fastvsd's first sync")
            self.assertIsNone(d.proc.poll(), d.output())
            self.assertEqual(d.output().count(SYNCED), 1, d.output())
            wait_for(lambda: os.path.exists(self.sock) or d.proc.poll() is not None, 30,
                     "the CLI socket")
            self.assertIsNone(d.proc.poll(), d.output())
        return d

    def refused(self, d):
        """fastvsd's exit status and its one line about the table."""
        try:
            rc = d.proc.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"fastvsd did not refuse:\n{d.output()}")
        lines = [line for line in d.output().splitlines() if "kernel path: routing table" in line]
        self.assertEqual(len(lines), 1, d.output())
        return rc, lines[0]

    def stop(self, d):
        rc = d.stop()
        self.assertEqual(rc, 0, d.output())

    def adm(self, *args):
        r = subprocess.run([self.adm_path, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 0, f"fastvsadm {' '.join(args)}: {r.stderr}")
        return r.stdout

    def assert_operators_untouched(self):
        self.assertLessEqual(self.rules_before, rule_set())
        self.assertLessEqual(self.routes_before, route_set())

    def assert_host_as_before(self):
        self.assertEqual(rule_set(), self.rules_before)
        self.assertEqual(route_set(), self.routes_before)

    def test_only_its_own_rules_and_routes_from_start_to_stop(self):
        d = self.start()
        self.assertEqual(own_rules(), OWN_RULES)
        self.assertEqual(own_routes(), OWN_ROUTES)
        self.assert_operators_untouched()
        # A route changed, one added, an address added (a rule and a connected route more).
        self.adm("ip", "route", "del", "10.50.0.0/16")
        self.adm("ip", "route", "add", "10.60.0.0/16", "via", "10.2.0.1")
        self.adm("ip", "addr", "add", "10.3.0.5/24", "dev", "dpdk1")
        self.assertEqual(d.output().count(SYNCED), 4, d.output())
        self.assertEqual(own_rules(), sorted(OWN_RULES + [(TABLE, "10.3.0.5", None)], key=repr))
        self.assertEqual(own_routes(), sorted(
            [r for r in OWN_ROUTES if r[0] != "10.50.0.0/16"] +
            [("10.60.0.0/16", "10.2.0.1", "dpdk1", None), ("10.3.0.0/24", None, "dpdk1",
                                                           "10.3.0.5")], key=repr))
        self.assert_operators_untouched()
        self.stop(d)
        self.assert_host_as_before()
        self.assertIn("kernel path: removed its 5 rules and 5 routes (table 200)", d.output())

    def test_ipv6_addresses_rules_and_routes(self):
        d = self.start()
        # No IPv6 in the configuration: no IPv6 rule or route of fastvsd's.
        self.assertEqual(own_rules(family="-6"), [])
        self.assertEqual(own_routes(family="-6"), [])
        self.adm("ip", "addr", "add", "2001:db8:1::9/64", "dev", "dpdk1")
        self.adm("ip", "-6", "route", "add", "2001:db8:50::/48", "via", "2001:db8:1::1")
        self.assertEqual(d.output().count(SYNCED), 3, d.output())
        # On the host at once (no duplicate address detection: usable as a source now).
        addrs = [a for i in ipj("-6 addr show dev dpdk1") for a in i["addr_info"]
                 if a["local"] == "2001:db8:1::9"]
        self.assertEqual(len(addrs), 1, addrs)
        self.assertEqual(addrs[0]["prefixlen"], 64)
        self.assertNotIn("tentative", addrs[0], addrs)
        self.assertEqual(own_rules(family="-6"), sorted(
            [(TABLE, "2001:db8:1::9", None), (TABLE, "all", "dpdk0"), (TABLE, "all", "dpdk1")],
            key=repr))
        self.assertEqual(own_routes(family="-6"), sorted(
            [("2001:db8:1::/64", None, "dpdk1", "2001:db8:1::9"),
             ("2001:db8:50::/48", "2001:db8:1::1", "dpdk1", None)], key=repr))
        # The host's own source for a real server's network through the port is fastvsd's
        # address (the rule `from` and the connected route in table 200).
        got = nsx(f"ip -6 route get 2001:db8:1::18 from 2001:db8:1::9")
        self.assertIn("dev dpdk1", got)
        self.assertIn(f"table {TABLE}", got)
        # An address the host adds is followed; the link-local ones the kernel gives every
        # interface are the host's own and are not.
        nsx("ip -6 addr add 2001:db8:1::38/128 dev dpdk1")
        wait_for(lambda: "2001:db8:1::38/128" in self.adm("ip", "-6", "addr"), 10,
                 "the host's IPv6 address followed")
        listing = self.adm("ip", "-6", "addr")
        self.assertIn("inet6 2001:db8:1::38/128 scope global (added on the host)", listing)
        self.assertIn("inet6 2001:db8:1::9/64 scope global", listing)
        self.assertTrue(any(a["local"].startswith("fe80:") for i in ipj("-6 addr show dev dpdk1")
                            for a in i["addr_info"]), "the kernel gave dpdk1 no link-local")
        self.assertNotIn("fe80:", listing)
        nsx("ip -6 addr del 2001:db8:1::38/128 dev dpdk1")
        wait_for(lambda: "2001:db8:1::38" not in self.adm("ip", "-6", "addr"), 10,
                 "the host's IPv6 address to go")
        # fastvsadm's removal takes its address, rules and routes off the host.
        self.adm("ip", "-6", "route", "del", "2001:db8:50::/48")
        self.adm("ip", "addr", "del", "2001:db8:1::9/64", "dev", "dpdk1")
        self.assertEqual(own_rules(family="-6"), [])
        self.assertEqual(own_routes(family="-6"), [])
        self.assertNotIn("2001:db8:1::9", nsx("ip -6 addr show dev dpdk1"))
        self.adm("ip", "addr", "add", "2001:db8:1::9/64", "dev", "dpdk1")
        self.stop(d)
        self.assert_host_as_before()
        self.assertIn("kernel path: removed its 7 rules and 5 routes (table 200)", d.output())

    def test_refuses_a_table_others_use(self):
        # The operator's tables (100: rules and routes, 300: the same), a table with only a
        # route, one with only a rule.
        nsx("ip route add 10.92.0.0/24 dev fvkh0 table 400")
        nsx("ip rule add priority 1002 to 10.93.0.0/24 lookup 500")
        self.rules_before, self.routes_before = rule_set(), route_set()
        cases = {
            100: ["rule `priority 1000 from 10.77.0.5/32 lookup 100",
                  "iif fvkh1 lookup 100", "route `10.88.0.0/24 via 10.77.0.2 dev fvkh0 table 100",
                  "route `blackhole 10.89.0.0/24 table 100"],
            300: ["rule `priority 200 from 10.77.0.6/32 lookup 300",
                  "rule `priority 1001 ... lookup 300", "route `10.90.0.0/24 dev fvkh0 table 300"],
            400: ["route `10.92.0.0/24 dev fvkh0 table 400"],
            500: ["rule `priority 1002 ... lookup 500"],
        }
        for table, named in cases.items():
            with self.subTest(table=table):
                rc, line = self.refused(self.start(table, synced=False))
                self.assertNotEqual(rc, 0, line)
                self.assertIn(f"routing table {table} is in use by rules or routes fastvsd did "
                              "not create", line)
                self.assertIn("--kernel-table", line)
                for n in named:
                    self.assertIn(n, line)
                self.assert_host_as_before()

    def test_refuses_the_table_of_a_running_fastvsd(self):
        # No addresses: its rules `iif dpdkN` alone (no routes) say that it runs.
        d = self.start(config="")
        running = [(TABLE, "all", "dpdk0"), (TABLE, "all", "dpdk1")]
        self.assertEqual(own_rules(), running)
        self.assertEqual(own_routes(), [])
        other = self.start(name="fvkr2", args=("--kernel-if-prefix", "fvkb"), synced=False)
        rc, line = self.refused(other)
        self.assertNotEqual(rc, 0, line)
        self.assertIn(f"routing table {TABLE} is in use by another running fastvsd (rule "
                      f"`priority {TABLE} iif dpdk0 lookup {TABLE} protocol 250`", line)
        self.assertIn("--kernel-table", line)
        self.assertEqual(own_rules(), running)
        self.stop(d)
        self.assert_host_as_before()

    def test_start_after_kill_removes_what_it_left(self):
        d = self.start()
        d.proc.kill()
        d.proc.wait()
        # Its interfaces (and the routes through them) went with it; its rules stayed.
        wait_for(lambda: "dpdk0" not in nsx("ip -br link"), 10, "dpdk0 to go")
        self.assertEqual(own_routes(), [])
        self.assertEqual(own_rules(detached=True),
                         sorted([(TABLE, "10.1.0.5", None, False), (TABLE, "10.2.0.5", None, False),
                                 (TABLE, "all", "dpdk0", True), (TABLE, "all", "dpdk1", True)],
                                key=repr))
        d2 = self.start()
        self.assertIn("kernel path: removed 4 rules a fastvsd that did not stop left", d2.output())
        self.assertEqual(own_rules(detached=True),
                         [r + (False,) for r in OWN_RULES])
        self.assertEqual(own_routes(), OWN_ROUTES)
        self.assert_operators_untouched()
        self.stop(d2)
        self.assert_host_as_before()

    def test_failed_sync_is_logged_as_failed(self):
        d = self.start()
        # The host refuses a gateway on an interface that is down.
        nsx("ip link set dpdk0 down")
        self.adm("ip", "route", "add", "10.60.0.0/16", "via", "10.1.0.1")
        out = d.output()
        self.assertRegex(out, r"kernel path: failed: ip route add 10\.60\.0\.0/16 via 10\.1\.0\.1 "
                         r"dev dpdk0 table 200 proto 250: \S", out)
        self.assertRegex(out, r"kernel path: sync FAILED \(\d+ failed, above\)", out)
        self.assertEqual(out.count(SYNCED), 1, out)
        # The operator puts a route in fastvsd's table; fastvsd's own for the same network is
        # refused (File exists) and the operator's stays.
        nsx(f"ip route add blackhole 10.61.0.0/16 table {TABLE}")
        nsx("ip link set dpdk0 up")
        self.adm("ip", "route", "add", "10.61.0.0/16", "via", "10.2.0.1")
        out = d.output()
        self.assertRegex(out, r"kernel path: failed: ip route add 10\.61\.0\.0/16 via 10\.2\.0\.1 "
                         r"dev dpdk1 table 200 proto 250: File exists", out)
        self.assertEqual(len(re.findall(r"sync FAILED", out)), 2, out)
        self.assertEqual(out.count(SYNCED), 1, out)
        # Once the host takes them, everything fastvsd wants is there again (the routes that
        # went with dpdk0 down too), the operator's route untouched.
        self.adm("ip", "route", "del", "10.61.0.0/16")
        self.assertEqual(d.output().count(SYNCED), 2, d.output())
        self.assertEqual(own_routes(), sorted(
            OWN_ROUTES + [("10.60.0.0/16", "10.1.0.1", "dpdk0", None)], key=repr))
        self.assertIn("blackhole 10.61.0.0/16", nsx(f"ip route show table {TABLE}"))
        self.stop(d)
        self.assertEqual(own_routes(), [])
        self.assertEqual(own_rules(), [])
        self.assertIn("blackhole 10.61.0.0/16", nsx(f"ip route show table {TABLE}"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
