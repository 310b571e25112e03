// Packet fixtures: connection sync on the workers (dataplane/sync.h). The master's side: which
// packets put a connection (and its template) on the worker's sync ring, with what in it, and a
// full ring losing events, counted, not packets. The backup's side: a synced connection
// installed against the worker's own configuration, forwarding both ways as the master's did,
// updated rather than duplicated, skipped when its service or real server is not here.
#include "dataplane/sync.h"

#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

constexpr uint8_t FIN = 0x01;

rte_ring* sync_ring(unsigned size = 1024) {
  static int n = 0;
  const std::string name = "synct" + std::to_string(n++);
  rte_ring* r =
      rte_ring_create_elem(name.c_str(), sizeof(SyncConn), size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  EXPECT_NE(r, nullptr);
  return r;
}

std::vector<SyncConn> drain(rte_ring* r) {
  std::vector<SyncConn> out;
  SyncConn e;
  while (rte_ring_sc_dequeue_elem(r, &e, sizeof e) == 0) out.push_back(e);
  return out;
}

void put(rte_ring* r, SyncConn e) {
  ASSERT_EQ(rte_ring_sp_enqueue_elem(r, &e, sizeof e), 0);
}

// A master: its snapshot says the master daemon runs, its worker has a ring.
struct Master {
  explicit Master(const std::string& extra = "") : p(1024, extra) {
    p.snap->sync_master = true;
    p.w.sync_out = ring;
    counts.resize(p.w.conns.capacity());
    p.w.sync_counts = counts.data();
  }
  ~Master() { rte_ring_free(ring); }
  std::vector<SyncCount> counts;
  Bytes client(uint16_t sport, uint16_t vport, uint8_t flags) {
    return c2d(tcp_pkt(CIP, VIP, sport, vport, flags, 64));
  }
  rte_ring* ring = sync_ring();
  Pipeline p;
};

// ip_vs_sync_conn_needed with the defaults (threshold 3, period 50): TCP from ESTABLISHED on,
// at the client's 3rd packet, the 53rd, ...; a change into CLOSE_WAIT at once.
TEST(SyncMaster, SyncsWhenIpvsWould) {
  Master m;
  for (uint8_t f : {SYN, ACK}) EXPECT_EQ(m.p.run(0, m.client(40000, 8080, f)).size(), 1u);
  EXPECT_TRUE(drain(m.ring).empty()) << "SYN_RECV is not synced, ESTABLISHED's 2nd packet not";
  EXPECT_EQ(m.p.run(0, m.client(40000, 8080, ACK | PSH)).size(), 1u);
  std::vector<SyncConn> got = drain(m.ring);
  ASSERT_EQ(got.size(), 1u);
  const SyncConn& e = got[0];
  EXPECT_EQ(e.cip, ip_be(CIP));
  EXPECT_EQ(e.vip, ip_be(VIP));
  EXPECT_EQ(e.rip, ip_be(RS1));
  EXPECT_EQ(ntohs(e.cport), 40000);
  EXPECT_EQ(ntohs(e.vport), 8080);
  EXPECT_EQ(ntohs(e.rport), 80);
  EXPECT_EQ(e.proto, kIpProtoTcp);
  EXPECT_EQ(e.state, static_cast<uint8_t>(TcpState::Established));
  EXPECT_EQ(e.flags, 0) << "active, NAT (the director sees both directions)";
  EXPECT_EQ(e.method, ForwardMethod::Masq);
  EXPECT_EQ(e.timeout, 900u);
  for (int i = 4; i <= 52; ++i) m.p.run(0, m.client(40000, 8080, ACK));
  EXPECT_TRUE(drain(m.ring).empty()) << "packets 4..52";
  m.p.run(0, m.client(40000, 8080, ACK));
  EXPECT_EQ(drain(m.ring).size(), 1u) << "the 53rd";
  m.p.run(0, m.client(40000, 8080, FIN | ACK));
  got = drain(m.ring);
  ASSERT_EQ(got.size(), 1u) << "CLOSE_WAIT is synced at once";
  EXPECT_EQ(got[0].state, static_cast<uint8_t>(TcpState::CloseWait));
  EXPECT_EQ(got[0].flags, kSyncInactive);
  EXPECT_EQ(got[0].timeout, 60u);
  uint64_t queued = m.p.w.ctr.sync_queued;
  EXPECT_EQ(queued, 3u);
}

TEST(SyncMaster, DirectRoutingIsSyncedWithoutOutput) {
  Master m;
  for (uint8_t f : {SYN, ACK, ACK}) m.p.run(0, m.client(40000, 443, f));
  const std::vector<SyncConn> got = drain(m.ring);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, ForwardMethod::Route);
  EXPECT_EQ(got[0].flags, kSyncNoOutput);
  EXPECT_EQ(ntohs(got[0].rport), 443);
}

