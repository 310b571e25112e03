// fastvsadm's requests on the control thread: listings answered at once, changes applied to a
// copy of the configuration and answered once every worker has adopted them; the health
// thread's verdicts applied the same way; -L -c's dump of the workers' tables.
#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <unordered_set>

#include <fmt/core.h>

#include "common/grammar/words.h"
#include "common/text.h"
#include "control/config/apply.h"
#include "control/config/keepalived.h"
#include "control/config/loader.h"
#include "control/director.h"
#include "control/health/script_user.h"
#include "control/report/ip_show.h"
#include "control/report/iptables_print.h"
#include "control/report/ipvsadm_print.h"

namespace fastvs {

namespace {

// How a keepalived.conf warning starts in the log (and in --keepalived-reload's answer).
constexpr std::string_view kKaWarningPrefix = "keepalived.conf: ";

std::string no_such_service(const ServiceKey& k) {
  return "no such service " + service_name(k);
}

}  // namespace

LoadOutcome load_keepalived_into(const std::string& path, Config base,
                                 const std::vector<ServiceKey>& replace, unsigned nports) {
  LoadOutcome out;
  Result<std::string> text = read_text_file(path);
  if (!text) {
    out.config = Error{text.error()};
    return out;
  }
  std::vector<std::string> warnings;
  const Result<KaConfig> ka = parse_keepalived(*text, path, &warnings);
  for (const std::string& w : warnings) out.log.push_back(std::string(kKaWarningPrefix) + w);
  if (!ka) {
    out.config = Error{ka.error()};
    return out;
  }
  out.config = ka_apply(std::move(base), *ka, replace, nports, &out.ka_keys);
  out.ka_vrrp_addrs = ka->vrrp_addrs;
  out.ka_sync = ka->sync_daemon;
  if (ka->sync_daemon)
    for (const KaVrrpAddr& a : ka_instance_addrs(*ka, ka->sync_daemon->instance))
      out.ka_sync_addrs.push_back(a.ip);
  if (out.config) {
    if (Status st = check_vrrp_addrs(*out.config, ka->vrrp_addrs, path); !st) {
      out.config = Error{st.error()};
      return out;
    }
    out.log.push_back(fmt::format("loaded {}: {} virtual servers", path, out.ka_keys.size()));
  }
  return out;
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
  // Read and parsed off the control thread (control/loads.h); applied when done.
  loads_.run(LoadRequest{client, "fastvsadm " + join(words), true, path, deadline_},
             [path, base = cfg_, keys = ka_keys_, nports = unsigned(ports_.size())] {
               return load_keepalived_into(path, base, keys, nports);
             });
  return false;
}

void Director::on_load_done() {
  auto [req, out] = loads_.take();
  for (const std::string& line : out.log) log_line(line);
  if (!out.config) {
    log_line(fmt::format("{}: refused, nothing changed: {}", req.what, out.config.error()));
    if (req.client) cli_.reply(req.client, CliReply{false, out.config.error()});
    return;
  }
  if (past_deadline(req.deadline_ms)) {
    log_line(req.what + ": not applied: past its deadline");
    cli_.reply(req.client, CliReply{false,
                                    "not applied: reading it took fastvsd past "
                                    "fastvsadm's deadline; nothing changed"});
    return;
  }
  deadline_ = req.deadline_ms;
  // SIGHUP built the table from the files alone: the host's addresses stay the host's.
  carry_host_addrs(cfg_, *out.config);
  // -R (or --config) must not give fastvsadm an address keepalived moves either.
  if (!req.keepalived) {
    if (Status st = check_vrrp_addrs(*out.config, ka_vrrp_addrs_, opt_.keepalived_conf); !st) {
      log_line(fmt::format("{}: refused, nothing changed: {}", req.what, st.error()));
      if (req.client) cli_.reply(req.client, CliReply{false, st.error()});
      return;
    }
  }
  if (req.keepalived) {
    ka_keys_ = std::move(out.ka_keys);
    ka_vrrp_addrs_ = std::move(out.ka_vrrp_addrs);
    ka_sync_ = std::move(out.ka_sync);
    ka_sync_addrs_ = std::move(out.ka_sync_addrs);
    opt_.keepalived_conf = req.keepalived_path;
  }
  if (!req.client && *out.config == cfg_) {
    log_line(req.what + ": the files say what is in force: nothing changed");
    return;
  }
  sync_static_neighbours(*out.config);
  // keepalived.conf's warnings (what is ignored, and why) reach the operator who asked too, not
  // only the log.
  std::string warnings;
  for (const std::string& line : out.log)
    if (line.rfind(kKaWarningPrefix, 0) == 0) warnings += line + "\n";
  apply_change(req.client, req.what, std::move(*out.config), std::move(warnings));
}

bool Director::handle(uint64_t client, const CliRequest& req, CliReply* reply, bool queued) {
  const Result<Command> p = parse_command(req.words);
  if (!p) {
    *reply = CliReply{false, p.error()};
    return true;
  }
  const Command& cmd = *p;
  if (changes_config(cmd.op) && (changes_.must_wait(queued) || loads_.running())) {
    // One change in flight at a time: the next waits for the workers to adopt this one.
    changes_.wait(client, req);
    return false;
  }
  // A change is made only while its client still waits for the answer (with a second left to
  // send it): one that fastvsadm gave up on is never applied behind its back.
  if (changes_config(cmd.op) && past_deadline(req.deadline_ms)) {
    log_line(fmt::format("fastvsadm {}: not applied: past its deadline", join(req.words)));
    *reply = CliReply{false,
                      "not applied: fastvsd reached it past fastvsadm's deadline (other "
                      "changes before it took that long); nothing changed"};
    return true;
  }
  deadline_ = req.deadline_ms;  // of the change being made, for its answer
  // The sync daemons speak through the host's dpdkN: without the kernel path there is none,
  // and a daemon that cannot run is refused rather than listed as running.
  if (cmd.op == Op::StartDaemon && !kernel_.enabled()) {
    *reply = CliReply{false, "the sync daemon needs the kernel path (its socket is on the host's " +
                                 cmd.sync.ifname + "), which --no-kernel-path turned off"};
    return true;
  }
  // keepalived.conf's lvs_sync_daemon owns both roles (it turns one into the other as its VRRP
  // instance changes state): a hand start or stop would be undone at the next transition.
  if ((cmd.op == Op::StartDaemon || cmd.op == Op::StopDaemon) && ka_sync_) {
    *reply = CliReply{
        false, fmt::format("the sync daemons are keepalived's here ({}:{}: lvs_sync_daemon, the "
                           "role following vrrp_instance {}): change keepalived.conf and "
                           "--keepalived-reload",
                           opt_.keepalived_conf, ka_sync_->line, ka_sync_->instance)};
    return true;
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
      if (cmd.list_daemon && !cmd.has_service) {
        // ipvsadm -L --daemon prints the sync daemons alone: those that run (started by
        // command, by the config file, or by keepalived's lvs_sync_daemon); a default maxlen
        // comes from the port's MTU, the one `ip link` prints.
        Config running;
        if (sync_master_.running()) running.sync_master = sync_master_.config();
        if (sync_backup_.running()) running.sync_backup = sync_backup_.config();
        *reply = CliReply{true, format_daemon(running, [this](std::string_view ifname) {
                            uint16_t p = 0;
                            return parse_device(ifname, p) && p < ports_.size() ? ports_[p].mtu
                                                                                : uint32_t{1500};
                          })};
        return true;
      }
      ListOptions o;
      o.numeric = cmd.numeric;
      o.stats = cmd.list_stats;
      o.rate = cmd.list_rate;
      o.exact = cmd.list_exact;
      o.thresholds = cmd.list_thresholds;
      o.persistent_conn = cmd.list_persistent_conn;
      o.tun_info = cmd.list_tun_info;
      o.nosort = cmd.list_nosort;
      const auto status = stats_.status(*effective_, changes_.current());
      if (cmd.has_service) {
        for (const auto& s : status)
          if (s.cfg.key == cmd.service) {
            *reply = CliReply{true, format_list_service(s, o)};
            return true;
          }
        *reply = CliReply{false, no_such_service(cmd.service)};
        return true;
      }
      // ipvsadm's table, byte for byte and nothing after it: scripts that parse ipvsadm read
      // it (a destination that is down is not in it, as keepalived leaves IPVS; the checks'
      // state is --check list's).
      *reply = CliReply{true, format_list(status, o, opt_.conn_capacity)};
      return true;
    }
    case Op::Save:
      *reply = CliReply{true, format_save(cfg_, cmd.numeric)};
      return true;
    case Op::CheckList:
      if (cfg_.checks.empty() && cfg_.pools.empty()) {
        *reply = CliReply{true, "no health checks\n"};
        return true;
      }
      // The checks of the last change, not the ones before it: answered once the runner has
      // them (on_health).
      if (!health_.status_current()) {
        check_list_waiting_.push_back(client);
        return false;
      }
      *reply = CliReply{true, health_.status()};
      return true;
    case Op::Zero:
      if (cmd.has_service &&
          std::none_of(cfg_.services.begin(), cfg_.services.end(),
                       [&](const ServiceConfig& s) { return s.key == cmd.service; })) {
        *reply = CliReply{false, no_such_service(cmd.service)};
        return true;
      }
      stats_.zero(*effective_, changes_.current(),
                  cmd.has_service ? std::optional(cmd.service) : std::nullopt);
      log_line(cmd.has_service ? "fastvsadm -Z: service counters zeroed"
                               : "fastvsadm -Z: all counters zeroed");
      *reply = CliReply{true, ""};
      return true;
    case Op::AddrShow:
      if (cmd.has_port && cmd.port >= ports_.size()) {
        // iproute2: 'Device "dpdk7" does not exist.'
        *reply = CliReply{
            false, fmt::format("device dpdk{} does not exist ({} ports)", cmd.port, ports_.size())};
        return true;
      }
      *reply =
          CliReply{true, show_addrs(ports_, cfg_,
                                    cmd.has_port ? std::optional<uint16_t>(cmd.port) : std::nullopt,
                                    cmd.ip_family)};
      return true;
    case Op::MarkCheck: {
      // iptables -C: the rule is there (as -D would find it), or iptables' answer and exit 1.
      const bool there = std::find(cfg_.mark_rules.begin(), cfg_.mark_rules.end(), cmd.mark_rule) !=
                         cfg_.mark_rules.end();
      *reply = there ? CliReply{true, ""}
                     : CliReply{false, std::string(cmd.mark_rule.v6 ? "ip6tables" : "iptables") +
                                           ": Bad rule (does a matching rule exist in that "
                                           "chain?)."};
      return true;
    }
    case Op::MarkSave:
      *reply = CliReply{true, format_mark_save(cfg_, cmd.mark_rule.v6, cmd.mark_chain)};
      return true;
    case Op::MarkList:
      *reply = CliReply{true, format_mark_list(cfg_, cmd.mark_rule.v6, cmd.mark_chain, cmd.numeric,
                                               cmd.list_line_numbers)};
      return true;
    case Op::RouteShow:
      *reply = CliReply{true, show_routes(ports_, cfg_, cmd.ip_family)};
      return true;
    case Op::NeighShow:
      *reply = CliReply{true, show_neighs(ports_, neigh_, neigh6_, cmd.ip_family)};
      return true;
    case Op::LinkShow:
      *reply = CliReply{true, show_links(ports_, workers_, cmd.stats)};
      return true;
    case Op::Restore:
      // All or nothing (ipvsadm -R stops at the first bad line, leaving half a table); parsed
      // off the control thread (up to 32 MiB), applied when done.
      log_line(fmt::format("fastvsadm -R: loading {} bytes (changes wait)", req.input.size()));
      loads_.run(LoadRequest{client, "fastvsadm " + join(req.words), false, "", req.deadline_ms},
                 [base = cfg_, input = req.input, nports = unsigned(ports_.size())] {
                   LoadOutcome out;
                   out.config = apply_config_text(base, input, "-R input", nports);
                   return out;
                 });
      return false;
    default: {
      Config next = cfg_;
      Status st = refuse_host_addr_del(cmd);
      if (st) st = apply_command(next, cmd, static_cast<unsigned>(ports_.size()));
      if (st && cmd.op == Op::AddrAdd)
        st = check_vrrp_addrs(next, ka_vrrp_addrs_, opt_.keepalived_conf);
      if (st && cmd.op == Op::AddrAdd && cmd.ip.is_v6()) st = check_ipv6_address_free(cmd);
      if (st && cmd.op == Op::AddService && cmd.service.vip.is_v6()) st = enable_ipv6_conns();
      if (!st) {
        log_line(fmt::format("fastvsadm {}: refused: {}", join(req.words), st.error()));
        *reply = CliReply{false, st.error()};
        return true;
      }
      if (cmd.op == Op::CheckAdd && cmd.check.spec.kind == CheckKind::Misc &&
          cmd.check.spec.user.empty() && next.checks.back().spec.uid == 0)
        log_line(
            fmt::format("fastvsadm {}: WARNING: no user= and no user {} on this host: the "
                        "program runs as root (keepalived does the same, and warns)",
                        join(req.words), kDefaultScriptUser));
      if (cmd.op == Op::NeighAdd) set_static_neigh(cmd.ip, cmd.port, cmd.mac);
      if (cmd.op == Op::NeighDel) clear_static_neigh(cmd.ip);
      return apply_change(client, "fastvsadm " + join(req.words), std::move(next));
    }
  }
}

