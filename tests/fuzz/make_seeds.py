#!/usr/bin/python3
"""Seed corpora for the fuzzers: packets shaped like the packet fixtures' (NAT request and reply,
ICMP errors, ARP, echo, DR/TUN services), the README's configuration, CLI requests, keepalived.conf
files."""
import os
import sys

from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, IPOption_Router_Alert, Raw, fragment  # Debian's python3-scapy
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoRequest, ICMPv6MLReport2, ICMPv6ND_NS,
                                ICMPv6NDOptSrcLLAddr, ICMPv6PacketTooBig, ICMPv6TimeExceeded,
                                IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                IPv6ExtHdrRouting, fragment6)

out = sys.argv[1]
P0, P1 = "02:00:00:00:00:00", "02:00:00:00:00:01"
CIP, VIP, RS1, RS2 = "172.16.254.10", "172.16.254.200", "192.168.0.18", "192.168.0.28"


def put(kind, name, data):
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


frames = {
    "syn": (0, Ether(dst=P0) / IP(src=CIP, dst=VIP) / TCP(sport=40000, dport=80, flags="S")),
    "synack": (1, Ether(dst=P1) / IP(src=RS2, dst=CIP) / TCP(sport=80, dport=40000, flags="SA")),
    "udp": (0, Ether(dst=P0) / IP(src=CIP, dst=VIP) / UDP(sport=5000, dport=53) / Raw(b"q")),
    "tcp443": (0, Ether(dst=P0) / IP(src=CIP, dst=VIP) / TCP(sport=40001, dport=443, flags="S")),
    "icmperr": (0, Ether(dst=P0) / IP(src=CIP, dst=VIP) / ICMP(type=3, code=4) /
                IP(src=VIP, dst=CIP) / TCP(sport=80, dport=40000)),
    "icmperr_rs": (1, Ether(dst=P1) / IP(src="192.168.0.1", dst=CIP) / ICMP(type=3, code=3) /
                   IP(src=CIP, dst=RS2) / UDP(sport=5000, dport=53)),
    "echo": (0, Ether(dst=P0) / IP(src=CIP, dst=VIP) / ICMP(type=8) / Raw(b"ping")),
    "arp": (0, Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, psrc=CIP, pdst=VIP)),
    "port0": (0, Ether(dst=P0) / IP(src=CIP, dst="172.16.254.201") /
              TCP(sport=40003, dport=22, flags="S")),
    "persist_masked": (0, Ether(dst=P0) / IP(src="172.16.9.9", dst=VIP) /
                       UDP(sport=7, dport=5000) / Raw(b"p")),
    "ttl1": (0, Ether(dst=P0) / IP(src=CIP, dst=VIP, ttl=1) / TCP(sport=40002, dport=80, flags="S")),
}
# Fragments (first and later, a NAT request and reply, a DR/TUN service) and IP options.
big_udp = Ether(dst=P0) / IP(src=CIP, dst=VIP, id=7) / UDP(sport=5001, dport=53) / Raw(b"f" * 300)
big_reply = Ether(dst=P1) / IP(src=RS2, dst=CIP, id=8) / TCP(sport=80, dport=40000, flags="PA") / \
    Raw(b"r" * 300)
big_tun = Ether(dst=P0) / IP(src=CIP, dst=VIP, id=9) / TCP(sport=40001, dport=443, flags="PA") / \
    Raw(b"t" * 300)
for name, (port, f) in (("frag_udp", (0, big_udp)), ("frag_reply", (1, big_reply)),
                        ("frag_tun", (0, big_tun))):
    for i, part in enumerate(fragment(f, fragsize=128)):
        frames[f"{name}{i}"] = (port, part)
frames["ipopts"] = (0, Ether(dst=P0) / IP(src=CIP, dst=VIP, options=[IPOption_Router_Alert()]) /
                    TCP(sport=40004, dport=80, flags="S"))
