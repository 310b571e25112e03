// `fastvsadm ip addr` and `ip route` lines as iproute2 6.1 prints them (ipaddress.c's
// print_addrinfo, iproute.c's print_route), IPv6 included: the expected lines are copied from
// iproute2's output on Linux for the same addresses and routes.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "control/report/ip_print.h"
#include "tests/unit/common/grammar_helpers.h"

namespace fastvs {
namespace {

using namespace fastvs::testing;

Config lab() {
  Config cfg;
  cfg.addrs.push_back({ip(172, 16, 254, 200), 24, 0, false});
  cfg.addrs.push_back({ip6("2001:db8::200"), 64, 0, false});
  cfg.addrs.push_back({ip6("2001:db8:1::8"), 64, 1, true});
  cfg.addrs.push_back({ip(192, 168, 0, 8), 24, 1, false});
  cfg.routes.push_back({IpAddr{}, 0, ip(172, 16, 254, 1), 0});
  cfg.routes.push_back({ip6("::"), 0, ip6("2001:db8::1"), 0});
  cfg.routes.push_back({ip6("2001:db8:5::"), 48, IpAddr::any(IpAddr::Family::V6), 1});
  return cfg;
}

TEST(IpPrint, AddrLinesIpv4ThenIpv6) {
  // "inet %s/%d", "scope %s " and the label for IPv4 only; inet6 lines end "scope global ".
  EXPECT_EQ(format_addr_lines(lab(), 0, "dpdk0", std::nullopt),
            "    inet 172.16.254.200/24 scope global dpdk0\n"
            "    inet6 2001:db8::200/64 scope global \n");
  EXPECT_EQ(format_addr_lines(lab(), 1, "dpdk1", std::nullopt),
            "    inet 192.168.0.8/24 scope global dpdk1\n"
            "    inet6 2001:db8:1::8/64 scope global (added on the host)\n");
  EXPECT_EQ(format_addr_lines(lab(), 0, "dpdk0", IpAddr::Family::V6),
            "    inet6 2001:db8::200/64 scope global \n");
  EXPECT_EQ(format_addr_lines(lab(), 0, "dpdk0", IpAddr::Family::V4),
            "    inet 172.16.254.200/24 scope global dpdk0\n");
}

TEST(IpPrint, RoutesOfOneFamily) {
  const std::vector<std::string> names = {"dpdk0", "dpdk1"};
  // `ip route` lists IPv4 only; `ip -6 route` IPv6, with the metric and preference the kernel
  // gives a route added by hand (1024) and a prefix route (256).
  EXPECT_EQ(format_routes(lab(), names, std::nullopt),
            "default via 172.16.254.1 dev dpdk0\n"
            "172.16.254.0/24 dev dpdk0 proto kernel scope link src 172.16.254.200\n"
            "192.168.0.0/24 dev dpdk1 proto kernel scope link src 192.168.0.8\n");
  // IPv6 in the kernel's fib6 order (as iproute2 6.1 on Linux 6.1 lists a table with these
  // routes): by prefix, the default last.
  EXPECT_EQ(format_routes(lab(), names, IpAddr::Family::V6),
            "2001:db8::/64 dev dpdk0 proto kernel metric 256 pref medium\n"
            "2001:db8:1::/64 dev dpdk1 proto kernel metric 256 pref medium\n"
            "2001:db8:5::/48 dev dpdk1 metric 1024 pref medium\n"
            "default via 2001:db8::1 dev dpdk0 metric 1024 pref medium\n");
}

// A link-local address is of the link's scope; a /0 prefix is `default` (iproute2 6.1's output
// for `ip addr add fe80::9/64 dev X`, and the route of an address added with /0).
TEST(IpPrint, LinkScopeAndDefault) {
  Config cfg;
  cfg.addrs.push_back({ip6("fe80::9"), 64, 0, false});
  cfg.addrs.push_back({ip6("2001:db8:2::1"), 0, 1, false});
  EXPECT_EQ(format_addr_lines(cfg, 0, "dpdk0", IpAddr::Family::V6),
            "    inet6 fe80::9/64 scope link \n");
  EXPECT_EQ(format_routes(cfg, {"dpdk0", "dpdk1"}, IpAddr::Family::V6),
            "fe80::/64 dev dpdk0 proto kernel metric 256 pref medium\n"
            "default dev dpdk1 proto kernel metric 256 pref medium\n");
}

}  // namespace
}  // namespace fastvs
