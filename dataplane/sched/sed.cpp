// Shortest expected delay, as ip_vs_sed_schedule and ip_vs_sed_dest_overhead
// (net/netfilter/ipvs/ip_vs_sed.c).
#include "dataplane/sched/sched.h"

namespace fastvs {

// The least (activeconns + 1) / weight: the connection being scheduled counts, so an idle heavy
// server beats an idle light one, and inactive connections do not count at all. Compared without
// division as the kernel does: loh * dest.weight > doh * least.weight (64-bit products) makes
// dest the new least, so on a tie the first in list order wins. The first candidate must be not
// overloaded with weight > 0; after it only overloaded destinations are skipped (a weight-0 one
// cannot win: loh * 0 > doh * w is false), the same two-stage walk as wlc.
Destination* sed_schedule(const SchedService& svc) {
  uint32_t i = 0;
  Destination* least = nullptr;
  for (; i < svc.ndests; ++i) {
    Destination* d = svc.dests[i];
    if (!d->overloaded() && d->get_weight() > 0) {
      least = d;
      break;
    }
  }
  if (!least) return nullptr;
  int32_t loh = dest_sed_overhead(*least);
  for (++i; i < svc.ndests; ++i) {
    Destination* d = svc.dests[i];
    if (d->overloaded()) continue;
    const int32_t doh = dest_sed_overhead(*d);
    if (int64_t{loh} * d->get_weight() > int64_t{doh} * least->get_weight()) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

}  // namespace fastvs
