// Packet fixtures: the worker pipeline run in-process on crafted frames, every output compared
// byte for byte with a frame built independently (pktbuild computes every checksum from
// scratch), every drop checked against its counter. One worker, the NAT lab's configuration.
//
// Steps run in order on one worker, so a step sees the connections earlier steps made: the
// table is data (input, expected output, expected verdict), the harness prints which step
// failed and how.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>

#include <arpa/inet.h>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "common/command.h"
#include "dataplane/worker.h"
#include "eal_env.h"
#include "pktbuild.h"

namespace fastvs::testing {
namespace {

const Mac kPort0 = mac("02:00:00:00:00:00");  // dpdk0, client side
const Mac kPort1 = mac("02:00:00:00:00:01");  // dpdk1, real-server side
const Mac kClient = mac("c0:00:00:00:00:0a");
const Mac kGw = mac("c0:00:00:00:00:01");
const Mac kRs1 = mac("aa:00:00:00:00:18");
const Mac kRs2 = mac("aa:00:00:00:00:28");
const Mac kBcast = mac("ff:ff:ff:ff:ff:ff");
const Mac kZero = mac("00:00:00:00:00:00");

const char* kConfig = R"(
ip addr add 172.16.254.200/24 dev dpdk0
ip addr add 192.168.0.8/24 dev dpdk1
ip route add default via 172.16.254.1 dev dpdk0
-A -t 172.16.254.200:80 -s wrr
-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1
-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1
-A -t 172.16.254.200:8080 -s rr
-a -t 172.16.254.200:8080 -r 192.168.0.18:80 -m
-A -u 172.16.254.200:53 -s rr
-a -u 172.16.254.200:53 -r 192.168.0.28:5353 -m
ip addr add 172.16.254.201/24 dev dpdk0
-A -u 172.16.254.201:53 -s rr
-a -u 172.16.254.201:53 -r 192.168.0.28:5353 -m
-A -t 172.16.254.200:443 -s rr
-a -t 172.16.254.200:443 -r 192.168.0.18 -g
-A -t 172.16.254.200:8443 -s rr
-a -t 172.16.254.200:8443 -r 192.168.0.28 -i
-A -t 172.16.254.200:9000 -s rr
-a -t 172.16.254.200:9000 -r 192.168.0.18:9000 -m
-a -t 172.16.254.200:9000 -r 192.168.0.28 -g
)";

std::array<MacAddr, 2> port_macs() {
  std::array<MacAddr, 2> macs;
  std::copy(kPort0.b, kPort0.b + 6, macs[0].begin());
  std::copy(kPort1.b, kPort1.b + 6, macs[1].begin());
  return macs;
}

Bytes to_bytes(rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return Bytes(p, p + m->data_len);
}

class Pipeline {
 public:
  // `extra`: more configuration lines after the fixture's. With two workers, w2 shares the
  // destinations and the persistence table; run_on() gives a packet to one worker directly.
  explicit Pipeline(uint32_t capacity = 1024, const std::string& extra = "", unsigned nworkers = 1)
      : store(nworkers) {
    LoadResult lr = load_config_text(std::string(kConfig) + extra, "fixture", 2);
    EXPECT_TRUE(lr.ok) << lr.error;
    cfg = lr.cfg;
    snap = build_snapshot(cfg, store, 2, port_macs().data());
    EXPECT_TRUE(persist.init(256, 0));
    static int n = 0;
    const std::string name = "fx" + std::to_string(n++);
    learn = rte_ring_create_elem((name + "l").c_str(), sizeof(NeighLearn), 64, 0,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
    setup(w, 0, nworkers, name, capacity);
    if (nworkers > 1) setup(w2, 1, nworkers, name + "b", capacity);
    set_neigh("172.16.254.1", kGw, 0);
    set_neigh("172.16.254.10", kClient, 0);
    set_neigh("192.168.0.18", kRs1, 1);
    set_neigh("192.168.0.28", kRs2, 1);
  }
  ~Pipeline() {
    for (auto* m : out) rte_pktmbuf_free(m);
    rte_ring_free(learn);
  }
  void setup(Worker& x, unsigned id, unsigned nworkers, const std::string& name,
             uint32_t capacity) {
    x.id = id;
    x.nworkers = nworkers;
    x.pool = test_pool();
    x.neigh = &neigh;
    x.neigh_learn = learn;
    x.txq[0] = x.txq[1] = 0;
    x.tsc_per_tick = 1;
    x.capture = &out;
    x.persist = &persist;
    worker_set_time(x, 1000);
    EXPECT_TRUE(x.conns.init(name.c_str(), capacity, 0, x.now));
    worker_adopt(x, snap.get());
  }
  // A packet given to worker x as its owner (no steering).
  std::vector<std::pair<uint16_t, Bytes>> run_on(Worker& x, uint16_t port, const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    m->port = port;
    worker_owned_burst(x, &m, 1);
    worker_flush(x);
    std::vector<std::pair<uint16_t, Bytes>> res;
    for (auto* o : out) {
      res.emplace_back(o->port, to_bytes(o));
      rte_pktmbuf_free(o);
    }
    out.clear();
    return res;
  }
  void set_neigh(const std::string& ip, const Mac& m, uint16_t port) {
    MacAddr a;
    std::copy(m.b, m.b + 6, a.begin());
    neigh.set(ip_be(ip), port, a, NeighState::Reachable);
  }
  // Runs one frame through the pipeline; returns what it transmitted, as (port, bytes).
  std::vector<std::pair<uint16_t, Bytes>> run(uint16_t port, const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    m->port = port;
    worker_rx_burst(w, &m, 1);
    worker_flush(w);
    std::vector<std::pair<uint16_t, Bytes>> res;
    for (auto* o : out) {
      res.emplace_back(o->port, to_bytes(o));
      rte_pktmbuf_free(o);
    }
    out.clear();
    return res;
  }

  Config cfg;
  DestStore store;
  PersistTable persist;
  std::unique_ptr<Snapshot> snap;
  std::vector<std::unique_ptr<Snapshot>> old;  // replaced snapshots (no reclamation here)
  NeighTable neigh;
  rte_ring* learn = nullptr;
  Worker w;
  Worker w2;
  std::vector<rte_mbuf*> out;
};

struct Step {
  std::string name;
  uint16_t in_port;
  Bytes input;
  std::vector<std::pair<uint16_t, Bytes>> expect;  // frames out, in order
  std::optional<Drop> drop;                        // the counter that must move by one
};

void run_steps(Pipeline& p, const std::vector<Step>& steps) {
  for (const auto& s : steps) {
    SCOPED_TRACE("fixture step: " + s.name);
    const WorkerCounters before = p.w.ctr;
    const auto got = p.run(s.in_port, s.input);
    ASSERT_EQ(got.size(), s.expect.size()) << "frames out";
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, s.expect[i].first) << "egress port of frame " << i;
      EXPECT_EQ(verify_checksums(got[i].second), "") << "frame " << i;
      EXPECT_EQ(got[i].second, s.expect[i].second) << "frame " << i << "\ngot:\n"
                                                   << hex(got[i].second) << "\nwant:\n"
                                                   << hex(s.expect[i].second);
    }
    for (unsigned d = 0; d < kDropCount; ++d) {
      const uint64_t delta = p.w.ctr.drops[d] - before.drops[d];
      const bool want = s.drop && static_cast<unsigned>(*s.drop) == d;
      EXPECT_EQ(delta, want ? 1u : 0u) << "drop counter " << drop_name(static_cast<Drop>(d));
    }
  }
}

