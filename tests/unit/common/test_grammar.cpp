// The fastvsadm grammar (common/grammar): ipvsadm's options, `ip addr|route|neigh|link`,
// `--check`, `--keepalived-reload`; parsing only (applying is control/config's).
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/grammar/command.h"
#include "tests/unit/common/grammar_helpers.h"

namespace fastvs {
namespace {

using namespace fastvs::testing;

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

TEST(ParseKeepalivedReload, FileIsOptional) {
  Command c = parse_ok("--keepalived-reload");
  EXPECT_EQ(c.op, Op::KeepalivedReload);
  EXPECT_EQ(c.path, "");
  c = parse_ok("--keepalived-reload /etc/keepalived/keepalived.conf");
  EXPECT_EQ(c.path, "/etc/keepalived/keepalived.conf");
  EXPECT_EQ(parse_err("--keepalived-reload a b"), "usage: --keepalived-reload [FILE]");
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
  for (const char* s : {"rr", "wrr", "lc", "wlc", "sh", "sed", "nq", "fo", "ovf", "dh", "mh",
                        "twos", "lblc", "lblcr"}) {
    EXPECT_EQ(parse_ok(std::string("-A -t 10.0.0.1:80 -s ") + s).scheduler, s);
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

  // ipvsadm's generic names, for any scheduler (-S writes them for those other than sh and mh).
  c = parse_ok("-A -t 10.0.0.1:80 -s rr -b flag-1,flag-2,flag-3");
  EXPECT_EQ(c.sched_flags, kSchedShFallback | kSchedShPort | kSchedFlag3);
  EXPECT_EQ(c.sched_flags_of, "");
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1:80 -s sh -b flag-1").sched_flags, kSchedShFallback);
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1:80 -b flag-3").sched_flags, kSchedFlag3);  // wlc
  c = parse_ok("-A -t 10.0.0.1:80 -s sh -b flag-1,sh-port");
  EXPECT_EQ(c.sched_flags, kSchedShFallback | kSchedShPort);
  EXPECT_EQ(c.sched_flags_of, "sh");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s sh -b flag-4"),
            "unknown scheduler flag 'flag-4' (known: sh-fallback, sh-port, mh-fallback, mh-port, "
            "flag-1, flag-2, flag-3)");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s sh -b sh-port,"),
            "empty scheduler flag in 'sh-port,' (known: sh-fallback, sh-port, mh-fallback, "
            "mh-port, flag-1, flag-2, flag-3)");
  // ipvsadm takes flag-3 with sh and mh but cannot list or save it there (print_sched_flags
  // writes "-b " and nothing): refused, so that -S, -C, -R gives the same table.
  EXPECT_EQ(parse_err("-A -u 10.0.0.1:53 -b flag-3 -s sh"),
            "scheduler flag 'flag-3' has no meaning for the sh scheduler (ipvsadm could not list "
            "or save it)");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:80 -s mh -b mh-port,flag-3"),
            "scheduler flag 'flag-3' has no meaning for the mh scheduler (ipvsadm could not list "
            "or save it)");
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
  Result<Command> r = parse_command({});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ((*r).op, Op::List);
}

TEST(ParseIpvsadm, SaveOutputParsesBack) {
  // What `ipvsadm -S -n` prints.
  EXPECT_TRUE(parse("-A -t 172.16.254.200:80 -s wrr").ok());
  EXPECT_TRUE(parse("-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1").ok());
  EXPECT_TRUE(parse("-A -u 172.16.254.200:53 -s sh -b sh-fallback,sh-port").ok());
  EXPECT_TRUE(parse("-A -u 172.16.254.200:54 -s mh -b mh-fallback,mh-port").ok());
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
            "service address 'www.example.com' is not a numeric IP address (host names are not "
            "resolved)");
  EXPECT_EQ(parse_err("-A -t localhost"),
            "service address 'localhost' is not a numeric IP address (host names are not "
            "resolved)");
  // ipvsadm's parse_service takes service names (the services database: netbase's
  // /etc/services, which scripts/install-deps installs), as -S without -n writes them.
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1:http").service.vport, 80);
  EXPECT_EQ(parse_ok("-A -u 10.0.0.1:domain").service.vport, 53);
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:nosuchservice"),
            "service address port 'nosuchservice' is neither a number nor a service name "
            "(/etc/services)");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:70000"), "bad service address port '70000' (0..65535)");
  EXPECT_EQ(parse_err("-A -t 10.0.0.1:"), "bad service address port '' (0..65535)");
  EXPECT_EQ(parse_err("-A -t 1.2.3:80"),
            "bad service address '1.2.3' (expected a dotted quad like 10.0.0.1)");
  EXPECT_EQ(parse_err("-A -t 256.1.1.1:80"),
            "bad service address '256.1.1.1' (expected a dotted quad like 10.0.0.1)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r rs1.example.com:80 -m"),
            "real server 'rs1.example.com' is not a numeric IP address (host names are not "
            "resolved)");
  // Port 0 parses (a port 0 service's destinations have it); applying checks it.
  EXPECT_EQ(parse_ok("-a -t 1.1.1.1:0 -r 2.2.2.2:0 -m").rport, 0);
  EXPECT_EQ(parse_ok("-a -t 1.1.1.1:80 -r 2.2.2.2:www -m").rport, 80);
  // A service without a port parses (-D, -L); -A rejects port 0 when applied.
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1").service.vport, 0);
}

