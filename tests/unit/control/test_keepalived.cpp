// keepalived.conf (common/keepalived): the seed's file, keepalived's documented examples,
// defaults and inheritance, keepalived's corrections, broken files with their lines, unknown and
// unhandled keywords, and the conversion to fastvs services and commands.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/grammar/command.h"
#include "control/config/apply.h"
#include "control/config/loader.h"
#include "control/config/keepalived.h"
#include "control/health/script_user.h"

namespace fastvs {
namespace {

constexpr IpAddr ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return IpAddr::v4(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d);
}
constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return ip(a, b, c, d).v4();
}

// A load as the tests look at it: the outcome, the configuration, the warnings, the error.
struct KaLoadResult {
  bool ok = false;
  KaConfig cfg;
  std::vector<std::string> warnings;
  std::string error;
};

KaLoadResult load(const std::string& text) {
  KaLoadResult r;
  Result<KaConfig> k = parse_keepalived(text, "ka.conf", &r.warnings);
  r.ok = k.ok();
  r.error = k.error();
  if (k) r.cfg = std::move(*k);
  return r;
}

KaConfig load_ok(const std::string& text) {
  KaLoadResult r = load(text);
  EXPECT_TRUE(r.ok) << r.error;
  return r.cfg;
}

std::string load_err(const std::string& text) {
  KaLoadResult r = load(text);
  EXPECT_FALSE(r.ok) << text;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  EXPECT_TRUE(r.cfg.virtual_servers.empty());
  return r.error;
}

// keepalived's warning when a MISC_CHECK that names no user runs as root, at `line` (the first
// such MISC_CHECK): only where the default script user keepalived_script does not exist.
std::vector<std::string> root_warning(unsigned line) {
  if (resolve_script_user(kDefaultScriptUser, "")) return {};
  return {"ka.conf:" + std::to_string(line) +
          ": MISC_CHECK programs and notify scripts that name no user run as root: default user "
          "'keepalived_script' for script execution does not exist - please create (or give "
          "global_defs script_user)"};
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> warnings_of(const std::string& text) {
  KaLoadResult r = load(text);
  EXPECT_TRUE(r.ok) << r.error;
  return r.warnings;
}

// The seed's file, as is.
const char* const kSeed = R"(vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        192.168.0.38
    }
}

virtual_server 192.168.0.38 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    persistence_timeout 0
    protocol TCP

    real_server 192.168.0.18 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 10
            nb_get_retry 3
            delay_before_retry 3
            connect_port 80
        }
    }

    real_server 192.168.0.28 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 10
            nb_get_retry 3
            delay_before_retry 3
            connect_port 80
        }
    }
}
)";

// ---------------------------------------------------------------------------------------------
// The seed's file

TEST(Keepalived, SeedLoadsWithOnlyTheVrrpWarning) {
  KaLoadResult r = load(kSeed);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "ka.conf:1: vrrp_instance is keepalived's (keepalived --vrrp runs it)");
  EXPECT_TRUE(r.cfg.not_handled.empty());
  // The address keepalived's VRRP moves (no /LEN: keepalived's /32).
  ASSERT_EQ(r.cfg.vrrp_addrs.size(), 1u);
  EXPECT_EQ(r.cfg.vrrp_addrs[0].ip, ip(192, 168, 0, 38));
  EXPECT_EQ(r.cfg.vrrp_addrs[0].prefix_len, 32);
  EXPECT_EQ(r.cfg.vrrp_addrs[0].owner, "vrrp_instance VI_1");
  EXPECT_EQ(r.cfg.vrrp_addrs[0].line, 12u);
  ASSERT_EQ(r.cfg.virtual_servers.size(), 1u);
  const KaVirtualServer& vs = r.cfg.virtual_servers[0];
  EXPECT_EQ(vs.line, 16u);
  EXPECT_EQ(vs.key, (ServiceKey{Proto::Tcp, ip(192, 168, 0, 38), 80}));
  EXPECT_EQ(vs.scheduler, "rr");
  EXPECT_EQ(vs.method, ForwardMethod::Route);
  EXPECT_EQ(vs.persistence_timeout, 0u);
  EXPECT_EQ(vs.quorum, 1u);
  EXPECT_EQ(vs.hysteresis, 0u);
  EXPECT_FALSE(vs.sorry_server);
  ASSERT_EQ(vs.real_servers.size(), 2u);
  const IpAddr rips[] = {ip(192, 168, 0, 18), ip(192, 168, 0, 28)};
  const unsigned lines[] = {23, 33};
  for (size_t i = 0; i < 2; ++i) {
    const KaRealServer& rs = vs.real_servers[i];
    EXPECT_EQ(rs.line, lines[i]);
    EXPECT_EQ(rs.server.ip, rips[i]);
    EXPECT_EQ(rs.server.port, 80);
    EXPECT_EQ(rs.server.method, ForwardMethod::Route);
    EXPECT_EQ(rs.server.weight, 1);
    EXPECT_FALSE(rs.server.inhibit);
    ASSERT_EQ(rs.checks.size(), 1u);
    EXPECT_EQ(rs.checks[0].line, lines[i] + 2);
    const CheckSpec& c = rs.checks[0].spec;
    EXPECT_EQ(c.kind, CheckKind::Tcp);
    EXPECT_DOUBLE_EQ(c.connect_timeout, 10);
    EXPECT_EQ(c.retry, 3u);  // nb_get_retry, taken as retry (see keepalived.h)
    EXPECT_DOUBLE_EQ(c.delay_before_retry, 3);
    EXPECT_DOUBLE_EQ(c.delay_loop, 6);  // the virtual server's
    EXPECT_DOUBLE_EQ(c.warmup, 6);      // = delay_loop
    EXPECT_FALSE(c.alpha);
    EXPECT_EQ(c.connect_ip, rips[i]);
    EXPECT_EQ(c.connect_port, 80);
  }
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
}

TEST(Keepalived, SeedAsServicesAndCommands) {
  const KaConfig cfg = load_ok(kSeed);
  const std::vector<ServiceConfig> svcs = ka_services(cfg);
  ASSERT_EQ(svcs.size(), 1u);
  const ServiceConfig& s = svcs[0];
  EXPECT_EQ(s.key, (ServiceKey{Proto::Tcp, ip(192, 168, 0, 38), 80}));
  EXPECT_EQ(s.scheduler, "rr");
  EXPECT_EQ(s.sched_flags, 0u);
  EXPECT_FALSE(s.persistent);
  ASSERT_EQ(s.dests.size(), 2u);
  // Both up at start (no alpha), in the order two -a commands leave them (the last at the head).
  EXPECT_EQ(s.dests[0].rip, ip(192, 168, 0, 28));
  EXPECT_EQ(s.dests[1].rip, ip(192, 168, 0, 18));
  for (const DestConfig& d : s.dests) {
    EXPECT_EQ(d.rport, 80);
    EXPECT_EQ(d.method, ForwardMethod::Route);
    EXPECT_EQ(d.weight, 1);
  }
  const std::vector<std::vector<std::string>> cmds = ka_commands(cfg);
  const std::vector<std::vector<std::string>> want = {
      {"-A", "-t", "192.168.0.38:80", "-s", "rr"},
      {"-a", "-t", "192.168.0.38:80", "-r", "192.168.0.18:80", "-g", "-w", "1"},
      {"-a", "-t", "192.168.0.38:80", "-r", "192.168.0.28:80", "-g", "-w", "1"},
  };
  EXPECT_EQ(cmds, want);
  for (const auto& words : cmds) {
    const Result<Command> p = parse_command(words);
    EXPECT_TRUE(p.ok()) << p.error();
  }
  // The commands build the same service on a director that reaches the real servers.
  Config c;
  ASSERT_TRUE(
      apply_command(c, *parse_command(split_words("ip addr add 192.168.0.1/24 dev dpdk0")), 1));
  for (const auto& words : cmds) ASSERT_TRUE(apply_command(c, *parse_command(words), 1));
  ASSERT_EQ(c.services.size(), 1u);
  ASSERT_EQ(c.services[0].dests.size(), 2u);
  EXPECT_EQ(c.services[0].dests[0].rip, s.dests[0].rip);
  EXPECT_EQ(c.services[0].dests[1].rip, s.dests[1].rip);
}

// ka_apply: the seed's virtual server into a director's configuration, then a reload in place.
TEST(Keepalived, ApplySeedThenReload) {
  const KaConfig ka = load_ok(kSeed);
  Result<Config> base = load_config_text("ip addr add 192.168.0.8/24 dev dpdk0\n", "base", 1);
  ASSERT_TRUE(base.ok()) << base.error();
  std::vector<ServiceKey> keys;
  Result<Config> r = ka_apply((*base), ka, {}, 1, &keys);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(keys.size(), 1u);
  ASSERT_EQ((*r).services.size(), 1u);
  const ServiceConfig& s = (*r).services[0];
  EXPECT_EQ(s.scheduler, "rr");
  EXPECT_FALSE(s.persistent);
  ASSERT_EQ(s.dests.size(), 2u);
  EXPECT_EQ(format_ip(s.dests[0].rip), "192.168.0.28");  // the kernel's order: newest first
  EXPECT_EQ(s.dests[0].method, ForwardMethod::Route);
  ASSERT_EQ((*r).checks.size(), 2u);
  EXPECT_EQ((*r).checks[0].spec.retry, 3u);  // nb_get_retry
  EXPECT_DOUBLE_EQ((*r).checks[0].spec.connect_timeout, 10);
  ASSERT_EQ((*r).pools.size(), 1u);
  // Reloading replaces what the last load made, and nothing else.
  std::vector<ServiceKey> again;
  Result<Config> r2 = ka_apply((*r), ka, keys, 1, &again);
  ASSERT_TRUE(r2.ok()) << r2.error();
  EXPECT_EQ((*r2).services.size(), 1u);
  EXPECT_EQ((*r2).checks.size(), 2u);
  // Loaded twice without replacing: the service exists already, nothing changes.
  Result<Config> r3 = ka_apply((*r), ka, {}, 1, &again);
  EXPECT_FALSE(r3.ok());
  EXPECT_NE(r3.error().find(":16: service TCP 192.168.0.38:80 already exists"), std::string::npos)
      << r3.error();
  // A DR real server off the director's networks is refused with its line.
  Result<Config> none = load_config_text("", "base", 1);
  Result<Config> r4 = ka_apply((*none), ka, {}, 1, &again);
  EXPECT_FALSE(r4.ok());
  EXPECT_NE(r4.error().find("192.168.0.18 is not on a connected network"), std::string::npos)
      << r4.error();
}

TEST(Keepalived, SeedHealth) {
  const KaConfig cfg = load_ok(kSeed);
  ServiceHealth h = ka_service_health(cfg.virtual_servers[0], 0);
  const HealthUpdate u = h.initial();
  ASSERT_EQ(u.changes.size(), 2u);
  EXPECT_DOUBLE_EQ(h.next_wakeup(), 1);
  EXPECT_EQ(h.spec({0, 0}).describe(), "TCP_CHECK 192.168.0.18:80");
  EXPECT_EQ(h.spec({1, 0}).describe(), "TCP_CHECK 192.168.0.28:80");
}

// ---------------------------------------------------------------------------------------------
// keepalived's documented examples (keepalived.conf(5) and doc/samples of keepalived 2.2.7)

TEST(Keepalived, SampleWithHttpGetDigestAndSorryServer) {
  // doc/samples/keepalived.conf.sample
  const char* text = R"(! Configuration File for keepalived

global_defs {
   notification_email {
     acassen
   }
   notification_email_from Alexandre.Cassen@firewall.loc
   smtp_server 192.168.200.1
   smtp_connect_timeout 30
   router_id LVS_DEVEL
}

vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 50
    nopreempt
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.168.200.11
        192.168.200.12
        192.168.200.13
    }
}

virtual_server 10.10.10.2 1358 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    persistence_timeout 50
    protocol TCP

    sorry_server 192.168.200.200 1358

    real_server 192.168.200.2 1358 {
        weight 1
        HTTP_GET {
            url {
              path /testurl3/test.jsp
              digest 640205b7b0fc66c1ea91c463fac6334d
            }
            connect_timeout 3
            retry 3
            delay_before_retry 3
        }
    }
}
)";
  KaLoadResult r = load(text);
  ASSERT_TRUE(r.ok) << r.error;
  const std::vector<std::string> want = {
      "ka.conf:3: global_defs: notification_email, notification_email_from, smtp_server, "
      "smtp_connect_timeout, router_id: not handled by fastvsd (ignored)",
      "ka.conf:13: vrrp_instance is keepalived's (keepalived --vrrp runs it)"};
  EXPECT_EQ(r.warnings, want);
  const KaVirtualServer& vs = r.cfg.virtual_servers.at(0);
  EXPECT_EQ(vs.method, ForwardMethod::Masq);
  EXPECT_EQ(vs.persistence_timeout, 50u);
  ASSERT_TRUE(vs.sorry_server);
  EXPECT_EQ(vs.sorry_server->line, 33u);
  EXPECT_EQ(vs.sorry_server->server.ip, ip(192, 168, 200, 200));
  EXPECT_EQ(vs.sorry_server->server.port, 1358);
  EXPECT_EQ(vs.sorry_server->server.method, ForwardMethod::Masq);
  EXPECT_EQ(vs.sorry_server->server.weight, 1);
  EXPECT_FALSE(vs.sorry_server->server.inhibit);
  const CheckSpec& c = vs.real_servers.at(0).checks.at(0).spec;
  EXPECT_EQ(c.kind, CheckKind::Http);
  ASSERT_EQ(c.urls.size(), 1u);
  EXPECT_EQ(c.urls[0].path, "/testurl3/test.jsp");
  EXPECT_EQ(c.urls[0].digest, "640205b7b0fc66c1ea91c463fac6334d");
  EXPECT_TRUE(c.urls[0].status_codes.empty());  // 200-299
  EXPECT_EQ(c.connect_ip, ip(192, 168, 200, 2));
  EXPECT_EQ(c.connect_port, 1358);
  EXPECT_DOUBLE_EQ(c.connect_timeout, 3);
  EXPECT_EQ(c.retry, 3u);
  EXPECT_DOUBLE_EQ(c.delay_before_retry, 3);

  const std::vector<ServiceConfig> svcs = ka_services(r.cfg);
  ASSERT_EQ(svcs.size(), 1u);
  EXPECT_TRUE(svcs[0].persistent);
  EXPECT_EQ(svcs[0].timeout, 50u);
  EXPECT_EQ(svcs[0].netmask, 0xffffffffu);
  ASSERT_EQ(svcs[0].dests.size(), 1u);  // the real server; the sorry server waits
  EXPECT_EQ(svcs[0].dests[0].rip, ip(192, 168, 200, 2));
  EXPECT_EQ(ka_commands(r.cfg)[0],
            (std::vector<std::string>{"-A", "-t", "10.10.10.2:1358", "-s", "rr", "-p", "50"}));
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
}

