// The fastvsadm grammar (ipvsadm's options plus `ip addr|route|neigh`) and the rules for applying
// a command to the configuration model. Everything here is pure: no I/O except
// load_config_file's read, no exceptions, errors are one line of text.
#include "common/command.h"
#include "common/script_user.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace fastvs {

namespace {

// ---------------------------------------------------------------------------------------------
// Small helpers.

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

bool has_letter(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

// Decimal digits only, value <= max.
std::optional<uint32_t> parse_uint(std::string_view s, uint32_t max) {
  if (s.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > max) return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

// True if `word` is a non-empty prefix of `full` (iproute2's matches()).
bool abbrev_of(std::string_view word, std::string_view full) {
  return !word.empty() && word.size() <= full.size() && full.substr(0, word.size()) == word;
}

std::string quoted(std::string_view s) {
  // Appended piece by piece: g++ 12 at -O3 reports a -Wrestrict false positive for
  // "'" + std::string(s) + "'" (GCC bug 105651).
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

std::string port_name(uint16_t port) {
  return "dpdk" + std::to_string(port);
}

std::string addr_port(uint32_t ip, uint16_t port) {
  return format_ip4(ip) + ":" + std::to_string(port);
}

std::string service_name(const ServiceKey& k) {
  return std::string(proto_name(k.proto)) + " " + addr_port(k.vip, k.vport);
}

std::string prefix_name(uint32_t prefix, unsigned len) {
  if (prefix == 0 && len == 0) return "default";
  return format_ip4(prefix) + "/" + std::to_string(len);
}

bool in_subnet(uint32_t ip, uint32_t net, unsigned len) {
  const uint32_t mask = prefix_mask(len);
  return (ip & mask) == (net & mask);
}

// An address an interface, a gateway or a real server may have: not 0.0.0.0, not loopback,
// not multicast or class E, not the limited broadcast.
bool is_unicast_ip(uint32_t ip) {
  const uint32_t first = ip >> 24;
  return ip != 0 && first != 127 && first < 224;
}

// "bad IPv4 address" vs "names are not resolved", for a word that should be an address.
std::string bad_ip(std::string_view what, std::string_view s) {
  if (has_letter(s) && s.find(':') == std::string_view::npos) {
    return std::string(what) + " " + quoted(s) +
           " is not a numeric IPv4 address (host names are not resolved)";
  }
  if (s.find(':') != std::string_view::npos) {
    return std::string(what) + " " + quoted(s) + ": IPv6 is not supported";
  }
  return "bad " + std::string(what) + " " + quoted(s) + " (expected a dotted quad like 10.0.0.1)";
}

// ---------------------------------------------------------------------------------------------
// Schedulers and scheduler flags.

constexpr std::array<std::string_view, 11> kSchedulers = {"rr", "wrr", "lc",  "wlc", "sh", "sed",
                                                          "nq", "fo",  "ovf", "dh",  "mh"};
constexpr std::array<std::string_view, 3> kSchedulersLater = {"lblc", "lblcr", "twos"};
constexpr const char* kDefaultScheduler = "wlc";  // ipvsadm's DEF_SCHED

std::string check_scheduler(std::string_view name) {
  if (std::find(kSchedulers.begin(), kSchedulers.end(), name) != kSchedulers.end()) return "";
  if (std::find(kSchedulersLater.begin(), kSchedulersLater.end(), name) != kSchedulersLater.end()) {
    return "scheduler " + quoted(name) + " is not supported yet";
  }
  return "bad scheduler name " + quoted(name);
}

// ipvsadm's -b names: the scheduler they belong to and the bit (SCHED1 = fallback, SCHED2 =
// port) they set.
struct SchedFlagName {
  std::string_view name;
  std::string_view sched;
  uint32_t bit;
};
constexpr std::array<SchedFlagName, 4> kSchedFlagNames = {{
    {"sh-fallback", "sh", kSchedShFallback},
    {"sh-port", "sh", kSchedShPort},
    {"mh-fallback", "mh", kSchedMhFallback},
    {"mh-port", "mh", kSchedMhPort},
}};
constexpr const char* kKnownFlags = " (known: sh-fallback, sh-port, mh-fallback, mh-port)";

// The names of 'flags' as the scheduler 'sched' calls them, in print_sched_flags' order.
std::string flag_names(uint32_t flags, std::string_view sched) {
  std::string out;
  for (const auto& f : kSchedFlagNames)
    if (f.sched == sched && (flags & f.bit)) out += (out.empty() ? "" : ",") + std::string(f.name);
  return out;
}

// ipvsadm's parse_sched_flags: the sh-* flags belong to the sh scheduler, the mh-* flags to mh.
// 'flags_of' is the scheduler whose names were given.
std::string check_sched_flags(std::string_view scheduler, uint32_t flags,
                              std::string_view flags_of) {
  if (flags == 0 || scheduler == flags_of) return "";
  return "scheduler flag " + quoted(flag_names(flags, flags_of)) + " needs the " +
         std::string(flags_of) + " scheduler, not " + quoted(scheduler);
}

// ---------------------------------------------------------------------------------------------
// ipvsadm's commands and options.

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
  kOptCount,
};

constexpr unsigned bit(Opt o) {
  return 1u << o;
}
constexpr unsigned kService = bit(kOptTcp) | bit(kOptUdp);
constexpr unsigned kMethod = bit(kOptMasq) | bit(kOptGate) | bit(kOptIpip);

enum class Arg : uint8_t { None, Required, Optional };

struct OptDef {
  Opt id;
  char short_name;  // 0: long only
  const char* long_name;
  Arg arg;
};

constexpr std::array<OptDef, kOptCount> kOpts = {{
    {kOptTcp, 't', "tcp-service", Arg::Required},
    {kOptUdp, 'u', "udp-service", Arg::Required},
    {kOptSched, 's', "scheduler", Arg::Required},
    {kOptFlags, 'b', "sched-flags", Arg::Required},
    {kOptReal, 'r', "real-server", Arg::Required},
    {kOptMasq, 'm', "masquerading", Arg::None},
    {kOptGate, 'g', "gatewaying", Arg::None},
    {kOptIpip, 'i', "ipip", Arg::None},
    {kOptWeight, 'w', "weight", Arg::Required},
    {kOptUThresh, 'x', "u-threshold", Arg::Required},
    {kOptLThresh, 'y', "l-threshold", Arg::Required},
    {kOptNumeric, 'n', "numeric", Arg::None},
    {kOptPersistent, 'p', "persistent", Arg::Optional},
    {kOptNetmask, 'M', "netmask", Arg::Required},
    {kOptConn, 'c', "connection", Arg::None},
    {kOptExact, 'X', "exact", Arg::None},
    {kOptStats, 0, "stats", Arg::None},
    {kOptRate, 0, "rate", Arg::None},
    {kOptThresholds, 0, "thresholds", Arg::None},
    {kOptPersistConn, 0, "persistent-conn", Arg::None},
    {kOptSort, 0, "sort", Arg::None},
    {kOptNoSort, 0, "nosort", Arg::None},
    {kOptTimeout, 0, "timeout", Arg::None},
}};

struct CmdDef {
  Op op;
  char short_name;
  const char* long_name;
  unsigned allowed;   // options that may come with the command
  unsigned required;  // kService: one of -t/-u; bit(kOptReal): -r
};

constexpr unsigned kDestOpts =
    kService | bit(kOptReal) | kMethod | bit(kOptWeight) | bit(kOptUThresh) | bit(kOptLThresh);

constexpr unsigned kSvcOpts =
    kService | bit(kOptSched) | bit(kOptFlags) | bit(kOptPersistent) | bit(kOptNetmask);
constexpr unsigned kListOpts =
    kService | bit(kOptNumeric) | bit(kOptConn) | bit(kOptExact) | bit(kOptStats) | bit(kOptRate) |
    bit(kOptThresholds) | bit(kOptPersistConn) | bit(kOptSort) | bit(kOptNoSort) | bit(kOptTimeout);

// ipvsadm's commands_v_options table, restricted to the options fastvs knows.
constexpr std::array<CmdDef, 13> kCmds = {{
    {Op::AddService, 'A', "add-service", kSvcOpts, kService},
    {Op::EditService, 'E', "edit-service", kSvcOpts, kService},
    {Op::DelService, 'D', "delete-service", kService, kService},
    {Op::Clear, 'C', "clear", 0, 0},
    {Op::AddDest, 'a', "add-server", kDestOpts, kService | bit(kOptReal)},
    {Op::EditDest, 'e', "edit-server", kDestOpts, kService | bit(kOptReal)},
    {Op::DelDest, 'd', "delete-server", kService | bit(kOptReal), kService | bit(kOptReal)},
    {Op::List, 'L', "list", kListOpts, 0},
    {Op::List, 'l', "list", kListOpts, 0},
    {Op::Save, 'S', "save", bit(kOptNumeric), 0},
    {Op::Restore, 'R', "restore", 0, 0},
    {Op::Zero, 'Z', "zero", kService, 0},
    {Op::SetTimeouts, 0, "set", 0, 0},
}};

// ipvsadm options fastvs knows about but does not implement: a clearer error than "unknown".
struct LaterDef {
  char short_name;  // 0: long only
  const char* long_name;
};
constexpr std::array<LaterDef, 15> kLater = {{
    {'f', "fwmark-service"},
    {'o', "ops"},
    {'6', "ipv6"},
    {'h', "help"},
    {'v', "version"},
    {0, "daemon"},
    {0, "start-daemon"},
    {0, "stop-daemon"},
    {0, "mcast-interface"},
    {0, "syncid"},
    {0, "pe"},
    {0, "tun-type"},
    {0, "tun-port"},
    {0, "tun-nocsum"},
    {0, "tun-csum"},
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

const CmdDef* cmd_by_op(Op op) {
  for (const CmdDef& c : kCmds) {
    if (c.op == op) return &c;
  }
  return nullptr;
}

std::string later_display(const LaterDef& d) {
  if (d.short_name) return std::string("-") + d.short_name + " (--" + d.long_name + ")";
  return std::string("--") + d.long_name;
}

// HOST[:PORT] for -t/-u/-r. `port` is nullopt when no ":PORT" was given.
std::string parse_host_port(std::string_view what, std::string_view s, uint32_t& ip,
                            std::optional<uint16_t>& port) {
  if (!s.empty() && s.front() == '[') {
    return std::string(what) + " " + quoted(s) + ": IPv6 is not supported";
  }
  std::string_view host = s;
  port.reset();
  const size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    if (s.find(':', colon + 1) != std::string_view::npos) {
      return std::string(what) + " " + quoted(s) + ": IPv6 is not supported";
    }
    host = s.substr(0, colon);
    const std::string_view p = s.substr(colon + 1);
    port = parse_port(p);
    if (!port) {
      if (has_letter(p)) {
        return std::string(what) + " port " + quoted(p) +
               " is not a number (service names are not resolved)";
      }
      return "bad " + std::string(what) + " port " + quoted(p) + " (0..65535)";
    }
  }
  const auto a = parse_ip4(host);
  if (!a) return bad_ip(what, host);
  ip = *a;
  return "";
}

// The state of one ipvsadm command line being parsed.
struct IpvsadmParse {
  Command cmd;
  const CmdDef* def = nullptr;
  unsigned seen = 0;
  bool rport_given = false;

  std::string set_command(const CmdDef& c) {
    if (def) return "multiple commands: " + cmd_display(*def) + " and " + cmd_display(c);
    def = &c;
    cmd.op = c.op;
    return "";
  }

  std::string set_option(const OptDef& d, std::string_view arg) {
    const unsigned group = (bit(d.id) & kService)  ? kService
                           : (bit(d.id) & kMethod) ? kMethod
                                                   : bit(d.id);
    if (seen & group) {
      if (group == kService) return "more than one service address (-t/-u)";
      if (group == kMethod) return "more than one forwarding method (-m/-g/-i)";
      return "option " + opt_display(d.id) + " given twice";
    }
    seen |= bit(d.id);
    switch (d.id) {
      case kOptTcp:
      case kOptUdp: {
        std::optional<uint16_t> port;
        std::string err = parse_host_port("service address", arg, cmd.service.vip, port);
        if (!err.empty()) return err;
        cmd.has_service = true;
        cmd.service.proto = d.id == kOptTcp ? Proto::Tcp : Proto::Udp;
        cmd.service.vport = port.value_or(0);
        return "";
      }
      case kOptSched: {
        std::string err = check_scheduler(arg);
        if (!err.empty()) return err;
        cmd.has_scheduler = true;
        cmd.scheduler = std::string(arg);
        return "";
      }
      case kOptFlags: {
        uint32_t flags = 0;
        std::string_view of, first;
        size_t start = 0;
        while (true) {
          const size_t comma = arg.find(',', start);
          const std::string_view f =
              arg.substr(start, comma == arg.npos ? arg.npos : comma - start);
          if (f.empty()) return "empty scheduler flag in " + quoted(arg) + kKnownFlags;
          auto known = std::find_if(kSchedFlagNames.begin(), kSchedFlagNames.end(),
                                    [&](const SchedFlagName& n) { return n.name == f; });
          if (known == kSchedFlagNames.end()) {
            return "unknown scheduler flag " + quoted(f) + kKnownFlags;
          }
          // One -b serves one scheduler: sh-port with mh-port cannot both be right.
          if (!of.empty() && known->sched != of) {
            return "scheduler flags " + quoted(first) + " and " + quoted(f) +
                   " are for different schedulers";
          }
          if (of.empty()) first = f;
          of = known->sched;
          flags |= known->bit;
          if (comma == arg.npos) break;
          start = comma + 1;
        }
        cmd.has_sched_flags = true;
        cmd.sched_flags = flags;
        cmd.sched_flags_of = std::string(of);
        return "";
      }
      case kOptReal: {
        std::optional<uint16_t> port;
        std::string err = parse_host_port("real server", arg, cmd.rip, port);
        if (!err.empty()) return err;
        cmd.has_dest = true;
        rport_given = port.has_value();
        cmd.rport = port.value_or(0);
        return "";
      }
      case kOptMasq:
      case kOptGate:
      case kOptIpip:
        cmd.has_method = true;
        cmd.method = d.id == kOptMasq   ? ForwardMethod::Masq
                     : d.id == kOptGate ? ForwardMethod::Route
                                        : ForwardMethod::Tunnel;
        return "";
      case kOptWeight: {
        const auto w = parse_uint(arg, 65535);
        if (!w) return "bad weight " + quoted(arg) + " (0..65535)";
        cmd.has_weight = true;
        cmd.weight = static_cast<int32_t>(*w);
        return "";
      }
      case kOptUThresh:
      case kOptLThresh: {
        const auto t = parse_uint(arg, INT_MAX);
        const bool upper = d.id == kOptUThresh;
        if (!t) {
          return std::string("bad ") + (upper ? "upper" : "lower") + " threshold " + quoted(arg) +
                 " (0.." + std::to_string(INT_MAX) + ")";
        }
        (upper ? cmd.has_u_threshold : cmd.has_l_threshold) = true;
        (upper ? cmd.u_threshold : cmd.l_threshold) = *t;
        return "";
      }
      case kOptNumeric:
        cmd.numeric = true;
        return "";
      case kOptPersistent: {
        // ipvsadm's -p takes an optional timeout: none means DEFAULT_TIMEOUT.
        const auto t = arg.empty() ? std::optional<uint32_t>(300) : parse_timeout(arg, 1);
        if (!t) {
          return "bad persistence timeout " + quoted(arg) + " (1.." + std::to_string(kMaxTimeout) +
                 " seconds)";
        }
        cmd.has_persistent = true;
        cmd.timeout = *t;
        return "";
      }
      case kOptNetmask: {
        const auto m = parse_ip4(arg);
        if (!m)
          return "bad netmask " + quoted(arg) + " (expected a dotted quad like 255.255.255.0)";
        cmd.has_netmask = true;
        cmd.netmask = *m;
        return "";
      }
      case kOptConn:
        cmd.list_conns = true;
        return "";
      case kOptExact:
        cmd.list_exact = true;
        return "";
      case kOptStats:
        cmd.list_stats = true;
        return "";
      case kOptRate:
        cmd.list_rate = true;
        return "";
      case kOptThresholds:
        cmd.list_thresholds = true;
        return "";
      case kOptPersistConn:
        cmd.list_persistent_conn = true;
        return "";
      case kOptSort:
        return "";  // ipvsadm sorts by default; --sort is kept for old scripts
      case kOptNoSort:
        cmd.list_nosort = true;
        return "";
      case kOptTimeout:
        cmd.list_timeout = true;
        return "";
      case kOptCount:
        break;
    }
    return "internal error: option";
  }

  // Checks done once the whole line is read: options against the command, required options,
  // defaults that depend on other options.
  std::string finish() {
    if (!def) return "no command given (one of -A -E -D -C -a -e -d -L -S -R -Z)";
    for (const OptDef& d : kOpts) {
      if ((seen & bit(d.id)) && !(def->allowed & bit(d.id))) {
        return "option " + opt_display(d.id) + " is not allowed with " + cmd_display(*def);
      }
    }
    if ((def->required & kService) && !(seen & kService)) {
      return cmd_display(*def) + " needs a service: -t|-u HOST:PORT";
    }
    if ((def->required & bit(kOptReal)) && !(seen & bit(kOptReal))) {
      return cmd_display(*def) + " needs a real server: -r HOST[:PORT]";
    }
    if (cmd.has_dest && !rport_given) cmd.rport = cmd.service.vport;
    if (cmd.has_sched_flags) {
      // -E without -s keeps the service's scheduler: apply_command checks that case.
      if (cmd.has_scheduler || cmd.op == Op::AddService) {
        std::string err = check_sched_flags(
            cmd.has_scheduler ? std::string_view(cmd.scheduler) : kDefaultScheduler,
            cmd.sched_flags, cmd.sched_flags_of);
        if (!err.empty()) return err;
      }
    }
    return "";
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

ParseResult fail(std::string msg) {
  ParseResult r;
  r.error = std::move(msg);
  return r;
}

ParseResult parse_ipvsadm(const std::vector<std::string>& words) {
  IpvsadmParse p;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    std::string err;
    if (w.size() > 2 && w[0] == '-' && w[1] == '-') {
      std::string_view name = std::string_view(w).substr(2);
      std::optional<std::string_view> inline_arg;
      if (const size_t eq = name.find('='); eq != name.npos) {
        inline_arg = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      bool found = false;
      for (const CmdDef& c : kCmds) {
        if (name != c.long_name) continue;
        found = true;
        if (c.op == Op::SetTimeouts) {
          // --set tcp tcpfin udp: three values, 0 keeps the current one.
          std::vector<std::string_view> vals;
          if (inline_arg) vals.push_back(*inline_arg);
          while (vals.size() < 3 && takes_next_as_arg(words, i + 1)) vals.push_back(words[++i]);
          if (vals.size() < 3) return fail("--set needs three timeouts: tcp tcpfin udp");
          uint32_t* out[3] = {&p.cmd.set_timeouts.tcp, &p.cmd.set_timeouts.tcpfin,
                              &p.cmd.set_timeouts.udp};
          const char* names[3] = {"tcp", "tcpfin", "udp"};
          for (int k = 0; k < 3; ++k) {
            const auto t = parse_timeout(vals[k], 0);
            if (!t) {
              return fail(std::string("bad ") + names[k] + " timeout " + quoted(vals[k]) + " (0.." +
                          std::to_string(kMaxTimeout) + " seconds, 0 keeps it)");
            }
            *out[k] = *t;
          }
          err = p.set_command(c);
          break;
        }
        if (inline_arg) return fail("option --" + std::string(name) + " takes no argument");
        err = p.set_command(c);
        break;
      }
      for (size_t k = 0; !found && k < kOpts.size(); ++k) {
        const OptDef& d = kOpts[k];
        if (name != d.long_name) continue;
        found = true;
        if (d.arg == Arg::None) {
          if (inline_arg) return fail("option " + opt_display(d.id) + " takes no argument");
          err = p.set_option(d, {});
        } else if (inline_arg) {
          err = p.set_option(d, *inline_arg);
        } else if (d.arg == Arg::Optional) {
          err = p.set_option(d, takes_next_as_optional(words, i + 1) ? std::string_view(words[++i])
                                                                     : std::string_view());
        } else if (takes_next_as_arg(words, i + 1)) {
          err = p.set_option(d, words[++i]);
        } else {
          return fail("option " + opt_display(d.id) + " needs an argument");
        }
      }
      // -S writes "--tun-type ipip" for every tunnel destination, as ipvsadm 1.31 does, so -R
      // takes it back; IPIP is the only tunnel fastvsd makes.
      if (!found && name == "tun-type") {
        std::string_view v;
        if (inline_arg)
          v = *inline_arg;
        else if (takes_next_as_arg(words, i + 1))
          v = words[++i];
        else
          return fail("option --tun-type needs an argument");
        if (v != "ipip")
          return fail("--tun-type " + quoted(v) + " is not supported (fastvsd tunnels with ipip)");
        found = true;
      }
      for (const LaterDef& l : kLater) {
        if (!found && name == l.long_name) {
          return fail("option " + later_display(l) + " is not supported yet");
        }
      }
      if (!found) return fail("unknown option " + quoted("--" + std::string(name)));
    } else if (w.size() > 1 && w[0] == '-') {
      // One or more short options bundled: "-Ln", "-At 10.0.0.1:80", "-w3".
      for (size_t j = 1; j < w.size() && err.empty(); ++j) {
        const char c = w[j];
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
            return fail("option " + opt_display(opt_it->id) + " needs an argument");
          }
          continue;
        }
        for (const LaterDef& l : kLater) {
          if (l.short_name == c)
            return fail("option " + later_display(l) + " is not supported yet");
        }
        return fail("unknown option " + quoted(std::string("-") + c));
      }
    } else {
      return fail("unexpected argument " + quoted(w));
    }
    if (!err.empty()) return fail(err);
  }
  std::string err = p.finish();
  if (!err.empty()) return fail(err);
  ParseResult r;
  r.ok = true;
  r.cmd = p.cmd;
  return r;
}

// ---------------------------------------------------------------------------------------------
// ip addr | route | neigh.

enum class IpObject { Addr, Route, Neigh };
enum class IpVerb { Add, Del, Show };

const char* object_name(IpObject o) {
  switch (o) {
    case IpObject::Addr:
      return "addr";
    case IpObject::Route:
      return "route";
    case IpObject::Neigh:
      return "neigh";
  }
  return "?";
}

std::string parse_device(std::string_view s, uint16_t& port) {
  if (s.size() > 4 && s.substr(0, 4) == "dpdk" && !(s[4] == '0' && s.size() > 5)) {
    if (const auto n = parse_uint(s.substr(4), 65535)) {
      port = static_cast<uint16_t>(*n);
      return "";
    }
  }
  return "unknown device " + quoted(s) + " (the director's ports are dpdk0, dpdk1, ...)";
}

// IP[/LEN] (LEN defaults to 32), or "default" (0.0.0.0/0) when allow_default.
std::string parse_prefix(std::string_view s, bool allow_default, uint32_t& ip, uint8_t& len) {
  if (allow_default && s == "default") {
    ip = 0;
    len = 0;
    return "";
  }
  std::string_view addr = s;
  len = 32;
  if (const size_t slash = s.find('/'); slash != s.npos) {
    addr = s.substr(0, slash);
    const auto n = parse_uint(s.substr(slash + 1), 32);
    if (!n) return "bad prefix length in " + quoted(s) + " (0..32)";
    len = static_cast<uint8_t>(*n);
  }
  const auto a = parse_ip4(addr);
  if (!a) return bad_ip("address", addr);
  ip = *a;
  return "";
}

ParseResult parse_ip(const std::vector<std::string>& words) {
  size_t i = 1;
  bool stats = false;
  while (i < words.size() && words[i].size() > 1 && words[i][0] == '-') {
    if (words[i] == "-s" || words[i] == "-stats" || words[i] == "-statistics") {
      stats = true;
    } else if (words[i] != "-4") {
      return fail("unsupported ip option " + quoted(words[i]));
    }
    ++i;
  }
  if (i >= words.size()) return fail("ip: missing object (addr, route, neigh or link)");
  IpObject obj;
  const std::string& o = words[i];
  // `ip [-s] link [show]`: the ports and, with -s, their counters and the workers' drops.
  if (abbrev_of(o, "link")) {
    ++i;
    if (i < words.size() && (abbrev_of(words[i], "show") || abbrev_of(words[i], "list"))) ++i;
    if (i < words.size()) return fail("ip link: only 'show' is supported, not " + quoted(words[i]));
    ParseResult r;
    r.ok = true;
    r.cmd.op = Op::LinkShow;
    r.cmd.stats = stats;
    return r;
  }
  if (abbrev_of(o, "address")) {
    obj = IpObject::Addr;
  } else if (abbrev_of(o, "route")) {
    obj = IpObject::Route;
  } else if (abbrev_of(o, "neighbour") || abbrev_of(o, "neighbor")) {
    obj = IpObject::Neigh;
  } else {
    return fail("unknown ip object " + quoted(o) + " (addr, route, neigh or link)");
  }
  ++i;
  const std::string oname = std::string("ip ") + object_name(obj);

  IpVerb verb = IpVerb::Show;
  if (i < words.size()) {
    const std::string& v = words[i];
    if (abbrev_of(v, "add")) {
      verb = IpVerb::Add;
    } else if (abbrev_of(v, "delete")) {
      verb = IpVerb::Del;
    } else if (abbrev_of(v, "show") || abbrev_of(v, "list") || abbrev_of(v, "lst")) {
      verb = IpVerb::Show;
    } else {
      return fail("unknown " + oname + " command " + quoted(v) + " (add, del or show)");
    }
    ++i;
  }
  const char* vname = verb == IpVerb::Add ? " add" : verb == IpVerb::Del ? " del" : " show";
  const std::string what = oname + vname;

  Command cmd;
  bool have_target = false;  // the positional address/prefix
  bool have_via = false;
  bool have_lladdr = false;
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    const bool keyword = w == "dev" || (obj == IpObject::Route && w == "via") ||
                         (obj == IpObject::Neigh && (w == "lladdr" || w == "nud"));
    if (keyword) {
      if (i + 1 >= words.size()) return fail(what + ": " + quoted(w) + " needs an argument");
      const std::string& arg = words[++i];
      if (w == "dev") {
        if (cmd.has_port) return fail(what + ": dev given twice");
        std::string err = parse_device(arg, cmd.port);
        if (!err.empty()) return fail(err);
        cmd.has_port = true;
      } else if (verb == IpVerb::Show) {
        return fail(what + ": unexpected " + quoted(w));
      } else if (w == "via") {
        if (have_via) return fail(what + ": via given twice");
        const auto gw = parse_ip4(arg);
        if (!gw) return fail(bad_ip("gateway", arg));
        if (*gw == 0) return fail("bad gateway 0.0.0.0");
        cmd.via = *gw;
        have_via = true;
      } else if (w == "lladdr") {
        if (verb != IpVerb::Add) return fail(what + ": unexpected 'lladdr'");
        if (have_lladdr) return fail(what + ": lladdr given twice");
        const auto mac = parse_mac(arg);
        if (!mac) return fail("bad lladdr " + quoted(arg) + " (expected aa:bb:cc:dd:ee:ff)");
        cmd.mac = *mac;
        have_lladdr = true;
      } else {  // nud: static neighbours are permanent
        if (verb != IpVerb::Add) return fail(what + ": unexpected 'nud'");
        if (arg != "permanent" && arg != "noarp") {
          return fail("nud state " + quoted(arg) +
                      " is not supported (static neighbours are permanent)");
        }
      }
      continue;
    }
    if (verb == IpVerb::Show) {
      // "ip addr show dpdk0" is "ip addr show dev dpdk0".
      if (cmd.has_port || w.rfind("dpdk", 0) != 0) {
        return fail(what + ": unexpected argument " + quoted(w));
      }
      std::string err = parse_device(w, cmd.port);
      if (!err.empty()) return fail(err);
      cmd.has_port = true;
      continue;
    }
    // A positional word is the address or prefix; iproute2 keywords we do not implement
    // (brd, label, metric, proto, src, table, ...) land here too.
    const bool numeric_start = !w.empty() && w[0] >= '0' && w[0] <= '9';
    if (!numeric_start && !(obj == IpObject::Route && w == "default")) {
      return fail(what + ": unsupported argument " + quoted(w));
    }
    if (have_target) return fail(what + ": unexpected argument " + quoted(w));
    if (obj == IpObject::Neigh) {
      const auto a = parse_ip4(w);
      if (!a) return fail(bad_ip("address", w));
      cmd.ip = *a;
      cmd.prefix_len = 32;
    } else {
      std::string err = parse_prefix(w, obj == IpObject::Route, cmd.ip, cmd.prefix_len);
      if (!err.empty()) return fail(err);
      if (obj == IpObject::Route && (cmd.ip & ~prefix_mask(cmd.prefix_len)) != 0) {
        return fail("invalid prefix " + w + ": host bits set");
      }
    }
    have_target = true;
  }

  switch (obj) {
    case IpObject::Addr:
      cmd.op = verb == IpVerb::Add ? Op::AddrAdd : verb == IpVerb::Del ? Op::AddrDel : Op::AddrShow;
      if (verb != IpVerb::Show) {
        if (!have_target) return fail(what + " needs an address IP/LEN");
        if (!cmd.has_port) return fail(what + " needs dev dpdkN");
      }
      break;
    case IpObject::Route:
      cmd.op = verb == IpVerb::Add   ? Op::RouteAdd
               : verb == IpVerb::Del ? Op::RouteDel
                                     : Op::RouteShow;
      if (verb != IpVerb::Show && !have_target) return fail(what + " needs a prefix (or default)");
      if (verb == IpVerb::Add && !have_via && !cmd.has_port) {
        return fail(what + " needs via GATEWAY or dev dpdkN");
      }
      break;
    case IpObject::Neigh:
      cmd.op = verb == IpVerb::Add   ? Op::NeighAdd
               : verb == IpVerb::Del ? Op::NeighDel
                                     : Op::NeighShow;
      if (verb != IpVerb::Show) {
        if (!have_target) return fail(what + " needs an address");
        if (verb == IpVerb::Add && !have_lladdr) return fail(what + " needs lladdr MAC");
        if (!cmd.has_port) return fail(what + " needs dev dpdkN");
      }
      break;
  }
  ParseResult r;
  r.ok = true;
  r.cmd = cmd;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Applying.

std::string check_port(uint16_t port, unsigned num_ports) {
  if (port < num_ports) return "";
  std::string have;
  if (num_ports == 0) {
    have = "the director has no ports";
  } else if (num_ports == 1) {
    have = "the director has 1 port: dpdk0";
  } else {
    have = "the director has " + std::to_string(num_ports) + " ports: dpdk0.." +
           port_name(static_cast<uint16_t>(num_ports - 1));
  }
  return "no port " + port_name(port) + " (" + have + ")";
}

ServiceConfig* find_service(Config& cfg, const ServiceKey& key) {
  for (ServiceConfig& s : cfg.services) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::vector<DestConfig>::iterator find_dest(ServiceConfig& svc, uint32_t rip, uint16_t rport) {
  return std::find_if(svc.dests.begin(), svc.dests.end(),
                      [&](const DestConfig& d) { return d.rip == rip && d.rport == rport; });
}

bool is_local_address(const Config& cfg, uint32_t ip) {
  return std::any_of(cfg.addrs.begin(), cfg.addrs.end(),
                     [ip](const AddrConfig& a) { return a.ip == ip; });
}

// The port whose address has the longest prefix containing ip (only_port: that port only).
std::optional<uint16_t> connected_port(const Config& cfg, uint32_t ip,
                                       std::optional<uint16_t> only_port = std::nullopt) {
  std::optional<uint16_t> best;
  int best_len = -1;
  for (const AddrConfig& a : cfg.addrs) {
    if (only_port && a.port != *only_port) continue;
    if (in_subnet(ip, a.ip, a.prefix_len) && a.prefix_len > best_len) {
      best = a.port;
      best_len = a.prefix_len;
    }
  }
  return best;
}

// Direct routing rewrites only the MAC addresses: the real server must be on a network the
// director is attached to (the kernel's ip_vs_dr_xmit would route to a gateway's MAC, and the
// gateway would send the packet to the VIP, i.e. back to the director).
std::string check_method_reach(const Config& cfg, ForwardMethod m, uint32_t rip) {
  if (m == ForwardMethod::Route && !connected_port(cfg, rip))
    return "real server " + format_ip4(rip) +
           " is not on a connected network: direct routing (-g) needs it on the director's LAN";
  return "";
}

// Whether the director can reach real server rip by method m: on a connected network or a
// route, and on a connected network for direct routing.
std::string check_reach(const Config& cfg, ForwardMethod m, uint32_t rip) {
  const bool routed = connected_port(cfg, rip) ||
                      std::any_of(cfg.routes.begin(), cfg.routes.end(), [&](const RouteConfig& r) {
                        return in_subnet(rip, r.prefix, r.prefix_len);
                      });
  if (!routed) return "real server " + format_ip4(rip) + " is not on a connected network or route";
  return check_method_reach(cfg, m, rip);
}

// What -a would refuse in `after` (an address or route deleted) must not be left behind: -S
// then -R would not load it back. Names the first real server that `after` strands.
std::string check_stranded(const Config& after, const std::string& what) {
  for (const ServiceConfig& s : after.services) {
    for (const DestConfig& d : s.dests) {
      if (!check_reach(after, d.method, d.rip).empty()) {
        return what + " is needed by real server " + addr_port(d.rip, d.rport) + " of service " +
               service_name(s.key) + " (delete the real server first)";
      }
    }
  }
  return "";
}

std::string check_dest_numbers(int32_t weight, uint32_t u, uint32_t l) {
  if (weight < 0 || weight > 65535) return "bad weight " + std::to_string(weight) + " (0..65535)";
  if (u > INT_MAX) return "bad upper threshold " + std::to_string(u);
  if (l > INT_MAX) return "bad lower threshold " + std::to_string(l);
  // ip_vs_add_dest/ip_vs_edit_dest: -ERANGE, even when the upper threshold is 0 (no limit).
  if (l > u) {
    return "lower threshold " + std::to_string(l) + " is higher than upper threshold " +
           std::to_string(u);
  }
  return "";
}

// -p/-M of -A and -E. ipvsadm sends a service's flags whole, so -E without -p makes the
// service non-persistent, and -p without -M means the whole address (255.255.255.255).
std::string set_persistence(ServiceConfig& s, const Command& cmd) {
  if (cmd.has_netmask && !cmd.has_persistent) return "-M (--netmask) needs -p (--persistent)";
  // ip_vs_schedule: "port zero only supported in persistent services".
  if (s.key.vport == 0 && !cmd.has_persistent) {
    return "port 0 service " + service_name(s.key) + " needs persistence (-p)";
  }
  s.persistent = cmd.has_persistent;
  s.timeout = cmd.has_persistent ? cmd.timeout : 300;
  s.netmask = cmd.has_netmask ? cmd.netmask : 0xffffffffu;
  return "";
}

// -a's new destination, checked against the configuration and `exists` (whether the service
// already has RIP:RPORT), without inserting it: apply_service inserts it at once, a restore
// batches a run of them (ConfigApplier).
template <typename Exists>
std::string make_dest(const Config& cfg, const ServiceConfig& svc, const Command& cmd,
                      Exists&& exists, DestConfig* out) {
  const auto name = [&] { return service_name(cmd.service); };
  // Only NAT can map ports: with -g (ipvsadm's default) and -i the packet reaches the real
  // server unchanged, so a new destination's port is the service's, as ipvsadm sets it.
  const bool unmapped = cmd.method_or_default() != ForwardMethod::Masq;
  const uint16_t rport = unmapped ? svc.key.vport : cmd.rport;
  // A port 0 service sends each connection to the port the client asked for
  // (ip_vs_sched_persist: dport stays the packet's when it is not the service's port).
  if (svc.key.vport == 0 && rport != 0) {
    return "service " + name() + " has port 0: give the real server without a port (each " +
           "connection keeps the port it was made to)";
  }
  const ForwardMethod method = cmd.method_or_default();
  std::string err =
      check_dest_numbers(cmd.has_weight ? cmd.weight : 1, cmd.u_threshold, cmd.l_threshold);
  if (!err.empty()) return err;
  if (exists(cmd.rip, rport)) {
    return "destination " + addr_port(cmd.rip, rport) + " already exists in service " + name();
  }
  if (rport == 0 && svc.key.vport != 0) return "real server port 0 is not valid";
  if (!is_unicast_ip(cmd.rip)) {
    return "real server " + format_ip4(cmd.rip) + " is not a unicast address";
  }
  if (is_local_address(cfg, cmd.rip)) {
    return "real server " + format_ip4(cmd.rip) + " is an address of this director";
  }
  err = check_reach(cfg, method, cmd.rip);
  if (!err.empty()) return err;
  DestConfig d;
  d.rip = cmd.rip;
  d.rport = rport;
  d.method = method;
  d.weight = cmd.has_weight ? cmd.weight : 1;
  d.last_weight = d.weight;
  d.u_threshold = cmd.u_threshold;
  d.l_threshold = cmd.l_threshold;
  *out = d;
  return "";
}

// `svc` is cmd.service's entry in cfg, or null: the caller looked it up (linearly, or in a
// restore's index).
std::string apply_service(Config& cfg, const Command& cmd, ServiceConfig* svc) {
  const auto name_of = [&] { return service_name(cmd.service); };
  switch (cmd.op) {
    case Op::AddService: {
      if (svc) return "service " + name_of() + " already exists";
      ServiceConfig s;
      s.key = cmd.service;
      s.scheduler = cmd.has_scheduler ? cmd.scheduler : kDefaultScheduler;
      s.sched_flags = cmd.has_sched_flags ? cmd.sched_flags : 0;
      std::string err = check_scheduler(s.scheduler);
      if (err.empty()) err = check_sched_flags(s.scheduler, s.sched_flags, cmd.sched_flags_of);
      if (err.empty()) err = set_persistence(s, cmd);
      if (!err.empty()) return err;
      cfg.services.push_back(std::move(s));
      return "";
    }
    case Op::EditService: {
      if (!svc) return "no such service " + name_of();
      // What -s/-b give replaces; -s without -b clears the flags (they belong to the scheduler,
      // and ipvsadm resends them on every -E); neither given keeps both.
      const std::string sched = cmd.has_scheduler ? cmd.scheduler : svc->scheduler;
      const uint32_t flags = cmd.has_sched_flags ? cmd.sched_flags
                             : cmd.has_scheduler ? 0
                                                 : svc->sched_flags;
      // Kept flags are named by the service's own scheduler (the only one that accepts them).
      const std::string_view flags_of = cmd.has_sched_flags ? std::string_view(cmd.sched_flags_of)
                                                            : std::string_view(svc->scheduler);
      ServiceConfig s = *svc;
      std::string err = check_scheduler(sched);
      if (err.empty()) err = check_sched_flags(sched, flags, flags_of);
      if (err.empty()) err = set_persistence(s, cmd);
      if (!err.empty()) return err;
      s.scheduler = sched;
      s.sched_flags = flags;
      *svc = std::move(s);
      return "";
    }
    case Op::DelService:
      if (!svc) return "no such service " + name_of();
      cfg.services.erase(cfg.services.begin() + (svc - cfg.services.data()));
      // Its checks and pool rules go with it.
      std::erase_if(cfg.checks, [&](const CheckConfig& c) { return c.service == cmd.service; });
      std::erase_if(cfg.pools, [&](const PoolConfig& p) { return p.service == cmd.service; });
      return "";
    default:
      break;
  }
  if (!svc) return "no such service " + name_of();
  if (!cmd.has_dest) return "no real server given (-r)";
  if (cmd.op == Op::AddDest) {
    DestConfig d;
    const std::string err = make_dest(
        cfg, *svc, cmd,
        [&](uint32_t ip, uint16_t port) { return find_dest(*svc, ip, port) != svc->dests.end(); },
        &d);
    if (!err.empty()) return err;
    // The kernel's list_add_rcu: a new destination goes to the head of the list.
    svc->dests.insert(svc->dests.begin(), d);
    return "";
  }
  const uint16_t rport = cmd.rport;
  // A port 0 service sends each connection to the port the client asked for
  // (ip_vs_sched_persist: dport stays the packet's when it is not the service's port).
  if (svc->key.vport == 0 && rport != 0) {
    return "service " + name_of() + " has port 0: give the real server without a port (each " +
           "connection keeps the port it was made to)";
  }
  const auto dname = [&] { return addr_port(cmd.rip, rport); };
  auto dest = find_dest(*svc, cmd.rip, rport);
  const bool exists = dest != svc->dests.end();
  switch (cmd.op) {
    case Op::EditDest: {
      if (!exists) return "no such destination " + dname() + " in service " + name_of();
      DestConfig d = *dest;
      if (cmd.has_method) {
        std::string err = check_method_reach(cfg, cmd.method, d.rip);
        if (!err.empty()) return err;
        d.method = cmd.method;
      }
      if (cmd.has_weight) d.weight = cmd.weight;
      // __ip_vs_update_dest: "keep the last_weight with latest non-0 weight".
      if (d.weight != 0) d.last_weight = d.weight;
      if (cmd.has_u_threshold) d.u_threshold = cmd.u_threshold;
      if (cmd.has_l_threshold) d.l_threshold = cmd.l_threshold;
      std::string err = check_dest_numbers(d.weight, d.u_threshold, d.l_threshold);
      if (!err.empty()) return err;
      *dest = d;
      return "";
    }
    case Op::DelDest:
      if (!exists) return "no such destination " + dname() + " in service " + name_of();
      svc->dests.erase(dest);
      std::erase_if(cfg.checks, [&](const CheckConfig& c) {
        return c.service == cmd.service && c.rip == cmd.rip && c.rport == rport;
      });
      return "";
    default:
      break;
  }
  return "internal error: not a service command";
}

std::string apply_addr(Config& cfg, const Command& cmd, unsigned num_ports) {
  if (!cmd.has_port) return "no device given (dev dpdkN)";
  if (std::string err = check_port(cmd.port, num_ports); !err.empty()) return err;
  if (cmd.prefix_len > 32) return "bad prefix length " + std::to_string(cmd.prefix_len);
  const std::string ip = format_ip4(cmd.ip);
  const std::string name = ip + "/" + std::to_string(cmd.prefix_len);
  if (cmd.op == Op::AddrAdd) {
    if (!is_unicast_ip(cmd.ip)) return "invalid interface address " + ip;
    for (const AddrConfig& a : cfg.addrs) {
      if (a.ip == cmd.ip) return "address " + ip + " already exists on " + port_name(a.port);
    }
    // What -a and ip route refuse in one order (a real server or gateway that is ours), the
    // other order must refuse too: -S then -R would not load it back.
    for (const ServiceConfig& s : cfg.services) {
      for (const DestConfig& d : s.dests) {
        if (d.rip == cmd.ip) {
          return "address " + ip + " is real server " + addr_port(d.rip, d.rport) + " of service " +
                 service_name(s.key);
        }
      }
    }
    for (const RouteConfig& r : cfg.routes) {
      if (r.via == cmd.ip) {
        return "address " + ip + " is the gateway of route " + prefix_name(r.prefix, r.prefix_len);
      }
    }
    cfg.addrs.push_back({cmd.ip, cmd.prefix_len, cmd.port});
    return "";
  }
  const auto it = std::find_if(cfg.addrs.begin(), cfg.addrs.end(), [&](const AddrConfig& a) {
    return a.ip == cmd.ip && a.prefix_len == cmd.prefix_len && a.port == cmd.port;
  });
  if (it == cfg.addrs.end()) return "address " + name + " not found on " + port_name(cmd.port);
  // Refuse to strand a static route's gateway (Linux would silently drop the route).
  Config after = cfg;
  after.addrs.erase(after.addrs.begin() + (it - cfg.addrs.begin()));
  for (const RouteConfig& r : cfg.routes) {
    if (r.via != 0 && !connected_port(after, r.via, r.port)) {
      return "address " + name + " is needed by route " + prefix_name(r.prefix, r.prefix_len) +
             " via " + format_ip4(r.via) + " (delete the route first)";
    }
  }
  if (std::string err = check_stranded(after, "address " + name); !err.empty()) return err;
  cfg.addrs = std::move(after.addrs);
  return "";
}

std::string apply_route(Config& cfg, const Command& cmd, unsigned num_ports) {
  if (cmd.prefix_len > 32) return "bad prefix length " + std::to_string(cmd.prefix_len);
  const std::string name = prefix_name(cmd.ip, cmd.prefix_len);
  if ((cmd.ip & ~prefix_mask(cmd.prefix_len)) != 0) {
    return "invalid prefix " + name + ": host bits set";
  }
  if (cmd.has_port) {
    if (std::string err = check_port(cmd.port, num_ports); !err.empty()) return err;
  }
  if (cmd.op == Op::RouteDel) {
    const auto it = std::find_if(cfg.routes.begin(), cfg.routes.end(), [&](const RouteConfig& r) {
      return r.prefix == cmd.ip && r.prefix_len == cmd.prefix_len &&
             (cmd.via == 0 || r.via == cmd.via) && (!cmd.has_port || r.port == cmd.port);
    });
    if (it == cfg.routes.end()) return "no such route " + name;
    Config after = cfg;
    after.routes.erase(after.routes.begin() + (it - cfg.routes.begin()));
    if (std::string err = check_stranded(after, "route " + name); !err.empty()) return err;
    cfg.routes = std::move(after.routes);
    return "";
  }
  RouteConfig route{cmd.ip, cmd.prefix_len, cmd.via, cmd.port};
  if (cmd.via != 0) {
    const std::string gw = format_ip4(cmd.via);
    if (is_local_address(cfg, cmd.via)) return "gateway " + gw + " is an address of this director";
    if (!is_unicast_ip(cmd.via)) return "invalid gateway " + gw;
    const auto port =
        connected_port(cfg, cmd.via, cmd.has_port ? std::optional(cmd.port) : std::nullopt);
    if (!port) {
      if (cmd.has_port) {
        return "gateway " + gw + " is not on a connected network of " + port_name(cmd.port);
      }
      return "gateway " + gw + " is not on a connected network";
    }
    route.port = *port;
  } else if (!cmd.has_port) {
    return "route " + name + " needs via GATEWAY or dev dpdkN";
  }
  for (const RouteConfig& r : cfg.routes) {
    if (r.prefix == cmd.ip && r.prefix_len == cmd.prefix_len) {
      return "route " + name + " already exists";
    }
  }
  cfg.routes.push_back(route);
  return "";
}

std::string apply_neigh(Config& cfg, const Command& cmd, unsigned num_ports) {
  if (!cmd.has_port) return "no device given (dev dpdkN)";
  if (std::string err = check_port(cmd.port, num_ports); !err.empty()) return err;
  const std::string ip = format_ip4(cmd.ip);
  const auto it = std::find_if(cfg.neighs.begin(), cfg.neighs.end(), [&](const NeighConfig& n) {
    return n.ip == cmd.ip && n.port == cmd.port;
  });
  if (cmd.op == Op::NeighDel) {
    if (it == cfg.neighs.end()) return "no neighbour " + ip + " on " + port_name(cmd.port);
    cfg.neighs.erase(it);
    return "";
  }
  if (!is_unicast_ip(cmd.ip)) return "invalid neighbour address " + ip;
  if ((cmd.mac[0] & 1) || cmd.mac == MacAddr{}) {
    return "lladdr " + format_mac(cmd.mac) + " is not a unicast MAC address";
  }
  if (it != cfg.neighs.end()) {
    return "neighbour " + ip + " already exists on " + port_name(cmd.port);
  }
  cfg.neighs.push_back({cmd.ip, cmd.mac, cmd.port});
  return "";
}

}  // namespace

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i >= line.size() || line[i] == '#') break;
    const size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    words.emplace_back(line.substr(start, i - start));
  }
  return words;
}

namespace {

// ---------------------------------------------------------------------------------------------
// --check: health checks (keepalived's checkers, in one line each).

// "6", "6s", "1.5", "500ms": seconds.
std::optional<double> parse_seconds(std::string_view s) {
  double scale = 1;
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    scale = 0.001;
    s.remove_suffix(2);
  } else if (s.size() > 1 && s.back() == 's') {
    s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 20) return std::nullopt;
  char buf[24];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  char* end = nullptr;
  const double v = std::strtod(buf, &end);
  if (end != buf + s.size() || !(v >= 0) || v > 86400 * 31) return std::nullopt;
  return v * scale;
}

// "200", "200-299", "200,301-302".
bool parse_status_codes(std::string_view s, std::vector<StatusRange>* out) {
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string_view part = s.substr(start, comma == s.npos ? s.npos : comma - start);
    const size_t dash = part.find('-');
    const auto lo = parse_uint(part.substr(0, dash), 999);
    const auto hi = dash == part.npos ? lo : parse_uint(part.substr(dash + 1), 999);
    if (!lo || !hi || *lo < 100 || *hi < *lo) return false;
    out->push_back(StatusRange{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)});
    if (comma == s.npos) break;
    start = comma + 1;
  }
  return true;
}