TEST(ParseIpvsadm, MissingRequiredOptions) {
  EXPECT_EQ(parse_err("-A"), "-A (--add-service) needs a service: -t|-u ADDR:PORT or -f MARK");
  EXPECT_EQ(parse_err("-E -s rr"),
            "-E (--edit-service) needs a service: -t|-u ADDR:PORT or -f MARK");
  EXPECT_EQ(parse_err("-D"), "-D (--delete-service) needs a service: -t|-u ADDR:PORT or -f MARK");
  EXPECT_EQ(parse_err("-a -r 2.2.2.2 -m"),
            "-a (--add-server) needs a service: -t|-u ADDR:PORT or -f MARK");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -m"),
            "-a (--add-server) needs a real server: -r HOST[:PORT]");
  EXPECT_EQ(parse_err("-e -t 1.1.1.1:80 -w 2"),
            "-e (--edit-server) needs a real server: -r HOST[:PORT]");
  EXPECT_EQ(parse_err("-d -t 1.1.1.1:80"),
            "-d (--delete-server) needs a real server: -r HOST[:PORT]");
  EXPECT_EQ(parse_err("-t 1.1.1.1:80 -s rr"),
            "no command given (one of -A -E -D -C -a -e -d -L -S -R -Z, --set, --start-daemon, "
            "--stop-daemon)");
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
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -u 1.1.1.1:80"), "more than one service (-t/-u/-f)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -t 1.1.1.2:80"), "more than one service (-t/-u/-f)");
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
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -o"),
            "One-Packet Scheduling is only for UDP virtual services");
  EXPECT_EQ(parse_err("-L --pe sip"), "option --pe is not supported yet");
  // -S writes --tun-type ipip (ipvsadm 1.31); the only tunnel fastvsd makes.
  EXPECT_TRUE(parse("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type ipip").ok());
  EXPECT_TRUE(parse("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type=ipip").ok());
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type gue"),
            "--tun-type 'gue' is not supported (fastvsd tunnels with ipip)");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type"),
            "option --tun-type needs an argument");
  EXPECT_EQ(parse_err("-A --sctp-service 1.1.1.1:80"),
            "option --sctp-service is not supported yet");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type foo"),
            "bad --tun-type 'foo' (ipip, gue or gre)");
}

// ipvsadm's process_options and tunnel_opt_check, with its messages.
TEST(ParseIpvsadm, TunnelOptions) {
  for (const char* m : {"-m", "-g", ""}) {
    EXPECT_EQ(parse_err(std::string("-a -t 1.1.1.1:80 -r 10.0.0.2 --tun-type ipip ") + m),
              "Tunnel options conflict with forward method (--tun-* needs -i)")
        << m;
    EXPECT_EQ(parse_err(std::string("-e -t 1.1.1.1:80 -r 10.0.0.2 --tun-csum ") + m),
              "Tunnel options conflict with forward method (--tun-* needs -i)")
        << m;
  }
  // ipip (the default type) takes none of GUE's and GRE's options.
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-port 6080"),
            "Illegal 'tun-port' option with the 'ipip' tunnel type");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-type ipip --tun-nocsum"),
            "Illegal 'tun-nocsum' option with the 'ipip' tunnel type");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-csum"),
            "Illegal 'tun-csum' option with the 'ipip' tunnel type");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-remcsum"),
            "Illegal 'tun-remcsum' option with the 'ipip' tunnel type");
  EXPECT_EQ(parse_err("-a -t 1.1.1.1:80 -r 10.0.0.2 -i --tun-port x"),
            "bad --tun-port 'x' (0..65535)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 --tun-port 6080"),
            "option --tun-port is not allowed with -A (--add-service)");
}

// ipvsadm's LIST row of commands_v_options ('1': one of -c, a service, --timeout, --daemon) and
// its "options conflicts in the list command".
TEST(ParseIpvsadm, ListConflicts) {
  EXPECT_EQ(parse_err("-L -c -t 1.1.1.1:80"),
            "The option 'service-address' conflicts with the 'connection' option in the 'list' "
            "command");
  EXPECT_EQ(parse_err("-L --timeout -c"),
            "The option 'timeout' conflicts with the 'connection' option in the 'list' command");
  EXPECT_EQ(parse_err("-L --daemon --timeout"),
            "The option 'daemon' conflicts with the 'timeout' option in the 'list' command");
  EXPECT_EQ(parse_err("-L -t 1.1.1.1:80 --daemon"),
            "The option 'daemon' conflicts with the 'service-address' option in the 'list' "
            "command");
  for (const char* o :
       {"-c --stats", "-c --rate", "-c --thresholds", "--daemon --stats", "--timeout --rate",
        "--timeout --persistent-conn", "--daemon --persistent-conn"})
    EXPECT_EQ(parse_err(std::string("-L ") + o), "options conflicts in the list command") << o;
  // What ipvsadm allows together.
  EXPECT_TRUE(parse_ok("-L -c --persistent-conn").list_persistent_conn);
  EXPECT_TRUE(parse_ok("-L -n -t 1.1.1.1:80 --stats --exact").list_stats);
  EXPECT_TRUE(parse_ok("-L -n --tun-info").list_tun_info);
  EXPECT_TRUE(parse_ok("-L -n -t 1.1.1.1:80 --tun-info").list_tun_info);
}

TEST(ParseIpvsadm, VersionStandsAlone) {
  // fastvsadm answers -v itself; in a line of -R or a config file it is no table command.
  EXPECT_EQ(parse_err("-v"),
            "-v (--version) stands alone: fastvsadm -v prints fastvsadm's version");
  for (const char* line : {"-L --version", "-Lv", "-vn", "--version=1", "-L -n -v"})
    EXPECT_EQ(parse_err(line),
              "-v (--version) stands alone: fastvsadm -v prints fastvsadm's version")
        << line;
}

// ipvsadm's host_to_addr, through the thread's resolver (a fake one here: the process test
// resolves through /etc/hosts).
TEST(ParseIpvsadm, HostNames) {
  EXPECT_EQ(parse_err("-A -t web:80"),
            "service address 'web' is not a numeric IP address (host names are not resolved)");
  std::vector<std::string> asked;
  set_host_resolver([&asked](std::string_view name) -> std::optional<IpAddr> {
    asked.emplace_back(name);
    if (name == "web") return ip(10, 0, 0, 80);
    return std::nullopt;
  });
  Command c = parse_ok("-a -t web:http -r web:8080 -m");
  EXPECT_EQ(c.service.vip, ip(10, 0, 0, 80));
  EXPECT_EQ(c.service.vport, 80);
  EXPECT_EQ(c.rip, ip(10, 0, 0, 80));
  EXPECT_EQ(c.rport, 8080);
  EXPECT_EQ(parse_ok("-A -tweb").service.vip, ip(10, 0, 0, 80));
  EXPECT_EQ(parse_err("-A -t nowhere:80"),
            "service address 'nowhere' is no host name with an IPv4 address (nor a numeric IP "
            "address)");
  // Numbers are never looked up.
  EXPECT_EQ(parse_ok("-A -t 10.1.2.3:80").service.vip, ip(10, 1, 2, 3));
  EXPECT_EQ(asked, (std::vector<std::string>{"web", "web", "web", "nowhere"}));
  set_host_resolver(nullptr);
}

