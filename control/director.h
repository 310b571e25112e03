// The control side of fastvsd: owns the configuration and the neighbour table, wires the
// workers (queues, hand-off rings), publishes snapshots, answers fastvsadm, and runs on the EAL
// main lcore, sleeping in epoll between events (it never spins: two cores are shared with the
// lab).
//
// A change: fastvsadm's command is applied to a copy of the configuration (an error changes
// nothing); a new snapshot is built and published to every worker (dataplane/publish.h); fastvsadm
// gets its answer once rte_rcu_qsbr says every worker has passed a quiescent state since the push
// (each adopts before it reports, so the answer means "in force"); the replaced snapshot is freed
// once every worker has adopted a newer one as well (adopting reads it). Changes are applied one at
// a time: a change that arrives while one is in flight waits (control/changes.h).
//
// The pieces: this file's Director wires them and runs the loop (director.cpp); fastvsadm's
// requests are dispatch.cpp; publishing and waiting for the workers, changes.h; the health
// checks' verdicts over the operator's table, health/overlay.h; counters and rates,
// report/stats.h; `ip ...` listings, report/ip_show.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/grammar/command.h"
#include "common/model.h"
#include "common/result.h"
#include "control/changes.h"
#include "control/cli_server.h"
#include "control/health/overlay.h"
#include "control/health/runner.h"
#include "control/config/host_addrs.h"
#include "control/kernel_path.h"
#include "control/loads.h"
#include "control/report/metrics.h"
#include "control/report/reporter.h"
#include "control/report/stats.h"
#include "dataplane/neigh.h"
#include "dataplane/port.h"
#include "control/sync/sync_daemon.h"
#include "dataplane/publish.h"
#include "dataplane/snapshot.h"
#include "dataplane/worker.h"

struct rte_rcu_qsbr;

namespace fastvs {

struct DaemonOptions {
  std::string config_path;
  std::string socket_path = "/run/fastvs/fastvsd.sock";
  int socket_lock = -1;  // the path's lock, claimed by main before the EAL (CliServer::claim)
  uint32_t conn_capacity = 262144;    // per worker
  uint64_t conn_keys = 0;             // per worker's index; 0: two a connection
  uint32_t persist_capacity = 65536;  // persistence templates, shared by the workers
  std::string keepalived_conf;        // keepalived.conf's virtual servers, loaded at start
  bool kernel_path = true;            // TAP interfaces for the host's stack
  std::string kernel_if_prefix = "dpdk";
  uint32_t kernel_table = 100;    // routing table (and rule priority) of fastvsd's routes
  uint32_t kernel_rate = 100000;  // packets a second to the host, all workers together
  // Answers a second per worker (0: none); a tenth of a second deep, ICMP errors 50.
  uint32_t arp_rate = kDefaultArpRate;
  uint32_t icmp_rate = kDefaultEchoRate;
  uint32_t icmp_error_rate = kDefaultIcmpErrorRate;
  uint32_t idle_sleep_us = 0;
  uint32_t mbufs = 0;      // 0: sized from ports and queues
  std::string stats_file;  // JSON counters, rewritten every stats_interval_ms
  uint32_t stats_interval_ms = 1000;
  std::string metrics_listen;      // ADDR:PORT of the Prometheus endpoint; empty: off
  uint32_t misc_check_output = 0;  // bytes of a MISC_CHECK run's output logged; 0: /dev/null
  // Connections and templates saved at a clean stop and loaded at start; empty: off.
  std::string state_file = "/var/lib/fastvs/fastvsd.state";
  // Connection sync's sysctls (dataplane/sync_policy.h); refresh in seconds, made ticks at start.
  SyncParams sync;
  uint32_t sync_refresh_period = 0;
};

void log_line(const std::string& s);

// keepalived.conf's virtual servers put into `base` in place of `replace`'s (those an earlier
// load made), all or nothing: the work of a load, run on the load thread (control/loads.h) or
// at start. An error is "FILE:LINE: reason"; the warnings are in the outcome's log.
LoadOutcome load_keepalived_into(const std::string& path, Config base,
                                 const std::vector<ServiceKey>& replace, unsigned nports);

class Director {
 public:
  explicit Director(DaemonOptions opt) : opt_(std::move(opt)) {}
  ~Director();

  // After rte_eal_init: loads the config, brings up the ports, creates the workers, opens the
  // CLI socket. Nothing forwards until then; an error is one line.
  Status init();
  // Launches the workers and runs the control loop until a signal asks it to stop (read from
  // `signal_fd`, control/signals.h); then stops the workers, drains their rings and TX buffers
  // and closes the ports.
  void run(int signal_fd);

  void log_counters() const;

 private:
  // Refuses a --conn-capacity whose tables cannot fit in what DPDK can still allocate (with
  // `mbufs` packet buffers allocated before them), saying how much they need and what there is.
  Status check_conn_capacity(unsigned mbufs) const;
  Status make_workers(const Snapshot* first);
  // --state-file: what the last clean stop saved goes back onto the workers (before they are
  // launched), bound to `snap`; one log line says what was kept and dropped, or why the file was
  // refused. Never fails: a bad file means an empty table.
  void load_state(const Snapshot& snap);
  // At a clean stop, once the workers have stopped: their connections and the templates.
  void save_state();
  // What the reporter reads from now on: the workers' configuration and snapshot.
  std::shared_ptr<const ReportInput> report_input() const;

