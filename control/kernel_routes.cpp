#include "control/kernel_routes.h"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include <algorithm>

#include <fmt/core.h>

#include "common/net.h"
#include "common/text.h"

namespace fastvs {

Status check_kernel_table(uint32_t table) {
  if (table == 0 || table > kKernelTableMax || (table >= 253 && table <= 255)) {
    return Error{fmt::format(
        "--kernel-table {}: give a table from 1 to {} other than 253, 254 and 255 (the "
        "kernel's default, main and local); its number is also the priority of fastvsd's "
        "rules, which must come before the main table's (32766)",
        table, kKernelTableMax)};
  }
  return {};
}

KernelWant kernel_want(const Config& cfg, const std::vector<KernelIf>& ifs, uint32_t table) {
  auto find_if = [&](uint16_t port) -> const KernelIf* {
    for (const KernelIf& k : ifs)
      if (k.port == port) return &k;
    return nullptr;
  };
  // IPv6's rules and routes only where the configuration has IPv6 (a host without IPv6, or one
  // that does not use it, is left as it is).
  bool v6 = false;
  for (const AddrConfig& a : cfg.addrs) v6 |= a.ip.is_v6() && find_if(a.port);
  for (const RouteConfig& r : cfg.routes) v6 |= r.prefix.is_v6() && find_if(r.port);
  KernelWant w;
  for (IpAddr::Family f : {IpAddr::Family::V4, IpAddr::Family::V6}) {
    if (f == IpAddr::Family::V6 && !v6) break;
    for (const KernelIf& k : ifs) {
      HostRule r;
      r.family = f;
      r.priority = table;
      r.table = table;
      r.proto = kKernelProto;
      r.src = IpAddr::any(f);
      r.iif = k.name;
      w.rules.push_back(r);
    }
  }
  for (const AddrConfig& a : cfg.addrs) {
    const KernelIf* k = find_if(a.port);
    if (!k) continue;
    (a.from_host ? w.host_addrs : w.addrs).push_back({a.ip, a.prefix_len, k->ifindex});
    HostRule rule;
    rule.family = a.ip.family();
    rule.priority = table;
    rule.table = table;
    rule.proto = kKernelProto;
    rule.src = a.ip;
    rule.src_len = static_cast<uint8_t>(a.ip.max_prefix());
    w.rules.push_back(rule);
    // One connected route a network: a second address in it would be a duplicate the kernel
    // refuses.
    HostRoute r;
    r.dst = a.ip.masked(a.prefix_len);
    r.dst_len = a.prefix_len;
    r.gateway = IpAddr::any(a.ip.family());
    r.oif = k->ifindex;
    r.dev = k->name;
    r.prefsrc = a.ip;
    r.table = table;
    r.proto = kKernelProto;
    r.metric = a.ip.is_v6() ? kIp6RouteMetric : 0;
    const bool dup = std::any_of(w.routes.begin(), w.routes.end(), [&](const HostRoute& x) {
      return x.dst == r.dst && x.dst_len == r.dst_len;
    });
    if (!dup) w.routes.push_back(r);
  }
  for (const RouteConfig& c : cfg.routes) {
    const KernelIf* k = find_if(c.port);
    if (!k) continue;
    HostRoute r;
    r.dst = c.prefix;
    r.dst_len = c.prefix_len;
    r.gateway = c.via;
    r.prefsrc = IpAddr::any(c.prefix.family());
    r.oif = k->ifindex;
    r.dev = k->name;
    r.table = table;
    r.proto = kKernelProto;
    r.metric = c.prefix.is_v6() ? kIp6RouteMetric : 0;
    w.routes.push_back(r);
  }
  return w;
}

bool is_own(const HostRoute& r, uint32_t table) {
  return r.proto == kKernelProto && r.table == table;
}

bool is_own(const HostRule& r, uint32_t table) {
  return r.proto == kKernelProto && r.priority == table && r.table == table &&
         r.action == FR_ACT_TO_TBL;
}

namespace {

bool same(const HostRoute& a, const HostRoute& b) {
  return a.dst == b.dst && a.dst_len == b.dst_len && a.gateway == b.gateway && a.oif == b.oif &&
         a.prefsrc == b.prefsrc && a.table == b.table && a.type == b.type && a.metric == b.metric;
}

bool same(const HostRule& a, const HostRule& b) {
  return a.family == b.family && a.priority == b.priority && a.table == b.table && a.iif == b.iif &&
         a.src == b.src && a.src_len == b.src_len && a.other_selectors == b.other_selectors;
}

template <typename T, typename Own>
HostChanges<T> diff(const std::vector<T>& have, const std::vector<T>& want, Own own) {
  HostChanges<T> c;
  for (const T& h : have) {
    if (own(h) && std::none_of(want.begin(), want.end(), [&](const T& w) { return same(h, w); }))
      c.del.push_back(h);
  }
  for (const T& w : want) {
    if (std::none_of(have.begin(), have.end(), [&](const T& h) { return own(h) && same(h, w); }))
      c.add.push_back(w);
  }
  return c;
}

}  // namespace

HostChanges<HostAddr> addr_changes(const std::vector<HostAddr>& have,
                                   const std::vector<HostAddr>& own,
                                   const std::vector<HostAddr>& host,
                                   const std::vector<HostAddr>& before) {
  const auto in = [](const std::vector<HostAddr>& v, const HostAddr& a) {
    return std::find(v.begin(), v.end(), a) != v.end();
  };
  HostChanges<HostAddr> c;
  for (const HostAddr& h : have)
    if (in(before, h) && !in(own, h) && !in(host, h)) c.del.push_back(h);
  for (const HostAddr& o : own)
    if (!in(have, o)) c.add.push_back(o);
  return c;
}

HostChanges<HostRoute> route_changes(const std::vector<HostRoute>& have,
                                     const std::vector<HostRoute>& want, uint32_t table) {
  return diff(have, want, [&](const HostRoute& r) { return is_own(r, table); });
}

HostChanges<HostRule> rule_changes(const std::vector<HostRule>& have,
                                   const std::vector<HostRule>& want, uint32_t table) {
  return diff(have, want, [&](const HostRule& r) { return is_own(r, table); });
}

TableUse table_use(const std::vector<HostRule>& rules, const std::vector<HostRoute>& routes,
                   uint32_t table) {
  TableUse u;
  for (const HostRule& r : rules) {
    if (r.table != table) continue;
    if (!is_own(r, table)) {
      u.foreign.push_back("rule `" + describe(r) + "`");
    } else if (!r.iif.empty() && !r.iif_detached) {
      // Its interface exists: the fastvsd that made it is running (a TAP goes with its process).
      u.running.push_back("rule `" + describe(r) + "`");
    } else {
      u.stale.push_back(r);
    }
  }
  for (const HostRoute& r : routes) {
    if (r.table != table) continue;
    // fastvsd's routes all name one of its interfaces: they go with them, so they are a running
    // fastvsd's.
    (is_own(r, table) ? u.running : u.foreign).push_back("route `" + describe(r) + "`");
  }
  return u;
}

std::string table_refusal(const TableUse& use, uint32_t table) {
  auto some = [](const std::vector<std::string>& v) {
    constexpr size_t kShown = 4;
    std::vector<std::string> shown(v.begin(),
                                   v.begin() + static_cast<long>(std::min(v.size(), kShown)));
    std::string s = join(shown, ", ");
    if (v.size() > kShown) s += fmt::format(" and {} more", v.size() - kShown);
    return s;
  };
  if (!use.foreign.empty()) {
    std::vector<std::string> all = use.foreign;
    all.insert(all.end(), use.running.begin(), use.running.end());
    return fmt::format(
        "kernel path: routing table {} is in use by rules or routes fastvsd did not create "
        "({}); fastvsd changes nothing of them: give it a table of its own with --kernel-table "
        "N (or run with --no-kernel-path)",
        table, some(all));
  }
  if (!use.running.empty()) {
    return fmt::format(
        "kernel path: routing table {} is in use by another running fastvsd ({}): give each "
        "fastvsd its own --kernel-table N",
        table, some(use.running));
  }
  return "";
}

namespace {

std::string proto_name(uint8_t p) {
  switch (p) {
    case RTPROT_KERNEL:
      return "kernel";
    case RTPROT_BOOT:
      return "boot";
    case RTPROT_STATIC:
      return "static";
    default:
      return std::to_string(p);
  }
}

std::string type_name(uint8_t t) {
  switch (t) {
    case RTN_UNICAST:
      return "";
    case RTN_LOCAL:
      return "local ";
    case RTN_BROADCAST:
      return "broadcast ";
    case RTN_BLACKHOLE:
      return "blackhole ";
    case RTN_UNREACHABLE:
      return "unreachable ";
    case RTN_PROHIBIT:
      return "prohibit ";
    case RTN_THROW:
      return "throw ";
    default:
      return fmt::format("type-{} ", t);
  }
}

}  // namespace

std::string ip_command(IpAddr::Family f) {
  return f == IpAddr::Family::V4 ? "ip " : "ip -6 ";
}

std::string describe(const HostRoute& r) {
  std::string s = type_name(r.type);
  s += r.dst_len == 0 ? "default" : fmt::format("{}/{}", format_ip(r.dst), r.dst_len);
  if (!r.gateway.is_zero()) s += " via " + format_ip(r.gateway);
  if (!r.dev.empty())
    s += " dev " + r.dev;
  else if (r.oif)
    s += fmt::format(" oif {}", r.oif);
  s += fmt::format(" table {} proto {}", r.table, proto_name(r.proto));
  if (!r.prefsrc.is_zero()) s += " src " + format_ip(r.prefsrc);
  if (r.metric) s += fmt::format(" metric {}", r.metric);
  return s;
}

std::string describe(const HostRule& r) {
  std::string s = fmt::format("priority {}", r.priority);
  if (r.src_len) s += fmt::format(" from {}/{}", format_ip(r.src), r.src_len);
  if (!r.iif.empty()) s += " iif " + r.iif;
  if (r.other_selectors) s += " ...";
  s += fmt::format(" lookup {}", r.table);
  if (r.proto) s += " protocol " + proto_name(r.proto);
  return s;
}

std::string describe(const HostAddr& a, const std::string& dev) {
  return fmt::format("{}/{} dev {}{}", format_ip(a.ip), a.prefix_len, dev,
                     a.ip.is_v6() ? " nodad" : "");
}

}  // namespace fastvs
