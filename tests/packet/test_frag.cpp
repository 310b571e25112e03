// Packet fixtures: Fragments (forwarded one by one, never reassembled: dataplane/frag_table.h) and
// IP options. The pipeline is run in-process (tests/packet/pipeline.h); every output frame is
// compared byte for byte with one built independently (pktbuild computes every checksum from
// scratch).
#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

// The expected output is the rewritten datagram (every checksum computed from scratch over the
// whole of it) cut where the input was: byte for byte, that proves the first fragment's
// incremental L4 checksum update right for the whole datagram, and the later fragment's payload
// untouched.
TEST(FragFixtures, NatUdpBothDirectionsFollowTheFirstFragment) {
  Pipeline p;
  const Bytes q(100, 'q'), a(150, 'a');
  const auto [q1, q2] = split(udp_pkt(CIP, VIP, 5000, 53, 64, q), 48);
  const auto [o1, o2] = split(udp_pkt(CIP, RS2, 5000, 5353, 63, q), 48);
  const auto [a1, a2] = split(udp_pkt(RS2, CIP, 5353, 5000, 64, a), 104);
  const auto [r1, r2] = split(udp_pkt(VIP, CIP, 53, 5000, 63, a), 104);
  run_steps(p, {
                   {"first fragment: scheduled, both addresses and the UDP checksum rewritten",
                    0,
                    c2d(q1),
                    {{1, d2rs(kRs2, o1)}},
                    {}},
                   {"second fragment: the same connection, the IP header only",
                    0,
                    c2d(q2),
                    {{1, d2rs(kRs2, o2)}},
                    {}},
                   {"the datagram is complete: its last fragment again is no known datagram's",
                    0,
                    c2d(q2),
                    {},
                    Drop::frag_unknown},
                   {"reply, first fragment: from the VIP", 1, rs2d(kRs2, a1), {{0, d2c(r1)}}, {}},
                   {"reply, second fragment", 1, rs2d(kRs2, a2), {{0, d2c(r2)}}, {}},
               });
  EXPECT_EQ(p.w.ctr.frags_tracked, 2u);
  EXPECT_EQ(p.w.ctr.frags_followed, 2u);
  EXPECT_EQ(p.w.ctr.nat_in, 2u);
  EXPECT_EQ(p.w.ctr.nat_out, 2u);
  EXPECT_EQ(p.w.conns.size(), 1u);
  // Every fragment is a packet of the connection, every byte counted once.
  const DestWorkerSlot& s = udp_dest(p, 53, RS2)->slot[0];
  EXPECT_EQ(s.inpkts, 2u);
  EXPECT_EQ(s.outpkts, 2u);
  EXPECT_EQ(s.inbytes, q1.size() + q2.size());
  EXPECT_EQ(s.outbytes, a1.size() + a2.size());
}

TEST(FragFixtures, NatTcpSegmentInFragmentsAndOutOfOrder) {
  Pipeline p;
  const Bytes data(64, 'd');
  const auto [t1, t2] = split(tcp_pkt(CIP, VIP, 40000, 80, PSH | ACK, 64, data), 24);
  const auto [o1, o2] = split(tcp_pkt(CIP, RS2, 40000, 80, PSH | ACK, 63, data), 24);
  // Another segment, another IP ID; its second fragment comes first.
  const IpOpts later{.ttl = 64, .id = 0x2222};
  const auto [u1, u2] = split(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 40000, 80, ACK, data), later), 32);
  const IpOpts later_out{.ttl = 63, .id = 0x2222};
  const auto [v1, v2] =
      split(ipv4(CIP, RS2, 6, tcp(CIP, RS2, 40000, 80, ACK, data), later_out), 32);
  run_steps(p,
            {
                {"open",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                 {}},
                {"first fragment with the whole TCP header", 0, c2d(t1), {{1, d2rs(kRs2, o1)}}, {}},
                {"second fragment", 0, c2d(t2), {{1, d2rs(kRs2, o2)}}, {}},
                {"a second fragment before its first is dropped, nothing is held",
                 0,
                 c2d(u2),
                 {},
                 Drop::frag_unknown},
                {"then its first fragment goes alone", 0, c2d(u1), {{1, d2rs(kRs2, v1)}}, {}},
            });
  // The first fragment's flags moved the state; a later fragment has none.
  bool is_out;
  const Conn* c =
      p.w.conns.lookup(make_key(ip_be(CIP), ip_be(VIP), htons(40000), htons(80), 6), &is_out);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->state, TcpState::Established);
  (void)v2;
}

