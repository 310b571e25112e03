#include "control/report/ip_print.h"

#include <algorithm>

#include <fmt/core.h>

#include "common/grammar/words.h"

namespace fastvs {

std::string format_addr_lines(const Config& cfg, uint16_t port, const std::string& ifname,
                              std::optional<IpAddr::Family> family) {
  std::string out;
  for (const IpAddr::Family f : {IpAddr::Family::V4, IpAddr::Family::V6}) {
    if (family && *family != f) continue;
    for (const AddrConfig& a : cfg.addrs) {
      if (a.port != port || a.ip.family() != f) continue;
      const char* host = a.from_host ? " (added on the host)" : "";
      // print_addrinfo: "inet %s/%d", "scope %s " and, for IPv4 only, the label (the name).
      if (f == IpAddr::Family::V4)
        out += fmt::format("    inet {}/{} scope global {}{}\n", format_ip(a.ip), a.prefix_len,
                           ifname, host);
      else  // "scope global " ends with its blank; no label; fe80::/10 is of the link's scope
        out += fmt::format("    inet6 {}/{} scope {} {}\n", format_ip(a.ip), a.prefix_len,
                           a.ip.is_link_local() ? "link" : "global", a.from_host ? host + 1 : "");
    }
  }
  return out;
}

namespace {
// The order `ip -6 route` lists a table in: the kernel walks its fib6 tree children first, so
// prefixes by address, a prefix after those it contains, the default route last.
bool fib6_before(const IpAddr& a, unsigned alen, const IpAddr& b, unsigned blen) {
  const unsigned common = std::min(alen, blen);
  const IpAddr am = a.masked(common), bm = b.masked(common);
  if (am != bm) return am < bm;
  return alen > blen;
}
}  // namespace

std::string format_routes(const Config& cfg, const std::vector<std::string>& names,
                          std::optional<IpAddr::Family> family) {
  const IpAddr::Family f = family.value_or(IpAddr::Family::V4);
  const auto name = [&](uint16_t p) { return p < names.size() ? names[p] : std::string("?"); };
  struct Line {
    IpAddr prefix;
    unsigned len;
    std::string text;
  };
  std::vector<Line> lines;
  for (const RouteConfig& r : cfg.routes) {
    if (r.prefix.family() != f) continue;
    const std::string dst = prefix_name(r.prefix, r.prefix_len);
    std::string line = r.via.is_zero()
                           ? fmt::format("{} dev {}", dst, name(r.port))
                           : fmt::format("{} via {} dev {}", dst, format_ip(r.via), name(r.port));
    // IPv4: "scope link" for a route without a gateway. IPv6: the metric a route added by
    // hand takes (IP6_RT_PRIO_USER) and its router preference.
    if (f == IpAddr::Family::V4)
      line += r.via.is_zero() ? " scope link" : "";
    else
      line += " metric 1024 pref medium";
    lines.push_back({r.prefix, r.prefix_len, line + "\n"});
  }
  for (const AddrConfig& a : cfg.addrs) {
    if (a.ip.family() != f) continue;
    const std::string net = prefix_name(a.ip.masked(a.prefix_len), a.prefix_len);
    if (f == IpAddr::Family::V4)
      lines.push_back({a.ip.masked(a.prefix_len), a.prefix_len,
                       fmt::format("{} dev {} proto kernel scope link src {}\n", net, name(a.port),
                                   format_ip(a.ip))});
    else  // addrconf_prefix_route: IP6_RT_PRIO_ADDRCONF
      lines.push_back(
          {a.ip.masked(a.prefix_len), a.prefix_len,
           fmt::format("{} dev {} proto kernel metric 256 pref medium\n", net, name(a.port))});
  }
  if (f == IpAddr::Family::V6)
    std::stable_sort(lines.begin(), lines.end(), [](const Line& x, const Line& y) {
      return fib6_before(x.prefix, x.len, y.prefix, y.len);
    });
  std::string out;
  for (const Line& l : lines) out += l.text;
  return out;
}

}  // namespace fastvs