TEST(Keepalived, HttpGetUrlsStatusCodesAndVirtualhost) {
  // keepalived.conf(5): "status_code 200 or status_code 200-299 400-499 503 505", digest and
  // status_code mixed, several urls, virtualhost from the virtual server, overridden per url.
  const KaConfig cfg = load_ok(R"(virtual_server 192.168.200.100 80 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP
    virtualhost www.firewall.loc    # The VirtualHost string to use

    real_server 192.168.201.100 80 {
        weight 1
        HTTP_GET {
            url {
              path /
              status_code 200-299 400-499 503 505 # a code or a range, or both
            }
            url {
              path /mrtg/
              digest 9B3A0C85A887A256D6939DA88AABD8CD
              status_code 200  # Can mix digest and status_code
              virtualhost mrtg.firewall.loc
            }
            connect_port 8080
            connect_timeout 3
            nb_get_retry 2
        }
    }
}
)");
  const CheckSpec& c = cfg.virtual_servers.at(0).real_servers.at(0).checks.at(0).spec;
  ASSERT_EQ(c.urls.size(), 2u);
  EXPECT_EQ(c.urls[0].path, "/");
  EXPECT_EQ(c.urls[0].virtualhost, "www.firewall.loc");
  ASSERT_EQ(c.urls[0].status_codes.size(), 4u);
  EXPECT_TRUE(c.urls[0].status_ok(404));
  EXPECT_TRUE(c.urls[0].status_ok(505));
  EXPECT_FALSE(c.urls[0].status_ok(500));
  EXPECT_EQ(c.urls[1].digest, "9b3a0c85a887a256d6939da88aabd8cd");  // lower case
  EXPECT_EQ(c.urls[1].virtualhost, "mrtg.firewall.loc");
  EXPECT_TRUE(c.urls[1].status_ok(200));
  EXPECT_FALSE(c.urls[1].status_ok(201));
  EXPECT_EQ(c.connect_port, 8080);
  EXPECT_EQ(c.retry, 2u);
  EXPECT_DOUBLE_EQ(c.delay_before_retry, 3);  // HTTP_GET's default
}

TEST(Keepalived, MiscCheckWithArgumentsAndMiscDynamic) {
  // doc/samples/keepalived.conf.misc_check_arg and keepalived.conf(5)'s misc_dynamic.
  KaLoadResult r = load(R"(virtual_server 10.10.10.2 1358 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    persistence_timeout 50
    protocol TCP

    real_server 192.168.200.6 1358 {
        weight 1
        MISC_CHECK {
          misc_path "/usr/local/bin/script.sh arg1 'two words'"
          misc_timeout 30
          misc_dynamic
          user nobody nogroup
        }
    }
    real_server 192.168.200.7 1358 {
        MISC_CHECK {
          misc_path /usr/local/bin/script.sh
!         misc_dynamic
        }
    }
}
)");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.warnings, root_warning(18));
  const KaVirtualServer& vs = r.cfg.virtual_servers.at(0);
  const CheckSpec& a = vs.real_servers.at(0).checks.at(0).spec;
  EXPECT_EQ(a.kind, CheckKind::Misc);
  EXPECT_EQ(a.misc_path, "/usr/local/bin/script.sh arg1 'two words'");
  EXPECT_EQ(a.misc_argv,
            (std::vector<std::string>{"/usr/local/bin/script.sh", "arg1", "two words"}));
  EXPECT_DOUBLE_EQ(a.misc_timeout, 30);
  EXPECT_TRUE(a.misc_dynamic);
  EXPECT_EQ(a.user, "nobody");
  EXPECT_EQ(a.group, "nogroup");
  EXPECT_EQ(a.uid, 65534u);  // Debian's nobody:nogroup
  EXPECT_EQ(a.gid, 65534u);
  EXPECT_EQ(a.retry, 0u);  // MISC_CHECK's default
  EXPECT_DOUBLE_EQ(a.delay_before_retry, 1);
  EXPECT_EQ(a.describe(), "MISC_CHECK /usr/local/bin/script.sh arg1 'two words'");
  const CheckSpec& b = vs.real_servers.at(1).checks.at(0).spec;
  EXPECT_FALSE(b.misc_dynamic);         // the '!' line is a comment
  EXPECT_DOUBLE_EQ(b.misc_timeout, 6);  // no misc_timeout: the virtual server's delay_loop
  EXPECT_EQ(vs.real_servers.at(1).server.weight, 1);

  // The weight follows the program's exit status.
  ServiceHealth h = ka_service_health(vs, 0);
  h.initial();
  const HealthUpdate u = h.finish({0, 0}, 1, misc_exit_result(a, 12));
  ASSERT_EQ(u.changes.size(), 1u);
  EXPECT_EQ(u.changes[0].dest.weight, 10);
}

// UDP_CHECK (check_udp.c): connect options as TCP_CHECK's, its payload and the reply it wants
// read as keepalived reads hex strings.
TEST(Keepalived, UdpCheck) {
  const std::string vs = R"(virtual_server 10.0.0.1 53 {
  protocol UDP
  lb_algo rr
  lb_kind NAT
  delay_loop 3
  real_server 10.0.0.2 53 {
    UDP_CHECK {
      connect_timeout 2
      BODY
    }
  }
})";
  auto with = [&](const std::string& body) {
    std::string t = vs;
    t.replace(t.find("BODY"), 4, body);
    return load(t);
  };
  KaLoadResult r = with(
      "connect_port 5353\n payload 12 34 5\n require_reply 00 Xf\n"
      " min_reply_length 2\n max_reply_length 512");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty());
  const CheckSpec& s = r.cfg.virtual_servers.at(0).real_servers.at(0).checks.at(0).spec;
  EXPECT_EQ(s.kind, CheckKind::Udp);
  EXPECT_EQ(s.describe(), "UDP_CHECK 10.0.0.2:5353");
  EXPECT_EQ(s.connect_timeout, 2);
  EXPECT_EQ(s.retry, 1u);
  EXPECT_EQ(s.delay_before_retry, 1);
  EXPECT_EQ(s.udp_payload, (std::vector<uint8_t>{0x12, 0x34, 0x05}));
  EXPECT_TRUE(s.require_reply);
  EXPECT_EQ(s.reply_data, (std::vector<uint8_t>{0x00, 0x0f}));
  EXPECT_EQ(s.reply_mask, (std::vector<uint8_t>{0x00, 0xf0}));
  EXPECT_EQ(s.min_reply_len, 2);
  EXPECT_EQ(s.max_reply_len, 512);
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
  // Defaults: keepalived's own payload, silence passes, replies of 0 to 255 bytes.
  r = with("");
  ASSERT_TRUE(r.ok) << r.error;
  const CheckSpec& d = r.cfg.virtual_servers.at(0).real_servers.at(0).checks.at(0).spec;
  EXPECT_TRUE(d.udp_payload.empty());
  EXPECT_FALSE(d.require_reply);
  EXPECT_EQ(d.max_reply_len, 255);
  // A bare require_reply wants a reply, any.
  r = with("require_reply");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.cfg.virtual_servers.at(0).real_servers.at(0).checks.at(0).spec.require_reply);
  // What keepalived refuses, at its line; what it only reports, a warning.
  EXPECT_EQ(with("payload 12zz").error,
            "ka.conf:9: invalid hex string for UDP_CHECK payload "
            "'12zz'");
  EXPECT_EQ(with("payload 1X").error, "ka.conf:9: invalid hex string for UDP_CHECK payload '1X'");
  EXPECT_EQ(with("require_reply q").error, "ka.conf:9: invalid hex string for UDP_CHECK reply 'q'");
  r = with("require_reply 01\n min_reply_length 9\n max_reply_length 3");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.warnings, std::vector<std::string>{"ka.conf:7: UDP_CHECK min_reply_length 9 > "
                                                 "max_reply_length 3 - will always fail"});
  // Not a UDP_CHECK keyword: ignored with keepalived's warning, as any unknown keyword.
  r = with("misc_path /bin/true");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("'misc_path'"), std::string::npos) << r.warnings[0];
}

// PING_CHECK (check_ping.c): the connect options, no port.
TEST(Keepalived, PingCheck) {
  KaLoadResult r = load(R"(virtual_server 10.0.0.1 80 {
  protocol TCP
  real_server 10.0.0.2 80 {
    PING_CHECK {
      connect_ip 10.0.0.3
      connect_timeout 2
      retry 3
    }
  }
})");
  ASSERT_TRUE(r.ok) << r.error;
  const CheckSpec& s = r.cfg.virtual_servers.at(0).real_servers.at(0).checks.at(0).spec;
  EXPECT_EQ(s.kind, CheckKind::Ping);
  EXPECT_EQ(s.describe(), "PING_CHECK 10.0.0.3");
  EXPECT_EQ(s.retry, 3u);
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
}

// SMTP_CHECK (check_smtp.c): helo_name; each deprecated `host { }` a checker of its own, with
// keepalived's warning, the checker's settings where the host block does not say.
TEST(Keepalived, SmtpCheck) {
  KaLoadResult r = load(R"(virtual_server 10.0.0.1 25 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.2 25 {
    SMTP_CHECK {
      connect_timeout 10
      retry 2
      helo_name "lb.example.org"
      host {
        connect_ip 10.0.0.2
      }
      host {
        connect_ip 10.9.0.2
        connect_port 587
        connect_timeout 3
      }
    }
  }
  real_server 10.0.0.3 25 {
    SMTP_CHECK {
    }
  }
})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.warnings,
            (std::vector<std::string>{
                "ka.conf:10: The SMTP_CHECK host block is deprecated. Please define additional "
                "checkers.",
                "ka.conf:13: The SMTP_CHECK host block is deprecated. Please define additional "
                "checkers."}));
  const auto& checks = r.cfg.virtual_servers.at(0).real_servers.at(0).checks;
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].spec.describe(), "SMTP_CHECK 10.0.0.2:25");
  EXPECT_EQ(checks[0].spec.connect_timeout, 10);
  EXPECT_EQ(checks[0].spec.helo_name, "lb.example.org");
  EXPECT_EQ(checks[1].spec.describe(), "SMTP_CHECK 10.9.0.2:587");
  EXPECT_EQ(checks[1].spec.connect_timeout, 3);
  EXPECT_EQ(checks[1].spec.retry, 2u);
  EXPECT_EQ(checks[1].spec.helo_name, "lb.example.org");
  const CheckSpec& d = r.cfg.virtual_servers.at(0).real_servers.at(1).checks.at(0).spec;
  EXPECT_EQ(d.helo_name, "smtpchecker.keepalived.org");
  EXPECT_EQ(d.describe(), "SMTP_CHECK 10.0.0.3:25");
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
}

// SSL_GET (check_ssl.c): HTTP_GET's urls over TLS, enable_sni, and the file's SSL block
// wherever it stands.
TEST(Keepalived, SslGet) {
  // The files must be there (what they hold is the prober's business): made here.
  char dir[] = "/tmp/fvs-ka-ssl-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  for (const char* f : {"/ca.pem", "/client.pem", "/client.key"}) {
    FILE* fp = std::fopen((d + f).c_str(), "w");
    ASSERT_NE(fp, nullptr);
    std::fclose(fp);
  }
  std::string text = R"(virtual_server 10.0.0.1 443 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.2 443 {
    SSL_GET {
      enable_sni
      url {
        path /health
        digest 640205b7b0fc66c1ea91c463fac6334d
        virtualhost www.example.org
      }
    }
  }
}
SSL {
  ca DIR/ca.pem
  certificate DIR/client.pem
  key DIR/client.key
  password secret
}
)";
  for (size_t at; (at = text.find("DIR")) != std::string::npos;) text.replace(at, 3, d);
  KaLoadResult r = load(text);
  for (const char* f : {"/ca.pem", "/client.pem", "/client.key"}) std::remove((d + f).c_str());
  rmdir(dir);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty());
  const CheckSpec& s = r.cfg.virtual_servers.at(0).real_servers.at(0).checks.at(0).spec;
  EXPECT_EQ(s.kind, CheckKind::Ssl);
  EXPECT_EQ(s.describe(), "SSL_GET 10.0.0.2:443");
  EXPECT_TRUE(s.enable_sni);
  ASSERT_EQ(s.urls.size(), 1u);
  EXPECT_EQ(s.urls[0].virtualhost, "www.example.org");
  EXPECT_EQ(s.delay_before_retry, 3);  // as HTTP_GET's
  EXPECT_EQ(s.ssl_ca, d + "/ca.pem");
  EXPECT_EQ(s.ssl_cert, d + "/client.pem");
  EXPECT_EQ(s.ssl_key, d + "/client.key");
  EXPECT_EQ(s.ssl_password, "secret");
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
  EXPECT_EQ(load("virtual_server 10.0.0.1 443 {\n real_server 10.0.0.2 443 {\n SSL_GET {\n "
                 "}\n }\n}\n")
                .error,
            "ka.conf:3: SSL_GET without a url { path ... }");
  // A file keepalived could not load stops keepalived: refused at its line.
  EXPECT_EQ(load("SSL {\n ca /nonexistent/ca.pem\n}\n").error,
            "ka.conf:2: SSL ca '/nonexistent/ca.pem': No such file or directory");
}

