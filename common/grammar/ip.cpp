// `fastvsadm ip ...`: iproute2's forms for the director's own addresses, routes and neighbours
// on its DPDK ports (which the kernel no longer sees), and `ip [-s] link` for the ports. Words
// may be abbreviated as iproute2 allows (matches()).
#include <algorithm>
#include <vector>

#include "common/grammar/grammars.h"
#include "common/grammar/words.h"
#include "common/text.h"

namespace fastvs::grammar {

namespace {

// Every form, for fastvsadm --help; each example must parse (a unit test runs them).
struct IpForm {
  const char* usage;
  const char* help;
  const char* example;
};
constexpr IpForm kIpForms[] = {
    {"ip addr [show [dev] dpdkN]", "the ports' addresses", "ip addr show dev dpdk0"},
    {"ip [-4|-6] addr add|del IP/LEN dev dpdkN", "an address of the director (a VIP, a DIP)",
     "ip addr add 172.16.254.200/24 dev dpdk0"},
    {"ip -6 addr|route|neigh ...", "IPv6 (the family is the address's; no /LEN: /128)",
     "ip -6 addr add 2001:db8::200/64 dev dpdk0"},
    {"ip route [show]", "the routes, static and connected", "ip route"},
    {"ip route add|del PREFIX/LEN|default [via GW] [dev dpdkN]",
     "a static route (link-local GW: dev)", "ip route add default via 172.16.254.1 dev dpdk0"},
    {"ip neigh [show]", "the neighbour tables (ARP's, IPv6's)", "ip neigh"},
    {"ip neigh add IP lladdr MAC dev dpdkN [nud permanent]", "a static neighbour",
     "ip neigh add 192.168.0.18 lladdr 02:00:00:00:00:18 dev dpdk1"},
    {"ip neigh del IP dev dpdkN", "", "ip neigh del 192.168.0.18 dev dpdk1"},
    {"ip [-s] link [show]", "the ports; -s: counters, per worker, drops by reason", "ip -s link"},
};

enum class IpObject { Addr, Route, Neigh };

// An IPv6 address may start with a letter ("fe80::1", "abcd::"): hex digits up to a ':'.
bool hex_start(std::string_view w) {
  for (char c : w) {
    if (c == ':') return true;
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return false;
}
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

// IP[/LEN] (LEN defaults to 32 or 128, the family's whole address), or "default" (0/0 of the
// family -4/-6 asked for; of the gateway's when neither, as iproute2's iproute_modify takes
// the route's family from "via": the caller settles it) when allow_default.
Status parse_prefix(std::string_view s, bool allow_default, IpAddr& ip, uint8_t& len,
                    bool& is_default) {
  is_default = false;
  if (allow_default && s == "default") {
    ip = IpAddr{};
    len = 0;
    is_default = true;
    return {};
  }
  const size_t slash = s.find('/');
  const std::string_view addr = s.substr(0, slash);
  const auto a = fastvs::parse_ip(addr);
  if (!a) return Error{bad_ip("address", addr)};
  std::optional<uint64_t> n;
  if (slash != s.npos) {
    n = parse_uint(s.substr(slash + 1), a->max_prefix());
    if (!n) {
      return Error{"bad prefix length in " + quoted(s) + " (0.." + std::to_string(a->max_prefix()) +
                   ")"};
    }
  }
  ip = *a;
  len = static_cast<uint8_t>(n.value_or(a->max_prefix()));
  return {};
}

const char* family_name(IpAddr::Family f) {
  return f == IpAddr::Family::V4 ? "IPv4" : "IPv6";
}

}  // namespace

Result<Command> parse_ip(const std::vector<std::string>& words) {
  size_t i = 1;
  bool stats = false;
  std::optional<IpAddr::Family> family;  // ip -4 / -6 (iproute2's preferred_family)
  while (i < words.size() && words[i].size() > 1 && words[i][0] == '-') {
    if (words[i] == "-s" || words[i] == "-stats" || words[i] == "-statistics") {
      stats = true;
    } else if (words[i] == "-4") {
      family = IpAddr::Family::V4;
    } else if (words[i] == "-6") {
      family = IpAddr::Family::V6;
    } else {
      return Error{"unsupported ip option " + quoted(words[i])};
    }
    ++i;
  }
  // iproute2 refuses an address of the other family than -4/-6 asked for (get_addr_1).
  const auto check_family = [&](std::string_view w, const IpAddr& a) -> Status {
    if (family && a.family() != *family) {
      return Error{std::string(family_name(*family)) + " address expected (ip " +
                   (*family == IpAddr::Family::V4 ? "-4" : "-6") + ") rather than " + quoted(w)};
    }
    return {};
  };
  if (i >= words.size()) return Error{"ip: missing object (addr, route, neigh or link)"};
  IpObject obj;
  const std::string& o = words[i];
  // `ip [-s] link [show]`: the ports and, with -s, their counters and the workers' drops.
  if (abbrev_of(o, "link")) {
    ++i;
    if (i < words.size() && (abbrev_of(words[i], "show") || abbrev_of(words[i], "list"))) ++i;
    if (i < words.size())
      return Error{"ip link: only 'show' is supported, not " + quoted(words[i])};
    Command cmd;
    cmd.op = Op::LinkShow;
    cmd.stats = stats;
    return cmd;
  }
  if (abbrev_of(o, "address")) {
    obj = IpObject::Addr;
  } else if (abbrev_of(o, "route")) {
    obj = IpObject::Route;
  } else if (abbrev_of(o, "neighbour") || abbrev_of(o, "neighbor")) {
    obj = IpObject::Neigh;
  } else {
    return Error{"unknown ip object " + quoted(o) + " (addr, route, neigh or link)"};
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
      return Error{"unknown " + oname + " command " + quoted(v) + " (add, del or show)"};
    }
    ++i;
  }
  const char* vname = verb == IpVerb::Add ? " add" : verb == IpVerb::Del ? " del" : " show";
  const std::string what = oname + vname;

