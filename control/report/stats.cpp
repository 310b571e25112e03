#include "control/report/stats.h"

namespace fastvs {

namespace {

IpvsCounters raw_counters(const Destination& d) {
  IpvsCounters c;
  c.conns = d.sum(&DestWorkerSlot::conns);
  c.inpkts = d.sum(&DestWorkerSlot::inpkts);
  c.outpkts = d.sum(&DestWorkerSlot::outpkts);
  c.inbytes = d.sum(&DestWorkerSlot::inbytes);
  c.outbytes = d.sum(&DestWorkerSlot::outbytes);
  return c;
}

}  // namespace

std::vector<ServiceStatus> Stats::status(const Config& cfg, const Snapshot& snap,
                                         bool since_zero) const {
  // The snapshot is built from cfg in the same order: services[i].dests[j] is
  // cfg.services[i].dests[j].
  std::vector<ServiceStatus> out;
  for (size_t i = 0; i < cfg.services.size(); ++i) {
    ServiceStatus s;
    s.cfg = cfg.services[i];
    const SnapService& ss = snap.services[i];
    for (size_t j = 0; j < s.cfg.dests.size(); ++j) {
      const Destination& d = *ss.dests[j];
      DestStatus ds;
      ds.cfg = s.cfg.dests[j];
      ds.activeconns = d.activeconns();
      ds.inactconns = d.inactconns();
      ds.persistconns = d.persistconns();
      const IpvsCounters raw = raw_counters(d);
      ds.conns = raw.conns - (since_zero ? d.zero_conns : 0);
      ds.inpkts = raw.inpkts - (since_zero ? d.zero_inpkts : 0);
      ds.outpkts = raw.outpkts - (since_zero ? d.zero_outpkts : 0);
      ds.inbytes = raw.inbytes - (since_zero ? d.zero_inbytes : 0);
      ds.outbytes = raw.outbytes - (since_zero ? d.zero_outbytes : 0);
      s.add_counters(ds);
      const auto e = dest_est_.find(DestKey{s.cfg.key, ds.cfg.rip, ds.cfg.rport});
      if (e != dest_est_.end()) e->second.read(ds);
      s.dests.push_back(ds);
    }
    if (const auto e = svc_est_.find(s.cfg.key); e != svc_est_.end()) e->second.read(s);
    out.push_back(std::move(s));
  }
  return out;
}

void Stats::estimate(const Config& cfg, const Snapshot& snap) {
  decltype(svc_est_) svc_next;
  decltype(dest_est_) dest_next;
  auto tick = [](auto& before, auto& next, const auto& key, const IpvsCounters& c) {
    RateEstimator& e = next[key];
    if (const auto it = before.find(key); it == before.end()) {
      e.reset(c);
    } else {
      e = it->second;
      e.tick(c);
    }
  };
  for (size_t i = 0; i < cfg.services.size(); ++i) {
    const ServiceConfig& sc = cfg.services[i];
    IpvsCounters total;
    for (size_t j = 0; j < sc.dests.size(); ++j) {
      const IpvsCounters c = raw_counters(*snap.services[i].dests[j]);
      total.add_counters(c);
      tick(dest_est_, dest_next, DestKey{sc.key, sc.dests[j].rip, sc.dests[j].rport}, c);
    }
    tick(svc_est_, svc_next, sc.key, total);
  }
  svc_est_ = std::move(svc_next);
  dest_est_ = std::move(dest_next);
}

void Stats::zero(const Config& cfg, const Snapshot& snap, const std::optional<ServiceKey>& only) {
  for (size_t i = 0; i < cfg.services.size(); ++i) {
    const ServiceConfig& sc = cfg.services[i];
    if (only && !(sc.key == *only)) continue;
    IpvsCounters total;
    for (size_t j = 0; j < sc.dests.size(); ++j) {
      Destination* d = snap.services[i].dests[j];
      const IpvsCounters c = raw_counters(*d);
      d->zero_conns = c.conns;
      d->zero_inpkts = c.inpkts;
      d->zero_outpkts = c.outpkts;
      d->zero_inbytes = c.inbytes;
      d->zero_outbytes = c.outbytes;
      dest_est_[DestKey{sc.key, sc.dests[j].rip, sc.dests[j].rport}].reset(c);
      total.add_counters(c);
    }
    svc_est_[sc.key].reset(total);
  }
}

}  // namespace fastvs
