// lblc and lblcr against the kernel's code paths (net/netfilter/ipvs/ip_vs_lblc.c,
// ip_vs_lblcr.c), with one worker: the table that maps a destination address to its server(s),
// its references on the destinations, its expiry and its bound. Destinations are named A, B, C,
// ... in the kernel's list order (sched_fixture.h); '-' is none.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/hash.h"
#include "dataplane/sched/locality.h"
#include "dataplane/sched/sched.h"
#include "tests/unit/dataplane/sched_fixture.h"

namespace fastvs {
namespace {

constexpr uint32_t kX = 0x0a000001;  // 10.0.0.1
constexpr uint32_t kY = 0x0a000002;
constexpr uint32_t kDay = LocalityTable::kExpiration;

// The references the worker's table holds on d (slot 0: one worker).
int32_t refs(Destination& d) {
  return d.slot[0].refs.load();
}

struct Locality {
  Dests d;
  SchedState st;  // after d: its table gives its references back before d goes
  Locality(SchedKind kind, std::vector<int32_t> w) : d(kind, std::move(w)) {
    sched_reset(d.svc, st);
  }
  char pick(uint32_t daddr, uint32_t now = 0) {
    return d.name(sched_pick(d.svc, st, SchedFlow{0x01020304, 1234, daddr, now}));
  }
};

// ---------------------------------------------------------------------------------------------
// lblc: ip_vs_lblc_schedule

TEST(Lblc, AnAddressStaysWithItsServer) {
  Locality l(SchedKind::Lblc, {1, 1, 1});
  ASSERT_NE(l.st.loc, nullptr);
  // __ip_vs_lblc_schedule: the first of the least loaded, in list order.
  EXPECT_EQ(l.pick(kX), 'A');
  EXPECT_EQ(refs(l.d[0]), 1);
  // A is busier now, but not overloaded in is_overloaded's sense (no more active connections
  // than its weight): X stays with it, while a new address goes to the least loaded.
  l.d.set_conns(0, 1, 50);
  EXPECT_EQ(l.pick(kX), 'A');
  EXPECT_EQ(l.pick(kY), 'B');
  EXPECT_EQ(l.st.loc->size(), 2u);
}

TEST(Lblc, AnOverloadedServerGivesTheAddressUp) {
  Locality l(SchedKind::Lblc, {1, 1, 1});
  EXPECT_EQ(l.pick(kX), 'A');
  // More active connections than its weight, while B has fewer than half its own: X moves to
  // the least loaded (B), and stays there when A calms down.
  l.d.set_conns(0, 2, 0);
  EXPECT_EQ(l.pick(kX), 'B');
  EXPECT_EQ(refs(l.d[0]), 0);
  EXPECT_EQ(refs(l.d[1]), 1);
  l.d.set_conns(0, 0, 0);
  EXPECT_EQ(l.pick(kX), 'B');
}

TEST(Lblc, OverloadedOnlyWhenAnotherHasRoom) {
  Locality l(SchedKind::Lblc, {1, 2});
  EXPECT_EQ(l.pick(kX), 'A');
  // A has 3 active > weight 1, but B has 1 * 2 = 2, not < 2: nobody has room, X stays.
  l.d.set_conns(0, 3, 0);
  l.d.set_conns(1, 1, 0);
  EXPECT_EQ(l.pick(kX), 'A');
  l.d.set_conns(1, 0, 0);
  EXPECT_EQ(l.pick(kX), 'B');
}

TEST(Lblc, RemovedQuiescedOrOverloadFlaggedServersAreLeft) {
  Locality l(SchedKind::Lblc, {1, 1, 1});
  EXPECT_EQ(l.pick(kX), 'A');
  l.d.set_weight(0, 0);  // quiesced
  EXPECT_EQ(l.pick(kX), 'B');
  // B removed (ipvsadm -d: out of the list, unavailable in the trash).
  l.d[1].flags.store(0);
  l.d.remove(1);
  EXPECT_EQ(l.pick(kX), 'C');
  EXPECT_EQ(refs(l.d[1]), 1);  // (l.d[1] is C now: the list without B)
  // The threshold's overload flag: an address already with C stays (the kernel's lookup tests
  // is_overloaded, not IP_VS_DEST_F_OVERLOAD), a new one finds no destination
  // (__ip_vs_lblc_schedule skips it, and A has weight 0).
  l.d.set_overload(1, true);
  EXPECT_EQ(l.pick(kX), 'C');
  EXPECT_EQ(l.pick(kY), '-');
}

TEST(Lblc, WeightedLeastConnectionPicksTheNewServer) {
  // loh * w(dest) > doh * w(least): C, weight 4 with 3 inactive, beats A (weight 1, 1 inactive).
  Locality l(SchedKind::Lblc, {1, 1, 4});
  l.d.set_conns(0, 0, 1);
  l.d.set_conns(1, 0, 2);
  l.d.set_conns(2, 0, 3);
  EXPECT_EQ(l.pick(kX), 'C');
}

TEST(Lblc, EntriesExpireAfterADayUnused) {
  Locality l(SchedKind::Lblc, {1, 1});
  EXPECT_EQ(l.pick(kX, 100), 'A');
  l.d.set_conns(0, 0, 10);  // A busier, not overloaded: X stays while used
  EXPECT_EQ(l.pick(kX, 100 + kDay - 1), 'A');
  // Unused for a day since: gone, and X is scheduled afresh.
  EXPECT_EQ(l.pick(kX, 100 + 2 * kDay - 1), 'B');
  EXPECT_EQ(refs(l.d[0]), 0);
  // The sweep gives an unused entry's references back without a lookup.
  sched_expire(l.st, 0);
  for (int i = 0; i < 64; ++i) sched_expire(l.st, 100 + 3 * kDay);
  EXPECT_EQ(refs(l.d[1]), 0);
  EXPECT_EQ(l.st.loc->size(), 0u);
}

TEST(Lblc, AFullBucketGivesUpItsLeastRecentlyUsedEntry) {
  // Five addresses of one bucket (four ways).
  std::vector<uint32_t> same;
  const uint32_t b = kernel_hash_32(kX, LocalityTable::kBucketBits);
  for (uint32_t a = kX; same.size() < 5; ++a)
    if (kernel_hash_32(a, LocalityTable::kBucketBits) == b) same.push_back(a);
  Locality l(SchedKind::Lblc, {1, 1, 1, 1, 1});
  // Each picks the least loaded; a connection count after each spreads them over A..D.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(l.pick(same[i], 10 + i), 'A' + i);
    l.d.set_conns(i, 0, 1);
  }
  EXPECT_EQ(l.pick(same[0], 20), 'A');  // used again: same[1] is now the least recent
  EXPECT_EQ(l.pick(same[4], 21), 'E');
  EXPECT_EQ(l.st.loc->size(), 4u);
  EXPECT_EQ(refs(l.d[1]), 0);  // same[1]'s entry (B) went
  EXPECT_EQ(l.pick(same[0], 22), 'A');
  l.d.set_conns(1, 0, 0);
  l.d.set_conns(4, 0, 1);
  EXPECT_EQ(l.pick(same[1], 23), 'B');  // scheduled afresh
}

TEST(Lblc, ChangingSchedulerOrLeavingGivesTheReferencesBack) {
  Locality l(SchedKind::Lblc, {1, 1});
  EXPECT_EQ(l.pick(kX), 'A');
  EXPECT_EQ(l.pick(kY), 'A');
  EXPECT_EQ(refs(l.d[0]), 2);
  // lblc -> lblcr: done_service, then init_service: an empty table.
  l.d.svc.kind = SchedKind::Lblcr;
  sched_reset(l.d.svc, l.st);
  ASSERT_NE(l.st.loc, nullptr);
  EXPECT_EQ(l.st.loc->size(), 0u);
  EXPECT_EQ(refs(l.d[0]), 0);
  EXPECT_EQ(l.pick(kX), 'A');
  l.d.svc.kind = SchedKind::Wlc;
  sched_reset(l.d.svc, l.st);
  EXPECT_EQ(l.st.loc, nullptr);
  EXPECT_EQ(refs(l.d[0]), 0);
}

// ---------------------------------------------------------------------------------------------
// lblcr: ip_vs_lblcr_schedule

TEST(Lblcr, AnOverloadedSetGrowsAndTheLeastLoadedOfItServes) {
  Locality l(SchedKind::Lblcr, {1, 1, 1});
  EXPECT_EQ(l.pick(kX), 'A');
  l.d.set_conns(0, 2, 0);  // A overloaded, B has room: B joins X's set
  EXPECT_EQ(l.pick(kX), 'B');
  EXPECT_EQ(refs(l.d[0]), 1);  // A stays in the set
  EXPECT_EQ(refs(l.d[1]), 1);
  // ip_vs_dest_set_min: the least loaded of {B, A}; A again once B is the busier.
  l.d.set_conns(0, 0, 0);
  l.d.set_conns(1, 0, 3);
  EXPECT_EQ(l.pick(kX), 'A');
  // C, the least loaded of the service, is not in the set: not chosen.
  l.d.set_conns(0, 0, 1);
  EXPECT_EQ(l.pick(kX), 'A');
}

TEST(Lblcr, AnUnchangedSetShedsItsMostLoadedAfterTheExpiration) {
  Locality l(SchedKind::Lblcr, {1, 1, 1});
  EXPECT_EQ(l.pick(kX, 0), 'A');
  l.d.set_conns(0, 2, 0);
  EXPECT_EQ(l.pick(kX, 5), 'B');         // set {B, A}, changed at 5
  l.d.set_conns(0, 0, 9);                // A: the most loaded
  EXPECT_EQ(l.pick(kX, kDay / 2), 'B');  // used: the entry itself lives on
  EXPECT_EQ(l.pick(kX, 5 + kDay), 'B');
  EXPECT_EQ(refs(l.d[0]), 1);  // not after the expiration yet (time_after)
  EXPECT_EQ(l.pick(kX, 6 + kDay), 'B');
  EXPECT_EQ(refs(l.d[0]), 0);  // ip_vs_dest_set_max left the set
  EXPECT_EQ(refs(l.d[1]), 1);
}

TEST(Lblcr, RemovedServersInTheSetAreSkipped) {
  Locality l(SchedKind::Lblcr, {1, 1, 1});
  EXPECT_EQ(l.pick(kX), 'A');
  l.d[0].flags.store(0);  // removed: in the trash, still in X's set
  l.d.remove(0);
  EXPECT_EQ(l.pick(kX), 'B');  // set_min finds none; B joins
  EXPECT_EQ(l.pick(kX), 'B');
  EXPECT_EQ(refs(l.d[0]), 1);  // (l.d[0] is B now)
}

TEST(Lblcr, AFullSetGivesUpARemovedServerElseStaysAsItIs) {
  Locality l(SchedKind::Lblcr, {1, 1, 1, 1, 1, 1, 1});
  // Each member in turn overloaded (2 active > weight 1, G has room): the set grows to A..F.
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(l.pick(kX), 'A' + i);
    l.d.set_conns(i, 2, 0);
  }
  // Full: G serves, but the set is left as it is (the kernel's failed allocation).
  EXPECT_EQ(l.pick(kX), 'G');
  EXPECT_EQ(refs(l.d[6]), 0);
  // C removed: a full set gives it up for G.
  l.d[2].flags.store(0);
  EXPECT_EQ(l.pick(kX), 'G');
  EXPECT_EQ(refs(l.d[2]), 0);
  EXPECT_EQ(refs(l.d[6]), 1);
  // The others keep their order (newest first: the order set_min and set_max break ties in).
  const LocalityTable::Entry* en = l.st.loc->get(kX, 0);
  ASSERT_NE(en, nullptr);
  std::string order;
  for (uint32_t i = 0; i < en->n; ++i) order += l.d.name(en->dest[i]);
  EXPECT_EQ(order, "GFEDBA");
}

TEST(Lblcr, NoDestination) {
  Locality l(SchedKind::Lblcr, {0, 0});
  EXPECT_EQ(l.pick(kX), '-');
  EXPECT_EQ(l.st.loc->size(), 0u);
}

}  // namespace
}  // namespace fastvs
