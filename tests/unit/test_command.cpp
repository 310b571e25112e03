// The fastvsadm grammar: addresses, ipvsadm's options, `ip addr|route|neigh`, applying commands
// to the configuration model, and the config-file loader.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/command.h"
#include "common/net.h"

namespace fastvs {
namespace {

constexpr uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

ParseResult parse(const std::string& line) {
  return parse_command(split_words(line));
}

Command parse_ok(const std::string& line) {
  ParseResult r = parse(line);
  EXPECT_TRUE(r.ok) << line << " -> " << r.error;
  return r.cmd;
}

std::string parse_err(const std::string& line) {
  ParseResult r = parse(line);
  EXPECT_FALSE(r.ok) << line << " parsed";
  EXPECT_FALSE(r.error.empty()) << line;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  return r.error;
}

// Parses (must succeed) and applies; returns apply's answer.
std::string run(Config& cfg, const std::string& line, unsigned num_ports = 2) {
  ParseResult r = parse(line);
  if (!r.ok) {
    ADD_FAILURE() << line << " -> parse error: " << r.error;
    return "parse error: " + r.error;
  }
  return apply_command(cfg, r.cmd, num_ports);
}

void run_ok(Config& cfg, const std::string& line, unsigned num_ports = 2) {
  EXPECT_EQ(run(cfg, line, num_ports), "") << line;
}

// A printable picture of a Config, to check that a failed command changed nothing.
std::string dump(const Config& c) {
  std::ostringstream o;
  for (const auto& a : c.addrs)
    o << "addr " << format_ip4(a.ip) << "/" << +a.prefix_len << " " << a.port << "\n";
  for (const auto& r : c.routes) {
    o << "route " << format_ip4(r.prefix) << "/" << +r.prefix_len << " " << format_ip4(r.via) << " "
      << r.port << "\n";
  }
  for (const auto& n : c.neighs)
    o << "neigh " << format_ip4(n.ip) << " " << format_mac(n.mac) << " " << n.port << "\n";
  for (const auto& s : c.services) {
    o << "svc " << proto_name(s.key.proto) << " " << format_ip4(s.key.vip) << ":" << s.key.vport
      << " " << s.scheduler << " " << s.sched_flags << " p" << s.persistent << " " << s.timeout
      << " " << format_ip4(s.netmask) << "\n";
    for (const auto& d : s.dests) {
      o << "  dest " << format_ip4(d.rip) << ":" << d.rport << " " << method_name(d.method) << " "
        << d.weight << " " << d.u_threshold << " " << d.l_threshold << "\n";
    }
  }
  o << "timeouts " << c.timeouts.tcp << " " << c.timeouts.tcpfin << " " << c.timeouts.udp << "\n";
  return o.str();
}

// Applies and expects `error`, with the configuration unchanged.
void run_err(Config& cfg, const std::string& line, const std::string& error,
             unsigned num_ports = 2) {
  const std::string before = dump(cfg);
  EXPECT_EQ(run(cfg, line, num_ports), error) << line;
  EXPECT_EQ(dump(cfg), before) << line << " changed the configuration";
}

// Two-arm director: clients on dpdk0, real servers on dpdk1.
Config two_arm() {
  Config cfg;
  run_ok(cfg, "ip addr add 172.16.254.200/24 dev dpdk0");
  run_ok(cfg, "ip addr add 192.168.0.8/24 dev dpdk1");
  run_ok(cfg, "ip route add default via 172.16.254.1 dev dpdk0");
  run_ok(cfg, "-A -t 172.16.254.200:80 -s wrr");
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// net.h

TEST(Net, ParseIp4Accepts) {
  EXPECT_EQ(parse_ip4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ip4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(parse_ip4("172.16.254.200"), ip(172, 16, 254, 200));
  EXPECT_EQ(parse_ip4("10.0.0.1"), 0x0a000001u);
}

TEST(Net, ParseIp4Rejects) {
  for (const char* s :
       {"",           "1.2.3",      "1.2.3.4.5",         "256.1.1.1", "1.2.3.256", "1.2.3.4 ",
        " 1.2.3.4",   "1.2.3.4x",   "x1.2.3.4",          "1..2.3",    "1.2.3.",    ".1.2.3",
        "01.2.3.4",   "1.2.3.04",   "+1.2.3.4",          "1.2.3.-4",  "0x1.2.3.4", "1.2.3.4/24",
        "1.2.3.4:80", "1000.1.1.1", "99999999999.1.1.1", "a.b.c.d",   "::1"}) {
    EXPECT_FALSE(parse_ip4(s).has_value()) << s;
  }
}

TEST(Net, FormatIp4) {
  EXPECT_EQ(format_ip4(ip(192, 168, 0, 18)), "192.168.0.18");
  EXPECT_EQ(format_ip4(0), "0.0.0.0");
  EXPECT_EQ(format_ip4(0xffffffffu), "255.255.255.255");
}

TEST(Net, ParseMac) {
  const MacAddr want{0xaa, 0xbb, 0xcc, 0x0d, 0xee, 0xff};
  EXPECT_EQ(parse_mac("aa:bb:cc:0d:ee:ff"), want);
  EXPECT_EQ(parse_mac("AA:Bb:CC:0D:eE:FF"), want);
  EXPECT_EQ(parse_mac("aa:bb:cc:d:ee:ff"), want);  // iproute2 accepts one digit
  for (const char* s :
       {"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb:cc:dd:ee:fg", "aaa:bb:cc:dd:ee:ff",
        "aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff ", "aa::cc:dd:ee:ff", "aabbccddeeff"}) {
    EXPECT_FALSE(parse_mac(s).has_value()) << s;
  }
}

TEST(Net, FormatMacIsLowercase) {
  EXPECT_EQ(format_mac({0xAA, 0x0B, 0xCC, 0x00, 0xEE, 0xFF}), "aa:0b:cc:00:ee:ff");
}

TEST(Net, ParsePort) {
  EXPECT_EQ(parse_port("0"), 0);
  EXPECT_EQ(parse_port("80"), 80);
  EXPECT_EQ(parse_port("65535"), 65535);
  for (const char* s : {"", "65536", "-1", "+80", "80a", "http", " 80", "99999999999"}) {
    EXPECT_FALSE(parse_port(s).has_value()) << s;
  }
}

TEST(Net, PrefixMask) {
  EXPECT_EQ(prefix_mask(0), 0u);
  EXPECT_EQ(prefix_mask(24), 0xffffff00u);
  EXPECT_EQ(prefix_mask(32), 0xffffffffu);
}

// ---------------------------------------------------------------------------------------------
// split_words

TEST(SplitWords, BlanksAndComments) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_words(""), V{});
  EXPECT_EQ(split_words("   \t "), V{});
  EXPECT_EQ(split_words("# all comment"), V{});
  EXPECT_EQ(split_words("  -A\t-t  1.2.3.4:80 \r"), (V{"-A", "-t", "1.2.3.4:80"}));
  EXPECT_EQ(split_words("-A -t 1.2.3.4:80 # web"), (V{"-A", "-t", "1.2.3.4:80"}));
  EXPECT_EQ(split_words("-A -t 1.2.3.4:80 #web"), (V{"-A", "-t", "1.2.3.4:80"}));
  EXPECT_EQ(split_words("a#b c"), (V{"a#b", "c"}));
}

// ---------------------------------------------------------------------------------------------
// ipvsadm commands

TEST(ParseKeepalivedReload, FileIsOptional) {
  Command c = parse_ok("--keepalived-reload");
  EXPECT_EQ(c.op, Op::KeepalivedReload);
  EXPECT_EQ(c.path, "");
  c = parse_ok("--keepalived-reload /etc/keepalived/keepalived.conf");
  EXPECT_EQ(c.path, "/etc/keepalived/keepalived.conf");
  EXPECT_EQ(parse_err("--keepalived-reload a b"), "usage: --keepalived-reload [FILE]");
  // Not a line of a configuration file.
  Config cfg;
  EXPECT_NE(run(cfg, "--keepalived-reload"), "");
}

TEST(ParseIpvsadm, AddService) {
  Command c = parse_ok("-A -t 172.16.254.200:80 -s wrr");
  EXPECT_EQ(c.op, Op::AddService);
  EXPECT_TRUE(c.has_service);
  EXPECT_EQ(c.service.proto, Proto::Tcp);
  EXPECT_EQ(c.service.vip, ip(172, 16, 254, 200));
  EXPECT_EQ(c.service.vport, 80);
  EXPECT_TRUE(c.has_scheduler);
  EXPECT_EQ(c.scheduler, "wrr");
  EXPECT_FALSE(c.has_sched_flags);

  c = parse_ok("--add-service --udp-service 10.0.0.1:53 --scheduler rr");
  EXPECT_EQ(c.op, Op::AddService);
  EXPECT_EQ(c.service.proto, Proto::Udp);
  EXPECT_EQ(c.service.vip, ip(10, 0, 0, 1));
  EXPECT_EQ(c.service.vport, 53);
  EXPECT_EQ(c.scheduler, "rr");

  c = parse_ok("-A -t 10.0.0.1:80");
  EXPECT_FALSE(c.has_scheduler);  // apply_command uses ipvsadm's default, wlc
}

TEST(ParseIpvsadm, OptionsInAnyOrderAndForms) {
  for (const char* line :
       {"-A -t 10.0.0.1:80 -s wrr", "-t 10.0.0.1:80 -A -s wrr", "-s wrr -t 10.0.0.1:80 -A",
        "--tcp-service=10.0.0.1:80 --add-service --scheduler=wrr", "-At 10.0.0.1:80 -swrr",
        "-A -t10.0.0.1:80 -s wrr"}) {
    Command c = parse_ok(line);
    EXPECT_EQ(c.op, Op::AddService) << line;
    EXPECT_EQ(c.service.vip, ip(10, 0, 0, 1)) << line;
    EXPECT_EQ(c.service.vport, 80) << line;
    EXPECT_EQ(c.scheduler, "wrr") << line;
  }
}

TEST(ParseIpvsadm, Schedulers) {
  for (const char* s : {"rr", "wrr", "lc", "wlc", "sh", "sed", "nq", "fo", "ovf", "dh", "mh"}) {
    EXPECT_EQ(parse_ok(std::string("-A -t 10.0.0.1:80 -s ") + s).scheduler, s);
  }
  for (const char* s : {"lblc", "lblcr", "twos"}) {
    EXPECT_EQ(parse_err(std::string("-A -t 10.0.0.1:80 -s ") + s),
              std::string("scheduler '") + s + "' is not supported yet");
  }
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s wrrr"), "bad scheduler name 'wrrr'");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s RR"), "bad scheduler name 'RR'");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 --scheduler="), "bad scheduler name ''");
}

