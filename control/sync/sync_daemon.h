// The sync daemons (IPVS's master and backup threads in ip_vs_sync.c), run on control's loop.
//
// Both speak through the host's stack on the kernel path: the socket is bound to the port's
// interface on the host (dpdkN), whose frames the workers carry in and out, as keepalived's VRRP
// goes. So the messages are ordinary UDP multicast (224.0.0.81:8848 by default, TTL 1) that a
// kernel IPVS director on the same segment sends and takes too.
// - The master drains every worker's sync ring (dataplane/sync.h) each time control's loop
//   turns (at most 20 ms apart while it runs: IPVS's IPVS_SYNC_SEND_DELAY), packs the entries
//   into version 1 messages of at most sync_maxlen bytes and sends them: full ones as they fill,
//   the rest at the end of the turn.
// - The backup reads what arrives, decodes it (sync_proto.h: the kernel's checks, drops by
//   reason) and hands each connection to the worker that owns its client.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/model.h"
#include "common/result.h"
#include "control/sync/sync_proto.h"
#include "dataplane/sync.h"

struct rte_ring;

namespace fastvs {

// A worker's SyncConn as a version 1 entry, and back (false: a forwarding method fastvs does not
// have, LOCALNODE or BYPASS).
sync::Entry to_entry(const SyncConn& c);
bool from_entry(const sync::Entry& e, SyncConn* out);

struct SyncMasterStats {
  uint64_t messages = 0, entries = 0, send_errors = 0;
};

class SyncMaster {
 public:
  SyncMaster() = default;
  ~SyncMaster() { stop(); }
  SyncMaster(const SyncMaster&) = delete;
  SyncMaster& operator=(const SyncMaster&) = delete;

  // Opens the socket on `host_if` (the port's interface on the host). maxlen: the resolved one.
  Status start(const SyncDaemonConfig& cfg, const std::string& host_if, uint16_t maxlen);
  void stop();
  bool running() const { return fd_ >= 0; }
  const SyncDaemonConfig& config() const { return cfg_; }
  // Drains the rings (the workers' sync_out) and sends what they held.
  void poll(const std::vector<rte_ring*>& rings);
  const SyncMasterStats& stats() const { return stats_; }
  std::string last_error() const { return last_error_; }

 private:
  void send();
  int fd_ = -1;
  SyncDaemonConfig cfg_;
  sync::Writer writer_{0, 1472};
  SyncMasterStats stats_;
  std::string last_error_;
};

struct SyncBackupStats {
  uint64_t messages = 0, entries = 0;
  std::array<uint64_t, sync::kDropCount> drops{};  // decoding, by reason
  uint64_t method = 0;     // entries with a forwarding method fastvs does not have
  uint64_t ring_full = 0;  // entries a worker's ring had no room for
};

class SyncBackup {
 public:
  SyncBackup() = default;
  ~SyncBackup() { stop(); }
  SyncBackup(const SyncBackup&) = delete;
  SyncBackup& operator=(const SyncBackup&) = delete;

  Status start(const SyncDaemonConfig& cfg, const std::string& host_if);
  void stop();
  bool running() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const SyncDaemonConfig& config() const { return cfg_; }
  // Reads every datagram waiting (at most `budget`) and hands their connections to the workers'
  // sync_in rings, each to the owner of its client.
  void on_readable(const std::vector<rte_ring*>& rings, unsigned budget = 256);
  const SyncBackupStats& stats() const { return stats_; }

 private:
  int fd_ = -1;
  SyncDaemonConfig cfg_;
  SyncBackupStats stats_;
};

}  // namespace fastvs
