// The host's routing over rtnetlink, IPv4 and IPv6, as much of it as the kernel path needs:
// addresses on an interface, the routes of one table, the policy rules; read (dumps) and changed
// (one request at a time, each answered by the kernel with its own error). No `ip` process and no
// files: a failure is the kernel's answer to one request, with its extended message ("Nexthop has
// invalid gateway") when it gives one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/net.h"
#include "common/result.h"

namespace fastvs {

// An address on an interface, of either family.
struct HostAddr {
  IpAddr ip;
  uint8_t prefix_len = 32;
  int ifindex = 0;
  friend bool operator==(const HostAddr&, const HostAddr&) = default;
};

// A route of one table; its family is dst's (0.0.0.0 or :: with dst_len 0 for a default route).
struct HostRoute {
  IpAddr dst;  // masked
  uint8_t dst_len = 0;
  IpAddr gateway;  // zero: none
  IpAddr prefsrc;  // zero: none
  int oif = 0;
  std::string dev;  // the interface's name (dumps fill it in; "" when it has none)
  uint32_t table = 0;
  uint8_t proto = 0;    // rtm_protocol: who added it (RTPROT_*)
  uint8_t type = 1;     // RTN_UNICAST; blackhole, unreachable, ... are other types
  uint32_t metric = 0;  // IPv6's routes always have one: the kernel gives 1024 when none is set
};

// A policy rule (`ip rule`, `ip -6 rule`). Only the selectors the kernel path uses are kept
// apart; a rule with any other (to, fwmark, oif, tos, ...) says so in other_selectors.
struct HostRule {
  IpAddr::Family family = IpAddr::Family::V4;
  uint32_t priority = 0;
  uint32_t table = 0;
  uint8_t proto = 0;          // FRA_PROTOCOL (Linux 4.17)
  uint8_t action = 1;         // FR_ACT_TO_TBL
  std::string iif;            // "" when none
  bool iif_detached = false;  // the interface does not exist (the kernel keeps the rule)
  IpAddr src;                 // of `family`
  uint8_t src_len = 0;
  bool other_selectors = false;
};

class Rtnl {
 public:
  Rtnl() = default;
  ~Rtnl();
  Rtnl(const Rtnl&) = delete;
  Rtnl& operator=(const Rtnl&) = delete;

  // A NETLINK_ROUTE socket in the calling thread's network namespace.
  Status open();
  bool is_open() const { return fd_ >= 0; }

  // Both families: IPv4's, then IPv6's (none where the host has no IPv6).
  Result<std::vector<HostAddr>> addrs(int ifindex);
  Result<std::vector<HostRoute>> routes(uint32_t table);  // a table that does not exist: none
  Result<std::vector<HostRule>> rules();

  // Each is one request; an error is the kernel's reason, without the request (the caller names
  // what it asked). Adds never replace (NLM_F_EXCL): what exists already is "File exists".
  // Deletes name every field of what they delete, its protocol included: the kernel removes
  // nothing else. An IPv6 address is added without duplicate address detection (nodad): the
  // data plane owns it and answers for it, and a tentative address could not be a route's
  // source.
  Status add(const HostAddr& a);
  Status del(const HostAddr& a);
  Status add(const HostRoute& r);
  Status del(const HostRoute& r);
  Status add(const HostRule& r);
  Status del(const HostRule& r);
  Status set_up(int ifindex);

 private:
  struct Msg;
  Status request(Msg& m);
  // Sends a dump request and calls each(nlmsghdr*) for every answer; each(nullptr) means "start
  // over" (the kernel said a change interrupted the dump, which is retried, or it answered
  // `absent`, an errno that means there is nothing to dump).
  template <typename F>
  Status dump(Msg& m, F each, int absent = 0, int absent2 = 0);
  Status send(Msg& m);

  int fd_ = -1;
  uint32_t seq_ = 0;
  std::vector<char> buf_;
};

// The kernel's address notifications (RTM_NEWADDR / RTM_DELADDR, both families), read without
// blocking from a socket of their own: what keepalived or an operator's `ip addr` changes on an
// interface. Only whether something changed on an interface of interest is kept; the caller reads
// the interface's addresses again (Rtnl::addrs), so that events that arrive late or out of order,
// or a burst the socket could not hold (ENOBUFS), all end in the same answer: what is there now.
class RtnlAddrEvents {
 public:
  RtnlAddrEvents() = default;
  ~RtnlAddrEvents();
  RtnlAddrEvents(const RtnlAddrEvents&) = delete;
  RtnlAddrEvents& operator=(const RtnlAddrEvents&) = delete;

  Status open();
  int fd() const { return fd_; }
  // Reads every pending notification; true when one was about an interface for which ours(ifindex)
  // holds, or when some were lost.
  template <typename Ours>
  bool drain(Ours ours) {
    bool any = false;
    drain_each([&](int ifindex) { any |= ifindex < 0 || ours(ifindex); });
    return any;
  }

 private:
  // Calls f(ifindex) per notification, f(-1) when the kernel dropped some.
  void drain_each(const std::function<void(int)>& f);

  int fd_ = -1;
  std::vector<char> buf_;
};

}  // namespace fastvs