// Scripts fastvsd does not run yet are read and said to be ignored; ip_family must be the
// virtual server's.
// notify_up/notify_down/quorum_up/quorum_down are run (control/health/runner.cpp): read as
// keepalived's notify_script_init reads them, `SCRIPT [USER [GROUP]]`, SCRIPT split into words.
TEST(Keepalived, ScriptsAndIpFamily) {
  KaLoadResult r = load(R"(virtual_server 2001:db8::1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  ip_family inet6
  omega
  quorum_down "/bin/echo down"
  real_server 2001:db8::2 80 {
    notify_up /bin/true
  }
})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.warnings, root_warning(7));  // the first script that names no user
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
  const KaVirtualServer& vs = r.cfg.virtual_servers.at(0);
  EXPECT_TRUE(vs.omega);
  ASSERT_TRUE(vs.quorum_down.has_value());
  EXPECT_EQ(vs.quorum_down->line, 7u);
  EXPECT_EQ(vs.quorum_down->spec.argv, (std::vector<std::string>{"/bin/echo", "down"}));
  EXPECT_FALSE(vs.quorum_up.has_value());
  ASSERT_TRUE(vs.real_servers.at(0).notify_up.has_value());
  EXPECT_EQ(vs.real_servers[0].notify_up->spec.text, "/bin/true");
  // A user that does not exist refuses the file at the script's line.
  EXPECT_EQ(load_err("virtual_server 10.0.0.1 80 {\n  quorum_up /bin/true nosuchuser-fvs\n"
                     "  real_server 10.0.0.2 80\n}\n"),
            "ka.conf:2: quorum_up user: " + resolve_script_user("nosuchuser-fvs", "").error());
  EXPECT_EQ(
      load_err("virtual_server 10.0.0.1 80 {\n  quorum_up \"\"\n  real_server 10.0.0.2 80\n}\n"),
      "ka.conf:2: quorum_up needs a program");
  // check_notify_script_secure: a program that cannot be run disables its script, with a warning.
  KaLoadResult missing = load(
      "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n"
      "  real_server 10.0.0.2 80 {\n    notify_down /no/such/prog-fvs root\n  }\n}\n");
  ASSERT_TRUE(missing.ok) << missing.error;
  EXPECT_EQ(missing.warnings, std::vector<std::string>{
                                  "ka.conf:6: notify_down '/no/such/prog-fvs' cannot be run (not "
                                  "found, or not an executable file): disabled (ignored), as "
                                  "keepalived disables it"});
  EXPECT_FALSE(missing.cfg.virtual_servers.at(0).real_servers.at(0).notify_down.has_value());
  EXPECT_EQ(load("virtual_server 10.0.0.1 80 {\n ip_family inet6\n}\n").error,
            "ka.conf:2: ip_family inet6 is not the family of 10.0.0.1");
  EXPECT_TRUE(load("virtual_server 10.0.0.1 80 {\n ip_family inet\n}\n").ok);
}

// DNS_CHECK (check_dns.c): type and name, retry 3 by default, an unknown type SOA with
// keepalived's message.
TEST(Keepalived, DnsCheck) {
  KaLoadResult r = load(R"(virtual_server 10.0.0.1 53 {
  protocol UDP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.2 53 {
    DNS_CHECK {
      type aaaa
      name www.example.org
    }
    DNS_CHECK {
      type WKS
    }
  }
})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.warnings,
            std::vector<std::string>{"ka.conf:11: Unknown DNS check type WKS - defaulting to SOA"});
  const auto& checks = r.cfg.virtual_servers.at(0).real_servers.at(0).checks;
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].spec.describe(), "DNS_CHECK 10.0.0.2:53");
  EXPECT_EQ(checks[0].spec.dns_type, 28);
  EXPECT_EQ(checks[0].spec.dns_name, "www.example.org");
  EXPECT_EQ(checks[0].spec.retry, 3u);
  EXPECT_EQ(checks[1].spec.dns_type, 6);
  EXPECT_EQ(checks[1].spec.dns_name, ".");
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
}

// FILE_CHECK and track_file (check_file.c, track_file.c): the track_file's file and weight,
// FILE_CHECK's own weight when it gives one; what keepalived reports and goes on without
// refuses the file at its line.
TEST(Keepalived, FileCheck) {
  KaLoadResult r = load(R"(track_file state {
  file /tmp/fastvs-rs2.state
  weight -3 reverse
  init_file 7 overwrite
}
track_file gate {
  file /tmp/fastvs-gate
}
virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  real_server 10.0.0.2 80 {
    FILE_CHECK {
      track_file state
    }
    FILE_CHECK {
      track_file gate
      weight 0
    }
  }
  real_server 10.0.0.3 80 {
    FILE_CHECK {
      track_file state
      weight 20 noreverse
    }
  }
})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.at(0);
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
  const auto& rs = r.cfg.virtual_servers.at(0).real_servers;
  ASSERT_EQ(rs.at(0).checks.size(), 2u);
  const CheckSpec& a = rs[0].checks[0].spec;
  EXPECT_EQ(a.kind, CheckKind::File);
  EXPECT_EQ(a.describe(), "FILE_CHECK /tmp/fastvs-rs2.state");
  EXPECT_EQ(a.track_name, "state");
  EXPECT_EQ(a.file_weight, -3);
  EXPECT_TRUE(a.file_reverse);
  EXPECT_EQ(a.file_init, 7);
  EXPECT_TRUE(a.file_init_overwrite);
  // weight 0 is no weight of its own (file_end_handler): the track_file's, 1.
  const CheckSpec& b = rs[0].checks[1].spec;
  EXPECT_EQ(b.file_weight, 1);
  EXPECT_FALSE(b.file_reverse);
  EXPECT_FALSE(b.file_init.has_value());
  const CheckSpec& c = rs.at(1).checks.at(0).spec;
  EXPECT_EQ(c.file_weight, 20);
  EXPECT_FALSE(c.file_reverse);

  const std::string vs_head = "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n";
  EXPECT_EQ(load_err(vs_head + "    FILE_CHECK {\n      track_file nope\n    }\n  }\n}\n"),
            "ka.conf:4: track_file 'nope' not found");
  EXPECT_EQ(load_err(vs_head + "    FILE_CHECK {\n      weight 2\n    }\n  }\n}\n"),
            "ka.conf:3: FILE_CHECK has no track_file");
  EXPECT_EQ(load_err("track_file t {\n  file /tmp/x\n}\n" + vs_head +
                     "    FILE_CHECK {\n      track_file t\n      weight 65536\n    }\n  }\n}\n"),
            "ka.conf:8: bad FILE_CHECK weight '65536' (-65535..65535, IPVS_WEIGHT_MAX)");
  const std::string uses_t = vs_head + "    FILE_CHECK {\n      track_file t\n    }\n  }\n}\n";
  EXPECT_EQ(load_err("track_file t {\n  file relative/x\n}\n" + uses_t),
            "ka.conf:2: track_file 't': file 'relative/x' is not an absolute path to a file");
  EXPECT_EQ(load_err("track_file t {\n  file /nonexistent-dir/x\n}\n" + uses_t),
            "ka.conf:2: track_file 't': directory '/nonexistent-dir/': No such file or directory");
  // A track_file no FILE_CHECK names is keepalived --vrrp's (a vrrp_instance's): not checked.
  EXPECT_TRUE(load("track_file v {\n  file relative/x\n}\n").ok);
  EXPECT_EQ(load_err("track_file t {\n  file /tmp/x\n  weight 255\n}\n"),
            "ka.conf:3: bad track_file weight '255' (-254..254, keepalived's range for a "
            "track_file)");
  EXPECT_EQ(load_err("track_file t {\n  weight 2\n}\n"), "ka.conf:1: track_file 't' has no file");
  EXPECT_EQ(load_err("track_file t {\n  file /tmp/x\n}\ntrack_file t {\n  file /tmp/y\n}\n"),
            "ka.conf:4: track_file 't' is defined twice (ka.conf:1)");
  EXPECT_EQ(load_err("track_file t {\n  file /tmp/x\n  init_file seven\n}\n"),
            "ka.conf:3: bad init_file value 'seven' (a number, overwrite)");
}

// MISC_CHECK's user: named, or global_defs' script_user, or keepalived_script, or root with a
// warning; a name that does not exist refuses the file at its line; enable_script_security
// refuses a program that would run as root from a path others can write.
TEST(Keepalived, MiscCheckUser) {
  const std::string vs = R"(virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.2 80 {
    MISC_CHECK {
      misc_path /bin/true
      USER
    }
  }
})";
  auto with = [&](const std::string& user, const std::string& globals = "") {
    std::string t = vs;
    t.replace(t.find("USER"), 4, user);
    return load(globals + t);
  };
  KaLoadResult r = with("user daemon");
  ASSERT_TRUE(r.ok) << r.error;
  const CheckSpec* s = &r.cfg.virtual_servers.at(0).real_servers.at(0).checks.at(0).spec;
  EXPECT_EQ(s->uid, 1u);
  EXPECT_EQ(s->gid, 1u);
  r = with("user nobody nogroup");
  ASSERT_TRUE(r.ok) << r.error;
  s = &r.cfg.virtual_servers.at(0).real_servers.at(0).checks.at(0).spec;
  EXPECT_EQ(s->uid, 65534u);
  EXPECT_EQ(s->gid, 65534u);
  EXPECT_EQ(with("user fvs-no-such-user").error,
            "ka.conf:8: MISC_CHECK user: unknown user 'fvs-no-such-user'");
  EXPECT_EQ(with("user nobody fvs-no-such-group").error,
            "ka.conf:8: MISC_CHECK user: unknown group 'fvs-no-such-group'");
  // No user: global_defs' script_user, wherever global_defs is in the file.
  r = with("", "global_defs {\n  script_user nobody\n}\n");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.cfg.virtual_servers.at(0).real_servers.at(0).checks.at(0).spec.uid, 65534u);
  EXPECT_EQ(with("", "global_defs {\n  script_user fvs-no-such-user\n}\n").error,
            "ka.conf:2: script_user: unknown user 'fvs-no-such-user'");
  // Neither: keepalived_script, or root with keepalived's warning.
  r = with("");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.warnings, root_warning(6));
  // enable_script_security: a program run as root must not be writable by others, nor any
  // directory above it.
  char dir[] = "/tmp/fvs-ka-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string prog = std::string(dir) + "/chk";
  FILE* f = std::fopen(prog.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("#!/bin/sh\nexit 0\n", f);
  std::fclose(f);
  chmod(prog.c_str(), 0777);
  auto secure = [&](const std::string& user, const std::string& path) {
    std::string t = vs;
    t.replace(t.find("/bin/true"), 9, path);
    t.replace(t.find("USER"), 4, user);
    return load("global_defs {\n  enable_script_security\n}\n" + t);
  };
  r = secure("user root", prog);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "ka.conf:9: MISC_CHECK '" + prog + "' would run as root but '" + prog +
                         "' is writable by others (enable_script_security)");
  chmod(prog.c_str(), 0755);
  chmod(dir, 0777);
  r = secure("user root", prog);
  EXPECT_EQ(r.error, "ka.conf:9: MISC_CHECK '" + prog + "' would run as root but '" +
                         std::string(dir) + "' is writable by others (enable_script_security)");
  chmod(dir, 0755);
  if (getuid() == 0) {
    r = secure("user root", prog);
    EXPECT_TRUE(r.ok) << r.error;
  }
  // Not run as root: no check.
  chmod(prog.c_str(), 0777);
  r = secure("user nobody nogroup", prog);
  EXPECT_TRUE(r.ok) << r.error;
  r = secure("user root", "/bin/true");
  EXPECT_TRUE(r.ok) << r.error;
  std::remove(prog.c_str());
  rmdir(dir);
}

TEST(Keepalived, QuorumSample) {
  // doc/samples/keepalived.conf.quorum: 10 servers, quorum 7, hysteresis 2, alpha, omega.
  std::string text = R"(virtual_server 10.0.1.1 80 {
  delay_loop 6
  lb_algo wrr
  lb_kind NAT
  persistence_timeout 900
  protocol TCP
  alpha
  omega
  quorum 7
  hysteresis 2
  quorum_up /usr/local/sbin/quorum-up.sh
  quorum_down "/usr/local/sbin/quorum-down.sh" root
)";
  for (int i = 1; i <= 10; ++i) {
    text += "  real_server 10.0.0." + std::to_string(i) +
            " 8080 {\n    weight 1\n    TCP_CHECK {\n      connect_port    80\n"
            "      connect_timeout 3\n    }\n  }\n";
  }
  text += "}\n";
  const KaConfig cfg = load_ok(text);
  const KaVirtualServer& vs = cfg.virtual_servers.at(0);
  EXPECT_TRUE(vs.alpha);
  EXPECT_TRUE(vs.omega);
  EXPECT_EQ(vs.quorum, 7u);
  EXPECT_EQ(vs.hysteresis, 2u);
  // The sample's scripts do not exist here: disabled, as keepalived disables them.
  EXPECT_FALSE(vs.quorum_up.has_value());
  EXPECT_FALSE(vs.quorum_down.has_value());
  ASSERT_EQ(vs.real_servers.size(), 10u);
  const CheckSpec& c = vs.real_servers[3].checks.at(0).spec;
  EXPECT_TRUE(c.alpha);  // from the virtual server
  EXPECT_EQ(c.connect_ip, ip(10, 0, 0, 4));
  EXPECT_EQ(c.connect_port, 80);
  EXPECT_EQ(vs.real_servers[3].server.port, 8080);
  // "Due to the alpha mode, all real servers are considered down on server start, so the
  // quorum is initially lost": nothing in service at start.
  const std::vector<ServiceConfig> svcs = ka_services(cfg);
  ASSERT_EQ(svcs.size(), 1u);
  EXPECT_TRUE(svcs[0].dests.empty());
  ServiceHealth h = ka_service_health(vs, 0);
  HealthUpdate u = h.initial();
  ASSERT_EQ(u.events.size(), 11u);  // each of the 10 starts down (alpha), then the quorum
  EXPECT_EQ(u.events[9].kind, HealthEvent::Kind::StartsDown);
  EXPECT_EQ(u.events[10].kind, HealthEvent::Kind::QuorumLost);
  // Servers come up one by one: the quorum comes with the 9th.
  for (size_t i = 0; i < 9; ++i) {
    u = h.finish({i, 0}, 2, {true, "up", -1});
    const bool gained =
        !u.events.empty() && u.events.back().kind == HealthEvent::Kind::QuorumGained;
    EXPECT_EQ(gained, i == 8) << i;
    EXPECT_EQ(u.changes.size(), 1u);  // each one enters as it comes up (no sorry server)
  }
}

