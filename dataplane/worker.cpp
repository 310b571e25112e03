#include "dataplane/worker.h"

#include "dataplane/hash.h"
#include "dataplane/sync.h"

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/steer.h"

namespace fastvs {

void worker_adopt(Worker& w, const Snapshot* snap) {
  // The previous snapshot is still readable here: control frees it only after this worker has
  // adopted a newer one (adopted_seq).
  const Snapshot* old = w.snap;
  w.snap = snap;
  std::vector<uint32_t> had_loc;
  had_loc.swap(w.loc_ids);
  for (const auto& s : snap->services) {
    if (s.id >= w.sched.size()) w.sched.resize(s.id + 1);  // new services only: rare
    SchedState& st = w.sched[s.id];
    if (st.gen != s.gen) {
      const SnapService* before = old && st.gen != ~0u ? old->find_by_id(s.id) : nullptr;
      st.slot = w.id;  // lblc/lblcr count their references in this worker's slot
      sched_dests_changed(before ? &before->sched : nullptr, s.sched, st);
      st.gen = s.gen;
    }
    if (st.loc) w.loc_ids.push_back(s.id);
  }
  // The lblc/lblcr tables of services that left go, with their references
  // (ip_vs_lblc_done_svc); a later service with the same id starts afresh.
  for (const uint32_t id : had_loc) {
    if (!snap->find_by_id(id)) {
      w.sched[id].loc.reset();
      w.sched[id].gen = ~0u;
    }
  }
  // An IPv6 address added since the last snapshot is announced (RFC 4861 7.2.6), by worker 0
  // alone. Not at the start: fastvsd's first snapshot is no address being added on a link.
  if (w.id == 0 && old && !snap->addrs6.empty()) {
    for (const SnapAddr6& a : snap->addrs6) {
      const SnapAddr6* was = old->local6(a.ip);
      if (!was || was->port != a.port) send_unsolicited_na(w, a.port, a.ip);
    }
  }
  // Only now may control free `old`: this is the last read of it.
  w.adopted_seq.store(snap->seq, std::memory_order_release);
}

void worker_set_time(Worker& w, uint64_t tsc) {
  w.now_tsc = tsc;
  w.now = static_cast<uint32_t>(tsc / w.tsc_per_tick);
}

void worker_expire(Worker& w, uint32_t budget) {
  w.conns.expire(w.now, budget, [&w](Conn& c) { conn_release(w, c); });
  // lblc/lblcr entries unused for a day, a little once a tick (none: one compare).
  if (unlikely(!w.loc_ids.empty()) && w.loc_tick != w.now) {
    w.loc_tick = w.now;
    for (const uint32_t id : w.loc_ids) sched_expire(w.sched[id], w.now);
  }
}

// ---- classify + steer ----------------------------------------------------------------------

namespace {

// Decides what a parsed packet is and whose it is (the CIP that picks the owner worker).
Verdict classify(const Worker& w, uint16_t in_port, const PacketInfo& pi, uint32_t* cip,
                 const SnapService** svc, Drop* why) {
  const Snapshot& s = *w.snap;
  switch (pi.kind) {
    case PktKind::Arp:
      return Verdict::Local;
    case PktKind::Tcp:
    case PktKind::Udp:
      // ip_vs_service_find: the packet's firewall mark first, then its address (one predicted
      // branch while no firewall-mark service exists).
      if (unlikely(s.fwm4) &&
          (*svc = s.find_fwmark(in_port, pi.proto, pi.saddr, pi.daddr, pi.sport, pi.dport))) {
        *cip = pi.saddr;
        return Verdict::Request;
      }
      if ((*svc = s.find_service(pi.proto, pi.daddr, pi.dport))) {
        *cip = pi.saddr;
        return Verdict::Request;
      }
      if (s.find_masq(pi.proto, pi.saddr, pi.sport)) {
        *cip = pi.daddr;
        return Verdict::Reply;
      }
      if (unlikely(s.fwm_any4) && s.local_by_ip.find(pi.daddr)) {
        *cip = pi.saddr;
        return Verdict::FwmConn;
      }
      break;
    case PktKind::Icmp:
      // A fragment of an ICMP message has no whole message to check or translate.
      if (pi.frag) break;
      if (pi.icmp_error && (pi.inner_proto == kIpProtoTcp || pi.inner_proto == kIpProtoUdp)) {
        // ip_vs_in_icmp: about a packet we sent from VIP:vport to a client.
        // A firewall-mark service's: the packet it is about, turned round, marked as the
        // client's packets are.
        if (s.find_service(pi.inner_proto, pi.inner_saddr, pi.inner_sport) ||
            (unlikely(s.fwm4) && s.find_fwmark(in_port, pi.inner_proto, pi.inner_daddr,
                                               pi.inner_saddr, pi.inner_dport, pi.inner_sport))) {
          *cip = pi.inner_daddr;
          return Verdict::IcmpToRs;
        }
        // ip_vs_out_icmp: about a packet we sent from a client to RIP:rport.
        if (s.find_masq(pi.inner_proto, pi.inner_daddr, pi.inner_dport)) {
          *cip = pi.inner_saddr;
          return Verdict::IcmpToClient;
        }
      }
      break;
    case PktKind::Fragment:
      // No ports: by address alone, steered as its first fragment was (by the CIP), where the
      // fragment table knows its datagram.
      if (pi.proto == kIpProtoTcp || pi.proto == kIpProtoUdp) {
        const uint8_t role = s.addr_role(pi.proto, pi.daddr);
        if ((role & Snapshot::kAddrVip) ||
            (unlikely(s.fwm4) && s.find_fwmark(in_port, pi.proto, pi.saddr, pi.daddr, 0, 0,
                                               /*ports=*/false))) {
          *cip = pi.saddr;
          return Verdict::FragIn;
        }
        if (s.addr_role(pi.proto, pi.saddr) & Snapshot::kAddrMasqRip) {
          *cip = pi.daddr;
          return Verdict::FragOut;
        }
      }
      break;
    case PktKind::OtherIp:
      break;
  }
  // Fragments that are no LVS traffic are not reassembled, here or by the host's stack.
  if (unlikely(pi.frag)) {
    *why = s.local_by_ip.find(pi.daddr) ? Drop::frag_local : Drop::frag_other;
    return Verdict::Drop;
  }
  if (s.local_by_ip.find(pi.daddr)) return Verdict::Local;
  *why = Drop::no_service;
  return Verdict::Drop;
}

void process(Worker& w, rte_mbuf* m, const PacketInfo& pi, Verdict v, const SnapService* svc,
             const ConnLookahead* ahead) {
  switch (v) {
    case Verdict::Request:
      return service_request(w, m, pi, *svc, ahead);
    case Verdict::Reply:
      return nat_reply(w, m, pi, ahead);
    case Verdict::IcmpToRs:
      return nat_icmp(w, m, pi, false);
    case Verdict::IcmpToClient:
      return nat_icmp(w, m, pi, true);
    case Verdict::Local:
      return local_input(w, m, pi);
    case Verdict::FragIn:
      return frag_follow(w, m, pi, false);
    case Verdict::FragOut:
      return frag_follow(w, m, pi, true);
    case Verdict::FwmConn:
      return fwmark_follow(w, m, pi);
    case Verdict::Drop:
      break;
  }
}

bool parse_mbuf(Worker& w, rte_mbuf* m, PacketInfo& pi) {
  Drop why;
  if (unlikely(m->nb_segs != 1)) {
    drop(w, m, Drop::multi_segment);
    return false;
  }
  if (unlikely(!parse_packet(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, pi, &why))) {
    drop(w, m, why);
    return false;
  }
  return true;
}

// Frames for another host's MAC, which the kernel refuses (the port is promiscuous:
// PACKET_OTHERHOST).
bool frame_for_us(const Worker& w, const rte_mbuf* m, Drop* why) {
  const uint8_t* dmac = rte_pktmbuf_mtod(m, const uint8_t*);
  if (!(dmac[0] & 1) && std::memcmp(dmac, w.snap->port_mac[m->port].data(), 6) != 0)
    return refuse(why, Drop::other_host);
  return true;
}

// ip_mc_validate_source: a source in 0/8 is taken only to a multicast group, and then only to
// the local network control block (224.0.0.0/24) or in IGMP (a bridge's or a host's IGMPv3 report
// from 0.0.0.0, RFC 3376 4.2.13): the host's, through the kernel path.
bool zero_source_ok(const PacketInfo& pi) {
  const uint32_t d = rte_be_to_cpu_32(pi.daddr);
  return (d >> 28) == 0xe && ((d >> 8) == 0xe00000 || pi.proto == kIpProtoIgmp);
}

// What the kernel refuses before routing IPv4: those frames, and martian sources (0/8, 127/8,
// multicast and above, ours).
bool ip_acceptable(const Worker& w, const rte_mbuf* m, const PacketInfo& pi, Drop* why) {
  if (!frame_for_us(w, m, why)) return false;
  const uint8_t first = static_cast<uint8_t>(pi.saddr);  // network order: the first octet
  if (unlikely(first == 0) && zero_source_ok(pi)) return true;
  if (first == 0 || first == 127 || first >= 224 || w.snap->local_by_ip.find(pi.saddr))
    return refuse(why, Drop::martian_source);
  return true;
}

}  // namespace

void handoff(Worker& w, unsigned owner, rte_mbuf* m) {
  if (unlikely(rte_ring_sp_enqueue(w.handoff_out[owner], m) != 0)) {
    drop(w, m, Drop::handoff_full);
    return;
  }
  ++w.ctr.handoff_out;
}

namespace {
// A packet between the burst's stages: what classify decided, and its connection key when it
// has one (a whole TCP/UDP request or NAT reply), looked up with the others' in one go.
struct Staged {
  rte_mbuf* m;  // null: dropped, handed off or answered in the first stage
  const SnapService* svc;
  PacketInfo pi;
  Verdict v;
  uint8_t key;  // index into the burst's keys, or kNoKey
};
constexpr uint8_t kNoKey = 0xff;
static_assert(kBurst <= RTE_HASH_LOOKUP_BULK_MAX && kBurst < kNoKey);

// The first stage for one packet: parse, refuse what the kernel refuses, classify, then (kSteer:
// it came from an RX queue) hand it to its owner. False when the packet has gone.
template <bool kSteer>
bool rx_stage(Worker& w, rte_mbuf* m, Staged& s) {
  PacketInfo& pi = s.pi;
  if (!parse_mbuf(w, m, pi)) return false;
  Drop why = Drop::no_service;
  if (unlikely(pi.v6)) {
    if (!frame_for_us(w, m, &why)) {
      drop(w, m, why);
    } else {
      ip6_input(w, m, pi, kSteer);
    }
    return false;
  }
  // A handed-over packet was already checked by the worker that received it.
  if (kSteer && pi.kind != PktKind::Arp && unlikely(!ip_acceptable(w, m, pi, &why))) {
    drop(w, m, why);
    return false;
  }
  uint32_t cip = 0;
  s.svc = nullptr;
  s.v = classify(w, m->port, pi, &cip, &s.svc, &why);
  // Traffic through the director that is no LVS traffic (a NAT real server's own connections
  // out, what the host routes) is the host's to forward or refuse, as in a kernel director.
  if (s.v == Verdict::Drop) {
    // VRRP adverts (to 224.0.0.18) on their own budget: keepalived's, on the kernel path.
    why == Drop::no_service ? to_kernel(w, m, why, pi.proto == kIpProtoVrrp) : drop(w, m, why);
    return false;
  }
  if (kSteer && s.v != Verdict::Local && w.nworkers > 1) {
    const unsigned owner = owner_of(cip, w.nworkers);
    if (owner != w.id) {
      handoff(w, owner, m);
      return false;
    }
  }
  s.m = m;
  return true;
}

// A new NAT flow's reply key is looked up (a collision check) just before it is inserted, on a
// table far bigger than the cache: a lone miss per new flow, about half of a worker's time at
// its new-flow rate. The reply key depends on the destination the scheduler will pick, so for a
// service of a few destinations the burst's candidates are all fetched at once, misses
// overlapped. Only the cache changes.
constexpr unsigned kWarmDests = 4;

void warm_reply_keys(Worker& w, const Staged* st, unsigned n, const ConnLookahead* ahead) {
  ConnKey keys[RTE_HASH_LOOKUP_BULK_MAX];
  const ConnKey* kp[RTE_HASH_LOOKUP_BULK_MAX];
  unsigned nk = 0;
  for (unsigned i = 0; i < n; ++i) {
    const Staged& s = st[i];
    if (!s.m || s.v != Verdict::Request || s.key == kNoKey || ahead[s.key].found != kConnNone)
      continue;
    const PacketInfo& pi = s.pi;
    if (pi.kind == PktKind::Tcp && (pi.tcp_flags & (kTcpSyn | kTcpRst)) != kTcpSyn) continue;
    const SnapService& svc = *s.svc;
    if (svc.dests.size() > kWarmDests || nk + svc.dests.size() > RTE_HASH_LOOKUP_BULK_MAX) continue;
    for (const Destination* d : svc.dests) {
      if (d->method.load(std::memory_order_relaxed) != ForwardMethod::Masq) continue;
      keys[nk] = make_key(d->rip_be, pi.saddr, svc.real_port(*d, pi.dport), pi.sport, pi.proto);
      kp[nk] = &keys[nk];
      ++nk;
    }
  }
  if (nk > 1) w.conns.warm(kp, nk);
}

// Parse and classify every packet, look every connection key up at once, then process in the
// order received (a later packet of a flow the burst creates finds it: ConnLookahead).
template <bool kSteer>
void burst(Worker& w, rte_mbuf** pkts, unsigned n) {
  constexpr unsigned kPrefetch = 3;
  Staged st[kBurst];
  ConnKey keys[kBurst];
  const ConnKey* kp[kBurst];
  ConnLookahead ahead[kBurst];
  unsigned nkeys = 0;
  for (unsigned i = 0; i < n && i < kPrefetch; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  for (unsigned i = 0; i < n; ++i) {
    if (i + kPrefetch < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetch], void*));
    Staged& s = st[i];
    s.m = nullptr;
    if (!rx_stage<kSteer>(w, pkts[i], s)) continue;
    s.key = kNoKey;
    if ((s.v == Verdict::Request || s.v == Verdict::Reply) && s.pi.kind != PktKind::Fragment) {
      keys[nkeys] = make_key(s.pi.saddr, s.pi.daddr, s.pi.sport, s.pi.dport, s.pi.proto);
      kp[nkeys] = &keys[nkeys];
      s.key = static_cast<uint8_t>(nkeys++);
    }
  }
  if (nkeys) w.conns.lookup_bulk(kp, nkeys, ahead);
  warm_reply_keys(w, st, n, ahead);
  for (unsigned i = 0; i < n; ++i) {
    Staged& s = st[i];
    if (s.m) process(w, s.m, s.pi, s.v, s.svc, s.key != kNoKey ? &ahead[s.key] : nullptr);
  }
}
}  // namespace

