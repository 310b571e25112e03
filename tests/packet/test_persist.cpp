// Packet fixtures: Persistence (-p, -M), port 0 services, and the upper/lower connection
// thresholds. The pipeline is run in-process (tests/packet/pipeline.h); every output frame is
// compared byte for byte with one built independently (pktbuild computes every checksum from
// scratch).
#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

// rr over [RS2, RS1] would alternate; persistence keeps a client on its first choice, and the
// template counts as PersistConn.
TEST(PersistFixtures, ClientKeepsItsRealServer) {
  Pipeline p(1024,
             "-A -t 172.16.254.200:7000 -s rr -p 300\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.18:80 -m\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.28:80 -m\n");
  p.set_neigh(CIP2, kClient, 0);
  run_steps(p, {
                   {"first connection: rr's first pick, RS2",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 7000, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                    {}},
                   {"second connection of the client: RS2 again",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40001, 7000, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40001, 80, SYN, 63))}},
                    {}},
                   {"another client: rr goes on to RS1",
                    0,
                    c2d(tcp_pkt(CIP2, VIP, 40000, 7000, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP2, RS1, 40000, 80, SYN, 63))}},
                    {}},
                   {"and keeps it",
                    0,
                    c2d(tcp_pkt(CIP2, VIP, 40001, 7000, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP2, RS1, 40001, 80, SYN, 63))}},
                    {}},
                   {"replies of a persistent connection are SNAT'd as usual",
                    1,
                    rs2d(kRs2, tcp_pkt(RS2, CIP, 80, 40001, SYN | ACK, 64)),
                    {{0, d2c(tcp_pkt(VIP, CIP, 7000, 40001, SYN | ACK, 63))}},
                    {}},
               });
  EXPECT_EQ(p.persist.size(), 2u);
  EXPECT_EQ(dest_of(p, 7000, RS2)->persistconns(), 1);
  EXPECT_EQ(dest_of(p, 7000, RS1)->persistconns(), 1);
  EXPECT_EQ(dest_of(p, 7000, RS2)->inactconns() + dest_of(p, 7000, RS2)->activeconns(), 2);
}

// -M 255.255.255.0: every client of a /24 follows one template; another /24 schedules anew.
TEST(PersistFixtures, NetmaskGroupsClients) {
  Pipeline p(1024,
             "-A -t 172.16.254.200:7000 -s rr -p 300 -M 255.255.255.0\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.18:80 -m\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.28:80 -m\n");
  run_steps(p, {
                   {"172.16.254.10: RS2",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 7000, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                    {}},
                   {"172.16.254.11, same /24: RS2",
                    0,
                    c2d(tcp_pkt(CIP2, VIP, 40000, 7000, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP2, RS2, 40000, 80, SYN, 63))}},
                    {}},
                   {"172.16.253.10, another /24: RS1",
                    0,
                    eth(kPort0, kGw, 0x0800, tcp_pkt(CIP_OTHER_NET, VIP, 40000, 7000, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP_OTHER_NET, RS1, 40000, 80, SYN, 63))}},
                    {}},
               });
  EXPECT_EQ(p.persist.size(), 2u);
}

// The template outlives its connections by the persistence timeout, then control's sweep
// removes it and the client is scheduled anew; while it controls a connection it stays.
TEST(PersistFixtures, TemplateExpiresAfterItsConnections) {
  Pipeline p(1024,
             "-A -u 172.16.254.200:7000 -s rr -p 30\n"
             "-a -u 172.16.254.200:7000 -r 192.168.0.18:80 -m\n"
             "-a -u 172.16.254.200:7000 -r 192.168.0.28:80 -m\n");
  unsigned freed = 0;
  auto sweep = [&](uint32_t now) {
    p.persist.sweep(now, [&](Destination* d) {
      slot_add(d->slot[1].persistconns, -1);  // control's slot (one worker)
      slot_add(d->slot[1].refs, -1);
      ++freed;
    });
  };
  run_steps(p, {{"a datagram: RS2, template made",
                 0,
                 c2d(udp_pkt(CIP, VIP, 5000, 7000, 64, {1})),
                 {{1, d2rs(kRs2, udp_pkt(CIP, RS2, 5000, 80, 63, {1}))}},
                 {}}});
  // 35 s on: the template's 30 s are over but its UDP connection (300 s) still lives.
  worker_set_time(p.w, 1000 + 35 * kTicksPerSecond);
  sweep(p.w.now);
  EXPECT_EQ(freed, 0u);
  EXPECT_EQ(p.persist.size(), 1u);
  // 301 s: the connection expires; the template was re-armed for 30 s at 35 s and again at
  // 65 s... and goes at the first sweep after its last connection ended and its timer ran out.
  for (uint32_t t = 40; t <= 400; t += 5) {
    worker_set_time(p.w, 1000 + t * kTicksPerSecond);
    worker_expire(p.w, 1000);
    sweep(p.w.now);
    if (freed) break;
  }
  EXPECT_EQ(freed, 1u);
  EXPECT_EQ(p.w.conns.size(), 0u);
  run_steps(p, {{"scheduled anew: rr goes on to RS1",
                 0,
                 c2d(udp_pkt(CIP, VIP, 5001, 7000, 64, {2})),
                 {{1, d2rs(kRs1, udp_pkt(CIP, RS1, 5001, 80, 63, {2}))}},
                 {}}});
}