  Command cmd;
  cmd.ip_family = family;
  bool have_target = false;  // the positional address/prefix
  bool target_default = false;
  bool have_via = false;
  bool have_lladdr = false;
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    const bool keyword = w == "dev" || (obj == IpObject::Route && w == "via") ||
                         (obj == IpObject::Neigh && (w == "lladdr" || w == "nud"));
    if (keyword) {
      if (i + 1 >= words.size()) return Error{what + ": " + quoted(w) + " needs an argument"};
      const std::string& arg = words[++i];
      if (w == "dev") {
        if (cmd.has_port) return Error{what + ": dev given twice"};
        if (Status st = parse_device(arg, cmd.port); !st) return Error{st.error()};
        cmd.has_port = true;
      } else if (verb == IpVerb::Show) {
        return Error{what + ": unexpected " + quoted(w)};
      } else if (w == "via") {
        if (have_via) return Error{what + ": via given twice"};
        const auto gw = fastvs::parse_ip(arg);
        if (!gw) return Error{bad_ip("gateway", arg)};
        if (gw->is_zero()) return Error{"bad gateway " + format_ip(*gw)};
        if (Status st = check_family(arg, *gw); !st) return Error{st.error()};
        cmd.via = *gw;
        have_via = true;
      } else if (w == "lladdr") {
        if (verb != IpVerb::Add) return Error{what + ": unexpected 'lladdr'"};
        if (have_lladdr) return Error{what + ": lladdr given twice"};
        const auto mac = parse_mac(arg);
        if (!mac) return Error{"bad lladdr " + quoted(arg) + " (expected aa:bb:cc:dd:ee:ff)"};
        cmd.mac = *mac;
        have_lladdr = true;
      } else {  // nud: static neighbours are permanent
        if (verb != IpVerb::Add) return Error{what + ": unexpected 'nud'"};
        if (arg != "permanent" && arg != "noarp") {
          return Error{"nud state " + quoted(arg) +
                       " is not supported (static neighbours are permanent)"};
        }
      }
      continue;
    }
    if (verb == IpVerb::Show) {
      // "ip addr show dpdk0" is "ip addr show dev dpdk0".
      if (cmd.has_port || w.rfind("dpdk", 0) != 0) {
        return Error{what + ": unexpected argument " + quoted(w)};
      }
      if (Status st = parse_device(w, cmd.port); !st) return Error{st.error()};
      cmd.has_port = true;
      continue;
    }
    // A positional word is the address or prefix; iproute2 keywords we do not implement
    // (brd, label, metric, proto, src, table, ...) land here too.
    const bool numeric_start = !w.empty() && ((w[0] >= '0' && w[0] <= '9') || w[0] == ':' ||
                                              (w.find(':') != w.npos && hex_start(w)));
    if (!numeric_start && !(obj == IpObject::Route && w == "default")) {
      return Error{what + ": unsupported argument " + quoted(w)};
    }
    if (have_target) return Error{what + ": unexpected argument " + quoted(w)};
    if (obj == IpObject::Neigh) {
      const auto a = fastvs::parse_ip(w);
      if (!a) return Error{bad_ip("address", w)};
      if (Status st = check_family(w, *a); !st) return Error{st.error()};
      cmd.ip = *a;
      cmd.prefix_len = static_cast<uint8_t>(a->max_prefix());
    } else {
      if (Status st =
              parse_prefix(w, obj == IpObject::Route, cmd.ip, cmd.prefix_len, target_default);
          !st)
        return Error{st.error()};
      if (!target_default) {
        if (Status st = check_family(w, cmd.ip); !st) return Error{st.error()};
      }
      if (obj == IpObject::Route && cmd.ip.masked(cmd.prefix_len) != cmd.ip) {
        return Error{"invalid prefix " + w + ": host bits set"};
      }
    }
    have_target = true;
  }
  // "default" is 0.0.0.0/0 or ::/0: the family -4/-6 named, else the gateway's.
  if (target_default) {
    const auto f = family ? *family : cmd.via.family();
    cmd.ip = IpAddr::any(f);
  }
  if (obj == IpObject::Route && have_target && !cmd.via.is_zero() &&
      cmd.via.family() != cmd.ip.family()) {
    return Error{what + ": gateway " + format_ip(cmd.via) + " is not of the family of " +
                 prefix_name(cmd.ip, cmd.prefix_len)};
  }

