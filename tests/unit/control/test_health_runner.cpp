// The health thread (control/health_runner.h) with real probes on the loopback: a change to any
// part of a check's definition reaches the probes, including the parts that do not show in
// its description (bindto, the MISC_CHECK program's arguments). Nothing is simulated: a TCP
// listener sees the checks' source addresses, a MISC_CHECK program writes its arguments.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "control/health/probe.h"
#include "control/health/runner.h"

namespace fastvs {
namespace {

using Clock = std::chrono::steady_clock;
constexpr IpAddr kLoopback = IpAddr::v4(0x7f000001);  // 127.0.0.1

// One checked service (TCP 10.0.0.1:80) whose real server 127.0.0.1:port has one check.
std::vector<HealthDef> one_check(const CheckSpec& spec, uint16_t port) {
  HealthDef d;
  d.pool.service = ServiceKey{Proto::Tcp, IpAddr::v4(0x0a000001), 80};
  PoolServer rs;
  rs.ip = kLoopback;
  rs.port = port;
  d.pool.real_servers.push_back(rs);
  d.checks.push_back({spec});
  return {d};
}

CheckSpec fast(CheckKind kind) {
  CheckSpec s;
  s.kind = kind;
  s.delay_loop = 0.05;
  s.warmup = 0;
  s.connect_timeout = 2;
  s.misc_timeout = 5;
  s.uid = getuid();  // a program runs as the test does (root's ids would need root)
  s.gid = getgid();
  return s;
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(ep_, 0);
    const Status st = runner_.start(ep_);
    ASSERT_TRUE(st.ok()) << st.error();
  }
  void TearDown() override {
    runner_.stop();
    if (lfd_ >= 0) close(lfd_);
    close(ep_);
  }

  // A TCP listener on 127.0.0.1, any port.
  uint16_t listen_tcp() {
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(kLoopback.v4());
    EXPECT_EQ(bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(lfd_, 64), 0);
    socklen_t len = sizeof a;
    getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }

  // Accepts connections for up to 10 s until one comes from `from`; true if one did.
  bool connection_from(uint32_t from) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      pollfd p{lfd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      const int c = accept(lfd_, reinterpret_cast<sockaddr*>(&peer), &len);
      if (c < 0) continue;
      close(c);
      if (ntohl(peer.sin_addr.s_addr) == from) return true;
    }
    return false;
  }

  int ep_ = -1;
  int lfd_ = -1;
  HealthRunner runner_;
};

TEST_F(RunnerTest, ChangingOnlyBindtoReachesTheProbes) {
  const uint16_t port = listen_tcp();
  CheckSpec spec = fast(CheckKind::Tcp);
  spec.bindto = IpAddr::v4(0x7f000002);  // 127.0.0.2
  runner_.configure(one_check(spec, port));
  ASSERT_TRUE(connection_from(0x7f000002));
  spec.bindto = IpAddr::v4(0x7f000003);
  runner_.configure(one_check(spec, port));
  EXPECT_TRUE(connection_from(0x7f000003)) << "the check still binds to the old address";
}

TEST_F(RunnerTest, ChangingOnlyTheProgramsArgumentsReachesTheProbes) {
  char dir[] = "/tmp/fvs-runner-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string out = std::string(dir) + "/args";
  CheckSpec spec = fast(CheckKind::Misc);
  // The same command line once joined ("/bin/sh -c echo a b >> FILE"), other arguments.
  spec.misc_argv = {"/bin/sh", "-c", "echo a b >> " + out};
  spec.misc_path = "/bin/sh -c echo a b >> " + out;
  runner_.configure(one_check(spec, 80));
  auto last_line = [&] {
    std::ifstream f(out);
    std::string line, last;
    while (std::getline(f, line)) last = line;
    return last;
  };
  auto wait_line = [&](const std::string& want) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      if (last_line() == want) return true;
      usleep(20000);
    }
    return false;
  };
  ASSERT_TRUE(wait_line("a b"));
  spec.misc_argv = {"/bin/sh", "-c", "echo a b >> " + out + "; echo changed >> " + out};
  runner_.configure(one_check(spec, 80));
  EXPECT_TRUE(wait_line("changed")) << "the program still runs with the old arguments";
  std::remove(out.c_str());
  rmdir(dir);
}

