// Packet fixtures: IPv6 services. NAT66 both ways (checksums over the IPv6 pseudo-header, a UDP
// datagram without a checksum given one), DR and TUN over IPv6, the hop limit and the ICMPv6
// time exceeded it costs, Packet Too Big for what the tunnel would make too large, ICMPv6 errors
// translated both ways (ip_vs_nat_icmp_v6), later fragments following their first. Every frame
// out is compared byte for byte with one built by pktbuild (inet_pton, checksums from scratch).
#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

const std::string C6 = "2001:db8:fe::10";   // a client, on dpdk0's link
const std::string V6 = "2001:db8:fe::200";  // the VIP, dpdk0's address
const std::string D6 = "2001:db8:1::8";     // the DIP, dpdk1's address
const std::string R1 = "2001:db8:1::18", R2 = "2001:db8:1::28";
const std::string FAR6 = "2001:db8:77::5";  // a client behind the gateway

const char* kConfig6 = R"(
ip addr add 2001:db8:fe::200/64 dev dpdk0
ip addr add 2001:db8:1::8/64 dev dpdk1
ip route add default via 2001:db8:fe::1 dev dpdk0
-A -t [2001:db8:fe::200]:80 -s rr
-a -t [2001:db8:fe::200]:80 -r [2001:db8:1::18]:80 -m
-a -t [2001:db8:fe::200]:80 -r [2001:db8:1::28]:8080 -m
-A -u [2001:db8:fe::200]:53 -s rr
-a -u [2001:db8:fe::200]:53 -r [2001:db8:1::28]:5353 -m
-A -t [2001:db8:fe::200]:443 -s rr
-a -t [2001:db8:fe::200]:443 -r 2001:db8:1::18 -g
-A -t [2001:db8:fe::200]:8443 -s rr
-a -t [2001:db8:fe::200]:8443 -r 2001:db8:1::28 -i
-A -t 172.16.254.200:7000 -s rr
-a -t 172.16.254.200:7000 -r 2001:db8:1::28 -i
-A -t [2001:db8:fe::200]:7000 -s rr
-a -t [2001:db8:fe::200]:7000 -r 192.168.0.28 -i
)";

Bytes frame6(const Mac& dst, const Mac& src, const Bytes& ip) {
  return eth(dst, src, 0x86dd, ip);
}
Bytes c2d6(const Bytes& ip) {
  return frame6(kPort0, kClient, ip);
}
Bytes d2c6(const Bytes& ip) {
  return frame6(kClient, kPort0, ip);
}
Bytes d2rs6(const Mac& rs, const Bytes& ip) {
  return frame6(rs, kPort1, ip);
}
Bytes rs2d6(const Mac& rs, const Bytes& ip) {
  return frame6(kPort1, rs, ip);
}
Bytes tcp6(const std::string& s, const std::string& d, uint16_t sp, uint16_t dp, uint8_t fl,
           uint8_t hlim, const Bytes& data = {}) {
  return ipv6(s, d, 6, tcp(s, d, sp, dp, fl, data), hlim);
}
Bytes udp6(const std::string& s, const std::string& d, uint16_t sp, uint16_t dp, uint8_t hlim,
           const Bytes& data, bool zero = false) {
  return ipv6(s, d, 17, udp(s, d, sp, dp, data, zero), hlim);
}
// An ICMPv6 error (type, code, the 32-bit word) quoting `quoted`, from s to d.
Bytes icmp6_err(const std::string& s, const std::string& d, uint8_t type, uint8_t code,
                uint32_t word, const Bytes& quoted, uint8_t hlim) {
  const Bytes w = {static_cast<uint8_t>(word >> 24), static_cast<uint8_t>(word >> 16),
                   static_cast<uint8_t>(word >> 8), static_cast<uint8_t>(word)};
  return ipv6(s, d, 58, icmp6(s, d, type, code, cat({w, quoted})), hlim);
}

