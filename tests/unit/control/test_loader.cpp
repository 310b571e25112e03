// Config files and -R input (control/config/loader.h): all lines or none, errors with their
// line, and a bulk load equal to the lines applied one by one.
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "common/text.h"
#include "control/config/loader.h"
#include "tests/unit/control/apply_helpers.h"

namespace fastvs {
namespace {

using namespace fastvs::testing;

constexpr const char* kTwoArm = R"(# fastvs: two-arm NAT
ip addr add 172.16.254.200/24 dev dpdk0
ip addr add 192.168.0.8/24 dev dpdk1
ip route add default via 172.16.254.1 dev dpdk0

-A -t 172.16.254.200:80 -s wrr
-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1
-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1
)";

// A file is applied with an index and runs of -a put in place at once (ConfigApplier): the
// result, and the first error, must be what applying its lines one by one gives.
TEST(ApplyConfigText, SameAsOneLineAtATime) {
  const std::vector<std::string> lines = {
      "ip addr add 172.16.254.200/24 dev dpdk0",
      "ip addr add 192.168.0.8/24 dev dpdk1",
      "-A -t 172.16.254.200:80 -s wrr",
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1",
      "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 2",
      "-A -u 172.16.254.200:53 -s rr",
      "-a -u 172.16.254.200:53 -r 192.168.0.18:53 -m",
      "-a -t 172.16.254.200:80 -r 192.168.0.38:80 -m -w 3",  // back to the first service
      "-e -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 7",
      "-a -t 172.16.254.200:80 -r 192.168.0.48 -g",
      "-d -t 172.16.254.200:80 -r 192.168.0.18:80",
      "-A -t 172.16.254.201:80 -s lc",
      "-D -u 172.16.254.200:53",
      "-a -t 172.16.254.201:80 -r 192.168.0.18:80 -m",
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 4",
      "-A -u 172.16.254.200:53 -s sh",
      "-a -u 172.16.254.200:53 -r 192.168.0.28:53 -m",
  };
  Config one;
  std::string text;
  for (const auto& l : lines) {
    run_ok(one, l);
    text += l + "\n";
  }
  const Config base;
  const Result<Config> r = apply_config_text(base, text, "t", 2);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ((*r).services.size(), one.services.size());
  for (size_t i = 0; i < one.services.size(); ++i) {
    EXPECT_EQ((*r).services[i].key, one.services[i].key);
    ASSERT_EQ((*r).services[i].dests.size(), one.services[i].dests.size()) << i;
    for (size_t k = 0; k < one.services[i].dests.size(); ++k) {
      EXPECT_EQ((*r).services[i].dests[k].rip, one.services[i].dests[k].rip) << i << " " << k;
      EXPECT_EQ((*r).services[i].dests[k].weight, one.services[i].dests[k].weight);
    }
  }
  // A duplicate within a run, and after the run, are both caught, on their own line.
  const Result<Config> dup =
      apply_config_text(base,
                        text +
                            "-a -t 172.16.254.201:80 -r 192.168.0.28:80 -m\n-a "
                            "-t 172.16.254.201:80 -r 192.168.0.28:80 -m\n",
                        "t", 2);
  EXPECT_EQ(dup.error(),
            "t:19: destination 192.168.0.28:80 already exists in service TCP 172.16.254.201:80");
  const Result<Config> dup2 =
      apply_config_text(base, text + "-a -t 172.16.254.200:80 -r 192.168.0.38:80 -m\n", "t", 2);
  EXPECT_EQ(dup2.error(),
            "t:18: destination 192.168.0.38:80 already exists in service TCP 172.16.254.200:80");
}

// -R's batching indexes services by their whole key: two marks are two services (the index
// once took every IPv4 mark for one, and refused the second as existing).
TEST(ApplyConfigText, FirewallMarkServicesRestore) {
  const std::string text =
      "ip addr add 10.0.0.1/24 dev dpdk1\n-A -f 100 -s rr\n-A -f 200 -s wlc\n-A -f 100 -6 -s rr\n"
      "-a -f 100 -r 10.0.0.2:0 -m -w 1\n-a -f 200 -r 10.0.0.3:0 -g -w 2\n"
      "-a -f 100 -r 10.0.0.4:0 -m -w 1\n";
  Result<Config> r = apply_config_text(Config{}, text, "-R input", 2);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->services.size(), 3u);
  EXPECT_EQ(r->services[0].key, ServiceKey::of_fwmark(100, false));
  EXPECT_EQ(r->services[0].dests.size(), 2u);
  EXPECT_EQ(r->services[1].key, ServiceKey::of_fwmark(200, false));
  EXPECT_EQ(r->services[1].dests.size(), 1u);
  EXPECT_TRUE(r->services[2].dests.empty());
  const Result<Config> again = apply_config_text(*r, "-A -f 200\n", "-R input", 2);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), "-R input:1: service FWM 200 already exists");
}