Status Director::refuse_host_addr_del(const Command& cmd) const {
  if (cmd.op != Op::AddrDel) return {};
  for (const AddrConfig& a : cfg_.addrs) {
    if (a.from_host && a.ip == cmd.ip && a.prefix_len == cmd.prefix_len && a.port == cmd.port) {
      // keepalived would put its VIP back (after a flap that loses requests): the host's
      // addresses are removed where they were added.
      return Error{fmt::format(
          "address {}/{} on {} was added on the host (keepalived's VIP, or ip addr): remove it "
          "there (keepalived.conf, or ip addr del {}/{} dev {})",
          format_ip(a.ip), a.prefix_len, port_name(a.port), format_ip(a.ip), a.prefix_len,
          port_name(a.port))};
    }
  }
  return {};
}

bool Director::apply_change(uint64_t client, const std::string& what, Config next,
                            std::string text) {
  for (const std::string& line : vip_reach_changes(cfg_, next, 10, &ka_vrrp_addrs_)) log_line(line);
  cfg_ = std::move(next);
  kernel_.sync(cfg_);  // the host's addresses and routes, when they changed
  refresh_health();
  log_line(what + ": applied");
  publish(client, std::move(text));
  return false;  // answered when every worker has it
}

void Director::follow_host_addrs() {
  host_addrs_dirty_ = false;
  std::vector<HostPortAddrs> host;
  for (KernelPath::PortAddrs& p : kernel_.host_addrs()) {
    HostPortAddrs h{p.port, {}};
    // An IPv6 link-local address the host has is its own on that link (the kernel gives every
    // interface one): its neighbour discovery and traffic go to the host, never the data plane.
    // One fastvsadm configured is compared as any other.
    for (const HostAddr& a : p.addrs) {
      const bool ours = std::any_of(cfg_.addrs.begin(), cfg_.addrs.end(), [&](const auto& c) {
        return c.ip == a.ip && c.port == p.port;
      });
      if (!a.ip.is_link_local() || ours) h.addrs.push_back({a.ip, a.prefix_len, p.port, false});
    }
    host.push_back(std::move(h));
  }
  HostFollow f = fastvs::follow_host_addrs(cfg_, host, ignored_host_addrs_,
                                           static_cast<unsigned>(ports_.size()));
  for (const std::string& line : f.log) log_line("kernel path: " + line);
  if (f.put_back) kernel_.sync(cfg_, true);
  if (f.changes.empty()) return;
  apply_change(0, "host: " + join(f.changes, "; "), std::move(f.next));
}