TEST(ParseIpvsadm, SchedFlags) {
  Command c = parse_ok("-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port");
  EXPECT_TRUE(c.has_sched_flags);
  EXPECT_EQ(c.sched_flags, kSchedShFallback | kSchedShPort);
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1:80 -b sh-port -s sh").sched_flags, kSchedShPort);
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1:80 -s sh --sched-flags sh-fallback").sched_flags,
            kSchedShFallback);
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1:80 -s sh --sched-flags=sh-port").sched_flags, kSchedShPort);
  // -E without -s: the service's scheduler decides, at apply time.
  EXPECT_EQ(parse_ok("-E -t 10.0.0.1:80 -b sh-port").sched_flags, kSchedShPort);

  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s sh -b flag-1"),
            "unknown scheduler flag 'flag-1' (known: sh-fallback, sh-port, mh-fallback, mh-port)");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s sh -b sh-port,"),
            "empty scheduler flag in 'sh-port,' (known: sh-fallback, sh-port, mh-fallback, "
            "mh-port)");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s wrr -b sh-port"),
            "scheduler flag 'sh-port' needs the sh scheduler, not 'wrr'");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -b sh-fallback,sh-port"),
            "scheduler flag 'sh-fallback,sh-port' needs the sh scheduler, not 'wlc'");
}

TEST(ParseIpvsadm, MhSchedFlags) {
  // ip_vs_mh.c names IP_VS_SVC_F_SCHED1/2 MH_FALLBACK/MH_PORT: the same bits as sh's, under
  // ipvsadm's mh-* names, which parse_sched_flags accepts only with -s mh.
  Command c = parse_ok("-A -t 10.0.0.1:80 -s mh -b mh-fallback,mh-port");
  EXPECT_EQ(c.sched_flags, kSchedMhFallback | kSchedMhPort);
  EXPECT_EQ(c.sched_flags, kSchedShFallback | kSchedShPort);
  EXPECT_EQ(c.sched_flags_of, "mh");
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1:80 -b mh-port -s mh").sched_flags, kSchedMhPort);
  EXPECT_EQ(parse_ok("-E -t 10.0.0.1:80 -b mh-fallback").sched_flags_of, "mh");
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1:80 -s sh -b sh-port").sched_flags_of, "sh");
  // A name for the other scheduler is refused either way round ("incompatible scheduler flag").
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s sh -b mh-port"),
            "scheduler flag 'mh-port' needs the mh scheduler, not 'sh'");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s mh -b sh-fallback,sh-port"),
            "scheduler flag 'sh-fallback,sh-port' needs the sh scheduler, not 'mh'");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s dh -b mh-port"),
            "scheduler flag 'mh-port' needs the mh scheduler, not 'dh'");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s mh -b mh-port,sh-port"),
            "scheduler flags 'mh-port' and 'sh-port' are for different schedulers");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s sh -b sh-port,mh-port"),
            "scheduler flags 'sh-port' and 'mh-port' are for different schedulers");
}

TEST(ParseIpvsadm, EditDeleteClear) {
  Command c = parse_ok("-E -t 10.0.0.1:80 -s rr");
  EXPECT_EQ(c.op, Op::EditService);
  EXPECT_EQ(c.scheduler, "rr");
  EXPECT_EQ(parse_ok("--edit-service -u 10.0.0.1:53").op, Op::EditService);
  c = parse_ok("-D -u 10.0.0.1:53");
  EXPECT_EQ(c.op, Op::DelService);
  EXPECT_EQ(c.service.proto, Proto::Udp);
  EXPECT_EQ(parse_ok("--delete-service -t 10.0.0.1:80").op, Op::DelService);
  EXPECT_EQ(parse_ok("-C").op, Op::Clear);
  EXPECT_EQ(parse_ok("--clear").op, Op::Clear);
}

TEST(ParseIpvsadm, AddServer) {
  Command c = parse_ok("-a -t 172.16.254.200:80 -r 192.168.0.18:8080 -m -w 3 -x 100 -y 10");
  EXPECT_EQ(c.op, Op::AddDest);
  EXPECT_TRUE(c.has_dest);
  EXPECT_EQ(c.rip, ip(192, 168, 0, 18));
  EXPECT_EQ(c.rport, 8080);
  EXPECT_TRUE(c.has_method);
  EXPECT_EQ(c.method, ForwardMethod::Masq);
  EXPECT_TRUE(c.has_weight);
  EXPECT_EQ(c.weight, 3);
  EXPECT_TRUE(c.has_u_threshold);
  EXPECT_EQ(c.u_threshold, 100u);
  EXPECT_TRUE(c.has_l_threshold);
  EXPECT_EQ(c.l_threshold, 10u);

  c = parse_ok(
      "--add-server --tcp-service 172.16.254.200:80 --real-server 192.168.0.18 --masquerading "
      "--weight=0 --u-threshold 2147483647 --l-threshold=0");
  EXPECT_EQ(c.rport, 80);  // defaults to the service port
  EXPECT_EQ(c.weight, 0);
  EXPECT_EQ(c.u_threshold, 2147483647u);

  c = parse_ok("-a -r 192.168.0.18 -m -t 172.16.254.200:443");  // -r before -t
  EXPECT_EQ(c.rport, 443);

  c = parse_ok("-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m");
  EXPECT_FALSE(c.has_weight);
  EXPECT_EQ(c.weight, 1);
  EXPECT_FALSE(c.has_u_threshold);
  EXPECT_FALSE(c.has_l_threshold);

  EXPECT_EQ(parse_ok("-a -t 1.1.1.1:80 -r 2.2.2.2 -g").method, ForwardMethod::Route);
  EXPECT_EQ(parse_ok("-a -t 1.1.1.1:80 -r 2.2.2.2 --gatewaying").method, ForwardMethod::Route);
  EXPECT_EQ(parse_ok("-a -t 1.1.1.1:80 -r 2.2.2.2 -i").method, ForwardMethod::Tunnel);
  EXPECT_EQ(parse_ok("-a -t 1.1.1.1:80 -r 2.2.2.2 --ipip").method, ForwardMethod::Tunnel);
  EXPECT_EQ(parse_ok("-a -t 1.1.1.1:80 -r 2.2.2.2 -mw5").weight, 5);  // bundled, attached
}

TEST(ParseIpvsadm, AddServerDefaultsToDirectRouting) {
  const Command c = parse_ok("-a -t 172.16.254.200:80 -r 192.168.0.18:80 -w 1");
  EXPECT_FALSE(c.has_method);
  EXPECT_EQ(c.method_or_default(), ForwardMethod::Route);  // ipvsadm's default: -g
}

TEST(ParseIpvsadm, EditDeleteServer) {
  Command c = parse_ok("-e -t 1.1.1.1:80 -r 2.2.2.2:81 -w 7");
  EXPECT_EQ(c.op, Op::EditDest);
  EXPECT_FALSE(c.has_method);  // -e may leave the method alone
  EXPECT_EQ(c.weight, 7);
  EXPECT_EQ(parse_ok("--edit-server -t 1.1.1.1:80 -r 2.2.2.2 -m").op, Op::EditDest);
  c = parse_ok("-d -t 1.1.1.1:80 -r 2.2.2.2");
  EXPECT_EQ(c.op, Op::DelDest);
  EXPECT_EQ(c.rport, 80);
  EXPECT_EQ(parse_ok("--delete-server -t 1.1.1.1:80 -r 2.2.2.2:81").rport, 81);
}

TEST(ParseIpvsadm, ListingCommands) {
  Command c = parse_ok("-L");
  EXPECT_EQ(c.op, Op::List);
  EXPECT_FALSE(c.numeric);
  EXPECT_FALSE(c.has_service);
  EXPECT_TRUE(parse_ok("-Ln").numeric);
  EXPECT_TRUE(parse_ok("-l -n").numeric);
  EXPECT_TRUE(parse_ok("--list --numeric").numeric);
  c = parse_ok("-L -n -t 10.0.0.1:80");
  EXPECT_TRUE(c.has_service);
  EXPECT_EQ(c.service.vport, 80);
  EXPECT_EQ(parse_ok("-S").op, Op::Save);
  EXPECT_TRUE(parse_ok("--save -n").numeric);
  EXPECT_EQ(parse_ok("-R").op, Op::Restore);
  EXPECT_EQ(parse_ok("--restore").op, Op::Restore);
  EXPECT_EQ(parse_ok("-Z").op, Op::Zero);
  EXPECT_TRUE(parse_ok("--zero -u 10.0.0.1:53").has_service);
  // ipvsadm with no arguments lists.
  ParseResult r = parse_command({});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.cmd.op, Op::List);
}

TEST(ParseIpvsadm, SaveOutputParsesBack) {
  // What `ipvsadm -S -n` prints.
  EXPECT_TRUE(parse("-A -t 172.16.254.200:80 -s wrr").ok);
  EXPECT_TRUE(parse("-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1").ok);
  EXPECT_TRUE(parse("-A -u 172.16.254.200:53 -s sh -b sh-fallback,sh-port").ok);
  EXPECT_TRUE(parse("-A -u 172.16.254.200:54 -s mh -b mh-fallback,mh-port").ok);
}

TEST(ParseIpvsadm, Numbers) {
  EXPECT_EQ(parse_ok("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -w 65535").weight, 65535);
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -w 65536"), "bad weight '65536' (0..65535)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -w -1"), "bad weight '-1' (0..65535)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -w abc"), "bad weight 'abc' (0..65535)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m --weight="), "bad weight '' (0..65535)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -w 1.5"), "bad weight '1.5' (0..65535)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -x 2147483648"),
            "bad upper threshold '2147483648' (0..2147483647)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -y x"),
            "bad lower threshold 'x' (0..2147483647)");
}

TEST(ParseIpvsadm, Addresses) {
  EXPECT_EQ(parse_err("-A -t www.example.com:80"),
            "service address 'www.example.com' is not a numeric IPv4 address (host names are not "
            "resolved)");
  EXPECT_EQ(parse_err("-A -t localhost"),
            "service address 'localhost' is not a numeric IPv4 address (host names are not "
            "resolved)");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:http"),
            "service address port 'http' is not a number (service names are not resolved)");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:70000"), "bad service address port '70000' (0..65535)");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:"), "bad service address port '' (0..65535)");
  EXPECT_EQ(parse_err("-A -t 1.2.3:80"),
            "bad service address '1.2.3' (expected a dotted quad like 10.0.0.1)");
  EXPECT_EQ(parse_err("-A -t 256.1.1.1:80"),
            "bad service address '256.1.1.1' (expected a dotted quad like 10.0.0.1)");
  EXPECT_EQ(parse_err("-A -t [::1]:80"), "service address '[::1]:80': IPv6 is not supported");
  EXPECT_EQ(parse_err("-A -t fe80::1"), "service address 'fe80::1': IPv6 is not supported");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r rs1.example.com:80 -m"),
            "real server 'rs1.example.com' is not a numeric IPv4 address (host names are not "
            "resolved)");
  // Port 0 parses (a port 0 service's destinations have it); applying checks it.
  EXPECT_EQ(parse_ok("-a -t 1.1.1.1:0 -r 2.2.2.2:0 -m").rport, 0);
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2:www -m"),
            "real server port 'www' is not a number (service names are not resolved)");
  // A service without a port parses (-D, -L); -A rejects port 0 when applied.
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1").service.vport, 0);
}

