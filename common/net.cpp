#include "common/net.h"

#include <cstdio>

namespace fastvs {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// inet_pton's rules for AF_INET: exactly four decimal parts 0..255 separated by single dots, no
// leading zeros ("01"), no signs, no blanks, nothing before or after.
std::optional<uint32_t> parse_ip4(std::string_view s) {
  uint32_t addr = 0;
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    if (i >= s.size() || !is_digit(s[i])) return std::nullopt;
    const size_t start = i;
    unsigned value = 0;
    while (i < s.size() && is_digit(s[i])) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      if (value > 255) return std::nullopt;
      ++i;
    }
    if (s[start] == '0' && i - start > 1) return std::nullopt;
    addr = (addr << 8) | value;
  }
  if (i != s.size()) return std::nullopt;
  return addr;
}

std::string format_ip4(uint32_t a) {
  // By hand, not snprintf: listings of 100,000 destinations format as many addresses.
  char buf[16];
  char* p = buf;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const unsigned o = (a >> shift) & 0xff;
    if (o >= 100) *p++ = static_cast<char>('0' + o / 100);
    if (o >= 10) *p++ = static_cast<char>('0' + o / 10 % 10);
    *p++ = static_cast<char>('0' + o % 10);
    if (shift) *p++ = '.';
  }
  return std::string(buf, p);
}

// Six groups of one or two hex digits separated by ':' (iproute2 also accepts "0:1:2:3:4:5").
std::optional<MacAddr> parse_mac(std::string_view s) {
  MacAddr mac{};
  size_t i = 0;
  for (int part = 0; part < 6; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != ':') return std::nullopt;
      ++i;
    }
    int value = 0;
    int digits = 0;
    while (i < s.size() && hex_value(s[i]) >= 0) {
      if (++digits > 2) return std::nullopt;
      value = value * 16 + hex_value(s[i]);
      ++i;
    }
    if (digits == 0) return std::nullopt;
    mac[part] = static_cast<uint8_t>(value);
  }
  if (i != s.size()) return std::nullopt;
  return mac;
}

std::string format_mac(const MacAddr& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint32_t value = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

// inet_pton6 (RFC 4291 section 2.2): eight groups of 1..4 hex digits; one "::" stands for one
// or more zero groups; the last two groups may be written as a dotted quad. A single leading or
// trailing ':' is wrong, and so is a "::" that stands for nothing.
std::optional<IpAddr::Bytes> parse_ip6(std::string_view s) {
  IpAddr::Bytes out{};
  size_t n = 0;               // bytes written
  std::optional<size_t> gap;  // where "::" was, in bytes
  size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
  } else if (!s.empty() && s[0] == ':') {
    return std::nullopt;
  }
  while (i < s.size()) {
    // One group, or the dotted quad of the last 32 bits.
    size_t j = i;
    unsigned value = 0;
    while (j < s.size() && j - i < 5 && hex_value(s[j]) >= 0) {
      value = value * 16 + static_cast<unsigned>(hex_value(s[j]));
      ++j;
    }
    if (j < s.size() && s[j] == '.') {
      if (n + 4 > 16) return std::nullopt;
      const auto quad = parse_ip4(s.substr(i));
      if (!quad) return std::nullopt;
      for (int k = 3; k >= 0; --k) out[n++] = static_cast<uint8_t>(*quad >> (k * 8));
      i = s.size();
      break;
    }
    if (j == i || j - i > 4 || n + 2 > 16) return std::nullopt;
    out[n++] = static_cast<uint8_t>(value >> 8);
    out[n++] = static_cast<uint8_t>(value);
    i = j;
    if (i == s.size()) break;
    if (s[i] != ':') return std::nullopt;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (gap) return std::nullopt;
      gap = n;
      ++i;
    } else if (i == s.size()) {
      return std::nullopt;  // "1::2:" ends in a single ':'
    }
  }
  if (gap) {
    if (n == 16) return std::nullopt;  // "::" standing for no group
    const size_t tail = n - *gap;
    for (size_t k = 0; k < tail; ++k) out[15 - k] = out[n - 1 - k];
    for (size_t k = *gap; k < 16 - tail; ++k) out[k] = 0;
  } else if (n != 16) {
    return std::nullopt;
  }
  return out;
}

std::optional<IpAddr> parse_ip(std::string_view s) {
  if (s.find(':') == std::string_view::npos) {
    if (const auto a = parse_ip4(s)) return IpAddr::v4(*a);
    return std::nullopt;
  }
  if (const auto b = parse_ip6(s)) return IpAddr::v6(*b);
  return std::nullopt;
}

// glibc's inet_ntop6, to print what ipvsadm and iproute2 print.
std::string format_ip(const IpAddr& a) {
  if (a.is_v4()) return format_ip4(a.v4());
  const auto& b = a.bytes();
  unsigned words[8];
  for (int k = 0; k < 8; ++k) words[k] = unsigned{b[2 * k]} << 8 | b[2 * k + 1];
  int best_base = -1, best_len = 0;
  for (int k = 0; k < 8;) {
    if (words[k] != 0) {
      ++k;
      continue;
    }
    int len = 0;
    while (k + len < 8 && words[k + len] == 0) ++len;
    if (len > best_len) {
      best_base = k;
      best_len = len;
    }
    k += len;
  }
  if (best_len < 2) best_base = -1;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(40);
  for (int k = 0; k < 8; ++k) {
    if (k == best_base) {
      out += ':';
      k += best_len - 1;
      if (k == 7) out += ':';
      continue;
    }
    if (k) out += ':';
    // An IPv4-compatible (::a.b.c.d) or IPv4-mapped (::ffff:a.b.c.d) address.
    if (k == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      out +=
          format_ip4(uint32_t{b[12]} << 24 | uint32_t{b[13]} << 16 | uint32_t{b[14]} << 8 | b[15]);
      break;
    }
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned d = (words[k] >> shift) & 0xf;
      if (d || started || shift == 0) {
        out += kHex[d];
        started = true;
      }
    }
  }
  return out;
}

std::string addr_port(const IpAddr& ip, uint16_t port) {
  if (ip.is_v4()) return format_ip4(ip.v4()) + ":" + std::to_string(port);
  return "[" + format_ip(ip) + "]:" + std::to_string(port);
}

std::string port_name(uint16_t port) {
  return "dpdk" + std::to_string(port);
}

}  // namespace fastvs
