// `fastvsadm iptables|ip6tables -t mangle ...`: the rules that give packets the firewall marks
// of firewall-mark services (ipvsadm -f), in iptables' own words, since the DPDK ports have no
// netfilter. The subset LVS guides write, and nothing else: the mangle table's PREROUTING chain,
// -A -I -D -L -S -F, matches -p -s -d -i, --sport/--dport (the tcp and udp matches) and
// -m multiport --sports/--dports, and -j MARK --set-mark. Anything else is refused by name.
#include <algorithm>

#include "common/grammar/grammars.h"
#include "common/grammar/words.h"
#include "common/text.h"

namespace fastvs::grammar {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == s.npos ? s.npos : end - start));
    if (end == s.npos) return out;
    start = end + 1;
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Every form, for fastvsadm --help; each example must parse (a unit test runs them).
struct IptForm {
  const char* usage;
  const char* help;
  const char* example;
};
constexpr IptForm kIptForms[] = {
    {"iptables -t mangle -A|-I PREROUTING [N] RULE -j MARK --set-mark MARK",
     "mark packets for the firewall-mark service -f MARK",
     "iptables -t mangle -A PREROUTING -p tcp -d 172.16.254.200/32 -m multiport --dports "
     "80,443 -j MARK --set-mark 80"},
    {"iptables -t mangle -D PREROUTING RULE -j MARK --set-mark MARK | N",
     "delete a rule (the same rule, or its number)", "iptables -t mangle -D PREROUTING 1"},
    {"iptables -t mangle -C PREROUTING RULE -j MARK --set-mark MARK",
     "whether the rule is there (exit 0, else 1)", nullptr},
    {"iptables -t mangle -L|-S|-F [PREROUTING]",
     "list (-n, --line-numbers), print as iptables -S does, flush", "iptables -t mangle -S"},
    {"  RULE: [-p tcp|udp|all] [-s ADDR[/LEN]] [-d ADDR[/LEN]] [-i dpdkN] [--sport P[:Q]]",
     "the matches: the last rule that matches sets the mark", nullptr},
    {"        [--dport P[:Q]] [-m multiport --sports|--dports P,Q:R,...]",
     "ports need -p tcp or -p udp", nullptr},
    {"ip6tables -t mangle ...", "the same for IPv6 packets (-f MARK -6 services)",
     "ip6tables -t mangle -A PREROUTING -p tcp -d 2001:db8::200 --dport 80 -j MARK "
     "--set-mark 6"},
};

// ADDR[/LEN] or ADDR/MASK (a dotted quad of contiguous ones, as iptables takes): the family the
// command's is.
Status parse_net(std::string_view what, std::string_view s, bool v6, IpAddr& ip, uint8_t& len) {
  const size_t slash = s.find('/');
  const std::string_view addr = s.substr(0, slash);
  const auto a = fastvs::parse_ip(addr);
  if (!a) return Error{bad_ip(what, addr)};
  if (a->is_v6() != v6) {
    return Error{std::string(what) + " " + quoted(s) + " is " + (v6 ? "IPv4" : "IPv6") +
                 (v6 ? ": ip6tables takes IPv6 addresses" : ": use ip6tables for IPv6")};
  }
  unsigned n = a->max_prefix();
  if (slash != s.npos) {
    const std::string_view m = s.substr(slash + 1);
    if (const auto l = parse_uint(m, a->max_prefix())) {
      n = static_cast<unsigned>(*l);
    } else if (const auto q = v6 ? std::nullopt : parse_ip4(m); q) {
      // Contiguous ones only: iptables' "Invalid mask" otherwise.
      const uint32_t mask = *q;
      n = static_cast<unsigned>(__builtin_popcount(mask));
      if (prefix_mask(n) != mask) return Error{"bad mask " + quoted(m) + " (contiguous ones)"};
    } else {
      return Error{"bad " + std::string(what) + " prefix length " + quoted(m) + " (0.." +
                   std::to_string(a->max_prefix()) + ")"};
    }
  }
  len = static_cast<uint8_t>(n);
  ip = a->masked(n);
  return {};
}

// A port as xtables_parse_port reads one: a number, or a name of the services database.
std::optional<uint16_t> port_of(std::string_view s) {
  if (const auto p = parse_port(s)) return p;
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return std::nullopt;
  return service_port(s);
}

// P or P:Q (P: is P..65535, :Q is 0..Q), as xtables_parse_port ranges.
std::optional<std::pair<uint16_t, uint16_t>> parse_range(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == s.npos) {
    const auto p = port_of(s);
    if (!p) return std::nullopt;
    return std::pair{*p, *p};
  }
  const std::string_view a = s.substr(0, colon), b = s.substr(colon + 1);
  const auto lo = a.empty() ? std::optional<uint16_t>(0) : port_of(a);
  const auto hi = b.empty() ? std::optional<uint16_t>(65535) : port_of(b);
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return std::pair{*lo, *hi};
}

