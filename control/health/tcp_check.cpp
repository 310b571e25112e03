// TCP_CHECK (keepalived's check_tcp.c): the real server passes when a connection to it (or to
// connect_ip:connect_port, from bindto:bind_port) completes within connect_timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "control/health/probe_impl.h"
#include "control/epoll.h"

namespace fastvs {

Status Prober::start_connect(Probe& p) {
  if (p.fd >= 0) close(p.fd);
  p.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p.fd < 0) return Error{fmt::format("socket: {}", strerror(errno))};
  if (p.spec.bindto || p.spec.bind_port) {
    sockaddr_in b{};
    b.sin_family = AF_INET;
    b.sin_addr.s_addr = htonl(p.spec.bindto);
    b.sin_port = htons(p.spec.bind_port);
    if (bind(p.fd, reinterpret_cast<sockaddr*>(&b), sizeof b) != 0)
      return Error{fmt::format("bind to {}: {}", addr_port(p.spec.bindto, p.spec.bind_port),
                               strerror(errno))};
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(p.ip);
  a.sin_port = htons(p.port);
  if (connect(p.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS)
    return Error{fmt::format("connect to {} failed: {}", addr_port(p.ip, p.port), strerror(errno))};
  epoll_set(epoll_fd_, EPOLL_CTL_ADD, p.fd, EPOLLOUT);
  p.stage = Probe::Stage::Connecting;
  p.deadline = monotonic_seconds() + p.spec.connect_timeout;
  return {};
}

bool Prober::connected(Probe& p) {
  int soerr = 0;
  socklen_t len = sizeof soerr;
  getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
  if (soerr == 0) return true;
  finish(p, CheckResult{
                false,
                fmt::format("connect to {} failed: {}", addr_port(p.ip, p.port), strerror(soerr)),
                -1});
  return false;
}

}  // namespace fastvs
