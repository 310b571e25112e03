// Firewall marks without netfilter: the mangle rules that LVS guides write (`iptables -t mangle
// -A PREROUTING ... -j MARK --set-mark N`, MarkRule in common/model.h) compiled for the data
// plane, and the walk that gives a packet its mark. Only a packet that no connection or address
// service claims is walked, and only while a firewall-mark service of its family exists
// (Snapshot::fwm4/fwm6): without one, the hot path pays one predicted branch.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace fastvs {

struct SnapMarkRule {
  uint8_t proto = 0;  // 0: any
  bool has_in_port = false;
  uint16_t in_port = 0;
  uint32_t src = 0, src_mask = 0, dst = 0, dst_mask = 0;  // IPv4, network order, masked
  uint8_t src6[16]{}, dst6[16]{};                         // IPv6, masked
  uint8_t src_len = 0, dst_len = 0;
  uint8_t nsports = 0, ndports = 0;                                  // 0: any port
  std::array<std::pair<uint16_t, uint16_t>, 15> sports{}, dports{};  // host order, inclusive
  uint32_t mark = 0;
};

// The tuple a rule is matched against: ports host order; `ports` false for a later fragment
// (no ports: a rule that names ports is taken to match, the fragment table then finds the
// datagram's connection or drops it).
struct MarkTuple {
  uint8_t proto = 0;
  uint16_t in_port = 0;
  uint16_t sport = 0, dport = 0;
  bool ports = true;
};

namespace fwmark_detail {

inline bool in_ranges(const std::array<std::pair<uint16_t, uint16_t>, 15>& r, uint8_t n,
                      uint16_t port) {
  for (uint8_t i = 0; i < n; ++i)
    if (port >= r[i].first && port <= r[i].second) return true;
  return false;
}

inline bool rest_matches(const SnapMarkRule& r, const MarkTuple& t) {
  if (r.proto != 0 && r.proto != t.proto) return false;
  if (r.has_in_port && r.in_port != t.in_port) return false;
  if (!t.ports) return true;
  if (r.nsports && !in_ranges(r.sports, r.nsports, t.sport)) return false;
  return !r.ndports || in_ranges(r.dports, r.ndports, t.dport);
}

inline bool prefix_matches(const uint8_t* rule, const uint8_t* ip, unsigned len) {
  const unsigned whole = len / 8u, bits = len % 8u;
  if (std::memcmp(rule, ip, whole) != 0) return false;
  return bits == 0 || ((rule[whole] ^ ip[whole]) & (0xff00u >> bits) & 0xff) == 0;
}

}  // namespace fwmark_detail

// The mark an IPv4 packet leaves PREROUTING with: each matching rule's MARK sets it (it does
// not end the walk, as xt_MARK returns XT_CONTINUE), so the last match wins; 0: unmarked.
inline uint32_t fwmark_of4(const std::vector<SnapMarkRule>& rules, const MarkTuple& t,
                           uint32_t saddr_be, uint32_t daddr_be) {
  uint32_t mark = 0;
  for (const SnapMarkRule& r : rules) {
    if ((saddr_be & r.src_mask) != r.src || (daddr_be & r.dst_mask) != r.dst) continue;
    if (fwmark_detail::rest_matches(r, t)) mark = r.mark;
  }
  return mark;
}

inline uint32_t fwmark_of6(const std::vector<SnapMarkRule>& rules, const MarkTuple& t,
                           const uint8_t* saddr, const uint8_t* daddr) {
  uint32_t mark = 0;
  for (const SnapMarkRule& r : rules) {
    if (!fwmark_detail::prefix_matches(r.src6, saddr, r.src_len) ||
        !fwmark_detail::prefix_matches(r.dst6, daddr, r.dst_len))
      continue;
    if (fwmark_detail::rest_matches(r, t)) mark = r.mark;
  }
  return mark;
}

}  // namespace fastvs