TEST(ParseIpvsadm, MissingRequiredOptions) {
  EXPECT_EQ(parse_err("-A"), "-A (--add-service) needs a service: -t|-u HOST:PORT");
  EXPECT_EQ(parse_err("-E -s rr"), "-E (--edit-service) needs a service: -t|-u HOST:PORT");
  EXPECT_EQ(parse_err("-D"), "-D (--delete-service) needs a service: -t|-u HOST:PORT");
  EXPECT_EQ(parse_err("-a -r 2.2.2.2 -m"), "-a (--add-server) needs a service: -t|-u HOST:PORT");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -m"),
            "-a (--add-server) needs a real server: -r HOST[:PORT]");
  EXPECT_EQ(parse_err("-e -t 1.1.1.1:80 -w 2"),
            "-e (--edit-server) needs a real server: -r HOST[:PORT]");
  EXPECT_EQ(parse_err("-d -t 1.1.1.1:80"),
            "-d (--delete-server) needs a real server: -r HOST[:PORT]");
  EXPECT_EQ(parse_err("-t 1.1.1.1:80 -s rr"),
            "no command given (one of -A -E -D -C -a -e -d -L -S -R -Z)");
}

TEST(ParseIpvsadm, OptionNotAllowedWithCommand) {
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -w 1"),
            "option -w (--weight) is not allowed with -A (--add-service)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -r 2.2.2.2"),
            "option -r (--real-server) is not allowed with -A (--add-service)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -m"),
            "option -m (--masquerading) is not allowed with -A (--add-service)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -n"),
            "option -n (--numeric) is not allowed with -A (--add-service)");
  EXPECT_EQ(parse_err("-D -t 1.1.1.1:80 -s rr"),
            "option -s (--scheduler) is not allowed with -D (--delete-service)");
  EXPECT_EQ(parse_err("-C -t 1.1.1.1:80"),
            "option -t (--tcp-service) is not allowed with -C (--clear)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -s rr"),
            "option -s (--scheduler) is not allowed with -a (--add-server)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -b sh-port"),
            "option -b (--sched-flags) is not allowed with -a (--add-server)");
  EXPECT_EQ(parse_err("-d -t 1.1.1.1:80 -r 2.2.2.2 -m"),
            "option -m (--masquerading) is not allowed with -d (--delete-server)");
  EXPECT_EQ(parse_err("-d -t 1.1.1.1:80 -r 2.2.2.2 -w 1"),
            "option -w (--weight) is not allowed with -d (--delete-server)");
  EXPECT_EQ(parse_err("-L -r 2.2.2.2"),
            "option -r (--real-server) is not allowed with -L (--list)");
  EXPECT_EQ(parse_err("-l -s rr"), "option -s (--scheduler) is not allowed with -l (--list)");
  EXPECT_EQ(parse_err("-S -t 1.1.1.1:80"),
            "option -t (--tcp-service) is not allowed with -S (--save)");
  EXPECT_EQ(parse_err("-R -n"), "option -n (--numeric) is not allowed with -R (--restore)");
  EXPECT_EQ(parse_err("-Z -n"), "option -n (--numeric) is not allowed with -Z (--zero)");
}

TEST(ParseIpvsadm, Duplicates) {
  EXPECT_EQ(parse_err("-A -a -t 1.1.1.1:80"),
            "multiple commands: -A (--add-service) and -a (--add-server)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 --add-service"),
            "multiple commands: -A (--add-service) and -A (--add-service)");
  EXPECT_EQ(parse_err("-Ln -L"), "multiple commands: -L (--list) and -L (--list)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -u 1.1.1.1:80"), "more than one service address (-t/-u)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -t 1.1.1.2:80"), "more than one service address (-t/-u)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -g"),
            "more than one forwarding method (-m/-g/-i)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -m"),
            "more than one forwarding method (-m/-g/-i)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -w 1 --weight 2"),
            "option -w (--weight) given twice");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -s rr -s wrr"), "option -s (--scheduler) given twice");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -r 2.2.2.3 -m"),
            "option -r (--real-server) given twice");
}

TEST(ParseIpvsadm, UnknownAndUnsupportedOptions) {
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -q"), "unknown option '-q'");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 --frobnicate"), "unknown option '--frobnicate'");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 --weigh 3"), "unknown option '--weigh'");
  EXPECT_EQ(parse_err("-A -f 1"), "option -f (--fwmark-service) is not supported yet");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -o"), "option -o (--ops) is not supported yet");
  EXPECT_EQ(parse_err("-L --daemon"), "option --daemon is not supported yet");
  // -S writes --tun-type ipip (ipvsadm 1.31); the only tunnel fastvsd makes.
  EXPECT_TRUE(parse("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type ipip").ok);
  EXPECT_TRUE(parse("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type=ipip").ok);
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type gue"),
            "--tun-type 'gue' is not supported (fastvsd tunnels with ipip)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type"),
            "option --tun-type needs an argument");
}

TEST(ParseIpvsadm, Persistence) {
  // -p takes an optional timeout: the next word only if it is a number.
  Command c = parse_ok("-A -t 1.1.1.1:80 -p");
  EXPECT_TRUE(c.has_persistent);
  EXPECT_EQ(c.timeout, 300u);
  c = parse_ok("-A -t 1.1.1.1:80 -p 600 -s rr");
  EXPECT_EQ(c.timeout, 600u);
  EXPECT_EQ(c.scheduler, "rr");
  c = parse_ok("-A -t 1.1.1.1:80 -p -s rr");
  EXPECT_EQ(c.timeout, 300u);
  EXPECT_EQ(parse_ok("-A -t 1.1.1.1:80 -p1800").timeout, 1800u);
  EXPECT_EQ(parse_ok("-A -t 1.1.1.1:80 --persistent=60").timeout, 60u);
  EXPECT_EQ(parse_ok("-A -t 1.1.1.1:80 --persistent 2678400").timeout, 2678400u);
  c = parse_ok("-A -t 1.1.1.1:80 -p 60 -M 255.255.255.0");
  EXPECT_TRUE(c.has_netmask);
  EXPECT_EQ(c.netmask, 0xffffff00u);
  EXPECT_EQ(parse_ok("-E -t 1.1.1.1:80 -p --netmask 255.255.0.0").netmask, 0xffff0000u);
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -p 0"), "bad persistence timeout '0' (1..2678400 seconds)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -p 2678401"),
            "bad persistence timeout '2678401' (1..2678400 seconds)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -p 5m"),
            "bad persistence timeout '5m' (1..2678400 seconds)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -p -M 255.0"),
            "bad netmask '255.0' (expected a dotted quad like 255.255.255.0)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -p -M"), "option -M (--netmask) needs an argument");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -p"),
            "option -p (--persistent) is not allowed with -a (--add-server)");
}

TEST(ParseIpvsadm, SetTimeouts) {
  Command c = parse_ok("--set 900 120 300");
  EXPECT_EQ(c.op, Op::SetTimeouts);
  EXPECT_EQ(c.set_timeouts.tcp, 900u);
  EXPECT_EQ(c.set_timeouts.tcpfin, 120u);
  EXPECT_EQ(c.set_timeouts.udp, 300u);
  c = parse_ok("--set=0 0 1");
  EXPECT_EQ(c.set_timeouts.tcp, 0u);
  EXPECT_EQ(c.set_timeouts.udp, 1u);
  EXPECT_EQ(parse_err("--set 900 120"), "--set needs three timeouts: tcp tcpfin udp");
  EXPECT_EQ(parse_err("--set 900 x 300"),
            "bad tcpfin timeout 'x' (0..2678400 seconds, 0 keeps it)");
  EXPECT_EQ(parse_err("--set 900 120 300 -n"), "option -n (--numeric) is not allowed with --set");
  EXPECT_EQ(parse_err("--set 1 2 3 -L"), "multiple commands: --set and -L (--list)");
}

TEST(ParseIpvsadm, ListingOptions) {
  Command c = parse_ok("-L -n --stats --exact");
  EXPECT_TRUE(c.list_stats);
  EXPECT_TRUE(c.list_exact);
  EXPECT_TRUE(parse_ok("-Ln --rate").list_rate);
  EXPECT_TRUE(parse_ok("-l --thresholds").list_thresholds);
  EXPECT_TRUE(parse_ok("-L --persistent-conn").list_persistent_conn);
  EXPECT_TRUE(parse_ok("-L --timeout").list_timeout);
  EXPECT_TRUE(parse_ok("-L --nosort").list_nosort);
  EXPECT_EQ(parse_ok("-L --sort").op, Op::List);
  c = parse_ok("-Lnc");
  EXPECT_TRUE(c.list_conns);
  EXPECT_TRUE(c.numeric);
  EXPECT_TRUE(parse_ok("-L -n -X").list_exact);
  EXPECT_TRUE(parse_ok("-L --connection").list_conns);
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 --stats"),
            "option --stats is not allowed with -A (--add-service)");
  EXPECT_EQ(parse_err("-L --stats=1"), "option --stats takes no argument");
}

TEST(ParseIpvsadm, Arguments) {
  EXPECT_EQ(parse_err("-A -t"), "option -t (--tcp-service) needs an argument");
  EXPECT_EQ(parse_err("-A -t -s rr"), "option -t (--tcp-service) needs an argument");
  EXPECT_EQ(parse_err("-A --tcp-service"), "option -t (--tcp-service) needs an argument");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -m -r"), "option -r (--real-server) needs an argument");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -w"),
            "option -w (--weight) needs an argument");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 2.2.2.2 --masquerading=yes"),
            "option -m (--masquerading) takes no argument");
  EXPECT_EQ(parse_err("--add-service=1 -t 1.1.1.1:80"), "option --add-service takes no argument");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 wrr"), "unexpected argument 'wrr'");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -"), "unexpected argument '-'");
  EXPECT_EQ(parse_err("frob"), "unexpected argument 'frob'");
}

// ---------------------------------------------------------------------------------------------
// ip addr | route | neigh

TEST(ParseIp, AddrAddDel) {
  for (const char* line :
       {"ip addr add 10.0.0.1/24 dev dpdk1", "ip a add 10.0.0.1/24 dev dpdk1",
        "ip address add 10.0.0.1/24 dev dpdk1", "ip a a 10.0.0.1/24 dev dpdk1",
        "ip addr add dev dpdk1 10.0.0.1/24", "ip -4 addr add 10.0.0.1/24 dev dpdk1"}) {
    Command c = parse_ok(line);
    EXPECT_EQ(c.op, Op::AddrAdd) << line;
    EXPECT_EQ(c.ip, ip(10, 0, 0, 1)) << line;
    EXPECT_EQ(c.prefix_len, 24) << line;
    EXPECT_TRUE(c.has_port) << line;
    EXPECT_EQ(c.port, 1) << line;
  }
  Command c = parse_ok("ip addr add 10.0.0.1 dev dpdk0");
  EXPECT_EQ(c.prefix_len, 32);
  EXPECT_EQ(c.port, 0);
  for (const char* line : {"ip addr del 10.0.0.1/24 dev dpdk0", "ip a d 10.0.0.1/24 dev dpdk0",
                           "ip addr delete 10.0.0.1/24 dev dpdk0"}) {
    c = parse_ok(line);
    EXPECT_EQ(c.op, Op::AddrDel) << line;
    EXPECT_EQ(c.prefix_len, 24) << line;
  }
}

