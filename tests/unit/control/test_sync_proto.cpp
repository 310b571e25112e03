// IPVS's sync protocol on the wire (control/sync/sync_proto.h), against messages built
// independently from the kernel's struct definitions (tests/unit/data/sync/make_fixtures.py,
// Python's struct): decoded field by field, what the kernel skips skipped, what makes it drop
// the rest dropped; a message fastvs writes is the kernel's byte for byte; no cut, flipped or
// grown message crashes the decoder or makes it take more than the message holds.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "control/sync/sync_proto.h"

namespace fastvs::sync {
namespace {

std::vector<uint8_t> fixture(const std::string& name) {
  std::ifstream f(std::string(FASTVS_TEST_DATA) + "/sync/" + name, std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

uint32_t ip(int a, int b, int c, int d) {
  return static_cast<uint32_t>(a << 24 | b << 16 | c << 8 | d);
}

Entry v4(uint8_t proto, uint32_t flags, uint16_t state, uint32_t c, uint16_t cport, uint32_t v,
         uint16_t vport, uint32_t d, uint16_t dport, uint32_t timeout) {
  Entry e;
  e.protocol = proto;
  e.flags = flags;
  e.state = state;
  e.set4(c, v, d);
  e.cport = cport;
  e.vport = vport;
  e.dport = dport;
  e.timeout = timeout;
  return e;
}

// What make_fixtures.py put in v1_kernel.bin, as the master's connections (wire flags).
std::vector<Entry> kernel_v1_entries() {
  const uint32_t vip = ip(172, 16, 254, 200);
  Entry nat = v4(6, kFwdMasq | kInSeq | kOutSeq, 1, ip(172, 16, 254, 10), 40000, vip, 80,
                 ip(192, 168, 0, 18), 8080, 900);
  nat.has_seq = true;
  nat.in_seq = {1000, 12, 0};
  nat.out_seq = {5000, static_cast<uint32_t>(-12), 4};
  return {nat,
          v4(17, kFwdDroute, 0, ip(172, 16, 254, 11), 5353, vip, 53, ip(192, 168, 0, 28), 53, 300),
          v4(6, kFwdTunnel | kInactive, 4, ip(10, 9, 8, 7), 1234, vip, 443, ip(10, 0, 0, 5), 443,
             120),
          v4(6, kFwdMasq | kTemplate, 0, ip(172, 16, 254, 0), 0, vip, 80, ip(192, 168, 0, 18), 80,
             360)};
}

TEST(SyncProto, DecodesTheKernelsVersion1) {
  const Decoded d = decode(fixture("v1_kernel.bin"), 0);
  EXPECT_EQ(d.version, 1);
  EXPECT_EQ(d.syncid, 7);
  EXPECT_EQ(d.dropped(), 0u);
  std::vector<Entry> want = kernel_v1_entries();
  for (Entry& e : want) e.flags |= kSync;  // the backup marks what it was told
  ASSERT_EQ(d.entries.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(d.entries[i], want[i]) << "entry " << i;
  EXPECT_EQ(d.entries[0].caddr4(), ip(172, 16, 254, 10));
  EXPECT_EQ(d.entries[0].daddr4(), ip(192, 168, 0, 18));
}

TEST(SyncProto, WritesWhatTheKernelWrites) {
  Writer w(7, 1500 - 28);
  for (const Entry& e : kernel_v1_entries()) ASSERT_TRUE(w.add(e));
  EXPECT_EQ(w.bytes(), fixture("v1_kernel.bin"));
}

TEST(SyncProto, SkipsWhatTheKernelSkipsAndTakesTheRest) {
  const Decoded d = decode(fixture("v1_skips.bin"), 3);
  ASSERT_EQ(d.entries.size(), 3u);
  EXPECT_EQ(d.entries[0].caddr4(), ip(172, 16, 254, 13));  // an optional unknown option
  EXPECT_TRUE(d.entries[1].flags & kTemplate);             // a template's state is not checked
  EXPECT_EQ(d.entries[1].state, 11);
  EXPECT_EQ(d.entries[2].caddr4(), ip(172, 16, 254, 17));
  EXPECT_EQ(d.entries[2].state, 7);
  auto n = [&](Drop x) { return d.drops[static_cast<size_t>(x)]; };
  EXPECT_EQ(n(Drop::ipv6), 1u);
  EXPECT_EQ(n(Drop::pe_data), 1u);
  EXPECT_EQ(n(Drop::mandatory_option), 1u);
  EXPECT_EQ(n(Drop::protocol), 1u);
  EXPECT_EQ(n(Drop::state), 1u);
  EXPECT_EQ(d.dropped(), 5u);
}

TEST(SyncProto, DecodesTheKernelsVersion0) {
  const Decoded d = decode(fixture("v0_kernel.bin"), 0);
  EXPECT_EQ(d.version, 0);
  ASSERT_EQ(d.entries.size(), 2u);
  EXPECT_EQ(d.dropped(), 0u);
  const Entry& a = d.entries[0];
  EXPECT_EQ(a.flags, kFwdMasq | kSync);  // HASHED masked off
  EXPECT_EQ(a.timeout, 0u);              // version 0 has none: the backup's own
  EXPECT_EQ(a.cport, 40001);
  EXPECT_FALSE(a.has_seq);
  const Entry& b = d.entries[1];
  EXPECT_TRUE(b.has_seq);
  EXPECT_EQ(b.in_seq, (Seq{77, 3, 0}));
  EXPECT_EQ(b.out_seq, (Seq{88, 0, 0}));
  EXPECT_EQ(b.vport, 21);
}

TEST(SyncProto, HeadersTheKernelRefuses) {
  std::vector<uint8_t> m = fixture("v1_kernel.bin");
  EXPECT_EQ(decode(m, 8).drops[static_cast<size_t>(Drop::other_syncid)], 1u);  // syncid 7
  EXPECT_EQ(decode(m, 8).entries.size(), 0u);
  EXPECT_EQ(decode(m, 7).entries.size(), 4u);
  m.push_back(0);  // one byte more than its size says
  EXPECT_EQ(decode(m, 0).drops[static_cast<size_t>(Drop::size_mismatch)], 1u);
  EXPECT_EQ(decode(std::vector<uint8_t>{0, 0, 0}, 0).drops[static_cast<size_t>(Drop::short_header)],
            1u);
}

TEST(SyncProto, ACutEntryDropsTheRestAndKeepsWhatCameBefore) {
  // The count says four; the size (fixed up) ends inside the third: two taken, as the kernel
  // has applied them before it finds the third short.
  std::vector<uint8_t> m = fixture("v1_kernel.bin");
  m.resize(8 + 64 + 36 + 20);
  m[2] = static_cast<uint8_t>(m.size() >> 8);
  m[3] = static_cast<uint8_t>(m.size());
  const Decoded d = decode(m, 0);
  EXPECT_EQ(d.entries.size(), 2u);
  EXPECT_EQ(d.drops[static_cast<size_t>(Drop::truncated)], 1u);
}

TEST(SyncProto, EveryCutFlipAndCountIsSafe) {
  for (const char* name : {"v1_kernel.bin", "v1_skips.bin", "v0_kernel.bin"}) {
    const std::vector<uint8_t> whole = fixture(name);
    const size_t full = decode(whole, 0).entries.size();
    for (size_t len = 0; len <= whole.size(); ++len) {
      std::vector<uint8_t> m(whole.begin(), whole.begin() + static_cast<long>(len));
      if (m.size() >= 4) {
        m[2] = static_cast<uint8_t>(len >> 8);
        m[3] = static_cast<uint8_t>(len);
      }
      const Decoded d = decode(m, 0);
      EXPECT_LE(d.entries.size(), full) << name << " cut at " << len;
      if (len < whole.size()) {
        EXPECT_GT(d.dropped() + (full - d.entries.size()), 0u) << name << " cut at " << len;
      }
    }
    for (size_t i = 0; i < whole.size(); ++i) {
      for (uint8_t bit = 1; bit; bit = static_cast<uint8_t>(bit << 1)) {
        std::vector<uint8_t> m = whole;
        m[i] ^= bit;
        const Decoded d = decode(m, 0);
        EXPECT_LE(d.entries.size(), 255u);
      }
    }
  }
}

TEST(SyncProto, MessagesHoldWhatFitsAndAtLeastOne) {
  Entry e = kernel_v1_entries()[1];  // 36 bytes
  Writer w(0, 8 + 36 * 2);
  EXPECT_TRUE(w.add(e));
  EXPECT_TRUE(w.add(e));
  EXPECT_FALSE(w.add(e));
  EXPECT_EQ(w.count(), 2u);
  EXPECT_EQ(decode(w.bytes(), 0).entries.size(), 2u);
  w.clear();
  Writer tiny(0, 10);  // smaller than one entry: still one a message
  EXPECT_TRUE(tiny.add(e));
  EXPECT_FALSE(tiny.add(e));
  // At most 255 (the count is one byte).
  Writer big(0, 65507);
  size_t n = 0;
  while (big.add(e)) ++n;
  EXPECT_EQ(n, 255u);
  EXPECT_EQ(decode(big.bytes(), 0).entries.size(), 255u);
}

}  // namespace
}  // namespace fastvs::sync
