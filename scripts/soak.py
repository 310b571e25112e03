#!/usr/bin/python3
"""The soak (scripts/soak): the two-arm NAT lab under mixed traffic for a long time, while the
configuration changes every second and a real server goes down and comes back every minute.

Traffic, all from the client namespace to the VIP:
  - wrk with keep-alive (2 connections) and wrk with one connection per request
    (Connection: close, 2 connections), in back-to-back segments of --segment seconds;
  - a UDP client: requests at --udp-rate per second to VIP:5353 (the real servers echo them).
Changes:
  - every second (paused while an rs2 outage is being staged) one of: rs1's or rs2's weight
    edited (1..5), a spare service (VIP:8080, no traffic) added with two real servers or deleted;
  - every --flap seconds rs2's web server is killed; its TCP_CHECK takes it out of the table;
    it is started again 10 s later and the check brings it back.
What is checked and reported:
  - failed requests: a segment that overlaps an rs2 outage (from its kill until 3 s after the
    check restored it) may fail requests (its keep-alive connections die with the server, new
    ones are refused until the check reacts); every other segment must have none;
  - UDP: every request answered (rs2's UDP server never stops), or its loss counted outside
    fastvsd (a socket's receive buffer, a port's RX ring);
  - fastvsd's memory (VmRSS) sampled through the run: first, max and last;
  - counters at the end, traffic stopped: per worker, packets in (rx + hand-offs in + from the
    kernel + ARP requests and ICMP errors it made) = out (tx + hand-offs out + to the kernel +
    ARP replies it consumed + drops by reason).
Exits non-zero if a clean segment failed a request, a datagram went unanswered, a change failed
or the counters differ. The result goes to --json (bench/results/soak.json).
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import topo  # noqa: E402

BUILD = os.path.join(ROOT, "build")
UDP_CLIENT = r"""
import socket, sys, time, json
vip, rate, stop_file = sys.argv[1], float(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("172.16.254.10", 0))
s.setblocking(False)
sent = got = 0
seq = 0
t0 = time.monotonic()
last = t0
while True:
    now = time.monotonic()
    due = int((now - t0) * rate)
    while seq < due:
        try:
            s.sendto(b"q%d" % seq, (vip, 5353)); sent += 1
        except BlockingIOError:
            pass
        seq += 1
    try:
        while True:
            s.recv(2048); got += 1
    except BlockingIOError:
        pass
    if now - last >= 1:
        print(json.dumps({"t": now, "sent": sent, "got": got}), flush=True)
        last = now
        try:
            open(stop_file).close(); break
        except OSError:
            pass
    time.sleep(0.002)
deadline = time.monotonic() + 2
while time.monotonic() < deadline:
    try:
        s.recv(2048); got += 1
    except BlockingIOError:
        time.sleep(0.01)
