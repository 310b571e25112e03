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

std::vector<ServiceStatus> raw_status(const Config& cfg, const Snapshot& snap) {
  // The snapshot is built from cfg in the same order: services[i].dests[j] is
  // cfg.services[i].dests[j].
  std::vector<ServiceStatus> out;
  out.reserve(cfg.services.size());
  for (size_t i = 0; i < cfg.services.size(); ++i) {
    ServiceStatus s;
    s.cfg = cfg.services[i];
    s.cfg.dests = {};  // the status's own dests are what is shown
    const ServiceConfig& sc = cfg.services[i];
    const SnapService& ss = snap.services[i];
    s.dests.reserve(sc.dests.size());
    for (size_t j = 0; j < sc.dests.size(); ++j) {
      const Destination& d = *ss.dests[j];
      DestStatus& ds = s.dests.emplace_back();
      ds.cfg = sc.dests[j];
      ds.activeconns = d.activeconns();
      ds.inactconns = d.inactconns();
      ds.persistconns = d.persistconns();
      static_cast<IpvsCounters&>(ds) = raw_counters(d);
      s.add_counters(ds);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<ServiceStatus> Stats::status(const Config& cfg, const Snapshot& snap) const {
  std::vector<ServiceStatus> out = raw_status(cfg, snap);
  for (size_t i = 0; i < out.size(); ++i) {
    ServiceStatus& s = out[i];
    s.conns = s.inpkts = s.outpkts = s.inbytes = s.outbytes = 0;
    for (size_t j = 0; j < s.dests.size(); ++j) {
      const Destination& d = *snap.services[i].dests[j];
      DestStatus& ds = s.dests[j];
      ds.conns -= d.zero_conns;
      ds.inpkts -= d.zero_inpkts;
      ds.outpkts -= d.zero_outpkts;
      ds.inbytes -= d.zero_inbytes;
      ds.outbytes -= d.zero_outbytes;
      s.add_counters(ds);
      const auto e = dest_est_.find(DestKey{s.cfg.key, ds.cfg.rip, ds.cfg.rport});
      if (e != dest_est_.end()) e->second.est.read(ds);
    }
    if (const auto e = svc_est_.find(s.cfg.key); e != svc_est_.end()) e->second.est.read(s);
  }
  return out;
}

void Stats::estimate(const Config& cfg, const Snapshot& snap) {
  const uint64_t now = ++ticks_;
  auto tick = [now](auto& map, const auto& key, const IpvsCounters& c) {
    const auto [it, fresh] = map.try_emplace(key);
    if (fresh)
      it->second.est.reset(c);
    else
      it->second.est.tick(c);
    it->second.tick = now;
  };
  for (size_t i = 0; i < cfg.services.size(); ++i) {
    const ServiceConfig& sc = cfg.services[i];
    IpvsCounters total;
    for (size_t j = 0; j < sc.dests.size(); ++j) {
      const IpvsCounters c = raw_counters(*snap.services[i].dests[j]);
      total.add_counters(c);
      tick(dest_est_, DestKey{sc.key, sc.dests[j].rip, sc.dests[j].rport}, c);
    }
    tick(svc_est_, sc.key, total);
  }
  std::erase_if(svc_est_, [now](const auto& e) { return e.second.tick != now; });
  std::erase_if(dest_est_, [now](const auto& e) { return e.second.tick != now; });
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
      dest_est_[DestKey{sc.key, sc.dests[j].rip, sc.dests[j].rport}].est.reset(c);
      total.add_counters(c);
    }
    svc_est_[sc.key].est.reset(total);
  }
}

}  // namespace fastvs
