// The configuration model: what ipvsadm and `ip` would hold for this director. Pure data, host
// byte order. Control owns one Config; the data plane never sees it, only snapshots built from it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/check_spec.h"
#include "common/net.h"

namespace fastvs {

// ipvsadm's -b flags that the schedulers understand: the kernel's IP_VS_SVC_F_SCHED1 and
// IP_VS_SVC_F_SCHED2, named by the scheduler that reads them (ip_vs_sh.c and ip_vs_mh.c define
// their SH_* and MH_* names on the same two bits). ServiceConfig::scheduler says which it is.
enum SchedFlags : uint32_t {
  kSchedShFallback = 1u << 0,           // IP_VS_SVC_F_SCHED_SH_FALLBACK
  kSchedShPort = 1u << 1,               // IP_VS_SVC_F_SCHED_SH_PORT
  kSchedMhFallback = kSchedShFallback,  // IP_VS_SVC_F_SCHED_MH_FALLBACK
  kSchedMhPort = kSchedShPort,          // IP_VS_SVC_F_SCHED_MH_PORT
  kSchedFlag3 = 1u << 2,                // IP_VS_SVC_F_SCHED3: no scheduler reads it
};

// A service (protocol, VIP, port) and one of its destinations (+ RIP, port): the keys of maps
// that follow services and destinations across configuration changes. Ordered member by
// member (not ipvsadm's listing order: see ipvsadm_cmp_services).
// IPVS's schedulers that fastvs has, by name, in the data plane's SchedKind order
// (dataplane/sched/sched.h), with what each does for fastvsadm --help.
struct SchedulerName {
  std::string_view name;
  std::string_view help;
};
inline constexpr std::array<SchedulerName, 14> kSchedulers = {{
    {"rr", "round robin"},
    {"wrr", "weighted round robin"},
    {"lc", "least connection"},
    {"wlc", "weighted least connection (the default)"},
    {"sh", "source hashing (-b sh-fallback,sh-port)"},
    {"sed", "shortest expected delay"},
    {"nq", "never queue"},
    {"fo", "weighted failover"},
    {"ovf", "weighted overflow"},
    {"dh", "destination hashing"},
    {"mh", "maglev hashing (-b mh-fallback,mh-port)"},
    {"twos", "weighted power of two random choices"},
    {"lblc", "locality-based least connection"},
    {"lblcr", "locality-based least connection with replication"},
}};
inline constexpr std::string_view kDefaultScheduler = "wlc";  // ipvsadm's DEF_SCHED

// A firewall-mark service (ipvsadm -f MARK [-6]) is keyed by its mark and family alone: proto
// is Tcp (ipvsadm sets IPPROTO_TCP "to a sane value, even though it is not used"), vip the
// family's zero address, vport 0. It takes TCP and UDP packets of either protocol that the mark
// rules (MarkRule) give its mark, to any local address and port (__ip_vs_svc_fwm_find).
struct ServiceKey {
  Proto proto = Proto::Tcp;
  IpAddr vip;
  uint16_t vport = 0;
  uint32_t fwmark = 0;
  bool is_fwmark() const { return fwmark != 0; }
  static ServiceKey of_fwmark(uint32_t mark, bool v6) {
    ServiceKey k;
    k.fwmark = mark;
    k.vip = IpAddr::any(v6 ? IpAddr::Family::V6 : IpAddr::Family::V4);
    return k;
  }
  friend auto operator<=>(const ServiceKey&, const ServiceKey&) = default;
};

struct DestKey {
  ServiceKey service;
  IpAddr rip;
  uint16_t rport = 0;
  friend auto operator<=>(const DestKey&, const DestKey&) = default;
};

// "TCP 10.0.0.1:80", "TCP [2001:db8::1]:80", "FWM 80", "FWM 80 IPv6": how messages, logs and
// telemetry name a service.
std::string service_name(const ServiceKey& k);
// ipvsadm's words for a service on a command line: {"-t", "10.0.0.1:80"}, {"-u", "[::1]:53"},
// {"-f", "80"}, {"-f", "80", "-6"}.
std::vector<std::string> service_words(const ServiceKey& k);
// Reads a service name as telemetry's parameter: "TCP 10.0.0.1:80", also "tcp:10.0.0.1:80",
// "udp/10.0.0.1:53" and ipvsadm's "-t 10.0.0.1:80" (protocol in any case; spaces around); an
// IPv6 address in brackets, "TCP [2001:db8::1]:80"; a firewall mark "FWM 80", "fwm:80",
// "-f 80", with " IPv6" or " -6" after it for an IPv6 one.
std::optional<ServiceKey> parse_service_name(std::string_view s);

struct DestConfig {
  IpAddr rip;
  uint16_t rport = 0;
  ForwardMethod method = ForwardMethod::Masq;
  int32_t weight = 1;
  uint32_t u_threshold = 0;
  uint32_t l_threshold = 0;
  // dest->last_weight (__ip_vs_update_dest): the weight on add, then the last non-zero one, so
  // it differs from weight only while weight is 0: the weight before -w 0 quiesced it (0 if it
  // was added with weight 0). The mh scheduler builds its table from it, so quiescing one
  // destination moves no other client.
  int32_t last_weight = 0;
  // inhibit_on_failure: when its health checks fail it stays at weight 0 (its connections go
  // on) instead of leaving the service.
  bool inhibit = false;
  friend bool operator==(const DestConfig&, const DestConfig&) = default;
};

struct ServiceConfig {
  ServiceKey key;
  std::string scheduler{kDefaultScheduler};
  uint32_t sched_flags = 0;
  // -p [timeout] and -M netmask: a client (its address under the mask) keeps its real server
  // across connections while the persistence template lives (IP_VS_SVC_F_PERSISTENT).
  bool persistent = false;
  uint32_t timeout = 300;          // seconds (ipvsadm's DEFAULT_TIMEOUT)
  uint32_t netmask = 0xffffffffu;  // an IPv4 service's -M: a mask, host order (any bits)
  // An IPv6 service's -M: a prefix length 1..128, as ipvsadm takes it and the kernel keeps it
  // (svc->netmask holds the prefix length for AF_INET6).
  uint8_t netmask6 = 128;
  // -o (IP_VS_SVC_F_ONEPACKET), UDP services only: each datagram is scheduled on its own and
  // no connection outlives it (ip_vs_schedule's IP_VS_CONN_F_ONE_PACKET).
  bool ops = false;
  // In the kernel's list order: ip_vs_ctl.c adds a new destination at the head
  // (list_add_rcu(&dest->n_list, &svc->destinations)), and the schedulers walk this order.
  std::vector<DestConfig> dests;
  friend bool operator==(const ServiceConfig&, const ServiceConfig&) = default;
};

struct AddrConfig {
  IpAddr ip;
  uint8_t prefix_len = 32;  // 128 for an IPv6 address given without one
  uint16_t port = 0;        // dpdkN
  // Added on the host (keepalived's VIP, `ip addr add ... dev dpdkN`) and followed, not
  // fastvsadm's: it goes when the host removes it, and no file or -S holds it.
  bool from_host = false;
  friend bool operator==(const AddrConfig&, const AddrConfig&) = default;
};

struct RouteConfig {
  IpAddr prefix;  // already masked; its family is the route's
  uint8_t prefix_len = 0;
  IpAddr via;  // zero (0.0.0.0 or ::): directly connected
  uint16_t port = 0;
  friend bool operator==(const RouteConfig&, const RouteConfig&) = default;
};

struct NeighConfig {
  IpAddr ip;
  MacAddr mac{};
  uint16_t port = 0;
  friend bool operator==(const NeighConfig&, const NeighConfig&) = default;
};

// IPVS's defaults (ip_vs_proto_tcp.c tcp_timeouts, ip_vs_proto_udp.c udp_timeouts), seconds.
struct Timeouts {
  uint32_t tcp = 900;     // ESTABLISHED
  uint32_t tcpfin = 120;  // FIN_WAIT
  uint32_t udp = 300;
  friend bool operator==(const Timeouts&, const Timeouts&) = default;
};

// One role of IPVS's connection synchronisation daemon, as `ipvsadm --start-daemon` starts it
// (ipvsadm(8) 1.31; the kernel's struct ipvs_sync_daemon_cfg). A master sends its connections to
// the group, a backup takes them; a director may run both roles at once, as IPVS does.
struct SyncDaemonConfig {
  std::string ifname = "dpdk0";  // --mcast-interface: a port of the director, dpdkN
  uint8_t syncid = 0;            // --syncid 0..255 (a backup with 0 takes any)
  uint16_t maxlen = 0;           // --sync-maxlen 1..65507; 0: not given (sync_daemon_maxlen)
  uint32_t group = 0xe0000051;   // --mcast-group, host order (IP_VS_SYNC_GROUP, 224.0.0.81)
  uint16_t port = 8848;          // --mcast-port 1..65535 (IP_VS_SYNC_PORT)
  uint8_t ttl = 1;               // --mcast-ttl 1..255
  friend bool operator==(const SyncDaemonConfig&, const SyncDaemonConfig&) = default;
};

// The most a sync message may be: 65535 less the IPv4 and UDP headers.
inline constexpr uint16_t kSyncMaxlenMax = 65535 - 20 - 8;

// The message length the kernel settles on when the daemon starts (start_sync_thread): a given
// maxlen clamped to 1..65507 for a master and to 1024..65507 for a backup; none given, 1500 less
// the headers for a master (1472, whatever the port's MTU) and the MTU clamped to 1500..65535
// less the headers for a backup. `ipvsadm -L --daemon` prints this one.
uint16_t sync_daemon_maxlen(const SyncDaemonConfig& c, bool master, uint32_t mtu);

// A health checker of one destination (`fastvsadm --check add`, keepalived's TCP_CHECK,
// HTTP_GET, MISC_CHECK). A destination with several is up when all of them pass.
struct CheckConfig {
  ServiceKey service;
  IpAddr rip;
  uint16_t rport = 0;
  CheckSpec spec;
  friend bool operator==(const CheckConfig&, const CheckConfig&) = default;
};

// How a checked service's destinations follow their checks (keepalived's quorum, hysteresis
// and sorry_server; `fastvsadm --check pool`).
struct PoolConfig {
  ServiceKey service;
  uint32_t quorum = 1;
  uint32_t hysteresis = 0;
  bool has_sorry = false;
  IpAddr sorry_ip;
  uint16_t sorry_port = 0;
  ForwardMethod sorry_method = ForwardMethod::Masq;
  bool sorry_inhibit = false;
  // keepalived's scripts: the virtual server's quorum_up/quorum_down, its real servers'
  // notify_up/notify_down; omega runs the down ones when the service goes (fastvsd stops, or a
  // reload drops it).
  std::optional<ScriptSpec> quorum_up, quorum_down;
  bool omega = false;
  struct ServerScripts {
    IpAddr rip;
    uint16_t rport = 0;
    std::optional<ScriptSpec> up, down;
    friend bool operator==(const ServerScripts&, const ServerScripts&) = default;
  };
  std::vector<ServerScripts> notify;
  friend bool operator==(const PoolConfig&, const PoolConfig&) = default;
};

// A rule of the mangle table's PREROUTING chain that sets a firewall mark (`fastvsadm iptables
// -t mangle -A PREROUTING ... -j MARK --set-mark N`): iptables' subset that LVS guides write.
// The rules are walked in order and every one that matches sets the mark (MARK does not end
// the walk): the last match's mark is the packet's.
struct MarkRule {
  bool v6 = false;    // ip6tables' (IPv6 packets) or iptables' (IPv4)
  uint8_t proto = 0;  // -p: 6, 17; 0 any
  IpAddr src, dst;    // -s, -d: masked; zero with length 0 matches any
  uint8_t src_len = 0, dst_len = 0;
  // --sport/--dport (one port or a range lo:hi) or -m multiport --sports/--dports (up to 15
  // ports or ranges): ranges, empty matches any. `sport_multi`/`dport_multi`: given with
  // multiport (so printed that way).
  std::vector<std::pair<uint16_t, uint16_t>> sports, dports;
  bool sport_multi = false, dport_multi = false;
  // The protocol's own match is in the rule (-m tcp|udp, or loaded by --sport/--dport): iptables
  // -S prints it even when its ports match any ("-p tcp -m tcp").
  bool proto_match = false;
  std::optional<uint16_t> in_port;  // -i dpdkN
  uint32_t mark = 0;                // -j MARK --set-mark
  friend bool operator==(const MarkRule&, const MarkRule&) = default;
};

// Every rule is walked for each new flow to a firewall-mark service: a bound that keeps that walk
// short (the LVS guides write a handful).
inline constexpr size_t kMaxMarkRules = 1024;

struct Config {
  std::vector<AddrConfig> addrs;
  std::vector<RouteConfig> routes;  // static routes; connected routes derive from addrs
  std::vector<NeighConfig> neighs;  // static (permanent) neighbours
  std::vector<ServiceConfig> services;
  Timeouts timeouts;
  std::vector<CheckConfig> checks;
  std::vector<PoolConfig> pools;
  // The sync daemon's roles that run (--start-daemon master|backup); both may.
  std::optional<SyncDaemonConfig> sync_master, sync_backup;
  std::vector<MarkRule> mark_rules;  // in chain order
  friend bool operator==(const Config&, const Config&) = default;
};

}  // namespace fastvs

// Control's maps keyed by service or destination (the rate estimators): hashed, so that a tick
// over 200,000 destinations is one lookup each, not a tree walk.
template <>
struct std::hash<fastvs::ServiceKey> {
  size_t operator()(const fastvs::ServiceKey& k) const noexcept {
    return std::hash<fastvs::IpAddr>{}(k.vip) * 31 +
           (size_t{static_cast<uint8_t>(k.proto)} << 16 | k.vport) + size_t{k.fwmark} * 0x9e37;
  }
};

template <>
struct std::hash<fastvs::DestKey> {
  size_t operator()(const fastvs::DestKey& k) const noexcept {
    return std::hash<fastvs::ServiceKey>{}(k.service) * 0x9e3779b97f4a7c15ull +
           std::hash<fastvs::IpAddr>{}(k.rip) * 31 + k.rport;
  }
};