void worker_rx_burst(Worker& w, rte_mbuf** pkts, unsigned n) {
  w.ctr.rx += n;
  w.neigh_gen = w.neigh->generation();
  if (unlikely(w.npending != 0)) worker_retry_pending(w);
  for (unsigned off = 0; off < n; off += kBurst)
    burst<true>(w, pkts + off, std::min(n - off, kBurst));
}

void worker_owned_burst(Worker& w, rte_mbuf** pkts, unsigned n) {
  w.ctr.handoff_in += n;
  w.neigh_gen = w.neigh->generation();
  if (unlikely(w.npending != 0)) worker_retry_pending(w);
  for (unsigned off = 0; off < n; off += kBurst)
    burst<false>(w, pkts + off, std::min(n - off, kBurst));
}

// ---- transmit ---------------------------------------------------------------------------------

namespace {
void flush_port(Worker& w, uint16_t port) {
  TxBuffer& b = w.txbuf[port];
  if (!b.n) return;
  if (w.capture) {
    w.capture->insert(w.capture->end(), b.pkts, b.pkts + b.n);
    w.ctr.tx += b.n;
    b.n = 0;
    return;
  }
  const uint16_t sent = rte_eth_tx_burst(port, static_cast<uint16_t>(w.txq[port]), b.pkts, b.n);
  w.ctr.tx += sent;
  for (uint16_t i = sent; i < b.n; ++i) drop(w, b.pkts[i], Drop::tx_full);
  b.n = 0;
}
}  // namespace

