// IPVS's rate estimator (ip_vs_est.c): 2-second samples, avg += (sample - avg) / 4, read rounded.
#include <gtest/gtest.h>

#include "control/report/estimator.h"

namespace fastvs {
namespace {

IpvsCounters counters(uint64_t conns, uint64_t pkts, uint64_t bytes) {
  IpvsCounters c;
  c.conns = conns;
  c.inpkts = pkts;
  c.outpkts = pkts / 2;
  c.inbytes = bytes;
  c.outbytes = bytes / 2;
  return c;
}

TEST(Estimator, FirstTickIsAQuarterOfTheRate) {
  RateEstimator e;
  e.reset(counters(0, 0, 0));
  // 2 s at 100 conn/s, 1000 pkt/s, 32000 B/s.
  e.tick(counters(200, 2000, 64000));
  IpvsCounters r;
  e.read(r);
  EXPECT_EQ(r.cps, 25u);
  EXPECT_EQ(r.inpps, 250u);
  EXPECT_EQ(r.outpps, 125u);
  EXPECT_EQ(r.inbps, 8000u);
  EXPECT_EQ(r.outbps, 4000u);
}

TEST(Estimator, ConvergesLikeTheKernel) {
  RateEstimator e;
  e.reset(counters(0, 0, 0));
  uint64_t pkts = 0;
  // The kernel's fixed point, step by step: avg_n = avg_{n-1} + ((2000 << 9) - avg_{n-1}) >> 2.
  int64_t avg = 0;
  for (int n = 1; n <= 40; ++n) {
    pkts += 2000;
    e.tick(counters(0, pkts, 0));
    avg += ((int64_t{2000} << 9) - avg) >> 2;
    IpvsCounters r;
    e.read(r);
    ASSERT_EQ(r.inpps, static_cast<uint64_t>((avg + 0x1FF) >> 10)) << "tick " << n;
  }
  IpvsCounters r;
  e.read(r);
  EXPECT_EQ(r.inpps, 1000u);  // steady state: the true rate
  // Traffic stops: the rate decays by 3/4 per tick, to 0.
  for (int n = 0; n < 40; ++n) e.tick(counters(0, pkts, 0));
  e.read(r);
  EXPECT_EQ(r.inpps, 0u);
}

TEST(Estimator, ResetStartsFromZeroAndACounterGoingDownIsNoGrowth) {
  RateEstimator e;
  e.reset(counters(1000, 1000, 1000));
  e.tick(counters(1000, 1000, 1000));
  IpvsCounters r;
  e.read(r);
  EXPECT_EQ(r.cps, 0u);
  e.tick(counters(10, 10, 10));  // a destination left the service's sum
  e.read(r);
  EXPECT_EQ(r.inpps, 0u);
  EXPECT_EQ(r.inbps, 0u);
  e.tick(counters(10, 2010, 10));  // growth is measured from the lower value
  e.read(r);
  EXPECT_EQ(r.inpps, 250u);
}

}  // namespace
}  // namespace fastvs
