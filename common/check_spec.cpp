#include "common/check_spec.h"

#include <algorithm>
#include <cstring>

namespace fastvs {

const char* check_kind_name(CheckKind k) {
  switch (k) {
    case CheckKind::Tcp:
      return "TCP_CHECK";
    case CheckKind::Http:
      return "HTTP_GET";
    case CheckKind::Misc:
      return "MISC_CHECK";
    case CheckKind::Udp:
      return "UDP_CHECK";
    case CheckKind::Ping:
      return "PING_CHECK";
    case CheckKind::Smtp:
      return "SMTP_CHECK";
    case CheckKind::Ssl:
      return "SSL_GET";
    case CheckKind::Dns:
      return "DNS_CHECK";
    case CheckKind::File:
      return "FILE_CHECK";
  }
  return "?";
}

bool HttpUrl::status_ok(unsigned code) const {
  if (status_codes.empty()) return code >= 200 && code <= 299;
  return std::any_of(status_codes.begin(), status_codes.end(),
                     [code](const StatusRange& r) { return code >= r.lo && code <= r.hi; });
}

std::string CheckSpec::describe() const {
  if (kind == CheckKind::Misc) return std::string(check_kind_name(kind)) + " " + misc_path;
  if (kind == CheckKind::File) return std::string(check_kind_name(kind)) + " " + file_path;
  if (kind == CheckKind::Ping)
    return std::string(check_kind_name(kind)) + " " + format_ip(connect_ip);
  return std::string(check_kind_name(kind)) + " " + addr_port(connect_ip, connect_port);
}

namespace {

// hex_val: a digit's value, kWild for X (when wildcards are allowed), kBad otherwise.
constexpr uint8_t kWild = 0xfe, kBad = 0xff;
uint8_t hex_val(char c, bool wild) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<uint8_t>(c - 'A' + 10);
  if (wild && (c == 'x' || c == 'X')) return kWild;
  return kBad;
}

}  // namespace

bool parse_hex_str(std::string_view s, std::vector<uint8_t>& data, std::vector<uint8_t>* mask) {
  data.clear();
  std::vector<uint8_t> m;
  bool wildcards = false;
  size_t i = 0;
  while (true) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i == s.size()) break;
    uint8_t byte = 0, bits = 0;
    // One digit, or two when another follows without a blank between (an odd digit at a
    // group's end is a byte of its own).
    for (int n = 0; n < 2 && i < s.size() && (n == 0 || (s[i] != ' ' && s[i] != '\t')); ++n) {
      const uint8_t v = hex_val(s[i++], mask != nullptr);
      if (v == kBad) return false;
      byte = static_cast<uint8_t>(byte << 4 | (v == kWild ? 0 : v));
      bits = static_cast<uint8_t>(bits << 4 | (v == kWild ? 0x0f : 0));
      wildcards |= v == kWild;
    }
    data.push_back(byte);
    m.push_back(bits);
  }
  if (data.empty()) return false;
  if (mask) *mask = wildcards ? std::move(m) : std::vector<uint8_t>{};
  return true;
}

std::optional<uint16_t> dns_type_code(std::string_view name) {
  static constexpr std::pair<const char*, uint16_t> kTypes[] = {
      {"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28}};
  for (const auto& [n, code] : kTypes)
    if (name.size() == std::strlen(n) &&
        std::equal(name.begin(), name.end(), n,
                   [](char a, char b) { return (a >= 'a' && a <= 'z' ? a - 32 : a) == b; }))
      return code;
  return std::nullopt;
}

std::vector<uint8_t> dns_query(uint16_t id, const std::string& name, uint16_t type) {
  std::vector<uint8_t> q = {static_cast<uint8_t>(id >> 8),
                            static_cast<uint8_t>(id),
                            0x01,
                            0x00,
                            0,
                            1,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0};  // RD; one question
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    if (dot > start) {  // "." and a trailing dot: the root label below
      q.push_back(static_cast<uint8_t>(dot - start));
      q.insert(q.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
               name.begin() + static_cast<std::ptrdiff_t>(dot));
    }
    start = dot + 1;
  }
  q.push_back(0);
  q.insert(q.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1});  // IN
  return q;
}

bool udp_reply_ok(const CheckSpec& spec, const uint8_t* reply, size_t len) {
  if (spec.reply_data.empty()) return true;
  if (len < spec.min_reply_len || len > spec.max_reply_len) return false;
  const size_t n = std::min(len, spec.reply_data.size());
  for (size_t i = 0; i < n; ++i) {
    const uint8_t ignore = i < spec.reply_mask.size() ? spec.reply_mask[i] : 0;
    if ((reply[i] ^ spec.reply_data[i]) & static_cast<uint8_t>(~ignore)) return false;
  }
  return true;
}

}  // namespace fastvs
