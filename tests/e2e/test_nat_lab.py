#!/usr/bin/python3
"""End to end: the seeds' NAT lab in network namespaces, real HTTP and UDP servers, real curl,
fastvsd on the veths (af_xdp, else af_packet). Needs root; fails (does not skip) without it."""
import collections
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import topo  # noqa: E402
import fvtest  # noqa: E402
from fvtest import Fastvsd, wait_for  # noqa: E402

DRIVER = os.environ.get("FASTVS_E2E_DRIVER", "af_packet")


def lab_config(one_arm=False, w1=1, w2=1, sched="wrr"):
    rs_dev = "dpdk0" if one_arm else "dpdk1"
    return "\n".join([
        f"ip addr add {topo.VIP}/24 dev dpdk0",
        f"ip addr add {topo.DIP}/24 dev {rs_dev}",
        "ip route add default via 172.16.254.1 dev dpdk0",
        f"-A -t {topo.VIP}:80 -s {sched}",
        f"-a -t {topo.VIP}:80 -r 192.168.0.18:80 -m -w {w1}",
        f"-a -t {topo.VIP}:80 -r 192.168.0.28:80 -m -w {w2}",
        f"-A -u {topo.VIP}:53 -s rr",
        f"-a -u {topo.VIP}:53 -r 192.168.0.18:5353 -m",
        f"-a -u {topo.VIP}:53 -r 192.168.0.28:5353 -m",
    ]) + "\n"


def udp_query(client_ip, payload, timeout=2):
    """One datagram to VIP:53 from a fresh socket; returns 'name:payload VIP port' or ''."""
    return topo.ns("client", "/usr/bin/python3 -c \"import socket; s=socket.socket(2,2); "
                   f"s.bind(('{client_ip}', 0)); s.settimeout({timeout}); "
                   f"s.sendto(b'{payload}', ('{topo.VIP}', 53)); "
                   "d,a=s.recvfrom(100); print(d.decode(), a[0], a[1])\"",
                   capture=True, check=False).strip()


class Lab:
    def __init__(self, testcase, topology, config, lcores="0@0,1@1", args=()):
        self.t = topology
        path = os.path.join(topology.dir, "lab.conf")
        with open(path, "w") as f:
            f.write(config)
        eal = ["--lcores", lcores, "--no-huge", "-m", "512", "--no-shconf"] + \
            topo.vdev_args(topology.ports, DRIVER)
        self.d = Fastvsd(eal, ["--config", path, "--idle-sleep-us", "200", "--conn-capacity",
                               "65536", *args], topology.dir, "fvse2e", netns=topo.DIRECTOR_NS,
                         kernel_path=True)
        self.d.wait_started()
        testcase.addCleanup(self.stop)
        # Warm up through the UDP service, so that the TCP service's scheduler is untouched:
        # the director resolves the client's and both servers' MACs (a packet whose next hop is
        # unresolved is dropped while ARP runs), polled until both servers have answered.
        seen = set()
        wait_for(lambda: seen.add(udp_query(topo.CIP, "warm", 1).split(":")[0]) or
                 {"rs1", "rs2"} <= seen, 30, "both real servers to answer through the VIP")

    def stop(self):
        rc = self.d.stop()
        if rc != 0:
            raise AssertionError(f"fastvsd exited {rc}:\n{self.d.output()}")
        self.d.close()


