// The schedulers against the kernel's sequences (net/netfilter/ipvs/ip_vs_{rr,wrr,lc,wlc,sh}.c),
// with one worker; test_sched_more.cpp has sed, nq, fo, ovf, dh and mh. Destinations are named
// A, B, C, ... in the kernel's list order (sched_fixture.h). Picks are written as strings of
// those letters, '-' for none.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/model.h"
#include "dataplane/sched/sched.h"
#include "tests/unit/dataplane/sched_fixture.h"

namespace fastvs {
namespace {

// ---------------------------------------------------------------------------------------------
// Names

TEST(SchedName, RoundTrip) {
  for (SchedKind k : {SchedKind::Rr, SchedKind::Wrr, SchedKind::Lc, SchedKind::Wlc, SchedKind::Sh,
                      SchedKind::Sed, SchedKind::Nq, SchedKind::Fo, SchedKind::Ovf, SchedKind::Dh,
                      SchedKind::Mh, SchedKind::Twos, SchedKind::Lblc, SchedKind::Lblcr}) {
    auto back = sched_from_name(sched_name(k));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, k);
  }
  EXPECT_STREQ(sched_name(SchedKind::Wlc), "wlc");
}

TEST(SchedName, UnknownAndCaseSensitive) {
  // ip_vs_scheduler_get() matches names with strcmp: exact and case-sensitive.
  EXPECT_FALSE(sched_from_name("").has_value());
  EXPECT_FALSE(sched_from_name("WLC").has_value());
  EXPECT_FALSE(sched_from_name("rr ").has_value());
  EXPECT_FALSE(sched_from_name("LBLC").has_value());
  EXPECT_FALSE(sched_from_name("lblcrr").has_value());
}

// ---------------------------------------------------------------------------------------------
// rr: ip_vs_rr_schedule

TEST(Rr, CyclesInListOrder) {
  // Added RS1, RS2, RS3 -> list RS3, RS2, RS1 = A, B, C. ip_vs_rr_init_svc puts the cursor at
  // the head, so the first pick is the head's next entry: the destination added last.
  Dests d(SchedKind::Rr, {1, 1, 1});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 7), "ABCABCA");
}

TEST(Rr, IgnoresWeightMagnitude) {
  // rr only asks weight > 0.
  Dests d(SchedKind::Rr, {5, 1, 100});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 6), "ABCABC");
}

TEST(Rr, SkipsWeightZeroAndOverloaded) {
  // ip_vs_rr_schedule: a hit needs !IP_VS_DEST_F_OVERLOAD and weight > 0.
  Dests d(SchedKind::Rr, {1, 0, 1, 1});
  d.set_overload(2, true);
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 5), "ADADA");
}

TEST(Rr, NoneAvailableKeepsCursor) {
  // On a miss the kernel goes to 'stop' without touching svc->sched_data, so the walk resumes
  // after the last destination picked.
  Dests d(SchedKind::Rr, {1, 1, 1});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 1), "A");
  for (size_t i = 0; i < 3; ++i) d.set_overload(i, true);
  EXPECT_EQ(d.picks(st, 2), "--");
  EXPECT_EQ(st.cl, 0);
  for (size_t i = 0; i < 3; ++i) d.set_overload(i, false);
  EXPECT_EQ(d.picks(st, 3), "BCA");
}

TEST(Rr, WrapsToTheCursorItself) {
  // From entry c the kernel checks c+1..end, then head..c: c itself is the last candidate.
  Dests d(SchedKind::Rr, {1, 1, 1});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 2), "AB");
  d.set_weight(0, 0);
  d.set_weight(2, 0);
  EXPECT_EQ(d.picks(st, 2), "BB");
}

TEST(Rr, AllWeightZeroAndEmpty) {
  Dests d(SchedKind::Rr, {0, 0});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 2), "--");
  Dests none(SchedKind::Rr, {});
  sched_reset(none.svc, st);
  EXPECT_EQ(none.picks(st, 1), "-");
}

// ---------------------------------------------------------------------------------------------
// wrr: ip_vs_wrr_schedule, ip_vs_wrr_dest_changed, ip_vs_wrr_gcd_weight, ip_vs_wrr_max_weight

