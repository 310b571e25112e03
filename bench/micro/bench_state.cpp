// The state file at scale: how long fastvsd's stop takes to save N connections, how long its
// start takes to load them, and how large the file is. A synthetic table (one NAT service of 16
// real servers, every connection ESTABLISHED; a persistent UDP service with 10,000 templates)
// is filled on W workers, saved with the code fastvsd runs at SIGTERM (collect_state, then
// replace_file: temporary file, fsync, rename), then read, checked (decode_state), aged and put
// back on fresh tables (restore_state), as fastvsd's start does. It reports, it asserts
// nothing but that what was saved came back.
//
//   bench_state [CONNECTIONS [WORKERS [DIR [serial]]]]    (default 1000000 2 /var/tmp)
//
// Each worker has an lcore (worker i on CPU i modulo the CPUs online), where the load fills its
// table as fastvsd's does; "serial": the main lcore fills them one after the other.
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <fmt/core.h>

#include "control/config/loader.h"
#include "control/report/stats_file.h"
#include "control/state_file.h"
#include "control/state_restore.h"
#include "dataplane/steer.h"
#include "dataplane/worker.h"

using namespace fastvs;

namespace {

double ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::unique_ptr<Worker>> make_workers(unsigned n, uint32_t capacity, int round,
                                                  const Snapshot* snap) {
  std::vector<std::unique_ptr<Worker>> ws;
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->id = i;
    w->nworkers = n;
    w->tsc_per_tick = 1;
    worker_set_time(*w, 1000);
    const std::string name = fmt::format("bs{}_{}", round, i);
    if (!w->conns.init(name.c_str(), capacity, 0, w->now)) {
      fmt::print(stderr, "bench_state: no memory for {} connections per worker\n", capacity);
      std::exit(1);
    }
    worker_adopt(*w, snap);
    ws.push_back(std::move(w));
  }
  return ws;
}

