// Packet fixtures: firewall-mark services (ipvsadm -f) and the mark rules that feed them
// (`fastvsadm iptables -t mangle ...`). The pipeline runs in-process (tests/packet/pipeline.h);
// every output frame is compared byte for byte with one pktbuild makes from scratch.
#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

// The Red Hat guide's multi-port service: HTTP and HTTPS (and here a UDP port) of the VIP
// marked 1, one persistent service for them all. The fixture's own -t VIP:80 and VIP:443
// services lose those ports to the mark (ip_vs_service_find looks the mark up first).
const char* kMarks =
    "iptables -t mangle -A PREROUTING -p tcp -d 172.16.254.200/32 -m multiport --dports "
    "80,443,7001 -j MARK --set-mark 1\n"
    "iptables -t mangle -A PREROUTING -p udp -d 172.16.254.200 --dport 7002 -j MARK --set-mark 1\n"
    "iptables -t mangle -A PREROUTING -p tcp --dport 7003 -j MARK --set-mark 1\n"
    "iptables -t mangle -A PREROUTING -p tcp --dport 7004 -j MARK --set-mark 9\n"
    "-A -f 1 -s rr -p 300\n"
    "-a -f 1 -r 192.168.0.18 -m\n"
    "-a -f 1 -r 192.168.0.28 -m\n";

TEST(FwmarkFixtures, OneClientOneServerAcrossPortsAndProtocols) {
  Pipeline p(1024, kMarks);
  p.set_neigh(CIP2, kClient, 0);
  run_steps(p,
            {
                {"HTTP: marked, rr's first pick RS2, the port kept",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                 {}},
                {"HTTPS of the same client: RS2 by its template (not -t :443's DR to RS1)",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40001, 443, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40001, 443, SYN, 63))}},
                 {}},
                {"another client: rr goes on to RS1",
                 0,
                 c2d(tcp_pkt(CIP2, VIP, 40000, 7001, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP2, RS1, 40000, 7001, SYN, 63))}},
                 {}},
                {"its UDP, marked by the second rule: the same service, the same real server",
                 0,
                 c2d(udp_pkt(CIP2, VIP, 5000, 7002, 64, Bytes(3, 'q'))),
                 {{1, d2rs(kRs1, udp_pkt(CIP2, RS1, 5000, 7002, 63, Bytes(3, 'q')))}},
                 {}},
                {"RS1's TCP reply leaves from VIP:7001",
                 1,
                 rs2d(kRs1, tcp_pkt(RS1, CIP2, 7001, 40000, SYN | ACK, 64)),
                 {{0, d2c(tcp_pkt(VIP, CIP2, 7001, 40000, SYN | ACK, 63))}},
                 {}},
                {"and its UDP reply from VIP:7002",
                 1,
                 rs2d(kRs1, udp_pkt(RS1, CIP2, 7002, 5000, 64, Bytes(2, 'a'))),
                 {{0, d2c(udp_pkt(VIP, CIP2, 7002, 5000, 63, Bytes(2, 'a')))}},
                 {}},
                {"a port no rule marks keeps its address service (-t :8080 -> RS1:80)",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40002, 8080, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 40002, 80, SYN, 63))}},
                 {}},
                {"a marked packet to an address not the director's is not the service's (LOCAL_IN)",
                 0,
                 c2d(tcp_pkt(CIP, "172.16.254.99", 40003, 7003, SYN, 64)),
                 {},
                 Drop::no_service},
            });
  EXPECT_EQ(p.persist.size(), 2u);
  // A mark no service has is no service: the VIP's own port 7004 has none either.
  const auto out = p.run(0, c2d(tcp_pkt(CIP, VIP, 40004, 7004, SYN, 64)));
  for (const auto& [port, frame] : out) EXPECT_NE(port, 1) << "forwarded to a real server";
}