TEST(Wrr, Weights432FullCycle) {
  // Weights A=4, B=3, C=2: di = gcd = 1, mw = max - (di - 1) = 4, cw starts at mw, cursor at the
  // head. Each pass picks, in list order, every destination with weight >= cw; at the end of
  // the list cw -= di and the walk restarts from the head; cw <= 0 wraps to mw.
  //   cw=4: A          (B 3 < 4, C 2 < 4)
  //   cw=3: A B        (C 2 < 3)
  //   cw=2: A B C
  //   cw=1: A B C      (last pass: cw <= di)
  // -> A | A B | A B C | ... The kernel's 9-pick cycle is "AABABCABC" (A 4, B 3, C 2), then it
  // repeats from cw = mw.
  Dests d(SchedKind::Wrr, {4, 3, 2});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(st.di, 1);
  EXPECT_EQ(st.mw, 4);
  EXPECT_EQ(st.cw, 4);
  EXPECT_EQ(st.cl, -1);
  EXPECT_EQ(d.picks(st, 9), "AABABCABC");
  EXPECT_EQ(d.picks(st, 9), "AABABCABC");
}

TEST(Wrr, GcdAbove1) {
  // Weights A=4, B=2: di = 2, mw = 4 - (2 - 1) = 3, so the passes run with cw = 3 then cw = 1
  // (the kernel lowers mw by di - 1 so the last pass is always cw = 1):
  //   cw=3: A; cw=1: A B -> "AAB", repeated.
  Dests d(SchedKind::Wrr, {4, 2});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(st.di, 2);
  EXPECT_EQ(st.mw, 3);
  EXPECT_EQ(d.picks(st, 9), "AABAABAAB");
}

TEST(Wrr, EqualWeightsWithGcd) {
  // 2, 2, 2: di = 2, mw = 1: every pass has cw = 1, plain round robin.
  Dests d(SchedKind::Wrr, {2, 2, 2});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(st.mw, 1);
  EXPECT_EQ(d.picks(st, 6), "ABCABC");
}

TEST(Wrr, AllWeightsZero) {
  // ip_vs_wrr_max_weight = 0 -> mw = 0 -> "no destination available" before any walk.
  Dests d(SchedKind::Wrr, {0, 0, 0});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(st.mw, 0);
  EXPECT_EQ(st.di, 1);  // ip_vs_wrr_gcd_weight: no positive weight -> 1
  EXPECT_EQ(d.picks(st, 3), "---");
  Dests none(SchedKind::Wrr, {});
  sched_reset(none.svc, st);
  EXPECT_EQ(none.picks(st, 1), "-");
}

TEST(Wrr, WeightZeroIsNeverPicked) {
  // A=2, B=0, C=1: di = 1 (the gcd ignores weight 0), mw = 2.
  //   cw=2: A; cw=1: A C (B 0 < 1) -> "AAC", repeated.
  Dests d(SchedKind::Wrr, {2, 0, 1});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 9), "AACAACAAC");
}

TEST(Wrr, SkipsOverloaded) {
  // 4, 3, 2 with A overloaded: mw stays 4 (weights, not flags, set it), the cw=4 pass finds
  // nobody and falls through to cw=3:
  //   cw=4: -; cw=3: B; cw=2: B C; cw=1: B C -> "BBCBC", repeated.
  Dests d(SchedKind::Wrr, {4, 3, 2});
  d.set_overload(0, true);
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 10), "BBCBCBBCBC");
}

TEST(Wrr, AllOverloadedStopsWhereTheKernelStops) {
  // A=1, B=1 after picking A (cl = A, cw = 1), both overloaded: the walk from A finds nothing,
  // cw wraps (restarted), the next pass is the last (cw <= di) and stops at 'last' = A, where
  // err_over leaves the cursor (mark->cl = dest). Clearing B's overload then gives B.
  Dests d(SchedKind::Wrr, {1, 1});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 1), "A");
  d.set_overload(0, true);
  d.set_overload(1, true);
  EXPECT_EQ(d.picks(st, 1), "-");
  EXPECT_EQ(st.cl, 0);
  EXPECT_EQ(st.cw, 1);
  d.set_overload(1, false);
  EXPECT_EQ(d.picks(st, 2), "BB");
}

