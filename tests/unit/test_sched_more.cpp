// sed, nq, fo and ovf against the kernel's code paths (net/netfilter/ipvs/ip_vs_{sed,nq,fo,
// ovf}.c), with one worker. Destinations are named A, B, C, ... in the kernel's list order
// (sched_fixture.h); picks are strings of those letters, '-' for none.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "dataplane/sched/sched.h"
#include "tests/unit/sched_fixture.h"

namespace fastvs {
namespace {

// Picks n times, each new connection counted active on the destination it went to (what a
// TCP connection reaching ESTABLISHED does), as the kernel would see successive SYNs.
std::string picks_with_active(Dests& d, int n) {
  std::string s;
  SchedState st;
  for (int i = 0; i < n; ++i) {
    Destination* p = sched_pick(d.svc, st, SchedFlow{});
    s += d.name(p);
    if (p) p->slot[0].activeconns.store(p->slot[0].activeconns.load() + 1);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// sed: ip_vs_sed_schedule, overhead = ip_vs_sed_dest_overhead = activeconns + 1

TEST(Sed, ExpectedDelaySequence) {
  // Weights A=1, B=2, C=3 from idle; (active + 1) / weight, ties to the first in list order:
  //   (0,0,0): 1, .5, .33 -> C    (0,0,1): 1, .5, .67 -> B    (0,1,1): 1, 1, .67 -> C
  //   (0,1,2): 1, 1, 1 -> A (tie) (1,1,2): 2, 1, 1 -> B (tie) (1,2,2): 2, 1.5, 1 -> C
  Dests d(SchedKind::Sed, {1, 2, 3});
  EXPECT_EQ(picks_with_active(d, 6), "CBCABC");
}

TEST(Sed, CountsTheNewConnection) {
  // Idle, the heavier destination wins: (0 + 1) / 1 vs (0 + 1) / 4. wlc would keep A (0 * 4 >
  // 0 * 1 is false).
  Dests d(SchedKind::Sed, {1, 4});
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
  // A 1 active (2/1 = 2) vs B 7 active (8/4 = 2): a tie, the first stays.
  d.set_conns(0, 1, 0);
  d.set_conns(1, 7, 0);
  EXPECT_EQ(d.picks(st, 1), "A");
}

TEST(Sed, InactiveConnectionsDoNotCount) {
  // Only activeconns enters the overhead: 1000 inactive connections weigh nothing.
  Dests d(SchedKind::Sed, {1, 1});
  d.set_conns(0, 0, 1000);
  d.set_conns(1, 1, 0);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "A");
}

TEST(Sed, SkipsOverloadedAndWeightZero) {
  // The first candidate needs !OVERLOAD and weight > 0; later ones only !OVERLOAD, and a weight-0
  // one cannot win (loh * 0 > doh * w is false).
  Dests d(SchedKind::Sed, {0, 1, 1, 0});
  d.set_conns(1, 5, 0);
  d.set_conns(2, 0, 0);
  d.set_overload(2, true);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
  d.set_overload(1, true);
  EXPECT_EQ(d.picks(st, 1), "-");
  Dests none(SchedKind::Sed, {});
  EXPECT_EQ(none.picks(st, 1), "-");
}

TEST(Sed, ProductsDoNotOverflow) {
  // The kernel compares (__s64)loh * weight: A 40001 / 1 vs B 100001 / 65535 -> B. In 32 bits
  // 40001 * 65535 would wrap negative and keep A.
  Dests d(SchedKind::Sed, {1, 65535});
  d.set_conns(0, 40000, 0);
  d.set_conns(1, 100000, 0);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
}

// ---------------------------------------------------------------------------------------------
// nq: ip_vs_nq_schedule

TEST(Nq, IdleFirstThenExpectedDelay) {
  // Weights A=1, B=2, C=3 from idle: each idle destination in list order first, whatever its
  // weight; then sed's (active + 1) / weight:
  //   A B C (idle)   (1,1,1): 2, 1, .67 -> C   (1,1,2): 2, 1, 1 -> B (tie)   (1,2,2): 2, 1.5, 1 ->
  //   C
  Dests d(SchedKind::Nq, {1, 2, 3});
  EXPECT_EQ(picks_with_active(d, 6), "ABCCBC");
}

TEST(Nq, FirstIdleInListOrder) {
  // An idle destination is returned at once, however light: B, not the heavier C.
  Dests d(SchedKind::Nq, {5, 1, 9});
  d.set_conns(0, 1, 0);
  d.set_conns(1, 0, 40);  // inactive connections do not make it busy
  d.set_conns(2, 0, 0);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
}

TEST(Nq, SkipsOverloadedAndWeightZero) {
  // An idle weight-0 or overloaded destination is skipped before the idle test.
  Dests d(SchedKind::Nq, {0, 1, 2});
  d.set_overload(1, true);
  d.set_conns(2, 3, 0);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "C");
  d.set_overload(2, true);
  EXPECT_EQ(d.picks(st, 1), "-");
  Dests none(SchedKind::Nq, {});
  EXPECT_EQ(none.picks(st, 1), "-");
}

TEST(Nq, TieGoesToFirstInList) {
  // None idle: A 2/1, B 4/2, C 6/3 all equal 2 -> A.
  Dests d(SchedKind::Nq, {1, 2, 3});
  d.set_conns(0, 1, 0);
  d.set_conns(1, 3, 0);
  d.set_conns(2, 5, 0);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "A");
}

// ---------------------------------------------------------------------------------------------
// fo: ip_vs_fo_schedule

TEST(Fo, HighestWeightFirstInListOnTie) {
  Dests d(SchedKind::Fo, {2, 5, 5, 1});
  d.set_conns(1, 1000, 1000);  // connection counts play no part
  SchedState st;
  EXPECT_EQ(d.picks(st, 3), "BBB");
}

TEST(Fo, FailsOverWhenOverloaded) {
  Dests d(SchedKind::Fo, {2, 5, 5, 1});
  SchedState st;
  d.set_overload(1, true);
  EXPECT_EQ(d.picks(st, 1), "C");
  d.set_overload(2, true);
  EXPECT_EQ(d.picks(st, 1), "A");
  d.set_weight(0, 0);  // quiesced: weight 0 never beats hw = 0
  EXPECT_EQ(d.picks(st, 1), "D");
  d.set_overload(3, true);
  EXPECT_EQ(d.picks(st, 1), "-");
  Dests zero(SchedKind::Fo, {0, 0});
  EXPECT_EQ(zero.picks(st, 1), "-");
}

// ---------------------------------------------------------------------------------------------
// ovf: ip_vs_ovf_schedule

TEST(Ovf, OverflowsWhenActiveExceedsWeight) {
  // A=1, B=2: B (the heavier) until its active connections exceed 2 (it still takes the third
  // at activeconns == weight), then A for two, then none: "BBBAA-".
  Dests d(SchedKind::Ovf, {1, 2});
  EXPECT_EQ(picks_with_active(d, 6), "BBBAA-");
}

TEST(Ovf, TieAndSkips) {
  Dests d(SchedKind::Ovf, {2, 3, 3, 0});
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");  // first of the highest weight
  d.set_conns(1, 4, 0);
  EXPECT_EQ(d.picks(st, 1), "C");
  d.set_overload(2, true);
  EXPECT_EQ(d.picks(st, 1), "A");
  d.set_conns(0, 2, 500);  // at its weight, and inactive connections do not count
  EXPECT_EQ(d.picks(st, 1), "A");
  d.set_conns(0, 3, 0);  // D (weight 0, idle) is never a candidate
  EXPECT_EQ(d.picks(st, 1), "-");
}

// ---------------------------------------------------------------------------------------------
// Dispatch and tables

TEST(SchedName, NewKinds) {
  for (const char* n : {"sed", "nq", "fo", "ovf"}) {
    auto k = sched_from_name(n);
    ASSERT_TRUE(k.has_value()) << n;
    EXPECT_STREQ(sched_name(*k), n);
    EXPECT_EQ(sched_table_size(*k), 0u) << n;
  }
}

TEST(SchedPick, DispatchesTheNewKinds) {
  // One list and one set of counts, four kernel answers.
  Dests d(SchedKind::Sed, {1, 3, 2});
  d.set_conns(0, 0, 9);  // idle (inactive only)
  d.set_conns(1, 4, 0);
  d.set_conns(2, 1, 0);
  SchedState st;
  d.svc.kind = SchedKind::Sed;  // 1/1, 5/3, 2/2 -> A (first of the 1s)
  EXPECT_EQ(d.picks(st, 1), "A");
  d.svc.kind = SchedKind::Nq;  // A idle
  EXPECT_EQ(d.picks(st, 1), "A");
  d.svc.kind = SchedKind::Fo;  // highest weight
  EXPECT_EQ(d.picks(st, 1), "B");
  d.svc.kind = SchedKind::Ovf;  // B 4 active > 3 -> C (2), the next highest
  EXPECT_EQ(d.picks(st, 1), "C");
}

}  // namespace
}  // namespace fastvs
