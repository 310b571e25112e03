// keepalived's health-check semantics as pure state machines (see state.h for the sources).
#include "control/health/state.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace fastvs {

namespace {

// check_api.h BOOTSTRAP_DELAY: every checker waits this long after startup, plus its warmup.
constexpr double kBootstrapDelay = 1.0;

// IPVS takes weights 0..65535 from fastvsadm (ipvsadm's -w); misc_dynamic may ask for more.
int32_t clamp_weight(int64_t w) {
  return static_cast<int32_t>(std::clamp<int64_t>(w, 0, 65535));
}

bool same_dest(const DestConfig& a, const DestConfig& b) {
  return a.rip == b.rip && a.rport == b.rport;
}

DestConfig to_dest(const PoolServer& s, int32_t weight) {
  DestConfig d;
  d.rip = s.ip;
  d.rport = s.port;
  d.method = s.method;
  d.weight = weight;
  d.u_threshold = s.u_threshold;
  d.l_threshold = s.l_threshold;
  return d;
}

}  // namespace

CheckResult misc_exit_result(const CheckSpec& spec, int exit_status) {
  CheckResult r;
  const std::string who = spec.describe();
  const std::string status = std::to_string(exit_status);
  if (exit_status == 0) {
    r.ok = true;
    r.reason = who + " succeeded";
  } else if (spec.misc_dynamic && exit_status >= 2 && exit_status <= 255) {
    r.ok = true;
    r.weight = exit_status - 2;
    r.reason = who + " succeeded (exited with status " + status + ": weight " +
               std::to_string(r.weight) + ")";
  } else {
    r.reason = who + " failed (exited with status " + status + ")";
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Checker

Checker::Checker(CheckSpec spec, double now, double jitter)
    : spec_(std::move(spec)),
      up_(!spec_.alpha),
      // validate_check_config: "For non alpha mode, one failure is enough initially".
      retry_it_(spec_.retry),
      next_run_(now + kBootstrapDelay + std::clamp(jitter, 0.0, 1.0) * spec_.warmup) {
  if (spec_.kind == CheckKind::File) {
    // add_rs_to_track_files: "There is no concept of the checker running, but we will have
    // checked the file, so mark it as run." It never runs; its file says where it stands.
    up_ = true;
    has_run_ = true;
    next_run_ = std::numeric_limits<double>::infinity();
  }
}

std::optional<CheckerEvent> Checker::file_value(int64_t value) {
  // IPVS_WEIGHT_MAX; a status at -IPVS_WEIGHT_MAX or below is IPVS_WEIGHT_FAULT.
  constexpr int64_t kMax = 65535;
  const int64_t w = spec_.file_weight;
  const int64_t sign = spec_.file_reverse ? -1 : 1;
  bool fault = false;
  int64_t status = 0;
  std::string why = "the file holds " + std::to_string(value);
  if (w == 0) {
    // "If the tracking weight is 0, a non-zero value means failure" (reverse: a zero one).
    fault = (value != 0) == (sign == 1);
  } else {
    status = std::clamp<int64_t>(value * w * sign, -kMax, kMax - 1);
    fault = status <= -kMax;
    if (!fault) why += ": weight " + std::string(status >= 0 ? "+" : "") + std::to_string(status);
  }
  // keepalived moves the effective weight by the difference of two statuses and leaves it
  // alone across a fault; fastvs adds the current status to the configured weight, which is
  // where keepalived ends up whenever it has not been through a fault.
  file_delta_ = fault ? 0 : static_cast<int32_t>(status);
  if (fault == !up_) return std::nullopt;
  up_ = !fault;
  return CheckerEvent{up_, spec_.describe() + ": " + why};
}

void Checker::begin(double now) {
  running_ = true;
  started_ = now;
}

std::optional<CheckerEvent> Checker::finish(double now, const CheckResult& result) {
  if (!running_) started_ = now;
  running_ = false;
  std::optional<CheckerEvent> event;
  double delay = spec_.delay_loop;
  if (result.ok) {
    retry_it_ = 0;
    if (spec_.misc_dynamic) weight_ = result.weight >= 0 ? result.weight : -1;
    if (!up_) {
      up_ = true;
      event = CheckerEvent{true, result.reason};
    }
  } else if (up_ || !has_run_) {
    // tcp_epilog / dns_final / misc_check_child_thread: an up checker retries its failures
    // before it goes down.
    if (retry_it_ < spec_.retry) {
      ++retry_it_;
      delay = spec_.delay_before_retry;
    } else {
      std::string reason = result.reason;
      if (has_run_ && spec_.retry > 0) {
        reason +=
            " after " + std::to_string(spec_.retry) + (spec_.retry == 1 ? " retry" : " retries");
      }
      retry_it_ = 0;
      if (up_) {
        up_ = false;
        event = CheckerEvent{false, std::move(reason)};
      }
    }
  }
  has_run_ = true;
  // misc_check_child_thread schedules from when the program started (last_ran); the others
  // from the end of the run.
  const double from = spec_.kind == CheckKind::Misc ? started_ : now;
  next_run_ = std::max(from + delay, now);
  return event;
}

// ---------------------------------------------------------------------------------------------
// Pool

Pool::Pool(PoolSpec spec) : spec_(std::move(spec)) {}

PoolUpdate Pool::update(const std::vector<RealServerState>& rs_in) {
  std::vector<RealServerState> rs = rs_in;
  rs.resize(spec_.real_servers.size());
  PoolUpdate out;

  int64_t sum = 0;
  for (const RealServerState& s : rs) {
    if (s.alive) sum += std::max<int64_t>(s.weight, 0);
  }
  alive_weight_ = sum;
  const int64_t quorum = spec_.quorum;
  const int64_t hyst = spec_.hysteresis;
  const std::string vs = service_name(spec_.service);
  const bool first = !started_;
  const bool quorum_before = quorum_up_;
  if (first) {
    // set_quorum_states(): up when the alive weight reaches quorum + hysteresis.
    started_ = true;
    quorum_up_ = sum >= quorum + hyst;
    if (!quorum_up_) {
      out.quorum = false;
      out.quorum_text = "Starting with quorum down " + std::to_string(quorum) + "+" +
                        std::to_string(hyst) + "=" + std::to_string(quorum + hyst) + " > " +
                        std::to_string(sum) + " for VS " + vs;
    }
  } else if (!quorum_up_ && sum >= quorum + hyst) {
    quorum_up_ = true;
    out.quorum = true;
    out.quorum_text = "Gained quorum " + std::to_string(quorum) + "+" + std::to_string(hyst) + "=" +
                      std::to_string(quorum + hyst) + " <= " + std::to_string(sum) + " for VS " +
                      vs;
  } else if (quorum_up_ && (sum == 0 || sum < quorum - hyst)) {
    quorum_up_ = false;
    out.quorum = false;
    out.quorum_text = "Lost quorum " + std::to_string(quorum) + "-" + std::to_string(hyst) + "=" +
                      std::to_string(quorum - hyst) + " > " + std::to_string(sum) + " for VS " + vs;
  }
  const bool sorry = spec_.sorry_server.has_value();
  const bool use_sorry = sorry && !quorum_up_;
  const bool sorry_switched = sorry && !first && quorum_before != quorum_up_;

  // The destinations wanted now, each with why it is as it is.
  struct Want {
    DestConfig dest;
    bool sorry;
    std::string reason;  // used if it changed
  };
  std::vector<Want> want;
  std::vector<std::string> gone_reason(spec_.real_servers.size());
  for (size_t i = 0; i < spec_.real_servers.size(); ++i) {
    const PoolServer& p = spec_.real_servers[i];
    const RealServerState& s = rs[i];
    const bool state_changed = first || s.alive != last_[i].alive;
    std::string why;
    if (state_changed) {
      why = std::string(s.alive ? "real server up" : "real server down") +
            (s.reason.empty() ? "" : ": " + s.reason);
    } else if (sorry_switched) {
      why = out.quorum_text + (use_sorry ? ": the sorry server replaces the real servers"
                                         : ": the real servers replace the sorry server");
    } else {
      why = "weight " + std::to_string(clamp_weight(last_[i].weight)) + " -> " +
            std::to_string(clamp_weight(s.weight)) +
            (s.reason.empty() ? "" : " (" + s.reason + ")");
    }
    if (s.alive && !use_sorry) {
      want.push_back({to_dest(p, clamp_weight(s.weight)), false, why});
    } else if (p.inhibit) {
      want.push_back({to_dest(p, 0), false, why + " (inhibit_on_failure: weight 0)"});
    } else {
      gone_reason[i] = why;
    }
  }
  std::string sorry_gone;
  if (sorry) {
    const PoolServer& p = *spec_.sorry_server;
    const bool clash = std::any_of(want.begin(), want.end(), [&](const Want& w) {
      return w.dest.rip == p.ip && w.dest.rport == p.port;
    });
    std::string why =
        first ? (out.quorum_text.empty() ? "start" : out.quorum_text) : out.quorum_text;
    if (use_sorry && !clash) {
      want.push_back({to_dest(p, clamp_weight(p.weight)), true, why + ": sorry server in"});
    } else if (p.inhibit && !clash) {
      want.push_back({to_dest(p, 0), true, why + ": sorry server not in use (weight 0)"});
    } else {
      sorry_gone = why + ": sorry server out";
    }
  }

  // Diff against what the service has.
  std::vector<DestChange> adds, edits, removes;
  for (const Want& w : want) {
    auto old = std::find_if(dests_.begin(), dests_.end(),
                            [&](const DestConfig& d) { return same_dest(d, w.dest); });
    if (old == dests_.end()) {
      adds.push_back({DestChange::Op::Add, w.dest, 0, w.sorry, w.reason});
    } else if (old->weight != w.dest.weight || old->method != w.dest.method ||
               old->u_threshold != w.dest.u_threshold || old->l_threshold != w.dest.l_threshold) {
      edits.push_back({DestChange::Op::Edit, w.dest, old->weight, w.sorry, w.reason});
    }
  }
  for (const DestConfig& d : dests_) {
    const bool kept =
        std::any_of(want.begin(), want.end(), [&](const Want& w) { return same_dest(d, w.dest); });
    if (kept) continue;
    const bool is_sorry =
        sorry && d.rip == spec_.sorry_server->ip && d.rport == spec_.sorry_server->port;
    std::string why = is_sorry ? sorry_gone : "";
    for (size_t i = 0; i < spec_.real_servers.size() && why.empty(); ++i) {
      const PoolServer& p = spec_.real_servers[i];
      if (p.ip == d.rip && p.port == d.rport) why = gone_reason[i];
    }
    removes.push_back({DestChange::Op::Remove, d, d.weight, is_sorry, why});
  }

  dests_.clear();
  for (const Want& w : want) dests_.push_back(w.dest);
  last_ = std::move(rs);
  for (auto* part : {&adds, &edits, &removes}) {
    for (DestChange& c : *part) out.changes.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> dest_command(const ServiceKey& service, const DestChange& change) {
  std::vector<std::string> w;
  w.emplace_back(change.op == DestChange::Op::Add    ? "-a"
                 : change.op == DestChange::Op::Edit ? "-e"
                                                     : "-d");
  for (std::string& word : service_words(service)) w.push_back(std::move(word));
  w.emplace_back("-r");
  // A port 0 service takes its real servers without a port (fastvsadm, as ipvsadm), and so does
  // a firewall-mark service the ones that keep each connection's port.
  w.push_back(change.dest.rport == 0 ? format_ip(change.dest.rip)
                                     : addr_port(change.dest.rip, change.dest.rport));
  if (change.op == DestChange::Op::Remove) return w;
  switch (change.dest.method) {
    case ForwardMethod::Masq:
      w.emplace_back("-m");
      break;
    case ForwardMethod::Route:
      w.emplace_back("-g");
      break;
    case ForwardMethod::Tunnel:
      w.emplace_back("-i");
      break;
  }
  w.emplace_back("-w");
  w.push_back(std::to_string(change.dest.weight));
  if (change.dest.u_threshold != 0) {
    w.emplace_back("-x");
    w.push_back(std::to_string(change.dest.u_threshold));
  }
  if (change.dest.l_threshold != 0) {
    w.emplace_back("-y");
    w.push_back(std::to_string(change.dest.l_threshold));
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// ServiceHealth

ServiceHealth::ServiceHealth(PoolSpec pool, std::vector<std::vector<CheckSpec>> checks, double now,
                             const std::function<double()>& jitter)
    : pool_(std::move(pool)) {
  const size_t n = pool_.spec().real_servers.size();
  checks.resize(n);
  checkers_.resize(n);
  rs_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (CheckSpec& spec : checks[i]) {
      checkers_[i].emplace_back(std::move(spec), now, jitter ? jitter() : 0.0);
    }
    rs_[i].weight = pool_.spec().real_servers[i].weight;
    refresh(i);
    if (checkers_[i].empty()) {
      rs_[i].reason = "no checker: always alive";
    } else if (rs_[i].alive) {
      rs_[i].reason = "in service until a check fails (alpha off)";
    } else {
      rs_[i].reason = "alpha: out of service until its checks succeed";
    }
  }
}

std::string ServiceHealth::server_name(size_t rs) const {
  const PoolServer& p = pool_.spec().real_servers.at(rs);
  return "VS " + service_name(pool_.spec().service) + ", real server " + addr_port(p.ip, p.port);
}

// keepalived: a real server is alive when none of its checkers has failed; misc_dynamic moves
// its weight by (asked - configured) for each checker that asked (update_svr_wgt), and a
// FILE_CHECK by its status.
void ServiceHealth::refresh(size_t rs) {
  const int64_t base = pool_.spec().real_servers[rs].weight;
  bool alive = true;
  int64_t weight = base;
  for (const Checker& c : checkers_[rs]) {
    alive = alive && c.up();
    if (c.weight() >= 0) weight += c.weight() - base;
    weight += c.file_delta();
  }
  rs_[rs].alive = alive;
  rs_[rs].weight = clamp_weight(weight);
}

HealthUpdate ServiceHealth::apply_pool(HealthUpdate up) {
  PoolUpdate p = pool_.update(rs_);
  if (p.quorum) {
    up.events.push_back(
        {*p.quorum ? HealthEvent::Kind::QuorumGained : HealthEvent::Kind::QuorumLost, 0,
         p.quorum_text});
  }
  up.changes = std::move(p.changes);
  return up;
}

HealthUpdate ServiceHealth::initial() {
  // A server that starts down is not added, and no transition says so: a line of its own.
  HealthUpdate up;
  for (size_t i = 0; i < rs_.size(); ++i) {
    if (!rs_[i].alive) {
      up.events.push_back({HealthEvent::Kind::StartsDown, i,
                           server_name(i) + " starts down (" + rs_[i].reason + ")"});
    }
  }
  return apply_pool(std::move(up));
}

std::vector<CheckRef> ServiceHealth::due(double now) const {
  std::vector<CheckRef> out;
  for (size_t i = 0; i < checkers_.size(); ++i) {
    for (size_t j = 0; j < checkers_[i].size(); ++j) {
      if (checkers_[i][j].due(now)) out.push_back({i, j});
    }
  }
  return out;
}

double ServiceHealth::next_wakeup() const {
  double t = std::numeric_limits<double>::infinity();
  for (const auto& list : checkers_) {
    for (const Checker& c : list) {
      if (!c.running()) t = std::min(t, c.next_run());
    }
  }
  return t;
}

void ServiceHealth::begin(CheckRef ref, double now) {
  checkers_.at(ref.rs).at(ref.check).begin(now);
}

HealthUpdate ServiceHealth::finish(CheckRef ref, double now, const CheckResult& result) {
  Checker& c = checkers_.at(ref.rs).at(ref.check);
  const RealServerState before = rs_[ref.rs];
  const bool first = !c.has_run();
  const std::optional<CheckerEvent> ev = c.finish(now, result);
  HealthUpdate up = settle(ref, before, ev, result.reason);
  // update_svr_checker_state: an alpha checker's first run that fails changes nothing, but
  // keepalived tells the notify scripts the server is down (do_rs_notifies).
  if (first && c.spec().alpha && !result.ok && !rs_[ref.rs].alive) {
    up.events.push_back({HealthEvent::Kind::ServerDown, ref.rs,
                         server_name(ref.rs) + " is down (alpha: its first " + c.spec().describe() +
                             " failed" + (result.reason.empty() ? "" : ": " + result.reason) +
                             ")"});
  }
  return up;
}

void ServiceHealth::file_initial(CheckRef ref, int64_t value) {
  Checker& c = checkers_.at(ref.rs).at(ref.check);
  const std::optional<CheckerEvent> ev = c.file_value(value);
  refresh(ref.rs);
  if (ev && !ev->up) rs_[ref.rs].reason = ev->reason;
}

HealthUpdate ServiceHealth::file_changed(CheckRef ref, int64_t value) {
  Checker& c = checkers_.at(ref.rs).at(ref.check);
  const RealServerState before = rs_[ref.rs];
  const std::optional<CheckerEvent> ev = c.file_value(value);
  return settle(ref, before, ev, c.spec().describe() + ": the file holds " + std::to_string(value));
}

HealthUpdate ServiceHealth::settle(CheckRef ref, const RealServerState& before,
                                   const std::optional<CheckerEvent>& ev,
                                   const std::string& reason) {
  HealthUpdate up;
  const Checker& c = checkers_.at(ref.rs).at(ref.check);
  const std::string who = server_name(ref.rs);
  if (ev) {
    up.events.push_back({ev->up ? HealthEvent::Kind::CheckerUp : HealthEvent::Kind::CheckerDown,
                         ref.rs,
                         who + ": " + c.spec().describe() + (ev->up ? " up" : " down") +
                             (ev->reason.empty() ? "" : ": " + ev->reason)});
  }
  refresh(ref.rs);
  RealServerState& now_state = rs_[ref.rs];
  if (now_state.alive != before.alive) {
    now_state.reason = ev ? ev->reason : reason;
    up.events.push_back(
        {now_state.alive ? HealthEvent::Kind::ServerUp : HealthEvent::Kind::ServerDown, ref.rs,
         who + (now_state.alive ? " is up" : " is down") +
             (now_state.reason.empty() ? "" : " (" + now_state.reason + ")")});
  }
  if (now_state.weight != before.weight) {
    if (now_state.alive == before.alive) now_state.reason = reason;
    up.events.push_back({HealthEvent::Kind::WeightChanged, ref.rs,
                         who + ": weight " + std::to_string(before.weight) + " -> " +
                             std::to_string(now_state.weight) +
                             (c.spec().kind == CheckKind::File ? " (" + c.spec().describe() + ")"
                                                               : " (misc_dynamic)")});
  }
  if (now_state.alive == before.alive && now_state.weight == before.weight) return up;
  return apply_pool(std::move(up));
}

}  // namespace fastvs