TEST(Wrr, AllOverloadedFromTheHead) {
  // From the head the first traversal that wraps cw is already complete: err_over with the
  // cursor back at the head and cw = mw.
  Dests d(SchedKind::Wrr, {3, 1});
  d.set_overload(0, true);
  d.set_overload(1, true);
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 1), "-");
  EXPECT_EQ(st.cl, -1);
  EXPECT_EQ(st.cw, st.mw);
}

TEST(Wrr, DestChangedKeepsCwInItsStep) {
  // ip_vs_wrr_dest_changed: the cursor goes back to the head; cw is kept unless it is above the
  // new mw (or 0), and with di > 1 it is rounded to (cw / di) * di + 1.
  // 4,3,2 after "AABA": cw = 2. Weights become 6,4,2: di = 2, mw = 5, cw = (2/2)*2 + 1 = 3.
  //   cw=3: A B; cw=1: A B C; then wrap to cw=5: A; cw=3: A B; ...
  Dests d(SchedKind::Wrr, {4, 3, 2});
  SchedState st;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 4), "AABA");
  EXPECT_EQ(st.cw, 2);
  d.set_weight(0, 6);
  d.set_weight(1, 4);
  d.set_weight(2, 2);
  sched_reset(d.svc, st);
  EXPECT_EQ(st.cl, -1);
  EXPECT_EQ(st.di, 2);
  EXPECT_EQ(st.mw, 5);
  EXPECT_EQ(st.cw, 3);
  EXPECT_EQ(d.picks(st, 14), "ABABCAABABCAAB");
}

TEST(Wrr, DestChangedLowersCwAboveMw) {
  // cw > new mw -> cw = mw. 4,3,2 fresh (cw = 4); weights become 2,1,1 -> mw = 2, cw = 2.
  Dests d(SchedKind::Wrr, {4, 3, 2});
  SchedState st;
  sched_reset(d.svc, st);
  d.set_weight(0, 2);
  d.set_weight(1, 1);
  d.set_weight(2, 1);
  sched_reset(d.svc, st);
  EXPECT_EQ(st.cw, 2);
  EXPECT_EQ(d.picks(st, 8), "AABCAABC");
}

// ---------------------------------------------------------------------------------------------
// lc: ip_vs_lc_schedule, overhead = ip_vs_dest_conn_overhead = activeconns * 256 + inactconns

TEST(Lc, LeastOverhead) {
  Dests d(SchedKind::Lc, {1, 1, 1});
  d.set_conns(0, 1, 0);   // 256
  d.set_conns(1, 0, 10);  // 10
  d.set_conns(2, 0, 5);   // 5
  EXPECT_EQ(dest_conn_overhead(d[0]), 256);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "C");
}

TEST(Lc, ActiveWeighs256Inactive) {
  Dests d(SchedKind::Lc, {1, 1});
  d.set_conns(0, 1, 0);    // 256
  d.set_conns(1, 0, 255);  // 255
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
  d.set_conns(1, 0, 256);  // tie
  EXPECT_EQ(d.picks(st, 1), "A");
}

TEST(Lc, TieGoesToFirstInList) {
  // doh < loh is strict: the first of equal overheads stays.
  Dests d(SchedKind::Lc, {1, 1, 1});
  d.set_conns(0, 0, 9);
  d.set_conns(1, 0, 7);
  d.set_conns(2, 0, 7);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
  Dests idle(SchedKind::Lc, {1, 1, 1});
  EXPECT_EQ(idle.picks(st, 3), "AAA");  // all zero: always the head's next
}

TEST(Lc, IgnoresWeightMagnitude) {
  Dests d(SchedKind::Lc, {1, 100});
  d.set_conns(0, 0, 5);
  d.set_conns(1, 0, 6);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "A");
}

TEST(Lc, SkipsWeightZeroAndOverloaded) {
  // ip_vs_lc_schedule skips IP_VS_DEST_F_OVERLOAD and weight == 0 (quiesced).
  Dests d(SchedKind::Lc, {0, 1, 1, 1});
  d.set_conns(0, 0, 0);
  d.set_conns(1, 0, 1);
  d.set_conns(2, 0, 9);
  d.set_conns(3, 0, 5);
  d.set_overload(1, true);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "D");
}

TEST(Lc, NoneAvailable) {
  Dests d(SchedKind::Lc, {0, 1});
  d.set_overload(1, true);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "-");
  Dests none(SchedKind::Lc, {});
  EXPECT_EQ(none.picks(st, 1), "-");
}