void tx_enqueue(Worker& w, uint16_t port, rte_mbuf* m) {
  m->port = port;
  if (unlikely(w.txq[port] < 0)) {
    // No TX queue of our own on this port: the worker that has one sends it.
    if (rte_ring_sp_enqueue(w.txho_out[w.tx_owner[port]], m) != 0) drop(w, m, Drop::tx_full);
    return;
  }
  TxBuffer& b = w.txbuf[port];
  b.pkts[b.n++] = m;
  if (b.n == kTxBufSize) flush_port(w, port);
}

void worker_flush(Worker& w) {
  for (uint16_t p = 0; p < w.snap->nports; ++p)
    if (w.txbuf[p].n) flush_port(w, p);
  // Control sleeps in epoll: one wake-up per loop iteration that queued for the kernel.
  if (unlikely(w.kernel_wake)) {
    w.kernel_wake = false;
    const uint64_t one = 1;
    if (w.kernel_wake_fd >= 0 && write(w.kernel_wake_fd, &one, sizeof one) < 0) {
      // EAGAIN: the counter is already non-zero, control will wake anyway.
    }
  }
}

namespace {
// Keeps a packet until its next hop is known (Worker::pending); the oldest makes room.
void hold(Worker& w, rte_mbuf* m, uint32_t dst4, const uint8_t* dst6, int link_port) {
  if (w.npending == 0) {
    w.pending_gen4 = w.neigh->generation();
    w.pending_gen6 = w.neigh6 ? w.neigh6->generation() : 0;
  } else if (w.npending == Worker::kPendingMax) {
    drop(w, w.pending[0].m, Drop::neigh_unresolved);
    std::memmove(&w.pending[0], &w.pending[1], sizeof(Worker::Pending) * (Worker::kPendingMax - 1));
    --w.npending;
  }
  Worker::Pending& p = w.pending[w.npending++];
  p.m = m;
  p.since = w.now;
  p.link_port = static_cast<int16_t>(link_port);
  p.v6 = dst6 != nullptr;
  p.dst4 = dst4;
  if (dst6) std::memcpy(p.dst6, dst6, 16);
}
}  // namespace

