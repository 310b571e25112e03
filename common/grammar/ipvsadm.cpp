// ipvsadm's command line (ipvsadm(8) 1.31): its commands and options as tables, each with the
// help text fastvsadm --help prints, and the parser that reads one command line with them
// (short options bundled as getopt does, long ones with or without '=').
#include <algorithm>
#include <climits>
#include <optional>

#include "common/grammar/grammars.h"
#include "common/grammar/words.h"
#include "common/text.h"

namespace fastvs::grammar {

namespace {

enum Opt : unsigned {
  kOptTcp,
  kOptUdp,
  kOptSched,
  kOptFlags,
  kOptReal,
  kOptMasq,
  kOptGate,
  kOptIpip,
  kOptWeight,
  kOptUThresh,
  kOptLThresh,
  kOptNumeric,
  kOptPersistent,
  kOptNetmask,
  kOptConn,
  kOptExact,
  kOptStats,
  kOptRate,
  kOptThresholds,
  kOptPersistConn,
  kOptSort,
  kOptNoSort,
  kOptTimeout,
  kOptTunType,
  kOptDaemon,
  kOptMcastIf,
  kOptSyncId,
  kOptSyncMaxlen,
  kOptMcastGroup,
  kOptMcastPort,
  kOptMcastTtl,
  kOptTunPort,
  kOptTunNoCsum,
  kOptTunCsum,
  kOptTunRemCsum,
  kOptTunInfo,
  kOptOps,
  kOptFwmark,
  kOptIpv6,
  kOptCount,
};
// The options are bits of a uint64_t (a command's allowed and required sets).
static_assert(kOptCount <= 64, "more options than bits: widen CmdDef's masks");

constexpr uint64_t bit(Opt o) {
  return uint64_t{1} << o;
}
constexpr uint64_t kService = bit(kOptTcp) | bit(kOptUdp) | bit(kOptFwmark);
constexpr uint64_t kMethod = bit(kOptMasq) | bit(kOptGate) | bit(kOptIpip);
// GUE's and GRE's options (ipvsadm's tunnel_types_v_options): all illegal with ipip.
constexpr uint64_t kTunOpts =
    bit(kOptTunPort) | bit(kOptTunNoCsum) | bit(kOptTunCsum) | bit(kOptTunRemCsum);

enum class Arg : uint8_t { None, Required, Optional };

struct OptDef {
  Opt id;
  char short_name;  // 0: long only
  const char* long_name;
  Arg arg;
  const char* arg_name;  // for --help: "VIP:PORT"; "" when it takes none
  const char* help;
};

constexpr std::array<OptDef, kOptCount> kOpts = {{
    {kOptTcp, 't', "tcp-service", Arg::Required, "VIP:PORT",
     "a TCP service: address or host, port or name ([2001:db8::1]:80)"},
    {kOptUdp, 'u', "udp-service", Arg::Required, "VIP:PORT", "a UDP service (IPv6: [VIP]:PORT)"},
    {kOptSched, 's', "scheduler", Arg::Required, "SCHED", "the scheduler (below; default wlc)"},
    {kOptFlags, 'b', "sched-flags", Arg::Required, "FLAGS", "scheduler flags, comma-separated"},
    {kOptReal, 'r', "real-server", Arg::Required, "RIP[:PORT]",
     "a real server, IPv6 [RIP]:PORT (the service's port unless -m maps)"},
    {kOptMasq, 'm', "masquerading", Arg::None, "", "forward by NAT (LVS-NAT)"},
    {kOptGate, 'g', "gatewaying", Arg::None, "", "forward by direct routing (LVS-DR, the default)"},
    {kOptIpip, 'i', "ipip", Arg::None, "",
     "forward in a tunnel (LVS-TUN: IPIP, 6in6, or across families)"},
    {kOptWeight, 'w', "weight", Arg::Required, "WEIGHT",
     "0..65535 (default 1; 0: no new connections)"},
    {kOptUThresh, 'x', "u-threshold", Arg::Required, "UPPER",
     "above this many connections, no new ones (0: no limit)"},
    {kOptLThresh, 'y', "l-threshold", Arg::Required, "LOWER",
     "below this many, an overloaded server takes new ones again"},
    {kOptNumeric, 'n', "numeric", Arg::None, "", "numeric ports in listings"},
    {kOptPersistent, 'p', "persistent", Arg::Optional, "[SECS]",
     "persistence: a client keeps its real server (default 300 s)"},
    {kOptNetmask, 'M', "netmask", Arg::Required, "MASK",
     "clients under one mask persist together (mask or prefix length)"},
    {kOptConn, 'c', "connection", Arg::None, "", "list the connections (-L -c)"},
    {kOptExact, 'X', "exact", Arg::None, "", "unscaled numbers with --stats and --rate"},
    {kOptStats, 0, "stats", Arg::None, "", "list with the counters"},
    {kOptRate, 0, "rate", Arg::None, "", "list with the rates"},
    {kOptThresholds, 0, "thresholds", Arg::None, "", "list with the thresholds"},
    {kOptPersistConn, 0, "persistent-conn", Arg::None, "", "list with the persistent connections"},
    {kOptSort, 0, "sort", Arg::None, "", "sorted (the default; kept for old scripts)"},
    {kOptNoSort, 0, "nosort", Arg::None, "", "in the order the services were added"},
    {kOptTimeout, 0, "timeout", Arg::None, "", "list the timeouts (-L --timeout)"},
    // ipvsadm 1.31's -S writes it for every tunnel destination, so -R takes it back.
    {kOptTunType, 0, "tun-type", Arg::Required, "ipip", "the tunnel type (ipip: fastvs's only)"},
    {kOptDaemon, 0, "daemon", Arg::None, "", "list the sync daemons (-L --daemon)"},
    {kOptMcastIf, 0, "mcast-interface", Arg::Required, "IF",
     "the sync daemon's interface, a port (default dpdk0)"},
    {kOptSyncId, 0, "syncid", Arg::Required, "ID",
     "the sync daemon's id, 0..255 (default 0: a backup takes any)"},
    {kOptSyncMaxlen, 0, "sync-maxlen", Arg::Required, "LEN",
     "the longest sync message, 1..65507 (default 1472; backup: MTU-28)"},
    {kOptMcastGroup, 0, "mcast-group", Arg::Required, "ADDR",
     "the sync multicast group (default 224.0.0.81)"},
    {kOptMcastPort, 0, "mcast-port", Arg::Required, "PORT", "the sync UDP port (default 8848)"},
    {kOptMcastTtl, 0, "mcast-ttl", Arg::Required, "TTL", "the sync messages' TTL (default 1)"},
    // GUE's and GRE's: known, so that they are refused as ipvsadm refuses them with ipip.
    {kOptTunPort, 0, "tun-port", Arg::Required, "PORT", "GUE's UDP port (no GUE yet: refused)"},
    {kOptTunNoCsum, 0, "tun-nocsum", Arg::None, "", "GUE/GRE without checksum (refused)"},
    {kOptTunCsum, 0, "tun-csum", Arg::None, "", "GUE/GRE with checksum (refused)"},
    {kOptTunRemCsum, 0, "tun-remcsum", Arg::None, "", "GUE with remote checksum (refused)"},
    {kOptTunInfo, 0, "tun-info", Arg::None, "", "list with the tunnels' type (TunnelInfo)"},
    {kOptOps, 'o', "ops", Arg::None, "", "one-packet scheduling: each UDP datagram on its own"},
    {kOptFwmark, 'f', "fwmark-service", Arg::Required, "MARK",
     "a firewall-mark service: what iptables marks MARK (1..4294967295)"},
    {kOptIpv6, '6', "ipv6", Arg::None, "", "after -f: the mark's IPv6 packets"},
}};

struct CmdDef {
  Op op;
  char short_name;
  const char* long_name;
  uint64_t allowed;   // options that may come with the command
  uint64_t required;  // kService: one of -t/-u; bit(kOptReal): -r
  const char* help;
};

constexpr uint64_t kDestOpts = kService | bit(kOptReal) | kMethod | bit(kOptWeight) |
                               bit(kOptUThresh) | bit(kOptLThresh) | bit(kOptTunType) | kTunOpts;

constexpr uint64_t kSvcOpts = kService | bit(kOptSched) | bit(kOptFlags) | bit(kOptPersistent) |
                              bit(kOptNetmask) | bit(kOptOps);
constexpr uint64_t kListOpts = kService | bit(kOptNumeric) | bit(kOptConn) | bit(kOptExact) |
                               bit(kOptStats) | bit(kOptRate) | bit(kOptThresholds) |
                               bit(kOptPersistConn) | bit(kOptSort) | bit(kOptNoSort) |
                               bit(kOptTimeout) | bit(kOptDaemon) | bit(kOptTunInfo);
constexpr uint64_t kDaemonOpts = bit(kOptMcastIf) | bit(kOptSyncId) | bit(kOptSyncMaxlen) |
                                 bit(kOptMcastGroup) | bit(kOptMcastPort) | bit(kOptMcastTtl);

// ipvsadm's commands_v_options table, restricted to the options fastvs knows.
constexpr std::array<CmdDef, 15> kCmds = {{
    {Op::AddService, 'A', "add-service", kSvcOpts, kService, "add a virtual service"},
    {Op::EditService, 'E', "edit-service", kSvcOpts, kService,
     "edit a virtual service (what is given changes; -p as in ipvsadm)"},
    {Op::DelService, 'D', "delete-service", kService, kService,
     "delete a virtual service and its real servers"},
    {Op::Clear, 'C', "clear", 0, 0, "clear the whole table"},
    {Op::AddDest, 'a', "add-server", kDestOpts, kService | bit(kOptReal),
     "add a real server to a service"},
    {Op::EditDest, 'e', "edit-server", kDestOpts, kService | bit(kOptReal),
     "edit a real server (what is given changes)"},
    {Op::DelDest, 'd', "delete-server", kService | bit(kOptReal), kService | bit(kOptReal),
     "delete a real server (its connections stay until they expire)"},
    {Op::List, 'L', "list", kListOpts, 0, "list the table (as ipvsadm -L prints it)"},
    {Op::List, 'l', "list", kListOpts, 0, ""},
    {Op::Save, 'S', "save", bit(kOptNumeric), 0, "print the table in ipvsadm's restore format"},
    {Op::Restore, 'R', "restore", 0, 0,
     "restore from standard input, all or nothing (ipvsadm stops at a bad line)"},
    {Op::Zero, 'Z', "zero", kService, 0, "zero the counters (of one service, or all)"},
    {Op::SetTimeouts, 0, "set", 0, 0,
     "set the TCP, TCP FIN_WAIT and UDP timeouts in seconds (0 keeps one)"},
    {Op::StartDaemon, 0, "start-daemon", kDaemonOpts, 0,
     "start the connection sync daemon's master (sends) or backup (receives) role"},
    {Op::StopDaemon, 0, "stop-daemon", 0, 0, "stop that role of the sync daemon"},
}};

// ipvsadm options fastvs knows about but does not implement: a clearer error than "unknown".
struct LaterDef {
  char short_name;  // 0: long only
  const char* long_name;
};
constexpr std::array<LaterDef, 2> kLater = {{
    {0, "sctp-service"},
    {0, "pe"},
}};

std::string opt_display(Opt o) {
  const OptDef& d = kOpts[o];
  if (!d.short_name) return std::string("--") + d.long_name;
  return std::string("-") + d.short_name + " (--" + d.long_name + ")";
}

std::string cmd_display(const CmdDef& c) {
  if (!c.short_name) return std::string("--") + c.long_name;
  return std::string("-") + c.short_name + " (--" + c.long_name + ")";
}

// ipvsadm's parse_timeout: MAX_TIMEOUT is 31 days.
constexpr uint32_t kMaxTimeout = 86400 * 31;

std::optional<uint32_t> parse_timeout(std::string_view s, uint32_t min) {
  const auto v = parse_uint(s, kMaxTimeout);
  if (!v || *v < min) return std::nullopt;
  return v;
}

std::string later_display(const LaterDef& d) {
  if (d.short_name) return std::string("-") + d.short_name + " (--" + d.long_name + ")";
  return std::string("--") + d.long_name;
}

// The state of one ipvsadm command line being parsed.
struct IpvsadmParse {
  Command cmd;
  const CmdDef* def = nullptr;
  uint64_t seen = 0;
  bool rport_given = false;
  std::string netmask_arg;