TEST(Lc, SumsWorkerSlots) {
  // Two workers: the counts are the sum of the slots, as the kernel's single counter would be.
  Dests d(SchedKind::Lc, {1, 1});
  d[0].nslots = 2;
  d[1].nslots = 2;
  d[0].slot[0].inactconns.store(3);
  d[0].slot[1].inactconns.store(3);  // 6
  d[1].slot[1].inactconns.store(5);  // 5
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
}

// ---------------------------------------------------------------------------------------------
// wlc: ip_vs_wlc_schedule, least overhead / weight via loh * w(dest) > doh * w(least)

TEST(Wlc, LeastOverheadPerWeight) {
  // A: 256/1 = 256, B: 512/3 ~ 171 -> B (256 * 3 = 768 > 512 * 1 = 512).
  Dests d(SchedKind::Wlc, {1, 3});
  d.set_conns(0, 1, 0);
  d.set_conns(1, 2, 0);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
}

TEST(Wlc, TieGoesToFirstInList) {
  // Equal ratios: the comparison is strict (>), so the earlier destination stays.
  // A 300/2, B 100/1, C 200/2: A -> B (300*1 > 100*2), C ties B (100*2 == 200*1) -> B.
  Dests d(SchedKind::Wlc, {2, 1, 2});
  d.set_conns(0, 0, 300);
  d.set_conns(1, 0, 100);
  d.set_conns(2, 0, 200);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
  Dests idle(SchedKind::Wlc, {1, 5, 3});
  EXPECT_EQ(idle.picks(st, 2), "AA");  // all zero overhead: the first stays
}

TEST(Wlc, InactiveConnectionsCount) {
  // 300 inactive (300) vs 1 active (256) with equal weights -> the one with the active conn.
  Dests d(SchedKind::Wlc, {1, 1});
  d.set_conns(0, 0, 300);
  d.set_conns(1, 1, 0);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
}

TEST(Wlc, WeightZeroIsNeverPicked) {
  // The first candidate needs weight > 0; a later weight-0 destination cannot win because
  // loh * 0 > doh * w is false, even with no connections at all.
  Dests d(SchedKind::Wlc, {0, 1, 0});
  d.set_conns(1, 4, 0);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "B");
}

TEST(Wlc, SkipsOverloaded) {
  Dests d(SchedKind::Wlc, {1, 1, 1});
  d.set_conns(0, 9, 0);
  d.set_conns(1, 0, 0);
  d.set_conns(2, 1, 0);
  d.set_overload(1, true);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "C");
  d.set_overload(0, true);
  d.set_overload(2, true);
  EXPECT_EQ(d.picks(st, 1), "-");
}

TEST(Wlc, AllWeightZero) {
  Dests d(SchedKind::Wlc, {0, 0});
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "-");
}

TEST(Wlc, ProductsDoNotOverflow) {
  // The kernel widens to __s64 before multiplying: 1M active conns (overhead 256M) times a
  // weight of 100 overflows 32 bits. A 256M/100 = 2.56M vs B 255M/10 = 25.5M -> A.
  Dests d(SchedKind::Wlc, {100, 10});
  d.set_conns(0, 1000000, 0);
  d.set_conns(1, 0, 255000000);
  SchedState st;
  EXPECT_EQ(d.picks(st, 1), "A");
}

// ---------------------------------------------------------------------------------------------
// sh: ip_vs_sh_reassign, ip_vs_sh_hashkey, ip_vs_sh_get, ip_vs_sh_get_fallback, is_unavailable
//
// The hash (current kernels): (offset + hash_32(port + addr, 8)) & 255, addr and port in host
// order, port = 0 without sh-port, hash_32(v, 8) = (uint32_t)(v * 0x61C88647) >> 24. Buckets
// worked out by hand, for example 10.0.0.1 = 0x0A000001:
//   0x0A000001 * 0x61C88647 mod 2^32 = 0x27C88647 -> top byte 0x27 = 39.
// Others: 10.0.0.2 -> 137, 192.168.1.100 -> 89, 172.16.5.9 -> 115, 1.2.3.4 -> 52;
// 10.0.0.1 with sh-port: port 1024 -> 73, 40000 -> 203, 65535 -> 76.

