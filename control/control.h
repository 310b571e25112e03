// The control side of fastvsd: owns the configuration and the neighbour table, wires the
// workers (queues, hand-off rings), publishes the snapshot, and runs on the EAL main lcore,
// sleeping between rounds (it never spins: two cores are shared with the lab).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/model.h"
#include "dataplane/neigh.h"
#include "dataplane/port.h"
#include "dataplane/snapshot.h"
#include "dataplane/worker.h"

namespace fastvs {

struct DaemonOptions {
  std::string config_path;
  std::string socket_path = "/run/fastvs/fastvsd.sock";
  uint32_t conn_capacity = 262144;  // per worker
  uint32_t idle_sleep_us = 0;
  uint32_t mbufs = 0;      // 0: sized from ports and queues
  std::string stats_file;  // JSON counters, rewritten every stats_interval_ms
  uint32_t stats_interval_ms = 1000;
};

class Director {
 public:
  explicit Director(DaemonOptions opt) : opt_(std::move(opt)) {}
  ~Director();

  // After rte_eal_init: loads the config, brings up the ports, creates the workers. Returns
  // false with `err` set; nothing forwards until then.
  bool init(std::string* err);
  // Launches the workers and runs the control loop until `stop` is set; then stops the workers,
  // drains their TX buffers and closes the ports.
  void run(std::atomic<bool>& stop);

  void log_counters() const;
  // The counters summed over the workers, and per-destination connection counts, as JSON.
  std::string stats_json() const;

 private:
  bool make_workers(std::string* err);
  void write_stats_file() const;

  DaemonOptions opt_;
  Config cfg_;
  std::vector<PortSetup> ports_;
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<DestStore> store_;
  std::unique_ptr<Snapshot> snap_;
  NeighTable neigh_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<unsigned> worker_lcores_;
  std::atomic<bool> worker_stop_{false};
  std::atomic<bool> worker_exit_{false};
};

}  // namespace fastvs
