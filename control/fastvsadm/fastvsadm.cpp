// fastvsadm: ipvsadm's command line for fastvsd, over its Unix socket. One request, one reply;
// exit 0 on success, otherwise a one-line message on stderr and a non-zero exit.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "common/cli_proto.h"
#include "common/grammar/command.h"

int main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  std::string socket_path = "/run/fastvs/fastvsd.sock";
  if (const char* env = std::getenv("FASTVS_SOCKET"); env && *env) socket_path = env;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "--socket" || words[i].rfind("--socket=", 0) == 0) {
      const bool inline_arg = words[i].size() > 8;
      if (!inline_arg && i + 1 >= words.size()) {
        fmt::print(stderr, "fastvsadm: --socket needs a path\n");
        return 2;
      }
      socket_path = inline_arg ? words[i].substr(9) : words[i + 1];
      words.erase(words.begin() + static_cast<long>(i),
                  words.begin() + static_cast<long>(i) + (inline_arg ? 1 : 2));
      break;
    }
  }
  // ipvsadm prints its help for -h anywhere on the line.
  if (std::any_of(words.begin(), words.end(),
                  [](const std::string& w) { return w == "-h" || w == "--help"; })) {
    fmt::print("{}", fastvs::fastvsadm_help());
    return 0;
  }
  // ipvsadm -v: its version, without asking the kernel; fastvsadm's, without asking fastvsd.
  if (words.size() == 1 && (words[0] == "-v" || words[0] == "--version")) {
    fmt::print("fastvsadm v{} (ipvsadm v1.31's commands, IPVS v1.2.1's listings)\n",
               FASTVS_VERSION);
    return 0;
  }
  // The grammar is checked here too, so a typo is named even when fastvsd is not running. Host
  // names are looked up here (ipvsadm's host_to_addr), and fastvsd gets the addresses: each name
  // is a view into one of `words`, replaced in a copy by the address it resolved to.
  std::vector<std::pair<std::string_view, fastvs::IpAddr>> resolved;
  fastvs::set_host_resolver([&resolved](std::string_view name) {
    const auto a = fastvs::resolve_host_ipv4(name);
    if (a) resolved.emplace_back(name, *a);
    return a;
  });
  const fastvs::Result<fastvs::Command> pr = fastvs::parse_command(words);
  if (!pr) {
    fmt::print(stderr, "fastvsadm: {}\n", pr.error());
    return 2;
  }
  fastvs::CliRequest req;
  req.words = words;
  for (const auto& [name, addr] : resolved) {
    for (size_t i = 0; i < words.size(); ++i) {
      const char* begin = words[i].data();
      if (name.data() >= begin && name.data() < begin + words[i].size()) {
        req.words[i].replace(static_cast<size_t>(name.data() - begin), name.size(),
                             fastvs::format_ip(addr));
        break;
      }
    }
  }
  // fastvsd reads the file from its own working directory: a relative path is the caller's.
  if (pr->op == fastvs::Op::KeepalivedReload && !pr->path.empty() && pr->path[0] != '/') {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) {
      fmt::print(stderr, "fastvsadm: cannot resolve {}: {}\n", pr->path, std::strerror(errno));
      return 2;
    }
    req.words[1] = std::string(cwd) + "/" + pr->path;
  }
  if (pr->op == fastvs::Op::Restore)
    req.input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  // fastvsd applies no change past this (its answer then says so): a change fastvsadm reports
  // as failed or timed out is never applied later. The margin leaves time for the answer.
  constexpr int kWaitSeconds = 60;
  constexpr int kDeadlineSeconds = 55;
  req.deadline_ms = fastvs::cli_now_ms() + kDeadlineSeconds * 1000;

  const std::string msg = fastvs::cli_encode_request(req);
  if (msg.size() > fastvs::kCliMaxRequest) {
    fmt::print(stderr, "fastvsadm: request larger than {} bytes\n", fastvs::kCliMaxRequest);
    return 2;
  }
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    fmt::print(stderr, "fastvsadm: socket path too long: {}\n", socket_path);
    return 2;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    struct stat st {};
    if (err == ECONNREFUSED && stat(socket_path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
      fmt::print(stderr, "fastvsadm: {} is not a socket (--socket names fastvsd's socket)\n",
                 socket_path);
    else if (err == ENOENT)
      fmt::print(stderr, "fastvsadm: fastvsd is not running (no socket at {})\n", socket_path);
    else if (err == ECONNREFUSED)
      fmt::print(stderr, "fastvsadm: fastvsd is not running (nothing listens on {})\n",
                 socket_path);
    else
      fmt::print(stderr, "fastvsadm: cannot connect to {}: {}\n", socket_path, std::strerror(err));
    return 1;
  }
  // Only fastvsd's socket: its listener runs as root (or as us). A socket someone else put at the
  // path must not receive the command (or answer "ok" to it).
  ucred peer{};
  socklen_t peer_len = sizeof peer;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0 ||
      (peer.uid != 0 && peer.uid != geteuid())) {
    fmt::print(stderr,
               "fastvsadm: {} is not fastvsd's socket (its listener, pid {}, runs as uid {}, not "
               "root): nothing sent\n",
               socket_path, peer.pid, peer.uid);
    close(fd);
    return 1;
  }
  for (size_t off = 0; off < msg.size();) {
    const ssize_t n = send(fd, msg.data() + off, msg.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      fmt::print(stderr, "fastvsadm: sending to fastvsd: {}\n", std::strerror(errno));
      return 1;
    }
    off += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  // fastvsd answers a change once every worker has it; a daemon whose workers are stuck must not
  // hang the operator's shell.
  const timeval limit{kWaitSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  std::string reply;
  char buf[65536];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      reply.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      close(fd);
      fmt::print(stderr,
                 "fastvsadm: no answer from fastvsd within {} s (it applies a change only before "
                 "its deadline, {} s after it was sent: check with -S whether this one was)\n",
                 kWaitSeconds, kDeadlineSeconds);
      return 1;
    } else {
      break;
    }
  }
  close(fd);
  if (const std::optional<fastvs::CliReply> r = fastvs::cli_decode_reply(reply)) {
    if (r->ok) {
      fmt::print("{}", r->text);
      return 0;
    }
    fmt::print(stderr, "fastvsadm: {}", r->text.empty() ? "error\n" : r->text);
    return 1;
  }
  fmt::print(stderr, "fastvsadm: no answer from fastvsd (it may have stopped)\n");
  return 1;
}
