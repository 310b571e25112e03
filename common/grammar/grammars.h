// The grammars behind parse_command (common/grammar/command.h), one file each, and their parts
// of fastvsadm --help. Internal to common/grammar (and its tests).
#pragma once

#include <string>
#include <vector>

#include "common/grammar/command.h"

namespace fastvs::grammar {

// ipvsadm.cpp: ipvsadm's commands and options.
Result<Command> parse_ipvsadm(const std::vector<std::string>& words);
std::string ipvsadm_help();
// "-A (--add-service)".
std::string ipvsadm_command_name(Op op);

// ip.cpp: ip addr|route|neigh|link.
Result<Command> parse_ip(const std::vector<std::string>& words);
std::string ip_help();

// check.cpp: --check add|del|pool|list.
Result<Command> parse_check(const std::vector<std::string>& words);
std::string check_help();

// iptables.cpp: iptables|ip6tables -t mangle -A|-I|-D|-L|-S|-F PREROUTING (firewall marks).
Result<Command> parse_iptables(const std::vector<std::string>& words);
std::string iptables_help();
std::vector<std::string> iptables_examples();

// Each help form's example (words as one line): every one must parse.
std::vector<std::string> ip_examples();
std::vector<std::string> check_examples();

}  // namespace fastvs::grammar
