// keepalived's health-check semantics (common/health): checkers driven by a fake clock, real
// servers, quorum and hysteresis, inhibit_on_failure, the sorry server, and the fastvsadm
// commands the changes become.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/grammar/command.h"
#include "control/health/state.h"

namespace fastvs {
namespace {

constexpr IpAddr ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return IpAddr::v4(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d);
}

// The seed's checker: TCP_CHECK, delay_loop 6, nb_get_retry 3, delay_before_retry 3.
CheckSpec tcp_spec(IpAddr rip = ip(192, 168, 0, 18), unsigned retry = 3) {
  CheckSpec s;
  s.kind = CheckKind::Tcp;
  s.delay_loop = 6;
  s.delay_before_retry = 3;
  s.retry = retry;
  s.warmup = 6;
  s.connect_ip = rip;
  s.connect_port = 80;
  s.connect_timeout = 10;
  return s;
}

CheckResult ok(std::string reason = "connect to 192.168.0.18:80 succeeded") {
  return {true, std::move(reason), -1};
}
CheckResult refused() {
  return {false, "connect to 192.168.0.18:80 failed: connection refused", -1};
}

// Runs the checker at its due time with `result`; returns the event and leaves `now` there.
std::optional<CheckerEvent> step(Checker& c, double& now, const CheckResult& result) {
  now = c.next_run();
  EXPECT_TRUE(c.due(now));
  EXPECT_FALSE(c.due(now - 0.001));
  c.begin(now);
  EXPECT_FALSE(c.due(now));  // a running checker is never due
  return c.finish(now, result);
}

// ---------------------------------------------------------------------------------------------
// Checker

TEST(Checker, FirstRunAfterBootstrapDelayAndWarmupJitter) {
  // check_api.c: BOOTSTRAP_DELAY (1 s) + rand() * warmup.
  EXPECT_DOUBLE_EQ(Checker(tcp_spec(), 100).next_run(), 101);
  EXPECT_DOUBLE_EQ(Checker(tcp_spec(), 100, 0.5).next_run(), 104);
  CheckSpec s = tcp_spec();
  s.warmup = 0;
  EXPECT_DOUBLE_EQ(Checker(s, 100, 0.9).next_run(), 101);
}

TEST(Checker, StartsUpWithoutAlphaAndOneFailureIsEnoughInitially) {
  Checker c(tcp_spec(), 0);
  EXPECT_TRUE(c.up());
  double now = 0;
  const auto ev = step(c, now, refused());
  ASSERT_TRUE(ev);
  EXPECT_FALSE(ev->up);
  // validate_check_config: retry_it = retry at start, so no retries and no "after N retries".
  EXPECT_EQ(ev->reason, "connect to 192.168.0.18:80 failed: connection refused");
  EXPECT_FALSE(c.up());
  EXPECT_DOUBLE_EQ(c.next_run(), now + 6);
}

TEST(Checker, UpCheckerRetriesThenGoesDown) {
  Checker c(tcp_spec(), 0);
  double now = 0;
  EXPECT_FALSE(step(c, now, ok()));  // already up: no event
  EXPECT_DOUBLE_EQ(now, 1);
  EXPECT_DOUBLE_EQ(c.next_run(), 7);  // delay_loop
  // 1 failure + 3 retries, delay_before_retry apart.
  EXPECT_FALSE(step(c, now, refused()));
  EXPECT_DOUBLE_EQ(now, 7);
  EXPECT_EQ(c.retries_done(), 1u);
  EXPECT_DOUBLE_EQ(c.next_run(), 10);
  EXPECT_FALSE(step(c, now, refused()));
  EXPECT_DOUBLE_EQ(c.next_run(), 13);
  EXPECT_FALSE(step(c, now, refused()));
  EXPECT_DOUBLE_EQ(c.next_run(), 16);
  EXPECT_TRUE(c.up());
  const auto ev = step(c, now, refused());
  ASSERT_TRUE(ev);
  EXPECT_FALSE(ev->up);
  EXPECT_EQ(ev->reason, "connect to 192.168.0.18:80 failed: connection refused after 3 retries");
  EXPECT_DOUBLE_EQ(now, 16);
  EXPECT_FALSE(c.up());
  EXPECT_DOUBLE_EQ(c.next_run(), 22);  // back to delay_loop
}

TEST(Checker, FailsNTimesThenRecovers) {
  Checker c(tcp_spec(), 0);
  double now = 0;
  step(c, now, ok());
  int failures = 0;
  std::optional<CheckerEvent> ev;
  while (!ev) {
    ev = step(c, now, refused());
    ++failures;
  }
  EXPECT_EQ(failures, 4);  // the failure and its 3 retries
  // A down checker is not retried: it runs every delay_loop.
  EXPECT_FALSE(step(c, now, refused()));
  EXPECT_EQ(c.retries_done(), 0u);
  EXPECT_DOUBLE_EQ(c.next_run(), now + 6);
  EXPECT_FALSE(step(c, now, refused()));
  // The first success brings it back.
  ev = step(c, now, ok("connect to 192.168.0.18:80 succeeded"));
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->up);
  EXPECT_EQ(ev->reason, "connect to 192.168.0.18:80 succeeded");
  EXPECT_TRUE(c.up());
  EXPECT_DOUBLE_EQ(c.next_run(), now + 6);
  // And the next failure gets its retries again.
  EXPECT_FALSE(step(c, now, refused()));
  EXPECT_TRUE(c.up());
  EXPECT_DOUBLE_EQ(c.next_run(), now + 3);
}