void worker_retry_pending(Worker& w) {
  const uint32_t g4 = w.neigh->generation();
  const uint32_t g6 = w.neigh6 ? w.neigh6->generation() : 0;
  const bool changed = g4 != w.pending_gen4 || g6 != w.pending_gen6;
  // Nothing learned and the oldest still within its time: nothing to do (the common case).
  if (!changed && w.now - w.pending[0].since < Worker::kPendingTicks) return;
  w.pending_gen4 = g4;
  w.pending_gen6 = g6;
  Worker::Pending held[Worker::kPendingMax];
  const unsigned n = w.npending;
  std::memcpy(held, w.pending, sizeof(Worker::Pending) * n);
  w.npending = 0;
  w.neigh_gen = g4;
  for (unsigned i = 0; i < n; ++i) {
    Worker::Pending& p = held[i];
    if (w.now - p.since >= Worker::kPendingTicks) {
      drop(w, p.m, Drop::neigh_unresolved);
    } else if (!changed) {
      w.pending[w.npending++] = p;  // kept, in its place
    } else {
      const unsigned before = w.npending;
      if (p.v6)
        route_out6(w, p.m, p.dst6, p.link_port);
      else
        route_out(w, p.m, p.dst4);
      if (w.npending > before) w.pending[w.npending - 1].since = p.since;  // still waiting
    }
  }
}

