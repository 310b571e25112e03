// Applying a parsed command to the configuration model, as the kernel's ip_vs_ctl.c applies
// ipvsadm's requests: parsing (common/grammar) never changes state, applying never reads text.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/grammar/command.h"
#include "common/model.h"
#include "common/result.h"

namespace fastvs {

// Applies a command that changes the configuration, or names the problem ("service TCP
// 172.16.254.200:80 already exists", "no port dpdk3 (2 ports)", ...) and leaves cfg untouched.
// num_ports bounds dpdkN. Listing commands are an error here.
Status apply_command(Config& cfg, const Command& cmd, unsigned num_ports);

// The parts a bulk loader (control/config/loader.h) uses to apply 100,000 lines in O(lines).
ServiceConfig* find_service(Config& cfg, const ServiceKey& key);
std::vector<DestConfig>::iterator find_dest(ServiceConfig& svc, const IpAddr& rip, uint16_t rport);
// -A -E -D -a -e -d, with `svc` cmd.service's entry in cfg or null (the caller looked it up).
Status apply_service(Config& cfg, const Command& cmd, ServiceConfig* svc);
// -a's new destination, checked against the configuration and `exists` (whether the service
// already has RIP:RPORT), without inserting it.
Result<DestConfig> make_dest(const Config& cfg, const ServiceConfig& svc, const Command& cmd,
                             const std::function<bool(const IpAddr&, uint16_t)>& exists);

}  // namespace fastvs