// A pipeline with the IPv6 services above, its connection table taking IPv6, and the IPv6
// neighbours (client, gateway, real servers) known.
struct Six {
  explicit Six(const std::string& extra = "") : p(1024, std::string(kConfig6) + extra) {
    EXPECT_TRUE(p.w.conns.enable_ipv6("fx6conns", 0));
    p.w.neigh6 = &neigh6;
    known(C6, kClient, 0);
    known("2001:db8:fe::1", kGw, 0);
    known(R1, kRs1, 1);
    known(R2, kRs2, 1);
  }
  ~Six() { p.w.neigh6 = nullptr; }
  void known(const std::string& ip, const Mac& m, uint16_t port) {
    Ip6Key k;
    const Bytes b = ip6(ip);
    std::copy(b.begin(), b.end(), k.b);
    MacAddr a;
    std::copy(m.b, m.b + 6, a.begin());
    neigh6.set(k, port, a, NeighState::Reachable);
  }
  NeighTable6 neigh6;
  Pipeline p;
};

TEST(Forward6Fixtures, TheSnapshotKnowsIpv6ServicesByTheirWholeAddress) {
  Six s;
  const Snapshot& snap = *s.p.snap;
  EXPECT_TRUE(snap.has_v6);
  EXPECT_FALSE(snap.fold6_shared);
  const Bytes v = ip6(V6), r2 = ip6(R2);
  const SnapService* svc = snap.find_service6(kIpProtoTcp, v.data(), htons(80));
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(svc->v6);
  EXPECT_EQ(svc->dests.size(), 2u);
  EXPECT_EQ(snap.find_service6(kIpProtoUdp, v.data(), htons(80)), nullptr);
  EXPECT_EQ(snap.find_service6(kIpProtoTcp, v.data(), htons(81)), nullptr);
  // An address of the same fold (its words in another order) is another address.
  Bytes same_fold = v;
  std::swap_ranges(same_fold.begin(), same_fold.begin() + 4, same_fold.begin() + 4);
  ASSERT_NE(same_fold, v);
  EXPECT_EQ(ip6_fold(same_fold.data()), ip6_fold(v.data()));
  EXPECT_EQ(snap.find_service6(kIpProtoTcp, same_fold.data(), htons(80)), nullptr);
  const Destination* d = snap.find_masq6(kIpProtoTcp, r2.data(), htons(8080));
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(Bytes(d->rip6, d->rip6 + 16), r2);
  EXPECT_EQ(snap.find_masq6(kIpProtoTcp, r2.data(), htons(80)), nullptr);
  // IPv4's maps hold none of it.
  EXPECT_EQ(snap.find_service(kIpProtoTcp, svc->vip, htons(80)), nullptr);
}

// ip6tables' marks and an IPv6 firewall-mark service (-f 6 -6): the mark first, the client's
// port kept, its template across the mark's ports; what no rule marks keeps its service.
TEST(Forward6Fixtures, FirewallMarkService) {
  Six s(
      "ip6tables -t mangle -A PREROUTING -p tcp -d 2001:db8:fe::200 -m multiport --dports "
      "80,9000 -j MARK --set-mark 6\n"
      "-A -f 6 -6 -s rr -p 300\n"
      "-a -f 6 -6 -r 2001:db8:1::18 -m\n"
      "-a -f 6 -6 -r 2001:db8:1::28 -m\n");
  EXPECT_TRUE(s.p.snap->fwm6);
  EXPECT_FALSE(s.p.snap->fwm4);
  run_steps(s.p, {{"marked SYN to :80: rr's first pick R2, the port kept (not -t :80's R2:8080)",
                   0,
                   c2d6(tcp6(C6, V6, 40000, 80, SYN, 64)),
                   {{1, d2rs6(kRs2, tcp6(C6, R2, 40000, 80, SYN, 63))}},
                   {}},
                  {"its connection to :9000: R2 again, by its template",
                   0,
                   c2d6(tcp6(C6, V6, 40001, 9000, SYN, 64)),
                   {{1, d2rs6(kRs2, tcp6(C6, R2, 40001, 9000, SYN, 63))}},
                   {}},
                  {"R2's reply leaves from VIP:9000",
                   1,
                   rs2d6(kRs2, tcp6(R2, C6, 9000, 40001, SYN | ACK, 64)),
                   {{0, d2c6(tcp6(V6, C6, 9000, 40001, SYN | ACK, 63))}},
                   {}},
                  {"UDP is not marked: the -u :53 service's R2:5353",
                   0,
                   c2d6(udp6(C6, V6, 5000, 53, 64, Bytes(2, 'q'))),
                   {{1, d2rs6(kRs2, udp6(C6, R2, 5000, 5353, 63, Bytes(2, 'q')))}},
                   {}}});
}