// Frames as they appear on the wire.
Bytes c2d(const Bytes& ip) {
  return eth(kPort0, kClient, 0x0800, ip);
}  // client -> director
Bytes d2c(const Bytes& ip) {
  return eth(kClient, kPort0, 0x0800, ip);
}
Bytes d2rs(const Mac& rs, const Bytes& ip) {
  return eth(rs, kPort1, 0x0800, ip);
}
Bytes rs2d(const Mac& rs, const Bytes& ip) {
  return eth(kPort1, rs, 0x0800, ip);
}

const std::string CIP = "172.16.254.10", VIP = "172.16.254.200", DIP = "192.168.0.8";
const std::string RS1 = "192.168.0.18", RS2 = "192.168.0.28";

Bytes tcp_pkt(const std::string& s, const std::string& d, uint16_t sp, uint16_t dp, uint8_t fl,
              uint8_t ttl, const Bytes& data = {}) {
  return ipv4(s, d, 6, tcp(s, d, sp, dp, fl, data), {.ttl = ttl});
}
Bytes udp_pkt(const std::string& s, const std::string& d, uint16_t sp, uint16_t dp, uint8_t ttl,
              const Bytes& data, bool zero = false) {
  return ipv4(s, d, 17, udp(s, d, sp, dp, data, zero), {.ttl = ttl});
}

