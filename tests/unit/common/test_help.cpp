// fastvsadm --help is made from the grammar's own tables (common/grammar): it names every
// command, option, scheduler and flag the grammar takes, every ipvsadm option (ipvsadm(8) of
// ipvsadm 1.31) is either in it as taken or in it as refused, each example form parses, and an
// option the help names is never one the grammar calls unknown.
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "common/grammar/command.h"
#include "common/grammar/grammars.h"
#include "tests/unit/common/grammar_helpers.h"

namespace fastvs {
namespace {

using namespace fastvs::testing;

// ipvsadm(8), ipvsadm 1.31 (Debian 12): every command and option, long names.
const char* const kIpvsadmOptions[] = {
    "--add-service", "--edit-service", "--delete-service",  "--clear",         "--restore",
    "--save",        "--add-server",   "--edit-server",     "--delete-server", "--list",
    "--zero",        "--set",          "--start-daemon",    "--stop-daemon",   "--help",
    "--tcp-service", "--udp-service",  "--fwmark-service",  "--ipv6",          "--scheduler",
    "--pe",          "--persistent",   "--netmask",         "--real-server",   "--gatewaying",
    "--ipip",        "--masquerading", "--tun-type",        "--tun-port",      "--tun-nocsum",
    "--tun-csum",    "--weight",       "--u-threshold",     "--l-threshold",   "--mcast-interface",
    "--syncid",      "--connection",   "--timeout",         "--daemon",        "--stats",
    "--rate",        "--thresholds",   "--persistent-conn", "--nosort",        "--sort",
    "--numeric",     "--exact",        "--sched-flags",     "--ops",           "--version",
    "--sync-maxlen", "--mcast-group",  "--mcast-port",      "--mcast-ttl",     "--sctp-service",
    "--tun-remcsum", "--tun-info",
};

TEST(Help, NamesEveryIpvsadmOption) {
  const std::string help = fastvsadm_help();
  for (const char* o : kIpvsadmOptions)
    EXPECT_NE(help.find(o), std::string::npos) << o << " is not in fastvsadm --help";
}

// The sync daemon's commands and options are taken: in the help with their arguments, not in
// its list of what fastvs does not have yet.
TEST(Help, SyncDaemonIsTaken) {
  const std::string help = fastvsadm_help();
  const size_t later = help.find("ipvsadm's options fastvs does not have yet");
  ASSERT_NE(later, std::string::npos);
  for (const char* o :
       {"--start-daemon", "--stop-daemon", "--daemon", "--mcast-interface", "--syncid",
        "--sync-maxlen", "--mcast-group", "--mcast-port", "--mcast-ttl"}) {
    const std::string word = std::string(o) + " ";
    EXPECT_LT(help.find(word), later) << o;
    EXPECT_EQ(help.find(word, later), std::string::npos) << o << " is listed as not supported";
  }
  EXPECT_NE(help.find("--start-daemon      master|backup [--mcast-interface IF] [--syncid ID]"),
            std::string::npos);
  EXPECT_NE(help.find("--stop-daemon       master|backup\n"), std::string::npos);
}

TEST(Help, NamesEverySchedulerAndFlag) {
  const std::string help = fastvsadm_help();
  for (const SchedulerName& s : kSchedulers)
    EXPECT_NE(help.find("\n  " + std::string(s.name) + " "), std::string::npos) << s.name;
  for (const char* f : {"sh-fallback", "sh-port", "mh-fallback", "mh-port"})
    EXPECT_NE(help.find(f), std::string::npos) << f;
  for (const char* v : {"ip addr", "ip route", "ip neigh", "ip [-s] link", "--check add",
                        "--check del", "--check pool", "--check list", "--keepalived-reload",
                        "iptables -t mangle", "--socket", "FASTVS_SOCKET"})
    EXPECT_NE(help.find(v), std::string::npos) << v;
}

TEST(Help, EndsWithANewlineAndHasNoOverlongLines) {
  const std::string help = fastvsadm_help();
  ASSERT_FALSE(help.empty());
  EXPECT_EQ(help.back(), '\n');
  size_t start = 0;
  while (start < help.size()) {
    const size_t nl = help.find('\n', start);
    EXPECT_LE(nl - start, 100u) << help.substr(start, nl - start);
    start = nl + 1;
  }
}

TEST(Help, EveryExampleFormParses) {
  for (const std::string& e : grammar::ip_examples()) parse_ok(e);
  for (const std::string& e : grammar::check_examples()) parse_ok(e);
  for (const std::string& e : grammar::iptables_examples()) parse_ok(e);
}

// What the help names as an option, the grammar knows: taken, or refused by name as not
// supported yet, never "unknown option".
TEST(Help, NoOptionItNamesIsUnknown) {
  const std::string help = fastvsadm_help();
  const std::regex opt(R"((^|[\s,(\[|])(--[a-z][a-z0-9-]*))");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(help.begin(), help.end(), opt); it != std::sregex_iterator();
       ++it)
    names.insert((*it)[2]);
  ASSERT_GT(names.size(), 40u);
  for (const std::string& n : names) {
    if (n == "--help" || n == "--socket") continue;  // fastvsadm's own, not the grammar's
    Result<Command> r = parse_command({n});
    // The mark rules' options are iptables' words (fastvsadm iptables ...): known there.
    if (!r && r.error().find("unknown option") != std::string::npos) {
      r = parse_command({"iptables", n});
      if (!r) {
        EXPECT_EQ(r.error().find("not supported"), std::string::npos) << n << ": " << r.error();
      }
    }
    if (!r) {
      EXPECT_EQ(r.error().find("unknown option"), std::string::npos) << n << ": " << r.error();
    }
  }
}

}  // namespace
}  // namespace fastvs