TEST(Keepalived, SorryServerOptions) {
  const KaConfig cfg = load_ok(R"(virtual_server 10.0.1.1 80 {
  lb_algo wlc
  lb_kind DR
  protocol TCP
  quorum 2
  sorry_server 10.0.0.200 8080
  sorry_server_inhibit
  sorry_server_lvs_method TUN
  real_server 10.0.0.1 80 {
    weight 2
    TCP_CHECK {
    }
  }
}
)");
  const KaVirtualServer& vs = cfg.virtual_servers.at(0);
  ASSERT_TRUE(vs.sorry_server);
  EXPECT_TRUE(vs.sorry_server->server.inhibit);
  EXPECT_EQ(vs.sorry_server->server.method, ForwardMethod::Tunnel);
  EXPECT_EQ(vs.sorry_server->server.port, 80);  // tunnelled: the virtual server's port
  // sorry_server_inhibit: the sorry server waits at weight 0 (init_service_vs).
  const std::vector<ServiceConfig> svcs = ka_services(cfg);
  ASSERT_EQ(svcs[0].dests.size(), 2u);
  EXPECT_EQ(svcs[0].dests[0].rip, ip(10, 0, 0, 200));
  EXPECT_EQ(svcs[0].dests[0].weight, 0);
  EXPECT_EQ(svcs[0].dests[0].method, ForwardMethod::Tunnel);
  EXPECT_EQ(svcs[0].dests[1].weight, 2);
  // The real server fails: the sorry server takes over.
  ServiceHealth h = ka_service_health(vs, 0);
  h.initial();
  const HealthUpdate u = h.finish({0, 0}, 1, {false, "connect to 10.0.0.1:80 failed: timeout", -1});
  ASSERT_EQ(u.changes.size(), 2u);
  EXPECT_EQ(u.changes[0].op, DestChange::Op::Edit);
  EXPECT_TRUE(u.changes[0].sorry);
  EXPECT_EQ(u.changes[0].dest.weight, 1);
  EXPECT_EQ(u.changes[1].op, DestChange::Op::Remove);
}

// ---------------------------------------------------------------------------------------------
// Defaults and inheritance

TEST(Keepalived, Defaults) {
  KaLoadResult r = load(R"(virtual_server 10.0.0.1 80 {
  real_server 10.0.0.2 {
    TCP_CHECK {
    }
    HTTP_GET {
      url {
        path /
      }
    }
    MISC_CHECK {
      misc_path /bin/true
    }
  }
}
)");
  ASSERT_TRUE(r.ok) << r.error;
  // keepalived's own warnings for what it defaults (validate_check_config).
  const std::vector<std::string> want = {
      "ka.conf:1: virtual server 10.0.0.1:80: no protocol set, defaulting to UDP",
      "ka.conf:1: virtual server UDP 10.0.0.1:80: no lb_algo set, defaulting to wlc",
      "ka.conf:1: virtual server UDP 10.0.0.1:80: no lb_kind set, defaulting to NAT"};
  EXPECT_EQ(r.warnings, want + root_warning(10));
  const KaVirtualServer& vs = r.cfg.virtual_servers.at(0);
  EXPECT_EQ(vs.key.proto, Proto::Udp);
  EXPECT_EQ(vs.scheduler, "wlc");
  EXPECT_EQ(vs.method, ForwardMethod::Masq);
  EXPECT_EQ(vs.persistence_timeout, 0u);
  EXPECT_EQ(vs.persistence_granularity, 0xffffffffu);
  EXPECT_EQ(vs.quorum, 1u);
  EXPECT_EQ(vs.hysteresis, 0u);
  EXPECT_FALSE(vs.alpha);
  EXPECT_FALSE(vs.omega);
  EXPECT_DOUBLE_EQ(vs.delay_loop, 60);
  const KaRealServer& rs = vs.real_servers.at(0);
  EXPECT_EQ(rs.server.port, 80);  // no port: the virtual server's
  EXPECT_EQ(rs.server.weight, 1);
  EXPECT_EQ(rs.server.method, ForwardMethod::Masq);
  EXPECT_FALSE(rs.server.inhibit);
  ASSERT_EQ(rs.checks.size(), 3u);
  const CheckSpec& tcp = rs.checks[0].spec;
  EXPECT_DOUBLE_EQ(tcp.delay_loop, 60);
  EXPECT_DOUBLE_EQ(tcp.connect_timeout, 5);
  EXPECT_EQ(tcp.retry, 1u);
  EXPECT_DOUBLE_EQ(tcp.delay_before_retry, 1);
  EXPECT_DOUBLE_EQ(tcp.warmup, 60);
  EXPECT_FALSE(tcp.alpha);
  EXPECT_EQ(tcp.connect_ip, ip(10, 0, 0, 2));
  EXPECT_EQ(tcp.connect_port, 80);
  EXPECT_EQ(tcp.bindto, IpAddr{});
  const CheckSpec& http = rs.checks[1].spec;
  EXPECT_EQ(http.retry, 1u);
  EXPECT_DOUBLE_EQ(http.delay_before_retry, 3);
  EXPECT_EQ(http.urls.at(0).virtualhost, "");
  const CheckSpec& misc = rs.checks[2].spec;
  EXPECT_EQ(misc.retry, 0u);
  EXPECT_DOUBLE_EQ(misc.delay_before_retry, 1);
  EXPECT_DOUBLE_EQ(misc.misc_timeout, 60);
  EXPECT_EQ(misc.misc_argv, (std::vector<std::string>{"/bin/true"}));
}

TEST(Keepalived, PersistenceDefaults) {
  auto vs_with = [](const std::string& lines) {
    return load_ok("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n" +
                   lines + "\n real_server 10.0.0.2 80\n}\n")
        .virtual_servers.at(0);
  };
  // pto_handler: no value is IPVS_SVC_PERSISTENT_TIMEOUT, 6 minutes.
  EXPECT_EQ(vs_with("persistence_timeout").persistence_timeout, 360u);
  EXPECT_EQ(vs_with("persistence_timeout 0").persistence_timeout, 0u);
  // pgr_handler: a granularity makes the service persistent.
  KaVirtualServer vs = vs_with("persistence_granularity 255.255.255.0");
  EXPECT_EQ(vs.persistence_timeout, 360u);
  EXPECT_EQ(vs.persistence_granularity, 0xffffff00u);
  vs = vs_with("persistence_granularity 255.255.0.0\n persistence_timeout 120");
  EXPECT_EQ(vs.persistence_timeout, 120u);
  const std::vector<ServiceConfig> svcs =
      ka_services(load_ok("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n"
                          " lb_kind NAT\n persistence_timeout 120\n"
                          " persistence_granularity 255.255.0.0\n real_server 10.0.0.2 80\n}\n"));
  EXPECT_TRUE(svcs.at(0).persistent);
  EXPECT_EQ(svcs[0].timeout, 120u);
  EXPECT_EQ(svcs[0].netmask, 0xffff0000u);
}

TEST(Keepalived, VirtualServerValuesAreTheRealServersDefaults) {
  // keepalived.conf(5): "the virtual server setting is the default for real servers, and the
  // real server setting is the default for checkers".
  const KaConfig cfg = load_ok(R"(virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  delay_loop 10
  retry 2
  delay_before_retry 4
  connect_timeout 7
  warmup 0
  alpha
  inhibit_on_failure
  virtualhost www.example.com
  real_server 10.0.0.2 8080 {
    retry 5
    alpha off
    inhibit_on_failure no
    HTTP_GET {
      delay_loop 3.5
      url {
        path /health
      }
    }
  }
  real_server 10.0.0.3 8080 {
    virtualhost rs.example.com
    lvs_method DR
    TCP_CHECK {
      alpha on
      connect_ip 10.0.1.3
      connect_port 9000
      bindto 10.0.0.254
      bind_port 4000
      retry 0
      warmup 2
    }
    HTTP_GET {
      url {
        path /
      }
    }
  }
}
)");
  const KaVirtualServer& vs = cfg.virtual_servers.at(0);
  const KaRealServer& a = vs.real_servers.at(0);
  EXPECT_FALSE(a.server.inhibit);
  const CheckSpec& ac = a.checks.at(0).spec;
  EXPECT_EQ(ac.retry, 5u);
  EXPECT_FALSE(ac.alpha);
  EXPECT_DOUBLE_EQ(ac.delay_loop, 3.5);
  EXPECT_DOUBLE_EQ(ac.delay_before_retry, 4);
  EXPECT_DOUBLE_EQ(ac.connect_timeout, 7);
  EXPECT_DOUBLE_EQ(ac.warmup, 0);
  EXPECT_EQ(ac.urls.at(0).virtualhost, "www.example.com");
  const KaRealServer& b = vs.real_servers.at(1);
  EXPECT_TRUE(b.server.inhibit);
  EXPECT_EQ(b.server.method, ForwardMethod::Route);
  EXPECT_EQ(b.server.port, 80);  // DR: the virtual server's port (with a warning)
  const CheckSpec& bt = b.checks.at(0).spec;
  EXPECT_TRUE(bt.alpha);
  EXPECT_EQ(bt.retry, 0u);
  EXPECT_DOUBLE_EQ(bt.warmup, 2);
  EXPECT_DOUBLE_EQ(bt.delay_loop, 10);
  EXPECT_EQ(bt.connect_ip, ip(10, 0, 1, 3));
  EXPECT_EQ(bt.connect_port, 9000);
  EXPECT_EQ(bt.bindto, ip(10, 0, 0, 254));
  EXPECT_EQ(bt.bind_port, 4000);
  const CheckSpec& bh = b.checks.at(1).spec;
  EXPECT_TRUE(bh.alpha);
  EXPECT_EQ(bh.retry, 2u);
  EXPECT_EQ(bh.connect_port, 80);
  EXPECT_EQ(bh.urls.at(0).virtualhost, "rs.example.com");
}

// ---------------------------------------------------------------------------------------------
// The grammar

TEST(Keepalived, BracesWhereverTheyAre) {
  KaLoadResult r = load(R"(virtual_server 10.0.0.1 80
{
  lb_algo wrr
  protocol TCP
  lb_kind NAT
  real_server 10.0.0.2 8080 { weight 3
    TCP_CHECK {connect_timeout 10
      connect_port 8081 }
  }
  real_server 10.0.0.3 8080 { HTTP_GET { url { path /health } } }
  real_server 10.0.0.4 8080 {
    MISC_CHECK { misc_path "/bin/check #1" }}
})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.warnings, root_warning(12));
  const KaVirtualServer& vs = r.cfg.virtual_servers.at(0);
  EXPECT_EQ(vs.scheduler, "wrr");
  ASSERT_EQ(vs.real_servers.size(), 3u);
  EXPECT_EQ(vs.real_servers[0].server.weight, 3);
  const CheckSpec& t = vs.real_servers[0].checks.at(0).spec;
  EXPECT_DOUBLE_EQ(t.connect_timeout, 10);
  EXPECT_EQ(t.connect_port, 8081);
  EXPECT_EQ(vs.real_servers[1].checks.at(0).spec.urls.at(0).path, "/health");
  // '#' inside quotes is not a comment.
  EXPECT_EQ(vs.real_servers[2].checks.at(0).spec.misc_path, "/bin/check #1");
}

TEST(Keepalived, Comments) {
  KaLoadResult r = load(R"(# a comment
! another
virtual_server 10.0.0.1 80 { # the VIP
  lb_algo rr ! round robin
  lb_kind NAT#glued
  protocol TCP
  real_server 10.0.0.2 80 {
    weight 2 # two
    inhibit_on_failure        ! set weight to 0 instead of removing service
  }
}
)");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty());
  const KaVirtualServer& vs = r.cfg.virtual_servers.at(0);
  EXPECT_EQ(vs.scheduler, "rr");
  EXPECT_EQ(vs.real_servers.at(0).server.weight, 2);
  EXPECT_TRUE(vs.real_servers.at(0).server.inhibit);
}

TEST(Keepalived, Quotes) {
  // keepalived.conf(5) "Quoted strings": quoted parts join the word around them, blanks kept.
  // A backslash in quotes takes the next character as it is.
  const KaConfig cfg = load_ok(R"(virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.2 80 {
    MISC_CHECK {
      misc_path abcd" efg h jkl "mnop
    }
    MISC_CHECK {
      misc_path "/bin/say \"hi there\" a\nb" '! not a comment'
    }
    MISC_CHECK {
      misc_path "/bin/say 'hi there' \"quoted\""
    }
  }
}
)");
  const auto& checks = cfg.virtual_servers.at(0).real_servers.at(0).checks;
  EXPECT_EQ(checks.at(0).spec.misc_path, "abcd efg h jkl mnop");
  EXPECT_EQ(checks.at(0).spec.misc_argv,
            (std::vector<std::string>{"abcd", "efg", "h", "jkl", "mnop"}));
  EXPECT_EQ(checks.at(1).spec.misc_path, "/bin/say \"hi there\" anb ! not a comment");
  // Several values: one argument each.
  EXPECT_EQ(checks.at(1).spec.misc_argv,
            (std::vector<std::string>{"/bin/say \"hi there\" anb", "! not a comment"}));
  // Single quotes group inside one value; double quotes there are plain characters.
  EXPECT_EQ(checks.at(2).spec.misc_argv,
            (std::vector<std::string>{"/bin/say", "hi there", "\"quoted\""}));
}

TEST(Keepalived, SkippedBlocksMayHoldAnything) {
  // A block fastvsd does not handle is skipped whole: its keywords are not checked, only its
  // braces.
  KaLoadResult r = load(R"(global_defs {
  router_id LVS_DEVEL
  weird_thing 1 2 3 {
    nested { deeper }
  }
}
vrrp_sync_group VG1 {
  group {
    VI_1
  }
}
vrrp_script chk_haproxy {
  script "killall -0 haproxy"
}
static_ipaddress {
  192.168.200.17/24 dev eth1
}
whatever 1
)");
  ASSERT_TRUE(r.ok) << r.error;
  const std::vector<std::string> want = {
      "ka.conf:1: global_defs: router_id, weird_thing: not handled by fastvsd (ignored)",
      "ka.conf:7: vrrp_sync_group is keepalived's (keepalived --vrrp runs it)",
      "ka.conf:12: vrrp_script is keepalived's (keepalived --vrrp runs it)",
      "ka.conf:15: static_ipaddress is keepalived's (keepalived --vrrp runs it)",
      "ka.conf:18: unknown keyword 'whatever' (ignored)"};
  EXPECT_EQ(r.warnings, want);
  EXPECT_TRUE(r.cfg.virtual_servers.empty());
}

TEST(Keepalived, UnknownKeywordsAreWarningsWithTheirLines) {
  const std::vector<std::string> w = warnings_of(R"(virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  foo_bar 1
  smtp_alert
  real_server 10.0.0.2 80 {
    bogus
    TCP_CHECK {
      frobnicate yes
      connect_port 80
      log_all_failures
    }
    MISC_CHECK {
      misc_path /bin/true
      connect_timeout 3
    }
  }
}
)");
  const std::vector<std::string> want = {
      "ka.conf:5: unknown keyword 'foo_bar' in virtual_server (ignored)",
      "ka.conf:6: smtp_alert has no effect in fastvsd (ignored)",
      "ka.conf:8: unknown keyword 'bogus' in real_server (ignored)",
      "ka.conf:10: unknown keyword 'frobnicate' in TCP_CHECK (ignored)",
      "ka.conf:12: log_all_failures has no effect in fastvsd (ignored)",
      // MISC_CHECK has no connection keywords (install_checker_common_keywords(false)).
      "ka.conf:16: unknown keyword 'connect_timeout' in MISC_CHECK (ignored)"};
  EXPECT_EQ(w, want + root_warning(14));
}

