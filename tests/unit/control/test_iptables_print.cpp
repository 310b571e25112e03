// `fastvsadm iptables|ip6tables -t mangle`: the rules of tests/unit/data/iptables/commands.txt
// read by fastvsadm's grammar and applied, then listed, against what the real iptables and
// ip6tables printed for the same lines (make_fixtures.sh there): byte for byte.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/grammar/command.h"
#include "control/config/apply.h"
#include "control/report/iptables_print.h"

namespace fastvs {
namespace {

std::string data(const std::string& name) {
  std::ifstream in(std::string(FASTVS_TEST_DATA) + "/iptables/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Config apply_lines() {
  Config cfg;
  std::istringstream lines(data("commands.txt"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    Result<Command> cmd = parse_command(split_words(line));
    EXPECT_TRUE(cmd) << line << ": " << (cmd ? "" : cmd.error());
    if (!cmd) continue;
    Status st = apply_command(cfg, *cmd, 2);
    EXPECT_TRUE(st) << line << ": " << (st ? "" : st.error());
  }
  return cfg;
}

TEST(IptablesPrint, SaveAsIptables) {
  const Config cfg = apply_lines();
  EXPECT_EQ(format_mark_save(cfg, false, false), data("iptables.S"));
  EXPECT_EQ(format_mark_save(cfg, false, true), data("iptables.S-PREROUTING"));
  EXPECT_EQ(format_mark_save(cfg, true, false), data("ip6tables.S"));
  EXPECT_EQ(format_mark_save(cfg, true, true), data("ip6tables.S-PREROUTING"));
}

TEST(IptablesPrint, ListAsIptables) {
  const Config cfg = apply_lines();
  EXPECT_EQ(format_mark_list(cfg, false, false, false, false), data("iptables.L"));
  EXPECT_EQ(format_mark_list(cfg, false, true, true, true), data("iptables.Ln"));
  EXPECT_EQ(format_mark_list(cfg, true, false, false, false), data("ip6tables.L"));
  EXPECT_EQ(format_mark_list(cfg, true, true, true, true), data("ip6tables.Ln"));
}

// What -S prints reads back as the same rules (the save format is the input's).
TEST(IptablesPrint, SaveReadsBack) {
  const Config cfg = apply_lines();
  for (const bool v6 : {false, true}) {
    Config again;
    std::istringstream lines(format_mark_save(cfg, v6, true));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("-A ", 0) != 0) continue;
      const std::string full = std::string(v6 ? "ip6tables" : "iptables") + " -t mangle " + line;
      Result<Command> cmd = parse_command(split_words(full));
      ASSERT_TRUE(cmd) << full << ": " << cmd.error();
      ASSERT_TRUE(apply_command(again, *cmd, 2)) << full;
    }
    std::vector<MarkRule> want;
    for (const MarkRule& r : cfg.mark_rules)
      if (r.v6 == v6) want.push_back(r);
    EXPECT_EQ(again.mark_rules, want);
  }
}

std::string err(const std::string& line) {
  Result<Command> cmd = parse_command(split_words(line));
  return cmd ? "(accepted)" : cmd.error();
}

TEST(IptablesGrammar, RefusesWhatItDoesNotHave) {
  EXPECT_EQ(err("iptables -A PREROUTING -j MARK --set-mark 1"),
            "iptables: give -t mangle (fastvsadm marks packets in the mangle table's PREROUTING "
            "chain)");
  EXPECT_EQ(err("iptables -t nat -A PREROUTING -j MARK --set-mark 1"),
            "iptables: table 'nat' is not supported: fastvsadm has the mangle table's PREROUTING "
            "chain alone (the firewall marks of -f services)");
  EXPECT_EQ(err("iptables -t mangle -A INPUT -j MARK --set-mark 1"),
            "iptables: chain 'INPUT' is not supported: fastvsadm marks packets in PREROUTING "
            "alone");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -j ACCEPT"),
            "iptables: target 'ACCEPT' is not supported: fastvsadm's rules set firewall marks "
            "(-j MARK)");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -p icmp -j MARK --set-mark 1"),
            "iptables: protocol 'icmp' is not supported (tcp, udp or all: the protocols of -f "
            "services)");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING --dport 80 -j MARK --set-mark 1"),
            "iptables: --dport needs -p tcp or -p udp before it");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -p tcp --dports 80 -j MARK --set-mark 1"),
            "iptables: --dports needs -m multiport before it");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -m state --state NEW -j MARK --set-mark 1"),
            "iptables: match 'state' is not supported (tcp, udp, multiport)");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING ! -s 10.0.0.1 -j MARK --set-mark 1"),
            "iptables: negation ('!') is not supported by fastvsadm");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -j MARK --set-mark 1/0xff"),
            "iptables: mark mask '0xff' is not supported (the whole mark: 0xffffffff)");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -p tcp"),
            "iptables: a rule needs -j MARK --set-mark MARK");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -j MARK"),
            "iptables: MARK target: Parameter --set-mark is required");
  // As iptables 1.8.9 refuses an option given twice (a typo must not make another rule).
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -p tcp -p udp -j MARK --set-mark 1"),
            "iptables: multiple -p flags not allowed");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -s 1.1.1.1 -s 2.2.2.2 -j MARK --set-mark 1"),
            "iptables: multiple -s flags not allowed");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -d 1.1.1.1 -d 2.2.2.2 -j MARK --set-mark 1"),
            "iptables: multiple -d flags not allowed");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -i dpdk0 -i dpdk1 -j MARK --set-mark 1"),
            "iptables: multiple -i flags not allowed");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -j MARK --set-mark 1 --set-mark 2"),
            "iptables: MARK: option \"--set-mark\" can only be used once.");
  EXPECT_EQ(err("iptables -t mangle -D PREROUTING 0"), "iptables: Invalid rule number `0'");
  EXPECT_EQ(err("iptables -t mangle -I PREROUTING 0 -j MARK --set-mark 1"),
            "iptables: Invalid rule number `0'");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -d 2001:db8::1 -j MARK --set-mark 1"),
            "iptables: destination '2001:db8::1' is IPv6: use ip6tables for IPv6");
  EXPECT_EQ(err("ip6tables -t mangle -A PREROUTING -d 10.0.0.1 -j MARK --set-mark 1"),
            "ip6tables: destination '10.0.0.1' is IPv4: ip6tables takes IPv6 addresses");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -p tcp -m multiport --dports "
                "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16 -j MARK --set-mark 1"),
            "iptables: --dports: too many ports specified (multiport's 15, a range counts two)");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -p tcp -m multiport --sports 1 --dports 2 "
                "-j MARK --set-mark 1"),
            "iptables: multiport can only have one option (--sports or --dports)");
  EXPECT_EQ(err("iptables -t mangle -L -p tcp"),
            "iptables: a rule's options go with -A, -I, -D or -C only");
  EXPECT_EQ(err("iptables -t mangle -S -n"), "iptables: -n and --line-numbers go with -L only");
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -i eth0 -j MARK --set-mark 1"),
            "iptables: unknown device 'eth0' (the director's ports are dpdk0, dpdk1, ...)");
  // As iptables: 15 ports, a range counting two, is the most.
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -p tcp -m multiport --dports "
                "1,2,3,4,5,6,7,8,9,10,11,12,13,14:15 -j MARK --set-mark 1"),
            "(accepted)");
}

