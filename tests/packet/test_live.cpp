// Packet fixtures: Configuration changes under live connections (scheduler state, removed
// destinations, hash schedulers through the snapshot) and bursts, which must equal their packets
// one at a time. The pipeline is run in-process (tests/packet/pipeline.h); every output frame is
// compared byte for byte with one built independently (pktbuild computes every checksum from
// scratch).
#include "tests/packet/pipeline.h"

#include <stdexcept>

namespace fastvs::testing {
namespace {

// An unrelated change: a service of its own (VIP:443, rr, one real server).
void add_unrelated_service(Config& c) {
  ServiceConfig s;
  s.key = ServiceKey{Proto::Tcp, IpAddr::v4(0xac10fec8), 443};
  s.scheduler = "rr";
  s.dests.push_back(DestConfig{IpAddr::v4(0xc0a80012), 443, ForwardMethod::Masq, 1, 0, 0});
  c.services.push_back(s);
}

// A SYN from cip:sport to VIP:80, scheduled to the real server rs (rip).
Step syn(const std::string& cip, uint16_t sport, const Mac& rs, const std::string& rip) {
  return Step{"SYN from " + cip + ":" + std::to_string(sport),
              0,
              c2d(tcp_pkt(cip, VIP, sport, 80, SYN, 64)),
              {{1, d2rs(rs, tcp_pkt(cip, rip, sport, 80, SYN, 63))}},
              {}};
}

// An unrelated change (a service added) does not restart another service's wrr sequence; a
// weight change takes effect for the next new connection.
TEST(LiveFixtures, SchedulerStateOutlivesUnrelatedChanges) {
  Pipeline p;
  run_steps(p, {{"wrr's first pick",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 41000, 80, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 41000, 80, SYN, 63))}},
                 {}}});
  reconfigure(p, add_unrelated_service);
  run_steps(p, {{"continues with RS1, not back to RS2",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 41001, 80, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 41001, 80, SYN, 63))}},
                 {}}});
  reconfigure(p, [](Config& c) {
    for (auto& d : find_svc(c, 80)->dests)
      if (d.rip == IpAddr::v4(0xc0a80012)) d.weight = 0;  // drain RS1
  });
  run_steps(p, {
                   {"new connections avoid the drained RS1",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 41002, 80, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 41002, 80, SYN, 63))}},
                    {}},
                   {"again",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 41003, 80, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 41003, 80, SYN, 63))}},
                    {}},
                   {"RS1's existing connection goes on",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 41001, 80, ACK, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 41001, 80, ACK, 63))}},
                    {}},
               });
}

// -d with IPVS's default expire_nodest_conn=0: the connection stays, its packets are dropped
// and counted, its timer is not restarted; adding the destination back revives it (the trash).
TEST(LiveFixtures, RemovedDestinationsConnectionsAreDroppedUntilItReturns) {
  Pipeline p;
  run_steps(p, {{"open to RS2",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 42000, 80, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 42000, 80, SYN, 63))}},
                 {}}});
  DestConfig saved;
  reconfigure(p, [&](Config& c) {
    auto& ds = find_svc(c, 80)->dests;
    for (auto it = ds.begin(); it != ds.end(); ++it)
      if (it->rip == IpAddr::v4(0xc0a8001c)) {
        saved = *it;
        ds.erase(it);
        break;
      }
  });
  run_steps(p, {
                   {"the client's packet is dropped",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 42000, 80, ACK, 64)),
                    {},
                    Drop::dest_removed},
                   {"the server's reply still goes back (ip_vs_out does not check)",
                    1,
                    rs2d(kRs2, tcp_pkt(RS2, CIP, 80, 42000, SYN | ACK, 64)),
                    {{0, d2c(tcp_pkt(VIP, CIP, 80, 42000, SYN | ACK, 63))}},
                    {}},
                   {"a new connection goes to the one left",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 42001, 80, SYN, 64)),
                    {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 42001, 80, SYN, 63))}},
                    {}},
               });
  EXPECT_EQ(p.store.trashed(), 1u);
  EXPECT_EQ(p.store.reclaim(), 0u);  // a connection still uses it
  reconfigure(p, [&](Config& c) {
    auto& ds = find_svc(c, 80)->dests;
    ds.insert(ds.begin(), saved);
  });
  EXPECT_EQ(p.store.trashed(), 0u);
  run_steps(p, {{"back: the connection flows again",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 42000, 80, ACK, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 42000, 80, ACK, 63))}},
                 {}}});
  // Removed again, and its connection expires: then it is freed.
  reconfigure(p, [&](Config& c) {
    auto& ds = find_svc(c, 80)->dests;
    ds.erase(std::remove_if(ds.begin(), ds.end(),
                            [](const DestConfig& d) { return d.rip == IpAddr::v4(0xc0a8001c); }),
             ds.end());
  });
  worker_set_time(p.w, 1000 + 1000 * kTicksPerSecond);
  worker_expire(p.w, 1000);
  EXPECT_EQ(p.store.reclaim(), 1u);
  EXPECT_EQ(p.store.trashed(), 0u);
}

