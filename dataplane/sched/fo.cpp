// Weighted failover, as ip_vs_fo_schedule (net/netfilter/ipvs/ip_vs_fo.c).
#include "dataplane/sched/sched.h"

namespace fastvs {

// The not-overloaded destination with the highest weight; weight > hw with hw starting at 0, so
// weight 0 never qualifies and of equal weights the first in list order wins. Connection counts
// play no part: every new connection goes to the same destination until its weight drops or it
// is overloaded (-x/-y thresholds).
Destination* fo_schedule(const SchedService& svc) {
  Destination* best = nullptr;
  int32_t hw = 0;
  for (uint32_t i = 0; i < svc.ndests; ++i) {
    Destination* d = svc.dests[i];
    const int32_t w = d->get_weight();
    if (!d->overloaded() && w > hw) {
      best = d;
      hw = w;
    }
  }
  return best;
}

}  // namespace fastvs
