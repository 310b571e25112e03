// Incremental checksum updates (RFC 1624) against full recomputation on random data.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "dataplane/checksum.h"

namespace fastvs {
namespace {

TEST(Checksum, KnownIpv4Header) {
  // RFC 1071-style worked example: a real IPv4 header whose checksum is 0xb861.
  const uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                         0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  const uint16_t c = csum_buffer(h, 20);
  EXPECT_EQ(c, __builtin_bswap16(0xb861));
}

TEST(Checksum, OddLengthPadsWithZero) {
  const uint8_t a[3] = {0x01, 0x02, 0x03};
  const uint8_t b[4] = {0x01, 0x02, 0x03, 0x00};
  EXPECT_EQ(csum_buffer(a, 3), csum_buffer(b, 4));
}

// Replacing words of random buffers incrementally gives a checksum that verifies, and equals
// the full recomputation (up to the 0x0000/0xffff equivalence of one's complement).
TEST(Checksum, IncrementalMatchesFullRecompute) {
  std::mt19937 rng(42);
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> buf(8 + (rng() % 64) * 2);
    for (auto& x : buf) x = static_cast<uint8_t>(rng());
    // The checksum word lives at offset 0.
    buf[0] = buf[1] = 0;
    uint16_t sum = csum_buffer(buf.data(), buf.size());
    std::memcpy(buf.data(), &sum, 2);
    const size_t off = 2 + (rng() % ((buf.size() - 6) / 2)) * 2;
    if (rng() & 1) {
      uint32_t from, to = static_cast<uint32_t>(rng());
      if (off + 4 > buf.size()) continue;
      std::memcpy(&from, &buf[off], 4);
      csum_replace4(&sum, from, to);
      std::memcpy(&buf[off], &to, 4);
    } else {
      uint16_t from, to = static_cast<uint16_t>(rng());
      std::memcpy(&from, &buf[off], 2);
      csum_replace2(&sum, from, to);
      std::memcpy(&buf[off], &to, 2);
    }
    std::memcpy(buf.data(), &sum, 2);
    ASSERT_EQ(csum_fold32(csum_partial(buf.data(), buf.size())), 0xffffu) << "iter " << iter;
    buf[0] = buf[1] = 0;
    const uint16_t full = csum_buffer(buf.data(), buf.size());
    if (!((full == 0 && sum == 0xffff) || (full == 0xffff && sum == 0))) {
      ASSERT_EQ(sum, full) << "iter " << iter;
    }
  }
}

// The 32-bit header check agrees with the 16-bit sum on random headers, options included.
TEST(Checksum, Ipv4HeaderCheckMatches16BitSum) {
  std::mt19937 rng(9);
  for (int iter = 0; iter < 20000; ++iter) {
    uint8_t h[60];
    for (auto& b : h) b = static_cast<uint8_t>(rng());
    const size_t ihl = 20 + 4 * (rng() % 11);
    if (iter % 2) {  // half of them made valid
      h[10] = h[11] = 0;
      const uint16_t c = csum_buffer(h, ihl);
      std::memcpy(h + 10, &c, 2);
    }
    const bool ref = csum_fold32(csum_partial(h, ihl)) == 0xffff;
    ASSERT_EQ(ipv4_hdr_csum_ok(h, ihl), ref) << "iter " << iter;
  }
}

TEST(Checksum, UdpZeroStaysZeroAndComputedZeroIsAllOnes) {
  uint16_t none = 0;
  udp_csum_replace4(&none, 0x01020304, 0x05060708);
  udp_csum_replace2(&none, 0x0102, 0x0304);
  EXPECT_EQ(none, 0);  // RFC 768: no checksum stays no checksum
  // ~(~0x0001 + ~0xffff + 0x0001) = ~0xffff = 0: a computed zero is sent as 0xffff.
  uint16_t tcp = 0x0001, udp = 0x0001;
  csum_replace2(&tcp, 0xffff, 0x0001);
  udp_csum_replace2(&udp, 0xffff, 0x0001);
  EXPECT_EQ(tcp, 0x0000);
  EXPECT_EQ(udp, 0xffff);
}

}  // namespace
}  // namespace fastvs