  Status set_command(const CmdDef& c) {
    if (def) return Error{"multiple commands: " + cmd_display(*def) + " and " + cmd_display(c)};
    def = &c;
    cmd.op = c.op;
    return {};
  }

  Status set_option(const OptDef& d, std::string_view arg) {
    const uint64_t group = (bit(d.id) & kService)  ? kService
                           : (bit(d.id) & kMethod) ? kMethod
                                                   : bit(d.id);
    if (seen & group) {
      if (group == kService) return Error{"more than one service (-t/-u/-f)"};
      if (group == kMethod) return Error{"more than one forwarding method (-m/-g/-i)"};
      return Error{"option " + opt_display(d.id) + " given twice"};
    }
    seen |= bit(d.id);
    switch (d.id) {
      case kOptTcp:
      case kOptUdp: {
        std::optional<uint16_t> port;
        if (Status st = parse_host_port("service address", arg, cmd.service.vip, port); !st)
          return st;
        cmd.has_service = true;
        cmd.service.proto = d.id == kOptTcp ? Proto::Tcp : Proto::Udp;
        cmd.service.vport = port.value_or(0);
        return {};
      }
      case kOptSched: {
        if (Status st = check_scheduler(arg); !st) return st;
        cmd.has_scheduler = true;
        cmd.scheduler = std::string(arg);
        return {};
      }
      case kOptFlags: {
        Result<uint32_t> flags = parse_sched_flags(arg, &cmd.sched_flags_of);
        if (!flags) return Error{flags.error()};
        cmd.has_sched_flags = true;
        cmd.sched_flags = *flags;
        return {};
      }
      case kOptReal: {
        std::optional<uint16_t> port;
        if (Status st = parse_host_port("real server", arg, cmd.rip, port); !st) return st;
        cmd.has_dest = true;
        rport_given = port.has_value();
        cmd.rport = port.value_or(0);
        return {};
      }
      case kOptMasq:
      case kOptGate:
      case kOptIpip:
        cmd.has_method = true;
        cmd.method = d.id == kOptMasq   ? ForwardMethod::Masq
                     : d.id == kOptGate ? ForwardMethod::Route
                                        : ForwardMethod::Tunnel;
        return {};
      case kOptWeight: {
        const auto w = parse_uint(arg, 65535);
        if (!w) return Error{"bad weight " + quoted(arg) + " (0..65535)"};
        cmd.has_weight = true;
        cmd.weight = static_cast<int32_t>(*w);
        return {};
      }
      case kOptUThresh:
      case kOptLThresh: {
        const auto t = parse_uint(arg, INT_MAX);
        const bool upper = d.id == kOptUThresh;
        if (!t) {
          return Error{std::string("bad ") + (upper ? "upper" : "lower") + " threshold " +
                       quoted(arg) + " (0.." + std::to_string(INT_MAX) + ")"};
        }
        (upper ? cmd.has_u_threshold : cmd.has_l_threshold) = true;
        (upper ? cmd.u_threshold : cmd.l_threshold) = *t;
        return {};
      }
      case kOptNumeric:
        cmd.numeric = true;
        return {};
      case kOptOps:
        cmd.ops = true;
        return {};
      case kOptFwmark: {
        // ipvsadm's parse_fwmark: strtol base 10, 1..UINT_MAX.
        const auto mark = parse_uint(arg, 0xffffffffu);
        if (!mark || *mark == 0)
          return Error{"invalid fwmark value " + quoted(arg) + " specified (1..4294967295)"};
        cmd.has_service = true;
        cmd.service = ServiceKey::of_fwmark(*mark, false);
        return {};
      }
      case kOptIpv6:
        // ipvsadm: "-6 used before -f" (it only makes a fwmark service IPv6).
        if (!cmd.service.is_fwmark())
          return Error{"-6 used before -f (-6 makes a firewall-mark service IPv6)"};
        cmd.service.vip = IpAddr::any(IpAddr::Family::V6);
        return {};
      case kOptPersistent: {
        // ipvsadm's -p takes an optional timeout: none means DEFAULT_TIMEOUT.
        const auto t = arg.empty() ? std::optional<uint32_t>(300) : parse_timeout(arg, 1);
        if (!t) {
          return Error{"bad persistence timeout " + quoted(arg) + " (1.." +
                       std::to_string(kMaxTimeout) + " seconds)"};
        }
        cmd.has_persistent = true;
        cmd.timeout = *t;
        return {};
      }
      case kOptNetmask:
        // Read in finish(), once the service's family is known: a dotted quad for IPv4, a
        // prefix length for IPv6. (ipvsadm reads it by the family of a -t/-u given before it.)
        netmask_arg = std::string(arg);
        cmd.has_netmask = true;
        return {};
      case kOptConn:
        cmd.list_conns = true;
        return {};
      case kOptExact:
        cmd.list_exact = true;
        return {};
      case kOptStats:
        cmd.list_stats = true;
        return {};
      case kOptRate:
        cmd.list_rate = true;
        return {};
      case kOptThresholds:
        cmd.list_thresholds = true;
        return {};
      case kOptPersistConn:
        cmd.list_persistent_conn = true;
        return {};
      case kOptSort:
        return {};  // ipvsadm sorts by default; --sort is kept for old scripts
      case kOptNoSort:
        cmd.list_nosort = true;
        return {};
      case kOptTimeout:
        cmd.list_timeout = true;
        return {};
      case kOptTunType:
        // ipvsadm's parse_tun_type knows ipip, gue and gre ("illegal tunnel type specified").
        if (arg == "gue" || arg == "gre")
          return Error{"--tun-type " + quoted(arg) +
                       " is not supported (fastvsd tunnels with ipip)"};
        if (arg != "ipip") return Error{"bad --tun-type " + quoted(arg) + " (ipip, gue or gre)"};
        return {};
      case kOptDaemon:
        cmd.list_daemon = true;
        return {};
      case kOptMcastIf:
        return set_sync_field(cmd.sync, SyncField::Interface, "--mcast-interface", arg);
      case kOptSyncId:
        return set_sync_field(cmd.sync, SyncField::SyncId, "--syncid", arg);
      case kOptSyncMaxlen:
        return set_sync_field(cmd.sync, SyncField::Maxlen, "--sync-maxlen", arg);
      case kOptMcastGroup:
        return set_sync_field(cmd.sync, SyncField::Group, "--mcast-group", arg);
      case kOptMcastPort:
        return set_sync_field(cmd.sync, SyncField::Port, "--mcast-port", arg);
      case kOptMcastTtl:
        return set_sync_field(cmd.sync, SyncField::Ttl, "--mcast-ttl", arg);
      case kOptTunPort:
        if (!parse_port(arg)) return Error{"bad --tun-port " + quoted(arg) + " (0..65535)"};
        return {};  // refused in finish(), as ipvsadm refuses it with ipip
      case kOptTunNoCsum:
      case kOptTunCsum:
      case kOptTunRemCsum:
        return {};
      case kOptTunInfo:
        cmd.list_tun_info = true;
        return {};
      case kOptCount:
        break;
    }
    return Error{"internal error: option"};
  }

