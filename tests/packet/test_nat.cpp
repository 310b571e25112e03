// Packet fixtures: NAT (LVS-NAT): requests and replies rewritten, ports mapped, ICMP errors
// translated both ways, TTL, a full table, a shared real-server tuple. The pipeline is run
// in-process (tests/packet/pipeline.h); every output frame is compared byte for byte with one built
// independently (pktbuild computes every checksum from scratch).
#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

TEST(NatFixtures, RequestReplyAndPortMapping) {
  Pipeline p;
  const Bytes http = {'G', 'E', 'T', ' ', '/', '\r', '\n'};
  run_steps(
      p, {
             // wrr over [RS2, RS1] (the kernel's list order: the last added first) picks RS2 first.
             {"SYN to the VIP goes to RS2, destination rewritten, TTL 63",
              0,
              c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
              {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
              {}},
             {"SYN-ACK from RS2 comes back from the VIP",
              1,
              rs2d(kRs2, tcp_pkt(RS2, CIP, 80, 40000, SYN | ACK, 64)),
              {{0, d2c(tcp_pkt(VIP, CIP, 80, 40000, SYN | ACK, 63))}},
              {}},
             {"data follows the connection",
              0,
              c2d(tcp_pkt(CIP, VIP, 40000, 80, PSH | ACK, 64, http)),
              {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, PSH | ACK, 63, http))}},
              {}},
             {"a second client port goes to RS1",
              0,
              c2d(tcp_pkt(CIP, VIP, 40001, 80, SYN, 64)),
              {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40001, 80, SYN, 63))}},
              {}},
             {"port mapping VIP:8080 -> RS1:80",
              0,
              c2d(tcp_pkt(CIP, VIP, 40002, 8080, SYN, 64)),
              {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40002, 80, SYN, 63))}},
              {}},
             {"port mapping reply RS1:80 -> VIP:8080",
              1,
              rs2d(kRs1, tcp_pkt(RS1, CIP, 80, 40002, SYN | ACK, 64)),
              {{0, d2c(tcp_pkt(VIP, CIP, 8080, 40002, SYN | ACK, 63))}},
              {}},
             {"UDP with checksum, port mapped 53 -> 5353",
              0,
              c2d(udp_pkt(CIP, VIP, 5000, 53, 64, {1, 2, 3})),
              {{1, d2rs(kRs2, udp_pkt(CIP, RS2, 5000, 5353, 63, {1, 2, 3}))}},
              {}},
             {"UDP reply",
              1,
              rs2d(kRs2, udp_pkt(RS2, CIP, 5353, 5000, 64, {4, 5, 6, 7})),
              {{0, d2c(udp_pkt(VIP, CIP, 53, 5000, 63, {4, 5, 6, 7}))}},
              {}},
             {"UDP checksum 0 stays 0",
              0,
              c2d(udp_pkt(CIP, VIP, 5001, 53, 64, {9}, true)),
              {{1, d2rs(kRs2, udp_pkt(CIP, RS2, 5001, 5353, 63, {9}, true))}},
              {}},
             {"a non-SYN without a connection is dropped",
              0,
              c2d(tcp_pkt(CIP, VIP, 40999, 80, ACK, 64)),
              {},
              Drop::no_conn},
             {"a reply without a connection is dropped",
              1,
              rs2d(kRs2, tcp_pkt(RS2, CIP, 80, 40999, ACK, 64)),
              {},
              Drop::no_conn},
             {"not a service, not ours",
              0,
              c2d(tcp_pkt(CIP, "172.16.254.99", 1, 80, SYN, 64)),
              {},
              Drop::no_service},
             {"TCP to a local address that is no service",
              0,
              c2d(tcp_pkt(CIP, VIP, 1, 22, SYN, 64)),
              {},
              Drop::local_other},
         });
  // The connections count where IPVS counts them: SYN_RECV and ESTABLISHED are active.
  EXPECT_EQ(p.w.conns.size(), 5u);
}

