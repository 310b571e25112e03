// The Prober: starts each check its spec describes, drives them on one epoll set, and
// finishes them (exactly one `done` each) when they end or time out. The checkers' own parts are
// one file each: tcp_check.cpp, http_get.cpp, misc_check.cpp.
#include "control/health/probe.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt/core.h>

#include "control/health/probe_impl.h"

namespace fastvs {

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Prober::Prober() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
}

Prober::~Prober() {
  cancel_all();
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Prober::cancel_all() {
  for (auto& p : probes_) {
    if (p->pid > 0) {
      kill(-p->pid, SIGKILL);  // its process group: what it started too
      waitpid(p->pid, nullptr, 0);
    }
  }
  probes_.clear();
}

void Prober::start(const CheckSpec& spec, uint32_t ip, uint16_t port, Done done) {
  auto p = std::make_unique<Probe>();
  p->spec = spec;
  p->ip = spec.connect_ip ? spec.connect_ip : ip;
  p->port = spec.connect_port ? spec.connect_port : port;
  p->done = std::move(done);
  const Status st = spec.kind == CheckKind::Misc ? start_misc(*p) : start_connect(*p);
  if (!st) return p->done(CheckResult{false, st.error(), -1});
  probes_.push_back(std::move(p));
}

void Prober::finish(Probe& probe, const CheckResult& r) {
  for (size_t i = 0; i < probes_.size(); ++i) {
    if (probes_[i].get() != &probe) continue;
    std::unique_ptr<Probe> p = std::move(probes_[i]);
    probes_.erase(probes_.begin() + static_cast<std::ptrdiff_t>(i));
    if (p->fd >= 0) close(p->fd);  // closing removes it from the epoll set
    p->fd = -1;
    p->done(r);
    return;
  }
}

void Prober::step(Probe& p) {
  if (p.stage == Probe::Stage::Connecting && !connected(p)) return;
  if (p.spec.kind == CheckKind::Tcp) return finish(p, CheckResult{true, "", -1});
  step_http(p);
}

void Prober::poll(int timeout_ms) {
  epoll_event evs[32];
  const int n = epoll_wait(epoll_fd_, evs, 32, timeout_ms);
  for (int k = 0; k < n; ++k) {
    for (auto& p : probes_) {
      if (p->fd == evs[k].data.fd) {
        step(*p);
        break;
      }
    }
  }
  const double now = monotonic_seconds();
  for (size_t i = 0; i < probes_.size();) {
    Probe& p = *probes_[i];
    if (p.stage == Probe::Stage::Program) {
      if (std::optional<CheckResult> r = poll_misc(p, now)) {
        finish(p, *r);
        continue;
      }
    } else if (now >= p.deadline) {
      finish(p, CheckResult{false,
                            fmt::format("{} to {} timed out after {} s",
                                        p.stage == Probe::Stage::Connecting ? "connect" : "request",
                                        addr_port(p.ip, p.port), p.spec.connect_timeout),
                            -1});
      continue;
    }
    ++i;
  }
}

}  // namespace fastvs
