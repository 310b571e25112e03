#include "control/config/host_addrs.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/core.h>

#include "common/grammar/command.h"
#include "common/net.h"
#include "common/text.h"
#include "control/config/apply.h"

namespace fastvs {

namespace {

std::string name(const AddrConfig& a) {
  return fmt::format("{}/{} on {}", format_ip(a.ip), a.prefix_len, port_name(a.port));
}

Command addr_command(Op op, const AddrConfig& a) {
  Command c;
  c.op = op;
  c.ip = a.ip;
  c.prefix_len = a.prefix_len;
  c.has_port = true;
  c.port = a.port;
  return c;
}

bool same(const AddrConfig& a, const AddrConfig& b) {
  return a.ip == b.ip && a.prefix_len == b.prefix_len && a.port == b.port;
}

}  // namespace

HostFollow follow_host_addrs(const Config& cfg, const std::vector<HostPortAddrs>& host,
                             IgnoredHostAddrs& ignored, unsigned num_ports) {
  HostFollow f;
  f.next = cfg;
  for (const HostPortAddrs& h : host) {
    const auto held = [&](const AddrConfig& a) {
      return std::any_of(h.addrs.begin(), h.addrs.end(), [&](const AddrConfig& x) {
        return x.ip == a.ip && x.prefix_len == a.prefix_len;
      });
    };
    // Removed on the host.
    for (const AddrConfig& a : cfg.addrs) {
      if (a.port != h.port || held(a)) continue;
      if (!a.from_host) {
        // fastvsadm's address stays fastvsadm's: put back on the interface.
        f.put_back = true;
        f.log.push_back(fmt::format(
            "{} was removed on the host, but fastvsadm configured it: put back (`fastvsadm ip "
            "addr del {}/{} dev {}` removes it)",
            name(a), format_ip(a.ip), a.prefix_len, port_name(a.port)));
        continue;
      }
      // The host's word goes, even when fastvsadm would refuse the removal (a real server or a
      // route's gateway only that address reaches): a backup director must stop answering.
      if (Status st = apply_command(f.next, addr_command(Op::AddrDel, a), num_ports); !st) {
        f.log.push_back(fmt::format("WARNING: {} removed on the host: {}; removed all the same",
                                    name(a), st.error()));
        std::erase_if(f.next.addrs, [&](const AddrConfig& x) { return same(x, a); });
      }
      f.changes.push_back(name(a) + " removed");
    }
    // Added on the host.
    for (const AddrConfig& x : h.addrs) {
      AddrConfig a = x;
      a.port = h.port;
      a.from_host = true;
      if (std::any_of(f.next.addrs.begin(), f.next.addrs.end(),
                      [&](const AddrConfig& c) { return same(c, a); }))
        continue;
      const auto key = std::make_tuple(a.ip, a.prefix_len, a.port);
      if (ignored.count(key)) continue;
      if (Status st = apply_command(f.next, addr_command(Op::AddrAdd, a), num_ports); !st) {
        ignored.insert(key);
        f.log.push_back(fmt::format(
            "WARNING: {} added on the host is no address of the data plane: {} (ignored while it "
            "stays)",
            name(a), st.error()));
        continue;
      }
      f.next.addrs.back().from_host = true;
      f.changes.push_back(name(a) + " added");
    }
    // A refused address the host no longer holds may be followed if it comes back.
    for (auto it = ignored.begin(); it != ignored.end();) {
      const auto& [ip, len, port] = *it;
      const bool still = port != h.port || held(AddrConfig{ip, len, port, false});
      it = still ? std::next(it) : ignored.erase(it);
    }
  }
  return f;
}

void carry_host_addrs(const Config& from, Config& into) {
  for (const AddrConfig& a : from.addrs) {
    if (!a.from_host) continue;
    if (std::none_of(into.addrs.begin(), into.addrs.end(),
                     [&](const AddrConfig& x) { return x.ip == a.ip; }))
      into.addrs.push_back(a);
  }
}

Status check_vrrp_addrs(const Config& cfg, const std::vector<KaVrrpAddr>& vrrp,
                        const std::string& file) {
  for (const AddrConfig& a : cfg.addrs) {
    if (a.from_host) continue;
    for (const KaVrrpAddr& v : vrrp) {
      if (v.ip != a.ip) continue;
      return Error{fmt::format(
          "address {} on {} is keepalived's ({} at {}): keepalived --vrrp puts it on the "
          "master and takes it off the backup; configured with fastvsadm too, it would stay on "
          "both (leave it to keepalived; where VRRP does not run, add it on the host: ip addr "
          "add {}/{} dev {})",
          format_ip(a.ip), port_name(a.port), v.owner,
          v.where.empty() ? file + ":" + std::to_string(v.line) : v.where, format_ip(a.ip),
          v.prefix_len, port_name(a.port))};
    }
  }
  return {};
}

std::vector<std::string> vip_reach_changes(const Config& before, const Config& after, size_t max,
                                           const std::vector<KaVrrpAddr>* vrrp) {
  const auto locals = [](const Config& c) {
    std::vector<IpAddr> v;
    for (const AddrConfig& a : c.addrs) v.push_back(a.ip);
    std::sort(v.begin(), v.end());
    return v;
  };
  const std::vector<IpAddr> was = locals(before), is = locals(after);
  const auto local = [](const std::vector<IpAddr>& v, const IpAddr& ip) {
    return std::binary_search(v.begin(), v.end(), ip);
  };
  // Only services whose VIP is not local, or whose VIP's locality changed, can have news: with
  // the addresses unchanged and every VIP local (a change to a large table), none is looked at
  // twice.
  std::vector<const ServiceConfig*> maybe;
  for (const ServiceConfig& s : after.services) {
    if (s.key.is_fwmark()) continue;  // no VIP: it takes what its marks bring to any address
    const bool now = local(is, s.key.vip);
    if (!now || now != local(was, s.key.vip)) maybe.push_back(&s);
  }
  if (maybe.empty()) return {};
  std::vector<ServiceKey> had;
  had.reserve(before.services.size());
  for (const ServiceConfig& s : before.services) had.push_back(s.key);
  std::sort(had.begin(), had.end());
  // By VIP, in the order services are listed: whether it becomes local, the first three
  // services' names and how many there are (a -R of 100,000 services on as many VIPs that are no
  // local address must stay linear).
  struct Group {
    IpAddr vip;
    bool now;
    std::vector<std::string> names;
    size_t count = 0;
  };
  std::vector<Group> vips;
  std::unordered_map<IpAddr, size_t> index;
  for (const ServiceConfig* sp : maybe) {
    const ServiceConfig& s = *sp;
    const IpAddr vip = s.key.vip;
    const bool known = std::binary_search(had.begin(), had.end(), s.key);
    const bool now = local(is, vip), then = known && local(was, vip);
    // News: an existing service's VIP became local, or a service is new and not local, or its
    // VIP stopped being local.
    const bool news = now ? known && !then : !known || then;
    if (!news) continue;
    const auto [it, added] = index.try_emplace(vip, vips.size());
    if (added) vips.push_back(Group{vip, now, {}, 0});
    Group& g = vips[it->second];
    if (g.names.size() < 3) g.names.push_back(service_name(s.key));
    ++g.count;
  }
  std::vector<std::string> out;
  for (const Group& g : vips) {
    if (out.size() == max) {
      out.push_back(fmt::format("... and {} more VIPs", vips.size() - max));
      break;
    }
    const std::string list = g.count <= 3
                                 ? join(g.names, ", ")
                                 : fmt::format("{} and {} more", join(g.names, ", "), g.count - 3);
    const KaVrrpAddr* ka = nullptr;
    if (vrrp)
      for (const KaVrrpAddr& v : *vrrp)
        if (v.ip == g.vip) ka = &v;
    if (g.now)
      out.push_back(
          fmt::format("VIP {} is a local address: {} take(s) traffic", format_ip(g.vip), list));
    else if (ka)
      out.push_back(
          fmt::format("VIP {} is not held here ({}'s, on the master): {} take(s) no "
                      "traffic here",
                      format_ip(g.vip), ka->owner, list));
    else
      out.push_back(
          fmt::format("WARNING: VIP {} is no local address: {} take(s) no traffic "
                      "until it is one (fastvsadm ip addr add, or keepalived's "
                      "virtual_ipaddress)",
                      format_ip(g.vip), list));
  }
  return out;
}

}  // namespace fastvs
