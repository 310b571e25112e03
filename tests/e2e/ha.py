"""High availability in the lab: two directors, each fastvsd and stock keepalived --vrrp on its
kernel path, with the keepalived.conf of the seeds (DR: the LVS tutorial's VI_1; NAT: the Red Hat
guide's pair, a vrrp_sync_group moving the public VIP and the real servers' gateway). Used by the
e2e test (test_ha.py) and by `scripts/lab ha`."""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
import topo  # noqa: E402
from fvtest import Fastvsd, fastvsd_path, wait_for  # noqa: E402

DRIVER = os.environ.get("FASTVS_E2E_DRIVER", "af_packet")
FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
HERE = os.path.dirname(os.path.abspath(__file__))
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
VIP = topo.VIP


A, B = topo.DIRECTOR_NS, topo.DIRECTOR_NS + "2"
DIPS = {A: "192.168.0.8", B: "192.168.0.9"}
PUBLIC = {A: "172.16.254.2", B: "172.16.254.3"}  # NAT: each director's own public address
PRIORITY = {A: 150, B: 100}

# The LVS tutorial's keepalived.conf (DR): VI_1 moves the VIP.
KEEPALIVED_DR = """global_defs {{
    router_id {name}{globals}
}}

vrrp_instance VI_1 {{
    state {state}
    interface dpdk0
    virtual_router_id 51
    priority {priority}
    advert_int {advert}{extra}
    virtual_ipaddress {{
        {vip}/24
    }}
    notify_master "/usr/bin/touch {dir}/master"
    notify_backup "/usr/bin/rm -f {dir}/master"
    notify_fault "/usr/bin/rm -f {dir}/master"
}}
"""

# The Red Hat guide's NAT cluster: the public VIP and the real servers' gateway move together.
KEEPALIVED_NAT = """global_defs {{
    router_id {name}{globals}
}}

vrrp_sync_group VG1 {{
    group {{
        VI_PUBLIC
        VI_PRIVATE
    }}
    notify_master "/usr/bin/touch {dir}/master"
    notify_backup "/usr/bin/rm -f {dir}/master"
    notify_fault "/usr/bin/rm -f {dir}/master"
}}

vrrp_instance VI_PUBLIC {{
    state {state}
    interface dpdk0
    virtual_router_id 51
    priority {priority}
    advert_int {advert}{extra}
    virtual_ipaddress {{
        {vip}/24
    }}
}}

vrrp_instance VI_PRIVATE {{
    state {state}
    interface dpdk1
    virtual_router_id 52
    priority {priority}
    advert_int {advert}{extra}
    virtual_ipaddress {{
        {gateway}/24
    }}
}}
"""

VIRTUAL_SERVER = """
virtual_server {vip} 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind {lb_kind}
    protocol TCP

    real_server 192.168.0.18 80 {{
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server 192.168.0.28 80 {{
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"""


# With connection sync (test_sync.py, `scripts/lab ha --sync`): a keep-alive service on 8080,
# and port 80 persistent, so that a failover has connections and templates to carry.
SYNC_SERVERS = """
virtual_server {vip} 8080 {{
    lb_algo rr
    lb_kind {lb_kind}
    protocol TCP
    real_server 192.168.0.18 8080 {{
    }}
    real_server 192.168.0.28 8080 {{
    }}
}}
"""

# keepalived's lvs_sync_daemon: the sync daemon's role follows the instance's state (MASTER
# sends, BACKUP receives), on the interface that faces the other director. "@fastvsd": for
# fastvsd alone (keepalived's conditional configuration): stock keepalived would hand it to
# kernel IPVS (and 2.2.7 crashes where the kernel has none).
SYNC_GLOBALS = "\n    @fastvsd lvs_sync_daemon {iface} {instance}"


