// Helpers for tests of the fastvsadm grammar: parse a line, expect success or one error line.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "common/grammar/command.h"

namespace fastvs::testing {

constexpr uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
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
