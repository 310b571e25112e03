// What the kernel path puts in the host's routing, and how it tells its own entries from the
// operator's. Pure: no I/O (control/rtnl.* reads and changes the host, control/kernel_path.cpp
// puts the two together), so it is unit-tested without root.
//
// fastvsd's own entries, and nothing else, are:
// - routes in table N (--kernel-table, default 100) with protocol 250 (kKernelProto): the ports'
//   connected networks (`NET/LEN dev dpdkK src ADDR`) and the configuration's static routes;
// - rules of priority N, protocol 250, `lookup N`: `iif dpdkK` (what the host forwards from the
//   ports) and `from ADDR` (the host's own traffic from the ports' addresses);
// - the addresses fastvsadm configured (IPv4 and IPv6), on its TAP interfaces (dpdkK: created by
//   fastvsd, gone when it stops). An address the host put there (keepalived's VIP, an operator's
//   `ip addr add`) is the host's: fastvsd follows it into the data plane (control/director.h) and
//   never adds it back or removes it, unless fastvsadm removes it from the configuration. The
//   kernel's own IPv6 link-local addresses are the host's and are not followed.
// A route or rule with another protocol, priority or table is the operator's (or another
// daemon's) and is never changed, even in table N.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/model.h"
#include "common/result.h"
#include "control/rtnl.h"

namespace fastvs {

// rtm_protocol (and FRA_PROTOCOL) of what fastvsd adds: a number the kernel and iproute2 have not
// given out (rtnetlink.h: 0-4 the kernel's own, 8-18, 42, 99, 186-192 routing daemons; FRR uses up
// to 198), so no other program's entries carry it. `ip` shows `proto 250`; a line `250 fastvs`
// in /etc/iproute2/rt_protos.d/fastvs.conf names it.
constexpr uint8_t kKernelProto = 250;

// The rules' priority is the table's number: one option says both. It must come before the
// main table's rule (32766), or the host's default route would win over the data plane's; 253,
// 254 and 255 are the kernel's default, main and local tables.
constexpr uint32_t kKernelTableMax = 32765;

// The metric the kernel gives an IPv6 route added without one (IP6_RT_PRIO_USER): said outright,
// so that what a dump reads back is what was asked.
constexpr uint32_t kIp6RouteMetric = 1024;
Status check_kernel_table(uint32_t table);

// A kernel-path interface: the TAP of one port.
struct KernelIf {
  uint16_t port = 0;
  int ifindex = 0;
  std::string name;
};

// What the host should hold for a configuration.
struct KernelWant {
  std::vector<HostAddr> addrs;       // fastvsadm's: put on the TAP interfaces
  std::vector<HostAddr> host_addrs;  // the host's, followed: left as the host has them
  std::vector<HostRoute> routes;     // connected networks first, then the static routes
  std::vector<HostRule> rules;
};
KernelWant kernel_want(const Config& cfg, const std::vector<KernelIf>& ifs, uint32_t table);

bool is_own(const HostRoute& r, uint32_t table);
bool is_own(const HostRule& r, uint32_t table);

// What to delete and add to go from `have` to `want`, among fastvsd's own entries only: whatever
// else `have` holds is left alone (and a wanted entry that collides with it fails when added).
template <typename T>
struct HostChanges {
  std::vector<T> del, add;
};
// Addresses: fastvsadm's (`own`) that are missing are added; what is on the interfaces and was
// in the configuration last time (`before`, either origin) but is no longer is removed (fastvsadm
// removed it); anything else there is the host's and left alone.
HostChanges<HostAddr> addr_changes(const std::vector<HostAddr>& have,
                                   const std::vector<HostAddr>& own,
                                   const std::vector<HostAddr>& host,
                                   const std::vector<HostAddr>& before);
HostChanges<HostRoute> route_changes(const std::vector<HostRoute>& have,
                                     const std::vector<HostRoute>& want, uint32_t table);
HostChanges<HostRule> rule_changes(const std::vector<HostRule>& have,
                                   const std::vector<HostRule>& want, uint32_t table);

// Who uses table N at start, from the host's rules and the table's routes.
struct TableUse {
  std::vector<std::string> foreign;  // not fastvsd's: "rule `...`", "route `...`"
  std::vector<std::string> running;  // another fastvsd's: its interfaces exist
  std::vector<HostRule> stale;       // fastvsd's, left by one that did not stop (kill -9)
};
TableUse table_use(const std::vector<HostRule>& rules, const std::vector<HostRoute>& routes,
                   uint32_t table);
// Why fastvsd will not use the table (one line), or "" when it may.
std::string table_refusal(const TableUse& use, uint32_t table);

// As `ip` takes them after `ip route add`, `ip rule add`, `ip addr add` (`ip -6` for IPv6's rules:
// ip_command): a failure in the log is the command that would do the same by hand.
std::string ip_command(IpAddr::Family f);
std::string describe(const HostRoute& r);
std::string describe(const HostRule& r);
std::string describe(const HostAddr& a, const std::string& dev);

}  // namespace fastvs