void worker_drop_pending(Worker& w) {
  for (unsigned i = 0; i < w.npending; ++i) drop(w, w.pending[i].m, Drop::neigh_unresolved);
  w.npending = 0;
}

void route_out(Worker& w, rte_mbuf* m, uint32_t dst) {
  Worker::NextHop& nh = w.nexthop[kernel_hash_32(dst, slot_bits<Worker::kNextHops>())];
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  if (likely(nh.dst == dst && nh.neigh_gen == w.neigh_gen && nh.snap_seq == w.snap->seq)) {
    std::memcpy(eth, nh.macs, 12);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    return tx_enqueue(w, nh.port, m);
  }
  const SnapRoute* r = w.snap->route(dst);
  if (unlikely(!r)) return drop(w, m, Drop::no_route);
  const uint32_t nexthop = r->via ? r->via : dst;
  uint16_t nport;
  MacAddr mac;
  if (unlikely(!w.neigh->lookup(nexthop, &nport, &mac) || nport != r->port)) {
    // Like the kernel, ask, and keep the packet until the answer (hold).
    send_arp_request(w, r->port, nexthop);
    return hold(w, m, dst, nullptr, -1);
  }
  std::memcpy(&eth->dst_addr, mac.data(), 6);
  std::memcpy(&eth->src_addr, w.snap->port_mac[r->port].data(), 6);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  nh.dst = dst;
  nh.neigh_gen = w.neigh_gen;
  nh.snap_seq = w.snap->seq;
  nh.port = r->port;
  std::memcpy(nh.macs, eth, 12);
  tx_enqueue(w, r->port, m);
}

