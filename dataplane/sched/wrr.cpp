// Weighted round-robin, as ip_vs_wrr_schedule, ip_vs_wrr_dest_changed, ip_vs_wrr_gcd_weight and
// ip_vs_wrr_max_weight (net/netfilter/ipvs/ip_vs_wrr.c).
//
// The kernel's algorithm: cw (current weight) starts at mw and each pass over the list picks, in
// list order, the destinations whose weight is >= cw; at the end of the list cw drops by di (the
// gcd of the weights) and the walk starts again from the head. mw is the maximum weight less
// (di - 1), so the last pass runs with cw = 1 and still catches a weight lowered below di.
#include <numeric>

#include "dataplane/sched/sched.h"

namespace fastvs {

namespace {

constexpr int32_t kHead = -1;  // the list head (&svc->destinations)
constexpr int32_t kNone = -2;  // no stop entry (stop = NULL)

// ip_vs_wrr_gcd_weight: gcd of the positive weights, 1 if there are none.
int32_t wrr_gcd_weight(const SchedService& svc) {
  int32_t g = 0;
  for (uint32_t i = 0; i < svc.ndests; ++i) {
    const int32_t w = svc.dests[i]->get_weight();
    if (w > 0) g = g > 0 ? std::gcd(w, g) : w;
  }
  return g ? g : 1;
}

// ip_vs_wrr_max_weight: the largest weight, 0 if none is positive.
int32_t wrr_max_weight(const SchedService& svc) {
  int32_t m = 0;
  for (uint32_t i = 0; i < svc.ndests; ++i) {
    const int32_t w = svc.dests[i]->get_weight();
    if (w > m) m = w;
  }
  return m;
}

}  // namespace

// ip_vs_wrr_dest_changed (and ip_vs_wrr_init_svc, which is the same with cw = 0): the cursor goes
// back to the head, di and mw are recomputed, and cw is kept where it can be (rounded to the
// first weight of its di step) so a weight change does not restart the cycle.
void wrr_reset(const SchedService& svc, SchedState& st) {
  st.cl = kHead;
  st.di = wrr_gcd_weight(svc);
  st.mw = wrr_max_weight(svc) - (st.di - 1);
  if (st.cw > st.mw || st.cw == 0) {
    st.cw = st.mw;
  } else if (st.di > 1) {
    st.cw = (st.cw / st.di) * st.di + 1;
  }
}

// ip_vs_wrr_schedule. Gives up only after every destination was checked for weight >= 1:
// either a pass with cw <= di that started at the head, or, when the walk started mid-list and
// cw wrapped, the last pass stops at the entry it started from ('stop').
Destination* wrr_schedule(const SchedService& svc, SchedState& st) {
  const int32_t n = static_cast<int32_t>(svc.ndests);
  if (st.cl >= n) st.cl = kHead;  // stale cursor: sched_reset was due
  int32_t d = st.cl;
  if (st.mw == 0) return nullptr;  // no destination with a positive weight
  const int32_t last = d;
  int32_t stop = kNone;
  bool last_pass = false;
  bool restarted = false;
  for (;;) {
    for (++d; d < n; ++d) {
      Destination* dest = svc.dests[d];
      if (!dest->overloaded() && dest->get_weight() >= st.cw) {
        st.cl = d;
        return dest;
      }
      if (d == stop) {
        st.cl = d;
        return nullptr;  // all destinations are overloaded
      }
    }
    d = kHead;
    st.cw -= st.di;
    if (st.cw <= 0) {
      st.cw = st.mw;
      if (last_pass || last == kHead) {
        st.cl = kHead;
        return nullptr;
      }
      restarted = true;
    }
    last_pass = st.cw <= st.di;
    if (last_pass && restarted && last != kHead) stop = last;
  }
}

}  // namespace fastvs
