// The parser on good, truncated and garbage input: it never reads past the bytes it is given
// (ASan checks that in the sanitizer build) and names the reason for every refusal.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "dataplane/parse.h"
#include "tests/packet/pktbuild.h"

namespace fastvs {
namespace {

std::vector<uint8_t> frame() {
  // Ethernet + IPv4 (checksum valid) + TCP SYN 10.0.0.1:1234 -> 10.0.0.2:80.
  std::vector<uint8_t> f = {
      0x02, 0,    0, 0,  0, 1, 0x02, 0, 0,  0, 0, 2, 0x08, 0x00,                           // eth
      0x45, 0,    0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10,   0,    0,    1,    10, 0, 0, 2,  // ip
      0x04, 0xd2, 0, 80, 0, 0, 0,    1, 0,  0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0,  0, 0, 0};
  const uint16_t c = csum_buffer(&f[14], 20);
  std::memcpy(&f[24], &c, 2);
  return f;
}

TEST(Parse, TcpSyn) {
  auto f = frame();
  PacketInfo pi;
  Drop why;
  ASSERT_TRUE(parse_packet(f.data(), static_cast<uint32_t>(f.size()), pi, &why));
  EXPECT_EQ(pi.kind, PktKind::Tcp);
  EXPECT_EQ(pi.saddr, load_raw32(&f[26]));
  EXPECT_EQ(load_be16(reinterpret_cast<const uint8_t*>(&pi.sport)), 1234);
  EXPECT_EQ(load_be16(reinterpret_cast<const uint8_t*>(&pi.dport)), 80);
  EXPECT_EQ(pi.tcp_flags, 0x02);
  EXPECT_EQ(pi.l4_off, 34);
  EXPECT_EQ(pi.ip_len, 40);
}

TEST(Parse, PaddingBeyondTotalLengthIsAllowed) {
  auto f = frame();
  f.resize(f.size() + 6, 0);  // Ethernet minimum-size padding
  PacketInfo pi;
  Drop why;
  EXPECT_TRUE(parse_packet(f.data(), static_cast<uint32_t>(f.size()), pi, &why));
}

TEST(Parse, EveryTruncationIsRefused) {
  const auto f = frame();
  for (size_t n = 0; n < f.size(); ++n) {
    std::vector<uint8_t> cut(f.begin(), f.begin() + static_cast<long>(n));
    PacketInfo pi;
    Drop why = Drop::count;
    EXPECT_FALSE(parse_packet(cut.data(), static_cast<uint32_t>(n), pi, &why)) << n;
    EXPECT_NE(why, Drop::count) << n;
  }
}

TEST(Parse, RandomGarbageNeverReadsOutOfBounds) {
  std::mt19937 rng(7);
  const auto good = frame();
  int accepted = 0;
  for (int i = 0; i < 100000; ++i) {
    std::vector<uint8_t> b = good;
    b.resize(rng() % 80);
    for (auto& x : b)
      if (rng() % 8 == 0) x = static_cast<uint8_t>(rng());
    // A heap copy of exactly the right size: ASan catches any read past it.
    std::vector<uint8_t> exact(b);
    PacketInfo pi;
    Drop why;
    accepted += parse_packet(exact.data(), static_cast<uint32_t>(exact.size()), pi, &why);
  }
  EXPECT_GT(accepted, 0);
}

// frame() with its IP fragment field set and `opts` as IP options, lengths and checksum fixed.
std::vector<uint8_t> with_ip(std::vector<uint8_t> f, uint16_t frag_field,
                             const std::vector<uint8_t>& opts = {}) {
  f.insert(f.begin() + 34, opts.begin(), opts.end());
  const size_t ihl = 20 + opts.size();
  f[14] = static_cast<uint8_t>(0x40 | ihl / 4);
  const size_t total = f.size() - 14;
  f[16] = static_cast<uint8_t>(total >> 8);
  f[17] = static_cast<uint8_t>(total);
  f[20] = static_cast<uint8_t>(frag_field >> 8);
  f[21] = static_cast<uint8_t>(frag_field);
  f[24] = f[25] = 0;
  const uint16_t c = csum_buffer(&f[14], ihl);
  std::memcpy(&f[24], &c, 2);
  return f;
}

TEST(Parse, Fragments) {
  Drop why = Drop::count;
  auto parse = [&](const std::vector<uint8_t>& f, PacketInfo& pi) {
    return parse_packet(f.data(), static_cast<uint32_t>(f.size()), pi, &why);
  };
  PacketInfo pi;
  const auto first = with_ip(frame(), 0x2000);  // MF, offset 0: the ports are there
  ASSERT_TRUE(parse(first, pi));
  EXPECT_EQ(pi.kind, PktKind::Tcp);
  EXPECT_EQ(pi.frag, kFragMore);
  EXPECT_EQ(pi.ip_id, load_raw16(&first[18]));
  EXPECT_EQ(load_be16(reinterpret_cast<const uint8_t*>(&pi.dport)), 80);

  PacketInfo later;
  ASSERT_TRUE(parse(with_ip(frame(), 0x0003), later));  // offset 24, the last fragment
  EXPECT_EQ(later.kind, PktKind::Fragment);
  EXPECT_EQ(later.frag, kFragLater);
  EXPECT_EQ(later.frag_off, 24);
  EXPECT_EQ(later.sport, 0);  // no ports read from a fragment's payload

  PacketInfo x;
  EXPECT_FALSE(parse(with_ip(frame(), 0x2001), x));  // offset 8: inside the TCP header
  EXPECT_EQ(why, Drop::frag_malformed);
  EXPECT_FALSE(parse(with_ip(frame(), 0x1fff), x));  // ends past 64 KiB
  EXPECT_EQ(why, Drop::frag_malformed);
  auto long_doff = frame();
  long_doff[14 + 20 + 12] = 0xf0;  // a 60-byte TCP header in 20 bytes
  EXPECT_FALSE(parse(with_ip(long_doff, 0x2000), x));
  EXPECT_EQ(why, Drop::frag_malformed);
  PacketInfo y;  // parse_packet fills a fresh PacketInfo (the pipeline makes one per packet)
  EXPECT_FALSE(parse(with_ip(long_doff, 0x4000), y));  // DF alone: no fragment, just malformed
  EXPECT_EQ(why, Drop::tcp_doff);
}

TEST(Parse, OptionsAreWalkedWithinTheHeader) {
  Drop why = Drop::count;
  PacketInfo pi;
  const auto ok = with_ip(frame(), 0x4000, {0x94, 4, 0, 0, 1, 1, 1, 0});  // router alert, NOPs
  ASSERT_TRUE(parse_packet(ok.data(), static_cast<uint32_t>(ok.size()), pi, &why));
  EXPECT_EQ(pi.l4_off, 14 + 28);
  EXPECT_EQ(load_be16(reinterpret_cast<const uint8_t*>(&pi.dport)), 80);
  // Every first two bytes of a 4-byte option area: accepted, or refused for its options, and
  // never read past (ASan checks in the sanitizer build).
  unsigned refused = 0;
  for (unsigned v = 0; v < 65536; ++v) {
    const auto f =
        with_ip(frame(), 0x4000, {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v), 0, 0});
    const std::vector<uint8_t> exact(f);
    PacketInfo p;
    why = Drop::count;
    if (!parse_packet(exact.data(), static_cast<uint32_t>(exact.size()), p, &why)) {
      ++refused;
      EXPECT_TRUE(why == Drop::ip_options || why == Drop::ip_source_route) << v;
    }
  }
  EXPECT_GT(refused, 0u);
  const auto lsrr = with_ip(frame(), 0x4000, {0x89, 7, 4, 10, 0, 0, 1, 0});  // SSRR
  EXPECT_FALSE(parse_packet(lsrr.data(), static_cast<uint32_t>(lsrr.size()), pi, &why));
  EXPECT_EQ(why, Drop::ip_source_route);
}

TEST(Parse, IcmpErrorEmbeddedHeader) {
  // ICMP port unreachable quoting a UDP packet 10.0.0.2:53 -> 10.0.0.1:999.
  std::vector<uint8_t> f = {0x02, 0, 0,  0,  0, 1, 0x02, 0,  0,    0,    0, 2, 0x08, 0x00,
                            0x45, 0, 0,  56, 0, 1, 0,    0,  64,   1,    0, 0, 10,   0,
                            0,    1, 10, 0,  0, 2, 3,    3,  0,    0,    0, 0, 0,    0,
                            0x45, 0, 0,  28, 0, 2, 0,    0,  64,   17,   0, 0, 10,   0,
                            0,    2, 10, 0,  0, 1, 0,    53, 0x03, 0xe7, 0, 8, 0,    0};
  const uint16_t c = csum_buffer(&f[14], 20);
  std::memcpy(&f[24], &c, 2);
  PacketInfo pi;
  Drop why;
  ASSERT_TRUE(parse_packet(f.data(), static_cast<uint32_t>(f.size()), pi, &why));
  EXPECT_TRUE(pi.icmp_error);
  EXPECT_EQ(pi.inner_proto, 17);
  EXPECT_EQ(load_be16(reinterpret_cast<const uint8_t*>(&pi.inner_sport)), 53);
  EXPECT_EQ(load_be16(reinterpret_cast<const uint8_t*>(&pi.inner_dport)), 999);
  EXPECT_EQ(pi.inner_l4_off, 14 + 20 + 8 + 20);
  // One byte short of the quoted ports.
  f.pop_back();
  f[17] = 55;
  f[24] = f[25] = 0;
  const uint16_t c2 = csum_buffer(&f[14], 20);
  std::memcpy(&f[24], &c2, 2);
  EXPECT_FALSE(parse_packet(f.data(), static_cast<uint32_t>(f.size()), pi, &why));
  EXPECT_EQ(why, Drop::icmp_malformed);
}

// IPv6, from frames built by the fixtures' builder (inet_pton, checksums from scratch).
using testing::Bytes;
using testing::cat;

Bytes frame6(const Bytes& ip) {
  return testing::eth(testing::mac("02:00:00:00:00:00"), testing::mac("02:00:00:00:00:01"), 0x86dd,
                      ip);
}

const std::string kS6 = "2001:db8::1", kD6 = "2001:db8:1::2";

// TCP SYN behind hop-by-hop options and a destination options header.
Bytes chained_syn() {
  return frame6(testing::ipv6(
      kS6, kD6, 0,
      cat({testing::ip6_ext(60, {1, 4, 0, 0, 0, 0}), testing::ip6_ext(6, {0, 0, 1, 2, 0, 0}),
           testing::tcp(kS6, kD6, 1234, 80, 0x02)})));
}

bool parse(const Bytes& f, PacketInfo& pi, Drop* why) {
  const Bytes exact(f);  // exactly its size: ASan sees any read past it
  pi = PacketInfo{};     // as the worker's: fresh for each packet
  return parse_packet(exact.data(), static_cast<uint32_t>(exact.size()), pi, why);
}

uint16_t be(uint16_t raw) {
  return load_be16(reinterpret_cast<const uint8_t*>(&raw));
}

TEST(Parse6, TcpPastExtensionHeaders) {
  const Bytes f = chained_syn();
  PacketInfo pi;
  Drop why;
  ASSERT_TRUE(parse(f, pi, &why)) << drop_name(why);
  EXPECT_TRUE(pi.v6);
  EXPECT_EQ(pi.kind, PktKind::Tcp);
  EXPECT_EQ(pi.proto, 6);
  EXPECT_EQ(pi.l3_off, 14);
  EXPECT_EQ(pi.l4_off, 14 + 40 + 8 + 8);
  EXPECT_EQ(pi.ip_len, 40 + 16 + 20);
  EXPECT_EQ(be(pi.sport), 1234);
  EXPECT_EQ(be(pi.dport), 80);
  EXPECT_EQ(pi.tcp_flags, 0x02);
  EXPECT_EQ(pi.frag, 0);
  // IPVS's fold of 2001:db8::1: 0x20010db8 ^ 0 ^ 0 ^ 1.
  EXPECT_EQ(load_be32(reinterpret_cast<const uint8_t*>(&pi.saddr)), 0x20010db9u);
  EXPECT_EQ(load_be32(reinterpret_cast<const uint8_t*>(&pi.daddr)), 0x20010db8u ^ 0x00010000u ^ 2u);
}

TEST(Parse6, EveryTruncationIsRefused) {
  const Bytes f = chained_syn();
  for (size_t n = 0; n < f.size(); ++n) {
    Bytes cut(f.begin(), f.begin() + static_cast<long>(n));
    // The payload length kept: every cut is beyond the frame, or (fixed) a cut header.
    PacketInfo pi;
    Drop why = Drop::count;
    EXPECT_FALSE(parse(cut, pi, &why)) << n;
    EXPECT_NE(why, Drop::count) << n;
    if (n >= 54) {
      cut[14 + 4] = 0;
      cut[14 + 5] = static_cast<uint8_t>(n - 54);
      why = Drop::count;
      EXPECT_FALSE(parse(cut, pi, &why)) << n;
      EXPECT_TRUE(why == Drop::ip6_ext_truncated || why == Drop::l4_truncated ||
                  why == Drop::tcp_doff)
          << n << " " << drop_name(why);
    }
  }
}

TEST(Parse6, Fragments) {
  const Bytes syn = testing::tcp(kS6, kD6, 1234, 80, 0x02, Bytes(20, 7));
  PacketInfo pi;
  Drop why;
  // The first of two: its header chain and TCP header whole, the ports read.
  ASSERT_TRUE(parse(frame6(testing::ipv6(kS6, kD6, 44,
                                         cat({testing::ip6_frag(6, 0, true, 0xaabbccdd),
                                              Bytes(syn.begin(), syn.begin() + 24)}))),
                    pi, &why))
      << drop_name(why);
  EXPECT_EQ(pi.kind, PktKind::Tcp);
  EXPECT_EQ(pi.frag, kFragMore);
  EXPECT_EQ(be(pi.ip_id), 0xccdd);
  EXPECT_EQ(be(pi.dport), 80);
  // The second: no header past the fragment's.
  ASSERT_TRUE(parse(frame6(testing::ipv6(kS6, kD6, 44,
                                         cat({testing::ip6_frag(6, 24, false, 0xaabbccdd),
                                              Bytes(syn.begin() + 24, syn.end())}))),
                    pi, &why))
      << drop_name(why);
  EXPECT_EQ(pi.kind, PktKind::Fragment);
  EXPECT_EQ(pi.frag, kFragLater);
  EXPECT_EQ(pi.frag_off, 24);
  EXPECT_EQ(pi.proto, 6);
  // An atomic fragment (offset 0, no more) is a whole packet (RFC 6946).
  ASSERT_TRUE(
      parse(frame6(testing::ipv6(kS6, kD6, 44, cat({testing::ip6_frag(6, 0, false, 1), syn}))), pi,
            &why));
  EXPECT_EQ(pi.kind, PktKind::Tcp);
  EXPECT_EQ(pi.frag, 0);
  // Two fragment headers.
  EXPECT_FALSE(parse(frame6(testing::ipv6(kS6, kD6, 44,
                                          cat({testing::ip6_frag(44, 0, true, 1),
                                               testing::ip6_frag(6, 8, true, 1), Bytes(8, 0)}))),
                     pi, &why));
  EXPECT_EQ(why, Drop::frag_malformed);
}

TEST(Parse6, Icmp6EchoAndInformational) {
  PacketInfo pi;
  Drop why;
  ASSERT_TRUE(parse(
      frame6(testing::ipv6(kS6, kD6, 58, testing::icmp6(kS6, kD6, 128, 0, {0x12, 0x34, 0, 1}))), pi,
      &why));
  EXPECT_EQ(pi.kind, PktKind::Icmp);
  EXPECT_EQ(pi.icmp_type, kIcmp6EchoRequest);
  EXPECT_EQ(be(pi.sport), 0x1234);
  EXPECT_FALSE(pi.icmp_error);
  ASSERT_TRUE(
      parse(frame6(testing::ipv6(kS6, "ff02::1:ff00:2", 58,
                                 testing::icmp6(kS6, "ff02::1:ff00:2", 135, 0, Bytes(20, 0)), 255)),
            pi, &why));
  EXPECT_EQ(pi.icmp_type, kIcmp6NeighSolicit);
  EXPECT_FALSE(pi.icmp_error);
}

TEST(Parse6, Icmp6ErrorEmbeddedHeader) {
  // Packet too big from a router, quoting a TCP segment 2001:db8:1::2:80 -> 2001:db8::1:1234 with
  // a destination options header.
  const Bytes quoted = testing::ipv6(
      kD6, kS6, 60,
      cat({testing::ip6_ext(6, {1, 4, 0, 0, 0, 0}), testing::tcp(kD6, kS6, 80, 1234, 0x10)}));
  const auto err = [&](const Bytes& q, uint8_t type = 2) {
    return frame6(
        testing::ipv6("2001:db8:ff::1", kD6, 58,
                      testing::icmp6("2001:db8:ff::1", kD6, type, 0, cat({{0, 0, 5, 0}, q}))));
  };
  PacketInfo pi;
  Drop why;
  ASSERT_TRUE(parse(err(quoted), pi, &why)) << drop_name(why);
  EXPECT_TRUE(pi.icmp_error);
  EXPECT_EQ(pi.icmp_type, kIcmp6PacketTooBig);
  EXPECT_EQ(pi.inner_proto, 6);
  EXPECT_EQ(pi.inner_l3_off, 14 + 40 + 8);
  EXPECT_EQ(pi.inner_l4_off, 14 + 40 + 8 + 40 + 8);
  EXPECT_EQ(be(pi.inner_sport), 80);
  EXPECT_EQ(be(pi.inner_dport), 1234);
  EXPECT_EQ(pi.inner_daddr, ip6_fold(testing::ip6(kS6).data()));
  for (uint8_t type : {1, 3, 4}) {
    ASSERT_TRUE(parse(err(quoted, type), pi, &why)) << int{type};
    EXPECT_TRUE(pi.icmp_error) << int{type};
  }
  // Quoted short of the ports.
  ASSERT_FALSE(parse(err(Bytes(quoted.begin(), quoted.begin() + 40 + 8 + 7)), pi, &why));
  EXPECT_EQ(why, Drop::icmp_malformed);
  // Quoted short of its extension header.
  ASSERT_FALSE(parse(err(Bytes(quoted.begin(), quoted.begin() + 44)), pi, &why));
  EXPECT_EQ(why, Drop::icmp_malformed);
  // A quoted non-first fragment has no ports.
  const Bytes qfrag =
      testing::ipv6(kD6, kS6, 44, cat({testing::ip6_frag(6, 16, true, 3), Bytes(16, 0)}));
  ASSERT_FALSE(parse(err(qfrag), pi, &why));
  EXPECT_EQ(why, Drop::icmp_malformed);
}

TEST(Parse6, RandomGarbageNeverReadsOutOfBounds) {
  std::mt19937 rng(11);
  const Bytes good = chained_syn();
  int accepted = 0;
  for (int i = 0; i < 100000; ++i) {
    Bytes b = good;
    b.resize(rng() % 100);
    for (size_t j = 14; j < b.size(); ++j)
      if (rng() % 10 == 0) b[j] = static_cast<uint8_t>(rng());
    PacketInfo pi;
    Drop why;
    accepted += parse(b, pi, &why);
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace fastvs
