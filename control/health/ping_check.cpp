// PING_CHECK (keepalived's check_ping.c): an ICMP (or ICMPv6) echo request to the real server
// (or connect_ip), passing when its echo reply comes back within connect_timeout. keepalived
// uses a ping socket, and widens net.ipv4.ping_group_range for it; fastvsd's health thread runs
// as root and uses a raw socket instead, so the host's sysctls stay as they are. The socket is
// connected to the address pinged (the kernel then hands it only that address's ICMP), filtered
// to echo replies, and the reply must carry the request's identifier and sequence number.
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "control/epoll.h"
#include "control/health/probe_impl.h"
#include "dataplane/checksum.h"

namespace fastvs {

namespace {

// linux/icmp.h's ICMP_FILTER socket option (a bit per ICMP type to block): its header clashes
// with netinet/ip_icmp.h's.
constexpr int kIcmpFilter = 1;

// keepalived's ICMP_BUFSIZE: the bytes after the echo header.
constexpr size_t kPingPayload = 128;

}  // namespace

Status Prober::start_ping(Probe& p) {
  const bool v4 = p.ip.is_v4();
  if (Status st = open_socket(p, SOCK_RAW, v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6}); !st)
    return st;
  // Echo replies only: the socket would otherwise see every ICMP message of that address.
  if (v4) {
    const uint32_t blocked = ~(1u << ICMP_ECHOREPLY);
    (void)setsockopt(p.fd, SOL_RAW, kIcmpFilter, &blocked, sizeof blocked);
  } else {
    icmp6_filter f;
    ICMP6_FILTER_SETBLOCKALL(&f);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
    (void)setsockopt(p.fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f);
  }
  sockaddr_storage a;
  const socklen_t alen = to_sockaddr(p.ip, 0, a);
  if (connect(p.fd, reinterpret_cast<sockaddr*>(&a), alen) != 0)
    return Error{fmt::format("ping {}: {}", format_ip(p.ip), strerror(errno))};
  // The echo: type, code, checksum (IPv6's the kernel fills in), identifier, sequence, payload.
  p.ping_id = static_cast<uint16_t>(probe_random());
  p.ping_seq = static_cast<uint16_t>(probe_random());
  uint8_t msg[8 + kPingPayload] = {};
  msg[0] = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  msg[4] = static_cast<uint8_t>(p.ping_id >> 8);
  msg[5] = static_cast<uint8_t>(p.ping_id);
  msg[6] = static_cast<uint8_t>(p.ping_seq >> 8);
  msg[7] = static_cast<uint8_t>(p.ping_seq);
  for (size_t i = 0; i < kPingPayload; ++i) msg[8 + i] = static_cast<uint8_t>(i);
  if (v4) {
    const uint16_t c = csum_buffer(msg, sizeof msg);  // in memory order, as it lies
    std::memcpy(msg + 2, &c, 2);
  }
  if (send(p.fd, msg, sizeof msg, 0) != static_cast<ssize_t>(sizeof msg))
    return Error{fmt::format("ping {}: {}", format_ip(p.ip), strerror(errno))};
  epoll_set(epoll_fd_, EPOLL_CTL_ADD, p.fd, EPOLLIN);
  p.stage = Probe::Stage::Echo;
  p.deadline = monotonic_seconds() + p.spec.connect_timeout;
  return {};
}

void Prober::step_ping(Probe& p) {
  uint8_t buf[1500];
  for (;;) {
    const ssize_t n = recv(p.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return finish(
          p, CheckResult{false, fmt::format("ping {}: {}", format_ip(p.ip), strerror(errno)), -1});
    }
    // An IPv4 raw socket reads the IP header too; IPv6's starts at the ICMPv6 header.
    size_t off = 0;
    if (p.ip.is_v4()) {
      if (n < 20) continue;
      off = static_cast<size_t>(buf[0] & 0x0f) * 4;
    }
    if (static_cast<size_t>(n) < off + 8) continue;
    const uint8_t* icmp = buf + off;
    const uint8_t reply = p.ip.is_v4() ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
    const uint16_t id = static_cast<uint16_t>(icmp[4] << 8 | icmp[5]);
    const uint16_t seq = static_cast<uint16_t>(icmp[6] << 8 | icmp[7]);
    if (icmp[0] == reply && id == p.ping_id && seq == p.ping_seq)
      return finish(p, CheckResult{true, "", -1});
    // Another pinger's reply from the same address: not ours, read on.
  }
}

}  // namespace fastvs
