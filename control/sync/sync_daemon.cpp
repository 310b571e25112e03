#include "control/sync/sync_daemon.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/steer.h"

namespace fastvs {

namespace {

uint32_t fwd_flags(ForwardMethod m) {
  switch (m) {
    case ForwardMethod::Masq:
      return sync::kFwdMasq;
    case ForwardMethod::Tunnel:
      return sync::kFwdTunnel;
    case ForwardMethod::Route:
      return sync::kFwdDroute;
  }
  return sync::kFwdMasq;
}

void put_be32(std::array<uint8_t, 16>& a, uint32_t be) {
  std::memcpy(a.data(), &be, 4);
}
uint32_t get_be32(const std::array<uint8_t, 16>& a) {
  uint32_t be;
  std::memcpy(&be, a.data(), 4);
  return be;
}

Status sock_error(const std::string& what, const std::string& ifname) {
  return Error{fmt::format("{} on {}: {}", what, ifname, std::strerror(errno))};
}

// The socket both roles start from: UDP, bound to the port's interface on the host.
Result<int> open_socket(const std::string& host_if, unsigned* ifindex) {
  *ifindex = if_nametoindex(host_if.c_str());
  if (*ifindex == 0)
    return Error{
        fmt::format("no interface {} on the host (the kernel path makes one for each "
                    "port)",
                    host_if)};
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{sock_error("socket", host_if).error()};
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, host_if.c_str(),
                 static_cast<socklen_t>(host_if.size())) != 0) {
    const Status st = sock_error("SO_BINDTODEVICE", host_if);
    close(fd);
    return Error{st.error()};
  }
  return fd;
}

}  // namespace

sync::Entry to_entry(const SyncConn& c) {
  sync::Entry e;
  e.protocol = c.proto;
  e.flags = fwd_flags(c.method) | (c.flags & kSyncInactive ? sync::kInactive : 0) |
            (c.flags & kSyncNoOutput ? sync::kNoOutput : 0) |
            (c.flags & kSyncTemplate ? sync::kTemplate : 0);
  e.state = c.state;
  e.cport = ntohs(c.cport);
  e.vport = ntohs(c.vport);
  e.dport = ntohs(c.rport);
  e.timeout = c.timeout;
  e.fwmark = c.fwmark;
  put_be32(e.caddr, c.cip);
  put_be32(e.vaddr, c.vip);
  put_be32(e.daddr, c.rip);
  return e;
}

bool from_entry(const sync::Entry& e, SyncConn* out) {
  SyncConn c{};
  switch (e.flags & sync::kFwdMask) {
    case sync::kFwdMasq:
      c.method = ForwardMethod::Masq;
      break;
    case sync::kFwdTunnel:
      c.method = ForwardMethod::Tunnel;
      break;
    case sync::kFwdDroute:
      c.method = ForwardMethod::Route;
      break;
    default:
      return false;
  }
  c.proto = e.protocol;
  c.state = static_cast<uint8_t>(e.state);
  c.flags = static_cast<uint8_t>((e.flags & sync::kInactive ? kSyncInactive : 0) |
                                 (e.flags & sync::kNoOutput ? kSyncNoOutput : 0) |
                                 (e.flags & sync::kTemplate ? kSyncTemplate : 0));
  c.cport = htons(e.cport);
  c.vport = htons(e.vport);
  c.rport = htons(e.dport);
  c.timeout = e.timeout;
  c.fwmark = e.fwmark;
  c.cip = get_be32(e.caddr);
  c.vip = get_be32(e.vaddr);
  c.rip = get_be32(e.daddr);
  *out = c;
  return true;
}

