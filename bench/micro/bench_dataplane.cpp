// Micro-benchmarks (Google Benchmark): the parser, the connection table, each scheduler's pick,
// and the whole worker pipeline on in-memory mbufs (no I/O) in ns per packet, for NAT, DR and
// TUN on established flows. Run: build/bench/micro/bench_dataplane [--benchmark_filter=...]
//
// The EAL runs as in the tests (--no-huge, no PCI), so it runs anywhere; the pipeline figures
// include restoring each packet's 64 bytes before every pass (the pipeline rewrites them), which
// the "restore only" benchmark measures on its own.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control/config/loader.h"
#include "dataplane/checksum.h"
#include "dataplane/conn_table.h"
#include "dataplane/parse.h"
#include "dataplane/sched/sched.h"
#include "dataplane/sync.h"
#include "dataplane/worker.h"

namespace fastvs {
namespace {

rte_mempool* g_pool = nullptr;

// An Ethernet + IPv4 + UDP frame of 64 bytes (with FCS: 60 here), checksums valid.
std::vector<uint8_t> udp_frame(uint32_t cip, uint16_t cport, uint32_t vip, uint16_t vport,
                               const uint8_t* dmac) {
  std::vector<uint8_t> f(60, 0);
  std::memcpy(&f[0], dmac, 6);
  f[6] = 0xc0;
  f[11] = 0x0a;
  f[12] = 0x08;
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  const uint16_t tot = htons(46);
  std::memcpy(ip + 2, &tot, 2);
  ip[8] = 64;
  ip[9] = 17;
  std::memcpy(ip + 12, &cip, 4);
  std::memcpy(ip + 16, &vip, 4);
  const uint16_t c = csum_buffer(ip, 20);
  std::memcpy(ip + 10, &c, 2);
  uint8_t* u = ip + 20;
  std::memcpy(u, &cport, 2);
  std::memcpy(u + 2, &vport, 2);
  const uint16_t ulen = htons(26);
  std::memcpy(u + 4, &ulen, 2);
  return f;
}

void BM_Parse(benchmark::State& st) {
  const uint8_t mac[6] = {2, 0, 0, 0, 0, 0};
  auto f = udp_frame(inet_addr("10.0.0.1"), htons(1234), inet_addr("10.1.0.1"), htons(53), mac);
  for (auto _ : st) {
    PacketInfo pi;
    Drop why;
    benchmark::DoNotOptimize(parse_packet(f.data(), static_cast<uint32_t>(f.size()), pi, &why));
    benchmark::DoNotOptimize(pi);
  }
}
BENCHMARK(BM_Parse);

ConnKey key_of(uint32_t i) {
  return make_key(htonl(0x0a000000 + i), htonl(0xac10fec8), htons(1000 + (i & 0x7fff)), htons(80),
                  6);
}

void BM_ConnLookup(benchmark::State& st) {
  const uint32_t n = static_cast<uint32_t>(st.range(0));
  static int id = 0;
  ConnTable t;
  if (!t.init(("bl" + std::to_string(id++)).c_str(), n, 0, 0)) return st.SkipWithError("no memory");
  for (uint32_t i = 0; i < n; ++i) {
    const ConnKey in = key_of(i);
    const ConnKey out = make_key(htonl(0xc0a80012), in.saddr, htons(80), in.sport, 6);
    bool col;
    if (!t.insert(in, &out, 1000000, 0, &col)) return st.SkipWithError("insert failed");
  }
  std::mt19937 rng(1);
  std::vector<ConnKey> keys(4096);
  for (auto& k : keys) k = key_of(rng() % n);
  size_t i = 0;
  for (auto _ : st) {
    bool is_out;
    benchmark::DoNotOptimize(t.lookup(keys[i++ & 4095], &is_out));
  }
  st.counters["bytes_per_conn"] = double(t.memory_bytes()) / n;
}
BENCHMARK(BM_ConnLookup)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// A new flow every time: insert two keys, and expire as many as are created (steady state).
void BM_ConnInsertExpire(benchmark::State& st) {
  const uint32_t n = 1 << 16;
  static int id = 0;
  ConnTable t;
  if (!t.init(("bi" + std::to_string(id++)).c_str(), n, 0, 0)) return st.SkipWithError("no memory");
  uint32_t i = 0, now = 0;
  for (auto _ : st) {
    const ConnKey in = key_of(i);
    const ConnKey out = make_key(htonl(0xc0a80012), in.saddr, htons(80), in.sport, 6);
    bool col;
    benchmark::DoNotOptimize(t.insert(in, &out, 16, now, &col));
    if ((++i & 1023) == 0) t.expire(++now, 1u << 30, [](Conn&) {});
    if (t.size() > n - 2048) t.expire(now += 17, 1u << 30, [](Conn&) {});
  }
}
BENCHMARK(BM_ConnInsertExpire);

// Memory per connection, index included: what the table takes from the DPDK heap (the hash
// sized for two keys a connection, the connection array, the timer wheel) over its capacity.
// The table is preallocated, so this is also the cost of a full table.
// Arg 1: keys a connection in the index (2: NAT's, the default; 1: --conn-keys = capacity).
void BM_ConnTableBytes(benchmark::State& st) {
  const auto n = static_cast<uint32_t>(st.range(0));
  const auto keys = uint64_t{n} * static_cast<uint64_t>(st.range(1));
  static int id = 0;
  st.SetLabel(st.range(1) == 2 ? "NAT, two keys" : "DR/TUN, one key");
  for (auto _ : st) {
    ConnTable t;
    if (!t.init(("bm" + std::to_string(id++)).c_str(), n, 0, 0, keys))
      return st.SkipWithError("no memory");
    st.counters["bytes_per_conn"] = static_cast<double>(t.memory_bytes()) / n;
    st.counters["MiB"] = static_cast<double>(t.memory_bytes()) / (1 << 20);
  }
}
BENCHMARK(BM_ConnTableBytes)
    ->Args({1 << 20, 2})
    ->Args({10'000'000, 2})
    ->Args({1 << 20, 1})
    ->Args({10'000'000, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_Sched(benchmark::State& st) {
  const auto kind = static_cast<SchedKind>(st.range(0));
  std::vector<std::unique_ptr<Destination>> ds;
  std::vector<Destination*> list;
  for (int i = 0; i < 8; ++i) {
    ds.push_back(std::make_unique<Destination>());
    ds.back()->weight.store(1 + i % 3);
    ds.back()->last_weight = 1 + i % 3;
    ds.back()->slot[0].activeconns.store(i * 7);
    list.push_back(ds.back().get());
  }
  std::vector<Destination*> table(sched_table_size(kind));
  SchedService svc;
  svc.kind = kind;
  svc.dests = list.data();
  svc.ndests = 8;
  if (!table.empty()) {
    sched_build_table(kind, list.data(), 8, table.data());
    svc.table = table.data();
  }
  SchedState s;
  sched_reset(svc, s);
  uint32_t ip = 0;
  for (auto _ : st) benchmark::DoNotOptimize(sched_pick(svc, s, SchedFlow{++ip, 1000, 0x0a000001}));
  st.SetLabel(sched_name(kind));
}
BENCHMARK(BM_Sched)->DenseRange(0, static_cast<int>(SchedKind::Mh));

// An Ethernet + IPv6 + UDP frame (4 bytes of data: 66 bytes), the UDP checksum valid: client
// 2001:db8:fe::a + i.
std::vector<uint8_t> udp6_frame(uint32_t i, uint16_t cport, uint16_t vport, const uint8_t* dmac) {
  std::vector<uint8_t> f(14 + 40 + 8 + 4, 0);
  std::memcpy(&f[0], dmac, 6);
  f[6] = 0xc0;
  f[11] = 0x0a;
  f[12] = 0x86;
  f[13] = 0xdd;
  uint8_t* ip = &f[14];
  ip[0] = 0x60;
  ip[5] = 12;
  ip[6] = 17;
  ip[7] = 64;
  inet_pton(AF_INET6, "2001:db8:fe::a", ip + 8);
  const uint32_t low = htonl(0xa + i);
  std::memcpy(ip + 20, &low, 4);
  inet_pton(AF_INET6, "2001:db8:fe::200", ip + 24);
  uint8_t* u = ip + 40;
  std::memcpy(u, &cport, 2);
  std::memcpy(u + 2, &vport, 2);
  u[5] = 12;
  const uint16_t sum = csum_finish(csum_partial(u, 12, csum_pseudo6(ip + 8, ip + 24, 12, 17)));
  std::memcpy(u + 6, &sum, 2);
  return f;
}

// The whole pipeline on one worker: a burst of 32 established flows, parse -> classify ->
// lookup -> state -> transmit by method -> route -> neighbour -> TX buffer (captured, not sent).
struct Pipe {
  Config cfg;
  DestStore store{1};
  std::unique_ptr<Snapshot> snap;
  NeighTable neigh;
  Worker w;
  std::vector<rte_mbuf*> out;
  std::vector<std::vector<uint8_t>> frames;
  rte_mbuf* pkts[kBurst];

  NeighTable6 neigh6;

  explicit Pipe(const char* method, uint16_t vport, uint32_t capacity = 4096,
                const char* extra = "", bool v6 = false) {
    const std::string v = std::to_string(vport);
    const std::string text6 = "ip addr add 2001:db8:fe::200/64 dev dpdk0\n"
                              "ip addr add 2001:db8:1::8/64 dev dpdk1\n"
                              "-A -u [2001:db8:fe::200]:" + v + " -s rr\n"
                              "-a -u [2001:db8:fe::200]:" + v + " -r 2001:db8:1::18 " + method +
                              "\n-a -u [2001:db8:fe::200]:" + v + " -r 2001:db8:1::28 " + method +
                              "\n" + extra;
    const std::string text4 = std::string(
                                 "ip addr add 172.16.254.200/24 dev dpdk0\n"
                                 "ip addr add 192.168.0.8/24 dev dpdk1\n"
                                 "-A -u 172.16.254.200:") +
                             std::to_string(vport) +
                             " -s rr\n"
                             "-a -u 172.16.254.200:" +
                             std::to_string(vport) + " -r 192.168.0.18 " + method +
                             "\n"
                             "-a -u 172.16.254.200:" +
                             std::to_string(vport) + " -r 192.168.0.28 " + method + "\n" + extra;
    cfg = *load_config_text(v6 ? text6 : text4, "bench", 2);
    MacAddr macs[2] = {{2, 0, 0, 0, 0, 0}, {2, 0, 0, 0, 0, 1}};
    snap = build_snapshot(cfg, store, 2, macs);
    neigh.set(inet_addr("192.168.0.18"), 1, MacAddr{0xaa, 0, 0, 0, 0, 0x18}, NeighState::Permanent);
    neigh.set(inet_addr("192.168.0.28"), 1, MacAddr{0xaa, 0, 0, 0, 0, 0x28}, NeighState::Permanent);
    static int id = 0;
    w.pool = g_pool;
    w.neigh = &neigh;
    w.txq[0] = w.txq[1] = 0;
    w.capture = &out;
    out.reserve(4096);
    w.tsc_per_tick = 1;
    worker_set_time(w, 1000);
    const std::string name = "bp" + std::to_string(id++);
    if (!w.conns.init(name.c_str(), capacity, 0, w.now)) std::abort();
    if (v6) {
      if (!w.conns.enable_ipv6((name + "6").c_str(), 0)) std::abort();
      for (const auto& [rs, last] : {std::pair{"2001:db8:1::18", 0x18}, {"2001:db8:1::28", 0x28}}) {
        Ip6Key k;
        inet_pton(AF_INET6, rs, k.b);
        neigh6.set(k, 1, MacAddr{0xaa, 0, 0, 0, 0, static_cast<uint8_t>(last)},
                   NeighState::Permanent);
      }
      w.neigh6 = &neigh6;
    }
    worker_adopt(w, snap.get());
    for (uint32_t i = 0; i < kBurst; ++i)
      frames.push_back(v6 ? udp6_frame(i, htons(5000 + i), htons(vport), macs[0].data())
                          : udp_frame(htonl(0xac10fe0a + i), htons(5000 + i),
                                      inet_addr("172.16.254.200"), htons(vport), macs[0].data()));
    for (auto& p : pkts) p = rte_pktmbuf_alloc(g_pool);
    restore();
    run();  // the first pass schedules the flows: what follows is established traffic
  }
  ~Pipe() {
    for (auto* p : pkts) rte_pktmbuf_free(p);
    if (w.sync_out) rte_ring_free(w.sync_out);
  }
  // The master sync daemon on (dataplane/sync.h): the snapshot says so, the worker has its ring
  // and counts. Control's draining of the ring (on its own core) is done by drain_sync().
  void sync_on(const SyncParams& params) {
    static int n = 0;
    snap->sync_master = true;
    snap->sync = params;
    w.sync_out = rte_ring_create_elem(("bs" + std::to_string(n++)).c_str(), sizeof(SyncConn),
                                      kSyncRingSize, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    counts.assign(w.conns.capacity(), SyncCount{});
    w.sync_counts = counts.data();
  }
  void drain_sync() {
    SyncConn buf[256];
    while (rte_ring_sc_dequeue_burst_elem(w.sync_out, buf, sizeof(SyncConn), 256, nullptr) > 0) {
    }
  }
  std::vector<SyncCount> counts;
  void restore() {
    for (uint32_t i = 0; i < kBurst; ++i) {
      rte_mbuf* m = pkts[i];
      rte_pktmbuf_reset(m);
      const auto len = static_cast<uint16_t>(frames[i].size());
      std::memcpy(rte_pktmbuf_append(m, len), frames[i].data(), len);
      m->port = 0;
    }
  }
  void run() {
    worker_rx_burst(w, pkts, kBurst);
    worker_flush(w);
    out.clear();  // the mbufs stay ours: the next pass restores them
  }
};

void BM_PipelineRestoreOnly(benchmark::State& st) {
  Pipe p("-m", 53);
  for (auto _ : st) p.restore();
  st.SetItemsProcessed(st.iterations() * kBurst);
}
BENCHMARK(BM_PipelineRestoreOnly);

void BM_Pipeline(benchmark::State& st, const char* method, bool sync = false, bool v6 = false) {
  Pipe p(method, 53, 4096, "", v6);
  // Established flows with the master daemon on, IPVS's defaults: a flow is synced at its
  // 3rd, 53rd, ... packet (one packet in 50 records an event).
  if (sync) p.sync_on(SyncParams{});
  uint64_t iter = 0;
  const uint64_t before = p.w.ctr.tx;
  for (auto _ : st) {
    p.restore();
    p.run();
    if (sync && (++iter & 255) == 0) p.drain_sync();
  }
  const uint64_t sent = p.w.ctr.tx - before;
  if (sync && p.w.ctr.sync_dropped) st.SkipWithError("sync events were dropped");
  if (sent != static_cast<uint64_t>(st.iterations()) * kBurst)
    st.SkipWithError("packets were dropped");
  st.SetItemsProcessed(st.iterations() * kBurst);
  st.counters["ns_per_packet"] = benchmark::Counter(
      double(st.iterations() * kBurst), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
// Scenario 3 in memory: every packet a new UDP flow (a new client address: lookup miss, the
// scheduler, two-key insert, NAT), with a 1 s UDP timeout and the worker's own expiry, so the
// table stays at its steady state (about two seconds of flows) while time advances 1 s every
// 32K flows.
//
// sync: the master daemon on, every new flow synced (threshold 1: at its first packet), so each
// packet also records an event in the worker's ring; the ring is drained every 256 bursts (what
// control does on its own core, here on the worker's: an upper bound).
void BM_PipelineNewFlows(benchmark::State& st, bool sync) {
  Pipe p("-m", 53, 1 << 20, "--set 0 0 1\n");
  if (sync) {
    SyncParams params;
    params.threshold = 1;
    p.sync_on(params);
  }
  uint32_t next = 0x0b000000;  // 11.0.0.0
  uint64_t tsc = 1000, iter = 0;
  const uint64_t created = p.w.ctr.conns_created;
  for (auto _ : st) {
    p.restore();
    for (rte_mbuf* m : p.pkts) {
      uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, 14);
      const uint32_t src = htonl(next++);
      std::memcpy(ip + 12, &src, 4);
      ip[10] = ip[11] = 0;
      const uint16_t c = csum_buffer(ip, 20);
      std::memcpy(ip + 10, &c, 2);
    }
    p.run();
    if (sync && (iter & 255) == 255) p.drain_sync();
    if ((++iter & 1023) == 0) {
      worker_set_time(p.w, tsc += kTicksPerSecond);
      worker_expire(p.w, 1u << 30);
    }
  }
  if (p.w.ctr.conns_created - created != static_cast<uint64_t>(st.iterations()) * kBurst)
    st.SkipWithError("a new flow was not created");
  if (sync && p.w.ctr.sync_queued < static_cast<uint64_t>(st.iterations()) * kBurst)
    st.SkipWithError("a new flow was not synced");
  st.SetItemsProcessed(st.iterations() * kBurst);
  st.counters["table"] = static_cast<double>(p.w.conns.size());
  st.counters["ns_per_packet"] = benchmark::Counter(
      double(st.iterations() * kBurst), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK_CAPTURE(BM_PipelineNewFlows, sync_off, false);
BENCHMARK_CAPTURE(BM_PipelineNewFlows, sync_on, true);

// Scenario 2 in memory: established UDP flows, each burst 32 different ones taken in turn from
// a working set of st.range(0) flows, so at 1M the table's buckets and entries come from DRAM.
void BM_PipelineWorkingSet(benchmark::State& st) {
  const auto flows = static_cast<uint32_t>(st.range(0));
  Pipe p("-m", 53, std::max<uint32_t>(4096, flows * 2));
  auto next_burst = [&p, flows](uint32_t& next) {
    p.restore();
    for (rte_mbuf* m : p.pkts) {
      uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, 14);
      // Scattered over the set (a multiplicative step), not in address order.
      const uint32_t src = htonl(0x0b000000 + (next++ * 2654435761u) % flows);
      std::memcpy(ip + 12, &src, 4);
      ip[10] = ip[11] = 0;
      const uint16_t c = csum_buffer(ip, 20);
      std::memcpy(ip + 10, &c, 2);
    }
    p.run();
  };
  uint32_t next = 0;
  // Every flow scheduled (the table also holds the Pipe's own 32).
  while (p.w.conns.size() < flows + kBurst) next_burst(next);
  const uint64_t created = p.w.ctr.conns_created, sent = p.w.ctr.tx;
  for (auto _ : st) next_burst(next);
  if (p.w.ctr.conns_created != created ||
      p.w.ctr.tx - sent != static_cast<uint64_t>(st.iterations()) * kBurst)
    st.SkipWithError("not every packet was an established flow's, forwarded");
  st.SetItemsProcessed(st.iterations() * kBurst);
  st.counters["ns_per_packet"] = benchmark::Counter(
      double(st.iterations() * kBurst), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PipelineWorkingSet)->Arg(256)->Arg(1 << 20);

// The backup's worker: synced connections installed (sync_apply_one: the service and real server
// looked up, the connection inserted under both keys), 256K of them in one table.
void BM_SyncApplyInstall(benchmark::State& st) {
  constexpr uint32_t kConns = 256 * 1024;
  for (auto _ : st) {
    st.PauseTiming();
    {
      Pipe p("-m", 53, kConns * 2);
      SyncConn e{};
      e.vip = inet_addr("172.16.254.200");
      e.vport = htons(53);
      e.rip = inet_addr("192.168.0.18");
      e.rport = htons(53);
      e.proto = 17;
      e.method = ForwardMethod::Masq;
      e.timeout = 300;
      st.ResumeTiming();
      for (uint32_t i = 0; i < kConns; ++i) {
        e.cip = htonl(0x0b000000 + i);
        sync_apply_one(p.w, e);
      }
      st.PauseTiming();
      if (p.w.ctr.sync_applied != kConns) st.SkipWithError("not every connection was installed");
    }
    st.ResumeTiming();
  }
  st.SetItemsProcessed(st.iterations() * kConns);
  st.counters["ns_per_conn"] = benchmark::Counter(
      double(st.iterations() * kConns), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SyncApplyInstall)->Iterations(3)->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(BM_Pipeline, nat, "-m");
BENCHMARK_CAPTURE(BM_Pipeline, dr, "-g");
BENCHMARK_CAPTURE(BM_Pipeline, tun, "-i");
BENCHMARK_CAPTURE(BM_Pipeline, nat_sync_on, "-m", true);
// IPv6 (NAT66, DR and TUN over IPv6), the same flows: beside IPv4's, never in its way.
BENCHMARK_CAPTURE(BM_Pipeline, nat66, "-m", false, true);
BENCHMARK_CAPTURE(BM_Pipeline, dr6, "-g", false, true);
BENCHMARK_CAPTURE(BM_Pipeline, tun6, "-i", false, true);

}  // namespace
}  // namespace fastvs

int main(int argc, char** argv) {
  const char* eal[] = {"bench",        "-l",       "0",           "--no-huge",      "-m",
                       "4096",         "--no-pci", "--no-shconf", "--no-telemetry", "--log-level",
                       "lib.eal:error"};
  if (rte_eal_init(sizeof eal / sizeof eal[0], const_cast<char**>(eal)) < 0) return 1;
  fastvs::g_pool = rte_pktmbuf_pool_create("bench_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