  switch (obj) {
    case IpObject::Addr:
      cmd.op = verb == IpVerb::Add ? Op::AddrAdd : verb == IpVerb::Del ? Op::AddrDel : Op::AddrShow;
      if (verb != IpVerb::Show) {
        if (!have_target) return Error{what + " needs an address IP/LEN"};
        if (!cmd.has_port) return Error{what + " needs dev dpdkN"};
      }
      break;
    case IpObject::Route:
      cmd.op = verb == IpVerb::Add   ? Op::RouteAdd
               : verb == IpVerb::Del ? Op::RouteDel
                                     : Op::RouteShow;
      if (verb != IpVerb::Show && !have_target) return Error{what + " needs a prefix (or default)"};
      if (verb == IpVerb::Add && !have_via && !cmd.has_port) {
        return Error{what + " needs via GATEWAY or dev dpdkN"};
      }
      break;
    case IpObject::Neigh:
      cmd.op = verb == IpVerb::Add   ? Op::NeighAdd
               : verb == IpVerb::Del ? Op::NeighDel
                                     : Op::NeighShow;
      if (verb != IpVerb::Show) {
        if (!have_target) return Error{what + " needs an address"};
        if (verb == IpVerb::Add && !have_lladdr) return Error{what + " needs lladdr MAC"};
        if (!cmd.has_port) return Error{what + " needs dev dpdkN"};
      }
      break;
  }
  return cmd;
}

std::string ip_help() {
  std::string out =
      "The director's own addresses, routes and neighbours on its DPDK ports (iproute2's "
      "forms):\n";
  for (const IpForm& f : kIpForms) {
    const std::string usage = f.usage;
    out += "  " + usage;
    if (*f.help) {
      // The help beside the form, or under it when both do not fit in 100 columns.
      if (std::max<size_t>(usage.size(), 56) + 2 + std::string(f.help).size() > 100)
        out += "\n" + std::string(6, ' ') + f.help;
      else
        out += std::string(usage.size() < 56 ? 56 - usage.size() : 1, ' ') + f.help;
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> ip_examples() {
  std::vector<std::string> out;
  for (const IpForm& f : kIpForms) out.emplace_back(f.example);
  return out;
}

}  // namespace fastvs::grammar
