// Which worker owns a flow. The owner is a function of the client address (CIP) alone: every
// packet of a connection carries it (a request as its source, a NAT reply as its destination, an
// ICMP error in its embedded header, a fragment in its IP header), and a client's connections
// stay on one worker, which persistence (-p) needs. The price is balance when a few clients
// carry most of the traffic.
//
// owner = (fib(CIP) * nworkers) >> 32, where fib is Knuth's multiplicative hash of the address
// in host order: cheap, and it spreads adjacent addresses (one subnet of clients) evenly.
#pragma once

#include <cstdint>

namespace fastvs {

inline unsigned owner_of(uint32_t cip_be, unsigned nworkers) {
  const uint32_t h = __builtin_bswap32(cip_be) * 2654435761u;
  return static_cast<unsigned>((uint64_t{h} * nworkers) >> 32);
}

}  // namespace fastvs
