#include "control/kernel_path.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <fmt/core.h>

namespace fastvs {

void log_line(const std::string& s);

namespace {

constexpr unsigned kBurst = 32;
constexpr unsigned kRingSize = 4096;

// `ip ARGS`: the host's own tool, in fastvsd's network namespace. Returns "" or its complaint.
Status run_ip(const std::string& args) {
  const std::string cmd = "ip " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return Error{"cannot run ip"};
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  const int rc = pclose(p);
  if (rc == 0) return {};
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return Error{out.empty() ? fmt::format("exit status {}", rc) : out};
}

// Several `ip` commands in one process (`ip -force -batch`): a sync costs one fork, not one a
// command. Failures of commands marked quiet (deleting what may not exist) are not logged.
struct IpBatch {
  std::vector<std::pair<std::string, bool>> cmds;  // command, quiet
  void add(std::string c, bool quiet = false) { cmds.emplace_back(std::move(c), quiet); }
  void run() {
    if (cmds.empty()) return;
    char path[] = "/tmp/fastvs-ip-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return log_line("kernel path: cannot write an ip batch file");
    std::string text;
    for (const auto& [c, quiet] : cmds) text += c + "\n";
    const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (written) {
      FILE* p = popen(fmt::format("ip -force -batch {} 2>&1", path).c_str(), "r");
      std::string last;
      char buf[512];
      while (p && fgets(buf, sizeof buf, p)) {
        std::string line(buf);
        while (!line.empty() && line.back() == '\n') line.pop_back();
        // "Command failed FILE:N" follows the error it is about.
        const size_t at = line.rfind(':');
        if (line.rfind("Command failed ", 0) == 0 && at != std::string::npos) {
          const size_t n = std::strtoul(line.c_str() + at + 1, nullptr, 10);
          if (n >= 1 && n <= cmds.size() && !cmds[n - 1].second)
            log_line(fmt::format("kernel path: ip {}: {}", cmds[n - 1].first, last));
        } else {
          last = line;
        }
      }
      if (p) pclose(p);
    }
    unlink(path);
    cmds.clear();
  }
};

void ip_or_log(const std::string& args) {
  if (const Status st = run_ip(args); !st)
    log_line(fmt::format("kernel path: ip {}: {}", args, st.error()));
}

}  // namespace

KernelPath::~KernelPath() {
  close();
}

Status KernelPath::init(const std::vector<PortSetup>& ports, rte_mempool* pool,
                        const std::string& prefix, uint32_t table, int epoll_fd) {
  table_ = table;
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
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = t.rx_fd;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, t.rx_fd, &ev) != 0) {
      return Error{fmt::format("kernel path: {}: epoll: {}", t.ifname, strerror(errno))};
    }
    taps_.push_back(t);
    ip_or_log(fmt::format("link set dev {} up", t.ifname));
    log_line(fmt::format("kernel path: {} is {}'s interface for the host", t.ifname, p.name));
  }
  to_kernel_ = rte_ring_create("fastvs_to_kernel", kRingSize, SOCKET_ID_ANY, RING_F_SC_DEQ);
  from_kernel_ = rte_ring_create("fastvs_from_kernel", kRingSize, SOCKET_ID_ANY,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!to_kernel_ || !from_kernel_ || wake_fd_ < 0) {
    return Error{"kernel path: rings or eventfd: out of resources"};
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    return Error{fmt::format("kernel path: epoll: {}", strerror(errno))};
  }
  // Rules a crashed run may have left (the TAP interfaces went with it).
  while (run_ip(fmt::format("rule del lookup {}", table_))) {
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

void KernelPath::sync(const Config& cfg) {
  if (!enabled()) return;
  std::string want;
  for (const auto& a : cfg.addrs) want += fmt::format("a {} {} {};", a.ip, a.prefix_len, a.port);
  for (const auto& r : cfg.routes)
    want += fmt::format("r {} {} {} {};", r.prefix, r.prefix_len, r.via, r.port);
  if (want == synced_) return;
  auto ifname = [&](uint16_t port) -> std::string {
    for (const Tap& t : taps_)
      if (t.port == port) return t.ifname;
    return "";
  };
  IpBatch b;
  // Addresses: the TAP interfaces hold exactly the ports' addresses.
  for (const Tap& t : taps_) b.add(fmt::format("addr flush dev {}", t.ifname));
  for (const auto& a : cfg.addrs) {
    const std::string dev = ifname(a.port);
    if (!dev.empty())
      b.add(fmt::format("addr add {}/{} dev {}", format_ip4(a.ip), a.prefix_len, dev));
  }
  // fastvsd's routes in a table of their own, used by traffic from the ports' addresses and by
  // what arrives from the ports (forwarded by the host).
  b.add(fmt::format("route flush table {}", table_), true);
  for (const auto& a : cfg.addrs) {
    const std::string dev = ifname(a.port);
    const uint32_t net = a.ip & prefix_mask(a.prefix_len);
    if (!dev.empty())
      b.add(fmt::format("route add {}/{} dev {} src {} table {}", format_ip4(net), a.prefix_len,
                        dev, format_ip4(a.ip), table_));
  }
  for (const auto& r : cfg.routes) {
    const std::string dev = ifname(r.port);
    if (dev.empty()) continue;
    const std::string dst =
        r.prefix_len == 0 ? "default" : fmt::format("{}/{}", format_ip4(r.prefix), r.prefix_len);
    b.add(r.via ? fmt::format("route add {} via {} dev {} table {}", dst, format_ip4(r.via), dev,
                              table_)
                : fmt::format("route add {} dev {} table {}", dst, dev, table_));
  }
  for (const std::string& sel : rules_)
    b.add(fmt::format("rule del {} lookup {}", sel, table_), true);
  rules_.clear();
  for (const Tap& t : taps_) rules_.push_back("iif " + t.ifname);
  for (const auto& a : cfg.addrs) rules_.push_back("from " + format_ip4(a.ip));
  for (const std::string& sel : rules_)
    b.add(fmt::format("rule add {} lookup {} priority {}", sel, table_, table_));
  b.run();
  synced_ = want;
  log_line(fmt::format("kernel path: host addresses and routes synced ({} addresses, {} routes)",
                       cfg.addrs.size(), cfg.routes.size()));
}

void KernelPath::close() {
  for (const std::string& sel : rules_)
    (void)run_ip(fmt::format("rule del {} lookup {}", sel, table_));
  rules_.clear();
  if (!taps_.empty()) (void)run_ip(fmt::format("route flush table {}", table_));
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
