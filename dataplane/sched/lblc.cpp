// Locality-based least connection, as ip_vs_lblc_schedule (net/netfilter/ipvs/ip_vs_lblc.c):
// the real server that served a destination address last serves it again, unless it left, is
// quiesced or is overloaded while another has room; then the least loaded one (by connection
// overhead per weight) takes the address over.
#include "dataplane/sched/locality.h"
#include "dataplane/sched/sched.h"

namespace fastvs {

// is_overloaded: more active connections than its weight, while some destination of the
// service has fewer than half its weight.
bool locality_overloaded(const Destination& dest, const SchedService& svc) {
  if (dest.activeconns() <= dest.get_weight()) return false;
  for (uint32_t i = 0; i < svc.ndests; ++i) {
    const Destination& d = *svc.dests[i];
    if (d.activeconns() * 2 < d.get_weight()) return true;
  }
  return false;
}

Destination* lblc_schedule(const SchedService& svc, SchedState& st, const SchedFlow& flow) {
  LocalityTable* tbl = st.loc.get();
  if (!tbl) return nullptr;  // not adopted as lblc (cannot happen once a worker adopted it)
  LocalityTable::Entry* en = tbl->get(flow.daddr, flow.now);
  if (en) {
    en->lastuse = flow.now;
    Destination* d = en->dest[0];
    if (d->available() && d->get_weight() > 0 && !locality_overloaded(*d, svc)) return d;
  }
  // __ip_vs_lblc_schedule is ip_vs_wlc_schedule line for line.
  Destination* d = wlc_schedule(svc);
  if (!d) return nullptr;
  // ip_vs_lblc_new: the address now maps to d alone.
  if (!en) en = tbl->create(flow.daddr, flow.now);
  if (en->n == 0 || en->dest[0] != d) {
    tbl->clear(*en);
    tbl->insert(*en, d, flow.now);
  }
  return d;
}

}  // namespace fastvs