struct ShService {
  explicit ShService(std::vector<int32_t> weights, uint32_t flags = 0)
      : d(SchedKind::Sh, std::move(weights)) {
    d.svc.flags = flags;
    rebuild();
  }
  // ip_vs_sh_dest_changed: every add/del/update reassigns the whole table.
  void rebuild() {
    sh_build(d.svc.dests, d.svc.ndests, table.data());
    d.svc.table = table.data();
  }
  char pick(uint32_t cip, uint16_t cport = 0) {
    SchedState st;
    return d.name(sched_pick(d.svc, st, SchedFlow{cip, cport}));
  }
  Dests d;
  std::array<Destination*, kShTabSize> table{};
};

TEST(Sh, BuildRepeatsEachDestWeightTimes) {
  // ip_vs_sh_reassign: A=2, B=1, C=3 -> A A B C C C, cycling over the 256 buckets.
  ShService s({2, 1, 3});
  const std::string pattern = "AABCCC";
  for (unsigned b = 0; b < kShTabSize; ++b)
    ASSERT_EQ(s.d.name(s.table[b]), pattern[b % 6]) << "bucket " << b;
  EXPECT_EQ(s.d.name(s.table[255]), 'C');  // 255 % 6 = 3
}

TEST(Sh, BuildGivesWeightZeroOneBucket) {
  // ++d_count >= weight is already true for weight 0: the destination still takes one bucket
  // (is_unavailable keeps it from being picked).
  ShService s({0, 2});
  const std::string pattern = "ABB";
  for (unsigned b = 0; b < kShTabSize; ++b)
    ASSERT_EQ(s.d.name(s.table[b]), pattern[b % 3]) << "bucket " << b;
}

TEST(Sh, BuildEmptyList) {
  ShService s({});
  for (unsigned b = 0; b < kShTabSize; ++b) ASSERT_EQ(s.table[b], nullptr);
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1)), '-');
  ShService fb({}, kSchedShFallback);
  EXPECT_EQ(fb.pick(ip4(10, 0, 0, 1)), '-');
}

TEST(Sh, HashesTheClientAddress) {
  // Four weight-1 destinations: bucket b holds "ABCD"[b % 4].
  ShService s({1, 1, 1, 1});
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1)), 'D');       // 39 % 4 = 3
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 2)), 'B');       // 137 % 4 = 1
  EXPECT_EQ(s.pick(ip4(192, 168, 1, 100)), 'B');  // 89 % 4 = 1
  EXPECT_EQ(s.pick(ip4(172, 16, 5, 9)), 'D');     // 115 % 4 = 3
  EXPECT_EQ(s.pick(ip4(1, 2, 3, 4)), 'A');        // 52 % 4 = 0
  // Without sh-port the source port plays no part.
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1), 1024), 'D');
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1), 40000), 'D');
}

TEST(Sh, WeightedTable) {
  // A=2, B=1, C=3: "AABCCC"[bucket % 6].
  ShService s({2, 1, 3});
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1)), 'C');    // 39 % 6 = 3
  EXPECT_EQ(s.pick(ip4(172, 16, 5, 9)), 'A');  // 115 % 6 = 1
  EXPECT_EQ(s.pick(ip4(1, 2, 3, 4)), 'C');     // 52 % 6 = 4
}

TEST(Sh, PortFlagAddsTheSourcePort) {
  // IP_VS_SVC_F_SCHED_SH_PORT: hash_32(port + addr): 10.0.0.1:1024 -> 73, :40000 -> 203,
  // :65535 -> 76.
  ShService s({1, 1, 1, 1}, kSchedShPort);
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1), 1024), 'B');   // 73 % 4 = 1
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1), 40000), 'D');  // 203 % 4 = 3
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1), 65535), 'A');  // 76 % 4 = 0
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1), 0), 'D');      // port 0 = the address alone
}

TEST(Sh, UnavailableWithoutFallbackIsNone) {
  // ip_vs_sh_get: the hashed destination or nothing. is_unavailable = weight <= 0 or overloaded.
  ShService s({1, 1, 1, 1});
  s.d.set_weight(3, 0);  // quiesce D: the table is rebuilt, D keeps one bucket in every 4
  s.rebuild();
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1)), '-');  // bucket 39 = D
  EXPECT_EQ(s.pick(ip4(1, 2, 3, 4)), 'A');   // bucket 52 = A, unaffected
  s.d.set_weight(3, 1);
  s.rebuild();
  s.d.set_overload(1, true);
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 2)), '-');  // bucket 137 = B, overloaded
}

