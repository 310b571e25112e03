// What a keepalived.conf load does to fastvs's configuration (keepalived's ipwrapper.c): the
// services and destinations keepalived installs at start, the commands that spell them, what
// fastvs cannot run, and the load itself, all or nothing.
#include <algorithm>

#include "common/grammar/words.h"
#include "control/config/apply.h"
#include "control/config/keepalived_loader.h"

namespace fastvs {

namespace {

// The changes from an empty service to keepalived's start state.
std::vector<DestChange> start_changes(const KaVirtualServer& vs) {
  ServiceHealth h = ka_service_health(vs, 0);
  return h.initial().changes;
}

std::vector<std::string> service_command(const KaVirtualServer& vs, const std::string& sched) {
  std::vector<std::string> w = {"-A"};
  for (std::string& word : service_words(vs.key)) w.push_back(std::move(word));
  w.insert(w.end(), {"-s", sched});
  if (vs.sched_flags != 0) {
    // ipvsadm's names for the bits: sh's or mh's own, the generic flag-N for the others.
    const bool named = sched == "sh" || sched == "mh";
    const std::string p = sched + "-";
    std::vector<std::string> flags;
    if (vs.sched_flags & kSchedShFallback) flags.push_back(named ? p + "fallback" : "flag-1");
    if (vs.sched_flags & kSchedShPort) flags.push_back(named ? p + "port" : "flag-2");
    if ((vs.sched_flags & kSchedFlag3) && !named) flags.push_back("flag-3");
    if (!flags.empty()) w.insert(w.end(), {"-b", join(flags, ",")});
  }
  if (vs.persistence_timeout > 0) {
    w.insert(w.end(), {"-p", std::to_string(vs.persistence_timeout)});
    if (vs.key.vip.is_v6() && vs.persistence_granularity6 != 128) {
      w.insert(w.end(), {"-M", std::to_string(vs.persistence_granularity6)});
    } else if (vs.key.vip.is_v4() && vs.persistence_granularity != 0xffffffffu) {
      w.insert(w.end(), {"-M", format_ip4(vs.persistence_granularity)});
    }
  }
  if (vs.ops) w.push_back("-o");
  return w;
}

}  // namespace

PoolSpec KaVirtualServer::pool() const {
  PoolSpec p;
  p.service = key;
  for (const KaRealServer& rs : real_servers) {
    p.real_servers.push_back(rs.server);
    if (rs.notify_up) p.real_servers.back().notify_up = rs.notify_up->spec;
    if (rs.notify_down) p.real_servers.back().notify_down = rs.notify_down->spec;
  }
  if (sorry_server) p.sorry_server = sorry_server->server;
  p.quorum = quorum;
  p.hysteresis = hysteresis;
  if (quorum_up) p.quorum_up = quorum_up->spec;
  if (quorum_down) p.quorum_down = quorum_down->spec;
  p.omega = omega;
  return p;
}

std::vector<std::vector<CheckSpec>> KaVirtualServer::checks() const {
  std::vector<std::vector<CheckSpec>> out;
  for (const KaRealServer& rs : real_servers) {
    out.emplace_back();
    for (const KaCheck& c : rs.checks) out.back().push_back(c.spec);
  }
  return out;
}

Result<KaConfig> parse_keepalived(std::string_view text, std::string_view name,
                                  std::vector<std::string>* warnings) {
  return ka::Loader(name).run(text, warnings);
}

ServiceHealth ka_service_health(const KaVirtualServer& vs, double now,
                                const std::function<double()>& jitter) {
  return ServiceHealth(vs.pool(), vs.checks(), now, jitter);
}

std::vector<ServiceConfig> ka_services(const KaConfig& cfg) {
  std::vector<ServiceConfig> out;
  for (const KaVirtualServer& vs : cfg.virtual_servers) {
    ServiceConfig s;
    s.key = vs.key;
    s.scheduler = vs.scheduler;
    s.sched_flags = vs.sched_flags;
    s.persistent = vs.persistence_timeout > 0;
    if (s.persistent) {
      s.timeout = vs.persistence_timeout;
      s.netmask = vs.persistence_granularity;
      s.netmask6 = vs.persistence_granularity6;
    }
    s.ops = vs.ops;
    // fastvsadm -a (the kernel's list_add_rcu) puts each new destination at the head.
    for (const DestChange& c : start_changes(vs)) s.dests.insert(s.dests.begin(), c.dest);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::vector<std::string>> ka_commands(const KaConfig& cfg) {
  std::vector<std::vector<std::string>> out;
  for (const KaVirtualServer& vs : cfg.virtual_servers) {
    out.push_back(service_command(vs, vs.scheduler));
    for (const DestChange& c : start_changes(vs)) out.push_back(dest_command(vs.key, c));
  }
  return out;
}

std::vector<std::string> ka_unsupported(const KaConfig& cfg, const SchedulerCheck& check) {
  std::vector<std::string> out;
  auto at = [&](unsigned line, const std::string& what) {
    out.push_back(cfg.where(line) + ": " + what);
  };
  for (const KaNotHandled& n : cfg.not_handled) at(n.line, n.what);
  for (const KaVirtualServer& vs : cfg.virtual_servers) {
    const std::string name = vs.key.is_fwmark()
                                 ? "virtual_server fwmark " + std::to_string(vs.key.fwmark)
                                 : "virtual_server " + addr_port(vs.key.vip, vs.key.vport);
    std::string sched = vs.scheduler;
    // A bad scheduler at lb_algo's line; the rest of -A is then checked with one fastvs knows.
    const unsigned sched_line = vs.sched_line ? vs.sched_line : vs.line;
    if (check) {
      if (const Status st = check(vs.scheduler); !st)
        at(sched_line, name + ": lb_algo " + quoted(vs.scheduler) + ": " + st.error());
      sched = "wlc";
    } else if (const Status st = check_scheduler(vs.scheduler); !st) {
      at(sched_line, name + ": " + st.error());
      sched = "wlc";
    }
    const Result<Command> p = parse_command(service_command(vs, sched));
    Config scratch;
    const Status st = p ? apply_command(scratch, *p, 0) : Status(Error{p.error()});
    if (!st) at(vs.line, name + ": " + st.error());
    // A real or sorry server of the other family than a non-tunnel virtual server is the
    // parser's refusal (keepalived's rule, at its line).
    for (const KaRealServer& rs : vs.real_servers) {
      const PoolServer& s = rs.server;
      // fastvsadm's -a checks the rest against the director's networks (apply_command).
      if (s.l_threshold > s.u_threshold) {
        at(rs.line, "real_server " + addr_port(s.ip, s.port) + ": lthreshold " +
                        std::to_string(s.l_threshold) + " is higher than uthreshold " +
                        std::to_string(s.u_threshold));
      }
    }
  }
  return out;
}

Result<Config> ka_apply(Config base, const KaConfig& ka, const std::vector<ServiceKey>& replace,
                        unsigned num_ports, std::vector<ServiceKey>* keys) {
  const std::vector<std::string> unsupported = ka_unsupported(ka);
  if (!unsupported.empty()) return Error{unsupported.front()};
  Config cfg = std::move(base);
  for (const ServiceKey& k : replace) {
    Command del;
    del.op = Op::DelService;
    del.has_service = true;
    del.service = k;
    (void)apply_command(cfg, del, num_ports);  // gone already (fastvsadm -D): nothing to do
  }
  keys->clear();
  for (const KaVirtualServer& vs : ka.virtual_servers) {
    auto at = [&](unsigned line, const std::string& err) {
      return Error{ka.where(line) + ": " + err};
    };
    Command add;
    add.op = Op::AddService;
    add.has_service = true;
    add.service = vs.key;
    add.has_scheduler = true;
    add.scheduler = vs.scheduler;
    add.has_sched_flags = vs.sched_flags != 0;
    add.sched_flags = vs.sched_flags;
    add.sched_flags_of = vs.scheduler;
    if (vs.persistence_timeout > 0) {
      add.has_persistent = true;
      add.timeout = vs.persistence_timeout;
      add.has_netmask =
          vs.persistence_granularity != 0xffffffffu || vs.persistence_granularity6 != 128;
      add.netmask = vs.persistence_granularity;
      add.netmask6 = vs.persistence_granularity6;
    }
    add.ops = vs.ops;
    if (Status st = apply_command(cfg, add, num_ports); !st) {
      std::string err = st.error();
      if (err.find("already exists") != std::string::npos)
        err += " (defined by the configuration file too)";
      return at(vs.line, err);
    }
    for (const KaRealServer& rs : vs.real_servers) {
      Command a;
      a.op = Op::AddDest;
      a.has_service = true;
      a.service = vs.key;
      a.has_dest = true;
      a.rip = rs.server.ip;
      a.rport = rs.server.port;
      a.has_method = true;
      a.method = rs.server.method;
      a.has_weight = true;
      a.weight = rs.server.weight;
      a.u_threshold = rs.server.u_threshold;
      a.l_threshold = rs.server.l_threshold;
      if (Status st = apply_command(cfg, a, num_ports); !st) return at(rs.line, st.error());
      ServiceConfig& svc = cfg.services.back();
      svc.dests.front().inhibit = rs.server.inhibit;
      for (const KaCheck& c : rs.checks) {
        CheckConfig cc;
        cc.service = vs.key;
        cc.rip = svc.dests.front().rip;
        cc.rport = svc.dests.front().rport;
        cc.spec = c.spec;
        // As --check add refuses it (apply.cpp): a check connects from its own family.
        const IpAddr& to = cc.spec.connect_ip.is_zero() ? cc.rip : cc.spec.connect_ip;
        if (!cc.spec.bindto.is_zero() && cc.spec.bindto.family() != to.family())
          return at(c.line, "bindto " + format_ip(cc.spec.bindto) + " is not of the family of " +
                                format_ip(to));
        cfg.checks.push_back(std::move(cc));
      }
    }
    PoolConfig pool;
    pool.service = vs.key;
    pool.quorum = vs.quorum;
    pool.hysteresis = vs.hysteresis;
    if (vs.quorum_up) pool.quorum_up = vs.quorum_up->spec;
    if (vs.quorum_down) pool.quorum_down = vs.quorum_down->spec;
    pool.omega = vs.omega;
    for (const KaRealServer& rs : vs.real_servers) {
      if (!rs.notify_up && !rs.notify_down) continue;
      PoolConfig::ServerScripts n;
      n.rip = rs.server.ip;
      n.rport = rs.server.port;
      if (rs.notify_up) n.up = rs.notify_up->spec;
      if (rs.notify_down) n.down = rs.notify_down->spec;
      pool.notify.push_back(std::move(n));
    }
    if (vs.sorry_server) {
      pool.has_sorry = true;
      pool.sorry_ip = vs.sorry_server->server.ip;
      pool.sorry_port = vs.sorry_server->server.port;
      pool.sorry_method = vs.sorry_server->server.method;
      pool.sorry_inhibit = vs.sorry_server->server.inhibit;
    }
    cfg.pools.push_back(pool);
    keys->push_back(vs.key);
  }
  return cfg;
}

}  // namespace fastvs
