#!/usr/bin/python3
"""Peers, side by side in the NAT lab (scripts/bench-peers): the same client (wrk), the same two
real servers (nginx) and the same topology; in the director's namespace, one of:

  fastvsd    fastvsd on af_xdp, LVS-NAT (-m), rr, as the lab runs it;
  nftables   the kernel's NAT: nft `dnat to numgen inc mod 2 map {...}` (the kernel's own
             NAT load balancing; kernel IPVS is not in this machine's kernel);
  haproxy    HAProxy in TCP mode, roundrobin (a proxy: two TCP connections per client one).

Two loads: keep-alive (wrk -c 16, connections reused) and one connection per request
(Connection: close). Requests per second and p99 latency, in interleaved rounds, medians and
min-max. The director's ports are veths: everything shares the machine's 2 CPUs (fastvsd's
worker polls one of them), so these are the peers' relative costs here, not line rates.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import topo  # noqa: E402

D = f"ip netns exec {topo.DIRECTOR_NS}"
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx-{name}.pid;
error_log {dir}/nginx-{name}.err;
daemon off;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  server {{
    listen 80 reuseport backlog=4096;
    location / {{ return 200 "{name}\\n"; }}
  }}
}}
"""
HAPROXY_CONF = """
global
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend vip
  bind {vip}:80
  default_backend rs
backend rs
  balance roundrobin
  server rs1 192.168.0.18:80
  server rs2 192.168.0.28:80
"""
NFT = f"""
table ip fvslb {{
  chain pre {{
    type nat hook prerouting priority dstnat;
    ip daddr {topo.VIP} tcp dport 80 dnat to numgen inc mod 2 map {{ 0 : 192.168.0.18, 1 : 192.168.0.28 }}
  }}
}}
"""


def sh(cmd, **kw):
    return topo.sh(cmd, **kw)


