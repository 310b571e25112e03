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

socklen_t to_sockaddr(const IpAddr& ip, uint16_t port, sockaddr_storage& out) {
  out = {};
  if (ip.is_v4()) {
    auto& a = reinterpret_cast<sockaddr_in&>(out);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip.v4());
    a.sin_port = htons(port);
    return sizeof a;
  }
  auto& a = reinterpret_cast<sockaddr_in6&>(out);
  a.sin6_family = AF_INET6;
  std::memcpy(a.sin6_addr.s6_addr, ip.bytes().data(), 16);
  a.sin6_port = htons(port);
  return sizeof a;
}

Status Prober::open_socket(Probe& p, int type, int protocol) {
  // The family is the address probed: an IPv6 real server (or connect_ip) is checked over
  // IPv6 (sockaddr_in6), as keepalived's checkers do with their sockaddr_storage.
  p.fd = socket(p.ip.is_v4() ? AF_INET : AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (p.fd < 0) return Error{fmt::format("socket: {}", strerror(errno))};
  if (p.spec.bindto.is_zero() && !p.spec.bind_port) return {};
  // No bindto: the unspecified address of the probe's family, for bind_port alone.
  const IpAddr from = p.spec.bindto.is_zero() ? IpAddr::any(p.ip.family()) : p.spec.bindto;
  if (from.family() != p.ip.family())
    return Error{
        fmt::format("bindto {} is not of the family of {}", format_ip(from), format_ip(p.ip))};
  sockaddr_storage b;
  const socklen_t blen = to_sockaddr(from, p.spec.bind_port, b);
  if (bind(p.fd, reinterpret_cast<sockaddr*>(&b), blen) != 0)
    return Error{fmt::format("bind to {}: {}", addr_port(from, p.spec.bind_port), strerror(errno))};
  return {};
}

Status Prober::start_connect(Probe& p) {
  if (p.fd >= 0) close(p.fd);
  if (Status st = open_socket(p, SOCK_STREAM); !st) return st;
  sockaddr_storage a;
  const socklen_t alen = to_sockaddr(p.ip, p.port, a);
  if (connect(p.fd, reinterpret_cast<sockaddr*>(&a), alen) != 0 && errno != EINPROGRESS)
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