TEST(FragFixtures, DrAndTunFollowTheFirstFragment) {
  Pipeline p;
  const Bytes data(100, 'x');
  const auto [d1, d2] = split(tcp_pkt(CIP, VIP, 43000, 443, PSH | ACK, 64, data), 40);
  const auto [e1, e2] = split(tcp_pkt(CIP, VIP, 43000, 443, PSH | ACK, 63, data), 40);
  const auto [t1, t2] = split(tcp_pkt(CIP, VIP, 44000, 8443, PSH | ACK, 64, data), 40);
  const auto [i1, i2] = split(tcp_pkt(CIP, VIP, 44000, 8443, PSH | ACK, 63, data), 40);
  // ip_vs_tunnel_xmit's outer header: DF copied (a fragment has none), TTL as inside, and
  // each fragment its own outer ID (they share the inner one).
  const IpOpts outer1{.ttl = 63, .id = 0, .df = false};
  const IpOpts outer2{.ttl = 63, .id = 1, .df = false};
  run_steps(p, {
                   {"DR: open",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 43000, 443, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, VIP, 43000, 443, SYN, 63))}},
                    {}},
                   {"DR: first fragment, MACs and TTL", 0, c2d(d1), {{1, d2rs(kRs1, e1)}}, {}},
                   {"DR: second fragment, the same", 0, c2d(d2), {{1, d2rs(kRs1, e2)}}, {}},
                   {"TUN: open",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 44000, 8443, SYN, 64)),
                    {{1, d2rs(kRs2, ipv4(DIP, RS2, 4, tcp_pkt(CIP, VIP, 44000, 8443, SYN, 63),
                                         {.ttl = 63, .id = 0}))}},
                    {}},
                   {"TUN: first fragment in IPIP",
                    0,
                    c2d(t1),
                    {{1, d2rs(kRs2, ipv4(DIP, RS2, 4, i1, outer1))}},
                    {}},
                   {"TUN: second fragment in IPIP",
                    0,
                    c2d(t2),
                    {{1, d2rs(kRs2, ipv4(DIP, RS2, 4, i2, outer2))}},
                    {}},
               });
  // A fragment too big for the tunnel: fragments never carry DF, so no ICMP, a counted drop
  // (tunnel_too_big, as a whole datagram without DF), and the next one still fits.
  const Bytes big_data(2000, 'b');
  const IpOpts big_ip{.ttl = 64, .id = 0x3333};
  const auto [b1, b2] =
      split(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44000, 8443, ACK, big_data), big_ip), 1480);
  const IpOpts big_in{.ttl = 63, .id = 0x3333};
  const auto [c1, c2] =
      split(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44000, 8443, ACK, big_data), big_in), 1480);
  ASSERT_EQ(b1.size(), 1500u);
  run_steps(p, {
                   {"TUN: a 1500-byte fragment does not fit", 0, c2d(b1), {}, Drop::tunnel_too_big},
                   {"TUN: its 540-byte rest does",
                    0,
                    c2d(b2),
                    {{1, d2rs(kRs2, ipv4(DIP, RS2, 4, c2, {.ttl = 63, .id = 2, .df = false}))}},
                    {}},
               });
  (void)c1;
}

TEST(FragFixtures, WhatIsNotFollowedIsDroppedByReason) {
  Pipeline p;
  const Bytes data(64, 'z');
  const Bytes seg = tcp_pkt(CIP, VIP, 40000, 80, ACK, 64, data);
  const Bytes dgram = udp_pkt(CIP, VIP, 5000, 53, 64, data);
  const Bytes ping = ipv4(CIP, VIP, 1, icmp_echo(8, 1, 1, data), {.ttl = 64});
  const Bytes routed = udp_pkt(CIP, "10.9.9.9", 5000, 53, 64, data);
  run_steps(
      p,
      {
          {"TCP first fragment holding 16 bytes of its header",
           0,
           c2d(ip_fragment(seg, 0, 16, true)),
           {},
           Drop::frag_malformed},
          {"UDP first fragment holding 4 bytes of its header",
           0,
           c2d(ip_fragment(dgram, 0, 4, true)),
           {},
           Drop::frag_malformed},
          {"TCP fragment at offset 8: inside the header (RFC 1858)",
           0,
           c2d(ip_fragment(seg, 8, 40, true)),
           {},
           Drop::frag_malformed},
          {"a fragment ending past 64 KiB",
           0,
           c2d([&] {
             Bytes f = ip_fragment(dgram, 64, 8, false);
             f[6] = 0x1f;  // offset 0x1fff * 8 = 65528, + 20 + 8 > 65535
             f[7] = 0xff;
             f[10] = f[11] = 0;
             const uint16_t c = csum_buffer(f.data(), 20);
             std::memcpy(&f[10], &c, 2);
             return f;
           }()),
           {},
           Drop::frag_malformed},
          {"non-first fragment of a datagram never seen",
           0,
           c2d(ip_fragment(dgram, 32, 40, false)),
           {},
           Drop::frag_unknown},
          {"first fragment to a local address, no service (VIP:22)",
           0,
           c2d(ip_fragment(tcp_pkt(CIP, VIP, 40000, 22, SYN, 64, data), 0, 40, true)),
           {},
           Drop::frag_local},
          {"ICMP echo in fragments to the VIP",
           0,
           c2d(ip_fragment(ping, 0, 40, true)),
           {},
           Drop::frag_local},
          {"its second fragment", 0, c2d(ip_fragment(ping, 40, 32, false)), {}, Drop::frag_local},
          {"UDP fragment routed through, no LVS traffic",
           0,
           c2d(ip_fragment(routed, 0, 40, true)),
           {},
           Drop::frag_other},
          {"a non-first one of it",
           0,
           c2d(ip_fragment(routed, 40, 32, false)),
           {},
           Drop::frag_other},
          {"an ICMP error in fragments: not translated",
           0,
           c2d(ip_fragment(ipv4(CIP, "10.9.9.9", 1,
                                icmp_error(3, 4, 0, tcp_pkt(VIP, CIP, 80, 40000, ACK, 60, data))),
                           0, 48, true)),
           {},
           Drop::frag_other},
      });
  EXPECT_EQ(p.w.ctr.frags_tracked, 0u);
  EXPECT_EQ(p.w.conns.size(), 0u);
}

