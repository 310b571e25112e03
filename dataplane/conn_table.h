// The per-worker connection table. One writer (its worker), no locks.
//
// Layout (recorded here because persistence, fragments and floods build on it):
// - Index: one rte_hash per worker, 16-byte keys (ConnKey), hashed with CRC32. A connection is
//   found under its "in" key (CIP:cport -> VIP:vport, the client's packets) and, for NAT, also
//   under its "out" key (RIP:rport -> CIP:cport, the real server's replies), as IPVS keeps one
//   ip_vs_conn reachable from both directions. The key's data word is (entry index << 1 | is_out).
//   The index holds `keys` keys (default two a connection): a DR/TUN-only director gives it one
//   a connection and saves a third of the memory; when the index is full, new flows are refused
//   as when the pool is.
// - Entries: a pre-sized array of 64-byte Conn records (one cache line), with a free list.
//   Capacity is fixed at start; when it is full a new flow is refused and counted and existing
//   flows are untouched.
// - IPv6 (enable_ipv6): 40-byte keys (ConnKey6) in a second rte_hash, the client's and the
//   virtual address in an array beside the entries (32 bytes), the real server's in its
//   Destination; the entry, the free list, the wheel and the capacity are IPv4's. A NAT66
//   connection takes 252 bytes (entry 64, addresses 32, two keys 156); a director that never
//   configures IPv6 allocates none of it.
// - Expiry: a hashed timing wheel of kWheelSlots slots of one tick (1/16 s). An entry sits in
//   the slot of the tick it was armed for. A packet that only extends the timeout just moves
//   `expires` forward (no list work); when the slot comes due the entry is either expired or
//   re-armed at its new deadline. A packet that shortens the timeout (e.g. ESTABLISHED ->
//   CLOSE) moves the entry at once. So a tick costs O(expired + re-armed), never O(table).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstddef>
#include <cstring>

#include <emmintrin.h>

#include "common/result.h"
#include "dataplane/dest.h"
#include "dataplane/tcp_state.h"

struct rte_hash;

namespace fastvs {

struct ConnKey {
  uint32_t saddr;
  uint32_t daddr;
  uint16_t sport;
  uint16_t dport;
  uint8_t proto;
  uint8_t pad[3];
};
static_assert(sizeof(ConnKey) == 16);

// Composed in a register and written with one 16-byte store: written field by field, the
// hash's 16-byte read of the key right after cannot be forwarded from the pending stores and
// waits for them to reach the cache (measured: the largest single cost of a lookup).
inline ConnKey make_key(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
                        uint8_t proto) {
  static_assert(offsetof(ConnKey, daddr) == 4 && offsetof(ConnKey, sport) == 8 &&
                offsetof(ConnKey, dport) == 10 && offsetof(ConnKey, proto) == 12);
  const uint64_t lo = uint64_t{saddr} | uint64_t{daddr} << 32;
  const uint64_t hi = uint64_t{sport} | uint64_t{dport} << 16 | uint64_t{proto} << 32;
  ConnKey k;
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&k),
                   _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)));
  return k;
}

// An IPv6 connection's key: the same five-tuple with 128-bit addresses, in an index of its own
// (IPv4's keys stay 16 bytes).
struct ConnKey6 {
  uint8_t saddr[16];
  uint8_t daddr[16];
  uint16_t sport;
  uint16_t dport;
  uint8_t proto;
  uint8_t pad[3];
};
static_assert(sizeof(ConnKey6) == 40);

// Addresses as they lie in the packet (network order, 16 bytes each).
inline ConnKey6 make_key6(const uint8_t* saddr, const uint8_t* daddr, uint16_t sport,
                          uint16_t dport, uint8_t proto) {
  ConnKey6 k;
  std::memcpy(k.saddr, saddr, 16);
  std::memcpy(k.daddr, daddr, 16);
  k.sport = sport;
  k.dport = dport;
  k.proto = proto;
  k.pad[0] = k.pad[1] = k.pad[2] = 0;
  return k;
}

// An IPv6 connection's client and virtual addresses, in an array parallel to the entries
// (ConnTable::addrs6). Its real server's is its destination's (Destination::rip6): 16 bytes a
// connection saved, which keeps a NAT66 connection within 256 bytes.
struct ConnAddrs6 {
  uint8_t cip[16];
  uint8_t vip[16];
};

// IP_VS_CONN_F_* that matter here.
enum ConnFlags : uint8_t {
  kConnInactive = 1u << 0,  // counted in InActConn rather than ActiveConn
  kConnNoOutput = 1u << 1,  // the director sees only the client's direction (DR/TUN)
  kConnHasOut = 1u << 2,    // indexed under its out key too (NAT)
  kConnV6 = 1u << 3,        // IPv6: its keys in the IPv6 index, its addresses in addrs6
  kConnOps = 1u << 4,       // IP_VS_CONN_F_ONE_PACKET: one datagram's (-o), then forgotten
};

constexpr uint32_t kConnNone = 0xffffffffu;

