// fastvsadm's requests on the control thread: listings answered at once, changes applied to a
// copy of the configuration and answered once every worker has adopted them.
#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <unordered_set>

#include <fmt/core.h>

#include "common/text.h"
#include "control/config/apply.h"
#include "control/config/keepalived.h"
#include "control/config/loader.h"
#include "control/director.h"
#include "control/report/ipvsadm_print.h"

namespace fastvs {

namespace {


}  // namespace

bool Director::load_keepalived(const std::string& path, const Config& base, Config* out,
                               std::vector<ServiceKey>* keys, std::string* err) {
  Result<std::string> text = read_text_file(path);
  if (!text) {
    *err = text.error();
    return false;
  }
  std::vector<std::string> warnings;
  const Result<KaConfig> ka = parse_keepalived(*text, path, &warnings);
  for (const std::string& w : warnings) log_line("keepalived.conf: " + w);
  if (!ka) {
    *err = ka.error();
    return false;
  }
  std::vector<ServiceKey> made;
  Result<Config> next = ka_apply(base, *ka, *keys, static_cast<unsigned>(ports_.size()), &made);
  if (!next) {
    *err = next.error();
    return false;
  }
  *out = std::move(*next);
  *keys = std::move(made);
  log_line(fmt::format("loaded {}: {} virtual servers", path, keys->size()));
  return true;
}

bool Director::reload_keepalived(uint64_t client, const Command& cmd,
                                 const std::vector<std::string>& words) {
  const std::string path = cmd.path.empty() ? opt_.keepalived_conf : cmd.path;
  if (path.empty()) {
    cli_.reply(client, CliReply{false,
                                "no keepalived.conf: give one (--keepalived-reload FILE "
                                "or fastvsd --keepalived-conf FILE)"});
    return false;
  }
  Config next;
  std::vector<ServiceKey> keys = ka_keys_;
  std::string err;
  if (!load_keepalived(path, cfg_, &next, &keys, &err)) {
    log_line(fmt::format("fastvsadm --keepalived-reload: refused, nothing changed: {}", err));
    cli_.reply(client, CliReply{false, err});
    return false;
  }
  ka_keys_ = std::move(keys);
  opt_.keepalived_conf = path;
  return apply_change(client, words, next);
}

bool Director::handle(uint64_t client, const CliRequest& req, CliReply* reply, bool queued) {
  const Result<Command> p = parse_command(req.words);
  if (!p) {
    *reply = CliReply{false, p.error()};
    return true;
  }
  const Command& cmd = *p;
  if (changes_config(cmd.op) && (!pending_.empty() || (!queued && !waiting_.empty()))) {
    // One change in flight at a time: the next waits for the workers to adopt this one.
    waiting_.emplace_back(client, req);
    return false;
  }
  switch (cmd.op) {
    case Op::KeepalivedReload:
      return reload_keepalived(client, cmd, req.words);
    case Op::List: {
      if (cmd.list_timeout) {
        *reply = CliReply{true, format_timeout(cfg_.timeouts)};
        return true;
      }
      if (cmd.list_conns) {
        start_dump(client, cmd);
        return false;
      }
      ListOptions o;
      o.numeric = cmd.numeric;
      o.stats = cmd.list_stats;
      o.rate = cmd.list_rate;
      o.exact = cmd.list_exact;
      o.thresholds = cmd.list_thresholds;
      o.persistent_conn = cmd.list_persistent_conn;
      o.nosort = cmd.list_nosort;
      const auto status = service_status();
      if (cmd.has_service) {
        for (const auto& s : status)
          if (s.cfg.key == cmd.service) {
            *reply = CliReply{true, format_list_service(s, o)};
            return true;
          }
        *reply =
            CliReply{false, fmt::format("no such service {} {}:{}", proto_name(cmd.service.proto),
                                        format_ip4(cmd.service.vip), cmd.service.vport)};
        return true;
      }
      std::string text = format_list(status, o, opt_.conn_capacity);
      // ipvsadm's table, byte for byte; with health checks configured, their state after it
      // (a destination that is down is not in the table, as keepalived leaves IPVS).
      if (!cfg_.checks.empty() || !cfg_.pools.empty())
        text += "Health checks (fastvs):\n" + health_.status();
      *reply = CliReply{true, std::move(text)};
      return true;
    }
    case Op::Save:
      *reply = CliReply{true, format_save(cfg_, cmd.numeric)};
      return true;
    case Op::CheckList:
      *reply = CliReply{true, cfg_.checks.empty() && cfg_.pools.empty()
                                  ? std::string("no health checks\n")
                                  : health_.status()};
      return true;
    case Op::Zero:
      if (cmd.has_service &&
          std::none_of(cfg_.services.begin(), cfg_.services.end(),
                       [&](const ServiceConfig& s) { return s.key == cmd.service; })) {
        *reply =
            CliReply{false, fmt::format("no such service {} {}:{}", proto_name(cmd.service.proto),
                                        format_ip4(cmd.service.vip), cmd.service.vport)};
        return true;
      }
      zero(cmd);
      *reply = CliReply{true, ""};
      return true;
    case Op::AddrShow:
      *reply = CliReply{true, show_addrs()};
      return true;
    case Op::RouteShow:
      *reply = CliReply{true, show_routes()};
      return true;
    case Op::NeighShow:
      *reply = CliReply{true, show_neighs()};
      return true;
    case Op::LinkShow:
      *reply = CliReply{true, show_links(cmd.stats)};
      return true;
    case Op::Restore: {
      // All or nothing (ipvsadm -R stops at the first bad line, leaving half a table).
      Result<Config> lr =
          apply_config_text(cfg_, req.input, "-R input", static_cast<unsigned>(ports_.size()));
      if (!lr) {
        log_line(fmt::format("fastvsadm -R: refused, nothing changed: {}", lr.error()));
        *reply = CliReply{false, lr.error()};
        return true;
      }
      // Static neighbours live in the neighbour table too: bring it to what -R left.
      std::unordered_set<uint32_t> kept;
      for (const auto& m : lr->neighs) kept.insert(m.ip);
      for (const auto& n : cfg_.neighs)
        if (!kept.count(n.ip)) neigh_.clear(rte_cpu_to_be_32(n.ip));
      for (const auto& n : lr->neighs)
        neigh_.set(rte_cpu_to_be_32(n.ip), n.port, n.mac, NeighState::Permanent);
      return apply_change(client, req.words, *lr);
    }
    default: {
      Config next = cfg_;
      const Status st = apply_command(next, cmd, static_cast<unsigned>(ports_.size()));
      if (!st) {
        log_line(fmt::format("fastvsadm {}: refused: {}", join(req.words), st.error()));
        *reply = CliReply{false, st.error()};
        return true;
      }
      if (cmd.op == Op::NeighAdd)
        neigh_.set(rte_cpu_to_be_32(cmd.ip), cmd.port, cmd.mac, NeighState::Permanent);
      if (cmd.op == Op::NeighDel) neigh_.clear(rte_cpu_to_be_32(cmd.ip));
      return apply_change(client, req.words, next);
    }
  }
}

bool Director::apply_change(uint64_t client, const std::vector<std::string>& words,
                            const Config& next) {
  cfg_ = next;
  kernel_.sync(cfg_);  // the host's addresses and routes, when they changed
  refresh_health();
  log_line(fmt::format("fastvsadm {}: applied", join(words)));
  publish(client);
  return false;  // answered when every worker has it
}

void Director::refresh_health() {
  std::vector<HealthDef> defs = health_defs(cfg_);
  if (defs != health_defs_) {
    // Checked services changed: theirs start over, and until the thread's first word (at once:
    // initial()) they hold their configured destinations. The others keep their verdicts.
    std::map<ServiceKey, const HealthDef*> by_service;
    for (const HealthDef& d : defs) by_service[d.pool.service] = &d;
    std::map<ServiceKey, const HealthDef*> before;
    for (const HealthDef& d : health_defs_) before[d.pool.service] = &d;
    std::erase_if(health_dests_, [&](const auto& kv) {
      const auto now = by_service.find(kv.first);
      const auto was = before.find(kv.first);
      return now == by_service.end() || was == before.end() || !(*now->second == *was->second);
    });
    if (!defs.empty() || !health_defs_.empty())
      log_line(fmt::format("health checks: {} checked service(s)", defs.size()));
    health_defs_ = defs;
    health_.configure(std::move(defs));
  }
  update_effective();
}

void Director::update_effective() {
  effective_ = cfg_;
  for (ServiceConfig& s : effective_.services) {
    const auto it = health_dests_.find(s.key);
    if (it == health_dests_.end()) continue;
    // The checks' verdict, with what the model keeps beside weights (mh's last_weight).
    std::vector<DestConfig> dests;
    for (DestConfig d : it->second) {
      for (const DestConfig& c : s.dests)
        if (c.rip == d.rip && c.rport == d.rport) {
          d.last_weight = d.weight != 0 ? d.weight : (c.weight != 0 ? c.weight : c.last_weight);
          d.inhibit = c.inhibit;
        }
      if (d.last_weight == 0) d.last_weight = d.weight;
      dests.push_back(d);
    }
    s.dests = std::move(dests);
  }
}

void Director::on_health() {
  for (HealthRunner::Update& u : health_.take()) {
    for (const std::string& line : u.log) log_line("health: " + line);
    // An answer about a service that is no longer checked (a reload raced it) is dropped.
    if (!std::any_of(cfg_.services.begin(), cfg_.services.end(),
                     [&](const ServiceConfig& s) { return s.key == u.service; }))
      continue;
    health_dests_[u.service] = std::move(u.dests);
    health_dirty_ = true;
  }
  // One change in flight at a time: a verdict waits for the change being adopted.
  if (health_dirty_ && pending_.empty()) {
    health_dirty_ = false;
    update_effective();
    publish(0);
  }
}

void Director::publish(uint64_t client) {
  const uint64_t token = pub_->publish(
      build_snapshot(effective_, *store_, static_cast<uint16_t>(ports_.size()), macs_, mtus_));
  pending_.push_back(Pending{client, token});
}

void Director::poll_rcu() {
  // rte_rcu_qsbr_check without waiting: the control thread never blocks on the workers.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (pub_->in_force(it->token)) {
      cli_.reply(it->client, CliReply{true, ""});
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  pub_->reclaim();
  if (health_dirty_ && pending_.empty()) on_health();
  // The next waiting change, now that none is in flight.
  while (pending_.empty() && !waiting_.empty()) {
    auto [client, req] = std::move(waiting_.front());
    waiting_.pop_front();
    CliReply r;
    if (handle(client, req, &r, true)) cli_.reply(client, r);
  }
}

std::vector<ServiceStatus> Director::service_status(bool since_zero) const {
  // The current snapshot is built from effective_ in the same order: services[i].dests[j] is
  // effective_.services[i].dests[j].
  std::vector<ServiceStatus> out;
  for (size_t i = 0; i < effective_.services.size(); ++i) {
    ServiceStatus s;
    s.cfg = effective_.services[i];
    const SnapService& ss = pub_->current().services[i];
    for (size_t j = 0; j < s.cfg.dests.size(); ++j) {
      const Destination& d = *ss.dests[j];
      DestStatus ds;
      ds.cfg = s.cfg.dests[j];
      ds.activeconns = d.activeconns();
      ds.inactconns = d.inactconns();
      ds.persistconns = d.persistconns();
      ds.conns = d.sum(&DestWorkerSlot::conns) - (since_zero ? d.zero_conns : 0);
      ds.inpkts = d.sum(&DestWorkerSlot::inpkts) - (since_zero ? d.zero_inpkts : 0);
      ds.outpkts = d.sum(&DestWorkerSlot::outpkts) - (since_zero ? d.zero_outpkts : 0);
      ds.inbytes = d.sum(&DestWorkerSlot::inbytes) - (since_zero ? d.zero_inbytes : 0);
      ds.outbytes = d.sum(&DestWorkerSlot::outbytes) - (since_zero ? d.zero_outbytes : 0);
      s.add_counters(ds);
      const auto e = dest_est_.find({static_cast<uint8_t>(s.cfg.key.proto), s.cfg.key.vip,
                                     s.cfg.key.vport, ds.cfg.rip, ds.cfg.rport});
      if (e != dest_est_.end()) e->second.read(ds);
      s.dests.push_back(ds);
    }
    rates(s);
    out.push_back(std::move(s));
  }
  return out;
}

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

void Director::rates(ServiceStatus& s) const {
  const auto e =
      svc_est_.find({static_cast<uint8_t>(s.cfg.key.proto), s.cfg.key.vip, s.cfg.key.vport});
  if (e != svc_est_.end()) e->second.read(s);
}

void Director::estimate() {
  // Estimators of services and destinations that left are dropped; new ones start from where
  // their counters stand (ip_vs_start_estimator).
  decltype(svc_est_) svc_next;
  decltype(dest_est_) dest_next;
  const Snapshot& snap = pub_->current();
  for (size_t i = 0; i < effective_.services.size(); ++i) {
    const ServiceConfig& sc = effective_.services[i];
    const uint8_t proto = static_cast<uint8_t>(sc.key.proto);
    IpvsCounters total;
    for (size_t j = 0; j < sc.dests.size(); ++j) {
      const IpvsCounters c = raw_counters(*snap.services[i].dests[j]);
      total.add_counters(c);
      const auto key =
          std::make_tuple(proto, sc.key.vip, sc.key.vport, sc.dests[j].rip, sc.dests[j].rport);
      auto it = dest_est_.find(key);
      RateEstimator& e = dest_next[key];
      if (it == dest_est_.end()) {
        e.reset(c);
      } else {
        e = it->second;
        e.tick(c);
      }
    }
    const auto key = std::make_tuple(proto, sc.key.vip, sc.key.vport);
    auto it = svc_est_.find(key);
    RateEstimator& e = svc_next[key];
    if (it == svc_est_.end()) {
      e.reset(total);
    } else {
      e = it->second;
      e.tick(total);
    }
  }
  svc_est_ = std::move(svc_next);
  dest_est_ = std::move(dest_next);
}

uint32_t Director::now_tick() const {
  // The workers' clock (worker_set_time): the same TSC, the same tick length.
  return static_cast<uint32_t>(rte_rdtsc() / (rte_get_tsc_hz() / kTicksPerSecond));
}

void Director::sweep_templates() {
  const uint32_t now = now_tick();
  const unsigned control_slot = static_cast<unsigned>(workers_.size());
  persist_.sweep(now, [&](Destination* d) {
    // The template's PersistConn and reference, given back in control's own slot.
    DestWorkerSlot& s = d->slot[control_slot];
    slot_add(s.persistconns, -1);
    s.refs.store(s.refs.load(std::memory_order_relaxed) - 1, std::memory_order_release);
  });
}

void Director::start_dump(uint64_t client, const Command& cmd) {
  dump_waiters_.emplace_back(client, cmd);
  if (dumping_) return;
  dumping_ = true;
  for (auto& w : workers_) {
    ConnDump& d = w->dump;
    d.rows.clear();
    d.rows.reserve(w->conns.size() + 4096);  // room for what arrives while it copies
    d.cursor = 0;
    d.truncated = false;
    d.state.store(ConnDump::kAsked, std::memory_order_release);
  }
}

void Director::poll_dump() {
  for (auto& w : workers_)
    if (w->dump.state.load(std::memory_order_acquire) != ConnDump::kDone) return;
  std::vector<ConnListEntry> rows;
  bool truncated = false;
  for (auto& w : workers_) {
    truncated |= w->dump.truncated;
    for (const ConnRow& r : w->dump.rows) {
      ConnListEntry e;
      e.proto = r.proto == kIpProtoTcp ? Proto::Tcp : Proto::Udp;
      // udp_state_name: every UDP entry is in state "UDP".
      e.state = e.proto == Proto::Tcp ? tcp_state_name(r.state) : "UDP";
      e.expires = r.expires_in / kTicksPerSecond;
      e.cip = rte_be_to_cpu_32(r.cip);
      e.cport = rte_be_to_cpu_16(r.cport);
      e.vip = rte_be_to_cpu_32(r.vip);
      e.vport = rte_be_to_cpu_16(r.vport);
      e.rip = rte_be_to_cpu_32(r.rip);
      e.rport = rte_be_to_cpu_16(r.rport);
      rows.push_back(std::move(e));
    }
    w->dump.rows.clear();
    w->dump.rows.shrink_to_fit();
    w->dump.state.store(ConnDump::kIdle, std::memory_order_relaxed);
  }
  // Persistence templates: <proto, CIP & mask, 0, VIP, vport, RIP, rport>, state NONE.
  const Snapshot& snap = pub_->current();
  const uint32_t now = now_tick();
  persist_.for_each([&](uint64_t key, const Destination* d, uint32_t expires) {
    const SnapService* svc = snap.find_by_id(static_cast<uint32_t>(key >> 32) - 1);
    if (!svc) return;
    ConnListEntry e;
    e.proto = svc->proto == kIpProtoTcp ? Proto::Tcp : Proto::Udp;
    e.state = e.proto == Proto::Tcp ? "NONE" : "UDP";
    const int32_t left = static_cast<int32_t>(expires - now);
    e.expires = left > 0 ? static_cast<uint32_t>(left) / kTicksPerSecond : 0;
    e.cip = rte_be_to_cpu_32(static_cast<uint32_t>(key));
    e.vip = rte_be_to_cpu_32(svc->vip);
    e.vport = rte_be_to_cpu_16(svc->vport);
    e.rip = d->rip;
    e.rport = d->rport;
    rows.push_back(std::move(e));
  });
  if (truncated) log_line("fastvsadm -L -c: connections arrived faster than the copy; listing cut");
  for (const auto& [client, cmd] : dump_waiters_)
    cli_.reply(client, CliReply{true, format_conns(rows, cmd.numeric, cmd.list_persistent_conn)});
  dump_waiters_.clear();
  dumping_ = false;
}

void Director::zero(const Command& cmd) {
  // Counters are the workers'; zeroing records where they stand (no write to a worker's slot).
  for (size_t i = 0; i < effective_.services.size(); ++i) {
    if (cmd.has_service && !(effective_.services[i].key == cmd.service)) continue;
    for (Destination* d : pub_->current().services[i].dests) {
      d->zero_conns = d->sum(&DestWorkerSlot::conns);
      d->zero_inpkts = d->sum(&DestWorkerSlot::inpkts);
      d->zero_outpkts = d->sum(&DestWorkerSlot::outpkts);
      d->zero_inbytes = d->sum(&DestWorkerSlot::inbytes);
      d->zero_outbytes = d->sum(&DestWorkerSlot::outbytes);
    }
    // ip_vs_zero_stats zeroes the estimator too: rates restart from 0.
    const ServiceConfig& sc = effective_.services[i];
    const uint8_t proto = static_cast<uint8_t>(sc.key.proto);
    IpvsCounters total;
    for (size_t j = 0; j < sc.dests.size(); ++j) {
      const IpvsCounters c = raw_counters(*pub_->current().services[i].dests[j]);
      dest_est_[{proto, sc.key.vip, sc.key.vport, sc.dests[j].rip, sc.dests[j].rport}].reset(c);
      total.add_counters(c);
    }
    svc_est_[{proto, sc.key.vip, sc.key.vport}].reset(total);
  }
  log_line(cmd.has_service ? "fastvsadm -Z: service counters zeroed"
                           : "fastvsadm -Z: all counters zeroed");
}

// iproute2's `ip -4 addr`, `ip route`, `ip neigh`, `ip -s link`, for the DPDK ports.
std::string Director::show_addrs() const {
  std::string out;
  for (size_t p = 0; p < ports_.size(); ++p) {
    out += fmt::format("{}: {}: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu {}\n", p + 1,
                       ports_[p].name, ports_[p].mtu);
    for (const auto& a : cfg_.addrs)
      if (a.port == p)
        out += fmt::format("    inet {}/{} scope global {}\n", format_ip4(a.ip), a.prefix_len,
                           ports_[p].name);
  }
  return out;
}

std::string Director::show_routes() const {
  std::string out;
  for (const auto& r : cfg_.routes) {
    const std::string dst =
        r.prefix_len == 0 ? "default" : fmt::format("{}/{}", format_ip4(r.prefix), r.prefix_len);
    out += r.via ? fmt::format("{} via {} dev {}\n", dst, format_ip4(r.via), ports_[r.port].name)
                 : fmt::format("{} dev {} scope link\n", dst, ports_[r.port].name);
  }
  for (const auto& a : cfg_.addrs) {
    const uint32_t mask = prefix_mask(a.prefix_len);
    out += fmt::format("{}/{} dev {} proto kernel scope link src {}\n", format_ip4(a.ip & mask),
                       a.prefix_len, ports_[a.port].name, format_ip4(a.ip));
  }
  return out;
}

std::string Director::show_neighs() const {
  std::string out;
  neigh_.for_each([&](uint32_t ip, uint16_t port, const MacAddr& mac, NeighState st) {
    out += fmt::format("{} dev {} lladdr {} {}\n", format_ip4(rte_be_to_cpu_32(ip)),
                       port < ports_.size() ? ports_[port].name : "?", format_mac(mac),
                       st == NeighState::Permanent ? "PERMANENT" : "REACHABLE");
  });
  return out;
}

std::string Director::show_links(bool stats) const {
  std::string out;
  for (size_t p = 0; p < ports_.size(); ++p) {
    const PortSetup& ps = ports_[p];
    out += fmt::format(
        "{}: {}: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu {} driver {} rxq {} txq {}\n"
        "    link/ether {} brd ff:ff:ff:ff:ff:ff\n",
        p + 1, ps.name, ps.mtu, ps.driver, ps.nrxq, ps.ntxq, format_mac(ps.mac));
    if (!stats) continue;
    rte_eth_stats st{};
    rte_eth_stats_get(ps.port_id, &st);
    out += fmt::format(
        "    RX: bytes  packets  errors  dropped missed\n    {:<10} {:<8} {:<7} {:<7} {}\n"
        "    TX: bytes  packets  errors\n    {:<10} {:<8} {}\n",
        st.ibytes, st.ipackets, st.ierrors, st.rx_nombuf, st.imissed, st.obytes, st.opackets,
        st.oerrors);
  }
  if (!stats) return out;
  // What fastvs itself did with the packets: per worker, and drops by reason.
  for (const auto& w : workers_) {
    const WorkerCounters& c = w->ctr;
    out += fmt::format(
        "worker {}: rx {} tx {} nat_in {} nat_out {} dr_out {} tun_out {} icmp_nat {} "
        "handoff_out {} handoff_in {} conns {} created {} expired {} to_kernel {} from_kernel {}\n"
        "    fragments: tracked {} followed {} evicted {}\n",
        w->id, c.rx.get(), c.tx.get(), c.nat_in.get(), c.nat_out.get(), c.dr_out.get(),
        c.tun_out.get(), c.icmp_nat.get(), c.handoff_out.get(), c.handoff_in.get(), w->conns.size(),
        c.conns_created.get(), c.conns_expired.get(), c.to_kernel.get(), c.from_kernel.get(),
        c.frags_tracked.get(), c.frags_followed.get(), c.frags_evicted.get());
    for (unsigned d = 0; d < kDropCount; ++d)
      if (c.drops[d])
        out += fmt::format("    drop {:<18} {:<10} {}\n", drop_name(static_cast<Drop>(d)),
                           c.drops[d].get(), drop_text(static_cast<Drop>(d)));
  }
  return out;
}

}  // namespace fastvs
