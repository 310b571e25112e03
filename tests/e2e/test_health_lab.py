#!/usr/bin/python3
"""End to end: fastvsd's health checks with keepalived's semantics, in the lab. fastvsd runs in
the director's namespace and reads a keepalived.conf; its checks reach the real servers through
the kernel path. Stop a real server's HTTP server and it leaves scheduling within delay_loop +
retries while every curl succeeds from the other; start it and it returns. inhibit_on_failure
keeps it at weight 0; the sorry server answers when both are down; HTTP_GET and MISC_CHECK;
the seeds' keepalived DR configuration, loaded as is. Needs root; fails (does not skip)."""
import hashlib
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import topo  # noqa: E402
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402
from test_nat_lab import udp_query  # noqa: E402

DRIVER = os.environ.get("FASTVS_E2E_DRIVER", "af_xdp")
FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")

NAT_ADDRS = f"""ip addr add {topo.VIP}/24 dev dpdk0
ip addr add {topo.DIP}/24 dev dpdk1
ip route add default via 172.16.254.1 dev dpdk0
"""


def tcp_check():
    return "TCP_CHECK {\n connect_timeout 1\n retry 1\n delay_before_retry 1\n }"


def nat_vs(rs1_extra="", rs2_extra="", vs_extra="", rs1_check=None, rs2_check=None):
    return f"""
virtual_server {topo.VIP} 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    {vs_extra}
    real_server 192.168.0.18 80 {{
        weight 1
        {rs1_extra}
        {rs1_check or tcp_check()}
    }}
    real_server 192.168.0.28 80 {{
        weight 1
        {rs2_extra}
        {rs2_check or tcp_check()}
    }}
}}
"""


