// Persistence templates (-p, -M), shared by every worker. IPVS keeps a template as a connection
// entry <proto, CIP & mask, 0, VIP, vport, RIP, rport> whose destination every later connection
// of that client follows (ip_vs_sched_persist). Here a template is one 16-byte slot
// {key, destination}: the key is the service id and the masked CIP.
//
// Why shared, and how without locks: workers own clients by CIP, but a netmask groups several
// addresses, and those land on different workers. Workers read slots without locks; a template
// is created or re-pointed with one 16-byte compare-and-swap of {key, destination}, so a reader
// never sees a key without its destination, and of two workers racing for one client the loser
// finds the winner's template and follows it. Only control removes templates (sweep(), once a
// second), in two steps (mark dying, then clear) that a worker taking a reference detects.
//
// Lifetime, as IPVS's: a template expires `timeout` after the last connection it scheduled; if it
// still controls connections then, it is re-armed for another `timeout` (ip_vs_conn_expire's
// "n_control" check).
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/dest.h"

namespace fastvs {

class PersistTable {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;
  static constexpr uint32_t kBucketSlots = 8;  // 128 bytes: two cache lines per lookup
  static constexpr uint64_t kDying = 1ull << 63;

  // The key of a client's template in a service: (id + 1) so that no key is 0 (an empty slot).
  static uint64_t key_of(uint32_t svc_id, uint32_t masked_cip_be) {
    return (uint64_t{svc_id} + 1) << 32 | masked_cip_be;
  }

  PersistTable() = default;
  ~PersistTable();
  PersistTable(const PersistTable&) = delete;
  PersistTable& operator=(const PersistTable&) = delete;

  // Room for `capacity` templates (buckets of 8, load kept under 1/4). `socket`: NUMA.
  bool init(uint32_t capacity, int socket);
  uint32_t capacity() const { return nslots_; }

  // The slot holding `key`, with its destination, or kNone.
  uint32_t lookup(uint64_t key, Destination** dest) const;

  // Creates the template key -> *dest, timed to expire at `expires` (tick) and to last `timeout`
  // ticks, unless one exists. Returns the slot and sets *dest to the template's destination
  // (another worker's if it won the race; *created tells). kNone when the key's bucket is full.
  uint32_t insert(uint64_t key, Destination** dest, uint32_t expires, uint32_t timeout,
                  bool* created);

  // Re-points a template whose destination left (ip_vs_check_template): succeeds only if slot
  // still holds {key, from}.
  bool repoint(uint32_t slot, uint64_t key, Destination* from, Destination* to);

  // A new connection of the template: takes a reference (n_control) and restarts its timer.
  // False if the template is being removed (the caller looks it up again).
  bool hold(uint32_t slot, uint64_t key, Destination* dest, uint32_t expires);
  // A synced template seen again (ip_vs_proc_conn re-arms its timer): its timer restarts for
  // `timeout` ticks, if the slot still holds {key, dest}. No reference is taken.
  void refresh(uint32_t slot, uint64_t key, Destination* dest, uint32_t expires, uint32_t timeout);
  // A connection it controlled ended.
  void release(uint32_t slot) { ctl_[slot].n_control.fetch_sub(1, std::memory_order_relaxed); }

  // Control only: removes templates that expired and control no connection; `on_free(dest)`
  // runs for each removed (its PersistConn and reference are given back). An expired template
  // that still controls connections is re-armed for its own timeout.
  template <typename F>
  uint32_t sweep(uint32_t now, F&& on_free);

  // Control only (listings): calls fn(key, dest, expires) for every live template.
  template <typename F>
  void for_each(F&& fn) const;

  uint32_t size() const { return used_.load(std::memory_order_relaxed); }

 private:
  struct alignas(16) Slot {
    uint64_t key;
    Destination* dest;
  };
  struct Ctl {
    std::atomic<uint32_t> expires{0};  // tick
    std::atomic<uint32_t> timeout{0};  // ticks
    std::atomic<int32_t> n_control{0};
  };
  static uint32_t hash(uint64_t key);
  Slot read(uint32_t i) const;
  bool cas(uint32_t i, Slot expect, Slot desired);
  bool clear_if_idle(uint32_t i, uint64_t key, Destination* dest);

  Slot* slots_ = nullptr;
  Ctl* ctl_ = nullptr;
  uint32_t nslots_ = 0;
  uint32_t bucket_mask_ = 0;
  std::atomic<uint32_t> used_{0};
};

template <typename F>
uint32_t PersistTable::sweep(uint32_t now, F&& on_free) {
  uint32_t freed = 0;
  for (uint32_t i = 0; i < nslots_; ++i) {
    const Slot s = read(i);
    if (s.key == 0 || (s.key & kDying)) continue;
    Ctl& c = ctl_[i];
    if (static_cast<int32_t>(c.expires.load(std::memory_order_relaxed) - now) > 0) continue;
    if (c.n_control.load(std::memory_order_seq_cst) > 0) {
      // ip_vs_conn_expire: "do I control anybody?" -> expire later, a full timeout on.
      c.expires.store(now + c.timeout.load(std::memory_order_relaxed), std::memory_order_relaxed);
      continue;
    }
    if (clear_if_idle(i, s.key, s.dest)) {
      on_free(s.dest);
      ++freed;
    }
  }
  return freed;
}

template <typename F>
void PersistTable::for_each(F&& fn) const {
  for (uint32_t i = 0; i < nslots_; ++i) {
    const Slot s = read(i);
    if (s.key == 0 || (s.key & kDying)) continue;
    fn(s.key, s.dest, ctl_[i].expires.load(std::memory_order_relaxed));
  }
}

}  // namespace fastvs
