#include "control/changes.h"

namespace fastvs {

void Changes::publish(std::unique_ptr<Snapshot> next, uint64_t client, uint64_t deadline_ms,
                      std::string text) {
  pending_.push_back(Pending{client, pub_->publish(std::move(next)), deadline_ms, std::move(text)});
}

void Changes::poll(bool may_free) {
  // rte_rcu_qsbr_check without waiting: the control thread never blocks on the workers.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (pub_->in_force(it->token)) {
      if (it->client) cli_.reply(it->client, CliReply{true, std::move(it->text)});
      it = pending_.erase(it);
      continue;
    }
    // The truth before the client gives up: made, not yet in force (a stalled worker).
    if (it->client && it->deadline_ms && cli_now_ms() + 1000 > it->deadline_ms) {
      cli_.reply(it->client, CliReply{false,
                                      "applied, but not yet in force on every worker (a worker has "
                                      "not taken it up: it will when it does)"});
      it->client = 0;
    }
    ++it;
  }
  if (may_free) pub_->reclaim();
}

std::optional<std::pair<uint64_t, CliRequest>> Changes::next_waiting() {
  if (!pending_.empty() || waiting_.empty()) return std::nullopt;
  auto next = std::move(waiting_.front());
  waiting_.pop_front();
  return next;
}

}  // namespace fastvs
