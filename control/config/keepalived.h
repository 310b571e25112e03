// keepalived.conf: the LVS half of keepalived's configuration (virtual_server, real_server and
// their TCP_CHECK / HTTP_GET / MISC_CHECK health checkers), read into a model with keepalived's
// defaults already applied, and turned into fastvs services and health-check state machines.
// The text comes in as a string (the I/O side reads the file); the only look-ups are the
// system's user database for MISC_CHECK users and, with enable_script_security, the programs'
// permissions. No exceptions.
//
// The grammar is keepalived's: `keyword args... { ... }` blocks, one statement per line,
// comments from '#' or '!' to the end of the line, "..." and '...' quoting, and braces that may
// share a line with other words (`TCP_CHECK {connect_timeout 10`).
//
// What the loader does with what it reads (every message carries its line):
//  - errors (the whole file is rejected, one line "NAME:LINE: reason"): unbalanced braces, a
//    missing or extra value, a bad address, port, number, time, boolean or keyword value, an
//    IPv6 address, protocol SCTP, an HTTP_GET without a url or a url without a path, a
//    MISC_CHECK without misc_path, a FILE_CHECK without a track_file or naming none defined, a
//    track_file without a file, with a relative one or one in a directory that does not exist, a
//    MISC_CHECK user or global_defs script_user that does not exist, with enable_script_security a
//    program that would run as root from a path others can write, a virtual server defined twice,
//    an `include` that matches no file, multi-line parameters, $_RANDOM and sequences (~SEQ);
//    (keepalived's conditional lines are read as the config id "fastvsd": "@fastvsd ..." and
//    "@^OTHER ..." taken, the others skipped); an lvs_sync_daemon whose interface is no port
//    (dpdkN), whose VRRP instance is not in the file, or with a value keepalived would refuse (and
//    start the daemon without), or a second one;
//  - warnings ("NAME:LINE: text", the file still loads):
//      * top-level blocks keepalived's VRRP process runs (keepalived --vrrp on the same file),
//        skipped whole: vrrp_instance, vrrp_sync_group, vrrp_script, vrrp_track_*,
//        static_ipaddress, static_routes, static_rules, garp_group, linkbeat_interfaces, ...
//        ("... is keepalived's (keepalived --vrrp runs it)"); blocks nobody runs with fastvs:
//        SSL, bfd_instance, net_namespace, ... ("... is not handled by fastvsd (ignored)");
//        global_defs' keywords other than script_user, enable_script_security and lvs_sync_daemon,
//        in one warning;
//      * MISC_CHECKs and notify/quorum scripts that name no user running as root (no
//        global_defs script_user, no keepalived_script user): keepalived's warning, once;
//      * unknown keywords, anywhere: "unknown keyword 'x' in real_server (ignored)";
//      * keywords that change nothing for fastvs (smtp_alert, snmp_name, log_all_failures,
//        http_protocol, ...): "... has no effect in fastvsd (ignored)";
//      * keepalived's own corrections, with keepalived's result: no lb_algo (wlc), no lb_kind
//        (NAT), no protocol (UDP), port 0 without persistence (persistence_timeout 360), a DR/TUN
//        real server port that differs from the virtual server's (reset), a quorum above the
//        total weight (lowered), hysteresis >= quorum (quorum - 1), a duplicate real server
//        (dropped), a virtual server without real servers (dropped);
//  - not handled (a warning now, and an error from ka_unsupported(), since running without it
//    would not be what the file asks for): `virtual_server fwmark N` and a virtual_server_group's
//    `fwmark N` entries, BFD_CHECK, persistence_engine, lvs_method TUN type
//    gue|gre, url regex, a sorry server that is also a real server. (virtual_server_group and
//    `virtual_server group NAME` are handled: keepalived_vsg.cpp.)
//
// Defaults are keepalived 2.2.x's (Debian 12 ships 2.2.7); sources: keepalived.conf(5) of
// 2.2.7, keepalived's check/check_data.c (alloc_vs, alloc_rs, alloc_ssvr,
// validate_check_config), check/check_parser.c (pto_handler, pgr_handler, proto_handler),
// check/ipvswrapper.h (IPVS_DEF_SCHED), check/check_misc.c, check/check_http.c:
//   lb_algo wlc, lb_kind NAT, protocol UDP (each with keepalived's warning); delay_loop 60 s;
//   connect_timeout 5 s; retry 1 (MISC_CHECK 0); delay_before_retry 3 s for HTTP_GET, 1 s
//   otherwise; warmup = the checker's delay_loop; misc_timeout = the virtual server's
//   delay_loop; weight 1 (the sorry server's too); quorum 1; hysteresis 0; alpha, omega,
//   inhibit_on_failure off; persistence_timeout without a value 360 s
//   (IPVS_SVC_PERSISTENT_TIMEOUT), 0 = not persistent; persistence_granularity 255.255.255.255 (and
//   it makes the service persistent, 360 s, if no timeout is set); status_code 200-299;
//   connect_ip/connect_port the real server's; a real server without a port takes the virtual
//   server's. A value set on a virtual server is the default of its real servers, and a real
//   server's is the default of its checkers (alpha, inhibit_on_failure, connect_timeout, retry,
//   delay_before_retry, warmup, delay_loop, virtualhost).
// One departure: keepalived 2.2 knows nb_get_retry only in HTTP_GET/SSL_GET (elsewhere it is
// an unknown keyword, and retry keeps its default); fastvs takes it as `retry` in every checker,
// since that is what the many configurations that write it in TCP_CHECK mean.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/model.h"
#include "common/result.h"
#include "control/health/state.h"