// fastvsd does no duplicate address detection of its own (RFC 4862 5.4) before it answers for a
// new IPv6 address; but an address a neighbour was learned with (it answered or solicited from
// it) is another node's: refused, rather than taken from it.
Status Director::check_ipv6_address_free(const Command& cmd) const {
  uint16_t port;
  MacAddr mac;
  if (!neigh6_.lookup(ip6_key(cmd.ip), &port, &mac)) return {};
  bool learned = true;
  for (const auto& n : cfg_.neighs)
    if (n.ip == cmd.ip) learned = false;  // a static neighbour of the operator's: theirs to say
  if (!learned) return {};
  return Error{fmt::format("address {} is in use on {} by {} (a neighbour): not taken",
                           format_ip(cmd.ip), port_name(port), format_mac(mac))};
}

// Static neighbours live in the neighbour table of their family too.
void Director::set_static_neigh(const IpAddr& ip, uint16_t port, const MacAddr& mac) {
  if (ip.is_v4())
    neigh_.set(rte_cpu_to_be_32(ip.v4()), port, mac, NeighState::Permanent);
  else
    neigh6_.set(ip6_key(ip), port, mac, NeighState::Permanent);
}

void Director::clear_static_neigh(const IpAddr& ip) {
  if (ip.is_v4())
    neigh_.clear(rte_cpu_to_be_32(ip.v4()));
  else
    neigh6_.clear(ip6_key(ip));
}

