#include "dataplane/snapshot.h"

#include <algorithm>

#include <rte_byteorder.h>

namespace fastvs {

Destination* DestStore::get(const ServiceKey& svc, const DestConfig& d) {
  const Key key{static_cast<uint8_t>(svc.proto), svc.vip, svc.vport, d.rip, d.rport};
  auto& slot = dests_[key];
  if (!slot) {
    slot = std::make_unique<Destination>();
    slot->rip = d.rip;
    slot->rport = d.rport;
    slot->rip_be = rte_cpu_to_be_32(d.rip);
    slot->rport_be = rte_cpu_to_be_16(d.rport);
    slot->nslots = nworkers_;
  }
  Destination* dest = slot.get();
  dest->method = d.method;
  dest->weight.store(d.weight, std::memory_order_relaxed);
  dest->u_threshold = d.u_threshold;
  dest->l_threshold = d.l_threshold;
  return dest;
}

uint32_t DestStore::service_id(const ServiceKey& svc) {
  const auto key = std::make_tuple(static_cast<uint8_t>(svc.proto), svc.vip, svc.vport);
  auto it = service_ids_.find(key);
  if (it != service_ids_.end()) return it->second;
  service_ids_.emplace(key, next_service_id_);
  return next_service_id_++;
}

std::unique_ptr<Snapshot> build_snapshot(const Config& cfg, DestStore& store, uint16_t nports,
                                         const MacAddr* port_macs) {
  auto s = std::make_unique<Snapshot>();
  s->nports = nports;
  for (uint16_t p = 0; p < nports && p < kMaxPorts; ++p) s->port_mac[p] = port_macs[p];
  s->tcp_timeouts = TcpTimeouts();
  s->tcp_timeouts.secs[static_cast<unsigned>(TcpState::Established)] = cfg.timeouts.tcp;
  s->tcp_timeouts.secs[static_cast<unsigned>(TcpState::FinWait)] = cfg.timeouts.tcpfin;
  s->udp_timeout = cfg.timeouts.udp;

  std::vector<std::pair<uint64_t, uint32_t>> svc_items;
  std::vector<std::pair<uint64_t, Destination*>> rs_items;
  s->services.reserve(cfg.services.size());
  for (const auto& sc : cfg.services) {
    SnapService ss;
    ss.id = store.service_id(sc.key);
    ss.proto = static_cast<uint8_t>(sc.key.proto);
    ss.vip = rte_cpu_to_be_32(sc.key.vip);
    ss.vport = rte_cpu_to_be_16(sc.key.vport);
    ss.sched.kind = sched_from_name(sc.scheduler).value_or(SchedKind::Wlc);
    ss.sched.flags = sc.sched_flags;
    for (const auto& d : sc.dests) {
      Destination* dest = store.get(sc.key, d);
      ss.dests.push_back(dest);
      if (d.method == ForwardMethod::Masq) {
        const uint64_t k = Snapshot::svc_key(ss.proto, dest->rip_be, dest->rport_be);
        if (std::none_of(rs_items.begin(), rs_items.end(),
                         [k](const auto& it) { return it.first == k; }))
          rs_items.emplace_back(k, dest);
      }
    }
    svc_items.emplace_back(Snapshot::svc_key(ss.proto, ss.vip, ss.vport),
                           static_cast<uint32_t>(s->services.size()));
    s->services.push_back(std::move(ss));
  }
  // Pointers into the vectors are taken only now that the services vector is final.
  for (auto& ss : s->services) {
    ss.sched.dests = ss.dests.data();
    ss.sched.ndests = static_cast<uint32_t>(ss.dests.size());
    if (ss.sched.kind == SchedKind::Sh) {
      ss.sh_table.assign(kShTabSize, nullptr);
      sh_build(ss.dests.data(), ss.sched.ndests, ss.sh_table.data());
      ss.sched.sh_table = ss.sh_table.data();
    }
  }
  s->service_by_key.build(svc_items);
  s->masq_by_rs.build(rs_items);

  std::vector<std::pair<uint64_t, uint16_t>> local_items;
  for (const auto& a : cfg.addrs) {
    SnapAddr sa;
    sa.ip = rte_cpu_to_be_32(a.ip);
    sa.mask = rte_cpu_to_be_32(prefix_mask(a.prefix_len));
    sa.port = a.port;
    s->addrs.push_back(sa);
    local_items.emplace_back(sa.ip, a.port);
    SnapRoute r;
    r.prefix = sa.ip & sa.mask;
    r.mask = sa.mask;
    r.len = a.prefix_len;
    r.port = a.port;
    s->routes.push_back(r);
  }
  s->local_by_ip.build(local_items);
  for (const auto& rc : cfg.routes) {
    SnapRoute r;
    r.prefix = rte_cpu_to_be_32(rc.prefix);
    r.mask = rte_cpu_to_be_32(prefix_mask(rc.prefix_len));
    r.len = rc.prefix_len;
    r.via = rte_cpu_to_be_32(rc.via);
    r.port = rc.port;
    s->routes.push_back(r);
  }
  // Longest prefix first; at equal length a connected route wins over a static one.
  std::stable_sort(s->routes.begin(), s->routes.end(),
                   [](const SnapRoute& a, const SnapRoute& b) { return a.len > b.len; });
  return s;
}

}  // namespace fastvs