// -o (--ops): a flag of -A and -E, UDP services only (ipvsadm's process_options).
TEST(ParseIpvsadm, OnePacketScheduling) {
  EXPECT_TRUE(parse_ok("-A -u 1.1.1.1:53 -o").ops);
  EXPECT_TRUE(parse_ok("-E -u 1.1.1.1:53 --ops -s rr").ops);
  EXPECT_TRUE(parse_ok("-Aou 1.1.1.1:53").ops);
  EXPECT_FALSE(parse_ok("-A -u 1.1.1.1:53").ops);
  EXPECT_EQ(parse_err("-E -t 1.1.1.1:80 -o"),
            "One-Packet Scheduling is only for UDP virtual services");
  EXPECT_EQ(parse_err("-a -u 1.1.1.1:53 -r 2.2.2.2 -o"),
            "option -o (--ops) is not allowed with -a (--add-server)");
  EXPECT_EQ(parse_err("-A -u 1.1.1.1:53 --ops=1"), "option -o (--ops) takes no argument");
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
            "bad netmask '255.0' (a dotted quad like 255.255.255.0, or a prefix length 1..32)");
  // A prefix length, as for IPv6.
  EXPECT_EQ(parse_ok("-A -t 1.1.1.1:80 -p -M 24").netmask, 0xffffff00u);
  EXPECT_EQ(parse_ok("-A -t 1.1.1.1:80 -p -M 32").netmask, 0xffffffffu);
  EXPECT_EQ(parse_ok("-A -t 1.1.1.1:80 -p -M 1").netmask, 0x80000000u);
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -p -M 33"),
            "bad netmask '33' (a dotted quad like 255.255.255.0, or a prefix length 1..32)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 -p -M 0"),
            "bad netmask '0' (a dotted quad like 255.255.255.0, or a prefix length 1..32)");
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

TEST(ParseIpvsadm, StartDaemon) {
  // ipvsadm(8): --start-daemon state [--mcast-interface IF] [--syncid N] [--sync-maxlen N]
  // [--mcast-group ADDR] [--mcast-port PORT] [--mcast-ttl TTL]; the defaults are the kernel's.
  Command c = parse_ok("--start-daemon master");
  EXPECT_EQ(c.op, Op::StartDaemon);
  EXPECT_TRUE(c.sync_is_master);
  EXPECT_EQ(c.sync, SyncDaemonConfig{});
  EXPECT_EQ(c.sync.ifname, "dpdk0");
  EXPECT_EQ(c.sync.syncid, 0);
  EXPECT_EQ(c.sync.maxlen, 0);
  EXPECT_EQ(c.sync.group, ip4(224, 0, 0, 81));
  EXPECT_EQ(c.sync.port, 8848);
  EXPECT_EQ(c.sync.ttl, 1);
  c = parse_ok(
      "--start-daemon backup --mcast-interface dpdk1 --syncid 255 --sync-maxlen 65507 "
      "--mcast-group 239.1.2.3 --mcast-port 65535 --mcast-ttl 255");
  EXPECT_FALSE(c.sync_is_master);
  EXPECT_EQ(c.sync.ifname, "dpdk1");
  EXPECT_EQ(c.sync.syncid, 255);
  EXPECT_EQ(c.sync.maxlen, 65507);
  EXPECT_EQ(c.sync.group, ip4(239, 1, 2, 3));
  EXPECT_EQ(c.sync.port, 65535);
  EXPECT_EQ(c.sync.ttl, 255);
  // The state as --start-daemon's argument after '=', the options in any order and with '='.
  c = parse_ok("--syncid=7 --start-daemon=backup --mcast-ttl=2 --sync-maxlen 1");
  EXPECT_EQ(c.op, Op::StartDaemon);
  EXPECT_FALSE(c.sync_is_master);
  EXPECT_EQ(c.sync.syncid, 7);
  EXPECT_EQ(c.sync.ttl, 2);
  EXPECT_EQ(c.sync.maxlen, 1);
  EXPECT_EQ(parse_ok("--start-daemon master --mcast-group 224.0.0.0").sync.group,
            ip4(224, 0, 0, 0));
  EXPECT_EQ(parse_ok("--start-daemon master --mcast-group 239.255.255.255").sync.group,
            ip4(239, 255, 255, 255));
  EXPECT_EQ(parse_ok("--start-daemon master --mcast-interface dpdk12").sync.ifname, "dpdk12");
  EXPECT_EQ(command_name(Op::StartDaemon), "--start-daemon");
  EXPECT_TRUE(changes_config(Op::StartDaemon));
}

