#include "control/kernel_path.h"

#include <net/if.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <fmt/core.h>

#include "common/text.h"
#include "control/kernel_routes.h"
#include "control/epoll.h"

namespace fastvs {

void log_line(const std::string& s);

namespace {

constexpr unsigned kBurst = 32;
constexpr unsigned kRingSize = 4096;

// fastvsd's IPv6 addresses need IPv6 on its TAP interface: a host whose
// net.ipv6.conf.default.disable_ipv6 is 1 makes new interfaces without it. The interface is
// fastvsd's own, made for the data plane's addresses, so it is turned on there (and said);
// IPv6 the kernel does not have at all (ipv6.disable=1) fails at the address, logged.
void enable_ipv6(const std::string& ifname) {
  const std::string path = "/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6";
  FILE* f = fopen(path.c_str(), "r+");
  if (!f) return;
  const int was = fgetc(f);
  if (was == '1') {
    rewind(f);
    const bool ok = fputs("0\n", f) >= 0;
    if (fclose(f) == 0 && ok) {
      log_line(
          fmt::format("kernel path: IPv6 turned on on {} for fastvsd's IPv6 addresses "
                      "(net.ipv6.conf.{}.disable_ipv6 was 1)",
                      ifname, ifname));
    }
    return;
  }
  fclose(f);
}

}  // namespace

KernelPath::~KernelPath() {
  close();
}

Status KernelPath::init(const std::vector<PortSetup>& ports, rte_mempool* pool,
                        const std::string& prefix, uint32_t table, int epoll_fd) {
  if (Status st = check_kernel_table(table); !st) return Error{"kernel path: " + st.error()};
  table_ = table;
  // Before any interface exists: a table that is not free stops us with nothing changed.
  if (Status st = rtnl_.open(); !st) {
    return Error{fmt::format(
        "kernel path: cannot reach the host's routing ({}); --no-kernel-path runs without it",
        st.error())};
  }
  if (Status st = claim_table(); !st) return st;
  // Before the interfaces exist, so that no address added to them is missed.
  if (Status st = addr_events_.open(); !st) return Error{"kernel path: " + st.error()};
  if (epoll_set(epoll_fd, EPOLL_CTL_ADD, addr_events_.fd(), EPOLLIN) != 0)
    return Error{fmt::format("kernel path: epoll: {}", strerror(errno))};
  for (const PortSetup& p : ports) {
    Tap t;
    t.port = p.port_id;
    t.ifname = prefix + std::to_string(p.port_id);
    if (t.ifname.size() > 15) {
      return Error{
          fmt::format("kernel path: interface name {} is longer than 15 characters", t.ifname)};
    }
    const std::string vdev = fmt::format("net_tap_fastvs{}", p.port_id);
    const std::string args = fmt::format("iface={},mac={}", t.ifname, format_mac(p.mac));
    if (int rc = rte_dev_probe(fmt::format("{},{}", vdev, args).c_str()); rc != 0) {
      return Error{fmt::format(
          "kernel path: cannot create TAP interface {} for {} ({}): is the name taken, or "
          "/dev/net/tun missing? (--no-kernel-path runs without it)",
          t.ifname, p.name, rte_strerror(-rc))};
    }
    if (rte_eth_dev_get_port_by_name(vdev.c_str(), &t.tap_port) != 0) {
      return Error{"kernel path: TAP port not found after creation"};
    }
    rte_eth_conf conf{};
    conf.intr_conf.rxq = 1;  // its queue's fd goes into control's epoll
    if (int rc = rte_eth_dev_configure(t.tap_port, 1, 1, &conf); rc != 0) {
      return Error{fmt::format("kernel path: {}: configure: {}", t.ifname, rte_strerror(-rc))};
    }
    // The port's MTU, so that the host's own packets fit the port (net_tap makes 1500). Above
    // net_tap's largest the TAP keeps it: the host's packets are then only smaller than the port
    // would take, which costs nothing but size.
    if (int rc = rte_eth_dev_set_mtu(t.tap_port, p.mtu); rc != 0) {
      uint16_t kept = 0;
      rte_eth_dev_get_mtu(t.tap_port, &kept);
      log_line(
          fmt::format("kernel path: {} keeps MTU {}, below its port's {} (net_tap: {}): "
                      "the host's own packets on it are no larger than that",
                      t.ifname, kept, p.mtu, rte_strerror(-rc)));
    }
    const int socket = rte_eth_dev_socket_id(t.tap_port);
    if (rte_eth_rx_queue_setup(t.tap_port, 0, 512, socket, nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(t.tap_port, 0, 512, socket, nullptr) != 0 ||
        rte_eth_dev_start(t.tap_port) != 0) {
      return Error{fmt::format("kernel path: {}: queue setup or start failed", t.ifname)};
    }
    t.rx_fd = rte_eth_dev_rx_intr_ctl_q_get_fd(t.tap_port, 0);
    if (t.rx_fd < 0) {
      return Error{fmt::format("kernel path: {}: no receive fd to wait on", t.ifname)};
    }
    if (epoll_set(epoll_fd, EPOLL_CTL_ADD, t.rx_fd, EPOLLIN) != 0) {
      return Error{fmt::format("kernel path: {}: epoll: {}", t.ifname, strerror(errno))};
    }
    t.ifindex = static_cast<int>(if_nametoindex(t.ifname.c_str()));
    if (t.ifindex == 0) {
      return Error{fmt::format("kernel path: {}: not found after creation", t.ifname)};
    }
    taps_.push_back(t);
    if (Status st = rtnl_.set_up(t.ifindex); !st)
      log_line(fmt::format("kernel path: failed: ip link set dev {} up: {}", t.ifname, st.error()));
    log_line(fmt::format("kernel path: TAP interface {} is the host's way through port {}",
                         t.ifname, p.name));
  }
  to_kernel_ = rte_ring_create("fastvs_to_kernel", kRingSize, SOCKET_ID_ANY, RING_F_SC_DEQ);
  from_kernel_ = rte_ring_create("fastvs_from_kernel", kRingSize, SOCKET_ID_ANY,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!to_kernel_ || !from_kernel_ || wake_fd_ < 0) {
    return Error{"kernel path: rings or eventfd: out of resources"};
  }
  if (epoll_set(epoll_fd, EPOLL_CTL_ADD, wake_fd_, EPOLLIN) != 0) {
    return Error{fmt::format("kernel path: epoll: {}", strerror(errno))};
  }
  return {};
}

Status KernelPath::claim_table() {
  Result<std::vector<HostRule>> rules = rtnl_.rules();
  if (!rules) return Error{fmt::format("kernel path: reading the host's rules: {}", rules.error())};
  Result<std::vector<HostRoute>> routes = rtnl_.routes(table_);
  if (!routes) {
    return Error{fmt::format("kernel path: reading routing table {}: {}", table_, routes.error())};
  }
  const TableUse use = table_use(*rules, *routes, table_);
  if (std::string why = table_refusal(use, table_); !why.empty()) return Error{why};
  owns_table_ = true;
  // A fastvsd killed before it could remove its rules (its routes went with its interfaces).
  std::vector<std::string> removed;
  for (const HostRule& r : use.stale) {
    if (Status st = rtnl_.del(r); !st) {
      log_line(fmt::format("kernel path: failed: {}rule del {}: {}", ip_command(r.family),
                           describe(r), st.error()));
    } else {
      removed.push_back(describe(r));
    }
  }
  if (!removed.empty()) {
    log_line(fmt::format(
        "kernel path: removed {} rules a fastvsd that did not stop left in the host: {}",
        removed.size(), join(removed, "; ")));
  }
  return {};
}

bool KernelPath::on_event(int fd) {
  if (!enabled()) return false;
  if (fd == wake_fd_) {
    uint64_t n;
    if (read(wake_fd_, &n, sizeof n) < 0) {
      // EAGAIN: another wake-up already drained it.
    }
    drain_to_kernel();
    return true;
  }
  if (fd == addr_events_.fd()) {
    addrs_changed_ |= addr_events_.drain([this](int ifindex) {
      return std::any_of(taps_.begin(), taps_.end(),
                         [&](const Tap& t) { return t.ifindex == ifindex; });
    });
    return true;
  }
  for (size_t i = 0; i < taps_.size(); ++i) {
    if (taps_[i].rx_fd == fd) {
      drain_from_kernel(i);
      return true;
    }
  }
  return false;
}

void KernelPath::drain_to_kernel() {
  rte_mbuf* pkts[kBurst];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst(to_kernel_, reinterpret_cast<void**>(pkts), kBurst,
                                        nullptr)) > 0) {
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      const Tap* t = nullptr;
      for (const Tap& x : taps_)
        if (x.port == m->port) t = &x;
      if (!t || rte_eth_tx_burst(t->tap_port, 0, &m, 1) != 1) {
        rte_pktmbuf_free(m);
        continue;
      }
      ++to_host_;
    }
  }
}

