// The neighbour tables (ARP's for IPv4, neighbour discovery's for IPv6): IP -> MAC for next hops
// on the DPDK ports. Their own tables, not part of the configuration snapshot, so that an ARP
// reply or a neighbour advertisement never rebuilds the configuration.
//
// One writer (control), lock-free readers (workers): open addressing where a slot, once claimed
// by an IP, keeps that IP for the table's life; everything that changes (MAC, port, state) lives
// in one 64-bit word written with a single atomic store. A reader sees the old or the new
// neighbour, never a torn one. Workers report what they learn through a ring to control.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>

#include "common/net.h"

struct rte_ring;

namespace fastvs {

enum class NeighState : uint8_t { None = 0, Reachable = 1, Permanent = 2 };

// An IPv6 address as the IPv6 table keys it (network order).
struct Ip6Key {
  uint8_t b[16];
  friend bool operator==(const Ip6Key& x, const Ip6Key& y) {
    return std::memcmp(x.b, y.b, 16) == 0;
  }
};

inline Ip6Key ip6_key(const IpAddr& a) {
  Ip6Key k;
  std::memcpy(k.b, a.bytes().data(), 16);
  return k;
}

// What a worker learned from an ARP packet (IPv4) or a neighbour solicitation or advertisement
// (IPv6), as it travels to control.
struct NeighLearn {
  uint32_t ip;  // network order
  uint16_t port;
  uint8_t mac[6];
  uint8_t pad[4];
};
static_assert(sizeof(NeighLearn) == 16);
struct NeighLearn6 {
  Ip6Key ip;
  uint16_t port;
  uint8_t mac[6];
  uint8_t pad[8];
};
static_assert(sizeof(NeighLearn6) == 32);

// Where a slot keeps its IP. IPv4's is one atomic word (0: free). IPv6's 16 bytes are written
// once, before the slot is marked claimed (release); a reader compares them only after it saw
// the mark (acquire), and they never change after: no reader sees them half written.
template <typename Addr>
struct NeighSlotIp;

template <>
struct NeighSlotIp<uint32_t> {
  enum Match { kFree, kThis, kOther };
  Match match(uint32_t ip) const {
    const uint32_t cur = v.load(std::memory_order_acquire);
    return cur == ip ? kThis : cur == 0 ? kFree : kOther;
  }
  void claim(uint32_t ip) { v.store(ip, std::memory_order_release); }
  uint32_t get() const { return v.load(std::memory_order_acquire); }
  static bool zero(uint32_t ip) { return ip == 0; }
  static uint32_t fold(uint32_t ip) { return ip; }
  std::atomic<uint32_t> v{0};
};

template <>
struct NeighSlotIp<Ip6Key> {
  enum Match { kFree, kThis, kOther };
  Match match(const Ip6Key& ip) const {
    if (!claimed.load(std::memory_order_acquire)) return kFree;
    return v == ip ? kThis : kOther;
  }
  void claim(const Ip6Key& ip) {
    if (claimed.load(std::memory_order_relaxed)) return;  // its IP for the table's life
    v = ip;
    claimed.store(1, std::memory_order_release);
  }
  Ip6Key get() const { return v; }
  static bool zero(const Ip6Key& ip) { return ip == Ip6Key{}; }
  // IPVS's fold of an IPv6 address (ip6_fold in parse.h).
  static uint32_t fold(const Ip6Key& ip) {
    uint32_t w[4];
    std::memcpy(w, ip.b, 16);
    return w[0] ^ w[1] ^ w[2] ^ w[3];
  }
  Ip6Key v{};
  std::atomic<uint32_t> claimed{0};
};

template <typename Addr, typename Learn>
class BasicNeighTable {
 public:
  static constexpr uint32_t kSlots = 4096;

  // Worker side.
  bool lookup(const Addr& ip, uint16_t* port, MacAddr* mac) const;
  // Changes whenever any entry changes: a worker's next-hop cache is valid while it holds.
  uint32_t generation() const { return gen_.load(std::memory_order_acquire); }

  // Control side (one thread). A permanent entry is not overwritten by a learned one.
  bool set(const Addr& ip, uint16_t port, const MacAddr& mac, NeighState state);
  bool clear(const Addr& ip);
  void for_each(const std::function<void(const Addr& ip, uint16_t port, const MacAddr& mac,
                                         NeighState state)>& fn) const;
  // Moves what the workers learned into the table; returns how many entries changed.
  unsigned drain(rte_ring* learn_ring);

 private:
  using SlotIp = NeighSlotIp<Addr>;
  static uint64_t pack(uint16_t port, const MacAddr& mac, NeighState st);
  uint32_t probe(const Addr& ip) const;

  struct Slot {
    SlotIp ip;
    std::atomic<uint64_t> word{0};  // mac (48 bits) | port (8 bits) | state (8 bits)
  };
  Slot slots_[kSlots];
  std::atomic<uint32_t> gen_{1};
};

using NeighTable = BasicNeighTable<uint32_t, NeighLearn>;
using NeighTable6 = BasicNeighTable<Ip6Key, NeighLearn6>;

}  // namespace fastvs