TEST(Sh, FallbackWalksFromTwiceTheHash) {
  // ip_vs_sh_get_fallback: when the hashed destination is unavailable it tries buckets
  // hashkey(addr, port, roffset) with roffset = (offset + ihash) % 256 for offset = 0, 1, ...
  // Since hashkey adds ihash once more, the walk starts at (2 * ihash) & 255, not ihash + 1.
  // 10.0.0.1: ihash = 39 (D). D quiesced -> bucket 78 = C (bucket 40, the naive next, is A).
  ShService s({1, 1, 1, 1}, kSchedShFallback);
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1)), 'D');  // available: no fallback
  s.d.set_weight(3, 0);
  s.rebuild();
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1)), 'C');
  // C overloaded too: 78 = C, 79 = D, 80 = A.
  s.d.set_overload(2, true);
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1)), 'A');
  // 10.0.0.2: ihash = 137 (B); B overloaded -> starts at 274 & 255 = 18 = C (overloaded),
  // 19 = D (weight 0), 20 = A.
  s.d.set_overload(1, true);
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 2)), 'A');
}

TEST(Sh, FallbackWithPort) {
  // Both flags: 10.0.0.1:40000 -> ihash = 203 (D); D overloaded -> 406 & 255 = 150 = C.
  ShService s({1, 1, 1, 1}, kSchedShFallback | kSchedShPort);
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1), 40000), 'D');
  s.d.set_overload(3, true);
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1), 40000), 'C');
}

TEST(Sh, FallbackAllUnavailable) {
  // All 256 offsets tried, nothing available -> none.
  ShService s({1, 1}, kSchedShFallback);
  s.d.set_overload(0, true);
  s.d.set_weight(1, 0);
  s.rebuild();
  EXPECT_EQ(s.pick(ip4(10, 0, 0, 1)), '-');
  EXPECT_EQ(s.pick(ip4(1, 2, 3, 4)), '-');
}

TEST(Sh, NoTableIsNone) {
  Dests d(SchedKind::Sh, {1});
  SchedState st;
  EXPECT_EQ(d.picks(st, 1, SchedFlow{ip4(10, 0, 0, 1), 0}), "-");
}

// ---------------------------------------------------------------------------------------------
// Dispatch

TEST(SchedPick, DispatchesOnKind) {
  // The same list and counts, five schedulers, five kernel answers.
  Dests d(SchedKind::Rr, {1, 3, 1});
  d.set_conns(0, 0, 0);
  d.set_conns(1, 1, 0);
  d.set_conns(2, 0, 1);
  SchedState st;

  d.svc.kind = SchedKind::Rr;
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 3), "ABC");

  d.svc.kind = SchedKind::Wrr;
  st = SchedState{};
  sched_reset(d.svc, st);
  EXPECT_EQ(d.picks(st, 5), "BBABC");  // cw=3: B; cw=2: B; cw=1: A B C

  d.svc.kind = SchedKind::Lc;
  EXPECT_EQ(d.picks(st, 1), "A");  // overheads 0, 256, 1

  d.set_conns(0, 2, 0);  // overheads 512/1, 256/3, 1/1
  d.svc.kind = SchedKind::Wlc;
  EXPECT_EQ(d.picks(st, 1), "C");  // 1 * 3 < 256 * 1 -> C

  std::array<Destination*, kShTabSize> table{};
  sh_build(d.svc.dests, d.svc.ndests, table.data());  // "ABBBC" repeating
  d.svc.kind = SchedKind::Sh;
  d.svc.table = table.data();
  EXPECT_EQ(d.picks(st, 1, SchedFlow{ip4(10, 0, 0, 1), 0}), "C");  // bucket 39: 39 % 5 = 4
  EXPECT_EQ(d.picks(st, 1, SchedFlow{ip4(1, 2, 3, 4), 0}), "B");   // bucket 52: 52 % 5 = 2
}

}  // namespace
}  // namespace fastvs