  // ipvsadm's generic_opt_check for its LIST row: -c, a service, --timeout and --daemon
  // exclude each other ('1'), named in its table's order; then its "options conflicts in the
  // list command".
  Status check_list_conflicts() const {
    static constexpr std::array<std::pair<uint64_t, const char*>, 4> kExclusive = {{
        {bit(kOptConn), "connection"},
        {kService, "service-address"},
        {bit(kOptTimeout), "timeout"},
        {bit(kOptDaemon), "daemon"},
    }};
    const char* first = nullptr;
    for (const auto& [b, name] : kExclusive) {
      if (!(seen & b)) continue;
      if (first) {
        return Error{std::string("The option '") + name + "' conflicts with the '" + first +
                     "' option in the 'list' command"};
      }
      first = name;
    }
    const uint64_t table = bit(kOptConn) | bit(kOptTimeout) | bit(kOptDaemon);
    const uint64_t counts = bit(kOptStats) | bit(kOptRate) | bit(kOptThresholds);
    if (((seen & table) && (seen & counts)) ||
        ((seen & (bit(kOptTimeout) | bit(kOptDaemon))) && (seen & bit(kOptPersistConn))))
      return Error{"options conflicts in the list command"};
    return {};
  }

  // Checks done once the whole line is read: options against the command, required options,
  // defaults that depend on other options.
  Status finish() {
    if (!def)
      return Error{
          "no command given (one of -A -E -D -C -a -e -d -L -S -R -Z, --set, --start-daemon, "
          "--stop-daemon)"};
    for (const OptDef& d : kOpts) {
      // -6 comes only after -f, which the command allowed.
      if ((seen & bit(d.id)) && !(def->allowed & bit(d.id)) && d.id != kOptIpv6) {
        return Error{"option " + opt_display(d.id) + " is not allowed with " + cmd_display(*def)};
      }
    }
    if ((def->required & kService) && !(seen & kService)) {
      return Error{cmd_display(*def) + " needs a service: -t|-u ADDR:PORT or -f MARK"};
    }
    if ((def->required & bit(kOptReal)) && !(seen & bit(kOptReal))) {
      return Error{cmd_display(*def) + " needs a real server: -r HOST[:PORT]"};
    }
    if (cmd.has_dest && !rport_given) cmd.rport = cmd.service.vport;
    if (cmd.has_netmask) {
      if (cmd.service.vip.is_v6()) {
        // ipvsadm: "-M netmask ... IPv6 netmasks should be specified as a prefix length
        // between 1 and 128".
        const auto n = parse_uint(netmask_arg, 128);
        if (!n || *n == 0)
          return Error{"bad IPv6 netmask " + quoted(netmask_arg) + " (a prefix length 1..128)"};
        cmd.netmask6 = static_cast<uint8_t>(*n);
      } else {
        // A dotted quad as ipvsadm reads it, or a prefix length as for IPv6 ("-M 24").
        if (const auto len = parse_uint(netmask_arg, 32); len && *len > 0) {
          cmd.netmask = static_cast<uint32_t>(0xffffffffull << (32 - *len));
        } else if (const auto m = parse_ip4(netmask_arg)) {
          cmd.netmask = *m;
        } else {
          return Error{"bad netmask " + quoted(netmask_arg) +
                       " (a dotted quad like 255.255.255.0, or a prefix length 1..32)"};
        }
      }
    }
    // ipvsadm (and the kernel's ip_vs_add_dest since 4.x): "Different address family is
    // allowed only for tunneling servers".
    if ((cmd.op == Op::AddDest || cmd.op == Op::EditDest) && cmd.has_service && cmd.has_dest &&
        cmd.rip.family() != cmd.service.vip.family() &&
        cmd.method_or_default() != ForwardMethod::Tunnel) {
      return Error{"different address family is allowed only for tunneling servers (-i)"};
    }
    // ipvsadm's process_options: "Tunnel options conflict with forward method", then its
    // tunnel_opt_check for ipip (the default type, and fastvs's only one).
    if ((seen & (bit(kOptTunType) | kTunOpts)) && cmd.method_or_default() != ForwardMethod::Tunnel)
      return Error{"Tunnel options conflict with forward method (--tun-* needs -i)"};
    for (const Opt o : {kOptTunPort, kOptTunNoCsum, kOptTunCsum, kOptTunRemCsum}) {
      if (seen & bit(o))
        return Error{"Illegal '" + std::string(kOpts[o].long_name) +
                     "' option with the 'ipip' tunnel type"};
    }
    if (def->op == Op::List) {
      if (Status st = check_list_conflicts(); !st) return st;
    }
    // ipvsadm's process_options, for -A and -E.
    if (cmd.ops && cmd.has_service && !cmd.service.is_fwmark() && cmd.service.proto != Proto::Udp)
      return Error{"One-Packet Scheduling is only for UDP virtual services"};
    if (cmd.has_sched_flags) {
      // -E without -s keeps the service's scheduler: apply_command checks that case.
      if (cmd.has_scheduler || cmd.op == Op::AddService) {
        if (Status st = check_sched_flags(
                cmd.has_scheduler ? std::string_view(cmd.scheduler) : kDefaultScheduler,
                cmd.sched_flags, cmd.sched_flags_of);
            !st)
          return st;
      }
    }
    return {};
  }
};

bool takes_next_as_arg(const std::vector<std::string>& words, size_t next) {
  if (next >= words.size()) return false;
  const std::string& w = words[next];
  // "-w -1" is a bad weight, "-t -s" is a missing argument.
  return !(w.size() > 1 && w[0] == '-' && !(w[1] >= '0' && w[1] <= '9'));
}

// An optional argument (-p [timeout]) is the next word only when it is a number.
bool takes_next_as_optional(const std::vector<std::string>& words, size_t next) {
  return next < words.size() && !words[next].empty() && words[next][0] >= '0' &&
         words[next][0] <= '9';
}

std::string option_usage(const OptDef& d) {
  std::string s = d.short_name ? std::string("-") + d.short_name : std::string("--") + d.long_name;
  if (d.arg == Arg::Required) s += std::string(" ") + d.arg_name;
  if (d.arg == Arg::Optional) s += std::string(" ") + d.arg_name;
  return s;
}

// A command's arguments as its table entry allows them: "-t|-u VIP:PORT -r RIP[:PORT]
// [-g|-m|-i] [-w WEIGHT] ...".
std::string command_usage(const CmdDef& c) {
  if (c.op == Op::SetTimeouts) return "TCP TCPFIN UDP";
  std::string s = c.op == Op::StartDaemon || c.op == Op::StopDaemon ? "master|backup" : "";
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : " ") + part; };
  if (c.allowed & kService) {
    const std::string svc = "-t|-u VIP:PORT|-f MARK [-6]";
    add((c.required & kService) ? svc : "[" + svc + "]");
  }
  if (c.allowed & bit(kOptReal)) add(option_usage(kOpts[kOptReal]));
  if (c.allowed & kMethod) add("[-g|-m|-i]");
  for (const OptDef& d : kOpts) {
    if (!(c.allowed & bit(d.id)) ||
        (bit(d.id) & (kService | kMethod | bit(kOptReal) | bit(kOptIpv6))))
      continue;
    add("[" + option_usage(d) + "]");
  }
  return s;
}

}  // namespace