print(json.dumps({"t": time.monotonic(), "sent": sent, "got": got, "final": True}), flush=True)
"""


def say(s):
    print(f"== {s}", flush=True)


class Soak:
    def __init__(self, a):
        self.a = a
        self.t = topo.Topology("nat")
        self.sock = os.path.join(self.t.dir, "fastvsd.sock")
        self.stats = os.path.join(self.t.dir, "stats.json")
        self.proc = None
        self.outages = []  # (killed at, back in the table at)
        self.rss = []
        self.stop = threading.Event()
        self.changes = 0
        self.change_errors = []

    def adm(self, *args, check=True):
        r = subprocess.run([os.path.join(self.a.build, "fastvsadm"), "--socket", self.sock, *args], capture_output=True, text=True,
                           timeout=20)
        if check and r.returncode != 0:
            raise RuntimeError(f"fastvsadm {' '.join(args)}: {r.stderr.strip()}")
        return r

    def start(self):
        self.t.start_servers()
        cmd = ["ip", "netns", "exec", topo.DIRECTOR_NS, os.path.join(self.a.build, "fastvsd"),
               "--lcores", "0@0,1@1", "--in-memory", "-m", "512", "--no-pci", "--no-telemetry",
               "--log-level", "lib.eal:error"] + topo.vdev_args(self.t.ports, self.a.driver) + \
            ["--", "--socket", self.sock, "--idle-sleep-us", "100", "--conn-capacity", "262144",
             "--stats-file", self.stats, "--stats-interval-ms", "500"]
        self.log = open(os.path.join(self.t.dir, "fastvsd.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fastvsd did not start (log: {self.log.name})")
            time.sleep(0.05)
        vip = topo.VIP
        for c in [f"ip addr add {vip}/24 dev dpdk0", f"ip addr add {topo.DIP}/24 dev dpdk1",
                  "ip route add default via 172.16.254.1 dev dpdk0",
                  f"-A -t {vip}:80 -s wlc", f"-a -t {vip}:80 -r 192.168.0.18:80 -m -w 3",
                  f"-a -t {vip}:80 -r 192.168.0.28:80 -m -w 3",
                  f"-A -u {vip}:5353 -s rr", f"-a -u {vip}:5353 -r 192.168.0.18:5353 -m",
                  f"-a -u {vip}:5353 -r 192.168.0.28:5353 -m",
                  f"--check add -t {vip}:80 -r 192.168.0.18:80 tcp interval=1s timeout=1s retry=0",
                  f"--check add -t {vip}:80 -r 192.168.0.28:80 tcp interval=1s timeout=1s retry=0"]:
            self.adm(*c.split())
        # Ready when the VIP answers (the first requests resolve MACs).
        deadline = time.monotonic() + 30
        while not topo.curl(topo.CIP, f"http://{vip}/", timeout=1).strip():
            if time.monotonic() > deadline:
                raise RuntimeError("the VIP did not answer")
        say(f"lab up, fastvsd pid {self.proc.pid} on {self.a.driver}")

    def rs2_in_table(self):
        out = self.adm("-L", "-n", "-t", f"{topo.VIP}:80").stdout
        return "192.168.0.28:80" in out

    def changer(self):
        """A configuration change every second; rs2 down and back every --flap seconds."""
        vip = topo.VIP
        spare = False
        next_flap = time.monotonic() + self.a.flap
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_flap:
                killed = time.monotonic()
                self.t.stop_http("rs2")
                # Out of the table when the check fails (poll, bounded).
                deadline = time.monotonic() + 15
                while self.rs2_in_table() and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(max(0.0, 10 - (time.monotonic() - killed)))
                self.t.start_http("rs2")
                deadline = time.monotonic() + 15
                while not self.rs2_in_table() and time.monotonic() < deadline:
                    time.sleep(0.1)
                self.outages.append((killed, time.monotonic()))
                next_flap = time.monotonic() + self.a.flap
                continue
            choice = random.randrange(3)
            try:
                if choice < 2:
                    rip = "192.168.0.18" if choice == 0 else "192.168.0.28"
                    r = self.adm("-e", "-t", f"{vip}:80", "-r", f"{rip}:80", "-m", "-w",
                                 str(random.randint(1, 5)), check=False)
                    # While rs2 is out (its check failed), editing it is refused: expected.
                    if r.returncode != 0 and "does not exist" not in r.stderr and \
                            "no such" not in r.stderr.lower():
                        self.change_errors.append(r.stderr.strip())
                elif spare:
                    self.adm("-D", "-t", f"{vip}:8080")
                    spare = False
                else:
                    self.adm("-A", "-t", f"{vip}:8080", "-s", "rr")
                    self.adm("-a", "-t", f"{vip}:8080", "-r", "192.168.0.18:8080", "-m")
                    self.adm("-a", "-t", f"{vip}:8080", "-r", "192.168.0.28:8080", "-m")
                    spare = True
                self.changes += 1
            except RuntimeError as e:
                self.change_errors.append(str(e))
            self.stop.wait(1)

    def sample_rss(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    self.rss.append((time.monotonic(), int(line.split()[1])))

    def wrk(self, close, seconds, out):
        hdr = ["-H", "Connection: close"] if close else []
        return subprocess.Popen(
            ["ip", "netns", "exec", "fvs-client", "wrk", "-t1", "-c2", f"-d{seconds}s", "--timeout",
             "5s"] + hdr + [f"http://{topo.VIP}/"], stdout=out, stderr=subprocess.STDOUT, text=True)

    @staticmethod
    def parse_wrk(text):
        r = {"requests": 0, "errors": 0, "non2xx": 0}
        m = re.search(r"(\d+) requests in", text)
        if m:
            r["requests"] = int(m.group(1))
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        if m:
            r["errors"] = sum(int(x) for x in m.groups())
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        if m:
            r["non2xx"] = int(m.group(1))
        # wrk gives up at once when its first connection is refused: one failed request.
        if "unable to connect" in text:
            r["errors"] += 1
        return r

    def run(self):
        a = self.a
        stop_file = os.path.join(self.t.dir, "udp.stop")
        udp = subprocess.Popen(["ip", "netns", "exec", "fvs-client", "/usr/bin/python3", "-c", UDP_CLIENT,
                                topo.VIP, str(a.udp_rate), stop_file], stdout=subprocess.PIPE, text=True)
        udp_samples = []
        threading.Thread(target=lambda: [udp_samples.append(json.loads(l)) for l in udp.stdout],
                         daemon=True).start()
        changer = threading.Thread(target=self.changer, daemon=True)
        changer.start()
        segments = []
        t_end = time.monotonic() + a.seconds
        self.sample_rss()
        while time.monotonic() < t_end:
            seg = min(a.segment, max(1, int(t_end - time.monotonic())))
            start = time.monotonic()
            outs = [open(os.path.join(self.t.dir, f"wrk{i}.txt"), "w+") for i in range(2)]
            ps = [self.wrk(False, seg, outs[0]), self.wrk(True, seg, outs[1])]
            for p in ps:
                p.wait(seg + 30)
            end = time.monotonic()
            res = []
            for o in outs:
                o.seek(0)
                res.append(self.parse_wrk(o.read()))
                o.close()
            udp_at = lambda t: min((s for s in udp_samples if not s.get("final")),  # noqa: E731
                                   key=lambda s: abs(s["t"] - t), default=None)
            segments.append({"start": start, "end": end, "keepalive": res[0], "close": res[1],
                             "udp_start": udp_at(start), "udp_end": udp_at(end)})
            self.sample_rss()
            done = sum(s["keepalive"]["requests"] + s["close"]["requests"] for s in segments)
            print(f"   {int(end - (t_end - a.seconds))} s: {done} requests, segment {res}, "
                  f"RSS {self.rss[-1][1]} KiB, {self.changes} changes, {len(self.outages)} outages",
                  flush=True)
        self.stop.set()
        changer.join(60)
        open(stop_file, "w").close()
        udp.wait(30)
        time.sleep(1)  # the last packets through, the stats file rewritten
        self.outside = self.outside_losses()
        return segments, udp_samples

    def outside_losses(self):
        """What was lost outside fastvsd, counted where it happened: the ports' RX (a full
        af_xdp ring: missed/dropped), and UDP sockets in the client and the real servers
        (receive buffer overflows when a starved process read too late)."""
        out = {}
        link = self.adm("ip", "-s", "link").stdout
        for i, m in enumerate(re.finditer(r"RX: bytes\s+packets\s+errors\s+dropped\s+missed\n\s+\d+\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)", link)):
            out[f"dpdk{i}_rx_errors_dropped_missed"] = [int(x) for x in m.groups()]
        for name in ("client", "rs1", "rs2"):
            snmp = topo.ns(name, "cat /proc/net/snmp", capture=True)
            udp = [l.split()[1:] for l in snmp.splitlines() if l.startswith("Udp:")]
            fields = dict(zip(udp[0], (int(x) for x in udp[1])))
            out[f"{name}_udp_rcvbuf_errors"] = fields.get("RcvbufErrors", 0)
            out[f"{name}_udp_in_errors"] = fields.get("InErrors", 0)
        return out

    def report(self, segments, udp_samples):
        a = self.a
        # A segment is explained by an outage when they overlap (the outage counted until 3 s
        # after rs2 was back in the table: connections made just before may still fail).
        def explained(s):
            return any(s["start"] <= back + 3 and killed <= s["end"] for killed, back in self.outages)
        clean_fail = 0
        totals = {"requests": 0, "failed_clean": 0, "failed_outage": 0}
        for s in segments:
            failed = sum(s[k]["errors"] + s[k]["non2xx"] for k in ("keepalive", "close"))
            totals["requests"] += s["keepalive"]["requests"] + s["close"]["requests"]
            if explained(s):
                totals["failed_outage"] += failed
            else:
                totals["failed_clean"] += failed
                clean_fail += failed
        # UDP: rs2's UDP server never stops (only its web server does), so every datagram of
        # the whole run must be answered.
        final = next((s for s in udp_samples if s.get("final")), None)
        udp_total = {"sent": final["sent"], "got": final["got"]} if final else None
        w_stats = json.load(open(self.stats))["workers"]
        balance = []
        for w in w_stats:
            # icmp_rate_limited counts an ICMP error not made, not a packet.
            drops = sum(v for k, v in w["drops"].items() if k != "icmp_rate_limited")
            inn = w["rx"] + w["handoff_in"] + w["from_kernel"] + w["arp_requests"] + w["icmp_errors_sent"]
            out = w["tx"] + w["handoff_out"] + w["to_kernel"] + w["arp_replies_in"] + drops
            balance.append({"in": inn, "out": out, "drops": {k: v for k, v in w["drops"].items() if v}})
        rss = [k for _, k in self.rss]
        result = {
            "date": time.strftime("%Y-%m-%d %H:%M"), "seconds": a.seconds, "driver": a.driver,
            "segments": len(segments), "requests": totals["requests"],
            "failed_in_clean_segments": totals["failed_clean"],
            "failed_in_outage_segments": totals["failed_outage"], "outages": len(self.outages),
            "config_changes": self.changes, "change_errors": self.change_errors[:10],
            "udp": udp_total, "rss_kib": {"first": rss[0], "max": max(rss), "last": rss[-1],
                                          "samples": len(rss)},
            "counters": balance, "lost_outside_fastvsd": self.outside,
        }
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
        say("result")
        print(json.dumps(result, indent=2))
        problems = []
        if clean_fail:
            problems.append(f"{clean_fail} failed requests outside rs2's outages")
        # A datagram counted as lost where it was lost (a socket's buffer, a port's ring) is
        # explained; the director itself drops no UDP here.
        explained_udp = sum(v for k, v in self.outside.items() if k.endswith("udp_rcvbuf_errors")) + \
            sum(v[1] + v[2] for k, v in self.outside.items() if k.startswith("dpdk"))
        if not udp_total or udp_total["sent"] - udp_total["got"] > explained_udp:
            problems.append(f"UDP: {udp_total and udp_total['sent'] - udp_total['got']} datagrams unanswered, "
                            f"{explained_udp} counted as lost outside fastvsd")
        for i, b in enumerate(balance):
            if b["in"] != b["out"]:
                problems.append(f"worker {i}: packets in {b['in']} != out {b['out']} (drops included)")
        if self.change_errors:
            problems.append(f"configuration changes failed: {self.change_errors[:3]}")
        if len(self.outages) == 0 and a.seconds > a.flap + 20:
            problems.append("no rs2 outage happened")
        for p in problems:
            say(f"FAILED: {p}")
        return not problems

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.t.destroy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=3600)
    ap.add_argument("--segment", type=int, default=10, help="wrk segment length, seconds")
    ap.add_argument("--flap", type=int, default=60, help="seconds between rs2 outages")
    ap.add_argument("--udp-rate", type=float, default=200, help="UDP requests per second")
    ap.add_argument("--driver", default="af_xdp", choices=["af_xdp", "af_packet"])
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "soak.json"))
    ap.add_argument("--build", default=BUILD, help="where fastvsd and fastvsadm are (build/)")
    a = ap.parse_args()
    s = Soak(a)
    signal.signal(signal.SIGTERM, lambda *_: (s.close(), sys.exit(1)))
    try:
        s.start()
        ok = s.report(*s.run())
    finally:
        s.close()
    say("soak passed" if ok else "soak FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