TEST_F(RunnerTest, MiscCheckRunsAsItsUser) {
  if (getuid() != 0) GTEST_SKIP() << "running a program as another user needs root";
  char dir[] = "/tmp/fvs-runner-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  chmod(dir, 0777);  // nobody writes its ids here
  const std::string out = std::string(dir) + "/ids";
  CheckSpec spec = fast(CheckKind::Misc);
  spec.misc_argv = {"/bin/sh", "-c", "echo $(id -u):$(id -g):$(id -G) >> " + out};
  spec.misc_path = "/bin/sh -c ...";
  spec.user = "nobody";
  spec.uid = 65534;
  spec.gid = 65534;
  runner_.configure(one_check(spec, 80));
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::string line;
  while (Clock::now() < deadline && line.empty()) {
    std::ifstream f(out);
    std::getline(f, line);
    usleep(20000);
  }
  // The user, its group, and no supplementary group of fastvsd's (root's).
  EXPECT_EQ(line, "65534:65534:65534");
  std::remove(out.c_str());
  rmdir(dir);
}

// A script that appends `word` to the file `out`, run as the test's user.
ScriptSpec echo_script(const std::string& word, const std::string& out) {
  ScriptSpec s;
  s.text = "echo " + word;
  s.argv = {"/bin/sh", "-c", "echo " + word + " >> " + out};
  s.uid = getuid();
  s.gid = getgid();
  return s;
}

// notify_up/notify_down and quorum_up/quorum_down run on the transitions (none at start), and
// with omega the down ones when the runner stops. The scripts append a word to a file.
TEST_F(RunnerTest, NotifyAndQuorumScriptsRunOnTransitionsAndOmegaAtStop) {
  char dir[] = "/tmp/fvs-runner-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string out = std::string(dir) + "/log", flag = std::string(dir) + "/up";
  std::ofstream(flag).put('1');
  CheckSpec spec = fast(CheckKind::Misc);
  spec.misc_argv = {"/bin/sh", "-c", "test -e " + flag};
  spec.misc_path = "test -e FLAG";
  std::vector<HealthDef> defs = one_check(spec, 80);
  auto sh = [&](const std::string& word) { return echo_script(word, out); };
  PoolSpec& pool = defs[0].pool;
  pool.real_servers[0].notify_up = sh("up");
  pool.real_servers[0].notify_down = sh("down");
  pool.quorum_up = sh("qup");
  pool.quorum_down = sh("qdown");
  pool.omega = true;
  // The words written so far, sorted (the scripts of one transition run side by side).
  auto words = [&] {
    std::ifstream f(out);
    std::vector<std::string> w;
    for (std::string line; std::getline(f, line);) w.push_back(line);
    std::sort(w.begin(), w.end());
    return w;
  };
  auto wait_words = [&](std::vector<std::string> want) {
    std::sort(want.begin(), want.end());
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline && words() != want) usleep(20000);
    return words() == want;
  };
  runner_.configure(defs);
  // Its first check passes: nothing has run, at start nor since (the status says when the
  // check has run).
  const auto ran = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < ran && runner_.status().find("not run yet") != std::string::npos) {
    epoll_event ev;
    if (epoll_wait(ep_, &ev, 1, 50) > 0) runner_.take();
  }
  ASSERT_EQ(runner_.status().find("not run yet"), std::string::npos) << runner_.status();
  EXPECT_TRUE(words().empty()) << words().front();
  std::remove(flag.c_str());
  ASSERT_TRUE(wait_words({"down", "qdown"}));
  std::ofstream(flag).put('1');
  ASSERT_TRUE(wait_words({"down", "qdown", "up", "qup"}));
  runner_.stop();  // omega: the alive server's notify_down, and quorum_down
  EXPECT_TRUE(wait_words({"down", "qdown", "up", "qup", "down", "qdown"}));
  std::remove(flag.c_str());
  std::remove(out.c_str());
  rmdir(dir);
}