class Peers:
    def __init__(self, tmp):
        self.tmp = tmp
        self.t = topo.Topology("nat")
        self.servers = []
        for name in topo.RS:
            conf = os.path.join(tmp, f"nginx-{name}.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(dir=tmp, name=name))
            self.servers.append(subprocess.Popen(
                ["ip", "netns", "exec", f"fvs-{name}", "nginx", "-c", conf, "-e", os.path.join(tmp, f"nginx-{name}.err")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for name in topo.RS:
            deadline = time.monotonic() + 20
            while topo.ns(name, "curl -s -o /dev/null --max-time 1 http://127.0.0.1/", check=False):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx in {name} did not start")
                time.sleep(0.05)
        self.proc = None

    # The kernel's own forwarding (nftables, HAProxy) needs the addresses on the director's
    # interfaces and the host allowed to see their traffic; fastvsd needs the opposite.
    def kernel_on(self):
        for ifname in ("fvs-c", "fvs-r"):
            sh(f"{D} ip link set dev {ifname} xdp off", check=False)  # fastvsd's, if left
        sh(f"{D} iptables -t raw -F PREROUTING")
        for ifname in ("fvs-c", "fvs-r"):
            sh(f"{D} sysctl -qw net.ipv4.conf.{ifname}.arp_ignore=0")
        sh(f"{D} ip addr add {topo.VIP}/24 dev fvs-c")
        sh(f"{D} ip addr add {topo.DIP}/24 dev fvs-r")

    def kernel_off(self):
        sh(f"{D} ip addr flush dev fvs-c")
        sh(f"{D} ip addr flush dev fvs-r")
        for ifname in ("fvs-c", "fvs-r"):
            sh(f"{D} iptables -t raw -A PREROUTING -i {ifname} -j DROP")
            sh(f"{D} sysctl -qw net.ipv4.conf.{ifname}.arp_ignore=8")
        # Neighbours the kernel learned would answer for nothing now; the client's and real
        # servers' ARP caches still point at the same MACs (the veths keep theirs).
        sh(f"{D} ip neigh flush all", check=False)

    def start(self, peer):
        if peer == "fastvsd":
            sock = os.path.join(self.tmp, "fastvsd.sock")
            cmd = ["ip", "netns", "exec", topo.DIRECTOR_NS, os.path.join(ROOT, "build", "fastvsd"),
                   "--lcores", "0@0,1@1", "--in-memory", "-m", "256", "--no-pci", "--no-telemetry",
                   "--log-level", "lib.eal:error"] + topo.vdev_args(self.t.ports, "af_xdp") + \
                ["--", "--socket", sock, "--conn-capacity", "1048576", "--no-kernel-path"]
            self.proc = subprocess.Popen(cmd, stdout=open(os.path.join(self.tmp, "fastvsd.log"), "a"),
                                         stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 20
            while not os.path.exists(sock):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("fastvsd did not start")
                time.sleep(0.05)
            adm = os.path.join(ROOT, "build", "fastvsadm")
            # 60 s TIME_WAIT-free churn: fastvsd's TCP timeouts are IPVS's; one connection per
            # request leaves FIN_WAIT/TIME_WAIT entries for 2 minutes, within the capacity.
            for c in [f"ip addr add {topo.VIP}/24 dev dpdk0", f"ip addr add {topo.DIP}/24 dev dpdk1",
                      f"-A -t {topo.VIP}:80 -s rr", f"-a -t {topo.VIP}:80 -r 192.168.0.18:80 -m",
                      f"-a -t {topo.VIP}:80 -r 192.168.0.28:80 -m"]:
                subprocess.run([adm, "--socket", sock] + c.split(), check=True, capture_output=True)
        else:
            self.kernel_on()
            if peer == "nftables":
                path = os.path.join(self.tmp, "lb.nft")
                with open(path, "w") as f:
                    f.write(NFT)
                sh(f"{D} nft -f {path}")
            else:
                path = os.path.join(self.tmp, "haproxy.cfg")
                with open(path, "w") as f:
                    f.write(HAPROXY_CONF.format(vip=topo.VIP))
                self.proc = subprocess.Popen(["ip", "netns", "exec", topo.DIRECTOR_NS, "haproxy", "-db", "-f", path],
                                             stdout=open(os.path.join(self.tmp, "haproxy.log"), "a"),
                                             stderr=subprocess.STDOUT)
        # Ready when the VIP answers (first requests resolve MACs).
        deadline = time.monotonic() + 20
        while "rs" not in topo.curl(topo.CIP, f"http://{topo.VIP}/", timeout=1):
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                raise RuntimeError(f"{peer}: the VIP did not answer (logs in {self.tmp})")

    def stop(self, peer):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if peer != "fastvsd":
            if peer == "nftables":
                sh(f"{D} nft delete table ip fvslb", check=False)
            sh(f"{D} conntrack -F", check=False)
            self.kernel_off()

    def wrk(self, close, seconds, conns):
        hdr = ["-H", "Connection: close"] if close else []
        out = subprocess.run(["ip", "netns", "exec", "fvs-client", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s",
                              "--timeout", "5s", "--latency"] + hdr + [f"http://{topo.VIP}/"],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
        p99_ms = float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
        err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        errors = sum(int(x) for x in err.groups()) if err else 0
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return {"rps": rps, "p99_ms": p99_ms, "errors": errors + (int(non2xx.group(1)) if non2xx else 0)}

    def close(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        for s in self.servers:
            s.kill()
            s.wait()
        self.t.destroy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--peers", default="fastvsd,nftables,haproxy")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "peers.json"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fvs-peers-")
    peers = a.peers.split(",")
    res = {p: {"keepalive": [], "close": []} for p in peers}
    p = Peers(tmp)
    try:
        for rnd in range(a.rounds):
            order = peers[rnd % len(peers):] + peers[:rnd % len(peers)]  # rotate who goes first
            for peer in order:
                p.start(peer)
                try:
                    for load in ("keepalive", "close"):
                        r = p.wrk(load == "close", a.seconds, a.conns)
                        res[peer][load].append(r)
                        print(f"round {rnd + 1} {peer:8} {load:9} {r['rps']:9.0f} req/s  p99 {r['p99_ms']:7.2f} ms"
                              f"  errors {r['errors']}", flush=True)
                finally:
                    p.stop(peer)
    finally:
        p.close()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    out = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu, "command": " ".join(["scripts/bench-peers"] + sys.argv[1:]),
           "results": res}
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(out, f, indent=2)
    med = statistics.median
    print(f"\n{out['date']}, {cpu}, {a.rounds} interleaved rounds of {a.seconds} s, wrk -t1 -c{a.conns}\n")
    print("| director | keep-alive req/s (median, min-max) | p99 ms | one connection per request req/s | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    for peer in peers:
        k, c = res[peer]["keepalive"], res[peer]["close"]
        fmt_r = lambda rs: f"{med(x['rps'] for x in rs):.0f} ({min(x['rps'] for x in rs):.0f}-{max(x['rps'] for x in rs):.0f})"  # noqa: E731
        print(f"| {peer} | {fmt_r(k)} | {med(x['p99_ms'] for x in k):.2f} | {fmt_r(c)} | "
              f"{med(x['p99_ms'] for x in c):.2f} | {sum(x['errors'] for x in k + c)} |")
    print(f"\nJSON: {a.json}")


if __name__ == "__main__":
    main()
