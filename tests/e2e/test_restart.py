#!/usr/bin/python3
"""Restarts that keep connections, end to end: the seeds' NAT lab, a long download and a
keep-alive request loop through the VIP, and fastvsd stopped (SIGTERM) and started again in the
middle of both with its --state-file. Both must go on as if nothing happened: the download whole,
the loop on its one connection with no failed request. The gap (from the stop to the first
packet forwarded again) is reported. Needs root; fails (does not skip) without it."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import topo  # noqa: E402
from fvtest import Fastvsd, wait_for  # noqa: E402
from test_nat_lab import lab_config, udp_query  # noqa: E402

DRIVER = os.environ.get("FASTVS_E2E_DRIVER", "af_packet")
BIG = 12 * 1024 * 1024  # bytes, downloaded at 1 MB/s: 12 s

# An HTTP/1.1 server (keep-alive, Content-Length) answering with its name, on port 8080.
KEEPALIVE_SERVER = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = sys.argv[1].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""

# One keep-alive connection to VIP:8080, a request every 20 ms for `seconds`: prints the
# requests answered, failed, and the connections it had to open.
KEEPALIVE_CLIENT = r"""
import http.client, os, sys, time
end = time.monotonic() + float(sys.argv[2])
stop = sys.argv[3] if len(sys.argv) > 3 else None  # ends early once this file exists
ok = failed = conns = 0
c = None
while time.monotonic() < end and not (stop and os.path.exists(stop)):
    try:
        if c is None:
            c = http.client.HTTPConnection(sys.argv[1], 8080, timeout=15)
            conns += 1
        c.request("GET", "/")
        r = c.getresponse()
        if r.status == 200 and r.read() in (b"rs1rs1", b"rs2rs2"):
            ok += 1
        else:
            failed += 1
    except Exception as e:
        failed += 1
        print("error:", repr(e), flush=True)
        c = None
    time.sleep(0.02)
print(ok, failed, conns)
"""


def start_long_servers(lab):
    """On each real server of `lab` (a started topo.Topology): /big (BIG bytes) on its port 80
    server, and the keep-alive server on 8080."""
    for name in topo.RS:
        with open(os.path.join(lab.dir, f"{name}-80", "big"), "wb") as f:
            f.write(os.urandom(BIG))
        lab.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", f"{topo.PREFIX}{name}", "/usr/bin/python3", "-c",
             KEEPALIVE_SERVER, name * 2]))


class RestartKeepsConnections(unittest.TestCase):
    def setUp(self):
        self.topo = topo.Topology("nat")
        self.addCleanup(self.topo.destroy)
        self.topo.start_servers()
        start_long_servers(self.topo)
        self.conf = os.path.join(self.topo.dir, "lab.conf")
        with open(self.conf, "w") as f:
            f.write(lab_config() + f"-A -t {topo.VIP}:8080 -s rr\n"
                    f"-a -t {topo.VIP}:8080 -r 192.168.0.18:8080 -m\n"
                    f"-a -t {topo.VIP}:8080 -r 192.168.0.28:8080 -m\n")
        self.state = os.path.join(self.topo.dir, "fastvsd.state")
        self.runs = []

    def start(self):
        eal = ["--lcores", "0@0,1@1", "--no-huge", "-m", "512", "--no-shconf"] + \
            topo.vdev_args(self.topo.ports, DRIVER)
        workdir = os.path.join(self.topo.dir, f"run{len(self.runs)}")
        os.makedirs(workdir)
        d = Fastvsd(eal, ["--config", self.conf, "--idle-sleep-us", "200", "--conn-capacity",
                          "65536"], workdir, f"fvsrst{len(self.runs)}", netns=topo.DIRECTOR_NS,
                    kernel_path=True, state_file=self.state)
        self.runs.append(d)
        self.addCleanup(lambda: (d.stop(), d.close()))
        d.wait_started()
        return d

    def test_a_download_and_a_keepalive_loop_across_a_restart(self):
        d = self.start()
        seen = set()
        wait_for(lambda: seen.add(udp_query(topo.CIP, "warm", 1).split(":")[0]) or
                 {"rs1", "rs2"} <= seen, 30, "both real servers to answer through the VIP")
        download = subprocess.Popen(
            ["ip", "netns", "exec", f"{topo.PREFIX}client", "curl", "-s", "--limit-rate", "1M",
             "--max-time", "60", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
             f"http://{topo.VIP}/big"], stdout=subprocess.PIPE, text=True)
        loop = subprocess.Popen(
            ["ip", "netns", "exec", f"{topo.PREFIX}client", "/usr/bin/python3", "-c",
             KEEPALIVE_CLIENT, topo.VIP, "10"], stdout=subprocess.PIPE, text=True)
        # Both under way, then the restart.
        wait_for(lambda: d.total("conns") >= 2, 10, "the download's and the loop's connections")
        # Traffic flowing through both (a second of the download's replies at 1 MB/s): what a
        # restart interrupts.
        base = d.total("nat_out")
        wait_for(lambda: d.total("nat_out") >= base + 700, 20, "replies flowing back")
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(30), 0, d.output())
        saved = re.search(r"saved (\d+) connections and \d+ templates to ", d.output())
        self.assertIsNotNone(saved, d.output())
        d2 = self.start()
        wait_for(lambda: "forwarding with" in d2.output(), 30, "the second fastvsd to forward")
        gap = time.monotonic() - t0
        kept = re.search(r"state file .*: kept (\d+) connections?", d2.output())
        self.assertIsNotNone(kept, d2.output())
        self.assertGreaterEqual(int(kept.group(1)), 2, d2.output())
        out, _ = download.communicate(timeout=90)
        self.assertEqual(out.split(), ["200", str(BIG)], "the download broke")
        out, _ = loop.communicate(timeout=90)
        ok, failed, conns = (int(x) for x in out.split()[-3:])
        self.assertEqual((failed, conns), (0, 1), out)
        self.assertGreater(ok, 50, out)
        print(f"restart: {gap:.2f} s from SIGTERM to forwarding again; {kept.group(1)} "
              f"connections kept; the download whole; {ok} keep-alive requests, none failed",
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
