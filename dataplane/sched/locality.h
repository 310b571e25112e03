// The lblc and lblcr schedulers' table: destination address -> the real server(s) that served it
// last (ip_vs_lblc_table, ip_vs_lblcr_table in net/netfilter/ipvs/ip_vs_lblc.c, ip_vs_lblcr.c).
//
// One table per worker and service, as rr's cursor is per worker (with one worker every choice
// is the kernel's; with several, each worker remembers its own). Fixed size and allocated when
// a service starts using lblc or lblcr (adopting a snapshot), never per packet. An entry holds a
// reference on each destination it names (the kernel's ip_vs_dest_hold), in the worker's own
// slot, so a removed destination stays allocated (in the trash) until no entry names it.
//
// Where the kernel's table grows without bound (and collects entries unused for 6 minutes once
// it holds more than 16 times its buckets), this one is set-associative: a full bucket gives its
// least recently used entry to a new address. A set (lblcr) holds at most kSetMax destinations.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/dest.h"

namespace fastvs {

class LocalityTable {
 public:
  static constexpr uint32_t kBucketBits = 10;  // IP_VS_LBLC_TAB_BITS, IP_VS_LBLCR_TAB_BITS
  static constexpr uint32_t kBuckets = 1u << kBucketBits;
  static constexpr uint32_t kWays = 4;
  static constexpr uint32_t kSetMax = 6;  // one entry, one cache line
  // DEFAULT_EXPIRATION (24 hours, the lblc_expiration and lblcr_expiration sysctls' default),
  // in the worker's ticks (1/16 s).
  static constexpr uint32_t kExpiration = 24u * 60 * 60 * 16;

  struct alignas(64) Entry {
    uint32_t addr = 0;     // the destination address (host order; IPv6: its fold)
    uint32_t lastuse = 0;  // tick of the last lookup
    uint32_t lastmod = 0;  // lblcr: tick the set last changed (set.lastmod)
    uint32_t n = 0;        // destinations in dest[]; 0: the entry is free
    Destination* dest[kSetMax]{};
  };
  static_assert(sizeof(Entry) == 64);

  // `slot`: the worker whose reference slot the entries' references are counted in.
  explicit LocalityTable(uint32_t slot) : slot_(slot) {}
  ~LocalityTable() { flush(); }
  LocalityTable(const LocalityTable&) = delete;
  LocalityTable& operator=(const LocalityTable&) = delete;

  // ip_vs_lblc_get: the entry of addr, or null. One that has not been used for kExpiration is
  // gone, as the kernel's periodic check would have removed it.
  Entry* get(uint32_t addr, uint32_t now);
  // A new entry for addr (not in the table), naming nothing yet: a free way of its bucket, else
  // the one least recently used, emptied.
  Entry* create(uint32_t addr, uint32_t now);

  // ip_vs_dest_set_insert (with its duplicate check) and ip_vs_dest_set_erase. A full set gives
  // up a destination that was removed; else the insert is skipped (as the kernel's allocation
  // failure: the connection still goes to dest).
  void insert(Entry& e, Destination* d, uint32_t now);
  void erase(Entry& e, Destination* d, uint32_t now);
  // Empties an entry, giving back its references (ip_vs_lblc_del).
  void clear(Entry& e);

  // ip_vs_lblc_full_check: entries unused for kExpiration go, `nbuckets` buckets at a time
  // from where the last call stopped (the kernel's rover).
  void expire(uint32_t now, uint32_t nbuckets);
  // ip_vs_lblc_flush: every entry goes (the service left or changed scheduler).
  void flush();

  uint32_t size() const { return used_; }

 private:
  static bool expired(const Entry& e, uint32_t now) {
    return static_cast<uint32_t>(now - e.lastuse) >= kExpiration;
  }
  void ref(Destination* d, int32_t delta);
  // Takes dest[i] out of its entry, keeping the others in order (newest first).
  void remove_at(Entry& e, uint32_t i);

  Entry entries_[kBuckets * kWays];
  uint32_t slot_;
  uint32_t rover_ = 0;
  uint32_t used_ = 0;
};

}  // namespace fastvs
