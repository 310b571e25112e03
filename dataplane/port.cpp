#include "dataplane/port.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <fmt/core.h>

namespace fastvs {

namespace {
constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;

// The MTU of kernel interface `if_index` (0: none), or -1.
int kernel_if_mtu(uint32_t if_index) {
  if (if_index == 0) return -1;
  ifreq ifr{};
  if (!if_indextoname(if_index, ifr.ifr_name)) return -1;
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int rc = ioctl(fd, SIOCGIFMTU, &ifr);
  close(fd);
  return rc == 0 ? ifr.ifr_mtu : -1;
}
}  // namespace

Status ports_init(unsigned nworkers, rte_mempool* pool, std::vector<PortSetup>* ports) {
  uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) {
    PortSetup ps;
    ps.port_id = pid;
    ps.name = fmt::format("dpdk{}", ports->size());
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(pid, &info); rc != 0) {
      return Error{fmt::format("port {}: dev_info: {}", ps.name, rte_strerror(-rc))};
    }
    ps.driver = info.driver_name ? info.driver_name : "?";
    // Errors name the port as the operator gave it too: "dpdk1 (0000:03:00.1)".
    const std::string label = fmt::format(
        "port {} ({})", ps.name, info.device ? rte_dev_name(info.device) : ps.driver.c_str());
    ps.nrxq = static_cast<uint16_t>(
        std::min<unsigned>(nworkers, std::max<uint16_t>(1, info.max_rx_queues)));
    ps.ntxq = static_cast<uint16_t>(
        std::min<unsigned>(nworkers, std::max<uint16_t>(1, info.max_tx_queues)));
    rte_eth_conf conf{};
    // RSS on the source address alone where the NIC can (RTE_ETH_RSS_L3_SRC_ONLY): a client's
    // packets then share a queue. The NIC's Toeplitz hash is not the owner function
    // (steer.h), so a worker still hands a packet to its owner when they differ; the hand-off
    // keeps it correct, RSS only spreads the load over the queues.
    if (ps.nrxq > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_IPV4)) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf =
          RTE_ETH_RSS_IPV4 | (info.flow_type_rss_offloads & RTE_ETH_RSS_L3_SRC_ONLY);
      ps.rss = true;
    }
    if (int rc = rte_eth_dev_configure(pid, ps.nrxq, ps.ntxq, &conf); rc != 0) {
      return Error{fmt::format("{}: cannot configure {} rx / {} tx queues: {}", label, ps.nrxq,
                               ps.ntxq, rte_strerror(-rc))};
    }
    uint16_t nrx = kRxDesc, ntx = kTxDesc;
    rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
    const int socket = rte_eth_dev_socket_id(pid);
    for (uint16_t q = 0; q < ps.nrxq; ++q) {
      if (int rc = rte_eth_rx_queue_setup(pid, q, nrx, socket, nullptr, pool); rc != 0) {
        return Error{fmt::format("{}: cannot set up rx queue {}: {}", label, q, rte_strerror(-rc))};
      }
    }
    for (uint16_t q = 0; q < ps.ntxq; ++q) {
      if (int rc = rte_eth_tx_queue_setup(pid, q, ntx, socket, nullptr); rc != 0) {
        return Error{fmt::format("{}: cannot set up tx queue {}: {}", label, q, rte_strerror(-rc))};
      }
    }
    if (int rc = rte_eth_dev_start(pid); rc != 0) {
      return Error{fmt::format("{}: cannot start: {}", label, rte_strerror(-rc))};
    }
    // Promiscuous: the director receives for VIPs and for the clients it NATs back.
    rte_eth_promiscuous_enable(pid);
    uint16_t mtu = 0;
    if (rte_eth_dev_get_mtu(pid, &mtu) == 0 && mtu >= 576) ps.mtu = mtu;
    // A port on a kernel interface (af_xdp, af_packet, tap) reports DPDK's default 1500
    // whatever the interface's MTU: the interface's is the one that holds.
    if (const int kmtu = kernel_if_mtu(info.if_index); kmtu >= 576 && kmtu <= UINT16_MAX) {
      ps.mtu = static_cast<uint16_t>(kmtu);
      rte_eth_dev_set_mtu(pid, ps.mtu);  // DPDK's idea too, where the driver lets it be set
    }
    rte_ether_addr mac;
    rte_eth_macaddr_get(pid, &mac);
    std::copy(mac.addr_bytes, mac.addr_bytes + 6, ps.mac.begin());
    ports->push_back(ps);
  }
  return {};
}

void ports_close(const std::vector<PortSetup>& ports) {
  for (const auto& p : ports) {
    rte_eth_dev_stop(p.port_id);
    rte_eth_dev_close(p.port_id);
  }
}

}  // namespace fastvs
