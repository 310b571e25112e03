#include "dataplane/snapshot.h"

#include <cstring>

#include "dataplane/conn_table.h"  // kTicksPerSecond

#include <algorithm>

#include <rte_byteorder.h>

namespace fastvs {

void DestStore::begin() {
  ++epoch_;
}

Destination* DestStore::get(const ServiceKey& svc, const DestConfig& d) {
  Entry& e = dests_[DestKey{svc, d.rip, d.rport}];
  if (!e.dest) {
    e.dest = std::make_unique<Destination>();
    e.dest->rip = d.rip.v4();
    e.dest->rport = d.rport;
    e.dest->rip_be = rte_cpu_to_be_32(d.rip.v4());
    if (d.rip.is_v6()) {
      e.dest->v6 = true;
      std::memcpy(e.dest->rip6, d.rip.bytes().data(), 16);
      e.dest->rip_be = ip6_fold(e.dest->rip6);
      e.dest->rip = rte_be_to_cpu_32(e.dest->rip_be);
    }
    e.dest->rport_be = rte_cpu_to_be_16(d.rport);
    e.dest->nslots = nworkers_ + 1;  // and control's
  }
  e.seen = epoch_;
  e.grace.reset();  // named again: trashed later, it waits a grace period of its own
  Destination* dest = e.dest.get();
  dest->method.store(d.method, std::memory_order_relaxed);
  dest->weight.store(d.weight, std::memory_order_relaxed);
  dest->last_weight = d.weight != 0 ? d.weight : d.last_weight;
  // __ip_vs_update_dest: no upper threshold, or a higher one, lifts the overload at once.
  if (d.u_threshold == 0 || d.u_threshold > dest->u_threshold.load(std::memory_order_relaxed))
    dest->flags.fetch_and(~uint32_t{kDestOverload}, std::memory_order_relaxed);
  dest->u_threshold.store(d.u_threshold, std::memory_order_relaxed);
  dest->l_threshold.store(d.l_threshold, std::memory_order_relaxed);
  dest->flags.fetch_or(kDestAvailable, std::memory_order_release);  // revived from the trash
  return dest;
}

uint32_t DestStore::service_id(const ServiceKey& svc) {
  auto it = services_.find(svc);
  if (it == services_.end()) {
    it = services_.emplace(svc, SvcEntry{}).first;
    it->second.id = next_service_id_++;
    service_keys_[it->second.id] = svc;
  }
  it->second.seen = epoch_;
  return it->second.id;
}

uint32_t DestStore::service_gen(uint32_t id, const SchedInputs& inputs) {
  SvcEntry& e = services_.at(service_keys_.at(id));
  if (!(e.inputs == inputs)) {
    e.inputs = inputs;
    ++e.gen;
  }
  return e.gen;
}

void DestStore::end() {
  trash_.clear();
  for (auto& [key, e] : dests_) {
    if (e.seen != epoch_) {
      e.dest->flags.fetch_and(~uint32_t{kDestAvailable}, std::memory_order_release);
      trash_.push_back(key);
    }
  }
  // A service that left is forgotten: added again, it starts afresh (a new id, new scheduler
  // state), as a new ip_vs_service would.
  for (auto it = services_.begin(); it != services_.end();) {
    if (it->second.seen != epoch_) {
      service_keys_.erase(it->second.id);
      it = services_.erase(it);
    } else {
      ++it;
    }
  }
}

unsigned DestStore::reclaim(const std::function<uint64_t()>& start,
                            const std::function<bool(uint64_t)>& done) {
  // Only the trash is walked: control calls this ten times a second, and the whole store is
  // every destination there is.
  unsigned freed = 0;
  std::erase_if(trash_, [&](const DestKey& key) {
    const auto it = dests_.find(key);
    if (it == dests_.end()) return true;
    Entry& e = it->second;
    if (e.seen == epoch_) return true;  // revived (only a build does that; it redoes the trash)
    if (e.dest->refs() != 0) {
      e.grace.reset();
      return false;
    }
    if (start && !e.grace) {
      e.grace = start();
      return false;
    }
    if (start && !done(*e.grace)) return false;
    dests_.erase(it);
    ++freed;
    return true;
  });
  return freed;
}

size_t DestStore::trashed() const {
  return trash_.size();
}

// The mark rules in chain order, each family's apart; fwm4/fwm6 stay set only when that family
// has rules as well as a firewall-mark service (no rule: no packet is marked).
static void build_mark_rules(const Config& cfg, Snapshot& s) {
  for (const MarkRule& mr : cfg.mark_rules) {
    SnapMarkRule r;
    r.proto = mr.proto;
    r.has_in_port = mr.in_port.has_value();
    r.in_port = mr.in_port.value_or(0);
    r.src_len = mr.src_len;
    r.dst_len = mr.dst_len;
    if (mr.v6) {
      std::memcpy(r.src6, mr.src.masked(mr.src_len).bytes().data(), 16);
      std::memcpy(r.dst6, mr.dst.masked(mr.dst_len).bytes().data(), 16);
    } else {
      r.src_mask = rte_cpu_to_be_32(prefix_mask(mr.src_len));
      r.dst_mask = rte_cpu_to_be_32(prefix_mask(mr.dst_len));
      r.src = rte_cpu_to_be_32(mr.src.v4()) & r.src_mask;
      r.dst = rte_cpu_to_be_32(mr.dst.v4()) & r.dst_mask;
    }
    for (const auto& p : mr.sports)
      if (r.nsports < r.sports.size()) r.sports[r.nsports++] = p;
    for (const auto& p : mr.dports)
      if (r.ndports < r.dports.size()) r.dports[r.ndports++] = p;
    r.mark = mr.mark;
    (mr.v6 ? s.mark_rules6 : s.mark_rules4).push_back(r);
  }
  s.fwm_any4 = s.fwm4;
  s.fwm_any6 = s.fwm6;
  s.fwm4 = s.fwm4 && !s.mark_rules4.empty();
  s.fwm6 = s.fwm6 && !s.mark_rules6.empty();
}

std::unique_ptr<Snapshot> build_snapshot(const Config& cfg, DestStore& store, uint16_t nports,
                                         const MacAddr* port_macs, const uint16_t* port_mtus) {
  auto s = std::make_unique<Snapshot>();
  s->nports = nports;
  for (uint16_t p = 0; p < nports && p < kMaxPorts; ++p) {
    s->port_mac[p] = port_macs[p];
    s->port_mtu[p] = port_mtus ? port_mtus[p] : 1500;
  }
  s->tcp_timeouts = TcpTimeouts();
  s->tcp_timeouts.secs[static_cast<unsigned>(TcpState::Established)] = cfg.timeouts.tcp;
  s->tcp_timeouts.secs[static_cast<unsigned>(TcpState::FinWait)] = cfg.timeouts.tcpfin;
  s->udp_timeout = cfg.timeouts.udp;

  store.begin();
  std::vector<std::pair<uint64_t, uint32_t>> svc_items, id_items, all_items;
  // Masq destinations by (proto, RIP, port): the first of each key wins. Collected, then sorted
  // and deduplicated (a set per build cost a third of a change's time at 80,000 destinations).
  std::vector<std::pair<uint64_t, Destination*>> rs_items;
  s->services.reserve(cfg.services.size());
  std::vector<uint32_t> local_ips;
  for (const auto& a : cfg.addrs)
    if (a.ip.is_v4()) local_ips.push_back(a.ip.v4());
  std::sort(local_ips.begin(), local_ips.end());
  std::vector<std::pair<uint64_t, uint32_t>> svc6_items, all6_items;
  std::vector<std::pair<uint64_t, Destination*>> rs6_items;
  std::vector<std::pair<uint64_t, uint32_t>> mark_items;
  for (const auto& sc : cfg.services) {
    const bool v6 = sc.key.vip.is_v6();
    SnapService ss;
    ss.id = store.service_id(sc.key);
    ss.proto = static_cast<uint8_t>(sc.key.proto);
    ss.v6 = v6;
    if (v6) {
      std::memcpy(ss.vip6, sc.key.vip.bytes().data(), 16);
      ss.vip = ip6_fold(ss.vip6);
      ss.vip_local = std::any_of(cfg.addrs.begin(), cfg.addrs.end(),
                                 [&](const AddrConfig& a) { return a.ip == sc.key.vip; });
      ss.persist_plen = sc.netmask6;
    } else {
      ss.vip_local = std::binary_search(local_ips.begin(), local_ips.end(), sc.key.vip.v4());
      ss.vip = rte_cpu_to_be_32(sc.key.vip.v4());
      ss.persist_mask = rte_cpu_to_be_32(sc.netmask);
    }
    ss.vport = rte_cpu_to_be_16(sc.key.vport);
    ss.fwmark = sc.key.fwmark;
    const bool fwm = sc.key.is_fwmark();
    // A firewall-mark service takes the marked packets to any of the director's addresses.
    if (fwm) ss.vip_local = true;
    ss.sched.kind = sched_from_name(sc.scheduler).value_or(SchedKind::Wlc);
    ss.sched.flags = sc.sched_flags;
    ss.persistent = sc.persistent;
    // ip_vs_schedule: IP_VS_CONN_F_ONE_PACKET only for UDP (the flag on another service is kept
    // and listed, and changes nothing).
    ss.ops = sc.ops && (sc.key.proto == Proto::Udp || fwm);
    ss.persist_ticks = sc.timeout * kTicksPerSecond;
    if (sc.key.vport == 0 && ss.vip_local && !fwm) (v6 ? s->has_port0_6 : s->has_port0) = true;
    for (const auto& d : sc.dests) {
      // A real server of the other family is a tunnel's (IPv4 in IPv6, IPv6 in IPv4); control
      // takes it with -i alone, and one of another method is skipped, never mistranslated.
      if (d.rip.family() != sc.key.vip.family() && d.method != ForwardMethod::Tunnel) continue;
      Destination* dest = store.get(sc.key, d);
      ss.dests.push_back(dest);
      if (d.method == ForwardMethod::Masq) {
        if (d.rport == 0) (v6 ? s->has_port0_masq6 : s->has_port0_masq) = true;
        // A firewall-mark service's replies come back in TCP and UDP alike.
        for (const uint8_t proto : {ss.proto, uint8_t{kIpProtoUdp}}) {
          (v6 ? rs6_items : rs_items)
              .emplace_back(Snapshot::svc_key(proto, dest->rip_be, dest->rport_be), dest);
          if (v6) s->masq6.emplace_back(proto, dest);
          if (!fwm) break;
        }
      }
    }
    SchedInputs inputs{ss.sched.kind, ss.sched.flags, {}};
    for (const Destination* d : ss.dests) inputs.dests.emplace_back(d, d->get_weight());
    ss.gen = store.service_gen(ss.id, inputs);
    const auto index = static_cast<uint32_t>(s->services.size());
    if (fwm) {
      mark_items.emplace_back(Snapshot::mark_key(ss.fwmark, v6), index);
      (v6 ? s->fwm6 : s->fwm4) = true;
    } else {
      const uint64_t key = Snapshot::svc_key(ss.proto, ss.vip, ss.vport);
      if (ss.vip_local) (v6 ? svc6_items : svc_items).emplace_back(key, index);
      (v6 ? all6_items : all_items).emplace_back(key, index);
    }
    if (v6 && ss.vip_local) s->has_v6 = true;
    id_items.emplace_back(ss.id, static_cast<uint32_t>(s->services.size()));
    s->services.push_back(std::move(ss));
  }
  // Pointers into the vectors are taken only now that the services vector is final.
  for (auto& ss : s->services) {
    ss.sched.dests = ss.dests.data();
    ss.sched.ndests = static_cast<uint32_t>(ss.dests.size());
    if (const unsigned size = sched_table_size(ss.sched.kind)) {
      ss.table.assign(size, nullptr);
      sched_build_table(ss.sched.kind, ss.dests.data(), ss.sched.ndests, ss.table.data());
      ss.sched.table = ss.table.data();
    }
  }
  store.end();
  // A removed Masq destination's replies still find their connections (ip_vs_out looks the
  // connection up whatever the configuration says), until the last of them is gone.
  store.for_each_trashed([&](uint8_t proto, Destination* d) {
    if (d->method.load(std::memory_order_relaxed) != ForwardMethod::Masq) return;
    if (d->rport == 0) (d->v6 ? s->has_port0_masq6 : s->has_port0_masq) = true;
    (d->v6 ? rs6_items : rs_items)
        .emplace_back(Snapshot::svc_key(proto, d->rip_be, d->rport_be), d);
    if (d->v6) s->masq6.emplace_back(proto, d);
  });
  // IPv6: a key that two addresses share (their folds alike) makes every lookup a scan.
  const auto shared = [](auto& items, auto&& same) {
    std::stable_sort(items.begin(), items.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    bool any = false;
    for (size_t i = 1; i < items.size(); ++i)
      any |= items[i - 1].first == items[i].first && !same(items[i - 1].second, items[i].second);
    items.erase(std::unique(items.begin(), items.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                items.end());
    return any;
  };
  const auto never = [](uint32_t, uint32_t) { return false; };
  // Each list sorted and deduplicated (every call runs), then any shared key noted.
  const bool svc_shared = shared(svc6_items, never);
  const bool all_shared = shared(all6_items, never);
  const bool rs_shared = shared(rs6_items, [](const Destination* a, const Destination* b) {
    return std::memcmp(a->rip6, b->rip6, 16) == 0;
  });
  s->fold6_shared = svc_shared || all_shared || rs_shared;
  s->service6_by_key.build(svc6_items);
  s->service6_configured.build(all6_items);
  s->masq6_by_rs.build(rs6_items);
  std::stable_sort(rs_items.begin(), rs_items.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  rs_items.erase(std::unique(rs_items.begin(), rs_items.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 rs_items.end());
  s->service_by_key.build(svc_items);
  s->service_configured.build(all_items);
  s->service_by_id.build(id_items);
  s->service_by_mark.build(mark_items);
  build_mark_rules(cfg, *s);
  s->masq_by_rs.build(rs_items);
  // Each address's roles ORed together: sorted by address, equal ones merged.
  std::vector<std::pair<uint64_t, uint8_t>> roles;
  roles.reserve(s->services.size() + rs_items.size());
  for (const auto& ss : s->services)
    if (ss.vip_local && !ss.v6 && !ss.fwmark)
      roles.emplace_back(Snapshot::addr_key(ss.proto, ss.vip), Snapshot::kAddrVip);
  for (const auto& [k, d] : rs_items)
    roles.emplace_back(Snapshot::addr_key(static_cast<uint8_t>(k >> 48), d->rip_be),
                       Snapshot::kAddrMasqRip);
  std::sort(roles.begin(), roles.end());
  size_t kept = 0;
  for (size_t i = 0; i < roles.size(); ++i) {
    if (kept > 0 && roles[kept - 1].first == roles[i].first)
      roles[kept - 1].second |= roles[i].second;
    else
      roles[kept++] = roles[i];
  }
  roles.resize(kept);
  s->addr_roles.build(roles);

  std::vector<std::pair<uint64_t, uint16_t>> local_items;
  for (const auto& a : cfg.addrs) {
    if (a.ip.is_v6()) {
      // IPv6: neighbour discovery and echo answer for it, and its subnet is connected.
      SnapAddr6 sa;
      std::memcpy(sa.ip, a.ip.bytes().data(), 16);
      sa.prefix_len = a.prefix_len;
      sa.port = a.port;
      s->addrs6.push_back(sa);
      SnapRoute6 r;
      std::memcpy(r.prefix, a.ip.masked(a.prefix_len).bytes().data(), 16);
      r.len = a.prefix_len;
      r.port = a.port;
      s->routes6.push_back(r);
      continue;
    }
    SnapAddr sa;
    sa.ip = rte_cpu_to_be_32(a.ip.v4());
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
    if (rc.prefix.is_v6()) {
      SnapRoute6 r;
      std::memcpy(r.prefix, rc.prefix.masked(rc.prefix_len).bytes().data(), 16);
      r.len = rc.prefix_len;
      r.has_via = !rc.via.is_zero();
      std::memcpy(r.via, rc.via.bytes().data(), 16);
      r.port = rc.port;
      s->routes6.push_back(r);
      continue;
    }
    SnapRoute r;
    r.prefix = rte_cpu_to_be_32(rc.prefix.v4());
    r.mask = rte_cpu_to_be_32(prefix_mask(rc.prefix_len));
    r.len = rc.prefix_len;
    r.via = rte_cpu_to_be_32(rc.via.v4());
    r.port = rc.port;
    s->routes.push_back(r);
  }
  // Longest prefix first; at equal length a connected route wins over a static one.
  std::stable_sort(s->routes.begin(), s->routes.end(),
                   [](const SnapRoute& a, const SnapRoute& b) { return a.len > b.len; });
  std::stable_sort(s->routes6.begin(), s->routes6.end(),
                   [](const SnapRoute6& a, const SnapRoute6& b) { return a.len > b.len; });
  return s;
}

}  // namespace fastvs
