// Applying commands to the configuration model (control/config/apply.h): IPVS's rules and the
// director's, each error one line that changes nothing.
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "control/config/loader.h"
#include "tests/unit/control/apply_helpers.h"

namespace fastvs {
namespace {

using namespace fastvs::testing;

TEST(ApplyService, AddUsesDefaultsAndRejectsDuplicates) {
  Config cfg;
  run_ok(cfg, "-A -t 10.0.0.1:80");
  ASSERT_EQ(cfg.services.size(), 1u);
  EXPECT_EQ(cfg.services[0].scheduler, "wlc");
  EXPECT_EQ(cfg.services[0].sched_flags, 0u);
  EXPECT_EQ(cfg.services[0].key.proto, Proto::Tcp);
  run_err(cfg, "-A -t 10.0.0.1:80 -s rr", "service TCP 10.0.0.1:80 already exists");
  run_ok(cfg, "-A -u 10.0.0.1:80 -s sh -b sh-port");  // another protocol: another service
  ASSERT_EQ(cfg.services.size(), 2u);
  EXPECT_EQ(cfg.services[1].scheduler, "sh");
  EXPECT_EQ(cfg.services[1].sched_flags, kSchedShPort);
  run_err(cfg, "-A -t 10.0.0.1", "port 0 service TCP 10.0.0.1:0 needs persistence (-p)");
}

TEST(ApplyService, Persistence) {
  Config cfg = two_arm();
  run_ok(cfg, "-A -t 10.0.0.1:80 -s rr -p 600 -M 255.255.255.0");
  const ServiceConfig* s = &cfg.services.back();
  EXPECT_TRUE(s->persistent);
  EXPECT_EQ(s->timeout, 600u);
  EXPECT_EQ(s->netmask, 0xffffff00u);
  // ipvsadm resends a service's flags whole: -E -p without -M is the whole address again.
  run_ok(cfg, "-E -t 10.0.0.1:80 -p 60");
  s = &cfg.services.back();
  EXPECT_EQ(s->scheduler, "rr");
  EXPECT_EQ(s->timeout, 60u);
  EXPECT_EQ(s->netmask, 0xffffffffu);
  // -E without -p: no longer persistent, as with ipvsadm.
  run_ok(cfg, "-E -t 10.0.0.1:80 -s wrr");
  EXPECT_FALSE(cfg.services.back().persistent);
  run_err(cfg, "-E -t 10.0.0.1:80 -M 255.255.0.0", "-M (--netmask) needs -p (--persistent)");
  run_err(cfg, "-A -t 10.0.0.2:80 -M 255.255.0.0", "-M (--netmask) needs -p (--persistent)");
}

// -o is one of the service's flags: -E without it ends one-packet scheduling, as with ipvsadm.
TEST(ApplyService, OnePacketScheduling) {
  Config cfg = two_arm();
  run_ok(cfg, "-A -u 10.0.0.1:53 -s rr -o");
  EXPECT_TRUE(cfg.services.back().ops);
  run_ok(cfg, "-E -u 10.0.0.1:53 -s rr -p 30 -o");
  EXPECT_TRUE(cfg.services.back().ops);
  EXPECT_TRUE(cfg.services.back().persistent);
  run_ok(cfg, "-E -u 10.0.0.1:53 -s wrr");
  EXPECT_FALSE(cfg.services.back().ops);
}

TEST(ApplyService, PortZeroServices) {
  Config cfg = two_arm();
  run_ok(cfg, "-A -t 172.16.254.200:0 -s rr -p");
  run_ok(cfg, "-a -t 172.16.254.200:0 -r 192.168.0.18 -m");
  run_ok(cfg, "-a -t 172.16.254.200:0 -r 192.168.0.28:0 -g");
  ASSERT_EQ(cfg.services.back().dests.size(), 2u);
  EXPECT_EQ(cfg.services.back().dests[0].rport, 0);
  EXPECT_EQ(cfg.services.back().dests[1].rport, 0);
  run_err(cfg, "-a -t 172.16.254.200:0 -r 192.168.0.38:8080 -m",
          "service TCP 172.16.254.200:0 has port 0: give the real server without a port (each "
          "connection keeps the port it was made to)");
  run_err(cfg, "-E -t 172.16.254.200:0 -s wrr",
          "port 0 service TCP 172.16.254.200:0 needs persistence (-p)");
  // An ordinary service still refuses a destination port 0.
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.38:0 -m", "real server port 0 is not valid");
}

// -f MARK [-6]: a service of its own per mark and family; no port rule (its real servers keep
// each connection's port, or map to theirs with any method, as ipvsadm leaves them).
TEST(ApplyService, FirewallMarkServices) {
  Config cfg = two_arm();
  cfg.services.clear();
  run_ok(cfg, "-A -f 80 -s rr");  // no -p needed: a mark is no port 0 service
  run_ok(cfg, "-A -f 80 -6 -s wlc");
  ASSERT_EQ(cfg.services.size(), 2u);
  EXPECT_NE(cfg.services[0].key, cfg.services[1].key);
  run_err(cfg, "-A -f 80", "service FWM 80 already exists");
  run_ok(cfg, "-a -f 80 -r 192.168.0.18 -m");
  run_ok(cfg, "-a -f 80 -r 192.168.0.28:8080 -g");
  EXPECT_EQ(cfg.services[0].dests[0].rport, 8080);
  EXPECT_EQ(cfg.services[0].dests[1].rport, 0);
  run_ok(cfg, "-e -f 80 -r 192.168.0.18 -w 5");
  EXPECT_EQ(cfg.services[0].dests[1].weight, 5);
  run_err(cfg, "-a -f 7 -r 192.168.0.18 -m", "no such service FWM 7");
  // A check of a server without a port needs one.
  run_err(cfg, "--check add -f 80 -r 192.168.0.18 tcp",
          "real server 192.168.0.18 of FWM 80 has no port to check: give port=N");
  run_ok(cfg, "--check add -f 80 -r 192.168.0.18 tcp port=80");
  EXPECT_EQ(cfg.checks.back().spec.connect_port, 80);
  run_ok(cfg, "--check add -f 80 -r 192.168.0.28:8080 http path=/");
  EXPECT_EQ(cfg.checks.back().spec.connect_port, 8080);
  run_ok(cfg, "--check pool -f 80 quorum=1");
  run_ok(cfg, "-D -f 80");
  EXPECT_TRUE(cfg.checks.empty());
  EXPECT_TRUE(cfg.pools.empty());
  ASSERT_EQ(cfg.services.size(), 1u);
  EXPECT_TRUE(cfg.services[0].key.vip.is_v6());
}

TEST(ApplyCheck, ChecksFollowTheirServiceAndDestination) {
  Config cfg = two_arm();
  cfg.services.clear();
  run_ok(cfg, "-A -t 172.16.254.200:80 -s rr");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18 -m");
  run_err(cfg, "--check add -t 172.16.254.200:80 -r 192.168.0.28 tcp",
          "no such destination 192.168.0.28:80 in service TCP 172.16.254.200:80");
  run_err(cfg, "--check add -t 172.16.254.200:81 -r 192.168.0.18 tcp",
          "no such service TCP 172.16.254.200:81");
  run_ok(cfg, "--check add -t 172.16.254.200:80 -r 192.168.0.18 tcp inhibit");
  ASSERT_EQ(cfg.checks.size(), 1u);
  EXPECT_TRUE(cfg.services.back().dests[0].inhibit);
  run_ok(cfg, "--check pool -t 172.16.254.200:80 sorry=192.168.0.99");
  ASSERT_EQ(cfg.pools.size(), 1u);
  run_err(cfg, "--check del -t 172.16.254.200:80 -r 192.168.0.28",
          "no checks on 192.168.0.28:80 in service TCP 172.16.254.200:80");
  // -d takes the destination's checks, -D the service's pool rules too.
  run_ok(cfg, "-d -t 172.16.254.200:80 -r 192.168.0.18");
  EXPECT_TRUE(cfg.checks.empty());
  run_ok(cfg, "-D -t 172.16.254.200:80");
  EXPECT_TRUE(cfg.pools.empty());
}

TEST(ApplyCheck, MiscCheckRunsAsItsUser) {
  Config cfg = two_arm();
  cfg.services.clear();
  run_ok(cfg, "-A -t 172.16.254.200:80 -s rr");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18 -m");
  run_ok(cfg,
         "--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
         "user=nobody:nogroup");
  ASSERT_EQ(cfg.checks.size(), 1u);
  EXPECT_EQ(cfg.checks[0].spec.user, "nobody");
  EXPECT_EQ(cfg.checks[0].spec.uid, 65534u);  // Debian's nobody and nogroup
  EXPECT_EQ(cfg.checks[0].spec.gid, 65534u);
  run_ok(cfg,
         "--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
         "user=daemon");
  EXPECT_EQ(cfg.checks[1].spec.uid, 1u);  // daemon, and its own group
  EXPECT_EQ(cfg.checks[1].spec.gid, 1u);
  run_err(cfg,
          "--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
          "user=fvs-no-such-user",
          "misc check user: unknown user 'fvs-no-such-user'");
  run_err(cfg,
          "--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
          "user=nobody:fvs-no-such-group",
          "misc check user: unknown group 'fvs-no-such-group'");
  EXPECT_EQ(parse_err("--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
                      "user=nobody:"),
            "bad user (user=NAME or user=NAME:GROUP) 'user=nobody:'");
  EXPECT_EQ(cfg.checks.size(), 2u);
}

TEST(ApplyTimeouts, SetKeepsZeroes) {
  Config cfg;
  run_ok(cfg, "--set 0 60 0");
  EXPECT_EQ(cfg.timeouts.tcp, 900u);
  EXPECT_EQ(cfg.timeouts.tcpfin, 60u);
  EXPECT_EQ(cfg.timeouts.udp, 300u);
  run_ok(cfg, "--set 7200 0 1");
  EXPECT_EQ(cfg.timeouts.tcp, 7200u);
  EXPECT_EQ(cfg.timeouts.tcpfin, 60u);
  EXPECT_EQ(cfg.timeouts.udp, 1u);
}

TEST(ApplyService, ServiceAddressNeedNotBeLocal) {
  Config cfg;
  run_ok(cfg, "-A -t 203.0.113.7:443 -s rr", 0);
}

TEST(ApplyService, Edit) {
  Config cfg;
  run_err(cfg, "-E -t 10.0.0.1:80 -s rr", "no such service TCP 10.0.0.1:80");
  run_ok(cfg, "-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port");
  run_ok(cfg, "-E -t 10.0.0.1:80");  // nothing given: nothing changes
  EXPECT_EQ(cfg.services[0].scheduler, "sh");
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedShFallback | kSchedShPort);
  run_ok(cfg, "-E -t 10.0.0.1:80 -b sh-port");  // keeps sh
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedShPort);
  run_ok(cfg, "-E -t 10.0.0.1:80 -s rr");  // -s without -b clears the flags
  EXPECT_EQ(cfg.services[0].scheduler, "rr");
  EXPECT_EQ(cfg.services[0].sched_flags, 0u);
  run_err(cfg, "-E -t 10.0.0.1:80 -b sh-port",
          "scheduler flag 'sh-port' needs the sh scheduler, not 'rr'");
  run_err(cfg, "-E -u 10.0.0.1:80 -s rr", "no such service UDP 10.0.0.1:80");
}