def live_fastvsd(testcase, name):
    """fastvsd on the lab's ports with no configuration, to be configured live: (the process,
    adm(*args) running fastvsadm on its socket, which must succeed and gives its output). It is
    stopped, and must exit 0, when the test ends."""
    t = testcase.topo
    sock = os.path.join(t.dir, "fastvsd.sock")
    eal = ["--lcores", "0@0,1@1", "--no-huge", "-m", "512", "--no-shconf"] + \
        topo.vdev_args(t.ports, DRIVER)
    d = Fastvsd(eal, ["--socket", sock, "--idle-sleep-us", "200"], t.dir, name,
                netns=topo.DIRECTOR_NS, kernel_path=True)
    d.wait_started()

    def stop():
        rc = d.stop()
        out = d.output()
        d.close()
        testcase.assertEqual(rc, 0, out)
    testcase.addCleanup(stop)
    adm_path = os.path.join(os.path.dirname(fvtest.fastvsd_path()), "fastvsadm")

    def adm(*args):
        r = subprocess.run([adm_path, "--socket", sock, *args], capture_output=True, text=True,
                           timeout=20)
        testcase.assertEqual(r.returncode, 0, f"fastvsadm {' '.join(args)}: {r.stderr}")
        return r.stdout
    return d, adm


class LabCase(unittest.TestCase):
    """A topology of `kind` with its servers, built once for the class's tests."""
    kind = "nat"

    @classmethod
    def setUpClass(cls):
        cls.topo = topo.Topology(cls.kind)
        cls.topo.start_servers()

    @classmethod
    def tearDownClass(cls):
        cls.topo.destroy()


class NatLab(LabCase):

    def pages(self, n, clients=None):
        clients = clients or [topo.CIP]
        return [topo.curl(clients[i % len(clients)], f"http://{topo.VIP}/") for i in range(n)]

    def test_wrr_equal_weights_alternate_in_kernel_order(self):
        lab = Lab(self, self.topo, lab_config())
        got = self.pages(8)
        # One worker: wrr over the kernel's list [rs2, rs1] (the last added goes first).
        self.assertEqual(got, ["rs2rs2", "rs1rs1"] * 4, lab.d.output())
        # The stats file trails by up to its interval: poll it.
        wait_for(lambda: [d["conns"] for d in lab.d.counters()["destinations"]
                          if d["service"].startswith("tcp")] == [4, 4], 5,
                 "4 connections counted on each destination")

    def test_wrr_3_to_1_over_100_requests(self):
        Lab(self, self.topo, lab_config(w1=3, w2=1))
        got = collections.Counter(self.pages(100))
        # wrr's cycle is 4 picks long (rs1 rs1 rs2 rs1 ... as ip_vs_wrr_schedule steps cw down):
        # 100 requests are 25 whole cycles.
        self.assertEqual(got, {"rs1rs1": 75, "rs2rs2": 25})

    def test_udp_service(self):
        Lab(self, self.topo, lab_config())
        answers = [udp_query(topo.CIP, f"q{i}") for i in range(6)]
        names = [a.split(":")[0] for a in answers]
        self.assertEqual(sorted(collections.Counter(names).values()), [3, 3], answers)
        for i, a in enumerate(answers):
            self.assertTrue(a.endswith(f":q{i} {topo.VIP} 53"), a)  # the reply comes from VIP:53

    def test_two_workers_many_clients(self):
        lab = Lab(self, self.topo, lab_config(), lcores="0@0,1@1,2@1")
        clients = self.topo.clients(16)
        got = collections.Counter(self.pages(64, clients))
        self.assertEqual(sum(got.values()), 64, got)
        self.assertEqual(set(got), {"rs1rs1", "rs2rs2"})
        # Each worker alternates on its own: the aggregate stays within one per worker of even.
        self.assertLessEqual(abs(got["rs1rs1"] - got["rs2rs2"]), 4, got)
        c = lab.d.counters()
        # One queue per veth: worker 0 polls it and hands the other worker its clients.
        self.assertEqual(len(c["workers"]), 2)
        self.assertGreater(c["workers"][0]["handoff_out"], 0, c)
        self.assertGreater(c["workers"][1]["nat_in"], 0, c)
        self.assertGreater(c["workers"][1]["nat_out"], 0, c)


