// Builds test packets byte by byte with every checksum computed from scratch, independently
// of the data plane's incremental updates. Addresses are written "a.b.c.d" or as IPv6 text
// ("2001:db8::1"); tcp(), udp() and icmp6() take their pseudo-header's family from the form.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace fastvs::testing {

using Bytes = std::vector<uint8_t>;

struct Mac {
  uint8_t b[6];
};
Mac mac(const std::string& s);
uint32_t ip_be(const std::string& s);  // network order, as it lies in a packet
Bytes ip6(const std::string& s);       // an IPv6 address's 16 bytes
Bytes cat(std::initializer_list<Bytes> parts);

struct IpOpts {
  uint8_t ttl = 64;
  uint16_t id = 0x1234;
  uint8_t tos = 0;
  bool df = true;
  Bytes options;  // IPv4 options (a multiple of 4 bytes), copied as they are
};

Bytes eth(const Mac& dst, const Mac& src, uint16_t type, const Bytes& payload);
Bytes ipv4(const std::string& src, const std::string& dst, uint8_t proto, const Bytes& l4,
           IpOpts o = {});
// An IPv6 packet: `nh` is the first header's type, `payload` the extension headers (ip6_ext,
// ip6_frag) and the upper layer.
Bytes ipv6(const std::string& src, const std::string& dst, uint8_t nh, const Bytes& payload,
           uint8_t hlim = 64);
// An extension header of options or routing (its length from `body`: 6, 14, 22... bytes).
Bytes ip6_ext(uint8_t next, const Bytes& body);
// A fragment header (RFC 8200 4.5): offset in bytes (a multiple of 8).
Bytes ip6_frag(uint8_t next, uint16_t off, bool more, uint32_t id);
// An ICMPv6 message: type, code, checksum over the IPv6 pseudo-header, then `body` (the rest of
// the header: echo's id and sequence, an error's unused or MTU word, and what follows).
Bytes icmp6(const std::string& src, const std::string& dst, uint8_t type, uint8_t code,
            const Bytes& body);
// One fragment of an IPv4 datagram (as ipv4() builds it): `len` bytes of its payload from `off`
// (a multiple of 8), MF set when `more`, DF clear, the same header and options otherwise, its
// header checksum recomputed. The L4 checksum stays the whole datagram's.
Bytes ip_fragment(const Bytes& datagram, size_t off, size_t len, bool more);
Bytes tcp(const std::string& src, const std::string& dst, uint16_t sport, uint16_t dport,
          uint8_t flags, const Bytes& data = {}, uint32_t seq = 1000, uint32_t ack = 0);
// udp checksum: computed unless zero_csum.
Bytes udp(const std::string& src, const std::string& dst, uint16_t sport, uint16_t dport,
          const Bytes& data, bool zero_csum = false);
Bytes icmp_echo(uint8_t type, uint16_t id, uint16_t seq, const Bytes& data = {});
// An ICMP error quoting `quoted` (an IPv4 packet, already cut to what the sender quotes).
Bytes icmp_error(uint8_t type, uint8_t code, uint32_t info, const Bytes& quoted);
Bytes arp(uint16_t op, const Mac& sha, const std::string& sip, const Mac& tha,
          const std::string& tip);

// Checks over an Ethernet frame: IPv4 header checksum, and the TCP/UDP/ICMP(v6) checksum over
// the datagram, both recomputed in full (the header checksum alone for a fragment, an IPIP packet's
// inner header too). Empty string when all hold.
std::string verify_checksums(const Bytes& frame);
std::string hex(const Bytes& b);

}  // namespace fastvs::testing