# IPv6: extension header chains, fragments, ICMPv6 (echo, neighbour discovery, MLD, errors).
C6, V6, R6 = "2001:db8:fe::10", "2001:db8:fe::200", "2001:db8:1::18"
frames.update({
    "syn6": (0, Ether(dst=P0) / IPv6(src=C6, dst=V6) / TCP(sport=40000, dport=80, flags="S")),
    "udp6": (0, Ether(dst=P0) / IPv6(src=C6, dst=V6) / UDP(sport=5000, dport=53) / Raw(b"q")),
    "chain6": (0, Ether(dst=P0) / IPv6(src=C6, dst=V6) / IPv6ExtHdrHopByHop() /
               IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting() / TCP(sport=40001, dport=80, flags="S")),
    "echo6": (0, Ether(dst=P0) / IPv6(src=C6, dst=V6) / ICMPv6EchoRequest(id=7, data=b"ping")),
    "ns6": (0, Ether(dst="33:33:ff:00:02:00") / IPv6(src=C6, dst="ff02::1:ff00:200", hlim=255) /
            ICMPv6ND_NS(tgt=V6) / ICMPv6NDOptSrcLLAddr(lladdr="c0:00:00:00:00:0a")),
    "mld6": (0, Ether(dst="33:33:00:00:00:16") / IPv6(src="fe80::1", dst="ff02::16", hlim=1) /
             IPv6ExtHdrHopByHop() / ICMPv6MLReport2()),
    "ptb6": (1, Ether(dst=P1) / IPv6(src="2001:db8:1::1", dst=C6) / ICMPv6PacketTooBig(mtu=1280) /
             IPv6(src=C6, dst=R6) / TCP(sport=40000, dport=80, flags="A")),
    "te6": (0, Ether(dst=P0) / IPv6(src="2001:db8:fe::1", dst=V6) / ICMPv6TimeExceeded() /
            IPv6(src=V6, dst=C6) / IPv6ExtHdrDestOpt() / UDP(sport=53, dport=5000)),
    # IPv6 services (fuzz_pipeline.cpp's): a NAT66 reply, persistence, the tunnels between the
    # families, a hop limit that runs out, an error from the real server's side.
    "synack6": (1, Ether(dst=P1) / IPv6(src="2001:db8:1::28", dst=C6) /
                TCP(sport=8080, dport=40000, flags="SA")),
    "persist6": (0, Ether(dst=P0) / IPv6(src=C6, dst=V6) / UDP(sport=7, dport=5000) / Raw(b"p")),
    "tun46": (0, Ether(dst=P0) / IP(src=CIP, dst=VIP) / TCP(sport=40005, dport=7000, flags="S")),
    "hlim1": (0, Ether(dst=P0) / IPv6(src=C6, dst=V6, hlim=1) / TCP(sport=40006, dport=80, flags="S")),
    "unreach6": (1, Ether(dst=P1) / IPv6(src="2001:db8:1::28", dst=C6) / ICMPv6DestUnreach(code=4) /
                 IPv6(src=C6, dst="2001:db8:1::28") / TCP(sport=40000, dport=8080, flags="A")),
})
big6 = IPv6(src=C6, dst=V6) / IPv6ExtHdrFragment(id=5) / UDP(sport=5002, dport=53) / Raw(b"6" * 300)
for i, part in enumerate(fragment6(big6, 160)):
    frames[f"frag6_{i}"] = (0, Ether(dst=P0) / part)
for name, (port, f) in frames.items():
    raw = bytes(f)
    put("parse", name, raw)
    put("pipeline", name, bytes([port]) + raw)

# Bursts for the pipeline (fuzz_pipeline.cpp's separator between packets): one flow's packets
# meeting in one burst, where the burst-wide lookup and the look-ahead must agree.
SEP = b"\xfbFVS"
ack = Ether(dst=P0) / IP(src=CIP, dst=VIP) / TCP(sport=40000, dport=80, flags="A") / Raw(b"d")
rst = Ether(dst=P0) / IP(src=CIP, dst=VIP) / TCP(sport=40000, dport=80, flags="R")
bursts = {
    "burst_syn_twice": [frames["syn"][1], frames["syn"][1]],
    "burst_syn_ack": [frames["syn"][1], ack, ack],
    "burst_syn_rst_syn": [frames["syn"][1], rst, frames["syn"][1]],
    "burst_udp_twice": [frames["udp"][1], frames["udp"][1], frames["persist_masked"][1]],
    "burst_mixed": [frames[k][1] for k in ("syn", "tcp443", "port0", "echo", "arp", "udp")],
    "burst_frags": [frames[k][1] for k in frames if k.startswith("frag_udp")],
    "burst_frags_reversed": [frames[k][1] for k in reversed(list(frames)) if k.startswith("frag_tun")],
    "burst_reply": [frames["synack"][1], frames["synack"][1]],
}
for name, pkts in bursts.items():
    port = 1 if name == "burst_reply" else 0
    put("pipeline", name, SEP.join(bytes([port if i == 0 else 0]) + bytes(p) for i, p in enumerate(pkts)))