// What keepalived runs without a transition: quorum_down at start for a virtual server whose
// quorum starts down with a sorry server to put in (update_quorum_state(vs, true)), and
// notify_down when an alpha checker's first run fails (update_svr_checker_state).
TEST_F(RunnerTest, QuorumDownAtStartWithASorryServerAndAlphasFirstFailure) {
  char dir[] = "/tmp/fvs-runner-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string out = std::string(dir) + "/log";
  CheckSpec spec = fast(CheckKind::Misc);
  spec.misc_argv = {"/bin/false"};
  spec.misc_path = "/bin/false";
  spec.alpha = true;
  std::vector<HealthDef> defs = one_check(spec, 80);
  auto sh = [&](const std::string& word) { return echo_script(word, out); };
  PoolSpec& pool = defs[0].pool;
  pool.real_servers[0].notify_down = sh("down");
  pool.quorum_down = sh("qdown");
  PoolServer sorry;
  sorry.ip = IpAddr::v4(0x7f000009);
  sorry.port = 80;
  pool.sorry_server = sorry;
  runner_.configure(defs);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::vector<std::string> words;
  while (Clock::now() < deadline && words.size() < 2) {
    usleep(20000);
    std::ifstream f(out);
    words.clear();
    for (std::string w; std::getline(f, w);) words.push_back(w);
  }
  // quorum_down at once; notify_down after the first run (1 s in).
  EXPECT_EQ(words, (std::vector<std::string>{"qdown", "down"}));
  std::remove(out.c_str());
  rmdir(dir);
}

// FILE_CHECK: the thread watches the file's directory and follows what is written to it, moved
// onto it or deleted, with no run and no polling (inotify, as keepalived's process_inotify).
class FileCheckTest : public RunnerTest {
 protected:
  void SetUp() override {
    RunnerTest::SetUp();
    ASSERT_NE(mkdtemp(dir_), nullptr);
    path_ = std::string(dir_) + "/rs.state";
  }
  void TearDown() override {
    RunnerTest::TearDown();
    std::remove(path_.c_str());
    std::remove((path_ + ".new").c_str());
    rmdir(dir_);
  }
  static void write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::trunc);
    f << text;
  }
  // The service's destinations once an update says `want` ("" for none), within 10 s.
  bool wait_dests(const std::string& want) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      epoll_event ev;
      if (epoll_wait(ep_, &ev, 1, 100) <= 0) continue;
      for (const HealthRunner::Update& u : runner_.take()) {
        if (!u.verdict) continue;
        std::string got;
        for (const DestConfig& d : u.dests)
          got += (got.empty() ? "" : " ") + addr_port(d.rip, d.rport) + " w" +
                 std::to_string(d.weight);
        last_ = got;
        if (got == want) return true;
      }
    }
    return false;
  }
  std::vector<HealthDef> defs(int32_t file_weight) {
    CheckSpec spec;
    spec.kind = CheckKind::File;
    spec.file_path = path_;
    spec.file_weight = file_weight;
    std::vector<HealthDef> d = one_check(spec, 80);
    d[0].pool.real_servers[0].weight = 5;
    return d;
  }
  char dir_[32] = "/tmp/fvs-runner-XXXXXX";
  std::string path_;
  std::string last_;
};

TEST_F(FileCheckTest, WeightFollowsTheFile) {
  write_file(path_, "2\n");
  runner_.configure(defs(10));
  ASSERT_TRUE(wait_dests("127.0.0.1:80 w25")) << last_;  // read at start: 5 + 2 x 10
  write_file(path_, "0x3");                              // strtol's base 0, as keepalived
  ASSERT_TRUE(wait_dests("127.0.0.1:80 w35")) << last_;
  // Written elsewhere and moved onto it (IN_MOVED_TO).
  write_file(path_ + ".new", "-1");
  ASSERT_EQ(rename((path_ + ".new").c_str(), path_.c_str()), 0);
  ASSERT_TRUE(wait_dests("127.0.0.1:80 w0")) << last_;
  // Deleted: 0.
  ASSERT_EQ(std::remove(path_.c_str()), 0);
  ASSERT_TRUE(wait_dests("127.0.0.1:80 w5")) << last_;
  // The fault: 10 x -7000 is below -65535; the server leaves.
  write_file(path_, "-7000");
  ASSERT_TRUE(wait_dests("")) << last_;
  // --check list shows where it stands.
  EXPECT_NE(runner_.status().find("DOWN weight 5  FILE_CHECK " + path_ + ": the file holds -7000"),
            std::string::npos)
      << runner_.status();
}

