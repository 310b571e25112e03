// Following the host's addresses on the kernel-path interfaces (control/config/host_addrs.h):
// what keepalived adds becomes a port's address, what it removes goes, fastvsadm's stay.
#include <gtest/gtest.h>

#include "control/config/host_addrs.h"
#include "tests/unit/control/apply_helpers.h"

namespace fastvs {
namespace {

using namespace fastvs::testing;

IpAddr ip(int a, int b, int c, int d) {
  return IpAddr::v4(static_cast<uint32_t>(a << 24 | b << 16 | c << 8 | d));
}

// The seeds' NAT director: DIP on dpdk1, a real server behind it, no VIP yet (keepalived's).
Config nat() {
  Config cfg;
  run_ok(cfg, "ip addr add 172.16.254.2/24 dev dpdk0");
  run_ok(cfg, "ip addr add 192.168.0.2/24 dev dpdk1");
  run_ok(cfg, "-A -t 172.16.254.38:80 -s rr");
  run_ok(cfg, "-a -t 172.16.254.38:80 -r 192.168.0.18:80 -m");
  return cfg;
}

// What the interfaces hold: the configuration's addresses plus `extra`.
std::vector<HostPortAddrs> holding(const Config& cfg, std::vector<AddrConfig> extra = {}) {
  std::vector<HostPortAddrs> h{{0, {}}, {1, {}}};
  for (const AddrConfig& a : cfg.addrs) h[a.port].addrs.push_back({a.ip, a.prefix_len, a.port});
  for (const AddrConfig& a : extra) h[a.port].addrs.push_back(a);
  return h;
}

TEST(HostAddrs, WhatTheHostAddsIsFollowedAndWhatItRemovesGoes) {
  const Config cfg = nat();
  IgnoredHostAddrs ignored;
  const AddrConfig vip{ip(172, 16, 254, 38), 32, 0};
  HostFollow f = follow_host_addrs(cfg, holding(cfg, {vip}), ignored, 2);
  EXPECT_EQ(f.changes, std::vector<std::string>{"172.16.254.38/32 on dpdk0 added"});
  EXPECT_TRUE(f.log.empty());
  EXPECT_FALSE(f.put_back);
  ASSERT_EQ(f.next.addrs.size(), 3u);
  EXPECT_EQ(f.next.addrs[2].ip, vip.ip);
  EXPECT_TRUE(f.next.addrs[2].from_host);
  EXPECT_FALSE(f.next.addrs[0].from_host);

  // The same state again (the notification of our own mirroring, or a late one): nothing.
  const Config with_vip = f.next;
  f = follow_host_addrs(with_vip, holding(cfg, {vip}), ignored, 2);
  EXPECT_TRUE(f.changes.empty());
  EXPECT_EQ(f.next, with_vip);

  // keepalived leaves MASTER: the VIP goes.
  f = follow_host_addrs(with_vip, holding(cfg), ignored, 2);
  EXPECT_EQ(f.changes, std::vector<std::string>{"172.16.254.38/32 on dpdk0 removed"});
  EXPECT_EQ(f.next, cfg);
}

TEST(HostAddrs, FastvsadmsAddressesAreFastvsadmsAndPutBack) {
  const Config cfg = nat();
  IgnoredHostAddrs ignored;
  std::vector<HostPortAddrs> h = holding(cfg);
  h[1].addrs.clear();  // `ip addr del 192.168.0.2/24 dev dpdk1` on the host
  const HostFollow f = follow_host_addrs(cfg, h, ignored, 2);
  EXPECT_TRUE(f.changes.empty());
  EXPECT_TRUE(f.put_back);
  EXPECT_EQ(f.next, cfg);
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.log[0],
            "192.168.0.2/24 on dpdk1 was removed on the host, but fastvsadm configured it: put "
            "back (`fastvsadm ip addr del 192.168.0.2/24 dev dpdk1` removes it)");
}

TEST(HostAddrs, AnAddressTheDataPlaneRefusesIsIgnoredOnceWhileItStays) {
  const Config cfg = nat();
  IgnoredHostAddrs ignored;
  const AddrConfig rs{ip(192, 168, 0, 18), 24, 1};  // a real server's address
  HostFollow f = follow_host_addrs(cfg, holding(cfg, {rs}), ignored, 2);
  EXPECT_TRUE(f.changes.empty());
  EXPECT_EQ(f.next, cfg);
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.log[0],
            "WARNING: 192.168.0.18/24 on dpdk1 added on the host is no address of the data "
            "plane: address 192.168.0.18 is real server 192.168.0.18:80 of service TCP "
            "172.16.254.38:80 (ignored while it stays)");
  // Said once while it stays; forgotten once it goes, so said again if it comes back.
  f = follow_host_addrs(cfg, holding(cfg, {rs}), ignored, 2);
  EXPECT_TRUE(f.log.empty());
  f = follow_host_addrs(cfg, holding(cfg), ignored, 2);
  EXPECT_TRUE(ignored.empty());
  f = follow_host_addrs(cfg, holding(cfg, {rs}), ignored, 2);
  EXPECT_EQ(f.log.size(), 1u);
}