void Director::sync_static_neighbours(const Config& next) {
  std::unordered_set<IpAddr> kept;
  for (const auto& m : next.neighs) kept.insert(m.ip);
  for (const auto& n : cfg_.neighs)
    if (!kept.count(n.ip)) clear_static_neigh(n.ip);
  for (const auto& n : next.neighs) set_static_neigh(n.ip, n.port, n.mac);
}

void Director::reload_files() {
  if (opt_.config_path.empty() && opt_.keepalived_conf.empty()) {
    log_line("SIGHUP: no --config or --keepalived-conf to read again: nothing changed");
    return;
  }
  // As at start: the config file, then keepalived.conf's virtual servers on top (nothing of an
  // earlier load to replace: the table starts from the file). Off the control thread.
  loads_.run(
      LoadRequest{0, "SIGHUP", !opt_.keepalived_conf.empty(), opt_.keepalived_conf},
      [config = opt_.config_path, ka = opt_.keepalived_conf, nports = unsigned(ports_.size())] {
        LoadOutcome out;
        Config next;
        if (!config.empty()) {
          Result<Config> r = load_config_file(config, nports);
          if (!r) {
            out.config = Error{r.error()};
            return out;
          }
          next = std::move(*r);
          out.log.push_back(fmt::format("loaded {}: {} services, {} addresses, {} routes", config,
                                        next.services.size(), next.addrs.size(),
                                        next.routes.size()));
        }
        if (ka.empty()) {
          out.config = std::move(next);
          return out;
        }
        return load_keepalived_into(ka, std::move(next), {}, nports);
      });
}

