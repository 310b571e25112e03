#include "tests/packet/pktbuild.h"

#include <arpa/inet.h>

#include <cstdio>
#include <stdexcept>

namespace fastvs::testing {

namespace {
uint16_t fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}
uint64_t sum16(const uint8_t* p, size_t n, uint64_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) s += uint32_t{p[n - 1]} << 8;
  return s;
}
void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}
void push16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void push32(Bytes& b, uint32_t v) {
  push16(b, static_cast<uint16_t>(v >> 16));
  push16(b, static_cast<uint16_t>(v));
}
bool is_v6(const std::string& s) {
  return s.find(':') != std::string::npos;
}
void push_ip(Bytes& b, const std::string& s) {
  if (is_v6(s)) {
    const Bytes a = ip6(s);
    b.insert(b.end(), a.begin(), a.end());
    return;
  }
  const uint32_t v = ip_be(s);
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + 4);
}
// The pseudo-header's sum: IPv4's (RFC 793) or IPv6's (RFC 8200 8.1: the addresses, a 32-bit
// upper-layer length, three zero bytes and the next header), chosen by the addresses' form.
uint64_t pseudo(const std::string& src, const std::string& dst, uint8_t proto, size_t len) {
  Bytes ph;
  push_ip(ph, src);
  push_ip(ph, dst);
  if (is_v6(src)) {
    push32(ph, static_cast<uint32_t>(len));
    ph.insert(ph.end(), {0, 0, 0, proto});
  } else {
    ph.push_back(0);
    ph.push_back(proto);
    push16(ph, static_cast<uint16_t>(len));
  }
  return sum16(ph.data(), ph.size());
}
std::string ntop6(const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a, buf, sizeof buf);
  return buf;
}
}  // namespace

Mac mac(const std::string& s) {
  Mac m{};
  unsigned v[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    throw std::invalid_argument("mac " + s);
  for (int i = 0; i < 6; ++i) m.b[i] = static_cast<uint8_t>(v[i]);
  return m;
}

uint32_t ip_be(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw std::invalid_argument("ip " + s);
  return a.s_addr;
}

Bytes ip6(const std::string& s) {
  Bytes a(16);
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) throw std::invalid_argument("ip6 " + s);
  return a;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const Bytes& p : parts) b.insert(b.end(), p.begin(), p.end());
  return b;
}

Bytes eth(const Mac& dst, const Mac& src, uint16_t type, const Bytes& payload) {
  Bytes b(dst.b, dst.b + 6);
  b.insert(b.end(), src.b, src.b + 6);
  push16(b, type);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes ipv4(const std::string& src, const std::string& dst, uint8_t proto, const Bytes& l4,
           IpOpts o) {
  if (o.options.size() % 4 || o.options.size() > 40) throw std::invalid_argument("IP options");
  const size_t ihl = 20 + o.options.size();
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x40 | ihl / 4));
  b.push_back(o.tos);
  push16(b, static_cast<uint16_t>(ihl + l4.size()));
  push16(b, o.id);
  push16(b, o.df ? 0x4000 : 0);
  b.push_back(o.ttl);
  b.push_back(proto);
  push16(b, 0);
  push_ip(b, src);
  push_ip(b, dst);
  b.insert(b.end(), o.options.begin(), o.options.end());
  put16(b, 10, static_cast<uint16_t>(~fold(sum16(b.data(), ihl))));
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