// ip_vs_check_template: a template whose destination was removed is re-pointed by the next
// connection; the old destination's connections keep being dropped (expire_nodest_conn=0).
TEST(PersistFixtures, TemplateOfARemovedDestinationIsRescheduled) {
  Pipeline p(1024,
             "-A -t 172.16.254.200:7000 -s rr -p 300\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.18:80 -m\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.28:80 -m\n");
  run_steps(p, {{"RS2",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 7000, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                 {}}});
  Destination* rs2 = dest_of(p, 7000, RS2);
  reconfigure(p, [](Config& c) {
    auto& d = find_svc(c, 7000)->dests;
    d.erase(std::remove_if(d.begin(), d.end(),
                           [](const DestConfig& x) { return x.rip == IpAddr::v4(0xc0a8001c); }),
            d.end());
  });
  run_steps(p, {{"a new connection: the template now names RS1",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40001, 7000, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40001, 80, SYN, 63))}},
                 {}},
                {"the old connection's packets are dropped",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 7000, ACK, 64)),
                 {},
                 Drop::dest_removed}});
  EXPECT_EQ(rs2->persistconns(), 0);
  EXPECT_EQ(dest_of(p, 7000, RS1)->persistconns(), 1);
  EXPECT_EQ(p.persist.size(), 1u);
}

// expire_quiescent_template=0 (IPVS's default): a template to a destination drained with
// weight 0 still holds, so a persistent client keeps its server while it drains.
TEST(PersistFixtures, TemplateToAQuiescedDestinationHolds) {
  Pipeline p(1024,
             "-A -t 172.16.254.200:7000 -s rr -p 300\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.18:80 -m\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.28:80 -m\n");
  p.set_neigh(CIP2, kClient, 0);
  run_steps(p, {{"RS2",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 7000, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                 {}}});
  reconfigure(p, [](Config& c) {
    for (auto& d : find_svc(c, 7000)->dests)
      if (d.rip == IpAddr::v4(0xc0a8001c)) d.weight = 0;
  });
  run_steps(p, {{"the persistent client still reaches RS2",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40001, 7000, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40001, 80, SYN, 63))}},
                 {}},
                {"a new client does not",
                 0,
                 c2d(tcp_pkt(CIP2, VIP, 40000, 7000, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP2, RS1, 40000, 80, SYN, 63))}},
                 {}}});
}

// The point of sharing templates: with a netmask, one network's clients land on different
// workers (workers own clients by address) and still reach one real server.
TEST(PersistFixtures, TemplatesHoldAcrossWorkers) {
  Pipeline p(1024,
             "-A -t 172.16.254.200:7000 -s rr -p 300 -M 255.255.255.0\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.18:80 -m\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.28:80 -m\n",
             2);
  // Both workers' rr would start at RS2; make worker 1's next pick RS1 first, so that only the
  // template can send its client to RS2.
  const auto warm = p.run_on(p.w2, 0, c2d(tcp_pkt("172.16.250.1", VIP, 1, 7000, SYN, 64)));
  ASSERT_EQ(warm.size(), 1u);
  EXPECT_EQ(warm[0].second, d2rs(kRs2, tcp_pkt("172.16.250.1", RS2, 1, 80, SYN, 63)));
  const auto a = p.run_on(p.w, 0, c2d(tcp_pkt(CIP, VIP, 40000, 7000, SYN, 64)));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].second, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63)));
  const auto b = p.run_on(p.w2, 0, c2d(tcp_pkt(CIP2, VIP, 40000, 7000, SYN, 64)));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].second, d2rs(kRs2, tcp_pkt(CIP2, RS2, 40000, 80, SYN, 63)))
      << "worker 1's client followed worker 0's template";
  EXPECT_EQ(p.persist.size(), 2u);  // 172.16.250.0/24 and 172.16.254.0/24
  Destination* rs2 = dest_of(p, 7000, RS2);
  EXPECT_EQ(rs2->persistconns(), 2);
  EXPECT_EQ(rs2->totalconns(), 3);  // summed over both workers' slots
  EXPECT_EQ(p.w.conns.size(), 1u);
  EXPECT_EQ(p.w2.conns.size(), 2u);
}

