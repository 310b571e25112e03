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

std::string addr_port(uint32_t ip, uint16_t port) {
  return format_ip4(ip) + ":" + std::to_string(port);
}

std::string port_name(uint16_t port) {
  return "dpdk" + std::to_string(port);
}

}  // namespace fastvs