// dh and mh through the snapshot: control builds their tables (mh's from last_weight), the
// worker hashes the VIP (dh) or the client (mh). Service 80's list is RS2, RS1. The mh picks
// come from tests/unit/dataplane/mh_reference.py (ip_vs_mh.c in Python): 172.16.254.10 -> entry
// 1364 = RS2; with mh-port, :43003 -> RS1 and :43002 -> RS2; RS2 quiesced, mh-fallback -> RS1.
TEST(LiveFixtures, HashSchedulersThroughTheSnapshot) {
  Pipeline p;
  auto refused = [](uint16_t sport) {
    return Step{"no destination for :" + std::to_string(sport),
                0,
                c2d(tcp_pkt(CIP, VIP, sport, 80, SYN, 64)),
                {},
                Drop::no_dest};
  };
  auto svc80 = [&p] { return p.snap->find_service(6, ip_be(VIP), htons(80)); };
  reconfigure(p, [](Config& c) { find_svc(c, 80)->scheduler = "mh"; });
  ASSERT_EQ(svc80()->table.size(), kMhTabSize);
  run_steps(p, {syn(CIP, 43000, kRs2, RS2), syn(CIP, 43001, kRs2, RS2)});
  reconfigure(p, [](Config& c) { find_svc(c, 80)->sched_flags = kSchedMhPort; });
  run_steps(p, {syn(CIP, 43003, kRs1, RS1), syn(CIP, 43002, kRs2, RS2)});
  // -w 0 on RS2: the table stays (last_weight), RS2's clients get none without mh-fallback.
  const std::vector<Destination*> table = svc80()->table;
  reconfigure(p, [](Config& c) {
    ServiceConfig* s = find_svc(c, 80);
    s->sched_flags = 0;
    for (auto& d : s->dests)
      if (d.rip == IpAddr::v4(0xc0a8001c)) d.weight = 0;
  });
  EXPECT_EQ(svc80()->table, table);
  run_steps(p, {refused(43004)});
  reconfigure(p, [](Config& c) { find_svc(c, 80)->sched_flags = kSchedMhFallback; });
  run_steps(p, {syn(CIP, 43005, kRs1, RS1)});
  // dh: hash_32(172.16.254.200, 8) = 114, bucket 114 of "RS2 RS1 ..." = RS2, for any client.
  reconfigure(p, [](Config& c) {
    ServiceConfig* s = find_svc(c, 80);
    s->scheduler = "dh";
    s->sched_flags = 0;
    for (auto& d : s->dests) d.weight = 1;
  });
  ASSERT_EQ(svc80()->table.size(), kDhTabSize);
  run_steps(p, {syn(CIP, 43006, kRs2, RS2), syn("198.51.100.7", 43007, kRs2, RS2)});
  reconfigure(p, [](Config& c) {
    for (auto& d : find_svc(c, 80)->dests)
      if (d.rip == IpAddr::v4(0xc0a8001c)) d.weight = 0;
  });
  run_steps(p, {refused(43008)});
  // twos through the worker: RS2 quiesced, so both draws are RS1; RS1 quiesced, RS2 back.
  reconfigure(p, [](Config& c) { find_svc(c, 80)->scheduler = "twos"; });
  run_steps(p, {syn(CIP, 43009, kRs1, RS1), syn("198.51.100.7", 43010, kRs1, RS1)});
  reconfigure(p, [](Config& c) {
    for (auto& d : find_svc(c, 80)->dests) d.weight = d.rip == IpAddr::v4(0xc0a8001c) ? 1 : 0;
  });
  run_steps(p, {syn(CIP, 43011, kRs2, RS2), syn(CIP, 43012, kRs2, RS2)});
}