TEST(ApplyService, EditMhFlags) {
  // The bits stay with the service; the names must be its scheduler's.
  Config cfg;
  run_ok(cfg, "-A -t 10.0.0.1:80 -s mh -b mh-port");
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedMhPort);
  run_ok(cfg, "-E -t 10.0.0.1:80");  // keeps mh and its flag
  EXPECT_EQ(cfg.services[0].scheduler, "mh");
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedMhPort);
  run_ok(cfg, "-E -t 10.0.0.1:80 -b mh-fallback,mh-port");  // -b without -s: mh decides
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedMhFallback | kSchedMhPort);
  run_err(cfg, "-E -t 10.0.0.1:80 -b sh-port",
          "scheduler flag 'sh-port' needs the sh scheduler, not 'mh'");
  run_ok(cfg, "-E -t 10.0.0.1:80 -s sh -b sh-port");  // to sh: its own names
  EXPECT_EQ(cfg.services[0].scheduler, "sh");
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedShPort);
  run_err(cfg, "-E -t 10.0.0.1:80 -b mh-port",
          "scheduler flag 'mh-port' needs the mh scheduler, not 'sh'");
  run_ok(cfg, "-E -t 10.0.0.1:80 -s mh");  // -s without -b clears them
  EXPECT_EQ(cfg.services[0].sched_flags, 0u);
  // flag-3 has no name under mh (nor sh): refused, the service unchanged.
  run_err(cfg, "-E -t 10.0.0.1:80 -b flag-3",
          "scheduler flag 'flag-3' has no meaning for the mh scheduler (ipvsadm could not list "
          "or save it)");
  EXPECT_EQ(cfg.services[0].sched_flags, 0u);
}

