#include "control/rtnl.h"

#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

namespace fastvs {

namespace {

// How long the kernel may take to answer one request (it answers at once; this only keeps a lost
// answer from blocking the control thread for ever).
constexpr int kAnswerSeconds = 5;
// Large enough for any dump message: the kernel fills at most 32 KiB at a time.
constexpr size_t kRecvBuffer = 64 * 1024;

// Calls f(type, data, len) for each attribute in [start, start + len).
template <typename F>
void for_attrs(const void* start, int len, F f) {
  for (auto* a = static_cast<const rtattr*>(start); RTA_OK(a, len); a = RTA_NEXT(a, len))
    f(static_cast<uint16_t>(a->rta_type & NLA_TYPE_MASK), RTA_DATA(a), RTA_PAYLOAD(a));
}

uint32_t u32_at(const void* data, size_t len) {
  uint32_t v = 0;
  if (len >= sizeof v) memcpy(&v, data, sizeof v);
  return v;
}

// An address attribute of the message's family (zero when it is short).
IpAddr ip_at(IpAddr::Family f, const void* data, size_t len) {
  if (f == IpAddr::Family::V4) return IpAddr::v4(ntohl(u32_at(data, len)));
  IpAddr::Bytes b{};
  if (len >= b.size()) memcpy(b.data(), data, b.size());
  return IpAddr::v6(b);
}

int af(IpAddr::Family f) {
  return f == IpAddr::Family::V4 ? AF_INET : AF_INET6;
}

// The family of a message's af, if it is one of the two.
bool family_of(int af, IpAddr::Family& f) {
  if (af != AF_INET && af != AF_INET6) return false;
  f = af == AF_INET ? IpAddr::Family::V4 : IpAddr::Family::V6;
  return true;
}

constexpr IpAddr::Family kFamilies[] = {IpAddr::Family::V4, IpAddr::Family::V6};

// What a dump of IPv6 answers on a host without IPv6 (ipv6.disable=1): nothing to read.
constexpr int kNoFamily = EAFNOSUPPORT;

std::string str_at(const void* data, size_t len) {
  const auto* s = static_cast<const char*>(data);
  return std::string(s, strnlen(s, len));
}

// The table in the 8-bit header field when it fits (RTA_TABLE / FRA_TABLE always say it too).
uint8_t table_byte(uint32_t table) {
  return table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
}

std::string ifname(int ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex <= 0 || !if_indextoname(static_cast<unsigned>(ifindex), name)) return "";
  return name;
}

// The kernel's answer to a request: its errno, and its extended message when it gives one.
struct KernelError {
  int err = 0;  // positive errno; 0: done
  std::string text;
};

KernelError ack_error(const nlmsghdr* h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return {EBADMSG, "a short netlink answer"};
  const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  if (e->error == 0) return {};
  KernelError k{-e->error, strerror(-e->error)};
  if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
    // After the error: the request (its header only when the answer is capped), then the TLVs.
    size_t off = sizeof(nlmsgerr);
    if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
    const size_t payload = h->nlmsg_len - NLMSG_HDRLEN;
    if (off < payload) {
      for_attrs(reinterpret_cast<const char*>(e) + off, static_cast<int>(payload - off),
                [&](uint16_t type, const void* data, size_t len) {
                  if (type == NLMSGERR_ATTR_MSG) {
                    const std::string msg = str_at(data, len);
                    if (!msg.empty()) k.text = msg + " (" + strerror(k.err) + ")";
                  }
                });
    }
  }
  return k;
}

bool parse_addr(const nlmsghdr* h, HostAddr& a) {
  if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) return false;
  const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
  IpAddr::Family f;
  if (!family_of(ifa->ifa_family, f)) return false;
  a.prefix_len = ifa->ifa_prefixlen;
  a.ifindex = static_cast<int>(ifa->ifa_index);
  // IFA_LOCAL is the address itself where the two differ (IPv4's point-to-point peers); IPv6
  // gives IFA_ADDRESS alone.
  IpAddr local = IpAddr::any(f), address = IpAddr::any(f);
  for_attrs(IFA_RTA(ifa), static_cast<int>(IFA_PAYLOAD(h)),
            [&](uint16_t type, const void* data, size_t len) {
              if (type == IFA_LOCAL) local = ip_at(f, data, len);
              if (type == IFA_ADDRESS) address = ip_at(f, data, len);
            });
  a.ip = local.is_zero() ? address : local;
  return true;
}