ParseResult parse_check(const std::vector<std::string>& words) {
  static constexpr const char* kUsage = "usage: --check add|del|pool|list (see fastvsadm --help)";
  if (words.size() < 2) return fail(kUsage);
  ParseResult r;
  Command& cmd = r.cmd;
  const std::string& verb = words[1];
  if (verb == "list") {
    if (words.size() > 2) return fail("--check list takes no arguments");
    cmd.op = Op::CheckList;
    r.ok = true;
    return r;
  }
  if (verb == "add") {
    cmd.op = Op::CheckAdd;
  } else if (verb == "del") {
    cmd.op = Op::CheckDel;
  } else if (verb == "pool") {
    cmd.op = Op::CheckPool;
  } else {
    return fail("unknown --check command " + quoted(verb) + " (add, del, pool, list)");
  }
  size_t i = 2;
  // -t|-u SERVICE, then -r RIP[:PORT] for add and del.
  if (i + 1 >= words.size() || (words[i] != "-t" && words[i] != "-u"))
    return fail("--check " + verb + " needs a service: -t|-u HOST:PORT");
  {
    std::optional<uint16_t> port;
    std::string err = parse_host_port("service address", words[i + 1], cmd.service.vip, port);
    if (!err.empty()) return fail(err);
    cmd.has_service = true;
    cmd.service.proto = words[i] == "-t" ? Proto::Tcp : Proto::Udp;
    cmd.service.vport = port.value_or(0);
    i += 2;
  }
  if (cmd.op != Op::CheckPool && i + 1 < words.size() && words[i] == "-r") {
    std::optional<uint16_t> port;
    std::string err = parse_host_port("real server", words[i + 1], cmd.rip, port);
    if (!err.empty()) return fail(err);
    cmd.has_dest = true;
    cmd.rport = port.value_or(cmd.service.vport);
    i += 2;
  }
  if (cmd.op == Op::CheckAdd && !cmd.has_dest)
    return fail("--check add needs a real server: -r HOST[:PORT]");
  CheckSpec& spec = cmd.check.spec;
  bool retry_given = false, dbr_given = false, misc_timeout_given = false, warmup_given = false;
  if (cmd.op == Op::CheckAdd) {
    if (i >= words.size()) return fail("--check add needs a kind: tcp, http or misc");
    std::string kind = words[i++];
    for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (kind == "tcp" || kind == "tcp_check") {
      spec.kind = CheckKind::Tcp;
    } else if (kind == "http" || kind == "http_get") {
      spec.kind = CheckKind::Http;
    } else if (kind == "misc" || kind == "misc_check") {
      spec.kind = CheckKind::Misc;
    } else {
      return fail("unknown check kind " + quoted(kind) + " (tcp, http, misc)");
    }
  }
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    const size_t eq = w.find('=');
    const std::string key = w.substr(0, eq);
    const std::string_view val =
        eq == w.npos ? std::string_view() : std::string_view(w).substr(eq + 1);
    auto need = [&](bool has) { return has == (eq != w.npos); };
    auto bad = [&](const char* what) { return fail("bad " + std::string(what) + " " + quoted(w)); };
    if (cmd.op == Op::CheckPool) {
      if (key == "quorum" && need(true)) {
        const auto v = parse_uint(val, 1u << 30);
        if (!v) return bad("quorum");
        cmd.pool.quorum = *v;
      } else if (key == "hysteresis" && need(true)) {
        const auto v = parse_uint(val, 1u << 30);
        if (!v) return bad("hysteresis");
        cmd.pool.hysteresis = *v;
      } else if (key == "sorry" && need(true)) {
        std::optional<uint16_t> port;
        std::string err = parse_host_port("sorry server", val, cmd.pool.sorry_ip, port);
        if (!err.empty()) return fail(err);
        cmd.pool.has_sorry = true;
        cmd.pool.sorry_port = port.value_or(cmd.service.vport);
      } else if ((key == "masq" || key == "route" || key == "tunnel") && need(false)) {
        cmd.pool.sorry_method = key == "masq"    ? ForwardMethod::Masq
                                : key == "route" ? ForwardMethod::Route
                                                 : ForwardMethod::Tunnel;
      } else if (key == "sorry_inhibit" && need(false)) {
        cmd.pool.sorry_inhibit = true;
      } else {
        return fail("unknown --check pool option " + quoted(w) +
                    " (quorum=N hysteresis=N sorry=IP[:PORT] masq|route|tunnel sorry_inhibit)");
      }
      continue;
    }
    if (cmd.op == Op::CheckDel) return fail("unexpected argument " + quoted(w));
    if (key == "interval" && need(true)) {
      const auto v = parse_seconds(val);
      if (!v || *v <= 0) return bad("interval");
      spec.delay_loop = *v;
    } else if (key == "timeout" && need(true)) {
      const auto v = parse_seconds(val);
      if (!v || *v <= 0) return bad("timeout");
      spec.connect_timeout = *v;
    } else if (key == "retry" && need(true)) {
      const auto v = parse_uint(val, 1000);
      if (!v) return bad("retry");
      spec.retry = *v;
      retry_given = true;
    } else if (key == "delay_before_retry" && need(true)) {
      const auto v = parse_seconds(val);
      if (!v) return bad("delay_before_retry");
      spec.delay_before_retry = *v;
      dbr_given = true;
    } else if (key == "warmup" && need(true)) {
      const auto v = parse_seconds(val);
      if (!v) return bad("warmup");
      spec.warmup = *v;
      warmup_given = true;
    } else if (key == "port" && need(true)) {
      const auto v = parse_uint(val, 65535);
      if (!v || *v == 0) return bad("port");
      spec.connect_port = static_cast<uint16_t>(*v);
    } else if (key == "ip" && need(true)) {
      const auto a = parse_ip4(val);
      if (!a) return bad("ip");
      spec.connect_ip = *a;
    } else if (key == "path" && need(true) && spec.kind == CheckKind::Http) {
      if (val.empty() || val[0] != '/') return bad("path (it starts with /)");
      spec.urls.push_back(HttpUrl{});
      spec.urls.back().path = std::string(val);
    } else if ((key == "status" || key == "digest" || key == "host") && need(true) &&
               spec.kind == CheckKind::Http) {
      if (spec.urls.empty()) return fail(quoted(w) + " comes after the path= it is for");
      HttpUrl& u = spec.urls.back();
      if (key == "status") {
        if (!parse_status_codes(val, &u.status_codes)) return bad("status (e.g. 200,301-302)");
      } else if (key == "digest") {
        if (val.size() != 32 || val.find_first_not_of("0123456789abcdef") != val.npos)
          return bad("digest (32 lowercase hex digits)");
        u.digest = std::string(val);
      } else {
        u.virtualhost = std::string(val);
      }
    } else if (key == "program" && need(true) && spec.kind == CheckKind::Misc) {
      spec.misc_argv = {std::string(val)};
    } else if (key == "arg" && need(true) && spec.kind == CheckKind::Misc) {
      if (spec.misc_argv.empty()) return fail(quoted(w) + " comes after program=");
      spec.misc_argv.emplace_back(val);
    } else if (key == "misc_timeout" && need(true) && spec.kind == CheckKind::Misc) {
      const auto v = parse_seconds(val);
      if (!v || *v <= 0) return bad("misc_timeout");
      spec.misc_timeout = *v;
      misc_timeout_given = true;
    } else if (key == "user" && need(true) && spec.kind == CheckKind::Misc) {
      // user=NAME[:GROUP], keepalived's `user NAME [GROUP]`; resolved when applied.
      const size_t colon = val.find(':');
      spec.user = std::string(val.substr(0, colon));
      spec.group = colon == val.npos ? "" : std::string(val.substr(colon + 1));
      if (spec.user.empty() || (colon != val.npos && spec.group.empty()))
        return bad("user (user=NAME or user=NAME:GROUP)");
    } else if (key == "dynamic" && need(false) && spec.kind == CheckKind::Misc) {
      spec.misc_dynamic = true;
    } else if (key == "alpha" && need(false)) {
      spec.alpha = true;
    } else if (key == "inhibit" && need(false)) {
      cmd.check_inhibit = true;
    } else {
      return fail("unknown option " + quoted(w) + " for a " + check_kind_name(spec.kind) +
                  " check");
    }
  }
  if (cmd.op == Op::CheckAdd) {
    // keepalived's defaults by kind (see common/check_spec.h).
    if (spec.kind == CheckKind::Http) {
      if (spec.urls.empty()) return fail("an http check needs path=/...");
      if (!dbr_given) spec.delay_before_retry = 3;
    }
    if (spec.kind == CheckKind::Misc) {
      if (spec.misc_argv.empty()) return fail("a misc check needs program=PATH");
      if (!retry_given) spec.retry = 0;
      if (!misc_timeout_given) spec.misc_timeout = spec.delay_loop;
      spec.misc_path = spec.misc_argv[0];
      for (size_t k = 1; k < spec.misc_argv.size(); ++k) spec.misc_path += " " + spec.misc_argv[k];
    }
    if (!warmup_given) spec.warmup = spec.delay_loop;
    cmd.check.service = cmd.service;
    cmd.check.rip = cmd.rip;
    cmd.check.rport = cmd.rport;
  }
  cmd.pool.service = cmd.service;
  r.ok = true;
  return r;
}

