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
import statistics
import subprocess
import sys
import tempfile
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

SCENARIOS = {
    "request": "NAT, UDP, established, request direction",
    "loop": "NAT, UDP, established, full loop (requests and replies, half each)",
}
LOOP_FLOWS = 128


def loop_pcap(path):
    """Requests from LOOP_FLOWS clients and the real servers' replies, interleaved. rr over the
    kernel's list order [rs2, rs1] with one worker decides which server answers which flow."""
    from scapy.all import IP, UDP, Ether, Raw, wrpcap  # Debian's python3-scapy
    rr = ["192.168.0.28", "192.168.0.18"]
    pkts = []
    for i in range(LOOP_FLOWS):
        cip, cport, rip = f"10.0.{i // 200}.{1 + i % 200}", 5000 + i, rr[i % 2]
        pkts.append(Ether(src=GEN_MAC, dst=MIDDLE_MAC) / IP(src=cip, dst=VIP) /
                    UDP(sport=cport, dport=53) / Raw(b"q" * 18))
        pkts.append(Ether(src=GEN_MAC, dst=MIDDLE_MAC) / IP(src=rip, dst=cip) /
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


def eal(cpu, prefix, role, sock, mac=None, mem=512, sink=False):
    vdev = f"net_memif0,role={role},socket={sock}" + (f",mac={mac}" if mac else "")
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
    loop = scenario == "loop"
    sock = os.path.join(tmp, f"memif{scenario}{rnd}{subject}.sock")
    # request: txonly. loop: 5tswap bounces every packet back with addresses swapped (a request
    # to the RS comes back as its reply, a reply to the client as the next request), started
    # with 64 bursts in flight.
    if loop:
        # A capture replayed forever (net_pcap infinite_rx) and io-forwarded into the memif; what
        # comes back goes to /dev/null.
        pcap = os.path.join(tmp, "loop.pcap")
        if not os.path.exists(pcap):
            loop_pcap(pcap)
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
    gen = Testpmd(gen_eal, mode + ["--total-num-mbufs=16384", "--txd=1024", "--rxd=1024"],
                  os.path.join(tmp, f"gen-{scenario}-{subject}-{rnd}.log"))
    middle = fvs = None
    try:
        if subject == "testpmd":
            middle = Testpmd(eal(1, f"fvsmid{os.getpid()}", "client", sock, MIDDLE_MAC, sink=not loop),
                             ["--forward-mode=io"] + (["--port-topology=loop"] if loop else []) +
                             ["--total-num-mbufs=16384", "--txd=1024", "--rxd=1024"],
                             os.path.join(tmp, f"mid-{scenario}-{rnd}.log"))
            middle.cmd("start")
            out_port = 0 if loop else 1
            count = lambda: middle.tx_packets(out_port)  # noqa: E731
        else:
            conf = os.path.join(tmp, f"bench-{scenario}.conf")
            with open(conf, "w") as f:
                f.write(CONFIG_LOOP if loop else CONFIG_REQUEST)
            stats = os.path.join(tmp, f"fvs-{rnd}.json")
            fvs = subprocess.Popen(
                [FASTVSD] + eal(1, f"fvsmid{os.getpid()}", "client", sock, MIDDLE_MAC, 1024, sink=not loop) +
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
        samples = []
        t0, c0 = time.monotonic(), count()
        for _ in range(seconds):
            time.sleep(1)
            t1, c1 = time.monotonic(), count()
            samples.append((c1 - c0) / (t1 - t0))
            t0, c0 = t1, c1
        gen.cmd("stop")
        time.sleep(0.2)
        extra = {}
        if fvs:
            with open(os.path.join(tmp, f"fvs-{rnd}.json")) as f:
                w = json.load(f)["workers"][0]
            extra = {"drops": {k: v for k, v in w["drops"].items() if v}, "conns": w["conns"]}
        return statistics.median(samples), extra
    finally:
        if middle:
            middle.cmd("stop")
            middle.quit()
        if fvs:
            fvs.send_signal(signal.SIGTERM)
            fvs.wait(20)
        gen.quit()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5, help="samples per run (one a second)")
    ap.add_argument("--scenarios", default="request,loop", help="request,loop")
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
    for scenario in a.scenarios.split(","):
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
    print(f"\nJSON: {a.json}")


if __name__ == "__main__":
    main()
