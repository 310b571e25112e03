// Packet fixtures: Direct routing (MACs only, INPUT_ONLY states) and IPIP tunnels, and one service
// with both methods. The pipeline is run in-process (tests/packet/pipeline.h); every output frame
// is compared byte for byte with one built independently (pktbuild computes every checksum from
// scratch).
#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

TEST(DrFixtures, MacRewriteOnlyAndInputOnlyStates) {
  Pipeline p;
  const Bytes http = {'G', 'E', 'T'};
  run_steps(p, {
                   // ip_vs_dr_xmit: the IP packet is the client's (to the VIP), TTL - 1; the frame
                   // goes to the real server's MAC from the RS-side port.
                   {"SYN to a DR service",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 43000, 443, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, VIP, 43000, 443, SYN, 63))}},
                    {}},
                   {"the client's ACK",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 43000, 443, ACK, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, VIP, 43000, 443, ACK, 63))}},
                    {}},
                   {"data",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 43000, 443, PSH | ACK, 20, http)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, VIP, 43000, 443, PSH | ACK, 19, http))}},
                    {}},
               });
  bool is_out;
  const Conn* c =
      p.w.conns.lookup(make_key(ip_be(CIP), ip_be(VIP), htons(43000), htons(443), 6), &is_out);
  ASSERT_NE(c, nullptr);
  // INPUT_ONLY rows (NOOUTPUT): SYN -> SYN_RECV, ACK -> ESTABLISHED, and ActiveConn counts it.
  EXPECT_EQ(c->state, TcpState::Established);
  EXPECT_TRUE(c->flags & kConnNoOutput);
  EXPECT_EQ(c->dest->activeconns(), 1);
  // No reply key: the real server answers the client itself.
  EXPECT_EQ(
      p.w.conns.lookup(make_key(ip_be(RS1), ip_be(CIP), htons(443), htons(43000), 6), &is_out),
      nullptr);
  // An ICMP error about the RS's reply goes to the RS unchanged (ip_vs_icmp_xmit -> dr xmit).
  const Bytes quoted = tcp_pkt(VIP, CIP, 443, 43000, ACK, 60);
  run_steps(
      p,
      {
          {"ICMP error about a DR connection",
           0,
           c2d(ipv4(CIP, VIP, 1, icmp_error(3, 4, 1400, quoted), {.ttl = 64})),
           {{1, d2rs(kRs1, ipv4(CIP, VIP, 1, icmp_error(3, 4, 1400, quoted), {.ttl = 63}))}},
           {}},
          {"TTL 1 through DR",
           0,
           c2d(tcp_pkt(CIP, VIP, 43001, 443, SYN, 1)),
           {{0, d2c(ipv4(VIP, CIP, 1, icmp_error(11, 0, 0, tcp_pkt(CIP, VIP, 43001, 443, SYN, 1)),
                         {.ttl = 64, .id = 0, .tos = 0xc0, .df = false}))}},
           Drop::ttl_exceeded},
      });
}

TEST(TunFixtures, IpipEncapsulation) {
  Pipeline p;
  const Bytes inner =
      ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44000, 8443, SYN), {.ttl = 63, .id = 0x4242, .tos = 0x10});
  run_steps(p, {
                   // ip_vs_tunnel_xmit: outer from the DIP (the egress port's address) to the RIP,
                   // protocol 4, TOS, TTL (after its decrement) and DF copied from the inner
                   // header; ID 0 with DF.
                   {"SYN to a TUN service",
                    0,
                    c2d(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44000, 8443, SYN),
                             {.ttl = 64, .id = 0x4242, .tos = 0x10})),
                    {{1, d2rs(kRs2, ipv4(DIP, RS2, 4, inner, {.ttl = 63, .id = 0, .tos = 0x10}))}},
                    {}},
               });
  Bytes no_df_inner = ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44001, 8443, SYN), {.ttl = 63, .df = false});
  run_steps(
      p, {
             {"DF clear stays clear outside, with the worker's next ID",
              0,
              c2d(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44001, 8443, SYN), {.ttl = 64, .df = false})),
              {{1, d2rs(kRs2, ipv4(DIP, RS2, 4, no_df_inner, {.ttl = 63, .id = 0, .df = false}))}},
              {}},
             {"and the next packet a new one, whatever its inner ID",
              0,
              c2d(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44001, 8443, ACK), {.ttl = 64, .df = false})),
              {{1, d2rs(kRs2, ipv4(DIP, RS2, 4,
                                   ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44001, 8443, ACK),
                                        {.ttl = 63, .df = false}),
                                   {.ttl = 63, .id = 1, .df = false}))}},
              {}},
         });
  // 1500-byte IP packets do not fit with 20 more bytes: with DF the client is told the room
  // (1480) by ICMP fragmentation needed, from the address it sent to (the VIP's port).
  const Bytes big = tcp_pkt(CIP, VIP, 44000, 8443, ACK, 64, Bytes(1460, 'z'));
  ASSERT_EQ(big.size(), 1500u);
  const Bytes quote(big.begin(), big.begin() + 548);
  run_steps(p, {
                   {"too big for the tunnel, DF set",
                    0,
                    c2d(big),
                    {{0, d2c(ipv4(VIP, CIP, 1, icmp_error(3, 4, 1480, quote),
                                  {.ttl = 64, .id = 0, .tos = 0xc0, .df = false}))}},
                    Drop::tunnel_too_big},
                   {"1480 bytes fit",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 44000, 8443, ACK, 64, Bytes(1440, 'z'))),
                    {{1, d2rs(kRs2, ipv4(DIP, RS2, 4,
                                         tcp_pkt(CIP, VIP, 44000, 8443, ACK, 63, Bytes(1440, 'z')),
                                         {.ttl = 63, .id = 0}))}},
                    {}},
               });
}

TEST(MixedFixtures, OneServiceTwoMethods) {
  Pipeline p;
  // rr over [RS2 (-g), RS1 (-m, port 9000)]: the methods are per destination.
  run_steps(p, {
                   {"first to RS2 by DR",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 45000, 9000, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, VIP, 45000, 9000, SYN, 63))}},
                    {}},
                   {"then to RS1 by NAT",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 45001, 9000, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 45001, 9000, SYN, 63))}},
                    {}},
                   {"RS1's reply is NAT'd back",
                    1,
                    rs2d(kRs1, tcp_pkt(RS1, CIP, 9000, 45001, SYN | ACK, 64)),
                    {{0, d2c(tcp_pkt(VIP, CIP, 9000, 45001, SYN | ACK, 63))}},
                    {}},
               });
}

}  // namespace
}  // namespace fastvs::testing