TEST(NatFixtures, TtlExpiredGetsTimeExceeded) {
  Pipeline p;
  const Bytes dead = tcp_pkt(CIP, VIP, 40000, 80, SYN, 1);
  // icmp_send: from the address of the port it arrived on, TOS 0xc0, TTL 64, quoting the
  // datagram as received.
  const Bytes icmp =
      ipv4(VIP, CIP, 1, icmp_error(11, 0, 0, dead), {.ttl = 64, .id = 0, .tos = 0xc0, .df = false});
  run_steps(p, {{"TTL 1 is not forwarded", 0, c2d(dead), {{0, d2c(icmp)}}, Drop::ttl_exceeded}});
}

TEST(NatFixtures, IcmpErrorsTranslatedBothWays) {
  Pipeline p;
  run_steps(p, {
                   {"open",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                    {}},
               });
  // A router on the real servers' side says the request was too big (path MTU discovery).
  const Bytes sent_to_rs = tcp_pkt(CIP, RS2, 40000, 80, ACK, 62, Bytes(8, 'x'));
  const Bytes as_client_sent = tcp_pkt(CIP, VIP, 40000, 80, ACK, 62, Bytes(8, 'x'));
  // ip_vs_nat_icmp(inout=1): outer source and embedded destination become VIP:vport; the
  // embedded TCP checksum stays as it was (it was the RS-side one).
  Bytes quoted_out = as_client_sent;
  const Bytes quoted_in = sent_to_rs;
  // The embedded transport checksum is not updated by IPVS: keep the RS-side value.
  quoted_out[20 + 16] = quoted_in[20 + 16];
  quoted_out[20 + 17] = quoted_in[20 + 17];
  run_steps(
      p,
      {
          {"frag needed from the RS side reaches the client from the VIP",
           1,
           rs2d(kRs2, ipv4("192.168.0.1", CIP, 1, icmp_error(3, 4, 1400, quoted_in), {.ttl = 64})),
           {{0, d2c(ipv4(VIP, CIP, 1, icmp_error(3, 4, 1400, quoted_out), {.ttl = 63}))}},
           {}},
      });
  // The client's side says our reply (VIP:80 -> CIP:40000) could not be delivered.
  const Bytes reply_as_sent = tcp_pkt(VIP, CIP, 80, 40000, ACK, 63, Bytes(4, 'y'));
  Bytes reply_as_rs = tcp_pkt(RS2, CIP, 80, 40000, ACK, 63, Bytes(4, 'y'));
  reply_as_rs[20 + 16] = reply_as_sent[20 + 16];
  reply_as_rs[20 + 17] = reply_as_sent[20 + 17];
  run_steps(
      p, {
             {"port unreachable from the client side reaches RS2",
              0,
              c2d(ipv4(CIP, VIP, 1, icmp_error(3, 3, 0, reply_as_sent), {.ttl = 64})),
              {{1, d2rs(kRs2, ipv4(CIP, RS2, 1, icmp_error(3, 3, 0, reply_as_rs), {.ttl = 63}))}},
              {}},
             {"an ICMP error about no connection is dropped",
              0,
              c2d(ipv4(CIP, VIP, 1, icmp_error(3, 3, 0, tcp_pkt(VIP, CIP, 80, 1, ACK, 63)),
                       {.ttl = 64})),
              {},
              Drop::icmp_no_conn},
         });
  Bytes bad = c2d(ipv4(CIP, VIP, 1, icmp_error(3, 3, 0, reply_as_sent), {.ttl = 64}));
  bad[14 + 20 + 2] ^= 0x55;  // ICMP checksum
  run_steps(p, {{"an ICMP error with a bad checksum is dropped", 0, bad, {}, Drop::icmp_checksum}});
}

