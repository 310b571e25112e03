#include "common/text.h"

#include <cstdint>

namespace fastvs {

std::string quoted(std::string_view s) {
  // Appended piece by piece: g++ 12 at -O3 reports a -Wrestrict false positive for
  // "'" + std::string(s) + "'" (GCC bug 105651).
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

std::string join(const std::vector<std::string>& words, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) out += sep;
    out += words[i];
  }
  return out;
}

std::optional<uint32_t> parse_uint(std::string_view s, uint32_t max) {
  if (s.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > max) return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

}  // namespace fastvs
