#!/usr/bin/python3
"""Restarts that keep connections (--state-file): fastvsd on a net_pcap port takes SYNs (and
more) from clients to a NAT, a DR and a persistent UDP service, is stopped with SIGTERM, and
started again on a quiet net_ring port with another number of workers: `fastvsadm -L -n -c`
shows the same connections and templates with their time reduced by the time it was down, and
-L's ActiveConn/InActConn read what they read before. A real server taken out of the
configuration meanwhile loses its connections, counted in the one log line. A truncated, damaged
or other-version file, or none, gives one log line and an empty table."""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
PORT_MAC = "02:70:63:61:70:00"
CLIENT_MAC = "c0:00:00:00:00:0a"
VIP, DIP = "172.16.254.200", "192.168.0.8"
RS = {"192.168.0.18": "aa:00:00:00:00:18", "192.168.0.28": "aa:00:00:00:00:28"}
CLIENTS = [f"172.16.254.{10 + i}" for i in range(12)]


def config(with_rs28=True, with_dr=True):
    lines = [f"ip addr add {VIP}/24 dev dpdk0", f"ip addr add {DIP}/24 dev dpdk0"]
    lines += [f"ip neigh add {c} lladdr {CLIENT_MAC} dev dpdk0" for c in CLIENTS]
    lines += [f"ip neigh add {ip} lladdr {mac} dev dpdk0" for ip, mac in RS.items()]
    rss = [r for r in RS if with_rs28 or r != "192.168.0.28"]
    lines += [f"-A -t {VIP}:80 -s rr"]
    lines += [f"-a -t {VIP}:80 -r {r}:8080 -m" for r in rss]
    if with_dr:
        lines += [f"-A -t {VIP}:443 -s rr"]
        lines += [f"-a -t {VIP}:443 -r {r}:443 -g" for r in rss]
    lines += [f"-A -u {VIP}:53 -s rr -p 300"]
    lines += [f"-a -u {VIP}:53 -r {r}:53 -m" for r in rss]
    return "\n".join(lines) + "\n"


def c2d(ip):
    return Ether(src=CLIENT_MAC, dst=PORT_MAC) / ip


def traffic():
    """Per client: an established NAT connection (SYN, ACK), a DR one left in SYN_RECV, a NAT one
    closing (FIN_WAIT: inactive), a UDP query to the persistent service."""
    pkts = []
    for i, cip in enumerate(CLIENTS):
        pkts.append(c2d(IP(src=cip, dst=VIP) / TCP(sport=40000 + i, dport=80, flags="S", seq=1)))
        pkts.append(c2d(IP(src=cip, dst=VIP) / TCP(sport=40000 + i, dport=80, flags="A", seq=2,
                                                   ack=1)))
        pkts.append(c2d(IP(src=cip, dst=VIP) / TCP(sport=41000 + i, dport=443, flags="S")))
        pkts.append(c2d(IP(src=cip, dst=VIP) / TCP(sport=42000 + i, dport=80, flags="S", seq=1)))
        pkts.append(c2d(IP(src=cip, dst=VIP) / TCP(sport=42000 + i, dport=80, flags="A", seq=2,
                                                   ack=1)))
        pkts.append(c2d(IP(src=cip, dst=VIP) / TCP(sport=42000 + i, dport=80, flags="FA", seq=2,
                                                   ack=1)))
        pkts.append(c2d(IP(src=cip, dst=VIP) / UDP(sport=5000 + i, dport=53) / Raw(b"q")))
    return pkts


CONN_RE = re.compile(r"^(TCP|UDP|IP) +(\d\d):(\d\d)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")

# A persistent firewall-mark service for ports 8000 and 8001 of the VIP (fastvsadm iptables).
FWMARK = [
    f"iptables -t mangle -A PREROUTING -p tcp -d {VIP} -m multiport --dports 8000,8001 "
    "-j MARK --set-mark 7",
    "-A -f 7 -s rr -p 300",
] + [f"-a -f 7 -r {r} -m" for r in RS]