TEST(NatFixtures, FullTableRefusesNewFlowsKeepsOld) {
  Pipeline p(2);
  run_steps(p, {
                   {"first flow",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                    {}},
                   {"second flow",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40001, 80, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40001, 80, SYN, 63))}},
                    {}},
                   {"third flow: table full",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40002, 80, SYN, 64)),
                    {},
                    Drop::conn_table_full},
                   {"the first flow goes on",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 80, ACK, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, ACK, 63))}},
                    {}},
               });
  // Recovery: the second flow expires (SYN_RECV: 60 s; the first is ESTABLISHED now: 900 s),
  // and a new flow fits again.
  worker_set_time(p.w, 1000 + 61 * kTicksPerSecond);
  worker_expire(p.w, 100);
  EXPECT_EQ(p.w.conns.size(), 1u);
  run_steps(p, {{"a new flow after expiry",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40003, 80, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40003, 80, SYN, 63))}},
                 {}}});
}

// Two VIPs share a real server; one client port talks to both. The replies of both would carry
// the same (RIP:rport -> CIP:cport): the second connection is refused, the first keeps its
// replies (IPVS would have the same ambiguity; it cannot tell them apart either).
TEST(NatFixtures, SharedRealServerTupleIsNotStolen) {
  Pipeline p;
  const std::string VIP2 = "172.16.254.201";
  run_steps(p, {
                   {"to VIP:53",
                    0,
                    c2d(udp_pkt(CIP, VIP, 5060, 53, 64, {1})),
                    {{1, d2rs(kRs2, udp_pkt(CIP, RS2, 5060, 5353, 63, {1}))}},
                    {}},
                   {"same client port to VIP2:53, same RS",
                    0,
                    c2d(udp_pkt(CIP, VIP2, 5060, 53, 64, {2})),
                    {},
                    Drop::conn_collision},
                   {"the reply still belongs to the first",
                    1,
                    rs2d(kRs2, udp_pkt(RS2, CIP, 5353, 5060, 64, {3})),
                    {{0, d2c(udp_pkt(VIP, CIP, 53, 5060, 63, {3}))}},
                    {}},
               });
}

TEST(NatFixtures, IcmpErrorsAreRateLimited) {
  Pipeline p;
  p.w.icmp_error_bucket = TokenBucket(16, 2);  // one a tick, two deep
  const Bytes expired = c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 1));
  auto sent = [&] {
    const uint64_t before = p.w.ctr.icmp_errors_sent;
    const auto got = p.run(0, expired);
    EXPECT_EQ(p.w.ctr.icmp_errors_sent - before, got.size());
    return got.size();
  };
  EXPECT_EQ(sent() + sent() + sent(), 2u);
  EXPECT_EQ(p.w.ctr.drops[static_cast<unsigned>(Drop::icmp_rate_limited)], 1u);
  EXPECT_EQ(p.w.ctr.drops[static_cast<unsigned>(Drop::ttl_exceeded)], 3u);
  worker_set_time(p.w, 1000 + 1);
  EXPECT_EQ(sent() + sent(), 1u);
}

// As in IPVS, only the director that holds the VIP serves it: a VRRP backup has the service but
// not the address (keepalived adds it to the master), and must not answer for it.
TEST(NatFixtures, AServiceTakesTrafficOnlyWhileItsVipIsLocal) {
  Pipeline p;
  const auto vip_addr = [](const AddrConfig& a) { return a.ip == IpAddr::v4(0xac10fec8); };  // VIP
  reconfigure(p, [&](Config& c) { std::erase_if(c.addrs, vip_addr); });
  run_steps(p, {
                   {"SYN to a VIP that is no local address is no service's",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                    {},
                    Drop::no_service},
                   {"nor is a later fragment to it",
                    0,
                    c2d(split(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64, Bytes(40, 'x')), 24).second),
                    {},
                    Drop::frag_other},
               });
  reconfigure(p, [&](Config& c) { c.addrs.push_back({IpAddr::v4(0xac10fec8), 32, 0, true}); });
  run_steps(p, {
                   {"once it is (keepalived's VIP followed), the service takes it",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                    {}},
               });
}

}  // namespace
}  // namespace fastvs::testing
