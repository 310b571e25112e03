// The kernel path's entries in the host's routing (control/kernel_routes.h): what it wants for a
// configuration, that its changes name only its own entries (protocol 250, priority = table =
// --kernel-table), and who it finds in its table at start. The host itself is in
// tests/e2e/test_kernel_routes.py.
#include <gtest/gtest.h>

#include <linux/rtnetlink.h>

#include "control/kernel_routes.h"
#include "tests/unit/control/apply_helpers.h"

namespace fastvs {
namespace {

using namespace fastvs::testing;

constexpr uint32_t kTable = 200;

IpAddr a4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return IpAddr::v4(ip4(a, b, c, d));
}

IpAddr a6(const char* s) {
  return IpAddr::v6(*parse_ip6(s));
}

std::vector<KernelIf> two_ifs() {
  return {{0, 11, "dpdk0"}, {1, 12, "dpdk1"}};
}

Config lab() {
  Config cfg;
  run_ok(cfg, "ip addr add 10.1.0.5/24 dev dpdk0");
  run_ok(cfg, "ip addr add 10.2.0.5/24 dev dpdk1");
  run_ok(cfg, "ip route add default via 10.1.0.1");
  run_ok(cfg, "ip route add 10.50.0.0/16 via 10.2.0.1 dev dpdk1");
  return cfg;
}

std::vector<std::string> described(const std::vector<HostRoute>& v) {
  std::vector<std::string> out;
  for (const HostRoute& r : v) out.push_back(describe(r));
  return out;
}

std::vector<std::string> described(const std::vector<HostRule>& v) {
  std::vector<std::string> out;
  for (const HostRule& r : v) out.push_back(describe(r));
  return out;
}

HostRoute foreign_route(IpAddr dst, uint8_t len, uint32_t table, uint8_t proto = RTPROT_STATIC) {
  HostRoute r;
  r.dst = dst;
  r.dst_len = len;
  r.table = table;
  r.proto = proto;
  r.type = RTN_BLACKHOLE;
  return r;
}

HostRule rule(uint32_t priority, uint32_t table, uint8_t proto, const std::string& iif = "",
              IpAddr src = {}) {
  HostRule r;
  r.family = src.family();
  r.priority = priority;
  r.table = table;
  r.proto = proto;
  r.iif = iif;
  r.src = src;
  r.src_len = src.is_zero() ? 0 : static_cast<uint8_t>(src.max_prefix());
  return r;
}

TEST(KernelTable, RangeAndTheKernelsOwnTables) {
  for (uint32_t t : {1u, 100u, 252u, 256u, 32765u}) EXPECT_TRUE(check_kernel_table(t)) << t;
  for (uint32_t t : {0u, 253u, 254u, 255u, 32766u, 100000u}) {
    const Status st = check_kernel_table(t);
    EXPECT_FALSE(st) << t;
    EXPECT_NE(st.error().find("--kernel-table " + std::to_string(t)), std::string::npos);
  }
}

TEST(KernelWant, RulesRoutesAndAddressesOfAConfiguration) {
  const KernelWant w = kernel_want(lab(), two_ifs(), kTable);
  EXPECT_EQ(described(w.rules),
            (std::vector<std::string>{"priority 200 iif dpdk0 lookup 200 protocol 250",
                                      "priority 200 iif dpdk1 lookup 200 protocol 250",
                                      "priority 200 from 10.1.0.5/32 lookup 200 protocol 250",
                                      "priority 200 from 10.2.0.5/32 lookup 200 protocol 250"}));
  EXPECT_EQ(described(w.routes), (std::vector<std::string>{
                                     "10.1.0.0/24 dev dpdk0 table 200 proto 250 src 10.1.0.5",
                                     "10.2.0.0/24 dev dpdk1 table 200 proto 250 src 10.2.0.5",
                                     "default via 10.1.0.1 dev dpdk0 table 200 proto 250",
                                     "10.50.0.0/16 via 10.2.0.1 dev dpdk1 table 200 proto 250",
                                 }));
  ASSERT_EQ(w.addrs.size(), 2u);
  EXPECT_EQ(w.addrs[0], (HostAddr{a4(10, 1, 0, 5), 24, 11}));
  EXPECT_EQ(w.addrs[1], (HostAddr{a4(10, 2, 0, 5), 24, 12}));
  for (const HostRoute& r : w.routes) EXPECT_TRUE(is_own(r, kTable)) << describe(r);
  for (const HostRule& r : w.rules) EXPECT_TRUE(is_own(r, kTable)) << describe(r);
}

TEST(KernelWant, IPv6BesideIPv4) {
  Config cfg = lab();
  run_ok(cfg, "ip addr add 2001:db8:1::9/64 dev dpdk1");
  run_ok(cfg, "ip route add 2001:db8:50::/48 via 2001:db8:1::1");
  run_ok(cfg, "ip route add ::/0 via fe80::1 dev dpdk0");
  const KernelWant w = kernel_want(cfg, two_ifs(), kTable);
  // IPv6's rules (ip -6 rule) beside IPv4's, one a TAP interface and one an address.
  std::vector<std::string> v6_rules;
  for (const HostRule& r : w.rules)
    if (r.family == IpAddr::Family::V6) v6_rules.push_back(describe(r));
  EXPECT_EQ(v6_rules, (std::vector<std::string>{
                          "priority 200 iif dpdk0 lookup 200 protocol 250",
                          "priority 200 iif dpdk1 lookup 200 protocol 250",
                          "priority 200 from 2001:db8:1::9/128 lookup 200 protocol 250"}));
  EXPECT_EQ(w.rules.size(), 7u);
  // The metric the kernel would give them anyway, so that a dump reads back what was asked.
  EXPECT_EQ(described(w.routes),
            (std::vector<std::string>{
                "10.1.0.0/24 dev dpdk0 table 200 proto 250 src 10.1.0.5",
                "10.2.0.0/24 dev dpdk1 table 200 proto 250 src 10.2.0.5",
                "2001:db8:1::/64 dev dpdk1 table 200 proto 250 src 2001:db8:1::9 metric 1024",
                "default via 10.1.0.1 dev dpdk0 table 200 proto 250",
                "10.50.0.0/16 via 10.2.0.1 dev dpdk1 table 200 proto 250",
                "2001:db8:50::/48 via 2001:db8:1::1 dev dpdk1 table 200 proto 250 metric 1024",
                "default via fe80::1 dev dpdk0 table 200 proto 250 metric 1024",
            }));
  EXPECT_TRUE(w.routes[6].dst.is_v6());
  ASSERT_EQ(w.addrs.size(), 3u);
  EXPECT_EQ(w.addrs[2], (HostAddr{a6("2001:db8:1::9"), 64, 12}));
  EXPECT_EQ(describe(w.addrs[2], "dpdk1"), "2001:db8:1::9/64 dev dpdk1 nodad");
  EXPECT_EQ(ip_command(IpAddr::Family::V6), "ip -6 ");
  // Nothing changes once the host has it all; an IPv4 rule and an IPv6 rule alike are not
  // each other.
  EXPECT_TRUE(route_changes(w.routes, w.routes, kTable).add.empty());
  EXPECT_TRUE(rule_changes(w.rules, w.rules, kTable).add.empty());
  std::vector<HostRule> v4_only;
  for (const HostRule& r : w.rules)
    if (r.family == IpAddr::Family::V4) v4_only.push_back(r);
  EXPECT_EQ(rule_changes(v4_only, w.rules, kTable).add.size(), 3u);
  // Without IPv6 in the configuration, no IPv6 rule: a host that does not use IPv6 is left
  // alone.
  for (const HostRule& r : kernel_want(lab(), two_ifs(), kTable).rules)
    EXPECT_EQ(r.family, IpAddr::Family::V4) << describe(r);
}

TEST(KernelWant, OneConnectedRouteANetwork) {
  Config cfg;
  run_ok(cfg, "ip addr add 10.1.0.5/24 dev dpdk0");
  run_ok(cfg, "ip addr add 10.1.0.6/24 dev dpdk0");
  const KernelWant w = kernel_want(cfg, two_ifs(), kTable);
  EXPECT_EQ(described(w.routes),
            (std::vector<std::string>{"10.1.0.0/24 dev dpdk0 table 200 proto 250 src 10.1.0.5"}));
  EXPECT_EQ(w.rules.size(), 4u);  // two interfaces, two addresses
}

TEST(KernelChanges, RoutesOnlyItsOwn) {
  const std::vector<KernelIf> ifs = two_ifs();
  const KernelWant before = kernel_want(lab(), ifs, kTable);
  Config cfg = lab();
  run_ok(cfg, "ip route del 10.50.0.0/16");
  run_ok(cfg, "ip route add 10.60.0.0/16 via 10.2.0.1");
  const KernelWant after = kernel_want(cfg, ifs, kTable);
  std::vector<HostRoute> have = before.routes;
  // The operator's, in fastvsd's table and elsewhere, and one of protocol 250 in another table.
  have.push_back(foreign_route(a4(10, 88, 0, 0), 24, kTable));
  have.push_back(foreign_route(a4(10, 50, 0, 0), 16, 100));
  have.push_back(foreign_route(a4(10, 50, 0, 0), 16, 300, kKernelProto));
  const HostChanges<HostRoute> c = route_changes(have, after.routes, kTable);
  EXPECT_EQ(described(c.del),
            (std::vector<std::string>{"10.50.0.0/16 via 10.2.0.1 dev dpdk1 table 200 proto 250"}));
  EXPECT_EQ(described(c.add),
            (std::vector<std::string>{"10.60.0.0/16 via 10.2.0.1 dev dpdk1 table 200 proto 250"}));
  // Nothing to do once the host has it, the operator's routes still there.
  std::vector<HostRoute> now = after.routes;
  now.push_back(have[have.size() - 3]);
  EXPECT_TRUE(route_changes(now, after.routes, kTable).del.empty());
  EXPECT_TRUE(route_changes(now, after.routes, kTable).add.empty());
  // What fastvsd wants is added even when the operator has the same route there: the kernel
  // refuses it (File exists), and the operator's stays.
  HostRoute theirs = after.routes[3];
  theirs.proto = RTPROT_STATIC;
  const HostChanges<HostRoute> c2 = route_changes({theirs}, after.routes, kTable);
  EXPECT_TRUE(c2.del.empty());
  EXPECT_EQ(c2.add.size(), after.routes.size());
}

TEST(KernelChanges, RulesOnlyItsOwn) {
  const KernelWant want = kernel_want(lab(), two_ifs(), kTable);
  std::vector<HostRule> have = {
      rule(0, RT_TABLE_LOCAL, RTPROT_KERNEL),
      rule(1000, 100, RTPROT_BOOT, "", a4(10, 77, 0, 5)),      // the operator's
      rule(kTable, 300, RTPROT_BOOT, "", a4(10, 77, 0, 6)),    // at fastvsd's priority
      rule(kTable, kTable, RTPROT_BOOT, "", a4(10, 1, 0, 5)),  // as fastvsd's, but not its protocol
      rule(500, kTable, kKernelProto, "dpdk9"),                // protocol 250, another priority
      rule(kTable, kTable, kKernelProto, "dpdk0"),             // its own, wanted
      rule(kTable, kTable, kKernelProto, "", a4(10, 9, 9, 9)),  // its own, no longer wanted
      rule(32766, RT_TABLE_MAIN, RTPROT_KERNEL),
  };
  const HostChanges<HostRule> c = rule_changes(have, want.rules, kTable);
  EXPECT_EQ(described(c.del),
            (std::vector<std::string>{"priority 200 from 10.9.9.9/32 lookup 200 protocol 250"}));
  EXPECT_EQ(described(c.add),
            (std::vector<std::string>{"priority 200 iif dpdk1 lookup 200 protocol 250",
                                      "priority 200 from 10.1.0.5/32 lookup 200 protocol 250",
                                      "priority 200 from 10.2.0.5/32 lookup 200 protocol 250"}));
}

TEST(KernelChanges, AddressesOnItsInterfaces) {
  // fastvsadm's: 10.1.0.5/24 and 10.1.0.6/24; it had 10.1.0.5/16 too (fastvsadm ip addr del).
  const std::vector<HostAddr> own = {{a4(10, 1, 0, 5), 24, 11}, {a4(10, 1, 0, 6), 24, 11}};
  const std::vector<HostAddr> before = {{a4(10, 1, 0, 5), 24, 11}, {a4(10, 1, 0, 5), 16, 11}};
  const std::vector<HostAddr> have = {{a4(10, 1, 0, 5), 24, 11}, {a4(10, 1, 0, 5), 16, 11}};
  const HostChanges<HostAddr> c = addr_changes(have, own, {}, before);
  ASSERT_EQ(c.del.size(), 1u);
  EXPECT_EQ(describe(c.del[0], "dpdk0"), "10.1.0.5/16 dev dpdk0");
  ASSERT_EQ(c.add.size(), 1u);
  EXPECT_EQ(describe(c.add[0], "dpdk0"), "10.1.0.6/24 dev dpdk0");
}

TEST(KernelChanges, TheHostsAddressesAreLeftAsTheHostHasThem) {
  const HostAddr dip{a4(10, 1, 0, 5), 24, 11};
  const HostAddr vip{a4(10, 1, 0, 38), 32, 11};    // keepalived's, followed
  const HostAddr other{a4(10, 1, 0, 99), 24, 11};  // the host's, not (yet) followed
  const HostAddr gone{a4(10, 1, 0, 40), 32, 11};   // keepalived removed it; still followed
  // Neither put back (a backup must not hold the VIP) nor removed.
  HostChanges<HostAddr> c = addr_changes({dip, vip, other}, {dip}, {vip, gone}, {dip, vip, gone});
  EXPECT_TRUE(c.add.empty());
  EXPECT_TRUE(c.del.empty());
  // fastvsadm ip addr del of a followed address removes it from the host too.
  c = addr_changes({dip, vip, other}, {dip}, {}, {dip, vip});
  ASSERT_EQ(c.del.size(), 1u);
  EXPECT_EQ(c.del[0], vip);
  EXPECT_TRUE(c.add.empty());
}

TEST(TableUse, FreeWhenOnlyOthersTablesAndStaleRules) {
  HostRule detached = rule(kTable, kTable, kKernelProto, "dpdk0");
  detached.iif_detached = true;
  const HostRule from = rule(kTable, kTable, kKernelProto, "", a4(10, 1, 0, 5));
  const std::vector<HostRule> rules = {rule(0, RT_TABLE_LOCAL, RTPROT_KERNEL),
                                       rule(1000, 100, RTPROT_BOOT, "", a4(10, 77, 0, 5)),
                                       rule(kTable, 300, RTPROT_BOOT),
                                       detached,
                                       from,
                                       rule(32766, RT_TABLE_MAIN, RTPROT_KERNEL)};
  const TableUse u = table_use(rules, {}, kTable);
  EXPECT_TRUE(u.foreign.empty());
  EXPECT_TRUE(u.running.empty());
  EXPECT_EQ(described(u.stale),
            (std::vector<std::string>{"priority 200 iif dpdk0 lookup 200 protocol 250",
                                      "priority 200 from 10.1.0.5/32 lookup 200 protocol 250"}));
  EXPECT_EQ(table_refusal(u, kTable), "");
}

TEST(TableUse, RefusedWhenTheOperatorsRulesOrRoutesAreThere) {
  const TableUse by_rule = table_use({rule(1000, 100, RTPROT_BOOT, "", a4(10, 77, 0, 5))}, {}, 100);
  EXPECT_EQ(table_refusal(by_rule, 100),
            "kernel path: routing table 100 is in use by rules or routes fastvsd did not create "
            "(rule `priority 1000 from 10.77.0.5/32 lookup 100 protocol boot`); fastvsd changes "
            "nothing of them: give it a table of its own with --kernel-table N (or run with "
            "--no-kernel-path)");
  // A route alone (no rule uses the table yet), of any protocol but fastvsd's.
  HostRoute r = foreign_route(a4(10, 88, 0, 0), 24, 100);
  r.type = RTN_UNICAST;
  r.gateway = a4(10, 77, 0, 2);
  r.dev = "eth9";
  const std::string why = table_refusal(table_use({}, {r}, 100), 100);
  EXPECT_NE(why.find("route `10.88.0.0/24 via 10.77.0.2 dev eth9 table 100 proto static`"),
            std::string::npos)
      << why;
  // Its own protocol at another priority is not its own either.
  EXPECT_NE(table_refusal(table_use({rule(5, 100, kKernelProto, "dpdk0")}, {}, 100), 100), "");
  // Many: the first four, and how many more.
  std::vector<HostRoute> many(6, foreign_route(a4(10, 88, 0, 0), 24, 100));
  EXPECT_NE(table_refusal(table_use({}, many, 100), 100).find(" and 2 more)"), std::string::npos);
}

TEST(TableUse, RefusedWhenAnotherFastvsdRuns) {
  // Its rule names an interface that exists, or its routes are there: its interfaces are.
  const TableUse u = table_use({rule(kTable, kTable, kKernelProto, "dpdk0")}, {}, kTable);
  EXPECT_EQ(u.running.size(), 1u);
  EXPECT_EQ(table_refusal(u, kTable),
            "kernel path: routing table 200 is in use by another running fastvsd (rule `priority "
            "200 iif dpdk0 lookup 200 protocol 250`): give each fastvsd its own --kernel-table N");
  HostRoute own = kernel_want(lab(), two_ifs(), kTable).routes[0];
  EXPECT_EQ(table_use({}, {own}, kTable).running.size(), 1u);
}

}  // namespace
}  // namespace fastvs
