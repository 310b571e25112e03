// Maglev hashing, as ip_vs_mh_schedule, ip_vs_mh_get, ip_vs_mh_get_fallback, ip_vs_mh_hashkey,
// ip_vs_mh_permutate, ip_vs_mh_populate, ip_vs_mh_gcd_weight and ip_vs_mh_shift_weight
// (net/netfilter/ipvs/ip_vs_mh.c), with the -b flags mh-fallback (IP_VS_SVC_F_SCHED_MH_FALLBACK)
// and mh-port (IP_VS_SVC_F_SCHED_MH_PORT). The algorithm is Maglev's (Eisenbud et al., NSDI
// 2016, section 3.4): every destination has its own permutation of the table's positions and
// the destinations take turns claiming their next free preferred position.
//
// The hash keys are the kernel's fixed ones (generate_hash_secret), and hsiphash is computed as
// a 64-bit kernel does (siphash.h), so the table and every lookup equal a 64-bit little-endian
// kernel's for the same list, last weights and CONFIG_IP_VS_MH_TAB_INDEX (12, the default).
#include <algorithm>
#include <bit>
#include <numeric>
#include <vector>

#include "common/model.h"
#include "dataplane/sched/sched.h"
#include "dataplane/sched/siphash.h"

namespace fastvs {

namespace {

constexpr int kMhTabBits = 6;  // IP_VS_MH_TAB_BITS = CONFIG_IP_VS_MH_TAB_INDEX / 2

// generate_hash_secret: both words of each key are the same constant.
constexpr uint64_t kHash1Key = 2654435761u;
constexpr uint64_t kHash2Key = 2654446892u;

// is_unavailable: quiesced (weight <= 0) or overloaded.
bool mh_unavailable(const Destination& d) {
  return d.get_weight() <= 0 || d.overloaded();
}

// ip_vs_mh_get_fallback: the hashed destination if it is available; otherwise a fresh hash for
// each roffset = (offset + ihash) % size, offset = 0, 1, ..., until an available destination
// (or an empty entry, which ends the walk).
Destination* mh_get_fallback(Destination* const* table, uint32_t addr, uint16_t port) {
  const uint32_t ihash = mh_hashkey(addr, port, 0) % kMhTabSize;
  Destination* d = table[ihash];
  if (!d) return nullptr;
  if (!mh_unavailable(*d)) return d;
  for (uint32_t offset = 0; offset < kMhTabSize; ++offset) {
    const uint32_t roffset = (offset + ihash) % kMhTabSize;
    d = table[mh_hashkey(addr, port, roffset) % kMhTabSize];
    if (!d) break;
    if (!mh_unavailable(*d)) return d;
  }
  return nullptr;
}

// struct ip_vs_mh_dest_setup.
struct MhSetup {
  uint32_t perm = 0;  // next preferred position: offset, then + skip (mod size) while taken
  uint32_t skip = 0;
  int32_t turns = 0;  // positions claimed per round: last_weight / gcd >> rshift, at least 1
};

}  // namespace

// ip_vs_mh_hashkey: hsiphash of the 32-bit sum offset + port + address (host order).
uint32_t mh_hashkey(uint32_t addr, uint16_t port, uint32_t offset, bool hash2) {
  const uint64_t key = hash2 ? kHash2Key : kHash1Key;
  return hsiphash_u32(offset + uint32_t{port} + addr, key, key);
}

// ip_vs_mh_reassign = ip_vs_mh_permutate + ip_vs_mh_populate, from last_weight (the weight
// before any -w 0), so quiescing a destination keeps its positions and the lookup refuses it.
void mh_build(Destination* const* dests, uint32_t ndests, Destination** table) {
  std::fill(table, table + kMhTabSize, nullptr);
  // ip_vs_mh_gcd_weight: the gcd of the positive last weights; none -> an empty table.
  int32_t g = 0;
  int32_t mw = 0;
  for (uint32_t i = 0; i < ndests; ++i) {
    const int32_t w = dests[i]->last_weight;
    if (w > 0) g = g > 0 ? std::gcd(w, g) : w;
    mw = std::max(mw, w);
  }
  if (g < 1) return;
  // ip_vs_mh_shift_weight: keep max weight / gcd within IP_VS_MH_TAB_BITS bits, so one heavy
  // destination cannot claim the table in a single round (fls(mw / gcd) - bits, at least 0).
  const int fls = static_cast<int>(std::bit_width(static_cast<uint32_t>(mw / g)));
  const int rshift = std::max(0, fls - kMhTabBits);

  // ip_vs_mh_permutate. A destination added with weight 0 has no turns and no positions.
  std::vector<MhSetup> setup(ndests);
  for (uint32_t i = 0; i < ndests; ++i) {
    const Destination& d = *dests[i];
    setup[i].perm = mh_hashkey(d.rip, d.rport, 0) % kMhTabSize;
    setup[i].skip = mh_hashkey(d.rip, d.rport, 0, true) % (kMhTabSize - 1) + 1;
    const int32_t lw = d.last_weight;
    const int32_t turns = (lw / g) >> rshift;
    setup[i].turns = turns ? turns : (lw != 0);
  }

  // ip_vs_mh_populate: rounds over the list in order; in each, a destination claims 'turns'
  // positions one after the other, each the next free one on its permutation. It ends the
  // moment the last position is taken, wherever in a round that is. (The kernel refuses more
  // destinations than positions; here the last ones in list order would simply get none.)
  std::vector<bool> taken(kMhTabSize);
  uint32_t n = 0;
  for (;;) {
    for (uint32_t i = 0; i < ndests; ++i) {
      MhSetup& s = setup[i];
      for (int32_t t = 0; t < s.turns; ++t) {
        while (taken[s.perm]) {
          s.perm += s.skip;
          if (s.perm >= kMhTabSize) s.perm -= kMhTabSize;
        }
        taken[s.perm] = true;
        table[s.perm] = dests[i];
        if (++n == kMhTabSize) return;
      }
    }
  }
}

// ip_vs_mh_schedule: the source address (and with mh-port the source port) picks the entry.
// Without mh-fallback an unavailable destination there means none (ip_vs_mh_get).
Destination* mh_schedule(const SchedService& svc, const SchedFlow& flow) {
  if (!svc.table) return nullptr;
  const uint16_t port = (svc.flags & kSchedMhPort) ? flow.cport : 0;
  if (svc.flags & kSchedMhFallback) return mh_get_fallback(svc.table, flow.cip, port);
  Destination* d = svc.table[mh_hashkey(flow.cip, port, 0) % kMhTabSize];
  return (!d || mh_unavailable(*d)) ? nullptr : d;
}

}  // namespace fastvs
