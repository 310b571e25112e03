#include "dataplane/conn_table.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_branch_prediction.h>
#include <rte_prefetch.h>

#include <fmt/core.h>

#include "dataplane/parse.h"

namespace fastvs {

namespace {
// CRC32-C of the 16-byte key in two instructions. rte_hash_crc picks its implementation at run
// time and measured 42 instructions a key here; the key is always a ConnKey. SSE4.2 is a stated
// requirement (meson.build builds with -msse4.2, fastvsd checks the CPU before it starts).
#if defined(__x86_64__) && !defined(__SSE4_2__)
#error "the connection table's hash needs SSE4.2: build with -msse4.2 (meson.build does)"
#endif
uint32_t conn_key_hash(const void* key, uint32_t len, uint32_t init) {
#if defined(__x86_64__)
  (void)len;
  uint64_t a, b;
  std::memcpy(&a, key, 8);
  std::memcpy(&b, static_cast<const uint8_t*>(key) + 8, 8);
  return static_cast<uint32_t>(__builtin_ia32_crc32di(__builtin_ia32_crc32di(init, a), b));
#else
  return rte_hash_crc(key, len, init);  // DPDK's CRC32-C with the CPU's instructions
#endif
}
static_assert(sizeof(ConnKey) == 16);

// The same for the 40-byte IPv6 key: five 8-byte words.
uint32_t conn_key6_hash(const void* key, uint32_t len, uint32_t init) {
#if defined(__x86_64__)
  (void)len;
  uint64_t h = init;
  for (unsigned i = 0; i < sizeof(ConnKey6); i += 8) {
    uint64_t w;
    std::memcpy(&w, static_cast<const uint8_t*>(key) + i, 8);
    h = __builtin_ia32_crc32di(h, w);
  }
  return static_cast<uint32_t>(h);
#else
  return rte_hash_crc(key, len, init);
#endif
}

// rte_hash's cuckoo buckets fill to ~90-95%: size the index with slack so that `keys` keys
// (a full pool) still insert.
uint64_t index_entries(uint64_t keys) {
  return keys + keys / 8 + 64;
}

uint64_t pow2_at_least(uint64_t n) {
  uint64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// rte_hash_create (lib/hash/rte_cuckoo_hash.c) without lcore cache or extendable buckets: a
// ring of free key slots (32-bit, a power of two), pow2(entries)/8 buckets of one cache line,
// entries+1 key slots of align(8-byte data + key, 16).
uint64_t index_bytes(uint64_t nkeys, size_t key_len) {
  const uint64_t e = index_entries(nkeys);
  const uint64_t ring = 4 * pow2_at_least(e + 1);
  const uint64_t buckets = pow2_at_least(e) / 8 * 64;
  const uint64_t keys = (e + 1) * ((8 + key_len + 15) / 16 * 16);
  return ring + buckets + keys;
}

rte_hash* make_index(const char* name, uint64_t keys, size_t key_len, rte_hash_function fn,
                     int socket) {
  rte_hash_parameters hp{};
  hp.name = name;
  hp.entries = static_cast<uint32_t>(index_entries(keys));
  hp.key_len = static_cast<uint32_t>(key_len);
  hp.hash_func = fn;
  hp.hash_func_init_val = 0x9747b28c;
  hp.socket_id = socket;
  hp.extra_flag = 0;  // single writer: no locks, no lcore cache
  rte_errno = 0;
  return rte_hash_create(&hp);
}

// Why make_index failed. rte_hash_create leaves rte_errno as it was when an allocation of the
// DPDK heap fails (it logs "memory allocation failed" and no more): a stale ENOENT would read
// "No such file or directory", so that case says what it is.
std::string index_error(uint64_t keys, const char* what) {
  const bool memory = rte_errno == 0 || rte_errno == ENOENT || rte_errno == ENOMEM;
  return fmt::format("rte_hash_create({} {}): {}", index_entries(keys), what,
                     memory ? "not enough DPDK memory"
                            : rte_strerror(rte_errno));
}
// Indexes entry `idx` under `in` (and `out`), each key hashed once for its lookup and its add.
// False, with nothing changed, when the index refuses one, or (*collision) when another entry
// holds one: rte_hash_add_key_data would silently re-point an existing key at the new entry.
// The caller that has just missed the in key says so (in_absent) and saves a lookup.
template <typename Key>
bool add_keys(rte_hash* h, const Key& in, const Key* out, uint32_t idx, bool in_absent,
              bool* collision) {
  const hash_sig_t in_sig = rte_hash_hash(h, &in);
  const hash_sig_t out_sig = out ? rte_hash_hash(h, out) : 0;
  if ((!in_absent && rte_hash_lookup_with_hash(h, &in, in_sig) >= 0) ||
      (out && rte_hash_lookup_with_hash(h, out, out_sig) >= 0)) {
    *collision = true;
    return false;
  }
  const uintptr_t base = uintptr_t{idx} << 1;
  // rte_hash's data word carries an entry index and a flag, not a pointer.
  void* in_data = reinterpret_cast<void*>(base);       // NOLINT(performance-no-int-to-ptr)
  void* out_data = reinterpret_cast<void*>(base | 1);  // NOLINT(performance-no-int-to-ptr)
  if (rte_hash_add_key_with_hash_data(h, &in, in_sig, in_data) < 0) return false;
  if (out && rte_hash_add_key_with_hash_data(h, out, out_sig, out_data) < 0) {
    rte_hash_del_key_with_hash(h, &in, in_sig);
    return false;
  }
  return true;
}
}  // namespace

// Plus our pool and wheel, and malloc's overhead (measured: under 1 KiB).
uint64_t ConnTable::memory_needed(uint32_t capacity, uint64_t nkeys) {
  const uint64_t pool = sizeof(Conn) * uint64_t{capacity};
  const uint64_t wheel = sizeof(uint32_t) * kWheelSlots;
  return index_bytes(nkeys ? nkeys : default_keys(capacity), sizeof(ConnKey)) + pool + wheel + 4096;
}

uint64_t ConnTable::memory_needed6(uint32_t capacity, uint64_t nkeys) {
  return index_bytes(nkeys ? nkeys : default_keys(capacity), sizeof(ConnKey6)) +
         sizeof(ConnAddrs6) * uint64_t{capacity} + 4096;
}

ConnTable::~ConnTable() {
  if (hash_) rte_hash_free(hash_);
  if (hash6_) rte_hash_free(hash6_);
  rte_free(addrs6_);
  rte_free(conns_);
  rte_free(wheel_);
}

Status ConnTable::init(const char* name, uint32_t capacity, int socket, uint32_t now,
                       uint64_t keys) {
  if (keys == 0) keys = default_keys(capacity);
  if (capacity == 0 || capacity > kMaxCapacity || keys > default_keys(kMaxCapacity))
    return Error{fmt::format("capacity {} ({} keys) out of range", capacity, keys)};
  // Measured, not computed: what the allocations really took from the DPDK heap.
  rte_malloc_socket_stats before{}, after{};
  rte_malloc_get_socket_stats(socket < 0 ? 0 : socket, &before);
  hash_ = make_index(name, keys, sizeof(ConnKey), conn_key_hash, socket);
  if (!hash_) return Error{index_error(keys, "keys")};
  conns_ =
      static_cast<Conn*>(rte_zmalloc_socket("conns", sizeof(Conn) * size_t{capacity}, 64, socket));
  wheel_ = static_cast<uint32_t*>(
      rte_malloc_socket("conn_wheel", sizeof(uint32_t) * kWheelSlots, 64, socket));
  if (!conns_ || !wheel_) return Error{fmt::format("no memory for {} entries", capacity)};
  for (uint32_t i = 0; i < kWheelSlots; ++i) wheel_[i] = kConnNone;
  capacity_ = capacity;
  for (uint32_t i = 0; i < capacity; ++i) conns_[i].next = i + 1 < capacity ? i + 1 : kConnNone;
  free_head_ = 0;
  used_.store(0, std::memory_order_relaxed);
  cursor_ = now;
  rte_malloc_get_socket_stats(socket < 0 ? 0 : socket, &after);
  memory_bytes_ = after.heap_allocsz_bytes - before.heap_allocsz_bytes;
  return {};
}

Conn* ConnTable::lookup(const ConnKey& key, bool* is_out) const {
  void* data = nullptr;
  if (rte_hash_lookup_data(hash_, &key, &data) < 0) return nullptr;
  const uintptr_t v = reinterpret_cast<uintptr_t>(data);
  *is_out = v & 1;
  return &conns_[v >> 1];
}

void ConnTable::lookup_bulk(const ConnKey* const* keys, unsigned n, ConnLookahead* out) const {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint64_t hits = 0;
  rte_hash_lookup_bulk_data(
      hash_, reinterpret_cast<const void**>(const_cast<const ConnKey**>(keys)), n, &hits, data);
  for (unsigned i = 0; i < n; ++i) {
    out[i].inserts = inserts_;
    out[i].removes = removes_;
    if (hits & (uint64_t{1} << i)) {
      const auto v = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[i]));
      out[i].found = v;
      rte_prefetch0(&conns_[v >> 1]);
    } else {
      out[i].found = kConnNone;
    }
  }
}