std::string apply_check(Config& cfg, const Command& cmd) {
  ServiceConfig* svc = find_service(cfg, cmd.service);
  const std::string name = service_name(cmd.service);
  if (!svc) return "no such service " + name;
  auto same_dest = [&](const CheckConfig& c) {
    return c.service == cmd.service && c.rip == cmd.rip && c.rport == cmd.rport;
  };
  switch (cmd.op) {
    case Op::CheckAdd: {
      auto d = find_dest(*svc, cmd.rip, cmd.rport);
      if (d == svc->dests.end())
        return "no such destination " + addr_port(cmd.rip, cmd.rport) + " in service " + name;
      CheckConfig check = cmd.check;
      if (check.spec.kind == CheckKind::Misc) {
        // Who runs the program: user=, else keepalived's default script user if it exists,
        // else root (set_default_script_user).
        std::string err;
        std::optional<ScriptIds> ids =
            check.spec.user.empty()
                ? resolve_script_user(kDefaultScriptUser, "", &err).value_or(ScriptIds{0, 0})
                : resolve_script_user(check.spec.user, check.spec.group, &err);
        if (!ids) return "misc check user: " + err;
        check.spec.uid = ids->uid;
        check.spec.gid = ids->gid;
      }
      if (cmd.check_inhibit) d->inhibit = true;
      cfg.checks.push_back(std::move(check));
      return "";
    }
    case Op::CheckDel: {
      const size_t before = cfg.checks.size();
      if (cmd.has_dest) {
        std::erase_if(cfg.checks, same_dest);
        if (cfg.checks.size() == before)
          return "no checks on " + addr_port(cmd.rip, cmd.rport) + " in service " + name;
        return "";
      }
      const size_t pools = cfg.pools.size();
      std::erase_if(cfg.checks, [&](const CheckConfig& c) { return c.service == cmd.service; });
      std::erase_if(cfg.pools, [&](const PoolConfig& p) { return p.service == cmd.service; });
      if (cfg.checks.size() == before && cfg.pools.size() == pools)
        return "no checks in service " + name;
      return "";
    }
    case Op::CheckPool: {
      if (cmd.pool.has_sorry && !is_unicast_ip(cmd.pool.sorry_ip))
        return "sorry server " + format_ip4(cmd.pool.sorry_ip) + " is not a unicast address";
      std::erase_if(cfg.pools, [&](const PoolConfig& p) { return p.service == cmd.service; });
      cfg.pools.push_back(cmd.pool);
      return "";
    }
    default:
      break;
  }
  return "internal error: not a check command";
}

}  // namespace

