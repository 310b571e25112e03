// Publication of snapshots to running workers, and their reclamation. Control stores each new
// snapshot in every worker's `latest` pointer; a change is in force once every worker has passed an
// RCU quiescent state since the push (workers adopt before they report one, and an idle worker is
// offline: it adopts before it touches a packet). A replaced snapshot is freed once, in
// addition, every worker has adopted a newer one: adoption reads the snapshot it replaces.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/snapshot.h"

struct rte_rcu_qsbr;

namespace fastvs {

struct Worker;

class Publisher {
 public:
  // `first` is already adopted by every worker (before they were launched).
  Publisher(rte_rcu_qsbr* qsbr, std::vector<Worker*> workers, std::unique_ptr<Snapshot> first);

  const Snapshot& current() const { return *current_; }
  // Pushes `next` to every worker; returns the token that in_force() takes.
  uint64_t publish(std::unique_ptr<Snapshot> next);
  bool in_force(uint64_t token) const;
  // Frees what no worker can read any more; returns how many are still waiting.
  size_t reclaim();
  size_t retired() const { return retired_.size(); }

 private:
  struct Retired {
    uint64_t token;
    std::unique_ptr<Snapshot> snap;
  };
  rte_rcu_qsbr* qsbr_;
  std::vector<Worker*> workers_;
  std::unique_ptr<Snapshot> current_;
  std::vector<Retired> retired_;
};

}  // namespace fastvs