bool parse_route(const nlmsghdr* h, HostRoute& r) {
  if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return false;
  const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
  IpAddr::Family f;
  if (!family_of(rt->rtm_family, f) || (rt->rtm_flags & RTM_F_CLONED)) return false;
  r.dst = r.gateway = r.prefsrc = IpAddr::any(f);
  r.dst_len = rt->rtm_dst_len;
  r.table = rt->rtm_table;
  r.proto = rt->rtm_protocol;
  r.type = rt->rtm_type;
  for_attrs(RTM_RTA(rt), static_cast<int>(RTM_PAYLOAD(h)),
            [&](uint16_t type, const void* data, size_t len) {
              switch (type) {
                case RTA_DST:
                  r.dst = ip_at(f, data, len);
                  break;
                case RTA_GATEWAY:
                  r.gateway = ip_at(f, data, len);
                  break;
                case RTA_PREFSRC:
                  r.prefsrc = ip_at(f, data, len);
                  break;
                case RTA_OIF:
                  r.oif = static_cast<int>(u32_at(data, len));
                  break;
                case RTA_TABLE:
                  r.table = u32_at(data, len);
                  break;
                case RTA_PRIORITY:
                  r.metric = u32_at(data, len);
                  break;
                default:
                  break;
              }
            });
  r.dev = ifname(r.oif);
  return true;
}

bool parse_rule(const nlmsghdr* h, HostRule& r) {
  if (h->nlmsg_type != RTM_NEWRULE || h->nlmsg_len < NLMSG_LENGTH(sizeof(fib_rule_hdr)))
    return false;
  const auto* f = static_cast<const fib_rule_hdr*>(NLMSG_DATA(h));
  if (!family_of(f->family, r.family)) return false;
  r.src = IpAddr::any(r.family);
  r.table = f->table;
  r.action = f->action;
  r.src_len = f->src_len;
  r.iif_detached = (f->flags & FIB_RULE_IIF_DETACHED) != 0;
  r.other_selectors = f->dst_len != 0 || f->tos != 0 || (f->flags & FIB_RULE_INVERT) != 0;
  const size_t hdr = NLMSG_ALIGN(sizeof(fib_rule_hdr));
  const size_t payload = h->nlmsg_len - NLMSG_HDRLEN;
  if (payload <= hdr) return true;
  for_attrs(reinterpret_cast<const char*>(f) + hdr, static_cast<int>(payload - hdr),
            [&](uint16_t type, const void* data, size_t len) {
              switch (type) {
                case FRA_PRIORITY:
                  r.priority = u32_at(data, len);
                  break;
                case FRA_TABLE:
                  r.table = u32_at(data, len);
                  break;
                case FRA_PROTOCOL:
                  r.proto = len ? *static_cast<const uint8_t*>(data) : 0;
                  break;
                case FRA_IIFNAME:
                  r.iif = str_at(data, len);
                  break;
                case FRA_SRC:
                  r.src = ip_at(r.family, data, len);
                  break;
                case FRA_SUPPRESS_PREFIXLEN:
                case FRA_SUPPRESS_IFGROUP:
                  // Always in a dump, -1 when not set.
                  if (u32_at(data, len) != UINT32_MAX) r.other_selectors = true;
                  break;
                case FRA_UNSPEC:
                case FRA_FWMASK:  // only with FRA_FWMARK, which counts
                case FRA_PAD:
                  break;
                default:
                  r.other_selectors = true;
                  break;  // to, fwmark, oif, goto, ...
              }
            });
  return true;
}

}  // namespace

