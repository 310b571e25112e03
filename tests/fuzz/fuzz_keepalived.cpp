// libFuzzer: keepalived.conf on any text, then the health state machines of what loaded, driven
// by the input's bits. A rejected file names one line; an accepted one gives -a commands that
// fastvsadm's grammar takes, and every update's changes, applied in order to the destinations
// before it, give exactly the destinations after it (no add of a present one, no removal of an
// absent one).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/grammar/command.h"
#include "control/config/keepalived.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool one_line(const std::string& s) {
  return !s.empty() && s.find('\n') == std::string::npos;
}

// Applies changes to a destination list as fastvsadm would, checking each is possible.
void apply(std::vector<fastvs::DestConfig>& dests, const std::vector<fastvs::DestChange>& changes,
           const fastvs::ServiceKey& key) {
  for (const fastvs::DestChange& c : changes) {
    check(fastvs::parse_command(fastvs::dest_command(key, c)).ok());
    auto it = dests.begin();
    while (it != dests.end() && !(it->rip == c.dest.rip && it->rport == c.dest.rport)) ++it;
    switch (c.op) {
      case fastvs::DestChange::Op::Add:
        check(it == dests.end());
        dests.push_back(c.dest);
        break;
      case fastvs::DestChange::Op::Edit:
        check(it != dests.end() && it->weight == c.old_weight);
        *it = c.dest;
        break;
      case fastvs::DestChange::Op::Remove:
        check(it != dests.end());
        dests.erase(it);
        break;
    }
  }
}

bool same_set(std::vector<fastvs::DestConfig> a, const std::vector<fastvs::DestConfig>& b) {
  if (a.size() != b.size()) return false;
  for (const fastvs::DestConfig& d : b) {
    auto it = a.begin();
    while (it != a.end() && !(it->rip == d.rip && it->rport == d.rport && it->weight == d.weight))
      ++it;
    if (it == a.end()) return false;
    a.erase(it);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  const fastvs::Result<fastvs::KaConfig> r = fastvs::parse_keepalived(text, "fuzz", &warnings);
  for (const std::string& w : warnings) check(one_line(w));
  if (!r) {
    check(one_line(r.error()) && r.error().rfind("fuzz:", 0) == 0);
    return 0;
  }
  for (const std::string& e : fastvs::ka_unsupported(*r)) check(one_line(e));
  const auto services = fastvs::ka_services(*r);
  check(services.size() == r->virtual_servers.size());
  for (const auto& words : fastvs::ka_commands(*r)) {
    if (words[0] == "-a") check(fastvs::parse_command(words).ok());
  }
  // The input's bits decide each check's result.
  size_t bit = 0;
  auto next_bit = [&] {
    const bool b = size ? (data[(bit / 8) % size] >> (bit % 8)) & 1 : false;
    ++bit;
    return b;
  };
  // The state machines of the first few virtual servers, a few dozen steps each: enough for every
  // transition, and cheap enough for the long runs' ten million inputs.
  size_t simulated = 0;
  for (const fastvs::KaVirtualServer& vs : r->virtual_servers) {
    if (++simulated > 4) break;
    fastvs::ServiceHealth h = fastvs::ka_service_health(vs, 0);
    std::vector<fastvs::DestConfig> dests;
    apply(dests, h.initial().changes, vs.key);
    check(same_set(dests, h.pool().dests()));
    for (int step = 0; step < 24; ++step) {
      const double now = h.next_wakeup();
      if (!std::isfinite(now)) break;
      const auto due = h.due(now);
      check(!due.empty());
      for (const fastvs::CheckRef& ref : due) {
        h.begin(ref, now);
        const fastvs::CheckSpec& spec = h.spec(ref);
        const fastvs::CheckResult res =
            spec.kind == fastvs::CheckKind::Misc
                ? fastvs::misc_exit_result(spec, next_bit() ? 0 : (next_bit() ? 1 : 40))
                : fastvs::CheckResult{next_bit(), "fuzz", -1};
        const fastvs::HealthUpdate u = h.finish(ref, now + 0.5, res);
        for (const fastvs::HealthEvent& e : u.events) check(one_line(e.text));
        apply(dests, u.changes, vs.key);
        check(same_set(dests, h.pool().dests()));
        check(h.checker(ref).next_run() >= now + 0.5);
      }
    }
  }
  return 0;
}