void ConnTable::warm(const ConnKey* const* keys, unsigned n) const {
  int32_t pos[RTE_HASH_LOOKUP_BULK_MAX];
  rte_hash_lookup_bulk(hash_, reinterpret_cast<const void**>(const_cast<const ConnKey**>(keys)), n,
                       pos);
}

void ConnTable::prefetch_keys(const uint32_t* idx, unsigned n) const {
  static_assert(2 * kExpireBatch <= RTE_HASH_LOOKUP_BULK_MAX);
  ConnKey keys[2 * kExpireBatch];
  const void* kp[2 * kExpireBatch];
  int32_t pos[2 * kExpireBatch];
  unsigned k = 0;
  for (unsigned i = 0; i < n; ++i) {
    const Conn& c = conns_[idx[i]];
    if (c.flags & kConnV6) continue;  // in the other index: not fetched ahead
    keys[k] = in_key(c);
    kp[k] = &keys[k];
    ++k;
    if (c.flags & kConnHasOut) {
      keys[k] = out_key(c);
      kp[k] = &keys[k];
      ++k;
    }
  }
  rte_hash_lookup_bulk(hash_, kp, k, pos);
}

uint32_t ConnTable::keys() const {
  return static_cast<uint32_t>(rte_hash_count(hash_) + (hash6_ ? rte_hash_count(hash6_) : 0));
}

