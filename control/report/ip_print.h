// iproute2's lines for the director's addresses and routes, from the configuration alone (pure:
// control/report/ip_show.cpp adds the ports and the neighbour table). IPv6 as iproute2 prints it:
// `inet6 2001:db8::1/64 scope global `, `2001:db8::/64 dev dpdk0 proto kernel metric 256 pref
// medium`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/model.h"

namespace fastvs {

// print_addrinfo's lines of port `port` (named `ifname`): its IPv4 addresses ("    inet
// 10.0.0.1/24 scope global dpdk0"), then its IPv6 ones ("    inet6 2001:db8::1/64 scope global "),
// as the kernel dumps AF_INET before AF_INET6; `family` (ip -4 / ip -6): that family's only.
std::string format_addr_lines(const Config& cfg, uint16_t port, const std::string& ifname,
                              std::optional<IpAddr::Family> family);

// `ip route` (IPv4: iproute2 lists IPv4 routes unless -6 is given) or `ip -6 route`: the static
// routes, then each address's connected route. names[p] is port p's name.
std::string format_routes(const Config& cfg, const std::vector<std::string>& names,
                          std::optional<IpAddr::Family> family);

}  // namespace fastvs
