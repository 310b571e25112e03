#include "common/model.h"

#include "common/text.h"

#include <algorithm>
#include <cctype>

namespace fastvs {

std::string service_name(const ServiceKey& k) {
  if (k.is_fwmark()) return "FWM " + std::to_string(k.fwmark) + (k.vip.is_v6() ? " IPv6" : "");
  return std::string(proto_name(k.proto)) + " " + addr_port(k.vip, k.vport);
}

std::vector<std::string> service_words(const ServiceKey& k) {
  if (k.is_fwmark()) {
    std::vector<std::string> w = {"-f", std::to_string(k.fwmark)};
    if (k.vip.is_v6()) w.emplace_back("-6");
    return w;
  }
  return {k.proto == Proto::Tcp ? "-t" : "-u", addr_port(k.vip, k.vport)};
}

std::optional<ServiceKey> parse_service_name(std::string_view s) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
    return v;
  };
  s = trim(s);
  ServiceKey k;
  auto lower = [](std::string_view v) {
    std::string out(v);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string head = lower(s.substr(0, 3));
  if (head == "fwm" || s.substr(0, 2) == "-f") {
    // "FWM 80", "fwm:80", "-f 80", then " IPv6" or " -6".
    s.remove_prefix(head == "fwm" ? 3 : 2);
    if (!s.empty() && (s.front() == ':' || s.front() == '/')) s.remove_prefix(1);
    s = trim(s);
    size_t end = 0;
    while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
    const auto mark = parse_uint(s.substr(0, end), 0xffffffffu);
    if (!mark || *mark == 0) return std::nullopt;
    const std::string tail = lower(trim(s.substr(end)));
    if (!tail.empty() && tail != "ipv6" && tail != "-6") return std::nullopt;
    return ServiceKey::of_fwmark(static_cast<uint32_t>(*mark), !tail.empty());
  }
  if (head == "tcp" || head == "udp") {
    k.proto = head == "tcp" ? Proto::Tcp : Proto::Udp;
    s.remove_prefix(3);
  } else if (s.substr(0, 2) == "-t" || s.substr(0, 2) == "-u") {
    k.proto = s[1] == 't' ? Proto::Tcp : Proto::Udp;
    s.remove_prefix(2);
  } else {
    return std::nullopt;
  }
  // One separator: blanks, or ':' or '/'.
  const std::string_view rest = trim(s);
  if (rest.size() == s.size()) {
    if (s.empty() || (s.front() != ':' && s.front() != '/')) return std::nullopt;
    s.remove_prefix(1);
  } else {
    s = rest;
  }
  // "10.0.0.1:80" or "[2001:db8::1]:80".
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = s.substr(0, colon);
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  const auto ip = parse_ip(host);
  if (ip && ip->is_v6() != bracketed) return std::nullopt;
  const auto port = parse_port(s.substr(colon + 1));
  if (!ip || !port) return std::nullopt;
  k.vip = *ip;
  k.vport = *port;
  return k;
}

uint16_t sync_daemon_maxlen(const SyncDaemonConfig& c, bool master, uint32_t mtu) {
  constexpr uint32_t kHeaders = 20 + 8;  // sizeof(struct iphdr) + sizeof(struct udphdr)
  if (c.maxlen != 0) {
    const uint32_t min = master ? 1 : 1024;
    return static_cast<uint16_t>(std::clamp<uint32_t>(c.maxlen, min, kSyncMaxlenMax));
  }
  const uint32_t frame = master ? 1500 : std::clamp<uint32_t>(mtu, 1500, 65535);
  return static_cast<uint16_t>(frame - kHeaders);
}

}  // namespace fastvs