TEST(HostAddrs, TheHostsRemovalGoesEvenWhenItStrandsARealServer) {
  // The only address on the real servers' network is the floating one keepalived moves.
  Config cfg;
  run_ok(cfg, "ip addr add 172.16.254.2/24 dev dpdk0");
  cfg.addrs.push_back({ip(192, 168, 0, 254), 24, 1, true});
  run_ok(cfg, "-A -t 172.16.254.2:80 -s rr");
  run_ok(cfg, "-a -t 172.16.254.2:80 -r 192.168.0.18:80 -m");
  IgnoredHostAddrs ignored;
  std::vector<HostPortAddrs> h = holding(cfg);
  h[1].addrs.clear();
  const HostFollow f = follow_host_addrs(cfg, h, ignored, 2);
  EXPECT_EQ(f.changes, std::vector<std::string>{"192.168.0.254/24 on dpdk1 removed"});
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.log[0],
            "WARNING: 192.168.0.254/24 on dpdk1 removed on the host: address 192.168.0.254/24 is "
            "needed by real server 192.168.0.18:80 of service TCP 172.16.254.2:80 (delete the "
            "real server first); removed all the same");
  EXPECT_EQ(f.next.addrs.size(), 1u);
}

TEST(HostAddrs, AnInterfaceThatCouldNotBeReadChangesNothing) {
  Config cfg = nat();
  cfg.addrs.push_back({ip(172, 16, 254, 38), 32, 0, true});
  IgnoredHostAddrs ignored;
  std::vector<HostPortAddrs> h = holding(nat());
  h.erase(h.begin());  // dpdk0 unread
  const HostFollow f = follow_host_addrs(cfg, h, ignored, 2);
  EXPECT_TRUE(f.changes.empty());
  EXPECT_EQ(f.next, cfg);
}

TEST(HostAddrs, ReloadsKeepTheHostsAddresses) {
  Config before = nat();
  before.addrs.push_back({ip(172, 16, 254, 38), 32, 0, true});
  before.addrs.push_back({ip(10, 9, 9, 9), 24, 1, true});
  Config files;  // what the files give: 10.9.9.9 is now fastvsadm's
  run_ok(files, "ip addr add 172.16.254.2/24 dev dpdk0");
  run_ok(files, "ip addr add 10.9.9.9/24 dev dpdk1");
  carry_host_addrs(before, files);
  ASSERT_EQ(files.addrs.size(), 3u);
  EXPECT_FALSE(files.addrs[1].from_host);
  EXPECT_EQ(files.addrs[2].ip, ip(172, 16, 254, 38));
  EXPECT_TRUE(files.addrs[2].from_host);
}