TEST(Forward6Fixtures, Nat66RequestsAndRepliesRewritten) {
  Six s;
  const Bytes get = {'G', 'E', 'T', ' ', '/', '\r', '\n'};
  run_steps(s.p,
            {// rr over [R2, R1] (the kernel's list order: the last added first).
             {"SYN to the VIP goes to R2:8080, destination rewritten, hop limit 63",
              0,
              c2d6(tcp6(C6, V6, 40000, 80, SYN, 64)),
              {{1, d2rs6(kRs2, tcp6(C6, R2, 40000, 8080, SYN, 63))}},
              {}},
             {"SYN-ACK from R2:8080 comes back from VIP:80",
              1,
              rs2d6(kRs2, tcp6(R2, C6, 8080, 40000, SYN | ACK, 64)),
              {{0, d2c6(tcp6(V6, C6, 80, 40000, SYN | ACK, 63))}},
              {}},
             {"data follows the connection",
              0,
              c2d6(tcp6(C6, V6, 40000, 80, PSH | ACK, 64, get)),
              {{1, d2rs6(kRs2, tcp6(C6, R2, 40000, 8080, PSH | ACK, 63, get))}},
              {}},
             {"the next connection goes to R1:80",
              0,
              c2d6(tcp6(C6, V6, 40001, 80, SYN, 64)),
              {{1, d2rs6(kRs1, tcp6(C6, R1, 40001, 80, SYN, 63))}},
              {}},
             {"a client behind the gateway is answered through it",
              0,
              frame6(kPort0, kGw, tcp6(FAR6, V6, 40002, 80, SYN, 64)),
              {{1, d2rs6(kRs2, tcp6(FAR6, R2, 40002, 8080, SYN, 63))}},
              {}},
             {"its reply goes to the gateway's MAC",
              1,
              rs2d6(kRs2, tcp6(R2, FAR6, 8080, 40002, SYN | ACK, 64)),
              {{0, frame6(kGw, kPort0, tcp6(V6, FAR6, 80, 40002, SYN | ACK, 63))}},
              {}},
             {"UDP with a checksum, 53 -> 5353",
              0,
              c2d6(udp6(C6, V6, 5000, 53, 64, {1, 2, 3})),
              {{1, d2rs6(kRs2, udp6(C6, R2, 5000, 5353, 63, {1, 2, 3}))}},
              {}},
             {"UDP reply",
              1,
              rs2d6(kRs2, udp6(R2, C6, 5353, 5000, 64, {4, 5, 6, 7})),
              {{0, d2c6(udp6(V6, C6, 53, 5000, 63, {4, 5, 6, 7}))}},
              {}},
             {"UDP without a checksum (invalid in IPv6) is given one",
              0,
              c2d6(udp6(C6, V6, 5001, 53, 64, {9, 8}, true)),
              {{1, d2rs6(kRs2, udp6(C6, R2, 5001, 5353, 63, {9, 8}))}},
              {}},
             {"a reply without a checksum is given one too",
              1,
              rs2d6(kRs2, udp6(R2, C6, 5353, 5001, 64, {7}, true)),
              {{0, d2c6(udp6(V6, C6, 53, 5001, 63, {7}))}},
              {}},
             {"a non-SYN without a connection is dropped",
              0,
              c2d6(tcp6(C6, V6, 40999, 80, ACK, 64)),
              {},
              Drop::no_conn},
             {"a reply without a connection is dropped",
              1,
              rs2d6(kRs2, tcp6(R2, C6, 8080, 40999, ACK, 64)),
              {},
              Drop::no_conn},
             {"TCP to the VIP on no service's port: the host's (no kernel path here)",
              0,
              c2d6(tcp6(C6, V6, 40003, 22, SYN, 64)),
              {},
              Drop::no_service}});
  EXPECT_EQ(s.p.w.conns.size(), 5u);
  EXPECT_EQ(s.p.w.ctr.nat_in.get(), 6u);
  EXPECT_EQ(s.p.w.ctr.nat_out.get(), 4u);
}

