#include "control/cli_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "control/accept.h"
#include "control/epoll.h"

namespace fastvs {

namespace {

// The socket's directory: created 0700 when missing; else it must be a directory owned by root
// (or by us) and writable by no one else, or someone else could replace the socket.
Status check_directory(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Error{fmt::format("socket directory {}: {}", dir, std::strerror(errno))};
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0)
    return Error{fmt::format("socket directory {}: {}", dir, std::strerror(errno))};
  if (!S_ISDIR(st.st_mode)) return Error{fmt::format("socket directory {}: not a directory", dir)};
  if (st.st_uid != 0 && st.st_uid != geteuid())
    return Error{fmt::format(
        "socket directory {} belongs to uid {}, not root: put the socket in a directory of "
        "root's (the default is /run/fastvs)",
        dir, st.st_uid)};
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Error{fmt::format(
        "socket directory {} is writable by {}: put the socket in a directory only root can "
        "write (the default is /run/fastvs)",
        dir, st.st_mode & S_IWOTH ? "everyone" : "its group")};
  return {};
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  return addr;
}

// Whether something listens on the socket at `path` (non-blocking: a listener whose backlog is
// full, a stuck one, says EAGAIN, not a hang).
bool answers(const std::string& path) {
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) return false;
  const sockaddr_un addr = unix_address(path);
  const int rc = connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int e = errno;
  close(probe);
  return rc == 0 || e == EAGAIN;
}

}  // namespace

CliServer::~CliServer() {
  if (spare_fd_ >= 0) close(spare_fd_);
  while (!clients_.empty()) close_client(clients_.begin()->first);
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    // Only the socket we bound: a newer fastvsd may have replaced it since (after a kill).
    struct stat st {};
    if (lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
      unlink(path_.c_str());
  }
}

Result<int> CliServer::claim(const std::string& path) {
  if (path.empty() || path.size() + 5 >= sizeof(sockaddr_un{}.sun_path))
    return Error{fmt::format("socket path '{}' is empty or too long (at most {} bytes)", path,
                             sizeof(sockaddr_un{}.sun_path) - 6)};
  if (Status st = check_directory(path); !st) return Error{st.error()};
  // The lock first: whoever holds it owns the path, whatever a probe of the socket says.
  const std::string lock = path + ".lock";
  const int fd = open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Error{fmt::format("lock {}: {}", lock, std::strerror(errno))};
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    char pid[32] = {};
    const ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    close(fd);
    if (e != EWOULDBLOCK) return Error{fmt::format("lock {}: {}", lock, std::strerror(e))};
    std::string who = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    return Error{fmt::format(
        "another fastvsd{} is running on {} (stop it first, or give this one another --socket)",
        who.empty() ? "" : " (pid " + who + ")", path)};
  }
  const std::string me = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, me.data(), me.size(), 0) < 0) {
    // The pid is for messages only.
  }
  // Only a socket is replaced: a mistyped --socket must not delete a file.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      close(fd);
      return Error{fmt::format("{} exists and is not a socket", path)};
    }
    // We hold the lock, so no fastvsd listens there: a listener is another program.
    if (answers(path)) {
      close(fd);
      return Error{fmt::format(
          "a program that is not fastvsd (it holds no lock on {}) listens on {}: give fastvsd "
          "another --socket",
          lock, path)};
    }
  }
  return fd;
}

Status CliServer::listen(const std::string& path, int lock_fd, int epoll_fd) {
  (void)lock_fd;  // held by the caller: the path is ours
  epoll_fd_ = epoll_fd;
  // Bound under a name of its own, then renamed over the path: the socket never exists at the
  // path with another mode, and a stale one (a crashed fastvsd's) is replaced in one step.
  const std::string tmp = path + ".new";
  unlink(tmp.c_str());  // a crash's leftover: the lock says no one else binds it
  const sockaddr_un addr = unix_address(tmp);
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Error{fmt::format("socket: {}", std::strerror(errno))};
  // Root-only: the socket is the director's whole configuration.
  const mode_t old = umask(0177);
  const int rc = bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  umask(old);
  struct stat st {};
  if (rc != 0 || ::listen(listen_fd_, 64) != 0 || lstat(tmp.c_str(), &st) != 0)
    return Error{fmt::format("socket {}: {}", path, std::strerror(errno))};
  if (!S_ISSOCK(st.st_mode) || (st.st_mode & 0177) != 0) {
    unlink(tmp.c_str());
    return Error{fmt::format("socket {}: bound with mode {:o}, not 0600", path, st.st_mode & 0777)};
  }
  replaced_stale_ = access(path.c_str(), F_OK) == 0;
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    unlink(tmp.c_str());
    return Error{fmt::format("socket {}: {}", path, std::strerror(e))};
  }
  path_ = path;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  epoll_set(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, EPOLLIN);
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