TEST(Checker, SuccessResetsTheRetries) {
  Checker c(tcp_spec(), 0);
  double now = 0;
  step(c, now, ok());
  step(c, now, refused());
  step(c, now, refused());
  EXPECT_EQ(c.retries_done(), 2u);
  EXPECT_FALSE(step(c, now, ok()));
  EXPECT_EQ(c.retries_done(), 0u);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(step(c, now, refused()));
  EXPECT_TRUE(step(c, now, refused()));
}

TEST(Checker, RetryZeroGoesDownAtTheFirstFailure) {
  CheckSpec s = tcp_spec(ip(192, 168, 0, 18), 0);
  Checker c(s, 0);
  double now = 0;
  step(c, now, ok());
  const auto ev = step(c, now, refused());
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->reason, "connect to 192.168.0.18:80 failed: connection refused");
}

TEST(Checker, OneRetrySaysRetry) {
  Checker c(tcp_spec(ip(192, 168, 0, 18), 1), 0);
  double now = 0;
  step(c, now, ok());
  step(c, now, refused());
  const auto ev = step(c, now, refused());
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->reason, "connect to 192.168.0.18:80 failed: connection refused after 1 retry");
}

TEST(Checker, AlphaStartsDownAndNeedsASuccess) {
  CheckSpec s = tcp_spec();
  s.alpha = true;
  Checker c(s, 0);
  EXPECT_FALSE(c.up());
  double now = 0;
  // Failures of a down checker change nothing and are not retried.
  EXPECT_FALSE(step(c, now, refused()));
  EXPECT_DOUBLE_EQ(c.next_run(), now + 6);
  EXPECT_FALSE(step(c, now, refused()));
  const auto ev = step(c, now, ok());
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->up);
  EXPECT_TRUE(c.up());
}

TEST(Checker, MiscCountsFromTheProgramStart) {
  CheckSpec s;
  s.kind = CheckKind::Misc;
  s.misc_path = "/usr/local/bin/check";
  s.delay_loop = 10;
  s.retry = 0;
  s.warmup = 0;
  Checker c(s, 0);
  c.begin(1);
  c.finish(4, misc_exit_result(s, 0));  // the program ran 3 s
  EXPECT_DOUBLE_EQ(c.next_run(), 11);
  // A program that overran delay_loop is run again at once.
  c.begin(11);
  c.finish(25, misc_exit_result(s, 0));
  EXPECT_DOUBLE_EQ(c.next_run(), 25);
  // TCP counts from the result.
  Checker t(tcp_spec(), 0);
  t.begin(1);
  t.finish(4, ok());
  EXPECT_DOUBLE_EQ(t.next_run(), 10);
}

TEST(Checker, MiscExitCodes) {
  CheckSpec s;
  s.kind = CheckKind::Misc;
  s.misc_path = "/bin/check web1";
  CheckResult r = misc_exit_result(s, 0);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.weight, -1);
  EXPECT_EQ(r.reason, "MISC_CHECK /bin/check web1 succeeded");
  r = misc_exit_result(s, 1);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "MISC_CHECK /bin/check web1 failed (exited with status 1)");
  EXPECT_FALSE(misc_exit_result(s, 12).ok);  // without misc_dynamic any non-zero fails
  s.misc_dynamic = true;
  r = misc_exit_result(s, 12);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.weight, 10);
  EXPECT_EQ(misc_exit_result(s, 255).weight, 253);
  EXPECT_EQ(misc_exit_result(s, 2).weight, 0);
  EXPECT_FALSE(misc_exit_result(s, 1).ok);
}

TEST(Checker, MiscDynamicWeight) {
  CheckSpec s;
  s.kind = CheckKind::Misc;
  s.misc_path = "/bin/check";
  s.misc_dynamic = true;
  Checker c(s, 0);
  EXPECT_EQ(c.weight(), -1);
  c.finish(1, misc_exit_result(s, 22));
  EXPECT_EQ(c.weight(), 20);
  c.finish(2, misc_exit_result(s, 1));  // a failure keeps the last weight
  EXPECT_EQ(c.weight(), 20);
  c.finish(3, misc_exit_result(s, 0));  // exit 0: back to the configured weight
  EXPECT_EQ(c.weight(), -1);
}

TEST(HttpUrl, StatusCodes) {
  HttpUrl u;
  EXPECT_TRUE(u.status_ok(200));
  EXPECT_TRUE(u.status_ok(299));
  EXPECT_FALSE(u.status_ok(301));
  u.status_codes = {{200, 299}, {400, 499}, {503, 503}};
  EXPECT_TRUE(u.status_ok(404));
  EXPECT_TRUE(u.status_ok(503));
  EXPECT_FALSE(u.status_ok(500));
}

TEST(CheckSpec, Describe) {
  EXPECT_EQ(tcp_spec().describe(), "TCP_CHECK 192.168.0.18:80");
  CheckSpec h = tcp_spec();
  h.kind = CheckKind::Http;
  EXPECT_EQ(h.describe(), "HTTP_GET 192.168.0.18:80");
}

// ---------------------------------------------------------------------------------------------
// Pool

PoolServer server(IpAddr rip, int32_t weight = 1, bool inhibit = false,
                  ForwardMethod m = ForwardMethod::Route) {
  PoolServer s;
  s.ip = rip;
  s.port = 80;
  s.method = m;
  s.weight = weight;
  s.inhibit = inhibit;
  return s;
}