void KernelPath::drain_from_kernel(size_t i) {
  const Tap& t = taps_[i];
  rte_mbuf* pkts[kBurst];
  uint16_t n;
  while ((n = rte_eth_rx_burst(t.tap_port, 0, pkts, kBurst)) > 0) {
    for (uint16_t k = 0; k < n; ++k) pkts[k]->port = t.port;
    const unsigned sent =
        rte_ring_sp_enqueue_burst(from_kernel_, reinterpret_cast<void**>(pkts), n, nullptr);
    for (unsigned k = sent; k < n; ++k) rte_pktmbuf_free(pkts[k]);
    from_host_ += sent;
    if (n < kBurst) break;
  }
}

std::vector<KernelPath::PortAddrs> KernelPath::host_addrs() {
  std::vector<PortAddrs> out;
  for (const Tap& t : taps_) {
    Result<std::vector<HostAddr>> have = rtnl_.addrs(t.ifindex);
    if (!have) {
      log_line(
          fmt::format("kernel path: failed: reading {}'s addresses: {}", t.ifname, have.error()));
      continue;
    }
    out.push_back({t.port, std::move(*have)});
  }
  return out;
}

void KernelPath::sync(const Config& cfg, bool force) {
  if (!enabled()) return;
  std::string key;
  for (const auto& a : cfg.addrs)
    key += fmt::format("a {} {} {} {};", format_ip(a.ip), a.prefix_len, a.port, a.from_host);
  for (const auto& r : cfg.routes)
    key +=
        fmt::format("r {} {} {} {};", format_ip(r.prefix), r.prefix_len, format_ip(r.via), r.port);
  if (!force && synced_ && *synced_ == key) return;
  synced_.reset();
  std::vector<KernelIf> ifs;
  for (const Tap& t : taps_) ifs.push_back({t.port, t.ifindex, t.ifname});
  const KernelWant want = kernel_want(cfg, ifs, table_);
  size_t changes = 0;
  std::vector<std::string> failed;
  auto done = [&](const Status& st, const std::string& what) {
    ++changes;
    if (!st) failed.push_back(what + ": " + st.error());
  };
  // Addresses: fastvsadm's are put on the TAP interfaces, what left the configuration is taken
  // off, the host's own are left as the host has them (control/kernel_routes.h). Deleting one
  // may take others with it (the secondaries of its network): what to add is read after.
  std::vector<HostAddr> all = want.addrs;
  all.insert(all.end(), want.host_addrs.begin(), want.host_addrs.end());
  for (const Tap& t : taps_) {
    std::vector<HostAddr> own, host;
    for (const HostAddr& a : want.addrs)
      if (a.ifindex == t.ifindex) own.push_back(a);
    for (const HostAddr& a : want.host_addrs)
      if (a.ifindex == t.ifindex) host.push_back(a);
    if (std::any_of(own.begin(), own.end(), [](const HostAddr& a) { return a.ip.is_v6(); }))
      enable_ipv6(t.ifname);
    Result<std::vector<HostAddr>> have = rtnl_.addrs(t.ifindex);
    if (have) {
      for (const HostAddr& a : addr_changes(*have, own, host, before_).del)
        done(rtnl_.del(a), "ip addr del " + describe(a, t.ifname));
      have = rtnl_.addrs(t.ifindex);
    }
    if (!have) {
      failed.push_back(fmt::format("reading {}'s addresses: {}", t.ifname, have.error()));
      continue;
    }
    for (const HostAddr& a : addr_changes(*have, own, host, before_).add)
      done(rtnl_.add(a), "ip addr add " + describe(a, t.ifname));
  }
  // What failed to go is tried again next time.
  if (failed.empty()) {
    before_ = all;
  } else {
    for (const HostAddr& a : all)
      if (std::find(before_.begin(), before_.end(), a) == before_.end()) before_.push_back(a);
  }
  // Routes, after the addresses (an address's removal takes routes from it with it). Deleted
  // first: a route whose gateway changed is the same destination.
  if (Result<std::vector<HostRoute>> have = rtnl_.routes(table_); !have) {
    failed.push_back(fmt::format("reading routing table {}: {}", table_, have.error()));
  } else {
    const HostChanges<HostRoute> c = route_changes(*have, want.routes, table_);
    for (const HostRoute& r : c.del) done(rtnl_.del(r), "ip route del " + describe(r));
    for (const HostRoute& r : c.add) done(rtnl_.add(r), "ip route add " + describe(r));
  }
  // Rules: added first, so that the ports' traffic always has one.
  if (Result<std::vector<HostRule>> have = rtnl_.rules(); !have) {
    failed.push_back(fmt::format("reading the host's rules: {}", have.error()));
  } else {
    const HostChanges<HostRule> c = rule_changes(*have, want.rules, table_);
    for (const HostRule& r : c.add)
      done(rtnl_.add(r), ip_command(r.family) + "rule add " + describe(r));
    for (const HostRule& r : c.del)
      done(rtnl_.del(r), ip_command(r.family) + "rule del " + describe(r));
  }
  if (failed.empty()) {
    synced_ = key;
    log_line(
        fmt::format("kernel path: host addresses and routes synced ({} addresses, {} routes, "
                    "{} changes)",
                    cfg.addrs.size(), cfg.routes.size(), changes));
    return;
  }
  for (const std::string& f : failed) log_line("kernel path: failed: " + f);
  log_line(fmt::format(
      "kernel path: sync FAILED ({} failed, above): the host's addresses, routes or rules are "
      "not what fastvsd's configuration says (the data plane's are); the next change tries again",
      failed.size()));
}