TEST(ApplyService, DeleteAndClear) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18 -m");
  run_ok(cfg, "-A -u 172.16.254.200:53 -s rr");
  run_err(cfg, "-D -t 172.16.254.200:81", "no such service TCP 172.16.254.200:81");
  run_ok(cfg, "-D -t 172.16.254.200:80");
  ASSERT_EQ(cfg.services.size(), 1u);
  EXPECT_EQ(cfg.services[0].key.proto, Proto::Udp);
  run_ok(cfg, "-A -t 172.16.254.200:80");
  run_ok(cfg, "-C");
  EXPECT_TRUE(cfg.services.empty());
  // -C clears services only.
  EXPECT_EQ(cfg.addrs.size(), 2u);
  EXPECT_EQ(cfg.routes.size(), 1u);
  run_ok(cfg, "-C");  // clearing nothing is fine
}

TEST(ApplyDest, AddInsertsAtFront) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 2 -x 10 -y 5");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.38 -m");
  const auto& d = cfg.services[0].dests;
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].rip, ip(192, 168, 0, 38));
  EXPECT_EQ(d[0].rport, 80);
  EXPECT_EQ(d[0].weight, 1);
  EXPECT_EQ(d[1].rip, ip(192, 168, 0, 28));
  EXPECT_EQ(d[1].weight, 2);
  EXPECT_EQ(d[1].u_threshold, 10u);
  EXPECT_EQ(d[1].l_threshold, 5u);
  EXPECT_EQ(d[1].method, ForwardMethod::Masq);
  EXPECT_EQ(d[2].rip, ip(192, 168, 0, 18));
}

TEST(ApplyDest, AddErrors) {
  Config cfg = two_arm();
  run_err(cfg, "-a -t 172.16.254.200:81 -r 192.168.0.18:80 -m",
          "no such service TCP 172.16.254.200:81");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 5",
          "destination 192.168.0.18:80 already exists in service TCP 172.16.254.200:80");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:8080 -m");  // another port: another dest
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28 -g");
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Route);
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.38:8080 -i");
  // -g and -i cannot map ports: the destination takes the service's port.
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Tunnel);
  EXPECT_EQ(cfg.services[0].dests[0].rport, 80);
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.38:9090 -g",
          "destination 192.168.0.38:80 already exists in service TCP 172.16.254.200:80");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.48");  // no method: -g
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Route);
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28 -m -y 1",
          "lower threshold 1 is higher than upper threshold 0");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28 -m -x 5 -y 6",
          "lower threshold 6 is higher than upper threshold 5");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.8 -m",
          "real server 192.168.0.8 is an address of this director");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 224.0.0.1 -m",
          "real server 224.0.0.1 is not a unicast address");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 0.0.0.0 -m",
          "real server 0.0.0.0 is not a unicast address");
}

// Found by fuzz_command (tests/fuzz/regressions/command/addr-on-a-real-server): a real server
// added first and then made an address of the director was saved by -S and refused by -R. The
// address is refused instead, as -a refuses it in the other order; a route's gateway too.
TEST(ApplyAddr, AnAddressThatIsARealServerOrGatewayIsRefused) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:8080 -m");
  run_ok(cfg, "ip route add 10.0.0.0/8 via 192.168.0.1 dev dpdk1");
  run_err(cfg, "ip addr add 192.168.0.18/24 dev dpdk1",
          "address 192.168.0.18 is real server 192.168.0.18:8080 of service TCP 172.16.254.200:80");
  run_err(cfg, "ip addr add 192.168.0.1/32 dev dpdk0",
          "address 192.168.0.1 is the gateway of route 10.0.0.0/8");
  run_err(cfg, "ip addr add 172.16.254.1/24 dev dpdk0",
          "address 172.16.254.1 is the gateway of route default");
  run_ok(cfg, "ip addr add 192.168.0.9/24 dev dpdk1");
}

