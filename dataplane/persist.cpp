#include "dataplane/persist.h"

#include <rte_malloc.h>

#include <cstring>

namespace fastvs {

namespace {
// cmpxchg16b (the EAL builds for corei7 and up, which has it): {key, dest} change together.
bool cas16(void* p, uint64_t exp_key, const void* exp_dest, uint64_t key, const void* dest) {
  using u128 = unsigned __int128;
  const u128 expect = u128{reinterpret_cast<uintptr_t>(exp_dest)} << 64 | exp_key;
  const u128 desired = u128{reinterpret_cast<uintptr_t>(dest)} << 64 | key;
  return __sync_bool_compare_and_swap(static_cast<u128*>(p), expect, desired);
}
}  // namespace

PersistTable::~PersistTable() {
  rte_free(slots_);
  rte_free(ctl_);
}

bool PersistTable::init(uint32_t capacity, int socket) {
  // Load at most 1/4 of the slots: with 8 slots a bucket, a bucket then overflows (the new
  // client's connection is dropped and counted) for about 1 in 10^5 clients at full capacity.
  uint32_t n = kBucketSlots;
  while (n / 4 < capacity && n < (1u << 30)) n <<= 1;
  slots_ = static_cast<Slot*>(rte_zmalloc_socket("persist_slots", sizeof(Slot) * n, 128, socket));
  ctl_ = static_cast<Ctl*>(rte_zmalloc_socket("persist_ctl", sizeof(Ctl) * n, 64, socket));
  if (!slots_ || !ctl_) return false;
  for (uint32_t i = 0; i < n; ++i) new (&ctl_[i]) Ctl();
  nslots_ = n;
  bucket_mask_ = n / kBucketSlots - 1;
  return true;
}

uint32_t PersistTable::hash(uint64_t key) {
  // The masked CIPs of one service differ in their high bits when the mask is wide: mix all.
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  return static_cast<uint32_t>(h >> 32) ^ static_cast<uint32_t>(h);
}

PersistTable::Slot PersistTable::read(uint32_t i) const {
  // The key read on both sides of the destination: a pair from one moment, without a 16-byte
  // load (a CAS would be a locked instruction on every lookup).
  for (int tries = 0; tries < 4; ++tries) {
    const uint64_t k1 = __atomic_load_n(&slots_[i].key, __ATOMIC_ACQUIRE);
    Destination* d = __atomic_load_n(&slots_[i].dest, __ATOMIC_ACQUIRE);
    const uint64_t k2 = __atomic_load_n(&slots_[i].key, __ATOMIC_ACQUIRE);
    if (k1 == k2) return Slot{k1, d};
  }
  return Slot{0, nullptr};
}

bool PersistTable::cas(uint32_t i, Slot expect, Slot desired) {
  return cas16(&slots_[i], expect.key, expect.dest, desired.key, desired.dest);
}

uint32_t PersistTable::lookup(uint64_t key, Destination** dest) const {
  const uint32_t base = (hash(key) & bucket_mask_) * kBucketSlots;
  for (uint32_t j = 0; j < kBucketSlots; ++j) {
    const Slot s = read(base + j);
    if (s.key == key && s.dest) {
      *dest = s.dest;
      return base + j;
    }
  }
  return kNone;
}

uint32_t PersistTable::insert(uint64_t key, Destination** dest, uint32_t expires, uint32_t timeout,
                              bool* created) {
  *created = false;
  const uint32_t base = (hash(key) & bucket_mask_) * kBucketSlots;
  // Claims the first empty slot. Two workers inserting one key race for the same slot, so one
  // CAS fails and that worker finds the other's template on its next pass. (Only a removal by
  // control between their scans could part them; the first in bucket order wins lookups then.)
  for (int pass = 0; pass < 3; ++pass) {
    uint32_t empty = kNone;
    for (uint32_t j = 0; j < kBucketSlots; ++j) {
      const Slot s = read(base + j);
      if (s.key == key && s.dest) {
        *dest = s.dest;
        return base + j;
      }
      if (s.key == 0 && empty == kNone) empty = base + j;
    }
    if (empty == kNone) return kNone;
    // The timer is written once the slot is ours (another worker may race for the same empty
    // slot with another key). Its previous tenant left it far in the future (clear_if_idle), so
    // a sweep in between does not take the new template for an expired one.
    if (cas(empty, Slot{0, nullptr}, Slot{key, *dest})) {
      ctl_[empty].timeout.store(timeout, std::memory_order_relaxed);
      ctl_[empty].expires.store(expires, std::memory_order_relaxed);
      used_.fetch_add(1, std::memory_order_relaxed);
      *created = true;
      return empty;
    }
  }
  return kNone;
}

bool PersistTable::repoint(uint32_t slot, uint64_t key, Destination* from, Destination* to) {
  return cas(slot, Slot{key, from}, Slot{key, to});
}

bool PersistTable::hold(uint32_t slot, uint64_t key, Destination* dest, uint32_t expires) {
  Ctl& c = ctl_[slot];
  c.n_control.fetch_add(1, std::memory_order_seq_cst);
  // Control marks a template dying before it reads n_control: if the key is still plain here,
  // control will see this reference and keep the template. The destination is compared too: the
  // slot may have been cleared and taken again by the same client with another destination.
  if (__atomic_load_n(&slots_[slot].key, __ATOMIC_SEQ_CST) != key ||
      __atomic_load_n(&slots_[slot].dest, __ATOMIC_SEQ_CST) != dest) {
    c.n_control.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  c.expires.store(expires, std::memory_order_relaxed);
  return true;
}

void PersistTable::refresh(uint32_t slot, uint64_t key, Destination* dest, uint32_t expires,
                           uint32_t timeout) {
  if (__atomic_load_n(&slots_[slot].key, __ATOMIC_SEQ_CST) != key ||
      __atomic_load_n(&slots_[slot].dest, __ATOMIC_SEQ_CST) != dest)
    return;
  ctl_[slot].timeout.store(timeout, std::memory_order_relaxed);
  ctl_[slot].expires.store(expires, std::memory_order_relaxed);
}

bool PersistTable::clear_if_idle(uint32_t i, uint64_t key, Destination* dest) {
  if (!cas(i, Slot{key, dest}, Slot{key | kDying, dest})) return false;
  if (ctl_[i].n_control.load(std::memory_order_seq_cst) > 0) {
    cas(i, Slot{key | kDying, dest}, Slot{key, dest});  // a connection took it meanwhile
    return false;
  }
  // Far in the future until the next tenant sets its own timer (see insert).
  ctl_[i].expires.store(ctl_[i].expires.load(std::memory_order_relaxed) + (1u << 30),
                        std::memory_order_relaxed);
  cas(i, Slot{key | kDying, dest}, Slot{0, nullptr});
  used_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

}  // namespace fastvs
