#!/usr/bin/python3
"""The benchmark harness: fastvsd with one worker, driven by dpdk-testpmd over memif, measured
side by side with testpmd itself in fastvsd's place (the ceiling: io forwarding), interleaved, several rounds;
prints a table (Mpps, ratio to the ceiling, median and min-max) and writes JSON.

Scenario nat-udp: testpmd txonly, multi-flow (256 client addresses) UDP to a VIP:53 service
with two Masq real servers. The middle box has two ports: dpdk0, a memif to the generator (the
client side), and dpdk1, a net_null sink (the real servers' side: txonly testpmd does not
receive, so what is sent back to it would only fill the ring). fastvsd rewrites every request
and sends it out of dpdk1; the ceiling is testpmd io-forwarding the same ports. The rate is what
the middle box transmits on dpdk1 (its TX counter over the measured time), the same measuring
point for both.

One CPU for the generator, one for the middle box (its main lcore sleeps), as
../shared/RUNNING-DPDK.md describes; traffic is stopped before either side exits (memif).
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FASTVSD = os.path.join(ROOT, "build", "fastvsd")
MIDDLE_MAC = "02:00:00:00:00:01"
GEN_MAC = "02:00:00:00:00:02"
VIP, CIP = "172.16.254.200", "10.0.0.1"  # clients beyond a gateway

SERVICE = f"""\
ip route add default via 172.16.254.1 dev dpdk0
-A -u {VIP}:53 -s rr
-a -u {VIP}:53 -r 192.168.0.18 -m
-a -u {VIP}:53 -r 192.168.0.28 -m
"""
# request: the real servers behind dpdk1, a net_null sink.
CONFIG_REQUEST = f"""\
ip addr add {VIP}/24 dev dpdk0
ip addr add 192.168.0.8/24 dev dpdk1
ip neigh add 172.16.254.1 lladdr {GEN_MAC} dev dpdk0
ip neigh add 192.168.0.18 lladdr aa:00:00:00:00:18 dev dpdk1
ip neigh add 192.168.0.28 lladdr aa:00:00:00:00:28 dev dpdk1
""" + SERVICE
# loop: one arm; the generator (5tswap) plays the clients' gateway and both real servers.
CONFIG_LOOP = f"""\
ip addr add {VIP}/24 dev dpdk0
ip addr add 192.168.0.8/24 dev dpdk0
ip neigh add 172.16.254.1 lladdr {GEN_MAC} dev dpdk0
ip neigh add 192.168.0.18 lladdr {GEN_MAC} dev dpdk0
ip neigh add 192.168.0.28 lladdr {GEN_MAC} dev dpdk0
""" + SERVICE

# IPv6 (NAT66): the same services and topology with IPv6 addresses; clients beyond the
# generator's gateway address. testpmd's txonly makes IPv4 only, so IPv6 is replayed from a
# capture (net_pcap infinite_rx), and IPv4's "request" is run the same way too ("request4pcap")
# for a side-by-side with one generator.
VIP6, GW6 = "2001:db8:fe::200", "2001:db8:fe::1"
SERVICE6 = f"""\
ip route add default via {GW6} dev dpdk0
-A -u [{VIP6}]:53 -s rr
-a -u [{VIP6}]:53 -r 2001:db8:1::18 -m
-a -u [{VIP6}]:53 -r 2001:db8:1::28 -m
"""
CONFIG6_REQUEST = f"""\
ip addr add {VIP6}/64 dev dpdk0
ip addr add 2001:db8:1::8/64 dev dpdk1
ip neigh add {GW6} lladdr {GEN_MAC} dev dpdk0
ip neigh add 2001:db8:1::18 lladdr aa:00:00:00:00:18 dev dpdk1
ip neigh add 2001:db8:1::28 lladdr aa:00:00:00:00:28 dev dpdk1
""" + SERVICE6
CONFIG6_LOOP = f"""\
ip addr add {VIP6}/64 dev dpdk0
ip addr add 2001:db8:1::8/64 dev dpdk0
ip neigh add {GW6} lladdr {GEN_MAC} dev dpdk0
ip neigh add 2001:db8:1::18 lladdr {GEN_MAC} dev dpdk0
ip neigh add 2001:db8:1::28 lladdr {GEN_MAC} dev dpdk0
""" + SERVICE6

SCENARIOS = {
    "request": "NAT, UDP, established, request direction",
    "loop": "NAT, UDP, established, full loop (requests and replies, half each)",
    "dr": "DR, UDP, established, request direction",
    "tun": "TUN, UDP, established, request direction (84-byte frames out)",
    "updates": "NAT request direction while 1,000 changes a second are applied",
    "workers2": "NAT request direction, 2 workers (sharing the CPUs: hand-off cost, not speed)",
    "request4pcap": "NAT, UDP, established, request direction, replayed from a capture",
    "request66": "NAT66, UDP, established, request direction, replayed from a capture",
    "loop66": "NAT66, UDP, established, full loop (requests and replies, half each)",
}
PCAP_SCENARIOS = ("loop", "loop66", "request4pcap", "request66")
# The request scenario's configuration for each scenario that uses it.
METHOD = {"request": "-m", "updates": "-m", "workers2": "-m", "dr": "-g", "tun": "-i"}
LOOP_FLOWS = 128


def loop_pcap(path, v6=False, replies=True):
    """Requests from LOOP_FLOWS clients and (replies) the real servers' replies, interleaved. rr
    over the kernel's list order [rs2, rs1] with one worker decides which server answers which
    flow. 64-byte frames for IPv4; IPv6's are 20 bytes longer (its header), the same payload."""
    from scapy.all import IP, UDP, Ether, Raw, wrpcap  # Debian's python3-scapy
    from scapy.layers.inet6 import IPv6
    rr = ["2001:db8:1::28", "2001:db8:1::18"] if v6 else ["192.168.0.28", "192.168.0.18"]
    pkts = []
    for i in range(LOOP_FLOWS):
        cport, rip = 5000 + i, rr[i % 2]
        if v6:
            cip, vip, net = f"2001:db8:ff::{i + 1:x}", VIP6, IPv6
        else:
            cip, vip, net = f"10.0.{i // 200}.{1 + i % 200}", VIP, IP
        pkts.append(Ether(src=GEN_MAC, dst=MIDDLE_MAC) / net(src=cip, dst=vip) /
                    UDP(sport=cport, dport=53) / Raw(b"q" * 18))
        if replies:
            pkts.append(Ether(src=GEN_MAC, dst=MIDDLE_MAC) / net(src=rip, dst=cip) /
                        UDP(sport=53, dport=cport) / Raw(b"a" * 18))
    wrpcap(path, pkts)


