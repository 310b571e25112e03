// UDP_CHECK (keepalived's check_udp.c, with layer4.c's udp_bind_connect and udp_socket_state): a
// datagram to the real server (or connect_ip:connect_port, from bindto:bind_port) on a connected
// socket that reports ICMP errors (IP_RECVERR). An ICMP destination unreachable (port, host or
// network) fails the check; a reply passes it (matched against require_reply's hex string when
// one is given); silence until connect_timeout passes, unless require_reply.
#include <time.h>  // linux/errqueue.h needs struct timespec first

#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "control/epoll.h"
#include "control/health/probe_impl.h"

namespace fastvs {

namespace {

// keepalived sends a payload of its own when none is configured; this one is 32 bytes.
constexpr size_t kDefaultPayload = 32;

std::vector<uint8_t> default_payload() {
  std::vector<uint8_t> out(kDefaultPayload);
  for (uint8_t& b : out) b = static_cast<uint8_t>(probe_random());
  return out;
}

// udp_socket_error: what the socket's error queue says; "" when it holds no ICMP destination
// unreachable (nothing there, or another error: not a failure, as in keepalived).
std::string unreachable(int fd) {
  char control[512];
  uint8_t data[64];
  iovec iov{data, sizeof data};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg(fd, &msg, MSG_ERRQUEUE) < 0) return "";
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    const auto* e = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
    if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR &&
        e->ee_origin == SO_EE_ORIGIN_ICMP && e->ee_type == ICMP_DEST_UNREACH)
      return fmt::format("ICMP destination unreachable (code {}: {})", e->ee_code,
                         strerror(static_cast<int>(e->ee_errno)));
    if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR &&
        e->ee_origin == SO_EE_ORIGIN_ICMP6 && e->ee_type == ICMP6_DST_UNREACH)
      return fmt::format("ICMPv6 destination unreachable (code {}: {})", e->ee_code,
                         strerror(static_cast<int>(e->ee_errno)));
  }
  return "";
}

}  // namespace

Status Prober::start_udp(Probe& p) {
  if (Status st = open_socket(p, SOCK_DGRAM); !st) return st;
  const int on = 1;
  if (p.ip.is_v4())
    (void)setsockopt(p.fd, SOL_IP, IP_RECVERR, &on, sizeof on);
  else
    (void)setsockopt(p.fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on);
  sockaddr_storage a;
  const socklen_t alen = to_sockaddr(p.ip, p.port, a);
  if (connect(p.fd, reinterpret_cast<sockaddr*>(&a), alen) != 0)
    return Error{fmt::format("UDP to {}: {}", addr_port(p.ip, p.port), strerror(errno))};
  const std::vector<uint8_t> payload =
      p.spec.udp_payload.empty() ? default_payload() : p.spec.udp_payload;
  const ssize_t n = send(p.fd, payload.data(), payload.size(), 0);
  if (n != static_cast<ssize_t>(payload.size()))
    return Error{fmt::format("UDP to {}: send: {}", addr_port(p.ip, p.port),
                             n < 0 ? strerror(errno) : "short")};
  epoll_set(epoll_fd_, EPOLL_CTL_ADD, p.fd, EPOLLIN);
  p.stage = Probe::Stage::Datagram;
  p.deadline = monotonic_seconds() + p.spec.connect_timeout;
  return {};
}

void Prober::step_udp(Probe& p) {
  if (std::string why = unreachable(p.fd); !why.empty())
    return finish(
        p, CheckResult{false, fmt::format("UDP to {}: {}", addr_port(p.ip, p.port), why), -1});
  // max_reply_len + 1: a longer reply is seen as too long, not cut to fit.
  std::vector<uint8_t> buf(size_t{p.spec.max_reply_len} + 1);
  const ssize_t n = recv(p.fd, buf.data(), buf.size(), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;  // an error already read off the queue
    return finish(
        p, CheckResult{false,
                       fmt::format("UDP to {}: {}", addr_port(p.ip, p.port), strerror(errno)), -1});
  }
  if (!udp_reply_ok(p.spec, buf.data(), static_cast<size_t>(n)))
    return finish(p, CheckResult{false,
                                 fmt::format("UDP to {}: the reply ({} bytes) does not match",
                                             addr_port(p.ip, p.port), n),
                                 -1});
  finish(p, CheckResult{true, "", -1});
}

CheckResult Prober::udp_silence(const Probe& p) {
  // udp_socket_state: a read timeout passes, unless a reply is required.
  if (!p.spec.require_reply) return CheckResult{true, "", -1};
  return CheckResult{false,
                     fmt::format("UDP to {}: no reply within {} s", addr_port(p.ip, p.port),
                                 p.spec.connect_timeout),
                     -1};
}

}  // namespace fastvs