ParseResult parse_command(const std::vector<std::string>& words) {
  if (words.empty()) {
    // ipvsadm with no arguments lists the table.
    ParseResult r;
    r.ok = true;
    r.cmd.op = Op::List;
    return r;
  }
  if (words[0] == "ip") return parse_ip(words);
  if (words[0] == "--check") return parse_check(words);
  if (words[0] == "--keepalived-reload") {
    if (words.size() > 2) return fail("usage: --keepalived-reload [FILE]");
    ParseResult r;
    r.ok = true;
    r.cmd.op = Op::KeepalivedReload;
    if (words.size() == 2) {
      if (words[1].empty()) return fail("--keepalived-reload: empty file name");
      r.cmd.path = words[1];
    }
    return r;
  }
  return parse_ipvsadm(words);
}

std::string apply_command(Config& cfg, const Command& cmd, unsigned num_ports) {
  switch (cmd.op) {
    case Op::AddService:
    case Op::EditService:
    case Op::DelService:
    case Op::AddDest:
    case Op::EditDest:
    case Op::DelDest:
      return apply_service(cfg, cmd, find_service(cfg, cmd.service));
    case Op::Clear:
      cfg.services.clear();
      cfg.checks.clear();
      cfg.pools.clear();
      return "";
    case Op::SetTimeouts:
      // ip_vs_set_timeout: a value of 0 leaves that timeout as it is.
      if (cmd.set_timeouts.tcp) cfg.timeouts.tcp = cmd.set_timeouts.tcp;
      if (cmd.set_timeouts.tcpfin) cfg.timeouts.tcpfin = cmd.set_timeouts.tcpfin;
      if (cmd.set_timeouts.udp) cfg.timeouts.udp = cmd.set_timeouts.udp;
      return "";
    case Op::AddrAdd:
    case Op::AddrDel:
      return apply_addr(cfg, cmd, num_ports);
    case Op::RouteAdd:
    case Op::RouteDel:
      return apply_route(cfg, cmd, num_ports);
    case Op::NeighAdd:
    case Op::NeighDel:
      return apply_neigh(cfg, cmd, num_ports);
    case Op::List:
    case Op::Save:
    case Op::Restore:
    case Op::Zero:
      return cmd_display(*cmd_by_op(cmd.op)) + " does not change the configuration";
    case Op::AddrShow:
      return "ip addr show does not change the configuration";
    case Op::RouteShow:
      return "ip route show does not change the configuration";
    case Op::NeighShow:
      return "ip neigh show does not change the configuration";
    case Op::LinkShow:
      return "ip link show does not change the configuration";
    case Op::CheckAdd:
    case Op::CheckDel:
    case Op::CheckPool:
      return apply_check(cfg, cmd);
    case Op::CheckList:
      return "--check list does not change the configuration";
    case Op::KeepalivedReload:
      return "--keepalived-reload is not a configuration command";
  }
  return "internal error: unknown command";
}

