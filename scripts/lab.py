#!/usr/bin/python3
"""The lab's body (scripts/lab calls it): topology, fastvsd, curl, counters, teardown."""
import json
import os
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
}


def say(s):
    print(f"\033[1m== {s}\033[0m", flush=True)


def main(mode):
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
        rs_dev = "dpdk0" if mode == "nat1" else "dpdk1"
        commands = [
            f"ip addr add {topo.VIP}/24 dev dpdk0",
            f"ip addr add {topo.DIP}/24 dev {rs_dev}",
            "ip route add default via 172.16.254.1 dev dpdk0",
            f"-A -t {topo.VIP}:80 -s wrr",
            f"-a -t {topo.VIP}:80 -r 192.168.0.18:80 -m -w 1",
            f"-a -t {topo.VIP}:80 -r 192.168.0.28:80 -m -w 1",
        ]
        conf = os.path.join(t.dir, "lab.conf")
        with open(conf, "w") as f:
            f.write("\n".join(commands) + "\n")
        say(f"fastvsd's configuration ({conf}): the seeds' commands, ipvsadm replaced by fastvsadm")
        for c in commands:
            print(f"    fastvsadm {c}")
        stats = os.path.join(t.dir, "stats.json")
        driver = "af_xdp"
        for driver in ("af_xdp", "af_packet"):
            cmd = [os.path.join(ROOT, "build", "fastvsd"), "--lcores", "0@0,1@1", "--in-memory",
                   "-m", "256", "--no-pci", "--no-telemetry", "--log-level", "lib.eal:error"] + \
                topo.vdev_args(t.ports, driver) + \
                ["--", "--config", conf, "--idle-sleep-us", "200", "--conn-capacity", "65536",
                 "--stats-file", stats, "--stats-interval-ms", "100"]
            say(" ".join(cmd))
            proc = subprocess.Popen(cmd)
            deadline = time.monotonic() + 15
            while not os.path.exists(stats) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if os.path.exists(stats):
                break
            print(f"fastvsd did not start with {driver}; trying the next driver", flush=True)
            if proc.poll() is None:
                proc.kill()
        else:
            sys.exit("fastvsd did not start")
        say(f"curl http://{topo.VIP}/ from the client namespace")
        # The first requests also resolve MACs (the director drops a packet while ARP runs).
        answered = 0
        for i in range(40):
            page = topo.curl(topo.CIP, f"http://{topo.VIP}/", timeout=2).strip()
            print(f"    request {i + 1:2}: {page or '(no answer yet: ARP resolving)'}", flush=True)
            answered += bool(page)
            if answered == 8:
                break
        say("counters")
        time.sleep(0.2)  # one stats interval, so the file holds the last requests
        with open(stats) as f:
            c = json.load(f)
        print("    Prot LocalAddress:Port Scheduler\n      -> RemoteAddress:Port  Forward Weight ActiveConn InActConn Conns")
        print(f"    TCP  {topo.VIP}:80 wrr")
        for d in sorted(c["destinations"], key=lambda d: d["rip"]):
            print(f"      -> {d['rip']:<19} Masq    {d['weight']:<6} {d['activeconns']:<10} "
                  f"{d['inactconns']:<9} {d['conns']}")
        for i, w in enumerate(c["workers"]):
            drops = {k: v for k, v in w["drops"].items() if v}
            print(f"    worker {i}: rx {w['rx']} tx {w['tx']} nat_in {w['nat_in']} "
                  f"nat_out {w['nat_out']} arp_requests {w['arp_requests']} drops {drops}")
        if answered < 8:
            sys.exit("the VIP did not answer as it should")
        say("done; tearing down")
    finally:
        teardown()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "nat")