struct alignas(64) Conn {
  uint32_t cip, vip, rip;        // network order; IPv6 (kConnV6): the addresses' folds (ip6_fold)
  uint16_t cport, vport, rport;  // network order
  uint8_t proto;
  TcpState state;
  uint8_t flags;
  ForwardMethod method;
  // Connection sync (sync.h), in what was padding: the state last synced (cp->old_state) and
  // whether its SyncCount has been started since the entry was (re)used.
  uint8_t sync_old_state;
  uint8_t sync_started;
  uint32_t svc_id;  // the service it was scheduled in (snapshot-independent id)
  Destination* dest;
  uint32_t expires;  // tick at which it expires
  uint32_t armed;    // tick of the wheel slot it sits in
  uint32_t next;     // wheel list, or free list
  uint32_t prev;
  uint32_t timeout;  // ticks, the current state's timeout
  uint32_t tmpl;     // persistence template slot + 1 (PersistTable), 0: none
};
static_assert(sizeof(Conn) == 64);

constexpr unsigned kTicksPerSecond = 16;

// What a master's sync decisions keep per connection beside it (cp->in_pkts, cp->sync_endtime):
// an array parallel to the table's entries (Worker::sync_counts), made when a master daemon
// first starts: a director that never syncs does not pay its 8 bytes a connection.
struct SyncCount {
  uint32_t pkts;     // packets from the client, modulo sync_period (see sync.cpp)
  uint32_t endtime;  // sync_policy.h's SyncMark::endtime
};

// A lookup done ahead for a whole burst (ConnTable::lookup_bulk) and the table's change counts
// when it was done: a hit stays true until something is removed, a miss until something is
// inserted (the burst's own new flows), after which resolve() looks again.
struct ConnLookahead {
  uint32_t found = kConnNone;  // entry index << 1 | is_out
  uint32_t inserts = 0;
  uint32_t removes = 0;
};

class ConnTable {
 public:
  static constexpr uint32_t kWheelBits = 16;
  static constexpr uint32_t kWheelSlots = 1u << kWheelBits;  // 4096 s at 16 ticks/s

  ConnTable() = default;
  ~ConnTable();
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;

  // At most this many connections per table (rte_hash's RTE_HASH_ENTRIES_MAX bounds the index,
  // which holds two keys and slack per connection).
  static constexpr uint32_t kMaxCapacity = (1u << 30) / 4;

  // The index's default size: two keys a connection (NAT's).
  static uint64_t default_keys(uint32_t capacity) { return uint64_t{capacity} * 2; }

  // Sizes the pool for `capacity` connections and the index for `keys` keys (0: the default)
  // on NUMA `socket`. `now` starts the wheel. An error says why (memory short, out of range).
  Status init(const char* name, uint32_t capacity, int socket, uint32_t now, uint64_t keys = 0);
  // The DPDK memory init() takes (computed as rte_hash_create sizes its parts), so fastvsd can
  // refuse a --conn-capacity that cannot fit before it allocates anything.
  static uint64_t memory_needed(uint32_t capacity, uint64_t keys = 0);

  // Finds the connection a packet belongs to; *is_out tells which key matched.
  Conn* lookup(const ConnKey& key, bool* is_out) const;

  // IPv6 connections share the entries, the wheel and the capacity with IPv4's (one table full
  // for both, as IPVS's one table); their keys go to an index of their own and their addresses
  // to an array beside the entries, both made by enable_ipv6() when control first configures
  // IPv6 (before any snapshot that has it reaches the worker): a director without IPv6 pays no
  // byte for it. The same calls as IPv4's, for IPv6 keys.
  Status enable_ipv6(const char* name, int socket, uint64_t keys = 0);
  bool ipv6() const { return hash6_ != nullptr; }
  static uint64_t memory_needed6(uint32_t capacity, uint64_t keys = 0);
  Conn* lookup6(const ConnKey6& key, bool* is_out) const;
  // An IPv6 connection with an out key must be given, before anything removes it, the
  // destination whose rip6 is the out key's source (its out key is made from it again).
  Conn* insert6(const ConnKey6& in, const ConnKey6* out, uint32_t timeout_ticks, uint32_t now,
                bool* collision, bool in_absent = false);
  const ConnAddrs6& addrs6(const Conn& c) const { return addrs6_[index_of(&c)]; }

  // Looks up n <= 64 keys at once: rte_hash fetches every key's buckets before it compares
  // any, so a burst's cache misses overlap instead of following one another; the entries found
  // are prefetched. out[i] is valid for resolve() with keys[i].
  void lookup_bulk(const ConnKey* const* keys, unsigned n, ConnLookahead* out) const;
  // Brings the index buckets of n <= 64 keys into the cache, their misses overlapped: keys the
  // burst may soon insert (a new NAT flow's reply key, checked for a collision first).
  void warm(const ConnKey* const* keys, unsigned n) const;
  // The connection of `key` as `ahead` found it, or looked up again if the table changed since
  // in a way that could change the answer.
  Conn* resolve(const ConnLookahead& ahead, const ConnKey& key, bool* is_out) const {
    if (ahead.found != kConnNone ? ahead.removes != removes_ : ahead.inserts != inserts_)
      return lookup(key, is_out);
    if (ahead.found == kConnNone) return nullptr;
    *is_out = ahead.found & 1;
    return &conns_[ahead.found >> 1];
  }