// What scripts write that iptables takes: --opt=value, -w (the lock: none to wait for here),
// port names, a mark of 0 (a later rule that exempts), -C (whether a rule is there).
TEST(IptablesGrammar, WhatScriptsWrite) {
  Result<Command> c = parse_command(
      split_words("iptables -w 5 --table=mangle --append PREROUTING --protocol=tcp --dport http "
                  "-j MARK --set-mark 0"));
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->op, Op::MarkAdd);
  EXPECT_EQ(c->mark_rule.mark, 0u);
  EXPECT_EQ(c->mark_rule.dports, (std::vector<std::pair<uint16_t, uint16_t>>{{80, 80}}));
  c = parse_command(split_words(
      "iptables -t mangle -A PREROUTING -p tcp -m multiport --dports http,https,8000:8010 "
      "-j MARK --set-mark 1"));
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->mark_rule.dports,
            (std::vector<std::pair<uint16_t, uint16_t>>{{80, 80}, {443, 443}, {8000, 8010}}));
  EXPECT_EQ(err("iptables -t mangle -A PREROUTING -p tcp --dport nosuchservice -j MARK "
                "--set-mark 1"),
            "iptables: bad port 'nosuchservice' (0..65535, a service name, or P:Q)");
  c = parse_command(split_words("iptables -t mangle -C PREROUTING -p tcp -j MARK --set-mark 1"));
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->op, Op::MarkCheck);
  EXPECT_FALSE(changes_config(Op::MarkCheck));
  EXPECT_EQ(err("iptables -t mangle -C PREROUTING"),
            "iptables: a rule needs -j MARK --set-mark MARK");
}