ConnKey ConnTable::in_key(const Conn& c) const {
  return make_key(c.cip, c.vip, c.cport, c.vport, c.proto);
}
ConnKey ConnTable::out_key(const Conn& c) const {
  return make_key(c.rip, c.cip, c.rport, c.cport, c.proto);
}

Conn* ConnTable::insert(const ConnKey& in, const ConnKey* out, uint32_t timeout_ticks, uint32_t now,
                        bool* collision, bool in_absent) {
  *collision = false;
  const uint32_t idx = free_head_;
  if (idx == kConnNone || !add_keys(hash_, in, out, idx, in_absent, collision)) return nullptr;
  Conn& c = take_entry(idx, in.saddr, in.daddr, in.sport, in.dport, in.proto, timeout_ticks, now);
  if (out) {
    c.rip = out->saddr;
    c.rport = out->sport;
    c.flags = kConnHasOut;
  }
  return &c;
}

Conn& ConnTable::take_entry(uint32_t idx, uint32_t cip, uint32_t vip, uint16_t cport,
                            uint16_t vport, uint8_t proto, uint32_t timeout_ticks, uint32_t now) {
  // Counted once the table has changed: a refused insert leaves it as it was, so the burst's
  // looked-ahead misses (ConnLookahead) stay true.
  ++inserts_;
  free_head_ = conns_[idx].next;
  used_.store(used_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  Conn& c = conns_[idx];
  std::memset(&c, 0, sizeof c);
  c.cip = cip;
  c.vip = vip;
  c.cport = cport;
  c.vport = vport;
  c.proto = proto;
  c.timeout = timeout_ticks;
  c.expires = now + timeout_ticks;
  wheel_link(idx, c.expires);
  return c;
}

Status ConnTable::enable_ipv6(const char* name, int socket, uint64_t keys) {
  if (hash6_) return {};
  if (keys == 0) keys = default_keys(capacity_);
  rte_malloc_socket_stats before{}, after{};
  rte_malloc_get_socket_stats(socket < 0 ? 0 : socket, &before);
  // hash6_ last: it is what ipv6() reads.
  rte_hash* h = make_index(name, keys, sizeof(ConnKey6), conn_key6_hash, socket);
  if (!h) return Error{index_error(keys, "IPv6 keys")};
  addrs6_ = static_cast<ConnAddrs6*>(
      rte_zmalloc_socket("conn_addrs6", sizeof(ConnAddrs6) * size_t{capacity_}, 64, socket));
  if (!addrs6_) {
    rte_hash_free(h);
    return Error{fmt::format("no memory for {} IPv6 connections' addresses", capacity_)};
  }
  hash6_ = h;
  rte_malloc_get_socket_stats(socket < 0 ? 0 : socket, &after);
  memory_bytes6_ = after.heap_allocsz_bytes - before.heap_allocsz_bytes;
  return {};
}

Conn* ConnTable::lookup6(const ConnKey6& key, bool* is_out) const {
  void* data = nullptr;
  if (rte_hash_lookup_data(hash6_, &key, &data) < 0) return nullptr;
  const uintptr_t v = reinterpret_cast<uintptr_t>(data);
  *is_out = v & 1;
  return &conns_[v >> 1];
}

Conn* ConnTable::insert6(const ConnKey6& in, const ConnKey6* out, uint32_t timeout_ticks,
                         uint32_t now, bool* collision, bool in_absent) {
  *collision = false;
  const uint32_t idx = free_head_;
  if (idx == kConnNone || !add_keys(hash6_, in, out, idx, in_absent, collision)) return nullptr;
  Conn& c = take_entry(idx, ip6_fold(in.saddr), ip6_fold(in.daddr), in.sport, in.dport, in.proto,
                       timeout_ticks, now);
  c.flags = kConnV6;
  ConnAddrs6& a = addrs6_[idx];
  std::memcpy(a.cip, in.saddr, 16);
  std::memcpy(a.vip, in.daddr, 16);
  if (out) {
    c.rip = ip6_fold(out->saddr);
    c.rport = out->sport;
    c.flags |= kConnHasOut;
  }
  return &c;
}

ConnKey6 ConnTable::in_key6(const Conn& c) const {
  const ConnAddrs6& a = addrs6(c);
  return make_key6(a.cip, a.vip, c.cport, c.vport, c.proto);
}
ConnKey6 ConnTable::out_key6(const Conn& c) const {
  return make_key6(c.dest->rip6, addrs6(c).cip, c.rport, c.cport, c.proto);
}

void ConnTable::touch(Conn* c, uint32_t timeout_ticks, uint32_t now) {
  c->timeout = timeout_ticks;
  c->expires = now + timeout_ticks;
  // Moving forward costs nothing now (the slot re-arms it); moving back must move it.
  if (static_cast<int32_t>(c->expires - c->armed) < 0) {
    const uint32_t idx = index_of(c);
    wheel_unlink(idx);
    wheel_link(idx, c->expires);
  }
}

void ConnTable::remove(Conn* c) {
  ++removes_;
  const uint32_t idx = index_of(c);
  wheel_unlink(idx);
  if (unlikely(c->flags & kConnV6)) {
    const ConnKey6 in = in_key6(*c);
    rte_hash_del_key(hash6_, &in);
    if (c->flags & kConnHasOut) {
      const ConnKey6 out = out_key6(*c);
      rte_hash_del_key(hash6_, &out);
    }
  } else {
    const ConnKey in = in_key(*c);
    rte_hash_del_key(hash_, &in);
    if (c->flags & kConnHasOut) {
      const ConnKey out = out_key(*c);
      rte_hash_del_key(hash_, &out);
    }
  }
  free_entry(idx);
}

void ConnTable::free_entry(uint32_t idx) {
  conns_[idx].proto = 0;  // free: for_each skips it
  conns_[idx].next = free_head_;
  free_head_ = idx;
  used_.store(used_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

void ConnTable::wheel_link(uint32_t idx, uint32_t tick) {
  // Never behind the cursor (that slot was already processed), never a full turn ahead.
  if (static_cast<int32_t>(tick - cursor_) < 0) tick = cursor_;
  if (tick - cursor_ >= kWheelSlots) tick = cursor_ + kWheelSlots - 1;
  Conn& c = conns_[idx];
  c.armed = tick;
  const uint32_t slot = tick & (kWheelSlots - 1);
  c.prev = kConnNone;
  c.next = wheel_[slot];
  if (c.next != kConnNone) conns_[c.next].prev = idx;
  wheel_[slot] = idx;
}

void ConnTable::wheel_unlink(uint32_t idx) {
  Conn& c = conns_[idx];
  if (c.prev != kConnNone)
    conns_[c.prev].next = c.next;
  else
    wheel_[c.armed & (kWheelSlots - 1)] = c.next;
  if (c.next != kConnNone) conns_[c.next].prev = c.prev;
  c.next = c.prev = kConnNone;
}

}  // namespace fastvs
