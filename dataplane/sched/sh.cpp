// Source hashing, as ip_vs_sh_schedule, ip_vs_sh_get, ip_vs_sh_get_fallback, ip_vs_sh_hashkey,
// ip_vs_sh_reassign and is_unavailable (net/netfilter/ipvs/ip_vs_sh.c), with the -b flags
// sh-fallback (IP_VS_SVC_F_SCHED_SH_FALLBACK) and sh-port (IP_VS_SVC_F_SCHED_SH_PORT).
#include "common/model.h"
#include "dataplane/sched/sched.h"

namespace fastvs {

namespace {

constexpr unsigned kShTabBits = 8;  // IP_VS_SH_TAB_BITS
constexpr unsigned kShTabMask = kShTabSize - 1;
static_assert(kShTabSize == 1u << kShTabBits);

// ip_vs_sh_hashkey for IPv4: the port (0 without sh-port) is added to the address, both in host
// order, before hashing; the offset is added after.
constexpr uint32_t sh_hashkey(uint32_t addr, uint16_t port, uint32_t offset) {
  return (offset + kernel_hash_32(uint32_t{port} + addr, kShTabBits)) & kShTabMask;
}

// is_unavailable: quiesced (weight <= 0) or overloaded.
bool sh_unavailable(const Destination& d) {
  return d.get_weight() <= 0 || d.overloaded();
}

// ip_vs_sh_get: the hashed bucket's destination, or none.
Destination* sh_get(Destination* const* table, uint32_t addr, uint16_t port) {
  Destination* d = table[sh_hashkey(addr, port, 0)];
  return (!d || sh_unavailable(*d)) ? nullptr : d;
}

// ip_vs_sh_get_fallback: when the hashed destination is unavailable, walk the table from a
// deterministic point. The kernel feeds roffset = (offset + ihash) % size back into the hash
// key, which adds ihash again, so the walk starts at bucket (2 * ihash) mod 256 and goes up by
// one; kept as is, since it decides which destination a client falls back to.
Destination* sh_get_fallback(Destination* const* table, uint32_t addr, uint16_t port) {
  const uint32_t ihash = sh_hashkey(addr, port, 0);
  Destination* d = table[ihash];
  if (!d) return nullptr;
  if (!sh_unavailable(*d)) return d;
  for (uint32_t offset = 0; offset < kShTabSize; ++offset) {
    const uint32_t roffset = (offset + ihash) % kShTabSize;
    d = table[sh_hashkey(addr, port, roffset)];
    if (!d) break;
    if (!sh_unavailable(*d)) return d;
  }
  return nullptr;
}

}  // namespace

// ip_vs_sh_reassign: buckets are filled in list order, each destination repeated 'weight' times
// (at least once: a weight-0 destination still takes one bucket), cycling through the list until
// all 256 buckets are filled. An empty list leaves every bucket empty.
void sh_build(Destination* const* dests, uint32_t ndests, Destination** table) {
  uint32_t i = 0;
  int32_t count = 0;
  for (unsigned b = 0; b < kShTabSize; ++b) {
    if (ndests == 0) {
      table[b] = nullptr;
      continue;
    }
    Destination* d = dests[i];
    table[b] = d;
    if (++count >= d->get_weight()) {
      i = (i + 1) % ndests;
      count = 0;
    }
  }
}

Destination* sh_schedule(const SchedService& svc, const SchedFlow& flow) {
  if (!svc.table) return nullptr;
  const uint16_t port = (svc.flags & kSchedShPort) ? flow.cport : 0;
  if (svc.flags & kSchedShFallback) return sh_get_fallback(svc.table, flow.cip, port);
  return sh_get(svc.table, flow.cip, port);
}

}  // namespace fastvs