class KernelPathLab(LabCase):
    """The kernel path: the director's own stack (its namespace holds dpdk0/dpdk1, TAP
    interfaces with the ports' addresses) talks through fastvsd's ports, and a real server's own
    traffic is forwarded and masqueraded by it, as the seeds' MASQUERADE rule intends."""

    def dir(self, cmd, timeout=10):
        return topo.sh(f"ip netns exec {topo.DIRECTOR_NS} {cmd}", capture=True, check=False,
                       timeout=timeout)

    def test_host_stack_through_the_ports(self):
        lab = Lab(self, self.topo, lab_config())
        # The host's interfaces carry the ports' addresses.
        addrs = self.dir("ip -4 -br addr")
        self.assertRegex(addrs, rf"dpdk0 .*{topo.VIP}/24", addrs)
        self.assertRegex(addrs, rf"dpdk1 .*{topo.DIP}/24", addrs)
        # fastvsd's default route is in its own table, the host's main table has none.
        self.assertIn("default via 172.16.254.1 dev dpdk0",
                      self.dir("ip route show table 100"))
        self.assertNotIn("default", self.dir("ip route show table main"))
        # curl from the director's own stack to a real server, through dpdk1 (TAP -> control ->
        # worker -> the port; the answer: port -> worker -> control -> TAP). Its first packets
        # also resolve the server's MAC in the host.
        page = wait_for(lambda: self.dir("curl -s --max-time 2 http://192.168.0.18/").strip(),
                        20, "curl from the director's stack to rs1")
        self.assertEqual(page, "rs1rs1")
        # A real server pings the DIP (the workers answer echo themselves) and the VIP's
        # subnet address from the other side.
        self.assertEqual(topo.ns("rs1", f"ping -c 2 -W 2 {topo.DIP}", check=False), 0)
        c = lab.d.counters()
        self.assertGreater(sum(w["to_kernel"] for w in c["workers"]), 0, c)
        self.assertGreater(sum(w["from_kernel"] for w in c["workers"]), 0, c)
        # net_tap's RX trigger signal is its own handler's, not a line in the log per frame.
        out = lab.d.output()
        self.assertIn("left to the handler a DPDK driver installed", out)
        self.assertNotRegex(out, r"SIGRTMIN\S* \(from pid \d+\): ignored")

    def test_host_ipv6_through_the_ports(self):
        # fastvs forwards no IPv6 yet; the host's IPv6 works through the ports: its neighbour
        # discovery, pings and TCP to a real server over IPv6 (an IPv6 health check's path), and
        # the real server's to the host, its link-local addresses too.
        lab = Lab(self, self.topo, lab_config())
        for cmd in ("sysctl -qw net.ipv6.conf.dpdk1.disable_ipv6=0",
                    "ip -6 addr add 2001:db8:1::8/64 dev dpdk1 nodad"):
            self.assertEqual(self.dir(cmd), "", cmd)
        # The lab's hosts are IPv4 only; rs1 gets IPv6 for this test (undone after it: disabling
        # IPv6 on an interface removes its addresses).
        for cmd in ("sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0",
                    "sysctl -qw net.ipv6.conf.lo.disable_ipv6=0",
                    "ip -6 addr add 2001:db8:1::18/64 dev eth0 nodad"):
            topo.ns("rs1", cmd)
        self.addCleanup(topo.ns, "rs1", "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1")
        self.topo.start_http("rs1", 8086, "rs1-over-ipv6", wait=False, bind="2001:db8:1::18")
        self.addCleanup(self.topo.stop_http, "rs1", 8086)
        page = wait_for(lambda: self.dir("curl -s --max-time 2 http://[2001:db8:1::18]:8086/")
                        .strip(), 20, "curl -6 from the director's stack to rs1")
        self.assertEqual(page, "rs1-over-ipv6")
        self.assertEqual(topo.ns("rs1", "ping -6 -c 2 -W 2 2001:db8:1::8", check=False), 0)
        # Link-local: the host's fe80:: address on dpdk1 (from the port's MAC) answers rs1.
        lladdr = self.dir("ip -6 -br addr show dev dpdk1 scope link").split()
        self.assertEqual(len(lladdr), 3, lladdr)
        self.assertEqual(topo.ns("rs1", f"ping -6 -c 1 -W 2 {lladdr[2].split('/')[0]}%eth0",
                                 check=False), 0)
        # Neighbour discovery rode the control budget; the rest the general one.
        c = lab.d.counters()
        self.assertGreater(sum(w["to_kernel_ctl"] for w in c["workers"]), 0, c)
        self.assertEqual(lab.d.drops().get("ethertype", 0), 0)

    def test_director_ipv6_address_answers(self):
        # An IPv6 address of fastvsd's own (not the host's): the workers answer rs1's neighbour
        # solicitation and its pings, learn rs1 from the solicitation and route the answers.
        sock = os.path.join(self.topo.dir, "fastvsd6.sock")
        lab = Lab(self, self.topo, lab_config() + "ip addr add 2001:db8:1::9/64 dev dpdk1\n",
                  args=("--socket", sock))
        adm = os.path.join(os.path.dirname(fvtest.fastvsd_path()), "fastvsadm")

        def fastvsadm(*args):
            return subprocess.run([adm, "--socket", sock, *args], capture_output=True, text=True,
                                  timeout=10)
        for cmd in ("sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0",
                    "ip -6 addr add 2001:db8:1::18/64 dev eth0 nodad"):
            topo.ns("rs1", cmd)
        self.addCleanup(topo.ns, "rs1", "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1")
        self.assertEqual(topo.ns("rs1", "ping -6 -c 3 -i 0.2 -W 2 2001:db8:1::9", check=False), 0)
        # rs1 holds the director's MAC for it, from the advertisement.
        neigh = topo.ns("rs1", "ip -6 neigh show 2001:db8:1::9", capture=True)
        self.assertRegex(neigh, r"lladdr [0-9a-f:]{17}", neigh)
        c = lab.d.counters()
        self.assertGreater(sum(w["nd_adverts"] for w in c["workers"]), 0, c)
        self.assertGreaterEqual(sum(w["echo_replies"] for w in c["workers"]), 2, c)
        # fastvsd learned rs1 (from its solicitation), and will not take rs1's address from it.
        self.assertRegex(fastvsadm("ip", "-6", "neigh").stdout,
                         r"2001:db8:1::18 dev dpdk1 lladdr [0-9a-f:]{17} REACHABLE")
        r = fastvsadm("ip", "addr", "add", "2001:db8:1::18/64", "dev", "dpdk1")
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"address 2001:db8:1::18 is in use on dpdk1 by [0-9a-f:]{17} "
                         r"\(a neighbour\): not taken")

    def test_kernel_rate_zero_hands_the_host_nothing(self):
        lab = Lab(self, self.topo, lab_config(), args=("--kernel-rate", "0"))
        # The director's stack still sends (the limit is on what the workers hand it), but rs1's
        # answers to it are dropped and counted, never delivered: curl gets no page. Only ARP
        # replies to the host's requests (and VRRP) reach it, on their own budget.
        for _ in range(2):
            self.assertEqual(self.dir("curl -s --max-time 1 http://192.168.0.18/").strip(), "")
        wait_for(lambda: lab.d.drops().get("kernel_path_limit", 0) > 0, 10,
                 "kernel_path_limit to count rs1's answers")
        wait_for(lambda: sum(w["from_kernel"] for w in lab.d.counters()["workers"]) > 0, 10,
                 "the host's packets to go out")
        c = lab.d.counters()
        self.assertEqual(sum(w["to_kernel"] for w in c["workers"]),
                         sum(w["to_kernel_ctl"] for w in c["workers"]), c)
        # Forwarding is untouched.
        self.assertIn(topo.curl(topo.CIP, f"http://{topo.VIP}/"), ("rs1rs1", "rs2rs2"))

    def test_real_server_traffic_is_masqueraded(self):
        Lab(self, self.topo, lab_config())
        # A server on the client side; a real server reaches it through its gateway, the DIP:
        # fastvsd hands what is not LVS traffic to the host, which forwards and masquerades it.
        root = os.path.join(self.topo.dir, "www-client")
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("client-side")
        srv = subprocess.Popen(f"exec ip netns exec fvs-client /usr/bin/python3 -m http.server "
                               f"8080 --bind {topo.CIP} --directory {root}", shell=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (srv.kill(), srv.wait()))
        wait_for(lambda: topo.ns("client", f"curl -s -o /dev/null --max-time 1 "
                                 f"http://{topo.CIP}:8080/", check=False) == 0, 20,
                 "the client-side server")
        page = wait_for(lambda: topo.ns("rs1", f"curl -s --max-time 2 http://{topo.CIP}:8080/",
                                        capture=True, check=False).strip(), 20,
                        "rs1 to reach the client side")
        self.assertEqual(page, "client-side")
        # The client saw the director's address (masqueraded), not the real server's.
        srv.kill()
        _, err = srv.communicate(timeout=5)
        log = [line for line in err.splitlines() if "GET / " in line]
        self.assertTrue(log, err)
        self.assertTrue(all(line.startswith(topo.VIP + " ") for line in log[-1:]), log)