// The other order of -a's reach check: deleting what makes a real server reachable would leave a
// configuration that -S saves and -R refuses.
TEST(ApplyAddr, DeletingWhatARealServerNeedsIsRefused) {
  Config cfg = two_arm();
  run_ok(cfg, "ip route del default");
  run_ok(cfg, "ip addr add 10.1.0.8/24 dev dpdk1");
  run_ok(cfg, "ip route add 10.9.0.0/16 via 192.168.0.1 dev dpdk1");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18 -g");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.9.0.5 -m");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.1.0.5 -i");
  run_err(cfg, "ip addr del 192.168.0.8/24 dev dpdk1",
          "address 192.168.0.8/24 is needed by route 10.9.0.0/16 via 192.168.0.1 (delete the "
          "route first)");
  run_err(cfg, "ip route del 10.9.0.0/16",
          "route 10.9.0.0/16 is needed by real server 10.9.0.5:80 of service TCP "
          "172.16.254.200:80 (delete the real server first)");
  run_err(cfg, "ip addr del 10.1.0.8/24 dev dpdk1",
          "address 10.1.0.8/24 is needed by real server 10.1.0.5:80 of service TCP "
          "172.16.254.200:80 (delete the real server first)");
  // A tunnel goes through routers: with a route to 10.1.0.5, its network's address can go.
  run_ok(cfg, "ip route add 10.1.0.0/16 via 192.168.0.1 dev dpdk1");
  run_ok(cfg, "ip addr del 10.1.0.8/24 dev dpdk1");
  run_ok(cfg, "-d -t 172.16.254.200:80 -r 10.9.0.5");
  run_ok(cfg, "ip route del 10.9.0.0/16");
  run_ok(cfg, "-d -t 172.16.254.200:80 -r 10.1.0.5");
  run_ok(cfg, "ip route del 10.1.0.0/16");
  // Direct routing needs the connected network itself: a route to it is not enough.
  run_ok(cfg, "ip route add 192.168.0.0/16 via 172.16.254.1 dev dpdk0");
  run_err(cfg, "ip addr del 192.168.0.8/24 dev dpdk1",
          "address 192.168.0.8/24 is needed by real server 192.168.0.18:80 of service TCP "
          "172.16.254.200:80 (delete the real server first)");
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -m");
  run_ok(cfg, "ip addr del 192.168.0.8/24 dev dpdk1");
}

TEST(ApplyDest, AddWithoutMethodFromACommandStruct) {
  Config cfg = two_arm();
  Command c;
  c.op = Op::AddDest;
  c.has_service = true;
  c.service = cfg.services[0].key;
  c.has_dest = true;
  c.rip = ip(192, 168, 0, 18);
  c.rport = 80;
  EXPECT_EQ(apply_command(cfg, c, 2).error(), "");  // no method: -g, as ipvsadm
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Route);
  c.rip = ip(192, 168, 0, 19);
  c.has_method = true;
  c.weight = 70000;
  c.has_weight = true;
  EXPECT_EQ(apply_command(cfg, c, 2).error(), "bad weight 70000 (0..65535)");
  EXPECT_EQ(cfg.services[0].dests.size(), 1u);
}

TEST(ApplyDest, DirectRoutingNeedsTheDirectorsLan) {
  Config cfg = two_arm();
  run_ok(cfg, "ip route add 10.9.0.0/16 via 192.168.0.1 dev dpdk1");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 10.9.0.5 -g",
          "real server 10.9.0.5 is not on a connected network: direct routing (-g) needs it on "
          "the director's LAN");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.9.0.5 -i");  // a tunnel goes through routers
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.9.0.6 -m");
  run_err(cfg, "-e -t 172.16.254.200:80 -r 10.9.0.6 -g",
          "real server 10.9.0.6 is not on a connected network: direct routing (-g) needs it on "
          "the director's LAN");
}

TEST(ApplyDest, MasqNeedsConnectedNetworkOrRoute) {
  Config cfg;
  run_ok(cfg, "ip addr add 192.168.0.8/24 dev dpdk1");
  run_ok(cfg, "-A -t 172.16.254.200:80 -s rr");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 10.1.2.3:80 -m",
          "real server 10.1.2.3 is not on a connected network or route");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m");  // connected
  run_ok(cfg, "ip route add 10.1.0.0/16 via 192.168.0.1 dev dpdk1");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.1.2.3:80 -m");  // routed
  run_err(cfg, "-a -t 172.16.254.200:80 -r 10.2.0.1:80 -m",
          "real server 10.2.0.1 is not on a connected network or route");
  run_ok(cfg, "ip route add default via 192.168.0.1");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.2.0.1:80 -m");  // the default route covers it
}

TEST(ApplyDest, EditUpdatesOnlyWhatIsGiven) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 3 -x 100 -y 10");
  run_err(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.28:80 -w 1",
          "no such destination 192.168.0.28:80 in service TCP 172.16.254.200:80");
  run_err(cfg, "-e -t 172.16.254.200:81 -r 192.168.0.18:80 -w 1",
          "no such service TCP 172.16.254.200:81");
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -w 0");
  const DestConfig& d = cfg.services[0].dests[0];
  EXPECT_EQ(d.weight, 0);
  EXPECT_EQ(d.u_threshold, 100u);
  EXPECT_EQ(d.l_threshold, 10u);
  EXPECT_EQ(d.method, ForwardMethod::Masq);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -x 50");
  EXPECT_EQ(cfg.services[0].dests[0].u_threshold, 50u);
  EXPECT_EQ(cfg.services[0].dests[0].l_threshold, 10u);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -m -y 0 -x 0");
  EXPECT_EQ(cfg.services[0].dests[0].u_threshold, 0u);
  run_err(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -y 1",
          "lower threshold 1 is higher than upper threshold 0");
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -g");
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Route);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -i -w 9");
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Tunnel);
}

TEST(ApplyDest, LastWeightIsTheLatestNonZeroWeight) {
  // __ip_vs_update_dest: "if (add || udest->weight != 0) last_weight = weight" (mh's table).
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 5");
  const DestConfig& d = cfg.services[0].dests[0];
  EXPECT_EQ(d.last_weight, 5);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -w 0");
  EXPECT_EQ(cfg.services[0].dests[0].weight, 0);
  EXPECT_EQ(cfg.services[0].dests[0].last_weight, 5);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -x 10");  // weight untouched
  EXPECT_EQ(cfg.services[0].dests[0].last_weight, 5);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -w 3");
  EXPECT_EQ(cfg.services[0].dests[0].last_weight, 3);
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 0");  // added at 0: 0
  EXPECT_EQ(cfg.services[0].dests[0].last_weight, 0);
}