TEST(Forward6Fixtures, HopLimitRunsOutWithTimeExceeded) {
  Six s;
  const Bytes syn = tcp6(C6, V6, 40000, 80, SYN, 1);
  run_steps(s.p, {{"hop limit 1: ICMPv6 time exceeded from the director, quoting the packet",
                   0,
                   c2d6(syn),
                   {{0, d2c6(icmp6_err(V6, C6, 3, 0, 0, syn, 64))}},
                   Drop::ttl_exceeded},
                  {"DR: the same",
                   0,
                   c2d6(tcp6(C6, V6, 40001, 443, SYN, 1)),
                   {{0, d2c6(icmp6_err(V6, C6, 3, 0, 0, tcp6(C6, V6, 40001, 443, SYN, 1), 64))}},
                   Drop::ttl_exceeded}});
  // Rate-limited as IPv4's: the bucket spent, nothing more goes out.
  s.p.w.icmp_error_bucket = TokenBucket(0, 0);
  EXPECT_TRUE(s.p.run(0, c2d6(tcp6(C6, V6, 40002, 80, SYN, 1))).empty());
  EXPECT_EQ(s.p.w.ctr.drops[static_cast<unsigned>(Drop::icmp_rate_limited)], 1u);
  EXPECT_EQ(s.p.w.ctr.drops[static_cast<unsigned>(Drop::ttl_exceeded)], 3u);
}

TEST(Forward6Fixtures, DirectRoutingRewritesOnlyTheMacs) {
  Six s;
  const Bytes data(100, 0x5a);
  run_steps(s.p, {{"SYN to :443 to R1's MAC, unchanged but the hop limit",
                   0,
                   c2d6(tcp6(C6, V6, 40000, 443, SYN, 64)),
                   {{1, d2rs6(kRs1, tcp6(C6, V6, 40000, 443, SYN, 63))}},
                   {}},
                  {"data follows",
                   0,
                   c2d6(tcp6(C6, V6, 40000, 443, ACK, 64, data)),
                   {{1, d2rs6(kRs1, tcp6(C6, V6, 40000, 443, ACK, 63, data))}},
                   {}}});
  EXPECT_EQ(s.p.w.ctr.dr_out.get(), 2u);
}

TEST(Forward6Fixtures, TunnelIpv6InIpv6) {
  Six s;
  // ip_vs_tunnel_xmit_v6: traffic class copied, hop limit the inner's (decremented), no flow
  // label, next header 41, from the DIP (dpdk1's address) to the real server.
  Bytes inner = tcp6(C6, V6, 40000, 8443, SYN, 63);
  inner[0] = 0x6b;  // traffic class 0xb8 (EF), flow label 0x12345 on the inner packet
  inner[1] = 0x81;
  inner[2] = 0x23;
  inner[3] = 0x45;
  Bytes in = inner;
  in[7] = 64;
  Bytes outer = ipv6(D6, R2, 41, inner, 63);
  outer[0] = 0x6b;
  outer[1] = 0x80;
  run_steps(s.p,
            {{"SYN to :8443 in IPv6-in-IPv6 to R2", 0, c2d6(in), {{1, d2rs6(kRs2, outer)}}, {}}});
  EXPECT_EQ(s.p.w.ctr.tun_out.get(), 1u);
}

TEST(Forward6Fixtures, TunnelTooBigAnsweredWithPacketTooBig) {
  Six s;
  // 1500 bytes whole (the port's MTU): 40 more would not fit. The room is 1460.
  const Bytes big = tcp6(C6, V6, 40000, 8443, SYN, 64, Bytes(1500 - 40 - 20, 0x11));
  ASSERT_EQ(big.size(), 1500u);
  // The error quotes what fits in IPv6's minimum MTU: 1280 - 40 - 8 bytes of the packet.
  const Bytes quoted(big.begin(), big.begin() + 1232);
  run_steps(s.p,
            {{"too big: Packet Too Big with MTU 1460, the packet dropped",
              0,
              c2d6(big),
              {{0, d2c6(icmp6_err(V6, C6, 2, 0, 1460, quoted, 64))}},
              Drop::tunnel_too_big},
             {"1460 bytes fit",
              0,
              c2d6(tcp6(C6, V6, 40001, 8443, SYN, 64, Bytes(1460 - 60, 0x22))),
              {{1, d2rs6(kRs2, ipv6(D6, R2, 41,
                                    tcp6(C6, V6, 40001, 8443, SYN, 63, Bytes(1400, 0x22)), 63))}},
              {}}});
}