class LiveNatLab(LabCase):
    """The NAT lab configured live through fastvsadm, changed while curl runs in a loop."""

    def test_add_drain_remove_under_curl(self):
        d, adm = live_fastvsd(self, "fvslive")
        # The seeds' commands, live.
        adm("ip", "addr", "add", f"{topo.VIP}/24", "dev", "dpdk0")
        adm("ip", "addr", "add", f"{topo.DIP}/24", "dev", "dpdk1")
        adm("-A", "-t", f"{topo.VIP}:80", "-s", "wrr")
        adm("-a", "-t", f"{topo.VIP}:80", "-r", "192.168.0.18:80", "-m", "-w", "1")
        wait_for(lambda: topo.curl(topo.CIP, f"http://{topo.VIP}/", timeout=1) == "rs1rs1", 30,
                 "rs1 to answer through the VIP")
        results, stop = [], threading.Event()

        def loop():
            while not stop.is_set():
                results.append(topo.curl(topo.CIP, f"http://{topo.VIP}/", timeout=5))
        th = threading.Thread(target=loop)
        th.start()
        try:
            def seen_since(n, page):
                return page in results[n:]
            adm("-a", "-t", f"{topo.VIP}:80", "-r", "192.168.0.28:80", "-m", "-w", "1")
            mark = len(results)
            wait_for(lambda: seen_since(mark, "rs2rs2") and seen_since(mark, "rs1rs1"), 30,
                     "both servers after adding rs2")
            adm("-e", "-t", f"{topo.VIP}:80", "-r", "192.168.0.18:80", "-m", "-w", "0")  # drain
            drained = len(results) + 1  # the request in flight may still go to rs1
            wait_for(lambda: len(results) >= drained + 10, 60, "10 requests after draining rs1")
            self.assertEqual(set(results[drained:]), {"rs2rs2"}, results[drained:])
            listing = adm("-L", "-n")
            # Weight 0, its finished connections still counted as IPVS counts them (TIME_WAIT is
            # inactive; a SYN_RECV left by the warm-up's abandoned first try is active).
            self.assertRegex(listing, r"-> 192\.168\.0\.18:80 +Masq +0 +\d+ +[1-9]")
            self.assertRegex(listing, r"-> 192\.168\.0\.28:80 +Masq +1 +\d+ +[1-9]")
            adm("-d", "-t", f"{topo.VIP}:80", "-r", "192.168.0.18:80")
            removed = len(results)
            wait_for(lambda: len(results) >= removed + 10, 60, "10 requests after removing rs1")
        finally:
            stop.set()
            th.join(30)
        failed = [i for i, r in enumerate(results) if r not in ("rs1rs1", "rs2rs2")]
        self.assertEqual(failed, [], f"failed requests among {len(results)}: {results}")
        self.assertEqual(set(results[removed:]), {"rs2rs2"})
        self.assertNotIn("192.168.0.18", adm("-L", "-n"))


