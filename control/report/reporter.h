// The reporter thread: everything fastvsd tells monitoring, made off the control thread, so that
// no scrape, no reader of the stats file and no table size slows fastvsadm or a change.
//
// It collects a MetricsSnapshot (every service's and destination's raw counters, the workers'
// counters, the health checks' verdicts) every --stats-interval-ms, after each change and for a
// scrape that finds the last one stale; hands it to DPDK telemetry (report/telemetry.h);
// rewrites the stats file from it (report/stats_file.h: safely, errors logged once and again
// when they clear); and serves /metrics from it (report/metrics_http.h), streamed.
//
// What it reads: control hands it, after each publication, a ReportInput (the configuration the
// workers run, the snapshot built from it, the health verdicts). The snapshot's Destination
// objects are read with relaxed atomic loads, as control reads them. Control frees replaced
// snapshots and removed destinations only while holding the reporter's reading lock, which it
// takes with try_lock (try_hold): it never waits for a collection; at worst it frees them on a
// later turn of its loop.
//
// The thread runs at a lower priority (nice +10) than control, on the same core: a 100 MB scrape
// takes its CPU time from nobody who answers fastvsadm.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/model.h"
#include "common/result.h"
#include "control/report/metrics.h"
#include "control/report/metrics_http.h"

namespace fastvs {

struct Snapshot;
struct Worker;

struct ReportInput {
  std::shared_ptr<const Config> cfg;  // the configuration the workers run
  const Snapshot* snap = nullptr;     // built from cfg, in the same order
};

class Reporter {
 public:
  struct Options {
    std::string stats_file;  // empty: none
    uint32_t interval_ms = 1000;
    std::string metrics_listen;  // empty: no endpoint
  };
  // A scrape uses the last collection if it is this fresh and of the current input, so that
  // scrapers arriving together share one (and its memory).
  static constexpr std::chrono::milliseconds kFresh{250};
  // A refresh is followed by at least kDuty times its own length before the next (timed or
  // after a change): --stats-interval-ms is a minimum.
  static constexpr int kDuty = 5;

  Reporter() = default;
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;
  ~Reporter();

  // Binds the metrics endpoint (an error here stops fastvsd's start); nothing runs yet.
  // `health`: the checked real servers as the health thread sees them now (thread-safe), read at
  // each collection.
  using HealthSource = std::function<std::vector<RealServerHealth>()>;
  Status init(Options o, std::vector<const Worker*> workers, std::vector<unsigned> lcores,
              HealthSource health);
  const std::string& metrics_bound() const { return http_.bound(); }
  // Starts the thread with the first input (the workers' first snapshot).
  Status start(std::shared_ptr<const ReportInput> first);
  // Control, after each publication: what the next collection reads.
  void set_input(std::shared_ptr<const ReportInput> in);
  // SIGUSR2: the stats file is written at once (on the reporter thread).
  void write_stats_soon();
  // Joins the thread, then collects once more on the caller's thread and writes the stats file
  // (the counters as the workers left them). Call with the workers stopped.
  void stop();
  // Control's licence to free snapshots and destinations: held, the reporter reads none.
  std::unique_lock<std::mutex> try_hold() {
    return std::unique_lock<std::mutex>(reading_, std::try_to_lock);
  }

  // The last collection (tests, the exit log); null before the first.
  std::shared_ptr<const MetricsSnapshot> latest() const;

 private:
  struct Collected {
    std::shared_ptr<const MetricsSnapshot> m;
    uint64_t input = 0;  // input_seq_ it was made from
    std::chrono::steady_clock::time_point at;
  };
  void run();
  // Reads the current input under the reading lock.
  Collected collect();
  // collect(), then hands it to telemetry; `stats`: writes the stats file too.
  void refresh(bool stats);
  void write_stats(const MetricsSnapshot& m);
  // For a scrape: the last collection if fresh, else a new one.
  std::shared_ptr<const MetricsSnapshot> for_scrape();
  void wake();

  Options opt_;
  HealthSource health_;
  std::vector<const Worker*> workers_;
  std::vector<unsigned> lcores_;
  MetricsHttpServer http_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: control has something for the thread
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stats_now_{false};

  std::mutex reading_;  // held while a collection reads a snapshot (see try_hold)
  mutable std::mutex input_mu_;
  std::shared_ptr<const ReportInput> input_;
  uint64_t input_seq_ = 0;  // under input_mu_: bumped by each set_input
  mutable std::mutex latest_mu_;
  Collected latest_;
  std::string stats_error_;  // the stats file's last error, logged once
};

}  // namespace fastvs