TEST(ParseIpvsadm, StartDaemonErrors) {
  EXPECT_EQ(parse_err("--start-daemon"), "--start-daemon needs a state: master or backup");
  EXPECT_EQ(parse_err("--start-daemon --syncid 1"),
            "--start-daemon needs a state: master or backup");
  EXPECT_EQ(parse_err("--start-daemon foo"), "bad sync daemon state 'foo' (master or backup)");
  EXPECT_EQ(parse_err("--start-daemon=Master"),
            "bad sync daemon state 'Master' (master or backup)");
  EXPECT_EQ(parse_err("--start-daemon master backup"), "unexpected argument 'backup'");
  EXPECT_EQ(parse_err("--start-daemon master --syncid 300"), "bad --syncid '300' (0..255)");
  EXPECT_EQ(parse_err("--start-daemon master --syncid 256"), "bad --syncid '256' (0..255)");
  EXPECT_EQ(parse_err("--start-daemon master --syncid -1"), "bad --syncid '-1' (0..255)");
  EXPECT_EQ(parse_err("--start-daemon master --syncid x"), "bad --syncid 'x' (0..255)");
  EXPECT_EQ(parse_err("--start-daemon master --sync-maxlen 0"), "bad --sync-maxlen '0' (1..65507)");
  EXPECT_EQ(parse_err("--start-daemon master --sync-maxlen 65508"),
            "bad --sync-maxlen '65508' (1..65507)");
  EXPECT_EQ(parse_err("--start-daemon master --mcast-group 10.0.0.1"),
            "bad --mcast-group '10.0.0.1' (an IPv4 multicast address, 224.0.0.0/4)");
  EXPECT_EQ(parse_err("--start-daemon master --mcast-group 240.0.0.1"),
            "bad --mcast-group '240.0.0.1' (an IPv4 multicast address, 224.0.0.0/4)");
  EXPECT_EQ(parse_err("--start-daemon master --mcast-group sync.example"),
            "bad --mcast-group 'sync.example' (an IPv4 multicast address, 224.0.0.0/4)");
  EXPECT_EQ(parse_err("--start-daemon master --mcast-group ff02::51"),
            "--mcast-group 'ff02::51': an IPv6 group is not supported yet");
  EXPECT_EQ(parse_err("--start-daemon master --mcast-port 0"), "bad --mcast-port '0' (1..65535)");
  EXPECT_EQ(parse_err("--start-daemon master --mcast-port 65536"),
            "bad --mcast-port '65536' (1..65535)");
  EXPECT_EQ(parse_err("--start-daemon master --mcast-ttl 0"), "bad --mcast-ttl '0' (1..255)");
  EXPECT_EQ(parse_err("--start-daemon master --mcast-ttl 256"), "bad --mcast-ttl '256' (1..255)");
  for (const char* dev : {"eth0", "dpdk", "dpdk01", "dpdk-1", "dpdk65536", "lo"}) {
    EXPECT_EQ(parse_err(std::string("--start-daemon master --mcast-interface ") + dev),
              std::string("bad --mcast-interface '") + dev +
                  "' (a port of the director: dpdk0, dpdk1, ...)");
  }
  EXPECT_EQ(parse_err("--start-daemon master --syncid 1 --syncid 2"),
            "option --syncid given twice");
  EXPECT_EQ(parse_err("--start-daemon master -n"),
            "option -n (--numeric) is not allowed with --start-daemon");
  EXPECT_EQ(parse_err("--start-daemon master -t 1.1.1.1:80"),
            "option -t (--tcp-service) is not allowed with --start-daemon");
  EXPECT_EQ(parse_err("--start-daemon master --stop-daemon backup"),
            "multiple commands: --start-daemon and --stop-daemon");
  // The daemon's options belong to --start-daemon alone.
  EXPECT_EQ(parse_err("-L --syncid 1"), "option --syncid is not allowed with -L (--list)");
  EXPECT_EQ(parse_err("-A -t 1.1.1.1:80 --mcast-interface dpdk0"),
            "option --mcast-interface is not allowed with -A (--add-service)");
  EXPECT_EQ(parse_err("--syncid 1"),
            "no command given (one of -A -E -D -C -a -e -d -L -S -R -Z, --set, --start-daemon, "
            "--stop-daemon)");
}

TEST(ParseIpvsadm, StopDaemon) {
  Command c = parse_ok("--stop-daemon master");
  EXPECT_EQ(c.op, Op::StopDaemon);
  EXPECT_TRUE(c.sync_is_master);
  c = parse_ok("--stop-daemon=backup");
  EXPECT_EQ(c.op, Op::StopDaemon);
  EXPECT_FALSE(c.sync_is_master);
  EXPECT_EQ(parse_err("--stop-daemon"), "--stop-daemon needs a state: master or backup");
  EXPECT_EQ(parse_err("--stop-daemon both"), "bad sync daemon state 'both' (master or backup)");
  EXPECT_EQ(parse_err("--stop-daemon master --syncid 1"),
            "option --syncid is not allowed with --stop-daemon");
  EXPECT_EQ(parse_err("--stop-daemon master --mcast-interface dpdk0"),
            "option --mcast-interface is not allowed with --stop-daemon");
}

TEST(ParseIpvsadm, ListDaemon) {
  Command c = parse_ok("-L --daemon");
  EXPECT_EQ(c.op, Op::List);
  EXPECT_TRUE(c.list_daemon);
  EXPECT_FALSE(parse_ok("-L").list_daemon);
  EXPECT_TRUE(parse_ok("-Ln --daemon").list_daemon);
  EXPECT_TRUE(parse_ok("-l --daemon").list_daemon);
  EXPECT_EQ(parse_err("-L --daemon=1"), "option --daemon takes no argument");
  EXPECT_EQ(parse_err("-S --daemon"), "option --daemon is not allowed with -S (--save)");
  EXPECT_EQ(parse_err("--start-daemon master --daemon"),
            "option --daemon is not allowed with --start-daemon");
  // ipvsadm: "options conflicts in the list command".
  for (const char* o : {"--stats", "--rate", "--thresholds", "--persistent-conn"})
    EXPECT_EQ(parse_err(std::string("-L --daemon ") + o), "options conflicts in the list command")
        << o;
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
  EXPECT_EQ(parse_err("ip -5 route"), "unsupported ip option '-5'");
}

TEST(ParseIp, RouteAdd) {
  Command c = parse_ok("ip route add default via 172.16.254.1 dev dpdk0");
  EXPECT_EQ(c.op, Op::RouteAdd);
  EXPECT_EQ(c.ip, IpAddr{});
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
  EXPECT_EQ(c.via, IpAddr{});
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
            "gateway 'gw.example.com' is not a numeric IP address (host names are not resolved)");
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
            "unknown check kind 'icmp' (tcp, http, ssl, udp, dns, ping, smtp, misc, file)");
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

// ---------------------------------------------------------------------------------------------
// IPv6, as ipvsadm 1.31's parse_service and iproute2 read it.

