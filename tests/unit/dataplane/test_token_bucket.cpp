// The workers' token bucket (dataplane/token_bucket.h): depth, refill, slow rates, rate 0, and
// clocks far apart.
#include <gtest/gtest.h>

#include "dataplane/token_bucket.h"

namespace fastvs {
namespace {

unsigned drain(TokenBucket& b, uint32_t now, unsigned tries = 1u << 20) {
  unsigned n = 0;
  while (n < tries && b.take(now)) ++n;
  return n;
}

TEST(TokenBucket, StartsFullPassesItsDepthThenRefillsAtItsRate) {
  auto b = TokenBucket::tenth_deep(1000);
  EXPECT_EQ(b.depth(), 100u);
  EXPECT_EQ(drain(b, 1000), 100u);
  EXPECT_FALSE(b.take(1000));
  // One tick: 1000/16 = 62.5 tokens; the half is kept for the next tick.
  EXPECT_EQ(drain(b, 1001), 62u);
  EXPECT_EQ(drain(b, 1002), 63u);
  // A second idle refills to the depth, not beyond.
  EXPECT_EQ(drain(b, 1002 + kTicksPerSecond), 100u);
  EXPECT_EQ(drain(b, 1002 + 100 * kTicksPerSecond), 100u);
}

TEST(TokenBucket, RatesBelowOneATickAddUp) {
  TokenBucket b(4, 1);  // a token every 4 ticks
  EXPECT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(0));
  unsigned passed = 0;
  for (uint32_t t = 1; t <= 16 * 10; ++t) passed += b.take(t);
  EXPECT_EQ(passed, 40u);  // 4 a second for 10 s
}

TEST(TokenBucket, RateZeroPassesNothing) {
  TokenBucket b(0, 50);
  EXPECT_EQ(b.depth(), 0u);
  EXPECT_FALSE(b.take(0));
  EXPECT_FALSE(b.take(1u << 30));
  auto t = TokenBucket::tenth_deep(0);
  EXPECT_FALSE(t.take(7));
}

TEST(TokenBucket, SmallRatesAreOneDeep) {
  auto b = TokenBucket::tenth_deep(5);
  EXPECT_EQ(b.depth(), 1u);
  EXPECT_EQ(drain(b, 100), 1u);
  EXPECT_EQ(drain(b, 100 + kTicksPerSecond), 1u);
}

TEST(TokenBucket, HugeRateAndGapDoNotOverflow) {
  TokenBucket b(0xffffffffu, 0xffffffffu);
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0xffffffffu));  // the clock at its far end: the sum is capped
  EXPECT_EQ(b.tokens(), 0xffffffffu - 1);
}

TEST(TokenBucket, ClockWrapsAround) {
  auto b = TokenBucket::tenth_deep(160);  // 10 a tick, 16 deep
  EXPECT_EQ(drain(b, 0xfffffff0u), 16u);
  EXPECT_EQ(drain(b, 0xfffffff1u), 10u);
  EXPECT_EQ(drain(b, 0x00000001u), 16u);  // 16 ticks later, across zero
}

}  // namespace
}  // namespace fastvs
