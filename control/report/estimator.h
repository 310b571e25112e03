// IPVS's rate estimator (net/netfilter/ipvs/ip_vs_est.c), pure: every 2 seconds the counters'
// growth is folded into a smoothed rate, avg += (sample - avg) / 4, kept in fixed point (rates
// of connections and packets scaled by 2^10, of bytes by 2^5), and read rounded as the kernel
// reads it (ip_vs_read_estimator). So --rate shows what ipvsadm would show for the same traffic.
#pragma once

#include <cstdint>

#include "control/report/ipvsadm_print.h"

namespace fastvs {

class RateEstimator {
 public:
  static constexpr unsigned kIntervalSeconds = 2;

  // The counters as they stand now (raw, not zero-adjusted): the next tick measures from here.
  void reset(const IpvsCounters& raw) {
    last_ = raw;
    cps_ = inpps_ = outpps_ = inbps_ = outbps_ = 0;
  }

  // One 2-second tick. A counter that went down (a destination left the service's sum) counts
  // as no growth rather than a wrap.
  void tick(const IpvsCounters& raw) {
    fold(cps_, raw.conns, last_.conns, 9);
    fold(inpps_, raw.inpkts, last_.inpkts, 9);
    fold(outpps_, raw.outpkts, last_.outpkts, 9);
    fold(inbps_, raw.inbytes, last_.inbytes, 4);
    fold(outbps_, raw.outbytes, last_.outbytes, 4);
  }

  // The rates per second into out's cps..outbps.
  void read(IpvsCounters& out) const {
    out.cps = static_cast<uint64_t>((cps_ + 0x1FF) >> 10);
    out.inpps = static_cast<uint64_t>((inpps_ + 0x1FF) >> 10);
    out.outpps = static_cast<uint64_t>((outpps_ + 0x1FF) >> 10);
    out.inbps = static_cast<uint64_t>((inbps_ + 0xF) >> 5);
    out.outbps = static_cast<uint64_t>((outbps_ + 0xF) >> 5);
  }

 private:
  // rate = growth over 2 s << shift (conns, packets: << 9 = per second << 10; bytes: << 4 =
  // per second << 5), then the kernel's e->x += (rate - e->x) >> 2.
  static void fold(int64_t& avg, uint64_t now, uint64_t& last, unsigned shift) {
    const int64_t grown = now >= last ? static_cast<int64_t>(now - last) : 0;
    last = now;
    const int64_t rate = grown << shift;
    avg += (rate - avg) >> 2;
  }

  IpvsCounters last_;
  int64_t cps_ = 0, inpps_ = 0, outpps_ = 0, inbps_ = 0, outbps_ = 0;
};

}  // namespace fastvs