constexpr uint8_t SYN = 0x02, ACK = 0x10, PSH = 0x08, RST = 0x04;

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
  run_steps(p, {
                   {"no MAC for RS2: an ARP request from the DIP goes out, the packet is dropped",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                    {{1, eth(kBcast, kPort1, 0x0806, arp(1, kPort1, DIP, kZero, RS2))}},
                    Drop::neigh_unresolved},
                   {"the retransmitted SYN within the second: no second ARP request",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                    {},
                    Drop::neigh_unresolved},
                   {"RS2 answers; the reply is learned (through control), not forwarded",
                    1,
                    eth(kPort1, kRs2, 0x0806, arp(2, kRs2, RS2, kPort1, DIP)),
                    {},
                    {}},
               });
  EXPECT_EQ(p.neigh.drain(p.learn), 1u);
  run_steps(p, {
                   {"the next SYN goes out",
                    0,
                    c2d(tcp_pkt(CIP, VIP, 40000, 80, SYN, 64)),
                    {{1, d2rs(kRs2, tcp_pkt(CIP, RS2, 40000, 80, SYN, 63))}},
                    {}},
               });
}

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
          {"IPv6 ethertype",
           0,
           mutate([](Bytes& b) {
             b[12] = 0x86;
             b[13] = 0xdd;
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
         });
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

// Publishes the pipeline's configuration changed by `edit` (as control does) and adopts it.
void reconfigure(Pipeline& p, const std::function<void(Config&)>& edit) {
  edit(p.cfg);
  auto next = build_snapshot(p.cfg, p.store, 2, port_macs().data());
  next->seq = p.snap->seq + 1;
  worker_adopt(p.w, next.get());
  if (p.w2.snap) worker_adopt(p.w2, next.get());
  p.old.push_back(std::move(p.snap));
  p.snap = std::move(next);
}

ServiceConfig* find_svc(Config& c, uint16_t port) {
  for (auto& s : c.services)
    if (s.key.vport == port && s.key.proto == Proto::Tcp) return &s;
  return nullptr;
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
  reconfigure(p, [](Config& c) {
    ServiceConfig s;
    s.key = ServiceKey{Proto::Tcp, 0xac10fec8, 443};
    s.scheduler = "rr";
    s.dests.push_back(DestConfig{0xc0a80012, 443, ForwardMethod::Masq, 1, 0, 0});
    c.services.push_back(s);
  });
  run_steps(p, {{"continues with RS1, not back to RS2",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 41001, 80, SYN, 64)),
                 {{1, d2rs(kRs1, tcp_pkt(CIP, RS1, 41001, 80, SYN, 63))}},
                 {}}});
  reconfigure(p, [](Config& c) {
    for (auto& d : find_svc(c, 80)->dests)
      if (d.rip == 0xc0a80012) d.weight = 0;  // drain RS1
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
      if (it->rip == 0xc0a8001c) {
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
                            [](const DestConfig& d) { return d.rip == 0xc0a8001c; }),
             ds.end());
  });
  worker_set_time(p.w, 1000 + 1000 * kTicksPerSecond);
  worker_expire(p.w, 1000);
  EXPECT_EQ(p.store.reclaim(), 1u);
  EXPECT_EQ(p.store.trashed(), 0u);
}

