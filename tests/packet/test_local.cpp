// Packet fixtures: What the director answers itself: ARP and ICMP echo for its addresses
// (rate-limited), ARP for unresolved next hops, what ARP heard on the wire does to the neighbour
// table. The pipeline is run in-process (tests/packet/pipeline.h); every output frame is compared
// byte for byte with one built independently (pktbuild computes every checksum from scratch).
#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

TEST(LocalFixtures, ArpAndEcho) {
  Pipeline p;
  run_steps(p, {
                   {"ARP who-has VIP on dpdk0 is answered",
                    0,
                    eth(kBcast, kClient, 0x0806, arp(1, kClient, CIP, kZero, VIP)),
                    {{0, eth(kClient, kPort0, 0x0806, arp(2, kPort0, VIP, kClient, CIP))}},
                    {}},
                   {"ARP who-has DIP on dpdk1 is answered",
                    1,
                    eth(kBcast, kRs1, 0x0806, arp(1, kRs1, RS1, kZero, DIP)),
                    {{1, eth(kRs1, kPort1, 0x0806, arp(2, kPort1, DIP, kRs1, RS1))}},
                    {}},
                   {"ARP for the DIP on the client port is not ours",
                    0,
                    eth(kBcast, kClient, 0x0806, arp(1, kClient, CIP, kZero, DIP)),
                    {},
                    Drop::arp_not_ours},
                   {"ARP for a stranger is not ours",
                    0,
                    eth(kBcast, kClient, 0x0806, arp(1, kClient, CIP, kZero, "172.16.254.77")),
                    {},
                    Drop::arp_not_ours},
                   {"echo to the VIP is answered",
                    0,
                    c2d(ipv4(CIP, VIP, 1, icmp_echo(8, 7, 1, {1, 2, 3}), {.ttl = 64})),
                    {{0, d2c(ipv4(VIP, CIP, 1, icmp_echo(0, 7, 1, {1, 2, 3}), {.ttl = 64}))}},
                    {}},
                   {"echo to the DIP is answered",
                    1,
                    rs2d(kRs1, ipv4(RS1, DIP, 1, icmp_echo(8, 9, 2), {.ttl = 64})),
                    {{1, d2rs(kRs1, ipv4(DIP, RS1, 1, icmp_echo(0, 9, 2), {.ttl = 64}))}},
                    {}},
                   {"other ICMP to us is dropped",
                    0,
                    c2d(ipv4(CIP, VIP, 1, icmp_echo(13, 1, 1), {.ttl = 64})),
                    {},
                    Drop::icmp_other},
               });
}

TEST(LocalFixtures, UnresolvedNextHopIsResolvedByArp) {
  Pipeline p;
  p.neigh.clear(ip_be(RS2));
  const Bytes syn = c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64));
  const Bytes fwd = d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63));
  run_steps(p, {
                   {"no MAC for RS2: an ARP request from the DIP goes out, the packet waits",
                    0,
                    syn,
                    {{1, eth(kBcast, kPort1, 0x0806, arp(1, kPort1, DIP, kZero, RS2))}},
                    {}},
                   {"the retransmitted SYN within the second: no second ARP request, it waits",
                    0,
                    syn,
                    {},
                    {}},
                   {"RS2 answers; the reply is learned (through control), not forwarded",
                    1,
                    eth(kPort1, kRs2, 0x0806, arp(2, kRs2, RS2, kPort1, DIP)),
                    {},
                    {}},
               });
  EXPECT_EQ(p.w.npending, 2u);
  EXPECT_EQ(p.neigh.drain(p.learn), 1u);
  // As the kernel's neighbour queue: what waited goes first, in order, at the next burst.
  run_steps(p, {
                   {"the waiting SYNs go out, then the next one",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 80, ACK, 64)),
                    {{1, fwd}, {1, fwd}, {1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, ACK, 63))}},
                    {}},
               });
  EXPECT_EQ(p.w.npending, 0u);
}