TEST_F(FileCheckTest, WeightZeroAndInitFile) {
  CheckSpec spec;
  std::vector<HealthDef> d = defs(0);
  d[0].checks[0][0].file_init = 1;  // the file does not exist: written with 1, which is down
  runner_.configure(d);
  ASSERT_TRUE(wait_dests("")) << last_;
  std::string text;
  std::getline(std::ifstream(path_), text);
  EXPECT_EQ(text, "1");
  write_file(path_, "0");
  ASSERT_TRUE(wait_dests("127.0.0.1:80 w5")) << last_;
  // A reload does not write it again, even with overwrite.
  d[0].checks[0][0].file_init_overwrite = true;
  runner_.configure(d);
  ASSERT_TRUE(wait_dests("127.0.0.1:80 w5")) << last_;
  std::getline(std::ifstream(path_), text);
  EXPECT_EQ(text, "0");
}

// fastvsd --misc-check-output: each run's output is one log line of its own (no verdict), the
// excerpt bounded; without the option, none.
TEST(RunnerMiscOutput, OneBoundedLogLineARunWithTheOptionNoneWithout) {
  for (const size_t bytes : {size_t{0}, size_t{16}}) {
    SCOPED_TRACE(bytes);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(ep, 0);
    HealthRunner runner;
    ASSERT_TRUE(runner.start(ep, bytes).ok());
    CheckSpec spec = fast(CheckKind::Misc);
    spec.misc_argv = {"/bin/sh", "-c", "echo 'a line that goes on and on'; exit 1"};
    spec.misc_path = "/bin/sh -c ...";
    runner.configure(one_check(spec, 80));
    // Until the checker's transition (its first run failed): the output of that run is posted
    // before its verdict.
    std::vector<std::string> output;
    bool down = false;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!down && Clock::now() < deadline) {
      epoll_event ev;
      if (epoll_wait(ep, &ev, 1, 100) <= 0) continue;
      for (const HealthRunner::Update& u : runner.take()) {
        for (const std::string& line : u.log) {
          if (line.find(" wrote ") != std::string::npos) {
            EXPECT_FALSE(u.verdict) << line;
            output.push_back(line);
          } else if (line.find("exited with status 1") != std::string::npos) {
            down = true;
          }
        }
      }
    }
    runner.stop();
    close(ep);
    ASSERT_TRUE(down) << "the check did not run";
    if (bytes == 0) {
      EXPECT_TRUE(output.empty()) << output.front();
    } else {
      ASSERT_FALSE(output.empty());
      EXPECT_EQ(output.front(),
                "TCP 10.0.0.1:80: 127.0.0.1:80: MISC_CHECK /bin/sh -c ... wrote 27 bytes: "
                "\"a line that goes\"...");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// An IPv6 real server is checked over IPv6 (sockaddr_in6), as keepalived's check_tcp does.

// A TCP listener on [::1], any port; -1 when the host has no IPv6 loopback.
int listen_tcp6(uint16_t* port) {
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 8) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin6_port);
  return fd;
}

// Runs one probe to its end.
CheckResult probe(const CheckSpec& spec, const IpAddr& ip, uint16_t port) {
  Prober prober;
  std::optional<CheckResult> got;
  prober.start(spec, ip, port, [&](const CheckResult& r) { got = r; });
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!got && Clock::now() < deadline) prober.poll(50);
  EXPECT_TRUE(got) << "the probe never ended";
  return got.value_or(CheckResult{});
}

TEST(ProbeIpv6, TcpCheckConnectsOverIpv6) {
  uint16_t port = 0;
  const int lfd = listen_tcp6(&port);
  if (lfd < 0) GTEST_SKIP() << "no IPv6 loopback here";
  const IpAddr loop6 = *parse_ip("::1");
  CheckResult r = probe(fast(CheckKind::Tcp), loop6, port);
  EXPECT_TRUE(r.ok) << r.reason;
  // The connection came to the IPv6 listener, from ::1.
  pollfd pf{lfd, POLLIN, 0};
  ASSERT_EQ(poll(&pf, 1, 5000), 1) << "no connection came";
  sockaddr_in6 peer{};
  socklen_t len = sizeof peer;
  const int c = accept(lfd, reinterpret_cast<sockaddr*>(&peer), &len);
  ASSERT_GE(c, 0);
  EXPECT_EQ(peer.sin6_family, AF_INET6);
  close(c);
  // bindto ::1 with a source port, and connect_ip: IPv6 both.
  CheckSpec spec = fast(CheckKind::Tcp);
  spec.bindto = loop6;
  spec.connect_ip = loop6;
  r = probe(spec, *parse_ip("2001:db8::1"), port);
  EXPECT_TRUE(r.ok) << r.reason;
  close(lfd);
  // Nobody listening: the address in ipvsadm's brackets.
  r = probe(fast(CheckKind::Tcp), loop6, port);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connect to [::1]:" + std::to_string(port) + " failed: Connection refused");
}