void route_out6(Worker& w, rte_mbuf* m, const uint8_t* dst, int link_port) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  const bool link_local = ip6_is_link_local(dst);
  // Resolved next hops, as route_out's (a link-local destination's port is the packet's).
  const uint32_t gen = w.neigh6 ? w.neigh6->generation() : 0;
  Worker::NextHop6& nh = w.nexthop6[kernel_hash_32(ip6_fold(dst), slot_bits<Worker::kNextHops6>())];
  if (likely(!link_local && nh.neigh_gen == gen && gen != 0 && nh.snap_seq == w.snap->seq &&
             std::memcmp(nh.dst, dst, 16) == 0)) {
    std::memcpy(eth, nh.macs, 12);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    return tx_enqueue(w, nh.port, m);
  }
  Ip6Key nexthop;
  std::memcpy(nexthop.b, dst, 16);
  uint16_t port;
  if (link_local) {
    // Link-local (fe80::/10): on the link it came from, never routed (as the kernel's fe80::/64
    // on every IPv6 interface).
    if (link_port < 0) return drop(w, m, Drop::no_route);
    port = static_cast<uint16_t>(link_port);
  } else {
    const SnapRoute6* r = w.snap->route6(dst);
    if (unlikely(!r)) return drop(w, m, Drop::no_route);
    if (r->has_via) std::memcpy(nexthop.b, r->via, 16);
    port = r->port;
  }
  uint16_t nport;
  MacAddr mac;
  if (unlikely(!w.neigh6 || !w.neigh6->lookup(nexthop, &nport, &mac) || nport != port)) {
    send_nd_solicit(w, port, nexthop.b);
    return hold(w, m, 0, dst, link_port);
  }
  std::memcpy(&eth->dst_addr, mac.data(), 6);
  std::memcpy(&eth->src_addr, w.snap->port_mac[port].data(), 6);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
  if (!link_local && gen != 0) {
    std::memcpy(nh.dst, dst, 16);
    nh.neigh_gen = gen;
    nh.snap_seq = w.snap->seq;
    nh.port = port;
    std::memcpy(nh.macs, eth, 12);
  }
  tx_enqueue(w, port, m);
}