TEST(ParseIp, AddrShow) {
  for (const char* line : {"ip addr", "ip a", "ip addr show", "ip a s", "ip addr list", "ip a l",
                           "ip addr lst", "ip address show"}) {
    Command c = parse_ok(line);
    EXPECT_EQ(c.op, Op::AddrShow) << line;
    EXPECT_FALSE(c.has_port) << line;
  }
  for (const char* line : {"ip addr show dev dpdk1", "ip addr show dpdk1", "ip a s dev dpdk1"}) {
    Command c = parse_ok(line);
    EXPECT_EQ(c.op, Op::AddrShow) << line;
    EXPECT_TRUE(c.has_port) << line;
    EXPECT_EQ(c.port, 1) << line;
  }
}

TEST(ParseIp, AddrErrors) {
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/24"), "ip addr add needs dev dpdkN");
  EXPECT_EQ(parse_err("ip addr del 10.0.0.1/24"), "ip addr del needs dev dpdkN");
  EXPECT_EQ(parse_err("ip addr add dev dpdk0"), "ip addr add needs an address IP/LEN");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/33 dev dpdk0"),
            "bad prefix length in '10.0.0.1/33' (0..32)");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/ dev dpdk0"),
            "bad prefix length in '10.0.0.1/' (0..32)");
  EXPECT_EQ(parse_err("ip addr add 10.0.0/24 dev dpdk0"),
            "bad address '10.0.0' (expected a dotted quad like 10.0.0.1)");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/24 dev eth0"),
            "unknown device 'eth0' (the director's ports are dpdk0, dpdk1, ...)");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/24 dev dpdk"),
            "unknown device 'dpdk' (the director's ports are dpdk0, dpdk1, ...)");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/24 dev dpdk01"),
            "unknown device 'dpdk01' (the director's ports are dpdk0, dpdk1, ...)");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/24 dev"), "ip addr add: 'dev' needs an argument");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/24 dev dpdk0 dev dpdk1"),
            "ip addr add: dev given twice");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/24 10.0.0.2/24 dev dpdk0"),
            "ip addr add: unexpected argument '10.0.0.2/24'");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/24 brd + dev dpdk0"),
            "ip addr add: unsupported argument 'brd'");
  EXPECT_EQ(parse_err("ip addr add 10.0.0.1/24 dev dpdk0 label x"),
            "ip addr add: unsupported argument 'label'");
  EXPECT_EQ(parse_err("ip addr flush dev dpdk0"),
            "unknown ip addr command 'flush' (add, del or show)");
  EXPECT_EQ(parse_err("ip a dev dpdk1"), "unknown ip addr command 'dev' (add, del or show)");
  EXPECT_EQ(parse_err("ip addr show eth0"), "ip addr show: unexpected argument 'eth0'");
  EXPECT_EQ(parse_err("ip addr show dpdk0 dpdk1"), "ip addr show: unexpected argument 'dpdk1'");
}

TEST(ParseIp, Objects) {
  EXPECT_EQ(parse_err("ip"), "ip: missing object (addr, route, neigh or link)");
  EXPECT_EQ(parse_err("ip addrlabel"),
            "unknown ip object 'addrlabel' (addr, route, neigh or link)");
  EXPECT_EQ(parse_err("ip link set dpdk0 up"), "ip link: only 'show' is supported, not 'set'");
  Command c = parse_ok("ip -s link");
  EXPECT_EQ(c.op, Op::LinkShow);
  EXPECT_TRUE(c.stats);
  c = parse_ok("ip link show");
  EXPECT_EQ(c.op, Op::LinkShow);
  EXPECT_FALSE(c.stats);
  EXPECT_EQ(parse_ok("ip -s addr").op, Op::AddrShow);
  EXPECT_EQ(parse_err("ip -6 route"), "unsupported ip option '-6'");
}

TEST(ParseIp, RouteAdd) {
  Command c = parse_ok("ip route add default via 172.16.254.1 dev dpdk0");
  EXPECT_EQ(c.op, Op::RouteAdd);
  EXPECT_EQ(c.ip, 0u);
  EXPECT_EQ(c.prefix_len, 0);
  EXPECT_EQ(c.via, ip(172, 16, 254, 1));
  EXPECT_TRUE(c.has_port);
  EXPECT_EQ(c.port, 0);

  for (const char* line : {"ip route add 10.1.0.0/16 via 192.168.0.1 dev dpdk1",
                           "ip r add 10.1.0.0/16 via 192.168.0.1 dev dpdk1",
                           "ip ro a 10.1.0.0/16 dev dpdk1 via 192.168.0.1",
                           "ip route add via 192.168.0.1 10.1.0.0/16 dev dpdk1"}) {
    c = parse_ok(line);
    EXPECT_EQ(c.op, Op::RouteAdd) << line;
    EXPECT_EQ(c.ip, ip(10, 1, 0, 0)) << line;
    EXPECT_EQ(c.prefix_len, 16) << line;
    EXPECT_EQ(c.via, ip(192, 168, 0, 1)) << line;
    EXPECT_EQ(c.port, 1) << line;
  }
  c = parse_ok("ip route add 10.1.0.0/16 via 192.168.0.1");  // dev found from the gateway
  EXPECT_FALSE(c.has_port);
  c = parse_ok("ip route add 10.2.0.0/16 dev dpdk1");  // on-link
  EXPECT_EQ(c.via, 0u);
  c = parse_ok("ip route add 0.0.0.0/0 via 1.1.1.1");
  EXPECT_EQ(c.prefix_len, 0);
  c = parse_ok("ip route add 10.9.9.9 dev dpdk0");
  EXPECT_EQ(c.prefix_len, 32);
}

TEST(ParseIp, RouteDelShow) {
  Command c = parse_ok("ip route del default");
  EXPECT_EQ(c.op, Op::RouteDel);
  EXPECT_EQ(c.prefix_len, 0);
  c = parse_ok("ip r d 10.1.0.0/16");
  EXPECT_EQ(c.op, Op::RouteDel);
  EXPECT_EQ(c.ip, ip(10, 1, 0, 0));
  c = parse_ok("ip route delete 10.1.0.0/16 via 192.168.0.1 dev dpdk1");
  EXPECT_EQ(c.via, ip(192, 168, 0, 1));
  EXPECT_TRUE(c.has_port);
  for (const char* line :
       {"ip route", "ip r", "ip ro", "ip route show", "ip r s", "ip route list"}) {
    EXPECT_EQ(parse_ok(line).op, Op::RouteShow) << line;
  }
}

TEST(ParseIp, RouteErrors) {
  EXPECT_EQ(parse_err("ip route add 10.0.0.1/24 via 192.168.0.1"),
            "invalid prefix 10.0.0.1/24: host bits set");
  EXPECT_EQ(parse_err("ip route del 10.0.0.1/24"), "invalid prefix 10.0.0.1/24: host bits set");
  EXPECT_EQ(parse_err("ip route add 10.0.0.0/8"), "ip route add needs via GATEWAY or dev dpdkN");
  EXPECT_EQ(parse_err("ip route add via 10.0.0.1"), "ip route add needs a prefix (or default)");
  EXPECT_EQ(parse_err("ip route del"), "ip route del needs a prefix (or default)");
  EXPECT_EQ(parse_err("ip route add default via"), "ip route add: 'via' needs an argument");
  EXPECT_EQ(parse_err("ip route add default via gw.example.com"),
            "gateway 'gw.example.com' is not a numeric IPv4 address (host names are not resolved)");
  EXPECT_EQ(parse_err("ip route add default via 0.0.0.0"), "bad gateway 0.0.0.0");
  EXPECT_EQ(parse_err("ip route add default via 1.1.1.1 via 1.1.1.2"),
            "ip route add: via given twice");
  EXPECT_EQ(parse_err("ip route add default via 1.1.1.1 metric 100"),
            "ip route add: unsupported argument 'metric'");
  EXPECT_EQ(parse_err("ip route add 10.0.0.0/8 10.1.0.0/16 dev dpdk0"),
            "ip route add: unexpected argument '10.1.0.0/16'");
  EXPECT_EQ(parse_err("ip route show via 1.1.1.1"), "ip route show: unexpected 'via'");
  EXPECT_EQ(parse_err("ip route get 1.1.1.1"), "unknown ip route command 'get' (add, del or show)");
}

TEST(ParseIp, Neigh) {
  const MacAddr mac{0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc};
  for (const char* line :
       {"ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cc dev dpdk1",
        "ip n add 192.168.0.18 lladdr 02:00:00:AA:BB:CC dev dpdk1",
        "ip neighbour add 192.168.0.18 lladdr 02:00:00:aa:bb:cc dev dpdk1",
        "ip neighbor a dev dpdk1 lladdr 02:00:00:aa:bb:cc 192.168.0.18",
        "ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cc dev dpdk1 nud permanent"}) {
    Command c = parse_ok(line);
    EXPECT_EQ(c.op, Op::NeighAdd) << line;
    EXPECT_EQ(c.ip, ip(192, 168, 0, 18)) << line;
    EXPECT_EQ(c.mac, mac) << line;
    EXPECT_EQ(c.port, 1) << line;
  }
  Command c = parse_ok("ip neigh del 192.168.0.18 dev dpdk1");
  EXPECT_EQ(c.op, Op::NeighDel);
  EXPECT_EQ(c.ip, ip(192, 168, 0, 18));
  EXPECT_EQ(parse_ok("ip n delete 192.168.0.18 dev dpdk1").op, Op::NeighDel);
  for (const char* line :
       {"ip neigh", "ip n", "ip neigh show", "ip neighbour list", "ip n s dev dpdk0"}) {
    EXPECT_EQ(parse_ok(line).op, Op::NeighShow) << line;
  }
}