// Each broken file and the one-line error it gives.
struct Broken {
  const char* text;
  const char* error;
};

TEST(Keepalived, BrokenFilesAreRejectedWithTheirLine) {
  const std::string vs = "virtual_server 10.0.0.1 80 {\n";  // line 1
  const Broken cases[] = {
      {"virtual_server 10.0.0.1 80 {\n  delay_loop 6\n}\n}\n",
       "ka.conf:4: unexpected '}' (no block is open)"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight 1\n",
       "ka.conf:2: the '{' of 'real_server' is never closed"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight\n  }\n}\n",
       "ka.conf:3: 'weight' needs a value"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight 1 2\n  }\n}\n",
       "ka.conf:3: too many values for 'weight' (it takes 1): 1 2"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.300 80\n}\n",
       "ka.conf:2: bad real server address '10.0.0.300' (a numeric IPv4 or IPv6 address like "
       "192.168.0.1 or 2001:db8::1)"},
      {"virtual_server 10.0.0.1 80 {\n  real_server web1 80\n}\n",
       "ka.conf:2: bad real server address 'web1' (a numeric IPv4 or IPv6 address like "
       "192.168.0.1 or 2001:db8::1)"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 99999\n}\n",
       "ka.conf:2: bad real server port '99999' (0..65535)"},
      {"virtual_server 10.0.0.1 http {\n}\n",
       "ka.conf:1: bad virtual server port 'http' (0..65535)"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight 1x\n  }\n}\n",
       "ka.conf:3: bad weight '1x' (a whole number 0..65535)"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight 70000\n  }\n}\n",
       "ka.conf:3: bad weight '70000' (a whole number 0..65535)"},
      {"virtual_server 10.0.0.1 80 {\n  delay_loop abc\n}\n",
       "ka.conf:2: bad delay_loop 'abc' (seconds, e.g. 3 or 2.5; more than 0)"},
      {"virtual_server 10.0.0.1 80 {\n  delay_loop 0\n}\n",
       "ka.conf:2: bad delay_loop '0' (seconds, e.g. 3 or 2.5; more than 0)"},
      {"virtual_server 10.0.0.1 80 {\n  delay_before_retry -1\n}\n",
       "ka.conf:2: bad delay_before_retry '-1' (seconds, e.g. 3 or 2.5)"},
      {"virtual_server 10.0.0.1 80 {\n  lb_kind FOO\n}\n",
       "ka.conf:2: bad lb_kind 'FOO' (NAT, DR or TUN)"},
      {"virtual_server 10.0.0.1 80 {\n  protocol SCTP\n}\n",
       "ka.conf:2: protocol SCTP is not supported by fastvs (TCP or UDP)"},
      {"virtual_server 10.0.0.1 80 {\n  protocol ICMP\n}\n",
       "ka.conf:2: bad protocol 'ICMP' (TCP or UDP)"},
      {"virtual_server 10.0.0.1 80 {\n  quorum 0\n}\n",
       "ka.conf:2: bad quorum '0' (a whole number 1..4294967295)"},
      {"virtual_server 10.0.0.1 80 {\n  alpha maybe\n}\n",
       "ka.conf:2: bad alpha 'maybe' (on, off, true, false, yes or no)"},
      {"virtual_server 10.0.0.1 80 {\n  persistence_granularity 255.0.255.0\n}\n",
       "ka.conf:2: persistence_granularity '255.0.255.0' is not a netmask (its bits must be "
       "contiguous)"},
      {"virtual_server 10.0.0.1 80 {\n  persistence_timeout 5m\n}\n",
       "ka.conf:2: bad persistence_timeout '5m' (a whole number 0..4294967295)"},
      {"virtual_server 10.0.0.1 80\n", "ka.conf:1: 'virtual_server' needs a { } block"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    TCP_CHECK foo {\n"
       "    }\n  }\n}\n",
       "ka.conf:3: too many values for 'TCP_CHECK' (it takes none): foo"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n"
       "      connect_port 80\n    }\n  }\n}\n",
       "ka.conf:3: HTTP_GET without a url { path ... }"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n"
       "      url {\n        digest xyz\n      }\n    }\n  }\n}\n",
       "ka.conf:5: bad digest 'xyz' (an MD5 sum: 32 hex digits, as genhash prints it)"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n"
       "      url {\n        status_code 2xx\n      }\n    }\n  }\n}\n",
       "ka.conf:5: bad status_code '2xx' (a code like 200 or a range like 200-299, 100..999)"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n"
       "      url {\n        digest 640205b7b0fc66c1ea91c463fac6334d\n      }\n    }\n  }\n}\n",
       "ka.conf:4: url without a path"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n"
       "      misc_path \"/bin/check\n    }\n  }\n}\n",
       "ka.conf:4: unterminated quoted string (missing \")"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n"
       "      misc_timeout 3\n    }\n  }\n}\n",
       "ka.conf:3: MISC_CHECK without misc_path"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n"
       "      connect_port\n    }\n  }\n}\n",
       "ka.conf:4: 'connect_port' needs a value"},
      {"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n"
       "      retry many\n    }\n  }\n}\n",
       "ka.conf:4: bad retry 'many' (a whole number 0..4294967295)"},
      {"virtual_server 10.0.0.1 80 {\n  sorry_server_inhibit\n}\n",
       "ka.conf:2: sorry_server_inhibit before or without sorry_server"},
      {"{\n}\n", "ka.conf:1: '{' without a keyword before it"},
      {"include /nonexistent-fvs/conf.d/*.conf\n",
       "ka.conf:1: include /nonexistent-fvs/conf.d/*.conf: no file matches "
       "/nonexistent-fvs/conf.d/*.conf"},
      {"include\n", "ka.conf:1: include takes one file name or glob pattern"},
      {"\n\nincludea /etc/keepalived/lvs.conf\n",
       "ka.conf:3: unknown keyword 'includea' (include FILE reads FILE here)"},
      {"@ virtual_server 10.0.0.1 80 {\n}\n",
       "ka.conf:1: conditional configuration: '@' names no id"},
      {"@^ virtual_server 10.0.0.1 80 {\n}\n",
       "ka.conf:1: conditional configuration: '@^' names no id"},
      {"$BLOCK=protocol TCP \\\n",
       "ka.conf:1: parameter $BLOCK: a value on several lines (ending in \\) is not supported"},
      {"$A=$B\n$B=$A\nvirtual_server $A 80 {\n}\n",
       "ka.conf:3: parameter substitution does not end (a parameter that names itself?): "
       "virtual_server $A 80 {"},
      {"virtual_server 10.0.0.1 ${_RANDOM} {\n}\n",
       "ka.conf:1: $_RANDOM is not supported by fastvsd"},
      {"virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.0.0.2 80\n}\n"
       "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.0.0.3 80\n}\n",
       "ka.conf:5: virtual server TCP 10.0.0.1:80 is defined twice"},
      // Errors inside a skipped block are only its braces.
      {"vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.1\n}\n",
       "ka.conf:1: the '{' of 'vrrp_instance' is never closed"},
  };
  (void)vs;
  for (const Broken& c : cases) EXPECT_EQ(load_err(c.text), c.error) << c.text;
}

// keepalived's conditional configuration, read as the config id "fastvsd": "@fastvsd" and
// "@^OTHER" lines are taken, "@OTHER" and "@^fastvsd" ones are not (a line alone, too).
TEST(Keepalived, ConditionalConfigurationAsFastvsd) {
  const KaConfig k = load_ok(R"(@fastvsd virtual_server 10.0.0.1 80 {
@fastvsd   real_server 10.0.1.1 80
@fastvsd }
@lb2 virtual_server 10.0.0.2 80 {
@lb2   real_server 10.0.1.1 80
@lb2 }
@^lb2 virtual_server 10.0.0.3 80 {
@^lb2   real_server 10.0.1.1 80
@^lb2 }
@^fastvsd virtual_server 10.0.0.4 80 {
@^fastvsd   real_server 10.0.1.1 80
@^fastvsd }
@fastvsd
)");
  std::vector<std::string> vips;
  for (const auto& vs : k.virtual_servers) vips.push_back(format_ip(vs.key.vip));
  EXPECT_EQ(vips, (std::vector<std::string>{"10.0.0.1", "10.0.0.3"}));
}

// ---------------------------------------------------------------------------------------------
// keepalived's corrections (validate_check_config) and what fastvs does not handle

TEST(Keepalived, KeepalivedCorrections) {
  KaLoadResult r = load(R"(virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  quorum 10
  hysteresis 5
  real_server 10.0.0.2 8080 {
    weight 2
  }
  real_server 10.0.0.3 80 {
    weight 1
  }
  real_server 10.0.0.2 80 {
    weight 7
  }
  real_server 10.0.0.4 8080 {
    lvs_method NAT
  }
}
virtual_server 10.0.0.1 81 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
}
virtual_server 10.0.0.1 0 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.2
}
)");
  ASSERT_TRUE(r.ok) << r.error;
  const std::vector<std::string> want = {
      "ka.conf:7: virtual server TCP 10.0.0.1:80 and real server 10.0.0.2:8080 ports don't "
      "match, resetting to 80 (only NAT maps ports)",
      "ka.conf:13: virtual server TCP 10.0.0.1:80: real server 10.0.0.2:80 is duplicated, "
      "removing the second one",
      "ka.conf:1: quorum 10 for TCP 10.0.0.1:80 exceeds the total weight of its real servers 4, "
      "reducing quorum to 4",
      "ka.conf:1: virtual server TCP 10.0.0.1:80: hysteresis 5 >= quorum 4, setting hysteresis "
      "to 3",
      "ka.conf:20: virtual server 10.0.0.1:81 has no real servers (ignored)",
      "ka.conf:25: virtual server TCP 10.0.0.1:0: port 0 is only valid for persistent "
      "services, setting persistence_timeout 360"};
  EXPECT_EQ(r.warnings, want);
  ASSERT_EQ(r.cfg.virtual_servers.size(), 2u);
  const KaVirtualServer& vs = r.cfg.virtual_servers[0];
  ASSERT_EQ(vs.real_servers.size(), 3u);
  EXPECT_EQ(vs.real_servers[0].server.port, 80);
  EXPECT_EQ(vs.real_servers[0].server.weight, 2);
  EXPECT_EQ(vs.real_servers[2].server.port, 8080);  // NAT keeps its port
  EXPECT_EQ(vs.real_servers[2].server.method, ForwardMethod::Masq);
  EXPECT_EQ(vs.quorum, 4u);
  EXPECT_EQ(vs.hysteresis, 3u);
  const KaVirtualServer& zero = r.cfg.virtual_servers[1];
  EXPECT_EQ(zero.persistence_timeout, 360u);
  EXPECT_EQ(zero.real_servers.at(0).server.port, 0);
  const auto cmds = ka_commands(r.cfg);
  EXPECT_EQ(cmds.back(), (std::vector<std::string>{"-a", "-t", "10.0.0.1:0", "-r", "10.0.0.2", "-m",
                                                   "-w", "1"}));
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
}

// One rule: what fastvsd cannot do as the file asks refuses it (each named, at its line) and is
// never also a warning that says it was ignored.
TEST(Keepalived, NotHandledRefusesTheFileAndIsNoWarning) {
  KaLoadResult r = load(R"(# lines 1 to 10: what fastvsd handles now (firewall marks) stood here
#
#
#
#
#
#
#
#
#
virtual_server 10.0.0.1 443 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  persistence_engine sip
  real_server 10.0.0.2 443 {
    BFD_CHECK {
      name b1
    }
  }
  real_server 10.0.0.3 443 {
    HTTP_GET {
      url {
        path /
        regex "OK"
      }
    }
  }
  real_server 10.0.0.4 443 {
    lvs_method TUN type gue port 6080
  }
}
)");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.at(0);
  const std::vector<std::string> errors = {
      "ka.conf:15: persistence_engine is not handled by fastvsd",
      "ka.conf:17: BFD_CHECK is not handled by fastvsd",
      "ka.conf:25: url regex is not handled by fastvsd",
      "ka.conf:30: lvs_method TUN type gue port 6080 is not handled by fastvsd"};
  EXPECT_EQ(ka_unsupported(r.cfg), errors);
  // What is handled still loads: the real server whose only checker is BFD_CHECK has none.
  const KaVirtualServer& vs = r.cfg.virtual_servers.at(0);
  EXPECT_EQ(service_name(vs.key), "TCP 10.0.0.1:443");
  EXPECT_TRUE(vs.real_servers.at(0).checks.empty());
  EXPECT_EQ(vs.real_servers.at(2).server.method, ForwardMethod::Tunnel);
}