// One request: a header, its family's struct, attributes.
struct Rtnl::Msg {
  alignas(nlmsghdr) char buf[512] = {};
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf); }

  template <typename Body>
  Msg(uint16_t type, uint16_t flags, const Body& body) {
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    hdr()->nlmsg_len = NLMSG_LENGTH(sizeof body);
    memcpy(NLMSG_DATA(hdr()), &body, sizeof body);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    const size_t at = NLMSG_ALIGN(hdr()->nlmsg_len);
    const size_t alen = RTA_LENGTH(len);
    assert(at + RTA_ALIGN(alen) <= sizeof buf);
    auto* a = reinterpret_cast<rtattr*>(buf + at);
    a->rta_type = type;
    a->rta_len = static_cast<uint16_t>(alen);
    memcpy(RTA_DATA(a), data, len);
    hdr()->nlmsg_len = static_cast<uint32_t>(at + RTA_ALIGN(alen));
  }
  void u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
  void u8(uint16_t type, uint8_t v) { attr(type, &v, sizeof v); }
  void ip(uint16_t type, const IpAddr& a) { attr(type, a.bytes().data(), a.size()); }
  void str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
};

Rtnl::~Rtnl() {
  if (fd_ >= 0) ::close(fd_);
}

Status Rtnl::open() {
  if (fd_ >= 0) return {};
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) return Error{fmt::format("netlink socket: {}", strerror(errno))};
  const int one = 1;
  // The kernel's own words for a refusal; short answers; dumps filtered by the kernel (the
  // answers are checked here too). Each may be missing on an old kernel: not needed.
  (void)setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  (void)setsockopt(fd_, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  const timeval tv{kAnswerSeconds, 0};
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    return Error{fmt::format("netlink socket: {}", strerror(e))};
  }
  buf_.resize(kRecvBuffer);
  return {};
}

Status Rtnl::send(Msg& m) {
  if (fd_ < 0) return Error{"netlink socket not open"};
  m.hdr()->nlmsg_seq = ++seq_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    const ssize_t n = sendto(fd_, m.buf, m.hdr()->nlmsg_len, 0,
                             reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    if (n == static_cast<ssize_t>(m.hdr()->nlmsg_len)) return {};
    if (n < 0 && errno == EINTR) continue;
    return Error{fmt::format("netlink send: {}", n < 0 ? strerror(errno) : "short write")};
  }
}

namespace {

// Reads the kernel's answers to request `seq`, calling on(h) for each until it returns true
// (the last one). Answers to earlier requests (one that timed out) are skipped.
template <typename F>
Status read_answers(int fd, std::vector<char>& buf, uint32_t seq, F on) {
  for (;;) {
    sockaddr_nl from{};
    iovec iov{buf.data(), buf.size()};
    msghdr mh{};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    const ssize_t n = recvmsg(fd, &mh, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return Error{fmt::format("no answer from the kernel in {} s", kAnswerSeconds)};
      return Error{fmt::format("netlink receive: {}", strerror(errno))};
    }
    if (mh.msg_flags & MSG_TRUNC) return Error{"netlink answer truncated"};
    if (from.nl_pid != 0) continue;  // not the kernel
    // NLMSG_OK and NLMSG_NEXT, without their signed/unsigned comparison.
    const size_t got = static_cast<size_t>(n);
    for (size_t off = 0; off + NLMSG_HDRLEN <= got;) {
      auto* h = reinterpret_cast<nlmsghdr*>(buf.data() + off);
      if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > got - off) break;
      if (h->nlmsg_seq == seq && on(h)) return {};
      off += NLMSG_ALIGN(h->nlmsg_len);
    }
  }
}

}  // namespace

Status Rtnl::request(Msg& m) {
  m.hdr()->nlmsg_flags |= NLM_F_ACK;
  if (Status st = send(m); !st) return st;
  KernelError k;
  Status st = read_answers(fd_, buf_, seq_, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != NLMSG_ERROR) return false;
    k = ack_error(h);
    return true;
  });
  if (!st) return st;
  if (k.err) return Error{k.text};
  return {};
}

