// Least-connection, as ip_vs_lc_schedule (net/netfilter/ipvs/ip_vs_lc.c).
#include "dataplane/sched/sched.h"

namespace fastvs {

// The destination with the smallest overhead (activeconns * 256 + inactconns); overloaded and
// weight-0 (quiesced) destinations are skipped; on a tie the first in list order wins (strict <).
Destination* lc_schedule(const SchedService& svc) {
  Destination* least = nullptr;
  uint32_t loh = 0;
  for (uint32_t i = 0; i < svc.ndests; ++i) {
    Destination* d = svc.dests[i];
    if (d->overloaded() || d->get_weight() == 0) continue;
    const uint32_t doh = static_cast<uint32_t>(dest_conn_overhead(*d));
    if (!least || doh < loh) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

}  // namespace fastvs