Bytes ipv6(const std::string& src, const std::string& dst, uint8_t nh, const Bytes& payload,
           uint8_t hlim) {
  Bytes b{0x60, 0, 0, 0};
  push16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(nh);
  b.push_back(hlim);
  push_ip(b, src);
  push_ip(b, dst);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes ip6_ext(uint8_t next, const Bytes& body) {
  if ((body.size() + 2) % 8) throw std::invalid_argument("extension header length");
  // cat, not an insert into a vector made from a list: g++ 12 -O3 warns of a false
  // out-of-bounds memcpy there (-Warray-bounds).
  return cat({{next, static_cast<uint8_t>((body.size() + 2) / 8 - 1)}, body});
}

Bytes ip6_frag(uint8_t next, uint16_t off, bool more, uint32_t id) {
  if (off % 8) throw std::invalid_argument("fragment offset");
  Bytes b{next, 0};
  push16(b, static_cast<uint16_t>(off | (more ? 1 : 0)));
  push32(b, id);
  return b;
}

Bytes icmp6(const std::string& src, const std::string& dst, uint8_t type, uint8_t code,
            const Bytes& body) {
  Bytes b = cat({{type, code, 0, 0}, body});  // as in ip6_ext
  put16(b, 2,
        static_cast<uint16_t>(~fold(sum16(b.data(), b.size(), pseudo(src, dst, 58, b.size())))));
  return b;
}

Bytes ip_fragment(const Bytes& d, size_t off, size_t len, bool more) {
  const size_t ihl = (d[0] & 15) * 4u;
  if (off % 8 || ihl + off + len > d.size()) throw std::invalid_argument("fragment");
  Bytes b(d.begin(), d.begin() + static_cast<long>(ihl));
  b.insert(b.end(), d.begin() + static_cast<long>(ihl + off),
           d.begin() + static_cast<long>(ihl + off + len));
  put16(b, 2, static_cast<uint16_t>(ihl + len));
  put16(b, 6, static_cast<uint16_t>((more ? 0x2000 : 0) | off / 8));
  put16(b, 10, 0);
  put16(b, 10, static_cast<uint16_t>(~fold(sum16(b.data(), ihl))));
  return b;
}

Bytes tcp(const std::string& src, const std::string& dst, uint16_t sport, uint16_t dport,
          uint8_t flags, const Bytes& data, uint32_t seq, uint32_t ack) {
  Bytes b;
  push16(b, sport);
  push16(b, dport);
  push32(b, seq);
  push32(b, ack);
  b.push_back(0x50);
  b.push_back(flags);
  push16(b, 65535);
  push16(b, 0);  // checksum
  push16(b, 0);  // urgent
  b.insert(b.end(), data.begin(), data.end());
  put16(b, 16,
        static_cast<uint16_t>(~fold(sum16(b.data(), b.size(), pseudo(src, dst, 6, b.size())))));
  return b;
}

Bytes udp(const std::string& src, const std::string& dst, uint16_t sport, uint16_t dport,
          const Bytes& data, bool zero_csum) {
  Bytes b;
  push16(b, sport);
  push16(b, dport);
  push16(b, static_cast<uint16_t>(8 + data.size()));
  push16(b, 0);
  b.insert(b.end(), data.begin(), data.end());
  if (!zero_csum) {
    uint16_t c =
        static_cast<uint16_t>(~fold(sum16(b.data(), b.size(), pseudo(src, dst, 17, b.size()))));
    put16(b, 6, c ? c : 0xffff);
  }
  return b;
}

Bytes icmp_echo(uint8_t type, uint16_t id, uint16_t seq, const Bytes& data) {
  Bytes b{type, 0, 0, 0};
  push16(b, id);
  push16(b, seq);
  b.insert(b.end(), data.begin(), data.end());
  put16(b, 2, static_cast<uint16_t>(~fold(sum16(b.data(), b.size()))));
  return b;
}

Bytes icmp_error(uint8_t type, uint8_t code, uint32_t info, const Bytes& quoted) {
  Bytes b{type, code, 0, 0};
  push32(b, info);
  b.insert(b.end(), quoted.begin(), quoted.end());
  put16(b, 2, static_cast<uint16_t>(~fold(sum16(b.data(), b.size()))));
  return b;
}

Bytes arp(uint16_t op, const Mac& sha, const std::string& sip, const Mac& tha,
          const std::string& tip) {
  Bytes b;
  push16(b, 1);
  push16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  push16(b, op);
  b.insert(b.end(), sha.b, sha.b + 6);
  push_ip(b, sip);
  b.insert(b.end(), tha.b, tha.b + 6);
  push_ip(b, tip);
  return b;
}

namespace {
// An IPv6 frame's upper-layer checksum, past the extension headers this builder makes (hop by
// hop, routing, destination options); a fragment has no whole upper layer to check.
std::string verify_checksums6(const Bytes& f) {
  if (f.size() < 54) return "";
  const uint8_t* ip = f.data() + 14;
  const size_t total = 40 + (uint32_t{ip[4]} << 8 | ip[5]);
  if (14 + total > f.size()) return "IPv6 payload length beyond the frame";
  uint8_t nh = ip[6];
  size_t off = 40;
  while ((nh == 0 || nh == 43 || nh == 60) && off + 8 <= total) {
    const size_t len = (ip[off + 1] + 1u) * 8;
    nh = ip[off];
    off += len;
  }
  if (nh == 44 || off > total) return "";
  const std::string src = ntop6(ip + 8), dst = ntop6(ip + 24);
  const uint8_t* l4 = ip + off;
  size_t l4len = total - off;
  // UDP's checksum covers the datagram's own length (RFC 768), not padding after it.
  if (nh == 17 && l4len >= 8) {
    const size_t ulen = size_t{l4[4]} << 8 | l4[5];
    if (ulen < 8 || ulen > l4len) return "UDP length beyond the packet";
    l4len = ulen;
  }
  if ((nh == 6 || nh == 17 || nh == 58) &&
      fold(sum16(l4, l4len, pseudo(src, dst, nh, l4len))) != 0xffff)
    return nh == 6 ? "bad TCP checksum" : nh == 17 ? "bad UDP checksum" : "bad ICMPv6 checksum";
  if (nh == 17 && l4len >= 8 && !(l4[6] | l4[7])) return "UDP checksum 0 over IPv6";
  return "";
}
}  // namespace

std::string verify_checksums(const Bytes& f) {
  if (f.size() >= 14 && f[12] == 0x86 && f[13] == 0xdd) return verify_checksums6(f);
  if (f.size() < 34 || f[12] != 0x08 || f[13] != 0x00) return "";
  const uint8_t* ip = f.data() + 14;
  const size_t ihl = (ip[0] & 15) * 4u;
  const size_t total = uint32_t{ip[2]} << 8 | ip[3];
  if (fold(sum16(ip, ihl)) != 0xffff) return "bad IPv4 header checksum";
  if ((uint32_t{ip[6]} << 8 | ip[7]) & 0x3fff) return "";  // a fragment: no whole L4 to check
  if (ip[9] == 4) {                                        // IPIP: the inner datagram
    Bytes inner(f.begin(), f.begin() + 14);
    inner.insert(inner.end(), ip + ihl, ip + total);
    return verify_checksums(inner);
  }
  const uint8_t* l4 = ip + ihl;
  const size_t l4len = total - ihl;
  char src[16], dst[16];
  inet_ntop(AF_INET, ip + 12, src, sizeof src);
  inet_ntop(AF_INET, ip + 16, dst, sizeof dst);
  switch (ip[9]) {
    case 6:
      if (fold(sum16(l4, l4len, pseudo(src, dst, 6, l4len))) != 0xffff) return "bad TCP checksum";
      break;
    case 17:
      if ((l4[6] | l4[7]) && fold(sum16(l4, l4len, pseudo(src, dst, 17, l4len))) != 0xffff)
        return "bad UDP checksum";
      break;
    case 1:
      if (fold(sum16(l4, l4len)) != 0xffff) return "bad ICMP checksum";
      break;
  }
  return "";
}

std::string hex(const Bytes& b) {
  std::string s;
  char buf[4];
  for (size_t i = 0; i < b.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", b[i]);
    s += buf;
    if (i % 16 == 15)
      s += '\n';
    else if (i % 2 == 1)
      s += ' ';
  }
  return s;
}

}  // namespace fastvs::testing
