// The worker pipeline in-process for packet fixtures: one worker (and a second for hand-offs)
// on the NAT lab's configuration, frames in, frames out, the drop counters; the lab's
// addresses and MACs, and frame builders for each direction. Each fixture file (one per suite)
// includes this.
//
// Steps run in order on one worker, so a step sees the connections earlier steps made: the
// table is data (input, expected output, expected verdict), the harness prints which step
// failed and how.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>

#include <arpa/inet.h>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control/config/loader.h"
#include "dataplane/worker.h"
#include "tests/eal/eal_env.h"
#include "tests/packet/pktbuild.h"

namespace fastvs::testing {

inline const Mac kPort0 = mac("02:00:00:00:00:00");  // dpdk0, client side
inline const Mac kPort1 = mac("02:00:00:00:00:01");  // dpdk1, real-server side
inline const Mac kClient = mac("c0:00:00:00:00:0a");
inline const Mac kGw = mac("c0:00:00:00:00:01");
inline const Mac kRs1 = mac("aa:00:00:00:00:18");
inline const Mac kRs2 = mac("aa:00:00:00:00:28");
inline const Mac kBcast = mac("ff:ff:ff:ff:ff:ff");
inline const Mac kZero = mac("00:00:00:00:00:00");

inline const char* kConfig = R"(
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

inline std::array<MacAddr, 2> port_macs() {
  std::array<MacAddr, 2> macs;
  std::copy(kPort0.b, kPort0.b + 6, macs[0].begin());
  std::copy(kPort1.b, kPort1.b + 6, macs[1].begin());
  return macs;
}

inline Bytes to_bytes(rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return Bytes(p, p + m->data_len);
}

class Pipeline {
 public:
  // `extra`: more configuration lines after the fixture's. With two workers, w2 shares the
  // destinations and the persistence table; run_on() gives a packet to one worker directly.
  explicit Pipeline(uint32_t capacity = 1024, const std::string& extra = "", unsigned nworkers = 1)
      : store(nworkers) {
    Result<Config> lr = load_config_text(std::string(kConfig) + extra, "fixture", 2);
    EXPECT_TRUE(lr.ok()) << lr.error();
    if (lr) cfg = *lr;
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
    worker_drop_pending(w);
    if (w2.conns.capacity()) worker_drop_pending(w2);
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
    rte_mbuf* m = mbuf_of(port, frame);
    worker_owned_burst(x, &m, 1);
    worker_flush(x);
    return take_out();
  }
  // A frame in a test mbuf, as if it arrived on `port`.
  static rte_mbuf* mbuf_of(uint16_t port, const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    m->port = port;
    return m;
  }
  // What the workers transmitted since the last call, as (port, bytes).
  std::vector<std::pair<uint16_t, Bytes>> take_out() {
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
    rte_mbuf* m = mbuf_of(port, frame);
    worker_rx_burst(w, &m, 1);
    worker_flush(w);
    return take_out();
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

inline void run_steps(Pipeline& p, const std::vector<Step>& steps) {
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
inline Bytes c2d(const Bytes& ip) {
  return eth(kPort0, kClient, 0x0800, ip);
}  // client -> director
inline Bytes d2c(const Bytes& ip) {
  return eth(kClient, kPort0, 0x0800, ip);
}
inline Bytes d2rs(const Mac& rs, const Bytes& ip) {
  return eth(rs, kPort1, 0x0800, ip);
}
inline Bytes rs2d(const Mac& rs, const Bytes& ip) {
  return eth(kPort1, rs, 0x0800, ip);
}

inline const std::string CIP = "172.16.254.10", VIP = "172.16.254.200", DIP = "192.168.0.8";
inline const std::string RS1 = "192.168.0.18", RS2 = "192.168.0.28";

inline Bytes tcp_pkt(const std::string& s, const std::string& d, uint16_t sp, uint16_t dp,
                     uint8_t fl, uint8_t ttl, const Bytes& data = {}) {
  return ipv4(s, d, 6, tcp(s, d, sp, dp, fl, data), {.ttl = ttl});
}
inline Bytes udp_pkt(const std::string& s, const std::string& d, uint16_t sp, uint16_t dp,
                     uint8_t ttl, const Bytes& data, bool zero = false) {
  return ipv4(s, d, 17, udp(s, d, sp, dp, data, zero), {.ttl = ttl});
}

inline constexpr uint8_t SYN = 0x02, ACK = 0x10, PSH = 0x08, RST = 0x04;

// Publishes the pipeline's configuration changed by `edit` (as control does) and adopts it.
inline void reconfigure(Pipeline& p, const std::function<void(Config&)>& edit) {
  edit(p.cfg);
  auto next = build_snapshot(p.cfg, p.store, 2, port_macs().data());
  next->seq = p.snap->seq + 1;
  worker_adopt(p.w, next.get());
  if (p.w2.snap) worker_adopt(p.w2, next.get());
  p.old.push_back(std::move(p.snap));
  p.snap = std::move(next);
}

inline ServiceConfig* find_svc(Config& c, uint16_t port) {
  for (auto& s : c.services)
    if (s.key.vport == port && s.key.proto == Proto::Tcp) return &s;
  return nullptr;
}

inline const std::string CIP2 = "172.16.254.11";
inline const std::string CIP_OTHER_NET = "172.16.253.10";  // reached through the gateway

inline Destination* dest_of(Pipeline& p, uint16_t vport, const std::string& rip) {
  const SnapService* s = p.snap->find_service(kIpProtoTcp, ip_be(VIP), htons(vport));
  for (Destination* d : s->dests)
    if (d->rip_be == ip_be(rip)) return d;
  return nullptr;
}

// A datagram cut in two: `first` bytes of its payload (with MF), then the rest.
inline std::pair<Bytes, Bytes> split(const Bytes& d, size_t first) {
  const size_t ihl = (d[0] & 15) * 4u;
  return {ip_fragment(d, 0, first, true), ip_fragment(d, first, d.size() - ihl - first, false)};
}

inline Destination* udp_dest(Pipeline& p, uint16_t vport, const std::string& rip) {
  const SnapService* s = p.snap->find_service(kIpProtoUdp, ip_be(VIP), htons(vport));
  for (Destination* d : s->dests)
    if (d->rip_be == ip_be(rip)) return d;
  return nullptr;
}

// Runs `in` through the worker as one RX burst; what it transmits must be `want`, in order.
inline void run_burst(Pipeline& p, const std::vector<std::pair<uint16_t, Bytes>>& in,
                      const std::vector<std::pair<uint16_t, Bytes>>& want) {
  std::vector<rte_mbuf*> ms;
  for (const auto& [port, frame] : in) ms.push_back(Pipeline::mbuf_of(port, frame));
  worker_rx_burst(p.w, ms.data(), static_cast<unsigned>(ms.size()));
  worker_flush(p.w);
  const std::vector<std::pair<uint16_t, Bytes>> got = p.take_out();
  ASSERT_EQ(got.size(), want.size()) << "frames out";
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << "egress port of frame " << i;
    EXPECT_EQ(verify_checksums(got[i].second), "") << "frame " << i;
    EXPECT_EQ(got[i].second, want[i].second) << "frame " << i << "\ngot:\n"
                                             << hex(got[i].second) << "\nwant:\n"
                                             << hex(want[i].second);
  }
}

}  // namespace fastvs::testing
