// Round-robin, as ip_vs_rr_schedule (net/netfilter/ipvs/ip_vs_rr.c).
#include "dataplane/sched/sched.h"

namespace fastvs {

// The kernel walks the circular list from the entry after the cursor and stops once it has
// checked the cursor's own entry again (from the head it makes a single pass). A destination
// qualifies when it is not overloaded and its weight is > 0 (weight 0 = quiesced). The cursor
// moves only on a hit; on a miss it stays where it was.
Destination* rr_schedule(const SchedService& svc, SchedState& st) {
  const int32_t n = static_cast<int32_t>(svc.ndests);
  // A cursor past the end can only be stale; the head is where the kernel would restart.
  const int32_t start = (st.cl >= 0 && st.cl < n) ? st.cl : -1;
  // From the head: 0..n-1. From entry c: c+1..n-1, then 0..c. Both are n entries.
  for (int32_t i = 0; i < n; ++i) {
    const int32_t idx = (start + 1 + i) % n;
    Destination* d = svc.dests[idx];
    if (!d->overloaded() && d->get_weight() > 0) {
      st.cl = idx;
      return d;
    }
  }
  return nullptr;
}

}  // namespace fastvs
