#include "control/report/reporter.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "control/director.h"  // log_line
#include "control/report/stats.h"
#include "control/report/stats_file.h"
#include "control/report/telemetry.h"
#include "dataplane/snapshot.h"
#include "dataplane/worker.h"
#include "control/epoll.h"

namespace fastvs {

namespace {

using Clock = std::chrono::steady_clock;

// A /metrics body: the exposition of one collection, written as the client takes it.
class PrometheusBody final : public HttpBody {
 public:
  explicit PrometheusBody(std::shared_ptr<const MetricsSnapshot> m) : m_(std::move(m)), w_(*m_) {}
  bool next(std::string& out, size_t want) override {
    w_.next(out, want);
    return !w_.done();
  }

 private:
  std::shared_ptr<const MetricsSnapshot> m_;  // before w_, which reads it
  PrometheusWriter w_;
};

}  // namespace

Reporter::~Reporter() {
  stop();
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

Status Reporter::init(Options o, std::vector<const Worker*> workers, std::vector<unsigned> lcores,
                      HealthSource health) {
  opt_ = std::move(o);
  health_ = std::move(health);
  workers_ = std::move(workers);
  lcores_ = std::move(lcores);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    return Error{fmt::format("the reporter's epoll: {}", std::strerror(errno))};
  epoll_set(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, EPOLLIN);
  if (!opt_.metrics_listen.empty()) {
    if (Status st = http_.listen(opt_.metrics_listen, epoll_fd_); !st) return st;
    http_.set_handler([this]() -> std::unique_ptr<HttpBody> {
      return std::make_unique<PrometheusBody>(for_scrape());
    });
  }
  return {};
}

Status Reporter::start(std::shared_ptr<const ReportInput> first) {
  set_input(std::move(first));
  refresh(false);  // telemetry answers from the start
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    return Error{fmt::format("the reporter thread: {}", e.what())};
  }
  return {};
}

void Reporter::set_input(std::shared_ptr<const ReportInput> in) {
  {
    std::lock_guard<std::mutex> lock(input_mu_);
    input_ = std::move(in);
    ++input_seq_;
  }
  wake();
}

void Reporter::write_stats_soon() {
  stats_now_.store(true);
  wake();
}

void Reporter::wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void Reporter::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  wake();
  thread_.join();
  refresh(!opt_.stats_file.empty());
}

std::shared_ptr<const MetricsSnapshot> Reporter::latest() const {
  std::lock_guard<std::mutex> lock(latest_mu_);
  return latest_.m;
}

Reporter::Collected Reporter::collect() {
  auto m = std::make_shared<MetricsSnapshot>();
  Collected c;
  {
    std::lock_guard<std::mutex> reading(reading_);
    std::shared_ptr<const ReportInput> in;
    {
      std::lock_guard<std::mutex> lock(input_mu_);
      in = input_;
      c.input = input_seq_;
    }
    if (in && in->cfg && in->snap) {
      m->services = raw_status(*in->cfg, *in->snap);
    }
  }
  if (health_) m->health = health_();
  for (size_t i = 0; i < workers_.size(); ++i) {
    const Worker& w = *workers_[i];
    WorkerStatus& s = m->workers.emplace_back();
    s.id = w.id;
    s.lcore = lcores_[i];
    s.counters = w.ctr.values();
    s.conns = w.conns.size();
    s.conn_capacity = w.conns.capacity();
    for (unsigned d = 0; d < kDropCount; ++d)
      s.drops.emplace_back(drop_name(static_cast<Drop>(d)), w.ctr.drops[d].get());
  }
  c.m = std::move(m);
  c.at = Clock::now();
  return c;
}

void Reporter::refresh(bool stats) {
  Collected c = collect();
  telemetry_publish(c.m);
  if (stats) write_stats(*c.m);
  std::lock_guard<std::mutex> lock(latest_mu_);
  latest_ = std::move(c);
}

std::shared_ptr<const MetricsSnapshot> Reporter::for_scrape() {
  uint64_t now_input;
  {
    std::lock_guard<std::mutex> lock(input_mu_);
    now_input = input_seq_;
  }
  {
    std::lock_guard<std::mutex> lock(latest_mu_);
    if (latest_.m && latest_.input == now_input && Clock::now() - latest_.at < kFresh)
      return latest_.m;
  }
  refresh(false);
  return latest();
}

void Reporter::write_stats(const MetricsSnapshot& m) {
  const Status st = replace_file(opt_.stats_file, format_stats_json(m));
  const std::string err = st ? std::string() : st.error();
  if (err == stats_error_) return;  // logged already (or fine, as before)
  if (err.empty())
    log_line(fmt::format("stats file {}: written again", opt_.stats_file));
  else
    log_line(fmt::format("stats file {}: {}; logged again when this changes or clears",
                         opt_.stats_file, err));
  stats_error_ = err;
}

void Reporter::run() {
  // Below control and the health checks: its work can always wait a little.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  const auto interval = std::chrono::milliseconds(opt_.interval_ms ? opt_.interval_ms : 1000);
  auto next_tick = Clock::now();  // the stats file at once: it says fastvsd is up
  uint64_t seen_input = 0;
  auto last_change = Clock::now() - kFresh;
  // How long the last refresh took: the next waits at least kDuty times as long, so that at most
  // a fifth of a core goes to collecting however large the table (at 200,000 destinations under
  // ASan a refresh takes seconds).
  Clock::duration took{};
  {
    std::lock_guard<std::mutex> lock(latest_mu_);
    seen_input = latest_.input;
  }
  epoll_event events[64];
  while (!stop_.load()) {
    const auto now = Clock::now();
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now);
    const int timeout = static_cast<int>(std::clamp<int64_t>(wait.count() + 1, 0, 100));
    const int n = epoll_wait(epoll_fd_, events, 64, timeout);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wake_fd_) {
        uint64_t v;
        (void)!read(wake_fd_, &v, sizeof v);
      } else {
        http_.on_event(events[i].data.fd, events[i].events);
      }
    }
    if (stop_.load()) break;
    uint64_t input;
    {
      std::lock_guard<std::mutex> lock(input_mu_);
      input = input_seq_;
    }
    const bool stats_now = stats_now_.exchange(false);
    const auto t0 = Clock::now();
    if (t0 >= next_tick) {
      refresh(!opt_.stats_file.empty());
      seen_input = input;
      took = Clock::now() - t0;
      next_tick += std::max<Clock::duration>(interval, kDuty * took);
      if (Clock::now() >= next_tick) next_tick = Clock::now() + interval;  // fell behind
    } else if (stats_now || (input != seen_input &&
                             t0 - last_change >= std::max<Clock::duration>(kFresh, kDuty * took))) {
      // Telemetry's copy after a change (at most every kFresh: a burst of changes must leave
      // control time to free what they replaced); the stats file when SIGUSR2 asks.
      refresh(stats_now && !opt_.stats_file.empty());
      seen_input = input;
      last_change = Clock::now();
      took = last_change - t0;
    }
    http_.expire_idle();
  }
}

}  // namespace fastvs
