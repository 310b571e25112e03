#include "control/health/runner.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>

#include <fmt/core.h>

#include "control/health/file_check.h"
#include "control/health/probe.h"
#include "control/epoll.h"

namespace fastvs {

namespace {

std::string svc_text(const ServiceKey& k) {
  return service_name(k);
}

const char* change_name(DestChange::Op op) {
  switch (op) {
    case DestChange::Op::Add:
      return "added";
    case DestChange::Op::Edit:
      return "weight changed";
    case DestChange::Op::Remove:
      return "removed";
  }
  return "?";
}

}  // namespace

std::vector<HealthDef> health_defs(const Config& cfg) {
  std::vector<HealthDef> out;
  for (const ServiceConfig& s : cfg.services) {
    const PoolConfig* pool = nullptr;
    for (const PoolConfig& p : cfg.pools)
      if (p.service == s.key) pool = &p;
    bool checked = pool != nullptr;
    for (const CheckConfig& c : cfg.checks) checked |= c.service == s.key;
    if (!checked) continue;
    HealthDef d;
    d.pool.service = s.key;
    // The kernel's list order is newest first; keepalived adds in file order. Either way every
    // destination is in the pool with its configured weight.
    for (const DestConfig& dc : s.dests) {
      PoolServer ps;
      ps.ip = dc.rip;
      ps.port = dc.rport;
      ps.method = dc.method;
      ps.weight = dc.weight != 0 ? dc.weight : dc.last_weight;
      ps.inhibit = dc.inhibit;
      ps.u_threshold = dc.u_threshold;
      ps.l_threshold = dc.l_threshold;
      if (pool) {
        for (const PoolConfig::ServerScripts& n : pool->notify) {
          if (n.rip == dc.rip && n.rport == dc.rport) {
            ps.notify_up = n.up;
            ps.notify_down = n.down;
          }
        }
      }
      d.pool.real_servers.push_back(ps);
      std::vector<CheckSpec> specs;
      for (const CheckConfig& c : cfg.checks)
        if (c.service == s.key && c.rip == dc.rip && c.rport == dc.rport) specs.push_back(c.spec);
      d.checks.push_back(std::move(specs));
    }
    if (pool) {
      d.pool.quorum = pool->quorum;
      d.pool.hysteresis = pool->hysteresis;
      d.pool.quorum_up = pool->quorum_up;
      d.pool.quorum_down = pool->quorum_down;
      d.pool.omega = pool->omega;
      if (pool->has_sorry) {
        PoolServer sorry;
        sorry.ip = pool->sorry_ip;
        sorry.port = pool->sorry_port;
        sorry.method = pool->sorry_method;
        sorry.inhibit = pool->sorry_inhibit;
        d.pool.sorry_server = sorry;
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

HealthRunner::~HealthRunner() {
  stop();
}

Status HealthRunner::start(int epoll_fd, size_t misc_output) {
  misc_output_ = misc_output;
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Error{fmt::format("health checks: eventfd: {}", strerror(errno))};
  if (epoll_set(epoll_fd, EPOLL_CTL_ADD, wake_fd_, EPOLLIN) != 0)
    return Error{fmt::format("health checks: epoll: {}", strerror(errno))};
  thread_ = std::thread([this] { run(); });
  return {};
}

void HealthRunner::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
}

void HealthRunner::configure(std::vector<HealthDef> defs) {
  std::lock_guard<std::mutex> g(mu_);
  next_ = std::move(defs);
  ++generation_;
  out_.clear();  // about the checks being replaced
}

std::vector<HealthRunner::Update> HealthRunner::take() {
  uint64_t n;
  if (wake_fd_ >= 0 && read(wake_fd_, &n, sizeof n) < 0) {
    // EAGAIN: already drained. (After stop(): none, what the thread said last is still here.)
  }
  std::lock_guard<std::mutex> g(mu_);
  std::vector<Update> out;
  for (Update& u : out_)
    if (u.generation == generation_) out.push_back(std::move(u));
  out_.clear();
  return out;
}

std::string HealthRunner::status() const {
  std::lock_guard<std::mutex> g(mu_);
  return status_;
}

bool HealthRunner::status_current() const {
  std::lock_guard<std::mutex> g(mu_);
  return status_generation_ == generation_;
}

std::vector<RealServerHealth> HealthRunner::servers() const {
  std::lock_guard<std::mutex> g(mu_);
  return servers_;
}

void HealthRunner::post(Update u) {
  {
    std::lock_guard<std::mutex> g(mu_);
    out_.push_back(std::move(u));
  }
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
    // EAGAIN: control has a wake-up pending already.
  }
}

void HealthRunner::run() {
  // A checked service; shared with its probes' callbacks, which check `live` (a service whose
  // definition changed is replaced, and what its probes still report is not its successor's).
  struct Entry {
    ServiceHealth health;
    HealthDef def;
    bool live = true;
    bool kept = false;  // from the configuration before
  };
  std::vector<std::shared_ptr<Entry>> svcs;
  uint64_t generation = 0;  // of the last configure() taken
  Prober prober(misc_output_);
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  const std::function<double()> jitter = [&] { return uni(rng); };

  auto publish = [&](const Entry& e, const HealthUpdate& up, bool always = false) {
    if (up.empty() && !always) return;
    const ServiceHealth& s = e.health;
    Update u;
    u.generation = generation;
    u.service = s.pool().spec().service;
    u.dests = s.pool().dests();
    const std::string name = svc_text(u.service);
    for (const HealthEvent& e : up.events) u.log.push_back(fmt::format("{}: {}", name, e.text));
    for (const DestChange& c : up.changes)
      u.log.push_back(fmt::format(
          "{}: {} {} {} (weight {}): {}", name, c.sorry ? "sorry server" : "destination",
          addr_port(c.dest.rip, c.dest.rport), change_name(c.op), c.dest.weight, c.reason));
    post(std::move(u));
  };
  auto refresh_status = [&] {
    std::string t;
    std::vector<RealServerHealth> servers;
    for (const auto& e : svcs) {
      const ServiceHealth& s = e->health;
      const Pool& p = s.pool();
      for (size_t i = 0; i < p.spec().real_servers.size(); ++i) {
        RealServerHealth h;
        h.service = p.spec().service;
        h.server.rip = p.spec().real_servers[i].ip;
        h.server.rport = p.spec().real_servers[i].port;
        h.up = s.server(i).alive;
        servers.push_back(h);
      }
      t += fmt::format("{}  quorum {} (alive weight {}, quorum {}, hysteresis {}){}\n",
                       svc_text(p.spec().service), p.quorum_up() ? "up" : "lost", p.alive_weight(),
                       p.spec().quorum, p.spec().hysteresis,
                       p.sorry_in_use() ? ", sorry server in use" : "");
      for (size_t i = 0; i < p.spec().real_servers.size(); ++i) {
        const PoolServer& rs = p.spec().real_servers[i];
        const RealServerState& st = s.server(i);
        t += fmt::format("  -> {:<21} {:<4} weight {}{}{}\n", addr_port(rs.ip, rs.port),
                         st.alive ? "UP" : "DOWN", st.weight, rs.inhibit ? " inhibit" : "",
                         st.reason.empty() ? "" : "  " + st.reason);
        for (size_t j = 0; j < s.num_checkers(i); ++j) {
          const Checker& c = s.checker(CheckRef{i, j});
          t += fmt::format("       {:<4} {}{}\n", c.up() ? "up" : "down", c.spec().describe(),
                           c.has_run() ? "" : " (not run yet)");
        }
      }
    }
    std::lock_guard<std::mutex> g(mu_);
    status_ = std::move(t);
    servers_ = std::move(servers);
    status_generation_ = generation;
  };

  // A log line with no verdict (a FILE_CHECK's file that could not be read or written).
  auto note = [&](const Entry& e, std::string text) {
    Update u;
    u.generation = generation;
    u.service = e.health.pool().spec().service;
    u.verdict = false;
    u.log.push_back(fmt::format("{}: {}", svc_text(u.service), text));
    post(std::move(u));
  };
  // keepalived's notify_exec: a notify or quorum script started, nobody waiting for it (a run
  // under MISC_CHECK's reaper, killed with what it started after kScriptTimeout); its failure is
  // logged.
  size_t scripts_running = 0;
  auto run_script = [&](const Entry& e, const char* what, const ScriptSpec& s,
                        const std::string& for_what) {
    note(e, fmt::format("Executing [{}] for {} ({})", s.text, for_what, what));
    CheckSpec spec;
    spec.kind = CheckKind::Misc;
    spec.misc_argv = s.argv;
    spec.misc_path = s.text;
    spec.misc_timeout = kScriptTimeout;
    spec.user = s.user;
    spec.uid = s.uid;
    spec.gid = s.gid;
    ++scripts_running;
    const ServiceKey svc = e.health.pool().spec().service;
    prober.start(spec, IpAddr{}, 0, [&, svc, what, text = s.text](const CheckResult& r) {
      --scripts_running;
      if (r.ok) return;
      Update u;
      u.generation = generation;
      u.service = svc;
      u.verdict = false;
      // misc_exit_result's reason names the run "MISC_CHECK PATH": the script's own name instead.
      std::string why = r.reason;
      if (const size_t at = why.find(text + " "); at != std::string::npos)
        why = why.substr(at + text.size() + 1);
      u.log.push_back(fmt::format("{}: {} [{}] {}", svc_text(svc), what, text, why));
      post(std::move(u));
    });
  };
  // The scripts of a service's transitions (ipwrapper.c's perform_svr_state and
  // update_quorum_state); none at start, as keepalived without rs_init_notifies.
  auto run_scripts = [&](const Entry& e, const HealthUpdate& up) {
    const PoolSpec& p = e.health.pool().spec();
    const std::string vs = "VS " + service_name(p.service);
    for (const HealthEvent& ev : up.events) {
      const auto rs = [&] {
        const PoolServer& s = p.real_servers.at(ev.rs);
        return "real server " + addr_port(s.ip, s.port) + " in " + vs;
      };
      if (ev.kind == HealthEvent::Kind::ServerUp && p.real_servers.at(ev.rs).notify_up)
        run_script(e, "notify_up", *p.real_servers[ev.rs].notify_up, rs());
      if (ev.kind == HealthEvent::Kind::ServerDown && p.real_servers.at(ev.rs).notify_down)
        run_script(e, "notify_down", *p.real_servers[ev.rs].notify_down, rs());
      if (ev.kind == HealthEvent::Kind::QuorumGained && p.quorum_up)
        run_script(e, "quorum_up", *p.quorum_up, vs);
      if (ev.kind == HealthEvent::Kind::QuorumLost && p.quorum_down)
        run_script(e, "quorum_down", *p.quorum_down, vs);
    }
  };
  // omega (clear_service_rs): the service goes; each alive real server's notify_down, and
  // quorum_down if the quorum was up.
  auto omega = [&](const Entry& e) {
    const PoolSpec& p = e.health.pool().spec();
    if (!p.omega) return;
    const std::string vs = "VS " + service_name(p.service);
    for (size_t i = 0; i < p.real_servers.size(); ++i) {
      const PoolServer& s = p.real_servers[i];
      if (e.health.server(i).alive && s.notify_down)
        run_script(e, "notify_down", *s.notify_down,
                   "real server " + addr_port(s.ip, s.port) + " in " + vs + ", omega");
    }
    if (e.health.pool().quorum_up() && p.quorum_down)
      run_script(e, "quorum_down", *p.quorum_down, vs + ", omega");
  };
  // Each FILE_CHECK of a service, with what its file holds now.
  auto for_files = [](Entry& e, const std::function<void(CheckRef, const CheckSpec&)>& fn) {
    for (size_t i = 0; i < e.health.pool().spec().real_servers.size(); ++i)
      for (size_t j = 0; j < e.health.num_checkers(i); ++j)
        if (e.health.spec(CheckRef{i, j}).kind == CheckKind::File)
          fn(CheckRef{i, j}, e.health.spec(CheckRef{i, j}));
  };
  auto file_value = [&](Entry& e, const CheckSpec& spec) -> std::optional<int64_t> {
    std::optional<int64_t> v = read_track_file(spec.file_path);
    if (!v) note(e, fmt::format("{}: not a number in range (ignored)", spec.describe()));
    return v;
  };
  // FILE_CHECKs: their files' directories watched, on the probes' epoll set.
  FileWatch files;
  auto watch_files = [&] {
    std::vector<std::string> paths;
    std::vector<const Entry*> owners;  // each path's service, for its log line
    for (const auto& e : svcs) {
      for_files(*e, [&](CheckRef, const CheckSpec& spec) {
        paths.push_back(spec.file_path);
        owners.push_back(e.get());
      });
    }
    for (const FileWatch::Failure& f : files.watch(paths, prober.epoll_fd()))
      note(*owners.at(f.path), f.text);
  };
  // A file changed (`path`, or every file after an overflow): its checkers' new states.
  auto file_event = [&](const std::string* path, bool gone, bool kept_only = false) {
    for (const auto& e : svcs) {
      if (kept_only && !e->kept) continue;
      HealthUpdate all;
      for_files(*e, [&](CheckRef ref, const CheckSpec& spec) {
        if (path && spec.file_path != *path) return;
        // process_inotify: "The file has disappeared. Treat as though the value is 0".
        const std::optional<int64_t> v = gone ? std::optional<int64_t>(0) : file_value(*e, spec);
        if (!v) return;
        HealthUpdate up = e->health.file_changed(ref, *v);
        for (HealthEvent& ev : up.events) all.events.push_back(std::move(ev));
        for (DestChange& c : up.changes) all.changes.push_back(std::move(c));
      });
      if (all.empty()) continue;
      refresh_status();  // the status first, as after a run
      publish(*e, all);
      run_scripts(*e, all);
    }
  };
  bool configured = false;  // a configuration was taken before: the next one is a reload

  while (!stop_.load()) {
    std::optional<std::vector<HealthDef>> defs;
    {
      std::lock_guard<std::mutex> g(mu_);
      defs.swap(next_);
      if (defs) generation = generation_;
    }
    if (defs) {
      // A service whose definition is unchanged keeps its checkers' state (keepalived's reload
      // does too) and says where it stands again, for this generation; the others start over.
      std::vector<std::shared_ptr<Entry>> next, fresh;
      const double now = monotonic_seconds();
      for (HealthDef& d : *defs) {
        std::shared_ptr<Entry> kept;
        for (auto& e : svcs)
          if (e && e->def == d) kept = std::move(e);
        if (kept) {
          kept->kept = true;
          publish(*kept, HealthUpdate{}, true);
          next.push_back(std::move(kept));
          continue;
        }
        auto e =
            std::make_shared<Entry>(Entry{ServiceHealth(d.pool, d.checks, now, jitter), d, true});
        fresh.push_back(e);
        next.push_back(std::move(e));
      }
      for (auto& e : svcs) {
        if (!e) continue;  // kept
        e->live = false;
        // A service the configuration no longer has (not one whose checks changed).
        const bool dropped = std::none_of(next.begin(), next.end(), [&](const auto& n) {
          return n->def.pool.service == e->def.pool.service;
        });
        if (dropped) omega(*e);
      }
      svcs = std::move(next);
      const bool reload = configured;
      configured = true;
      // The watches first: a file written from now on is seen, by the reads below or by an event.
      watch_files();
      for (const auto& e : fresh) {
        // A FILE_CHECK starts where its file stands (keepalived reads it at load).
        for_files(*e, [&](CheckRef ref, const CheckSpec& spec) {
          if (std::optional<std::string> err = init_track_file(spec, reload))
            note(*e, spec.describe() + ": " + *err);
          e->health.file_initial(ref, file_value(*e, spec).value_or(0));
        });
        const HealthUpdate up = e->health.initial();
        publish(*e, up, true);
        // update_quorum_state(vs, true): at start only a virtual server whose quorum starts
        // down with a sorry server to put in runs its quorum_down.
        if (e->health.pool().spec().sorry_server) run_scripts(*e, up);
      }
      // What changed while the watches were being replaced (a kept service's files).
      file_event(nullptr, false, true);
      refresh_status();
      // Control answers the --check list that waited for this configuration's status.
      const uint64_t one = 1;
      if (write(wake_fd_, &one, sizeof one) < 0) {
        // EAGAIN: control has a wake-up pending already.
      }
    }
    const double now = monotonic_seconds();
    for (const auto& e : svcs) {
      for (const CheckRef& ref : e->health.due(now)) {
        e->health.begin(ref, now);
        const PoolServer& rs = e->health.pool().spec().real_servers[ref.rs];
        prober.start(e->health.spec(ref), rs.ip, rs.port, [&, e, ref](const CheckResult& r) {
          if (!e->live) return;
          if (!r.output.empty()) {
            const PoolServer& s = e->health.pool().spec().real_servers[ref.rs];
            Update u;
            u.generation = generation;
            u.service = e->health.pool().spec().service;
            u.verdict = false;
            u.log.push_back(fmt::format("{}: {}: {} {}", svc_text(u.service),
                                        addr_port(s.ip, s.port), e->health.spec(ref).describe(),
                                        r.output));
            post(std::move(u));
          }
          // The status first: control reads it (listings, monitoring) as soon as it is told.
          const HealthUpdate up = e->health.finish(ref, monotonic_seconds(), r);
          refresh_status();
          publish(*e, up);
          run_scripts(*e, up);
        });
      }
    }
    double wake = INFINITY;
    for (const auto& e : svcs) wake = std::min(wake, e->health.next_wakeup());
    // Short naps: a new configuration or a stop is noticed within 100 ms.
    const double ms = std::isfinite(wake) ? (wake - monotonic_seconds()) * 1000 : 100;
    prober.poll(static_cast<int>(std::clamp(ms, 0.0, 100.0)));
    for (const FileWatch::Event& ev : files.read())
      file_event(ev.overflow ? nullptr : &ev.path, ev.gone);
  }
  // Stopping: omega's scripts, given kOmegaGrace to end before every run is killed (a run never
  // outlives fastvsd: its reaper kills it when fastvsd goes).
  // The checks still under way are no longer heard: stopping is no transition of theirs.
  for (const auto& e : svcs) e->live = false;
  for (const auto& e : svcs) omega(*e);
  const double until = monotonic_seconds() + kOmegaGrace;
  while (scripts_running > 0 && monotonic_seconds() < until) prober.poll(50);
  if (scripts_running > 0) {
    Update u;
    u.generation = generation;
    u.verdict = false;
    u.log.push_back(fmt::format("{} script(s) still running at stop: killed", scripts_running));
    post(std::move(u));
  }
  prober.cancel_all();
}

}  // namespace fastvs