// virtual_server_group (check_data.c's alloc_vsg_entry): one service per address of its entries,
// each with the block's settings and real servers, as keepalived adds them to IPVS; the group may
// come after the virtual server that names it.
TEST(Keepalived, VirtualServerGroup) {
  const KaConfig cfg = load_ok(R"(virtual_server group G1 {
  protocol TCP
  lb_algo wrr
  lb_kind NAT
  persistence_timeout 50
  real_server 10.0.0.2 {
    weight 2
    TCP_CHECK {
      connect_timeout 3
    }
  }
}
virtual_server_group G1 {
  192.168.200.1 1358
  192.168.200.3-5 80
  192.168.201.8/30 8080
  192.168.202.1-192.168.202.2 443
}
virtual_server_group V6 {
  ae00::2-a 80
  ae00::1 80
}
virtual_server group V6 {
  protocol UDP
  lb_algo rr
  real_server ae00::10 53
})");
  std::vector<std::string> names;
  for (const KaVirtualServer& vs : cfg.virtual_servers) {
    names.push_back(service_name(vs.key));
    EXPECT_EQ(vs.real_servers.size(), 1u);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "TCP 192.168.200.1:1358",  "TCP 192.168.200.3:80",    "TCP 192.168.200.4:80",
                "TCP 192.168.200.5:80",    "TCP 192.168.201.8:8080",  "TCP 192.168.201.9:8080",
                "TCP 192.168.201.10:8080", "TCP 192.168.201.11:8080", "TCP 192.168.202.1:443",
                "TCP 192.168.202.2:443",   "UDP [ae00::2]:80",        "UDP [ae00::3]:80",
                "UDP [ae00::4]:80",        "UDP [ae00::5]:80",        "UDP [ae00::6]:80",
                "UDP [ae00::7]:80",        "UDP [ae00::8]:80",        "UDP [ae00::9]:80",
                "UDP [ae00::a]:80",        "UDP [ae00::1]:80"}));
  // Each takes the block's values; a real server without a port takes its service's.
  const KaVirtualServer& third = cfg.virtual_servers.at(2);
  EXPECT_EQ(third.scheduler, "wrr");
  EXPECT_EQ(third.persistence_timeout, 50u);
  EXPECT_EQ(third.real_servers.at(0).server.port, 80);
  EXPECT_EQ(third.real_servers.at(0).server.weight, 2);
  EXPECT_EQ(third.real_servers.at(0).checks.size(), 1u);
  EXPECT_EQ(cfg.virtual_servers.at(0).real_servers.at(0).server.port, 1358);
  EXPECT_TRUE(ka_unsupported(cfg).empty());

  // keepalived's refusals of an entry, at its line.
  const auto err = [](const std::string& entry) {
    return load("virtual_server_group G {\n  " + entry + "\n}\n").error;
  };
  EXPECT_EQ(err("10.0.0.5-3 80"),
            "ka.conf:2: virtual_server_group G: bad address range '10.0.0.5-3' (the range's end "
            "is not greater than its start)");
  EXPECT_EQ(err("10.0.0.5-256 80"),
            "ka.conf:2: virtual_server_group G: bad address range '10.0.0.5-256' (the end is the "
            "last byte, 0..255)");
  EXPECT_EQ(err("10.0.0.1/24 80"),
            "ka.conf:2: virtual_server_group G: bad address range '10.0.0.1/24' (address mask "
            "bits not empty)");
  EXPECT_EQ(err("10.0.0.9-10.0.0.1 80"),
            "ka.conf:2: virtual_server_group G: bad address range '10.0.0.9-10.0.0.1' (the "
            "range's end is less than its start)");
  EXPECT_EQ(err("web 80"),
            "ka.conf:2: virtual_server_group G: bad address range 'web' (an address, ADDR-END, "
            "ADDR-ADDR or ADDR/LEN)");
  EXPECT_EQ(err("10.0.0.1 http"), "ka.conf:2: virtual_server_group G: bad port 'http' (0..65535)");
  EXPECT_EQ(err("10.0.0.0/8 80"),
            "ka.conf:2: virtual_server_group G: '10.0.0.0/8' makes more than 65536 addresses in "
            "the group (fastvsd makes a service of each)");
  EXPECT_EQ(load("virtual_server group NOPE {\n}\n").error,
            "ka.conf:1: virtual_server group NOPE: no virtual_server_group of that name");
  // keepalived drops an empty group and the virtual servers that name it: refused here.
  EXPECT_EQ(load("virtual_server_group G {\n}\nvirtual_server group G {\n}\n").error,
            "ka.conf:1: virtual_server_group G has no entries");
  // An address twice is one service, with a warning at the second entry.
  const KaLoadResult twice = load(
      "virtual_server_group G {\n 10.0.0.5-7 80\n 10.0.0.6 80\n}\nvirtual_server group G {\n"
      " protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.9 80\n}\n");
  ASSERT_TRUE(twice.ok) << twice.error;
  EXPECT_EQ(twice.cfg.virtual_servers.size(), 3u);
  EXPECT_EQ(twice.warnings, (std::vector<std::string>{"ka.conf:3: virtual_server_group G: "
                                                      "10.0.0.6:80 is in the group already "
                                                      "(ignored: once)"}));
}

// Every sample of Debian's keepalived package (2.2.7's samples/, read at test time) loads, but
// for the ones named here with what fastvsd refuses in them; a sample that starts to load, or a
// new refusal, fails the test until this list says so.
TEST(Keepalived, DebianSamples) {
  const std::filesystem::path dir = "/usr/share/doc/keepalived/samples";
  ASSERT_TRUE(std::filesystem::is_directory(dir))
      << dir << " is missing: install Debian's keepalived (scripts/install-deps)";
  // None since firewall-mark services (keepalived.conf.fwmark, .virtual_server_group).
  const std::map<std::string, std::string> refused = {};
  std::vector<std::string> seen;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename();
    if (name.rfind("keepalived.conf.", 0) != 0) continue;
    seen.push_back(name);
    std::ifstream f(entry.path());
    std::stringstream text;
    text << f.rdbuf();
    std::vector<std::string> warnings;
    const Result<KaConfig> r = parse_keepalived(text.str(), name, &warnings);
    ASSERT_TRUE(r.ok()) << r.error();
    const std::vector<std::string> not_handled = ka_unsupported(*r);
    if (const auto it = refused.find(name); it != refused.end()) {
      ASSERT_FALSE(not_handled.empty()) << name << " loads now: take it off the list";
      EXPECT_EQ(not_handled.front(), name + it->second);
      continue;
    }
    EXPECT_TRUE(not_handled.empty()) << name << ": " << not_handled.front();
    // What it makes is what keepalived would give IPVS: a service for each virtual server with
    // real servers, each command of which fastvsadm's grammar reads.
    for (const auto& words : ka_commands(*r)) EXPECT_TRUE(parse_command(words).ok()) << name;
  }
  EXPECT_GE(seen.size(), 25u) << "fewer samples than Debian 12's keepalived 2.2.7 has";
  for (const auto& [name, why] : refused)
    EXPECT_NE(std::find(seen.begin(), seen.end(), name), seen.end()) << name;
}

// `virtual_server fwmark N` and a group's `fwmark N [inet|inet6]` entries: firewall-mark
// services (ipvsadm -f), their family as vs_end_handler settles it, their real servers' ports as
// check_data.c's validate_check_config corrects them.
TEST(Keepalived, FirewallMarkVirtualServers) {
  KaLoadResult r = load(R"(virtual_server fwmark 1 {
  lb_algo rr
  lb_kind NAT
  persistence_timeout 900
  protocol TCP
  real_server 192.168.201.100 {
    TCP_CHECK {
      connect_port 80
    }
  }
  real_server 192.168.201.101 8080 {
  }
}
virtual_server fwmark 2 {
  lb_algo wlc
  lb_kind DR
  real_server 2001:db8::10 80 {
  }
}
virtual_server fwmark 3 {
  ip_family inet6
  lb_kind TUN
  lb_algo rr
  real_server 10.0.0.9 {
  }
}
virtual_server fwmark 4 {
  lb_algo rr
  lb_kind TUN
  persistence_granularity 64
  real_server 10.0.0.9 {
  }
}
virtual_server_group G {
  10.0.0.1 80
  fwmark 5
  fwmark 6 inet
}
virtual_server group G {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.2 1358 {
  }
}
)");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(ka_unsupported(r.cfg).empty()) << ka_unsupported(r.cfg).front();
  ASSERT_EQ(r.cfg.virtual_servers.size(), 7u);
  const auto& vss = r.cfg.virtual_servers;
  EXPECT_EQ(vss[0].key, ServiceKey::of_fwmark(1, false));
  EXPECT_EQ(vss[1].key, ServiceKey::of_fwmark(2, true));  // its real server's family
  EXPECT_EQ(vss[2].key, ServiceKey::of_fwmark(3, true));  // ip_family
  EXPECT_EQ(vss[3].key, ServiceKey::of_fwmark(4, true));  // granularity's form: a length
  EXPECT_EQ(vss[3].persistence_granularity6, 64);
  EXPECT_EQ(service_name(vss[4].key), "TCP 10.0.0.1:80");
  EXPECT_EQ(vss[5].key, ServiceKey::of_fwmark(5, false));  // the group's addresses' family
  EXPECT_EQ(vss[6].key, ServiceKey::of_fwmark(6, false));
  // NAT: no port is each connection's own, a port maps; DR cannot map: cleared.
  EXPECT_EQ(vss[0].real_servers[0].server.port, 0);
  EXPECT_EQ(vss[0].real_servers[1].server.port, 8080);
  EXPECT_EQ(vss[0].real_servers[0].checks.at(0).spec.connect_port, 80);
  EXPECT_EQ(vss[1].real_servers[0].server.port, 0);
  EXPECT_EQ(vss[5].real_servers[0].server.port, 1358);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "ka.conf:1: virtual server fwmark 1: protocol specified for fwmark "
                            "(ignored: a mark takes TCP and UDP)",
                            "ka.conf:17: virtual server FWM 2 IPv6: real server "
                            "[2001:db8::10]:80 has a port specified (cleared: only NAT maps "
                            "ports)"}));
  const auto cmds = ka_commands(r.cfg);
  EXPECT_EQ(cmds.at(0), (std::vector<std::string>{"-A", "-f", "1", "-s", "rr", "-p", "900"}));
  EXPECT_NE(std::find(cmds.begin(), cmds.end(),
                      std::vector<std::string>{"-A", "-f", "3", "-6", "-s", "rr"}),
            cmds.end());
  for (const auto& words : cmds) EXPECT_TRUE(parse_command(words).ok()) << words.at(0);
  // A mark of 0 is none.
  EXPECT_EQ(load("virtual_server fwmark 0 {\n}\n").error,
            "ka.conf:1: bad virtual_server '0' (a whole number 1..4294967295)");
}

// keepalived's parameters (parser.c): $NAME=value, then $NAME and ${NAME} in later lines,
// references resolved when used (a parameter may name one defined after it), "@ID $X=..."
// only for the config id fastvsd, the standard $_BANG, $_HASH and $_PWD.
TEST(Keepalived, Parameters) {
  const KaConfig cfg = load_ok(R"($VIP = 10.0.0.1
$PORT=80   # a comment goes
$RS=10.0.0.${LAST}
$LAST=2
@fastvsd $SCHED=wrr
@other $SCHED=sh
virtual_server $VIP ${PORT} {
  protocol TCP
  lb_algo $SCHED
  lb_kind NAT
  real_server $RS $PORT {
    MISC_CHECK {
      misc_path "/bin/echo ${VIP}${_BANG}"
    }
  }
  real_server ${VIP}0 $PORT
}
virtual_server $VIP 443 {
  protocol TCP
  real_server $RS 443
})");
  ASSERT_EQ(cfg.virtual_servers.size(), 2u);
  const KaVirtualServer& vs = cfg.virtual_servers[0];
  EXPECT_EQ(service_name(vs.key), "TCP 10.0.0.1:80");
  EXPECT_EQ(vs.scheduler, "wrr");
  ASSERT_EQ(vs.real_servers.size(), 2u);
  EXPECT_EQ(format_ip(vs.real_servers[0].server.ip), "10.0.0.2");
  EXPECT_EQ(format_ip(vs.real_servers[1].server.ip), "10.0.0.10");
  ASSERT_EQ(vs.real_servers[0].checks.size(), 1u);
  EXPECT_EQ(vs.real_servers[0].checks[0].spec.misc_argv,
            (std::vector<std::string>{"/bin/echo", "10.0.0.1!"}));
  EXPECT_EQ(service_name(cfg.virtual_servers[1].key), "TCP 10.0.0.1:443");
  // An undefined name stays as it is (keepalived leaves it): here a bad address, at its line.
  EXPECT_EQ(load("virtual_server $NOPE 80 {\n}\n").error,
            "ka.conf:1: bad virtual server address '$NOPE' (a numeric IPv4 or IPv6 address like "
            "192.168.0.1 or 2001:db8::1)");
}

// keepalived's include (parser.c): a glob, relative to the including file's directory, read in
// its place (inside a block too), in glob's order; messages name the included file and its line.
TEST(Keepalived, Include) {
  char dir[] = "/tmp/fvs-ka-inc-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  ASSERT_EQ(mkdir((d + "/conf.d").c_str(), 0755), 0);
  const auto write = [](const std::string& path, const std::string& text) {
    FILE* fp = std::fopen(path.c_str(), "w");
    ASSERT_NE(fp, nullptr);
    std::fputs(text.c_str(), fp);
    std::fclose(fp);
  };
  write(d + "/conf.d/b.conf",
        "virtual_server 10.0.0.2 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n"
        "  include ../rs.inc\n}\n");
  write(d + "/conf.d/a.conf",
        "$PORT=8080\nvirtual_server 10.0.0.1 $PORT {\n  protocol TCP\n  lb_algo rr\n"
        "  lb_kind NAT\n  real_server 10.0.0.9 8080\n}\n");
  write(d + "/rs.inc", "real_server 10.0.0.8 80\nbogus_keyword\n");
  write(d + "/main.conf",
        "global_defs {\n}\ninclude conf.d/*.conf\nvirtual_server 10.0.0.3 80 {\n}\n");
  std::vector<std::string> warnings;
  Result<KaConfig> r =
      parse_keepalived("global_defs {\n}\ninclude conf.d/*.conf\n", d + "/main.conf", &warnings);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->virtual_servers.size(), 2u);
  EXPECT_EQ(service_name(r->virtual_servers[0].key), "TCP 10.0.0.1:8080");  // a.conf first
  EXPECT_EQ(service_name(r->virtual_servers[1].key), "TCP 10.0.0.2:80");
  EXPECT_EQ(format_ip(r->virtual_servers[1].real_servers.at(0).server.ip), "10.0.0.8");
  EXPECT_EQ(warnings,
            (std::vector<std::string>{d + "/conf.d/../rs.inc:2: unknown keyword "
                                          "'bogus_keyword' in virtual_server (ignored)"}));
  // An error in an included file names it; a file that includes itself stops at 8.
  write(d + "/rs.inc", "real_server 10.0.0.8 80 {\n  weight many\n}\n");
  r = parse_keepalived("include conf.d/b.conf\n", d + "/main.conf", &warnings);
  EXPECT_EQ(r.error(), d + "/conf.d/../rs.inc:2: bad weight 'many' (a whole number 0..65535)");
  write(d + "/loop.conf", "include loop.conf\n");
  r = parse_keepalived("include loop.conf\n", d + "/main.conf", &warnings);
  EXPECT_EQ(r.error(),
            d + "/loop.conf:1: include nested deeper than 8 files (a file that includes itself?)");
  // What is read is bounded and regular, as every file fastvsd reads.
  r = parse_keepalived("include /dev/zero\n", d + "/main.conf", &warnings);
  EXPECT_EQ(r.error(), d + "/main.conf:1: include /dev/zero: /dev/zero: a character device, not "
                           "a regular file");
  for (const char* f : {"/conf.d/a.conf", "/conf.d/b.conf", "/rs.inc", "/main.conf", "/loop.conf"})
    std::remove((d + f).c_str());
  rmdir((d + "/conf.d").c_str());
  rmdir(dir);
}

