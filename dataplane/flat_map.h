// A read-only open-addressing map from a 64-bit key to a small value, built once (by control,
// off the hot path) and then only read: lookups touch one or two cache lines, never allocate.
// Used for the snapshot's service, real-server and local-address lookups.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace fastvs {

template <typename V>
class FlatMap64 {
 public:
  // Builds from (key, value) pairs; keys must be unique. Load factor <= 1/2.
  void build(const std::vector<std::pair<uint64_t, V>>& items) {
    size_t cap = 8;
    while (cap < items.size() * 2) cap <<= 1;
    mask_ = cap - 1;
    slots_.assign(cap, Slot{});
    for (const auto& [k, v] : items) {
      size_t i = mix(k) & mask_;
      while (slots_[i].used) i = (i + 1) & mask_;
      slots_[i] = Slot{k, v, true};
    }
  }

  const V* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    size_t i = mix(key) & mask_;
    while (slots_[i].used) {
      if (slots_[i].key == key) return &slots_[i].value;
      i = (i + 1) & mask_;
    }
    return nullptr;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    V value{};
    bool used = false;
  };
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace fastvs
