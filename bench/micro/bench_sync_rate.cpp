// Connection sync end to end in one process, at a given rate of new connections: a master
// worker's pipeline takes each connection's first three packets (SYN, ACK, a request: IPVS syncs
// at the 3rd), control's SyncMaster drains its ring every 20 ms of traffic time and sends real
// UDP datagrams (to 127.0.0.1), control's SyncBackup receives and decodes them, and a backup
// worker installs the connections. Time is simulated (20 ms windows), each stage's CPU time is
// measured: a stage that needs less than a second of CPU per second of traffic keeps up on its
// own core, as in fastvsd. Reported: connections synced of those offered, what was lost and
// where, and each stage's share of its core. docs/sync.md has the figures.
//
// usage: bench_sync_rate [RATE...]   (new connections a second; default 1000 10000 100000 1000000)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control/config/loader.h"
#include "control/sync/sync_daemon.h"
#include "dataplane/checksum.h"
#include "dataplane/sync.h"
#include "dataplane/worker.h"
#include "tests/packet/pktbuild.h"

namespace fastvs {
namespace {

using Clock = std::chrono::steady_clock;
rte_mempool* g_pool = nullptr;
constexpr uint32_t kWindowsPerSecond = 50;  // IPVS_SYNC_SEND_DELAY: 20 ms

const char* kConfig =
    "ip addr add 172.16.254.200/24 dev dpdk0\n"
    "ip addr add 192.168.0.8/24 dev dpdk1\n"
    "-A -t 172.16.254.200:80 -s rr\n"
    "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m\n"
    "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m\n";

// One worker on the fixture's configuration (as bench_dataplane's Pipe), its output captured.
struct Director {
  Config cfg;
  DestStore store{1};
  std::unique_ptr<Snapshot> snap;
  NeighTable neigh;
  Worker w;
  std::vector<rte_mbuf*> out;
  std::vector<SyncCount> counts;
  rte_ring* ring = nullptr;

  Director(const char* name, uint32_t capacity) {
    cfg = *load_config_text(kConfig, "bench", 2);
    MacAddr macs[2] = {{2, 0, 0, 0, 0, 0}, {2, 0, 0, 0, 0, 1}};
    snap = build_snapshot(cfg, store, 2, macs);
    neigh.set(inet_addr("192.168.0.18"), 1, MacAddr{0xaa, 0, 0, 0, 0, 0x18}, NeighState::Permanent);
    neigh.set(inet_addr("192.168.0.28"), 1, MacAddr{0xaa, 0, 0, 0, 0, 0x28}, NeighState::Permanent);
    w.pool = g_pool;
    w.neigh = &neigh;
    w.txq[0] = w.txq[1] = 0;
    w.capture = &out;
    w.tsc_per_tick = 1;
    worker_set_time(w, 1000);
    if (!w.conns.init(name, capacity, 0, w.now)) std::abort();
    ring = rte_ring_create_elem((std::string(name) + "r").c_str(), sizeof(SyncConn), kSyncRingSize,
                                0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ring) std::abort();
    worker_adopt(w, snap.get());
  }
  ~Director() { rte_ring_free(ring); }
  void flush() {
    worker_flush(w);
    for (rte_mbuf* m : out) rte_pktmbuf_free(m);
    out.clear();
  }
};

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

void run(uint32_t rate, double duration) {
  const uint64_t total = static_cast<uint64_t>(rate * duration);
  const uint32_t capacity = static_cast<uint32_t>(total + 4096);
  Director m(("srm" + std::to_string(rate)).c_str(), capacity);
  Director b(("srb" + std::to_string(rate)).c_str(), capacity);
  m.snap->sync_master = true;
  m.w.sync_out = m.ring;
  m.counts.assign(capacity, SyncCount{});
  m.w.sync_counts = m.counts.data();
  b.w.sync_in = b.ring;

  const int rx = socket(AF_INET, SOCK_DGRAM, 0);  // a free port for the pair
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  if (bind(rx, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 ||
      getsockname(rx, reinterpret_cast<sockaddr*>(&at), &len) != 0)
    std::abort();
  close(rx);
  SyncDaemonConfig cfg;
  cfg.group = INADDR_LOOPBACK;
  cfg.port = ntohs(at.sin_port);
  SyncBackup backup;
  SyncMaster master;
  if (!backup.start(cfg, "lo") || !master.start(cfg, "lo", 1472)) std::abort();

  // The client's three packets, patched per connection (source address, port, flags).
  const testing::Mac client = testing::mac("c0:00:00:00:00:0a");
  const testing::Mac port0 = testing::mac("02:00:00:00:00:00");
  const testing::Bytes tmpl = testing::eth(
      port0, client, 0x0800,
      testing::ipv4(
          "11.0.0.1", "172.16.254.200", 6,
          testing::tcp("11.0.0.1", "172.16.254.200", 10000, 80, 0x02, testing::Bytes(16, 'x'))));
  rte_mbuf* pkts[kBurst];
  auto burst = [&](uint64_t first, unsigned n, uint8_t flags) {
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* p = rte_pktmbuf_alloc(g_pool);
      uint8_t* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(p, uint16_t(tmpl.size())));
      std::memcpy(f, tmpl.data(), tmpl.size());
      const uint64_t c = first + i;
      const uint32_t src = htonl(0x0b000000 + static_cast<uint32_t>(c / 50000));
      const uint16_t sport = htons(static_cast<uint16_t>(10000 + c % 50000));
      std::memcpy(f + 14 + 12, &src, 4);
      f[14 + 10] = f[14 + 11] = 0;
      const uint16_t sum = csum_buffer(f + 14, 20);
      std::memcpy(f + 14 + 10, &sum, 2);
      std::memcpy(f + 34, &sport, 2);
      f[34 + 13] = flags;
      p->port = 0;
      pkts[i] = p;
    }
    worker_rx_burst(m.w, pkts, n);
    m.flush();
  };

