// Connection synchronisation, the workers' side (IPVS's ip_vs_sync_conn and ip_vs_proc_conn;
// the wire is control's: control/sync/). Workers never send or wait:
// - Master: a worker that forwards a client's packet asks sync_policy.h whether IPVS would sync
//   its connection now and, if so, records it (and its persistence template) in its sync ring;
//   control drains the rings, packs IPVS messages and sends them. A full ring loses the event,
//   counted (sync_dropped), never a packet.
// - Backup: control decodes what it receives and puts each connection on the ring of the worker
//   that owns its client; the worker installs or updates it between bursts, against its own
//   snapshot (the service and real server must exist here, or the entry is skipped, counted).
#pragma once

#include <cstdint>

#include "common/model.h"
#include "dataplane/worker.h"

namespace fastvs {

// One connection (or template) on a sync ring, in either direction. 32 bytes, a multiple of 4
// as rte_ring's element API needs.
struct SyncConn {
  uint32_t cip, vip, rip;        // network order (a template: CIP & its service's mask)
  uint16_t cport, vport, rport;  // network order (a template: cport 0)
  uint8_t proto;
  uint8_t state;  // TcpState (IPVS's numbering, as on the wire)
  uint8_t flags;  // kSync* below
  ForwardMethod method;
  uint16_t reserved;
  uint32_t timeout;  // seconds: the state's timeout (a template: the persistence timeout)
  uint32_t fwmark;   // a firewall-mark service's mark (host order), as IPVS's cp->fwmark
};
static_assert(sizeof(SyncConn) == 32);

enum SyncFlags : uint8_t {
  kSyncInactive = 1u << 0,  // IP_VS_CONN_F_INACTIVE: counted in InActConn
  kSyncNoOutput = 1u << 1,  // IP_VS_CONN_F_NOOUTPUT
  kSyncTemplate = 1u << 2,  // IP_VS_CONN_F_TEMPLATE: a persistence template
};

// Entries per worker ring, each way.
constexpr unsigned kSyncRingSize = 16384;

// Master: records the connection (unless template_only) and its template in the worker's sync
// ring.
void sync_record(Worker& w, const Conn& c, const SnapService& svc, bool template_only = false);

// Master, per packet from the client once its state is updated (service_request), only while
// the master daemon runs: records the connection if IPVS would sync it now. Inline: most packets
// are not synced, and deciding that costs a few compares.
[[gnu::always_inline]] inline void sync_conn(Worker& w, Conn& c, const SnapService& svc) {
  if (unlikely(w.sync_counts == nullptr)) {  // control always sets it first: never here
    ++w.ctr.sync_dropped;
    return;
  }
  SyncCount& n = w.sync_counts[w.conns.index_of(&c)];
  if (unlikely(!c.sync_started)) {  // ip_vs_conn_new: in_pkts 0, sync_endtime = jiffies & ~3
    c.sync_started = 1;
    n.pkts = 0;
    n.endtime = w.now & ~3u;
  }
  // Counted modulo sync_period (saturated past the threshold when the period is 0): what
  // ip_vs_sync_conn_needed tests of cp->in_pkts is its remainder, and this one is, without a
  // division per packet.
  const SyncParams& p = w.snap->sync;
  if (p.period > 0)
    n.pkts = n.pkts + 1 >= p.period ? n.pkts + 1 - p.period : n.pkts + 1;
  else if (n.pkts <= p.threshold)
    ++n.pkts;
  SyncMark m{c.sync_old_state, n.endtime};
  // sync_persist_mode: a connection under a template is not synced, its template is (ip_vs_sync_conn
  // goes on to cp->control): here at the packets the connection would have gone at.
  const bool template_only = unlikely(p.persist_mode) && c.tmpl != 0;
  if (likely(!sync_needed(p, m, c.proto, static_cast<uint8_t>(c.state), false,
                          c.tmpl != 0 && !template_only, c.timeout, n.pkts, w.now)))
    return;
  c.sync_old_state = m.old_state;
  n.endtime = m.endtime;
  sync_record(w, c, svc, template_only);
}

// Backup, between bursts: installs or updates up to `budget` synced connections from the ring.
// Returns how many it took.
unsigned worker_sync_apply(Worker& w, unsigned budget);

// One entry, as worker_sync_apply does it (tests call it directly).
void sync_apply_one(Worker& w, const SyncConn& e);

}  // namespace fastvs