TEST(ParseIpvsadmIpv6, ServiceAndRealServerForms) {
  // "[ADDR]:PORT"; a bare address (every ':' is the address's, so no port).
  Command c = parse_ok("-A -t [2001:db8::1]:80 -s rr");
  EXPECT_TRUE(c.service.vip.is_v6());
  EXPECT_EQ(c.service.vip, ip6("2001:db8::1"));
  EXPECT_EQ(c.service.vport, 80);
  c = parse_ok("-A -u 2001:db8::1:53 -p");
  EXPECT_EQ(c.service.vip, ip6("2001:db8::1:53"));  // ipvsadm: inet_pton takes it whole
  EXPECT_EQ(c.service.vport, 0);
  c = parse_ok("-a -t [2001:db8::1]:80 -r [2001:db8:1::10]:8080 -m -w 2");
  EXPECT_EQ(c.rip, ip6("2001:db8:1::10"));
  EXPECT_EQ(c.rport, 8080);
  c = parse_ok("-a -t [2001:db8::1]:80 -r 2001:db8:1::10 -g");
  EXPECT_EQ(c.rip, ip6("2001:db8:1::10"));
  EXPECT_EQ(c.rport, 80);  // no port: the service's, as for IPv4
  c = parse_ok("-a -t [::ffff:10.0.0.1]:80 -r [::ffff:10.0.0.2]:80 -m");
  EXPECT_EQ(c.service.vip, ip6("::ffff:10.0.0.1"));
  c = parse_ok("-At[2001:db8::1]:443");  // bundled, as getopt reads it
  EXPECT_EQ(c.service.vport, 443);
  EXPECT_EQ(parse_ok("-d -t [2001:db8::1]:80 -r [2001:db8:1::10]:80").op, Op::DelDest);
  EXPECT_EQ(parse_ok("-L -n -t [2001:db8::1]:80").service.vip, ip6("2001:db8::1"));
  EXPECT_EQ(parse_ok("--add-service --tcp-service=[2001:db8::1]:80").service.vport, 80);
}

TEST(ParseIpvsadmIpv6, BadForms) {
  // Brackets need ":PORT" (parse_service returns SERVICE_NONE without it).
  EXPECT_EQ(parse_err("-A -t [2001:db8::1]"),
            "bad service address '[2001:db8::1]' (an IPv6 address in brackets takes a port: "
            "[2001:db8::1]:80)");
  EXPECT_EQ(parse_err("-A -t [2001:db8::1]80"),
            "bad service address '[2001:db8::1]80' (an IPv6 address in brackets takes a port: "
            "[2001:db8::1]:80)");
  EXPECT_EQ(parse_err("-A -t [2001:db8::1:80"),
            "bad service address '[2001:db8::1:80' (an IPv6 address in brackets takes a port: "
            "[2001:db8::1]:80)");
  EXPECT_EQ(parse_err("-A -t [10.0.0.1]:80"),
            "bad service address '[10.0.0.1]:80' (expected an IPv6 address in brackets like "
            "[2001:db8::1]:80)");
  EXPECT_EQ(parse_err("-A -t [2001:db8::g]:80"),
            "bad service address '[2001:db8::g]:80' (expected an IPv6 address in brackets like "
            "[2001:db8::1]:80)");
  EXPECT_EQ(parse_err("-A -t [2001:db8::1]:70000"), "bad service address port '70000' (0..65535)");
  EXPECT_EQ(parse_ok("-A -t [2001:db8::1]:https").service.vport, 443);
  EXPECT_EQ(parse_err("-A -t 2001:db8::1::80"),
            "bad service address '2001:db8::1::80' (an IPv6 address with a port is written "
            "[2001:db8::1]:80)");
  EXPECT_EQ(parse_err("-a -t [2001:db8::1]:80 -r fe80::1%eth0 -m"),
            "bad real server 'fe80::1%eth0' (an IPv6 address with a port is written "
            "[2001:db8::1]:80)");
}

TEST(ParseIpvsadmIpv6, FamiliesMixOnlyForTunnels) {
  // ipvsadm: "Different address family is allowed only for tunneling servers" (and the
  // kernel's ip_vs_genl_set_cmd: -EINVAL unless IP_VS_CONN_F_TUNNEL).
  const std::string msg = "different address family is allowed only for tunneling servers (-i)";
  EXPECT_EQ(parse_err("-a -t [2001:db8::1]:80 -r 10.0.0.2 -m"), msg);
  EXPECT_EQ(parse_err("-a -t 10.0.0.1:80 -r [2001:db8:1::10]:80 -g"), msg);
  EXPECT_EQ(parse_err("-a -t 10.0.0.1:80 -r 2001:db8:1::10"), msg);  // -g is the default
  EXPECT_EQ(parse_err("-e -t 10.0.0.1:80 -r 2001:db8:1::10 -w 2"), msg);
  EXPECT_TRUE(parse("-a -t 10.0.0.1:80 -r 2001:db8:1::10 -i").ok());
  EXPECT_TRUE(parse("-a -t [2001:db8::1]:80 -r 10.0.0.2 -i").ok());
  // Deleting names a destination: no family rule.
  EXPECT_TRUE(parse("-d -t 10.0.0.1:80 -r 2001:db8:1::10").ok());
}

TEST(ParseIpvsadmIpv6, NetmaskIsAPrefixLength) {
  // ipvsadm: -M for an IPv6 service is a prefix length 1..128 (atoi, "illegal ipv6 netmask").
  Command c = parse_ok("-A -t [2001:db8::1]:80 -p 60 -M 64");
  EXPECT_TRUE(c.has_netmask);
  EXPECT_EQ(c.netmask6, 64);
  EXPECT_EQ(c.netmask, 0xffffffffu);
  // Read once the service is known, whatever the order (ipvsadm reads it by the family of a
  // -t given before it).
  EXPECT_EQ(parse_ok("-A -p -M 48 -t [2001:db8::1]:80").netmask6, 48);
  EXPECT_EQ(parse_ok("-E -t [2001:db8::1]:80 -p --netmask=128").netmask6, 128);
  EXPECT_EQ(parse_err("-A -t [2001:db8::1]:80 -p -M 0"),
            "bad IPv6 netmask '0' (a prefix length 1..128)");
  EXPECT_EQ(parse_err("-A -t [2001:db8::1]:80 -p -M 129"),
            "bad IPv6 netmask '129' (a prefix length 1..128)");
  EXPECT_EQ(parse_err("-A -t [2001:db8::1]:80 -p -M ffff:ffff::"),
            "bad IPv6 netmask 'ffff:ffff::' (a prefix length 1..128)");
  // An IPv4 service's may be either (ParseIpvsadm.Persistence).
  EXPECT_EQ(parse_ok("-A -t 10.0.0.1:80 -p -M 24").netmask, 0xffffff00u);
}

