#!/usr/bin/python3
"""fastvsd's monitoring as a scraper and an operator see it: the Prometheus endpoint
(--metrics-listen) read with a real HTTP client and parsed strictly, and DPDK telemetry's
/fastvs/ commands read from the telemetry socket directly and with dpdk-telemetry.py.

fastvsd runs on a net_pcap port (one-arm NAT) whose capture holds six TCP conversations to a
service from the config file and three datagrams to a service that does not exist yet; once it
has taken them in, fastvsadm adds that service live. Every number is known in advance and is
checked against the stats file and fastvsadm -L as well."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, fastvsd_path, remove_runtime_dir, runtime_dir, wait_for  # noqa: E402

from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
PORT_MAC = "02:70:63:61:70:00"
CLIENT_MAC = "c0:00:00:00:00:0a"
RS_MAC = {"192.168.0.18": "aa:00:00:00:00:18", "192.168.0.28": "aa:00:00:00:00:28"}
VIP, DIP, LATE_VIP = "172.16.254.200", "192.168.0.8", "10.9.9.9"
CLIENTS = [f"172.16.254.{10 + i}" for i in range(6)]
RR = ["192.168.0.28", "192.168.0.18"]  # rr in the kernel's list order: the newest first


def capture():
    """The packets fastvsd takes in, and what each destination should count for them."""
    pkts = []
    want = {rip: {"conns": 0, "inpkts": 0, "outpkts": 0, "inbytes": 0, "outbytes": 0}
            for rip in RS_MAC}
    for i, cip in enumerate(CLIENTS):
        rip = RR[i % 2]
        cport = 40000 + i
        syn = IP(src=cip, dst=VIP, ttl=64) / TCP(sport=cport, dport=80, flags="S", seq=100)
        synack = IP(src=rip, dst=cip, ttl=64) / TCP(sport=8080, dport=cport, flags="SA", seq=500,
                                                    ack=101)
        data = IP(src=cip, dst=VIP, ttl=64) / TCP(sport=cport, dport=80, flags="PA", seq=101,
                                                  ack=501) / Raw(b"GET / HTTP/1.0\r\n\r\n" + b"x" * i)
        pkts += [Ether(src=CLIENT_MAC, dst=PORT_MAC) / syn,
                 Ether(src=RS_MAC[rip], dst=PORT_MAC) / synack,
                 Ether(src=CLIENT_MAC, dst=PORT_MAC) / data]
        w = want[rip]
        w["conns"] += 1
        w["inpkts"] += 2
        w["inbytes"] += len(syn) + len(data)  # IP bytes, as IPVS counts them
        w["outpkts"] += 1
        w["outbytes"] += len(synack)
    # To a service that fastvsadm adds later: dropped, no_service.
    for i in range(3):
        pkts.append(Ether(src=CLIENT_MAC, dst=PORT_MAC) /
                    IP(src=CLIENTS[i], dst=LATE_VIP) / UDP(sport=5000 + i, dport=53) / Raw(b"q"))
    return pkts, want


def config():
    lines = [f"ip addr add {VIP}/24 dev dpdk0", f"ip addr add {DIP}/24 dev dpdk0"]
    lines += [f"ip neigh add {c} lladdr {CLIENT_MAC} dev dpdk0" for c in CLIENTS]
    lines += [f"ip neigh add {ip} lladdr {mac} dev dpdk0" for ip, mac in RS_MAC.items()]
    lines += [f"-A -t {VIP}:80 -s rr",
              f"-a -t {VIP}:80 -r 192.168.0.18:8080 -m",
              f"-a -t {VIP}:80 -r 192.168.0.28:8080 -m"]
    return "\n".join(lines) + "\n"


# The text exposition format 0.0.4, read strictly: HELP and TYPE once per family and before its
# samples, a family's samples together, label values with their escapes, no duplicate series.
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)')


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def parse_exposition(text):
    """Returns ({(name, frozenset(labels)): value}, {name: type}); raises on any malformation."""
    assert text.endswith("\n"), "the last line ends with a newline"
    types, helps, samples, done, current = {}, {}, {}, set(), None
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert name not in helps, f"second HELP for {name}"
            helps[name] = help_text
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert typ in ("counter", "gauge"), line
            assert name not in types, f"second TYPE for {name}"
            assert name in helps, f"TYPE before HELP for {name}"
            types[name] = typ
            continue
        assert not line.startswith("#") and line, f"unexpected line {line!r}"
        m = SAMPLE.match(line)
        assert m, f"not a sample: {line!r}"
        name, labels_text, value = m.groups()
        assert name in types, f"sample of undeclared {name}"
        if name != current:
            assert name not in done, f"samples of {name} are not together"
            if current:
                done.add(current)
            current = name
        labels = {}
        pos = 0
        while labels_text and pos < len(labels_text):
            lm = LABEL.match(labels_text, pos)
            assert lm, f"bad labels in {line!r}"
            assert lm.group(1) not in labels, f"label twice in {line!r}"
            labels[lm.group(1)] = unescape(lm.group(2))
            pos = lm.end()
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"duplicate series {line!r}"
        v = float(value)
        if types[name] == "counter":
            assert name.endswith("_total") and v >= 0, line
        samples[key] = v
    return samples, types


def get(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="fvs-metrics-")
        cls.sock = os.path.join(cls.dir, "fastvsd.sock")
        cls.pkts, cls.want = capture()
        rx = os.path.join(cls.dir, "in.pcap")
        wrpcap(rx, cls.pkts)
        conf = os.path.join(cls.dir, "lab.conf")
        with open(conf, "w") as f:
            f.write(config())
        cls.d = Fastvsd(["--lcores", "0@0,1@1", "--no-huge", "-m", "256", "--no-shconf",
                         "--vdev", f"net_pcap0,rx_pcap={rx},tx_pcap={os.path.join(cls.dir, 'out.pcap')}"],
                        ["--config", conf, "--socket", cls.sock, "--conn-capacity", "4096",
                         "--idle-sleep-us", "500", "--metrics-listen", "127.0.0.1:0"],
                        cls.dir, "fvsmetrics", telemetry=True)
        try:
            cls.d.wait_started()
            line = wait_for(lambda: re.search(r"Prometheus metrics on http://(\S+)/metrics",
                                              cls.d.output()), 10, "the metrics endpoint")
            cls.url = f"http://{line.group(1)}"
            wait_for(lambda: cls.d.total("rx") >= len(cls.pkts), 20,
                     f"fastvsd to take in {len(cls.pkts)} packets")
            wait_for(lambda: os.path.exists(cls.sock), 10, "the CLI socket")
            # The late service, live; then its destination.
            cls.adm("-A", "-u", f"{LATE_VIP}:53", "-s", "wlc")
            cls.adm("-a", "-u", f"{LATE_VIP}:53", "-r", "192.168.0.18:53", "-m", "-w", "2")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        out = cls.d.output()
        remove_runtime_dir(cls.d.prefix)
        cls.d.close()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert rc == 0, out

    @classmethod
    def adm(cls, *args):
        r = subprocess.run([FASTVSADM, *args], capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, FASTVS_SOCKET=cls.sock))
        assert r.returncode == 0, f"fastvsadm {' '.join(args)}: {r.stderr}"
        return r.stdout

    @classmethod
    def runtime_dir(cls):
        return runtime_dir(cls.d.prefix)

    def scrape(self, path="/metrics", method="GET"):
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()

    def metrics(self):
        status, headers, body = self.scrape()
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"),
                        headers["Content-Type"])
        self.assertEqual(headers["Connection"], "close")
        # Streamed as it is made: chunked (urllib reads the chunks), no length ahead.
        self.assertEqual(headers["Transfer-Encoding"], "chunked")
        self.assertIsNone(headers["Content-Length"])
        samples, types = parse_exposition(body)
        self.cross_check(body, samples)
        return samples, types

    def cross_check(self, body, samples):
        """Prometheus' own Python parser (Debian's python3-prometheus-client), when installed,
        reads the same numbers."""
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError:
            return
        n = 0
        for fam in text_string_to_metric_families(body):
            for s in fam.samples:
                self.assertEqual(samples[(s.name, frozenset(s.labels.items()))], s.value, s)
                n += 1
        self.assertEqual(n, len(samples))

    def stats(self):
        return self.d.counters()

    def test_destinations_and_services(self):
        s, types = self.metrics()
        svc = dict(proto="TCP", vip=VIP, vport="80")
        self.assertEqual(get(s, "fastvs_service_info", scheduler="rr", **svc), 1)
        stats = {d["rip"]: d for d in self.stats()["destinations"]
                 if d["service"] == f"tcp:{VIP}:80"}
        listing = self.adm("-L", "-n")
        for rip, want in self.want.items():
            dst = dict(svc, rip=rip, rport="8080")
            self.assertEqual(get(s, "fastvs_destination_info", forward="Masq", **dst), 1)
            for key, name in (("conns", "connections_total"), ("inpkts", "in_packets_total"),
                              ("outpkts", "out_packets_total"), ("inbytes", "in_bytes_total"),
                              ("outbytes", "out_bytes_total")):
                got = get(s, f"fastvs_destination_{name}", **dst)
                self.assertEqual(got, want[key], f"{rip} {name}")
                if key in stats[f"{rip}:8080"]:
                    self.assertEqual(got, stats[f"{rip}:8080"][key], f"{rip} {name} vs stats file")
            # SYN, SYN-ACK, ACK with data: ESTABLISHED, which ipvsadm counts in ActiveConn.
            active = get(s, "fastvs_destination_active_connections", **dst)
            inactive = get(s, "fastvs_destination_inactive_connections", **dst)
            self.assertEqual((active, inactive), (3, 0))
            self.assertEqual(get(s, "fastvs_destination_persistent_connections", **dst), 0)
            self.assertEqual(active, stats[f"{rip}:8080"]["activeconns"])
            self.assertRegex(listing, rf"-> {re.escape(rip)}:8080\s+Masq\s+1\s+{int(active)}\s+"
                                      rf"{int(inactive)}")
        for key, name in (("conns", "connections_total"), ("inpkts", "in_packets_total"),
                          ("outpkts", "out_packets_total"), ("inbytes", "in_bytes_total"),
                          ("outbytes", "out_bytes_total")):
            self.assertEqual(get(s, f"fastvs_service_{name}", **svc),
                             sum(w[key] for w in self.want.values()), name)
            self.assertEqual(types[f"fastvs_service_{name}"], "counter")
        self.assertEqual(types["fastvs_destination_active_connections"], "gauge")

    def test_service_added_live_and_weights(self):
        late = dict(proto="UDP", vip=LATE_VIP, vport="53")
        dst = dict(late, rip="192.168.0.18", rport="53")
        s, _ = self.metrics()
        self.assertEqual(get(s, "fastvs_service_info", scheduler="wlc", **late), 1)
        self.assertEqual(get(s, "fastvs_service_connections_total", **late), 0)
        self.assertEqual(get(s, "fastvs_destination_weight", **dst), 2)
        self.adm("-e", "-u", f"{LATE_VIP}:53", "-r", "192.168.0.18:53", "-m", "-w", "7")
        s, _ = self.metrics()
        self.assertEqual(get(s, "fastvs_destination_weight", **dst), 7)

    def test_workers(self):
        s, _ = self.metrics()
        w = self.stats()["workers"]
        self.assertEqual(len(w), 1)
        wl = dict(worker="0")
        self.assertEqual(get(s, "fastvs_worker_rx_packets_total", **wl), len(self.pkts))
        self.assertEqual(get(s, "fastvs_worker_rx_packets_total", **wl), w[0]["rx"])
        self.assertEqual(get(s, "fastvs_worker_tx_packets_total", **wl), 3 * len(CLIENTS))
        self.assertEqual(get(s, "fastvs_worker_connections_created_total", **wl), len(CLIENTS))
        self.assertEqual(get(s, "fastvs_worker_conn_table_entries", **wl), len(CLIENTS))
        self.assertEqual(get(s, "fastvs_worker_conn_table_capacity", **wl), 4096)
        # Every reason is a series, zeros included; only the three datagrams were dropped.
        drops = {dict(k[1])["reason"]: v for k, v in s.items()
                 if k[0] == "fastvs_worker_drops_total"}
        self.assertEqual(set(drops), set(w[0]["drops"]))
        self.assertEqual({r: v for r, v in drops.items() if v}, {"no_service": 3})

    def test_counters_are_raw_across_zero(self):
        before, _ = self.metrics()
        self.adm("-Z")
        after, _ = self.metrics()
        for key, v in before.items():
            if key[0].endswith("_total"):
                self.assertEqual(after[key], v, key)

    def test_other_paths_and_methods(self):
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.scrape("/")
        self.assertEqual(e.exception.code, 404)
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.scrape("/metrics", method="POST")
        self.assertEqual(e.exception.code, 405)
        status, headers, body = self.scrape(method="HEAD")
        self.assertEqual((status, body), (200, ""))
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))

    def test_silent_client_blocks_nothing(self):
        host, port = self.url[len("http://"):].rsplit(":", 1)
        silent = socket.create_connection((host, int(port)), timeout=5)
        half = socket.create_connection((host, int(port)), timeout=5)
        half.sendall(b"GET /metr")
        try:
            self.assertIn("TCP  172.16.254.200:80 rr", self.adm("-L", "-n"))
            self.metrics()
        finally:
            silent.close()
            half.close()

    # --- DPDK telemetry -------------------------------------------------------------------------

    def telemetry(self, *commands):
        """What dpdk-telemetry.py does: connect, read the greeting, send each command."""
        path = os.path.join(self.runtime_dir(), "dpdk_telemetry.v2")
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as t:
            t.settimeout(5)
            t.connect(path)
            hello = json.loads(t.recv(1024).decode())
            self.assertEqual(hello["pid"], self.d.proc.pid)
            out = []
            for c in commands:
                t.send(c.encode())
                out.append(json.loads(t.recv(hello["max_output_len"]).decode())[c.split(",")[0]])
            return out

    def test_telemetry_commands(self):
        listed = self.telemetry("/")[0]
        for c in ("/fastvs/services", "/fastvs/destinations", "/fastvs/workers", "/ethdev/stats"):
            self.assertIn(c, listed)
        svc_name = f"TCP {VIP}:80"
        # Telemetry reads a snapshot refreshed every --stats-interval-ms (50 here).
        wait_for(lambda: f"UDP {LATE_VIP}:53" in self.telemetry("/fastvs/services")[0]["service"],
                 10, "the live service in telemetry")
        services, dests, one, workers, worker0, bad, nodest = self.telemetry(
            "/fastvs/services", f"/fastvs/destinations,{svc_name}",
            f"/fastvs/services,tcp:{VIP}:80", "/fastvs/workers", "/fastvs/workers,0",
            "/fastvs/destinations,TCP 1.2.3.4:5", "/fastvs/destinations")
        i = services["service"].index(svc_name)
        self.assertEqual(services["total"], 2)
        self.assertEqual(services["scheduler"][i], "rr")
        self.assertEqual(services["destinations"][i], 2)
        for key in ("conns", "inpkts", "outpkts", "inbytes", "outbytes"):
            self.assertEqual(services[key][i], sum(w[key] for w in self.want.values()), key)
        self.assertEqual(one["service"], svc_name)
        self.assertEqual(one["conns"], len(CLIENTS))
        self.assertEqual(dests["service"], svc_name)
        self.assertEqual(sorted(dests["rip"]), sorted(RS_MAC))
        for j, rip in enumerate(dests["rip"]):
            self.assertEqual(dests["rport"][j], 8080)
            self.assertEqual(dests["forward"][j], "Masq")
            self.assertEqual(dests["activeconns"][j], 3)
            for key in ("conns", "inpkts", "outpkts", "inbytes", "outbytes"):
                self.assertEqual(dests[key][j], self.want[rip][key], f"{rip} {key}")
        self.assertEqual(workers["worker"], [0])
        self.assertEqual(workers["rx"], [len(self.pkts)])
        self.assertEqual(workers["drops"], [3])
        self.assertEqual(workers["conn_capacity"], [4096])
        self.assertEqual(worker0["drop_no_service"], 3)
        self.assertEqual(worker0["conns"], len(CLIENTS))
        self.assertIsNone(bad)  # no such service
        self.assertIsNone(nodest)  # the parameter is required

    def test_dpdk_telemetry_script(self):
        script = shutil.which("dpdk-telemetry.py")
        if not script:
            self.skipTest("dpdk-telemetry.py not installed (Debian package dpdk-dev)")
        r = subprocess.run([script, "-f", self.d.prefix], capture_output=True, text=True,
                           timeout=30, input=f"/fastvs/destinations,TCP {VIP}:80\n/fastvs/workers\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        replies = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        self.assertEqual(len(replies), 2, r.stdout)
        self.assertEqual(sorted(replies[0]["/fastvs/destinations"]["rip"]), sorted(RS_MAC))
        self.assertEqual(replies[1]["/fastvs/workers"]["rx"], [len(self.pkts)])


class Options(unittest.TestCase):
    def test_help_documents_the_endpoint(self):
        r = subprocess.run([fastvsd_path(), "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--metrics-listen", r.stdout)
        self.assertIn("/metrics", r.stdout)

    def test_bad_listen_address_stops_the_start(self):
        d_dir = tempfile.mkdtemp(prefix="fvs-metrics-bad-")
        try:
            for bad, needle in (("localhost:9469", "numeric"), ("127.0.0.1:99999", "bad port")):
                d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "128", "--no-shconf", "--vdev",
                             "net_ring0"], ["--socket", os.path.join(d_dir, "s.sock"),
                                            "--conn-capacity", "1024", "--metrics-listen", bad],
                            d_dir, "fvsmetricsbad")
                d.proc.wait(30)
                out = d.output()
                remove_runtime_dir(d.prefix)
                d.close()
                self.assertEqual(d.proc.returncode, 2, out)  # a wrong option, before the EAL
                self.assertIn(f"--metrics-listen '{bad}'", out)
                self.assertIn(needle, out)
                self.assertFalse(os.path.exists(os.path.join(d_dir, "s.sock")))
        finally:
            shutil.rmtree(d_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
