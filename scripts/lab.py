#!/usr/bin/python3
"""The lab's body (scripts/lab calls it): topology, fastvsd, curl, counters, teardown."""
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
    "dr": "LVS-DR: one LAN; the real servers hold the VIP on lo and answer the client directly",
    "tun": "LVS-TUN: IPIP to the real servers, which decapsulate and answer the client directly",
}
METHOD = {"nat": "-m", "nat1": "-m", "dr": "-g", "tun": "-i"}
FORWARD = {"-m": "Masq", "-g": "Route", "-i": "Tunnel"}


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
            cmd = [os.path.join(ROOT, "build", "fastvsd"), "--lcores", "0@0,1@1", "--in-memory",
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
        if answered < 8:
            sys.exit("the VIP did not answer as it should")
        say("done; tearing down")
    finally:
        teardown()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "nat")
