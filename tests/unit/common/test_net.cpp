// Addresses, ports, MACs and prefixes as fastvsadm writes them (common/net.h).
#include <arpa/inet.h>

#include <cstdio>
#include <random>
#include <set>
#include <unordered_set>
#include <cstring>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/net.h"
#include "tests/unit/common/grammar_helpers.h"

namespace fastvs {
namespace {

using namespace fastvs::testing;

TEST(Net, ParseIp4Accepts) {
  EXPECT_EQ(parse_ip4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ip4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(parse_ip4("172.16.254.200"), ip4(172, 16, 254, 200));
  EXPECT_EQ(parse_ip4("10.0.0.1"), 0x0a000001u);
}

TEST(Net, ParseIp4Rejects) {
  for (const char* s :
       {"",           "1.2.3",      "1.2.3.4.5",         "256.1.1.1", "1.2.3.256", "1.2.3.4 ",
        " 1.2.3.4",   "1.2.3.4x",   "x1.2.3.4",          "1..2.3",    "1.2.3.",    ".1.2.3",
        "01.2.3.4",   "1.2.3.04",   "+1.2.3.4",          "1.2.3.-4",  "0x1.2.3.4", "1.2.3.4/24",
        "1.2.3.4:80", "1000.1.1.1", "99999999999.1.1.1", "a.b.c.d",   "::1"}) {
    EXPECT_FALSE(parse_ip4(s).has_value()) << s;
  }
}

TEST(Net, FormatIp4) {
  EXPECT_EQ(format_ip4(ip4(192, 168, 0, 18)), "192.168.0.18");
  EXPECT_EQ(format_ip4(0), "0.0.0.0");
  EXPECT_EQ(format_ip4(0xffffffffu), "255.255.255.255");
}

TEST(Net, ParseMac) {
  const MacAddr want{0xaa, 0xbb, 0xcc, 0x0d, 0xee, 0xff};
  EXPECT_EQ(parse_mac("aa:bb:cc:0d:ee:ff"), want);
  EXPECT_EQ(parse_mac("AA:Bb:CC:0D:eE:FF"), want);
  EXPECT_EQ(parse_mac("aa:bb:cc:d:ee:ff"), want);  // iproute2 accepts one digit
  for (const char* s :
       {"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb:cc:dd:ee:fg", "aaa:bb:cc:dd:ee:ff",
        "aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff ", "aa::cc:dd:ee:ff", "aabbccddeeff"}) {
    EXPECT_FALSE(parse_mac(s).has_value()) << s;
  }
}

TEST(Net, FormatMacIsLowercase) {
  EXPECT_EQ(format_mac({0xAA, 0x0B, 0xCC, 0x00, 0xEE, 0xFF}), "aa:0b:cc:00:ee:ff");
}

TEST(Net, ParsePort) {
  EXPECT_EQ(parse_port("0"), 0);
  EXPECT_EQ(parse_port("80"), 80);
  EXPECT_EQ(parse_port("65535"), 65535);
  for (const char* s : {"", "65536", "-1", "+80", "80a", "http", " 80", "99999999999"}) {
    EXPECT_FALSE(parse_port(s).has_value()) << s;
  }
}

TEST(Net, PrefixMask) {
  EXPECT_EQ(prefix_mask(0), 0u);
  EXPECT_EQ(prefix_mask(24), 0xffffff00u);
  EXPECT_EQ(prefix_mask(32), 0xffffffffu);
}

// ---------------------------------------------------------------------------------------------
// IpAddr: IPv4 or IPv6.

IpAddr::Bytes bytes6(std::initializer_list<int> b) {
  IpAddr::Bytes out{};
  size_t i = 0;
  for (int v : b) out[i++] = static_cast<uint8_t>(v);
  return out;
}

TEST(IpAddr, V4KeepsHostOrder) {
  const IpAddr a = IpAddr::v4(0xac10fec8);
  EXPECT_TRUE(a.is_v4());
  EXPECT_FALSE(a.is_v6());
  EXPECT_EQ(a.v4(), 0xac10fec8u);
  EXPECT_EQ(a.bytes()[0], 172);
  EXPECT_EQ(a.bytes()[3], 200);
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(a.max_prefix(), 32u);
  EXPECT_EQ(IpAddr{}, IpAddr::v4(0));
  EXPECT_TRUE(IpAddr{}.is_zero());
  EXPECT_TRUE(IpAddr::any(IpAddr::Family::V6).is_zero());
  EXPECT_TRUE(IpAddr::any(IpAddr::Family::V6).is_v6());
  EXPECT_EQ(ip6("2001:db8::1").v4(), 0u);
  EXPECT_EQ(ip6("2001:db8::1").max_prefix(), 128u);
}

TEST(IpAddr, OrderIsFamilyThenNumeric) {
  // IPv4 before IPv6 (ipvs_cmp_services: AF_INET < AF_INET6), each numerically; 0.0.0.0 and ::
  // differ.
  const std::vector<IpAddr> sorted = {
      IpAddr::v4(0),       IpAddr::v4(0x0a000001), IpAddr::v4(0xffffffff), ip6("::"),
      ip6("::1"),          ip6("::ffff:1.2.3.4"),  ip6("2001:db8::1"),     ip6("2001:db8::2"),
      ip6("2001:db8:1::"), ip6("ff02::1")};
  for (size_t i = 0; i + 1 < sorted.size(); ++i) {
    EXPECT_LT(sorted[i], sorted[i + 1]) << format_ip(sorted[i]) << " " << format_ip(sorted[i + 1]);
    EXPECT_NE(std::hash<IpAddr>{}(sorted[i]), std::hash<IpAddr>{}(sorted[i + 1]));
  }
  EXPECT_NE(IpAddr::v4(0), ip6("::"));
  // ::ffff:10.0.0.1 is an IPv6 address, not 10.0.0.1.
  EXPECT_NE(*parse_ip("::ffff:10.0.0.1"), IpAddr::v4(0x0a000001));
  const std::unordered_set<IpAddr> set(sorted.begin(), sorted.end());
  EXPECT_EQ(set.size(), sorted.size());
  EXPECT_EQ(set.count(ip6("2001:db8::1")), 1u);
}

TEST(IpAddr, Masked) {
  EXPECT_EQ(IpAddr::v4(0x0a0b0c0d).masked(24), IpAddr::v4(0x0a0b0c00));
  EXPECT_EQ(IpAddr::v4(0x0a0b0c0d).masked(0), IpAddr::v4(0));
  EXPECT_EQ(IpAddr::v4(0x0a0b0c0d).masked(32), IpAddr::v4(0x0a0b0c0d));
  EXPECT_EQ(IpAddr::v4(0xffffffff).masked(31), IpAddr::v4(0xfffffffe));
  EXPECT_EQ(ip6("2001:db8:1:2:3:4:5:6").masked(64), ip6("2001:db8:1:2::"));
  EXPECT_EQ(ip6("2001:db8:ffff::").masked(36), ip6("2001:db8:f000::"));
  EXPECT_EQ(ip6("ffff:ffff::").masked(1), ip6("8000::"));
  EXPECT_EQ(ip6("2001:db8::1").masked(128), ip6("2001:db8::1"));
  EXPECT_EQ(ip6("2001:db8::1").masked(0), ip6("::"));
}

TEST(ParseIp, V6Accepts) {
  EXPECT_EQ(parse_ip6("::"), IpAddr::Bytes{});
  EXPECT_EQ(parse_ip6("::1"), bytes6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(parse_ip6("1::"), bytes6({0, 1}));
  EXPECT_EQ(parse_ip6("2001:DB8::a:B"),
            bytes6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0x0b}));
  EXPECT_EQ(parse_ip6("1:2:3:4:5:6:7:8"), bytes6({0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}));
  // "::" for a single group, at either end or inside.
  EXPECT_EQ(parse_ip6("1:2:3:4:5:6:7::"), bytes6({0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7}));
  EXPECT_EQ(parse_ip6("::2:3:4:5:6:7:8"), bytes6({0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}));
  EXPECT_EQ(parse_ip6("1:2:3::5:6:7:8"), bytes6({0, 1, 0, 2, 0, 3, 0, 0, 0, 5, 0, 6, 0, 7, 0, 8}));
  EXPECT_EQ(parse_ip6("0000:0000:0000:0000:0000:0000:0000:0001"), parse_ip6("::1"));
  // A dotted quad as the last 32 bits.
  EXPECT_EQ(parse_ip6("::ffff:1.2.3.4"),
            bytes6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}));
  EXPECT_EQ(parse_ip6("::1.2.3.4"), bytes6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}));
  EXPECT_EQ(parse_ip6("1:2:3:4:5:6:1.2.3.4"),
            bytes6({0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4}));
  const auto a = parse_ip("2001:db8::1");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v6());
  EXPECT_EQ(parse_ip("10.0.0.1"), IpAddr::v4(0x0a000001));
}