TEST(ApplyDest, Delete) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m");
  run_err(cfg, "-d -t 172.16.254.200:80 -r 192.168.0.18:81",
          "no such destination 192.168.0.18:81 in service TCP 172.16.254.200:80");
  run_err(cfg, "-d -u 172.16.254.200:80 -r 192.168.0.18", "no such service UDP 172.16.254.200:80");
  run_ok(cfg, "-d -t 172.16.254.200:80 -r 192.168.0.18");
  ASSERT_EQ(cfg.services[0].dests.size(), 1u);
  EXPECT_EQ(cfg.services[0].dests[0].rip, ip(192, 168, 0, 28));
}

TEST(ApplyAddr, AddAndDelete) {
  Config cfg;
  run_ok(cfg, "ip addr add 172.16.254.200/24 dev dpdk0");
  run_ok(cfg, "ip addr add 172.16.254.201/24 dev dpdk0");
  run_ok(cfg, "ip addr add 192.168.0.8/24 dev dpdk1");
  ASSERT_EQ(cfg.addrs.size(), 3u);
  EXPECT_EQ(cfg.addrs[2].ip, ip(192, 168, 0, 8));
  EXPECT_EQ(cfg.addrs[2].prefix_len, 24);
  EXPECT_EQ(cfg.addrs[2].port, 1);
  run_err(cfg, "ip addr add 172.16.254.200/24 dev dpdk0",
          "address 172.16.254.200 already exists on dpdk0");
  run_err(cfg, "ip addr add 172.16.254.200/32 dev dpdk1",
          "address 172.16.254.200 already exists on dpdk0");
  run_err(cfg, "ip addr del 172.16.254.200/32 dev dpdk0",
          "address 172.16.254.200/32 not found on dpdk0");
  run_err(cfg, "ip addr del 172.16.254.200/24 dev dpdk1",
          "address 172.16.254.200/24 not found on dpdk1");
  run_ok(cfg, "ip addr del 172.16.254.200/24 dev dpdk0");
  ASSERT_EQ(cfg.addrs.size(), 2u);
  EXPECT_EQ(cfg.addrs[0].ip, ip(172, 16, 254, 201));
}

TEST(ApplyAddr, PortsAndInvalidAddresses) {
  Config cfg;
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk5",
          "no port dpdk5 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk2",
          "no port dpdk2 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk1",
          "no port dpdk1 (the director has 1 port: dpdk0)", 1);
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk0", "no port dpdk0 (the director has no ports)", 0);
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk4",
          "no port dpdk4 (the director has 4 ports: dpdk0..dpdk3)", 4);
  run_err(cfg, "ip addr del 10.0.0.1/24 dev dpdk4",
          "no port dpdk4 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip addr add 0.0.0.0/0 dev dpdk0", "invalid interface address 0.0.0.0");
  run_err(cfg, "ip addr add 224.0.0.5/32 dev dpdk0", "invalid interface address 224.0.0.5");
  run_err(cfg, "ip addr add 255.255.255.255/32 dev dpdk0",
          "invalid interface address 255.255.255.255");
  run_err(cfg, "ip addr add 127.0.0.1/8 dev dpdk0", "invalid interface address 127.0.0.1");
}

TEST(ApplyAddr, DeleteRefusedWhileARouteNeedsIt) {
  Config cfg = two_arm();
  run_err(cfg, "ip addr del 172.16.254.200/24 dev dpdk0",
          "address 172.16.254.200/24 is needed by route default via 172.16.254.1 (delete the "
          "route first)");
  run_ok(cfg, "ip addr add 172.16.254.201/24 dev dpdk0");
  run_ok(cfg, "ip addr del 172.16.254.200/24 dev dpdk0");  // .201 still connects the gateway
  run_ok(cfg, "ip route del default");
  run_ok(cfg, "ip addr del 172.16.254.201/24 dev dpdk0");
}

TEST(ApplyRoute, AddAndDelete) {
  Config cfg = two_arm();
  ASSERT_EQ(cfg.routes.size(), 1u);
  EXPECT_EQ(cfg.routes[0].prefix, IpAddr{});
  EXPECT_EQ(cfg.routes[0].prefix_len, 0);
  EXPECT_EQ(cfg.routes[0].via, ip(172, 16, 254, 1));
  EXPECT_EQ(cfg.routes[0].port, 0);
  run_ok(cfg, "ip route add 10.1.0.0/16 via 192.168.0.1");  // port from the gateway
  EXPECT_EQ(cfg.routes[1].port, 1);
  run_ok(cfg, "ip route add 10.2.0.0/16 dev dpdk1");  // on-link
  EXPECT_EQ(cfg.routes[2].via, IpAddr{});
  EXPECT_EQ(cfg.routes[2].port, 1);
  run_err(cfg, "ip route add default via 172.16.254.2 dev dpdk0", "route default already exists");
  run_err(cfg, "ip route add 10.1.0.0/16 dev dpdk0", "route 10.1.0.0/16 already exists");
  run_err(cfg, "ip route del 10.3.0.0/16", "no such route 10.3.0.0/16");
  run_err(cfg, "ip route del 10.1.0.0/16 via 192.168.0.2", "no such route 10.1.0.0/16");
  run_err(cfg, "ip route del 10.1.0.0/16 dev dpdk0", "no such route 10.1.0.0/16");
  run_err(cfg, "ip route del 172.16.254.0/24", "no such route 172.16.254.0/24");  // connected
  run_ok(cfg, "ip route del 10.1.0.0/16 via 192.168.0.1 dev dpdk1");
  run_ok(cfg, "ip route del default");
  ASSERT_EQ(cfg.routes.size(), 1u);
  EXPECT_EQ(cfg.routes[0].prefix, ip(10, 2, 0, 0));
}