// A next hop that never answers: its packets are dropped once 3 s old (the kernel's three
// probes a second apart), and a full queue drops its oldest for a newer one.
TEST(LocalFixtures, WaitingPacketsExpireAndAreBounded) {
  Pipeline p;
  p.neigh.clear(ip_be(RS2));
  const auto neigh_unresolved = [&] {
    return p.w.ctr.drops[static_cast<unsigned>(Drop::neigh_unresolved)];
  };
  p.run(0, c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)));
  EXPECT_EQ(p.w.npending, 1u);
  worker_set_time(p.w, p.w.now_tsc + Worker::kPendingTicks - 1);
  worker_retry_pending(p.w);
  EXPECT_EQ(p.w.npending, 1u);
  EXPECT_EQ(neigh_unresolved(), 0u);
  worker_set_time(p.w, p.w.now_tsc + 1);
  worker_retry_pending(p.w);
  EXPECT_EQ(p.w.npending, 0u);
  EXPECT_EQ(neigh_unresolved(), 1u);
  // wrr over [RS2, RS1]: every other SYN goes to RS1 (known) and is sent; RS2's wait, and the
  // three beyond the queue's room push the oldest out.
  for (uint16_t i = 0; i < 2 * (Worker::kPendingMax + 3); ++i)
    p.run(0, c2d(tcp_pkt(CIP, VIP, static_cast<uint16_t>(41000 + i), 80, SYN, 64)));
  EXPECT_EQ(p.w.npending, Worker::kPendingMax);
  EXPECT_EQ(neigh_unresolved(), 4u);
  worker_drop_pending(p.w);
  EXPECT_EQ(p.w.npending, 0u);
}

// The worker's next-hop cache follows the neighbour table and the routes at once.
TEST(LocalFixtures, NextHopChangesTakeEffectAtOnce) {
  Pipeline p;
  const Mac moved = mac("aa:00:00:00:99:28");
  run_steps(p, {{"to RS2's MAC",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 46000, 80, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 46000, 80, SYN, 63))}},
                 {}}});
  p.set_neigh(RS2, moved, 1);  // RS2's MAC changed (a learned ARP, a static neighbour)
  run_steps(p, {{"to the new MAC",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 46000, 80, ACK, 64)),
                 {{1, eth(moved, kPort1, 0x0800, tcp_pkt(CIP, RS2, 46000, 80, ACK, 63))}},
                 {}}});
  p.neigh.clear(ip_be(RS2));
  run_steps(p, {{"gone: ARP again (the packet waits for the answer)",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 46000, 80, ACK, 64)),
                 {{1, eth(kBcast, kPort1, 0x0806, arp(1, kPort1, DIP, kZero, RS2))}},
                 {}}});
  EXPECT_EQ(p.w.npending, 1u);
}

TEST(LocalFixtures, ArpHeardOnTheWireDoesNotCreateEntries) {
  Pipeline p;
  const std::string stranger = "172.16.254.77";
  run_steps(p, {
                   {"a request between two other hosts",
                    0,
                    eth(kBcast, mac("c0:00:00:00:00:77"), 0x0806,
                        arp(1, mac("c0:00:00:00:00:77"), stranger, kZero, "172.16.254.78")),
                    {},
                    Drop::arp_not_ours},
               });
  EXPECT_EQ(p.neigh.drain(p.learn), 0u);
  run_steps(p, {
                   {"a request to us from the same host",
                    0,
                    eth(kBcast, mac("c0:00:00:00:00:77"), 0x0806,
                        arp(1, mac("c0:00:00:00:00:77"), stranger, kZero, VIP)),
                    {{0, eth(mac("c0:00:00:00:00:77"), kPort0, 0x0806,
                             arp(2, kPort0, VIP, mac("c0:00:00:00:00:77"), stranger))}},
                    {}},
               });
  EXPECT_EQ(p.neigh.drain(p.learn), 1u);
}

