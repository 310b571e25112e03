// Counters and rates as ipvsadm shows them: every destination's per-worker counters summed,
// "since -Z" (zeroing records where the counters stood: the workers' counters are theirs and
// are never written by control), and IPVS's rate estimator over every service and destination,
// ticked every 2 s on the control thread (ip_vs_est.c).
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include "common/model.h"
#include "control/report/estimator.h"
#include "control/report/ipvsadm_print.h"
#include "dataplane/snapshot.h"

namespace fastvs {

// The services of `cfg` (the configuration `snap` was built from, in the same order) with their
// destinations' connection counts and raw counters (not since -Z; no rates): what monitoring
// shows. Reads only what the workers write (relaxed atomics) and what the snapshot holds, so
// the reporter thread may call it while the snapshot is kept alive (control/report/reporter.h).
std::vector<ServiceStatus> raw_status(const Config& cfg, const Snapshot& snap);

class Stats {
 public:
  // raw_status() with the counters since the last -Z and the rates: what ipvsadm shows.
  std::vector<ServiceStatus> status(const Config& cfg, const Snapshot& snap) const;
  // One 2-second tick of every estimator; those of services and destinations that left are
  // dropped, new ones start from where their counters stand (ip_vs_start_estimator).
  void estimate(const Config& cfg, const Snapshot& snap);
  // -Z [service]: the counters restart from 0, and so do the rates (ip_vs_zero_stats).
  void zero(const Config& cfg, const Snapshot& snap, const std::optional<ServiceKey>& only);

 private:
  // Updated in place each tick (a lookup each, no new map: with 200,000 destinations a rebuilt
  // tree took seconds under ASan, and the control thread ticks between fastvsadm's requests);
  // `tick` says which were seen in the last one, so that those that left are dropped.
  struct Tracked {
    RateEstimator est;
    uint64_t tick = 0;
  };
  std::unordered_map<ServiceKey, Tracked> svc_est_;
  std::unordered_map<DestKey, Tracked> dest_est_;
  uint64_t ticks_ = 0;
};

}  // namespace fastvs