TEST(ProbeIpv6, BindtoOfTheOtherFamilyFails) {
  CheckSpec spec = fast(CheckKind::Tcp);
  spec.bindto = kLoopback;
  const CheckResult r = probe(spec, *parse_ip("::1"), 9);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "bindto 127.0.0.1 is not of the family of ::1");
}

// UDP_CHECK against a UDP socket of the test's on 127.0.0.1: `answer` gets each datagram it
// receives and returns the reply to send (nullopt: none).
CheckResult probe_udp(const CheckSpec& spec, uint16_t port, int server,
                      const std::function<std::optional<std::string>(const std::string&)>& answer,
                      std::vector<std::string>* seen = nullptr) {
  Prober prober;
  std::optional<CheckResult> got;
  prober.start(spec, kLoopback, port, [&](const CheckResult& r) { got = r; });
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!got && Clock::now() < deadline) {
    prober.poll(10);
    if (server < 0) continue;
    char buf[2048];
    sockaddr_in from{};
    socklen_t flen = sizeof from;
    const ssize_t n =
        recvfrom(server, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) continue;
    const std::string d(buf, static_cast<size_t>(n));
    if (seen) seen->push_back(d);
    if (const auto reply = answer(d))
      sendto(server, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
  }
  EXPECT_TRUE(got) << "the probe never ended";
  return got.value_or(CheckResult{});
}

int udp_server(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(kLoopback.v4());
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

TEST(ProbeUdp, PortUnreachableFailsSilencePassesUnlessAReplyIsRequired) {
  uint16_t port = 0;
  const int server = udp_server(&port);
  CheckSpec spec = fast(CheckKind::Udp);
  spec.connect_timeout = 0.3;
  const auto silent = [](const std::string&) { return std::optional<std::string>(); };
  // keepalived's own payload when none is given (32 bytes here); silence passes.
  std::vector<std::string> seen;
  CheckResult r = probe_udp(spec, port, server, silent, &seen);
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].size(), 32u);
  // require_reply: silence fails.
  spec.require_reply = true;
  r = probe_udp(spec, port, server, silent);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "UDP to 127.0.0.1:" + std::to_string(port) + ": no reply within 0.3 s");
  // Any reply passes a bare require_reply.
  r = probe_udp(spec, port, server, [](const std::string&) { return std::string("x"); });
  EXPECT_TRUE(r.ok) << r.reason;
  close(server);
  // Nobody on the port: the ICMP port unreachable fails it, long before the timeout.
  spec.require_reply = false;
  spec.connect_timeout = 5;
  const auto t0 = Clock::now();
  r = probe_udp(spec, port, -1, silent);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "UDP to 127.0.0.1:" + std::to_string(port) +
                          ": ICMP destination unreachable (code 3: Connection refused)");
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
}

TEST(ProbeUdp, PayloadSentAndTheReplyMatchedAsKeepalivedDoes) {
  uint16_t port = 0;
  const int server = udp_server(&port);
  CheckSpec spec = fast(CheckKind::Udp);
  ASSERT_TRUE(parse_hex_str("50494e47", spec.udp_payload, nullptr));  // "PING"
  spec.require_reply = true;
  ASSERT_TRUE(parse_hex_str("504f4e47 XX", spec.reply_data, &spec.reply_mask));  // "PONG" ?
  const auto reply_with = [](std::string r) {
    return [r](const std::string&) { return std::optional<std::string>(r); };
  };
  std::vector<std::string> seen;
  EXPECT_TRUE(probe_udp(spec, port, server, reply_with("PONG!"), &seen).ok);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "PING");
  // Matched over the shorter of the two: "PON" passes, "PUNG" does not.
  EXPECT_TRUE(probe_udp(spec, port, server, reply_with("PON")).ok);
  const CheckResult r = probe_udp(spec, port, server, reply_with("PUNG"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason,
            "UDP to 127.0.0.1:" + std::to_string(port) + ": the reply (4 bytes) does not match");
  // Lengths, checked with reply data: at least 4, at most 5.
  spec.min_reply_len = 4;
  spec.max_reply_len = 5;
  EXPECT_FALSE(probe_udp(spec, port, server, reply_with("PON")).ok);
  EXPECT_TRUE(probe_udp(spec, port, server, reply_with("PONGS")).ok);
  EXPECT_FALSE(probe_udp(spec, port, server, reply_with("PONGS!")).ok);
  close(server);
}

