// iproute2's listings for the director's DPDK ports, which the kernel no longer sees:
// `ip [-4|-6] addr`, `ip [-6] route` (static and connected), `ip neigh`, and `ip [-s] link` with
// the ports' counters and each worker's packets and drops by reason.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/model.h"
#include "dataplane/neigh.h"
#include "dataplane/port.h"
#include "dataplane/worker.h"

namespace fastvs {

// `only`: that port's alone (ip addr show dev dpdkN); `family`: ip -4 / ip -6.
std::string show_addrs(const std::vector<PortSetup>& ports, const Config& cfg,
                       std::optional<uint16_t> only = std::nullopt,
                       std::optional<IpAddr::Family> family = std::nullopt);
std::string show_routes(const std::vector<PortSetup>& ports, const Config& cfg,
                        std::optional<IpAddr::Family> family = std::nullopt);
std::string show_neighs(const std::vector<PortSetup>& ports, const NeighTable& neigh,
                        const NeighTable6& neigh6,
                        std::optional<IpAddr::Family> family = std::nullopt);
std::string show_links(const std::vector<PortSetup>& ports,
                       const std::vector<std::unique_ptr<Worker>>& workers, bool stats);

}  // namespace fastvs
