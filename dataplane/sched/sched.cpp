// Scheduler names and the per-connection dispatch. The kernel picks a scheduler through
// svc->scheduler->schedule (ip_vs_sched.c); here a switch does it, with no indirect call.
#include "dataplane/sched/sched.h"

#include "dataplane/sched/locality.h"

namespace fastvs {

static_assert(kSchedulers.size() == static_cast<size_t>(SchedKind::Lblcr) + 1);
static_assert(kSchedulers[static_cast<size_t>(SchedKind::Twos)].name == "twos");
static_assert(kSchedulers[static_cast<size_t>(SchedKind::Lblc)].name == "lblc");
static_assert(kSchedulers[static_cast<size_t>(SchedKind::Lblcr)].name == "lblcr");
static_assert(kSchedulers[static_cast<size_t>(SchedKind::Rr)].name == "rr");
static_assert(kSchedulers[static_cast<size_t>(SchedKind::Wlc)].name == "wlc");
static_assert(kSchedulers[static_cast<size_t>(SchedKind::Mh)].name == "mh");

SchedState::SchedState() = default;
SchedState::~SchedState() = default;
SchedState::SchedState(SchedState&&) noexcept = default;
SchedState& SchedState::operator=(SchedState&&) noexcept = default;

std::optional<SchedKind> sched_from_name(std::string_view name) {
  // Exact, case-sensitive names, as ip_vs_scheduler_get() compares them (strcmp).
  for (size_t i = 0; i < kSchedulers.size(); ++i)
    if (kSchedulers[i].name == name) return static_cast<SchedKind>(i);
  return std::nullopt;
}

const char* sched_name(SchedKind k) {
  const auto i = static_cast<size_t>(k);
  return i < kSchedulers.size() ? kSchedulers[i].name.data() : "?";
}

unsigned sched_table_size(SchedKind k) {
  switch (k) {
    case SchedKind::Sh:
      return kShTabSize;
    case SchedKind::Dh:
      return kDhTabSize;
    case SchedKind::Mh:
      return kMhTabSize;
    default:
      return 0;
  }
}

void sched_build_table(SchedKind kind, Destination* const* dests, uint32_t ndests,
                       Destination** table) {
  switch (kind) {
    case SchedKind::Sh:
      return sh_build(dests, ndests, table);
    case SchedKind::Dh:
      return dh_build(dests, ndests, table);
    case SchedKind::Mh:
      return mh_build(dests, ndests, table);
    default:
      return;
  }
}

void sched_reset(const SchedService& svc, SchedState& st) {
  // ip_vs_lblc_done_svc: a table of the scheduler before goes, with its references.
  if (!sched_has_locality(svc.kind)) st.loc.reset();
  switch (svc.kind) {
    case SchedKind::Rr:
      // ip_vs_rr_init_svc: the cursor starts at the list head.
      st.cl = -1;
      break;
    case SchedKind::Wrr:
      wrr_reset(svc, st);
      break;
    case SchedKind::Lc:
    case SchedKind::Wlc:
    case SchedKind::Sed:
    case SchedKind::Nq:
    case SchedKind::Fo:
    case SchedKind::Ovf:
    case SchedKind::Sh:
    case SchedKind::Dh:
    case SchedKind::Mh:
      // The others keep no per-worker state; sh's, dh's and mh's tables are built by control
      // (sched_build_table).
      break;
    case SchedKind::Twos:
      // A seed of its own per worker and service (the state's address), never 0; the kernel's
      // prandom_u32 is per CPU too.
      if (st.rnd == 0x9e3779b9u) {
        const auto a = reinterpret_cast<uintptr_t>(&st);
        st.rnd = static_cast<uint32_t>(a ^ (a >> 32)) * 0x9e3779b9u | 1u;
      }
      break;
    case SchedKind::Lblc:
    case SchedKind::Lblcr:
      // ip_vs_lblc_init_svc: an empty table (lblc -> lblcr starts afresh too: done_service,
      // then init_service). Adopting a snapshot, never per packet.
      if (st.loc)
        st.loc->flush();
      else
        st.loc = std::make_unique<LocalityTable>(st.slot);
      break;
  }
}

void sched_expire(SchedState& st, uint32_t now) {
  // 16 buckets a call, called once a tick (16 a second): the whole table every 4 s.
  if (st.loc) st.loc->expire(now, 16);
}

void sched_dests_changed(const SchedService* old_svc, const SchedService& svc, SchedState& st) {
  if (!old_svc || old_svc->kind != svc.kind) return sched_reset(svc, st);
  if (svc.kind == SchedKind::Wrr) return wrr_reset(svc, st);
  if (svc.kind != SchedKind::Rr) return;
  // Follow the cursor's destination into the new list; if it left, the nearest one before it
  // in the old list that is still there (or the head).
  int32_t from = st.cl < static_cast<int32_t>(old_svc->ndests) ? st.cl : -1;
  for (; from >= 0; --from) {
    const Destination* d = old_svc->dests[from];
    for (uint32_t i = 0; i < svc.ndests; ++i) {
      if (svc.dests[i] == d) {
        st.cl = static_cast<int32_t>(i);
        return;
      }
    }
  }
  st.cl = -1;
}

Destination* sched_pick(const SchedService& svc, SchedState& st, const SchedFlow& flow) {
  switch (svc.kind) {
    case SchedKind::Rr:
      return rr_schedule(svc, st);
    case SchedKind::Wrr:
      return wrr_schedule(svc, st);
    case SchedKind::Lc:
      return lc_schedule(svc);
    case SchedKind::Wlc:
      return wlc_schedule(svc);
    case SchedKind::Sh:
      return sh_schedule(svc, flow);
    case SchedKind::Sed:
      return sed_schedule(svc);
    case SchedKind::Nq:
      return nq_schedule(svc);
    case SchedKind::Fo:
      return fo_schedule(svc);
    case SchedKind::Ovf:
      return ovf_schedule(svc);
    case SchedKind::Dh:
      return dh_schedule(svc, flow);
    case SchedKind::Mh:
      return mh_schedule(svc, flow);
    case SchedKind::Twos:
      return twos_schedule(svc, st);
    case SchedKind::Lblc:
      return lblc_schedule(svc, st, flow);
    case SchedKind::Lblcr:
      return lblcr_schedule(svc, st, flow);
  }
  return nullptr;
}

}  // namespace fastvs