TEST(ProbePing, EchoRepliesOnTheLoopback) {
  if (getuid() != 0) GTEST_SKIP() << "PING_CHECK's raw ICMP socket needs root";
  CheckSpec spec = fast(CheckKind::Ping);
  spec.connect_timeout = 2;
  // Two at once: each takes its own reply (identifier and sequence), not the other's.
  Prober prober;
  std::optional<CheckResult> a, b;
  prober.start(spec, kLoopback, 0, [&](const CheckResult& r) { a = r; });
  prober.start(spec, kLoopback, 0, [&](const CheckResult& r) { b = r; });
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while ((!a || !b) && Clock::now() < deadline) prober.poll(20);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->ok) << a->reason;
  EXPECT_TRUE(b->ok) << b->reason;
  // IPv6 too, from a bindto of its family.
  spec.bindto = *parse_ip("::1");
  const CheckResult r = probe(spec, *parse_ip("::1"), 0);
  EXPECT_TRUE(r.ok) << r.reason;
  spec.bindto = kLoopback;
  EXPECT_EQ(probe(spec, *parse_ip("::1"), 0).reason,
            "bindto 127.0.0.1 is not of the family of ::1");
}

// A TCP listener on 127.0.0.1, any port (in *port).
int listen_loopback(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(kLoopback.v4());
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// A one-connection SMTP server on 127.0.0.1 speaking `script`: its greeting, then its answer to
// each line it reads; what it read is kept. A '|' in what it says splits it in two segments.
struct FakeSmtp {
  int lfd = -1;
  uint16_t port = 0;
  std::thread t;
  std::vector<std::string> heard;
  explicit FakeSmtp(std::vector<std::string> script) {
    lfd = listen_loopback(&port);
    t = std::thread([this, script] {
      pollfd pf{lfd, POLLIN, 0};
      if (poll(&pf, 1, 5000) != 1) return;
      const int c = accept(lfd, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      for (size_t i = 0; i < script.size(); ++i) {
        if (i > 0) {  // the next line from the checker
          char b[256];
          while (in.find('\n') == std::string::npos) {
            pollfd cf{c, POLLIN, 0};
            if (poll(&cf, 1, 5000) != 1) break;
            const ssize_t n = recv(c, b, sizeof b, 0);
            if (n <= 0) break;
            in.append(b, static_cast<size_t>(n));
          }
          const size_t nl = in.find('\n');
          if (nl == std::string::npos) break;
          heard.push_back(in.substr(0, nl + 1));
          in.erase(0, nl + 1);
        }
        // '|' splits what is said into pieces sent 50 ms apart (a line in two segments).
        std::string say = script[i];
        for (size_t bar; (bar = say.find('|')) != std::string::npos;) {
          (void)send(c, say.data(), bar, MSG_NOSIGNAL);
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          say.erase(0, bar + 1);
        }
        if (!say.empty()) (void)send(c, say.data(), say.size(), MSG_NOSIGNAL);
      }
      close(c);
    });
  }
  ~FakeSmtp() {
    if (t.joinable()) t.join();
    close(lfd);
  }
};

TEST(ProbeSmtp, GreetingHeloAndQuitAsKeepalivedHasThem) {
  CheckSpec spec = fast(CheckKind::Smtp);
  spec.helo_name = "lb1.example.org";
  {
    FakeSmtp s({"220 mx ESMTP ready\r\n", "250 mx hello\r\n", "221 bye\r\n"});
    const CheckResult r = probe(spec, kLoopback, s.port);
    EXPECT_TRUE(r.ok) << r.reason;
    s.t.join();
    EXPECT_EQ(s.heard, (std::vector<std::string>{"HELO lb1.example.org\r\n", "QUIT\r\n"}));
  }
  {
    // A greeting that refuses, in two pieces: the status is the first line's.
    FakeSmtp s({"554 no service he|re\r\n"});
    const CheckResult r = probe(spec, kLoopback, s.port);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "SMTP_CHECK bad greeting banner from server 127.0.0.1:" +
                            std::to_string(s.port) + ": 554 no service here");
  }
  {
    FakeSmtp s({"220 mx\r\n", "501 syntax\r\n"});
    const CheckResult r = probe(spec, kLoopback, s.port);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "SMTP_CHECK bad HELO response from server 127.0.0.1:" +
                            std::to_string(s.port) + ": 501 syntax");
  }
  {
    // Closed before a whole line: a read failure.
    FakeSmtp s({"220 m"});
    const CheckResult r = probe(spec, kLoopback, s.port);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "SMTP_CHECK read failure from server 127.0.0.1:" + std::to_string(s.port));
  }
}

