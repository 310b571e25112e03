#include "control/health/overlay.h"

#include <algorithm>

namespace fastvs {

std::optional<std::vector<HealthDef>> HealthOverlay::configure(const Config& cfg) {
  std::vector<HealthDef> defs = health_defs(cfg);
  if (defs == defs_) return std::nullopt;
  std::map<ServiceKey, const HealthDef*> now, before;
  for (const HealthDef& d : defs) now[d.pool.service] = &d;
  for (const HealthDef& d : defs_) before[d.pool.service] = &d;
  std::erase_if(verdicts_, [&](const auto& kv) {
    const auto n = now.find(kv.first);
    const auto b = before.find(kv.first);
    return n == now.end() || b == before.end() || !(*n->second == *b->second);
  });
  defs_ = defs;
  return defs;
}

bool HealthOverlay::verdict(const Config& cfg, const ServiceKey& key,
                            std::vector<DestConfig> dests) {
  if (std::none_of(cfg.services.begin(), cfg.services.end(),
                   [&](const ServiceConfig& s) { return s.key == key; }))
    return false;
  // A verdict the health thread sent before the service's checks were deleted (--check del, a
  // reload) arrives after: it is no longer the checks' to give.
  if (std::none_of(defs_.begin(), defs_.end(),
                   [&](const HealthDef& d) { return d.pool.service == key; }))
    return false;
  verdicts_[key] = std::move(dests);
  return true;
}

Config HealthOverlay::effective(const Config& cfg) const {
  Config out = cfg;
  for (ServiceConfig& s : out.services) {
    const auto it = verdicts_.find(s.key);
    if (it == verdicts_.end()) continue;
    // The checks' verdict, with what the model keeps beside weights (mh's last_weight).
    std::vector<DestConfig> dests;
    for (DestConfig d : it->second) {
      for (const DestConfig& c : s.dests)
        if (c.rip == d.rip && c.rport == d.rport) {
          d.last_weight = d.weight != 0 ? d.weight : (c.weight != 0 ? c.weight : c.last_weight);
          d.inhibit = c.inhibit;
        }
      if (d.last_weight == 0) d.last_weight = d.weight;
      dests.push_back(d);
    }
    s.dests = std::move(dests);
  }
  return out;
}

}  // namespace fastvs