bool decrement_hop_limit(Worker& w, rte_mbuf* m) {
  uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, kEthHdrLen);
  if (unlikely(ip[7] <= 1)) {
    // ip6_forward: ICMPV6_TIME_EXCEED, ICMPV6_EXC_HOPLIMIT (code 0).
    send_icmp6_error(w, m, kIcmp6TimeExceeded, 0, 0);
    drop(w, m, Drop::ttl_exceeded);
    return false;
  }
  --ip[7];  // no header checksum in IPv6
  return true;
}

bool decrement_ttl(Worker& w, rte_mbuf* m) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthHdrLen);
  if (unlikely(ip->time_to_live <= 1)) {
    send_icmp_error(w, m, kIcmpTimeExceeded, 0, 0);
    drop(w, m, Drop::ttl_exceeded);
    return false;
  }
  // ip_decrease_ttl: the TTL is the high byte of its 16-bit word, so the sum gains 0x0100.
  uint32_t check = ip->hdr_checksum;
  check += rte_cpu_to_be_16(0x0100);
  ip->hdr_checksum = static_cast<uint16_t>(check + (check >= 0xffff));
  --ip->time_to_live;
  return true;
}

// ---- the poll loop -----------------------------------------------------------------------------

constexpr uint32_t kExpireBudget = 256;

namespace {
// What other workers handed us: packets we own, and output for our TX queues.
unsigned poll_rings(Worker& w, rte_mbuf** pkts) {
  unsigned got = 0;
  for (unsigned o = 0; o < w.nworkers; ++o) {
    if (w.handoff_in[o]) {
      const unsigned n = rte_ring_sc_dequeue_burst(w.handoff_in[o], (void**)pkts, kBurst, nullptr);
      if (n) worker_owned_burst(w, pkts, n);
      got += n;
    }
    if (w.txho_in[o]) {
      const unsigned n = rte_ring_sc_dequeue_burst(w.txho_in[o], (void**)pkts, kBurst, nullptr);
      for (unsigned i = 0; i < n; ++i) tx_enqueue(w, pkts[i]->port, pkts[i]);
      got += n;
    }
  }
  if (w.from_kernel) {
    // The host's frames, already addressed by its own stack: out of the port they are for.
    const unsigned n = rte_ring_sc_dequeue_burst(w.from_kernel, (void**)pkts, kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) tx_enqueue(w, pkts[i]->port, pkts[i]);
    w.ctr.from_kernel += n;
    got += n;
  }
  return got;
}
}  // namespace

void worker_poll_snapshot(Worker& w) {
  const Snapshot* newest = w.latest.load(std::memory_order_acquire);
  if (newest && newest != w.snap) worker_adopt(w, newest);
}

