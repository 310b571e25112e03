// Connection sync on the workers (sync.h): the master's events, the backup's installs.
#include "dataplane/sync.h"

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/worker.h"

namespace fastvs {

namespace {

void push(Worker& w, SyncConn e) {  // a copy: rte_ring_sp_enqueue_elem takes a non-const pointer
  if (likely(w.sync_out != nullptr) && rte_ring_sp_enqueue_elem(w.sync_out, &e, sizeof e) == 0)
    ++w.ctr.sync_queued;
  else
    ++w.ctr.sync_dropped;
}

// ip_vs_find_dest: the real server by address and port; a port 0 service's destinations take
// the client's port (their own is 0).
Destination* find_dest(const SnapService& svc, uint32_t rip, uint16_t rport) {
  Destination* any_port = nullptr;
  for (Destination* d : svc.dests) {
    if (d->rip_be != rip) continue;
    if (d->rport_be == rport) return d;
    if (d->rport_be == 0 && !any_port) any_port = d;
  }
  return any_port;
}

// What a synced timeout may be (ip_vs_proc_sync_conn clamps to MAX_SCHEDULE_TIMEOUT): 31 days,
// ipvsadm's longest, so that the ticks never wrap.
uint32_t clamp_secs(uint32_t secs) {
  constexpr uint32_t kMax = 86400 * 31;
  return secs < kMax ? secs : kMax;
}

// A template from the master (ip_vs_proc_conn with IP_VS_CONN_F_TEMPLATE): the client's
// persistence in that service points at that real server from now on.
bool apply_template(Worker& w, const SyncConn& e, const SnapService& svc, Destination* d) {
  if (!svc.persistent) return false;
  const uint64_t key = PersistTable::key_of(svc.id, e.cip & svc.persist_mask);
  const uint32_t ticks = e.timeout ? clamp_secs(e.timeout) * kTicksPerSecond : svc.persist_ticks;
  Destination* got = d;
  bool created = false;
  const uint32_t slot = w.persist->insert(key, &got, w.now + ticks, ticks, &created);
  if (slot == PersistTable::kNone) return false;
  if (created) {
    tmpl_bind(w, d, 1);
    return true;
  }
  if (got != d) {
    if (!w.persist->repoint(slot, key, got, d)) return false;
    tmpl_bind(w, got, -1);
    tmpl_bind(w, d, 1);
  }
  // Seen again: its timer restarts, as ip_vs_proc_conn's does.
  w.persist->refresh(slot, key, d, w.now + ticks, ticks);
  return true;
}

}  // namespace

// ip_vs_sync_conn, once sync_conn (sync.h) has decided: the connection, then its template (IPVS
// asks for the template on each of its connections' packets and sends it whenever a template
// passes, which it nearly always does; here it goes with its connection, which carries it to the
// backup as often as the connection itself goes).
void sync_record(Worker& w, const Conn& c, const SnapService& svc, bool template_only) {
  // A real server of the other family (a tunnel's): IPVS's entries carry one family's addresses
  // (control refuses adding one while a daemon runs, as ip_vs_genl_set_cmd does; one added
  // before the daemon started is not synced).
  if (unlikely(c.dest && c.dest->v6)) return;
  if (!template_only) {
    SyncConn e{};
    e.cip = c.cip;
    e.vip = c.vip;
    e.rip = c.rip;
    e.cport = c.cport;
    e.vport = c.vport;
    e.rport = c.rport;
    e.proto = c.proto;
    e.state = static_cast<uint8_t>(c.state);
    e.flags = static_cast<uint8_t>((c.flags & kConnInactive ? kSyncInactive : 0) |
                                   (c.flags & kConnNoOutput ? kSyncNoOutput : 0));
    e.method = c.method;
    e.timeout = c.timeout / kTicksPerSecond;
    e.fwmark = svc.fwmark;
    push(w, e);
  }
  if (!c.tmpl || !svc.persistent) return;
  // The template as it is now: persist_pick may have re-pointed it since the connection was
  // made (its destination removed).
  const uint32_t masked = c.cip & svc.persist_mask;
  Destination* d = nullptr;
  if (w.persist->lookup(PersistTable::key_of(svc.id, masked), &d) == PersistTable::kNone || !d)
    return;
  SyncConn t{};
  t.cip = masked;
  t.vip = c.vip;
  t.vport = svc.vport;
  t.rip = d->rip_be;
  t.rport = d->rport_be;
  t.proto = c.proto;
  if (svc.fwmark) {
    // ip_vs_sched_persist's template of a firewall-mark service: protocol IPPROTO_IP, the mark
    // as its virtual address, port 0.
    t.vip = rte_cpu_to_be_32(svc.fwmark);
    t.proto = 0;
    t.fwmark = svc.fwmark;
  }
  t.flags = kSyncTemplate;
  t.method = d->method.load(std::memory_order_relaxed);
  t.timeout = svc.persist_ticks / kTicksPerSecond;
  push(w, t);
}

// ip_vs_proc_conn: a connection the master synced, installed or brought up to date.
void sync_apply_one(Worker& w, const SyncConn& e) {
  // The backup's services take no traffic (the VIP is the master's): looked up among all.
  // ip_vs_find_dest: by the mark when the entry has one (__ip_vs_svc_fwm_find).
  const SnapService* svc = e.fwmark ? w.snap->find_by_mark(e.fwmark, false)
                                    : w.snap->find_configured(e.proto, e.vip, e.vport);
  Destination* d = svc ? find_dest(*svc, e.rip, e.rport) : nullptr;
  if (!d) {
    ++w.ctr.sync_skipped;
    return;
  }
  if (e.flags & kSyncTemplate) {
    if (apply_template(w, e, *svc, d))
      ++w.ctr.sync_applied;
    else
      ++w.ctr.sync_skipped;
    return;
  }
  // Version 0 carries no timeout: the backup's own for the state (as the kernel does).
  uint32_t secs = clamp_secs(e.timeout);
  if (secs == 0)
    secs = e.proto == kIpProtoTcp && e.state < kTcpStateCount ? w.snap->tcp_timeouts.secs[e.state]
                                                              : w.snap->udp_timeout;
  const uint32_t ticks = secs * kTicksPerSecond;
  const bool inactive = e.flags & kSyncInactive;
  const ConnKey in = make_key(e.cip, e.vip, e.cport, e.vport, e.proto);
  bool is_out = false;
  Conn* c = w.conns.lookup(in, &is_out);
  if (c && is_out) {  // a client claiming a real server's reply tuple: not this connection
    ++w.ctr.sync_skipped;
    return;
  }
  // Bound to another real server here (ip_vs_proc_conn): an active entry replaces our copy; an
  // inactive one is the end of a connection that was already replaced, and is ignored.
  if (c && (c->rip != e.rip || c->rport != e.rport)) {
    if (inactive) {
      ++w.ctr.sync_skipped;
      return;
    }
    conn_forget(w, c);
    c = nullptr;
  }
  if (c) {
    // A connection we hold already: its new state, flags and timer, counted where it now
    // belongs (ActiveConn or InActConn).
    if (c->dest) {
      DestWorkerSlot& slot = c->dest->slot[w.id];
      if (inactive != static_cast<bool>(c->flags & kConnInactive)) {
        slot_add(inactive ? slot.activeconns : slot.inactconns, -1);
        slot_add(inactive ? slot.inactconns : slot.activeconns, 1);
      }
    }
    if (inactive != static_cast<bool>(c->flags & kConnInactive)) c->flags ^= kConnInactive;
    c->state = static_cast<TcpState>(e.state);
    c->sync_old_state = e.state;
    w.conns.touch(c, ticks, w.now);
    ++w.ctr.sync_applied;
    return;
  }
  // ip_vs_bind_dest: a synced connection inherits its forwarding method from the destination
  // here (and so its NOOUTPUT), whatever the master's entry says.
  const ForwardMethod method = d->method.load(std::memory_order_relaxed);
  Conn saved{};
  saved.cip = e.cip;
  saved.vip = e.vip;
  saved.rip = e.rip;
  saved.cport = e.cport;
  saved.vport = e.vport;
  saved.rport = e.rport;
  saved.proto = e.proto;
  saved.state = static_cast<TcpState>(e.state);
  saved.flags = static_cast<uint8_t>((inactive ? kConnInactive : 0) |
                                     (method != ForwardMethod::Masq ? kConnNoOutput : 0));
  saved.method = method;
  saved.svc_id = svc->id;
  saved.dest = d;
  saved.timeout = ticks;
  bool collision = false;
  if (Conn* made = conn_restore(w, saved, ticks, &collision)) {
    made->sync_old_state = e.state;  // ip_vs_proc_conn: cp->old_state = cp->state
    ++w.ctr.sync_applied;
  } else {
    ++w.ctr.sync_skipped;
  }
}

unsigned worker_sync_apply(Worker& w, unsigned budget) {
  SyncConn buf[32];
  unsigned total = 0;
  while (total < budget) {
    const unsigned want = budget - total < 32 ? budget - total : 32;
    const unsigned n =
        rte_ring_sc_dequeue_burst_elem(w.sync_in, buf, sizeof(SyncConn), want, nullptr);
    for (unsigned i = 0; i < n; ++i) sync_apply_one(w, buf[i]);
    total += n;
    if (n < want) break;
  }
  return total;
}

}  // namespace fastvs