TEST(ParseIpvsadmIpv6, DashSixIsForFwmarkServices) {
  // ipvsadm takes -6 only after -f ("-6 used before -f").
  EXPECT_EQ(parse_err("-A -t [2001:db8::1]:80 -6"),
            "-6 used before -f (-6 makes a firewall-mark service IPv6)");
  EXPECT_EQ(parse_err("-A -6 -f 1"), "-6 used before -f (-6 makes a firewall-mark service IPv6)");
  const Command c = parse_ok("-A -f 1 -6 -s rr -p -M 64");
  EXPECT_EQ(c.service, ServiceKey::of_fwmark(1, true));
  EXPECT_EQ(c.netmask6, 64);
}

TEST(ParseIpvsadm, FwmarkServices) {
  Command c = parse_ok("-A -f 80 -s rr -p 600");
  EXPECT_TRUE(c.service.is_fwmark());
  EXPECT_EQ(c.service.fwmark, 80u);
  EXPECT_TRUE(c.service.vip.is_v4());
  EXPECT_EQ(c.service.proto, Proto::Tcp);  // ipvsadm: "a sane value, even though it is not used"
  EXPECT_EQ(c.service.vport, 0);
  EXPECT_EQ(parse_ok("--add-service --fwmark-service=4294967295").service.fwmark, 4294967295u);
  // A real server without a port keeps 0 (each connection its own), whatever the method.
  c = parse_ok("-a -f 80 -r 10.0.0.2 -g");
  EXPECT_EQ(c.rport, 0);
  EXPECT_EQ(parse_ok("-a -f 80 -r 10.0.0.2:8080 -m").rport, 8080);
  // parse_fwmark: strtol base 10, 1..UINT_MAX.
  for (const char* bad : {"0", "-1", "4294967296", "0x10", "1a"})
    EXPECT_EQ(parse_err(std::string("-A -f ") + bad).rfind("invalid fwmark value", 0), 0u) << bad;
  EXPECT_EQ(parse_err("-A -f 1 -t 10.0.0.1:80"), "more than one service (-t/-u/-f)");
  // -o: ipvsadm checks the protocol of -t/-u services only.
  EXPECT_TRUE(parse_ok("-A -f 1 -o").ops);
  EXPECT_TRUE(parse_ok("-L -f 1 -6 -n").service.vip.is_v6());
  EXPECT_TRUE(parse_ok("-Z -f 1").has_service);
  EXPECT_EQ(parse_err("-L -f 1 -c"),
            "The option 'service-address' conflicts with the 'connection' option in the 'list' "
            "command");
}

TEST(ParseIpIpv6, AddrForms) {
  // iproute2 takes the family from the address; without /LEN an IPv6 address is a /128.
  Command c = parse_ok("ip addr add 2001:db8::200/64 dev dpdk0");
  EXPECT_EQ(c.op, Op::AddrAdd);
  EXPECT_EQ(c.ip, ip6("2001:db8::200"));
  EXPECT_EQ(c.prefix_len, 64);
  EXPECT_FALSE(c.ip_family);
  c = parse_ok("ip -6 addr add 2001:db8::200 dev dpdk0");
  EXPECT_EQ(c.prefix_len, 128);
  EXPECT_EQ(c.ip_family, IpAddr::Family::V6);
  EXPECT_EQ(parse_ok("ip addr add 10.0.0.1 dev dpdk0").prefix_len, 32);
  EXPECT_EQ(parse_ok("ip a d fe80::1/10 dev dpdk1").op, Op::AddrDel);
  EXPECT_EQ(parse_ok("ip -6 addr").ip_family, IpAddr::Family::V6);
  EXPECT_EQ(parse_ok("ip -4 addr show dev dpdk0").ip_family, IpAddr::Family::V4);
  EXPECT_EQ(parse_err("ip addr add 2001:db8::1/129 dev dpdk0"),
            "bad prefix length in '2001:db8::1/129' (0..128)");
  EXPECT_EQ(parse_err("ip addr add 2001:db8::g/64 dev dpdk0"),
            "bad address '2001:db8::g' (expected an IPv6 address like 2001:db8::1)");
  // -4/-6 and an address of the other family.
  EXPECT_EQ(parse_err("ip -6 addr add 10.0.0.1/24 dev dpdk0"),
            "IPv6 address expected (ip -6) rather than '10.0.0.1/24'");
  EXPECT_EQ(parse_err("ip -4 addr add 2001:db8::1/64 dev dpdk0"),
            "IPv4 address expected (ip -4) rather than '2001:db8::1/64'");
}

TEST(ParseIpIpv6, RouteForms) {
  Command c = parse_ok("ip -6 route add 2001:db8:2::/48 via 2001:db8::1 dev dpdk0");
  EXPECT_EQ(c.op, Op::RouteAdd);
  EXPECT_EQ(c.ip, ip6("2001:db8:2::"));
  EXPECT_EQ(c.prefix_len, 48);
  EXPECT_EQ(c.via, ip6("2001:db8::1"));
  // "default" is ::/0 with -6, or when the gateway is IPv6 (iproute_modify takes the route's
  // family from "via"); 0.0.0.0/0 otherwise.
  c = parse_ok("ip route add default via fe80::1 dev dpdk0");
  EXPECT_EQ(c.ip, ip6("::"));
  EXPECT_EQ(c.prefix_len, 0);
  c = parse_ok("ip -6 route del default");
  EXPECT_EQ(c.ip, ip6("::"));
  EXPECT_EQ(parse_ok("ip route del default").ip, IpAddr{});
  EXPECT_EQ(parse_ok("ip route add 2001:db8:3::1 dev dpdk1").prefix_len, 128);
  EXPECT_EQ(parse_ok("ip -6 route").ip_family, IpAddr::Family::V6);
  EXPECT_EQ(parse_err("ip route add 2001:db8:2::1/48 via 2001:db8::1"),
            "invalid prefix 2001:db8:2::1/48: host bits set");
  EXPECT_EQ(parse_err("ip route add 2001:db8:2::/48 via 10.0.0.1"),
            "ip route add: gateway 10.0.0.1 is not of the family of 2001:db8:2::/48");
  EXPECT_EQ(parse_err("ip route add 10.2.0.0/16 via 2001:db8::1"),
            "ip route add: gateway 2001:db8::1 is not of the family of 10.2.0.0/16");
  EXPECT_EQ(parse_err("ip -4 route add default via fe80::1"),
            "IPv4 address expected (ip -4) rather than 'fe80::1'");
  EXPECT_EQ(parse_err("ip -6 route add default via ::"), "bad gateway ::");
}

