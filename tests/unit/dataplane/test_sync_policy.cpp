// When a master syncs a connection (dataplane/sync_policy.h), case by case as
// ip_vs_sync_conn_needed() decides with IPVS's default sysctls and with the others.
#include <gtest/gtest.h>

#include "dataplane/sync_policy.h"

namespace fastvs {
namespace {

constexpr uint8_t kTcp = 6, kUdp = 17;
constexpr uint32_t kTimeout = 900 * 16;  // ESTABLISHED's, in ticks

uint8_t st(TcpState s) {
  return static_cast<uint8_t>(s);
}

TEST(SyncPolicy, TcpWithTheDefaults) {
  const SyncParams p;  // threshold 3, period 50, no refresh
  SyncMark m;
  uint32_t now = 1000;
  auto ask = [&](TcpState s, uint32_t pkts) {
    return sync_needed(p, m, kTcp, st(s), false, false, kTimeout, pkts, now++);
  };
  EXPECT_FALSE(ask(TcpState::SynRecv, 1));      // not a state IPVS syncs
  EXPECT_FALSE(ask(TcpState::Established, 2));  // ESTABLISHED is not forced: waits for the 3rd
  EXPECT_TRUE(ask(TcpState::Established, 3));
  for (uint32_t k = 4; k < 53; ++k) EXPECT_FALSE(ask(TcpState::Established, k)) << k;
  EXPECT_TRUE(ask(TcpState::Established, 53));
  EXPECT_TRUE(ask(TcpState::FinWait, 54));  // a change into FIN_WAIT: at once
  EXPECT_FALSE(ask(TcpState::FinWait, 55));
  EXPECT_TRUE(ask(TcpState::CloseWait, 56));
  EXPECT_TRUE(ask(TcpState::TimeWait, 57));
  EXPECT_FALSE(ask(TcpState::LastAck, 58));  // not synced at all
}

TEST(SyncPolicy, UdpAndTemplates) {
  const SyncParams p;
  SyncMark udp, tmpl;
  std::vector<uint32_t> synced;
  for (uint32_t k = 1; k <= 110; ++k)
    if (sync_needed(p, udp, kUdp, 0, false, false, 300 * 16, k, 1000 + k)) synced.push_back(k);
  EXPECT_EQ(synced, (std::vector<uint32_t>{3, 53, 103}));
  // A template whenever it is asked (each time a connection it controls is synced).
  for (uint32_t k = 1; k <= 5; ++k)
    EXPECT_TRUE(sync_needed(p, tmpl, kTcp, 0, true, false, 360 * 16, k, 1000 + k)) << k;
}

TEST(SyncPolicy, PeriodZeroSyncsOnceAtTheThreshold) {
  SyncParams p;
  p.period = 0;
  SyncMark m;
  std::vector<uint32_t> synced;
  for (uint32_t k = 1; k <= 200; ++k)
    if (sync_needed(p, m, kUdp, 0, false, false, 300 * 16, k, 1000 + k)) synced.push_back(k);
  EXPECT_EQ(synced, (std::vector<uint32_t>{3}));
}

TEST(SyncPolicy, RefreshPeriodSpacesSyncsAndRetries) {
  SyncParams p;
  p.period = 0;
  // 20 s: less than the least the kernel allows between syncs here (half the timeout, 150 s,
  // or 10 s, whichever is more), so 20 s it is.
  p.refresh_ticks = 20 * 16;
  const uint32_t timeout = 300 * 16;
  SyncMark m;
  uint32_t now = 100000;
  EXPECT_TRUE(sync_needed(p, m, kUdp, 0, false, false, timeout, 1, now));
  // Within 20 s of it: not again (no retries).
  EXPECT_FALSE(sync_needed(p, m, kUdp, 0, false, false, timeout, 2, now + 16));
  EXPECT_FALSE(sync_needed(p, m, kUdp, 0, false, false, timeout, 3, now + 20 * 16 - 5));
  // 20 s on (the end it said moved 20 s): synced again.
  const uint32_t last = now + 20 * 16;
  EXPECT_TRUE(sync_needed(p, m, kUdp, 0, false, false, timeout, 4, last));
  // With retries: one more, no sooner than an eighth of the refresh period (2.5 s) after.
  p.retries = 1;
  EXPECT_FALSE(sync_needed(p, m, kUdp, 0, false, false, timeout, 5, last + 16));
  EXPECT_TRUE(sync_needed(p, m, kUdp, 0, false, false, timeout, 6, last + 3 * 16));
  EXPECT_FALSE(sync_needed(p, m, kUdp, 0, false, false, timeout, 7, last + 6 * 16));  // spent
}

TEST(SyncPolicy, PersistModeLeavesConnectionsToTheirTemplates) {
  SyncParams p;
  p.persist_mode = true;
  SyncMark m;
  EXPECT_FALSE(sync_needed(p, m, kUdp, 0, false, true, 300 * 16, 3, 1000));
  EXPECT_TRUE(sync_needed(p, m, kUdp, 0, false, false, 300 * 16, 3, 1000));
}

}  // namespace
}  // namespace fastvs
