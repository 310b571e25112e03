// The health thread: runs the checkers of every checked service (control/health/state.h,
// keepalived's semantics) with the probes of control/health/probe.h, off the workers' cores and off
// the control thread (a check that hangs never delays fastvsadm). What it decides reaches control
// as "this service's destinations are now ...", through a queue and an eventfd in control's epoll;
// control applies it like a fastvsadm change and logs every transition with its reason.
#pragma once

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/health/state.h"
#include "common/result.h"
#include "control/report/metrics.h"
#include "common/model.h"

namespace fastvs {

// One checked service as the health thread runs it. Compared whole: a change to any part of a
// check (bindto, a program's arguments, its user) restarts that service's checkers.
struct HealthDef {
  PoolSpec pool;
  std::vector<std::vector<CheckSpec>> checks;  // per pool.real_servers entry
  friend bool operator==(const HealthDef&, const HealthDef&) = default;
};

// The checked services of a configuration: every service with a check or pool rules. Its real
// servers are the service's configured destinations.
std::vector<HealthDef> health_defs(const Config& cfg);

class HealthRunner {
 public:
  // A notify or quorum script is killed, with what it started, after this long.
  static constexpr double kScriptTimeout = 60;
  // On stop, omega's scripts have this long to end (keepalived's system_call_script with
  // TIMER_HZ when stopping).
  static constexpr double kOmegaGrace = 1;
  struct Update {
    uint64_t generation = 0;  // the configure() it answers; older ones are stale
    ServiceKey service;
    std::vector<DestConfig> dests;  // what the service should hold now
    std::vector<std::string> log;   // the transitions and changes, one line each
    // false: only log lines, no verdict (what a MISC_CHECK program wrote); `dests` is empty.
    bool verdict = true;
  };

  HealthRunner() = default;
  ~HealthRunner();
  HealthRunner(const HealthRunner&) = delete;
  HealthRunner& operator=(const HealthRunner&) = delete;

  // Registers its eventfd in control's epoll and starts the thread. misc_output: fastvsd's
  // --misc-check-output, bytes of each MISC_CHECK run's output logged (0: none, the output goes
  // to /dev/null; at most kMaxMiscOutput).
  Status start(int epoll_fd, size_t misc_output = 0);
  void stop();
  // Replaces the checked services: one whose HealthDef is unchanged keeps its checkers and their
  // state; the others start over (as keepalived's reload does for what changed).
  void configure(std::vector<HealthDef> defs);
  bool owns(int fd) const { return fd == wake_fd_ && fd >= 0; }
  // On its eventfd: what the thread decided since the last call, for the latest configure()
  // only (answers about checks that were replaced since are dropped); after stop(), what it
  // said while stopping.
  std::vector<Update> take();
  // Every checked service, real server and checker with its state (fastvsadm --check list).
  std::string status() const;
  // Whether status() describes the last configure(): the runner takes a configuration within
  // its nap (100 ms) and then wakes control, which answers a --check list that waited for it.
  bool status_current() const;
  // Each checked real server, up or not (the metrics).
  std::vector<RealServerHealth> servers() const;

 private:
  void run();
  void post(Update u);

  std::thread thread_;
  std::atomic<bool> stop_{false};
  size_t misc_output_ = 0;
  int wake_fd_ = -1;
  mutable std::mutex mu_;
  std::optional<std::vector<HealthDef>> next_;  // guarded by mu_
  uint64_t generation_ = 0;                     // guarded by mu_: configure() calls so far
  std::deque<Update> out_;                      // guarded by mu_
  std::string status_;                          // guarded by mu_
  uint64_t status_generation_ = 0;              // guarded by mu_: the configure() status_ shows
  std::vector<RealServerHealth> servers_;       // guarded by mu_
};

}  // namespace fastvs
