// Destination hashing, as ip_vs_dh_schedule, ip_vs_dh_get, ip_vs_dh_hashkey and
// ip_vs_dh_reassign (net/netfilter/ipvs/ip_vs_dh.c).
#include "dataplane/sched/sched.h"

namespace fastvs {

namespace {

constexpr unsigned kDhTabBits = 8;  // IP_VS_DH_TAB_BITS
static_assert(kDhTabSize == 1u << kDhTabBits);

}  // namespace

// ip_vs_dh_reassign: bucket b holds the list's (b mod n)th destination. Weights play no part
// (a weight-0 destination keeps its buckets; the lookup refuses it), which is also why the
// kernel has no upd_dest hook for dh. An empty list leaves every bucket empty.
void dh_build(Destination* const* dests, uint32_t ndests, Destination** table) {
  for (unsigned b = 0; b < kDhTabSize; ++b) table[b] = ndests ? dests[b % ndests] : nullptr;
}

// The bucket of hash_32(daddr, 8), daddr in host order, and no fallback: an unavailable
// (removed), quiesced (weight <= 0) or overloaded destination means no destination, which is
// what the kernel's "cache_bypass" use of dh relies on.
Destination* dh_schedule(const SchedService& svc, const SchedFlow& flow) {
  if (!svc.table) return nullptr;
  Destination* d = svc.table[kernel_hash_32(flow.daddr, kDhTabBits)];
  if (!d || !d->available() || d->get_weight() <= 0 || d->overloaded()) return nullptr;
  return d;
}

}  // namespace fastvs
