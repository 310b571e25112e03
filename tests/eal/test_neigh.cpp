// The neighbour table: one writer, lock-free readers; learned entries arrive through a ring.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/neigh.h"
#include "tests/eal/eal_env.h"

namespace fastvs {
namespace {

MacAddr m(uint8_t last) {
  return MacAddr{0xaa, 0, 0, 0, 0, last};
}

TEST(Neigh, SetLookupClear) {
  auto t = std::make_unique<NeighTable>();
  uint16_t port;
  MacAddr mac;
  EXPECT_FALSE(t->lookup(0x01020304, &port, &mac));
  EXPECT_TRUE(t->set(0x01020304, 1, m(4), NeighState::Reachable));
  ASSERT_TRUE(t->lookup(0x01020304, &port, &mac));
  EXPECT_EQ(port, 1);
  EXPECT_EQ(mac, m(4));
  EXPECT_FALSE(t->set(0x01020304, 1, m(4), NeighState::Reachable));  // unchanged
  EXPECT_TRUE(t->clear(0x01020304));
  EXPECT_FALSE(t->lookup(0x01020304, &port, &mac));
  EXPECT_TRUE(t->set(0x01020304, 0, m(5), NeighState::Reachable));  // the tombstone revives
  ASSERT_TRUE(t->lookup(0x01020304, &port, &mac));
  EXPECT_EQ(mac, m(5));
}

TEST(Neigh, PermanentIsNotOverwrittenByLearning) {
  auto t = std::make_unique<NeighTable>();
  t->set(7, 0, m(1), NeighState::Permanent);
  EXPECT_FALSE(t->set(7, 0, m(2), NeighState::Reachable));
  uint16_t port;
  MacAddr mac;
  ASSERT_TRUE(t->lookup(7, &port, &mac));
  EXPECT_EQ(mac, m(1));
}

TEST(Neigh, DrainFromRing) {
  auto t = std::make_unique<NeighTable>();
  rte_ring* r =
      rte_ring_create_elem("neigh_t", sizeof(NeighLearn), 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_NE(r, nullptr);
  for (uint32_t i = 1; i <= 40; ++i) {
    NeighLearn nl{};
    nl.ip = i;
    nl.port = 1;
    nl.mac[0] = 0xaa;
    nl.mac[5] = static_cast<uint8_t>(i);
    ASSERT_EQ(rte_ring_sp_enqueue_elem(r, &nl, sizeof nl), 0);
  }
  EXPECT_EQ(t->drain(r), 40u);
  uint16_t port;
  MacAddr mac;
  ASSERT_TRUE(t->lookup(33, &port, &mac));
  EXPECT_EQ(mac, m(33));
  rte_ring_free(r);
}

// A reader racing the writer sees either the old or the new MAC, never a mix.
TEST(Neigh, ReadersNeverSeeTornEntries) {
  auto t = std::make_unique<NeighTable>();
  const MacAddr a{1, 1, 1, 1, 1, 1}, b{2, 2, 2, 2, 2, 2};
  t->set(99, 0, a, NeighState::Reachable);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> torn{0}, reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      uint16_t port;
      MacAddr mac;
      if (t->lookup(99, &port, &mac)) {
        ++reads;
        if (mac != a && mac != b) ++torn;
      }
    }
  });
  // Write until the reader has raced us for a while (bounded: 10 s at worst).
  for (int i = 0; i < 50000000 && reads.load() < 200000; ++i)
    t->set(99, 0, i & 1 ? a : b, NeighState::Reachable);
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

// IPv6: the same table keyed by 128-bit addresses.
Ip6Key v6(uint16_t last, uint8_t net = 1) {
  Ip6Key k{{0x20, 0x01, 0x0d, 0xb8, 0, net}};
  k.b[14] = static_cast<uint8_t>(last >> 8);
  k.b[15] = static_cast<uint8_t>(last);
  return k;
}

TEST(Neigh6, SetLookupClear) {
  auto t = std::make_unique<NeighTable6>();
  uint16_t port;
  MacAddr mac;
  EXPECT_FALSE(t->lookup(v6(4), &port, &mac));
  EXPECT_FALSE(t->set(Ip6Key{}, 1, m(4), NeighState::Reachable));  // :: is no neighbour
  EXPECT_TRUE(t->set(v6(4), 1, m(4), NeighState::Reachable));
  ASSERT_TRUE(t->lookup(v6(4), &port, &mac));
  EXPECT_EQ(port, 1);
  EXPECT_EQ(mac, m(4));
  // Another address with the same fold (the words xor to the same value) is another neighbour.
  Ip6Key twin = v6(4);
  twin.b[3] ^= 1;
  twin.b[7] ^= 1;
  EXPECT_EQ(NeighSlotIp<Ip6Key>::fold(twin), NeighSlotIp<Ip6Key>::fold(v6(4)));
  EXPECT_FALSE(t->lookup(twin, &port, &mac));
  EXPECT_TRUE(t->set(twin, 0, m(9), NeighState::Reachable));
  ASSERT_TRUE(t->lookup(twin, &port, &mac));
  EXPECT_EQ(mac, m(9));
  ASSERT_TRUE(t->lookup(v6(4), &port, &mac));
  EXPECT_EQ(mac, m(4));
  EXPECT_FALSE(t->set(v6(4), 1, m(4), NeighState::Reachable));  // unchanged
  EXPECT_TRUE(t->clear(v6(4)));
  EXPECT_FALSE(t->lookup(v6(4), &port, &mac));
  EXPECT_TRUE(t->lookup(twin, &port, &mac));
  EXPECT_TRUE(t->set(v6(4), 0, m(5), NeighState::Permanent));   // the tombstone revives
  EXPECT_FALSE(t->set(v6(4), 0, m(6), NeighState::Reachable));  // permanent stays
  unsigned n = 0;
  t->for_each([&](const Ip6Key& ip, uint16_t, const MacAddr& mac, NeighState st) {
    ++n;
    if (ip == v6(4)) {
      EXPECT_EQ(mac, m(5));
      EXPECT_EQ(st, NeighState::Permanent);
    }
  });
  EXPECT_EQ(n, 2u);
}

TEST(Neigh6, DrainFromRing) {
  auto t = std::make_unique<NeighTable6>();
  rte_ring* r =
      rte_ring_create_elem("neigh6_t", sizeof(NeighLearn6), 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_NE(r, nullptr);
  for (uint16_t i = 1; i <= 40; ++i) {
    NeighLearn6 nl{};
    nl.ip = v6(i);
    nl.port = 1;
    nl.mac[0] = 0xaa;
    nl.mac[5] = static_cast<uint8_t>(i);
    ASSERT_EQ(rte_ring_sp_enqueue_elem(r, &nl, sizeof nl), 0);
  }
  EXPECT_EQ(t->drain(r), 40u);
  uint16_t port;
  MacAddr mac;
  ASSERT_TRUE(t->lookup(v6(33), &port, &mac));
  EXPECT_EQ(mac, m(33));
  EXPECT_EQ(port, 1);
  rte_ring_free(r);
}

// A reader racing the writer, which claims new slots and rewrites one, sees whole entries only.
TEST(Neigh6, ReadersNeverSeeTornEntries) {
  auto t = std::make_unique<NeighTable6>();
  const MacAddr a{1, 1, 1, 1, 1, 1}, b{2, 2, 2, 2, 2, 2};
  t->set(v6(99), 0, a, NeighState::Reachable);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> torn{0}, reads{0};
  std::thread reader([&] {
    uint16_t k = 1;
    while (!done.load()) {
      uint16_t port;
      MacAddr mac;
      if (t->lookup(v6(99), &port, &mac)) {
        ++reads;
        if (mac != a && mac != b) ++torn;
      }
      // Addresses being claimed as we read: found whole with their own MAC, or not at all.
      if (t->lookup(v6(k, 2), &port, &mac) && mac != MacAddr{0xaa, 0, 0, 0, 0, uint8_t(k)}) ++torn;
      k = static_cast<uint16_t>(k % 2000 + 1);
    }
  });
  for (int i = 0; i < 50000000 && reads.load() < 200000; ++i) {
    t->set(v6(99), 0, i & 1 ? a : b, NeighState::Reachable);
    if (i < 2000)
      t->set(v6(static_cast<uint16_t>(i + 1), 2), 0, m(uint8_t(i + 1)), NeighState::Reachable);
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace fastvs
