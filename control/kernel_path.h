// The kernel path (the exception path): one TAP interface per DPDK port, named like the port
// (dpdk0, ...), with the port's MAC and its local addresses, so that the host's own stack talks
// through the director's ports: health checks, ssh to the DIP, a NAT real server's own traffic
// (forwarded and masqueraded by the host, as the LVS HOWTO's `iptables -t nat -A POSTROUTING -s
// RIP-NET -j MASQUERADE` expects).
//
// The TAP devices are ethdevs (DPDK's net_tap) but not ports of the configuration: no worker polls
// them. Control alone touches them, woken by epoll:
// - workers put what they do not handle (dataplane/local.cpp to_kernel) on one multi-producer
//   ring and write an eventfd; control moves it into the TAP of the port it came in on;
// - the TAP's queue is readable (its interrupt fd): control reads the host's frames and hands them
//   to worker 0 (a ring it polls), which sends them out of the port.
// The host's routes: the port addresses' subnets are connected routes of the TAP interfaces;
// fastvsd's static routes go to a routing table of their own (--kernel-table) that only traffic
// from the ports' addresses or arriving from the TAP interfaces uses (`ip rule`), so a default
// route of the data plane never replaces the management network's. The host's routing is the
// operator's: fastvsd changes only the routes and rules it made (control/kernel_routes.h says how
// they are told apart), over rtnetlink, and will not start on a table someone else uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/model.h"
#include "control/rtnl.h"
#include "dataplane/port.h"

struct rte_mempool;
struct rte_ring;

namespace fastvs {

class KernelPath {
 public:
  KernelPath() = default;
  ~KernelPath();
  KernelPath(const KernelPath&) = delete;
  KernelPath& operator=(const KernelPath&) = delete;

  // Refuses a routing table that holds rules or routes it did not make (and removes the rules a
  // fastvsd that did not stop left there), then creates and starts one TAP per port, named
  // prefix + N, and registers its fds in epoll_fd.
  Status init(const std::vector<PortSetup>& ports, rte_mempool* pool, const std::string& prefix,
              uint32_t table, int epoll_fd);
  bool enabled() const { return to_kernel_ != nullptr; }

  rte_ring* to_kernel() const { return to_kernel_; }
  rte_ring* from_kernel() const { return from_kernel_; }
  int wake_fd() const { return wake_fd_; }

  // An epoll event on one of its fds: moves packets, or notes that the host changed a TAP
  // interface's addresses (addrs_changed()); false if the fd is not one of its own.
  bool on_event(int fd);

  // Whether the host added or removed an address on a TAP interface since the last call (or the
  // notifications overflowed): then read them with host_addrs().
  bool take_addrs_changed() { return std::exchange(addrs_changed_, false); }
  // What each TAP interface holds now, by port; a port whose interface could not be read is left
  // out, its failure logged.
  struct PortAddrs {
    uint16_t port = 0;
    std::vector<HostAddr> addrs;
  };
  std::vector<PortAddrs> host_addrs();

  // Brings the host's addresses, routes and rules to what cfg says (a no-op when they did not
  // change), touching only its own. Each failure is logged with what failed, and the sync as
  // failed (the next call tries again); never fatal: the data plane does not depend on them.
  // force: even when the configuration's addresses and routes did not change (the host removed
  // one of fastvsadm's addresses: put it back).
  void sync(const Config& cfg, bool force = false);

  // Removes its rules and routes from the host, then stops and closes the TAP devices (their
  // addresses go with them).
  void close();

  uint64_t to_host() const { return to_host_; }
  uint64_t from_host() const { return from_host_; }

 private:
  void drain_to_kernel();
  void drain_from_kernel(size_t i);
  Status claim_table();
  void remove_own();

  struct Tap {
    uint16_t port = 0;  // the DPDK port it stands for
    uint16_t tap_port = 0;
    std::string ifname;
    int ifindex = 0;
    int rx_fd = -1;
  };
  std::vector<Tap> taps_;
  rte_ring* to_kernel_ = nullptr;
  rte_ring* from_kernel_ = nullptr;
  int wake_fd_ = -1;
  uint32_t table_ = 100;
  Rtnl rtnl_;
  RtnlAddrEvents addr_events_;
  bool addrs_changed_ = false;
  std::vector<HostAddr> before_;  // the configuration's addresses at the last sync
  bool owns_table_ = false;            // checked free at start: its own entries are removed
  std::optional<std::string> synced_;  // the addresses and routes last applied in full, as text
  uint64_t to_host_ = 0, from_host_ = 0;
};

}  // namespace fastvs
