// IPVS's schedulers, pure logic: no EAL, no I/O. One file per scheduler (rr.cpp, wrr.cpp, ...);
// this header is the only interface the worker uses. A switch, not a virtual call, picks the
// scheduler per new connection.
//
// Each worker schedules its own new connections with its own SchedState (no locks); with one
// worker every sequence equals the kernel's for the same list, weights and connection counts.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "common/model.h"
#include "dataplane/dest.h"
#include "dataplane/hash.h"
#include "dataplane/sched/locality.h"

namespace fastvs {

// In the order of the names in kSchedulers (common/model.h).
enum class SchedKind : uint8_t {
  Rr,
  Wrr,
  Lc,
  Wlc,
  Sh,
  Sed,
  Nq,
  Fo,
  Ovf,
  Dh,
  Mh,
  Twos,
  Lblc,
  Lblcr
};

// lblc and lblcr keep a table per worker and service (LocalityTable).
constexpr bool sched_has_locality(SchedKind k) {
  return k == SchedKind::Lblc || k == SchedKind::Lblcr;
}

std::optional<SchedKind> sched_from_name(std::string_view name);
const char* sched_name(SchedKind k);

constexpr unsigned kShTabSize = 256;  // IP_VS_SH_TAB_SIZE (1 << IP_VS_SH_TAB_BITS, bits = 8)
constexpr unsigned kDhTabSize = 256;  // IP_VS_DH_TAB_SIZE (1 << IP_VS_DH_TAB_BITS, bits = 8)
// IP_VS_MH_TAB_SIZE = primes[CONFIG_IP_VS_MH_TAB_INDEX - 8] with the Kconfig default index 12:
// {251, 509, 1021, 2039, 4093, ...}[4].
constexpr unsigned kMhTabSize = 4093;

// What a scheduler reads of a service. Built by control, immutable once published.
struct SchedService {
  SchedKind kind = SchedKind::Wlc;
  uint32_t flags = 0;                   // kSchedSh* / kSchedMh* (common/model.h)
  Destination* const* dests = nullptr;  // in the kernel's list order (newest first)
  uint32_t ndests = 0;
  // sh, dh and mh: the lookup table control builds with sched_build_table() from the list and
  // weights (the kernel's svc->sched_data), sched_table_size(kind) entries. Null for the others.
  Destination* const* table = nullptr;
};

// A worker's private scheduler position for one service. The kernel keeps the equivalent in
// svc->sched_data (rr: the list cursor; wrr: struct ip_vs_wrr_mark).
struct SchedState {
  int32_t cl = -1;     // rr/wrr cursor: index into dests, -1 = the list head
  int32_t cw = 0;      // wrr current weight
  int32_t mw = 0;      // wrr max weight (less gcd - 1, as the kernel keeps it)
  int32_t di = 1;      // wrr gcd of the weights
  uint32_t gen = ~0u;  // the SnapService::gen this state was last fitted to
  // twos: the worker's random generator (never 0: xorshift32 would stay there); each state
  // starts from a different seed (sched_reset).
  uint32_t rnd = 0x9e3779b9u;
  // lblc, lblcr: the worker's table (ip_vs_lblc_table), made by sched_reset, dropped (its
  // references given back) when the service changes scheduler or leaves. `slot`: the worker
  // whose reference slot its entries count in.
  std::unique_ptr<LocalityTable> loc;
  uint32_t slot = 0;