void CliServer::accept_all() {
  while (true) {
    const int fd = accept_client(listen_fd_, spare_fd_, [this](int late) {
      refuse(late, "fastvsd has no file descriptor left for another client: try again");
    });
    if (fd == kRefused) continue;  // refused for want of descriptors: the next
    if (fd < 0) return;            // EAGAIN: all taken; others: that one is gone
    if (clients_.size() >= kMaxClients) {
      refuse(fd, fmt::format("fastvsd is serving {} clients already: try again", kMaxClients));
      continue;
    }
    const uint64_t id = next_id_++;
    Client& c = clients_[id];
    c.fd = fd;
    // Absolute: the whole request within kRequestTimeout, however it trickles in.
    c.deadline = std::chrono::steady_clock::now() + kRequestTimeout;
    by_fd_[fd] = id;
    epoll_set(epoll_fd_, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP);
  }
}

void CliServer::refuse(int fd, const std::string& why) {
  // One line, sent if the socket takes it at once (it is new: it does), then closed.
  const std::string out = cli_encode_reply(CliReply{false, why});
  if (send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    // The client is gone already.
  }
  close(fd);
}

void CliServer::read_client(uint64_t id, Client& c) {
  char buf[65536];
  while (true) {
    const ssize_t n = read(c.fd, buf, sizeof buf);
    if (n > 0) {
      if (buffered_ + static_cast<size_t>(n) > kMaxBuffered) {
        reply(id, CliReply{false, fmt::format("fastvsd holds {} bytes of other requests: try again",
                                              buffered_)});
        return;
      }
      const size_t before = c.in.size();
      const CliRequestReader::State st = c.in.feed(buf, static_cast<size_t>(n));
      buffered_ += c.in.size() - before;
      if (st == CliRequestReader::State::TooLarge) {
        reply(id, CliReply{false, fmt::format("request larger than {} bytes", kCliMaxRequest)});
        return;
      }
      if (st == CliRequestReader::State::Malformed) {
        reply(id, CliReply{false, "malformed request (not from fastvsadm?)"});
        return;
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;  // more later
    if (n < 0) return close_client(id);
    break;  // EOF: the request is complete
  }
  const std::optional<CliRequest> req = c.in.finish();
  buffered_ -= c.in.size();
  c.in.release();
  if (!req) {
    reply(id, CliReply{false, "malformed request (not from fastvsadm?)"});
    return;
  }
  c.replying = true;  // from now on only the reply matters
  epoll_set(epoll_fd_, EPOLL_CTL_MOD, c.fd,
            0);  // nothing to read; EPOLLOUT is armed when the reply is ready
  CliReply r;
  if (handler_ && handler_(id, *req, &r)) reply(id, r);
}

void CliServer::reply(uint64_t id, const CliReply& r) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;  // the client left before its answer
  Client& c = it->second;
  buffered_ -= c.in.size();  // an early refusal, while its request was coming in
  c.in.release();
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
      epoll_set(epoll_fd_, EPOLL_CTL_MOD, c.fd, EPOLLOUT);
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
  buffered_ -= it->second.in.size();
  by_fd_.erase(it->second.fd);
  clients_.erase(it);
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
    } else {
      // Told why, as a refused client is (one line, if the socket takes it at once): fastvsadm
      // prints it rather than "connection closed".
      const std::string out = cli_encode_reply(CliReply{
          false, fmt::format("request not received whole within {} s: closed",
                             std::chrono::duration_cast<std::chrono::seconds>(kRequestTimeout)
                                 .count())});
      if (send(it->second.fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        // Gone, or not reading: closed all the same.
      }
    }
    close_client(id);
  }
}

}  // namespace fastvs
