// hash_32() of the kernel's include/linux/hash.h: multiply by GOLDEN_RATIO_32 and keep the top
// `bits` bits. IPVS's sh and dh schedulers hash addresses with it (so must we, for the same
// sequences); the data plane's small direct-mapped tables index with it too, each table's bits
// derived from its size by slot_bits().
#pragma once

#include <bit>
#include <cstdint>

namespace fastvs {

constexpr uint32_t kernel_hash_32(uint32_t val, unsigned bits) {
  return (val * uint32_t{0x61C88647}) >> (32 - bits);
}

// log2 of a table's slot count, which must be a power of two.
template <uint32_t Slots>
constexpr unsigned slot_bits() {
  static_assert(std::has_single_bit(Slots) && Slots > 1, "a power of two");
  return static_cast<unsigned>(std::countr_zero(Slots));
}

}  // namespace fastvs