// lblc through the worker: the VIP (every connection's destination address) stays with the
// server that took it first, however the counts go, until that server leaves; the table's
// references keep a removed server in the trash until the table lets go of it, and a service
// that leaves takes its table with it (ip_vs_lblc_done_svc). Service 80's list is RS2, RS1.
TEST(LiveFixtures, LocalitySchedulersThroughTheWorker) {
  Pipeline p;
  // Weights of 10: a SYN makes an active connection (Linux >= 4.8), and a server with more
  // active connections than its weight gives the address up when the other has room.
  reconfigure(p, [](Config& c) {
    find_svc(c, 80)->scheduler = "lblc";
    for (auto& d : find_svc(c, 80)->dests) d.weight = 10;
  });
  // wlc would send the second to RS1 (RS2 has a connection now); lblc keeps the VIP on RS2.
  run_steps(p, {syn(CIP, 44000, kRs2, RS2), syn("198.51.100.7", 44001, kRs2, RS2),
                syn(CIP, 44002, kRs2, RS2)});
  ASSERT_EQ(p.w.loc_ids.size(), 1u);
  // An unrelated change keeps the table.
  reconfigure(p, add_unrelated_service);
  run_steps(p, {syn(CIP, 44003, kRs2, RS2)});
  // RS2 removed: the VIP moves to RS1. Once RS2's connections expire it is freed: the table
  // holds no reference on it any more.
  reconfigure(p, [](Config& c) {
    auto& ds = find_svc(c, 80)->dests;
    ds.erase(std::remove_if(ds.begin(), ds.end(),
                            [](const DestConfig& d) { return d.rip == IpAddr::v4(0xc0a8001c); }),
             ds.end());
  });
  run_steps(p, {syn(CIP, 44004, kRs1, RS1)});
  worker_set_time(p.w, 1000 + 1000 * kTicksPerSecond);
  worker_expire(p.w, 1000);
  EXPECT_EQ(p.store.reclaim(), 1u);
  // The service leaves: RS1, its connection expired, is held by the table alone until the
  // worker adopts the snapshot without the service.
  worker_set_time(p.w, 1000 + 2000 * kTicksPerSecond);
  worker_expire(p.w, 1000);
  reconfigure(p, [](Config& c) {
    c.services.erase(std::remove_if(c.services.begin(), c.services.end(),
                                    [](const ServiceConfig& s) { return s.key.vport == 80; }),
                     c.services.end());
  });
  EXPECT_TRUE(p.w.loc_ids.empty());
  EXPECT_EQ(p.store.reclaim(), 1u);
  EXPECT_EQ(p.store.trashed(), 0u);
}

// -o on UDP VIP:53 (rr over RS1:5353 and RS2:5353): each datagram is scheduled on its own, even
// two of one flow, and no connection outlives its datagram (ip_vs_conn_hash never hashes an
// IP_VS_CONN_F_ONE_PACKET one): a real server's reply finds none. Without -o the flow sticks.
TEST(LiveFixtures, OnePacketSchedulingThroughTheWorker) {
  Pipeline p;
  auto udp_svc = [](Config& c) -> ServiceConfig& {
    for (auto& s : c.services)
      if (s.key.proto == Proto::Udp && s.key.vip == IpAddr::v4(0xac10fec8)) return s;
    throw std::runtime_error("no UDP VIP:53");
  };
  reconfigure(p, [&](Config& c) {
    ServiceConfig& s = udp_svc(c);
    s.dests.insert(s.dests.begin(),
                   DestConfig{IpAddr::v4(0xc0a80012), 5353, ForwardMethod::Masq, 1, 0, 0});
    s.ops = true;
  });
  auto dgram = [](uint16_t sport, const Mac& rs, const std::string& rip, uint8_t b) {
    return Step{"datagram " + std::to_string(b) + " from :" + std::to_string(sport),
                0,
                c2d(udp_pkt(CIP, VIP, sport, 53, 64, {b})),
                {{1, d2rs(rs, udp_pkt(CIP, rip, sport, 5353, 63, {b}))}},
                {}};
  };
  const uint32_t before = p.w.conns.size();
  run_steps(p, {dgram(5000, kRs1, RS1, 1),
                dgram(5000, kRs2, RS2, 2),
                dgram(5000, kRs1, RS1, 3),
                {"the reply finds no connection",
                 1,
                 rs2d(kRs1, udp_pkt(RS1, CIP, 5353, 5000, 64, {4})),
                 {},
                 Drop::no_conn}});
  EXPECT_EQ(p.w.conns.size(), before);
  // Each datagram counted as a connection of its real server (ip_vs_conn_stats), none left.
  const SnapService* svc = p.snap->find_service(17, ip_be(VIP), htons(53));
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(svc->ops);
  uint64_t conns = 0;
  for (const Destination* d : svc->dests) {
    conns += d->sum(&DestWorkerSlot::conns);
    EXPECT_EQ(d->activeconns() + d->inactconns(), 0);
  }
  EXPECT_EQ(conns, 3u);
  // A fragmented datagram: its connection stays for the later fragment, and the flow's next
  // datagram is scheduled afresh (rr: RS2, then RS1), the kept connection gone with it.
  const Bytes q(100, 'q');
  const auto [q1, q2] = split(udp_pkt(CIP, VIP, 5002, 53, 64, q), 48);
  const auto [o1, o2] = split(udp_pkt(CIP, RS2, 5002, 5353, 63, q), 48);
  run_steps(p, {{"first fragment", 0, c2d(q1), {{1, d2rs(kRs2, o1)}}, {}},
                {"its later fragment follows it", 0, c2d(q2), {{1, d2rs(kRs2, o2)}}, {}}});
  EXPECT_EQ(p.w.conns.size(), before + 1);
  run_steps(p, {dgram(5002, kRs1, RS1, 4)});
  EXPECT_EQ(p.w.conns.size(), before);
  // Without -o: the flow keeps its real server (rr moved on to RS2 for the next flow).
  reconfigure(p, [&](Config& c) { udp_svc(c).ops = false; });
  run_steps(p, {dgram(5001, kRs2, RS2, 5), dgram(5001, kRs2, RS2, 6)});
}