class Testpmd:
    """dpdk-testpmd driven through its prompt on stdin."""

    def __init__(self, eal, args, log):
        self.log = open(log, "w+")
        # stdbuf: testpmd writes its prompt unbuffered and its output through stdio.
        self.p = subprocess.Popen(["stdbuf", "-oL", "dpdk-testpmd"] + eal + ["--", "-i"] + args, stdin=subprocess.PIPE,
                                  stdout=self.log, stderr=subprocess.STDOUT, text=True)
        self.wait_for("testpmd> ", 30)

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def wait_for(self, text, timeout, after=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.output()
            if out.find(text, after) >= 0:
                return out
            if self.p.poll() is not None:
                raise RuntimeError(f"testpmd exited {self.p.returncode}:\n{out[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"testpmd: no {text!r} after {timeout}s:\n{self.output()[-2000:]}")

    def cmd(self, line):
        mark = len(self.output())
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.wait_for("testpmd> ", 20, mark)[mark:]

    def tx_packets(self, port):
        # testpmd prints its prompt before the command's output: wait for the output itself.
        mark = len(self.output())
        self.p.stdin.write(f"show port stats {port}\n")
        self.p.stdin.flush()
        out = self.wait_for("TX-packets:", 20, mark)
        m = re.search(r"TX-packets:\s+(\d+)", out[mark:])
        return int(m.group(1))

    def quit(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(20)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait()
        self.log.close()


class Changer(threading.Thread):
    """1,000 changes a second through fastvsd's CLI socket (fastvsadm's framing: words ending in
    NUL, an empty word, then input), for `seconds`: services and destinations added, edited and
    removed beside the one carrying the traffic, and weight changes on that one."""

    def __init__(self, sock, seconds, rate=1000):
        super().__init__(daemon=True)
        self.sock, self.seconds, self.rate = sock, seconds, rate
        self.done, self.errors, self.elapsed = 0, [], 0.0

    def changes(self):
        i = 0
        while True:
            v = f"10.{(i // 250) % 250}.{i % 250}.1"
            yield from (["-A", "-t", f"{v}:80", "-s", "wrr"],
                        ["-a", "-t", f"{v}:80", "-r", "192.168.0.13:80", "-m", "-w", "2"],
                        ["-a", "-t", f"{v}:80", "-r", "192.168.0.14:80", "-m"],
                        ["-e", "-t", f"{v}:80", "-r", "192.168.0.13:80", "-m", "-w", "5"],
                        ["-e", "-u", f"{VIP}:53", "-r", "192.168.0.18", "-m", "-w", str(1 + i % 4)],
                        ["-e", "-u", f"{VIP}:53", "-r", "192.168.0.28", "-m", "-w", str(1 + i % 3)],
                        ["-d", "-t", f"{v}:80", "-r", "192.168.0.14:80"],
                        ["-A", "-u", f"{v}:53", "-s", "sh"],
                        ["-D", "-u", f"{v}:53"],
                        ["-D", "-t", f"{v}:80"])
            i += 1

    def one(self, words):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.sock)
        # common/cli_proto.h: "FVS1 DEADLINE\n" (0: no deadline), the words, an empty word.
        s.sendall(b"FVS1 0\n" + b"".join(w.encode() + b"\0" for w in words) + b"\0")
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
        s.close()
        if not reply.startswith(b"ok\n"):
            self.errors.append(f"{' '.join(words)}: {reply.decode(errors='replace').strip()}")

    def run(self):
        t0 = time.monotonic()
        gen = self.changes()
        while time.monotonic() - t0 < self.seconds:
            due = int((time.monotonic() - t0) * self.rate)
            while self.done < due:
                self.one(next(gen))
                self.done += 1
            time.sleep(0.001)
        self.elapsed = time.monotonic() - t0


def eal(cpu, prefix, role, sock, mac=None, mem=512, sink=False, rsize=None):
    vdev = f"net_memif0,role={role},socket={sock}" + (f",mac={mac}" if mac else "") + \
        (f",rsize={rsize}" if rsize else "")
    return ["--lcores", f"0@{cpu},1@{cpu}", "--file-prefix", prefix, "--in-memory", "-m", str(mem),
            "--no-pci", "--no-telemetry", "--log-level", "lib.eal:error", "--vdev", vdev] + \
        (["--vdev", "net_null0,no-rx=1"] if sink else [])


def fastvsd_tx(sock, port=1):
    out = subprocess.run([os.path.join(ROOT, "build", "fastvsadm"), "--socket", sock, "ip", "-s",
                          "link"], capture_output=True, text=True, timeout=10).stdout
    # Per port: "TX: bytes  packets  errors" then the numbers.
    blocks = re.findall(r"TX: bytes\s+packets\s+errors\n\s+(\d+)\s+(\d+)", out)
    return int(blocks[port][1])


def measure(scenario, subject, seconds, tmp, rnd):
    loop = scenario in ("loop", "loop66")
    v6 = scenario in ("request66", "loop66")
    sock = os.path.join(tmp, f"memif{scenario}{rnd}{subject}.sock")
    # request: txonly. loop: 5tswap bounces every packet back with addresses swapped (a request
    # to the RS comes back as its reply, a reply to the client as the next request), started
    # with 64 bursts in flight.
    if scenario in PCAP_SCENARIOS:
        # A capture replayed forever (net_pcap infinite_rx) and io-forwarded into the memif; what
        # comes back goes to /dev/null.
        pcap = os.path.join(tmp, f"{scenario}.pcap")
        if not os.path.exists(pcap):
            loop_pcap(pcap, v6=v6, replies=loop)
        gen_eal = eal(0, f"fvsgen{os.getpid()}", "server", sock, GEN_MAC)
        # Ports: 0 the capture, 1 the memif, 2 a sink; chained: 0 -> 1 -> 2 (writing what comes
        # back into a pcap file would be the bottleneck).
        gen_eal = gen_eal[:-2] + ["--vdev", f"net_pcap0,rx_pcap={pcap},tx_pcap=/dev/null,infinite_rx=1",
                                  gen_eal[-2], gen_eal[-1], "--vdev", "net_null1,no-rx=1"]
        mode = ["--forward-mode=io", "--port-topology=chained"]
    else:
        gen_eal = eal(0, f"fvsgen{os.getpid()}", "server", sock, GEN_MAC)
        mode = ["--forward-mode=txonly", "--txonly-multi-flow", f"--tx-ip={CIP},{VIP}",
                "--tx-udp=5000,53", f"--eth-peer=0,{MIDDLE_MAC}"]
    if scenario == "workers2":
        mode = mode + ["--rxq=2", "--txq=2"]  # memif: both ends with as many queues as workers
    gen = Testpmd(gen_eal, mode + ["--total-num-mbufs=16384", "--txd=1024", "--rxd=1024"],
                  os.path.join(tmp, f"gen-{scenario}-{subject}-{rnd}.log"))
    middle = fvs = None
    try:
        if subject == "testpmd":
            middle = Testpmd(eal(1, f"fvsmid{os.getpid()}", "client", sock, MIDDLE_MAC, sink=not loop),
                             ["--forward-mode=io"] + (["--port-topology=loop"] if loop else []) +
                             (["--rxq=2", "--txq=2"] if scenario == "workers2" else []) +
                             ["--total-num-mbufs=16384", "--txd=1024", "--rxd=1024"],
                             os.path.join(tmp, f"mid-{scenario}-{rnd}.log"))
            middle.cmd("start")
            out_port = 0 if loop else 1
            count = lambda: middle.tx_packets(out_port)  # noqa: E731
        else:
            conf = os.path.join(tmp, f"bench-{scenario}.conf")
            with open(conf, "w") as f:
                if v6:
                    f.write(CONFIG6_LOOP if loop else CONFIG6_REQUEST)
                else:
                    f.write(CONFIG_LOOP if loop else
                            CONFIG_REQUEST.replace(" -m\n", f" {METHOD.get(scenario, '-m')}\n"))
            stats = os.path.join(tmp, f"fvs-{rnd}.json")
            fvs_eal = eal(1, f"fvsmid{os.getpid()}", "client", sock, MIDDLE_MAC, 1024, sink=not loop)
            if scenario == "workers2":
                fvs_eal[1] = "0@1,1@1,2@0"  # the second worker shares the generator's CPU
            fvs = subprocess.Popen(
                [FASTVSD] + fvs_eal +
                ["--", "--no-kernel-path", "--config", conf, "--socket", os.path.join(tmp, f"fvs{rnd}.sock"),
                 "--stats-file", stats, "--stats-interval-ms", "200", "--conn-capacity", "65536"],
                stdout=open(os.path.join(tmp, f"fvs-{rnd}.log"), "w"), stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 20
            while not os.path.exists(stats):
                if fvs.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"fastvsd did not start: see {tmp}/fvs-{rnd}.log")
                time.sleep(0.05)
            cli = os.path.join(tmp, f"fvs{rnd}.sock")
            count = lambda: fastvsd_tx(cli, 0 if loop else 1)  # noqa: E731
        gen.cmd("start")
        time.sleep(2)  # warm-up: flows scheduled, caches warm
        changer = None
        if fvs and scenario == "updates":
            # 1,000 a second for 10 s at least (the scenario 5), traffic on throughout:
            # the samples end first, the generator stops after the last change.
            changer = Changer(cli, max(seconds + 1, 10))
            changer.start()
        samples = []
        t0, c0 = time.monotonic(), count()
        for _ in range(seconds):
            time.sleep(1)
            t1, c1 = time.monotonic(), count()
            samples.append((c1 - c0) / (t1 - t0))
            t0, c0 = t1, c1
        if changer:
            changer.join()
        gen.cmd("stop")
        time.sleep(0.5)  # the stats file rewritten after the last packet
        extra = {}
        if fvs:
            with open(os.path.join(tmp, f"fvs-{rnd}.json")) as f:
                st = json.load(f)
            ws = st["workers"]
            extra = {"drops": {k: sum(w["drops"][k] for w in ws) for k in ws[0]["drops"]
                               if sum(w["drops"][k] for w in ws)},
                     "conns": sum(w["conns"] for w in ws)}
            if len(ws) > 1:
                extra["handoff"] = sum(w["handoff_out"] for w in ws)
            if changer:
                # Lost: taken in but not sent (drops); misrouted: a packet counted by a
                # destination of another service than the one carrying the traffic.
                rx = sum(w["rx"] for w in ws)
                carried = sum(d["inpkts"] for d in st["destinations"] if d["service"] == f"udp:{VIP}:53")
                other = sum(d["inpkts"] for d in st["destinations"] if d["service"] != f"udp:{VIP}:53")
                extra.update({"changes": changer.done, "change_errors": changer.errors[:3],
                              "change_seconds": round(changer.elapsed, 2),
                              "lost": rx - sum(w["tx"] for w in ws),
                              "misrouted": (rx - carried) + other})
        return statistics.median(samples), extra
    finally:
        if middle:
            middle.cmd("stop")
            middle.quit()
        if fvs:
            fvs.send_signal(signal.SIGTERM)
            fvs.wait(20)
        gen.quit()


# --- Scenarios driven by fvsgen (bench/gen/fvsgen.cpp): floods from millions of sources and
# new flows, which testpmd cannot generate. One arm: fastvsd's real servers are reached through
# the generator's MAC, so every forwarded packet comes back to the generator, which classifies
# it (established / flood / answers). The generator's port drops what the director's RX ring
# cannot take, as a wire would.
FVSGEN = os.path.join(ROOT, "build", "bench", "gen", "fvsgen")
CONFIG_ONEARM = CONFIG_LOOP + f"""\
-A -t {VIP}:80 -s rr
-a -t {VIP}:80 -r 192.168.0.18 -m
-a -t {VIP}:80 -r 192.168.0.28 -m
"""
EST_FLOWS = 1000
EST_RATE = 50_000  # packets/s over the 1,000 established flows
FLOOD_SOURCES = 10_000_000


def read_stats(path):
    for _ in range(50):
        try:
            with open(path) as f:
                return json.load(f)["workers"][0]
        except (OSError, ValueError):
            time.sleep(0.02)  # being replaced (written to .tmp, renamed)
    raise RuntimeError(f"no stats in {path}")


def rss_kib(pid):
    """Resident memory, and the hugepages mapped (the connection table, the packet buffers: all
    allocated at start), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        return {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in f)
                if k in ("VmRSS", "VmHWM", "HugetlbPages")}


# The director's RX ring in the generator's scenarios: 4,096 descriptors, as an operator sets a
# 10G NIC's (ethtool -G rx 4096), about 4 ms at the flood rates here. memif's default (1,024)
# lasts 1 ms, less than a scheduler slice of anything else waking on either CPU.
MEMIF_RSIZE = 12


class GenRun:
    """fastvsd (CPU 1) and fvsgen (CPU 0) over one memif; fastvsd stays up across several
    generator runs so a later run can see what an earlier one left (a full table, draining)."""

    def __init__(self, tmp, name, fvs_args=(), conf_extra="", mem=1024, fastvsd=FASTVSD):
        self.tmp, self.name = tmp, name
        self.sock = os.path.join(tmp, f"memif-{name}.sock")
        self.stats = os.path.join(tmp, f"stats-{name}.json")
        self.cli = os.path.join(tmp, f"cli-{name}.sock")
        self.conf = os.path.join(tmp, f"{name}.conf")
        with open(self.conf, "w") as f:
            f.write(CONFIG_ONEARM + conf_extra)
        fvs_eal = eal(1, f"fvsmid{os.getpid()}", "client", self.sock, MIDDLE_MAC, mem, rsize=MEMIF_RSIZE)
        # The worker alone on CPU 1; fastvsd's control thread beside the generator on CPU 0: a
        # control thread waking on the worker's CPU takes it for a scheduler slice (ms), about as
        # long as the RX ring (MEMIF_RSIZE) lasts at these rates, and losses would be its.
        fvs_eal[1] = "0@0,1@1"
        self.fvs_cmd = [fastvsd] + fvs_eal + \
            ["--", "--no-kernel-path", "--config", self.conf, "--socket", self.cli,
             "--stats-file", self.stats, "--stats-interval-ms", "200"] + list(fvs_args)
        self.fvs = None
        self.runs = 0

    def gen(self, args, timeout, watch=False):
        """One generator run; fastvsd is started on the first (the generator is the memif
        server, so it starts first and waits for the link). watch: sample fastvsd's
        conns_created while it runs, with the stats file's write time (r["created"])."""
        self.runs += 1
        gen_eal = ["--lcores", "0@0", "--file-prefix", f"fvsgen{os.getpid()}", "--in-memory", "-m", "256",
                   "--no-pci", "--no-telemetry", "--log-level", "lib.eal:error",
                   "--vdev", f"net_memif0,role=server,socket={self.sock},mac={GEN_MAC},rsize={MEMIF_RSIZE}"]
        g = subprocess.Popen([FVSGEN] + gen_eal + ["--", "--vip", VIP, "--src-mac", GEN_MAC,
                                                   "--dst-mac", MIDDLE_MAC] + args,
                             stdout=subprocess.PIPE, stderr=open(os.path.join(self.tmp, f"gen-{self.name}-{self.runs}.log"), "w"),
                             text=True)
        if self.fvs is None:
            deadline = time.monotonic() + 30
            log = os.path.join(self.tmp, f"gen-{self.name}-{self.runs}.log")
            while "port started" not in open(log).read():  # the memif server listens
                if g.poll() is not None or time.monotonic() > deadline:
                    g.kill()
                    raise RuntimeError(f"fvsgen did not start: see {self.tmp}/gen-{self.name}-{self.runs}.log")
                time.sleep(0.05)
            self.fvs = subprocess.Popen(self.fvs_cmd, stdout=open(os.path.join(self.tmp, f"fvs-{self.name}.log"), "w"),
                                        stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 60
            while not os.path.exists(self.stats):
                if self.fvs.poll() is not None or time.monotonic() > deadline:
                    g.kill()
                    raise RuntimeError(f"fastvsd did not start: see {self.tmp}/fvs-{self.name}.log")
                time.sleep(0.05)
        samples = []
        try:
            if watch:
                deadline = time.monotonic() + timeout
                while g.poll() is None and time.monotonic() < deadline:
                    try:  # the file's write time and its content, from one open file
                        with open(self.stats) as fh:
                            st = os.fstat(fh.fileno()).st_mtime_ns
                            created = json.load(fh)["workers"][0]["conns_created"]
                    except (OSError, ValueError):
                        time.sleep(0.02)
                        continue
                    if not samples or samples[-1][0] != st:
                        samples.append((st, created))
                    time.sleep(0.02)
            out, _ = g.communicate(timeout=max(1, deadline - time.monotonic()) if watch else timeout)
        except subprocess.TimeoutExpired:
            g.kill()
            raise RuntimeError(f"fvsgen did not finish in {timeout}s")
        if g.returncode != 0:
            raise RuntimeError(f"fvsgen exited {g.returncode}: see {self.tmp}/gen-{self.name}-{self.runs}.log")
        r = json.loads(out.strip().splitlines()[-1])
        time.sleep(0.5)  # two stats intervals: the file shows the run's end
        w = read_stats(self.stats)
        r["fastvsd"] = {"drops": {k: v for k, v in w["drops"].items() if v}, "conns": w["conns"],
                        "conns_created": w["conns_created"], **rss_kib(self.fvs.pid)}
        if watch:
            r["created"] = samples
        return r

    def conns(self):
        return read_stats(self.stats)["conns"]

    def wait_conns(self, at_most, timeout):
        """Seconds until the table holds at most `at_most` connections (None: not in time)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.conns() <= at_most:
                return time.monotonic() - t0
            time.sleep(0.2)
        return None

    def close(self):
        if self.fvs:
            self.fvs.send_signal(signal.SIGTERM)
            self.fvs.wait(30)


def new_flows(tmp, kind, seconds, capacity, fastvsd=FASTVSD):
    """Every packet a new flow from 10M sources, as fast as the port takes them: the worker's
    new-flow capacity. syn: TCP SYNs, the table grows (SYN_RECV lives 60 s); udp: datagrams
    with a 1 s UDP timeout, where expiry keeps up with creation."""
    extra = "--set 0 0 1\n" if kind == "udp" else ""
    run = GenRun(tmp, f"new-{kind}", ["--conn-capacity", str(capacity)], extra,
                 mem=6144 if capacity > 2e6 else 2048, fastvsd=fastvsd)
    try:
        r = run.gen(["--flood", kind, "--flood-rate", "max", "--flood-sources", str(FLOOD_SOURCES),
                     "--vport", "53" if kind == "udp" else "80", "--seconds", str(seconds)], seconds + 60,
                    watch=True)
    finally:
        run.close()
    # Connections created a second, from fastvsd's own count between 1M created and 9M (or 90%
    # of the run's): the 10M sources come round again after 10M packets, and a SYN from a source
    # that already has its SYN_RECV entry is a lookup, not a new flow.
    s = r.pop("created")
    hi = min(9_000_000, 0.9 * r["fastvsd"]["conns_created"])
    window = [(t, c) for t, c in s if 1_000_000 <= c <= hi]
    if len(window) < 2:
        raise RuntimeError(f"new flows {kind}: too few samples of conns_created ({len(window)} of {len(s)})")
    (t0, c0), (t1, c1) = window[0], window[-1]
    r["rate"] = (c1 - c0) / ((t1 - t0) / 1e9)
    r["packet_rate"] = r["flood_rx"] / r["seconds"]
    return r


def syn_flood(tmp, rate, seconds, capacity):
    """1,000 established TCP flows carry EST_RATE packets/s while a SYN flood from 10M sources
    runs at `rate`; then the table drains by its timeouts (SYN_RECV: 60 s)."""
    run = GenRun(tmp, f"synflood-{int(rate)}", ["--conn-capacity", str(capacity)], mem=6144 if capacity > 4e6 else 2048)
    try:
        r = run.gen(["--flood", "syn", "--flood-rate", str(int(rate)), "--flood-sources", str(FLOOD_SOURCES),
                     "--est-flows", str(EST_FLOWS), "--est-rate", str(EST_RATE), "--seconds", str(seconds)],
                    seconds + 120)
        r["peak_conns"] = r["fastvsd"]["conns"]
        r["drain_seconds"] = run.wait_conns(EST_FLOWS, 150)
    finally:
        run.close()
    return r


def table_full(tmp, rate, seconds):
    """A 64K-entry table (UDP timeout 5 s) filled by new UDP flows while 1,000 established UDP
    flows carry traffic; after the flood the entries expire and new flows are accepted again."""
    run = GenRun(tmp, "tablefull", ["--conn-capacity", "65536"], "--set 0 0 5\n")
    try:
        # In one generator run (a memif client does not reconnect to a new server): the flood,
        # 8 s for the flood's entries to expire (5 s UDP timeout; the established flows stop with
        # the flood and expire too), then 10,000 new clients at 10,000/s.
        full = run.gen(["--udp", "--vport", "53", "--flood", "udp", "--flood-rate", str(int(rate)),
                        "--flood-sources", str(FLOOD_SOURCES), "--est-flows", str(EST_FLOWS),
                        "--est-rate", str(EST_RATE), "--seconds", str(seconds), "--after-wait", "8",
                        "--after-flows", "10000"], seconds + 90)
    finally:
        run.close()
    return {"full": full}


def answer_flood(tmp, kind, seconds, rate="max"):
    """A flood of ARP requests for the VIP, ICMP echo to it, or UDP to a port with no service,
    at `rate` (packets/s, or as fast as the port takes them), beside 1,000 established flows."""
    run = GenRun(tmp, f"flood-{kind}", ["--conn-capacity", "65536"])
    try:
        r = run.gen(["--flood", kind, "--flood-rate", str(rate), "--flood-sources", "65536",
                     "--est-flows", str(EST_FLOWS), "--est-rate", str(EST_RATE), "--seconds", str(seconds)],
                    seconds + 60)
    finally:
        run.close()
    return r


def working_set(tmp, flows, seconds):
    """Established UDP flows at the port's pace: `flows` clients, each with its connection
    (made in the generator's setup phase), cycled round-robin: 256 fit in any cache, 1M do not."""
    run = GenRun(tmp, f"ws-{flows}", ["--conn-capacity", str(max(65536, flows * 2))], mem=2048)
    try:
        r = run.gen(["--udp", "--vport", "53", "--est-flows", str(flows), "--est-rate", "max",
                     "--seconds", str(seconds)], seconds + 120)
    finally:
        run.close()
    r["rate"] = r["est_rx"] / r["seconds"]
    return r


def run_working_set(a, tmp, result):
    """Scenario 2: 1M concurrent flows against 256, interleaved, the same generator."""
    med = statistics.median
    runs = {256: [], 1 << 20: []}
    for rnd in range(a.rounds):
        for flows in ((256, 1 << 20) if rnd % 2 == 0 else (1 << 20, 256)):
            r = working_set(tmp, flows, a.seconds)
            runs[flows].append(r)
            print(f"working set {flows} round {rnd + 1}: {r['rate'] / 1e6:.2f} Mpps, table "
                  f"{r['fastvsd']['conns']}, setup missing {r['setup_missing']}", flush=True)
    result["working_set"] = {str(k): v for k, v in runs.items()}
    small = [r["rate"] for r in runs[256]]
    big = [r["rate"] for r in runs[1 << 20]]
    ratios = [b / s for b, s in zip(big, small)]
    return [f"| NAT, UDP, 1M concurrent flows vs 256 (fvsgen, round-robin over the flows) | "
            f"{med(big) / 1e6:.2f} ({min(big) / 1e6:.2f}-{max(big) / 1e6:.2f}) | "
            f"{med(small) / 1e6:.2f} ({min(small) / 1e6:.2f}-{max(small) / 1e6:.2f}) | "
            f"{med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |"]


def est_loss(r):
    return r["est_tx"] + r["est_ring_full"] - r["est_rx"]


def run_new_flows(a, tmp, result, rows):
    """Scenario 3: new flows per second, SYN and UDP, a few rounds each; with --baseline, the
    baseline binary in the same rounds, alternating which goes first. Returns the SYN rate."""
    med = statistics.median
    caps = {"syn": [], "udp": []}
    base = {"syn": [], "udp": []}
    for rnd in range(a.rounds):
        for kind in ("syn", "udp"):
            subjects = [("fastvsd", FASTVSD)] + ([("baseline", a.baseline)] if a.baseline else [])
            if rnd % 2:
                subjects.reverse()
            for who, binary in subjects:
                r = new_flows(tmp, kind, a.seconds * 2 if kind == "syn" else a.seconds,
                              16 << 20 if kind == "syn" else 8 << 20, binary)
                (caps if who == "fastvsd" else base)[kind].append(r)
                print(f"new flows {kind} round {rnd + 1}: {who} {r['rate'] / 1e6:.2f} M/s, table "
                      f"{r['fastvsd']['conns']}, drops {r['fastvsd']['drops']}", flush=True)
    result["new_flows"] = caps
    if a.baseline:
        result["new_flows_baseline"] = {"binary": a.baseline, **base}
    for kind in ("syn", "udp"):
        rates = [r["rate"] for r in caps[kind]]
        row = (f"| new flows per second, {'TCP SYN (table grows to ' + str(max(r['fastvsd']['conns'] for r in caps[kind])) + ')' if kind == 'syn' else 'UDP, 1 s timeout (steady state)'} "
               f"| {med(rates) / 1e6:.2f} M/s ({min(rates) / 1e6:.2f}-{max(rates) / 1e6:.2f})")
        if a.baseline:
            b = [r["rate"] for r in base[kind]]
            ratios = [x / y for x, y in zip(rates, b)]
            row += (f"; baseline {med(b) / 1e6:.2f} M/s ({min(b) / 1e6:.2f}-{max(b) / 1e6:.2f}), "
                    f"ratio {med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
        rows.append(row + " |")
    return med(r["rate"] for r in caps["syn"])


def run_floods(a, tmp, result):
    """Issue 8's floods and scenario 3's new flows; returns table rows."""
    rows = []
    # Capacity first: the floods are offered as shares of it.
    cap = run_new_flows(a, tmp, result, rows)
    floods = {}
    for share in (0.5, 1.5):
        r = syn_flood(tmp, cap * share, a.seconds * 2, 16 << 20)
        floods[str(share)] = r
        print(f"SYN flood at {share:.0%} ({cap * share / 1e6:.2f} M/s): {json.dumps(r)}", flush=True)
        rows.append(f"| SYN flood at {share:.0%} of capacity ({cap * share / 1e6:.2f} M/s offered, 10M sources), "
                    f"1,000 established flows at {EST_RATE // 1000}k pps | established lost {est_loss(r)} of "
                    f"{r['est_tx'] + r['est_ring_full']}; flood forwarded {r['flood_rx'] / r['seconds'] / 1e6:.2f} M/s; "
                    f"table peak {r['peak_conns']}, drained in {r['drain_seconds'] and round(r['drain_seconds'])} s; "
                    f"RSS {r['fastvsd']['VmRSS'] // 1024} MiB |")
    result["syn_flood"] = floods
    tf = table_full(tmp, cap * 0.5, a.seconds)
    result["table_full"] = tf
    f = tf["full"]
    print(f"table full: {json.dumps(tf)}", flush=True)
    rows.append(f"| table full (64K entries), new UDP flows at {cap * 0.5 / 1e6:.2f} M/s, 1,000 established flows "
                f"| established lost {est_loss(f)} of {f['est_tx'] + f['est_ring_full']}; "
                f"conn_table_full drops {f['fastvsd']['drops'].get('conn_table_full', 0)}; 8 s later "
                f"{f['after_rx']} of {f['after_tx']} new clients got a connection |")
    rows += run_answer_floods(a, tmp, result)
    return rows


def run_answer_floods(a, tmp, result):
    """ARP, echo and no-service floods: as fast as the generator goes (beyond what the RX ring
    takes: established packets are lost at the ring, before fastvsd sees them), then at half the
    rate the worker took in that run (within its capacity: what the rate limits must not spoil).
    Returns table rows."""
    rows = []
    answers = {}
    for kind in ("arp", "echo", "noservice"):
        answers[kind] = {}
        r = answer_flood(tmp, kind, a.seconds)
        taken = r["flood_tx"] / r["seconds"]
        for label, rr in (("max", r), ("half", answer_flood(tmp, kind, a.seconds, int(taken / 2)))):
            answers[kind][label] = rr
            print(f"{kind} flood ({label}): {json.dumps(rr)}", flush=True)
            got = rr["arp_answers"] if kind == "arp" else rr["echo_answers"] if kind == "echo" else 0
            rows.append(f"| {kind} flood, {(rr['flood_tx'] + rr['flood_ring_full']) / rr['seconds'] / 1e6:.2f} M/s offered "
                        f"({rr['flood_tx'] / rr['seconds'] / 1e6:.2f} M/s taken), 1,000 established flows "
                        f"| established lost {est_loss(rr)} of {rr['est_tx'] + rr['est_ring_full']}; answers "
                        f"{got / rr['seconds']:.0f}/s; drops {rr['fastvsd']['drops']} |")
    result["answer_floods"] = answers
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5, help="samples per run (one a second)")
    ap.add_argument("--scenarios", default="request,loop,dr,tun,updates,workers2,workingset,floods",
                    help="request,loop,dr,tun,updates,workers2, and request4pcap,request66,loop66 "
                    "(IPv4 and NAT66 from a replayed capture) (testpmd as generator and ceiling); "
                    "workingset (1M flows vs 256), floods (new flows, SYN flood, full table, "
                    "ARP/ICMP/no-service floods), newflows (scenario 3 alone), answers (the "
                    "ARP/ICMP/no-service floods alone): fvsgen")
    ap.add_argument("--baseline", help="another fastvsd binary to run beside this one in the "
                    "same rounds (newflows, floods' capacity part): before/after ratios")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "latest.json"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fvs-bench-")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    result = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu,
              "command": " ".join(["scripts/bench"] + sys.argv[1:]),
              "setup": "one fastvsd worker, 64-byte UDP over memif, ceiling = testpmd in its place",
              "scenarios": {}}
    rows = []
    med = statistics.median
    flood_rows, ws_rows = [], []
    for scenario in a.scenarios.split(","):
        if scenario == "floods":
            flood_rows = run_floods(a, tmp, result)
            continue
        if scenario == "newflows":
            run_new_flows(a, tmp, result, flood_rows)
            continue
        if scenario == "answers":
            flood_rows += run_answer_floods(a, tmp, result)
            continue
        if scenario == "workingset":
            ws_rows = run_working_set(a, tmp, result)
            continue
        runs = {"testpmd": [], "fastvsd": []}
        extras = []
        for rnd in range(a.rounds):
            # Interleaved, alternating who goes first: the machine is shared and noisy.
            order = ["testpmd", "fastvsd"] if rnd % 2 == 0 else ["fastvsd", "testpmd"]
            for subject in order:
                pps, extra = measure(scenario, subject, a.seconds, tmp, rnd)
                runs[subject].append(pps)
                if extra:
                    extras.append(extra)
                print(f"{scenario} round {rnd + 1}: {subject:8} {pps / 1e6:6.2f} Mpps {extra or ''}",
                      flush=True)
        ratios = [f / t for f, t in zip(runs["fastvsd"], runs["testpmd"]) if t]
        result["scenarios"][scenario] = {
            "what": SCENARIOS[scenario], "testpmd_pps": runs["testpmd"],
            "fastvsd_pps": runs["fastvsd"], "ratio": ratios,
            "fastvsd_drops": [e["drops"] for e in extras]}
        f, t = runs["fastvsd"], runs["testpmd"]
        rows.append(f"| {SCENARIOS[scenario]} | {med(f) / 1e6:.2f} ({min(f) / 1e6:.2f}-{max(f) / 1e6:.2f}) "
                    f"| {med(t) / 1e6:.2f} ({min(t) / 1e6:.2f}-{max(t) / 1e6:.2f}) "
                    f"| {med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |")
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"\n{result['date']}, {cpu}, {a.rounds} interleaved rounds of {a.seconds} s each\n")
    print("| scenario | fastvsd Mpps (median, min-max) | ceiling: testpmd Mpps | ratio (median, min-max) |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    if ws_rows:
        print("\n| scenario | 1M flows Mpps | 256 flows Mpps | ratio |")
        print("|---|---|---|---|")
        print("\n".join(ws_rows))
    if flood_rows:
        print("\n| floods and new flows (one worker, fvsgen over memif) | result |")
        print("|---|---|")
        print("\n".join(flood_rows))
    print(f"\nJSON: {a.json}")


if __name__ == "__main__":
    main()
