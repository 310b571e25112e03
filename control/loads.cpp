#include "control/loads.h"
#include "control/epoll.h"

#include "common/grammar/command.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fastvs {

Loads::~Loads() {
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status Loads::start(int epoll_fd) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Error{std::string("loads: eventfd: ") + std::strerror(errno)};
  if (epoll_set(epoll_fd, EPOLL_CTL_ADD, wake_fd_, EPOLLIN) != 0)
    return Error{std::string("loads: epoll: ") + std::strerror(errno)};
  return {};
}

bool Loads::run(LoadRequest req, std::function<LoadOutcome()> work) {
  if (thread_.joinable()) return false;
  req_ = std::move(req);
  thread_ = std::thread([this, work = std::move(work)] {
    // A loaded file's (or -R's) host names: this thread may wait on DNS, control may not.
    set_host_resolver(resolve_host_ipv4);
    outcome_ = work();
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
      // EAGAIN: a wake-up is pending already.
    }
  });
  return true;
}

std::pair<LoadRequest, LoadOutcome> Loads::take() {
  uint64_t n;
  if (read(wake_fd_, &n, sizeof n) < 0) {
    // EAGAIN: drained already.
  }
  thread_.join();  // the work is done: it only wrote the eventfd after it
  return {std::move(req_), std::move(outcome_)};
}

}  // namespace fastvs