// A flood of ARP and echo requests to our addresses: each worker answers what its buckets hold
// (--arp-rate, --icmp-rate: here 80 a second, 8 deep, 5 a tick), drops and counts the rest, and
// forwards an established flow's packets in the same bursts as if alone.
TEST(LocalFixtures, ArpAndEchoAnswersAreRateLimited) {
  Pipeline p;
  p.w.arp_bucket = TokenBucket::tenth_deep(80);
  p.w.echo_bucket = TokenBucket::tenth_deep(80);
  ASSERT_EQ(p.w.arp_bucket.depth(), 8u);
  run_steps(p, {{"SYN to the VIP goes to RS2",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                 {}}});
  const Bytes arp_req = eth(kBcast, kClient, 0x0806, arp(1, kClient, CIP, kZero, VIP));
  const Bytes arp_rep = eth(kClient, kPort0, 0x0806, arp(2, kPort0, VIP, kClient, CIP));
  // 32 frames: 12 ARP requests, 12 echo requests, 8 packets of the established flow, mixed.
  // `answers`: how many of each kind the buckets hold at that moment. Port 0's buffer (ARP and
  // echo replies, in arrival order) drains before port 1's (the flow, to RS2).
  uint16_t seq = 0;
  auto burst = [&](unsigned answers) {
    std::vector<std::pair<uint16_t, Bytes>> in, want, data_out;
    unsigned arps = 0, echoes = 0;
    for (unsigned i = 0; i < 32; ++i, ++seq) {
      const unsigned k = i % 8;  // A E A E A E D D
      if (k >= 6) {
        const Bytes data(1, static_cast<uint8_t>(seq));
        in.emplace_back(0, c2d(tcp_pkt(CIP, VIP, 40000, 80, ACK, 64, data)));
        data_out.emplace_back(1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, ACK, 63, data)));
      } else if (k % 2 == 0) {
        in.emplace_back(0, arp_req);
        if (arps++ < answers) want.emplace_back(0, arp_rep);
      } else {
        in.emplace_back(0, c2d(ipv4(CIP, VIP, 1, icmp_echo(8, 7, seq, {1, 2}), {.ttl = 64})));
        if (echoes++ < answers)
          want.emplace_back(0, d2c(ipv4(VIP, CIP, 1, icmp_echo(0, 7, seq, {1, 2}), {.ttl = 64})));
      }
    }
    want.insert(want.end(), data_out.begin(), data_out.end());
    return std::pair{in, want};
  };
  auto check = [&](const char* what, unsigned answers) {
    SCOPED_TRACE(what);
    const WorkerCounters before = p.w.ctr;
    const auto [in, want] = burst(answers);
    run_burst(p, in, want);
    for (unsigned d = 0; d < kDropCount; ++d) {
      const auto r = static_cast<Drop>(d);
      const uint64_t delta = p.w.ctr.drops[d] - before.drops[d];
      const uint64_t expect =
          r == Drop::arp_rate_limited || r == Drop::echo_rate_limited ? 12 - answers : 0;
      EXPECT_EQ(delta, expect) << "drop counter " << drop_name(r);
    }
    EXPECT_EQ(p.w.ctr.arp_replies - before.arp_replies, answers);
    EXPECT_EQ(p.w.ctr.echo_replies - before.echo_replies, answers);
    EXPECT_EQ(p.w.ctr.nat_in - before.nat_in, 8u);
  };
  check("full buckets: 8 of 12 answered", 8);
  check("same tick, empty buckets: none answered", 0);
  worker_set_time(p.w, 1000 + 1);
  check("one tick later: 80/16 = 5 answered", 5);
  worker_set_time(p.w, 1000 + 1 + kTicksPerSecond);
  check("a second later: full again, 8 (the depth, not 80)", 8);
  EXPECT_EQ(p.neigh.drain(p.learn), 0u);
}

TEST(LocalFixtures, ArpRequestOverTheLimitIsNotLearnedFrom) {
  Pipeline p;
  p.w.arp_bucket = TokenBucket(16, 1);
  const Mac stranger_mac = mac("c0:00:00:00:00:77");
  const std::string stranger = "172.16.254.77";
  const Bytes req = eth(kBcast, stranger_mac, 0x0806, arp(1, stranger_mac, stranger, kZero, VIP));
  const Bytes rep = eth(stranger_mac, kPort0, 0x0806, arp(2, kPort0, VIP, stranger_mac, stranger));
  run_steps(
      p,
      {{"the client's request takes the one token",
        0,
        eth(kBcast, kClient, 0x0806, arp(1, kClient, CIP, kZero, VIP)),
        {{0, eth(kClient, kPort0, 0x0806, arp(2, kPort0, VIP, kClient, CIP))}},
        {}},
       {"a stranger's request over the limit", 0, req, {}, Drop::arp_rate_limited},
       {"ARP not for us is not limited",
        0,
        eth(kBcast, stranger_mac, 0x0806, arp(1, stranger_mac, stranger, kZero, "172.16.254.78")),
        {},
        Drop::arp_not_ours}});
  EXPECT_EQ(p.neigh.drain(p.learn), 0u);
  worker_set_time(p.w, 1000 + 1);
  run_steps(p, {{"a tick later: answered and learned", 0, req, {{0, rep}}, {}}});
  EXPECT_EQ(p.neigh.drain(p.learn), 1u);
}