TEST(ParseIp, NeighErrors) {
  EXPECT_EQ(parse_err("ip neigh add 192.168.0.18 dev dpdk1"), "ip neigh add needs lladdr MAC");
  EXPECT_EQ(parse_err("ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cc"),
            "ip neigh add needs dev dpdkN");
  EXPECT_EQ(parse_err("ip neigh add lladdr 02:00:00:aa:bb:cc dev dpdk1"),
            "ip neigh add needs an address");
  EXPECT_EQ(parse_err("ip neigh del 192.168.0.18"), "ip neigh del needs dev dpdkN");
  EXPECT_EQ(parse_err("ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb dev dpdk1"),
            "bad lladdr '02:00:00:aa:bb' (expected aa:bb:cc:dd:ee:ff)");
  EXPECT_EQ(parse_err("ip neigh add 192.168.0.18/24 lladdr 02:00:00:aa:bb:cc dev dpdk1"),
            "bad address '192.168.0.18/24' (expected a dotted quad like 10.0.0.1)");
  EXPECT_EQ(parse_err("ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cc dev dpdk1 nud reachable"),
            "nud state 'reachable' is not supported (static neighbours are permanent)");
  EXPECT_EQ(parse_err("ip neigh del 192.168.0.18 lladdr 02:00:00:aa:bb:cc dev dpdk1"),
            "ip neigh del: unexpected 'lladdr'");
  EXPECT_EQ(
      parse_err(
          "ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cc lladdr 02:00:00:aa:bb:cd dev dpdk1"),
      "ip neigh add: lladdr given twice");
  EXPECT_EQ(parse_err("ip neigh replace 192.168.0.18 lladdr 02:00:00:aa:bb:cc dev dpdk1"),
            "unknown ip neigh command 'replace' (add, del or show)");
  EXPECT_EQ(parse_err("ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cc dev dpdk1 router"),
            "ip neigh add: unsupported argument 'router'");
}

// ---------------------------------------------------------------------------------------------
// apply_command: services

TEST(ApplyService, AddUsesDefaultsAndRejectsDuplicates) {
  Config cfg;
  run_ok(cfg, "-A -t 10.0.0.1:80");
  ASSERT_EQ(cfg.services.size(), 1u);
  EXPECT_EQ(cfg.services[0].scheduler, "wlc");
  EXPECT_EQ(cfg.services[0].sched_flags, 0u);
  EXPECT_EQ(cfg.services[0].key.proto, Proto::Tcp);
  run_err(cfg, "-A -t 10.0.0.1:80 -s rr", "service TCP 10.0.0.1:80 already exists");
  run_ok(cfg, "-A -u 10.0.0.1:80 -s sh -b sh-port");  // another protocol: another service
  ASSERT_EQ(cfg.services.size(), 2u);
  EXPECT_EQ(cfg.services[1].scheduler, "sh");
  EXPECT_EQ(cfg.services[1].sched_flags, kSchedShPort);
  run_err(cfg, "-A -t 10.0.0.1", "port 0 service TCP 10.0.0.1:0 needs persistence (-p)");
}

TEST(ApplyService, Persistence) {
  Config cfg = two_arm();
  run_ok(cfg, "-A -t 10.0.0.1:80 -s rr -p 600 -M 255.255.255.0");
  const ServiceConfig* s = &cfg.services.back();
  EXPECT_TRUE(s->persistent);
  EXPECT_EQ(s->timeout, 600u);
  EXPECT_EQ(s->netmask, 0xffffff00u);
  // ipvsadm resends a service's flags whole: -E -p without -M is the whole address again.
  run_ok(cfg, "-E -t 10.0.0.1:80 -p 60");
  s = &cfg.services.back();
  EXPECT_EQ(s->scheduler, "rr");
  EXPECT_EQ(s->timeout, 60u);
  EXPECT_EQ(s->netmask, 0xffffffffu);
  // -E without -p: no longer persistent, as with ipvsadm.
  run_ok(cfg, "-E -t 10.0.0.1:80 -s wrr");
  EXPECT_FALSE(cfg.services.back().persistent);
  run_err(cfg, "-E -t 10.0.0.1:80 -M 255.255.0.0", "-M (--netmask) needs -p (--persistent)");
  run_err(cfg, "-A -t 10.0.0.2:80 -M 255.255.0.0", "-M (--netmask) needs -p (--persistent)");
}

TEST(ApplyService, PortZeroServices) {
  Config cfg = two_arm();
  run_ok(cfg, "-A -t 172.16.254.200:0 -s rr -p");
  run_ok(cfg, "-a -t 172.16.254.200:0 -r 192.168.0.18 -m");
  run_ok(cfg, "-a -t 172.16.254.200:0 -r 192.168.0.28:0 -g");
  ASSERT_EQ(cfg.services.back().dests.size(), 2u);
  EXPECT_EQ(cfg.services.back().dests[0].rport, 0);
  EXPECT_EQ(cfg.services.back().dests[1].rport, 0);
  run_err(cfg, "-a -t 172.16.254.200:0 -r 192.168.0.38:8080 -m",
          "service TCP 172.16.254.200:0 has port 0: give the real server without a port (each "
          "connection keeps the port it was made to)");
  run_err(cfg, "-E -t 172.16.254.200:0 -s wrr",
          "port 0 service TCP 172.16.254.200:0 needs persistence (-p)");
  // An ordinary service still refuses a destination port 0.
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.38:0 -m", "real server port 0 is not valid");
}

TEST(ParseCheck, AddDelPoolList) {
  Command c = parse_ok(
      "--check add -t 10.0.0.1:80 -r 192.168.0.18 tcp interval=2s timeout=500ms "
      "retry=3 delay_before_retry=1.5 port=8080 inhibit");
  EXPECT_EQ(c.op, Op::CheckAdd);
  EXPECT_EQ(c.check.rport, 80);  // the service's port, as -a gives it
  EXPECT_EQ(c.check.spec.kind, CheckKind::Tcp);
  EXPECT_DOUBLE_EQ(c.check.spec.delay_loop, 2);
  EXPECT_DOUBLE_EQ(c.check.spec.connect_timeout, 0.5);
  EXPECT_EQ(c.check.spec.retry, 3u);
  EXPECT_DOUBLE_EQ(c.check.spec.delay_before_retry, 1.5);
  EXPECT_DOUBLE_EQ(c.check.spec.warmup, 2);  // keepalived: warmup defaults to delay_loop
  EXPECT_EQ(c.check.spec.connect_port, 8080);
  EXPECT_TRUE(c.check_inhibit);
  c = parse_ok(
      "--check add -u 10.0.0.1:53 -r 192.168.0.18:5353 http path=/a status=200,301-302 "
      "digest=0123456789abcdef0123456789abcdef path=/b host=example.org");
  ASSERT_EQ(c.check.spec.urls.size(), 2u);
  EXPECT_EQ(c.check.spec.urls[0].status_codes.size(), 2u);
  EXPECT_EQ(c.check.spec.urls[0].digest, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(c.check.spec.urls[1].virtualhost, "example.org");
  EXPECT_DOUBLE_EQ(c.check.spec.delay_before_retry, 3);  // HTTP_GET's default
  c = parse_ok("--check add -t 10.0.0.1:80 -r 192.168.0.18 misc program=/bin/chk arg=-x dynamic");
  EXPECT_EQ(c.check.spec.misc_argv, (std::vector<std::string>{"/bin/chk", "-x"}));
  EXPECT_EQ(c.check.spec.retry, 0u);  // MISC_CHECK's default
  EXPECT_TRUE(c.check.spec.misc_dynamic);
  c = parse_ok("--check pool -t 10.0.0.1:80 quorum=2 hysteresis=1 sorry=192.168.0.99:8080 route");
  EXPECT_EQ(c.pool.quorum, 2u);
  EXPECT_TRUE(c.pool.has_sorry);
  EXPECT_EQ(c.pool.sorry_port, 8080);
  EXPECT_EQ(c.pool.sorry_method, ForwardMethod::Route);
  EXPECT_EQ(parse_ok("--check del -t 10.0.0.1:80").op, Op::CheckDel);
  EXPECT_EQ(parse_ok("--check list").op, Op::CheckList);
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 tcp"),
            "--check add needs a real server: -r HOST[:PORT]");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 icmp"),
            "unknown check kind 'icmp' (tcp, http, misc)");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 tcp interval=soon"),
            "bad interval 'interval=soon'");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 tcp path=/"),
            "unknown option 'path=/' for a TCP_CHECK check");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 http"),
            "an http check needs path=/...");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 http status=200 path=/"),
            "'status=200' comes after the path= it is for");
  EXPECT_EQ(parse_err("--check frob"), "unknown --check command 'frob' (add, del, pool, list)");
}

TEST(ApplyCheck, ChecksFollowTheirServiceAndDestination) {
  Config cfg = two_arm();
  cfg.services.clear();
  run_ok(cfg, "-A -t 172.16.254.200:80 -s rr");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18 -m");
  run_err(cfg, "--check add -t 172.16.254.200:80 -r 192.168.0.28 tcp",
          "no such destination 192.168.0.28:80 in service TCP 172.16.254.200:80");
  run_err(cfg, "--check add -t 172.16.254.200:81 -r 192.168.0.18 tcp",
          "no such service TCP 172.16.254.200:81");
  run_ok(cfg, "--check add -t 172.16.254.200:80 -r 192.168.0.18 tcp inhibit");
  ASSERT_EQ(cfg.checks.size(), 1u);
  EXPECT_TRUE(cfg.services.back().dests[0].inhibit);
  run_ok(cfg, "--check pool -t 172.16.254.200:80 sorry=192.168.0.99");
  ASSERT_EQ(cfg.pools.size(), 1u);
  run_err(cfg, "--check del -t 172.16.254.200:80 -r 192.168.0.28",
          "no checks on 192.168.0.28:80 in service TCP 172.16.254.200:80");
  // -d takes the destination's checks, -D the service's pool rules too.
  run_ok(cfg, "-d -t 172.16.254.200:80 -r 192.168.0.18");
  EXPECT_TRUE(cfg.checks.empty());
  run_ok(cfg, "-D -t 172.16.254.200:80");
  EXPECT_TRUE(cfg.pools.empty());
}

TEST(ApplyCheck, MiscCheckRunsAsItsUser) {
  Config cfg = two_arm();
  cfg.services.clear();
  run_ok(cfg, "-A -t 172.16.254.200:80 -s rr");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18 -m");
  run_ok(cfg, "--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
              "user=nobody:nogroup");
  ASSERT_EQ(cfg.checks.size(), 1u);
  EXPECT_EQ(cfg.checks[0].spec.user, "nobody");
  EXPECT_EQ(cfg.checks[0].spec.uid, 65534u);  // Debian's nobody and nogroup
  EXPECT_EQ(cfg.checks[0].spec.gid, 65534u);
  run_ok(cfg, "--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
              "user=daemon");
  EXPECT_EQ(cfg.checks[1].spec.uid, 1u);  // daemon, and its own group
  EXPECT_EQ(cfg.checks[1].spec.gid, 1u);
  run_err(cfg, "--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
               "user=fvs-no-such-user",
          "misc check user: unknown user 'fvs-no-such-user'");
  run_err(cfg, "--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
               "user=nobody:fvs-no-such-group",
          "misc check user: unknown group 'fvs-no-such-group'");
  EXPECT_EQ(parse_err("--check add -t 172.16.254.200:80 -r 192.168.0.18 misc program=/bin/true "
                      "user=nobody:"),
            "bad user (user=NAME or user=NAME:GROUP) 'user=nobody:'");
  EXPECT_EQ(cfg.checks.size(), 2u);
}