class Director:
    """One director: fastvsd and keepalived --vrrp in namespace `ns`."""

    def __init__(self, lab, ns, kind="dr", advert="1", nopreempt=False, args=(), sync=False):
        """lab: the topo.Topology it runs in. sync: keepalived's lvs_sync_daemon in global_defs,
        port 80 persistent and a second service on 8080."""
        self.ns, self.kind, self.args = ns, kind, list(args)
        self.dir = os.path.join(lab.dir, ns)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "fastvsd.sock")
        self.conf = os.path.join(self.dir, "keepalived.conf")
        self.ports = ["fvs-c", "fvs-r"] if kind == "nat" else ["fvs-r"]
        vrrp = KEEPALIVED_NAT if kind == "nat" else KEEPALIVED_DR
        # Sub-second adverts are VRRPv3's (keepalived refuses them in v2).
        globs = "\n    vrrp_version 3" if advert != "1" else ""
        servers = VIRTUAL_SERVER
        if sync:
            globs += SYNC_GLOBALS.format(iface="dpdk1" if kind == "nat" else "dpdk0",
                                         instance="VI_PRIVATE" if kind == "nat" else "VI_1")
            servers = servers.replace("    protocol TCP\n", "    protocol TCP\n"
                                      "    persistence_timeout 300\n", 1) + SYNC_SERVERS
        with open(self.conf, "w") as f:
            f.write((vrrp + servers).format(
                name=ns, state="MASTER" if PRIORITY[ns] == 150 and not nopreempt else "BACKUP",
                priority=PRIORITY[ns], vip=VIP, gateway=topo.GATEWAY, dir=self.dir,
                lb_kind="NAT" if kind == "nat" else "DR", advert=advert, globals=globs,
                extra="\n    nopreempt" if nopreempt else ""))
        with open(os.path.join(self.dir, "fastvs.conf"), "w") as f:
            if kind == "nat":
                f.write(f"ip addr add {PUBLIC[ns]}/24 dev dpdk0\n"
                        f"ip addr add {DIPS[ns]}/24 dev dpdk1\n")
            else:
                f.write(f"ip addr add {DIPS[ns]}/24 dev dpdk0\n")
        self.fastvsd = None
        self.keepalived = None
        self.ka_log = None
        self.runs = 0

    def start_fastvsd(self):
        if self.fastvsd:  # a killed one's log and EAL runtime directory
            self.fastvsd.stop()
            self.fastvsd.close()
        self.runs += 1
        eal = ["--lcores", "0@0,1@1", "--no-huge", "-m", "512", "--no-shconf"] + \
            topo.vdev_args(self.ports, DRIVER)
        self.fastvsd = Fastvsd(
            eal, ["--socket", self.sock, "--idle-sleep-us", "200",
                  "--config", os.path.join(self.dir, "fastvs.conf"),
                  "--keepalived-conf", self.conf, *self.args],
            self.dir, f"fvha{self.ns[-1]}{self.runs}", netns=self.ns, kernel_path=True)
        self.fastvsd.wait_started()
        wait_for(lambda: os.path.exists(self.sock), 10, f"{self.ns}'s CLI socket")
        wait_for(lambda: "dpdk0" in topo.sh(f"ip -n {self.ns} -br link", capture=True), 10,
                 f"{self.ns}'s dpdk0")

    def start_keepalived(self):
        # notify_master's mark: a keepalived that was killed or stopped ran no notify_backup.
        if os.path.exists(os.path.join(self.dir, "master")):
            os.unlink(os.path.join(self.dir, "master"))
        if self.ka_log:
            self.ka_log.close()
        self.ka_log = open(os.path.join(self.dir, "keepalived.log"), "a+")
        self.keepalived = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, KEEPALIVED, "--vrrp", "--dont-fork",
             "--log-console", "--log-detail", "--no-syslog", "-f", self.conf,
             "-p", os.path.join(self.dir, "keepalived.pid"),
             "-r", os.path.join(self.dir, "vrrp.pid")],
            stdout=self.ka_log, stderr=subprocess.STDOUT)

    def keepalived_output(self):
        self.ka_log.flush()
        with open(self.ka_log.name) as f:
            return f.read()

    def kill_keepalived(self, sig):
        """Every keepalived process of this director (the parent and its VRRP child)."""
        for pidfile in ("vrrp.pid", "keepalived.pid"):
            try:
                with open(os.path.join(self.dir, pidfile)) as f:
                    os.kill(int(f.read().strip()), sig)
            except (OSError, ValueError):
                pass
        if sig == signal.SIGKILL:
            self.keepalived.kill()
        self.keepalived.wait(20)

    def stop(self):
        if self.keepalived and self.keepalived.poll() is None:
            self.kill_keepalived(signal.SIGTERM)
        if self.fastvsd:
            self.fastvsd.stop()
            self.fastvsd.close()
        if self.ka_log:
            self.ka_log.close()

    def adm(self, *args, check=True):
        r = subprocess.run([FASTVSADM, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=20)
        if check and r.returncode != 0:
            raise AssertionError(f"fastvsadm {' '.join(args)} on {self.ns}: {r.stderr}")
        return r.stdout

    def holds_vip(self):
        """The VIP (and, NAT, the gateway) as addresses of the data plane."""
        addrs = self.adm("ip", "addr")
        vip = f"inet {VIP}/24 scope global dpdk0 (added on the host)" in addrs
        if self.kind != "nat":
            return vip
        gw = f"inet {topo.GATEWAY}/24 scope global dpdk1 (added on the host)" in addrs
        return vip and gw

    def holds_none(self):
        addrs = self.adm("ip", "addr")
        return VIP not in addrs and topo.GATEWAY not in addrs

    def is_master(self):
        """keepalived runs and said MASTER (notify_master) since it last said anything else."""
        return (self.keepalived is not None and self.keepalived.poll() is None and
                os.path.exists(os.path.join(self.dir, "master")))

    def mac(self, port=None):
        """The MAC of the port facing the client (or `port`)."""
        port = port or self.ports[0]
        return topo.sh(f"ip -n {self.ns} -br link show {port}", capture=True).split()[2]


class Requests:
    """A request loop from the client to the VIP: each answer or failure with its time."""

    def __init__(self):
        self.results = []  # (monotonic time, answered)
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            ok = topo.curl(topo.CIP, f"http://{VIP}/", timeout=1) in ("rs1rs1", "rs2rs2")
            self.results.append((time.monotonic(), ok))
            if ok:
                time.sleep(0.05)

    def stop(self):
        self.stopping = True
        self.thread.join(10)

    def answered_after(self, t):
        return any(ok for (when, ok) in self.results if when > t)

    def gap(self, t):
        """From t: seconds to the first answer, and the requests that failed before it."""
        failed = 0
        for when, ok in self.results:
            if when <= t:
                continue
            if ok:
                return when - t, failed
            failed += 1
        return None, failed
