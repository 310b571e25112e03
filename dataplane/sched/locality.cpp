// The lblc/lblcr table (locality.h).
#include "dataplane/sched/locality.h"

#include "dataplane/hash.h"

namespace fastvs {

namespace {

// ip_vs_lblc_hashkey: hash_32(ntohl(addr), IP_VS_LBLC_TAB_BITS); IPv6 folds first, as here.
uint32_t bucket_of(uint32_t addr) {
  return kernel_hash_32(addr, LocalityTable::kBucketBits);
}

}  // namespace

void LocalityTable::ref(Destination* d, int32_t delta) {
  std::atomic<int32_t>& refs = d->slot[slot_].refs;
  // A release store: once the references sum to 0, control may free the destination, and this
  // worker must be done with it by then (as conn_release).
  refs.store(refs.load(std::memory_order_relaxed) + delta, std::memory_order_release);
}

LocalityTable::Entry* LocalityTable::get(uint32_t addr, uint32_t now) {
  Entry* b = &entries_[bucket_of(addr) * kWays];
  for (uint32_t i = 0; i < kWays; ++i) {
    Entry& e = b[i];
    if (e.n == 0 || e.addr != addr) continue;
    if (expired(e, now)) {
      clear(e);
      return nullptr;
    }
    return &e;
  }
  return nullptr;
}

LocalityTable::Entry* LocalityTable::create(uint32_t addr, uint32_t now) {
  Entry* b = &entries_[bucket_of(addr) * kWays];
  Entry* victim = &b[0];
  for (uint32_t i = 0; i < kWays; ++i) {
    Entry& e = b[i];
    if (e.n == 0 || expired(e, now)) {
      victim = &e;
      break;
    }
    if (static_cast<int32_t>(e.lastuse - victim->lastuse) < 0) victim = &e;
  }
  if (victim->n) clear(*victim);
  victim->addr = addr;
  victim->lastuse = now;
  victim->lastmod = now;
  return victim;
}

void LocalityTable::insert(Entry& e, Destination* d, uint32_t now) {
  for (uint32_t i = 0; i < e.n; ++i)
    if (e.dest[i] == d) return;
  if (e.n == kSetMax) {
    uint32_t gone = kSetMax;
    for (uint32_t i = 0; i < e.n && gone == kSetMax; ++i)
      if (!e.dest[i]->available()) gone = i;
    if (gone == kSetMax) return;
    remove_at(e, gone);  // e.n stays > 0: the entry stays counted
  }
  if (e.n == 0) ++used_;
  // list_add_rcu: the newest first, which is the order set_min and set_max walk.
  for (uint32_t i = e.n; i > 0; --i) e.dest[i] = e.dest[i - 1];
  e.dest[0] = d;
  ++e.n;
  ref(d, 1);
  e.lastmod = now;
}

void LocalityTable::remove_at(Entry& e, uint32_t i) {
  ref(e.dest[i], -1);
  for (uint32_t j = i; j + 1 < e.n; ++j) e.dest[j] = e.dest[j + 1];
  e.dest[--e.n] = nullptr;
}

void LocalityTable::erase(Entry& e, Destination* d, uint32_t now) {
  for (uint32_t i = 0; i < e.n; ++i) {
    if (e.dest[i] != d) continue;
    remove_at(e, i);
    e.lastmod = now;
    if (e.n == 0) --used_;
    return;
  }
}

void LocalityTable::clear(Entry& e) {
  if (e.n == 0) return;
  for (uint32_t i = 0; i < e.n; ++i) {
    ref(e.dest[i], -1);
    e.dest[i] = nullptr;
  }
  e.n = 0;
  --used_;
}

void LocalityTable::expire(uint32_t now, uint32_t nbuckets) {
  for (uint32_t k = 0; k < nbuckets; ++k) {
    rover_ = (rover_ + 1) & (kBuckets - 1);
    Entry* b = &entries_[rover_ * kWays];
    for (uint32_t i = 0; i < kWays; ++i)
      if (b[i].n && expired(b[i], now)) clear(b[i]);
  }
}

void LocalityTable::flush() {
  for (Entry& e : entries_) clear(e);
}

}  // namespace fastvs