// A self-signed certificate and its key, made by the openssl command in `dir` (cert.pem,
// key.pem) for `cn`; false when it could not.
bool make_cert(const std::string& dir, const std::string& name, const std::string& cn) {
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=" + cn +
                          " -keyout " + dir + "/" + name + "-key.pem -out " + dir + "/" + name +
                          "-cert.pem >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// A TLS server on 127.0.0.1 (OpenSSL, one thread) answering `conns` connections with an HTTP
// response whose body is `body`; it keeps the server name each client sent.
struct FakeTls {
  int lfd = -1;
  uint16_t port = 0;
  std::thread t;
  std::vector<std::string> names;
  FakeTls(const std::string& cert, const std::string& key, std::string body, int conns) {
    lfd = listen_loopback(&port);
    t = std::thread([this, cert, key, body, conns] {
      SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
      SSL_CTX_use_certificate_file(ctx, cert.c_str(), SSL_FILETYPE_PEM);
      SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM);
      for (int i = 0; i < conns; ++i) {
        pollfd pf{lfd, POLLIN, 0};
        if (poll(&pf, 1, 5000) != 1) break;
        const int c = accept(lfd, nullptr, nullptr);
        SSL* ssl = SSL_new(ctx);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) == 1) {
          const char* sn = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
          names.push_back(sn ? sn : "");
          char buf[1024];
          (void)SSL_read(ssl, buf, sizeof buf);
          const std::string resp = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body;
          SSL_write(ssl, resp.data(), static_cast<int>(resp.size()));
          SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        close(c);
      }
      SSL_CTX_free(ctx);
    });
  }
  ~FakeTls() {
    if (t.joinable()) t.join();
    close(lfd);
  }
};

TEST(ProbeSsl, HttpGetOverTlsWithTheCaAndSniAsKeepalived) {
  // The fake server writes to clients that gave up after the handshake; fastvsd ignores
  // SIGPIPE process-wide (control/signals.cpp), as this test must.
  signal(SIGPIPE, SIG_IGN);
  char dir[] = "/tmp/fvs-ssl-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ASSERT_TRUE(make_cert(dir, "rs", "rs.example.org")) << "the openssl command is needed";
  ASSERT_TRUE(make_cert(dir, "other", "other.example.org"));
  const std::string d = dir;
  CheckSpec spec = fast(CheckKind::Ssl);
  spec.urls.push_back(HttpUrl{});
  spec.urls[0].digest = md5_hex("hello");
  {
    // No CA: the certificate is not checked (keepalived's default); the body's digest is.
    FakeTls s(d + "/rs-cert.pem", d + "/rs-key.pem", "hello", 1);
    const CheckResult r = probe(spec, kLoopback, s.port);
    EXPECT_TRUE(r.ok) << r.reason;
  }
  {
    FakeTls s(d + "/rs-cert.pem", d + "/rs-key.pem", "bye", 1);
    const CheckResult r = probe(spec, kLoopback, s.port);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.reason.find("digest"), std::string::npos) << r.reason;
  }
  // A CA that signed it (the self-signed certificate itself) passes; another one does not.
  spec.ssl_ca = d + "/rs-cert.pem";
  spec.enable_sni = true;
  spec.urls[0].virtualhost = "www.example.org";
  {
    FakeTls s(d + "/rs-cert.pem", d + "/rs-key.pem", "hello", 1);
    const CheckResult r = probe(spec, kLoopback, s.port);
    EXPECT_TRUE(r.ok) << r.reason;
    s.t.join();
    EXPECT_EQ(s.names, std::vector<std::string>{"www.example.org"});  // enable_sni
  }
  spec.ssl_ca = d + "/other-cert.pem";
  {
    FakeTls s(d + "/rs-cert.pem", d + "/rs-key.pem", "hello", 1);
    const CheckResult r = probe(spec, kLoopback, s.port);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "SSL_GET 127.0.0.1:" + std::to_string(s.port) +
                            ": the server's certificate: self-signed certificate");
  }
  // Plain HTTP where TLS is expected: the handshake fails, with OpenSSL's reason.
  {
    FakeSmtp s({"HTTP/1.0 200 OK\r\n\r\n"});
    spec.ssl_ca.clear();
    const CheckResult r = probe(spec, kLoopback, s.port);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason.rfind("SSL_GET handshake with 127.0.0.1:" + std::to_string(s.port), 0), 0u)
        << r.reason;
  }
  std::system(("rm -rf " + d).c_str());
}