void worker_dump_step(Worker& w, uint32_t budget) {
  ConnDump& d = w.dump;
  w.conns.for_each(d.cursor, budget, [&](const Conn& c) {
    if (d.rows.size() == d.rows.capacity()) {
      d.truncated = true;
      return;
    }
    const int32_t left = static_cast<int32_t>(c.expires - w.now);
    ConnRow r{{},      {},      {},
              c.cport, c.vport, c.rport,
              c.proto, c.state, left > 0 ? static_cast<uint32_t>(left) : 0};
    const auto v6 = [](const uint8_t* b) {
      IpAddr::Bytes x;
      std::memcpy(x.data(), b, 16);
      return IpAddr::v6(x);
    };
    if (c.flags & kConnV6) {
      // The folds are the keys' business: the listing shows the whole addresses.
      const ConnAddrs6& a = w.conns.addrs6(c);
      r.cip = v6(a.cip);
      r.vip = v6(a.vip);
    } else {
      r.cip = IpAddr::v4(rte_be_to_cpu_32(c.cip));
      r.vip = IpAddr::v4(rte_be_to_cpu_32(c.vip));
    }
    // The real server's family may be the other one (a tunnel): its destination says.
    if (c.dest && c.dest->v6)
      r.rip = v6(c.dest->rip6);
    else
      r.rip = IpAddr::v4(rte_be_to_cpu_32(c.dest ? c.dest->rip_be : c.rip));
    d.rows.push_back(r);
  });
  d.cursor += budget;
  if (d.cursor >= w.conns.capacity()) d.state.store(ConnDump::kDone, std::memory_order_release);
}

int worker_main(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  rte_mbuf* pkts[kBurst];
  uint32_t idle = 0;
  rte_rcu_qsbr_thread_online(w.qsbr, w.id);
  while (!w.stop->load(std::memory_order_relaxed)) {
    // Between bursts: no pointer into a snapshot is held here.
    worker_poll_snapshot(w);
    rte_rcu_qsbr_quiescent(w.qsbr, w.id);
    worker_set_time(w, rte_rdtsc());
    unsigned got = 0;
    for (unsigned q = 0; q < w.nrxq; ++q) {
      const uint16_t n = rte_eth_rx_burst(w.rxq[q].port, w.rxq[q].queue, pkts, kBurst);
      if (n) worker_rx_burst(w, pkts, n);
      got += n;
    }
    got += poll_rings(w, pkts);
    // The backup's synced connections, between bursts (empty: one load of the ring's head).
    if (unlikely(w.sync_in != nullptr) && !rte_ring_empty(w.sync_in))
      got += worker_sync_apply(w, 256);
    // Packets waiting for a next hop: sent once it is learned, dropped when too old.
    if (unlikely(w.npending != 0)) worker_retry_pending(w);
    // A closed loop (a benchmark, a ping-pong test) waits on what we buffered: send it now.
    worker_flush(w);
    // Cheap when nothing is due (one compare); a bounded budget keeps a burst of expiries from
    // delaying forwarding, and running every iteration lets expiry keep up with creation.
    worker_expire(w, kExpireBudget);
    if (unlikely(w.dump.state.load(std::memory_order_acquire) == ConnDump::kAsked))
      worker_dump_step(w, 8192);
    if (got) {
      idle = 0;
    } else if (w.idle_sleep_us && ++idle > 64) {
      // Asleep, the worker holds no snapshot pointer it will use: offline, it does not hold up
      // reclamation. Awake, it adopts the newest snapshot before it touches a packet.
      rte_rcu_qsbr_thread_offline(w.qsbr, w.id);
      usleep(w.idle_sleep_us);
      rte_rcu_qsbr_thread_online(w.qsbr, w.id);
    }
  }
  // Stopping, second phase: no more RX, but what other workers still hand us (their last
  // packets, their output for our TX queues) goes out, until control has seen every worker
  // quiet. Then the last flush, before the ports close.
  while (!w.exit->load(std::memory_order_acquire)) {
    const unsigned got = poll_rings(w, pkts);
    worker_flush(w);
    if (got)
      w.drained += got;
    else
      usleep(100);
  }
  worker_drop_pending(w);
  worker_flush(w);
  // The lblc/lblcr tables give their references back while the destinations still exist.
  for (const uint32_t id : w.loc_ids) w.sched[id].loc.reset();
  w.loc_ids.clear();
  rte_rcu_qsbr_thread_offline(w.qsbr, w.id);
  return 0;
}

}  // namespace fastvs