namespace fastvs {

struct KaCheck {
  unsigned line = 0;
  unsigned user_line = 0;  // MISC_CHECK's `user` line (0: none given)
  CheckSpec spec;          // resolved: defaults and inherited values applied
};

// notify_up, notify_down, quorum_up, quorum_down: `SCRIPT [USER [GROUP]]`, SCRIPT split into
// program and arguments as misc_path's single value is.
struct KaScript {
  unsigned line = 0;
  ScriptSpec spec;  // resolved: its user's ids (resolve_script_users)
};

struct KaRealServer {
  unsigned line = 0;
  PoolServer server;  // address, port (resolved), method, weight, inhibit_on_failure, thresholds
  std::optional<KaScript> notify_up;  // run when it comes up, and goes down
  std::optional<KaScript> notify_down;
  std::vector<KaCheck> checks;
};

struct KaSorryServer {
  unsigned line = 0;
  PoolServer server;  // weight 1; inhibit = sorry_server_inhibit
};

struct KaVirtualServer {
  unsigned line = 0;
  ServiceKey key;
  std::string scheduler = "wlc";               // lb_algo / lvs_sched
  unsigned sched_line = 0;                     // its line (0: not given)
  uint32_t sched_flags = 0;                    // sh-port, sh-fallback (SchedFlags)
  ForwardMethod method = ForwardMethod::Masq;  // lb_kind / lvs_method: the real servers' default
  uint32_t persistence_timeout = 0;            // seconds; 0: not persistent
  uint32_t persistence_granularity = 0xffffffffu;  // netmask, host order (ipvsadm -M)
  uint8_t persistence_granularity6 = 128;          // an IPv6 one's: a prefix length
  uint32_t quorum = 1;
  uint32_t hysteresis = 0;
  bool alpha = false;
  bool omega = false;                 // the down scripts run when the service goes
  bool ops = false;                   // one-packet scheduling (UDP only; ipvsadm -o)
  std::optional<KaScript> quorum_up;  // run when the quorum is gained, and lost
  std::optional<KaScript> quorum_down;
  double delay_loop = 60;
  std::optional<KaSorryServer> sorry_server;
  std::vector<KaRealServer> real_servers;