config = f"""ip addr add {VIP}/24 dev dpdk0
ip addr add 192.168.0.8/24 dev dpdk1
ip route add default via 172.16.254.1 dev dpdk0
ip neigh add 172.16.254.1 lladdr 02:00:00:00:00:09 dev dpdk0
-A -t {VIP}:80 -s wrr
-a -t {VIP}:80 -r {RS1}:80 -m -w 1
-a -t {VIP}:80 -r {RS2}:80 -m -w 3 -x 10 -y 5
-A -u {VIP}:53 -s sh -b sh-fallback,sh-port
-a -u {VIP}:53 -r {RS1} -g
-e -t {VIP}:80 -r {RS1}:80 -w 0
-d -t {VIP}:80 -r {RS1}:80
-D -u {VIP}:53
-A -t {VIP}:0 -s rr -p 600 -M 255.255.255.0
-a -t {VIP}:0 -r {RS2} -m
-E -t {VIP}:0 -s wrr -p
--set 0 60 0
-C
"""
put("command", "readme", config.encode())
# A table as -S writes it and -R reads it (no -C at the end): runs of -a for one service, which
# the loader puts in place at once, in the order one line at a time would leave.
restore = f"""ip addr add {VIP}/24 dev dpdk0
ip addr add 192.168.0.8/24 dev dpdk1
-A -t {VIP}:80 -s wrr
-a -t {VIP}:80 -r 192.168.0.18:80 -m -w 1
-a -t {VIP}:80 -r 192.168.0.28:80 -m -w 3
-a -t {VIP}:80 -r 192.168.0.38:80 -m -w 2
-A -u {VIP}:53 -s rr
-a -u {VIP}:53 -r 192.168.0.18:53 -m -w 1
-a -u {VIP}:53 -r 192.168.0.28:53 -m -w 1
-a -t {VIP}:80 -r 192.168.0.48:80 -m -w 1
ipvsadm -e -t {VIP}:80 -r 192.168.0.28:80 -m -w 0
"""
put("command", "restore", restore.encode())
# IPv6 as ipvsadm and iproute2 write it (parsed, then refused by apply until the data plane
# forwards IPv6), and mixed with IPv4.
ipv6 = f"""ip addr add {VIP}/24 dev dpdk0
ip -6 addr add 2001:db8::200/64 dev dpdk0
ip -6 route add default via fe80::1 dev dpdk0
ip neigh add fe80::1 lladdr 02:00:00:00:00:09 dev dpdk0
-A -t [2001:db8::1]:80 -s wrr -p 300 -M 64
-a -t [2001:db8::1]:80 -r [2001:db8:1::10]:8080 -m -w 1
-a -t [2001:db8::1]:80 -r 2001:db8:1::20 -g
-a -t {VIP}:80 -r 2001:db8:1::30 -i
-A -u ::ffff:10.0.0.1 -p
--check pool -t [2001:db8::1]:80 sorry=[2001:db8:1::99]:80
"""
put("command", "ipv6", ipv6.encode())
# The Red Hat guide's multi-port service: mark rules and a firewall-mark service.
fwmark = f"""ip addr add {VIP}/24 dev dpdk0
ip addr add 192.168.0.8/24 dev dpdk1
iptables -t mangle -A PREROUTING -p tcp -d {VIP}/32 -m multiport --dports 80,443 -j MARK --set-mark 80
iptables -t mangle -I PREROUTING 1 -s 10.0.0.0/8 -p udp --sport 1024: -j MARK --set-xmark 0x50/0xffffffff
ip6tables -t mangle -A PREROUTING -p tcp --dport 443 -j MARK --set-mark 6
-A -f 80 -s rr -p 600
-a -f 80 -r {RS1} -m
-a -f 80 -r {RS2}:8080 -m -w 2
-A -f 6 -6 -s wlc
-a -f 6 -6 -r 2001:db8:1::10 -g
iptables -t mangle -D PREROUTING 1
"""
put("command", "fwmark", fwmark.encode())