PoolSpec pool_of(size_t n, uint32_t quorum = 1, uint32_t hysteresis = 0) {
  PoolSpec p;
  p.service = {Proto::Tcp, ip(10, 0, 1, 1), 80};
  for (size_t i = 0; i < n; ++i) p.real_servers.push_back(server(ip(10, 0, 0, 1 + i)));
  p.quorum = quorum;
  p.hysteresis = hysteresis;
  return p;
}

std::vector<RealServerState> states(size_t n, size_t alive) {
  std::vector<RealServerState> v(n);
  for (size_t i = 0; i < n; ++i) v[i].alive = i < alive;
  return v;
}

// "+10.0.0.1:80 w1" / "-10.0.0.1:80" / "=10.0.0.1:80 w0": a change in short.
std::string brief(const DestChange& c) {
  const char op = c.op == DestChange::Op::Add ? '+' : c.op == DestChange::Op::Edit ? '=' : '-';
  std::string s = std::string(1, op) + format_ip(c.dest.rip) + ":" + std::to_string(c.dest.rport);
  if (c.op != DestChange::Op::Remove) s += " w" + std::to_string(c.dest.weight);
  return s;
}

std::string brief(const std::vector<DestChange>& v) {
  std::string s;
  for (const DestChange& c : v) {
    if (!s.empty()) s += ' ';
    s += brief(c);
  }
  return s;
}

TEST(Pool, StartsWithTheAliveServersAndFollowsThem) {
  Pool p(pool_of(2));
  PoolUpdate u = p.update(states(2, 2));
  EXPECT_EQ(brief(u.changes), "+10.0.0.1:80 w1 +10.0.0.2:80 w1");
  EXPECT_FALSE(u.quorum);
  EXPECT_TRUE(p.quorum_up());
  auto rs = states(2, 2);
  rs[0].alive = false;
  rs[0].reason = "connect to 10.0.0.1:80 failed: connection refused after 3 retries";
  u = p.update(rs);
  EXPECT_EQ(brief(u.changes), "-10.0.0.1:80");
  EXPECT_EQ(u.changes[0].reason,
            "real server down: connect to 10.0.0.1:80 failed: connection refused after 3 retries");
  EXPECT_EQ(p.dests().size(), 1u);
  EXPECT_TRUE(p.update(rs).changes.empty());  // nothing changed, nothing to do
  rs[0].alive = true;
  rs[0].reason = "connect to 10.0.0.1:80 succeeded";
  u = p.update(rs);
  EXPECT_EQ(brief(u.changes), "+10.0.0.1:80 w1");
  EXPECT_EQ(u.changes[0].reason, "real server up: connect to 10.0.0.1:80 succeeded");
  EXPECT_EQ(u.changes[0].dest.method, ForwardMethod::Route);
}

TEST(Pool, InhibitOnFailureKeepsTheServerAtWeightZero) {
  PoolSpec spec = pool_of(2);
  spec.real_servers[0].inhibit = true;
  spec.real_servers[0].weight = 5;
  Pool p(spec);
  auto rs = states(2, 2);
  rs[0].weight = 5;
  EXPECT_EQ(brief(p.update(rs).changes), "+10.0.0.1:80 w5 +10.0.0.2:80 w1");
  rs[0].alive = false;
  PoolUpdate u = p.update(rs);
  EXPECT_EQ(brief(u.changes), "=10.0.0.1:80 w0");
  EXPECT_EQ(u.changes[0].old_weight, 5);
  EXPECT_NE(u.changes[0].reason.find("inhibit_on_failure"), std::string::npos);
  rs[0].alive = true;
  EXPECT_EQ(brief(p.update(rs).changes), "=10.0.0.1:80 w5");
}

TEST(Pool, AlphaStartWithInhibitAddsAtWeightZero) {
  // init_service_rs: in alpha mode only inhibited real servers are added (weight 0).
  PoolSpec spec = pool_of(2);
  spec.real_servers[1].inhibit = true;
  Pool p(spec);
  EXPECT_EQ(brief(p.update(states(2, 0)).changes), "+10.0.0.2:80 w0");
}

TEST(Pool, QuorumWithHysteresis) {
  // keepalived's doc/samples/keepalived.conf.quorum: 10 servers of weight 1, quorum 7,
  // hysteresis 2, alpha: "the quorum will not be reached until 9 (7+2) live servers are present
  // ... After that the quorum will not break until the pool has 5 (7-2) or more live servers"
  // (i.e. it breaks below 5).
  Pool p(pool_of(10, 7, 2));
  PoolUpdate u = p.update(states(10, 0));
  ASSERT_TRUE(u.quorum);
  EXPECT_FALSE(*u.quorum);
  EXPECT_EQ(u.quorum_text, "Starting with quorum down 7+2=9 > 0 for VS TCP 10.0.1.1:80");
  for (size_t alive = 1; alive <= 8; ++alive) {
    u = p.update(states(10, alive));
    EXPECT_FALSE(u.quorum) << alive;
    EXPECT_FALSE(p.quorum_up()) << alive;
  }
  u = p.update(states(10, 9));
  ASSERT_TRUE(u.quorum);
  EXPECT_TRUE(*u.quorum);
  EXPECT_EQ(u.quorum_text, "Gained quorum 7+2=9 <= 9 for VS TCP 10.0.1.1:80");
  for (size_t alive : {10, 8, 7, 6, 5, 6, 5}) {
    u = p.update(states(10, alive));
    EXPECT_FALSE(u.quorum) << alive;
    EXPECT_TRUE(p.quorum_up()) << alive;
  }
  u = p.update(states(10, 4));
  ASSERT_TRUE(u.quorum);
  EXPECT_FALSE(*u.quorum);
  EXPECT_EQ(u.quorum_text, "Lost quorum 7-2=5 > 4 for VS TCP 10.0.1.1:80");
  // Without a sorry server the quorum only reports: the alive servers stay in.
  EXPECT_EQ(p.dests().size(), 4u);
  u = p.update(states(10, 8));
  EXPECT_FALSE(u.quorum);
  EXPECT_EQ(p.alive_weight(), 8);
}