TEST(SyncMaster, OffRecordsNothing) {
  Master m;
  m.p.snap->sync_master = false;
  for (uint8_t f : {SYN, ACK, ACK, ACK}) m.p.run(0, m.client(40000, 8080, f));
  EXPECT_TRUE(drain(m.ring).empty());
  EXPECT_EQ(m.p.w.ctr.sync_queued + m.p.w.ctr.sync_dropped, 0u);
}

// A full ring loses the event, never the packet.
TEST(SyncMaster, FullRingDropsEventsNotPackets) {
  Master m;
  rte_ring_free(m.ring);
  m.ring = sync_ring(4);  // 3 entries
  m.p.w.sync_out = m.ring;
  for (uint16_t port = 40000; port < 40005; ++port)
    for (uint8_t f : {SYN, ACK, ACK}) EXPECT_EQ(m.p.run(0, m.client(port, 8080, f)).size(), 1u);
  EXPECT_EQ(drain(m.ring).size(), 3u);
  EXPECT_EQ(m.p.w.ctr.sync_queued, 3u);
  EXPECT_EQ(m.p.w.ctr.sync_dropped, 2u);
}

// A connection under persistence goes with its template: CIP & mask, client port 0, the
// persistence timeout.
TEST(SyncMaster, TemplateGoesWithItsConnection) {
  Master m(
      "-A -t 172.16.254.200:7000 -s rr -p 120 -M 255.255.255.0\n"
      "-a -t 172.16.254.200:7000 -r 192.168.0.18:80 -m\n");
  for (uint8_t f : {SYN, ACK, ACK}) m.p.run(0, m.client(40000, 7000, f));
  const std::vector<SyncConn> got = drain(m.ring);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].flags & kSyncTemplate, 0);
  const SyncConn& t = got[1];
  EXPECT_EQ(t.flags, kSyncTemplate);
  EXPECT_EQ(t.cip, ip_be("172.16.254.0"));
  EXPECT_EQ(t.cport, 0);
  EXPECT_EQ(ntohs(t.vport), 7000);
  EXPECT_EQ(t.rip, ip_be(RS1));
  EXPECT_EQ(ntohs(t.rport), 80);
  EXPECT_EQ(t.timeout, 120u);
}

// sync_persist_mode: the connection is not synced, its template is, at the connection's cadence.
TEST(SyncMaster, PersistModeSyncsTheTemplateOnly) {
  Master m(
      "-A -t 172.16.254.200:7000 -s rr -p 120\n"
      "-a -t 172.16.254.200:7000 -r 192.168.0.18:80 -m\n");
  m.p.snap->sync.persist_mode = true;
  for (uint8_t f : {SYN, ACK, ACK}) m.p.run(0, m.client(40000, 7000, f));
  const std::vector<SyncConn> got = drain(m.ring);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, kSyncTemplate);
  EXPECT_EQ(got[0].cport, 0);
  // A connection of a service without persistence is synced as ever.
  for (uint8_t f : {SYN, ACK, ACK}) m.p.run(0, m.client(40001, 8080, f));
  EXPECT_EQ(drain(m.ring).size(), 1u);
}

SyncConn synced(uint16_t vport, const std::string& rip, uint16_t rport, TcpState state,
                uint8_t flags = 0, ForwardMethod method = ForwardMethod::Masq,
                uint32_t timeout = 900) {
  SyncConn e{};
  e.cip = ip_be(CIP);
  e.vip = ip_be(VIP);
  e.rip = ip_be(rip);
  e.cport = htons(40000);
  e.vport = htons(vport);
  e.rport = htons(rport);
  e.proto = kIpProtoTcp;
  e.state = static_cast<uint8_t>(state);
  e.flags = flags;
  e.method = method;
  e.timeout = timeout;
  return e;
}