// dh and mh through the snapshot: control builds their tables (mh's from last_weight), the
// worker hashes the VIP (dh) or the client (mh). Service 80's list is RS2, RS1. The mh picks
// come from tests/unit/mh_reference.py (ip_vs_mh.c in Python): 172.16.254.10 -> entry 1364 =
// RS2; with mh-port, :43003 -> RS1 and :43002 -> RS2; RS2 quiesced, mh-fallback -> RS1.
TEST(LiveFixtures, HashSchedulersThroughTheSnapshot) {
  Pipeline p;
  auto syn = [](const std::string& cip, uint16_t sport, const Mac& rs, const std::string& rip) {
    return Step{"SYN from " + cip + ":" + std::to_string(sport),
                0,
                c2d(tcp_pkt(cip, VIP, sport, 80, SYN, 64)),
                {{1, d2rs(rs, tcp_pkt(cip, rip, sport, 80, SYN, 63))}},
                {}};
  };
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
      if (d.rip == 0xc0a8001c) d.weight = 0;
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
      if (d.rip == 0xc0a8001c) d.weight = 0;
  });
  run_steps(p, {refused(43008)});
}

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
  run_steps(p, {{"gone: ARP again",
                 0,
                 c2d(tcp_pkt(CIP, VIP, 46000, 80, ACK, 64)),
                 {{1, eth(kBcast, kPort1, 0x0806, arp(1, kPort1, DIP, kZero, RS2))}},
                 Drop::neigh_unresolved}});
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
void run_burst(Pipeline& p, const std::vector<std::pair<uint16_t, Bytes>>& in,
               const std::vector<std::pair<uint16_t, Bytes>>& want) {
  std::vector<rte_mbuf*> ms;
  for (const auto& [port, frame] : in) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    ASSERT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    m->port = port;
    ms.push_back(m);
  }
  worker_rx_burst(p.w, ms.data(), static_cast<unsigned>(ms.size()));
  worker_flush(p.w);
  std::vector<std::pair<uint16_t, Bytes>> got;
  for (auto* o : p.out) {
    got.emplace_back(o->port, to_bytes(o));
    rte_pktmbuf_free(o);
  }
  p.out.clear();
  ASSERT_EQ(got.size(), want.size()) << "frames out";
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << "egress port of frame " << i;
    EXPECT_EQ(verify_checksums(got[i].second), "") << "frame " << i;
    EXPECT_EQ(got[i].second, want[i].second) << "frame " << i << "\ngot:\n"
                                             << hex(got[i].second) << "\nwant:\n"
                                             << hex(want[i].second);
  }
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

// ---------------------------------------------------------------------------------------------
// Persistence (-p, -M), port 0 services, thresholds.

const std::string CIP2 = "172.16.254.11";
const std::string CIP_OTHER_NET = "172.16.253.10";  // reached through the gateway

Destination* dest_of(Pipeline& p, uint16_t vport, const std::string& rip) {
  const SnapService* s = p.snap->find_service(kIpProtoTcp, ip_be(VIP), htons(vport));
  for (Destination* d : s->dests)
    if (d->rip_be == ip_be(rip)) return d;
  return nullptr;
}

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
    d.erase(
        std::remove_if(d.begin(), d.end(), [](const DestConfig& x) { return x.rip == 0xc0a8001c; }),
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
      if (d.rip == 0xc0a8001c) d.weight = 0;
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

// ---------------------------------------------------------------------------------------------
// Fragments (forwarded one by one, never reassembled: dataplane/frag_table.h) and IP options.

// A datagram cut in two: `first` bytes of its payload (with MF), then the rest.
std::pair<Bytes, Bytes> split(const Bytes& d, size_t first) {
  const size_t ihl = (d[0] & 15) * 4u;
  return {ip_fragment(d, 0, first, true), ip_fragment(d, first, d.size() - ihl - first, false)};
}

Destination* udp_dest(Pipeline& p, uint16_t vport, const std::string& rip) {
  const SnapService* s = p.snap->find_service(kIpProtoUdp, ip_be(VIP), htons(vport));
  for (Destination* d : s->dests)
    if (d->rip_be == ip_be(rip)) return d;
  return nullptr;
}

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
