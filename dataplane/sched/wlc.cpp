// Weighted least-connection, as ip_vs_wlc_schedule (net/netfilter/ipvs/ip_vs_wlc.c).
#include "dataplane/sched/sched.h"

namespace fastvs {

// The least overhead / weight, compared without division as the kernel does:
// loh * dest.weight > doh * least.weight (64-bit products) makes dest the new least, so on a
// tie the first in list order wins. The first candidate must be not overloaded and have
// weight > 0; after it only overloaded destinations are skipped, exactly as in the kernel (a
// weight-0 destination can never win the comparison: loh * 0 > doh * w is false).
Destination* wlc_schedule(const SchedService& svc) {
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
  int32_t loh = dest_conn_overhead(*least);
  for (++i; i < svc.ndests; ++i) {
    Destination* d = svc.dests[i];
    if (d->overloaded()) continue;
    const int32_t doh = dest_conn_overhead(*d);
    if (int64_t{loh} * d->get_weight() > int64_t{doh} * least->get_weight()) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

}  // namespace fastvs
