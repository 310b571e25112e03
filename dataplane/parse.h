// The validating parser: Ethernet, ARP, IPv4, IPv6 (its extension headers walked), TCP/UDP/ICMP
// and ICMPv6, and the header embedded in an ICMP error. It never trusts a length field: every
// offset is checked against the bytes present.
// Pure (works on a byte span), so it is unit-tested and fuzzed without the EAL.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/checksum.h"
#include "dataplane/counters.h"

namespace fastvs {

// A check that fails: the reason into `*why`, false out (one line where it is used).
inline bool refuse(Drop* why, Drop reason) {
  *why = reason;
  return false;
}

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr unsigned kEthHdrLen = 14;
constexpr uint8_t kIpProtoIcmp = 1;
constexpr uint8_t kIpProtoIpip = 4;
constexpr uint8_t kIpProtoTcp = 6;
constexpr uint8_t kIpProtoUdp = 17;
constexpr uint8_t kIpProtoVrrp = 112;
constexpr uint8_t kIpProtoIgmp = 2;
// IPv6's extension headers (RFC 8200 4.1) and upper layers.
constexpr uint8_t kIpProtoHopOpts = 0;
constexpr uint8_t kIpProtoIpv6 = 41;
constexpr uint8_t kIpProtoRouting = 43;
constexpr uint8_t kIpProtoFragment = 44;
constexpr uint8_t kIpProtoIcmp6 = 58;
constexpr uint8_t kIpProtoDstOpts = 60;
constexpr unsigned kIp6HdrLen = 40;

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpDestUnreach = 3;
constexpr uint8_t kIcmpSourceQuench = 4;
constexpr uint8_t kIcmpEcho = 8;
constexpr uint8_t kIcmpTimeExceeded = 11;
constexpr uint8_t kIcmpFragNeeded = 4;  // code of kIcmpDestUnreach

// ICMPv6 (RFC 4443; neighbour discovery RFC 4861; MLD RFC 2710, RFC 3810).
constexpr uint8_t kIcmp6DestUnreach = 1;
constexpr uint8_t kIcmp6PacketTooBig = 2;
constexpr uint8_t kIcmp6TimeExceeded = 3;
constexpr uint8_t kIcmp6ParamProblem = 4;
constexpr uint8_t kIcmp6EchoRequest = 128;
constexpr uint8_t kIcmp6EchoReply = 129;
constexpr uint8_t kIcmp6MldQuery = 130;
constexpr uint8_t kIcmp6RouterSolicit = 133;
constexpr uint8_t kIcmp6NeighSolicit = 135;
constexpr uint8_t kIcmp6NeighAdvert = 136;
constexpr uint8_t kIcmp6Redirect = 137;
constexpr uint8_t kIcmp6Mld2Report = 143;

// Fragment: a non-first IP fragment (no L4 header; its ports are its first fragment's).
enum class PktKind : uint8_t { Arp, Tcp, Udp, Icmp, OtherIp, Fragment };

// PacketInfo::frag bits.
constexpr uint8_t kFragMore = 1;   // MF set: more fragments follow
constexpr uint8_t kFragLater = 2;  // a non-first fragment (offset > 0)

inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
// Loads that keep network order (for fields compared or hashed as they are on the wire).
inline uint32_t load_raw32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint16_t load_raw16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// What the rest of the pipeline needs; addresses and ports in network order. For IPv6 (`v6`)
// the address fields hold the address folded to 32 bits (ip6_fold: what IPVS's hashes take of
// an IPv6 address) and the addresses themselves stay in the packet, 8 and 24 bytes past l3_off
// (and past inner_l3_off): IPv4's packets carry no wider state than before.
struct PacketInfo {
  PktKind kind = PktKind::OtherIp;
  uint8_t proto = 0;  // IPv6: the upper layer, past the extension headers
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  bool icmp_error = false;  // a dest-unreach, source-quench or time-exceeded with a usable body
  uint8_t frag = 0;         // kFrag* bits; 0 for a whole datagram
  bool v6 = false;
  uint16_t l3_off = kEthHdrLen;
  uint16_t l4_off = 0;
  // IPv4 total length; IPv6 header and payload length (the frame may carry padding beyond it).
  uint16_t ip_len = 0;
  // Fragments only: the IP ID (network order; IPv6: its low 16 bits) and the offset in bytes
  // past the IP header (IPv6: past the fragment header).
  uint16_t ip_id = 0;
  uint16_t frag_off = 0;
  uint32_t saddr = 0;
  uint32_t daddr = 0;
  uint16_t sport = 0;  // ICMP echo: the identifier in both
  uint16_t dport = 0;
  // ICMP errors: the embedded (offending) packet's header.
  uint16_t inner_l3_off = 0;
  uint16_t inner_l4_off = 0;
  uint8_t inner_proto = 0;
  uint32_t inner_saddr = 0;
  uint32_t inner_daddr = 0;
  uint16_t inner_sport = 0;
  uint16_t inner_dport = 0;
};

// The ARP fields fastvs uses (Ethernet/IPv4 ARP only).
constexpr unsigned kArpLen = 28;
constexpr uint16_t kArpOpRequest = 1;
constexpr uint16_t kArpOpReply = 2;

// IPv4 options (RFC 791), walked as type-length-value: fastvs forwards them unchanged in every
// method, as IPVS does, but drops first what the kernel's receive path refuses: an option whose
// length does not fit (ip_options_compile) and a source route (LSRR, SSRR; ip_rcv_options with
// accept_source_route=0, the default). The contents of the others (record route, timestamp) are
// not checked.
inline bool ipv4_options_ok(const uint8_t* o, unsigned len, Drop* why) {
  constexpr uint8_t kEnd = 0, kNop = 1, kLsrr = 131, kSsrr = 137;
  for (unsigned i = 0; i < len;) {
    if (o[i] == kEnd) break;
    if (o[i] == kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= len || o[i + 1] < 2 || o[i + 1] > len - i) return refuse(why, Drop::ip_options);
    if (o[i] == kLsrr || o[i] == kSsrr) return refuse(why, Drop::ip_source_route);
    i += o[i + 1];
  }
  return true;
}

// TCP's header at `l4`, `l4len` bytes of the datagram present.
inline bool parse_tcp(const uint8_t* l4, uint32_t l4len, PacketInfo& pi, Drop* why) {
  if (l4len < 20) return refuse(why, pi.frag ? Drop::frag_malformed : Drop::l4_truncated);
  const unsigned doff = (l4[12] >> 4) * 4u;
  if (doff < 20) return refuse(why, Drop::tcp_doff);
  if (doff > l4len) return refuse(why, pi.frag ? Drop::frag_malformed : Drop::tcp_doff);
  pi.kind = PktKind::Tcp;
  pi.sport = load_raw16(l4);
  pi.dport = load_raw16(l4 + 2);
  pi.tcp_flags = l4[13];
  return true;
}

// UDP's. The UDP length field covers the whole datagram: in a first fragment it exceeds l4len,
// as it may (it is not checked here, and NAT's incremental checksum update does not need it).
inline bool parse_udp(const uint8_t* l4, uint32_t l4len, PacketInfo& pi, Drop* why) {
  if (l4len < 8) return refuse(why, pi.frag ? Drop::frag_malformed : Drop::l4_truncated);
  pi.kind = PktKind::Udp;
  pi.sport = load_raw16(l4);
  pi.dport = load_raw16(l4 + 2);
  return true;
}

// An IPv6 address folded to 32 bits, network order: the xor of its four words, as IPVS folds
// one for its hashes (ip_vs_sh_hashkey, ip_vs_conn_hashkey's ipv6_addr_hash).
inline uint32_t ip6_fold(const uint8_t* a) {
  return load_raw32(a) ^ load_raw32(a + 4) ^ load_raw32(a + 8) ^ load_raw32(a + 12);
}

// Hop-by-hop and destination options (RFC 8200 4.2): each option's length must fit its header,
// as ip6_parse_tlv requires. Their contents are not checked (as IPv4's options are not): the
// host's stack checks what is its own, and forwarding leaves them as they are, as IPVS does.
inline bool ip6_options_ok(const uint8_t* o, unsigned len) {
  constexpr uint8_t kPad1 = 0;
  for (unsigned i = 0; i < len;) {
    if (o[i] == kPad1) {
      ++i;
      continue;
    }
    if (i + 2 > len || o[i + 1] > len - i - 2) return false;
    i += 2u + o[i + 1];
  }
  return true;
}

// Where an IPv6 packet's upper layer is, past its extension headers.
struct Ip6Chain {
  uint8_t proto = 0;      // the upper layer, or what the walk stopped at (ESP, AH, no next header)
  uint8_t frag = 0;       // kFrag* bits: a fragment header with an offset or more to follow
  uint16_t frag_off = 0;  // in bytes
  uint16_t frag_id = 0;   // the identification's low 16 bits, network order
  unsigned off = 0;       // the upper layer's offset from the IPv6 header
  unsigned frag_end = 0;  // where the fragmentable part starts: past the fragment header
};

// Bounded work: a packet with more extension headers than this is refused. RFC 8200 allows
// each once (destination options twice); 8 leaves room for anything a sender has reason for.
constexpr unsigned kIp6MaxExtHeaders = 8;

// Walks the extension headers of the IPv6 packet at `ip` (`len` bytes of it present) to its
// upper layer, as ipv6_skip_exthdr does. Hop-by-hop options come first or not at all
// (ip6_rcv_core); a routing header with segments left is refused, as the kernel's default
// accept_source_route=0 refuses it (ipv6_rthdr_rcv); past a non-first fragment's header
// nothing is parsed (it holds no header); an atomic fragment (offset 0, no more) is whole
// (RFC 6946).
inline bool ip6_walk(const uint8_t* ip, unsigned len, Ip6Chain& c, Drop* why) {
  uint8_t nh = ip[6];
  unsigned off = kIp6HdrLen;
  for (unsigned n = 0;; ++n) {
    if (nh != kIpProtoHopOpts && nh != kIpProtoRouting && nh != kIpProtoDstOpts &&
        nh != kIpProtoFragment) {
      c.proto = nh;
      c.off = off;
      return true;
    }
    if (n == kIp6MaxExtHeaders) return refuse(why, Drop::ip6_ext_chain);
    if (nh == kIpProtoHopOpts && n != 0) return refuse(why, Drop::ip6_ext_order);
    if (len < off + 8) return refuse(why, Drop::ip6_ext_truncated);
    const uint8_t* h = ip + off;
    if (nh == kIpProtoFragment) {
      const uint16_t fo = load_be16(h + 2);
      if (fo & 0xfff9) {  // an offset or more fragments: a fragment, not an atomic one
        if (c.frag) return refuse(why, Drop::frag_malformed);  // two fragment headers
        c.frag = (fo & 1) ? kFragMore : 0;
        c.frag_id = load_raw16(h + 6);
        c.frag_end = off + 8;
        if (fo & 0xfff8) {
          c.frag |= kFragLater;
          c.frag_off = static_cast<uint16_t>(fo & 0xfff8);
          c.proto = h[0];
          c.off = off + 8;
          return true;
        }
      }
      nh = h[0];
      off += 8;
      continue;
    }
    const unsigned hlen = (h[1] + 1u) * 8;
    if (len < off + hlen) return refuse(why, Drop::ip6_ext_truncated);
    if (nh == kIpProtoRouting) {
      if (h[3] != 0) return refuse(why, Drop::ip_source_route);
    } else if (!ip6_options_ok(h + 2, hlen - 2)) {
      return refuse(why, Drop::ip6_options);
    }
    nh = h[0];
    off += hlen;
  }
}

// The IPv6 packet past the Ethernet header: its header, extension headers and upper layer. A
// fragment's header chain must be whole in the first fragment (RFC 7112), a fragment that is
// not the last a multiple of 8 bytes long and no fragment past 64 KiB (RFC 8200 4.5).
// Out of line and cold: IPv4's parse stays as compact as it was (measured: inlined, it cost
// IPv4's parse 7%).
[[gnu::noinline, gnu::cold]] inline bool parse_ipv6(const uint8_t* p, uint32_t len, PacketInfo& pi,
                                                    Drop* why) {
  const uint8_t* ip = p + kEthHdrLen;
  const uint32_t avail = len - kEthHdrLen;
  if (avail < kIp6HdrLen) return refuse(why, Drop::ip6_truncated);
  if ((ip[0] >> 4) != 6) return refuse(why, Drop::ip_version);
  const uint32_t total = kIp6HdrLen + load_be16(ip + 4);
  if (total > avail) return refuse(why, Drop::ip6_payload_length);
  pi.v6 = true;
  pi.l3_off = kEthHdrLen;
  pi.ip_len = static_cast<uint16_t>(total);
  pi.saddr = ip6_fold(ip + 8);
  pi.daddr = ip6_fold(ip + 24);
  Ip6Chain c;
  if (!ip6_walk(ip, total, c, why)) return false;
  pi.proto = c.proto;
  pi.l4_off = static_cast<uint16_t>(kEthHdrLen + c.off);
  const uint32_t l4len = total - c.off;
  if (c.frag) {
    pi.frag = c.frag;
    pi.ip_id = c.frag_id;
    pi.frag_off = c.frag_off;
    const uint32_t flen = total - c.frag_end;
    if (((c.frag & kFragMore) && (flen & 7)) || c.frag_off + flen > 0xffffu)
      return refuse(why, Drop::frag_malformed);
    if (c.frag & kFragLater) {
      pi.kind = PktKind::Fragment;
      return true;
    }
  }
  const uint8_t* l4 = ip + c.off;
  switch (c.proto) {
    case kIpProtoTcp:
      return parse_tcp(l4, l4len, pi, why);
    case kIpProtoUdp:
      return parse_udp(l4, l4len, pi, why);
    case kIpProtoIcmp6:
      break;
    default:
      pi.kind = PktKind::OtherIp;
      return true;
  }
  if (l4len < 8) return refuse(why, pi.frag ? Drop::frag_malformed : Drop::l4_truncated);
  pi.kind = PktKind::Icmp;
  pi.icmp_type = l4[0];
  pi.icmp_code = l4[1];
  if (pi.icmp_type == kIcmp6EchoRequest || pi.icmp_type == kIcmp6EchoReply) {
    pi.sport = pi.dport = load_raw16(l4 + 4);
    return true;
  }
  if (pi.icmp_type < kIcmp6DestUnreach || pi.icmp_type > kIcmp6ParamProblem) return true;
  // An error: the offending packet's header, its extension headers and its ports, all within
  // what is quoted (ip_vs_in_icmp_v6 finds them with ipv6_find_hdr).
  const uint8_t* in = l4 + 8;
  const uint32_t inlen = l4len - 8;
  if (inlen < kIp6HdrLen || (in[0] >> 4) != 6) return refuse(why, Drop::icmp_malformed);
  Ip6Chain ic;
  Drop ignored;
  if (!ip6_walk(in, inlen, ic, &ignored) || (ic.frag & kFragLater) || inlen < ic.off + 8)
    return refuse(why, Drop::icmp_malformed);
  pi.icmp_error = true;
  pi.inner_l3_off = static_cast<uint16_t>(pi.l4_off + 8);
  pi.inner_l4_off = static_cast<uint16_t>(pi.inner_l3_off + ic.off);
  pi.inner_proto = ic.proto;
  pi.inner_saddr = ip6_fold(in + 8);
  pi.inner_daddr = ip6_fold(in + 24);
  pi.inner_sport = load_raw16(in + ic.off);
  pi.inner_dport = load_raw16(in + ic.off + 2);
  return true;
}

// ARP (Ethernet/IPv4 only), out of IPv4's way.
[[gnu::noinline, gnu::cold]] inline bool parse_arp(const uint8_t* p, uint32_t len, PacketInfo& pi,
                                                   Drop* why) {
  const uint8_t* a = p + kEthHdrLen;
  // htype 1, ptype IPv4, hlen 6, plen 4.
  if (len < kEthHdrLen + kArpLen || load_be16(a) != 1 || load_be16(a + 2) != kEtherTypeIpv4 ||
      a[4] != 6 || a[5] != 4)
    return refuse(why, Drop::arp_malformed);
  const uint16_t op = load_be16(a + 6);
  if (op != kArpOpRequest && op != kArpOpReply) return refuse(why, Drop::arp_malformed);
  pi.kind = PktKind::Arp;
  pi.saddr = load_raw32(a + 14);
  pi.daddr = load_raw32(a + 24);
  pi.sport = op;  // the ARP opcode rides in sport
  return true;
}

// Returns true and fills `pi`, or returns false with `*why` set.
inline bool parse_packet(const uint8_t* p, uint32_t len, PacketInfo& pi, Drop* why) {
  if (len < kEthHdrLen) return refuse(why, Drop::eth_truncated);
  const uint16_t ethertype = load_be16(p + 12);
  if (__builtin_expect(ethertype != kEtherTypeIpv4, 0)) {
    if (ethertype == kEtherTypeArp) return parse_arp(p, len, pi, why);
    if (ethertype == kEtherTypeIpv6) return parse_ipv6(p, len, pi, why);
    return refuse(why, Drop::ethertype);
  }

  const uint8_t* ip = p + kEthHdrLen;
  const uint32_t avail = len - kEthHdrLen;
  if (avail < 20) return refuse(why, Drop::ip_truncated);
  if ((ip[0] >> 4) != 4) return refuse(why, Drop::ip_version);
  const unsigned ihl = (ip[0] & 0x0f) * 4u;
  if (ihl < 20) return refuse(why, Drop::ip_ihl);
  const uint16_t total = load_be16(ip + 2);
  if (total < ihl || total > avail) return refuse(why, Drop::ip_total_length);
  if (!ipv4_hdr_csum_ok(ip, ihl)) return refuse(why, Drop::ip_checksum);
  if (__builtin_expect(ihl > 20, 0) && !ipv4_options_ok(ip + 20, ihl - 20, why)) return false;

  pi.l3_off = kEthHdrLen;
  pi.ip_len = total;
  pi.proto = ip[9];
  pi.saddr = load_raw32(ip + 12);
  pi.daddr = load_raw32(ip + 16);
  pi.l4_off = static_cast<uint16_t>(kEthHdrLen + ihl);
  const uint32_t l4len = total - ihl;
  // Fragments (MF set or an offset; forwarded one by one, never reassembled: frag_table.h). A
  // first fragment must hold the whole TCP/UDP header, and no later one may land inside it
  // (RFC 1858's tiny and overlapping fragments), nor end past 64 KiB.
  if (__builtin_expect((load_be16(ip + 6) & 0x3fff) != 0, 0)) {
    const uint16_t fo = load_be16(ip + 6);
    pi.ip_id = load_raw16(ip + 4);
    pi.frag = (fo & 0x2000) ? kFragMore : 0;
    if (fo & 0x1fff) {
      pi.frag |= kFragLater;
      pi.frag_off = static_cast<uint16_t>((fo & 0x1fff) * 8u);
      if ((pi.proto == kIpProtoTcp && pi.frag_off < 20) || pi.frag_off + l4len > 0xffffu - ihl)
        return refuse(why, Drop::frag_malformed);
      pi.kind = PktKind::Fragment;
      return true;
    }
  }

  const uint8_t* l4 = ip + ihl;
  switch (pi.proto) {
    case kIpProtoTcp:
      return parse_tcp(l4, l4len, pi, why);
    case kIpProtoUdp:
      return parse_udp(l4, l4len, pi, why);
    case kIpProtoIcmp: {
      if (l4len < 8) return refuse(why, Drop::l4_truncated);
      pi.kind = PktKind::Icmp;
      pi.icmp_type = l4[0];
      pi.icmp_code = l4[1];
      if (pi.icmp_type == kIcmpEcho || pi.icmp_type == kIcmpEchoReply) {
        pi.sport = pi.dport = load_raw16(l4 + 4);
        return true;
      }
      if (pi.icmp_type != kIcmpDestUnreach && pi.icmp_type != kIcmpSourceQuench &&
          pi.icmp_type != kIcmpTimeExceeded)
        return true;
      // The offending packet: its IPv4 header and at least the 8 bytes that hold the ports.
      const uint8_t* in = l4 + 8;
      const uint32_t inlen = l4len - 8;
      if (inlen < 20 || (in[0] >> 4) != 4) return refuse(why, Drop::icmp_malformed);
      const unsigned iihl = (in[0] & 0x0f) * 4u;
      if (iihl < 20 || inlen < iihl + 8) return refuse(why, Drop::icmp_malformed);
      // A quoted non-first fragment has no ports where they would be (the kernel skips these).
      if (load_be16(in + 6) & 0x1fff) return refuse(why, Drop::icmp_malformed);
      pi.icmp_error = true;
      pi.inner_l3_off = static_cast<uint16_t>(pi.l4_off + 8);
      pi.inner_l4_off = static_cast<uint16_t>(pi.inner_l3_off + iihl);
      pi.inner_proto = in[9];
      pi.inner_saddr = load_raw32(in + 12);
      pi.inner_daddr = load_raw32(in + 16);
      pi.inner_sport = load_raw16(in + iihl);
      pi.inner_dport = load_raw16(in + iihl + 2);
      return true;
    }
    default:
      pi.kind = PktKind::OtherIp;
      return true;
  }
}

}  // namespace fastvs
