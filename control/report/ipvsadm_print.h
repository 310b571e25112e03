// ipvsadm's output formats as pure code: `ipvsadm -L` (with -n, --stats, --rate, --exact,
// --thresholds, --persistent-conn), `ipvsadm -S`, `ipvsadm -L --timeout` and `ipvsadm -L
// --daemon`, byte for byte as ipvsadm 1.31 (Debian 12's) prints them. No I/O except the
// getservbyport_r lookup of port names when a listing is not numeric.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/model.h"

namespace fastvs {

// The counters and rates ipvsadm prints with --stats and --rate, for a service or a destination.
struct IpvsCounters {
  // Counters since the last -Z.
  uint64_t conns = 0;
  uint64_t inpkts = 0;
  uint64_t outpkts = 0;
  uint64_t inbytes = 0;
  uint64_t outbytes = 0;
  // Rates per second (IPVS's estimator).
  uint64_t cps = 0;
  uint64_t inpps = 0;
  uint64_t outpps = 0;
  uint64_t inbps = 0;
  uint64_t outbps = 0;

  // Adds another's counters (a service's totals are its destinations' sums); rates untouched.
  void add_counters(const IpvsCounters& o) {
    conns += o.conns;
    inpkts += o.inpkts;
    outpkts += o.outpkts;
    inbytes += o.inbytes;
    outbytes += o.outbytes;
  }
};

// What `ipvsadm -L` shows of one destination (struct ip_vs_dest_entry): its configuration, the
// connection counts IPVS keeps, the counters and the estimator's rates.
struct DestStatus : IpvsCounters {
  DestConfig cfg;
  // IPVS turns a destination that is an address of the director into IP_VS_CONN_F_LOCALNODE and
  // ipvsadm prints "Local" (-S: "-g"). fastvs refuses such destinations (apply_command), so this
  // stays false; it is here so the printer covers every forwarding name ipvsadm prints.
  bool local_node = false;
  int32_t activeconns = 0;
  int32_t inactconns = 0;
  int32_t persistconns = 0;
};

// One service as `ipvsadm -L` shows it, with its totals. cfg.dests is ignored: `dests` is what
// is printed, in any order (the printer sorts as ipvsadm does).
struct ServiceStatus : IpvsCounters {
  ServiceConfig cfg;
  std::vector<DestStatus> dests;
};

// ipvsadm's listing options. When several are given, ipvsadm's precedence applies:
// stats > rate > thresholds > persistent_conn > tun_info. exact only changes how --stats/--rate numbers
// are written.
struct ListOptions {
  bool numeric = false;          // -n
  bool stats = false;            // --stats
  bool rate = false;             // --rate
  bool exact = false;            // --exact
  bool thresholds = false;       // --thresholds
  bool persistent_conn = false;  // --persistent-conn
  bool tun_info = false;         // --tun-info
  bool nosort = false;           // --nosort: services and destinations in the order given
};

// The IPVS version ipvsadm prints in its first line (IP_VS_VERSION_CODE 0x010201).
inline constexpr const char* kIpvsVersion = "1.2.1";

// `ipvsadm -L`: "IP Virtual Server version 1.2.1 (size=N)", the two header lines, then every
// service and its destinations in ipvsadm's order. conn_table_size is N (scripts parse it).
std::string format_list(const std::vector<ServiceStatus>& services, const ListOptions& o,
                        uint32_t conn_table_size);

// `ipvsadm -L -t|-u SERVICE`: as format_list for one service, without the version line
// (ipvsadm's list_service prints only the title and the entry).
std::string format_list_service(const ServiceStatus& service, const ListOptions& o);

// `ipvsadm -S [-n]`: "-A ..." then "-a ..." lines per service, in ipvsadm's order. Numeric output
// reads back with parse_command/load_config_text; without -n the ports are service names
// ("172.16.254.200:http"), as ipvsadm writes them, which our grammar does not resolve.
// Then, where ipvsadm writes nothing, a line per sync daemon role in cfg (master first), so that
// -S | -R starts it again: "--start-daemon master --mcast-interface dpdk0 --syncid 1", then
// --sync-maxlen when one was given and --mcast-group, --mcast-port, --mcast-ttl when not the
// default.
std::string format_save(const Config& cfg, bool numeric);

// `ipvsadm -L --daemon`: a line per sync daemon role in cfg, master first, as ipvsadm 1.31's
// list_daemon prints what a current kernel reports (every field):
// "master sync daemon (mcast=dpdk0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)".
// maxlen is the one the kernel settles on (sync_daemon_maxlen), from the MTU that mtu_of gives
// for the role's interface. "" when no role runs.
using MtuOf = std::function<uint32_t(std::string_view ifname)>;
std::string format_daemon(const Config& cfg, const MtuOf& mtu_of);

// `ipvsadm -L --timeout`: "Timeout (tcp tcpfin udp): 900 120 300\n".
std::string format_timeout(const Timeouts& t);

// One line of `ipvsadm -L -c` (a line of /proc/net/ip_vs_conn): a connection, or a persistence
// template (cport 0, state NONE for TCP).
struct ConnListEntry {
  Proto proto = Proto::Tcp;
  bool ip_proto = false;  // a firewall-mark service's template: IPPROTO_IP, listed "IP"
  std::string state;     // "ESTABLISHED", ..., "NONE"; "UDP" for UDP entries
  uint32_t expires = 0;  // seconds left
  IpAddr cip;
  uint16_t cport = 0;
  IpAddr vip;
  uint16_t vport = 0;
  IpAddr rip;
  uint16_t rport = 0;
};

// `ipvsadm -L -c [-n] [--persistent-conn]`: "IPVS connection entries", the title, one line per
// entry in the order given (ipvsadm prints the kernel's hash-table order, unsorted).
std::string format_conns(const std::vector<ConnListEntry>& conns, bool numeric,
                         bool persistent_conn);

// ipvsadm's sort keys (libipvs ipvs_cmp_services / ipvs_cmp_dests): negative, zero or positive
// like qsort's comparators, including their quirk (see ipvsadm_print.cpp).
int ipvsadm_cmp_services(const ServiceKey& a, const ServiceKey& b);
// A port's name in /etc/services for the protocol (getservbyport), else its number.
std::string port_to_anyname(uint16_t port, Proto proto);
int ipvsadm_cmp_dests(const IpAddr& rip_a, uint16_t rport_a, const IpAddr& rip_b, uint16_t rport_b);

}  // namespace fastvs