// A port 0 service takes every port of its VIP; each connection keeps the port it was made to.
TEST(PersistFixtures, PortZeroService) {
  Pipeline p(1024,
             "-A -t 172.16.254.201:0 -s rr -p\n"
             "-a -t 172.16.254.201:0 -r 192.168.0.18 -m\n");
  const std::string VIP2 = "172.16.254.201";
  run_steps(p, {
                   {"port 22",
                    0,
                    c2d(tcp_pkt(CIP, VIP2, 40000, 22, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40000, 22, SYN, 63))}},
                    {}},
                   {"its reply",
                    1,
                    rs2d(kRs1, tcp_pkt(RS1, CIP, 22, 40000, SYN | ACK, 64)),
                    {{0, d2c(tcp_pkt(VIP2, CIP, 22, 40000, SYN | ACK, 63))}},
                    {}},
                   {"port 8888 of the same VIP",
                    0,
                    c2d(tcp_pkt(CIP, VIP2, 40001, 8888, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40001, 8888, SYN, 63))}},
                    {}},
                   {"the VIP's exact UDP 53 service still wins",
                    0,
                    c2d(udp_pkt(CIP, VIP2, 5000, 53, 64, {1})),
                    {{1, d2rs(kRs2, udp_pkt(CIP, RS2, 5000, 5353, 63, {1}))}},
                    {}},
               });
}

// -x/-y: at its upper threshold a destination is OVERLOADED and skipped; it comes back once
// below the lower threshold (ip_vs_bind_dest / ip_vs_unbind_dest).
TEST(ThresholdFixtures, OverloadedDestinationIsSkippedUntilBelowLower) {
  Pipeline p(1024,
             "-A -t 172.16.254.200:7000 -s rr\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.18:80 -m\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.28:80 -m -x 2 -y 1\n");
  auto syn = [&](uint16_t port) {
    const auto out = p.run(0, c2d(tcp_pkt(CIP, VIP, port, 7000, SYN, 64)));
    EXPECT_EQ(out.size(), 1u);
    return out.empty()                                                         ? std::string("none")
           : out[0].second == d2rs(kRs2, tcp_pkt(CIP, RS2, port, 80, SYN, 63)) ? "RS2"
           : out[0].second == d2rs(kRs1, tcp_pkt(CIP, RS1, port, 80, SYN, 63)) ? "RS1"
                                                                               : "other";
  };
  Destination* rs2 = dest_of(p, 7000, RS2);
  EXPECT_EQ(syn(1), "RS2");
  EXPECT_EQ(syn(2), "RS1");
  EXPECT_FALSE(rs2->overloaded());
  // Connections stay in SYN_RECV (60 s): the next ones come 30 s later, to expire apart.
  worker_set_time(p.w, 1000 + 30 * kTicksPerSecond);
  EXPECT_EQ(syn(3), "RS2");  // RS2 now holds 2 = its upper threshold
  EXPECT_TRUE(rs2->overloaded());
  EXPECT_EQ(syn(4), "RS1");
  EXPECT_EQ(syn(5), "RS1");  // rr skips the overloaded RS2
  // The first RS2 connection expires: RS2 holds 1, not below its lower threshold of 1.
  worker_set_time(p.w, 1000 + 61 * kTicksPerSecond);
  worker_expire(p.w, 1000);
  EXPECT_EQ(rs2->totalconns(), 1);
  EXPECT_TRUE(rs2->overloaded());
  worker_set_time(p.w, 1000 + 91 * kTicksPerSecond);
  worker_expire(p.w, 1000);
  EXPECT_EQ(rs2->totalconns(), 0);
  EXPECT_FALSE(rs2->overloaded());
  EXPECT_EQ(syn(6), "RS2");
}

// __ip_vs_update_dest: raising the upper threshold (or removing it) lifts the overload at once.
TEST(ThresholdFixtures, RaisingTheThresholdLiftsTheOverload) {
  Pipeline p(1024,
             "-A -t 172.16.254.200:7000 -s rr\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.28:80 -m -x 1\n");
  p.run(0, c2d(tcp_pkt(CIP, VIP, 1, 7000, SYN, 64)));
  Destination* rs2 = dest_of(p, 7000, RS2);
  EXPECT_TRUE(rs2->overloaded());
  run_steps(p, {{"the only destination is overloaded",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 2, 7000, SYN, 64)),
                 {},
                 Drop::no_dest}});
  reconfigure(p, [](Config& c) { find_svc(c, 7000)->dests[0].u_threshold = 5; });
  EXPECT_FALSE(rs2->overloaded());
  run_steps(p, {{"accepted again",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 3, 7000, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 3, 80, SYN, 63))}},
                 {}}});
}

}  // namespace
}  // namespace fastvs::testing
