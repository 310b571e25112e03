#!/usr/bin/python3
"""The control plane under attack (issue 23): how long `fastvsadm -L -n` and `-A` take against a
fastvsd with a large table, quiet and while hostile clients hold its sockets:

- on /metrics: NONREADERS clients that ask for the (~100 MB) body and never read it,
  SLOWLORIS clients that send a byte of a request every second, IDLE clients that connect and
  say nothing;
- on the CLI socket: SLOWLORIS and IDLE clients the same way.

Every client the server closes is opened again at once, so the pressure holds for the whole
measurement. Each build given (--build, and --baseline for the one before a change) runs in turn,
round after round (side by side, on the same machine state); the figures are the medians of each
build's rounds, and fastvsd's resident memory at its peak under attack.

    bench/control/attack.py --build build [--baseline OLD/build] [--dests 80000] [--rounds 3]
        [--ops 10] [--json bench/results/control.json]

A benchmark, not a test: tests/process/test_control_attack.py asserts the same behaviour with
margins that a loaded machine cannot trip."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "process"))
from fvtest import Fastvsd, wait_for  # noqa: E402
from hostile import Attack, rss_kb, table  # noqa: E402

NONREADERS = 16
SLOWLORIS = 64
IDLE = 1000


def timed(cmd, env):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    took = time.monotonic() - t0
    if r.returncode != 0:
        return None, r.stderr.strip()
    return took, r.stdout


def measure(adm, sock, ops, tag):
    """`ops` times each: -L -n, then -A and -D of a service; returns the latencies (ms)."""
    env = dict(os.environ, FASTVS_SOCKET=sock)
    out = {"list": [], "add": [], "errors": []}
    for i in range(ops):
        took, text = timed([adm, "-L", "-n"], env)
        if took is None:
            out["errors"].append(f"-L -n: {text}")
        else:
            out["list"].append(took * 1000)
        vip = f"192.0.2.{i % 250 + 1}:{1000 + i}"
        took, text = timed([adm, "-A", "-t", vip, "-s", "rr"], env)
        if took is None:
            out["errors"].append(f"-A: {text}")
        else:
            out["add"].append(took * 1000)
        timed([adm, "-D", "-t", vip], env)
    return out


def one_round(build, dests, ops, workdir):
    fastvsd = os.path.join(build, "fastvsd")
    adm = os.path.join(build, "fastvsadm")
    sock = os.path.join(workdir, "fastvsd.sock")
    os.environ["FASTVSD"] = fastvsd
    d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "2048", "--no-shconf", "--vdev", "net_ring0",
                 "--vdev", "net_ring1"],
                ["--socket", sock, "--conn-capacity", "4096", "--idle-sleep-us", "500",
                 "--metrics-listen", "127.0.0.1:0"], workdir, "fvsattack",
                stats_interval_ms=1000)
    try:
        d.wait_started(60)
        wait_for(lambda: os.path.exists(sock), 20, "the CLI socket")
        line = wait_for(lambda: [ln for ln in d.output().splitlines()
                                 if "Prometheus metrics on http://" in ln], 20, "the endpoint")
        host, port = line[0].split("http://")[1].split("/")[0].rsplit(":", 1)
        env = dict(os.environ, FASTVS_SOCKET=sock)
        subprocess.run([adm, "ip", "addr", "add", "10.255.255.254/8", "dev", "dpdk1"], env=env,
                       check=True, timeout=60)
        r = subprocess.run([adm, "-R"], input=table(dests), capture_output=True, text=True,
                           timeout=600, env=dict(os.environ, FASTVS_SOCKET=sock))
        assert r.returncode == 0, r.stderr
        quiet = measure(adm, sock, ops, "quiet")
        rss_quiet = rss_kb(d.proc.pid)
        attack = Attack((host, int(port)), sock, NONREADERS, SLOWLORIS, IDLE)
        attack.start()
        time.sleep(3)  # the clients connected and the scrapes started: a benchmark's settling
        peak = rss_kb(d.proc.pid)
        hostile = measure(adm, sock, ops, "attack")
        peak = max(peak, rss_kb(d.proc.pid))
        attack.stop()
        return {"quiet": quiet, "attack": hostile, "rss_quiet_mb": rss_quiet / 1024,
                "rss_peak_mb": peak / 1024,
                "reopened": attack.reopened}
    finally:
        d.stop(60)
        d.close()


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--baseline")
    ap.add_argument("--dests", type=int, default=80000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ops", type=int, default=10)
    ap.add_argument("--json")
    a = ap.parse_args()
    builds = {"after": os.path.abspath(a.build)}
    if a.baseline:
        builds = {"before": os.path.abspath(a.baseline), **builds}
    results = {name: [] for name in builds}
    for rnd in range(a.rounds):
        for name, build in builds.items():
            workdir = tempfile.mkdtemp(prefix="fvs-attack-")
            try:
                r = one_round(build, a.dests, a.ops, workdir)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            results[name].append(r)
            print(f"round {rnd + 1} {name}: -L quiet {med(r['quiet']['list']):.0f} ms, attack "
                  f"{med(r['attack']['list']):.0f} ms; -A quiet {med(r['quiet']['add']):.0f} ms, "
                  f"attack {med(r['attack']['add']):.0f} ms; RSS {r['rss_peak_mb']:.0f} MB; "
                  f"errors {len(r['attack']['errors'])}", file=sys.stderr)
    summary = {}
    for name, rs in results.items():
        s = {}
        for phase in ("quiet", "attack"):
            for op in ("list", "add"):
                xs = [med(r[phase][op]) for r in rs]
                worst = [max(r[phase][op]) if r[phase][op] else float("nan") for r in rs]
                s[f"{op}_{phase}_ms_median"] = med(xs)
                s[f"{op}_{phase}_ms_worst"] = max(worst)
        s["errors_under_attack"] = sum(len(r["attack"]["errors"]) for r in rs)
        s["rss_quiet_mb_median"] = med([r["rss_quiet_mb"] for r in rs])
        s["rss_peak_mb_median"] = med([r["rss_peak_mb"] for r in rs])
        summary[name] = s
    print(json.dumps(summary, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d"),
                       "command": " ".join(sys.argv),
                       "setup": f"{a.dests} destinations; {NONREADERS} non-reading scrapers, "
                                f"{SLOWLORIS} slowloris and {IDLE} idle clients on /metrics, "
                                f"{SLOWLORIS} slowloris and {IDLE} idle on the CLI socket",
                       "summary": summary, "rounds": results}, f, indent=1)


if __name__ == "__main__":
    main()