TEST(Pool, QuorumStartsUpOnlyAtQuorumPlusHysteresis) {
  // set_quorum_states(): up at start when the alive weight >= quorum + hysteresis.
  Pool p(pool_of(4, 2, 1));
  PoolUpdate u = p.update(states(4, 2));
  ASSERT_TRUE(u.quorum);
  EXPECT_FALSE(*u.quorum);
  Pool q(pool_of(4, 2, 1));
  EXPECT_FALSE(q.update(states(4, 3)).quorum);
  EXPECT_TRUE(q.quorum_up());
}

TEST(Pool, WeightsCountTowardsTheQuorum) {
  PoolSpec spec = pool_of(2, 5);
  Pool p(spec);
  auto rs = states(2, 2);
  rs[0].weight = 4;
  rs[1].weight = 1;
  EXPECT_FALSE(p.update(rs).quorum);
  EXPECT_EQ(p.alive_weight(), 5);
  rs[1].alive = false;
  PoolUpdate u = p.update(rs);
  ASSERT_TRUE(u.quorum);
  EXPECT_FALSE(*u.quorum);
}

TEST(Pool, SorryServerInAndOut) {
  PoolSpec spec = pool_of(2, 2);
  spec.sorry_server = server(ip(10, 0, 0, 200), 1, false, ForwardMethod::Masq);
  Pool p(spec);
  EXPECT_EQ(brief(p.update(states(2, 2)).changes), "+10.0.0.1:80 w1 +10.0.0.2:80 w1");
  EXPECT_FALSE(p.sorry_in_use());
  // One down: alive weight 1 < quorum 2. The sorry server replaces the real servers (keepalived:
  // "all real servers will be brought down when the quorum is not achieved and be replaced with
  // the sorry server"). Adds come before removals so the service is never empty.
  auto rs = states(2, 2);
  rs[1].alive = false;
  rs[1].reason = "connect to 10.0.0.2:80 failed: connection refused";
  PoolUpdate u = p.update(rs);
  ASSERT_TRUE(u.quorum);
  EXPECT_FALSE(*u.quorum);
  EXPECT_EQ(brief(u.changes), "+10.0.0.200:80 w1 -10.0.0.1:80 -10.0.0.2:80");
  EXPECT_TRUE(u.changes[0].sorry);
  EXPECT_EQ(u.changes[0].dest.method, ForwardMethod::Masq);
  EXPECT_EQ(u.changes[0].reason, "Lost quorum 2-0=2 > 1 for VS TCP 10.0.1.1:80: sorry server in");
  EXPECT_EQ(u.changes[1].reason,
            "Lost quorum 2-0=2 > 1 for VS TCP 10.0.1.1:80: the sorry server replaces the real "
            "servers");
  EXPECT_EQ(u.changes[2].reason,
            "real server down: connect to 10.0.0.2:80 failed: connection refused");
  EXPECT_TRUE(p.sorry_in_use());
  // While the sorry server is in, a real server coming and going changes nothing (the quorum
  // is still down with 1).
  rs[1].alive = true;
  rs[0].alive = false;
  EXPECT_TRUE(p.update(rs).changes.empty());
  // Back to quorum: the real servers return, the sorry server leaves.
  rs[0].alive = true;
  u = p.update(rs);
  ASSERT_TRUE(u.quorum);
  EXPECT_TRUE(*u.quorum);
  EXPECT_EQ(brief(u.changes), "+10.0.0.1:80 w1 +10.0.0.2:80 w1 -10.0.0.200:80");
  EXPECT_EQ(u.changes[2].reason,
            "Gained quorum 2+0=2 <= 2 for VS TCP 10.0.1.1:80: sorry server out");
  EXPECT_FALSE(p.sorry_in_use());
}

TEST(Pool, SorryServerWithInhibitedRealServers) {
  // Inhibited real servers are set to weight 0 when the sorry server takes over (ipvs_cmd turns
  // perform_quorum_state's DEL_DEST into weight 0).
  PoolSpec spec = pool_of(2, 2);
  spec.real_servers[0].inhibit = true;
  spec.real_servers[1].inhibit = true;
  spec.sorry_server = server(ip(10, 0, 0, 200));
  Pool p(spec);
  p.update(states(2, 2));
  PoolUpdate u = p.update(states(2, 1));
  EXPECT_EQ(brief(u.changes), "+10.0.0.200:80 w1 =10.0.0.1:80 w0 =10.0.0.2:80 w0");
}

