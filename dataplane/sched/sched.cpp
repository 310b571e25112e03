// Scheduler names and the per-connection dispatch. The kernel picks a scheduler through
// svc->scheduler->schedule (ip_vs_sched.c); here a switch does it, with no indirect call.
#include "dataplane/sched/sched.h"

namespace fastvs {

std::optional<SchedKind> sched_from_name(std::string_view name) {
  // Exact, case-sensitive names, as ip_vs_scheduler_get() compares them (strcmp).
  if (name == "rr") return SchedKind::Rr;
  if (name == "wrr") return SchedKind::Wrr;
  if (name == "lc") return SchedKind::Lc;
  if (name == "wlc") return SchedKind::Wlc;
  if (name == "sh") return SchedKind::Sh;
  return std::nullopt;
}

const char* sched_name(SchedKind k) {
  switch (k) {
    case SchedKind::Rr:
      return "rr";
    case SchedKind::Wrr:
      return "wrr";
    case SchedKind::Lc:
      return "lc";
    case SchedKind::Wlc:
      return "wlc";
    case SchedKind::Sh:
      return "sh";
  }
  return "?";
}

void sched_reset(const SchedService& svc, SchedState& st) {
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
    case SchedKind::Sh:
      // lc and wlc keep no state; sh's table is built by control (sh_build).
      break;
  }
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
  }
  return nullptr;
}

}  // namespace fastvs
