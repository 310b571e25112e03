// Changes reach the workers one at a time: each is published as a new snapshot (its Publisher,
// dataplane/publish.h) and its client answered once every worker has it in force (rte_rcu_qsbr);
// a change that arrives meanwhile waits its turn, in order. Control never blocks on the
// workers: poll() checks, from the control loop.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "common/cli_proto.h"
#include "control/cli_server.h"
#include "dataplane/publish.h"

namespace fastvs {

class Changes {
 public:
  explicit Changes(CliServer& cli) : cli_(cli) {}

  // The workers' publisher, with the snapshot they all run already.
  void start(std::unique_ptr<Publisher> pub) { pub_ = std::move(pub); }
  const Snapshot& current() const { return pub_->current(); }

  // Whether a change must wait: one is in flight, or others wait before it (`queued`: it is one
  // of them, taken from the queue by next_waiting()).
  bool must_wait(bool queued) const { return !pending_.empty() || (!queued && !waiting_.empty()); }
  void wait(uint64_t client, CliRequest req) { waiting_.emplace_back(client, std::move(req)); }
  bool in_flight() const { return !pending_.empty(); }
  // Snapshots replaced but still readable by some worker.
  size_t retired() const { return pub_->retired(); }

  // Publishes `next`; `client` (0: none, a health verdict) is answered once it is in force, or,
  // if a worker has not adopted it a second before the client's deadline (deadline_ms, 0:
  // none), told that it is applied but not yet in force everywhere. `text`: what the client's
  // answer prints (a load's warnings), once it is in force.
  void publish(std::unique_ptr<Snapshot> next, uint64_t client, uint64_t deadline_ms = 0,
               std::string text = {});
  // Answers the clients whose change is in force and, if `may_free`, frees what no worker reads
  // any more.
  void poll(bool may_free = true);
  // The next waiting request, once none is in flight.
  std::optional<std::pair<uint64_t, CliRequest>> next_waiting();

 private:
  struct Pending {
    uint64_t client;  // 0: nobody (any more) to answer
    uint64_t token;
    uint64_t deadline_ms;
    std::string text;
  };
  CliServer& cli_;
  std::unique_ptr<Publisher> pub_;
  std::vector<Pending> pending_;
  std::deque<std::pair<uint64_t, CliRequest>> waiting_;
};

}  // namespace fastvs
