#include "common/text.h"

#include <cstdint>

namespace fastvs {

std::string excerpt(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  size_t shown = 0;
  for (const char ch : s) {
    if (shown == kExcerptMax) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
    ++shown;
  }
  return out;
}

std::string quoted(std::string_view s) {
  std::string out = "'";
  out += excerpt(s);
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

std::optional<uint32_t> parse_uint_base0(std::string_view s) {
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<unsigned>(c - 'A' + 10);
    else
      return std::nullopt;
    if (d >= base) return std::nullopt;
    value = value * base + d;
    if (value > 0xffffffffu) return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

std::optional<int32_t> parse_int(std::string_view s, int32_t min, int32_t max) {
  const bool neg = !s.empty() && s[0] == '-';
  const std::optional<uint32_t> m = parse_uint(s.substr(neg ? 1 : 0), 2147483648u);
  if (!m) return std::nullopt;
  const int64_t v = neg ? -static_cast<int64_t>(*m) : static_cast<int64_t>(*m);
  if (v < min || v > max) return std::nullopt;
  return static_cast<int32_t>(v);
}

}  // namespace fastvs