TEST(ConfigFile, TwoArmExample) {
  Result<Config> r = load_config_text(kTwoArm, "fastvs.conf", 2);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.error(), "");
  const Config& c = (*r);
  ASSERT_EQ(c.addrs.size(), 2u);
  EXPECT_EQ(c.addrs[0].ip, ip(172, 16, 254, 200));
  EXPECT_EQ(c.addrs[0].port, 0);
  EXPECT_EQ(c.addrs[1].ip, ip(192, 168, 0, 8));
  EXPECT_EQ(c.addrs[1].port, 1);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].via, ip(172, 16, 254, 1));
  ASSERT_EQ(c.services.size(), 1u);
  const ServiceConfig& s = c.services[0];
  EXPECT_EQ(s.key.vip, ip(172, 16, 254, 200));
  EXPECT_EQ(s.key.vport, 80);
  EXPECT_EQ(s.scheduler, "wrr");
  ASSERT_EQ(s.dests.size(), 2u);
  EXPECT_EQ(s.dests[0].rip, ip(192, 168, 0, 28));  // kernel order: last added first
  EXPECT_EQ(s.dests[1].rip, ip(192, 168, 0, 18));
  for (const DestConfig& d : s.dests) {
    EXPECT_EQ(d.rport, 80);
    EXPECT_EQ(d.method, ForwardMethod::Masq);
    EXPECT_EQ(d.weight, 1);
  }
  EXPECT_EQ(c.timeouts.tcp, 900u);
}

TEST(ConfigFile, OneArmExample) {
  const char* text =
      "ip addr add 172.16.254.200/24 dev dpdk0\n"
      "ip addr add 192.168.0.8/24 dev dpdk0\n"
      "ip route add default via 172.16.254.1 dev dpdk0\n"
      "-A -t 172.16.254.200:80 -s wrr\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1\n";
  Result<Config> r = load_config_text(text, "one-arm.conf", 1);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r).addrs[1].port, 0);
  ASSERT_EQ((*r).services[0].dests.size(), 2u);
  EXPECT_EQ((*r).services[0].dests[0].rip, ip(192, 168, 0, 28));
  // The two-arm file names dpdk1, which a one-port director does not have.
  r = load_config_text(kTwoArm, "fastvs.conf", 1);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "fastvs.conf:3: no port dpdk1 (the director has 1 port: dpdk0)");
}

TEST(ConfigFile, ErrorsNameTheLineAndLoadNothing) {
  const char* text =
      "ip addr add 192.168.0.8/24 dev dpdk1\n"
      "\n"
      "-A -t 172.16.254.200:80 -s wrr\n"
      "-A -t 172.16.254.200:80 -s rr\n"
      "-A -t 172.16.254.201:80 -s bogus\n";
  Result<Config> r = load_config_text(text, "x.conf", 2);
  EXPECT_FALSE(r.ok());
  // A refused file has no configuration to look at: nothing of it is loaded (the Result holds
  // only the error).
  EXPECT_EQ(r.error(), "x.conf:4: service TCP 172.16.254.200:80 already exists");

  r = load_config_text("-A -t 1.1.1.1:80 -s bogus\n", "y.conf", 2);
  EXPECT_EQ(r.error(), "y.conf:1: bad scheduler name 'bogus'");
  r = load_config_text("-L -n\n", "y.conf", 2);
  EXPECT_EQ(r.error(), "y.conf:1: -L (--list) does not change the configuration");
  // Order matters: a real server before the address that reaches it.
  r = load_config_text(
      "-A -t 172.16.254.200:80\n-a -t 172.16.254.200:80 -r 192.168.0.18 -m\n"
      "ip addr add 192.168.0.8/24 dev dpdk1\n",
      "z.conf", 2);
  EXPECT_EQ(r.error(), "z.conf:2: real server 192.168.0.18 is not on a connected network or route");
}

