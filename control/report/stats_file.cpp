#include "control/report/stats_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include <fmt/core.h>

#include "common/net.h"

namespace fastvs {

namespace {

// "tcp:10.0.0.1:80", "udp:[2001:db8::1]:53"; a firewall-mark service "fwm:80", "fwm6:80".
std::string stats_service(const ServiceKey& k) {
  if (k.is_fwmark()) return fmt::format("{}:{}", k.vip.is_v6() ? "fwm6" : "fwm", k.fwmark);
  return fmt::format("{}:{}", k.proto == Proto::Tcp ? "tcp" : "udp", addr_port(k.vip, k.vport));
}

}  // namespace

std::string format_stats_json(const MetricsSnapshot& m) {
  std::string j = "{\"workers\": [";
  for (size_t i = 0; i < m.workers.size(); ++i) {
    const WorkerStatus& w = m.workers[i];
    j += i ? ", {" : "{";
    for (unsigned c = 0; c < kCounterCount; ++c)
      j += fmt::format("\"{}\": {}, ", kCounters[c].name, w.counters[c]);
    j += fmt::format("\"conns\": {}, \"drops\": {{", w.conns);
    for (size_t d = 0; d < w.drops.size(); ++d)
      j += fmt::format("{}\"{}\": {}", d ? ", " : "", w.drops[d].first, w.drops[d].second);
    j += "}}";
  }
  j += "], \"destinations\": [";
  bool first = true;
  for (const ServiceStatus& s : m.services) {
    for (const DestStatus& d : s.dests) {
      j += fmt::format(
          "{}{{\"service\": \"{}\", \"rip\": \"{}\", \"weight\": {}, "
          "\"activeconns\": {}, \"inactconns\": {}, \"conns\": {}, \"inpkts\": {}, "
          "\"outpkts\": {}}}",
          first ? "" : ", ", stats_service(s.cfg.key), addr_port(d.cfg.rip, d.cfg.rport),
          d.cfg.weight, d.activeconns, d.inactconns, d.conns, d.inpkts, d.outpkts);
      first = false;
    }
  }
  j += "]}\n";
  return j;
}

Status replace_file(const std::string& path, std::string_view data, unsigned mode) {
  // mkostemp opens with O_CREAT | O_EXCL: a name that exists (a link planted to make us write
  // through it) is never opened, another one is tried.
  std::string tmp = path + ".XXXXXX";
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("creating a file beside it: {}", std::strerror(errno))};
  std::string step;
  int err = 0;
  if (fchmod(fd, mode) != 0) {
    step = "fchmod";
    err = errno;
  }
  for (size_t off = 0; !err && off < data.size();) {
    const ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      step = "writing";
      err = errno;
    }
  }
  if (!err && fsync(fd) != 0) {
    step = "fsync";
    err = errno;
  }
  if (close(fd) != 0 && !err) {
    step = "closing";
    err = errno;
  }
  if (!err && rename(tmp.c_str(), path.c_str()) != 0) {
    step = "renaming it into place";
    err = errno;
  }
  if (err) {
    unlink(tmp.c_str());
    return Error{fmt::format("{}: {} (the previous file is kept)", step, std::strerror(err))};
  }
  return {};
}

}  // namespace fastvs