// The backup installs the master's connection: replies are translated back to the client and
// the client's packets (no SYN: they would be dropped without the connection) go to the same
// real server, though the scheduler would have picked another (wrr's first is RS2).
TEST(SyncBackup, InstalledConnectionForwardsBothWays) {
  Pipeline p;
  rte_ring* r = sync_ring();
  p.w.sync_in = r;
  put(r, synced(80, RS1, 80, TcpState::Established));
  EXPECT_EQ(worker_sync_apply(p.w, 256), 1u);
  EXPECT_EQ(p.w.ctr.sync_applied, 1u);
  EXPECT_EQ(p.w.conns.size(), 1u);
  EXPECT_EQ(dest_of(p, 80, RS1)->activeconns(), 1);
  run_steps(p, {{"the real server's reply, translated to the client",
                 1,
                 rs2d(kRs1, tcp_pkt(RS1, CIP, 80, 40000, ACK, 64)),
                 {{0, d2c(tcp_pkt(VIP, CIP, 80, 40000, ACK, 63))}},
                 {}},
                {"the client's next packet, to the same real server",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 80, ACK, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40000, 80, ACK, 63))}},
                 {}}});
  rte_ring_free(r);
}

// The same connection synced again is updated: its state, its count (ActiveConn to InActConn),
// its timer; never a second entry.
TEST(SyncBackup, SyncedAgainIsUpdatedNotDuplicated) {
  Pipeline p;
  sync_apply_one(p.w, synced(80, RS1, 80, TcpState::Established));
  sync_apply_one(p.w, synced(80, RS1, 80, TcpState::Established));
  EXPECT_EQ(p.w.conns.size(), 1u);
  EXPECT_EQ(dest_of(p, 80, RS1)->activeconns(), 1);
  sync_apply_one(p.w,
                 synced(80, RS1, 80, TcpState::CloseWait, kSyncInactive, ForwardMethod::Masq, 60));
  EXPECT_EQ(p.w.conns.size(), 1u);
  EXPECT_EQ(dest_of(p, 80, RS1)->activeconns(), 0);
  EXPECT_EQ(dest_of(p, 80, RS1)->inactconns(), 1);
  // 61 s later it has expired by its synced timeout.
  worker_set_time(p.w, 1000 + 61 * kTicksPerSecond);
  worker_expire(p.w, 1000);
  EXPECT_EQ(p.w.conns.size(), 0u);
  EXPECT_EQ(dest_of(p, 80, RS1)->inactconns(), 0);
  EXPECT_EQ(p.w.ctr.sync_applied, 3u);
}

// A backup does not hold the VIP (its services take no traffic): synced connections are
// installed all the same, ready for when it does.
TEST(SyncBackup, InstalledWhileTheVipIsTheMasters) {
  Pipeline p;
  reconfigure(p, [](Config& c) {
    std::erase_if(c.addrs, [](const AddrConfig& a) { return a.ip == IpAddr::v4(0xac10fec8); });
  });
  ASSERT_FALSE(p.snap->find_service(kIpProtoTcp, ip_be(VIP), htons(80)));
  sync_apply_one(p.w, synced(80, RS1, 80, TcpState::Established));
  EXPECT_EQ(p.w.ctr.sync_applied, 1u);
  EXPECT_EQ(p.w.conns.size(), 1u);
}

// Direct routing: the client's next packet goes to the same real server's MAC, unchanged.
TEST(SyncBackup, DirectRoutingConnectionIsInstalled) {
  Pipeline p;
  sync_apply_one(p.w,
                 synced(443, RS1, 443, TcpState::Established, kSyncNoOutput, ForwardMethod::Route));
  EXPECT_EQ(p.w.ctr.sync_applied, 1u);
  run_steps(p, {{"the client's next packet, to the same real server",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 443, ACK, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, VIP, 40000, 443, ACK, 63))}},
                 {}}});
}

