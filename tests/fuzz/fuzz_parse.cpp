// libFuzzer: the packet parser on any bytes. It must never read past them (ASan) nor accept a
// packet whose lengths do not add up.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> exact(data, data + size);  // a heap copy of exactly this size
  fastvs::PacketInfo pi;
  fastvs::Drop why;
  if (fastvs::parse_packet(exact.data(), static_cast<uint32_t>(exact.size()), pi, &why) &&
      pi.kind != fastvs::PktKind::Arp) {
    if (pi.l3_off + pi.ip_len > size || pi.l4_off > pi.l3_off + pi.ip_len) std::abort();
    if (pi.icmp_error && pi.inner_l4_off + 4u > size) std::abort();
  }
  return 0;
}