void Director::refresh_health() {
  if (std::optional<std::vector<HealthDef>> defs = overlay_.configure(cfg_)) {
    // Checked services changed: theirs start over, and until the thread's first word (at once:
    // initial()) they hold their configured destinations. The others keep their verdicts.
    log_line(fmt::format("health checks: {} checked service(s)", defs->size()));
    health_.configure(std::move(*defs));
  }
  effective_ = std::make_shared<const Config>(effective_config());
}

// keepalived's lvs_sync_daemon (vrrp_daemon.c): the sync daemon's role follows its VRRP
// instance, master while the instance is MASTER, backup otherwise. The instance is MASTER here
// when its addresses are on the host's ports (keepalived puts them there on becoming master and
// takes them away on leaving it): fastvsd follows them (host_addrs.h), so it follows the state.
Config Director::effective_config() const {
  Config c = overlay_.effective(cfg_);
  if (ka_sync_) {
    // keepalived's daemon replaces any the config file started (update_sync says so).
    c.sync_master.reset();
    c.sync_backup.reset();
    const auto here = [&](const IpAddr& ip) {
      return std::any_of(c.addrs.begin(), c.addrs.end(),
                         [&](const AddrConfig& a) { return a.ip == ip; });
    };
    const bool master =
        !ka_sync_addrs_.empty() && std::all_of(ka_sync_addrs_.begin(), ka_sync_addrs_.end(), here);
    (master ? c.sync_master : c.sync_backup) = ka_sync_->cfg;
  }
  return c;
}