LoadResult load_config_text(std::string_view text, std::string_view name, unsigned num_ports) {
  return apply_config_text(Config{}, text, name, num_ports);
}

namespace {

// A file's lines (--config, -R) applied with an index, so that 100,000 lines cost O(lines) and
// not O(lines x services): services by key, and a run of -a lines for one service (what -S
// writes) collected and put at the head of its list at once, in the order one insert at the
// head per line would leave (the kernel's list_add_rcu), instead of moving the list each time.
class ConfigApplier {
 public:
  ConfigApplier(Config& cfg, unsigned num_ports) : cfg_(cfg), num_ports_(num_ports) {}

  std::string apply(const Command& cmd) {
    if (cmd.op == Op::AddDest && cmd.has_dest) {
      if (const std::optional<size_t> i = service_index(cmd.service)) {
        if (run_svc_ != *i) start_run(*i);
        DestConfig d;
        std::string err = make_dest(
            cfg_, cfg_.services[*i], cmd,
            [&](uint32_t ip, uint16_t port) { return run_keys_.count(dest_key(ip, port)) != 0; },
            &d);
        if (!err.empty()) return err;
        run_keys_.insert(dest_key(d.rip, d.rport));
        run_.push_back(d);
        return "";
      }
    }
    flush();
    const size_t before = cfg_.services.size();
    switch (cmd.op) {
      case Op::AddService:
      case Op::EditService:
      case Op::DelService:
      case Op::AddDest:
      case Op::EditDest:
      case Op::DelDest: {
        const std::optional<size_t> i = service_index(cmd.service);
        std::string err = apply_service(cfg_, cmd, i ? &cfg_.services[*i] : nullptr);
        if (err.empty() && cmd.op == Op::AddService) index_[service_key(cmd.service)] = before;
        if (cfg_.services.size() < before) index_valid_ = false;
        return err;
      }
      default: {
        std::string err = apply_command(cfg_, cmd, num_ports_);
        if (cfg_.services.size() != before) index_valid_ = false;  // -C
        return err;
      }
    }
  }