TEST(ApplyRoute, GatewayMustBeConnected) {
  Config cfg = two_arm();
  run_err(cfg, "ip route add 10.0.0.0/8 via 10.9.9.9 dev dpdk0",
          "gateway 10.9.9.9 is not on a connected network of dpdk0");
  run_err(cfg, "ip route add 10.0.0.0/8 via 192.168.0.1 dev dpdk0",
          "gateway 192.168.0.1 is not on a connected network of dpdk0");
  run_err(cfg, "ip route add 10.0.0.0/8 via 10.9.9.9",
          "gateway 10.9.9.9 is not on a connected network");
  run_err(cfg, "ip route add 10.0.0.0/8 via 192.168.0.8",
          "gateway 192.168.0.8 is an address of this director");
  run_err(cfg, "ip route add 10.0.0.0/8 via 192.168.0.1 dev dpdk3",
          "no port dpdk3 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip route add 10.0.0.0/8 dev dpdk2",
          "no port dpdk2 (the director has 2 ports: dpdk0..dpdk1)");
  Config empty;
  run_err(empty, "ip route add default via 172.16.254.1 dev dpdk0",
          "gateway 172.16.254.1 is not on a connected network of dpdk0");
}

TEST(ApplyRoute, HostBitsFromACommandStruct) {
  Config cfg;
  Command c;
  c.op = Op::RouteAdd;
  c.ip = ip(10, 0, 0, 1);
  c.prefix_len = 24;
  c.has_port = true;
  EXPECT_EQ(apply_command(cfg, c, 1).error(), "invalid prefix 10.0.0.1/24: host bits set");
  EXPECT_TRUE(cfg.routes.empty());
}

TEST(ApplyNeigh, AddAndDelete) {
  Config cfg;
  run_ok(cfg, "ip neigh add 192.168.0.18 lladdr 02:00:00:AA:BB:CC dev dpdk1");
  ASSERT_EQ(cfg.neighs.size(), 1u);
  EXPECT_EQ(cfg.neighs[0].ip, ip(192, 168, 0, 18));
  EXPECT_EQ(format_mac(cfg.neighs[0].mac), "02:00:00:aa:bb:cc");
  EXPECT_EQ(cfg.neighs[0].port, 1);
  run_err(cfg, "ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cd dev dpdk1",
          "neighbour 192.168.0.18 already exists on dpdk1");
  run_ok(cfg, "ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cd dev dpdk0");  // per device
  run_err(cfg, "ip neigh add 192.168.0.19 lladdr 02:00:00:aa:bb:cd dev dpdk2",
          "no port dpdk2 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip neigh add 192.168.0.19 lladdr 01:00:5e:00:00:01 dev dpdk1",
          "lladdr 01:00:5e:00:00:01 is not a unicast MAC address");
  run_err(cfg, "ip neigh add 192.168.0.19 lladdr 00:00:00:00:00:00 dev dpdk1",
          "lladdr 00:00:00:00:00:00 is not a unicast MAC address");
  run_err(cfg, "ip neigh add 224.0.0.1 lladdr 02:00:00:aa:bb:cd dev dpdk1",
          "invalid neighbour address 224.0.0.1");
  run_err(cfg, "ip neigh del 192.168.0.19 dev dpdk1", "no neighbour 192.168.0.19 on dpdk1");
  run_err(cfg, "ip neigh del 192.168.0.18 dev dpdk3",
          "no port dpdk3 (the director has 2 ports: dpdk0..dpdk1)");
  run_ok(cfg, "ip neigh del 192.168.0.18 dev dpdk1");
  ASSERT_EQ(cfg.neighs.size(), 1u);
  EXPECT_EQ(cfg.neighs[0].port, 0);
}

TEST(ApplyDaemon, StartAndStop) {
  Config cfg = two_arm();
  run_ok(cfg, "--start-daemon master --mcast-interface dpdk1 --syncid 3 --mcast-ttl 2");
  ASSERT_TRUE(cfg.sync_master.has_value());
  EXPECT_FALSE(cfg.sync_backup.has_value());
  EXPECT_EQ(cfg.sync_master->ifname, "dpdk1");
  EXPECT_EQ(cfg.sync_master->syncid, 3);
  EXPECT_EQ(cfg.sync_master->ttl, 2);
  EXPECT_EQ(cfg.sync_master->port, 8848);
  run_ok(cfg, "--stop-daemon master");
  EXPECT_FALSE(cfg.sync_master.has_value());
  // Stopped, it may start again, with other settings.
  run_ok(cfg, "--start-daemon master");
  EXPECT_EQ(*cfg.sync_master, SyncDaemonConfig{});
}

TEST(ApplyDaemon, BothRolesAtOnce) {
  // As IPVS: a master and a backup may run together, each with its own settings.
  Config cfg = two_arm();
  run_ok(cfg, "--start-daemon backup --mcast-interface dpdk0 --syncid 9");
  run_ok(cfg, "--start-daemon master --mcast-interface dpdk1 --syncid 8");
  ASSERT_TRUE(cfg.sync_master && cfg.sync_backup);
  EXPECT_EQ(cfg.sync_master->ifname, "dpdk1");
  EXPECT_EQ(cfg.sync_master->syncid, 8);
  EXPECT_EQ(cfg.sync_backup->ifname, "dpdk0");
  EXPECT_EQ(cfg.sync_backup->syncid, 9);
  // Stopping one leaves the other.
  run_ok(cfg, "--stop-daemon backup");
  EXPECT_FALSE(cfg.sync_backup);
  ASSERT_TRUE(cfg.sync_master);
  EXPECT_EQ(cfg.sync_master->syncid, 8);
  // -C clears the services, not the daemons (ipvsadm -C flushes the table only).
  run_ok(cfg, "-C");
  EXPECT_TRUE(cfg.sync_master);
}

