#include "dataplane/neigh.h"

#include <cstring>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/hash.h"

namespace fastvs {

template <typename Addr, typename Learn>
uint64_t BasicNeighTable<Addr, Learn>::pack(uint16_t port, const MacAddr& mac, NeighState st) {
  uint64_t w = 0;
  for (int i = 0; i < 6; ++i) w |= uint64_t{mac[i]} << (8 * i);
  return w | uint64_t{static_cast<uint8_t>(port)} << 48 | uint64_t{static_cast<uint8_t>(st)} << 56;
}

template <typename Addr, typename Learn>
uint32_t BasicNeighTable<Addr, Learn>::probe(const Addr& ip) const {
  uint32_t i = kernel_hash_32(SlotIp::fold(ip), slot_bits<kSlots>()) & (kSlots - 1);
  for (uint32_t n = 0; n < kSlots; ++n, i = (i + 1) & (kSlots - 1))
    if (slots_[i].ip.match(ip) != SlotIp::kOther) return i;
  return kSlots;
}

template <typename Addr, typename Learn>
bool BasicNeighTable<Addr, Learn>::lookup(const Addr& ip, uint16_t* port, MacAddr* mac) const {
  // One pass: the slot that holds `ip`, or an empty one that ends the probe (a hit is usually
  // the first slot).
  for (uint32_t n = 0, i = kernel_hash_32(SlotIp::fold(ip), slot_bits<kSlots>()) & (kSlots - 1);
       n < kSlots; ++n, i = (i + 1) & (kSlots - 1)) {
    const auto m = slots_[i].ip.match(ip);
    if (m == SlotIp::kThis) {
      const uint64_t w = slots_[i].word.load(std::memory_order_acquire);
      if ((w >> 56) == static_cast<uint8_t>(NeighState::None)) return false;
      // The MAC is the word's low 48 bits in memory order (x86 is little-endian).
      static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
      std::memcpy(mac->data(), &w, 6);
      *port = static_cast<uint16_t>((w >> 48) & 0xff);
      return true;
    }
    if (m == SlotIp::kFree) return false;
  }
  return false;
}

template <typename Addr, typename Learn>
bool BasicNeighTable<Addr, Learn>::set(const Addr& ip, uint16_t port, const MacAddr& mac,
                                       NeighState state) {
  if (SlotIp::zero(ip)) return false;
  const uint32_t i = probe(ip);
  if (i == kSlots) return false;
  Slot& s = slots_[i];
  const bool held = s.ip.match(ip) == SlotIp::kThis;
  const uint64_t old = s.word.load(std::memory_order_relaxed);
  if (held && (old >> 56) == uint8_t(NeighState::Permanent) && state != NeighState::Permanent)
    return false;
  const uint64_t w = pack(port, mac, state);
  if (w == old && held) return false;
  s.word.store(w, std::memory_order_release);
  s.ip.claim(ip);  // claims the slot after its word is valid
  gen_.fetch_add(1, std::memory_order_release);
  return true;
}

template <typename Addr, typename Learn>
bool BasicNeighTable<Addr, Learn>::clear(const Addr& ip) {
  const uint32_t i = probe(ip);
  if (i == kSlots || slots_[i].ip.match(ip) != SlotIp::kThis) return false;
  slots_[i].word.store(0, std::memory_order_release);  // the slot keeps its IP as a tombstone
  gen_.fetch_add(1, std::memory_order_release);
  return true;
}

template <typename Addr, typename Learn>
void BasicNeighTable<Addr, Learn>::for_each(
    const std::function<void(const Addr&, uint16_t, const MacAddr&, NeighState)>& fn) const {
  for (const auto& s : slots_) {
    const uint64_t w = s.word.load(std::memory_order_acquire);
    if ((w >> 56) == 0) continue;  // free, or a tombstone
    const Addr ip = s.ip.get();
    MacAddr mac;
    for (int b = 0; b < 6; ++b) mac[b] = static_cast<uint8_t>(w >> (8 * b));
    fn(ip, static_cast<uint16_t>((w >> 48) & 0xff), mac, static_cast<NeighState>(w >> 56));
  }
}

template <typename Addr, typename Learn>
unsigned BasicNeighTable<Addr, Learn>::drain(rte_ring* ring) {
  unsigned changed = 0;
  Learn items[32];
  unsigned n;
  while ((n = rte_ring_dequeue_burst_elem(ring, items, sizeof(Learn), 32, nullptr)) > 0) {
    for (unsigned i = 0; i < n; ++i) {
      MacAddr mac;
      std::memcpy(mac.data(), items[i].mac, 6);
      changed += set(items[i].ip, items[i].port, mac, NeighState::Reachable);
    }
  }
  return changed;
}

template class BasicNeighTable<uint32_t, NeighLearn>;
template class BasicNeighTable<Ip6Key, NeighLearn6>;

}  // namespace fastvs