// ip_vs_bind_dest: a synced connection takes its forwarding method from the destination here.
TEST(SyncBackup, MethodIsTheDestinations) {
  Pipeline p;
  // The master says NAT; here 192.168.0.18 is a DR destination of port 443.
  sync_apply_one(p.w, synced(443, RS1, 443, TcpState::Established));
  ASSERT_EQ(p.w.ctr.sync_applied, 1u);
  run_steps(p, {{"forwarded by direct routing, not NAT",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 443, ACK, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, VIP, 40000, 443, ACK, 63))}},
                 {}}});
}

// ip_vs_proc_conn: an inactive entry naming another real server ends a connection that was
// already replaced: ignored. An active one replaces our copy (below).
TEST(SyncBackup, StaleInactiveEntryIsIgnored) {
  Pipeline p;
  sync_apply_one(p.w, synced(80, RS2, 80, TcpState::Established));
  sync_apply_one(p.w,
                 synced(80, RS1, 80, TcpState::CloseWait, kSyncInactive, ForwardMethod::Masq, 60));
  EXPECT_EQ(p.w.conns.size(), 1u);
  EXPECT_EQ(dest_of(p, 80, RS2)->activeconns(), 1);
  EXPECT_EQ(dest_of(p, 80, RS1)->inactconns(), 0);
  EXPECT_EQ(p.w.ctr.sync_skipped, 1u);
}

// Rescheduled on the master (another real server): the backup's copy is replaced.
TEST(SyncBackup, AnotherRealServerReplacesTheCopy) {
  Pipeline p;
  sync_apply_one(p.w, synced(80, RS1, 80, TcpState::Established));
  sync_apply_one(p.w, synced(80, RS2, 80, TcpState::Established));
  EXPECT_EQ(p.w.conns.size(), 1u);
  EXPECT_EQ(dest_of(p, 80, RS1)->activeconns(), 0);
  EXPECT_EQ(dest_of(p, 80, RS2)->activeconns(), 1);
}

// ip_vs_proc_conn without a destination here: skipped and counted, nothing installed.
TEST(SyncBackup, UnknownServiceOrRealServerIsSkipped) {
  Pipeline p;
  sync_apply_one(p.w, synced(81, RS1, 80, TcpState::Established));             // no such service
  sync_apply_one(p.w, synced(80, "192.168.0.99", 80, TcpState::Established));  // no such RS
  sync_apply_one(p.w, synced(80, RS1, 8081, TcpState::Established));           // not that port
  EXPECT_EQ(p.w.conns.size(), 0u);
  EXPECT_EQ(p.w.ctr.sync_skipped, 3u);
  EXPECT_EQ(p.w.ctr.sync_applied, 0u);
}

// A synced template makes the client's next connection go where the master sent it.
TEST(SyncBackup, TemplateKeepsTheClientOnItsRealServer) {
  Pipeline p(1024,
             "-A -t 172.16.254.200:7000 -s rr -p 300\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.18:80 -m\n"
             "-a -t 172.16.254.200:7000 -r 192.168.0.28:80 -m\n");
  // rr's first pick would be RS2 (see PersistFixtures.ClientKeepsItsRealServer).
  SyncConn t = synced(7000, RS1, 80, TcpState::None, kSyncTemplate, ForwardMethod::Masq, 300);
  t.cport = 0;
  sync_apply_one(p.w, t);
  EXPECT_EQ(p.persist.size(), 1u);
  EXPECT_EQ(dest_of(p, 7000, RS1)->persistconns(), 1);
  run_steps(p, {{"a new connection of the client: the template's RS1",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40100, 7000, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40100, 80, SYN, 63))}},
                 {}}});
  // Synced again: still one template.
  sync_apply_one(p.w, t);
  EXPECT_EQ(p.persist.size(), 1u);
  EXPECT_EQ(dest_of(p, 7000, RS1)->persistconns(), 1);
}

