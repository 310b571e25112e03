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
    "nat6": "two-arm LVS-NAT over IPv6: client | dpdk0 (VIP 2001:db8::1) fastvsd dpdk1 "
            "(DIP 2001:db8:1::1) | rs1, rs2",
    "dr6": "LVS-DR over IPv6: one LAN; the real servers hold the VIP 2001:db8::1 on lo and "
           "answer the client directly",
    "ha": "two directors, each fastvsd and keepalived --vrrp; failover (ha dr, the default, or "
          "ha nat)",
}
METHOD = {"nat": "-m", "nat1": "-m", "dr": "-g", "tun": "-i", "nat6": "-m", "dr6": "-g"}
FORWARD = {"-m": "Masq", "-g": "Route", "-i": "Tunnel"}


def wait_for_stop():
    """Until Ctrl-C, kill -INT or kill -TERM. A lab started in the background of a
    non-interactive shell inherits SIGINT ignored (an ignored signal never reaches sigwait):
    it is taken back, so that kill -INT stops it as Ctrl-C does."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.sigwait({signal.SIGINT, signal.SIGTERM})


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
    ipv6 = t.ipv6
    try:
        t.start_servers()
        if ipv6:
            say("real servers: python3 -m http.server on :: (IPv6 and IPv4) in fvs-rs1 "
                f"({topo.RS6['rs1']}, page rs1rs1), fvs-rs2 ({topo.RS6['rs2']}, rs2rs2)")
        else:
            say("real servers: python3 -m http.server in fvs-rs1 (page rs1rs1), fvs-rs2 (rs2rs2)")
        rs_dev = "dpdk1" if t.base == "nat" else "dpdk0"
        m = METHOD[mode]
        if ipv6:
            # ipvsadm's IPv6 forms. The client is on the VIP's /64 (no route needed); the real
            # servers are on the DIP's, their default gateway for nat6.
            vip = f"[{topo.VIP6}]:80"
            commands = [
                f"ip addr add {topo.VIP6}/64 dev dpdk0",
                f"ip addr add {topo.DIP6}/64 dev {rs_dev}",
                f"-A -t {vip} -s wrr",
                f"-a -t {vip} -r [{topo.RS6['rs1']}]:80 {m} -w 1",
                f"-a -t {vip} -r [{topo.RS6['rs2']}]:80 {m} -w 1",
            ]
            cip, url = topo.CIP6, f"http://[{topo.VIP6}]/"
            curl_cmd, resolving = f"curl -6 -g {url}", "neighbour discovery"
        else:
            commands = [
                f"ip addr add {topo.VIP}/24 dev dpdk0",
                f"ip addr add {topo.DIP}/24 dev {rs_dev}",
                "ip route add default via 172.16.254.1 dev dpdk0",
                f"-A -t {topo.VIP}:80 -s wrr",
                f"-a -t {topo.VIP}:80 -r 192.168.0.18:80 {m} -w 1",
                f"-a -t {topo.VIP}:80 -r 192.168.0.28:80 {m} -w 1",
            ]
            cip, url = topo.CIP, f"http://{topo.VIP}/"
            curl_cmd, resolving = f"curl {url}", "ARP resolving"
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
                ["--", "--socket", sock, "--idle-sleep-us", "200", "--conn-capacity", "65536",
                 # The lab's table is the lab's: never the host's /var/lib/fastvs/fastvsd.state.
                 "--no-state-file"]
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
        say(f"{curl_cmd} from the client namespace")
        # The first requests also resolve MACs (the director drops a packet while ARP or
        # neighbour discovery runs).
        answered = 0
        for i in range(40):
            page = topo.curl(cip, url, timeout=2).strip()
            print(f"    request {i + 1:2}: {page or f'(no answer yet: {resolving})'}", flush=True)
            answered += bool(page)
            if answered == 8:
                break
        say("the table and the counters")
        print(adm("-L", "-n"), end="")
        print(adm("ip", "-s", "link"), end="")
        if ipv6:
            say("the neighbours fastvsd learned or solicited (ip -6 neigh)")
            print(adm("ip", "-6", "neigh"), end="")
            # Both methods keep the client's address: the real server's log names it.
            lines = [line for line in t.http_log("rs1").splitlines() if '"GET / ' in line]
            say(f"what rs1's http.server logged: the client's own address, {topo.CIP6}")
            print(f"    {lines[-1] if lines else '(nothing)'}", flush=True)
        if ipv6:
            # The kernel path over IPv6: fastvsd's IPv6 addresses are on dpdk0/dpdk1 too, so the
            # director's own stack reaches the real servers from them (its health checks do).
            rs1 = topo.RS6["rs1"]
            say(f"the director's own stack through its ports: curl -6 http://[{rs1}]/ in fvs-dir")
            page = topo.sh(f"ip netns exec {topo.DIRECTOR_NS} curl -s -6 -g --max-time 3 "
                           f"http://[{rs1}]/", capture=True, check=False).strip()
            print(f"    {page or '(no answer)'}", flush=True)
        if mode in ("dr", "tun", "dr6"):
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
            print(f"    ip netns exec fvs-client {curl_cmd}")
            print(f"    {adm_bin} --socket {sock} -L -n")
            print("    Ctrl-C (or kill this script) tears it all down.", flush=True)
            wait_for_stop()
        say("done; tearing down")
    finally:
        teardown()


def cpu_seconds(pid):
    """User and system CPU time of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main_ha(kind, keep=False, sync=False):
    """scripts/lab ha [dr|nat] [--sync]: the seeds' cluster as a pair, and three failures of its
    master. --sync: keepalived's lvs_sync_daemon on both, and a download across the first."""
    import ha  # tests/e2e/ha.py
    if kind not in ("dr", "nat"):
        sys.exit(f"scripts/lab ha: {kind!r} is not dr or nat")
    say(f"HA, {'the LVS tutorial' if kind == 'dr' else 'the Red Hat guide'}'s {kind.upper()} "
        "cluster as two directors: fvs-dir (priority 150) and fvs-dir2 (100)")
    t = topo.Topology(kind, directors=2)
    directors = []

    def teardown(*_):
        for d in directors:
            try:
                d.stop()
            except Exception as e:  # noqa: BLE001 - tearing down: report, go on
                print(f"    (stopping {d.ns}: {e})", flush=True)
        t.destroy()

    signal.signal(signal.SIGTERM, lambda *a: (teardown(), sys.exit(1)))
    try:
        t.start_servers()
        a = ha.Director(t, ha.A, kind, sync=sync)
        b = ha.Director(t, ha.B, kind, sync=sync)
        directors += [a, b]
        if sync:
            for name in topo.RS:  # a download that outlives the failover: 6 MB at 1 MB/s
                with open(os.path.join(t.dir, f"{name}-80", "big"), "wb") as f:
                    f.write(os.urandom(6 * 1024 * 1024))
        for d in (a, b):
            say(f"{d.ns}: fastvsd on {' and '.join(d.ports)} (af_packet: "
                f"{'the veths to the LANs, its dpdk0 and dpdk1' if len(d.ports) > 1 else 'the veth to the LAN, its dpdk0'}), "
                f"--idle-sleep-us 200, --keepalived-conf {d.conf}; its log {d.dir}/fastvsd.log")
            d.start_fastvsd()
        print(open(a.conf).read(), end="", flush=True)
        for d in (a, b):
            say(f"{d.ns}: keepalived --vrrp -f {d.conf}")
            d.start_keepalived()
        ha.wait_for(lambda: a.is_master() and a.holds_vip(), 30, "fvs-dir to be master")
        if sync:
            ha.wait_for(lambda: a.adm("-L", "--daemon").startswith("master") and
                        b.adm("-L", "--daemon").startswith("backup"), 20, "the sync daemons")
            say("connection sync: keepalived.conf's '@fastvsd lvs_sync_daemon' (docs/sync.md); "
                "fastvsadm -L --daemon on each:")
            for d in (a, b):
                print(f"    {d.ns}: {d.adm('-L', '--daemon').strip()}", flush=True)
        cpu0 = {d.ns: cpu_seconds(d.fastvsd.proc.pid) for d in (a, b)}
        wall0 = time.monotonic()

        def show():
            for d in (a, b):
                role = ("MASTER" if d.is_master() else "backup") \
                    if d.keepalived.poll() is None else "keepalived not running"
                if d.fastvsd.proc.poll() is not None:
                    print(f"    {d.ns}: {role}; fastvsd not running", flush=True)
                    continue
                addrs = [line.strip() for line in d.adm("ip", "addr").splitlines()
                         if "added on the host" in line]
                print(f"    {d.ns}: {role}; keepalived's addresses: {addrs or 'none'}",
                      flush=True)

        show()

        def round_(what, inject, to, download=False):
            say(what)
            dl = None
            if download:
                dl = subprocess.Popen(
                    ["ip", "netns", "exec", f"{topo.PREFIX}client", "curl", "-s", "--limit-rate",
                     "1M", "--max-time", "60", "-o", "/dev/null", "-w",
                     "%{http_code} %{size_download}", f"http://{topo.VIP}/big"],
                    stdout=subprocess.PIPE, text=True)
                ha.wait_for(lambda: any("ESTABLISHED" in line and f"{topo.VIP}:80" in line
                                        for line in to.adm("-L", "-c", "-n").splitlines()), 20,
                            f"{to.ns} to list the download's connection")
                print(f"    a download (curl --limit-rate 1M, 6 MB) under way; {to.ns} (backup) "
                      "lists its connection, synced:", flush=True)
                for line in to.adm("-L", "-c", "-n").splitlines():
                    if "ESTABLISHED" in line:
                        print(f"      {line}", flush=True)
            r = ha.Requests()
            ha.wait_for(lambda: sum(ok for _, ok in r.results) >= 10, 20,
                        "the request loop to run")
            tm = time.monotonic()
            inject()
            ha.wait_for(lambda: to.is_master() and to.holds_vip(), 30, f"{to.ns} to take over",
                        interval=0.02)
            took = time.monotonic() - tm
            ha.wait_for(lambda: r.answered_after(tm), 30, "requests answered again")
            gap, failed = r.gap(tm)
            r.stop()
            answered = sum(ok for _, ok in r.results)
            print(f"    {to.ns} took over: it holds the VIP {took:.2f} s after the failure; first "
                  f"answered request {gap:.2f} s after the failure, {failed} failed in between "
                  f"({answered} answered in the round)", flush=True)
            if dl:
                out, _ = dl.communicate(timeout=90)
                whole = out.split() == ["200", str(6 * 1024 * 1024)]
                print(f"    the download {'went on to its end: ' if whole else 'BROKE: '}"
                      f"{out.strip()} (HTTP status, bytes)", flush=True)
            show()

        def back(d):
            ha.wait_for(lambda: d.is_master() and d.holds_vip() and b.holds_none(), 40,
                        f"{d.ns} to take the VIP back")
            print(f"    {d.ns} is master again (it has the higher priority and preempts)",
                  flush=True)

        def kill_fastvsd():
            a.fastvsd.proc.kill()
            a.fastvsd.proc.wait()

        round_("1. the master's fastvsd killed (kill -9)", kill_fastvsd, b, download=sync)
        a.fastvsd.close()
        say("fvs-dir's fastvsd started again")
        a.start_fastvsd()
        back(a)
        round_("2. the master's keepalived killed (kill -9): it cannot remove its VIP, so the "
               "old master goes on serving until the backup takes over and its gratuitous ARP "
               "moves the client; then both hold the VIP (a split brain, as with IPVS) until "
               "keepalived runs again on the old master", lambda: a.kill_keepalived(signal.SIGKILL),
               b)
        say("fvs-dir's keepalived started again")
        a.start_keepalived()
        back(a)
        round_("3. the master's keepalived stopped (SIGTERM): it removes its VIP and sends "
               "priority 0", lambda: a.kill_keepalived(signal.SIGTERM), b)
        wall = time.monotonic() - wall0
        say("what --idle-sleep-us 200 costs (two directors on this machine's CPUs)")
        for d in (b,):
            used = cpu_seconds(d.fastvsd.proc.pid) - cpu0[d.ns]
            print(f"    {d.ns}'s fastvsd: {used:.1f} CPU seconds in {wall:.0f} s "
                  f"({100 * used / wall:.0f}% of a CPU, control and a worker together; without "
                  "--idle-sleep-us a worker polls at 100% of its CPU)", flush=True)
        print("    a worker that slept wakes within 200 us: the first packet after an idle "
              "spell waits up to 0.2 ms more", flush=True)
        if keep:
            say("fvs-dir's keepalived started again: the pair as it began")
            a.start_keepalived()
            back(a)
            show()
            say("--keep: the lab stays up. Explore, e.g.:")
            for d in (a, b):
                print(f"    {ha.FASTVSADM} --socket {d.sock} ip addr    # {d.ns}")
                if sync:
                    print(f"    {ha.FASTVSADM} --socket {d.sock} -L --daemon; "
                          f"{ha.FASTVSADM} --socket {d.sock} -L -c -n")
                print(f"    less {d.dir}/fastvsd.log {d.dir}/keepalived.log")
            print(f"    ip netns exec fvs-client curl http://{topo.VIP}/")
            print("    Ctrl-C (or kill this script) tears it all down.", flush=True)
            wait_for_stop()
        say("done; tearing down")
    finally:
        teardown()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="The LVS lab in network namespaces.")
    ap.add_argument("mode", nargs="?", default="nat", choices=sorted(MODES))
    ap.add_argument("kind", nargs="?", default="dr", choices=("dr", "nat"),
                    help="with ha: the cluster made highly available (default dr)")
    ap.add_argument("--keep", action="store_true",
                    help="leave the lab running until Ctrl-C, to explore it")
    ap.add_argument("--sync", action="store_true",
                    help="with ha: connection sync on (keepalived's lvs_sync_daemon), and a "
                         "download across the first failover")
    ap.add_argument("--workers", type=int, default=1, help="fastvsd worker cores (default 1)")
    a = ap.parse_args()
    if a.mode == "ha":
        main_ha(a.kind, a.keep, a.sync)
    else:
        main(a.mode, a.keep, a.workers)
