#include "control/cli_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

namespace fastvs {

CliServer::~CliServer() {
  while (!clients_.empty()) close_client(clients_.begin()->first);
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(path_.c_str());
  }
}

Status CliServer::check_path(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Error{fmt::format("socket path '{}' is empty or too long (at most {} bytes)", path,
                             sizeof(addr.sun_path) - 1)};
  }
  // Only a socket is replaced: a mistyped --socket must not delete a file.
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return {};
  if (!S_ISSOCK(st.st_mode)) {
    return Error{fmt::format("{} exists and is not a socket", path)};
  }
  // A socket that still answers belongs to a running fastvsd and is not taken over; one that
  // refuses was left by a crashed one.
  // Non-blocking: a listener whose backlog is full (a stuck fastvsd) says EAGAIN, not a hang.
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    return Error{fmt::format("socket: {}", std::strerror(errno))};
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  const int rc = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int e = errno;
  const bool answered = rc == 0 || e == EAGAIN;
  close(probe);
  if (answered) {
    return Error{fmt::format(
        "another fastvsd is running on {} (stop it first, or give this one another --socket)",
        path)};
  }
  if (e != ECONNREFUSED && e != ENOENT) {
    return Error{fmt::format("socket {}: {}", path, std::strerror(e))};
  }
  return {};
}

Status CliServer::listen(const std::string& path, int epoll_fd) {
  epoll_fd_ = epoll_fd;
  if (Status st = check_path(path); !st) return st;
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Error{fmt::format("socket directory {}: {}", dir, std::strerror(errno))};
    }
  }
  // What is left at the path is a stale socket (check_path): replace it.
  replaced_stale_ = unlink(path.c_str()) == 0;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    return Error{fmt::format("socket: {}", std::strerror(errno))};
  }
  // Root-only: the socket is the director's whole configuration.
  const mode_t old = umask(0177);
  const int rc = bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || chmod(path.c_str(), 0600) != 0 || ::listen(listen_fd_, 64) != 0) {
    return Error{fmt::format("socket {}: {}", path, std::strerror(errno))};
  }
  path_ = path;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  return {};
}

bool CliServer::on_event(int fd, uint32_t events) {
  if (fd == listen_fd_) {
    accept_all();
    return true;
  }
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return false;
  const uint64_t id = it->second;
  Client& c = clients_.at(id);
  if (c.replying) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) write_client(id, c);
  } else {
    read_client(id, c);
  }
  return true;
}

void CliServer::set_accepting(bool on) {
  if (on == accepting_) return;
  accepting_ = on;
  epoll_event ev{};
  ev.events = on ? uint32_t{EPOLLIN} : 0u;
  ev.data.fd = listen_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
}

void CliServer::accept_all() {
  while (true) {
    // Out of descriptors, or too many clients at once: stop listening until one leaves (a
    // level-triggered listening socket would otherwise wake epoll forever).
    if (clients_.size() >= kMaxClients) return set_accepting(false);
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) set_accepting(false);
      return;  // EAGAIN: all taken; other errors: the client is gone
    }
    const uint64_t id = next_id_++;
    Client& c = clients_[id];
    c.fd = fd;
    c.deadline = std::chrono::steady_clock::now() + kClientTimeout;
    by_fd_[fd] = id;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void CliServer::read_client(uint64_t id, Client& c) {
  char buf[65536];
  while (true) {
    const ssize_t n = read(c.fd, buf, sizeof buf);
    if (n > 0) {
      if (c.in.size() + static_cast<size_t>(n) > kCliMaxRequest) {
        reply(id, CliReply{false, fmt::format("request larger than {} bytes", kCliMaxRequest)});
        return;
      }
      c.in.append(buf, static_cast<size_t>(n));
      // Idle means no progress: a large -R read slowly (a busy control thread) is not idle.
      c.deadline = std::chrono::steady_clock::now() + kClientTimeout;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;  // more later
    if (n < 0) return close_client(id);
    break;  // EOF: the request is complete
  }
  const std::optional<CliRequest> req = cli_decode_request(c.in);
  if (!req) {
    reply(id, CliReply{false, "malformed request (not from fastvsadm?)"});
    return;
  }
  c.in.clear();
  c.replying = true;  // from now on only the reply matters
  epoll_event ev{};
  ev.events = 0;  // nothing to read; EPOLLOUT is armed when the reply is ready
  ev.data.fd = c.fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  CliReply r;
  if (handler_ && handler_(id, *req, &r)) reply(id, r);
}

void CliServer::reply(uint64_t id, const CliReply& r) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;  // the client left before its answer
  Client& c = it->second;
  c.replying = true;
  c.out = cli_encode_reply(r);
  c.sent = 0;
  c.deadline = std::chrono::steady_clock::now() + kClientTimeout;
  write_client(id, c);
}

void CliServer::write_client(uint64_t id, Client& c) {
  while (c.sent < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
      // A client reading a large reply (-S, -L of 100,000 destinations) is not idle: closing it
      // would cut the reply short, and fastvsadm would print half a table.
      c.deadline = std::chrono::steady_clock::now() + kClientTimeout;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.fd = c.fd;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
      return;
    }
    break;  // the client went away
  }
  close_client(id);
}

void CliServer::close_client(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
  close(it->second.fd);
  by_fd_.erase(it->second.fd);
  clients_.erase(it);
  set_accepting(true);
}

void CliServer::expire_idle() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<uint64_t> late;
  // Still sending its request, or not reading its reply: gone. A client waiting for a change to
  // be adopted (replying, nothing to send yet) waits on the workers, not on itself.
  for (const auto& [id, c] : clients_)
    if (now > c.deadline && (!c.replying || !c.out.empty())) late.push_back(id);
  for (uint64_t id : late) {
    auto it = clients_.find(id);
    if (it == clients_.end()) continue;
    // A busy or starved control thread may not have come back to a reader for a while: that
    // reader is late, not idle. One more write tells: progress refreshes its deadline (and a
    // finished reply closes it); a reader whose socket is still full is gone.
    if (it->second.replying) {
      write_client(id, it->second);
      it = clients_.find(id);
      if (it == clients_.end() || now <= it->second.deadline) continue;
    }
    close_client(id);
  }
}

}  // namespace fastvs
