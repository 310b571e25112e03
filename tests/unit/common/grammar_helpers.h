// Helpers for tests of the fastvsadm grammar: parse a line, expect success or one error line.
#pragma once

#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "common/grammar/command.h"

namespace fastvs {
// gtest prints an address as fastvsadm writes it.
inline void PrintTo(const IpAddr& a, std::ostream* os) {
  *os << format_ip(a);
}
}  // namespace fastvs

namespace fastvs::testing {

constexpr IpAddr ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return IpAddr::v4(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d);
}
// Host order, for the data plane's and the kernel path's IPv4 fields.
constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return ip(a, b, c, d).v4();
}
// An IPv6 address written as text (the test's literal must parse).
inline IpAddr ip6(const char* s) {
  const auto a = parse_ip(s);
  EXPECT_TRUE(a && a->is_v6()) << s;
  return a.value_or(IpAddr{});
}

inline Result<Command> parse(const std::string& line) {
  return parse_command(split_words(line));
}

inline Command parse_ok(const std::string& line) {
  Result<Command> r = parse(line);
  EXPECT_TRUE(r.ok()) << line << " -> " << r.error();
  return r ? *r : Command{};
}

inline std::string parse_err(const std::string& line) {
  Result<Command> r = parse(line);
  EXPECT_FALSE(r.ok()) << line << " parsed";
  EXPECT_FALSE(r.error().empty()) << line;
  EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
  return r.error();
}

}  // namespace fastvs::testing