// multiport's list: up to 15 ports, a range counting two (XT_MULTI_PORTS).
Status parse_port_list(std::string_view opt, std::string_view s,
                       std::vector<std::pair<uint16_t, uint16_t>>& out) {
  unsigned slots = 0;
  for (const std::string_view part : split(s, ',')) {
    const auto r = parse_range(part);
    if (!r)
      return Error{"bad port " + quoted(part) + " in " + std::string(opt) +
                   " (0..65535, a service name, or P:Q)"};
    slots += r->first == r->second ? 1 : 2;
    out.push_back(*r);
  }
  if (slots > 15)
    return Error{std::string(opt) +
                 ": too many ports specified (multiport's 15, a range counts two)"};
  return {};
}

enum class IptCmd { None, Append, Insert, Delete, Check, List, Save, Flush };

struct IptParse {
  Command cmd;
  IptCmd which = IptCmd::None;
  bool table_given = false, proto_given = false, multiport = false, target = false;
  bool have_sport = false, have_dport = false, mark_given = false;
  std::string tool;
  std::string seen = " ";  // the options given once, as iptables allows them

  Status set(IptCmd c, Op op) {
    if (which != IptCmd::None)
      return Error{tool + ": one command at a time (-A -I -D -C -L -S -F)"};
    which = c;
    cmd.op = op;
    return {};
  }
  // iptables' "multiple -p flags not allowed" (and MARK's "can only be used once").
  Status once(const std::string& flag) {
    if (seen.find(" " + flag + " ") != std::string::npos) {
      if (flag == "--set-mark")
        return Error{tool + ": MARK: option \"--set-mark\" can only be used once."};
      return Error{tool + ": multiple " + flag + " flags not allowed"};
    }
    seen += flag + " ";
    return {};
  }
};

bool is_option(std::string_view w) {
  return w.size() > 1 && w[0] == '-';
}

}  // namespace

