// The per-worker fragment table: which connection a fragmented datagram belongs to, so that its
// non-first fragments (which carry no ports) follow its first fragment. fastvs forwards each
// fragment as it comes, as hardware load balancers do, and never reassembles: nothing is held
// back, nothing is copied, and the real server reassembles.
//
// - Key: (source, destination, IP ID, protocol), RFC 791's datagram identity. The value is the
//   datagram's ports, taken from its first fragment: with the addresses they are the five-tuple
//   the connection table knows it by, in the direction the datagram travels, so a non-first
//   fragment looks its connection up again (a connection that expired meanwhile is not followed).
// - Capacity: kSlots entries of 24 bytes (24 KiB) inline in the worker, 4-way set associative:
//   allocated once with the worker, never per packet. An insert takes a free, finished or expired
//   way of its set, else overwrites the way that expires first (the oldest); that one is counted
//   (the caller's `evicted`), since its datagram's later fragments will be dropped.
// - Lifetime: kLifetimeTicks (2 s) from the first fragment. A sender emits a datagram's fragments
//   back to back; only reordering in the path spreads them, by milliseconds. Linux keeps a
//   reassembly queue for ipfrag_time (30 s) because it holds the fragments themselves; here an
//   entry only has to outlive the gap between fragments, and a short life limits how long a
//   datagram whose fragments were lost can match a later one that reuses its IP ID (a fast sender
//   wraps its 16-bit ID in well under a minute, RFC 4963).
// - An entry ends early once every byte of its datagram was seen (the last fragment gives the
//   length): most datagrams free their way microseconds after they were inserted.
//
// Pure (no EAL, no allocation): unit-tested on its own; one writer, its worker.
#pragma once

#include <array>
#include <cstdint>

namespace fastvs {

struct FragEntry {
  uint32_t saddr = 0;  // network order, as in the packet
  uint32_t daddr = 0;
  uint16_t id = 0;  // IP ID, network order
  uint8_t proto = 0;
  uint8_t used = 0;
  uint16_t sport = 0;  // the datagram's ports (network order), from its first fragment
  uint16_t dport = 0;
  uint32_t expires = 0;  // tick
  uint16_t seen = 0;     // payload bytes of the datagram forwarded so far
  uint16_t total = 0;    // the datagram's payload length, once its last fragment was seen; 0 before
};
static_assert(sizeof(FragEntry) == 24);

class FragTable {
 public:
  static constexpr unsigned kWays = 4;
  static constexpr unsigned kSlots = 1024;
  static constexpr unsigned kSets = kSlots / kWays;
  static constexpr uint32_t kLifetimeTicks = 32;  // 2 s at 16 ticks a second

  // A first fragment was forwarded: remember its datagram. `payload` is what it carried past
  // the IP header. Sets *evicted when a live entry had to make room.
  void remember(uint32_t saddr, uint32_t daddr, uint16_t id, uint8_t proto, uint16_t sport,
                uint16_t dport, uint16_t payload, uint32_t now, bool* evicted) {
    FragEntry* set = &slots_[set_of(saddr, daddr, id, proto) * kWays];
    FragEntry* victim = nullptr;
    *evicted = false;
    for (unsigned i = 0; i < kWays; ++i) {
      FragEntry& e = set[i];
      if (e.used && same(e, saddr, daddr, id, proto)) {
        victim = &e;  // the same datagram again (a duplicate) or a reused ID: start over
        break;
      }
      if (!victim || (live(*victim, now) && (!live(e, now) || before(e.expires, victim->expires))))
        victim = &e;
    }
    if (victim->used && live(*victim, now) && !same(*victim, saddr, daddr, id, proto))
      *evicted = true;
    *victim = FragEntry{saddr, daddr, id, proto, 1, sport, dport, now + kLifetimeTicks, payload, 0};
  }

  // The datagram a non-first fragment belongs to, or nullptr.
  FragEntry* find(uint32_t saddr, uint32_t daddr, uint16_t id, uint8_t proto, uint32_t now) {
    FragEntry* set = &slots_[set_of(saddr, daddr, id, proto) * kWays];
    for (unsigned i = 0; i < kWays; ++i)
      if (set[i].used && same(set[i], saddr, daddr, id, proto) && live(set[i], now)) return &set[i];
    return nullptr;
  }

  // A non-first fragment of e's datagram was forwarded: `offset` and `len` in bytes past the IP
  // header, `more` its MF bit. Frees the entry once the whole datagram went through.
  static void account(FragEntry& e, uint32_t offset, uint16_t len, bool more) {
    e.seen = static_cast<uint16_t>(e.seen + len);
    if (!more) e.total = static_cast<uint16_t>(offset + len);
    if (e.total && e.seen >= e.total) e.used = 0;
  }

  // The set a datagram's entry lives in (public for tests).
  static unsigned set_of(uint32_t saddr, uint32_t daddr, uint16_t id, uint8_t proto) {
    const uint32_t h = (saddr ^ (daddr * 0x9e3779b1u) ^ (uint32_t{id} << 8 | proto)) * 2654435761u;
    return h >> (32 - 8);  // kSets = 256
  }

  unsigned size(uint32_t now) const {
    unsigned n = 0;
    for (const auto& e : slots_) n += e.used && live(e, now);
    return n;
  }

 private:
  static bool before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
  static bool live(const FragEntry& e, uint32_t now) {
    return e.used && static_cast<int32_t>(e.expires - now) > 0;
  }
  static bool same(const FragEntry& e, uint32_t saddr, uint32_t daddr, uint16_t id, uint8_t proto) {
    return e.saddr == saddr && e.daddr == daddr && e.id == id && e.proto == proto;
  }
  static_assert(kSets == 256);

  std::array<FragEntry, kSlots> slots_{};
};

}  // namespace fastvs
