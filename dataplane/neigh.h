// The neighbour (ARP) table: IP -> MAC for next hops on the DPDK ports. Its own table, not part
// of the configuration snapshot, so that an ARP reply never rebuilds the configuration.
//
// One writer (control), lock-free readers (workers): open addressing where a slot, once claimed
// by an IP, keeps that IP for the table's life; everything that changes (MAC, port, state) lives
// in one 64-bit word written with a single atomic store. A reader sees the old or the new
// neighbour, never a torn one. Workers report what they learn through a ring to control.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "common/net.h"

struct rte_ring;

namespace fastvs {

enum class NeighState : uint8_t { None = 0, Reachable = 1, Permanent = 2 };

// What a worker learned from an ARP packet, as it travels to control.
struct NeighLearn {
  uint32_t ip;  // network order
  uint16_t port;
  uint8_t mac[6];
  uint8_t pad[4];
};
static_assert(sizeof(NeighLearn) == 16);

class NeighTable {
 public:
  static constexpr uint32_t kSlots = 4096;

  // Worker side.
  bool lookup(uint32_t ip, uint16_t* port, MacAddr* mac) const;
  // Changes whenever any entry changes: a worker's next-hop cache is valid while it holds.
  uint32_t generation() const { return gen_.load(std::memory_order_acquire); }

  // Control side (one thread). A permanent entry is not overwritten by a learned one.
  bool set(uint32_t ip, uint16_t port, const MacAddr& mac, NeighState state);
  bool clear(uint32_t ip);
  void for_each(const std::function<void(uint32_t ip, uint16_t port, const MacAddr& mac,
                                         NeighState state)>& fn) const;
  // Moves what the workers learned into the table; returns how many entries changed.
  unsigned drain(rte_ring* learn_ring);

 private:
  static uint64_t pack(uint16_t port, const MacAddr& mac, NeighState st);
  uint32_t probe(uint32_t ip) const;

  struct Slot {
    std::atomic<uint32_t> ip{0};
    std::atomic<uint64_t> word{0};  // mac (48 bits) | port (8 bits) | state (8 bits)
  };
  Slot slots_[kSlots];
  std::atomic<uint32_t> gen_{1};
};

}  // namespace fastvs