class Director:
    """fastvsd in the director's namespace with a --config and a --keepalived-conf."""

    def __init__(self, testcase, t, addrs, keepalived, kind):
        conf = os.path.join(t.dir, "addrs.conf")
        with open(conf, "w") as f:
            f.write(addrs)
        self.ka = os.path.join(t.dir, "keepalived.conf")
        with open(self.ka, "w") as f:
            f.write(keepalived)
        self.sock = os.path.join(t.dir, "fastvsd.sock")
        eal = ["--lcores", "0@0,1@1", "--no-huge", "-m", "512", "--no-shconf"] + \
            topo.vdev_args(t.ports, DRIVER)
        self.d = Fastvsd(eal, ["--config", conf, "--keepalived-conf", self.ka, "--socket",
                               self.sock, "--idle-sleep-us", "200", "--metrics-listen",
                               "127.0.0.1:9469"], t.dir, "fvshc" + kind,
                         netns=topo.DIRECTOR_NS, kernel_path=True)
        self.d.wait_started()
        testcase.addCleanup(self.stop)
        wait_for(lambda: os.path.exists(self.sock), 10, "the CLI socket")

    def stop(self):
        rc = self.d.stop()
        if rc != 0:
            raise AssertionError(f"fastvsd exited {rc}:\n{self.d.output()}")
        self.d.close()

    def adm(self, *args):
        r = subprocess.run([FASTVSADM, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError(f"fastvsadm {' '.join(args)}: {r.stderr}")
        return r.stdout

    def table(self):
        """ipvsadm's table of -L -n, and nothing else (the checks' state is --check list's: a
        section after the table read as services and destinations to ipvsadm's parsers)."""
        out = self.adm("-L", "-n")
        if "Health checks" in out or "quorum" in out:
            raise AssertionError(f"-L shows more than ipvsadm's table:\n{out}")
        return out

    def metrics(self):
        return topo.sh(f"ip netns exec {topo.DIRECTOR_NS} curl -s --max-time 2 "
                       "http://127.0.0.1:9469/metrics", capture=True, check=False)

    def checks_ran(self):
        return "not run yet" not in self.adm("--check", "list")


def pages(n, vip=topo.VIP, client=topo.CIP):
    return [topo.curl(client, f"http://{vip}/").strip() for _ in range(n)]


class HealthNatLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.topo = topo.Topology("nat")
        cls.topo.start_servers()

    @classmethod
    def tearDownClass(cls):
        cls.topo.destroy()

    def setUp(self):
        # Every test starts with both real servers serving.
        for name in topo.RS:
            if (name, 80) not in self.topo.http:
                self.topo.start_http(name)

    def both_serving(self, d):
        wait_for(lambda: d.checks_ran(), 20, "the first checks")
        seen = set()
        wait_for(lambda: seen.update(pages(2)) or {"rs1rs1", "rs2rs2"} <= seen, 30,
                 "both real servers through the VIP")

    def test_tcp_check_takes_a_failed_server_out_and_back(self):
        d = Director(self, self.topo, NAT_ADDRS, nat_vs(), "tcp")
        self.both_serving(d)
        self.topo.stop_http("rs1")
        # delay_loop 1 s, one retry 1 s later: out within a few seconds.
        wait_for(lambda: "192.168.0.18:80" not in d.table(), 15, "rs1 to leave the service")
        status = d.adm("--check", "list")
        self.assertRegex(status, r"192\.168\.0\.18:80 +DOWN", status)
        self.assertIn("connect to 192.168.0.18:80 failed", status)
        got = pages(10)
        self.assertEqual(got, ["rs2rs2"] * 10, got)  # every request answered, by rs2
        m = d.metrics()
        self.assertIn('rip="192.168.0.18",rport="80"} 0', m)
        self.assertIn('rip="192.168.0.28",rport="80"} 1', m)
        self.topo.start_http("rs1")
        wait_for(lambda: "192.168.0.18:80" in d.table(), 15, "rs1 to come back")
        seen = set()
        wait_for(lambda: seen.update(pages(2)) or "rs1rs1" in seen, 20, "rs1 to serve again")
        log = d.d.output()
        self.assertIn("health: TCP 172.16.254.200:80: destination 192.168.0.18:80 removed", log)
        self.assertIn("health: TCP 172.16.254.200:80: destination 192.168.0.18:80 added", log)

    def test_udp_check_takes_a_silent_port_out_and_back(self):
        # The lab's UDP service (VIP:53 to 5353 on each real server, whose echo server answers
        # "rsN:" and the datagram): UDP_CHECK sends "ping" and wants a reply starting "rs".
        # rs1's server stopped, its port answers ICMP port unreachable, which comes back to the
        # host through the data plane.
        udp_vs = f"""
virtual_server {topo.VIP} 53 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server 192.168.0.18 5353 {{
        UDP_CHECK {{
            connect_timeout 2
            retry 0
            payload 70 69 6e 67
            require_reply 7273
        }}
    }}
    real_server 192.168.0.28 5353 {{
        UDP_CHECK {{
            connect_timeout 2
            retry 0
            payload 70696e67
            require_reply 7273
        }}
    }}
}}
"""
        self.addCleanup(lambda: "rs1" in self.topo.udp or self.topo.start_udp("rs1"))
        d = Director(self, self.topo, NAT_ADDRS, udp_vs, "udp")
        wait_for(lambda: d.checks_ran(), 20, "the first checks")
        status = d.adm("--check", "list")
        self.assertRegex(status, r"192\.168\.0\.18:5353 +UP", status)
        self.assertIn("UDP_CHECK", status)
        self.topo.stop_udp("rs1")
        wait_for(lambda: "192.168.0.18:5353" not in d.table(), 15, "rs1 to leave the service")
        status = d.adm("--check", "list")
        self.assertRegex(status, r"192\.168\.0\.18:5353 +DOWN", status)
        self.assertIn("UDP to 192.168.0.18:5353: ICMP destination unreachable (code 3: "
                      "Connection refused)", status)
        got = {udp_query(c, "q").split(":")[0] for c in self.topo.clients(4)}
        self.assertEqual(got, {"rs2"})
        self.topo.start_udp("rs1")
        wait_for(lambda: "192.168.0.18:5353" in d.table(), 15, "rs1 to come back")

    def start_smtpd(self, name):
        """Python's own SMTP server (smtpd, Debian's python3.11) on port 2525 of `name`."""
        p = subprocess.Popen(["ip", "netns", "exec", f"{topo.PREFIX}{name}", "/usr/bin/python3",
                              "-W", "ignore", "-m", "smtpd", "-n", "-c", "DebuggingServer",
                              "0.0.0.0:2525"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.topo.procs.append(p)
        wait_for(lambda: topo.ns(name, "/usr/bin/python3 -c \"import socket; "
                                 "socket.create_connection(('127.0.0.1', 2525), 1)\"",
                                 check=False) == 0, 20, f"{name}'s SMTP server")
        return p

    def test_smtp_check_with_a_real_smtp_server(self):
        # SMTP_CHECK's greeting, HELO and QUIT against a real SMTP server on each real server;
        # rs1's stops and leaves the service, comes back and returns.
        smtpd = {name: self.start_smtpd(name) for name in topo.RS}
        check = "SMTP_CHECK {\n connect_timeout 2\n retry 0\n helo_name lb.fastvs.test\n }"
        smtp_vs = f"""
virtual_server {topo.VIP} 25 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.168.0.18 2525 {{
        {check}
    }}
    real_server 192.168.0.28 2525 {{
        {check}
    }}
}}
"""
        d = Director(self, self.topo, NAT_ADDRS, smtp_vs, "smtp")
        wait_for(lambda: d.checks_ran(), 20, "the first checks")
        status = d.adm("--check", "list")
        self.assertRegex(status, r"192\.168\.0\.18:2525 +UP", status)
        self.assertRegex(status, r"192\.168\.0\.28:2525 +UP", status)
        # A client's own SMTP session through the VIP.
        said = topo.ns("client", f"/usr/bin/python3 -c \"import smtplib; "
                       f"s = smtplib.SMTP('{topo.VIP}', 25, timeout=5); print(s.helo('c')[0]); "
                       f"s.quit()\"", capture=True, check=False).strip()
        self.assertEqual(said, "250")
        smtpd["rs1"].kill()
        smtpd["rs1"].wait()
        wait_for(lambda: "192.168.0.18:2525" not in d.table(), 15, "rs1 to leave the service")
        self.assertIn("connect to 192.168.0.18:2525 failed: Connection refused",
                      d.adm("--check", "list"))
        self.start_smtpd("rs1")
        wait_for(lambda: "192.168.0.18:2525" in d.table(), 15, "rs1 to come back")

    def start_https(self, name, cert, key):
        """An HTTPS server (Python's http.server wrapped in its ssl module) on port 443 of
        `name`, serving that real server's page."""
        root = os.path.join(self.topo.dir, f"{name}-80")
        code = ("import functools, http.server, ssl, sys\n"
                "h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])\n"
                "s = http.server.HTTPServer(('0.0.0.0', 443), h)\n"
                "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
                "c.load_cert_chain(sys.argv[1], sys.argv[2])\n"
                "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
                "s.serve_forever()\n")
        p = subprocess.Popen(["ip", "netns", "exec", f"{topo.PREFIX}{name}", "/usr/bin/python3",
                              "-c", code, cert, key, root], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.topo.procs.append(p)
        wait_for(lambda: topo.ns(name, "curl -sk -o /dev/null --max-time 1 https://127.0.0.1/",
                                 check=False) == 0, 20, f"{name}'s HTTPS server")
        return p

    def test_ssl_get_with_a_real_https_server(self):
        # SSL_GET against Python's own HTTPS server on each real server: the page's digest
        # over TLS, the certificate verified against keepalived's SSL { ca }; rs1's server
        # stops and rs1 leaves, and comes back.
        cert, key = (os.path.join(self.topo.dir, f) for f in ("rs.pem", "rs.key"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=rs.lab", "-keyout", key, "-out", cert], check=True,
                       capture_output=True, timeout=60)
        https = {name: self.start_https(name, cert, key) for name in topo.RS}
        digest = {name: hashlib.md5(topo.PAGES[name].encode()).hexdigest() for name in topo.RS}
        ssl_vs = f"""
SSL {{
    ca {cert}
}}
virtual_server {topo.VIP} 443 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.168.0.18 443 {{
        SSL_GET {{
            connect_timeout 2
            retry 0
            enable_sni
            url {{
                path /
                digest {digest["rs1"]}
                virtualhost rs.lab
            }}
        }}
    }}
    real_server 192.168.0.28 443 {{
        SSL_GET {{
            connect_timeout 2
            retry 0
            url {{
                path /
                digest {digest["rs2"]}
            }}
        }}
    }}
}}
"""
        d = Director(self, self.topo, NAT_ADDRS, ssl_vs, "ssl")
        wait_for(lambda: d.checks_ran(), 20, "the first checks")
        status = d.adm("--check", "list")
        self.assertRegex(status, r"192\.168\.0\.18:443 +UP", status)
        self.assertRegex(status, r"192\.168\.0\.28:443 +UP", status)
        # A client's own HTTPS through the VIP.
        got = topo.ns("client", f"curl -sk --max-time 3 https://{topo.VIP}/", capture=True,
                      check=False)
        self.assertIn(got, (topo.PAGES["rs1"], topo.PAGES["rs2"]))
        https["rs1"].kill()
        https["rs1"].wait()
        wait_for(lambda: "192.168.0.18:443" not in d.table(), 15, "rs1 to leave the service")
        self.assertIn("connect to 192.168.0.18:443 failed: Connection refused",
                      d.adm("--check", "list"))
        self.start_https("rs1", cert, key)
        wait_for(lambda: "192.168.0.18:443" in d.table(), 15, "rs1 to come back")

    def test_ping_check_takes_a_silent_host_out_and_back(self):
        # PING_CHECK: echo requests from the host through the data plane; rs1 stops answering
        # them (its firewall drops echo requests) and leaves; it answers again and returns.
        ping = "PING_CHECK {\n connect_timeout 1\n retry 0\n }"
        drop = "iptables -I INPUT -p icmp --icmp-type echo-request -j DROP"
        self.addCleanup(lambda: topo.ns("rs1", drop.replace("-I", "-D"), check=False))
        d = Director(self, self.topo, NAT_ADDRS, nat_vs(rs1_check=ping, rs2_check=ping), "ping")
        self.both_serving(d)
        self.assertRegex(d.adm("--check", "list"), r"192\.168\.0\.18:80 +UP")
        topo.ns("rs1", drop)
        wait_for(lambda: "192.168.0.18:80" not in d.table(), 15, "rs1 to leave the service")
        status = d.adm("--check", "list")
        self.assertRegex(status, r"192\.168\.0\.18:80 +DOWN", status)
        self.assertIn("ping 192.168.0.18: no echo reply within 1 s", status)
        self.assertEqual(pages(4), ["rs2rs2"] * 4)
        topo.ns("rs1", drop.replace("-I", "-D"))
        wait_for(lambda: "192.168.0.18:80" in d.table(), 15, "rs1 to come back")

    def test_inhibit_on_failure_keeps_it_at_weight_0(self):
        d = Director(self, self.topo, NAT_ADDRS, nat_vs(rs1_extra="inhibit_on_failure"), "inh")
        self.both_serving(d)
        self.topo.stop_http("rs1")
        wait_for(lambda: "192.168.0.18:80              Masq    0" in d.table(), 15,
                 "rs1 at weight 0")
        self.assertEqual(pages(6), ["rs2rs2"] * 6)
        self.topo.start_http("rs1")
        wait_for(lambda: "192.168.0.18:80              Masq    1" in d.table(), 15,
                 "rs1 back at weight 1")

    def test_sorry_server_when_both_are_down(self):
        self.topo.start_http("rs2", port=8080, page="sorry")
        self.addCleanup(lambda: self.topo.stop_http("rs2", 8080))
        d = Director(self, self.topo, NAT_ADDRS,
                     nat_vs(vs_extra="sorry_server 192.168.0.28 8080"), "sorry")
        self.both_serving(d)
        self.topo.stop_http("rs1")
        self.topo.stop_http("rs2")
        wait_for(lambda: pages(1) == ["sorry"], 20, "the sorry server to answer")
        self.assertIn("192.168.0.28:8080", d.table())
        self.topo.start_http("rs2")
        wait_for(lambda: pages(1) == ["rs2rs2"], 20, "rs2 to take over from the sorry server")
        self.assertNotIn("192.168.0.28:8080", d.table())

    def test_http_get_digest_and_misc_check(self):
        good = hashlib.md5(b"rs1rs1").hexdigest()
        http = ("HTTP_GET {\n url {\n path /index.html\n status_code 200\n digest " + good +
                "\n }\n connect_timeout 1\n retry 1\n delay_before_retry 1\n }")
        # rs2's page is not what this digest expects: its check fails from the start.
        wrong = ("HTTP_GET {\n url {\n path /index.html\n digest " + "0" * 32 +
                 "\n }\n connect_timeout 1\n retry 1\n delay_before_retry 1\n }")
        misc = "MISC_CHECK {\n misc_path \"/bin/sh -c 'exit 0'\"\n misc_timeout 2\n }"
        d = Director(self, self.topo, NAT_ADDRS,
                     nat_vs(rs1_check=http + "\n" + misc, rs2_check=wrong), "http")
        wait_for(lambda: "192.168.0.28:80" not in d.table(), 20, "rs2 out on its digest")
        status = d.adm("--check", "list")
        self.assertIn("digest", status)
        self.assertRegex(status, r"192\.168\.0\.18:80 +UP")
        got = set(wait_for(lambda: pages(4), 20, "answers"))
        self.assertEqual(got, {"rs1rs1"})

    def test_checks_from_fastvsadm(self):
        d = Director(self, self.topo, NAT_ADDRS, "", "adm")
        for c in (f"-A -t {topo.VIP}:80 -s rr", f"-a -t {topo.VIP}:80 -r 192.168.0.18:80 -m",
                  f"-a -t {topo.VIP}:80 -r 192.168.0.28:80 -m",
                  f"--check add -t {topo.VIP}:80 -r 192.168.0.18:80 tcp interval=1 timeout=1 "
                  "retry=1 delay_before_retry=1",
                  f"--check add -t {topo.VIP}:80 -r 192.168.0.28:80 http interval=1 timeout=1 "
                  "path=/ status=200"):
            d.adm(*c.split())
        self.both_serving(d)
        self.topo.stop_http("rs2")
        wait_for(lambda: "192.168.0.28:80" not in d.table(), 20, "rs2 to leave")
        self.assertEqual(pages(4), ["rs1rs1"] * 4)
        # Checks added to another service leave this one's verdicts alone (rs2 stays out).
        for c in (f"-A -t {topo.VIP}:8080 -s rr", f"-a -t {topo.VIP}:8080 -r 192.168.0.18:80 -m",
                  f"--check add -t {topo.VIP}:8080 -r 192.168.0.18:80 tcp interval=1"):
            d.adm(*c.split())
        self.assertNotIn("192.168.0.28:80", d.table())
        self.assertEqual(pages(4), ["rs1rs1"] * 4)
        d.adm("--check", "del", "-t", f"{topo.VIP}:80", "-r", "192.168.0.28:80")
        # Without its check rs2 is back in the table (and its connections fail: nobody checks).
        wait_for(lambda: "192.168.0.28:80" in d.table(), 10, "rs2 back without its check")
        self.topo.start_http("rs2")


SEED_KEEPALIVED = """vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        192.168.0.38
    }
}

virtual_server 192.168.0.38 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    persistence_timeout 0
    protocol TCP

    real_server 192.168.0.18 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 10
            nb_get_retry 3
            delay_before_retry 3
            connect_port 80
        }
    }

    real_server 192.168.0.28 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 10
            nb_get_retry 3
            delay_before_retry 3
            connect_port 80
        }
    }
}
"""


class SeedKeepalivedDrLab(unittest.TestCase):
    """The seeds' keepalived.conf (LVS-DR, VIP 192.168.0.38), loaded as is."""

    @classmethod
    def setUpClass(cls):
        cls.topo = topo.Topology("dr")
        t = cls.topo
        # The seeds' VIP: on the real servers' lo (they already ignore ARP for it), and reachable
        # from the client on the shared LAN.
        for name in topo.RS:
            topo.ns(name, "ip addr add 192.168.0.38/32 dev lo")
        topo.ns("client", "ip route add 192.168.0.38/32 dev eth0")
        t.start_servers()

    @classmethod
    def tearDownClass(cls):
        cls.topo.destroy()

    def test_the_seeds_vip_in_fastvsds_configuration_too_is_refused(self):
        # keepalived's VIP configured with fastvsadm too would stay on a backup: refused at start
        # (before any port forwards), naming keepalived.conf's line.
        t = self.topo
        conf = os.path.join(t.dir, "vip.conf")
        with open(conf, "w") as f:
            f.write(f"ip addr add {topo.DIP}/24 dev dpdk0\nip addr add 192.168.0.38/24 dev dpdk0\n")
        ka = os.path.join(t.dir, "seed-keepalived.conf")
        with open(ka, "w") as f:
            f.write(SEED_KEEPALIVED)
        eal = ["--lcores", "0@0,1@1", "--no-huge", "-m", "512", "--no-shconf"] + \
            topo.vdev_args(t.ports, DRIVER)
        d = Fastvsd(eal, ["--config", conf, "--keepalived-conf", ka, "--socket",
                          os.path.join(t.dir, "refused.sock")], t.dir, "fvshcref",
                    netns=topo.DIRECTOR_NS, kernel_path=True)
        self.assertEqual(d.proc.wait(30), 1, d.output())
        out = d.output()
        d.close()
        self.assertIn(f"address 192.168.0.38 on dpdk0 is keepalived's (vrrp_instance VI_1 at {ka}:",
                      out)

    def test_seed_configuration_runs(self):
        # The VIP is the seed's vrrp_instance's: keepalived --vrrp (or, without VRRP, the
        # operator) puts it on dpdk0 on the host, and fastvsd follows; here by hand, as
        # keepalived's master would (a /32: keepalived's default without a length).
        d = Director(self, self.topo, f"ip addr add {topo.DIP}/24 dev dpdk0\n", SEED_KEEPALIVED,
                     "seed")
        topo.sh(f"ip -n {topo.DIRECTOR_NS} addr add 192.168.0.38/32 dev dpdk0")
        wait_for(lambda: "192.168.0.38/32 scope global dpdk0 (added on the host)" in
                 d.adm("ip", "addr"), 10, "the seeds' VIP followed")
        log = d.d.output()
        self.assertIn("vrrp_instance is keepalived's (keepalived --vrrp runs it)", log)
        self.assertEqual(d.table(),
                         "IP Virtual Server version 1.2.1 (size=262144)\n"
                         "Prot LocalAddress:Port Scheduler Flags\n"
                         "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
                         "TCP  192.168.0.38:80 rr\n"
                         "  -> 192.168.0.18:80              Route   1      0          0         \n"
                         "  -> 192.168.0.28:80              Route   1      0          0         \n")
        seen = set()
        wait_for(lambda: seen.update(pages(2, vip="192.168.0.38")) or
                 {"rs1rs1", "rs2rs2"} <= seen, 30, "both real servers through the seeds' VIP")
        got = pages(4, vip="192.168.0.38")
        self.assertEqual(sorted(got), ["rs1rs1", "rs1rs1", "rs2rs2", "rs2rs2"], got)
        # The checks ran (first run within 1 s + warmup) and keep both up.
        wait_for(lambda: d.checks_ran(), 20, "the seeds' TCP_CHECKs to run")
        status = d.adm("--check", "list")
        self.assertRegex(status, r"192\.168\.0\.18:80 +UP")
        self.assertRegex(status, r"192\.168\.0\.28:80 +UP")


if __name__ == "__main__":
    unittest.main(verbosity=2)