  // The health side of this virtual server.
  PoolSpec pool() const;
  std::vector<std::vector<CheckSpec>> checks() const;
};

// Something fastvs cannot do as the file asks (reported by ka_unsupported()).
struct KaNotHandled {
  unsigned line = 0;
  std::string what;
};

// global_defs' script settings.
struct KaScriptDefaults {
  unsigned line = 0;      // script_user's line (0: not given)
  std::string user;       // script_user NAME [GROUP]: who runs scripts that name no user
  std::string group;      //
  bool security = false;  // enable_script_security
  unsigned security_line = 0;
};

// An address keepalived's VRRP process adds and removes (a vrrp_instance's
// virtual_ipaddress or virtual_ipaddress_excluded, or static_ipaddress): never fastvsadm's too,
// or a backup would keep it (control/config/host_addrs.h).
struct KaVrrpAddr {
  IpAddr ip;
  uint8_t prefix_len = 32;  // keepalived's default without /LEN: 32, 128 for IPv6
  std::string owner;        // "vrrp_instance VI_1", "static_ipaddress"
  unsigned line = 0;
  std::string where;  // "FILE:LINE" (an included file's, if it came from one)
};

// A vrrp_instance block: its name, and its virtual_router_id (0 when it gives none that
// keepalived takes, 1..255). keepalived's VRRP process runs it; fastvs reads these two.
struct KaVrrpInstance {
  std::string name;
  unsigned line = 0;
  uint8_t vrid = 0;
};

// global_defs' lvs_sync_daemon (keepalived's global_parser.c lvs_syncd_handler):
//   lvs_sync_daemon INTERFACE [inst] VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N]
//                   [group ADDR]
// keepalived starts IPVS's sync daemon on INTERFACE as the instance's state says: master while
// the instance is MASTER, backup otherwise. Here INTERFACE is a port of the director (dpdkN), the
// instance is one of the file's vrrp_instance blocks, and cfg holds every value, the defaults
// applied: without id, the syncid is the instance's virtual_router_id (as keepalived sets it);
// maxlen 0 is "not given" (sync_daemon_maxlen). The loader only reads and checks it.
struct KaSyncDaemon {
  unsigned line = 0;
  std::string instance;  // the vrrp_instance's name
  SyncDaemonConfig cfg;
  bool syncid_given = false;  // id N (else cfg.syncid is the instance's virtual_router_id)
};

struct KaConfig {
  std::string name;  // the file name, for messages
  // Where each line the model names came from: line numbers in the model count the lines read,
  // included files' too (`include`), and where() turns one into "FILE:LINE".
  std::vector<std::string> files;                    // [0] is `name`, then the included ones
  std::vector<std::pair<uint32_t, uint32_t>> lines;  // [n - 1]: line n's file and line
  std::string where(unsigned line) const {
    if (line >= 1 && line <= lines.size() && lines[line - 1].first < files.size())
      return files[lines[line - 1].first] + ":" + std::to_string(lines[line - 1].second);
    return name + ":" + std::to_string(line);
  }
  KaScriptDefaults scripts;
  std::vector<KaVrrpAddr> vrrp_addrs;
  std::vector<KaVrrpInstance> vrrp_instances;
  std::optional<KaSyncDaemon> sync_daemon;  // global_defs' lvs_sync_daemon, when given
  std::vector<KaVirtualServer> virtual_servers;
  std::vector<KaNotHandled> not_handled;
};

// The addresses vrrp_instance `instance` moves (its virtual_ipaddress and
// virtual_ipaddress_excluded, IPv4), in the file's order; none for an instance the file does not
// define.
std::vector<KaVrrpAddr> ka_instance_addrs(const KaConfig& cfg, std::string_view instance);

// Reads keepalived.conf text: the configuration, or its first error ("NAME:LINE: reason");
// `warnings` gets each "NAME:LINE: text", on success and on error. name is what messages call
// the file (its path).
Result<KaConfig> parse_keepalived(std::string_view text, std::string_view name,
                                  std::vector<std::string>* warnings);

// The services for fastvs's model, with the destinations keepalived installs at startup,
// before any check has run (ServiceHealth::initial()): real servers whose checkers are not in
// alpha mode, inhibited ones at weight 0, the sorry server if the quorum starts down. The
// destinations are in the order fastvsadm's -a would leave them (each new one at the head).
std::vector<ServiceConfig> ka_services(const KaConfig& cfg);

// The same as fastvsadm commands (words without the program name), in the order to run them:
// per virtual server, -A then one -a per destination.
std::vector<std::vector<std::string>> ka_commands(const KaConfig& cfg);

// Whether fastvs knows the scheduler, or why not.
using SchedulerCheck = std::function<Status(std::string_view)>;

// What fastvs cannot do as the file asks, one "NAME:LINE: reason" each (empty: all of it can
// run): the not_handled list, then every -A/-a of ka_commands() that fastvsadm's grammar
// rejects (an lb_algo fastvs does not know, a persistence timeout above 31 days, ...). The
// scheduler is checked by `check` when given, else by applying -A to an empty configuration
// with apply_command(), so schedulers fastvs learns later are accepted here too.
std::vector<std::string> ka_unsupported(const KaConfig& cfg, const SchedulerCheck& check = {});

// Puts a keepalived configuration into a fastvs one, all or nothing: the services in `replace`
// (those an earlier load made) go first, with their checks; then each virtual server becomes a
// service with every real server as a destination (applied with apply_command, so what fastvs
// refuses is refused here, with the virtual server's line), its checkers as checks and its
// quorum, hysteresis and sorry server as pool rules. The health thread then takes out what is
// down, as keepalived would. `keys` gets the services made. ka_unsupported() counts as errors.
Result<Config> ka_apply(Config base, const KaConfig& ka, const std::vector<ServiceKey>& replace,
                        unsigned num_ports, std::vector<ServiceKey>* keys);

// The health state machines of one virtual server, its checkers starting at `now`.
ServiceHealth ka_service_health(const KaVirtualServer& vs, double now,
                                const std::function<double()>& jitter = {});

}  // namespace fastvs
