// Addresses and protocol numbers shared by the control and data sides.
//
// Convention: the configuration model (common/) keeps addresses as IpAddr (IPv4 or IPv6; an
// IPv4 address reads back in host byte order with v4()) and ports in host byte order, so they
// sort and print naturally; the data plane's snapshot and connection table keep them in network
// byte order ("_be"), so a packet's fields are compared without swapping.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
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

// fe80::/10, for an IPv6 address as it lies in a packet (16 bytes, network order).
constexpr bool ip6_is_link_local(const uint8_t* a) {
  return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

// An IPv4 or IPv6 address: its family and its bytes in network order (an IPv4 address in the
// first four, the rest zero). 17 bytes, copied by value; ordered by family (IPv4 first, as
// ipvsadm_cmp_services orders AF_INET before AF_INET6), then numerically. The default is IPv4
// 0.0.0.0.
class IpAddr {
 public:
  enum class Family : uint8_t { V4, V6 };
  using Bytes = std::array<uint8_t, 16>;

  constexpr IpAddr() = default;
  static constexpr IpAddr v4(uint32_t host_order) {
    IpAddr a;
    a.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
    a.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
    a.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
    a.bytes_[3] = static_cast<uint8_t>(host_order);
    return a;
  }
  static constexpr IpAddr v6(const Bytes& network_order) {
    IpAddr a;
    a.family_ = Family::V6;
    a.bytes_ = network_order;
    return a;
  }
  // The unspecified address of a family: 0.0.0.0 or ::.
  static constexpr IpAddr any(Family f) { return f == Family::V4 ? IpAddr{} : v6(Bytes{}); }

  constexpr Family family() const { return family_; }
  constexpr bool is_v4() const { return family_ == Family::V4; }
  constexpr bool is_v6() const { return family_ == Family::V6; }
  // An IPv4 address in host order (0 for an IPv6 address: check is_v4() first).
  constexpr uint32_t v4() const {
    if (!is_v4()) return 0;
    return uint32_t{bytes_[0]} << 24 | uint32_t{bytes_[1]} << 16 | uint32_t{bytes_[2]} << 8 |
           bytes_[3];
  }
  constexpr const Bytes& bytes() const { return bytes_; }
  // 4 or 16.
  constexpr size_t size() const { return is_v4() ? 4 : 16; }
  // 32 or 128: the longest prefix of the family.
  constexpr unsigned max_prefix() const { return is_v4() ? 32 : 128; }
  // 0.0.0.0 or ::.
  constexpr bool is_zero() const {
    for (uint8_t b : bytes_)
      if (b) return false;
    return true;
  }
  // IPv6 link-local, fe80::/10: on every link, so on no particular one.
  constexpr bool is_link_local() const { return is_v6() && ip6_is_link_local(bytes_.data()); }
  // The first `len` bits kept, the others cleared.
  constexpr IpAddr masked(unsigned len) const {
    IpAddr a = *this;
    for (unsigned i = 0; i < 16; ++i) {
      const unsigned bit = i * 8;
      if (len <= bit)
        a.bytes_[i] = 0;
      else if (len < bit + 8)
        a.bytes_[i] = static_cast<uint8_t>(a.bytes_[i] & (0xff00u >> (len - bit)));
    }
    return a;
  }

  friend constexpr auto operator<=>(const IpAddr&, const IpAddr&) = default;

 private:
  Family family_ = Family::V4;
  Bytes bytes_{};
};

// inet_pton's rules: AF_INET's dotted quad (no shorthand forms), else AF_INET6's (RFC 4291
// section 2.2: groups of 1..4 hex digits, one "::" at most, a dotted quad as the last 32 bits;
// no zone "%eth0", no brackets).
std::optional<IpAddr> parse_ip(std::string_view s);
// AF_INET6 only, inet_pton's rules as above.
std::optional<IpAddr::Bytes> parse_ip6(std::string_view s);
// inet_ntop's form: a dotted quad, or RFC 5952's (lowercase, no leading zeros, the longest run
// of two or more zero groups as "::", the first of equal runs; glibc's "::a.b.c.d" and
// "::ffff:a.b.c.d" for IPv4-compatible and IPv4-mapped addresses).
std::string format_ip(const IpAddr& a);

// How ipvsadm writes an address and a port (addrport_to_anyname with -n): "10.0.0.1:80",
// "[2001:db8::1]:80".
std::string addr_port(const IpAddr& ip, uint16_t port);

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

template <>
struct std::hash<fastvs::IpAddr> {
  size_t operator()(const fastvs::IpAddr& a) const noexcept {
    // FNV-1a over the family and the bytes: control's maps, not the data plane's tables.
    uint64_t h = 0xcbf29ce484222325ull ^ static_cast<uint8_t>(a.family());
    h *= 0x100000001b3ull;
    for (uint8_t b : a.bytes()) {
      h ^= b;
      h *= 0x100000001b3ull;
    }
    return static_cast<size_t>(h);
  }
};