void KernelPath::remove_own() {
  size_t rules = 0, routes = 0;
  if (Result<std::vector<HostRule>> have = rtnl_.rules(); !have) {
    log_line(fmt::format("kernel path: failed: reading the host's rules: {}", have.error()));
  } else {
    for (const HostRule& r : *have) {
      if (!is_own(r, table_)) continue;
      if (Status st = rtnl_.del(r); !st)
        log_line(fmt::format("kernel path: failed: {}rule del {}: {}", ip_command(r.family),
                             describe(r), st.error()));
      else
        ++rules;
    }
  }
  if (Result<std::vector<HostRoute>> have = rtnl_.routes(table_); !have) {
    log_line(
        fmt::format("kernel path: failed: reading routing table {}: {}", table_, have.error()));
  } else {
    for (const HostRoute& r : *have) {
      if (!is_own(r, table_)) continue;
      if (Status st = rtnl_.del(r); !st)
        log_line(fmt::format("kernel path: failed: ip route del {}: {}", describe(r), st.error()));
      else
        ++routes;
    }
  }
  log_line(fmt::format("kernel path: removed its {} rules and {} routes (table {}) from the host",
                       rules, routes, table_));
}

void KernelPath::close() {
  if (owns_table_) remove_own();
  owns_table_ = false;
  synced_.reset();
  before_.clear();
  for (const Tap& t : taps_) {
    rte_eth_dev_stop(t.tap_port);
    rte_eth_dev_close(t.tap_port);
  }
  taps_.clear();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
  rte_mbuf* m;
  for (rte_ring* r : {to_kernel_, from_kernel_}) {
    if (!r) continue;
    while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(r);
  }
  to_kernel_ = from_kernel_ = nullptr;
}

}  // namespace fastvs