  SchedState();
  ~SchedState();
  SchedState(SchedState&&) noexcept;
  SchedState& operator=(SchedState&&) noexcept;
};

// The flow being scheduled, host byte order. sh and mh hash the source address (and port with
// -b sh-port / mh-port); dh hashes the destination address (iph->daddr: the VIP), and lblc and
// lblcr key their tables on it (IPv6: its fold). `now`: the worker's tick, for their entries'
// ages.
struct SchedFlow {
  uint32_t cip = 0;
  uint16_t cport = 0;
  uint32_t daddr = 0;
  uint32_t now = 0;
};

// Called when the service's destination list or weights changed (and once at start): the
// kernel's init_service / add_dest / upd_dest / del_dest hooks reduce to this for rr and wrr.
void sched_reset(const SchedService& svc, SchedState& st);

// A new snapshot changed the service's destinations or weights (or its scheduler). Keeps what
// the kernel keeps: rr's cursor stays on the same destination (ip_vs_rr has no add_dest hook;
// ip_vs_rr_del_dest steps it back to the previous one when its destination goes), wrr runs
// ip_vs_wrr_dest_changed; a new scheduler starts from its init_service.
void sched_dests_changed(const SchedService* old_svc, const SchedService& svc, SchedState& st);

// Picks a destination or returns nullptr ("no destination available", as the kernel logs).
Destination* sched_pick(const SchedService& svc, SchedState& st, const SchedFlow& flow);

// How many entries the scheduler's lookup table has (0: it has none).
unsigned sched_table_size(SchedKind k);

// Control, when it builds a snapshot: fills table[sched_table_size(kind)] from the current list
// and weights, as the kernel's init_service / add_dest / del_dest / upd_dest hooks do.
void sched_build_table(SchedKind kind, Destination* const* dests, uint32_t ndests,
                       Destination** table);

// ip_vs_dest_conn_overhead (include/net/ip_vs.h): an active connection weighs 256 inactive ones.
// lc and wlc rank destinations by it; the counts are summed over the workers' slots.
inline int32_t dest_conn_overhead(const Destination& d) {
  return d.activeconns() * 256 + d.inactconns();
}

// ip_vs_sed_dest_overhead / ip_vs_nq_dest_overhead: active connections only, plus the one being
// scheduled ("(Ci + 1) / Ui").
inline int32_t dest_sed_overhead(const Destination& d) {
  return d.activeconns() + 1;
}

// The individual schedulers (one file each). Each returns nullptr when none is available.
Destination* rr_schedule(const SchedService& svc, SchedState& st);
Destination* wrr_schedule(const SchedService& svc, SchedState& st);
void wrr_reset(const SchedService& svc, SchedState& st);
Destination* lc_schedule(const SchedService& svc);
Destination* wlc_schedule(const SchedService& svc);
Destination* sh_schedule(const SchedService& svc, const SchedFlow& flow);
// Fills table[kShTabSize] as ip_vs_sh_reassign does from the current list and weights.
void sh_build(Destination* const* dests, uint32_t ndests, Destination** table);
Destination* sed_schedule(const SchedService& svc);
Destination* nq_schedule(const SchedService& svc);
Destination* fo_schedule(const SchedService& svc);
Destination* ovf_schedule(const SchedService& svc);
Destination* dh_schedule(const SchedService& svc, const SchedFlow& flow);
// Fills table[kDhTabSize] as ip_vs_dh_reassign does from the current list.
void dh_build(Destination* const* dests, uint32_t ndests, Destination** table);
Destination* mh_schedule(const SchedService& svc, const SchedFlow& flow);
// Fills table[kMhTabSize] as ip_vs_mh_reassign does from the current list and last weights.
void mh_build(Destination* const* dests, uint32_t ndests, Destination** table);
// ip_vs_mh_hashkey with the hash1 key (the lookup, and a destination's offset) or the hash2 key
// (a destination's skip), before the "% IP_VS_MH_TAB_SIZE". addr and port in host order.
uint32_t mh_hashkey(uint32_t addr, uint16_t port, uint32_t offset, bool hash2 = false);
Destination* twos_schedule(const SchedService& svc, SchedState& st);
Destination* lblc_schedule(const SchedService& svc, SchedState& st, const SchedFlow& flow);
Destination* lblcr_schedule(const SchedService& svc, SchedState& st, const SchedFlow& flow);
// What lblc and lblcr share besides wlc_schedule (their __ip_vs_lblc*_schedule): is_overloaded
// (more active connections than its weight while another destination has fewer than half its
// own).
bool locality_overloaded(const Destination& dest, const SchedService& svc);
// lblc, lblcr: ages out entries unused for the expiration time, a few buckets per call.
void sched_expire(SchedState& st, uint32_t now);

}  // namespace fastvs