  // Puts the pending run of destinations in place; call once the last line is applied.
  void flush() {
    if (run_svc_ == kNone) return;
    auto& dests = cfg_.services[run_svc_].dests;
    dests.insert(dests.begin(), run_.rbegin(), run_.rend());
    run_.clear();
    run_keys_.clear();
    run_svc_ = kNone;
  }

 private:
  static constexpr size_t kNone = ~size_t{0};
  static uint64_t service_key(const ServiceKey& k) {
    return uint64_t{static_cast<uint8_t>(k.proto)} << 48 | uint64_t{k.vip} << 16 | k.vport;
  }
  static uint64_t dest_key(uint32_t ip, uint16_t port) { return uint64_t{ip} << 16 | port; }

  std::optional<size_t> service_index(const ServiceKey& k) {
    if (!index_valid_) {
      index_.clear();
      for (size_t i = 0; i < cfg_.services.size(); ++i)
        index_[service_key(cfg_.services[i].key)] = i;
      index_valid_ = true;
    }
    const auto it = index_.find(service_key(k));
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }

  void start_run(size_t svc) {
    flush();
    run_svc_ = svc;
    for (const DestConfig& d : cfg_.services[svc].dests) run_keys_.insert(dest_key(d.rip, d.rport));
  }

  Config& cfg_;
  unsigned num_ports_;
  std::unordered_map<uint64_t, size_t> index_;
  bool index_valid_ = false;
  size_t run_svc_ = kNone;
  std::vector<DestConfig> run_;            // in the order of the lines
  std::unordered_set<uint64_t> run_keys_;  // the service's destinations, with the run's
};

}  // namespace