TEST(ApplyDaemon, Refusals) {
  Config cfg = two_arm();
  run_err(cfg, "--stop-daemon master", "no master sync daemon is running");
  run_err(cfg, "--stop-daemon backup", "no backup sync daemon is running");
  run_ok(cfg, "--start-daemon master --syncid 1");
  // Running once: a second start changes nothing, whatever it asks for.
  run_err(cfg, "--start-daemon master --syncid 2",
          "the master sync daemon is already running (--stop-daemon master first)");
  run_err(cfg, "--start-daemon master --syncid 1",
          "the master sync daemon is already running (--stop-daemon master first)");
  EXPECT_EQ(cfg.sync_master->syncid, 1);
  run_err(cfg, "--stop-daemon backup", "no backup sync daemon is running");
  run_ok(cfg, "--start-daemon backup");
  run_err(cfg, "--start-daemon backup --mcast-interface dpdk1",
          "the backup sync daemon is already running (--stop-daemon backup first)");
  // The interface must be one of the director's ports, as `ip addr add ... dev` needs it.
  run_ok(cfg, "--stop-daemon master");
  run_err(cfg, "--start-daemon master --mcast-interface dpdk2",
          "no port dpdk2 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "--start-daemon master --mcast-interface dpdk1",
          "no port dpdk1 (the director has 1 port: dpdk0)", 1);
  run_err(cfg, "--start-daemon master", "no port dpdk0 (the director has no ports)", 0);
  EXPECT_FALSE(cfg.sync_master);
}

TEST(ApplyDaemon, ValuesFromACommandStruct) {
  // A Command need not come from text: what the grammar refuses, applying refuses too.
  Config cfg;
  Command c;
  c.op = Op::StartDaemon;
  c.sync_is_master = true;
  c.sync.ifname = "eth0";
  EXPECT_EQ(apply_command(cfg, c, 2).error(),
            "unknown device 'eth0' (the director's ports are dpdk0, dpdk1, ...)");
  c.sync = SyncDaemonConfig{};
  c.sync.group = 0x0a000001;
  EXPECT_FALSE(apply_command(cfg, c, 2).ok());
  c.sync = SyncDaemonConfig{};
  c.sync.ttl = 0;
  EXPECT_FALSE(apply_command(cfg, c, 2).ok());
  c.sync = SyncDaemonConfig{};
  c.sync.maxlen = 65508;
  EXPECT_FALSE(apply_command(cfg, c, 2).ok());
  EXPECT_EQ(cfg, Config{});
  c.sync = SyncDaemonConfig{};
  EXPECT_TRUE(apply_command(cfg, c, 2).ok());
}

TEST(Apply, ListingCommandsAreNotChanges) {
  Config cfg = two_arm();
  run_err(cfg, "-L -n", "-L (--list) does not change the configuration");
  run_err(cfg, "-l", "-L (--list) does not change the configuration");
  run_err(cfg, "-S", "-S (--save) does not change the configuration");
  run_err(cfg, "-R", "-R (--restore) does not change the configuration");
  run_err(cfg, "-Z", "-Z (--zero) does not change the configuration");
  run_err(cfg, "ip addr", "ip addr show does not change the configuration");
  run_err(cfg, "ip route show", "ip route show does not change the configuration");
  run_err(cfg, "ip neigh show", "ip neigh show does not change the configuration");
  run_err(cfg, "--check list", "--check list does not change the configuration");
  run_err(cfg, "-L --daemon", "-L (--list) does not change the configuration");
  // Not a line of a configuration file.
  run_err(cfg, "--keepalived-reload", "--keepalived-reload is not a configuration command");
}

// ---------------------------------------------------------------------------------------------
// IPv6: services and real servers; a real server of the other family is a tunnel's (the grammar
// takes it with -i alone), and the sync daemons refuse it, as the kernel does. A refusal is
// whole, with nothing changed.

// Applies `line` (it parses) to a copy of cfg: the error, and cfg must be as it was, every
// field (checks and pools included).
std::string refused(const Config& cfg, const std::string& line) {
  Config after = cfg;
  const std::string err = run(after, line);
  EXPECT_TRUE(after == cfg) << line << " changed the configuration";
  return err;
}

