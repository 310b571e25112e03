// Small text helpers that both programs use, each written once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fastvs {

// ' ', tab, CR, VT, FF: what separates words on a command line or a keepalived.conf line.
inline bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// What a message may show of a word or a line it did not make (a file's, a client's): at most
// kExcerptMax characters of it, the rest cut to "...", and control bytes, quotes' backslash and
// bytes above 0x7e written as \xNN, so that a binary file or a runaway line can neither flood
// the log nor break it into lines.
inline constexpr size_t kExcerptMax = 80;
std::string excerpt(std::string_view s);

// 'x' quoted for a message, as an excerpt: "bad scheduler name 'wrrr'".
std::string quoted(std::string_view s);

// The words with `sep` between them.
std::string join(const std::vector<std::string>& words, std::string_view sep = " ");

// Decimal digits only, value <= max.
std::optional<uint32_t> parse_uint(std::string_view s, uint32_t max);
// strtoul's base 0, as iptables reads a mark: "0x50" hex, "010" octal, "80" decimal; 32 bits.
std::optional<uint32_t> parse_uint_base0(std::string_view s);
// An optional '-' and decimal digits, min <= value <= max.
std::optional<int32_t> parse_int(std::string_view s, int32_t min, int32_t max);

}  // namespace fastvs