LoadResult apply_config_text(Config base, std::string_view text, std::string_view name,
                             unsigned num_ports) {
  LoadResult result;
  Config work = std::move(base);
  ConfigApplier applier(work, num_ports);
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == text.npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::vector<std::string> words = split_words(line);
    if (words.empty()) continue;
    // Pasted scripts: "ipvsadm -A ...", "fastvsadm ip addr add ...".
    if (words[0] == "fastvsadm" || words[0] == "ipvsadm") words.erase(words.begin());
    std::string err;
    const ParseResult p = parse_command(words);
    if (!p.ok) {
      err = p.error;
    } else {
      err = applier.apply(p.cmd);
    }
    if (!err.empty()) {
      result.error = std::string(name) + ":" + std::to_string(line_no) + ": " + err;
      return result;
    }
  }
  applier.flush();
  result.ok = true;
  result.cfg = std::move(work);
  return result;
}

bool read_text_file(const std::string& path, std::string* text, std::string* err) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *err = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  text->clear();
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text->append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) *err = path + ": read error";
  return !failed;
}

LoadResult load_config_file(const std::string& path, unsigned num_ports) {
  LoadResult result;
  std::string text;
  if (!read_text_file(path, &text, &result.error)) return result;
  return load_config_text(text, path, num_ports);
}

}  // namespace fastvs
