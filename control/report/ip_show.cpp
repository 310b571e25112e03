#include "control/report/ip_show.h"

#include <algorithm>

#include <rte_byteorder.h>
#include <rte_ethdev.h>

#include <fmt/core.h>

#include "control/report/ip_print.h"

namespace fastvs {

std::string show_addrs(const std::vector<PortSetup>& ports, const Config& cfg,
                       std::optional<uint16_t> only, std::optional<IpAddr::Family> family) {
  std::string out;
  for (size_t p = 0; p < ports.size(); ++p) {
    if (only && p != *only) continue;
    const std::string lines =
        format_addr_lines(cfg, static_cast<uint16_t>(p), ports[p].name, family);
    // As `ip -4|-6 addr`: a port without an address of the family is not listed.
    if (family && lines.empty()) continue;
    out += fmt::format("{}: {}: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu {}\n", p + 1,
                       ports[p].name, ports[p].mtu);
    out += lines;
  }
  return out;
}

std::string show_routes(const std::vector<PortSetup>& ports, const Config& cfg,
                        std::optional<IpAddr::Family> family) {
  std::vector<std::string> names;
  for (const PortSetup& p : ports) names.push_back(p.name);
  return format_routes(cfg, names, family);
}

std::string show_neighs(const std::vector<PortSetup>& ports, const NeighTable& neigh,
                        const NeighTable6& neigh6, std::optional<IpAddr::Family> family) {
  std::string out;
  const auto line = [&](const IpAddr& ip, uint16_t port, const MacAddr& mac, NeighState st) {
    out += fmt::format("{} dev {} lladdr {} {}\n", format_ip(ip),
                       port < ports.size() ? ports[port].name : "?", format_mac(mac),
                       st == NeighState::Permanent ? "PERMANENT" : "REACHABLE");
  };
  // As `ip neigh`: IPv4's, then IPv6's.
  if (family != IpAddr::Family::V6)
    neigh.for_each([&](uint32_t ip, uint16_t port, const MacAddr& mac, NeighState st) {
      line(IpAddr::v4(rte_be_to_cpu_32(ip)), port, mac, st);
    });
  if (family != IpAddr::Family::V4)
    neigh6.for_each([&](const Ip6Key& ip, uint16_t port, const MacAddr& mac, NeighState st) {
      IpAddr::Bytes b;
      std::copy(ip.b, ip.b + 16, b.begin());
      line(IpAddr::v6(b), port, mac, st);
    });
  return out;
}

std::string show_links(const std::vector<PortSetup>& ports,
                       const std::vector<std::unique_ptr<Worker>>& workers, bool stats) {
  std::string out;
  for (size_t p = 0; p < ports.size(); ++p) {
    const PortSetup& ps = ports[p];
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
  for (const auto& w : workers) {
    const WorkerCounters& c = w->ctr;
    // Every counter of dataplane/counters.h, in its order, on lines of at most 100 characters.
    std::string line = fmt::format("worker {}:", w->id);
    const auto v = c.values();
    for (unsigned k = 0; k < kCounterCount; ++k) {
      const std::string item = fmt::format(" {} {}", kCounters[k].name, v[k]);
      if (line.size() + item.size() > 100) {
        out += line + "\n";
        line = "   ";
      }
      line += item;
    }
    out += line + "\n" + fmt::format("    conns {} (in the connection table)\n", w->conns.size());
    for (unsigned d = 0; d < kDropCount; ++d)
      if (c.drops[d])
        out += fmt::format("    drop {:<18} {:<10} {}\n", drop_name(static_cast<Drop>(d)),
                           c.drops[d].get(), drop_text(static_cast<Drop>(d)));
  }
  return out;
}

}  // namespace fastvs
