#!/usr/bin/python3
"""The lab's body (scripts/lab calls it): topology, fastvsd, curl, counters, teardown."""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import topo  # noqa: E402

MODES = {
    "nat": "two-arm LVS-NAT: client | dpdk0 (VIP) fastvsd dpdk1 (DIP) | rs1, rs2",
    "nat1": "one-arm LVS-NAT: client, rs1, rs2 and fastvsd's only port on one LAN",
    "dr": "LVS-DR: one LAN; the real servers hold the VIP on lo and answer the client directly",
    "tun": "LVS-TUN: IPIP to the real servers, which decapsulate and answer the client directly",
}
METHOD = {"nat": "-m", "nat1": "-m", "dr": "-g", "tun": "-i"}
FORWARD = {"-m": "Masq", "-g": "Route", "-i": "Tunnel"}


def say(s):
    print(f"\033[1m== {s}\033[0m", flush=True)


def lcores(workers):
    """Lcore 0 (control) on CPU 0; the workers over the other CPUs (they sleep when idle)."""
    cpus = list(range(1, os.cpu_count() or 1)) or [0]
    return ",".join(["0@0"] + [f"{i}@{cpus[(i - 1) % len(cpus)]}" for i in range(1, workers + 1)])


def main(mode, keep=False, workers=1):
    if mode not in MODES:
        sys.exit(f"scripts/lab: unknown mode {mode!r} (one of {', '.join(MODES)})")
    say(MODES[mode])
    t = topo.Topology(mode)
    proc = None

    def teardown(*_):
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        t.destroy()

    signal.signal(signal.SIGTERM, lambda *a: (teardown(), sys.exit(1)))
    try:
        t.start_servers()
        say("real servers: python3 -m http.server in fvs-rs1 (page rs1rs1), fvs-rs2 (rs2rs2)")
        rs_dev = "dpdk1" if mode == "nat" else "dpdk0"
        m = METHOD[mode]
        commands = [
            f"ip addr add {topo.VIP}/24 dev dpdk0",
            f"ip addr add {topo.DIP}/24 dev {rs_dev}",
            "ip route add default via 172.16.254.1 dev dpdk0",
            f"-A -t {topo.VIP}:80 -s wrr",
            f"-a -t {topo.VIP}:80 -r 192.168.0.18:80 {m} -w 1",
            f"-a -t {topo.VIP}:80 -r 192.168.0.28:80 {m} -w 1",
        ]
        sock = os.path.join(t.dir, "fastvsd.sock")
        adm_bin = os.path.join(ROOT, "build", "fastvsadm")

        def adm(*args, show=True):
            if show:
                print(f"    $ fastvsadm {' '.join(args)}", flush=True)
            r = subprocess.run([adm_bin, "--socket", sock, *args], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"fastvsadm {' '.join(args)}: {r.stderr.strip()}")
            return r.stdout

        for driver in ("af_xdp", "af_packet"):
            # In the director's namespace: its host stack is the kernel path's (dpdk0, dpdk1).
            cmd = ["ip", "netns", "exec", topo.DIRECTOR_NS,
                   os.path.join(ROOT, "build", "fastvsd"), "--lcores", lcores(workers), "--in-memory",
                   "-m", "256", "--no-pci", "--no-telemetry", "--log-level", "lib.eal:error"] + \
                topo.vdev_args(t.ports, driver) + \
                ["--", "--socket", sock, "--idle-sleep-us", "200", "--conn-capacity", "65536"]
            say(" ".join(cmd))
            proc = subprocess.Popen(cmd)
            deadline = time.monotonic() + 15
            while not os.path.exists(sock) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if os.path.exists(sock):
                break
            print(f"fastvsd did not start with {driver}; trying the next driver", flush=True)
            if proc.poll() is None:
                proc.kill()
        else:
            sys.exit("fastvsd did not start")
        say("the seeds' commands, with ipvsadm replaced by fastvsadm")
        for c in commands:
            adm(*c.split())
        say(f"curl http://{topo.VIP}/ from the client namespace")
        # The first requests also resolve MACs (the director drops a packet while ARP runs).
        answered = 0
        for i in range(40):
            page = topo.curl(topo.CIP, f"http://{topo.VIP}/", timeout=2).strip()
            print(f"    request {i + 1:2}: {page or '(no answer yet: ARP resolving)'}", flush=True)
            answered += bool(page)
            if answered == 8:
                break
        say("the table and the counters")
        print(adm("-L", "-n"), end="")
        print(adm("ip", "-s", "link"), end="")
        if mode in ("dr", "tun"):
            c = subprocess.run([adm_bin, "--socket", sock, "ip", "-s", "link"], capture_output=True,
                               text=True).stdout
            nat_out = sum(int(x) for x in re.findall(r"nat_out (\d+)", c))
            say(f"replies through the director: {nat_out} (the real servers answer the client directly)")
        if answered < 8:
            sys.exit("the VIP did not answer as it should")
        if mode == "nat":
            # The kernel path: the director's own stack through its ports, and a real server's
            # own traffic forwarded and masqueraded by it (the seeds' MASQUERADE rule).
            say("the director's own stack through its ports: curl http://192.168.0.18/ in fvs-dir")
            page = topo.sh(f"ip netns exec {topo.DIRECTOR_NS} curl -s --max-time 3 "
                           "http://192.168.0.18/", capture=True, check=False).strip()
            print(f"    {page or '(no answer)'}", flush=True)
            say(f"rs1 reaches a server on the client side ({topo.CIP}:8080), masqueraded")
            www = os.path.join(t.dir, "www-client")
            os.makedirs(www, exist_ok=True)
            with open(os.path.join(www, "index.html"), "w") as f:
                f.write("client-side page")
            srv = subprocess.Popen(f"exec ip netns exec fvs-client /usr/bin/python3 -m http.server "
                                   f"8080 --bind {topo.CIP} --directory {www}", shell=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                got = ""
                for _ in range(40):
                    got = topo.ns("rs1", f"curl -s --max-time 1 http://{topo.CIP}:8080/",
                                  capture=True, check=False).strip()
                    if got:
                        break
                    time.sleep(0.1)
                print(f"    {got or '(no answer)'}", flush=True)
            finally:
                srv.kill()
                srv.wait()
        if keep:
            say("--keep: the lab stays up. Explore, e.g.:")
            print(f"    ip netns exec fvs-client curl http://{topo.VIP}/")
            print(f"    {adm_bin} --socket {sock} -L -n")
            print("    Ctrl-C (or kill this script) tears it all down.", flush=True)
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        say("done; tearing down")
    finally:
        teardown()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="The LVS lab in network namespaces.")
    ap.add_argument("mode", nargs="?", default="nat", choices=sorted(MODES))
    ap.add_argument("--keep", action="store_true",
                    help="leave the lab running until Ctrl-C, to explore it")
    ap.add_argument("--workers", type=int, default=1, help="fastvsd worker cores (default 1)")
    a = ap.parse_args()
    main(a.mode, a.keep, a.workers)
