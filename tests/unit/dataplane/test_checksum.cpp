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

// An IPv6 address replaced in a pseudo-header's sum equals the sum over the new address, and a
// whole checksum from csum_pseudo6 verifies as the receiver checks it.
TEST(Checksum, Ipv6AddressReplacedMatchesFullRecompute) {
  std::mt19937 rng(6);
  for (int iter = 0; iter < 20000; ++iter) {
    uint8_t src[16], dst[16], to[16];
    for (auto* a : {src, dst, to})
      for (int i = 0; i < 16; ++i) a[i] = static_cast<uint8_t>(rng());
    std::vector<uint8_t> l4(8 + rng() % 100);
    for (auto& x : l4) x = static_cast<uint8_t>(rng());
    l4[6] = l4[7] = 0;  // the checksum word (UDP's place)
    const auto len = static_cast<uint32_t>(l4.size());
    uint16_t sum = csum_finish(csum_partial(l4.data(), l4.size(), csum_pseudo6(src, dst, len, 17)));
    std::memcpy(&l4[6], &sum, 2);
    ASSERT_EQ(csum_fold32(csum_partial(l4.data(), l4.size(), csum_pseudo6(src, dst, len, 17))),
              0xffffu);
    const bool src_side = rng() & 1;
    csum_replace16(&sum, src_side ? src : dst, to);
    std::memcpy(&l4[6], &sum, 2);
    const uint8_t* s2 = src_side ? to : src;
    const uint8_t* d2 = src_side ? dst : to;
    ASSERT_EQ(csum_fold32(csum_partial(l4.data(), l4.size(), csum_pseudo6(s2, d2, len, 17))),
              0xffffu)
        << "iter " << iter;
    l4[6] = l4[7] = 0;
    const uint16_t full =
        csum_finish(csum_partial(l4.data(), l4.size(), csum_pseudo6(s2, d2, len, 17)));
    if (!((full == 0 && sum == 0xffff) || (full == 0xffff && sum == 0))) {
      ASSERT_EQ(sum, full) << "iter " << iter;
    }
  }
}

// The pseudo-header against RFC 8200's layout written out by hand.
TEST(Checksum, Ipv6PseudoHeaderLayout) {
  uint8_t a[16], b[16];
  for (int i = 0; i < 16; ++i) {
    a[i] = static_cast<uint8_t>(i * 7 + 1);
    b[i] = static_cast<uint8_t>(255 - i * 3);
  }
  std::vector<uint8_t> ph(a, a + 16);
  ph.insert(ph.end(), b, b + 16);
  ph.insert(ph.end(), {0x00, 0x01, 0x02, 0x03, 0, 0, 0, 58});
  EXPECT_EQ(csum_fold32(csum_pseudo6(a, b, 0x00010203, 58)),
            csum_fold32(csum_partial(ph.data(), ph.size())));
}

}  // namespace
}  // namespace fastvs