// make_send_sock: multicast out of the interface, TTL as configured, not looped back (a director
// running both roles must not take its own messages).
Status SyncMaster::start(const SyncDaemonConfig& cfg, const std::string& host_if, uint16_t maxlen) {
  stop();
  unsigned ifindex = 0;
  Result<int> fd = open_socket(host_if, &ifindex);
  if (!fd) return Error{fd.error()};
  ip_mreqn mr{};
  mr.imr_ifindex = static_cast<int>(ifindex);
  // Room for a burst of messages (the master sends what 20 ms of new connections made at once):
  // a full buffer would lose a message (counted in send_errors).
  const int ttl = cfg.ttl, loop = 0, sndbuf = 4 << 20;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(cfg.port);
  to.sin_addr.s_addr = htonl(cfg.group);
  Status st;
  if (setsockopt(*fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) != 0)
    st = sock_error("IP_MULTICAST_IF", host_if);
  else if (setsockopt(*fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0)
    st = sock_error("IP_MULTICAST_TTL", host_if);
  else if (setsockopt(*fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
    st = sock_error("IP_MULTICAST_LOOP", host_if);
  else if (setsockopt(*fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) != 0)
    st = sock_error("SO_SNDBUF", host_if);
  else if (connect(*fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0)
    st = sock_error("connect", host_if);
  if (!st) {
    close(*fd);
    return st;
  }
  fd_ = *fd;
  cfg_ = cfg;
  writer_ = sync::Writer(cfg.syncid, maxlen);
  last_error_.clear();
  return {};
}

void SyncMaster::stop() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  writer_.clear();
}

void SyncMaster::send() {
  if (writer_.count() == 0) return;
  const auto& b = writer_.bytes();
  if (::send(fd_, b.data(), b.size(), 0) == static_cast<ssize_t>(b.size())) {
    ++stats_.messages;
    stats_.entries += writer_.count();
  } else {
    ++stats_.send_errors;
    last_error_ = std::strerror(errno);
  }
  writer_.clear();
}

void SyncMaster::poll(const std::vector<rte_ring*>& rings) {
  if (fd_ < 0) return;
  SyncConn buf[64];
  for (rte_ring* r : rings) {
    // Bounded: what the ring holds now, not what a busy worker adds meanwhile.
    for (unsigned left = rte_ring_count(r); left > 0;) {
      const unsigned n =
          rte_ring_sc_dequeue_burst_elem(r, buf, sizeof(SyncConn), left < 64 ? left : 64, nullptr);
      if (n == 0) break;
      left -= n;
      for (unsigned i = 0; i < n; ++i) {
        const sync::Entry e = to_entry(buf[i]);
        if (!writer_.add(e)) {
          send();
          writer_.add(e);  // an empty message takes any entry
        }
      }
    }
  }
  send();
}

// make_receive_sock: bound to the group and port, joined on the interface.
Status SyncBackup::start(const SyncDaemonConfig& cfg, const std::string& host_if) {
  stop();
  unsigned ifindex = 0;
  Result<int> fd = open_socket(host_if, &ifindex);
  if (!fd) return Error{fd.error()};
  const int one = 1, rcvbuf = 4 << 20;
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(cfg.port);
  at.sin_addr.s_addr = htonl(cfg.group);
  ip_mreqn mr{};
  mr.imr_multiaddr.s_addr = htonl(cfg.group);
  mr.imr_ifindex = static_cast<int>(ifindex);
  Status st;
  if (setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    st = sock_error("SO_REUSEADDR", host_if);
  else if (setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0)
    st = sock_error("SO_RCVBUF", host_if);
  else if (bind(*fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0)
    st = sock_error("bind", host_if);
  // A unicast "group" (bench_sync_rate's loopback; fastvsadm takes multicast groups only) is
  // just bound.
  else if (IN_MULTICAST(cfg.group) &&
           setsockopt(*fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) != 0)
    st = sock_error("IP_ADD_MEMBERSHIP", host_if);
  if (!st) {
    close(*fd);
    return st;
  }
  fd_ = *fd;
  cfg_ = cfg;
  return {};
}

void SyncBackup::stop() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void SyncBackup::on_readable(const std::vector<rte_ring*>& rings, unsigned budget) {
  if (fd_ < 0 || rings.empty()) return;
  uint8_t buf[65536];
  const unsigned nworkers = static_cast<unsigned>(rings.size());
  for (unsigned k = 0; k < budget; ++k) {
    const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) break;  // EAGAIN: all read
    ++stats_.messages;
    const sync::Decoded d =
        sync::decode(std::span<const uint8_t>(buf, static_cast<size_t>(n)), cfg_.syncid);
    for (size_t i = 0; i < sync::kDropCount; ++i) stats_.drops[i] += d.drops[i];
    for (const sync::Entry& e : d.entries) {
      SyncConn c;
      if (!from_entry(e, &c)) {
        ++stats_.method;
        continue;
      }
      ++stats_.entries;
      rte_ring* r = rings[owner_of(c.cip, nworkers)];
      if (rte_ring_sp_enqueue_elem(r, &c, sizeof c) != 0) ++stats_.ring_full;
    }
  }
}

}  // namespace fastvs
