// DNS_CHECK (keepalived's check_dns.c): a query over UDP to the real server (or
// connect_ip:connect_port) for `name` (default ".") of `type` (default SOA), recursion desired,
// with an identifier of its own. The first answer with that identifier and the response bit set
// decides: passes with RCODE 0 (NOERROR), fails with any other; silence until connect_timeout,
// or an ICMP error on the socket, fails. (keepalived's query for a name ending in a dot other
// than "." lacks its root label; here every name gets one.)
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "control/epoll.h"
#include "control/health/probe_impl.h"

namespace fastvs {

Status Prober::start_dns(Probe& p) {
  if (Status st = open_socket(p, SOCK_DGRAM); !st) return st;
  sockaddr_storage a;
  const socklen_t alen = to_sockaddr(p.ip, p.port, a);
  if (connect(p.fd, reinterpret_cast<sockaddr*>(&a), alen) != 0)
    return Error{fmt::format("DNS_CHECK {}: {}", addr_port(p.ip, p.port), strerror(errno))};
  p.ping_id = static_cast<uint16_t>(probe_random());
  const std::vector<uint8_t> q = dns_query(p.ping_id, p.spec.dns_name, p.spec.dns_type);
  if (send(p.fd, q.data(), q.size(), 0) != static_cast<ssize_t>(q.size()))
    return Error{fmt::format("DNS_CHECK {}: failed to write socket: {}", addr_port(p.ip, p.port),
                             strerror(errno))};
  epoll_set(epoll_fd_, EPOLL_CTL_ADD, p.fd, EPOLLIN);
  p.stage = Probe::Stage::Query;
  p.deadline = monotonic_seconds() + p.spec.connect_timeout;
  return {};
}

void Prober::step_dns(Probe& p) {
  uint8_t buf[512];
  for (;;) {
    const ssize_t n = recv(p.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return finish(p, CheckResult{false,
                                   fmt::format("DNS_CHECK {}: failed to read socket: {}",
                                               addr_port(p.ip, p.port), strerror(errno)),
                                   -1});
    }
    // Not the answer (too short, another identifier, a query): read on, as dns_recv_thread.
    if (n < 12 || (buf[0] << 8 | buf[1]) != p.ping_id || !(buf[2] & 0x80)) continue;
    const unsigned rcode = buf[3] & 0x0f;
    if (rcode != 0)
      return finish(
          p, CheckResult{
                 false, fmt::format("DNS_CHECK {}: rcode {}", addr_port(p.ip, p.port), rcode), -1});
    return finish(p, CheckResult{true, "", -1});
  }
}

}  // namespace fastvs