// A real server of the other family (ipvsadm -i only): IPVS's mixed-family tunnels, as
// ip_vs_prepare_tunneled_skb fills the outer header from an inner one of either family.
TEST(Forward6Fixtures, TunnelsBetweenTheFamilies) {
  Six s;
  // IPv4 in IPv6: next header 4, the TOS as the traffic class, the TTL (decremented) as the hop
  // limit, from the DIP to R2.
  const Bytes in4 = ipv4(CIP, VIP, 6, tcp(CIP, VIP, 40000, 7000, SYN), {.ttl = 64, .tos = 0xb8});
  const Bytes fwd4 = ipv4(CIP, VIP, 6, tcp(CIP, VIP, 40000, 7000, SYN), {.ttl = 63, .tos = 0xb8});
  Bytes outer6 = ipv6(D6, R2, 4, fwd4, 63);
  outer6[0] = 0x6b;
  outer6[1] = 0x80;
  // IPv6 in IPv4: protocol 41, the traffic class as the TOS, the hop limit as the TTL, DF clear
  // and a new ID (the fixture's counter starts at 0).
  Bytes in6 = tcp6(C6, V6, 40000, 7000, SYN, 64);
  in6[0] = 0x62;  // traffic class 0x28
  in6[1] = 0x80;
  Bytes fwd6 = in6;
  fwd6[7] = 63;
  const Bytes outer4 = ipv4(DIP, RS2, 41, fwd6, {.ttl = 63, .id = 0, .tos = 0x28, .df = false});
  run_steps(
      s.p,
      {{"IPv4 client, IPv6 real server: IPv4 in IPv6", 0, c2d(in4), {{1, d2rs6(kRs2, outer6)}}, {}},
       {"IPv6 client, IPv4 real server: IPv6 in IPv4",
        0,
        c2d6(in6),
        {{1, d2rs(kRs2, outer4)}},
        {}}});
  EXPECT_EQ(s.p.w.ctr.tun_out.get(), 2u);
  // Too big for the tunnel: each client is told in its own family, naming the room.
  const Bytes big4 = tcp_pkt(CIP, VIP, 40001, 7000, SYN, 64, Bytes(1500 - 40, 0x44));
  const Bytes big6 = tcp6(C6, V6, 40001, 7000, SYN, 64, Bytes(1500 - 60, 0x55));
  run_steps(
      s.p,
      {{"IPv4 with DF, 1500 bytes: fragmentation needed, MTU 1460",
        0,
        c2d(big4),
        {{0, d2c(ipv4(VIP, CIP, 1, icmp_error(3, 4, 1460, Bytes(big4.begin(), big4.begin() + 548)),
                      {.ttl = 64, .id = 0, .tos = 0xc0, .df = false}))}},
        Drop::tunnel_too_big},
       {"IPv6, 1500 bytes: Packet Too Big, MTU 1480",
        0,
        c2d6(big6),
        {{0, d2c6(icmp6_err(V6, C6, 2, 0, 1480, Bytes(big6.begin(), big6.begin() + 1232), 64))}},
        Drop::tunnel_too_big}});
}

