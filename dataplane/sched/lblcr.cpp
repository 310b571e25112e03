// Locality-based least connection with replication, as ip_vs_lblcr_schedule
// (net/netfilter/ipvs/ip_vs_lblcr.c): a destination address maps to a set of real servers; the
// least loaded of the set serves it, and when even that one is overloaded the service's least
// loaded server joins the set. A set that has not changed for the expiration time gives up its
// most loaded server.
#include "dataplane/sched/locality.h"
#include "dataplane/sched/sched.h"

namespace fastvs {

namespace {

// ip_vs_dest_set_min: the set's weighted least loaded available destination.
Destination* set_min(const LocalityTable::Entry& e) {
  Destination* least = nullptr;
  int64_t loh = 0;
  uint32_t i = 0;
  for (; i < e.n; ++i) {
    Destination* d = e.dest[i];
    if (d->overloaded()) continue;
    if (d->get_weight() > 0 && d->available()) {
      least = d;
      loh = dest_conn_overhead(*d);
      break;
    }
  }
  if (!least) return nullptr;
  for (++i; i < e.n; ++i) {
    Destination* d = e.dest[i];
    if (d->overloaded()) continue;
    const int64_t doh = dest_conn_overhead(*d);
    if (loh * d->get_weight() > doh * least->get_weight() && d->available()) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

// ip_vs_dest_set_max: the set's weighted most loaded destination of weight > 0.
Destination* set_max(const LocalityTable::Entry& e) {
  Destination* most = nullptr;
  int64_t moh = 0;
  uint32_t i = 0;
  for (; i < e.n; ++i) {
    if (e.dest[i]->get_weight() > 0) {
      most = e.dest[i];
      moh = dest_conn_overhead(*most);
      break;
    }
  }
  if (!most) return nullptr;
  for (++i; i < e.n; ++i) {
    Destination* d = e.dest[i];
    const int64_t doh = dest_conn_overhead(*d);
    if (moh * d->get_weight() < doh * most->get_weight() && d->get_weight() > 0) {
      most = d;
      moh = doh;
    }
  }
  return most;
}

}  // namespace

Destination* lblcr_schedule(const SchedService& svc, SchedState& st, const SchedFlow& flow) {
  LocalityTable* tbl = st.loc.get();
  if (!tbl) return nullptr;  // not adopted as lblcr (cannot happen once a worker adopted it)
  LocalityTable::Entry* en = tbl->get(flow.daddr, flow.now);
  if (!en) {
    // __ip_vs_lblcr_schedule is ip_vs_wlc_schedule line for line.
    Destination* d = wlc_schedule(svc);
    if (!d) return nullptr;
    en = tbl->create(flow.daddr, flow.now);
    tbl->insert(*en, d, flow.now);
    return d;
  }
  en->lastuse = flow.now;
  Destination* d = set_min(*en);
  // More than one destination and the set unchanged for the expiration time: the most loaded
  // one leaves it.
  if (en->n > 1 &&
      static_cast<int32_t>(flow.now - (en->lastmod + LocalityTable::kExpiration)) > 0) {
    if (Destination* m = set_max(*en)) tbl->erase(*en, m, flow.now);
  }
  if (d && !locality_overloaded(*d, svc)) return d;
  d = wlc_schedule(svc);
  if (!d) return nullptr;
  tbl->insert(*en, d, flow.now);
  return d;
}

}  // namespace fastvs