# Command files drawn from ipvsadm's grammar (every command and option, good and bad values
# mixed): libFuzzer's byte mutations rarely build a whole valid line, and the combinations
# that break an invariant (-s sh -b flag-3 once lost its flag through -S and -R) take several.
# Seeded: the same files every run.
def generated_commands(n, seed):
    import random
    rnd = random.Random(seed)
    vips = ["172.16.254.200", "172.16.254.201", "[2001:db8::1]", "10.0.0.1"]
    rips = ["192.168.0.18", "192.168.0.28", "[2001:db8:1::10]", "10.9.9.9"]
    ports = ["80", "0", "53", "443", "http", "65535"]
    scheds = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf",
              "mh", "twos", "bogus"]
    flags = ["sh-port", "sh-fallback", "mh-port", "mh-fallback", "flag-1", "flag-2", "flag-3",
             "sh-port,sh-fallback"]

    def svc():
        if rnd.random() < .2:  # a firewall-mark service
            return ("-f " + rnd.choice(["1", "80", "4294967295", "0"]) +
                    rnd.choice(["", "", " -6"]))
        return (rnd.choice(["-t", "-u", "--tcp-service", "--udp-service"]) + " " +
                rnd.choice(vips) + ":" + rnd.choice(ports))

    def mark_rule():
        parts = [rnd.choice(["-p tcp", "-p udp", "-p all", ""]),
                 rnd.choice(["", "-d 172.16.254.200/32", "-s 10.0.0.0/8", "-i dpdk1"]),
                 rnd.choice(["", "--dport 80", "--sport 1024:", "-m multiport --dports 80,443",
                             "-m tcp"]),
                 "-j MARK --set-mark " + rnd.choice(["80", "0x1", "0", "1/0xffffffff"])]
        return " ".join(p for p in parts if p)

    def some(options):
        picked = [o() for p, o in options if rnd.random() < p]
        rnd.shuffle(picked)
        return " ".join(picked)
    svc_opts = [(.6, lambda: "-s " + rnd.choice(scheds)),
                (.4, lambda: "-p" + rnd.choice(["", " 1", " 300", " 0", " 4294967295"])),
                (.2, lambda: "-M " + rnd.choice(["255.255.255.0", "24", "64", "0", "128"])),
                (.4, lambda: rnd.choice(["-o", "--ops"])),
                (.3, lambda: "-b " + rnd.choice(flags))]
    dest_opts = [(.7, lambda: rnd.choice(["-g", "-m", "-i", "--masquerading"])),
                 (.7, lambda: "-w " + rnd.choice(["0", "1", "3", "65535", "65536", "-1"])),
                 (.2, lambda: "-x " + rnd.choice(["0", "5", "100"])),
                 (.2, lambda: "-y " + rnd.choice(["0", "5", "100"])),
                 (.1, lambda: "--tun-type ipip")]

    def dest():
        return (svc() + " -r " + rnd.choice(rips) +
                (":" + rnd.choice(ports) if rnd.random() < .6 else ""))

    def line():
        return rnd.choices([
            lambda: "-A " + svc() + " " + some(svc_opts),
            lambda: "-E " + svc() + " " + some(svc_opts),
            lambda: "-D " + svc(),
            lambda: "-a " + dest() + " " + some(dest_opts),
            lambda: "-e " + dest() + " " + some(dest_opts),
            lambda: "-d " + dest(),
            lambda: "-C",
            lambda: "--set " + " ".join(rnd.choice(["0", "1", "900", "120"]) for _ in range(3)),
            lambda: rnd.choice(["--start-daemon master --mcast-interface dpdk0 --syncid 3",
                                "--start-daemon backup --mcast-interface dpdk1",
                                "--stop-daemon master"]),
            lambda: "--check add " + dest() + " " + rnd.choice(
                ["tcp", "http path=/", "misc program=/bin/true", "file file=/tmp/x weight=0"]),
            lambda: "--check pool " + svc() + " quorum=2 sorry=192.168.0.99",
            lambda: rnd.choice(["iptables", "ip6tables"]) + " -t mangle " + rnd.choice(
                ["-A PREROUTING " + mark_rule(), "-I PREROUTING 1 " + mark_rule(),
                 "-D PREROUTING " + mark_rule(), "-D PREROUTING 1", "-F"]),
        ], weights=[25, 15, 5, 25, 10, 3, 2, 2, 2, 4, 2, 5])[0]()
    for i in range(n):
        lines = ["ip addr add 172.16.254.200/24 dev dpdk0", "ip addr add 192.168.0.8/24 dev dpdk1",
                 "ip -6 addr add 2001:db8:1::1/64 dev dpdk1"]
        lines += [line() for _ in range(rnd.randint(3, 20))]
        put("command", f"generated-{i}", "\n".join(lines).encode())


