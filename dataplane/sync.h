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

namespace fastvs {

struct Conn;
struct SnapService;
struct Worker;

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
  uint32_t reserved2;
};
static_assert(sizeof(SyncConn) == 32);

enum SyncFlags : uint8_t {
  kSyncInactive = 1u << 0,  // IP_VS_CONN_F_INACTIVE: counted in InActConn
  kSyncNoOutput = 1u << 1,  // IP_VS_CONN_F_NOOUTPUT
  kSyncTemplate = 1u << 2,  // IP_VS_CONN_F_TEMPLATE: a persistence template
};

// Entries per worker ring, each way.
constexpr unsigned kSyncRingSize = 16384;

// Master, per packet from the client once its state is updated (service_request), only while
// the master daemon runs: records the connection if IPVS would sync it now.
void sync_conn(Worker& w, Conn& c, const SnapService& svc);

// Backup, between bursts: installs or updates up to `budget` synced connections from the ring.
// Returns how many it took.
unsigned worker_sync_apply(Worker& w, unsigned budget);

// One entry, as worker_sync_apply does it (tests call it directly).
void sync_apply_one(Worker& w, const SyncConn& e);

}  // namespace fastvs
