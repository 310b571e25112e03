"""The classic LVS topologies rebuilt in network namespaces, with real servers.

Everything it makes is named fvs-*, so a run that crashed is cleaned up by the next one
(cleanup() at the start and at the end). Traffic stays inside these namespaces.

two-arm NAT:   client ns (172.16.254.10/24) -- veth -- [fvs-c] dpdk0  fastvsd  dpdk1 [fvs-r]
                 -- veth -- switch ns (bridge) -- rs1 ns (192.168.0.18), rs2 ns (192.168.0.28)
               fastvsd runs in the director's namespace (fvs-dir), which holds fvs-c and fvs-r and
               the kernel path's interfaces (dpdk0, dpdk1): the director host's own stack.
one-arm NAT:   client, rs1 and rs2 on one switch; fastvsd's only port [fvs-r] on it too.
DR, TUN:       the same LAN; the real servers hold the VIP (DR: on lo; TUN: behind an IPIP
               decapsulator) with arp_ignore/arp_announce, and answer the client directly.
nat6, dr6:     nat and dr as they are, dual-stack: the client, rs1 and rs2 also get IPv6 (the
               documentation prefix: VIP6 and CIP6 in 2001:db8::/64, DIP6 and the real servers
               in 2001:db8:1::/64), their HTTP servers listen on both families; the director's
               namespace stays IPv4-only (its ports' IPv6 addresses are fastvsd's own).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

PREFIX = "fvs-"
DIRECTOR_NS = "fvs-dir"
VIP = "172.16.254.200"
DIP = "192.168.0.8"
GATEWAY = "192.168.0.254"  # an HA NAT pair's floating gateway (keepalived's, on the master)
CIP = "172.16.254.10"
RS = {"rs1": "192.168.0.18", "rs2": "192.168.0.28"}
PAGES = {"rs1": "rs1rs1", "rs2": "rs2rs2"}  # as in the seeds
# nat6 and dr6 (RFC 3849's documentation prefix): the client's side and the real servers'.
VIP6 = "2001:db8::1"
CIP6 = "2001:db8::2"
DIP6 = "2001:db8:1::1"
RS6 = {"rs1": "2001:db8:1::18", "rs2": "2001:db8:1::28"}
KINDS = ("nat", "nat1", "dr", "tun", "nat6", "dr6")


def sh(cmd, check=True, capture=False, timeout=30):
    r = subprocess.run(cmd, shell=True, check=False, timeout=timeout,
                       stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"`{cmd}` failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout if capture else r.returncode


def ns(name, cmd, **kw):
    return sh(f"ip netns exec {PREFIX}{name} {cmd}", **kw)


def require_root():
    if os.geteuid() != 0:
        raise RuntimeError("end-to-end tests need root (network namespaces, veth, XDP)")


def cleanup():
    """Removes every namespace and root-side interface a run may have left behind."""
    for pidfile in [p for p in os.listdir("/run") if p.startswith("fvs-") and p.endswith(".pid")]:
        try:
            with open(f"/run/{pidfile}") as f:
                os.kill(int(f.read().strip()), 9)
        except (OSError, ValueError):
            pass
        os.unlink(f"/run/{pidfile}")
    out = sh("ip netns list", capture=True, check=False)
    for line in out.splitlines():
        name = line.split()[0]
        if name.startswith(PREFIX):
            sh(f"ip netns pids {name} | xargs -r kill -9", check=False)
            sh(f"ip netns del {name}", check=False)
    for ifname in ("fvs-c", "fvs-r"):
        sh(f"ip link set dev {ifname} xdp off", check=False)
        sh(f"ip link del {ifname}", check=False)
    # A killed run's working directory (its fastvsd's files, logs): nobody else uses one, as
    # only one topology runs at a time (its namespaces were just removed).
    tmp = tempfile.gettempdir()
    for d in os.listdir(tmp):
        if d.startswith("fvs-lab-"):
            shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)


def _quiet_if(prefix_cmd, ifname):
    # No IPv6 (no router solicitations or DAD on the wire), checksums computed in software:
    # a veth would otherwise leave them to an offload that never happens past DPDK.
    sh(f"{prefix_cmd} sysctl -qw net.ipv6.conf.{ifname}.disable_ipv6=1", check=False)
    sh(f"{prefix_cmd} ethtool -K {ifname} tx off rx off", check=False)


def _host_keeps_off(prefix_cmd, ifname):
    # The director host's stack talks through the kernel path (dpdk0, dpdk1), never through the
    # ports' own interfaces. With af_packet the host sees every frame fastvsd sees: it must not
    # answer them itself (a RST from the host for the VIP, ARP replies for its addresses).
    sh(f"{prefix_cmd} iptables -t raw -A PREROUTING -i {ifname} -j DROP")
    sh(f"{prefix_cmd} sysctl -qw net.ipv4.conf.{ifname}.arp_ignore=8")


def _host(name, ifname, addrs, gw=None):
    sh(f"ip netns add {PREFIX}{name}")
    p = f"ip netns exec {PREFIX}{name}"
    sh(f"{p} sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
    sh(f"{p} sysctl -qw net.ipv6.conf.default.disable_ipv6=1")  # interfaces made later too
    sh(f"{p} ip link set lo up")
    return p


class Topology:
    """Builds a topology; .start_servers() runs an HTTP and a UDP server on each real server."""

    def __init__(self, kind="nat", directors=1):
        """directors=2: a second director, its namespace fvs-dir2, as the backup of an HA pair:
        on the same switch (nat1, dr, tun), or (nat) on a public switch with the client (br1)
        and the real servers' (br0), the real servers' gateway then the floating GATEWAY."""
        require_root()
        if kind not in KINDS:
            raise ValueError(f"unknown topology {kind!r} (one of {', '.join(KINDS)})")
        self.kind = kind
        # nat6 and dr6 are nat and dr with IPv6 added (_add_ipv6).
        self.ipv6 = kind.endswith("6")
        self.base = kind[:-1] if self.ipv6 else kind
        self.directors = [DIRECTOR_NS] + [f"{DIRECTOR_NS}{i}" for i in range(2, directors + 1)]
        self.procs = []
        cleanup()
        self.dir = tempfile.mkdtemp(prefix="fvs-lab-")
        try:
            self._build()
        except Exception:
            self.destroy()
            raise

    def _build(self):
        sh(f"ip netns add {PREFIX}sw")
        sw = f"ip netns exec {PREFIX}sw"
        sh(f"{sw} sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
        sh(f"{sw} ip link add br0 type bridge")
        sh(f"{sw} ip link set br0 up")

        ha_nat = self.base == "nat" and len(self.directors) > 1
        if ha_nat:
            sh(f"{sw} ip link add br1 type bridge")
            sh(f"{sw} ip link set br1 up")
        self.gateway = GATEWAY if ha_nat else DIP

        def to_switch(host_ns, port, bridge="br0"):
            sh(f"ip link add {PREFIX}{port} type veth peer name eth0 netns {PREFIX}{host_ns}")
            sh(f"ip link set {PREFIX}{port} netns {PREFIX}sw")
            sh(f"{sw} ip link set {PREFIX}{port} master {bridge} up")

        for name, ip in RS.items():
            p = _host(name, "eth0", [ip])
            to_switch(name, name)
            sh(f"{p} ip addr add {ip}/24 dev eth0")
            sh(f"{p} ip link set eth0 up")
            _quiet_if(p, "eth0")
            if self.base in ("nat", "nat1"):
                # LVS-NAT: the real servers' default gateway is the DIP (of an HA pair: the
                # floating gateway, the master's).
                sh(f"{p} ip route add default via {self.gateway}")
                continue
            # LVS-DR and LVS-TUN: the real server holds the VIP itself and answers the client
            # directly (on the same LAN here), but must not answer ARP for the VIP
            # (arp_ignore=1, arp_announce=2, as the LVS HOWTO configures real servers).
            sh(f"{p} ip route add 172.16.254.0/24 dev eth0")
            for k, v in (("arp_ignore", 1), ("arp_announce", 2), ("rp_filter", 0)):
                sh(f"{p} sysctl -qw net.ipv4.conf.all.{k}={v}")
                sh(f"{p} sysctl -qw net.ipv4.conf.eth0.{k}={v}")
            if self.base == "dr":
                sh(f"{p} ip addr add {VIP}/32 dev lo")
            else:
                # This kernel has no ipip module: a small userspace decapsulator stands in for
                # tunl0 (raw IPPROTO_IPIP socket in, a TUN device holding the VIP out).
                sh(f"{p} ip tuntap add dev ipip0 mode tun")
                sh(f"{p} ip addr add {VIP}/32 dev ipip0")
                sh(f"{p} ip link set ipip0 up")
                sh(f"{p} sysctl -qw net.ipv4.conf.ipip0.rp_filter=0")
                here = os.path.dirname(os.path.abspath(__file__))
                self.procs.append(subprocess.Popen(
                    f"exec ip netns exec {PREFIX}{name} /usr/bin/python3 {here}/ipip_decap.py ipip0",
                    shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # The director: a namespace of its own (its host stack is the kernel path's), with the
        # RS-side port, a veth end on the switch. It forwards and masquerades what its real
        # servers send elsewhere, as the seeds' director does (ip_forward, MASQUERADE).
        for i, dns in enumerate(self.directors):
            d = _host(dns[len(PREFIX):], "", [])
            sh(f"{d} sysctl -qw net.ipv4.ip_forward=1")
            if self.base in ("nat", "nat1"):
                sh(f"{d} iptables -t nat -A POSTROUTING -s 192.168.0.0/24 -j MASQUERADE")
            peer = f"{PREFIX}d" + (str(i + 1) if i else "")
            sh(f"ip link add fvs-r netns {dns} type veth peer name {peer} netns {PREFIX}sw")
            sh(f"{sw} ip link set {peer} master br0 up")
            _quiet_if(d, "fvs-r")
            _host_keeps_off(d, "fvs-r")
            sh(f"{d} ip link set fvs-r up")
            if ha_nat:
                peer = f"{PREFIX}p" + str(i + 1)
                sh(f"ip link add fvs-c netns {dns} type veth peer name {peer} netns {PREFIX}sw")
                sh(f"{sw} ip link set {peer} master br1 up")
                _quiet_if(d, "fvs-c")
                _host_keeps_off(d, "fvs-c")
                sh(f"{d} ip link set fvs-c up")
        d = f"ip netns exec {DIRECTOR_NS}"
        p = _host("client", "eth0", [CIP])
        if self.base in ("nat1", "dr", "tun"):
            to_switch("client", "cl")
            self.ports = ["fvs-r"]
        elif ha_nat:
            to_switch("client", "cl", "br1")
            self.ports = ["fvs-c", "fvs-r"]
        else:
            sh(f"ip link add fvs-c netns {DIRECTOR_NS} type veth peer name eth0 "
               f"netns {PREFIX}client")
            _quiet_if(d, "fvs-c")
            _host_keeps_off(d, "fvs-c")
            sh(f"{d} ip link set fvs-c up")
            self.ports = ["fvs-c", "fvs-r"]
        sh(f"{p} ip addr add {CIP}/24 dev eth0")
        sh(f"{p} ip link set eth0 up")
        _quiet_if(p, "eth0")
        # More client addresses, to spread clients over workers.
        for i in range(11, 27):
            sh(f"{p} ip addr add 172.16.254.{i}/24 dev eth0")
        if self.ipv6:
            self._add_ipv6()

    def _add_ipv6(self):
        """IPv6 on the client's and the real servers' eth0 (and lo), as their IPv4 is set up.
        _host turned IPv6 off in each namespace; it is turned on per interface, the director's
        namespace left as it is. No duplicate address detection (accept_dad=0 before IPv6 is on,
        and nodad): a tentative address would not be usable for a second, and nothing else
        holds these addresses. No router solicitations: there is no router to answer them."""
        def enable(p, ifname):
            for k, v in (("accept_dad", 0), ("router_solicitations", 0), ("disable_ipv6", 0)):
                sh(f"{p} sysctl -qw net.ipv6.conf.{ifname}.{k}={v}")

        for name, ip in RS6.items():
            p = f"ip netns exec {PREFIX}{name}"
            enable(p, "lo")
            enable(p, "eth0")
            sh(f"{p} ip -6 addr add {ip}/64 dev eth0 nodad")
            if self.base == "nat":
                sh(f"{p} ip -6 route add default via {DIP6} dev eth0")
                continue
            # LVS-DR over IPv6: the VIP on lo, and nothing in place of arp_ignore: IPv6 needs
            # none. ndisc_recv_ns answers a solicitation only for a target held by the interface
            # it came in on (ipv6_get_ifaddr(net, target, dev, 1): strict), or by proxy_ndp
            # (off here), so a VIP on lo is never advertised on eth0, while a packet for it sent
            # to eth0's MAC is accepted (checked in namespaces: the client's solicitation for a
            # VIP on a server's lo went unanswered, its ping to that MAC was answered). lo does
            # no DAD (accept_dad -1). The client's network is on the link, as in dr.
            sh(f"{p} ip -6 route add 2001:db8::/64 dev eth0")
            sh(f"{p} ip -6 addr add {VIP6}/128 dev lo")
        p = f"ip netns exec {PREFIX}client"
        enable(p, "lo")
        enable(p, "eth0")
        sh(f"{p} ip -6 addr add {CIP6}/64 dev eth0 nodad")

    def clients(self, n):
        return [CIP] + [f"172.16.254.{i}" for i in range(11, 11 + n - 1)]

    def start_servers(self):
        self.http = {}
        self.udp = {}
        for name in RS:
            self.start_udp(name)
            # Dual-stack on nat6 and dr6 (http.server's "::" clears IPV6_V6ONLY).
            self.start_http(name, wait=False, bind="::" if self.ipv6 else "0.0.0.0")
        for name in RS:
            self.wait_http(name)

    def start_udp(self, name):
        """The UDP echo server of real server `name` on port 5353 (udp_echo.py)."""
        here = os.path.dirname(os.path.abspath(__file__))
        p = subprocess.Popen(
            f"exec ip netns exec {PREFIX}{name} /usr/bin/python3 {here}/udp_echo.py 5353 {name}",
            shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        self.udp[name] = p

    def stop_udp(self, name):
        p = self.udp.pop(name)
        p.kill()
        p.wait()

    def start_http(self, name, port=80, page=None, wait=True, bind="0.0.0.0"):
        """An HTTP server in real server `name` serving `page` (default: the seeds' page), on
        `bind` (an IPv4 or IPv6 address; wait=True needs it to answer on 127.0.0.1). Its request
        log (one line per request, the client's address first) is http_log(name, port)."""
        root = os.path.join(self.dir, f"{name}-{port}")
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write(page if page is not None else PAGES[name])
        with open(self._http_log_path(name, port), "w") as log:
            p = subprocess.Popen(
                f"exec ip netns exec {PREFIX}{name} /usr/bin/python3 -m http.server {port} "
                f"--bind {bind} --directory {root}", shell=True,
                stdout=subprocess.DEVNULL, stderr=log)
        self.procs.append(p)
        self.http[(name, port)] = p
        if wait:
            self.wait_http(name, port)

    def wait_http(self, name, port=80):
        # Ready when it answers on its own loopback.
        deadline = time.monotonic() + 20
        while ns(name, f"curl -s -o /dev/null --max-time 1 http://127.0.0.1:{port}/", check=False):
            if time.monotonic() > deadline:
                raise RuntimeError(f"HTTP server in {name} did not start")
            time.sleep(0.05)

    def _http_log_path(self, name, port):
        return os.path.join(self.dir, f"{name}-{port}.log")

    def http_log(self, name, port=80):
        """What the HTTP server of `name` logged so far (http.server writes each request's line
        to stderr as it answers: `2001:db8::2 - - [date] "GET / HTTP/1.1" 200 -`)."""
        with open(self._http_log_path(name, port)) as f:
            return f.read()

    def stop_http(self, name, port=80):
        p = self.http.pop((name, port))
        p.kill()
        p.wait()

    def destroy(self):
        for p in self.procs:
            p.kill()
            p.wait()
        self.procs = []
        cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


def vdev_args(ports, driver):
    """EAL --vdev arguments for the root-side veth ends, in port order (dpdk0, dpdk1...)."""
    args = []
    for i, ifname in enumerate(ports):
        if driver == "af_xdp":
            args += ["--vdev", f"net_af_xdp{i},iface={ifname},start_queue=0,queue_count=1"]
        else:
            args += ["--vdev", f"net_af_packet{i},iface={ifname},qpairs=1"]
    return args


def curl(client_ip, url, timeout=3):
    """curl in the client namespace from client_ip; an IPv6 client_ip asks for IPv6 (-6) and a
    bracketed URL taken literally (-g: no globbing of [2001:db8::1])."""
    family = "-6 -g " if ":" in client_ip else ""
    return ns("client", f"curl -s {family}--max-time {timeout} --interface {client_ip} {url}",
              capture=True, check=False, timeout=timeout + 5)
