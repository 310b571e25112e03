// The health checks' verdicts over the operator's table, as keepalived's changes would leave
// IPVS: the operator's configuration (fastvsadm, --config, keepalived.conf) stays what -S saves,
// and the workers run it with each checked service's destinations as the checks last decided
// (a server down is out, or at weight 0 with inhibit_on_failure; the sorry server in when the
// quorum is lost). Pure: control feeds it configurations and verdicts, it says what to run.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "common/model.h"
#include "control/health/runner.h"

namespace fastvs {

class HealthOverlay {
 public:
  // The operator's configuration changed. Returns the checked services' definitions when they
  // differ from the last ones (the health thread must take them); a service whose definition
  // changed, or that is no longer checked, loses its verdict until the thread's first word (it
  // holds its configured destinations meanwhile), the others keep theirs.
  std::optional<std::vector<HealthDef>> configure(const Config& cfg);

  // The health thread's verdict: what service `key` should hold now. Ignored (false) for a
  // service that is not in `cfg` any more (a reload raced it).
  bool verdict(const Config& cfg, const ServiceKey& key, std::vector<DestConfig> dests);

  // `cfg` with every verdict applied: what the workers run and -L shows.
  Config effective(const Config& cfg) const;

  size_t checked() const { return defs_.size(); }

 private:
  std::vector<HealthDef> defs_;  // what the health thread runs
  std::map<ServiceKey, std::vector<DestConfig>> verdicts_;
};

}  // namespace fastvs
