#include "dataplane/neigh.h"

#include <cstring>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/hash.h"

namespace fastvs {

namespace {
uint32_t neigh_hash(uint32_t ip) {
  return kernel_hash_32(ip, slot_bits<NeighTable::kSlots>());
}
}  // namespace

uint64_t NeighTable::pack(uint16_t port, const MacAddr& mac, NeighState st) {
  uint64_t w = 0;
  for (int i = 0; i < 6; ++i) w |= uint64_t{mac[i]} << (8 * i);
  return w | uint64_t{static_cast<uint8_t>(port)} << 48 | uint64_t{static_cast<uint8_t>(st)} << 56;
}

uint32_t NeighTable::probe(uint32_t ip) const {
  uint32_t i = neigh_hash(ip) & (kSlots - 1);
  for (uint32_t n = 0; n < kSlots; ++n, i = (i + 1) & (kSlots - 1)) {
    const uint32_t cur = slots_[i].ip.load(std::memory_order_acquire);
    if (cur == ip || cur == 0) return i;
  }
  return kSlots;
}

bool NeighTable::lookup(uint32_t ip, uint16_t* port, MacAddr* mac) const {
  // One pass: the slot that holds `ip`, or an empty one that ends the probe (a hit is usually
  // the first slot).
  for (uint32_t n = 0, i = neigh_hash(ip) & (kSlots - 1); n < kSlots;
       ++n, i = (i + 1) & (kSlots - 1)) {
    const uint32_t cur = slots_[i].ip.load(std::memory_order_acquire);
    if (cur == ip) {
      const uint64_t w = slots_[i].word.load(std::memory_order_acquire);
      if ((w >> 56) == static_cast<uint8_t>(NeighState::None)) return false;
      // The MAC is the word's low 48 bits in memory order (x86 is little-endian).
      static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
      std::memcpy(mac->data(), &w, 6);
      *port = static_cast<uint16_t>((w >> 48) & 0xff);
      return true;
    }
    if (cur == 0) return false;
  }
  return false;
}

bool NeighTable::set(uint32_t ip, uint16_t port, const MacAddr& mac, NeighState state) {
  if (ip == 0) return false;
  const uint32_t i = probe(ip);
  if (i == kSlots) return false;
  Slot& s = slots_[i];
  const uint64_t old = s.word.load(std::memory_order_relaxed);
  if (s.ip.load(std::memory_order_relaxed) == ip && (old >> 56) == uint8_t(NeighState::Permanent) &&
      state != NeighState::Permanent)
    return false;
  const uint64_t w = pack(port, mac, state);
  if (w == old && s.ip.load(std::memory_order_relaxed) == ip) return false;
  s.word.store(w, std::memory_order_release);
  s.ip.store(ip, std::memory_order_release);  // claims the slot after its word is valid
  gen_.fetch_add(1, std::memory_order_release);
  return true;
}

bool NeighTable::clear(uint32_t ip) {
  const uint32_t i = probe(ip);
  if (i == kSlots || slots_[i].ip.load(std::memory_order_relaxed) != ip) return false;
  slots_[i].word.store(0, std::memory_order_release);  // the slot keeps its IP as a tombstone
  gen_.fetch_add(1, std::memory_order_release);
  return true;
}

void NeighTable::for_each(
    const std::function<void(uint32_t, uint16_t, const MacAddr&, NeighState)>& fn) const {
  for (const auto& s : slots_) {
    const uint32_t ip = s.ip.load(std::memory_order_acquire);
    const uint64_t w = s.word.load(std::memory_order_acquire);
    if (!ip || (w >> 56) == 0) continue;
    MacAddr mac;
    for (int b = 0; b < 6; ++b) mac[b] = static_cast<uint8_t>(w >> (8 * b));
    fn(ip, static_cast<uint16_t>((w >> 48) & 0xff), mac, static_cast<NeighState>(w >> 56));
  }
}

unsigned NeighTable::drain(rte_ring* ring) {
  unsigned changed = 0;
  NeighLearn items[32];
  unsigned n;
  while ((n = rte_ring_dequeue_burst_elem(ring, items, sizeof(NeighLearn), 32, nullptr)) > 0) {
    for (unsigned i = 0; i < n; ++i) {
      MacAddr mac;
      std::memcpy(mac.data(), items[i].mac, 6);
      changed += set(items[i].ip, items[i].port, mac, NeighState::Reachable);
    }
  }
  return changed;
}

}  // namespace fastvs
