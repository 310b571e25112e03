// Snapshot publication under concurrent readers: two worker threads adopt snapshots and read
// through them (services, destinations, the scheduler) as fast as they can, sometimes going
// offline as an idle worker does, while control publishes 2000 changes and reclaims what it
// replaced. In the ASan build any read of a freed snapshot or destination aborts the test.
#include <gtest/gtest.h>

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "common/grammar/command.h"
#include "dataplane/publish.h"
#include "dataplane/worker.h"
#include "tests/eal/eal_env.h"

namespace fastvs {
namespace {

Config make_config(unsigned round) {
  Config cfg;
  cfg.addrs.push_back(AddrConfig{IpAddr::v4(0xc0a80008), 24, 0});  // 192.168.0.8/24
  cfg.addrs.push_back(AddrConfig{IpAddr::v4(0xac10fec8), 24, 0});  // the VIP, 172.16.254.200/24
  // Services come and go; one stays and has its destinations and weights changed.
  for (unsigned s = 0; s < 1 + round % 4; ++s) {
    ServiceConfig sc;
    sc.key = ServiceKey{Proto::Tcp, IpAddr::v4(0xac10fec8), static_cast<uint16_t>(80 + s)};
    sc.scheduler = s % 2 ? "rr" : "wrr";
    for (unsigned d = 0; d < 1 + (round + s) % 5; ++d) {
      DestConfig dc;
      dc.rip = IpAddr::v4(0xc0a80010 + d);
      dc.rport = 80;
      dc.weight = static_cast<int32_t>((round + d) % 4);
      sc.dests.insert(sc.dests.begin(), dc);
    }
    cfg.services.push_back(sc);
  }
  return cfg;
}

TEST(Publish, ConcurrentReadersNeverSeeAFreedSnapshot) {
  constexpr unsigned kWorkers = 2;
  const size_t sz = rte_rcu_qsbr_get_memsize(kWorkers);
  auto* qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("t_qsbr", sz, RTE_CACHE_LINE_SIZE));
  ASSERT_NE(qsbr, nullptr);
  ASSERT_EQ(rte_rcu_qsbr_init(qsbr, kWorkers), 0);
  DestStore store(kWorkers);
  const MacAddr macs[1] = {};
  Worker workers[kWorkers];
  std::vector<Worker*> ptrs;
  auto first = build_snapshot(make_config(0), store, 1, macs);
  for (unsigned i = 0; i < kWorkers; ++i) {
    Worker& w = workers[i];
    w.id = i;
    w.nworkers = kWorkers;
    w.qsbr = qsbr;
    rte_rcu_qsbr_thread_register(qsbr, i);
    worker_adopt(w, first.get());
    ptrs.push_back(&w);
  }
  Publisher pub(qsbr, ptrs, std::move(first));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> adoptions[kWorkers] = {};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < kWorkers; ++i) {
    threads.emplace_back([&, i] {
      Worker& w = workers[i];
      // The EAL pinned the main thread (and so its children) to one CPU: free the readers, so
      // that they really run beside the writer.
      cpu_set_t all;
      CPU_ZERO(&all);
      for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
      pthread_setaffinity_np(pthread_self(), sizeof all, &all);
      rte_rcu_qsbr_thread_online(qsbr, i);
      uint64_t last_seq = 0, n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        worker_poll_snapshot(w);
        rte_rcu_qsbr_quiescent(qsbr, i);
        EXPECT_GE(w.snap->seq, last_seq);  // adopted in publication order
        if (w.snap->seq != last_seq) adoptions[i].fetch_add(1, std::memory_order_relaxed);
        last_seq = w.snap->seq;
        // Read through the snapshot as the pipeline does.
        for (const auto& s : w.snap->services) {
          const SnapService* found = w.snap->find_service(s.proto, s.vip, s.vport);
          EXPECT_EQ(found, &s);
          if (Destination* d = sched_pick(s.sched, w.sched[s.id], SchedFlow{1, 2}))
            n += static_cast<uint64_t>(d->get_weight()) + d->rport;
        }
        reads.fetch_add(1, std::memory_order_relaxed);
        if (++n % 64 == 0) {  // an idle worker's nap
          rte_rcu_qsbr_thread_offline(qsbr, i);
          std::this_thread::yield();
          rte_rcu_qsbr_thread_online(qsbr, i);
        }
      }
      rte_rcu_qsbr_thread_offline(qsbr, i);
    });
  }
  // Both readers running before the writer starts (thread start-up can take a while on a busy
  // machine); then at least 2000 changes, and on until each reader has adopted 100 of them
  // (bounded: 20 s), so that the race really happened.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (reads.load() < 100 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  unsigned waited_in_force = 0;
  auto raced = [&] {
    for (auto& a : adoptions)
      if (a.load() <= 100) return false;
    return true;
  };
  for (unsigned round = 1;
       round <= 2000 || (!raced() && std::chrono::steady_clock::now() < deadline); ++round) {
    const uint64_t token = pub.publish(build_snapshot(make_config(round), store, 1, macs));
    // As control answers fastvsadm: poll until in force, without blocking on the workers.
    while (!pub.in_force(token)) std::this_thread::yield();
    ++waited_in_force;
    if (pub.reclaim() == 0) store.reclaim();
  }
  // Readers kept reading; once they are stopped, everything replaced can be freed.
  const uint64_t seen = reads.load();
  stop = true;
  for (auto& t : threads) t.join();
  for (Worker& w : workers) worker_poll_snapshot(w);  // adopt the last one
  EXPECT_EQ(pub.reclaim(), 0u);
  EXPECT_GE(waited_in_force, 2000u);
  EXPECT_GT(seen, 0u);
  // The readers really raced the writer: each adopted many of the snapshots while it ran.
  for (auto& a : adoptions) EXPECT_GT(a.load(), 100u);
  for (Worker& w : workers) {
    EXPECT_EQ(w.snap, &pub.current());
  }
  rte_free(qsbr);
}

}  // namespace
}  // namespace fastvs