TEST(Forward6Fixtures, IcmpErrorsTranslatedBothWays) {
  Six s;
  run_steps(s.p, {{"SYN to R2:8080",
                   0,
                   c2d6(tcp6(C6, V6, 40000, 80, SYN, 64)),
                   {{1, d2rs6(kRs2, tcp6(C6, R2, 40000, 8080, SYN, 63))}},
                   {}}});
  // From the real server's side (ip_vs_out_icmp_v6): R2 (or a router before it) cannot take
  // what we sent it from the client, and says so to the client. The outer source and the
  // quoted destination and its port become VIP:80; the quoted TCP checksum stays as it was.
  const Bytes sent = tcp6(C6, R2, 40000, 8080, ACK, 63);
  Bytes as_client_sent = sent;
  const Bytes v6 = ip6(V6);
  std::copy(v6.begin(), v6.end(), as_client_sent.begin() + 24);
  as_client_sent[40 + 2] = 0;
  as_client_sent[40 + 3] = 80;
  // From the client's side (ip_vs_in_icmp_v6): a Packet Too Big about our reply from VIP:80.
  // The outer destination and the quoted source become R2:8080.
  const Bytes reply = tcp6(V6, C6, 80, 40000, ACK, 63, Bytes(64, 1));
  Bytes reply_at_rs = reply;  // its source and source port R2's, its TCP checksum as it was
  const Bytes r2 = ip6(R2);
  std::copy(r2.begin(), r2.end(), reply_at_rs.begin() + 8);
  reply_at_rs[40] = 8080 >> 8;
  reply_at_rs[41] = 8080 & 0xff;
  run_steps(s.p, {{"destination unreachable from the real server, to the client",
                   1,
                   rs2d6(kRs2, icmp6_err(R2, C6, 1, 4, 0, sent, 64)),
                   {{0, d2c6(icmp6_err(V6, C6, 1, 4, 0, as_client_sent, 63))}},
                   {}},
                  {"packet too big from the client, to the real server",
                   0,
                   c2d6(icmp6_err(C6, V6, 2, 0, 1280, reply, 64)),
                   {{1, d2rs6(kRs2, icmp6_err(C6, R2, 2, 0, 1280, reply_at_rs, 63))}},
                   {}},
                  {"time exceeded from a router before the real server: from the VIP to the client",
                   1,
                   rs2d6(kRs2, icmp6_err("2001:db8:1::1", C6, 3, 0, 0, sent, 64)),
                   {{0, d2c6(icmp6_err(V6, C6, 3, 0, 0, as_client_sent, 63))}},
                   {}},
                  {"parameter problem from the client, to the real server",
                   0,
                   c2d6(icmp6_err(C6, V6, 4, 0, 40, reply, 64)),
                   {{1, d2rs6(kRs2, icmp6_err(C6, R2, 4, 0, 40, reply_at_rs, 63))}},
                   {}},
                  {"about no connection: dropped",
                   0,
                   c2d6(icmp6_err(C6, V6, 2, 0, 1280, tcp6(V6, C6, 80, 49999, ACK, 63), 64)),
                   {},
                   Drop::icmp_no_conn},
                  {"with a bad checksum: dropped",
                   0,
                   [&] {
                     Bytes b = c2d6(icmp6_err(C6, V6, 2, 0, 1280, reply, 64));
                     b[14 + 40 + 2] ^= 1;
                     return b;
                   }(),
                   {},
                   Drop::icmp_checksum}});
  EXPECT_EQ(s.p.w.ctr.icmp_nat.get(), 4u);
}

TEST(Forward6Fixtures, LaterFragmentsFollowTheirFirst) {
  Six s;
  // A UDP datagram of 24 bytes of data in two fragments: the first holds the UDP header and 8
  // bytes, the second the last 16.
  const Bytes data(24, 0x33);
  const Bytes whole = udp(C6, V6, 5000, 53, data);
  const Bytes at_rs = udp(C6, R2, 5000, 5353, data);
  const auto frag = [](const std::string& src, const std::string& dst, const Bytes& l4, bool first,
                       uint8_t hlim) {
    Bytes h = ip6_frag(17, first ? 0 : 16, first, 0xabcd1234);
    if (first)
      h.insert(h.end(), l4.begin(), l4.begin() + 16);
    else
      h.insert(h.end(), l4.begin() + 16, l4.end());
    return ipv6(src, dst, 44, h, hlim);
  };
  run_steps(s.p, {{"the first fragment: NAT66 with the whole datagram's checksum updated",
                   0,
                   c2d6(frag(C6, V6, whole, true, 64)),
                   {{1, d2rs6(kRs2, frag(C6, R2, at_rs, true, 63))}},
                   {}},
                  {"the later fragment: its destination only",
                   0,
                   c2d6(frag(C6, V6, whole, false, 64)),
                   {{1, d2rs6(kRs2, frag(C6, R2, at_rs, false, 63))}},
                   {}},
                  {"a later fragment of no known datagram",
                   0,
                   c2d6(ipv6(C6, V6, 44, cat({ip6_frag(17, 16, false, 0x0bad), Bytes(8, 0)}), 64)),
                   {},
                   Drop::frag_unknown}});
  EXPECT_EQ(s.p.w.ctr.frags_followed.get(), 1u);
}

TEST(Forward6Fixtures, AChecksumIsComputedOverTheDatagramsOwnLength) {
  Six s;
  // Two bytes of padding after the datagram (its UDP length 10, the payload 12): the checksum
  // given covers the datagram, the padding goes along as it came.
  Bytes l4 = udp(C6, V6, 5003, 53, {1, 2}, true);
  Bytes at_rs = udp(C6, R2, 5003, 5353, {1, 2});
  l4.insert(l4.end(), {0xee, 0xee});
  at_rs.insert(at_rs.end(), {0xee, 0xee});
  run_steps(s.p, {{"UDP without a checksum, with padding",
                   0,
                   c2d6(ipv6(C6, V6, 17, l4, 64)),
                   {{1, d2rs6(kRs2, ipv6(C6, R2, 17, at_rs, 63))}},
                   {}}});
  // A UDP length beyond the packet: no checksum can be computed over it.
  Bytes bad = udp(C6, V6, 5004, 53, {1, 2}, true);
  bad[5] = 40;
  run_steps(s.p, {{"UDP length beyond the packet",
                   0,
                   c2d6(ipv6(C6, V6, 17, bad, 64)),
                   {},
                   Drop::l4_truncated}});
}

