// Helpers for tests that apply commands to a configuration: run a line, expect success, or one
// error and the configuration unchanged.
#pragma once

#include <sstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "common/net.h"
#include "control/config/apply.h"
#include "tests/unit/common/grammar_helpers.h"

namespace fastvs::testing {

// Parses (must succeed) and applies; returns apply's answer ("" for success).
// Parses (must succeed) and applies; returns apply's answer.
inline std::string run(Config& cfg, const std::string& line, unsigned num_ports = 2) {
  Result<Command> r = parse(line);
  if (!r) {
    ADD_FAILURE() << line << " -> parse error: " << r.error();
    return "parse error: " + r.error();
  }
  return apply_command(cfg, *r, num_ports).error();
}

inline void run_ok(Config& cfg, const std::string& line, unsigned num_ports = 2) {
  EXPECT_EQ(run(cfg, line, num_ports), "") << line;
}

// A printable picture of a Config, to check that a failed command changed nothing.
inline std::string dump(const Config& c) {
  std::ostringstream o;
  for (const auto& a : c.addrs)
    o << "addr " << format_ip(a.ip) << "/" << +a.prefix_len << " " << a.port << "\n";
  for (const auto& r : c.routes) {
    o << "route " << format_ip(r.prefix) << "/" << +r.prefix_len << " " << format_ip(r.via) << " "
      << r.port << "\n";
  }
  for (const auto& n : c.neighs)
    o << "neigh " << format_ip(n.ip) << " " << format_mac(n.mac) << " " << n.port << "\n";
  for (const auto& s : c.services) {
    o << "svc " << proto_name(s.key.proto) << " " << format_ip(s.key.vip) << ":" << s.key.vport
      << " f" << s.key.fwmark << " " << s.scheduler << " " << s.sched_flags << " p" << s.persistent
      << " " << s.timeout << " " << format_ip4(s.netmask) << " " << +s.netmask6 << "\n";
    for (const auto& d : s.dests) {
      o << "  dest " << format_ip(d.rip) << ":" << d.rport << " " << method_name(d.method) << " "
        << d.weight << " " << d.u_threshold << " " << d.l_threshold << "\n";
    }
  }
  for (const auto& r : c.mark_rules) {
    o << "mark " << r.v6 << " " << +r.proto << " " << format_ip(r.src) << "/" << +r.src_len << " "
      << format_ip(r.dst) << "/" << +r.dst_len << " " << r.sports.size() << " " << r.dports.size()
      << " " << r.in_port.value_or(65535) << " " << r.mark << "\n";
  }
  o << "timeouts " << c.timeouts.tcp << " " << c.timeouts.tcpfin << " " << c.timeouts.udp << "\n";
  for (const auto& [role, d] : {std::pair{"master", &c.sync_master}, {"backup", &c.sync_backup}}) {
    if (!*d) continue;
    o << role << " sync " << (*d)->ifname << " " << +(*d)->syncid << " " << (*d)->maxlen << " "
      << format_ip4((*d)->group) << " " << (*d)->port << " " << +(*d)->ttl << "\n";
  }
  return o.str();
}

// Applies and expects `error`, with the configuration unchanged.
inline void run_err(Config& cfg, const std::string& line, const std::string& error,
                    unsigned num_ports = 2) {
  const std::string before = dump(cfg);
  EXPECT_EQ(run(cfg, line, num_ports), error) << line;
  EXPECT_EQ(dump(cfg), before) << line << " changed the configuration";
}

// Two-arm director: clients on dpdk0, real servers on dpdk1.
inline Config two_arm() {
  Config cfg;
  run_ok(cfg, "ip addr add 172.16.254.200/24 dev dpdk0");
  run_ok(cfg, "ip addr add 192.168.0.8/24 dev dpdk1");
  run_ok(cfg, "ip route add default via 172.16.254.1 dev dpdk0");
  run_ok(cfg, "-A -t 172.16.254.200:80 -s wrr");
  return cfg;
}

}  // namespace fastvs::testing
