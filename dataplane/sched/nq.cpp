// Never queue, as ip_vs_nq_schedule and ip_vs_nq_dest_overhead (net/netfilter/ipvs/ip_vs_nq.c).
#include "dataplane/sched/sched.h"

namespace fastvs {

// The first idle destination (no active connection) in list order, at once; when none is idle,
// the shortest expected delay, (activeconns + 1) / weight, compared as loh * dest.weight >
// doh * least.weight (64-bit products), the first in list order winning a tie. One walk that
// skips overloaded and weight-0 destinations (the kernel tests !weight; weights are never
// negative here).
Destination* nq_schedule(const SchedService& svc) {
  Destination* least = nullptr;
  int32_t loh = 0;
  for (uint32_t i = 0; i < svc.ndests; ++i) {
    Destination* d = svc.dests[i];
    if (d->overloaded() || d->get_weight() == 0) continue;
    const int32_t active = d->activeconns();
    if (active == 0) return d;
    const int32_t doh = active + 1;  // ip_vs_nq_dest_overhead
    if (!least || int64_t{loh} * d->get_weight() > int64_t{doh} * least->get_weight()) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

}  // namespace fastvs
