// The health checks' verdicts over the operator's table (control/health/overlay.h): what the
// workers run, which verdicts survive a configuration change, and stale verdicts ignored.
#include <gtest/gtest.h>

#include "control/health/overlay.h"
#include "tests/unit/control/apply_helpers.h"

namespace fastvs {
namespace {

using namespace fastvs::testing;

// Two checked services (80 and 81) on the two-arm director, two real servers each.
Config checked() {
  Config cfg = two_arm();
  run_ok(cfg, "-A -t 172.16.254.200:81 -s rr");
  for (const char* svc : {"172.16.254.200:80", "172.16.254.200:81"}) {
    run_ok(cfg, std::string("-a -t ") + svc + " -r 192.168.0.18 -m -w 3");
    run_ok(cfg, std::string("-a -t ") + svc + " -r 192.168.0.28 -m -w 2");
    run_ok(cfg, std::string("--check add -t ") + svc + " -r 192.168.0.18 tcp");
    run_ok(cfg, std::string("--check add -t ") + svc + " -r 192.168.0.28 tcp");
  }
  return cfg;
}

const ServiceKey k80{Proto::Tcp, ip(172, 16, 254, 200), 80};
const ServiceKey k81{Proto::Tcp, ip(172, 16, 254, 200), 81};

DestConfig dest(IpAddr rip, int32_t weight, uint16_t rport = 80) {
  DestConfig d;
  d.rip = rip;
  d.rport = rport;
  d.method = ForwardMethod::Masq;
  d.weight = weight;
  return d;
}

const ServiceConfig& service(const Config& c, const ServiceKey& k) {
  for (const ServiceConfig& s : c.services)
    if (s.key == k) return s;
  static const ServiceConfig none;
  ADD_FAILURE() << "no service " << service_name(k);
  return none;
}

TEST(HealthOverlay, DefinitionsGoToTheThreadOnlyWhenTheyChange) {
  HealthOverlay o;
  const Config cfg = checked();
  auto defs = o.configure(cfg);
  ASSERT_TRUE(defs.has_value());
  EXPECT_EQ(defs->size(), 2u);
  EXPECT_EQ(o.checked(), 2u);
  EXPECT_FALSE(o.configure(cfg).has_value());
  Config weight = cfg;  // a weight is part of the pool's definition
  run_ok(weight, "-e -t 172.16.254.200:81 -r 192.168.0.18 -m -w 5");
  EXPECT_TRUE(o.configure(weight).has_value());
}

TEST(HealthOverlay, VerdictsShapeWhatTheWorkersRun) {
  HealthOverlay o;
  const Config cfg = checked();
  (void)o.configure(cfg);
  // No verdict yet: the configured destinations.
  EXPECT_EQ(o.effective(cfg), cfg);
  // rs2 down: out of service 80; rs1 inhibited to weight 0 in 81 keeps its last weight for mh.
  EXPECT_TRUE(o.verdict(cfg, k80, {dest(ip(192, 168, 0, 18), 3)}));
  EXPECT_TRUE(
      o.verdict(cfg, k81, {dest(ip(192, 168, 0, 28), 2, 81), dest(ip(192, 168, 0, 18), 0, 81)}));
  const Config eff = o.effective(cfg);
  ASSERT_EQ(service(eff, k80).dests.size(), 1u);
  EXPECT_EQ(service(eff, k80).dests[0].rip, ip(192, 168, 0, 18));
  ASSERT_EQ(service(eff, k81).dests.size(), 2u);
  EXPECT_EQ(service(eff, k81).dests[1].weight, 0);
  EXPECT_EQ(service(eff, k81).dests[1].last_weight, 3);
  // The operator's table is untouched (what -S saves).
  EXPECT_EQ(service(cfg, k80).dests.size(), 2u);
  // A verdict about a service that left (a reload raced the thread) changes nothing.
  const ServiceKey gone{Proto::Tcp, ip(172, 16, 254, 200), 99};
  EXPECT_FALSE(o.verdict(cfg, gone, {}));
  EXPECT_EQ(o.effective(cfg), eff);
}

TEST(HealthOverlay, AChangedDefinitionDropsThatServicesVerdictOnly) {
  HealthOverlay o;
  Config cfg = checked();
  (void)o.configure(cfg);
  ASSERT_TRUE(o.verdict(cfg, k80, {dest(ip(192, 168, 0, 18), 3)}));
  ASSERT_TRUE(o.verdict(cfg, k81, {dest(ip(192, 168, 0, 18), 3, 81)}));
  // Service 81's check changes: it starts over with its configured destinations; 80 keeps its
  // verdict.
  run_ok(cfg, "--check del -t 172.16.254.200:81 -r 192.168.0.28");
  ASSERT_TRUE(o.configure(cfg).has_value());
  const Config eff = o.effective(cfg);
  EXPECT_EQ(service(eff, k80).dests.size(), 1u);
  EXPECT_EQ(service(eff, k81).dests.size(), 2u);
  // An unrelated change (a service without checks) keeps every verdict.
  run_ok(cfg, "-A -t 172.16.254.200:82 -s rr");
  EXPECT_FALSE(o.configure(cfg).has_value());
  EXPECT_EQ(service(o.effective(cfg), k80).dests.size(), 1u);
}

TEST(HealthOverlay, AVerdictAfterItsChecksWereDeletedIsIgnored) {
  // The health thread may have sent a verdict before --check del reached it: arriving after,
  // it must not take the service's real servers out again (nothing would bring them back).
  HealthOverlay o;
  Config cfg = checked();
  (void)o.configure(cfg);
  run_ok(cfg, "--check del -t 172.16.254.200:80");
  ASSERT_TRUE(o.configure(cfg).has_value());
  EXPECT_FALSE(o.verdict(cfg, k80, {dest(ip(192, 168, 0, 18), 3)}));
  EXPECT_EQ(service(o.effective(cfg), k80).dests.size(), 2u);
}

}  // namespace
}  // namespace fastvs
