// Internet checksum helpers. The NAT path updates checksums incrementally (RFC 1624, eqn. 3:
// HC' = ~(~HC + ~m + m')) instead of summing the whole packet again; tests compare every update
// against a full recomputation. All 16-bit words are taken as they lie in memory, so the same
// code works on network-order fields without swapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fastvs {

inline uint32_t csum_fold32(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}

// One's-complement sum of a buffer, 16-bit words in memory order (unfolded).
inline uint64_t csum_partial(const void* data, size_t len, uint64_t sum = 0) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint16_t w = 0;
    std::memcpy(&w, p, 1);  // the odd byte is the high-order byte of a zero-padded word
    sum += w;
  }
  return sum;
}

// True when an IPv4 header (ihl bytes, a multiple of 4) carries a valid checksum. 32-bit words
// summed into 64 bits and folded: the same one's-complement sum as 16-bit words (RFC 1071
// section 2), in a quarter of the additions: it runs on every packet.
inline bool ipv4_hdr_csum_ok(const void* hdr, size_t ihl) {
  const auto* p = static_cast<const uint8_t*>(hdr);
  uint64_t s = 0;
  for (size_t i = 0; i < ihl; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    s += w;
  }
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return s == 0xffff;
}

// The checksum field value for a buffer whose checksum field is zero.
inline uint16_t csum_finish(uint64_t sum) {
  return static_cast<uint16_t>(~csum_fold32(sum));
}

inline uint16_t csum_buffer(const void* data, size_t len) {
  return csum_finish(csum_partial(data, len));
}

// RFC 1624: replace a 16-bit word `from` by `to` in data covered by checksum *sum.
inline void csum_replace2(uint16_t* sum, uint16_t from, uint16_t to) {
  uint32_t s = static_cast<uint16_t>(~*sum);
  s += static_cast<uint16_t>(~from);
  s += to;
  *sum = static_cast<uint16_t>(~csum_fold32(s));
}

// The same for a 32-bit word (an IPv4 address), as two 16-bit halves in memory order.
inline void csum_replace4(uint16_t* sum, uint32_t from, uint32_t to) {
  uint32_t s = static_cast<uint16_t>(~*sum);
  s += static_cast<uint16_t>(~from) + static_cast<uint16_t>(~(from >> 16));
  s += (to & 0xffff) + (to >> 16);
  *sum = static_cast<uint16_t>(~csum_fold32(s));
}

// The same for an IPv6 address (16 bytes as they lie in memory), in a pseudo-header's sum:
// 32-bit words, whose one's-complement sum folds to the 16-bit words' (2^16 = 1 modulo 0xffff).
inline void csum_replace16(uint16_t* sum, const uint8_t* from, const uint8_t* to) {
  uint64_t s = static_cast<uint16_t>(~*sum);
  for (unsigned i = 0; i < 16; i += 4) {
    uint32_t f, t;
    std::memcpy(&f, from + i, 4);
    std::memcpy(&t, to + i, 4);
    s += uint64_t{~f} + t;
  }
  *sum = static_cast<uint16_t>(~csum_fold32(s));
}

// The IPv6 pseudo-header's sum (RFC 8200 8.1): the addresses, the upper-layer length and the
// next header, for a checksum computed whole (a UDP datagram that came without one).
inline uint64_t csum_pseudo6(const uint8_t* saddr, const uint8_t* daddr, uint32_t len,
                             uint8_t proto) {
  uint64_t s = csum_partial(saddr, 16, csum_partial(daddr, 16));
  const uint8_t tail[8] = {static_cast<uint8_t>(len >> 24),
                           static_cast<uint8_t>(len >> 16),
                           static_cast<uint8_t>(len >> 8),
                           static_cast<uint8_t>(len),
                           0,
                           0,
                           0,
                           proto};
  return csum_partial(tail, 8, s);
}

// UDP: a zero checksum means "none" (RFC 768) and must stay zero; a computed zero is sent as
// 0xffff.
inline void udp_csum_replace4(uint16_t* sum, uint32_t from, uint32_t to) {
  if (*sum == 0) return;
  csum_replace4(sum, from, to);
  if (*sum == 0) *sum = 0xffff;
}
inline void udp_csum_replace2(uint16_t* sum, uint16_t from, uint16_t to) {
  if (*sum == 0) return;
  csum_replace2(sum, from, to);
  if (*sum == 0) *sum = 0xffff;
}

// Value forms, for checksum fields inside packed headers (no pointer to them may be taken).
inline uint16_t csum_update4(uint16_t sum, uint32_t from, uint32_t to) {
  csum_replace4(&sum, from, to);
  return sum;
}
inline uint16_t csum_update2(uint16_t sum, uint16_t from, uint16_t to) {
  csum_replace2(&sum, from, to);
  return sum;
}

}  // namespace fastvs