TEST(ParseIp, V6Rejects) {
  for (const char* s : {"",
                        ":",
                        ":::",
                        "1:::2",
                        "1::2::3",
                        ":1::2",
                        "1::2:",
                        "1:2:3:4:5:6:7",
                        "1:2:3:4:5:6:7:8:9",
                        "1:2:3:4:5:6:7:8::",
                        "::1:2:3:4:5:6:7:8",
                        "12345::",
                        "g::1",
                        "1:2:3:4:5:6:7:1.2.3.4",
                        "::1.2.3",
                        "::1.2.3.4.5",
                        "::256.1.1.1",
                        "::01.2.3.4",
                        "1.2.3.4::",
                        "::1.2.3.4:5",
                        "[::1]",
                        "::1%eth0",
                        "fe80::1/64",
                        " ::1",
                        "::1 ",
                        "::-1",
                        "::+1",
                        "0x1::",
                        "1:2"}) {
    EXPECT_FALSE(parse_ip6(s).has_value()) << s;
    EXPECT_FALSE(parse_ip(s).has_value()) << s;
  }
  // IPv4 by parse_ip only, and without shorthands.
  EXPECT_FALSE(parse_ip6("1.2.3.4").has_value());
  for (const char* s : {"1.2.3", "1", "0x01020304", "1.2.3.04"})
    EXPECT_FALSE(parse_ip(s).has_value()) << s;
}