std::vector<Worker*> raw(const std::vector<std::unique_ptr<Worker>>& ws) {
  std::vector<Worker*> out;
  for (const auto& w : ws) out.push_back(w.get());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const unsigned nworkers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 2;
  const std::string dir = argc > 3 ? argv[3] : "/var/tmp";
  const bool serial = argc > 4 && std::string(argv[4]) == "serial";
  if (n == 0 || nworkers == 0 || nworkers > kMaxWorkers) return 2;
  // Each worker's table holds its share with room for the owner function's unevenness.
  const auto capacity = static_cast<uint32_t>(n / nworkers + n / nworkers / 8 + 1024);
  const uint64_t table_mb = ConnTable::memory_needed(capacity) * nworkers >> 20;
  const std::string mem = std::to_string(table_mb + table_mb / 8 + 512);
  const long ncpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  std::string lcores = "0@0";
  for (unsigned i = 0; i < nworkers; ++i) lcores += fmt::format(",{}@{}", i + 1, i % ncpus);
  const char* eal[] = {"bench_state",  "--lcores", lcores.c_str(), "--no-huge",      "-m",
                       mem.c_str(),    "--no-pci", "--no-shconf",  "--no-telemetry", "--log-level",
                       "lib.eal:error"};
  if (rte_eal_init(sizeof eal / sizeof eal[0], const_cast<char**>(eal)) < 0) {
    fmt::print(stderr, "bench_state: rte_eal_init: {}\n", rte_strerror(rte_errno));
    return 1;
  }
  std::string text =
      "ip addr add 172.16.254.200/24 dev dpdk0\nip addr add 192.168.0.8/16 dev dpdk1\n"
      "-A -t 172.16.254.200:80 -s wlc\n-A -u 172.16.254.200:53 -s rr -p 300\n";
  for (int d = 0; d < 16; ++d) {
    text += fmt::format("-a -t 172.16.254.200:80 -r 192.168.1.{}:8080 -m\n", d + 1);
    text += fmt::format("-a -u 172.16.254.200:53 -r 192.168.1.{}:53 -m\n", d + 1);
  }
  const Config cfg = *load_config_text(text, "bench", 2);
  DestStore store{nworkers};
  MacAddr macs[2] = {{2, 0, 0, 0, 0, 0}, {2, 0, 0, 0, 0, 1}};
  const auto snap = build_snapshot(cfg, store, 2, macs);
  const SnapService* tcp = snap->find_service(6, inet_addr("172.16.254.200"), htons(80));
  const SnapService* udp = snap->find_service(17, inet_addr("172.16.254.200"), htons(53));
  PersistTable persist;
  if (!persist.init(65536, 0)) return 1;

  auto ws = make_workers(nworkers, capacity, 0, snap.get());
  // n connections: 250 client ports per client address (so that the owner function spreads
  // them as it does real clients), addresses from 10.0.0.0.
  auto t0 = std::chrono::steady_clock::now();
  uint64_t filled = 0;
  for (uint64_t i = 0; i < n; ++i) {
    Conn c{};
    c.cip = htonl(0x0a000000u + static_cast<uint32_t>(i / 250));
    c.cport = htons(static_cast<uint16_t>(1024 + i % 250));
    c.vip = tcp->vip;
    c.vport = tcp->vport;
    c.proto = 6;
    Destination* d = tcp->dests[i % tcp->dests.size()];
    c.dest = d;
    c.rip = d->rip_be;
    c.rport = d->rport_be;
    c.method = ForwardMethod::Masq;
    c.state = TcpState::Established;
    c.svc_id = tcp->id;
    c.timeout = 900 * kTicksPerSecond;
    bool collision;
    Worker& w = *ws[owner_of(c.cip, nworkers)];
    if (conn_restore(w, c, static_cast<uint32_t>(1 + i % (900 * kTicksPerSecond)), &collision))
      ++filled;
  }
  for (uint32_t i = 0; i < 10000; ++i) {
    Destination* d = udp->dests[i % udp->dests.size()];
    bool created;
    persist.insert(PersistTable::key_of(udp->id, htonl(0x0b000000u + i)), &d, 1000 + 4800, 4800,
                   &created);
  }
  fmt::print("{} connections on {} workers ({} in the tables, filled in {:.0f} ms), {} templates\n",
             n, nworkers, filled, ms(t0), persist.size());

  // Save, as Director::save_state does.
  t0 = std::chrono::steady_clock::now();
  uint64_t nconns = 0, ntmpls = 0;
  std::string bytes =
      collect_state(raw(ws), persist, *snap, ws[0]->now, 1765000000000, &nconns, &ntmpls);
  const double collect_ms = ms(t0);
  const std::string path = dir + "/bench_state.state";
  t0 = std::chrono::steady_clock::now();
  if (const Status st = replace_file(path, bytes, 0600); !st) {
    fmt::print(stderr, "bench_state: {}: {}\n", path, st.error());
    return 1;
  }
  const double write_ms = ms(t0);
  fmt::print(
      "save: collect {:.0f} ms + write, fsync, rename {:.0f} ms = {:.0f} ms; {} bytes "
      "({:.1f} MB, {:.1f} bytes a connection)\n",
      collect_ms, write_ms, collect_ms + write_ms, bytes.size(), bytes.size() / 1e6,
      double(bytes.size()) / double(nconns));
  bytes.clear();
  bytes.shrink_to_fit();
  ws.clear();  // the tables freed: the load fills fresh ones, as a new process would
  PersistTable persist2;
  if (!persist2.init(65536, 0)) return 1;
  auto ws2 = make_workers(nworkers, capacity, 1, snap.get());

  // Load, as Director::load_state does (the page cache holds the file: a cold read from disk
  // adds its size over the disk's speed).
  t0 = std::chrono::steady_clock::now();
  {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    const off_t size = lseek(fd, 0, SEEK_END);
    bytes.resize(static_cast<size_t>(size));
    if (pread(fd, bytes.data(), bytes.size(), 0) != size) return 1;
    close(fd);
  }
  const double read_ms = ms(t0);
  t0 = std::chrono::steady_clock::now();
  Result<StateFile> f = decode_state(bytes);
  if (!f) {
    fmt::print(stderr, "bench_state: {}\n", f.error());
    return 1;
  }
  const double decode_ms = ms(t0);
  t0 = std::chrono::steady_clock::now();
  StateCounts counts;
  age_state(*f, 0, &counts);
  std::vector<unsigned> worker_lcores;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) worker_lcores.push_back(lcore);
  restore_state(*f, raw(ws2), persist2, *snap, ws2[0]->now, nworkers, &counts,
                serial ? nullptr : &worker_lcores);
  const double restore_ms = ms(t0);
  uint64_t back = 0;
  for (const auto& w : ws2) back += w->conns.size();
  fmt::print(
      "load ({}): read {:.0f} ms + decode and check {:.0f} ms + age and insert {:.0f} ms = "
      "{:.0f} ms; {}\n",
      serial ? "one thread" : "each worker's table on its lcore", read_ms, decode_ms, restore_ms,
      read_ms + decode_ms + restore_ms, describe_state_load(counts, 0));
  unlink(path.c_str());
  ws2.clear();
  // No rte_eal_cleanup(): the persistence tables are freed as main returns, into the EAL's heap.
  return back == nconns && persist2.size() == ntmpls ? 0 : 1;
}
