#include "dataplane/publish.h"

#include <algorithm>

#include <rte_rcu_qsbr.h>

#include <fmt/core.h>

#include "dataplane/worker.h"

namespace fastvs {

Publisher::Publisher(rte_rcu_qsbr* qsbr, std::vector<Worker*> workers,
                     std::unique_ptr<Snapshot> first)
    : qsbr_(qsbr), workers_(std::move(workers)), current_(std::move(first)) {}

uint64_t Publisher::publish(std::unique_ptr<Snapshot> next) {
  next->seq = current_->seq + 1;
  for (Worker* w : workers_) w->latest.store(next.get(), std::memory_order_release);
  const uint64_t token = rte_rcu_qsbr_start(qsbr_);
  retired_.push_back(Retired{token, std::move(current_)});
  current_ = std::move(next);
  return token;
}

bool Publisher::in_force(uint64_t token) const {
  return rte_rcu_qsbr_check(qsbr_, token, false) == 1;  // never waits: control does not block
}

size_t Publisher::reclaim() {
  uint64_t oldest_adopted = ~uint64_t{0};
  for (const Worker* w : workers_)
    oldest_adopted = std::min(oldest_adopted, w->adopted_seq.load(std::memory_order_acquire));
  std::erase_if(retired_, [&](const Retired& r) {
    return r.snap->seq < oldest_adopted && rte_rcu_qsbr_check(qsbr_, r.token, false) == 1;
  });
  return retired_.size();
}

}  // namespace fastvs
