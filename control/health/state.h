// Health checks with keepalived's semantics, as pure state machines: no sockets, no threads, no
// clock. Every function that depends on time takes `now` (seconds on a monotonic clock, as a
// double); nothing here reads a clock or draws a random number.
//
// The I/O side (the health thread in fastvsd) owns one ServiceHealth per virtual server and
// loops:
//   1. sleep until next_wakeup() (or until a running check ends);
//   2. for each CheckRef in due(now): begin(ref, now), then run the check its spec() describes
//      (TCP connect, HTTP GET of every url, or the MISC_CHECK program) without blocking;
//   3. when a check ends: finish(ref, now, result) and apply the returned changes, in order,
//      with the fastvsadm commands dest_command() spells, logging each event and change.
// At startup, initial() gives the destinations keepalived installs before any check has run.
//
// Semantics and defaults follow keepalived 2.2.x (Debian 12 ships 2.2.7). Sources:
//   - keepalived.conf(5) of keepalived 2.2.7 (Debian bookworm), section "Virtual server(s)";
//   - keepalived's check/check_data.c validate_check_config(): defaults taken from the real
//     server, then the virtual server; "one failure is enough initially" (retry_it = retry);
//   - check/check_tcp.c tcp_epilog(), check/check_misc.c misc_check_child_thread(),
//     check/check_dns.c dns_final(): the retry counting of an up checker;
//   - check/check_api.c register_checkers_thread(): the first run at BOOTSTRAP_DELAY (1 s) plus
//     a random part of warmup;
//   - check/ipwrapper.c init_service_rs(), perform_svr_state(), update_quorum_state(),
//     perform_quorum_state(): alpha, inhibit_on_failure, quorum, hysteresis, the sorry server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/check_spec.h"
#include "common/model.h"
#include "common/net.h"

namespace fastvs {

// The outcome of one run, as the I/O side saw it.
struct CheckResult {
  bool ok = false;
  // What happened, for logs and for the transition's reason, e.g.
  // "connect to 192.168.0.18:80 failed: connection refused" or "GET /health: status 503".
  std::string reason;
  // MISC_CHECK with misc_dynamic: the weight the program asked for (its exit status - 2);
  // -1: the configured weight.
  int32_t weight = -1;
  // MISC_CHECK with fastvsd's --misc-check-output: what the program wrote, bounded and escaped
  // for one log line ('wrote 12 bytes: "..."'); empty when it wrote nothing or the option is off.
  std::string output;
};

// keepalived's reading of how a MISC_CHECK program exited (misc_check_child_thread): exit 0
// passes; with misc_dynamic, exit 2..255 passes and asks for weight status - 2; anything else
// fails. A program killed by misc_timeout or a signal is a failure: build that CheckResult
// directly.
CheckResult misc_exit_result(const CheckSpec& spec, int exit_status);

// A checker going up or down.
struct CheckerEvent {
  bool up = false;
  // The run's reason; a checker that went down after retries gets " after N retries".
  std::string reason;
};

// One checker's state machine (keepalived's checker_t: is_up, has_run, retry_it).
//  - Starts up, or down with alpha. The first run is at now + 1 s + jitter * warmup.
//  - A success: the checker is up (an event if it was down); the next run in delay_loop.
//  - A failure of an up checker: retried `retry` times, delay_before_retry apart; the next
//    failure takes it down. As in keepalived, the retries are not given to the very first run
//    ("one failure is enough initially"), nor to a checker already down, which is simply run
//    again every delay_loop (dns_final, misc_check_child_thread; 2.2's tcp_epilog still cycles
//    a down TCP_CHECK through its retries, which only probes a dead server more often).
//  - HTTP_GET: one run checks every url (keepalived's fast_recovery; without it keepalived
//    spaces the urls of a recovering server delay_loop apart).
//  - MISC_CHECK counts its delays from when the program started, the others from the result.
class Checker {
 public:
  // jitter: a random number in [0, 1) drawn by the caller (keepalived: rand() / RAND_MAX).
  Checker(CheckSpec spec, double now, double jitter = 0);

  const CheckSpec& spec() const { return spec_; }
  bool up() const { return up_; }
  bool running() const { return running_; }
  bool has_run() const { return has_run_; }
  unsigned retries_done() const { return retry_it_; }
  // When the next run is due; meaningless while running.
  double next_run() const { return next_run_; }
  bool due(double now) const { return !running_ && now >= next_run_; }
  // misc_dynamic: the weight the last successful run asked for; -1: the configured weight.
  int32_t weight() const { return weight_; }

