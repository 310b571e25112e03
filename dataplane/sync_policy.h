// When a master syncs a connection: IPVS's ip_vs_sync_conn_needed() (net/netfilter/ipvs/
// ip_vs_sync.c), decision for decision, on the worker's clock. ip_vs_in() asks it for every
// packet from the client, with the connection's count of them (in_pkts); a template is asked
// each time a connection it controls is synced, with its own count.
//
// - TCP is synced only in ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT and TIME_WAIT; a change into
//   one of those but ESTABLISHED is synced at once (forced); UDP has one state.
// - sync_period > 0 (default 50): at the packets numbered sync_threshold (3) modulo
//   sync_period: the 3rd, the 53rd, ... (templates whatever their count).
// - sync_period 0 and sync_refresh_period 0: once, at the threshold.
// - sync_refresh_period > 0: no sooner than that (or half the timeout, or 10 s: the least)
//   after the last sync, but for up to sync_retries retries an eighth of it apart.
//
// Pure and inline: the worker calls it per packet when the master daemon runs (and never
// otherwise); tests/unit/dataplane/test_sync_policy.cpp checks it against the kernel's cases.
#pragma once

#include <cstdint>

#include "dataplane/tcp_state.h"

namespace fastvs {

// The sysctls (Documentation/networking/ipvs-sysctl.rst), in ticks where they are times.
struct SyncParams {
  uint32_t threshold = 3;       // sync_threshold, first value
  uint32_t period = 50;         // sync_threshold, second value (0: only the threshold's packet)
  uint32_t refresh_ticks = 0;   // sync_refresh_period (0: off)
  uint32_t retries = 0;         // sync_retries (0-3)
  bool persist_mode = false;    // sync_persist_mode: connections under persistence not synced
  uint32_t ticks_per_second = 16;
};

// What a connection keeps for it (the kernel's cp->old_state and cp->sync_endtime).
struct SyncMark {
  uint8_t old_state = 0;
  uint32_t endtime = 0;  // when the last synced time ends, low 2 bits the retries
};

// proto: 6 TCP, 17 UDP. state: the connection's (TcpState for TCP). timeout_ticks: its timeout.
// pkts: its packets from the client so far, this one included (a template: its sync count).
inline bool sync_needed(const SyncParams& p, SyncMark& m, uint8_t proto, uint8_t state,
                        bool is_template, bool in_persistence, uint32_t timeout_ticks,
                        uint32_t pkts, uint32_t now) {
  const uint32_t orig = m.endtime;
  uint32_t n = (now + timeout_ticks) & ~3u;
  bool force = false;
  if (is_template) {
    force = false;
  } else if (p.persist_mode && in_persistence) {
    return false;
  } else if (proto == 6) {
    const auto s = static_cast<TcpState>(state);
    if (s != TcpState::Established && s != TcpState::FinWait && s != TcpState::Close &&
        s != TcpState::CloseWait && s != TcpState::TimeWait)
      return false;
    force = state != m.old_state;
    if (force && s != TcpState::Established) {
      m.old_state = state;
      m.endtime = n;
      return true;
    }
  }
  if (p.refresh_ticks > 0) {
    const int32_t diff = static_cast<int32_t>(n - orig);
    const uint32_t half = timeout_ticks >> 1, ten_s = 10 * p.ticks_per_second;
    const uint32_t min_diff = half > ten_s ? half : ten_s;
    const uint32_t limit = p.refresh_ticks < min_diff ? p.refresh_ticks : min_diff;
    const uint32_t adiff = static_cast<uint32_t>(diff < 0 ? -diff : diff);
    if (adiff < limit) {
      const uint32_t retries = orig & 3;
      if (retries >= p.retries) return false;
      // time_before(now, orig - timeout + refresh/8): too soon for a retry.
      if (static_cast<int32_t>(now - (orig - timeout_ticks + (p.refresh_ticks >> 3))) < 0)
        return false;
      n |= retries + 1;
    }
  }
  if (p.period > 0) {
    // pkts % period without a division when the caller counts modulo the period (sync.cpp).
    const uint32_t phase = pkts < p.period ? pkts : pkts % p.period;
    if (!is_template && phase != p.threshold) return false;
  } else if (p.refresh_ticks == 0 && pkts != p.threshold) {
    return false;
  }
  m.old_state = state;
  m.endtime = n;
  // The kernel's cmpxchg loses to a concurrent sync of the same connection; a worker owns its
  // connections, so it always wins here.
  return true;
}

}  // namespace fastvs