std::string ipvsadm_command_name(Op op) {
  for (const CmdDef& c : kCmds)
    if (c.op == op) return cmd_display(c);
  return "?";
}

std::string ipvsadm_help() {
  std::string out = "ipvsadm's commands (ipvsadm(8)):\n";
  for (const CmdDef& c : kCmds) {
    if (!*c.help) continue;  // -l: shown with -L
    const std::string usage = command_usage(c);
    std::string names = c.short_name ? std::string("-") + c.short_name + ", " : "";
    if (c.op == Op::List) names = "-L, -l, ";
    names += std::string("--") + c.long_name;
    // The usage, wrapped at 100 columns under itself; the help under it (beside the names when
    // the command takes nothing).
    std::string line = "  " + names + std::string(names.size() < 20 ? 20 - names.size() : 1, ' ');
    if (usage.empty()) {
      out += line + c.help + "\n";
      continue;
    }
    for (size_t start = 0; start < usage.size();) {
      size_t end = usage.find(' ', start);
      if (end == std::string::npos) end = usage.size();
      const std::string word = usage.substr(start, end - start);
      if (line.size() + word.size() + 1 > 100) {
        out += line + "\n";
        line = std::string(22, ' ');
      } else if (line.back() != ' ') {
        line += ' ';
      }
      line += word;
      start = end + 1;
    }
    out += line + "\n";
    out += std::string(22, ' ') + c.help + "\n";
  }
  out += "\nTheir options:\n";
  for (const OptDef& d : kOpts) {
    std::string names = d.short_name ? std::string("-") + d.short_name + ", " : "    ";
    names += std::string("--") + d.long_name;
    if (d.arg != Arg::None) names += std::string(" ") + d.arg_name;
    out +=
        "  " + names + std::string(names.size() < 32 ? 32 - names.size() : 1, ' ') + d.help + "\n";
  }
  out += "\nSchedulers (-s):";
  for (const SchedulerName& s : kSchedulers)
    out += std::string("\n  ") + std::string(s.name) + std::string(6 - s.name.size(), ' ') +
           std::string(s.help);
  out += "\nScheduler flags (-b):";
  for (const SchedFlagName& f : kSchedFlagNames)
    out += std::string("\n  ") + std::string(f.name) + std::string(13 - f.name.size(), ' ') +
           std::string(f.help);
  out += "\nipvsadm's options fastvs does not have yet (refused by name):";
  std::string line = "\n ";
  for (const LaterDef& l : kLater) {
    const std::string name = later_display(l);
    if (line.size() + name.size() > 96) {
      out += line;
      line = "\n ";
    }
    line += " " + name;
  }
  out += line + "\n";
  return out;
}