def fwmark_traffic():
    """Per client: a connection to each marked port (SYN, ACK: ESTABLISHED), one template."""
    pkts = []
    for i, cip in enumerate(CLIENTS):
        for port in (8000, 8001):
            pkts.append(c2d(IP(src=cip, dst=VIP) / TCP(sport=43000 + i, dport=port, flags="S")))
            pkts.append(c2d(IP(src=cip, dst=VIP) / TCP(sport=43000 + i, dport=port, flags="A",
                                                       seq=1, ack=1)))
    return pkts


def conn_rows(text):
    """fastvsadm -L -n -c: {(proto, state, source, virtual, destination): seconds left}."""
    rows = {}
    for line in text.splitlines():
        m = CONN_RE.match(line)
        if m:
            key = (m.group(1), m.group(4), m.group(5), m.group(6), m.group(7))
            rows[key] = int(m.group(2)) * 60 + int(m.group(3))
    return rows


def dest_counts(text):
    """fastvsadm -L -n: {(service, RIP:port): (ActiveConn, InActConn)}."""
    out, svc = {}, None
    for line in text.splitlines():
        if line.startswith(("TCP", "UDP")):
            svc = " ".join(line.split()[:2])
        elif line.strip().startswith("->") and svc and not line.strip().startswith("-> Remote"):
            f = line.split()
            out[(svc, f[1])] = (int(f[4]), int(f[5]))
    return out


class StateFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fvst-state-")
        self.state = os.path.join(self.dir, "lib", "fastvsd.state")  # lib/ made by fastvsd
        self.sock = os.path.join(self.dir, "fastvsd.sock")
        self.n = 0

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def adm(self, *args):
        r = subprocess.run([FASTVSADM, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def start(self, workers, pcap=None, cfg=None, state=True, capacity=4096):
        """fastvsd with `workers` workers on one port: net_pcap reading `pcap`, or a net_ring."""
        self.n += 1
        lcores = "0@0," + ",".join(f"{i + 1}@1" for i in range(workers))
        port = (f"net_pcap0,rx_pcap={pcap},tx_pcap={self.dir}/out{self.n}.pcap" if pcap
                else "net_ring0")
        # What a killed one left: started is when they are there again.
        for stale in (self.sock, os.path.join(self.dir, "stats.json")):
            if os.path.exists(stale):
                os.unlink(stale)
        conf = os.path.join(self.dir, f"lab{self.n}.conf")
        with open(conf, "w") as f:
            f.write(cfg or config())
        d = Fastvsd(["--lcores", lcores, "--no-huge", "-m", "256", "--no-shconf", "--vdev", port],
                    ["--config", conf, "--socket", self.sock, "--conn-capacity", str(capacity),
                     "--idle-sleep-us", "200"], self.dir, f"fvst{self.n}",
                    state_file=self.state if state else None)
        d.wait_started()
        wait_for(lambda: os.path.exists(self.sock), 10, "the CLI socket")
        return d

    def stop(self, d):
        rc = d.stop()
        log = d.output()
        d.close()
        self.assertEqual(rc, 0, log)
        return log

    def state_lines(self, log):
        return [l for l in log.splitlines() if "state file" in l]

    def first_run(self):
        """Two workers take the traffic; returns (-c rows, -L counts, time of the stop)."""
        pcap = os.path.join(self.dir, "in.pcap")
        pkts = traffic()
        wrpcap(pcap, pkts)
        d = self.start(2, pcap=pcap)
        wait_for(lambda: d.total("rx") >= len(pkts), 30, "fastvsd to take the traffic")
        rows = conn_rows(self.adm("-L", "-n", "-c"))
        counts = dest_counts(self.adm("-L", "-n"))
        log = self.stop(d)
        stopped = time.monotonic()
        self.assertIn(f"saved {3 * len(CLIENTS) + len(CLIENTS)} connections and", log)
        self.assertTrue(os.path.exists(self.state), log)
        self.assertEqual(os.stat(self.state).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.dirname(self.state)).st_mode & 0o777, 0o700)
        return rows, counts, stopped

    def test_connections_and_templates_survive_a_restart(self):
        rows, counts, stopped = self.first_run()
        # 12 NAT ESTABLISHED, 12 DR SYN_RECV, 12 NAT closing (CLOSE_WAIT: the client's FIN in
        # INPUT's rows), 12 UDP and a persistence template per UDP client (client port 0).
        states = sorted(k[1] for k in rows if not k[2].endswith(":0"))
        self.assertEqual(states.count("ESTABLISHED"), 12, rows)
        self.assertEqual(states.count("SYN_RECV"), 12, rows)
        self.assertEqual(states.count("CLOSE_WAIT"), 12, rows)
        self.assertEqual(states.count("UDP"), 12, rows)
        ntmpl = sum(k[2].endswith(":0") for k in rows)
        self.assertEqual(ntmpl, 12, rows)
        time.sleep(2.5)
        d = self.start(1)  # one worker now: every entry goes to worker 0
        down = time.monotonic() - stopped
        after = conn_rows(self.adm("-L", "-n", "-c"))
        after_counts = dest_counts(self.adm("-L", "-n"))
        log = self.stop(d)
        lines = self.state_lines(log)
        print("\n" + "\n".join(l for l in log.splitlines() if "state" in l), file=sys.stderr)
        self.assertEqual(len(lines), 1, log)
        self.assertIn(f"kept 48 connections and {ntmpl} templates", lines[0])
        self.assertIn("dropped none", lines[0])
        self.assertEqual(set(after), set(rows), "the same connections, states and templates")
        for k, left in after.items():
            # Reduced by the time it was down (2.5 s at least; -c rounds down to seconds).
            self.assertLessEqual(left, rows[k] - 2, k)
            self.assertGreaterEqual(left, rows[k] - down - 5, k)
        self.assertEqual(after_counts, counts)
        self.assertTrue(any(a or i for a, i in counts.values()), counts)

    def test_firewall_mark_connections_survive_a_restart(self):
        """A firewall-mark service's connections and templates (the mark where the VIP would
        be; IP templates with the mark as their address, as IPVS lists them) come back bound to
        the same real server; a new connection of a client to the mark's other port follows its
        template after the restart."""
        cfg = config() + "\n".join(FWMARK) + "\n"
        pcap = os.path.join(self.dir, "in.pcap")
        pkts = fwmark_traffic()
        wrpcap(pcap, pkts)
        d = self.start(2, pcap=pcap, cfg=cfg)
        wait_for(lambda: d.total("rx") >= len(pkts), 30, "fastvsd to take the traffic")
        rows = conn_rows(self.adm("-L", "-n", "-c"))
        log = self.stop(d)
        self.assertIn(f"saved {2 * len(CLIENTS)} connections and {len(CLIENTS)} templates", log)
        tmpls = [k for k in rows if k[0] == "IP"]
        self.assertEqual(len(tmpls), len(CLIENTS), rows)
        self.assertTrue(all(k[1] == "NONE" and k[3] == "0.0.0.7:0" for k in tmpls), tmpls)
        # Each client's two connections went to one real server (its template's).
        by_client = {}
        for k in rows:
            if k[0] == "TCP":
                by_client.setdefault(k[2].split(":")[0], set()).add(k[4].split(":")[0])
        self.assertEqual(len(by_client), len(CLIENTS), rows)
        self.assertTrue(all(len(v) == 1 for v in by_client.values()), by_client)
        d = self.start(1, cfg=cfg)
        after = conn_rows(self.adm("-L", "-n", "-c"))
        log = self.stop(d)
        lines = self.state_lines(log)
        self.assertEqual(len(lines), 1, log)
        self.assertIn(f"kept {2 * len(CLIENTS)} connections and {len(CLIENTS)} templates",
                      lines[0])
        self.assertEqual(set(after), set(rows))

    def test_gone_service_and_real_server_lose_their_connections(self):
        rows, counts, _ = self.first_run()
        d = self.start(2, cfg=config(with_rs28=False, with_dr=False))
        after = conn_rows(self.adm("-L", "-n", "-c"))
        log = self.stop(d)
        lines = self.state_lines(log)
        self.assertEqual(len(lines), 1, log)
        print("\n" + lines[0], file=sys.stderr)
        no_svc = [k for k in rows if k[3].endswith(":443")]
        gone = [k for k in rows if k[4].startswith("192.168.0.28:") and k not in no_svc]
        kept = [k for k in rows if k not in gone and k not in no_svc]
        self.assertTrue(gone and kept and no_svc, rows)
        self.assertEqual(set(after), set(kept))
        self.assertIn(f"{len(no_svc)} whose service is no longer configured, {len(gone)} whose "
                      "real server is no longer configured", lines[0])

    def test_a_smaller_table_keeps_what_fits(self):
        self.first_run()
        d = self.start(1, capacity=16)
        after = conn_rows(self.adm("-L", "-n", "-c"))
        log = self.stop(d)
        lines = self.state_lines(log)
        self.assertEqual(len(lines), 1, log)
        self.assertIn("kept 16 connections and 12 templates", lines[0])
        self.assertIn("32 that found the table full", lines[0])
        self.assertEqual(sum(not k[2].endswith(":0") for k in after), 16)

    def refused_line(self, data):
        os.makedirs(os.path.dirname(self.state), mode=0o700, exist_ok=True)
        with open(self.state, "wb") as f:
            f.write(data)
        d = self.start(1)
        rows = conn_rows(self.adm("-L", "-n", "-c"))
        counts = dest_counts(self.adm("-L", "-n"))
        d.proc.kill()  # no save: the refused file stays as it was for the next case
        d.proc.wait()
        log = d.output()
        d.close()
        self.assertEqual(rows, {})
        self.assertTrue(all(v == (0, 0) for v in counts.values()), counts)
        lines = self.state_lines(log)
        self.assertEqual(len(lines), 1, log)
        self.assertIn("starting with an empty table", lines[0])
        return lines[0]

    def test_bad_files_refused_with_one_line(self):
        self.first_run()
        with open(self.state, "rb") as f:
            good = f.read()
        self.assertEqual(good[:8], b"FVSSTATE")
        self.assertIn("truncated", self.refused_line(good[:len(good) - 7]))
        self.assertIn("truncated", self.refused_line(good[:30]))
        flipped = bytearray(good)
        flipped[100] ^= 0x10
        self.assertIn("checksum mismatch", self.refused_line(bytes(flipped)))
        other = bytearray(good)
        other[8:12] = struct.pack("<I", 2)
        self.assertIn("version 2: this fastvsd reads version 1", self.refused_line(bytes(other)))
        self.assertIn("not a fastvs state file", self.refused_line(b"#!/bin/sh\n" * 20))
        os.unlink(self.state)
        line = self.refused_line(b"")  # an empty file: truncated
        self.assertIn("truncated", line)
        os.unlink(self.state)
        d = self.start(1)
        log = self.stop(d)
        lines = self.state_lines(log)
        self.assertEqual(len(lines), 1, log)
        self.assertIn(f"no state file at {self.state}: starting with an empty table", lines[0])

    def test_a_path_that_cannot_be_saved_is_said_at_start(self):
        os.makedirs(self.state)  # the path is a directory: no file can replace it at the stop
        d = self.start(1)
        wait_for(lambda: "WARNING: state file" in d.output(), 10, "the warning")
        self.assertIn(f"WARNING: state file {self.state} cannot be saved at stop ({self.state} is "
                      "a directory): a restart will start with an empty table", d.output())
        self.stop(d)

    def test_no_state_file_option(self):
        d = self.start(1, state=False)
        log = self.stop(d)
        self.assertEqual(self.state_lines(log), [])
        self.assertFalse(os.path.exists(self.state))


if __name__ == "__main__":
    unittest.main()