TEST(Pool, SorryServerInhibitWaitsAtWeightZero) {
  PoolSpec spec = pool_of(1);
  spec.sorry_server = server(ip(10, 0, 0, 200), 1, true);
  Pool p(spec);
  EXPECT_EQ(brief(p.update(states(1, 1)).changes), "+10.0.0.1:80 w1 +10.0.0.200:80 w0");
  EXPECT_EQ(brief(p.update(states(1, 0)).changes), "=10.0.0.200:80 w1 -10.0.0.1:80");
  EXPECT_EQ(brief(p.update(states(1, 1)).changes), "+10.0.0.1:80 w1 =10.0.0.200:80 w0");
}

TEST(Pool, AlphaStartWithSorryServer) {
  // update_quorum_state(vs, init): starting with the quorum down adds the sorry server.
  PoolSpec spec = pool_of(2);
  spec.sorry_server = server(ip(10, 0, 0, 200));
  Pool p(spec);
  PoolUpdate u = p.update(states(2, 0));
  EXPECT_EQ(brief(u.changes), "+10.0.0.200:80 w1");
  EXPECT_EQ(u.changes[0].reason,
            "Starting with quorum down 1+0=1 > 0 for VS TCP 10.0.1.1:80: sorry server in");
}

TEST(Pool, WeightChange) {
  Pool p(pool_of(1));
  auto rs = states(1, 1);
  p.update(rs);
  rs[0].weight = 20;
  PoolUpdate u = p.update(rs);
  EXPECT_EQ(brief(u.changes), "=10.0.0.1:80 w20");
  EXPECT_EQ(u.changes[0].reason, "weight 1 -> 20");
}

TEST(DestCommand, FastvsadmWords) {
  const ServiceKey svc{Proto::Tcp, ip(192, 168, 0, 38), 80};
  DestChange c;
  c.op = DestChange::Op::Add;
  c.dest.rip = ip(192, 168, 0, 18);
  c.dest.rport = 80;
  c.dest.method = ForwardMethod::Route;
  c.dest.weight = 1;
  const std::vector<std::string> add = {
      "-a", "-t", "192.168.0.38:80", "-r", "192.168.0.18:80", "-g", "-w", "1"};
  EXPECT_EQ(dest_command(svc, c), add);
  c.op = DestChange::Op::Edit;
  c.dest.weight = 0;
  c.dest.method = ForwardMethod::Masq;
  c.dest.u_threshold = 100;
  c.dest.l_threshold = 10;
  const std::vector<std::string> edit = {
      "-e", "-t", "192.168.0.38:80", "-r", "192.168.0.18:80", "-m", "-w", "0", "-x", "100",
      "-y", "10"};
  EXPECT_EQ(dest_command(svc, c), edit);
  c.op = DestChange::Op::Remove;
  const std::vector<std::string> del = {"-d", "-t", "192.168.0.38:80", "-r", "192.168.0.18:80"};
  EXPECT_EQ(dest_command(svc, c), del);
  // UDP, tunnel, port 0 (the real server without a port).
  const ServiceKey udp0{Proto::Udp, ip(192, 168, 0, 38), 0};
  c.op = DestChange::Op::Add;
  c.dest.method = ForwardMethod::Tunnel;
  c.dest.rport = 0;
  c.dest.u_threshold = c.dest.l_threshold = 0;
  const std::vector<std::string> tun = {"-a", "-u", "192.168.0.38:0", "-r", "192.168.0.18", "-i",
                                        "-w", "0"};
  EXPECT_EQ(dest_command(udp0, c), tun);
  // Each one is a command fastvsadm's grammar takes.
  for (const auto& words : {add, edit, del, tun}) {
    const Result<Command> r = parse_command(words);
    EXPECT_TRUE(r.ok()) << r.error();
  }
}

// ---------------------------------------------------------------------------------------------
// ServiceHealth: the seed's service, two real servers with TCP_CHECK, driven by a fake clock.

struct Seed {
  ServiceHealth h;
  explicit Seed(double now = 0)
      : h(
            [] {
              PoolSpec p;
              p.service = {Proto::Tcp, ip(192, 168, 0, 38), 80};
              p.real_servers = {server(ip(192, 168, 0, 18)), server(ip(192, 168, 0, 28))};
              return p;
            }(),
            {{tcp_spec(ip(192, 168, 0, 18))}, {tcp_spec(ip(192, 168, 0, 28))}}, now) {}

  // Runs every check due at the next wakeup; `fail_18` decides 192.168.0.18's result.
  HealthUpdate tick(double& now, bool fail_18) {
    now = h.next_wakeup();
    HealthUpdate all;
    for (const CheckRef& ref : h.due(now)) {
      h.begin(ref, now);
      const bool fail = ref.rs == 0 && fail_18;
      HealthUpdate u = h.finish(ref, now, fail ? refused() : ok());
      all.events.insert(all.events.end(), u.events.begin(), u.events.end());
      all.changes.insert(all.changes.end(), u.changes.begin(), u.changes.end());
    }
    return all;
  }
};

TEST(ServiceHealth, SeedStartsWithBothServers) {
  Seed s;
  HealthUpdate u = s.h.initial();
  EXPECT_TRUE(u.events.empty());
  EXPECT_EQ(brief(u.changes), "+192.168.0.18:80 w1 +192.168.0.28:80 w1");
  EXPECT_DOUBLE_EQ(s.h.next_wakeup(), 1);
  EXPECT_EQ(s.h.due(1).size(), 2u);
  EXPECT_TRUE(s.h.due(0.5).empty());
}