TEST(ProbeDns, AnswersAsCheckDnsJudgesThem) {
  uint16_t port = 0;
  const int server = udp_server(&port);
  CheckSpec spec = fast(CheckKind::Dns);
  spec.connect_timeout = 0.3;
  spec.dns_name = "www.example.org";
  spec.dns_type = 1;
  // The answer: the query's header with QR set and `rcode`, `id_xor` changing the identifier.
  const auto answer = [](unsigned rcode, uint16_t id_xor = 0) {
    return [rcode, id_xor](const std::string& q) -> std::optional<std::string> {
      std::string a = q;
      a[0] = static_cast<char>(a[0] ^ (id_xor >> 8));
      a[1] = static_cast<char>(a[1] ^ (id_xor & 0xff));
      a[2] = static_cast<char>(a[2] | 0x80);
      a[3] = static_cast<char>((a[3] & 0xf0) | rcode);
      return a;
    };
  };
  std::vector<std::string> seen;
  CheckResult r = probe_udp(spec, port, server, answer(0), &seen);
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_EQ(seen.size(), 1u);
  // The question as it went: after the 12-byte header, www.example.org, A, IN.
  EXPECT_EQ(seen[0].substr(12), std::string("\3www\7example\3org\0\0\1\0\1", 21));
  r = probe_udp(spec, port, server, answer(3));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "DNS_CHECK 127.0.0.1:" + std::to_string(port) + ": rcode 3");
  // Another identifier is no answer: the check times out.
  r = probe_udp(spec, port, server, answer(0, 0x0101));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "DNS_CHECK 127.0.0.1:" + std::to_string(port) + ": read timeout after 0.3 s");
  close(server);
  r = probe_udp(spec, port, -1, answer(0));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "DNS_CHECK 127.0.0.1:" + std::to_string(port) +
                          ": failed to read socket: Connection refused");
}

TEST(HexStr, AsKeepalivedReadsIt) {
  std::vector<uint8_t> d, m;
  // keepalived.conf(5)'s example.
  ASSERT_TRUE(parse_hex_str("Ab12f 3 456 546443123", d, nullptr));
  EXPECT_EQ(
      d, (std::vector<uint8_t>{0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03}));
  // An odd digit ending a group is a byte's low nibble, a wildcard too.
  ASSERT_TRUE(parse_hex_str("4fX x1 X", d, &m));
  EXPECT_EQ(d, (std::vector<uint8_t>{0x4f, 0x00, 0x01, 0x00}));
  EXPECT_EQ(m, (std::vector<uint8_t>{0x00, 0x0f, 0xf0, 0x0f}));
  ASSERT_TRUE(parse_hex_str("4f01", d, &m));
  EXPECT_TRUE(m.empty());                          // no wildcard, no mask
  EXPECT_FALSE(parse_hex_str("4fX", d, nullptr));  // wildcards in replies only
  EXPECT_FALSE(parse_hex_str("4g", d, nullptr));
  EXPECT_FALSE(parse_hex_str("  ", d, nullptr));
  EXPECT_FALSE(parse_hex_str("", d, nullptr));
}

}  // namespace
}  // namespace fastvs
