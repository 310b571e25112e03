// Config files (fastvsd --config) and fastvsadm -R: one command per line, applied all or
// nothing, an error naming its line. Applied with an index so that 100,000 lines cost O(lines).
#include "control/config/loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <fmt/core.h>

#include "control/config/apply.h"

namespace fastvs {

namespace {

// A file's lines (--config, -R) applied with an index, so that 100,000 lines cost O(lines) and
// not O(lines x services): services by key, and a run of -a lines for one service (what -S
// writes) collected and put at the head of its list at once, in the order one insert at the
// head per line would leave (the kernel's list_add_rcu), instead of moving the list each time.
class ConfigApplier {
 public:
  ConfigApplier(Config& cfg, unsigned num_ports) : cfg_(cfg), num_ports_(num_ports) {}

  Status apply(const Command& cmd) {
    if (cmd.op == Op::AddDest && cmd.has_dest) {
      if (const std::optional<size_t> i = service_index(cmd.service)) {
        if (run_svc_ != *i) start_run(*i);
        Result<DestConfig> d =
            make_dest(cfg_, cfg_.services[*i], cmd, [&](const IpAddr& ip, uint16_t port) {
              return run_keys_.count({ip, port}) != 0;
            });
        if (!d) return Error{d.error()};
        run_keys_.insert({d->rip, d->rport});
        run_.push_back(*d);
        return {};
      }
    }
    flush();
    const size_t before = cfg_.services.size();
    if (is_service_op(cmd.op)) {
      const std::optional<size_t> i = service_index(cmd.service);
      Status st = apply_service(cfg_, cmd, i ? &cfg_.services[*i] : nullptr);
      if (st && cmd.op == Op::AddService) index_[cmd.service] = before;
      if (cfg_.services.size() < before) index_valid_ = false;
      return st;
    }
    Status st = apply_command(cfg_, cmd, num_ports_);
    if (cfg_.services.size() != before) index_valid_ = false;  // -C
    return st;
  }

  // Puts the pending run of destinations in place; call once the last line is applied.
  void flush() {
    if (run_svc_ == kNone) return;
    auto& dests = cfg_.services[run_svc_].dests;
    dests.insert(dests.begin(), run_.rbegin(), run_.rend());
    run_.clear();
    run_keys_.clear();
    run_svc_ = kNone;
  }

 private:
  static constexpr size_t kNone = ~size_t{0};
  // (address, port) and (address, protocol and port).
  using AddrPort = std::pair<IpAddr, uint32_t>;
  struct AddrPortHash {
    size_t operator()(const AddrPort& k) const noexcept {
      return std::hash<IpAddr>{}(k.first) * 31 + k.second;
    }
  };
  std::optional<size_t> service_index(const ServiceKey& k) {
    if (!index_valid_) {
      index_.clear();
      for (size_t i = 0; i < cfg_.services.size(); ++i) index_[cfg_.services[i].key] = i;
      index_valid_ = true;
    }
    const auto it = index_.find(k);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }

  void start_run(size_t svc) {
    flush();
    run_svc_ = svc;
    for (const DestConfig& d : cfg_.services[svc].dests) run_keys_.insert({d.rip, d.rport});
  }

  Config& cfg_;
  unsigned num_ports_;
  std::unordered_map<ServiceKey, size_t> index_;  // the whole key: a mark's too
  bool index_valid_ = false;
  size_t run_svc_ = kNone;
  std::vector<DestConfig> run_;  // in the order of the lines
  std::unordered_set<AddrPort, AddrPortHash>
      run_keys_;  // the service's destinations, with the run's
};

}  // namespace

Result<Config> apply_config_text(Config base, std::string_view text, std::string_view name,
                                 unsigned num_ports) {
  Config work = std::move(base);
  ConfigApplier applier(work, num_ports);
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == text.npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::vector<std::string> words = split_words(line);
    if (words.empty()) continue;
    // Pasted scripts: "ipvsadm -A ...", "fastvsadm ip addr add ...".
    if (words[0] == "fastvsadm" || words[0] == "ipvsadm") words.erase(words.begin());
    const Result<Command> p = parse_command(words);
    const Status st = p ? applier.apply(*p) : Status(Error{p.error()});
    if (!st) return Error{std::string(name) + ":" + std::to_string(line_no) + ": " + st.error()};
  }
  applier.flush();
  return work;
}

Result<Config> load_config_text(std::string_view text, std::string_view name, unsigned num_ports) {
  return apply_config_text(Config{}, text, name, num_ports);
}

Result<std::string> read_text_file(const std::string& path, size_t limit) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below anyway).
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return Error{path + ": cannot open: " + std::strerror(errno)};
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int e = errno;
    close(fd);
    if (!S_ISREG(st.st_mode) && st.st_mode != 0) {
      const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                         : S_ISFIFO(st.st_mode) ? "a FIFO"
                         : S_ISCHR(st.st_mode)  ? "a character device"
                         : S_ISBLK(st.st_mode)  ? "a block device"
                         : S_ISSOCK(st.st_mode) ? "a socket"
                                                : "not a regular file";
      return Error{path + ": " + kind + ", not a regular file"};
    }
    return Error{path + ": cannot stat: " + std::strerror(e)};
  }
  auto too_big = [&] {
    close(fd);
    return Error{
        fmt::format("{}: larger than {} bytes, the limit for a configuration file", path, limit)};
  };
  if (static_cast<uint64_t>(st.st_size) > limit) return too_big();
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      close(fd);
      return Error{path + ": read error: " + std::strerror(e)};
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > limit) return too_big();  // it grew
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

Result<Config> load_config_file(const std::string& path, unsigned num_ports) {
  Result<std::string> text = read_text_file(path);
  if (!text) return Error{text.error()};
  return load_config_text(*text, path, num_ports);
}

}  // namespace fastvs