Result<Command> parse_ipvsadm(const std::vector<std::string>& words) {
  IpvsadmParse p;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    Status err;
    if (w == "-v" || w == "--version")
      return Error{"-v (--version) stands alone: fastvsadm -v prints fastvsadm's version"};
    if (w.size() > 2 && w[0] == '-' && w[1] == '-') {
      std::string_view name = std::string_view(w).substr(2);
      std::optional<std::string_view> inline_arg;
      if (const size_t eq = name.find('='); eq != name.npos) {
        inline_arg = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (name == "version")
        return Error{"-v (--version) stands alone: fastvsadm -v prints fastvsadm's version"};
      bool found = false;
      for (const CmdDef& c : kCmds) {
        if (name != c.long_name) continue;
        found = true;
        if (c.op == Op::SetTimeouts) {
          // --set tcp tcpfin udp: three values, 0 keeps the current one.
          std::vector<std::string_view> vals;
          if (inline_arg) vals.push_back(*inline_arg);
          while (vals.size() < 3 && takes_next_as_arg(words, i + 1)) vals.push_back(words[++i]);
          if (vals.size() < 3) return Error{"--set needs three timeouts: tcp tcpfin udp"};
          uint32_t* out[3] = {&p.cmd.set_timeouts.tcp, &p.cmd.set_timeouts.tcpfin,
                              &p.cmd.set_timeouts.udp};
          const char* names[3] = {"tcp", "tcpfin", "udp"};
          for (int k = 0; k < 3; ++k) {
            const auto t = parse_timeout(vals[k], 0);
            if (!t) {
              return Error{std::string("bad ") + names[k] + " timeout " + quoted(vals[k]) +
                           " (0.." + std::to_string(kMaxTimeout) + " seconds, 0 keeps it)"};
            }
            *out[k] = *t;
          }
          err = p.set_command(c);
          break;
        }
        if (c.op == Op::StartDaemon || c.op == Op::StopDaemon) {
          // The role is the command's argument, as ipvsadm takes it (--start-daemon=master too).
          std::optional<std::string_view> state = inline_arg;
          if (!state && takes_next_as_arg(words, i + 1)) state = words[++i];
          if (!state) return Error{"--" + std::string(name) + " needs a state: master or backup"};
          if (*state != "master" && *state != "backup")
            return Error{"bad sync daemon state " + quoted(*state) + " (master or backup)"};
          p.cmd.sync_is_master = *state == "master";
          err = p.set_command(c);
          break;
        }
        if (inline_arg) return Error{"option --" + std::string(name) + " takes no argument"};
        err = p.set_command(c);
        break;
      }
      for (size_t k = 0; !found && k < kOpts.size(); ++k) {
        const OptDef& d = kOpts[k];
        if (name != d.long_name) continue;
        found = true;
        if (d.arg == Arg::None) {
          if (inline_arg) return Error{"option " + opt_display(d.id) + " takes no argument"};
          err = p.set_option(d, {});
        } else if (inline_arg) {
          err = p.set_option(d, *inline_arg);
        } else if (d.arg == Arg::Optional) {
          err = p.set_option(d, takes_next_as_optional(words, i + 1) ? std::string_view(words[++i])
                                                                     : std::string_view());
        } else if (takes_next_as_arg(words, i + 1)) {
          err = p.set_option(d, words[++i]);
        } else {
          return Error{"option " + opt_display(d.id) + " needs an argument"};
        }
      }
      for (const LaterDef& l : kLater) {
        if (!found && name == l.long_name) {
          return Error{"option " + later_display(l) + " is not supported yet"};
        }
      }
      if (!found) return Error{"unknown option " + quoted("--" + std::string(name))};
    } else if (w.size() > 1 && w[0] == '-') {
      // One or more short options bundled: "-Ln", "-At 10.0.0.1:80", "-w3".
      for (size_t j = 1; j < w.size() && err; ++j) {
        const char c = w[j];
        if (c == 'v')
          return Error{"-v (--version) stands alone: fastvsadm -v prints fastvsadm's version"};
        const auto cmd_it = std::find_if(kCmds.begin(), kCmds.end(),
                                         [c](const CmdDef& d) { return d.short_name == c; });
        if (cmd_it != kCmds.end()) {
          err = p.set_command(*cmd_it);
          continue;
        }
        const auto opt_it = std::find_if(kOpts.begin(), kOpts.end(),
                                         [c](const OptDef& d) { return d.short_name == c; });
        if (opt_it != kOpts.end()) {
          if (opt_it->arg == Arg::None) {
            err = p.set_option(*opt_it, {});
          } else if (j + 1 < w.size()) {
            err = p.set_option(*opt_it, std::string_view(w).substr(j + 1));
            break;
          } else if (opt_it->arg == Arg::Optional) {
            err = p.set_option(*opt_it, takes_next_as_optional(words, i + 1)
                                            ? std::string_view(words[++i])
                                            : std::string_view());
            break;
          } else if (takes_next_as_arg(words, i + 1)) {
            err = p.set_option(*opt_it, words[++i]);
            break;
          } else {
            return Error{"option " + opt_display(opt_it->id) + " needs an argument"};
          }
          continue;
        }
        for (const LaterDef& l : kLater) {
          if (l.short_name == c)
            return Error{"option " + later_display(l) + " is not supported yet"};
        }
        return Error{"unknown option " + quoted(std::string("-") + c)};
      }
    } else {
      return Error{"unexpected argument " + quoted(w)};
    }
    if (!err) return Error{err.error()};
  }
  if (Status st = p.finish(); !st) return Error{st.error()};
  return p.cmd;
}

}  // namespace fastvs::grammar
