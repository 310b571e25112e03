#include "control/changes.h"

namespace fastvs {

void Changes::publish(std::unique_ptr<Snapshot> next, uint64_t client) {
  pending_.push_back(Pending{client, pub_->publish(std::move(next))});
}

void Changes::poll() {
  // rte_rcu_qsbr_check without waiting: the control thread never blocks on the workers.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (pub_->in_force(it->token)) {
      if (it->client) cli_.reply(it->client, CliReply{true, ""});
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  pub_->reclaim();
}

std::optional<std::pair<uint64_t, CliRequest>> Changes::next_waiting() {
  if (!pending_.empty() || waiting_.empty()) return std::nullopt;
  auto next = std::move(waiting_.front());
  waiting_.pop_front();
  return next;
}

}  // namespace fastvs