TEST(ApplyTimeouts, SetKeepsZeroes) {
  Config cfg;
  run_ok(cfg, "--set 0 60 0");
  EXPECT_EQ(cfg.timeouts.tcp, 900u);
  EXPECT_EQ(cfg.timeouts.tcpfin, 60u);
  EXPECT_EQ(cfg.timeouts.udp, 300u);
  run_ok(cfg, "--set 7200 0 1");
  EXPECT_EQ(cfg.timeouts.tcp, 7200u);
  EXPECT_EQ(cfg.timeouts.tcpfin, 60u);
  EXPECT_EQ(cfg.timeouts.udp, 1u);
}

TEST(ApplyService, ServiceAddressNeedNotBeLocal) {
  Config cfg;
  run_ok(cfg, "-A -t 203.0.113.7:443 -s rr", 0);
}

TEST(ApplyService, Edit) {
  Config cfg;
  run_err(cfg, "-E -t 10.0.0.1:80 -s rr", "no such service TCP 10.0.0.1:80");
  run_ok(cfg, "-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port");
  run_ok(cfg, "-E -t 10.0.0.1:80");  // nothing given: nothing changes
  EXPECT_EQ(cfg.services[0].scheduler, "sh");
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedShFallback | kSchedShPort);
  run_ok(cfg, "-E -t 10.0.0.1:80 -b sh-port");  // keeps sh
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedShPort);
  run_ok(cfg, "-E -t 10.0.0.1:80 -s rr");  // -s without -b clears the flags
  EXPECT_EQ(cfg.services[0].scheduler, "rr");
  EXPECT_EQ(cfg.services[0].sched_flags, 0u);
  run_err(cfg, "-E -t 10.0.0.1:80 -b sh-port",
          "scheduler flag 'sh-port' needs the sh scheduler, not 'rr'");
  run_err(cfg, "-E -u 10.0.0.1:80 -s rr", "no such service UDP 10.0.0.1:80");
}

TEST(ApplyService, EditMhFlags) {
  // The bits stay with the service; the names must be its scheduler's.
  Config cfg;
  run_ok(cfg, "-A -t 10.0.0.1:80 -s mh -b mh-port");
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedMhPort);
  run_ok(cfg, "-E -t 10.0.0.1:80");  // keeps mh and its flag
  EXPECT_EQ(cfg.services[0].scheduler, "mh");
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedMhPort);
  run_ok(cfg, "-E -t 10.0.0.1:80 -b mh-fallback,mh-port");  // -b without -s: mh decides
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedMhFallback | kSchedMhPort);
  run_err(cfg, "-E -t 10.0.0.1:80 -b sh-port",
          "scheduler flag 'sh-port' needs the sh scheduler, not 'mh'");
  run_ok(cfg, "-E -t 10.0.0.1:80 -s sh -b sh-port");  // to sh: its own names
  EXPECT_EQ(cfg.services[0].scheduler, "sh");
  EXPECT_EQ(cfg.services[0].sched_flags, kSchedShPort);
  run_err(cfg, "-E -t 10.0.0.1:80 -b mh-port",
          "scheduler flag 'mh-port' needs the mh scheduler, not 'sh'");
  run_ok(cfg, "-E -t 10.0.0.1:80 -s mh");  // -s without -b clears them
  EXPECT_EQ(cfg.services[0].sched_flags, 0u);
}

TEST(ApplyService, DeleteAndClear) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18 -m");
  run_ok(cfg, "-A -u 172.16.254.200:53 -s rr");
  run_err(cfg, "-D -t 172.16.254.200:81", "no such service TCP 172.16.254.200:81");
  run_ok(cfg, "-D -t 172.16.254.200:80");
  ASSERT_EQ(cfg.services.size(), 1u);
  EXPECT_EQ(cfg.services[0].key.proto, Proto::Udp);
  run_ok(cfg, "-A -t 172.16.254.200:80");
  run_ok(cfg, "-C");
  EXPECT_TRUE(cfg.services.empty());
  // -C clears services only.
  EXPECT_EQ(cfg.addrs.size(), 2u);
  EXPECT_EQ(cfg.routes.size(), 1u);
  run_ok(cfg, "-C");  // clearing nothing is fine
}

// ---------------------------------------------------------------------------------------------
// apply_command: destinations

TEST(ApplyDest, AddInsertsAtFront) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 2 -x 10 -y 5");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.38 -m");
  const auto& d = cfg.services[0].dests;
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].rip, ip(192, 168, 0, 38));
  EXPECT_EQ(d[0].rport, 80);
  EXPECT_EQ(d[0].weight, 1);
  EXPECT_EQ(d[1].rip, ip(192, 168, 0, 28));
  EXPECT_EQ(d[1].weight, 2);
  EXPECT_EQ(d[1].u_threshold, 10u);
  EXPECT_EQ(d[1].l_threshold, 5u);
  EXPECT_EQ(d[1].method, ForwardMethod::Masq);
  EXPECT_EQ(d[2].rip, ip(192, 168, 0, 18));
}

// A file is applied with an index and runs of -a put in place at once (ConfigApplier): the
// result, and the first error, must be what applying its lines one by one gives.
TEST(ApplyConfigText, SameAsOneLineAtATime) {
  const std::vector<std::string> lines = {
      "ip addr add 172.16.254.200/24 dev dpdk0",
      "ip addr add 192.168.0.8/24 dev dpdk1",
      "-A -t 172.16.254.200:80 -s wrr",
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1",
      "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 2",
      "-A -u 172.16.254.200:53 -s rr",
      "-a -u 172.16.254.200:53 -r 192.168.0.18:53 -m",
      "-a -t 172.16.254.200:80 -r 192.168.0.38:80 -m -w 3",  // back to the first service
      "-e -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 7",
      "-a -t 172.16.254.200:80 -r 192.168.0.48 -g",
      "-d -t 172.16.254.200:80 -r 192.168.0.18:80",
      "-A -t 172.16.254.201:80 -s lc",
      "-D -u 172.16.254.200:53",
      "-a -t 172.16.254.201:80 -r 192.168.0.18:80 -m",
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 4",
      "-A -u 172.16.254.200:53 -s sh",
      "-a -u 172.16.254.200:53 -r 192.168.0.28:53 -m",
  };
  Config one;
  std::string text;
  for (const auto& l : lines) {
    run_ok(one, l);
    text += l + "\n";
  }
  const Config base;
  const LoadResult r = apply_config_text(base, text, "t", 2);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.cfg.services.size(), one.services.size());
  for (size_t i = 0; i < one.services.size(); ++i) {
    EXPECT_EQ(r.cfg.services[i].key, one.services[i].key);
    ASSERT_EQ(r.cfg.services[i].dests.size(), one.services[i].dests.size()) << i;
    for (size_t k = 0; k < one.services[i].dests.size(); ++k) {
      EXPECT_EQ(r.cfg.services[i].dests[k].rip, one.services[i].dests[k].rip) << i << " " << k;
      EXPECT_EQ(r.cfg.services[i].dests[k].weight, one.services[i].dests[k].weight);
    }
  }
  // A duplicate within a run, and after the run, are both caught, on their own line.
  const LoadResult dup = apply_config_text(base,
                                           text +
                                               "-a -t 172.16.254.201:80 -r 192.168.0.28:80 -m\n-a "
                                               "-t 172.16.254.201:80 -r 192.168.0.28:80 -m\n",
                                           "t", 2);
  EXPECT_EQ(dup.error,
            "t:19: destination 192.168.0.28:80 already exists in service TCP 172.16.254.201:80");
  const LoadResult dup2 =
      apply_config_text(base, text + "-a -t 172.16.254.200:80 -r 192.168.0.38:80 -m\n", "t", 2);
  EXPECT_EQ(dup2.error,
            "t:18: destination 192.168.0.38:80 already exists in service TCP 172.16.254.200:80");
}

TEST(ApplyDest, AddErrors) {
  Config cfg = two_arm();
  run_err(cfg, "-a -t 172.16.254.200:81 -r 192.168.0.18:80 -m",
          "no such service TCP 172.16.254.200:81");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 5",
          "destination 192.168.0.18:80 already exists in service TCP 172.16.254.200:80");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:8080 -m");  // another port: another dest
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28 -g");
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Route);
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.38:8080 -i");
  // -g and -i cannot map ports: the destination takes the service's port.
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Tunnel);
  EXPECT_EQ(cfg.services[0].dests[0].rport, 80);
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.38:9090 -g",
          "destination 192.168.0.38:80 already exists in service TCP 172.16.254.200:80");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.48");  // no method: -g
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Route);
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28 -m -y 1",
          "lower threshold 1 is higher than upper threshold 0");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28 -m -x 5 -y 6",
          "lower threshold 6 is higher than upper threshold 5");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.8 -m",
          "real server 192.168.0.8 is an address of this director");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 224.0.0.1 -m",
          "real server 224.0.0.1 is not a unicast address");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 0.0.0.0 -m",
          "real server 0.0.0.0 is not a unicast address");
}

// Found by fuzz_command (tests/fuzz/regressions/command/addr-on-a-real-server): a real server
// added first and then made an address of the director was saved by -S and refused by -R. The
// address is refused instead, as -a refuses it in the other order; a route's gateway too.
TEST(ApplyAddr, AnAddressThatIsARealServerOrGatewayIsRefused) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:8080 -m");
  run_ok(cfg, "ip route add 10.0.0.0/8 via 192.168.0.1 dev dpdk1");
  run_err(cfg, "ip addr add 192.168.0.18/24 dev dpdk1",
          "address 192.168.0.18 is real server 192.168.0.18:8080 of service TCP 172.16.254.200:80");
  run_err(cfg, "ip addr add 192.168.0.1/32 dev dpdk0",
          "address 192.168.0.1 is the gateway of route 10.0.0.0/8");
  run_err(cfg, "ip addr add 172.16.254.1/24 dev dpdk0",
          "address 172.16.254.1 is the gateway of route default");
  run_ok(cfg, "ip addr add 192.168.0.9/24 dev dpdk1");
}

// The other order of -a's reach check: deleting what makes a real server reachable would leave a
// configuration that -S saves and -R refuses.
TEST(ApplyAddr, DeletingWhatARealServerNeedsIsRefused) {
  Config cfg = two_arm();
  run_ok(cfg, "ip route del default");
  run_ok(cfg, "ip addr add 10.1.0.8/24 dev dpdk1");
  run_ok(cfg, "ip route add 10.9.0.0/16 via 192.168.0.1 dev dpdk1");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18 -g");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.9.0.5 -m");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.1.0.5 -i");
  run_err(cfg, "ip addr del 192.168.0.8/24 dev dpdk1",
          "address 192.168.0.8/24 is needed by route 10.9.0.0/16 via 192.168.0.1 (delete the "
          "route first)");
  run_err(cfg, "ip route del 10.9.0.0/16",
          "route 10.9.0.0/16 is needed by real server 10.9.0.5:80 of service TCP "
          "172.16.254.200:80 (delete the real server first)");
  run_err(cfg, "ip addr del 10.1.0.8/24 dev dpdk1",
          "address 10.1.0.8/24 is needed by real server 10.1.0.5:80 of service TCP "
          "172.16.254.200:80 (delete the real server first)");
  // A tunnel goes through routers: with a route to 10.1.0.5, its network's address can go.
  run_ok(cfg, "ip route add 10.1.0.0/16 via 192.168.0.1 dev dpdk1");
  run_ok(cfg, "ip addr del 10.1.0.8/24 dev dpdk1");
  run_ok(cfg, "-d -t 172.16.254.200:80 -r 10.9.0.5");
  run_ok(cfg, "ip route del 10.9.0.0/16");
  run_ok(cfg, "-d -t 172.16.254.200:80 -r 10.1.0.5");
  run_ok(cfg, "ip route del 10.1.0.0/16");
  // Direct routing needs the connected network itself: a route to it is not enough.
  run_ok(cfg, "ip route add 192.168.0.0/16 via 172.16.254.1 dev dpdk0");
  run_err(cfg, "ip addr del 192.168.0.8/24 dev dpdk1",
          "address 192.168.0.8/24 is needed by real server 192.168.0.18:80 of service TCP "
          "172.16.254.200:80 (delete the real server first)");
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -m");
  run_ok(cfg, "ip addr del 192.168.0.8/24 dev dpdk1");
}