// The last match wins, so a rule of mark 0 after one that marks exempts what it matches.
TEST(IptablesRules, MarkZeroExempts) {
  Config cfg;
  for (const char* line :
       {"iptables -t mangle -A PREROUTING -p tcp -d 10.0.0.0/24 -j MARK --set-mark 80",
        "iptables -t mangle -A PREROUTING -s 10.9.0.0/16 -j MARK --set-mark 0"}) {
    Result<Command> c = parse_command(split_words(line));
    ASSERT_TRUE(c) << c.error();
    ASSERT_TRUE(apply_command(cfg, *c, 2));
  }
  ASSERT_EQ(cfg.mark_rules.size(), 2u);
  EXPECT_EQ(cfg.mark_rules[1].mark, 0u);
  EXPECT_EQ(format_mark_save(cfg, false, true),
            "-P PREROUTING ACCEPT\n"
            "-A PREROUTING -d 10.0.0.0/24 -p tcp -j MARK --set-xmark 0x50/0xffffffff\n"
            "-A PREROUTING -s 10.9.0.0/16 -j MARK --set-xmark 0x0/0xffffffff\n");
}

TEST(IptablesApply, NumbersAndMissingRules) {
  Config cfg;
  const auto run = [&](const std::string& line) -> std::string {
    Result<Command> cmd = parse_command(split_words(line));
    if (!cmd) return cmd.error();
    Status st = apply_command(cfg, *cmd, 1);
    return st ? "" : st.error();
  };
  EXPECT_EQ(run("iptables -t mangle -I PREROUTING 2 -j MARK --set-mark 1"),
            "iptables: Index of insertion too big.");
  EXPECT_EQ(run("iptables -t mangle -D PREROUTING 1"), "iptables: Index of deletion too big.");
  EXPECT_EQ(run("iptables -t mangle -D PREROUTING -j MARK --set-mark 1"),
            "iptables: Bad rule (does a matching rule exist in that chain?).");
  EXPECT_EQ(run("iptables -t mangle -A PREROUTING -i dpdk1 -j MARK --set-mark 1"),
            "iptables: device dpdk1 does not exist (1 ports)");
  EXPECT_TRUE(cfg.mark_rules.empty());
  // The two families' chains are apart: numbers count one family's rules.
  EXPECT_EQ(run("ip6tables -t mangle -A PREROUTING -j MARK --set-mark 6"), "");
  EXPECT_EQ(run("iptables -t mangle -A PREROUTING -j MARK --set-mark 4"), "");
  EXPECT_EQ(run("iptables -t mangle -I PREROUTING 1 -j MARK --set-mark 5"), "");
  ASSERT_EQ(cfg.mark_rules.size(), 3u);
  EXPECT_EQ(cfg.mark_rules[0].mark, 6u);
  EXPECT_EQ(cfg.mark_rules[1].mark, 5u);
  EXPECT_EQ(cfg.mark_rules[2].mark, 4u);
  EXPECT_EQ(run("ip6tables -t mangle -D PREROUTING 2"), "ip6tables: Index of deletion too big.");
  EXPECT_EQ(run("iptables -t mangle -F"), "");
  ASSERT_EQ(cfg.mark_rules.size(), 1u);
  EXPECT_TRUE(cfg.mark_rules[0].v6);
}

}  // namespace
}  // namespace fastvs
