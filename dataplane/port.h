// The director's ports: every ethdev the EAL found (vdevs and PCI devices), named dpdk0,
// dpdk1, ... in port-id order. Queues come from dev_info: as many as the port offers, up to one
// per worker.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net.h"
#include "common/result.h"

struct rte_mempool;

namespace fastvs {

struct PortSetup {
  uint16_t port_id = 0;
  std::string name;  // dpdkN
  std::string driver;
  MacAddr mac{};
  uint16_t nrxq = 1;
  uint16_t ntxq = 1;
  bool rss = false;
  uint16_t mtu = 1500;  // IP MTU
};

// Configures and starts every port for `nworkers` workers. Returns false with `err` set.
Status ports_init(unsigned nworkers, rte_mempool* pool, std::vector<PortSetup>* ports);
void ports_close(const std::vector<PortSetup>& ports);

}  // namespace fastvs