  // FILE_CHECK: what it adds to its real server's weight now (0 while it is down).
  int32_t file_delta() const { return file_delta_; }
  // FILE_CHECK: the number its file holds now (keepalived's update_track_file_status and
  // process_update_checker_track_file_status). Returns the transition, if any.
  std::optional<CheckerEvent> file_value(int64_t value);

  // The I/O side started the run.
  void begin(double now);
  // The run ended (begin() is implied if it was not called). Returns the transition, if any.
  std::optional<CheckerEvent> finish(double now, const CheckResult& result);

 private:
  CheckSpec spec_;
  bool up_ = true;
  bool has_run_ = false;
  bool running_ = false;
  unsigned retry_it_ = 0;
  double started_ = 0;
  double next_run_ = 0;
  int32_t weight_ = -1;
  int32_t file_delta_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The destinations of one virtual server, from its real servers' states.

// A real server (or the sorry server) as the pool installs it.
struct PoolServer {
  IpAddr ip;
  uint16_t port = 0;
  ForwardMethod method = ForwardMethod::Masq;
  int32_t weight = 1;
  bool inhibit = false;  // inhibit_on_failure (sorry_server_inhibit for the sorry server)
  uint32_t u_threshold = 0;
  uint32_t l_threshold = 0;
  // keepalived's notify_up/notify_down: run when it comes up and goes down (not at start).
  std::optional<ScriptSpec> notify_up, notify_down;
  friend bool operator==(const PoolServer&, const PoolServer&) = default;
};

struct PoolSpec {
  ServiceKey service;
  std::vector<PoolServer> real_servers;
  std::optional<PoolServer> sorry_server;
  uint32_t quorum = 1;  // keepalived's defaults
  uint32_t hysteresis = 0;
  // quorum_up/quorum_down: run when the quorum is gained and lost; omega: the real servers'
  // notify_down and quorum_down run when the service goes (fastvsd stops, a reload drops it).
  std::optional<ScriptSpec> quorum_up, quorum_down;
  bool omega = false;
  friend bool operator==(const PoolSpec&, const PoolSpec&) = default;
};

// A real server as its checkers see it.
struct RealServerState {
  bool alive = true;   // all its checkers are up (keepalived: num_failed_checkers == 0)
  int32_t weight = 1;  // its effective weight (the configured one unless misc_dynamic set it)
  std::string reason;  // its last transition, for the reasons of the changes it causes
};

struct DestChange {
  enum class Op : uint8_t { Add, Edit, Remove };
  Op op = Op::Add;
  DestConfig dest;         // Add, Edit: the destination as it is now; Remove: as it was
  int32_t old_weight = 0;  // Edit: the weight before
  bool sorry = false;      // the sorry server
  std::string reason;      // why, for the log
};

struct PoolUpdate {
  // Adds first, then edits, then removals: a service is never left empty on the way from the
  // real servers to the sorry server or back (keepalived removes first; the end state is the
  // same).
  std::vector<DestChange> changes;
  std::optional<bool> quorum;  // set when the quorum was gained (true) or lost (false)
  std::string quorum_text;     // keepalived's log line: "Lost quorum 1-0=1 > 0 for VS ..."
};

// keepalived's view of a virtual server (ipwrapper.c):
//  - alive weight = the sum of the weights of the alive real servers;
//  - the quorum starts up when alive weight >= quorum + hysteresis; once up it is lost when the
//    alive weight is 0 or < quorum - hysteresis; once down it is gained at >= quorum +
//    hysteresis (update_quorum_state);
//  - while the quorum is down and there is a sorry server, the sorry server is the only
//    destination in service (its weight is 1; alive real servers leave, as with
//    perform_quorum_state(vs, false));
//  - otherwise an alive real server is in at its weight;
//  - a real server out of service is removed, or kept at weight 0 with inhibit_on_failure
//    (ipvs_cmd turns a DEL_DEST of an inhibited server into weight 0); the same for a sorry
//    server with sorry_server_inhibit when it is not in use.
class Pool {
 public:
  explicit Pool(PoolSpec spec);

