// The Prober: starts each check its spec describes, drives them on one epoll set, and
// finishes them (exactly one `done` each) when they end or time out. The checkers' own parts are
// one file each: tcp_check.cpp, http_get.cpp, misc_check.cpp.
#include "control/health/probe.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include <fmt/core.h>

#include "control/health/probe_impl.h"

namespace fastvs {

uint32_t probe_random() {
  static std::mt19937 gen{std::random_device{}()};
  return static_cast<uint32_t>(gen());
}

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Prober::Prober(size_t misc_output) : misc_output_(std::min(misc_output, kMaxMiscOutput)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
}

Prober::~Prober() {
  cancel_all();
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Prober::cancel_all() {
  // A MISC_CHECK run's reaper kills and reaps what the run started when its socket closes; it
  // gets two seconds for that (polled: a reaper is never waited for blindly), then it is killed
  // (stuck, as in Prober::poll_misc).
  std::vector<pid_t> reapers;
  for (auto& p : probes_) {
    if (p->pid <= 0) continue;
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    reapers.push_back(p->pid);
  }
  probes_.clear();
  const double give_up = monotonic_seconds() + 2;
  while (!reapers.empty()) {
    std::erase_if(reapers, [](pid_t pid) { return waitpid(pid, nullptr, WNOHANG) != 0; });
    if (reapers.empty() || monotonic_seconds() >= give_up) break;
    usleep(5000);
  }
  for (const pid_t pid : reapers) {
    kill(pid, SIGKILL);
    orphans_.push_back(pid);
  }
  reap_orphans();
}

void Prober::reap_orphans() {
  std::erase_if(orphans_, [](pid_t pid) { return waitpid(pid, nullptr, WNOHANG) != 0; });
}

void Prober::start(const CheckSpec& spec, const IpAddr& ip, uint16_t port, Done done) {
  auto p = std::make_unique<Probe>();
  p->spec = spec;
  p->ip = spec.connect_ip.is_zero() ? ip : spec.connect_ip;
  p->port = spec.connect_port ? spec.connect_port : port;
  p->done = std::move(done);
  const Status st = spec.kind == CheckKind::Misc   ? start_misc(*p)
                    : spec.kind == CheckKind::Udp  ? start_udp(*p)
                    : spec.kind == CheckKind::Ping ? start_ping(*p)
                    : spec.kind == CheckKind::Dns  ? start_dns(*p)
                                                   : start_connect(*p);
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
  if (p.stage == Probe::Stage::Program) return read_misc(p);
  if (p.stage == Probe::Stage::Datagram) return step_udp(p);
  if (p.stage == Probe::Stage::Echo) return step_ping(p);
  if (p.stage == Probe::Stage::Query) return step_dns(p);
  if (p.spec.kind == CheckKind::Ssl && p.stage != Probe::Stage::Connecting) return step_ssl(p);
  if (p.stage == Probe::Stage::Connecting && !connected(p)) return;
  if (p.spec.kind == CheckKind::Tcp) return finish(p, CheckResult{true, "", -1});
  if (p.spec.kind == CheckKind::Smtp) return step_smtp(p);
  if (p.spec.kind == CheckKind::Ssl) return step_ssl(p);
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
  if (!orphans_.empty()) reap_orphans();
  const double now = monotonic_seconds();
  for (size_t i = 0; i < probes_.size();) {
    Probe& p = *probes_[i];
    if (p.stage == Probe::Stage::Program) {
      if (std::optional<CheckResult> r = poll_misc(p, now)) {
        finish(p, *r);
        continue;
      }
    } else if (now >= p.deadline && p.stage == Probe::Stage::Datagram) {
      finish(p, udp_silence(p));
      continue;
    } else if (now >= p.deadline && p.stage == Probe::Stage::Query) {
      finish(p, CheckResult{false,
                            fmt::format("DNS_CHECK {}: read timeout after {} s",
                                        addr_port(p.ip, p.port), p.spec.connect_timeout),
                            -1});
      continue;
    } else if (now >= p.deadline && p.stage == Probe::Stage::Echo) {
      finish(p, CheckResult{false,
                            fmt::format("ping {}: no echo reply within {} s", format_ip(p.ip),
                                        p.spec.connect_timeout),
                            -1});
      continue;
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