template <typename F>
Status Rtnl::dump(Msg& m, F each, int absent, int absent2) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    Msg copy = m;
    copy.hdr()->nlmsg_flags |= NLM_F_DUMP;
    if (Status st = send(copy); !st) return st;
    bool interrupted = false;
    KernelError k;
    Status st = read_answers(fd_, buf_, seq_, [&](const nlmsghdr* h) {
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (h->nlmsg_type == NLMSG_DONE) {
        int err = 0;
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof err)) memcpy(&err, NLMSG_DATA(h), sizeof err);
        if (err < 0) k = {-err, strerror(-err)};
        return true;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        k = ack_error(h);
        return true;
      }
      each(h);
      return false;
    });
    if (!st) return st;
    if (k.err && (k.err == absent || k.err == absent2)) return each(nullptr), Status();
    if (k.err) return Error{k.text};
    if (!interrupted) return {};
    each(nullptr);
  }
  return Error{"the kernel's tables kept changing during the dump"};
}

Result<std::vector<HostAddr>> Rtnl::addrs(int ifindex) {
  std::vector<HostAddr> out;
  for (IpAddr::Family f : kFamilies) {
    ifaddrmsg ifa{};
    ifa.ifa_family = static_cast<uint8_t>(af(f));
    ifa.ifa_index = static_cast<uint32_t>(ifindex);
    Msg m(RTM_GETADDR, 0, ifa);
    const size_t before = out.size();
    Status st = dump(
        m,
        [&](const nlmsghdr* h) {
          if (!h) return out.resize(before);
          HostAddr a;
          if (parse_addr(h, a) && a.ifindex == ifindex && a.ip.family() == f) out.push_back(a);
        },
        kNoFamily);
    if (!st) return Error{st.error()};
  }
  return out;
}

Result<std::vector<HostRoute>> Rtnl::routes(uint32_t table) {
  std::vector<HostRoute> out;
  for (IpAddr::Family f : kFamilies) {
    rtmsg rt{};
    rt.rtm_family = static_cast<uint8_t>(af(f));
    rt.rtm_table = table_byte(table);
    Msg m(RTM_GETROUTE, 0, rt);
    m.u32(RTA_TABLE, table);
    const size_t before = out.size();
    // A table that does not exist (nothing was ever put in it) is ENOENT: no routes.
    Status st = dump(
        m,
        [&](const nlmsghdr* h) {
          if (!h) return out.resize(before);
          HostRoute r;
          if (parse_route(h, r) && r.table == table && r.dst.family() == f) out.push_back(r);
        },
        ENOENT, kNoFamily);
    if (!st) return Error{st.error()};
  }
  return out;
}

Result<std::vector<HostRule>> Rtnl::rules() {
  std::vector<HostRule> out;
  for (IpAddr::Family f : kFamilies) {
    fib_rule_hdr hdr{};
    hdr.family = static_cast<uint8_t>(af(f));
    Msg m(RTM_GETRULE, 0, hdr);
    const size_t before = out.size();
    Status st = dump(
        m,
        [&](const nlmsghdr* h) {
          if (!h) return out.resize(before);
          HostRule r;
          if (parse_rule(h, r) && r.family == f) out.push_back(r);
        },
        kNoFamily);
    if (!st) return Error{st.error()};
  }
  return out;
}

namespace {

ifaddrmsg addr_msg(const HostAddr& a) {
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(af(a.ip.family()));
  ifa.ifa_prefixlen = a.prefix_len;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(a.ifindex);
  return ifa;
}

rtmsg route_msg(const HostRoute& r, bool del) {
  rtmsg rt{};
  rt.rtm_family = static_cast<uint8_t>(af(r.dst.family()));
  rt.rtm_dst_len = r.dst_len;
  rt.rtm_table = table_byte(r.table);
  rt.rtm_protocol = r.proto;
  rt.rtm_type = r.type;
  // As `ip route` does: a route without a gateway reaches its destination on the link. A delete
  // matches any scope (the kernel then matches the rest, the protocol included).
  rt.rtm_scope = del                                               ? RT_SCOPE_NOWHERE
                 : (!r.gateway.is_zero() || r.type != RTN_UNICAST) ? RT_SCOPE_UNIVERSE
                                                                   : RT_SCOPE_LINK;
  return rt;
}

fib_rule_hdr rule_msg(const HostRule& r) {
  fib_rule_hdr f{};
  f.family = static_cast<uint8_t>(af(r.family));
  f.src_len = r.src_len;
  f.table = table_byte(r.table);
  f.action = r.action;
  return f;
}

}  // namespace

