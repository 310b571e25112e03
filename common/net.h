// Addresses and protocol numbers shared by the control and data sides.
//
// Convention: the configuration model (common/) keeps IPv4 addresses and ports in host byte
// order, so they sort and print naturally; the data plane's snapshot and connection table keep
// them in network byte order ("_be"), so a packet's fields are compared without swapping.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fastvs {

enum class Proto : uint8_t { Tcp = 6, Udp = 17 };

inline const char* proto_name(Proto p) {
  return p == Proto::Tcp ? "TCP" : "UDP";
}

// LVS's three forwarding methods, named as ipvsadm prints them.
enum class ForwardMethod : uint8_t { Masq, Route, Tunnel };

inline const char* method_name(ForwardMethod m) {
  switch (m) {
    case ForwardMethod::Masq:
      return "Masq";
    case ForwardMethod::Route:
      return "Route";
    case ForwardMethod::Tunnel:
      return "Tunnel";
  }
  return "?";
}

using MacAddr = std::array<uint8_t, 6>;

// Host-order dotted quad. Rejects anything inet_pton would reject (no shorthand forms).
std::optional<uint32_t> parse_ip4(std::string_view s);
std::string format_ip4(uint32_t host_order);

// "10.0.0.1:80".
std::string addr_port(uint32_t ip, uint16_t port);

std::optional<MacAddr> parse_mac(std::string_view s);
std::string format_mac(const MacAddr& m);

// A port number 0..65535 in decimal.
std::optional<uint16_t> parse_port(std::string_view s);

inline uint32_t prefix_mask(unsigned len) {
  return len == 0 ? 0 : ~uint32_t{0} << (32 - len);
}

// The director's ports as the operator names them: dpdk0, dpdk1, ...
std::string port_name(uint16_t port);

}  // namespace fastvs