TEST(LocalFixtures, RateZeroAnswersNothing) {
  Pipeline p;
  p.w.arp_bucket = TokenBucket::tenth_deep(0);
  p.w.echo_bucket = TokenBucket::tenth_deep(0);
  run_steps(p, {{"ARP who-has VIP",
                 0,
                 eth(kBcast, kClient, 0x0806, arp(1, kClient, CIP, kZero, VIP)),
                 {},
                 Drop::arp_rate_limited},
                {"echo to the VIP",
                 0,
                 c2d(ipv4(CIP, VIP, 1, icmp_echo(8, 7, 1), {.ttl = 64})),
                 {},
                 Drop::echo_rate_limited}});
  worker_set_time(p.w, 1000 + 100 * kTicksPerSecond);
  run_steps(p, {{"echo, much later",
                 0,
                 c2d(ipv4(CIP, VIP, 1, icmp_echo(8, 7, 2), {.ttl = 64})),
                 {},
                 Drop::echo_rate_limited}});
}

// keepalived's adverts reach the host (the kernel path) whatever they hold: the data plane reads
// no further than their IP header, so a malformed one or one of an unknown group is keepalived's
// or the kernel's to refuse. They and the ARP replies to the host have a budget of their own,
// which a flood of other traffic for the host does not spend.
TEST(LocalFixtures, VrrpGoesToTheHostOnItsOwnBudget) {
  Pipeline p;
  rte_ring* ring = rte_ring_create("fx_vrrp_kernel", 256, 0, RING_F_SC_DEQ);
  ASSERT_NE(ring, nullptr);
  p.w.to_kernel = ring;
  p.w.kernel_bucket = TokenBucket::tenth_deep(10);  // one token
  const Mac vrrp_mcast = mac("01:00:5e:00:00:12");
  // A VRRPv2 advert from the other director (vrid 51, priority 100, one address), and one cut
  // short after its first byte.
  const Bytes advert = {0x21, 51, 100, 1, 0, 1, 0, 0, 172, 16, 254, 200, 0, 0, 0, 0, 0, 0, 0, 0};
  const auto vrrp = [&](const Bytes& body) {
    return eth(vrrp_mcast, kClient, 0x0800,
               ipv4("172.16.254.3", "224.0.0.18", 112, body, {.ttl = 255, .df = false}));
  };
  const auto udp_to_host = c2d(udp_pkt(CIP, VIP, 5000, 9999, 64, {1}));
  const auto counts = [&] {
    return std::make_tuple(rte_ring_count(ring), p.w.ctr.to_kernel_ctl.get(),
                           p.w.ctr.drops[static_cast<unsigned>(Drop::kernel_path_limit)].get());
  };
  run_steps(p, {{"other traffic for the host spends the general budget", 0, udp_to_host, {}, {}},
                {"and then is over it", 0, udp_to_host, {}, Drop::kernel_path_limit}});
  EXPECT_EQ(counts(), std::make_tuple(1u, uint64_t{0}, uint64_t{1}));
  run_steps(p, {{"an advert still reaches the host", 0, vrrp(advert), {}, {}},
                {"a malformed one too: keepalived's to refuse", 0, vrrp({0x21}), {}, {}}});
  EXPECT_EQ(counts(), std::make_tuple(3u, uint64_t{2}, uint64_t{1}));
  // Their budget is spent too, in the end: counted apart.
  p.w.kernel_ctl_bucket = TokenBucket::tenth_deep(0);
  run_steps(p, {{"over their own budget", 0, vrrp(advert), {}, Drop::kernel_ctl_limit}});
  rte_mbuf* m;
  while (rte_ring_dequeue(ring, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
  rte_ring_free(ring);
}

}  // namespace
}  // namespace fastvs::testing