  // Creates a connection indexed under `in` (and `out` when non-null). Returns nullptr when the
  // table is full or (with *collision set) when another connection already holds one of the
  // keys, e.g. one client port talking to two VIPs that share a real server; nothing changes.
  // in_absent: the caller has just looked `in` up and missed, so it is not looked up again.
  Conn* insert(const ConnKey& in, const ConnKey* out, uint32_t timeout_ticks, uint32_t now,
               bool* collision, bool in_absent = false);

  // A packet refreshed the connection: it now expires `timeout_ticks` from `now`.
  void touch(Conn* c, uint32_t timeout_ticks, uint32_t now);

  // Removes at once (the caller has already accounted for it).
  void remove(Conn* c);

  // Expires what is due up to `now`, at most `budget` entries examined; `on_expire(Conn&)` runs
  // before each entry is freed. Returns the number examined (expired + re-armed).
  template <typename F>
  uint32_t expire(uint32_t now, uint32_t budget, F&& on_expire);

  // Every live connection, in index order (the worker's own listings: -c).
  template <typename F>
  void for_each(uint32_t from, uint32_t count, F&& fn) const {
    for (uint32_t i = from; i < capacity_ && i < from + count; ++i)
      if (conns_[i].proto) fn(conns_[i]);
  }
  uint32_t size() const { return used_.load(std::memory_order_relaxed); }
  uint32_t capacity() const { return capacity_; }
  uint32_t index_of(const Conn* c) const { return static_cast<uint32_t>(c - conns_); }
  // Keys in the index (a NAT connection has two): for consistency checks, not the hot path.
  uint32_t keys() const;
  // Bytes the table holds: index (rte_hash: buckets and key slots) + entries + wheel, and the
  // IPv6 index and addresses once enabled (memory_bytes6()).
  size_t memory_bytes() const { return memory_bytes_ + memory_bytes6_; }
  size_t memory_bytes6() const { return memory_bytes6_; }

 private:
  static constexpr unsigned kExpireBatch = 16;  // two keys each: within one bulk lookup
  // Brings the index buckets of these entries' keys into the cache, all misses at once.
  void prefetch_keys(const uint32_t* idx, unsigned n) const;
  void wheel_link(uint32_t idx, uint32_t tick);
  void wheel_unlink(uint32_t idx);
  void free_entry(uint32_t idx);
  ConnKey in_key(const Conn& c) const;
  ConnKey out_key(const Conn& c) const;
  ConnKey6 in_key6(const Conn& c) const;
  ConnKey6 out_key6(const Conn& c) const;
  // The entry taken from the free list and set up for its keys' five-tuple (IPv4's fields or
  // IPv6's folds), linked in the wheel.
  Conn& take_entry(uint32_t idx, uint32_t cip, uint32_t vip, uint16_t cport, uint16_t vport,
                   uint8_t proto, uint32_t timeout_ticks, uint32_t now);

  rte_hash* hash_ = nullptr;
  rte_hash* hash6_ = nullptr;
  ConnAddrs6* addrs6_ = nullptr;
  size_t memory_bytes6_ = 0;
  Conn* conns_ = nullptr;
  uint32_t* wheel_ = nullptr;
  uint32_t capacity_ = 0;
  std::atomic<uint32_t> used_{0};  // read by control for stats
  uint32_t free_head_ = kConnNone;
  uint32_t cursor_ = 0;  // the next tick whose slot has not been processed
  size_t memory_bytes_ = 0;
  uint32_t inserts_ = 0;  // changes, for ConnLookahead
  uint32_t removes_ = 0;
};

template <typename F>
uint32_t ConnTable::expire(uint32_t now, uint32_t budget, F&& on_expire) {
  uint32_t examined = 0;
  // Tick arithmetic is modular: (int32_t)(a - b) orders ticks across wrap-around.
  while (static_cast<int32_t>(now - cursor_) >= 0) {
    const uint32_t slot = cursor_ & (kWheelSlots - 1);
    while (wheel_[slot] != kConnNone) {
      if (examined == budget) return examined;  // come back to this slot next call
      // A batch of due entries from the slot's head (the others re-armed on the way), whose
      // keys' buckets are fetched together before they are removed one by one.
      uint32_t batch[kExpireBatch];
      unsigned n = 0;
      for (uint32_t idx = wheel_[slot];
           idx != kConnNone && n < kExpireBatch && examined < budget;) {
        ++examined;
        Conn& c = conns_[idx];
        const uint32_t next = c.next;
        if (static_cast<int32_t>(c.expires - now) <= 0) {
          batch[n++] = idx;
        } else {
          wheel_unlink(idx);
          wheel_link(idx, c.expires);  // lands in a later slot: armed > cursor_
        }
        idx = next;
      }
      if (n > 1) prefetch_keys(batch, n);
      for (unsigned i = 0; i < n; ++i) {
        Conn& c = conns_[batch[i]];
        on_expire(c);
        remove(&c);
      }
    }
    ++cursor_;
  }
  return examined;
}

}  // namespace fastvs
