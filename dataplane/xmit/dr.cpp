// Route (LVS-DR, ipvsadm -g): ip_vs_dr_xmit. The IP packet is left as the client sent it, but
// for its TTL (decrement_ttl, since Linux 5.3); only the Ethernet header changes: the real
// server's MAC as destination, the egress port's as source. The real server holds the VIP
// itself (on lo, not answering ARP for it) and replies to the client directly.
#include "dataplane/worker.h"

namespace fastvs {

void xmit_route(Worker& w, rte_mbuf* m, const Conn& c) {
  if (!decrement_ttl(w, m)) return;
  ++w.ctr.dr_out;
  // The real server is on a connected network (checked when it was added): the route gives
  // the port, the neighbour table its MAC.
  route_out(w, m, c.rip);
}

// ip_vs_dr_xmit_v6: the hop limit, then the real server's MAC.
void xmit_route6(Worker& w, rte_mbuf* m, const Conn& c) {
  if (!decrement_hop_limit(w, m)) return;
  ++w.ctr.dr_out;
  route_out6(w, m, c.dest->rip6);
}

}  // namespace fastvs