TEST(ParseIpIpv6, NeighForms) {
  Command c = parse_ok("ip -6 neigh add 2001:db8::18 lladdr 02:00:00:aa:bb:cc dev dpdk1");
  EXPECT_EQ(c.op, Op::NeighAdd);
  EXPECT_EQ(c.ip, ip6("2001:db8::18"));
  EXPECT_EQ(parse_ok("ip neigh del fe80::18 dev dpdk1").ip, ip6("fe80::18"));
  EXPECT_EQ(parse_err("ip neigh add fe80::18/64 lladdr 02:00:00:aa:bb:cc dev dpdk1"),
            "bad address 'fe80::18/64' (expected an IPv6 address like 2001:db8::1)");
}

TEST(ParseCheck, Udp) {
  Command c = parse_ok(
      "--check add -u 10.0.0.1:53 -r 192.168.0.18 udp payload=0102ab "
      "require_reply=ab0X min_reply_length=2 max_reply_length=64 timeout=2");
  const CheckSpec& s = c.check.spec;
  EXPECT_EQ(s.kind, CheckKind::Udp);
  EXPECT_EQ(s.udp_payload, (std::vector<uint8_t>{0x01, 0x02, 0xab}));
  EXPECT_TRUE(s.require_reply);
  EXPECT_EQ(s.reply_data, (std::vector<uint8_t>{0xab, 0x00}));
  EXPECT_EQ(s.reply_mask, (std::vector<uint8_t>{0x00, 0x0f}));
  EXPECT_EQ(s.min_reply_len, 2);
  EXPECT_EQ(s.max_reply_len, 64);
  EXPECT_EQ(s.retry, 1u);
  EXPECT_DOUBLE_EQ(s.delay_before_retry, 1);
  c = parse_ok("--check add -u 10.0.0.1:53 -r 192.168.0.18 udp_check require_reply");
  EXPECT_TRUE(c.check.spec.require_reply);
  EXPECT_TRUE(c.check.spec.reply_data.empty());
  EXPECT_EQ(parse_err("--check add -u 10.0.0.1:53 -r 1.2.3.4 udp payload=0X"),
            "bad payload (hex digits) 'payload=0X'");
  EXPECT_EQ(parse_err("--check add -u 10.0.0.1:53 -r 1.2.3.4 udp require_reply=zz"),
            "bad require_reply (hex digits, X for any) 'require_reply=zz'");
  EXPECT_EQ(parse_err("--check add -u 10.0.0.1:53 -r 1.2.3.4 udp min_reply_length=9 "
                      "max_reply_length=3"),
            "min_reply_length is above max_reply_length: the check would always fail");
  EXPECT_EQ(parse_err("--check add -u 10.0.0.1:53 -r 1.2.3.4 tcp payload=01"),
            "unknown option 'payload=01' for a TCP_CHECK check");
}

TEST(ParseCheck, Ssl) {
  Command c = parse_ok(
      "--check add -t 10.0.0.1:443 -r 192.168.0.18 ssl path=/h host=w.example "
      "sni ca=/etc/ssl/ca.pem");
  EXPECT_EQ(c.check.spec.kind, CheckKind::Ssl);
  ASSERT_EQ(c.check.spec.urls.size(), 1u);
  EXPECT_EQ(c.check.spec.urls[0].virtualhost, "w.example");
  EXPECT_TRUE(c.check.spec.enable_sni);
  EXPECT_EQ(c.check.spec.ssl_ca, "/etc/ssl/ca.pem");
  EXPECT_DOUBLE_EQ(c.check.spec.delay_before_retry, 3);
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:443 -r 1.2.3.4 ssl"),
            "an ssl check needs path=/...");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:443 -r 1.2.3.4 ssl path=/ ca=ca.pem"),
            "bad ca (an absolute path) 'ca=ca.pem'");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 http path=/ sni"),
            "unknown option 'sni' for a HTTP_GET check");
}

TEST(ParseCheck, Dns) {
  Command c = parse_ok("--check add -u 10.0.0.1:53 -r 192.168.0.18 dns type=mx name=example.org");
  EXPECT_EQ(c.check.spec.kind, CheckKind::Dns);
  EXPECT_EQ(c.check.spec.dns_type, 15);
  EXPECT_EQ(c.check.spec.dns_name, "example.org");
  EXPECT_EQ(c.check.spec.retry, 3u);  // DNS_DEFAULT_RETRY
  EXPECT_EQ(parse_ok("--check add -u 10.0.0.1:53 -r 192.168.0.18 dns retry=0").check.spec.retry,
            0u);
  EXPECT_EQ(parse_err("--check add -u 10.0.0.1:53 -r 1.2.3.4 dns type=WKS"),
            "bad type (A, NS, CNAME, SOA, MX, TXT or AAAA) 'type=WKS'");
  // The query as it goes out: id, RD, one question, labels and the root, type, class IN.
  EXPECT_EQ(dns_query(0x1234, "ex.org", 28),
            (std::vector<uint8_t>{0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0, 0, 0,  0, 0,
                                  2,    'e',  'x',  3,    'o', 'r', 'g', 0, 0, 28, 0, 1}));
  EXPECT_EQ(dns_query(1, "ex.org.", 6), dns_query(1, "ex.org", 6));
  EXPECT_EQ(dns_query(1, ".", 6),
            (std::vector<uint8_t>{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1}));
}

