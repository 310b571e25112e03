// A destination (real server of one service) as the data plane sees it. The object is stable:
// control allocates it once and snapshots point to it, so connection counts and counters survive
// configuration changes. Every worker writes only its own slot of the per-worker arrays (single
// writer, relaxed stores: no locked instructions on the hot path); readers sum the slots.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/net.h"

namespace fastvs {

// Destination slots: one per worker, and the last in use (index nworkers) is control's, which
// gives back what expired persistence templates held.
constexpr unsigned kMaxWorkers = 31;
constexpr unsigned kMaxSlots = kMaxWorkers + 1;

// IP_VS_DEST_F_* as the schedulers test them.
enum DestFlags : uint32_t {
  kDestAvailable = 1u << 0,
  kDestOverload = 1u << 1,
};

struct alignas(64) DestWorkerSlot {
  // Connections (and later templates) that point to the destination: changes only when one is
  // created or freed, never on a state change, so a sum of 0 means none (reclaim reads it).
  std::atomic<int32_t> refs{0};
  std::atomic<int32_t> activeconns{0};
  std::atomic<int32_t> inactconns{0};
  std::atomic<int32_t> persistconns{0};
  std::atomic<uint64_t> conns{0};
  std::atomic<uint64_t> inpkts{0};
  std::atomic<uint64_t> outpkts{0};
  std::atomic<uint64_t> inbytes{0};
  std::atomic<uint64_t> outbytes{0};
};

// Adds to a counter this worker alone writes: a plain load and store, no lock prefix.
template <typename T, typename U>
inline void slot_add(std::atomic<T>& c, U v) {
  c.store(c.load(std::memory_order_relaxed) + static_cast<T>(v), std::memory_order_relaxed);
}

struct Destination {
  uint32_t rip = 0;    // host order
  uint16_t rport = 0;  // host order
  uint32_t rip_be = 0;
  uint16_t rport_be = 0;
  bool v6 = false;  // rip6 is its address; rip and rip_be hold the address's fold
  // An IPv6 destination's address (network order); its IPv6 connections' out keys name it.
  alignas(8) uint8_t rip6[16]{};
  // Control changes these while workers read them (-e): each is one atomic word.
  std::atomic<ForwardMethod> method{ForwardMethod::Masq};
  std::atomic<int32_t> weight{1};
  std::atomic<uint32_t> flags{kDestAvailable};
  std::atomic<uint32_t> u_threshold{0};
  std::atomic<uint32_t> l_threshold{0};
  // The kernel's dest->last_weight: the weight given when the destination was added, then the
  // last non-zero weight it was given (__ip_vs_update_dest), so quiescing it (-w 0) leaves its
  // share of the mh table in place. Control alone reads and writes it (mh_build).
  int32_t last_weight = 1;
  uint32_t nslots = 1;  // workers + 1 (control): sums read only the slots in use
  DestWorkerSlot slot[kMaxSlots];
  // -Z: the counters' sums when they were last zeroed. Control alone reads and writes these
  // (workers never write across their own slot).
  uint64_t zero_conns = 0, zero_inpkts = 0, zero_outpkts = 0, zero_inbytes = 0, zero_outbytes = 0;

  uint64_t sum(std::atomic<uint64_t> DestWorkerSlot::*field) const {
    uint64_t s = 0;
    for (uint32_t i = 0; i < nslots; ++i) s += (slot[i].*field).load(std::memory_order_relaxed);
    return s;
  }

  int32_t get_weight() const { return weight.load(std::memory_order_relaxed); }
  bool overloaded() const { return flags.load(std::memory_order_relaxed) & kDestOverload; }
  bool available() const { return flags.load(std::memory_order_relaxed) & kDestAvailable; }

  int32_t activeconns() const {
    int32_t s = 0;
    for (uint32_t i = 0; i < nslots; ++i) s += slot[i].activeconns.load(std::memory_order_relaxed);
    return s;
  }
  int32_t inactconns() const {
    int32_t s = 0;
    for (uint32_t i = 0; i < nslots; ++i) s += slot[i].inactconns.load(std::memory_order_relaxed);
    return s;
  }
  int32_t refs() const {
    int32_t s = 0;
    for (uint32_t i = 0; i < nslots; ++i) s += slot[i].refs.load(std::memory_order_acquire);
    return s;
  }
  // ip_vs_dest_totalconns: what the thresholds compare (templates are not counted).
  int32_t totalconns() const { return activeconns() + inactconns(); }
  int32_t persistconns() const {
    int32_t s = 0;
    for (uint32_t i = 0; i < nslots; ++i) s += slot[i].persistconns.load(std::memory_order_relaxed);
    return s;
  }
};

}  // namespace fastvs
