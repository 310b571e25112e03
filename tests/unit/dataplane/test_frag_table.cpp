// The fragment table alone (dataplane/frag_table.h): lookups, lifetime, completion, and what a
// full set gives up.
#include "dataplane/frag_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace fastvs {
namespace {

constexpr uint8_t kUdp = 17;

TEST(FragTable, FindsWhatItRemembersForItsLifetime) {
  FragTable t;
  bool evicted = true;
  t.remember(1, 2, 7, kUdp, 100, 53, 48, 1000, &evicted);
  EXPECT_FALSE(evicted);
  FragEntry* e = t.find(1, 2, 7, kUdp, 1000 + FragTable::kLifetimeTicks - 1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->sport, 100);
  EXPECT_EQ(e->dport, 53);
  // Any other field of the key is another datagram.
  EXPECT_EQ(t.find(2, 1, 7, kUdp, 1000), nullptr);
  EXPECT_EQ(t.find(1, 2, 8, kUdp, 1000), nullptr);
  EXPECT_EQ(t.find(1, 2, 7, 6, 1000), nullptr);
  // Expired: gone, whatever its bytes.
  EXPECT_EQ(t.find(1, 2, 7, kUdp, 1000 + FragTable::kLifetimeTicks), nullptr);
}

TEST(FragTable, EndsOnceEveryByteWasSeenInAnyOrder) {
  FragTable t;
  bool evicted;
  t.remember(1, 2, 7, kUdp, 100, 53, 48, 1000, &evicted);  // bytes [0, 48)
  FragEntry* e = t.find(1, 2, 7, kUdp, 1000);
  ASSERT_NE(e, nullptr);
  FragTable::account(*e, 96, 20, false);  // the last one first: [96, 116), the length is 116
  ASSERT_NE(t.find(1, 2, 7, kUdp, 1000), nullptr);
  FragTable::account(*e, 48, 48, true);  // [48, 96): complete
  EXPECT_EQ(t.find(1, 2, 7, kUdp, 1000), nullptr);
  EXPECT_EQ(t.size(1000), 0u);
}

TEST(FragTable, AFullSetGivesUpItsOldestAndSaysSo) {
  FragTable t;
  bool evicted;
  // Five datagrams whose entries share a set of four.
  std::vector<uint16_t> ids;
  const unsigned set = FragTable::set_of(1, 2, 0, kUdp);
  for (uint32_t id = 0; ids.size() < 5 && id < 65536; ++id)
    if (FragTable::set_of(1, 2, static_cast<uint16_t>(id), kUdp) == set)
      ids.push_back(static_cast<uint16_t>(id));
  ASSERT_EQ(ids.size(), 5u);
  for (unsigned i = 0; i < 4; ++i) {
    t.remember(1, 2, ids[i], kUdp, 1, 1, 8, 1000 + i, &evicted);
    EXPECT_FALSE(evicted);
  }
  t.remember(1, 2, ids[4], kUdp, 1, 1, 8, 1004, &evicted);
  EXPECT_TRUE(evicted);
  EXPECT_EQ(t.find(1, 2, ids[0], kUdp, 1004), nullptr);  // the oldest went
  for (unsigned i = 1; i < 5; ++i) EXPECT_NE(t.find(1, 2, ids[i], kUdp, 1004), nullptr) << i;
  // An expired way is taken before a live one: ids[1] (armed at 1001) expires first.
  t.remember(1, 2, ids[0], kUdp, 1, 1, 8, 1001 + FragTable::kLifetimeTicks, &evicted);
  EXPECT_FALSE(evicted);
  EXPECT_EQ(t.find(1, 2, ids[1], kUdp, 1001 + FragTable::kLifetimeTicks), nullptr);
}

TEST(FragTable, CapacityIsFixed) {
  FragTable t;
  bool evicted;
  // Far more datagrams than slots: every set fills, each insert past that evicts one entry.
  const unsigned n = FragTable::kSlots * 8;
  unsigned evictions = 0;
  for (unsigned i = 0; i < n; ++i) {
    t.remember(0x0a000001 + i, 2, static_cast<uint16_t>(i), kUdp, 1, 1, 8, 1000 + i / 1024,
               &evicted);
    evictions += evicted;
    ASSERT_NE(t.find(0x0a000001 + i, 2, static_cast<uint16_t>(i), kUdp, 1000 + i / 1024), nullptr);
  }
  EXPECT_EQ(t.size(1007), FragTable::kSlots);
  EXPECT_EQ(evictions, n - FragTable::kSlots);
  EXPECT_EQ(sizeof t, FragTable::kSlots * sizeof(FragEntry));
}

TEST(FragTable, TheSameKeyAgainStartsOver) {
  FragTable t;
  bool evicted;
  t.remember(1, 2, 7, kUdp, 100, 53, 48, 1000, &evicted);
  t.remember(1, 2, 7, kUdp, 101, 54, 48, 1010, &evicted);  // the ID reused by a new datagram
  EXPECT_FALSE(evicted);
  FragEntry* e = t.find(1, 2, 7, kUdp, 1010);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->sport, 101);
  EXPECT_EQ(t.size(1010), 1u);
}

}  // namespace
}  // namespace fastvs