// ip_vs_in_icmp: an ICMP error from the client about the VIP's packet of a firewall-mark
// connection reaches its real server, translated.
TEST(FwmarkFixtures, IcmpErrorAboutAMarkedConnection) {
  Pipeline p(1024, kMarks);
  run_steps(p, {{"open",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 7001, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 7001, SYN, 63))}},
                 {}}});
  const Bytes reply_as_sent = tcp_pkt(VIP, CIP, 7001, 40000, ACK, 63, Bytes(4, 'y'));
  Bytes reply_as_rs = tcp_pkt(RS2, CIP, 7001, 40000, ACK, 63, Bytes(4, 'y'));
  reply_as_rs[20 + 16] = reply_as_sent[20 + 16];
  reply_as_rs[20 + 17] = reply_as_sent[20 + 17];
  run_steps(p,
            {{"port unreachable from the client side reaches RS2",
              0,
              c2d(ipv4(CIP, VIP, 1, icmp_error(3, 3, 0, reply_as_sent), {.ttl = 64})),
              {{1, d2rs(kRs2, ipv4(CIP, RS2, 1, icmp_error(3, 3, 0, reply_as_rs), {.ttl = 63}))}},
              {}}});
}

// The rules change with the configuration: a new snapshot without them marks nothing, and the
// address services take their ports back; connections already made go on.
TEST(FwmarkFixtures, RulesFollowTheConfiguration) {
  Pipeline p(1024, kMarks);
  p.set_neigh(CIP2, kClient, 0);
  run_steps(p, {{"marked: RS2:80",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                 {}},
                {"marked: another client's to 7001, RS1",
                 0,
                 c2d(tcp_pkt(CIP2, VIP, 40000, 7001, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP2, RS1, 40000, 7001, SYN, 63))}},
                 {}}});
  reconfigure(p, [](Config& c) { c.mark_rules.clear(); });
  EXPECT_FALSE(p.snap->fwm4);
  EXPECT_TRUE(p.snap->fwm_any4);
  // A port of no address service: its connection goes on by its tuple (ip_vs_in finds the
  // connection before any service), and its real server's replies come back; a new SYN there,
  // unmarked, is no service's.
  run_steps(p, {{"7001's connection goes on without its rule",
                 0,
                 c2d(tcp_pkt(CIP2, VIP, 40000, 7001, ACK, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP2, RS1, 40000, 7001, ACK, 63))}},
                 {}},
                {"and RS1's replies",
                 1,
                 rs2d(kRs1, tcp_pkt(RS1, CIP2, 7001, 40000, ACK, 64)),
                 {{0, d2c(tcp_pkt(VIP, CIP2, 7001, 40000, ACK, 63))}},
                 {}}});
  const WorkerCounters before = p.w.ctr;
  for (const auto& [port, frame] : p.run(0, c2d(tcp_pkt(CIP2, VIP, 40001, 7001, SYN, 64))))
    EXPECT_NE(port, 1) << "a new flow of no mark forwarded";
  EXPECT_EQ(p.w.ctr.conns_created, before.conns_created);
  run_steps(p, {{"the marked connection goes on",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40000, 80, ACK, 64)),
                 {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, ACK, 63))}},
                 {}},
                {"HTTPS now -t :443's: DR to RS1, the packet unchanged but its TTL",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 40001, 443, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, VIP, 40001, 443, SYN, 63))}},
                 {}}});
}

// The mark rules alone, as the data plane walks them: the last match wins (MARK goes on).
TEST(FwmarkRules, LastMatchWins) {
  std::vector<SnapMarkRule> rules(2);
  rules[0].mark = 1;  // everything
  rules[1].proto = 6;
  rules[1].ndports = 1;
  rules[1].dports[0] = {80, 80};
  rules[1].mark = 2;
  const uint32_t any = 0;
  EXPECT_EQ(fwmark_of4(rules, MarkTuple{6, 0, 1, 80, true}, any, any), 2u);
  EXPECT_EQ(fwmark_of4(rules, MarkTuple{17, 0, 1, 80, true}, any, any), 1u);
  EXPECT_EQ(fwmark_of4(rules, MarkTuple{6, 0, 1, 81, true}, any, any), 1u);
  // A later fragment has no ports: a rule that names some is taken to match.
  EXPECT_EQ(fwmark_of4(rules, MarkTuple{6, 0, 0, 0, false}, any, any), 2u);
}

}  // namespace
}  // namespace fastvs::testing
