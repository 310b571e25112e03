// Following the addresses the host puts on the kernel-path interfaces (dpdk0, ...): keepalived's
// VRRP moves a VIP by adding it to the interface of the instance that becomes master and removing
// it from the one that stops being master (keepalived's vrrp_ipaddress.c, netlink_ipaddress()).
// With fastvs those interfaces are TAPs (control/kernel_path.h): what the host adds there must
// become an address of the port, answered to ARP and accepted for services, and what it removes
// must stop being answered, or the backup would answer for the VIP too.
//
// Pure: from the configuration and what the interfaces hold now, the configuration to apply.
// Comparing states, not replaying events, keeps it loop-free: fastvsd's own additions (fastvsadm's
// addresses mirrored to the host) are in the configuration already and change nothing.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/model.h"
#include "common/result.h"
#include "control/config/keepalived.h"

namespace fastvs {

// What one port's kernel-path interface holds now (from_host is not read).
struct HostPortAddrs {
  uint16_t port = 0;
  std::vector<AddrConfig> addrs;
};

// Host addresses the data plane refused (an address that is a real server's, one that exists on
// another port): left to the host, warned about once while they stay.
using IgnoredHostAddrs = std::set<std::tuple<IpAddr, uint8_t, uint16_t>>;

struct HostFollow {
  Config next;                       // cfg with the host's additions and removals
  std::vector<std::string> changes;  // one per address followed: "192.168.0.38/32 on dpdk0 added"
  std::vector<std::string> log;      // warnings: refused, put back, a real server stranded
  bool put_back = false;  // one of fastvsadm's addresses was removed on the host: sync again
};

// Interfaces that could not be read are absent from `host` and change nothing. `ignored` is
// updated: refused additions enter it (and are logged once), addresses gone from the host leave.
HostFollow follow_host_addrs(const Config& cfg, const std::vector<HostPortAddrs>& host,
                             IgnoredHostAddrs& ignored, unsigned num_ports);

// SIGHUP builds the configuration again from the files: the host's addresses are not in them and
// stay (the ones whose address the files now give as fastvsadm's become fastvsadm's).
void carry_host_addrs(const Config& from, Config& into);

// An address fastvsadm (or --config) configures that keepalived's VRRP also moves would be put
// back on the backup each time keepalived takes it away (fastvsadm's stay fastvsadm's): both
// directors would answer for it. Refused, naming the keepalived.conf line.
Status check_vrrp_addrs(const Config& cfg, const std::vector<KaVrrpAddr>& vrrp,
                        const std::string& file);

// What a change does to which services take traffic (a service takes traffic only while its VIP
// is a local address: dataplane/snapshot.h): a warning per VIP that leaves the local addresses
// or is new and not local, a line per VIP that becomes local, at most `max` lines (then how many
// more).
// A VIP that is keepalived's (`vrrp`) and not held is a backup's normal state: said without
// WARNING.
std::vector<std::string> vip_reach_changes(const Config& before, const Config& after,
                                           size_t max = 10,
                                           const std::vector<KaVrrpAddr>* vrrp = nullptr);

}  // namespace fastvs
