// Builds test packets byte by byte with every checksum computed from scratch, independently
// of the data plane's incremental updates. Addresses are written "a.b.c.d".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fastvs::testing {

using Bytes = std::vector<uint8_t>;

struct Mac {
  uint8_t b[6];
};
Mac mac(const std::string& s);
uint32_t ip_be(const std::string& s);  // network order, as it lies in a packet

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

// Checks over an Ethernet frame: IPv4 header checksum, and the TCP/UDP/ICMP checksum over the
// datagram, both recomputed in full (the header checksum alone for a fragment, an IPIP packet's
// inner header too). Empty string when all hold.
std::string verify_checksums(const Bytes& frame);
std::string hex(const Bytes& b);

}  // namespace fastvs::testing
