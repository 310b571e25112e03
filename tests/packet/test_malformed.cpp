// Packet fixtures: Malformed and refused packets: each dropped and counted by its reason.
// The pipeline is run in-process (tests/packet/pipeline.h); every output frame is compared byte
// for byte with one built independently (pktbuild computes every checksum from scratch).
#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

TEST(MalformedFixtures, DroppedByReason) {
  Pipeline p;
  const Bytes good = c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64));
  auto mutate = [&](auto f) {
    Bytes b = good;
    f(b);
    return b;
  };
  run_steps(
      p,
      {
          {"runt frame", 0, Bytes(10, 0), {}, Drop::eth_truncated},
          {"LLDP ethertype",
           0,
           mutate([](Bytes& b) {
             b[12] = 0x88;
             b[13] = 0xcc;
           }),
           {},
           Drop::ethertype},
          {"IP header cut", 0, Bytes(good.begin(), good.begin() + 30), {}, Drop::ip_truncated},
          {"IP version 6", 0, mutate([](Bytes& b) { b[14] = 0x65; }), {}, Drop::ip_version},
          {"IHL 4", 0, mutate([](Bytes& b) { b[14] = 0x44; }), {}, Drop::ip_ihl},
          {"total length beyond the frame",
           0,
           mutate([](Bytes& b) { b[16] = 0x10; }),
           {},
           Drop::ip_total_length},
          {"bad IP checksum", 0, mutate([](Bytes& b) { b[24] ^= 0xff; }), {}, Drop::ip_checksum},
          {"TCP header cut", 0, c2d(ipv4(CIP, VIP, 6, Bytes(12, 0))), {}, Drop::l4_truncated},
          {"TCP data offset past the end",
           0,
           mutate([](Bytes& b) { b[14 + 20 + 12] = 0xf0; }),
           {},
           Drop::tcp_doff},
          {"non-first fragment of no datagram seen",
           0,
           c2d([] {
             Bytes ip = tcp_pkt(CIP, VIP, 40000, 80, SYN, 64);
             ip[6] = 0x00;
             ip[7] = 0x10;  // offset 128 bytes
             ip[10] = ip[11] = 0;
             uint64_t s = 0;
             for (int i = 0; i < 20; i += 2) s += uint32_t{ip[i]} << 8 | ip[i + 1];
             while (s >> 16) s = (s & 0xffff) + (s >> 16);
             ip[10] = static_cast<uint8_t>(~s >> 8);
             ip[11] = static_cast<uint8_t>(~s);
             return ip;
           }()),
           {},
           Drop::frag_unknown},
          {"ICMP error with a cut quote",
           0,
           c2d(ipv4(CIP, VIP, 1, icmp_error(3, 3, 0, Bytes(10, 0x45)))),
           {},
           Drop::icmp_malformed},
          {"malformed ARP", 0, eth(kBcast, kClient, 0x0806, Bytes(20, 0)), {}, Drop::arp_malformed},
          {"the good packet still passes",
           0,
           good,
           {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
           {}},
      });
}

TEST(MalformedFixtures, WhatTheKernelRefusesBeforeRouting) {
  Pipeline p;
  run_steps(
      p, {
             {"unicast to another host's MAC (promiscuous port)",
              0,
              eth(mac("02:99:99:99:99:99"), kClient, 0x0800, tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
              {},
              Drop::other_host},
             {"source 127.0.0.1",
              0,
              c2d(tcp_pkt("127.0.0.1", VIP, 40000, 80, SYN, 64)),
              {},
              Drop::martian_source},
             {"source 0.0.0.0",
              0,
              c2d(tcp_pkt("0.0.0.0", VIP, 40000, 80, SYN, 64)),
              {},
              Drop::martian_source},
             {"source multicast",
              0,
              c2d(tcp_pkt("224.0.0.1", VIP, 40000, 80, SYN, 64)),
              {},
              Drop::martian_source},
             {"source is our own VIP",
              0,
              c2d(tcp_pkt(VIP, VIP, 80, 80, SYN, 64)),
              {},
              Drop::martian_source},
             // ip_mc_validate_source: 0.0.0.0 only to a group, and only in 224.0.0.0/24 or IGMP.
             {"source 0.0.0.0 to a group beyond 224.0.0.0/24, not IGMP",
              0,
              eth(mac("01:00:5e:01:02:03"), kClient, 0x0800,
                  udp_pkt("0.0.0.0", "239.1.2.3", 5000, 5000, 1, {1})),
              {},
              Drop::martian_source},
             {"source 0.0.0.0, IGMPv3 report to 224.0.0.22: the host's (no kernel path here)",
              0,
              eth(mac("01:00:5e:00:00:16"), kClient, 0x0800,
                  ipv4("0.0.0.0", "224.0.0.22", 2, Bytes{0x22, 0, 0xdd, 0xff, 0, 0, 0, 0},
                       {.ttl = 1})),
              {},
              Drop::no_service},
             {"source 0.0.0.0 to 224.0.0.251 (local control block): the host's",
              0,
              eth(mac("01:00:5e:00:00:fb"), kClient, 0x0800,
                  udp_pkt("0.0.0.0", "224.0.0.251", 5353, 5353, 1, {1})),
              {},
              Drop::no_service},
         });
}

// Random garbage never crashes the pipeline and every frame is accounted for.
TEST(MalformedFixtures, GarbageIsAccountedFor) {
  Pipeline p;
  uint32_t seed = 12345;
  auto rnd = [&seed] { return seed = seed * 1103515245 + 12345, (seed >> 16) & 0xff; };
  const Bytes good = c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64));
  uint64_t dropped = 0, sent = 0;
  for (int i = 0; i < 5000; ++i) {
    Bytes b = good;
    b.resize(rnd() % (good.size() + 8));
    for (int k = 0; k < 4; ++k)
      if (!b.empty()) b[rnd() % b.size()] = static_cast<uint8_t>(rnd());
    const WorkerCounters before = p.w.ctr;
    sent += p.run(0, b).size();
    uint64_t d = 0;
    for (unsigned r = 0; r < kDropCount; ++r) d += p.w.ctr.drops[r] - before.drops[r];
    dropped += d;
  }
  EXPECT_EQ(p.w.ctr.rx, 5000u);
  // Every frame was either dropped with a reason or transmitted (an ARP request may go out for
  // a frame that was then dropped, so transmitted + dropped >= received).
  EXPECT_GE(dropped + sent, 5000u);
  EXPECT_GT(dropped, 4000u);
}

}  // namespace
}  // namespace fastvs::testing