// What is ignored is a warning that says why, and the file runs.
TEST(Keepalived, IgnoredIsAWarningAndRuns) {
  KaLoadResult r = load(R"(virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  ha_suspend
  flag-3
  sh-port
  real_server 10.0.0.2 80 {
    TCP_CHECK {
      bind_if dpdk1
    }
  }
})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.warnings,
            (std::vector<std::string>{
                "ka.conf:5: ha_suspend: not handled by fastvsd (ignored: the checks run on the "
                "backup too)",
                "ka.conf:10: TCP_CHECK bind_if: not handled by fastvsd (ignored: the check goes "
                "out as the host routes it)"}));
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
  // The flags of a scheduler that reads none are kept, as keepalived gives them to the kernel,
  // and named as ipvsadm names them.
  EXPECT_EQ(ka_services(r.cfg).at(0).sched_flags, kSchedShPort | kSchedFlag3);
  const auto cmds = ka_commands(r.cfg);
  EXPECT_EQ(cmds.at(0), (std::vector<std::string>{"-A", "-t", "10.0.0.1:80", "-s", "rr", "-b",
                                                  "flag-2,flag-3"}));
  EXPECT_TRUE(parse_command(cmds.at(0)).ok());
}

// sh's and mh's flags by either name, or keepalived's flag-1 and flag-2.
TEST(Keepalived, SchedulerFlags) {
  auto with = [](const std::string& sched, const std::string& flags) {
    return load_ok("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_kind NAT\n lb_algo " + sched +
                   "\n" + flags + " real_server 10.0.0.2 80\n}\n");
  };
  for (const char* f : {" mh-port\n mh-fallback\n", " flag-1\n flag-2\n", " sh-port\n flag-1\n"}) {
    const KaConfig c = with("mh", f);
    EXPECT_TRUE(ka_unsupported(c).empty()) << f;
    EXPECT_EQ(ka_services(c).at(0).sched_flags, uint32_t{kSchedMhPort | kSchedMhFallback}) << f;
    EXPECT_EQ(ka_commands(c).at(0), (std::vector<std::string>{"-A", "-t", "10.0.0.1:80", "-s", "mh",
                                                              "-b", "mh-fallback,mh-port"}))
        << f;
  }
  EXPECT_EQ(ka_services(with("sh", " flag-2\n")).at(0).sched_flags, uint32_t{kSchedShPort});
  // flag-3 has no name under sh and mh (ipvsadm could not list or save it): ignored, said so.
  KaLoadResult f3 = load(
      "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_kind NAT\n lb_algo sh\n flag-3\n"
      " sh-port\n real_server 10.0.0.2 80\n}\n");
  ASSERT_TRUE(f3.ok) << f3.error;
  EXPECT_EQ(f3.warnings, std::vector<std::string>{
                             "ka.conf:4: virtual server TCP 10.0.0.1:80: flag-3 has no meaning for "
                             "the sh scheduler (ignored: ipvsadm could not list or save it)"});
  EXPECT_EQ(ka_services(f3.cfg).at(0).sched_flags, uint32_t{kSchedShPort});
  // ops (lbflags_handler): one-packet scheduling for a UDP service, ipvsadm's -o.
  KaLoadResult r = load(
      "virtual_server 10.0.0.1 53 {\n protocol UDP\n lb_algo rr\n lb_kind "
      "NAT\n ops\n persistence_timeout 30\n real_server 10.0.0.2 53\n}\n");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
  EXPECT_TRUE(ka_services(r.cfg).at(0).ops);
  EXPECT_EQ(ka_commands(r.cfg).at(0),
            (std::vector<std::string>{"-A", "-u", "10.0.0.1:53", "-s", "rr", "-p", "30", "-o"}));
  // On TCP, check_data.c's "one packet scheduling requires UDP - resetting": ignored, said so.
  r = load(
      "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind "
      "NAT\n ops\n real_server 10.0.0.2 80\n}\n");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.warnings, std::vector<std::string>{
                            "ka.conf:1: virtual server TCP 10.0.0.1:80: one packet scheduling "
                            "requires UDP (ops ignored)"});
  EXPECT_TRUE(ka_unsupported(r.cfg).empty());
  EXPECT_FALSE(ka_services(r.cfg).at(0).ops);
  // ops takes no value.
  r = load("virtual_server 10.0.0.1 53 {\n protocol UDP\n ops yes\n real_server 10.0.0.2 53\n}\n");
  EXPECT_FALSE(r.ok);
}

TEST(Keepalived, SchedulersFastvsDoesNotKnow) {
  auto with = [](const std::string& sched, const std::string& extra = "") {
    return load_ok("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_kind NAT\n lb_algo " + sched +
                   "\n" + extra + " real_server 10.0.0.2 80\n}\n");
  };
  EXPECT_TRUE(ka_unsupported(with("wlc")).empty());
  EXPECT_TRUE(ka_unsupported(with("sh", " sh-port\n sh-fallback\n")).empty());
  EXPECT_EQ(ka_services(with("sh", " sh-port\n")).at(0).sched_flags, uint32_t{kSchedShPort});
  EXPECT_EQ(ka_commands(with("sh", " sh-port\n sh-fallback\n")).at(0),
            (std::vector<std::string>{"-A", "-t", "10.0.0.1:80", "-s", "sh", "-b",
                                      "sh-fallback,sh-port"}));
  // By default, fastvsadm's grammar judges (so schedulers it learns are accepted here too).
  EXPECT_TRUE(ka_unsupported(with("lblc")).empty());
  EXPECT_TRUE(ka_unsupported(with("lblcr")).empty());
  EXPECT_EQ(ka_services(with("lblcr")).at(0).scheduler, "lblcr");
  EXPECT_EQ(ka_unsupported(with("bogus")),
            (std::vector<std::string>{
                "ka.conf:4: virtual_server 10.0.0.1:80: bad scheduler name 'bogus'"}));
  // Or a check of the caller's.
  const SchedulerCheck knows_sed = [](std::string_view s) {
    return s == "sed" || s == "rr" ? Status() : Status(Error{"unknown scheduler"});
  };
  EXPECT_TRUE(ka_unsupported(with("sed"), knows_sed).empty());
  EXPECT_EQ(ka_unsupported(with("lc"), knows_sed),
            (std::vector<std::string>{
                "ka.conf:4: virtual_server 10.0.0.1:80: lb_algo 'lc': unknown scheduler"}));
  // The rest of -A is still checked: fastvsadm's -p takes at most 31 days.
  EXPECT_EQ(ka_unsupported(with("rr", " persistence_timeout 3000000\n"), knows_sed).size(), 1u);
}

TEST(Keepalived, ThresholdsAndNotify) {
  const KaConfig cfg = load_ok(R"(virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.2 80 {
    uthreshold 100
    lthreshold 10
    notify_up "/bin/echo up"
    notify_down /bin/echo root
  }
  real_server 10.0.0.3 80 {
    uthreshold 10
    lthreshold 20
  }
}
)");
  const KaRealServer& rs = cfg.virtual_servers.at(0).real_servers.at(0);
  EXPECT_EQ(rs.server.u_threshold, 100u);
  EXPECT_EQ(rs.server.l_threshold, 10u);
  EXPECT_EQ(rs.notify_up->spec.argv, (std::vector<std::string>{"/bin/echo", "up"}));
  EXPECT_EQ(rs.notify_up->spec.user, "");
  EXPECT_EQ(rs.notify_down->spec.argv, std::vector<std::string>{"/bin/echo"});
  EXPECT_EQ(rs.notify_down->spec.user, "root");  // the word after the script
  EXPECT_EQ(rs.notify_down->spec.uid, 0u);
  EXPECT_EQ(ka_commands(cfg).at(1),
            (std::vector<std::string>{"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:80", "-m", "-w",
                                      "1", "-x", "100", "-y", "10"}));
  EXPECT_EQ(
      ka_unsupported(cfg),
      (std::vector<std::string>{
          "ka.conf:11: real_server 10.0.0.3:80: lthreshold 20 is higher than uthreshold 10"}));
}

TEST(Keepalived, EmptyAndCommentOnlyFiles) {
  for (const char* text : {"", "\n\n", "# nothing\n! here\n"}) {
    KaLoadResult r = load(text);
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.warnings.empty());
    EXPECT_TRUE(r.cfg.virtual_servers.empty());
    EXPECT_TRUE(ka_services(r.cfg).empty());
  }
}

TEST(Keepalived, TheAddressesVrrpMoves) {
  KaLoadResult r = load(R"(vrrp_instance VI_PUBLIC {
    interface dpdk0
    virtual_router_id 51
    virtual_ipaddress {
        172.16.254.200/24 dev dpdk0 label dpdk0:1
        2001:db8::1/64
        not-an-address
    }
    virtual_ipaddress_excluded {
        172.16.254.201
    }
}
static_ipaddress {
    10.9.9.9/8 dev dpdk1
    10.9.9.10/33 dev dpdk1
}
)");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.cfg.vrrp_addrs.size(), 4u);
  EXPECT_EQ(r.cfg.vrrp_addrs[0].ip, ip(172, 16, 254, 200));
  EXPECT_EQ(r.cfg.vrrp_addrs[0].prefix_len, 24);
  EXPECT_EQ(r.cfg.vrrp_addrs[0].line, 5u);
  // IPv6 too: the kernel path follows the host's IPv6 addresses as it does IPv4's.
  EXPECT_EQ(r.cfg.vrrp_addrs[1].ip, IpAddr::v6(*parse_ip6("2001:db8::1")));
  EXPECT_EQ(r.cfg.vrrp_addrs[1].prefix_len, 64);
  EXPECT_EQ(r.cfg.vrrp_addrs[1].line, 6u);
  EXPECT_EQ(r.cfg.vrrp_addrs[2].ip, ip(172, 16, 254, 201));
  EXPECT_EQ(r.cfg.vrrp_addrs[2].owner, "vrrp_instance VI_PUBLIC");
  EXPECT_EQ(r.cfg.vrrp_addrs[3].ip, ip(10, 9, 9, 9));
  EXPECT_EQ(r.cfg.vrrp_addrs[3].owner, "static_ipaddress");
}

// ---------------------------------------------------------------------------------------------
// global_defs' lvs_sync_daemon (keepalived's global_parser.c lvs_syncd_handler)

// Two VRRP instances after global_defs, as keepalived.conf(5) lays a file out: the instance
// lvs_sync_daemon names comes later in the file.
std::string with_sync(const std::string& line) {
  return "global_defs {\n"
         "    router_id LVS_A\n"
         "    " +
         line +
         "\n"
         "}\n"
         "vrrp_instance VI_1 {\n"
         "    state MASTER\n"
         "    interface eth1\n"
         "    virtual_router_id 51\n"
         "    virtual_ipaddress {\n"
         "        172.16.254.200/24 dev eth1\n"
         "    }\n"
         "    virtual_ipaddress_excluded {\n"
         "        172.16.254.201\n"
         "    }\n"
         "}\n"
         "vrrp_instance VI_2 {\n"
         "    virtual_router_id 52\n"
         "    virtual_ipaddress {\n"
         "        10.0.0.1\n"
         "    }\n"
         "}\n";
}

TEST(KeepalivedSyncDaemon, EveryValue) {
  KaLoadResult r = load(
      with_sync("lvs_sync_daemon dpdk1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 239.0.0.81"));
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(r.cfg.sync_daemon.has_value());
  const KaSyncDaemon& d = *r.cfg.sync_daemon;
  EXPECT_EQ(d.line, 3u);
  EXPECT_EQ(d.instance, "VI_1");
  EXPECT_TRUE(d.syncid_given);
  EXPECT_EQ(d.cfg.ifname, "dpdk1");
  EXPECT_EQ(d.cfg.syncid, 7);
  EXPECT_EQ(d.cfg.maxlen, 1400);
  EXPECT_EQ(d.cfg.port, 8849);
  EXPECT_EQ(d.cfg.ttl, 2);
  EXPECT_EQ(d.cfg.group, ip4(239, 0, 0, 81));
  // Read, so not among global_defs' ignored keywords.
  for (const std::string& w : r.warnings) EXPECT_EQ(w.find("lvs_sync_daemon"), std::string::npos);
  EXPECT_EQ(r.warnings[0], "ka.conf:1: global_defs: router_id: not handled by fastvsd (ignored)");
  // The instances, with their virtual_router_id.
  ASSERT_EQ(r.cfg.vrrp_instances.size(), 2u);
  EXPECT_EQ(r.cfg.vrrp_instances[0].name, "VI_1");
  EXPECT_EQ(r.cfg.vrrp_instances[0].line, 5u);
  EXPECT_EQ(r.cfg.vrrp_instances[0].vrid, 51);
  EXPECT_EQ(r.cfg.vrrp_instances[1].name, "VI_2");
  EXPECT_EQ(r.cfg.vrrp_instances[1].vrid, 52);
}

TEST(KeepalivedSyncDaemon, DefaultsAndTheSyncidFromTheInstance) {
  // No id: keepalived's syncid is the instance's virtual_router_id; the rest the kernel's.
  KaConfig k = load_ok(with_sync("lvs_sync_daemon dpdk0 VI_2"));
  ASSERT_TRUE(k.sync_daemon);
  EXPECT_EQ(k.sync_daemon->instance, "VI_2");
  EXPECT_FALSE(k.sync_daemon->syncid_given);
  SyncDaemonConfig want;
  want.syncid = 52;
  EXPECT_EQ(k.sync_daemon->cfg, want);
  // id 0 is an id (a backup that takes any), not "none".
  k = load_ok(with_sync("lvs_sync_daemon dpdk0 VI_2 id 0"));
  EXPECT_EQ(k.sync_daemon->cfg.syncid, 0);
  // No lvs_sync_daemon, no daemon.
  EXPECT_FALSE(load_ok(with_sync("")).sync_daemon);
  EXPECT_FALSE(load_ok(kSeed).sync_daemon);
}

