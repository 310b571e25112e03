// Configurations read and parsed off the control thread: a reload (SIGHUP, fastvsadm
// --keepalived-reload) reads files, and fastvsadm -R parses up to 32 MiB; done on the control
// thread they would stall it for seconds (listings, metrics, the CLI would wait). A load runs
// on a thread of its own against a copy of the configuration, and control learns it is done
// through an eventfd in its epoll set. One at a time: while one runs, changes wait their turn
// (control/changes.h), so the copy it started from is still the configuration when it ends.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/model.h"
#include "control/config/keepalived.h"
#include "common/result.h"

namespace fastvs {

// What a load made.
struct LoadOutcome {
  Result<Config> config = Error{"not run"};
  std::vector<ServiceKey> ka_keys;        // keepalived.conf's services, when the load read one
  std::vector<KaVrrpAddr> ka_vrrp_addrs;  // and the addresses its VRRP moves
  std::optional<KaSyncDaemon> ka_sync;    // and its lvs_sync_daemon
  std::vector<IpAddr> ka_sync_addrs;      // the addresses of lvs_sync_daemon's VRRP instance
  std::vector<std::string> log;  // lines for the log, in order (keepalived.conf's warnings)
};

// What a load is for, kept for when it is done.
struct LoadRequest {
  uint64_t client = 0;      // who is answered (0: nobody, SIGHUP)
  std::string what;         // "fastvsadm -R", "SIGHUP": how the log names it
  bool keepalived = false;  // it read keepalived.conf (ka_keys replace control's)
  std::string keepalived_path;
  uint64_t deadline_ms = 0;  // the client's (common/cli_proto.h): not applied past it
};

class Loads {
 public:
  Loads() = default;
  ~Loads();
  Loads(const Loads&) = delete;
  Loads& operator=(const Loads&) = delete;

  // Registers its eventfd in control's epoll.
  Status start(int epoll_fd);
  bool running() const { return thread_.joinable(); }
  bool owns(int fd) const { return fd >= 0 && fd == wake_fd_; }

  // Runs `work` on the load thread; false if one is running already.
  bool run(LoadRequest req, std::function<LoadOutcome()> work);
  // On its eventfd: the finished load, with its request (running() is false again).
  std::pair<LoadRequest, LoadOutcome> take();

 private:
  std::thread thread_;
  int wake_fd_ = -1;
  LoadRequest req_;
  LoadOutcome outcome_;
};

}  // namespace fastvs
