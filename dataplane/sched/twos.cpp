// Power of two choices, as ip_vs_twos_schedule (net/netfilter/ipvs/ip_vs_twos.c, Linux 6.2):
// two destinations drawn at random in proportion to their weights, and the one of the two with
// the lower connection overhead per weight wins.
#include "dataplane/sched/sched.h"

namespace fastvs {

namespace {

// The kernel's prandom_u32(): any fast generator of the worker's own does (xorshift32, Marsaglia
// 2003). The state lives in the worker's SchedState: no sharing, no lock.
uint32_t next_random(SchedState& st) {
  uint32_t x = st.rnd;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  st.rnd = x;
  return x;
}

}  // namespace

Destination* twos_schedule(const SchedService& svc, SchedState& st) {
  // The sum of the weights of the destinations that may take a connection (not overloaded,
  // weight > 0); none: "no destination available".
  Destination* choice1 = nullptr;
  Destination* choice2 = nullptr;
  int64_t total_weight = 0;
  for (uint32_t i = 0; i < svc.ndests; ++i) {
    Destination* d = svc.dests[i];
    if (d->overloaded()) continue;
    if (const int32_t w = d->get_weight(); w > 0) {
      total_weight += w;
      choice1 = d;
    }
  }
  if (!choice1) return nullptr;
  // "Add 1 to total_weight so that the random weights are inclusive from 0 to total_weight."
  total_weight += 1;
  int64_t rweight1 = next_random(st) % static_cast<uint64_t>(total_weight);
  int64_t rweight2 = next_random(st) % static_cast<uint64_t>(total_weight);
  int64_t weight1 = -1, weight2 = -1, overhead1 = 0, overhead2 = 0;
  for (uint32_t i = 0; i < svc.ndests; ++i) {
    Destination* d = svc.dests[i];
    if (d->overloaded()) continue;
    const int32_t w = d->get_weight();
    if (w <= 0) continue;
    rweight1 -= w;
    rweight2 -= w;
    if (rweight1 <= 0 && weight1 == -1) {
      choice1 = d;
      weight1 = w;
      overhead1 = dest_conn_overhead(*d);
    }
    if (rweight2 <= 0 && weight2 == -1) {
      choice2 = d;
      weight2 = w;
      overhead2 = dest_conn_overhead(*d);
    }
    if (weight1 != -1 && weight2 != -1) break;
  }
  // overhead2 / weight2 < overhead1 / weight1, without a division.
  if (choice2 && weight2 * overhead1 > weight1 * overhead2) choice1 = choice2;
  return choice1;
}

}  // namespace fastvs