TEST(Forward6Fixtures, AFragmentedUdpDatagramWithoutAChecksumIsDropped) {
  Six s;
  Bytes l4 = udp(C6, V6, 5000, 53, Bytes(24, 1), true);
  Bytes h = ip6_frag(17, 0, true, 7);
  h.insert(h.end(), l4.begin(), l4.begin() + 16);
  run_steps(s.p, {{"its checksum cannot be computed from one fragment",
                   0,
                   c2d6(ipv6(C6, V6, 44, h, 64)),
                   {},
                   Drop::udp6_no_checksum}});
}

TEST(Forward6Fixtures, AnAddedAddressIsAnnounced) {
  Six s;
  // RFC 4861 7.2.6: to all nodes, override set, solicited clear, with our link-layer address.
  const Bytes body =
      cat({{0x20, 0, 0, 0}, ip6("2001:db8:1::9"), {2, 1}, Bytes(kPort1.b, kPort1.b + 6)});
  const Bytes na = frame6(
      mac("33:33:00:00:00:01"), kPort1,
      ipv6("2001:db8:1::9", "ff02::1", 58, icmp6("2001:db8:1::9", "ff02::1", 136, 0, body), 255));
  reconfigure(s.p, [](Config& c) {
    AddrConfig a;
    a.ip = *parse_ip("2001:db8:1::9");
    a.prefix_len = 64;
    a.port = 1;
    c.addrs.push_back(a);
  });
  worker_flush(s.p.w);
  const auto out = s.p.take_out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, 1);
  EXPECT_EQ(out[0].second, na) << hex(out[0].second);
  EXPECT_EQ(verify_checksums(out[0].second), "");
  // Another change that adds none: nothing is announced again.
  reconfigure(s.p, [](Config& c) { c.timeouts.udp = 30; });
  worker_flush(s.p.w);
  EXPECT_TRUE(s.p.take_out().empty());
}

// A real server's answer to the host's own traffic (a health check from the host's address on
// dpdk1's network: no LVS connection) is the host's; a reply to a client is not; a
// fragment to one of fastvsd's own addresses that is no service's is counted and dropped (the
// host does not hold the address).
TEST(Forward6Fixtures, TheHostsAnswersGoToTheHost) {
  Six s;
  rte_ring* ring = rte_ring_create("fx6_fwd_kernel", 64, 0, RING_F_SC_DEQ);
  ASSERT_NE(ring, nullptr);
  s.p.w.to_kernel = ring;
  const Bytes synack = rs2d6(kRs1, tcp6(R1, "2001:db8:1::9", 80, 50000, SYN | ACK, 64));
  run_steps(s.p, {{"SYN-ACK from R1:80 to the host's own address", 1, synack, {}, {}},
                  {"a reply to a client off the port's network, no connection: dropped",
                   1,
                   rs2d6(kRs1, tcp6(R1, FAR6, 80, 50001, ACK, 64)),
                   {},
                   Drop::no_conn},
                  {"a fragment of an echo to the VIP",
                   0,
                   c2d6(ipv6(C6, V6, 44, cat({ip6_frag(58, 0, true, 9), Bytes(16, 0x80)}), 64)),
                   {},
                   Drop::frag_local}});
  rte_mbuf* m = nullptr;
  ASSERT_EQ(rte_ring_dequeue(ring, reinterpret_cast<void**>(&m)), 0);
  EXPECT_EQ(to_bytes(m), synack);
  rte_pktmbuf_free(m);
  EXPECT_NE(rte_ring_dequeue(ring, reinterpret_cast<void**>(&m)), 0);
  s.p.w.to_kernel = nullptr;
  rte_ring_free(ring);
}

TEST(Forward6Fixtures, IpFourIsUntouchedBesideIt) {
  Six s;
  run_steps(s.p, {{"an IPv4 SYN to the IPv4 VIP still goes to RS2",
                   0,
                   c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                   {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                   {}}});
}

}  // namespace
}  // namespace fastvs::testing
