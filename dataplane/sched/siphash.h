// SipHash (Aumasson and Bernstein), as the kernel's lib/siphash.c computes it: the mh scheduler
// hashes with hsiphash(), which a 64-bit kernel computes as SipHash-1-3 with 64-bit key words
// ("on 64-bit, we make HalfSipHash1-3 actually be SipHash1-3"), cut to 32 bits. Pure and
// constexpr, so the reference vectors are checked at compile time by the tests.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fastvs {

constexpr uint64_t rotl64(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

// SipHash-c-d of data[0..len) under the key (k0, k1): the key words as lib/siphash.c's
// key->key[0] and key->key[1] (the first and second 8 key bytes read little-endian).
template <int C, int D>
constexpr uint64_t siphash(const uint8_t* data, size_t len, uint64_t k0, uint64_t k1) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
  uint64_t v3 = 0x7465646279746573ULL ^ k1;
  auto round = [&] {
    v0 += v1;
    v1 = rotl64(v1, 13);
    v1 ^= v0;
    v0 = rotl64(v0, 32);
    v2 += v3;
    v3 = rotl64(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl64(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl64(v1, 17);
    v1 ^= v2;
    v2 = rotl64(v2, 32);
  };
  auto le64 = [&](size_t at, size_t n) {
    uint64_t m = 0;
    for (size_t i = 0; i < n; ++i) m |= uint64_t{data[at + i]} << (8 * i);
    return m;
  };
  const size_t full = len - len % 8;
  for (size_t at = 0; at < full; at += 8) {
    const uint64_t m = le64(at, 8);
    v3 ^= m;
    for (int i = 0; i < C; ++i) round();
    v0 ^= m;
  }
  const uint64_t b = uint64_t{len} << 56 | le64(full, len % 8);
  v3 ^= b;
  for (int i = 0; i < C; ++i) round();
  v0 ^= b;
  v2 ^= 0xff;
  for (int i = 0; i < D; ++i) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

// hsiphash(&v, sizeof(v), key) on a 64-bit little-endian kernel: v's four bytes in memory order.
constexpr uint32_t hsiphash_u32(uint32_t v, uint64_t k0, uint64_t k1) {
  const uint8_t bytes[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                            static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
  return static_cast<uint32_t>(siphash<1, 3>(bytes, 4, k0, k1));
}

}  // namespace fastvs