generated_commands(300, 20261207)
keepalived_seed = f"""vrrp_instance VI_1 {{
    state MASTER
    virtual_ipaddress {{
        {VIP}
    }}
}}
virtual_server {VIP} 80 {{
    delay_loop 6
    lb_algo rr
    lb_kind DR
    persistence_timeout 0
    protocol TCP
    real_server {RS1} 80 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 10
            nb_get_retry 3
            delay_before_retry 3
            connect_port 80
        }}
    }}
    real_server {RS2} 80 {{
        weight 1
        TCP_CHECK {{connect_timeout 10
            connect_port 80 }}
    }}
}}
"""
keepalived_full = f"""! every handled keyword
virtual_server {VIP} 443 {{
    delay_loop 2.5
    lvs_sched sh
    sh-port
    lvs_method NAT
    persistence_timeout
    persistence_granularity 255.255.255.0
    protocol TCP
    quorum 2
    hysteresis 1
    alpha
    omega
    inhibit_on_failure
    virtualhost www.example.com
    quorum_up "/bin/true up"
    sorry_server 192.168.0.99 8443
    sorry_server_inhibit
    sorry_server_lvs_method TUN type ipip
    real_server {RS1} 8443 {{
        weight 3
        uthreshold 100
        lthreshold 10
        notify_up /bin/true
        HTTP_GET {{
            url {{ path /health
                   digest 640205b7b0fc66c1ea91c463fac6334d
                   status_code 200-299 404 }}
            url {{ path /b
                   virtualhost b.example.com }}
            connect_ip {RS1}
            bindto 192.168.0.8
            retry 2
        }}
        MISC_CHECK {{
            misc_path "/bin/check 'two words'"
            misc_timeout 3
            misc_dynamic
            user nobody
        }}
    }}
    real_server {RS2} 8443 {{
        inhibit_on_failure off
        TCP_CHECK {{ warmup 0 }}
    }}
}}
"""
put("keepalived", "file_check", b"""track_file rs {
    file /tmp/fastvs-fuzz-rs
    weight -3 reverse
    init_file 2 overwrite
}
virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 10.0.0.2 80 {
        FILE_CHECK {
            track_file rs
            weight 10 noreverse
        }
    }
}
""")
put("keepalived", "seed", keepalived_seed.encode())
put("keepalived", "full", keepalived_full.encode())
put("keepalived", "ipv6", b"""virtual_server 2001:db8::1 80 {
    protocol TCP
    persistence_granularity 64
    sorry_server 2001:db8:1::99 80
    real_server 2001:db8:1::10 8080 {
        TCP_CHECK {
            connect_ip 2001:db8:1::11
            bindto 2001:db8::8
        }
    }
}
""")
put("keepalived", "udp_check", b"""virtual_server 10.0.0.1 53 {
    protocol UDP
    real_server 192.168.0.18 5353 {
        UDP_CHECK {
            connect_timeout 3
            payload 0000 0100 0001 0000 0000 0000 0000 0100 01
            require_reply 0000 8X
            min_reply_length 12
            max_reply_length 512
        }
    }
}
virtual_server 10.0.0.1 25 {
    real_server 192.168.0.18 25 {
        PING_CHECK {
            connect_timeout 1
        }
        SMTP_CHECK {
            helo_name "lb.example.org"
            host {
                connect_ip 192.168.0.19
                connect_port 587
            }
        }
    }
}
""")
cli_requests = {
    "list": b"FVS1 0\n-L\0-n\0\0",
    "conns": b"FVS1 1765000000000\n-L\0-n\0-c\0\0",
    "stats": b"FVS1 0\n-L\0--stats\0--exact\0\0",
    "restore": b"FVS1 1765000000000\n-R\0\0-A -t 1.2.3.4:80 -s rr\n",
}
for name, req in cli_requests.items():
    put("cli", name, req)
    # The framing harnesses take 8 bytes of cut points first.
    put("cli_framing", name, b"\x01\x02\x03\x04\x05\x06\x07\x08" + req)
