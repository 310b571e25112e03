// Fragments, forwarded one by one (frag_table.h): the first fragment takes the normal path
// (connection, scheduling, its method) and its datagram is remembered; each later fragment, which
// has no ports, finds the datagram and then its connection and goes the same way: NAT rewrites
// its IP header only, DR its MACs, TUN encapsulates it. IPVS sees whole datagrams instead (the
// kernel reassembles before LOCAL_IN and fragments again on the way out), so there a datagram
// counts as one packet; here every fragment counts as a packet of its connection.
#include "dataplane/worker.h"

namespace fastvs {

namespace {
uint16_t ip_payload(const PacketInfo& pi) {
  return static_cast<uint16_t>(pi.ip_len - (pi.l4_off - pi.l3_off));
}
}  // namespace

void frag_remember(Worker& w, const PacketInfo& pi) {
  bool evicted;
  w.frags.remember(pi.saddr, pi.daddr, pi.ip_id, pi.proto, pi.sport, pi.dport, ip_payload(pi),
                   w.now, &evicted);
  ++w.ctr.frags_tracked;
  if (evicted) ++w.ctr.frags_evicted;
}

namespace {
// A later fragment whose datagram and connection are known: counted, then its connection's way
// (the IPv4 or the IPv6 transmitters).
template <bool kV6>
void frag_send(Worker& w, rte_mbuf* m, const PacketInfo& pi, FragEntry& e, const Conn& c,
               bool reply) {
  FragTable::account(e, pi.frag_off, ip_payload(pi), pi.frag & kFragMore);
  // No state update: a fragment has no TCP flags, and its first fragment just refreshed the
  // timeout. As for the first fragment, a removed destination's requests are dropped.
  if (!reply && unlikely(!(c.dest->flags.load(std::memory_order_relaxed) & kDestAvailable)))
    return drop(w, m, Drop::dest_removed);
  ++w.ctr.frags_followed;
  conn_count(w, c.dest, m, !reply);
  if (reply) return kV6 ? nat_reply6_frag(w, m, pi, c) : nat_reply_frag(w, m, pi, c);
  switch (c.method) {
    case ForwardMethod::Masq:
      return kV6 ? xmit_masq6_frag(w, m, pi, c) : xmit_masq_frag(w, m, pi, c);
    case ForwardMethod::Route:
      return kV6 ? xmit_route6(w, m, c) : xmit_route(w, m, c);
    case ForwardMethod::Tunnel:
      return kV6 ? xmit_tunnel6(w, m, c) : xmit_tunnel(w, m, c);
  }
}
}  // namespace

void frag_follow(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool reply) {
  FragEntry* e = w.frags.find(pi.saddr, pi.daddr, pi.ip_id, pi.proto, w.now);
  // A fragment that comes before its first fragment is lost with the datagram: nothing is held.
  if (!e) return drop(w, m, Drop::frag_unknown);
  // The connection again, by the datagram's five-tuple: one that ended since is not followed.
  bool is_out = false;
  Conn* c = w.conns.lookup(make_key(pi.saddr, pi.daddr, e->sport, e->dport, pi.proto), &is_out);
  if (!c || is_out != reply) return drop(w, m, Drop::frag_unknown);
  frag_send<false>(w, m, pi, *e, *c, reply);
}

// IPv6's later fragments: the table keys them by the addresses' folds and the identification's
// low 16 bits (IPv4's key); the connection is then found by the whole addresses, so a datagram
// mistaken for another of the same folds and low bits finds no connection and is dropped.
void frag_follow6(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool reply) {
  FragEntry* e = w.frags.find(pi.saddr, pi.daddr, pi.ip_id, pi.proto, w.now);
  if (!e || !w.conns.ipv6()) return drop(w, m, Drop::frag_unknown);
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, pi.l3_off);
  bool is_out = false;
  Conn* c = w.conns.lookup6(make_key6(ip + 8, ip + 24, e->sport, e->dport, pi.proto), &is_out);
  if (!c || is_out != reply) return drop(w, m, Drop::frag_unknown);
  frag_send<true>(w, m, pi, *e, *c, reply);
}

}  // namespace fastvs
