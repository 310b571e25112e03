// Connection sync, control's side: how many connections a second the master daemon packs and
// sends (the workers' ring drained, version 1 messages of 1472 bytes, send() on a real UDP
// socket, here to 127.0.0.1) and the backup decodes and hands to a worker's ring. With the
// workers' per-packet cost (bench_dataplane: Pipeline/nat_sync_on, PipelineNewFlows/sync_on)
// these bound the sync rate; docs/sync.md has the figures.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include <rte_eal.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control/sync/sync_daemon.h"

namespace fastvs {
namespace {

SyncConn conn(uint32_t i) {
  SyncConn c{};
  c.cip = htonl(0x0b000000 + i);
  c.vip = htonl(0xac10fec8);
  c.rip = htonl(0xc0a80012);
  c.cport = htons(static_cast<uint16_t>(10000 + i % 50000));
  c.vport = htons(80);
  c.rport = htons(80);
  c.proto = 6;
  c.state = 1;
  c.method = ForwardMethod::Masq;
  c.timeout = 900;
  return c;
}

rte_ring* ring(const char* name) {
  rte_ring* r =
      rte_ring_create_elem(name, sizeof(SyncConn), kSyncRingSize, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (!r) std::abort();
  return r;
}

// The master: 8192 events in the ring (what a worker records in 20 ms at 400k connections a
// second), drained, packed and sent; per connection.
void BM_SyncMasterSend(benchmark::State& st) {
  // A receiver that is never read: the kernel drops what overflows it, after send() succeeded.
  const int rx = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  if (bind(rx, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 ||
      getsockname(rx, reinterpret_cast<sockaddr*>(&at), &len) != 0)
    std::abort();
  SyncDaemonConfig cfg;
  cfg.group = INADDR_LOOPBACK;  // unicast to loopback: the same send() as to the group
  cfg.port = ntohs(at.sin_port);
  SyncMaster m;
  if (!m.start(cfg, "lo", 1472)) std::abort();
  std::vector<rte_ring*> rings{ring("bsm")};
  std::vector<SyncConn> batch;
  for (uint32_t i = 0; i < 8192; ++i) batch.push_back(conn(i));
  for (auto _ : st) {
    st.PauseTiming();
    rte_ring_sp_enqueue_bulk_elem(rings[0], batch.data(), sizeof(SyncConn), 8192, nullptr);
    st.ResumeTiming();
    m.poll(rings);
  }
  if (m.stats().send_errors) st.SkipWithError("send() failed");
  st.SetItemsProcessed(st.iterations() * 8192);
  st.counters["messages"] = static_cast<double>(m.stats().messages) / st.iterations();
  st.counters["ns_per_conn"] = benchmark::Counter(
      double(st.iterations() * 8192), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  rte_ring_free(rings[0]);
  close(rx);
}
BENCHMARK(BM_SyncMasterSend);

// The backup: a full message (40 connections) decoded and each connection handed to its
// worker's ring (as SyncBackup::on_readable does after recv()); per connection.
void BM_SyncBackupDecode(benchmark::State& st) {
  sync::Writer w(0, 1472);
  for (uint32_t i = 0; w.add(to_entry(conn(i))); ++i) {
  }
  const std::vector<uint8_t> msg = w.bytes();
  rte_ring* r = ring("bsb");
  uint64_t n = 0;
  for (auto _ : st) {
    const sync::Decoded d = sync::decode(msg, 0);
    for (const sync::Entry& e : d.entries) {
      SyncConn c;
      if (from_entry(e, &c)) rte_ring_sp_enqueue_elem(r, &c, sizeof c);
    }
    n += d.entries.size();
    SyncConn out[64];
    while (rte_ring_sc_dequeue_burst_elem(r, out, sizeof(SyncConn), 64, nullptr) > 0) {
    }
  }
  st.SetItemsProcessed(static_cast<int64_t>(n));
  st.counters["per_message"] = static_cast<double>(w.count());
  st.counters["ns_per_conn"] =
      benchmark::Counter(double(n), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  rte_ring_free(r);
}
BENCHMARK(BM_SyncBackupDecode);

}  // namespace
}  // namespace fastvs

int main(int argc, char** argv) {
  const char* eal[] = {"bench_sync",   "-l",       "0",           "--no-huge",      "-m",
                       "256",          "--no-pci", "--no-shconf", "--no-telemetry", "--log-level",
                       "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  rte_eal_cleanup();
  return 0;
}