TEST(ServiceHealth, ServerFailsThenRecovers) {
  Seed s;
  s.h.initial();
  double now = 0;
  EXPECT_TRUE(s.tick(now, false).empty());  // t=1: both pass
  EXPECT_DOUBLE_EQ(now, 1);
  // 192.168.0.18 starts refusing at t=7: retried at 10, 13, down at 16.
  for (double t : {7.0, 10.0, 13.0}) {
    HealthUpdate u = s.tick(now, true);
    EXPECT_DOUBLE_EQ(now, t);
    EXPECT_TRUE(u.empty()) << t;
    if (t == 7.0) {
      // .28 ran at 7 too; next wakeup is .18's retry.
      EXPECT_DOUBLE_EQ(s.h.next_wakeup(), 10);
    }
  }
  HealthUpdate u = s.tick(now, true);
  EXPECT_DOUBLE_EQ(now, 16);
  ASSERT_EQ(u.events.size(), 2u);
  EXPECT_EQ(u.events[0].kind, HealthEvent::Kind::CheckerDown);
  EXPECT_EQ(u.events[0].text,
            "VS TCP 192.168.0.38:80, real server 192.168.0.18:80: TCP_CHECK 192.168.0.18:80 down: "
            "connect to 192.168.0.18:80 failed: connection refused after 3 retries");
  EXPECT_EQ(u.events[1].kind, HealthEvent::Kind::ServerDown);
  EXPECT_EQ(u.events[1].rs, 0u);
  EXPECT_EQ(brief(u.changes), "-192.168.0.18:80");
  EXPECT_EQ(u.changes[0].reason,
            "real server down: connect to 192.168.0.18:80 failed: connection refused after 3 "
            "retries");
  EXPECT_FALSE(s.h.server(0).alive);
  EXPECT_EQ(dest_command(s.h.pool().spec().service, u.changes[0]),
            (std::vector<std::string>{"-d", "-t", "192.168.0.38:80", "-r", "192.168.0.18:80"}));
  // Still refusing: checked every delay_loop, nothing new.
  u = s.tick(now, true);
  EXPECT_TRUE(u.empty());
  // Recovers.
  while (true) {
    u = s.tick(now, false);
    if (!u.empty()) break;
  }
  ASSERT_EQ(u.events.size(), 2u);
  EXPECT_EQ(u.events[0].kind, HealthEvent::Kind::CheckerUp);
  EXPECT_EQ(u.events[1].kind, HealthEvent::Kind::ServerUp);
  EXPECT_EQ(brief(u.changes), "+192.168.0.18:80 w1");
  EXPECT_TRUE(s.h.server(0).alive);
}

TEST(ServiceHealth, RealServerNeedsAllItsCheckers) {
  PoolSpec p;
  p.service = {Proto::Tcp, ip(10, 0, 1, 1), 80};
  p.real_servers = {server(ip(10, 0, 0, 1))};
  CheckSpec a = tcp_spec(ip(10, 0, 0, 1), 0);
  CheckSpec b = a;
  b.connect_port = 443;
  ServiceHealth h(p, {{a, b}}, 0);
  h.initial();
  HealthUpdate u = h.finish({0, 0}, 1, refused());
  EXPECT_EQ(brief(u.changes), "-10.0.0.1:80");
  ASSERT_EQ(u.events.size(), 3u);
  EXPECT_EQ(u.events[2].kind, HealthEvent::Kind::QuorumLost);  // keepalived: lost at weight 0
  u = h.finish({0, 1}, 1, refused());  // a second failed checker: already down
  EXPECT_EQ(u.events.size(), 1u);
  EXPECT_EQ(u.events[0].kind, HealthEvent::Kind::CheckerDown);
  EXPECT_TRUE(u.changes.empty());
  u = h.finish({0, 0}, 7, ok());  // one up of two: still down
  ASSERT_EQ(u.events.size(), 1u);
  EXPECT_EQ(u.events[0].kind, HealthEvent::Kind::CheckerUp);
  EXPECT_TRUE(u.changes.empty());
  u = h.finish({0, 1}, 7, ok());
  ASSERT_EQ(u.events.size(), 3u);
  EXPECT_EQ(u.events[1].kind, HealthEvent::Kind::ServerUp);
  EXPECT_EQ(u.events[2].kind, HealthEvent::Kind::QuorumGained);  // alive weight 0 -> 1
  EXPECT_EQ(brief(u.changes), "+10.0.0.1:80 w1");
}

TEST(ServiceHealth, ServerWithoutCheckersIsAlwaysAlive) {
  PoolSpec p;
  p.service = {Proto::Tcp, ip(10, 0, 1, 1), 80};
  p.real_servers = {server(ip(10, 0, 0, 1))};
  ServiceHealth h(p, {}, 0);
  EXPECT_EQ(brief(h.initial().changes), "+10.0.0.1:80 w1");
  EXPECT_TRUE(std::isinf(h.next_wakeup()));
  EXPECT_TRUE(h.due(1e9).empty());
}

// One real server (weight 1) with one alpha TCP_CHECK.
ServiceHealth alpha_one() {
  PoolSpec p;
  p.service = {Proto::Tcp, ip(10, 0, 1, 1), 80};
  p.real_servers = {server(ip(10, 0, 0, 1))};
  CheckSpec a = tcp_spec(ip(10, 0, 0, 1));
  a.alpha = true;
  return ServiceHealth(p, {{a}}, 0);
}