TEST(ApplyDest, AddWithoutMethodFromACommandStruct) {
  Config cfg = two_arm();
  Command c;
  c.op = Op::AddDest;
  c.has_service = true;
  c.service = cfg.services[0].key;
  c.has_dest = true;
  c.rip = ip(192, 168, 0, 18);
  c.rport = 80;
  EXPECT_EQ(apply_command(cfg, c, 2), "");  // no method: -g, as ipvsadm
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Route);
  c.rip = ip(192, 168, 0, 19);
  c.has_method = true;
  c.weight = 70000;
  c.has_weight = true;
  EXPECT_EQ(apply_command(cfg, c, 2), "bad weight 70000 (0..65535)");
  EXPECT_EQ(cfg.services[0].dests.size(), 1u);
}

TEST(ApplyDest, DirectRoutingNeedsTheDirectorsLan) {
  Config cfg = two_arm();
  run_ok(cfg, "ip route add 10.9.0.0/16 via 192.168.0.1 dev dpdk1");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 10.9.0.5 -g",
          "real server 10.9.0.5 is not on a connected network: direct routing (-g) needs it on "
          "the director's LAN");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.9.0.5 -i");  // a tunnel goes through routers
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.9.0.6 -m");
  run_err(cfg, "-e -t 172.16.254.200:80 -r 10.9.0.6 -g",
          "real server 10.9.0.6 is not on a connected network: direct routing (-g) needs it on "
          "the director's LAN");
}

TEST(ApplyDest, MasqNeedsConnectedNetworkOrRoute) {
  Config cfg;
  run_ok(cfg, "ip addr add 192.168.0.8/24 dev dpdk1");
  run_ok(cfg, "-A -t 172.16.254.200:80 -s rr");
  run_err(cfg, "-a -t 172.16.254.200:80 -r 10.1.2.3:80 -m",
          "real server 10.1.2.3 is not on a connected network or route");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m");  // connected
  run_ok(cfg, "ip route add 10.1.0.0/16 via 192.168.0.1 dev dpdk1");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.1.2.3:80 -m");  // routed
  run_err(cfg, "-a -t 172.16.254.200:80 -r 10.2.0.1:80 -m",
          "real server 10.2.0.1 is not on a connected network or route");
  run_ok(cfg, "ip route add default via 192.168.0.1");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 10.2.0.1:80 -m");  // the default route covers it
}

TEST(ApplyDest, EditUpdatesOnlyWhatIsGiven) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 3 -x 100 -y 10");
  run_err(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.28:80 -w 1",
          "no such destination 192.168.0.28:80 in service TCP 172.16.254.200:80");
  run_err(cfg, "-e -t 172.16.254.200:81 -r 192.168.0.18:80 -w 1",
          "no such service TCP 172.16.254.200:81");
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -w 0");
  const DestConfig& d = cfg.services[0].dests[0];
  EXPECT_EQ(d.weight, 0);
  EXPECT_EQ(d.u_threshold, 100u);
  EXPECT_EQ(d.l_threshold, 10u);
  EXPECT_EQ(d.method, ForwardMethod::Masq);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -x 50");
  EXPECT_EQ(cfg.services[0].dests[0].u_threshold, 50u);
  EXPECT_EQ(cfg.services[0].dests[0].l_threshold, 10u);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -m -y 0 -x 0");
  EXPECT_EQ(cfg.services[0].dests[0].u_threshold, 0u);
  run_err(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -y 1",
          "lower threshold 1 is higher than upper threshold 0");
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -g");
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Route);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -i -w 9");
  EXPECT_EQ(cfg.services[0].dests[0].method, ForwardMethod::Tunnel);
}

TEST(ApplyDest, LastWeightIsTheLatestNonZeroWeight) {
  // __ip_vs_update_dest: "if (add || udest->weight != 0) last_weight = weight" (mh's table).
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 5");
  const DestConfig& d = cfg.services[0].dests[0];
  EXPECT_EQ(d.last_weight, 5);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -w 0");
  EXPECT_EQ(cfg.services[0].dests[0].weight, 0);
  EXPECT_EQ(cfg.services[0].dests[0].last_weight, 5);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -x 10");  // weight untouched
  EXPECT_EQ(cfg.services[0].dests[0].last_weight, 5);
  run_ok(cfg, "-e -t 172.16.254.200:80 -r 192.168.0.18 -w 3");
  EXPECT_EQ(cfg.services[0].dests[0].last_weight, 3);
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 0");  // added at 0: 0
  EXPECT_EQ(cfg.services[0].dests[0].last_weight, 0);
}

TEST(ApplyDest, Delete) {
  Config cfg = two_arm();
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m");
  run_ok(cfg, "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m");
  run_err(cfg, "-d -t 172.16.254.200:80 -r 192.168.0.18:81",
          "no such destination 192.168.0.18:81 in service TCP 172.16.254.200:80");
  run_err(cfg, "-d -u 172.16.254.200:80 -r 192.168.0.18", "no such service UDP 172.16.254.200:80");
  run_ok(cfg, "-d -t 172.16.254.200:80 -r 192.168.0.18");
  ASSERT_EQ(cfg.services[0].dests.size(), 1u);
  EXPECT_EQ(cfg.services[0].dests[0].rip, ip(192, 168, 0, 28));
}

// ---------------------------------------------------------------------------------------------
// apply_command: ip

TEST(ApplyAddr, AddAndDelete) {
  Config cfg;
  run_ok(cfg, "ip addr add 172.16.254.200/24 dev dpdk0");
  run_ok(cfg, "ip addr add 172.16.254.201/24 dev dpdk0");
  run_ok(cfg, "ip addr add 192.168.0.8/24 dev dpdk1");
  ASSERT_EQ(cfg.addrs.size(), 3u);
  EXPECT_EQ(cfg.addrs[2].ip, ip(192, 168, 0, 8));
  EXPECT_EQ(cfg.addrs[2].prefix_len, 24);
  EXPECT_EQ(cfg.addrs[2].port, 1);
  run_err(cfg, "ip addr add 172.16.254.200/24 dev dpdk0",
          "address 172.16.254.200 already exists on dpdk0");
  run_err(cfg, "ip addr add 172.16.254.200/32 dev dpdk1",
          "address 172.16.254.200 already exists on dpdk0");
  run_err(cfg, "ip addr del 172.16.254.200/32 dev dpdk0",
          "address 172.16.254.200/32 not found on dpdk0");
  run_err(cfg, "ip addr del 172.16.254.200/24 dev dpdk1",
          "address 172.16.254.200/24 not found on dpdk1");
  run_ok(cfg, "ip addr del 172.16.254.200/24 dev dpdk0");
  ASSERT_EQ(cfg.addrs.size(), 2u);
  EXPECT_EQ(cfg.addrs[0].ip, ip(172, 16, 254, 201));
}

TEST(ApplyAddr, PortsAndInvalidAddresses) {
  Config cfg;
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk5",
          "no port dpdk5 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk2",
          "no port dpdk2 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk1",
          "no port dpdk1 (the director has 1 port: dpdk0)", 1);
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk0", "no port dpdk0 (the director has no ports)", 0);
  run_err(cfg, "ip addr add 10.0.0.1/24 dev dpdk4",
          "no port dpdk4 (the director has 4 ports: dpdk0..dpdk3)", 4);
  run_err(cfg, "ip addr del 10.0.0.1/24 dev dpdk4",
          "no port dpdk4 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip addr add 0.0.0.0/0 dev dpdk0", "invalid interface address 0.0.0.0");
  run_err(cfg, "ip addr add 224.0.0.5/32 dev dpdk0", "invalid interface address 224.0.0.5");
  run_err(cfg, "ip addr add 255.255.255.255/32 dev dpdk0",
          "invalid interface address 255.255.255.255");
  run_err(cfg, "ip addr add 127.0.0.1/8 dev dpdk0", "invalid interface address 127.0.0.1");
}

TEST(ApplyAddr, DeleteRefusedWhileARouteNeedsIt) {
  Config cfg = two_arm();
  run_err(cfg, "ip addr del 172.16.254.200/24 dev dpdk0",
          "address 172.16.254.200/24 is needed by route default via 172.16.254.1 (delete the "
          "route first)");
  run_ok(cfg, "ip addr add 172.16.254.201/24 dev dpdk0");
  run_ok(cfg, "ip addr del 172.16.254.200/24 dev dpdk0");  // .201 still connects the gateway
  run_ok(cfg, "ip route del default");
  run_ok(cfg, "ip addr del 172.16.254.201/24 dev dpdk0");
}

TEST(ApplyRoute, AddAndDelete) {
  Config cfg = two_arm();
  ASSERT_EQ(cfg.routes.size(), 1u);
  EXPECT_EQ(cfg.routes[0].prefix, 0u);
  EXPECT_EQ(cfg.routes[0].prefix_len, 0);
  EXPECT_EQ(cfg.routes[0].via, ip(172, 16, 254, 1));
  EXPECT_EQ(cfg.routes[0].port, 0);
  run_ok(cfg, "ip route add 10.1.0.0/16 via 192.168.0.1");  // port from the gateway
  EXPECT_EQ(cfg.routes[1].port, 1);
  run_ok(cfg, "ip route add 10.2.0.0/16 dev dpdk1");  // on-link
  EXPECT_EQ(cfg.routes[2].via, 0u);
  EXPECT_EQ(cfg.routes[2].port, 1);
  run_err(cfg, "ip route add default via 172.16.254.2 dev dpdk0", "route default already exists");
  run_err(cfg, "ip route add 10.1.0.0/16 dev dpdk0", "route 10.1.0.0/16 already exists");
  run_err(cfg, "ip route del 10.3.0.0/16", "no such route 10.3.0.0/16");
  run_err(cfg, "ip route del 10.1.0.0/16 via 192.168.0.2", "no such route 10.1.0.0/16");
  run_err(cfg, "ip route del 10.1.0.0/16 dev dpdk0", "no such route 10.1.0.0/16");
  run_err(cfg, "ip route del 172.16.254.0/24", "no such route 172.16.254.0/24");  // connected
  run_ok(cfg, "ip route del 10.1.0.0/16 via 192.168.0.1 dev dpdk1");
  run_ok(cfg, "ip route del default");
  ASSERT_EQ(cfg.routes.size(), 1u);
  EXPECT_EQ(cfg.routes[0].prefix, ip(10, 2, 0, 0));
}