Result<Command> parse_iptables(const std::vector<std::string>& line) {
  IptParse p;
  p.tool = line[0];
  // getopt_long's --option=value is --option value.
  std::vector<std::string> words;
  for (const std::string& w : line) {
    const size_t eq = w.find('=');
    if (w.size() > 2 && w[0] == '-' && w[1] == '-' && eq != std::string::npos) {
      words.push_back(w.substr(0, eq));
      words.push_back(w.substr(eq + 1));
    } else {
      words.push_back(w);
    }
  }
  MarkRule& r = p.cmd.mark_rule;
  r.v6 = line[0] == "ip6tables";
  if (r.v6) r.src = r.dst = IpAddr::any(IpAddr::Family::V6);
  const auto need = [&](size_t i, std::string_view opt) -> Result<std::string_view> {
    if (i + 1 >= words.size() || words[i + 1].empty())
      return Error{p.tool + ": option " + std::string(opt) + " needs an argument"};
    return std::string_view(words[i + 1]);
  };
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    Status st;
    if (w == "!") return Error{p.tool + ": negation ('!') is not supported by fastvsadm"};
    if (w == "-t" || w == "--table") {
      auto a = need(i, w);
      if (!a) return Error{a.error()};
      if (!(st = p.once("-t"))) return Error{st.error()};
      ++i;
      if (*a != "mangle")
        return Error{p.tool + ": table " + quoted(*a) +
                     " is not supported: fastvsadm has the mangle table's PREROUTING chain alone "
                     "(the firewall marks of -f services)"};
      p.table_given = true;
      continue;
    }
    IptCmd c = IptCmd::None;
    Op op = Op::MarkList;
    if (w == "-A" || w == "--append") c = IptCmd::Append, op = Op::MarkAdd;
    if (w == "-I" || w == "--insert") c = IptCmd::Insert, op = Op::MarkAdd;
    if (w == "-D" || w == "--delete") c = IptCmd::Delete, op = Op::MarkDel;
    if (w == "-C" || w == "--check") c = IptCmd::Check, op = Op::MarkCheck;
    if (w == "-L" || w == "--list") c = IptCmd::List, op = Op::MarkList;
    if (w == "-S" || w == "--list-rules") c = IptCmd::Save, op = Op::MarkSave;
    if (w == "-F" || w == "--flush") c = IptCmd::Flush, op = Op::MarkFlush;
    if (c != IptCmd::None) {
      if (!(st = p.set(c, op))) return Error{st.error()};
      const bool chain_required =
          c == IptCmd::Append || c == IptCmd::Insert || c == IptCmd::Delete || c == IptCmd::Check;
      if (i + 1 < words.size() && !is_option(words[i + 1])) {
        const std::string& chain = words[++i];
        if (chain != "PREROUTING")
          return Error{p.tool + ": chain " + quoted(chain) +
                       " is not supported: fastvsadm marks packets in PREROUTING alone"};
        p.cmd.mark_chain = true;
        // -I CHAIN [N], -D CHAIN N.
        if ((c == IptCmd::Insert || c == IptCmd::Delete) && i + 1 < words.size() &&
            !is_option(words[i + 1])) {
          const auto n = parse_uint(words[i + 1], 1u << 20);
          if (!n || *n == 0)
            return Error{p.tool + ": Invalid rule number `" + excerpt(words[i + 1]) + "'"};
          p.cmd.rule_num = static_cast<uint32_t>(*n);
          ++i;
        }
      } else if (chain_required) {
        return Error{p.tool + ": " + w + " needs a chain: PREROUTING"};
      }
      if (c == IptCmd::Insert && p.cmd.rule_num == 0) p.cmd.rule_num = 1;
      if (c == IptCmd::Append) p.cmd.rule_num = 0;
      continue;
    }
    if (w == "-n" || w == "--numeric") {
      p.cmd.numeric = true;
      continue;
    }
    if (w == "--line-numbers") {
      p.cmd.list_line_numbers = true;
      continue;
    }
    if (w == "-w" || w == "--wait") {
      // The xtables lock: fastvsd applies one change at a time, there is none to wait for.
      if (i + 1 < words.size() && parse_uint(words[i + 1], 1u << 30)) ++i;
      continue;
    }
    if (w == "-p" || w == "--protocol") {
      auto a = need(i, w);
      if (!a) return Error{a.error()};
      if (!(st = p.once("-p"))) return Error{st.error()};
      ++i;
      const std::string v = lower(*a);
      if (v == "tcp" || v == "6")
        r.proto = 6;
      else if (v == "udp" || v == "17")
        r.proto = 17;
      else if (v == "all" || v == "0")
        r.proto = 0;
      else
        return Error{p.tool + ": protocol " + quoted(*a) +
                     " is not supported (tcp, udp or all: the protocols of -f services)"};
      p.proto_given = true;
      continue;
    }
    if (w == "-s" || w == "--source" || w == "--src" || w == "-d" || w == "--destination" ||
        w == "--dst") {
      auto a = need(i, w);
      if (!a) return Error{a.error()};
      ++i;
      const bool src = w == "-s" || w == "--source" || w == "--src";
      if (!(st = p.once(src ? "-s" : "-d"))) return Error{st.error()};
      if (!(st = parse_net(src ? "source" : "destination", *a, r.v6, src ? r.src : r.dst,
                           src ? r.src_len : r.dst_len)))
        return Error{p.tool + ": " + st.error()};
      continue;
    }
    if (w == "-i" || w == "--in-interface") {
      auto a = need(i, w);
      if (!a) return Error{a.error()};
      if (!(st = p.once("-i"))) return Error{st.error()};
      ++i;
      uint16_t port = 0;
      if (!(st = parse_device(*a, port))) return Error{p.tool + ": " + st.error()};
      r.in_port = port;
      continue;
    }
    if (w == "-m" || w == "--match") {
      auto a = need(i, w);
      if (!a) return Error{a.error()};
      ++i;
      if (*a == "multiport") {
        p.multiport = true;
      } else if (*a == "tcp" || *a == "udp") {
        // The protocol's own match, which --sport/--dport load anyway.
        if (r.proto != (*a == "tcp" ? 6 : 17))
          return Error{p.tool + ": -m " + std::string(*a) + " needs -p " + std::string(*a) +
                       " before it"};
        r.proto_match = true;
      } else {
        return Error{p.tool + ": match " + quoted(*a) + " is not supported (tcp, udp, multiport)"};
      }
      continue;
    }
    const bool sport = w == "--sport" || w == "--source-port";
    const bool dport = w == "--dport" || w == "--destination-port";
    const bool sports = w == "--sports" || w == "--source-ports";
    const bool dports = w == "--dports" || w == "--destination-ports";
    if (sport || dport || sports || dports) {
      auto a = need(i, w);
      if (!a) return Error{a.error()};
      ++i;
      if (r.proto != 6 && r.proto != 17)
        return Error{p.tool + ": " + w + " needs -p tcp or -p udp before it"};
      if ((sports || dports) && !p.multiport)
        return Error{p.tool + ": " + w + " needs -m multiport before it"};
      if ((sports && p.have_dport && r.dport_multi) || (dports && p.have_sport && r.sport_multi))
        return Error{p.tool + ": multiport can only have one option (--sports or --dports)"};
      bool& have = sport || sports ? p.have_sport : p.have_dport;
      if (have)
        return Error{p.tool + ": " +
                     (sport || sports ? std::string("source") : std::string("destination")) +
                     " ports given twice"};
      have = true;
      auto& list = sport || sports ? r.sports : r.dports;
      (sport || sports ? r.sport_multi : r.dport_multi) = sports || dports;
      if (sports || dports) {
        if (!(st = parse_port_list(w, *a, list))) return Error{p.tool + ": " + st.error()};
      } else {
        const auto range = parse_range(*a);
        if (!range)
          return Error{p.tool + ": bad port " + quoted(*a) + " (0..65535, a service name, or P:Q)"};
        r.proto_match = true;
        // 0:65535 is no condition: the rule is the one without it (as iptables stores it).
        if (*range != std::pair<uint16_t, uint16_t>{0, 65535}) list.push_back(*range);
      }
      continue;
    }
    if (w == "--ports")
      return Error{p.tool + ": multiport's --ports is not supported (--sports or --dports)"};
    if (w == "-j" || w == "--jump") {
      auto a = need(i, w);
      if (!a) return Error{a.error()};
      if (!(st = p.once("-j"))) return Error{st.error()};
      ++i;
      if (*a != "MARK")
        return Error{p.tool + ": target " + quoted(*a) +
                     " is not supported: fastvsadm's rules set firewall marks (-j MARK)"};
      p.target = true;
      continue;
    }
    if (w == "--set-mark" || w == "--set-xmark") {
      auto a = need(i, w);
      if (!a) return Error{a.error()};
      ++i;
      if (!p.target) return Error{p.tool + ": " + w + " needs -j MARK before it"};
      if (!(st = p.once("--set-mark"))) return Error{st.error()};
      p.mark_given = true;
      // VALUE[/MASK]: a mask other than all ones would keep bits of a mark the packet had,
      // and packets here have none.
      const std::string_view v = *a;
      const size_t slash = v.find('/');
      const auto mark = parse_uint_base0(v.substr(0, slash));
      if (!mark) return Error{p.tool + ": bad mark " + quoted(v) + " (0..0xffffffff)"};
      if (slash != v.npos) {
        const auto mask = parse_uint_base0(v.substr(slash + 1));
        if (!mask || *mask != 0xffffffffu)
          return Error{p.tool + ": mark mask " + quoted(v.substr(slash + 1)) +
                       " is not supported (the whole mark: 0xffffffff)"};
      }
      r.mark = *mark;
      continue;
    }
    if (w == "-v" || w == "--verbose")
      return Error{p.tool + ": -v is not supported (fastvsadm's rules keep no counters)"};
    if (is_option(w)) return Error{p.tool + ": option " + quoted(w) + " is not supported"};
    return Error{p.tool + ": unexpected argument " + quoted(w)};
  }
  if (p.which == IptCmd::None)
    return Error{p.tool + ": no command given (-A, -I, -D, -C, -L, -S or -F)"};
  if (!p.table_given)
    return Error{p.tool +
                 ": give -t mangle (fastvsadm marks packets in the mangle table's "
                 "PREROUTING chain)"};
  const bool has_match = p.proto_given || r.src_len || r.dst_len || r.in_port ||
                         !r.sports.empty() || !r.dports.empty() || p.target;
  const bool rule_cmd = p.which == IptCmd::Append || p.which == IptCmd::Insert ||
                        p.which == IptCmd::Check ||
                        (p.which == IptCmd::Delete && p.cmd.rule_num == 0);
  if (rule_cmd) {
    if (!p.target) return Error{p.tool + ": a rule needs -j MARK --set-mark MARK"};
    // (--set-mark 0 clears the mark: a later rule that exempts what an earlier one marked.)
    if (!p.mark_given) return Error{p.tool + ": MARK target: Parameter --set-mark is required"};
    if (p.multiport && r.sports.empty() && r.dports.empty())
      return Error{p.tool + ": -m multiport needs --sports or --dports"};
  } else if (has_match || p.multiport) {
    return Error{p.tool + ": a rule's options go with -A, -I, -D or -C only"};
  }
  if ((p.cmd.numeric || p.cmd.list_line_numbers) && p.which != IptCmd::List)
    return Error{p.tool + ": -n and --line-numbers go with -L only"};
  return p.cmd;
}

std::string iptables_help() {
  std::string out = "Firewall marks for -f services, in iptables' words (the mangle table):\n";
  for (const IptForm& f : kIptForms)
    out += "  " + std::string(f.usage) + "\n      " + f.help + "\n";
  return out;
}

std::vector<std::string> iptables_examples() {
  std::vector<std::string> out;
  for (const IptForm& f : kIptForms)
    if (f.example) out.emplace_back(f.example);
  return out;
}

}  // namespace fastvs::grammar