TEST(ServiceHealth, AlphaWaitsForTheFirstSuccess) {
  ServiceHealth h = alpha_one();
  HealthUpdate u = h.initial();
  EXPECT_TRUE(u.changes.empty());
  ASSERT_EQ(u.events.size(), 2u);
  EXPECT_EQ(u.events[0].kind, HealthEvent::Kind::StartsDown);
  EXPECT_EQ(u.events[0].text,
            "VS TCP 10.0.1.1:80, real server 10.0.0.1:80 starts down (alpha: out of service "
            "until its checks succeed)");
  EXPECT_EQ(u.events[1].kind, HealthEvent::Kind::QuorumLost);
  EXPECT_FALSE(h.server(0).alive);
  u = h.finish({0, 0}, 1, ok());
  EXPECT_EQ(brief(u.changes), "+10.0.0.1:80 w1");
  ASSERT_EQ(u.events.size(), 3u);
  EXPECT_EQ(u.events[1].kind, HealthEvent::Kind::ServerUp);
  EXPECT_EQ(u.events[2].kind, HealthEvent::Kind::QuorumGained);
}

// update_svr_checker_state: an alpha checker whose first run fails changes nothing in the pool,
// but its server's notify_down runs (do_rs_notifies): a ServerDown event, once.
TEST(ServiceHealth, AlphaFirstFailureIsAServerDownForTheScripts) {
  ServiceHealth h = alpha_one();
  h.initial();
  HealthUpdate u = h.finish({0, 0}, 1, refused());
  EXPECT_TRUE(u.changes.empty());
  ASSERT_EQ(u.events.size(), 1u);
  EXPECT_EQ(u.events[0].kind, HealthEvent::Kind::ServerDown);
  EXPECT_EQ(u.events[0].rs, 0u);
  EXPECT_TRUE(h.finish({0, 0}, 2, refused()).events.empty());  // the second failure: nothing
  // Without alpha a first failure is a real transition (one ServerDown, with the removal).
  CheckSpec t = tcp_spec(ip(10, 0, 0, 1));
  PoolSpec p;
  p.service = {Proto::Tcp, ip(10, 0, 1, 1), 80};
  p.real_servers = {server(ip(10, 0, 0, 1))};
  ServiceHealth h2(p, {{t}}, 0);
  h2.initial();
  u = h2.finish({0, 0}, 1, refused());
  EXPECT_EQ(brief(u.changes), "-10.0.0.1:80");
  EXPECT_EQ(
      std::count_if(u.events.begin(), u.events.end(),
                    [](const HealthEvent& e) { return e.kind == HealthEvent::Kind::ServerDown; }),
      1);
}

TEST(ServiceHealth, MiscDynamicChangesTheWeight) {
  PoolSpec p;
  p.service = {Proto::Tcp, ip(10, 0, 1, 1), 80};
  p.real_servers = {server(ip(10, 0, 0, 1), 5)};
  CheckSpec m;
  m.kind = CheckKind::Misc;
  m.misc_path = "/bin/weigh";
  m.misc_dynamic = true;
  m.retry = 0;
  ServiceHealth h(p, {{m}}, 0);
  EXPECT_EQ(brief(h.initial().changes), "+10.0.0.1:80 w5");
  HealthUpdate u = h.finish({0, 0}, 1, misc_exit_result(m, 52));
  ASSERT_EQ(u.events.size(), 1u);
  EXPECT_EQ(u.events[0].kind, HealthEvent::Kind::WeightChanged);
  EXPECT_EQ(u.events[0].text,
            "VS TCP 10.0.1.1:80, real server 10.0.0.1:80: weight 5 -> 50 "
            "(misc_dynamic)");
  EXPECT_EQ(brief(u.changes), "=10.0.0.1:80 w50");
  EXPECT_EQ(u.changes[0].old_weight, 5);
  EXPECT_EQ(brief(h.finish({0, 0}, 2, misc_exit_result(m, 0)).changes), "=10.0.0.1:80 w5");
  EXPECT_EQ(brief(h.finish({0, 0}, 3, misc_exit_result(m, 1)).changes), "-10.0.0.1:80");
}

// FILE_CHECK (track_file.c's update_track_file_status, process_update_checker_track_file_status):
// the file's number times the weight joins the server's weight; weight 0 means a non-zero number
// takes it down (reverse: a zero one); -65535 or less is a fault. It never runs.
CheckSpec file_spec(int32_t weight, bool reverse = false) {
  CheckSpec f;
  f.kind = CheckKind::File;
  f.file_path = "/run/rs1";
  f.file_weight = weight;
  f.file_reverse = reverse;
  f.alpha = true;  // has no effect on a FILE_CHECK
  return f;
}

PoolSpec one_server(int32_t weight) {
  PoolSpec p;
  p.service = {Proto::Tcp, ip(10, 0, 1, 1), 80};
  p.real_servers = {server(ip(10, 0, 0, 1), weight)};
  return p;
}

