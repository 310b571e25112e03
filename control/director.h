// The control side of fastvsd: owns the configuration and the neighbour table, wires the
// workers (queues, hand-off rings), publishes snapshots, answers fastvsadm, and runs on the EAL
// main lcore, sleeping in epoll between events (it never spins: two cores are shared with the
// lab).
//
// A change: fastvsadm's command is applied to a copy of the configuration (an error changes
// nothing); a new snapshot is built and published to every worker (dataplane/publish.h); fastvsadm
// gets its answer once rte_rcu_qsbr says every worker has passed a quiescent state since the push
// (each adopts before it reports, so the answer means "in force"); the replaced snapshot is freed
// then too. Changes are applied one at a time: a change that arrives while one is in flight waits.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "common/grammar/command.h"
#include "control/report/estimator.h"
#include "common/model.h"
#include "control/report/metrics.h"
#include "control/cli_server.h"
#include "control/health/runner.h"
#include "control/kernel_path.h"
#include "control/report/metrics_http.h"
#include "dataplane/neigh.h"
#include "dataplane/port.h"
#include "dataplane/publish.h"
#include "dataplane/snapshot.h"
#include "dataplane/worker.h"

struct rte_rcu_qsbr;

namespace fastvs {

struct DaemonOptions {
  std::string config_path;
  std::string socket_path = "/run/fastvs/fastvsd.sock";
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
  std::string metrics_listen;  // ADDR:PORT of the Prometheus endpoint; empty: off
};

void log_line(const std::string& s);

class Director {
 public:
  explicit Director(DaemonOptions opt) : opt_(std::move(opt)) {}
  ~Director();

  // After rte_eal_init: loads the config, brings up the ports, creates the workers, opens the
  // CLI socket. Returns false with `err` set; nothing forwards until then.
  bool init(std::string* err);
  // Launches the workers and runs the control loop until `stop` is set; then stops the workers,
  // drains their rings and TX buffers and closes the ports.
  void run(std::atomic<bool>& stop);

  void log_counters() const;
  // The counters summed over the workers, and per-destination connection counts, as JSON.
  std::string stats_json() const;
  // Every service, destination and worker with raw counters (not since -Z): what /metrics and
  // the telemetry commands show (control/metrics_source.cpp).
  MetricsSnapshot metrics_snapshot() const;

 private:
  // Refuses a --conn-capacity whose tables cannot fit in what DPDK can still allocate (with
  // `mbufs` packet buffers allocated before them), saying how much they need and what there is.
  bool check_conn_capacity(unsigned mbufs, std::string* err) const;
  bool make_workers(const Snapshot* first, std::string* err);
  void write_stats_file() const;
  // Hands telemetry's threads a fresh metrics_snapshot() (control/telemetry.h).
  void publish_telemetry();

  // fastvsadm requests (control/commands.cpp).
  bool handle(uint64_t client, const CliRequest& req, CliReply* reply, bool queued = false);
  bool apply_change(uint64_t client, const std::vector<std::string>& words, const Config& next);
  void publish(uint64_t client);
  void poll_rcu();
  // Counters since the last -Z as ipvsadm shows them, or the raw sums (since_zero = false).
  std::vector<struct ServiceStatus> service_status(bool since_zero = true) const;
  std::string show_addrs() const;
  std::string show_routes() const;
  std::string show_neighs() const;
  std::string show_links(bool stats) const;
  void zero(const Command& cmd);
  // -L -c: asks every worker for its connections; answered by poll_dump() once all have.
  void start_dump(uint64_t client, const Command& cmd);
  void poll_dump();
  // Every 2 s: IPVS's estimator over every service's and destination's counters.
  void estimate();
  void rates(ServiceStatus& s) const;
  // Once a second: persistence templates that expired and control no connection go.
  void sweep_templates();
  // The workers' tick (1/16 s), read on the control thread.
  uint32_t now_tick() const;
  // After cfg_ changed: restarts the checkers if the checked services changed, recomputes
  // effective_.
  void refresh_health();
  void update_effective();
  // The health thread decided something: log it, apply it as a change of its own.
  void on_health();
  // keepalived.conf: parses `path` and puts its virtual servers into `base` in place of the last
  // load's; logs the warnings. false with `err` ("FILE:LINE: reason") and nothing changed.
  bool load_keepalived(const std::string& path, const Config& base, Config* out,
                       std::vector<ServiceKey>* keys, std::string* err);
  bool reload_keepalived(uint64_t client, const Command& cmd, const std::vector<std::string>& words);

  DaemonOptions opt_;
  Config cfg_;
  std::vector<PortSetup> ports_;
  MacAddr macs_[kMaxPorts]{};
  uint16_t mtus_[kMaxPorts]{};
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<DestStore> store_;
  std::unique_ptr<Publisher> pub_;
  NeighTable neigh_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<unsigned> worker_lcores_;
  std::atomic<bool> worker_stop_{false};
  std::atomic<bool> worker_exit_{false};

  PersistTable persist_;
  KernelPath kernel_;
  // Health checks: the thread, what it decided per checked service, and the configuration the
  // workers run: cfg_ (the operator's) with those verdicts applied, as keepalived would have
  // changed IPVS. -L shows it; -S saves cfg_.
  HealthRunner health_;
  std::map<ServiceKey, std::vector<DestConfig>> health_dests_;
  std::vector<HealthDef> health_defs_;  // what the health thread runs
  Config effective_;
  bool health_dirty_ = false;
  std::vector<ServiceKey> ka_keys_;  // the services the last keepalived.conf load made
  // Rate estimators by service (proto, VIP, vport) and destination (+ RIP, rport).
  std::map<std::tuple<uint8_t, uint32_t, uint16_t>, RateEstimator> svc_est_;
  std::map<std::tuple<uint8_t, uint32_t, uint16_t, uint32_t, uint16_t>, RateEstimator> dest_est_;
  std::vector<std::pair<uint64_t, Command>> dump_waiters_;  // -c requests, one dump for all
  bool dumping_ = false;

  rte_rcu_qsbr* qsbr_ = nullptr;
  struct Pending {
    uint64_t client;
    uint64_t token;
  };
  std::vector<Pending> pending_;
  std::deque<std::pair<uint64_t, CliRequest>> waiting_;  // changes behind the one in flight
  CliServer cli_;
  MetricsHttpServer metrics_http_;
  uint64_t telemetry_seq_ = 0;  // the snapshot seq telemetry last saw
  int epoll_fd_ = -1;
};

}  // namespace fastvs
