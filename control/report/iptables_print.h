// `fastvsadm iptables|ip6tables -t mangle -S|-L`: the firewall-mark rules as iptables 1.8 prints
// its mangle table (iptables -S: print_rule4/6 and the tcp, udp, multiport and MARK extensions'
// save functions; -L: print_header, print_firewall and their print functions). fastvs's mangle
// table has the five built-in chains; only PREROUTING holds rules.
#pragma once

#include <optional>
#include <string>

#include "common/model.h"

namespace fastvs {

// -S [PREROUTING]: the policies ("-P CHAIN ACCEPT"), then "-A PREROUTING ..." per rule of the
// family.
std::string format_mark_save(const Config& cfg, bool v6, bool chain_given);
// -L [PREROUTING] [-n] [--line-numbers].
std::string format_mark_list(const Config& cfg, bool v6, bool chain_given, bool numeric,
                             bool line_numbers);
// One rule in -S's words after "-A PREROUTING" (also how logs name a rule).
std::string mark_rule_text(const MarkRule& r);

}  // namespace fastvs