TEST(FormatIp, Rfc5952) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {"2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"},  // the first of two
      {"2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"},                      // the longest run
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // one zero group is not compressed
      {"1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"},
      {"0:0:1::", "0:0:1::"},
      {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},  // IPv4-mapped
      {"::ffff:0:0", "::ffff:0.0.0.0"},
      {"::1.2.3.4", "::1.2.3.4"},  // IPv4-compatible
      {"::0.0.1.0", "::100"},      // seven zero groups: not IPv4-compatible to glibc
      {"::2", "::2"},
      {"::1:2", "::0.1.0.2"},
      {"0:0:0:0:0:1:0:0", "::1:0:0"},
      {"fe80::0001:00ab", "fe80::1:ab"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
  };
  for (const auto& [in, out] : cases) {
    const auto a = parse_ip(in);
    ASSERT_TRUE(a) << in;
    EXPECT_EQ(format_ip(*a), out) << in;
  }
  EXPECT_EQ(format_ip(IpAddr::v4(0xac10fec8)), "172.16.254.200");
}

// libc's inet_pton and inet_ntop are the reference (ipvsadm and iproute2 call them): the same
// answers for addresses built around the cases that matter (zero runs of every length and
// place, IPv4-mapped and -compatible forms) and random ones.
TEST(FormatIp, AsLibc) {
  std::mt19937 rng(12345);
  std::vector<IpAddr::Bytes> all;
  for (unsigned mask = 0; mask < 256; ++mask) {  // every pattern of zero and non-zero groups
    for (int value : {1, 0xffff, 0xab0}) {
      IpAddr::Bytes b{};
      for (int g = 0; g < 8; ++g) {
        if (mask & (1u << g)) {
          b[2 * g] = static_cast<uint8_t>(value >> 8);
          b[2 * g + 1] = static_cast<uint8_t>(value);
        }
      }
      all.push_back(b);
    }
  }
  for (int i = 0; i < 5000; ++i) {
    IpAddr::Bytes b{};
    for (auto& x : b) x = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : 0);
    all.push_back(b);
  }
  for (const IpAddr::Bytes& b : all) {
    char want[INET6_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET6, b.data(), want, sizeof want), nullptr);
    const std::string got = format_ip(IpAddr::v6(b));
    ASSERT_EQ(got, want);
    // And the text reads back, by us and by libc, to the same bytes.
    unsigned char back[16];
    ASSERT_EQ(inet_pton(AF_INET6, got.c_str(), back), 1) << got;
    ASSERT_EQ(parse_ip6(got), b) << got;
  }
}

TEST(ParseIp, AsLibc) {
  // Text forms, good and bad: parse_ip6 accepts exactly what inet_pton(AF_INET6) accepts.
  std::vector<std::string> texts = {"::",
                                    "::1",
                                    "1::",
                                    "::ffff:1.2.3.4",
                                    "1:2:3:4:5:6:7:8",
                                    "1:2:3:4:5:6:7::",
                                    "::2:3:4:5:6:7:8",
                                    ":",
                                    ":::",
                                    "1::2::3",
                                    "1:2:3:4:5:6:1.2.3.4",
                                    "1:2:3:4:5:6:7:1.2.3.4",
                                    "::1.2.3",
                                    "::01.2.3.4",
                                    "00000::",
                                    "0000::",
                                    "::ffff:255.255.255.255",
                                    "a:b:c:d:e:f:0:1"};
  const char alphabet[] = "0123456789abcdefABCDEFg:.%";
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int len = static_cast<int>(rng() % 20);
    for (int k = 0; k < len; ++k) s += alphabet[rng() % (sizeof alphabet - 1)];
    texts.push_back(s);
  }
  for (const std::string& s : texts) {
    unsigned char want[16];
    const bool ok = inet_pton(AF_INET6, s.c_str(), want) == 1;
    const auto got = parse_ip6(s);
    ASSERT_EQ(got.has_value(), ok) << "'" << s << "'";
    if (ok) {
      ASSERT_EQ(0, std::memcmp(got->data(), want, 16)) << s;
    }
  }
}

TEST(AddrPort, BracketsForIpv6) {
  // ipvsadm's addrport_to_anyname: "%s%s%s:%u" with "[" "]" for AF_INET6.
  EXPECT_EQ(addr_port(IpAddr::v4(0x0a000001), 80), "10.0.0.1:80");
  EXPECT_EQ(addr_port(ip6("2001:db8::1"), 80), "[2001:db8::1]:80");
  EXPECT_EQ(addr_port(ip6("::"), 0), "[::]:0");
}

}  // namespace
}  // namespace fastvs
