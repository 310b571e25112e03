// Applying a command to the configuration model: IPVS's rules (ip_vs_ctl.c's checks, in the
// order the kernel makes them) and the director's own (an address, a route, a reachable real
// server). Pure: an error names the problem in one line and leaves the configuration as it was.
#include "control/config/apply.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>

#include <fmt/core.h>

#include "common/grammar/words.h"
#include "common/text.h"
#include "control/health/script_user.h"

namespace fastvs {

namespace {

Status check_port(uint16_t port, unsigned num_ports) {
  if (port < num_ports) return {};
  std::string have;
  if (num_ports == 0) {
    have = "the director has no ports";
  } else if (num_ports == 1) {
    have = "the director has 1 port: dpdk0";
  } else {
    have = "the director has " + std::to_string(num_ports) + " ports: dpdk0.." +
           port_name(static_cast<uint16_t>(num_ports - 1));
  }
  return Error{"no port " + port_name(port) + " (" + have + ")"};
}

}  // namespace

ServiceConfig* find_service(Config& cfg, const ServiceKey& key) {
  for (ServiceConfig& s : cfg.services) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::vector<DestConfig>::iterator find_dest(ServiceConfig& svc, const IpAddr& rip, uint16_t rport) {
  return std::find_if(svc.dests.begin(), svc.dests.end(),
                      [&](const DestConfig& d) { return d.rip == rip && d.rport == rport; });
}

namespace {

bool is_local_address(const Config& cfg, const IpAddr& ip) {
  return std::any_of(cfg.addrs.begin(), cfg.addrs.end(),
                     [ip](const AddrConfig& a) { return a.ip == ip; });
}

// The port whose address has the longest prefix containing ip (only_port: that port only).
std::optional<uint16_t> connected_port(const Config& cfg, const IpAddr& ip,
                                       std::optional<uint16_t> only_port = std::nullopt) {
  std::optional<uint16_t> best;
  int best_len = -1;
  for (const AddrConfig& a : cfg.addrs) {
    if (only_port && a.port != *only_port) continue;
    if (in_subnet(ip, a.ip, a.prefix_len) && a.prefix_len > best_len) {
      best = a.port;
      best_len = a.prefix_len;
    }
  }
  return best;
}

// Direct routing rewrites only the MAC addresses: the real server must be on a network the
// director is attached to (the kernel's ip_vs_dr_xmit would route to a gateway's MAC, and the
// gateway would send the packet to the VIP, i.e. back to the director).
Status check_method_reach(const Config& cfg, ForwardMethod m, const IpAddr& rip) {
  if (m == ForwardMethod::Route && !connected_port(cfg, rip))
    return Error{
        "real server " + format_ip(rip) +
        " is not on a connected network: direct routing (-g) needs it on the director's LAN"};
  return {};
}

// Whether the director can reach real server rip by method m: on a connected network or a
// route, and on a connected network for direct routing.
Status check_reach(const Config& cfg, ForwardMethod m, const IpAddr& rip) {
  const bool routed = connected_port(cfg, rip) ||
                      std::any_of(cfg.routes.begin(), cfg.routes.end(), [&](const RouteConfig& r) {
                        return in_subnet(rip, r.prefix, r.prefix_len);
                      });
  if (!routed)
    return Error{"real server " + format_ip(rip) + " is not on a connected network or route"};
  return check_method_reach(cfg, m, rip);
}

// What -a would refuse in `after` (an address or route deleted) must not be left behind: -S
// then -R would not load it back. Names the first real server that `after` strands.
Status check_stranded(const Config& after, const std::string& what) {
  for (const ServiceConfig& s : after.services) {
    for (const DestConfig& d : s.dests) {
      if (!check_reach(after, d.method, d.rip)) {
        return Error{what + " is needed by real server " + addr_port(d.rip, d.rport) +
                     " of service " + service_name(s.key) + " (delete the real server first)"};
      }
    }
  }
  return {};
}

Status check_dest_numbers(int32_t weight, uint32_t u, uint32_t l) {
  if (weight < 0 || weight > 65535)
    return Error{"bad weight " + std::to_string(weight) + " (0..65535)"};
  if (u > INT_MAX) return Error{"bad upper threshold " + std::to_string(u)};
  if (l > INT_MAX) return Error{"bad lower threshold " + std::to_string(l)};
  // ip_vs_add_dest/ip_vs_edit_dest: -ERANGE, even when the upper threshold is 0 (no limit).
  if (l > u) {
    return Error{"lower threshold " + std::to_string(l) + " is higher than upper threshold " +
                 std::to_string(u)};
  }
  return {};
}

// -p/-M of -A and -E. ipvsadm sends a service's flags whole, so -E without -p makes the
// service non-persistent, and -p without -M means the whole address (255.255.255.255).
Status set_persistence(ServiceConfig& s, const Command& cmd) {
  if (cmd.has_netmask && !cmd.has_persistent)
    return Error{"-M (--netmask) needs -p (--persistent)"};
  // ip_vs_schedule: "port zero only supported in persistent services".
  if (s.key.vport == 0 && !s.key.is_fwmark() && !cmd.has_persistent) {
    return Error{"port 0 service " + service_name(s.key) + " needs persistence (-p)"};
  }
  s.persistent = cmd.has_persistent;
  s.timeout = cmd.has_persistent ? cmd.timeout : 300;
  s.netmask = cmd.has_netmask && s.key.vip.is_v4() ? cmd.netmask : 0xffffffffu;
  s.netmask6 = cmd.has_netmask && s.key.vip.is_v6() ? cmd.netmask6 : 128;
  // -o is one of the flags too: -E without it ends one-packet scheduling, as with ipvsadm.
  s.ops = cmd.ops;
  return {};
}

}  // namespace

// -a's new destination, checked against the configuration and `exists` (whether the service
// already has RIP:RPORT), without inserting it: apply_service inserts it at once, a restore
// batches a run of them (ConfigApplier).
Result<DestConfig> make_dest(const Config& cfg, const ServiceConfig& svc, const Command& cmd,
                             const std::function<bool(const IpAddr&, uint16_t)>& exists) {
  const auto name = [&] { return service_name(cmd.service); };
  // Only NAT can map ports: with -g (ipvsadm's default) and -i the packet reaches the real
  // server unchanged, so a new destination's port is the service's, as ipvsadm sets it.
  // A firewall-mark service's real server keeps the port it is given (0 when none: each
  // connection keeps its own), whatever the method, as ipvsadm leaves it ("Don't worry about
  // this if fwmark is used").
  const bool unmapped = cmd.method_or_default() != ForwardMethod::Masq && !svc.key.is_fwmark();
  const uint16_t rport = unmapped ? svc.key.vport : cmd.rport;
  // A port 0 service sends each connection to the port the client asked for
  // (ip_vs_sched_persist: dport stays the packet's when it is not the service's port).
  if (svc.key.vport == 0 && !svc.key.is_fwmark() && rport != 0) {
    return Error{"service " + name() + " has port 0: give the real server without a port (each " +
                 "connection keeps the port it was made to)"};
  }
  const ForwardMethod method = cmd.method_or_default();
  if (Status st =
          check_dest_numbers(cmd.has_weight ? cmd.weight : 1, cmd.u_threshold, cmd.l_threshold);
      !st)
    return Error{st.error()};
  if (exists(cmd.rip, rport)) {
    return Error{"destination " + addr_port(cmd.rip, rport) + " already exists in service " +
                 name()};
  }
  if (rport == 0 && svc.key.vport != 0) return Error{"real server port 0 is not valid"};
  if (!is_unicast_ip(cmd.rip)) {
    return Error{"real server " + format_ip(cmd.rip) + " is not a unicast address"};
  }
  if (is_local_address(cfg, cmd.rip)) {
    return Error{"real server " + format_ip(cmd.rip) + " is an address of this director"};
  }
  if (Status st = check_reach(cfg, method, cmd.rip); !st) return Error{st.error()};
  // ip_vs_genl_set_cmd: "The synchronization protocol is incompatible with mixed family
  // services" (its entries carry one family's addresses).
  if (cmd.rip.family() != svc.key.vip.family() && (cfg.sync_master || cfg.sync_backup)) {
    return Error{"real server " + format_ip(cmd.rip) + " is not of service " + name() +
                 "'s family: the sync protocol cannot carry its connections (stop the sync "
                 "daemon first)"};
  }
  DestConfig d;
  d.rip = cmd.rip;
  d.rport = rport;
  d.method = method;
  d.weight = cmd.has_weight ? cmd.weight : 1;
  d.last_weight = d.weight;
  d.u_threshold = cmd.u_threshold;
  d.l_threshold = cmd.l_threshold;
  return d;
}

// `svc` is cmd.service's entry in cfg, or null: the caller looked it up (linearly, or in a
// restore's index).
Status apply_service(Config& cfg, const Command& cmd, ServiceConfig* svc) {
  const auto name_of = [&] { return service_name(cmd.service); };
  switch (cmd.op) {
    case Op::AddService: {
      if (svc) return Error{"service " + name_of() + " already exists"};
      ServiceConfig s;
      s.key = cmd.service;
      s.scheduler = cmd.has_scheduler ? cmd.scheduler : kDefaultScheduler;
      s.sched_flags = cmd.has_sched_flags ? cmd.sched_flags : 0;
      Status st = check_scheduler(s.scheduler);
      if (st) st = check_sched_flags(s.scheduler, s.sched_flags, cmd.sched_flags_of);
      if (st) st = set_persistence(s, cmd);
      if (!st) return st;
      cfg.services.push_back(std::move(s));
      return {};
    }
    case Op::EditService: {
      if (!svc) return Error{"no such service " + name_of()};
      // What -s/-b give replaces; -s without -b clears the flags (they belong to the scheduler,
      // and ipvsadm resends them on every -E); neither given keeps both.
      const std::string sched = cmd.has_scheduler ? cmd.scheduler : svc->scheduler;
      const uint32_t flags = cmd.has_sched_flags ? cmd.sched_flags
                             : cmd.has_scheduler ? 0
                                                 : svc->sched_flags;
      // Kept flags are named by the service's own scheduler (the only one that accepts them).
      const std::string_view flags_of = cmd.has_sched_flags ? std::string_view(cmd.sched_flags_of)
                                                            : std::string_view(svc->scheduler);
      ServiceConfig s = *svc;
      Status st = check_scheduler(sched);
      if (st) st = check_sched_flags(sched, flags, flags_of);
      if (st) st = set_persistence(s, cmd);
      if (!st) return st;
      s.scheduler = sched;
      s.sched_flags = flags;
      *svc = std::move(s);
      return {};
    }
    case Op::DelService:
      if (!svc) return Error{"no such service " + name_of()};
      cfg.services.erase(cfg.services.begin() + (svc - cfg.services.data()));
      // Its checks and pool rules go with it.
      std::erase_if(cfg.checks, [&](const CheckConfig& c) { return c.service == cmd.service; });
      std::erase_if(cfg.pools, [&](const PoolConfig& p) { return p.service == cmd.service; });
      return {};
    default:
      break;
  }
  if (!svc) return Error{"no such service " + name_of()};
  if (!cmd.has_dest) return Error{"no real server given (-r)"};
  if (cmd.op == Op::AddDest) {
    Result<DestConfig> d = make_dest(cfg, *svc, cmd, [&](const IpAddr& ip, uint16_t port) {
      return find_dest(*svc, ip, port) != svc->dests.end();
    });
    if (!d) return Error{d.error()};
    // The kernel's list_add_rcu: a new destination goes to the head of the list.
    svc->dests.insert(svc->dests.begin(), *d);
    return {};
  }
  const uint16_t rport = cmd.rport;
  // A port 0 service sends each connection to the port the client asked for
  // (ip_vs_sched_persist: dport stays the packet's when it is not the service's port).
  if (svc->key.vport == 0 && !svc->key.is_fwmark() && rport != 0) {
    return Error{"service " + name_of() +
                 " has port 0: give the real server without a port (each " +
                 "connection keeps the port it was made to)"};
  }
  const auto dname = [&] { return addr_port(cmd.rip, rport); };
  auto dest = find_dest(*svc, cmd.rip, rport);
  const bool exists = dest != svc->dests.end();
  switch (cmd.op) {
    case Op::EditDest: {
      if (!exists) return Error{"no such destination " + dname() + " in service " + name_of()};
      DestConfig d = *dest;
      if (cmd.has_method) {
        if (Status st = check_method_reach(cfg, cmd.method, d.rip); !st) return st;
        d.method = cmd.method;
      }
      if (cmd.has_weight) d.weight = cmd.weight;
      // __ip_vs_update_dest: "keep the last_weight with latest non-0 weight".
      if (d.weight != 0) d.last_weight = d.weight;
      if (cmd.has_u_threshold) d.u_threshold = cmd.u_threshold;
      if (cmd.has_l_threshold) d.l_threshold = cmd.l_threshold;
      if (Status st = check_dest_numbers(d.weight, d.u_threshold, d.l_threshold); !st) return st;
      *dest = d;
      return {};
    }
    case Op::DelDest:
      if (!exists) return Error{"no such destination " + dname() + " in service " + name_of()};
      svc->dests.erase(dest);
      std::erase_if(cfg.checks, [&](const CheckConfig& c) {
        return c.service == cmd.service && c.rip == cmd.rip && c.rport == rport;
      });
      return {};
    default:
      break;
  }
  return Error{"internal error: not a service command"};
}

namespace {

Status apply_addr(Config& cfg, const Command& cmd, unsigned num_ports) {
  if (!cmd.has_port) return Error{"no device given (dev dpdkN)"};
  if (Status st = check_port(cmd.port, num_ports); !st) return st;
  if (cmd.prefix_len > cmd.ip.max_prefix())
    return Error{"bad prefix length " + std::to_string(cmd.prefix_len)};
  const std::string ip = format_ip(cmd.ip);
  const std::string name = ip + "/" + std::to_string(cmd.prefix_len);
  if (cmd.op == Op::AddrAdd) {
    if (!is_unicast_ip(cmd.ip)) return Error{"invalid interface address " + ip};
    for (const AddrConfig& a : cfg.addrs) {
      if (a.ip == cmd.ip) return Error{"address " + ip + " already exists on " + port_name(a.port)};
    }
    // What -a and ip route refuse in one order (a real server or gateway that is ours), the
    // other order must refuse too: -S then -R would not load it back.
    for (const ServiceConfig& s : cfg.services) {
      for (const DestConfig& d : s.dests) {
        if (d.rip == cmd.ip) {
          return Error{"address " + ip + " is real server " + addr_port(d.rip, d.rport) +
                       " of service " + service_name(s.key)};
        }
      }
    }
    for (const RouteConfig& r : cfg.routes) {
      if (r.via == cmd.ip) {
        return Error{"address " + ip + " is the gateway of route " +
                     prefix_name(r.prefix, r.prefix_len)};
      }
    }
    cfg.addrs.push_back({cmd.ip, cmd.prefix_len, cmd.port});
    return {};
  }
  const auto it = std::find_if(cfg.addrs.begin(), cfg.addrs.end(), [&](const AddrConfig& a) {
    return a.ip == cmd.ip && a.prefix_len == cmd.prefix_len && a.port == cmd.port;
  });
  if (it == cfg.addrs.end())
    return Error{"address " + name + " not found on " + port_name(cmd.port)};
  // Refuse to strand a static route's gateway (Linux would silently drop the route).
  Config after = cfg;
  after.addrs.erase(after.addrs.begin() + (it - cfg.addrs.begin()));
  for (const RouteConfig& r : cfg.routes) {
    if (!r.via.is_zero() && !r.via.is_link_local() && !connected_port(after, r.via, r.port)) {
      return Error{"address " + name + " is needed by route " +
                   prefix_name(r.prefix, r.prefix_len) + " via " + format_ip(r.via) +
                   " (delete the route first)"};
    }
  }
  if (Status st = check_stranded(after, "address " + name); !st) return st;
  cfg.addrs = std::move(after.addrs);
  return {};
}

Status apply_route(Config& cfg, const Command& cmd, unsigned num_ports) {
  if (cmd.prefix_len > cmd.ip.max_prefix())
    return Error{"bad prefix length " + std::to_string(cmd.prefix_len)};
  const std::string name = prefix_name(cmd.ip, cmd.prefix_len);
  if (cmd.ip.masked(cmd.prefix_len) != cmd.ip) {
    return Error{"invalid prefix " + name + ": host bits set"};
  }
  if (cmd.has_port) {
    if (Status st = check_port(cmd.port, num_ports); !st) return st;
  }
  if (cmd.op == Op::RouteDel) {
    const auto it = std::find_if(cfg.routes.begin(), cfg.routes.end(), [&](const RouteConfig& r) {
      return r.prefix == cmd.ip && r.prefix_len == cmd.prefix_len &&
             (cmd.via.is_zero() || r.via == cmd.via) && (!cmd.has_port || r.port == cmd.port);
    });
    if (it == cfg.routes.end()) return Error{"no such route " + name};
    Config after = cfg;
    after.routes.erase(after.routes.begin() + (it - cfg.routes.begin()));
    if (Status st = check_stranded(after, "route " + name); !st) return st;
    cfg.routes = std::move(after.routes);
    return {};
  }
  RouteConfig route{cmd.ip, cmd.prefix_len, cmd.via, cmd.port};
  if (!cmd.via.is_zero()) {
    const std::string gw = format_ip(cmd.via);
    if (cmd.via.family() != cmd.ip.family())
      return Error{"gateway " + gw + " is not of route " + name + "'s family"};
    if (is_local_address(cfg, cmd.via))
      return Error{"gateway " + gw + " is an address of this director"};
    if (!is_unicast_ip(cmd.via)) return Error{"invalid gateway " + gw};
    // An IPv6 router is usually named by its link-local address (fe80::/10, on every link),
    // which says nothing of its link: the port must (as `ip -6 route ... via fe80::1 dev X`).
    const bool link_local = cmd.via.is_link_local();
    if (link_local && !cmd.has_port)
      return Error{"gateway " + gw + " is link-local: name its port (dev dpdkN)"};
    const auto port =
        link_local
            ? std::optional<uint16_t>(cmd.port)
            : connected_port(cfg, cmd.via, cmd.has_port ? std::optional(cmd.port) : std::nullopt);
    if (!port) {
      if (cmd.has_port) {
        return Error{"gateway " + gw + " is not on a connected network of " + port_name(cmd.port)};
      }
      return Error{"gateway " + gw + " is not on a connected network"};
    }
    route.port = *port;
  } else if (!cmd.has_port) {
    return Error{"route " + name + " needs via GATEWAY or dev dpdkN"};
  }
  for (const RouteConfig& r : cfg.routes) {
    if (r.prefix == cmd.ip && r.prefix_len == cmd.prefix_len) {
      return Error{"route " + name + " already exists"};
    }
  }
  cfg.routes.push_back(route);
  return {};
}

Status apply_neigh(Config& cfg, const Command& cmd, unsigned num_ports) {
  if (!cmd.has_port) return Error{"no device given (dev dpdkN)"};
  if (Status st = check_port(cmd.port, num_ports); !st) return st;
  const std::string ip = format_ip(cmd.ip);
  const auto it = std::find_if(cfg.neighs.begin(), cfg.neighs.end(), [&](const NeighConfig& n) {
    return n.ip == cmd.ip && n.port == cmd.port;
  });
  if (cmd.op == Op::NeighDel) {
    if (it == cfg.neighs.end()) return Error{"no neighbour " + ip + " on " + port_name(cmd.port)};
    cfg.neighs.erase(it);
    return {};
  }
  if (!is_unicast_ip(cmd.ip)) return Error{"invalid neighbour address " + ip};
  if ((cmd.mac[0] & 1) || cmd.mac == MacAddr{}) {
    return Error{"lladdr " + format_mac(cmd.mac) + " is not a unicast MAC address"};
  }
  if (it != cfg.neighs.end()) {
    return Error{"neighbour " + ip + " already exists on " + port_name(cmd.port)};
  }
  cfg.neighs.push_back({cmd.ip, cmd.mac, cmd.port});
  return {};
}

Status apply_check(Config& cfg, const Command& cmd) {
  ServiceConfig* svc = find_service(cfg, cmd.service);
  const std::string name = service_name(cmd.service);
  if (!svc) return Error{"no such service " + name};
  auto same_dest = [&](const CheckConfig& c) {
    return c.service == cmd.service && c.rip == cmd.rip && c.rport == cmd.rport;
  };
  switch (cmd.op) {
    case Op::CheckAdd: {
      auto d = find_dest(*svc, cmd.rip, cmd.rport);
      if (d == svc->dests.end())
        return Error{"no such destination " + addr_port(cmd.rip, cmd.rport) + " in service " +
                     name};
      CheckConfig check = cmd.check;
      // connect_ip and connect_port default to the real server's, as keepalived's do
      // (keepalived_resolve.cpp): said, so that listings and the log name the address probed.
      if (check.spec.kind == CheckKind::File) {
        // The directory is watched (keepalived's init_track_files drops a track file whose
        // directory does not exist): refused now rather than never followed.
        const std::string& path = check.spec.file_path;
        const std::string dir = path.substr(0, path.rfind('/') + 1);
        if (access(dir.c_str(), X_OK) != 0)
          return Error{"file check: directory " + quoted(dir) + ": " + strerror(errno)};
      } else if (check.spec.kind != CheckKind::Misc) {
        if (check.spec.connect_ip.is_zero()) check.spec.connect_ip = cmd.rip;
        if (check.spec.connect_port == 0) check.spec.connect_port = cmd.rport;
        // A real server without a port (of a port 0 or firewall-mark service) has none to
        // connect to: the check must name one.
        const bool needs_port = check.spec.kind == CheckKind::Tcp ||
                                check.spec.kind == CheckKind::Http ||
                                check.spec.kind == CheckKind::Ssl;
        if (needs_port && check.spec.connect_port == 0)
          return Error{"real server " + format_ip(cmd.rip) + " of " + name +
                       " has no port to check: give port=N"};
        // A check cannot connect from an address of the other family: refused here, not found
        // out at its first run (keepalived skips such a bindto with a warning).
        if (!check.spec.bindto.is_zero() &&
            check.spec.bindto.family() != check.spec.connect_ip.family())
          return Error{"bindto " + format_ip(check.spec.bindto) + " is not of the family of " +
                       format_ip(check.spec.connect_ip)};
      }
      if (check.spec.kind == CheckKind::Misc) {
        // Who runs the program: user=, else keepalived's default script user if it exists,
        // else root (set_default_script_user).
        ScriptIds ids;  // root
        if (!check.spec.user.empty()) {
          const Result<ScriptIds> r = resolve_script_user(check.spec.user, check.spec.group);
          if (!r) return Error{"misc check user: " + r.error()};
          ids = *r;
        } else if (const Result<ScriptIds> r = resolve_script_user(kDefaultScriptUser, "")) {
          ids = *r;
        }
        check.spec.uid = ids.uid;
        check.spec.gid = ids.gid;
      }
      if (cmd.check_inhibit) d->inhibit = true;
      cfg.checks.push_back(std::move(check));
      return {};
    }
    case Op::CheckDel: {
      const size_t before = cfg.checks.size();
      if (cmd.has_dest) {
        std::erase_if(cfg.checks, same_dest);
        if (cfg.checks.size() == before)
          return Error{"no checks on " + addr_port(cmd.rip, cmd.rport) + " in service " + name};
        return {};
      }
      const size_t pools = cfg.pools.size();
      std::erase_if(cfg.checks, [&](const CheckConfig& c) { return c.service == cmd.service; });
      std::erase_if(cfg.pools, [&](const PoolConfig& p) { return p.service == cmd.service; });
      if (cfg.checks.size() == before && cfg.pools.size() == pools)
        return Error{"no checks in service " + name};
      return {};
    }
    case Op::CheckPool: {
      if (cmd.pool.has_sorry && !is_unicast_ip(cmd.pool.sorry_ip))
        return Error{"sorry server " + format_ip(cmd.pool.sorry_ip) + " is not a unicast address"};
      // A sorry server of the other family is IPVS's mixed-family tunnel (IPv4 in IPv6, IPv6
      // in IPv4: ip_vs_tunnel_xmit(_v6) by the destination's family, since Linux 3.18), as a
      // real server of the other family is (the grammar's -i rule, ipvsadm's): a tunnel only,
      // and not while a sync daemon runs (make_dest, ip_vs_genl_set_cmd).
      if (cmd.pool.has_sorry && cmd.pool.sorry_ip.family() != cmd.service.vip.family()) {
        if (cmd.pool.sorry_method != ForwardMethod::Tunnel)
          return Error{"sorry server " + format_ip(cmd.pool.sorry_ip) + " of service " +
                       service_name(cmd.service) +
                       ": a different address family is allowed only for tunneling servers "
                       "(tunnel)"};
        if (cfg.sync_master || cfg.sync_backup)
          return Error{"sorry server " + format_ip(cmd.pool.sorry_ip) + " is not of service " +
                       service_name(cmd.service) +
                       "'s family: the sync protocol cannot carry its connections (stop the "
                       "sync daemon first)"};
      }
      std::erase_if(cfg.pools, [&](const PoolConfig& p) { return p.service == cmd.service; });
      cfg.pools.push_back(cmd.pool);
      return {};
    }
    default:
      break;
  }
  return Error{"internal error: not a check command"};
}

// --start-daemon and --stop-daemon, as ip_vs_ctl.c and start_sync_thread() refuse them: the
// interface must exist (-ENODEV), a role runs once (-EEXIST), only a running role stops (-ESRCH).
Status apply_daemon(Config& cfg, const Command& cmd, unsigned num_ports) {
  const char* role = cmd.sync_is_master ? "master" : "backup";
  std::optional<SyncDaemonConfig>& running = cmd.sync_is_master ? cfg.sync_master : cfg.sync_backup;
  if (cmd.op == Op::StopDaemon) {
    if (!running) return Error{std::string("no ") + role + " sync daemon is running"};
    running.reset();
    return {};
  }
  const SyncDaemonConfig& c = cmd.sync;
  uint16_t port = 0;
  if (Status st = parse_device(c.ifname, port); !st) return st;
  if (Status st = check_port(port, num_ports); !st) return st;
  // What the grammar checks, again: a Command need not come from text.
  if (c.maxlen > kSyncMaxlenMax || c.port == 0 || c.ttl == 0 || (c.group >> 28) != 0xe)
    return Error{"bad sync daemon settings (maxlen 1.." + std::to_string(kSyncMaxlenMax) +
                 ", a multicast group, port and TTL not 0)"};
  if (running) {
    return Error{std::string("the ") + role + " sync daemon is already running (--stop-daemon " +
                 role + " first)"};
  }
  running = c;
  return {};
}

}  // namespace

// iptables -A/-I/-D/-F on the mangle table's PREROUTING chain of one family (iptables' and
// ip6tables' chains are apart, numbered apart), with iptables' messages.
Status apply_mark_rule(Config& cfg, const Command& cmd, unsigned num_ports) {
  const MarkRule& r = cmd.mark_rule;
  const std::string tool = r.v6 ? "ip6tables" : "iptables";
  // The positions in cfg.mark_rules of this family's rules, in chain order.
  std::vector<size_t> pos;
  for (size_t i = 0; i < cfg.mark_rules.size(); ++i)
    if (cfg.mark_rules[i].v6 == r.v6) pos.push_back(i);
  switch (cmd.op) {
    case Op::MarkAdd: {
      if (r.in_port && *r.in_port >= num_ports)
        return Error{fmt::format("{}: device dpdk{} does not exist ({} ports)", tool, *r.in_port,
                                 num_ports)};
      if (cfg.mark_rules.size() >= kMaxMarkRules)
        return Error{fmt::format("{}: {} rules already: the most fastvsd walks for a packet", tool,
                                 kMaxMarkRules)};
      if (cmd.rule_num == 0) {
        cfg.mark_rules.push_back(r);
        return {};
      }
      if (cmd.rule_num > pos.size() + 1) return Error{tool + ": Index of insertion too big."};
      const size_t at = cmd.rule_num <= pos.size() ? pos[cmd.rule_num - 1] : cfg.mark_rules.size();
      cfg.mark_rules.insert(cfg.mark_rules.begin() + static_cast<ptrdiff_t>(at), r);
      return {};
    }
    case Op::MarkDel: {
      if (cmd.rule_num != 0) {
        if (cmd.rule_num > pos.size()) return Error{tool + ": Index of deletion too big."};
        cfg.mark_rules.erase(cfg.mark_rules.begin() +
                             static_cast<ptrdiff_t>(pos[cmd.rule_num - 1]));
        return {};
      }
      for (const size_t i : pos) {
        if (cfg.mark_rules[i] == r) {
          cfg.mark_rules.erase(cfg.mark_rules.begin() + static_cast<ptrdiff_t>(i));
          return {};
        }
      }
      return Error{tool + ": Bad rule (does a matching rule exist in that chain?)."};
    }
    case Op::MarkFlush:
      std::erase_if(cfg.mark_rules, [&](const MarkRule& m) { return m.v6 == r.v6; });
      return {};
    default:
      return Error{"internal error: mark rule"};
  }
}

Status apply_command(Config& cfg, const Command& cmd, unsigned num_ports) {
  // Listings are no changes, and -R's changes are its input's lines.
  if (!changes_config(cmd.op) || cmd.op == Op::Restore)
    return Error{command_name(cmd.op) + " does not change the configuration"};
  if (is_service_op(cmd.op)) return apply_service(cfg, cmd, find_service(cfg, cmd.service));
  switch (cmd.op) {
    case Op::Clear:
      cfg.services.clear();
      cfg.checks.clear();
      cfg.pools.clear();
      return {};
    case Op::SetTimeouts:
      // ip_vs_set_timeout: a value of 0 leaves that timeout as it is.
      if (cmd.set_timeouts.tcp) cfg.timeouts.tcp = cmd.set_timeouts.tcp;
      if (cmd.set_timeouts.tcpfin) cfg.timeouts.tcpfin = cmd.set_timeouts.tcpfin;
      if (cmd.set_timeouts.udp) cfg.timeouts.udp = cmd.set_timeouts.udp;
      return {};
    case Op::StartDaemon:
    case Op::StopDaemon:
      return apply_daemon(cfg, cmd, num_ports);
    case Op::AddrAdd:
    case Op::AddrDel:
      return apply_addr(cfg, cmd, num_ports);
    case Op::RouteAdd:
    case Op::RouteDel:
      return apply_route(cfg, cmd, num_ports);
    case Op::NeighAdd:
    case Op::NeighDel:
      return apply_neigh(cfg, cmd, num_ports);
    case Op::CheckAdd:
    case Op::CheckDel:
    case Op::CheckPool:
      return apply_check(cfg, cmd);
    case Op::KeepalivedReload:
      return Error{"--keepalived-reload is not a configuration command"};
    case Op::MarkAdd:
    case Op::MarkDel:
    case Op::MarkFlush:
      return apply_mark_rule(cfg, cmd, num_ports);
    default:
      break;
  }
  return Error{"internal error: " + command_name(cmd.op) + " is not applied here"};
}

}  // namespace fastvs