TEST(FragFixtures, TheFirstFragmentIsRememberedForTwoSeconds) {
  Pipeline p;
  const Bytes q(100, 'q');
  auto in = [&](uint16_t id) {
    return split(ipv4(CIP, VIP, 17, udp(CIP, VIP, 5000, 53, q), {.ttl = 64, .id = id}), 48);
  };
  auto out = [&](uint16_t id) {
    return split(ipv4(CIP, RS2, 17, udp(CIP, RS2, 5000, 5353, q), {.ttl = 63, .id = id}), 48);
  };
  const auto [a1, a2] = in(1);
  const auto [b1, b2] = out(1);
  const auto [c1, c2] = in(2);
  const auto [d1, d2] = out(2);
  run_steps(p, {{"first fragment of datagram 1", 0, c2d(a1), {{1, d2rs(kRs2, b1)}}, {}},
                {"first fragment of datagram 2", 0, c2d(c1), {{1, d2rs(kRs2, d1)}}, {}}});
  worker_set_time(p.w, 1000 + FragTable::kLifetimeTicks - 1);
  run_steps(p, {{"a tick short of 2 s: followed", 0, c2d(a2), {{1, d2rs(kRs2, b2)}}, {}}});
  worker_set_time(p.w, 1000 + FragTable::kLifetimeTicks);
  run_steps(p, {{"2 s: forgotten", 0, c2d(c2), {}, Drop::frag_unknown}});
  (void)d2;
}

// IPVS forwards IP options as they are (no method touches them); the header checksum covers
// them and the L4 header starts after them. What the kernel refuses on receive is dropped.
TEST(OptionFixtures, OptionsTravelUnchangedInEveryMethod) {
  Pipeline p;
  // Router alert (its copy bit set: it is in every fragment), NOPs, the end of the list.
  const Bytes opts = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};
  auto with = [&](uint8_t ttl) { return IpOpts{.ttl = ttl, .options = opts}; };
  const Bytes q(100, 'q');
  const auto [q1, q2] = split(ipv4(CIP, VIP, 17, udp(CIP, VIP, 5000, 53, q), with(64)), 48);
  const auto [o1, o2] = split(ipv4(CIP, RS2, 17, udp(CIP, RS2, 5000, 5353, q), with(63)), 48);
  run_steps(
      p, {
             {"NAT request",
              0,
              c2d(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 40000, 80, SYN), with(64))),
              {{1, d2rs(kRs2, ipv4(CIP, RS2, 6, tcp(CIP, RS2, 40000, 80, SYN), with(63)))}},
              {}},
             {"NAT reply",
              1,
              rs2d(kRs2, ipv4(RS2, CIP, 6, tcp(RS2, CIP, 80, 40000, SYN | ACK), with(64))),
              {{0, d2c(ipv4(VIP, CIP, 6, tcp(VIP, CIP, 80, 40000, SYN | ACK), with(63)))}},
              {}},
             {"DR",
              0,
              c2d(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 43000, 443, SYN), with(64))),
              {{1, d2rs(kRs1, ipv4(CIP, VIP, 6, tcp(CIP, VIP, 43000, 443, SYN), with(63)))}},
              {}},
             {"TUN: the outer header has none, the inner keeps them",
              0,
              c2d(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44000, 8443, SYN), with(64))),
              {{1, d2rs(kRs2, ipv4(DIP, RS2, 4,
                                   ipv4(CIP, VIP, 6, tcp(CIP, VIP, 44000, 8443, SYN), with(63)),
                                   {.ttl = 63, .id = 0}))}},
              {}},
             {"NAT, a first fragment with options", 0, c2d(q1), {{1, d2rs(kRs2, o1)}}, {}},
             {"NAT, the second fragment with them too", 0, c2d(q2), {{1, d2rs(kRs2, o2)}}, {}},
             {"an option longer than the header's room",
              0,
              c2d(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 40001, 80, SYN), {.options = {7, 12, 4, 0}})),
              {},
              Drop::ip_options},
             {"an option of length 1",
              0,
              c2d(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 40001, 80, SYN), {.options = {0x44, 1, 0, 0}})),
              {},
              Drop::ip_options},
             {"loose source route (accept_source_route=0)",
              0,
              c2d(ipv4(CIP, VIP, 6, tcp(CIP, VIP, 40001, 80, SYN),
                       {.options = {0x83, 7, 4, 10, 0, 0, 1, 0}})),
              {},
              Drop::ip_source_route},
         });
}

}  // namespace
}  // namespace fastvs::testing