TEST(ConfigFile, CommentsBlanksPrefixesAndCrlf) {
  const char* text =
      "# comment\r\n"
      "   \r\n"
      "\t# indented comment\n"
      "fastvsadm ip addr add 192.168.0.8/24 dev dpdk1   # DIP\r\n"
      "ipvsadm -C\n"
      "ipvsadm -A -t 172.16.254.200:80 -s rr\r\n"
      "fastvsadm -a -t 172.16.254.200:80 -r 192.168.0.18 -m -w 4\r\n"
      "-e -t 172.16.254.200:80 -r 192.168.0.18 -w 5";  // no final newline
  Result<Config> r = load_config_text(text, "p.conf", 2);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ((*r).services.size(), 1u);
  EXPECT_EQ((*r).services[0].scheduler, "rr");
  EXPECT_EQ((*r).services[0].dests[0].weight, 5);
}

TEST(ConfigFile, EmptyTextIsAnEmptyConfig) {
  Result<Config> r = load_config_text("", "e.conf", 2);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE((*r).services.empty());
  r = load_config_text("\n\n# nothing\n", "e.conf", 2);
  EXPECT_TRUE(r.ok());
}

TEST(ConfigFile, FromAFile) {
  char path[] = "/tmp/fastvs_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << kTwoArm;
  }
  Result<Config> r = load_config_file(path, 2);
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r).services.size(), 1u);
  {
    std::ofstream out(path);
    out << "ip addr add 10.0.0.1/24 dev dpdk0\n-A -t 10.0.0.1:80 -s nope\n";
  }
  r = load_config_file(path, 2);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), std::string(path) + ":2: bad scheduler name 'nope'");
  std::remove(path);

  r = load_config_file("/nonexistent/fastvs.conf", 2);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "/nonexistent/fastvs.conf: cannot open: No such file or directory");
}

// Files are read whole only when they are regular files and not larger than the limit: a FIFO
// (which would block), a device (/dev/zero would never end), a directory or a socket is refused
// by name without reading it.
TEST(ConfigFile, OnlyRegularFilesWithinTheLimit) {
  char dir[] = "/tmp/fvs-loader-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string fifo = std::string(dir) + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(read_text_file(fifo).error(), fifo + ": a FIFO, not a regular file");
  EXPECT_EQ(read_text_file("/dev/zero").error(), "/dev/zero: a character device, not a regular file");
  EXPECT_EQ(read_text_file(dir).error(), std::string(dir) + ": a directory, not a regular file");
  const std::string big = std::string(dir) + "/big.conf";
  {
    std::ofstream f(big);
    f << std::string(5000, '#') << "\n";
  }
  EXPECT_EQ(read_text_file(big, 4096).error(),
            big + ": larger than 4096 bytes, the limit for a configuration file");
  Result<std::string> ok = read_text_file(big, 8192);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->size(), 5001u);
  EXPECT_FALSE(load_config_file(fifo, 2).ok());
  std::remove(big.c_str());
  std::remove(fifo.c_str());
  rmdir(dir);
}

// What a message shows of a file's bytes is a short, escaped excerpt.
TEST(ConfigFile, ErrorsShowAnExcerptOfTheLine) {
  const std::string junk = std::string("-A -t 10.0.0.1:80 -s ") + std::string(100000, 'x') + "\x01\n";
  Result<Config> r = load_config_text(junk, "j.conf", 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "j.conf:1: bad scheduler name '" + std::string(kExcerptMax, 'x') + "...'");
  r = load_config_text(std::string("\x01\x7f\xff\\ \n"), "b.conf", 2);
  EXPECT_EQ(r.error(), "b.conf:1: unexpected argument '\\x01\\x7f\\xff\\x5c'");
}

}  // namespace
}  // namespace fastvs
