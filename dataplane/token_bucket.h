// A token bucket on a worker's tick clock (1/16 s): what the director sends or takes on itself at
// a bounded rate (ARP replies, echo replies, ICMP errors, the kernel path). One worker owns each
// bucket: no lock, no atomic, no system call, no floating point.
//
// Credit is kept in sixteenths of a token (one token a second earns one sixteenth a tick), so
// every rate refills exactly, below 16 a second too, with no remainder lost between refills.
#pragma once

#include <algorithm>
#include <cstdint>

#include "dataplane/conn_table.h"  // kTicksPerSecond

namespace fastvs {

class TokenBucket {
 public:
  // `rate` tokens a second, at most `depth` held (the burst). Starts full. Rate 0 or depth 0:
  // nothing ever passes.
  constexpr TokenBucket(uint32_t rate, uint32_t depth)
      : rate_(rate), cap_(rate ? uint64_t{depth} * kTicksPerSecond : 0), credit_(cap_) {}

  // A tenth of a second of `rate` deep (at least one token): a burst a tenth of a second long
  // passes at once, a flood is cut to `rate`.
  static constexpr TokenBucket tenth_deep(uint32_t rate) {
    return TokenBucket(rate, std::max(rate / 10, 1u));
  }

  // Takes a token if there is one at tick `now` (the worker's clock, which only moves forward).
  bool take(uint32_t now) {
    if (now != tick_) {
      // At most 2^32 ticks times 2^32 a second: no overflow in 64 bits; nor in the sum, which
      // never goes above the cap.
      const uint64_t add = uint64_t{now - tick_} * rate_;
      credit_ = add >= cap_ - credit_ ? cap_ : credit_ + add;
      tick_ = now;
    }
    if (credit_ < kTicksPerSecond) return false;
    credit_ -= kTicksPerSecond;
    return true;
  }

  uint32_t rate() const { return rate_; }
  uint32_t depth() const { return static_cast<uint32_t>(cap_ / kTicksPerSecond); }
  uint32_t tokens() const { return static_cast<uint32_t>(credit_ / kTicksPerSecond); }

 private:
  uint32_t rate_;
  uint64_t cap_;     // depth in sixteenths
  uint64_t credit_;  // in sixteenths of a token
  uint32_t tick_ = 0;
};

}  // namespace fastvs