  // fastvsadm's requests (control/dispatch.cpp): listings answered at once, changes applied to a
  // copy of the configuration and answered once in force. Returns true when `reply` is the
  // answer now, false when the client is answered later.
  bool handle(uint64_t client, const CliRequest& req, CliReply* reply, bool queued = false);
  // `next` becomes the configuration (`what` names the change in the log); the client is
  // answered once it is in force.
  // `text`: what the client is answered with once the change is in force (a load's warnings).
  bool apply_change(uint64_t client, const std::string& what, Config next, std::string text = {});
  // The static neighbours of `next` into the neighbour table, those `cfg_` had and `next` has not
  // out of it (-R and SIGHUP replace the whole configuration).
  void set_static_neigh(const IpAddr& ip, uint16_t port, const MacAddr& mac);
  Status check_ipv6_address_free(const Command& cmd) const;
  // The workers' connection tables take IPv6 connections from now on (ConnTable::enable_ipv6):
  // done when the first IPv6 service is configured, so a director without one pays nothing.
  Status enable_ipv6_conns();
  void clear_static_neigh(const IpAddr& ip);
  void sync_static_neighbours(const Config& next);
  // The signals waiting on the signalfd (control/signals.h); true when one asks to stop.
  bool on_signals(int signal_fd);
  // SIGHUP: --config and --keepalived-conf read again, the table becomes what they say, all or
  // nothing.
  void reload_files();
  // The configuration the workers run (the operator's with the health checks' verdicts), as a
  // new snapshot; `client` is answered when it is in force.
  void publish(uint64_t client, std::string text = {});
  // The snapshot of the effective configuration, with what is not in it (the sync daemon).
  std::unique_ptr<Snapshot> make_snapshot();
  // Starts and stops the sync daemons as the effective configuration says (logged); before
  // each snapshot is built, which tells the workers whether the master runs.
  void update_sync();
  void log_sync_stats() const;
  void on_sync_readable();
  void discard_sync_events();
  Status make_sync_counts();
  // What the workers run: the operator's configuration with the health checks' verdicts and
  // keepalived's sync daemon role.
  Config effective_config() const;
  // Port dpdkN's N, or -1.
  int port_of_name(const std::string& ifname) const;
  void poll_changes();
  // -L -c: asks every worker for its connections; answered by poll_dump() once all have.
  void start_dump(uint64_t client, const Command& cmd);
  void poll_dump();
  // Once a second: persistence templates that expired and control no connection go.
  void sweep_templates();
  // The workers' tick (1/16 s), read on the control thread.
  uint32_t now_tick() const;
  // After cfg_ changed: the health thread takes the checked services if they changed.
  void refresh_health();
  // The health thread decided something: log it, apply it as a change of its own.
  void on_health();
  // Whether a client's deadline (common/cli_proto.h; 0: none) leaves no second to answer.
  static bool past_deadline(uint64_t deadline_ms);
  // The host added or removed addresses on the kernel-path interfaces (keepalived's VIPs):
  // the data plane follows, as a change of its own (control/config/host_addrs.h).
  void follow_host_addrs();
  // fastvsadm ip addr del of an address the host added: refused (keepalived would put it back).
  Status refuse_host_addr_del(const Command& cmd) const;
  // A load (control/loads.h) is done: applied as a change, or refused with its error.
  void on_load_done();
  bool reload_keepalived(uint64_t client, const Command& cmd,
                         const std::vector<std::string>& words);

  DaemonOptions opt_;
  Config cfg_;  // the operator's: what -S saves
  // What the workers run: cfg_ with the health checks' verdicts; shared with the reporter.
  std::shared_ptr<const Config> effective_ = std::make_shared<const Config>();
  std::shared_ptr<const Config> published_;  // the one the current snapshot was built from
  std::vector<PortSetup> ports_;
  MacAddr macs_[kMaxPorts]{};
  uint16_t mtus_[kMaxPorts]{};
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<DestStore> store_;
  NeighTable neigh_;
  NeighTable6 neigh6_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<unsigned> worker_lcores_;
  std::atomic<bool> worker_stop_{false};
  std::atomic<bool> worker_exit_{false};
  PersistTable persist_;
  KernelPath kernel_;
  SyncMaster sync_master_;
  SyncBackup sync_backup_;
  std::vector<rte_ring*> sync_out_rings_, sync_in_rings_;  // the workers', in worker order

  HealthRunner health_;    // the health thread
  HealthOverlay overlay_;  // its verdicts over cfg_
  bool health_dirty_ = false;
  // --check list clients waiting for the health runner to take the last configuration.
  std::vector<uint64_t> check_list_waiting_;
  bool reload_wanted_ = false;     // SIGHUP, done once no change is in flight
  bool host_addrs_dirty_ = false;  // the host changed a kernel-path interface's addresses
  IgnoredHostAddrs ignored_host_addrs_;
  uint64_t deadline_ = 0;                  // the client's deadline of the change being made
  std::vector<ServiceKey> ka_keys_;        // the services the last keepalived.conf load made
  std::vector<KaVrrpAddr> ka_vrrp_addrs_;  // and the addresses its VRRP moves
  std::optional<KaSyncDaemon> ka_sync_;    // its lvs_sync_daemon
  std::vector<IpAddr> ka_sync_addrs_;      // that daemon's VRRP instance's addresses
  bool ipv6_conns_ = false;                // enable_ipv6_conns has run: snapshots may forward IPv6
  bool ka_sync_override_logged_ = false;   // keepalived's daemon over the config file's, said
  uint64_t sync_drops_logged_ = 0, sync_drops_log_tsc_ = 0;  // the backup's drops, last said
  Stats stats_;
  std::vector<std::pair<uint64_t, Command>> dump_waiters_;  // -c requests, one dump for all
  bool dumping_ = false;

  rte_rcu_qsbr* qsbr_ = nullptr;
  CliServer cli_;
  Changes changes_{cli_};
  Loads loads_;
  int epoll_fd_ = -1;
  // Last: stopped before anything it reads (the snapshots, the store, the workers) goes.
  Reporter reporter_;
};

}  // namespace fastvs
