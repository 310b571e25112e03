#include "control/report/iptables_print.h"

#include <array>

#include <fmt/core.h>

#include "control/report/ipvsadm_print.h"

namespace fastvs {

namespace {

constexpr std::array<const char*, 5> kChains = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT",
                                                "POSTROUTING"};

bool full_range(const std::pair<uint16_t, uint16_t>& r) {
  return r.first == 0 && r.second == 65535;
}

std::string range_text(const std::pair<uint16_t, uint16_t>& r) {
  return r.first == r.second ? std::to_string(r.first) : fmt::format("{}:{}", r.first, r.second);
}

// print_ip: "ADDR/LEN", nothing for 0/0.
void save_addr(std::string& out, const char* opt, const IpAddr& a, uint8_t len) {
  if (len == 0) return;
  out += fmt::format(" {} {}/{}", opt, format_ip(a), len);
}

const char* proto_name(uint8_t p) {
  return p == 6 ? "tcp" : p == 17 ? "udp" : "all";
}

// multiport's save1 and print1 lists: "80,443", ranges "1:5".
std::string port_list(const std::vector<std::pair<uint16_t, uint16_t>>& ports, uint8_t proto,
                      bool numeric) {
  std::string out;
  const Proto pr = proto == 17 ? Proto::Udp : Proto::Tcp;
  const auto name = [&](uint16_t p) {
    return numeric ? std::to_string(p) : port_to_anyname(p, pr);
  };
  for (size_t i = 0; i < ports.size(); ++i) {
    if (i) out += ',';
    out += name(ports[i].first);
    if (ports[i].first != ports[i].second) out += ":" + name(ports[i].second);
  }
  return out;
}

// xtables_ipmask_to_numeric after the address: "" for a whole address, else "/LEN".
std::string list_addr(const IpAddr& a, uint8_t len, bool numeric) {
  if (len == 0 && !numeric) return "anywhere";
  if (len == a.max_prefix()) return format_ip(a);
  return fmt::format("{}/{}", format_ip(a), len);
}

}  // namespace

std::string mark_rule_text(const MarkRule& r) {
  std::string out;
  save_addr(out, "-s", r.src, r.src_len);
  save_addr(out, "-d", r.dst, r.dst_len);
  if (r.in_port) out += " -i " + port_name(*r.in_port);
  if (r.proto) out += std::string(" -p ") + proto_name(r.proto);
  // The protocol's match (tcp_save/udp_save), then multiport's (multiport_save1).
  if (r.proto_match) {
    out += std::string(" -m ") + proto_name(r.proto);
    if (!r.sport_multi)
      for (const auto& p : r.sports)
        if (!full_range(p)) out += " --sport " + range_text(p);
    if (!r.dport_multi)
      for (const auto& p : r.dports)
        if (!full_range(p)) out += " --dport " + range_text(p);
  }
  if (r.sport_multi || r.dport_multi) {
    out += " -m multiport";
    if (r.sport_multi) out += " --sports " + port_list(r.sports, r.proto, true);
    if (r.dport_multi) out += " --dports " + port_list(r.dports, r.proto, true);
  }
  out += fmt::format(" -j MARK --set-xmark {:#x}/0xffffffff", r.mark);
  return out;
}

std::string format_mark_save(const Config& cfg, bool v6, bool chain_given) {
  std::string out;
  for (const char* c : kChains) {
    out += fmt::format("-P {} ACCEPT\n", c);
    if (chain_given) break;
  }
  for (const MarkRule& r : cfg.mark_rules)
    if (r.v6 == v6) out += "-A PREROUTING" + mark_rule_text(r) + "\n";
  return out;
}

std::string format_mark_list(const Config& cfg, bool v6, bool chain_given, bool numeric,
                             bool line_numbers) {
  std::string out;
  bool first = true;
  for (const char* c : kChains) {
    if (!first) out += "\n";
    first = false;
    // print_header: "%-9s " target, " prot ", "opt", " source              ",
    // " destination        ", with "%-4s " num before them for --line-numbers.
    out += fmt::format("Chain {} (policy ACCEPT)\n", c);
    if (line_numbers) out += "num  ";
    out += "target     prot opt source               destination         \n";
    if (std::string_view(c) == "PREROUTING") {
      unsigned num = 0;
      for (const MarkRule& r : cfg.mark_rules) {
        if (r.v6 != v6) continue;
        ++num;
        // print_firewall: "%-4u " num, "%-9s " target, ' ', "%-5s" protocol (its number with
        // -n), "-- ", ' ' "%-19s " source and destination, the matches, the target.
        std::string line = line_numbers ? fmt::format("{:<4} ", num) : std::string();
        line += fmt::format("{:<9}  {:<5}-- ", "MARK",
                            numeric ? std::to_string(r.proto) : std::string(proto_name(r.proto)));
        // Each address after its negation's column (' ').
        line += fmt::format(" {:<19} ", list_addr(r.src, r.src_len, numeric));
        line += fmt::format(" {:<19} ", list_addr(r.dst, r.dst_len, numeric));
        const Proto pr = r.proto == 17 ? Proto::Udp : Proto::Tcp;
        const auto port = [&](uint16_t p) {
          return numeric ? std::to_string(p) : port_to_anyname(p, pr);
        };
        // tcp_print/udp_print: " tcp", then print_ports' " spt:P" / " spts:P:Q".
        if (r.proto_match) {
          line += std::string(" ") + proto_name(r.proto);
          const auto ports = [&](const char* name, const auto& list, bool multi) {
            if (multi) return;
            for (const auto& p : list) {
              if (full_range(p)) continue;
              line += p.first == p.second
                          ? fmt::format(" {}:{}", name, port(p.first))
                          : fmt::format(" {}s:{}:{}", name, port(p.first), port(p.second));
            }
          };
          ports("spt", r.sports, r.sport_multi);
          ports("dpt", r.dports, r.dport_multi);
        }
        // multiport_print1: " multiport sports|dports LIST" (one flag each rule).
        if (r.sport_multi) line += " multiport sports " + port_list(r.sports, r.proto, numeric);
        if (r.dport_multi) line += " multiport dports " + port_list(r.dports, r.proto, numeric);
        // mark_tg_print: "and" ~mask for a value of 0, "or" when the value is the mask (all
        // ones), else "set".
        line += r.mark == 0             ? std::string(" MARK and 0x0")
                : r.mark == 0xffffffffu ? fmt::format(" MARK or {:#x}", r.mark)
                                        : fmt::format(" MARK set {:#x}", r.mark);
        out += line + "\n";
      }
    }
    if (chain_given) break;
  }
  return out;
}

}  // namespace fastvs
