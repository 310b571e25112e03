// Overflow connection, as ip_vs_ovf_schedule (net/netfilter/ipvs/ip_vs_ovf.c).
#include "dataplane/sched/sched.h"

namespace fastvs {

// The highest-weight destination that still has room: a destination is skipped when it is
// overloaded, has weight 0, or has more active connections than its weight (activeconns > w,
// so it is still chosen at activeconns == w, the kernel's test). Of equal weights the first in
// list order wins (w > hw). Inactive connections do not count, so a UDP service (whose
// connections are never active) stays on one destination.
Destination* ovf_schedule(const SchedService& svc) {
  Destination* h = nullptr;
  int32_t hw = 0;
  for (uint32_t i = 0; i < svc.ndests; ++i) {
    Destination* d = svc.dests[i];
    const int32_t w = d->get_weight();
    if (d->overloaded() || w == 0 || d->activeconns() > w) continue;
    if (!h || w > hw) {
      h = d;
      hw = w;
    }
  }
  return h;
}

}  // namespace fastvs