  const PoolSpec& spec() const { return spec_; }
  // The first call starts from an empty service: everything is an Add, and the quorum starts
  // as keepalived starts it. rs follows spec().real_servers.
  PoolUpdate update(const std::vector<RealServerState>& rs);
  // The destinations after the last update, in spec order (real servers, then sorry server).
  const std::vector<DestConfig>& dests() const { return dests_; }
  bool quorum_up() const { return quorum_up_; }
  bool sorry_in_use() const { return started_ && !quorum_up_ && spec_.sorry_server.has_value(); }
  // The alive weight of the last update.
  int64_t alive_weight() const { return alive_weight_; }

 private:
  PoolSpec spec_;
  bool started_ = false;
  bool quorum_up_ = true;
  int64_t alive_weight_ = 0;
  std::vector<RealServerState> last_;
  std::vector<DestConfig> dests_;
};

// The fastvsadm command for a change, e.g. {"-a", "-t", "192.168.0.38:80", "-r",
// "192.168.0.18:80", "-g", "-w", "1"}; parse_command() takes it as it is.
std::vector<std::string> dest_command(const ServiceKey& service, const DestChange& change);

// ---------------------------------------------------------------------------------------------
// One virtual server: its checkers, its real servers, its pool.

struct CheckRef {
  size_t rs = 0;     // index of the real server in PoolSpec::real_servers
  size_t check = 0;  // index of the checker in that real server's list
  friend bool operator==(const CheckRef&, const CheckRef&) = default;
};

struct HealthEvent {
  enum class Kind : uint8_t {
    CheckerUp,
    CheckerDown,
    ServerUp,  // a real server became alive (keepalived runs notify_up)
    ServerDown,
    WeightChanged,  // misc_dynamic, FILE_CHECK
    QuorumGained,   // keepalived runs quorum_up
    QuorumLost,
    StartsDown,  // initial(): alpha, or a FILE_CHECK's file, keeps it out (no script runs)
  };
  Kind kind = Kind::CheckerUp;
  size_t rs = 0;     // the real server (all kinds but the quorum's)
  std::string text;  // one log line
};

struct HealthUpdate {
  std::vector<HealthEvent> events;
  std::vector<DestChange> changes;  // to apply in order
  bool empty() const { return events.empty() && changes.empty(); }
};

class ServiceHealth {
 public:
  // checks[i] are the checkers of pool.real_servers[i]; a real server without checkers is
  // always alive (keepalived). jitter gives each checker its random number in [0, 1) for the
  // warmup spread; none: 0 (every checker starts at now + 1 s).
  ServiceHealth(PoolSpec pool, std::vector<std::vector<CheckSpec>> checks, double now,
                const std::function<double()>& jitter = {});

  // The destinations keepalived installs at startup (init_service_rs, update_quorum_state):
  // every change from an empty service. Call it once, first.
  HealthUpdate initial();

  // The checkers whose run is due, in real server then checker order.
  std::vector<CheckRef> due(double now) const;
  // The earliest next_run() of the checkers not running; infinity if none.
  double next_wakeup() const;

  const CheckSpec& spec(CheckRef ref) const { return checker(ref).spec(); }
  const Checker& checker(CheckRef ref) const { return checkers_.at(ref.rs).at(ref.check); }
  void begin(CheckRef ref, double now);
  // A run ended: the checker's transition, the real server's, the quorum's, and the changes.
  HealthUpdate finish(CheckRef ref, double now, const CheckResult& result);
  // FILE_CHECK, which never runs: before initial(), the number its file holds at start
  // (keepalived reads it when it loads, init_track_files); then each number it comes to hold.
  void file_initial(CheckRef ref, int64_t value);
  HealthUpdate file_changed(CheckRef ref, int64_t value);

  const Pool& pool() const { return pool_; }
  const RealServerState& server(size_t rs) const { return rs_.at(rs); }
  size_t num_checkers(size_t rs) const { return checkers_.at(rs).size(); }

 private:
  std::string server_name(size_t rs) const;
  void refresh(size_t rs);
  HealthUpdate apply_pool(HealthUpdate up);
  // After a checker's transition `ev` (if any): the real server's, and the pool's changes.
  HealthUpdate settle(CheckRef ref, const RealServerState& before,
                      const std::optional<CheckerEvent>& ev, const std::string& reason);

  Pool pool_;
  std::vector<std::vector<Checker>> checkers_;
  std::vector<RealServerState> rs_;
};

}  // namespace fastvs