TEST(ApplyIpv6, ServicesRealServersAndTunnelsBetweenTheFamilies) {
  Config cfg = two_arm();
  run_ok(cfg, "ip addr add 2001:db8:1::8/64 dev dpdk1");
  run_ok(cfg, "-A -t [2001:db8::1]:80 -s rr");
  run_ok(cfg, "-a -t [2001:db8::1]:80 -r [2001:db8:1::10]:8080 -m");
  run_ok(cfg, "-a -t [2001:db8::1]:80 -r 2001:db8:1::11 -g");
  run_ok(cfg, "--check add -t [2001:db8::1]:80 -r [2001:db8:1::10]:8080 tcp");
  run_ok(cfg, "--check pool -t [2001:db8::1]:80 sorry=[2001:db8:1::99]:80");
  ASSERT_EQ(cfg.services.size(), 2u);
  EXPECT_EQ(cfg.services[1].dests.size(), 2u);
  EXPECT_EQ(refused(cfg, "-a -t [2001:db8::1]:80 -r 2001:db8:2::10 -g"),
            "real server 2001:db8:2::10 is not on a connected network or route");
  // Tunnels between the families.
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 2001:db8:1::10 -i");
  run_ok(cfg, "-a -t [2001:db8::1]:80 -r 192.168.0.18 -i");
  EXPECT_EQ(refused(cfg, "--check pool -t 172.16.254.200:80 sorry=[2001:db8:1::99]:80"),
            "sorry server 2001:db8:1::99 of service TCP 172.16.254.200:80: a different address "
            "family is allowed only for tunneling servers (tunnel)");
  run_ok(cfg, "--check pool -t 172.16.254.200:80 sorry=[2001:db8:1::99]:80 tunnel");
  // ip_vs_genl_set_cmd: not while a sync daemon runs.
  Config synced = cfg;
  run_ok(synced, "--start-daemon master --mcast-interface dpdk1");
  EXPECT_EQ(refused(synced, "-a -t 172.16.254.200:80 -r 2001:db8:1::12 -i"),
            "real server 2001:db8:1::12 is not of service TCP 172.16.254.200:80's family: the "
            "sync protocol cannot carry its connections (stop the sync daemon first)");
  run_ok(synced, "-a -t 172.16.254.200:80 -r 192.168.0.28 -i");
  // A check connects from an address of the family it connects to (keepalived.conf's bindto).
  {
    Result<Command> c = parse("--check add -t [2001:db8::1]:80 -r 2001:db8:1::11 tcp");
    ASSERT_TRUE(c.ok()) << c.error();
    c->check.spec.bindto = ip(192, 168, 0, 8);
    const Config before = cfg;
    EXPECT_EQ(apply_command(cfg, *c, 2).error(),
              "bindto 192.168.0.8 is not of the family of 2001:db8:1::11");
    EXPECT_TRUE(cfg == before);
  }
  // A check may connect over either family (keepalived's connect_ip).
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m");
  run_ok(cfg, "--check add -t 172.16.254.200:80 -r 192.168.0.18:80 tcp ip=2001:db8:1::18");
  run_ok(cfg, "-D -t [2001:db8::1]:80");
  EXPECT_EQ(cfg.services.size(), 1u);
}

// Addresses, routes and neighbours the data plane has (neighbour discovery, echo, next hops).
TEST(ApplyIpv6, AddressesRoutesAndNeighboursTaken) {
  Config cfg = two_arm();
  run_ok(cfg, "ip addr add 2001:db8::200/64 dev dpdk0");
  run_ok(cfg, "ip -6 route add default via fe80::1 dev dpdk0");
  run_ok(cfg, "ip route add 2001:db8:2::/48 via 2001:db8::1");
  run_ok(cfg, "ip neigh add fe80::18 lladdr 02:00:00:00:00:18 dev dpdk1");
  ASSERT_EQ(cfg.routes.size(), 3u);  // the IPv4 default and these two
  EXPECT_EQ(cfg.routes[2].port, 0);  // the gateway's port, from the address's subnet
  EXPECT_EQ(refused(cfg, "ip -6 route add 2001:db8:3::/48 via fe80::1"),
            "gateway fe80::1 is link-local: name its port (dev dpdkN)");
  EXPECT_EQ(refused(cfg, "ip route add 2001:db8:4::/48 via 2001:db8:9::1"),
            "gateway 2001:db8:9::1 is not on a connected network");
  EXPECT_EQ(refused(cfg, "ip -6 addr del 2001:db8::200/64 dev dpdk0"),
            "address 2001:db8::200/64 is needed by route 2001:db8:2::/48 via 2001:db8::1 (delete "
            "the route first)");
  run_ok(cfg, "ip route del 2001:db8:2::/48");
  // A link-local gateway needs no address of ours.
  run_ok(cfg, "ip -6 addr del 2001:db8::200/64 dev dpdk0");
}

TEST(ApplyIpv6, ACommandStructIsRefusedToo) {
  // Not only what the grammar makes: the model's fields, set directly.
  Config cfg = two_arm();
  const Config before = cfg;
  Command pool;
  pool.op = Op::CheckPool;
  pool.has_service = true;
  pool.service = {Proto::Tcp, ip(172, 16, 254, 200), 80};
  pool.pool.service = pool.service;
  pool.pool.has_sorry = true;
  pool.pool.sorry_ip = ip6("2001:db8:1::10");
  EXPECT_EQ(apply_command(cfg, pool, 2).error(),
            "sorry server 2001:db8:1::10 of service TCP 172.16.254.200:80: a different address "
            "family is allowed only for tunneling servers (tunnel)");
  Command r;  // an IPv4 prefix through an IPv6 gateway (the grammar refuses the mix)
  r.op = Op::RouteAdd;
  r.ip = IpAddr{};
  r.prefix_len = 0;
  r.via = ip6("fe80::1");
  r.has_port = true;
  EXPECT_EQ(apply_command(cfg, r, 2).error(), "gateway fe80::1 is not of route default's family");
  EXPECT_TRUE(cfg == before);
}

TEST(ApplyIpv6, ARestoreWithAMixedFamilyRealServerNotATunnelIsRefusedWhole) {
  // -R (the bulk loader, which batches -a lines): nothing of it is applied.
  const std::string base =
      "ip addr add 172.16.254.200/24 dev dpdk0\n"
      "ip addr add 192.168.0.8/24 dev dpdk1\n"
      "-A -t 172.16.254.200:80 -s rr\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m\n";
  ASSERT_TRUE(load_config_text(base, "r.conf", 2).ok());
  Result<Config> r = load_config_text(
      base +
          "-a -t 172.16.254.200:80 -r 192.168.0.28 -m\n--check pool -t 172.16.254.200:80 "
          "sorry=[2001:db8:1::10]:80\n",
      "r.conf", 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(),
            "r.conf:6: sorry server 2001:db8:1::10 of service TCP 172.16.254.200:80: a different "
            "address family is allowed only for tunneling servers (tunnel)");
  EXPECT_TRUE(load_config_text(base + "-A -t [2001:db8::1]:80 -s rr\n", "r.conf", 2).ok());
}

}  // namespace
}  // namespace fastvs