TEST(ServiceHealth, FileCheckWeighted) {
  ServiceHealth h(one_server(5), {{file_spec(10)}}, 0);
  EXPECT_TRUE(h.due(1e9).empty());  // it never runs
  EXPECT_EQ(h.next_wakeup(), std::numeric_limits<double>::infinity());
  h.file_initial({0, 0}, 2);
  EXPECT_EQ(brief(h.initial().changes), "+10.0.0.1:80 w25");
  HealthUpdate u = h.file_changed({0, 0}, 3);
  ASSERT_EQ(u.events.size(), 1u);
  EXPECT_EQ(u.events[0].text,
            "VS TCP 10.0.1.1:80, real server 10.0.0.1:80: weight 25 -> 35 (FILE_CHECK /run/rs1)");
  EXPECT_EQ(brief(u.changes), "=10.0.0.1:80 w35");
  EXPECT_TRUE(h.file_changed({0, 0}, 3).empty());  // the same number again: nothing
  // Below zero the weight stops at 0 and the server stays in (no fault yet).
  EXPECT_EQ(brief(h.file_changed({0, 0}, -1).changes), "=10.0.0.1:80 w0");
  EXPECT_TRUE(h.server(0).alive);
  // 10 x -6554 = -65540: at most -IPVS_WEIGHT_MAX, a fault.
  u = h.file_changed({0, 0}, -6554);
  EXPECT_EQ(brief(u.changes), "-10.0.0.1:80");
  EXPECT_FALSE(h.server(0).alive);
  EXPECT_EQ(h.server(0).reason, "FILE_CHECK /run/rs1: the file holds -6554");
  // Out of the fault at its status: the configured weight plus 10 x 1.
  EXPECT_EQ(brief(h.file_changed({0, 0}, 1).changes), "+10.0.0.1:80 w15");
  // A big number stops at IPVS_WEIGHT_MAX - 1 more, and the weight at 65535.
  EXPECT_EQ(brief(h.file_changed({0, 0}, 100000).changes), "=10.0.0.1:80 w65535");
}

TEST(ServiceHealth, FileCheckWeightZeroIsUpOrDown) {
  ServiceHealth h(one_server(5), {{file_spec(0)}}, 0);
  h.file_initial({0, 0}, 1);  // down from the start: set_track_file_checkers_down
  EXPECT_TRUE(h.initial().changes.empty());
  EXPECT_FALSE(h.server(0).alive);
  HealthUpdate u = h.file_changed({0, 0}, 0);
  EXPECT_EQ(brief(u.changes), "+10.0.0.1:80 w5");  // the weight is untouched
  EXPECT_EQ(u.events.at(0).kind, HealthEvent::Kind::CheckerUp);
  EXPECT_EQ(u.events.at(1).kind, HealthEvent::Kind::ServerUp);
  EXPECT_EQ(brief(h.file_changed({0, 0}, 7).changes), "-10.0.0.1:80");
  EXPECT_TRUE(h.file_changed({0, 0}, -3).empty());  // any non-zero number: still down
}

TEST(ServiceHealth, FileCheckReverse) {
  // weight 0 reverse: zero is the failure.
  ServiceHealth h0(one_server(5), {{file_spec(0, true)}}, 0);
  h0.file_initial({0, 0}, 0);
  EXPECT_TRUE(h0.initial().changes.empty());
  EXPECT_EQ(brief(h0.file_changed({0, 0}, 1).changes), "+10.0.0.1:80 w5");
  // weight 2 reverse: the number counts negated.
  ServiceHealth h(one_server(50), {{file_spec(2, true)}}, 0);
  h.file_initial({0, 0}, 0);
  EXPECT_EQ(brief(h.initial().changes), "+10.0.0.1:80 w50");
  EXPECT_EQ(brief(h.file_changed({0, 0}, 10).changes), "=10.0.0.1:80 w30");
  EXPECT_EQ(brief(h.file_changed({0, 0}, -10).changes), "=10.0.0.1:80 w70");
}

TEST(ServiceHealth, FileCheckWithAnotherChecker) {
  // Both must be up; the file's weight joins whatever the other leaves.
  CheckSpec t = tcp_spec(ip(10, 0, 0, 1));
  ServiceHealth h(one_server(5), {{file_spec(1), t}}, 0);
  h.file_initial({0, 0}, 0);
  EXPECT_EQ(brief(h.initial().changes), "+10.0.0.1:80 w5");
  EXPECT_EQ(brief(h.file_changed({0, 0}, 4).changes), "=10.0.0.1:80 w9");
  h.begin({0, 1}, 1);
  EXPECT_EQ(brief(h.finish({0, 1}, 1, refused()).changes), "-10.0.0.1:80");
  // The weight moves while the server is down, without a change to the table.
  HealthUpdate u = h.file_changed({0, 0}, 6);
  EXPECT_TRUE(u.changes.empty());
  EXPECT_EQ(u.events.at(0).kind, HealthEvent::Kind::WeightChanged);
  h.begin({0, 1}, 2);
  EXPECT_EQ(brief(h.finish({0, 1}, 2, ok()).changes), "+10.0.0.1:80 w11");
}

TEST(ServiceHealth, JitterSpreadsTheFirstRuns) {
  PoolSpec p;
  p.service = {Proto::Tcp, ip(10, 0, 1, 1), 80};
  p.real_servers = {server(ip(10, 0, 0, 1)), server(ip(10, 0, 0, 2))};
  double next = 0;
  ServiceHealth h(p, {{tcp_spec()}, {tcp_spec()}}, 10, [&] { return next += 0.25; });
  EXPECT_DOUBLE_EQ(h.checker({0, 0}).next_run(), 10 + 1 + 0.25 * 6);
  EXPECT_DOUBLE_EQ(h.checker({1, 0}).next_run(), 10 + 1 + 0.5 * 6);
  EXPECT_DOUBLE_EQ(h.next_wakeup(), 12.5);
  h.begin({0, 0}, 12.5);
  EXPECT_DOUBLE_EQ(h.next_wakeup(), 14);  // a running checker does not count
}

}  // namespace
}  // namespace fastvs