void Director::on_health() {
  for (HealthRunner::Update& u : health_.take()) {
    for (const std::string& line : u.log) log_line("health: " + line);
    // An answer about a service that is no longer checked (a reload raced it) is dropped.
    if (u.verdict) health_dirty_ |= overlay_.verdict(cfg_, u.service, std::move(u.dests));
  }
  if (!check_list_waiting_.empty() && health_.status_current()) {
    const CliReply r{true, health_.status()};
    for (const uint64_t client : check_list_waiting_) cli_.reply(client, r);
    check_list_waiting_.clear();
  }
  // One change in flight at a time: a verdict waits for the change being adopted.
  if (health_dirty_ && !changes_.in_flight()) {
    health_dirty_ = false;
    effective_ = std::make_shared<const Config>(effective_config());
    publish(0);
  }
}

void Director::publish(uint64_t client, std::string text) {
  changes_.publish(make_snapshot(), client, client ? deadline_ : 0, std::move(text));
  published_ = effective_;
  reporter_.set_input(report_input());
}

bool Director::past_deadline(uint64_t deadline_ms) {
  return deadline_ms != 0 && cli_now_ms() + 1000 > deadline_ms;
}

void Director::poll_changes() {
  // Replaced snapshots are freed only while the reporter reads none (it never makes us wait).
  const auto hold = reporter_.try_hold();
  changes_.poll(hold.owns_lock());
  if (reload_wanted_ && !changes_.in_flight() && !loads_.running()) {
    reload_wanted_ = false;
    reload_files();
  }
  if (health_dirty_ && !changes_.in_flight()) on_health();
  if (host_addrs_dirty_ && !changes_.in_flight() && !loads_.running()) follow_host_addrs();
  // The next waiting change, now that none is in flight.
  while (!loads_.running()) {
    auto next = changes_.next_waiting();
    if (!next) break;
    CliReply r;
    if (handle(next->first, next->second, &r, true)) cli_.reply(next->first, r);
  }
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
      e.cip = r.cip;
      e.cport = rte_be_to_cpu_16(r.cport);
      e.vip = r.vip;
      e.vport = rte_be_to_cpu_16(r.vport);
      e.rip = r.rip;
      e.rport = rte_be_to_cpu_16(r.rport);
      rows.push_back(std::move(e));
    }
    w->dump.rows.clear();
    w->dump.rows.shrink_to_fit();
    w->dump.state.store(ConnDump::kIdle, std::memory_order_relaxed);
  }
  // Persistence templates: <proto, CIP & mask, 0, VIP, vport, RIP, rport>, state NONE.
  const Snapshot& snap = changes_.current();
  const uint32_t now = now_tick();
  persist_.for_each([&](uint64_t key, const Destination* d, uint32_t expires) {
    const SnapService* svc = snap.find_by_id(static_cast<uint32_t>(key >> 32) - 1);
    // An IPv6 template is keyed by its masked address's fold, which is no address to list.
    if (!svc || svc->v6) return;
    ConnListEntry e;
    e.proto = svc->proto == kIpProtoTcp ? Proto::Tcp : Proto::Udp;
    e.state = e.proto == Proto::Tcp ? "NONE" : "UDP";
    const int32_t left = static_cast<int32_t>(expires - now);
    e.expires = left > 0 ? static_cast<uint32_t>(left) / kTicksPerSecond : 0;
    e.cip = IpAddr::v4(rte_be_to_cpu_32(static_cast<uint32_t>(key)));
    e.vip = IpAddr::v4(rte_be_to_cpu_32(svc->vip));
    e.vport = rte_be_to_cpu_16(svc->vport);
    // ip_vs_sched_persist's template of a firewall-mark service: IPPROTO_IP, the mark as its
    // virtual address, port 0 (as /proc/net/ip_vs_conn shows it).
    if (svc->fwmark) {
      e.ip_proto = true;
      e.state = "NONE";
      e.vip = IpAddr::v4(svc->fwmark);
    }
    e.rip = IpAddr::v4(d->rip);
    e.rport = d->rport;
    rows.push_back(std::move(e));
  });
  if (truncated) log_line("fastvsadm -L -c: connections arrived faster than the copy; listing cut");
  for (const auto& [client, cmd] : dump_waiters_)
    cli_.reply(client, CliReply{true, format_conns(rows, cmd.numeric, cmd.list_persistent_conn)});
  dump_waiters_.clear();
  dumping_ = false;
}

}  // namespace fastvs