// A template synced again lives its timeout from then (ip_vs_proc_conn re-arms it): the sweep
// past its first timeout leaves it.
TEST(SyncBackup, TemplateSyncedAgainIsRearmed) {
  Pipeline p(1024,
             "-A -u 172.16.254.200:7000 -s rr -p 30\n"
             "-a -u 172.16.254.200:7000 -r 192.168.0.18:80 -m\n");
  SyncConn t = synced(7000, RS1, 80, TcpState::None, kSyncTemplate, ForwardMethod::Masq, 30);
  t.proto = kIpProtoUdp;
  t.cport = 0;
  sync_apply_one(p.w, t);
  worker_set_time(p.w, 1000 + 20 * kTicksPerSecond);
  sync_apply_one(p.w, t);
  unsigned freed = 0;
  const auto sweep = [&](uint32_t now) {
    p.persist.sweep(now, [&](Destination* d) {
      slot_add(d->slot[1].persistconns, -1);
      slot_add(d->slot[1].refs, -1);
      ++freed;
    });
  };
  sweep(1000 + 35 * kTicksPerSecond);  // past the first 30 s, within the second's
  EXPECT_EQ(freed, 0u);
  EXPECT_EQ(p.persist.size(), 1u);
  sweep(1000 + 51 * kTicksPerSecond);
  EXPECT_EQ(freed, 1u);
}

}  // namespace
}  // namespace fastvs::testing

namespace fastvs::testing {
namespace {

const char* kFwmark =
    "iptables -t mangle -A PREROUTING -p tcp -d 172.16.254.200 -m multiport --dports 7001,7002 "
    "-j MARK --set-mark 5\n"
    "-A -f 5 -s rr -p 300\n"
    "-a -f 5 -r 192.168.0.18 -m\n";

// ip_vs_sync_conn of a firewall-mark service's connection: the packet's addresses and ports,
// the service's mark; its template as ip_vs_sched_persist makes one (protocol IPPROTO_IP, the
// mark as its address, port 0).
TEST(SyncMaster, FirewallMarkConnectionCarriesTheMark) {
  Master m(kFwmark);
  for (uint8_t f : {SYN, ACK, ACK}) m.p.run(0, m.client(40000, 7002, f));
  const std::vector<SyncConn> got = drain(m.ring);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].fwmark, 5u);
  EXPECT_EQ(got[0].vip, ip_be(VIP));
  EXPECT_EQ(ntohs(got[0].vport), 7002);
  EXPECT_EQ(ntohs(got[0].rport), 7002);
  EXPECT_EQ(got[0].proto, kIpProtoTcp);
  const SyncConn& t = got[1];
  EXPECT_EQ(t.flags, kSyncTemplate);
  EXPECT_EQ(t.fwmark, 5u);
  EXPECT_EQ(t.proto, 0);
  EXPECT_EQ(t.vip, htonl(5));
  EXPECT_EQ(t.vport, 0);
  EXPECT_EQ(t.rip, ip_be(RS1));
}

// ip_vs_proc_conn with a mark: the service found by it (__ip_vs_svc_fwm_find), the connection
// installed and forwarding; the template keeps the client's other ports on its real server.
TEST(SyncBackup, FirewallMarkConnectionAndTemplate) {
  Pipeline p(1024, std::string(kFwmark) + "-a -f 5 -r 192.168.0.28 -m\n");
  SyncConn c = synced(7001, RS1, 7001, TcpState::Established);
  c.fwmark = 5;
  sync_apply_one(p.w, c);
  SyncConn t = synced(7001, RS1, 0, TcpState::None, kSyncTemplate, ForwardMethod::Masq, 300);
  t.cport = 0;
  t.vport = 0;
  t.vip = htonl(5);
  t.proto = 0;
  t.fwmark = 5;
  sync_apply_one(p.w, t);
  EXPECT_EQ(p.w.ctr.sync_applied, 2u);
  EXPECT_EQ(p.persist.size(), 1u);
  run_steps(p, {{"the synced connection's next packet",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 7001, ACK, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40000, 7001, ACK, 63))}},
                 {}},
                {"a new connection to the mark's other port: RS1 by the template (rr: RS2)",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40001, 7002, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40001, 7002, SYN, 63))}},
                 {}}});
  // A mark this director has no service for is skipped.
  c.fwmark = 6;
  c.cport = htons(40009);
  sync_apply_one(p.w, c);
  EXPECT_EQ(p.w.ctr.sync_skipped, 1u);
}

}  // namespace
}  // namespace fastvs::testing