// The burst is looked up at once (ConnTable::lookup_bulk) and then processed in order: a packet
// of a flow an earlier packet of the same burst created, re-created or ended must meet the table
// as it is then. So a burst gives what its packets give one at a time, frame for frame.
TEST(BurstFixtures, ABurstIsItsPacketsOneAtATime) {
  auto syn = [](uint16_t sp, uint8_t fl) { return c2d(tcp_pkt(CIP, VIP, sp, 80, fl, 64)); };
  // Replies from both real servers: the one without the connection is refused.
  auto reply = [](uint16_t sp, uint8_t fl) {
    return std::vector<Bytes>{rs2d(kRs1, tcp_pkt(RS1, CIP, 80, sp, fl, 64)),
                              rs2d(kRs2, tcp_pkt(RS2, CIP, 80, sp, fl, 64))};
  };
  // Before the burst: flow 3000 established, flow 3001 ended by a RST (CLOSE: a SYN re-creates
  // it), flow 3002 in the table and reused below.
  std::vector<Bytes> before = {syn(3000, SYN), syn(3001, SYN), syn(3001, RST), syn(3002, SYN)};
  for (const Bytes& b : reply(3000, SYN | ACK)) before.push_back(b);
  before.push_back(syn(3000, ACK));
  std::vector<Bytes> burst = {
      syn(4000, SYN),
      syn(4000, ACK),  // created in the burst, then found
      syn(3001, SYN),
      syn(3001, ACK),
      syn(3001, PSH | ACK),  // re-created: the old entry removed
      syn(3000, PSH | ACK),  // found ahead, and still there
      syn(4001, ACK),        // no connection, not a SYN: refused
      syn(3002, RST),
      syn(3002, SYN),
      syn(3002, ACK),  // ended and started again
      c2d(udp_pkt(CIP, VIP, 5000, 53, 64, {1, 2})),
      c2d(udp_pkt(CIP, VIP, 5000, 53, 64, {3})),
  };
  for (uint16_t sp : {4000, 3001, 3002, 5000})
    for (const Bytes& b : reply(sp, sp == 5000 ? 0 : SYN | ACK)) burst.push_back(b);
  // UDP replies: the service's real server answers from 5353.
  burst.push_back(rs2d(kRs2, udp_pkt(RS2, CIP, 5353, 5000, 64, {9})));
  ASSERT_LE(burst.size(), kBurst);

  auto port_of = [](const Bytes& b) -> uint16_t { return b[5] == 0x01 ? 1 : 0; };  // by dst MAC
  Pipeline one, all;
  for (Pipeline* p : {&one, &all})
    for (const Bytes& b : before) p->run(port_of(b), b);
  std::vector<std::pair<uint16_t, Bytes>> want[2];
  for (const Bytes& b : burst)
    for (auto& [port, frame] : one.run(port_of(b), b)) want[port].emplace_back(port, frame);
  std::vector<std::pair<uint16_t, Bytes>> in;
  for (const Bytes& b : burst) in.emplace_back(port_of(b), b);
  // One burst: what leaves is grouped by port (each port's TX buffer drains in turn).
  std::vector<std::pair<uint16_t, Bytes>> expect = want[0];
  expect.insert(expect.end(), want[1].begin(), want[1].end());
  run_burst(all, in, expect);
  EXPECT_GE(expect.size(), 12u);  // the burst did forward, both ways
  for (unsigned d = 0; d < kDropCount; ++d)
    EXPECT_EQ(all.w.ctr.drops[d].get(), one.w.ctr.drops[d].get())
        << drop_name(static_cast<Drop>(d));
  EXPECT_EQ(all.w.ctr.conns_created.get(), one.w.ctr.conns_created.get());
  EXPECT_EQ(all.w.conns.size(), one.w.conns.size());
  EXPECT_EQ(all.w.ctr.nat_out.get(), one.w.ctr.nat_out.get());
}

}  // namespace
}  // namespace fastvs::testing