class FwmarkLab(LabCase):
    """The Red Hat guide's multi-port service, as its commands write it with `iptables` and
    `ipvsadm` replaced by `fastvsadm iptables` and `fastvsadm`: HTTP and HTTPS of the VIP marked
    80, one persistent firewall-mark service for both, real curl against real HTTP servers on
    both ports of both real servers."""

    def test_a_client_keeps_its_real_server_across_ports(self):
        t = self.topo
        for name in topo.RS:
            t.start_http(name, 443, page=f"{name}-443")
            self.addCleanup(t.stop_http, name, 443)
        d, adm = live_fastvsd(self, "fvsfwm")
        adm("ip", "addr", "add", f"{topo.VIP}/24", "dev", "dpdk0")
        adm("ip", "addr", "add", f"{topo.DIP}/24", "dev", "dpdk1")
        adm(*f"iptables -t mangle -A PREROUTING -p tcp -d {topo.VIP}/32 -m multiport "
            "--dports 80,443 -j MARK --set-mark 80".split())
        adm("-A", "-f", "80", "-s", "rr", "-p", "600")
        adm("-a", "-f", "80", "-r", "192.168.0.18", "-m")
        adm("-a", "-f", "80", "-r", "192.168.0.28", "-m")
        # The first answer: the director has resolved the servers' MACs (a SYN whose next hop
        # is unresolved waits or is retried by the client); the client's template is made.
        first = wait_for(lambda: topo.curl(topo.CIP, f"http://{topo.VIP}/", timeout=1), 30,
                         "an answer through the firewall-mark service")
        rs = first[:3]
        self.assertIn(rs, topo.RS)
        got = [topo.curl(topo.CIP, f"http://{topo.VIP}{port}/")
               for port in ("", ":443") * 3]
        self.assertEqual(got, [PAGE_OF[rs], f"{rs}-443"] * 3)
        # Another client: rr's next pick, the other server, on both ports too.
        other_client = t.clients(2)[1]
        other = "rs1" if rs == "rs2" else "rs2"
        got = [topo.curl(other_client, f"http://{topo.VIP}{port}/") for port in (":443", "")]
        self.assertEqual(got, [f"{other}-443", PAGE_OF[other]])
        # A port no rule marks, with no service of its own: not the service's (the host's,
        # which does not listen there).
        self.assertEqual(topo.curl(topo.CIP, f"http://{topo.VIP}:8080/", timeout=1), "")
        listing = adm("-L", "-n")
        self.assertIn("FWM  80 rr persistent 600\n", listing)
        self.assertRegex(listing, r"-> 192\.168\.0\.18:0 +Masq +1 +\d+ +\d+")
        self.assertEqual(adm("iptables", "-t", "mangle", "-S", "PREROUTING"),
                         "-P PREROUTING ACCEPT\n"
                         f"-A PREROUTING -d {topo.VIP}/32 -p tcp -m multiport --dports 80,443 "
                         "-j MARK --set-xmark 0x50/0xffffffff\n")
        # The stats file names the service by its mark; the other client's two connections
        # are on its server (the first client's count includes its retried first tries).
        rip = {"rs1": "192.168.0.18:0", "rs2": "192.168.0.28:0"}

        def conns():
            return {x["rip"]: x["conns"] for x in d.counters()["destinations"]
                    if x["service"] == "fwm:80"}
        wait_for(lambda: conns().get(rip[other]) == 2 and conns().get(rip[rs], 0) >= 7, 5,
                 "the connections counted on each server", detail=lambda: str(conns()))


PAGE_OF = topo.PAGES


class OneArmNatLab(LabCase):
    kind = "nat1"

    def test_one_arm_alternates(self):
        Lab(self, self.topo, lab_config(one_arm=True))
        got = [topo.curl(topo.CIP, f"http://{topo.VIP}/") for _ in range(6)]
        self.assertEqual(got, ["rs2rs2", "rs1rs1"] * 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