TEST(ParseCheck, File) {
  Command c = parse_ok(
      "--check add -t 10.0.0.1:80 -r 192.168.0.18 file file=/run/rs18 weight=-20 reverse inhibit");
  EXPECT_EQ(c.check.spec.kind, CheckKind::File);
  EXPECT_EQ(c.check.spec.file_path, "/run/rs18");
  EXPECT_EQ(c.check.spec.file_weight, -20);
  EXPECT_TRUE(c.check.spec.file_reverse);
  EXPECT_TRUE(c.check_inhibit);
  EXPECT_EQ(parse_ok("--check add -t 10.0.0.1:80 -r 192.168.0.18 file file=/run/x")
                .check.spec.file_weight,
            1);
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 file"),
            "a file check needs file=PATH");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 file file=run/x"),
            "bad file (an absolute path to a file) 'file=run/x'");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 file file=/x weight=70000"),
            "bad weight (-65535..65535) 'weight=70000'");
  // A key once (but path= and arg=, which repeat).
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 file file=/a file=/b"),
            "'file' is given twice");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 file file=/a reverse reverse"),
            "'reverse' is given twice");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 tcp interval=1 interval=2"),
            "'interval' is given twice");
  EXPECT_EQ(parse_err("--check pool -t 10.0.0.1:80 quorum=1 quorum=2"), "'quorum' is given twice");
  EXPECT_EQ(parse_ok("--check add -t 10.0.0.1:80 -r 1.2.3.4 http path=/a status=200 path=/b "
                     "status=301")
                .check.spec.urls.size(),
            2u);
  // It never runs: no timing keys.
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 file file=/x interval=2"),
            "unknown option 'interval=2' for a FILE_CHECK check");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 tcp weight=2"),
            "unknown option 'weight=2' for a TCP_CHECK check");
}

TEST(ParseCheck, Smtp) {
  Command c = parse_ok("--check add -t 10.0.0.1:25 -r 192.168.0.18 smtp helo=lb.example.org");
  EXPECT_EQ(c.check.spec.kind, CheckKind::Smtp);
  EXPECT_EQ(c.check.spec.helo_name, "lb.example.org");
  EXPECT_EQ(parse_ok("--check add -t 10.0.0.1:25 -r 192.168.0.18 smtp").check.spec.helo_name,
            "smtpchecker.keepalived.org");
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:25 -r 1.2.3.4 smtp helo="),
            "bad helo (a name) 'helo='");
}

TEST(ParseCheck, Ping) {
  Command c = parse_ok("--check add -t 10.0.0.1:80 -r 192.168.0.18 ping timeout=1 retry=2");
  EXPECT_EQ(c.check.spec.kind, CheckKind::Ping);
  EXPECT_EQ(c.check.spec.retry, 2u);
  EXPECT_EQ(parse_err("--check add -t 10.0.0.1:80 -r 1.2.3.4 ping port=80"),
            "unknown option 'port=80' for a PING_CHECK check");
}

TEST(ParseCheckIpv6, Forms) {
  Command c = parse_ok(
      "--check add -t [2001:db8::1]:80 -r [2001:db8:1::10]:8080 tcp ip=2001:db8:1::11 port=81");
  EXPECT_EQ(c.check.service.vip, ip6("2001:db8::1"));
  EXPECT_EQ(c.check.rip, ip6("2001:db8:1::10"));
  EXPECT_EQ(c.check.rport, 8080);
  EXPECT_EQ(c.check.spec.connect_ip, ip6("2001:db8:1::11"));
  c = parse_ok("--check pool -t [2001:db8::1]:80 sorry=[2001:db8:1::99]:8080 masq");
  EXPECT_EQ(c.pool.sorry_ip, ip6("2001:db8:1::99"));
  EXPECT_EQ(c.pool.sorry_port, 8080);
  c = parse_ok("--check pool -t [2001:db8::1]:80 sorry=2001:db8:1::99");
  EXPECT_EQ(c.pool.sorry_port, 80);
}

TEST(ServiceName, Ipv6InBrackets) {
  const ServiceKey k{Proto::Tcp, ip6("2001:db8::1"), 80};
  EXPECT_EQ(service_name(k), "TCP [2001:db8::1]:80");
  EXPECT_EQ(parse_service_name("TCP [2001:db8::1]:80"), k);
  EXPECT_EQ(parse_service_name("-t [2001:db8::1]:80"), k);
  EXPECT_EQ(parse_service_name("tcp:[2001:db8::1]:80"), k);
  EXPECT_FALSE(parse_service_name("TCP 2001:db8::1:80"));  // a port needs the brackets
  EXPECT_FALSE(parse_service_name("TCP [10.0.0.1]:80"));
  EXPECT_EQ(parse_service_name("UDP 10.0.0.1:53"),
            (ServiceKey{Proto::Udp, IpAddr::v4(0x0a000001), 53}));
}

TEST(ServiceName, FirewallMarks) {
  const ServiceKey k = ServiceKey::of_fwmark(80, false), k6 = ServiceKey::of_fwmark(80, true);
  EXPECT_EQ(service_name(k), "FWM 80");
  EXPECT_EQ(service_name(k6), "FWM 80 IPv6");
  EXPECT_EQ(service_words(k), (std::vector<std::string>{"-f", "80"}));
  EXPECT_EQ(service_words(k6), (std::vector<std::string>{"-f", "80", "-6"}));
  for (const char* s : {"FWM 80", "fwm:80", "-f 80", " fwm/80 "})
    EXPECT_EQ(parse_service_name(s), k) << s;
  for (const char* s : {"FWM 80 IPv6", "-f 80 -6", "fwm:80 ipv6"})
    EXPECT_EQ(parse_service_name(s), k6) << s;
  for (const char* s : {"FWM 0", "FWM", "FWM 80 x", "FWM 4294967296", "-f 80 -7"})
    EXPECT_FALSE(parse_service_name(s)) << s;
  // The address services' keys are apart from a mark's.
  EXPECT_NE(k, (ServiceKey{Proto::Tcp, IpAddr(), 0}));
}

}  // namespace
}  // namespace fastvs
