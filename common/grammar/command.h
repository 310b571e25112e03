// The fastvsadm command grammar: ipvsadm's command line, `ip addr|route|neigh|link`, `--check`
// and `--keepalived-reload`. One grammar for fastvsadm, fastvsd's CLI socket and its config
// files. Pure: parsing turns words into a Command and never changes anything; applying a
// Command to the configuration is control's (control/config/apply.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/model.h"
#include "common/result.h"

namespace fastvs {

enum class Op : uint8_t {
  AddService,        // -A
  EditService,       // -E
  DelService,        // -D
  Clear,             // -C
  AddDest,           // -a
  EditDest,          // -e
  DelDest,           // -d
  List,              // -L / -l
  Save,              // -S
  Restore,           // -R
  Zero,              // -Z
  SetTimeouts,       // --set tcp tcpfin udp
  StartDaemon,       // --start-daemon master|backup [--mcast-interface IF] [--syncid N] ...
  StopDaemon,        // --stop-daemon master|backup
  AddrAdd,           // ip addr add IP/LEN dev dpdkN
  AddrDel,           // ip addr del IP/LEN dev dpdkN
  AddrShow,          // ip addr [show]
  RouteAdd,          // ip route add PREFIX/LEN|default [via IP] dev dpdkN
  RouteDel,          // ip route del PREFIX/LEN|default
  RouteShow,         // ip route [show]
  NeighAdd,          // ip neigh add IP lladdr MAC dev dpdkN
  NeighDel,          // ip neigh del IP dev dpdkN
  NeighShow,         // ip neigh [show]
  LinkShow,          // ip [-s] link [show]: ports, and with -s their counters and drops by reason
  CheckAdd,          // --check add -t|-u VIP:PORT -r RIP[:PORT] tcp|http|misc [key=value ...]
  CheckDel,          // --check del -t|-u VIP:PORT [-r RIP[:PORT]]
  CheckPool,         // --check pool -t|-u VIP:PORT [quorum=N] [hysteresis=N] [sorry=IP[:PORT]] ...
  CheckList,         // --check list
  KeepalivedReload,  // --keepalived-reload [FILE]: keepalived.conf's virtual servers again
  MarkAdd,           // iptables -t mangle -A|-I PREROUTING [N] RULE -j MARK --set-mark N
  MarkDel,           // iptables -t mangle -D PREROUTING RULE|N
  MarkCheck,         // iptables -t mangle -C PREROUTING RULE: whether it is there
  MarkList,          // iptables -t mangle -L [PREROUTING] [-n] [--line-numbers]
  MarkSave,          // iptables -t mangle -S [PREROUTING]
  MarkFlush,         // iptables -t mangle -F [PREROUTING]
};

struct Command {
  Op op = Op::List;
  // Service commands (-A -E -D -a -e -d, and -L/-Z with a service).
  bool has_service = false;
  ServiceKey service;
  bool has_scheduler = false;  // -s given
  std::string scheduler;
  bool has_sched_flags = false;  // -b given
  uint32_t sched_flags = 0;
  // The scheduler the -b names belong to ("sh" for sh-*, "mh" for mh-*): the bits are the same
  // (IP_VS_SVC_F_SCHED1/2), the names are not, and ipvsadm refuses a name for another scheduler.
  std::string sched_flags_of;
  // Destination commands (-a -e -d).
  bool has_dest = false;
  IpAddr rip;
  uint16_t rport = 0;
  bool has_method = false;  // -m / -g / -i given
  ForwardMethod method = ForwardMethod::Masq;
  // ipvsadm's default forwarding method is -g (direct routing).
  ForwardMethod method_or_default() const { return has_method ? method : ForwardMethod::Route; }
  bool has_weight = false;
  int32_t weight = 1;
  bool has_u_threshold = false;
  uint32_t u_threshold = 0;
  bool has_l_threshold = false;
  uint32_t l_threshold = 0;
  // -p [timeout], -M netmask.
  bool has_persistent = false;
  uint32_t timeout = 300;
  bool has_netmask = false;
  uint32_t netmask = 0xffffffffu;  // an IPv4 service's mask, host order
  bool ops = false;                // -o: one-packet scheduling
  uint8_t netmask6 = 128;          // an IPv6 service's prefix length
  // --set: 0 keeps a value.
  Timeouts set_timeouts{0, 0, 0};
  // --start-daemon and --stop-daemon: the role, and what --start-daemon's options give (the
  // defaults where they give nothing).
  bool sync_is_master = false;
  SyncDaemonConfig sync;
  // Listing options.
  bool numeric = false;               // -n
  bool list_stats = false;            // --stats
  bool list_rate = false;             // --rate
  bool list_exact = false;            // --exact / -X
  bool list_thresholds = false;       // --thresholds
  bool list_persistent_conn = false;  // --persistent-conn
  bool list_nosort = false;           // --nosort
  bool list_timeout = false;          // --timeout
  bool list_conns = false;            // -c / --connection
  bool list_daemon = false;           // --daemon
  bool list_tun_info = false;         // --tun-info
  bool stats = false;                 // ip -s
  // ip commands.
  IpAddr ip;  // address, route prefix, or neighbour
  uint8_t prefix_len = 32;
  IpAddr via;                               // zero: none
  std::optional<IpAddr::Family> ip_family;  // ip -4 / ip -6: a listing shows that family only
  MacAddr mac{};
  bool has_port = false;  // dev dpdkN given
  uint16_t port = 0;
  // --check: the checker (service, rip, rport filled from the command), the pool rules.
  CheckConfig check;
  bool check_inhibit = false;  // inhibit_on_failure for the destination
  PoolConfig pool;
  // iptables/ip6tables (mark_rule.v6 says which): the rule, and -I's position or -D's number
  // (0: -A; -D by the rule's words).
  MarkRule mark_rule;
  uint32_t rule_num = 0;
  bool list_line_numbers = false;
  bool mark_chain = false;  // PREROUTING named (-L, -S, -F: that chain alone)
  // --keepalived-reload FILE ("": the file fastvsd loaded last). fastvsadm makes a relative
  // path absolute: fastvsd's working directory is not the operator's.
  std::string path;
};

// Splits a line into words on blanks; a '#' that starts a word begins a comment.
std::vector<std::string> split_words(std::string_view line);

// Parses one command (words without the program name), e.g.
// {"-A","-t","172.16.254.200:80","-s","wrr"} or {"ip","addr","add","10.0.0.1/24","dev","dpdk0"};
// an error is one line naming the problem, e.g. "bad scheduler name 'wrrr'".
Result<Command> parse_command(const std::vector<std::string>& words);

// Host names in -t/-u/-r (and --check's addresses), read as ipvsadm's host_to_addr does
// (gethostbyname: IPv4, the first address). A lookup may wait seconds on a resolver, so only a
// thread that may wait resolves: each sets its resolver (fastvsadm, fastvsd's start and its load
// thread); without one (fastvsd's control thread) a name is refused. fastvsadm sends fastvsd the
// addresses it resolved, so that fastvsd never looks a name up for it.
using HostResolver = std::function<std::optional<IpAddr>(std::string_view name)>;
void set_host_resolver(HostResolver resolver);  // this thread's; nullptr: none
// getaddrinfo(AF_INET): the first IPv4 address of `name`, or none.
std::optional<IpAddr> resolve_host_ipv4(std::string_view name);

// How messages name a command: "-A (--add-service)", "ip addr show", "--check list".
std::string command_name(Op op);

// Whether the command changes the configuration (a listing does not).
bool changes_config(Op op);
// -A -E -D -a -e -d: a command about one service and its destinations.
bool is_service_op(Op op);

// fastvsadm --help: every command and option of the grammar, from its own tables.
std::string fastvsadm_help();

}  // namespace fastvs