  Clock::duration t_worker{}, t_send{}, t_recv{}, t_apply{};
  const uint32_t windows = static_cast<uint32_t>(duration * kWindowsPerSecond);
  uint64_t next = 0;
  for (uint32_t win = 0; win < windows; ++win) {
    const uint64_t tick = 1000 + uint64_t{win} * kTicksPerSecond / kWindowsPerSecond;
    worker_set_time(m.w, tick);
    worker_set_time(b.w, tick);
    const uint64_t until = total * (win + 1) / windows;
    auto t0 = Clock::now();
    while (next < until) {
      const unsigned n = static_cast<unsigned>(std::min<uint64_t>(kBurst, until - next));
      burst(next, n, 0x02);  // SYN
      burst(next, n, 0x10);  // ACK
      burst(next, n, 0x18);  // the request: the 3rd packet, synced
      next += n;
    }
    auto t1 = Clock::now();
    master.poll({m.ring});
    auto t2 = Clock::now();
    backup.on_readable({b.ring}, 1u << 20);
    auto t3 = Clock::now();
    while (worker_sync_apply(b.w, 4096) > 0) {
    }
    auto t4 = Clock::now();
    t_worker += t1 - t0;
    t_send += t2 - t1;
    t_recv += t3 - t2;
    t_apply += t4 - t3;
  }
  const SyncBackupStats& bs = backup.stats();
  uint64_t decode_drops = 0;
  for (uint64_t d : bs.drops) decode_drops += d;
  std::printf(
      "%8u/s  %8lu offered  %8lu synced  %6lu lost (ring full %lu, socket %lu, backup ring %lu)  "
      "core shares: master worker %5.1f%% (sync %lu queued), master control %5.2f%%, backup "
      "control %5.2f%%, backup worker %5.2f%%  (%lu messages)\n",
      rate, static_cast<unsigned long>(total),
      static_cast<unsigned long>(b.w.ctr.sync_applied.get()),
      static_cast<unsigned long>(total - b.w.ctr.sync_applied.get()),
      static_cast<unsigned long>(m.w.ctr.sync_dropped.get()),
      static_cast<unsigned long>(master.stats().entries - bs.entries - decode_drops),
      static_cast<unsigned long>(bs.ring_full), 100 * seconds(t_worker) / duration,
      static_cast<unsigned long>(m.w.ctr.sync_queued.get()), 100 * seconds(t_send) / duration,
      100 * seconds(t_recv) / duration, 100 * seconds(t_apply) / duration,
      static_cast<unsigned long>(master.stats().messages));
}

}  // namespace
}  // namespace fastvs

int main(int argc, char** argv) {
  const char* eal[] = {"bench_sync_rate", "-l",           "0",
                       "--no-huge",       "-m",           "3072",
                       "--no-pci",        "--no-shconf",  "--no-telemetry",
                       "--log-level",     "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  fastvs::g_pool = rte_pktmbuf_pool_create("srpool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  if (!fastvs::g_pool) return 1;
  std::vector<uint32_t> rates;
  for (int i = 1; i < argc; ++i)
    rates.push_back(static_cast<uint32_t>(std::strtoul(argv[i], nullptr, 10)));
  if (rates.empty()) rates = {1000, 10000, 100000, 1000000};
  for (uint32_t r : rates) fastvs::run(r, r >= 1000000 ? 0.2 : r >= 100000 ? 1.0 : 2.0);
  rte_eal_cleanup();
  return 0;
}
