// A packet to a service: find or make its connection (ip_vs_in), then hand it to the
// connection's forwarding method (cp->packet_xmit). The rest of a connection's life (state,
// counts, expiry) is the same for every method.
#include <rte_ip.h>

#include <algorithm>

#include "dataplane/sync.h"
#include "dataplane/worker.h"

namespace fastvs {

// set_tcp_state / udp_state_transition: the next state, IPVS's active/inactive accounting, and
// the new timeout.
void conn_update_state(Worker& w, Conn* c, TcpDir dir, uint8_t tcp_flags) {
  uint32_t secs;
  if (c->proto == kIpProtoTcp) {
    bool no_output = c->flags & kConnNoOutput;
    const TcpDir rows = tcp_effective_dir(dir, &no_output);
    if (!no_output) c->flags &= static_cast<uint8_t>(~kConnNoOutput);
    const TcpState next = tcp_next_state(c->state, rows, tcp_flags);
    if (next != c->state && c->dest) {
      DestWorkerSlot& slot = c->dest->slot[w.id];
      if (!(c->flags & kConnInactive) && !tcp_state_active(next)) {
        slot_add(slot.activeconns, -1);
        slot_add(slot.inactconns, 1);
        c->flags |= kConnInactive;
      } else if ((c->flags & kConnInactive) && tcp_state_active(next)) {
        slot_add(slot.activeconns, 1);
        slot_add(slot.inactconns, -1);
        c->flags &= static_cast<uint8_t>(~kConnInactive);
      }
    }
    c->state = next;
    secs = w.snap->tcp_timeouts[next];
  } else {
    secs = w.snap->udp_timeout;
  }
  w.conns.touch(c, secs * kTicksPerSecond, w.now);
}

// ip_vs_bind_dest's threshold rule: at its upper threshold a destination is OVERLOADED and
// every scheduler skips it.
void dest_check_overload(Destination& d) {
  const uint32_t u = d.u_threshold.load(std::memory_order_relaxed);
  if (u != 0 && !d.overloaded() && static_cast<uint32_t>(d.totalconns()) >= u)
    d.flags.fetch_or(kDestOverload, std::memory_order_relaxed);
}

// ip_vs_unbind_dest: below the lower threshold (or 3/4 of the upper one when there is no lower
// one) the overload lifts; with no thresholds at all it lifts at once.
void dest_check_underload(Destination& d) {
  if (!d.overloaded()) return;
  const uint32_t l = d.l_threshold.load(std::memory_order_relaxed);
  const uint32_t u = d.u_threshold.load(std::memory_order_relaxed);
  const uint64_t total = static_cast<uint32_t>(std::max(d.totalconns(), 0));
  if (l != 0 ? total < l : u != 0 ? total * 4 < uint64_t{u} * 3 : true)
    d.flags.fetch_and(~uint32_t{kDestOverload}, std::memory_order_relaxed);
}

void conn_release(Worker& w, Conn& c) {
  ++w.ctr.conns_expired;
  if (c.tmpl) w.persist->release(c.tmpl - 1);
  if (!c.dest) return;
  DestWorkerSlot& slot = c.dest->slot[w.id];
  slot_add(c.flags & kConnInactive ? slot.inactconns : slot.activeconns, -1);
  dest_check_underload(*c.dest);
  // Last: once the references sum to 0, control may free the destination.
  slot.refs.store(slot.refs.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

void conn_forget(Worker& w, Conn* c) {
  conn_release(w, *c);
  w.conns.remove(c);
}

// A template's PersistConn and its reference on the destination (ip_vs_bind_dest for a
// template), counted in this worker's slot whoever gives them back.
void tmpl_bind(Worker& w, Destination* d, int delta) {
  DestWorkerSlot& slot = d->slot[w.id];
  slot_add(slot.persistconns, delta);
  slot.refs.store(slot.refs.load(std::memory_order_relaxed) + delta, std::memory_order_release);
}

// ip_vs_sched_persist: the client's template (CIP & mask) names the destination; without one,
// or when its destination left (ip_vs_check_template), the scheduler picks and a template is
// made. Returns the destination and the template slot the new connection will hold.
// `client`: the client's address under the service's mask (IPv6: the fold of the masked
// address, so two prefixes of one fold share a template, and with it a real server).
Destination* persist_pick(Worker& w, uint32_t client, const SnapService& svc, const SchedFlow& flow,
                          uint32_t* tmpl, Drop* why) {
  PersistTable& pt = *w.persist;
  const uint64_t key = PersistTable::key_of(svc.id, client);
  const uint32_t expires = w.now + svc.persist_ticks;
  for (int attempt = 0; attempt < 4; ++attempt) {
    Destination* d = nullptr;
    uint32_t slot = pt.lookup(key, &d);
    if (slot != PersistTable::kNone &&
        !(d->flags.load(std::memory_order_relaxed) & kDestAvailable)) {
      // The template's destination was removed: schedule again and re-point the template.
      Destination* nd = sched_pick(svc.sched, w.sched[svc.id], flow);
      if (!nd) return *why = Drop::no_dest, nullptr;
      if (!pt.repoint(slot, key, d, nd)) continue;  // changed under us: look again
      tmpl_bind(w, d, -1);
      tmpl_bind(w, nd, 1);
      d = nd;
    } else if (slot == PersistTable::kNone) {
      d = sched_pick(svc.sched, w.sched[svc.id], flow);
      if (!d) return *why = Drop::no_dest, nullptr;
      bool created;
      slot = pt.insert(key, &d, expires, svc.persist_ticks, &created);
      if (slot == PersistTable::kNone) return *why = Drop::persist_table_full, nullptr;
      if (created) {
        tmpl_bind(w, d, 1);
        dest_check_overload(*d);
      }
    }
    if (!pt.hold(slot, key, d, expires)) continue;  // removed or changed: look again
    *tmpl = slot + 1;
    return d;
  }
  return *why = Drop::persist_table_full, nullptr;
}

namespace {

// ip_vs_schedule's pick for a new connection: the persistence template's destination, or the
// scheduler's. `client`: the client's address under the service's mask (persistence's key).
[[gnu::always_inline]] inline Destination* conn_pick(Worker& w, const PacketInfo& pi,
                                                     const SnapService& svc, uint32_t client,
                                                     uint32_t* tmpl, Drop* why) {
  const SchedFlow flow{rte_be_to_cpu_32(pi.saddr), rte_be_to_cpu_16(pi.sport),
                       rte_be_to_cpu_32(pi.daddr), w.now};
  Destination* d = svc.persistent ? persist_pick(w, client, svc, flow, tmpl, why)
                                  : sched_pick(svc.sched, w.sched[svc.id], flow);
  if (!d && !svc.persistent) *why = Drop::no_dest;
  return d;
}

// ip_vs_conn_new's rest, once the connection is in the table (or was not: null, the template
// given back): its destination, and the destination's counts. Every new connection starts
// INACTIVE (__ip_vs_update_dest), and NOOUTPUT unless it is NAT (the director will not see the
// real server's side: the INPUT_ONLY rows apply).
[[gnu::always_inline]] inline Conn* conn_bind(Worker& w, Conn* c, bool collision, Destination* d,
                                              const SnapService& svc, ForwardMethod method,
                                              uint16_t rport, uint32_t tmpl, Drop* why) {
  if (!c) {
    if (tmpl) w.persist->release(tmpl - 1);
    return *why = collision ? Drop::conn_collision : Drop::conn_table_full, nullptr;
  }
  c->dest = d;
  c->svc_id = svc.id;
  c->method = method;
  c->state = TcpState::None;
  c->rip = d->rip_be;
  c->rport = rport;
  c->tmpl = tmpl;
  c->flags |= kConnInactive | (method == ForwardMethod::Masq ? 0 : kConnNoOutput);
  DestWorkerSlot& slot = d->slot[w.id];
  slot_add(slot.inactconns, 1);
  slot_add(slot.conns, 1);
  slot_add(slot.refs, 1);
  dest_check_overload(*d);
  ++w.ctr.conns_created;
  return c;
}

}  // namespace

// ip_vs_schedule + ip_vs_conn_new: a new connection, counted in InActConn until its TCP state
// says otherwise.
Conn* conn_schedule(Worker& w, const PacketInfo& pi, const SnapService& svc, Drop* why) {
  uint32_t tmpl = 0;
  Destination* d = conn_pick(w, pi, svc, pi.saddr & svc.persist_mask, &tmpl, why);
  if (!d) return nullptr;
  const uint16_t rport = svc.real_port(*d, pi.dport);
  const ConnKey in = make_key(pi.saddr, pi.daddr, pi.sport, pi.dport, pi.proto);
  // Only NAT sees the replies: DR and TUN connections are found by their in key alone.
  const ForwardMethod method = d->method.load(std::memory_order_relaxed);
  const bool masq = method == ForwardMethod::Masq;
  const ConnKey out = make_key(d->rip_be, pi.saddr, rport, pi.sport, pi.proto);
  // ip_vs_conn_new starts a connection with a 3 s timeout; the first state update replaces it.
  // service_request has just missed the in key (or forgotten its connection).
  bool collision;
  Conn* c = w.conns.insert(in, masq ? &out : nullptr, 3 * kTicksPerSecond, w.now, &collision,
                           /*in_absent=*/true);
  return conn_bind(w, c, collision, d, svc, method, rport, tmpl, why);
}

// A connection saved at the last clean stop (control/state_restore.cpp), put back before the
// workers start: indexed and counted as conn_schedule does, but in the state it was saved in,
// so that ActiveConn/InActConn (its IP_VS_CONN_F_INACTIVE) and the destination's reference
// count read after the restart what they read before it.
Conn* conn_restore(Worker& w, const Conn& saved, uint32_t remaining, bool* collision) {
  Destination* d = saved.dest;
  const bool masq = saved.method == ForwardMethod::Masq;
  const ConnKey in = make_key(saved.cip, saved.vip, saved.cport, saved.vport, saved.proto);
  const ConnKey out = make_key(saved.rip, saved.cip, saved.rport, saved.cport, saved.proto);
  Conn* c = w.conns.insert(in, masq ? &out : nullptr, remaining, w.now, collision);
  if (!c) return nullptr;
  c->timeout = saved.timeout;  // the state's: the next packet's refresh restores it anyway
  c->dest = d;
  c->svc_id = saved.svc_id;
  c->method = saved.method;
  c->state = saved.state;
  c->rip = saved.rip;
  c->rport = saved.rport;
  c->tmpl = saved.tmpl;
  c->flags |= saved.flags & (kConnInactive | kConnNoOutput);
  DestWorkerSlot& slot = d->slot[w.id];
  slot_add(c->flags & kConnInactive ? slot.inactconns : slot.activeconns, 1);
  slot_add(slot.refs, 1);
  dest_check_overload(*d);
  return c;
}

void conn_count(Worker& w, Destination* d, rte_mbuf* m, bool in) {
  if (!d) return;
  DestWorkerSlot& s = d->slot[w.id];
  slot_add(in ? s.inpkts : s.outpkts, 1);
  slot_add(in ? s.inbytes : s.outbytes, m->pkt_len - kEthHdrLen);
}

namespace {

// ip_vs_in's end for a one-packet connection (-o): its datagram is sent, and the connection is
// gone (ip_vs_conn_put expires an IP_VS_CONN_F_ONE_PACKET one at once; it was never hashed, so
// no reply finds it). A first fragment's stays for the later fragments, which follow it here,
// until the next datagram of its flow or its timeout. Out of line: the common path keeps its
// tail calls to the transmitters.
template <bool kV6>
[[gnu::noinline]] void ops_send(Worker& w, rte_mbuf* m, const PacketInfo& pi, Conn* c) {
  switch (c->method) {
    case ForwardMethod::Masq:
      kV6 ? xmit_masq6(w, m, pi, *c) : xmit_masq(w, m, pi, *c);
      break;
    case ForwardMethod::Route:
      kV6 ? xmit_route6(w, m, *c) : xmit_route(w, m, *c);
      break;
    case ForwardMethod::Tunnel:
      kV6 ? xmit_tunnel6(w, m, *c) : xmit_tunnel(w, m, *c);
      break;
  }
  if (!pi.frag) conn_forget(w, c);
}

}  // namespace

void service_request(Worker& w, rte_mbuf* m, const PacketInfo& pi, const SnapService& svc,
                     const ConnLookahead* ahead) {
  const ConnKey in = make_key(pi.saddr, pi.daddr, pi.sport, pi.dport, pi.proto);
  bool is_out = false;
  Conn* c = ahead ? w.conns.resolve(*ahead, in, &is_out) : w.conns.lookup(in, &is_out);
  // A request that matches a connection's reply key (a client claiming to be CIP = RIP) is not
  // that connection's.
  if (unlikely(c && is_out)) return drop(w, m, Drop::no_conn);
  const bool tcp = pi.proto == kIpProtoTcp;
  const bool syn = tcp && (pi.tcp_flags & (kTcpSyn | kTcpRst)) == kTcpSyn;
  // conn_reuse_mode=1: a SYN on a connection in TIME_WAIT starts over with a fresh choice
  // (is_new_conn in ip_vs_core.c tests the SYN bit alone, so SYN|RST ends it too).
  // -o: neither is a connection kept for a fragmented datagram's later fragments (the next
  // datagram is scheduled afresh).
  if (c &&
      ((tcp && (pi.tcp_flags & kTcpSyn) && tcp_conn_reusable(c->state, c->flags & kConnNoOutput)) ||
       unlikely(c->flags & kConnOps))) {
    conn_forget(w, c);
    c = nullptr;
  }
  if (!c) {
    // IPVS creates connections only from a SYN (tcp_conn_schedule) or any UDP datagram.
    if (tcp && !syn) return drop(w, m, Drop::no_conn);
    Drop why;
    if (!(c = conn_schedule(w, pi, svc, &why))) return drop(w, m, why);
    // A firewall-mark service's -o is for its UDP packets alone (ip_vs_schedule).
    if (unlikely(svc.ops) && pi.proto == kIpProtoUdp) c->flags |= kConnOps;
  }
  // ip_vs_in with expire_nodest_conn=0: a connection whose destination was removed keeps its
  // timer (not restarted) and its packets are dropped, until the destination returns or the
  // connection expires.
  if (unlikely(!(c->dest->flags.load(std::memory_order_relaxed) & kDestAvailable)))
    return drop(w, m, Drop::dest_removed);
  // A first fragment: its later fragments (no ports) will follow this connection.
  if (unlikely(pi.frag)) frag_remember(w, pi);
  conn_update_state(w, c, TcpDir::Input, pi.tcp_flags);
  // ip_vs_in: every packet from the client may sync its connection (off: one predicted branch).
  // A one-packet connection is never synced (ip_vs_sync_conn).
  if (unlikely(w.snap->sync_master) && !(c->flags & kConnOps)) sync_conn(w, *c, svc);
  conn_count(w, c->dest, m, true);
  if (unlikely(c->flags & kConnOps)) return ops_send<false>(w, m, pi, c);
  switch (c->method) {
    case ForwardMethod::Masq:
      return xmit_masq(w, m, pi, *c);
    case ForwardMethod::Route:
      return xmit_route(w, m, *c);
    case ForwardMethod::Tunnel:
      return xmit_tunnel(w, m, *c);
  }
}

void fwmark_follow(Worker& w, rte_mbuf* m, const PacketInfo& pi) {
  bool is_out = false;
  const Conn* c =
      w.conns.lookup(make_key(pi.saddr, pi.daddr, pi.sport, pi.dport, pi.proto), &is_out);
  const SnapService* svc = c && !is_out ? w.snap->find_by_id(c->svc_id) : nullptr;
  // A SYN starts anew (conn_reuse_mode), and with no mark there is no service to start it in.
  const bool syn = pi.proto == kIpProtoTcp && (pi.tcp_flags & kTcpSyn);
  if (svc && svc->fwmark && !syn) return service_request(w, m, pi, *svc);
  return local_input(w, m, pi);
}

// ---- IPv6 -------------------------------------------------------------------------------------

// The client's address under an IPv6 service's -M prefix, folded (persistence's key).
static uint32_t masked_fold6(const uint8_t* a, unsigned plen) {
  uint8_t m[16];
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits = plen > i * 8 ? std::min(8u, plen - i * 8) : 0;
    m[i] = static_cast<uint8_t>(a[i] & (0xff00u >> bits));
  }
  return ip6_fold(m);
}

// conn_schedule for IPv6: the schedulers hash the addresses' folds, as ip_vs_sh_hashkey and
// its siblings fold an IPv6 address.
Conn* conn_schedule6(Worker& w, const PacketInfo& pi, const uint8_t* ip, const SnapService& svc,
                     Drop* why) {
  uint32_t tmpl = 0;
  Destination* d = conn_pick(w, pi, svc, masked_fold6(ip + 8, svc.persist_plen), &tmpl, why);
  if (!d) return nullptr;
  const uint16_t rport = svc.real_port(*d, pi.dport);
  const ConnKey6 in = make_key6(ip + 8, ip + 24, pi.sport, pi.dport, pi.proto);
  const ForwardMethod method = d->method.load(std::memory_order_relaxed);
  const ConnKey6 out = make_key6(d->rip6, ip + 8, rport, pi.sport, pi.proto);
  bool collision;
  Conn* c = w.conns.insert6(in, method == ForwardMethod::Masq ? &out : nullptr, 3 * kTicksPerSecond,
                            w.now, &collision, /*in_absent=*/true);
  return conn_bind(w, c, collision, d, svc, method, rport, tmpl, why);
}

bool fwmark_follow6(Worker& w, rte_mbuf* m, const PacketInfo& pi) {
  if (!w.conns.ipv6()) return false;
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, pi.l3_off);
  bool is_out = false;
  const Conn* c =
      w.conns.lookup6(make_key6(ip + 8, ip + 24, pi.sport, pi.dport, pi.proto), &is_out);
  const SnapService* svc = c && !is_out ? w.snap->find_by_id(c->svc_id) : nullptr;
  const bool syn = pi.proto == kIpProtoTcp && (pi.tcp_flags & kTcpSyn);
  if (!svc || !svc->fwmark || syn) return false;
  service_request6(w, m, pi, *svc);
  return true;
}

// service_request for IPv6 (ip_vs_in with af AF_INET6): the same rules, the IPv6 index.
void service_request6(Worker& w, rte_mbuf* m, const PacketInfo& pi, const SnapService& svc) {
  // A table without IPv6 (control enables it before it publishes an IPv6 service; a test's
  // table may not have it) takes no IPv6 connection.
  if (unlikely(!w.conns.ipv6())) return drop(w, m, Drop::conn_table_full);
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, pi.l3_off);
  const ConnKey6 in = make_key6(ip + 8, ip + 24, pi.sport, pi.dport, pi.proto);
  bool is_out = false;
  Conn* c = w.conns.lookup6(in, &is_out);
  if (c && is_out) return drop(w, m, Drop::no_conn);
  const bool tcp = pi.proto == kIpProtoTcp;
  const bool syn = tcp && (pi.tcp_flags & (kTcpSyn | kTcpRst)) == kTcpSyn;
  if (c &&
      ((tcp && (pi.tcp_flags & kTcpSyn) && tcp_conn_reusable(c->state, c->flags & kConnNoOutput)) ||
       unlikely(c->flags & kConnOps))) {
    conn_forget(w, c);
    c = nullptr;
  }
  if (!c) {
    if (tcp && !syn) return drop(w, m, Drop::no_conn);
    Drop why;
    if (!(c = conn_schedule6(w, pi, ip, svc, &why))) return drop(w, m, why);
    // A firewall-mark service's -o is for its UDP packets alone (ip_vs_schedule).
    if (unlikely(svc.ops) && pi.proto == kIpProtoUdp) c->flags |= kConnOps;
  }
  if (!(c->dest->flags.load(std::memory_order_relaxed) & kDestAvailable))
    return drop(w, m, Drop::dest_removed);
  if (pi.frag) frag_remember(w, pi);
  conn_update_state(w, c, TcpDir::Input, pi.tcp_flags);
  // Connection sync carries IPv4 connections only so far (sync.h): an IPv6 one is not synced.
  conn_count(w, c->dest, m, true);
  if (unlikely(c->flags & kConnOps)) return ops_send<true>(w, m, pi, c);
  switch (c->method) {
    case ForwardMethod::Masq:
      return xmit_masq6(w, m, pi, *c);
    case ForwardMethod::Route:
      return xmit_route6(w, m, *c);
    case ForwardMethod::Tunnel:
      return xmit_tunnel6(w, m, *c);
  }
}

}  // namespace fastvs