TEST(ApplyRoute, GatewayMustBeConnected) {
  Config cfg = two_arm();
  run_err(cfg, "ip route add 10.0.0.0/8 via 10.9.9.9 dev dpdk0",
          "gateway 10.9.9.9 is not on a connected network of dpdk0");
  run_err(cfg, "ip route add 10.0.0.0/8 via 192.168.0.1 dev dpdk0",
          "gateway 192.168.0.1 is not on a connected network of dpdk0");
  run_err(cfg, "ip route add 10.0.0.0/8 via 10.9.9.9",
          "gateway 10.9.9.9 is not on a connected network");
  run_err(cfg, "ip route add 10.0.0.0/8 via 192.168.0.8",
          "gateway 192.168.0.8 is an address of this director");
  run_err(cfg, "ip route add 10.0.0.0/8 via 192.168.0.1 dev dpdk3",
          "no port dpdk3 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip route add 10.0.0.0/8 dev dpdk2",
          "no port dpdk2 (the director has 2 ports: dpdk0..dpdk1)");
  Config empty;
  run_err(empty, "ip route add default via 172.16.254.1 dev dpdk0",
          "gateway 172.16.254.1 is not on a connected network of dpdk0");
}

TEST(ApplyRoute, HostBitsFromACommandStruct) {
  Config cfg;
  Command c;
  c.op = Op::RouteAdd;
  c.ip = ip(10, 0, 0, 1);
  c.prefix_len = 24;
  c.has_port = true;
  EXPECT_EQ(apply_command(cfg, c, 1), "invalid prefix 10.0.0.1/24: host bits set");
  EXPECT_TRUE(cfg.routes.empty());
}

TEST(ApplyNeigh, AddAndDelete) {
  Config cfg;
  run_ok(cfg, "ip neigh add 192.168.0.18 lladdr 02:00:00:AA:BB:CC dev dpdk1");
  ASSERT_EQ(cfg.neighs.size(), 1u);
  EXPECT_EQ(cfg.neighs[0].ip, ip(192, 168, 0, 18));
  EXPECT_EQ(format_mac(cfg.neighs[0].mac), "02:00:00:aa:bb:cc");
  EXPECT_EQ(cfg.neighs[0].port, 1);
  run_err(cfg, "ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cd dev dpdk1",
          "neighbour 192.168.0.18 already exists on dpdk1");
  run_ok(cfg, "ip neigh add 192.168.0.18 lladdr 02:00:00:aa:bb:cd dev dpdk0");  // per device
  run_err(cfg, "ip neigh add 192.168.0.19 lladdr 02:00:00:aa:bb:cd dev dpdk2",
          "no port dpdk2 (the director has 2 ports: dpdk0..dpdk1)");
  run_err(cfg, "ip neigh add 192.168.0.19 lladdr 01:00:5e:00:00:01 dev dpdk1",
          "lladdr 01:00:5e:00:00:01 is not a unicast MAC address");
  run_err(cfg, "ip neigh add 192.168.0.19 lladdr 00:00:00:00:00:00 dev dpdk1",
          "lladdr 00:00:00:00:00:00 is not a unicast MAC address");
  run_err(cfg, "ip neigh add 224.0.0.1 lladdr 02:00:00:aa:bb:cd dev dpdk1",
          "invalid neighbour address 224.0.0.1");
  run_err(cfg, "ip neigh del 192.168.0.19 dev dpdk1", "no neighbour 192.168.0.19 on dpdk1");
  run_err(cfg, "ip neigh del 192.168.0.18 dev dpdk3",
          "no port dpdk3 (the director has 2 ports: dpdk0..dpdk1)");
  run_ok(cfg, "ip neigh del 192.168.0.18 dev dpdk1");
  ASSERT_EQ(cfg.neighs.size(), 1u);
  EXPECT_EQ(cfg.neighs[0].port, 0);
}

TEST(Apply, ListingCommandsAreNotChanges) {
  Config cfg = two_arm();
  run_err(cfg, "-L -n", "-L (--list) does not change the configuration");
  run_err(cfg, "-l", "-L (--list) does not change the configuration");
  run_err(cfg, "-S", "-S (--save) does not change the configuration");
  run_err(cfg, "-R", "-R (--restore) does not change the configuration");
  run_err(cfg, "-Z", "-Z (--zero) does not change the configuration");
  run_err(cfg, "ip addr", "ip addr show does not change the configuration");
  run_err(cfg, "ip route show", "ip route show does not change the configuration");
  run_err(cfg, "ip neigh show", "ip neigh show does not change the configuration");
}

// ---------------------------------------------------------------------------------------------
// The config file

constexpr const char* kTwoArm = R"(# fastvs: two-arm NAT
ip addr add 172.16.254.200/24 dev dpdk0
ip addr add 192.168.0.8/24 dev dpdk1
ip route add default via 172.16.254.1 dev dpdk0

-A -t 172.16.254.200:80 -s wrr
-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1
-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1
)";

TEST(ConfigFile, TwoArmExample) {
  LoadResult r = load_config_text(kTwoArm, "fastvs.conf", 2);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.error, "");
  const Config& c = r.cfg;
  ASSERT_EQ(c.addrs.size(), 2u);
  EXPECT_EQ(c.addrs[0].ip, ip(172, 16, 254, 200));
  EXPECT_EQ(c.addrs[0].port, 0);
  EXPECT_EQ(c.addrs[1].ip, ip(192, 168, 0, 8));
  EXPECT_EQ(c.addrs[1].port, 1);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].via, ip(172, 16, 254, 1));
  ASSERT_EQ(c.services.size(), 1u);
  const ServiceConfig& s = c.services[0];
  EXPECT_EQ(s.key.vip, ip(172, 16, 254, 200));
  EXPECT_EQ(s.key.vport, 80);
  EXPECT_EQ(s.scheduler, "wrr");
  ASSERT_EQ(s.dests.size(), 2u);
  EXPECT_EQ(s.dests[0].rip, ip(192, 168, 0, 28));  // kernel order: last added first
  EXPECT_EQ(s.dests[1].rip, ip(192, 168, 0, 18));
  for (const DestConfig& d : s.dests) {
    EXPECT_EQ(d.rport, 80);
    EXPECT_EQ(d.method, ForwardMethod::Masq);
    EXPECT_EQ(d.weight, 1);
  }
  EXPECT_EQ(c.timeouts.tcp, 900u);
}

TEST(ConfigFile, OneArmExample) {
  const char* text =
      "ip addr add 172.16.254.200/24 dev dpdk0\n"
      "ip addr add 192.168.0.8/24 dev dpdk0\n"
      "ip route add default via 172.16.254.1 dev dpdk0\n"
      "-A -t 172.16.254.200:80 -s wrr\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1\n";
  LoadResult r = load_config_text(text, "one-arm.conf", 1);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.cfg.addrs[1].port, 0);
  ASSERT_EQ(r.cfg.services[0].dests.size(), 2u);
  EXPECT_EQ(r.cfg.services[0].dests[0].rip, ip(192, 168, 0, 28));
  // The two-arm file names dpdk1, which a one-port director does not have.
  r = load_config_text(kTwoArm, "fastvs.conf", 1);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fastvs.conf:3: no port dpdk1 (the director has 1 port: dpdk0)");
}

TEST(ConfigFile, ErrorsNameTheLineAndLoadNothing) {
  const char* text =
      "ip addr add 192.168.0.8/24 dev dpdk1\n"
      "\n"
      "-A -t 172.16.254.200:80 -s wrr\n"
      "-A -t 172.16.254.200:80 -s rr\n"
      "-A -t 172.16.254.201:80 -s bogus\n";
  LoadResult r = load_config_text(text, "x.conf", 2);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "x.conf:4: service TCP 172.16.254.200:80 already exists");
  EXPECT_TRUE(r.cfg.services.empty());
  EXPECT_TRUE(r.cfg.addrs.empty());

  r = load_config_text("-A -t 1.1.1.1:80 -s bogus\n", "y.conf", 2);
  EXPECT_EQ(r.error, "y.conf:1: bad scheduler name 'bogus'");
  r = load_config_text("-L -n\n", "y.conf", 2);
  EXPECT_EQ(r.error, "y.conf:1: -L (--list) does not change the configuration");
  // Order matters: a real server before the address that reaches it.
  r = load_config_text(
      "-A -t 172.16.254.200:80\n-a -t 172.16.254.200:80 -r 192.168.0.18 -m\n"
      "ip addr add 192.168.0.8/24 dev dpdk1\n",
      "z.conf", 2);
  EXPECT_EQ(r.error, "z.conf:2: real server 192.168.0.18 is not on a connected network or route");
}

TEST(ConfigFile, CommentsBlanksPrefixesAndCrlf) {
  const char* text =
      "# comment\r\n"
      "   \r\n"
      "\t# indented comment\n"
      "fastvsadm ip addr add 192.168.0.8/24 dev dpdk1   # DIP\r\n"
      "ipvsadm -C\n"
      "ipvsadm -A -t 172.16.254.200:80 -s rr\r\n"
      "fastvsadm -a -t 172.16.254.200:80 -r 192.168.0.18 -m -w 4\r\n"
      "-e -t 172.16.254.200:80 -r 192.168.0.18 -w 5";  // no final newline
  LoadResult r = load_config_text(text, "p.conf", 2);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.cfg.services.size(), 1u);
  EXPECT_EQ(r.cfg.services[0].scheduler, "rr");
  EXPECT_EQ(r.cfg.services[0].dests[0].weight, 5);
}

TEST(ConfigFile, EmptyTextIsAnEmptyConfig) {
  LoadResult r = load_config_text("", "e.conf", 2);
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.cfg.services.empty());
  r = load_config_text("\n\n# nothing\n", "e.conf", 2);
  EXPECT_TRUE(r.ok);
}

TEST(ConfigFile, FromAFile) {
  char path[] = "/tmp/fastvs_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << kTwoArm;
  }
  LoadResult r = load_config_file(path, 2);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.cfg.services.size(), 1u);
  {
    std::ofstream out(path);
    out << "ip addr add 10.0.0.1/24 dev dpdk0\n-A -t 10.0.0.1:80 -s nope\n";
  }
  r = load_config_file(path, 2);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, std::string(path) + ":2: bad scheduler name 'nope'");
  std::remove(path);

  r = load_config_file("/nonexistent/fastvs.conf", 2);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "/nonexistent/fastvs.conf: cannot open: No such file or directory");
}

}  // namespace
}  // namespace fastvs