TEST(VipReach, AServiceWithoutItsVipIsNamedAndSoIsItsVipsArrival) {
  Config before = nat();  // 172.16.254.38 is no local address yet
  // At start: the service is new and its VIP not local.
  EXPECT_EQ(vip_reach_changes(Config{}, before),
            std::vector<std::string>{
                "WARNING: VIP 172.16.254.38 is no local address: TCP 172.16.254.38:80 take(s) no "
                "traffic until it is one (fastvsadm ip addr add, or keepalived's "
                "virtual_ipaddress)"});
  // Changes that leave it so say nothing again; a new service on a local VIP says nothing.
  Config after = before;
  run_ok(after, "-E -t 172.16.254.38:80 -s wlc");
  run_ok(after, "-A -t 172.16.254.2:443");
  EXPECT_TRUE(vip_reach_changes(before, after).empty());
  // keepalived adds the VIP, then takes it away.
  Config with_vip = after;
  with_vip.addrs.push_back({ip(172, 16, 254, 38), 32, 0, true});
  EXPECT_EQ(vip_reach_changes(after, with_vip),
            std::vector<std::string>{
                "VIP 172.16.254.38 is a local address: TCP 172.16.254.38:80 take(s) traffic"});
  EXPECT_EQ(vip_reach_changes(with_vip, after).size(), 1u);
  EXPECT_EQ(vip_reach_changes(with_vip, after)[0].rfind("WARNING: VIP 172.16.254.38 is no", 0), 0u);
}

TEST(VipReach, ManyAreCappedAndGroupedByVip) {
  Config cfg;
  for (int v = 1; v <= 12; ++v)
    for (int port = 1; port <= 5; ++port)
      run_ok(cfg, "-A -t 10.0.0." + std::to_string(v) + ":" + std::to_string(port));
  const std::vector<std::string> out = vip_reach_changes(Config{}, cfg, 10);
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(out[0],
            "WARNING: VIP 10.0.0.1 is no local address: TCP 10.0.0.1:1, TCP 10.0.0.1:2, TCP "
            "10.0.0.1:3 and 2 more take(s) no traffic until it is one (fastvsadm ip addr add, or "
            "keepalived's virtual_ipaddress)");
  EXPECT_EQ(out[10], "... and 2 more VIPs");
}

TEST(VipReach, KeepalivedsVipsAreNeverFastvsadmsAndNotHeldIsNoWarning) {
  const std::vector<KaVrrpAddr> vrrp = {{ip(172, 16, 254, 38), 24, "vrrp_instance VI_1", 12}};
  Config cfg = nat();
  EXPECT_TRUE(check_vrrp_addrs(cfg, vrrp, "ka.conf").ok());
  // Followed from the host (keepalived put it there): fine.
  cfg.addrs.push_back({ip(172, 16, 254, 38), 24, 0, true});
  EXPECT_TRUE(check_vrrp_addrs(cfg, vrrp, "ka.conf").ok());
  // fastvsadm's: refused, naming the block and its line.
  cfg.addrs.back().from_host = false;
  EXPECT_EQ(check_vrrp_addrs(cfg, vrrp, "ka.conf").error(),
            "address 172.16.254.38 on dpdk0 is keepalived's (vrrp_instance VI_1 at ka.conf:12): "
            "keepalived --vrrp puts it on the master and takes it off the backup; configured "
            "with fastvsadm too, it would stay on both (leave it to keepalived; where VRRP does "
            "not run, add it on the host: ip addr add 172.16.254.38/24 dev dpdk0)");
  // A backup's service on keepalived's VIP is no warning.
  EXPECT_EQ(vip_reach_changes(Config{}, nat(), 10, &vrrp),
            std::vector<std::string>{"VIP 172.16.254.38 is not held here (vrrp_instance VI_1's, "
                                     "on the master): TCP 172.16.254.38:80 take(s) no traffic "
                                     "here"});
}

}  // namespace
}  // namespace fastvs