put("cli", "reply", b"ok\nIP Virtual Server version 1.2.1 (size=4096)\n")
for name, req in {
    "get": b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9469\r\nAccept: text/plain\r\n\r\n",
    "get10": b"GET /metrics?x=1 HTTP/1.0\n\n",
    "absolute": b"GET http://director:9469/metrics HTTP/1.1\r\n\r\n",
    "head": b"HEAD /metrics HTTP/1.1\r\n\r\n",
    "post": b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    "other": b"GET / HTTP/1.1\r\n\r\n",
}.items():
    put("http", name, b"\x09\x08\x07\x06\x05\x04\x03\x02" + req)

# IPVS sync messages: the unit tests' kernel-built fixtures, each after a syncid byte (0: any).
sync_data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "data", "sync")
for name in sorted(os.listdir(sync_data)):
    if name.endswith(".bin"):
        with open(os.path.join(sync_data, name), "rb") as f:
            put("sync", name, b"\x00" + f.read())

# State files (control/state_file.h): one connection of each method and protocol, a template.
# The first byte is the harness's: odd, it puts a right checksum in before reading.
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff


def state_file(conns, tmpls, saved_at_ms=1765000000000):
    import socket
    import struct
    a = socket.inet_aton
    body = b""
    for proto, method, state, flags in conns:
        body += struct.pack("<BBBB", proto, method, state, flags)
        body += a(VIP) + a(CIP) + a(VIP) + a(RS1)
        body += struct.pack("!HHHHH", 80, 8080, 40000, 80, 8080) + b"\0\0"
        body += struct.pack("<II", 900 * 16, 600 * 16)
    for _ in range(tmpls):
        body += struct.pack("<BB", 6, 0) + struct.pack("!H", 80) + a(VIP) + a("172.16.254.0")
        body += a("255.255.255.0") + a(RS1) + struct.pack("!H", 8080) + b"\0\0"
        body += struct.pack("<II", 300 * 16, 100 * 16)
    head = b"FVSSTATE" + struct.pack("<IIIIQQqII", 1, 64, 40, 32, len(conns), tmpls, saved_at_ms,
                                     16, 0)
    return head + struct.pack("<II", crc32c(head + body), 0) + body


state_conns = [(6, 0, 1, 0), (6, 1, 1, 2), (6, 2, 4, 3), (17, 0, 0, 5)]
put("state", "valid", b"\0" + state_file(state_conns, 1))
put("state", "fixcrc", b"\1" + state_file(state_conns, 2))
put("state", "empty", b"\0" + state_file([], 0))


# What the fuzzers once found, kept as seeds so every run replays them (tests/fuzz/regressions/
# HARNESS/NAME; each also has a unit test).
regressions = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions")
for harness in sorted(os.listdir(regressions)) if os.path.isdir(regressions) else []:
    for name in sorted(os.listdir(os.path.join(regressions, harness))):
        with open(os.path.join(regressions, harness, name), "rb") as f:
            put(harness, "regression-" + name, f.read())
