// Addresses, ports, MACs and prefixes as fastvsadm writes them (common/net.h).
#include <cstdio>
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

}  // namespace
}  // namespace fastvs