Status Rtnl::add(const HostAddr& a) {
  ifaddrmsg ifa = addr_msg(a);
  if (a.ip.is_v6()) ifa.ifa_flags = IFA_F_NODAD;
  Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifa);
  m.ip(IFA_LOCAL, a.ip);
  m.ip(IFA_ADDRESS, a.ip);
  if (a.ip.is_v6()) m.u32(IFA_FLAGS, IFA_F_NODAD);
  return request(m);
}

Status Rtnl::del(const HostAddr& a) {
  Msg m(RTM_DELADDR, 0, addr_msg(a));
  m.ip(IFA_LOCAL, a.ip);
  m.ip(IFA_ADDRESS, a.ip);
  return request(m);
}

namespace {

template <typename M>
void route_attrs(M& m, const HostRoute& r) {
  m.u32(RTA_TABLE, r.table);
  if (r.dst_len) m.ip(RTA_DST, r.dst);
  if (!r.gateway.is_zero()) m.ip(RTA_GATEWAY, r.gateway);
  if (r.oif) m.u32(RTA_OIF, static_cast<uint32_t>(r.oif));
  if (!r.prefsrc.is_zero()) m.ip(RTA_PREFSRC, r.prefsrc);
  if (r.metric) m.u32(RTA_PRIORITY, r.metric);
}

template <typename M>
void rule_attrs(M& m, const HostRule& r) {
  m.u32(FRA_PRIORITY, r.priority);
  m.u32(FRA_TABLE, r.table);
  m.u8(FRA_PROTOCOL, r.proto);
  if (!r.iif.empty()) m.str(FRA_IIFNAME, r.iif);
  if (r.src_len) m.ip(FRA_SRC, r.src);
}

}  // namespace

Status Rtnl::add(const HostRoute& r) {
  Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, route_msg(r, false));
  route_attrs(m, r);
  return request(m);
}

Status Rtnl::del(const HostRoute& r) {
  Msg m(RTM_DELROUTE, 0, route_msg(r, true));
  route_attrs(m, r);
  return request(m);
}

Status Rtnl::add(const HostRule& r) {
  Msg m(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, rule_msg(r));
  rule_attrs(m, r);
  return request(m);
}

Status Rtnl::del(const HostRule& r) {
  Msg m(RTM_DELRULE, 0, rule_msg(r));
  rule_attrs(m, r);
  return request(m);
}

Status Rtnl::set_up(int ifindex) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  Msg m(RTM_NEWLINK, 0, ifi);
  return request(m);
}

RtnlAddrEvents::~RtnlAddrEvents() {
  if (fd_ >= 0) ::close(fd_);
}

Status RtnlAddrEvents::open() {
  if (fd_ >= 0) return {};
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd_ < 0) return Error{fmt::format("netlink socket: {}", strerror(errno))};
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    return Error{fmt::format("netlink address notifications: {}", strerror(e))};
  }
  buf_.resize(kRecvBuffer);
  return {};
}

void RtnlAddrEvents::drain_each(const std::function<void(int)>& f) {
  if (fd_ < 0) return;
  for (;;) {
    const ssize_t n = recv(fd_, buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // ENOBUFS: the kernel had more to say than the socket held; the caller reads all again.
      if (errno == ENOBUFS) {
        f(-1);
        continue;
      }
      return;  // EAGAIN: all read
    }
    // NLMSG_OK and NLMSG_NEXT, without their signed/unsigned comparison (read_answers').
    const size_t got = static_cast<size_t>(n);
    for (size_t off = 0; off + NLMSG_HDRLEN <= got;) {
      const auto* h = reinterpret_cast<const nlmsghdr*>(buf_.data() + off);
      if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > got - off) break;
      off += NLMSG_ALIGN(h->nlmsg_len);
      if ((h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) ||
          h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg)))
        continue;
      const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
      if (ifa->ifa_family == AF_INET || ifa->ifa_family == AF_INET6)
        f(static_cast<int>(ifa->ifa_index));
    }
  }
}

}  // namespace fastvs