TEST(KeepalivedSyncDaemon, KeepalivedsOtherForms) {
  // keepalived.conf(5) of 2.2.7: [[inst] VRRP_INSTANCE], the keywords in any order.
  KaConfig k = load_ok(with_sync("lvs_sync_daemon dpdk1 ttl 4 inst VI_1 maxlen 9000"));
  ASSERT_TRUE(k.sync_daemon);
  EXPECT_EQ(k.sync_daemon->instance, "VI_1");
  EXPECT_EQ(k.sync_daemon->cfg.ttl, 4);
  EXPECT_EQ(k.sync_daemon->cfg.maxlen, 9000);
  EXPECT_EQ(k.sync_daemon->cfg.syncid, 51);
  // The form before `id`: a bare number after the instance, taken with keepalived's advice.
  KaLoadResult r = load(with_sync("lvs_sync_daemon dpdk1 VI_1 9"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.cfg.sync_daemon->cfg.syncid, 9);
  EXPECT_TRUE(r.cfg.sync_daemon->syncid_given);
  EXPECT_NE(std::find(r.warnings.begin(), r.warnings.end(),
                      "ka.conf:3: lvs_sync_daemon: a syncid without the keyword id (taken, as "
                      "keepalived takes it; write id 9)"),
            r.warnings.end());
  // The instance may be defined before global_defs too.
  const std::string first =
      "vrrp_instance VI_9 {\n  virtual_router_id 9\n}\n"
      "global_defs {\n  lvs_sync_daemon dpdk3 VI_9\n}\n";
  k = load_ok(first);
  ASSERT_TRUE(k.sync_daemon);
  EXPECT_EQ(k.sync_daemon->cfg.ifname, "dpdk3");
  EXPECT_EQ(k.sync_daemon->cfg.syncid, 9);
  EXPECT_EQ(k.sync_daemon->line, 5u);
}

TEST(KeepalivedSyncDaemon, RefusedWithItsLine) {
  const auto err = [](const std::string& line) { return load_err(with_sync(line)); };
  EXPECT_EQ(err("lvs_sync_daemon eth1 VI_1"),
            "ka.conf:3: bad lvs_sync_daemon interface 'eth1' (a port of the director: dpdk0, "
            "dpdk1, ...)");
  EXPECT_EQ(err("lvs_sync_daemon"),
            "ka.conf:3: lvs_sync_daemon needs an interface and a VRRP instance");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0"),
            "ka.conf:3: lvs_sync_daemon needs a VRRP instance (lvs_sync_daemon INTERFACE "
            "VRRP_INSTANCE ...): fastvsd runs the sync daemon as that instance's state says");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 id 3"),
            "ka.conf:3: lvs_sync_daemon needs a VRRP instance (lvs_sync_daemon INTERFACE "
            "VRRP_INSTANCE ...): fastvsd runs the sync daemon as that instance's state says");
  // The instance must be the file's: checked once the whole file is read.
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_3"),
            "ka.conf:3: lvs_sync_daemon: no vrrp_instance 'VI_3' in this file");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 inst vi_1"),
            "ka.conf:3: lvs_sync_daemon: no vrrp_instance 'vi_1' in this file");
  // Values out of keepalived's ranges (it logs them and starts the daemon without).
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 id 256"),
            "ka.conf:3: bad lvs_sync_daemon id '256' (0..255)");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 maxlen 0"),
            "ka.conf:3: bad lvs_sync_daemon maxlen '0' (1..65507)");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 maxlen 65508"),
            "ka.conf:3: bad lvs_sync_daemon maxlen '65508' (1..65507)");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 port 0"),
            "ka.conf:3: bad lvs_sync_daemon port '0' (1..65535)");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 port http"),
            "ka.conf:3: bad lvs_sync_daemon port 'http' (1..65535)");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 ttl 256"),
            "ka.conf:3: bad lvs_sync_daemon ttl '256' (1..255)");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 group 10.0.0.81"),
            "ka.conf:3: bad lvs_sync_daemon group '10.0.0.81' (an IPv4 multicast address, "
            "224.0.0.0/4)");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 group ff02::51"),
            "ka.conf:3: lvs_sync_daemon group 'ff02::51': an IPv6 group is not supported yet");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 9x"),
            "ka.conf:3: bad lvs_sync_daemon syncid '9x' (0..255)");
  // The words themselves.
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 ttl"), "ka.conf:3: lvs_sync_daemon ttl needs a value");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 id 1 id 2"),
            "ka.conf:3: lvs_sync_daemon id given twice");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 5 id 2"), "ka.conf:3: lvs_sync_daemon id given twice");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 inst VI_2"),
            "ka.conf:3: lvs_sync_daemon names two VRRP instances: 'VI_1' and 'VI_2'");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 id 1 weird 2"),
            "ka.conf:3: unknown lvs_sync_daemon option 'weird' (inst, id, maxlen, port, ttl, "
            "group)");
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1 {\n}"),
            "ka.conf:3: 'lvs_sync_daemon' takes no { } block");
  // keepalived takes the first and ignores the next; fastvs refuses the file.
  EXPECT_EQ(err("lvs_sync_daemon dpdk0 VI_1\n    lvs_sync_daemon dpdk1 VI_2"),
            "ka.conf:4: a second lvs_sync_daemon (keepalived takes the first one only, ka.conf:3)");
  // Without id, the syncid is the instance's virtual_router_id: it must have one.
  for (const char* vrid : {"", "  virtual_router_id 0\n", "  virtual_router_id 256\n"}) {
    EXPECT_EQ(load_err("global_defs {\n  lvs_sync_daemon dpdk0 VI_X\n}\n"
                       "vrrp_instance VI_X {\n" +
                       std::string(vrid) + "}\n"),
              "ka.conf:2: lvs_sync_daemon: vrrp_instance 'VI_X' has no virtual_router_id to be "
              "the syncid (give id N)")
        << vrid;
  }
  EXPECT_TRUE(load("global_defs {\n  lvs_sync_daemon dpdk0 VI_X id 4\n}\n"
                   "vrrp_instance VI_X {\n}\n")
                  .ok);
}

TEST(KeepalivedSyncDaemon, TheInstancesAddresses) {
  const KaConfig k = load_ok(with_sync("lvs_sync_daemon dpdk1 VI_1"));
  // Both lists the instance moves, in the file's order; not another instance's.
  const std::vector<KaVrrpAddr> a = ka_instance_addrs(k, k.sync_daemon->instance);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].ip, ip(172, 16, 254, 200));
  EXPECT_EQ(a[0].prefix_len, 24);
  EXPECT_EQ(a[0].line, 10u);
  EXPECT_EQ(a[1].ip, ip(172, 16, 254, 201));
  EXPECT_EQ(a[1].prefix_len, 32);
  const std::vector<KaVrrpAddr> b = ka_instance_addrs(k, "VI_2");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].ip, ip(10, 0, 0, 1));
  EXPECT_TRUE(ka_instance_addrs(k, "VI_3").empty());
  EXPECT_TRUE(ka_instance_addrs(k, "").empty());
  EXPECT_TRUE(ka_instance_addrs(load_ok(kSeed), "VI_2").empty());
  EXPECT_EQ(ka_instance_addrs(load_ok(kSeed), "VI_1").size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// IPv6 (keepalived.conf(5): a virtual_server, real_server or sorry_server address may be IPv6;
// persistence_granularity of an IPv6 virtual server is a prefix length, pgr_handler).

IpAddr v6(const char* s) {
  const auto a = parse_ip(s);
  EXPECT_TRUE(a && a->is_v6()) << s;
  return a.value_or(IpAddr{});
}

constexpr const char* kV6 = R"(virtual_server 2001:db8::1 80 {
    delay_loop 6
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    persistence_timeout 120
    persistence_granularity 64
    sorry_server 2001:db8:1::99 8080

    real_server 2001:db8:1::10 8080 {
        weight 2
        TCP_CHECK {
            connect_ip 2001:db8:1::11
            connect_port 81
            bindto 2001:db8::8
        }
    }
    real_server 2001:db8:1::20 8080 {
        HTTP_GET {
            url {
              path /health
            }
        }
    }
}
virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 10.0.0.2 80 {
    }
}
)";

TEST(KeepalivedIpv6, ParsedIntoTheModel) {
  const KaConfig cfg = load_ok(kV6);
  ASSERT_EQ(cfg.virtual_servers.size(), 2u);
  const KaVirtualServer& vs = cfg.virtual_servers[0];
  EXPECT_EQ(vs.key, (ServiceKey{Proto::Tcp, v6("2001:db8::1"), 80}));
  EXPECT_EQ(vs.persistence_timeout, 120u);
  EXPECT_EQ(vs.persistence_granularity6, 64);
  ASSERT_EQ(vs.real_servers.size(), 2u);
  EXPECT_EQ(vs.real_servers[0].server.ip, v6("2001:db8:1::10"));
  EXPECT_EQ(vs.real_servers[0].server.port, 8080);
  const CheckSpec& tcp = vs.real_servers[0].checks.at(0).spec;
  EXPECT_EQ(tcp.connect_ip, v6("2001:db8:1::11"));
  EXPECT_EQ(tcp.connect_port, 81);
  EXPECT_EQ(tcp.bindto, v6("2001:db8::8"));
  // connect_ip defaults to the real server's address.
  EXPECT_EQ(vs.real_servers[1].checks.at(0).spec.connect_ip, v6("2001:db8:1::20"));
  ASSERT_TRUE(vs.sorry_server);
  EXPECT_EQ(vs.sorry_server->server.ip, v6("2001:db8:1::99"));
  EXPECT_EQ(vs.sorry_server->server.port, 8080);

  const std::vector<ServiceConfig> svcs = ka_services(cfg);
  ASSERT_EQ(svcs.size(), 2u);
  EXPECT_TRUE(svcs[0].persistent);
  EXPECT_EQ(svcs[0].netmask6, 64);
  // As fastvsadm commands, in ipvsadm's IPv6 forms.
  const auto cmds = ka_commands(cfg);
  ASSERT_GE(cmds.size(), 3u);
  EXPECT_EQ(cmds[0], (std::vector<std::string>{"-A", "-t", "[2001:db8::1]:80", "-s", "wlc", "-p",
                                               "120", "-M", "64"}));
  EXPECT_EQ(cmds[1], (std::vector<std::string>{"-a", "-t", "[2001:db8::1]:80", "-r",
                                               "[2001:db8:1::10]:8080", "-m", "-w", "2"}));
  for (const auto& c : cmds) {
    const Result<Command> p = parse_command(c);
    EXPECT_TRUE(p.ok()) << p.error();
  }
  EXPECT_EQ(parse_command(cmds[0])->netmask6, 64);
}

TEST(KeepalivedIpv6, GranularityIsAPrefixLength) {
  const auto with = [](const std::string& g) {
    return "virtual_server 2001:db8::1 80 {\n protocol TCP\n persistence_granularity " + g +
           "\n real_server 2001:db8::2 80\n}\n";
  };
  EXPECT_EQ(load_ok(with("128")).virtual_servers.at(0).persistence_granularity6, 128);
  // Persistent by the granularity alone, 360 s (pgr_handler).
  EXPECT_EQ(load_ok(with("48")).virtual_servers.at(0).persistence_timeout, 360u);
  EXPECT_NE(load_err(with("0")).find("ka.conf:3:"), std::string::npos);
  EXPECT_NE(load_err(with("129")).find("ka.conf:3:"), std::string::npos);
  EXPECT_NE(load_err(with("255.255.255.0")).find("ka.conf:3:"), std::string::npos);
}

TEST(KeepalivedIpv6, Ipv6VirtualServersApplied) {
  const KaConfig cfg = load_ok(kV6);
  EXPECT_TRUE(ka_unsupported(cfg).empty());
  Result<Config> base = load_config_text(
      "ip addr add 10.0.0.8/24 dev dpdk0\nip addr add 2001:db8:1::8/64 dev dpdk0\n", "base", 1);
  ASSERT_TRUE(base.ok()) << base.error();
  std::vector<ServiceKey> keys;
  const Result<Config> r = ka_apply(*base, cfg, {}, 1, &keys);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(format_ip(keys[0].vip), "2001:db8::1");
  const ServiceConfig& s6 = r->services.at(0);
  EXPECT_EQ(s6.netmask6, 64);
  ASSERT_EQ(s6.dests.size(), 2u);
  EXPECT_EQ(format_ip(s6.dests[0].rip), "2001:db8:1::20");  // the kernel's list: the last first
}

TEST(KeepalivedIpv6, ABindtoOfTheOtherFamilyIsRefusedWithItsLine) {
  // keepalived skips such a bindto with a warning; fastvs refuses the file, naming the line.
  const KaConfig cfg = load_ok(
      "virtual_server 2001:db8::1 80 {\n protocol TCP\n lb_kind NAT\n"
      " real_server 2001:db8:1::18 80 {\n  TCP_CHECK {\n   bindto 192.168.0.8\n  }\n }\n}\n");
  Result<Config> base = load_config_text(
      "ip addr add 192.168.0.8/24 dev dpdk0\nip addr add 2001:db8:1::8/64 dev dpdk0\n", "base", 1);
  ASSERT_TRUE(base.ok()) << base.error();
  std::vector<ServiceKey> keys;
  const Result<Config> r = ka_apply(*base, cfg, {}, 1, &keys);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("bindto 192.168.0.8 is not of the family of 2001:db8:1::18"),
            std::string::npos)
      << r.error();
  EXPECT_EQ(r.error().rfind("ka.conf:", 0), 0u) << r.error();
}

TEST(KeepalivedIpv6, MixedFamiliesOnlyForTunnels) {
  // A real or sorry server of the other family than its virtual server, not a tunnel: the
  // kernel's and ipvsadm's rule, at its line.
  EXPECT_EQ(load_err("virtual_server 2001:db8::1 80 {\n protocol TCP\n"
                     " real_server 192.168.0.18 80\n}\n"),
            "ka.conf:3: real server 192.168.0.18 of virtual server TCP [2001:db8::1]:80: a "
            "different address family is allowed only for tunneling servers (lb_kind TUN)");
  EXPECT_EQ(load_err("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_kind TUN\n"
                     " sorry_server 2001:db8::9 80\n sorry_server_lvs_method NAT\n"
                     " real_server 10.0.0.2 80\n}\n"),
            "ka.conf:4: sorry server 2001:db8::9 of virtual server TCP 10.0.0.1:80: a different "
            "address family is allowed only for tunneling servers (lb_kind TUN)");
  // An IPv6 real server (and sorry server) of an IPv4 virtual server with lb_kind TUN: a
  // tunnel between the families, taken.
  const KaConfig mixed = load_ok(
      "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_kind TUN\n"
      " sorry_server 2001:db8:1::99 80\n real_server 2001:db8:1::10 80\n}\n");
  EXPECT_TRUE(ka_unsupported(mixed).empty());
}

}  // namespace
}  // namespace fastvs
